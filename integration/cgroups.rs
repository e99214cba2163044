//! cgroups with real containers: every resource read back from the host's cgroup files and
//! from inside (a cgroup namespace with the "cgroup" mount), and the behaviour behind them:
//! OOM kill, pids limit, freezing, live update, ps, events, kill --all, delete of
//! containers whose processes are still exiting, and bad values that leave nothing behind.

use crate::common::*;
use serde_json::{json, Value};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod behaviour;

/// One mounted cgroup hierarchy of the host.
pub struct Hier {
    pub mount: PathBuf,
    pub v2: bool,
    pub controllers: Vec<String>,
}

pub fn hierarchies() -> Vec<Hier> {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mut out: Vec<Hier> = Vec::new();
    for line in mi.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let post: Vec<&str> = post.split(' ').collect();
        let mount = PathBuf::from(pre.split(' ').nth(4).unwrap());
        if out.iter().any(|h| h.mount == mount) {
            continue;
        }
        match post[0] {
            "cgroup2" => out.push(Hier {
                mount,
                v2: true,
                controllers: Vec::new(),
            }),
            "cgroup" => out.push(Hier {
                mount,
                v2: false,
                controllers: post[2].split(',').map(str::to_string).collect(),
            }),
            _ => {}
        }
    }
    out
}

pub fn pure_v2() -> bool {
    hierarchies()
        .iter()
        .any(|h| h.v2 && h.mount == Path::new("/sys/fs/cgroup"))
}

/// The host directory of `pid`'s cgroup holding `controller` (its v1 hierarchy, else the
/// cgroup2 one; "" asks for the cgroup2 one).
pub fn host_dir(pid: i64, controller: &str) -> PathBuf {
    let hs = hierarchies();
    let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let v1 = hs
        .iter()
        .find(|h| !h.v2 && h.controllers.iter().any(|c| c == controller));
    let (h, path) = match v1 {
        Some(h) => {
            let path = cg
                .lines()
                .find_map(|l| {
                    let mut f = l.splitn(3, ':');
                    let (_, c, p) = (f.next()?, f.next()?, f.next()?);
                    c.split(',').any(|c| c == controller).then_some(p)
                })
                .unwrap();
            (h, path)
        }
        None => {
            let h = hs.iter().find(|h| h.v2).expect("a cgroup2 hierarchy");
            (h, cg.lines().find_map(|l| l.strip_prefix("0::")).unwrap())
        }
    };
    h.mount.join(path.trim_start_matches('/'))
}

/// The same file as the container sees it under its "cgroup" mount at /sys/fs/cgroup.
fn inside_path(controller: &str, file: &str) -> String {
    if pure_v2() {
        return format!("/sys/fs/cgroup/{file}");
    }
    let hs = hierarchies();
    let h = hs
        .iter()
        .find(|h| !h.v2 && h.controllers.iter().any(|c| c == controller))
        .unwrap_or_else(|| panic!("{controller}: not visible inside (visible_inside)"));
    let name = h.mount.file_name().unwrap().to_string_lossy();
    format!("/sys/fs/cgroup/{name}/{file}")
}

/// Whether the container's "cgroup" mount shows `controller`'s files: not those of a hybrid
/// host's unified hierarchy, which that mount leaves out (as runc's does).
fn visible_inside(controller: &str) -> bool {
    pure_v2()
        || hierarchies()
            .iter()
            .any(|h| !h.v2 && h.controllers.iter().any(|c| c == controller))
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()))
        .trim()
        .to_string()
}

fn with_cgroup_mount(c: &mut Value) {
    c["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
        "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]
    }));
}

/// A container started with `run -d`, its stdout kept in a file.
struct Detached {
    id: String,
    out: PathBuf,
    err: PathBuf,
    _bundle: Bundle,
}

fn start(root: &Root, config: &Value) -> Detached {
    let b = Bundle::new(config);
    let id = unique("cg");
    let out = b.dir.join("stdout");
    let err = b.dir.join("stderr");
    let status = root
        .cmd()
        .args(["run", "-d", "--bundle", b.dir.to_str().unwrap(), &id])
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(&err).unwrap())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "run -d failed: {}",
        std::fs::read_to_string(&err).unwrap()
    );
    Detached {
        id,
        out,
        err,
        _bundle: b,
    }
}

impl Detached {
    fn pid(&self, root: &Root) -> i64 {
        root.state(&self.id)["pid"].as_i64().unwrap()
    }

    /// The container's output once it holds `needle`.
    fn wait_output(&self, needle: &str) -> String {
        wait_file(&self.out, needle)
    }
}

fn wait_file(path: &Path, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = std::fs::read_to_string(path).unwrap_or_default();
        if s.contains(needle) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "{needle:?} never appeared in {}: {s}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn status(root: &Root, id: &str) -> String {
    root.state(id)["status"].as_str().unwrap().to_string()
}

/// Every directory named `id` in any host hierarchy (a container's cgroup left behind).
fn leftover_cgroups(id: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, id: &str, depth: u32, found: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if e.file_name().to_string_lossy() == id {
                found.push(e.path());
            }
            if depth < 5 {
                walk(&e.path(), id, depth + 1, found);
            }
        }
    }
    let mut found = Vec::new();
    for h in hierarchies() {
        walk(&h.mount, id, 0, &mut found);
    }
    found
}

fn cpus_online() -> Vec<u32> {
    let s = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap();
    let mut v = Vec::new();
    for part in s.trim().split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        v.extend(a.parse::<u32>().unwrap()..=b.parse::<u32>().unwrap());
    }
    v
}

fn has_2mb_hugepages() -> bool {
    Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").exists()
}

/// (controller, file, expected value) rows, with the config that sets them.
fn limits_table() -> (Value, Vec<(&'static str, &'static str, String)>) {
    let v2 = pure_v2();
    let cpu = cpus_online().last().unwrap().to_string();
    let mut r = json!({
        "memory": {"limit": 67108864, "reservation": 33554432},
        "cpu": {"shares": 512, "quota": 20000, "period": 100000, "cpus": cpu, "mems": "0"},
        "pids": {"limit": 30},
        "unified": {"cgroup.max.descendants": "5"}
    });
    let mut rows: Vec<(&str, &str, String)> = vec![
        ("pids", "pids.max", "30".into()),
        ("cpuset", "cpuset.cpus", cpu.clone()),
        ("cpuset", "cpuset.mems", "0".into()),
        ("", "cgroup.max.descendants", "5".into()),
    ];
    if v2 {
        rows.extend([
            ("memory", "memory.max", "67108864".into()),
            ("memory", "memory.low", "33554432".into()),
            ("cpu", "cpu.weight", "59".into()),
            ("cpu", "cpu.max", "20000 100000".into()),
        ]);
    } else {
        r["memory"]["swappiness"] = json!(10);
        rows.extend([
            ("memory", "memory.limit_in_bytes", "67108864".into()),
            ("memory", "memory.soft_limit_in_bytes", "33554432".into()),
            ("memory", "memory.swappiness", "10".into()),
            ("cpu", "cpu.shares", "512".into()),
            ("cpu", "cpu.cfs_quota_us", "20000".into()),
            ("cpu", "cpu.cfs_period_us", "100000".into()),
        ]);
        if Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists() {
            r["memory"]["swap"] = json!(134217728);
            rows.push(("memory", "memory.memsw.limit_in_bytes", "134217728".into()));
        }
    }
    if has_2mb_hugepages() {
        r["hugepageLimits"] = json!([{"pageSize": "2MB", "limit": 4194304}]);
        let file = if hierarchies()
            .iter()
            .any(|h| !h.v2 && h.controllers.iter().any(|c| c == "hugetlb"))
        {
            "hugetlb.2MB.limit_in_bytes"
        } else {
            "hugetlb.2MB.max"
        };
        rows.push(("hugetlb", file, "4194304".into()));
    }
    (r, rows)
}

#[test]
fn limits_read_back_from_the_host_and_inside() {
    let root = Root::new();
    let (resources, rows) = limits_table();
    let mut script = String::new();
    for (i, (c, f, _)) in rows.iter().enumerate() {
        if visible_inside(c) {
            script.push_str(&format!("echo \"{i}=$(cat {})\"; ", inside_path(c, f)));
        }
    }
    script.push_str("echo READY; exec sleep 60");
    let mut c = base_config(&["/bin/sh", "-c", &script]);
    c["linux"]["resources"] = resources;
    with_cgroup_mount(&mut c);
    let d = start(&root, &c);
    let out = d.wait_output("READY");
    let pid = d.pid(&root);
    for (i, (ctrl, file, want)) in rows.iter().enumerate() {
        let host = read(&host_dir(pid, ctrl), file);
        assert_eq!(&host, want, "host {file}");
        if !visible_inside(ctrl) {
            continue;
        }
        let inside = out
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{i}=")))
            .unwrap();
        assert_eq!(inside, want, "inside {file}: {out}");
    }
}

/// The weight files exist only with a weight-aware I/O scheduler or io cost controller
/// (BFQ, CFQ, blk-iocost); with mq-deadline alone, as on a fresh VM, none does. Where one
/// exists the weight lands in it; where none does, the weight is a clear error naming the
/// field, leaving nothing behind (runc errs too). On v1 a container without limits shows
/// which this host has; on pure v2 its io files appear only once berth enables the io
/// controller for the weight, so the outcome tells.
#[test]
fn blkio_weight_where_the_kernel_has_it() {
    let root = Root::new();
    let v2 = pure_v2();
    let controller = if v2 { "io" } else { "blkio" };
    let files = if v2 {
        ["io.bfq.weight", "io.weight"]
    } else {
        ["blkio.weight", "blkio.bfq.weight"]
    };
    let expected = if v2 {
        None
    } else {
        let probe = Bundle::new(&base_config(&["/bin/sleep", "60"]));
        let id = unique("blkprobe");
        root.ok(&["run", "-d", "--bundle", probe.dir.to_str().unwrap(), &id]);
        let dir = host_dir(root.state(&id)["pid"].as_i64().unwrap(), controller);
        let has = files.iter().any(|f| dir.join(f).exists());
        root.ok(&["delete", "--force", &id]);
        Some(has)
    };

    let mut c = base_config(&["/bin/sh", "-c", "echo READY; exec sleep 60"]);
    c["linux"]["resources"] = json!({"blockIO": {"weight": 300}});
    let b = Bundle::new(&c);
    let id = unique("blk");
    let out = root.berth(&["run", "-d", "--bundle", b.dir.to_str().unwrap(), &id]);
    if let Some(has) = expected {
        assert_eq!(
            out.status.success(),
            has,
            "weight file on this host: {has}: {out:?}"
        );
    }
    if out.status.success() {
        let pid = root.state(&id)["pid"].as_i64().unwrap();
        let dir = host_dir(pid, controller);
        let file = files
            .into_iter()
            .find(|f| dir.join(f).exists())
            .unwrap_or_else(|| panic!("no weight file in {}", dir.display()));
        // io.weight takes the converted value; the others v1's range as is.
        let want = if file == "io.weight" { "2727" } else { "300" };
        let got = read(&dir, file);
        assert!(got.ends_with(want), "{file}: {got}");
    } else {
        let err = crate::common::messages(&String::from_utf8_lossy(&out.stderr));
        assert!(err.contains("linux.resources.blockIO.weight"), "{err}");
        assert!(err.contains("no such file"), "{err}");
        assert!(leftover_cgroups(&id).is_empty());
    }
}

#[test]
fn denied_device_cannot_be_opened() {
    let root = Root::new();
    // In a subshell: a failed redirection of `exec` ends the shell.
    let script = "if ( exec 3</dev/fuse ) 2>/tmp/e; then echo opened; else cat /tmp/e; fi";
    let config = |allow: bool| {
        let mut c = base_config(&["/bin/sh", "-c", script]);
        c["linux"]["devices"] =
            json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438}]);
        let mut rules = vec![json!({"allow": false, "access": "rwm"})];
        if allow {
            rules.push(
                json!({"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"}),
            );
        }
        c["linux"]["resources"] = json!({ "devices": rules });
        c
    };
    let (code, out, _) = root.run(&config(false));
    assert_eq!(code, 0);
    assert!(out.contains("Operation not permitted"), "{out}");
    let (code, out, _) = root.run(&config(true));
    assert_eq!((code, out.as_str()), (0, "opened\n"));
}

#[test]
fn bad_values_give_one_clear_error_and_leave_no_cgroup() {
    let corpus = [
        (json!({"cpu": {"quota": -5}}), "linux.resources.cpu.quota"),
        (json!({"cpu": {"cpus": "0-99"}}), "linux.resources.cpu.cpus"),
        (json!({"cpu": {"mems": "7"}}), "linux.resources.cpu.mems"),
        (json!({"cpu": {"shares": 1}}), "linux.resources.cpu.shares"),
        (json!({"cpu": {"period": 10}}), "linux.resources.cpu.period"),
        (
            json!({"memory": {"limit": -2}}),
            "linux.resources.memory.limit",
        ),
        (
            json!({"memory": {"limit": 2097152, "swap": 1048576}}),
            "linux.resources.memory.swap",
        ),
        (
            json!({"blockIO": {"weight": 5}}),
            "linux.resources.blockIO.weight",
        ),
        (
            json!({"hugepageLimits": [{"pageSize": "3MB", "limit": 1}]}),
            "linux.resources.hugepageLimits[0].pageSize",
        ),
        (
            json!({"unified": {"nodot": "1"}}),
            "linux.resources.unified",
        ),
        (
            json!({"unified": {"cgroup.procs": "1"}}),
            "linux.resources.unified",
        ),
        (
            json!({"unified": {"bogus.file": "1"}}),
            "linux.resources.unified",
        ),
        (
            json!({"unified": {"cgroup.bogus": "1"}}),
            "linux.resources.unified",
        ),
        (
            json!({"devices": [{"allow": true, "type": "x", "access": "r"}]}),
            "devices",
        ),
    ];
    let root = Root::new();
    for (resources, field) in corpus {
        let mut c = base_config(&["/bin/true"]);
        c["linux"]["resources"] = resources.clone();
        let b = Bundle::new(&c);
        let id = unique("bad");
        let out = root.berth(&["run", "--bundle", b.dir.to_str().unwrap(), &id]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{resources} was accepted");
        assert_eq!(err.trim().lines().count(), 1, "{resources}: {err}");
        assert!(err.contains(field), "{resources}: {err}");
        assert!(
            leftover_cgroups(&id).is_empty(),
            "{resources} left {:?}",
            leftover_cgroups(&id)
        );
        root.assert_clean(None);
    }
}

#[test]
fn update_ps_events_of_a_missing_container_fail_clearly() {
    let root = Root::new();
    for args in [
        vec!["update", "--memory", "1m", "nosuch"],
        vec!["ps", "nosuch"],
        vec!["events", "--stats", "nosuch"],
        vec!["pause", "nosuch"],
        vec!["resume", "nosuch"],
    ] {
        let err = root.fails(&args);
        assert!(err.contains("\"nosuch\" does not exist"), "{args:?}: {err}");
    }
}

/// The values berth itself reads are the ones the kernel reports, not its own copy: a
/// change made behind berth's back shows up in `events --stats`.
#[test]
fn stats_follow_the_kernel() {
    let root = Root::new();
    let mut c = base_config(&["/bin/sleep", "60"]);
    c["linux"]["resources"] = json!({"pids": {"limit": 20}});
    let d = start(&root, &c);
    let pid = d.pid(&root);
    std::fs::write(host_dir(pid, "pids").join("pids.max"), "12").unwrap();
    let v: Value = serde_json::from_str(&root.ok(&["events", "--stats", &d.id])).unwrap();
    assert_eq!(v["data"]["pids"]["limit"], 12);
}
