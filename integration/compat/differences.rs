//! berth's intended differences from runc: where berth is stricter for safety or follows
//! the spec where no caller depends on runc's looseness. Every compat test that sees berth
//! and runc differ on purpose names its row here (`intended`), so the list stays complete.

pub struct Difference {
    /// The case, as the test that meets it names it.
    pub case: &'static str,
    pub berth: &'static str,
    pub runc: &'static str,
    pub reason: &'static str,
}

pub const INTENDED: &[Difference] = &[
    Difference {
        case: "empty root.path",
        berth: "refuses the config: `config.json: root.path: must not be empty`",
        runc: "uses the bundle directory itself, config.json included, as the root filesystem",
        reason: "an empty path is a mistake, and mounting over the bundle is never what was meant",
    },
    Difference {
        case: "config.json not a regular file",
        berth: "refuses a FIFO, device or directory in place of config.json, naming the file",
        runc: "blocks forever opening a FIFO (create hangs); reads a directory and fails",
        reason: "a create that hangs holds its caller forever and leaves its state directory",
    },
    Difference {
        case: "ids above 2147483647",
        berth: "refuses a process.user uid, gid or additional gid above 2147483647, as runc 1.1 does",
        runc: "runc 1.5 runs with any such id that is mapped (all but 4294967295 outside a user namespace)",
        reason: "ids are signed in places and -1 means \"unchanged\" to setresuid; managers were written against runc 1.1's range",
    },
    Difference {
        case: "events --stats: hugetlb on a hybrid host",
        berth: "reports hugetlb usage from the cgroup2 hierarchy where the controller sits there",
        runc: "its v1 manager looks for hugetlb in v1 mounts only and reports an empty map",
        reason:
            "berth places hugetlb limits in cgroup2 on such hosts, so it reports what it limits",
    },
    Difference {
        case: "memory.kernelTCP on cgroup v1",
        berth: "writes memory.kmem.tcp.limit_in_bytes where the kernel has it (as crun)",
        runc: "ignores it with the kernel memory warning",
        reason: "the file still works on v1 kernels; a config that asks for the limit gets it",
    },
    Difference {
        case: "device access letters outside rwm",
        berth: "refuses the config, naming linux.resources.devices[N].access",
        runc: "drops the unknown letters and applies the rest",
        reason: "the spec allows only r, w and m; a typo must not silently widen or narrow access",
    },
    Difference {
        case: "version: compiler and seccomp lines",
        berth: "`rustc: …` and `seccompiler: …` after commit and spec",
        runc: "`go: …` and `libseccomp: …` after commit and spec",
        reason: "each names what it is built with; berth filters syscalls with seccompiler, not libseccomp",
    },
    Difference {
        case: "debug log lines: file and func",
        berth: "debug-mode log lines have level, msg and time only",
        runc: "with --debug, logrus adds the Go source location (file, func) to each line",
        reason: "Go source locations mean nothing for berth and no manager reads them",
    },
    Difference {
        case: "a flag's short and long forms together",
        berth: "`list -q --quiet` is the flag given twice, accepted like `--quiet --quiet`",
        runc: "urfave/cli refuses it: \"Cannot use two forms of the same flag\", exit 1",
        reason: "a repeated flag means the same whichever form it takes; refusing one mix \
                 and not the other protects nothing",
    },
    Difference {
        case: "seccomp profile denying getcwd",
        berth: "checks process.cwd before loading a filter (noNewPrivileges false) and runs the process",
        runc: "checks it with getcwd after loading the filter and fails: getwd: operation not permitted",
        reason: "nothing a runtime does after loading the container's filter may depend on the profile; crun runs it too",
    },
    Difference {
        case: "no mount namespace: a read-only tmpfs",
        berth: "makes the tmpfs read-only after filling it, as with a mount namespace",
        runc: "skips its final read-only remounts without a mount namespace: the tmpfs stays writable",
        reason: "an accepted `ro` does what it says (charter); nothing depends on the writable tmpfs",
    },
    Difference {
        case: "no mount namespace: root.readonly",
        berth: "refuses the config, naming root.readonly (it would remount the runtime's own mount of the rootfs)",
        runc: "accepts it and leaves the root writable",
        reason: "a flag that is accepted does what it says, or fails with a clear error (charter)",
    },
    Difference {
        case: "no mount namespace: a mount that fails",
        berth: "detaches the mounts it made in the runtime's namespace before failing",
        runc: "leaves the mounts it made before the failing one on the host",
        reason: "bad input leaves nothing behind (charter); only a container that started keeps them, as in runc",
    },
    Difference {
        case: "kill --all signals every process",
        berth: "kill --all signals every process in the container's cgroup, running or stopped",
        runc: "1.5.1 signals init only (--all is hidden as obsolete, it only turns 'container not running' into success); 1.1.5 signals every process",
        reason: "podman 4 and containerd 1.6 stop a container without its own pid namespace with kill --all and expect every process signalled (runc 1.1's meaning)",
    },
    Difference {
        case: "a directory as the command",
        berth: "exec: \"/etc\": permission denied (what execve says of it), as runc 1.1",
        runc: "1.5.1: exec: \"/etc\": is a directory (Go 1.22's LookPath)",
        reason: "docker 20.10 and podman 4.3 match \"permission denied\" for exit code 126 \
                 (cannot invoke); with \"is a directory\" docker exits 125 and podman's exec 255",
    },
    Difference {
        case: "start with a failing startContainer hook",
        berth: "start exits 1 with the hook's error, once the container is stopped",
        runc: "start exits 0; init prints the hook's error and exits",
        reason: "the spec: a failing startContainer hook must generate an error; a manager must not take the container for started",
    },
    Difference {
        case: "update: -r with other flags",
        berth: "refuses `update -r FILE --memory …`, naming the flag, and changes nothing",
        runc: "applies the file and silently ignores every other resource flag",
        reason: "a limit asked for must not be dropped without a word; no manager passes both",
    },
    Difference {
        case: "update: a refused update changes nothing",
        berth: "checks the values (ranges, cpus and mems, swap against memory) before \
                writing any, so an update refused for them leaves every limit as it was",
        runc: "writes in turn and stops at the first the kernel refuses (memory 10m is left \
               when memory+swap 5m is refused; its roll-back fails)",
        reason: "a failed command must not leave a half-applied state behind",
    },
    Difference {
        case: "update: checkBeforeUpdate on cgroup v1",
        berth: "honours memory.checkBeforeUpdate on v1 too: \"rejecting memory limit L <= usage U\"",
        runc: "checks it on cgroup v2 only; on v1 the kernel's EBUSY gives \
               \"unable to set memory limit to L (current usage: …)\"",
        reason: "the spec field asks for the check whatever the cgroup version; both refuse",
    },
];

/// The row for `case`; a test that meets an unlisted difference fails here.
#[track_caller]
pub fn intended(case: &str) -> &'static Difference {
    INTENDED
        .iter()
        .find(|d| d.case == case)
        .unwrap_or_else(|| panic!("{case}: not an intended difference (compat/differences.rs)"))
}

#[test]
fn every_difference_has_a_reason() {
    for d in INTENDED {
        assert!(
            !d.reason.is_empty() && !d.berth.is_empty() && !d.runc.is_empty(),
            "{}: a difference needs what each does and why",
            d.case
        );
    }
    let mut cases: Vec<_> = INTENDED.iter().map(|d| d.case).collect();
    cases.sort();
    cases.dedup();
    assert_eq!(cases.len(), INTENDED.len(), "a case is listed twice");
}
