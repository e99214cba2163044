//! Every command that takes a container id, on an id that does not exist: runc's exit code
//! and the words managers match ("does not exist").

use super::Pair;

#[test]
fn missing_container_for_every_command() {
    let pair = Pair::new();
    let cases: &[&[&str]] = &[
        &["start"],
        &["state"],
        &["kill"],
        &["kill", "--all"],
        &["delete"],
        &["pause"],
        &["resume"],
        &["update", "--memory", "1m"],
        &["ps"],
        &["events", "--stats"],
        &["checkpoint"],
    ];
    for args in cases {
        let (b, r) = pair.cmd(
            "nonexistent-b",
            "nonexistent-r",
            &[args, &["{id}"][..]].concat(),
        );
        super::assert_same_code(&format!("{args:?}"), &b, &r);
        assert_eq!(r.code, 1, "{args:?}: runc {r:?}");
        for o in [&b, &r] {
            assert!(o.error().contains("does not exist"), "{args:?}: {o:?}");
        }
        assert!(
            b.stdout.is_empty(),
            "{args:?}: berth printed {:?}",
            b.stdout
        );
    }
}
