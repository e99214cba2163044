//! The container process's capability sets (`process.capabilities`): the bounding set is
//! reduced before the uid switch, then effective, permitted and inheritable are set exactly
//! and the ambient capabilities raised, as runc does.
//!
//! A missing `capabilities` object, or a missing set inside it, means an empty set (runc).
//! Capabilities the running kernel does not know are ignored with a warning at validation,
//! as the spec asks; capabilities the kernel knows but berth itself does not hold (its own
//! bounding set lacks them, and no new user namespace resets it) are left out of the bounding
//! set with a warning (runc leaves them out too), and cannot be granted in the effective,
//! permitted or inheritable set: those fail clearly (runc fails there with EPERM).

use anyhow::{bail, Context as _, Result};
use caps::{CapSet, Capability, CapsHashSet};
use oci_spec::runtime::{Capabilities, LinuxCapabilities};

/// The five sets as requested in config.json, in berth's (the caps crate's) representation.
#[derive(Debug, Default, PartialEq)]
struct Requested {
    bounding: CapsHashSet,
    effective: CapsHashSet,
    inheritable: CapsHashSet,
    permitted: CapsHashSet,
    ambient: CapsHashSet,
}

impl Requested {
    fn sets(&self) -> [(&'static str, &CapsHashSet); 5] {
        [
            ("bounding", &self.bounding),
            ("effective", &self.effective),
            ("inheritable", &self.inheritable),
            ("permitted", &self.permitted),
            ("ambient", &self.ambient),
        ]
    }
}

fn convert(set: &'static str, caps: Option<&Capabilities>) -> Result<CapsHashSet> {
    caps.into_iter()
        .flatten()
        .map(|c| {
            // oci-spec displays names without the prefix ("SYS_ADMIN").
            format!("CAP_{c}").parse::<Capability>().map_err(|_| {
                anyhow::anyhow!("process.capabilities.{set}: CAP_{c} is not known to berth")
            })
        })
        .collect()
}

fn requested(caps: Option<&LinuxCapabilities>) -> Result<Requested> {
    let Some(c) = caps else {
        return Ok(Requested::default());
    };
    Ok(Requested {
        bounding: convert("bounding", c.bounding().as_ref())?,
        effective: convert("effective", c.effective().as_ref())?,
        inheritable: convert("inheritable", c.inheritable().as_ref())?,
        permitted: convert("permitted", c.permitted().as_ref())?,
        ambient: convert("ambient", c.ambient().as_ref())?,
    })
}

/// Whether the running kernel knows `cap`: PR_CAPBSET_READ fails with EINVAL otherwise.
fn kernel_knows(cap: Capability) -> bool {
    caps::has_cap(None, CapSet::Bounding, cap).is_ok()
}

/// Drops from `set` what the kernel does not know (already warned about by `validate`).
fn known(set: &CapsHashSet) -> CapsHashSet {
    set.iter().copied().filter(|c| kernel_knows(*c)).collect()
}

fn sorted_names<'a>(caps: impl IntoIterator<Item = &'a Capability>) -> String {
    let mut v: Vec<&Capability> = caps.into_iter().collect();
    v.sort_by_key(|c| c.index());
    v.iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Ambient capabilities the kernel would refuse (not both permitted and inheritable).
fn unraisable_ambient(r: &Requested) -> CapsHashSet {
    r.ambient
        .iter()
        .copied()
        .filter(|c| !(r.permitted.contains(c) && r.inheritable.contains(c)))
        .collect()
}

/// Config validation, in the parent. Fails on what can never work; warns (through
/// `logging::warn`) about what is ignored, as runc 1.2 does:
/// - capabilities the running kernel does not know are ignored;
/// - ambient capabilities that are not both permitted and inheritable are not raised (the
///   kernel forbids it; runc only warns, for compatibility with configs from before it
///   checked).
///
/// Effective capabilities outside the permitted set are an error: capset(2) always refuses them.
pub fn validate(caps: Option<&LinuxCapabilities>) -> Result<()> {
    let r = requested(caps)?;
    let mut unknown = CapsHashSet::new();
    for (_, set) in r.sets() {
        unknown.extend(set.iter().copied().filter(|c| !kernel_knows(*c)));
    }
    let mut unknown: Vec<String> = unknown.iter().map(|c| c.to_string()).collect();
    unknown.sort();
    crate::config::warn_dropped_capabilities(&unknown);
    let not_permitted: CapsHashSet = known(&r.effective)
        .difference(&r.permitted)
        .copied()
        .collect();
    if !not_permitted.is_empty() {
        bail!(
            "process.capabilities.effective: {} not in the permitted set (an effective capability must also be permitted)",
            sorted_names(&not_permitted)
        );
    }
    let ambient = known(&unraisable_ambient(&r));
    if !ambient.is_empty() {
        crate::logging::warn(&format!(
            "process.capabilities.ambient: ignoring {}: an ambient capability must also be permitted and inheritable",
            sorted_names(&ambient)
        ));
    }
    Ok(())
}

/// Reduces the bounding set to `caps.bounding`. Runs in init before the uid switch (it needs
/// CAP_SETPCAP). First checks that everything requested in any set can be granted at all:
/// a bounding capability must be in this process's bounding set, and an effective, permitted
/// or inheritable one in its permitted set.
pub fn drop_bounding(caps: Option<&LinuxCapabilities>) -> Result<()> {
    let r = requested(caps)?;
    let current_bounding =
        caps::read(None, CapSet::Bounding).context("capabilities: reading the bounding set")?;
    let current_permitted =
        caps::read(None, CapSet::Permitted).context("capabilities: reading the permitted set")?;
    let mut missing = Vec::new();
    for (name, set) in r.sets() {
        let have = match name {
            "bounding" => &current_bounding,
            // Not raised when impossible (see `validate`), so nothing to check.
            "ambient" => continue,
            _ => &current_permitted,
        };
        let lacking: CapsHashSet = known(set).difference(have).copied().collect();
        if lacking.is_empty() {
            continue;
        }
        if name == "bounding" {
            // A bounding set only limits: one berth cannot add is left out, as runc leaves
            // it (a --privileged config lists every capability the kernel knows).
            crate::logging::warn(&format!(
                "ignoring unavailable capabilities in the bounding set (berth's own bounding set lacks them): [{}]",
                sorted_names(&lacking).replace(", ", " ")
            ));
            continue;
        }
        missing.push(format!("{name}: {}", sorted_names(&lacking)));
    }
    if !missing.is_empty() {
        bail!(
            "process.capabilities: cannot grant capabilities berth itself does not have ({}); without a new user namespace a container gets at most berth's own capabilities",
            missing.join("; ")
        );
    }
    let mut all: Vec<Capability> = caps::all().into_iter().collect();
    all.sort_by_key(|c| c.index());
    for cap in all {
        if current_bounding.contains(&cap) && !r.bounding.contains(&cap) {
            caps::drop(None, CapSet::Bounding, cap)
                .with_context(|| format!("capabilities: dropping {cap} from the bounding set"))?;
        }
    }
    Ok(())
}

/// Sets effective, inheritable and permitted exactly, then raises the ambient capabilities.
/// Runs in init after `user::switch` (which keeps the permitted set across the uid change).
///
/// Order matters: effective first (a subset of what is still permitted), then inheritable
/// (allowed while the old permitted set still holds it), then permitted (which must keep
/// covering the new effective set).
pub fn apply(caps: Option<&LinuxCapabilities>) -> Result<()> {
    let r = requested(caps)?;
    let steps = [
        ("effective", CapSet::Effective, &r.effective),
        ("inheritable", CapSet::Inheritable, &r.inheritable),
        ("permitted", CapSet::Permitted, &r.permitted),
    ];
    for (name, set, wanted) in steps {
        let wanted = known(wanted);
        caps::set(None, set, &wanted).with_context(|| {
            format!(
                "capabilities: setting the {name} set to [{}]",
                sorted_names(&wanted)
            )
        })?;
    }
    // Nothing inherited from berth's environment may stay ambient.
    caps::clear(None, CapSet::Ambient).context("capabilities: clearing the ambient set")?;
    let skip = unraisable_ambient(&r);
    let mut ambient: Vec<Capability> = known(&r.ambient).difference(&skip).copied().collect();
    ambient.sort_by_key(|c| c.index());
    for cap in ambient {
        caps::raise(None, CapSet::Ambient, cap)
            .with_context(|| format!("capabilities: raising {cap} in the ambient set"))?;
    }
    Ok(())
}

/// Every capability name berth knows, in kernel order (for `berth features`).
pub fn all_names() -> Vec<String> {
    let mut all: Vec<Capability> = caps::all().into_iter().collect();
    all.sort_by_key(|c| c.index());
    all.iter().map(|c| c.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::test_child;

    fn spec_caps(json: serde_json::Value) -> LinuxCapabilities {
        serde_json::from_value(json).unwrap()
    }

    fn mask(names: &[&str]) -> u64 {
        names
            .iter()
            .map(|n| n.parse::<Capability>().unwrap().bitmask())
            .fold(0, |a, b| a | b)
    }

    fn status_hex(field: &str) -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .unwrap();
        u64::from_str_radix(line.trim(), 16).unwrap()
    }

    #[test]
    fn every_oci_capability_maps_to_berth() {
        // The oci-spec enum and the caps table must agree, or a config could name a
        // capability berth cannot apply.
        for name in all_names() {
            let c: oci_spec::runtime::Capability =
                serde_json::from_value(serde_json::json!(name)).unwrap();
            let set: Capabilities = [c].into_iter().collect();
            let converted = convert("bounding", Some(&set)).unwrap();
            assert_eq!(sorted_names(&converted), name);
        }
        assert_eq!(all_names().len(), caps::all().len());
        assert_eq!(all_names()[0], "CAP_CHOWN");
    }

    #[test]
    fn missing_capabilities_mean_empty_sets() {
        assert_eq!(requested(None).unwrap(), Requested::default());
        let r = requested(Some(&spec_caps(
            serde_json::json!({"bounding": ["CAP_KILL"]}),
        )))
        .unwrap();
        assert_eq!(sorted_names(&r.bounding), "CAP_KILL");
        assert!(r.permitted.is_empty() && r.ambient.is_empty());
    }

    #[test]
    fn validate_rejects_effective_outside_permitted() {
        let c = spec_caps(serde_json::json!({
            "effective": ["CAP_KILL", "CAP_CHOWN"], "permitted": ["CAP_KILL"]
        }));
        let err = validate(Some(&c)).unwrap_err().to_string();
        assert_eq!(
            err,
            "process.capabilities.effective: CAP_CHOWN not in the permitted set (an effective capability must also be permitted)"
        );
    }

    #[test]
    fn ambient_needs_permitted_and_inheritable() {
        let c = spec_caps(serde_json::json!({
            "permitted": ["CAP_KILL", "CAP_CHOWN"], "inheritable": ["CAP_KILL"],
            "ambient": ["CAP_KILL", "CAP_CHOWN"]
        }));
        let r = requested(Some(&c)).unwrap();
        assert_eq!(sorted_names(&unraisable_ambient(&r)), "CAP_CHOWN");
        // Only warned about, like runc.
        validate(Some(&c)).unwrap();
    }

    #[test]
    fn sets_applied_exactly_after_uid_switch() {
        let c = spec_caps(serde_json::json!({
            "bounding": ["CAP_KILL", "CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_SETPCAP"],
            "permitted": ["CAP_KILL", "CAP_CHOWN", "CAP_NET_BIND_SERVICE"],
            "inheritable": ["CAP_NET_BIND_SERVICE", "CAP_CHOWN"],
            "effective": ["CAP_KILL"],
            "ambient": ["CAP_NET_BIND_SERVICE", "CAP_KILL"]
        }));
        test_child::run(move || {
            drop_bounding(Some(&c))?;
            let user: oci_spec::runtime::User =
                serde_json::from_value(serde_json::json!({"uid": 1000, "gid": 1000}))?;
            crate::process::user::switch(&user)?;
            apply(Some(&c))?;
            let want = [
                (
                    "CapBnd",
                    mask(&[
                        "CAP_KILL",
                        "CAP_CHOWN",
                        "CAP_NET_BIND_SERVICE",
                        "CAP_SETPCAP",
                    ]),
                ),
                (
                    "CapPrm",
                    mask(&["CAP_KILL", "CAP_CHOWN", "CAP_NET_BIND_SERVICE"]),
                ),
                ("CapInh", mask(&["CAP_NET_BIND_SERVICE", "CAP_CHOWN"])),
                ("CapEff", mask(&["CAP_KILL"])),
                // CAP_KILL is not inheritable, so it is not raised.
                ("CapAmb", mask(&["CAP_NET_BIND_SERVICE"])),
            ];
            for (field, mask) in want {
                let got = status_hex(field);
                anyhow::ensure!(got == mask, "{field}: got {got:#x}, want {mask:#x}");
            }
            Ok(())
        });
    }

    #[test]
    fn no_capabilities_object_drops_everything() {
        test_child::run(|| {
            drop_bounding(None)?;
            apply(None)?;
            for field in ["CapBnd", "CapPrm", "CapInh", "CapEff", "CapAmb"] {
                anyhow::ensure!(status_hex(field) == 0, "{field} not empty");
            }
            Ok(())
        });
    }

    #[test]
    fn capability_outside_own_bounding_set_fails_clearly() {
        test_child::run(|| {
            // Make sure CAP_SYS_RESOURCE is missing, as it is on hosts that removed it.
            caps::drop(None, CapSet::Bounding, Capability::CAP_SYS_RESOURCE)?;
            caps::drop(None, CapSet::Permitted, Capability::CAP_SYS_RESOURCE)?;
            let c = spec_caps(serde_json::json!({
                "bounding": ["CAP_SYS_RESOURCE", "CAP_KILL"], "permitted": ["CAP_SYS_RESOURCE"]
            }));
            let err = format!("{:#}", drop_bounding(Some(&c)).unwrap_err());
            anyhow::ensure!(
                err.starts_with("process.capabilities: cannot grant capabilities berth itself does not have (permitted: CAP_SYS_RESOURCE)"),
                "unexpected error: {err}"
            );
            // Nothing was dropped before failing.
            anyhow::ensure!(caps::has_cap(
                None,
                CapSet::Bounding,
                Capability::CAP_CHOWN
            )?);
            // In the bounding set alone it is left out (as runc), the rest applied.
            let c = spec_caps(serde_json::json!({"bounding": ["CAP_SYS_RESOURCE", "CAP_KILL"]}));
            drop_bounding(Some(&c))?;
            anyhow::ensure!(caps::read(None, CapSet::Bounding)? == [Capability::CAP_KILL].into());
            Ok(())
        });
    }
}
