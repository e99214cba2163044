//! Mounts every docker and podman container has, as runc makes them: the "cgroup" mount
//! (`/sys/fs/cgroup`, `ro`), the same tree as runc's inside the container, with and without
//! a cgroup namespace (on a v1 or hybrid host, as here, the details below); the masked
//! directories' empty tmpfs.

use super::{Outcome, Pair};
use crate::common::{base_config, Bundle};
use serde_json::json;

/// What the container sees under /sys/fs/cgroup: the hierarchies (no `unified` one: runc
/// mounts the v1 hierarchies only) and their mounts' sources (in a cgroup namespace runc's
/// fresh mount of systemd's hierarchy has the source "systemd"), the tmpfs holding them writable (runc does not make it
/// read-only; `ro` goes to the hierarchies), the hierarchies read-only.
const SCRIPT: &str = "ls /sys/fs/cgroup; \
    awk '$5 ~ \"^/sys/fs/cgroup/\" {for (i = 7; $i != \"-\"; i++) {}; print $5, $(i + 2)}' \
        /proc/self/mountinfo; \
    grep ' /sys/fs/cgroup ' /proc/self/mounts | cut -d' ' -f3,4 | cut -d, -f1; \
    mkdir /sys/fs/cgroup/made && echo tmpfs writable; \
    mkdir /sys/fs/cgroup/memory/made 2>/dev/null || echo memory refused";

fn same_tree(cgroupns: bool) {
    let pair = Pair::new();
    let mut c = base_config(&["/bin/sh", "-c", SCRIPT]);
    c["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
        "options": ["ro", "nosuid", "noexec", "nodev"]
    }));
    if !cgroupns {
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "cgroup");
    }
    let b = Bundle::new(&c);
    let dir = b.dir.to_str().unwrap();
    let (ob, or) = pair.both(|root, id| Outcome::of(root, &["run", "--bundle", dir, id]));
    assert_eq!((ob.code, or.code), (0, 0), "berth: {ob:?}\nrunc: {or:?}");
    assert_eq!(ob.stdout, or.stdout, "berth vs runc");
    let v2 = nix::sys::statfs::statfs("/sys/fs/cgroup")
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC);
    if !v2 {
        assert!(
            ob.stdout.contains("\nmemory\n")
                && !ob.stdout.contains("unified")
                && ob
                    .stdout
                    .ends_with("\ntmpfs rw\ntmpfs writable\nmemory refused\n"),
            "berth: {ob:?}"
        );
    }
}

#[test]
fn cgroup_mount_without_cgroupns_is_runcs() {
    same_tree(false);
}

#[test]
fn cgroup_mount_with_cgroupns_is_runcs() {
    same_tree(true);
}

/// A masked directory (/proc/acpi, /sys/firmware) gets an empty read-only tmpfs with
/// runc 1.5's options: `ro`, size 4k, one inode, and no nosuid/nodev/noexec of its own.
#[test]
fn masked_directories_get_runcs_tmpfs() {
    let pair = Pair::new();
    let script = "grep -E ' /proc/acpi | /sys/firmware ' /proc/self/mounts | cut -d' ' -f2-4";
    let mut c = base_config(&["/bin/sh", "-c", script]);
    for p in ["/proc/acpi", "/sys/firmware"] {
        let masked = c["linux"]["maskedPaths"].as_array_mut().unwrap();
        if !masked.iter().any(|m| m == p) {
            masked.push(json!(p));
        }
    }
    let b = Bundle::new(&c);
    let dir = b.dir.to_str().unwrap();
    let (ob, or) = pair.both(|root, id| Outcome::of(root, &["run", "--bundle", dir, id]));
    assert_eq!((ob.code, or.code), (0, 0), "berth: {ob:?}\nrunc: {or:?}");
    assert_eq!(ob.stdout, or.stdout, "berth vs runc");
    assert_eq!(
        ob.stdout,
        "/proc/acpi tmpfs ro,relatime,size=4k,nr_inodes=1\n\
         /sys/firmware tmpfs ro,relatime,size=4k,nr_inodes=1\n",
        "berth"
    );
}
