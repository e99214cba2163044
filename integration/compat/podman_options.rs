//! Behaviours that podman's options scenarios (`integration/managers/podman/options.rs`)
//! found different from runc, checked here against runc without a manager.

use super::{Outcome, Pair};
use crate::common::*;
use std::process::Stdio;

/// A detached container's init whose stdio is the host's /dev/null (as conmon gives it without
/// -i) has the container's own /dev/null instead, open read-write; an exec'd process keeps
/// what it was given.
#[test]
fn stdio_dev_null_is_the_containers_own() {
    // Prints, on fd 3, how fds 0-2 of process $P are open and whose /dev/null they are.
    const CHECK: &str = "for fd in 0 1 2; do \
        [ \"$(stat -L -c %d:%i /proc/$P/fd/$fd)\" = \"$(stat -L -c %d:%i /dev/null)\" ] \
        && w=own || w=host; echo \"$fd $(stat -c %A /proc/$P/fd/$fd) $w\" >&3; done";
    let pair = Pair::new();
    let b = Bundle::new(&base_config(&["/bin/sleep", "600"]));
    let dir = b.dir.to_str().unwrap();
    let (ob, or) = pair.both(|root, id| {
        let detached = |args: &[&str]| {
            let status = root
                .cmd()
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success(), "{args:?}: {status:?}");
        };
        detached(&["run", "-d", "--bundle", dir, id]);
        let in_exec = format!("P=$$; {{ {CHECK}; }} 3>/tmp/fds.tmp; mv /tmp/fds.tmp /tmp/fds");
        detached(&["exec", "-d", id, "sh", "-c", &in_exec]);
        let init = Outcome::of(
            root,
            &["exec", id, "sh", "-c", &format!("P=1; {{ {CHECK}; }} 3>&1")],
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let exec = loop {
            let o = Outcome::of(root, &["exec", id, "cat", "/tmp/fds"]);
            if o.code == 0 || std::time::Instant::now() > deadline {
                break o;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        root.ok(&["delete", "--force", id]);
        (init, exec)
    });
    assert_eq!(
        (
            or.0.code,
            or.0.stdout.as_str(),
            or.1.code,
            or.1.stdout.as_str()
        ),
        (
            0,
            "0 lrwx------ own\n1 lrwx------ own\n2 lrwx------ own\n",
            0,
            "0 lr-x------ host\n1 l-wx------ host\n2 l-wx------ host\n"
        ),
        "runc: {or:?}"
    );
    assert_eq!(
        (
            ob.0.code,
            ob.0.stdout.as_str(),
            ob.1.code,
            ob.1.stdout.as_str()
        ),
        (
            or.0.code,
            or.0.stdout.as_str(),
            or.1.code,
            or.1.stdout.as_str()
        ),
        "berth: {ob:?}"
    );
    pair.berth.assert_clean(Some(&b));
}

/// A "cgroup" mount on a v1 or hybrid host shows the v1 hierarchies only, with or without a
/// cgroup namespace (podman's containers have none on v1): a hybrid host's unified hierarchy
/// stays out, as runc leaves it (systemd in a container would take it for a hybrid host).
#[test]
fn cgroup_mount_lists_what_runcs_does() {
    let pair = Pair::new();
    for cgroupns in [true, false] {
        let mut c = base_config(&["/bin/sh", "-c", "ls /sys/fs/cgroup | tr '\\n' ' '"]);
        c["mounts"].as_array_mut().unwrap().push(serde_json::json!({
            "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
            "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]
        }));
        if !cgroupns {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .retain(|n| n["type"] != "cgroup");
        }
        let b = Bundle::new(&c);
        let dir = b.dir.to_str().unwrap();
        let (ob, or) = pair.both(|root, id| Outcome::of(root, &["run", "--bundle", dir, id]));
        assert_eq!(or.code, 0, "runc: {or:?}");
        assert!(or.stdout.contains("memory"), "runc: {or:?}");
        assert_eq!(
            (ob.code, &ob.stdout),
            (or.code, &or.stdout),
            "cgroupns {cgroupns}: berth {ob:?}\nrunc {or:?}"
        );
    }
    pair.berth.assert_clean(None);
}

/// A "cgroup" mount with `ro` (podman's, docker's): runc leaves the tmpfs holding the
/// hierarchies writable, berth makes it read-only too (a listed difference); the hierarchies
/// are read-only under both.
#[test]
fn cgroup_mount_ro_covers_its_tmpfs() {
    let pair = Pair::new();
    let script = "mkdir /sys/fs/cgroup/x 2>/dev/null && echo tmpfs-writable || echo tmpfs-ro; \
                  mkdir /sys/fs/cgroup/memory/x 2>/dev/null && echo memory-writable || echo memory-ro";
    let mut c = base_config(&["/bin/sh", "-c", script]);
    c["mounts"].as_array_mut().unwrap().push(serde_json::json!({
        "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
        "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]
    }));
    let b = Bundle::new(&c);
    let dir = b.dir.to_str().unwrap();
    let (ob, or) = pair.both(|root, id| Outcome::of(root, &["run", "--bundle", dir, id]));
    if crate::cgroups::pure_v2() {
        // One cgroup2 mount, read-only under both: nothing differs.
        assert_eq!(
            (ob.code, ob.stdout.as_str(), or.code, or.stdout.as_str()),
            (0, "tmpfs-ro\nmemory-ro\n", 0, "tmpfs-ro\nmemory-ro\n"),
            "berth {ob:?}\nrunc {or:?}"
        );
        return;
    }
    assert_eq!(
        (or.code, or.stdout.as_str()),
        (0, "tmpfs-writable\nmemory-ro\n"),
        "runc: {or:?}"
    );
    super::differences::intended("cgroup mount: ro on its tmpfs");
    assert_eq!(
        (ob.code, ob.stdout.as_str()),
        (0, "tmpfs-ro\nmemory-ro\n"),
        "berth: {ob:?}"
    );
}

/// A masked directory (/proc/acpi) is an empty read-only tmpfs under both; berth's is also
/// nosuid,nodev,noexec (a listed difference); nothing can be created in it under either.
#[test]
fn masked_directory_tmpfs_flags() {
    let pair = Pair::new();
    let script = "grep ' /proc/acpi ' /proc/self/mountinfo | cut -d' ' -f6; \
                  ls -A /proc/acpi | wc -l; touch /proc/acpi/x 2>/dev/null || echo refused";
    let b = Bundle::new(&base_config(&["/bin/sh", "-c", script]));
    let dir = b.dir.to_str().unwrap();
    let (ob, or) = pair.both(|root, id| Outcome::of(root, &["run", "--bundle", dir, id]));
    if !std::path::Path::new("/proc/acpi").is_dir() {
        // Nothing to mask on this host: the script prints no mount line under either.
        assert_eq!(ob.stdout, or.stdout, "berth {ob:?}\nrunc {or:?}");
        return;
    }
    assert_eq!(
        (or.code, or.stdout.as_str()),
        (0, "ro,relatime\n0\nrefused\n"),
        "runc: {or:?}"
    );
    super::differences::intended("maskedPaths: the masking tmpfs's flags");
    assert_eq!(
        (ob.code, ob.stdout.as_str()),
        (0, "ro,nosuid,nodev,noexec,relatime\n0\nrefused\n"),
        "berth: {ob:?}"
    );
}
