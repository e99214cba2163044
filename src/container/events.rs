//! `events`: a container's statistics and OOM kills as JSON lines shaped like runc's
//! (`{"type":"stats","id":...,"data":{...}}`, `{"type":"oom","id":...}`), once or as a
//! stream until the container's init exits or its cgroup is removed.

use anyhow::{anyhow, bail, Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use serde::Serialize;
use std::io::Write;
use std::os::fd::AsFd;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::cgroups::{Cgroup, OomEvents};
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

/// How long, after init exits, to wait for an OOM notification still on its way: cgroup v2
/// rate-limits memory.events notifications to one per 10 ms.
const OOM_GRACE: Duration = Duration::from_millis(100);

/// With `interval` None: one stats event. Otherwise a stats event every `interval` and an
/// OOM event for each OOM kill, until the container stops. The container's lock is held
/// only while its state is read, so a stream never blocks other commands.
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
        let stats = cg
            .stats()
            .with_context(|| format!("reading the statistics of container {id:?}"))?;
        return emit(out, "stats", id, Some(stats));
    };
    let pidfd =
        super::init_pidfd(&st)?.ok_or_else(|| anyhow!("container {id:?} is not running"))?;
    let mut oom = cg
        .oom_events()
        .with_context(|| format!("watching container {id:?} for OOM kills"))?;
    // As runc's ticker: the first statistics come one interval after the start.
    let mut next = Instant::now() + interval;
    loop {
        let wait = next.saturating_duration_since(Instant::now());
        let (oom_ready, init_gone) = wait_for(&oom, pidfd.as_fd(), wait)?;
        if oom_ready && !report_oom(&mut oom, id, out)? {
            return Ok(());
        }
        if init_gone {
            // A kill that took init may still be on its way (v1 eventfd) or not notified
            // at all (v2 rate limit): wait briefly, then also count what memory.events says.
            let (late, _) = wait_for(&oom, pidfd.as_fd(), OOM_GRACE)?;
            if late {
                report_oom(&mut oom, id, out)?;
            }
            for _ in 0..oom.unnotified() {
                emit::<()>(out, "oom", id, None)?;
            }
            return Ok(());
        }
        if Instant::now() >= next {
            stats_tick(&cg, id, out)?;
            next += interval;
        }
    }
}

/// Polls the OOM source and init's pidfd for up to `wait`: (OOM readable, init exited).
fn wait_for(
    oom: &OomEvents,
    pidfd: std::os::fd::BorrowedFd<'_>,
    wait: Duration,
) -> Result<(bool, bool)> {
    // poll takes at most i32::MAX ms; a longer interval simply loops.
    let ms = wait.as_millis().min(i32::MAX as u128) as i32;
    let timeout = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
    let mut fds = [
        PollFd::new(oom.as_fd(), PollFlags::POLLIN),
        PollFd::new(pidfd, PollFlags::POLLIN),
    ];
    match poll(&mut fds, timeout) {
        Ok(_) => {}
        Err(nix::errno::Errno::EINTR) => return Ok((false, false)),
        Err(e) => return Err(e).context("waiting for container events"),
    }
    let ready = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
    Ok((ready(&fds[0]), ready(&fds[1])))
}

/// Prints one OOM event per kill the source reports; false once the cgroup is gone.
fn report_oom(oom: &mut OomEvents, id: &str, out: &mut impl Write) -> Result<bool> {
    match oom.read()? {
        None => Ok(false),
        Some(n) => {
            for _ in 0..n {
                emit::<()>(out, "oom", id, None)?;
            }
            Ok(true)
        }
    }
}

/// One stats event; a failed read is logged and the stream goes on, as in runc.
fn stats_tick(cg: &Cgroup, id: &str, out: &mut impl Write) -> Result<()> {
    match cg.stats() {
        Ok(s) => emit(out, "stats", id, Some(s)),
        Err(e) => {
            crate::logging::error(&format!("reading the statistics of {id:?}: {e:#}"));
            Ok(())
        }
    }
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
