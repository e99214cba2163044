//! Real tests on this machine.
