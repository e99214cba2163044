//! checkpoint and restore as lifecycle operations (CRIU itself is driven by `criu`): runc's
//! status rules, the container destroyed after a checkpoint that does not leave it running
//! (as runc, so its id is free for the restore), and a restored container entered into the
//! state store as a running one whose init is the restored process. As runc, restore runs
//! the prestart and createRuntime hooks when CRIU has made the restored tree's namespaces,
//! and passes a terminal's new pty master to the console socket (or relays it).

use anyhow::{anyhow, bail, Context, Result};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::SystemTime;

use super::{destroy, pidfd_open, write_pid_file, Created};
use crate::state::{self, State, Status};
use crate::{cgroups, config, criu, hooks, logging, terminal};

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

/// What `restore` takes besides the id and the bundle (runc's flags).
pub struct RestoreOpts<'a> {
    pub criu: &'a criu::Common,
    pub pid_file: Option<&'a Path>,
    pub console_socket: Option<&'a Path>,
    /// Whether berth returns once the container runs (then only a console socket can take
    /// a terminal).
    pub detach: bool,
    pub no_pivot: bool,
}

/// Makes container `id` from `bundle` with its init restored from a checkpoint. On any
/// error nothing is left behind: no state directory, cgroup or process.
pub fn restore(root: &Path, id: &str, bundle: &Path, o: &RestoreOpts) -> Result<Created> {
    config::validate_id(id)?;
    let bundle = config::load(bundle)?;
    let terminal = bundle
        .spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    terminal::check_opts(terminal, o.detach, o.console_socket)?;
    let console = o
        .console_socket
        .map(terminal::connect_console_socket)
        .transpose()?;
    let lock = state::create_dir(root, id)?;
    let mut cgroup = None;
    let ctx = Restoring {
        root,
        id,
        bundle: &bundle,
        opts: o,
        terminal,
        console: console.as_ref(),
    };
    match restore_locked(&ctx, &lock, &mut cgroup) {
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

struct Restoring<'a> {
    root: &'a Path,
    id: &'a str,
    bundle: &'a config::Bundle,
    opts: &'a RestoreOpts<'a>,
    terminal: bool,
    console: Option<&'a UnixStream>,
}

fn restore_locked(
    r: &Restoring,
    lock: &state::Locked,
    made: &mut Option<cgroups::Cgroup>,
) -> Result<Created> {
    let (id, spec) = (r.id, &r.bundle.spec);
    let record = |cg: &cgroups::Cgroup| lock.record_cgroup(cg);
    let cg = made.insert(cgroups::create(spec.linux().as_ref(), id, &record)?);
    let no_pivot_dir = r.root.join(format!("criu-host~{id}"));
    let target = criu::RestoreTarget {
        spec,
        bundle: &r.bundle.dir,
        rootfs: &r.bundle.rootfs,
        cgroup: cg,
        criu_root: &r.root.join(format!("criu-root~{id}")),
        no_pivot: r.opts.no_pivot.then_some(no_pivot_dir.as_path()),
    };
    let mut pty_master = None;
    let mut got_master = false;
    let on_notify = |n: criu::rpc::Notification| -> Result<()> {
        match n.script.as_str() {
            // The restored tree's namespaces exist and it has not run yet: runc's moment
            // for these hooks on restore.
            "setup-namespaces" => hooks::create_runtime(spec, id, &r.bundle.dir, n.pid),
            "orphan-pts-master" => {
                let fd =
                    n.fd.ok_or_else(|| anyhow!("CRIU's orphan-pts-master notification has no fd"))?;
                if !r.terminal {
                    bail!("the checkpoint has a terminal, but process.terminal is false");
                }
                got_master = true;
                match r.console {
                    Some(c) => terminal::send_master(c, fd.as_fd()),
                    None => {
                        pty_master = Some(fd);
                        Ok(())
                    }
                }
            }
            _ => Ok(()),
        }
    };
    let pid = criu::restore(r.opts.criu, &target, on_notify)
        .with_context(|| format!("restoring container {id:?}"))?;
    // (The caller kills what was restored: its cgroup is still `made`.)
    if r.terminal && !got_master {
        bail!("restoring container {id:?}: process.terminal is true, but the checkpoint has no terminal of the container's");
    }
    let pidfd = pidfd_open(pid)?;
    // As runc's restore: the restored init joins its resctrl group.
    let intel_rdt = match spec.linux().as_ref().and_then(|l| l.intel_rdt().as_ref()) {
        Some(rdt) => {
            let root = crate::intelrdt::root().ok_or_else(|| {
                anyhow!("intelRdt is specified in config, but Intel RDT is not enabled")
            })?;
            crate::intelrdt::apply(&root, rdt, id, pid)?;
            Some(crate::intelrdt::Group {
                root,
                config: rdt.clone(),
            })
        }
        None => None,
    };
    let st = State {
        oci_version: spec.version().clone(),
        id: id.to_string(),
        pid,
        bundle: r.bundle.dir.clone(),
        rootfs: r.bundle.rootfs.clone(),
        annotations: spec.annotations().clone().unwrap_or_default(),
        created: logging::rfc3339(SystemTime::now()),
        init_start_time: state::start_time(pid)?,
        cgroup: made.clone(),
        hooks: hooks::after_create(spec),
        intel_rdt,
    };
    if let Err(e) = lock.save(&st) {
        if let Some(g) = &st.intel_rdt {
            let _ = g.remove(id);
        }
        return Err(e);
    }
    logging::debug(&format!("restored container {id:?} with init pid {pid}"));
    if let Some(p) = r.opts.pid_file {
        write_pid_file(p, pid)?;
    }
    *made = None;
    Ok(Created {
        pid,
        pidfd,
        is_child: true,
        pty_master,
    })
}
