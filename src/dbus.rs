//! A small, blocking D-Bus client: what the systemd cgroup driver needs (method calls to
//! systemd's manager, its JobRemoved signal), over a unix socket, without threads.
//!
//! Written by hand (and not zbus): zbus's blocking API runs an async executor on threads of
//! its own, and berth clones while single-threaded; libdbus/libsystemd would end the static
//! binary. The wire format is the D-Bus specification's ("Message Protocol"): written
//! little-endian, read in either endianness.
//!
//! The systemd driver (src/cgroups/systemd.rs) is written against this API.
//!
//! - `wire`: marshalling (signatures, values, headers; lengths and nesting limited as the
//!   specification says; anything malformed from the peer is an error, never a panic).
//! - `transport`: bus addresses, the unix socket (non-blocking, every wait a poll with a
//!   deadline), SASL EXTERNAL.
//! - here: Hello, calls with their replies, signals kept for `wait_signal`, one
//!   reconnection.

mod transport;
mod wire;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_live;

use anyhow::{anyhow, bail, ensure, Context, Result};
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use transport::{authenticate, parse_address, system_address, user_address, Conn};

const BUS_NAME: &str = "org.freedesktop.DBus";
const BUS_PATH: &str = "/org/freedesktop/DBus";

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

    #[cfg(test)]
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
pub struct Lost(String);

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
    /// A direct connection to one peer (no bus daemon: no Hello, no match rules).
    peer: bool,
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
        Bus::open_new(address, timeout, false)
    }

    /// A direct connection to one peer that speaks D-Bus without a bus daemon (systemd's
    /// private socket, /run/systemd/private): no Hello, and no match rules (such a peer
    /// sends its signals to every direct connection).
    pub fn peer(address: &str, timeout: Duration) -> Result<Bus> {
        Bus::open_new(address, timeout, true)
    }

    /// Whether this is a direct connection to one peer (`Bus::peer`).
    pub fn is_peer(&self) -> bool {
        self.peer
    }

    fn open_new(address: &str, timeout: Duration, peer: bool) -> Result<Bus> {
        let mut bus = Bus {
            address: address.to_string(),
            timeout,
            conn: None,
            unique_name: String::new(),
            serial: 0,
            matches: Vec::new(),
            signals: VecDeque::new(),
            peer,
        };
        bus.open()?;
        Ok(bus)
    }

    #[cfg(test)]
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
        if self.peer {
            return Ok(());
        }
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
                None => Err(anyhow!(Lost("earlier".into()))),
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
        let registered = self.register();
        if registered.is_err() {
            // Not half-registered (without all the match rules): the next call starts over.
            self.conn = None;
        }
        registered
    }

    /// Hello, and the match rules again.
    fn register(&mut self) -> Result<()> {
        if self.peer {
            return Ok(());
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
