//! The cgroup of a container that an unprivileged berth creates, as runc's cgroupfs driver
//! does for rootless containers: the cgroup is used where it can be made (a hierarchy
//! delegated to the user); where it cannot and the config asks for no limits, the container
//! runs without a cgroup of its own; limits without a cgroup are an error, and so is a
//! linux.cgroupsPath that cannot be made. Device rules need privileges that an
//! unprivileged user never has (v1 devices files, v2 BPF programs): they are not applied
//! (runc ignores them); the container's devices are bind mounts of the host's anyway,
//! which it can open only as far as the user could. runc is silent about both, so berth
//! says so only with --debug: a manager (podman) takes a runtime's first stderr line as the
//! reason a command failed, and a notice there would hide the real error.

use anyhow::{bail, Result};
use oci_spec::runtime::{Linux, LinuxResources};

use super::Cgroup;

/// `create` for an unprivileged berth: the cgroup, or None when it is not delegated and
/// the config asks for no limits.
pub fn create_rootless(
    linux: Option<&Linux>,
    id: &str,
    record: &dyn Fn(&Cgroup) -> Result<()>,
) -> Result<Option<Cgroup>> {
    let err = match super::create_with(linux, id, true, record) {
        Ok(cg) => return Ok(Some(cg)),
        Err(e) if permission_denied(&e) => e,
        Err(e) => return Err(e),
    };
    let uid = nix::unistd::geteuid();
    if linux
        .and_then(|l| l.cgroups_path().as_deref())
        .is_some_and(|p| !p.as_os_str().is_empty())
    {
        bail!("linux.cgroupsPath: berth runs unprivileged (uid {uid}) and cannot make this cgroup (not delegated to the user?): {err:#}");
    }
    if let Some(field) = limits_asked(linux.and_then(|l| l.resources().as_ref())) {
        bail!("{field}: cannot apply the limit: berth runs unprivileged (uid {uid}) and cannot create the container's cgroup (delegate a cgroup to the user, or drop the limits): {err:#}");
    }
    crate::logging::debug(&format!(
        "berth runs unprivileged (uid {uid}) and the cgroup hierarchy is not delegated to it: the container runs without a cgroup of its own ({err:#})"
    ));
    Ok(None)
}

/// Device rules that could not be applied (see the module doc).
pub fn devices_not_applied(err: &anyhow::Error) {
    crate::logging::debug(&format!(
        "linux.resources.devices: not applied, berth runs unprivileged: {err:#}"
    ));
}

/// The first linux.resources field that asks for a limit (devices aside: see the module doc).
fn limits_asked(r: Option<&LinuxResources>) -> Option<String> {
    let v = serde_json::to_value(r?).ok()?;
    v.as_object()?
        .iter()
        .find(|(k, v)| {
            k.as_str() != "devices"
                && !v.is_null()
                && v.as_array().is_none_or(|a| !a.is_empty())
                && v.as_object().is_none_or(|o| !o.is_empty())
        })
        .map(|(k, _)| format!("linux.resources.{k}"))
}

/// Whether making the cgroup failed for want of permission (rather than, say, a bad value).
fn permission_denied(e: &anyhow::Error) -> bool {
    use nix::errno::Errno;
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .and_then(|io| io.raw_os_error())
            .map(Errno::from_raw)
            .is_some_and(|n| matches!(n, Errno::EACCES | Errno::EPERM | Errno::EROFS))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn which_fields_are_limits() {
        assert_eq!(limits_asked(None), None);
        assert_eq!(limits_asked(Some(&res("{}"))), None);
        assert_eq!(
            limits_asked(Some(&res(
                r#"{"devices":[{"allow":false,"access":"rwm"}],"hugepageLimits":[]}"#
            ))),
            None
        );
        assert_eq!(
            limits_asked(Some(&res(r#"{"memory":{"limit":1048576}}"#))).as_deref(),
            Some("linux.resources.memory")
        );
        assert_eq!(
            limits_asked(Some(&res(r#"{"pids":{"limit":10}}"#))).as_deref(),
            Some("linux.resources.pids")
        );
    }

    #[test]
    fn permission_errors_are_found_in_the_chain() {
        let io = std::io::Error::from_raw_os_error(libc::EACCES);
        let e = anyhow::Error::new(io).context("creating cgroup /x");
        assert!(permission_denied(&e));
        let io = std::io::Error::from_raw_os_error(libc::EINVAL);
        assert!(!permission_denied(&anyhow::Error::new(io)));
        assert!(!permission_denied(&anyhow::anyhow!("Permission denied")));
    }
}
