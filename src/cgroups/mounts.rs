//! Detects the cgroup layout (v1, hybrid or pure v2) from one read of /proc/self/mountinfo,
//! and reads this process's own cgroups from /proc/self/cgroup.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Which cgroup hierarchies the machine uses.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Only cgroup v1 hierarchies.
    V1,
    /// v1 controllers plus a cgroup2 hierarchy (usually /sys/fs/cgroup/unified) that holds
    /// the controllers no v1 hierarchy has taken.
    Hybrid,
    /// A single cgroup2 hierarchy at /sys/fs/cgroup.
    V2,
}

/// One mounted hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    pub mountpoint: PathBuf,
    /// The cgroup the mount shows as its root (field 4 of mountinfo): "/" unless the mount
    /// was made inside a cgroup namespace or is a bind mount of a sub-cgroup.
    pub root: String,
    /// v1 only: the controllers, plus "name=X" for named hierarchies (e.g. name=systemd).
    pub controllers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub mode: Mode,
    pub v1: Vec<Hierarchy>,
    pub v2: Option<Hierarchy>,
}

/// Mount options of a v1 cgroup superblock that are not controller names.
const V1_OPTIONS: &[&str] = &[
    "rw",
    "ro",
    "clone_children",
    "noprefix",
    "xattr",
    "cpuset_v2_mode",
];

pub fn detect() -> Result<Layout> {
    let text =
        std::fs::read_to_string("/proc/self/mountinfo").context("reading /proc/self/mountinfo")?;
    parse_mountinfo(&text)
}

/// Parses mountinfo text into a layout. A controller mounted twice (bind mounts) counts
/// once, at its first mount; a cgroup2 mount at /sys/fs/cgroup is preferred over others.
pub fn parse_mountinfo(text: &str) -> Result<Layout> {
    let mut v1: Vec<Hierarchy> = Vec::new();
    let mut v2: Option<Hierarchy> = None;
    for line in text.lines() {
        // Cheap filter first: this runs on every create and most lines are not cgroups.
        if !line.contains(" - cgroup") {
            continue;
        }
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let mut post_fields = post.split(' ');
        let fstype = post_fields.next().unwrap_or("");
        let _source = post_fields.next();
        let super_opts = post_fields.next().unwrap_or("");
        let pre_fields: Vec<&str> = pre.split(' ').collect();
        if pre_fields.len() < 5 {
            bail!("malformed /proc/self/mountinfo line: {line:?}");
        }
        let root = unescape(pre_fields[3]);
        let mountpoint = PathBuf::from(unescape(pre_fields[4]));
        match fstype {
            "cgroup2" => {
                let preferred = |p: &PathBuf| {
                    p.as_os_str() == "/sys/fs/cgroup" || p.as_os_str() == "/sys/fs/cgroup/unified"
                };
                if v2
                    .as_ref()
                    .is_none_or(|h| !preferred(&h.mountpoint) && preferred(&mountpoint))
                {
                    v2 = Some(Hierarchy {
                        mountpoint,
                        root,
                        controllers: Vec::new(),
                    });
                }
            }
            "cgroup" => {
                let controllers: Vec<String> = super_opts
                    .split(',')
                    .filter(|o| !V1_OPTIONS.contains(o) && !o.starts_with("release_agent="))
                    .map(str::to_string)
                    .collect();
                if controllers.is_empty()
                    || v1
                        .iter()
                        .any(|h| h.controllers.iter().any(|c| controllers.contains(c)))
                {
                    continue;
                }
                v1.push(Hierarchy {
                    mountpoint,
                    root,
                    controllers,
                });
            }
            _ => {}
        }
    }
    let mode = match (v1.is_empty(), &v2) {
        (true, Some(_)) => Mode::V2,
        (false, Some(_)) => Mode::Hybrid,
        (false, None) => Mode::V1,
        (true, None) => bail!("no cgroup filesystem is mounted (checked /proc/self/mountinfo)"),
    };
    Ok(Layout { mode, v1, v2 })
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            let oct = std::str::from_utf8(&b[i + 1..i + 4]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(oct, 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// This process's cgroups: (controllers of the hierarchy, path). The v2 entry has no
/// controllers ("0::/path").
pub fn own_cgroups() -> Result<Vec<(Vec<String>, String)>> {
    let text = std::fs::read_to_string("/proc/self/cgroup").context("reading /proc/self/cgroup")?;
    Ok(parse_proc_cgroup(&text))
}

pub fn parse_proc_cgroup(text: &str) -> Vec<(Vec<String>, String)> {
    text.lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let _id = parts.next()?;
            let ctrls = parts.next()?;
            let path = parts.next()?;
            let ctrls = if ctrls.is_empty() {
                Vec::new()
            } else {
                ctrls.split(',').map(str::to_string).collect()
            };
            Some((ctrls, path.to_string()))
        })
        .collect()
}

/// The own cgroup path in the hierarchy with `controllers` (empty: the v2 one).
pub fn own_path<'a>(own: &'a [(Vec<String>, String)], controllers: &[String]) -> Option<&'a str> {
    own.iter()
        .find(|(c, _)| {
            if controllers.is_empty() {
                c.is_empty()
            } else {
                !c.is_empty() && c.iter().all(|x| controllers.contains(x))
            }
        })
        .map(|(_, p)| p.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(l: &'a Layout, controller: &str) -> Option<&'a Hierarchy> {
        l.v1.iter()
            .find(|h| h.controllers.iter().any(|c| c == controller))
    }

    const HYBRID: &str = "\
22 1 8:1 / / rw,relatime - ext4 /dev/vda rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
";

    const V1: &str = "\
25 21 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
27 25 0:24 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:11 - cgroup cgroup rw,cpu,cpuacct
28 25 0:25 / /sys/fs/cgroup/net_cls,net_prio rw shared:12 - cgroup cgroup rw,net_cls,net_prio
29 25 0:26 /docker/abc /sys/fs/cgroup/my\\040mem rw shared:13 - cgroup cgroup rw,memory
30 25 0:24 / /mnt/again rw,nosuid shared:11 - cgroup cgroup rw,cpu,cpuacct
";

    const V2: &str = "\
22 1 8:1 / / rw,relatime - ext4 /dev/vda rw
35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

    #[test]
    fn hybrid_layout() {
        let l = parse_mountinfo(HYBRID).unwrap();
        assert_eq!(l.mode, Mode::Hybrid);
        assert_eq!(l.v1.len(), 5);
        assert_eq!(
            find(&l, "cpuacct").unwrap().mountpoint,
            PathBuf::from("/sys/fs/cgroup/cpuacct")
        );
        assert_eq!(
            find(&l, "name=systemd").unwrap().controllers,
            vec!["name=systemd"]
        );
        assert_eq!(
            l.v2.as_ref().unwrap().mountpoint,
            PathBuf::from("/sys/fs/cgroup/unified")
        );
        assert!(find(&l, "hugetlb").is_none());
    }

    #[test]
    fn v1_layout_with_comounts_escapes_and_duplicates() {
        let l = parse_mountinfo(V1).unwrap();
        assert_eq!(l.mode, Mode::V1);
        assert_eq!(l.v1.len(), 3, "the second cpu,cpuacct mount is ignored");
        let cpu = find(&l, "cpu").unwrap();
        assert_eq!(cpu.controllers, vec!["cpu", "cpuacct"]);
        assert_eq!(cpu.mountpoint, PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"));
        let mem = find(&l, "memory").unwrap();
        assert_eq!(mem.mountpoint, PathBuf::from("/sys/fs/cgroup/my mem"));
        assert_eq!(mem.root, "/docker/abc");
        assert!(l.v2.is_none());
    }

    #[test]
    fn v2_layout() {
        let l = parse_mountinfo(V2).unwrap();
        assert_eq!(l.mode, Mode::V2);
        assert!(l.v1.is_empty());
        assert_eq!(l.v2.unwrap().mountpoint, PathBuf::from("/sys/fs/cgroup"));
    }

    #[test]
    fn no_cgroups_is_an_error() {
        let e = parse_mountinfo("22 1 8:1 / / rw - ext4 /dev/vda rw\n").unwrap_err();
        assert!(e.to_string().contains("no cgroup filesystem"));
    }

    #[test]
    fn own_cgroup_lookup() {
        let own = parse_proc_cgroup("4:memory:/a/b\n2:cpu,cpuacct:/c\n1:name=systemd:/s\n0::/u\n");
        assert_eq!(own_path(&own, &["memory".into()]), Some("/a/b"));
        assert_eq!(
            own_path(&own, &["cpu".into(), "cpuacct".into()]),
            Some("/c")
        );
        assert_eq!(own_path(&own, &["name=systemd".into()]), Some("/s"));
        assert_eq!(own_path(&own, &[]), Some("/u"));
        assert_eq!(own_path(&own, &["pids".into()]), None);
    }
}
