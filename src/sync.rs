//! The parent <-> init protocol: small typed messages over a SOCK_SEQPACKET socketpair
//! (one datagram per message, so no framing is needed). Both ends are close-on-exec, so the
//! parent's end reads EOF when init execs the container process or dies.
//!
//! | sender       | message        | when                                                        | payload        |
//! |--------------|----------------|-------------------------------------------------------------|----------------|
//! | intermediate | `InitPid`      | join path only: the intermediate (which setns'd into the   | pid (i32)      |
//! |              |                | namespaces given by path) cloned init; it then exits        |                |
//! | parent       | `Go`           | after writing uid/gid maps and placing init in its cgroup   | -              |
//! | init         | `Hooks`        | mounts made, before pivot_root, only if the config has      | -              |
//! |              |                | prestart or createRuntime hooks: init waits for `HooksDone` |                |
//! | parent       | `HooksDone`    | prestart and createRuntime hooks succeeded (on a failure    | -              |
//! |              |                | the parent kills init instead)                              |                |
//! | init / exec  | `SeccompFd`    | the filter uses SCMP_ACT_NOTIFY and is loaded: the parent   | fd number (i32)|
//! |              |                | takes the listener fd with pidfd_getfd and sends it to the  |                |
//! |              |                | agent at listenerPath; the child waits for `SeccompDone`    |                |
//! | parent       | `SeccompDone`  | the agent has the notify fd                                 | -              |
//! | init         | `Ready`        | setup done; init now blocks opening the exec fifo           | -              |
//! |              |                | (exec: the process execs right after)                       |                |
//! | init         | `Error`        | a setup step failed; init exits right after                 | message (utf8) |
//!
//! The parent treats EOF before `Ready` as "init died during setup" and reports init's exit.

use anyhow::{bail, Context, Result};
use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};
use std::os::fd::{AsRawFd, OwnedFd};

const TAG_INIT_PID: u8 = 1;
const TAG_GO: u8 = 2;
const TAG_READY: u8 = 3;
const TAG_ERROR: u8 = 4;
const TAG_HOOKS: u8 = 5;
const TAG_HOOKS_DONE: u8 = 6;
const TAG_SECCOMP_FD: u8 = 7;
const TAG_SECCOMP_DONE: u8 = 8;

#[derive(Debug, PartialEq, Eq)]
pub enum Msg {
    InitPid(i32),
    Go,
    Ready,
    Error(String),
    Hooks,
    HooksDone,
    SeccompFd(i32),
    SeccompDone,
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
        Msg::Ready => vec![TAG_READY],
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
            v.extend_from_slice(s.as_bytes());
            v
        }
    }
}

fn decode(buf: &[u8]) -> Result<Msg> {
    match buf.split_first() {
        Some((&TAG_INIT_PID, rest)) if rest.len() == 4 => Ok(Msg::InitPid(i32::from_le_bytes(
            rest.try_into().unwrap_or_default(),
        ))),
        Some((&TAG_GO, [])) => Ok(Msg::Go),
        Some((&TAG_READY, [])) => Ok(Msg::Ready),
        Some((&TAG_HOOKS, [])) => Ok(Msg::Hooks),
        Some((&TAG_HOOKS_DONE, [])) => Ok(Msg::HooksDone),
        Some((&TAG_SECCOMP_FD, rest)) if rest.len() == 4 => Ok(Msg::SeccompFd(i32::from_le_bytes(
            rest.try_into().unwrap_or_default(),
        ))),
        Some((&TAG_SECCOMP_DONE, [])) => Ok(Msg::SeccompDone),
        Some((&TAG_ERROR, rest)) => Ok(Msg::Error(String::from_utf8_lossy(rest).into_owned())),
        _ => bail!("sync: malformed message {buf:?}"),
    }
}

pub fn write(fd: &OwnedFd, msg: &Msg) -> Result<()> {
    let data = encode(msg);
    loop {
        match send(fd.as_raw_fd(), &data, MsgFlags::MSG_NOSIGNAL) {
            Ok(_) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e).context("sync: sending a message"),
        }
    }
}

/// Reads one message; `None` at EOF (the other end closed: exec or death).
pub fn read(fd: &OwnedFd) -> Result<Option<Msg>> {
    let mut buf = [0u8; 8192];
    loop {
        match recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
            Ok(0) => return Ok(None),
            Ok(n) => return decode(&buf[..n]).map(Some),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e).context("sync: reading a message"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let (a, b) = pair().unwrap();
        for m in [
            Msg::InitPid(4242),
            Msg::Go,
            Msg::Ready,
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
}
