//! A small, blocking D-Bus client: what the systemd cgroup driver needs (method calls to
//! systemd's manager, its JobRemoved signal), over a unix socket, without threads.
//!
//! Written by hand (and not zbus): zbus's blocking API runs an async executor on threads of
//! its own, and berth clones while single-threaded; libdbus/libsystemd would end the static
//! binary. The wire format is the D-Bus specification's ("Message Protocol"), little-endian.
//!
//! The systemd driver (src/cgroups/systemd.rs) is written against this API.
//!
//! - `wire`: marshalling (signatures, values, headers; lengths and nesting limited as the
//!   specification says; anything malformed from the peer is an error, never a panic).
//! - here: the unix socket (non-blocking, every wait a poll with a deadline), SASL EXTERNAL,
//!   Hello, calls with their replies, signals kept for `wait_signal`, one reconnection.

// Used by the systemd cgroup driver (issue 13).
#![allow(dead_code)]

mod wire;

#[cfg(test)]
mod tests;

use anyhow::{anyhow, bail, ensure, Context, Result};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    connect, recv, send, socket, AddressFamily, MsgFlags, SockFlag, SockType, UnixAddr,
};
use std::collections::VecDeque;
use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

const BUS_NAME: &str = "org.freedesktop.DBus";
const BUS_PATH: &str = "/org/freedesktop/DBus";
const SYSTEM_BUS: &str = "unix:path=/run/dbus/system_bus_socket";

/// A D-Bus value. Arrays carry their element signature so that an empty array marshals.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Byte(u8),
    Bool(bool),
    Int16(i16),
    Uint16(u16),
    Int32(i32),
    Uint32(u32),
    Int64(i64),
    Uint64(u64),
    Double(f64),
    Str(String),
    ObjectPath(String),
    Signature(String),
    /// 'h': an index into the message's file descriptors (berth negotiates none, so it only
    /// ever sees this decoded, never with a descriptor behind it).
    UnixFd(u32),
    /// `elem`: the element type's signature, e.g. "(sv)" or "s".
    Array {
        elem: String,
        items: Vec<Value>,
    },
    Struct(Vec<Value>),
    DictEntry(Box<Value>, Box<Value>),
    Variant(Box<Value>),
}

impl Value {
    /// The value's type signature ("s", "a(sv)", "v", ...).
    pub fn signature(&self) -> String {
        let mut s = String::new();
        self.write_signature(&mut s);
        s
    }

    fn write_signature(&self, out: &mut String) {
        let code = match self {
            Value::Byte(_) => "y",
            Value::Bool(_) => "b",
            Value::Int16(_) => "n",
            Value::Uint16(_) => "q",
            Value::Int32(_) => "i",
            Value::Uint32(_) => "u",
            Value::Int64(_) => "x",
            Value::Uint64(_) => "t",
            Value::Double(_) => "d",
            Value::Str(_) => "s",
            Value::ObjectPath(_) => "o",
            Value::Signature(_) => "g",
            Value::UnixFd(_) => "h",
            Value::Variant(_) => "v",
            Value::Array { elem, .. } => {
                out.push('a');
                elem
            }
            Value::Struct(fields) => {
                out.push('(');
                fields.iter().for_each(|f| f.write_signature(out));
                ")"
            }
            Value::DictEntry(k, v) => {
                out.push('{');
                k.write_signature(out);
                v.write_signature(out);
                "}"
            }
        };
        out.push_str(code);
    }

    /// The string of a Str, ObjectPath or Signature; a Variant is looked through.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::ObjectPath(s) | Value::Signature(s) => Some(s),
            Value::Variant(v) => v.as_str(),
            _ => None,
        }
    }

    /// Any unsigned or signed integer that fits; a Variant is looked through.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Byte(n) => Some(n.into()),
            Value::Uint16(n) => Some(n.into()),
            Value::Uint32(n) => Some(n.into()),
            Value::Uint64(n) => Some(n),
            Value::Int16(n) => n.try_into().ok(),
            Value::Int32(n) => n.try_into().ok(),
            Value::Int64(n) => n.try_into().ok(),
            Value::Variant(ref v) => v.as_u64(),
            _ => None,
        }
    }
}

/// What kind of message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    MethodCall,
    MethodReturn,
    Error,
    Signal,
}

/// A received message: its header fields and body.
#[derive(Debug, Clone)]
pub struct Message {
    pub kind: Kind,
    pub serial: u32,
    pub reply_serial: Option<u32>,
    pub path: Option<String>,
    pub interface: Option<String>,
    pub member: Option<String>,
    pub error_name: Option<String>,
    pub sender: Option<String>,
    pub body: Vec<Value>,
}

/// An error reply from the peer, kept as the error's root cause so that a caller can
/// `downcast_ref::<dbus::Error>()` and match the name (e.g.
/// "org.freedesktop.systemd1.UnitExists"). Displays as "NAME: message".
#[derive(Debug, Clone)]
pub struct Error {
    pub name: String,
    pub message: String,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

impl std::error::Error for Error {}

/// The connection was closed under us (EOF, EPIPE, ECONNRESET): worth one reconnection.
#[derive(Debug)]
struct Lost(String);

impl std::fmt::Display for Lost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "connection to the bus lost: {}", self.0)
    }
}

impl std::error::Error for Lost {}

/// A connection to a bus, authenticated and registered (Hello).
pub struct Bus {
    address: String,
    timeout: Duration,
    /// None once lost (or broken by a malformed message): the next call reconnects.
    conn: Option<Conn>,
    unique_name: String,
    serial: u32,
    /// AddMatch rules, added again on a reconnection.
    matches: Vec<String>,
    /// Signals received while waiting for something else, for `wait_signal`.
    signals: VecDeque<Message>,
}

impl Bus {
    /// The system bus: $DBUS_SYSTEM_BUS_ADDRESS, else unix:path=/run/dbus/system_bus_socket.
    /// Every later call is bounded by `timeout`.
    pub fn system(timeout: Duration) -> Result<Bus> {
        let env = std::env::var("DBUS_SYSTEM_BUS_ADDRESS").ok();
        Bus::connect(&system_address(env), timeout)
    }

    /// The calling user's bus (a rootless systemd): $DBUS_SESSION_BUS_ADDRESS, else
    /// unix:path=$XDG_RUNTIME_DIR/bus.
    pub fn user(timeout: Duration) -> Result<Bus> {
        let address = user_address(
            std::env::var("DBUS_SESSION_BUS_ADDRESS").ok(),
            std::env::var_os("XDG_RUNTIME_DIR"),
        )?;
        Bus::connect(&address, timeout)
    }

    /// A bus at a D-Bus address ("unix:path=/x", "unix:abstract=x"; the first usable entry
    /// of a ';'-separated list).
    pub fn connect(address: &str, timeout: Duration) -> Result<Bus> {
        let mut bus = Bus {
            address: address.to_string(),
            timeout,
            conn: None,
            unique_name: String::new(),
            serial: 0,
            matches: Vec::new(),
            signals: VecDeque::new(),
        };
        bus.open()?;
        Ok(bus)
    }

    /// The name the bus gave this connection in reply to Hello (":1.42").
    pub fn unique_name(&self) -> &str {
        &self.unique_name
    }

    /// Calls `member` and waits (within the timeout) for its reply's body. An error reply is
    /// an `Error`. Signals arriving meanwhile are kept for `wait_signal`. A connection found
    /// lost (EOF, EPIPE, ECONNRESET) is re-established once and the call sent again (with
    /// the match rules added so far).
    pub fn call(
        &mut self,
        destination: &str,
        path: &str,
        interface: &str,
        member: &str,
        args: &[Value],
    ) -> Result<Vec<Value>> {
        let mut reconnected = false;
        loop {
            if self.conn.is_none() {
                self.open()
                    .with_context(|| format!("dbus: {interface}.{member}: reconnecting"))?;
                reconnected = true;
            }
            match self.call_once(destination, path, interface, member, args) {
                Err(e) if !reconnected && e.downcast_ref::<Lost>().is_some() => continue,
                result => return result,
            }
        }
    }

    /// org.freedesktop.DBus.AddMatch, remembered for a reconnection.
    pub fn add_match(&mut self, rule: &str) -> Result<()> {
        let args = [Value::Str(rule.to_string())];
        self.call(BUS_NAME, BUS_PATH, BUS_NAME, "AddMatch", &args)?;
        if !self.matches.iter().any(|m| m == rule) {
            self.matches.push(rule.to_string());
        }
        Ok(())
    }

    /// The first signal (kept earlier or arriving before `deadline`) that `pred` accepts;
    /// the others stay kept. `what` names the wait in the timeout's error.
    pub fn wait_signal(
        &mut self,
        what: &str,
        deadline: Instant,
        pred: &mut dyn FnMut(&Message) -> bool,
    ) -> Result<Message> {
        if let Some(i) = self.signals.iter().position(&mut *pred) {
            return Ok(self.signals.remove(i).expect("the position found"));
        }
        let start = Instant::now();
        loop {
            // A connection lost earlier may have lost the signal too: no reconnection here.
            let received = match self.conn {
                None => Err(anyhow!(Lost("before the wait".into()))),
                Some(_) => self.receive(deadline),
            };
            match received.with_context(|| format!("dbus: {what}"))? {
                Some(m) if m.kind == Kind::Signal => {
                    if pred(&m) {
                        return Ok(m);
                    }
                    self.signals.push_back(m);
                }
                Some(_) => {} // a late reply to a call that timed out
                None => {
                    let waited = deadline.saturating_duration_since(start);
                    // To the millisecond: "10s", not "9.999987s".
                    let waited = Duration::from_millis(((waited.as_micros() + 500) / 1000) as u64);
                    bail!("dbus: {what}: no signal within {waited:?}");
                }
            }
        }
    }

    /// Connects (again), authenticates, says Hello and adds the match rules.
    fn open(&mut self) -> Result<()> {
        self.conn = None;
        let deadline = Instant::now() + self.timeout;
        let mut error = None;
        for endpoint in parse_address(&self.address)? {
            let conn = Conn::connect(&endpoint, deadline)
                .with_context(|| format!("dbus: connect to {endpoint}"));
            match conn {
                Ok(mut conn) => {
                    authenticate(&mut conn, deadline, self.timeout)
                        .with_context(|| format!("dbus: authenticating to {endpoint}"))?;
                    self.conn = Some(conn);
                    break;
                }
                Err(e) => error = Some(e),
            }
        }
        if self.conn.is_none() {
            return Err(error.expect("parse_address returns at least one endpoint"));
        }
        let hello = self.call_once(BUS_NAME, BUS_PATH, BUS_NAME, "Hello", &[])?;
        self.unique_name = match hello.first().and_then(Value::as_str) {
            Some(name) => name.to_string(),
            None => bail!("dbus: Hello: reply without a name: {hello:?}"),
        };
        for rule in self.matches.clone() {
            let args = [Value::Str(rule)];
            self.call_once(BUS_NAME, BUS_PATH, BUS_NAME, "AddMatch", &args)?;
        }
        Ok(())
    }

    /// One call on the current connection (present).
    fn call_once(
        &mut self,
        destination: &str,
        path: &str,
        interface: &str,
        member: &str,
        args: &[Value],
    ) -> Result<Vec<Value>> {
        let name = format!("{interface}.{member}");
        self.serial = self.serial.checked_add(1).unwrap_or(1);
        let serial = self.serial;
        let msg = Message {
            kind: Kind::MethodCall,
            serial,
            reply_serial: None,
            path: Some(path.to_string()),
            interface: Some(interface.to_string()),
            member: Some(member.to_string()),
            error_name: None,
            sender: None,
            body: args.to_vec(),
        };
        let bytes =
            wire::encode(&msg, Some(destination), 0).with_context(|| format!("dbus: {name}"))?;
        let deadline = Instant::now() + self.timeout;
        self.send(&bytes, deadline)
            .with_context(|| format!("dbus: {name}"))?;
        loop {
            let Some(reply) = self
                .receive(deadline)
                .with_context(|| format!("dbus: {name}"))?
            else {
                bail!("dbus: {name}: no reply within {:?}", self.timeout);
            };
            match reply.kind {
                Kind::Signal => self.signals.push_back(reply),
                // A late reply to an earlier call that timed out is dropped.
                _ if reply.reply_serial != Some(serial) => {}
                Kind::Error => {
                    let error = Error {
                        name: reply.error_name.unwrap_or_default(),
                        message: reply
                            .body
                            .first()
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                    };
                    return Err(anyhow!(error).context(format!("dbus: {name}")));
                }
                _ => return Ok(reply.body),
            }
        }
    }

    /// Sends a whole message; a connection that failed (or timed out half-way: the stream
    /// would be out of step) is dropped.
    fn send(&mut self, bytes: &[u8], deadline: Instant) -> Result<()> {
        let conn = self.conn.as_mut().context("not connected")?;
        let sent = conn.send_all(bytes, deadline);
        if !matches!(sent, Ok(true)) {
            self.conn = None;
        }
        ensure!(sent?, "not sent within {:?}", self.timeout);
        Ok(())
    }

    /// The next reply or signal before the deadline (None when it passes). Method calls to
    /// us are answered with UnknownMethod: berth serves nothing. Any error drops the
    /// connection: a malformed message leaves the stream out of step.
    fn receive(&mut self, deadline: Instant) -> Result<Option<Message>> {
        loop {
            let conn = self.conn.as_mut().context("not connected")?;
            let (msg, flags) = match conn.read_message(deadline) {
                Ok(Some(m)) => m,
                Ok(None) => return Ok(None),
                Err(e) => {
                    self.conn = None;
                    return Err(e);
                }
            };
            if msg.kind != Kind::MethodCall {
                return Ok(Some(msg));
            }
            if flags & wire::NO_REPLY_EXPECTED == 0 {
                self.refuse(&msg, deadline)?;
            }
        }
    }

    fn refuse(&mut self, call: &Message, deadline: Instant) -> Result<()> {
        self.serial = self.serial.checked_add(1).unwrap_or(1);
        let text = format!(
            "berth serves no methods ({}.{})",
            call.interface.as_deref().unwrap_or(""),
            call.member.as_deref().unwrap_or("")
        );
        let reply = Message {
            kind: Kind::Error,
            serial: self.serial,
            reply_serial: Some(call.serial),
            path: None,
            interface: None,
            member: None,
            error_name: Some("org.freedesktop.DBus.Error.UnknownMethod".into()),
            sender: None,
            body: vec![Value::Str(text)],
        };
        let bytes = wire::encode(&reply, call.sender.as_deref(), wire::NO_REPLY_EXPECTED)?;
        self.send(&bytes, deadline)
    }
}

/// The system bus's address: the environment's, else the well-known socket.
fn system_address(env: Option<String>) -> String {
    env.filter(|a| !a.is_empty())
        .unwrap_or_else(|| SYSTEM_BUS.to_string())
}

/// The user bus's address: $DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus.
fn user_address(
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
enum Endpoint {
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
fn parse_address(address: &str) -> Result<Vec<Endpoint>> {
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
fn authenticate(conn: &mut Conn, deadline: Instant, timeout: Duration) -> Result<()> {
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
struct Conn {
    fd: OwnedFd,
    buf: Vec<u8>,
}

impl Conn {
    fn connect(endpoint: &Endpoint, deadline: Instant) -> Result<Conn> {
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
    fn send_all(&mut self, bytes: &[u8], deadline: Instant) -> Result<bool> {
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
    fn read_line(&mut self, deadline: Instant) -> Result<Option<String>> {
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
    fn read_message(&mut self, deadline: Instant) -> Result<Option<(Message, u8)>> {
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
