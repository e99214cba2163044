//! `berth create`: make a container whose init waits for `start`.

use crate::cli::Global;
use crate::container::{self, CreateOpts};
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Path to the bundle directory (default: the current directory)
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Write the init's pid to this file
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Use MS_MOVE and chroot instead of pivot_root (for ramfs roots)
    #[arg(long)]
    pub no_pivot: bool,
    /// Do not give the container a new session keyring
    #[arg(long)]
    pub no_new_keyring: bool,
    /// Pass this many extra fds (3, 4, ...) to the container process
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    /// Unix socket to send the pty master to, when process.terminal is true
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Unix socket to send a pidfd of the container's init to
    #[arg(long)]
    pub pidfd_socket: Option<PathBuf>,
    /// Container id
    pub id: String,
}

impl Args {
    /// `detach`: berth returns once the container is created or started (`create`, `run -d`).
    pub fn opts<'a>(&'a self, g: &'a Global, detach: bool) -> Result<CreateOpts<'a>> {
        Ok(CreateOpts {
            root: &g.root,
            id: &self.id,
            bundle: &self.bundle,
            pid_file: self.pid_file.as_deref(),
            no_pivot: self.no_pivot,
            no_new_keyring: self.no_new_keyring,
            preserve_fds: self.preserve_fds,
            console_socket: self.console_socket.as_deref(),
            pidfd_socket: self.pidfd_socket.as_deref(),
            detach,
            rootless_cgroups: crate::rootless::cgroups_rootless(&g.rootless)?,
            systemd_cgroup: g.systemd_cgroup,
        })
    }
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    container::create(&a.opts(g, true)?)?;
    Ok(0)
}
