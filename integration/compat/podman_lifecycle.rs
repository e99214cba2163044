//! What podman's lifecycle scenarios (integration/managers/podman/lifecycle.rs) found, at the
//! runtime level: the words of an executable error decide podman's exit code.

use super::{differences, runc, runc_apt, Outcome};
use crate::common::{base_config, unique, Bundle, Root};

/// A directory, or a file no one may execute (a device), as the process: the error ends in
/// "permission denied", which podman 4.3 turns into exit code 126 ("OCI permission denied"),
/// for `run` and for `exec`, as with runc 1.1 (runc 1.5 says "is a directory" of a directory,
/// which makes podman's exec exit 255).
#[test]
fn executing_a_directory_or_a_device_is_permission_denied() {
    let sleeper = base_config(&["/bin/sleep", "100"]);
    let runtimes = [
        ("berth", Root::new()),
        ("runc 1.1.5", Root::of(&runc_apt())),
        ("runc 1.5.1", Root::of(&runc())),
    ];
    let running: Vec<(String, Bundle)> = runtimes
        .iter()
        .map(|(_, root)| {
            let id = unique("cx");
            let b = Bundle::new(&sleeper);
            root.ok(&["run", "-d", "--bundle", b.dir.to_str().unwrap(), &id]);
            (id, b)
        })
        .collect();
    for arg0 in ["/etc", "/dev/null"] {
        let want = format!("exec: \"{arg0}\": permission denied");
        let bundle = Bundle::new(&base_config(&[arg0]));
        let dir = bundle.dir.to_str().unwrap();
        let outcomes: Vec<(Outcome, Outcome)> = runtimes
            .iter()
            .zip(&running)
            .map(|((_, root), (id, _))| {
                let run = Outcome::of(root, &["run", "--bundle", dir, &unique("cx")]);
                let exec = Outcome::of(root, &["exec", id, arg0]);
                (run, exec)
            })
            .collect();
        let (b_run, b_exec) = &outcomes[0];
        assert_eq!(b_run.error(), want, "berth run {arg0}: {b_run:?}");
        assert_eq!(b_exec.error(), want, "berth exec {arg0}: {b_exec:?}");
        for ((name, _), (run, exec)) in runtimes.iter().zip(&outcomes).skip(1) {
            super::assert_same_code(&format!("run {arg0} vs {name}"), b_run, run);
            super::assert_same_code(&format!("exec {arg0} vs {name}"), b_exec, exec);
            let same = run.error().ends_with(&want) && exec.error().ends_with(&want);
            if !same {
                assert_eq!((*name, arg0), ("runc 1.5.1", "/etc"), "{run:?}\n{exec:?}");
                assert!(run.error().ends_with("is a directory"), "{run:?}");
                differences::intended("a directory as the command");
            }
        }
    }
    for ((_, root), (id, _)) in runtimes.iter().zip(&running) {
        root.ok(&["delete", "-f", id]);
    }
}

/// A FIFO with execute bits passes runc's check (Go's LookPath and access(X_OK)); execve
/// refuses it once the process is started, and the process reports that on its stderr and
/// exits 255, as runc's init does.
#[test]
fn executing_a_fifo_fails_at_execve() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(unique("fifo"));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("f");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o755)).unwrap();
    std::fs::set_permissions(&fifo, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut c = base_config(&["/f"]);
    c["mounts"].as_array_mut().unwrap().push(serde_json::json!({
        "destination": "/f", "type": "bind", "source": fifo, "options": ["bind", "ro"]
    }));
    let pair = super::Pair::new();
    let bundle = Bundle::new(&c);
    let dir_arg = bundle.dir.to_str().unwrap();
    let (b, r) = pair.both(|root, id| Outcome::of(root, &["run", "--bundle", dir_arg, id]));
    std::fs::remove_dir_all(&dir).unwrap();
    let want = (255, "exec /f: permission denied\n");
    assert_eq!((b.code, b.stderr.as_str()), want, "berth: {b:?}");
    assert_eq!((r.code, r.stderr.as_str()), want, "runc: {r:?}");
}

/// `kill ID SIG` of a created container: SIGHUP ends its init as SIGTERM and SIGINT do, and
/// so do the signals on which runc's Go init crashes (exit status 2); podman's stop of an
/// initialized container sends its stop signal there. (The exit statuses are checked by
/// init's unit tests: the init is not this process's child.)
#[test]
fn created_init_dies_on_hup_and_gos_crash_signals() {
    let pair = super::Pair::new();
    let bundle = Bundle::new(&base_config(&["/bin/sleep", "100"]));
    let dir = bundle.dir.to_str().unwrap();
    for sig in ["HUP", "QUIT", "ABRT", "SEGV", "SYS"] {
        let (b, r) = pair.both(|root, id| {
            root.ok(&["create", "--bundle", dir, id]);
            root.ok(&["kill", id, sig]);
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            let mut status = root.state(id)["status"].clone();
            while status != "stopped" && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(20));
                status = root.state(id)["status"].clone();
            }
            root.ok(&["delete", "-f", id]);
            status
        });
        assert_eq!(
            (b.as_str(), r.as_str()),
            (Some("stopped"), Some("stopped")),
            "{sig}"
        );
    }
}

/// Everything the pty master gives until the slave side is closed (EIO) or 20 s passed.
fn read_to_hangup(master: &std::os::fd::OwnedFd) -> String {
    use std::os::fd::AsFd as _;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while std::time::Instant::now() < deadline {
        let mut fds = [nix::poll::PollFd::new(
            master.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(100u16)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => {}
            Err(e) => panic!("poll: {e}"),
        }
        match nix::unistd::read(master, &mut buf) {
            Ok(0) | Err(nix::errno::Errno::EIO) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => panic!("reading the pty: {e}"),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A pty handed to a console socket (a manager's conmon or shim) keeps the kernel's ONLCR,
/// for create and for exec: the receiver sees "\r\n" as with runc, which clears ONLCR only
/// on a pty it relays itself (compat::process::terminal_output_without_onlcr).
#[test]
fn console_socket_pty_keeps_onlcr() {
    use crate::common::FdSocket;
    let pair = super::Pair::new();
    let mut c = base_config(&["/bin/sh", "-c", "echo one"]);
    c["process"]["terminal"] = serde_json::json!(true);
    let tty = Bundle::new(&c);
    let sleeper = Bundle::new(&base_config(&["/bin/sleep", "100"]));
    let (b, r) = pair.both(|root, id| {
        let sock = FdSocket::new("onlcr");
        let receiver = sock.receive();
        let bundle = tty.dir.to_str().unwrap();
        let sock_path = sock.path.to_str().unwrap();
        root.ok(&[
            "create",
            "--bundle",
            bundle,
            "--console-socket",
            sock_path,
            id,
        ]);
        let (_, master) = receiver.join().unwrap();
        root.ok(&["start", id]);
        let created = read_to_hangup(&master);
        root.ok(&["delete", "-f", id]);

        let sleeper_id = unique("onlcr");
        let sleeper_dir = sleeper.dir.to_str().unwrap();
        root.ok(&["run", "-d", "--bundle", sleeper_dir, &sleeper_id]);
        let receiver = sock.receive();
        root.ok(&[
            "exec",
            "-d",
            "--tty",
            "--console-socket",
            sock_path,
            &sleeper_id,
            "sh",
            "-c",
            "echo two",
        ]);
        let (_, master) = receiver.join().unwrap();
        let execd = read_to_hangup(&master);
        root.ok(&["delete", "-f", &sleeper_id]);
        (created, execd)
    });
    assert_eq!(b, r, "berth vs runc");
    assert_eq!(b, ("one\r\n".to_string(), "two\r\n".to_string()));
}
