//! Cgroups, compared with runc: the values written for pids limits, empty cpuset ancestors,
//! real-time CPU pairs, runc's error words for a busy or frozen cgroup, kernel memory.

use super::{differences, update_from_stdin, Outcome, Pair};
use crate::cgroups::{hierarchies, host_dir, pure_v2};
use crate::common::{base_config, unique, Bundle, Root};
use serde_json::{json, Value};
use std::path::PathBuf;

fn read(dir: &std::path::Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()))
        .trim()
        .to_string()
}

/// A detached container of `config` under `root`; returns its init's pid.
fn start(root: &Root, id: &str, config: &Value) -> (i64, Bundle) {
    let b = Bundle::new(config);
    root.ok(&["run", "--detach", "--bundle", b.dir.to_str().unwrap(), id]);
    let pid = root.state(id)["pid"].as_i64().unwrap();
    (pid, b)
}

fn sleeper(resources: Value) -> Value {
    let mut c = base_config(&["/bin/sleep", "100"]);
    c["linux"]["resources"] = resources;
    c
}

/// pids.max for a config limit of -1, 0 and 7 and for `update --pids-limit` 0, 5, -1 (and
/// `update -r` with 0): what runc 1.5 writes (0 becomes 1, -1 "max"), value for value.
#[test]
fn pids_limits_as_runc_writes_them() {
    let pair = Pair::new();
    for limit in [-1, 0, 7] {
        let config = sleeper(json!({"pids": {"limit": limit}}));
        let (b, r) = pair.both(|root, id| {
            let (pid, _b) = start(root, id, &config);
            let dir = host_dir(pid, "pids");
            let mut seen = vec![read(&dir, "pids.max")];
            for u in ["0", "5", "-1"] {
                root.ok(&["update", "--pids-limit", u, id]);
                seen.push(read(&dir, "pids.max"));
            }
            let up = update_from_stdin(root, id, r#"{"pids":{"limit":0}}"#);
            assert_eq!(up.code, 0, "{up:?}");
            seen.push(read(&dir, "pids.max"));
            root.ok(&["delete", "--force", id]);
            seen
        });
        assert_eq!(b, r, "pids.max after limit {limit}, update 0, 5, -1, -r 0");
        assert_eq!(b[1], "1", "0 is a limit (runc writes 1)");
    }
}

/// `pids` without a `limit` (optional since spec 1.3) sets nothing, on create and on
/// `update -r`: pids.max keeps what it had, as with runc 1.5.
#[test]
fn pids_without_a_limit_changes_nothing() {
    let pair = Pair::new();
    let config = sleeper(json!({"pids": {}}));
    let (b, r) = pair.both(|root, id| {
        let (pid, _b) = start(root, id, &config);
        let dir = host_dir(pid, "pids");
        let mut seen = vec![read(&dir, "pids.max")];
        root.ok(&["update", "--pids-limit", "9", id]);
        let up = update_from_stdin(root, id, r#"{"pids":{}}"#);
        assert_eq!(up.code, 0, "{up:?}");
        seen.push(read(&dir, "pids.max"));
        root.ok(&["delete", "--force", id]);
        seen
    });
    assert_eq!(b, r);
    assert_eq!(b, ["max", "9"]);
}

/// A cgroupsPath below an existing ancestor whose cpus and mems are empty (a v1 cpuset made
/// by someone else and never filled): runc fills it from its parent and runs; so does berth.
#[test]
fn empty_cpuset_ancestor_is_filled() {
    let pair = Pair::new();
    let (b, r) = pair.both(|root, id| {
        let parent = unique("empty-cpuset");
        let dirs: Vec<PathBuf> = hierarchies()
            .iter()
            .filter(|h| h.v2 == pure_v2())
            .map(|h| h.mount.join(&parent))
            .collect();
        for d in &dirs {
            std::fs::create_dir(d).unwrap();
        }
        let cpuset = dirs
            .iter()
            .find(|d| d.join("cpuset.cpus").exists())
            .cloned();
        if let (Some(d), false) = (&cpuset, pure_v2()) {
            assert_eq!(read(d, "cpuset.cpus"), "", "a new v1 cpuset starts empty");
        }
        let mut c = base_config(&["/bin/sh", "-c", "grep Cpus_allowed_list /proc/self/status"]);
        c["linux"]["cgroupsPath"] = json!(format!("/{parent}/{id}"));
        let b = Bundle::new(&c);
        let out = Outcome::of(root, &["run", "--bundle", b.dir.to_str().unwrap(), id]);
        let filled = cpuset.as_ref().map(|d| read(d, "cpuset.cpus"));
        let _ = root.berth(&["delete", "--force", id]);
        // Every hierarchy: a runtime may have made the parent where the test did not (berth
        // in cgroup2 on a hybrid host, for hugetlb).
        for h in hierarchies() {
            let d = h.mount.join(&parent);
            let _ = std::fs::remove_dir(d.join(id));
            if d.exists() {
                std::fs::remove_dir(&d).unwrap();
            }
        }
        (out.code, out.stdout, filled)
    });
    assert_eq!(b.0, 0, "berth: {b:?}");
    assert_eq!(b, r);
}

/// Real-time CPU: from runtime 1000 / period 50000 to runtime 10 / period 900 in one update,
/// a move where writing the period first is refused by the kernel (runtime > period). Small
/// ratios: a deleted group's bandwidth still counts against the host's for a while.
#[test]
fn realtime_pair_changes_in_a_valid_order() {
    let probe = hierarchies()
        .iter()
        .find(|h| !h.v2 && h.controllers.iter().any(|c| c == "cpu"))
        .map(|h| h.mount.join("cpu.rt_runtime_us"));
    let pair = Pair::new();
    let config = sleeper(json!({"cpu": {"realtimeRuntime": 1000, "realtimePeriod": 50000}}));
    let (b, r) = pair.both(|root, id| {
        let b = Bundle::new(&config);
        let out = Outcome::of(
            root,
            &["run", "--detach", "--bundle", b.dir.to_str().unwrap(), id],
        );
        if out.code != 0 {
            let _ = root.berth(&["delete", "--force", id]);
            return (out.code, Vec::new());
        }
        let pid = root.state(id)["pid"].as_i64().unwrap();
        let dir = host_dir(pid, "cpu");
        let mut seen = vec![
            read(&dir, "cpu.rt_runtime_us"),
            read(&dir, "cpu.rt_period_us"),
        ];
        let args = [
            "update",
            "--cpu-rt-period",
            "900",
            "--cpu-rt-runtime",
            "10",
            id,
        ];
        let up = Outcome::of(root, &args);
        seen.push(up.code.to_string());
        seen.push(read(&dir, "cpu.rt_runtime_us"));
        seen.push(read(&dir, "cpu.rt_period_us"));
        root.ok(&["delete", "--force", id]);
        (0, seen)
    });
    assert_eq!(b, r);
    if probe.is_some_and(|p| p.exists()) {
        assert_eq!(b.1, ["1000", "50000", "0", "10", "900"]);
    } else {
        // No CONFIG_RT_GROUP_SCHED: both refuse the config.
        assert_ne!(b.0, 0);
    }
}

/// Every cgroup directory the container would use, for a cgroupsPath of `/name`.
fn cgroup_dirs(name: &str) -> Vec<PathBuf> {
    hierarchies()
        .iter()
        .filter(|h| h.v2 == pure_v2())
        .map(|h| h.mount.join(name))
        .collect()
}

/// A cgroupsPath whose cgroup already holds a process, or is frozen: both runtimes refuse
/// it with runc's words, which managers show to people.
#[test]
fn busy_or_frozen_cgroup_is_refused_with_runcs_words() {
    let pair = Pair::new();
    let (b, r) = pair.both(|root, id| {
        let name = unique("busy");
        let dirs = cgroup_dirs(&name);
        for d in &dirs {
            std::fs::create_dir(d).unwrap();
        }
        // A v1 cpuset takes no process until its cpus and mems are set.
        for d in dirs
            .iter()
            .filter(|d| !pure_v2() && d.join("cpuset.cpus").exists())
        {
            for f in ["cpuset.cpus", "cpuset.mems"] {
                std::fs::write(d.join(f), read(d.parent().unwrap(), f)).unwrap();
            }
        }
        let mut sleeper = std::process::Command::new("sleep")
            .arg("100")
            .spawn()
            .unwrap();
        for d in &dirs {
            std::fs::write(d.join("cgroup.procs"), sleeper.id().to_string()).unwrap();
        }
        let mut c = base_config(&["/bin/true"]);
        c["linux"]["cgroupsPath"] = json!(format!("/{name}"));
        let b = Bundle::new(&c);
        let busy = Outcome::of(root, &["run", "--bundle", b.dir.to_str().unwrap(), id]);
        sleeper.kill().unwrap();
        sleeper.wait().unwrap();
        // Freeze the (now empty) cgroup.
        for d in &dirs {
            if d.join("freezer.state").exists() {
                std::fs::write(d.join("freezer.state"), "FROZEN").unwrap();
            } else if d.join("cgroup.freeze").exists() {
                std::fs::write(d.join("cgroup.freeze"), "1").unwrap();
            }
        }
        let id2 = format!("{id}-f");
        let frozen = Outcome::of(root, &["run", "--bundle", b.dir.to_str().unwrap(), &id2]);
        for d in &dirs {
            let _ = std::fs::write(d.join("freezer.state"), "THAWED");
            let _ = std::fs::write(d.join("cgroup.freeze"), "0");
        }
        // Every hierarchy, as above: a runtime may have made the cgroup elsewhere too.
        for d in hierarchies().iter().map(|h| h.mount.join(&name)) {
            for _ in 0..50 {
                if std::fs::remove_dir(&d).is_ok() || !d.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            assert!(!d.exists(), "{} left behind", d.display());
        }
        (busy, frozen)
    });
    for (what, o) in [
        ("busy", &b.0),
        ("busy", &r.0),
        ("frozen", &b.1),
        ("frozen", &r.1),
    ] {
        assert_ne!(o.code, 0, "{what}: {o:?}");
    }
    assert!(
        b.0.error().contains("container's cgroup is not empty"),
        "{:?}",
        b.0
    );
    assert!(
        r.0.error().contains("container's cgroup is not empty"),
        "{:?}",
        r.0
    );
    assert!(
        b.1.error()
            .contains("container's cgroup unexpectedly frozen"),
        "{:?}",
        b.1
    );
    assert!(
        r.1.error()
            .contains("container's cgroup unexpectedly frozen"),
        "{:?}",
        r.1
    );
}

/// memory.kernel: accepted with runc's warning by both. memory.kernelTCP: berth writes it on
/// v1 where the kernel has the file (as crun does); runc ignores it (a listed difference).
#[test]
fn kernel_memory_settings() {
    let pair = Pair::new();
    let config = sleeper(json!({"memory": {"kernel": 100_000_000, "kernelTCP": 10_485_760}}));
    let (b, r) = pair.both(|root, id| {
        let b = Bundle::new(&config);
        let out = Outcome::of(
            root,
            &["run", "--detach", "--bundle", b.dir.to_str().unwrap(), id],
        );
        assert_eq!(out.code, 0, "{out:?}");
        let pid = root.state(id)["pid"].as_i64().unwrap();
        let dir = host_dir(pid, "memory");
        let tcp = dir
            .join("memory.kmem.tcp.limit_in_bytes")
            .exists()
            .then(|| read(&dir, "memory.kmem.tcp.limit_in_bytes"));
        root.ok(&["delete", "--force", id]);
        (out.stderr, tcp)
    });
    assert!(
        b.0.contains("Kernel memory settings are ignored"),
        "berth: {}",
        b.0
    );
    assert!(
        r.0.contains("Kernel memory settings are ignored"),
        "runc: {}",
        r.0
    );
    match (&b.1, &r.1) {
        (Some(b_tcp), Some(r_tcp)) => {
            let _ = differences::intended("memory.kernelTCP on cgroup v1");
            assert_eq!(b_tcp, "10485760", "berth writes kernelTCP");
            assert_ne!(r_tcp, "10485760", "runc ignores kernelTCP");
        }
        // No TCP buffer limit in this kernel (or cgroup v2): berth says it ignores it.
        _ => assert!(b.0.contains("kernelTCP is ignored"), "berth: {}", b.0),
    }
}

/// Device rules with access letters outside r, w and m: the spec allows only those; berth
/// refuses them with an error naming the field, runc ignores the unknown letter (listed).
#[test]
fn device_access_letters_outside_rwm() {
    let pair = Pair::new();
    let mut c = base_config(&["/bin/true"]);
    c["linux"]["resources"] = json!({"devices": [{"allow": false, "access": "rwmx"}]});
    let bundle = Bundle::new(&c);
    let dir = bundle.dir.to_str().unwrap();
    let (b, r) = pair.both(|root, id| Outcome::of(root, &["run", "--bundle", dir, id]));
    let _ = differences::intended("device access letters outside rwm");
    assert_eq!(r.code, 0, "runc: {r:?}");
    assert_eq!(b.code, 1, "berth: {b:?}");
    assert!(
        b.error().contains("linux.resources.devices[0].access"),
        "berth: {b:?}"
    );
    assert!(pair.berth.entries().is_empty(), "nothing left behind");
}
