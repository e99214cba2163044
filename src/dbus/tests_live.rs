//! The client against a private dbus-daemon (which checks every message it is sent and
//! disconnects a client that marshals badly) and against scripted fake buses (SASL
//! fallback, timeouts, lost connections, a direct peer). dbus-daemon comes from the package
//! dbus-daemon (`make deps`): without it these tests fail.

use super::tests::{arr, complex_body, raw_message, s, v};
use super::wire;
use super::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const T: Duration = Duration::from_secs(20);

/// A directory of its own under /tmp, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("berth-dbus-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A private dbus-daemon listening at `listen`, killed on drop.
struct Daemon {
    child: Child,
    address: String,
}

impl Daemon {
    fn start(dir: &Path, listen: &str) -> Daemon {
        let config = dir.join("bus.conf");
        let text = format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>{listen}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#
        );
        std::fs::write(&config, text).unwrap();
        let mut child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // It complains that it may not raise its fd limit, harmlessly.
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (package dbus-daemon, `make deps`)");
        // Printed once it listens.
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(
            line.starts_with("unix:"),
            "dbus-daemon printed {line:?} (config {config:?})"
        );
        Daemon {
            child,
            address: line.trim().to_string(),
        }
    }

    fn at_path(dir: &Path) -> Daemon {
        Daemon::start(dir, &format!("unix:path={}", dir.join("bus").display()))
    }

    fn stop(mut self) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bus_call(bus: &mut Bus, member: &str, args: &[Value]) -> Result<Vec<Value>> {
    bus.call(BUS_NAME, BUS_PATH, BUS_NAME, member, args)
}

#[test]
fn daemon_hello_and_replies() {
    let dir = TempDir::new("hello");
    let daemon = Daemon::at_path(&dir.0);
    assert!(daemon.address.contains(",guid="), "{}", daemon.address);
    let mut bus = Bus::connect(&daemon.address, T).unwrap();
    let me = bus.unique_name().to_string();
    assert!(me.starts_with(":1."), "{me}");

    let id = bus_call(&mut bus, "GetId", &[]).unwrap();
    let [Value::Str(id)] = id.as_slice() else {
        panic!("{id:?}")
    };
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );

    let names = bus_call(&mut bus, "ListNames", &[]).unwrap();
    let [Value::Array { elem, items }] = names.as_slice() else {
        panic!("{names:?}")
    };
    assert_eq!(elem, "s");
    assert!(
        items.contains(&s(BUS_NAME)) && items.contains(&s(&me)),
        "{items:?}"
    );

    let pid = bus_call(&mut bus, "GetConnectionUnixProcessID", &[s(&me)]).unwrap();
    assert_eq!(pid, vec![Value::Uint32(std::process::id())]);
    // An a{sv} of variants.
    let creds = bus_call(&mut bus, "GetConnectionCredentials", &[s(&me)]).unwrap();
    let [Value::Array { elem, items }] = creds.as_slice() else {
        panic!("{creds:?}")
    };
    assert_eq!(elem, "{sv}");
    let field = |name: &str| {
        items.iter().find_map(|e| match e {
            Value::DictEntry(k, v) if k.as_str() == Some(name) => v.as_u64(),
            _ => None,
        })
    };
    assert_eq!(field("ProcessID"), Some(u64::from(std::process::id())));
    assert_eq!(
        field("UnixUserID"),
        Some(u64::from(nix::unistd::geteuid().as_raw()))
    );

    // The bus's NameAcquired arrived while waiting for replies: kept for wait_signal.
    let is_acquired = |m: &Message| {
        m.member.as_deref() == Some("NameAcquired") && m.body.first() == Some(&s(&me))
    };
    assert!(bus.signals.iter().any(is_acquired), "{:?}", bus.signals);
    let got = bus
        .wait_signal("NameAcquired", Instant::now(), &mut |m| is_acquired(m))
        .unwrap();
    assert_eq!(got.kind, Kind::Signal);
    assert_eq!(got.sender.as_deref(), Some(BUS_NAME));
    assert!(!bus.signals.iter().any(is_acquired));
}

#[test]
fn daemon_error_reply_is_a_dbus_error() {
    let dir = TempDir::new("error");
    let daemon = Daemon::at_path(&dir.0);
    let mut bus = Bus::connect(&daemon.address, T).unwrap();
    let error = bus_call(&mut bus, "NoSuchMethod", &[]).unwrap_err();
    let dbus = error.downcast_ref::<Error>().expect("a dbus::Error");
    assert_eq!(dbus.name, "org.freedesktop.DBus.Error.UnknownMethod");
    assert!(dbus.message.contains("NoSuchMethod"), "{}", dbus.message);
    assert!(error.root_cause().downcast_ref::<Error>().is_some());
    let text = format!("{error:#}");
    assert!(
        text.starts_with(
            "dbus: org.freedesktop.DBus.NoSuchMethod: org.freedesktop.DBus.Error.UnknownMethod: "
        ),
        "{text}"
    );
    // The connection goes on.
    bus_call(&mut bus, "GetId", &[]).unwrap();
}

/// dbus-daemon checks every message (alignment, padding, lengths, signatures, UTF-8) and
/// disconnects a client that sends a bad one: a complex body reaching the routing (which
/// finds no such name) proves its marshalling.
#[test]
fn daemon_accepts_complex_bodies() {
    let dir = TempDir::new("complex");
    let daemon = Daemon::at_path(&dir.0);
    let mut bus = Bus::connect(&daemon.address, T).unwrap();
    let me = bus.unique_name().to_string();
    let error = bus
        .call(
            "org.example.berth.Absent",
            "/org/example/berth",
            "org.example.berth.Test",
            "Take",
            &complex_body(false),
        )
        .unwrap_err();
    let dbus = error.downcast_ref::<Error>().expect("a dbus::Error");
    assert_eq!(dbus.name, "org.freedesktop.DBus.Error.ServiceUnknown");
    // Still the same connection: no disconnection, no reconnection.
    bus_call(&mut bus, "GetId", &[]).unwrap();
    assert_eq!(bus.unique_name(), me);

    // The control: a bad message (a boolean 2) and the daemon hangs up.
    let mut bad = raw_message("b", &[2, 0, 0, 0]);
    bad[1] = 1; // a method call (to the bus, which would answer UnknownMethod)
    bad[8..12].copy_from_slice(&1000u32.to_le_bytes());
    bus.send(&bad, Instant::now() + T).unwrap();
    let error = bus
        .call_once(BUS_NAME, BUS_PATH, BUS_NAME, "GetId", &[])
        .unwrap_err();
    assert!(error.downcast_ref::<Lost>().is_some(), "{error:#}");
}

#[test]
fn daemon_match_rule_brings_signals() {
    let dir = TempDir::new("match");
    let daemon = Daemon::at_path(&dir.0);
    let mut a = Bus::connect(&daemon.address, T).unwrap();
    let name = format!("org.example.berth.M{}", std::process::id());
    a.add_match(&name_owner_changed(&name)).unwrap();
    let b = take_name(&daemon.address, &name);
    let got = wait_owner_changed(&mut a, &name);
    assert_eq!(got.body, vec![s(&name), s(""), s(b.unique_name())]);
}

/// A signal marshalled by another implementation (libdbus's dbus-send, little-endian
/// here) decodes to the values it was given.
#[test]
fn daemon_signal_from_dbus_send_decodes() {
    let dir = TempDir::new("send");
    let daemon = Daemon::at_path(&dir.0);
    let mut bus = Bus::connect(&daemon.address, T).unwrap();
    bus.add_match("type='signal',interface='org.example.berth.Sig'")
        .unwrap();
    let status = Command::new("dbus-send")
        .arg(format!("--bus={}", daemon.address))
        .args(["--type=signal", "/org/example", "org.example.berth.Sig.Hi"])
        .args([
            "string:héllo",
            "int16:-2",
            "uint16:3",
            "int32:-4",
            "uint32:5",
        ])
        .args([
            "int64:-6",
            "uint64:7",
            "double:1.5",
            "byte:9",
            "boolean:true",
        ])
        .args([
            "objpath:/a/b",
            "array:string:x,y",
            "array:uint64:",
            "dict:string:int32:k,1",
        ])
        .args(["variant:uint64:42"])
        .status()
        .expect("dbus-send (package dbus-bin, with dbus-daemon)");
    assert!(status.success());
    let mut pred = |m: &Message| m.member.as_deref() == Some("Hi");
    let got = bus
        .wait_signal("Hi", Instant::now() + T, &mut pred)
        .unwrap();
    assert_eq!(got.path.as_deref(), Some("/org/example"));
    assert_eq!(got.interface.as_deref(), Some("org.example.berth.Sig"));
    assert!(
        got.sender.as_deref().unwrap_or("").starts_with(":1."),
        "{got:?}"
    );
    let entry = Value::DictEntry(Box::new(s("k")), Box::new(Value::Int32(1)));
    let expected = vec![
        s("héllo"),
        Value::Int16(-2),
        Value::Uint16(3),
        Value::Int32(-4),
        Value::Uint32(5),
        Value::Int64(-6),
        Value::Uint64(7),
        Value::Double(1.5),
        Value::Byte(9),
        Value::Bool(true),
        Value::ObjectPath("/a/b".into()),
        arr("s", vec![s("x"), s("y")]),
        arr("t", vec![]),
        arr("{si}", vec![entry]),
        v(Value::Uint64(42)),
    ];
    assert_eq!(got.body, expected);
}

fn name_owner_changed(name: &str) -> String {
    format!("type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged',arg0='{name}'")
}

/// A second connection that owns `name`.
fn take_name(address: &str, name: &str) -> Bus {
    let mut b = Bus::connect(address, T).unwrap();
    let reply = bus_call(&mut b, "RequestName", &[s(name), Value::Uint32(0)]).unwrap();
    assert_eq!(reply, vec![Value::Uint32(1)]); // the primary owner
    b
}

fn wait_owner_changed(bus: &mut Bus, name: &str) -> Message {
    let mut pred = |m: &Message| {
        m.member.as_deref() == Some("NameOwnerChanged") && m.body.first() == Some(&s(name))
    };
    bus.wait_signal("NameOwnerChanged", Instant::now() + T, &mut pred)
        .unwrap()
}

/// A method call to us is answered with UnknownMethod (berth serves nothing) while we wait.
#[test]
fn daemon_calls_to_us_are_refused() {
    let dir = TempDir::new("refuse");
    let daemon = Daemon::at_path(&dir.0);
    let mut a = Bus::connect(&daemon.address, T).unwrap();
    let name = format!("org.example.berth.C{}", std::process::id());
    a.add_match(&name_owner_changed(&name)).unwrap();
    let (address, me, taken) = (
        daemon.address.clone(),
        a.unique_name().to_string(),
        name.clone(),
    );
    let caller = std::thread::spawn(move || {
        let mut b = Bus::connect(&address, T).unwrap();
        let error = b.call(&me, "/x", "org.example.X", "Ping", &[]).unwrap_err();
        // Tells `a` that the call is over.
        bus_call(&mut b, "RequestName", &[s(&taken), Value::Uint32(0)]).unwrap();
        error.downcast_ref::<Error>().cloned()
    });
    wait_owner_changed(&mut a, &name);
    let error = caller.join().unwrap().expect("a dbus::Error");
    assert_eq!(error.name, "org.freedesktop.DBus.Error.UnknownMethod");
    assert_eq!(
        error.message,
        "berth serves no methods (org.example.X.Ping)"
    );
}

#[test]
fn daemon_at_an_abstract_address() {
    let dir = TempDir::new("abstract");
    let listen = format!("unix:abstract={}", dir.0.join("bus").display());
    let daemon = Daemon::start(&dir.0, &listen);
    assert!(daemon.address.starts_with(&listen), "{}", daemon.address);
    let mut bus =
        Bus::connect(&format!("tcp:host=localhost,port=1;{}", daemon.address), T).unwrap();
    bus_call(&mut bus, "GetId", &[]).unwrap();
}

/// The bus restarted: the next call reconnects, says Hello, adds the match rules again and
/// is sent again; with no bus to reconnect to, the call fails naming the socket.
#[test]
fn daemon_restart_reconnects_once() {
    let dir = TempDir::new("restart");
    let daemon = Daemon::at_path(&dir.0);
    let mut a = Bus::connect(&daemon.address, T).unwrap();
    let name = format!("org.example.berth.R{}", std::process::id());
    a.add_match(&name_owner_changed(&name)).unwrap();
    daemon.stop();

    let daemon = Daemon::at_path(&dir.0);
    bus_call(&mut a, "GetId", &[]).unwrap();
    let b = take_name(&daemon.address, &name);
    let got = wait_owner_changed(&mut a, &name);
    assert_eq!(got.body, vec![s(&name), s(""), s(b.unique_name())]);
    drop(b);
    daemon.stop();

    let error = bus_call(&mut a, "GetId", &[]).unwrap_err();
    let socket = dir.0.join("bus");
    let wanted = format!(
        "dbus: org.freedesktop.DBus.GetId: reconnecting: dbus: connect to {}: ",
        socket.display()
    );
    assert!(format!("{error:#}").starts_with(&wanted), "{error:#}");
}

/// A loss found while waiting for a signal is an error (the signal may be lost with it);
/// the next call reconnects.
#[test]
fn daemon_lost_while_waiting_for_a_signal() {
    let dir = TempDir::new("lost-wait");
    let daemon = Daemon::at_path(&dir.0);
    let mut bus = Bus::connect(&daemon.address, T).unwrap();
    daemon.stop();
    let mut never = |_: &Message| false;
    let error = bus
        .wait_signal("JobRemoved", Instant::now() + T, &mut never)
        .unwrap_err();
    assert_eq!(
        format!("{error:#}"),
        "dbus: JobRemoved: connection to the bus lost: closed by the bus"
    );
    let error = bus
        .wait_signal("JobRemoved", Instant::now() + T, &mut never)
        .unwrap_err();
    assert_eq!(
        format!("{error:#}"),
        "dbus: JobRemoved: connection to the bus lost: earlier"
    );
    let _daemon = Daemon::at_path(&dir.0);
    bus_call(&mut bus, "GetId", &[]).unwrap();
}

#[test]
fn sasl_refused() {
    let dir = TempDir::new("refused");
    let path = dir.0.join("bus");
    let listener = UnixListener::bind(&path).unwrap();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(T)).unwrap();
        let mut w = stream.try_clone().unwrap();
        let mut lines = Vec::new();
        for line in BufReader::new(stream).split(b'\n') {
            let Ok(line) = line else { break };
            lines.push(
                String::from_utf8_lossy(&line)
                    .trim_matches(['\0', '\r'])
                    .to_string(),
            );
            trickle(&mut w, b"REJECTED EXTERNAL\r\n");
        }
        lines
    });
    let error = Bus::connect(&format!("unix:path={}", path.display()), T)
        .err()
        .expect("refused");
    assert_eq!(
        format!("{error:#}"),
        format!(
            "dbus: authenticating to {}: refused: \"REJECTED EXTERNAL\"",
            path.display()
        )
    );
    let lines = server.join().unwrap();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0], "AUTH EXTERNAL");
    assert!(lines[1].starts_with("AUTH EXTERNAL 3"), "{lines:?}");
}

#[test]
fn connect_errors_name_the_socket() {
    let error = Bus::connect("unix:path=/nonexistent/berth-dbus", T)
        .err()
        .unwrap();
    assert_eq!(
        format!("{error:#}"),
        "dbus: connect to /nonexistent/berth-dbus: ENOENT: No such file or directory"
    );
}

/// What a fake bus does after Hello with a call.
#[derive(Clone, Copy)]
enum Then {
    /// Never answer (the client times out).
    Silence,
    /// Close the connection (the client has lost it).
    Close,
}

/// A scripted bus at `dir/bus` serving `conns` connections one after the other: SASL
/// (refusing AUTH EXTERNAL without an identity if `reject_empty`), Hello answered with
/// ":1.7", then `then`. Records the client's SASL lines and counts connections.
struct Fake {
    address: String,
    lines: Arc<Mutex<Vec<String>>>,
    accepted: Arc<AtomicUsize>,
    thread: std::thread::JoinHandle<()>,
}

impl Fake {
    fn start(dir: &Path, conns: usize, reject_empty: bool, then: Then) -> Fake {
        let path = dir.join("bus");
        let listener = UnixListener::bind(&path).unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (l, a) = (lines.clone(), accepted.clone());
        // Non-blocking with a deadline: a client that connects fewer times than expected
        // fails the test rather than hanging it.
        listener.set_nonblocking(true).unwrap();
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + T;
            for _ in 0..conns {
                let stream = loop {
                    match listener.accept() {
                        Ok((stream, _)) => break stream,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            assert!(Instant::now() < deadline, "no connection within {T:?}");
                            std::thread::sleep(Duration::from_millis(10));
                        }
                        Err(e) => panic!("accept: {e}"),
                    }
                };
                a.fetch_add(1, Ordering::SeqCst);
                stream.set_nonblocking(false).unwrap();
                stream.set_read_timeout(Some(T)).unwrap();
                serve(stream, reject_empty, then, &l);
            }
        });
        Fake {
            address: format!("unix:path={}", path.display()),
            lines,
            accepted,
            thread,
        }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

/// Written a byte at a time, so that the client reads lines and messages in pieces.
fn trickle(w: &mut UnixStream, bytes: &[u8]) {
    for b in bytes {
        if w.write_all(std::slice::from_ref(b)).is_err() {
            return;
        }
    }
}

fn serve(stream: UnixStream, reject_empty: bool, then: Then, lines: &Mutex<Vec<String>>) {
    let mut w = stream.try_clone().unwrap();
    let mut r = BufReader::new(stream);
    let mut nul = [1u8];
    if r.read_exact(&mut nul).is_err() {
        return;
    }
    assert_eq!(nul, [0]);
    const OK: &str = "OK 0123456789abcdef0123456789abcdef";
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end_matches("\r\n").to_string();
        lines.lock().unwrap().push(line.clone());
        let answer = match line.as_str() {
            "AUTH EXTERNAL" if reject_empty => "REJECTED EXTERNAL",
            "AUTH EXTERNAL" => "DATA",
            "DATA" => OK,
            l if l.starts_with("AUTH EXTERNAL ") => OK,
            "BEGIN" => break,
            _ => "ERROR",
        };
        trickle(&mut w, format!("{answer}\r\n").as_bytes());
    }
    let mut serial = 0;
    loop {
        let mut fixed = [0u8; 16];
        if r.read_exact(&mut fixed).is_err() {
            return;
        }
        let mut bytes = vec![0; wire::message_len(&fixed).unwrap()];
        bytes[..16].copy_from_slice(&fixed);
        if r.read_exact(&mut bytes[16..]).is_err() {
            return;
        }
        let (call, _) = wire::decode(&bytes).unwrap().unwrap();
        let member = call.member.clone().unwrap_or_default();
        lines.lock().unwrap().push(format!("call {member}"));
        if member == "Hello" {
            serial += 1;
            let reply = Message {
                kind: Kind::MethodReturn,
                serial,
                reply_serial: Some(call.serial),
                path: None,
                interface: None,
                member: None,
                error_name: None,
                sender: None,
                body: vec![s(":1.7")],
            };
            trickle(&mut w, &wire::encode(&reply, Some(":1.7"), 0).unwrap());
            continue;
        }
        match then {
            Then::Silence => {}
            Then::Close => return,
        }
    }
}

#[test]
fn sasl_without_initial_response_then_data() {
    let dir = TempDir::new("sasl");
    let fake = Fake::start(&dir.0, 1, false, Then::Silence);
    let bus = Bus::connect(&fake.address, T).unwrap();
    assert_eq!(bus.unique_name(), ":1.7");
    drop(bus);
    fake.thread.join().unwrap();
    assert_eq!(
        fake.lines.lock().unwrap().clone(),
        ["AUTH EXTERNAL", "DATA", "BEGIN", "call Hello"]
    );
}

/// A direct connection (systemd's private socket) says no Hello and sends no match rule:
/// there is no bus daemon to take them.
#[test]
fn a_peer_gets_no_hello_and_no_match_rules() {
    let dir = TempDir::new("peer");
    let fake = Fake::start(&dir.0, 1, false, Then::Close);
    let mut bus = Bus::peer(&fake.address, T).unwrap();
    bus.add_match("type='signal'").unwrap();
    let e = bus_call(&mut bus, "Ping", &[]).unwrap_err();
    assert!(format!("{e:#}").contains("Ping"), "{e:#}");
    drop(bus);
    let lines = fake.lines.clone();
    fake.thread.join().unwrap();
    assert_eq!(
        lines.lock().unwrap().clone(),
        ["AUTH EXTERNAL", "DATA", "BEGIN", "call Ping"]
    );
}

#[test]
fn sasl_falls_back_to_the_euid() {
    let dir = TempDir::new("sasl-uid");
    let fake = Fake::start(&dir.0, 1, true, Then::Silence);
    let bus = Bus::connect(&fake.address, T).unwrap();
    assert_eq!(bus.unique_name(), ":1.7");
    drop(bus);
    let uid = nix::unistd::geteuid().as_raw().to_string();
    let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        fake.lines(),
        [
            "AUTH EXTERNAL".to_string(),
            format!("AUTH EXTERNAL {hex}"),
            "BEGIN".into(),
            "call Hello".into()
        ]
    );
    fake.thread.join().unwrap();
}

#[test]
fn a_call_without_reply_times_out_naming_it() {
    let dir = TempDir::new("timeout");
    let fake = Fake::start(&dir.0, 1, false, Then::Silence);
    let mut bus = Bus::connect(&fake.address, T).unwrap();
    bus.timeout = Duration::from_millis(300);
    let start = Instant::now();
    let error = bus
        .call("org.example.Slow", "/", "org.example.Slow", "Wait", &[])
        .unwrap_err();
    let waited = start.elapsed();
    assert_eq!(
        format!("{error:#}"),
        "dbus: org.example.Slow.Wait: no reply within 300ms"
    );
    assert!(
        waited >= Duration::from_millis(300) && waited < T,
        "{waited:?}"
    );
    // A signal wait is bounded the same way.
    let error = bus
        .wait_signal(
            "JobRemoved of job 7",
            Instant::now() + Duration::from_millis(200),
            &mut |_| true,
        )
        .unwrap_err();
    // (The duration is the deadline's distance from the wait's start, to the millisecond.)
    let text = format!("{error:#}");
    assert!(
        text.starts_with("dbus: JobRemoved of job 7: no signal within "),
        "{text}"
    );
    drop(bus);
    fake.thread.join().unwrap();
}

#[test]
fn a_socket_that_never_answers_times_out() {
    let dir = TempDir::new("mute");
    let path = dir.0.join("bus");
    // Bound and listening (connections queue in its backlog), never answering.
    let _listener = UnixListener::bind(&path).unwrap();
    let start = Instant::now();
    let error = Bus::connect(
        &format!("unix:path={}", path.display()),
        Duration::from_millis(300),
    )
    .err()
    .expect("no bus");
    assert_eq!(
        format!("{error:#}"),
        format!(
            "dbus: authenticating to {}: no answer within 300ms",
            path.display()
        )
    );
    assert!(start.elapsed() < T);
}

/// Lost, reconnected, lost again: an error, after exactly one reconnection.
#[test]
fn a_second_loss_is_an_error() {
    let dir = TempDir::new("lost");
    let fake = Fake::start(&dir.0, 2, false, Then::Close);
    let mut bus = Bus::connect(&fake.address, T).unwrap();
    let error = bus
        .call("org.example.Gone", "/", "org.example.Gone", "Call", &[])
        .unwrap_err();
    assert!(error.downcast_ref::<Lost>().is_some(), "{error:#}");
    assert_eq!(
        format!("{error:#}"),
        "dbus: org.example.Gone.Call: connection to the bus lost: closed by the bus"
    );
    fake.thread.join().unwrap();
    assert_eq!(fake.accepted.load(Ordering::SeqCst), 2);
}
