//! Unit tests of the CRIU command lines and of what is external to a container.

use super::external::*;
use super::*;
use std::collections::HashSet;
use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};

fn strings(a: &[OsString]) -> Vec<String> {
    a.iter().map(|s| s.to_string_lossy().into_owned()).collect()
}

fn opts() -> DumpOpts {
    DumpOpts {
        common: Common {
            image_path: "/img".into(),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[test]
fn dump_command_line() {
    let mut o = opts();
    o.common.work_path = Some("/work".into());
    o.common.tcp_established = true;
    o.common.file_locks = true;
    o.common.manage_cgroups = CgroupsMode::Full;
    o.leave_running = true;
    let ext = ["mnt[/data]:bind=/data".to_string()];
    let a = strings(&dump_args(
        &o,
        42,
        Path::new("/b/rootfs"),
        Some(Path::new("/sys/fs/cgroup/c1")),
        &ext,
        "dump.log",
    ));
    let lock = if in_path("iptables-restore") {
        ""
    } else {
        "--network-lock nftables"
    };
    let want = format!(
        "dump --tree 42 --images-dir /img --work-dir /work --log-file dump.log -v4 \
                --manage-cgroups=full --empty-ns net {lock} --tcp-established --file-locks \
                --root /b/rootfs --freeze-cgroup /sys/fs/cgroup/c1 --leave-running \
                --external mnt[/data]:bind=/data"
    );
    assert_eq!(
        a.join(" "),
        want.split_whitespace().collect::<Vec<_>>().join(" ")
    );
}

#[test]
fn pre_dump_and_parent() {
    let mut o = opts();
    o.pre_dump = true;
    let a = strings(&dump_args(
        &o,
        7,
        Path::new("/r"),
        None,
        &[],
        "pre-dump.log",
    ));
    assert_eq!(a[0], "pre-dump");
    assert!(a.contains(&"--track-mem".to_string()));
    assert!(a.contains(&"--manage-cgroups=soft".to_string()));
    assert!(!a.contains(&"--prev-images-dir".to_string()));

    let mut o = opts();
    o.parent_path = Some("../pre".into());
    let a = strings(&dump_args(&o, 7, Path::new("/r"), None, &[], "dump.log"));
    assert_eq!(a[0], "dump");
    let i = a.iter().position(|s| s == "--prev-images-dir").unwrap();
    assert_eq!(a[i + 1], "../pre");
    assert!(a.contains(&"--track-mem".to_string()));
}

#[test]
fn parent_path_must_be_relative_and_exist() {
    let dir = std::env::temp_dir().join(format!("berth-criu-parent-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("img")).unwrap();
    std::fs::create_dir_all(dir.join("pre")).unwrap();
    let img = dir.join("img");
    assert!(check_parent(&img, Path::new("../pre")).is_ok());
    let e = check_parent(&img, Path::new("/abs"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("must be relative"), "{e}");
    let e = check_parent(&img, Path::new("../nope"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a directory"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn inherit_fds_once_per_file() {
    let stdio = vec![
        Some("file[1f:2a]".to_string()),
        Some("pipe:[99]".to_string()),
        Some("pipe:[99]".to_string()),
    ];
    let a = strings(&inherit_args(&stdio));
    assert_eq!(
        a,
        [
            "--inherit-fd",
            "fd[0]:file[1f:2a]",
            "--inherit-fd",
            "fd[1]:pipe:[99]"
        ]
    );
    assert!(inherit_args(&[None, None, None]).is_empty());
}

#[test]
fn error_line_from_log() {
    let log = "(00.000) Error (criu/util.c:642): exited, status=1\n(00.001) ==========\n(00.001) Dumping processes (pid: 9)\n(00.002) Error (criu/mount.c:1234): mnt: 55:./data doesn't have a proper root mount\n(00.003) Error (criu/cr-dump.c:1): Dumping FAILED.\n";
    assert_eq!(
        first_error_line(log).unwrap(),
        "(00.002) Error (criu/mount.c:1234): mnt: 55:./data doesn't have a proper root mount"
    );
    assert_eq!(first_error_line("all fine\n"), None);
    assert_eq!(
        first_error_line("(00.1) Error (criu/x.c:1): early\n").unwrap(),
        "(00.1) Error (criu/x.c:1): early"
    );
}

#[test]
fn clean_paths() {
    assert_eq!(clean_abs(Path::new("data/./x/")), Path::new("/data/x"));
    assert_eq!(clean_abs(Path::new("/../a/../b")), Path::new("/b"));
    assert_eq!(clean_abs(Path::new("/")), Path::new("/"));
}

fn spec_with_bind(dest: &str, source: &str) -> Spec {
    let json = format!(
        r#"{{"ociVersion": "1.0.2", "root": {{"path": "rootfs"}},
            "mounts": [{{"destination": "{dest}", "source": "{source}", "options": ["rbind", "rw"]}},
                       {{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}}]}}"#
    );
    serde_json::from_str(&json).unwrap()
}

#[test]
fn mount_sources_for_restore() {
    let spec = spec_with_bind("/data/", "shared");
    let b = Path::new("/bundles/b");
    assert_eq!(
        mount_source("bind=/data", &spec, b).unwrap(),
        Path::new("/bundles/b/shared")
    );
    let spec = spec_with_bind("/data", "/srv/d");
    assert_eq!(
        mount_source("bind=/data", &spec, b).unwrap(),
        Path::new("/srv/d")
    );
    assert_eq!(
        mount_source("dev=/dev/null", &spec, b).unwrap(),
        Path::new("/dev/null")
    );
    let e = mount_source("bind=/other", &spec, b)
        .unwrap_err()
        .to_string();
    assert!(e.contains("/other") && e.contains("does not bind"), "{e}");
    assert!(mount_source("weird", &spec, b).is_err());
}

#[test]
fn fdinfo_parsing() {
    let info = "pos:\t0\nflags:\t0100002\nmnt_id:\t31\nino:\t5\n";
    assert_eq!(fdinfo_mnt_id(info), Some(31));
    assert_eq!(fdinfo_mnt_id("pos:\t0\n"), None);
}

#[test]
fn terminals_by_major() {
    assert!(is_terminal(nix::sys::stat::makedev(136, 3)));
    assert!(is_terminal(nix::sys::stat::makedev(5, 0)));
    assert!(!is_terminal(nix::sys::stat::makedev(1, 3)));
}

#[test]
fn cgroup_mode_names() {
    assert_eq!(CgroupsMode::default(), CgroupsMode::Soft);
    for (m, n) in [
        (CgroupsMode::Soft, "soft"),
        (CgroupsMode::Full, "full"),
        (CgroupsMode::Strict, "strict"),
        (CgroupsMode::Ignore, "ignore"),
    ] {
        assert_eq!(m.criu_name(), n);
    }
}

/// Our own stdio seen through /proc: a pipe is keyed by its inode, a file from another
/// mount table by mnt_id and inode, and nothing is external when its mount is known.
#[test]
fn stdio_keys_of_a_child() {
    let mut child = Command::new("/bin/sleep")
        .arg("10")
        .stdin(Stdio::piped())
        .stdout(std::fs::File::open("/dev/null").unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let none = HashSet::new();
    let (k0, e0) = stdio_key(pid, 0, &none).unwrap().unwrap();
    assert!(k0.starts_with("pipe:["), "{k0}");
    assert_eq!(e0, None);
    let (k1, e1) = stdio_key(pid, 1, &none).unwrap().unwrap();
    assert!(
        k1.starts_with("file[") && e1.as_deref() == Some(k1.as_str()),
        "{k1}"
    );
    let all: HashSet<i32> = mountinfo(pid).unwrap().iter().map(|m| m.mnt_id).collect();
    assert_eq!(stdio_key(pid, 1, &all).unwrap(), None);
    assert_eq!(stdio_key(pid, 7, &all).unwrap(), None);
    child.kill().unwrap();
    child.wait().unwrap();
}
