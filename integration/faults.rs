//! Faults: berth (or the container's init, or an exec'd process during setup) killed by
//! SIGKILL at a syscall of `create`, `start`, `delete --force` and `exec`, injected with
//! strace (`-e inject=SYSCALL:signal=KILL:when=N`, counted per syscall and per process).
//! The points are the (syscall, N) pairs of a traced run of the same command. After each
//! fault, `delete --force` must return in bounded time and leave no process, cgroup, state
//! directory or fifo, and the id must be usable again.
//!
//! `make test` tries an evenly spread sample of each command's points (every one of them when
//! BERTH_FAULT_POINTS=all, as `make faults` sets).

use crate::cgroups::hierarchies;
use crate::common::{base_config, Bundle, Root, BERTH};
use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The exit code of `cmd` (None: killed after `limit`, with its process group), its stderr.
fn bounded(cmd: &mut Command, limit: Duration) -> (Option<i32>, String) {
    let err = tempfile_path("stderr");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .process_group(0);
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s.code().unwrap_or(128 + 9));
        }
        if started.elapsed() > limit {
            // SAFETY: kill(2) of the process group this function created.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stderr = std::fs::read_to_string(&err).unwrap_or_default();
    let _ = std::fs::remove_file(&err);
    (code, stderr)
}

fn tempfile_path(what: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(crate::common::unique(&format!("faults-{what}")))
}

/// The (syscall, N) points of `args` under `root`, from an strace -f of one run.
fn points(root: &Root, args: &[&str]) -> Vec<(String, usize)> {
    let trace = tempfile_path("trace");
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-o"])
        .arg(&trace)
        .arg(BERTH)
        .arg("--root")
        .arg(&root.dir)
        .args(args);
    // init stays (traced) after a create: strace returns once it is gone.
    let (code, err) = bounded(&mut cmd, Duration::from_secs(5));
    assert!(
        code.is_some() || args[0] == "create",
        "tracing {args:?}: {err}"
    );
    let text = std::fs::read_to_string(&trace).unwrap();
    let _ = std::fs::remove_file(&trace);
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let mut words = line.splitn(2, ' ');
        let (Some(pid), Some(rest)) = (words.next(), words.next()) else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(name) = rest
            .split('(')
            .next()
            .filter(|n| n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') && !n.is_empty())
        else {
            continue;
        };
        let n = seen.entry((pid.to_string(), name.to_string())).or_default();
        *n += 1;
        let point = (name.to_string(), *n);
        if !out.contains(&point) {
            out.push(point);
        }
    }
    out
}

/// An even sample of at most `max` of `all` (all of them with BERTH_FAULT_POINTS=all).
fn sample(all: Vec<(String, usize)>, max: usize) -> Vec<(String, usize)> {
    if std::env::var("BERTH_FAULT_POINTS").as_deref() == Ok("all") || all.len() <= max {
        return all;
    }
    let step = all.len() as f64 / max as f64;
    (0..max)
        .map(|i| all[(i as f64 * step) as usize].clone())
        .collect()
}

/// Runs `args` with SIGKILL injected at `point`; its stderr.
fn inject(root: &Root, args: &[&str], point: &(String, usize)) -> String {
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-o", "/dev/null", "-e"])
        .arg(format!("trace={}", point.0))
        .arg("-e")
        .arg(format!("inject={}:signal=KILL:when={}", point.0, point.1))
        .arg(BERTH)
        .arg("--root")
        .arg(&root.dir)
        .args(args);
    // A create whose init survives it (the fault came after its state was saved) keeps
    // strace waiting: the bound ends that.
    bounded(&mut cmd, Duration::from_secs(5)).1
}

/// Everything of container `id` on the host: its state directory, cgroup directories in
/// every hierarchy, processes (not zombies: a process reparented to this VM's pid 1 may wait
/// a while to be reaped) in a cgroup of that name, mounts naming it.
pub(crate) fn traces_of(root: &Root, id: &str) -> Vec<String> {
    let mut found = Vec::new();
    if root.dir.join(id).exists() {
        found.push(format!("state directory {}", root.dir.join(id).display()));
    }
    fn walk(dir: &Path, id: &str, found: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                if e.file_name() == id {
                    found.push(format!("cgroup {}", e.path().display()));
                }
                walk(&e.path(), id, found);
            }
        }
    }
    for h in hierarchies() {
        walk(&h.mount, id, &mut found);
    }
    let suffix = format!("/{id}\n");
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let cgroup = std::fs::read_to_string(e.path().join("cgroup")).unwrap_or_default();
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit_once(") ")
            .is_some_and(|(_, r)| r.starts_with('Z'));
        if cgroup.contains(&suffix) && !zombie {
            found.push(format!("process {}", e.file_name().to_string_lossy()));
        }
    }
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    found.extend(
        mi.lines()
            .filter(|l| l.contains(&format!("/{id}/")))
            .map(|l| format!("mount {l}")),
    );
    found
}

/// `delete --force` of `id` (bounded), then nothing of it may remain (polled briefly: a
/// killed process leaves its cgroup a moment later).
fn assert_undone(root: &Root, id: &str, what: &str) {
    let mut cmd = Command::new(BERTH);
    cmd.arg("--root")
        .arg(&root.dir)
        .args(["delete", "--force", id]);
    let (code, err) = bounded(&mut cmd, Duration::from_secs(10));
    assert_eq!(code, Some(0), "{what}: delete --force: {err}");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = traces_of(root, id);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: left behind after delete --force: {left:#?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A container that stays up: runs `sleep` once started.
fn sleeper() -> Bundle {
    let mut c = base_config(&["sleep", "1000"]);
    c["process"]["terminal"] = false.into();
    Bundle::new(&c)
}

fn create(root: &Root, bundle: &Bundle, id: &str) {
    root.ok(&["create", "--bundle", bundle.dir.to_str().unwrap(), id]);
}

/// A create killed anywhere (berth or its init) is undone by `delete --force`, and the id
/// can be created again.
#[test]
fn killed_create_is_undone_by_delete() {
    let root = Root::new();
    let bundle = sleeper();
    let b = bundle.dir.to_str().unwrap();
    let traced = crate::common::unique("fc");
    let all = points(&root, &["create", "--bundle", b, &traced]);
    assert_undone(&root, &traced, "traced create");
    assert!(all.len() > 200, "only {} points traced", all.len());
    for point in sample(all, 120) {
        let id = crate::common::unique("fc");
        let err = inject(&root, &["create", "--bundle", b, &id], &point);
        let what = format!("create killed at {point:?} ({})", err.trim());
        assert!(
            !err.contains("EPIPE"),
            "{what}: the broken socket, not init's death, reported"
        );
        assert_undone(&root, &id, &what);
        create(&root, &bundle, &id);
        assert_undone(&root, &id, &format!("{what}, then created again"));
    }
}

/// The create that was killed after init reported Ready but before the state was saved
/// leaves no init behind: init waits for the parent's word that the state is saved, and a
/// dead parent ends it. (Before, an orphan init held the container's cgroup, and the next
/// create of the id failed: "cgroup is not empty".)
#[test]
fn init_does_not_outlive_a_create_killed_before_its_state() {
    let root = Root::new();
    let bundle = sleeper();
    let b = bundle.dir.to_str().unwrap();
    // The last rename (the cgroup's record, then state.json): the last step before `Saved`.
    let id = crate::common::unique("fr");
    let all = points(&root, &["create", "--bundle", b, &id]);
    assert_undone(&root, &id, "traced create");
    let rename = all
        .iter()
        .filter(|(n, _)| n == "rename")
        .max_by_key(|(_, n)| *n)
        .cloned()
        .expect("create renames state.json into place");
    let id = crate::common::unique("fr");
    inject(&root, &["create", "--bundle", b, &id], &rename);
    let deadline = Instant::now() + Duration::from_secs(5);
    while traces_of(&root, &id)
        .iter()
        .any(|t| t.starts_with("process"))
    {
        assert!(
            Instant::now() < deadline,
            "init outlived its killed create: {:?}",
            traces_of(&root, &id)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_undone(&root, &id, "create killed at the state's rename");
    create(&root, &bundle, &id);
    assert_undone(&root, &id, "created again");
}

/// An init killed during its setup is reported as such (its signal), not as the socket
/// berth was writing to it.
#[test]
fn init_killed_during_setup_is_reported_as_killed() {
    let root = Root::new();
    let bundle = sleeper();
    let id = crate::common::unique("fk");
    // The session keyring: init's first step after `Go`, while berth still has messages for it.
    let err = inject(
        &root,
        &["create", "--bundle", bundle.dir.to_str().unwrap(), &id],
        &("keyctl".into(), 1),
    );
    assert!(
        err.contains("container init exited during setup (killed by SIGKILL)"),
        "{err}"
    );
    assert!(!err.contains("EPIPE"), "{err}");
    assert_undone(&root, &id, "init killed at keyctl");
}

/// A start killed anywhere: the container is created or running (never a `start` that
/// blocks forever), and `delete --force` undoes it.
#[test]
fn killed_start_never_wedges_the_container() {
    let root = Root::new();
    let bundle = sleeper();
    let traced = crate::common::unique("fs");
    create(&root, &bundle, &traced);
    let all = points(&root, &["start", &traced]);
    assert_undone(&root, &traced, "traced start");
    for point in sample(all, 40) {
        let id = crate::common::unique("fs");
        create(&root, &bundle, &id);
        let err = inject(&root, &["start", &id], &point);
        let what = format!("start killed at {point:?} ({})", err.trim());
        let mut again = Command::new(BERTH);
        again.arg("--root").arg(&root.dir).args(["start", &id]);
        let (code, err) = bounded(&mut again, Duration::from_secs(5));
        assert!(code.is_some(), "{what}: a second start hangs");
        let state = root.ok(&["state", &id]);
        assert!(
            state.contains("\"running\""),
            "{what}: after a second start ({err}): {state}"
        );
        assert_undone(&root, &id, &what);
    }
}

/// A `delete --force` killed anywhere is finished by the next one.
#[test]
fn killed_delete_is_finished_by_the_next() {
    let root = Root::new();
    let bundle = sleeper();
    let traced = crate::common::unique("fd");
    create(&root, &bundle, &traced);
    let all = points(&root, &["delete", "--force", &traced]);
    for point in sample(all, 40) {
        let id = crate::common::unique("fd");
        create(&root, &bundle, &id);
        let err = inject(&root, &["delete", "--force", &id], &point);
        assert_undone(
            &root,
            &id,
            &format!("delete killed at {point:?} ({})", err.trim()),
        );
    }
}

/// An exec killed anywhere (berth or the process it starts) leaves the container running
/// and `delete --force` removes everything.
#[test]
fn killed_exec_leaves_the_container_whole() {
    let root = Root::new();
    let bundle = sleeper();
    let traced = crate::common::unique("fe");
    create(&root, &bundle, &traced);
    root.ok(&["start", &traced]);
    let all = points(&root, &["exec", &traced, "true"]);
    assert_undone(&root, &traced, "traced exec");
    for point in sample(all, 40) {
        let id = crate::common::unique("fe");
        create(&root, &bundle, &id);
        root.ok(&["start", &id]);
        let err = inject(&root, &["exec", &id, "true"], &point);
        let what = format!("exec killed at {point:?} ({})", err.trim());
        assert!(!err.contains("EPIPE"), "{what}: the broken socket reported");
        let state = root.ok(&["state", &id]);
        assert!(state.contains("\"running\""), "{what}: {state}");
        assert_undone(&root, &id, &what);
    }
}

/// A leftover empty v1 cpuset directory named by the id (a create killed before berth
/// recorded its cgroup, or another runtime's) takes no process until its cpus and mems are
/// filled (ENOSPC): create fills it, as it fills new ones.
#[test]
fn leftover_empty_cpuset_of_the_id_is_filled() {
    let Some(h) = hierarchies()
        .into_iter()
        .find(|h| !h.v2 && h.controllers.iter().any(|c| c == "cpuset"))
    else {
        // Pure v2: no v1 cpuset to leave behind; the cgroup v2 guest covers its own layout.
        assert!(
            crate::cgroups::pure_v2(),
            "no cpuset hierarchy on a host that is not pure v2"
        );
        return;
    };
    let root = Root::new();
    let bundle = sleeper();
    let id = crate::common::unique("fcs");
    let dir = h.mount.join(&id);
    std::fs::create_dir(&dir).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("cpuset.cpus"))
            .unwrap()
            .trim(),
        "",
        "a new v1 cpuset starts empty"
    );
    create(&root, &bundle, &id);
    assert_ne!(
        std::fs::read_to_string(dir.join("cpuset.cpus"))
            .unwrap()
            .trim(),
        ""
    );
    assert_undone(&root, &id, "create in a leftover empty cpuset");
}
