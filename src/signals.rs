//! Signals as `kill` accepts them and berth sends them. A signal is a plain number (1-64, or
//! 0 to probe): nix's `Signal` has no real-time signals, which systemd (SIGRTMIN+3 = 37 to
//! stop) and managers need.
//!
//! Spellings are runc's (1.1 and 1.5 alike): a decimal number (a sign and leading zeros
//! allowed, as Go's Atoi), or one of the 31 standard names, any case, with or without `SIG`.
//! runc knows no name for a real-time signal (`RTMIN+3` is an unknown signal there too);
//! managers send those by number.

use anyhow::{bail, Result};

/// The highest signal number on Linux (SIGRTMAX as the kernel counts).
pub const MAX: i32 = 64;

/// Go's names for Linux signals (golang.org/x/sys/unix), which runc's `kill` looks up.
const NAMES: [(&str, i32); 31] = [
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// Parses a signal given by number (0-64) or name (see the module doc).
pub fn parse(s: &str) -> Result<i32> {
    if let Ok(n) = s.parse::<i64>() {
        if !(0..=MAX as i64).contains(&n) {
            bail!("invalid signal number {n}: signals are 0 to {MAX}");
        }
        return Ok(n as i32);
    }
    let upper = s.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    match NAMES.iter().find(|(n, _)| *n == name) {
        Some((_, sig)) => Ok(*sig),
        None => bail!("unknown signal {s:?}"),
    }
}

/// The signal's name for messages: `SIGTERM`, `SIGRTMIN+3` (glibc's SIGRTMIN, 34, as
/// managers and `kill -l` count), `signal 32`.
pub fn name(sig: i32) -> String {
    match NAMES.iter().find(|(_, n)| *n == sig) {
        Some((n, _)) => format!("SIG{n}"),
        None if (34..=MAX).contains(&sig) => format!("SIGRTMIN+{}", sig - 34),
        None => format!("signal {sig}"),
    }
}

/// kill(2) with a signal number nix cannot represent.
pub fn send(pid: i32, sig: i32) -> nix::Result<()> {
    // SAFETY: kill takes plain integers and touches no memory of ours.
    let r = unsafe { libc::kill(pid, sig) };
    nix::errno::Errno::result(r).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse("TERM").unwrap(), libc::SIGTERM);
        assert_eq!(parse("sigkill").unwrap(), libc::SIGKILL);
        assert_eq!(parse("SIGUSR1").unwrap(), libc::SIGUSR1);
        assert_eq!(parse("Pwr").unwrap(), libc::SIGPWR);
        assert_eq!(parse("9").unwrap(), libc::SIGKILL);
        assert_eq!(parse("+15").unwrap(), 15);
        assert_eq!(parse("015").unwrap(), 15);
        assert_eq!(parse("0").unwrap(), 0);
        assert_eq!(parse("37").unwrap(), 37);
        assert_eq!(parse("64").unwrap(), 64);
    }

    /// What runc 1.1.5 and 1.5.1 refuse (checked by hand with both).
    #[test]
    fn refused_as_runc_does() {
        for s in [
            "NOPE",
            "65",
            "-1",
            " 15",
            "0x0f",
            "RTMIN+3",
            "SIGRTMIN+3",
            "RTMAX-1",
            "SIGRTMIN",
            "SIGIOT",
            "SIGPOLL",
            "SIGCLD",
            "SIGUNUSED",
            "",
        ] {
            assert!(parse(s).is_err(), "{s:?} accepted");
        }
    }

    #[test]
    fn names() {
        assert_eq!(name(15), "SIGTERM");
        assert_eq!(name(37), "SIGRTMIN+3");
        assert_eq!(name(32), "signal 32");
    }
}

/// Property tests (PROPTEST_CASES sets the number of cases: `make fuzz` runs many more).
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        /// Any text: an error or a signal number kill(2) takes.
        #[test]
        fn any_text_is_a_signal_in_range_or_an_error(s in ".{0,12}|(SIG)?[A-Za-z]{1,8}|[+-]?[0-9]{1,25}") {
            if let Ok(n) = parse(&s) {
                prop_assert!((0..=MAX).contains(&n), "{s:?} -> {n}");
            }
        }

        /// Every number in range reads back as itself, whatever its sign and leading zeros;
        /// every signal's name (any case, with or without SIG) reads back as its number.
        #[test]
        fn numbers_and_names_round_trip(n in 0..=MAX, zeros in 0usize..4, plus: bool, lower: bool) {
            let text = format!("{}{}{n}", if plus { "+" } else { "" }, "0".repeat(zeros));
            prop_assert_eq!(parse(&text).unwrap(), n);
            let name = name(n);
            if let Some(short) = name.strip_prefix("SIG").filter(|s| !s.contains('+')) {
                let spelled = if lower { short.to_lowercase() } else { name.clone() };
                prop_assert_eq!(parse(&spelled).unwrap(), n);
            }
        }
    }
}
