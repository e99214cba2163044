//! create / start / state / kill / delete / run / list across separate invocations.

use crate::common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

fn create(root: &Root, config: &Value) -> (Bundle, String) {
    let b = Bundle::new(config);
    let id = unique("c");
    root.ok(&["create", "--bundle", b.dir.to_str().unwrap(), &id]);
    (b, id)
}

fn wait_status(root: &Root, id: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // Until `create` has finished (for `run`, started elsewhere) there is no state yet.
        let out = root.berth(&["state", id]);
        let s: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if s["status"] == want {
            return;
        }
        assert!(Instant::now() < deadline, "{id} never became {want}: {s}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn run_returns_the_exit_code() {
    let root = Root::new();
    let (code, _, _) = root.run(&base_config(&["/bin/sh", "-c", "exit 3"]));
    assert_eq!(code, 3);
    root.assert_clean(None);
}

#[test]
fn run_prints_the_output() {
    let root = Root::new();
    assert_eq!(root.sh("echo hello; hostname"), "hello\nberth-test\n");
}

#[test]
fn full_lifecycle() {
    let root = Root::new();
    let (b, id) = create(&root, &base_config(&["/bin/sleep", "60"]));
    let st = root.state(&id);
    assert_eq!(st["status"], "created");
    assert_eq!(st["id"], id.as_str());
    assert_eq!(st["bundle"], b.dir.to_str().unwrap());
    assert_eq!(st["rootfs"], rootfs().to_str().unwrap());
    let pid = st["pid"].as_i64().unwrap();
    assert!(pid_alive(pid));
    // The created init is blocked before exec: it is still berth, not sleep.
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_ne!(comm.trim(), "sleep");

    root.ok(&["start", &id]);
    wait_status(&root, &id, "running");
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_eq!(comm.trim(), "sleep");

    root.ok(&["kill", &id, "KILL"]);
    wait_status(&root, &id, "stopped");
    assert_eq!(root.state(&id)["pid"], 0);
    root.ok(&["delete", &id]);
    root.fails(&["state", &id]);
    root.assert_clean(Some(&b));
}

#[test]
fn state_json_has_runcs_fields() {
    let root = Root::new();
    let mut c = base_config(&["/bin/sleep", "60"]);
    c["annotations"] = serde_json::json!({"org.example.key": "value"});
    let (_b, id) = create(&root, &c);
    let st = root.state(&id);
    let mut keys: Vec<&str> = st.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "annotations",
            "bundle",
            "created",
            "id",
            "ociVersion",
            "owner",
            "pid",
            "rootfs",
            "status"
        ]
    );
    assert_eq!(st["annotations"]["org.example.key"], "value");
    // The spec version berth implements, not the bundle's 1.2.0 (runc reports its own too).
    assert_eq!(st["ociVersion"], "1.3.0");
    // Go's RFC3339Nano: up to nine digits of fraction, trailing zeros dropped.
    let created = st["created"].as_str().unwrap();
    assert!(
        created.ends_with('Z')
            && (20..=30).contains(&created.len())
            && created.as_bytes()[10] == b'T',
        "{created}"
    );
    root.ok(&["delete", "--force", &id]);
}

#[test]
fn lifecycle_rules_refuse_and_change_nothing() {
    let root = Root::new();
    let (_b, id) = create(&root, &base_config(&["/bin/sleep", "60"]));
    root.ok(&["start", &id]);
    wait_status(&root, &id, "running");
    // start of a running container
    let err = root.fails(&["start", &id]);
    assert_eq!(err, "cannot start an already running container\n");
    // delete of a running container
    let err = root.fails(&["delete", &id]);
    assert!(err.contains("running"), "{err}");
    assert_eq!(root.state(&id)["status"], "running");
    root.ok(&["kill", &id, "9"]);
    wait_status(&root, &id, "stopped");
    // kill of a stopped container; start of a stopped one
    let err = root.fails(&["kill", &id]);
    assert!(err.contains("container not running"), "{err}");
    let err = root.fails(&["start", &id]);
    assert_eq!(err, "cannot start a container that has stopped\n");
    root.ok(&["delete", &id]);
    root.assert_clean(None);
}

#[test]
fn delete_force_kills_a_running_container() {
    let root = Root::new();
    let (b, id) = create(&root, &base_config(&["/bin/sleep", "60"]));
    root.ok(&["start", &id]);
    let pid = root.state(&id)["pid"].as_i64().unwrap();
    root.ok(&["delete", "--force", &id]);
    assert!(
        !pid_alive(pid)
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap()
                .contains(") Z")
    );
    root.assert_clean(Some(&b));
}

#[test]
fn delete_force_of_a_created_container() {
    let root = Root::new();
    let (b, id) = create(&root, &base_config(&["/bin/true"]));
    root.ok(&["delete", "--force", &id]);
    root.assert_clean(Some(&b));
}

#[test]
fn start_of_a_dead_init_is_an_error_not_a_hang() {
    let root = Root::new();
    let (_b, id) = create(&root, &base_config(&["/bin/true"]));
    let pid = root.state(&id)["pid"].as_i64().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let t = Instant::now();
    while pid_alive(pid) && t.elapsed() < Duration::from_secs(5) {
        if std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z")) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let err = root.fails(&["start", &id]);
    assert_eq!(err, "cannot start a container that has stopped\n");
    root.ok(&["delete", &id]);
}

#[test]
fn concurrent_creates_of_one_id_give_one_container() {
    let root = Root::new();
    let b = Bundle::new(&base_config(&["/bin/sleep", "60"]));
    let id = unique("race");
    let outs: Vec<_> = (0..4)
        .map(|_| {
            let mut c = root.cmd();
            c.args(["create", "--bundle", b.dir.to_str().unwrap(), &id]);
            std::thread::spawn(move || output_via_files(&mut c))
        })
        .collect();
    let results: Vec<_> = outs.into_iter().map(|t| t.join().unwrap()).collect();
    let ok = results.iter().filter(|o| o.status.success()).count();
    assert_eq!(ok, 1, "exactly one create must win");
    for o in results.iter().filter(|o| !o.status.success()) {
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("already exists"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "one error line: {err}");
    }
    assert_eq!(root.state(&id)["status"], "created");
    root.ok(&["delete", "--force", &id]);
    root.assert_clean(Some(&b));
}

#[test]
fn pid_file_holds_the_init_pid() {
    let root = Root::new();
    let b = Bundle::new(&base_config(&["/bin/sleep", "60"]));
    let id = unique("pidfile");
    let pf = b.dir.join("init.pid");
    root.ok(&[
        "create",
        "--bundle",
        b.dir.to_str().unwrap(),
        "--pid-file",
        pf.to_str().unwrap(),
        &id,
    ]);
    let pid: i64 = std::fs::read_to_string(&pf)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(root.state(&id)["pid"].as_i64().unwrap(), pid);
    root.ok(&["delete", "--force", &id]);
}

#[test]
fn list_shows_containers() {
    let root = Root::new();
    let (_b1, a) = create(&root, &base_config(&["/bin/sleep", "60"]));
    let (_b2, b) = create(&root, &base_config(&["/bin/sleep", "60"]));
    root.ok(&["start", &b]);
    let quiet = root.ok(&["list", "-q"]);
    let mut want = vec![a.clone(), b.clone()];
    want.sort();
    assert_eq!(quiet.lines().collect::<Vec<_>>(), want);
    let json: Value = serde_json::from_str(&root.ok(&["list", "-f", "json"])).unwrap();
    let arr = json.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    for c in arr {
        assert_eq!(c["owner"], "root");
        let want = if c["id"] == a.as_str() {
            "created"
        } else {
            "running"
        };
        assert_eq!(c["status"], want);
    }
    let table = root.ok(&["list"]);
    assert!(table.starts_with("ID"), "{table}");
    assert!(table.contains(&a) && table.contains("created") && table.contains("running"));
    root.ok(&["delete", "-f", &a]);
    root.ok(&["delete", "-f", &b]);
    assert_eq!(root.ok(&["list", "-q"]), "");
}

#[test]
fn run_detach_leaves_it_running() {
    let root = Root::new();
    let b = Bundle::new(&base_config(&["/bin/sleep", "60"]));
    let id = unique("detach");
    root.ok(&["run", "-d", "--bundle", b.dir.to_str().unwrap(), &id]);
    assert_eq!(root.state(&id)["status"], "running");
    root.ok(&["delete", "-f", &id]);
    root.assert_clean(Some(&b));
}

#[test]
fn run_keep_leaves_a_stopped_container() {
    let root = Root::new();
    let b = Bundle::new(&base_config(&["/bin/true"]));
    let id = unique("keep");
    root.ok(&["run", "--keep", "--bundle", b.dir.to_str().unwrap(), &id]);
    assert_eq!(root.state(&id)["status"], "stopped");
    root.ok(&["delete", &id]);
}

#[test]
fn run_exits_128_plus_signal() {
    let root = Root::new();
    let b = Bundle::new(&base_config(&["/bin/sleep", "60"]));
    let id = unique("sig");
    let child = root
        .cmd()
        .args(["run", "--bundle", b.dir.to_str().unwrap(), &id])
        .spawn()
        .unwrap();
    wait_status(&root, &id, "running");
    root.ok(&["kill", &id, "SIGKILL"]);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(137));
    root.assert_clean(Some(&b));
}

#[test]
fn run_forwards_signals() {
    let root = Root::new();
    let script = "trap 'echo got-usr1; exit 7' USR1; echo ready; while true; do sleep 0.05; done";
    let b = Bundle::new(&base_config(&["/bin/sh", "-c", script]));
    let id = unique("fwd");
    let mut child = root
        .cmd()
        .args(["run", "--bundle", b.dir.to_str().unwrap(), &id])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The trap is set once the script says so (no fixed sleep).
    use std::io::BufRead;
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGUSR1,
    )
    .unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(7));
    assert_eq!(rest, "got-usr1\n");
}

#[test]
fn json_log_names_the_failure() {
    let root = Root::new();
    let b = Bundle::new(&base_config(&["/bin/true"]));
    let log = b.dir.join("log.json");
    let out = root
        .cmd()
        .args([
            "--log",
            log.to_str().unwrap(),
            "--log-format",
            "json",
            "start",
            "nosuch",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    let line: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(line["level"], "error");
    assert!(line["msg"].as_str().unwrap().contains("nosuch"), "{line}");
    assert!(line["time"].as_str().unwrap().ends_with('Z'));
}

/// With process.terminal and berth relaying the pty, real-time signals are forwarded too
/// (runc cannot run this without a terminal of its own: berth only).
#[test]
fn run_with_a_terminal_forwards_real_time_signals() {
    let root = Root::new();
    let script = "trap 'exit 7' 37; echo > /tmp/ready; while true; do sleep 0.05; done";
    let mut c = base_config(&["/bin/sh", "-c", script]);
    c["process"]["terminal"] = serde_json::json!(true);
    let b = Bundle::new(&c);
    let id = unique("rt");
    let mut child = root
        .cmd()
        .args(["run", "--bundle", b.dir.to_str().unwrap(), &id])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_status(&root, &id, "running");
    let ready = format!("/proc/{}/root/tmp/ready", root.state(&id)["pid"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::path::Path::new(&ready).exists() {
        assert!(Instant::now() < deadline, "the trap was never set");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill(2) with plain integers; 37 is SIGRTMIN+3, which nix cannot name.
    assert_eq!(unsafe { libc::kill(child.id() as i32, 37) }, 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(code, Some(7), "the signal was not forwarded");
    root.assert_clean(Some(&b));
}
