//! OOM events for `berth events`: on v1 an eventfd registered on memory.oom_control through
//! cgroup.event_control; on v2 an inotify watch on memory.events, whose oom_kill counter
//! is compared with the last value seen, and on cgroup.events. Either way: poll `as_fd()`
//! for POLLIN, then call `read()`. The source ends as runc's does: on v1 when the cgroup is
//! removed, on v2 when it has no process left (cgroup.events "populated 0").

use anyhow::{bail, Context, Result};
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::PathBuf;

use super::files::{keyed, read_keyed, write};
use super::{Cgroup, Mode};

pub struct OomEvents {
    fd: OwnedFd,
    kind: Kind,
}

enum Kind {
    /// The memory.oom_control file stays open: the registration refers to it.
    V1 {
        _control: File,
        dir: PathBuf,
    },
    V2 {
        dir: PathBuf,
        last: u64,
    },
}

pub fn watch(cg: &Cgroup) -> Result<OomEvents> {
    if cg.mode == Mode::V2 {
        let dir = cg.v2_dir()?.to_path_buf();
        // SAFETY: plain syscall; the returned fd is checked and then owned below.
        let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error()).context("inotify_init1");
        }
        // SAFETY: fd was just returned by inotify_init1 and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let events = dir.join("memory.events");
        let cpath = std::ffi::CString::new(events.as_os_str().as_encoded_bytes())
            .context("cgroup path with a NUL byte")?;
        // SAFETY: fd is a live inotify fd and cpath a valid C string for the call's duration.
        let wd =
            unsafe { libc::inotify_add_watch(fd.as_raw_fd(), cpath.as_ptr(), libc::IN_MODIFY) };
        if wd < 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("watching {}", events.display()));
        }
        let populated = dir.join("cgroup.events");
        let cpath = std::ffi::CString::new(populated.as_os_str().as_encoded_bytes())
            .context("cgroup path with a NUL byte")?;
        // SAFETY: as above.
        let wd =
            unsafe { libc::inotify_add_watch(fd.as_raw_fd(), cpath.as_ptr(), libc::IN_MODIFY) };
        if wd < 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("watching {}", populated.display()));
        }
        let last = keyed(&read_keyed(&dir, "memory.events")?, "oom_kill");
        return Ok(OomEvents {
            fd,
            kind: Kind::V2 { dir, last },
        });
    }
    let Some(dir) = cg.v1_dir("memory").map(|d| d.to_path_buf()) else {
        bail!("OOM events: the memory cgroup controller is not mounted on this host");
    };
    // SAFETY: plain syscall; the returned fd is checked and then owned below.
    let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
    if efd < 0 {
        return Err(std::io::Error::last_os_error()).context("eventfd");
    }
    // SAFETY: efd was just returned by eventfd and nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(efd) };
    let control_path = dir.join("memory.oom_control");
    let control =
        File::open(&control_path).with_context(|| format!("opening {}", control_path.display()))?;
    write(
        &dir,
        "cgroup.event_control",
        &format!("{} {}", fd.as_raw_fd(), control.as_raw_fd()),
        "registering for OOM events",
    )?;
    Ok(OomEvents {
        fd,
        kind: Kind::V1 {
            _control: control,
            dir,
        },
    })
}

impl OomEvents {
    /// Poll this for POLLIN.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Whether the source has already ended (checked once after `watch`: an end that came
    /// before the watch was set up sends no notification).
    pub fn ended(&self) -> bool {
        match &self.kind {
            Kind::V1 { dir, .. } => !dir.join("cgroup.event_control").exists(),
            Kind::V2 { dir, .. } => {
                read_keyed(dir, "cgroup.events").map_or(true, |e| keyed(&e, "populated") == 0)
            }
        }
    }

    /// After POLLIN: (the OOM events to report, whether the source has ended). v1 reports
    /// one event per notification read, however many the eventfd counted (as runc: the
    /// kernel signals several times for one kill), and ends once the cgroup is removed
    /// (the kernel signals its removal on the same eventfd). v2 reports the kills that
    /// memory.events counted since the last read, and ends once the cgroup is empty or gone.
    pub fn read(&mut self) -> Result<(u64, bool)> {
        let mut buf = [0u8; 4096];
        // SAFETY: buf is a live, writable buffer of the length passed.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::WouldBlock {
                return Err(e).context("reading OOM events");
            }
        }
        match &mut self.kind {
            Kind::V1 { dir, .. } => {
                if !dir.join("cgroup.event_control").exists() {
                    return Ok((0, true));
                }
                let signalled = n == 8 && buf[..8].iter().any(|&b| b != 0);
                Ok((u64::from(signalled), false))
            }
            Kind::V2 { dir, last } => {
                let Ok(ev) = read_keyed(dir, "memory.events") else {
                    return Ok((0, true));
                };
                let now = keyed(&ev, "oom_kill");
                let new = now.saturating_sub(*last);
                *last = now;
                let empty =
                    read_keyed(dir, "cgroup.events").map_or(true, |e| keyed(&e, "populated") == 0);
                Ok((new, empty))
            }
        }
    }
}
