//! Issue 14, `linux.memoryPolicy`, berth against runc 1.5: the policy read back from inside
//! (the policy column of /proc/self/numa_maps), in the container's process, in an exec'd
//! one and in the hooks; the configs both refuse, and with which words.
//! This host has one NUMA node (0); the multi-node modes need the two-node guest.

use super::{assert_same_code, Outcome, Pair};
use crate::common::{base_config, Bundle};
use serde_json::{json, Value};

/// The policy column of the first mapping of the process running it (busybox sed).
const POLICY: &str = "head -1 /proc/self/numa_maps | sed 's/^[0-9a-f]* //; s/ file=.*//'";

fn with_policy(args: &[&str], policy: Value) -> Value {
    let mut c = base_config(args);
    c["linux"]["memoryPolicy"] = policy;
    c
}

/// `run` of `config` under both runtimes: (berth's, runc's) outcome.
fn run_both(pair: &Pair, config: &Value) -> (Outcome, Outcome) {
    pair.both(|root, id| {
        let bundle = Bundle::new(config);
        Outcome::of(root, &["run", "--bundle", bundle.dir.to_str().unwrap(), id])
    })
}

/// Every mode, and each flag where the kernel takes it, as the container's process sees it.
#[test]
fn policies_read_back_as_runcs() {
    let cases = [
        (json!({"mode": "MPOL_DEFAULT"}), "default"),
        (json!({"mode": "MPOL_DEFAULT", "nodes": ""}), "default"),
        (json!({"mode": "MPOL_LOCAL"}), "local"),
        (json!({"mode": "MPOL_PREFERRED"}), "local"),
        (json!({"mode": "MPOL_PREFERRED", "nodes": "0"}), "prefer:0"),
        (json!({"mode": "MPOL_BIND", "nodes": "0"}), "bind:0"),
        // Nodes the machine lacks are dropped by the kernel while one is left.
        (json!({"mode": "MPOL_BIND", "nodes": " 0-3,7,"}), "bind:0"),
        (
            json!({"mode": "MPOL_INTERLEAVE", "nodes": "0"}),
            "interleave:0",
        ),
        (
            json!({"mode": "MPOL_WEIGHTED_INTERLEAVE", "nodes": "0"}),
            "weighted interleave:0",
        ),
        (
            json!({"mode": "MPOL_PREFERRED_MANY", "nodes": "0"}),
            "prefer (many):0",
        ),
        (
            json!({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}),
            "bind=static:0",
        ),
        (
            json!({"mode": "MPOL_INTERLEAVE", "nodes": "0", "flags": ["MPOL_F_RELATIVE_NODES"]}),
            "interleave=relative:0",
        ),
        // Relative node 1 of a one-node set is node 0.
        (
            json!({"mode": "MPOL_BIND", "nodes": "1", "flags": ["MPOL_F_RELATIVE_NODES"]}),
            "bind=relative:0",
        ),
        (
            json!({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_NUMA_BALANCING"]}),
            "bind=balancing:0",
        ),
        (
            json!({"mode": "MPOL_PREFERRED", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}),
            "prefer=static:0",
        ),
        // The kernel ignores the flags of MPOL_DEFAULT but numa balancing's.
        (
            json!({"mode": "MPOL_DEFAULT", "flags": ["MPOL_F_STATIC_NODES"]}),
            "default",
        ),
    ];
    let pair = Pair::new();
    for (policy, want) in cases {
        let c = with_policy(&["/bin/sh", "-c", POLICY], policy.clone());
        let (b, r) = run_both(&pair, &c);
        assert_eq!(
            (b.code, b.stdout.trim()),
            (0, want),
            "berth, {policy}: {b:?}"
        );
        assert_eq!(
            (r.code, r.stdout.trim()),
            (0, want),
            "runc, {policy}: {r:?}"
        );
    }
    pair.berth.assert_clean(None);
}

/// What only the kernel refuses (a node the machine lacks, exclusive flags, a flag the mode
/// does not take) fails the start in init, with set_mempolicy's error, leaving nothing.
#[test]
fn kernel_refusals_fail_the_start_as_runcs() {
    let cases = [
        json!({"mode": "MPOL_BIND", "nodes": "1"}),
        json!({"mode": "MPOL_PREFERRED", "nodes": "1-1"}),
        json!({"mode": "MPOL_BIND", "nodes": "1", "flags": ["MPOL_F_STATIC_NODES"]}),
        json!({"mode": "MPOL_BIND", "nodes": "0",
               "flags": ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]}),
        json!({"mode": "MPOL_INTERLEAVE", "nodes": "0", "flags": ["MPOL_F_NUMA_BALANCING"]}),
        json!({"mode": "MPOL_LOCAL", "flags": ["MPOL_F_STATIC_NODES"]}),
        json!({"mode": "MPOL_DEFAULT", "flags": ["MPOL_F_NUMA_BALANCING"]}),
    ];
    let pair = Pair::new();
    for policy in cases {
        let c = with_policy(&["/bin/true"], policy.clone());
        let (b, r) = run_both(&pair, &c);
        assert_same_code(&policy.to_string(), &b, &r);
        assert_eq!(b.code, 1, "{policy}: {b:?}");
        for (who, o) in [("berth", &b), ("runc", &r)] {
            let e = o.error();
            assert!(e.contains("set_mempolicy"), "{who}, {policy}: {e}");
            assert!(
                e.to_lowercase().contains("invalid argument"),
                "{who}, {policy}: {e}"
            );
        }
        assert!(b.error().contains("linux.memoryPolicy"), "{}", b.error());
        pair.berth.assert_clean(None);
    }
}

/// Configs refused before anything is created: unknown names, a bad node list, a mode
/// without the nodes it needs or with nodes it forbids. Both exit 1 with runc's words, which
/// berth prefixes with the field.
#[test]
fn invalid_policies_are_refused_in_runcs_words() {
    let cases = [
        (json!({"mode": "MPOL_BOGUS"}), "mode"),
        (json!({"mode": ""}), "mode"),
        (json!({}), "mode"),
        (json!({"mode": null}), "mode"),
        (
            json!({"mode": "MPOL_BIND", "nodes": "0", "flags": [null]}),
            "flags[0]",
        ),
        (json!({"mode": "MPOL_BIND", "nodes": null}), "nodes"),
        (
            json!({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_BOGUS"]}),
            "flags[0]",
        ),
        (
            json!({"mode": "MPOL_BIND", "nodes": "0", "flags": [""]}),
            "flags[0]",
        ),
        (json!({"mode": "MPOL_BIND", "nodes": "3-1"}), "nodes"),
        (json!({"mode": "MPOL_BIND", "nodes": "1024"}), "nodes"),
        (json!({"mode": "MPOL_BIND", "nodes": "0-1024"}), "nodes"),
        (json!({"mode": "MPOL_BIND", "nodes": " , "}), "nodes"),
        (json!({"mode": "MPOL_DEFAULT", "nodes": ","}), "nodes"),
        (json!({"mode": "MPOL_DEFAULT", "nodes": "0"}), "nodes"),
        (json!({"mode": "MPOL_LOCAL", "nodes": "0-1"}), "nodes"),
        (json!({"mode": "MPOL_BIND"}), "nodes"),
        (json!({"mode": "MPOL_INTERLEAVE", "nodes": ""}), "nodes"),
        (json!({"mode": "MPOL_WEIGHTED_INTERLEAVE"}), "nodes"),
        (json!({"mode": "MPOL_PREFERRED_MANY"}), "nodes"),
    ];
    let pair = Pair::new();
    for (policy, field) in cases {
        let c = with_policy(&["/bin/true"], policy.clone());
        let (b, r) = run_both(&pair, &c);
        assert_same_code(&policy.to_string(), &b, &r);
        assert_eq!(b.code, 1, "{policy}: {b:?}");
        let theirs = r.error();
        let theirs = theirs.strip_prefix("runc run failed: ").unwrap_or(&theirs);
        assert_eq!(
            b.error(),
            format!("config.json: linux.memoryPolicy.{field}: {theirs}"),
            "{policy}"
        );
        pair.berth.assert_clean(None);
    }
    // A node list that does not parse: the same refusal, in words of berth's own (runc's
    // are Go's strconv errors).
    for (nodes, part) in [
        ("x", "x"),
        ("-1", ""),
        ("0-", ""),
        ("+1", "+1"),
        ("0 - 1", "0 "),
        ("0-2-3", "2-3"),
        ("0x1", "0x1"),
    ] {
        let c = with_policy(&["/bin/true"], json!({"mode": "MPOL_BIND", "nodes": nodes}));
        let (b, r) = run_both(&pair, &c);
        assert_same_code(nodes, &b, &r);
        assert_eq!(
            b.error(),
            format!(
                "config.json: linux.memoryPolicy.nodes: invalid memory policy nodes {nodes:?}: \
                 {part:?} is not a node number"
            ),
        );
        assert!(
            r.error()
                .contains(&format!("invalid memory policy nodes {nodes:?}: ")),
            "{}",
            r.error()
        );
    }
}

/// An exec'd process (not init's child) gets the container's policy too, as runc's.
#[test]
fn exec_gets_the_containers_policy_as_runcs() {
    let policy = json!({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]});
    let c = with_policy(&["/bin/sleep", "100"], policy);
    let pair = Pair::new();
    let (b, r) = pair.both(|root, id| {
        let bundle = Bundle::new(&c);
        root.ok(&["run", "-d", "--bundle", bundle.dir.to_str().unwrap(), id]);
        let out = Outcome::of(root, &["exec", id, "/bin/sh", "-c", POLICY]);
        root.ok(&["delete", "-f", id]);
        (out.code, out.stdout.trim().to_string())
    });
    assert_eq!(b, (0, "bind=static:0".to_string()), "berth");
    assert_eq!(b, r, "berth and runc");
}

/// The moment it is set: after the createContainer hooks (which keep the caller's policy),
/// before the startContainer hooks (which have the container's), as in runc.
#[test]
fn hooks_see_the_policy_as_runcs() {
    let pair = Pair::new();
    let (b, r) = pair.both(|root, id| {
        let out = std::env::temp_dir().join(crate::common::unique("mempol"));
        let script = format!("{POLICY} > /tmp/start");
        let mut c = with_policy(
            &["/bin/cat", "/tmp/start"],
            json!({"mode": "MPOL_PREFERRED", "nodes": "0"}),
        );
        let host = format!(
            "head -1 /proc/self/numa_maps | cut -d' ' -f2 > {}",
            out.display()
        );
        c["hooks"] = json!({
            "createContainer": [{"path": "/bin/sh", "args": ["sh", "-c", host]}],
            "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", script]}],
        });
        let bundle = Bundle::new(&c);
        let o = Outcome::of(root, &["run", "--bundle", bundle.dir.to_str().unwrap(), id]);
        let create = std::fs::read_to_string(&out).unwrap_or_default();
        let _ = std::fs::remove_file(&out);
        (
            o.code,
            create.trim().to_string(),
            o.stdout.trim().to_string(),
        )
    });
    assert_eq!(
        b,
        (0, "default".to_string(), "prefer:0".to_string()),
        "berth"
    );
    assert_eq!(b, r, "berth and runc");
}

/// `features` lists the modes and flags as runc 1.5 does.
#[test]
fn features_list_the_modes_and_flags_as_runcs() {
    let pair = Pair::new();
    let f = |root: &crate::common::Root| -> Value {
        serde_json::from_str(&root.ok(&["features"])).unwrap()
    };
    let (b, r) = (f(&pair.berth), f(&pair.runc));
    assert_eq!(
        b["linux"]["memoryPolicy"]["modes"].as_array().map(Vec::len),
        Some(7)
    );
    assert_eq!(b["linux"]["memoryPolicy"], r["linux"]["memoryPolicy"]);
}
