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
    // Only personality(PER_LINUX32 = 8) is refused; the query 0xffffffff and PER_LINUX (0)
    // do not match the argument and go through.
    let script = format!(
        "{PROBE} syscall personality 0xffffffff; {PROBE} syscall personality 8; \
                          {PROBE} syscall personality 0"
    );
    let filter = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18,
         "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}
    ]});
    let mut c = with_seccomp(&script, filter);
    add_probe(&mut c);
    let (code, out, err) = root.run(&c);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "ret=0 errno=0\nret=-1 errno=18\nret=0 errno=0\n");
    // Without the filter the same calls all succeed (each probe returns its persona before
    // the call, PER_LINUX): the probe sees a missing filter.
    c["linux"].as_object_mut().unwrap().remove("seccomp");
    let (code, out, err) = root.run(&c);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "ret=0 errno=0\nret=0 errno=0\nret=0 errno=0\n");
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
    // keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0) and unshare(CLONE_NEWUSER):
    // both succeed for the container's root unless the profile refuses them (EPERM).
    let script = format!(
        "echo ok; ls / >/dev/null && echo ls-ok; \
                          {PROBE} syscall keyctl 0 -3 0; {PROBE} syscall unshare 0x10000000"
    );
    let mut c = with_seccomp(&script, default_seccomp_profile());
    add_probe(&mut c);
    let (code, out, err) = root.run(&c);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "ok\nls-ok\nret=-1 errno=1\nret=-1 errno=1\n");
    // The control: without the profile both calls succeed here.
    c["linux"].as_object_mut().unwrap().remove("seccomp");
    let (code, out, err) = root.run(&c);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    let key: i64 = lines[2]
        .strip_prefix("ret=")
        .and_then(|l| l.strip_suffix(" errno=0"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("keyctl without the profile: {out}"));
    assert!(key > 0, "keyctl returns the session keyring's id: {out}");
    assert_eq!(lines[3], "ret=0 errno=0");
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
