//! The stdio a manager gives a container: "no input" is /dev/null opened read-only (Go's
//! os/exec for a nil Stdin, in containerd's shim and conmon). runc's init, where it made
//! /dev itself, puts the container's own /dev/null opened read-write in its place (stdout
//! and stderr alike); an exec'd process, and init under a bind-mounted /dev, keep what they
//! were given.

use super::Pair;
use crate::common::{base_config, Bundle, Root};
use serde_json::{json, Value};
use std::fs::File;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The mode of fd 0 as `ls -l` shows it, and whether writing to it works.
const PROBE: &str =
    "ls -l /proc/self/fd/0 | cut -c1-10; echo x >&0 2>/dev/null && echo wrote || echo refused";

fn wait_stopped(root: &Root, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while root.state(id)["status"] != "stopped" {
        assert!(Instant::now() < deadline, "{id} did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `run -d` of `config` with stdin /dev/null (read-only) and stdout a file: what it wrote.
fn detached_output(root: &Root, id: &str, config: &Value) -> String {
    let b = Bundle::new(config);
    let out = b.dir.join("out");
    let status = root
        .cmd()
        .args(["run", "-d", "--bundle", b.dir.to_str().unwrap(), id])
        .stdin(Stdio::null())
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(b.dir.join("err")).unwrap())
        .status()
        .unwrap();
    assert!(status.success(), "run -d {id}");
    wait_stopped(root, id);
    root.ok(&["delete", id]);
    std::fs::read_to_string(&out).unwrap()
}

#[test]
fn init_gets_the_containers_dev_null_read_write() {
    let pair = Pair::new();
    let c = base_config(&["/bin/sh", "-c", PROBE]);
    let (ob, or) = pair.both(|root, id| detached_output(root, id, &c));
    assert_eq!(ob, or, "berth vs runc");
    assert_eq!(ob, "lrwx------\nwrote\n", "berth");
}

#[test]
fn init_under_a_bind_mounted_dev_keeps_its_dev_null() {
    let pair = Pair::new();
    let mut c = base_config(&["/bin/sh", "-c", PROBE]);
    for m in c["mounts"].as_array_mut().unwrap() {
        if m["destination"] == "/dev" {
            *m = json!({"destination": "/dev", "type": "bind", "source": "/dev",
                        "options": ["rbind", "nosuid", "noexec"]});
        }
    }
    let (ob, or) = pair.both(|root, id| detached_output(root, id, &c));
    assert_eq!(ob, or, "berth vs runc");
    assert_eq!(ob, "lr-x------\nrefused\n", "berth");
}

#[test]
fn exec_keeps_the_dev_null_it_was_given() {
    let pair = Pair::new();
    let b = Bundle::new(&base_config(&["sleep", "60"]));
    let dir = b.dir.to_str().unwrap();
    let (ob, or) = pair.both(|root, id| {
        root.ok(&["run", "-d", "--bundle", dir, id]);
        // Detached, as a shim runs it: the process gets these fds themselves.
        let out = b.dir.join(format!("exec-{id}"));
        let status = root
            .cmd()
            .args(["exec", "-d", id, "/bin/sh", "-c", PROBE])
            .stdin(Stdio::null())
            .stdout(File::create(&out).unwrap())
            .status()
            .unwrap();
        assert!(status.success(), "exec -d {id}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut text = String::new();
        while text.lines().count() < 2 {
            assert!(Instant::now() < deadline, "exec -d {id} wrote {text:?}");
            std::thread::sleep(Duration::from_millis(20));
            text = std::fs::read_to_string(&out).unwrap();
        }
        root.ok(&["delete", "-f", id]);
        text
    });
    assert_eq!(ob, or, "berth vs runc");
    assert_eq!(ob, "lr-x------\nrefused\n", "berth");
}
