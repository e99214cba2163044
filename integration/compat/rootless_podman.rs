//! What rootless podman asks of its runtime, found by the rootless manager scenarios
//! (integration/managers/rootless.rs) and checked here without podman: the runtime runs as
//! root of a user namespace that maps a range of unprivileged host ids (podman's setup from
//! /etc/subuid), so the host's root and its files are not mapped.

use super::{Outcome, Pair};
use crate::common::{base_config, Bundle, Root};
use serde_json::json;
use std::process::Command;

/// The first host id of the namespace's range: ids 0-65535 inside are 100000-165535 outside.
const OUTER: u32 = 100000;

/// Runs `root`'s runtime with `args` as root of a user namespace (with its mount namespace)
/// that maps 0-65535 to OUTER.., written by the host's root as newuidmap writes podman's.
/// A `sleep` holds the namespaces (as podman's pause process does) and the runtime enters
/// them. The state directory belongs to OUTER, as the user's XDG_RUNTIME_DIR does.
fn in_subuid_userns(root: &Root, args: &[&str]) -> Outcome {
    std::fs::create_dir_all(&root.dir).unwrap();
    std::os::unix::fs::chown(&root.dir, Some(OUTER), Some(OUTER)).unwrap();
    // The holder is ready once it runs sleep: unshare has made the namespaces by then.
    let script = format!(
        r#"unshare --user --mount --propagation private sleep 60 &
holder=$!
until [ "$(cat /proc/$holder/comm)" = sleep ]; do sleep 0.01; done
echo "0 {OUTER} 65536" > /proc/$holder/gid_map && echo "0 {OUTER} 65536" > /proc/$holder/uid_map &&
nsenter --target $holder --user --mount --setuid 0 --setgid 0 "$@"
rc=$?
kill $holder
exit $rc"#
    );
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &script, "sh"])
        .arg(&root.bin)
        .arg("--root")
        .arg(&root.dir)
        .args(args);
    Outcome::from_cmd(&mut cmd)
}

/// `podman run --privileged` when rootless bind-mounts every host device, the default ones
/// included, onto the container's /dev. The runtime then meets /dev/null already there (the
/// host's node, which the user namespace may not chmod or chown): runc bind-mounts the
/// host's node over it and runs the container; so must berth.
#[test]
fn default_devices_already_bind_mounted() {
    let script = "for d in null zero urandom tty; do [ -c /dev/$d ] && echo $d; done; \
                  echo x > /dev/null && echo written; head -c 3 /dev/zero | wc -c; id -u";
    let mut c = base_config(&["/bin/sh", "-c", script]);
    let mounts = c["mounts"].as_array_mut().unwrap();
    for dev in ["/dev/null", "/dev/zero", "/dev/urandom"] {
        mounts.push(json!({"destination": dev, "type": "bind", "source": dev,
                           "options": ["slave", "nosuid", "noexec", "rw", "rbind"]}));
    }
    let bundle = Bundle::new(&c);
    let dir = bundle.dir.to_str().unwrap();
    let pair = Pair::new();
    let (b, r) = pair.both(|root, id| in_subuid_userns(root, &["run", "--bundle", dir, id]));
    assert_eq!(r.code, 0, "runc: {r:?}");
    assert_eq!(b.code, 0, "berth: {b:?}");
    assert_eq!(b.stdout, r.stdout);
    assert_eq!(b.stdout, "null\nzero\nurandom\ntty\nwritten\n3\n0\n");
}
