//! berth's intended differences from runc: where berth is stricter for safety or follows
//! the spec where no caller depends on runc's looseness. Every compat test that sees berth
//! and runc differ on purpose names its row here (`intended`), so the list stays complete.

pub struct Difference {
    /// The case, as the test that meets it names it.
    pub case: &'static str,
    pub berth: &'static str,
    pub runc: &'static str,
    pub reason: &'static str,
}

pub const INTENDED: &[Difference] = &[
    Difference {
        case: "kill --all signals every process",
        berth: "kill --all signals every process in the container's cgroup, running or stopped",
        runc: "1.5.1 signals init only (--all is hidden as obsolete, it only turns 'container not running' into success); 1.1.5 signals every process",
        reason: "podman 4 and containerd 1.6 stop a container without its own pid namespace with kill --all and expect every process signalled (runc 1.1's meaning)",
    },
    Difference {
        case: "start with a failing startContainer hook",
        berth: "start exits 1 with the hook's error, once the container is stopped",
        runc: "start exits 0; init prints the hook's error and exits",
        reason: "the spec: a failing startContainer hook must generate an error; a manager must not take the container for started",
    },
];

/// The row for `case`; a test that meets an unlisted difference fails here.
#[track_caller]
pub fn intended(case: &str) -> &'static Difference {
    INTENDED
        .iter()
        .find(|d| d.case == case)
        .unwrap_or_else(|| panic!("{case}: not an intended difference (compat/differences.rs)"))
}

#[test]
fn every_difference_has_a_reason() {
    for d in INTENDED {
        assert!(
            !d.reason.is_empty() && !d.berth.is_empty() && !d.runc.is_empty(),
            "{}: a difference needs what each does and why",
            d.case
        );
    }
    let mut cases: Vec<_> = INTENDED.iter().map(|d| d.case).collect();
    cases.sort();
    cases.dedup();
    assert_eq!(cases.len(), INTENDED.len(), "a case is listed twice");
}
