//! process.terminal: the pty master handed over --console-socket in runc's protocol (received
//! here as conmon or containerd's shim would), `run` relaying through berth's own terminal,
//! and runc's errors for the combinations that cannot work.

use crate::common::*;
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use serde_json::{json, Value};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::Stdio;
use std::time::{Duration, Instant};

fn terminal_config(args: &[&str]) -> Value {
    let mut c = base_config(args);
    c["process"]["terminal"] = json!(true);
    c
}

/// Reads `master` until `until` appears in what was read, or `timeout` passes; returns it all.
pub fn read_until(master: &OwnedFd, until: &str, timeout: Duration) -> String {
    read_pty(master, Some(until), timeout)
}

/// What the pty's master reads until `until` is in it (None: until every slave is closed,
/// EIO), failing the test after `timeout`.
pub fn read_pty(master: &OwnedFd, until: Option<&str>, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while !until.is_some_and(|u| String::from_utf8_lossy(&out).contains(u)) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "timed out waiting for {}; got {:?}",
            until.map_or("a hangup".to_string(), |u| format!("{u:?}")),
            String::from_utf8_lossy(&out)
        );
        let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        if poll(&mut fds, PollTimeout::from(ms)).unwrap() == 0 {
            continue;
        }
        match nix::unistd::read(master, &mut buf) {
            Ok(0) | Err(Errno::EIO) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(Errno::EINTR | Errno::EAGAIN) => {}
            Err(e) => panic!("reading the pty master: {e}"),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn lines(out: &str) -> Vec<&str> {
    out.split(['\r', '\n']).filter(|l| !l.is_empty()).collect()
}

#[test]
fn console_socket_gets_the_pty() {
    let root = Root::new();
    let mut c = terminal_config(&["/bin/sh"]);
    c["process"]["consoleSize"] = json!({"height": 25, "width": 90});
    let b = Bundle::new(&c);
    let sock = FdSocket::new("console");
    let receiver = sock.receive();
    let id = unique("tty");
    root.ok(&[
        "create",
        "--bundle",
        b.dir.to_str().unwrap(),
        "--console-socket",
        sock.path.to_str().unwrap(),
        &id,
    ]);
    let (name, master) = receiver.join().unwrap();
    assert_eq!(name, b"/dev/ptmx", "runc sends the master's name with it");
    root.ok(&["start", &id]);

    // The typed line is echoed; the quotes keep the marker itself out of the echo.
    let cmd = "stty size; tty; ls -l /dev/console; echo \"do\"\"ne\"\n";
    nix::unistd::write(&master, cmd.as_bytes()).unwrap();
    let out = read_until(&master, "done", Duration::from_secs(20));
    let lines = lines(&out);
    assert!(
        lines.contains(&"25 90"),
        "window size from process.consoleSize: {out:?}"
    );
    let tty = lines
        .iter()
        .find(|l| l.starts_with("/dev/"))
        .unwrap_or_else(|| panic!("no tty line: {out:?}"));
    assert!(
        *tty == "/dev/console" || tty.starts_with("/dev/pts/"),
        "tty {tty:?}"
    );
    let console = lines
        .iter()
        .find(|l| l.ends_with("/dev/console") && !l.contains("ls -l"))
        .unwrap_or_else(|| panic!("no ls line: {out:?}"));
    assert!(
        console.starts_with('c') && console.contains(" 136,"),
        "/dev/console is a pts device: {console:?}"
    );

    nix::unistd::write(&master, b"exit 7\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while root.state(&id)["status"] != "stopped" {
        assert!(Instant::now() < deadline, "container did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    root.ok(&["delete", &id]);
    root.assert_clean(Some(&b));
}

#[test]
fn run_relays_through_berths_terminal() {
    let root = Root::new();
    let b = Bundle::new(&terminal_config(&[
        "/bin/sh",
        "-c",
        "read x; stty size; tty; echo \"got $x\"; read y; exit 3",
    ]));
    let ws = nix::pty::Winsize {
        ws_row: 33,
        ws_col: 77,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(&ws, None).unwrap();
    let before = nix::sys::termios::tcgetattr(&pty.slave).unwrap();
    let mut berth = root.cmd();
    berth
        .args(["run", "--bundle", b.dir.to_str().unwrap(), &unique("relay")])
        .stdin(Stdio::from(pty.slave.try_clone().unwrap()))
        .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
        .stderr(Stdio::from(pty.slave.try_clone().unwrap()));
    let mut child = berth.spawn().unwrap();
    drop(berth);
    nix::unistd::write(&pty.master, b"hello\n").unwrap();
    let out = read_until(&pty.master, "got hello", Duration::from_secs(20));
    // While it relays, berth's terminal is raw: no line editing or echo of its own.
    let during = nix::sys::termios::tcgetattr(&pty.slave).unwrap();
    use nix::sys::termios::LocalFlags;
    assert!(
        !during
            .local_flags
            .intersects(LocalFlags::ICANON | LocalFlags::ECHO),
        "berth's terminal is not raw: {:?}",
        during.local_flags
    );
    assert!(before
        .local_flags
        .contains(LocalFlags::ICANON | LocalFlags::ECHO));
    nix::unistd::write(&pty.master, b"\n").unwrap();
    let status = child.wait().unwrap();
    let lines = lines(&out);
    assert_eq!(
        status.code(),
        Some(3),
        "the container's exit status: {out:?}"
    );
    assert!(
        lines.contains(&"33 77"),
        "berth's terminal size is copied to the pty: {out:?}"
    );
    assert!(lines.iter().any(|l| l.starts_with("/dev/pts/")), "{out:?}");
    // Raw mode is undone when berth exits.
    let after = nix::sys::termios::tcgetattr(&pty.slave).unwrap();
    assert_eq!(after.local_flags, before.local_flags);
    assert_eq!(after.output_flags, before.output_flags);
    assert_eq!(after.input_flags, before.input_flags);
    root.assert_clean(Some(&b));
}

#[test]
fn run_relay_passes_window_changes_and_signals() {
    let root = Root::new();
    let script = "trap 'echo \"got \"TERM; exit 5' TERM; echo \"start\"\"ed\"; read x; stty size; \
                  echo \"re\"\"ady\"; while :; do sleep 0.1; done";
    let b = Bundle::new(&terminal_config(&["/bin/sh", "-c", script]));
    let ws = nix::pty::Winsize {
        ws_row: 33,
        ws_col: 77,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(&ws, None).unwrap();
    let mut berth = root.cmd();
    berth
        .args(["run", "--bundle", b.dir.to_str().unwrap(), &unique("winch")])
        .stdin(Stdio::from(pty.slave.try_clone().unwrap()))
        .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
        .stderr(Stdio::from(pty.slave.try_clone().unwrap()));
    let mut child = berth.spawn().unwrap();
    drop(berth);
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    read_until(&pty.master, "started", Duration::from_secs(20));
    // Berth's terminal is resized; berth is told as a terminal emulator's shell would be.
    let ws = nix::pty::Winsize {
        ws_row: 40,
        ws_col: 100,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize through the pointer, valid for the call.
    assert_eq!(
        unsafe { libc::ioctl(pty.master.as_raw_fd(), libc::TIOCSWINSZ, &ws) },
        0
    );
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGWINCH).unwrap();
    nix::unistd::write(&pty.master, b"go\n").unwrap();
    let out = read_until(&pty.master, "ready", Duration::from_secs(20));
    assert!(
        lines(&out).contains(&"40 100"),
        "the new size reached the pty: {out:?}"
    );
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let out = read_until(&pty.master, "got TERM", Duration::from_secs(20));
    assert_eq!(child.wait().unwrap().code(), Some(5), "{out:?}");
    root.assert_clean(Some(&b));
}

#[test]
fn pty_belongs_to_the_user_in_a_user_namespace() {
    let root = Root::new();
    let mut c = terminal_config(&["/bin/sh", "-c", "ls -ln /dev/console; echo \"do\"\"ne\""]);
    add_userns(&mut c, 100000);
    c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    let b = Bundle::new(&c);
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut berth = root.cmd();
    berth
        .args([
            "run",
            "--bundle",
            b.dir.to_str().unwrap(),
            &unique("userns"),
        ])
        .stdin(Stdio::from(pty.slave.try_clone().unwrap()))
        .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
        .stderr(Stdio::from(pty.slave.try_clone().unwrap()));
    let mut child = berth.spawn().unwrap();
    drop(berth);
    let out = read_until(&pty.master, "done", Duration::from_secs(20));
    assert!(child.wait().unwrap().success(), "{out:?}");
    let console = lines(&out)
        .into_iter()
        .find(|l| l.ends_with("/dev/console"))
        .unwrap_or_else(|| panic!("no ls line: {out:?}"));
    // Owner uid 1000 (the process user), group 5 (devpts gid=5), a pts device.
    let fields: Vec<&str> = console.split_whitespace().collect();
    assert_eq!(&fields[2..5], ["1000", "5", "136,"], "{console:?}");
    root.assert_clean(Some(&b));
}

/// `args` of berth with the bundle of `config` and a fresh id appended, expected to fail with
/// `want` and leave nothing behind.
fn expect_error(config: &Value, args: &[&str], want: &str) {
    let root = Root::new();
    let b = Bundle::new(config);
    let mut all: Vec<&str> = args.to_vec();
    let id = unique("ttyerr");
    all.extend(["--bundle", b.dir.to_str().unwrap(), &id]);
    let err = root.fails(&all);
    assert!(
        err.contains(want),
        "expected {want:?} from {args:?} in: {err}"
    );
    root.assert_clean(Some(&b));
}

#[test]
fn terminal_needs_a_console_socket_when_detached() {
    let want = "cannot allocate tty if berth will detach without setting console socket";
    let c = terminal_config(&["/bin/true"]);
    expect_error(&c, &["create"], want);
    expect_error(&c, &["run", "-d"], want);
}

#[test]
fn console_socket_needs_a_detached_terminal() {
    let want = "cannot use console socket if berth will not detach or allocate tty";
    let sock = FdSocket::new("console");
    let s = sock.path.to_str().unwrap();
    expect_error(
        &base_config(&["/bin/true"]),
        &["create", "--console-socket", s],
        want,
    );
    expect_error(
        &base_config(&["/bin/true"]),
        &["run", "-d", "--console-socket", s],
        want,
    );
    expect_error(
        &terminal_config(&["/bin/true"]),
        &["run", "--console-socket", s],
        want,
    );
}

#[test]
fn console_socket_that_does_not_exist() {
    let path = format!("/run/{}.sock", unique("nosock"));
    expect_error(
        &terminal_config(&["/bin/true"]),
        &["create", "--console-socket", &path],
        &format!("--console-socket {path}: connecting"),
    );
}

#[test]
fn terminal_without_devpts() {
    let mut c = terminal_config(&["/bin/true"]);
    c["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["destination"] != "/dev/pts");
    let sock = FdSocket::new("console");
    expect_error(
        &c,
        &["create", "--console-socket", sock.path.to_str().unwrap()],
        "process.terminal: opening /dev/ptmx",
    );
}

fn running_sleeper(root: &Root) -> (Bundle, String) {
    let b = Bundle::new(&base_config(&["/bin/sleep", "600"]));
    let id = unique("exectty");
    root.ok(&["run", "-d", "--bundle", b.dir.to_str().unwrap(), &id]);
    (b, id)
}

#[test]
fn exec_tty_with_a_console_socket() {
    let root = Root::new();
    let (_b, id) = running_sleeper(&root);
    let sock = FdSocket::new("console");
    let got = sock.receive();
    let mut cmd = root.cmd();
    cmd.args([
        "exec",
        "-d",
        "-t",
        "--console-socket",
        sock.path.to_str().unwrap(),
        &id,
        "/bin/sh",
        "-c",
        "tty; echo exec-tty-ok; sleep 1",
    ]);
    let out = output_via_files(&mut cmd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (name, master) = got.join().unwrap();
    assert_eq!(name, b"/dev/ptmx");
    let text = read_until(&master, "exec-tty-ok", Duration::from_secs(10));
    assert!(
        lines(&text).iter().any(|l| l.starts_with("/dev/pts/")),
        "{text:?}"
    );
    root.ok(&["delete", "-f", &id]);
}

#[test]
fn exec_tty_relays_through_berths_terminal() {
    let root = Root::new();
    let (_b, id) = running_sleeper(&root);
    let ws = nix::pty::Winsize {
        ws_row: 21,
        ws_col: 61,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(&ws, None).unwrap();
    let mut berth = root.cmd();
    berth
        .args([
            "exec",
            "-t",
            &id,
            "/bin/sh",
            "-c",
            "read x; stty size; echo \"got $x\"; exit 4",
        ])
        .stdin(Stdio::from(pty.slave.try_clone().unwrap()))
        .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
        .stderr(Stdio::from(pty.slave.try_clone().unwrap()));
    let mut child = berth.spawn().unwrap();
    drop(berth);
    nix::unistd::write(&pty.master, b"there\n").unwrap();
    let out = read_until(&pty.master, "got there", Duration::from_secs(20));
    assert_eq!(child.wait().unwrap().code(), Some(4), "{out:?}");
    assert!(lines(&out).contains(&"21 61"), "{out:?}");
    root.ok(&["delete", "-f", &id]);
}
