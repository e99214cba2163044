//! The root filesystem: mounts and their options, devices, masked and readonly paths,
//! sysctl, propagation, --no-pivot, and symlinks that point out of the rootfs.

use crate::common::*;
use serde_json::json;

fn add_mount(c: &mut serde_json::Value, m: serde_json::Value) {
    c["mounts"].as_array_mut().unwrap().push(m);
}

/// The options field of the mountinfo line for `path`, seen from inside.
fn mount_opts_script(path: &str) -> String {
    format!("awk '$5 == \"{path}\" {{print $6}}' /proc/self/mountinfo")
}

#[test]
fn tmpfs_with_size_mode_and_flags() {
    let root = Root::new();
    let script = format!(
        "{}; stat -c %a /data; df -k /data | awk 'NR==2 {{print $2}}'",
        mount_opts_script("/data")
    );
    let out = root.sh_with(&script, |c| {
        add_mount(
            c,
            json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs",
            "options": ["size=1m", "mode=0700", "noexec", "nosuid", "nodev"]}),
        );
    });
    let lines: Vec<&str> = out.lines().collect();
    for flag in ["noexec", "nosuid", "nodev"] {
        assert!(
            lines[0].split(',').any(|o| o == flag),
            "{flag} missing: {}",
            lines[0]
        );
    }
    assert_eq!(lines[1], "700");
    assert_eq!(lines[2], "1024");
}

#[test]
fn read_only_bind_mount_refuses_writes() {
    let root = Root::new();
    let host = std::env::temp_dir().join(unique("bindsrc"));
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("file"), "from the host").unwrap();
    let out = root.sh_with(
        "cat /mnt/file; echo; touch /mnt/new 2>/dev/null && echo writable || echo refused",
        |c| {
            add_mount(
                c,
                json!({"destination": "/mnt", "type": "bind", "source": host,
                "options": ["rbind", "ro"]}),
            );
        },
    );
    assert_eq!(out, "from the host\nrefused\n");
    assert!(!host.join("new").exists());
    std::fs::remove_dir_all(&host).unwrap();
}

#[test]
fn masked_paths_read_empty() {
    let root = Root::new();
    let out = root.sh("wc -c < /proc/keys; ls /sys/firmware | wc -l");
    assert_eq!(out.split_whitespace().collect::<Vec<_>>(), ["0", "0"]);
}

#[test]
fn readonly_paths_refuse_writes() {
    let root = Root::new();
    let out =
        root.sh("echo 1 > /proc/sys/vm/drop_caches 2>/dev/null && echo writable || echo refused");
    assert_eq!(out, "refused\n");
}

#[test]
fn readonly_root() {
    let root = Root::new();
    let out = root.sh(
        "touch /newfile 2>/dev/null && echo writable || echo refused; touch /tmp/ok && echo tmp-ok",
    );
    assert_eq!(out, "refused\ntmp-ok\n");
}

#[test]
fn default_devices_and_symlinks() {
    let root = Root::new();
    let out = root.sh(
        "for d in null zero full random urandom tty; do stat -c '%n %F %t:%T' /dev/$d; done; \
         for l in fd stdin ptmx; do readlink /dev/$l; done",
    );
    let want = "/dev/null character special file 1:3\n/dev/zero character special file 1:5\n\
/dev/full character special file 1:7\n/dev/random character special file 1:8\n\
/dev/urandom character special file 1:9\n/dev/tty character special file 5:0\n\
/proc/self/fd\n/proc/self/fd/0\npts/ptmx\n";
    assert_eq!(out, want);
}

#[test]
fn linux_devices_with_owner_and_mode() {
    let root = Root::new();
    let out = root.sh_with("stat -c '%F %t:%T %a %u %g' /dev/mynull", |c| {
        c["linux"]["devices"] = json!([{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3,
            "fileMode": 0o600, "uid": 7, "gid": 8}]);
    });
    assert_eq!(out, "character special file 1:3 600 7 8\n");
}

#[test]
fn host_disk_not_listed_is_not_there() {
    let root = Root::new();
    let out = root.sh("ls /dev | grep -E '^(sd|vd|nvme|xvd)' | wc -l");
    assert_eq!(out.trim(), "0");
}

#[test]
fn sysctl_is_applied() {
    let root = Root::new();
    let out = root.sh_with(
        "cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_forward",
        |c| {
            c["linux"]["sysctl"] =
                json!({"kernel.shmmax": "123456789", "net.ipv4.ip_forward": "1"});
        },
    );
    assert_eq!(out, "123456789\n1\n");
}

#[test]
fn sysctl_outside_the_containers_namespaces_is_refused() {
    let root = Root::new();
    let mut c = base_config(&["/bin/true"]);
    c["linux"]["sysctl"] = json!({"vm.swappiness": "10"});
    let (code, _, err) = root.run(&c);
    assert_ne!(code, 0);
    assert!(err.contains("vm.swappiness"), "{err}");
    root.assert_clean(None);
}

#[test]
fn rootfs_propagation_shared() {
    let root = Root::new();
    let out = root.sh_with("awk '$5 == \"/\" {print $7}' /proc/self/mountinfo", |c| {
        c["linux"]["rootfsPropagation"] = json!("shared");
    });
    assert!(out.starts_with("shared:"), "{out}");
}

#[test]
fn no_pivot() {
    let root = Root::new();
    let b = Bundle::new(&base_config(&[
        "/bin/sh",
        "-c",
        "ls /bin/busybox && echo $$",
    ]));
    let id = unique("nopivot");
    let mut cmd = root.cmd();
    cmd.args([
        "run",
        "--no-pivot",
        "--bundle",
        b.dir.to_str().unwrap(),
        &id,
    ]);
    let out = output_via_files(&mut cmd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "/bin/busybox\n1\n");
}

/// A mount destination that is a symlink to a host path lands on that path resolved inside
/// the rootfs. The host directory is also rbind-mounted at /watch (after the tmpfs), so a
/// tmpfs mounted on the host directory would show there, even though the container's "/" is
/// rslave and the host never sees it.
#[test]
fn symlink_destination_cannot_escape_the_rootfs() {
    let root = Root::new();
    let b = Bundle::new(&json!({}));
    let rootfs = b.dir.join("rootfs");
    build_rootfs(&rootfs);
    let outside = std::env::temp_dir().join(unique("outside"));
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, rootfs.join("evil")).unwrap();
    let script = "grep size=1236k /proc/self/mountinfo | cut -d' ' -f5; \
                  touch /evil/written && echo written; ls /watch";
    let mut c = base_config(&["/bin/sh", "-c", script]);
    c["root"] = json!({"path": "rootfs", "readonly": false});
    add_mount(
        &mut c,
        json!({"destination": "/evil", "type": "tmpfs", "source": "tmpfs", "options": ["size=1236k"]}),
    );
    add_mount(
        &mut c,
        json!({"destination": "/watch", "type": "bind", "source": outside, "options": ["rbind"]}),
    );
    std::fs::write(b.dir.join("config.json"), c.to_string()).unwrap();
    let id = unique("escape");
    let mut cmd = root.cmd();
    cmd.args(["run", "--bundle", b.dir.to_str().unwrap(), &id]);
    let out = output_via_files(&mut cmd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The tmpfs is at the symlink's target inside the rootfs, the write went there, and the
    // host directory (at /watch) stayed empty and unmounted.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}\nwritten\n", outside.display())
    );
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "host directory was written"
    );
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mi.contains(outside.to_str().unwrap()));
    std::fs::remove_dir_all(&outside).unwrap();
}
