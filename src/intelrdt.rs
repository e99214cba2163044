//! Intel RDT through the resctrl filesystem (linux.intelRdt, update's schema flags).
//!
//! resctrl is one flat level of CLOS groups under its mount point, each with `schemata`
//! and `tasks`, and monitoring groups under `<clos>/mon_groups/`. Everything that touches
//! the tree takes its root as a parameter, so the unit tests run it against a directory
//! laid out like resctrl.

use anyhow::{bail, Context, Result};
use oci_spec::runtime::LinuxIntelRdt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// A container's place in resctrl, kept in its state for update and delete: the mount
/// point it was made under and the container's linux.intelRdt.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Group {
    pub root: PathBuf,
    pub config: LinuxIntelRdt,
}

impl Group {
    /// The CLOS group's directory.
    pub fn dir(&self, id: &str) -> PathBuf {
        clos_dir(&self.root, &self.config, id)
    }

    pub fn remove(&self, id: &str) -> Result<()> {
        remove(&self.root, &self.config, id)
    }
}

/// The resctrl mount point, from /proc/self/mountinfo (the filesystem type is "resctrl").
pub fn root() -> Option<PathBuf> {
    let text = fs::read_to_string("/proc/self/mountinfo").ok()?;
    root_in_mountinfo(&text)
}

fn root_in_mountinfo(text: &str) -> Option<PathBuf> {
    text.lines().find_map(|line| {
        let (pre, post) = line.split_once(" - ")?;
        if post.split_whitespace().next()? != "resctrl" {
            return None;
        }
        // Field 5 is the mount point, with spaces escaped as \040.
        let mount = pre.split_whitespace().nth(4)?;
        Some(PathBuf::from(mount.replace("\\040", " ")))
    })
}

/// What the resctrl tree offers: allocation of L3 (CAT), of memory bandwidth (MBA), and
/// monitoring, each known by its directory under info/.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    pub cat: bool,
    pub mba: bool,
    pub monitoring: bool,
}

impl Features {
    pub fn of(root: &Path) -> Features {
        let info = root.join("info");
        Features {
            cat: info.join("L3").is_dir(),
            mba: info.join("MB").is_dir(),
            monitoring: info.join("L3_MON").is_dir(),
        }
    }

    fn enabled(self) -> bool {
        self.cat || self.mba
    }
}

/// Checks linux.intelRdt against the host's resctrl (`root`: its mount point, if any),
/// with runc's rules and words.
pub fn validate(rdt: &LinuxIntelRdt, root: Option<&Path>) -> Result<()> {
    let features = root.map(Features::of);
    if !features.is_some_and(Features::enabled) {
        bail!("intelRdt is specified in config, but Intel RDT is not enabled");
    }
    let features = features.unwrap_or(Features {
        cat: false,
        mba: false,
        monitoring: false,
    });
    if let Some(clos) = clos_id(rdt) {
        // "/" is the default CLOS (the root) by the spec; any other path would leave the
        // resctrl tree or make a group resctrl does not have.
        if clos != "/" && (clos.is_empty() || clos == "." || clos == ".." || clos.contains('/')) {
            bail!("invalid intelRdt.ClosID {clos:?}");
        }
    }
    if rdt
        .l3_cache_schema()
        .as_ref()
        .is_some_and(|s| !s.is_empty())
        && !features.cat
    {
        bail!("intelRdt.l3CacheSchema is specified in config, but Intel RDT/CAT is not enabled");
    }
    if let Some(mb) = rdt.mem_bw_schema().as_ref().filter(|s| !s.is_empty()) {
        if !features.mba {
            bail!("intelRdt.memBwSchema is specified in config, but Intel RDT/MBA is not enabled");
        }
        if !mb.starts_with("MB:") {
            bail!("intelRdt.memBwSchema: {mb:?} must start with \"MB:\"");
        }
    }
    let lines = [rdt.l3_cache_schema().as_ref(), rdt.mem_bw_schema().as_ref()]
        .into_iter()
        .flatten()
        .chain(rdt.schemata().iter().flatten());
    for line in lines {
        if line.contains('\n') {
            bail!("intelRdt: schema {line:?} must not contain a newline");
        }
    }
    if rdt.enable_monitoring() == &Some(true) && !features.monitoring {
        bail!("intelRdt.enableMonitoring is specified in config, but Intel RDT monitoring is not enabled");
    }
    Ok(())
}

/// The text for the group's `schemata` file: l3CacheSchema, then memBwSchema, then the
/// schemata lines (the spec's order); None when none is set (nothing is written then).
pub fn schemata_text(rdt: &LinuxIntelRdt) -> Option<String> {
    let lines: Vec<&str> = [
        rdt.l3_cache_schema().as_deref(),
        rdt.mem_bw_schema().as_deref(),
    ]
    .into_iter()
    .flatten()
    .chain(rdt.schemata().iter().flatten().map(String::as_str))
    .filter(|l| !l.is_empty())
    .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// closID where set; an empty one is unset, as in runc's config (Go's zero value).
fn clos_id(rdt: &LinuxIntelRdt) -> Option<&str> {
    rdt.clos_id().as_deref().filter(|c| !c.is_empty())
}

/// The CLOS group's directory: closID ("/" is the root group), or the container id.
pub fn clos_dir(root: &Path, rdt: &LinuxIntelRdt, id: &str) -> PathBuf {
    match clos_id(rdt) {
        Some("/") => root.to_path_buf(),
        Some(clos) => root.join(clos),
        None => root.join(id),
    }
}

/// The container's monitoring group, under its CLOS group.
pub fn mon_dir(root: &Path, rdt: &LinuxIntelRdt, id: &str) -> PathBuf {
    clos_dir(root, rdt, id).join("mon_groups").join(id)
}

/// Puts `pid` into the container's CLOS group (made and given its schemata where asked)
/// and, with enableMonitoring, into its own monitoring group. On failure, what this made
/// is removed again.
pub fn apply(root: &Path, rdt: &LinuxIntelRdt, id: &str, pid: i32) -> Result<()> {
    let dir = clos_dir(root, rdt, id);
    let schemata = schemata_text(rdt);
    let mut made_clos = false;
    let result = (|| {
        match (&schemata, clos_id(rdt).is_some()) {
            // A named CLOS without schemata is one set up beforehand: join it, make none.
            (None, true) => {
                if !dir.is_dir() {
                    bail!(
                        "clos dir not accessible (must be pre-created when l3CacheSchema \
                         and memBwSchema are empty): {}",
                        dir.display()
                    );
                }
            }
            // An existing named CLOS may be shared: it must already hold these schemata.
            (Some(text), true) if dir.is_dir() => {
                let existing = fs::read_to_string(dir.join("schemata"))
                    .with_context(|| format!("reading {}/schemata", dir.display()))?;
                if !same_schemata(&existing, text)? {
                    bail!(
                        "intelRdt: existing CLOS {} has other schemata than the config's",
                        dir.display()
                    );
                }
            }
            (Some(text), _) => {
                made_clos = make_dir(&dir)?;
                write(root, &dir, "schemata", text)?;
            }
            (None, false) => made_clos = make_dir(&dir)?,
        }
        // Both groups exist before the pid moves, so a failure leaves it where it was.
        let mon = (rdt.enable_monitoring() == &Some(true)).then(|| mon_dir(root, rdt, id));
        if let Some(mon) = &mon {
            fs::create_dir(mon).with_context(|| {
                format!("intelRdt: creating the monitoring group {}", mon.display())
            })?;
        }
        let joined = write(root, &dir, "tasks", &pid.to_string()).and_then(|()| {
            mon.iter()
                .try_for_each(|m| write(root, m, "tasks", &pid.to_string()))
        });
        if let (Err(_), Some(mon)) = (&joined, &mon) {
            let _ = fs::remove_dir(mon);
        }
        joined
    })();
    if result.is_err() && made_clos {
        let _ = fs::remove_dir(&dir);
    }
    result
}

/// Removes the container's monitoring group and, unless closID names a group the
/// container shares, its CLOS group. Groups already gone are fine.
pub fn remove(root: &Path, rdt: &LinuxIntelRdt, id: &str) -> Result<()> {
    let mut dirs = Vec::new();
    if rdt.enable_monitoring() == &Some(true) {
        dirs.push(mon_dir(root, rdt, id));
    }
    if clos_id(rdt).is_none() {
        dirs.push(clos_dir(root, rdt, id));
    }
    for dir in dirs {
        // resctrl directories are removed with rmdir, whatever files they show.
        match fs::remove_dir(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("removing {}", dir.display()));
            }
            _ => {}
        }
    }
    Ok(())
}

/// update's --l3-cache-schema/--mem-bw-schema, with runc's words where the host lacks
/// the feature: as runc's, both schemas of the container's config are replaced by the
/// flags (one not given becomes unset), and the group's schemata rewritten from the
/// result (its `schemata` lines still last). Returns the group with the new config.
pub fn update(group: &Group, id: &str, l3: Option<&str>, mb: Option<&str>) -> Result<Group> {
    check_update(Some(Features::of(&group.root)), l3, mb)?;
    let mut config = group.config.clone();
    config
        .set_l3_cache_schema(l3.map(str::to_string))
        .set_mem_bw_schema(mb.map(str::to_string));
    let new = Group {
        root: group.root.clone(),
        config,
    };
    if let Some(text) = schemata_text(&new.config) {
        write(&new.root, &new.dir(id), "schemata", &text)?;
    }
    Ok(new)
}

/// runc's checks (and words) for update's schema flags.
pub fn check_update(features: Option<Features>, l3: Option<&str>, mb: Option<&str>) -> Result<()> {
    let f = features.unwrap_or(Features {
        cat: false,
        mba: false,
        monitoring: false,
    });
    if l3.is_some() && !f.cat {
        bail!("Intel RDT/CAT: l3 cache schema is not enabled");
    }
    if mb.is_some() && !f.mba {
        bail!("Intel RDT/MBA: memory bandwidth schema is not enabled");
    }
    Ok(())
}

/// The intel_rdt section of `events --stats`, as runc's types.IntelRdt (its JSON names;
/// empty fields left out as Go's omitempty does).
#[derive(Serialize, Debug, Default, Clone, PartialEq)]
pub struct Stats {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub l3_cache_info: Option<L3CacheInfo>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub l3_cache_schema_root: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub l3_cache_schema: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_bw_info: Option<MemBwInfo>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mem_bw_schema_root: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mem_bw_schema: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mbm_stats: Option<Vec<MbmStats>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmt_stats: Option<Vec<CmtStats>>,
}

#[derive(Serialize, Debug, Default, Clone, PartialEq)]
pub struct L3CacheInfo {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cbm_mask: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub min_cbm_bits: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub num_closids: u64,
}

#[derive(Serialize, Debug, Default, Clone, PartialEq)]
pub struct MemBwInfo {
    #[serde(skip_serializing_if = "is_zero")]
    pub bandwidth_gran: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub delay_linear: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub min_bandwidth: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub num_closids: u64,
}

/// One L3 domain's memory bandwidth counters.
#[derive(Serialize, Debug, Default, Clone, PartialEq)]
pub struct MbmStats {
    pub mbm_total_bytes: u64,
    pub mbm_local_bytes: u64,
}

/// One L3 domain's cache occupancy.
#[derive(Serialize, Debug, Default, Clone, PartialEq)]
pub struct CmtStats {
    pub llc_occupancy: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The container's RDT statistics: the hardware's limits (info/), the root's and the
/// group's schema lines, and the monitoring counters of its monitoring group (or of its
/// CLOS group without one), per L3 domain.
pub fn stats(group: &Group, id: &str) -> Result<Stats> {
    let root = &group.root;
    let f = Features::of(root);
    let dir = group.dir(id);
    let mut out = Stats::default();
    let line_of = |dir: &Path, kind: &str| -> Result<String> {
        let path = dir.join("schemata");
        let text =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        Ok(text
            .lines()
            .map(str::trim)
            .find(|l| l.split(':').next().map(str::trim) == Some(kind))
            .unwrap_or_default()
            .to_string())
    };
    if f.cat {
        let info = root.join("info/L3");
        out.l3_cache_info = Some(L3CacheInfo {
            cbm_mask: read_string(&info.join("cbm_mask"))?,
            min_cbm_bits: read_u64(&info.join("min_cbm_bits"))?,
            num_closids: read_u64(&info.join("num_closids"))?,
        });
        out.l3_cache_schema_root = line_of(root, "L3")?;
        out.l3_cache_schema = line_of(&dir, "L3")?;
    }
    if f.mba {
        let info = root.join("info/MB");
        out.mem_bw_info = Some(MemBwInfo {
            bandwidth_gran: read_u64(&info.join("bandwidth_gran"))?,
            delay_linear: read_u64(&info.join("delay_linear"))?,
            min_bandwidth: read_u64(&info.join("min_bandwidth"))?,
            num_closids: read_u64(&info.join("num_closids"))?,
        });
        out.mem_bw_schema_root = line_of(root, "MB")?;
        out.mem_bw_schema = line_of(&dir, "MB")?;
    }
    if f.monitoring {
        let features = read_string(&root.join("info/L3_MON/mon_features")).unwrap_or_default();
        let has = |name: &str| features.lines().any(|l| l.trim() == name);
        let mon = if group.config.enable_monitoring() == &Some(true) {
            mon_dir(root, &group.config, id)
        } else {
            dir
        };
        let mut domains: Vec<PathBuf> = match fs::read_dir(mon.join("mon_data")) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("mon_L3_"))
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        domains.sort();
        if has("mbm_total_bytes") || has("mbm_local_bytes") {
            let mut v = Vec::new();
            for d in &domains {
                v.push(MbmStats {
                    mbm_total_bytes: read_u64(&d.join("mbm_total_bytes"))?,
                    mbm_local_bytes: read_u64(&d.join("mbm_local_bytes"))?,
                });
            }
            out.mbm_stats = Some(v);
        }
        if has("llc_occupancy") {
            let mut v = Vec::new();
            for d in &domains {
                v.push(CmtStats {
                    llc_occupancy: read_u64(&d.join("llc_occupancy"))?,
                });
            }
            out.cmt_stats = Some(v);
        }
    }
    Ok(out)
}

fn read_string(path: &Path) -> Result<String> {
    Ok(fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))?
        .trim()
        .to_string())
}

fn read_u64(path: &Path) -> Result<u64> {
    let text = read_string(path)?;
    text.parse()
        .with_context(|| format!("{}: {text:?} is not a number", path.display()))
}

/// Makes `dir`; true if this call made it.
fn make_dir(dir: &Path) -> Result<bool> {
    match fs::create_dir(dir) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e).with_context(|| format!("intelRdt: creating {}", dir.display())),
    }
}

/// Writes one resctrl file; the kernel says why it refused a write only in
/// info/last_cmd_status, so that goes into the error.
fn write(root: &Path, dir: &Path, file: &str, data: &str) -> Result<()> {
    let path = dir.join(file);
    if let Err(e) = fs::write(&path, format!("{data}\n")) {
        let status = fs::read_to_string(root.join("info/last_cmd_status")).unwrap_or_default();
        let status = status.trim();
        if status.is_empty() {
            bail!(
                "intelrdt: unable to write {data:?} to {}: {e}",
                path.display()
            );
        }
        bail!(
            "intelrdt: unable to write {data:?} to {}: {e}, last_cmd_status: {status}",
            path.display()
        );
    }
    Ok(())
}

/// Whether two schemata texts allocate the same: their L3, L3CODE, L3DATA and MB lines
/// compared per cache id (bitmasks as numbers); other resources' lines are not compared.
fn same_schemata(existing: &str, wanted: &str) -> Result<bool> {
    let a = parse_schemata(existing)?;
    let b = parse_schemata(wanted)?;
    Ok(b.iter().all(|l| a.contains(l)) && a.iter().all(|l| b.contains(l)))
}

type SchemaLine = (String, BTreeMap<String, String>);

fn parse_schemata(text: &str) -> Result<Vec<SchemaLine>> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((kind, rest)) = line.split_once(':') else {
            continue;
        };
        let kind = kind.trim();
        if !matches!(kind, "L3" | "L3CODE" | "L3DATA" | "MB") {
            continue;
        }
        let mut ids = BTreeMap::new();
        for token in rest.split(';').map(str::trim).filter(|t| !t.is_empty()) {
            let (id, value) = token
                .split_once('=')
                .map(|(i, v)| (i.trim(), v.trim()))
                .filter(|(i, v)| !i.is_empty() && !v.is_empty())
                .with_context(|| format!("intelRdt: schema {line:?}: bad entry {token:?}"))?;
            let value = if kind == "MB" {
                value.to_string()
            } else {
                let n = u64::from_str_radix(value, 16)
                    .with_context(|| format!("intelRdt: schema {line:?}: bad bitmask {value:?}"))?;
                format!("{n:x}")
            };
            ids.insert(id.to_string(), value);
        }
        out.push((kind.to_string(), ids));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
