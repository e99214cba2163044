//! Id-mapped bind mounts (config.md "Mounts": the `idmap` and `ridmap` options and a mount's
//! own uidMappings/gidMappings), with mount_setattr(MOUNT_ATTR_IDMAP).
//!
//! The kernel lets only a process with CAP_SYS_ADMIN over the source's filesystem (the host's
//! user namespace, for host filesystems) idmap a mount, and only while the mount is detached.
//! So the parent does it before clone: [`prepare`] clones each source into a detached tree
//! (open_tree), idmaps it through a user namespace that carries the mount's mappings, and
//! init inherits the tree's fd across clone; in init, [`attach`] moves the tree onto the
//! destination resolved inside the rootfs (move_mount), and the mount's other options apply
//! as for any bind mount. As in runc: bind mounts only, root only; a mount's mappings without
//! `idmap`/`ridmap` make it id-mapped (not recursively); `idmap`/`ridmap` without mappings
//! use the container's user namespace: its mappings, or the namespace itself when joined by
//! path. The same way, for a container in a user namespace, the parent also hands init plain
//! copies of the other bind sources, for those init cannot reach (runc's host-side sources).

use anyhow::{bail, Context, Result};
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Mount, Spec};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use super::mount_options::{parse, Effect, Parsed, MOUNT_OPTIONS};
use super::mounts::{self, is_bind, Ctx};
use super::sys;

/// A detached copy of `mounts[index]`'s source, made by the parent: id-mapped, or (`mapped`
/// false) a plain copy for a container in a user namespace, which init uses only when it
/// cannot reach the source itself (a host directory closed to the container's root), as
/// runc has its host side open such sources.
pub struct IdMapped {
    pub index: usize,
    pub tree: OwnedFd,
    pub mapped: bool,
}

/// Whether berth implements id-mapped mounts (for `berth features`): the option table has
/// `idmap`, which is what makes a config's `idmap` reach this module.
pub fn supported() -> bool {
    MOUNT_OPTIONS
        .iter()
        .any(|o| o.effect == Effect::IdMap(false))
}

/// Where a mount's id mapping comes from.
#[derive(Debug, PartialEq)]
enum Mapping<'a> {
    Maps(&'a [LinuxIdMapping], &'a [LinuxIdMapping]),
    /// The user namespace the container joins.
    Userns(&'a Path),
}

/// The mapping of an id-mapped mount, or None for a plain one. Call after `validate`.
fn mapping<'a>(spec: &'a Spec, m: &'a Mount, opts: &Parsed) -> Option<Mapping<'a>> {
    if let (Some(u), Some(g)) = (m.uid_mappings(), m.gid_mappings()) {
        return Some(Mapping::Maps(u, g));
    }
    opts.idmap?;
    let linux = spec.linux().as_ref()?;
    let joined = linux
        .namespaces()
        .iter()
        .flatten()
        .find(|n| n.typ() == LinuxNamespaceType::User)?
        .path()
        .as_deref()
        .filter(|p| !p.as_os_str().is_empty());
    match joined {
        Some(p) => Some(Mapping::Userns(p)),
        None => Some(Mapping::Maps(
            linux.uid_mappings().as_deref()?,
            linux.gid_mappings().as_deref()?,
        )),
    }
}

/// Checks the id-mapping fields of one mount (`at` names it in errors).
pub fn validate(spec: &Spec, m: &Mount, opts: &Parsed, at: &str) -> Result<()> {
    let (uids, gids) = (m.uid_mappings(), m.gid_mappings());
    if opts.idmap.is_none() && uids.is_none() && gids.is_none() {
        return Ok(());
    }
    if !is_bind(m, opts) {
        bail!("{at}: id-mapped mounts (idmap, ridmap, uidMappings, gidMappings) are supported for bind mounts only");
    }
    match (uids, gids) {
        (None, None) => {
            let userns = spec.linux().as_ref().is_some_and(|l| {
                l.namespaces()
                    .iter()
                    .flatten()
                    .any(|n| n.typ() == LinuxNamespaceType::User)
            });
            if !userns {
                bail!("{at}.options: idmap/ridmap without uidMappings and gidMappings use the container's user namespace, but linux.namespaces has none");
            }
        }
        (Some(u), Some(g)) if !u.is_empty() && !g.is_empty() => {}
        _ => bail!("{at}: an id-mapped mount needs both uidMappings and gidMappings, not empty"),
    }
    Ok(())
}

/// In the parent, before clone: the detached, id-mapped trees of every id-mapped mount, and
/// in a user namespace plain copies of the other bind sources that exist now (best effort:
/// init falls back to them only when it cannot reach a source). Relative sources are taken
/// relative to `bundle`.
pub fn prepare(spec: &Spec, bundle: &Path) -> Result<Vec<IdMapped>> {
    let mut out = Vec::new();
    let userns = spec.linux().as_ref().is_some_and(|l| {
        l.namespaces()
            .iter()
            .flatten()
            .any(|n| n.typ() == LinuxNamespaceType::User)
    });
    let copies = userns && nix::unistd::geteuid().is_root();
    // Mounts with the same mapping share one user namespace.
    let mut namespaces: Vec<(Mapping, OwnedFd)> = Vec::new();
    for (index, m) in spec.mounts().iter().flatten().enumerate() {
        let opts = parse(m.options().as_deref().unwrap_or_default());
        let Some(map) = mapping(spec, m, &opts) else {
            if copies && is_bind(m, &opts) {
                if let Some(src) = m.source().as_deref() {
                    if let Ok(tree) = plain_tree(&bundle.join(src), opts.flags & libc::MS_REC != 0)
                    {
                        out.push(IdMapped {
                            index,
                            tree,
                            mapped: false,
                        });
                    }
                }
            }
            continue;
        };
        let at = format!("mounts[{index}]");
        let userns = match namespaces.iter().position(|(k, _)| *k == map) {
            Some(i) => i,
            None => {
                let fd = match &map {
                    Mapping::Maps(u, g) => {
                        crate::userns::with_maps(u, g, &format!("{at}: id mapping"))?
                    }
                    Mapping::Userns(p) => std::fs::File::open(p)
                        .with_context(|| format!("{at}: opening user namespace {}", p.display()))?
                        .into(),
                };
                namespaces.push((map, fd));
                namespaces.len() - 1
            }
        };
        let src = bundle.join(m.source().as_deref().context("validated: bind source")?);
        let recursive = opts.idmap == Some(true);
        let tree = idmapped_tree(
            &src,
            opts.flags & libc::MS_REC != 0,
            recursive,
            namespaces[userns].1.as_fd(),
        )
        .with_context(|| {
            format!(
                "{at} ({}): id-mapped mount of {}",
                m.destination().display(),
                src.display()
            )
        })?;
        out.push(IdMapped {
            index,
            tree,
            mapped: true,
        });
    }
    Ok(out)
}

/// A detached copy of `src` (of its whole tree with `rbind`).
fn plain_tree(src: &Path, rbind: bool) -> Result<OwnedFd> {
    let fd = nix::fcntl::open(src, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        .context("opening the source")?;
    let mut flags = libc::OPEN_TREE_CLONE;
    if rbind {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    sys::open_tree(fd.as_fd(), flags).context("open_tree(OPEN_TREE_CLONE)")
}

/// A detached copy of `src` (of its whole tree with `rbind`), id-mapped through `userns`
/// (every mount of the tree with `recursive`).
fn idmapped_tree(src: &Path, rbind: bool, recursive: bool, userns: BorrowedFd) -> Result<OwnedFd> {
    let tree = plain_tree(src, rbind)?;
    match sys::set_idmap(tree.as_fd(), recursive, userns) {
        Ok(()) => Ok(tree),
        Err(e @ nix::errno::Errno::EINVAL) => Err(e).context(
            "mount_setattr(MOUNT_ATTR_IDMAP) (does the source's filesystem support id-mapped mounts?)",
        ),
        Err(e) => Err(e).context("mount_setattr(MOUNT_ATTR_IDMAP)"),
    }
}

/// In init: attaches the parent's id-mapped tree onto `dest_fd` (container path `inside`)
/// and applies the mount's flags as for a plain bind mount. Returns an O_PATH fd of the mount.
pub fn attach(
    ctx: &Ctx,
    t: &IdMapped,
    dest_fd: OwnedFd,
    inside: &Path,
    opts: &Parsed,
) -> Result<OwnedFd> {
    sys::move_mount(t.tree.as_fd(), dest_fd.as_fd())
        .context("move_mount of the parent's copy of the source")?;
    // Attached: the tree's fd is no longer needed. Closed now, so that a config with many
    // id-mapped mounts does not hold one fd each when process.rlimits' RLIMIT_NOFILE applies.
    // SAFETY: init has its own copy of the parent's fd table and never drops `t` (it execs
    // or exits), so this is the only close of this fd number in this process.
    unsafe { libc::close(t.tree.as_raw_fd()) };
    mounts::finish_bind(ctx, inside, opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> Spec {
        serde_json::from_str(json).unwrap()
    }

    const USERNS: &str = r#""linux":{"namespaces":[{"type":"mount"},{"type":"user"}],
        "uidMappings":[{"containerID":0,"hostID":100000,"size":65536}],
        "gidMappings":[{"containerID":0,"hostID":100000,"size":65536}]}"#;

    fn check(s: &Spec) -> Result<()> {
        for (i, m) in s.mounts().iter().flatten().enumerate() {
            let opts = parse(m.options().as_deref().unwrap_or_default());
            validate(s, m, &opts, &format!("mounts[{i}]"))?;
        }
        Ok(())
    }

    #[test]
    fn mapping_sources() {
        let s = spec(&format!(
            r#"{{"ociVersion":"1.2.0","mounts":[
                {{"destination":"/a","source":"/x","options":["rbind","idmap"]}},
                {{"destination":"/b","source":"/x","options":["bind"],
                  "uidMappings":[{{"containerID":1,"hostID":2,"size":3}}],
                  "gidMappings":[{{"containerID":4,"hostID":5,"size":6}}]}},
                {{"destination":"/c","source":"/x","options":["bind"]}}],{USERNS}}}"#
        ));
        check(&s).unwrap();
        let ms = s.mounts().as_ref().unwrap();
        let m = |i: usize| mapping(&s, &ms[i], &parse(ms[i].options().as_deref().unwrap()));
        let l = s.linux().as_ref().unwrap();
        assert_eq!(
            m(0),
            Some(Mapping::Maps(
                l.uid_mappings().as_deref().unwrap(),
                l.gid_mappings().as_deref().unwrap()
            ))
        );
        match m(1) {
            Some(Mapping::Maps(u, g)) => {
                assert_eq!((u[0].host_id(), g[0].host_id()), (2, 5));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(m(2), None);

        let joined = spec(
            r#"{"ociVersion":"1.2.0","mounts":[{"destination":"/a","source":"/x","options":["bind","ridmap"]}],
                "linux":{"namespaces":[{"type":"mount"},{"type":"user","path":"/proc/1/ns/user"}]}}"#,
        );
        check(&joined).unwrap();
        let jm = &joined.mounts().as_ref().unwrap()[0];
        assert_eq!(
            mapping(&joined, jm, &parse(jm.options().as_deref().unwrap())),
            Some(Mapping::Userns(Path::new("/proc/1/ns/user")))
        );
    }

    #[test]
    fn errors_name_the_mount() {
        let err = |mounts: &str, linux: &str| {
            check(&spec(&format!(
                r#"{{"ociVersion":"1.2.0","mounts":[{mounts}],{linux}}}"#
            )))
            .unwrap_err()
            .to_string()
        };
        let no_userns = r#""linux":{"namespaces":[{"type":"mount"}]}"#;
        assert_eq!(
            err(r#"{"destination":"/a","type":"tmpfs","options":["idmap"]}"#, USERNS),
            "mounts[0]: id-mapped mounts (idmap, ridmap, uidMappings, gidMappings) are supported for bind mounts only"
        );
        assert!(err(
            r#"{"destination":"/a","source":"/x","options":["bind","idmap"]}"#,
            no_userns
        )
        .starts_with("mounts[0].options: idmap/ridmap without uidMappings"));
        assert_eq!(
            err(
                r#"{"destination":"/a","source":"/x","options":["bind"],"uidMappings":[{"containerID":0,"hostID":1,"size":1}]}"#,
                no_userns
            ),
            "mounts[0]: an id-mapped mount needs both uidMappings and gidMappings, not empty"
        );
        assert_eq!(
            err(
                r#"{"destination":"/a","source":"/x","options":["bind","idmap"],"uidMappings":[],"gidMappings":[]}"#,
                USERNS
            ),
            "mounts[0]: an id-mapped mount needs both uidMappings and gidMappings, not empty"
        );
        // A mount's own mappings need no user namespace in the container.
        check(&spec(&format!(
            r#"{{"ociVersion":"1.2.0","mounts":[{{"destination":"/a","source":"/x","options":["bind"],
                "uidMappings":[{{"containerID":0,"hostID":1,"size":1}}],
                "gidMappings":[{{"containerID":0,"hostID":1,"size":1}}]}}],{no_userns}}}"#
        )))
        .unwrap();
    }

    #[test]
    fn features_say_supported() {
        assert!(supported());
    }

    /// A real id-mapped tree, inspected through its fd (it is never attached anywhere).
    #[test]
    fn a_detached_tree_shows_mapped_owners() {
        let dir = std::env::temp_dir().join(format!("berth-idmap-{}", std::process::id()));
        struct Gone<'a>(&'a Path);
        impl Drop for Gone<'_> {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(self.0);
            }
        }
        let _gone = Gone(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("f"), "x").unwrap();
        let own = |uid: u32, gid: u32| (Some(uid.into()), Some(gid.into()));
        let (u, g) = own(1000, 1001);
        nix::unistd::chown(&dir.join("f"), u, g).unwrap();
        let maps = |c: u32, h: u32| -> Vec<LinuxIdMapping> {
            serde_json::from_str(&format!(r#"[{{"containerID":{c},"hostID":{h},"size":1}}]"#))
                .unwrap()
        };
        let ns = crate::userns::with_maps(&maps(1000, 2000), &maps(1001, 3000), "test").unwrap();
        let tree = idmapped_tree(&dir, false, false, ns.as_fd()).unwrap();
        let st = nix::sys::stat::fstatat(&tree, "f", nix::fcntl::AtFlags::empty()).unwrap();
        assert_eq!((st.st_uid, st.st_gid), (2000, 3000));
        // The source itself is unchanged.
        let st = nix::sys::stat::stat(&dir.join("f")).unwrap();
        assert_eq!((st.st_uid, st.st_gid), (1000, 1001));
    }
}
