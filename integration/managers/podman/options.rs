//! podman's options with each runtime: limits, security options, users and user namespaces,
//! --init, pods, commit, --preserve-fds, checkpoint.

use super::Env;
use crate::Scenario;

pub const SCENARIOS: &[Scenario<Env>] = &[];
