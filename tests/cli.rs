//! CLI tests: berth's command line without containers (no root needed).

use std::process::Command;

const BERTH: &str = env!("CARGO_BIN_EXE_berth");

fn berth(args: &[&str]) -> std::process::Output {
    Command::new(BERTH).args(args).output().unwrap()
}

/// The message of berth's error line (`time="…" level=error msg="…"`), unquoted.
fn error_msg(out: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.contains(" level=error msg="))
        .unwrap_or_else(|| panic!("no error line: {err}"));
    let m = line.split_once(" msg=").unwrap().1;
    serde_json::from_str(m).unwrap_or_else(|_| m.to_string())
}

#[test]
fn help_lists_the_commands() {
    let out = berth(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in [
        "create", "start", "state", "kill", "delete", "run", "list", "spec", "features", "pause",
        "resume", "update", "ps", "events",
    ] {
        assert!(text.contains(cmd), "{cmd} missing from --help");
    }
}

#[test]
fn features_is_json_from_the_parser_tables() {
    let out = berth(&["features"]);
    assert!(out.status.success());
    let f: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(f["ociVersionMin"], "1.0.0");
    let ns: Vec<&str> = f["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for n in [
        "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time",
    ] {
        assert!(ns.contains(&n), "{n}");
    }
    let opts: Vec<&str> = f["mountOptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for o in [
        "rbind",
        "ro",
        "nosuid",
        "rro",
        "rnosymfollow",
        "tmpcopyup",
        "rslave",
    ] {
        assert!(opts.contains(&o), "{o}");
    }
    let caps = f["linux"]["capabilities"].as_array().unwrap();
    assert!(caps.iter().any(|c| c == "CAP_SYS_ADMIN"));
    assert!(caps.len() >= 38);
}

#[test]
fn spec_writes_a_config_and_refuses_to_overwrite() {
    let dir = std::env::temp_dir().join(format!("berth-spec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = berth(&["spec", "--bundle", dir.to_str().unwrap()]);
    assert!(out.status.success());
    let c: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(c["process"]["args"][0], "sh");
    assert_eq!(c["root"]["path"], "rootfs");
    let again = berth(&["spec", "--bundle", dir.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unknown_flag_is_refused() {
    let out = berth(&["create", "--no-such-flag", "x"]);
    assert!(!out.status.success());
}

#[test]
fn update_has_every_runc_flag_and_checks_values_before_the_container() {
    let out = berth(&["update", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for f in [
        "--resources",
        "--memory",
        "--memory-reservation",
        "--memory-swap",
        "--cpu-period",
        "--cpu-quota",
        "--cpu-share",
        "--cpu-rt-period",
        "--cpu-rt-runtime",
        "--cpuset-cpus",
        "--cpuset-mems",
        "--blkio-weight",
        "--pids-limit",
        "--cpu-burst",
        "--cpu-idle",
    ] {
        assert!(help.contains(f), "{f} missing from update --help");
    }
    // Values are parsed before the container is looked up.
    let root = std::env::temp_dir().join(format!("berth-cli-{}", std::process::id()));
    let root = root.to_str().unwrap();
    for (args, needle) in [
        (vec!["update", "--memory", "lots", "x"], "--memory \"lots\""),
        (
            vec!["update", "--cpu-period", "5x", "x"],
            "--cpu-period \"5x\"",
        ),
        (
            vec!["update", "-r", "/nonexistent/r.json", "x"],
            "-r /nonexistent/r.json",
        ),
    ] {
        let out = berth(&[&["--root", root][..], &args].concat());
        assert!(!out.status.success(), "{args:?}");
        let err = error_msg(&out);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    // A negative quota reaches the container lookup: the flag itself parses.
    let out = berth(&["--root", root, "update", "--cpu-quota", "-1", "x"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

#[test]
fn ps_and_events_arguments() {
    // ps: arguments after the id belong to ps(1), even ones that look like berth's flags.
    let out = berth(&["ps", "-f", "yaml", "x"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("yaml"));
    let out = berth(&[
        "--root",
        "/nonexistent-berth-root",
        "ps",
        "x",
        "-ef",
        "--forest",
    ]);
    assert!(error_msg(&out).contains("\"x\" does not exist"));
    let out = berth(&["ps"]);
    assert!(!out.status.success());
    // events: Go-style durations, greater than zero.
    for (interval, needle) in [
        ("0s", "greater than 0"),
        ("5x", "unknown unit"),
        ("5", "missing unit"),
    ] {
        let out = berth(&["events", "--interval", interval, "x"]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{interval}: {err}");
    }
    let out = berth(&[
        "--root",
        "/nonexistent-berth-root",
        "events",
        "--interval",
        "1m30s",
        "x",
    ]);
    assert!(error_msg(&out).contains("\"x\" does not exist"));
}

#[test]
fn version_prints_runcs_lines() {
    for flag in ["-v", "--version"] {
        let out = berth(&[flag]);
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        let keys: Vec<&str> = text
            .lines()
            .skip(1)
            .map(|l| l.split_once(": ").unwrap().0)
            .collect();
        assert!(text.starts_with("berth version "), "{text}");
        assert_eq!(keys, ["commit", "spec", "rustc", "seccompiler"], "{text}");
        assert!(text.contains("\nspec: 1.3.0\n"), "{text}");
    }
}

#[test]
fn spec_seccomp_flag() {
    let dir = std::env::temp_dir().join(format!("berth-spec-seccomp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.to_str().unwrap();
    let out = berth(&["spec", "--seccomp", "bogus", "--bundle", d]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--seccomp"));
    assert!(!dir.join("config.json").exists());
    let out = berth(&["spec", "--seccomp", "default", "--bundle", d]);
    assert!(out.status.success());
    let c: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(c["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(c["hostname"], "runc");
    std::fs::remove_file(dir.join("config.json")).unwrap();
    assert!(berth(&["spec", "--bundle", d]).status.success());
    let c: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    assert!(c["linux"].get("seccomp").is_none(), "{c}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// CRIU restores tasks into cgroups it makes, which no systemd unit holds: refused, naming
/// the flag, before anything is made.
#[test]
fn restore_into_a_systemd_unit_is_refused() {
    let root = std::env::temp_dir().join(format!("berth-cli-sdrestore-{}", std::process::id()));
    let out = berth(&[
        "--root",
        root.to_str().unwrap(),
        "--systemd-cgroup",
        "restore",
        "--image-path",
        "/nonexistent",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("restore --systemd-cgroup: restoring into a systemd unit is not supported"),
        "{err}"
    );
    assert!(!root.join("x").exists());
    let _ = std::fs::remove_dir_all(&root);
}
