//! linux.netDevices against runc 1.5.1: the host interface inside the container under its
//! new name with its permanent global addresses (IPv4 broadcast added as runc's netlink
//! library does), gone from the host while the container lives and not moved back at delete
//! (the namespace's end destroys a veth, as with runc); runc's errors for bad names, a
//! missing network namespace, a missing interface and a name clash inside; `features`.
//! Each scenario uses its own veth pair (unique names), always deleted.

use super::{Outcome, Pair};
use crate::common::*;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A veth pair on the host, `a` (moved) and `b` (its peer, stays); deleted on drop where
/// it still exists (deleting either end deletes both).
struct Veth {
    a: String,
    b: String,
}

impl Veth {
    /// With `addrs` ("ADDR/PREFIX" plus any `ip addr add` options) on `a`, which is up.
    fn new(addrs: &[&str]) -> Veth {
        let u = unique("n");
        let v = Veth {
            a: format!("{u}a"),
            b: format!("{u}b"),
        };
        assert!(v.a.len() <= 15, "{} too long for an interface name", v.a);
        ip(&["link", "add", &v.a, "type", "veth", "peer", "name", &v.b]);
        for a in addrs {
            let mut args = vec!["addr", "add"];
            args.extend(a.split(' '));
            args.extend(["dev", &v.a]);
            ip(&args);
        }
        ip(&["link", "set", &v.a, "up"]);
        v
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        for n in [&self.a, &self.b] {
            if exists(n) {
                let _ = Command::new("ip").args(["link", "del", n]).status();
            }
        }
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// Waits (with a deadline) until `name` is gone from the host: a namespace's devices go
/// with it in the kernel's cleanup work, a moment after its last process.
fn gone_from_host(name: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while exists(name) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

fn with_devices(args: &[&str], devices: Value) -> Value {
    let mut c = base_config(args);
    c["linux"]["netDevices"] = devices;
    c
}

/// The address lines of `ip addr show` (the interface index and MAC differ per run).
fn inet_lines(out: &str) -> Vec<String> {
    out.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("inet"))
        .map(String::from)
        .collect()
}

#[test]
fn device_inside_renamed_with_its_permanent_global_addresses() {
    let pair = Pair::new();
    let (b, r) = pair.both(|root, _| {
        let v = Veth::new(&[
            "10.77.0.1/24",
            "10.78.0.1/32",
            "10.79.0.1/8 scope link",
            "10.80.0.1/24 valid_lft 600 preferred_lft 600",
        ]);
        let c = with_devices(
            &[
                "/bin/sh",
                "-c",
                "ip addr show dev eth7 && ip link show eth7",
            ],
            json!({ &v.a: {"name": "eth7"} }),
        );
        let (code, out, err) = root.run(&c);
        assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
        let up = out
            .lines()
            .any(|l| l.contains(": eth7") && l.contains(",UP"));
        (inet_lines(&out), up)
    });
    assert_eq!(
        r,
        (
            vec![
                "inet 10.77.0.1/24 brd 10.77.0.255 scope global eth7".to_string(),
                "inet 10.78.0.1/32 scope global eth7".to_string(),
            ],
            true
        ),
        "runc"
    );
    assert_eq!(b, r, "berth vs runc");
}

#[test]
fn device_kept_name_gone_from_host_while_running_not_back_after_delete() {
    let pair = Pair::new();
    let (b, r) = pair.both(|root, id| {
        let v = Veth::new(&["10.81.0.1/24"]);
        let bundle = Bundle::new(&with_devices(&["/bin/sleep", "100"], json!({ &v.a: {} })));
        root.ok(&["create", "--bundle", bundle.dir.to_str().unwrap(), id]);
        let on_host = exists(&v.a);
        let inside = Outcome::of(root, &["exec", id, "ip", "addr", "show", "dev", &v.a]);
        root.ok(&["delete", "--force", id]);
        // The veth goes with the container's namespace: neither end comes back.
        let a_gone = gone_from_host(&v.a);
        let b_gone = gone_from_host(&v.b);
        root.assert_clean(Some(&bundle));
        let addrs: Vec<String> = inet_lines(&inside.stdout)
            .iter()
            .map(|l| l.replace(&v.a, "DEV"))
            .collect();
        (on_host, inside.code, addrs, a_gone, b_gone)
    });
    let want = "inet 10.81.0.1/24 brd 10.81.0.255 scope global DEV".to_string();
    assert_eq!(r, (false, 0, vec![want], true, true), "runc");
    assert_eq!(b, r, "berth vs runc");
}

/// Each bad config fails create with exit 1 and runc's words, leaving nothing behind (the
/// device stays on the host where the move never happened).
#[test]
fn errors_in_runcs_words() {
    let pair = Pair::new();
    type Edit = fn(&mut Value);
    let no_netns: Edit = |c| {
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "network");
    };
    let keep: Edit = |_| {};
    let cases: Vec<(Value, Edit, &str)> = vec![
        (
            json!({"DEV": {}}),
            no_netns,
            "unable to move network devices without a NET namespace",
        ),
        (
            json!({"a/b": {}}),
            keep,
            "invalid network device name \"a/b\"",
        ),
        (
            json!({"DEV": {"name": "a b"}}),
            keep,
            "invalid network device name \"a b\"",
        ),
        (
            json!({"DEV": {"name": "x:1"}}),
            keep,
            "invalid network device name \"x:1\"",
        ),
        (
            json!({"DEV": {"name": ".."}}),
            keep,
            "invalid network device name \"..\"",
        ),
        (
            json!({"DEV": {"name": "abcdefghijklmnopq"}}),
            keep,
            "invalid network device name \"abcdefghijklmnopq\"",
        ),
        (json!({"": {}}), keep, "invalid network device name \"\""),
    ];
    for (devices, edit, words) in &cases {
        let (b, r) = pair.both(|root, id| {
            let v = Veth::new(&[]);
            let devices = serde_json::to_string(devices).unwrap().replace("DEV", &v.a);
            let mut c = with_devices(&["true"], serde_json::from_str(&devices).unwrap());
            edit(&mut c);
            let bundle = Bundle::new(&c);
            let o = Outcome::of(
                root,
                &["create", "--bundle", bundle.dir.to_str().unwrap(), id],
            );
            root.assert_clean(Some(&bundle));
            (o.code, o.error(), exists(&v.a))
        });
        assert_eq!(r.0, 1, "runc {words}: {r:?}");
        assert!(r.1.ends_with(words), "runc: {r:?}");
        assert!(r.2, "runc moved the device: {r:?}");
        assert_eq!(b.0, r.0, "berth {words}: {b:?}");
        assert!(b.1.ends_with(words), "berth {words}: {b:?}");
        assert!(b.2, "berth moved the device: {b:?}");
    }
}

#[test]
fn missing_interface_fails_create() {
    // A name of 16 bytes passes runc's check but no link can have it.
    for long in [false, true] {
        missing_interface(long);
    }
}

fn missing_interface(long: bool) {
    let pair = Pair::new();
    let (b, r) = pair.both(|root, id| {
        let missing = if long {
            "abcdefghijklmnop".to_string()
        } else {
            unique("m")
        };
        let bundle = Bundle::new(&with_devices(&["true"], json!({ &missing: {} })));
        let o = Outcome::of(
            root,
            &["create", "--bundle", bundle.dir.to_str().unwrap(), id],
        );
        root.assert_clean(Some(&bundle));
        let want =
            format!("link not found for interface {missing} on runtime namespace: Link not found");
        (
            o.code,
            o.error().ends_with(&want),
            o.error().contains("move netDevice "),
        )
    });
    assert_eq!(r, (1, true, true), "runc ({long})");
    assert_eq!(b, r, "berth vs runc ({long})");
}

/// A new name taken inside (`lo`): the kernel moves the device and then refuses the
/// rename, so the failed create's namespace takes the veth with it, under runc as under berth.
#[test]
fn name_clash_inside_fails_create() {
    let pair = Pair::new();
    let (b, r) = pair.both(|root, id| {
        let v = Veth::new(&["10.82.0.1/24"]);
        let bundle = Bundle::new(&with_devices(&["true"], json!({ &v.a: {"name": "lo"} })));
        let o = Outcome::of(
            root,
            &["create", "--bundle", bundle.dir.to_str().unwrap(), id],
        );
        root.assert_clean(Some(&bundle));
        let e = o.error();
        let moving = format!(
            "fail to move network device {} to network namespace /proc/",
            v.a
        );
        (
            o.code,
            e.contains(&moving),
            e.ends_with(": file exists"),
            gone_from_host(&v.b),
        )
    });
    assert_eq!(r, (1, true, true, true), "runc");
    assert_eq!(b, r, "berth vs runc");
}

#[test]
fn features_net_devices_as_runc() {
    let pair = Pair::new();
    let f = |root: &Root| -> Value { serde_json::from_str(&root.ok(&["features"])).unwrap() };
    let (b, r) = (f(&pair.berth), f(&pair.runc));
    assert_eq!(r["linux"]["netDevices"], json!({"enabled": true}), "runc");
    assert_eq!(b["linux"]["netDevices"], r["linux"]["netDevices"], "berth");
}

/// A network namespace given by path (`ip netns add`): the device moves into it and stays
/// there, renamed, after the container is deleted, under runc as under berth.
#[test]
fn device_stays_in_a_joined_namespace_after_delete() {
    let pair = Pair::new();
    let (b, r) = pair.both(|root, id| {
        let v = Veth::new(&["10.83.0.1/24"]);
        let ns = unique("nd");
        ip(&["netns", "add", &ns]);
        let mut c = with_devices(&["/bin/sleep", "100"], json!({ &v.a: {"name": "eth9"} }));
        for n in c["linux"]["namespaces"].as_array_mut().unwrap() {
            if n["type"] == "network" {
                n["path"] = json!(format!("/run/netns/{ns}"));
            }
        }
        let bundle = Bundle::new(&c);
        let created = Outcome::of(
            root,
            &["create", "--bundle", bundle.dir.to_str().unwrap(), id],
        );
        let _ = Outcome::of(root, &["delete", "--force", id]);
        let out = Command::new("ip")
            .args(["netns", "exec", &ns, "ip", "addr", "show", "dev", "eth9"])
            .output()
            .unwrap();
        let _ = Command::new("ip").args(["netns", "del", &ns]).status();
        root.assert_clean(Some(&bundle));
        (
            created.code,
            out.status.code(),
            inet_lines(&String::from_utf8_lossy(&out.stdout)),
            exists(&v.a),
        )
    });
    let want = vec!["inet 10.83.0.1/24 brd 10.83.0.255 scope global eth9".to_string()];
    assert_eq!(r, (0, Some(0), want, false), "runc");
    assert_eq!(b, r, "berth vs runc");
}

/// With a new user namespace the network namespace is the container's user namespace's;
/// berth (root on the host) still moves the device in and sets its addresses, as runc.
#[test]
fn device_moved_into_a_user_namespaced_container() {
    let pair = Pair::new();
    let (b, r) = pair.both(|root, _| {
        let v = Veth::new(&["10.84.0.1/24"]);
        let mut c = with_devices(
            &["ip", "addr", "show", "dev", "eth5"],
            json!({ &v.a: {"name": "eth5"} }),
        );
        add_userns(&mut c, 300000);
        let (code, out, err) = root.run(&c);
        (code, inet_lines(&out), messages(&err))
    });
    let want = vec!["inet 10.84.0.1/24 brd 10.84.0.255 scope global eth5".to_string()];
    assert_eq!((r.0, &r.1), (0, &want), "runc: {r:?}");
    assert_eq!((b.0, &b.1), (0, &want), "berth: {b:?}");
}

/// Rootless (here root of a user namespace of its own, as podman runs its runtime): refused
/// in runc's words before anything is made; the device stays on the host.
#[test]
fn refused_for_rootless() {
    let pair = Pair::new();
    let (b, r) = pair.both(|root, id| {
        let v = Veth::new(&[]);
        let bundle = Bundle::new(&with_devices(&["true"], json!({ &v.a: {} })));
        let o = super::rootless::in_foreign_userns(
            root,
            &["create", "--bundle", bundle.dir.to_str().unwrap(), id],
        );
        root.assert_clean(Some(&bundle));
        (o.code, o.error(), exists(&v.a))
    });
    let words = "network devices are not supported for rootless containers";
    assert_eq!(
        (r.0, r.1.ends_with(words), r.2),
        (1, true, true),
        "runc: {r:?}"
    );
    assert_eq!(
        (b.0, b.1.ends_with(words), b.2),
        (1, true, true),
        "berth: {b:?}"
    );
}

/// A new network namespace has its loopback device up (127.0.0.1 and ::1), as runc sets it.
#[test]
fn loopback_up_in_a_new_network_namespace() {
    let pair = Pair::new();
    let (b, r) = pair.both(|root, _| {
        let (code, out, err) = root.run(&base_config(&["ip", "addr", "show", "dev", "lo"]));
        let up = out
            .lines()
            .any(|l| l.contains(": lo:") && l.contains(",UP"));
        (code, up, inet_lines(&out), messages(&err))
    });
    assert_eq!(
        (r.0, r.1, &r.2),
        (
            0,
            true,
            &vec![
                "inet 127.0.0.1/8 scope host lo".to_string(),
                "inet6 ::1/128 scope host".to_string()
            ]
        ),
        "runc: {r:?}"
    );
    assert_eq!(b, r, "berth vs runc");
}

/// Several devices, one renamed and one under its host name, are all moved.
#[test]
fn several_devices_moved() {
    let pair = Pair::new();
    let (b, r) = pair.both(|root, _| {
        let (v1, v2) = (Veth::new(&["10.85.0.1/24"]), Veth::new(&["10.86.0.1/16"]));
        let script = format!("ip addr show dev eth3; ip addr show dev {}", v2.a);
        let c = with_devices(
            &["/bin/sh", "-c", &script],
            json!({ &v1.a: {"name": "eth3"}, &v2.a: {} }),
        );
        let (code, out, err) = root.run(&c);
        let lines: Vec<String> = inet_lines(&out)
            .iter()
            .map(|l| l.replace(&v2.a, "DEV"))
            .collect();
        (code, lines, exists(&v1.a) || exists(&v2.a), messages(&err))
    });
    let want = vec![
        "inet 10.85.0.1/24 brd 10.85.0.255 scope global eth3".to_string(),
        "inet 10.86.0.1/16 brd 10.86.255.255 scope global DEV".to_string(),
    ];
    assert_eq!((r.0, &r.1, r.2), (0, &want, false), "runc: {r:?}");
    assert_eq!(b, r, "berth vs runc");
}

/// A `%d` template as the new name: the spec lets the kernel pick the number, but runc
/// 1.5.1 then looks the device up by the template itself and fails create; berth does the
/// same (runc's behaviour is the contract), with runc's words.
#[test]
fn name_template_fails_as_in_runc() {
    let pair = Pair::new();
    let (b, r) = pair.both(|root, id| {
        let v = Veth::new(&[]);
        let bundle = Bundle::new(&with_devices(&["true"], json!({ &v.a: {"name": "eth%d"} })));
        let o = Outcome::of(
            root,
            &["create", "--bundle", bundle.dir.to_str().unwrap(), id],
        );
        root.assert_clean(Some(&bundle));
        let e = o.error();
        (
            o.code,
            e.contains("link not found for interface eth%d on namespace /proc/"),
            e.ends_with(" : Link not found"),
        )
    });
    assert_eq!(r, (1, true, true), "runc");
    assert_eq!(b, r, "berth vs runc");
}

/// IPv6: runc sets the device down before it reads the addresses, and the kernel drops a
/// down device's IPv6 addresses unless net.ipv6.conf.*.keep_addr_on_down says otherwise;
/// berth reads them at the same moment, so the same ones arrive inside (none here).
#[test]
fn ipv6_addresses_as_runc() {
    let pair = Pair::new();
    let (b, r) = pair.both(|root, _| {
        let v = Veth::new(&["fd00:87::1/64 nodad", "10.87.0.1/24"]);
        let c = with_devices(
            &["ip", "addr", "show", "dev", "eth6"],
            json!({ &v.a: {"name": "eth6"} }),
        );
        let (code, out, err) = root.run(&c);
        (code, inet_lines(&out), messages(&err))
    });
    assert_eq!(r.0, 0, "runc: {r:?}");
    assert!(
        r.1.contains(&"inet 10.87.0.1/24 brd 10.87.0.255 scope global eth6".to_string()),
        "runc: {r:?}"
    );
    assert_eq!((b.0, &b.1), (r.0, &r.1), "berth vs runc");
}

/// `events --stats` of a container with a moved device: runc 1.5.1 reports no interface
/// counters for it (`network_interfaces` null), nor does berth.
#[test]
fn stats_without_interface_counters() {
    let pair = Pair::new();
    let (b, r) = pair.both(|root, id| {
        let v = Veth::new(&[]);
        let bundle = Bundle::new(&with_devices(&["/bin/sleep", "100"], json!({ &v.a: {} })));
        root.ok(&["create", "--bundle", bundle.dir.to_str().unwrap(), id]);
        let o = Outcome::of(root, &["events", "--stats", id]);
        root.ok(&["delete", "--force", id]);
        let stats: Value = serde_json::from_str(&o.stdout).unwrap_or_default();
        (o.code, stats["data"].get("network_interfaces").cloned())
    });
    assert_eq!(r, (0, Some(Value::Null)), "runc");
    assert_eq!(b, r, "berth vs runc");
}
