//! NOTIFY_SOCKET (sd_notify), as runc passes it through: when berth is started with
//! NOTIFY_SOCKET set (systemd, or podman's conmon), `create` bind-mounts a directory of the
//! container's state dir at /run/notify in the container and points the container's
//! NOTIFY_SOCKET there; `start` binds the datagram socket in that directory before releasing
//! init, waits for the container's READY=, and passes it on to the caller's socket followed
//! by MAINPID=<init's pid>, so the caller supervises the container's init.

use anyhow::{Context, Result};
use oci_spec::runtime::{Mount, Spec};
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

/// Waits for a READY= line from the container (or for init to exit, via `pidfd`) and passes
/// it to the caller's socket, then MAINPID.
pub fn forward_ready(
    sock: &UnixDatagram,
    pidfd: std::os::fd::BorrowedFd,
    pid: i32,
    host: &str,
) -> Result<()> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut buf = vec![0u8; 4096];
    loop {
        let mut fds = [
            PollFd::new(sock.as_fd(), PollFlags::POLLIN),
            PollFd::new(pidfd, PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e).context("waiting for the container's READY="),
            Ok(_) => {}
        }
        if fds[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLIN))
        {
            let n = sock
                .recv(&mut buf)
                .context("reading the container's notify socket")?;
            let text = String::from_utf8_lossy(&buf[..n]);
            if let Some(line) = text.lines().find(|l| l.starts_with("READY=")) {
                let out = connect(host)?;
                out.send(line.as_bytes())
                    .with_context(|| format!("NOTIFY_SOCKET {host}: sending READY"))?;
                out.send(format!("MAINPID={pid}\n").as_bytes())
                    .with_context(|| format!("NOTIFY_SOCKET {host}: sending MAINPID"))?;
                return Ok(());
            }
            continue;
        }
        if fds[1].revents().is_some_and(|r| !r.is_empty()) {
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
