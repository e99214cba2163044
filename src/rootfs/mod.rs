//! The container's root filesystem: validation of the rootfs fields of a config, then in init
//! [`prepare`] (propagation, `mounts`, devices, /dev symlinks), [`enter`] (pivot_root; the
//! createRuntime and createContainer hooks run between the two) and, after sysctl,
//! [`finalize`] (readonlyPaths, maskedPaths, root.readonly).
//!
//! Files: `mount_options` (the option table and parser), `mounts` (one mount entry),
//! `cgroup_mounts` (types cgroup/cgroup2), `copyup` (tmpcopyup), `devices`, `pivot`,
//! `paths` (masked and read-only paths), `resolve` (paths inside the rootfs), `sys`
//! (syscall wrappers), `validate`, `idmap` (id-mapped bind mounts, prepared by the parent).

mod cgroup_mounts;
mod copyup;
mod devices;
mod idmap;
mod mount_options;
mod mounts;
mod paths;
pub mod pivot;
mod resolve;
// `terminal` mounts the pty on /dev/console with open_tree/move_mount.
pub mod sys;
mod validate;

#[cfg(test)]
pub(crate) mod tests;

use anyhow::{Context, Result};
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use oci_spec::runtime::Spec;
use std::os::fd::AsFd;
use std::path::Path;

pub use idmap::{prepare as prepare_idmapped, supported as idmap_supported, IdMapped};
pub use mount_options::MOUNT_OPTIONS;

/// Checks the rootfs fields of a config (mounts, rootfsPropagation, devices, masked and
/// read-only paths) before anything is created. Errors are one line naming the field.
pub fn validate(spec: &Spec) -> Result<()> {
    validate::validate(spec)
}

/// Whether, without a mount namespace, the rootfs is still set up (mounts or devices, made in
/// the runtime's namespace as runc does; the console is then mounted on its /dev/console too).
pub fn set_up_without_mountns(spec: &Spec) -> bool {
    validate::needs_mountns(spec).is_some()
}

/// What [`prepare`] needs to know besides the spec.
pub struct RootfsSetup<'a> {
    pub spec: &'a Spec,
    /// Absolute canonical host path of root.path.
    pub rootfs: &'a Path,
    /// --no-pivot: MS_MOVE + chroot instead of pivot_root.
    pub no_pivot: bool,
    /// init is in a user namespace (devices are bind-mounted from the host, not made).
    pub userns: bool,
    /// init is in its own cgroup namespace (cgroup mounts are fresh, not binds).
    pub cgroupns: bool,
    /// init is in its own mount namespace (new or joined). Without one, as in runc, the
    /// mounts and devices are made in the runtime's namespace (the rootfs bound onto itself,
    /// then `mounts` below it; they stay after delete), propagation is left alone, and init
    /// chroots; validation rejects the fields that would change the runtime's own mounts.
    pub mountns: bool,
    /// Called before the first cgroup or cgroup2 mount: init waits there until it is in its
    /// cgroup (see `sync::Msg::GoBeforeCgroup`).
    pub cgroup_gate: &'a dyn Fn() -> Result<()>,
    /// The id-mapped trees the parent made with [`prepare_idmapped`] before clone.
    pub idmapped: &'a [IdMapped],
}

fn propagation(spec: &Spec) -> Option<libc::c_ulong> {
    let p = spec.linux().as_ref()?.rootfs_propagation().as_deref()?;
    mount_options::rootfs_propagation(p)
}

/// Whether /dev is a bind mount (of the host's /dev, typically): then no devices or /dev
/// symlinks are made, as runc does.
fn dev_is_bind(spec: &Spec) -> bool {
    spec.mounts().iter().flatten().any(|m| {
        let opts = mount_options::parse(m.options().as_deref().unwrap_or_default());
        resolve::relative(m.destination()) == Path::new("dev") && mounts::is_bind(m, &opts)
    })
}

/// Step 4 of init, first half: sets up the rootfs. Relative bind sources are taken relative
/// to the current directory, which must be the bundle.
pub fn prepare(setup: &RootfsSetup) -> Result<()> {
    let spec = setup.spec;
    if setup.mountns {
        pivot::prepare_root(setup.rootfs, propagation(spec))?;
        return populate(setup);
    }
    if !set_up_without_mountns(spec) {
        // Nothing to mount or make: the runtime's namespace and the image stay untouched.
        return Ok(());
    }
    pivot::bind_root_onto_itself(setup.rootfs)?;
    populate(setup).inspect_err(|_| {
        // A container that failed to start leaves nothing in the runtime's namespace.
        let _ = nix::mount::umount2(setup.rootfs, nix::mount::MntFlags::MNT_DETACH);
    })
}

/// The mounts of `mounts` in config order, then the devices and /dev symlinks, below the
/// rootfs (already a mount of its own).
fn populate(setup: &RootfsSetup) -> Result<()> {
    let spec = setup.spec;
    let root = open(
        setup.rootfs,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening the rootfs {}", setup.rootfs.display()))?;
    let ctx = mounts::Ctx {
        root: root.as_fd(),
        root_path: setup.rootfs,
        cgroupns: setup.cgroupns,
        idmapped: setup.idmapped,
        mount_label: spec
            .linux()
            .as_ref()
            .and_then(|l| l.mount_label().as_deref()),
    };
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if matches!(m.typ().as_deref(), Some("cgroup" | "cgroup2")) {
            (setup.cgroup_gate)()?;
        }
        mounts::mount_entry(&ctx, i, m)?;
    }
    if !dev_is_bind(spec) {
        let configured = spec.linux().as_ref().and_then(|l| l.devices().clone());
        let list = devices::list(configured.as_deref().unwrap_or_default());
        // No mknod outside the initial user namespace: in the container's own, or in the one
        // berth itself runs in (rootless podman runs the runtime as root in its namespace).
        let userns = setup.userns || crate::rootless::in_user_namespace();
        devices::create_all(root.as_fd(), &list, userns)?;
        devices::create_symlinks(root.as_fd()).context("creating the /dev symlinks")?;
    }
    Ok(())
}

/// Step 4 of init, second half, after [`prepare`]: makes the rootfs "/" (pivot_root, or with
/// --no-pivot MS_MOVE and chroot, or only chroot without a mount namespace); then, where it
/// made the devices, points stdio that is /dev/null at the container's own. Ends with the cwd
/// at "/".
pub fn enter(setup: &RootfsSetup) -> Result<()> {
    if !setup.mountns {
        pivot::chroot_only(setup.rootfs)?;
    } else {
        let propagation = propagation(setup.spec);
        if setup.no_pivot {
            pivot::move_root(setup.rootfs)?;
        } else {
            pivot::pivot(setup.rootfs)?;
        }
        if let Some(flags) = propagation {
            pivot::apply_root_propagation(flags)?;
        }
    }
    let populated = setup.mountns || set_up_without_mountns(setup.spec);
    if populated && !dev_is_bind(setup.spec) {
        devices::reopen_null_stdio().context("reopening /dev/null inside the container")?;
    }
    Ok(())
}

/// Step 6 of init, after pivot_root (and sysctl): readonlyPaths, then maskedPaths, then the
/// read-only tmpfs and /dev mounts (kept writable until now, as in runc), then
/// root.readonly. Works on "/" of the calling process; needs no /proc.
pub fn finalize(spec: &Spec) -> Result<()> {
    let root = open(
        "/",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("opening /")?;
    if let Some(linux) = spec.linux() {
        for p in linux.readonly_paths().iter().flatten() {
            paths::make_readonly(root.as_fd(), Path::new(p))?;
        }
        let label = linux.mount_label().as_deref().filter(|l| !l.is_empty());
        paths::mask_all(root.as_fd(), linux.masked_paths().as_deref(), label)?;
    }
    for m in spec.mounts().iter().flatten() {
        let opts = mount_options::parse(m.options().as_deref().unwrap_or_default());
        if opts.flags & libc::MS_RDONLY != 0 && mounts::delays_readonly(m, &opts) {
            paths::remount_readonly(root.as_fd(), m.destination())?;
        }
    }
    if spec.root().as_ref().and_then(|r| r.readonly()) == Some(true) {
        paths::root_readonly(root.as_fd())?;
    }
    Ok(())
}
