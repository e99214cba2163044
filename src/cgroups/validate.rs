//! Checks of linux.cgroupsPath and linux.resources before anything is created: values out
//! of range, malformed lists, cpus/mems/hugepage sizes the machine does not have, and (once
//! the layout is known) settings the layout cannot apply. Errors name the config field.

use anyhow::{bail, Context, Result};
use oci_spec::runtime::{Linux, LinuxResources};

use super::convert::{hugepage_size_name, parse_cpuset_list};
use super::mounts::{Layout, Mode};

/// What the machine offers, for the checks that depend on it.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    pub cpus: Vec<u32>,
    pub mems: Vec<u32>,
    /// Hugepage sizes as cgroup files name them ("2MB").
    pub hugepage_sizes: Vec<String>,
}

impl Machine {
    pub fn read() -> Result<Machine> {
        let list = |p: &str| -> Result<Vec<u32>> {
            let s = std::fs::read_to_string(p).with_context(|| format!("reading {p}"))?;
            parse_cpuset_list(&s).with_context(|| format!("parsing {p}"))
        };
        let cpus = list("/sys/devices/system/cpu/online")?;
        // Without NUMA support there is no node directory and node 0 is the only one.
        let mems = if std::path::Path::new("/sys/devices/system/node/online").exists() {
            list("/sys/devices/system/node/online")?
        } else {
            vec![0]
        };
        let mut hugepage_sizes = Vec::new();
        if let Ok(rd) = std::fs::read_dir("/sys/kernel/mm/hugepages") {
            for e in rd.flatten() {
                if let Some(n) = hugepage_size_name(&e.file_name().to_string_lossy()) {
                    hugepage_sizes.push(n);
                }
            }
        }
        Ok(Machine {
            cpus,
            mems,
            hugepage_sizes,
        })
    }
}

/// Validates with the real machine, read only if a check needs it.
pub fn validate(linux: Option<&Linux>) -> Result<()> {
    let Some(linux) = linux else { return Ok(()) };
    let needs_machine = linux.resources().as_ref().is_some_and(|r| {
        r.cpu()
            .as_ref()
            .is_some_and(|c| c.cpus().is_some() || c.mems().is_some())
            || r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty())
    });
    let machine = if needs_machine {
        Machine::read()?
    } else {
        Machine::default()
    };
    validate_with(linux, &machine)
}

pub fn validate_with(linux: &Linux, machine: &Machine) -> Result<()> {
    if let Some(p) = linux.cgroups_path() {
        super::path::inner(Some(p), "-")?;
    }
    if let Some(r) = linux.resources() {
        resources(r, machine)?;
    }
    Ok(())
}

fn at_least_minus_one(v: Option<i64>, field: &str) -> Result<()> {
    match v {
        Some(n) if n < -1 => {
            bail!("{field}: {n} is negative (only -1, meaning unlimited, is allowed)")
        }
        _ => Ok(()),
    }
}

/// Field-level checks of a resources block (also used by `update`).
pub fn resources(r: &LinuxResources, machine: &Machine) -> Result<()> {
    if let Some(m) = r.memory() {
        let f = "linux.resources.memory";
        at_least_minus_one(m.limit(), &format!("{f}.limit"))?;
        at_least_minus_one(m.reservation(), &format!("{f}.reservation"))?;
        at_least_minus_one(m.swap(), &format!("{f}.swap"))?;
        if let (Some(l), Some(s)) = (m.limit(), m.swap()) {
            if l > 0 && s > 0 && s < l {
                bail!("{f}.swap: {s} is below {f}.limit {l} (swap is the memory+swap limit)");
            }
        }
        if let Some(s) = m.swappiness() {
            if s > 100 {
                bail!("{f}.swappiness: {s} is outside 0-100");
            }
        }
    }
    if let Some(c) = r.cpu() {
        let f = "linux.resources.cpu";
        if let Some(s) = c.shares() {
            if s != 0 && !(2..=262_144).contains(&s) {
                bail!("{f}.shares: {s} is outside 2-262144");
            }
        }
        if let Some(q) = c.quota() {
            if q < -1 {
                bail!("{f}.quota: {q} is negative (only -1, meaning unlimited, is allowed)");
            }
            if q > 0 && q < 1000 {
                bail!("{f}.quota: {q} is below the kernel's minimum of 1000 microseconds");
            }
        }
        if let Some(p) = c.period() {
            if p != 0 && !(1000..=1_000_000).contains(&p) {
                bail!("{f}.period: {p} is outside 1000-1000000 microseconds");
            }
        }
        if let Some(i) = c.idle() {
            if i != 0 && i != 1 {
                bail!("{f}.idle: {i} is not 0 or 1");
            }
        }
        if let Some(rt) = c.realtime_runtime() {
            at_least_minus_one(Some(rt), &format!("{f}.realtimeRuntime"))?;
            if let Some(p) = c.realtime_period() {
                if rt > 0 && rt as u64 > p {
                    bail!("{f}.realtimeRuntime: {rt} is above {f}.realtimePeriod {p}");
                }
            }
        }
        for (name, val, have) in [
            ("cpus", c.cpus(), &machine.cpus),
            ("mems", c.mems(), &machine.mems),
        ] {
            let Some(val) = val else { continue };
            let set = parse_cpuset_list(val).with_context(|| format!("{f}.{name}: {val:?}"))?;
            if let Some(bad) = set.iter().find(|x| !have.contains(x)) {
                bail!(
                    "{f}.{name}: {val:?} includes {bad}, which this machine does not have (online: {})",
                    compact(have)
                );
            }
        }
    }
    if let Some(b) = r.block_io() {
        let f = "linux.resources.blockIO";
        let weight = |w: Option<u16>, field: &str| -> Result<()> {
            match w {
                Some(w) if w != 0 && !(10..=1000).contains(&w) => {
                    bail!("{field}: {w} is outside 10-1000")
                }
                _ => Ok(()),
            }
        };
        weight(b.weight(), &format!("{f}.weight"))?;
        weight(b.leaf_weight(), &format!("{f}.leafWeight"))?;
        for (i, d) in b.weight_device().iter().flatten().enumerate() {
            dev(d.major(), d.minor(), &format!("{f}.weightDevice[{i}]"))?;
            weight(d.weight(), &format!("{f}.weightDevice[{i}].weight"))?;
            weight(
                d.leaf_weight(),
                &format!("{f}.weightDevice[{i}].leafWeight"),
            )?;
        }
        for (name, list) in [
            ("throttleReadBpsDevice", b.throttle_read_bps_device()),
            ("throttleWriteBpsDevice", b.throttle_write_bps_device()),
            ("throttleReadIOPSDevice", b.throttle_read_iops_device()),
            ("throttleWriteIOPSDevice", b.throttle_write_iops_device()),
        ] {
            for (i, d) in list.iter().flatten().enumerate() {
                dev(d.major(), d.minor(), &format!("{f}.{name}[{i}]"))?;
            }
        }
    }
    for (i, h) in r.hugepage_limits().iter().flatten().enumerate() {
        let f = format!("linux.resources.hugepageLimits[{i}]");
        if !machine.hugepage_sizes.contains(h.page_size()) {
            bail!(
                "{f}.pageSize: {:?} is not a hugepage size of this machine (it has: {})",
                h.page_size(),
                machine.hugepage_sizes.join(", ")
            );
        }
        at_least_minus_one(Some(h.limit()), &format!("{f}.limit"))?;
    }
    if let Some(n) = r.network() {
        for (i, p) in n.priorities().iter().flatten().enumerate() {
            if p.name().is_empty() || p.name().contains(char::is_whitespace) {
                bail!(
                    "linux.resources.network.priorities[{i}].name: {:?} is not an interface name",
                    p.name()
                );
            }
        }
    }
    for (name, v) in r.rdma().iter().flatten() {
        if name.is_empty() || name.contains(char::is_whitespace) {
            bail!("linux.resources.rdma: {name:?} is not an RDMA device name");
        }
        if v.hca_handles().is_none() && v.hca_objects().is_none() {
            bail!("linux.resources.rdma.{name}: neither hcaHandles nor hcaObjects is set");
        }
    }
    for key in r.unified().iter().flatten().map(|(k, _)| k) {
        unified_key(key)?;
    }
    super::devices::effective_rules(r.devices().as_ref())?;
    Ok(())
}

fn dev(major: i64, minor: i64, field: &str) -> Result<()> {
    if major < 0 || minor < 0 {
        bail!("{field}: {major}:{minor} is not a device number");
    }
    Ok(())
}

/// Files a container config must not write: they move processes or reshape the hierarchy.
const FORBIDDEN_UNIFIED: &[&str] = &[
    "cgroup.procs",
    "cgroup.threads",
    "cgroup.subtree_control",
    "cgroup.kill",
    "cgroup.freeze",
    "cgroup.type",
];

/// Format checks of one unified key; whether its controller is enabled is checked by
/// `for_layout`.
fn unified_key(key: &str) -> Result<()> {
    let f = format!("linux.resources.unified.{key:?}");
    match key.split_once('.') {
        Some((c, rest))
            if !c.is_empty() && !rest.is_empty() && !key.contains('/') && !key.starts_with('.') => {
        }
        _ => bail!("{f}: not a cgroup v2 file name (\"<controller>.<file>\")"),
    }
    if FORBIDDEN_UNIFIED.contains(&key) {
        bail!("{f}: this file is managed by the runtime and cannot be set");
    }
    Ok(())
}

/// Checks that need the layout: what v1 cannot do, what v2 cannot do, and unified keys
/// against the controllers the v2 hierarchy has (`v2_controllers`, its root's
/// cgroup.controllers).
pub fn for_layout(r: &LinuxResources, layout: &Layout, v2_controllers: &[String]) -> Result<()> {
    if let Some(u) = r.unified().as_ref().filter(|u| !u.is_empty()) {
        if layout.mode == Mode::V1 {
            bail!("linux.resources.unified: cgroup v2 files cannot be set on this host, which has only cgroup v1");
        }
        for key in u.keys() {
            let ctrl = key.split_once('.').map_or("", |(c, _)| c);
            if ctrl != "cgroup" && !v2_controllers.iter().any(|c| c == ctrl) {
                bail!(
                    "linux.resources.unified.{key:?}: the {ctrl:?} controller is not available in the cgroup v2 hierarchy (available: {})",
                    v2_controllers.join(" ")
                );
            }
        }
    }
    if layout.mode != Mode::V2 {
        return Ok(());
    }
    let unsupported = |field: &str| -> Result<()> {
        bail!("{field}: not supported on cgroup v2 (the kernel has no equivalent)")
    };
    if let Some(m) = r.memory() {
        if m.swappiness().is_some() {
            unsupported("linux.resources.memory.swappiness")?;
        }
        if m.disable_oom_killer() == Some(true) {
            unsupported("linux.resources.memory.disableOOMKiller")?;
        }
        if m.use_hierarchy() == Some(false) {
            bail!("linux.resources.memory.useHierarchy: false is impossible on cgroup v2, which is always hierarchical");
        }
    }
    if let Some(c) = r.cpu() {
        if c.realtime_runtime().is_some_and(|v| v != 0)
            || c.realtime_period().is_some_and(|v| v != 0)
        {
            unsupported("linux.resources.cpu.realtimeRuntime/realtimePeriod")?;
        }
    }
    if let Some(b) = r.block_io() {
        if b.leaf_weight().is_some_and(|w| w != 0)
            || b.weight_device()
                .iter()
                .flatten()
                .any(|d| d.leaf_weight().is_some_and(|w| w != 0))
        {
            unsupported("linux.resources.blockIO.leafWeight")?;
        }
    }
    if let Some(n) = r.network() {
        if n.class_id().is_some() || n.priorities().as_ref().is_some_and(|p| !p.is_empty()) {
            unsupported("linux.resources.network (net_cls/net_prio are cgroup v1 controllers)")?;
        }
    }
    Ok(())
}

/// "0-3,5" style text of a sorted list, for messages.
fn compact(v: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            v[i].to_string()
        } else {
            format!("{}-{}", v[i], v[j])
        });
        i = j + 1;
    }
    out.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine() -> Machine {
        Machine {
            cpus: vec![0, 1],
            mems: vec![0],
            hugepage_sizes: vec!["2MB".into(), "1GB".into()],
        }
    }

    fn linux(json: &str) -> Linux {
        serde_json::from_str(json).unwrap()
    }

    fn err(json: &str) -> String {
        format!("{:#}", validate_with(&linux(json), &machine()).unwrap_err())
    }

    #[test]
    fn good_config_passes() {
        let l = linux(
            r#"{"cgroupsPath":"/a/b","resources":{"memory":{"limit":1048576,"swap":2097152,"swappiness":10},
            "cpu":{"shares":512,"quota":-1,"period":100000,"cpus":"0-1","mems":"0","idle":1},
            "pids":{"limit":-1},"blockIO":{"weight":500,"weightDevice":[{"major":8,"minor":0,"weight":100}]},
            "hugepageLimits":[{"pageSize":"2MB","limit":0}],
            "devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"}],
            "unified":{"memory.high":"max"}}}"#,
        );
        validate_with(&l, &machine()).unwrap();
    }

    #[test]
    fn messages_name_the_field() {
        assert_eq!(
            err(r#"{"resources":{"cpu":{"quota":-5}}}"#),
            "linux.resources.cpu.quota: -5 is negative (only -1, meaning unlimited, is allowed)"
        );
        assert!(err(r#"{"resources":{"cpu":{"cpus":"0-3"}}}"#)
            .starts_with("linux.resources.cpu.cpus: \"0-3\" includes 2, which this machine does not have (online: 0-1)"));
        assert!(
            err(r#"{"resources":{"cpu":{"mems":"x"}}}"#).starts_with("linux.resources.cpu.mems")
        );
        assert!(err(r#"{"resources":{"memory":{"limit":-2}}}"#)
            .starts_with("linux.resources.memory.limit: -2"));
        assert!(err(r#"{"resources":{"memory":{"limit":200,"swap":100}}}"#)
            .starts_with("linux.resources.memory.swap"));
        assert!(err(r#"{"resources":{"memory":{"swappiness":101}}}"#).contains("swappiness"));
        assert!(
            err(r#"{"resources":{"cpu":{"shares":1}}}"#).starts_with("linux.resources.cpu.shares")
        );
        assert!(
            err(r#"{"resources":{"cpu":{"period":10}}}"#).starts_with("linux.resources.cpu.period")
        );
        assert!(err(r#"{"resources":{"blockIO":{"weight":5}}}"#)
            .starts_with("linux.resources.blockIO.weight"));
        assert!(err(r#"{"resources":{"blockIO":{"throttleReadBpsDevice":[{"major":-1,"minor":0,"rate":1}]}}}"#)
            .starts_with("linux.resources.blockIO.throttleReadBpsDevice[0]"));
        assert!(
            err(r#"{"resources":{"hugepageLimits":[{"pageSize":"3MB","limit":1}]}}"#)
                .starts_with("linux.resources.hugepageLimits[0].pageSize")
        );
        assert!(err(r#"{"resources":{"unified":{"cgroup.procs":"1"}}}"#)
            .contains("managed by the runtime"));
        assert!(
            err(r#"{"resources":{"unified":{"../x":"1"}}}"#).contains("not a cgroup v2 file name")
        );
        assert!(
            err(r#"{"resources":{"devices":[{"allow":true,"type":"c"}]}}"#)
                .starts_with("linux.resources.devices[0].access")
        );
        assert!(err(r#"{"cgroupsPath":"/"}"#).starts_with("linux.cgroupsPath"));
    }

    fn layout(mode: Mode) -> Layout {
        Layout {
            mode,
            v1: Vec::new(),
            v2: None,
        }
    }

    fn res(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn layout_checks() {
        let u = res(r#"{"unified":{"hugetlb.2MB.max":"0"}}"#);
        let e = for_layout(&u, &layout(Mode::V1), &[])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("linux.resources.unified"), "{e}");
        for_layout(&u, &layout(Mode::Hybrid), &["hugetlb".into()]).unwrap();
        let e = for_layout(
            &res(r#"{"unified":{"memory.max":"1"}}"#),
            &layout(Mode::Hybrid),
            &["hugetlb".into()],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("\"memory\" controller is not available"), "{e}");
        let net = res(r#"{"network":{"classID":1}}"#);
        for_layout(&net, &layout(Mode::V1), &[]).unwrap();
        assert!(for_layout(&net, &layout(Mode::V2), &[]).is_err());
        assert!(for_layout(
            &res(r#"{"memory":{"swappiness":1}}"#),
            &layout(Mode::V2),
            &[]
        )
        .is_err());
    }

    #[test]
    fn compact_lists() {
        assert_eq!(compact(&[0, 1, 2, 5, 7, 8]), "0-2,5,7-8");
    }
}
