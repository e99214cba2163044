//! podman's lifecycle commands with each runtime: run and its exit codes, -d, stop, kill, rm,
//! restart, a terminal, exec, pause, stats, top, logs.

use super::{unique, Env, IMAGE};
use crate::compare::{self, Runtime};
use crate::run::wait_until;
use crate::run::{run, Out};
use crate::Scenario;
use std::process::Command;

/// A container that says it is ready, then runs until SIGTERM, which it answers at once (a
/// stop that waits out podman's timeout would hide a lost signal behind the SIGKILL).
const LOOP: &str = "trap 'exit 0' TERM; echo ready; while :; do sleep 0.1; done";

/// Waits until container `name` has written its `n`th "ready" line (its `n`th start): a
/// signal sent before the shell set its traps would meet the default action instead.
fn wait_ready(env: &Env, name: &str, n: usize) {
    wait_until(&format!("{name} ready ({n})"), || {
        env.podman(&["logs", name])
            .stdout
            .lines()
            .filter(|l| *l == "ready")
            .count()
            >= n
    });
}

/// `podman inspect --format` of one container.
fn inspect(env: &Env, name: &str, format: &str) -> Out {
    env.podman(&["inspect", "--format", format, name])
}

/// `out` with the container's name and id (full and short) replaced by placeholders, which
/// differ between the runtimes' runs.
fn masked(out: &Out, name: &str, id: &str) -> Out {
    let mut o = out.clone();
    for text in [&mut o.stdout, &mut o.stderr] {
        if id.len() >= 12 {
            *text = text.replace(id, "<id>").replace(&id[..12], "<id>");
        }
        *text = text.replace(name, "<name>");
    }
    o
}

/// The steps of one runtime's run, compared step by step with the other's.
type Steps = Vec<(String, Out)>;

fn assert_same_steps(runc: &Steps, berth: &Steps) {
    assert_eq!(
        runc.len(),
        berth.len(),
        "different steps: {runc:?} / {berth:?}"
    );
    for ((what, a), (_, b)) in runc.iter().zip(berth) {
        compare::assert_same(what, a, b);
    }
}

/// Starts `sh -c script` detached with `opts`; returns its id.
fn start_detached(env: &Env, rt: &Runtime, name: &str, opts: &[&str], script: &str) -> String {
    let mut args = vec!["run", "-d", "--name", name];
    args.extend_from_slice(opts);
    args.extend_from_slice(&[IMAGE, "sh", "-c", script]);
    let id = env.with(rt, &args).ok(&format!("podman run -d {name}"));
    id.trim().to_string()
}

/// `podman run --rm`: exit codes 0, 1, 42, 126, 127 and 137, and the output.
fn run_exit_codes(env: &Env) {
    for args in [
        &["sh", "-c", "echo hello; exit 0"][..],
        &["sh", "-c", "echo err >&2; exit 1"],
        &["sh", "-c", "exit 42"],
        &["/etc/passwd"],
        &["nosuch"],
        &["sh", "-c", "kill -9 $$"],
    ] {
        let (a, b) = compare::both(|rt| {
            let name = unique(rt, "run");
            let mut all = vec!["run", "--rm", "--name", &name, IMAGE];
            all.extend_from_slice(args);
            let out = env.with(rt, &all);
            env.assert_clean(rt, &name, "");
            out
        });
        compare::assert_same(&format!("podman run {args:?}"), &a, &b);
    }
}

/// `run -d`, then stop, start, kill, start, `rm -f`: what each shows, the exit codes podman
/// records (0 from the TERM trap, 137 from the SIGKILL), each as fast as with runc.
fn detached_stop_kill_rm(env: &Env) {
    let (a, b) = compare::both(|rt| {
        let name = unique(rt, "det");
        let id = start_detached(env, rt, &name, &[], LOOP);
        wait_ready(env, &name, 1);
        let mut steps = Steps::new();
        let status = env.podman(&["ps", "--no-trunc", "--format", "{{.ID}} {{.Status}}"]);
        let up = status
            .stdout
            .lines()
            .any(|l| l.starts_with(&format!("{id} Up ")));
        assert!(up, "{name} not Up in podman ps: {status:?}");
        steps.push((
            "stop -t 10".into(),
            env.podman(&["stop", "-t", "10", &name]),
        ));
        steps.push((
            "after stop".into(),
            inspect(env, &name, "{{.State.Status}} {{.State.ExitCode}}"),
        ));
        steps.push(("start".into(), env.podman(&["start", &name])));
        wait_ready(env, &name, 2);
        steps.push(("kill".into(), env.podman(&["kill", &name])));
        steps.push(("wait after kill".into(), env.podman(&["wait", &name])));
        steps.push((
            "after kill".into(),
            inspect(env, &name, "{{.State.Status}} {{.State.ExitCode}}"),
        ));
        steps.push(("start again".into(), env.podman(&["start", &name])));
        wait_ready(env, &name, 3);
        steps.push(("rm -f".into(), env.podman(&["rm", "-f", &name])));
        env.assert_clean(rt, &name, &id);
        steps
            .into_iter()
            .map(|(w, o)| (w, masked(&o, &name, &id)))
            .collect::<Steps>()
    });
    assert_same_steps(&a, &b);
    for what in ["stop -t 10", "kill", "rm -f"] {
        let find = |s: &Steps| s.iter().find(|(w, _)| w == what).unwrap().1.clone();
        compare::assert_not_slower(&format!("podman {what}"), &find(&a), &find(&b));
    }
}

/// `--stop-signal`: SIGRTMIN+3 (37, what systemd in a container wants) and SIGUSR1 reach the
/// container's trap, whose exit code podman records; SIGRTMIN+3 with no trap is ignored by a
/// pid 1, and `stop -t 1` ends in SIGKILL (137).
fn stop_signal(env: &Env) {
    for (signal, number, trap) in [
        ("SIGRTMIN+3", 37, true),
        ("SIGUSR1", 10, true),
        ("SIGRTMIN+3", 37, false),
    ] {
        let (a, b) = compare::both(|rt| {
            let name = unique(rt, "sig");
            let script = if trap {
                format!("trap 'echo got {number}; exit 3' {number}; {LOOP}")
            } else {
                LOOP.to_string()
            };
            let id = start_detached(env, rt, &name, &["--stop-signal", signal], &script);
            wait_ready(env, &name, 1);
            let timeout = if trap { "10" } else { "1" };
            let stop = env.podman(&["stop", "-t", timeout, &name]);
            let after = inspect(
                env,
                &name,
                "{{.Config.StopSignal}} {{.State.Status}} {{.State.ExitCode}}",
            );
            let logs = env.podman(&["logs", &name]);
            let rm = env.podman(&["rm", &name]);
            env.assert_clean(rt, &name, &id);
            [stop, after, logs, rm].map(|o| masked(&o, &name, &id))
        });
        let what = format!("stop with {signal} (trap {trap})");
        for (x, y) in a.iter().zip(&b) {
            compare::assert_same(&what, x, y);
        }
        compare::assert_not_slower(&what, &a[0], &b[0]);
        let expected = if trap {
            format!("{number} exited 3\n")
        } else {
            format!("{number} exited 137\n")
        };
        assert_eq!(a[1].stdout, expected, "{what}: runc's result");
    }
}

/// `run --rm -d`, then stop: the container goes away with its traces.
fn run_rm_detached_stop(env: &Env) {
    let (a, b) = compare::both(|rt| {
        let name = unique(rt, "rmd");
        let id = start_detached(env, rt, &name, &["--rm"], LOOP);
        wait_ready(env, &name, 1);
        let stop = env.podman(&["stop", "-t", "10", &name]);
        env.assert_clean(rt, &name, &id);
        let gone = inspect(env, &name, "{{.Id}}");
        [stop, gone].map(|o| masked(&o, &name, &id))
    });
    compare::assert_same("stop of a --rm container", &a[0], &b[0]);
    compare::assert_same_code("inspect after --rm", &a[1], &b[1]);
    assert_ne!(a[1].code, 0, "runc's container still there: {:?}", a[1]);
    compare::assert_not_slower("podman stop (--rm)", &a[0], &b[0]);
}

/// `restart`: a new process (another pid, the log's second "ready"), running again.
fn restart(env: &Env) {
    let (a, b) = compare::both(|rt| {
        let name = unique(rt, "rst");
        let id = start_detached(env, rt, &name, &[], LOOP);
        wait_ready(env, &name, 1);
        let pid = inspect(env, &name, "{{.State.Pid}}").ok("inspect pid");
        let restart = env.podman(&["restart", "-t", "10", &name]);
        wait_ready(env, &name, 2);
        let pid2 = inspect(env, &name, "{{.State.Pid}}").ok("inspect pid");
        assert_ne!(pid, pid2, "{}: restart kept the process", rt.name);
        let state = inspect(env, &name, "{{.State.Status}} {{.State.Running}}");
        let logs = env.podman(&["logs", &name]);
        let rm = env.podman(&["rm", "-f", "-t", "0", &name]);
        env.assert_clean(rt, &name, &id);
        [restart, state, logs, rm].map(|o| masked(&o, &name, &id))
    });
    for (x, y) in a.iter().zip(&b) {
        compare::assert_same("restart", x, y);
    }
    assert_eq!(a[1].stdout, "running true\n", "runc's state after restart");
    compare::assert_not_slower("podman restart", &a[0], &b[0]);
}

/// `create`, `init` (the runtime's create: the container waits in its init), `start`; and an
/// initialized container stopped or removed before it starts, which signals that init.
fn create_init_start(env: &Env) {
    let (a, b) = compare::both(|rt| {
        let name = unique(rt, "init");
        let status = |name: &str| inspect(env, name, "{{.State.Status}} {{.State.ExitCode}}");
        let mut steps = Steps::new();
        let mut args = vec!["create", "--name", &name, IMAGE, "sh", "-c", LOOP];
        let id = env.with(rt, &args).ok("podman create").trim().to_string();
        steps.push(("created".into(), status(&name)));
        steps.push(("init".into(), env.podman(&["init", &name])));
        steps.push(("initialized".into(), status(&name)));
        steps.push(("start".into(), env.podman(&["start", &name])));
        wait_ready(env, &name, 1);
        steps.push(("started".into(), status(&name)));
        steps.push(("rm -f".into(), env.podman(&["rm", "-f", &name])));
        env.assert_clean(rt, &name, &id);
        let mut steps: Steps = steps
            .into_iter()
            .map(|(w, o)| (w, masked(&o, &name, &id)))
            .collect();

        // Stopped while initialized: the stop signal reaches the runtime's waiting init.
        let name = unique(rt, "init");
        args[2] = &name;
        let id = env.with(rt, &args).ok("podman create").trim().to_string();
        env.podman(&["init", &name]).ok("podman init");
        let stop = env.podman(&["stop", "-t", "10", &name]);
        let after = status(&name);
        let init_again = env.podman(&["init", &name]);
        let rm = env.podman(&["rm", "-f", &name]);
        env.assert_clean(rt, &name, &id);
        for (w, o) in [
            ("stop when initialized", stop),
            ("after stop when initialized", after),
            ("init again", init_again),
            ("rm -f when initialized", rm),
        ] {
            steps.push((w.into(), masked(&o, &name, &id)));
        }
        steps
    });
    // runc 1.1.5's init, a Go program, exits 2 on SIGTERM (Go's runtime cannot kill a pid 1
    // with the signal); runc 1.5 and berth exit 143, as if by the signal.
    let after = |s: &Steps| s[7].1.stdout.clone();
    assert_eq!(
        (after(&a).as_str(), after(&b).as_str()),
        ("exited 2\n", "exited 143\n"),
        "the exit code of an initialized container stopped"
    );
    let without_code = |s: &Steps| {
        let mut s = s.clone();
        s.remove(7);
        s
    };
    assert_same_steps(&without_code(&a), &without_code(&b));
    for (i, expected) in [
        (0, "created 0\n"),
        (2, "initialized 0\n"),
        (4, "running 0\n"),
    ] {
        assert_eq!(a[i].1.stdout, expected, "runc's {}", a[i].0);
    }
    for i in [5, 6, 9] {
        compare::assert_not_slower(&a[i].0, &a[i].1, &b[i].1);
    }
}

/// Single-quotes `arg` for a POSIX shell.
fn quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}

/// podman with `args` run by `script` on a new pty sized `rows` x `cols` (set with stty before
/// podman starts, as a user's terminal would be): what the terminal showed, without its
/// carriage returns and the `^@` its echo shows for the EOF `script` passes on when its own
/// input (/dev/null) ends, wherever that lands.
fn on_terminal(env: &Env, rt: &Runtime, rows: u16, cols: u16, args: &[&str]) -> Out {
    let podman = env.cmd();
    let mut words = vec![podman.get_program().to_string_lossy().into_owned()];
    words.extend(podman.get_args().map(|a| a.to_string_lossy().into_owned()));
    words.extend(["--runtime", rt.name].map(String::from));
    words.extend(args.iter().map(|a| a.to_string()));
    let line = format!(
        "stty rows {rows} cols {cols} && exec {}",
        words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
    );
    let mut script = Command::new("script");
    for (k, v) in podman.get_envs() {
        if let Some(v) = v {
            script.env(k, v);
        }
    }
    script
        .env("SHELL", "/bin/sh")
        .args(["-qec", &line, "/dev/null"]);
    let mut out = run(&mut script);
    out.stdout = out.stdout.replace(['\r', '\0'], "").replace("^@", "");
    out
}

/// `run -it` on a terminal: the container's stdin is a tty of the user's size, and its exit
/// code is podman's. The container lingers a moment before it exits: podman 4.3 loses a
/// terminal's output now and then when the container exits right after writing it (with
/// runc as with berth, about one run in fifteen; containers/podman#9859 is of that family).
fn run_tty(env: &Env) {
    let (a, b) = compare::both(|rt| {
        let name = unique(rt, "tty");
        let out = on_terminal(
            env,
            rt,
            33,
            101,
            &[
                "run",
                "-it",
                "--rm",
                "--name",
                &name,
                IMAGE,
                "sh",
                "-c",
                "stty size; tty; test -t 0 && echo stdin-tty; sleep 0.3; exit 7",
            ],
        );
        env.assert_clean(rt, &name, "");
        out
    });
    compare::assert_same("podman run -it", &a, &b);
    assert_eq!(
        (a.code, a.stdout.as_str()),
        (7, "33 101\n/dev/pts/0\nstdin-tty\n"),
        "runc's run -it"
    );
}

/// podman 4.3 gives an exec'd process no consoleSize: its terminal is sized by a resize
/// podman sends through conmon, which races the process (about one `exec -it stty size` in
/// six saw 0 rows with berth, whose exec is quicker; none in 25 with runc). The process
/// waits (bounded) for the size.
const SIZED_EXEC: &str = "i=0; until stty size >/dev/null 2>&1 || [ $i -ge 100 ]; \
                          do sleep 0.05; i=$((i+1)); done; stty size; tty; sleep 0.3; exit 5";

/// `exec` into a running container: its environment, user, directory and exit codes, the
/// words podman shows for a missing (127) and a non-executable (126) command, a directory
/// and a device among them (berth said "is a directory" and "not a regular file" of those,
/// which podman shows as exit code 255), and `-it`.
fn exec(env: &Env) {
    // (exec's options, the command)
    let cases: &[(&[&str], &[&str])] = &[
        (&[], &["sh", "-c", "id; pwd; echo \"[$FOO]\"; exit 0"]),
        (
            &["-u", "tester", "-w", "/tmp", "-e", "FOO=bar"],
            &["sh", "-c", "id; pwd; echo \"[$FOO]\""],
        ),
        (&["-u", "1000:1000"], &["id"]),
        (&[], &["sh", "-c", "exit 42"]),
        (&[], &["nosuch"]),
        (&[], &["/etc/passwd"]),
        (&["-w", "/nonexistent"], &["pwd"]),
        (&[], &["/tmp"]),
        (&[], &["/dev/null"]),
    ];
    let (a, b) = compare::both(|rt| {
        let name = unique(rt, "exec");
        let id = start_detached(env, rt, &name, &[], LOOP);
        wait_ready(env, &name, 1);
        let mut steps = Steps::new();
        for (opts, cmd) in cases {
            let mut args = vec!["exec"];
            args.extend_from_slice(opts);
            args.push(&name);
            args.extend_from_slice(cmd);
            steps.push((format!("exec {opts:?} {cmd:?}"), env.podman(&args)));
        }
        let tty = on_terminal(
            env,
            rt,
            21,
            77,
            &["exec", "-it", &name, "sh", "-c", SIZED_EXEC],
        );
        steps.push(("exec -it".into(), tty));
        let rm = env.podman(&["rm", "-f", "-t", "0", &name]);
        steps.push(("rm -f -t 0".into(), rm));
        env.assert_clean(rt, &name, &id);
        steps
            .into_iter()
            .map(|(w, o)| (w, masked(&o, &name, &id)))
            .collect::<Steps>()
    });
    assert_same_steps(&a, &b);
    let codes: Vec<i32> = a.iter().map(|(_, o)| o.code).collect();
    assert_eq!(
        codes,
        [0, 0, 0, 42, 127, 126, 127, 126, 126, 5, 0],
        "runc's exit codes"
    );
    for (i, words) in [
        (4, "executable file not found in $PATH"),
        (5, "permission denied"),
        (6, "no such file or directory"),
        (7, "permission denied"),
        (8, "permission denied"),
    ] {
        for (rt, steps) in [("runc", &a), ("berth", &b)] {
            let (what, out) = &steps[i];
            assert!(
                out.stderr.contains(words),
                "{what} with {rt}: podman shows no {words:?}: {}",
                out.stderr
            );
        }
    }
    assert_eq!(a[9].1.stdout, "21 77\n/dev/pts/0\n", "runc's exec -it");
}

pub const SCENARIOS: &[Scenario<Env>] = &[
    ("run_exit_codes", run_exit_codes),
    ("detached_stop_kill_rm", detached_stop_kill_rm),
    ("stop_signal", stop_signal),
    ("run_rm_detached_stop", run_rm_detached_stop),
    ("restart", restart),
    ("create_init_start", create_init_start),
    ("run_tty", run_tty),
    ("exec", exec),
    ("pause_unpause", pause_unpause),
    ("stats", stats),
    ("top", top),
    ("logs", logs),
];

/// The freezer state of container `id` as the host sees it (podman's cgroupfs parent).
fn freezer_state(id: &str) -> String {
    let path = format!("/sys/fs/cgroup/freezer/libpod_parent/libpod-{id}/freezer.state");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| format!("{path}: {e}"))
        .trim()
        .to_string()
}

/// `pause` / `unpause`: the status podman shows (Paused, then Up again), the cgroup frozen
/// and thawed on the host, the errors of a second pause or unpause, and a paused container
/// killed (137) and removed as fast as with runc.
fn pause_unpause(env: &Env) {
    let (a, b) = compare::both(|rt| {
        let name = unique(rt, "pause");
        let id = start_detached(env, rt, &name, &[], LOOP);
        wait_ready(env, &name, 1);
        let status = || {
            let mut o = env.podman(&["ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Status}}"]);
            o.stdout = o
                .stdout
                .lines()
                .filter_map(|l| l.strip_prefix(&format!("{id} ")))
                .map(|s| s.split_whitespace().next().unwrap_or("").to_string() + "\n")
                .collect();
            o
        };
        let mut steps = Steps::new();
        steps.push(("pause".into(), env.podman(&["pause", &name])));
        steps.push(("ps when paused".into(), status()));
        steps.push((
            "inspect when paused".into(),
            inspect(env, &name, "{{.State.Status}} {{.State.Paused}}"),
        ));
        let frozen = freezer_state(&id);
        steps.push(("pause again".into(), env.podman(&["pause", &name])));
        steps.push((
            "exec when paused".into(),
            env.podman(&["exec", &name, "true"]),
        ));
        steps.push(("unpause".into(), env.podman(&["unpause", &name])));
        steps.push(("ps when unpaused".into(), status()));
        steps.push((
            "inspect when unpaused".into(),
            inspect(env, &name, "{{.State.Status}} {{.State.Paused}}"),
        ));
        let thawed = freezer_state(&id);
        steps.push(("unpause again".into(), env.podman(&["unpause", &name])));
        steps.push((
            "exec when unpaused".into(),
            env.podman(&["exec", &name, "echo", "hi"]),
        ));
        // A paused container killed, started again, paused and removed: the runtime's kill
        // and delete --force of a frozen cgroup.
        env.podman(&["pause", &name]).ok("podman pause");
        steps.push(("kill when paused".into(), env.podman(&["kill", &name])));
        steps.push(("wait after kill".into(), env.podman(&["wait", &name])));
        env.podman(&["start", &name]).ok("podman start");
        wait_ready(env, &name, 2);
        env.podman(&["pause", &name]).ok("podman pause");
        steps.push(("rm -f when paused".into(), env.podman(&["rm", "-f", &name])));
        env.assert_clean(rt, &name, &id);
        assert_eq!(
            (frozen.as_str(), thawed.as_str()),
            ("FROZEN", "THAWED"),
            "{}: the container's freezer cgroup",
            rt.name
        );
        steps
            .into_iter()
            .map(|(w, o)| (w, masked(&o, &name, &id)))
            .collect::<Steps>()
    });
    assert_same_steps(&a, &b);
    for (i, expected) in [
        (1, "Paused\n"),
        (2, "paused true\n"),
        (6, "Up\n"),
        (7, "running false\n"),
        (11, "137\n"),
    ] {
        assert_eq!(a[i].1.stdout, expected, "runc's {}", a[i].0);
    }
    for i in [10, 12] {
        compare::assert_not_slower(&a[i].0, &a[i].1, &b[i].1);
    }
    for (what, out) in a.iter().chain(&b).filter(|(w, _)| w.ends_with("again")) {
        assert!(
            out.stderr.contains("container state improper"),
            "{what}: podman shows no \"container state improper\": {}",
            out.stderr
        );
    }
}

/// `stats --no-stream`: the same fields with each runtime, the memory usage and the pid
/// count not zero (podman reads them from the cgroups the runtime made).
fn stats(env: &Env) {
    let (a, b) = compare::both(|rt| {
        let name = unique(rt, "stats");
        let id = start_detached(env, rt, &name, &[], LOOP);
        wait_ready(env, &name, 1);
        let json = env.podman(&["stats", "--no-stream", "--format", "json", &name]);
        let table = env.podman(&["stats", "--no-stream", &name]);
        env.podman(&["rm", "-f", &name]).ok("podman rm -f");
        env.assert_clean(rt, &name, &id);
        let parsed: serde_json::Value = serde_json::from_str(&json.ok("podman stats json"))
            .unwrap_or_else(|e| panic!("{}: stats json: {e}: {json:?}", rt.name));
        let entry = parsed[0].as_object().cloned().unwrap_or_default();
        assert_eq!(
            entry.get("name").and_then(|v| v.as_str()),
            Some(name.as_str())
        );
        let field = |k: &str| {
            entry
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let mem = field("mem_usage");
        let used = mem.split(" / ").next().unwrap_or("");
        assert!(
            !used.is_empty() && !used.starts_with("0B") && used != "0",
            "{}: memory usage {mem:?}",
            rt.name
        );
        let pids: u32 = field("pids").parse().unwrap_or(0);
        assert!(pids >= 1, "{}: pids {:?}", rt.name, field("pids"));
        // Columns are as wide as the longest name: compare the words.
        let header = table.stdout.lines().next().unwrap_or("");
        let header = header.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut keys: Vec<String> = entry.keys().cloned().collect();
        keys.sort();
        (table.code, header, keys)
    });
    assert_eq!(
        a, b,
        "podman stats: runc vs berth (exit code, table header, json fields)"
    );
}

/// `top`: podman's ps of the container, by default and with chosen descriptors; pid 1 is
/// the container's shell, run by root.
fn top(env: &Env) {
    let (a, b) = compare::both(|rt| {
        let name = unique(rt, "top");
        let id = start_detached(env, rt, &name, &[], LOOP);
        wait_ready(env, &name, 1);
        let default = env.podman(&["top", &name]);
        let chosen = env.podman(&["top", &name, "pid", "user", "args"]);
        env.podman(&["rm", "-f", &name]).ok("podman rm -f");
        env.assert_clean(rt, &name, &id);
        // The loop's `sleep` comes and goes: its pid and times differ from run to run.
        let first = |o: &Out| -> (i32, Vec<String>) {
            let rows = o.stdout.lines().take(2).map(|l| {
                l.split_whitespace()
                    .enumerate()
                    .filter(|(i, _)| !(o.stdout.starts_with("USER") && matches!(*i, 3 | 4 | 6)))
                    .map(|(_, w)| w)
                    .collect::<Vec<_>>()
                    .join(" ")
            });
            (o.code, rows.collect())
        };
        (first(&default), first(&chosen))
    });
    assert_eq!(a, b, "podman top: runc vs berth (exit code, header, pid 1)");
    assert_eq!(
        a.1 .1,
        [
            "PID USER COMMAND".to_string(),
            format!("1 root sh -c {LOOP}")
        ],
        "runc's top"
    );
}

/// `logs` of an exited container: its stdout and stderr as podman shows them, all and the
/// last line, and the output of the attached run itself.
fn logs(env: &Env) {
    let (a, b) = compare::both(|rt| {
        let name = unique(rt, "logs");
        let run = env.with(
            rt,
            &[
                "run",
                "--name",
                &name,
                IMAGE,
                "sh",
                "-c",
                "echo out1; echo err1 >&2; echo out2; exit 3",
            ],
        );
        let id = env.id(&name);
        let all = env.podman(&["logs", &name]);
        let tail = env.podman(&["logs", "--tail", "1", &name]);
        let rm = env.podman(&["rm", &name]);
        env.assert_clean(rt, &name, &id);
        [run, all, tail, rm].map(|o| masked(&o, &name, &id))
    });
    for (what, x, y) in [("run", &a[0], &b[0]), ("logs", &a[1], &b[1])] {
        compare::assert_same(what, x, y);
        assert_eq!(x.stderr, y.stderr, "{what}: stderr, runc vs berth");
    }
    compare::assert_same("logs --tail 1", &a[2], &b[2]);
    compare::assert_same("rm", &a[3], &b[3]);
    assert_eq!(
        (a[1].stdout.as_str(), a[1].stderr.as_str()),
        ("out1\nout2\n", "err1\n"),
        "runc's logs"
    );
}
