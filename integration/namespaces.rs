//! Namespaces, checked from inside the container against the host.

use crate::common::*;
use serde_json::json;

fn host_ns(kind: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{kind}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn pid_namespace_makes_the_process_pid_1() {
    let root = Root::new();
    assert_eq!(root.sh("echo $$"), "1\n");
}

#[test]
fn new_namespaces_differ_from_the_host() {
    let root = Root::new();
    let out = root.sh("for n in pid net ipc uts mnt cgroup; do readlink /proc/self/ns/$n; done");
    let inside: Vec<&str> = out.lines().collect();
    for (i, kind) in ["pid", "net", "ipc", "uts", "mnt", "cgroup"]
        .iter()
        .enumerate()
    {
        // /proc/self/ns/pid is the namespace of the process itself (the new one).
        assert_ne!(inside[i], host_ns(kind), "{kind} namespace not new");
    }
}

#[test]
fn absent_namespaces_are_shared_with_the_host() {
    let root = Root::new();
    let out = root.sh_with(
        "readlink /proc/self/ns/net; readlink /proc/self/ns/ipc",
        |c| {
            c["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "mount"}, {"type": "uts"}]);
        },
    );
    assert_eq!(out, format!("{}\n{}\n", host_ns("net"), host_ns("ipc")));
}

#[test]
fn network_namespace_has_only_loopback() {
    let root = Root::new();
    assert_eq!(root.sh("ls /sys/class/net"), "lo\n");
}

#[test]
fn hostname_and_domainname() {
    let root = Root::new();
    let out = root.sh_with("hostname; cat /proc/sys/kernel/domainname", |c| {
        c["hostname"] = json!("box1");
        c["domainname"] = json!("example.org");
    });
    assert_eq!(out, "box1\nexample.org\n");
}

#[test]
fn cgroup_namespace_roots_the_view() {
    let root = Root::new();
    let out = root.sh("cat /proc/self/cgroup");
    for line in out.lines() {
        assert!(
            line.ends_with(":/"),
            "cgroup path not rooted in the namespace: {line}"
        );
    }
}

fn userns(c: &mut serde_json::Value) {
    add_userns(c, 100000);
}

#[test]
fn user_namespace_maps_ids() {
    let root = Root::new();
    let out = root.sh_with("cat /proc/self/uid_map /proc/self/gid_map; id -u", userns);
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(words, ["0", "100000", "65536", "0", "100000", "65536", "0"]);
}

#[test]
fn user_namespace_process_is_unprivileged_on_the_host() {
    let root = Root::new();
    let b = Bundle::new(&{
        let mut c = base_config(&["/bin/sleep", "60"]);
        userns(&mut c);
        c
    });
    let id = unique("uns");
    root.ok(&["run", "-d", "--bundle", b.dir.to_str().unwrap(), &id]);
    let pid = root.state(&id)["pid"].as_i64().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(
        uid_line.split_whitespace().nth(1),
        Some("100000"),
        "{uid_line}"
    );
    root.ok(&["delete", "-f", &id]);
}

#[test]
fn time_namespace_offsets() {
    let root = Root::new();
    let out = root.sh_with("cut -d. -f1 /proc/uptime", |c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "time"}));
        c["linux"]["timeOffsets"] = json!({"boottime": {"secs": 864000, "nanosecs": 0}});
    });
    let host: f64 = std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let inside: f64 = out.trim().parse().unwrap();
    assert!(
        inside >= host + 864000.0 - 5.0,
        "inside {inside}, host {host}"
    );
}

/// Only the container is in its time namespace: berth's hooks, cloned by the same berth
/// process before and after init, run in the host's (as runc's). With offsets (berth
/// unshares it and goes back) and without (the clone makes it).
#[test]
fn hooks_run_outside_the_containers_time_namespace() {
    for offsets in [true, false] {
        let root = Root::new();
        let out = std::env::temp_dir().join(unique("timens-hooks"));
        std::fs::create_dir(&out).unwrap();
        let hook = |kind: &str| {
            let script = format!("readlink /proc/self/ns/time > {}/{kind}", out.display());
            json!({"path": "/bin/sh", "args": ["sh", "-c", script]})
        };
        let kinds = ["prestart", "createRuntime", "poststart", "poststop"];
        let script = "readlink /proc/self/ns/time; cut -d. -f1 /proc/uptime";
        let mut c = base_config(&["/bin/sh", "-c", script]);
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "time"}));
        if offsets {
            c["linux"]["timeOffsets"] = json!({"boottime": {"secs": 864000, "nanosecs": 0}});
        }
        c["hooks"] = kinds
            .iter()
            .map(|k| (k.to_string(), json!([hook(k)])))
            .collect();
        let (code, stdout, stderr) = root.run(&c);
        assert_eq!(code, 0, "{stderr}");
        let host = host_ns("time");
        let mut lines = stdout.lines();
        let container = lines.next().unwrap_or_default();
        assert!(
            container.starts_with("time:[") && container != host,
            "{stdout}"
        );
        let inside: f64 = lines.next().unwrap_or_default().parse().unwrap();
        let host_uptime: f64 = std::fs::read_to_string("/proc/uptime")
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        // Half the offset apart: the offsets reached the container, and only with offsets.
        assert_eq!(inside > host_uptime + 432000.0, offsets, "{stdout}");
        for kind in kinds {
            let got = std::fs::read_to_string(out.join(kind)).unwrap();
            assert_eq!(
                got.trim(),
                host,
                "the {kind} hook's time namespace, offsets {offsets}"
            );
        }
        std::fs::remove_dir_all(&out).unwrap();
    }
}

#[test]
fn joining_namespaces_by_path() {
    let root = Root::new();
    let mut a = base_config(&["/bin/sleep", "60"]);
    userns(&mut a);
    let ba = Bundle::new(&a);
    let ida = unique("owner");
    root.ok(&["run", "-d", "--bundle", ba.dir.to_str().unwrap(), &ida]);
    let pid = root.state(&ida)["pid"].as_i64().unwrap();
    let net = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
    let user = std::fs::read_link(format!("/proc/{pid}/ns/user")).unwrap();
    let out = root.sh_with(
        "readlink /proc/self/ns/net; readlink /proc/self/ns/user; cat /proc/self/uid_map",
        |c| {
            c["linux"]["namespaces"] = json!([
                {"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "ipc"},
                {"type": "network", "path": format!("/proc/{pid}/ns/net")},
                {"type": "user", "path": format!("/proc/{pid}/ns/user")}
            ]);
        },
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], net.to_string_lossy());
    assert_eq!(lines[1], user.to_string_lossy());
    assert_eq!(
        lines[2].split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"]
    );
    root.ok(&["delete", "-f", &ida]);
}
