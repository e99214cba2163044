//! User namespace id maps, written by the parent into /proc/PID/{uid,gid}_map once init has
//! been cloned into its new user namespace (init waits for the go-ahead before using them).
//! As root the files are written directly; otherwise through newuidmap/newgidmap (shadow's
//! setuid helpers), which check /etc/subuid and /etc/subgid.

use anyhow::{bail, Context, Result};
use oci_spec::runtime::{Linux, LinuxIdMapping};
use std::process::Command;

fn map_text(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

pub fn write_maps(pid: i32, linux: &Linux) -> Result<()> {
    let uids = linux.uid_mappings().as_deref().unwrap_or_default();
    let gids = linux.gid_mappings().as_deref().unwrap_or_default();
    if nix::unistd::geteuid().is_root() {
        // gid_map first is not required as root; uid first mirrors runc.
        write_file(pid, "uid_map", uids, "linux.uidMappings")?;
        write_file(pid, "gid_map", gids, "linux.gidMappings")?;
        return Ok(());
    }
    helper("newuidmap", pid, uids, "linux.uidMappings")?;
    helper("newgidmap", pid, gids, "linux.gidMappings")
}

fn write_file(pid: i32, file: &str, maps: &[LinuxIdMapping], field: &str) -> Result<()> {
    let path = format!("/proc/{pid}/{file}");
    std::fs::write(&path, map_text(maps)).with_context(|| format!("{field}: writing {path}"))
}

fn helper(bin: &str, pid: i32, maps: &[LinuxIdMapping], field: &str) -> Result<()> {
    let mut cmd = Command::new(bin);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([
            m.container_id().to_string(),
            m.host_id().to_string(),
            m.size().to_string(),
        ]);
    }
    let out = cmd
        .output()
        .with_context(|| format!("{field}: running {bin} (is the uidmap package installed?)"))?;
    if !out.status.success() {
        bail!(
            "{field}: {bin} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format() {
        let maps: Vec<LinuxIdMapping> =
            serde_json::from_str(r#"[{"containerID":0,"hostID":100000,"size":65536},{"containerID":65536,"hostID":0,"size":1}]"#)
                .unwrap();
        assert_eq!(map_text(&maps), "0 100000 65536\n65536 0 1\n");
    }
}
