//! The daemons a run starts (containerd, dockerd): each with its own state under the run's
//! directory, waited for with a bounded timeout, and stopped on every exit path: by `Drop`,
//! and by the kernel (PR_SET_PDEATHSIG) if the test runner itself dies. Only the runner's main
//! thread starts daemons: the death signal follows the thread that forked.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Daemon {
    pub name: &'static str,
    child: Child,
    pub log: PathBuf,
}

impl Daemon {
    /// Starts `cmd` (its output to `log`) and waits up to `timeout` for `ready`. On failure the
    /// daemon is stopped and the error names it and quotes the end of its log.
    pub fn start(
        name: &'static str,
        mut cmd: Command,
        log: &Path,
        timeout: Duration,
        ready: impl Fn() -> bool,
    ) -> Result<Daemon, String> {
        let file = fs::File::create(log).map_err(|e| format!("{name}: {}: {e}", log.display()))?;
        cmd.stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        // SAFETY: prctl(2) in the forked child before exec; it touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("{name}: spawning {cmd:?}: {e}"))?;
        let mut daemon = Daemon {
            name,
            child,
            log: log.to_path_buf(),
        };
        let started = Instant::now();
        loop {
            if ready() {
                return Ok(daemon);
            }
            if let Ok(Some(status)) = daemon.child.try_wait() {
                return Err(format!(
                    "{name} exited ({status}) before it was ready: {}",
                    daemon.log_tail()
                ));
            }
            if started.elapsed() > timeout {
                let tail = daemon.log_tail();
                drop(daemon);
                return Err(format!("{name} not ready after {timeout:?}: {tail}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The last lines of the daemon's log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

impl Drop for Daemon {
    /// SIGTERM, up to 20 s for a clean shutdown, then SIGKILL.
    fn drop(&mut self) {
        // SAFETY: kill(2) of our own child, which has not been reaped yet.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("{} did not stop on SIGTERM in 20 s; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether something accepts connections on the unix socket `path`.
pub fn socket_ready(path: &Path) -> bool {
    std::os::unix::net::UnixStream::connect(path).is_ok()
}
