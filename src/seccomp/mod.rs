//! (seccomp: being written)
