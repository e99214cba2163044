//! runc (Debian's, what these managers were written against) and berth, side by side: every
//! scenario runs under both, and what the manager shows its user must be the same.

use crate::run::Out;
use std::path::PathBuf;

/// The runtime a manager is pointed at.
#[derive(Debug, Clone)]
pub struct Runtime {
    /// "runc" or "berth": also the name the manager knows it by.
    pub name: &'static str,
    pub path: PathBuf,
}

pub const RUNC: &str = "/usr/sbin/runc";
pub const BERTH: &str = env!("CARGO_BIN_EXE_berth");

/// runc first, then berth.
pub fn runtimes() -> [Runtime; 2] {
    [
        Runtime {
            name: "runc",
            path: RUNC.into(),
        },
        Runtime {
            name: "berth",
            path: BERTH.into(),
        },
    ]
}

/// A name for a container of `group` under `rt`, unique in the run (the groups share this
/// process) and across runs (the pid).
pub fn unique(group: &str, rt: &Runtime, what: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("bt{group}-{what}-{}-{}-{n:03}", rt.name, std::process::id())
}

/// Runs `f` under runc, then under berth.
pub fn both<T>(mut f: impl FnMut(&Runtime) -> T) -> (T, T) {
    let [runc, berth] = runtimes();
    let a = f(&runc);
    let b = f(&berth);
    (a, b)
}

/// `text` with the runtimes' paths and names replaced by `<runtime>`, lines trimmed of
/// trailing blanks and `\r` (a terminal's line ends).
pub fn normalize(text: &str) -> String {
    let mut t = text.replace(RUNC, "<runtime>").replace(BERTH, "<runtime>");
    for name in ["runc", "berth"] {
        t = t.replace(name, "<runtime>");
    }
    t.lines()
        .map(|l| l.trim_end_matches(['\r', ' ']))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Same exit code and same stdout (normalized).
pub fn assert_same(what: &str, runc: &Out, berth: &Out) {
    assert_eq!(
        (runc.code, normalize(&runc.stdout)),
        (berth.code, normalize(&berth.stdout)),
        "{what}: runc vs berth (exit code, stdout)\nrunc stderr: {}\nberth stderr: {}",
        runc.stderr,
        berth.stderr
    );
}

/// Same exit code.
pub fn assert_same_code(what: &str, runc: &Out, berth: &Out) {
    assert_eq!(
        runc.code, berth.code,
        "{what}: exit codes differ\nrunc: {runc:?}\nberth: {berth:?}"
    );
}

/// berth's command took no longer than 1.5 times runc's, plus 1 s of slack for the noise of
/// one measurement of a manager's command on a busy machine (rootless podman's take seconds,
/// and the groups run in parallel). This guards against berth turning a signal or a delete
/// into a wait (a stop that runs into the manager's 10 s timeout, a kill that is not
/// delivered); speed itself is measured in `make bench`.
pub fn assert_not_slower(what: &str, runc: &Out, berth: &Out) {
    let limit = runc.secs * 1.5 + 1.0;
    assert!(
        berth.secs <= limit,
        "{what}: berth took {:.2} s, runc {:.2} s (limit {limit:.2} s)",
        berth.secs,
        runc.secs
    );
}

/// A terminal session under both runtimes (`run::in_script`): the same exit code and the
/// same bytes (carriage returns included), the expected exit code, and a tty it ran on.
pub fn assert_same_tty(what: &str, runc: &Out, berth: &Out, code: i32) {
    assert_eq!(
        (runc.code, &runc.stdout),
        (berth.code, &berth.stdout),
        "{what}: runc (left) vs berth (right)\nrunc stderr: {}\nberth stderr: {}",
        runc.stderr,
        berth.stderr
    );
    assert_eq!(runc.code, code, "{what}: the exit code");
    assert!(
        runc.stdout.contains("/dev/pts/"),
        "{what}: no tty: {:?}",
        runc.stdout
    );
}
