//! containerd 1.6 started privately (its own root, state, sockets), driven by `ctr`, which
//! creates tasks through the runc v2 shim with `--runc-binary` pointed at the runtime: the
//! shim calls the runtime exactly as Kubernetes' containerd does.

use crate::compare::{self, Runtime};
use crate::run::wait_until;
use crate::run::{run, Out};
use crate::services::{self, Daemon};
use crate::{leaks, Scenario, Shared};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The image's name in containerd's store.
pub const IMAGE: &str = "docker.io/berth-test/busybox:latest";

/// The running daemon and where it listens.
pub struct Containerd {
    /// Held for its `Drop`, which stops the daemon.
    pub _daemon: Daemon,
    pub dir: PathBuf,
    pub socket: PathBuf,
}

/// Starts the run's containerd (the CRI plugin off: it wants CNI and is not what is tested).
pub fn start_daemon(shared: &Shared) -> Result<Containerd, String> {
    let dir = shared.work.join("containerd");
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let socket = dir.join("containerd.sock");
    let d = dir.display();
    let config = format!(
        "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
         [grpc]\n  address = \"{d}/containerd.sock\"\n[ttrpc]\n  address = \"{d}/containerd.sock.ttrpc\"\n\
         [debug]\n  address = \"\"\n[metrics]\n  address = \"\"\n\
         [plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{d}/opt\"\n"
    );
    fs::write(dir.join("config.toml"), config).map_err(|e| e.to_string())?;
    let mut cmd = Command::new("containerd");
    cmd.arg("--config").arg(dir.join("config.toml"));
    let daemon = Daemon::start(
        "containerd",
        cmd,
        &dir.join("log"),
        Duration::from_secs(30),
        || services::socket_ready(&socket),
    )?;
    Ok(Containerd {
        _daemon: daemon,
        dir,
        socket,
    })
}

/// The containerd group's environment: a namespace of its own with the image imported, and a
/// runtime root per runtime under the run's directory.
pub struct Env {
    socket: PathBuf,
    /// Also the cgroup parent of its containers (ctr's `/<namespace>/<id>`).
    namespace: String,
    roots: PathBuf,
    /// Where the scenarios' task logs go (`--log-uri`).
    logs: PathBuf,
}

pub fn setup(shared: &Shared, containerd: &Containerd) -> Result<Env, String> {
    let env = Env {
        socket: containerd.socket.clone(),
        namespace: format!("berth-test-{}", std::process::id()),
        roots: containerd.dir.join("runtime-roots"),
        logs: containerd.dir.join("logs"),
    };
    fs::create_dir_all(&env.logs).map_err(|e| e.to_string())?;
    let archive = containerd.dir.join("busybox.tar");
    shared
        .busybox
        .copy_to(&format!("oci-archive:{}:{IMAGE}", archive.display()));
    env.ctr(&["images", "import", archive.to_str().unwrap()])
        .ok("ctr images import");
    Ok(env)
}

impl Env {
    /// `ctr` on this run's containerd and namespace.
    pub fn ctr(&self, args: &[&str]) -> Out {
        run(Command::new("ctr")
            .arg("--address")
            .arg(&self.socket)
            .args(["--namespace", &self.namespace])
            .args(args))
    }

    /// The runtime root the shim passes to `rt` (`--root`).
    pub fn root(&self, rt: &Runtime) -> PathBuf {
        self.roots.join(rt.name)
    }

    /// `ctr run --rm` of the image with `rt`, running `args`.
    pub fn ctr_run(&self, rt: &Runtime, id: &str, extra: &[&str], args: &[&str]) -> Out {
        let binary = format!("--runc-binary={}", rt.path.display());
        let root = format!("--runc-root={}", self.root(rt).display());
        let mut all = vec!["run", &binary, &root];
        all.extend_from_slice(extra);
        all.extend_from_slice(&[IMAGE, id]);
        all.extend_from_slice(args);
        self.ctr(&all)
    }

    /// Nothing of container `id` left: no task, container, state, mount, cgroup or process.
    /// And the shim ran the runtime given: had it fallen back to runc from PATH (options that
    /// replace --runc-binary), runc's default root for the namespace would exist.
    pub fn assert_clean(&self, rt: &Runtime, id: &str) {
        let fallback = Path::new("/run/containerd/runc").join(&self.namespace);
        assert!(
            !fallback.exists(),
            "{id}: the shim used runc's default root {} (not --runc-binary/--runc-root)",
            fallback.display()
        );
        let root = self.root(rt).join(&self.namespace);
        leaks::assert_none(
            &format!("containerd with {}", rt.name),
            &[root.as_path()],
            &[id],
        );
        let listed = self
            .ctr(&["containers", "ls", "-q"])
            .ok("ctr containers ls");
        assert!(
            !listed.lines().any(|l| l == id),
            "container {id} still listed: {listed}"
        );
    }
}

/// A container name of this run: "ctr" keeps it apart from the other groups' names (made by
/// the same process, in parallel), the fixed width from its neighbours' (leak checks match
/// names as substrings).
fn unique(rt: &Runtime, what: &str) -> String {
    compare::unique("ctr", rt, what)
}

/// `ctr run --rm`: exit codes and output.
fn run_exit_codes(env: &Env) {
    for script in [
        "echo hello; exit 0",
        "echo out; echo err >&2; exit 1",
        "exit 42",
        "kill -9 $$",
    ] {
        let (a, b) = compare::both(|rt| {
            let id = unique(rt, "run");
            let out = env.ctr_run(rt, &id, &["--rm"], &["sh", "-c", script]);
            env.assert_clean(rt, &id);
            out
        });
        compare::assert_same(&format!("ctr run {script:?}"), &a, &b);
    }
}

/// `ctr run --rm` of a command that cannot run: ctr's exit code and the runtime's words it
/// shows (runc's "executable file not found in $PATH", "permission denied").
fn run_missing_and_not_executable(env: &Env) {
    for (cmd, words) in [
        ("nosuch", "executable file not found in $PATH"),
        ("/etc/passwd", "permission denied"),
        ("/etc", "permission denied"),
    ] {
        let (a, b) = compare::both(|rt| {
            let id = unique(rt, "noexec");
            let out = env.ctr_run(rt, &id, &["--rm"], &[cmd]);
            env.assert_clean(rt, &id);
            out
        });
        compare::assert_same(&format!("ctr run {cmd}"), &a, &b);
        for (rt, out) in [("runc", &a), ("berth", &b)] {
            assert!(
                out.stderr.contains(words),
                "ctr run {cmd} with {rt}: no {words:?} in {:?}",
                out.stderr
            );
        }
    }
}

/// `ctr run` with the options of its own spec generator: cwd, env, memory and cpu limits, a
/// read-only root, the default seccomp profile, a dropped capability, a read-only bind
/// mount. Not --no-pivot nor --uidmap: ctr passes those as task options that replace the
/// runtime's, --runc-binary included (runc from PATH would run; `assert_clean` notices).
fn run_options(env: &Env) {
    let src = env.logs.join("bind-source");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), "from the host\n").unwrap();
    let mount = format!("type=bind,src={},dst=/mnt,options=rbind:ro", src.display());
    let script = "id; pwd; echo $A; grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status; \
                  touch /x 2>/dev/null || echo root refused; cat /mnt/f; \
                  touch /mnt/g 2>/dev/null || echo bind refused";
    let (a, b) = compare::both(|rt| {
        let id = unique(rt, "opts");
        let opts = [
            "--rm",
            "--cwd",
            "/tmp",
            "--env",
            "A=b",
            "--memory-limit",
            "67108864",
            "--cpus",
            "0.5",
            "--read-only",
            "--seccomp",
            "--cap-drop",
            "CAP_CHOWN",
            "--mount",
            &mount,
        ];
        let out = env.ctr_run(rt, &id, &opts, &["sh", "-c", script]);
        env.assert_clean(rt, &id);
        out
    });
    compare::assert_same("ctr run with options", &a, &b);
    assert!(
        a.stdout
            .contains("root refused\nfrom the host\nbind refused\n"),
        "runc: {a:?}"
    );
    let _ = fs::remove_dir_all(&src);
}

/// A transcript of what the user saw, step by step, compared between the runtimes whole.
#[derive(Default, Debug, PartialEq)]
struct Transcript(Vec<String>);

impl Transcript {
    /// The step's exit code and its stdout as `shown` makes it comparable.
    fn step(&mut self, what: &str, out: &Out, shown: impl Fn(&str) -> String) {
        self.0
            .push(format!("{what}: exit {}\n{}", out.code, shown(&out.stdout)));
    }
    fn note(&mut self, line: String) {
        self.0.push(line);
    }
}

/// Each run of digits as `<n>`: pids, sizes and times that differ from run to run; runs of
/// spaces as one (a table's columns widen with its numbers).
fn numbers_hidden(text: &str) -> String {
    let mut out = String::new();
    let mut in_number = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push_str("<n>");
            }
            in_number = true;
        } else {
            in_number = false;
            if !(c == ' ' && out.ends_with(' ')) {
                out.push(c);
            }
        }
    }
    out
}

/// A task that traps TERM and USR1 (echoing them to its log) and has a child, so `task ps`
/// shows two processes.
const TRAPPER: &str = "trap 'echo got TERM; exit 3' TERM; trap 'echo got USR1' USR1; \
                       sleep 1000 & echo ready; while :; do wait; done";

/// `ctr run -d` and the task commands: ls, ps, exec (exit code, a missing command, while
/// paused), pause, resume, metrics, kill with a signal the task traps, kill until stopped,
/// kill of the stopped task, delete. kill and delete are timed against runc.
fn detached_task(env: &Env) {
    let ((ta, ka, da), (tb, kb, db)) = compare::both(|rt| {
        let id = unique(rt, "task");
        let log = env.logs.join(format!("{id}.log"));
        let log_text = || fs::read_to_string(&log).unwrap_or_default();
        let uri = format!("--log-uri=file://{}", log.display());
        let mut t = Transcript::default();
        let shown = |s: &str| numbers_hidden(&compare::normalize(&s.replace(&id, "<id>")));
        let run = env.ctr_run(rt, &id, &["-d", &uri], &["sh", "-c", TRAPPER]);
        t.step("run -d", &run, shown);
        wait_until(&format!("{id} logs ready"), || log_text().contains("ready"));
        t.note(format!("status {}", env.status(&id)));
        t.step("task ps", &env.ctr(&["task", "ps", &id]), shown);
        let exec = env.ctr(&[
            "task",
            "exec",
            "--exec-id",
            "e1",
            &id,
            "sh",
            "-c",
            "echo in exec; id; exit 5",
        ]);
        t.step("task exec", &exec, shown);
        let missing = env.ctr(&["task", "exec", "--exec-id", "e2", &id, "nosuch"]);
        t.step("task exec nosuch", &missing, shown);
        t.note(format!(
            "exec nosuch says not found: {}",
            missing
                .stderr
                .contains("executable file not found in $PATH")
        ));
        t.step("task pause", &env.ctr(&["task", "pause", &id]), shown);
        t.note(format!("status {}", env.status(&id)));
        let paused = env.ctr(&["task", "exec", "--exec-id", "e3", &id, "true"]);
        t.step("task exec while paused", &paused, shown);
        t.note(ctr_error(&paused.stderr));
        t.step("task resume", &env.ctr(&["task", "resume", &id]), shown);
        t.note(format!("status {}", env.status(&id)));
        // The metric names, and the values that do not vary (limits, pid count).
        let metrics = env.ctr(&["task", "metrics", &id]);
        t.step("task metrics", &metrics, |s| {
            s.lines()
                .skip_while(|l| !l.starts_with("METRIC"))
                .map(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    match f[..] {
                        [name @ ("pids.current" | "pids.limit" | "memory.limit_in_bytes"), v] => {
                            format!("{name} {v}")
                        }
                        [name, ..] => name.to_string(),
                        [] => String::new(),
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        });
        let usr1 = env.ctr(&["task", "kill", "-s", "SIGUSR1", &id]);
        t.step("task kill -s SIGUSR1", &usr1, shown);
        wait_until(&format!("{id} got USR1"), || {
            log_text().contains("got USR1")
        });
        let started = Instant::now();
        let mut kill = env.ctr(&["task", "kill", &id]);
        t.step("task kill", &kill, shown);
        wait_until(&format!("{id} stopped"), || env.status(&id) == "STOPPED");
        // Timed until the task is seen stopped: a signal delivered late shows here.
        kill.secs = started.elapsed().as_secs_f64();
        t.note(format!("log {:?}", log_text()));
        let again = env.ctr(&["task", "kill", &id]);
        t.step("task kill of the stopped task", &again, shown);
        t.note(ctr_error(&again.stderr));
        let delete = env.ctr(&["task", "delete", &id]);
        t.step("task delete", &delete, shown);
        t.note(format!(
            "delete warns of exit code 3: {}",
            delete.stderr.contains("exit code 3")
        ));
        env.ctr(&["containers", "delete", &id])
            .ok("ctr containers delete");
        env.assert_clean(rt, &id);
        let _ = fs::remove_file(&log);
        (t, kill, delete)
    });
    assert_eq!(ta, tb, "ctr task commands: runc (left) vs berth (right)");
    compare::assert_not_slower("ctr task kill (until stopped)", &ka, &kb);
    compare::assert_not_slower("ctr task delete", &da, &db);
}

/// ctr's own error line (`ctr: ...`), without the runtime's words inside it.
fn ctr_error(stderr: &str) -> String {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("ctr: "))
        .unwrap_or("");
    if line.contains("OCI runtime") {
        "ctr: <runtime error>".into()
    } else {
        line.to_string()
    }
}

/// `ctr run -t` in a terminal (`script`): the container's pty as the user sees it, raw
/// (the "\r" of each line end included: the shim leaves the pty's ONLCR on, as runc does).
fn run_with_tty(env: &Env) {
    let (a, b) = compare::both(|rt| {
        let id = unique(rt, "tty");
        let line = format!(
            "ctr --address {} --namespace {} run --runc-binary={} --runc-root={} --rm -t {IMAGE} {id} \
             sh -c 'tty; stty -a 2>/dev/null | grep -o .onlcr; echo done; exit 7'",
            env.socket.display(),
            env.namespace,
            rt.path.display(),
            env.root(rt).display()
        );
        let out = crate::run::in_script(&line);
        env.assert_clean(rt, &id);
        out
    });
    compare::assert_same_tty("ctr run -t", &a, &b, 7);
}

/// `ctr task exec -t` in a terminal (`script`) on a running task: the exec's own tty, ONLCR
/// as runc leaves it, the exit code.
fn exec_with_tty(env: &Env) {
    let (a, b) = compare::both(|rt| {
        let id = unique(rt, "exectty");
        env.ctr_run(rt, &id, &["-d"], &["sleep", "1000"])
            .ok("ctr run -d");
        let line = format!(
            "ctr --address {} --namespace {} task exec -t --exec-id t1 {id} \
             sh -c 'tty; stty -a 2>/dev/null | grep -o .onlcr; echo done; exit 3'",
            env.socket.display(),
            env.namespace,
        );
        let mut out = crate::run::sh(&format!("script -qec \"{line}\" /dev/null"));
        // As in run_with_tty; and ctr's own complaint when its resize of the pty comes after
        // the process has ended (a race of ctr's) is not the runtime's.
        out.stdout = out
            .stdout
            .replace("^@", "")
            .lines()
            .filter(|l| !l.contains("resize pty"))
            .collect::<Vec<_>>()
            .join("\n");
        env.ctr(&["task", "kill", "-s", "SIGKILL", &id])
            .ok("ctr task kill");
        wait_until(&format!("{id} stopped"), || env.status(&id) == "STOPPED");
        env.ctr(&["task", "delete", &id]).ok("ctr task delete");
        env.ctr(&["containers", "delete", &id])
            .ok("ctr containers delete");
        env.assert_clean(rt, &id);
        out
    });
    compare::assert_same_tty("ctr task exec -t", &a, &b, 3);
}

/// A paused task: SIGTERM waits in the frozen cgroup (the task stays PAUSED), SIGKILL ends
/// it; `task delete -f` of a paused task ends and removes it at once (timed against runc).
fn paused_task(env: &Env) {
    let ((ta, da), (tb, db)) = compare::both(|rt| {
        let mut t = Transcript::default();
        let shown = |s: &str| s.to_string();
        let id = unique(rt, "paused");
        env.ctr_run(rt, &id, &["-d"], &["sleep", "1000"])
            .ok("ctr run -d");
        env.ctr(&["task", "pause", &id]).ok("ctr task pause");
        t.step("kill", &env.ctr(&["task", "kill", &id]), shown);
        // Nothing to wait for: a frozen task cannot act on the signal.
        t.note(format!("status {}", env.status(&id)));
        let kill = env.ctr(&["task", "kill", "-s", "SIGKILL", &id]);
        t.step("kill -s SIGKILL", &kill, shown);
        wait_until(&format!("{id} stopped"), || env.status(&id) == "STOPPED");
        env.ctr(&["task", "delete", &id]).ok("ctr task delete");
        env.ctr(&["containers", "delete", &id])
            .ok("ctr containers delete");
        env.assert_clean(rt, &id);
        let id = unique(rt, "paused");
        env.ctr_run(rt, &id, &["-d"], &["sleep", "1000"])
            .ok("ctr run -d");
        env.ctr(&["task", "pause", &id]).ok("ctr task pause");
        let delete = env.ctr(&["task", "delete", "-f", &id]);
        t.step("delete -f", &delete, shown);
        t.note(format!("task left: {:?}", env.status(&id)));
        env.ctr(&["containers", "delete", &id])
            .ok("ctr containers delete");
        env.assert_clean(rt, &id);
        (t, delete)
    });
    assert_eq!(ta, tb, "ctr on paused tasks: runc (left) vs berth (right)");
    assert_eq!(ta.0[1], "status PAUSED", "runc: {ta:?}");
    compare::assert_not_slower("ctr task delete -f of a paused task", &da, &db);
}

/// A task in the host's pid namespace (`--with-ns pid:...`, as Kubernetes' hostPID): when
/// its init exits the shim kills the rest with `kill --all`; nothing of it outlives the task.
fn shared_pid_namespace(env: &Env) {
    let pidns = format!("--with-ns=pid:/proc/{}/ns/pid", std::process::id());
    let (a, b) = compare::both(|rt| {
        let mut t = Transcript::default();
        let id = unique(rt, "hostpid");
        let log = env.logs.join(format!("{id}.log"));
        let uri = format!("--log-uri=file://{}", log.display());
        let script = "sleep 1001 & sleep 1002 & trap 'exit 0' TERM; echo ready; \
                      while :; do sleep 0.1; done";
        env.ctr_run(rt, &id, &["-d", &pidns, &uri], &["sh", "-c", script])
            .ok("ctr run -d");
        wait_until(&format!("{id} ready"), || {
            fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("ready")
        });
        // sh and the two sleeps (and a passing `sleep 0.1`).
        let ps = env.ctr(&["task", "ps", &id]).ok("ctr task ps");
        assert!(ps.lines().count() > 3, "{}: task ps: {ps}", rt.name);
        t.step("kill", &env.ctr(&["task", "kill", &id]), |s| s.to_string());
        wait_until(&format!("{id} stopped"), || env.status(&id) == "STOPPED");
        env.ctr(&["task", "delete", &id]).ok("ctr task delete");
        env.ctr(&["containers", "delete", &id])
            .ok("ctr containers delete");
        // The sleeps, in the task's cgroup, count as its leftovers.
        env.assert_clean(rt, &id);
        let _ = fs::remove_file(&log);
        t
    });
    assert_eq!(
        a, b,
        "ctr with the host's pid namespace: runc (left) vs berth (right)"
    );
}

/// `ctr task checkpoint` where CRIU cannot dump (as on this machine) or can: the same exit
/// code as with runc, and the task left as it was (running, still usable).
fn checkpoint(env: &Env) {
    let (a, b) = compare::both(|rt| {
        let id = unique(rt, "ckpt");
        env.ctr_run(rt, &id, &["-d"], &["sleep", "1000"])
            .ok("ctr run -d");
        let out = env.ctr(&["task", "checkpoint", &id]);
        let mut t = Transcript::default();
        t.note(format!("checkpoint: exit {}", out.code));
        t.note(format!("status {}", env.status(&id)));
        let exec = env.ctr(&["task", "exec", "--exec-id", "after", &id, "echo", "alive"]);
        t.step("exec after the checkpoint", &exec, |s| s.to_string());
        env.ctr(&["task", "kill", "-s", "SIGKILL", &id])
            .ok("ctr task kill");
        wait_until(&format!("{id} stopped"), || env.status(&id) == "STOPPED");
        env.ctr(&["task", "delete", &id]).ok("ctr task delete");
        env.ctr(&["containers", "delete", &id])
            .ok("ctr containers delete");
        env.assert_clean(rt, &id);
        (t, out)
    });
    assert_eq!(
        a.0, b.0,
        "ctr task checkpoint: runc (left) vs berth (right)\nrunc: {:?}\nberth: {:?}",
        a.1, b.1
    );
}

pub const SCENARIOS: &[Scenario<Env>] = &[
    ("run_exit_codes", run_exit_codes),
    (
        "run_missing_and_not_executable",
        run_missing_and_not_executable,
    ),
    ("run_options", run_options),
    ("detached_task", detached_task),
    ("run_with_tty", run_with_tty),
    ("exec_with_tty", exec_with_tty),
    ("paused_task", paused_task),
    ("shared_pid_namespace", shared_pid_namespace),
    ("checkpoint", checkpoint),
];

impl Env {
    /// `ctr task ls`'s status of `id` (empty when it has no task).
    fn status(&self, id: &str) -> String {
        let ls = self.ctr(&["task", "ls"]).ok("ctr task ls");
        ls.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|f| f.first() == Some(&id))
            .and_then(|f| f.get(2).map(|s| s.to_string()))
            .unwrap_or_default()
    }
}

impl Drop for Env {
    /// What a failed scenario left: its tasks and containers, then the namespace's cgroups.
    fn drop(&mut self) {
        let tasks = self.ctr(&["task", "ls", "-q"]).stdout;
        for id in tasks.lines() {
            let _ = self.ctr(&["task", "kill", "-s", "SIGKILL", id]);
            let _ = self.ctr(&["task", "delete", "-f", id]);
        }
        let containers = self.ctr(&["containers", "ls", "-q"]).stdout;
        for id in containers.lines() {
            let _ = self.ctr(&["containers", "delete", id]);
        }
        remove_cgroup_parent(&self.namespace);
    }
}

/// Removes the (empty) cgroup `parent` from every hierarchy.
fn remove_cgroup_parent(parent: &str) {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    for l in info.lines() {
        let Some((pre, post)) = l.split_once(" - ") else {
            continue;
        };
        if post.starts_with("cgroup ") || post.starts_with("cgroup2 ") {
            if let Some(mount) = pre.split_whitespace().nth(4) {
                let _ = fs::remove_dir(PathBuf::from(mount).join(parent));
            }
        }
    }
}
