//! `berth exec`: every flag checked from inside the container, namespaces and cgroup joined,
//! exit codes, parallel execs, and exec into stopped containers.

use crate::common::*;
use serde_json::{json, Value};

/// A running container (sleep) under its own root.
fn running(edit: impl FnOnce(&mut Value)) -> (Root, Bundle, String) {
    let root = Root::new();
    let mut c = base_config(&["/bin/sleep", "600"]);
    edit(&mut c);
    let b = Bundle::new(&c);
    let id = unique("ex");
    root.ok(&["run", "-d", "--bundle", b.dir.to_str().unwrap(), &id]);
    (root, b, id)
}

fn exec_out(root: &Root, args: &[&str]) -> (i32, String, String) {
    let mut full = vec!["exec"];
    full.extend_from_slice(args);
    let out = root.berth(&full);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn exec_joins_the_containers_namespaces_and_cgroup() {
    let (root, _b, id) = running(|_| {});
    let pid = root.state(&id)["pid"].as_i64().unwrap();
    let script = "for n in pid net ipc uts mnt cgroup; do readlink /proc/self/ns/$n; done; hostname; cat /proc/self/cgroup";
    let (code, out, err) = exec_out(&root, &[&id, "/bin/sh", "-c", script]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    for (i, n) in ["pid", "net", "ipc", "uts", "mnt", "cgroup"]
        .iter()
        .enumerate()
    {
        let init = std::fs::read_link(format!("/proc/{pid}/ns/{n}")).unwrap();
        assert_eq!(lines[i], init.to_string_lossy(), "{n}");
    }
    assert_eq!(lines[6], "berth-test");
    // In the container's cgroup namespace, its own cgroup is the root.
    assert!(lines[7..].iter().all(|l| l.ends_with(":/")), "{out}");
    // And from the host: an exec'd process is in init's cgroups, every hierarchy.
    let pf = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(unique("exec-pid"));
    let (code, _, err) = exec_out(
        &root,
        &[
            "-d",
            "--pid-file",
            pf.to_str().unwrap(),
            &id,
            "/bin/sleep",
            "60",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let exec_pid = std::fs::read_to_string(&pf).unwrap();
    let _ = std::fs::remove_file(&pf);
    let cgroups = |p: &str| std::fs::read_to_string(format!("/proc/{}/cgroup", p.trim())).unwrap();
    let init_cgroups = cgroups(&pid.to_string());
    assert!(init_cgroups.contains(&id), "{init_cgroups}");
    assert_eq!(cgroups(&exec_pid), init_cgroups);
    root.ok(&["delete", "-f", &id]);
}

#[test]
fn exec_exit_codes() {
    let (root, _b, id) = running(|_| {});
    assert_eq!(exec_out(&root, &[&id, "/bin/sh", "-c", "exit 42"]).0, 42);
    assert_eq!(
        exec_out(&root, &[&id, "/bin/sh", "-c", "kill -9 $$"]).0,
        137
    );
    root.ok(&["delete", "-f", &id]);
}

#[test]
fn exec_flags_user_env_cwd_caps() {
    let (root, _b, id) = running(|_| {});
    let (code, out, err) = exec_out(
        &root,
        &[
            "--user", "1000:1001", "-g", "5", "-g", "6", "--env", "FOO=bar", "-e", "X=y",
            "--cwd", "/tmp", "--cap", "CAP_SYS_ADMIN", "--no-new-privs", &id,
            "/bin/sh", "-c", "id -u; id -g; id -G; echo $FOO$X; pwd; grep -E '^(CapBnd|NoNewPrivs)' /proc/self/status",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(&l[..5], ["1000", "1001", "1001 5 6", "bary", "/tmp"]);
    // Default caps AUDIT_WRITE(29) KILL(5) NET_BIND_SERVICE(10) plus SYS_ADMIN(21).
    assert_eq!(l[5].split_whitespace().last(), Some("0000000020200420"));
    assert_eq!(l[6].split_whitespace().last(), Some("1"));
    root.ok(&["delete", "-f", &id]);
}

#[test]
fn exec_process_json() {
    let (root, b, id) = running(|_| {});
    let p = json!({
        "args": ["/bin/sh", "-c", "echo $A; id -u; pwd"],
        "env": ["A=from-process-json", "PATH=/bin"],
        "cwd": "/proc",
        "user": {"uid": 33, "gid": 33},
        "capabilities": {"bounding": ["CAP_KILL"]}
    });
    let path = b.dir.join("process.json");
    std::fs::write(&path, p.to_string()).unwrap();
    let (code, out, err) = exec_out(&root, &["--process", path.to_str().unwrap(), &id]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "from-process-json\n33\n/proc\n");
    root.ok(&["delete", "-f", &id]);
}

#[test]
fn exec_detach_writes_the_pid_file() {
    let (root, b, id) = running(|_| {});
    let pf = b.dir.join("exec.pid");
    let (code, _, err) = exec_out(
        &root,
        &[
            "-d",
            "--pid-file",
            pf.to_str().unwrap(),
            &id,
            "/bin/sleep",
            "30",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let pid: i64 = std::fs::read_to_string(&pf)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let init = root.state(&id)["pid"].as_i64().unwrap();
    let ns = |p: i64| std::fs::read_link(format!("/proc/{p}/ns/pid")).unwrap();
    assert_eq!(
        ns(pid),
        ns(init),
        "the detached process is in the container"
    );
    root.ok(&["delete", "-f", &id]);
}

#[test]
fn exec_in_a_user_namespace() {
    let (root, _b, id) = running(|c| add_userns(c, 200000));
    let (code, out, err) = exec_out(
        &root,
        &[&id, "/bin/sh", "-c", "id -u; cat /proc/self/uid_map"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["0", "0", "200000", "65536"]
    );
    root.ok(&["delete", "-f", &id]);
}

#[test]
fn fifty_parallel_execs() {
    let (root, _b, id) = running(|_| {});
    let threads: Vec<_> = (0..50)
        .map(|i| {
            let mut cmd = root.cmd();
            cmd.args(["exec", &id, "/bin/sh", "-c", &format!("echo {i}")]);
            std::thread::spawn(move || (i, output_via_files(&mut cmd)))
        })
        .collect();
    for t in threads {
        let (i, out) = t.join().unwrap();
        assert!(
            out.status.success(),
            "exec {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{i}\n"));
    }
    // No zombies left behind in the container (sleep, the init, does not reap).
    let (_, ps, _) = exec_out(
        &root,
        &[
            &id,
            "/bin/sh",
            "-c",
            "grep -l '^State:.*Z' /proc/[0-9]*/status | wc -l",
        ],
    );
    assert_eq!(ps.trim(), "0");
    root.ok(&["delete", "-f", &id]);
}

#[test]
fn exec_into_a_stopped_container_fails() {
    let root = Root::new();
    let b = Bundle::new(&base_config(&["/bin/true"]));
    let id = unique("stopped");
    root.ok(&["run", "--keep", "--bundle", b.dir.to_str().unwrap(), &id]);
    let (code, _, err) = exec_out(&root, &[&id, "/bin/true"]);
    assert_ne!(code, 0);
    assert!(err.contains("stopped"), "{err}");
    root.ok(&["delete", &id]);
}

#[test]
fn exec_into_a_missing_container_fails() {
    let root = Root::new();
    let (code, _, err) = exec_out(&root, &["nosuch", "/bin/true"]);
    assert_ne!(code, 0);
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn exec_of_a_missing_program_is_a_clear_error() {
    let (root, _b, id) = running(|_| {});
    let (code, _, err) = exec_out(&root, &[&id, "nosuchprogram"]);
    assert_ne!(code, 0);
    assert!(err.contains("nosuchprogram"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    root.ok(&["delete", "-f", &id]);
}

#[test]
fn exec_into_a_paused_container() {
    let (root, _b, id) = running(|_| {});
    root.ok(&["pause", &id]);
    let (code, _, err) = exec_out(&root, &[&id, "/bin/true"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("paused") && err.contains("--ignore-paused"),
        "{err}"
    );
    // With --ignore-paused the process joins the frozen cgroup, so it freezes with the rest
    // (as with runc) and runs on resume.
    let mut cmd = root.cmd();
    cmd.args([
        "exec",
        "-d",
        "--ignore-paused",
        &id,
        "/bin/sh",
        "-c",
        "echo resumed > /tmp/mark",
    ]);
    let exec = std::thread::spawn(move || output_via_files(&mut cmd));
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!exec.is_finished(), "the process ran in a paused container");
    root.ok(&["resume", &id]);
    let out = exec.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, out, _) = exec_out(&root, &[&id, "/bin/cat", "/tmp/mark"]);
        if out == "resumed\n" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the exec'd process never ran: {out}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    root.ok(&["delete", "-f", &id]);
}

/// (LISTEN_FDS, which exec ignores as runc does: compat::fds.)
#[test]
fn exec_preserve_fds_passes_exactly_those() {
    use std::os::fd::AsRawFd;
    let (root, b, id) = running(|_| {});
    let f3 = b.dir.join("three");
    std::fs::write(&f3, "passed\n").unwrap();
    let file = std::fs::File::open(&f3).unwrap();
    let raw = file.as_raw_fd();
    let mut cmd = root.cmd();
    cmd.args([
        "exec",
        "--preserve-fds",
        "1",
        &id,
        "/bin/sh",
        "-c",
        "cat <&3; ls /proc/self/fd | sort -n | tr '\\n' ' '",
    ]);
    // SAFETY (test): dup2 in the child between fork and exec only.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
            let high = libc::fcntl(raw, libc::F_DUPFD, 100);
            if high < 0 || libc::dup2(high, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = output_via_files(&mut cmd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // fd 3 passed, nothing else beyond stdio (ls holds one more for the directory).
    assert_eq!(String::from_utf8_lossy(&out.stdout), "passed\n0 1 2 3 4 ");
    root.ok(&["delete", "-f", &id]);
}
