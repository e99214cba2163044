//! linux.resources as systemd unit properties (systemd.resource-control(5)), with runc's
//! conversions: what systemd owns of a cgroup (memory, CPU weight and quota, cpuset, tasks,
//! devices, IO weight) goes to the unit so that systemd, which rewrites its units' cgroup
//! files on every reload, keeps the container's limits; berth then writes everything
//! through cgroupfs as well (systemd knows only part of the files), as runc does.

use anyhow::{Context, Result};
use oci_spec::runtime::LinuxResources;

use super::super::convert::{
    blkio_weight_to_io_weight, cpu_shares_to_weight, parse_cpuset_list, swap_to_v2,
};
use super::super::devices::{self, DevType, Rule};
use crate::dbus::Value;

/// One unit property: (name, value).
pub type Property = (String, Value);

/// The kernel's default CPU quota period (µs), which systemd assumes too.
const DEFAULT_PERIOD: u64 = 100_000;
/// systemd's "infinity" for limits and times (UINT64_MAX).
const INFINITY: u64 = u64::MAX;

pub fn prop(name: &str, v: Value) -> Property {
    (name.to_string(), v)
}

/// The a(sv) array StartTransientUnit and SetUnitProperties take.
pub fn to_array(props: &[Property]) -> Value {
    Value::Array {
        elem: "(sv)".into(),
        items: props
            .iter()
            .map(|(n, v)| {
                Value::Struct(vec![
                    Value::Str(n.clone()),
                    Value::Variant(Box::new(v.clone())),
                ])
            })
            .collect(),
    }
}

/// What `resources` sets, as properties. `version` is systemd's (some properties need a
/// newer one: they are then left to cgroupfs alone, as runc does). `devices`: whether to
/// include the device policy (a user's systemd cannot apply one). A CPU quota is rounded up
/// to systemd's 10 ms per second granularity, and `resources` adjusted to match, so that the
/// cgroupfs write agrees with what systemd writes (runc does the same).
pub fn of_resources(
    resources: &mut LinuxResources,
    version: u32,
    devices: bool,
) -> Result<Vec<Property>> {
    let mut out = Vec::new();
    if devices {
        out.extend(device_properties(resources)?);
    }
    if let Some(m) = resources.memory() {
        if let Some(l) = m.limit().filter(|&l| l != 0) {
            out.push(prop("MemoryMax", Value::Uint64(l as u64)));
        }
        if let Some(r) = m.reservation().filter(|&r| r != 0) {
            out.push(prop("MemoryLow", Value::Uint64(r as u64)));
        }
        if let Some(s) = swap_to_v2(m.swap(), m.limit())? {
            out.push(prop("MemorySwapMax", Value::Uint64(s as u64)));
        }
    }
    let mut adjusted_quota = None;
    if let Some(c) = resources.cpu() {
        let idle = c.idle() == Some(1) && version >= 252;
        if idle {
            // CPUWeight=0 is systemd's way to set cpu.idle.
            out.push(prop("CPUWeight", Value::Uint64(0)));
        }
        if let Some(s) = c.shares().filter(|&s| s != 0) {
            if idle {
                crate::logging::warn(
                    "unable to apply both CPUWeight and CpuIdle to systemd, ignoring CPUWeight",
                );
            } else {
                out.push(prop("CPUWeight", Value::Uint64(cpu_shares_to_weight(s))));
            }
        }
        adjusted_quota = cpu_quota(
            &mut out,
            c.quota().unwrap_or(0),
            c.period().unwrap_or(0),
            version,
        );
        if version >= 244 {
            if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
                out.push(prop(
                    "AllowedCPUs",
                    bitmask(cpus, "linux.resources.cpu.cpus")?,
                ));
            }
            if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
                out.push(prop(
                    "AllowedMemoryNodes",
                    bitmask(mems, "linux.resources.cpu.mems")?,
                ));
            }
        }
    }
    if let (Some(q), Some(c)) = (adjusted_quota, resources.cpu_mut()) {
        c.set_quota(Some(q));
    }
    if let Some(p) = resources.pids() {
        if p.limit() > 0 || p.limit() == -1 {
            out.push(prop("TasksMax", Value::Uint64(p.limit() as u64)));
        }
    }
    if let Some(w) = resources
        .block_io()
        .as_ref()
        .and_then(|b| b.weight())
        .filter(|&w| w != 0)
    {
        out.push(prop(
            "IOWeight",
            Value::Uint64(blkio_weight_to_io_weight(w)),
        ));
    }
    if let Some(u) = resources.unified() {
        out.extend(of_unified(u, version)?);
    }
    Ok(out)
}

/// CPUQuotaPerSecUSec (and CPUQuotaPeriodUSec from systemd 242) as runc's addCpuQuota:
/// returns the quota rounded as systemd will apply it, when it was rounded.
fn cpu_quota(out: &mut Vec<Property>, quota: i64, period: u64, version: u32) -> Option<i64> {
    if period != 0 && version >= 242 {
        out.push(prop("CPUQuotaPeriodUSec", Value::Uint64(period)));
    }
    if quota == 0 && period == 0 {
        return None;
    }
    let mut per_sec = INFINITY;
    let mut adjusted = None;
    if quota > 0 {
        let period = if period == 0 { DEFAULT_PERIOD } else { period };
        per_sec = (quota as u64).saturating_mul(1_000_000) / period;
        if !per_sec.is_multiple_of(10_000) {
            per_sec = (per_sec / 10_000 + 1) * 10_000;
            adjusted = Some((per_sec * period / 1_000_000) as i64);
        }
    }
    out.push(prop("CPUQuotaPerSecUSec", Value::Uint64(per_sec)));
    adjusted
}

/// A cpuset list as systemd's CPU set bitmask: byte i holds members 8i..8i+7, lowest bit
/// first.
fn bitmask(list: &str, field: &str) -> Result<Value> {
    let members = parse_cpuset_list(list).with_context(|| format!("{field}: {list:?}"))?;
    let len = members.last().map_or(0, |m| *m as usize / 8 + 1);
    let mut bytes = vec![0u8; len];
    for m in members {
        bytes[m as usize / 8] |= 1 << (m % 8);
    }
    Ok(Value::Array {
        elem: "y".into(),
        items: bytes.into_iter().map(Value::Byte).collect(),
    })
}

/// DevicePolicy and DeviceAllow from the device rules (the configured ones and the default
/// list), as runc: systemd takes only an allow list, so a deny list that is not "allow
/// everything" becomes a deny-all here (berth's own eBPF program, attached after, applies
/// the real rules; both must allow an access).
fn device_properties(resources: &LinuxResources) -> Result<Vec<Property>> {
    let empty = || Value::Array {
        elem: "(ss)".into(),
        items: Vec::new(),
    };
    let st = devices::emulate(&devices::effective_rules(resources.devices().as_ref())?);
    if st.default_allow {
        if st.exceptions.is_empty() {
            return Ok(vec![
                prop("DevicePolicy", Value::Str("auto".into())),
                prop("DeviceAllow", empty()),
            ]);
        }
        crate::logging::warn(
            "systemd doesn't support blacklist device rules -- applying temporary deny-all rule",
        );
        return Ok(vec![
            prop("DevicePolicy", Value::Str("strict".into())),
            prop("DeviceAllow", empty()),
        ]);
    }
    let mut allow = Vec::new();
    for r in &st.exceptions {
        if let Some(path) = device_allow_path(r) {
            allow.push(Value::Struct(vec![
                Value::Str(path),
                Value::Str(perms(r.access)),
            ]));
        }
    }
    Ok(vec![
        prop("DevicePolicy", Value::Str("strict".into())),
        prop("DeviceAllow", empty()),
        prop(
            "DeviceAllow",
            Value::Array {
                elem: "(ss)".into(),
                items: allow,
            },
        ),
    ])
}

/// systemd's name for a rule's devices: "/dev/char/1:3", "char-136" (any minor, systemd
/// 240+), "char-*"; None for "any major, one minor", which systemd cannot express (the eBPF
/// program still applies it).
fn device_allow_path(r: &Rule) -> Option<String> {
    let kind = match r.typ {
        DevType::Char => "char",
        DevType::Block => "block",
        DevType::All => return None,
    };
    match (r.major, r.minor) {
        (None, None) => Some(format!("{kind}-*")),
        (None, Some(_)) => {
            crate::logging::warn(&format!(
                "systemd doesn't support '*:n' device rules -- temporarily ignoring rule: {}",
                devices::v1_line(r).1
            ));
            None
        }
        (Some(major), None) => Some(format!("{kind}-{major}")),
        (Some(major), Some(minor)) => Some(format!("/dev/{kind}/{major}:{minor}")),
    }
}

fn perms(access: u8) -> String {
    let mut s = String::new();
    for (bit, c) in [
        (devices::READ, 'r'),
        (devices::WRITE, 'w'),
        (devices::MKNOD, 'm'),
    ] {
        if access & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// linux.resources.unified entries systemd has a property for (runc's
/// unifiedResToSystemdProps); the rest is written through cgroupfs only.
fn of_unified(
    u: &std::collections::HashMap<String, String>,
    version: u32,
) -> Result<Vec<Property>> {
    let mut out = Vec::new();
    let mut keys: Vec<&String> = u.keys().collect();
    keys.sort();
    let idle = u.get("cpu.idle").is_some_and(|v| v.trim() == "1") && version >= 252;
    for k in keys {
        let v = u[k].trim();
        let field = format!("linux.resources.unified.{k:?}");
        let number = |s: &str| -> Result<u64> {
            if s == "max" {
                return Ok(INFINITY);
            }
            s.parse::<u64>()
                .map_err(|e| anyhow::anyhow!("{field}: {v:?}: {e}"))
        };
        match k.as_str() {
            "cpu.idle" if idle => out.push(prop("CPUWeight", Value::Uint64(0))),
            "cpu.max" => {
                let parts: Vec<&str> = v.split_whitespace().collect();
                if parts.is_empty() || parts.len() > 2 {
                    anyhow::bail!("{field}: {v:?} is not \"QUOTA [PERIOD]\"");
                }
                let quota = if parts[0] == "max" {
                    0
                } else {
                    parts[0]
                        .parse::<i64>()
                        .map_err(|e| anyhow::anyhow!("{field}: {v:?}: {e}"))?
                };
                let period = match parts.get(1) {
                    Some(p) => p
                        .parse::<u64>()
                        .map_err(|e| anyhow::anyhow!("{field}: {v:?}: {e}"))?,
                    None => DEFAULT_PERIOD,
                };
                cpu_quota(&mut out, quota, period, version);
            }
            "cpu.weight" if !idle => out.push(prop("CPUWeight", Value::Uint64(number(v)?))),
            "cpuset.cpus" if version >= 244 => out.push(prop("AllowedCPUs", bitmask(v, &field)?)),
            "cpuset.mems" if version >= 244 => {
                out.push(prop("AllowedMemoryNodes", bitmask(v, &field)?))
            }
            "memory.high" | "memory.low" | "memory.min" | "memory.max" | "memory.swap.max" => {
                let name = match k.as_str() {
                    "memory.high" => "MemoryHigh",
                    "memory.low" => "MemoryLow",
                    "memory.min" => "MemoryMin",
                    "memory.max" => "MemoryMax",
                    _ => "MemorySwapMax",
                };
                out.push(prop(name, Value::Uint64(number(v)?)));
            }
            "pids.max" => out.push(prop("TasksMax", Value::Uint64(number(v)?))),
            _ => {}
        }
    }
    Ok(out)
}

/// memory.oom.group in linux.resources.unified as systemd's OOMPolicy (at the unit's start
/// only, as runc).
pub fn oom_policy(resources: &LinuxResources) -> Result<Option<Property>> {
    let Some(v) = resources
        .unified()
        .as_ref()
        .and_then(|u| u.get("memory.oom.group"))
    else {
        return Ok(None);
    };
    let n: u64 = v
        .trim()
        .parse()
        .map_err(|e| anyhow::anyhow!("linux.resources.unified.\"memory.oom.group\": {v:?}: {e}"))?;
    Ok(match n {
        0 => Some(prop("OOMPolicy", Value::Str("continue".into()))),
        1 => Some(prop("OOMPolicy", Value::Str("kill".into()))),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    fn find<'a>(p: &'a [Property], name: &str) -> Vec<&'a Value> {
        p.iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v)
            .collect()
    }

    #[test]
    fn limits_become_properties() {
        let mut r = res(
            r#"{"memory":{"limit":67108864,"reservation":1048576,"swap":134217728},
            "cpu":{"shares":512,"quota":50000,"period":100000,"cpus":"0-1,9","mems":"0"},
            "pids":{"limit":42},"blockIO":{"weight":500}}"#,
        );
        let p = of_resources(&mut r, 252, false).unwrap();
        assert_eq!(find(&p, "MemoryMax"), [&Value::Uint64(67108864)]);
        assert_eq!(find(&p, "MemoryLow"), [&Value::Uint64(1048576)]);
        assert_eq!(
            find(&p, "MemorySwapMax"),
            [&Value::Uint64(134217728 - 67108864)]
        );
        assert_eq!(
            find(&p, "CPUWeight"),
            [&Value::Uint64(cpu_shares_to_weight(512))]
        );
        assert_eq!(find(&p, "CPUQuotaPeriodUSec"), [&Value::Uint64(100000)]);
        assert_eq!(find(&p, "CPUQuotaPerSecUSec"), [&Value::Uint64(500000)]);
        assert_eq!(find(&p, "TasksMax"), [&Value::Uint64(42)]);
        assert_eq!(
            find(&p, "IOWeight"),
            [&Value::Uint64(blkio_weight_to_io_weight(500))]
        );
        let bytes = |v: &Value| match v {
            Value::Array { items, .. } => items.clone(),
            _ => panic!(),
        };
        assert_eq!(
            bytes(find(&p, "AllowedCPUs")[0]),
            [Value::Byte(0b11), Value::Byte(0b10)]
        );
        assert_eq!(bytes(find(&p, "AllowedMemoryNodes")[0]), [Value::Byte(1)]);
        assert!(find(&p, "DevicePolicy").is_empty());
    }

    #[test]
    fn unlimited_is_infinity() {
        let mut r = res(r#"{"memory":{"limit":-1},"pids":{"limit":-1},"cpu":{"quota":-1}}"#);
        let p = of_resources(&mut r, 252, false).unwrap();
        assert_eq!(find(&p, "MemoryMax"), [&Value::Uint64(INFINITY)]);
        assert_eq!(find(&p, "MemorySwapMax"), [&Value::Uint64(INFINITY)]);
        assert_eq!(find(&p, "TasksMax"), [&Value::Uint64(INFINITY)]);
        assert_eq!(find(&p, "CPUQuotaPerSecUSec"), [&Value::Uint64(INFINITY)]);
    }

    #[test]
    fn quota_is_rounded_up_to_ten_ms_per_second_and_written_so() {
        let mut r = res(r#"{"cpu":{"quota":12345,"period":100000}}"#);
        let p = of_resources(&mut r, 252, false).unwrap();
        assert_eq!(find(&p, "CPUQuotaPerSecUSec"), [&Value::Uint64(130000)]);
        assert_eq!(r.cpu().as_ref().unwrap().quota(), Some(13000));
        // Old systemd: no period property, cpuset left to cgroupfs.
        let mut r = res(r#"{"cpu":{"quota":20000,"period":50000,"cpus":"0"}}"#);
        let p = of_resources(&mut r, 241, false).unwrap();
        assert!(find(&p, "CPUQuotaPeriodUSec").is_empty());
        assert!(find(&p, "AllowedCPUs").is_empty());
        assert_eq!(find(&p, "CPUQuotaPerSecUSec"), [&Value::Uint64(400000)]);
        assert_eq!(r.cpu().as_ref().unwrap().quota(), Some(20000));
    }

    #[test]
    fn devices_become_an_allow_list() {
        let mut r = res(r#"{"devices":[{"allow":false,"access":"rwm"},
            {"allow":true,"type":"b","major":8,"access":"r"}]}"#);
        let p = of_resources(&mut r, 252, true).unwrap();
        assert_eq!(find(&p, "DevicePolicy"), [&Value::Str("strict".into())]);
        let lists = find(&p, "DeviceAllow");
        assert_eq!(lists.len(), 2, "emptied first, then filled");
        let Value::Array { items, .. } = lists[1] else {
            panic!()
        };
        let entries: Vec<(String, String)> = items
            .iter()
            .map(|e| match e {
                Value::Struct(f) => (
                    f[0].as_str().unwrap().to_string(),
                    f[1].as_str().unwrap().to_string(),
                ),
                _ => panic!(),
            })
            .collect();
        assert!(
            entries.contains(&("block-8".into(), "r".into())),
            "{entries:?}"
        );
        assert!(
            entries.contains(&("/dev/char/1:3".into(), "rwm".into())),
            "{entries:?}"
        );
        assert!(
            entries.contains(&("char-136".into(), "rwm".into())),
            "{entries:?}"
        );
        assert!(
            entries.contains(&("char-*".into(), "m".into())),
            "{entries:?}"
        );
        // No deny-all: every device allowed, which systemd says with "auto".
        let mut r = res(r#"{}"#);
        let p = of_resources(&mut r, 252, true).unwrap();
        assert_eq!(find(&p, "DevicePolicy"), [&Value::Str("auto".into())]);
    }

    #[test]
    fn unified_entries_systemd_knows() {
        let mut r = res(
            r#"{"unified":{"memory.high":"1048576","pids.max":"max","cpu.max":"max 50000",
            "cpu.weight":"7","io.weight":"50"}}"#,
        );
        let p = of_resources(&mut r, 252, false).unwrap();
        assert_eq!(find(&p, "MemoryHigh"), [&Value::Uint64(1048576)]);
        assert_eq!(find(&p, "TasksMax"), [&Value::Uint64(INFINITY)]);
        assert_eq!(find(&p, "CPUQuotaPerSecUSec"), [&Value::Uint64(INFINITY)]);
        assert_eq!(find(&p, "CPUQuotaPeriodUSec"), [&Value::Uint64(50000)]);
        assert_eq!(find(&p, "CPUWeight"), [&Value::Uint64(7)]);
        assert_eq!(p.len(), 5, "io.weight is cgroupfs's alone: {p:?}");
        let mut r = res(r#"{"unified":{"memory.max":"lots"}}"#);
        let e = of_resources(&mut r, 252, false).unwrap_err().to_string();
        assert!(
            e.starts_with("linux.resources.unified.\"memory.max\""),
            "{e}"
        );
        let r = res(r#"{"unified":{"memory.oom.group":"1"}}"#);
        assert_eq!(
            oom_policy(&r).unwrap(),
            Some(prop("OOMPolicy", Value::Str("kill".into())))
        );
    }
}
