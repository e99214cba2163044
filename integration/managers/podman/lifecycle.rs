//! podman's lifecycle commands with each runtime: run and its exit codes, -d, stop, kill, rm,
//! restart, a terminal, exec, pause, stats, top, logs.

use super::{unique, Env, IMAGE};
use crate::compare;
use crate::Scenario;

/// `podman run --rm`: exit codes 0, 1, 42, 126, 127 and 137, and the output.
fn run_exit_codes(env: &Env) {
    for args in [
        &["sh", "-c", "echo hello; exit 0"][..],
        &["sh", "-c", "echo err >&2; exit 1"],
        &["sh", "-c", "exit 42"],
        &["/etc/passwd"],
        &["nosuch"],
        &["sh", "-c", "kill -9 $$"],
    ] {
        let (a, b) = compare::both(|rt| {
            let name = unique(rt, "run");
            let mut all = vec!["run", "--rm", "--name", &name, IMAGE];
            all.extend_from_slice(args);
            let out = env.with(rt, &all);
            env.assert_clean(rt, &name, &name);
            out
        });
        compare::assert_same(&format!("podman run {args:?}"), &a, &b);
    }
}

pub const SCENARIOS: &[Scenario<Env>] = &[("run_exit_codes", run_exit_codes)];
