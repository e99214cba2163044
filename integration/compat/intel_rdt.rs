//! linux.intelRdt and update's RDT flags against runc 1.5.1 on a host without resctrl (as
//! this one): the same exit codes and runc's words, nothing left behind; `features`; and
//! update's kernel memory flags (accepted, warned about, not written).
//! The resctrl writes themselves are unit-tested against a fake tree (src/intelrdt.rs).

use super::{assert_same_code, Outcome, Pair};
use crate::common::*;
use serde_json::{json, Value};
use std::path::Path;

const NOT_ENABLED: &str = "intelRdt is specified in config, but Intel RDT is not enabled";

fn with_rdt(rdt: Value) -> Value {
    let mut c = base_config(&["/bin/sleep", "100"]);
    c["linux"]["intelRdt"] = rdt;
    c
}

/// Every field of linux.intelRdt (alone, and a closID that runc would call invalid once
/// RDT is there): runc refuses the config first because resctrl is not mounted; berth
/// does the same, in runc's words, and neither leaves a container or a resctrl group.
#[test]
fn config_with_intel_rdt_fails_as_runc_where_resctrl_is_missing() {
    assert!(
        !std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .contains(" - resctrl "),
        "this test is for a host without resctrl"
    );
    let pair = Pair::new();
    for rdt in [
        json!({}),
        json!({"closID": "gold"}),
        json!({"closID": "a/b"}),
        json!({"l3CacheSchema": "L3:0=f"}),
        json!({"memBwSchema": "MB:0=50"}),
        json!({"schemata": ["L3:0=f", "MB:0=50"]}),
        json!({"enableMonitoring": true}),
    ] {
        let config = with_rdt(rdt.clone());
        let (b, r) = pair.both(|root, id| {
            let bundle = Bundle::new(&config);
            let created = Outcome::of(
                root,
                &["create", "--bundle", bundle.dir.to_str().unwrap(), id],
            );
            let state = Outcome::of(root, &["state", id]);
            let left = root.dir.join(id).exists();
            (created, state, left)
        });
        let what = format!("create with intelRdt {rdt}");
        assert_same_code(&what, &b.0, &r.0);
        assert_eq!(r.0.code, 1, "{what}: runc {:?}", r.0);
        assert_eq!(r.0.error(), format!("runc create failed: {NOT_ENABLED}"));
        assert!(
            b.0.error().contains(NOT_ENABLED),
            "{what}: berth's error lacks runc's words: {:?}",
            b.0
        );
        assert_same_code(&format!("{what}: state after"), &b.1, &r.1);
        assert_ne!(b.1.code, 0, "{what}: berth left a container: {:?}", b.1);
        assert_eq!((b.2, r.2), (false, false), "{what}: state directory left");
        assert!(!Path::new("/sys/fs/resctrl/gold").exists());
    }
}

/// update's schema flags on a running container, together and with a cgroup limit:
/// runc refuses them where RDT is missing (before writing the limit), berth the same way;
/// on a missing container both name the container first.
#[test]
fn update_rdt_flags_fail_as_runc_where_resctrl_is_missing() {
    let pair = Pair::new();
    let mut config = base_config(&["/bin/sleep", "100"]);
    config["linux"]["resources"] = json!({});
    let (b, r) = pair.both(|root, id| {
        let bundle = Bundle::new(&config);
        root.ok(&[
            "run",
            "--detach",
            "--bundle",
            bundle.dir.to_str().unwrap(),
            id,
        ]);
        let pids_before = Outcome::of(root, &["events", "--stats", id]);
        let both = Outcome::of(
            root,
            &[
                "update",
                "--pids-limit",
                "77",
                "--mem-bw-schema",
                "MB:0=50",
                "--l3-cache-schema",
                "L3:0=f",
                id,
            ],
        );
        let pids_after = Outcome::of(root, &["events", "--stats", id]);
        // An empty schema is no schema: the limit is written.
        let empty = Outcome::of(
            root,
            &[
                "update",
                "--l3-cache-schema",
                "",
                "--mem-bw-schema",
                "",
                "--pids-limit",
                "66",
                id,
            ],
        );
        let pids_empty = Outcome::of(root, &["events", "--stats", id]);
        let missing = Outcome::of(root, &["update", "--l3-cache-schema", "L3:0=f", "nosuch"]);
        root.ok(&["delete", "--force", id]);
        let limit = |o: &Outcome| -> Value {
            let v: Value = serde_json::from_str(&o.stdout).unwrap();
            v["data"]["pids"]["limit"].clone()
        };
        (
            both,
            limit(&pids_before),
            limit(&pids_after),
            missing,
            empty,
            limit(&pids_empty),
        )
    });
    assert_same_code("update with both schemas", &b.0, &r.0);
    assert_eq!(r.0.error(), "Intel RDT/CAT: l3 cache schema is not enabled");
    assert!(b.0.error().contains(&r.0.error()), "berth: {:?}", b.0);
    // The refused update wrote no limit.
    assert_eq!(r.1, r.2, "runc's pids limit changed");
    assert_eq!(b.1, b.2, "berth's pids limit changed");
    assert_same_code("update with empty schemas", &b.4, &r.4);
    assert_eq!(r.4.code, 0, "runc: {:?}", r.4);
    assert_eq!((&b.5, &r.5), (&json!(66), &json!(66)), "pids limit after");
    assert_same_code("update of a missing container", &b.3, &r.3);
    assert_eq!(r.3.error(), "container does not exist");
    assert!(b.3.error().contains("does not exist"), "berth: {:?}", b.3);
}

/// `features` says Intel RDT is supported, with schemata and monitoring, as runc 1.5.1
/// does whatever the host has.
#[test]
fn features_intel_rdt_as_runc() {
    let pair = Pair::new();
    let f = |root: &Root| -> Value { serde_json::from_str(&root.ok(&["features"])).unwrap() };
    let (b, r) = (f(&pair.berth), f(&pair.runc));
    assert_eq!(
        r["linux"]["intelRdt"],
        json!({"enabled": true, "schemata": true, "monitoring": true}),
        "runc"
    );
    assert_eq!(b["linux"]["intelRdt"], r["linux"]["intelRdt"], "berth");
}

/// update's kernel memory flags: runc 1.5.1 accepts them, warns that kernel memory
/// settings are ignored, and writes neither kmem limit; berth the same (with the other
/// flags still applied).
#[test]
fn update_kernel_memory_flags_as_runc() {
    let pair = Pair::new();
    let config = base_config(&["/bin/sleep", "100"]);
    let kmem = |pid: i64| -> Vec<String> {
        [
            "memory.kmem.limit_in_bytes",
            "memory.kmem.tcp.limit_in_bytes",
        ]
        .iter()
        .map(|f| {
            let dir = if crate::cgroups::pure_v2() {
                crate::cgroups::host_dir(pid, "")
            } else {
                crate::cgroups::host_dir(pid, "memory")
            };
            std::fs::read_to_string(dir.join(f))
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "<none>".into())
        })
        .collect()
    };
    let (b, r) = pair.both(|root, id| {
        let bundle = Bundle::new(&config);
        root.ok(&[
            "run",
            "--detach",
            "--bundle",
            bundle.dir.to_str().unwrap(),
            id,
        ]);
        let pid = root.state(id)["pid"].as_i64().unwrap();
        let before = kmem(pid);
        let mut seen = Vec::new();
        for args in [
            &["--kernel-memory", "5m"][..],
            &["--kernel-memory-tcp", "6m"],
            &[
                "--kernel-memory",
                "5m",
                "--kernel-memory-tcp",
                "6m",
                "--pids-limit",
                "55",
            ],
        ] {
            let mut full = vec!["update"];
            full.extend_from_slice(args);
            full.push(id);
            let out = Outcome::of(root, &full);
            seen.push((args.join(" "), out.code, messages(&out.stderr), kmem(pid)));
        }
        let pids = std::fs::read_to_string(if crate::cgroups::pure_v2() {
            crate::cgroups::host_dir(pid, "").join("pids.max")
        } else {
            crate::cgroups::host_dir(pid, "pids").join("pids.max")
        })
        .unwrap();
        root.ok(&["delete", "--force", id]);
        (before, seen, pids.trim().to_string())
    });
    assert_eq!(b, r);
    for (args, code, msgs, after) in &r.1 {
        assert_eq!(*code, 0, "runc update {args}");
        assert_eq!(
            msgs.trim(),
            "Kernel memory settings are ignored and will be removed",
            "runc update {args}"
        );
        assert_eq!(after, &r.0, "runc update {args} changed a kmem limit");
    }
    assert_eq!(r.2, "55");
}
