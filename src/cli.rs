//! The command line: runc's global flags and commands. Each command lives in `commands/`.

use crate::{commands, logging};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "berth",
    version,
    about = "berth: a daemonless OCI container runtime with runc's command line"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Flags that every command sees.
#[derive(clap::Args, Debug, Clone)]
pub struct Global {
    /// Directory holding the containers' state (unprivileged: $XDG_RUNTIME_DIR/berth)
    #[arg(long, global = true, default_value_os_t = crate::rootless::default_root())]
    pub root: PathBuf,
    /// Whether --root was given: `list` tolerates only an absent default root (as runc).
    #[arg(skip)]
    pub root_given: bool,
    /// Write log lines to this file as well as to stderr
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Log line format
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: logging::Format,
    /// Log debug messages
    #[arg(long, global = true)]
    pub debug: bool,
    /// Use systemd for cgroups (not supported: berth drives cgroupfs directly)
    #[arg(long, global = true)]
    pub systemd_cgroup: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a container from a bundle; it waits for `start`
    Create(commands::create::Args),
    /// Run the process of a created container
    Start(commands::start::Args),
    /// Print the state of a container as JSON
    State(commands::state::Args),
    /// Send a signal to a container's init (or all its processes)
    Kill(commands::kill::Args),
    /// Delete a container and everything berth made for it
    Delete(commands::delete::Args),
    /// Run a new process in a created or running container
    Exec(Box<commands::exec::Args>),
    /// Create and start a container, then wait for it
    Run(commands::run::Args),
    /// List containers
    List(commands::list::Args),
    /// Write a config.json template
    Spec(commands::spec::Args),
    /// Print the features berth supports as JSON
    Features(commands::features::Args),
    // cgroup commands
    /// Suspend every process of a container
    Pause(commands::pause::Args),
    /// Resume a paused container
    Resume(commands::resume::Args),
    /// Change a running container's resource limits
    Update(Box<commands::update::Args>),
    /// List a container's processes
    Ps(commands::ps::Args),
    /// Print a container's statistics and OOM events as JSON
    Events(commands::events::Args),
    // checkpoint and restore (CRIU)
    /// Checkpoint a running container with CRIU
    Checkpoint(Box<commands::checkpoint::Args>),
    /// Restore a container from a checkpoint
    Restore(Box<commands::restore::Args>),
}

/// Parses the command line, runs the command and turns an error into one log line and exit 1.
pub fn main() -> i32 {
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let cli =
        <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let mut g = cli.global;
    g.root_given = matches.value_source("root") == Some(clap::parser::ValueSource::CommandLine);
    logging::init(g.log.as_deref(), g.log_format, g.debug);
    // Commands that put a process into a container exec it through a sealed trampoline
    // (CVE-2019-5736, `trampoline`); where there is none for the architecture they run from
    // a sealed copy of berth instead, which re-executes and returns once running from it.
    let enters_container = !cfg!(target_arch = "x86_64")
        && matches!(
            cli.command,
            Command::Create(_) | Command::Run(_) | Command::Exec(_)
        );
    let sealed = if enters_container {
        crate::sealed_exe::ensure()
    } else {
        Ok(())
    };
    let result = if let Err(e) = sealed.and_then(|()| crate::rootless::prepare_root(&g.root)) {
        Err(e)
    } else if g.systemd_cgroup {
        Err(anyhow::anyhow!(
            "--systemd-cgroup: the systemd cgroup driver is not supported; berth manages cgroupfs directly"
        ))
    } else {
        match cli.command {
            Command::Create(a) => commands::create::run(&g, a),
            Command::Start(a) => commands::start::run(&g, a),
            Command::State(a) => commands::state::run(&g, a),
            Command::Kill(a) => commands::kill::run(&g, a),
            Command::Delete(a) => commands::delete::run(&g, a),
            Command::Exec(a) => commands::exec::run(&g, *a),
            Command::Run(a) => commands::run::run(&g, a),
            Command::List(a) => commands::list::run(&g, a),
            Command::Spec(a) => commands::spec::run(&g, a),
            Command::Features(a) => commands::features::run(&g, a),
            Command::Pause(a) => commands::pause::run(&g, a),
            Command::Resume(a) => commands::resume::run(&g, a),
            Command::Update(a) => commands::update::run(&g, *a),
            Command::Ps(a) => commands::ps::run(&g, a),
            Command::Events(a) => commands::events::run(&g, a),
            Command::Checkpoint(a) => commands::checkpoint::run(&g, *a),
            Command::Restore(a) => commands::restore::run(&g, *a),
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            logging::error(&format!("{e:#}"));
            1
        }
    }
}
