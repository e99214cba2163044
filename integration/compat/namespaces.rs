//! Namespaces, compared with runc: joining another container's namespaces by path (the
//! order of the joins), and an empty path.

use super::{Outcome, Pair};
use crate::common::{add_userns, base_config, Bundle, Root};
use serde_json::{json, Value};

const SHOW_NS: &str =
    "id -u; readlink /proc/self/ns/user; readlink /proc/self/ns/net; readlink /proc/self/ns/time";

/// A berth container with its own user, network and time namespaces: berth makes its time
/// namespace before the user namespace, so the user namespace does not own it. Joining all
/// three needs the time namespace joined first, with the host's privileges (runc's order).
#[test]
fn joining_user_network_and_time_of_another_container() {
    let owner = Root::new();
    let mut a = base_config(&["/bin/sleep", "100"]);
    add_userns(&mut a, 300_000);
    a["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "time"}));
    let a_bundle = Bundle::new(&a);
    let a_id = crate::common::unique("nsowner");
    owner.ok(&[
        "run",
        "--detach",
        "--bundle",
        a_bundle.dir.to_str().unwrap(),
        &a_id,
    ]);
    let pid = owner.state(&a_id)["pid"].as_i64().unwrap();
    let ns = |n: &str| std::fs::read_link(format!("/proc/{pid}/ns/{n}")).unwrap();
    let expected = format!(
        "0\n{}\n{}\n{}\n",
        ns("user").display(),
        ns("net").display(),
        ns("time").display()
    );

    let mut b = base_config(&["/bin/sh", "-c", SHOW_NS]);
    let namespaces: Vec<Value> = ["pid", "ipc", "uts", "mount", "cgroup"]
        .iter()
        .map(|t| json!({"type": t}))
        .chain(["user", "network", "time"].iter().map(|t| {
            let file = match *t {
                "network" => "net",
                other => other,
            };
            json!({"type": t, "path": format!("/proc/{pid}/ns/{file}")})
        }))
        .collect();
    b["linux"]["namespaces"] = json!(namespaces);
    let b_bundle = Bundle::new(&b);
    let dir = b_bundle.dir.to_str().unwrap();
    let pair = Pair::new();
    let (bo, ro) = pair.both(|root, id| Outcome::of(root, &["run", "--bundle", dir, id]));
    owner.ok(&["delete", "--force", &a_id]);

    assert_eq!(ro.code, 0, "runc: {ro:?}");
    assert_eq!(bo.code, 0, "berth: {bo:?}");
    assert_eq!(bo.stdout, ro.stdout);
    assert_eq!(bo.stdout, expected);
}

/// `"path": ""` asks for a new namespace, as runc reads it.
#[test]
fn empty_namespace_path_is_a_new_namespace() {
    let mut c = base_config(&["/bin/sh", "-c", "readlink /proc/self/ns/net"]);
    for ns in c["linux"]["namespaces"].as_array_mut().unwrap() {
        if ns["type"] == "network" {
            ns["path"] = json!("");
        }
    }
    let bundle = Bundle::new(&c);
    let dir = bundle.dir.to_str().unwrap();
    let pair = Pair::new();
    let (b, r) = pair.both(|root, id| Outcome::of(root, &["run", "--bundle", dir, id]));
    let host = std::fs::read_link("/proc/self/ns/net").unwrap();
    assert_eq!((b.code, r.code), (0, 0), "berth: {b:?}\nrunc: {r:?}");
    assert_ne!(
        b.stdout.trim(),
        host.to_str().unwrap(),
        "a new network namespace"
    );
    assert_ne!(r.stdout.trim(), host.to_str().unwrap());
}

/// Sixteen id-mapped bind mounts under an RLIMIT_NOFILE of 20: runc opens each mount's
/// source when it mounts it; berth must not hold one fd per mount when the limit applies.
#[test]
fn many_idmapped_mounts_under_a_low_nofile_limit() {
    let src = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(crate::common::unique("idmap-src"));
    let mut c = base_config(&["/bin/sh", "-c", "ls -d /tmp/m1 /tmp/m16 && ulimit -n"]);
    add_userns(&mut c, 320_000);
    c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "hard": 20, "soft": 20}]);
    let map = json!([{"containerID": 0, "hostID": 0, "size": 65536}]);
    for i in 1..=16 {
        let d = src.join(format!("s{i}"));
        std::fs::create_dir_all(&d).unwrap();
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": format!("/tmp/m{i}"), "type": "bind", "source": d,
            "options": ["bind", "idmap"], "uidMappings": map, "gidMappings": map
        }));
    }
    let bundle = Bundle::new(&c);
    let dir = bundle.dir.to_str().unwrap();
    let pair = Pair::new();
    let (b, r) = pair.both(|root, id| Outcome::of(root, &["run", "--bundle", dir, id]));
    std::fs::remove_dir_all(&src).unwrap();
    assert_eq!(r.code, 0, "runc: {r:?}");
    assert_eq!(b.code, 0, "berth: {b:?}");
    assert_eq!(b.stdout, "/tmp/m1\n/tmp/m16\n20\n");
    assert_eq!(b.stdout, r.stdout);
}
