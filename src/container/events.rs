//! `events`: a container's statistics and OOM kills as JSON lines shaped like runc's
//! (`{"type":"stats","id":...,"data":{...}}`, `{"type":"oom","id":...}`), once or as a
//! stream until the container's cgroup ends (v1: removed; v2: empty), as runc's.

use anyhow::{anyhow, bail, Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::cgroups::OomEvents;
use crate::state::{self, Status};

#[derive(Serialize)]
struct Event<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<T>,
}

fn emit<T: Serialize>(out: &mut impl Write, kind: &str, id: &str, data: Option<T>) -> Result<()> {
    let line = serde_json::to_string(&Event { kind, id, data }).context("encoding an event")?;
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .context("writing an event")
}

/// The container's resctrl statistics, where it has a resctrl group.
fn add_intel_rdt(st: &state::State, stats: &mut crate::cgroups::Stats) -> Result<()> {
    if let Some(group) = &st.intel_rdt {
        stats.intel_rdt = crate::intelrdt::stats(group, &st.id).with_context(|| {
            format!("reading the Intel RDT statistics of container {:?}", st.id)
        })?;
    }
    Ok(())
}

/// With `interval` None: one stats event. Otherwise a stats event every `interval` and an
/// OOM event for each OOM notification, until the OOM source ends as runc's does (v1: the
/// cgroup is removed, i.e. the container deleted; v2: the cgroup has no process left). The
/// container's lock is held only while its state is read, so a stream never blocks other
/// commands.
pub fn events(
    root: &Path,
    id: &str,
    interval: Option<Duration>,
    out: &mut impl Write,
) -> Result<()> {
    let (st, status) = {
        let lock = state::open(root, id)?;
        let st = lock.load_existing()?;
        let status = state::status(&lock.dir, &st);
        (st, status)
    };
    if status == Status::Stopped {
        bail!("container {id:?} is not running");
    }
    let cg = st
        .cgroup
        .clone()
        .ok_or_else(|| anyhow!("container {id:?} has no cgroup"))?;
    let Some(interval) = interval else {
        let mut stats = cg
            .stats()
            .with_context(|| format!("reading the statistics of container {id:?}"))?;
        add_intel_rdt(&st, &mut stats)?;
        return emit(out, "stats", id, Some(stats));
    };
    let mut oom = cg
        .oom_events()
        .with_context(|| format!("watching container {id:?} for OOM kills"))?;
    if oom.ended() {
        return Ok(());
    }
    // As runc's ticker: the first statistics come one interval after the start.
    let mut next = Instant::now() + interval;
    loop {
        let wait = next.saturating_duration_since(Instant::now());
        if wait_for(&oom, wait)? {
            let (n, ended) = oom.read()?;
            for _ in 0..n {
                emit::<()>(out, "oom", id, None)?;
            }
            if ended {
                return Ok(());
            }
        }
        if Instant::now() >= next {
            match cg
                .stats()
                .and_then(|mut s| add_intel_rdt(&st, &mut s).map(|()| s))
            {
                Ok(s) => emit(out, "stats", id, Some(s))?,
                // Being removed: the end's notification is on its way.
                Err(_) if oom.ended() => return Ok(()),
                // As runc: a failed read is logged and the stream goes on.
                Err(e) => {
                    crate::logging::error(&format!("reading the statistics of {id:?}: {e:#}"))
                }
            }
            next += interval;
        }
    }
}

/// Polls the OOM source for up to `wait`: whether it is readable.
fn wait_for(oom: &OomEvents, wait: Duration) -> Result<bool> {
    // poll takes at most i32::MAX ms; a longer interval simply loops.
    let ms = wait.as_millis().min(i32::MAX as u128) as i32;
    let timeout = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
    let mut fds = [PollFd::new(oom.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, timeout) {
        Ok(_) => {}
        Err(nix::errno::Errno::EINTR) => return Ok(false),
        Err(e) => return Err(e).context("waiting for container events"),
    }
    Ok(fds[0].revents().is_some_and(|r| !r.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_shaped_like_runcs() {
        let mut out = Vec::new();
        emit::<()>(&mut out, "oom", "c1", None).unwrap();
        emit(
            &mut out,
            "stats",
            "c1",
            Some(crate::cgroups::Stats::default()),
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], r#"{"type":"oom","id":"c1"}"#);
        let v: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(v["type"], "stats");
        assert_eq!(v["id"], "c1");
        for k in ["cpu", "cpuset", "memory", "pids", "blkio", "hugetlb"] {
            assert!(v["data"].get(k).is_some(), "{k} missing: {v}");
        }
    }
}
