//! Hardening (issue 12): no fallback to an unsafe path, bad input refused with one clear
//! error, bad state never aborting.

use crate::common::*;
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

/// A host file `#!/proc/self/exe`, bind-mounted at /x: exec'd by a process whose image is
/// berth's binary, it would run that binary inside the container (CVE-2019-5736).
struct SelfExeScript(PathBuf);

impl SelfExeScript {
    fn new() -> SelfExeScript {
        let p = std::env::temp_dir().join(unique("selfexe"));
        std::fs::write(&p, "#!/proc/self/exe\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        SelfExeScript(p)
    }

    fn mount(&self, c: &mut Value) {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/x", "type": "bind", "source": self.0, "options": ["bind", "ro"]
        }));
    }
}

impl Drop for SelfExeScript {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Profiles that deny execveat: an errno rule, and the ENOSYS a stub for syscalls newer
/// than the profile returns.
fn without_execveat() -> Vec<Value> {
    vec![
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["execveat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}),
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["execveat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}),
    ]
}

/// What /proc/PID/exe shows for a process running from berth's sealed copy of itself.
const SEALED_EXE: &str = "/memfd:berth (deleted)";

fn exe_of(pid: i64) -> String {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Under a profile that denies execveat (so no sealed trampoline), the process that will
/// exec the container's program never runs from berth's binary on the host: init, which
/// execs the `#!/proc/self/exe` target, runs from a sealed copy, so the target would run
/// that copy (whether it can run in the rootfs depends on how berth was linked).
#[test]
fn without_execveat_init_runs_from_a_sealed_copy() {
    let script = SelfExeScript::new();
    for nnp in [true, false] {
        for profile in without_execveat() {
            let root = Root::new();
            let mut c = base_config(&["/x"]);
            script.mount(&mut c);
            c["process"]["noNewPrivileges"] = json!(nnp);
            c["linux"]["seccomp"] = profile;
            let b = Bundle::new(&c);
            let id = unique("noexecveat");
            root.ok(&["create", "--bundle", b.dir.to_str().unwrap(), &id]);
            let pid = root.state(&id)["pid"].as_i64().unwrap();
            assert_eq!(exe_of(pid), SEALED_EXE, "nnp={nnp}");
            root.ok(&["delete", "--force", &id]);
        }
    }
}

#[test]
fn exec_without_execveat_runs_from_a_sealed_copy() {
    for nnp in [true, false] {
        let root = Root::new();
        let mut c = base_config(&["sleep", "60"]);
        c["process"]["noNewPrivileges"] = json!(nnp);
        let b = Bundle::new(&c);
        let id = unique("noexecveat");
        root.ok(&["run", "-d", "--bundle", b.dir.to_str().unwrap(), &id]);
        // exec takes the container's filter from the bundle's config.json.
        c["linux"]["seccomp"] = without_execveat().remove(0);
        std::fs::write(b.dir.join("config.json"), c.to_string()).unwrap();
        let mut exec = root.cmd();
        exec.args(["exec", &id, "sleep", "60"]);
        let mut child = exec.spawn().unwrap();
        let pid = i64::from(child.id());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while exe_of(pid) != SEALED_EXE && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let exe = exe_of(pid);
        let _ = child.kill();
        let _ = child.wait();
        root.ok(&["delete", "--force", &id]);
        assert_eq!(exe, SEALED_EXE, "nnp={nnp}");
    }
}

type Edit<'a> = Box<dyn Fn(&mut Value) + 'a>;

/// Every uid and gid field outside process.user is held to the same range, named in the
/// error, with nothing left behind.
#[test]
fn ids_out_of_range_are_refused_in_every_field() {
    let big = json!(4294967295u32);
    let cases: Vec<(&str, Edit)> = vec![
        (
            "linux.devices[0].uid",
            Box::new(|c: &mut Value| {
                c["linux"]["devices"] = json!([{"path": "/dev/x", "type": "c", "major": 1,
                    "minor": 3, "uid": big}]);
            }),
        ),
        (
            "linux.devices[0].gid",
            Box::new(|c: &mut Value| {
                c["linux"]["devices"] = json!([{"path": "/dev/x", "type": "c", "major": 1,
                    "minor": 3, "gid": big}]);
            }),
        ),
        (
            "linux.uidMappings[0].hostID",
            Box::new(|c: &mut Value| {
                add_userns(c, 100000);
                c["linux"]["uidMappings"][0]["hostID"] = big.clone();
            }),
        ),
        (
            "linux.gidMappings[0].containerID",
            Box::new(|c: &mut Value| {
                add_userns(c, 100000);
                c["linux"]["gidMappings"][0]["containerID"] = big.clone();
            }),
        ),
        (
            "linux.uidMappings[0].size",
            Box::new(|c: &mut Value| {
                add_userns(c, 100000);
                c["linux"]["uidMappings"][0]["size"] = big.clone();
            }),
        ),
        (
            "mounts[7].uidMappings[0].hostID",
            Box::new(|c: &mut Value| {
                c["mounts"].as_array_mut().unwrap().push(json!({
                    "destination": "/mnt", "type": "bind", "source": "/tmp",
                    "options": ["bind"],
                    "uidMappings": [{"containerID": 0, "hostID": big, "size": 1}],
                    "gidMappings": [{"containerID": 0, "hostID": 0, "size": 1}]}));
            }),
        ),
    ];
    for (field, edit) in cases {
        let root = Root::new();
        let mut c = base_config(&["true"]);
        edit(&mut c);
        let b = Bundle::new(&c);
        let err = root.fails(&[
            "create",
            "--bundle",
            b.dir.to_str().unwrap(),
            &unique("ids"),
        ]);
        assert!(
            err.starts_with(&format!("config.json: {field}: ")),
            "{field}: {err}"
        );
        root.assert_clean(Some(&b));
    }
}

/// Runs berth with `args`, killing it if it has not finished within a generous deadline: a
/// hang is the failure being tested for.
fn within_deadline(root: &Root, args: &[&str]) -> std::process::Output {
    let mut cmd = root.cmd();
    cmd.args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("berth {args:?} hung");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// A config.json that is a FIFO (runc hangs reading it) or a directory is refused at once,
/// naming the file, with nothing left behind.
#[test]
fn a_config_json_that_is_not_a_regular_file_is_refused() {
    let _ = crate::compat::differences::intended("config.json not a regular file");
    for kind in ["fifo", "dir"] {
        let root = Root::new();
        let b = Bundle::new(&base_config(&["true"]));
        let path = b.dir.join("config.json");
        std::fs::remove_file(&path).unwrap();
        if kind == "fifo" {
            nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        } else {
            std::fs::create_dir(&path).unwrap();
        }
        let id = unique("cfg");
        let out = within_deadline(&root, &["create", "--bundle", b.dir.to_str().unwrap(), &id]);
        assert_eq!(out.status.code(), Some(1), "{kind}");
        assert_eq!(
            messages(&String::from_utf8_lossy(&out.stderr)).trim_end(),
            format!("config.json: {}: not a regular file", path.display()),
            "{kind}"
        );
        root.assert_clean(Some(&b));
    }
}

/// A running container whose state.json is then rewritten by `corrupt`; returns what it
/// made (init's pid and its cgroup directories), for the test to check and to clean up.
fn corrupted(root: &Root, id: &str, corrupt: impl Fn(&mut Value)) -> (i64, Vec<PathBuf>) {
    let b = Bundle::new(&base_config(&["sleep", "600"]));
    root.ok(&["run", "-d", "--bundle", b.dir.to_str().unwrap(), id]);
    let path = root.dir.join(id).join("state.json");
    let mut st: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let pid = st["pid"].as_i64().unwrap();
    let cg = &st["cgroup"];
    let dirs: Vec<PathBuf> = cg["v1"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
        .chain(cg.get("v2"))
        .map(|p| PathBuf::from(p.as_str().unwrap()))
        .collect();
    assert!(!dirs.is_empty(), "{st}");
    corrupt(&mut st);
    std::fs::write(&path, st.to_string()).unwrap();
    (pid, dirs)
}

/// Removes what a test's corrupt state kept berth from knowing about.
fn clean_up(pid: i64, dirs: &[PathBuf]) {
    if pid_alive(pid) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    for d in dirs {
        while d.exists() && std::fs::remove_dir(d).is_err() && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// A state.json that does not hold together is an error naming the file for every command
/// (never an abort), and `delete --force` removes the container and, where the file still
/// tells them for sure, its init and its cgroup.
#[test]
fn a_corrupt_state_file_is_an_error_and_delete_force_removes_the_container() {
    type Corrupt = fn(&mut Value);
    let cases: [(&str, Corrupt, bool); 4] = [
        ("another id", |st| st["id"] = json!("someone-else"), true),
        (
            "v2 mode without its directory",
            |st| {
                st["cgroup"] =
                    json!({"mode": "v2", "v1": {"freezer": st["cgroup"]["v1"]["freezer"]}})
            },
            false,
        ),
        (
            "a cgroup reached through ..",
            |st| {
                let f = st["cgroup"]["v1"]["freezer"].as_str().unwrap().to_string();
                st["cgroup"]["v1"]["freezer"] = json!(format!("{f}/../../freezer"));
            },
            false,
        ),
        ("a negative pid", |st| st["pid"] = json!(-5), false),
    ];
    for (what, corrupt, salvaged) in cases {
        let root = Root::new();
        let id = unique("corrupt");
        let (pid, dirs) = corrupted(&root, &id, corrupt);
        let file = root.dir.join(&id).join("state.json");
        for args in [
            vec!["state", id.as_str()],
            vec!["events", "--stats", id.as_str()],
            vec!["update", "--pids-limit", "10", id.as_str()],
            vec!["kill", id.as_str(), "KILL"],
            vec!["delete", id.as_str()],
        ] {
            let out = root.berth(&args);
            assert_eq!(out.status.code(), Some(1), "{what}: {args:?}");
            let err = messages(&String::from_utf8_lossy(&out.stderr));
            assert!(
                err.contains(&format!("corrupt state file {}: ", file.display())),
                "{what}: {args:?}: {err}"
            );
        }
        root.ok(&["delete", "--force", &id]);
        assert_eq!(root.entries(), Vec::<String>::new(), "{what}");
        if salvaged {
            // Everything it made is gone: init, and every cgroup directory.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while pid_alive(pid) && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            assert!(!pid_alive(pid), "{what}: init {pid} survived");
            for d in &dirs {
                assert!(!d.exists(), "{what}: {} left", d.display());
            }
        }
        clean_up(pid, &dirs);
    }
}

/// State that is not even JSON: an error naming the file; `delete --force` still removes
/// the container's directory (init and cgroup are unknowable from it).
#[test]
fn a_state_file_that_is_not_json_does_not_block_delete_force() {
    let root = Root::new();
    let id = unique("garbage");
    let (pid, dirs) = corrupted(&root, &id, |_| {});
    let file = root.dir.join(&id).join("state.json");
    std::fs::write(&file, "{\"id\": garbage").unwrap();
    let err = root.fails(&["state", &id]);
    assert!(
        err.starts_with(&format!("corrupt state file {}: ", file.display())),
        "{err}"
    );
    root.ok(&["delete", "--force", &id]);
    assert_eq!(root.entries(), Vec::<String>::new());
    clean_up(pid, &dirs);
}

/// A config string with a newline in an error: one line on stderr, escaped, also where the
/// log goes to a file and berth writes the bare error to stderr (as runc's fatal does).
#[test]
fn config_strings_with_newlines_make_one_line_errors() {
    let mut c = base_config(&["true"]);
    c["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/a\nb", "type": "bogus\nfs", "source": "x"
    }));
    let b = Bundle::new(&c);
    let root = Root::new();
    let log = b.dir.join("log.txt");
    let out = root.berth(&[
        "--log",
        log.to_str().unwrap(),
        "run",
        "--bundle",
        b.dir.to_str().unwrap(),
        &unique("nl"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(stderr.contains("bogus\\nfs"), "{stderr:?}");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(logged.lines().count(), 1, "{logged:?}");
    root.assert_clean(Some(&b));
}

/// A state file that is no longer JSON but whose init and cgroup entries are intact:
/// `delete --force` finds them by their keys and removes everything.
#[test]
fn delete_force_salvages_a_damaged_state_file() {
    let root = Root::new();
    let id = unique("damaged");
    let (pid, dirs) = corrupted(&root, &id, |_| {});
    let file = root.dir.join(&id).join("state.json");
    let data = std::fs::read_to_string(&file).unwrap();
    let damaged = data.replacen("\"ociVersion\":\"", "\"ociVersion\":\u{0}", 1);
    assert_ne!(damaged, data);
    std::fs::write(&file, damaged).unwrap();
    let err = root.fails(&["state", &id]);
    assert!(
        err.starts_with(&format!("corrupt state file {}: ", file.display())),
        "{err}"
    );
    root.ok(&["delete", "--force", &id]);
    assert_eq!(root.entries(), Vec::<String>::new());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while pid_alive(pid) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!pid_alive(pid), "init {pid} survived");
    for d in &dirs {
        assert!(!d.exists(), "{} left", d.display());
    }
    clean_up(pid, &dirs);
}
