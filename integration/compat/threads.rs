//! Issue 12 section 2 (threads and clone), berth against runc where runc's behaviour is the
//! contract: the order of an exec'd process's CPU affinity and its cgroup move.

use super::{Outcome, Pair};
use crate::common::{base_config, Bundle};
use serde_json::json;

/// execCPUAffinity.initial outside the cgroup's cpuset: the affinity is set before the
/// process joins the cgroup (whose cpuset then gives it its CPUs), never after (EINVAL).
/// Many execs, since the wrong order loses a race only now and then.
#[test]
fn exec_cpu_affinity_initial_outside_the_cpuset_never_fails() {
    let online = std::thread::available_parallelism().unwrap().get();
    assert!(
        online >= 2,
        "this test needs at least 2 CPUs, the machine has {online}"
    );
    let mut c = base_config(&["/bin/sleep", "100"]);
    c["linux"]["resources"]["cpu"] = json!({"cpus": "0", "mems": "0"});
    let mut process = c["process"].clone();
    process["args"] = json!(["/bin/sh", "-c", "grep Cpus_allowed_list /proc/self/status"]);
    process["execCPUAffinity"] = json!({"initial": "1"});
    let pair = Pair::new();
    let (b, r) = pair.both(|root, id| {
        let bundle = Bundle::new(&c);
        let proc_json = bundle.dir.join("process.json");
        std::fs::write(&proc_json, process.to_string()).unwrap();
        root.ok(&["run", "-d", "--bundle", bundle.dir.to_str().unwrap(), id]);
        let mut seen = Vec::new();
        for _ in 0..40 {
            let out = root.berth(&["exec", "--process", proc_json.to_str().unwrap(), id]);
            seen.push(format!(
                "{:?} {} {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).trim(),
                crate::common::messages(&String::from_utf8_lossy(&out.stderr))
            ));
        }
        root.ok(&["delete", "-f", id]);
        seen.sort();
        seen.dedup();
        seen
    });
    assert_eq!(b, ["Some(0) Cpus_allowed_list:\t0 "], "berth");
    assert_eq!(b, r, "berth and runc");
}

/// Only the container is in its new time namespace, with its offsets: the hooks that the
/// runtime runs before and after init are in the caller's, as runc's are. Also with the
/// runtime as root of a foreign user namespace (rootless podman's setup), which has no
/// rights over the time namespace it started in.
#[test]
fn hooks_run_in_the_callers_time_namespace() {
    let kinds = ["prestart", "createRuntime", "poststart", "poststop"];
    let caller = std::fs::read_link("/proc/self/ns/time").unwrap();
    let caller = caller.to_str().unwrap();
    for foreign_userns in [false, true] {
        let pair = Pair::new();
        let (b, r) = pair.both(|root, id| {
            let out = std::env::temp_dir().join(crate::common::unique("timens"));
            std::fs::create_dir(&out).unwrap();
            let hook = |kind: &str| {
                let script = format!("readlink /proc/self/ns/time > {}/{kind}", out.display());
                json!({"path": "/bin/sh", "args": ["sh", "-c", script]})
            };
            let script = "readlink /proc/self/ns/time; cut -d. -f1 /proc/uptime";
            let mut c = base_config(&["/bin/sh", "-c", script]);
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "time"}));
            c["linux"]["timeOffsets"] = json!({"boottime": {"secs": 864000, "nanosecs": 0}});
            c["hooks"] = kinds
                .iter()
                .map(|k| (k.to_string(), json!([hook(k)])))
                .collect();
            if foreign_userns {
                super::rootless::devpts_without_tty_gid(&mut c);
            }
            let bundle = Bundle::new(&c);
            let args = ["run", "--bundle", bundle.dir.to_str().unwrap(), id];
            let o = if foreign_userns {
                super::rootless::in_foreign_userns(root, &args)
            } else {
                Outcome::of(root, &args)
            };
            let mut lines = o.stdout.lines();
            let inside = lines.next().unwrap_or_default().to_string();
            let uptime: u64 = lines.next().unwrap_or_default().parse().unwrap_or(0);
            // The kinds whose hook ran outside the caller's time namespace.
            let elsewhere: Vec<&str> = kinds
                .into_iter()
                .filter(|k| {
                    std::fs::read_to_string(out.join(k))
                        .unwrap_or_default()
                        .trim()
                        != caller
                })
                .collect();
            std::fs::remove_dir_all(&out).unwrap();
            (
                o.code,
                inside != caller && inside.starts_with("time:["),
                uptime >= 864000,
                elsewhere,
                o.error(),
            )
        });
        let want = (0, true, true, Vec::<&str>::new(), String::new());
        assert_eq!(b, want, "berth, foreign user namespace: {foreign_userns}");
        assert_eq!(b, r, "runc, foreign user namespace: {foreign_userns}");
    }
}

/// The inode of the user namespace that owns namespace file `ns` (NS_GET_USERNS).
fn owner_userns(ns: &str) -> u64 {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::fs::MetadataExt;
    const NS_GET_USERNS: libc::c_ulong = 0xb701;
    let f = std::fs::File::open(ns).unwrap();
    // SAFETY: NS_GET_USERNS takes no argument and returns a new fd or -1.
    let fd = unsafe { libc::ioctl(f.as_raw_fd(), NS_GET_USERNS) };
    assert!(
        fd >= 0,
        "NS_GET_USERNS on {ns}: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: the kernel returned a new fd that nothing else owns.
    let owner = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    owner.metadata().unwrap().ino()
}

/// A new time namespace beside a new user namespace belongs to the container's user
/// namespace, as runc's does (root in the container has its rights over it), with offsets
/// (made by an intermediate process in the user namespace) and without (made by the clone).
#[test]
fn a_new_time_namespace_is_owned_by_the_containers_user_namespace() {
    use std::os::unix::fs::MetadataExt;
    for offsets in [false, true] {
        let mut c = base_config(&["/bin/sleep", "100"]);
        crate::common::add_userns(&mut c, 100000);
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "time"}));
        if offsets {
            c["linux"]["timeOffsets"] = json!({"boottime": {"secs": 864000, "nanosecs": 0}});
        }
        let pair = Pair::new();
        let (b, r) = pair.both(|root, id| {
            let bundle = Bundle::new(&c);
            root.ok(&["run", "-d", "--bundle", bundle.dir.to_str().unwrap(), id]);
            let pid = root.state(id)["pid"].as_i64().unwrap();
            let user = std::fs::metadata(format!("/proc/{pid}/ns/user"))
                .unwrap()
                .ino();
            let owner = owner_userns(&format!("/proc/{pid}/ns/time"));
            let inside: f64 = root
                .ok(&["exec", id, "cut", "-d", " ", "-f1", "/proc/uptime"])
                .trim()
                .parse()
                .unwrap();
            let host: f64 = std::fs::read_to_string("/proc/uptime")
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap()
                .parse()
                .unwrap();
            root.ok(&["delete", "-f", id]);
            // Half the offset apart: the offsets are there, and only when asked for.
            (owner == user, inside > host + 432000.0)
        });
        assert_eq!(
            b,
            (true, offsets),
            "berth, offsets {offsets}: (owned by the container's user namespace, offsets applied)"
        );
        assert_eq!(b, r, "offsets {offsets}");
    }
}

/// An init cloned by the intermediate process (time offsets in a new user namespace; a
/// namespace joined by path) is berth's child all the same (CLONE_PARENT, as runc's): `run
/// --no-subreaper` exits with its status.
#[test]
fn run_without_subreaper_gets_the_status_of_an_init_the_intermediate_cloned() {
    let mut offsets = base_config(&["/bin/sh", "-c", "exit 3"]);
    crate::common::add_userns(&mut offsets, 100000);
    offsets["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "time"}));
    offsets["linux"]["timeOffsets"] = json!({"monotonic": {"secs": 1000, "nanosecs": 0}});
    for joined in [false, true] {
        let pair = Pair::new();
        let (b, r) = pair.both(|root, id| {
            let mut c = offsets.clone();
            let mut owner = None;
            if joined {
                // Another container's network namespace, by path.
                c = base_config(&["/bin/sh", "-c", "exit 3"]);
                let other = format!("{id}-net");
                let b = Bundle::new(&base_config(&["/bin/sleep", "100"]));
                root.ok(&["run", "-d", "--bundle", b.dir.to_str().unwrap(), &other]);
                let pid = root.state(&other)["pid"].as_i64().unwrap();
                for ns in c["linux"]["namespaces"].as_array_mut().unwrap() {
                    if ns["type"] == "network" {
                        ns["path"] = json!(format!("/proc/{pid}/ns/net"));
                    }
                }
                owner = Some((other, b));
            }
            let bundle = Bundle::new(&c);
            let dir = bundle.dir.to_str().unwrap();
            let o = Outcome::of(root, &["run", "--no-subreaper", "--bundle", dir, id]);
            if let Some((other, _b)) = owner {
                root.ok(&["delete", "-f", &other]);
            }
            (o.code, o.error())
        });
        assert_eq!(b, (3, String::new()), "berth, joined {joined}");
        assert_eq!(b, r, "joined {joined}");
    }
}
