//! Real tests: a forked child loads a compiled filter and the test checks what the kernel
//! does with its syscalls. Children only make raw syscalls between fork and _exit (the test
//! harness is multi-threaded), so every filter is compiled before forking.

#![cfg(target_arch = "x86_64")]

use super::tests::profile;
use super::*;
use nix::sys::signal::Signal;
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use serde_json::json;
use std::ffi::CString;
use std::io::{IoSliceMut, Read as _};
use std::os::fd::{AsFd as _, AsRawFd as _, FromRawFd as _, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Forks; the child loads `filter`, runs `child` and exits with its result (100 if loading
/// failed). Returns the child's pid and wait status.
fn run_filtered(filter: &Filter, child: impl FnOnce() -> i32) -> (Pid, WaitStatus) {
    let pid = fork_filtered(filter, |_| child());
    (pid, waitpid(pid, None).unwrap())
}

/// Like `run_filtered` without waiting; `child` gets the notify fd's number, if any.
fn fork_filtered(filter: &Filter, child: impl FnOnce(Option<RawFd>) -> i32) -> Pid {
    // SAFETY: the child makes only raw syscalls (load allocates only when it fails) and _exits.
    match unsafe { fork() }.unwrap() {
        ForkResult::Child => {
            let code = match load(filter) {
                Ok(fd) => {
                    let raw = fd.as_ref().map(|fd| fd.as_raw_fd());
                    std::mem::forget(fd); // kept open until exit
                    child(raw)
                }
                Err(_) => 100,
            };
            // SAFETY: leaving the forked child without running the harness's destructors.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => child,
    }
}

fn allow_except(rules: serde_json::Value) -> Filter {
    compile(&profile(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules}),
    ))
    .unwrap()
}

#[test]
fn errno_action_returns_the_chosen_errno() {
    let filter = allow_except(json!([{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
        "errnoRet": libc::EXDEV}]));
    let path = c"/nonexistent-berth-seccomp-test/dir";
    let (_, status) = run_filtered(&filter, || {
        // SAFETY: raw syscalls with a valid C string.
        let r = unsafe { libc::syscall(libc::SYS_mkdir, path.as_ptr(), 0o755) };
        let mkdir_blocked = r == -1 && errno() == libc::EXDEV;
        // SAFETY: no arguments.
        let others_work = unsafe { libc::syscall(libc::SYS_getpid) } > 0;
        i32::from(!(mkdir_blocked && others_work))
    });
    assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");
}

#[test]
fn kill_process_kills_with_sigsys() {
    let filter = allow_except(json!([{"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}]));
    let (_, status) = run_filtered(&filter, || {
        // SAFETY: no arguments.
        unsafe { libc::syscall(libc::SYS_getppid) };
        0
    });
    assert!(
        matches!(status, WaitStatus::Signaled(_, Signal::SIGSYS, _)),
        "{status:?}"
    );
}

#[test]
fn argument_filter_matches_one_value_only() {
    let filter = allow_except(
        json!([{"names": ["getpriority"], "action": "SCMP_ACT_ERRNO",
        "errnoRet": libc::EXDEV,
        "args": [{"index": 0, "value": libc::PRIO_PGRP, "op": "SCMP_CMP_EQ"}]}]),
    );
    let (_, status) = run_filtered(&filter, || {
        // SAFETY: getpriority with plain integer arguments.
        let process = unsafe { libc::syscall(libc::SYS_getpriority, libc::PRIO_PROCESS, 0) };
        // SAFETY: as above.
        let group = unsafe { libc::syscall(libc::SYS_getpriority, libc::PRIO_PGRP, 0) };
        let group_blocked = group == -1 && errno() == libc::EXDEV;
        i32::from(!(process >= 0 && group_blocked))
    });
    assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");
}

/// Kernel log records (from /dev/kmsg) that mention `needle`.
fn kmsg_lines_with(needle: &str) -> Vec<String> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut kmsg = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open("/dev/kmsg")
        .unwrap();
    let mut found = Vec::new();
    let mut record = vec![0u8; 8192];
    loop {
        match kmsg.read(&mut record) {
            Ok(0) => break,
            Ok(n) => {
                let line = String::from_utf8_lossy(&record[..n]);
                if line.contains(needle) {
                    found.push(line.into_owned());
                }
            }
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue, // overwritten record
            Err(_) => break, // EAGAIN: end of the buffer
        }
    }
    found
}

#[test]
fn log_action_lets_the_syscall_through_and_logs_it() {
    let filter = allow_except(json!([{"names": ["getppid"], "action": "SCMP_ACT_LOG"}]));
    let parent = std::process::id() as i64;
    let wanted = format!("syscall={} ", libc::SYS_getppid);
    // Without auditd, kauditd prints the audit record asynchronously and under the kernel's
    // shared printk rate limit (10 per 5 s), so a record can be dropped when the machine is
    // busy: try a few times, each in a fresh child.
    let mut pids = Vec::new();
    for _ in 0..4 {
        let (pid, status) = run_filtered(&filter, || {
            // SAFETY: no arguments.
            i32::from(unsafe { libc::syscall(libc::SYS_getppid) } != parent)
        });
        assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");
        pids.push(pid);
        let logged = || {
            kmsg_lines_with(&format!(" pid={} ", pid.as_raw()))
                .iter()
                .any(|l| l.contains(&wanted) && l.contains("code=0x7ffc0000"))
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while std::time::Instant::now() < deadline {
            if logged() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    panic!("no SECCOMP_RET_LOG record in /dev/kmsg for pids {pids:?}");
}

/// The agent side of the listener protocol: accepts one connection, returns the message and
/// the fd that came with it.
fn receive_process_state(listener: &UnixListener) -> (serde_json::Value, OwnedFd) {
    let (mut conn, _) = listener.accept().unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let mut iov = [IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<UnixAddr>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .unwrap();
    let mut fd = None;
    for cmsg in msg.cmsgs().unwrap() {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            // SAFETY: the fd was just received and is owned by nobody else.
            fd = Some(unsafe { OwnedFd::from_raw_fd(fds[0]) });
        }
    }
    let n = msg.bytes;
    let mut data = buf[..n].to_vec();
    conn.read_to_end(&mut data).unwrap(); // the runtime closes after one message
    (
        serde_json::from_slice(&data).unwrap(),
        fd.expect("an fd in SCM_RIGHTS"),
    )
}

#[test]
fn notify_answered_by_an_agent() {
    let socket_path = std::env::temp_dir().join(format!(
        "berth-seccomp-agent-{}-{:?}.sock",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_file(&socket_path);
    let listener = UnixListener::bind(&socket_path).unwrap();
    let filter = compile(&profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": socket_path,
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]
    })))
    .unwrap();
    assert!(filter.uses_notify);
    // The child reports its notify fd's number over a pipe; the parent takes the fd with
    // pidfd_getfd, as a runtime's parent can, and hands it to the agent.
    let mut pipe = [0; 2];
    // SAFETY: pipe2 fills the array.
    assert_eq!(
        unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) },
        0
    );
    // SAFETY: both fds were just created and are owned here.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(pipe[0]), OwnedFd::from_raw_fd(pipe[1])) };
    let write_raw = write_end.as_raw_fd();
    let pid = fork_filtered(&filter, |notify_fd| {
        let Some(fd) = notify_fd else { return 2 };
        let bytes = fd.to_ne_bytes();
        // SAFETY: writes 4 bytes from a local array to the pipe.
        if unsafe { libc::write(write_raw, bytes.as_ptr().cast(), 4) } != 4 {
            return 3;
        }
        // SAFETY: no arguments; blocks until the agent answers.
        let answer = unsafe { libc::syscall(libc::SYS_getppid) };
        i32::from(answer != 4242)
    });
    drop(write_end);
    let mut fd_bytes = [0u8; 4];
    std::fs::File::from(read_end)
        .read_exact(&mut fd_bytes)
        .unwrap();
    let child_fd = i32::from_ne_bytes(fd_bytes);
    // SAFETY: pidfd_open and pidfd_getfd with integer arguments; results checked.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    assert!(
        pidfd >= 0,
        "pidfd_open: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: pidfd_open returned a new fd.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd as i32) };
    // SAFETY: as above.
    let notify = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), child_fd, 0) };
    assert!(
        notify >= 0,
        "pidfd_getfd: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: pidfd_getfd returned a new fd.
    let notify = unsafe { OwnedFd::from_raw_fd(notify as i32) };

    let agent = std::thread::spawn(move || receive_process_state(&listener));
    let state = json!({"ociVersion": "1.2.1", "id": "seccomp-test", "status": "creating",
        "pid": pid.as_raw(), "bundle": "/bundle"});
    send_to_listener(
        &socket_path,
        notify.as_fd(),
        &serde_json::to_vec(&state).unwrap(),
        "meta",
    )
    .unwrap();
    drop(notify);
    let (message, agent_fd) = agent.join().unwrap();
    std::fs::remove_file(&socket_path).unwrap();
    assert_eq!(
        message,
        json!({"ociVersion": "1.2.1", "fds": ["seccompFd"], "pid": pid.as_raw(),
            "metadata": "meta", "state": state})
    );

    // SAFETY: zeroed plain-data structs filled by the kernel.
    let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
    // SAFETY: NOTIF_RECV writes one seccomp_notif into req.
    let r = unsafe {
        libc::ioctl(
            agent_fd.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_RECV,
            &mut req,
        )
    };
    assert_eq!(r, 0, "NOTIF_RECV: {}", std::io::Error::last_os_error());
    assert_eq!(req.data.nr, libc::SYS_getppid as i32);
    assert_eq!(req.pid, pid.as_raw() as u32);
    let mut resp = libc::seccomp_notif_resp {
        id: req.id,
        val: 4242,
        error: 0,
        flags: 0,
    };
    // SAFETY: NOTIF_SEND reads one seccomp_notif_resp.
    let r = unsafe {
        libc::ioctl(
            agent_fd.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_SEND,
            &mut resp,
        )
    };
    assert_eq!(r, 0, "NOTIF_SEND: {}", std::io::Error::last_os_error());
    let status = waitpid(pid, None).unwrap();
    assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");
}

#[test]
fn default_profile_runs_busybox_and_blocks_keyctl() {
    let filter = compile(&default_profile()).unwrap();
    let (_, status) = run_filtered(&filter, || {
        // SAFETY: keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0): integers only.
        let keyctl = unsafe { libc::syscall(libc::SYS_keyctl, 0, -3, 0) };
        let keyctl_eperm = keyctl == -1 && errno() == libc::EPERM;
        // SAFETY: clone3 with a null args pointer: only the filter's answer matters.
        let clone3 = unsafe { libc::syscall(libc::SYS_clone3, 0, 0) };
        let clone3_enosys = clone3 == -1 && errno() == libc::ENOSYS;
        i32::from(!keyctl_eperm) | (i32::from(!clone3_enosys) << 1)
    });
    assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");

    let argv: Vec<CString> = ["busybox", "sh", "-c", "echo ok"]
        .iter()
        .map(|a| CString::new(*a).unwrap())
        .collect();
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let envp: [*const libc::c_char; 1] = [std::ptr::null()];
    let mut pipe = [0; 2];
    // SAFETY: pipe2 fills the array.
    assert_eq!(
        unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) },
        0
    );
    // SAFETY: both fds were just created and are owned here.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(pipe[0]), OwnedFd::from_raw_fd(pipe[1])) };
    let write_raw = write_end.as_raw_fd();
    let pid = fork_filtered(&filter, |_| {
        // SAFETY: dup2 onto stdout (dup2 clears CLOEXEC) and execve with prepared arrays.
        unsafe {
            libc::dup2(write_raw, 1);
            libc::execve(c"/bin/busybox".as_ptr(), argv_ptrs.as_ptr(), envp.as_ptr());
        }
        127
    });
    drop(write_end);
    let mut out = String::new();
    std::fs::File::from(read_end)
        .read_to_string(&mut out)
        .unwrap();
    let status = waitpid(pid, None).unwrap();
    assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");
    assert_eq!(out, "ok\n");
}

/// The trampoline's execveat is tried under the real filter: allowed, denied by errno, by
/// the ENOSYS a stub gives, by kill, or only for some arguments.
#[test]
fn require_execveat_tries_the_filter() {
    let fd = std::fs::File::open("/dev/null").unwrap();
    let fd = fd.as_raw_fd();
    assert!(require_execveat(&allow_except(json!([])), fd).is_ok());
    let allowed_by_rule = compile(&profile(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["execveat", "exit", "exit_group", "prctl", "seccomp"],
                      "action": "SCMP_ACT_ALLOW"}]})))
    .unwrap();
    assert!(require_execveat(&allowed_by_rule, fd).is_ok());
    for rules in [
        json!([{"names": ["execveat"], "action": "SCMP_ACT_ERRNO"}]),
        json!([{"names": ["execveat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]),
        json!([{"names": ["execveat"], "action": "SCMP_ACT_KILL_PROCESS"}]),
        json!([{"names": ["execveat"], "action": "SCMP_ACT_ERRNO",
                "args": [{"index": 4, "value": libc::AT_EMPTY_PATH, "op": "SCMP_CMP_EQ"}]}]),
    ] {
        let e = require_execveat(&allow_except(rules.clone()), fd).unwrap_err();
        assert!(
            e.to_string().contains("does not allow execveat"),
            "{rules}: {e}"
        );
    }
}

#[test]
fn plainly_allows_execveat_reads_the_rules() {
    let p = |v| plainly_allows_execveat(&profile(v));
    assert!(p(json!({"defaultAction": "SCMP_ACT_ALLOW"})));
    assert!(p(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["execve", "execveat"], "action": "SCMP_ACT_ALLOW"}]})));
    assert!(!p(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["execve"], "action": "SCMP_ACT_ALLOW"}]})));
    assert!(!p(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["execveat"], "action": "SCMP_ACT_ERRNO"}]})));
    assert!(!p(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["execveat"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 4, "value": 0, "op": "SCMP_CMP_EQ"}]}]})));
    assert!(p(serde_json::to_value(default_profile()).unwrap()));
}
