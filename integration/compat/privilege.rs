//! What the runtime's own privileges allow, against runc: a capability outside the
//! runtime's bounding set (dropped by the caller here, so the case happens on every host).

use super::{Outcome, Pair};
use crate::common::*;
use serde_json::json;
use std::os::unix::process::CommandExt;

/// runc runs the container without the bounding capability it cannot grant; so does berth
/// (with a warning naming it).
#[test]
fn capability_outside_the_runtimes_bounding_set() {
    const CAP_SYS_RESOURCE: libc::c_ulong = 24;
    let pair = Pair::new();
    let mut c = base_config(&["/bin/sh", "-c", "grep CapBnd /proc/self/status"]);
    c["process"]["capabilities"]["bounding"] = json!(["CAP_SYS_RESOURCE"]);
    let b = Bundle::new(&c);
    let dir = b.dir.to_str().unwrap();
    let (ob, or) = pair.both(|root, id| {
        let mut cmd = root.cmd();
        cmd.args(["run", "--bundle", dir, id]);
        // SAFETY (test): prctl is async-signal-safe; the child only drops one capability.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_CAPBSET_DROP, CAP_SYS_RESOURCE, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let out = Outcome::from_cmd(&mut cmd);
        let _ = root.berth(&["delete", "-f", id]);
        out
    });
    assert_eq!(
        (or.code, or.stdout.as_str()),
        (0, "CapBnd:\t0000000000000000\n"),
        "runc: {or:?}"
    );
    assert_eq!(
        (ob.code, &ob.stdout),
        (or.code, &or.stdout),
        "berth: {ob:?}"
    );
    assert!(ob.stderr.contains("CAP_SYS_RESOURCE"), "{ob:?}");
}
