//! Property tests of the compiler (PROPTEST_CASES sets the number of cases: `make fuzz`
//! runs many more): arbitrary `linux.seccomp` values compile to a program the kernel would
//! take, or to an error; never to a panic.

use super::*;
use proptest::prelude::*;
use serde_json::{json, Value};

const ACTIONS: &[&str] = &[
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
];
const ARCHES: &[&str] = &[
    "SCMP_ARCH_NATIVE",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_LOONGARCH64",
];
const OPS: &[&str] = &[
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];
const NAMES: &[&str] = &[
    "read",
    "write",
    "openat",
    "execve",
    "execveat",
    "clone",
    "clone3",
    "socket",
    "personality",
    "ptrace",
    "mkdir",
    "arm_fadvise64_64",
    "socketcall",
    "ipc",
    "set_tls",
    "no_such_syscall",
    "",
];
const FLAGS_NAMES: &[&str] = &[
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

fn pick(list: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    (0..list.len()).prop_map(move |i| list[i])
}

fn number() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(u32::MAX as u64),
        Just(u64::MAX),
        Just(1u64 << 32),
        0u64..64,
        any::<u64>(),
    ]
}

fn arg() -> impl Strategy<Value = Value> {
    (0u32..8, number(), prop::option::of(number()), pick(OPS)).prop_map(|(i, v, v2, op)| {
        let mut a = json!({"index": i, "value": v, "op": op});
        if let Some(v2) = v2 {
            a["valueTwo"] = json!(v2);
        }
        a
    })
}

fn rule() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(pick(NAMES), 0..4),
        pick(ACTIONS),
        prop::option::of(0u32..5000),
        prop::collection::vec(arg(), 0..4),
    )
        .prop_map(|(names, action, errno, args)| {
            let mut r = json!({"names": names, "action": action});
            if let Some(e) = errno {
                r["errnoRet"] = json!(e);
            }
            if !args.is_empty() {
                r["args"] = json!(args);
            }
            r
        })
}

fn seccomp() -> impl Strategy<Value = Value> {
    (
        pick(ACTIONS),
        prop::option::of(0u32..5000),
        prop::collection::vec(pick(ARCHES), 0..4),
        prop::collection::vec(pick(FLAGS_NAMES), 0..3),
        prop::collection::vec(rule(), 0..12),
        any::<bool>(),
    )
        .prop_map(|(default, errno, arches, flags, rules, listener)| {
            let mut s = json!({"defaultAction": default, "architectures": arches, "flags": flags, "syscalls": rules});
            if let Some(e) = errno {
                s["defaultErrnoRet"] = json!(e);
            }
            if listener {
                s["listenerPath"] = json!("/run/agent.sock");
            }
            s
        })
}

/// The kernel's checks of a classic BPF program that matter here: not empty, within
/// BPF_MAXINSNS, every jump inside the program, the last instruction a return.
fn well_formed(p: &[seccompiler::sock_filter]) -> Result<(), String> {
    if p.is_empty() || p.len() > compile::MAX_INSNS {
        return Err(format!("{} instructions", p.len()));
    }
    for (i, insn) in p.iter().enumerate() {
        let code = u32::from(insn.code);
        if code & 0x07 != libc::BPF_JMP {
            continue;
        }
        let targets: Vec<usize> = if code & 0xf0 == libc::BPF_JA {
            vec![insn.k as usize]
        } else {
            vec![usize::from(insn.jt), usize::from(insn.jf)]
        };
        if targets.iter().any(|t| i + 1 + t >= p.len()) {
            return Err(format!(
                "instruction {i} jumps out of the program: {insn:?}"
            ));
        }
    }
    if u32::from(p[p.len() - 1].code) & 0x07 != libc::BPF_RET {
        return Err("the last instruction is not a return".into());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    /// Any profile compiles to a well-formed program, the same each time, that returns a
    /// listener exactly when a rule notifies; or it is refused with an error naming
    /// linux.seccomp.
    #[test]
    fn any_profile_compiles_to_a_well_formed_program_or_an_error(v in seccomp()) {
        let s: LinuxSeccomp = serde_json::from_value(v.clone()).unwrap();
        match compile(&s) {
            Ok(f) => {
                prop_assert_eq!(well_formed(&f.program), Ok(()), "{}", v);
                prop_assert_eq!(compile(&s).unwrap(), f.clone());
                let notifies = v["syscalls"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["action"] == "SCMP_ACT_NOTIFY");
                prop_assert_eq!(f.uses_notify, notifies);
            }
            Err(e) => {
                let e = format!("{e:#}");
                prop_assert!(e.contains("seccomp"), "{}: {}", v, e);
            }
        }
    }
}
