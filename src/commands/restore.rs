//! `berth restore`: make a container whose init is restored from a checkpoint (runc's
//! flags), then (unless --detach) wait for it as `run` does: forward signals, exit with its
//! status and delete it.

use crate::cli::Global;
use crate::{container, reaper, state};
use anyhow::{Context, Result};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub criu: super::checkpoint::CriuArgs,
    /// Path to the bundle directory (default: the current directory)
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Return once the container runs, leaving it running
    #[arg(short, long)]
    pub detach: bool,
    /// Write the restored init's pid to this file
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Unix socket to send the restored terminal's pty master to (runc's protocol)
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Do not pivot_root away from the host's root (needed when it is a ramdisk): CRIU runs
    /// with a bind mount of it as its root
    #[arg(long)]
    pub no_pivot: bool,
    /// Do not make berth a child subreaper
    #[arg(long)]
    pub no_subreaper: bool,
    /// An LSM profile for the restored processes, as TYPE:NAME (apparmor:NAME, selinux:LABEL)
    #[arg(long, default_value = "")]
    pub lsm_profile: String,
    /// An LSM mount context for the restored mounts (an SELinux context)
    #[arg(long, default_value = "")]
    pub lsm_mount_context: String,
    /// Container id
    pub id: String,
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    // Judged as runc does (an error for a bad value); CRIU restores only as root, where the
    // cgroup is made the same either way.
    crate::rootless::cgroups_rootless(&g.rootless)?;
    if g.systemd_cgroup {
        // CRIU restores the tasks into cgroups it makes itself, which no systemd unit holds.
        anyhow::bail!("restore --systemd-cgroup: restoring into a systemd unit is not supported (restore without --systemd-cgroup)");
    }
    let mut common = a.criu.common()?;
    common.lsm_profile = Some(a.lsm_profile).filter(|p| !p.is_empty());
    common.lsm_mount_context = Some(a.lsm_mount_context).filter(|p| !p.is_empty());
    let opts = container::RestoreOpts {
        criu: &common,
        pid_file: a.pid_file.as_deref(),
        console_socket: a.console_socket.as_deref(),
        detach: a.detach,
        no_pivot: a.no_pivot,
    };
    if a.detach {
        container::restore(&g.root, &a.id, &a.bundle, &opts)?;
        return Ok(0);
    }
    if !a.no_subreaper {
        nix::sys::prctl::set_child_subreaper(true).context("becoming a child subreaper")?;
    }
    let sfd = reaper::take_signals()?;
    let restored = container::restore(&g.root, &a.id, &a.bundle, &opts)?;
    let code = reaper::wait_or_relay(
        &sfd,
        restored.pid,
        &restored.pidfd,
        restored.is_child,
        restored.pty_master.as_ref(),
        None,
    )?;
    let lock = state::open(&g.root, &a.id)?;
    if let Some(st) = lock.load()? {
        container::destroy(lock, &st)?;
    }
    Ok(code)
}
