//! The state store: `<root>/<id>/state.json`, the per-container lock, and the status.
//!
//! The status is never trusted from the file; it is derived from the kernel on every read:
//! init alive (same pid *and* same start time, so a recycled pid is not mistaken for it) with
//! its cgroup frozen is `paused`; alive with the exec fifo present is `created`; alive without
//! it is `running`; anything else is `stopped`. A directory without state.json belongs
//! to a `create` still in progress (or one that died: `delete` clears it).
//!
//! Locking: lifecycle commands take an exclusive flock on the container's directory. `create`
//! makes the directory with mkdir(2), so two creates of one id race to one winner.

use anyhow::{anyhow, bail, Context, Result};
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::cgroups::Cgroup;

pub const STATE_FILE: &str = "state.json";
pub const EXEC_FIFO: &str = "exec.fifo";
/// The cgroup `create` is about to make, written before its first directory: what a create
/// killed before state.json leaves for `delete --force` to undo.
pub const CGROUP_RECORD: &str = "cgroup.json";

/// What berth keeps about a container between invocations.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct State {
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    pub created: String,
    /// The init's start time (field 22 of /proc/PID/stat), to tell it from a recycled pid.
    pub init_start_time: u64,
    #[serde(default)]
    pub cgroup: Option<Cgroup>,
    /// The poststart and poststop hooks (`hooks::after_create`): they run after create, when
    /// config.json is not read again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<oci_spec::runtime::Hooks>,
    /// The resctrl group of linux.intelRdt (or of update's schema flags), removed on delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intel_rdt: Option<crate::intelrdt::Group>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// A container directory, locked for the lifetime of this value.
pub struct Locked {
    pub dir: PathBuf,
    _lock: Flock<File>,
}

pub fn container_dir(root: &Path, id: &str) -> PathBuf {
    root.join(id)
}

/// Makes the container's directory (refusing an id that exists) and locks it.
pub fn create_dir(root: &Path, id: &str) -> Result<Locked> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)
        .with_context(|| {
            let hint = crate::rootless::root_hint(root);
            format!("creating state root {}{hint}", root.display())
        })?;
    let dir = container_dir(root, id);
    match fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            bail!("container {id:?} already exists")
        }
        Err(e) => {
            let hint = crate::rootless::root_hint(root);
            return Err(e).with_context(|| format!("creating {}{hint}", dir.display()));
        }
    }
    match lock(&dir) {
        Ok(l) => Ok(l),
        Err(e) => {
            let _ = fs::remove_dir_all(&dir);
            Err(e)
        }
    }
}

/// Locks an existing container's directory.
pub fn open(root: &Path, id: &str) -> Result<Locked> {
    crate::config::validate_id(id)?;
    let dir = container_dir(root, id);
    lock(&dir)
}

fn lock(dir: &Path) -> Result<Locked> {
    let f = match File::open(dir) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            bail!("container {:?} does not exist", id_of(dir))
        }
        Err(e) => return Err(e).with_context(|| format!("opening {}", dir.display())),
    };
    let lock = Flock::lock(f, FlockArg::LockExclusive)
        .map_err(|(_, e)| anyhow!("locking {}: {e}", dir.display()))?;
    Ok(Locked {
        dir: dir.to_path_buf(),
        _lock: lock,
    })
}

fn id_of(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl Locked {
    pub fn id(&self) -> String {
        id_of(&self.dir)
    }

    /// Reads state.json; a missing file means the container was deleted meanwhile or its
    /// create never finished.
    pub fn load(&self) -> Result<Option<State>> {
        read_state(&self.dir)
    }

    /// Like `load`, but a container without state is an error.
    pub fn load_existing(&self) -> Result<State> {
        self.load()?
            .ok_or_else(|| anyhow!("container {:?} does not exist", self.id()))
    }

    /// Writes state.json atomically, so readers never see half a file.
    pub fn save(&self, state: &State) -> Result<()> {
        let data = serde_json::to_vec(state).context("encoding state")?;
        self.write_atomically(STATE_FILE, &data)
    }

    /// Records the cgroup a create is about to make (`CGROUP_RECORD`).
    pub fn record_cgroup(&self, cg: &Cgroup) -> Result<()> {
        let data = serde_json::to_vec(cg).context("encoding the cgroup")?;
        self.write_atomically(CGROUP_RECORD, &data)
    }

    /// The cgroup a create recorded, if the record reads back whole and valid.
    pub fn recorded_cgroup(&self) -> Option<Cgroup> {
        let data = fs::read(self.dir.join(CGROUP_RECORD)).ok()?;
        serde_json::from_slice::<Cgroup>(&data)
            .ok()
            .filter(|c| c.validate().is_ok())
    }

    /// Writes `name` in the container's directory through a temp file and a rename.
    fn write_atomically(&self, name: &str, data: &[u8]) -> Result<()> {
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let mut f = File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        f.write_all(data)
            .with_context(|| format!("writing {}", tmp.display()))?;
        fs::rename(&tmp, self.dir.join(name))
            .with_context(|| format!("renaming {} into place", tmp.display()))
    }

    pub fn fifo_path(&self) -> PathBuf {
        self.dir.join(EXEC_FIFO)
    }

    /// Removes the container's directory (the lock goes with it).
    pub fn remove(self) -> Result<()> {
        fs::remove_dir_all(&self.dir).with_context(|| format!("removing {}", self.dir.display()))
    }
}

/// Reads and checks state.json: it may be corrupt or hand-edited, and nothing read from it
/// may make berth abort or act outside the container. Errors name the file.
fn read_state(dir: &Path) -> Result<Option<State>> {
    let path = dir.join(STATE_FILE);
    let data = match fs::read(&path) {
        Ok(data) => data,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let corrupt = |e: anyhow::Error| anyhow!("corrupt state file {}: {e:#}", path.display());
    let state: State = serde_json::from_slice(&data).map_err(|e| corrupt(e.into()))?;
    validate(&state, dir).map_err(corrupt)?;
    Ok(Some(state))
}

fn validate(state: &State, dir: &Path) -> Result<()> {
    let id = id_of(dir);
    if state.id != id {
        bail!("id {:?} is not the container's ({id:?})", state.id);
    }
    if state.pid < 0 {
        bail!("pid {} is negative", state.pid);
    }
    if let Some(cg) = &state.cgroup {
        cg.validate()?;
    }
    Ok(())
}

/// What a corrupt state.json still tells reliably, for `delete --force` to undo: init (pid
/// and start time) and the cgroup, each only if its value reads back whole and valid. Each
/// is looked for by its key, so a file cut short or damaged elsewhere still yields it.
pub fn salvage(dir: &Path) -> (Option<(i32, u64)>, Option<Cgroup>) {
    let data = fs::read(dir.join(STATE_FILE)).unwrap_or_default();
    let pid = value_of::<i32>(&data, "pid");
    let start = value_of::<u64>(&data, "init_start_time");
    let init = pid.zip(start).filter(|&(p, _)| p > 0);
    let cgroup = value_of::<Cgroup>(&data, "cgroup").filter(|c| c.validate().is_ok());
    (init, cgroup)
}

/// The JSON value right after the only `"key":` in `data`, whatever follows it.
fn value_of<T: serde::de::DeserializeOwned>(data: &[u8], key: &str) -> Option<T> {
    let needle = format!("\"{key}\":");
    let mut at = data
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle.as_bytes());
    let (i, _) = at.next()?;
    if at.next().is_some() {
        return None;
    }
    serde_json::Deserializer::from_slice(&data[i + needle.len()..])
        .into_iter::<T>()
        .next()?
        .ok()
}

/// Reads a container's state without locking (for `state` and `list`).
pub fn read(root: &Path, id: &str) -> Result<Option<State>> {
    crate::config::validate_id(id)?;
    let dir = container_dir(root, id);
    if !dir.is_dir() {
        bail!("container {id:?} does not exist");
    }
    read_state(&dir)
}

/// Whether `pid` is still the process whose start time is `start_time` (and not a zombie).
pub fn init_alive(pid: i32, start_time: u64) -> bool {
    if pid <= 0 {
        return false;
    }
    match procfs::process::Process::new(pid).and_then(|p| p.stat()) {
        Ok(stat) => stat.starttime == start_time && stat.state != 'Z' && stat.state != 'X',
        Err(_) => false,
    }
}

/// The start time of a live process, for `State::init_start_time`.
pub fn start_time(pid: i32) -> Result<u64> {
    let stat = procfs::process::Process::new(pid)
        .and_then(|p| p.stat())
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    Ok(stat.starttime)
}

/// Derives the status from the kernel (see the module doc).
pub fn status(dir: &Path, state: &State) -> Status {
    if !init_alive(state.pid, state.init_start_time) {
        return Status::Stopped;
    }
    // Frozen first: a created container can be paused too (as in runc).
    if state
        .cgroup
        .as_ref()
        .is_some_and(|c| c.is_frozen().unwrap_or(false))
    {
        return Status::Paused;
    }
    if let Ok(fifo) = fs::metadata(dir.join(EXEC_FIFO)) {
        if holds(state.pid, &fifo) {
            return Status::Created;
        }
    }
    // No fifo; or a `start` was killed after init exec'd (closing its fifo fds) and before
    // it removed the fifo: init runs the user's program.
    Status::Running
}

/// Whether process `pid` has the file `file` open (init holds the exec fifo until it execs),
/// compared by device and inode. If its fd table cannot be read, it is taken to hold it.
fn holds(pid: i32, file: &fs::Metadata) -> bool {
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return true;
    };
    fds.flatten().any(|e| {
        fs::metadata(e.path()).is_ok_and(|m| m.dev() == file.dev() && m.ino() == file.ino())
    })
}

/// The OCI state as runc prints it for `state` and `list -f json`: runc's keys in runc's
/// order (Go marshals struct fields in declaration order), and the spec version berth
/// implements, not the bundle's (runc's `ociVersion` is its own too).
#[derive(Serialize)]
pub struct OciState<'a> {
    #[serde(rename = "ociVersion")]
    pub oci_version: &'static str,
    pub id: &'a str,
    pub pid: i32,
    pub status: &'static str,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub created: &'a str,
    pub owner: &'a str,
    #[serde(skip_serializing_if = "HashMap::is_empty", serialize_with = "sorted")]
    pub annotations: &'a HashMap<String, String>,
}

/// Go marshals a map with its keys sorted.
fn sorted<S: serde::Serializer>(m: &&HashMap<String, String>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(m.iter().collect::<std::collections::BTreeMap<_, _>>())
}

pub fn oci_state<'a>(state: &'a State, status: Status, owner: &'a str) -> OciState<'a> {
    OciState {
        oci_version: crate::config::SPEC_VERSION,
        id: &state.id,
        pid: if status == Status::Stopped {
            0
        } else {
            state.pid
        },
        status: status.as_str(),
        bundle: &state.bundle,
        rootfs: &state.rootfs,
        created: &state.created,
        owner,
        annotations: &state.annotations,
    }
}

/// The user name owning a container's directory, for `list` (runc prints the same).
pub fn owner_name(dir: &Path) -> String {
    let Ok(meta) = fs::metadata(dir) else {
        return String::new();
    };
    let uid = meta.uid();
    fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|p| {
            p.lines().find_map(|l| {
                let mut f = l.split(':');
                let name = f.next()?;
                (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
            })
        })
        .unwrap_or_else(|| format!("#{uid}"))
}
