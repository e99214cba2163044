//! Device nodes in the container (config-linux.md "Devices", "Default Devices"), the /dev
//! symlinks of runtime-linux.md, and /dev/ptmx. Done before pivot_root, fd-relative to the
//! rootfs so no path leaves it. In a user namespace mknod of a device is impossible, so the
//! host's device is bind-mounted onto an empty file instead (as runc does).

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{fchmodat, fstat, makedev, mknodat, FchmodatFlags, Mode, SFlag};
use nix::unistd::{fchownat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};

use super::resolve::{self, Kind};
use super::sys::fd_path;

/// One device to provide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub path: PathBuf,
    pub kind: SFlag,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// The devices runtime-linux.md requires in every container.
const DEFAULTS: &[(&str, u64, u64)] = &[
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

/// The node type of a config device type; `a` is a cgroup wildcard, not a device.
pub fn node_kind(t: LinuxDeviceType) -> Option<SFlag> {
    match t {
        LinuxDeviceType::C | LinuxDeviceType::U => Some(SFlag::S_IFCHR),
        LinuxDeviceType::B => Some(SFlag::S_IFBLK),
        LinuxDeviceType::P => Some(SFlag::S_IFIFO),
        LinuxDeviceType::A => None,
    }
}

/// linux.devices plus the default devices that it does not already name. The fileMode
/// default is 0666, as for the default devices.
pub fn list(config: &[LinuxDevice]) -> Vec<Device> {
    let mut out: Vec<Device> = config
        .iter()
        .filter_map(|d| {
            Some(Device {
                path: d.path().clone(),
                kind: node_kind(d.typ())?,
                major: d.major() as u64,
                minor: d.minor() as u64,
                mode: d.file_mode().unwrap_or(0o666) & 0o7777,
                uid: d.uid().unwrap_or(0),
                gid: d.gid().unwrap_or(0),
            })
        })
        .collect();
    for (path, major, minor) in DEFAULTS {
        if !out.iter().any(|d| d.path == Path::new(path)) {
            out.push(Device {
                path: PathBuf::from(path),
                kind: SFlag::S_IFCHR,
                major: *major,
                minor: *minor,
                mode: 0o666,
                uid: 0,
                gid: 0,
            });
        }
    }
    out
}

/// Creates every device under `root`.
pub fn create_all(root: BorrowedFd, devices: &[Device], userns: bool) -> Result<()> {
    for d in devices {
        create(root, d, userns).with_context(|| format!("linux.devices: {}", d.path.display()))?;
    }
    Ok(())
}

fn create(root: BorrowedFd, d: &Device, userns: bool) -> Result<()> {
    let parent_path = d.path.parent().unwrap_or(Path::new("/"));
    let Some(name) = d.path.file_name() else {
        bail!("not a file path");
    };
    let parent = resolve::create_in_root(root, parent_path, Kind::Dir)?;
    let rdev = makedev(d.major, d.minor);
    // A fifo needs no privilege, so only real devices take the bind route in a user namespace.
    let bind = userns && d.kind != SFlag::S_IFIFO;
    match resolve::open_in_root(root, &d.path, OFlag::O_PATH | OFlag::O_NOFOLLOW) {
        Ok(existing) => {
            let st = fstat(&existing)?;
            let same = st.st_mode & libc::S_IFMT == d.kind.bits()
                && (d.kind == SFlag::S_IFIFO || st.st_rdev == rdev);
            let placeholder = bind && st.st_mode & libc::S_IFMT == libc::S_IFREG;
            if !same && !placeholder {
                bail!(
                    "a file that is not the requested device already exists there (mode {:o})",
                    st.st_mode
                );
            }
            // In a user namespace the host's node is bound over whatever is there, even the
            // same device (rootless podman --privileged binds them all first): the namespace
            // may not chmod or chown a host node, and runc does the same.
            if same && !bind {
                return set_owner_and_mode(parent.as_fd(), name, d, userns);
            }
        }
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(e).context("looking up the device path"),
    }
    if bind {
        let target = resolve::create_in_root(root, &d.path, Kind::File)?;
        mount(
            Some(&d.path),
            fd_path(target.as_fd()).as_str(),
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .with_context(|| format!("bind-mounting the host's {}", d.path.display()))?;
        return Ok(());
    }
    mknodat(
        parent.as_fd(),
        name,
        d.kind,
        Mode::from_bits_truncate(d.mode),
        rdev,
    )
    .context("mknod")?;
    set_owner_and_mode(parent.as_fd(), name, d, userns)
}

fn set_owner_and_mode(
    parent: BorrowedFd,
    name: &std::ffi::OsStr,
    d: &Device,
    userns: bool,
) -> Result<()> {
    // Explicit chmod: mknod's mode went through the umask.
    fchmodat(
        parent,
        name,
        Mode::from_bits_truncate(d.mode),
        FchmodatFlags::FollowSymlink,
    )
    .context("chmod")?;
    let owner = (Some(Uid::from_raw(d.uid)), Some(Gid::from_raw(d.gid)));
    match fchownat(parent, name, owner.0, owner.1, AtFlags::AT_SYMLINK_NOFOLLOW) {
        // A bind-mounted host device belongs to the host; in a user namespace it can't change.
        Err(Errno::EPERM | Errno::EINVAL) if userns => Ok(()),
        r => r.context("chown"),
    }
}

/// The /dev symlinks of runtime-linux.md, /dev/core when the host has /proc/kcore, and
/// /dev/ptmx -> pts/ptmx (the container's devpts instance, as runc does).
pub fn create_symlinks(root: BorrowedFd) -> Result<()> {
    let dev = resolve::create_in_root(root, Path::new("/dev"), Kind::Dir)?;
    let mut links = vec![
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("/proc/kcore", "core"));
    }
    for (target, name) in links {
        match symlinkat(target, dev.as_fd(), name) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e).with_context(|| format!("creating /dev/{name}")),
        }
    }
    match unlinkat(dev.as_fd(), "ptmx", UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => {}
        Err(e) => return Err(e).context("removing /dev/ptmx"),
    }
    symlinkat("pts/ptmx", dev.as_fd(), "ptmx").context("creating /dev/ptmx")?;
    Ok(())
}

/// As runc right after the root switch, where it made /dev itself: each of stdin, stdout and
/// stderr that is a /dev/null (the host's, as a manager gives for "no input") becomes the
/// container's /dev/null opened read-write, so that the process sees the same kind of fd
/// runc gives it (`echo x >&0` works, as under runc).
pub fn reopen_dev_null() -> Result<()> {
    let null = nix::fcntl::open("/dev/null", OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty())
        .context("reopening /dev/null inside the container")?;
    let rdev = fstat(&null)
        .context("fstat of the container's /dev/null")?
        .st_rdev;
    for target in 0..=2 {
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: fstat fills `st` on success; a closed stdio number only gives EBADF.
        if unsafe { libc::fstat(target, st.as_mut_ptr()) } != 0 {
            continue;
        }
        // SAFETY: fstat succeeded, so it filled the struct.
        let st = unsafe { st.assume_init() };
        if st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == rdev {
            // SAFETY: dup3 onto a stdio number replaces what is there, as intended; no flags,
            // so the process inherits it.
            if unsafe { libc::dup3(null.as_raw_fd(), target, 0) } < 0 {
                return Err(Errno::last())
                    .with_context(|| format!("reopening /dev/null as fd {target}"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_added_unless_configured() {
        let json = r#"[{"path":"/dev/null","type":"c","major":1,"minor":3,"fileMode":420,"uid":5},
                       {"path":"/dev/fuse","type":"c","major":10,"minor":229},
                       {"path":"/dev/fifo","type":"p"}]"#;
        let cfg: Vec<LinuxDevice> = serde_json::from_str(json).unwrap();
        let l = list(&cfg);
        assert_eq!(l.len(), 3 + 5);
        let null = l.iter().find(|d| d.path == Path::new("/dev/null")).unwrap();
        assert_eq!((null.mode, null.uid), (0o644, 5));
        let fuse = l.iter().find(|d| d.path == Path::new("/dev/fuse")).unwrap();
        assert_eq!(
            (fuse.kind, fuse.major, fuse.minor, fuse.mode),
            (SFlag::S_IFCHR, 10, 229, 0o666)
        );
        assert_eq!(
            l.iter()
                .find(|d| d.path == Path::new("/dev/fifo"))
                .unwrap()
                .kind,
            SFlag::S_IFIFO
        );
        for p in [
            "/dev/zero",
            "/dev/full",
            "/dev/random",
            "/dev/urandom",
            "/dev/tty",
        ] {
            assert!(l.iter().any(|d| d.path == Path::new(p)), "{p}");
        }
    }
}
