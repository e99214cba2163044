//! Mounts and the root filesystem, berth against runc 1.5.1 on the same configs: the effect
//! inside the container (modes, the mountinfo line of each mount, whether a write fails),
//! exit codes and error classes.

use super::{assert_same_code, differences, Outcome, Pair};
use crate::common::{add_userns, base_config, build_rootfs, unique, Bundle, Root};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn add_mount(c: &mut Value, m: Value) {
    c["mounts"].as_array_mut().unwrap().push(m);
}

/// A bundle with its own busybox rootfs (relative root.path "rootfs"), shaped by `shape`
/// before the config is written: for configs that create directories in the rootfs or need
/// special files there (the shared rootfs stays untouched).
fn own_bundle(shape: impl Fn(&Path), c: &Value) -> Bundle {
    let b = Bundle::new(&json!({}));
    let rootfs = b.dir.join("rootfs");
    build_rootfs(&rootfs);
    shape(&rootfs);
    let mut c = c.clone();
    c["root"] = json!({"path": "rootfs", "readonly": false});
    std::fs::write(b.dir.join("config.json"), c.to_string()).unwrap();
    b
}

/// `run` of the bundle to completion.
fn run(root: &Root, b: &Bundle, id: &str) -> Outcome {
    Outcome::of(root, &["run", "--bundle", b.dir.to_str().unwrap(), id])
}

/// Runs `c` under both runtimes, each in a fresh bundle of its own made by `own_bundle`.
fn both_own(pair: &Pair, shape: impl Fn(&Path), c: &Value) -> (Outcome, Outcome) {
    pair.both(|root, id| {
        let b = own_bundle(&shape, c);
        let out = run(root, &b, id);
        root.assert_clean(Some(&b));
        out
    })
}

/// Runs `c` (on the shared rootfs) under both runtimes.
fn both_shared(pair: &Pair, c: &Value) -> (Outcome, Outcome) {
    let b = Bundle::new(c);
    pair.both(|root, id| run(root, &b, id))
}

#[track_caller]
fn assert_same_success(what: &str, b: &Outcome, r: &Outcome) {
    assert_eq!(r.code, 0, "{what}: runc failed: {r:?}");
    assert_eq!(b.code, 0, "{what}: berth failed: {b:?}");
    assert_eq!(
        b.stdout, r.stdout,
        "{what}: the container saw different things\nberth: {b:?}\nrunc:  {r:?}"
    );
}

/// The script line printing the per-mount options and the superblock options of the mounts
/// at `paths`, one line each, in mountinfo order.
fn mountinfo_of(paths: &[&str]) -> String {
    let cond: Vec<String> = paths.iter().map(|p| format!("$5 == \"{p}\"")).collect();
    format!(
        "awk '{} {{print $5, $6, $NF}}' /proc/self/mountinfo",
        cond.join(" || ")
    )
}

/// A host tmpfs mounted for a test with the given options; unmounted and removed on drop.
struct HostMount(PathBuf);

impl HostMount {
    fn new(flags: MsFlags, data: &str) -> HostMount {
        let p = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(unique("hostmnt"));
        std::fs::create_dir_all(&p).unwrap();
        mount(Some("tmpfs"), &p, Some("tmpfs"), flags, Some(data)).unwrap();
        HostMount(p)
    }
}

impl Drop for HostMount {
    fn drop(&mut self) {
        let _ = umount2(&self.0, MntFlags::MNT_DETACH);
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// A bind source that only an earlier mount creates (the tmpfs on /newdir makes
/// rootfs/newdir): resolved when its turn comes, in config order, as runc does; a source
/// that really is missing fails with the mount named and nothing left behind.
#[test]
fn bind_source_made_by_an_earlier_mount() {
    let pair = Pair::new();
    let mut c = base_config(&["/bin/sh", "-c", "echo hi > /newdir/f; cat /again/f"]);
    add_mount(
        &mut c,
        json!({"destination": "/newdir", "type": "tmpfs", "source": "tmpfs"}),
    );
    add_mount(
        &mut c,
        json!({"destination": "/again", "type": "bind", "source": "rootfs/newdir", "options": ["bind"]}),
    );
    let (b, r) = both_own(&pair, |_| {}, &c);
    assert_same_success("bind source made by an earlier mount", &b, &r);
    assert_eq!(b.stdout, "hi\n");

    let mut c = base_config(&["/bin/true"]);
    add_mount(
        &mut c,
        json!({"destination": "/again", "type": "bind", "source": "rootfs/missing", "options": ["bind"]}),
    );
    let (b, r) = both_own(&pair, |_| {}, &c);
    assert_same_code("missing bind source", &b, &r);
    assert_ne!(b.code, 0);
    let n = c["mounts"].as_array().unwrap().len() - 1;
    let err = b.error();
    assert!(
        err.contains(&format!("mounts[{n}] (/again)")) && err.contains("rootfs/missing"),
        "the error names the mount and its source: {err}"
    );
}

/// A tmpfs without `mode=` gets the mode of the directory it covers, special bits included
/// (runc passes `mode=` ahead of the config's options, so the config's own `mode=` wins); a
/// new directory gets the kernel's 1777.
#[test]
fn tmpfs_keeps_the_mode_of_the_covered_directory() {
    let pair = Pair::new();
    let dirs = ["/a", "/b", "/c", "/d", "/e"];
    let script = format!(
        "stat -c '%n %a' {}; {}",
        dirs.join(" "),
        mountinfo_of(&dirs)
    );
    let mut c = base_config(&["/bin/sh", "-c", &script]);
    for (d, opts) in [
        ("/a", json!([])),
        ("/b", json!(["size=1m"])),
        ("/c", json!(["nosuid"])),
        ("/d", json!(["mode=700"])),
        ("/e", json!([])),
    ] {
        add_mount(
            &mut c,
            json!({"destination": d, "type": "tmpfs", "source": "tmpfs", "options": opts}),
        );
    }
    let shape = |r: &Path| {
        use std::os::unix::fs::PermissionsExt;
        for (d, mode) in [("a", 0o710), ("b", 0o4711), ("c", 0o2750), ("d", 0o755)] {
            std::fs::create_dir(r.join(d)).unwrap();
            std::fs::set_permissions(r.join(d), std::fs::Permissions::from_mode(mode)).unwrap();
        }
    };
    let (b, r) = both_own(&pair, shape, &c);
    assert_same_success("tmpfs modes", &b, &r);
    let modes: Vec<&str> = b.stdout.lines().take(5).collect();
    assert_eq!(modes, ["/a 710", "/b 4711", "/c 2750", "/d 700", "/e 1777"]);
}

/// `ro` on the /dev tmpfs and on another tmpfs: /dev is filled first (devices, /dev/pts,
/// the symlinks), a mount below the read-only tmpfs can still be made, and both end up
/// read-only, as with runc.
#[test]
fn read_only_dev_and_tmpfs_are_filled_first() {
    let pair = Pair::new();
    let script = format!(
        "{}; ls /dev/null /dev/pts/ptmx /dev/fd >/dev/null && echo filled; \
         touch /dev/x 2>/dev/null && echo dev writable || echo dev refused; \
         touch /mnt/x 2>/dev/null && echo mnt writable || echo mnt refused; \
         touch /mnt/sub/x && echo sub writable",
        mountinfo_of(&["/dev", "/mnt", "/mnt/sub"])
    );
    let mut c = base_config(&["/bin/sh", "-c", &script]);
    for m in c["mounts"].as_array_mut().unwrap() {
        if m["destination"] == "/dev" {
            m["options"].as_array_mut().unwrap().push(json!("ro"));
        }
    }
    add_mount(
        &mut c,
        json!({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": ["ro", "mode=755"]}),
    );
    add_mount(
        &mut c,
        json!({"destination": "/mnt/sub", "type": "tmpfs", "source": "tmpfs"}),
    );
    let (b, r) = both_shared(&pair, &c);
    assert_same_success("read-only /dev and tmpfs", &b, &r);
    assert!(
        b.stdout
            .ends_with("filled\ndev refused\nmnt refused\nsub writable\n"),
        "{b:?}"
    );
}

/// `run` of the bundle with a pty as its stdio (for process.terminal): (exit code, what the
/// container wrote to its terminal, carriage returns dropped).
fn run_on_pty(root: &Root, b: &Bundle, id: &str) -> (i32, String) {
    use std::os::fd::AsFd;
    use std::process::Stdio;
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut cmd = root.cmd();
    cmd.args(["run", "--bundle", b.dir.to_str().unwrap(), id]);
    for set in [Command::stdin, Command::stdout, Command::stderr] {
        set(&mut cmd, Stdio::from(pty.slave.try_clone().unwrap()));
    }
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    drop(pty.slave);
    let mut said = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < deadline, "{id} did not finish");
        let mut fds = [PollFd::new(pty.master.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, PollTimeout::from(100u16)).unwrap() > 0 {
            match nix::unistd::read(&pty.master, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => said.extend_from_slice(&buf[..n]),
            }
        } else if child.try_wait().unwrap().is_some() {
            break;
        }
    }
    let code = child.wait().unwrap().code().unwrap_or(-1);
    (code, String::from_utf8_lossy(&said).replace('\r', ""))
}

/// With a terminal, /dev/console is mounted after pivot_root, so a read-only /dev must still
/// be writable then: it becomes read-only after the console, as with runc.
#[test]
fn read_only_dev_with_a_terminal() {
    let pair = Pair::new();
    let script = format!(
        "{}; touch /dev/x 2>/dev/null && echo dev writable || echo dev refused",
        mountinfo_of(&["/dev", "/dev/console"])
    );
    let mut c = base_config(&["/bin/sh", "-c", &script]);
    c["process"]["terminal"] = json!(true);
    for m in c["mounts"].as_array_mut().unwrap() {
        if m["destination"] == "/dev" {
            m["options"].as_array_mut().unwrap().push(json!("ro"));
        }
    }
    let b = Bundle::new(&c);
    let (bo, ro) = pair.both(|root, id| run_on_pty(root, &b, id));
    assert_eq!(ro.0, 0, "runc: {}", ro.1);
    assert_eq!(bo.0, 0, "berth: {}", bo.1);
    // Whatever a runtime writes to the terminal before the container's output (runc: a NUL).
    let tail = |s: &str| s[s.find("/dev ").unwrap_or(0)..].to_string();
    assert_eq!(
        tail(&bo.1),
        tail(&ro.1),
        "berth: {:?}\nrunc: {:?}",
        bo.1,
        ro.1
    );
    assert!(bo.1.contains("/dev/console "), "{:?}", bo.1);
    assert!(bo.1.ends_with("dev refused\n"), "{:?}", bo.1);
}

/// In a user namespace the flags of a bind source's mount are locked: the bind remount keeps
/// the locked ones (nosuid here) and drops the others (nosymfollow), as runc does.
#[test]
fn userns_bind_remount_keeps_only_locked_flags() {
    let pair = Pair::new();
    let src = HostMount::new(
        MsFlags::MS_NOSUID | MsFlags::from_bits_retain(libc::MS_NOSYMFOLLOW),
        "mode=755",
    );
    let mut c = base_config(&["/bin/sh", "-c", &mountinfo_of(&["/mnt", "/root"])]);
    add_userns(&mut c, 100000);
    add_mount(
        &mut c,
        json!({"destination": "/mnt", "type": "bind", "source": src.0, "options": ["bind", "nodev"]}),
    );
    add_mount(
        &mut c,
        json!({"destination": "/root", "type": "bind", "source": src.0, "options": ["bind", "nosymfollow"]}),
    );
    let (b, r) = both_shared(&pair, &c);
    assert_same_success("userns bind flags", &b, &r);
    let lines: Vec<&str> = b.stdout.lines().collect();
    assert!(
        lines[0].starts_with("/mnt rw,nosuid,nodev,relatime "),
        "{b:?}"
    );
    assert!(
        lines[1].starts_with("/root rw,nosuid,relatime,nosymfollow "),
        "{b:?}"
    );
}

/// In a user namespace, a bind source below a host directory closed to the container's root
/// (mode 0700, owned by the host's root): runc has its host side open it; berth's parent
/// hands init a copy of it. The container sees the files, with the mount's flags applied.
#[test]
fn userns_bind_source_closed_to_the_container() {
    use std::os::unix::fs::PermissionsExt;
    let pair = Pair::new();
    let closed = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(unique("closed"));
    struct Gone(PathBuf);
    impl Drop for Gone {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _gone = Gone(closed.clone());
    std::fs::create_dir_all(closed.join("src")).unwrap();
    std::fs::write(closed.join("src/f"), "from the host\n").unwrap();
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o700)).unwrap();
    let script = format!(
        "cat /mnt/f; touch /mnt/x 2>/dev/null && echo writable || echo refused; {}",
        mountinfo_of(&["/mnt"])
    );
    let mut c = base_config(&["/bin/sh", "-c", &script]);
    add_userns(&mut c, 100000);
    add_mount(
        &mut c,
        json!({"destination": "/mnt", "type": "bind", "source": closed.join("src"), "options": ["rbind", "ro", "nosuid"]}),
    );
    let (b, r) = both_shared(&pair, &c);
    assert_same_success("userns bind source closed to the container", &b, &r);
    assert!(
        b.stdout
            .starts_with("from the host\nrefused\n/mnt ro,nosuid,"),
        "{b:?}"
    );
}

/// proc and sysfs on a destination that is a symlink in the rootfs: refused with runc's
/// words, nothing mounted at the link's target, nothing left behind.
#[test]
fn proc_and_sysfs_on_a_symlink_are_refused() {
    let pair = Pair::new();
    for (dir, typ) in [("proc", "proc"), ("sys", "sysfs")] {
        let shape = |r: &Path| {
            std::fs::remove_dir(r.join(dir)).unwrap();
            std::fs::create_dir(r.join("elsewhere")).unwrap();
            std::os::unix::fs::symlink("/elsewhere", r.join(dir)).unwrap();
        };
        let c = base_config(&["/bin/true"]);
        let (b, r) = both_own(&pair, shape, &c);
        assert_same_code(typ, &b, &r);
        assert_ne!(b.code, 0, "{typ}: {b:?}");
        let words = format!("filesystem \"{typ}\" must be mounted on ordinary directory");
        assert!(r.error().contains(&words), "runc: {r:?}");
        assert!(b.error().contains(&words), "berth: {b:?}");
    }
}

/// The same masked path listed twice (or spelled with extra slashes) is masked once: one
/// mount on it, as with runc.
#[test]
fn masked_paths_are_masked_once() {
    let pair = Pair::new();
    let script = "for p in /proc/acpi /sys/firmware /proc/kcore; do \
                  echo $p $(awk -v p=$p '$5 == p' /proc/self/mountinfo | wc -l); done";
    let mut c = base_config(&["/bin/sh", "-c", script]);
    for p in ["/proc/acpi", "/proc//acpi/", "/sys/firmware", "/proc/kcore"] {
        c["linux"]["maskedPaths"]
            .as_array_mut()
            .unwrap()
            .push(json!(p));
    }
    let (b, r) = both_shared(&pair, &c);
    assert_same_success("masked once", &b, &r);
    let kcore = if Path::new("/proc/kcore").exists() {
        1
    } else {
        0
    };
    assert_eq!(
        b.stdout,
        format!("/proc/acpi 1\n/sys/firmware 1\n/proc/kcore {kcore}\n")
    );
}

/// The recursive atime options, alone and combined, give the atime mode runc's give: of a
/// bind of a strictatime mount, "rnorelatime", "ratime" and "rnostrictatime" give relatime,
/// an atime value stays set until its own clearing option.
#[test]
fn recursive_atime_options() {
    let pair = Pair::new();
    let src = HostMount::new(MsFlags::MS_STRICTATIME, "mode=755");
    let cases: &[&[&str]] = &[
        &["rnorelatime"],
        &["ratime"],
        &["rnostrictatime"],
        &["rrelatime"],
        &["rnoatime"],
        &["rstrictatime", "rnorelatime"],
        &["rnoatime", "rrelatime"],
        &["rnoatime", "ratime"],
        &["rnodiratime"],
    ];
    let dests: Vec<String> = (0..cases.len()).map(|i| format!("/mnt/{i}")).collect();
    let refs: Vec<&str> = dests.iter().map(String::as_str).collect();
    let mut c = base_config(&["/bin/sh", "-c", &mountinfo_of(&refs)]);
    add_mount(
        &mut c,
        json!({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs"}),
    );
    for (d, opts) in dests.iter().zip(cases) {
        let mut o = vec!["rbind"];
        o.extend_from_slice(opts);
        add_mount(
            &mut c,
            json!({"destination": d, "type": "bind", "source": src.0, "options": o}),
        );
    }
    let (b, r) = both_shared(&pair, &c);
    assert_same_success("recursive atime options", &b, &r);
    let atime = |line: &str| -> String {
        let opts = line.split(' ').nth(1).unwrap_or_default();
        let a: Vec<&str> = opts.split(',').filter(|o| o.contains("atime")).collect();
        a.join(",")
    };
    let got: Vec<String> = b.stdout.lines().map(atime).collect();
    assert_eq!(
        got,
        [
            "relatime",
            "relatime",
            "relatime",
            "relatime",
            "noatime",
            "",
            "noatime",
            "relatime",
            "nodiratime"
        ]
    );
}

/// Detaches every mount on `rootfs` (a rootfs bound onto itself, and all below it) when
/// dropped: what a container without a mount namespace leaves on the host.
struct HostRootfsMounts(PathBuf);

impl Drop for HostRootfsMounts {
    fn drop(&mut self) {
        while umount2(&self.0, MntFlags::MNT_DETACH).is_ok() {}
    }
}

/// A config without a mount namespace (and without masked or read-only paths, which both
/// runtimes refuse there).
fn without_mountns(script: &str) -> Value {
    let mut c = base_config(&["/bin/sh", "-c", script]);
    let linux = &mut c["linux"];
    linux["namespaces"] =
        json!([{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}]);
    linux.as_object_mut().unwrap().remove("maskedPaths");
    linux.as_object_mut().unwrap().remove("readonlyPaths");
    c
}

/// Runs `c` in a fresh bundle of its own, then detaches what it left on the host; returns
/// whether it left a mount on `/data` below the rootfs, and whether it left any below it.
fn run_leaving_host_mounts(root: &Root, id: &str, c: &Value) -> (Outcome, bool, bool) {
    let bundle = own_bundle(|_| {}, c);
    let rootfs = bundle.dir.join("rootfs");
    let _guard = HostRootfsMounts(rootfs.clone());
    let out = run(root, &bundle, id);
    let host = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let data = format!(" {}/data ", rootfs.display());
    let left_data = host.lines().any(|l| l.contains(&data));
    let left_any = host.contains(&format!(" {}", rootfs.display()));
    (out, left_data, left_any)
}

/// Without a mount namespace runc skips its final read-only remounts: a `ro` tmpfs stays
/// writable and root.readonly is ignored. berth makes the tmpfs read-only and refuses
/// root.readonly (listed differences).
#[test]
fn without_a_mount_namespace_read_only_does_what_it_says() {
    let pair = Pair::new();
    let mut c = without_mountns("touch /data/x 2>/dev/null && echo writable || echo refused");
    add_mount(
        &mut c,
        json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["ro"]}),
    );
    let (b, r) = pair.both(|root, id| run_leaving_host_mounts(root, id, &c).0);
    differences::intended("no mount namespace: a read-only tmpfs");
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "writable\n"),
        "runc: {r:?}"
    );
    assert_eq!(
        (b.code, b.stdout.as_str()),
        (0, "refused\n"),
        "berth: {b:?}"
    );

    let mut c = without_mountns("true");
    c["root"]["readonly"] = json!(true);
    let (b, r) = pair.both(|root, id| {
        let bundle = own_bundle(|_| {}, &c);
        let mut c = c.clone();
        c["root"] = json!({"path": "rootfs", "readonly": true});
        std::fs::write(bundle.dir.join("config.json"), c.to_string()).unwrap();
        let _guard = HostRootfsMounts(bundle.dir.join("rootfs"));
        run(root, &bundle, id)
    });
    differences::intended("no mount namespace: root.readonly");
    assert_eq!(r.code, 0, "runc: {r:?}");
    assert_ne!(b.code, 0, "berth: {b:?}");
    assert!(b.error().contains("root.readonly"), "{b:?}");
}

/// Without a mount namespace, a mount that fails (a missing bind source, after /data and the
/// base config's mounts were made): both fail; runc leaves what it mounted on the host,
/// berth detaches it (a listed difference).
#[test]
fn without_a_mount_namespace_a_failed_mount_leaves_nothing() {
    let pair = Pair::new();
    let mut c = without_mountns("true");
    add_mount(
        &mut c,
        json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs"}),
    );
    add_mount(
        &mut c,
        json!({"destination": "/again", "type": "bind", "source": "rootfs/missing", "options": ["bind"]}),
    );
    let (b, r) = pair.both(|root, id| run_leaving_host_mounts(root, id, &c));
    assert_same_code("a failed mount without a mount namespace", &b.0, &r.0);
    assert_ne!(b.0.code, 0);
    assert!(b.0.error().contains("rootfs/missing"), "{:?}", b.0);
    differences::intended("no mount namespace: a mount that fails");
    assert!(r.1, "runc leaves its mounts");
    assert!(!b.2, "berth left mounts below the rootfs");
}

/// `mounts` without a mount namespace: made in the runtime's namespace below the rootfs
/// (bound onto itself), the container sees them, and they stay on the host after delete,
/// as with runc (the test detaches them).
#[test]
fn mounts_without_a_mount_namespace_are_made_in_the_runtimes() {
    let pair = Pair::new();
    let mut c = without_mountns(
        "stat -c %a /data; ls /dev/null; awk '$5 == \"/data\" {print $5, $NF}' /proc/self/mountinfo",
    );
    add_mount(
        &mut c,
        json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["mode=700"]}),
    );
    let (b, r) = pair.both(|root, id| run_leaving_host_mounts(root, id, &c));
    assert_same_success("mounts without a mount namespace", &b.0, &r.0);
    assert_eq!(b.0.stdout, "700\n/dev/null\n/data rw,mode=700\n");
    assert!(r.1, "runc leaves its mounts on the host");
    assert!(b.1, "berth, as runc, leaves its mounts on the host");
}

/// With a terminal and `mounts` but no mount namespace, the pty is mounted on the rootfs's
/// /dev/console too (in the runtime's namespace), as runc does.
#[test]
fn without_a_mount_namespace_the_console_is_mounted() {
    let pair = Pair::new();
    let mut c = without_mountns(
        "tty; awk '$5 == \"/dev/console\" {print $5, $4, $9}' /proc/self/mountinfo; ls -l /dev/console | cut -c1-10",
    );
    c["process"]["terminal"] = json!(true);
    let (b, r) = pair.both(|root, id| {
        let bundle = own_bundle(|_| {}, &c);
        let _guard = HostRootfsMounts(bundle.dir.join("rootfs"));
        run_on_pty(root, &bundle, id)
    });
    assert_eq!(r.0, 0, "runc: {}", r.1);
    assert_eq!(b.0, 0, "berth: {}", b.1);
    let tail = |s: &str| s[s.find("/dev/").unwrap_or(0)..].to_string();
    assert_eq!(tail(&b.1), tail(&r.1), "berth: {:?}\nrunc: {:?}", b.1, r.1);
    assert!(b.1.contains("/dev/console /0 devpts"), "{:?}", b.1);
}
