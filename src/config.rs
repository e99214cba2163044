//! Loading a bundle and validating its config.json before anything is created.
//!
//! Every error is one line that names the field or the path, so a user (or a container
//! manager reading berth's log) can see what to fix.

use anyhow::{anyhow, bail, Context, Result};
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use serde_json::Value;
use std::io::BufReader;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::namespaces;

/// The version of the runtime spec berth implements: what `state`, `features` and `spec`
/// report (runc 1.5.1's too).
pub const SPEC_VERSION: &str = "1.3.0";

/// A loaded, validated bundle.
pub struct Bundle {
    /// Absolute bundle directory.
    pub dir: PathBuf,
    /// Absolute, canonical root filesystem path.
    pub rootfs: PathBuf,
    pub spec: Spec,
}

/// Checks a container id the way runc does: letters, digits and `_ + - .`, not `.` or `..`.
pub fn validate_id(id: &str) -> Result<()> {
    if id.is_empty() {
        bail!("container id must not be empty");
    }
    if id == "." || id == ".." {
        bail!("invalid container id {id:?}");
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.')))
    {
        bail!("invalid container id {id:?}: character {c:?} is not allowed");
    }
    if id.len() > 1024 {
        bail!("invalid container id: longer than 1024 characters");
    }
    Ok(())
}

/// Reads `<bundle>/config.json` and validates it.
pub fn load(bundle: &Path) -> Result<Bundle> {
    let dir = std::path::absolute(bundle)
        .with_context(|| format!("bundle {:?}", bundle.display().to_string()))?;
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => bail!("bundle {}: not a directory", dir.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("bundle {}: no such directory", dir.display())
        }
        Err(e) => return Err(e).with_context(|| format!("bundle {}", dir.display())),
    }
    let spec = parse_warning(&dir.join("config.json"), true)?;
    let rootfs = validate(&spec, &dir)?;
    Ok(Bundle { dir, rootfs, spec })
}

/// Parses config.json, naming the JSON path of the first bad value.
pub fn parse(path: &Path) -> Result<Spec> {
    parse_warning(path, false)
}

/// `parse`; with `warn`, also warns about what `normalize_process` dropped (once, at create).
fn parse_warning(path: &Path, warn: bool) -> Result<Spec> {
    // Non-blocking, so that a FIFO in its place cannot hang berth before it is refused.
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("config.json: no such file: {}", path.display())
        }
        Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
    };
    let meta = file
        .metadata()
        .with_context(|| format!("stat of {}", path.display()))?;
    if !meta.is_file() {
        bail!("config.json: {}: not a regular file", path.display());
    }
    let mut v: Value =
        serde_json::from_reader(BufReader::new(file)).map_err(|e| anyhow!("config.json: {e}"))?;
    if let Some(p) = v.get_mut("process") {
        let dropped = normalize_process(p)?;
        if warn {
            warn_dropped_capabilities(&dropped);
        }
    }
    if let Some(r) = v.pointer_mut("/linux/resources") {
        normalize_resources(r);
    }
    serde_path_to_error::deserialize(v).map_err(|e| {
        let at = e.path().to_string();
        if at == "." {
            anyhow!("config.json: {}", e.inner())
        } else {
            anyhow!("config.json: {at}: {}", e.inner())
        }
    })
}

/// Makes `linux.resources` as runc reads it parseable by oci-spec without changing its
/// meaning: `pids` without a `limit` (optional since spec 1.3) sets nothing, as in runc 1.5,
/// where oci-spec would read the missing limit as 0 (which runc writes as 1).
pub fn normalize_resources(r: &mut Value) {
    if let Value::Object(res) = r {
        if res
            .get("pids")
            .is_some_and(|p| p.is_object() && p.get("limit").is_none())
        {
            res.remove("pids");
        }
    }
}

/// The spec's names of `process.scheduler.flags` and oci-spec's (which spells two of them
/// differently).
const SCHED_FLAGS: [(&str, &str); 7] = [
    ("SCHED_FLAG_RESET_ON_FORK", "SCHED_RESET_ON_FORK"),
    ("SCHED_FLAG_RECLAIM", "SCHED_FLAG_RECLAIM"),
    ("SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_D_L_OVERRUN"),
    ("SCHED_FLAG_KEEP_POLICY", "SCHED_FLAG_KEEP_POLICY"),
    ("SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_KEEP_PARAMS"),
    ("SCHED_FLAG_UTIL_CLAMP_MIN", "SCHED_FLAG_UTIL_CLAMP_MIN"),
    ("SCHED_FLAG_UTIL_CLAMP_MAX", "SCHED_FLAG_UTIL_CLAMP_MAX"),
];

/// Makes a `process` object as runc reads it parseable by oci-spec, before it is parsed:
/// capability names berth does not know are dropped (returned, for runc's warning), and the
/// spec's scheduler flag names are translated. An unknown scheduler flag is an error.
pub fn normalize_process(p: &mut Value) -> Result<Vec<String>> {
    let mut dropped = Vec::new();
    if let Some(Value::Object(sets)) = p.get_mut("capabilities") {
        for set in sets.values_mut() {
            if let Value::Array(names) = set {
                names.retain(|n| {
                    let known =
                        serde_json::from_value::<oci_spec::runtime::Capability>(n.clone()).is_ok();
                    if !known {
                        dropped.push(n.as_str().map_or_else(|| n.to_string(), str::to_string));
                    }
                    known
                });
            }
        }
    }
    if let Some(Value::Array(flags)) = p.pointer_mut("/scheduler/flags") {
        for (i, f) in flags.iter_mut().enumerate() {
            let name = f.as_str().unwrap_or_default();
            match SCHED_FLAGS.iter().find(|(spec, _)| *spec == name) {
                Some((_, ours)) => *f = Value::from(*ours),
                None => bail!("process.scheduler.flags[{i}]: unknown flag {f}"),
            }
        }
    }
    dropped.sort();
    dropped.dedup();
    Ok(dropped)
}

/// runc's warning about capabilities it skips.
pub fn warn_dropped_capabilities(dropped: &[String]) {
    if !dropped.is_empty() {
        crate::logging::warn(&format!(
            "ignoring unknown or unavailable capabilities: [{}]",
            dropped.join(" ")
        ));
    }
}

/// Validates the parts of the spec that the core runtime owns, then asks each mechanism
/// to validate its own section. Returns the canonical rootfs path.
pub fn validate(spec: &Spec, bundle: &Path) -> Result<PathBuf> {
    if spec.version().is_empty() {
        bail!("config.json: ociVersion: missing");
    }
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| anyhow!("config.json: root: missing"))?;
    // runc would take the bundle itself (config.json and all) as the container's root.
    if root.path().as_os_str().is_empty() {
        bail!("config.json: root.path: must not be empty");
    }
    let rootfs = bundle.join(root.path());
    let rootfs = match std::fs::metadata(&rootfs) {
        Ok(m) if m.is_dir() => rootfs
            .canonicalize()
            .with_context(|| format!("root.path {:?}", root.path().display().to_string()))?,
        Ok(_) => bail!(
            "root.path {:?}: not a directory in bundle {}",
            root.path().display().to_string(),
            bundle.display()
        ),
        Err(_) => bail!(
            "root.path {:?}: no such directory in bundle {}",
            root.path().display().to_string(),
            bundle.display()
        ),
    };
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| anyhow!("config.json: process: missing"))?;
    crate::process::validate(process).map_err(|e| anyhow!("config.json: {e:#}"))?;
    crate::lsm::validate(spec).map_err(|e| anyhow!("config.json: {e:#}"))?;
    crate::terminal::validate(process).map_err(|e| anyhow!("config.json: {e:#}"))?;
    let linux = spec
        .linux()
        .as_ref()
        .ok_or_else(|| anyhow!("config.json: linux: missing"))?;
    namespaces::validate(linux)?;
    let has = |t| namespaces::has_new_or_joined(linux, t);
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts) {
        bail!("config.json: hostname: setting the hostname needs a uts namespace");
    }
    if spec.domainname().as_ref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts) {
        bail!("config.json: domainname: setting the domainname needs a uts namespace");
    }
    let userns = has(LinuxNamespaceType::User);
    let maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
        || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    if maps && !userns {
        bail!("config.json: linux.uidMappings: mappings given without a user namespace");
    }
    if namespaces::creates(linux, LinuxNamespaceType::User) {
        if linux.uid_mappings().as_ref().is_none_or(|m| m.is_empty()) {
            bail!("config.json: linux.uidMappings: a new user namespace needs uid mappings");
        }
        if linux.gid_mappings().as_ref().is_none_or(|m| m.is_empty()) {
            bail!("config.json: linux.gidMappings: a new user namespace needs gid mappings");
        }
    }
    check_ids(spec)?;
    crate::netdevices::validate(linux).map_err(|e| anyhow!("config.json: {e:#}"))?;
    unsupported(linux.intel_rdt().is_some(), "linux.intelRdt")?;
    unsupported(linux.memory_policy().is_some(), "linux.memoryPolicy")?;
    crate::hooks::validate(spec)?;
    check_annotations(spec)?;
    if let Some(p) = linux.personality() {
        crate::process::attrs::validate_personality(p)
            .map_err(|e| anyhow!("config.json: {e:#}"))?;
    }
    crate::cgroups::validate(Some(linux)).map_err(|e| anyhow!("config.json: {e:#}"))?;
    if let Some(sc) = linux.seccomp() {
        crate::seccomp::validate(sc).map_err(|e| anyhow!("config.json: {e:#}"))?;
    }
    crate::rootfs::validate(spec)?;
    crate::sysctl::validate(spec)?;
    Ok(rootfs)
}

/// Every uid and gid outside `process.user` (checked with the process) in runc 1.1's range:
/// id mappings (their ranges too), device owners, and mounts' idmaps.
fn check_ids(spec: &Spec) -> Result<()> {
    use crate::process::user::check_id;
    let maps = |field: &str, maps: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| {
        for (i, m) in maps.iter().flatten().enumerate() {
            let at = format!("config.json: {field}[{i}]");
            check_id(&format!("{at}.containerID"), m.container_id())?;
            check_id(&format!("{at}.hostID"), m.host_id())?;
            let ends =
                [m.container_id(), m.host_id()].map(|id| u64::from(id) + u64::from(m.size()));
            if m.size() == 0 || ends.iter().any(|&e| e > u64::from(u32::MAX)) {
                bail!("{at}.size: {} is out of range for the ids mapped", m.size());
            }
        }
        Ok::<_, anyhow::Error>(())
    };
    if let Some(linux) = spec.linux() {
        maps("linux.uidMappings", linux.uid_mappings())?;
        maps("linux.gidMappings", linux.gid_mappings())?;
        for (i, d) in linux.devices().iter().flatten().enumerate() {
            if let Some(uid) = d.uid() {
                check_id(&format!("config.json: linux.devices[{i}].uid"), uid)?;
            }
            if let Some(gid) = d.gid() {
                check_id(&format!("config.json: linux.devices[{i}].gid"), gid)?;
            }
        }
    }
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        maps(&format!("mounts[{i}].uidMappings"), m.uid_mappings())?;
        maps(&format!("mounts[{i}].gidMappings"), m.gid_mappings())?;
    }
    Ok(())
}

fn unsupported(present: bool, field: &str) -> Result<()> {
    if present {
        bail!("config.json: {field}: not supported by berth");
    }
    Ok(())
}

fn check_annotations(spec: &Spec) -> Result<()> {
    if let Some(a) = spec.annotations() {
        if a.keys().any(|k| k.is_empty()) {
            bail!("config.json: annotations: keys must not be empty");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalize_process_drops_unknown_caps_and_translates_sched_flags() {
        let mut p = json!({
            "capabilities": {"bounding": ["CAP_KILL", "CAP_FOO"], "effective": ["CAP_BAR", "CAP_FOO"]},
            "scheduler": {"policy": "SCHED_OTHER", "flags": ["SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_RECLAIM"]}
        });
        assert_eq!(normalize_process(&mut p).unwrap(), ["CAP_BAR", "CAP_FOO"]);
        assert_eq!(p["capabilities"]["bounding"], json!(["CAP_KILL"]));
        assert_eq!(p["capabilities"]["effective"], json!([]));
        let s: oci_spec::runtime::Scheduler =
            serde_json::from_value(p["scheduler"].clone()).unwrap();
        use oci_spec::runtime::LinuxSchedulerFlag as F;
        assert_eq!(
            s.flags().as_deref().unwrap(),
            [
                F::SchedResetOnFork,
                F::SchedFlagDLOverrun,
                F::SchedFlagReclaim
            ]
        );
        let mut p =
            json!({"scheduler": {"policy": "SCHED_OTHER", "flags": ["SCHED_RESET_ON_FORK"]}});
        assert_eq!(
            normalize_process(&mut p).unwrap_err().to_string(),
            "process.scheduler.flags[0]: unknown flag \"SCHED_RESET_ON_FORK\""
        );
    }
}
