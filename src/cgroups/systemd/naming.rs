//! Where the systemd driver puts a container: `linux.cgroupsPath` read as runc reads it with
//! `--systemd-cgroup`, "slice:prefix:name", into a unit (`prefix-name.scope`, or `name`
//! itself when it ends in ".slice") in a parent slice, and the slice's place in the cgroup
//! tree as systemd derives it from its name ("a-b.slice" is "/a.slice/a-b.slice").

use anyhow::{bail, Result};

/// The unit a container gets and the slice it goes in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// "berth-ID.scope", or a slice's name.
    pub unit: String,
    /// The parent slice's name ("system.slice"; "-.slice" is the root).
    pub slice: String,
}

/// The unit and slice for `linux.cgroupsPath`. An empty path is runc's ":runc:ID" (the
/// unit "runc-ID.scope": what tools written for runc look for); an empty slice is
/// system.slice, or user.slice with a user's systemd.
pub fn placement(cgroups_path: Option<&str>, id: &str, user: bool) -> Result<Placement> {
    let default_slice = if user { "user.slice" } else { "system.slice" };
    let (slice, prefix, name) = match cgroups_path {
        None | Some("") => ("", "runc", id),
        Some(p) => {
            let parts: Vec<&str> = p.split(':').collect();
            let [slice, prefix, name] = parts[..] else {
                // runc's words, which name the field already.
                bail!("expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got {p:?} instead");
            };
            (slice, prefix, name)
        }
    };
    let slice = if slice.is_empty() {
        default_slice
    } else {
        slice
    };
    // Checked now, before anything is made (runc checks when it computes the path).
    expand_slice(slice)?;
    let unit = if name.ends_with(".slice") {
        expand_slice(name)?;
        name.to_string()
    } else {
        format!("{prefix}-{name}.scope")
    };
    check_unit_name(&unit)?;
    Ok(Placement {
        unit,
        slice: slice.to_string(),
    })
}

/// A slice's cgroup path from its name, as systemd: "a-b-c.slice" is
/// "/a.slice/a-b.slice/a-b-c.slice", "-.slice" the root "/". Refuses what systemd refuses:
/// no ".slice" suffix, a '/', an empty component ("a--b.slice", "-a.slice", "a-.slice").
pub fn expand_slice(slice: &str) -> Result<String> {
    let invalid = || anyhow::anyhow!("linux.cgroupsPath: invalid slice name: {slice}");
    let base = slice.strip_suffix(".slice").ok_or_else(invalid)?;
    if slice.contains('/') || base.is_empty() {
        return Err(invalid());
    }
    if base == "-" {
        return Ok("/".to_string());
    }
    let mut path = String::new();
    let mut prefix = String::new();
    for component in base.split('-') {
        if component.is_empty() {
            return Err(invalid());
        }
        path.push('/');
        path.push_str(&prefix);
        path.push_str(component);
        path.push_str(".slice");
        prefix.push_str(component);
        prefix.push('-');
    }
    Ok(path)
}

/// The characters systemd accepts in a unit name (unit_name_is_valid): the name is sent
/// over D-Bus and becomes a directory, so anything else is refused here with the field's
/// name rather than by systemd.
fn check_unit_name(unit: &str) -> Result<()> {
    let ok = unit.len() <= 255
        && unit
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":-_.\\@".contains(&b));
    if !ok {
        bail!("linux.cgroupsPath: {unit:?} is not a valid systemd unit name");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_expand_as_systemd() {
        assert_eq!(expand_slice("system.slice").unwrap(), "/system.slice");
        assert_eq!(
            expand_slice("a-b-c.slice").unwrap(),
            "/a.slice/a-b.slice/a-b-c.slice"
        );
        assert_eq!(expand_slice("-.slice").unwrap(), "/");
        for bad in [
            "system",
            ".slice",
            "a--b.slice",
            "-a.slice",
            "a-.slice",
            "a/b.slice",
            "",
        ] {
            let e = expand_slice(bad).unwrap_err().to_string();
            assert_eq!(e, format!("linux.cgroupsPath: invalid slice name: {bad}"));
        }
    }

    #[test]
    fn paths_are_slice_prefix_name() {
        let p = placement(Some("system.slice:docker:abc"), "x", false).unwrap();
        assert_eq!(p.unit, "docker-abc.scope");
        assert_eq!(p.slice, "system.slice");
        let p = placement(Some("machine-pods.slice:crio:1"), "x", false).unwrap();
        assert_eq!(
            (p.unit.as_str(), p.slice.as_str()),
            ("crio-1.scope", "machine-pods.slice")
        );
        // A name ending in .slice makes a slice; the prefix is not used.
        let p = placement(Some("kubepods.slice:x:kubepods-pod1.slice"), "x", false).unwrap();
        assert_eq!(p.unit, "kubepods-pod1.slice");
        // Empty parts take the defaults.
        let p = placement(Some(":pre:n"), "x", false).unwrap();
        assert_eq!(
            (p.unit.as_str(), p.slice.as_str()),
            ("pre-n.scope", "system.slice")
        );
        let p = placement(Some(":pre:n"), "x", true).unwrap();
        assert_eq!(p.slice, "user.slice");
        let p = placement(None, "c1", false).unwrap();
        assert_eq!(
            (p.unit.as_str(), p.slice.as_str()),
            ("runc-c1.scope", "system.slice")
        );
        let p = placement(Some(""), "c1", true).unwrap();
        assert_eq!(
            (p.unit.as_str(), p.slice.as_str()),
            ("runc-c1.scope", "user.slice")
        );
    }

    #[test]
    fn malformed_paths_are_refused_in_runc_words() {
        for bad in ["/a/b", "a:b", "a:b:c:d", "system.slice"] {
            let e = placement(Some(bad), "x", false).unwrap_err().to_string();
            assert_eq!(
                e,
                format!("expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got {bad:?} instead")
            );
        }
        let e = placement(Some("nope:p:n"), "x", false)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "linux.cgroupsPath: invalid slice name: nope");
        let e = placement(Some("a.slice:p:b--c.slice"), "x", false)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "linux.cgroupsPath: invalid slice name: b--c.slice");
        let e = placement(Some("a.slice:p:x y"), "x", false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a valid systemd unit name"), "{e}");
    }
}
