//! The resctrl writer against fake trees laid out like resctrl.

use super::*;

/// A temporary directory laid out like a resctrl mount with CAT, MBA and monitoring.
struct FakeResctrl(PathBuf);

impl FakeResctrl {
    fn new(name: &str, info: &[&str]) -> FakeResctrl {
        let dir = std::env::temp_dir().join(format!("berth-resctrl-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        for i in info {
            fs::create_dir_all(dir.join("info").join(i)).unwrap();
        }
        fs::write(dir.join("schemata"), "L3:0=fff\nMB:0=100\n").unwrap();
        fs::write(dir.join("tasks"), "").unwrap();
        FakeResctrl(dir)
    }
}

impl Drop for FakeResctrl {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn rdt(json: serde_json::Value) -> LinuxIntelRdt {
    serde_json::from_value(json).unwrap()
}

fn err(r: Result<()>) -> String {
    format!("{:#}", r.unwrap_err())
}

#[test]
fn finds_the_resctrl_mount_in_mountinfo() {
    let text = "22 1 0:20 / /sys rw - sysfs sysfs rw\n\
                40 22 0:35 / /sys/fs/my\\040rdt rw,relatime - resctrl resctrl rw\n";
    assert_eq!(
        root_in_mountinfo(text),
        Some(PathBuf::from("/sys/fs/my rdt"))
    );
    assert_eq!(
        root_in_mountinfo("22 1 0:20 / /sys rw - sysfs sysfs rw\n"),
        None
    );
}

#[test]
fn validation_follows_runcs_rules_and_words() {
    let none = rdt(serde_json::json!({}));
    assert_eq!(
        err(validate(&none, None)),
        "intelRdt is specified in config, but Intel RDT is not enabled"
    );
    let no_info = FakeResctrl::new("noinfo", &[]);
    assert_eq!(
        err(validate(&none, Some(&no_info.0))),
        "intelRdt is specified in config, but Intel RDT is not enabled"
    );
    let mba_only = FakeResctrl::new("mba", &["MB"]);
    let m = Some(mba_only.0.as_path());
    validate(&none, m).unwrap();
    for bad in [".", "..", "a/b", "/x"] {
        assert_eq!(
            err(validate(&rdt(serde_json::json!({ "closID": bad })), m)),
            format!("invalid intelRdt.ClosID {bad:?}")
        );
    }
    validate(&rdt(serde_json::json!({ "closID": "/" })), m).unwrap();
    validate(&rdt(serde_json::json!({ "closID": "" })), m).unwrap();
    assert_eq!(
        err(validate(
            &rdt(serde_json::json!({ "l3CacheSchema": "L3:0=f" })),
            m
        )),
        "intelRdt.l3CacheSchema is specified in config, but Intel RDT/CAT is not enabled"
    );
    assert_eq!(
        err(validate(
            &rdt(serde_json::json!({ "enableMonitoring": true })),
            m
        )),
        "intelRdt.enableMonitoring is specified in config, but Intel RDT monitoring is \
         not enabled"
    );
    validate(&rdt(serde_json::json!({ "memBwSchema": "MB:0=50" })), m).unwrap();
    assert_eq!(
        err(validate(
            &rdt(serde_json::json!({ "memBwSchema": "0=50" })),
            m
        )),
        "intelRdt.memBwSchema: \"0=50\" must start with \"MB:\""
    );
    let cat_only = FakeResctrl::new("cat", &["L3"]);
    assert_eq!(
        err(validate(
            &rdt(serde_json::json!({ "memBwSchema": "MB:0=50" })),
            Some(&cat_only.0)
        )),
        "intelRdt.memBwSchema is specified in config, but Intel RDT/MBA is not enabled"
    );
    assert_eq!(
        err(validate(
            &rdt(serde_json::json!({ "schemata": ["L3:0=f\nMB:0=1"] })),
            Some(&cat_only.0)
        )),
        "intelRdt: schema \"L3:0=f\\nMB:0=1\" must not contain a newline"
    );
}

#[test]
fn schemata_are_written_l3_then_mb_then_the_lines() {
    let r = rdt(serde_json::json!({
        "schemata": ["L2:0=f", "MB:1=20"],
        "memBwSchema": "MB:0=50",
        "l3CacheSchema": "L3:0=f0"
    }));
    assert_eq!(
        schemata_text(&r).as_deref(),
        Some("L3:0=f0\nMB:0=50\nL2:0=f\nMB:1=20")
    );
    assert_eq!(
        schemata_text(&rdt(serde_json::json!({ "closID": "x" }))),
        None
    );
}

#[test]
fn apply_makes_the_container_group_and_remove_takes_it_away() {
    let t = FakeResctrl::new("apply", &["L3", "MB", "L3_MON"]);
    let r = rdt(serde_json::json!({
        "l3CacheSchema": "L3:0=f0",
        "memBwSchema": "MB:0=50",
        "enableMonitoring": true
    }));
    // resctrl makes a group's files itself; the fake tree gets them beforehand.
    fs::create_dir_all(t.0.join("c1/mon_groups")).unwrap();
    apply(&t.0, &r, "c1", 4242).unwrap();
    let g = t.0.join("c1");
    assert_eq!(
        fs::read_to_string(g.join("schemata")).unwrap(),
        "L3:0=f0\nMB:0=50\n"
    );
    assert_eq!(fs::read_to_string(g.join("tasks")).unwrap(), "4242\n");
    assert_eq!(
        fs::read_to_string(g.join("mon_groups/c1/tasks")).unwrap(),
        "4242\n"
    );
    // The root group is untouched.
    assert_eq!(fs::read_to_string(t.0.join("tasks")).unwrap(), "");
    // resctrl removes a group's files with it; the fake tree needs them gone first.
    for f in ["mon_groups/c1/tasks", "tasks", "schemata"] {
        fs::remove_file(g.join(f)).unwrap();
    }
    // The fake mon_groups directory is not resctrl's: the CLOS rmdir fails on it, after
    // the monitoring group went.
    assert!(remove(&t.0, &r, "c1").is_err());
    assert!(!g.join("mon_groups/c1").exists());
    fs::remove_dir(g.join("mon_groups")).unwrap();
    remove(&t.0, &r, "c1").unwrap();
    assert!(!g.exists());
    // Already gone is fine.
    remove(&t.0, &r, "c1").unwrap();
}

#[test]
fn a_named_clos_is_joined_checked_and_kept() {
    let t = FakeResctrl::new("named", &["L3", "MB"]);
    // Without schemata, the named group must exist already.
    let join = rdt(serde_json::json!({ "closID": "shared" }));
    let e = err(apply(&t.0, &join, "c2", 7));
    assert!(e.starts_with("clos dir not accessible"), "{e}");
    assert!(!t.0.join("shared").exists());
    fs::create_dir(t.0.join("shared")).unwrap();
    fs::write(t.0.join("shared/schemata"), "L3:0=00f0\nMB:0=50\nL2:0=3\n").unwrap();
    apply(&t.0, &join, "c2", 7).unwrap();
    assert_eq!(fs::read_to_string(t.0.join("shared/tasks")).unwrap(), "7\n");
    // With schemata, an existing named group must hold the same ones.
    let same = rdt(serde_json::json!({ "closID": "shared", "schemata": ["MB:0=50", "L3:0=f0"] }));
    apply(&t.0, &same, "c3", 8).unwrap();
    let other = rdt(serde_json::json!({ "closID": "shared", "l3CacheSchema": "L3:0=ff" }));
    let e = err(apply(&t.0, &other, "c4", 9));
    assert!(e.contains("has other schemata"), "{e}");
    // A named group is not the container's to remove.
    remove(&t.0, &same, "c3").unwrap();
    assert!(t.0.join("shared").is_dir());
    // A new named group with schemata is made and written.
    let fresh = rdt(serde_json::json!({ "closID": "gold", "memBwSchema": "MB:0=70" }));
    apply(&t.0, &fresh, "c5", 10).unwrap();
    assert_eq!(
        fs::read_to_string(t.0.join("gold/schemata")).unwrap(),
        "MB:0=70\n"
    );
    // An empty closID is the container id's group, made and removed as unset.
    let empty = rdt(serde_json::json!({ "closID": "" }));
    apply(&t.0, &empty, "c7", 12).unwrap();
    assert_eq!(fs::read_to_string(t.0.join("c7/tasks")).unwrap(), "12\n");
    fs::remove_file(t.0.join("c7/tasks")).unwrap();
    remove(&t.0, &empty, "c7").unwrap();
    assert!(!t.0.join("c7").exists());
    // "/" is the root group.
    let root = rdt(serde_json::json!({ "closID": "/" }));
    apply(&t.0, &root, "c6", 11).unwrap();
    assert_eq!(fs::read_to_string(t.0.join("tasks")).unwrap(), "11\n");
}

#[test]
fn a_failed_apply_removes_the_group_it_made() {
    let t = FakeResctrl::new("fail", &["L3"]);
    let r = rdt(serde_json::json!({ "enableMonitoring": true }));
    // No mon_groups directory: making the monitoring group fails.
    let e = err(apply(&t.0, &r, "c7", 12));
    assert!(e.contains("creating the monitoring group"), "{e}");
    assert!(!t.0.join("c7").exists());
}

#[test]
fn update_rewrites_the_schemata_with_runcs_words_where_unsupported() {
    let t = FakeResctrl::new("update", &["L3", "MB"]);
    fs::create_dir(t.0.join("c8")).unwrap();
    let group = Group {
        root: t.0.clone(),
        config: rdt(serde_json::json!({
            "l3CacheSchema": "L3:0=ff", "schemata": ["L2:0=3"]
        })),
    };
    let read = || fs::read_to_string(t.0.join("c8/schemata")).unwrap();
    let g = update(&group, "c8", Some("L3:0=f"), Some("MB:0=30")).unwrap();
    assert_eq!(read(), "L3:0=f\nMB:0=30\nL2:0=3\n");
    // A flag not given unsets that schema, as runc's update.
    let g = update(&g, "c8", None, Some("MB:0=40")).unwrap();
    assert_eq!(read(), "MB:0=40\nL2:0=3\n");
    assert_eq!(g.config.l3_cache_schema(), &None);
    assert_eq!(g.config.mem_bw_schema().as_deref(), Some("MB:0=40"));
    let bare = FakeResctrl::new("update-bare", &[]);
    let g = Group {
        root: bare.0.clone(),
        config: rdt(serde_json::json!({})),
    };
    assert_eq!(
        err(update(&g, "c8", Some("L3:0=f"), None).map(|_| ())),
        "Intel RDT/CAT: l3 cache schema is not enabled"
    );
    assert_eq!(
        err(check_update(None, Some("L3:0=f"), None)),
        "Intel RDT/CAT: l3 cache schema is not enabled"
    );
    let cat_only = Features {
        cat: true,
        mba: false,
        monitoring: false,
    };
    assert_eq!(
        err(check_update(Some(cat_only), Some("L3:0=f"), Some("MB:0=1"))),
        "Intel RDT/MBA: memory bandwidth schema is not enabled"
    );
}

#[test]
fn stats_read_the_info_the_schemata_and_the_monitoring_group() {
    let t = FakeResctrl::new("stats", &["L3", "MB", "L3_MON"]);
    let w = |p: &str, v: &str| {
        let p = t.0.join(p);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, v).unwrap();
    };
    w("info/L3/cbm_mask", "fff\n");
    w("info/L3/min_cbm_bits", "1\n");
    w("info/L3/num_closids", "16\n");
    w("info/MB/bandwidth_gran", "10\n");
    w("info/MB/delay_linear", "1\n");
    w("info/MB/min_bandwidth", "10\n");
    w("info/MB/num_closids", "8\n");
    w(
        "info/L3_MON/mon_features",
        "llc_occupancy\nmbm_total_bytes\nmbm_local_bytes\n",
    );
    w("c1/schemata", "    L3:0=0f0\n    MB:0= 50\n");
    for (dom, n) in [("mon_L3_01", 2u64), ("mon_L3_00", 1)] {
        let d = format!("c1/mon_groups/c1/mon_data/{dom}");
        w(&format!("{d}/mbm_total_bytes"), &format!("{}\n", n * 100));
        w(&format!("{d}/mbm_local_bytes"), &format!("{}\n", n * 10));
        w(&format!("{d}/llc_occupancy"), &format!("{}\n", n * 1000));
    }
    let group = Group {
        root: t.0.clone(),
        config: rdt(serde_json::json!({ "enableMonitoring": true })),
    };
    let v = serde_json::to_value(stats(&group, "c1").unwrap()).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "l3_cache_info": {"cbm_mask": "fff", "min_cbm_bits": 1, "num_closids": 16},
            "l3_cache_schema_root": "L3:0=fff",
            "l3_cache_schema": "L3:0=0f0",
            "mem_bw_info": {"bandwidth_gran": 10, "delay_linear": 1, "min_bandwidth": 10,
                            "num_closids": 8},
            "mem_bw_schema_root": "MB:0=100",
            "mem_bw_schema": "MB:0= 50",
            "mbm_stats": [{"mbm_total_bytes": 100, "mbm_local_bytes": 10},
                          {"mbm_total_bytes": 200, "mbm_local_bytes": 20}],
            "cmt_stats": [{"llc_occupancy": 1000}, {"llc_occupancy": 2000}]
        })
    );
    // Without RDT features, the section is empty, as runc's where resctrl is absent.
    let bare = FakeResctrl::new("stats-bare", &[]);
    let group = Group {
        root: bare.0.clone(),
        config: rdt(serde_json::json!({})),
    };
    assert_eq!(
        serde_json::to_value(stats(&group, "c1").unwrap()).unwrap(),
        serde_json::json!({})
    );
}

#[test]
fn a_refused_write_carries_last_cmd_status() {
    let t = FakeResctrl::new("status", &["L3"]);
    fs::write(t.0.join("info/last_cmd_status"), "Mask out of range\n").unwrap();
    // A directory where the file should be: the write fails as the kernel's would.
    fs::create_dir_all(t.0.join("c9/schemata")).unwrap();
    let r = rdt(serde_json::json!({ "l3CacheSchema": "L3:0=ffffffff" }));
    let e = err(apply(&t.0, &r, "c9", 13));
    assert!(e.ends_with("last_cmd_status: Mask out of range"), "{e}");
}
