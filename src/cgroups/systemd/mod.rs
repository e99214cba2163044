//! The systemd cgroup driver (`--systemd-cgroup`), as runc's: the container's cgroup is a
//! transient unit that systemd makes over D-Bus (a scope holding init, with Delegate=yes, in
//! the slice linux.cgroupsPath names), so that systemd, which owns the cgroup tree on such a
//! host, knows it and keeps it. Only the unit's life goes through systemd: once the unit
//! exists, the container's cgroup is used through cgroupfs like any other (limits systemd
//! has no property for, freezing, signalling, statistics, process placement for exec).
//!
//! Pure cgroup v2 only (every distribution that boots systemd on v2 by default); on a v1 or
//! hybrid host the driver refuses with a clear error.
//!
//! Every D-Bus call is bounded (`CALL_TIMEOUT` through the bus daemon; `JOB_TIMEOUT` for a
//! call on systemd's private socket and for the job systemd runs for a unit, as runc's job
//! wait).

mod annotations;
mod naming;
mod properties;

use anyhow::{anyhow, bail, Context, Result};
use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::dbus::{self, Bus, Message, Value};
use properties::Property;

const DEST: &str = "org.freedesktop.systemd1";
const PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";
/// Each D-Bus call (runc has no bound: a stuck systemd hangs it, opencontainers/runc#3904).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// A unit's start or stop job (runc's 30 s).
const JOB_TIMEOUT: Duration = Duration::from_secs(30);

/// The unit behind a container's cgroup, as the state store keeps it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub name: String,
    /// Made by the user's own systemd (rootless), not the system's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub user: bool,
}

/// What `create` prepared for `start` (after init is cloned): the unit's properties and the
/// resources still to be written through cgroupfs (CPU quota rounded as systemd rounds it).
pub struct Pending {
    props: Vec<Property>,
    pub resources: LinuxResources,
    slice: String,
    id: String,
    /// The connection `plan` opened, if it needed one, for `start` to reuse. (Only berth's
    /// parent touches it; init, cloned in between, never does.)
    bus: std::sync::Mutex<Option<Bus>>,
    /// Whether `start` asked systemd for the unit: until then there is none to stop.
    asked: std::sync::atomic::AtomicBool,
}

impl Pending {
    /// Whether systemd may have a unit for it (`start` sent its request).
    pub fn asked(&self) -> bool {
        self.asked.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pending({} properties)", self.props.len())
    }
}

/// What runc checks first, in its order and words: the path's form, then a running
/// systemd (sd_booted(3): /run/systemd/system is a directory).
pub fn check(cgroups_path: Option<&str>, id: &str, user: bool) -> Result<()> {
    naming::placement(cgroups_path, id, user)?;
    if !std::path::Path::new("/run/systemd/system").is_dir() {
        bail!("systemd not running on this host, cannot use systemd cgroups manager");
    }
    Ok(())
}

/// systemd's own socket, which root may use without the bus daemon.
const PRIVATE_SOCKET: &str = "/run/systemd/private";

/// The user's bus, or the system bus; as root, when no bus daemon listens, systemd's private
/// socket (as runc, through go-systemd). A bus that does not answer is an error, not a
/// reason to go around it.
fn connect(user: bool) -> Result<Bus> {
    if user {
        return Bus::user(CALL_TIMEOUT).context("connecting to the user's systemd (rootless)");
    }
    let err = match Bus::system(CALL_TIMEOUT) {
        Ok(bus) => return Ok(bus),
        Err(e) => e,
    };
    // No daemon at the socket, or one going away under us (stopping): not a stuck one.
    let absent = err.chain().any(|c| {
        c.downcast_ref::<dbus::Lost>().is_some()
            || matches!(
                c.downcast_ref::<nix::errno::Errno>(),
                Some(nix::errno::Errno::ENOENT | nix::errno::Errno::ECONNREFUSED)
            )
    });
    if !(absent && nix::unistd::geteuid().is_root()) {
        return Err(err).context("connecting to systemd");
    }
    crate::logging::debug(&format!(
        "no D-Bus daemon answers ({err:#}): connecting to systemd through {PRIVATE_SOCKET}"
    ));
    // systemd itself answers there, and may be slow to while it loses the bus (a stopped
    // dbus-daemon; seen over 10 s under TCG): the job's bound rather than a call's.
    Bus::peer(&format!("unix:path={PRIVATE_SOCKET}"), JOB_TIMEOUT)
        .with_context(|| format!("connecting to systemd: {err:#}; and through {PRIVATE_SOCKET}"))
}

/// Plans the container's unit before init exists: its name and cgroup path, and every
/// property, so that a bad path, value or annotation fails before anything is made.
/// Returns the unit, the cgroup directory systemd will make for it, and what `start` needs.
pub fn plan(
    cgroups_path: Option<&str>,
    resources: Option<&LinuxResources>,
    annotations: Option<&HashMap<String, String>>,
    id: &str,
    user: bool,
    mountpoint: &std::path::Path,
) -> Result<(Unit, PathBuf, Pending)> {
    let place = naming::placement(cgroups_path, id, user)?;
    let mut resources = resources.cloned().unwrap_or_default();
    let extra = annotations::properties(annotations)?;
    let oom = properties::oom_policy(&resources)?;
    // Connected only when the plan needs systemd's answers (its version, a user manager's
    // cgroup); otherwise `start` connects.
    let mut bus = None;
    let version = if needs_version(&resources) {
        version(bus.insert(connect(user)?))?
    } else {
        0
    };
    // A user's systemd cannot apply a device policy (no privileges for eBPF); neither can
    // berth then: the devices are the user's own bind mounts anyway.
    let mut props = properties::of_resources(&mut resources, version, !user)?;
    props.splice(0..0, extra.into_iter().chain(oom));
    let mut dir = mountpoint.to_path_buf();
    if user {
        // The user's systemd puts its slices below its own cgroup.
        let b = match &mut bus {
            Some(b) => b,
            None => bus.insert(connect(user)?),
        };
        let own = manager_property(b, "ControlGroup")?;
        dir.push(own.trim_start_matches('/'));
    }
    dir.push(naming::expand_slice(&place.slice)?.trim_start_matches('/'));
    dir.push(&place.unit);
    let unit = Unit {
        name: place.unit,
        user,
    };
    Ok((
        unit,
        dir,
        Pending {
            props,
            resources,
            slice: place.slice,
            id: id.to_string(),
            bus: std::sync::Mutex::new(bus),
            asked: std::sync::atomic::AtomicBool::new(false),
        },
    ))
}

/// Whether the properties depend on systemd's version (runc asks for it in these cases).
fn needs_version(r: &LinuxResources) -> bool {
    let cpu = r.cpu().as_ref().is_some_and(|c| {
        c.period().is_some_and(|p| p != 0)
            || c.cpus().is_some()
            || c.mems().is_some()
            || c.idle().is_some()
    });
    let unified = r.unified().as_ref().is_some_and(|u| {
        [
            "cpu.max",
            "cpu.idle",
            "cpu.weight",
            "cpuset.cpus",
            "cpuset.mems",
        ]
        .iter()
        .any(|k| u.contains_key(*k))
    });
    cpu || unified
}

/// systemd's version number ("252.33-1~deb12u1" is 252).
fn version(bus: &mut Bus) -> Result<u32> {
    let v = manager_property(bus, "Version")?;
    let digits: String = v
        .trim_start_matches(['"', 'v'])
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .with_context(|| format!("systemd's version {v:?}"))
}

fn manager_property(bus: &mut Bus, name: &str) -> Result<String> {
    let reply = bus.call(
        DEST,
        PATH,
        "org.freedesktop.DBus.Properties",
        "Get",
        &[Value::Str(MANAGER.into()), Value::Str(name.into())],
    )?;
    reply
        .first()
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| anyhow!("systemd's {name}: not a string"))
}

/// Makes the unit with init (`pid`) in it and waits for systemd to finish. A unit of the
/// same name left failed by an earlier container is reset and the start tried once more.
pub fn start(unit: &Unit, pending: &Pending, pid: i32) -> Result<()> {
    let mut props = vec![properties::prop(
        "Description",
        Value::Str(format!("libcontainer container {}", pending.id)),
    )];
    if unit.name.ends_with(".slice") {
        props.push(properties::prop("Wants", Value::Str(pending.slice.clone())));
    } else {
        props.push(properties::prop("Slice", Value::Str(pending.slice.clone())));
        props.push(properties::prop("Delegate", Value::Bool(true)));
    }
    props.push(properties::prop(
        "PIDs",
        Value::Array {
            elem: "u".into(),
            items: vec![Value::Uint32(pid as u32)],
        },
    ));
    for a in [
        "MemoryAccounting",
        "CPUAccounting",
        "IOAccounting",
        "TasksAccounting",
    ] {
        props.push(properties::prop(a, Value::Bool(true)));
    }
    props.push(properties::prop("DefaultDependencies", Value::Bool(false)));
    props.extend(pending.props.iter().cloned());

    let planned = pending.bus.lock().ok().and_then(|mut b| b.take());
    let mut bus = match planned {
        Some(b) => b,
        None => connect(unit.user)?,
    };
    watch_jobs(&mut bus)?;
    pending
        .asked
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let mut retried = false;
    let job = loop {
        let args = [
            Value::Str(unit.name.clone()),
            Value::Str("replace".into()),
            properties::to_array(&props),
            Value::Array {
                elem: "(sa(sv))".into(),
                items: Vec::new(),
            },
        ];
        match bus.call(DEST, PATH, MANAGER, "StartTransientUnit", &args) {
            Ok(reply) => break object_path(&reply, "StartTransientUnit")?,
            Err(e) if is_dbus_error(&e, "org.freedesktop.systemd1.UnitExists") && !retried => {
                // Perhaps a failed unit of an earlier container: systemd forgets it on reset.
                if let Err(r) = reset_failed(&mut bus, &unit.name) {
                    crate::logging::warn(&format!("unable to reset failed unit: {r:#}"));
                }
                retried = true;
            }
            Err(e) => {
                return Err(e).with_context(|| format!("unable to start unit {:?}", unit.name))
            }
        }
    };
    let result = wait_job(&mut bus, &job, &format!("systemd to create {}", unit.name))?;
    if result != "done" {
        let _ = reset_failed(&mut bus, &unit.name);
        bail!(
            "error creating systemd unit `{}`: got `{result}`",
            unit.name
        );
    }
    Ok(())
}

/// `update`: the new limits as the unit's properties (for the running unit only, as runc),
/// and `resources` adjusted as systemd will apply them.
pub fn set(unit: &Unit, resources: &mut LinuxResources) -> Result<()> {
    let mut bus = connect(unit.user)?;
    let version = if needs_version(resources) {
        version(&mut bus)?
    } else {
        0
    };
    let props = properties::of_resources(resources, version, false)?;
    if props.is_empty() {
        return Ok(());
    }
    bus.call(
        DEST,
        PATH,
        MANAGER,
        "SetUnitProperties",
        &[
            Value::Str(unit.name.clone()),
            Value::Bool(true),
            properties::to_array(&props),
        ],
    )
    .context("unable to set unit properties")?;
    Ok(())
}

/// Stops the unit (systemd kills what is left in it and removes its cgroup) and lets systemd
/// forget it if it failed. A unit already gone is fine.
pub fn stop(unit: &Unit, dir: &std::path::Path) -> Result<()> {
    let mut bus = connect(unit.user)?;
    // Over systemd's private socket (no bus daemon), a StopUnit for a scope that systemd is
    // already stopping because it emptied went unanswered in 2 of 5 runs of the guest: let
    // systemd finish its own stop (it removes the cgroup) rather than ask.
    if bus.is_peer() && gone_within(dir, Duration::from_secs(2)) {
        let _ = reset_failed(&mut bus, &unit.name);
        return Ok(());
    }
    watch_jobs(&mut bus)?;
    let args = [Value::Str(unit.name.clone()), Value::Str("replace".into())];
    match bus.call(DEST, PATH, MANAGER, "StopUnit", &args) {
        Ok(reply) => {
            let job = object_path(&reply, "StopUnit")?;
            let result = wait_job(&mut bus, &job, &format!("systemd to remove {}", unit.name))?;
            if result != "done" {
                crate::logging::warn(&format!(
                    "error removing unit `{}`: got `{result}`. Continuing...",
                    unit.name
                ));
            }
        }
        Err(e) if is_dbus_error(&e, "org.freedesktop.systemd1.NoSuchUnit") => {}
        Err(e) => return Err(e).with_context(|| format!("unable to stop unit {:?}", unit.name)),
    }
    let _ = reset_failed(&mut bus, &unit.name);
    Ok(())
}

/// Moves `pid` into the unit's cgroup (or `sub`, below it) through systemd
/// (AttachProcessesToUnit, systemd 248+): for a user, whose systemd may move a process from
/// a cgroup the user cannot write.
pub fn attach(unit: &Unit, sub: &str, pid: i32) -> Result<()> {
    let mut bus = connect(unit.user)?;
    let sub = if sub.is_empty() {
        String::new()
    } else {
        format!("/{}", sub.trim_start_matches('/'))
    };
    bus.call(
        DEST,
        PATH,
        MANAGER,
        "AttachProcessesToUnit",
        &[
            Value::Str(unit.name.clone()),
            Value::Str(sub),
            Value::Array {
                elem: "u".into(),
                items: vec![Value::Uint32(pid as u32)],
            },
        ],
    )
    .with_context(|| format!("attaching process {pid} to unit {}", unit.name))?;
    Ok(())
}

/// Whether `dir` is gone now or within `limit`.
fn gone_within(dir: &std::path::Path, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while dir.exists() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn reset_failed(bus: &mut Bus, name: &str) -> Result<()> {
    bus.call(
        DEST,
        PATH,
        MANAGER,
        "ResetFailedUnit",
        &[Value::Str(name.to_string())],
    )?;
    Ok(())
}

/// Subscribes to the JobRemoved signal, which says how a job ended. (systemd sends it to the
/// client that asked for the job, without a Subscribe call.)
fn watch_jobs(bus: &mut Bus) -> Result<()> {
    bus.add_match(&format!(
        "type='signal',sender='{DEST}',path='{PATH}',interface='{MANAGER}',member='JobRemoved'"
    ))
}

/// Waits for JobRemoved(id, job, unit, result) of `job`; returns the result ("done",
/// "failed", "canceled", "timeout", "dependency", "skipped").
fn wait_job(bus: &mut Bus, job: &str, what: &str) -> Result<String> {
    let deadline = Instant::now() + JOB_TIMEOUT;
    let mut is_ours = |m: &Message| {
        m.member.as_deref() == Some("JobRemoved")
            && m.body.get(1).and_then(Value::as_str) == Some(job)
    };
    let m = bus
        .wait_signal(what, deadline, &mut is_ours)
        .with_context(|| format!("Timeout waiting for {what}"))?;
    Ok(m.body
        .get(3)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string())
}

fn object_path(reply: &[Value], call: &str) -> Result<String> {
    reply
        .first()
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| anyhow!("{call}: systemd's reply has no job"))
}

fn is_dbus_error(e: &anyhow::Error, name: &str) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<dbus::Error>())
        .any(|d| d.name == name)
}
