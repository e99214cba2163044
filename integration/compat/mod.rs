//! The differential harness: the same bundles and commands under the reference runc 1.5.1
//! (`../shared/reference/runc`), Debian's runc 1.1.5 where managers depend on the older
//! behaviour, and berth; the tests compare exit codes, stdout, the class of the error on
//! stderr, the JSON berth prints (same keys, same order, same types) and the effect inside
//! the container. runc's observable behaviour is the contract: a difference is a bug in
//! berth unless it is listed in `differences::INTENDED` with its reason.
//!
//! Each scenario runs once per runtime, each with its own `--root` and unique ids, so the
//! comparisons run in parallel with everything else and leave nothing behind.

#![allow(dead_code)] // each test module uses a different part of the harness

mod cgroup_commands;
mod cgroups;
mod cli;
mod commands;
mod console_socket;
pub mod differences;
mod exec_inherits;
mod fds;
mod hardening;
mod intel_rdt;
mod lifecycle;
mod manager_mounts;
mod memory_policy;
mod mounts;
mod namespaces;
mod net_devices;
mod output;
mod podman_lifecycle;
mod privilege;
mod process;
mod rootless;
mod rootless_podman;
mod runc15_flags;
mod start;
mod stdio;
mod systemd_driver;
mod threads;

use crate::common::{output_via_files, unique, Bundle, Root, BERTH};
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The reference runtime, beside the repository (`../shared/reference`, see its README).
pub fn runc() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/runc");
    assert!(
        p.exists(),
        "the reference runc 1.5.1 is missing at {} (shared/reference beside the repository)",
        p.display()
    );
    p
}

/// Debian's runc 1.1.5 (apt's `runc`, installed by `make deps`): what podman 4.3,
/// containerd 1.6 and docker 20.10 in Debian were written against.
pub fn runc_apt() -> PathBuf {
    let p = PathBuf::from("/usr/sbin/runc");
    assert!(
        p.exists(),
        "Debian's runc is missing at {} (make deps installs it)",
        p.display()
    );
    p
}

/// One runtime's root for a comparison: berth, and the reference runc.
pub struct Pair {
    pub berth: Root,
    pub runc: Root,
}

impl Pair {
    pub fn new() -> Pair {
        Pair {
            berth: Root::new(),
            runc: Root::of(&runc()),
        }
    }

    /// Both roots, berth first, with the runtime's name for messages.
    pub fn each(&self) -> [(&'static str, &Root); 2] {
        [("berth", &self.berth), ("runc", &self.runc)]
    }

    /// Runs the same scenario under berth, then runc, each with its own unique container id
    /// (ids never collide in the cgroup tree either): (berth's result, runc's result).
    pub fn both<T>(&self, scenario: impl Fn(&Root, &str) -> T) -> (T, T) {
        let b = scenario(&self.berth, &unique("cb"));
        let r = scenario(&self.runc, &unique("cr"));
        (b, r)
    }

    /// The same command under both, `{id}` in `args` replaced by each runtime's id.
    pub fn cmd(&self, id_b: &str, id_r: &str, args: &[&str]) -> (Outcome, Outcome) {
        let with =
            |id: &str| -> Vec<String> { args.iter().map(|a| a.replace("{id}", id)).collect() };
        let b = with(id_b);
        let r = with(id_r);
        let b: Vec<&str> = b.iter().map(String::as_str).collect();
        let r: Vec<&str> = r.iter().map(String::as_str).collect();
        (Outcome::of(&self.berth, &b), Outcome::of(&self.runc, &r))
    }
}

/// What a command did: its exit code, stdout and stderr.
#[derive(Clone)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn of(root: &Root, args: &[&str]) -> Outcome {
        let mut cmd = root.cmd();
        cmd.args(args);
        Outcome::from_cmd(&mut cmd)
    }

    pub fn from_cmd(cmd: &mut Command) -> Outcome {
        let out = output_via_files(cmd);
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The error's words without the runtime's framing: runc writes
    /// `time="…" level=error msg="…"` (logrus), berth `berth: error: …`.
    pub fn error(&self) -> String {
        error_message(&self.stderr)
    }
}

impl fmt::Debug for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "exit {}\n  stdout: {:?}\n  stderr: {:?}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// The message of the last error line on a runtime's stderr (see `Outcome::error`).
pub fn error_message(stderr: &str) -> String {
    let line = stderr
        .lines()
        .rev()
        .find(|l| {
            l.contains("level=error")
                || l.starts_with("berth: error: ")
                || l.contains("\"level\":\"error\"")
        })
        .or_else(|| stderr.lines().rev().find(|l| !l.trim().is_empty()))
        .unwrap_or("");
    if let Some(rest) = line.strip_prefix("berth: error: ") {
        return rest.to_string();
    }
    if line.starts_with('{') {
        if let Ok(v) = serde_json::from_str::<Value>(line) {
            return v["msg"].as_str().unwrap_or_default().to_string();
        }
    }
    if let Some(i) = line.find("msg=") {
        let m = &line[i + 4..];
        if m.starts_with('"') {
            // A Go-quoted string: the escapes a message can hold.
            if let Ok(s) =
                serde_json::from_str::<String>(m.split_once(" level=").map_or(m, |x| x.0))
            {
                return s;
            }
            return m.trim_matches('"').to_string();
        }
        return m.to_string();
    }
    line.to_string()
}

/// Asserts that both runtimes agree on the exit code, and on success or failure.
#[track_caller]
pub fn assert_same_code(what: &str, berth: &Outcome, runc: &Outcome) {
    assert_eq!(
        berth.code, runc.code,
        "{what}: exit codes differ\nberth: {berth:?}\nrunc:  {runc:?}"
    );
}

/// A JSON document's shape: its keys in document order, with each leaf's type (strings,
/// numbers, booleans, null) but not its value, so that two runtimes' output can be compared
/// key for key and in order. serde_json's own map sorts keys, which would hide order.
#[derive(Debug, PartialEq, Eq, Clone)]
pub enum Shape {
    Object(Vec<(String, Shape)>),
    Array(Vec<Shape>),
    String,
    Number,
    Bool,
    Null,
}

impl Shape {
    pub fn parse(text: &str) -> Shape {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"))
    }

    /// The keys of an object, in order.
    pub fn keys(&self) -> Vec<&str> {
        match self {
            Shape::Object(kv) => kv.iter().map(|(k, _)| k.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Shape> {
        match self {
            Shape::Object(kv) => kv.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A copy without the keys at `paths` (dot-separated, `*` for any key): fields that Go
    /// omits when their value is zero (`omitempty`), whose presence depends on the data
    /// rather than on the runtime.
    pub fn strip(&self, paths: &[&str]) -> Shape {
        let mut out = self.clone();
        for p in paths {
            let parts: Vec<&str> = p.split('.').collect();
            out.strip_one(&parts);
        }
        out
    }

    fn strip_one(&mut self, path: &[&str]) {
        let Shape::Object(kv) = self else { return };
        match path {
            [] => {}
            [last] => kv.retain(|(k, _)| *last != "*" && k != last),
            [first, rest @ ..] => {
                for (k, v) in kv.iter_mut() {
                    if *first == "*" || k == first {
                        v.strip_one(rest);
                    }
                }
            }
        }
    }

    /// A copy without the given keys at the top level (values that legitimately differ in
    /// presence, e.g. an empty field one runtime omits and the other lists as listed in
    /// `differences`).
    pub fn without(&self, drop: &[&str]) -> Shape {
        match self {
            Shape::Object(kv) => Shape::Object(
                kv.iter()
                    .filter(|(k, _)| !drop.contains(&k.as_str()))
                    .cloned()
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Shape {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Shape, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Shape;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
                Ok(Shape::Bool)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
                Ok(Shape::Number)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
                Ok(Shape::Number)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
                Ok(Shape::Number)
            }
            fn visit_str<E>(self, _: &str) -> Result<Shape, E> {
                Ok(Shape::String)
            }
            fn visit_unit<E>(self) -> Result<Shape, E> {
                Ok(Shape::Null)
            }
            fn visit_none<E>(self) -> Result<Shape, E> {
                Ok(Shape::Null)
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
                serde::Deserialize::deserialize(d)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Shape, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = a.next_element()? {
                    v.push(x);
                }
                Ok(Shape::Array(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Shape, A::Error> {
                let mut v = Vec::new();
                while let Some((k, x)) = a.next_entry::<String, Shape>()? {
                    v.push((k, x));
                }
                Ok(Shape::Object(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// Asserts that two runtimes printed JSON of the same shape (keys, order, types).
#[track_caller]
pub fn assert_same_shape(what: &str, berth: &str, runc: &str) {
    let (b, r) = (Shape::parse(berth), Shape::parse(runc));
    assert_eq!(
        b, r,
        "{what}: JSON shapes differ\nberth: {berth}\nrunc:  {runc}"
    );
}

/// A stats line's shape, without Go's omitempty fields (present or not with the value) and
/// with the hugetlb map emptied where it is a listed difference.
pub fn stats_shape(line: &str) -> Shape {
    let Shape::Object(mut top) = Shape::parse(line) else {
        panic!("not an event: {line}")
    };
    // hugetlb in the cgroup2 hierarchy of a host that also has v1 hierarchies (this VM).
    let hierarchies = crate::cgroups::hierarchies();
    let has = |v2: bool| {
        hierarchies.iter().any(|h| {
            h.v2 == v2
                && if v2 {
                    std::fs::read_to_string(h.mount.join("cgroup.controllers"))
                        .is_ok_and(|c| c.split_whitespace().any(|x| x == "hugetlb"))
                } else {
                    h.controllers.iter().any(|c| c == "hugetlb")
                }
        })
    };
    let hybrid_hugetlb = hierarchies.iter().any(|h| !h.v2) && !has(false) && has(true);
    for (k, data) in top.iter_mut() {
        if let (true, Shape::Object(fields)) = (k == "data", data) {
            for (name, v) in fields.iter_mut() {
                if name == "hugetlb" && hybrid_hugetlb {
                    let _ = differences::intended("events --stats: hugetlb on a hybrid host");
                    *v = Shape::Object(Vec::new());
                }
            }
        }
    }
    Shape::Object(top).strip(&[
        "data.cpu.usage.total",
        "data.cpu.throttling",
        "data.memory.cache",
        "data.memory.*.usage",
        "data.memory.*.max",
        "data.pids.current",
        "data.pids.limit",
        // Block I/O counters exist once the container did I/O (the cache decides).
        "data.blkio.*",
        "data.hugetlb.*.usage",
        "data.hugetlb.*.max",
    ])
}

/// `update -r - ID` with `resources` (a linux.resources JSON object) on stdin, as containerd
/// and podman pass it.
pub fn update_from_stdin(root: &Root, id: &str, resources: &str) -> Outcome {
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join(unique("resources"));
    std::fs::write(&file, resources).unwrap();
    let mut cmd = root.cmd();
    cmd.args(["update", "-r", "-", id]);
    cmd.stdin(std::fs::File::open(&file).unwrap());
    let out = Outcome::from_cmd(&mut cmd);
    std::fs::remove_file(&file).unwrap();
    out
}

/// A bundle for the same config under every runtime (runtimes never write into it: the
/// shared rootfs is read-only and each runtime keeps its state under its own root).
pub fn bundle(config: &Value) -> Bundle {
    Bundle::new(config)
}

/// berth's path, for tests that build a command by hand.
pub fn berth() -> &'static Path {
    Path::new(BERTH)
}
