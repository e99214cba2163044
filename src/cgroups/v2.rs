//! Applying linux.resources on cgroup v2, converting v1-shaped values as runc does, and
//! creating the cgroup with its ancestors' controllers enabled.

use anyhow::Result;
use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};
use std::collections::HashMap;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

use super::convert::{
    blkio_weight_to_io_weight, cpu_max, cpu_shares_to_weight, pids_max, swap_to_v2, v2_limit,
};
use super::files::{read, read_u64, write};
use super::{controllers_of, devices, devices_bpf, rdma_line};

/// Makes `dir` below the hierarchy root `root`, enabling in every ancestor (the root
/// included) all the controllers it offers, as runc does, so the new cgroup has each
/// controller's files. A controller the kernel refuses to enable is left off here; a
/// resource that needs it then fails naming the missing file.
pub fn mkdir_enabling_controllers(root: &Path, dir: &Path, made: &mut Vec<PathBuf>) -> Result<()> {
    let rel = dir.strip_prefix(root).unwrap_or(dir);
    let mut cur = root.to_path_buf();
    for c in rel.components() {
        enable_controllers(&cur)?;
        cur.push(c);
        match std::fs::create_dir(&cur) {
            Ok(()) => made.push(cur.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(
                    anyhow::Error::new(e).context(format!("creating cgroup {}", cur.display()))
                );
            }
        }
    }
    Ok(())
}

fn enable_controllers(dir: &Path) -> Result<()> {
    let available = controllers_of(dir)?;
    let enabled = read(dir, "cgroup.subtree_control")?;
    let missing: Vec<&String> = available
        .iter()
        .filter(|c| !enabled.split_whitespace().any(|e| e == c.as_str()))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let all = missing
        .iter()
        .map(|c| format!("+{c}"))
        .collect::<Vec<_>>()
        .join(" ");
    if write(
        dir,
        "cgroup.subtree_control",
        &all,
        "enabling cgroup controllers",
    )
    .is_err()
    {
        for c in missing {
            let _ = write(
                dir,
                "cgroup.subtree_control",
                &format!("+{c}"),
                "enabling cgroup controllers",
            );
        }
    }
    Ok(())
}

/// Applies every set field of `r` to the v2 cgroup `dir`.
pub fn set(dir: &Path, r: &LinuxResources, update: bool) -> Result<()> {
    if let Some(m) = r.memory() {
        memory(dir, m, update)?;
    }
    if let Some(c) = r.cpu() {
        cpu(dir, c)?;
    }
    if let Some(p) = r.pids() {
        write(
            dir,
            "pids.max",
            &pids_max(p.limit()),
            "linux.resources.pids.limit",
        )?;
    }
    if let Some(b) = r.block_io() {
        io(dir, b)?;
    }
    for (i, h) in r.hugepage_limits().iter().flatten().enumerate() {
        hugetlb(
            dir,
            h.page_size(),
            h.limit(),
            &format!("linux.resources.hugepageLimits[{i}]"),
        )?;
    }
    for (dev, l) in r.rdma().iter().flatten() {
        write(
            dir,
            "rdma.max",
            &rdma_line(dev, l),
            &format!("linux.resources.rdma.{dev}"),
        )?;
    }
    if let Some(u) = r.unified() {
        unified(dir, u)?;
    }
    Ok(())
}

/// The device rules as an eBPF program attached to the cgroup. Nothing is attached when
/// the rules leave every device allowed (no program behaves the same).
pub fn set_devices(cgroup: BorrowedFd<'_>, r: &LinuxResources) -> Result<()> {
    let st = devices::emulate(&devices::effective_rules(r.devices().as_ref())?);
    if st.default_allow && st.exceptions.is_empty() {
        return Ok(());
    }
    let prog = devices_bpf::load(&devices_bpf::program(&st))?;
    use std::os::fd::AsFd;
    devices_bpf::attach(prog.as_fd(), cgroup)
}

pub fn hugetlb(dir: &Path, size: &str, limit: i64, field: &str) -> Result<()> {
    let v = v2_limit(limit);
    write(dir, &format!("hugetlb.{size}.max"), &v, field)?;
    let rsvd = format!("hugetlb.{size}.rsvd.max");
    if dir.join(&rsvd).exists() {
        write(dir, &rsvd, &v, field)?;
    }
    Ok(())
}

/// linux.resources.unified: each key is a file of the cgroup (checked by validate).
pub fn unified(dir: &Path, u: &HashMap<String, String>) -> Result<()> {
    // Sorted, so a failure is the same on every run.
    let mut keys: Vec<&String> = u.keys().collect();
    keys.sort();
    for k in keys {
        write(dir, k, &u[k], &format!("linux.resources.unified.{k:?}"))?;
    }
    Ok(())
}

fn memory(dir: &Path, m: &LinuxMemory, update: bool) -> Result<()> {
    if m.kernel_tcp().is_some() {
        crate::logging::warn(
            "linux.resources.memory.kernelTCP is ignored: cgroup v2 has no TCP buffer limit",
        );
    }
    let f = "linux.resources.memory";
    let limit = m.limit().filter(|&v| v != 0);
    if update && m.check_before_update() == Some(true) {
        let swap = m.swap().filter(|&v| v != 0);
        super::check_before_update(limit, swap, read_u64(dir, "memory.current")?)?;
    }
    if let Some(swap) = swap_to_v2(m.swap(), m.limit())? {
        let v = v2_limit(swap);
        // Without swap accounting there is no file; "no swap" and "unlimited swap" then
        // already hold, anything else cannot be applied.
        let absent = !dir.join("memory.swap.max").exists();
        if !(absent && (v == "max" || v == "0")) {
            write(dir, "memory.swap.max", &v, &format!("{f}.swap"))?;
        }
    }
    if let Some(l) = limit {
        write(dir, "memory.max", &v2_limit(l), &format!("{f}.limit"))?;
    }
    if let Some(r) = m.reservation().filter(|&v| v != 0) {
        write(dir, "memory.low", &v2_limit(r), &format!("{f}.reservation"))?;
    }
    Ok(())
}

fn cpu(dir: &Path, c: &LinuxCpu) -> Result<()> {
    let f = "linux.resources.cpu";
    if let Some(i) = c.idle() {
        write(dir, "cpu.idle", &i.to_string(), &format!("{f}.idle"))?;
    }
    if let Some(s) = c.shares().filter(|&v| v != 0) {
        write(
            dir,
            "cpu.weight",
            &cpu_shares_to_weight(s).to_string(),
            &format!("{f}.shares"),
        )?;
    }
    if let Some(v) = cpu_max(c.quota(), c.period()) {
        write(dir, "cpu.max", &v, &format!("{f}.quota/period"))?;
    }
    if let Some(b) = c.burst() {
        write(dir, "cpu.max.burst", &b.to_string(), &format!("{f}.burst"))?;
    }
    if let Some(v) = c.cpus() {
        write(dir, "cpuset.cpus", v, &format!("{f}.cpus"))?;
    }
    if let Some(v) = c.mems() {
        write(dir, "cpuset.mems", v, &format!("{f}.mems"))?;
    }
    Ok(())
}

fn io(dir: &Path, b: &LinuxBlockIo) -> Result<()> {
    let f = "linux.resources.blockIO";
    // BFQ takes v1's weight range as is; without it, io.weight needs the conversion.
    let bfq = dir.join("io.bfq.weight").exists();
    if let Some(w) = b.weight().filter(|&v| v != 0) {
        if bfq {
            write(dir, "io.bfq.weight", &w.to_string(), &format!("{f}.weight"))?;
        } else {
            let v = blkio_weight_to_io_weight(w).to_string();
            write(dir, "io.weight", &v, &format!("{f}.weight"))?;
        }
    }
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        if let Some(w) = d.weight().filter(|&v| v != 0) {
            let (file, v) = if bfq {
                ("io.bfq.weight", u64::from(w))
            } else {
                ("io.weight", blkio_weight_to_io_weight(w))
            };
            let line = format!("{}:{} {v}", d.major(), d.minor());
            write(dir, file, &line, &format!("{f}.weightDevice[{i}].weight"))?;
        }
    }
    for (name, key, list) in [
        (
            "throttleReadBpsDevice",
            "rbps",
            b.throttle_read_bps_device(),
        ),
        (
            "throttleWriteBpsDevice",
            "wbps",
            b.throttle_write_bps_device(),
        ),
        (
            "throttleReadIOPSDevice",
            "riops",
            b.throttle_read_iops_device(),
        ),
        (
            "throttleWriteIOPSDevice",
            "wiops",
            b.throttle_write_iops_device(),
        ),
    ] {
        for (i, d) in list.iter().flatten().enumerate() {
            // As on v1, a rate of 0 removes the limit.
            let rate = if d.rate() == 0 {
                "max".to_string()
            } else {
                d.rate().to_string()
            };
            let line = format!("{}:{} {key}={rate}", d.major(), d.minor());
            write(dir, "io.max", &line, &format!("{f}.{name}[{i}]"))?;
        }
    }
    Ok(())
}
