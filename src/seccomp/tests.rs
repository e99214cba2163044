//! Unit tests of the compiler: exact BPF for a small profile, and semantics checked by running
//! the compiled program in a small classic-BPF interpreter on chosen `seccomp_data`.
//! The syscall numbers used are x86_64's, so these run on x86_64 hosts.

#![cfg(target_arch = "x86_64")]

use super::compile::ENOSYS_RET;
use super::*;
use libc::{
    SECCOMP_RET_ALLOW as ALLOW, SECCOMP_RET_ERRNO as ERRNO, SECCOMP_RET_KILL_THREAD as KILL_THREAD,
};
use seccompiler::sock_filter;
use serde_json::json;

const AUDIT_X86_64: u32 = 0xc000_003e;
const AUDIT_I386: u32 = 0x4000_0003;
const AUDIT_AARCH64: u32 = 0xc000_00b7;
const X32_BIT: u32 = 0x4000_0000;
const EPERM: u32 = ERRNO | libc::EPERM as u32;
const EXDEV: u32 = ERRNO | libc::EXDEV as u32;

pub fn profile(value: serde_json::Value) -> LinuxSeccomp {
    serde_json::from_value(value).expect("test profile parses")
}

/// Runs a seccomp program the way the kernel does, on one `seccomp_data`.
fn eval(program: &[sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&nr.to_ne_bytes());
    data[4..8].copy_from_slice(&arch.to_ne_bytes());
    for (i, arg) in args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&arg.to_ne_bytes());
    }
    let (mut a, mut pc) = (0u32, 0usize);
    loop {
        let ins = &program[pc];
        pc += 1;
        let k = ins.k;
        let cond = |taken: bool| usize::from(if taken { ins.jt } else { ins.jf });
        match ins.code {
            0x20 => {
                let k = k as usize;
                a = u32::from_ne_bytes(data[k..k + 4].try_into().unwrap());
            }
            0x54 => a &= k,
            0x05 => pc += k as usize,
            0x15 => pc += cond(a == k),
            0x25 => pc += cond(a > k),
            0x35 => pc += cond(a >= k),
            0x45 => pc += cond(a & k != 0),
            0x06 => return k,
            code => panic!("unexpected BPF opcode {code:#x} at {}", pc - 1),
        }
    }
}

fn run(filter: &Filter, nr: i64, args: [u64; 6]) -> u32 {
    eval(&filter.program, AUDIT_X86_64, nr as u32, args)
}

fn arg0(v: u64) -> [u64; 6] {
    [v, 0, 0, 0, 0, 0]
}

fn ins(code: u16, jt: u8, jf: u8, k: u32) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

#[test]
fn small_profile_exact_bpf() {
    let f = compile(&profile(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["write"], "action": "SCMP_ACT_ALLOW"}]
    })))
    .unwrap();
    let expected = vec![
        ins(0x20, 0, 0, 4),            // A = arch
        ins(0x15, 0, 1, AUDIT_X86_64), // x86_64?
        ins(0x05, 0, 0, 1),            //   -> section
        ins(0x06, 0, 0, KILL_THREAD),  // other arch
        ins(0x20, 0, 0, 0),            // A = nr
        ins(0x45, 0, 1, X32_BIT),      // x32 bit set?
        ins(0x06, 0, 0, KILL_THREAD),  //   x32 is not in the filter
        ins(0x20, 0, 0, 0),            // A = nr
        ins(0x25, 0, 1, 1),            // newer than write (1)?
        ins(0x06, 0, 0, ENOSYS_RET),   //   -ENOSYS stub
        ins(0x20, 0, 0, 0),            // seccompiler body: A = nr
        ins(0x15, 0, 1, 1),            // write?
        ins(0x06, 0, 0, ALLOW),
        ins(0x06, 0, 0, EPERM), // default
    ];
    assert_eq!(f.program, expected);
    assert_eq!(f.flags, 0);
    assert!(!f.uses_notify);
}

#[test]
fn arch_check() {
    let rules = json!([{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EXDEV}]);
    let native_only = compile(&profile(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules}),
    ))
    .unwrap();
    let p = &native_only.program;
    assert_eq!(eval(p, AUDIT_X86_64, 83, [0; 6]), EXDEV);
    assert_eq!(eval(p, AUDIT_X86_64, 84, [0; 6]), ALLOW);
    assert_eq!(eval(p, AUDIT_I386, 39, [0; 6]), KILL_THREAD);
    assert_eq!(eval(p, AUDIT_AARCH64, 34, [0; 6]), KILL_THREAD);
    assert_eq!(eval(p, AUDIT_X86_64, X32_BIT | 83, [0; 6]), KILL_THREAD);

    // X86 and X32 listed: each ABI with its own numbers. AARCH64 listed: accepted, no code
    // (an x86_64 kernel never reports it).
    let all = compile(&profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"],
        "syscalls": rules
    })))
    .unwrap();
    let p = &all.program;
    assert_eq!(eval(p, AUDIT_X86_64, 83, [0; 6]), EXDEV);
    assert_eq!(eval(p, AUDIT_I386, 39, [0; 6]), EXDEV); // i386 mkdir
    assert_eq!(eval(p, AUDIT_I386, 83, [0; 6]), ALLOW); // i386 symlink
    assert_eq!(eval(p, AUDIT_X86_64, X32_BIT | 83, [0; 6]), EXDEV);
    assert_eq!(eval(p, AUDIT_X86_64, X32_BIT | 84, [0; 6]), ALLOW);
    assert_eq!(eval(p, AUDIT_AARCH64, 34, [0; 6]), KILL_THREAD);
    assert_eq!(all.program.len(), {
        let x86 = compile(&profile(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": rules
        })))
        .unwrap();
        x86.program.len()
    });
}

#[test]
fn every_operator_on_64_bit_values() {
    let value: u64 = 0x1_0000_0005;
    let probes = [
        0,
        4,
        5,
        6,
        value - 1,
        value,
        value + 1,
        0x2_0000_0004,
        0xffff_ffff,
        u64::MAX,
        0x1_ffff_ffff,
    ];
    type Holds = fn(u64, u64) -> bool;
    let ops: [(&str, Holds); 6] = [
        ("SCMP_CMP_NE", |a, v| a != v),
        ("SCMP_CMP_LT", |a, v| a < v),
        ("SCMP_CMP_LE", |a, v| a <= v),
        ("SCMP_CMP_EQ", |a, v| a == v),
        ("SCMP_CMP_GE", |a, v| a >= v),
        ("SCMP_CMP_GT", |a, v| a > v),
    ];
    for (op, holds) in ops {
        let f = compile(&profile(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getpriority"], "action": "SCMP_ACT_ERRNO",
                "errnoRet": libc::EXDEV, "args": [{"index": 1, "value": value, "op": op}]}]
        })))
        .unwrap();
        for a in probes {
            let want = if holds(a, value) { EXDEV } else { ALLOW };
            let got = run(&f, libc::SYS_getpriority, [7, a, 0, 0, 0, 0]);
            assert_eq!(got, want, "{op} with arg {a:#x}");
        }
    }
    // MASKED_EQ: value is the mask, valueTwo the datum; both halves must match.
    let (mask, datum) = (0xf000_0000_0000_00ffu64, 0x1000_0000_0000_0011u64);
    let f = compile(&profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EXDEV,
            "args": [{"index": 0, "value": mask, "valueTwo": datum, "op": "SCMP_CMP_MASKED_EQ"}]}]
    })))
    .unwrap();
    for a in [
        datum,
        datum | 0x0fff_ff00,
        0x2000_0000_0000_0011,
        0x1000_0000_0000_0012,
        0x11,
        0x1fff_ffff_ffff_ff11,
    ] {
        let want = if a & mask == datum { EXDEV } else { ALLOW };
        assert_eq!(run(&f, libc::SYS_getpriority, arg0(a)), want, "{a:#x}");
    }
}

#[test]
fn enosys_above_the_highest_named_syscall() {
    let rules = json!([{"names": ["read", "mkdir"], "action": "SCMP_ACT_ALLOW"}]);
    let arches = json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]);
    let f = compile(&profile(json!({
        "defaultAction": "SCMP_ACT_ERRNO", "architectures": arches, "syscalls": rules
    })))
    .unwrap();
    assert_eq!(run(&f, 83, [0; 6]), ALLOW);
    assert_eq!(run(&f, 50, [0; 6]), EPERM); // known to the profile's range: default
    assert_eq!(run(&f, 84, [0; 6]), ENOSYS_RET); // newer than anything named
    assert_eq!(run(&f, libc::SYS_clone3, [0; 6]), ENOSYS_RET);
    // i386 has its own highest number (mkdir = 39).
    assert_eq!(eval(&f.program, AUDIT_I386, 39, [0; 6]), ALLOW);
    assert_eq!(eval(&f.program, AUDIT_I386, 38, [0; 6]), EPERM);
    assert_eq!(eval(&f.program, AUDIT_I386, 40, [0; 6]), ENOSYS_RET);
    // A kill default gets the stub too; a permissive default does not need it.
    let kill = compile(&profile(json!({"defaultAction": "SCMP_ACT_KILL_PROCESS",
        "architectures": arches, "syscalls": rules})))
    .unwrap();
    assert_eq!(run(&kill, 400, [0; 6]), ENOSYS_RET);
    assert_eq!(run(&kill, 50, [0; 6]), libc::SECCOMP_RET_KILL_PROCESS);
    let allow = compile(&profile(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}),
    ))
    .unwrap();
    assert_eq!(run(&allow, 400, [0; 6]), ALLOW);
}

#[test]
fn unknown_names_are_skipped() {
    let with = compile(&profile(
        json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["no_such_syscall", "read", "_llseek"], "action": "SCMP_ACT_ALLOW"}]}),
    ))
    .unwrap();
    let without = compile(&profile(
        json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}),
    ))
    .unwrap();
    assert_eq!(with, without);
    let only_unknown = compile(&profile(
        json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["no_such_syscall"], "action": "SCMP_ACT_ALLOW"}]}),
    ))
    .unwrap();
    assert_eq!(run(&only_unknown, 0, [0; 6]), EPERM);
}

#[test]
fn args_on_one_index_are_ored_and_on_distinct_indexes_anded() {
    let ored = compile(&profile(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "args": [
            {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
            {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}]}),
    ))
    .unwrap();
    assert_eq!(run(&ored, libc::SYS_getpriority, arg0(1)), EPERM);
    assert_eq!(run(&ored, libc::SYS_getpriority, arg0(2)), EPERM);
    assert_eq!(run(&ored, libc::SYS_getpriority, arg0(3)), ALLOW);
    let anded = compile(&profile(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "args": [
            {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
            {"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]}]}),
    ))
    .unwrap();
    let call = |a: u64, b: u64| run(&anded, libc::SYS_getpriority, [a, b, 0, 0, 0, 0]);
    assert_eq!(call(1, 2), EPERM);
    assert_eq!(call(1, 3), ALLOW);
    assert_eq!(call(0, 2), ALLOW);
}

#[test]
fn conditional_rules_first_then_the_unconditional_one() {
    let f = compile(&profile(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 19},
        {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18,
            "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
        {"names": ["getpriority"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}]}),
    ))
    .unwrap();
    assert_eq!(run(&f, libc::SYS_getpriority, arg0(1)), ERRNO | 18);
    assert_eq!(run(&f, libc::SYS_getpriority, arg0(3)), ERRNO | 19);
    // The ALLOW rule equals the default action: dropped, as libseccomp would refuse it.
    assert_eq!(run(&f, libc::SYS_getpriority, arg0(2)), ERRNO | 19);
}

#[test]
fn every_action_and_flag() {
    let names = [
        ("SCMP_ACT_KILL", "getpid", KILL_THREAD),
        ("SCMP_ACT_KILL_THREAD", "getppid", KILL_THREAD),
        (
            "SCMP_ACT_KILL_PROCESS",
            "getuid",
            libc::SECCOMP_RET_KILL_PROCESS,
        ),
        ("SCMP_ACT_TRAP", "getgid", libc::SECCOMP_RET_TRAP),
        ("SCMP_ACT_ERRNO", "geteuid", EPERM),
        ("SCMP_ACT_TRACE", "getegid", libc::SECCOMP_RET_TRACE | 1),
        ("SCMP_ACT_LOG", "getpgrp", libc::SECCOMP_RET_LOG),
        ("SCMP_ACT_NOTIFY", "getsid", libc::SECCOMP_RET_USER_NOTIF),
    ];
    let rules: Vec<_> = names
        .iter()
        .map(|(action, name, _)| json!({"names": [name], "action": action}))
        .collect();
    let f = compile(&profile(json!({
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": libc::EXDEV,
        "listenerPath": "/run/agent.sock",
        "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
            "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        "syscalls": rules
    })))
    .unwrap();
    for (action, name, ret) in names {
        let nr = super::syscalls::number(super::compile::Abi::X86_64, name).unwrap();
        assert_eq!(run(&f, nr.into(), [0; 6]), ret, "{action}");
    }
    assert_eq!(run(&f, libc::SYS_read, [0; 6]), EXDEV);
    assert!(f.uses_notify);
    let want = libc::SECCOMP_FILTER_FLAG_LOG
        | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
        | libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
        | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
    assert_eq!(u64::from(f.flags), want);
}

#[test]
fn validation_names_the_field() {
    let base = || json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []});
    let cases = [
        (
            json!({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/a"}),
            "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1}),
            "linux.seccomp.defaultErrnoRet: SCMP_ACT_ALLOW takes no errno",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}),
            "linux.seccomp.defaultErrnoRet: 70000 does not fit",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_MIPS"]}),
            "linux.seccomp.architectures[1]: \"SCMP_ARCH_MIPS\" is not supported",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}),
            "linux.seccomp.flags[0]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "x"}),
            "linux.seccomp.listenerMetadata: set without linux.seccomp.listenerPath",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]}),
            "linux.seccomp.syscalls[0].names: must contain at least one",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["read"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["read", ""], "action": "SCMP_ACT_ERRNO"}]}),
            "linux.seccomp.syscalls[1].names[1]: empty syscall name",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["read"], "action": "SCMP_ACT_KILL", "errnoRet": 1}]}),
            "linux.seccomp.syscalls[0].errnoRet: SCMP_ACT_KILL takes no errno",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]}),
            "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/a", "syscalls": [
                {"names": ["read", "write"], "action": "SCMP_ACT_NOTIFY"}]}),
            "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY cannot be used for write",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"],
                "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}),
            "linux.seccomp.syscalls[0].args[0].index: 6 is out of range",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"],
                "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                {"index": 1, "value": 0xf0, "valueTwo": 0x1f, "op": "SCMP_CMP_MASKED_EQ"}]}]}),
            "linux.seccomp.syscalls[0].args[1].op: SCMP_CMP_MASKED_EQ can never match",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"],
                "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "valueTwo": 2, "op": "SCMP_CMP_EQ"}]}]}),
            "linux.seccomp.syscalls[0].args[0].valueTwo: only SCMP_CMP_MASKED_EQ",
        ),
    ];
    for (json, want) in cases {
        let err = format!("{:#}", compile(&profile(json.clone())).unwrap_err());
        assert!(err.starts_with(want), "{json}: got {err:?}, want {want:?}");
        assert!(validate(&profile(json)).is_err());
    }
    assert!(validate(&profile(base())).is_ok());
}

#[test]
fn default_profile_policy() {
    let p = default_profile();
    let arches = serde_json::to_value(p.architectures()).unwrap();
    assert_eq!(
        arches,
        json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
    );
    let f = compile(&p).unwrap();
    assert!(f.program.len() < 4096, "{} instructions", f.program.len());
    assert_eq!((f.flags, f.uses_notify), (0, false));
    let nr = |name| i64::from(super::syscalls::number(super::compile::Abi::X86_64, name).unwrap());
    for allowed in [
        "read",
        "execve",
        "chroot",
        "ptrace",
        "arch_prctl",
        "rseq",
        "futex_waitv",
    ] {
        assert_eq!(run(&f, nr(allowed), [0; 6]), ALLOW, "{allowed}");
    }
    for blocked in [
        "keyctl", "add_key", "mount", "unshare", "setns", "bpf", "reboot", "acct",
    ] {
        assert_eq!(run(&f, nr(blocked), [0; 6]), EPERM, "{blocked}");
    }
    let clone = libc::SYS_clone;
    assert_eq!(run(&f, clone, arg0(0x003d_0f00)), ALLOW); // a pthread_create's flags
    assert_eq!(run(&f, clone, arg0(libc::CLONE_NEWUSER as u64)), EPERM);
    assert_eq!(run(&f, libc::SYS_clone3, [0; 6]), ENOSYS_RET);
    for persona in [0, 8, 0x20000, 0x20008, 0xffff_ffff] {
        assert_eq!(run(&f, libc::SYS_personality, arg0(persona)), ALLOW);
    }
    assert_eq!(run(&f, libc::SYS_personality, arg0(1)), EPERM);
    assert_eq!(run(&f, libc::SYS_socket, arg0(libc::AF_INET as u64)), ALLOW);
    assert_eq!(
        run(&f, libc::SYS_socket, arg0(libc::AF_VSOCK as u64)),
        EPERM
    );
    assert_eq!(run(&f, libc::SYS_fchmodat2, [0; 6]), ENOSYS_RET); // newer than the profile
                                                                  // 32-bit x86 programs: their own numbers (_llseek, socketcall), same policy.
    assert_eq!(eval(&f.program, AUDIT_I386, 140, [0; 6]), ALLOW);
    assert_eq!(eval(&f.program, AUDIT_I386, 102, [0; 6]), ALLOW);
    assert_eq!(eval(&f.program, AUDIT_I386, 288, [0; 6]), EPERM); // keyctl
}

#[test]
fn supported_names_match_the_spec_strings() {
    for (action, name) in super::compile::ACTIONS {
        assert_eq!(serde_json::to_value(action).unwrap(), json!(name));
    }
    for (op, name) in super::compile::OPERATORS {
        assert_eq!(serde_json::to_value(op).unwrap(), json!(name));
    }
    for (arch, _, name) in super::compile::ARCHES {
        assert_eq!(serde_json::to_value(arch).unwrap(), json!(name));
    }
    for (flag, name, _) in super::compile::FLAGS {
        assert_eq!(serde_json::to_value(flag).unwrap(), json!(name));
    }
    assert_eq!(supported_actions().len(), 9);
    assert_eq!(supported_operators().len(), 7);
    assert!(supported_archs().contains(&"SCMP_ARCH_X86_64"));
    assert_eq!(known_flags().len(), 4);
    // Kernel 4.14+ has LOG, 4.17+ SPEC_ALLOW, 5.19+ WAIT_KILLABLE_RECV; TSYNC is ancient.
    assert_eq!(supported_flags(), known_flags());
}

/// Prints the figure for the report: `cargo test --release compile_time -- --nocapture`.
#[test]
fn compile_time_of_the_default_profile() {
    let p = default_profile();
    let runs = 50;
    let start = std::time::Instant::now();
    for _ in 0..runs {
        compile(&p).unwrap();
    }
    let each = start.elapsed() / runs;
    println!("compiling the default profile takes {each:?}");
    let dir = std::env::temp_dir().join(format!("berth-seccomp-time-{}", std::process::id()));
    cache::compile_cached(&p, &dir).unwrap();
    let start = std::time::Instant::now();
    for _ in 0..runs {
        cache::compile_cached(&p, &dir).unwrap();
    }
    println!("a cache hit takes {:?}", start.elapsed() / runs);
    std::fs::remove_dir_all(&dir).unwrap();
    // Generous bound (debug build, shared CPU): catches an accidental quadratic blow-up.
    assert!(each < std::time::Duration::from_millis(50), "{each:?}");
}
