//! The behaviour behind the limits: OOM kill with its event, pids limit, freezing, live
//! update, ps, events, kill --all, and delete of containers whose processes still exit.

use super::*;
use std::process::{Child, Stdio};

fn spawn_berth(root: &Root, args: &[&str], out: &Path) -> Child {
    root.cmd()
        .args(args)
        .stdout(File::create(out).unwrap())
        .stderr(File::create(out.with_extension("err")).unwrap())
        .spawn()
        .unwrap()
}

fn wait_child(c: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(s) = c.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > deadline {
            let _ = c.kill();
            panic!("child did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn memory_limit_oom_kills_a_hog_and_events_reports_it() {
    let root = Root::new();
    let hog = "while [ ! -e /tmp/go ]; do sleep 0.05; done; exec dd if=/dev/zero of=/dev/null bs=128M count=1";
    let mut c = base_config(&["/bin/sh", "-c", hog]);
    c["linux"]["resources"] = json!({"memory": {"limit": 33554432}});
    if !pure_v2() && Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists() {
        c["linux"]["resources"]["memory"]["swap"] = json!(33554432);
    }
    let b = Bundle::new(&c);
    let id = unique("oom");
    let run_out = b.dir.join("run.out");
    let mut run = spawn_berth(
        &root,
        &["run", "--bundle", b.dir.to_str().unwrap(), &id],
        &run_out,
    );
    wait_until("the container runs", || {
        let o = root.berth(&["state", &id]);
        serde_json::from_slice::<Value>(&o.stdout).is_ok_and(|s| s["status"] == "running")
    });
    let pid = root.state(&id)["pid"].as_i64().unwrap();
    let ev_out = b.dir.join("events.out");
    let mut events = spawn_berth(&root, &["events", "--interval", "100ms", &id], &ev_out);
    // The first stats line means the OOM watch is in place.
    wait_file(&ev_out, "\"type\":\"stats\"");
    std::fs::write(format!("/proc/{pid}/root/tmp/go"), "").unwrap();
    let code = wait_child(&mut run).code();
    assert_eq!(
        code,
        Some(137),
        "run: {}",
        std::fs::read_to_string(&run_out).unwrap()
    );
    let st = wait_child(&mut events);
    let text = std::fs::read_to_string(&ev_out).unwrap();
    assert!(st.success(), "events: {st:?} {text}");
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let oom = json!({"type": "oom", "id": id});
    assert!(events.contains(&oom), "no OOM event: {text}");
    assert!(events.iter().all(|v| v["id"] == id.as_str()));
    root.assert_clean(None);
}

#[test]
fn pids_limit_makes_fork_fail() {
    let root = Root::new();
    let mut c = base_config(&[
        "/bin/sh",
        "-c",
        "i=0; while [ $i -lt 10 ]; do sleep 1 & i=$((i+1)); done; wait",
    ]);
    c["linux"]["resources"] = json!({"pids": {"limit": 5}});
    let (_, _, err) = root.run(&c);
    assert!(err.contains("fork"), "forks did not fail: {err}");
    let (code, _, err) = root.run(&base_config(&[
        "/bin/sh",
        "-c",
        "i=0; while [ $i -lt 10 ]; do sleep 1 & i=$((i+1)); done; wait",
    ]));
    assert_eq!(code, 0, "without the limit: {err}");
}

#[test]
fn frozen_container_does_not_run() {
    let root = Root::new();
    let d = start(
        &root,
        &base_config(&[
            "/bin/sh",
            "-c",
            "i=0; while :; do i=$((i+1)); echo $i > /tmp/n; sleep 0.02; done",
        ]),
    );
    let pid = d.pid(&root);
    let counter = format!("/proc/{pid}/root/tmp/n");
    let read_n = || -> u64 {
        std::fs::read_to_string(&counter)
            .unwrap_or_default()
            .trim()
            .parse()
            .unwrap_or(0)
    };
    wait_until("the counter runs", || read_n() > 2);
    let err = root.fails(&["resume", &d.id]);
    assert!(err.contains("not paused"), "{err}");

    root.ok(&["pause", &d.id]);
    assert_eq!(status(&root, &d.id), "paused");
    let n = read_n();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(read_n(), n, "a paused container ran");
    let err = root.fails(&["pause", &d.id]);
    assert!(err.contains("not running"), "{err}");

    root.ok(&["resume", &d.id]);
    assert_eq!(status(&root, &d.id), "running");
    wait_until("the counter runs again", || read_n() > n + 2);

    root.ok(&["kill", &d.id, "KILL"]);
    wait_until("stopped", || status(&root, &d.id) == "stopped");
    let err = root.fails(&["pause", &d.id]);
    assert!(err.contains("not running"), "{err}");
}

#[test]
fn a_paused_container_can_be_killed_and_deleted() {
    let root = Root::new();
    let d = start(&root, &base_config(&["/bin/sleep", "60"]));
    root.ok(&["pause", &d.id]);
    root.ok(&["delete", "--force", &d.id]);
    assert!(leftover_cgroups(&d.id).is_empty());
    let d = start(&root, &base_config(&["/bin/sleep", "60"]));
    root.ok(&["pause", &d.id]);
    root.ok(&["kill", &d.id, "KILL"]);
    wait_until("stopped", || status(&root, &d.id) == "stopped");
    root.ok(&["delete", &d.id]);
    root.assert_clean(None);
}

#[test]
fn a_created_container_can_be_paused() {
    let root = Root::new();
    let b = Bundle::new(&base_config(&["/bin/true"]));
    let id = unique("cp");
    root.ok(&["create", "--bundle", b.dir.to_str().unwrap(), &id]);
    root.ok(&["pause", &id]);
    assert_eq!(status(&root, &id), "paused");
    let err = root.fails(&["start", &id]);
    assert!(err.contains("paused"), "{err}");
    root.ok(&["resume", &id]);
    assert_eq!(status(&root, &id), "created");
}

/// The container script for update: waits for /tmp/go, then prints what it sees.
fn update_config() -> Value {
    let script = format!(
        "while [ ! -e /tmp/go ]; do sleep 0.05; done; echo \"pids=$(cat {})\"; echo \"mem=$(cat {})\"; echo DONE; exec sleep 60",
        inside_path("pids", "pids.max"),
        inside_path(
            "memory",
            if pure_v2() { "memory.max" } else { "memory.limit_in_bytes" }
        ),
    );
    let mut c = base_config(&["/bin/sh", "-c", &script]);
    c["linux"]["resources"] = json!({"memory": {"limit": 67108864}, "pids": {"limit": 10}});
    with_cgroup_mount(&mut c);
    c
}

#[test]
fn update_changes_live_limits() {
    let root = Root::new();
    let d = start(&root, &update_config());
    let pid = d.pid(&root);
    // -r - (flags cannot be mixed with it: runc would ignore them), then flags.
    let mut cmd = root.cmd();
    cmd.args(["update", "-r", "-", &d.id]);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"pids":{"limit":15},"cpu":{"shares":256}}"#)
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(read(&host_dir(pid, "pids"), "pids.max"), "15");
    root.ok(&["update", "--memory", "32m", "--pids-limit", "25", &d.id]);
    assert_eq!(read(&host_dir(pid, "pids"), "pids.max"), "25");
    let (mem_file, cpu_file, cpu_want) = if pure_v2() {
        ("memory.max", "cpu.weight", "35")
    } else {
        ("memory.limit_in_bytes", "cpu.shares", "256")
    };
    assert_eq!(read(&host_dir(pid, "memory"), mem_file), "33554432");
    assert_eq!(read(&host_dir(pid, "cpu"), cpu_file), cpu_want);
    std::fs::write(format!("/proc/{pid}/root/tmp/go"), "").unwrap();
    let out = d.wait_output("DONE");
    assert!(out.contains("pids=25\n"), "{out}");
    assert!(out.contains("mem=33554432\n"), "{out}");

    // The flags, each read back.
    let cpu = cpus_online()[0].to_string();
    root.ok(&[
        "update",
        "--cpu-period",
        "50000",
        "--cpu-quota",
        "25000",
        "--cpuset-cpus",
        &cpu,
        "--cpuset-mems",
        "0",
        "--memory-reservation",
        "8m",
        &d.id,
    ]);
    assert_eq!(read(&host_dir(pid, "cpuset"), "cpuset.cpus"), cpu);
    if pure_v2() {
        assert_eq!(read(&host_dir(pid, "cpu"), "cpu.max"), "25000 50000");
        assert_eq!(read(&host_dir(pid, "memory"), "memory.low"), "8388608");
        // Only the period: the quota stays.
        root.ok(&["update", "--cpu-period", "100000", &d.id]);
        assert_eq!(read(&host_dir(pid, "cpu"), "cpu.max"), "25000 100000");
    } else {
        let cpu_dir = host_dir(pid, "cpu");
        assert_eq!(read(&cpu_dir, "cpu.cfs_period_us"), "50000");
        assert_eq!(read(&cpu_dir, "cpu.cfs_quota_us"), "25000");
        let mem = host_dir(pid, "memory");
        assert_eq!(read(&mem, "memory.soft_limit_in_bytes"), "8388608");
        if mem.join("memory.memsw.limit_in_bytes").exists() {
            root.ok(&["update", "--memory-swap", "64m", &d.id]);
            assert_eq!(read(&mem, "memory.memsw.limit_in_bytes"), "67108864");
        }
        if cpu_dir.join("cpu.rt_runtime_us").exists() {
            root.ok(&[
                "update",
                "--cpu-rt-period",
                "1000000",
                "--cpu-rt-runtime",
                "10000",
                &d.id,
            ]);
            assert_eq!(read(&cpu_dir, "cpu.rt_runtime_us"), "10000");
        }
        if cpu_dir.join("cpu.idle").exists() {
            root.ok(&["update", "--cpu-idle", "1", &d.id]);
            assert_eq!(read(&cpu_dir, "cpu.idle"), "1");
            // Leaving idle and setting shares in one update (the kernel's order matters).
            root.ok(&["update", "--cpu-idle", "0", "--cpu-share", "300", &d.id]);
            assert_eq!(read(&cpu_dir, "cpu.idle"), "0");
            assert_eq!(read(&cpu_dir, "cpu.shares"), "300");
        }
        if cpu_dir.join("cpu.cfs_burst_us").exists() {
            root.ok(&["update", "--cpu-burst", "1000", &d.id]);
            assert_eq!(read(&cpu_dir, "cpu.cfs_burst_us"), "1000");
        }
    }
    let blk = host_dir(pid, if pure_v2() { "io" } else { "blkio" });
    if ["blkio.weight", "blkio.bfq.weight"]
        .iter()
        .any(|f| blk.join(f).exists())
    {
        root.ok(&["update", "--blkio-weight", "400", &d.id]);
        let f = if blk.join("blkio.weight").exists() {
            "blkio.weight"
        } else {
            "blkio.bfq.weight"
        };
        assert!(read(&blk, f).ends_with("400"));
    } else if !pure_v2() {
        // No weight-aware scheduler (mq-deadline, no BFQ): a clear error, as runc's.
        let err = root.fails(&["update", "--blkio-weight", "400", &d.id]);
        assert!(err.contains("linux.resources.blockIO.weight"), "{err}");
        assert!(err.contains("no such file"), "{err}");
    }

    // Refused values name the field and change nothing.
    let err = root.fails(&["update", "--cpu-quota", "-5", &d.id]);
    assert!(err.contains("linux.resources.cpu.quota"), "{err}");
    let err = root.fails(&["update", "--cpuset-cpus", "0-99", &d.id]);
    assert!(err.contains("linux.resources.cpu.cpus"), "{err}");
    assert_eq!(read(&host_dir(pid, "cpuset"), "cpuset.cpus"), cpu);

    root.ok(&["kill", &d.id, "KILL"]);
    wait_until("stopped", || status(&root, &d.id) == "stopped");
    let err = root.fails(&["update", "--memory", "64m", &d.id]);
    assert!(err.contains("not running"), "{err}");
}

#[test]
fn a_lowered_pids_limit_stops_forks_in_a_live_container() {
    let root = Root::new();
    // A subshell is always a fork: once the limit leaves no room, the shell fails and ends.
    let script = "echo READY; while ( : ); do sleep 0.05; done; echo ENDED";
    let d = start(&root, &base_config(&["/bin/sh", "-c", script]));
    d.wait_output("READY");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(status(&root, &d.id), "running");
    root.ok(&["update", "--pids-limit", "1", &d.id]);
    wait_until("the shell fails to fork", || {
        status(&root, &d.id) == "stopped"
    });
    let err = std::fs::read_to_string(&d.err).unwrap();
    let out = std::fs::read_to_string(&d.out).unwrap();
    assert!(err.contains("fork") || out.contains("ENDED"), "{out} {err}");
}

#[test]
fn ps_lists_the_containers_processes() {
    let root = Root::new();
    let d = start(
        &root,
        &base_config(&["/bin/sh", "-c", "sleep 101 & echo READY; exec sleep 102"]),
    );
    d.wait_output("READY");
    let pid = d.pid(&root);
    wait_until("two processes", || {
        serde_json::from_str::<Vec<i64>>(&root.ok(&["ps", "-f", "json", &d.id]))
            .unwrap()
            .len()
            == 2
    });
    let pids: Vec<i64> = serde_json::from_str(&root.ok(&["ps", "-f", "json", &d.id])).unwrap();
    assert!(pids.contains(&pid), "{pids:?} lacks init {pid}");
    let table = root.ok(&["ps", &d.id]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].contains("PID") && lines[0].contains("CMD"),
        "{table}"
    );
    assert_eq!(lines.len(), 3, "{table}");
    assert!(
        table.contains("sleep 101") && table.contains("sleep 102"),
        "{table}"
    );
    let custom = root.ok(&["ps", &d.id, "-o", "pid,args"]);
    assert!(
        custom.starts_with("    PID COMMAND") || custom.contains("PID"),
        "{custom}"
    );
    assert_eq!(custom.lines().count(), 3, "{custom}");
    let err = root.fails(&["ps", &d.id, "-o", "args"]);
    assert!(err.contains("PID"), "{err}");
}

#[test]
fn events_stats_once_and_refused_when_stopped() {
    let root = Root::new();
    let mut c = base_config(&["/bin/sleep", "60"]);
    c["linux"]["resources"] = json!({"memory": {"limit": 67108864}, "pids": {"limit": 20}});
    let d = start(&root, &c);
    let out = root.ok(&["events", "--stats", &d.id]);
    assert_eq!(out.lines().count(), 1, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["type"], "stats");
    assert_eq!(v["id"], d.id.as_str());
    assert_eq!(v["data"]["memory"]["usage"]["limit"], 67108864);
    assert_eq!(v["data"]["pids"]["limit"], 20);
    assert_eq!(v["data"]["pids"]["current"], 1);
    root.ok(&["kill", &d.id, "KILL"]);
    wait_until("stopped", || status(&root, &d.id) == "stopped");
    let err = root.fails(&["events", "--stats", &d.id]);
    assert!(err.contains("is not running"), "{err}");
}

/// As runc's: on cgroup v2 the stream ends when the container's cgroup is empty, on v1
/// when the cgroup is removed (the container deleted).
#[test]
fn events_stream_ends_with_the_containers_cgroup() {
    let root = Root::new();
    let d = start(&root, &base_config(&["/bin/sleep", "60"]));
    let out = d.out.with_extension("events");
    let mut ev = spawn_berth(&root, &["events", "--interval", "50ms", &d.id], &out);
    let text = wait_file(&out, "\n{");
    assert!(text.lines().count() >= 2);
    root.ok(&["kill", &d.id, "KILL"]);
    wait_until("stopped", || status(&root, &d.id) == "stopped");
    root.ok(&["delete", &d.id]);
    assert!(wait_child(&mut ev).success());
}

fn no_pidns(c: &mut Value) {
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "pid");
}

#[test]
fn kill_all_ends_every_process() {
    let root = Root::new();
    for shared_pidns in [false, true] {
        let mut c = base_config(&[
            "/bin/sh",
            "-c",
            // The sleeps take TERM; init ignores it (the ignored disposition survives exec).
            "sleep 100 & sleep 101 & trap '' TERM; echo READY; exec sleep 1000",
        ]);
        if shared_pidns {
            no_pidns(&mut c);
        }
        let d = start(&root, &c);
        d.wait_output("READY");
        let pid = d.pid(&root);
        let procs = host_dir(pid, "pids");
        wait_until("three processes", || {
            read(&procs, "cgroup.procs").lines().count() == 3
        });
        let pids: Vec<i64> = read(&procs, "cgroup.procs")
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
        // TERM: the sleeps die, the shell ignores it.
        root.ok(&["kill", "--all", &d.id, "TERM"]);
        wait_until("the sleeps die", || {
            read(&procs, "cgroup.procs").lines().count() == 1
        });
        assert_eq!(status(&root, &d.id), "running");
        root.ok(&["kill", "--all", &d.id, "KILL"]);
        wait_until("everything dies", || {
            read(&procs, "cgroup.procs").is_empty()
        });
        assert_eq!(status(&root, &d.id), "stopped");
        for p in pids {
            let st = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            assert!(st.is_empty() || st.contains(") Z"), "{p} survived: {st}");
        }
        root.ok(&["delete", &d.id]);
        assert!(leftover_cgroups(&d.id).is_empty());
    }
}

#[test]
fn delete_removes_the_cgroup_of_processes_still_exiting() {
    let root = Root::new();
    // Init killed while its children ignore TERM: the pid namespace's teardown kills them,
    // and delete right away must wait for them to leave the cgroup.
    let c = base_config(&[
        "/bin/sh",
        "-c",
        "trap '' TERM; (trap '' TERM; sleep 100) & (trap '' TERM; sleep 101) & echo READY; wait",
    ]);
    let d = start(&root, &c);
    d.wait_output("READY");
    root.ok(&["kill", &d.id, "KILL"]);
    wait_until("stopped", || status(&root, &d.id) == "stopped");
    root.ok(&["delete", &d.id]);
    assert!(leftover_cgroups(&d.id).is_empty());

    // Without a pid namespace the children outlive init: delete kills them first.
    let mut c = base_config(&["/bin/sh", "-c", "sleep 100 & sleep 101 & echo READY; wait"]);
    no_pidns(&mut c);
    let d = start(&root, &c);
    d.wait_output("READY");
    let pid = d.pid(&root);
    let procs = host_dir(pid, "pids");
    wait_until("three processes", || {
        read(&procs, "cgroup.procs").lines().count() == 3
    });
    // TERM reaches init alone (SIGKILL would reach the whole cgroup, as in runc).
    root.ok(&["kill", &d.id, "TERM"]);
    wait_until("stopped", || status(&root, &d.id) == "stopped");
    let left: Vec<String> = read(&procs, "cgroup.procs")
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(left.len(), 2, "the children should outlive init");
    root.ok(&["delete", &d.id]);
    assert!(leftover_cgroups(&d.id).is_empty());
    for p in left {
        let st = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        assert!(st.is_empty() || st.contains(") Z"), "{p} survived: {st}");
    }
    root.assert_clean(None);
}
