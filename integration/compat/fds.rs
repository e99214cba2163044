//! Socket activation (LISTEN_FDS) against runc: the container's init gets systemd's fds and
//! the LISTEN_* variables, with --preserve-fds counting after them; exec ignores LISTEN_FDS.

use super::{Outcome, Pair};
use crate::common::*;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

const SCRIPT: &str =
    "cat <&3; cat 2>/dev/null <&4 || echo no-4; echo \"$LISTEN_FDS $LISTEN_PID\"; \
                      ls /proc/self/fd | sort -n | tr '\\n' ' '";

/// Runs `root`'s runtime with `args` as systemd would after socket activation: fd 3 is the
/// one listening socket (here a file reading "listen"), LISTEN_FDS=1 and LISTEN_PID its own
/// pid (a shell sets it, then execs the runtime); fd 4 reads "preserved".
fn activated(root: &Root, args: &[&str]) -> Outcome {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(unique("listen"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("3"), "listen\n").unwrap();
    std::fs::write(dir.join("4"), "preserved\n").unwrap();
    let (f3, f4) = (
        std::fs::File::open(dir.join("3")).unwrap(),
        std::fs::File::open(dir.join("4")).unwrap(),
    );
    let (a, b) = (f3.as_raw_fd(), f4.as_raw_fd());
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", "LISTEN_PID=$$ LISTEN_FDS=1 exec \"$0\" \"$@\""])
        .arg(&root.bin)
        .arg("--root")
        .arg(&root.dir)
        .args(args)
        .stdin(Stdio::null());
    // SAFETY (test): fcntl and dup2 in the child before exec; copies above 100 first, so
    // dup2 never meets its own fd (which would keep FD_CLOEXEC).
    unsafe {
        cmd.pre_exec(move || {
            let (x, y) = (
                libc::fcntl(a, libc::F_DUPFD_CLOEXEC, 100),
                libc::fcntl(b, libc::F_DUPFD_CLOEXEC, 100),
            );
            if x < 0 || y < 0 || libc::dup2(x, 3) < 0 || libc::dup2(y, 4) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = Outcome::from_cmd(&mut cmd);
    std::fs::remove_dir_all(&dir).unwrap();
    out
}

/// run: fd 3 is the activation socket, --preserve-fds 1 passes fd 4 after it, and the
/// process sees LISTEN_FDS=1 LISTEN_PID=1.
#[test]
fn run_passes_socket_activation_fds_and_env() {
    let pair = Pair::new();
    let b = Bundle::new(&base_config(&["/bin/sh", "-c", SCRIPT]));
    let dir = b.dir.to_str().unwrap();
    let (ob, or) =
        pair.both(|root, id| activated(root, &["run", "--preserve-fds", "1", "--bundle", dir, id]));
    assert_eq!(
        (or.code, or.stdout.as_str()),
        (0, "listen\npreserved\n1 1\n0 1 2 3 4 5 "),
        "runc: {or:?}"
    );
    assert_eq!(
        (ob.code, ob.stdout.as_str()),
        (or.code, or.stdout.as_str()),
        "berth: {ob:?}"
    );
}

/// exec: LISTEN_FDS is ignored (it is for the container's init): --preserve-fds 1 passes
/// fd 3, fd 4 is closed, and the process gets no LISTEN_* variables.
#[test]
fn exec_ignores_socket_activation() {
    let pair = Pair::new();
    let b = Bundle::new(&base_config(&["/bin/sleep", "600"]));
    let dir = b.dir.to_str().unwrap();
    let (ob, or) = pair.both(|root, id| {
        root.ok(&["run", "-d", "--bundle", dir, id]);
        let out = activated(
            root,
            &["exec", "--preserve-fds", "1", id, "/bin/sh", "-c", SCRIPT],
        );
        root.ok(&["delete", "-f", id]);
        out
    });
    assert_eq!(
        (or.code, or.stdout.as_str()),
        (0, "listen\nno-4\n \n0 1 2 3 4 "),
        "runc: {or:?}"
    );
    assert_eq!(
        (ob.code, ob.stdout.as_str()),
        (or.code, or.stdout.as_str()),
        "berth: {ob:?}"
    );
}
