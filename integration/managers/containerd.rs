//! containerd 1.6 started privately (its own root, state, sockets), driven by `ctr`, which
//! creates tasks through the runc v2 shim with `--runc-binary` pointed at the runtime: the
//! shim calls the runtime exactly as Kubernetes' containerd does.

use crate::compare::{self, Runtime};
use crate::run::{run, Out};
use crate::services::{self, Daemon};
use crate::{leaks, Scenario, Shared};
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// The image's name in containerd's store.
pub const IMAGE: &str = "docker.io/berth-test/busybox:latest";

/// The running daemon and where it listens.
pub struct Containerd {
    /// Held for its `Drop`, which stops the daemon.
    pub _daemon: Daemon,
    pub dir: PathBuf,
    pub socket: PathBuf,
}

/// Starts the run's containerd (the CRI plugin off: it wants CNI and is not what is tested).
pub fn start_daemon(shared: &Shared) -> Result<Containerd, String> {
    let dir = shared.work.join("containerd");
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let socket = dir.join("containerd.sock");
    let d = dir.display();
    let config = format!(
        "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
         [grpc]\n  address = \"{d}/containerd.sock\"\n[ttrpc]\n  address = \"{d}/containerd.sock.ttrpc\"\n\
         [debug]\n  address = \"\"\n[metrics]\n  address = \"\"\n\
         [plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{d}/opt\"\n"
    );
    fs::write(dir.join("config.toml"), config).map_err(|e| e.to_string())?;
    let mut cmd = Command::new("containerd");
    cmd.arg("--config").arg(dir.join("config.toml"));
    let daemon = Daemon::start(
        "containerd",
        cmd,
        &dir.join("log"),
        Duration::from_secs(30),
        || services::socket_ready(&socket),
    )?;
    Ok(Containerd {
        _daemon: daemon,
        dir,
        socket,
    })
}

/// The containerd group's environment: a namespace of its own with the image imported, and a
/// runtime root per runtime under the run's directory.
pub struct Env {
    socket: PathBuf,
    namespace: String,
    roots: PathBuf,
}

pub fn setup(shared: &Shared, containerd: &Containerd) -> Result<Env, String> {
    let env = Env {
        socket: containerd.socket.clone(),
        namespace: format!("berth-test-{}", std::process::id()),
        roots: containerd.dir.join("runtime-roots"),
    };
    let archive = containerd.dir.join("busybox.tar");
    shared
        .busybox
        .copy_to(&format!("oci-archive:{}:{IMAGE}", archive.display()));
    env.ctr(&["images", "import", archive.to_str().unwrap()])
        .ok("ctr images import");
    Ok(env)
}

impl Env {
    /// `ctr` on this run's containerd and namespace.
    pub fn ctr(&self, args: &[&str]) -> Out {
        run(Command::new("ctr")
            .arg("--address")
            .arg(&self.socket)
            .args(["--namespace", &self.namespace])
            .args(args))
    }

    /// The runtime root the shim passes to `rt` (`--root`).
    pub fn root(&self, rt: &Runtime) -> PathBuf {
        self.roots.join(rt.name)
    }

    /// `ctr run --rm` of the image with `rt`, running `args`.
    pub fn ctr_run(&self, rt: &Runtime, id: &str, extra: &[&str], args: &[&str]) -> Out {
        let binary = format!("--runc-binary={}", rt.path.display());
        let root = format!("--runc-root={}", self.root(rt).display());
        let mut all = vec!["run", &binary, &root];
        all.extend_from_slice(extra);
        all.extend_from_slice(&[IMAGE, id]);
        all.extend_from_slice(args);
        self.ctr(&all)
    }

    /// Nothing of container `id` left: no task, container, state, mount, cgroup or process.
    pub fn assert_clean(&self, rt: &Runtime, id: &str) {
        let root = self.root(rt).join(&self.namespace);
        leaks::assert_none(
            &format!("containerd with {}", rt.name),
            &[root.as_path()],
            &[id],
        );
        let listed = self
            .ctr(&["containers", "ls", "-q"])
            .ok("ctr containers ls");
        assert!(
            !listed.lines().any(|l| l == id),
            "container {id} still listed: {listed}"
        );
    }
}

fn unique(rt: &Runtime, what: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "bt-{what}-{}-{}-{}",
        rt.name,
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// `ctr run --rm`: exit codes and output.
fn run_exit_codes(env: &Env) {
    for script in [
        "echo hello; exit 0",
        "echo out; echo err >&2; exit 1",
        "exit 42",
        "kill -9 $$",
    ] {
        let (a, b) = compare::both(|rt| {
            let id = unique(rt, "run");
            let out = env.ctr_run(rt, &id, &["--rm"], &["sh", "-c", script]);
            env.assert_clean(rt, &id);
            out
        });
        compare::assert_same(&format!("ctr run {script:?}"), &a, &b);
    }
}

pub const SCENARIOS: &[Scenario<Env>] = &[("run_exit_codes", run_exit_codes)];
