//! `berth features` output, built from the same tables the code parses with, so that what
//! berth claims and what it accepts cannot drift apart. The keys come in runc's order
//! (its Features struct's), which a reader comparing the two relies on.

use serde_json::{json, Value};

pub fn features() -> Value {
    let namespaces: Vec<&str> = crate::namespaces::KINDS.iter().map(|k| k.1).collect();
    let mount_options: Vec<&str> = crate::rootfs::MOUNT_OPTIONS
        .iter()
        .map(|o| o.name)
        .collect();
    let hooks: Vec<&str> = crate::hooks::KINDS.iter().map(|k| k.1).collect();
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": crate::config::SPEC_VERSION,
        "hooks": hooks,
        "mountOptions": mount_options,
        "linux": {
            "namespaces": namespaces,
            "capabilities": crate::process::capabilities::all_names(),
            "cgroup": {
                "v1": true,
                "v2": true,
                // --systemd-cgroup: the system's systemd, and the user's when rootless.
                "systemd": true,
                "systemdUser": true,
                // linux.resources.rdma is applied (rdma.max), v1 and v2.
                "rdma": true
            },
            "seccomp": {
                "enabled": true,
                "actions": crate::seccomp::supported_actions(),
                "operators": crate::seccomp::supported_operators(),
                "archs": crate::seccomp::supported_archs(),
                "knownFlags": crate::seccomp::known_flags(),
                "supportedFlags": crate::seccomp::supported_flags()
            },
            "apparmor": { "enabled": crate::lsm::apparmor_enabled() },
            "selinux": { "enabled": crate::lsm::selinux_enabled() },
            // As runc 1.5: what berth implements, whatever this host's resctrl offers.
            "intelRdt": { "enabled": true, "schemata": true, "monitoring": true },
            "memoryPolicy": {
                "modes": crate::process::mempolicy::mode_names(),
                "flags": crate::process::mempolicy::flag_names()
            },
            "mountExtensions": {
                "idmap": { "enabled": crate::rootfs::idmap_supported() }
            },
            "netDevices": { "enabled": true }
        },
        "annotations": {
            "org.opencontainers.runtime-spec.features": "berth"
        },
        // Annotations that change what the runtime does (runc's key): a unit property can
        // undo a limit or the container's confinement.
        "potentiallyUnsafeConfigAnnotations": ["org.systemd.property."]
    })
}
