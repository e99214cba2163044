//! Resolving container paths inside the rootfs without ever leaving it: every lookup is an
//! openat2(RESOLVE_IN_ROOT) from an fd of the rootfs, so a symlink (even one swapped in
//! while we work, CVE-2021-30465) resolves as it would inside the container and can never
//! point at the host. Missing directories and files are created along the way.

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::fcntl::{openat, openat2, readlinkat, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{mkdirat, Mode};
use std::collections::VecDeque;
use std::ffi::OsString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

/// What to create at the end of a path that does not exist yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
}

/// `path` made relative to the root: "/a/b" and "a/b" both become "a/b", "/" becomes ".".
pub fn relative(path: &Path) -> PathBuf {
    let rel: PathBuf = path
        .components()
        .filter(|c| !matches!(c, Component::RootDir | Component::CurDir))
        .collect();
    if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel
    }
}

/// Opens `path` (a container path) under `root`, with symlinks resolved inside the root and
/// magic links (/proc/self/...) refused.
pub fn open_in_root(root: BorrowedFd, path: &Path, flags: OFlag) -> nix::Result<OwnedFd> {
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    openat2(root, &relative(path), how)
}

/// Opens `path` under `root` as an O_PATH fd, creating what is missing: directories along the
/// way and, at the end, a directory or an empty file as `kind` says. A dangling symlink on the
/// way is followed (inside the root) and its target created, as a lexical join in the root
/// would.
pub fn create_in_root(root: BorrowedFd, path: &Path, kind: Kind) -> Result<OwnedFd> {
    match open_in_root(root, path, OFlag::O_PATH) {
        Ok(fd) => return Ok(fd),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(e).with_context(|| format!("resolving {}", path.display())),
    }
    let mut todo: VecDeque<OsString> = relative(path)
        .components()
        .map(|c| c.as_os_str().to_os_string())
        .collect();
    let mut done = PathBuf::from(".");
    let mut current = open_in_root(root, &done, OFlag::O_PATH).context("opening the root")?;
    let mut links = 0;
    while let Some(part) = todo.pop_front() {
        let candidate = done.join(&part);
        match open_in_root(root, &candidate, OFlag::O_PATH) {
            Ok(fd) => {
                (done, current) = (candidate, fd);
                continue;
            }
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(e).with_context(|| format!("resolving {}", candidate.display())),
        }
        if let Ok(target) = readlinkat(current.as_fd(), part.as_os_str()) {
            links += 1;
            if links > MAX_SYMLINKS {
                bail!("resolving {}: too many symlinks", path.display());
            }
            let target = PathBuf::from(target);
            if target.is_absolute() {
                done = PathBuf::from(".");
            }
            for c in target.components().rev() {
                if !matches!(c, Component::RootDir | Component::CurDir) {
                    todo.push_front(c.as_os_str().to_os_string());
                }
            }
            current = open_in_root(root, &done, OFlag::O_PATH)
                .with_context(|| format!("resolving {}", done.display()))?;
            continue;
        }
        let made = if todo.is_empty() && kind == Kind::File {
            openat(
                current.as_fd(),
                part.as_os_str(),
                OFlag::O_CREAT | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o644),
            )
            .map(drop)
        } else {
            mkdirat(
                current.as_fd(),
                part.as_os_str(),
                Mode::from_bits_truncate(0o755),
            )
        };
        match made {
            // EEXIST: made by someone else meanwhile; resolve it again below.
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("creating {} in the container", candidate.display()))
            }
        }
        current = open_in_root(root, &candidate, OFlag::O_PATH)
            .with_context(|| format!("resolving {}", candidate.display()))?;
        done = candidate;
    }
    Ok(current)
}

/// The kernel's limit on symlinks followed in one lookup.
const MAX_SYMLINKS: usize = 40;

/// Where an fd really is, as a path inside the root whose host path is `root_path`
/// (read back from /proc/self/fd, i.e. after all symlinks were resolved in the root).
pub fn container_path(fd: BorrowedFd, root_path: &Path) -> Result<PathBuf> {
    let real = std::fs::read_link(super::sys::fd_path(fd)).context("reading /proc/self/fd")?;
    let inside = real.strip_prefix(root_path).with_context(|| {
        format!(
            "{} is outside the rootfs {}",
            real.display(),
            root_path.display()
        )
    })?;
    Ok(Path::new("/").join(inside))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A fresh directory, removed on drop (also when an assertion fails).
    struct TempDir(PathBuf);

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn tempdir(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("berth-resolve-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }

    #[test]
    fn relative_strips_the_root() {
        assert_eq!(relative(Path::new("/a/./b")), PathBuf::from("a/b"));
        assert_eq!(relative(Path::new("a")), PathBuf::from("a"));
        assert_eq!(relative(Path::new("/")), PathBuf::from("."));
    }

    #[test]
    fn symlinks_resolve_inside_the_root_and_missing_parts_are_created() {
        let tmp = tempdir("create");
        let base = &tmp.0;
        let root = base.join("root");
        let outside = base.join("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        // Absolute and relative escapes both land inside the root.
        symlink(&outside, root.join("abs")).unwrap();
        symlink("../../../outside", root.join("rel")).unwrap();
        let rootfd =
            nix::fcntl::open(&root, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty()).unwrap();
        let fd = create_in_root(rootfd.as_fd(), Path::new("/abs/x/y"), Kind::Dir).unwrap();
        assert!(root
            .join(outside.strip_prefix("/").unwrap())
            .join("x/y")
            .is_dir());
        assert_eq!(
            container_path(fd.as_fd(), &root).unwrap(),
            Path::new("/")
                .join(outside.strip_prefix("/").unwrap())
                .join("x/y")
        );
        create_in_root(rootfd.as_fd(), Path::new("rel/f"), Kind::File).unwrap();
        assert!(root.join("outside/f").is_file());
        assert!(std::fs::read_dir(&outside).unwrap().next().is_none());
        // An existing path is opened as it is.
        let again = create_in_root(rootfd.as_fd(), Path::new("/rel"), Kind::Dir).unwrap();
        assert_eq!(
            container_path(again.as_fd(), &root).unwrap(),
            Path::new("/outside")
        );
    }
}
