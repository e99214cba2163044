//! OOM events for `berth events`: on v1 an eventfd registered on memory.oom_control through
//! cgroup.event_control; on v2 an inotify watch on memory.events, whose oom_kill counter
//! is compared with the last value seen. Either way: poll `as_fd()` for POLLIN, then call
//! `read()`.

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
        let dir = cg.v2.clone().expect("v2");
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

    /// After POLLIN: the number of OOM events since the last call (0 if none, e.g. another
    /// memory.events change), or None once the cgroup is gone (v1 signals its removal on
    /// the same eventfd; v2 inotify reports IN_IGNORED).
    /// v2 only, without waiting for a notification: kills counted in memory.events since
    /// the last read (the notification is rate-limited and may come late or never once the
    /// container is gone). v1 counts only through its eventfd: 0.
    pub fn unnotified(&mut self) -> u64 {
        match &mut self.kind {
            Kind::V1 { .. } => 0,
            Kind::V2 { dir, last } => {
                let Ok(ev) = read_keyed(dir, "memory.events") else {
                    return 0;
                };
                let now = keyed(&ev, "oom_kill");
                let new = now.saturating_sub(*last);
                *last = now;
                new
            }
        }
    }

    pub fn read(&mut self) -> Result<Option<u64>> {
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
                    return Ok(None);
                }
                Ok(Some(if n == 8 {
                    u64::from_ne_bytes(buf[..8].try_into().expect("8 bytes"))
                } else {
                    0
                }))
            }
            Kind::V2 { dir, last } => {
                let Ok(ev) = read_keyed(dir, "memory.events") else {
                    return Ok(None);
                };
                let now = keyed(&ev, "oom_kill");
                let new = now.saturating_sub(*last);
                *last = now;
                Ok(Some(new))
            }
        }
    }
}
