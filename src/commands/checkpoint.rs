//! `berth checkpoint`: save a running container with CRIU (runc's flags). Without
//! --leave-running or --pre-dump the container is stopped and destroyed afterwards, as in
//! runc, so that `restore` can bring it back under the same id.

use crate::cli::Global;
use crate::criu::{CgroupsMode, Common, DumpOpts};
use anyhow::{Context, Result};
use std::path::PathBuf;

/// The CRIU flags checkpoint and restore share.
#[derive(clap::Args, Debug)]
pub struct CriuArgs {
    /// Directory of CRIU's image files (default: ./checkpoint)
    #[arg(long)]
    pub image_path: Option<PathBuf>,
    /// Directory for CRIU's log and work files (default: the image path)
    #[arg(long)]
    pub work_path: Option<PathBuf>,
    /// Allow open TCP connections
    #[arg(long)]
    pub tcp_established: bool,
    /// Allow external unix sockets
    #[arg(long)]
    pub ext_unix_sk: bool,
    /// Allow shell jobs (a process attached to a terminal's session)
    #[arg(long)]
    pub shell_job: bool,
    /// Handle file locks
    #[arg(long)]
    pub file_locks: bool,
    /// How CRIU treats the container's cgroups
    #[arg(long, value_enum, default_value = "soft")]
    pub manage_cgroups_mode: CgroupsMode,
    /// Create a namespace, but do not restore its properties (only "network"; repeatable)
    #[arg(long, action = clap::ArgAction::Append)]
    pub empty_ns: Vec<String>,
    /// Enable auto deduplication of memory images
    #[arg(long)]
    pub auto_dedup: bool,
    /// Use userfaultfd to lazily restore memory pages
    #[arg(long)]
    pub lazy_pages: bool,
}

impl CriuArgs {
    /// The options, with the paths made absolute (CRIU changes into its work directory).
    pub fn common(&self) -> Result<Common> {
        let image = self
            .image_path
            .clone()
            .unwrap_or_else(|| PathBuf::from("checkpoint"));
        let image_path = std::path::absolute(&image)
            .with_context(|| format!("--image-path {}", image.display()))?;
        let work_path = self
            .work_path
            .as_ref()
            .map(|w| std::path::absolute(w).with_context(|| format!("--work-path {}", w.display())))
            .transpose()?;
        Ok(Common {
            image_path,
            work_path,
            tcp_established: self.tcp_established,
            ext_unix_sk: self.ext_unix_sk,
            shell_job: self.shell_job,
            file_locks: self.file_locks,
            manage_cgroups: self.manage_cgroups_mode,
            empty_ns: crate::criu::empty_ns(&self.empty_ns)?,
            auto_dedup: self.auto_dedup,
            lazy_pages: self.lazy_pages,
            lsm_profile: None,
            lsm_mount_context: None,
        })
    }
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub criu: CriuArgs,
    /// A previous pre-dump's image directory, relative to the image path
    #[arg(long)]
    pub parent_path: Option<PathBuf>,
    /// Leave the container running after the checkpoint
    #[arg(long)]
    pub leave_running: bool,
    /// Dump only the memory and leave the container running (for a later --parent-path)
    #[arg(long)]
    pub pre_dump: bool,
    /// Skip in-flight TCP connections
    #[arg(long)]
    pub tcp_skip_in_flight: bool,
    /// Allow linking unlinked files back when possible
    #[arg(long)]
    pub link_remap: bool,
    /// With --lazy-pages: berth writes a NUL byte to this fd once the pages can be served
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub status_fd: i32,
    /// ADDRESS:PORT of the page server
    #[arg(long, default_value = "")]
    pub page_server: String,
    /// Container id
    pub id: String,
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    let opts = DumpOpts {
        common: a.criu.common()?,
        leave_running: a.leave_running,
        pre_dump: a.pre_dump,
        parent_path: a.parent_path,
        tcp_skip_in_flight: a.tcp_skip_in_flight,
        link_remap: a.link_remap,
        page_server: match a.page_server.as_str() {
            "" => None,
            p => crate::criu::page_server(p)?,
        },
        // runc's default, -1, is no fd.
        status_fd: (a.status_fd != -1).then_some(a.status_fd),
    };
    crate::container::checkpoint(&g.root, &a.id, &opts)?;
    Ok(0)
}
