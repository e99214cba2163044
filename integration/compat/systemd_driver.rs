//! `--systemd-cgroup` on this kind of host, compared with the reference runc: no systemd
//! runs here (PID 1 is not systemd), so both refuse a container before making anything, in
//! the same order of checks (the path's form first) and words. The driver itself is tested
//! where systemd runs: the qemu guest booted with systemd (integration/v2guest/systemd).

use super::{assert_same_code, Outcome, Pair};
use crate::common::{base_config, Bundle};

/// The host this suite runs on is not booted with systemd (sd_booted(3)'s test).
fn assert_host_without_systemd() {
    assert!(
        !std::path::Path::new("/run/systemd/system").exists(),
        "this test expects a host whose PID 1 is not systemd (the development VM and CI)"
    );
}

#[test]
fn refused_without_systemd_as_runc() {
    assert_host_without_systemd();
    let pair = Pair::new();
    for (path, expected) in [
        (None, "systemd not running on this host, cannot use systemd cgroups manager"),
        (
            Some("system.slice:berth:x"),
            "systemd not running on this host, cannot use systemd cgroups manager",
        ),
        (
            Some("/not/slice/form"),
            "expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got \"/not/slice/form\" instead",
        ),
        (
            Some("a:b"),
            "expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got \"a:b\" instead",
        ),
    ] {
        let mut c = base_config(&["true"]);
        if let Some(p) = path {
            c["linux"]["cgroupsPath"] = p.into();
        }
        let bundle = Bundle::new(&c);
        let dir = bundle.dir.to_str().unwrap();
        for cmd in ["run", "create"] {
            let (b, r) = pair.both(|root, id| {
                Outcome::of(root, &["--systemd-cgroup", cmd, "--bundle", dir, id])
            });
            assert_same_code(cmd, &b, &r);
            assert_eq!(b.code, 1, "{b:?}");
            assert_eq!(r.error(), format!("runc {cmd} failed: {expected}"), "{path:?}");
            assert_eq!(b.error(), expected, "{path:?}");
        }
        for (_, root) in pair.each() {
            root.assert_clean(Some(&bundle));
        }
    }
}

/// Commands that make no cgroup take the flag and work as without it (runc too).
#[test]
fn other_commands_take_the_flag() {
    let pair = Pair::new();
    let bundle = Bundle::new(&base_config(&["sleep", "30"]));
    let dir = bundle.dir.to_str().unwrap();
    let (b, r) = pair.both(|root, id| {
        root.ok(&["create", "--bundle", dir, id]);
        let list = Outcome::of(root, &["--systemd-cgroup", "list", "-q"]);
        let state = Outcome::of(root, &["--systemd-cgroup", "state", id]);
        let kill = Outcome::of(root, &["--systemd-cgroup", "kill", id, "KILL"]);
        let delete = Outcome::of(root, &["--systemd-cgroup", "delete", "-f", id]);
        (list, state, kill, delete, id.to_string())
    });
    for (what, x, y) in [
        ("list", &b.0, &r.0),
        ("state", &b.1, &r.1),
        ("kill", &b.2, &r.2),
        ("delete", &b.3, &r.3),
    ] {
        assert_same_code(what, x, y);
        assert_eq!(x.code, 0, "{what}: {x:?}");
    }
    assert_eq!(b.0.stdout, format!("{}\n", b.4));
    for (_, root) in pair.each() {
        root.assert_clean(Some(&bundle));
    }
}
