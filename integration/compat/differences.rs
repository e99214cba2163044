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

pub const INTENDED: &[Difference] = &[Difference {
    case: "seccomp profile denying getcwd",
    berth: "checks process.cwd before loading a filter (noNewPrivileges false) and runs the process",
    runc: "checks it with getcwd after loading the filter and fails: getwd: operation not permitted",
    reason: "nothing a runtime does after loading the container's filter may depend on the profile; crun runs it too",
}];

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
