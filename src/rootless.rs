//! berth run by an unprivileged user ("rootless", as runc calls it): where its state goes,
//! and what a config must (and must not) ask for. The id maps (userns.rs) and the cgroup
//! (cgroups/rootless.rs) have their own unprivileged paths.
//!
//! As in runc: with an effective uid other than 0 the state root defaults to
//! $XDG_RUNTIME_DIR/berth; the container needs a user namespace; uid=/gid= mount options
//! must name ids the container maps; id-mapped mounts are refused (idmapping a host
//! filesystem needs CAP_SYS_ADMIN in the host's user namespace).

use anyhow::{bail, Context, Result};
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Spec};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The state root when neither --root nor XDG_RUNTIME_DIR says otherwise.
pub const SYSTEM_ROOT: &str = "/run/berth";

/// Whether berth runs with an effective uid other than 0.
pub fn active() -> bool {
    !nix::unistd::geteuid().is_root()
}

/// Whether this process is in a user namespace other than the initial one (whose uid_map
/// maps every id to itself).
pub fn in_user_namespace() -> bool {
    std::fs::read_to_string("/proc/self/uid_map")
        .map(|m| !m.split_whitespace().eq(["0", "0", "4294967295"]))
        .unwrap_or(false)
}

/// $XDG_RUNTIME_DIR/berth, when berth runs unprivileged and the variable is set (runc also
/// honours it as root inside a user namespace, unless USER is root).
fn xdg_root() -> Option<PathBuf> {
    let dir = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty())?;
    let honour =
        active() || (in_user_namespace() && std::env::var_os("USER").is_none_or(|u| u != "root"));
    honour.then(|| Path::new(&dir).join("berth"))
}

/// The default of --root.
pub fn default_root() -> PathBuf {
    xdg_root().unwrap_or_else(|| PathBuf::from(SYSTEM_ROOT))
}

/// Makes the XDG state root (when `root` is it) with the sticky bit, which keeps it from
/// being cleaned up as unused (XDG Base Directory spec; runc does the same).
pub fn prepare_root(root: &Path) -> Result<()> {
    if xdg_root().as_deref() != Some(root) {
        return Ok(());
    }
    std::fs::create_dir_all(root)
        .with_context(|| format!("creating state root {}", root.display()))?;
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o1700))
        .with_context(|| format!("chmod {}", root.display()))
}

/// A hint for an error creating the state root: what an unprivileged user must do.
pub fn root_hint(root: &Path) -> String {
    if !active() || root != Path::new(SYSTEM_ROOT) {
        return String::new();
    }
    format!(
        " (berth runs as uid {}: set XDG_RUNTIME_DIR to a directory of yours, or pass --root)",
        nix::unistd::geteuid()
    )
}

/// --rootless (runc's global flag): whether the container's cgroup is made as an
/// unprivileged berth makes it (`cgroups::create_rootless`: used where it can be made,
/// permission errors ignored when the config asks for no limits). "auto" (or empty) decides
/// by berth's own privileges: unprivileged, or root of a user namespace other than the
/// initial one; otherwise the words Go's strconv.ParseBool takes, as runc parses it. Like
/// runc, the value is judged only by the commands that make a cgroup (create, run, restore).
pub fn cgroups_rootless(flag: &str) -> Result<bool> {
    match flag {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        f if f.is_empty() || f.eq_ignore_ascii_case("auto") => Ok(active() || in_user_namespace()),
        f => bail!("--rootless {f:?}: not auto, true or false"),
    }
}

/// What an unprivileged berth cannot do, refused before anything is created.
pub fn check(spec: &Spec) -> Result<()> {
    let uid = nix::unistd::geteuid();
    let linux = spec
        .linux()
        .as_ref()
        .context("config.json: linux: missing")?;
    let userns = linux
        .namespaces()
        .iter()
        .flatten()
        .find(|n| n.typ() == LinuxNamespaceType::User);
    let Some(userns) = userns else {
        bail!("config.json: linux.namespaces: berth runs unprivileged (uid {uid}), so the container needs a user namespace (`berth spec --rootless` writes such a config)");
    };
    let joined = userns
        .path()
        .as_ref()
        .is_some_and(|p| !p.as_os_str().is_empty());
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let at = format!("config.json: mounts[{i}]");
        let options = m.options().as_deref().unwrap_or_default();
        if m.uid_mappings().is_some()
            || m.gid_mappings().is_some()
            || options.iter().any(|o| o == "idmap" || o == "ridmap")
        {
            bail!("{at}: id-mapped mounts need berth to run as root (CAP_SYS_ADMIN over the source's filesystem), as in runc");
        }
        // The kernel judges the ids of a joined namespace.
        if joined {
            continue;
        }
        for o in options {
            for (key, maps, field) in [
                ("uid=", linux.uid_mappings(), "linux.uidMappings"),
                ("gid=", linux.gid_mappings(), "linux.gidMappings"),
            ] {
                let Some(id) = o.strip_prefix(key).and_then(|v| v.parse::<u32>().ok()) else {
                    continue;
                };
                if !maps_id(maps.as_deref().unwrap_or_default(), id) {
                    bail!("{at}.options: {o:?}: id {id} is not mapped by {field} (berth runs unprivileged)");
                }
            }
        }
    }
    Ok(())
}

/// Whether `id` (a container id) is mapped by `maps`.
fn maps_id(maps: &[LinuxIdMapping], id: u32) -> bool {
    maps.iter()
        .any(|m| id >= m.container_id() && (id - m.container_id()) < m.size())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extra: &str) -> Spec {
        serde_json::from_str(&format!(
            r#"{{"ociVersion":"1.2.0","root":{{"path":"rootfs"}},{extra}}}"#
        ))
        .unwrap()
    }

    const USERNS: &str = r#""linux":{"namespaces":[{"type":"mount"},{"type":"user"}],
        "uidMappings":[{"containerID":0,"hostID":1000,"size":1}],
        "gidMappings":[{"containerID":0,"hostID":1000,"size":1},{"containerID":5,"hostID":100000,"size":1}]}"#;

    #[test]
    fn needs_a_user_namespace() {
        let e = check(&spec(r#""linux":{"namespaces":[{"type":"mount"}]}"#))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("config.json: linux.namespaces: berth runs unprivileged")
                && e.contains("needs a user namespace"),
            "{e}"
        );
        check(&spec(USERNS)).unwrap();
    }

    #[test]
    fn mount_ids_must_be_mapped() {
        let with_mount = |opts: &str| {
            check(&spec(&format!(
                r#""mounts":[{{"destination":"/dev/pts","type":"devpts","options":[{opts}]}}],{USERNS}"#
            )))
        };
        with_mount(r#""newinstance","gid=5","uid=0","mode=0620""#).unwrap();
        let e = with_mount(r#""gid=6""#).unwrap_err().to_string();
        assert_eq!(
            e,
            r#"config.json: mounts[0].options: "gid=6": id 6 is not mapped by linux.gidMappings (berth runs unprivileged)"#
        );
        assert!(with_mount(r#""uid=1""#).is_err());
    }

    #[test]
    fn idmapped_mounts_are_refused() {
        let e = check(&spec(&format!(
            r#""mounts":[{{"destination":"/a","source":"/x","options":["rbind","ridmap"]}}],{USERNS}"#
        )))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("mounts[0]: id-mapped mounts need berth to run as root"),
            "{e}"
        );
    }

    #[test]
    fn id_ranges() {
        let maps: Vec<LinuxIdMapping> = serde_json::from_str(
            r#"[{"containerID":0,"hostID":1000,"size":1},{"containerID":10,"hostID":100000,"size":5}]"#,
        )
        .unwrap();
        let mapped: Vec<u32> = (0..20).filter(|&i| maps_id(&maps, i)).collect();
        assert_eq!(mapped, [0, 10, 11, 12, 13, 14]);
    }

    #[test]
    fn rootless_flag_takes_runc_words() {
        // Unit tests run as root in the initial user namespace: auto means privileged.
        for auto in ["auto", "AUTO", "Auto", ""] {
            assert!(!cgroups_rootless(auto).unwrap(), "{auto}");
        }
        for yes in ["true", "1", "t", "T", "TRUE", "True"] {
            assert!(cgroups_rootless(yes).unwrap(), "{yes}");
        }
        for no in ["false", "0", "f", "F", "FALSE", "False"] {
            assert!(!cgroups_rootless(no).unwrap(), "{no}");
        }
        for bad in ["xyz", "yes", "tRUE", " true"] {
            assert_eq!(
                cgroups_rootless(bad).unwrap_err().to_string(),
                format!("--rootless {bad:?}: not auto, true or false")
            );
        }
    }

    #[test]
    fn root_defaults_to_the_system_root_for_root() {
        // Unit tests run as root in the initial user namespace (the integration tests cover
        // an unprivileged user).
        assert!(!active() && !in_user_namespace());
        assert_eq!(default_root(), PathBuf::from(SYSTEM_ROOT));
        assert_eq!(root_hint(Path::new(SYSTEM_ROOT)), "");
    }
}
