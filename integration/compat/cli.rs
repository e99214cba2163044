//! The command line and what it prints, compared with runc 1.5.1: `spec`, `--version`,
//! help and usage exit codes, repeated flags, exec's failure codes, and the log lines
//! (`--log-format`, `--log`, `--debug`).

use super::{assert_same_code, differences, runc, Outcome, Pair, Shape};
use crate::common::{base_config, unique, Bundle, Root};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

/// A fresh directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(unique(tag));
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `spec` and `spec --rootless` write runc's template byte for byte (same JSON value, same
/// key order, same layout); `--seccomp default` adds berth's profile and nothing else.
#[test]
fn spec_is_runcs_template() {
    let pair = Pair::new();
    for extra in [&[][..], &["--rootless"][..]] {
        let (b, r) = pair.both(|root, _| {
            let dir = TempDir::new("spec");
            let mut args = vec!["spec", "--bundle", dir.path()];
            args.extend(extra);
            root.ok(&args);
            std::fs::read_to_string(dir.0.join("config.json")).unwrap()
        });
        let (bv, rv): (Value, Value) = (
            serde_json::from_str(&b).unwrap(),
            serde_json::from_str(&r).unwrap(),
        );
        assert_eq!(bv, rv, "spec {extra:?}: values differ");
        assert_eq!(
            Shape::parse(&b),
            Shape::parse(&r),
            "spec {extra:?}: key order"
        );
        assert_eq!(b, r, "spec {extra:?}: layout differs");
    }
    let dir = TempDir::new("spec-seccomp");
    pair.berth
        .ok(&["spec", "--seccomp", "default", "--bundle", dir.path()]);
    let mut with: Value =
        serde_json::from_slice(&std::fs::read(dir.0.join("config.json")).unwrap()).unwrap();
    let profile = with["linux"]
        .as_object_mut()
        .unwrap()
        .remove("seccomp")
        .expect("--seccomp default adds linux.seccomp");
    assert_eq!(profile["defaultAction"], "SCMP_ACT_ERRNO", "{profile}");
    assert!(!profile["syscalls"].as_array().unwrap().is_empty());
    let dir2 = TempDir::new("spec-plain");
    pair.runc.ok(&["spec", "--bundle", dir2.path()]);
    let plain: Value =
        serde_json::from_slice(&std::fs::read(dir2.0.join("config.json")).unwrap()).unwrap();
    assert_eq!(with, plain);
    // Neither overwrites a config.
    let (b, r) = (
        Outcome::of(&pair.berth, &["spec", "--bundle", dir.path()]),
        Outcome::of(&pair.runc, &["spec", "--bundle", dir2.path()]),
    );
    assert_same_code("spec over a config", &b, &r);
    assert_eq!(b.code, 1);
}

/// `-v` and `--version`: runc's lines in the same order, `NAME version X` then `key: value`
/// (commit, spec with the same spec version; then the compiler and the seccomp library,
/// where berth names its own, an intended difference).
#[test]
fn version_shape() {
    let pair = Pair::new();
    let diff = differences::intended("version: compiler and seccomp lines");
    for flag in ["-v", "--version"] {
        let (b, r) = (
            Outcome::of(&pair.berth, &[flag]),
            Outcome::of(&pair.runc, &[flag]),
        );
        assert_same_code(flag, &b, &r);
        assert_eq!(b.code, 0);
        let lines = |o: &Outcome| -> Vec<(String, String)> {
            let mut it = o.stdout.lines();
            let first = it.next().unwrap_or_default();
            let (name, version) = first
                .split_once(" version ")
                .unwrap_or_else(|| panic!("{o:?}"));
            let mut v = vec![(name.to_string(), version.to_string())];
            for l in it {
                let (k, val) = l
                    .split_once(": ")
                    .unwrap_or_else(|| panic!("{l:?} in {o:?}"));
                v.push((k.to_string(), val.to_string()));
            }
            v
        };
        let (bl, rl) = (lines(&b), lines(&r));
        assert_eq!(bl[0].0, "berth");
        assert_eq!(rl[0].0, "runc");
        assert_eq!(bl.len(), rl.len(), "{b:?}\n{r:?}");
        assert_eq!(bl[1].0, "commit");
        assert_eq!(rl[1].0, "commit");
        assert_eq!(bl[2], rl[2], "the spec version");
        let keys = |l: &[(String, String)]| l[3..].iter().map(|x| x.0.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&rl), ["go", "libseccomp"], "{}", diff.runc);
        assert_eq!(keys(&bl), ["rustc", "seccompiler"], "{}", diff.berth);
        assert!(bl.iter().all(|(_, v)| !v.is_empty()), "{b:?}");
    }
}

/// Help succeeds (with no command too); an unknown command exits 3, any other usage error 1.
#[test]
fn help_and_usage_exit_codes() {
    let pair = Pair::new();
    for (args, code) in [
        (&[][..], 0),
        (&["help"][..], 0),
        (&["--help"][..], 0),
        (&["-h"][..], 0),
        (&["help", "list"][..], 0),
        (&["help", "exec"][..], 0),
        (&["list", "--help"][..], 0),
        (&["help", "nosuch"][..], 3),
        (&["nosuch"][..], 3),
        (&["list", "--nosuch"][..], 1),
        (&["--nosuch", "list"][..], 1),
        (&["state"][..], 1),
    ] {
        let (b, r) = (
            Outcome::of(&pair.berth, args),
            Outcome::of(&pair.runc, args),
        );
        assert_same_code(&format!("{args:?}"), &b, &r);
        assert_eq!(b.code, code, "{args:?}: {b:?}");
        if code == 0 {
            assert!(
                b.stdout.contains("Usage") || b.stdout.contains("USAGE"),
                "{b:?}"
            );
        } else if args[0] != "--nosuch" {
            // A usage error is a log line like any other: json with --log-format json
            // (runc applies it only once the global flags parse).
            let json: Vec<&str> = ["--log-format", "json"]
                .into_iter()
                .chain(args.iter().copied())
                .collect();
            let (b, r) = (
                Outcome::of(&pair.berth, &json),
                Outcome::of(&pair.runc, &json),
            );
            assert_same_code(&format!("{json:?}"), &b, &r);
            for o in [&b, &r] {
                let lines: Vec<_> = o.stderr.lines().map(json_line).collect();
                assert_eq!(lines.len(), 1, "{json:?}: {o:?}");
                assert_eq!(lines[0].1, "error", "{o:?}");
            }
        }
    }
}

/// Flags given twice, as podman 4.3 passes `--force` to delete: both runtimes accept them
/// and act on them.
#[test]
fn repeated_flags_are_accepted() {
    let pair = Pair::new();
    let bundle = Bundle::new(&base_config(&["/bin/sleep", "100"]));
    let dir = bundle.dir.to_str().unwrap();
    let (b, r) = pair.both(|root, id| {
        root.ok(&["create", "--bundle", dir, "--no-pivot", "--no-pivot", id]);
        let quiet = Outcome::of(root, &["--debug", "--debug", "list", "--quiet", "--quiet"]);
        let mixed = Outcome::of(root, &["list", "-q", "--quiet"]);
        let kill = Outcome::of(root, &["kill", "--all", "--all", id, "KILL"]);
        let delete = Outcome::of(root, &["delete", "--force", "--force", id]);
        let gone = Outcome::of(root, &["state", id]);
        (quiet, kill, delete, gone, id.to_string(), mixed)
    });
    let diff = differences::intended("a flag's short and long forms together");
    assert_eq!(b.5.code, 0, "{}: {:?}", diff.berth, b.5);
    assert_eq!(r.5.code, 1, "{}: {:?}", diff.runc, r.5);
    assert!(
        r.5.stderr.contains("Cannot use two forms of the same flag"),
        "{:?}",
        r.5
    );
    let ((bq, bk, bd, bg, bid, _), (rq, rk, rd, rg, rid, _)) = (b, r);
    assert_same_code("list -q -q", &bq, &rq);
    assert_eq!(bq.code, 0);
    assert_eq!(bq.stdout.trim(), bid, "{bq:?}");
    assert_eq!(rq.stdout.trim(), rid, "{rq:?}");
    assert_same_code("kill --all --all", &bk, &rk);
    assert_eq!(bk.code, 0, "{bk:?}");
    assert_same_code("delete --force --force", &bd, &rd);
    assert_eq!(bd.code, 0, "{bd:?}");
    assert_same_code("state after delete", &bg, &rg);
    assert_eq!(bg.code, 1, "deleted: {bg:?}");
}

/// exec exits 255 when it cannot start the process (missing container, stopped container,
/// missing executable, no command), and with the process's status otherwise.
#[test]
fn exec_failure_exit_codes() {
    let pair = Pair::new();
    let bundle = Bundle::new(&base_config(&["/bin/sleep", "100"]));
    let dir = bundle.dir.to_str().unwrap();
    let (b, r) = pair.both(|root, id| {
        root.ok(&["run", "-d", "--bundle", dir, id]);
        let mut seen = vec![
            (
                "exit 7",
                Outcome::of(root, &["exec", id, "sh", "-c", "exit 7"]),
            ),
            (
                "missing executable",
                Outcome::of(root, &["exec", id, "/nonexistent"]),
            ),
            ("no command", Outcome::of(root, &["exec", id])),
            (
                "missing container",
                Outcome::of(root, &["exec", &unique("nosuch"), "true"]),
            ),
        ];
        root.ok(&["kill", id, "KILL"]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while root.state(id)["status"] != "stopped" {
            assert!(std::time::Instant::now() < deadline, "{id} did not stop");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        seen.push((
            "stopped container",
            Outcome::of(root, &["exec", id, "true"]),
        ));
        root.ok(&["delete", id]);
        seen
    });
    for ((what, bo), (_, ro)) in b.iter().zip(&r) {
        assert_same_code(what, bo, ro);
        let want = if *what == "exit 7" { 7 } else { 255 };
        assert_eq!(bo.code, want, "{what}: {bo:?}");
    }
}

/// A runtime's invocation with the log flags, in a fresh root: (outcome, the log file's text).
fn logged(bin: &std::path::Path, flags: &[&str], args: &[&str]) -> (Outcome, String) {
    let root = TempDir::new("logroot");
    let log = root.0.join("log");
    let mut cmd = Command::new(bin);
    cmd.arg("--root").arg(&root.0);
    for f in flags {
        cmd.arg(f.replace("{log}", log.to_str().unwrap()));
    }
    cmd.args(args);
    let out = Outcome::from_cmd(&mut cmd);
    (out, std::fs::read_to_string(&log).unwrap_or_default())
}

/// RFC 3339 in whole seconds (logrus's default timestamp, Go's time.RFC3339).
fn is_rfc3339_secs(t: &str) -> bool {
    let b = t.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && (&t[19..] == "Z" || (t.len() == 25 && (b[19] == b'+' || b[19] == b'-')))
}

/// A json log line's shape and its level and time.
fn json_line(l: &str) -> (Shape, String, String) {
    let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}"));
    let time = v["time"].as_str().unwrap_or_default().to_string();
    assert!(is_rfc3339_secs(&time), "time {time:?} in {l}");
    (
        Shape::parse(l),
        v["level"].as_str().unwrap_or_default().to_string(),
        time,
    )
}

/// A text log line's keys in order (`time="…" level=… msg=…`).
fn text_keys(l: &str) -> Vec<String> {
    let rest = l
        .strip_prefix("time=\"")
        .unwrap_or_else(|| panic!("not a log line: {l:?}"));
    let (time, rest) = rest.split_once('"').unwrap();
    assert!(is_rfc3339_secs(time), "time {time:?} in {l}");
    let (level, rest) = rest
        .strip_prefix(" level=")
        .unwrap()
        .split_once(' ')
        .unwrap();
    assert!(
        ["error", "warning", "info", "debug"].contains(&level),
        "{l}"
    );
    assert!(rest.starts_with("msg="), "{l}");
    vec!["time".into(), "level".into(), "msg".into()]
}

/// The error of a failing command, under each log setting: json lines on stderr without
/// --log; with --log, the lines in the file and the plain message on stderr; text lines in
/// logrus's shape. Same keys, order, time format and level as runc's.
#[test]
fn log_line_shapes() {
    let berth = super::berth();
    let runc = runc();
    let args = ["state", "nosuch"];
    // --log-format json, no --log: json lines on stderr.
    let (b, _) = logged(berth, &["--log-format", "json"], &args);
    let (r, _) = logged(&runc, &["--log-format", "json"], &args);
    assert_same_code("json to stderr", &b, &r);
    let (bl, rl): (Vec<_>, Vec<_>) = (
        b.stderr.lines().map(json_line).collect(),
        r.stderr.lines().map(json_line).collect(),
    );
    assert_eq!(bl.len(), 1, "{b:?}");
    assert_eq!(rl.len(), 1, "{r:?}");
    assert_eq!(bl[0].0, rl[0].0, "json line shape\n{b:?}\n{r:?}");
    assert_eq!(bl[0].1, "error");
    assert_eq!(bl[0].0.keys(), ["level", "msg", "time"]);
    // --log FILE --log-format json (containerd's shim, podman's conmon): the file holds the
    // json line; stderr the plain message.
    let flags = ["--log", "{log}", "--log-format", "json"];
    let (b, bf) = logged(berth, &flags, &args);
    let (r, rf) = logged(&runc, &flags, &args);
    assert_same_code("json to a file", &b, &r);
    let (bl, rl): (Vec<_>, Vec<_>) = (
        bf.lines().map(json_line).collect(),
        rf.lines().map(json_line).collect(),
    );
    assert_eq!(bl.len(), 1, "{bf:?}");
    assert_eq!(rl.len(), 1, "{rf:?}");
    assert_eq!(bl[0].0, rl[0].0);
    for (o, name) in [(&b, "berth"), (&r, "runc")] {
        assert_eq!(o.stderr.lines().count(), 1, "{name}: {o:?}");
        assert!(
            !o.stderr.starts_with('{') && !o.stderr.starts_with("time="),
            "{name}: {o:?}"
        );
        assert!(o.stderr.contains("does not exist"), "{name}: {o:?}");
    }
    // A log file that cannot be opened: the command does not run; the error on stderr.
    let flags = [
        "--log",
        "/nonexistent-berth-dir/log",
        "--log-format",
        "json",
    ];
    let list = ["list", "-q"];
    let (b, _) = logged(berth, &flags, &list);
    let (r, _) = logged(&runc, &flags, &list);
    assert_same_code("unopenable --log", &b, &r);
    assert_eq!(b.code, 1, "{b:?}");
    for o in [&b, &r] {
        let lines: Vec<_> = o.stderr.lines().map(json_line).collect();
        assert_eq!(lines.len(), 1, "{o:?}");
        assert!(o.error().contains("/nonexistent-berth-dir/log"), "{o:?}");
    }
    // Text, with and without --log.
    for flags in [&[][..], &["--log", "{log}"][..]] {
        let (b, bf) = logged(berth, flags, &args);
        let (r, rf) = logged(&runc, flags, &args);
        assert_same_code("text", &b, &r);
        let (bt, rt) = if flags.is_empty() {
            (b.stderr.clone(), r.stderr.clone())
        } else {
            (bf, rf)
        };
        let (bk, rk): (Vec<_>, Vec<_>) = (
            bt.lines().map(text_keys).collect(),
            rt.lines().map(text_keys).collect(),
        );
        assert_eq!(bk, rk, "{flags:?}\nberth: {bt}\nrunc: {rt}");
        assert_eq!(bk.len(), 1);
        assert!(bt.contains(" level=error msg="), "{bt}");
    }
}

/// --debug writes debug lines in the chosen format for every command, exec included, where
/// runc writes them too; runc's also carry Go source locations (`file`, `func`), an intended
/// difference.
#[test]
fn debug_lines_in_the_chosen_format() {
    let diff = differences::intended("debug log lines: file and func");
    let pair = Pair::new();
    let bundle = Bundle::new(&base_config(&["/bin/sleep", "100"]));
    let dir = bundle.dir.to_str().unwrap();
    let (b, r) = pair.both(|root: &Root, id| {
        root.ok(&["run", "-d", "--bundle", dir, id]);
        let json = Outcome::of(
            root,
            &["--debug", "--log-format", "json", "exec", id, "true"],
        );
        let text = Outcome::of(root, &["--debug", "exec", id, "true"]);
        root.ok(&["delete", "--force", id]);
        (json, text)
    });
    for ((json, text), name) in [(&b.0, &b.1), (&r.0, &r.1)]
        .into_iter()
        .zip(["berth", "runc"])
    {
        assert_eq!(json.code, 0, "{name}: {json:?}");
        let lines: Vec<_> = json.stderr.lines().map(json_line).collect();
        assert!(lines.iter().any(|l| l.1 == "debug"), "{name}: {json:?}");
        for (shape, _, _) in &lines {
            // logrus sorts the keys; runc adds fields to some lines (pid, status) and the
            // source location to most.
            let keys = shape.keys();
            let mut sorted = keys.clone();
            sorted.sort();
            assert_eq!(keys, sorted, "{name}: {json:?}");
            let base: Vec<&str> = keys
                .iter()
                .copied()
                .filter(|k| ["level", "msg", "time"].contains(k))
                .collect();
            assert_eq!(base, ["level", "msg", "time"], "{name}: {json:?}");
            if name == "berth" {
                assert_eq!(keys, base, "{}", diff.berth);
            }
        }
        assert_eq!(text.code, 0, "{name}: {text:?}");
        let debug: Vec<&str> = text
            .stderr
            .lines()
            .filter(|l| l.contains(" level=debug "))
            .collect();
        assert!(!debug.is_empty(), "{name}: {text:?}");
        for l in text.stderr.lines() {
            text_keys(l);
        }
    }
    // Without --debug, a successful exec prints nothing.
    let root = Root::new();
    let id = unique("nodebug");
    root.ok(&["run", "-d", "--bundle", dir, &id]);
    let quiet = Outcome::of(&root, &["exec", &id, "true"]);
    root.ok(&["delete", "--force", &id]);
    assert_eq!((quiet.code, quiet.stderr.as_str()), (0, ""), "{quiet:?}");
}

/// Each object's keys in document order, by path (`.linux.seccomp`), for a JSON text.
fn key_orders(text: &str) -> Vec<(String, Vec<String>)> {
    fn walk(path: &str, s: &Shape, out: &mut Vec<(String, Vec<String>)>) {
        if let Shape::Object(kv) = s {
            out.push((
                path.to_string(),
                kv.iter().map(|(k, _)| k.clone()).collect(),
            ));
            for (k, v) in kv {
                walk(&format!("{path}.{k}"), v, out);
            }
        }
    }
    let mut out = Vec::new();
    walk("", &Shape::parse(text), &mut out);
    out
}

/// `features` prints its keys in runc's order, at every level, with runc's indentation;
/// what berth leaves out is what it does not support, and its annotations name berth.
#[test]
fn features_key_order() {
    let pair = Pair::new();
    let (b, r) = (pair.berth.ok(&["features"]), pair.runc.ok(&["features"]));
    let runc_orders: std::collections::HashMap<_, _> = key_orders(&r).into_iter().collect();
    for (path, keys) in key_orders(&b) {
        if path == ".annotations" {
            continue;
        }
        let theirs = runc_orders
            .get(&path)
            .unwrap_or_else(|| panic!("{path}: not in runc's features\n{r}"));
        let common: Vec<&String> = theirs.iter().filter(|k| keys.contains(k)).collect();
        assert_eq!(
            keys.iter().collect::<Vec<_>>(),
            common,
            "{path}: berth's keys not in runc's order (runc: {theirs:?})"
        );
    }
    // The top level has every one of runc's keys, in runc's order.
    let top = &key_orders(&b)[0].1;
    assert_eq!(
        top,
        &[
            "ociVersionMin",
            "ociVersionMax",
            "hooks",
            "mountOptions",
            "linux",
            "annotations",
            "potentiallyUnsafeConfigAnnotations"
        ]
    );
    let cgroup = key_orders(&b)
        .into_iter()
        .find(|(p, _)| p == ".linux.cgroup")
        .unwrap()
        .1;
    assert_eq!(cgroup, ["v1", "v2", "systemd", "systemdUser", "rdma"]);
    let indent = |s: &str| s.lines().nth(1).map(|l| l.len() - l.trim_start().len());
    assert_eq!(indent(&b), indent(&r), "indentation");
}
