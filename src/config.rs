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
        let dropped = normalize_process(p).map_err(|e| anyhow!("config.json: {e:#}"))?;
        if warn {
            warn_dropped_capabilities(&dropped);
        }
    }
    if let Some(r) = v.pointer_mut("/linux/resources") {
        normalize_resources(r);
    }
    crate::process::mempolicy::check_names(v.pointer("/linux/memoryPolicy"))
        .map_err(|e| anyhow!("config.json: {e:#}"))?;
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
        for (set_name, set) in sets.iter_mut() {
            if let Value::Array(names) = set {
                // Only a name can be unknown: any other value is a type error, as in runc.
                if let Some((i, n)) = names.iter().enumerate().find(|(_, n)| !n.is_string()) {
                    let kind = match n {
                        Value::Null => "null",
                        Value::Bool(_) => "a boolean",
                        Value::Number(_) => "a number",
                        Value::Array(_) => "an array",
                        _ => "an object",
                    };
                    bail!(
                        "process.capabilities.{set_name}[{i}]: {kind}, expected a capability name"
                    );
                }
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
    if let Some(rdt) = linux.intel_rdt() {
        let root = crate::intelrdt::root();
        crate::intelrdt::validate(rdt, root.as_deref())
            .map_err(|e| anyhow!("config.json: {e:#}"))?;
    }
    if let Some(p) = linux.memory_policy() {
        crate::process::mempolicy::validate(p).map_err(|e| anyhow!("config.json: {e:#}"))?;
    }
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
        // Found by integration/fuzz.rs: a value that is not a name was dropped with a warning.
        let mut p = json!({"capabilities": {"bounding": ["CAP_KILL", {}]}});
        assert_eq!(
            normalize_process(&mut p).unwrap_err().to_string(),
            "process.capabilities.bounding[1]: an object, expected a capability name"
        );
        let mut p = json!({"capabilities": {"ambient": [7]}});
        assert_eq!(
            normalize_process(&mut p).unwrap_err().to_string(),
            "process.capabilities.ambient[0]: a number, expected a capability name"
        );
        let mut p =
            json!({"scheduler": {"policy": "SCHED_OTHER", "flags": ["SCHED_RESET_ON_FORK"]}});
        assert_eq!(
            normalize_process(&mut p).unwrap_err().to_string(),
            "process.scheduler.flags[0]: unknown flag \"SCHED_RESET_ON_FORK\""
        );
    }
}

/// Property tests of the loader (PROPTEST_CASES sets the number of cases: `make fuzz` runs
/// many more): any bytes, and `berth spec`'s template with any value put anywhere, parse
/// to a spec or to an error naming config.json, never a panic; what parses validates or is
/// refused.
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A bundle directory of its own for one case, with an empty rootfs; removed on drop.
    struct TempBundle(PathBuf);

    impl TempBundle {
        fn new() -> TempBundle {
            static N: AtomicUsize = AtomicUsize::new(0);
            let d = std::env::temp_dir().join(format!(
                "berth-proptest-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(d.join("rootfs")).unwrap();
            TempBundle(d)
        }
    }

    impl Drop for TempBundle {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Parses, then validates what parses: a parse error names config.json. (A newline from
    /// the config may be in an error: the logger prints it escaped, logging::one_line.)
    fn check(bytes: &[u8]) -> std::result::Result<(), TestCaseError> {
        let bundle = TempBundle::new();
        let path = bundle.0.join("config.json");
        std::fs::write(&path, bytes).unwrap();
        match parse(&path) {
            Ok(spec) => {
                if let Err(e) = validate(&spec, &bundle.0) {
                    let e = format!("{e:#}");
                    prop_assert!(e.len() > 10, "validate: {:?}", e);
                }
            }
            Err(e) => {
                let e = format!("{e:#}");
                prop_assert!(e.starts_with("config.json"), "parse: {}", e);
            }
        }
        Ok(())
    }

    /// Field names of the spec (to build objects it reads) and odd words.
    const KEYS: &[&str] = &[
        "ociVersion",
        "process",
        "root",
        "path",
        "readonly",
        "mounts",
        "destination",
        "type",
        "source",
        "options",
        "hostname",
        "linux",
        "namespaces",
        "uidMappings",
        "containerID",
        "hostID",
        "size",
        "resources",
        "memory",
        "limit",
        "cpu",
        "cpus",
        "pids",
        "devices",
        "major",
        "minor",
        "seccomp",
        "defaultAction",
        "syscalls",
        "names",
        "action",
        "hooks",
        "prestart",
        "args",
        "env",
        "cwd",
        "user",
        "uid",
        "gid",
        "additionalGids",
        "capabilities",
        "bounding",
        "rlimits",
        "soft",
        "hard",
        "sysctl",
        "maskedPaths",
        "cgroupsPath",
        "timeOffsets",
        "personality",
        "scheduler",
        "ioPriority",
        "",
        "\n",
    ];

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![(0..KEYS.len()).prop_map(|i| KEYS[i].to_string()), ".{0,6}",]
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            prop_oneof![
                Just(0i64),
                Just(-1),
                Just(i64::MAX),
                Just(i64::MIN),
                Just(1 << 31),
                Just(1 << 32),
                any::<i64>()
            ]
            .prop_map(Value::from),
            Just(Value::from(u64::MAX)),
            any::<f64>().prop_map(Value::from),
            "[/a-zA-Z0-9_.\\-]{0,12}|.{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::vec((key(), inner), 0..4)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// Every JSON pointer into `v`, the root included ("").
    fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
        out.push(at.clone());
        match v {
            Value::Object(m) => {
                for (k, c) in m {
                    pointers(
                        c,
                        format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                        out,
                    );
                }
            }
            Value::Array(a) => {
                for (i, c) in a.iter().enumerate() {
                    pointers(c, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }

    /// `berth spec`'s config: its relative root path names the bundle's rootfs.
    fn template() -> Value {
        crate::commands::spec::template()
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        /// Any bytes at all.
        #[test]
        fn any_bytes_parse_or_are_refused(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            check(&bytes)?;
        }

        /// The template's text with bytes changed, inserted or removed.
        #[test]
        fn mutated_text_parses_or_is_refused(
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6)
        ) {
            let mut text = serde_json::to_vec_pretty(&template()).unwrap();
            for (at, byte, how) in edits {
                let i = at.index(text.len());
                match how {
                    0 => text[i] = byte,
                    1 => text.insert(i, byte),
                    _ => { text.remove(i); }
                }
            }
            check(&text)?;
        }

        /// The template with values replaced by, or objects given, any JSON, or entries removed.
        #[test]
        fn mutated_values_parse_and_validate_or_are_refused(
            edits in prop::collection::vec((any::<prop::sample::Index>(), json_value(), 0u8..3, key()), 1..4)
        ) {
            let mut c = template();
            for (at, value, how, k) in edits {
                let mut ptrs = Vec::new();
                pointers(&c, String::new(), &mut ptrs);
                let at = at.get(&ptrs).clone();
                let target = c.pointer_mut(&at).unwrap();
                match (how, target) {
                    (0, Value::Object(m)) => { m.insert(k, value); }
                    (1, Value::Array(a)) if !a.is_empty() => { a.pop(); }
                    (1, Value::Object(m)) => { m.shift_remove(&k); }
                    (_, t) => *t = value,
                }
            }
            check(&serde_json::to_vec(&c).unwrap())?;
        }
    }
}
