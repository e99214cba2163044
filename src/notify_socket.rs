//! NOTIFY_SOCKET (sd_notify), as runc passes it through: when berth is started with
//! NOTIFY_SOCKET set (systemd, or podman's conmon), `create` bind-mounts a directory of the
//! container's state dir at /run/notify in the container and points the container's
//! NOTIFY_SOCKET there; `start` binds the datagram socket in that directory before releasing
//! init, waits for the container's READY=, and passes it on to the caller's socket followed
//! by MAINPID=<init's pid>, so the caller supervises the container's init.

use anyhow::{Context, Result};
use nix::poll::{PollFd, PollFlags};
use oci_spec::runtime::{Mount, Spec};
use std::collections::VecDeque;
use std::os::fd::AsFd;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::{Path, PathBuf};

const DIR_IN_CONTAINER: &str = "/run/notify";
const SOCKET_NAME: &str = "notify.sock";
const STATE_SUBDIR: &str = "notify";

/// The caller's NOTIFY_SOCKET, if any.
pub fn host_socket() -> Option<String> {
    std::env::var("NOTIFY_SOCKET")
        .ok()
        .filter(|s| !s.is_empty())
}

/// In `create`: the state's notify directory, its bind mount at /run/notify (read-only, as
/// runc) and NOTIFY_SOCKET in the process's environment.
pub fn setup_spec(spec: &mut Spec, state_dir: &Path) -> Result<()> {
    let dir = state_dir.join(STATE_SUBDIR);
    std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut mount = Mount::default();
    mount.set_destination(PathBuf::from(DIR_IN_CONTAINER));
    mount.set_typ(Some("bind".into()));
    mount.set_source(Some(dir));
    mount.set_options(Some(
        ["bind", "nosuid", "noexec", "nodev", "ro"]
            .map(String::from)
            .to_vec(),
    ));
    let mut mounts = spec.mounts().clone().unwrap_or_default();
    mounts.push(mount);
    spec.set_mounts(Some(mounts));
    if let Some(p) = spec.process_mut() {
        let mut env = p.env().clone().unwrap_or_default();
        env.retain(|e| !e.starts_with("NOTIFY_SOCKET="));
        env.push(format!("NOTIFY_SOCKET={DIR_IN_CONTAINER}/{SOCKET_NAME}"));
        p.set_env(Some(env));
    }
    Ok(())
}

/// In `start`, before init is released: the socket the container will write to. None when
/// the container was created without NOTIFY_SOCKET.
pub fn bind(state_dir: &Path) -> Result<Option<UnixDatagram>> {
    let dir = state_dir.join(STATE_SUBDIR);
    if !dir.is_dir() {
        return Ok(None);
    }
    let path = dir.join(SOCKET_NAME);
    let _ = std::fs::remove_file(&path);
    let sock = UnixDatagram::bind(&path).with_context(|| format!("binding {}", path.display()))?;
    // Any user in the container may notify, as with runc.
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o777))
        .with_context(|| format!("chmod {}", path.display()))?;
    Ok(Some(sock))
}

/// Passes the container's READY= on to the caller's socket, then MAINPID, one step per
/// readiness of the fd it asks to be polled, so that it can sit in a loop beside signal
/// forwarding and reaping (`run` in the foreground) with no thread: the sends do not block,
/// and a caller's full socket is waited for with POLLOUT.
pub struct Forwarder {
    sock: UnixDatagram,
    host: String,
    pid: i32,
    /// The caller's socket, once READY= came, and what is still to be sent to it.
    out: Option<UnixDatagram>,
    pending: VecDeque<Vec<u8>>,
    finished: bool,
}

impl Forwarder {
    /// `sock` is the socket bound in the container's state directory, `pid` init's, `host`
    /// the caller's NOTIFY_SOCKET.
    pub fn new(sock: UnixDatagram, pid: i32, host: String) -> Forwarder {
        Forwarder {
            sock,
            host,
            pid,
            out: None,
            pending: VecDeque::new(),
            finished: false,
        }
    }

    /// The fd to poll and for what; None once READY= and MAINPID were passed on (or an
    /// error ended it).
    pub fn poll_fd(&self) -> Option<PollFd<'_>> {
        if self.finished {
            return None;
        }
        Some(match &self.out {
            Some(out) => PollFd::new(out.as_fd(), PollFlags::POLLOUT),
            None => PollFd::new(self.sock.as_fd(), PollFlags::POLLIN),
        })
    }

    /// After poll reported the fd of `poll_fd` ready: reads the container's message, or sends
    /// what the caller's socket takes. An error ends the forwarding.
    pub fn step(&mut self) -> Result<()> {
        let r = self.try_step();
        if r.is_err() {
            self.finished = true;
        }
        r
    }

    fn try_step(&mut self) -> Result<()> {
        let Some(out) = &self.out else {
            let mut buf = [0u8; 4096];
            let n = match self.sock.recv(&mut buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return Ok(()),
                r => r.context("reading the container's notify socket")?,
            };
            let text = String::from_utf8_lossy(&buf[..n]);
            if let Some(line) = text.lines().find(|l| l.starts_with("READY=")) {
                let out = connect(&self.host)?;
                out.set_nonblocking(true)
                    .with_context(|| format!("NOTIFY_SOCKET {}", self.host))?;
                self.pending.push_back(line.as_bytes().to_vec());
                self.pending
                    .push_back(format!("MAINPID={}\n", self.pid).into_bytes());
                self.out = Some(out);
                // Most often the caller's socket has room: no need to wait for POLLOUT.
                return self.try_step();
            }
            return Ok(());
        };
        while let Some(msg) = self.pending.front() {
            match out.send(msg) {
                Ok(_) => drop(self.pending.pop_front()),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let what = if self.pending.len() == 2 {
                        "READY"
                    } else {
                        "MAINPID"
                    };
                    return Err(e)
                        .with_context(|| format!("NOTIFY_SOCKET {}: sending {what}", self.host));
                }
            }
        }
        self.finished = true;
        Ok(())
    }
}

/// Waits until the container's READY= was passed on to the caller's socket (`start`,
/// `run -d`), or fails when init exits before it sent READY= (via `pidfd`). Once READY=
/// came, it is passed on whatever init does, as soon as the caller's socket takes it.
pub fn forward_ready(mut f: Forwarder, pidfd: std::os::fd::BorrowedFd) -> Result<()> {
    use nix::poll::{poll, PollTimeout};
    loop {
        let got_ready = f.out.is_some();
        let Some(fd) = f.poll_fd() else {
            return Ok(());
        };
        let mut fds = vec![fd];
        if !got_ready {
            fds.push(PollFd::new(pidfd, PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e).context("waiting for the container's READY="),
            Ok(_) => {}
        }
        let ready = fds[0].revents().is_some_and(|r| !r.is_empty());
        let dead = fds
            .get(1)
            .and_then(|f| f.revents())
            .is_some_and(|r| !r.is_empty());
        if ready {
            f.step()?;
        } else if dead {
            anyhow::bail!("the container exited before it sent READY= on NOTIFY_SOCKET");
        }
    }
}

/// The caller's socket: a path, or an abstract name written with a leading '@'.
fn connect(host: &str) -> Result<UnixDatagram> {
    let out = UnixDatagram::unbound().context("creating a datagram socket")?;
    let addr = match host.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(name.as_bytes())
        }
        None => SocketAddr::from_pathname(host),
    }
    .with_context(|| format!("NOTIFY_SOCKET {host:?}"))?;
    out.connect_addr(&addr)
        .with_context(|| format!("NOTIFY_SOCKET {host}: connecting"))?;
    Ok(out)
}
