//! The integration harness: a busybox rootfs built once from the host's busybox-static,
//! bundles made per test, a private `--root` per test (so tests run in parallel and leave
//! nothing behind), and helpers to run berth and read what happened.

#![allow(dead_code)] // each test module uses a different part of the harness

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use serde_json::{json, Value};
use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

pub const BERTH: &str = env!("CARGO_BIN_EXE_berth");

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A name unique across parallel test processes and threads.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

fn work_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// The shared read-only busybox rootfs. Tests never write into it: configs mount a tmpfs
/// where a container needs to write.
pub fn rootfs() -> &'static Path {
    static ROOTFS: OnceLock<PathBuf> = OnceLock::new();
    ROOTFS.get_or_init(|| {
        let dir = work_dir().join("busybox-rootfs");
        if dir.join("bin/busybox").exists() {
            return dir;
        }
        let tmp = work_dir().join(unique("rootfs-tmp"));
        build_rootfs(&tmp);
        // Another test process may have won the race; either copy is complete.
        if std::fs::rename(&tmp, &dir).is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        dir
    })
}

/// Makes a busybox rootfs in `dir` (a fresh directory) from /bin/busybox (busybox-static).
pub fn build_rootfs(dir: &Path) {
    let busybox = Path::new("/bin/busybox");
    assert!(
        busybox.exists(),
        "/bin/busybox missing: install busybox-static (make test does)"
    );
    for d in [
        "bin", "proc", "sys", "dev", "tmp", "etc", "root", "mnt", "run",
    ] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::copy(busybox, dir.join("bin/busybox")).unwrap();
    let list = Command::new(busybox).arg("--list").output().unwrap();
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            let _ = std::os::unix::fs::symlink("busybox", dir.join("bin").join(applet));
        }
    }
    std::fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    )
    .unwrap();
    std::fs::write(dir.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n").unwrap();
}

/// runc's default config (as `runc spec` writes it), with an absolute root path and a tmpfs
/// on /tmp so that the shared rootfs stays untouched.
pub fn base_config(args: &[&str]) -> Value {
    json!({
        "ociVersion": "1.2.0",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": default_caps(),
                "effective": default_caps(),
                "permitted": default_caps()
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": rootfs(), "readonly": true},
        "hostname": "berth-test",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]}
        ],
        "linux": {
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    })
}

/// Adds a new user namespace mapping container ids 0..65536 to host ids from `host_id`.
pub fn add_userns(c: &mut Value, host_id: u32) {
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": host_id, "size": 65536}]);
    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": host_id, "size": 65536}]);
}

/// berth's stderr with each of its log lines (runc's logrus text shape,
/// `time="…" level=error msg="…"`) reduced to the message, unquoted, so that a test matches
/// the words; other lines stay as they are.
pub fn messages(stderr: &str) -> String {
    stderr
        .lines()
        .map(|l| {
            let msg = l
                .starts_with("time=\"")
                .then(|| l.split_once(" msg="))
                .flatten()
                .map(|(_, m)| m);
            match msg {
                Some(m) if m.starts_with('"') => {
                    serde_json::from_str::<String>(m).unwrap_or_else(|_| m.to_string())
                }
                Some(m) => m.to_string(),
                None => l.to_string(),
            }
        })
        .map(|l| l + "\n")
        .collect()
}

/// berth's default seccomp profile, as `berth spec --seccomp default` writes it.
pub fn default_seccomp_profile() -> Value {
    let dir = work_dir().join(unique("spec"));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(BERTH)
        .args([
            "spec",
            "--seccomp",
            "default",
            "--bundle",
            dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let spec: Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    spec["linux"]["seccomp"].clone()
}

pub fn default_caps() -> Vec<&'static str> {
    vec!["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
}

/// A bundle directory holding config.json; removed on drop.
pub struct Bundle {
    pub dir: PathBuf,
}

impl Bundle {
    pub fn new(config: &Value) -> Bundle {
        let dir = work_dir().join(unique("bundle"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("config.json"),
            serde_json::to_vec_pretty(config).unwrap(),
        )
        .unwrap();
        Bundle { dir }
    }

    /// A bundle whose config.json is the given text, verbatim.
    pub fn raw(text: &str) -> Bundle {
        let dir = work_dir().join(unique("bundle"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.json"), text).unwrap();
        Bundle { dir }
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A private state root: every container made under it is force-deleted on drop. It drives
/// berth, or another runtime with runc's command line (`Root::of`, for integration/compat).
pub struct Root {
    pub dir: PathBuf,
    pub bin: PathBuf,
}

impl Root {
    pub fn new() -> Root {
        Root::of(Path::new(BERTH))
    }

    /// A root driven by the runtime binary `bin` (berth, or runc for a comparison).
    pub fn of(bin: &Path) -> Root {
        Root {
            dir: PathBuf::from("/run").join(unique("berth-it")),
            bin: bin.to_path_buf(),
        }
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--root").arg(&self.dir);
        c.stdin(Stdio::null());
        c
    }

    /// Runs the runtime with `args`, capturing its output in files rather than pipes: a created
    /// container's init inherits berth's stdio, and a pipe would stay open as long as it lives.
    pub fn berth(&self, args: &[&str]) -> Output {
        let mut cmd = self.cmd();
        cmd.args(args);
        output_via_files(&mut cmd)
    }

    /// Runs berth and asserts it succeeded; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.berth(args);
        assert!(
            out.status.success(),
            "berth {args:?} failed ({:?}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs berth, asserts it failed, and returns its stderr with each log line reduced to
    /// its message (`messages`).
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.berth(args);
        assert!(
            !out.status.success(),
            "berth {args:?} should have failed; stdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        messages(&String::from_utf8_lossy(&out.stderr))
    }

    /// `run` of `config` to completion: (exit code, stdout, stderr).
    pub fn run(&self, config: &Value) -> (i32, String, String) {
        let b = Bundle::new(config);
        let id = unique("run");
        let mut cmd = self.cmd();
        cmd.args(["run", "--bundle"]).arg(&b.dir).arg(&id);
        let out = output_via_files(&mut cmd);
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs a shell script in a container built from the base config, asserting success;
    /// returns its stdout.
    pub fn sh(&self, script: &str) -> String {
        self.sh_with(script, |_| {})
    }

    /// Like `sh`, after letting `edit` change the config.
    pub fn sh_with(&self, script: &str, edit: impl FnOnce(&mut Value)) -> String {
        let mut c = base_config(&["/bin/sh", "-c", script]);
        edit(&mut c);
        let (code, out, err) = self.run(&c);
        assert_eq!(
            code, 0,
            "container script failed: {script}\nstdout: {out}\nstderr: {err}"
        );
        out
    }

    pub fn state(&self, id: &str) -> Value {
        serde_json::from_str(&self.ok(&["state", id])).expect("state is JSON")
    }

    /// The ids of the containers under this root (directories, finished or not); berth's
    /// compiled seccomp filter cache, kept on purpose, is not one.
    pub fn entries(&self) -> Vec<String> {
        match std::fs::read_dir(&self.dir) {
            Ok(d) => d
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n != "seccomp~cache")
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Asserts that nothing is left: no container directories, no mounts of `bundle`.
    pub fn assert_clean(&self, bundle: Option<&Bundle>) {
        assert_eq!(
            self.entries(),
            Vec::<String>::new(),
            "state left under {}",
            self.dir.display()
        );
        if let Some(b) = bundle {
            let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
            let needle = b.dir.to_string_lossy();
            assert!(
                !mi.contains(needle.as_ref()),
                "mount of {needle} left behind"
            );
        }
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        for id in self.entries() {
            let _ = self.berth(&["delete", "--force", &id]);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether a process with this pid exists.
pub fn pid_alive(pid: i64) -> bool {
    pid > 0 && Path::new(&format!("/proc/{pid}")).exists()
}

/// Runs `cmd` to completion with stdout and stderr sent to temporary files.
pub fn output_via_files(cmd: &mut Command) -> Output {
    let base = work_dir().join(unique("out"));
    let (o, e) = (base.with_extension("stdout"), base.with_extension("stderr"));
    cmd.stdout(std::fs::File::create(&o).unwrap());
    cmd.stderr(std::fs::File::create(&e).unwrap());
    let status = cmd.status().expect("running berth");
    let out = Output {
        status,
        stdout: std::fs::read(&o).unwrap(),
        stderr: std::fs::read(&e).unwrap(),
    };
    let _ = std::fs::remove_file(&o);
    let _ = std::fs::remove_file(&e);
    out
}

/// A unix socket that receives one fd the way runc's peers do (a console socket, a pidfd
/// socket); its file is removed on drop.
pub struct FdSocket {
    pub path: PathBuf,
    listener: UnixListener,
}

impl FdSocket {
    pub fn new(tag: &str) -> FdSocket {
        let path = PathBuf::from("/run").join(format!("{}.sock", unique(tag)));
        let listener = UnixListener::bind(&path).unwrap();
        FdSocket { path, listener }
    }

    /// Accepts one connection in a thread and receives the fd as runc's RecvFd does: the
    /// message data (the file's name) and exactly one fd in one SCM_RIGHTS message.
    pub fn receive(&self) -> std::thread::JoinHandle<(Vec<u8>, OwnedFd)> {
        let listener = self.listener.try_clone().unwrap();
        std::thread::spawn(move || {
            let (conn, _) = listener.accept().unwrap();
            let mut name = [0u8; 4096];
            let mut iov = [IoSliceMut::new(&mut name)];
            let mut space = nix::cmsg_space!(RawFd);
            let msg = recvmsg::<()>(
                conn.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            )
            .unwrap();
            let n = msg.bytes;
            let cmsgs: Vec<_> = msg.cmsgs().expect("control data not truncated").collect();
            assert_eq!(cmsgs.len(), 1, "one control message: {cmsgs:?}");
            let ControlMessageOwned::ScmRights(fds) = &cmsgs[0] else {
                panic!("not SCM_RIGHTS: {:?}", cmsgs[0]);
            };
            assert_eq!(fds.len(), 1, "one fd");
            // SAFETY: the fd was just received by this thread and nothing else owns it.
            let fd = unsafe { OwnedFd::from_raw_fd(fds[0]) };
            (name[..n].to_vec(), fd)
        })
    }
}

impl Drop for FdSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The static probe (integration/tools/probe.rs) on the host, built once by rustc alone, for
/// the calls busybox has no applet for. Its file name carries a hash of its source, so an
/// edited probe is rebuilt.
pub fn probe() -> &'static Path {
    static PROBE: OnceLock<PathBuf> = OnceLock::new();
    PROBE.get_or_init(|| {
        use std::hash::{Hash, Hasher};
        const SOURCE: &str = include_str!("tools/probe.rs");
        let mut h = std::collections::hash_map::DefaultHasher::new();
        SOURCE.hash(&mut h);
        let exe = work_dir().join(format!("probe-{:016x}", h.finish()));
        if exe.exists() {
            return exe;
        }
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("integration/tools/probe.rs");
        let tmp = work_dir().join(unique("probe-tmp"));
        let out = Command::new(rustc())
            .args([
                "--edition",
                "2021",
                "-O",
                "-C",
                "target-feature=+crt-static",
                "-o",
            ])
            .arg(&tmp)
            .arg(&src)
            .output()
            .expect("running rustc for the probe");
        assert!(
            out.status.success(),
            "building the probe: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Another test process may have built it too; either copy is complete.
        std::fs::rename(&tmp, &exe).unwrap();
        exe
    })
}

/// The rustc that builds the probe: $RUSTC, else the one beside the cargo running the tests.
fn rustc() -> PathBuf {
    if let Some(r) = std::env::var_os("RUSTC") {
        return r.into();
    }
    std::env::var_os("CARGO")
        .map(|c| PathBuf::from(c).with_file_name("rustc"))
        .filter(|r| r.exists())
        .unwrap_or_else(|| "rustc".into())
}

/// Where `add_probe` puts the probe inside a container.
pub const PROBE: &str = "/tmp/probe";

/// Bind-mounts the probe read-only at `PROBE` (on the config's /tmp tmpfs, so the shared
/// rootfs is not written).
pub fn add_probe(c: &mut Value) {
    c["mounts"].as_array_mut().unwrap().push(json!({
        "destination": PROBE, "type": "bind", "source": probe(), "options": ["bind", "ro"]
    }));
}
