//! Real-mount tests: each runs prepare() and finalize() in a forked child that has its own
//! mount (and ipc, uts) namespace, on a tiny rootfs in a temp dir, then checks the result from
//! inside. The child's mounts die with its namespace, so nothing is left on the host; the temp
//! dir is removed afterwards. Needs root.

use anyhow::{anyhow, ensure, Context, Result};
use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult};
use oci_spec::runtime::Spec;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{enter, finalize, validate, RootfsSetup};

/// init's step 4 without the hooks that run in its middle: the mounts, then pivot_root.
fn prepare(setup: &RootfsSetup) -> Result<()> {
    super::prepare(setup)?;
    enter(setup)
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory for one test, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("berth-rootfs-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p.canonicalize().unwrap())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `f` in a forked child with new mount, ipc and uts namespaces and "/" made rprivate.
/// The child reports through its exit code; an error's text comes back through a pipe.
pub(crate) fn in_child(f: impl FnOnce() -> Result<()>) -> Result<(), String> {
    let (r, w) = nix::unistd::pipe().unwrap();
    // SAFETY: the child only runs this test's code and leaves with _exit; glibc's malloc is
    // fork-safe, and the child writes errors with write(2), taking no Rust stdio lock.
    match unsafe { fork() }.unwrap() {
        ForkResult::Child => {
            drop(r);
            let res = (|| {
                unshare(
                    CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWIPC | CloneFlags::CLONE_NEWUTS,
                )?;
                mount(
                    None::<&str>,
                    "/",
                    None::<&str>,
                    MsFlags::MS_REC | MsFlags::MS_PRIVATE,
                    None::<&str>,
                )?;
                f()
            })();
            let code = match res {
                Ok(()) => 0,
                Err(e) => {
                    let msg = format!("{e:#}");
                    // SAFETY: writing a valid buffer to our pipe end.
                    unsafe { libc::write(w.as_raw_fd(), msg.as_ptr().cast(), msg.len()) };
                    1
                }
            };
            // SAFETY: leaving the forked child without running the test harness's cleanup.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => {
            drop(w);
            let mut msg = String::new();
            std::fs::File::from(r).read_to_string(&mut msg).unwrap();
            match waitpid(child, None).unwrap() {
                WaitStatus::Exited(_, 0) => Ok(()),
                other => Err(format!("child {other:?}: {msg}")),
            }
        }
    }
}

fn spec(json: &str) -> Spec {
    serde_json::from_str(json).unwrap()
}

/// The mountinfo line (after pivot: the container's view) of `mount_point`, topmost.
fn mount_at(mount_point: &str) -> Result<procfs::process::MountInfo> {
    let all = procfs::process::Process::myself()?.mountinfo()?;
    all.0
        .into_iter()
        .rev()
        .find(|m| m.mount_point == Path::new(mount_point))
        .ok_or_else(|| anyhow!("no mount at {mount_point}"))
}

fn has_opt(m: &procfs::process::MountInfo, o: &str) -> bool {
    m.mount_options.contains_key(o)
}

fn is_erofs(r: std::io::Result<impl Sized>) -> bool {
    matches!(r, Err(e) if e.raw_os_error() == Some(libc::EROFS))
}

/// A tiny rootfs: busybox, an /etc with content for tmpcopyup, a symlink pointing out of the
/// rootfs, a file and a directory to mask, a directory to make read-only.
fn make_rootfs(base: &Path, outside: &Path) -> PathBuf {
    let rootfs = base.join("rootfs");
    for d in ["bin", "etc/copy", "proc", "dev", "secret-dir", "writable"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    std::fs::write(rootfs.join("etc/copy/f"), "x").unwrap();
    std::fs::set_permissions(
        rootfs.join("etc/copy/f"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    std::os::unix::fs::symlink("f", rootfs.join("etc/copy/l")).unwrap();
    std::fs::write(rootfs.join("secret-file"), "secret").unwrap();
    std::fs::write(rootfs.join("secret-dir/s"), "secret").unwrap();
    std::os::unix::fs::symlink(outside, rootfs.join("link")).unwrap();
    rootfs
}

#[test]
fn prepare_and_finalize_build_the_configured_rootfs() {
    let tmp = TempDir::new("full");
    let base = &tmp.0;
    let outside = base.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let rootfs = make_rootfs(base, &outside);
    let data = base.join("data");
    std::fs::create_dir_all(data.join("sub")).unwrap();
    std::fs::write(data.join("hello"), "hi").unwrap();
    let s = spec(&format!(
        r#"{{"ociVersion":"1.2.0","root":{{"path":"rootfs","readonly":true}},
        "mounts":[
          {{"destination":"/proc","type":"proc","source":"proc"}},
          {{"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]}},
          {{"destination":"/dev/pts","type":"devpts","source":"devpts","options":["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620"]}},
          {{"destination":"/run","type":"tmpfs","source":"tmpfs","options":["nosuid","nodev","size=1m","mode=1770"]}},
          {{"destination":"/data","type":"bind","source":"{data}","options":["bind","ro","nosuid"]}},
          {{"destination":"/rdata","source":"{data}","options":["rbind","rro"]}},
          {{"destination":"/link/inner","type":"tmpfs","source":"tmpfs"}},
          {{"destination":"/etc/copy","type":"tmpfs","source":"tmpfs","options":["tmpcopyup","mode=700"]}},
          {{"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]}},
          {{"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["nosuid","noexec","nodev","relatime","ro"]}}
        ],
        "linux":{{
          "namespaces":[{{"type":"mount"}},{{"type":"ipc"}},{{"type":"uts"}}],
          "devices":[{{"path":"/dev/fifo","type":"p","fileMode":384}},
                     {{"path":"/dev/net/tun","type":"c","major":10,"minor":200,"fileMode":432,"uid":7,"gid":8}}],
          "sysctl":{{"kernel.shmmni":"1234","kernel.domainname":"berth-test"}},
          "maskedPaths":["/proc/kcore","/proc/timer_list","/proc/acpi","/secret-file","/secret-dir","/nonexistent"],
          "readonlyPaths":["/proc/sys","/writable","/also-nonexistent"]
        }}}}"#,
        data = data.display()
    ));
    validate(&s).unwrap();
    crate::sysctl::validate(&s).unwrap();
    let outside_in_root = Path::new("/").join(outside.strip_prefix("/").unwrap());
    let res = in_child(|| {
        // A submount in the rbind source, to see rro reach it.
        mount(
            Some("tmpfs"),
            &data.join("sub"),
            Some("tmpfs"),
            MsFlags::empty(),
            None::<&str>,
        )?;
        prepare(&RootfsSetup {
            spec: &s,
            rootfs: &rootfs,
            no_pivot: false,
            userns: false,
            cgroupns: false,
            mountns: true,
            cgroup_gate: &|| Ok(()),
            idmapped: &[],
        })?;
        crate::sysctl::apply(&s)?;
        finalize(&s)?;
        check_full(&outside_in_root)
    });
    res.unwrap();
    // The symlinked destination landed inside the rootfs, not in the host's directory.
    assert!(std::fs::read_dir(&outside).unwrap().next().is_none());
    assert!(rootfs
        .join(outside.strip_prefix("/").unwrap())
        .join("inner")
        .is_dir());
}

fn check_full(outside_in_root: &Path) -> Result<()> {
    ensure!(std::env::current_dir()? == Path::new("/"), "cwd is not /");
    ensure!(
        Path::new("/bin/busybox").is_file(),
        "busybox missing: not in the new root"
    );
    let tmp = mount_at("/run")?;
    ensure!(
        tmp.fs_type == "tmpfs" && has_opt(&tmp, "nosuid") && has_opt(&tmp, "nodev"),
        "/run: {tmp:?}"
    );
    ensure!(
        tmp.super_options.get("size") == Some(&Some("1024k".into())),
        "/run size: {tmp:?}"
    );
    ensure!(
        tmp.super_options.get("mode") == Some(&Some("1770".into())),
        "/run mode: {tmp:?}"
    );

    let d = mount_at("/data")?;
    ensure!(has_opt(&d, "ro") && has_opt(&d, "nosuid"), "/data: {d:?}");
    ensure!(
        std::fs::read_to_string("/data/hello").with_context(|| format!("{:?}", "/data/hello"))?
            == "hi",
        "/data content"
    );
    ensure!(
        is_erofs(std::fs::write("/data/new", "x")),
        "/data is writable"
    );
    ensure!(
        has_opt(&mount_at("/rdata")?, "ro") && has_opt(&mount_at("/rdata/sub")?, "ro"),
        "rro not recursive"
    );

    let escaped = outside_in_root.join("inner");
    ensure!(
        mount_at(escaped.to_str().unwrap())?.fs_type == "tmpfs",
        "symlinked destination not mounted"
    );
    ensure!(
        std::fs::canonicalize("/link/inner").with_context(|| format!("{:?}", "/link/inner"))?
            == escaped,
        "/link/inner resolves elsewhere"
    );

    let copy = mount_at("/etc/copy")?;
    ensure!(copy.fs_type == "tmpfs", "/etc/copy is not the tmpfs");
    ensure!(
        std::fs::read_to_string("/etc/copy/f").with_context(|| format!("{:?}", "/etc/copy/f"))?
            == "x",
        "tmpcopyup content"
    );
    ensure!(
        std::fs::metadata("/etc/copy/f")
            .with_context(|| format!("{:?}", "/etc/copy/f"))?
            .permissions()
            .mode()
            & 0o7777
            == 0o640,
        "tmpcopyup mode"
    );
    ensure!(
        std::fs::read_link("/etc/copy/l").with_context(|| format!("{:?}", "/etc/copy/l"))?
            == Path::new("f"),
        "tmpcopyup symlink"
    );

    let null = std::fs::metadata("/dev/null").with_context(|| format!("{:?}", "/dev/null"))?;
    ensure!(
        null.file_type().is_char_device() && null.rdev() == libc::makedev(1, 3),
        "/dev/null"
    );
    for dev in ["zero", "full", "random", "urandom", "tty"] {
        ensure!(
            std::fs::metadata(format!("/dev/{dev}"))
                .with_context(|| format!("{:?}", format!("/dev/{dev}")))?
                .file_type()
                .is_char_device(),
            "/dev/{dev}"
        );
    }
    let tun = std::fs::metadata("/dev/net/tun").with_context(|| format!("{:?}", "/dev/net/tun"))?;
    ensure!(
        tun.rdev() == libc::makedev(10, 200) && tun.mode() & 0o7777 == 0o660,
        "/dev/net/tun: {tun:?}"
    );
    ensure!((tun.uid(), tun.gid()) == (7, 8), "/dev/net/tun owner");
    let fifo = std::fs::metadata("/dev/fifo").with_context(|| format!("{:?}", "/dev/fifo"))?;
    ensure!(
        fifo.file_type().is_fifo() && fifo.mode() & 0o7777 == 0o600,
        "/dev/fifo"
    );
    ensure!(
        std::fs::read_link("/dev/fd").with_context(|| format!("{:?}", "/dev/fd"))?
            == Path::new("/proc/self/fd"),
        "/dev/fd"
    );
    ensure!(
        std::fs::read_link("/dev/stderr").with_context(|| format!("{:?}", "/dev/stderr"))?
            == Path::new("/proc/self/fd/2"),
        "/dev/stderr"
    );
    ensure!(
        std::fs::read_link("/dev/ptmx").with_context(|| format!("{:?}", "/dev/ptmx"))?
            == Path::new("pts/ptmx"),
        "/dev/ptmx"
    );

    // /proc/kcore may not exist (then it is skipped); /proc/timer_list and /proc/acpi do here.
    let timer_list = std::fs::metadata("/proc/timer_list").context("/proc/timer_list")?;
    ensure!(
        timer_list.rdev() == libc::makedev(1, 3),
        "/proc/timer_list not masked"
    );
    ensure!(
        std::fs::read_to_string("/proc/timer_list")?.is_empty(),
        "/proc/timer_list readable"
    );
    if Path::new("/proc/acpi").exists() {
        ensure!(
            mount_at("/proc/acpi")?.fs_type == "tmpfs",
            "/proc/acpi not masked"
        );
    }
    ensure!(
        std::fs::read_to_string("/secret-file")
            .with_context(|| format!("{:?}", "/secret-file"))?
            .is_empty(),
        "/secret-file readable"
    );
    ensure!(
        std::fs::read_dir("/secret-dir")
            .with_context(|| format!("{:?}", "/secret-dir"))?
            .next()
            .is_none(),
        "/secret-dir not empty"
    );
    ensure!(
        has_opt(&mount_at("/secret-dir")?, "ro"),
        "/secret-dir mask not read-only"
    );

    ensure!(
        std::fs::read_to_string("/proc/sys/kernel/shmmni")
            .with_context(|| format!("{:?}", "/proc/sys/kernel/shmmni"))?
            .trim()
            == "1234",
        "sysctl shmmni"
    );
    ensure!(
        std::fs::read_to_string("/proc/sys/kernel/domainname")
            .with_context(|| format!("{:?}", "/proc/sys/kernel/domainname"))?
            .trim()
            == "berth-test",
        "sysctl domainname"
    );
    ensure!(
        is_erofs(std::fs::write("/proc/sys/kernel/shmmni", "99")),
        "/proc/sys writable"
    );
    ensure!(
        is_erofs(std::fs::write("/writable/x", "x")),
        "/writable writable"
    );
    ensure!(
        is_erofs(std::fs::write("/newfile", "x")),
        "root not read-only"
    );
    ensure!(std::fs::write("/run/x", "x").is_ok(), "/run not writable");
    check_cgroups()
}

/// The "cgroup" mount, on whatever the host has: cgroup2 on a pure v2 host, else a tmpfs
/// (writable, as runc leaves it) with one read-only bind per v1 hierarchy holding this
/// process's own cgroup (the unified one of a hybrid host left out, as by runc).
fn check_cgroups() -> Result<()> {
    let top = mount_at("/sys/fs/cgroup")?;
    if top.fs_type == "cgroup2" {
        ensure!(has_opt(&top, "ro"), "cgroup2 not read-only: {top:?}");
        return Ok(());
    }
    ensure!(
        top.fs_type == "tmpfs" && has_opt(&top, "rw"),
        "cgroup tmpfs: {top:?}"
    );
    let own = std::fs::read_to_string("/proc/self/cgroup")?;
    let mut seen = 0;
    for entry in std::fs::read_dir("/sys/fs/cgroup")? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_symlink() {
            continue;
        }
        let m = mount_at(path.to_str().unwrap())?;
        ensure!(
            m.fs_type == "cgroup" && has_opt(&m, "ro") && has_opt(&m, "nosuid"),
            "{m:?}"
        );
        // The bind shows this process's own cgroup: its cgroup.procs lists us.
        let procs = std::fs::read_to_string(path.join("cgroup.procs"))
            .with_context(|| format!("{path:?}"))?;
        ensure!(
            procs.lines().any(|l| l == std::process::id().to_string()),
            "{path:?} is not our cgroup"
        );
        seen += 1;
    }
    ensure!(
        seen + 1 >= own.lines().count(),
        "hierarchies missing: saw {seen} for {own}"
    );
    Ok(())
}

#[test]
fn no_pivot_moves_the_rootfs_and_hides_the_hosts_proc() {
    let tmp = TempDir::new("nopivot");
    let outside = tmp.0.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let rootfs = make_rootfs(&tmp.0, &outside);
    let s = spec(
        r#"{"ociVersion":"1.2.0","root":{"path":"rootfs"},
        "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
                  {"destination":"/dev","type":"tmpfs","source":"tmpfs"}],
        "linux":{"namespaces":[{"type":"mount"}],"rootfsPropagation":"private"}}"#,
    );
    validate(&s).unwrap();
    in_child(|| {
        prepare(&RootfsSetup {
            spec: &s,
            rootfs: &rootfs,
            no_pivot: true,
            userns: false,
            cgroupns: false,
            mountns: true,
            cgroup_gate: &|| Ok(()),
            idmapped: &[],
        })?;
        finalize(&s)?;
        ensure!(
            Path::new("/bin/busybox").is_file(),
            "not chrooted into the rootfs"
        );
        let procs = procfs::process::Process::myself()?.mountinfo()?;
        let visible: Vec<_> = procs.0.iter().filter(|m| m.fs_type == "proc").collect();
        ensure!(visible.len() == 1, "host procfs still mounted: {visible:?}");
        let root = mount_at("/")?;
        ensure!(
            !root
                .opt_fields
                .iter()
                .any(|f| !matches!(f, procfs::process::MountOptFields::Unbindable)),
            "/ not private: {root:?}"
        );
        Ok(())
    })
    .unwrap();
}

#[test]
fn mask_refuses_a_dev_null_that_is_not_the_null_device() {
    let tmp = TempDir::new("fakenull");
    let outside = tmp.0.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let rootfs = make_rootfs(&tmp.0, &outside);
    // A /dev bound from elsewhere (so berth makes no devices) whose "null" is a symlink.
    let fake_dev = tmp.0.join("fakedev");
    std::fs::create_dir_all(&fake_dev).unwrap();
    std::os::unix::fs::symlink("/secret-file", fake_dev.join("null")).unwrap();
    let s = spec(&format!(
        r#"{{"ociVersion":"1.2.0","root":{{"path":"rootfs"}},
        "mounts":[{{"destination":"/dev","type":"bind","source":"{}","options":["rbind"]}}],
        "linux":{{"namespaces":[{{"type":"mount"}}],"maskedPaths":["/etc/copy/f"]}}}}"#,
        fake_dev.display()
    ));
    validate(&s).unwrap();
    let err = in_child(|| {
        let setup = RootfsSetup {
            spec: &s,
            rootfs: &rootfs,
            no_pivot: false,
            userns: false,
            cgroupns: false,
            mountns: true,
            cgroup_gate: &|| Ok(()),
            idmapped: &[],
        };
        prepare(&setup)?;
        finalize(&s)
    })
    .unwrap_err();
    assert!(err.contains("/dev/null is not the null device"), "{err}");
    assert!(err.contains("linux.maskedPaths: /etc/copy/f"), "{err}");
}

#[test]
fn mounts_into_proc_are_refused() {
    let tmp = TempDir::new("procmount");
    let outside = tmp.0.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let rootfs = make_rootfs(&tmp.0, &outside);
    let s = spec(
        r#"{"ociVersion":"1.2.0","root":{"path":"rootfs"},
        "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
                  {"destination":"/proc/sys","type":"tmpfs","source":"tmpfs"}],
        "linux":{"namespaces":[{"type":"mount"}]}}"#,
    );
    let err = in_child(|| {
        let setup = RootfsSetup {
            spec: &s,
            rootfs: &rootfs,
            no_pivot: false,
            userns: false,
            cgroupns: false,
            mountns: true,
            cgroup_gate: &|| Ok(()),
            idmapped: &[],
        };
        prepare(&setup)
    })
    .unwrap_err();
    assert!(
        err.contains("mounts[1] (/proc/sys)") && err.contains("inside /proc"),
        "{err}"
    );
}

#[test]
fn in_a_user_namespace_devices_are_bound_and_locked_flags_kept() {
    let tmp = TempDir::new("userns");
    let outside = tmp.0.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let rootfs = make_rootfs(&tmp.0, &outside);
    let locked = tmp.0.join("locked");
    std::fs::create_dir_all(&locked).unwrap();
    let s = spec(&format!(
        r#"{{"ociVersion":"1.2.0","root":{{"path":"rootfs"}},
        "mounts":[{{"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","mode=755"]}},
                  {{"destination":"/locked","source":"{}","options":["bind","ro"]}},
                  {{"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]}}],
        "linux":{{"namespaces":[{{"type":"mount"}},{{"type":"user"}}],
                 "uidMappings":[{{"containerID":0,"hostID":0,"size":1}}],
                 "gidMappings":[{{"containerID":0,"hostID":0,"size":1}}],
                 "maskedPaths":["/secret-file","/secret-dir"]}}}}"#,
        locked.display()
    ));
    validate(&s).unwrap();
    in_child(|| {
        // Flags set here become locked once a less privileged mount namespace copies them.
        mount(
            Some("tmpfs"),
            &locked,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            None::<&str>,
        )?;
        std::fs::write(locked.join("f"), "locked")?;
        unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS)?;
        std::fs::write("/proc/self/setgroups", "deny")?;
        std::fs::write("/proc/self/uid_map", "0 0 1")?;
        std::fs::write("/proc/self/gid_map", "0 0 1")?;
        let setup = RootfsSetup {
            spec: &s,
            rootfs: &rootfs,
            no_pivot: false,
            userns: true,
            cgroupns: false,
            mountns: true,
            cgroup_gate: &|| Ok(()),
            idmapped: &[],
        };
        prepare(&setup)?;
        finalize(&s)?;
        // No /proc in this container: look at mounts through a fresh statvfs instead.
        let flags = |p: &str| -> Result<libc::c_ulong> {
            let fd = nix::fcntl::open(p, nix::fcntl::OFlag::O_PATH, nix::sys::stat::Mode::empty())?;
            Ok(super::sys::mount_flags(std::os::fd::AsFd::as_fd(&fd))?)
        };
        let f = flags("/locked")?;
        let want = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
        ensure!(
            f & want == want,
            "/locked flags {f:#x}: ro asked, nosuid/nodev/noexec locked"
        );
        ensure!(
            std::fs::read_to_string("/locked/f")? == "locked",
            "/locked content"
        );
        let null = std::fs::metadata("/dev/null")?;
        ensure!(
            null.file_type().is_char_device() && null.rdev() == libc::makedev(1, 3),
            "/dev/null not bound"
        );
        ensure!(
            std::fs::metadata("/dev/tty")?.rdev() == libc::makedev(5, 0),
            "/dev/tty not bound"
        );
        ensure!(
            std::fs::read_to_string("/secret-file")?.is_empty(),
            "/secret-file not masked"
        );
        ensure!(
            std::fs::read_dir("/secret-dir")?.next().is_none(),
            "/secret-dir not masked"
        );
        ensure!(
            flags("/sys")? & libc::MS_RDONLY != 0,
            "/sys (bound from the host) not read-only"
        );
        ensure!(Path::new("/sys/kernel").is_dir(), "/sys not there");
        Ok(())
    })
    .unwrap();
}
