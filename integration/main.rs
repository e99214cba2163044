//! Integration tests: real containers, run as root. See integration/README.md.

mod common;
mod errors;
mod lifecycle;
mod namespaces;
mod process;
mod rootfs;
mod terminal;
