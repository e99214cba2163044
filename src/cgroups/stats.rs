//! Usage statistics shaped like runc's `events --stats` data (runc's types.Stats JSON):
//! cpu, cpuset, memory, pids, blkio and hugetlb, read from v1 or v2 files. A statistic the
//! kernel does not keep reads as 0.

use anyhow::{bail, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

use super::convert::parse_cpuset_list;
use super::files::{keyed, read, read_keyed, read_u64_opt};
use super::{Cgroup, Mode};

#[derive(Serialize, Debug, Default, Clone)]
pub struct Stats {
    pub cpu: Cpu,
    pub cpuset: CpuSet,
    pub memory: Memory,
    pub pids: Pids,
    pub blkio: Blkio,
    pub hugetlb: BTreeMap<String, Hugetlb>,
    /// Intel RDT (filled by the caller from resctrl): empty where the container has no
    /// resctrl group, as runc's; the key is always there in runc's output.
    pub intel_rdt: crate::intelrdt::Stats,
    /// Null: runc 1.5.1 reports no counters for linux.netDevices either.
    pub network_interfaces: Option<Vec<()>>,
}

#[derive(Serialize, Debug, Default, Clone)]
pub struct Cpu {
    pub usage: CpuUsage,
    /// Omitted while all zero, as runc 1.5's JSON does.
    #[serde(skip_serializing_if = "Throttling::is_zero")]
    pub throttling: Throttling,
}

/// Nanoseconds.
#[derive(Serialize, Debug, Default, Clone)]
pub struct CpuUsage {
    #[serde(skip_serializing_if = "is_zero")]
    pub total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_kernel: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_user: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Serialize, Debug, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Throttling {
    #[serde(skip_serializing_if = "is_zero")]
    pub periods: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled_periods: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled_time: u64,
}

impl Throttling {
    fn is_zero(&self) -> bool {
        self.periods == 0 && self.throttled_periods == 0 && self.throttled_time == 0
    }
}

/// runc's field order; the flags are v1's cpuset files (0 on v2, which has none).
#[derive(Serialize, Debug, Default, Clone)]
pub struct CpuSet {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cpus: Vec<u32>,
    pub cpu_exclusive: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mems: Vec<u32>,
    pub mem_hardwall: u64,
    pub mem_exclusive: u64,
    pub memory_migrate: u64,
    pub memory_spread_page: u64,
    pub memory_spread_slab: u64,
    pub memory_pressure: u64,
    pub sched_load_balance: u64,
    pub sched_relax_domain_level: i64,
}

#[derive(Serialize, Debug, Default, Clone)]
pub struct MemoryEntry {
    pub limit: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Serialize, Debug, Default, Clone)]
pub struct Memory {
    #[serde(skip_serializing_if = "is_zero")]
    pub cache: u64,
    pub usage: MemoryEntry,
    pub swap: MemoryEntry,
    pub kernel: MemoryEntry,
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: MemoryEntry,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub raw: BTreeMap<String, u64>,
}

#[derive(Serialize, Debug, Default, Clone)]
pub struct Pids {
    #[serde(skip_serializing_if = "is_zero")]
    pub current: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

#[derive(Serialize, Debug, Default, Clone, PartialEq, Eq)]
pub struct BlkioEntry {
    #[serde(skip_serializing_if = "is_zero")]
    pub major: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub minor: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub op: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub value: u64,
}

#[derive(Serialize, Debug, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Blkio {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_serviced_recursive: Vec<BlkioEntry>,
}

#[derive(Serialize, Debug, Default, Clone)]
pub struct Hugetlb {
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    pub failcnt: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// "max" (read as u64::MAX) is reported as 0, as runc does for limits.
fn limit(v: u64) -> u64 {
    if v == u64::MAX {
        0
    } else {
        v
    }
}

pub fn collect(cg: &Cgroup) -> Result<Stats> {
    let mut s = Stats::default();
    match cg.mode {
        Mode::V2 => {
            let d = cg.v2_dir()?;
            if !d.exists() {
                bail!("cgroup {} does not exist", d.display());
            }
            v2_stats(d, &mut s)?;
        }
        Mode::V1 | Mode::Hybrid => {
            v1_stats(cg, &mut s)?;
            if cg.v1_dir("hugetlb").is_none() && cg.v2_has("hugetlb") {
                if let Some(d) = cg.v2.as_deref() {
                    v2_hugetlb(d, &mut s)?;
                }
            }
        }
    }
    Ok(s)
}

const NS_PER_USEC: u64 = 1000;

fn v1_stats(cg: &Cgroup, s: &mut Stats) -> Result<()> {
    if let Some(d) = cg.v1_dir("cpuacct") {
        s.cpu.usage.total = read_u64_opt(d, "cpuacct.usage")?;
        s.cpu.usage.percpu = numbers(d, "cpuacct.usage_percpu");
        s.cpu.usage.percpu_user = numbers(d, "cpuacct.usage_percpu_user");
        s.cpu.usage.percpu_kernel = numbers(d, "cpuacct.usage_percpu_sys");
        // cpuacct.stat is in USER_HZ ticks (100 per second on Linux).
        if let Ok(st) = read_keyed(d, "cpuacct.stat") {
            s.cpu.usage.user = keyed(&st, "user") * 10_000_000;
            s.cpu.usage.kernel = keyed(&st, "system") * 10_000_000;
        }
    }
    if let Some(d) = cg.v1_dir("cpu") {
        if let Ok(st) = read_keyed(d, "cpu.stat") {
            s.cpu.throttling.periods = keyed(&st, "nr_periods");
            s.cpu.throttling.throttled_periods = keyed(&st, "nr_throttled");
            s.cpu.throttling.throttled_time = keyed(&st, "throttled_time");
        }
    }
    if let Some(d) = cg.v1_dir("cpuset") {
        s.cpuset.cpus = cpuset(d, "cpuset.effective_cpus");
        s.cpuset.mems = cpuset(d, "cpuset.effective_mems");
        let c = &mut s.cpuset;
        for (field, file) in [
            (&mut c.cpu_exclusive, "cpuset.cpu_exclusive"),
            (&mut c.mem_hardwall, "cpuset.mem_hardwall"),
            (&mut c.mem_exclusive, "cpuset.mem_exclusive"),
            (&mut c.memory_migrate, "cpuset.memory_migrate"),
            (&mut c.memory_spread_page, "cpuset.memory_spread_page"),
            (&mut c.memory_spread_slab, "cpuset.memory_spread_slab"),
            (&mut c.memory_pressure, "cpuset.memory_pressure"),
            (&mut c.sched_load_balance, "cpuset.sched_load_balance"),
        ] {
            *field = read_u64_opt(d, file)?;
        }
        c.sched_relax_domain_level = read(d, "cpuset.sched_relax_domain_level")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
    }
    if let Some(d) = cg.v1_dir("memory") {
        let raw = read_keyed(d, "memory.stat")?;
        s.memory.cache = keyed(&raw, "cache");
        s.memory.raw = raw.into_iter().collect();
        let entry = |prefix: &str| -> Result<MemoryEntry> {
            Ok(MemoryEntry {
                limit: limit(read_u64_opt(d, &format!("{prefix}.limit_in_bytes"))?),
                usage: read_u64_opt(d, &format!("{prefix}.usage_in_bytes"))?,
                max: read_u64_opt(d, &format!("{prefix}.max_usage_in_bytes"))?,
                failcnt: read_u64_opt(d, &format!("{prefix}.failcnt"))?,
            })
        };
        s.memory.usage = entry("memory")?;
        s.memory.swap = entry("memory.memsw")?;
        s.memory.kernel = entry("memory.kmem")?;
        s.memory.kernel_tcp = entry("memory.kmem.tcp")?;
    }
    if let Some(d) = cg.v1_dir("pids") {
        s.pids.current = read_u64_opt(d, "pids.current")?;
        s.pids.limit = limit(read_u64_opt(d, "pids.max")?);
    }
    if let Some(d) = cg.v1_dir("blkio") {
        // BFQ's counters when the kernel has them, else the throttle layer's.
        let (bytes, ios) = if d.join("blkio.bfq.io_service_bytes_recursive").exists() {
            (
                "blkio.bfq.io_service_bytes_recursive",
                "blkio.bfq.io_serviced_recursive",
            )
        } else {
            (
                "blkio.throttle.io_service_bytes_recursive",
                "blkio.throttle.io_serviced_recursive",
            )
        };
        s.blkio.io_service_bytes_recursive = parse_blkio_v1(&read(d, bytes).unwrap_or_default());
        s.blkio.io_serviced_recursive = parse_blkio_v1(&read(d, ios).unwrap_or_default());
    }
    if let Some(d) = cg.v1_dir("hugetlb") {
        for size in hugepage_sizes() {
            s.hugetlb.insert(
                size.clone(),
                Hugetlb {
                    usage: read_u64_opt(d, &format!("hugetlb.{size}.usage_in_bytes"))?,
                    max: read_u64_opt(d, &format!("hugetlb.{size}.max_usage_in_bytes"))?,
                    failcnt: read_u64_opt(d, &format!("hugetlb.{size}.failcnt"))?,
                },
            );
        }
    }
    Ok(())
}

fn v2_stats(d: &Path, s: &mut Stats) -> Result<()> {
    if let Ok(st) = read_keyed(d, "cpu.stat") {
        s.cpu.usage.total = keyed(&st, "usage_usec") * NS_PER_USEC;
        s.cpu.usage.user = keyed(&st, "user_usec") * NS_PER_USEC;
        s.cpu.usage.kernel = keyed(&st, "system_usec") * NS_PER_USEC;
        s.cpu.throttling.periods = keyed(&st, "nr_periods");
        s.cpu.throttling.throttled_periods = keyed(&st, "nr_throttled");
        s.cpu.throttling.throttled_time = keyed(&st, "throttled_usec") * NS_PER_USEC;
    }
    s.cpuset.cpus = cpuset(d, "cpuset.cpus.effective");
    s.cpuset.mems = cpuset(d, "cpuset.mems.effective");
    if let Ok(raw) = read_keyed(d, "memory.stat") {
        s.memory.cache = keyed(&raw, "file");
        s.memory.raw = raw.into_iter().collect();
        let events = read_keyed(d, "memory.events").unwrap_or_default();
        let current = read_u64_opt(d, "memory.current")?;
        let max = read_u64_opt(d, "memory.max")?;
        s.memory.usage = MemoryEntry {
            limit: limit(max),
            usage: current,
            max: read_u64_opt(d, "memory.peak")?,
            failcnt: keyed(&events, "max"),
        };
        // As runc: v2 swap is reported as v1's memory+swap.
        let swap_max = read_u64_opt(d, "memory.swap.max")?;
        s.memory.swap = MemoryEntry {
            limit: if max == u64::MAX || swap_max == u64::MAX {
                0
            } else {
                max + swap_max
            },
            usage: current + read_u64_opt(d, "memory.swap.current")?,
            max: 0,
            failcnt: 0,
        };
    }
    s.pids.current = read_u64_opt(d, "pids.current")?;
    s.pids.limit = limit(read_u64_opt(d, "pids.max")?);
    let (bytes, ios) = parse_io_stat(&read(d, "io.stat").unwrap_or_default());
    s.blkio.io_service_bytes_recursive = bytes;
    s.blkio.io_serviced_recursive = ios;
    v2_hugetlb(d, s)
}

fn v2_hugetlb(d: &Path, s: &mut Stats) -> Result<()> {
    for size in hugepage_sizes() {
        if !d.join(format!("hugetlb.{size}.current")).exists() {
            continue;
        }
        let events = read_keyed(d, &format!("hugetlb.{size}.events")).unwrap_or_default();
        s.hugetlb.insert(
            size.clone(),
            Hugetlb {
                usage: read_u64_opt(d, &format!("hugetlb.{size}.current"))?,
                max: 0,
                failcnt: keyed(&events, "max"),
            },
        );
    }
    Ok(())
}

fn hugepage_sizes() -> Vec<String> {
    std::fs::read_dir("/sys/kernel/mm/hugepages")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    super::convert::hugepage_size_name(&e.file_name().to_string_lossy())
                })
                .collect()
        })
        .unwrap_or_default()
}

fn numbers(d: &Path, file: &str) -> Vec<u64> {
    read(d, file)
        .map(|s| {
            s.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn cpuset(d: &Path, file: &str) -> Vec<u32> {
    read(d, file)
        .ok()
        .and_then(|s| parse_cpuset_list(&s).ok())
        .unwrap_or_default()
}

fn dev(s: &str) -> Option<(u64, u64)> {
    let (a, b) = s.split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// v1 blkio counters: "8:0 Read 4096" lines (and a "Total" line without a device).
pub fn parse_blkio_v1(text: &str) -> Vec<BlkioEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let [d, op, v] = f[..] else { return None };
            let (major, minor) = dev(d)?;
            Some(BlkioEntry {
                major,
                minor,
                op: op.to_string(),
                value: v.parse().ok()?,
            })
        })
        .collect()
}

/// v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 ..." into v1-style byte and op entries.
pub fn parse_io_stat(text: &str) -> (Vec<BlkioEntry>, Vec<BlkioEntry>) {
    let (mut bytes, mut ios) = (Vec::new(), Vec::new());
    for l in text.lines() {
        let mut f = l.split_whitespace();
        let Some((major, minor)) = f.next().and_then(dev) else {
            continue;
        };
        for kv in f {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let Ok(value) = v.parse() else { continue };
            let (list, op) = match k {
                "rbytes" => (&mut bytes, "Read"),
                "wbytes" => (&mut bytes, "Write"),
                "rios" => (&mut ios, "Read"),
                "wios" => (&mut ios, "Write"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.to_string(),
                value,
            });
        }
    }
    (bytes, ios)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blkio_v1_lines() {
        let e = parse_blkio_v1("8:0 Read 4096\n8:0 Write 0\nTotal 4096\n");
        assert_eq!(e.len(), 2);
        assert_eq!(
            (e[0].major, e[0].minor, e[0].op.as_str(), e[0].value),
            (8, 0, "Read", 4096)
        );
    }

    #[test]
    fn io_stat_lines() {
        let (b, i) = parse_io_stat("259:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n");
        assert_eq!(b.len(), 2);
        assert_eq!(b[1].op, "Write");
        assert_eq!(b[1].value, 20);
        assert_eq!(i[0].value, 1);
        assert_eq!(i[0].major, 259);
    }

    #[test]
    fn json_shape_follows_runc() {
        let mut s = Stats::default();
        s.memory.usage.limit = 5;
        s.pids.current = 2;
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["memory"]["usage"]["limit"], 5);
        assert_eq!(v["memory"]["kernelTCP"]["failcnt"], 0);
        assert_eq!(v["pids"]["current"], 2);
        assert!(v["cpu"].get("throttling").is_none(), "omitted while zero");
        s.cpu.throttling.periods = 1;
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["cpu"]["throttling"]["periods"], 1);
        assert!(v["hugetlb"].as_object().unwrap().is_empty());
        assert!(v["intel_rdt"].as_object().unwrap().is_empty());
        assert!(v["network_interfaces"].is_null());
        assert_eq!(v["cpuset"]["sched_relax_domain_level"], 0);
    }
}
