//! Bad input: each case gets one clear error line naming the field or path, a non-zero
//! exit, and leaves nothing behind (no state directory, mount or process).

use crate::common::*;
use serde_json::{json, Value};

/// Creates a container from `config` (or raw text), expecting failure with `want` in the
/// single error line, then checks that nothing was left behind.
fn expect_create_error(config: Result<Value, &str>, want: &str) {
    let root = Root::new();
    let b = match config {
        Ok(v) => Bundle::new(&v),
        Err(text) => Bundle::raw(text),
    };
    let id = unique("bad");
    let err = root.fails(&["create", "--bundle", b.dir.to_str().unwrap(), &id]);
    assert!(err.contains(want), "expected {want:?} in: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one line expected: {err}");
    root.assert_clean(Some(&b));
}

fn edited(edit: impl FnOnce(&mut Value)) -> Result<Value, &'static str> {
    let mut c = base_config(&["/bin/true"]);
    edit(&mut c);
    Ok(c)
}

#[test]
fn broken_json() {
    expect_create_error(Err("{\"ociVersion\": \"1.2.0\", "), "config.json");
}

#[test]
fn missing_config() {
    let root = Root::new();
    let dir = std::env::temp_dir().join(unique("noconfig"));
    std::fs::create_dir_all(&dir).unwrap();
    let err = root.fails(&["create", "--bundle", dir.to_str().unwrap(), &unique("x")]);
    assert!(
        err.contains("config.json") && err.contains("no such file"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    root.assert_clean(None);
}

#[test]
fn bundle_is_a_file() {
    let root = Root::new();
    let file = std::env::temp_dir().join(unique("file"));
    std::fs::write(&file, "x").unwrap();
    let err = root.fails(&["create", "--bundle", file.to_str().unwrap(), &unique("x")]);
    assert!(
        err.contains("not a directory") && err.contains(file.to_str().unwrap()),
        "{err}"
    );
    std::fs::remove_file(&file).unwrap();
    root.assert_clean(None);
}

#[test]
fn bundle_missing() {
    let root = Root::new();
    let err = root.fails(&["create", "--bundle", "/nonexistent/bundle", &unique("x")]);
    assert!(
        err.contains("/nonexistent/bundle") && err.contains("no such directory"),
        "{err}"
    );
    root.assert_clean(None);
}

#[test]
fn missing_rootfs() {
    expect_create_error(
        edited(|c| c["root"]["path"] = json!("nosuchdir")),
        "root.path \"nosuchdir\": no such directory in bundle",
    );
}

#[test]
fn duplicate_namespace() {
    expect_create_error(
        edited(|c| {
            c["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "mount"}, {"type": "pid"}])
        }),
        "linux.namespaces[2]: duplicate namespace \"pid\"",
    );
}

#[test]
fn unknown_namespace_type() {
    expect_create_error(
        edited(|c| c["linux"]["namespaces"] = json!([{"type": "pidd"}])),
        "linux.namespaces[0].type",
    );
}

#[test]
fn unknown_scheduler_flag() {
    // (Unknown capabilities are skipped with a warning, as runc does: compat::process.)
    expect_create_error(
        edited(|c| {
            c["process"]["scheduler"] =
                json!({"policy": "SCHED_OTHER", "flags": ["SCHED_FLAG_FLY"]})
        }),
        "process.scheduler.flags[0]: unknown flag \"SCHED_FLAG_FLY\"",
    );
}

#[test]
fn wrong_type_of_value() {
    expect_create_error(
        edited(|c| c["process"]["user"]["uid"] = json!("root")),
        "process.user.uid",
    );
}

#[test]
fn relative_cwd() {
    expect_create_error(
        edited(|c| c["process"]["cwd"] = json!("tmp")),
        "process.cwd",
    );
}

#[test]
fn empty_args() {
    expect_create_error(edited(|c| c["process"]["args"] = json!([])), "process.args");
}

#[test]
fn hostname_without_uts_namespace() {
    expect_create_error(
        edited(|c| c["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "mount"}])),
        "hostname",
    );
}

#[test]
fn user_namespace_without_mappings() {
    expect_create_error(
        edited(|c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "user"}));
        }),
        "linux.uidMappings",
    );
}

#[test]
fn namespace_path_missing() {
    expect_create_error(
        edited(
            |c| c["linux"]["namespaces"] = json!([{"type": "network", "path": "/proc/999999999/ns/net"}, {"type": "mount"}, {"type": "uts"}]),
        ),
        "/proc/999999999/ns/net",
    );
}

#[test]
fn executable_not_found() {
    expect_create_error(Ok(base_config(&["nosuchprogram"])), "nosuchprogram");
}

#[test]
fn bad_ids() {
    let root = Root::new();
    let b = Bundle::new(&base_config(&["/bin/true"]));
    for id in ["", "..", "a/b", "x y"] {
        let err = root.fails(&["create", "--bundle", b.dir.to_str().unwrap(), id]);
        assert!(err.contains("container id"), "{id:?}: {err}");
    }
    root.assert_clean(Some(&b));
}

#[test]
fn existing_id() {
    let root = Root::new();
    let b = Bundle::new(&base_config(&["/bin/sleep", "60"]));
    let id = unique("dup");
    root.ok(&["create", "--bundle", b.dir.to_str().unwrap(), &id]);
    let pid = root.state(&id)["pid"].clone();
    let err = root.fails(&["create", "--bundle", b.dir.to_str().unwrap(), &id]);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(
        root.state(&id)["pid"],
        pid,
        "the existing container is untouched"
    );
    root.ok(&["delete", "--force", &id]);
}

#[test]
fn commands_on_missing_ids() {
    let root = Root::new();
    for args in [
        vec!["start", "nosuch"],
        vec!["state", "nosuch"],
        vec!["kill", "nosuch"],
        vec!["delete", "nosuch"],
    ] {
        let err = root.fails(&args);
        assert!(err.contains("\"nosuch\" does not exist"), "{args:?}: {err}");
    }
    root.assert_clean(None);
}

#[test]
fn unknown_signal() {
    let root = Root::new();
    let err = root.fails(&["kill", "x", "SIGNOPE"]);
    assert!(err.contains("SIGNOPE"), "{err}");
}

#[test]
fn failing_mount_leaves_nothing() {
    expect_create_error(
        edited(|c| {
            c["mounts"].as_array_mut().unwrap().push(json!({
                "destination": "/mnt", "type": "bind", "source": "/nonexistent/source", "options": ["bind"]
            }));
        }),
        "/nonexistent/source",
    );
}
