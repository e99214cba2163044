//! podman 4.3 as root, in a private store (`--root`, `--runroot`, `--tmpdir`, its own
//! containers.conf and storage.conf), with cgroupfs and the file events backend; each runtime
//! is named in containers.conf (`--runtime runc|berth`) and keeps its state in its default
//! root, as under a real podman: podman's cleanup process (conmon's exit command) does not
//! pass `--runtime-flag` on.

use crate::compare::{self, Runtime};

// The scenarios, by theme.
pub mod lifecycle;
pub mod options;
use crate::run::{run, Out};
use crate::{leaks, Shared};
use std::fs;
use std::path::PathBuf;
use std::process::Command;

/// The image's name in podman's store.
pub const IMAGE: &str = "localhost/berth-test/busybox:latest";

pub struct Env {
    dir: PathBuf,
    conf: PathBuf,
    storage_conf: PathBuf,
}

/// The rlimits podman asks for by default (RLIMIT_NOFILE and RLIMIT_NPROC of 1048576) need
/// CAP_SYS_RESOURCE, which this machine's bounding set lacks: runc and berth both refuse them.
/// containers.conf lowers them to what any root process may set.
pub fn setup(shared: &Shared) -> Result<Env, String> {
    let dir = shared.work.join("podman");
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let d = dir.display();
    let conf = dir.join("containers.conf");
    fs::write(
        &conf,
        format!(
            "[containers]\ndefault_ulimits = [\"nofile=1024:4096\", \"nproc=4096:4096\"]\nnetns = \"none\"\n\
             [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\nevents_logfile_path = \"{d}/events.log\"\n\
             runtime_supports_json = [\"runc\", \"berth\"]\n\
             [engine.runtimes]\nrunc = [\"{}\"]\nberth = [\"{}\"]\n",
            compare::RUNC,
            compare::BERTH
        ),
    )
    .map_err(|e| e.to_string())?;
    let storage_conf = dir.join("storage.conf");
    fs::write(
        &storage_conf,
        format!(
            "[storage]\ndriver = \"overlay\"\nrunroot = \"{d}/run\"\ngraphroot = \"{d}/root\"\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    shared.busybox.copy_to(&format!(
        "containers-storage:[overlay@{d}/root+{d}/run]{IMAGE}"
    ));
    let env = Env {
        dir,
        conf,
        storage_conf,
    };
    Ok(env)
}

impl Env {
    /// podman with the private store and configuration.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new("podman");
        c.env("CONTAINERS_CONF", &self.conf)
            .env("CONTAINERS_STORAGE_CONF", &self.storage_conf)
            .arg("--root")
            .arg(self.dir.join("root"))
            .arg("--runroot")
            .arg(self.dir.join("run"))
            .arg("--tmpdir")
            .arg(self.dir.join("tmp"));
        c
    }

    pub fn podman(&self, args: &[&str]) -> Out {
        run(self.cmd().args(args))
    }

    /// The runtime's default root, where podman's containers keep their state.
    pub fn root(&self, rt: &Runtime) -> PathBuf {
        PathBuf::from("/run").join(rt.name)
    }

    /// podman with `rt` as its runtime (and its root under this run).
    pub fn with(&self, rt: &Runtime, args: &[&str]) -> Out {
        let mut c = self.cmd();
        c.args(["--runtime", rt.name]).args(args);
        run(&mut c)
    }

    /// Nothing of container `name` (or its id) left on the host or in podman's list.
    pub fn assert_clean(&self, rt: &Runtime, name: &str, id: &str) {
        let root = self.root(rt);
        leaks::assert_none(
            &format!("podman with {}", rt.name),
            &[root.as_path()],
            &[name, id],
        );
        let ps = self
            .podman(&["ps", "-a", "--format", "{{.Names}}"])
            .ok("podman ps -a");
        assert!(
            !ps.lines().any(|l| l == name),
            "container {name} still listed: {ps}"
        );
    }
}

pub fn unique(rt: &Runtime, what: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "bt-{what}-{}-{}-{}",
        rt.name,
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

impl Drop for Env {
    /// Every container and pod of the store removed, podman's own mounts of the store (its
    /// overlay directory) undone, the store deleted.
    fn drop(&mut self) {
        let _ = self.podman(&["pod", "rm", "-af", "-t", "0"]);
        let _ = self.podman(&["rm", "-af", "-t", "0"]);
        let _ = self.podman(&["system", "reset", "-f"]);
        crate::leaks::unmount_under(&self.dir);
        let _ = fs::remove_dir_all(&self.dir);
    }
}
