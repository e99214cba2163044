//! Known container escapes, each reproduced from inside a container (or raced from another
//! container during create, where that is the attack), each asserted blocked with the host
//! untouched: CVE-2019-5736 (berth's binary through /proc/PID/exe), CVE-2021-30465 (a mount
//! destination swapped for a symlink), CVE-2024-21626 (a leaked host fd), CVE-2025-31133
//! (/dev/null swapped for a symlink before masking), CVE-2025-52565 (/dev/console),
//! CVE-2025-52881 (a /proc write redirected by a mount), /proc or /sys redirected by a symlink,
//! host disks, and privileges beyond the capability sets or past noNewPrivileges.

use crate::common::*;
use serde_json::{json, Value};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A bundle with its own writable busybox rootfs (the attacks write into it).
fn own_rootfs(args: &[&str], edit: impl FnOnce(&mut Value)) -> (Bundle, PathBuf) {
    let b = Bundle::new(&json!({}));
    let rootfs = b.dir.join("rootfs");
    build_rootfs(&rootfs);
    let mut c = base_config(args);
    c["root"] = json!({"path": "rootfs", "readonly": false});
    edit(&mut c);
    std::fs::write(b.dir.join("config.json"), c.to_string()).unwrap();
    (b, rootfs)
}

fn add_mount(c: &mut Value, m: Value) {
    c["mounts"].as_array_mut().unwrap().push(m);
}

/// A fresh host directory, removed on drop.
struct HostDir(PathBuf);

impl HostDir {
    fn new(tag: &str) -> HostDir {
        let d = std::env::temp_dir().join(unique(tag));
        std::fs::create_dir_all(&d).unwrap();
        HostDir(d)
    }
}

impl Drop for HostDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn wait_for(path: &Path, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn host_mountinfo() -> String {
    std::fs::read_to_string("/proc/self/mountinfo").unwrap()
}

/// Starts a detached container from `bundle` and returns its id.
fn start_detached(root: &Root, bundle: &Bundle) -> String {
    let id = unique("esc");
    root.ok(&["run", "-d", "--bundle", bundle.dir.to_str().unwrap(), &id]);
    id
}

/// CVE-2019-5736. The container plants an executable whose interpreter is /proc/self/exe, so
/// that `berth exec` of it runs berth's own binary inside the container; meanwhile the
/// container's init opens /proc/PID/exe of every process it sees and, once that process is
/// gone, writes through the fd. The exec'd process is kept alive (its stderr is a full pipe)
/// so the attacker has all the time it needs. berth runs from a copy of its binary here, so
/// a successful attack cannot break the other tests; the copy must be unchanged.
#[test]
fn cve_2019_5736_berth_binary_cannot_be_overwritten_through_proc_exe() {
    let root = Root::new();
    let work = HostDir::new("exe-copy");
    let copy = work.0.join("berth");
    std::fs::copy(BERTH, &copy).unwrap();
    let before = std::fs::read(&copy).unwrap();
    let attacker = r#"
printf '#!/proc/self/exe\n' > /bin/evil; chmod 755 /bin/evil
: > /attack/ready
n=0
while [ ! -e /attack/stop ] && [ $n -lt 200000 ]; do
  n=$((n+1))
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    [ "$p" = 1 ] && continue
    ( exec 3< "$d/exe" || exit 0
      t=$(readlink /proc/self/fd/3)
      case "$t" in /bin/busybox) exit 0;; esac
      echo "$p $t" >> /attack/opened
      i=0
      while [ $i -lt 100 ]; do
        if printf PWNED > /proc/self/fd/3; then echo "$t" >> /attack/written; exit 0; fi
        i=$((i+1)); sleep 0.1
      done ) 2>/dev/null
  done
done
: > /attack/done
"#;
    let (b, rootfs) = own_rootfs(&["/bin/sh", "-c", attacker], |_| {});
    std::fs::create_dir_all(rootfs.join("attack")).unwrap();
    copy_loader_and_libs(&copy, &rootfs);
    let id = start_detached(&root, &b);
    assert!(wait_for(
        &rootfs.join("attack/ready"),
        Duration::from_secs(10)
    ));

    // A pipe filled to the brim: whatever berth writes to stderr blocks until it is drained.
    let (r, w) = nix::unistd::pipe().unwrap();
    nix::fcntl::fcntl(
        &w,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .unwrap();
    while nix::unistd::write(&w, &[0u8; 4096]).is_ok() {}
    nix::fcntl::fcntl(
        &w,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::empty()),
    )
    .unwrap();
    let mut exec = Command::new(&copy)
        .arg("--root")
        .arg(&root.dir)
        .args(["exec", &id, "/bin/evil"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(w))
        .spawn()
        .unwrap();
    let opened = wait_for(&rootfs.join("attack/opened"), Duration::from_secs(5));
    let drain = std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = std::fs::File::from(r).read_to_end(&mut sink);
        String::from_utf8_lossy(&sink)
            .trim_matches('\0')
            .to_string()
    });
    let status = exec.wait().unwrap();
    let exec_stderr = drain.join().unwrap();
    // The attacker retries its write for 10 s after each open; give it a few seconds.
    std::thread::sleep(Duration::from_secs(if opened { 3 } else { 1 }));
    std::fs::write(rootfs.join("attack/stop"), "").unwrap();
    let report = std::fs::read_to_string(rootfs.join("attack/opened")).unwrap_or_default();
    eprintln!("opened: {report}; exec: {status:?}: {exec_stderr}");
    let written = std::fs::read_to_string(rootfs.join("attack/written")).unwrap_or_default();
    root.ok(&["delete", "-f", &id]);
    assert!(
        opened,
        "the attack never got hold of the exec'd process: {exec_stderr}"
    );
    assert!(
        std::fs::read(&copy).unwrap() == before,
        "berth's binary was changed; opened: {report} written: {written}"
    );
    assert_eq!(written, "", "written through: {written}; exec: {status:?}");
    assert!(
        !report.contains(copy.to_str().unwrap()),
        "the container got an fd of berth's binary: {report}"
    );
}

/// The dynamic loader and libraries `exe` needs, copied to the same paths in `rootfs`, as a
/// glibc-based image has them (a static berth needs none).
fn copy_loader_and_libs(exe: &Path, rootfs: &Path) {
    let out = Command::new("ldd").arg(exe).output().unwrap();
    for word in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        if word.starts_with('/') && Path::new(word).exists() {
            let dst = rootfs.join(word.trim_start_matches('/'));
            std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
            std::fs::copy(word, &dst).unwrap();
        }
    }
}

/// CVE-2019-5736, the setup window: the init of a created container is berth itself, waiting
/// for `start` inside the container's namespaces. Another process in the container must not
/// get at its executable, memory or fds.
#[test]
fn cve_2019_5736_berth_init_is_not_dumpable_before_exec() {
    let root = Root::new();
    let b = Bundle::new(&base_config(&["/bin/true"]));
    let id = unique("created");
    root.ok(&["create", "--bundle", b.dir.to_str().unwrap(), &id]);
    let probe = "for f in exe mem environ; do (exec 3< /proc/1/$f) 2>/dev/null && echo open $f || echo denied $f; done; \
                 readlink /proc/1/exe || echo denied link; \
                 for f in /proc/1/fd/*; do readlink $f && echo LEAKED; done 2>/dev/null | grep -q . && echo fds || echo denied fds";
    let out = root.ok(&["exec", &id, "/bin/sh", "-c", probe]);
    assert_eq!(
        out, "denied exe\ndenied mem\ndenied environ\ndenied link\ndenied fds\n",
        "berth's init was reachable"
    );
    root.ok(&["delete", "-f", &id]);
}

/// CVE-2021-30465. A container sharing a host directory with the next one flips an entry of
/// it between a directory and a symlink to a host directory while the victim is created with
/// a mount on that entry, again and again. The victim's "/" is rslave, so an escaped mount is
/// never seen on the host: the victim reports where its tmpfs (marked by its size) landed.
/// The host directory is also bind-mounted (rbind, after the tmpfs) at /watch in the victim,
/// so a tmpfs that escaped onto it shows at /watch. Every run either fails or has its tmpfs
/// inside its rootfs (at /data/x, or at the symlink's target resolved inside the rootfs; or
/// nowhere, when the flipper's rmdir detached it), never at /watch; the host directory is
/// neither written nor mounted on.
#[test]
fn cve_2021_30465_mount_destination_swapped_for_a_symlink_stays_inside() {
    let root = Root::new();
    let shared = HostDir::new("shared");
    let outside = HostDir::new("outside");
    let flipper = format!(
        ": > /shared/ready; n=0; while [ $n -lt 20000 ] && [ ! -e /shared/stop ]; do n=$((n+1)); \
         rm -rf /shared/x; mkdir /shared/x; rmdir /shared/x; ln -s {} /shared/x; done",
        outside.0.display()
    );
    let mut a = base_config(&["/bin/sh", "-c", &flipper]);
    add_mount(
        &mut a,
        json!({"destination": "/shared", "type": "bind", "source": shared.0, "options": ["rbind"]}),
    );
    let ab = Bundle::new(&a);
    let attacker = start_detached(&root, &ab);
    assert!(wait_for(&shared.0.join("ready"), Duration::from_secs(10)));
    let victim = "grep size=1236k /proc/self/mountinfo | cut -d' ' -f5; ls /watch";
    let (vb, _) = own_rootfs(&["/bin/sh", "-c", victim], |c| {
        add_mount(
            c,
            json!({"destination": "/data", "type": "bind", "source": shared.0, "options": ["rbind"]}),
        );
        add_mount(
            c,
            json!({"destination": "/data/x", "type": "tmpfs", "source": "tmpfs", "options": ["size=1236k"]}),
        );
        add_mount(
            c,
            json!({"destination": "/watch", "type": "bind", "source": outside.0, "options": ["rbind"]}),
        );
    });
    let inside = [
        String::new(),
        "/data/x\n".to_string(),
        format!("{}\n", outside.0.display()),
    ];
    let mut ran = 0;
    for _ in 0..15 {
        let id = unique("victim");
        let mut cmd = root.cmd();
        cmd.args(["run", "--bundle", vb.dir.to_str().unwrap(), &id]);
        let out = output_via_files(&mut cmd);
        let _ = root.berth(&["delete", "-f", &id]);
        if out.status.success() {
            ran += 1;
            let seen = String::from_utf8_lossy(&out.stdout);
            assert!(
                inside.contains(&seen.to_string()),
                "the victim's tmpfs is not (only) at /data/x; mounts and /watch: {seen:?}"
            );
        }
        assert_eq!(
            std::fs::read_dir(&outside.0).unwrap().count(),
            0,
            "the host directory was written"
        );
        assert!(!host_mountinfo().contains(outside.0.to_str().unwrap()));
    }
    eprintln!("CVE-2021-30465: {ran} of 15 victims ran");
    std::fs::write(shared.0.join("stop"), "").unwrap();
    root.ok(&["delete", "-f", &attacker]);
    assert!(!host_mountinfo().contains(outside.0.to_str().unwrap()));
}

/// CVE-2024-21626, cwd: process.cwd (and `exec --cwd`) through one of berth's own fds would
/// start the process in a host directory. Refused, or inside the container.
#[test]
fn cve_2024_21626_cwd_through_a_leaked_fd() {
    let root = Root::new();
    let script = "cd ..; cd ..; cd ..; ls / | tr '\\n' ' '";
    for fd in 3..12 {
        let mut c = base_config(&["/bin/sh", "-c", script]);
        c["process"]["cwd"] = json!(format!("/proc/self/fd/{fd}"));
        let (code, out, _) = root.run(&c);
        assert!(
            code != 0 || !out.contains("home") && !out.contains("usr"),
            "fd {fd}: {out}"
        );
    }
    let b = Bundle::new(&base_config(&["/bin/sleep", "60"]));
    let id = start_detached(&root, &b);
    for fd in 3..12 {
        let cwd = format!("/proc/self/fd/{fd}");
        let out = root.berth(&["exec", "--cwd", &cwd, &id, "/bin/sh", "-c", script]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !out.status.success() || !text.contains("home") && !text.contains("usr"),
            "exec fd {fd}: {text}"
        );
    }
    root.ok(&["delete", "-f", &id]);
}

/// CVE-2024-21626, args: the executable named through one of berth's fds still open at
/// execve (`/proc/self/fd/N/..` of a host procfs reaches every host process's root). The
/// container has CAP_SYS_PTRACE here, as a privileged one would, so only the fd stands in
/// the way. The host program is a busybox named `sh`; it must never run.
#[test]
fn cve_2024_21626_executable_through_a_leaked_fd() {
    let root = Root::new();
    let host = HostDir::new("hostbin");
    std::fs::copy("/bin/busybox", host.0.join("sh")).unwrap();
    let me = std::process::id();
    let b = Bundle::new(&base_config(&["/bin/sleep", "60"]));
    let id = start_detached(&root, &b);
    for fd in 3..12 {
        let exe = format!("/proc/self/fd/{fd}/../../{me}/root{}/sh", host.0.display());
        let mut c = base_config(&[&exe, "-c", "echo ESCAPED"]);
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set]
                .as_array_mut()
                .unwrap()
                .push(json!("CAP_SYS_PTRACE"));
        }
        let (_, out, _) = root.run(&c);
        assert!(!out.contains("ESCAPED"), "run, fd {fd}: a host binary ran");
        let out = root.berth(&[
            "exec",
            "--cap",
            "CAP_SYS_PTRACE",
            &id,
            &exe,
            "-c",
            "echo ESCAPED",
        ]);
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("ESCAPED"),
            "exec, fd {fd}: a host binary ran"
        );
    }
    root.ok(&["delete", "-f", &id]);
}

/// CVE-2024-21626, the fds themselves: the container's init and an exec'd process hold only
/// stdio (the extra fd is the one ls opens to read the directory).
#[test]
fn cve_2024_21626_no_host_fd_survives_into_the_container() {
    let root = Root::new();
    let b = Bundle::new(&base_config(&["/bin/sleep", "60"]));
    let id = start_detached(&root, &b);
    let out = root.ok(&[
        "exec",
        &id,
        "/bin/sh",
        "-c",
        "ls /proc/1/fd | sort -n | tr '\\n' ' '; echo; ls /proc/self/fd | sort -n | tr '\\n' ' '",
    ]);
    assert_eq!(out, "0 1 2 \n0 1 2 3 ");
    root.ok(&["delete", "-f", &id]);
}

/// CVE-2025-31133. /dev comes from a directory shared with an attacking container, which
/// keeps replacing `null` in it with a symlink to `witness`, a writable regular file in the
/// same directory (the real attack points it at a /proc/sys file, but /proc/sys is already
/// read-only when masks apply, so a redirect there could not be seen). A masked path must
/// never become that file: the victim writes to every masked file, and `witness` must stay
/// empty, from the host and from inside every run. (The victim itself never opens its
/// /dev/null: the attacker may have swapped it by then, which berth cannot prevent.)
#[test]
fn cve_2025_31133_dev_null_swapped_for_a_symlink_before_masking() {
    let root = Root::new();
    let shared = HostDir::new("devdir");
    let witness = shared.0.join("witness");
    std::fs::write(&witness, "").unwrap();
    std::fs::set_permissions(
        &witness,
        std::os::unix::fs::PermissionsExt::from_mode(0o666),
    )
    .unwrap();
    let swapper = ": > /dev-shared/ready; n=0; while [ $n -lt 20000 ] && [ ! -e /dev-shared/stop ]; do n=$((n+1)); \
                   rm -f /dev-shared/null; ln -s /dev/witness /dev-shared/null; \
                   rm -f /dev-shared/null; mknod -m 666 /dev-shared/null c 1 3; done";
    let mut a = base_config(&["/bin/sh", "-c", swapper]);
    add_mount(
        &mut a,
        json!({"destination": "/dev-shared", "type": "bind", "source": shared.0, "options": ["rbind"]}),
    );
    for set in ["bounding", "effective", "permitted"] {
        a["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap()
            .push(json!("CAP_MKNOD"));
    }
    let ab = Bundle::new(&a);
    let attacker = start_detached(&root, &ab);
    assert!(wait_for(&shared.0.join("ready"), Duration::from_secs(10)));
    let victim_script = "for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do \
                         echo pwned > $f; done 2>/tmp/err; echo \"witness=$(cat /dev/witness)\"";
    let mut v = base_config(&["/bin/sh", "-c", victim_script]);
    let mounts: Vec<Value> = v["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| !m["destination"].as_str().unwrap().starts_with("/dev"))
        .cloned()
        .collect();
    v["mounts"] = json!(mounts);
    add_mount(
        &mut v,
        json!({"destination": "/dev", "type": "bind", "source": shared.0, "options": ["rbind"]}),
    );
    for _ in 0..15 {
        let (code, out, _) = root.run(&v);
        if code == 0 {
            assert_eq!(out, "witness=\n", "a masked path became the witness file");
        }
        assert_eq!(
            std::fs::read_to_string(&witness).unwrap(),
            "",
            "a masked path became the witness file"
        );
    }
    std::fs::write(shared.0.join("stop"), "").unwrap();
    root.ok(&["delete", "-f", &attacker]);
    // The static form: a symlink in place of /dev/null is refused outright.
    let _ = std::fs::remove_file(shared.0.join("null"));
    std::os::unix::fs::symlink("/proc/sys/kernel/hostname", shared.0.join("null")).unwrap();
    let (code, out, err) = root.run(&v);
    assert_ne!(code, 0, "masked with a symlinked /dev/null: {out}");
    assert!(err.contains("/dev/null"), "{err}");
}

/// CVE-2025-52565. /dev comes from a host directory in which /dev/console is a symlink to a
/// /proc file (the container's own hostname, harmless and visible). Without a terminal berth
/// mounts nothing there; with one, the pty must not be bind-mounted through the symlink:
/// berth refuses, and the symlink and the /proc file stay as they were.
#[test]
fn cve_2025_52565_dev_console_symlink_is_never_mounted_over() {
    let root = Root::new();
    let dev = HostDir::new("devconsole");
    std::os::unix::fs::symlink("/proc/sys/kernel/hostname", dev.0.join("console")).unwrap();
    std::os::unix::fs::symlink("pts/ptmx", dev.0.join("ptmx")).unwrap();
    nix::sys::stat::mknod(
        &dev.0.join("null"),
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o666),
        nix::sys::stat::makedev(1, 3),
    )
    .unwrap();
    let script = "awk '$5 ~ /console|hostname/ {print $5}' /proc/self/mountinfo; hostname";
    let mut c = base_config(&["/bin/sh", "-c", script]);
    let mounts: Vec<Value> = c["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["destination"] != "/dev")
        .cloned()
        .collect();
    c["mounts"] = json!(mounts);
    // Before /dev/pts and the others, which it would otherwise cover.
    c["mounts"].as_array_mut().unwrap().insert(
        1,
        json!({"destination": "/dev", "type": "bind", "source": dev.0, "options": ["rbind"]}),
    );
    let (code, out, err) = root.run(&c);
    assert_eq!((code, out.as_str()), (0, "berth-test\n"), "{err}");

    c["process"]["terminal"] = json!(true);
    let b = Bundle::new(&c);
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut cmd = root.cmd();
    cmd.args([
        "run",
        "--bundle",
        b.dir.to_str().unwrap(),
        &unique("console"),
    ])
    .stdin(Stdio::from(pty.slave.try_clone().unwrap()))
    .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
    .stderr(Stdio::from(pty.slave.try_clone().unwrap()));
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "berth run did not finish");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut said = Vec::new();
    nix::fcntl::fcntl(
        &pty.master,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .unwrap();
    let mut buf = [0u8; 4096];
    while let Ok(n) = nix::unistd::read(&pty.master, &mut buf) {
        if n == 0 {
            break;
        }
        said.extend_from_slice(&buf[..n]);
    }
    let said = String::from_utf8_lossy(&said);
    assert!(
        !status.success(),
        "the pty was mounted through the symlink: {said}"
    );
    assert!(said.contains("/dev/console"), "{said}");
    assert!(std::fs::symlink_metadata(dev.0.join("console"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(!host_mountinfo().contains("/proc/sys/kernel/hostname"));
}

/// The /proc redirect class: an image whose /proc (or /sys) is a symlink would get procfs
/// (sysfs) mounted at the link's target, somewhere the image chose, while everything berth
/// and the container expect at /proc (maskedPaths, readonlyPaths, sysctl, LSM attributes)
/// follows the link. Refused before anything runs, as runc does: the target stays an empty
/// directory, nothing is mounted on the host, nothing is left behind.
#[test]
fn proc_and_sysfs_redirected_by_a_symlink_are_refused() {
    for (dir, typ) in [("proc", "proc"), ("sys", "sysfs")] {
        let root = Root::new();
        let (b, rootfs) = own_rootfs(
            &[
                "/bin/sh",
                "-c",
                "cat /proc/self/status >/dev/null && echo started",
            ],
            |_| {},
        );
        std::fs::remove_dir(rootfs.join(dir)).unwrap();
        std::fs::create_dir(rootfs.join("redirected")).unwrap();
        std::os::unix::fs::symlink("/redirected", rootfs.join(dir)).unwrap();
        let out = root.berth(&["run", "--bundle", b.dir.to_str().unwrap(), &unique("redir")]);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            messages(&String::from_utf8_lossy(&out.stderr)),
        );
        assert!(!out.status.success(), "{typ}: the container ran: {stdout}");
        assert!(!stdout.contains("started"), "{typ}: {stdout}");
        assert!(
            stderr.contains(&format!(
                "filesystem \"{typ}\" must be mounted on ordinary directory"
            )),
            "{typ}: {stderr}"
        );
        assert_eq!(
            std::fs::read_dir(rootfs.join("redirected"))
                .unwrap()
                .count(),
            0,
            "{typ}: something was made at the link's target"
        );
        assert!(!host_mountinfo().contains("redirected"));
        root.assert_clean(Some(&b));
    }
}

/// CVE-2025-52881. By the time berth writes linux.sysctl, a mount (made here by a
/// createContainer hook in the container's mount namespace, as a racing container with a
/// shared mount would) has put another /proc file over the one berth writes: the container's
/// own domainname, so a redirected write is visible and harmless. berth must refuse to write
/// through the mount.
#[test]
fn cve_2025_52881_sysctl_write_redirected_by_a_mount_is_refused() {
    let root = Root::new();
    let (b, rootfs) = own_rootfs(&["/bin/cat", "/proc/sys/kernel/domainname"], |_| {});
    let hook = b.dir.join("overmount.sh");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\nexec mount --bind {r}/proc/sys/kernel/domainname {r}/proc/sys/net/ipv4/ip_forward\n",
            r = rootfs.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut c: Value =
        serde_json::from_str(&std::fs::read_to_string(b.dir.join("config.json")).unwrap()).unwrap();
    c["hooks"] = json!({"createContainer": [{"path": hook}]});
    c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
    c["domainname"] = json!("untouched");
    std::fs::write(b.dir.join("config.json"), c.to_string()).unwrap();
    let id = unique("sysctl");
    let mut cmd = root.cmd();
    cmd.args(["run", "--bundle", b.dir.to_str().unwrap(), &id]);
    let out = output_via_files(&mut cmd);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the write went through the mount: {stdout}"
    );
    assert!(
        stderr.contains("net.ipv4.ip_forward") || stderr.contains("ip_forward"),
        "{stderr}"
    );
    assert!(!stdout.contains('1'), "{stdout}");
}

/// A host disk not in linux.devices: the container, even with CAP_MKNOD, can make a node for
/// it but not open it (the device cgroup), and none is there to begin with.
#[test]
fn host_disk_node_made_in_the_container_cannot_be_opened() {
    let root = Root::new();
    let st = nix::sys::stat::stat("/").unwrap();
    let (major, minor) = (
        nix::sys::stat::major(st.st_dev),
        nix::sys::stat::minor(st.st_dev),
    );
    let script = format!(
        "ls /dev | grep -cE '^(sd|vd|nvme|xvd)'; mknod /dev/hostdisk b {major} {minor} && echo made; \
         head -c 512 /dev/hostdisk > /dev/null 2>&1 && echo READ || echo denied; \
         echo x 2>/dev/null > /dev/hostdisk && echo WROTE || echo denied"
    );
    let out = root.sh_with(&script, |c| {
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set]
                .as_array_mut()
                .unwrap()
                .push(json!("CAP_MKNOD"));
        }
    });
    assert_eq!(out, "0\nmade\ndenied\ndenied\n");
}

/// A static probe that reports its uids and capability sets, and tries to raise
/// CAP_SYS_ADMIN (effective and ambient) and to write a file owned by another user.
const PROBE_C: &str = r#"
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>
int main(void) {
    uid_t r, e, s;
    getresuid(&r, &e, &s);
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    syscall(SYS_capget, &h, d);
    printf("uid %u %u %u eff %08x%08x prm %08x%08x\n", r, e, s, d[1].effective, d[0].effective,
           d[1].permitted, d[0].permitted);
    d[0].effective |= 1u << CAP_SYS_ADMIN;
    d[0].permitted |= 1u << CAP_SYS_ADMIN;
    printf("capset %s\n", syscall(SYS_capset, &h, d) == 0 ? "RAISED" : "refused");
    printf("ambient %s\n",
           prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0) == 0 ? "RAISED" : "refused");
    FILE *f = fopen("/others", "w");
    printf("write %s\n", f ? "WROTE" : "refused");
    return 0;
}
"#;

/// A setuid-root copy of the probe in the container's rootfs, run as uid 1000: with
/// noNewPrivileges nothing is gained at all; without it and with every capability set empty,
/// the setuid bit gives euid 0 but no capability beyond the (empty) bounding set.
#[test]
fn setuid_binary_gains_nothing_beyond_nnp_and_the_bounding_set() {
    let root = Root::new();
    let src = HostDir::new("probe");
    std::fs::write(src.0.join("probe.c"), PROBE_C).unwrap();
    let built = Command::new("cc")
        .args(["-static", "-O", "-o"])
        .arg(src.0.join("probe"))
        .arg(src.0.join("probe.c"))
        .status()
        .expect("cc is needed to build the setuid probe");
    assert!(built.success(), "building the setuid probe failed");
    let run = |nnp: bool, caps: Value| {
        let (b, rootfs) = own_rootfs(&["/bin/suidprobe"], |c| {
            c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
            c["process"]["noNewPrivileges"] = json!(nnp);
            c["process"]["capabilities"] = caps;
        });
        let dst = rootfs.join("bin/suidprobe");
        std::fs::copy(src.0.join("probe"), &dst).unwrap();
        nix::unistd::chown(&dst, Some(0.into()), Some(0.into())).unwrap();
        std::fs::set_permissions(&dst, std::os::unix::fs::PermissionsExt::from_mode(0o4755))
            .unwrap();
        std::fs::write(rootfs.join("others"), "not yours").unwrap();
        nix::unistd::chown(&rootfs.join("others"), Some(4242.into()), Some(4242.into())).unwrap();
        std::fs::set_permissions(
            rootfs.join("others"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        let id = unique("suid");
        let mut cmd = root.cmd();
        cmd.args(["run", "--bundle", b.dir.to_str().unwrap(), &id]);
        let out = output_via_files(&mut cmd);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            std::fs::read_to_string(rootfs.join("others")).unwrap(),
            "not yours"
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let with_nnp = run(true, base_config(&[])["process"]["capabilities"].clone());
    assert_eq!(
        with_nnp,
        "uid 1000 1000 1000 eff 0000000000000000 prm 0000000000000000\n\
         capset refused\nambient refused\nwrite refused\n"
    );
    let empty =
        json!({"bounding": [], "effective": [], "permitted": [], "inheritable": [], "ambient": []});
    let without = run(false, empty);
    assert_eq!(
        without,
        "uid 1000 0 0 eff 0000000000000000 prm 0000000000000000\n\
         capset refused\nambient refused\nwrite refused\n"
    );
}
