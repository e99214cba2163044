//! The cgroup commands against runc: pause and resume (status rules, runc's words, the
//! freezer seen from the host), update (every runc flag, -r FILE and -r -, bad values,
//! memory and swap together, paused and stopped containers), ps (the table and ps(1)
//! arguments, -f json of a stopped container) and events (the --interval stream and how it
//! ends, OOM kills, a stopped container).

use super::{assert_same_code, differences, runc, stats_shape, update_from_stdin, Outcome, Pair};
use crate::cgroups::{host_dir, pure_v2};
use crate::common::{base_config, pid_alive, unique, Bundle, Root};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn sleeper(resources: Value) -> Value {
    let mut c = base_config(&["/bin/sleep", "100"]);
    c["linux"]["resources"] = resources;
    c
}

/// A detached container of `config` under `root`; returns its init's pid.
fn start(root: &Root, id: &str, config: &Value) -> (i64, Bundle) {
    let b = Bundle::new(config);
    root.ok(&["run", "--detach", "--bundle", b.dir.to_str().unwrap(), id]);
    let pid = root.state(id)["pid"].as_i64().unwrap();
    (pid, b)
}

fn status(root: &Root, id: &str) -> String {
    root.state(id)["status"].as_str().unwrap().to_string()
}

fn wait_stopped(root: &Root, id: &str) {
    let end = Instant::now() + Duration::from_secs(20);
    while status(root, id) != "stopped" {
        assert!(Instant::now() < end, "{id} did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A cgroup file's trimmed text, or "<none>" where the kernel has no such file.
fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .map_or_else(|_| "<none>".to_string(), |s| s.trim().to_string())
}

/// The freezer's view of a cgroup: the v1 freezer.state, or cgroup2's "frozen" flag.
struct Freezer(PathBuf);

impl Freezer {
    fn of(pid: i64) -> Freezer {
        Freezer(if pure_v2() {
            host_dir(pid, "")
        } else {
            host_dir(pid, "freezer")
        })
    }

    fn state(&self) -> String {
        if pure_v2() {
            let ev = read(&self.0, "cgroup.events");
            let frozen = ev.lines().any(|l| l == "frozen 1");
            return if frozen { "FROZEN" } else { "THAWED" }.to_string();
        }
        read(&self.0, "freezer.state")
    }
}

/// Asserts that berth failed where runc failed, with the same exit code, and that berth's
/// error carries runc's words (what managers match), whatever context berth adds.
#[track_caller]
fn assert_same_failure(what: &str, b: &Outcome, r: &Outcome) {
    assert_same_code(what, b, r);
    if r.code != 0 {
        assert!(
            b.error().contains(&r.error()),
            "{what}: berth's error lacks runc's words {:?}\nberth: {b:?}",
            r.error()
        );
    }
}

/// pause and resume through a container's life: created, paused, running, stopped. Same
/// exit codes, runc's words in berth's errors, and the same status and freezer state after
/// each step (read from the host).
#[test]
fn pause_and_resume_follow_runcs_status_rules() {
    let pair = Pair::new();
    let bundle = Bundle::new(&base_config(&["/bin/sleep", "100"]));
    let dir = bundle.dir.to_str().unwrap();
    let (b, r) = pair.both(|root, id| {
        root.ok(&["create", "--bundle", dir, id]);
        let freezer = Freezer::of(root.state(id)["pid"].as_i64().unwrap());
        let mut steps = Vec::new();
        let mut step = |what: &str, cmd: &str| {
            let out = Outcome::of(root, &[cmd, id]);
            let after = format!("{} {}", status(root, id), freezer.state());
            steps.push((what.to_string(), out, after));
        };
        step("pause of a created container", "pause");
        step("pause of a paused container", "pause");
        step("resume of a paused (created) container", "resume");
        step("resume of a created container", "resume");
        root.ok(&["start", id]);
        step("resume of a running container", "resume");
        step("pause of a running container", "pause");
        step("resume of a paused container", "resume");
        root.ok(&["kill", id, "KILL"]);
        wait_stopped(root, id);
        step("pause of a stopped container", "pause");
        step("resume of a stopped container", "resume");
        root.ok(&["delete", id]);
        steps
    });
    assert_eq!(b.len(), r.len());
    for ((what, bo, ba), (_, ro, ra)) in b.iter().zip(&r) {
        assert_same_failure(what, bo, ro);
        assert_eq!(ba, ra, "{what}: status and freezer state after");
    }
    // The effect itself, not only agreement: paused means frozen.
    assert_eq!(b[0].2, "paused FROZEN");
    assert_eq!(b[5].2, "paused FROZEN");
    assert_eq!(b[6].2, "running THAWED");
    assert_eq!(r[1].1.error(), "container not running");
    assert_eq!(r[3].1.error(), "container not paused");
}

/// A paused container killed with SIGKILL stops (frozen tasks die once the signal is
/// delivered); a paused container removed with delete --force leaves no process, state or
/// cgroup, as with runc.
#[test]
fn paused_container_kill_and_delete_force() {
    let pair = Pair::new();
    let config = base_config(&["/bin/sleep", "100"]);
    let (b, r) = pair.both(|root, id| {
        let (_, _b) = start(root, id, &config);
        root.ok(&["pause", id]);
        let kill = Outcome::of(root, &["kill", id, "KILL"]);
        wait_stopped(root, id);
        let delete = Outcome::of(root, &["delete", id]);

        let id2 = unique("paused");
        let (pid, _b2) = start(root, &id2, &config);
        let freezer = Freezer::of(pid);
        root.ok(&["pause", &id2]);
        let plain_delete = Outcome::of(root, &["delete", &id2]);
        let forced = Outcome::of(root, &["delete", "--force", &id2]);
        let end = Instant::now() + Duration::from_secs(10);
        let gone = |pid: i64| {
            !pid_alive(pid)
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|s| s.rsplit(')').next().unwrap().trim_start().starts_with('Z'))
        };
        while !gone(pid) && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(50));
        }
        let list = root.ok(&["list", "-q"]);
        (
            kill.code,
            delete.code,
            plain_delete.code,
            forced.code,
            gone(pid),
            freezer.0.exists(),
            list,
        )
    });
    assert_eq!(b, r);
    assert_eq!(b, (0, 0, 1, 0, true, false, String::new()));
}

/// Every flag runc 1.5.1's update lists is a flag of berth's update too.
#[test]
fn update_has_every_runc_flag() {
    let flags = |help: &str| -> Vec<String> {
        help.split_whitespace()
            .filter_map(|w| w.strip_prefix("--"))
            .map(|w| w.trim_end_matches(',').to_string())
            .filter(|w| w.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
            .collect()
    };
    let r = Outcome::from_cmd(Command::new(runc()).args(["update", "--help"]));
    let b = Outcome::of(&Root::new(), &["update", "--help"]);
    let (rf, bf) = (flags(&r.stdout), flags(&b.stdout));
    assert!(rf.len() >= 16, "runc's flags: {rf:?}");
    for f in &rf {
        assert!(bf.contains(f), "berth update lacks --{f}\n{}", b.stdout);
    }
}

/// The cgroup files behind each update flag: (controller, v1 file, cgroup2 file).
const FILES: &[(&str, &str, &str)] = &[
    ("memory", "memory.limit_in_bytes", "memory.max"),
    ("memory", "memory.soft_limit_in_bytes", "memory.low"),
    ("memory", "memory.memsw.limit_in_bytes", "memory.swap.max"),
    ("memory", "memory.kmem.limit_in_bytes", "memory.max"),
    ("cpu", "cpu.cfs_period_us", "cpu.max"),
    ("cpu", "cpu.cfs_quota_us", "cpu.max"),
    ("cpu", "cpu.shares", "cpu.weight"),
    ("cpu", "cpu.idle", "cpu.idle"),
    ("cpuset", "cpuset.cpus", "cpuset.cpus"),
    ("cpuset", "cpuset.mems", "cpuset.mems"),
    ("pids", "pids.max", "pids.max"),
];

/// The values of every file in FILES for the container whose init is `pid`.
fn limits(pid: i64) -> Vec<String> {
    FILES
        .iter()
        .map(|(c, v1, v2)| {
            if pure_v2() {
                read(&host_dir(pid, ""), v2)
            } else {
                read(&host_dir(pid, c), v1)
            }
        })
        .collect()
}

/// Each flag of runc's update on a running container, one at a time: the same exit code
/// and the same values in every cgroup file afterwards. (The realtime pair has its own
/// test in compat/cgroups.rs.)
#[test]
fn update_flags_write_what_runc_writes() {
    let pair = Pair::new();
    let config = sleeper(json!({"memory": {"limit": 256 << 20, "swap": 512 << 20}}));
    let steps: &[&[&str]] = &[
        &["--memory", "64m"],
        &[],
        &["--memory-reservation", "32m"],
        &["--memory-swap", "128m"],
        &["--memory-swap", "-1"],
        &["--memory", "-1"],
        &["--cpu-period", "50000"],
        &["--cpu-quota", "25000"],
        &["--cpu-quota", "-1"],
        &["--cpu-share", "512"],
        &["--cpu-idle", "1"],
        &["--cpu-burst", "1000"],
        &["--cpuset-cpus", "0"],
        &["--cpuset-mems", "0"],
        &["--pids-limit", "10"],
        &["--blkio-weight", "500"],
        &["--kernel-memory", "5m"],
        &["--kernel-memory", "5m", "--memory", "100m"],
        // Zero or empty: "unchanged" for runc, except where it is a value.
        &["--memory", "0"],
        &["--memory-swap", "0"],
        &["--memory-reservation", "0"],
        &["--cpu-share", "0"],
        &["--cpu-period", "0"],
        &["--cpu-quota", "0"],
        &["--cpu-idle", "0"],
        &["--cpuset-cpus", ""],
        &["--blkio-weight", "0"],
        &["--memory", "1.5m"],
        &["--memory", "10MiB"],
        // Unlimited memory with swap left out: swap becomes unlimited too.
        &["--memory", "64m", "--memory-swap", "128m"],
        &["--memory", "-1"],
    ];
    let (b, r) = pair.both(|root, id| {
        let (pid, _b) = start(root, id, &config);
        let mut seen = Vec::new();
        for args in steps {
            let mut full = vec!["update"];
            full.extend_from_slice(args);
            full.push(id);
            let out = Outcome::of(root, &full);
            seen.push((args.join(" "), out.code, limits(pid)));
        }
        root.ok(&["delete", "--force", id]);
        seen
    });
    for (sb, sr) in b.iter().zip(&r) {
        assert_eq!(sb, sr, "update {}", sb.0);
    }
    assert_eq!(b[0].1, 0);
    assert_eq!(b[0].2[0], "67108864");
    assert_eq!(
        b[1].1, 0,
        "an update without flags changes nothing and succeeds"
    );
    assert_eq!(b[14].2[10], "10", "--pids-limit 10");
}

/// `update -r FILE` and `update -r -` (stdin) with a linux.resources object: the same
/// values as runc in the cgroup files.
#[test]
fn update_from_a_file_and_from_stdin() {
    let pair = Pair::new();
    let config = sleeper(json!({}));
    let file_json = r#"{"memory":{"limit":50331648,"reservation":16777216},"cpu":{"shares":256,"quota":20000,"period":100000},"pids":{"limit":12}}"#;
    let stdin_json =
        r#"{"memory":{"limit":41943040,"swap":83886080},"cpu":{"cpus":"0"},"pids":{"limit":-1}}"#;
    let (b, r) = pair.both(|root, id| {
        let (pid, bundle) = start(root, id, &config);
        let file = bundle.dir.join("resources.json");
        std::fs::write(&file, file_json).unwrap();
        let from_file = Outcome::of(root, &["update", "-r", file.to_str().unwrap(), id]);
        let after_file = limits(pid);
        let from_stdin = update_from_stdin(root, id, stdin_json);
        let after_stdin = limits(pid);
        root.ok(&["delete", "--force", id]);
        (from_file.code, after_file, from_stdin.code, after_stdin)
    });
    assert_eq!(b, r);
    assert_eq!((b.0, b.2), (0, 0));
    assert_eq!(b.1[10], "12");
    assert_eq!(b.3[10], "max");
}

/// `update -r -` as containerd sends it: the container's whole linux.resources, device
/// rules included. runc never changes device rules on update and applies the rest; so does
/// berth (it used to refuse the device list, failing every update from containerd).
#[test]
fn update_with_the_whole_resources_as_containerd_sends_them() {
    let pair = Pair::new();
    let config = sleeper(json!({}));
    let resources = json!({
        "devices": [
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "r"}
        ],
        "memory": {"limit": 50331648, "swap": 100663296},
        "cpu": {"shares": 300, "quota": 30000, "period": 100000},
        "pids": {"limit": 33},
        "hugepageLimits": [],
        "blockIO": {}
    })
    .to_string();
    let (b, r) = pair.both(|root, id| {
        let (pid, _bundle) = start(root, id, &config);
        let devices = |pid| {
            if pure_v2() {
                String::new()
            } else {
                read(&host_dir(pid, "devices"), "devices.list")
            }
        };
        let before = devices(pid);
        let out = update_from_stdin(root, id, &resources);
        let after = limits(pid);
        let devices_kept = devices(pid) == before;
        root.ok(&["delete", "--force", id]);
        (out.code, after, devices_kept)
    });
    assert_eq!(b, r);
    assert_eq!((b.0, b.2), (0, true), "berth: {b:?}");
    assert_eq!(b.1[10], "33");
}

/// The block device under / (its "major:minor"), for block IO throttles that the kernel
/// accepts.
fn root_block_device() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let dev = std::fs::metadata("/").ok()?.dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    // A partition's whole disk, if / is on a partition (throttles take disks).
    let sys = format!("/sys/dev/block/{major}:{minor}");
    let whole = if Path::new(&sys).join("partition").exists() {
        std::fs::read_to_string(Path::new(&sys).join("../dev")).ok()?
    } else {
        format!("{major}:{minor}")
    };
    Some(whole.trim().to_string())
}

/// The fields of linux.resources that runc's update leaves alone (hugepage limits,
/// network, rdma, swappiness, the OOM killer switch) and those it applies beyond the
/// documented ones (block IO throttles): each in its own `update -r -`, the same exit code
/// and the same cgroup files afterwards.
#[test]
fn update_applies_the_fields_runc_applies() {
    let pair = Pair::new();
    let config = sleeper(json!({}));
    let mut cases = vec![
        json!({"memory": {"swappiness": 10}}),
        json!({"memory": {"disableOOMKiller": true}}),
        json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}]}),
        json!({"network": {"classID": 7}}),
        json!({"rdma": {"mlx4_0": {"hcaHandles": 1}}}),
    ];
    if let Some(dev) = root_block_device() {
        let (major, minor) = dev.split_once(':').unwrap();
        let (major, minor): (i64, i64) = (major.parse().unwrap(), minor.parse().unwrap());
        cases.push(json!({"blockIO": {"throttleReadBpsDevice":
            [{"major": major, "minor": minor, "rate": 1048576}]}}));
    }
    let (b, r) = pair.both(|root, id| {
        let (pid, _bundle) = start(root, id, &config);
        let files = || {
            if pure_v2() {
                let dir = host_dir(pid, "");
                return vec![read(&dir, "io.max"), read(&dir, "hugetlb.2MB.max")];
            }
            let mem = host_dir(pid, "memory");
            let oom = read(&mem, "memory.oom_control");
            vec![
                read(&mem, "memory.swappiness"),
                oom.lines()
                    .find(|l| l.starts_with("oom_kill_disable"))
                    .unwrap_or("")
                    .to_string(),
                read(&host_dir(pid, "blkio"), "blkio.throttle.read_bps_device"),
            ]
        };
        let mut seen = Vec::new();
        for case in &cases {
            let out = update_from_stdin(root, id, &case.to_string());
            seen.push((case.to_string(), out.code, files()));
        }
        root.ok(&["delete", "--force", id]);
        seen
    });
    for (sb, sr) in b.iter().zip(&r) {
        assert_eq!(sb, sr, "update -r - <<< {}", sb.0);
    }
    assert!(b.iter().all(|s| s.1 == 0), "{b:?}");
    if let Some(dev) = root_block_device().filter(|_| !pure_v2()) {
        let last = &b.last().unwrap().2;
        assert_eq!(last[2], format!("{dev} 1048576"), "the throttle applied");
        assert_eq!(
            last[0..2],
            b[0].2[0..2],
            "swappiness and the OOM killer untouched"
        );
    }
}

/// `-r FILE` with another flag: runc ignores the flag (its help says so), berth refuses
/// the mix and changes nothing.
#[test]
fn update_file_with_a_flag() {
    let pair = Pair::new();
    let config = sleeper(json!({}));
    let (b, r) = pair.both(|root, id| {
        let (pid, bundle) = start(root, id, &config);
        let file = bundle.dir.join("resources.json");
        std::fs::write(&file, r#"{"pids":{"limit":12}}"#).unwrap();
        let before = limits(pid);
        let out = Outcome::of(
            root,
            &[
                "update",
                "-r",
                file.to_str().unwrap(),
                "--pids-limit",
                "20",
                id,
            ],
        );
        let after = limits(pid);
        root.ok(&["delete", "--force", id]);
        (out, before, after)
    });
    let _ = differences::intended("update: -r with other flags");
    assert_eq!(r.0.code, 0, "runc: {:?}", r.0);
    assert_eq!(r.2[10], "12", "runc applies the file and ignores the flag");
    assert_eq!(b.0.code, 1, "berth: {:?}", b.0);
    assert!(
        b.0.error()
            .contains("--pids-limit cannot be given with --resources"),
        "{:?}",
        b.0
    );
    assert_eq!(b.1, b.2, "berth changed nothing");
}

/// Bad values: the same exit code as runc, and berth leaves every limit as it was (runc
/// may have applied part of the update before the kernel refused the rest: a listed
/// difference).
#[test]
fn update_refuses_bad_values() {
    let pair = Pair::new();
    let config = sleeper(json!({"memory": {"limit": 256 << 20, "swap": 512 << 20}}));
    let cases: &[&[&str]] = &[
        &["--memory", "x"],
        &["--memory", "-5"],
        &["--memory-swap", "x"],
        &["--memory-reservation", "x"],
        &["--cpu-period", "-1"],
        &["--cpu-period", "x"],
        &["--cpu-period", "500"],
        &["--cpu-quota", "x"],
        &["--cpu-share", "x"],
        &["--cpu-rt-runtime", "x"],
        &["--cpu-idle", "2"],
        &["--cpu-idle", "x"],
        &["--blkio-weight", "x"],
        &["--blkio-weight", "-1"],
        &["--pids-limit", "x"],
        &["--cpuset-cpus", "99"],
        &["--cpuset-mems", "5"],
        &["--memory", "10m", "--memory-swap", "5m"],
        &["--kernel-memory", "x"],
        &["-r", "/nonexistent/resources.json"],
    ];
    let (b, r) = pair.both(|root, id| {
        let (pid, _b) = start(root, id, &config);
        let mut seen = Vec::new();
        for args in cases {
            let before = limits(pid);
            let mut full = vec!["update"];
            full.extend_from_slice(args);
            full.push(id);
            let out = Outcome::of(root, &full);
            seen.push((args.join(" "), out, before, limits(pid)));
        }
        for bad in ["garbage", r#"{"memory":{"limit":"x"}}"#] {
            let before = limits(pid);
            let out = update_from_stdin(root, id, bad);
            seen.push((format!("-r - <<< {bad}"), out, before, limits(pid)));
        }
        root.ok(&["delete", "--force", id]);
        seen
    });
    for ((what, bo, bb, ba), (_, ro, rb, ra)) in b.iter().zip(&r) {
        assert_same_code(what, bo, ro);
        assert_eq!(bo.code, 1, "{what}: berth {bo:?}");
        let e = bo.error();
        assert!(
            !e.is_empty() && !e.contains("unexpected argument"),
            "{what}: berth's error should name the bad value: {e}"
        );
        assert_eq!(bb, ba, "{what}: berth changed a limit it refused");
        if rb != ra {
            let _ = differences::intended("update: a refused update changes nothing");
        }
    }
}

/// A memory limit below what the container uses: the kernel refuses it, and berth says so
/// in runc's words. With checkBeforeUpdate, berth refuses it before writing, in the words
/// runc uses on cgroup v2 (runc ignores the field on v1).
#[test]
fn update_memory_below_usage() {
    let pair = Pair::new();
    let config = sleeper(json!({}));
    let (b, r) = pair.both(|root, id| {
        let (pid, _bundle) = start(root, id, &config);
        let plain = Outcome::of(root, &["update", "--memory", "4k", id]);
        let checked = update_from_stdin(
            root,
            id,
            r#"{"memory":{"limit":4096,"checkBeforeUpdate":true}}"#,
        );
        let after = limits(pid);
        root.ok(&["delete", "--force", id]);
        (plain, checked, after)
    });
    assert_same_code("--memory 4k", &b.0, &r.0);
    assert_same_code("checkBeforeUpdate", &b.1, &r.1);
    assert_eq!(b.0.code, 1);
    if !pure_v2() {
        let words = "unable to set memory limit to 4096 (current usage: ";
        assert!(r.0.error().starts_with(words), "runc: {:?}", r.0);
        assert!(b.0.error().contains(words), "berth: {:?}", b.0);
        assert!(r.1.error().starts_with(words), "runc: {:?}", r.1);
        let _ = differences::intended("update: checkBeforeUpdate on cgroup v1");
    }
    assert!(
        b.1.error()
            .contains("rejecting memory limit 4096 <= usage "),
        "berth: {:?}",
        b.1
    );
    assert_eq!(b.2, r.2, "limits after both refusals");
}

/// Memory and swap raised together, lowered together, then each alone: the kernel keeps
/// limit <= memory+swap at every step, so the order of the writes matters; the same values
/// as runc afterwards each time, and the same refusals where one alone would cross the other.
#[test]
fn update_memory_and_swap_together() {
    let pair = Pair::new();
    let config = sleeper(json!({"memory": {"limit": 20 << 20, "swap": 40 << 20}}));
    let steps: &[&[&str]] = &[
        &["--memory", "40m", "--memory-swap", "80m"],
        &["--memory", "10m", "--memory-swap", "20m"],
        &["--memory", "50m", "--memory-swap", "100m"],
        &["--memory", "60m"],
        &["--memory-swap", "-1"],
        &["--memory", "30m", "--memory-swap", "30m"],
        // Memory alone above memory+swap, memory+swap alone below memory: the kernel
        // refuses both, and nothing changes.
        &["--memory", "40m"],
        &["--memory-swap", "20m"],
    ];
    let (b, r) = pair.both(|root, id| {
        let (pid, _b) = start(root, id, &config);
        let mut seen = Vec::new();
        for args in steps {
            let mut full = vec!["update"];
            full.extend_from_slice(args);
            full.push(id);
            let out = Outcome::of(root, &full);
            let l = limits(pid);
            seen.push((args.join(" "), out.code, l[0].clone(), l[2].clone()));
        }
        root.ok(&["delete", "--force", id]);
        seen
    });
    assert_eq!(b, r);
    let codes: Vec<i32> = b.iter().map(|s| s.1).collect();
    assert_eq!(codes, [0, 0, 0, 0, 0, 0, 1, 1], "{b:?}");
    assert_eq!(b[7].2, b[5].2, "a refused update leaves the limit");
    if !pure_v2() {
        assert_eq!((b[1].2.as_str(), b[1].3.as_str()), ("10485760", "20971520"));
        assert_eq!(
            (b[2].2.as_str(), b[2].3.as_str()),
            ("52428800", "104857600")
        );
    }
}

/// update of a paused container applies (runc and berth alike) and leaves it paused, so
/// does update of a created one; update of a stopped one fails with runc's words.
#[test]
fn update_paused_and_stopped() {
    let pair = Pair::new();
    let config = sleeper(json!({}));
    let (b, r) = pair.both(|root, id| {
        let (pid, _b) = start(root, id, &config);
        root.ok(&["pause", id]);
        let paused = Outcome::of(root, &["update", "--pids-limit", "9", id]);
        let value = limits(pid)[10].clone();
        let still = status(root, id);
        root.ok(&["resume", id]);
        root.ok(&["kill", id, "KILL"]);
        wait_stopped(root, id);
        let stopped = Outcome::of(root, &["update", "--pids-limit", "7", id]);
        root.ok(&["delete", id]);
        let created = unique("created");
        let bundle = Bundle::new(&config);
        root.ok(&["create", "--bundle", bundle.dir.to_str().unwrap(), &created]);
        let pid = root.state(&created)["pid"].as_i64().unwrap();
        let of_created = Outcome::of(root, &["update", "--pids-limit", "8", &created]);
        let created_value = limits(pid)[10].clone();
        root.ok(&["delete", "--force", &created]);
        (
            paused,
            value,
            still,
            stopped,
            of_created.code,
            created_value,
        )
    });
    assert_eq!(
        (b.4, b.5.as_str()),
        (0, "8"),
        "update of a created container"
    );
    assert_eq!((b.4, &b.5), (r.4, &r.5));
    assert_same_code("update of a paused container", &b.0, &r.0);
    assert_eq!((&b.1, &b.2), (&r.1, &r.2));
    assert_eq!((b.0.code, b.1.as_str(), b.2.as_str()), (0, "9", "paused"));
    assert_same_failure("update of a stopped container", &b.3, &r.3);
    assert_eq!(r.3.error(), "container not running");
}

/// Intel RDT schemas: runc refuses them on a host without RDT (as this one), in words
/// scripts match; berth, finding no resctrl either, refuses them with the same words.
#[test]
fn update_intel_rdt_schemas() {
    let pair = Pair::new();
    let config = sleeper(json!({}));
    let (b, r) = pair.both(|root, id| {
        let (_, _b) = start(root, id, &config);
        let l3 = Outcome::of(root, &["update", "--l3-cache-schema", "L3:0=f", id]);
        let mb = Outcome::of(root, &["update", "--mem-bw-schema", "MB:0=50", id]);
        root.ok(&["delete", "--force", id]);
        (l3, mb)
    });
    assert_eq!(r.0.error(), "Intel RDT/CAT: l3 cache schema is not enabled");
    assert_eq!(
        r.1.error(),
        "Intel RDT/MBA: memory bandwidth schema is not enabled"
    );
    assert_same_failure("--l3-cache-schema", &b.0, &r.0);
    assert_same_failure("--mem-bw-schema", &b.1, &r.1);
}

/// The header's column names and the rows' values of one column (by header name), sorted.
fn table(out: &str, col: &str) -> (Vec<String>, Vec<String>) {
    let mut lines = out.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let i = header.iter().position(|h| h == col).unwrap_or(usize::MAX);
    let mut vals: Vec<String> = lines
        .map(|l| l.split_whitespace().nth(i).unwrap_or("?").to_string())
        .collect();
    vals.sort();
    (header, vals)
}

/// ps: the table (ps -ef's header, a row per process of the container), ps arguments after
/// the id (all of them ps's, `-f` and `--` included) and after `--`, a format without a PID
/// column, and -f json of a stopped container.
#[test]
fn ps_table_arguments_and_stopped() {
    let pair = Pair::new();
    let config = base_config(&["/bin/sh", "-c", "sleep 100 & exec sleep 101"]);
    let (b, r) = pair.both(|root, id| {
        let (_, _b) = start(root, id, &config);
        let end = Instant::now() + Duration::from_secs(10);
        while root.ok(&["ps", "-f", "json", id]).matches(',').count() != 1 {
            assert!(Instant::now() < end, "two processes in {id}");
            std::thread::sleep(Duration::from_millis(50));
        }
        let default = Outcome::of(root, &["ps", id]);
        let args = Outcome::of(root, &["ps", id, "-o", "pid,comm"]);
        let dashed = Outcome::of(root, &["ps", "--", id, "-o", "pid,comm"]);
        let no_pid = Outcome::of(root, &["ps", id, "-o", "comm"]);
        // After the id everything is ps's, -f and -- too.
        let full = Outcome::of(root, &["ps", id, "-f"]);
        let not_json = Outcome::of(root, &["ps", id, "-f", "json"]);
        let dash_after = Outcome::of(root, &["ps", id, "--", "-o", "pid,comm"]);
        root.ok(&["kill", id, "KILL"]);
        wait_stopped(root, id);
        let stopped_json = Outcome::of(root, &["ps", "-f", "json", id]);
        let stopped_table = Outcome::of(root, &["ps", id]);
        root.ok(&["delete", id]);
        (
            (default.code, table(&default.stdout, "CMD")),
            (args.code, table(&args.stdout, "COMMAND")),
            (dashed.code, table(&dashed.stdout, "COMMAND")),
            no_pid,
            (stopped_json.code, stopped_json.stdout),
            (stopped_table.code, table(&stopped_table.stdout, "CMD")),
            (full.code, table(&full.stdout, "CMD")),
            (not_json.code, not_json.stdout),
            (dash_after.code, dash_after.stdout),
        )
    });
    assert_eq!(b.6, r.6, "ps ID -f: ps's full format");
    assert_eq!(b.6 .1 .0[1], "PID");
    assert_eq!(b.7, r.7, "ps ID -f json: ps's -f, which refuses json");
    assert_eq!(b.7 .0, 1);
    assert_eq!(b.8, r.8, "ps ID -- -o pid,comm: ps gets the --");
    assert_eq!(b.0, r.0, "ps (the default ps -ef table)");
    assert_eq!(b.0 .1 .1, ["sleep", "sleep"], "one row per process");
    assert_eq!(b.1, r.1, "ps ID -o pid,comm");
    assert_eq!(b.1 .1 .0, ["PID", "COMMAND"]);
    assert_eq!(b.2, r.2, "ps -- ID -o pid,comm");
    assert_same_failure("ps -o comm (no PID column)", &b.3, &r.3);
    assert_eq!(r.3.error(), "couldn't find PID field in ps output");
    assert_eq!(b.4, r.4, "ps -f json of a stopped container");
    assert_eq!(b.4, (0, "null\n".to_string()));
    assert_eq!(b.5, r.5, "ps of a stopped container: the header alone");
}

/// `events` in the background, with its output in a file.
struct Stream {
    child: std::process::Child,
    out: PathBuf,
}

impl Stream {
    fn start(root: &Root, args: &[&str], dir: &Path) -> Stream {
        let out = dir.join(unique("events"));
        let child = root
            .cmd()
            .args(args)
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Stream { child, out }
    }

    /// Waits (up to 20 s) for the stream to end: (exit code, its lines); None if it did not.
    fn end(mut self) -> (Option<i32>, Vec<String>) {
        let end = Instant::now() + Duration::from_secs(20);
        let code = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st.code();
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let text = std::fs::read_to_string(&self.out).unwrap();
        let _ = std::fs::remove_file(&self.out);
        (code, text.lines().map(str::to_string).collect())
    }
}

/// `events --interval`: stats lines shaped like runc's, one per interval; the stream goes
/// on after the container stops (on cgroup v1 runc stops only when the cgroup is removed)
/// and ends, with exit 0, when the container is deleted.
#[test]
fn events_interval_stream_ends_with_the_cgroup() {
    let pair = Pair::new();
    let config = base_config(&["/bin/sleep", "1.5"]);
    let (b, r) = pair.both(|root, id| {
        let (_, bundle) = start(root, id, &config);
        let mut stream = Stream::start(root, &["events", "--interval", "400ms", id], &bundle.dir);
        wait_stopped(root, id);
        std::thread::sleep(Duration::from_millis(1500));
        let still_running = stream.child.try_wait().unwrap().is_none();
        root.ok(&["delete", id]);
        let (code, lines) = stream.end();
        (code, still_running, lines)
    });
    assert_eq!(b.0, r.0, "exit codes");
    assert_eq!(b.0, Some(0), "berth's stream ended with exit 0");
    if !pure_v2() {
        assert_eq!(
            (b.1, r.1),
            (true, true),
            "streaming after the container stopped"
        );
    }
    for (name, (_, _, lines)) in [("berth", &b), ("runc", &r)] {
        assert!(lines.len() >= 3, "{name}: {lines:?}");
        for l in lines {
            let v: Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["type"], "stats", "{name}: {l}");
        }
    }
    assert_eq!(
        stats_shape(&b.2[0]),
        stats_shape(&r.2[0]),
        "stats lines differ in shape\nberth: {}\nrunc:  {}",
        b.2[0],
        r.2[0]
    );
    // The last line of each: stats of the stopped container, read before its cgroup went.
    let (lb, lr) = (b.2.last().unwrap(), r.2.last().unwrap());
    assert_eq!(
        stats_shape(lb),
        stats_shape(lr),
        "last lines\nberth: {lb}\nrunc:  {lr}"
    );
}

/// An OOM kill inside the container: both print `{"type":"oom","id":ID}` lines (the
/// kernel's notifications for one kill: at least one), and the stream ends when the
/// container is deleted.
#[test]
fn events_report_oom_kills() {
    let pair = Pair::new();
    let mut config = base_config(&[
        "/bin/sh",
        "-c",
        "sleep 2; (x=$(head -c 100m /dev/zero | tr '\\0' a)); echo $?; sleep 1",
    ]);
    config["linux"]["resources"] = json!({"memory": {"limit": 16 << 20, "swap": 16 << 20}});
    let (b, r) = pair.both(|root, id| {
        let (_, bundle) = start(root, id, &config);
        let stream = Stream::start(root, &["events", "--interval", "30s", id], &bundle.dir);
        wait_stopped(root, id);
        root.ok(&["delete", id]);
        let (code, lines) = stream.end();
        (code, lines, id.to_string())
    });
    assert_eq!(b.0, r.0, "exit codes");
    assert_eq!(b.0, Some(0));
    for (name, (_, lines, id)) in [("berth", &b), ("runc", &r)] {
        assert!(!lines.is_empty(), "{name}: no OOM event");
        for l in lines {
            assert_eq!(l, &format!(r#"{{"type":"oom","id":"{id}"}}"#), "{name}");
        }
    }
}

/// events of a stopped container: refused by both, with runc's "is not running".
#[test]
fn events_of_a_stopped_container() {
    let pair = Pair::new();
    let config = base_config(&["/bin/true"]);
    let (b, r) = pair.both(|root, id| {
        let (_, _b) = start(root, id, &config);
        wait_stopped(root, id);
        let stream = Outcome::of(root, &["events", "--interval", "1s", id]);
        let once = Outcome::of(root, &["events", "--stats", id]);
        root.ok(&["delete", id]);
        (stream, once)
    });
    for (what, bo, ro) in [("events", &b.0, &r.0), ("events --stats", &b.1, &r.1)] {
        assert_same_code(what, bo, ro);
        assert_eq!(bo.code, 1);
        assert!(ro.error().ends_with(" is not running"), "runc: {ro:?}");
        assert!(bo.error().ends_with(" is not running"), "berth: {bo:?}");
        assert_eq!((bo.stdout.as_str(), ro.stdout.as_str()), ("", ""));
    }
}

/// A zero or negative --interval: refused by both, in runc's words.
#[test]
fn events_interval_must_be_positive() {
    let pair = Pair::new();
    let config = sleeper(json!({}));
    let (b, r) = pair.both(|root, id| {
        let (_, _b) = start(root, id, &config);
        let outs: Vec<Outcome> = ["0", "0s", "-1s"]
            .iter()
            .map(|i| Outcome::of(root, &["events", "--interval", i, id]))
            .collect();
        root.ok(&["delete", "--force", id]);
        outs
    });
    for (bo, ro) in b.iter().zip(&r) {
        assert_eq!(ro.error(), "duration interval must be greater than 0");
        assert_same_failure("events --interval", bo, ro);
    }
}
