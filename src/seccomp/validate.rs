//! Checks a `linux.seccomp` section before anything is compiled or cloned, with errors that
//! name the offending field (`linux.seccomp.syscalls[3].args[0].index: ...`).

use anyhow::{bail, Result};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction as Action, LinuxSeccompFilterFlag as Flag,
    LinuxSeccompOperator as Op,
};

use super::compile::{ACTIONS, ARCHES};

fn action_name(action: Action) -> &'static str {
    ACTIONS.iter().find(|a| a.0 == action).map_or("?", |a| a.1)
}

/// Actions that carry an errno (ERRNO) or a tracer value (TRACE) in SECCOMP_RET_DATA.
fn takes_errno(action: Action) -> bool {
    matches!(action, Action::ScmpActErrno | Action::ScmpActTrace)
}

fn check_errno(field: &str, action: Action, errno_ret: Option<u32>) -> Result<()> {
    let Some(errno) = errno_ret else {
        return Ok(());
    };
    if !takes_errno(action) {
        bail!(
            "{field}: {} takes no errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)",
            action_name(action)
        );
    }
    if errno > libc::SECCOMP_RET_DATA {
        bail!("{field}: {errno} does not fit in seccomp's 16-bit return data");
    }
    Ok(())
}

/// Validates the section; see the module doc.
pub fn validate(seccomp: &LinuxSeccomp) -> Result<()> {
    let default = seccomp.default_action();
    if default == Action::ScmpActNotify {
        // The runtime itself must still write (the notify fd to the parent) after loading.
        bail!("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
    }
    check_errno(
        "linux.seccomp.defaultErrnoRet",
        default,
        seccomp.default_errno_ret(),
    )?;
    for (i, arch) in seccomp.architectures().iter().flatten().enumerate() {
        if *arch != Arch::ScmpArchNative && !ARCHES.iter().any(|a| a.0 == *arch) {
            let supported: Vec<&str> = ARCHES.iter().map(|a| a.2).collect();
            bail!(
                "linux.seccomp.architectures[{i}]: {} is not supported (berth supports {})",
                serde_json::to_value(arch).map_or_else(|_| format!("{arch:?}"), |v| v.to_string()),
                supported.join(", ")
            );
        }
    }
    let syscalls = seccomp.syscalls().as_deref().unwrap_or_default();
    let uses_notify = syscalls.iter().any(|s| s.action() == Action::ScmpActNotify);
    for (i, flag) in seccomp.flags().iter().flatten().enumerate() {
        if *flag == Flag::SeccompFilterFlagWaitKillableRecv && !uses_notify {
            bail!(
                "linux.seccomp.flags[{i}]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a rule \
                 with SCMP_ACT_NOTIFY (the kernel refuses it without a listener)"
            );
        }
    }
    if seccomp.listener_metadata().is_some() && seccomp.listener_path().is_none() {
        bail!("linux.seccomp.listenerMetadata: set without linux.seccomp.listenerPath");
    }
    for (i, sc) in syscalls.iter().enumerate() {
        let field = format!("linux.seccomp.syscalls[{i}]");
        if sc.names().is_empty() {
            bail!("{field}.names: must contain at least one syscall name");
        }
        for (j, name) in sc.names().iter().enumerate() {
            if name.is_empty() {
                bail!("{field}.names[{j}]: empty syscall name");
            }
        }
        check_errno(&format!("{field}.errnoRet"), sc.action(), sc.errno_ret())?;
        if sc.action() == Action::ScmpActNotify {
            if seccomp.listener_path().is_none() {
                bail!("{field}.action: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath");
            }
            if sc.names().iter().any(|n| n == "write") {
                // As runc: init writes to the parent after loading the filter.
                bail!("{field}.action: SCMP_ACT_NOTIFY cannot be used for write");
            }
        }
        for (j, arg) in sc.args().iter().flatten().enumerate() {
            let field = format!("{field}.args[{j}]");
            if arg.index() > 5 {
                bail!(
                    "{field}.index: {} is out of range (syscall arguments are 0 to 5)",
                    arg.index()
                );
            }
            let value_two = arg.value_two().unwrap_or(0);
            if arg.op() == Op::ScmpCmpMaskedEq {
                if value_two & !arg.value() != 0 {
                    bail!(
                        "{field}.op: SCMP_CMP_MASKED_EQ can never match: valueTwo {value_two:#x} \
                         has bits outside the mask (value) {:#x}",
                        arg.value()
                    );
                }
            } else if value_two != 0 {
                bail!("{field}.valueTwo: only SCMP_CMP_MASKED_EQ uses valueTwo");
            }
        }
    }
    Ok(())
}
