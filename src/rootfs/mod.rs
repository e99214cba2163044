//! TEMPORARY minimal rootfs (replaced by the rootfs branch).
use anyhow::{Context, Result};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use oci_spec::runtime::Spec;
use std::path::Path;

pub struct MountOption {
    pub name: &'static str,
}
pub const MOUNT_OPTIONS: &[MountOption] = &[MountOption { name: "bind" }];

pub struct RootfsSetup<'a> {
    pub spec: &'a Spec,
    pub rootfs: &'a Path,
    pub no_pivot: bool,
    pub userns: bool,
    pub cgroupns: bool,
    pub mountns: bool,
}

pub fn prepare(s: &RootfsSetup) -> Result<()> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )?;
    mount(
        Some(s.rootfs),
        s.rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )?;
    for m in s.spec.mounts().iter().flatten() {
        let dest = s
            .rootfs
            .join(m.destination().strip_prefix("/").unwrap_or(m.destination()));
        std::fs::create_dir_all(&dest).ok();
        let typ = m.typ().clone().unwrap_or_default();
        let flags = if typ == "bind" {
            MsFlags::MS_BIND | MsFlags::MS_REC
        } else {
            MsFlags::empty()
        };
        mount(
            m.source().as_deref(),
            &dest,
            Some(typ.as_str()),
            flags,
            None::<&str>,
        )
        .with_context(|| format!("mounting {}", dest.display()))?;
    }
    nix::unistd::chdir(s.rootfs)?;
    nix::unistd::pivot_root(".", ".")?;
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )?;
    umount2(".", MntFlags::MNT_DETACH)?;
    nix::unistd::chdir("/")?;
    Ok(())
}

pub fn finalize(_spec: &Spec) -> Result<()> {
    Ok(())
}
