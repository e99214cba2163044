//! `process.rlimits`: resource limits set with setrlimit(2) in the container's init, while
//! it is still root in the container (raising a hard limit needs CAP_SYS_RESOURCE).

use anyhow::{bail, Context as _, Result};
use nix::sys::resource::Resource;
use oci_spec::runtime::{PosixRlimit, PosixRlimitType};

fn resource(t: PosixRlimitType) -> Resource {
    match t {
        PosixRlimitType::RlimitCpu => Resource::RLIMIT_CPU,
        PosixRlimitType::RlimitFsize => Resource::RLIMIT_FSIZE,
        PosixRlimitType::RlimitData => Resource::RLIMIT_DATA,
        PosixRlimitType::RlimitStack => Resource::RLIMIT_STACK,
        PosixRlimitType::RlimitCore => Resource::RLIMIT_CORE,
        PosixRlimitType::RlimitRss => Resource::RLIMIT_RSS,
        PosixRlimitType::RlimitNproc => Resource::RLIMIT_NPROC,
        PosixRlimitType::RlimitNofile => Resource::RLIMIT_NOFILE,
        PosixRlimitType::RlimitMemlock => Resource::RLIMIT_MEMLOCK,
        PosixRlimitType::RlimitAs => Resource::RLIMIT_AS,
        PosixRlimitType::RlimitLocks => Resource::RLIMIT_LOCKS,
        PosixRlimitType::RlimitSigpending => Resource::RLIMIT_SIGPENDING,
        PosixRlimitType::RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
        PosixRlimitType::RlimitNice => Resource::RLIMIT_NICE,
        PosixRlimitType::RlimitRtprio => Resource::RLIMIT_RTPRIO,
        PosixRlimitType::RlimitRttime => Resource::RLIMIT_RTTIME,
    }
}

/// Config validation: the spec requires an error for a type given twice; a soft limit above
/// the hard limit can never be set.
pub fn validate(rlimits: &[PosixRlimit]) -> Result<()> {
    for (i, r) in rlimits.iter().enumerate() {
        if rlimits[..i].iter().any(|o| o.typ() == r.typ()) {
            bail!("process.rlimits[{i}]: {} is given more than once", r.typ());
        }
        if r.soft() > r.hard() {
            bail!(
                "process.rlimits[{i}]: {}: soft limit {} is above the hard limit {}",
                r.typ(),
                r.soft(),
                r.hard()
            );
        }
    }
    Ok(())
}

/// Sets every limit on this process; the container process inherits them across execve.
pub fn apply(rlimits: &[PosixRlimit]) -> Result<()> {
    for r in rlimits {
        if let Err(e) = nix::sys::resource::setrlimit(resource(r.typ()), r.soft(), r.hard()) {
            let hint = if e == nix::errno::Errno::EPERM {
                " (raising a hard limit needs CAP_SYS_RESOURCE; RLIMIT_NOFILE is also capped by /proc/sys/fs/nr_open)"
            } else {
                ""
            };
            return Err(e).with_context(|| {
                format!(
                    "process.rlimits: setting {} to soft {} hard {}{hint}",
                    r.typ(),
                    r.soft(),
                    r.hard()
                )
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::test_child;

    fn rlimits(json: serde_json::Value) -> Vec<PosixRlimit> {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn every_type_maps_to_its_kernel_resource() {
        let all = rlimits(serde_json::json!([
            {"type": "RLIMIT_CPU", "soft": 1, "hard": 1},
            {"type": "RLIMIT_NOFILE", "soft": 1, "hard": 1},
            {"type": "RLIMIT_RTTIME", "soft": 1, "hard": 1}
        ]));
        assert_eq!(resource(all[0].typ()), Resource::RLIMIT_CPU);
        assert_eq!(resource(all[1].typ()), Resource::RLIMIT_NOFILE);
        assert_eq!(resource(all[2].typ()), Resource::RLIMIT_RTTIME);
        assert_eq!(all[2].typ().to_string(), "RLIMIT_RTTIME");
    }

    #[test]
    fn validate_rejects_duplicates_and_soft_above_hard() {
        let dup = rlimits(serde_json::json!([
            {"type": "RLIMIT_NOFILE", "soft": 1, "hard": 2},
            {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
            {"type": "RLIMIT_NOFILE", "soft": 1, "hard": 2}
        ]));
        assert_eq!(
            validate(&dup).unwrap_err().to_string(),
            "process.rlimits[2]: RLIMIT_NOFILE is given more than once"
        );
        let inverted = rlimits(serde_json::json!([{"type": "RLIMIT_CORE", "soft": 5, "hard": 4}]));
        assert_eq!(
            validate(&inverted).unwrap_err().to_string(),
            "process.rlimits[0]: RLIMIT_CORE: soft limit 5 is above the hard limit 4"
        );
        let infinite = rlimits(serde_json::json!([
            {"type": "RLIMIT_CORE", "soft": 0, "hard": u64::MAX}
        ]));
        validate(&infinite).unwrap();
    }

    #[test]
    fn apply_sets_and_reads_back() {
        test_child::run(|| {
            // Lowering only (the hard NPROC limit is kept), so the test also holds where
            // CAP_SYS_RESOURCE is missing, as on this VM.
            let (_, nproc_hard) = nix::sys::resource::getrlimit(Resource::RLIMIT_NPROC)?;
            let want = rlimits(serde_json::json!([
                {"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000},
                {"type": "RLIMIT_CORE", "soft": 0, "hard": 4096},
                {"type": "RLIMIT_NPROC", "soft": 300, "hard": nproc_hard}
            ]));
            apply(&want)?;
            for r in &want {
                let got = nix::sys::resource::getrlimit(resource(r.typ()))?;
                anyhow::ensure!(got == (r.soft(), r.hard()), "{}: got {got:?}", r.typ());
            }
            Ok(())
        });
    }

    #[test]
    fn apply_names_the_failing_type() {
        test_child::run(|| {
            nix::sys::resource::setrlimit(Resource::RLIMIT_CORE, 0, 10)?;
            // Raising the hard limit again needs CAP_SYS_RESOURCE; drop it to be sure.
            caps::drop(
                None,
                caps::CapSet::Effective,
                caps::Capability::CAP_SYS_RESOURCE,
            )?;
            let r = rlimits(serde_json::json!([{"type": "RLIMIT_CORE", "soft": 0, "hard": 20}]));
            let err = format!("{:#}", apply(&r).unwrap_err());
            anyhow::ensure!(
                err.starts_with("process.rlimits: setting RLIMIT_CORE to soft 0 hard 20 (raising a hard limit needs CAP_SYS_RESOURCE"),
                "unexpected error: {err}"
            );
            Ok(())
        });
    }
}
