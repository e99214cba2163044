//! User namespaces: id maps inside a container, id-mapped bind mounts (idmap, ridmap, a
//! mount's own mappings), and berth run by an unprivileged user created for the test.

use crate::common::{
    add_userns, base_config, output_via_files, rootfs, unique, Bundle, Root, BERTH,
};
use serde_json::{json, Value};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn work_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

fn with_userns(c: &mut Value) {
    add_userns(c, 100000);
}

/// One id of the container mapped to one host id, as mount or namespace mappings.
fn one(container: u32, host: u32) -> Value {
    json!([{"containerID": container, "hostID": host, "size": 1}])
}

fn owner(p: &Path) -> (u32, u32) {
    let m = std::fs::metadata(p).unwrap();
    (m.uid(), m.gid())
}

/// A host directory, removed on drop (after unmounting whatever the test mounted in it).
struct HostDir {
    path: PathBuf,
    mounts: Vec<PathBuf>,
}

impl HostDir {
    fn new(uid: u32) -> HostDir {
        let path = work_dir().join(unique("idmap-src"));
        std::fs::create_dir_all(&path).unwrap();
        std::os::unix::fs::chown(&path, Some(uid), Some(uid)).unwrap();
        HostDir {
            path,
            mounts: Vec::new(),
        }
    }

    /// A tmpfs owned by `uid` at `name` inside the directory.
    fn submount(&mut self, name: &str, uid: u32) -> PathBuf {
        let p = self.path.join(name);
        std::fs::create_dir_all(&p).unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("uid={uid},gid={uid},mode=755"))
            .arg("tmpfs")
            .arg(&p)
            .status()
            .unwrap();
        assert!(st.success(), "mounting a tmpfs on {}", p.display());
        self.mounts.push(p.clone());
        p
    }
}

impl Drop for HostDir {
    fn drop(&mut self) {
        for m in self.mounts.iter().rev() {
            let _ = Command::new("umount").arg("-l").arg(m).status();
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[test]
fn uid_and_gid_maps_inside() {
    let root = Root::new();
    let mut c = base_config(&["/bin/sleep", "60"]);
    with_userns(&mut c);
    c["linux"]["uidMappings"] = json!([
        {"containerID": 0, "hostID": 100000, "size": 1000},
        {"containerID": 1000, "hostID": 300000, "size": 10}
    ]);
    c["linux"]["gidMappings"] = json!([
        {"containerID": 0, "hostID": 110000, "size": 1000},
        {"containerID": 1000, "hostID": 310000, "size": 10}
    ]);
    c["process"]["user"] = json!({"uid": 1003, "gid": 1004});
    let b = Bundle::new(&c);
    let id = unique("maps");
    root.ok(&["run", "-d", "--bundle", b.dir.to_str().unwrap(), &id]);
    let pid = root.state(&id)["pid"].as_i64().unwrap();
    let words = |f: &str| -> Vec<String> {
        std::fs::read_to_string(format!("/proc/{pid}/{f}"))
            .unwrap()
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        words("uid_map"),
        ["0", "100000", "1000", "1000", "300000", "10"]
    );
    assert_eq!(
        words("gid_map"),
        ["0", "110000", "1000", "1000", "310000", "10"]
    );
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string()
    };
    assert_eq!(
        (field("Uid:"), field("Gid:")),
        ("300003".into(), "310004".into())
    );
    // Inside, the same maps and the process's own ids.
    let out = root.ok(&[
        "exec",
        &id,
        "sh",
        "-c",
        "cat /proc/self/uid_map; id -u; id -g",
    ]);
    let w: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(
        w,
        ["0", "100000", "1000", "1000", "300000", "10", "1003", "1004"]
    );
    root.ok(&["delete", "-f", &id]);
    root.assert_clean(Some(&b));
}

#[test]
fn idmapped_bind_mount_maps_owners_both_ways() {
    let root = Root::new();
    let src = HostDir::new(1000);
    // Writable for the container's root, which has no CAP_DAC_OVERRIDE in the base config.
    std::fs::set_permissions(
        &src.path,
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    std::fs::write(src.path.join("host-file"), "x").unwrap();
    std::os::unix::fs::chown(src.path.join("host-file"), Some(1000), Some(1000)).unwrap();
    let s = src.path.to_str().unwrap();
    let out = root.sh_with(
        "stat -c %u:%g /mnt /mnt/host-file /run /root; touch /mnt/made-inside; mkdir /run/dir-inside",
        |c| {
            with_userns(c);
            let mounts = c["mounts"].as_array_mut().unwrap();
            // The mount's own mappings: host uid 1000 is the container's root here.
            mounts.push(json!({"destination": "/mnt", "source": s, "options": ["bind", "idmap"],
                "uidMappings": one(1000, 100000), "gidMappings": one(1000, 100000)}));
            // idmap alone: the container's mappings, so uid 1000 stays 1000.
            mounts.push(json!({"destination": "/run", "source": s, "options": ["rbind", "idmap"]}));
            // No idmap: host uid 1000 is not mapped in the container.
            mounts.push(json!({"destination": "/root", "source": s, "options": ["rbind", "ro"]}));
        },
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, ["0:0", "0:0", "1000:1000", "65534:65534"], "{out}");
    assert_eq!(owner(&src.path.join("made-inside")), (1000, 1000));
    // Through the container's own mappings the container's root is the host's id 0.
    assert_eq!(owner(&src.path.join("dir-inside")), (0, 0));
    root.assert_clean(None);
}

#[test]
fn ridmap_maps_submounts_and_idmap_does_not() {
    let root = Root::new();
    let mut src = HostDir::new(1000);
    src.submount("sub", 1000);
    let s = src.path.to_str().unwrap().to_string();
    let out = root.sh_with("stat -c %u /mnt/sub /run/sub /mnt /run", |c| {
        with_userns(c);
        let mounts = c["mounts"].as_array_mut().unwrap();
        for (dest, opt) in [("/mnt", "ridmap"), ("/run", "idmap")] {
            mounts.push(
                json!({"destination": dest, "source": s, "options": ["rbind", opt],
                "uidMappings": one(1000, 100000), "gidMappings": one(1000, 100000)}),
            );
        }
    });
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, ["0", "65534", "0", "0"], "{out}");
}

#[test]
fn idmap_errors_are_named() {
    let root = Root::new();
    let src = HostDir::new(1000);
    let s = src.path.to_str().unwrap().to_string();
    let case = |mount: Value, userns: bool| {
        let mut c = base_config(&["true"]);
        if userns {
            with_userns(&mut c);
        }
        c["mounts"].as_array_mut().unwrap().push(mount);
        let (code, _, err) = root.run(&c);
        assert_ne!(code, 0);
        err
    };
    let err = case(
        json!({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": ["idmap"]}),
        true,
    );
    assert!(
        err.contains("mounts[7]: id-mapped mounts") && err.contains("bind mounts only"),
        "{err}"
    );
    let err = case(
        json!({"destination": "/mnt", "source": s, "options": ["bind", "ridmap"]}),
        false,
    );
    assert!(
        err.contains("mounts[7].options: idmap/ridmap without uidMappings"),
        "{err}"
    );
    // /proc does not support id-mapped mounts: the kernel's refusal is named.
    let err = case(
        json!({"destination": "/mnt", "source": "/proc", "options": ["rbind", "idmap"]}),
        true,
    );
    assert!(err.contains("MOUNT_ATTR_IDMAP"), "{err}");
    root.assert_clean(None);
}

#[test]
fn features_report_idmap() {
    let out = Command::new(BERTH).arg("features").output().unwrap();
    let f: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(f["linux"]["mountExtensions"]["idmap"]["enabled"], true);
    let opts = f["mountOptions"].as_array().unwrap();
    assert!(opts.contains(&json!("idmap")) && opts.contains(&json!("ridmap")));
}

/// A non-root user made for one test, with subordinate ids; removed (with its subordinate
/// ids, its containers and its files) on drop, also when the test fails.
struct TestUser {
    name: String,
    uid: u32,
    gid: u32,
    /// The first of its 65536 subordinate uids and gids.
    sub: u32,
    /// Its XDG_RUNTIME_DIR and a bundle it owns.
    home: PathBuf,
    containers: std::cell::RefCell<Vec<String>>,
}

impl TestUser {
    fn new() -> TestUser {
        // useradd names are at most 32 characters.
        let name = format!(
            "bth{}x{}",
            std::process::id(),
            unique("u").rsplit('-').next().unwrap()
        );
        let st = Command::new("useradd")
            .args(["-M", "-s", "/bin/sh", &name])
            .status()
            .expect("useradd");
        assert!(st.success(), "useradd {name}");
        let home = work_dir().join(unique("rootless"));
        // From here on, drop cleans up.
        let mut u = TestUser {
            name,
            uid: 0,
            gid: 0,
            sub: 0,
            home,
            containers: Default::default(),
        };
        let name = u.name.clone();
        let id = |flag: &str| -> u32 {
            let out = Command::new("id").args([flag, &name]).output().unwrap();
            String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
        };
        (u.uid, u.gid) = (id("-u"), id("-g"));
        // useradd gives subordinate ids when login.defs says so; otherwise add a range.
        u.sub = match u.sub_start("/etc/subuid") {
            Some(s) => s,
            None => {
                let r = "500000000-500065535";
                let st = Command::new("usermod")
                    .args(["-v", r, "-w", r, &u.name])
                    .status()
                    .unwrap();
                assert!(st.success(), "usermod --add-subuids");
                500000000
            }
        };
        assert_eq!(u.sub_start("/etc/subgid"), Some(u.sub), "subgid range");
        for d in [u.home.join("xdg"), u.home.join("bundle")] {
            std::fs::create_dir_all(&d).unwrap();
        }
        for d in [u.home.clone(), u.home.join("xdg"), u.home.join("bundle")] {
            std::os::unix::fs::chown(&d, Some(u.uid), Some(u.gid)).unwrap();
        }
        std::fs::set_permissions(
            u.home.join("xdg"),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        u
    }

    fn sub_start(&self, file: &str) -> Option<u32> {
        std::fs::read_to_string(file).ok()?.lines().find_map(|l| {
            let mut f = l.split(':');
            (f.next()? == self.name).then_some(())?;
            f.next()?.parse().ok()
        })
    }

    fn xdg(&self) -> PathBuf {
        self.home.join("xdg")
    }

    fn bundle(&self) -> PathBuf {
        self.home.join("bundle")
    }

    /// berth as this user, with XDG_RUNTIME_DIR set to its directory (`xdg`) or unset.
    fn berth(&self, args: &[&str], xdg: bool) -> Output {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", &self.name, "--", "env"]);
        if xdg {
            cmd.arg(format!("XDG_RUNTIME_DIR={}", self.xdg().display()));
        } else {
            cmd.args(["-u", "XDG_RUNTIME_DIR"]);
        }
        cmd.arg(BERTH).args(args).current_dir(&self.home);
        cmd.stdin(std::process::Stdio::null());
        if let ["create" | "run", .., id] = args {
            self.containers.borrow_mut().push(id.to_string());
        }
        output_via_files(&mut cmd)
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.berth(args, true);
        assert!(
            out.status.success(),
            "berth {args:?} as {} failed: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn fails(&self, args: &[&str], xdg: bool) -> String {
        let out = self.berth(args, xdg);
        assert!(!out.status.success(), "berth {args:?} should have failed");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// `berth spec --rootless` as the user, edited to run `args` from the test rootfs.
    fn write_config(&self, args: &[&str], edit: impl FnOnce(&mut Value)) {
        let path = self.bundle().join("config.json");
        let _ = std::fs::remove_file(&path);
        self.ok(&[
            "spec",
            "--rootless",
            "--bundle",
            self.bundle().to_str().unwrap(),
        ]);
        let mut c: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        c["root"]["path"] = json!(rootfs());
        c["process"]["terminal"] = json!(false);
        c["process"]["args"] = json!(args);
        edit(&mut c);
        std::fs::write(&path, serde_json::to_vec_pretty(&c).unwrap()).unwrap();
    }

    fn state(&self, id: &str) -> Value {
        serde_json::from_str(&self.ok(&["state", id])).unwrap()
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        for id in self.containers.take() {
            let _ = self.berth(&["delete", "--force", &id], true);
        }
        let _ = Command::new("userdel").arg(&self.name).status();
        // userdel removes the subordinate ids; make sure, without touching other lines.
        for f in ["/etc/subuid", "/etc/subgid"] {
            if let Ok(text) = std::fs::read_to_string(f) {
                let prefix = format!("{}:", self.name);
                if text.lines().any(|l| l.starts_with(&prefix)) {
                    let kept: String = text
                        .lines()
                        .filter(|l| !l.starts_with(&prefix))
                        .map(|l| format!("{l}\n"))
                        .collect();
                    let _ = std::fs::write(f, kept);
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

fn words(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

#[test]
fn rootless_lifecycle() {
    let u = TestUser::new();
    let uid = u.uid.to_string();
    u.write_config(&["/bin/sleep", "60"], |_| {});
    let bundle = u.bundle();
    let b = bundle.to_str().unwrap();
    let id = unique("rootless");

    // The cgroup hierarchy is not delegated to the new user and no limits are asked for:
    // the container runs without a cgroup, silently as with runc (a manager would take a
    // notice on stderr for the reason of a later failure).
    let out = u.berth(&["create", "--bundle", b, &id], true);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "create: {err}");
    assert_eq!(err, "", "create printed something where runc is silent");
    let state_dir = u.xdg().join("berth").join(&id);
    assert!(state_dir.join("state.json").is_file());
    assert_eq!(owner(&state_dir).0, u.uid);
    let st = u.state(&id);
    assert_eq!(st["status"], "created");
    let pid = st["pid"].as_i64().unwrap();

    u.ok(&["start", &id]);
    assert_eq!(u.state(&id)["status"], "running");
    // Root inside, the user outside.
    let inside = u.ok(&[
        "exec",
        &id,
        "sh",
        "-c",
        "cat /proc/self/uid_map /proc/self/gid_map; id -u",
    ]);
    assert_eq!(
        words(&inside),
        ["0", uid.as_str(), "1", "0", &u.gid.to_string(), "1", "0"]
    );
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(words(uid_line)[1], uid, "{uid_line}");

    // No cgroup to find every process in: --all signals init, saying so.
    let out = u.berth(&["kill", "--all", &id, "KILL"], true);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "kill --all: {err}");
    assert!(err.contains("signalling its init only"), "{err}");
    for _ in 0..100 {
        if u.state(&id)["status"] == "stopped" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(u.state(&id)["status"], "stopped");
    u.ok(&["delete", &id]);
    assert!(!state_dir.exists(), "state left behind");
    // Gone, or a zombie left to the host's init.
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z"))
    );
    // Nothing but the seccomp cache stays in the state root.
    let left: Vec<String> = std::fs::read_dir(u.xdg().join("berth"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "seccomp~cache")
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // With --debug, the notice is a debug line.
    let id = unique("rootless-debug");
    let out = u.berth(&["--debug", "create", "--bundle", b, &id], true);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "create --debug: {err}");
    assert!(
        err.lines()
            .any(|l| l.contains("level=debug") && l.contains("without a cgroup of its own")),
        "{err}"
    );
    assert!(!err.contains("level=warning"), "{err}");
    u.ok(&["delete", "--force", &id]);
}

#[test]
fn rootless_with_subordinate_ids_and_errors() {
    let u = TestUser::new();
    let b = u.bundle();
    let b = b.to_str().unwrap();
    // More than the user's own id: newuidmap and newgidmap write the maps.
    let (uid, gid, sub) = (u.uid, u.gid, u.sub);
    u.write_config(
        &[
            "sh",
            "-c",
            "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g",
        ],
        |c| {
            c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": uid, "size": 1},
            {"containerID": 1, "hostID": sub, "size": 65536}]);
            c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": gid, "size": 1},
            {"containerID": 1, "hostID": sub, "size": 65536}]);
            c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        },
    );
    let out = u.ok(&["run", "--bundle", b, &unique("sub")]);
    let (s, us, gs) = (sub.to_string(), uid.to_string(), gid.to_string());
    assert_eq!(
        words(&out),
        [
            "0",
            us.as_str(),
            "1",
            "1",
            s.as_str(),
            "65536",
            "0",
            gs.as_str(),
            "1",
            "1",
            s.as_str(),
            "65536",
            "1000",
            "1000"
        ]
    );

    // Limits without a delegated cgroup.
    u.write_config(&["true"], |c| {
        c["linux"]["resources"] = json!({"pids": {"limit": 10}})
    });
    let err = u.fails(&["run", "--bundle", b, &unique("lim")], true);
    assert!(
        err.contains("linux.resources.pids: cannot apply the limit: berth runs unprivileged"),
        "{err}"
    );
    // No user namespace.
    u.write_config(&["true"], |c| {
        c["linux"]["namespaces"] = json!([{"type": "mount"}, {"type": "pid"}, {"type": "uts"}]);
        c["linux"].as_object_mut().unwrap().remove("uidMappings");
        c["linux"].as_object_mut().unwrap().remove("gidMappings");
    });
    let err = u.fails(&["run", "--bundle", b, &unique("nouserns")], true);
    assert!(
        err.contains("the container needs a user namespace"),
        "{err}"
    );
    // No XDG_RUNTIME_DIR: /run/berth is root's.
    u.write_config(&["true"], |_| {});
    let err = u.fails(&["run", "--bundle", b, &unique("noxdg")], false);
    assert!(err.contains("set XDG_RUNTIME_DIR"), "{err}");
    let entries = std::fs::read_dir(u.xdg().join("berth")).unwrap().count();
    assert!(entries <= 1, "state left behind");
}

/// An unprivileged berth's new network namespace has its loopback device up, as runc's
/// (init sets it up: berth itself may not enter the namespace).
#[test]
fn rootless_new_network_namespace_has_loopback_up() {
    let u = TestUser::new();
    u.write_config(&["ip", "-o", "addr", "show", "dev", "lo"], |c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"type": "network"}));
    });
    let bundle = u.bundle();
    let id = unique("rootless-lo");
    let out = u.berth(&["run", "--bundle", bundle.to_str().unwrap(), &id], true);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("inet 127.0.0.1/8"), "{stdout}");
    u.ok(&["delete", "--force", &id]);
}
