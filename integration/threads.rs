//! Issue 12 section 2: berth clones only while it is single-threaded. `run` in the
//! foreground passes the container's READY= on (NOTIFY_SOCKET) in its wait loop, not in a
//! thread, so its poststop hooks are cloned from a single-threaded berth.

use crate::common::*;
use serde_json::json;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// A caller's NOTIFY_SOCKET: bound here, removed on drop.
struct HostSocket {
    path: PathBuf,
    sock: UnixDatagram,
}

impl HostSocket {
    fn new() -> HostSocket {
        let path = PathBuf::from("/run").join(format!("{}.sock", unique("notify")));
        let sock = UnixDatagram::bind(&path).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        HostSocket { path, sock }
    }

    fn recv(&self) -> String {
        let mut buf = [0u8; 256];
        let n = self
            .sock
            .recv(&mut buf)
            .expect("a message on NOTIFY_SOCKET");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    /// Fills the socket's queue, so that a blocking send to it would block for ever.
    fn fill(&self) {
        let s = UnixDatagram::unbound().unwrap();
        s.set_nonblocking(true).unwrap();
        s.connect(&self.path).unwrap();
        while s.send(b"FILLER=1").is_ok() {}
    }
}

impl Drop for HostSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Starts `berth run` of `config` in the foreground with NOTIFY_SOCKET; returns the id and
/// the thread that waits for it.
fn run_in_background(
    root: &Root,
    config: &serde_json::Value,
    host: &Path,
) -> (String, Bundle, std::thread::JoinHandle<Output>) {
    let b = Bundle::new(config);
    let id = unique("notify-run");
    let mut cmd = root.cmd();
    cmd.env("NOTIFY_SOCKET", host).stdin(Stdio::null()).args([
        "run",
        "--bundle",
        b.dir.to_str().unwrap(),
        &id,
    ]);
    (
        id,
        b,
        std::thread::spawn(move || output_via_files(&mut cmd)),
    )
}

/// Sends READY=1 as the container would, once `run` bound the socket in its state dir.
fn send_ready(root: &Root, id: &str) {
    let container_sock = root.dir.join(id).join("notify/notify.sock");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !container_sock.exists() {
        assert!(
            Instant::now() < deadline,
            "run never bound the notify socket"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    UnixDatagram::unbound()
        .unwrap()
        .send_to(b"STATUS=up\nREADY=1\n", &container_sock)
        .unwrap();
}

/// `run` in the foreground passes READY= and MAINPID on while it waits, with and without a
/// terminal relay.
#[test]
fn run_in_the_foreground_passes_ready_on() {
    for terminal in [false, true] {
        let root = Root::new();
        let host = HostSocket::new();
        let mut c = base_config(&["/bin/sleep", "600"]);
        c["process"]["terminal"] = json!(terminal);
        let (id, _b, run) = run_in_background(&root, &c, &host.path);
        send_ready(&root, &id);
        assert_eq!(host.recv(), "READY=1", "terminal {terminal}");
        let pid = root.state(&id)["pid"].as_i64().unwrap();
        assert_eq!(
            host.recv(),
            format!("MAINPID={pid}\n"),
            "terminal {terminal}"
        );
        root.ok(&["kill", &id, "KILL"]);
        let out = run.join().unwrap();
        assert_eq!(
            out.status.code(),
            Some(137),
            "terminal {terminal}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        root.assert_clean(None);
    }
}

/// A caller whose socket is full does not hold `run` up, and the poststop hook is cloned
/// from a berth with one thread (a thread blocked sending READY= would still be there).
#[test]
fn poststop_is_cloned_from_a_single_threaded_run() {
    let root = Root::new();
    let host = HostSocket::new();
    host.fill();
    let marker = std::env::temp_dir().join(unique("threads"));
    let mut c = base_config(&["/bin/sleep", "600"]);
    let script = format!("grep Threads: /proc/$PPID/status > {}", marker.display());
    c["hooks"] = json!({"poststop": [{"path": "/bin/sh", "args": ["sh", "-c", script]}]});
    let (id, _b, run) = run_in_background(&root, &c, &host.path);
    send_ready(&root, &id);
    root.ok(&["kill", &id, "KILL"]);
    let out = run.join().unwrap();
    let stderr = messages(&String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(137), "{stderr}");
    let threads = std::fs::read_to_string(&marker).unwrap_or_default();
    let _ = std::fs::remove_file(&marker);
    assert_eq!(
        threads.split_whitespace().collect::<Vec<_>>(),
        ["Threads:", "1"],
        "{stderr}"
    );
    root.assert_clean(None);
}

/// `start` with a caller whose socket is full: the READY= the container sent is passed on
/// once the caller reads, even if the container has exited meanwhile.
#[test]
fn start_passes_ready_on_once_the_caller_has_room() {
    let root = Root::new();
    let host = HostSocket::new();
    let b = Bundle::new(&base_config(&["/bin/sleep", "600"]));
    let id = unique("notify-start");
    let mut create = root.cmd();
    create.env("NOTIFY_SOCKET", &host.path).args([
        "create",
        "--bundle",
        b.dir.to_str().unwrap(),
        &id,
    ]);
    assert!(output_via_files(&mut create).status.success());
    let pid = root.state(&id)["pid"].as_i64().unwrap();
    host.fill();
    let mut start = root.cmd();
    start.env("NOTIFY_SOCKET", &host.path).args(["start", &id]);
    let started = std::thread::spawn(move || output_via_files(&mut start));
    send_ready(&root, &id);
    // Killed once running: a kill before the exec would fail `start` itself.
    let deadline = Instant::now() + Duration::from_secs(20);
    while root.state(&id)["status"] != "running" {
        assert!(Instant::now() < deadline, "{id} never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    root.ok(&["kill", &id, "KILL"]);
    while root.state(&id)["status"] != "stopped" {
        assert!(Instant::now() < deadline, "{id} never stopped");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut got = host.recv();
    while got == "FILLER=1" {
        got = host.recv();
    }
    assert_eq!(got, "READY=1");
    assert_eq!(host.recv(), format!("MAINPID={pid}\n"));
    let out = started.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        messages(&String::from_utf8_lossy(&out.stderr))
    );
    root.ok(&["delete", &id]);
    root.assert_clean(None);
}
