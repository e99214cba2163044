//! checkpoint and restore as lifecycle operations (CRIU itself is driven by `criu`): runc's
//! status rules, the container destroyed after a checkpoint that does not leave it running
//! (as runc, so its id is free for the restore), and a restored container entered into the
//! state store as a running one whose init is the restored process.

use anyhow::{bail, Context, Result};
use std::path::Path;
use std::time::SystemTime;

use super::{destroy, pidfd_open, write_pid_file, Created};
use crate::state::{self, State, Status};
use crate::{cgroups, config, criu, hooks, logging};

/// Checkpoints a running (or paused) container into `o.common.image_path`.
pub fn checkpoint(root: &Path, id: &str, o: &criu::DumpOpts) -> Result<()> {
    let lock = state::open(root, id)?;
    let st = lock.load_existing()?;
    let status = state::status(&lock.dir, &st);
    if matches!(status, Status::Created | Status::Stopped) {
        bail!(
            "cannot checkpoint container {id:?}: it is {} (only a running or paused container can be)",
            status.as_str()
        );
    }
    let spec = config::parse(&st.bundle.join("config.json"))?;
    if has_terminal(&spec) {
        // A checkpoint destroys the container, and restore could not give it its terminal.
        bail!("cannot checkpoint container {id:?}: it has a terminal (process.terminal), which restore does not support yet");
    }
    let target = criu::DumpTarget {
        pid: st.pid,
        rootfs: &st.rootfs,
        spec: &spec,
        cgroup: st.cgroup.as_ref(),
    };
    criu::dump(o, &target).with_context(|| format!("checkpointing container {id:?}"))?;
    if !o.leave_running && !o.pre_dump {
        destroy(lock, &st)?;
    }
    Ok(())
}

/// Makes container `id` from `bundle` with its init restored from a checkpoint. On any
/// error nothing is left behind: no state directory, cgroup or process.
pub fn restore(
    root: &Path,
    id: &str,
    bundle: &Path,
    c: &criu::Common,
    pid_file: Option<&Path>,
) -> Result<Created> {
    config::validate_id(id)?;
    let bundle = config::load(bundle)?;
    if has_terminal(&bundle.spec) {
        bail!("config.json: process.terminal: restoring a container with a terminal is not supported yet (CRIU hands the new pty master over only in its RPC mode)");
    }
    if let Some(h) = bundle.spec.hooks() {
        // runc runs these when CRIU has made the namespaces; berth has no hand in that moment.
        #[allow(deprecated)]
        let early = h.prestart().as_ref().is_some_and(|v| !v.is_empty())
            || h.create_runtime().as_ref().is_some_and(|v| !v.is_empty());
        if early {
            bail!("config.json: hooks.prestart and hooks.createRuntime are not supported by restore yet");
        }
    }
    let lock = state::create_dir(root, id)?;
    let mut cgroup = None;
    match restore_locked(root, id, &bundle, c, pid_file, &lock, &mut cgroup) {
        Ok(r) => Ok(r),
        Err(e) => {
            if let Some(cg) = cgroup {
                let _ = cg.kill_all(nix::sys::signal::Signal::SIGKILL);
                if let Err(d) = cg.destroy() {
                    logging::warn(&format!("removing the cgroup: {d:#}"));
                }
            }
            let _ = lock.remove();
            Err(e)
        }
    }
}

fn has_terminal(spec: &oci_spec::runtime::Spec) -> bool {
    spec.process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false)
}

fn restore_locked(
    root: &Path,
    id: &str,
    bundle: &config::Bundle,
    c: &criu::Common,
    pid_file: Option<&Path>,
    lock: &state::Locked,
    made: &mut Option<cgroups::Cgroup>,
) -> Result<Created> {
    let spec = &bundle.spec;
    let cg = made.insert(cgroups::create(spec.linux().as_ref(), id)?);
    let target = criu::RestoreTarget {
        spec,
        bundle: &bundle.dir,
        rootfs: &bundle.rootfs,
        cgroup: cg,
        criu_root: &root.join(format!("criu-root~{id}")),
    };
    let pid = criu::restore(c, &target).with_context(|| format!("restoring container {id:?}"))?;
    let pidfd = pidfd_open(pid)?;
    let st = State {
        oci_version: spec.version().clone(),
        id: id.to_string(),
        pid,
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        annotations: spec.annotations().clone().unwrap_or_default(),
        created: logging::rfc3339(SystemTime::now()),
        init_start_time: state::start_time(pid)?,
        cgroup: made.clone(),
        hooks: hooks::after_create(spec),
    };
    lock.save(&st)?;
    logging::debug(&format!("restored container {id:?} with init pid {pid}"));
    if let Some(p) = pid_file {
        write_pid_file(p, pid)?;
    }
    *made = None;
    Ok(Created {
        pid,
        pidfd,
        is_child: true,
        pty_master: None,
    })
}
