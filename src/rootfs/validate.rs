//! Checking the rootfs-related fields of a config before anything is created, so that a bad
//! config fails with one line naming the field instead of halfway through init.

use anyhow::{bail, Result};
use oci_spec::runtime::{LinuxDeviceType, LinuxNamespaceType, Spec};
use std::path::{Component, Path};

use super::devices::node_kind;
use super::mount_options::{parse, rootfs_propagation};
use super::mounts::is_bind;

/// Fields that need a mount namespace: without one they would change the runtime's own
/// mounts (runc refuses maskedPaths and readonlyPaths there too).
fn refused_without_mountns(spec: &Spec) -> Option<&'static str> {
    let linux = spec.linux().as_ref();
    let non_empty = |v: Option<&Vec<String>>| v.is_some_and(|v| !v.is_empty());
    if linux.is_some_and(|l| non_empty(l.masked_paths().as_ref())) {
        Some("linux.maskedPaths")
    } else if linux.is_some_and(|l| non_empty(l.readonly_paths().as_ref())) {
        Some("linux.readonlyPaths")
    } else if linux.is_some_and(|l| {
        l.rootfs_propagation()
            .as_ref()
            .is_some_and(|p| !p.is_empty())
    }) {
        Some("linux.rootfsPropagation")
    } else if spec
        .root()
        .as_ref()
        .is_some_and(|r| r.readonly() == Some(true))
    {
        Some("root.readonly")
    } else {
        None
    }
}

/// The first field that makes mounts or device nodes: without a mount namespace these are
/// made in the runtime's namespace, below the rootfs (as runc does, and they stay there).
pub fn needs_mountns(spec: &Spec) -> Option<&'static str> {
    let linux = spec.linux().as_ref();
    if spec.mounts().as_ref().is_some_and(|m| !m.is_empty()) {
        Some("mounts")
    } else if linux.is_some_and(|l| l.devices().as_ref().is_some_and(|d| !d.is_empty())) {
        Some("linux.devices")
    } else {
        None
    }
}

/// Whether `p`, taken relative to "/", names "/" itself.
fn is_root(p: &Path) -> bool {
    p.components()
        .all(|c| matches!(c, Component::RootDir | Component::CurDir))
}

pub fn validate(spec: &Spec) -> Result<()> {
    let linux = spec.linux().as_ref();
    let mountns = linux.is_some_and(|l| {
        l.namespaces()
            .iter()
            .flatten()
            .any(|n| n.typ() == LinuxNamespaceType::Mount)
    });
    if !mountns {
        if let Some(field) = refused_without_mountns(spec) {
            bail!("config.json: {field}: needs a mount namespace (linux.namespaces has none)");
        }
    }
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let at = format!("config.json: mounts[{i}]");
        let dest = m.destination();
        if dest.as_os_str().is_empty() {
            bail!("{at}.destination: missing");
        }
        if is_root(dest) {
            bail!("{at}.destination: cannot mount over the container's root");
        }
        let options = m.options().as_deref().unwrap_or_default();
        let opts = parse(options);
        super::idmap::validate(spec, m, &opts, &at)?;
        let typ = m.typ().as_deref().unwrap_or("");
        if is_bind(m, &opts) {
            if let Some(o) = opts.unknown.first() {
                bail!("{at}.options: unknown option {o:?}");
            }
            if opts.tmpcopyup {
                bail!("{at}.options: \"tmpcopyup\" needs a tmpfs mount, not a bind mount");
            }
            // Whether the source exists is checked when the mount is made, in config order:
            // an earlier mount may create it.
            if m.source()
                .as_deref()
                .is_none_or(|s| s.as_os_str().is_empty())
            {
                bail!("{at}.source: missing (a bind mount needs one)");
            }
        } else {
            if typ.is_empty() {
                bail!("{at}.type: missing (needed unless the mount is a bind mount)");
            }
            if opts.tmpcopyup && typ != "tmpfs" {
                bail!("{at}.options: \"tmpcopyup\" needs type tmpfs, not {typ:?}");
            }
        }
    }
    let Some(linux) = linux else { return Ok(()) };
    if let Some(p) = linux
        .rootfs_propagation()
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        if rootfs_propagation(p).is_none() {
            bail!("config.json: linux.rootfsPropagation: unknown value {p:?}");
        }
    }
    for (i, d) in linux.devices().iter().flatten().enumerate() {
        let at = format!("config.json: linux.devices[{i}]");
        let Some(kind) = node_kind(d.typ()) else {
            bail!(
                "{at}.type: unknown device type {:?} (c, b, u or p)",
                d.typ().as_str()
            );
        };
        let p = d.path();
        if !p.is_absolute() {
            bail!(
                "{at}.path: {:?} is not an absolute path",
                p.display().to_string()
            );
        }
        if is_root(p) || p.file_name().is_none() {
            bail!(
                "{at}.path: {:?} does not name a file",
                p.display().to_string()
            );
        }
        if d.major() < 0 || d.minor() < 0 {
            bail!("{at}: major and minor must not be negative");
        }
        if d.typ() != LinuxDeviceType::P
            && (d.major() > u32::MAX as i64 || d.minor() > u32::MAX as i64)
        {
            bail!("{at}: major or minor out of range");
        }
        if let Some(mode) = d.file_mode() {
            let fmt = mode & libc::S_IFMT;
            if fmt != 0 && fmt != kind.bits() {
                bail!(
                    "{at}.fileMode: {mode:o} has a file type that is not {:?}",
                    d.typ().as_str()
                );
            }
        }
    }
    for (field, list) in [
        ("maskedPaths", linux.masked_paths()),
        ("readonlyPaths", linux.readonly_paths()),
    ] {
        for (i, p) in list.iter().flatten().enumerate() {
            if !p.starts_with('/') {
                bail!("config.json: linux.{field}[{i}]: {p:?} is not an absolute path");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extra: &str) -> Spec {
        let json = format!(
            r#"{{"ociVersion":"1.2.0","root":{{"path":"rootfs"}},
                "linux":{{"namespaces":[{{"type":"mount"}}]}}{extra}}}"#
        );
        serde_json::from_str(&json).unwrap()
    }

    fn err(extra: &str) -> String {
        validate(&spec(extra)).unwrap_err().to_string()
    }

    fn ok(extra: &str) {
        validate(&spec(extra)).unwrap();
    }

    #[test]
    fn good_mounts_pass() {
        ok(r#","mounts":[
            {"destination":"/proc","type":"proc","source":"proc"},
            {"destination":"/tmp","type":"tmpfs","options":["nosuid","size=1m","tmpcopyup"]},
            {"destination":"rel","type":"tmpfs"},
            {"destination":"/etc/x","source":"/etc","options":["rbind","ro","rprivate"]},
            {"destination":"/y","type":"bind","source":"/etc/hostname"}]"#);
    }

    #[test]
    fn mount_errors_name_the_field() {
        assert_eq!(
            err(
                r#","mounts":[{"destination":"/a","type":"tmpfs"},{"destination":"/b","type":"tmpfs"},
                {"destination":"/c","type":"tmpfs"},{"destination":"/d","source":"/etc","options":["bind","rbindd"]}]"#
            ),
            r#"config.json: mounts[3].options: unknown option "rbindd""#
        );
        assert_eq!(
            err(r#","mounts":[{"destination":"/a"}]"#),
            "config.json: mounts[0].type: missing (needed unless the mount is a bind mount)"
        );
        assert_eq!(
            err(r#","mounts":[{"destination":"/a","options":["bind"]}]"#),
            "config.json: mounts[0].source: missing (a bind mount needs one)"
        );
        assert_eq!(
            err(r#","mounts":[{"destination":"","type":"tmpfs"}]"#),
            "config.json: mounts[0].destination: missing"
        );
        assert_eq!(
            err(r#","mounts":[{"destination":"/","type":"tmpfs"}]"#),
            "config.json: mounts[0].destination: cannot mount over the container's root"
        );
        assert_eq!(
            err(r#","mounts":[{"destination":"/a","type":"proc","options":["tmpcopyup"]}]"#),
            r#"config.json: mounts[0].options: "tmpcopyup" needs type tmpfs, not "proc""#
        );
    }

    #[test]
    fn linux_errors_name_the_field() {
        let with_linux = |l: &str| -> String {
            let json = format!(
                r#"{{"ociVersion":"1.2.0","root":{{"path":"rootfs"}},
                    "linux":{{"namespaces":[{{"type":"mount"}}],{l}}}}}"#
            );
            let s: Spec = serde_json::from_str(&json).unwrap();
            validate(&s).unwrap_err().to_string()
        };
        assert_eq!(
            with_linux(r#""rootfsPropagation":"shard""#),
            r#"config.json: linux.rootfsPropagation: unknown value "shard""#
        );
        assert_eq!(
            with_linux(r#""devices":[{"path":"/dev/x","type":"a"}]"#),
            r#"config.json: linux.devices[0].type: unknown device type "a" (c, b, u or p)"#
        );
        assert_eq!(
            with_linux(r#""devices":[{"path":"dev/x","type":"c","major":1,"minor":3}]"#),
            r#"config.json: linux.devices[0].path: "dev/x" is not an absolute path"#
        );
        assert_eq!(
            with_linux(
                r#""devices":[{"path":"/dev/x","type":"c","major":1,"minor":3,"fileMode":25008}]"#
            ),
            r#"config.json: linux.devices[0].fileMode: 60660 has a file type that is not "c""#
        );
        assert_eq!(
            with_linux(r#""maskedPaths":["/ok","proc/kcore"]"#),
            r#"config.json: linux.maskedPaths[1]: "proc/kcore" is not an absolute path"#
        );
        assert_eq!(
            with_linux(r#""readonlyPaths":["x"]"#),
            r#"config.json: linux.readonlyPaths[0]: "x" is not an absolute path"#
        );
    }

    #[test]
    fn bind_sources_are_not_looked_up_before_the_mounts() {
        ok(r#","mounts":[{"destination":"/a","source":"/nonexistent-x","options":["bind"]}]"#);
    }

    #[test]
    fn without_a_mount_namespace_the_runtimes_own_mounts_stay_untouched() {
        let s: Spec = serde_json::from_str(
            r#"{"ociVersion":"1.2.0","root":{"path":"rootfs"},"linux":{"maskedPaths":["/proc/kcore"]}}"#,
        )
        .unwrap();
        assert_eq!(
            validate(&s).unwrap_err().to_string(),
            "config.json: linux.maskedPaths: needs a mount namespace (linux.namespaces has none)"
        );
        let s: Spec =
            serde_json::from_str(r#"{"ociVersion":"1.2.0","root":{"path":"rootfs"},"linux":{}}"#)
                .unwrap();
        validate(&s).unwrap();
        // Mounts and devices are made in the runtime's namespace, as runc does.
        let s: Spec = serde_json::from_str(
            r#"{"ociVersion":"1.2.0","root":{"path":"rootfs"},"mounts":[{"destination":"/t","type":"tmpfs"}],
                "linux":{"devices":[{"path":"/dev/fuse","type":"c","major":10,"minor":229}]}}"#,
        )
        .unwrap();
        validate(&s).unwrap();
        assert_eq!(needs_mountns(&s), Some("mounts"));
    }
}
