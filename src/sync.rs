//! The parent <-> init protocol: small typed messages over a SOCK_SEQPACKET socketpair
//! (one datagram per message, so no framing is needed). Both ends are close-on-exec, so the
//! parent's end reads EOF when init execs the container process or dies.
//!
//! | sender       | message        | when                                                        | payload        |
//! |--------------|----------------|-------------------------------------------------------------|----------------|
//! | parent       | `Go`           | to the intermediate cloned into a new user namespace (time  | -              |
//! |              |                | offsets), after writing its uid/gid maps                    |                |
//! | intermediate | `InitPid`      | join path and time offsets: the intermediate (which setns'd | pid (i32)      |
//! |              |                | into the namespaces given by path, or unshared time) cloned |                |
//! |              |                | init as berth's child (CLONE_PARENT); it then exits         |                |
//! | parent       | `Go`           | after writing uid/gid maps and placing init in its cgroup   | -              |
//! | parent       | `GoBeforeCgroup` | instead of `Go` when init could not be cloned into its    | -              |
//! |              |                | cgroup (v1, hybrid): init starts its setup while the parent |                |
//! |              |                | moves it (cgroup.procs waits an RCU grace period), and waits|                |
//! |              |                | for `CgroupJoined` before its first cgroup-dependent step   |                |
//! | parent       | `CgroupJoined` | init is in its cgroup in every hierarchy                    | -              |
//! | init         | `Hooks`        | mounts made, before pivot_root, only if the config has      | -              |
//! |              |                | prestart or createRuntime hooks: init waits for `HooksDone` |                |
//! | parent       | `HooksDone`    | prestart and createRuntime hooks succeeded (on a failure    | -              |
//! |              |                | the parent kills init instead)                              |                |
//! | init         | `PtyMaster`    | process.terminal: after pivot_root (and any `Hooks`); the   | the pty master |
//! |              |                | parent forwards it to --console-socket or keeps it to relay | (SCM_RIGHTS)   |
//! | init / exec  | `SeccompFd`    | the filter uses SCMP_ACT_NOTIFY and is loaded: the parent   | fd number (i32)|
//! |              |                | takes the listener fd with pidfd_getfd and sends it to the  |                |
//! |              |                | agent at listenerPath; the child waits for `SeccompDone`    |                |
//! | parent       | `SeccompDone`  | the agent has the notify fd                                 | -              |
//! | init         | `Ready`        | setup done (exec: the process execs right after)            | -              |
//! | parent       | `Saved`        | the container's state is saved: init closes its end and     | -              |
//! |              |                | blocks opening the exec fifo. Until then init exits at EOF: |                |
//! |              |                | a `create` killed before its state exists leaves no init    |                |
//! | init         | `Error`        | a setup step failed; init exits right after                 | message (utf8) |
//!
//! The parent treats EOF before `Ready` as "init died during setup" and reports init's exit.
//! A message that carries an fd is read with [`read_with_fd`]; [`read`] refuses one.

use anyhow::{bail, Context, Result};
use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// The largest message: what a reader's buffer holds. An error text longer than that is cut
/// (it still reaches the parent); anything else arriving longer is refused, never truncated.
pub const MAX_MSG: usize = 8192;

const TAG_INIT_PID: u8 = 1;
const TAG_GO: u8 = 2;
const TAG_READY: u8 = 3;
const TAG_ERROR: u8 = 4;
const TAG_HOOKS: u8 = 5;
const TAG_HOOKS_DONE: u8 = 6;
const TAG_SECCOMP_FD: u8 = 7;
const TAG_GO_BEFORE_CGROUP: u8 = 10;
const TAG_CGROUP_JOINED: u8 = 11;
const TAG_SECCOMP_DONE: u8 = 8;
const TAG_PTY_MASTER: u8 = 9;
const TAG_SAVED: u8 = 12;

#[derive(Debug, PartialEq, Eq)]
pub enum Msg {
    InitPid(i32),
    Go,
    GoBeforeCgroup,
    CgroupJoined,
    Ready,
    Saved,
    Error(String),
    Hooks,
    HooksDone,
    SeccompFd(i32),
    SeccompDone,
    /// Comes with the pty master as SCM_RIGHTS ([`write_with_fd`], [`read_with_fd`]).
    PtyMaster,
}

/// A connected pair: (parent end, child end).
pub fn pair() -> Result<(OwnedFd, OwnedFd)> {
    socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("creating the sync socketpair")
}

fn encode(msg: &Msg) -> Vec<u8> {
    match msg {
        Msg::InitPid(pid) => {
            let mut v = vec![TAG_INIT_PID];
            v.extend_from_slice(&pid.to_le_bytes());
            v
        }
        Msg::Go => vec![TAG_GO],
        Msg::GoBeforeCgroup => vec![TAG_GO_BEFORE_CGROUP],
        Msg::CgroupJoined => vec![TAG_CGROUP_JOINED],
        Msg::Ready => vec![TAG_READY],
        Msg::Saved => vec![TAG_SAVED],
        Msg::Hooks => vec![TAG_HOOKS],
        Msg::HooksDone => vec![TAG_HOOKS_DONE],
        Msg::SeccompFd(fd) => {
            let mut v = vec![TAG_SECCOMP_FD];
            v.extend_from_slice(&fd.to_le_bytes());
            v
        }
        Msg::SeccompDone => vec![TAG_SECCOMP_DONE],
        Msg::Error(s) => {
            let mut v = vec![TAG_ERROR];
            v.extend_from_slice(bounded(s, MAX_MSG - 1).as_bytes());
            v
        }
        Msg::PtyMaster => vec![TAG_PTY_MASTER],
    }
}

/// `s` cut at a character boundary to at most `max` bytes, marked as cut with "...".
fn bounded(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return s.into();
    }
    let mut end = max - 3;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end]).into()
}

fn decode(buf: &[u8]) -> Result<Msg> {
    match buf.split_first() {
        Some((&TAG_INIT_PID, rest)) if rest.len() == 4 => Ok(Msg::InitPid(i32::from_le_bytes(
            rest.try_into().unwrap_or_default(),
        ))),
        Some((&TAG_GO, [])) => Ok(Msg::Go),
        Some((&TAG_GO_BEFORE_CGROUP, [])) => Ok(Msg::GoBeforeCgroup),
        Some((&TAG_CGROUP_JOINED, [])) => Ok(Msg::CgroupJoined),
        Some((&TAG_READY, [])) => Ok(Msg::Ready),
        Some((&TAG_SAVED, [])) => Ok(Msg::Saved),
        Some((&TAG_HOOKS, [])) => Ok(Msg::Hooks),
        Some((&TAG_HOOKS_DONE, [])) => Ok(Msg::HooksDone),
        Some((&TAG_SECCOMP_FD, rest)) if rest.len() == 4 => Ok(Msg::SeccompFd(i32::from_le_bytes(
            rest.try_into().unwrap_or_default(),
        ))),
        Some((&TAG_SECCOMP_DONE, [])) => Ok(Msg::SeccompDone),
        Some((&TAG_ERROR, rest)) => Ok(Msg::Error(String::from_utf8_lossy(rest).into_owned())),
        Some((&TAG_PTY_MASTER, [])) => Ok(Msg::PtyMaster),
        _ => bail!("sync: malformed message {buf:?}"),
    }
}

pub fn write(fd: &OwnedFd, msg: &Msg) -> Result<()> {
    send_with_fds(fd.as_fd(), &encode(msg), &[]).context("sync: sending a message")
}

/// Sends `msg` to a child. If the child is gone (its end is closed), the error is the child's
/// own last message, if it sent an `Error`, or else `gone()`: never the broken socket.
pub fn tell(fd: &OwnedFd, msg: &Msg, gone: impl FnOnce() -> anyhow::Error) -> Result<()> {
    match send_with_fds(fd.as_fd(), &encode(msg), &[]) {
        Ok(()) => Ok(()),
        Err(nix::errno::Errno::EPIPE | nix::errno::Errno::ECONNRESET) => match read(fd) {
            Ok(Some(Msg::Error(m))) => bail!("{m}"),
            _ => Err(gone()),
        },
        Err(e) => Err(e).context("sync: sending a message"),
    }
}

/// Sends `msg` with `passed` attached as SCM_RIGHTS.
pub fn write_with_fd(fd: &OwnedFd, msg: &Msg, passed: BorrowedFd) -> Result<()> {
    send_with_fds(fd.as_fd(), &encode(msg), &[passed.as_raw_fd()])
        .with_context(|| format!("sync: sending {msg:?} with an fd"))
}

/// Reads one message; `None` at EOF (the other end closed: exec or death). A message that
/// carries an fd is an error here (the fd is closed): see [`read_with_fd`].
pub fn read(fd: &OwnedFd) -> Result<Option<Msg>> {
    match read_with_fd(fd)? {
        Some((msg, Some(_))) => bail!("sync: unexpected fd with {msg:?}"),
        Some((msg, None)) => Ok(Some(msg)),
        None => Ok(None),
    }
}

/// Reads one message and the fd that came with it, if any (close-on-exec).
pub fn read_with_fd(fd: &OwnedFd) -> Result<Option<(Msg, Option<OwnedFd>)>> {
    let mut buf = [0u8; MAX_MSG];
    let (n, mut fds) = recv_with_fds(fd.as_fd(), &mut buf).context("sync: reading a message")?;
    if n == 0 && fds.is_empty() {
        return Ok(None);
    }
    if fds.len() > 1 {
        bail!("sync: {} fds in one message", fds.len());
    }
    Ok(Some((decode(&buf[..n])?, fds.pop())))
}

/// sendmsg of `data` with `fds` as one SCM_RIGHTS control message (none if `fds` is empty),
/// retried on EINTR. Also used for the --console-socket protocol (`terminal`).
pub fn send_with_fds(sock: BorrowedFd, data: &[u8], fds: &[RawFd]) -> nix::Result<()> {
    let iov = [IoSlice::new(data)];
    let rights = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &rights };
    loop {
        match sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
            Ok(n) if n == data.len() => return Ok(()),
            // A SOCK_STREAM peer could take part of it; the protocols here are one short write.
            Ok(_) => return Err(nix::errno::Errno::EMSGSIZE),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Most fds accepted in one message; more than the one any message carries, so that a peer
/// sending extra fds cannot make the kernel truncate (and leak) them.
const MAX_FDS: usize = 4;

/// recvmsg into `buf`, returning the byte count and the fds received (close-on-exec), retried
/// on EINTR. (0, []) means EOF.
///
/// A peer that exits with messages of ours unread sets ECONNRESET on this socket, and a
/// seqpacket recv reports that error before the messages the peer sent first (its last
/// words, such as `Msg::Error`); the error is consumed by being reported, so one more recv
/// returns them, or EOF.
pub fn recv_with_fds(sock: BorrowedFd, buf: &mut [u8]) -> nix::Result<(usize, Vec<OwnedFd>)> {
    let mut space = nix::cmsg_space!([RawFd; MAX_FDS]);
    let mut reset_seen = false;
    loop {
        let mut iov = [IoSliceMut::new(buf)];
        let msg = match recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Ok(m) => m,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(nix::errno::Errno::ECONNRESET) if !reset_seen => {
                reset_seen = true;
                continue;
            }
            Err(e) => return Err(e),
        };
        let mut fds = Vec::new();
        for c in msg.cmsgs()? {
            if let ControlMessageOwned::ScmRights(raw) = c {
                // SAFETY: the kernel just installed these fds in this process for us alone.
                fds.extend(raw.into_iter().map(|f| unsafe { OwnedFd::from_raw_fd(f) }));
            }
        }
        // A datagram longer than `buf` lost its tail: an error, never half a message.
        if msg
            .flags
            .intersects(MsgFlags::MSG_TRUNC | MsgFlags::MSG_CTRUNC)
        {
            return Err(nix::errno::Errno::EMSGSIZE);
        }
        return Ok((msg.bytes, fds));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The peer's last message survives the ECONNRESET its exit sets (it left one of ours
    /// unread), as init's error does when it fails before reading the parent's next message.
    #[test]
    fn last_words_after_a_reset() {
        let (a, b) = pair().unwrap();
        write(&a, &Msg::Go).unwrap(); // never read by b
        write(&b, &Msg::Error("init failed".into())).unwrap();
        drop(b);
        assert_eq!(read(&a).unwrap(), Some(Msg::Error("init failed".into())));
        assert_eq!(read(&a).unwrap(), None);
    }

    #[test]
    fn round_trip() {
        let (a, b) = pair().unwrap();
        for m in [
            Msg::InitPid(4242),
            Msg::Go,
            Msg::GoBeforeCgroup,
            Msg::CgroupJoined,
            Msg::Ready,
            Msg::Saved,
            Msg::Hooks,
            Msg::HooksDone,
            Msg::SeccompFd(7),
            Msg::SeccompDone,
            Msg::Error("mounting proc: EPERM".into()),
        ] {
            write(&a, &m).unwrap();
            assert_eq!(read(&b).unwrap(), Some(m));
        }
        drop(a);
        assert_eq!(read(&b).unwrap(), None);
    }

    #[test]
    fn a_long_error_is_cut_to_fit_and_a_long_message_is_refused() {
        let (a, b) = pair().unwrap();
        let long = "é".repeat(MAX_MSG);
        write(&a, &Msg::Error(long.clone())).unwrap();
        let Some(Msg::Error(got)) = read(&b).unwrap() else {
            panic!("not an error message")
        };
        assert!(got.len() < MAX_MSG && got.ends_with("..."), "{}", got.len());
        assert!(long.starts_with(got.trim_end_matches("...")));
        // Longer than the reader's buffer: refused, not truncated.
        send_with_fds(a.as_fd(), &vec![TAG_ERROR; MAX_MSG + 1], &[]).unwrap();
        let e = read(&b).unwrap_err();
        assert!(format!("{e:#}").contains("EMSGSIZE"), "{e:#}");
    }

    #[test]
    fn message_with_fd() {
        let (a, b) = pair().unwrap();
        let (r, w) = nix::unistd::pipe().unwrap();
        write_with_fd(&a, &Msg::PtyMaster, w.as_fd()).unwrap();
        drop(w);
        let (msg, got) = read_with_fd(&b).unwrap().unwrap();
        assert_eq!(msg, Msg::PtyMaster);
        let got = got.expect("an fd came with the message");
        let flags = nix::fcntl::fcntl(&got, nix::fcntl::FcntlArg::F_GETFD).unwrap();
        assert_ne!(
            flags & libc::FD_CLOEXEC,
            0,
            "received fds are close-on-exec"
        );
        nix::unistd::write(&got, b"x").unwrap();
        let mut one = [0u8; 1];
        assert_eq!(nix::unistd::read(&r, &mut one).unwrap(), 1);
        // `read` refuses a message that carries an fd.
        write_with_fd(&a, &Msg::PtyMaster, got.as_fd()).unwrap();
        assert!(read(&b).is_err());
        write(&a, &Msg::Ready).unwrap();
        assert!(matches!(
            read_with_fd(&b).unwrap(),
            Some((Msg::Ready, None))
        ));
    }
}
