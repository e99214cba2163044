//! pause, resume, update and the process list: lifecycle operations on a container's cgroup,
//! with runc's status rules (pause needs a running or created container, resume a paused
//! one, update anything but a stopped one).

use anyhow::{anyhow, bail, Context, Result};
use oci_spec::runtime::{LinuxMemory, LinuxResources};
use std::path::Path;

use crate::cgroups::{Cgroup, Mode};
use crate::state::{self, State, Status};

fn cgroup_of<'a>(st: &'a State, what: &str) -> Result<&'a Cgroup> {
    st.cgroup
        .as_ref()
        .ok_or_else(|| anyhow!("cannot {what} container {:?}: it has no cgroup", st.id))
}

/// Freezes every process of a running (or created) container.
pub fn pause(root: &Path, id: &str) -> Result<()> {
    let lock = state::open(root, id)?;
    let st = lock.load_existing()?;
    let status = state::status(&lock.dir, &st);
    if !matches!(status, Status::Running | Status::Created) {
        bail!(
            "cannot pause container {id:?}: container not running (it is {})",
            status.as_str()
        );
    }
    cgroup_of(&st, "pause")?
        .freeze()
        .with_context(|| format!("pausing container {id:?}"))
}

/// Thaws a paused container.
pub fn resume(root: &Path, id: &str) -> Result<()> {
    let lock = state::open(root, id)?;
    let st = lock.load_existing()?;
    let status = state::status(&lock.dir, &st);
    if status != Status::Paused {
        bail!(
            "cannot resume container {id:?}: container not paused (it is {})",
            status.as_str()
        );
    }
    cgroup_of(&st, "resume")?
        .thaw()
        .with_context(|| format!("resuming container {id:?}"))
}

/// Applies new limits to a container that is not stopped. berth keeps no copy of the
/// resources in its state (only the cgroup's paths), so the cgroup files are the one truth.
pub fn update(root: &Path, id: &str, resources: &LinuxResources) -> Result<()> {
    let lock = state::open(root, id)?;
    let st = lock.load_existing()?;
    let status = state::status(&lock.dir, &st);
    if status == Status::Stopped {
        bail!("cannot update container {id:?}: container not running (it is stopped)");
    }
    let cg = cgroup_of(&st, "update")?;
    let mut r = updatable(resources);
    if cg.mode == Mode::V2 {
        let dir = cg.v2_dir()?;
        complete_v2(dir, &mut r)?;
    }
    cg.update(&r)
        .with_context(|| format!("updating container {id:?}"))
}

/// The part of a linux.resources object that update applies, as runc's update: memory
/// limit, reservation, swap and checkBeforeUpdate, cpu, blockIO, pids and unified. The
/// rest (device rules, hugepage limits, network, rdma, swappiness, the OOM killer switch,
/// kernel memory) stays as it is: containerd sends the container's whole linux.resources,
/// device list included, with every update.
fn updatable(r: &LinuxResources) -> LinuxResources {
    let mut ignored = Vec::new();
    let mut out = LinuxResources::default();
    if let Some(m) = r.memory() {
        #[allow(deprecated)]
        if m.kernel().is_some() || m.kernel_tcp().is_some() {
            crate::logging::warn("Kernel memory settings are ignored and will be removed");
        }
        if m.swappiness().is_some() {
            ignored.push("memory.swappiness");
        }
        if m.disable_oom_killer().is_some() {
            ignored.push("memory.disableOOMKiller");
        }
        let mut keep = LinuxMemory::default();
        keep.set_limit(m.limit())
            .set_reservation(m.reservation())
            .set_swap(m.swap())
            .set_check_before_update(m.check_before_update());
        out.set_memory(Some(keep));
    }
    out.set_cpu(r.cpu().clone())
        .set_pids(*r.pids())
        .set_block_io(r.block_io().clone())
        .set_unified(r.unified().clone());
    if r.devices().as_ref().is_some_and(|d| !d.is_empty()) {
        ignored.push("devices");
    }
    if r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty()) {
        ignored.push("hugepageLimits");
    }
    if r.network().is_some() {
        ignored.push("network");
    }
    if r.rdma().as_ref().is_some_and(|h| !h.is_empty()) {
        ignored.push("rdma");
    }
    if !ignored.is_empty() {
        crate::logging::debug(&format!(
            "update leaves linux.resources {} as they are (as runc)",
            ignored.join(", ")
        ));
    }
    out
}

/// On cgroup v2, quota and period share cpu.max and the swap limit is derived from the
/// memory limit: an update that gives only one half gets the other from the cgroup, as
/// runc's update merges with the container's current values.
fn complete_v2(dir: &Path, r: &mut LinuxResources) -> Result<()> {
    if let Some(c) = r.cpu_mut() {
        if c.period().is_some_and(|p| p != 0) && c.quota().is_none_or(|q| q == 0) {
            let text = read(dir, "cpu.max")?;
            c.set_quota(Some(quota_of_cpu_max(&text).with_context(|| {
                format!("parsing {:?} in {}", text, dir.join("cpu.max").display())
            })?));
        }
    }
    if let Some(m) = r.memory_mut() {
        // A new limit alone keeps the container's memory+swap total (OCI's swap), as runc
        // keeps the configured swap: swap.max becomes the total minus the new limit.
        if m.limit().is_some_and(|l| l > 0) && m.swap().is_none_or(|s| s == 0) {
            let old_limit = read(dir, "memory.max").ok();
            let old_swap = read(dir, "memory.swap.max").ok();
            if let (Some(Ok(l)), Some(Ok(s))) = (
                old_limit.map(|t| t.trim().parse::<i64>()),
                old_swap.map(|t| t.trim().parse::<i64>()),
            ) {
                m.set_swap(Some(l + s));
            }
        }
        if m.swap().is_some_and(|s| s > 0) && m.limit().is_none_or(|l| l == 0) {
            let text = read(dir, "memory.max")?;
            // Without a memory limit the swap setting is refused with its own message.
            if let Ok(limit) = text.trim().parse::<i64>() {
                m.set_limit(Some(limit));
            }
        }
    }
    Ok(())
}

fn read(dir: &Path, file: &str) -> Result<String> {
    let p = dir.join(file);
    std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
}

/// The quota of a cpu.max line ("max 100000" or "50000 100000"), -1 for none.
fn quota_of_cpu_max(text: &str) -> Result<i64> {
    match text.split_whitespace().next() {
        Some("max") => Ok(-1),
        Some(q) => Ok(q.parse()?),
        None => bail!("empty cpu.max"),
    }
}

/// The pids of every process in the container's cgroup (as the caller's pid namespace
/// numbers them). A container in any status may be asked, as with runc.
pub fn pids(root: &Path, id: &str) -> Result<Vec<i32>> {
    let st =
        state::read(root, id)?.ok_or_else(|| anyhow!("container {id:?} is still being created"))?;
    cgroup_of(&st, "list the processes of")?
        .pids()
        .with_context(|| format!("listing the processes of container {id:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(deprecated)]
    fn update_takes_what_runcs_update_takes() {
        let r: LinuxResources = serde_json::from_str(
            r#"{"devices":[{"allow":false,"access":"rwm"}],
                "memory":{"limit":1048576,"reservation":4096,"swap":2097152,"kernel":1,
                          "kernelTCP":2,"swappiness":10,"disableOOMKiller":true,
                          "checkBeforeUpdate":true},
                "cpu":{"shares":512,"cpus":"0"},
                "pids":{"limit":9},
                "blockIO":{"weight":300,"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1}]},
                "hugepageLimits":[{"pageSize":"2MB","limit":2097152}],
                "network":{"classID":7},
                "rdma":{"mlx":{"hcaHandles":1}},
                "unified":{"memory.high":"max"}}"#,
        )
        .unwrap();
        let u = serde_json::to_value(updatable(&r)).unwrap();
        assert_eq!(
            u,
            serde_json::json!({
                "memory": {"limit": 1048576, "reservation": 4096, "swap": 2097152,
                           "checkBeforeUpdate": true},
                "cpu": {"shares": 512, "cpus": "0"},
                "pids": {"limit": 9},
                "blockIO": {"weight": 300,
                            "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1}]},
                "unified": {"memory.high": "max"}
            })
        );
    }

    #[test]
    fn cpu_max_quota() {
        assert_eq!(quota_of_cpu_max("max 100000\n").unwrap(), -1);
        assert_eq!(quota_of_cpu_max("50000 100000\n").unwrap(), 50000);
        assert!(quota_of_cpu_max("").is_err());
        assert!(quota_of_cpu_max("x 1").is_err());
    }

    #[test]
    fn v2_update_keeps_the_other_half() {
        let dir = std::env::temp_dir().join(format!("berth-cgops-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("cpu.max"), "25000 100000\n").unwrap();
        std::fs::write(dir.join("memory.max"), "1048576\n").unwrap();
        let mut r: LinuxResources =
            serde_json::from_str(r#"{"cpu":{"period":50000},"memory":{"swap":4194304}}"#).unwrap();
        complete_v2(&dir, &mut r).unwrap();
        assert_eq!(r.cpu().as_ref().unwrap().quota(), Some(25000));
        assert_eq!(r.memory().as_ref().unwrap().limit(), Some(1048576));
        // Both halves given: nothing is read or changed.
        let mut r: LinuxResources =
            serde_json::from_str(r#"{"cpu":{"period":50000,"quota":10000}}"#).unwrap();
        complete_v2(&dir, &mut r).unwrap();
        assert_eq!(r.cpu().as_ref().unwrap().quota(), Some(10000));
        // A new limit alone keeps the memory+swap total (1 MiB + 3 MiB here).
        std::fs::write(dir.join("memory.swap.max"), "3145728\n").unwrap();
        let mut r: LinuxResources =
            serde_json::from_str(r#"{"memory":{"limit":2097152}}"#).unwrap();
        complete_v2(&dir, &mut r).unwrap();
        assert_eq!(r.memory().as_ref().unwrap().swap(), Some(4194304));
        // ... unless swap is unlimited.
        std::fs::write(dir.join("memory.swap.max"), "max\n").unwrap();
        let mut r: LinuxResources =
            serde_json::from_str(r#"{"memory":{"limit":2097152}}"#).unwrap();
        complete_v2(&dir, &mut r).unwrap();
        assert_eq!(r.memory().as_ref().unwrap().swap(), None);
        // Unlimited memory: the limit stays unset, so the engine refuses the swap clearly.
        std::fs::write(dir.join("memory.max"), "max\n").unwrap();
        let mut r: LinuxResources = serde_json::from_str(r#"{"memory":{"swap":4194304}}"#).unwrap();
        complete_v2(&dir, &mut r).unwrap();
        assert_eq!(r.memory().as_ref().unwrap().limit(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
