//! Issue 12 section 2 (threads and clone), berth against runc where runc's behaviour is the
//! contract: the order of an exec'd process's CPU affinity and its cgroup move.

use super::Pair;
use crate::common::{base_config, Bundle};
use serde_json::json;

/// execCPUAffinity.initial outside the cgroup's cpuset: the affinity is set before the
/// process joins the cgroup (whose cpuset then gives it its CPUs), never after (EINVAL).
/// Many execs, since the wrong order loses a race only now and then.
#[test]
fn exec_cpu_affinity_initial_outside_the_cpuset_never_fails() {
    let online = std::thread::available_parallelism().unwrap().get();
    assert!(
        online >= 2,
        "this test needs at least 2 CPUs, the machine has {online}"
    );
    let mut c = base_config(&["/bin/sleep", "100"]);
    c["linux"]["resources"]["cpu"] = json!({"cpus": "0", "mems": "0"});
    let mut process = c["process"].clone();
    process["args"] = json!(["/bin/sh", "-c", "grep Cpus_allowed_list /proc/self/status"]);
    process["execCPUAffinity"] = json!({"initial": "1"});
    let pair = Pair::new();
    let (b, r) = pair.both(|root, id| {
        let bundle = Bundle::new(&c);
        let proc_json = bundle.dir.join("process.json");
        std::fs::write(&proc_json, process.to_string()).unwrap();
        root.ok(&["run", "-d", "--bundle", bundle.dir.to_str().unwrap(), id]);
        let mut seen = Vec::new();
        for _ in 0..40 {
            let out = root.berth(&["exec", "--process", proc_json.to_str().unwrap(), id]);
            seen.push(format!(
                "{:?} {} {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).trim(),
                crate::common::messages(&String::from_utf8_lossy(&out.stderr))
            ));
        }
        root.ok(&["delete", "-f", id]);
        seen.sort();
        seen.dedup();
        seen
    });
    assert_eq!(b, ["Some(0) Cpus_allowed_list:\t0 "], "berth");
    assert_eq!(b, r, "berth and runc");
}
