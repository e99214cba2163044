//! runc 1.5's command-line flags (issue 14): the global `--rootless auto|true|false` and
//! checkpoint's CRIU flags, compared with the reference runc. What CRIU does with the
//! checkpoint flags is checked in the qemu guest (v2guest/payloads/checkpoint.sh), where
//! CRIU works; here only what runc decides before CRIU runs.

use super::{assert_same_code, Outcome, Pair};
use crate::common::{base_config, Bundle, Root};
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

/// A config that reads its memory limit from its own cgroup (mounted read-only).
fn memory_limit_config() -> Value {
    let mut c = base_config(&["cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]);
    c["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
        "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]
    }));
    c["linux"]["resources"] = json!({"memory": {"limit": 33554432}});
    c
}

/// As root, every value runc takes (Go's ParseBool words, and auto in any case) makes the
/// container with its limit: the rootless cgroup handling ignores only permission errors,
/// which root does not meet.
#[test]
fn rootless_values_as_root() {
    let bundle = Bundle::new(&memory_limit_config());
    let dir = bundle.dir.to_str().unwrap();
    let pair = Pair::new();
    for value in ["true", "false", "auto", "AUTO", "1", "F"] {
        let (b, r) = pair
            .both(|root, id| Outcome::of(root, &["--rootless", value, "run", "--bundle", dir, id]));
        assert_same_code(value, &b, &r);
        assert_eq!(r.code, 0, "runc --rootless {value}: {r:?}");
        assert_eq!(b.stdout, r.stdout, "--rootless {value}");
        assert_eq!(b.stdout, "33554432\n");
    }
    for (_, root) in pair.each() {
        root.assert_clean(Some(&bundle));
    }
}

/// runc judges the value only when it makes a container: `list` takes anything, `run`
/// fails before anything is made.
#[test]
fn rootless_bad_value() {
    let bundle = Bundle::new(&base_config(&["true"]));
    let dir = bundle.dir.to_str().unwrap();
    let pair = Pair::new();
    let (b, r) =
        pair.both(|root, id| Outcome::of(root, &["--rootless", "xyz", "run", "--bundle", dir, id]));
    assert_same_code("run", &b, &r);
    assert_eq!(b.code, 1);
    assert_eq!(
        r.error(),
        r#"runc run failed: strconv.ParseBool: parsing "xyz": invalid syntax"#
    );
    assert_eq!(b.error(), r#"--rootless "xyz": not auto, true or false"#);
    let (b, r) = pair.both(|root, _| {
        std::fs::create_dir_all(&root.dir).unwrap();
        Outcome::of(root, &["--rootless", "xyz", "list"])
    });
    assert_same_code("list", &b, &r);
    assert_eq!(b.code, 0, "{b:?}");
    for (_, root) in pair.each() {
        root.assert_clean(Some(&bundle));
    }
}

/// A host uid no account uses, for the unprivileged runs.
const USER: u32 = 100_777;

/// Runs `root`'s runtime as uid USER (no supplementary groups, no XDG_RUNTIME_DIR) with
/// `args` after its --root, which USER owns.
fn as_user(root: &Root, args: &[&str]) -> Outcome {
    std::fs::create_dir_all(&root.dir).unwrap();
    std::os::unix::fs::chown(&root.dir, Some(USER), Some(USER)).unwrap();
    let mut cmd = Command::new("setpriv");
    cmd.arg(format!("--reuid={USER}"))
        .arg(format!("--regid={USER}"))
        .args(["--clear-groups", "env", "-u", "XDG_RUNTIME_DIR"])
        .arg(&root.bin)
        .arg("--root")
        .arg(&root.dir)
        .args(args);
    Outcome::from_cmd(&mut cmd)
}

/// An unprivileged user's config: a user namespace mapping root to USER, and no devpts gid
/// the namespace cannot map.
fn user_config() -> Value {
    let mut c = base_config(&["id", "-u"]);
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": USER, "size": 1}]);
    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": USER, "size": 1}]);
    assert_eq!(c["mounts"][2]["destination"], "/dev/pts");
    c["mounts"][2]["options"] = json!([
        "nosuid",
        "noexec",
        "newinstance",
        "ptmxmode=0666",
        "mode=0620"
    ]);
    c
}

/// As an unprivileged user whose cgroups are not delegated: auto (and true) run the
/// container without a cgroup of its own; false takes the cgroup errors as root would, and
/// the container is not made.
#[test]
fn rootless_values_as_an_unprivileged_user() {
    let bundle = Bundle::new(&user_config());
    std::fs::set_permissions(&bundle.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let dir = bundle.dir.to_str().unwrap();
    let pair = Pair::new();
    for value in ["auto", "true"] {
        let (b, r) =
            pair.both(|root, id| as_user(root, &["--rootless", value, "run", "--bundle", dir, id]));
        assert_eq!(r.code, 0, "runc --rootless {value}: {r:?}");
        assert_same_code(value, &b, &r);
        assert_eq!(b.stdout, "0\n");
    }
    let (b, r) =
        pair.both(|root, id| as_user(root, &["--rootless", "false", "run", "--bundle", dir, id]));
    assert_same_code("false", &b, &r);
    assert_eq!(r.code, 1, "runc --rootless false: {r:?}");
    for (name, o) in [("berth", &b), ("runc", &r)] {
        assert!(
            o.error().to_lowercase().contains("permission denied"),
            "{name}: {o:?}"
        );
    }
    for (_, root) in pair.each() {
        root.assert_clean(Some(&bundle));
    }
}

/// checkpoint's flags that runc refuses before CRIU runs, with runc's words, on a running
/// container, which keeps running. --lazy-pages asks CRIU first whether it can: both
/// runtimes agree on the answer (on this host CRIU's feature check fails for both).
#[test]
fn checkpoint_flag_errors() {
    let bundle = Bundle::new(&base_config(&["sleep", "1000"]));
    let dir = bundle.dir.to_str().unwrap();
    let pair = Pair::new();
    let (b, r) = pair.both(|root, id| {
        let o = Outcome::of(root, &["run", "-d", "--bundle", dir, id]);
        assert_eq!(o.code, 0, "{o:?}");
        id.to_string()
    });
    let images = crate::common::unique("/tmp/berth-ckpt-flags");
    let image_b = format!("{images}-b");
    let image_r = format!("{images}-r");
    let run = |args: &[&str]| {
        let with = |id: &str, img: &str| -> Vec<String> {
            let mut v: Vec<String> = vec!["checkpoint".into(), "--leave-running".into()];
            v.extend(args.iter().map(|a| a.to_string()));
            v.extend(["--image-path".into(), img.into(), id.into()]);
            v
        };
        let (vb, vr) = (with(&b, &image_b), with(&r, &image_r));
        let vb: Vec<&str> = vb.iter().map(String::as_str).collect();
        let vr: Vec<&str> = vr.iter().map(String::as_str).collect();
        (Outcome::of(&pair.berth, &vb), Outcome::of(&pair.runc, &vr))
    };
    for (args, msg) in [
        (
            &["--page-server", "foo"][..],
            "Use --page-server ADDRESS:PORT to specify page server",
        ),
        (
            &["--page-server", ":80"][..],
            "Use --page-server ADDRESS:PORT to specify page server",
        ),
        (&["--page-server", "foo:bar"][..], "Invalid port number"),
        (
            &["--empty-ns", "ipc"][..],
            r#"namespace "ipc" is not supported"#,
        ),
        (
            &["--empty-ns", "network", "--empty-ns", "pid"][..],
            r#"namespace "pid" is not supported"#,
        ),
    ] {
        let (ob, or) = run(args);
        assert_same_code(&format!("{args:?}"), &ob, &or);
        assert_eq!(or.code, 1, "{args:?}: {or:?}");
        assert_eq!(or.error(), msg, "{args:?}");
        assert_eq!(ob.error(), msg, "{args:?}");
    }
    let (ob, or) = run(&["--lazy-pages", "--status-fd", "99"]);
    assert_same_code("--lazy-pages", &ob, &or);
    if or.code != 0 {
        assert!(
            or.error().starts_with("CRIU feature check failed"),
            "{or:?}"
        );
        assert!(
            ob.error()
                .contains("--lazy-pages: CRIU's feature check failed"),
            "{ob:?}"
        );
    }
    for (root, id) in [(&pair.berth, &b), (&pair.runc, &r)] {
        assert_eq!(root.state(id)["status"], "running");
        root.ok(&["delete", "--force", id]);
    }
    for d in [&image_b, &image_r] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// Root of a user namespace (rootless podman's runtime) with `--rootless false`: the cgroup
/// is made as root makes it, and the device rules, which need privileges over the initial
/// user namespace, are skipped as runc skips them in a user namespace.
#[test]
fn rootless_false_in_a_user_namespace() {
    let mut c = base_config(&["sh", "-c", "grep -c memory:/ /proc/self/cgroup"]);
    super::rootless::devpts_without_tty_gid(&mut c);
    // `runc spec`'s rule, which a devices cgroup would take.
    c["linux"]["resources"] = json!({"devices": [{"allow": false, "access": "rwm"}]});
    let bundle = Bundle::new(&c);
    let dir = bundle.dir.to_str().unwrap();
    let pair = Pair::new();
    let (b, r) = pair.both(|root, id| {
        super::rootless::in_foreign_userns(
            root,
            &["--rootless", "false", "run", "--bundle", dir, id],
        )
    });
    assert_eq!(r.code, 0, "runc: {r:?}");
    assert_same_code("--rootless false", &b, &r);
    assert_eq!(b.stdout, r.stdout);
    assert_eq!(b.stdout, "1\n");
}
