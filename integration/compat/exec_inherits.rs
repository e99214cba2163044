//! What an exec'd process (docker exec, ctr task exec, podman exec) takes from the container
//! rather than from its caller or its own process.json, as with runc.

use super::{Outcome, Pair};
use crate::common::{base_config, Bundle};
use serde_json::json;

/// The container's process.oomScoreAdj applies to every exec'd process: not the caller's
/// score (a shim's is containerd's + 1), and not an oomScoreAdj of the exec's own
/// process.json, which runc ignores.
#[test]
fn exec_gets_the_containers_oom_score_adj() {
    let pair = Pair::new();
    let mut c = base_config(&["sleep", "60"]);
    c["process"]["oomScoreAdj"] = json!(3);
    let b = Bundle::new(&c);
    let dir = b.dir.to_str().unwrap();
    let mut p = c["process"].clone();
    p["args"] = json!(["cat", "/proc/self/oom_score_adj"]);
    p["oomScoreAdj"] = json!(5);
    let process = b.dir.join("process.json");
    std::fs::write(&process, p.to_string()).unwrap();
    let process = process.to_str().unwrap();
    let (ob, or) = pair.both(|root, id| {
        root.ok(&["run", "-d", "--bundle", dir, id]);
        let plain = Outcome::of(root, &["exec", id, "cat", "/proc/self/oom_score_adj"]);
        let own = Outcome::of(root, &["exec", "--process", process, id]);
        root.ok(&["delete", "-f", id]);
        (plain.code, plain.stdout, own.code, own.stdout)
    });
    assert_eq!(ob, or, "berth vs runc");
    assert_eq!(ob, (0, "3\n".into(), 0, "3\n".into()), "berth");
}
