//! What berth prints as JSON, compared with runc: `state`, `list -f json`, `ps -f json`.

use super::{assert_same_shape, stats_shape, Pair, Shape};
use crate::common::{base_config, Bundle};

/// A created container, then running, then stopped: `state` and `list -f json` give the same
/// keys in the same order with the same types at each status, and the same values where
/// they do not depend on the runtime (status, pid 0 when stopped, bundle, ociVersion).
#[test]
fn state_and_list_json() {
    let pair = Pair::new();
    let bundle = Bundle::new(&base_config(&["/bin/sleep", "100"]));
    let dir = bundle.dir.to_str().unwrap();
    let (b, r) = pair.both(|root, id| {
        let mut seen = Vec::new();
        root.ok(&["create", "--bundle", dir, id]);
        seen.push((root.ok(&["state", id]), root.ok(&["list", "-f", "json"])));
        root.ok(&["start", id]);
        seen.push((root.ok(&["state", id]), root.ok(&["list", "-f", "json"])));
        root.ok(&["kill", id, "KILL"]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while root.state(id)["status"] != "stopped" {
            assert!(std::time::Instant::now() < deadline, "{id} did not stop");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        seen.push((root.ok(&["state", id]), root.ok(&["list", "-f", "json"])));
        root.ok(&["delete", id]);
        seen
    });
    for ((bs, bl), (rs, rl)) in b.iter().zip(&r) {
        assert_same_shape("state", bs, rs);
        assert_same_shape("list -f json", bl, rl);
        let (bv, rv): (serde_json::Value, serde_json::Value) = (
            serde_json::from_str(bs).unwrap(),
            serde_json::from_str(rs).unwrap(),
        );
        for key in ["ociVersion", "status", "bundle", "rootfs", "owner"] {
            assert_eq!(bv[key], rv[key], "state.{key}: berth {bs} runc {rs}");
        }
        assert_eq!(
            bv["pid"] == 0,
            rv["pid"] == 0,
            "state.pid: berth {bs} runc {rs}"
        );
        // Go's RFC3339Nano: no trailing zeros in the fraction.
        let created = bv["created"].as_str().unwrap();
        assert!(
            !created.trim_end_matches('Z').ends_with('0'),
            "created {created}"
        );
        let (bl, rl) = (Shape::parse(bl), Shape::parse(rl));
        assert_eq!(bl, rl);
    }
}

/// `state` pretty-prints with runc's indentation (two spaces) and no trailing newline
/// differences that would break a line-based reader.
#[test]
fn state_text_layout() {
    let pair = Pair::new();
    let bundle = Bundle::new(&base_config(&["/bin/true"]));
    let dir = bundle.dir.to_str().unwrap();
    let (b, r) = pair.both(|root, id| {
        root.ok(&["create", "--bundle", dir, id]);
        let out = root.ok(&["state", id]);
        root.ok(&["delete", "--force", id]);
        out
    });
    let layout =
        |s: &str| -> Vec<usize> { s.lines().map(|l| l.len() - l.trim_start().len()).collect() };
    assert_eq!(layout(&b), layout(&r), "berth:\n{b}\nrunc:\n{r}");
}

/// `ps -f json` (a JSON array of pids) and `events --stats` (one stats event) of a running
/// container: the same shape as runc's, key for key and in order. The hugetlb map's keys are
/// the page sizes the runtime found a controller for (a listed difference on hybrid hosts).
#[test]
fn ps_and_events_stats_json() {
    let pair = Pair::new();
    let mut c = base_config(&["/bin/sleep", "100"]);
    c["linux"]["resources"] = serde_json::json!({
        "memory": {"limit": 64 << 20},
        "cpu": {"quota": 50000, "period": 100000},
        "pids": {"limit": 50}
    });
    let bundle = Bundle::new(&c);
    let dir = bundle.dir.to_str().unwrap();
    let (b, r) = pair.both(|root, id| {
        root.ok(&["run", "--detach", "--bundle", dir, id]);
        let ps = root.ok(&["ps", "-f", "json", id]);
        let stats = root.ok(&["events", "--stats", id]);
        root.ok(&["delete", "--force", id]);
        (ps, stats)
    });
    assert_same_shape("ps -f json", &b.0, &r.0);
    let pids: Vec<i64> = serde_json::from_str(&b.0).unwrap();
    assert_eq!(pids.len(), 1, "one process: {}", b.0);
    assert_eq!(
        stats_shape(b.1.trim()),
        stats_shape(r.1.trim()),
        "events --stats shapes differ\nberth: {}\nrunc:  {}",
        b.1,
        r.1
    );
    let stats: serde_json::Value = serde_json::from_str(&b.1).unwrap();
    assert_eq!(stats["type"], "stats");
    assert_eq!(stats["data"]["pids"]["limit"], 50);
    assert_eq!(stats["data"]["memory"]["usage"]["limit"], 64 << 20);
}
