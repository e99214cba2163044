//! A small, blocking D-Bus client: what the systemd cgroup driver needs (method calls to
//! systemd's manager, its JobRemoved signal), over a unix socket, without threads.
//!
//! Written by hand (and not zbus): zbus's blocking API runs an async executor on threads of
//! its own, and berth clones while single-threaded; libdbus/libsystemd would end the static
//! binary. The wire format is the D-Bus specification's ("Message Protocol"), little-endian.
//!
//! API SKELETON (to be implemented): the signatures below are the contract the systemd
//! driver (src/cgroups/systemd.rs) is written against.

use anyhow::Result;
use std::time::{Duration, Instant};

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
        todo!()
    }
    /// The string of a Str, ObjectPath or Signature; a Variant is looked through.
    pub fn as_str(&self) -> Option<&str> {
        todo!()
    }
    /// Any unsigned or signed integer that fits; a Variant is looked through.
    pub fn as_u64(&self) -> Option<u64> {
        todo!()
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

/// A connection to a bus, authenticated and registered (Hello).
pub struct Bus {}

impl Bus {
    /// The system bus: $DBUS_SYSTEM_BUS_ADDRESS, else unix:path=/run/dbus/system_bus_socket.
    /// Every later call is bounded by `timeout`.
    pub fn system(timeout: Duration) -> Result<Bus> {
        let _ = timeout;
        todo!()
    }

    /// The calling user's bus (a rootless systemd): $DBUS_SESSION_BUS_ADDRESS, else
    /// unix:path=$XDG_RUNTIME_DIR/bus.
    pub fn user(timeout: Duration) -> Result<Bus> {
        let _ = timeout;
        todo!()
    }

    /// A bus at a D-Bus address ("unix:path=/x", "unix:abstract=x"; the first usable entry
    /// of a ';'-separated list).
    pub fn connect(address: &str, timeout: Duration) -> Result<Bus> {
        let _ = (address, timeout);
        todo!()
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
        let _ = (destination, path, interface, member, args);
        todo!()
    }

    /// org.freedesktop.DBus.AddMatch, remembered for a reconnection.
    pub fn add_match(&mut self, rule: &str) -> Result<()> {
        let _ = rule;
        todo!()
    }

    /// The first signal (kept earlier or arriving before `deadline`) that `pred` accepts;
    /// the others stay kept. `what` names the wait in the timeout's error.
    pub fn wait_signal(
        &mut self,
        what: &str,
        deadline: Instant,
        pred: &mut dyn FnMut(&Message) -> bool,
    ) -> Result<Message> {
        let _ = (what, deadline, pred);
        todo!()
    }
}
