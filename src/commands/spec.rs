//! `berth spec`: write a config.json template to the bundle, exactly as `runc spec` does
//! (runc 1.5.1's template, key order and layout included; with `--rootless`, the changes of
//! runc's ToRootless: a user namespace mapping the caller to root, the host's network
//! namespace, /sys bind-mounted, no uid=/gid= mount options, and no cgroup resources).
//! `--seccomp default` adds berth's shipped default seccomp profile.

use crate::cli::Global;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Bundle directory to write config.json into
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// A config for a container run by an unprivileged user
    #[arg(long)]
    pub rootless: bool,
    /// Seccomp profile to include: none (as runc's template) or berth's default profile
    #[arg(long, value_enum, default_value = "none")]
    pub seccomp: Seccomp,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Seccomp {
    None,
    Default,
}

pub fn run(_g: &Global, a: Args) -> Result<i32> {
    let path = a.bundle.join("config.json");
    if path.exists() {
        bail!("{}: file already exists; remove it first", path.display());
    }
    let mut spec = template();
    if a.seccomp == Seccomp::Default {
        add_seccomp(&mut spec)?;
    }
    if a.rootless {
        make_rootless(
            &mut spec,
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        );
    }
    // Like runc: tab-indented, no final newline.
    std::fs::write(&path, crate::json::to_string_indented(&spec, b"\t"))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(0)
}

/// runc 1.5.1's template (libcontainer/specconv.Example), in its key order.
const TEMPLATE: &str = r#"{
  "ociVersion": "1.3.0",
  "process": {
    "terminal": true,
    "user": {"uid": 0, "gid": 0},
    "args": ["sh"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "runc",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
  ],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
    "maskedPaths": [
      "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
    ],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}"#;

pub fn template() -> Value {
    serde_json::from_str(TEMPLATE).expect("the spec template is JSON (checked by a unit test)")
}

/// linux.seccomp, where runc's Linux struct orders it: after the namespaces.
fn add_seccomp(spec: &mut Value) -> Result<()> {
    let profile = serde_json::to_value(crate::seccomp::default_profile())
        .context("encoding the default seccomp profile")?;
    if let Some(linux) = spec.get_mut("linux").and_then(Value::as_object_mut) {
        let at = linux
            .keys()
            .position(|k| k == "namespaces")
            .map_or(linux.len(), |i| i + 1);
        linux.shift_insert(at, "seccomp".into(), profile);
    }
    Ok(())
}

fn make_rootless(spec: &mut Value, uid: u32, gid: u32) {
    if let Some(linux) = spec.get_mut("linux").and_then(Value::as_object_mut) {
        // uidMappings and gidMappings come first in runc's Linux struct.
        linux.shift_insert(
            0,
            "uidMappings".into(),
            json!([{"containerID": 0, "hostID": uid, "size": 1}]),
        );
        linux.shift_insert(
            1,
            "gidMappings".into(),
            json!([{"containerID": 0, "hostID": gid, "size": 1}]),
        );
        linux.shift_remove("resources");
        if let Some(ns) = linux.get_mut("namespaces").and_then(Value::as_array_mut) {
            ns.retain(|n| n["type"] != "network" && n["type"] != "user");
            ns.push(json!({"type": "user"}));
        }
    }
    for m in spec
        .get_mut("mounts")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if m["destination"] == "/sys" {
            *m = json!({
                "destination": "/sys",
                "type": "none",
                "source": "/sys",
                "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]
            });
        } else if let Some(opts) = m.get_mut("options").and_then(Value::as_array_mut) {
            opts.retain(|o| {
                !o.as_str()
                    .is_some_and(|s| s.starts_with("gid=") || s.starts_with("uid="))
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses_as_a_spec() {
        let spec: oci_spec::runtime::Spec = serde_json::from_value(template()).unwrap();
        assert_eq!(spec.hostname().as_deref(), Some("runc"));
        assert_eq!(spec.version(), crate::config::SPEC_VERSION);
    }

    #[test]
    fn seccomp_goes_after_the_namespaces() {
        let mut s = template();
        add_seccomp(&mut s).unwrap();
        let keys: Vec<&String> = s["linux"].as_object().unwrap().keys().collect();
        assert_eq!(keys[2], "seccomp");
        let spec: oci_spec::runtime::Spec = serde_json::from_value(s.clone()).unwrap();
        let seccomp = spec.linux().as_ref().unwrap().seccomp().as_ref().unwrap();
        assert_eq!(seccomp, &crate::seccomp::default_profile());
    }

    #[test]
    fn rootless_maps_the_caller() {
        let mut s = template();
        make_rootless(&mut s, 1000, 1000);
        let keys: Vec<&String> = s["linux"].as_object().unwrap().keys().collect();
        assert_eq!(keys[1], "gidMappings");
        let s = s.clone();
        let spec: oci_spec::runtime::Spec = serde_json::from_value(s.clone()).unwrap();
        let ns = spec.linux().as_ref().unwrap().namespaces().clone().unwrap();
        assert!(ns
            .iter()
            .any(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::User));
        assert!(!ns
            .iter()
            .any(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::Network));
        assert_eq!(s["linux"]["uidMappings"][0]["hostID"], 1000);
        assert!(!s.to_string().contains("gid=5"));
        assert!(s["linux"].get("resources").is_none());
    }
}
