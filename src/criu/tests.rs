//! Unit tests of the CRIU requests and of what is external to a container.

use super::external::*;
use super::*;
use prost::Message;
use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};

fn opts() -> DumpOpts {
    DumpOpts {
        common: Common {
            image_path: "/".into(),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn dirs() -> Dirs {
    Dirs::open(&Common {
        image_path: "/".into(),
        work_path: Some("/tmp".into()),
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn dump_request() {
    let mut o = opts();
    o.common.tcp_established = true;
    o.common.file_locks = true;
    o.common.manage_cgroups = CgroupsMode::Full;
    o.leave_running = true;
    let d = dirs();
    let ext = vec!["mnt[/data]:bind=/data".to_string()];
    let r = dump_opts(
        &o,
        &d,
        42,
        Path::new("/b/rootfs"),
        Some(Path::new("/sys/fs/cgroup/c1")),
        ext.clone(),
        "dump.log",
    );
    assert_eq!(r.images_dir_fd, d.image.as_raw_fd());
    assert_eq!(r.work_dir_fd, Some(d.work.as_ref().unwrap().as_raw_fd()));
    assert_eq!(r.pid, Some(42));
    assert_eq!(r.root.as_deref(), Some("/b/rootfs"));
    assert_eq!(r.freeze_cgroup.as_deref(), Some("/sys/fs/cgroup/c1"));
    assert_eq!(r.log_file.as_deref(), Some("dump.log"));
    assert_eq!(r.log_level, Some(4));
    assert_eq!(r.manage_cgroups_mode, Some(rpc::CgMode::Full as i32));
    assert_eq!(r.empty_ns, Some(libc::CLONE_NEWNET as u32));
    assert_eq!(
        r.network_lock.is_some(),
        !in_path("iptables-restore"),
        "nftables only without iptables"
    );
    assert_eq!(
        (r.tcp_established, r.file_locks, r.shell_job, r.ext_unix_sk),
        (Some(true), Some(true), Some(false), Some(false))
    );
    assert_eq!(r.leave_running, Some(true));
    assert_eq!(r.track_mem, Some(false));
    assert_eq!(r.parent_img, None);
    assert_eq!(r.orphan_pts_master, Some(true));
    assert_eq!(r.external, ext);
}

#[test]
fn pre_dump_and_parent() {
    let d = dirs();
    let mut o = opts();
    o.pre_dump = true;
    let r = dump_opts(&o, &d, 7, Path::new("/r"), None, vec![], "pre-dump.log");
    assert_eq!(r.track_mem, Some(true));
    assert_eq!(r.manage_cgroups_mode, Some(rpc::CgMode::Soft as i32));
    assert_eq!(r.parent_img, None);

    let mut o = opts();
    o.parent_path = Some("../pre".into());
    let r = dump_opts(&o, &d, 7, Path::new("/r"), None, vec![], "dump.log");
    assert_eq!(r.parent_img.as_deref(), Some("../pre"));
    assert_eq!(r.track_mem, Some(true));
}

/// The wire format pins the field numbers to CRIU's images/rpc.proto.
#[test]
fn rpc_field_numbers() {
    let req = rpc::Req {
        r#type: rpc::ReqType::Restore as i32,
        opts: Some(rpc::Opts {
            images_dir_fd: 5,
            rst_sibling: Some(true),
            network_lock: Some(rpc::NetworkLock::Nftables as i32),
            ..Default::default()
        }),
        notify_success: None,
        features: None,
    };
    // type = 1 (varint 2); opts = 2 (8 bytes): images_dir_fd = 1 (5), rst_sibling = 26
    // (true), network_lock = 64 (2).
    let want = [
        0x08, 0x02, 0x12, 0x08, 0x08, 0x05, 0xd0, 0x01, 0x01, 0x80, 0x04, 0x02,
    ];
    assert_eq!(req.encode_to_vec(), want);
    // A notification as CRIU sends it: type NOTIFY, success, notify{script, pid}.
    let mut wire = vec![0x08, 0x06, 0x10, 0x01, 0x2a];
    let notify = [&[0x0a, 0x10][..], b"setup-namespaces", &[0x10, 0x2a]].concat();
    wire.push(notify.len() as u8);
    wire.extend(notify);
    let r = rpc::Resp::decode(&wire[..]).unwrap();
    assert_eq!(r.r#type, rpc::ReqType::Notify as i32);
    assert!(r.success);
    let n = r.notify.unwrap();
    assert_eq!(n.script.as_deref(), Some("setup-namespaces"));
    assert_eq!(n.pid, Some(42));
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
    let a: Vec<(String, i32)> = inherit_fds(&stdio)
        .into_iter()
        .map(|f| (f.key, f.fd))
        .collect();
    assert_eq!(
        a,
        [("file[1f:2a]".to_string(), 0), ("pipe:[99]".to_string(), 1)]
    );
    assert!(inherit_fds(&[None, None, None]).is_empty());
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
fn cgroup_mode_numbers() {
    assert_eq!(CgroupsMode::default(), CgroupsMode::Soft);
    // rpc.proto's criu_cg_mode numbers.
    for (m, n) in [
        (CgroupsMode::Soft, 3),
        (CgroupsMode::Full, 4),
        (CgroupsMode::Strict, 5),
        (CgroupsMode::Ignore, 0),
    ] {
        assert_eq!(m.rpc() as i32, n);
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

/// A terminal on one of the container's mounts (the devpts berth mounts in it) is the
/// container's own, which CRIU dumps; one from elsewhere (a host terminal) is external.
#[test]
fn stdio_key_of_a_terminal() {
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut child = Command::new("/bin/sleep")
        .arg("10")
        .stdin(std::fs::File::from(pty.slave))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let (k, e) = stdio_key(pid, 0, &HashSet::new()).unwrap().unwrap();
    assert!(
        k.starts_with("tty[") && e.as_deref() == Some(k.as_str()),
        "{k}"
    );
    let all: HashSet<i32> = mountinfo(pid).unwrap().iter().map(|m| m.mnt_id).collect();
    assert_eq!(stdio_key(pid, 0, &all).unwrap(), None);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn dump_request_with_runc_1_5_flags() {
    let d = dirs();
    let mut o = opts();
    let plain = dump_opts(&o, &d, 7, Path::new("/r"), None, vec![], "dump.log");
    assert_eq!(
        (plain.tcp_skip_in_flight, plain.link_remap, plain.auto_dedup),
        (Some(false), Some(false), Some(false))
    );
    assert_eq!((plain.lazy_pages, plain.ps.as_ref()), (Some(false), None));
    assert_eq!((plain.notify_scripts, plain.status_fd), (None, None));
    o.tcp_skip_in_flight = true;
    o.link_remap = true;
    o.common.auto_dedup = true;
    o.common.lazy_pages = true;
    o.common.empty_ns = libc::CLONE_NEWNET as u32;
    o.page_server = Some(PageServer {
        address: "10.0.0.1".into(),
        port: 27277,
    });
    o.status_fd = Some(9);
    let r = dump_opts(&o, &d, 7, Path::new("/r"), None, vec![], "dump.log");
    assert_eq!(
        (
            r.tcp_skip_in_flight,
            r.link_remap,
            r.auto_dedup,
            r.lazy_pages
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
    assert_eq!(r.empty_ns, Some(libc::CLONE_NEWNET as u32));
    let ps = r.ps.unwrap();
    assert_eq!(
        (ps.address.as_deref(), ps.port),
        (Some("10.0.0.1"), Some(27277))
    );
    // The fd is berth's: CRIU gets a notification to answer instead (as runc with CRIU
    // 3.15 and later).
    assert_eq!((r.notify_scripts, r.status_fd), (Some(true), None));
    // --status-fd means nothing without --lazy-pages.
    o.common.lazy_pages = false;
    let r = dump_opts(&o, &d, 7, Path::new("/r"), None, vec![], "dump.log");
    assert_eq!(r.notify_scripts, None);
}

#[test]
fn restore_request_with_runc_1_5_flags() {
    let d = dirs();
    let c = Common {
        image_path: "/".into(),
        ..Default::default()
    };
    let r = restore_opts(&c, &d, Path::new("/run/x/criu-root"));
    assert_eq!((r.lsm_profile, r.lsm_mount_context), (None, None));
    assert_eq!((r.auto_dedup, r.lazy_pages), (Some(false), Some(false)));
    assert_eq!(r.root.as_deref(), Some("/run/x/criu-root"));
    assert_eq!(
        (r.rst_sibling, r.evasive_devices, r.notify_scripts),
        (Some(true), Some(true), Some(true))
    );
    let c = Common {
        image_path: "/".into(),
        auto_dedup: true,
        lazy_pages: true,
        empty_ns: libc::CLONE_NEWNET as u32,
        lsm_profile: Some("apparmor:unconfined".into()),
        lsm_mount_context: Some("system_u:object_r:container_file_t:s0".into()),
        ..Default::default()
    };
    let r = restore_opts(&c, &d, Path::new("/r"));
    assert_eq!((r.auto_dedup, r.lazy_pages), (Some(true), Some(true)));
    assert_eq!(r.empty_ns, Some(libc::CLONE_NEWNET as u32));
    assert_eq!(r.lsm_profile.as_deref(), Some("apparmor:unconfined"));
    assert_eq!(
        r.lsm_mount_context.as_deref(),
        Some("system_u:object_r:container_file_t:s0")
    );
}

/// The new fields' numbers, as in CRIU 3.17's rpc.proto (pycriu's rpc_pb2 agrees).
#[test]
fn rpc_field_numbers_of_runc_1_5_flags() {
    let opts = rpc::Opts {
        images_dir_fd: 1,
        ps: Some(rpc::PageServerInfo {
            address: Some("a".into()),
            port: Some(2),
        }),
        auto_dedup: Some(true),
        link_remap: Some(true),
        tcp_skip_in_flight: Some(true),
        lazy_pages: Some(true),
        status_fd: Some(3),
        lsm_profile: Some("p".into()),
        lsm_mount_context: Some("m".into()),
        ..Default::default()
    };
    let want = [
        0x08, 0x01, // images_dir_fd = 1
        0x5a, 0x05, 0x0a, 0x01, b'a', 0x10, 0x02, // ps = 11 {address = 1, port = 2}
        0x80, 0x01, 0x01, // auto_dedup = 16
        0x90, 0x01, 0x01, // link_remap = 18
        0xf0, 0x02, 0x01, // tcp_skip_in_flight = 46
        0x80, 0x03, 0x01, // lazy_pages = 48
        0x88, 0x03, 0x03, // status_fd = 49
        0xaa, 0x03, 0x01, b'p', // lsm_profile = 53
        0xfa, 0x03, 0x01, b'm', // lsm_mount_context = 63
    ];
    assert_eq!(opts.encode_to_vec(), want);
    // FEATURE_CHECK = 9 with features = 5 {lazy_pages = 2}; the answer's features = 8.
    let req = rpc::Req {
        r#type: rpc::ReqType::FeatureCheck as i32,
        opts: None,
        notify_success: None,
        features: Some(rpc::Features {
            lazy_pages: Some(true),
            ..Default::default()
        }),
    };
    assert_eq!(req.encode_to_vec(), [0x08, 0x09, 0x2a, 0x02, 0x10, 0x01]);
    let resp = rpc::Resp::decode(&[0x08, 0x09, 0x10, 0x01, 0x42, 0x02, 0x10, 0x00][..]).unwrap();
    assert_eq!(resp.features.unwrap().lazy_pages, Some(false));
}

#[test]
fn lazy_pages_feature_answer() {
    let answer = |lazy: Option<bool>| rpc::Resp {
        r#type: rpc::ReqType::FeatureCheck as i32,
        success: true,
        features: Some(rpc::Features {
            mem_track: None,
            lazy_pages: lazy,
        }),
        ..Default::default()
    };
    lazy_pages_answer(&answer(Some(true))).unwrap();
    // runc also takes an answer without the field as a yes.
    lazy_pages_answer(&answer(None)).unwrap();
    let e = lazy_pages_answer(&answer(Some(false))).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("--lazy-pages: CRIU is missing features: lazy pages"),
        "{e}"
    );
}

#[test]
fn page_server_as_runc_parses_it() {
    let ok = |a: &str| page_server(a).unwrap();
    let ps = |address: &str, port| {
        Some(PageServer {
            address: address.into(),
            port,
        })
    };
    assert_eq!(ok("10.1.2.3:27277"), ps("10.1.2.3", 27277));
    assert_eq!(ok("host.example:1"), ps("host.example", 1));
    assert_eq!(ok("[::1]:80"), ps("::1", 80));
    assert_eq!(ok("0.0.0.0:+5"), ps("0.0.0.0", 5));
    // Port 0: runc passes no page server to CRIU.
    assert_eq!(ok("a:0"), None);
    let err = |a: &str| page_server(a).unwrap_err().to_string();
    let usage = "Use --page-server ADDRESS:PORT to specify page server";
    for bad in [
        "foo", ":80", "a:", "::1:80", "[::1]80", "[::1", "a]:1", "[]:1",
    ] {
        assert_eq!(err(bad), usage, "{bad}");
    }
    for bad in ["a:b", "a:99999999999", "a:1.5"] {
        assert_eq!(err(bad), "Invalid port number", "{bad}");
    }
}

#[test]
fn empty_ns_takes_only_network() {
    assert_eq!(empty_ns(&[]).unwrap(), 0);
    let net = vec!["network".to_string()];
    assert_eq!(empty_ns(&net).unwrap(), libc::CLONE_NEWNET as u32);
    let bad = vec!["network".to_string(), "ipc".to_string()];
    assert_eq!(
        empty_ns(&bad).unwrap_err().to_string(),
        r#"namespace "ipc" is not supported"#
    );
}

#[test]
fn status_fd_must_be_open_for_writing() {
    let (r, w) = nix::unistd::pipe().unwrap();
    check_status_fd(w.as_raw_fd()).unwrap();
    assert_eq!(
        check_status_fd(r.as_raw_fd()).unwrap_err().to_string(),
        format!(
            "invalid --status-fd argument {}: not writable",
            r.as_raw_fd()
        )
    );
    // As runc: read-write is refused too (it tests the O_WRONLY bit).
    let rw = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .unwrap();
    assert!(check_status_fd(rw.as_raw_fd())
        .unwrap_err()
        .to_string()
        .ends_with("not writable"));
    // An fd number far beyond any open one (a closed one could be reused by a parallel test).
    let closed = 999_999;
    assert_eq!(
        check_status_fd(closed).unwrap_err().to_string(),
        format!("invalid --status-fd argument {closed}: bad file descriptor")
    );
}

/// The NUL byte on "status-ready", and the fd closed after it.
#[test]
fn status_ready_writes_nul_and_closes() {
    let (r, w) = nix::unistd::pipe().unwrap();
    let raw = std::os::fd::IntoRawFd::into_raw_fd(w);
    status_ready(raw);
    let mut buf = [7u8; 4];
    assert_eq!(nix::unistd::read(&r, &mut buf).unwrap(), 1);
    assert_eq!(buf[0], 0);
    // Closed: the read end sees EOF.
    assert_eq!(nix::unistd::read(&r, &mut buf).unwrap(), 0);
}
