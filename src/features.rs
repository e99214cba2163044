//! `berth features` output, built from the same tables the code parses with, so that what
//! berth claims and what it accepts cannot drift apart. The keys come in runc's order
//! (its Features struct's), which a reader comparing the two relies on.

use crate::json::Json;
use serde_json::{json, Value};

fn leaf(v: Value) -> Json {
    Json::Leaf(v)
}

pub fn features() -> Json {
    let namespaces: Vec<&str> = crate::namespaces::KINDS.iter().map(|k| k.1).collect();
    let mount_options: Vec<&str> = crate::rootfs::MOUNT_OPTIONS
        .iter()
        .map(|o| o.name)
        .collect();
    let hooks: Vec<&str> = crate::hooks::KINDS.iter().map(|k| k.1).collect();
    Json::object([
        ("ociVersionMin", leaf(json!("1.0.0"))),
        ("ociVersionMax", leaf(json!(crate::config::SPEC_VERSION))),
        ("hooks", leaf(json!(hooks))),
        ("mountOptions", leaf(json!(mount_options))),
        (
            "linux",
            Json::object([
                ("namespaces", leaf(json!(namespaces))),
                (
                    "capabilities",
                    leaf(json!(crate::capabilities::all_names())),
                ),
                (
                    "cgroup",
                    Json::object([
                        ("v1", leaf(json!(true))),
                        ("v2", leaf(json!(true))),
                        ("systemd", leaf(json!(false))),
                        ("systemdUser", leaf(json!(false))),
                        // linux.resources.rdma is applied (rdma.max), v1 and v2.
                        ("rdma", leaf(json!(true))),
                    ]),
                ),
                (
                    "seccomp",
                    Json::object([
                        ("enabled", leaf(json!(true))),
                        ("actions", leaf(json!(crate::seccomp::supported_actions()))),
                        (
                            "operators",
                            leaf(json!(crate::seccomp::supported_operators())),
                        ),
                        ("archs", leaf(json!(crate::seccomp::supported_archs()))),
                        ("knownFlags", leaf(json!(crate::seccomp::known_flags()))),
                        (
                            "supportedFlags",
                            leaf(json!(crate::seccomp::supported_flags())),
                        ),
                    ]),
                ),
                (
                    "apparmor",
                    Json::object([("enabled", leaf(json!(crate::lsm::apparmor_enabled())))]),
                ),
                (
                    "selinux",
                    Json::object([("enabled", leaf(json!(crate::lsm::selinux_enabled())))]),
                ),
                ("intelRdt", Json::object([("enabled", leaf(json!(false)))])),
                (
                    "mountExtensions",
                    Json::object([(
                        "idmap",
                        Json::object([("enabled", leaf(json!(crate::rootfs::idmap_supported())))]),
                    )]),
                ),
            ]),
        ),
        (
            "annotations",
            leaf(json!({"org.opencontainers.runtime-spec.features": "berth"})),
        ),
    ])
}
