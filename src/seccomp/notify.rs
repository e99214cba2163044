//! Hands the seccomp notify fd to the agent at `linux.seccomp.listenerPath`: one connection,
//! one "container process state" JSON message with the fd in SCM_RIGHTS, then close, as the
//! spec (config-linux.md, "The Container Process State") and runc do.

use anyhow::{bail, Context as _, Result};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
use serde_json::{json, Value};
use std::io::{IoSlice, Write as _};
use std::os::fd::{AsRawFd as _, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Builds the container process state message for `state_json` (the container's state, as
/// `berth state` prints it, status "creating"). `pid` and `ociVersion` are taken from it;
/// `metadata` is left out when empty, as runc does.
pub fn process_state_message(state_json: &[u8], metadata: &str) -> Result<Vec<u8>> {
    let state: Value = serde_json::from_slice(state_json).context("parsing the container state")?;
    let pid = state
        .get("pid")
        .and_then(Value::as_i64)
        .context("the container state has no pid")?;
    let oci_version = state
        .get("ociVersion")
        .and_then(Value::as_str)
        .context("the container state has no ociVersion")?
        .to_owned();
    let mut message = json!({
        "ociVersion": oci_version,
        "fds": ["seccompFd"],
        "pid": pid,
        "state": state,
    });
    if !metadata.is_empty() {
        message["metadata"] = Value::from(metadata);
    }
    Ok(serde_json::to_vec(&message)?)
}

/// Connects to the agent's socket and sends `message` with `notify_fd`, then closes.
pub fn send(listener_path: &Path, notify_fd: BorrowedFd, message: &[u8]) -> Result<()> {
    let what = || format!("seccomp listener {}", listener_path.display());
    let mut sock = UnixStream::connect(listener_path)
        .with_context(|| format!("connecting to the {}", what()))?;
    let fds = [notify_fd.as_raw_fd()];
    let sent = sendmsg::<UnixAddr>(
        sock.as_raw_fd(),
        &[IoSlice::new(message)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .with_context(|| format!("sending the seccomp fd to the {}", what()))?;
    if sent == 0 {
        bail!("the {} accepted no data", what());
    }
    // The fd went with the first part; the spec allows the rest in further writes.
    sock.write_all(&message[sent..])
        .with_context(|| format!("sending the container state to the {}", what()))?;
    Ok(())
}
