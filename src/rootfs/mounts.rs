//! The entries of `mounts` (config.md "Mounts"), in config order, before pivot_root.
//! Destinations are resolved inside the rootfs (resolve.rs) and mounted onto through
//! /proc/self/fd/N, so a symlink cannot redirect a mount out of the rootfs.

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{mount, MsFlags};
use oci_spec::runtime::Mount;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use super::mount_options::{parse, Parsed};
use super::resolve::{self, Kind};
use super::sys::{self, fd_path};
use super::{cgroup_mounts, copyup};

/// What every mount needs to know about the container being set up.
pub struct Ctx<'a> {
    /// An O_PATH fd of the rootfs (its bind mount onto itself).
    pub root: BorrowedFd<'a>,
    /// The host path of the rootfs.
    pub root_path: &'a Path,
    pub cgroupns: bool,
    /// Id-mapped trees the parent made (idmap.rs), by mount index.
    pub idmapped: &'a [super::idmap::IdMapped],
    /// linux.mountLabel (validation leaves it only when SELinux is enabled).
    pub mount_label: Option<&'a str>,
}

/// Mount flags that describe the per-mount state a bind remount can set.
const REMOUNT_MASK: libc::c_ulong = !(libc::MS_BIND | libc::MS_REC | libc::MS_REMOUNT);

/// The atime mode flags (one value of an enum, in the kernel's mount flags).
const ATIME_ENUM: libc::c_ulong = libc::MS_NOATIME | libc::MS_RELATIME | libc::MS_STRICTATIME;

/// Every atime flag.
const ATIME_FLAGS: libc::c_ulong = ATIME_ENUM | libc::MS_NODIRATIME;

/// Flags a user namespace locks on the mounts it inherits (MNT_LOCK_* in the kernel,
/// mount_namespaces(7)): a remount that drops them fails with EPERM. Others, such as
/// nosymfollow, are not locked, and a bind remount drops them as runc's does.
const LOCKABLE: libc::c_ulong =
    libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC | ATIME_FLAGS;

/// Whether a mount entry is a bind mount: "bind"/"rbind" in options, or type "bind".
pub fn is_bind(m: &Mount, opts: &Parsed) -> bool {
    opts.is_bind() || m.typ().as_deref() == Some("bind")
}

/// Mounts entry `i` of `mounts`.
pub fn mount_entry(ctx: &Ctx, i: usize, m: &Mount) -> Result<()> {
    let opts = parse(m.options().as_deref().unwrap_or_default());
    let dest = m.destination();
    let typ = m.typ().as_deref().unwrap_or("");
    let what = format!("mounts[{i}] ({})", dest.display());
    if is_bind(m, &opts) {
        let src = m.source().as_deref().context("validated: bind source")?;
        bind_entry(ctx, i, src, dest, &opts)
            .with_context(|| format!("{what}: bind-mounting {}", src.display()))
    } else if typ == "cgroup" || typ == "cgroup2" {
        cgroup_mounts::mount_cgroup(ctx, typ, dest, &opts)
            .with_context(|| format!("{what}: mounting {typ}"))
    } else {
        fs_entry(ctx, m, typ, &opts).with_context(|| format!("{what}: mounting {typ}"))
    }
}

fn bind_entry(ctx: &Ctx, i: usize, src: &Path, dest: &Path, opts: &Parsed) -> Result<()> {
    // The parent's copy: always for an id-mapped mount; for a plain one only when init
    // cannot reach the source (its own lookup, at this point in config order, comes first).
    let copy = ctx
        .idmapped
        .iter()
        .find(|t| t.index == i)
        .filter(|t| t.mapped || std::fs::metadata(src).is_err());
    let (is_dir, src_is_proc) = match copy {
        Some(t) => (
            nix::sys::stat::fstat(&t.tree)?.st_mode & libc::S_IFMT == libc::S_IFDIR,
            nix::sys::statfs::fstatfs(&t.tree)?.filesystem_type()
                == nix::sys::statfs::PROC_SUPER_MAGIC,
        ),
        None => {
            let meta =
                std::fs::metadata(src).with_context(|| format!("source {}", src.display()))?;
            let src_is_proc = nix::fcntl::open(
                src,
                OFlag::O_PATH | OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .and_then(|fd| nix::sys::statfs::fstatfs(&fd))
            .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::PROC_SUPER_MAGIC);
            (meta.is_dir(), src_is_proc)
        }
    };
    let kind = if is_dir { Kind::Dir } else { Kind::File };
    let dest_fd = resolve::create_in_root(ctx.root, dest, kind)?;
    let inside = resolve::container_path(dest_fd.as_fd(), ctx.root_path)?;
    check_proc_destination(&inside, src_is_proc)?;
    let mnt = match copy {
        Some(t) => super::idmap::attach(ctx, t, dest_fd, &inside, opts)?,
        None => bind(ctx, src, dest_fd, &inside, opts)?,
    };
    apply_after(mnt.as_fd(), opts)
}

/// Bind-mounts host path `src` onto `dest_fd` (recursively for rbind), then applies the
/// per-mount flags with a remount. Returns an O_PATH fd of the new mount.
pub fn bind(
    ctx: &Ctx,
    src: &Path,
    dest_fd: OwnedFd,
    inside: &Path,
    opts: &Parsed,
) -> Result<OwnedFd> {
    let flags = MsFlags::MS_BIND | MsFlags::from_bits_retain(opts.flags & libc::MS_REC);
    mount(
        Some(src),
        fd_path(dest_fd.as_fd()).as_str(),
        None::<&str>,
        flags,
        None::<&str>,
    )
    .context("bind mount")?;
    finish_bind(ctx, inside, opts)
}

/// After a bind mount was made at container path `inside`: reopens it and applies the
/// per-mount flags with a remount. Returns an O_PATH fd of the mount.
pub fn finish_bind(ctx: &Ctx, inside: &Path, opts: &Parsed) -> Result<OwnedFd> {
    let mnt = reopen(ctx, inside)?;
    if opts.flags & REMOUNT_MASK != 0 || opts.cleared != 0 {
        remount_bind(mnt.as_fd(), opts.flags & REMOUNT_MASK, opts.cleared)?;
    }
    Ok(mnt)
}

/// Sets exactly `flags` on the bind mount `mnt`. When that fails (flags locked by a user
/// namespace), retries keeping the locked flags of the mount, as runc does; a locked flag the
/// config explicitly cleared, or an atime mode other than the locked one, stays an error.
pub fn remount_bind(mnt: BorrowedFd, flags: libc::c_ulong, cleared: libc::c_ulong) -> Result<()> {
    let path = fd_path(mnt);
    let remount = |f: libc::c_ulong| {
        let f = MsFlags::from_bits_retain(f | libc::MS_BIND | libc::MS_REMOUNT);
        mount(None::<&str>, path.as_str(), None::<&str>, f, None::<&str>)
    };
    let first = match remount(flags) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    let fail = || Err(first).context("remounting the bind mount with its flags");
    let mut current = sys::mount_flags(mnt).context("statfs of the bind mount")?;
    // Strictatime is the absence of the other modes; statfs has no flag for it.
    if current & ATIME_ENUM == 0 {
        current |= libc::MS_STRICTATIME;
    }
    if current & cleared & LOCKABLE != 0 {
        return fail();
    }
    if flags & ATIME_FLAGS != 0 && flags & ATIME_FLAGS != current & ATIME_FLAGS {
        return fail();
    }
    remount(flags | (current & LOCKABLE)).context("remounting the bind mount with its flags")
}

/// Whether the read-only flag of this mount waits for [`super::finalize`], as in runc: a
/// tmpfs (something may be mounted or chmod-ed below it first) and /dev (the devices,
/// /dev/pts and the symlinks, and the console after pivot_root, are made in it first).
pub fn delays_readonly(m: &Mount, opts: &Parsed) -> bool {
    !is_bind(m, opts)
        && (m.typ().as_deref() == Some("tmpfs")
            || super::resolve::relative(m.destination()) == Path::new("dev"))
}

fn fs_entry(ctx: &Ctx, m: &Mount, typ: &str, opts: &Parsed) -> Result<()> {
    if matches!(typ, "proc" | "sysfs") {
        check_ordinary_directory(ctx.root, m.destination(), typ)?;
    }
    // runc passes a tmpfs the mode of the directory it covers, unless `mode=` says otherwise.
    let covered_mode = if typ == "tmpfs" {
        match resolve::open_in_root(ctx.root, m.destination(), OFlag::O_PATH) {
            Ok(fd) => Some(nix::sys::stat::fstat(&fd)?.st_mode & 0o7777),
            Err(Errno::ENOENT) => None,
            Err(e) => {
                return Err(e).with_context(|| format!("resolving {}", m.destination().display()))
            }
        }
    } else {
        None
    };
    let dest_fd = resolve::create_in_root(ctx.root, m.destination(), Kind::Dir)?;
    let inside = resolve::container_path(dest_fd.as_fd(), ctx.root_path)?;
    if typ != "proc" {
        check_proc_destination(&inside, false)?;
    } else if inside != Path::new("/proc") {
        check_proc_destination(&inside, true)?;
    }
    if matches!(typ, "proc" | "sysfs")
        && nix::sys::stat::fstat(&dest_fd)?.st_mode & libc::S_IFMT != libc::S_IFDIR
    {
        bail!("filesystem {typ:?} must be mounted on ordinary directory");
    }
    // The covered directory stays readable through an fd opened before the mount.
    let covered = if opts.tmpcopyup {
        Some(nix::fcntl::open(
            fd_path(dest_fd.as_fd()).as_str(),
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )?)
    } else {
        None
    };
    let mut flags = opts.flags;
    if delays_readonly(m, opts) {
        flags &= !libc::MS_RDONLY;
    }
    let source = m
        .source()
        .as_deref()
        .map(|s| s.to_path_buf())
        .unwrap_or_else(|| PathBuf::from(typ));
    let data = match covered_mode {
        Some(mode) if opts.data.is_empty() => format!("mode={mode:04o}"),
        // Ahead of the config's options, so that its own `mode=` wins.
        Some(mode) => format!("mode={mode:04o},{}", opts.data),
        None => opts.data.clone(),
    };
    let data = crate::lsm::with_mount_label(typ, &data, ctx.mount_label);
    let data = (!data.is_empty()).then_some(data.as_str());
    let target = fd_path(dest_fd.as_fd());
    let res = mount(
        Some(&source),
        target.as_str(),
        Some(typ),
        MsFlags::from_bits_retain(flags),
        data,
    );
    let mnt = match res {
        // Without its own network namespace (typically rootless), sysfs can't be mounted:
        // bind the host's /sys instead, as runc does.
        Err(Errno::EPERM | Errno::EBUSY) if typ == "sysfs" => {
            let rbind = Parsed {
                flags: opts.flags | libc::MS_BIND | libc::MS_REC,
                ..opts.clone()
            };
            return apply_after(
                bind(ctx, Path::new("/sys"), dest_fd, &inside, &rbind)?.as_fd(),
                opts,
            );
        }
        Err(e) => return Err(e).context("mount"),
        Ok(()) => reopen(ctx, &inside)?,
    };
    if let Some(covered) = covered {
        let dir = nix::fcntl::open(
            fd_path(mnt.as_fd()).as_str(),
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )?;
        copyup::copy_dir(covered.as_fd(), dir.as_fd())?;
    }
    apply_after(mnt.as_fd(), opts)
}

/// Opens the mount just made at container path `inside` (the fd used to mount refers to the
/// covered directory, not the new mount), and checks it is still where it was resolved to.
pub fn reopen(ctx: &Ctx, inside: &Path) -> Result<OwnedFd> {
    let fd = resolve::open_in_root(ctx.root, inside, OFlag::O_PATH)
        .with_context(|| format!("reopening {}", inside.display()))?;
    let now = resolve::container_path(fd.as_fd(), ctx.root_path)?;
    if now != inside {
        bail!(
            "{} moved to {} while being mounted",
            inside.display(),
            now.display()
        );
    }
    Ok(fd)
}

/// Propagation changes in config order, then the recursive mount_setattr attributes.
pub fn apply_after(mnt: BorrowedFd, opts: &Parsed) -> Result<()> {
    let path = fd_path(mnt);
    for p in &opts.propagation {
        mount(
            None::<&str>,
            path.as_str(),
            None::<&str>,
            MsFlags::from_bits_retain(*p),
            None::<&str>,
        )
        .context("changing mount propagation")?;
    }
    if opts.rec_set != 0 || opts.rec_clr != 0 {
        sys::mount_setattr(mnt, true, opts.rec_set, opts.rec_clr, 0)
            .context("applying recursive mount attributes (mount_setattr)")?;
    }
    Ok(())
}

/// Refuses a proc or sysfs mount whose destination exists and is not a directory (a
/// symlink above all, which would put procfs somewhere else and leave the masks over
/// /proc/... pointing at whatever the link's target holds), as runc does. The last component
/// is looked at without following it; the path above it resolves inside the rootfs.
fn check_ordinary_directory(root: BorrowedFd, dest: &Path, typ: &str) -> Result<()> {
    let refuse = || bail!("filesystem {typ:?} must be mounted on ordinary directory");
    let rel = resolve::relative(dest);
    // "." or "..": what they resolve to is a directory.
    let (Some(parent), Some(name)) = (rel.parent(), rel.file_name()) else {
        return Ok(());
    };
    let parent = match resolve::open_in_root(root, parent, OFlag::O_PATH) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(()), // created below, as a directory
        Err(e) => return Err(e).with_context(|| format!("resolving {}", parent.display())),
    };
    match nix::sys::stat::fstatat(&parent, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => Ok(()),
        Ok(_) => refuse(),
        Err(Errno::ENOENT) => Ok(()),
        Err(e) => Err(e).with_context(|| format!("lstat of {}", dest.display())),
    }
}

/// Entries under /proc that may be mounted over (what lxcfs provides), as runc allows.
const PROC_ALLOWED: &[&str] = &[
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid",
];

/// Refuses mounts that would hide parts of /proc (and so the masks over them), as runc
/// does: /proc itself only takes a procfs, and below it only a few lxcfs-style files.
fn check_proc_destination(inside: &Path, source_is_proc: bool) -> Result<()> {
    let Ok(rest) = inside.strip_prefix("/proc") else {
        return Ok(());
    };
    if rest.as_os_str().is_empty() {
        if source_is_proc {
            return Ok(());
        }
        bail!(
            "{} cannot be mounted over: it is not a procfs",
            inside.display()
        );
    }
    if PROC_ALLOWED.iter().any(|p| Path::new(p) == inside) {
        return Ok(());
    }
    bail!(
        "{} cannot be mounted over: it is inside /proc",
        inside.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_destinations() {
        assert!(check_proc_destination(Path::new("/proc"), true).is_ok());
        assert!(check_proc_destination(Path::new("/proc"), false).is_err());
        assert!(check_proc_destination(Path::new("/proc/meminfo"), false).is_ok());
        assert!(check_proc_destination(Path::new("/proc/sys"), false).is_err());
        assert!(check_proc_destination(Path::new("/processes"), false).is_ok());
        assert!(check_proc_destination(Path::new("/tmp"), false).is_ok());
    }
}
