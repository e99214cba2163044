//! Config fuzzing: the valid base config mutated thousands of times (a seeded xorshift, so a
//! run can be replayed), each through `berth create` then `delete --force`, each bounded in
//! time. Asserts: no panic, no hang, a refusal is one clear error line with exit code 1, and
//! nothing is left (state directory, cgroup directories, processes, mounts).
//!
//! BERTH_FUZZ_SEED replays a run (the seed is printed); BERTH_FUZZ_CONFIGS sets the number of
//! configs (`make test`: 2000 in 2 threads; `make fuzz`: 20000); BERTH_FUZZ_VERBOSE=1 prints
//! each config's mutations and create's outcome. Hooks and mounts point only
//! at paths under the test's own directory or at paths that do not exist, and every thread
//! has its own copy of the rootfs: a mutated config can touch nothing else on the host.

use crate::common::{base_config, build_rootfs, unique, Root, BERTH};
use crate::faults::traces_of;
use serde_json::{json, Value};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Marsaglia's xorshift64: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        // splitmix64 of the seed, so that nearby seeds give unrelated streams (never 0).
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// What one fuzzing thread owns: its rootfs copy, a scratch directory that hooks and mounts
/// may name, the token that every name it invents carries (to find leftovers by name).
struct Ctx {
    dir: PathBuf,
    token: String,
    /// The host's current values of the sysctls the mutations use: were one ever written on
    /// the host by mistake, nothing would change.
    msgmax: String,
    ip_forward: String,
    hostname: String,
    swappiness: String,
}

impl Ctx {
    fn scratch(&self) -> String {
        self.dir.join("scratch").to_string_lossy().into_owned()
    }

    fn odd_strings(&self) -> Vec<String> {
        vec![
            String::new(),
            "a\nb".into(),
            "line\r\nbreak\n".into(),
            "nul\0byte".into(),
            ".".into(),
            "..".into(),
            "../..".into(),
            format!("rel-{0}/leaf-{0}", self.token),
            format!("/nonexistent-{}/x", self.token),
            format!("{}/no-such-file", self.scratch()),
            self.scratch(),
            "ünï-cødé ☃ 漢字".into(),
            "x".repeat(5000),
            "/".repeat(300),
            "-1".into(),
            "0x10".into(),
            "CAP_SYS_ADMIN".into(),
            "SCMP_ACT_KILL".into(),
            "rbind".into(),
            "%s%n".into(),
        ]
    }
}

fn extreme_numbers() -> Vec<Value> {
    vec![
        json!(0),
        json!(-1),
        json!(1),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(1u64 << 31),
        json!(1u64 << 32),
        json!((1u64 << 31) - 1),
        json!(4294967295u64),
        json!(65536),
        json!(1.5),
        json!(-0.0),
        json!(1e300),
    ]
}

/// Fragments of the spec's real fields, each inserted at its place.
fn snippet(rng: &mut Rng, ctx: &Ctx, id: &str) -> (&'static str, Value) {
    let hook = json!({"path": format!("{}/no-such-hook", ctx.scratch()), "args": ["hook", "x"]});
    let caps = [
        "CAP_SYS_ADMIN",
        "CAP_NET_ADMIN",
        "CAP_BOGUS",
        "cap_chown",
        "CAP_SYS_PTRACE",
        "CAP_SETUID",
        "",
    ];
    let choices: Vec<(&'static str, Value)> = vec![
        ("/hooks/prestart", json!([hook])),
        ("/hooks/createRuntime", json!([hook])),
        ("/hooks/createContainer", json!([hook])),
        ("/hooks/startContainer", json!([hook])),
        ("/hooks/poststart", json!([hook])),
        ("/hooks/poststop", json!([hook])),
        (
            "/hooks/createRuntime",
            json!([{"path": "/bin/true", "timeout": 0}]),
        ),
        (
            "/hooks/createRuntime",
            json!([{"path": "/bin/true", "timeout": -1}]),
        ),
        (
            "/mounts/-",
            json!({"destination": "/mnt", "type": "bind", "source": ctx.scratch(), "options": ["rbind", "ro"]}),
        ),
        (
            "/mounts/-",
            json!({"destination": "/mnt/a/b", "type": "tmpfs", "source": "tmpfs", "options": ["size=1k", "mode=700"]}),
        ),
        (
            "/mounts/-",
            json!({"destination": "/run", "type": "bind", "source": format!("{}/no-such-dir", ctx.scratch()), "options": ["bind"]}),
        ),
        (
            "/mounts/-",
            json!({"destination": "/mnt", "type": "bind", "source": ctx.scratch(), "options": ["rbind", "rro", "idmap"], "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 1}], "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 1}]}),
        ),
        (
            "/mounts/-",
            json!({"destination": "/proc/sys", "type": "proc", "source": "proc"}),
        ),
        ("/linux/namespaces/-", json!({"type": "user"})),
        ("/linux/namespaces/-", json!({"type": "time"})),
        ("/linux/namespaces/-", json!({"type": "pid"})),
        ("/linux/namespaces/-", json!({"type": "bogus"})),
        (
            "/linux/namespaces/-",
            json!({"type": "network", "path": format!("{}/no-such-ns", ctx.scratch())}),
        ),
        (
            "/linux/uidMappings",
            json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
        ),
        (
            "/linux/gidMappings",
            json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
        ),
        (
            "/linux/timeOffsets",
            json!({"monotonic": {"secs": 100, "nanosecs": 0}, "boottime": {"secs": -1, "nanosecs": 999999999}}),
        ),
        (
            "/linux/devices",
            json!([{"path": "/dev/fuzz", "type": "c", "major": 1, "minor": 3, "fileMode": 438, "uid": 0, "gid": 0}]),
        ),
        (
            "/linux/devices",
            json!([{"path": "/dev/fuzz", "type": "p"}]),
        ),
        (
            "/linux/devices",
            json!([{"path": "/dev/../fuzz", "type": "b", "major": 7, "minor": 0}]),
        ),
        (
            "/linux/resources",
            json!({"memory": {"limit": 1 << 30, "reservation": 1 << 20, "swap": 2 << 30}}),
        ),
        ("/linux/resources", json!({"memory": {"limit": 1}})),
        (
            "/linux/resources",
            json!({"cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"}}),
        ),
        (
            "/linux/resources",
            json!({"cpu": {"cpus": "0-100000", "idle": 1}}),
        ),
        ("/linux/resources", json!({"pids": {"limit": 0}})),
        (
            "/linux/resources",
            json!({"pids": {"limit": 100}, "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 1, "minor": 3, "rate": 1000}]}}),
        ),
        (
            "/linux/resources",
            json!({"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}]}),
        ),
        (
            "/linux/resources",
            json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 0}], "unified": {"memory.high": "max"}}),
        ),
        (
            "/linux/resources",
            json!({"network": {"classID": 1, "priorities": [{"name": "lo", "priority": 1}]}, "rdma": {"mlx": {"hcaHandles": 1}}}),
        ),
        (
            "/linux/cgroupsPath",
            json!(format!("/berth-fuzz-{}/{id}", ctx.token)),
        ),
        (
            "/linux/cgroupsPath",
            json!(format!("{}:berth:{id}", ctx.token)),
        ),
        (
            "/linux/cgroupsPath",
            json!(format!("rel-{}/{id}", ctx.token)),
        ),
        ("/linux/sysctl", json!({"kernel.msgmax": ctx.msgmax})),
        (
            "/linux/sysctl",
            json!({"net.ipv4.ip_forward": ctx.ip_forward}),
        ),
        (
            "/linux/sysctl",
            json!({"kernel.hostname": ctx.hostname, "vm.swappiness": ctx.swappiness}),
        ),
        (
            "/linux/seccomp",
            json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": [{"index": 0, "value": 1, "valueTwo": 2, "op": "SCMP_CMP_MASKED_EQ"}]}]}),
        ),
        (
            "/linux/seccomp",
            json!({"defaultAction": "SCMP_ACT_KILL", "syscalls": []}),
        ),
        (
            "/linux/seccomp",
            json!({"defaultAction": "SCMP_ACT_ERRNO", "flags": ["SECCOMP_FILTER_FLAG_LOG"], "syscalls": [{"names": ["getpid", "bogus_call"], "action": "SCMP_ACT_NOTIFY"}], "listenerPath": format!("{}/no-such-socket", ctx.scratch())}),
        ),
        (
            "/linux/seccomp",
            json!({"defaultAction": "SCMP_ACT_TRACE", "architectures": ["SCMP_ARCH_BOGUS"], "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]}),
        ),
        ("/linux/rootfsPropagation", json!("rprivate")),
        ("/linux/rootfsPropagation", json!("bogus")),
        (
            "/linux/mountLabel",
            json!("system_u:object_r:container_file_t:s0"),
        ),
        (
            "/linux/intelRdt",
            json!({"closID": "x", "l3CacheSchema": "L3:0=ff"}),
        ),
        (
            "/linux/personality",
            json!({"domain": "LINUX32", "flags": []}),
        ),
        ("/linux/personality", json!({"domain": "BOGUS"})),
        (
            "/linux/memoryPolicy",
            json!({"mode": "MPOL_BIND", "nodes": "0"}),
        ),
        (
            "/process/rlimits/-",
            json!({"type": "RLIMIT_NPROC", "hard": 0, "soft": 0}),
        ),
        (
            "/process/rlimits/-",
            json!({"type": "RLIMIT_BOGUS", "hard": 1, "soft": 2}),
        ),
        (
            "/process/rlimits/-",
            json!({"type": "RLIMIT_NOFILE", "hard": 1, "soft": 2}),
        ),
        ("/process/capabilities/bounding/-", json!(rng.pick(&caps))),
        ("/process/capabilities/ambient", json!([rng.pick(&caps)])),
        (
            "/process/capabilities/inheritable",
            json!([rng.pick(&caps)]),
        ),
        ("/process/user/additionalGids", json!([1, 2, 4294967295u64])),
        ("/process/user/umask", json!(18)),
        ("/process/user/username", json!("nobody")),
        ("/process/apparmorProfile", json!("unconfined")),
        (
            "/process/selinuxLabel",
            json!("system_u:system_r:container_t:s0"),
        ),
        ("/process/oomScoreAdj", json!(1000)),
        ("/process/oomScoreAdj", json!(-1001)),
        (
            "/process/scheduler",
            json!({"policy": "SCHED_FIFO", "priority": 200, "flags": ["SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RESET_ON_FORK"]}),
        ),
        (
            "/process/ioPriority",
            json!({"class": "IOPRIO_CLASS_RT", "priority": 9}),
        ),
        (
            "/process/execCPUAffinity",
            json!({"initial": "0", "final": "9999"}),
        ),
        ("/process/consoleSize", json!({"height": 0, "width": 65536})),
        ("/process/terminal", json!(true)),
        ("/process/commandLine", json!("true")),
        ("/process/env/-", json!("NOEQUALS")),
        ("/annotations", json!({"org.opencontainers.x": "y", "": ""})),
        ("/domainname", json!("fuzz.example")),
        ("/root/readonly", json!(false)),
    ];
    let i = rng.below(choices.len());
    choices.into_iter().nth(i).unwrap()
}

/// Every JSON pointer into `v` (the root excluded).
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    let esc = |k: &str| k.replace('~', "~0").replace('/', "~1");
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                let p = format!("{at}/{}", esc(k));
                out.push(p.clone());
                pointers(c, p, out);
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(c, p, out);
            }
        }
        _ => {}
    }
}

fn split_pointer(p: &str) -> (&str, String) {
    let (parent, last) = p.rsplit_once('/').unwrap();
    (parent, last.replace("~1", "/").replace("~0", "~"))
}

/// Sets `ptr` (its parent created as objects where missing; "/-" appends to an array).
fn insert(v: &mut Value, ptr: &str, value: Value) {
    let (parent, last) = split_pointer(ptr);
    if v.pointer(parent).is_none() {
        insert(v, parent, json!({}));
    }
    match v.pointer_mut(parent) {
        Some(Value::Array(a)) if last == "-" => a.push(value),
        Some(Value::Array(a)) => match last.parse::<usize>() {
            Ok(i) if i < a.len() => a[i] = value,
            _ => a.push(value),
        },
        Some(Value::Object(m)) => {
            m.insert(last, value);
        }
        Some(other) => *other = json!({ last: value }),
        None => {}
    }
}

/// One mutation of `c`, described for the report.
fn mutate(rng: &mut Rng, ctx: &Ctx, id: &str, c: &mut Value) -> String {
    let mut ptrs = Vec::new();
    pointers(c, String::new(), &mut ptrs);
    let kind = rng.below(8);
    // Extreme numbers go to numbers and odd strings to strings (when the config has one),
    // so that they pass the type checks and reach the code that uses them.
    let leaves: Vec<String> = ptrs
        .iter()
        .filter(|p| match kind {
            2 => c.pointer(p).is_some_and(Value::is_number),
            3 => c.pointer(p).is_some_and(Value::is_string),
            _ => false,
        })
        .cloned()
        .collect();
    let at = if leaves.is_empty() || rng.below(4) == 0 {
        rng.pick(&ptrs).clone()
    } else {
        rng.pick(&leaves).clone()
    };
    match kind {
        0 => {
            let (parent, last) = split_pointer(&at);
            match c.pointer_mut(parent) {
                Some(Value::Object(m)) => {
                    m.shift_remove(&last);
                }
                Some(Value::Array(a)) => {
                    a.remove(last.parse::<usize>().unwrap());
                }
                _ => {}
            }
            format!("remove {at}")
        }
        1 => {
            let others = [
                Value::Null,
                json!(true),
                json!(7),
                json!("x"),
                json!([]),
                json!({}),
                json!([1, "a", null]),
                json!({"a": {"b": []}}),
            ];
            let v = rng.pick(&others).clone();
            let d = format!("set {at} to {v}");
            *c.pointer_mut(&at).unwrap() = v;
            d
        }
        2 => {
            let v = rng.pick(&extreme_numbers()).clone();
            let d = format!("set {at} to {v}");
            *c.pointer_mut(&at).unwrap() = v;
            d
        }
        3 => {
            let s = rng.pick(&ctx.odd_strings()).clone();
            let d = format!("set {at} to {:?}", trunc(&s));
            *c.pointer_mut(&at).unwrap() = json!(s);
            d
        }
        4 => {
            // Duplicate an array's entry (or the value into a one-element array).
            let target = c.pointer_mut(&at).unwrap();
            match target {
                Value::Array(a) if !a.is_empty() => {
                    let e = a[rng.below(a.len())].clone();
                    a.push(e);
                }
                other => *other = json!([other.clone(), other.clone()]),
            }
            format!("duplicate in {at}")
        }
        5 => {
            let v = if rng.below(2) == 0 {
                json!([])
            } else {
                json!({})
            };
            let d = format!("empty {at} as {v}");
            *c.pointer_mut(&at).unwrap() = v;
            d
        }
        _ => {
            let (ptr, v) = snippet(rng, ctx, id);
            let d = format!("insert {ptr} = {}", trunc(&v.to_string()));
            insert(c, ptr, v);
            d
        }
    }
}

fn trunc(s: &str) -> String {
    if s.len() > 120 {
        let cut = (0..=120).rev().find(|&i| s.is_char_boundary(i)).unwrap();
        format!("{}… ({} bytes)", &s[..cut], s.len())
    } else {
        s.to_string()
    }
}

/// A command's outcome: its exit code (None: killed after `limit`), the signal that ended
/// it, its stderr.
struct Ran {
    code: Option<i32>,
    signal: Option<i32>,
    stderr: String,
}

fn bounded(cmd: &mut Command, limit: Duration, err: &Path) -> Ran {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(err).unwrap())
        .process_group(0);
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if started.elapsed() > limit {
            // SAFETY: kill(2) of the process group this function created.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    Ran {
        code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| s.signal()),
        stderr: std::fs::read_to_string(err).unwrap_or_default(),
    }
}

/// What is wrong with one command's outcome (None: fine). `may_fail`: a refusal is fine.
fn judge(what: &str, r: &Ran, may_fail: bool) -> Option<String> {
    let err = &r.stderr;
    if r.code.is_none() && r.signal.is_none() {
        return Some(format!(
            "{what}: hang (killed after its time limit); stderr: {err}"
        ));
    }
    if r.code == Some(101) || r.signal.is_some() || err.contains("panicked") {
        return Some(format!(
            "{what}: panic or crash (code {:?}, signal {:?}): {err}",
            r.code, r.signal
        ));
    }
    // The logrus framing on every line (a newline from the config is escaped, not raw).
    if let Some(l) = err.lines().find(|l| !l.starts_with("time=\"")) {
        return Some(format!(
            "{what}: a line without the log framing: {l:?} in {err:?}"
        ));
    }
    let code = r.code.unwrap();
    if code == 0 {
        return None;
    }
    if !may_fail || code != 1 {
        return Some(format!("{what}: exit code {code}: {err}"));
    }
    // Exactly one error, and a message that says something.
    let errors: Vec<&str> = err
        .lines()
        .filter(|l| l.contains(" level=error "))
        .collect();
    let msg = crate::common::messages(errors.first().copied().unwrap_or(""));
    if errors.len() != 1 || msg.trim().len() < 10 {
        return Some(format!("{what}: not one clear error line: {err:?}"));
    }
    None
}

/// Runs configs `first..first + count` (each derived from `seed` and its index) in `ctx`;
/// returns the findings.
fn fuzz_range(seed: u64, first: u64, count: u64, ctx: &Ctx) -> (Vec<String>, u64) {
    let root = Root::new();
    let bundle = ctx.dir.join("bundle");
    let err = ctx.dir.join("stderr");
    let mut findings = Vec::new();
    let mut created_ok = 0;
    for n in first..first + count {
        let mut rng = Rng::new(seed ^ n.wrapping_mul(0x2545_f491_4f6c_dd1d));
        let id = format!("{}-{n}", ctx.token);
        let mut c = base_config(&["true"]);
        c["root"]["path"] = json!(ctx.dir.join("rootfs"));
        let mutations: Vec<String> = (0..1 + rng.below(3))
            .map(|_| mutate(&mut rng, ctx, &id, &mut c))
            .collect();
        std::fs::write(bundle.join("config.json"), c.to_string()).unwrap();
        let what = format!("config {n} (seed {seed}; {mutations:?})");
        let mut create = Command::new(BERTH);
        create
            .arg("--root")
            .arg(&root.dir)
            .args(["create", "--bundle"])
            .arg(&bundle)
            .arg(&id);
        let created = bounded(&mut create, Duration::from_secs(10), &err);
        findings.extend(judge(&format!("{what}: create"), &created, true));
        created_ok += u64::from(created.code == Some(0));
        if std::env::var_os("BERTH_FUZZ_VERBOSE").is_some() {
            eprintln!(
                "{what}: {:?} {}",
                created.code,
                crate::common::messages(&created.stderr).trim()
            );
        }
        if created.code == Some(0) || root.dir.join(&id).exists() {
            let mut delete = Command::new(BERTH);
            delete
                .arg("--root")
                .arg(&root.dir)
                .args(["delete", "--force", &id]);
            let deleted = bounded(&mut delete, Duration::from_secs(10), &err);
            findings.extend(judge(&format!("{what}: delete --force"), &deleted, false));
        }
        // A killed init leaves its cgroup a moment after: wait a little for that.
        let deadline = Instant::now() + Duration::from_secs(5);
        let left = loop {
            let mut left = traces_of(&root, &id);
            let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
            let d = ctx.dir.to_string_lossy();
            left.extend(
                mi.lines()
                    .filter(|l| l.contains(d.as_ref()))
                    .map(|l| format!("mount {l}")),
            );
            if left.is_empty() || Instant::now() > deadline {
                break left;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if !left.is_empty() {
            findings.push(format!("{what}: left behind: {left:?}"));
        }
        if findings.len() >= 20 {
            break;
        }
    }
    (findings, created_ok)
}

fn sysctl(name: &str) -> String {
    std::fs::read_to_string(Path::new("/proc/sys").join(name))
        .unwrap()
        .trim()
        .to_string()
}

/// Cgroup directories whose name holds `token`, in every hierarchy.
fn cgroups_named(token: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, token: &str, found: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                if e.file_name().to_string_lossy().contains(token) {
                    found.push(e.path());
                }
                walk(&e.path(), token, found);
            }
        }
    }
    let mut found = Vec::new();
    for h in crate::cgroups::hierarchies() {
        walk(&h.mount, token, &mut found);
    }
    found
}

#[test]
fn mutated_configs_never_panic_hang_or_leak() {
    let seed = match std::env::var("BERTH_FUZZ_SEED") {
        Ok(s) => s.parse().expect("BERTH_FUZZ_SEED: a number"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    };
    let total: u64 = std::env::var("BERTH_FUZZ_CONFIGS")
        .map(|s| s.parse().expect("BERTH_FUZZ_CONFIGS: a number"))
        .unwrap_or(2000);
    let threads: u64 = 2;
    eprintln!("fuzz: seed {seed} (BERTH_FUZZ_SEED={seed} replays), {total} configs");
    let run = unique("fz");
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(&run);
    let started = Instant::now();
    let results: Vec<(Vec<String>, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let ctx = Ctx {
                    dir: base.join(format!("t{t}")),
                    token: format!("{run}t{t}"),
                    msgmax: sysctl("kernel/msgmax"),
                    ip_forward: sysctl("net/ipv4/ip_forward"),
                    hostname: sysctl("kernel/hostname"),
                    swappiness: sysctl("vm/swappiness"),
                };
                std::fs::create_dir_all(ctx.dir.join("bundle")).unwrap();
                std::fs::create_dir_all(ctx.dir.join("scratch")).unwrap();
                build_rootfs(&ctx.dir.join("rootfs"));
                let per = total.div_ceil(threads);
                let (first, count) = (t * per, per.min(total.saturating_sub(t * per)));
                s.spawn(move || fuzz_range(seed, first, count, &ctx))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let created: u64 = results.iter().map(|r| r.1).sum();
    let findings: Vec<String> = results.into_iter().flat_map(|r| r.0).collect();
    // Parents that a relative or absolute cgroupsPath made (as runc, delete removes only the
    // container's own cgroup): removed here; any other directory named by the run is a leak.
    let mut stray = cgroups_named(&run);
    stray.reverse();
    stray.retain(|d| {
        let name = d.file_name().unwrap().to_string_lossy();
        let parent = name.starts_with("rel-") || name.starts_with("berth-fuzz-");
        !(parent && std::fs::remove_dir(d).is_ok())
    });
    eprintln!(
        "fuzz: {total} configs in {:.1} s ({created} created), {} findings",
        started.elapsed().as_secs_f64(),
        findings.len() + stray.len()
    );
    let _ = std::fs::remove_dir_all(&base);
    assert!(
        findings.is_empty() && stray.is_empty(),
        "seed {seed}: {findings:#?}\ncgroups left: {stray:#?}"
    );
}

/// Found by the fuzzer: a capability entry that is not a string was dropped with a warning
/// ("ignoring unknown or unavailable capabilities: [{}]") and the container created; runc
/// refuses it as a type error, and so does berth, naming the entry.
#[test]
fn a_capability_that_is_not_a_name_is_refused() {
    let root = Root::new();
    for (bad, kind) in [
        (json!({}), "an object"),
        (json!(7), "a number"),
        (Value::Null, "null"),
    ] {
        let mut c = base_config(&["true"]);
        c["process"]["capabilities"]["bounding"]
            .as_array_mut()
            .unwrap()
            .push(bad);
        let b = crate::common::Bundle::new(&c);
        let out = root.berth(&[
            "create",
            "--bundle",
            b.dir.to_str().unwrap(),
            &unique("cap"),
        ]);
        assert_eq!(out.status.code(), Some(1));
        let err = crate::common::messages(&String::from_utf8_lossy(&out.stderr));
        assert_eq!(
            err,
            format!("config.json: process.capabilities.bounding[3]: {kind}, expected a capability name\n")
        );
        root.assert_clean(Some(&b));
    }
}
