//! What a scenario may not leave behind on the host: a state directory in the runtime's
//! root, a mount, a cgroup or a process that names one of the scenario's marks (its private
//! store, its container ids, its cgroup parent). Leftovers are polled for a few
//! seconds: a manager's monitor (conmon, a shim) may still be on its way out.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The mount points of every cgroup hierarchy (v1 controllers and cgroup2).
pub fn cgroup_mounts() -> Vec<PathBuf> {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    info.lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let fstype = post.split_whitespace().next()?;
            (fstype == "cgroup" || fstype == "cgroup2")
                .then(|| PathBuf::from(pre.split_whitespace().nth(4).unwrap()))
        })
        .collect()
}

fn walk_dirs(dir: &Path, found: &mut Vec<PathBuf>, marks: &[&str]) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if !e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            continue;
        }
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if marks.iter().any(|m| name.contains(m)) {
            found.push(path.clone());
        }
        walk_dirs(&path, found, marks);
    }
}

/// Every trace of `marks` on the host, one line each.
pub fn traces(runtime_roots: &[&Path], marks: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    let marks: Vec<&str> = marks.iter().copied().filter(|m| !m.is_empty()).collect();
    for root in runtime_roots {
        if let Ok(entries) = fs::read_dir(root) {
            for e in entries.flatten() {
                if marks
                    .iter()
                    .any(|m| e.file_name().to_string_lossy().contains(m))
                {
                    found.push(format!("state directory {}", e.path().display()));
                }
            }
        }
    }
    for line in fs::read_to_string("/proc/self/mountinfo").unwrap().lines() {
        if marks.iter().any(|m| line.contains(m)) {
            found.push(format!("mount {line}"));
        }
    }
    let mut dirs = Vec::new();
    for m in cgroup_mounts() {
        walk_dirs(&m, &mut dirs, &marks);
    }
    found.extend(dirs.iter().map(|d| format!("cgroup {}", d.display())));
    let me = std::process::id().to_string();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let pid = e.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == me {
            continue;
        }
        let cmdline = fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let cgroup = fs::read_to_string(e.path().join("cgroup")).unwrap_or_default();
        if marks
            .iter()
            .any(|m| cmdline.contains(m) || cgroup.contains(m))
        {
            found.push(format!("process {pid}: {}", cmdline.trim()));
        }
    }
    found
}

/// Fails the scenario if anything of `marks` is still on the host after a few seconds.
pub fn assert_none(what: &str, runtime_roots: &[&Path], marks: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = traces(runtime_roots, marks);
        if found.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            panic!("{what}: left behind:\n  {}", found.join("\n  "));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Unmounts (lazily, deepest first) everything mounted at or below `dir`.
pub fn unmount_under(dir: &Path) {
    let prefix = dir.to_string_lossy().into_owned();
    let mut points: Vec<String> = fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4).map(str::to_string))
        .filter(|p| p == &prefix || p.starts_with(&format!("{prefix}/")))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        let _ = nix::mount::umount2(p.as_str(), nix::mount::MntFlags::MNT_DETACH);
    }
}
