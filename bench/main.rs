//! `make bench`: berth, crun and runc side by side in one run, rounds interleaved so that
//! machine noise hits all three alike. Prints each runtime's median wall time and peak RSS
//! per case and the berth/crun and berth/runc ratios. Timing belongs here, never in tests.
//!
//! Cases: `run` of /bin/true; create + start + delete; `run` with memory, cpu and pids limits.
//! BENCH_ROUNDS (default 100) sets the number of measured rounds.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Runtime {
    name: &'static str,
    bin: PathBuf,
    root: PathBuf,
}

fn main() {
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let rootfs = work.join("rootfs");
    build_rootfs(&rootfs);

    let berth = build_berth();
    report_text_order(&berth);
    let mut runtimes = vec![Runtime {
        name: "berth",
        bin: berth,
        root: work.join("root-berth"),
    }];
    for (name, bin) in [("crun", "/usr/bin/crun"), ("runc", "/usr/sbin/runc")] {
        if Path::new(bin).exists() {
            runtimes.push(Runtime {
                name,
                bin: bin.into(),
                root: work.join(format!("root-{name}")),
            });
        } else {
            println!("{name}: not installed ({bin}); `make deps` installs it");
        }
    }

    let plain = bundle(&work, "plain", &rootfs, None);
    let limited = bundle(
        &work,
        "limited",
        &rootfs,
        Some(json!({
            "memory": {"limit": 268435456},
            "cpu": {"shares": 512, "quota": 50000, "period": 100000},
            "pids": {"limit": 64}
        })),
    );

    let seccomp = {
        let dir = work.join("spec");
        std::fs::create_dir_all(&dir).unwrap();
        timed(
            &runtimes[0],
            &[
                "spec",
                "--seccomp",
                "default",
                "--bundle",
                dir.to_str().unwrap(),
            ],
        );
        let spec: Value =
            serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
        let b = bundle(&work, "seccomp", &rootfs, None);
        let mut c: Value =
            serde_json::from_slice(&std::fs::read(b.join("config.json")).unwrap()).unwrap();
        c["linux"]["seccomp"] = spec["linux"]["seccomp"].clone();
        std::fs::write(b.join("config.json"), c.to_string()).unwrap();
        b
    };
    let sleeper = bundle(&work, "sleeper", &rootfs, None);
    {
        let path = sleeper.join("config.json");
        let mut c: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        c["process"]["args"] = json!(["/bin/sleep", "3600"]);
        std::fs::write(&path, c.to_string()).unwrap();
    }

    println!(
        "rounds: {rounds}, medians of wall time per operation (peak RSS of the runtime process)\n"
    );
    type Case<'a> = (&'a str, &'a Path, fn(&Runtime, &Path, &str) -> Sample);
    let cases: [Case; 4] = [
        ("run /bin/true", &plain, run_case),
        ("create+start+delete", &plain, lifecycle_case),
        ("run with mem/cpu/pids limits", &limited, run_case),
        ("run with the default seccomp profile", &seccomp, run_case),
    ];
    for (name, bundle, f) in cases {
        let mut samples: Vec<Vec<Sample>> = runtimes.iter().map(|_| Vec::new()).collect();
        for round in 0..rounds + 5 {
            for (i, rt) in runtimes.iter().enumerate() {
                let s = f(rt, bundle, &format!("b{round}-{}", std::process::id()));
                if round >= 5 {
                    samples[i].push(s);
                }
            }
        }
        report(name, &runtimes, &samples);
    }
    exec_case(&runtimes, &sleeper, rounds);
    for rt in &runtimes {
        let _ = std::fs::remove_dir_all(&rt.root);
    }
    let _ = std::fs::remove_dir_all(&work);
}

/// `exec /bin/true` into a running container, one container per runtime.
fn exec_case(runtimes: &[Runtime], sleeper: &Path, rounds: usize) {
    let id = format!("bench-exec-{}", std::process::id());
    for rt in runtimes {
        timed(
            rt,
            &[
                "run",
                "--detach",
                "--bundle",
                sleeper.to_str().unwrap(),
                &id,
            ],
        );
    }
    let mut samples: Vec<Vec<Sample>> = runtimes.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds + 5 {
        for (i, rt) in runtimes.iter().enumerate() {
            let s = timed(rt, &["exec", &id, "/bin/true"]);
            if round >= 5 {
                samples[i].push(s);
            }
        }
    }
    report(
        "exec /bin/true into a running container",
        runtimes,
        &samples,
    );
    for rt in runtimes {
        timed(rt, &["delete", "--force", &id]);
    }
}

#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    max_rss_kb: i64,
}

fn report(case: &str, runtimes: &[Runtime], samples: &[Vec<Sample>]) {
    println!("== {case}");
    let med: Vec<(f64, i64)> = samples
        .iter()
        .map(|s| {
            let mut w: Vec<f64> = s.iter().map(|x| x.wall.as_secs_f64() * 1e3).collect();
            let mut r: Vec<i64> = s.iter().map(|x| x.max_rss_kb).collect();
            w.sort_by(|a, b| a.partial_cmp(b).unwrap());
            r.sort();
            (w[w.len() / 2], r[r.len() / 2])
        })
        .collect();
    for (rt, (ms, rss)) in runtimes.iter().zip(&med) {
        println!(
            "  {:<6} median {:>7.2} ms   peak RSS {:>6} KiB",
            rt.name, ms, rss
        );
    }
    for (i, rt) in runtimes.iter().enumerate().skip(1) {
        println!(
            "  berth/{:<5} time {:.2}   RSS {:.2}",
            rt.name,
            med[0].0 / med[i].0,
            med[0].1 as f64 / med[i].1 as f64
        );
    }
    println!();
}

/// Runs a command, returning its wall time and the peak RSS of the process tree it waited for.
// The child is reaped by wait4 (for its rusage), which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn timed(rt: &Runtime, args: &[&str]) -> Sample {
    let start = Instant::now();
    let mut child = Command::new(&rt.bin)
        .arg("--root")
        .arg(&rt.root)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning the runtime");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child with valid pointers for status and usage.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(r, pid, "wait4");
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        let mut err = String::new();
        use std::io::Read;
        let _ = child.stderr.take().unwrap().read_to_string(&mut err);
        panic!("{} {args:?} failed: {err}", rt.name);
    }
    Sample {
        wall,
        max_rss_kb: usage.ru_maxrss,
    }
}

fn run_case(rt: &Runtime, bundle: &Path, id: &str) -> Sample {
    timed(rt, &["run", "--bundle", bundle.to_str().unwrap(), id])
}

fn lifecycle_case(rt: &Runtime, bundle: &Path, id: &str) -> Sample {
    let a = timed(rt, &["create", "--bundle", bundle.to_str().unwrap(), id]);
    let b = timed(rt, &["start", id]);
    let c = timed(rt, &["delete", "--force", id]);
    Sample {
        wall: a.wall + b.wall + c.wall,
        max_rss_kb: a.max_rss_kb.max(b.max_rss_kb).max(c.max_rss_kb),
    }
}

/// The release binary as `make build` makes it (static; see the Makefile).
/// How much of bench/text-order.txt (the hot functions the linker places first, see
/// bench/text-order.sh) names functions of this build; a stale list shows as more memory.
fn report_text_order(berth: &Path) {
    let list =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/bench/text-order.txt"))
            .unwrap_or_default();
    let Ok(nm) = Command::new("nm").arg("--defined-only").arg(berth).output() else {
        return;
    };
    let names: std::collections::HashSet<&str> = std::str::from_utf8(&nm.stdout)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    let listed: Vec<&str> = list.lines().collect();
    let found = listed.iter().filter(|n| names.contains(*n)).count();
    println!(
        "text order: {found} of {} hot functions found in the binary{}",
        listed.len(),
        if found * 10 < listed.len() * 9 {
            " (stale: run `make text-order`)"
        } else {
            ""
        }
    );
}

fn build_berth() -> PathBuf {
    let status = Command::new("make")
        .args(["--quiet", "build"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("make build");
    assert!(status.success());
    let out = Command::new("make")
        .args(["--quiet", "--no-print-directory", "print-berth"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("make print-berth");
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(String::from_utf8_lossy(&out.stdout).trim())
}

fn build_rootfs(dir: &Path) {
    for d in ["bin", "proc", "sys", "dev", "tmp"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", dir.join("bin/busybox")).expect("busybox-static");
    std::os::unix::fs::symlink("busybox", dir.join("bin/true")).unwrap();
    std::os::unix::fs::symlink("busybox", dir.join("bin/sh")).unwrap();
    std::os::unix::fs::symlink("busybox", dir.join("bin/sleep")).unwrap();
}

/// The same bundle for every runtime: runc's default config running /bin/true.
fn bundle(work: &Path, name: &str, rootfs: &Path, resources: Option<Value>) -> PathBuf {
    let dir = work.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
    let mut c = json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false, "user": {"uid": 0, "gid": 0}, "args": ["/bin/true"],
            "env": ["PATH=/bin"], "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": rootfs, "readonly": true},
        "hostname": "bench",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}
        ],
        "linux": {
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    });
    if let Some(r) = resources {
        c["linux"]["resources"] = r;
    }
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_vec_pretty(&c).unwrap(),
    )
    .unwrap();
    dir
}
