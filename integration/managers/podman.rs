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

    /// The full id of container `name` (while it exists).
    #[allow(dead_code)] // not every scenario needs it
    pub fn id(&self, name: &str) -> String {
        self.podman(&["inspect", "--format", "{{.Id}}", name])
            .ok(&format!("podman inspect {name}"))
            .trim()
            .to_string()
    }

    /// Every id podman's events log records a container `name` was created with: the log
    /// outlives the container, so this finds the id of one that `--rm` already removed.
    pub fn ids_of(&self, name: &str) -> Vec<String> {
        let filter = format!("container={name}");
        self.podman(&[
            "events",
            "--stream=false",
            "--filter",
            &filter,
            "--filter",
            "event=create",
            "--format",
            "{{.ID}}",
        ])
        .ok("podman events")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
    }

    /// Nothing of container `name` left on the host or in podman's list. The runtime's state
    /// directory, the cgroups and conmon's command line are named by the container's id, not
    /// its name: the marks are the name, `id` and every id the events log knows for the name.
    pub fn assert_clean(&self, rt: &Runtime, name: &str, id: &str) {
        let root = self.root(rt);
        let mut marks = vec![name.to_string(), id.to_string()];
        marks.extend(self.ids_of(name));
        marks.sort();
        marks.dedup();
        let marks: Vec<&str> = marks.iter().map(String::as_str).collect();
        leaks::assert_none(
            &format!("podman with {}", rt.name),
            &[root.as_path()],
            &marks,
        );
        // A `--rm` container is removed by conmon's exit command, after the manager's
        // command returned: poll a while.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let ps = self
                .podman(&["ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Names}}"])
                .ok("podman ps -a");
            let listed = ps
                .lines()
                .flat_map(str::split_whitespace)
                .any(|w| marks.contains(&w));
            if !listed {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "container {name} ({marks:?}) still listed: {ps}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

pub fn unique(rt: &Runtime, what: &str) -> String {
    compare::unique("", rt, what)
}

impl Drop for Env {
    /// Every container and pod of the store removed, podman's own mounts of the store (its
    /// overlay directory) undone, the store deleted, and podman's default cgroup parent
    /// (`libpod_parent` and its `conmon`, which podman makes and never removes) removed
    /// where empty: rmdir refuses one that another podman still uses.
    fn drop(&mut self) {
        let _ = self.podman(&["pod", "rm", "-af", "-t", "0"]);
        let _ = self.podman(&["rm", "-af", "-t", "0"]);
        let _ = self.podman(&["system", "reset", "-f"]);
        crate::leaks::unmount_under(&self.dir);
        let _ = fs::remove_dir_all(&self.dir);
        for mount in crate::leaks::cgroup_mounts() {
            let _ = fs::remove_dir(mount.join("libpod_parent/conmon"));
            let _ = fs::remove_dir(mount.join("libpod_parent"));
        }
    }
}
