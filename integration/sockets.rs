//! The sockets container managers hand berth: --pidfd-socket (a working pidfd of the init or
//! the exec'd process, in runc's protocol) and NOTIFY_SOCKET (sd_notify from the container).

use crate::common::*;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn pidfd_kill(pidfd: &OwnedFd) {
    // SAFETY (test): pidfd_send_signal on a pidfd we own.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            libc::SIGKILL,
            0usize,
            0,
        )
    };
    assert_eq!(
        r,
        0,
        "pidfd_send_signal: {}",
        std::io::Error::last_os_error()
    );
}

fn wait_stopped(root: &Root, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while root.state(id)["status"] != "stopped" {
        assert!(Instant::now() < deadline, "{id} did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn pidfd_socket_gets_a_working_pidfd_of_init() {
    let root = Root::new();
    let b = Bundle::new(&base_config(&["/bin/sleep", "600"]));
    let l = FdSocket::new("pidfd");
    let got = l.receive();
    let id = unique("pidfd");
    root.ok(&[
        "create",
        "--pidfd-socket",
        l.path.to_str().unwrap(),
        "--bundle",
        b.dir.to_str().unwrap(),
        &id,
    ]);
    let (data, pidfd) = got.join().unwrap();
    assert_eq!(data, b"standard");
    // The pidfd is the init's: killing through it stops the container.
    pidfd_kill(&pidfd);
    wait_stopped(&root, &id);
    root.ok(&["delete", &id]);
}

#[test]
fn pidfd_socket_with_exec() {
    let root = Root::new();
    let b = Bundle::new(&base_config(&["/bin/sleep", "600"]));
    let id = unique("pidfdx");
    root.ok(&["run", "-d", "--bundle", b.dir.to_str().unwrap(), &id]);
    let l = FdSocket::new("pidfdx");
    let got = l.receive();
    let pf = b.dir.join("exec.pid");
    root.ok(&[
        "exec",
        "-d",
        "--pidfd-socket",
        l.path.to_str().unwrap(),
        "--pid-file",
        pf.to_str().unwrap(),
        &id,
        "/bin/sleep",
        "600",
    ]);
    let (data, pidfd) = got.join().unwrap();
    assert_eq!(data, b"setns");
    let pid: i32 = std::fs::read_to_string(&pf)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    pidfd_kill(&pidfd);
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z")) {
        assert!(
            Instant::now() < deadline,
            "the exec'd process survived its pidfd's SIGKILL"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    root.ok(&["delete", "-f", &id]);
}

#[test]
fn pidfd_socket_that_does_not_exist_leaves_nothing() {
    let root = Root::new();
    let b = Bundle::new(&base_config(&["/bin/true"]));
    let err = root.fails(&[
        "create",
        "--pidfd-socket",
        "/run/nonexistent-berth.sock",
        "--bundle",
        b.dir.to_str().unwrap(),
        &unique("nopidfd"),
    ]);
    assert!(err.contains("--pidfd-socket"), "{err}");
    root.assert_clean(Some(&b));
}

#[test]
fn notify_socket_passes_ready_on() {
    use std::os::unix::net::UnixDatagram;
    let root = Root::new();
    let mut c = base_config(&["/bin/sleep", "600"]);
    add_probe(&mut c);
    let b = Bundle::new(&c);
    let host = PathBuf::from("/run").join(format!("{}.sock", unique("notify")));
    let host_sock = UnixDatagram::bind(&host).unwrap();
    let id = unique("notify");
    let mut create = root.cmd();
    create
        .env("NOTIFY_SOCKET", &host)
        .args(["create", "--bundle", b.dir.to_str().unwrap(), &id]);
    assert!(output_via_files(&mut create).status.success());
    let mut start = root.cmd();
    start.env("NOTIFY_SOCKET", &host).args(["start", &id]);
    let started = std::thread::spawn(move || output_via_files(&mut start));
    // The container's side: the socket berth bound, seen from inside at $NOTIFY_SOCKET.
    let container_sock = root.dir.join(&id).join("notify/notify.sock");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !container_sock.exists() {
        assert!(
            Instant::now() < deadline,
            "start never bound the notify socket"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let seen = root.ok(&[
        "exec",
        &id,
        "/bin/sh",
        "-c",
        "test -S /run/notify/notify.sock && echo present",
    ]);
    assert_eq!(seen, "present\n");
    assert!(!started.is_finished(), "start returns only after READY=");
    // READY= comes from inside the container, through the socket at its $NOTIFY_SOCKET.
    let sent = root.ok(&[
        "exec",
        &id,
        PROBE,
        "notify",
        "/run/notify/notify.sock",
        "STATUS=starting\nREADY=1\n",
    ]);
    assert_eq!(sent, "sent\n");
    let out = started.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pid = root.state(&id)["pid"].as_i64().unwrap();
    let mut buf = [0u8; 256];
    let n = host_sock.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"READY=1");
    let n = host_sock.recv(&mut buf).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&buf[..n]),
        format!("MAINPID={pid}\n")
    );
    // The process sees NOTIFY_SOCKET pointing at that socket.
    let init_env = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    assert!(String::from_utf8_lossy(&init_env).contains("NOTIFY_SOCKET=/run/notify/notify.sock"));
    root.ok(&["delete", "-f", &id]);
    let _ = std::fs::remove_file(&host);
}
