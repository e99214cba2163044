//! The command line: runc's global flags and commands. Each command lives in `commands/`.

use crate::{commands, logging};
use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, Subcommand};
use std::path::PathBuf;

// Every flag may be repeated, the last value winning (`args_override_self`, for every
// command), as with runc's flag parsing: podman 4.3 passes `--force --force` to delete.
#[derive(Parser, Debug)]
#[command(
    name = "berth",
    about = "berth: a daemonless OCI container runtime with runc's command line",
    disable_version_flag = true,
    args_override_self = true
)]
struct Cli {
    /// Print the version
    #[arg(short = 'v', long)]
    version: bool,
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Option<Command>,
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
    /// Write log lines to this file instead of stderr (the fatal error still goes to stderr)
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Log line format
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: logging::Format,
    /// Log debug messages
    #[arg(long, global = true)]
    pub debug: bool,
    /// Make cgroups as an unprivileged user does, ignoring permission errors where no
    /// limit is asked: true, false or auto (detect). Before the command only, as in runc
    /// (`spec --rootless` is another flag).
    #[arg(id = "global_rootless", long = "rootless", default_value = "auto")]
    pub rootless: String,
    /// Make the container's cgroup a systemd unit (linux.cgroupsPath is "slice:prefix:name")
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

/// runc's `--version` lines, with berth's compiler and seccomp implementation in place of
/// Go and libseccomp.
fn version() -> String {
    let rustc = env!("BERTH_RUSTC");
    format!(
        "berth version {}\ncommit: {}\nspec: {}\nrustc: {}\nseccompiler: {}\n",
        env!("CARGO_PKG_VERSION"),
        env!("BERTH_COMMIT"),
        crate::config::SPEC_VERSION,
        rustc.strip_prefix("rustc ").unwrap_or(rustc),
        env!("BERTH_SECCOMPILER"),
    )
}

/// A command line clap refuses, with runc's exit codes: help is a success, an unknown
/// command 3 (urfave/cli's "No help topic"), any other usage error 1.
fn usage_exit_code(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => 0,
        ErrorKind::InvalidSubcommand => 3,
        _ => 1,
    }
}

/// A usage error is logged like any other error, as one line in the chosen format to the
/// chosen place (a manager reads it from its --log file), so the log flags are picked out
/// of the command line by hand: clap could not parse it.
fn usage_error(e: clap::Error) -> i32 {
    let code = usage_exit_code(e.kind());
    if code == 0 {
        let _ = e.print();
        return code;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (log, format) = log_flags(&args);
    // A log file that cannot be opened leaves the logger on stderr, where this error goes.
    let _ = logging::init(log.as_deref().map(std::path::Path::new), format, false);
    logging::fatal(&usage_message(&e.render().to_string()));
    code
}

/// `--log FILE` and `--log-format json|text` (either `--flag value` or `--flag=value`), up
/// to a `--`.
fn log_flags(args: &[String]) -> (Option<String>, logging::Format) {
    let (mut log, mut format) = (None, logging::Format::Text);
    let mut it = args.iter().take_while(|a| *a != "--");
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) => (f, Some(v.to_string())),
            None => (a.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| it.next().cloned());
        match flag {
            "--log" => log = value(),
            "--log-format" => {
                format = match value().as_deref() {
                    Some("json") => logging::Format::Json,
                    _ => logging::Format::Text,
                }
            }
            _ => {}
        }
    }
    (log, format)
}

/// clap's rendered error as one line: the message up to the usage and tips, without its
/// `error: ` prefix.
fn usage_message(rendered: &str) -> String {
    let text = rendered.strip_prefix("error: ").unwrap_or(rendered);
    text.lines()
        .take_while(|l| {
            !l.is_empty() && !l.starts_with("Usage:") && !l.trim_start().starts_with("tip:")
        })
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parses the command line, runs the command and turns an error into one log line and exit 1
/// (255 for exec).
pub fn main() -> i32 {
    let matches = match Cli::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => return usage_error(e),
    };
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let mut g = cli.global;
    g.root_given = matches.value_source("root") == Some(clap::parser::ValueSource::CommandLine);
    if cli.version {
        print!("{}", version());
        return 0;
    }
    let Some(command) = cli.command else {
        // runc with no command prints its help and succeeds.
        let _ = Cli::command().print_help();
        return 0;
    };
    if let Err(e) = logging::init(g.log.as_deref(), g.log_format, g.debug) {
        logging::fatal(&format!("{e:#}"));
        return 1;
    }
    let argv: Vec<String> = std::env::args().collect();
    logging::debug(&format!(
        "berth {} ({}): {}",
        env!("CARGO_PKG_VERSION"),
        env!("BERTH_COMMIT"),
        argv.join(" ")
    ));
    // Commands that put a process into a container exec it through a sealed trampoline
    // (CVE-2019-5736, `trampoline`); where there is none for the architecture they run from
    // a sealed copy of berth instead, which re-executes and returns once running from it.
    let enters_container = !cfg!(target_arch = "x86_64")
        && matches!(
            command,
            Command::Create(_) | Command::Run(_) | Command::Exec(_)
        );
    let sealed = if enters_container {
        crate::process::sealed_exe::ensure()
    } else {
        Ok(())
    };
    // runc's exec exits 255 when it cannot start the process (1 is the process's own).
    let failed = if matches!(command, Command::Exec(_)) {
        255
    } else {
        1
    };
    let result = if let Err(e) = sealed.and_then(|()| crate::rootless::prepare_root(&g.root)) {
        Err(e)
    } else {
        match command {
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
            logging::fatal(&format!("{e:#}"));
            failed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ArgAction;

    /// Every boolean flag, global or of any command, parses when given twice (podman 4.3
    /// passes `--force --force`), and so does an option given twice (the last value wins).
    #[test]
    fn every_flag_may_be_repeated() {
        let cli = Cli::command();
        let globals: Vec<String> = cli
            .get_arguments()
            .filter(|a| {
                matches!(a.get_action(), ArgAction::SetTrue) && a.get_long() != Some("version")
            })
            .map(|a| format!("--{}", a.get_long().unwrap()))
            .collect();
        assert!(globals.contains(&"--debug".to_string()), "{globals:?}");
        let mut checked = 0;
        for sub in cli.get_subcommands() {
            // Positionals get a placeholder each (an id, a command).
            let positionals: Vec<&str> = sub
                .get_positionals()
                .filter(|a| a.is_required_set())
                .map(|_| "x")
                .collect();
            for flag in sub
                .get_arguments()
                .filter(|a| matches!(a.get_action(), ArgAction::SetTrue) && !a.is_global_set())
            {
                let long = format!("--{}", flag.get_long().unwrap());
                let mut argv = vec!["berth", sub.get_name(), &long, &long];
                argv.extend(&positionals);
                let parsed = Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
                assert!(parsed.command.is_some());
                checked += 1;
            }
            for g in &globals {
                let mut argv = vec!["berth", g.as_str(), g.as_str(), sub.get_name(), g.as_str()];
                argv.extend(&positionals);
                Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
            }
        }
        assert!(checked >= 20, "only {checked} flags found");
        let p = Cli::try_parse_from([
            "berth", "--root", "/a", "--root", "/b", "delete", "--force", "--force", "x",
        ])
        .unwrap();
        assert_eq!(p.global.root, PathBuf::from("/b"));
        match p.command {
            Some(Command::Delete(d)) => assert!(d.force),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn usage_errors_exit_as_runc_does() {
        let err = |argv: &[&str]| Cli::try_parse_from(argv).unwrap_err();
        let code = |argv: &[&str]| usage_exit_code(err(argv).kind());
        assert_eq!(code(&["berth", "nosuch"]), 3);
        assert_eq!(code(&["berth", "list", "--nosuch"]), 1);
        assert_eq!(code(&["berth", "state"]), 1);
        assert_eq!(code(&["berth", "help", "list"]), 0);
        assert_eq!(code(&["berth", "list", "--help"]), 0);
        let msg = |argv: &[&str]| usage_message(&err(argv).render().to_string());
        assert_eq!(
            msg(&["berth", "list", "--nosuch"]),
            "unexpected argument '--nosuch' found"
        );
        assert_eq!(
            msg(&["berth", "state"]),
            "the following required arguments were not provided: <ID>"
        );
        assert_eq!(
            msg(&["berth", "nosuch"]),
            "unrecognized subcommand 'nosuch'"
        );
    }

    #[test]
    fn log_flags_are_found_without_clap() {
        let v = |a: &[&str]| -> Vec<String> { a.iter().map(|s| s.to_string()).collect() };
        let (log, format) = log_flags(&v(&["--log", "/l", "--log-format=json", "list", "--x"]));
        assert_eq!(log.as_deref(), Some("/l"));
        assert_eq!(format, logging::Format::Json);
        let (log, format) = log_flags(&v(&["--log=/m", "exec", "--", "--log-format", "json"]));
        assert_eq!(log.as_deref(), Some("/m"));
        assert_eq!(format, logging::Format::Text);
    }
}

/// Property tests (PROPTEST_CASES sets the number of cases: `make fuzz` runs many more):
/// command lines made of berth's real command and flag names, values and random words.
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    /// Every command name and every flag (long and short, global or a command's), as words.
    fn vocabulary() -> &'static [String] {
        static WORDS: OnceLock<Vec<String>> = OnceLock::new();
        WORDS.get_or_init(|| {
            let cli = Cli::command();
            let mut words = vec!["--".to_string(), "-".to_string(), "help".to_string()];
            let mut flags = |c: &clap::Command| {
                for a in c.get_arguments() {
                    words.extend(a.get_long().map(|l| format!("--{l}")));
                    words.extend(a.get_short().map(|s| format!("-{s}")));
                }
            };
            flags(&cli);
            for sub in cli.get_subcommands() {
                flags(sub);
            }
            words.extend(cli.get_subcommands().map(|s| s.get_name().to_string()));
            words
        })
    }

    fn word() -> impl Strategy<Value = String> {
        let n = vocabulary().len();
        prop_oneof![
            4 => (0..n).prop_map(|i| vocabulary()[i].clone()),
            1 => ((0..n), ".{0,6}").prop_map(|(i, v)| format!("{}={v}", vocabulary()[i])),
            2 => "[a-z0-9/._-]{1,10}",
            1 => ".{0,8}",
            1 => prop_oneof![Just("-1"), Just("0"), Just("18446744073709551616"), Just("SIGKILL")]
                .prop_map(str::to_string),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        /// Any such command line parses, or is refused with runc's exit codes and a
        /// one-line message.
        #[test]
        fn any_command_line_parses_or_is_one_usage_line(words in prop::collection::vec(word(), 0..8)) {
            let argv = std::iter::once("berth".to_string()).chain(words);
            if let Err(e) = Cli::command().try_get_matches_from(argv.clone())
                .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m))
            {
                let code = usage_exit_code(e.kind());
                prop_assert!([0, 1, 3].contains(&code));
                if code != 0 {
                    let msg = usage_message(&e.render().to_string());
                    prop_assert!(!msg.is_empty() && !msg.contains('\n'), "{:?}", msg);
                }
            }
        }
    }
}
