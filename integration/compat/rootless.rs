//! Rootless podman's setup: the runtime runs as root inside podman's own user namespace,
//! with a config that has no user namespace of its own. runc sees that it is not in the
//! initial user namespace and bind-mounts the host's device nodes instead of mknod; so does
//! berth.

use super::{Outcome, Pair};
use crate::common::{base_config, Bundle, Root};
use std::process::Command;

/// Runs `root`'s runtime with `args` as uid 0 inside a new user namespace that maps only
/// that id (to the host's root: unshare's --map-root-user, written without newuidmap) and a
/// new mount namespace, the way podman runs its runtime when rootless.
pub(super) fn in_foreign_userns(root: &Root, args: &[&str]) -> Outcome {
    let mut cmd = Command::new("unshare");
    cmd.args([
        "--user",
        "--map-root-user",
        "--mount",
        "--propagation",
        "private",
    ])
    .arg(&root.bin)
    .arg("--root")
    .arg(&root.dir)
    .args(args);
    Outcome::from_cmd(&mut cmd)
}

/// In a namespace where only root is mapped, devpts cannot take gid 5 (tty): the base
/// config's /dev/pts without it.
pub(super) fn devpts_without_tty_gid(c: &mut serde_json::Value) {
    assert_eq!(c["mounts"][2]["destination"], "/dev/pts");
    c["mounts"][2]["options"] = serde_json::json!([
        "nosuid",
        "noexec",
        "newinstance",
        "ptmxmode=0666",
        "mode=0620"
    ]);
}

/// The default devices exist and work (the host's nodes, bind-mounted), the process runs
/// as root of the outer namespace, and nothing of the container is left.
#[test]
fn runtime_as_root_in_a_foreign_user_namespace() {
    let script = "id -u; for d in null zero full random urandom tty; do [ -c /dev/$d ] && echo $d; done; echo x > /dev/null && echo written";
    let mut c = base_config(&["/bin/sh", "-c", script]);
    devpts_without_tty_gid(&mut c);
    let bundle = Bundle::new(&c);
    let dir = bundle.dir.to_str().unwrap();
    let pair = Pair::new();
    let (b, r) = pair.both(|root, id| in_foreign_userns(root, &["run", "--bundle", dir, id]));
    assert_eq!(r.code, 0, "runc: {r:?}");
    assert_eq!(b.code, 0, "berth: {b:?}");
    assert_eq!(b.stdout, r.stdout);
    assert_eq!(
        b.stdout,
        "0\nnull\nzero\nfull\nrandom\nurandom\ntty\nwritten\n"
    );
    for (name, root) in pair.each() {
        let left: Vec<_> = std::fs::read_dir(&root.dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .filter(|n| n != "seccomp~cache")
            .collect();
        assert!(left.is_empty(), "{name} left {left:?}");
    }
}
