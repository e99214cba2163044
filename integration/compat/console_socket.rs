//! A terminal handed to a container manager over --console-socket (containerd's shim, and
//! dockerd through it; conmon): the pty keeps the kernel's default modes, as runc leaves
//! them, so `docker run -it` and `ctr run -t` show the container's "\n" as "\r\n". Only
//! runc's own relay (`run`/`exec` in the foreground) clears ONLCR
//! (process::terminal_output_without_onlcr).

use super::Pair;
use crate::common::{base_config, Bundle, FdSocket, Root};
use serde_json::json;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

/// What the container writes on its terminal, read from the master until every slave is
/// closed (EIO): the bytes as they reach a manager.
fn read_to_hangup(master: &OwnedFd) -> String {
    crate::terminal::read_pty(master, None, Duration::from_secs(20))
}

const SCRIPT: &str = "echo one; stty -a 2>/dev/null | grep -o .onlcr";

fn wait_stopped(root: &Root, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while root.state(id)["status"] != "stopped" {
        assert!(Instant::now() < deadline, "{id} did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn init_terminal_over_console_socket_keeps_onlcr() {
    let pair = Pair::new();
    let mut c = base_config(&["/bin/sh", "-c", SCRIPT]);
    c["process"]["terminal"] = json!(true);
    let b = Bundle::new(&c);
    let dir = b.dir.to_str().unwrap();
    let (ob, or) = pair.both(|root, id| {
        let sock = FdSocket::new("console");
        let receiver = sock.receive();
        let path = sock.path.to_str().unwrap();
        root.ok(&["create", "--bundle", dir, "--console-socket", path, id]);
        let (_, master) = receiver.join().unwrap();
        root.ok(&["start", id]);
        let out = read_to_hangup(&master);
        wait_stopped(root, id);
        root.ok(&["delete", id]);
        out
    });
    assert_eq!(ob, "one\r\n onlcr\r\n", "berth; runc: {or:?}");
    assert_eq!(ob, or, "berth vs runc");
}

#[test]
fn exec_terminal_over_console_socket_keeps_onlcr() {
    let pair = Pair::new();
    let b = Bundle::new(&base_config(&["sleep", "60"]));
    let dir = b.dir.to_str().unwrap();
    let (ob, or) = pair.both(|root, id| {
        root.ok(&["run", "-d", "--bundle", dir, id]);
        let sock = FdSocket::new("console");
        let receiver = sock.receive();
        let path = sock.path.to_str().unwrap();
        root.ok(&[
            "exec",
            "-t",
            "-d",
            "--console-socket",
            path,
            id,
            "/bin/sh",
            "-c",
            SCRIPT,
        ]);
        let (_, master) = receiver.join().unwrap();
        let out = read_to_hangup(&master);
        root.ok(&["delete", "-f", id]);
        out
    });
    assert_eq!(ob, "one\r\n onlcr\r\n", "berth; runc: {or:?}");
    assert_eq!(ob, or, "berth vs runc");
}

/// The contrast: `exec -t` without a console socket is relayed by the runtime itself, which
/// clears ONLCR (runc's recvtty), as `run` does (process::terminal_output_without_onlcr).
#[test]
fn exec_terminal_relayed_by_the_runtime_clears_onlcr() {
    use std::process::Stdio;
    let pair = Pair::new();
    let b = Bundle::new(&base_config(&["sleep", "60"]));
    let dir = b.dir.to_str().unwrap();
    let (ob, or) = pair.both(|root, id| {
        root.ok(&["run", "-d", "--bundle", dir, id]);
        let pty = nix::pty::openpty(None, None).unwrap();
        // The caller's own terminal adds no "\r": what arrives is the container pty's output.
        let mut tio = nix::sys::termios::tcgetattr(&pty.slave).unwrap();
        tio.output_flags
            .remove(nix::sys::termios::OutputFlags::OPOST);
        nix::sys::termios::tcsetattr(&pty.slave, nix::sys::termios::SetArg::TCSANOW, &tio).unwrap();
        let mut cmd = root.cmd();
        cmd.args(["exec", "-t", id, "/bin/sh", "-c", SCRIPT])
            .stdin(Stdio::from(pty.slave.try_clone().unwrap()))
            .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
            .stderr(Stdio::from(pty.slave.try_clone().unwrap()));
        let mut child = cmd.spawn().unwrap();
        drop(cmd);
        drop(pty.slave);
        let out = read_to_hangup(&pty.master);
        assert!(child.wait().unwrap().success(), "{out:?}");
        root.ok(&["delete", "-f", id]);
        out
    });
    assert_eq!(ob, "one\n-onlcr\n", "berth; runc: {or:?}");
    // runc's relay sometimes adds "\r" of its own: compare the mode only.
    assert!(or.contains("-onlcr"), "runc: {or:?}");
}
