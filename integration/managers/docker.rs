//! dockerd 20.10 started privately (its own data-root, exec-root, pidfile and socket) on the
//! run's containerd, with berth added as a runtime (`--add-runtime berth=<path>`); the docker
//! client is Debian's (/usr/bin/docker: a newer client elsewhere on PATH is not the one
//! under test).

use crate::compare::{self, Runtime};
use crate::containerd::Containerd;
use crate::run::wait_until;
use crate::run::{run, Out};
use crate::services::{self, Daemon};
use crate::{leaks, Scenario, Shared};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub const DOCKER: &str = "/usr/bin/docker";
/// The image's name in docker's store.
pub const IMAGE: &str = "berth-test/busybox:latest";

pub struct Dockerd {
    /// Held for its `Drop`, which stops the daemon.
    pub _daemon: Daemon,
    pub dir: PathBuf,
    pub socket: PathBuf,
    /// Every cgroup docker makes is under this parent (`--cgroup-parent`).
    pub cgroup_parent: String,
}

/// Starts the run's dockerd: no bridge or iptables (the machine's network is not touched;
/// containers run with `--network none`), cgroupfs, overlay2.
pub fn start_daemon(shared: &Shared, containerd: &Containerd) -> Result<Dockerd, String> {
    let dir = shared.work.join("docker");
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    fs::write(dir.join("daemon.json"), "{}").map_err(|e| e.to_string())?;
    let socket = dir.join("docker.sock");
    let cgroup_parent = format!("berth-test-docker-{}", std::process::id());
    let mut cmd = Command::new("dockerd");
    cmd.arg("--config-file")
        .arg(dir.join("daemon.json"))
        .arg("--data-root")
        .arg(dir.join("data"))
        .arg("--exec-root")
        .arg(dir.join("exec"))
        .arg("--pidfile")
        .arg(dir.join("docker.pid"))
        .arg("--host")
        .arg(format!("unix://{}", socket.display()))
        .arg("--containerd")
        .arg(&containerd.socket)
        .args([
            "--containerd-namespace",
            &format!("berth-test-moby-{}", std::process::id()),
        ])
        .args([
            "--containerd-plugins-namespace",
            &format!("berth-test-plugins-{}", std::process::id()),
        ])
        .arg(format!("--add-runtime=berth={}", compare::BERTH))
        // `--init`: docker.io's own (tini, a dependency of the package), never another
        // docker-init found first on PATH.
        .arg("--init-path=/usr/bin/docker-init")
        .args([
            "--bridge",
            "none",
            "--iptables=false",
            "--ip6tables=false",
            "--ip-masq=false",
        ])
        .args([
            "--storage-driver",
            "overlay2",
            "--exec-opt",
            "native.cgroupdriver=cgroupfs",
        ])
        .arg(format!("--cgroup-parent=/{cgroup_parent}"));
    let daemon = Daemon::start(
        "dockerd",
        cmd,
        &dir.join("log"),
        Duration::from_secs(60),
        || services::socket_ready(&socket),
    )?;
    Ok(Dockerd {
        _daemon: daemon,
        dir,
        socket,
        cgroup_parent,
    })
}

pub struct Env {
    socket: PathBuf,
    /// dockerd's --data-root and --exec-root.
    data_root: PathBuf,
    exec_root: PathBuf,
    cgroup_parent: String,
    /// The scenarios' cidfiles.
    cids: PathBuf,
}

pub fn setup(shared: &Shared, dockerd: &Dockerd) -> Result<Env, String> {
    let env = Env {
        socket: dockerd.socket.clone(),
        data_root: dockerd.dir.join("data"),
        exec_root: dockerd.dir.join("exec"),
        cgroup_parent: dockerd.cgroup_parent.clone(),
        cids: dockerd.dir.join("cids"),
    };
    fs::create_dir_all(&env.cids).map_err(|e| e.to_string())?;
    let archive = dockerd.dir.join("busybox.tar");
    shared
        .busybox
        .copy_to(&format!("docker-archive:{}:{IMAGE}", archive.display()));
    env.docker(&["load", "-q", "-i", archive.to_str().unwrap()])
        .ok("docker load");
    Ok(env)
}

impl Env {
    pub fn docker(&self, args: &[&str]) -> Out {
        run(Command::new(DOCKER)
            .arg("--host")
            .arg(format!("unix://{}", self.socket.display()))
            .args(args))
    }

    /// The runtime root docker's shim gives every runtime: docker 20.10 names it after the
    /// default runtime (`<exec-root>/runtime-runc`, a directory per containerd namespace
    /// inside), also for a runtime added with --add-runtime.
    pub fn root(&self) -> PathBuf {
        self.exec_root.join("runtime-runc")
    }

    /// `docker run` with `rt`, no network, named `name`, `opts` before the image and `args`
    /// after it; the container's full id comes from a --cidfile (empty if none was created).
    pub fn run_in(&self, rt: &Runtime, name: &str, opts: &[&str], args: &[&str]) -> (Out, String) {
        let cidfile = self.cids.join(name);
        let cid = cidfile.to_str().unwrap();
        let mut all = vec![
            "run",
            "--network",
            "none",
            "--runtime",
            rt.name,
            "--name",
            name,
            "--cidfile",
            cid,
        ];
        all.extend_from_slice(opts);
        all.push(IMAGE);
        all.extend_from_slice(args);
        let out = self.docker(&all);
        let id = fs::read_to_string(&cidfile).unwrap_or_default();
        let _ = fs::remove_file(&cidfile);
        (out, id.trim().to_string())
    }

    /// Nothing of container `name` (id `id`) left: not listed, no state of it in the runtime
    /// root or docker's own directories, no mount, cgroup or process; nothing under the
    /// cgroup parent.
    pub fn assert_clean(&self, rt: &Runtime, name: &str, id: &str) {
        let mut roots: Vec<PathBuf> = fs::read_dir(self.root())
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        roots.push(self.data_root.join("containers"));
        roots.push(self.exec_root.join("containerd"));
        let roots: Vec<&Path> = roots.iter().map(|p| p.as_path()).collect();
        leaks::assert_none(&format!("docker with {}", rt.name), &roots, &[name, id]);
        let ps = self
            .docker(&["ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Names}}"])
            .ok("docker ps -a");
        assert!(
            !ps.lines()
                .any(|l| l.split_whitespace().any(|f| f == name || f == id)),
            "container {name} ({id}) still listed: {ps}"
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = cgroups_under(&self.cgroup_parent);
            if left.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "docker with {}: cgroups left under the parent: {left:?}",
                rt.name
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The cgroups under `parent` in every hierarchy.
fn cgroups_under(parent: &str) -> Vec<PathBuf> {
    crate::leaks::cgroup_mounts()
        .iter()
        .filter_map(|m| fs::read_dir(m.join(parent)).ok())
        .flat_map(|d| d.flatten())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect()
}

impl Drop for Env {
    /// What a failed scenario left: its containers, then the cgroup parent.
    fn drop(&mut self) {
        let all = self.docker(&["ps", "-aq"]).stdout;
        for id in all.lines() {
            let _ = self.docker(&["rm", "-f", id]);
        }
        for m in crate::leaks::cgroup_mounts() {
            let _ = fs::remove_dir(m.join(&self.cgroup_parent));
        }
    }
}

/// A container name of this run: "dk" keeps it apart from the other groups' names (made by
/// the same process, in parallel), the fixed width from its neighbours' (leak checks match
/// names as substrings).
fn unique(rt: &Runtime, what: &str) -> String {
    compare::unique("dk", rt, what)
}

/// `docker run --rm`: exit codes and output (stdout and stderr both reach the user), a
/// command that is not executable (a file without x, a directory, a device: 126) or missing
/// (127) with the runtime's words docker shows.
fn run_exit_codes(env: &Env) {
    for (args, words) in [
        (&["sh", "-c", "echo hello; exit 0"][..], None),
        (&["sh", "-c", "echo out; echo err >&2; exit 1"], Some("err")),
        (&["sh", "-c", "exit 42"], None),
        (&["sh", "-c", "kill -9 $$"], None),
        (&["/etc/passwd"], Some("permission denied")),
        (&["/etc"], Some("permission denied")),
        (&["/dev/null"], Some("permission denied")),
        (&["nosuch"], Some("executable file not found in $PATH")),
    ] {
        let (a, b) = compare::both(|rt| {
            let name = unique(rt, "run");
            let (out, id) = env.run_in(rt, &name, &["--rm"], args);
            assert!(!id.is_empty(), "docker run {args:?}: no cidfile");
            env.assert_clean(rt, &name, &id);
            out
        });
        compare::assert_same(&format!("docker run {args:?}"), &a, &b);
        let Some(words) = words else { continue };
        for (rt, out) in [("runc", &a), ("berth", &b)] {
            assert!(
                out.stderr.contains(words),
                "docker run {args:?} with {rt}: no {words:?} in {:?}",
                out.stderr
            );
        }
    }
}

/// What the user saw, step by step, compared between the runtimes whole.
#[derive(Default, Debug, PartialEq)]
struct Transcript(Vec<String>);

impl Transcript {
    /// The step's exit code and stdout, with the container's name and id as `<name>`/`<id>`.
    fn step(&mut self, what: &str, out: &Out, name: &str, id: &str) {
        let shown = out.stdout.replace(id, "<id>").replace(name, "<name>");
        self.0.push(format!(
            "{what}: exit {}\n{}",
            out.code,
            compare::normalize(&shown)
        ));
    }
    fn note(&mut self, line: String) {
        self.0.push(line);
    }
}

/// A container that traps TERM (echoing it, exit 3) and has a child, so top and stats show
/// two processes; "ready" in its log once the trap is set.
const TRAPPER: &str =
    "trap 'echo got TERM; exit 3' TERM; sleep 1000 & echo ready; while :; do wait; done";

/// The number of times `text` is in the container's log.
fn logged(env: &Env, name: &str, text: &str) -> usize {
    env.docker(&["logs", name]).stdout.matches(text).count()
}

/// `docker run -d` and the commands on a running container: exec (exit code, oom score,
/// user, cwd, env, a missing and a non-executable command, while paused), pause, unpause,
/// top, update (memory, memory+swap, cpus, pids: the cgroup files seen from inside, also
/// after a restart), stats, restart, stop (the trap runs), start, kill, rm. stop, kill and
/// rm are timed against runc.
fn detached_lifecycle(env: &Env) {
    let ((ta, sa, ka, ra), (tb, sb, kb, rb)) = compare::both(|rt| {
        let name = unique(rt, "life");
        let mut t = Transcript::default();
        let opts = ["-d", "--oom-score-adj", "7"];
        let (run, id) = env.run_in(rt, &name, &opts, &["sh", "-c", TRAPPER]);
        t.note(format!(
            "run -d: exit {}, prints the id: {}",
            run.code,
            run.stdout.trim() == id
        ));
        wait_until(&format!("{name} ready"), || {
            logged(env, &name, "ready") == 1
        });
        let mut step = |what: &str, args: &[&str]| -> Out {
            let out = env.docker(args);
            let shown = Out {
                stdout: comparable(what, &out.stdout),
                ..out.clone()
            };
            t.step(what, &shown, &name, &id);
            out
        };
        step("exec", &["exec", &name, "sh", "-c", "echo in exec; exit 5"]);
        // The container's, not the shim's (containerd's + 1).
        step(
            "exec oom_score_adj",
            &["exec", &name, "cat", "/proc/self/oom_score_adj"],
        );
        step(
            "exec -u -w -e",
            &[
                "exec",
                "-u",
                "1000",
                "-w",
                "/tmp",
                "-e",
                "X=y",
                &name,
                "sh",
                "-c",
                "id; pwd; echo $X",
            ],
        );
        let missing = step("exec nosuch", &["exec", &name, "nosuch"]);
        let noexec = step("exec /etc/passwd", &["exec", &name, "/etc/passwd"]);
        step("pause", &["pause", &name]);
        step(
            "ps while paused",
            &[
                "ps",
                "--filter",
                &format!("name={name}"),
                "--format",
                "{{.Status}}",
            ],
        );
        let paused = step("exec while paused", &["exec", &name, "true"]);
        step("unpause", &["unpause", &name]);
        step("top", &["top", &name, "-o", "pid,comm"]);
        step(
            "update",
            &[
                "update",
                "--memory",
                "64m",
                "--memory-swap",
                "128m",
                "--cpus",
                "0.5",
                "--pids-limit",
                "50",
                &name,
            ],
        );
        let limits = "cd /sys/fs/cgroup; cat memory/memory.limit_in_bytes memory/memory.memsw.limit_in_bytes \
                      cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us pids/pids.max";
        step("limits after update", &["exec", &name, "sh", "-c", limits]);
        // stats waits for two samples (~2 s): once, after update, where the memory limit is
        // the new one; the memory in use varies, only the limit after the '/' is compared.
        step(
            "stats after update",
            &[
                "stats",
                "--no-stream",
                "--format",
                "{{.Name}} {{.PIDs}} {{index (split .MemUsage \" / \") 1}}",
                &name,
            ],
        );
        step("restart", &["restart", "-t", "10", &name]);
        wait_until(&format!("{name} ready again"), || {
            logged(env, &name, "ready") == 2
        });
        step("limits after restart", &["exec", &name, "sh", "-c", limits]);
        let stop = step("stop", &["stop", "-t", "10", &name]);
        step("logs", &["logs", &name]);
        step(
            "exit code",
            &[
                "inspect",
                "-f",
                "{{.State.ExitCode}} {{.RestartCount}}",
                &name,
            ],
        );
        step("start", &["start", &name]);
        wait_until(&format!("{name} ready a third time"), || {
            logged(env, &name, "ready") == 3
        });
        let kill = step("kill", &["kill", &name]);
        wait_until(&format!("{name} killed"), || {
            env.docker(&["inspect", "-f", "{{.State.Running}}", &name])
                .stdout
                .trim()
                == "false"
        });
        step(
            "exit code after kill",
            &["inspect", "-f", "{{.State.ExitCode}}", &name],
        );
        let rm = step("rm", &["rm", &name]);
        // The runtime's words docker shows for an exec that cannot start; docker's own
        // for the paused one.
        t.note(format!(
            "exec nosuch: not found {}; exec /etc/passwd: permission denied {}",
            missing
                .stdout
                .contains("executable file not found in $PATH"),
            noexec.stdout.contains("permission denied")
        ));
        t.note(paused.stderr.replace(&name, "<name>"));
        env.assert_clean(rt, &name, &id);
        (t, stop, kill, rm)
    });
    assert_eq!(ta, tb, "docker lifecycle: runc (left) vs berth (right)");
    compare::assert_not_slower("docker stop", &sa, &sb);
    compare::assert_not_slower("docker kill", &ka, &kb);
    compare::assert_not_slower("docker rm", &ra, &rb);
}

/// What of a step's stdout is compared: docker prints an exec's start error on stdout, in
/// the runtime's words, compared from Go's `exec: "…": …` on (runc 1.1 puts
/// `exec failed: unable to start container process: ` before it, berth does not); top's pids
/// vary from run to run.
fn comparable(what: &str, stdout: &str) -> String {
    match what {
        "top" => stdout
            .lines()
            .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join("\n"),
        // "Up 1 second (Paused)", "Up Less than a second (Paused)": how long it has been up
        // is not the runtime's; what is in parentheses is.
        "ps while paused" => stdout
            .split_once('(')
            .map_or(stdout.to_string(), |(_, status)| format!("({status}")),
        "exec nosuch" | "exec /etc/passwd" => stdout
            .find("exec: \"")
            .map_or(stdout, |i| &stdout[i..])
            .to_string(),
        _ => stdout.to_string(),
    }
}

/// `docker run -it` in a terminal (`script`): the tty, its ONLCR (the user sees "\r\n", as
/// the pty runc hands to the shim has it), input, and the exit code.
fn run_interactive_tty(env: &Env) {
    let (a, b) = compare::both(|rt| {
        let name = unique(rt, "tty");
        let cidfile = env.cids.join(&name);
        let line = format!(
            "{DOCKER} --host unix://{} run --rm -it --network none --runtime {} --name {name} \
             --cidfile {} {IMAGE} sh -c 'tty; stty -a 2>/dev/null | grep -o .onlcr; echo done; exit 7'",
            env.socket.display(),
            rt.name,
            cidfile.display()
        );
        let out = crate::run::in_script(&line);
        let id = fs::read_to_string(&cidfile).unwrap_or_default();
        let _ = fs::remove_file(&cidfile);
        assert!(!id.is_empty(), "docker run -it: no cidfile");
        env.assert_clean(rt, &name, id.trim());
        out
    });
    compare::assert_same_tty("docker run -it", &a, &b, 7);
}

/// `docker exec -it` in a terminal (`script`) on a running container: the exec's own tty
/// with ONLCR as runc leaves it, and its exit code; then `rm -f` of the running container,
/// timed against runc.
fn exec_interactive_tty(env: &Env) {
    let (a, b) = compare::both(|rt| {
        let name = unique(rt, "exectty");
        let (run, id) = env.run_in(rt, &name, &["-d"], &["sleep", "1000"]);
        run.ok("docker run -d");
        let line = format!(
            "{DOCKER} --host unix://{} exec -it {name} \
             sh -c 'tty; stty -a 2>/dev/null | grep -o .onlcr; echo done; exit 4'",
            env.socket.display(),
        );
        let out = crate::run::in_script(&line);
        let rm = env.docker(&["rm", "-f", &name]);
        rm.ok("docker rm -f");
        env.assert_clean(rt, &name, &id);
        (out, rm)
    });
    compare::assert_not_slower("docker rm -f of a running container", &a.1, &b.1);
    let (a, b) = (a.0, b.0);
    compare::assert_same_tty("docker exec -it", &a, &b, 4);
}

/// `--stop-signal SIGRTMIN+3`: `docker stop` sends it, the container's trap sees it and
/// exits 0 at once (not after the 10 s timeout and a SIGKILL).
fn stop_signal_rtmin3(env: &Env) {
    let (a, b) = compare::both(|rt| {
        let name = unique(rt, "stopsig");
        // 37 is SIGRTMIN+3 (glibc's SIGRTMIN is 34); busybox sh names no real-time signals.
        let script = "trap 'echo got RTMIN+3; exit 0' 37; trap 'echo got TERM; exit 9' TERM; \
                      echo ready; while :; do sleep 0.1; done";
        let (run, id) = env.run_in(
            rt,
            &name,
            &["-d", "--stop-signal", "SIGRTMIN+3"],
            &["sh", "-c", script],
        );
        run.ok("docker run -d --stop-signal");
        wait_until(&format!("{name} ready"), || {
            logged(env, &name, "ready") == 1
        });
        let stop = env.docker(&["stop", "-t", "10", &name]);
        let mut t = Transcript::default();
        t.step("stop", &stop, &name, &id);
        t.step("logs", &env.docker(&["logs", &name]), &name, &id);
        t.step(
            "exit code",
            &env.docker(&["inspect", "-f", "{{.State.ExitCode}}", &name]),
            &name,
            &id,
        );
        let rm = env.docker(&["rm", &name]);
        t.step("rm", &rm, &name, &id);
        env.assert_clean(rt, &name, &id);
        (t, stop, rm)
    });
    assert_eq!(
        a.0, b.0,
        "docker --stop-signal SIGRTMIN+3: runc (left) vs berth (right)"
    );
    assert!(
        a.0 .0[1].contains("got RTMIN+3") && a.0 .0[2].contains("exit 0\n0"),
        "runc: the trap did not see SIGRTMIN+3: {:?}",
        a.0
    );
    compare::assert_not_slower("docker stop (SIGRTMIN+3)", &a.1, &b.1);
    compare::assert_not_slower("docker rm", &a.2, &b.2);
}

/// A container over its memory limit is OOM-killed (137, docker's OOMKilled, which it reads
/// from the container's cgroup); one that ignores SIGTERM (sh as pid 1 without a trap) is
/// killed when `stop -t 1` runs out, in about a second (timed against runc).
fn oom_and_stop_timeout(env: &Env) {
    let ((ta, sa), (tb, sb)) = compare::both(|rt| {
        let mut t = Transcript::default();
        let name = unique(rt, "oom");
        let (run, id) = env.run_in(
            rt,
            &name,
            &["--memory", "16m", "--memory-swap", "16m"],
            &["sh", "-c", "x=a; while :; do x=$x$x; done"],
        );
        t.step("run over the limit", &run, &name, &id);
        let state = env.docker(&[
            "inspect",
            "-f",
            "{{.State.OOMKilled}} {{.State.ExitCode}}",
            &name,
        ]);
        t.step("oom killed", &state, &name, &id);
        t.step("rm", &env.docker(&["rm", &name]), &name, &id);
        env.assert_clean(rt, &name, &id);
        let name = unique(rt, "stoptimeout");
        let (run, id) = env.run_in(rt, &name, &["-d"], &["sh", "-c", "echo ready; sleep 1000"]);
        run.ok("docker run -d");
        wait_until(&format!("{name} ready"), || {
            logged(env, &name, "ready") == 1
        });
        let stop = env.docker(&["stop", "-t", "1", &name]);
        t.step("stop -t 1", &stop, &name, &id);
        let code = env.docker(&["inspect", "-f", "{{.State.ExitCode}}", &name]);
        t.step("exit code", &code, &name, &id);
        t.step("rm", &env.docker(&["rm", &name]), &name, &id);
        env.assert_clean(rt, &name, &id);
        (t, stop)
    });
    assert_eq!(
        ta, tb,
        "docker OOM and stop timeout: runc (left) vs berth (right)"
    );
    assert!(ta.0[1].ends_with("\ntrue 137"), "runc: {ta:?}");
    compare::assert_not_slower("docker stop -t 1 (SIGKILL after the timeout)", &sa, &sb);
}

/// kill, stop and rm -f of a paused container (its cgroup frozen): each ends it as with runc
/// (137, no longer paused), no slower.
fn paused_kill_stop_rm(env: &Env) {
    let (a, b) = compare::both(|rt| {
        let mut t = Transcript::default();
        let mut outs = Vec::new();
        for (what, args) in [
            ("kill", &["kill"][..]),
            ("stop -t 1", &["stop", "-t", "1"]),
            ("rm -f", &["rm", "-f"]),
        ] {
            let name = unique(rt, "paused");
            let (run, id) = env.run_in(rt, &name, &["-d"], &["sleep", "1000"]);
            run.ok("docker run -d");
            env.docker(&["pause", &name]).ok("docker pause");
            let mut all = args.to_vec();
            all.push(&name);
            let out = env.docker(&all);
            t.step(what, &out, &name, &id);
            if what != "rm -f" {
                let state = env.docker(&[
                    "inspect",
                    "-f",
                    "{{.State.Status}} {{.State.ExitCode}} {{.State.Paused}}",
                    &name,
                ]);
                t.step("state", &state, &name, &id);
                env.docker(&["rm", &name]).ok("docker rm");
            }
            env.assert_clean(rt, &name, &id);
            outs.push(out);
        }
        (t, outs)
    });
    assert_eq!(
        a.0, b.0,
        "docker on paused containers: runc (left) vs berth (right)"
    );
    assert!(a.0 .0[1].ends_with("exited 137 false"), "runc: {:?}", a.0);
    for (i, what) in ["kill", "stop -t 1", "rm -f"].iter().enumerate() {
        compare::assert_not_slower(
            &format!("docker {what} of a paused container"),
            &a.1[i],
            &b.1[i],
        );
    }
}

/// `--pid host`: `docker stop` ends the container and the shim's `kill --all` the processes
/// it left (they share the host's pid namespace); nothing of it remains. Timed against runc.
fn pid_host_stop(env: &Env) {
    let ((ta, sa), (tb, sb)) = compare::both(|rt| {
        let mut t = Transcript::default();
        let name = unique(rt, "pidhost");
        let script = "sleep 1001 & sleep 1002 & trap 'exit 0' TERM; echo ready; \
                      while :; do sleep 0.1; done";
        let (run, id) = env.run_in(rt, &name, &["-d", "--pid", "host"], &["sh", "-c", script]);
        run.ok("docker run -d --pid host");
        wait_until(&format!("{name} ready"), || {
            logged(env, &name, "ready") == 1
        });
        let stop = env.docker(&["stop", &name]);
        t.step("stop", &stop, &name, &id);
        let code = env.docker(&["inspect", "-f", "{{.State.ExitCode}}", &name]);
        t.step("exit code", &code, &name, &id);
        t.step("rm", &env.docker(&["rm", &name]), &name, &id);
        // The sleeps, in the container's cgroup, count as its leftovers.
        env.assert_clean(rt, &name, &id);
        (t, stop)
    });
    assert_eq!(ta, tb, "docker --pid host: runc (left) vs berth (right)");
    compare::assert_not_slower("docker stop (--pid host)", &sa, &sb);
}

/// `docker run --rm` with `opts` running `script` under both runtimes: same exit code and
/// stdout; returns runc's.
fn same_run(env: &Env, what: &str, opts: &[&str], script: &str) -> Out {
    let (a, b) = compare::both(|rt| {
        let name = unique(rt, what);
        let mut all = vec!["--rm"];
        all.extend_from_slice(opts);
        let (out, id) = env.run_in(rt, &name, &all, &["sh", "-c", script]);
        env.assert_clean(rt, &name, &id);
        out
    });
    compare::assert_same(&format!("docker run {opts:?} {script:?}"), &a, &b);
    a
}

/// `--read-only`: the root and /tmp refuse writes; /dev/shm and /dev stay writable.
fn read_only(env: &Env) {
    let out = same_run(
        env,
        "ro",
        &["--read-only"],
        "touch /x; echo root=$?; touch /tmp/x; echo tmp=$?; touch /dev/shm/x; echo shm=$?; \
         grep -c '^overlay / overlay ro,' /proc/mounts",
    );
    assert_eq!(out.stdout, "root=1\ntmp=1\nshm=0\n1\n", "runc: {out:?}");
}

/// The cgroup mount docker asks for (`/sys/fs/cgroup`, ro), with the host's cgroup
/// namespace and a private one: on a v1 or hybrid host the v1 hierarchies only, read-only
/// (their mounts' sources as runc names them), in a tmpfs that stays writable, as runc
/// makes it.
fn cgroup_mount(env: &Env) {
    let v2 = nix::sys::statfs::statfs("/sys/fs/cgroup")
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC);
    // On a pure v2 host: the container's own cgroup2, read-only, and no tmpfs.
    let want = if v2 {
        "\nmemory refused\n"
    } else {
        "\ntmpfs writable\nmemory refused\n"
    };
    for cgroupns in ["host", "private"] {
        let out = same_run(
            env,
            "cgmount",
            &["--cgroupns", cgroupns],
            "ls /sys/fs/cgroup; \
             awk '$5 ~ \"^/sys/fs/cgroup/\" {for (i = 7; $i != \"-\"; i++) {}; print $5, $(i + 2)}' \
                 /proc/self/mountinfo; \
             mkdir /sys/fs/cgroup/made && echo tmpfs writable; \
             mkdir /sys/fs/cgroup/memory/made 2>/dev/null || echo memory refused",
        );
        assert!(
            out.stdout.ends_with(want),
            "runc, cgroupns {cgroupns}: {out:?}"
        );
    }
}

/// Without -i the container's stdin is /dev/null, which runc's init reopens read-write in
/// the container: writing to fd 0 works.
fn stdin_without_i(env: &Env) {
    let out = same_run(
        env,
        "stdin",
        &[],
        "ls -l /proc/self/fd/0 | cut -c1-10; echo x >&0 && echo wrote",
    );
    assert_eq!(out.stdout, "lrwx------\nwrote\n", "runc: {out:?}");
}

/// `--cap-drop ALL`: no capability in any set; chown of another's file is refused.
fn cap_drop_all(env: &Env) {
    let out = same_run(
        env,
        "capdrop",
        &["--cap-drop", "ALL"],
        "grep ^Cap /proc/self/status; touch /tmp/a; chown 1000 /tmp/a; echo chown=$?; \
         chown 1000 /etc/passwd; echo chown-etc=$?",
    );
    assert!(
        out.stdout.contains("CapBnd:\t0000000000000000") && out.stdout.contains("chown-etc=1"),
        "runc: {out:?}"
    );
}

/// The default seccomp profile refuses unshare(CLONE_NEWUSER) (it needs CAP_SYS_ADMIN
/// there); `seccomp=unconfined` allows it.
fn seccomp_default_and_unconfined(env: &Env) {
    let script = "unshare -U true 2>/dev/null; echo unshare=$?; grep '^Seccomp:' /proc/self/status";
    let default = same_run(env, "seccomp", &[], script);
    assert_eq!(
        default.stdout, "unshare=1\nSeccomp:\t2\n",
        "runc: {default:?}"
    );
    let unconfined = same_run(
        env,
        "unconfined",
        &["--security-opt", "seccomp=unconfined"],
        script,
    );
    assert_eq!(
        unconfined.stdout, "unshare=0\nSeccomp:\t0\n",
        "runc: {unconfined:?}"
    );
}

/// `--init`: docker-init (tini) is pid 1, the command its child; the command's exit code
/// comes back through it. (Pids are not compared: runc's Go init threads take pids in the
/// container's namespace before the command runs, berth's init has no threads.)
fn init(env: &Env) {
    let out = same_run(
        env,
        "init",
        &["--init"],
        "cat /proc/1/comm; ps -o comm; cat /proc/$PPID/comm; exit 5",
    );
    assert_eq!(out.code, 5, "runc: {out:?}");
    assert!(out.stdout.starts_with("docker-init\n"), "runc: {out:?}");
}

pub const SCENARIOS: &[Scenario<Env>] = &[
    ("run_exit_codes", run_exit_codes),
    ("detached_lifecycle", detached_lifecycle),
    ("run_interactive_tty", run_interactive_tty),
    ("exec_interactive_tty", exec_interactive_tty),
    ("stop_signal_rtmin3", stop_signal_rtmin3),
    ("oom_and_stop_timeout", oom_and_stop_timeout),
    ("paused_kill_stop_rm", paused_kill_stop_rm),
    ("pid_host_stop", pid_host_stop),
    ("read_only", read_only),
    ("cgroup_mount", cgroup_mount),
    ("stdin_without_i", stdin_without_i),
    ("cap_drop_all", cap_drop_all),
    (
        "seccomp_default_and_unconfined",
        seccomp_default_and_unconfined,
    ),
    ("init", init),
];
