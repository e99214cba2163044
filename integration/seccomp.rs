//! Seccomp, checked by the syscalls a container makes: errno actions, kill, argument
//! filters, LOG, a notify agent that answers for the container, and the default profile.

use crate::common::*;
use serde_json::{json, Value};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

fn with_seccomp(script: &str, seccomp: Value) -> Value {
    let mut c = base_config(&["/bin/sh", "-c", script]);
    c["linux"]["seccomp"] = seccomp;
    c
}

#[test]
fn errno_action_with_chosen_errno() {
    let root = Root::new();
    let c = with_seccomp(
        "mkdir /tmp/x 2>&1; echo rc=$?",
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18}
        ]}),
    );
    let (code, out, err) = root.run(&c);
    assert_eq!(code, 0, "{err}");
    // errno 18 is EXDEV.
    assert!(
        out.contains("Invalid cross-device link") && out.contains("rc=1"),
        "{out}"
    );
}

#[test]
fn kill_process_action_kills() {
    let root = Root::new();
    let c = with_seccomp(
        "echo before; exec mkdir /tmp/x",
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}
        ]}),
    );
    let (code, out, _) = root.run(&c);
    // The container's process itself makes the call and dies of SIGSYS.
    assert_eq!(code, 128 + 31, "{out}");
    assert_eq!(out, "before\n");
}

#[test]
fn argument_filters_match_and_do_not_match() {
    let root = Root::new();
    // personality(0xffffffff) queries; block only personality(PER_LINUX32 = 8).
    let c = with_seccomp(
        "uname -m; setarch linux32 uname -m 2>&1; echo rc=$?",
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
             "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}
        ]}),
    );
    let (code, out, err) = root.run(&c);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "x86_64");
    assert!(
        out.contains("rc=1") || lines[1] != "i686",
        "linux32 must be refused: {out}"
    );
}

#[test]
fn log_action_lets_the_call_through() {
    let root = Root::new();
    let c = with_seccomp(
        "mkdir /tmp/logged && echo made",
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_LOG"}
        ]}),
    );
    let (code, out, err) = root.run(&c);
    assert_eq!((code, out.as_str()), (0, "made\n"), "{err}");
}

#[test]
fn no_new_privileges_false_loads_the_filter_too() {
    let root = Root::new();
    let mut c = with_seccomp(
        "mkdir /tmp/x 2>/dev/null; echo rc=$?",
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}
        ]}),
    );
    c["process"]["noNewPrivileges"] = json!(false);
    let (code, out, err) = root.run(&c);
    assert_eq!((code, out.as_str()), (0, "rc=1\n"), "{err}");
}

#[test]
fn exec_gets_the_containers_filter() {
    let root = Root::new();
    let c = {
        let mut c = base_config(&["/bin/sleep", "60"]);
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18}
        ]});
        c
    };
    let b = Bundle::new(&c);
    let id = unique("scexec");
    root.ok(&["run", "-d", "--bundle", b.dir.to_str().unwrap(), &id]);
    let out = root.ok(&["exec", &id, "/bin/sh", "-c", "mkdir /tmp/x 2>&1; true"]);
    assert!(out.contains("Invalid cross-device link"), "{out}");
    root.ok(&["delete", "-f", &id]);
}

#[test]
fn default_profile_runs_a_shell_and_blocks_what_it_must() {
    let root = Root::new();
    let script = "echo ok; ls / >/dev/null && echo ls-ok; \
                  unshare -U true 2>/dev/null; echo unshare=$?; \
                  keyctl show 2>/dev/null; echo keyctl=$?";
    let c = with_seccomp(script, default_seccomp_profile());
    let (code, out, err) = root.run(&c);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(&lines[..2], ["ok", "ls-ok"]);
    assert!(
        lines.contains(&"unshare=1"),
        "unshare of a user namespace must fail: {out}"
    );
    assert!(!lines.contains(&"keyctl=0"), "keyctl must fail: {out}");
}

#[test]
fn notify_agent_receives_the_fd_and_answers() {
    let root = Root::new();
    let dir = std::env::temp_dir().join(unique("agent"));
    std::fs::create_dir_all(&dir).unwrap();
    let sock_path = dir.join("agent.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock_path).unwrap();
    let agent = std::thread::spawn(move || agent(listener));
    let c = with_seccomp(
        "mkdir /tmp/notified; echo rc=$?; test -d /tmp/notified && echo exists || echo absent",
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "listenerPath": sock_path, "listenerMetadata": "test-meta",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}),
    );
    let (code, out, err) = root.run(&c);
    let state = agent.join().unwrap();
    assert_eq!(code, 0, "{err}");
    // The agent answered "success" without making the directory.
    assert_eq!(out, "rc=0\nabsent\n");
    assert_eq!(state["metadata"], "test-meta");
    assert_eq!(state["fds"], json!(["seccompFd"]));
    assert_eq!(state["state"]["status"], "creating");
    assert!(state["pid"].as_i64().unwrap() > 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Accepts one connection, takes the notify fd and the state, answers one notification
/// with success (val 0), and returns the state it received.
fn agent(listener: std::os::unix::net::UnixListener) -> Value {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let (conn, _) = listener.accept().unwrap();
    let mut buf = vec![0u8; 65536];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 4]);
    let (n, fd) = {
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::empty(),
        )
        .unwrap();
        let mut fd = -1;
        for c in msg.cmsgs().unwrap() {
            if let ControlMessageOwned::ScmRights(fds) = c {
                fd = fds[0];
            }
        }
        (msg.bytes, fd)
    };
    assert!(fd >= 0, "no fd received");
    // SAFETY (test): the fd arrived with SCM_RIGHTS and is ours.
    let notify = unsafe { OwnedFd::from_raw_fd(fd) };
    let state: Value = serde_json::from_slice(&buf[..n]).unwrap();

    #[repr(C)]
    struct SeccompData {
        nr: i32,
        arch: u32,
        ip: u64,
        args: [u64; 6],
    }
    #[repr(C)]
    struct Notif {
        id: u64,
        pid: u32,
        flags: u32,
        data: SeccompData,
    }
    #[repr(C)]
    struct Resp {
        id: u64,
        val: i64,
        error: i32,
        flags: u32,
    }
    const RECV: libc::c_ulong = 0xc050_2100;
    const SEND: libc::c_ulong = 0xc018_2101;
    // SAFETY (test): zeroed plain-data structs passed to the seccomp notify ioctls.
    let mut req: Notif = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::ioctl(notify.as_raw_fd(), RECV, &mut req) };
    assert_eq!(r, 0, "NOTIF_RECV: {}", std::io::Error::last_os_error());
    let resp = Resp {
        id: req.id,
        val: 0,
        error: 0,
        flags: 0,
    };
    let r = unsafe { libc::ioctl(notify.as_raw_fd(), SEND, &resp) };
    assert_eq!(r, 0, "NOTIF_SEND: {}", std::io::Error::last_os_error());
    state
}
