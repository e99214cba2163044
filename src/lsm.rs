//! Linux security modules: process.apparmorProfile, process.selinuxLabel and linux.mountLabel.
//!
//! Detection (AppArmor's module parameter, a mounted selinuxfs), validation with runc's
//! outcomes when the module is off (every one of the three is then an error: runc fails in
//! init writing /proc/self/attr/exec for a profile or label, and its mounts fail on the
//! `context=` option for a mount label), and applying them when it is on:
//! - the profile ("exec NAME", as libapparmor's aa_change_onexec) or the label is written to
//!   the process's own attr/exec right before execve, so it takes effect at the exec;
//! - the mount label becomes the `context=` option of the filesystems runc labels.
//!
//! The attr files are opened early, through the host's procfs (before pivot_root in init,
//! before joining the container's mount namespace in exec), checked to be the root of a
//! procfs, and resolved with RESOLVE_NO_XDEV: nothing the container mounts can redirect the
//! write to another /proc file (CVE-2025-52881).

use anyhow::{bail, Context, Result};
use nix::fcntl::{open, openat2, readlinkat, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fstat, Mode};
use oci_spec::runtime::{Process, Spec};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

const APPARMOR_ENABLED: &str = "/sys/module/apparmor/parameters/enabled";

/// The inode number of every procfs root.
const PROC_ROOT_INO: u64 = 1;

/// Whether AppArmor is enabled on this host.
pub fn apparmor_enabled() -> bool {
    std::fs::read(APPARMOR_ENABLED).is_ok_and(|b| b.first() == Some(&b'Y'))
}

/// Whether SELinux is enabled on this host: a selinuxfs is mounted and has its `enforce` file.
pub fn selinux_enabled() -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .ok()
        .and_then(|mi| selinuxfs_mount_point(&mi))
        .is_some_and(|mp| mp.join("enforce").exists())
}

/// The mount point of the first selinuxfs in a mountinfo text.
fn selinuxfs_mount_point(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        if right.split_whitespace().next()? != "selinuxfs" {
            return None;
        }
        left.split_whitespace().nth(4).map(PathBuf::from)
    })
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

/// Checks process.apparmorProfile and process.selinuxLabel (also those of `exec`) against
/// what this host has.
pub fn validate_process(process: &Process) -> Result<()> {
    if let Some(p) = given(process.apparmor_profile()) {
        check_text(p, "process.apparmorProfile")?;
        if !apparmor_enabled() {
            bail!("process.apparmorProfile {p:?}: AppArmor is not enabled on this host");
        }
    }
    if let Some(l) = given(process.selinux_label()) {
        check_text(l, "process.selinuxLabel")?;
        if !selinux_enabled() {
            bail!("process.selinuxLabel {l:?}: SELinux is disabled or not supported on this host");
        }
    }
    Ok(())
}

/// Checks the LSM fields of a config.
pub fn validate(spec: &Spec) -> Result<()> {
    if let Some(p) = spec.process() {
        validate_process(p)?;
    }
    if let Some(l) = spec.linux().as_ref().and_then(|l| given(l.mount_label())) {
        check_text(l, "linux.mountLabel")?;
        if !selinux_enabled() {
            bail!("linux.mountLabel {l:?}: SELinux is disabled or not supported on this host");
        }
    }
    Ok(())
}

/// A profile or label is written whole in one write(2), and a mount label goes into the
/// comma-separated mount data inside quotes.
fn check_text(s: &str, field: &str) -> Result<()> {
    if s.contains(['\0', '\n', '"']) {
        bail!("{field} {s:?}: must not contain NUL, newline or '\"'");
    }
    Ok(())
}

/// The mount data for a filesystem of type `typ` with linux.mountLabel added as
/// `context="LABEL"` (quoted: MCS labels contain commas). Like runc, procfs and sysfs (which
/// SELinux labels itself), cgroup filesystems and bind mounts are left alone.
pub fn with_mount_label(typ: &str, data: &str, label: Option<&str>) -> String {
    let Some(label) = label.filter(|l| !l.is_empty()) else {
        return data.to_string();
    };
    if matches!(typ, "proc" | "sysfs" | "cgroup" | "cgroup2" | "bind") {
        return data.to_string();
    }
    let context = format!("context=\"{label}\"");
    if data.is_empty() {
        context
    } else {
        format!("{data},{context}")
    }
}

/// Attribute writes that take effect at the next execve, prepared while the host's /proc is
/// still reachable and berth still has its privileges; [`OnExec::apply`] does the writes.
#[derive(Default)]
pub struct OnExec {
    writes: Vec<AttrWrite>,
}

struct AttrWrite {
    file: OwnedFd,
    value: Vec<u8>,
    what: &'static str,
}

impl OnExec {
    /// Opens the attr files for the process's profile and label, if any (nothing is opened
    /// when there are none). Call in the process that will exec, before pivot_root or setns
    /// into the container's mount namespace.
    pub fn prepare(process: &Process) -> Result<OnExec> {
        let mut wanted: Vec<(&'static str, String)> = Vec::new();
        if let Some(p) = given(process.apparmor_profile()) {
            wanted.push(("process.apparmorProfile", format!("exec {p}")));
        }
        if let Some(l) = given(process.selinux_label()) {
            wanted.push(("process.selinuxLabel", l.to_string()));
        }
        if wanted.is_empty() {
            return Ok(OnExec::default());
        }
        let attr = open_own_attr_dir(Path::new("/proc"))?;
        let mut writes = Vec::new();
        for (what, value) in wanted {
            // AppArmor has its own directory when modules are stacked; older kernels only
            // have the shared attr/exec.
            let name = if what == "process.apparmorProfile"
                && open_beneath(attr.as_fd(), "apparmor/exec", OFlag::O_PATH).is_ok()
            {
                "apparmor/exec"
            } else {
                "exec"
            };
            let file = open_beneath(attr.as_fd(), name, OFlag::O_WRONLY)
                .with_context(|| format!("{what}: opening /proc/thread-self/attr/{name}"))?;
            writes.push(AttrWrite {
                file,
                value: value.into_bytes(),
                what,
            });
        }
        Ok(OnExec { writes })
    }

    /// Writes the profile and label; call right before execve (and before a late seccomp
    /// filter, which might not allow the write).
    /// The attr files held open until `apply`.
    pub fn fds(&self) -> Vec<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd as _;
        self.writes.iter().map(|w| w.file.as_raw_fd()).collect()
    }

    pub fn apply(&self) -> Result<()> {
        for w in &self.writes {
            let n = nix::unistd::write(&w.file, &w.value).with_context(|| {
                format!(
                    "{}: writing {:?} to the process's attr",
                    w.what,
                    String::from_utf8_lossy(&w.value)
                )
            })?;
            if n != w.value.len() {
                bail!("{}: short write to the process's attr", w.what);
            }
        }
        Ok(())
    }
}

/// Opens `<proc>/thread-self/attr` of the calling thread, with `proc` checked to be the root
/// of a procfs and no mount crossed below it.
pub fn open_own_attr_dir(proc: &Path) -> Result<OwnedFd> {
    let root = open(
        proc,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening {}", proc.display()))?;
    let fs = nix::sys::statfs::fstatfs(&root)
        .with_context(|| format!("statfs of {}", proc.display()))?;
    let st = fstat(&root).with_context(|| format!("stat of {}", proc.display()))?;
    if fs.filesystem_type() != nix::sys::statfs::PROC_SUPER_MAGIC || st.st_ino != PROC_ROOT_INO {
        bail!("{} is not the root of a procfs", proc.display());
    }
    // "thread-self" is a plain procfs symlink to "PID/task/TID" (in this procfs's pid
    // namespace); read it, then resolve the result without following anything.
    let own = readlinkat(&root, "thread-self")
        .with_context(|| format!("reading {}/thread-self", proc.display()))?;
    let path = Path::new(&own).join("attr");
    open_beneath(root.as_fd(), &path, OFlag::O_PATH | OFlag::O_DIRECTORY)
        .with_context(|| format!("opening {}/{}", proc.display(), path.display()))
}

/// openat2 below `dir` that crosses no mount and follows no symlink: a file mounted over
/// (or a symlink planted on) the way makes it fail.
fn open_beneath<P: ?Sized + nix::NixPath>(
    dir: BorrowedFd,
    path: &P,
    flags: OFlag,
) -> nix::Result<OwnedFd> {
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW)
        .resolve(
            ResolveFlag::RESOLVE_BENEATH
                | ResolveFlag::RESOLVE_NO_XDEV
                | ResolveFlag::RESOLVE_NO_SYMLINKS
                | ResolveFlag::RESOLVE_NO_MAGICLINKS,
        );
    openat2(dir, path, how)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::mount::{mount, MsFlags};

    use crate::rootfs::tests::in_child;

    fn process(json: &str) -> Process {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn selinuxfs_is_found_in_mountinfo() {
        let mi = "22 1 0:21 / /proc rw,nosuid - proc proc rw\n\
                  30 22 0:28 / /sys/fs/selinux rw,relatime - selinuxfs selinuxfs rw\n";
        assert_eq!(
            selinuxfs_mount_point(mi),
            Some(PathBuf::from("/sys/fs/selinux"))
        );
        assert_eq!(
            selinuxfs_mount_point("22 1 0:21 / /proc rw - proc proc rw"),
            None
        );
    }

    #[test]
    fn mount_label_goes_where_runc_puts_it() {
        let l = Some("system_u:object_r:container_file_t:s0:c1,c2");
        assert_eq!(
            with_mount_label("tmpfs", "mode=755", l),
            "mode=755,context=\"system_u:object_r:container_file_t:s0:c1,c2\""
        );
        assert_eq!(
            with_mount_label("mqueue", "", l),
            "context=\"system_u:object_r:container_file_t:s0:c1,c2\""
        );
        for t in ["proc", "sysfs", "cgroup", "cgroup2", "bind"] {
            assert_eq!(with_mount_label(t, "ro", l), "ro", "{t}");
        }
        assert_eq!(with_mount_label("tmpfs", "mode=755", None), "mode=755");
        assert_eq!(with_mount_label("tmpfs", "mode=755", Some("")), "mode=755");
    }

    /// This VM has neither module; on a host with one, the other branch is checked.
    #[test]
    fn fields_need_their_module() {
        let aa = process(r#"{"cwd":"/","user":{"uid":0,"gid":0},"apparmorProfile":"p"}"#);
        let se = process(r#"{"cwd":"/","user":{"uid":0,"gid":0},"selinuxLabel":"u:r:t:s0"}"#);
        let none = process(r#"{"cwd":"/","user":{"uid":0,"gid":0},"apparmorProfile":""}"#);
        assert!(validate_process(&none).is_ok());
        let aa_res = validate_process(&aa);
        assert_eq!(aa_res.is_ok(), apparmor_enabled(), "{aa_res:?}");
        if let Err(e) = aa_res {
            assert!(format!("{e}").contains("AppArmor is not enabled"), "{e}");
        }
        let se_res = validate_process(&se);
        assert_eq!(se_res.is_ok(), selinux_enabled(), "{se_res:?}");
        if let Err(e) = se_res {
            assert!(format!("{e}").contains("process.selinuxLabel"), "{e}");
        }
        let spec: Spec = serde_json::from_str(
            r#"{"ociVersion":"1.2.0","linux":{"mountLabel":"u:object_r:t:s0"}}"#,
        )
        .unwrap();
        assert_eq!(validate(&spec).is_ok(), selinux_enabled());
        let bad = process(r#"{"cwd":"/","user":{"uid":0,"gid":0},"apparmorProfile":"a\nb"}"#);
        assert!(validate_process(&bad).is_err());
    }

    #[test]
    fn no_fields_open_nothing() {
        let p = process(r#"{"cwd":"/","user":{"uid":0,"gid":0}}"#);
        let on_exec = OnExec::prepare(&p).unwrap();
        assert!(on_exec.writes.is_empty());
        on_exec.apply().unwrap();
    }

    /// The attr directory is this thread's own, and a write without an LSM reaches the
    /// kernel (which refuses it with EINVAL, as runc reports on such a host).
    #[test]
    fn own_attr_dir_is_this_thread() {
        let attr = open_own_attr_dir(Path::new("/proc")).unwrap();
        let st = fstat(&attr).unwrap();
        let mine = std::fs::metadata("/proc/thread-self/attr").unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!((st.st_dev, st.st_ino), (mine.dev(), mine.ino()));
        if !apparmor_enabled() && !selinux_enabled() {
            let exec = open_beneath(attr.as_fd(), "exec", OFlag::O_WRONLY).unwrap();
            assert_eq!(
                nix::unistd::write(&exec, b"exec unconfined"),
                Err(nix::errno::Errno::EINVAL)
            );
        }
    }

    /// CVE-2025-52881: a /proc file bind-mounted over attr/exec (so that the write would
    /// land elsewhere), a tmpfs posing as /proc, and a subdirectory of procfs mounted as
    /// /proc are all refused.
    #[test]
    fn redirected_proc_is_refused() {
        let res = in_child(|| {
            let attr_exec = std::fs::read_link("/proc/thread-self")?;
            let target = Path::new("/proc").join(attr_exec).join("attr/exec");
            mount(
                Some("/proc/sys/kernel/core_pattern"),
                &target,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .context("bind-mounting over attr/exec")?;
            let attr = open_own_attr_dir(Path::new("/proc"))?;
            match open_beneath(attr.as_fd(), "exec", OFlag::O_WRONLY) {
                Err(nix::errno::Errno::EXDEV) => {}
                other => bail!("overmounted attr/exec: {other:?}"),
            }
            let fake = std::env::temp_dir().join(format!("berth-lsm-{}", std::process::id()));
            std::fs::create_dir_all(&fake)?;
            mount(
                Some("tmpfs"),
                &fake,
                Some("tmpfs"),
                MsFlags::empty(),
                None::<&str>,
            )?;
            let tmpfs = open_own_attr_dir(&fake);
            mount(
                Some("/proc/sys"),
                &fake,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )?;
            let subdir = open_own_attr_dir(&fake);
            nix::mount::umount2(&fake, nix::mount::MntFlags::MNT_DETACH)?;
            nix::mount::umount2(&fake, nix::mount::MntFlags::MNT_DETACH)?;
            std::fs::remove_dir(&fake)?;
            if tmpfs.is_ok() || subdir.is_ok() {
                bail!(
                    "accepted a fake /proc: {:?} {:?}",
                    tmpfs.err(),
                    subdir.err()
                );
            }
            Ok(())
        });
        assert_eq!(res, Ok(()));
    }
}
