//! Integration tests: real containers, run as root. See integration/README.md.

mod common;
mod errors;
mod exec;
mod lifecycle;
mod namespaces;
mod process;
mod rootfs;
mod terminal;
