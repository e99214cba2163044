//! Applying linux.resources on cgroup v1 (and hybrid: a controller that only the cgroup2
//! hierarchy has, such as hugetlb on some hosts, is set there with its v2 file names).

use anyhow::{anyhow, bail, Result};
use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};
use std::path::Path;

use super::files::{read, read_u64, write};
use super::{check_before_update, devices, rdma_line, Cgroup};

/// The directory of a v1 controller, or an error naming the resource that needs it.
fn need<'a>(cg: &'a Cgroup, controller: &str, resource: &str) -> Result<&'a Path> {
    cg.v1_dir(controller).ok_or_else(|| {
        anyhow::anyhow!(
            "{resource}: the {controller} cgroup controller is not mounted on this host"
        )
    })
}

/// Applies every set field of `r`; `update` marks a change to a running container.
pub fn set(cg: &Cgroup, r: &LinuxResources, update: bool) -> Result<()> {
    if let Some(m) = r.memory() {
        memory(need(cg, "memory", "linux.resources.memory")?, m, update)?;
    }
    if let Some(c) = r.cpu() {
        cpu(cg, c)?;
    }
    if let Some(p) = r.pids() {
        let dir = need(cg, "pids", "linux.resources.pids")?;
        write(
            dir,
            "pids.max",
            &super::convert::pids_max(p.limit()),
            "linux.resources.pids.limit",
        )?;
    }
    if let Some(b) = r.block_io() {
        blkio(need(cg, "blkio", "linux.resources.blockIO")?, b)?;
    }
    for (i, h) in r.hugepage_limits().iter().flatten().enumerate() {
        let field = format!("linux.resources.hugepageLimits[{i}]");
        let size = h.page_size();
        if let Some(dir) = cg.v1_dir("hugetlb") {
            let limit = h.limit().to_string();
            write(
                dir,
                &format!("hugetlb.{size}.limit_in_bytes"),
                &limit,
                &field,
            )?;
            let rsvd = format!("hugetlb.{size}.rsvd.limit_in_bytes");
            if dir.join(&rsvd).exists() {
                write(dir, &rsvd, &limit, &field)?;
            }
        } else if cg.v2_has("hugetlb") {
            super::v2::hugetlb(cg.v2_dir()?, size, h.limit(), &field)?;
        } else {
            bail!("{field}: the hugetlb cgroup controller is neither mounted as cgroup v1 nor available in the cgroup v2 hierarchy");
        }
    }
    if let Some(n) = r.network() {
        if let Some(id) = n.class_id() {
            let dir = need(cg, "net_cls", "linux.resources.network.classID")?;
            write(
                dir,
                "net_cls.classid",
                &id.to_string(),
                "linux.resources.network.classID",
            )?;
        }
        for (i, p) in n.priorities().iter().flatten().enumerate() {
            let field = format!("linux.resources.network.priorities[{i}]");
            let dir = need(cg, "net_prio", &field)?;
            write(
                dir,
                "net_prio.ifpriomap",
                &format!("{} {}", p.name(), p.priority()),
                &field,
            )?;
        }
    }
    for (dev, l) in r.rdma().iter().flatten() {
        let field = format!("linux.resources.rdma.{dev}");
        let dir = need(cg, "rdma", &field)?;
        write(dir, "rdma.max", &rdma_line(dev, l), &field)?;
    }
    if let Some(u) = r.unified().as_ref().filter(|u| !u.is_empty()) {
        // Only a hybrid host gets here (validate::for_layout refuses unified on pure v1).
        let dir = cg.v2_dir()?;
        super::v2::unified(dir, u)?;
    }
    Ok(())
}

/// The device rules, in order, then the default allow list: the kernel applies each line
/// with the semantics devices::emulate mirrors.
pub fn set_devices(cg: &Cgroup, r: &LinuxResources) -> Result<()> {
    let rules = devices::effective_rules(r.devices().as_ref())?;
    let dir = need(cg, "devices", "linux.resources.devices")?;
    for rule in &rules {
        let (file, line) = devices::v1_line(rule);
        write(dir, file, &line, "linux.resources.devices")?;
    }
    Ok(())
}

fn memory(dir: &Path, m: &LinuxMemory, update: bool) -> Result<()> {
    let f = "linux.resources.memory";
    let limit = m.limit().filter(|&v| v != 0);
    let mut swap = m.swap().filter(|&v| v != 0);
    let has_memsw = dir.join("memory.memsw.limit_in_bytes").exists();
    // Unlimited memory with swap unset means both unlimited (as runc), where swap is
    // accounted at all.
    if limit == Some(-1) && swap.is_none() && has_memsw {
        swap = Some(-1);
    }
    if update && m.check_before_update() == Some(true) {
        check_before_update(limit, swap, read_u64(dir, "memory.usage_in_bytes")?)?;
    }
    let write_limit = |v: i64| {
        write(
            dir,
            "memory.limit_in_bytes",
            &v.to_string(),
            &format!("{f}.limit"),
        )
        .map_err(|e| {
            // The kernel refuses (EBUSY) a limit it cannot reclaim down to: say so in
            // runc's words, with the usage.
            let usage = read_u64(dir, "memory.usage_in_bytes").unwrap_or(0);
            if v > 0 && v as u64 <= usage {
                let peak = read_u64(dir, "memory.max_usage_in_bytes").unwrap_or(0);
                anyhow!(
                    "unable to set memory limit to {v} (current usage: {usage}, peak usage: {peak})"
                )
            } else {
                e
            }
        })
    };
    let write_swap = |v: i64| {
        write(
            dir,
            "memory.memsw.limit_in_bytes",
            &v.to_string(),
            &format!("{f}.swap"),
        )
    };
    match (limit, swap) {
        (Some(l), Some(s)) => {
            // The kernel keeps limit <= memsw at every step: raise memsw first when growing.
            let cur = read_u64(dir, "memory.limit_in_bytes")?;
            if s == -1 || cur < s as u64 {
                write_swap(s)?;
                write_limit(l)?;
            } else {
                write_limit(l)?;
                write_swap(s)?;
            }
        }
        (Some(l), None) => write_limit(l)?,
        (None, Some(s)) => write_swap(s)?,
        (None, None) => {}
    }
    if let Some(v) = m.kernel_tcp() {
        // As crun: the TCP buffer limit where this kernel still has it (runc ignores it).
        if dir.join("memory.kmem.tcp.limit_in_bytes").exists() {
            write(
                dir,
                "memory.kmem.tcp.limit_in_bytes",
                &v.to_string(),
                &format!("{f}.kernelTCP"),
            )?;
        } else {
            crate::logging::warn(&format!(
                "{f}.kernelTCP is ignored: this kernel has no memory.kmem.tcp.limit_in_bytes"
            ));
        }
    }
    if let Some(v) = m.reservation().filter(|&v| v != 0) {
        write(
            dir,
            "memory.soft_limit_in_bytes",
            &v.to_string(),
            &format!("{f}.reservation"),
        )?;
    }
    if let Some(v) = m.swappiness() {
        write(
            dir,
            "memory.swappiness",
            &v.to_string(),
            &format!("{f}.swappiness"),
        )?;
    }
    if let Some(v) = m.disable_oom_killer() {
        write(
            dir,
            "memory.oom_control",
            if v { "1" } else { "0" },
            &format!("{f}.disableOOMKiller"),
        )?;
    }
    if let Some(v) = m.use_hierarchy() {
        write(
            dir,
            "memory.use_hierarchy",
            if v { "1" } else { "0" },
            &format!("{f}.useHierarchy"),
        )?;
    }
    Ok(())
}

fn cpu(cg: &Cgroup, c: &LinuxCpu) -> Result<()> {
    let f = "linux.resources.cpu";
    let needs_cpu = c.shares().is_some_and(|v| v != 0)
        || c.quota().is_some_and(|v| v != 0)
        || c.period().is_some_and(|v| v != 0)
        || c.burst().is_some()
        || c.realtime_runtime().is_some_and(|v| v != 0)
        || c.realtime_period().is_some_and(|v| v != 0)
        || c.idle().is_some();
    if needs_cpu {
        let dir = need(cg, "cpu", f)?;
        // The kernel refuses cpu.shares while the group is idle: leave idle first.
        if let Some(0) = c.idle() {
            write(dir, "cpu.idle", "0", &format!("{f}.idle"))?;
        }
        if let Some(s) = c.shares().filter(|&v| v != 0) {
            write(dir, "cpu.shares", &s.to_string(), &format!("{f}.shares"))?;
            let got = read_u64(dir, "cpu.shares")?;
            if got != s {
                bail!("{f}.shares: the kernel set {got} instead of {s} (out of its range)");
            }
        }
        cfs(dir, c)?;
        realtime(dir, c)?;
        if let Some(i) = c.idle().filter(|&i| i != 0) {
            write(dir, "cpu.idle", &i.to_string(), &format!("{f}.idle"))?;
        }
    }
    if c.cpus().is_some() || c.mems().is_some() {
        let dir = need(cg, "cpuset", "linux.resources.cpu.cpus/mems")?;
        if let Some(v) = c.cpus() {
            write(dir, "cpuset.cpus", v, &format!("{f}.cpus"))?;
        }
        if let Some(v) = c.mems() {
            write(dir, "cpuset.mems", v, &format!("{f}.mems"))?;
        }
    }
    Ok(())
}

/// cpu.rt_period_us and cpu.rt_runtime_us, in the order that never passes through an invalid
/// pair (the kernel wants runtime <= period at every step): the runtime first when the
/// current runtime would not fit the new period, else the period first.
fn realtime(dir: &Path, c: &LinuxCpu) -> Result<()> {
    let f = "linux.resources.cpu";
    let period = c.realtime_period().filter(|&v| v != 0);
    let runtime = c.realtime_runtime().filter(|&v| v != 0);
    let write_period = |p: u64| {
        write(
            dir,
            "cpu.rt_period_us",
            &p.to_string(),
            &format!("{f}.realtimePeriod"),
        )
    };
    let write_runtime = |rt: i64| {
        write(
            dir,
            "cpu.rt_runtime_us",
            &rt.to_string(),
            &format!("{f}.realtimeRuntime"),
        )
    };
    match (period, runtime) {
        (Some(p), Some(rt)) => {
            let current: i64 = read(dir, "cpu.rt_runtime_us")?.trim().parse().unwrap_or(0);
            if current > 0 && current as u64 > p {
                write_runtime(rt)?;
                write_period(p)
            } else {
                write_period(p)?;
                write_runtime(rt)
            }
        }
        (Some(p), None) => write_period(p),
        (None, Some(rt)) => write_runtime(rt),
        (None, None) => Ok(()),
    }
}

/// Quota, period and burst. A period the kernel refuses next to the old quota (quota may
/// not exceed what the new period allows) is retried after the quota.
fn cfs(dir: &Path, c: &LinuxCpu) -> Result<()> {
    let f = "linux.resources.cpu";
    let quota = c.quota().filter(|&v| v != 0);
    let period = c.period().filter(|&v| v != 0);
    let write_period = |p: u64| {
        write(
            dir,
            "cpu.cfs_period_us",
            &p.to_string(),
            &format!("{f}.period"),
        )
    };
    let write_quota = |q: i64| {
        write(
            dir,
            "cpu.cfs_quota_us",
            &q.to_string(),
            &format!("{f}.quota"),
        )
    };
    match (quota, period) {
        (q, Some(p)) => {
            if write_period(p).is_err() {
                if let Some(q) = q {
                    write_quota(q)?;
                }
                write_period(p)?;
            } else if let Some(q) = q {
                write_quota(q)?;
            }
        }
        (Some(q), None) => write_quota(q)?,
        (None, None) => {}
    }
    if let Some(b) = c.burst() {
        write(
            dir,
            "cpu.cfs_burst_us",
            &b.to_string(),
            &format!("{f}.burst"),
        )?;
    }
    Ok(())
}

fn blkio(dir: &Path, b: &LinuxBlockIo) -> Result<()> {
    let f = "linux.resources.blockIO";
    // With CFQ gone from the kernel, the weight files are BFQ's.
    let (weight, weight_device) = if dir.join("blkio.weight").exists() {
        ("blkio.weight", "blkio.weight_device")
    } else {
        ("blkio.bfq.weight", "blkio.bfq.weight_device")
    };
    if let Some(w) = b.weight().filter(|&v| v != 0) {
        write(dir, weight, &w.to_string(), &format!("{f}.weight"))?;
    }
    if let Some(w) = b.leaf_weight().filter(|&v| v != 0) {
        write(
            dir,
            "blkio.leaf_weight",
            &w.to_string(),
            &format!("{f}.leafWeight"),
        )?;
    }
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        if let Some(w) = d.weight().filter(|&v| v != 0) {
            let line = format!("{}:{} {w}", d.major(), d.minor());
            write(
                dir,
                weight_device,
                &line,
                &format!("{f}.weightDevice[{i}].weight"),
            )?;
        }
        if let Some(w) = d.leaf_weight().filter(|&v| v != 0) {
            let line = format!("{}:{} {w}", d.major(), d.minor());
            write(
                dir,
                "blkio.leaf_weight_device",
                &line,
                &format!("{f}.weightDevice[{i}].leafWeight"),
            )?;
        }
    }
    for (name, file, list) in [
        (
            "throttleReadBpsDevice",
            "blkio.throttle.read_bps_device",
            b.throttle_read_bps_device(),
        ),
        (
            "throttleWriteBpsDevice",
            "blkio.throttle.write_bps_device",
            b.throttle_write_bps_device(),
        ),
        (
            "throttleReadIOPSDevice",
            "blkio.throttle.read_iops_device",
            b.throttle_read_iops_device(),
        ),
        (
            "throttleWriteIOPSDevice",
            "blkio.throttle.write_iops_device",
            b.throttle_write_iops_device(),
        ),
    ] {
        for (i, d) in list.iter().flatten().enumerate() {
            let line = format!("{}:{} {}", d.major(), d.minor(), d.rate());
            write(dir, file, &line, &format!("{f}.{name}[{i}]"))?;
        }
    }
    Ok(())
}

/// Every cpuset directory from below the mount point down to `dir` whose cpus or mems are
/// empty gets its parent's, top-down, so each takes the nearest ancestor's values.
pub fn fill_empty_cpusets(mountpoint: &Path, dir: &Path) -> Result<()> {
    let rel = dir.strip_prefix(mountpoint).unwrap_or(dir);
    let mut cur = mountpoint.to_path_buf();
    for c in rel.components() {
        let parent = cur.clone();
        cur.push(c);
        for file in ["cpuset.cpus", "cpuset.mems"] {
            if read(&cur, file)?.trim().is_empty() {
                let v = read(&parent, file)?;
                write(
                    &cur,
                    file,
                    v.trim(),
                    "initialising an empty cpuset cgroup from its parent",
                )?;
            }
        }
    }
    Ok(())
}
