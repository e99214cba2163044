//! `berth exec`: run a new process in a created or running container.

use crate::cli::Global;
use crate::exec::{self, ExecOpts};
use anyhow::{anyhow, bail, Context, Result};
use oci_spec::runtime::{Capability, Process};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Detach from the process (do not wait for it)
    #[arg(short, long)]
    pub detach: bool,
    /// Allocate a pseudo-terminal
    #[arg(short, long)]
    pub tty: bool,
    /// A process.json (an OCI process object) describing the process
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    /// Working directory in the container
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Extra environment variables (KEY=VALUE)
    #[arg(short, long)]
    pub env: Vec<String>,
    /// User as uid[:gid]
    #[arg(short, long)]
    pub user: Option<String>,
    /// Additional gids
    #[arg(short = 'g', long)]
    pub additional_gids: Vec<u32>,
    /// Add a capability (to the bounding, effective and permitted sets)
    #[arg(short, long)]
    pub cap: Vec<String>,
    /// Set no_new_privs for the process
    #[arg(long)]
    pub no_new_privs: bool,
    /// AppArmor profile for the process
    #[arg(long)]
    pub apparmor: Option<String>,
    /// SELinux label for the process
    #[arg(long)]
    pub process_label: Option<String>,
    /// Write the process's pid to this file
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Unix socket to send the pty master to
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Unix socket to send a pidfd of the process to
    #[arg(long)]
    pub pidfd_socket: Option<PathBuf>,
    /// Pass this many extra fds (3, 4, ...) to the process
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    /// Join this sub-cgroup of the container ([controller:]path); repeatable
    #[arg(long)]
    pub cgroup: Vec<String>,
    /// Allow exec in a paused container
    #[arg(long)]
    pub ignore_paused: bool,
    /// Do not make berth a child subreaper
    #[arg(long)]
    pub no_subreaper: bool,
    /// Container id
    pub id: String,
    /// The command and its arguments (not with --process)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    let process = build_process(g, &a)?;
    crate::logging::debug(&format!(
        "exec in container {:?}: {:?}{}",
        a.id,
        process.args().as_deref().unwrap_or_default(),
        if a.detach { " (detached)" } else { "" }
    ));
    exec::exec(ExecOpts {
        root: &g.root,
        id: &a.id,
        process,
        detach: a.detach,
        pid_file: a.pid_file.as_deref(),
        preserve_fds: a.preserve_fds,
        ignore_paused: a.ignore_paused,
        cgroup: &a.cgroup,
        console_socket: a.console_socket.as_deref(),
        pidfd_socket: a.pidfd_socket.as_deref(),
        no_subreaper: a.no_subreaper,
    })
}

/// The process, from --process, or from the container's config.json changed by the flags
/// (as runc's exec does).
fn build_process(g: &Global, a: &Args) -> Result<Process> {
    if let Some(path) = &a.process {
        if !a.command.is_empty() {
            bail!("exec: give either --process or a command, not both");
        }
        let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let mut v: serde_json::Value =
            serde_json::from_slice(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        let dropped =
            crate::config::normalize_process(&mut v).with_context(|| path.display().to_string())?;
        crate::config::warn_dropped_capabilities(&dropped);
        // As runc: a process without `user` runs as uid 0, gid 0.
        if let Some(p) = v.as_object_mut() {
            p.entry("user")
                .or_insert_with(|| serde_json::json!({"uid": 0, "gid": 0}));
        }
        let mut p: Process = serde_path_to_error::deserialize(v)
            .map_err(|e| anyhow!("{}: {}: {}", path.display(), e.path(), e.inner()))?;
        if a.tty {
            p.set_terminal(Some(true));
        }
        return Ok(p);
    }
    if a.command.is_empty() {
        bail!("exec: a command is required (or --process)");
    }
    let st = crate::state::read(&g.root, &a.id)?
        .ok_or_else(|| anyhow!("container {:?} is still being created", a.id))?;
    let spec = crate::config::parse(&st.bundle.join("config.json"))?;
    let mut p = spec
        .process()
        .clone()
        .ok_or_else(|| anyhow!("config.json: process: missing"))?;
    p.set_args(Some(a.command.clone()));
    p.set_terminal(Some(a.tty));
    if let Some(cwd) = &a.cwd {
        p.set_cwd(cwd.clone());
    }
    if !a.env.is_empty() {
        let mut env = p.env().clone().unwrap_or_default();
        env.extend(a.env.iter().cloned());
        p.set_env(Some(env));
    }
    if let Some(u) = &a.user {
        let (uid, gid) = match u.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (u.as_str(), None),
        };
        let mut user = p.user().clone();
        user.set_uid(
            uid.parse()
                .with_context(|| format!("--user {u:?}: uid is not a number"))?,
        );
        if let Some(g) = gid {
            user.set_gid(
                g.parse()
                    .with_context(|| format!("--user {u:?}: gid is not a number"))?,
            );
        }
        p.set_user(user);
    }
    if !a.additional_gids.is_empty() {
        let mut user = p.user().clone();
        user.set_additional_gids(Some(a.additional_gids.clone()));
        p.set_user(user);
    }
    if !a.cap.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        let mut unknown = Vec::new();
        for name in &a.cap {
            // As runc: an unknown name is warned about and skipped.
            let Ok(c) =
                serde_json::from_value::<Capability>(serde_json::Value::from(name.as_str()))
            else {
                unknown.push(name.clone());
                continue;
            };
            let add = |set: &Option<oci_spec::runtime::Capabilities>| {
                let mut s = set.clone().unwrap_or_default();
                s.insert(c);
                Some(s)
            };
            caps.set_bounding(add(caps.bounding()));
            caps.set_effective(add(caps.effective()));
            caps.set_permitted(add(caps.permitted()));
            // Ambient needs inheritable; like runc, only where the spec already has some.
            if caps.inheritable().as_ref().is_some_and(|i| !i.is_empty()) {
                caps.set_ambient(add(caps.ambient()));
            }
        }
        unknown.sort();
        crate::config::warn_dropped_capabilities(&unknown);
        p.set_capabilities(Some(caps));
    }
    if a.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if let Some(prof) = &a.apparmor {
        p.set_apparmor_profile(Some(prof.clone()));
    }
    if let Some(l) = &a.process_label {
        p.set_selinux_label(Some(l.clone()));
    }
    Ok(p)
}
