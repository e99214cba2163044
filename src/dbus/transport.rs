//! The way to the bus: addresses, the unix socket (non-blocking: every wait is a poll with
//! the deadline, and no thread) and SASL EXTERNAL.

use super::{wire, Lost, Message};
use anyhow::{bail, ensure, Context, Result};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    connect, recv, send, socket, AddressFamily, MsgFlags, SockFlag, SockType, UnixAddr,
};
use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

const SYSTEM_BUS: &str = "unix:path=/run/dbus/system_bus_socket";

/// The system bus's address: the environment's, else the well-known socket.
pub(super) fn system_address(env: Option<String>) -> String {
    env.filter(|a| !a.is_empty())
        .unwrap_or_else(|| SYSTEM_BUS.to_string())
}

/// The user bus's address: $DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus.
pub(super) fn user_address(
    session: Option<String>,
    runtime_dir: Option<std::ffi::OsString>,
) -> Result<String> {
    if let Some(address) = session.filter(|a| !a.is_empty()) {
        return Ok(address);
    }
    match runtime_dir.filter(|d| !d.is_empty()) {
        Some(dir) => {
            let mut path = dir.as_bytes().to_vec();
            path.extend_from_slice(b"/bus");
            Ok(format!("unix:path={}", escape(&path)))
        }
        None => bail!(
            "dbus: the user bus: neither $DBUS_SESSION_BUS_ADDRESS nor $XDG_RUNTIME_DIR is set"
        ),
    }
}

/// A socket to connect to, from one entry of an address.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Endpoint {
    Path(Vec<u8>),
    Abstract(Vec<u8>),
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Path(p) => write!(f, "{}", String::from_utf8_lossy(p)),
            Endpoint::Abstract(name) => write!(f, "@{}", String::from_utf8_lossy(name)),
        }
    }
}

/// The unix sockets of an address list, in order: "unix:path=" and "unix:abstract="
/// entries (other keys, such as guid=, ignored; other transports skipped).
pub(super) fn parse_address(address: &str) -> Result<Vec<Endpoint>> {
    let mut endpoints = Vec::new();
    for entry in address.split(';') {
        let Some(params) = entry.strip_prefix("unix:") else {
            continue;
        };
        let mut endpoint = None;
        for param in params.split(',') {
            let Some((key, value)) = param.split_once('=') else {
                bail!("dbus: invalid bus address {address:?}: {param:?} is not key=value");
            };
            let value = unescape(value)
                .with_context(|| format!("dbus: invalid bus address {address:?}"))?;
            match key {
                "path" => endpoint = Some(Endpoint::Path(value)),
                "abstract" => endpoint = Some(Endpoint::Abstract(value)),
                _ => {}
            }
        }
        endpoints.extend(endpoint);
    }
    ensure!(
        !endpoints.is_empty(),
        "dbus: no unix:path= or unix:abstract= entry in the bus address {address:?}"
    );
    Ok(endpoints)
}

/// An address value's bytes ("%2f" escapes).
fn unescape(value: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut bytes = value.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next(), bytes.next()];
            let hex = hex.iter().flatten().map(|&b| b as char).collect::<String>();
            let byte = u8::from_str_radix(&hex, 16).ok().filter(|_| hex.len() == 2);
            out.push(byte.with_context(|| format!("invalid escape %{hex} in {value:?}"))?);
        } else {
            out.push(b);
        }
    }
    Ok(out)
}

/// The bytes as an address value: the specification's optionally-escaped bytes kept.
fn escape(value: &[u8]) -> String {
    value
        .iter()
        .map(|&b| match b {
            b'-' | b'_' | b'/' | b'.' | b'\\' | b'*' => (b as char).to_string(),
            _ if b.is_ascii_alphanumeric() => (b as char).to_string(),
            _ => format!("%{b:02x}"),
        })
        .collect()
}

/// SASL EXTERNAL. First with no initial response, answering the server's DATA with an empty
/// DATA: the server then takes our identity from the socket's credentials, which is right
/// even in a user namespace (rootless podman) where geteuid() is not the uid the server
/// sees. A server that rejects that is sent geteuid() (as hex of its decimal text).
pub(super) fn authenticate(conn: &mut Conn, deadline: Instant, timeout: Duration) -> Result<()> {
    let exchange = |conn: &mut Conn, line: &[u8]| -> Result<String> {
        ensure!(
            conn.send_all(line, deadline)?,
            "not sent within {timeout:?}"
        );
        conn.read_line(deadline)?
            .with_context(|| format!("no answer within {timeout:?}"))
    };
    let mut reply = exchange(conn, b"\0AUTH EXTERNAL\r\n")?;
    if reply == "DATA" || reply.starts_with("DATA ") {
        reply = exchange(conn, b"DATA\r\n")?;
    }
    if reply.starts_with("REJECTED") {
        let uid = nix::unistd::geteuid().as_raw().to_string();
        let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
        reply = exchange(conn, format!("AUTH EXTERNAL {hex}\r\n").as_bytes())?;
    }
    ensure!(reply.starts_with("OK "), "refused: {reply:?}");
    ensure!(
        conn.send_all(b"BEGIN\r\n", deadline)?,
        "not sent within {timeout:?}"
    );
    Ok(())
}

/// The socket and what was read from it but not yet taken.
pub(super) struct Conn {
    fd: OwnedFd,
    buf: Vec<u8>,
}

impl Conn {
    pub(super) fn connect(endpoint: &Endpoint, deadline: Instant) -> Result<Conn> {
        let addr = match endpoint {
            Endpoint::Path(p) => UnixAddr::new(OsStr::from_bytes(p)),
            Endpoint::Abstract(name) => UnixAddr::new_abstract(name),
        }?;
        // Non-blocking: every wait is a poll with the deadline.
        let flags = SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK;
        let fd = socket(AddressFamily::Unix, SockType::Stream, flags, None)?;
        loop {
            match connect(fd.as_raw_fd(), &addr) {
                Ok(()) => break,
                Err(Errno::EINTR) => {}
                // The server's listen backlog is full: it is busy, not gone.
                Err(Errno::EAGAIN) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Conn {
            fd,
            buf: Vec::new(),
        })
    }

    /// Waits until the socket is ready for `flags`: false when the deadline passes.
    fn wait(&self, flags: PollFlags, deadline: Instant) -> Result<bool> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            // Rounded up, so that a rest under a millisecond does not spin.
            let ms = left.as_micros().div_ceil(1000);
            let timeout = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
            let mut fds = [PollFd::new(self.fd.as_fd(), flags)];
            match poll(&mut fds, timeout) {
                Ok(0) | Err(Errno::EINTR) => {}
                Ok(_) => return Ok(true),
                Err(e) => return Err(e).context("poll"),
            }
        }
    }

    /// false when the deadline passed first.
    pub(super) fn send_all(&mut self, bytes: &[u8], deadline: Instant) -> Result<bool> {
        let mut sent = 0;
        while sent < bytes.len() {
            // MSG_NOSIGNAL: a closed peer is EPIPE here, not a SIGPIPE killing berth.
            match send(self.fd.as_raw_fd(), &bytes[sent..], MsgFlags::MSG_NOSIGNAL) {
                Ok(n) => sent += n,
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => {
                    if !self.wait(PollFlags::POLLOUT, deadline)? {
                        return Ok(false);
                    }
                }
                Err(e @ (Errno::EPIPE | Errno::ECONNRESET)) => bail!(Lost(e.desc().into())),
                Err(e) => return Err(e).context("send"),
            }
        }
        Ok(true)
    }

    /// Reads what is there (waiting for something): false when the deadline passed first.
    fn fill(&mut self, deadline: Instant) -> Result<bool> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match recv(self.fd.as_raw_fd(), &mut chunk, MsgFlags::empty()) {
                Ok(0) => bail!(Lost("closed by the bus".into())),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(true);
                }
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => {
                    if !self.wait(PollFlags::POLLIN, deadline)? {
                        return Ok(false);
                    }
                }
                Err(e @ Errno::ECONNRESET) => bail!(Lost(e.desc().into())),
                Err(e) => return Err(e).context("recv"),
            }
        }
    }

    /// A line of the authentication (without its CRLF); None when the deadline passed.
    pub(super) fn read_line(&mut self, deadline: Instant) -> Result<Option<String>> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..end + 2).take(end).collect();
                return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
            }
            ensure!(self.buf.len() < 16 * 1024, "authentication line too long");
            if !self.fill(deadline)? {
                return Ok(None);
            }
        }
    }

    /// The next message and its flags; None when the deadline passed.
    pub(super) fn read_message(&mut self, deadline: Instant) -> Result<Option<(Message, u8)>> {
        loop {
            if let Some(fixed) = self.buf.first_chunk::<16>() {
                let len = wire::message_len(fixed)?;
                if self.buf.len() >= len {
                    let bytes: Vec<u8> = self.buf.drain(..len).collect();
                    match wire::decode(&bytes)? {
                        Some(m) => return Ok(Some(m)),
                        None => continue, // an unknown type of message is ignored
                    }
                }
            }
            if !self.fill(deadline)? {
                return Ok(None);
            }
        }
    }
}
