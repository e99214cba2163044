//! Running a manager's command with a bounded wait: its output goes to files (a container a
//! manager starts may inherit a pipe and hold it open), and a command that overruns its time
//! is killed with its whole process group and fails the scenario.

use std::fs;
use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What a caller of the manager sees.
#[derive(Debug, Clone)]
pub struct Out {
    /// The exit code, or 128 + the signal that ended the command (as a shell reports it).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub secs: f64,
}

impl Out {
    /// Fails the scenario unless the command exited 0; returns its stdout.
    pub fn ok(&self, what: &str) -> String {
        assert_eq!(
            self.code, 0,
            "{what}: exit {}\nstdout: {}\nstderr: {}",
            self.code, self.stdout, self.stderr
        );
        self.stdout.clone()
    }
}

/// The default bound for one manager command.
pub const TIMEOUT: Duration = Duration::from_secs(60);

fn scratch() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("berth-managers-out.{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    dir.join(N.fetch_add(1, Ordering::Relaxed).to_string())
}

/// Removes the output files of this process's commands (at the end of the run).
pub fn remove_scratch() {
    let _ = fs::remove_dir_all(
        std::env::temp_dir().join(format!("berth-managers-out.{}", std::process::id())),
    );
}

/// Runs `cmd` with `input` on its stdin (none: /dev/null), waiting at most `timeout`.
pub fn run_input(cmd: &mut Command, input: Option<&[u8]>, timeout: Duration) -> Out {
    let base = scratch();
    let (out_path, err_path) = (base.with_extension("out"), base.with_extension("err"));
    cmd.stdout(fs::File::create(&out_path).unwrap())
        .stderr(fs::File::create(&err_path).unwrap())
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .process_group(0);
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"));
    if let Some(bytes) = input {
        let mut stdin = child.stdin.take().unwrap();
        // A command that exits without reading its input is not an error here.
        let _ = stdin.write_all(bytes);
    }
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > timeout {
            // SAFETY: kill(2) on the process group this function created; no memory involved.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
            let stderr = fs::read_to_string(&err_path).unwrap_or_default();
            panic!("{cmd:?} still running after {timeout:?}; killed. stderr: {stderr}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let secs = started.elapsed().as_secs_f64();
    let read = |p: &PathBuf| String::from_utf8_lossy(&fs::read(p).unwrap_or_default()).into_owned();
    let out = Out {
        code: status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        stdout: read(&out_path),
        stderr: read(&err_path),
        secs,
    };
    let _ = fs::remove_file(&out_path);
    let _ = fs::remove_file(&err_path);
    out
}

/// Runs `cmd` with no input and the default bound.
pub fn run(cmd: &mut Command) -> Out {
    run_input(cmd, None, TIMEOUT)
}

/// A shell command line (for `script`, pipes and the like), with the default bound.
pub fn sh(line: &str) -> Out {
    run(Command::new("sh").args(["-c", line]))
}

/// `line` run by `script` on a new pty, with no input. script's own input ends at once
/// (/dev/null); the terminal echoes what script sends for it as "^@" if the client has not
/// made it raw yet: a race, not the container's, so it is left out of stdout.
pub fn in_script(line: &str) -> Out {
    let mut out = sh(&format!("script -qec \"{line}\" /dev/null"));
    out.stdout = out.stdout.replace("^@", "");
    out
}

/// Waits (up to 20 s, else fails the scenario) until `ready`.
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(Instant::now() < deadline, "{what}: not so after 20 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}
