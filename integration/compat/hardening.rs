//! Hardening (issue 12) against runc: ids out of range, too many groups, a config.json that
//! is not a regular file.

use super::*;
use crate::common::*;
use serde_json::json;

fn run_with(pair: &Pair, config: &Value) -> (Outcome, Outcome) {
    let b = Bundle::new(config);
    let dir = b.dir.to_str().unwrap();
    pair.both(|root, id| Outcome::of(root, &["run", "--bundle", dir, id]))
}

/// setresuid(-1) means "unchanged": a uid or gid of 4294967295 must never leave the process
/// root. runc refuses it (an unmapped id); berth refuses it naming the field.
#[test]
fn uid_or_gid_4294967295_is_refused() {
    for field in ["uid", "gid"] {
        let pair = Pair::new();
        let mut c = base_config(&["/bin/sh", "-c", "id -u; id -g"]);
        c["process"]["user"][field] = json!(4294967295u32);
        let (b, r) = run_with(&pair, &c);
        assert_same_code(field, &b, &r);
        assert_eq!(b.code, 1, "{b:?}");
        assert_eq!(b.stdout, "", "{b:?}");
        assert_eq!(
            b.error(),
            format!(
                "config.json: process.user.{field}: 4294967295 is out of range: uids and gids \
                 must be in range 0-2147483647"
            )
        );
        assert!(
            r.error()
                .contains(&format!("cannot set{field} to unmapped {field} 4294967295")),
            "{r:?}"
        );
        assert_eq!(pair.berth.entries(), Vec::<String>::new());
    }
}

/// Above 2147483647 runc 1.1 (what managers were written against) refuses every id in
/// process.user; runc 1.5 lets those that are mapped through.
#[test]
fn ids_above_2147483647_are_refused_as_runc_1_1_does() {
    for (field, value) in [
        ("uid", json!(2147483648u32)),
        ("gid", json!(4294967294u32)),
        ("additionalGids", json!([5, 2147483648u32])),
    ] {
        let pair = Pair {
            berth: Root::new(),
            runc: Root::of(&runc_apt()),
        };
        let mut c = base_config(&["id"]);
        c["process"]["user"][field] = value;
        let (b, r) = run_with(&pair, &c);
        assert_same_code(field, &b, &r);
        assert_eq!(b.code, 1, "{b:?}");
        assert!(
            r.error()
                .ends_with("uids and gids must be in range 0-2147483647"),
            "{r:?}"
        );
        assert!(
            b.error()
                .starts_with(&format!("config.json: process.user.{field}"))
                && b.error()
                    .ends_with("uids and gids must be in range 0-2147483647"),
            "{b:?}"
        );
        let d = differences::intended("ids above 2147483647");
        let (_, r15) = run_with(&Pair::new(), &c);
        assert_eq!(r15.code, 0, "{}: {r15:?}", d.runc);
    }
}

/// More groups than NGROUPS_MAX: runc reports setgroups' EINVAL; berth refuses the config
/// before anything is made, naming the field (its error no longer overflows the sync socket).
#[test]
fn more_additional_gids_than_the_kernel_takes() {
    let pair = Pair::new();
    let mut c = base_config(&["id"]);
    c["process"]["user"]["additionalGids"] = json!((1..=65537).collect::<Vec<u32>>());
    let (b, r) = run_with(&pair, &c);
    assert_same_code("65537 additionalGids", &b, &r);
    assert_eq!(b.code, 1, "{b:?}");
    assert!(r.error().ends_with("setgroups: invalid argument"), "{r:?}");
    assert_eq!(
        b.error(),
        "config.json: process.user.additionalGids: 65537 groups, more than the kernel's limit \
         of 65536"
    );
    assert_eq!(pair.berth.entries(), Vec::<String>::new());
}

/// An empty root.path: runc takes the bundle directory itself as the root filesystem (and
/// so fails to find the program there); berth refuses the config naming the field.
#[test]
fn an_empty_root_path_is_refused() {
    let pair = Pair::new();
    let mut c = base_config(&["true"]);
    c["root"]["path"] = json!("");
    let (b, r) = run_with(&pair, &c);
    let d = differences::intended("empty root.path");
    assert_eq!(b.code, 1, "{b:?}");
    assert_eq!(b.error(), "config.json: root.path: must not be empty");
    assert_eq!(pair.berth.entries(), Vec::<String>::new());
    assert_eq!(r.code, 1, "{}: {r:?}", d.runc);
    assert!(
        r.error()
            .ends_with("exec: \"true\": executable file not found in $PATH"),
        "{}: {r:?}",
        d.runc
    );
}

/// A profile denying execveat: runc execs the process directly (its init runs from a
/// protected copy of runc); berth, which otherwise starts processes through its sealed
/// trampoline with execveat, then runs from a sealed copy of itself: the same result.
#[test]
fn a_profile_denying_execveat() {
    let pair = Pair::new();
    let mut c = base_config(&["/bin/echo", "ran"]);
    c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["execveat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]});
    let (b, r) = run_with(&pair, &c);
    assert_same_code("execveat denied", &b, &r);
    assert_eq!((b.code, b.stdout.as_str()), (0, "ran\n"), "{b:?}");
    assert_eq!(b.stdout, r.stdout);
}

/// `list` with one container whose state is corrupt: the others are listed, and that one
/// is named in a plain warning on stderr, as runc does.
#[test]
fn list_skips_a_corrupt_state_with_a_warning() {
    let pair = Pair::new();
    let (b, r) = pair.both(|root, _| {
        let dir = root.dir.join("broken");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("state.json"), "{\"id\": garbage").unwrap();
        Outcome::of(root, &["list"])
    });
    assert_same_code("list", &b, &r);
    assert_eq!(b.code, 0);
    assert_eq!(b.stdout, r.stdout);
    for o in [&b, &r] {
        let lines: Vec<&str> = o.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{o:?}");
        assert!(lines[0].starts_with("load container broken: "), "{o:?}");
    }
}

/// exec --user 4294967295 never runs the process as root: refused by both, with the same
/// exit code.
#[test]
fn exec_as_uid_4294967295_is_refused() {
    let pair = Pair::new();
    let b = Bundle::new(&base_config(&["sleep", "60"]));
    let dir = b.dir.to_str().unwrap();
    let (be, re) = pair.both(|root, id| {
        root.ok(&["run", "-d", "--bundle", dir, id]);
        let out = Outcome::of(root, &["exec", "--user", "4294967295", id, "id", "-u"]);
        root.ok(&["delete", "--force", id]);
        out
    });
    assert_same_code("exec --user 4294967295", &be, &re);
    assert_ne!(be.code, 0, "{be:?}");
    assert_eq!((be.stdout.as_str(), re.stdout.as_str()), ("", ""));
    assert_eq!(
        be.error(),
        "process.user.uid: 4294967295 is out of range: uids and gids must be in range \
         0-2147483647"
    );
}
