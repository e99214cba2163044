//! berth: a daemonless OCI container runtime with runc's command line.
//!
//! Module map (one module per concern, so a reader finds things by file name):
//! - `cli`, `commands/*`: the command line, one small file per command.
//! - `logging`: `--log`, `--log-format text|json`, `--debug`.
//! - `config`: loading and validating a bundle's config.json.
//! - `state`: the on-disk state store, locking and status derivation.
//! - `container`: the lifecycle (create, start, kill, delete) seen from the parent.
//! - `sync`: the parent <-> init protocol over a socketpair.
//! - `init`: the container's init, straight-line code run right after clone.
//! - `hooks`: OCI hooks (validation, the state on stdin, running a list with its timeout).
//! - kernel mechanisms: `namespaces`, `userns`, `rootfs/*` (mounts, devices, masked and
//!   readonly paths, pivot_root), `sysctl`, `capabilities`, `user`, `rlimits`, `fds`,
//!   `process_attrs` (oom score, scheduler, io priority, personality),
//!   `cgroups/*`, `seccomp/*`, `lsm` (AppArmor profile, SELinux labels).
//! - `features`: `berth features`, built from the same tables the parser uses.
//! - `signals`: signal names and numbers.
//! - `sealed_exe`: create, run and exec run from a sealed copy of berth (CVE-2019-5736).
//! - `terminal`: process.terminal: the pty in init, --console-socket, the relay of `run`.
//! - `criu`: checkpoint and restore through CRIU's command line.

mod capabilities;
mod cgroups;
mod cli;
mod clone;
mod commands;
mod config;
mod container;
mod criu;
mod exec;
mod fds;
mod features;
mod hooks;
mod init;
mod logging;
mod lsm;
mod namespaces;
mod notify_socket;
mod process_attrs;
mod reaper;
mod rlimits;
mod rootfs;
mod rootless;
mod sealed_exe;
mod seccomp;
mod signals;
mod state;
mod sync;
mod sysctl;
mod terminal;
mod trampoline;
mod user;
mod userns;

fn main() {
    std::process::exit(cli::main());
}
