//! Where a container's cgroup goes: linux.cgroupsPath resolved as runc's cgroupfs driver
//! does.
//!
//! - absolute: relative to each hierarchy's root (the mountpoint);
//! - relative: relative to berth's own cgroup in that hierarchy (v1, and the cgroup2 part of
//!   a hybrid layout), or to the parent of berth's own cgroup on pure v2 (berth's own cgroup
//!   usually holds processes, and v2 forbids enabling controllers below such a cgroup);
//! - empty: the container id, as a relative path.
//!
//! The path is cleaned lexically first, with ".." unable to climb above the start, so a
//! config cannot point outside the hierarchy.

use anyhow::{bail, Result};
use std::path::PathBuf;

use super::mounts::Hierarchy;

/// A cleaned cgroup path: `absolute` says whether it started with '/'; `rel` never starts
/// with '/' and has no "." or ".." components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inner {
    pub absolute: bool,
    pub rel: String,
}

/// Lexical cleaning as runc's CleanPath: "." dropped, ".." pops but never above the start.
pub fn clean(p: &str) -> Inner {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    Inner {
        absolute: p.starts_with('/'),
        rel: parts.join("/"),
    }
}

/// The container's cgroup path inside each hierarchy, before it is anchored.
pub fn inner(cgroups_path: Option<&std::path::Path>, id: &str) -> Result<Inner> {
    let raw = cgroups_path.map(|p| p.to_string_lossy().into_owned());
    match raw.as_deref() {
        None | Some("") => {
            let i = clean(id);
            if i.rel.is_empty() {
                bail!("container id {id:?} cannot name a cgroup");
            }
            Ok(Inner {
                absolute: false,
                rel: i.rel,
            })
        }
        Some(p) => {
            let i = clean(p);
            if i.rel.is_empty() {
                bail!(
                    "linux.cgroupsPath: {p:?} names the {} cgroup itself, not a cgroup of its own",
                    if i.absolute { "root" } else { "runtime's" }
                );
            }
            Ok(i)
        }
    }
}

/// The directory of the container's cgroup in hierarchy `h`. `own` is berth's own cgroup
/// there (from /proc/self/cgroup); `parent_of_own` selects the pure-v2 rule.
pub fn resolve(h: &Hierarchy, own: Option<&str>, inner: &Inner, parent_of_own: bool) -> PathBuf {
    let mut dir = h.mountpoint.clone();
    if !inner.absolute {
        let own = own.unwrap_or("/");
        let mut base = clean(own).rel;
        if parent_of_own {
            base = match base.rsplit_once('/') {
                Some((parent, _)) => parent.to_string(),
                None => String::new(),
            };
        }
        // /proc/self/cgroup shows paths from the cgroup namespace's root, the mount shows
        // its own root: the part below the mount's root is what exists under the mountpoint.
        let root = clean(&h.root).rel;
        let below = if root.is_empty() {
            base.as_str()
        } else if base == root {
            ""
        } else {
            base.strip_prefix(&format!("{root}/")).unwrap_or(&base)
        };
        if !below.is_empty() {
            dir.push(below);
        }
    }
    dir.push(&inner.rel);
    dir
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn h(mnt: &str, root: &str) -> Hierarchy {
        Hierarchy {
            mountpoint: mnt.into(),
            root: root.into(),
            controllers: vec!["memory".into()],
        }
    }

    #[test]
    fn cleaning_cannot_escape() {
        assert_eq!(clean("/a/../../b/./c/").rel, "b/c");
        assert!(clean("/a").absolute);
        let r = clean("../../etc/x");
        assert_eq!((r.absolute, r.rel.as_str()), (false, "etc/x"));
    }

    #[test]
    fn empty_path_is_the_id_relative() {
        let i = inner(None, "abc").unwrap();
        assert_eq!(
            i,
            Inner {
                absolute: false,
                rel: "abc".into()
            }
        );
        assert_eq!(inner(Some(Path::new("")), "abc").unwrap().rel, "abc");
    }

    #[test]
    fn root_is_refused() {
        let e = inner(Some(Path::new("/..")), "x").unwrap_err().to_string();
        assert!(e.contains("linux.cgroupsPath") && e.contains("root"), "{e}");
    }

    #[test]
    fn absolute_is_under_the_mountpoint() {
        let i = inner(Some(Path::new("/berth/c1")), "x").unwrap();
        let d = resolve(&h("/sys/fs/cgroup/memory", "/"), Some("/user/1"), &i, false);
        assert_eq!(d, PathBuf::from("/sys/fs/cgroup/memory/berth/c1"));
    }

    #[test]
    fn relative_is_under_own_cgroup_on_v1() {
        let i = inner(Some(Path::new("c1")), "x").unwrap();
        let d = resolve(&h("/sys/fs/cgroup/memory", "/"), Some("/a/b"), &i, false);
        assert_eq!(d, PathBuf::from("/sys/fs/cgroup/memory/a/b/c1"));
        // A mount of a sub-cgroup: only the part below its root is under the mountpoint.
        let d = resolve(&h("/sys/fs/cgroup/memory", "/a"), Some("/a/b"), &i, false);
        assert_eq!(d, PathBuf::from("/sys/fs/cgroup/memory/b/c1"));
    }

    #[test]
    fn relative_is_under_own_parent_on_v2() {
        let i = inner(None, "c1").unwrap();
        let d = resolve(
            &h("/sys/fs/cgroup", "/"),
            Some("/user.slice/s.scope"),
            &i,
            true,
        );
        assert_eq!(d, PathBuf::from("/sys/fs/cgroup/user.slice/c1"));
        let d = resolve(&h("/sys/fs/cgroup", "/"), Some("/"), &i, true);
        assert_eq!(d, PathBuf::from("/sys/fs/cgroup/c1"));
    }
}
