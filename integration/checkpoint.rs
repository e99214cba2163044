//! checkpoint and restore. The command line and the refusals (no CRIU needed) run
//! everywhere. A real checkpoint and restore needs a kernel where `criu check` passes; where
//! it fails (this VM's 6.18 kernel with Debian's criu 3.17) that test is ignored, not
//! counted as passed; run it with `--ignored` where criu works. The real
//! round trips run in the pure cgroup v2 guest: integration/v2guest/payloads/checkpoint.sh.

use crate::common::*;
use serde_json::json;
use std::process::Command;
use std::time::{Duration, Instant};

/// Why CRIU cannot work here, or None when `criu check` passes.
fn criu_unusable() -> Option<String> {
    match Command::new("criu").arg("check").output() {
        Err(e) => Some(format!("running criu: {e}")),
        Ok(o) if o.status.success() => None,
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stderr).into_owned()
                + &String::from_utf8_lossy(&o.stdout);
            // criu's probes of helper programs fail first (util.c); the cause comes after.
            let mut errors = text.lines().filter(|l| l.contains("Error"));
            let line = errors
                .clone()
                .find(|l| !l.contains("util.c"))
                .or_else(|| errors.next())
                .unwrap_or("");
            Some(format!("{} {line}", o.status))
        }
    }
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn commands_take_runcs_flags() {
    let root = Root::new();
    let help = root.ok(&["checkpoint", "--help"]);
    for flag in [
        "--image-path",
        "--work-path",
        "--leave-running",
        "--tcp-established",
        "--ext-unix-sk",
        "--shell-job",
        "--file-locks",
        "--pre-dump",
        "--parent-path",
        "--manage-cgroups-mode",
    ] {
        assert!(
            help.contains(flag),
            "checkpoint --help lacks {flag}: {help}"
        );
    }
    let help = root.ok(&["restore", "--help"]);
    for flag in [
        "--image-path",
        "--work-path",
        "--tcp-established",
        "--ext-unix-sk",
        "--shell-job",
        "--file-locks",
        "--manage-cgroups-mode",
        "--bundle",
        "--detach",
        "--pid-file",
        "--console-socket",
        "--no-pivot",
    ] {
        assert!(help.contains(flag), "restore --help lacks {flag}: {help}");
    }
    let err = root.fails(&["checkpoint", "--manage-cgroups-mode", "bogus", "x"]);
    assert!(err.contains("manage-cgroups-mode"), "{err}");
    for mode in ["soft", "full", "strict", "ignore"] {
        // Parsed, then refused for the missing container (not for the mode).
        let err = root.fails(&["checkpoint", "--manage-cgroups-mode", mode, "nothere"]);
        assert!(err.contains("does not exist"), "{mode}: {err}");
    }
}

#[test]
fn checkpoint_refuses_missing_created_and_stopped() {
    let root = Root::new();
    let img = std::env::temp_dir().join(unique("ckpt-img"));
    let img_s = img.to_str().unwrap();
    let err = root.fails(&["checkpoint", "--image-path", img_s, "nothere"]);
    assert!(err.contains("\"nothere\" does not exist"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let b = Bundle::new(&base_config(&["/bin/sleep", "100"]));
    let id = unique("ck-created");
    root.ok(&["create", "--bundle", b.dir.to_str().unwrap(), &id]);
    let err = root.fails(&["checkpoint", "--image-path", img_s, &id]);
    assert!(err.contains("it is created"), "{err}");
    assert_eq!(root.state(&id)["status"], "created");

    let b2 = Bundle::new(&base_config(&["/bin/true"]));
    let id2 = unique("ck-stopped");
    root.ok(&["run", "-d", "--bundle", b2.dir.to_str().unwrap(), &id2]);
    wait_for("the container to stop", || {
        root.state(&id2)["status"] == "stopped"
    });
    let err = root.fails(&["checkpoint", "--image-path", img_s, &id2]);
    assert!(err.contains("it is stopped"), "{err}");
    // Refused before anything was written.
    assert!(!img.exists());
}

#[test]
fn checkpoint_refuses_an_absolute_parent_path() {
    let root = Root::new();
    let b = Bundle::new(&base_config(&["/bin/sleep", "100"]));
    let id = unique("ck-parent");
    root.ok(&["run", "-d", "--bundle", b.dir.to_str().unwrap(), &id]);
    let img = std::env::temp_dir().join(unique("ckpt-img"));
    let err = root.fails(&[
        "checkpoint",
        "--image-path",
        img.to_str().unwrap(),
        "--parent-path",
        "/abs",
        &id,
    ]);
    assert!(
        err.contains("--parent-path /abs: must be relative"),
        "{err}"
    );
    let err = root.fails(&[
        "checkpoint",
        "--image-path",
        img.to_str().unwrap(),
        "--parent-path",
        "../none",
        &id,
    ]);
    assert!(err.contains("not a directory of a previous dump"), "{err}");
    assert_eq!(root.state(&id)["status"], "running");
    let _ = std::fs::remove_dir_all(&img);
}

#[test]
fn restore_refusals_leave_nothing() {
    let root = Root::new();
    let b = Bundle::new(&base_config(&["/bin/true"]));
    let bundle = b.dir.to_str().unwrap();
    let img = std::env::temp_dir().join(unique("ckpt-none"));
    let img_s = img.to_str().unwrap();
    let id = unique("rs");
    let base = ["restore", "-d", "--bundle", bundle, "--image-path", img_s];

    // A console socket without a terminal: refused before anything is made (runc's rule).
    let err = root.fails(&[&base[..], &["--console-socket", "/tmp/x.sock", &id]].concat());
    assert!(
        err.contains("cannot use console socket if berth will not detach or allocate tty"),
        "{err}"
    );
    let err = root.fails(&[&base[..], &["--no-pivot", &id]].concat());
    assert!(
        err.contains("no checkpoint made by berth checkpoint here"),
        "{err}"
    );
    let err = root.fails(&[&base[..], &[id.as_str()]].concat());
    assert!(
        err.contains("no checkpoint made by berth checkpoint here"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    root.assert_clean(Some(&b));
    assert!(
        !root.dir.join(format!("criu-host~{id}")).exists(),
        "--no-pivot's directory left behind"
    );

    // A terminal, detached, needs a console socket to take it (as create and run -d).
    let mut c = base_config(&["/bin/true"]);
    c["process"]["terminal"] = json!(true);
    let t = Bundle::new(&c);
    let err = root.fails(&[
        "restore",
        "-d",
        "--bundle",
        t.dir.to_str().unwrap(),
        "--image-path",
        img_s,
        &id,
    ]);
    assert!(err.contains("console socket"), "{err}");
    root.assert_clean(Some(&t));
}

/// The real round trip: a counter on a bind mount, checkpointed (which destroys the
/// container) and restored under a new id, counts on. Ignored by default, so that a host
/// where it cannot run does not count it as passed: `criu check` fails on this project's
/// VM kernel, and the same round trip runs in the v2 guest (payloads/checkpoint.sh, part of
/// `make test`). Run it with `cargo test -- --ignored` where `criu check` passes.
#[test]
#[ignore = "needs a kernel where `criu check` passes; covered by the v2 guest's checkpoint payload"]
fn checkpoint_and_restore_a_counter() {
    if let Some(why) = criu_unusable() {
        panic!("criu check failed: {why}");
    }
    let root = Root::new();
    let data = std::env::temp_dir().join(unique("ckpt-data"));
    std::fs::create_dir_all(&data).unwrap();
    let mut c = base_config(&[
        "/bin/sh",
        "-c",
        "i=0; while :; do i=$((i + 1)); echo $i >/mnt/count; sleep 0.1; done",
    ]);
    c["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/mnt", "type": "bind", "source": data, "options": ["rbind", "rw"]
    }));
    let b = Bundle::new(&c);
    let bundle = b.dir.to_str().unwrap();
    let count = || -> u64 {
        std::fs::read_to_string(data.join("count"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    };
    let id = unique("ck");
    root.ok(&["run", "-d", "--bundle", bundle, &id]);
    wait_for("the counter", || count() > 3);
    let img = std::env::temp_dir().join(unique("ckpt-img"));
    let img_s = img.to_str().unwrap();
    root.ok(&["checkpoint", "--image-path", img_s, &id]);
    assert!(root.fails(&["state", &id]).contains("does not exist"));
    let before = count();
    let id2 = unique("ck-restored");
    root.ok(&[
        "restore",
        "-d",
        "--bundle",
        bundle,
        "--image-path",
        img_s,
        &id2,
    ]);
    assert_eq!(root.state(&id2)["status"], "running");
    wait_for("the counter to go on", || count() > before + 2);
    assert!(count() < before + 200, "the counter restarted");
    root.ok(&["delete", "--force", &id2]);
    let _ = std::fs::remove_dir_all(&img);
    let _ = std::fs::remove_dir_all(&data);
}
