//! dockerd 20.10 started privately (its own data-root, exec-root, pidfile and socket) on the
//! run's containerd, with berth added as a runtime (`--add-runtime berth=<path>`); the docker
//! client is Debian's (/usr/bin/docker: a newer client elsewhere on PATH is not the one
//! under test).

use crate::compare::{self, Runtime};
use crate::containerd::Containerd;
use crate::run::{run, Out};
use crate::services::{self, Daemon};
use crate::{leaks, Scenario, Shared};
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

pub const DOCKER: &str = "/usr/bin/docker";
/// The image's name in docker's store.
pub const IMAGE: &str = "berth-test/busybox:latest";

pub struct Dockerd {
    /// Held for its `Drop`, which stops the daemon.
    pub _daemon: Daemon,
    pub dir: PathBuf,
    pub socket: PathBuf,
    /// Every cgroup docker makes is under this parent (`--cgroup-parent`).
    pub cgroup_parent: String,
}

/// Starts the run's dockerd: no bridge or iptables (the machine's network is not touched;
/// containers run with `--network none`), cgroupfs, overlay2.
pub fn start_daemon(shared: &Shared, containerd: &Containerd) -> Result<Dockerd, String> {
    let dir = shared.work.join("docker");
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    fs::write(dir.join("daemon.json"), "{}").map_err(|e| e.to_string())?;
    let socket = dir.join("docker.sock");
    let cgroup_parent = format!("berth-test-docker-{}", std::process::id());
    let mut cmd = Command::new("dockerd");
    cmd.arg("--config-file")
        .arg(dir.join("daemon.json"))
        .arg("--data-root")
        .arg(dir.join("data"))
        .arg("--exec-root")
        .arg(dir.join("exec"))
        .arg("--pidfile")
        .arg(dir.join("docker.pid"))
        .arg("--host")
        .arg(format!("unix://{}", socket.display()))
        .arg("--containerd")
        .arg(&containerd.socket)
        .args([
            "--containerd-namespace",
            &format!("berth-test-moby-{}", std::process::id()),
        ])
        .args([
            "--containerd-plugins-namespace",
            &format!("berth-test-plugins-{}", std::process::id()),
        ])
        .arg(format!("--add-runtime=berth={}", compare::BERTH))
        .args([
            "--bridge",
            "none",
            "--iptables=false",
            "--ip6tables=false",
            "--ip-masq=false",
        ])
        .args([
            "--storage-driver",
            "overlay2",
            "--exec-opt",
            "native.cgroupdriver=cgroupfs",
        ])
        .arg(format!("--cgroup-parent=/{cgroup_parent}"));
    let daemon = Daemon::start(
        "dockerd",
        cmd,
        &dir.join("log"),
        Duration::from_secs(60),
        || services::socket_ready(&socket),
    )?;
    Ok(Dockerd {
        _daemon: daemon,
        dir,
        socket,
        cgroup_parent,
    })
}

pub struct Env {
    socket: PathBuf,
    exec_root: PathBuf,
    cgroup_parent: String,
}

pub fn setup(shared: &Shared, dockerd: &Dockerd) -> Result<Env, String> {
    let env = Env {
        socket: dockerd.socket.clone(),
        exec_root: dockerd.dir.join("exec"),
        cgroup_parent: dockerd.cgroup_parent.clone(),
    };
    let archive = dockerd.dir.join("busybox.tar");
    shared
        .busybox
        .copy_to(&format!("docker-archive:{}:{IMAGE}", archive.display()));
    env.docker(&["load", "-q", "-i", archive.to_str().unwrap()])
        .ok("docker load");
    Ok(env)
}

impl Env {
    pub fn docker(&self, args: &[&str]) -> Out {
        run(Command::new(DOCKER)
            .arg("--host")
            .arg(format!("unix://{}", self.socket.display()))
            .args(args))
    }

    /// The runtime root docker's shim gives `rt` (`<exec-root>/runtime-<name>/<namespace>`).
    pub fn root(&self, rt: &Runtime) -> PathBuf {
        self.exec_root.join(format!("runtime-{}", rt.name))
    }

    /// Nothing of container `name` (and `id`) left, and nothing under the cgroup parent.
    pub fn assert_clean(&self, rt: &Runtime, name: &str, id: &str) {
        let root = self.root(rt);
        let roots: Vec<PathBuf> = fs::read_dir(&root)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        let roots: Vec<&std::path::Path> = roots.iter().map(|p| p.as_path()).collect();
        leaks::assert_none(&format!("docker with {}", rt.name), &roots, &[id]);
        let ps = self
            .docker(&["ps", "-a", "--format", "{{.Names}}"])
            .ok("docker ps -a");
        assert!(
            !ps.lines().any(|l| l == name),
            "container {name} still listed: {ps}"
        );
        let _ = &self.cgroup_parent;
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

/// `docker run --rm`: exit codes and output, a missing command (127).
fn run_exit_codes(env: &Env) {
    for args in [
        &["sh", "-c", "echo hello; exit 0"][..],
        &["sh", "-c", "exit 42"],
        &["sh", "-c", "kill -9 $$"],
        &["nosuch"],
    ] {
        let (a, b) = compare::both(|rt| {
            let name = unique(rt, "run");
            let mut all = vec![
                "run",
                "--rm",
                "--network",
                "none",
                "--runtime",
                rt.name,
                "--name",
                &name,
                IMAGE,
            ];
            all.extend_from_slice(args);
            let out = env.docker(&all);
            env.assert_clean(rt, &name, &name);
            out
        });
        compare::assert_same(&format!("docker run {args:?}"), &a, &b);
    }
}

pub const SCENARIOS: &[Scenario<Env>] = &[("run_exit_codes", run_exit_codes)];
