//! The default seccomp profile under a Debian userland (debootstrap minbase, built once by
//! `make debian-rootfs`, which `make test` runs): a normal workload through bash works, and
//! what the profile must refuse is refused.

use crate::common::*;
use serde_json::json;
use std::path::PathBuf;

fn debian_rootfs() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("integration/.work/debian-rootfs");
    assert!(
        dir.join("bin/bash").exists(),
        "no Debian rootfs at {}: run `make debian-rootfs` (part of `make test`)",
        dir.display()
    );
    dir
}

const WORKLOAD: &str = r#"
set -e
apt-get --version | head -1 | cut -d' ' -f1
test "$(dpkg -l | grep -c '^ii')" -gt 50 && echo dpkg-ok
useradd -M -s /bin/sh alice && id -u alice >/dev/null && echo useradd-ok
mkdir -p /tmp/d/sub && echo hi > /tmp/d/sub/f
tar -C /tmp -czf /tmp/d.tgz d && rm -rf /tmp/d && tar -C /tmp -xzf /tmp/d.tgz && cat /tmp/d/sub/f
printf '3\n1\n2\n' | sort | tr '\n' ' '; echo
find /tmp/d -type f | wc -l
date +%Y >/dev/null && echo date-ok
perl -e 'print "perl-ok\n"'
t=$(mktemp) && test -f "$t" && echo mktemp-ok
cat <(echo procsub-ok)
sleep 0.1 & wait $! && echo wait-ok
unshare --user true 2>/dev/null && echo unshare-allowed || echo unshare-blocked
perl -e '$r = syscall(250, 0, 0, 0, 0, 0); print $r == -1 ? "keyctl-blocked $!\n" : "keyctl-allowed\n"'
mount -t tmpfs none /mnt 2>/dev/null && echo mount-allowed || echo mount-blocked
"#;

#[test]
fn default_profile_runs_a_debian_userland_and_blocks_what_it_must() {
    let rootfs = debian_rootfs();
    let root = Root::new();
    let b = Bundle::new(&json!({}));
    // /etc is an overlay on the shared rootfs, so useradd can write without changing it.
    let (upper, work) = (b.dir.join("upper"), b.dir.join("work"));
    std::fs::create_dir_all(&upper).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    let mut c = base_config(&["/bin/bash", "-c", WORKLOAD]);
    c["root"] = json!({"path": rootfs, "readonly": true});
    c["linux"]["seccomp"] = default_seccomp_profile();
    c["process"]["capabilities"] = json!({
        "bounding": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SETUID", "CAP_SETGID", "CAP_AUDIT_WRITE", "CAP_KILL"],
        "effective": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SETUID", "CAP_SETGID", "CAP_AUDIT_WRITE", "CAP_KILL"],
        "permitted": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SETUID", "CAP_SETGID", "CAP_AUDIT_WRITE", "CAP_KILL"]
    });
    let lower = rootfs.join("etc");
    c["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/etc", "type": "overlay", "source": "overlay",
        "options": [format!("lowerdir={}", lower.display()), format!("upperdir={}", upper.display()), format!("workdir={}", work.display())]
    }));
    let (code, out, err) = root.run(&c);
    assert_eq!(code, 0, "workload failed: {out}\n{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "apt",
            "dpkg-ok",
            "useradd-ok",
            "hi",
            "1 2 3 ",
            "1",
            "date-ok",
            "perl-ok",
            "mktemp-ok",
            "procsub-ok",
            "wait-ok",
            "unshare-blocked",
            "keyctl-blocked Operation not permitted",
            "mount-blocked",
        ]
    );
    // The shared rootfs was not written.
    assert!(!std::fs::read_to_string(rootfs.join("etc/passwd"))
        .unwrap()
        .contains("alice"));
    root.assert_clean(Some(&b));
}
