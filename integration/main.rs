//! Integration tests: real containers, run as root. See integration/README.md.

mod cgroups;
mod checkpoint;
mod common;
mod compat;
mod debian;
mod errors;
mod escapes;
mod exec;
mod faults;
mod fuzz;
mod hardening;
mod hooks;
mod lifecycle;
mod namespaces;
mod process;
mod rootfs;
mod seccomp;
mod sockets;
mod terminal;
mod threads;
mod userns;
