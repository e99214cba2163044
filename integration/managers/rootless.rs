//! Rootless podman: an unprivileged user this run creates (with /etc/subuid and /etc/subgid
//! ranges), podman run as that user through `runuser` with its own XDG_RUNTIME_DIR, HOME,
//! containers.conf (runc and berth named as runtimes, cgroupfs, no network, the file events
//! logger) and a vfs store under its home. The runtimes run as root of podman's user
//! namespace and keep their state in their default roots under the user's XDG_RUNTIME_DIR.
//! On this cgroup v1 host a rootless container gets no cgroup: podman drops its limits with
//! a warning, and what needs a cgroup fails with podman's own error, the same whichever
//! runtime it drives.

use crate::compare::{self, Runtime};
use crate::run::{run, Out};
use crate::{leaks, Scenario, Shared};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The image's name in the user's store.
const IMAGE: &str = "localhost/berth-test/busybox:latest";

/// A container that ends at once on SIGTERM (podman stop's signal).
const TERM_EXITS: &str = "trap 'exit 0' TERM; while :; do sleep 0.1; done";

/// The subordinate id files, each with the range the user got (useradd gives one).
const SUBID_FILES: [&str; 2] = ["/etc/subuid", "/etc/subgid"];

pub struct Env {
    user: String,
    uid: u32,
    /// The user's subordinate uid range (start, count): its containers' other ids.
    subuids: (u32, u32),
    dir: PathBuf,
    home: PathBuf,
    /// The user's XDG_RUNTIME_DIR: the runtimes' default roots and podman's runroot
    /// (`containers` in it), which must be at most 50 characters long: podman refuses a
    /// longer one, and with it the cleanup conmon runs when a container exits (`run --rm`
    /// then waits 20 s and cleans up itself).
    xdg: PathBuf,
    conf: PathBuf,
    storage_conf: PathBuf,
    user_added: bool,
    /// Subordinate id files this run created (absent before): removed again if left empty.
    created_files: Vec<PathBuf>,
}

fn tool(name: &str) -> bool {
    ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
        .iter()
        .any(|d| Path::new(d).join(name).exists())
}

/// The `user:start:count` range of `file` for `user`.
fn subid_range(file: &str, user: &str) -> Option<(u32, u32)> {
    let text = fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == user).then_some(())?;
        Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
    })
}

pub fn setup(shared: &Shared) -> Result<Env, String> {
    for t in [
        "runuser",
        "useradd",
        "userdel",
        "newuidmap",
        "newgidmap",
        "podman",
    ] {
        if !tool(t) {
            return Err(format!("{t} is not installed (make deps)"));
        }
    }
    let user = format!("btless{}", std::process::id());
    let dir = shared.work.join("rootless");
    let mut env = Env {
        user: user.clone(),
        uid: 0,
        subuids: (0, 0),
        home: dir.join("home"),
        xdg: shared.work.join("xdg"),
        conf: dir.join("containers.conf"),
        storage_conf: dir.join("storage.conf"),
        dir,
        user_added: false,
        created_files: Vec::new(),
    };
    fs::create_dir_all(&env.dir).unwrap();
    // useradd gives a new user subordinate ranges only where the files exist.
    for f in SUBID_FILES {
        if !Path::new(f).exists() {
            fs::write(f, "").unwrap();
            env.created_files.push(f.into());
        }
    }
    let home = env.home.to_str().unwrap().to_string();
    run(Command::new("useradd").args(["-M", "-d", &home, "-s", "/bin/sh", &user])).ok("useradd");
    env.user_added = true;
    let pw = nix::unistd::User::from_name(&user).unwrap().unwrap();
    env.uid = pw.uid.as_raw();
    env.subuids = subid_range(SUBID_FILES[0], &user).expect("useradd gave no subuid range");
    assert!(
        subid_range(SUBID_FILES[1], &user).is_some(),
        "useradd gave no subgid range"
    );
    let runroot = env.xdg.join("containers");
    assert!(
        runroot.as_os_str().len() <= 50,
        "podman's runroot {} is longer than 50 characters",
        runroot.display()
    );
    for d in [&env.home, &env.xdg] {
        fs::create_dir_all(d).unwrap();
        fs::set_permissions(d, fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(d, Some(pw.uid.as_raw()), Some(pw.gid.as_raw())).unwrap();
    }
    // The user runs its own copy of berth: the checkout may sit where it cannot reach.
    let bin = env.dir.join("bin");
    fs::create_dir_all(&bin).unwrap();
    fs::copy(compare::BERTH, bin.join("berth")).unwrap();
    fs::write(
        &env.conf,
        format!(
            "[containers]\nnetns = \"none\"\n\
             [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\nevents_logfile_path = \"{home}/events.log\"\n\
             runtime_supports_json = [\"runc\", \"berth\"]\n\
             [engine.runtimes]\nrunc = [\"{}\"]\nberth = [\"{}\"]\n",
            compare::RUNC,
            bin.join("berth").display()
        ),
    )
    .unwrap();
    fs::write(
        &env.storage_conf,
        format!(
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"{home}/storage\"\nrootless_storage_path = \"{home}/storage\"\n"
        ),
    )
    .unwrap();
    // The layout is root's; the user loads a docker archive of it.
    let archive = env.dir.join("busybox.tar");
    shared
        .busybox
        .copy_to(&format!("docker-archive:{}:{IMAGE}", archive.display()));
    std::os::unix::fs::chown(&archive, Some(env.uid), None).unwrap();
    let info = env.podman(&["info", "--format", "{{.Host.Security.Rootless}}"]);
    if info.code != 0 {
        return Err(format!(
            "rootless podman does not run here: {}",
            info.stderr.trim()
        ));
    }
    assert_eq!(info.stdout.trim(), "true", "podman info: {info:?}");
    env.podman(&["load", "-q", "-i", archive.to_str().unwrap()])
        .ok("podman load");
    fs::remove_file(&archive).unwrap();
    Ok(env)
}

impl Env {
    /// `program` run as the user, in its home, with only the environment rootless podman
    /// needs.
    fn as_user(&self, program: &str) -> Command {
        let mut c = Command::new("runuser");
        c.args(["-u", &self.user, "--", "env", "-i"])
            .arg("PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .arg(format!("HOME={}", self.home.display()))
            .arg(format!("XDG_RUNTIME_DIR={}", self.xdg.display()))
            .arg(format!("CONTAINERS_CONF={}", self.conf.display()))
            .arg(format!(
                "CONTAINERS_STORAGE_CONF={}",
                self.storage_conf.display()
            ))
            .arg(program)
            .current_dir(&self.home);
        c
    }

    fn podman(&self, args: &[&str]) -> Out {
        run(self.as_user("podman").args(args))
    }

    /// podman with `rt` as its runtime.
    fn with(&self, rt: &Runtime, args: &[&str]) -> Out {
        run(self
            .as_user("podman")
            .args(["--runtime", rt.name])
            .args(args))
    }

    /// `podman run -d --name NAME` of the image running `sh -c SCRIPT` with `rt`; its id.
    fn detached(&self, rt: &Runtime, name: &str, script: &str) -> String {
        self.with(
            rt,
            &["run", "-d", "--name", name, IMAGE, "sh", "-c", script],
        )
        .ok("podman run -d")
    }

    /// A shell line run by the user inside `script` (a pty), with no input.
    fn in_pty(&self, line: &str) -> Out {
        run(self.as_user("script").args(["-qec", line, "/dev/null"]))
    }

    /// The user's processes and its containers' (by real uid).
    fn processes(&self) -> Vec<String> {
        let (start, count) = self.subuids;
        let mut found = Vec::new();
        // A setup that failed before it knew the user's uid: nothing is the user's (and
        // root's processes never are).
        if self.uid == 0 {
            return found;
        }
        for e in fs::read_dir("/proc").unwrap().flatten() {
            let pid = e.file_name().to_string_lossy().into_owned();
            if !pid.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let Ok(status) = fs::read_to_string(e.path().join("status")) else {
                continue;
            };
            let uid: Option<u32> = status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().next()?.parse().ok());
            let Some(uid) = uid else { continue };
            // A container's process has an id of the range and runs in a user namespace
            // that maps the user (not one of another test's containers given ids that
            // overlap, podman's --userns=auto as root).
            let ours = uid == self.uid
                || ((start..start + count).contains(&uid)
                    && fs::read_to_string(e.path().join("uid_map"))
                        .unwrap_or_default()
                        .lines()
                        .any(|l| l.split_whitespace().nth(1) == Some(&self.uid.to_string())));
            if !ours {
                continue;
            }
            let cmdline = fs::read(e.path().join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            found.push(format!("{pid} {}", cmdline.trim()));
        }
        found
    }

    /// Nothing of container `name` (or `id`) is left: no container's state directory in
    /// either runtime's root (they hold no others), no mount or process naming it, not in
    /// podman's list, and no process of the user but podman's pause process.
    fn assert_clean(&self, rt: &Runtime, name: &str, id: &str) {
        let what = format!("rootless podman with {}", rt.name);
        let roots = [self.xdg.join("runc"), self.xdg.join("berth")];
        leaks::assert_none(&what, &[&roots[0], &roots[1]], &[name, id]);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let states: Vec<PathBuf> = roots
                .iter()
                .filter_map(|r| fs::read_dir(r).ok())
                .flat_map(|d| d.flatten())
                .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
                // berth's cache of compiled seccomp filters, not a container's.
                .filter(|e| e.file_name() != "seccomp~cache")
                .map(|e| e.path())
                .collect();
            let procs: Vec<String> = self
                .processes()
                .into_iter()
                .filter(|p| !p.ends_with(" catatonit -P"))
                .collect();
            // podman's cleanup process removes a --rm container once it has exited.
            let ps = self
                .podman(&["ps", "-a", "--format", "{{.Names}}"])
                .ok("podman ps -a");
            let listed = ps.lines().any(|l| l == name);
            if states.is_empty() && procs.is_empty() && !listed {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: left behind: state directories {states:?}, processes {procs:?}, \
                 listed by podman ps -a: {listed}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Env {
    /// The user's containers and store removed, its processes (podman's pause process,
    /// conmon) killed, the user and its group deleted, its subordinate ranges taken out of
    /// /etc/subuid and /etc/subgid, the run's directory removed.
    fn drop(&mut self) {
        if self.user_added {
            let _ = self.podman(&["rm", "-af", "-t", "0"]);
            let _ = self.podman(&["system", "reset", "-f"]);
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let procs = self.processes();
                if procs.is_empty() || Instant::now() > deadline {
                    break;
                }
                for p in procs {
                    let pid: i32 = p.split(' ').next().unwrap().parse().unwrap();
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let del = run(Command::new("userdel").arg(&self.user));
            if del.code != 0 {
                eprintln!("userdel {}: {}", self.user, del.stderr);
            }
            // userdel takes the ranges out; this covers one that did not. Only this user's
            // lines are touched: other tests may edit the files meanwhile.
            let prefix = format!("{}:", self.user);
            for f in SUBID_FILES {
                if let Ok(text) = fs::read_to_string(f) {
                    if text.lines().any(|l| l.starts_with(&prefix)) {
                        let kept: String = text
                            .lines()
                            .filter(|l| !l.starts_with(&prefix))
                            .map(|l| format!("{l}\n"))
                            .collect();
                        let _ = fs::write(f, kept);
                    }
                }
            }
        }
        for f in &self.created_files {
            if fs::read_to_string(f).map(|t| t.is_empty()).unwrap_or(false) {
                let _ = fs::remove_file(f);
            }
        }
        for d in [&self.dir, &self.xdg] {
            leaks::unmount_under(d);
            let _ = fs::remove_dir_all(d);
        }
    }
}

/// A container name of this run; the same under both runtimes but for the runtime's name
/// (which `compare::normalize` replaces), so podman's output of it compares equal.
/// The same name under both runtimes but for the runtime's (podman prints it): one
/// container of each kind per scenario.
fn unique(rt: &Runtime, what: &str) -> String {
    format!("btl-{what}-{}-{}", rt.name, std::process::id())
}

/// The lines of a manager's stderr that are its own words (not a log line of the runtime
/// or podman's warnings about the host), normalized.
fn manager_words(stderr: &str) -> String {
    compare::normalize(
        &stderr
            .lines()
            .filter(|l| !l.starts_with("time="))
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// `podman run --rm`: exit codes 0, 1, 42, 126, 127 and 137, the output, and the runtime's
/// words podman shows for the two failures to start.
fn run_exit_codes(env: &Env) {
    for (args, code, words) in [
        (&["sh", "-c", "echo hello; id -u; exit 0"][..], 0, ""),
        (&["sh", "-c", "echo err >&2; exit 1"], 1, ""),
        (&["sh", "-c", "exit 42"], 42, ""),
        (&["/etc/passwd"], 126, "permission denied"),
        (&["nosuch"], 127, "executable file not found"),
        // Not the container's init, which ignores a signal sent from inside its namespace.
        (&["sh", "-c", "sh -c 'kill -9 $$'; exit $?"], 137, ""),
    ] {
        let (a, b) = compare::both(|rt| {
            let name = unique(rt, "run");
            let mut all = vec!["run", "--rm", "--name", &name, IMAGE];
            all.extend_from_slice(args);
            let out = env.with(rt, &all);
            env.assert_clean(rt, &name, &name);
            out
        });
        compare::assert_same(&format!("podman run {args:?}"), &a, &b);
        assert_eq!(b.code, code, "podman run {args:?} with berth: {b:?}");
        for out in [&a, &b] {
            assert!(out.stderr.contains(words), "{args:?}: {out:?}");
        }
    }
}

/// `podman exec` into a running container: exit code, -u/-w/-e, a missing command (127) and
/// a file that is not executable (126).
fn exec(env: &Env) {
    let (a, b) = compare::both(|rt| {
        let name = unique(rt, "exec");
        let id = env.detached(rt, &name, TERM_EXITS);
        let outs = [
            env.podman(&["exec", &name, "sh", "-c", "id; exit 5"]),
            env.podman(&[
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
            ]),
            env.podman(&["exec", &name, "nosuch"]),
            env.podman(&["exec", &name, "/etc/passwd"]),
        ];
        env.podman(&["rm", "-f", "-t", "10", &name])
            .ok("podman rm -f");
        env.assert_clean(rt, &name, id.trim());
        outs
    });
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        compare::assert_same(&format!("podman exec #{i}"), x, y);
    }
    assert_eq!(
        b.iter().map(|o| o.code).collect::<Vec<_>>(),
        [5, 0, 127, 126]
    );
    assert_eq!(b[1].stdout, "uid=1000(tester) gid=1000(tester)\n/tmp\ny\n");
    for out in [&a[2], &b[2]] {
        assert!(out.stderr.contains("executable file not found"), "{out:?}");
    }
    for out in [&a[3], &b[3]] {
        assert!(out.stderr.contains("permission denied"), "{out:?}");
    }
}

/// `podman run -it` and `podman exec -it` in a pty (`script`): the terminal, its size and
/// the exit code.
fn tty(env: &Env) {
    let (a, b) = compare::both(|rt| {
        let name = unique(rt, "tty");
        let run_it = env.in_pty(&format!(
            "stty cols 77 rows 22; podman --runtime {} run --rm -it --name {name} {IMAGE} \
             sh -c 'tty; stty size; [ -t 0 ] && echo in-tty; sleep 0.3; exit 7'",
            rt.name
        ));
        env.assert_clean(rt, &name, &name);
        let name = unique(rt, "tty-exec");
        let id = env.detached(rt, &name, TERM_EXITS);
        let exec_it = env.in_pty(&format!(
            "stty cols 66 rows 11; podman exec -it {name} sh -c 'tty; stty size; exit 4'"
        ));
        env.podman(&["rm", "-f", "-t", "10", &name])
            .ok("podman rm -f");
        env.assert_clean(rt, &name, id.trim());
        [run_it, exec_it]
    });
    // podman writes a NUL to the terminal at times, whichever the runtime.
    // (`script` shows it as ^@).
    let clean = |o: &Out| compare::normalize(&o.stdout.replace('\0', "").replace("^@", ""));
    for (i, what) in ["podman run -it", "podman exec -it"]
        .into_iter()
        .enumerate()
    {
        assert_eq!(
            (a[i].code, clean(&a[i])),
            (b[i].code, clean(&b[i])),
            "{what}: runc vs berth\nrunc: {:?}\nberth: {:?}",
            a[i],
            b[i]
        );
    }
    assert_eq!(
        (b[0].code, clean(&b[0])),
        (7, "/dev/pts/0\n22 77\nin-tty".to_string())
    );
    assert_eq!((b[1].code, clean(&b[1])), (4, "/dev/pts/0\n11 66".into()));
}

/// `podman stop`: a container that exits on SIGTERM (0), one that ignores it and is killed
/// after the timeout (137), and `run --rm -d` then stop (removed by podman's cleanup).
fn stop(env: &Env) {
    let (a, b) = compare::both(|rt| {
        let name = unique(rt, "stop");
        let id = env.detached(rt, &name, TERM_EXITS);
        let stop = env.podman(&["stop", "-t", "10", &name]);
        let code = env.podman(&["inspect", "--format", "{{.State.ExitCode}}", &name]);
        let rm = env.podman(&["rm", &name]);
        env.assert_clean(rt, &name, id.trim());

        let deaf = unique(rt, "stop-deaf");
        let id = env.detached(rt, &deaf, "trap '' TERM; while :; do sleep 0.1; done");
        let stop_deaf = env.podman(&["stop", "-t", "1", &deaf]);
        let code_deaf = env.podman(&["inspect", "--format", "{{.State.ExitCode}}", &deaf]);
        env.podman(&["rm", &deaf]).ok("podman rm");
        env.assert_clean(rt, &deaf, id.trim());

        let gone = unique(rt, "stop-rm");
        let id = env
            .with(
                rt,
                &[
                    "run", "--rm", "-d", "--name", &gone, IMAGE, "sh", "-c", TERM_EXITS,
                ],
            )
            .ok("podman run --rm -d");
        let stop_rm = env.podman(&["stop", "-t", "10", &gone]);
        env.assert_clean(rt, &gone, id.trim());
        [stop, code, rm, stop_deaf, code_deaf, stop_rm]
    });
    let what = [
        "stop",
        "exit code",
        "rm",
        "stop (TERM ignored)",
        "its exit code",
        "stop of --rm",
    ];
    for ((x, y), w) in a.iter().zip(&b).zip(what) {
        compare::assert_same(&format!("podman {w}"), x, y);
    }
    assert_eq!((b[1].stdout.trim(), b[4].stdout.trim()), ("0", "137"));
    compare::assert_not_slower("podman stop", &a[0], &b[0]);
    compare::assert_not_slower("podman rm", &a[2], &b[2]);
    compare::assert_not_slower("podman stop -t 1", &a[3], &b[3]);
    compare::assert_not_slower("podman stop of --rm", &a[5], &b[5]);
}

/// `podman kill`: SIGKILL by default (137), a chosen signal the container traps, and a kill
/// of an exited container (podman's error).
fn kill(env: &Env) {
    let (a, b) = compare::both(|rt| {
        let name = unique(rt, "kill");
        let id = env
            .with(rt, &["run", "-d", "--name", &name, IMAGE, "sleep", "1000"])
            .ok("podman run -d");
        let kill = env.podman(&["kill", &name]);
        let wait = env.podman(&["wait", &name]);
        let again = env.podman(&["kill", &name]);
        let rm = env.podman(&["rm", &name]);
        env.assert_clean(rt, &name, id.trim());

        let usr1 = unique(rt, "kill-usr1");
        let id = env.detached(rt, &usr1, "trap 'exit 3' USR1; while :; do sleep 0.1; done");
        let kill_usr1 = env.podman(&["kill", "-s", "USR1", &usr1]);
        let wait_usr1 = env.podman(&["wait", &usr1]);
        let rm_f = env.podman(&["rm", "-f", &usr1]);
        env.assert_clean(rt, &usr1, id.trim());
        [kill, wait, again, rm, kill_usr1, wait_usr1, rm_f]
    });
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        compare::assert_same(&format!("podman kill #{i}"), x, y);
    }
    assert_eq!((b[1].stdout.trim(), b[5].stdout.trim()), ("137", "3"));
    assert_eq!(b[2].code, 125);
    for out in [&a[2], &b[2]] {
        assert!(
            out.stderr.contains("can only kill running containers"),
            "{out:?}"
        );
    }
    compare::assert_not_slower("podman kill", &a[0], &b[0]);
    compare::assert_not_slower("podman rm", &a[3], &b[3]);
    compare::assert_not_slower("podman kill -s USR1", &a[4], &b[4]);
    compare::assert_not_slower("podman rm -f", &a[6], &b[6]);
}

/// `--userns=keep-id`: the process runs as the user's own uid and gid (in `run` and in
/// `exec`), and a file it makes in a volume belongs to the user on the host.
fn keep_id(env: &Env) {
    let (a, b) = compare::both(|rt| {
        let vol = env.home.join(format!("vol-{}", rt.name));
        fs::create_dir_all(&vol).unwrap();
        std::os::unix::fs::chown(&vol, Some(env.uid), None).unwrap();
        let name = unique(rt, "keepid");
        let mount = format!("{}:/vol", vol.display());
        let out = env.with(
            rt,
            &[
                "run",
                "--rm",
                "--userns=keep-id",
                "-v",
                &mount,
                "--name",
                &name,
                IMAGE,
                "sh",
                "-c",
                "id -u; id -g; touch /vol/made && echo made",
            ],
        );
        env.assert_clean(rt, &name, &name);
        let owner = fs::metadata(vol.join("made")).map(|m| m.uid()).ok();

        let name = unique(rt, "keepid-exec");
        let id = env
            .with(
                rt,
                &[
                    "run",
                    "-d",
                    "--userns=keep-id",
                    "--name",
                    &name,
                    IMAGE,
                    "sh",
                    "-c",
                    TERM_EXITS,
                ],
            )
            .ok("podman run -d");
        let exec = env.podman(&["exec", &name, "sh", "-c", "id -u; id -g"]);
        env.podman(&["rm", "-f", "-t", "10", &name])
            .ok("podman rm -f");
        env.assert_clean(rt, &name, id.trim());
        fs::remove_dir_all(&vol).unwrap();
        (out, owner, exec)
    });
    compare::assert_same("podman run --userns=keep-id", &a.0, &b.0);
    compare::assert_same("podman exec (keep-id)", &a.2, &b.2);
    let ids = format!("{}\n{}\n", env.uid, env.uid);
    assert_eq!(b.0.stdout, format!("{ids}made\n"));
    assert_eq!(b.2.stdout, ids);
    assert_eq!((a.1, b.1), (Some(env.uid), Some(env.uid)));
}

/// Whether the host's cgroups are v1 (or hybrid), where a rootless container gets none.
fn cgroup_v1() -> bool {
    !Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// Limits when rootless on cgroup v1 (what the checks beyond "the same under both" expect):
/// nothing is delegated, so podman drops --memory,
/// --memory-swap, --pids-limit and --cpus with its warning and runs the container; pause and
/// stats fail with podman's error; a --cgroup-parent reaches the runtime, which cannot make
/// the cgroup and fails with "permission denied". Each the same under berth as under runc.
fn limits(env: &Env) {
    for args in [
        &["--memory", "10m"][..],
        &["--memory", "10m", "--memory-swap", "20m"],
        &["--pids-limit", "10"],
        &["--cpus", "1"],
    ] {
        let (a, b) = compare::both(|rt| {
            let name = unique(rt, "limits");
            let mut all = vec!["run", "--rm", "--name", &name];
            all.extend_from_slice(args);
            // Alive a moment after its output: podman 4.3's attach can lose the output of a
            // container that exits at once (with either runtime).
            all.extend([IMAGE, "sh", "-c", "echo ran; sleep 0.3"]);
            let out = env.with(rt, &all);
            env.assert_clean(rt, &name, &name);
            out
        });
        compare::assert_same(&format!("podman run {args:?}"), &a, &b);
        assert_eq!(
            manager_words(&a.stderr),
            manager_words(&b.stderr),
            "{args:?}"
        );
        if cgroup_v1() {
            assert_eq!((b.code, b.stdout.as_str()), (0, "ran\n"));
            assert!(
                b.stderr.contains("Resource limits are not supported"),
                "{b:?}"
            );
        }
    }

    let (a, b) = compare::both(|rt| {
        let name = unique(rt, "nocgroup");
        let id = env.detached(rt, &name, TERM_EXITS);
        let pause = env.podman(&["pause", &name]);
        let stats = env.podman(&["stats", "--no-stream", &name]);
        let running = env.podman(&["inspect", "--format", "{{.State.Status}}", &name]);
        env.podman(&["rm", "-f", "-t", "10", &name])
            .ok("podman rm -f");
        env.assert_clean(rt, &name, id.trim());

        let name = unique(rt, "cgparent");
        let parent = format!("btl-parent-{}", std::process::id());
        let out = env.with(
            rt,
            &[
                "run",
                "--rm",
                "--cgroup-parent",
                &parent,
                "--name",
                &name,
                IMAGE,
                "true",
            ],
        );
        env.assert_clean(rt, &name, &parent);
        [pause, stats, running, out]
    });
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        compare::assert_same(&format!("cgroup-less #{i}"), x, y);
    }
    for (x, y) in a[..3].iter().zip(&b[..3]) {
        assert_eq!(manager_words(&x.stderr), manager_words(&y.stderr));
    }
    if cgroup_v1() {
        assert_eq!(
            (b[0].code, b[1].code, b[2].stdout.trim()),
            (125, 125, "running")
        );
        assert_eq!(b[3].code, 126, "{:?}", b[3]);
        for out in [&a[3], &b[3]] {
            assert!(out.stderr.contains("permission denied"), "{out:?}");
        }
    }
}

/// `--privileged`: rootless podman bind-mounts every host device onto the container's /dev,
/// the default ones included, and gives it every capability of its user namespace.
fn privileged(env: &Env) {
    let (a, b) = compare::both(|rt| {
        let name = unique(rt, "priv");
        let out = env.with(
            rt,
            &["run", "--rm", "--privileged", "--name", &name, IMAGE, "sh", "-c",
              "echo x > /dev/null && echo null; head -c 2 /dev/zero | wc -c; ls /dev | wc -l; grep CapEff /proc/self/status"],
        );
        env.assert_clean(rt, &name, &name);
        out
    });
    compare::assert_same("podman run --privileged", &a, &b);
    assert_eq!(b.code, 0, "{b:?}");
    assert!(b.stdout.starts_with("null\n2\n"), "{b:?}");
}

pub const SCENARIOS: &[Scenario<Env>] = &[
    ("run_exit_codes", run_exit_codes),
    ("exec", exec),
    ("tty", tty),
    ("stop", stop),
    ("kill", kill),
    ("keep_id", keep_id),
    ("limits", limits),
    ("privileged", privileged),
];
