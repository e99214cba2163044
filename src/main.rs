//! berth: a daemonless OCI container runtime with runc's command line.
//!
//! Module map (one module per concern, so a reader finds things by file name):
//! - `cli`, `commands/*`: the command line, one small file per command.
//! - `logging`: `--log`, `--log-format text|json`, `--debug`.
//! - `json`: JSON printed as Go's MarshalIndent does (output matching runc's).
//! - `config`: loading and validating a bundle's config.json.
//! - `state`: the on-disk state store, locking and status derivation.
//! - `container/*`: the lifecycle (create, start, kill, delete, pause, update, events,
//!   checkpoint) seen from the parent; `exec`: a new process in a running container.
//! - `clone`: the one clone3 into the new namespaces; `sync`: the parent <-> child protocol.
//! - `init`: the container's init, straight-line code run right after clone.
//! - `reaper`: foreground waiting (`run`, `exec`), signal forwarding, exit statuses.
//! - `hooks`: OCI hooks (validation, the state on stdin, running a list with its timeout).
//! - kernel mechanisms: `namespaces`, `userns`, `rootfs/*` (mounts, devices, masked and
//!   readonly paths, pivot_root, idmapped mounts), `sysctl`, `process/*` (capabilities,
//!   user ids, rlimits, fds, oom score, scheduler, io priority, personality, CPU affinity,
//!   env, the executable, the exec trampoline), `cgroups/*`, `seccomp/*`, `lsm` (AppArmor
//!   profile, SELinux labels), `terminal` (the pty, --console-socket, the relay of
//!   `run -t`/`exec -t`).
//! - `rootless`: berth run by an unprivileged user (state root, checks).
//! - `notify_socket`: NOTIFY_SOCKET passed through to the container.
//! - `criu`: checkpoint and restore through CRIU's RPC (`criu swrk`).
//! - `dbus`: a small blocking D-Bus client (systemd's manager, for the systemd cgroup driver).
//! - `features`: `berth features`, built from the same tables the parser uses.
//! - `signals`: signal names and numbers.

mod cgroups;
mod cli;
mod clone;
mod commands;
mod config;
mod container;
mod criu;
mod dbus;
mod exec;
mod features;
mod hooks;
mod init;
mod intelrdt;
mod json;
mod logging;
mod lsm;
mod namespaces;
mod netdevices;
mod notify_socket;
mod process;
mod reaper;
mod rootfs;
mod rootless;
mod seccomp;
mod signals;
mod state;
mod sync;
mod sysctl;
mod terminal;
mod userns;

fn main() {
    std::process::exit(cli::main());
}
