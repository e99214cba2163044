//! OCI hooks on real containers: every kind records the state it read on stdin and the
//! namespaces it ran in; the order, the statuses, the pids and the namespaces are asserted,
//! then what a failing (or hanging) hook of each kind does to the lifecycle.

use crate::common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Appends one line per run: `KIND STATUS PID MNT_NS PID_NS ENV` (PID "-" when the state has
/// none). Runs under the host's /bin/sh and the container's busybox sh alike.
const RECORD: &str = r#"#!/bin/sh
state=$(cat)
status=$(echo "$state" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')
pid=$(echo "$state" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
id=$(echo "$state" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
echo "$1 $status ${pid:--} $(readlink /proc/self/ns/mnt) $(readlink /proc/self/ns/pid) $id ${HOOK_ENV:-unset}" >> "$2"
"#;

/// A bundle with its own rootfs (holding the record script at /record.sh) and a shared
/// directory, bound at /mnt in the container, where every hook writes its line. Its hooks are
/// `make(bundle_dir)`, since they name paths in the bundle.
struct HookBundle {
    bundle: Bundle,
    shared: PathBuf,
}

impl HookBundle {
    fn new(make: impl FnOnce(&Path) -> Value) -> HookBundle {
        let bundle = Bundle::new(&json!({}));
        let shared = bundle.dir.join("shared");
        std::fs::create_dir_all(&shared).unwrap();
        let rootfs = bundle.dir.join("rootfs");
        build_rootfs(&rootfs);
        std::fs::write(rootfs.join("record.sh"), RECORD).unwrap();
        let mut c = base_config(&["/bin/sleep", "60"]);
        c["root"]["path"] = json!("rootfs");
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/mnt", "type": "bind", "source": shared, "options": ["rbind"]
        }));
        c["hooks"] = make(&bundle.dir);
        std::fs::write(
            bundle.dir.join("config.json"),
            serde_json::to_vec(&c).unwrap(),
        )
        .unwrap();
        HookBundle { bundle, shared }
    }

    fn edit(&self, edit: impl FnOnce(&mut Value)) {
        let path = self.bundle.dir.join("config.json");
        let mut c: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        edit(&mut c);
        std::fs::write(&path, serde_json::to_vec(&c).unwrap()).unwrap();
    }

    fn dir(&self) -> &str {
        self.bundle.dir.to_str().unwrap()
    }

    fn log(&self) -> Vec<Vec<String>> {
        std::fs::read_to_string(self.shared.join("log"))
            .unwrap_or_default()
            .lines()
            .map(|l| l.split(' ').map(str::to_string).collect())
            .collect()
    }
}

/// A hook running the record script as `kind`: from the host (runtime namespace, and
/// createContainer, which runs before pivot_root) or from inside the container.
fn record(bundle_dir: &Path, kind: &str, in_container: bool) -> Value {
    let (script, log) = if in_container {
        ("/record.sh".to_string(), "/mnt/log".to_string())
    } else {
        (
            bundle_dir.join("rootfs/record.sh").display().to_string(),
            bundle_dir.join("shared/log").display().to_string(),
        )
    };
    json!({
        "path": "/bin/sh",
        "args": ["sh", script, kind, log],
        "env": ["PATH=/usr/bin:/bin", "HOOK_ENV=set"],
        "timeout": 20
    })
}

fn sh_hook(script: &str) -> Value {
    json!({"path": "/bin/sh", "args": ["sh", "-c", script], "env": ["PATH=/usr/bin:/bin"]})
}

fn ns(pid: &str, kind: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .unwrap()
        .display()
        .to_string()
}

fn wait_stopped(root: &Root, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while root.state(id)["status"] != "stopped" {
        assert!(Instant::now() < deadline, "{id} never stopped");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_kind_runs_in_order_with_its_state_and_namespace() {
    let root = Root::new();
    let hb = HookBundle::new(|d| {
        json!({
            "prestart": [record(d, "prestart", false)],
            "createRuntime": [record(d, "createRuntime", false)],
            "createContainer": [record(d, "createContainer", false)],
            "startContainer": [record(d, "startContainer", true)],
            "poststart": [record(d, "poststart", false)],
            "poststop": [record(d, "poststop", false)]
        })
    });
    let id = unique("hooks");
    root.ok(&["create", "--bundle", hb.dir(), &id]);
    let pid = root.state(&id)["pid"].to_string();
    let (host_mnt, host_pidns) = (ns("self", "mnt"), ns("self", "pid"));
    let (ctr_mnt, ctr_pidns) = (ns(&pid, "mnt"), ns(&pid, "pid"));
    assert_ne!(host_mnt, ctr_mnt);
    let kinds = |log: &[Vec<String>]| log.iter().map(|l| l[0].clone()).collect::<Vec<_>>();
    assert_eq!(
        kinds(&hb.log()),
        ["prestart", "createRuntime", "createContainer"]
    );

    root.ok(&["start", &id]);
    assert_eq!(
        kinds(&hb.log()),
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart"
        ]
    );
    // poststart runs once the user's program was executed.
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_eq!(comm.trim(), "sleep");
    root.ok(&["kill", &id, "KILL"]);
    wait_stopped(&root, &id);
    root.ok(&["delete", &id]);

    let log = hb.log();
    assert_eq!(kinds(&log).last().unwrap(), "poststop");
    let runtime = (host_mnt.as_str(), host_pidns.as_str());
    let container = (ctr_mnt.as_str(), ctr_pidns.as_str());
    let want = [
        ("prestart", "creating", pid.as_str(), runtime),
        ("createRuntime", "creating", pid.as_str(), runtime),
        ("createContainer", "creating", "1", container),
        ("startContainer", "created", "1", container),
        ("poststart", "running", pid.as_str(), runtime),
        ("poststop", "stopped", "-", runtime),
    ];
    assert_eq!(log.len(), want.len(), "{log:?}");
    for (line, (kind, status, pid, (mnt, pidns))) in log.iter().zip(want) {
        assert_eq!(
            line,
            &[kind, status, pid, mnt, pidns, id.as_str(), "set"],
            "{log:?}"
        );
    }
    root.assert_clean(Some(&hb.bundle));
}

#[test]
fn a_failing_create_runtime_hook_fails_create_and_leaves_nothing() {
    let root = Root::new();
    let hb = HookBundle::new(|d| {
        let pid_file = d.join("shared/init-pid");
        json!({
            "createRuntime": [
                record(d, "createRuntime", false),
                sh_hook(&format!(
                    r#"sed -n 's/.*"pid":\([0-9]*\).*/\1/p' > {}; echo "no network for you" >&2; exit 2"#,
                    pid_file.display()
                )),
                record(d, "never", false)
            ],
            "createContainer": [record(d, "never", false)],
            "poststop": [record(d, "poststop", false)]
        })
    });
    let id = unique("hookfail");
    let err = root.fails(&["create", "--bundle", hb.dir(), &id]);
    assert_eq!(err.trim().lines().count(), 1, "one line expected: {err}");
    assert!(
        err.contains(
            r#"createRuntime hook #1 (/bin/sh): exited with status 2; stderr: "no network for you""#
        ),
        "{err}"
    );
    let kinds: Vec<String> = hb.log().iter().map(|l| l[0].clone()).collect();
    // The create is undone, then poststop runs (runtime.md, lifecycle steps 12 and 13).
    assert_eq!(kinds, ["createRuntime", "poststop"]);
    let pid = std::fs::read_to_string(hb.shared.join("init-pid")).unwrap();
    assert!(!pid_alive(pid.trim().parse().unwrap()), "init {pid} left");
    root.assert_clean(Some(&hb.bundle));
}

#[test]
fn a_hook_past_its_timeout_is_killed_and_create_fails() {
    let root = Root::new();
    let mut hang = sh_hook("sleep 60");
    hang["timeout"] = json!(1);
    let hb = HookBundle::new(|_| json!({ "prestart": [hang] }));
    let started = Instant::now();
    let err = root.fails(&["create", "--bundle", hb.dir(), &unique("hang")]);
    assert!(started.elapsed() < Duration::from_secs(15), "{err}");
    assert!(
        err.contains("prestart hook #0 (/bin/sh): ran past its timeout of 1s and was killed"),
        "{err}"
    );
    root.assert_clean(Some(&hb.bundle));
}

#[test]
fn a_failing_create_container_hook_fails_create_and_leaves_nothing() {
    let root = Root::new();
    let hb = HookBundle::new(|_| json!({ "createContainer": [sh_hook("exit 5")] }));
    let err = root.fails(&["create", "--bundle", hb.dir(), &unique("cc")]);
    assert!(
        err.contains("createContainer hook #0 (/bin/sh): exited with status 5"),
        "{err}"
    );
    root.assert_clean(Some(&hb.bundle));
}

#[test]
fn a_failing_start_container_hook_fails_start_and_stops_the_container() {
    let root = Root::new();
    let hb =
        HookBundle::new(|_| json!({ "startContainer": [sh_hook("echo not today >&2; exit 4")] }));
    let id = unique("sc");
    root.ok(&["create", "--bundle", hb.dir(), &id]);
    let err = root.fails(&["start", &id]);
    assert!(
        err.contains(
            r#"startContainer hook #0 (/bin/sh): exited with status 4; stderr: "not today""#
        ),
        "{err}"
    );
    wait_stopped(&root, &id);
    root.ok(&["delete", &id]);
    root.assert_clean(Some(&hb.bundle));
}

#[test]
fn a_failing_poststart_hook_stops_the_container_and_delete_runs_poststop() {
    // Spec 1.3, runtime.md step 9: a failing poststart hook is an error and stops the
    // container (runc does the same); the lifecycle goes on with delete and poststop.
    let root = Root::new();
    let hb = HookBundle::new(|d| {
        json!({
            "poststart": [sh_hook("exit 6")],
            "poststop": [record(d, "poststop", false)]
        })
    });
    let id = unique("ps");
    root.ok(&["create", "--bundle", hb.dir(), &id]);
    let err = root.fails(&["start", &id]);
    assert!(
        err.contains("poststart hook #0 (/bin/sh): exited with status 6"),
        "{err}"
    );
    assert_eq!(root.state(&id)["status"], "stopped");
    root.ok(&["delete", &id]);
    let kinds: Vec<String> = hb.log().iter().map(|l| l[0].clone()).collect();
    assert_eq!(kinds, ["poststop"]);
    root.assert_clean(Some(&hb.bundle));
}

#[test]
fn a_failing_poststop_hook_is_a_warning_and_the_next_one_runs() {
    let root = Root::new();
    let hb = HookBundle::new(|d| {
        json!({
            "poststop": [sh_hook("echo cleanup failed >&2; exit 7"), record(d, "poststop", false)]
        })
    });
    let id = unique("pst");
    root.ok(&["create", "--bundle", hb.dir(), &id]);
    let out = root.berth(&["delete", "--force", &id]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("warning") && err.contains("poststop hook #0 (/bin/sh): exited with status 7"),
        "{err}"
    );
    let kinds: Vec<String> = hb.log().iter().map(|l| l[0].clone()).collect();
    assert_eq!(kinds, ["poststop"]);
    root.assert_clean(Some(&hb.bundle));
}

#[test]
fn run_runs_poststop_when_it_deletes() {
    let root = Root::new();
    let hb = HookBundle::new(|d| json!({ "poststop": [record(d, "poststop", false)] }));
    hb.edit(|c| c["process"]["args"] = json!(["/bin/true"]));
    root.ok(&["run", "--bundle", hb.dir(), &unique("run")]);
    let log = hb.log();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0][..3], ["poststop", "stopped", "-"]);
    root.assert_clean(Some(&hb.bundle));
}

#[test]
fn hook_fields_are_validated() {
    let root = Root::new();
    let hb = HookBundle::new(
        |_| json!({ "createRuntime": [sh_hook("true"), {"path": "relative/hook"}] }),
    );
    let err = root.fails(&["create", "--bundle", hb.dir(), &unique("val")]);
    assert!(
        err.contains(
            r#"config.json: hooks.createRuntime[1].path: "relative/hook" is not absolute"#
        ),
        "{err}"
    );
    root.assert_clean(Some(&hb.bundle));
}
