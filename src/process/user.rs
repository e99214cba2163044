//! Becoming `process.user` in the container's init: stdio ownership, supplementary groups,
//! gid, uid (keeping the permitted capabilities so `capabilities::apply` can then set the
//! sets exactly) and umask; and the HOME runc gives a process whose env lacks one.

use anyhow::{bail, Context as _, Result};
use nix::unistd::{Gid, Uid};
use oci_spec::runtime::User;
use std::os::fd::BorrowedFd;

/// runc's umask when `process.user.umask` is not given.
const DEFAULT_UMASK: u32 = 0o022;

/// The largest uid or gid berth accepts, as runc 1.1 does: ids are signed in places, and
/// -1 (4294967295) means "leave unchanged" to setresuid and friends, so such a uid would
/// silently leave the process root.
pub const MAX_ID: u32 = 2147483647;

/// The kernel's NGROUPS_MAX: setgroups refuses more.
const MAX_GROUPS: usize = 65536;

/// Fails unless `id` is a uid or gid berth accepts; `field` names it in the error.
pub fn check_id(field: &str, id: u32) -> Result<()> {
    if id > MAX_ID {
        bail!("{field}: {id} is out of range: uids and gids must be in range 0-{MAX_ID}");
    }
    Ok(())
}

/// Checks `process.user` before anything is created: ids in range, at most NGROUPS_MAX
/// supplementary groups.
pub fn validate(user: &User) -> Result<()> {
    check_id("process.user.uid", user.uid())?;
    check_id("process.user.gid", user.gid())?;
    let groups = user.additional_gids().as_deref().unwrap_or_default();
    if groups.len() > MAX_GROUPS {
        bail!(
            "process.user.additionalGids: {} groups, more than the kernel's limit of {MAX_GROUPS}",
            groups.len()
        );
    }
    for (i, g) in groups.iter().enumerate() {
        check_id(&format!("process.user.additionalGids[{i}]"), *g)?;
    }
    Ok(())
}

/// Switches this process to `user`. Runs in init after `capabilities::drop_bounding` (while
/// still root in the container, so CAP_SETUID/CAP_SETGID/CAP_CHOWN are still effective) and
/// before `capabilities::apply`.
pub fn switch(user: &User) -> Result<()> {
    let (uid, gid) = (user.uid(), user.gid());
    let groups: Vec<Gid> = user
        .additional_gids()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|g| Gid::from_raw(*g))
        .collect();
    fix_stdio_ownership(uid)?;

    // Always set, even to nothing, so the host's supplementary groups do not leak in.
    if setgroups_allowed()? {
        nix::unistd::setgroups(&groups).with_context(|| {
            format!(
                "process.user.additionalGids: setting {} supplementary groups",
                groups.len()
            )
        })?;
    } else if !groups.is_empty() {
        bail!(
            "process.user.additionalGids: cannot set supplementary groups: setgroups is denied in this user namespace (/proc/self/setgroups is \"deny\")"
        );
    }
    let g = Gid::from_raw(gid);
    nix::unistd::setresgid(g, g, g).with_context(|| format!("process.user: setting gid {gid}"))?;

    // Without KEEPCAPS, leaving uid 0 would empty the permitted set.
    caps::securebits::set_keepcaps(true).context("process.user: setting PR_SET_KEEPCAPS")?;
    let u = Uid::from_raw(uid);
    nix::unistd::setresuid(u, u, u).with_context(|| format!("process.user: setting uid {uid}"))?;
    // Cleared again so the container process does not inherit the flag.
    caps::securebits::set_keepcaps(false).context("process.user: clearing PR_SET_KEEPCAPS")?;

    let umask = user.umask().unwrap_or(DEFAULT_UMASK);
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(umask));
    Ok(())
}

/// `/proc/self/setgroups` is "deny" in a user namespace whose gid map was written by an
/// unprivileged process; setgroups(2) then always fails. Without the file (kernels before
/// 3.19, or no /proc in the container) setgroups is allowed.
fn setgroups_allowed() -> Result<bool> {
    match std::fs::read_to_string("/proc/self/setgroups") {
        Ok(s) => Ok(s.trim() != "deny"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e).context("reading /proc/self/setgroups"),
    }
}

/// Gives the container user ownership of stdio pipes and sockets, so a non-root process can
/// reopen /dev/stdout or /proc/self/fd/1 (a common way for servers to log), as runc does.
/// Unlike runc, only pipes (anonymous, or the named fifos container managers pass) and
/// sockets are changed: `berth run` hands the caller's own stdio straight to the container,
/// and giving the caller's terminal or log file to the container user would leak it.
/// Failures that mean "not ours to change" (unmapped owner, read-only fs) are tolerated
/// like runc.
fn fix_stdio_ownership(uid: u32) -> Result<()> {
    for raw in 0..=2 {
        // SAFETY: stdio fds stay open for the whole of init; the borrow ends in this iteration.
        let fd = unsafe { BorrowedFd::borrow_raw(raw) };
        let st = match nix::sys::stat::fstat(fd) {
            Ok(st) => st,
            // A closed stdio fd has nothing to fix.
            Err(nix::errno::Errno::EBADF) => continue,
            Err(e) => return Err(e).context("process.user: fstat of stdio"),
        };
        let kind = st.st_mode & libc::S_IFMT;
        if st.st_uid == uid || (kind != libc::S_IFIFO && kind != libc::S_IFSOCK) {
            continue;
        }
        // Only the owner changes; the group may be chosen by the mount (devpts gid=).
        match nix::unistd::fchown(fd, Some(Uid::from_raw(uid)), None) {
            Ok(()) => {}
            Err(
                nix::errno::Errno::EINVAL | nix::errno::Errno::EPERM | nix::errno::Errno::EROFS,
            ) => {}
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("process.user: giving stdio fd {raw} to uid {uid}"))
            }
        }
    }
    Ok(())
}

/// Gives `env` (deduplicated) a HOME when it has none or an empty one, as runc does: in
/// place of the empty entry, else at the end.
pub fn set_home(env: &mut Vec<String>, uid: u32) {
    match env.iter().position(|e| e.starts_with("HOME=")) {
        Some(i) if env[i].len() > "HOME=".len() => {}
        Some(i) => env[i] = format!("HOME={}", home_dir(uid)),
        None => env.push(format!("HOME={}", home_dir(uid))),
    }
}

/// The HOME runc puts in the process env when `process.env` has none: the user's home
/// directory from the container's /etc/passwd, or "/" when there is no entry. Call after
/// pivot_root so /etc/passwd is the container's.
pub fn home_dir(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|p| home_from_passwd(&p, uid))
        .unwrap_or_else(|| "/".to_string())
}

fn home_from_passwd(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        // name:password:uid:gid:gecos:home:shell
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() < 7 || fields[2].parse::<u32>().ok()? != uid {
            return None;
        }
        Some(fields[5])
            .filter(|h| !h.is_empty())
            .map(str::to_string)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::test_child;

    #[test]
    fn home_from_passwd_entries() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\n#junk\nbad line\nsvc:x:1000:1000::/home/svc:/bin/false\nnohome:x:7:7:::/bin/sh\n";
        assert_eq!(home_from_passwd(passwd, 0).as_deref(), Some("/root"));
        assert_eq!(home_from_passwd(passwd, 1000).as_deref(), Some("/home/svc"));
        assert_eq!(home_from_passwd(passwd, 7), None);
        assert_eq!(home_from_passwd(passwd, 42), None);
    }

    #[test]
    fn set_home_fills_an_empty_or_missing_home_only() {
        let env = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // uid 4242 has no passwd entry on any host this runs on: "/".
        let mut e = env(&["A=1", "HOME=", "B=2"]);
        set_home(&mut e, 4242);
        assert_eq!(e, env(&["A=1", "HOME=/", "B=2"]));
        let mut e = env(&["A=1"]);
        set_home(&mut e, 4242);
        assert_eq!(e, env(&["A=1", "HOME=/"]));
        let mut e = env(&["HOME=/x"]);
        set_home(&mut e, 4242);
        assert_eq!(e, env(&["HOME=/x"]));
    }

    /// Points stdin and stderr at /dev/null and stdout at a new pipe, so `switch` does not
    /// chown the test runner's own stdio; returns the pipe's read end.
    fn private_stdio() -> Result<std::os::fd::OwnedFd> {
        use std::os::fd::AsRawFd;
        let null = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")?;
        let (r, w) = nix::unistd::pipe()?;
        for (fd, target) in [
            (null.as_raw_fd(), 0),
            (w.as_raw_fd(), 1),
            (null.as_raw_fd(), 2),
        ] {
            // SAFETY: dup2 onto the stdio numbers of this forked test child.
            if unsafe { libc::dup2(fd, target) } < 0 {
                return Err(std::io::Error::last_os_error().into());
            }
        }
        Ok(r)
    }

    fn owner(fd: i32) -> Result<u32> {
        // SAFETY: stdio fds of the test child stay open.
        Ok(nix::sys::stat::fstat(unsafe { BorrowedFd::borrow_raw(fd) })?.st_uid)
    }

    #[test]
    fn switch_sets_ids_groups_umask_and_keeps_permitted() {
        test_child::run(|| {
            let _pipe = private_stdio()?;
            let user: User = serde_json::from_value(serde_json::json!({
                "uid": 1000, "gid": 1001, "additionalGids": [10, 20], "umask": 0o027
            }))?;
            let permitted_before = test_child::status_field("CapPrm");
            switch(&user)?;
            anyhow::ensure!(
                test_child::status_field("Uid") == "1000 1000 1000 1000",
                "Uid"
            );
            anyhow::ensure!(
                test_child::status_field("Gid") == "1001 1001 1001 1001",
                "Gid"
            );
            anyhow::ensure!(test_child::status_field("Groups") == "10 20", "Groups");
            anyhow::ensure!(test_child::status_field("Umask") == "0027", "Umask");
            anyhow::ensure!(
                test_child::status_field("CapPrm") == permitted_before,
                "CapPrm lost"
            );
            // KEEPCAPS must not stay set for the container process.
            anyhow::ensure!(!caps::securebits::has_keepcaps()?, "keepcaps still set");
            anyhow::ensure!(owner(1)? == 1000, "stdout pipe not given to the user");
            anyhow::ensure!(owner(0)? == 0, "/dev/null must stay root's");
            anyhow::ensure!(owner(2)? == 0, "a regular file must stay root's");
            Ok(())
        });
    }

    #[test]
    fn switch_clears_host_groups_and_defaults_umask() {
        test_child::run(|| {
            let _pipe = private_stdio()?;
            nix::unistd::setgroups(&[Gid::from_raw(4), Gid::from_raw(5)])?;
            nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
            let user: User = serde_json::from_value(serde_json::json!({"uid": 0, "gid": 0}))?;
            switch(&user)?;
            anyhow::ensure!(
                test_child::status_field("Groups").is_empty(),
                "Groups not cleared"
            );
            anyhow::ensure!(test_child::status_field("Umask") == "0022", "Umask");
            Ok(())
        });
    }
}
