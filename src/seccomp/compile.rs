//! Compiles an OCI `linux.seccomp` section into one classic-BPF seccomp program.
//!
//! One generator: seccompiler emits every syscall-number comparison, argument comparison
//! (64-bit values split into two 32-bit halves) and return. It knows one match action and one
//! mismatch action per filter and has no NOTIFY, so each ABI's body is generated with two
//! placeholder actions, then every placeholder RET is rewritten with the action of the rule it
//! belongs to, walking seccompiler's fixed emission order (checked instruction by instruction:
//! a layout change in seccompiler fails compilation instead of producing a wrong filter).
//! Writing a second generator for the multi-action case would duplicate the argument code
//! seccompiler already gets right. Around the bodies this module adds only loads and jumps:
//! the dispatch on `seccomp_data.arch` (seccompiler checks a single architecture), the x32
//! bit test, and runc's -ENOSYS stub.
//!
//! Semantics follow runc + libseccomp where the spec is silent:
//! - the native ABI is always in the filter; `architectures` adds more. Only ABIs the host
//!   kernel can run get code (a filter never sees another kernel's `seccomp_data.arch`), so
//!   listing aarch64 on x86_64 is accepted and costs nothing. Any other arch value gets the
//!   bad-arch action, SECCOMP_RET_KILL_THREAD, libseccomp's default.
//! - x86 (32-bit) syscalls on x86_64 are filtered only when SCMP_ARCH_X86 is listed, with the
//!   i386 numbers (as libseccomp does), otherwise they hit the bad-arch action; same for x32
//!   (x86_64's audit arch with bit 30 set in the syscall number).
//! - a name is resolved per ABI; names unknown on an ABI are skipped there.
//! - a rule whose action equals the default action is dropped (libseccomp refuses it).
//! - args on distinct indexes are ANDed in one rule; if an index repeats, each arg becomes its
//!   own rule (ORed), as runc does. Conditional rules of a syscall are tried first, in profile
//!   order; an unconditional rule for the same syscall is its fallback.
//! - unless the default action lets syscalls through (ALLOW, LOG, TRACE) or already returns
//!   ENOSYS, syscall numbers above the highest one the profile names (per ABI) return ENOSYS,
//!   so libc falls back from syscalls newer than the profile (clone3 -> clone, ...). As in
//!   runc, this covers the ABIs `architectures` lists (not the implicit native one) whose
//!   highest named number is above 0.

use anyhow::{bail, Context as _, Result};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction as Action, LinuxSeccompArg,
    LinuxSeccompFilterFlag as Flag, LinuxSeccompOperator as Op,
};
use seccompiler::{
    sock_filter, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition,
    SeccompFilter, SeccompRule, TargetArch,
};
use std::collections::BTreeMap;

use super::syscalls;

/// A syscall ABI berth has a table for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abi {
    X86_64,
    X32,
    I386,
    Aarch64,
    Arm,
}

// AUDIT_ARCH_* from <linux/audit.h>: EM_* | 64BIT (0x8000_0000) | LE (0x4000_0000).
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
const AUDIT_ARCH_ARM: u32 = 0x4000_0028;

impl Abi {
    fn audit_arch(self) -> u32 {
        match self {
            Abi::X86_64 | Abi::X32 => AUDIT_ARCH_X86_64,
            Abi::I386 => AUDIT_ARCH_I386,
            Abi::Aarch64 => AUDIT_ARCH_AARCH64,
            Abi::Arm => AUDIT_ARCH_ARM,
        }
    }
}

/// The OCI architectures berth accepts, with their ABI and name.
pub const ARCHES: &[(Arch, Abi, &str)] = &[
    (Arch::ScmpArchX86_64, Abi::X86_64, "SCMP_ARCH_X86_64"),
    (Arch::ScmpArchX86, Abi::I386, "SCMP_ARCH_X86"),
    (Arch::ScmpArchX32, Abi::X32, "SCMP_ARCH_X32"),
    (Arch::ScmpArchAarch64, Abi::Aarch64, "SCMP_ARCH_AARCH64"),
    (Arch::ScmpArchArm, Abi::Arm, "SCMP_ARCH_ARM"),
];

#[cfg(target_arch = "x86_64")]
pub const NATIVE: Abi = Abi::X86_64;
/// The ABIs this host's kernel runs, native first: the only ones a filter can see.
#[cfg(target_arch = "x86_64")]
pub const HOST_FAMILY: &[Abi] = &[Abi::X86_64, Abi::I386, Abi::X32];
#[cfg(target_arch = "aarch64")]
pub const NATIVE: Abi = Abi::Aarch64;
#[cfg(target_arch = "aarch64")]
pub const HOST_FAMILY: &[Abi] = &[Abi::Aarch64, Abi::Arm];
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("berth's seccomp compiler supports x86_64 and aarch64 hosts");

/// Every action, with its name.
pub const ACTIONS: &[(Action, &str)] = &[
    (Action::ScmpActKill, "SCMP_ACT_KILL"),
    (Action::ScmpActKillProcess, "SCMP_ACT_KILL_PROCESS"),
    (Action::ScmpActKillThread, "SCMP_ACT_KILL_THREAD"),
    (Action::ScmpActTrap, "SCMP_ACT_TRAP"),
    (Action::ScmpActErrno, "SCMP_ACT_ERRNO"),
    (Action::ScmpActTrace, "SCMP_ACT_TRACE"),
    (Action::ScmpActAllow, "SCMP_ACT_ALLOW"),
    (Action::ScmpActLog, "SCMP_ACT_LOG"),
    (Action::ScmpActNotify, "SCMP_ACT_NOTIFY"),
];

/// Every comparison operator, with its name.
pub const OPERATORS: &[(Op, &str)] = &[
    (Op::ScmpCmpNe, "SCMP_CMP_NE"),
    (Op::ScmpCmpLt, "SCMP_CMP_LT"),
    (Op::ScmpCmpLe, "SCMP_CMP_LE"),
    (Op::ScmpCmpEq, "SCMP_CMP_EQ"),
    (Op::ScmpCmpGe, "SCMP_CMP_GE"),
    (Op::ScmpCmpGt, "SCMP_CMP_GT"),
    (Op::ScmpCmpMaskedEq, "SCMP_CMP_MASKED_EQ"),
];

/// Every filter flag, with its name and the bit passed to seccomp(2). TSYNC passes nothing:
/// init is single-threaded when it loads the filter, so there is no thread to synchronise
/// (runc treats it the same way).
pub const FLAGS: &[(Flag, &str, u32)] = &[
    (Flag::SeccompFilterFlagTsync, "SECCOMP_FILTER_FLAG_TSYNC", 0),
    (
        Flag::SeccompFilterFlagLog,
        "SECCOMP_FILTER_FLAG_LOG",
        libc::SECCOMP_FILTER_FLAG_LOG as u32,
    ),
    (
        Flag::SeccompFilterFlagSpecAllow,
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW as u32,
    ),
    (
        Flag::SeccompFilterFlagWaitKillableRecv,
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV as u32,
    ),
];

/// The kernel's BPF_MAXINSNS.
pub const MAX_INSNS: usize = 4096;
/// What a syscall of an ABI outside the filter gets (libseccomp's default bad-arch action).
const BAD_ARCH_RET: u32 = libc::SECCOMP_RET_KILL_THREAD;
pub const ENOSYS_RET: u32 = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;

/// The value the filter returns for `action`; errno_ret defaults to EPERM, as in runc.
pub fn action_ret(action: Action, errno_ret: Option<u32>) -> u32 {
    let data = errno_ret.unwrap_or(libc::EPERM as u32) & libc::SECCOMP_RET_DATA;
    match action {
        Action::ScmpActKill | Action::ScmpActKillThread => libc::SECCOMP_RET_KILL_THREAD,
        Action::ScmpActKillProcess => libc::SECCOMP_RET_KILL_PROCESS,
        Action::ScmpActTrap => libc::SECCOMP_RET_TRAP,
        Action::ScmpActErrno => libc::SECCOMP_RET_ERRNO | data,
        Action::ScmpActTrace => libc::SECCOMP_RET_TRACE | data,
        Action::ScmpActLog => libc::SECCOMP_RET_LOG,
        Action::ScmpActAllow => libc::SECCOMP_RET_ALLOW,
        Action::ScmpActNotify => libc::SECCOMP_RET_USER_NOTIF,
    }
}

/// The ABIs a profile compiles to: the native one, then the listed ones the host runs; each
/// with whether `architectures` lists it (runc only stubs listed ones with -ENOSYS).
pub fn abis(seccomp: &LinuxSeccomp) -> Vec<(Abi, bool)> {
    let mut abis = vec![(NATIVE, false)];
    for arch in seccomp.architectures().iter().flatten() {
        let abi = match arch {
            Arch::ScmpArchNative => Some(NATIVE),
            _ => ARCHES.iter().find(|a| a.0 == *arch).map(|a| a.1),
        };
        let Some(abi) = abi.filter(|a| HOST_FAMILY.contains(a)) else {
            continue;
        };
        match abis.iter_mut().find(|a| a.0 == abi) {
            Some(known) => known.1 = true,
            None => abis.push((abi, true)),
        }
    }
    abis
}

/// The rules of one syscall number on one ABI, with their return values.
#[derive(Default)]
struct SyscallRules {
    conditional: Vec<(SeccompRule, u32)>,
    unconditional: Option<u32>,
}

// seccompiler's actions for the two placeholders; every RET carrying them is rewritten.
const MATCH: SeccompAction = SeccompAction::Trace(0xfff1);
const MISMATCH: SeccompAction = SeccompAction::Trace(0xfff2);

/// One ABI's body (starting after seccompiler's arch check) and the highest syscall number
/// the profile names on it.
pub fn compile_abi(
    seccomp: &LinuxSeccomp,
    abi: Abi,
    default_ret: u32,
) -> Result<(Vec<sock_filter>, Option<u32>)> {
    let mut by_nr: BTreeMap<u32, SyscallRules> = BTreeMap::new();
    let mut max_nr = None;
    for (i, sc) in seccomp.syscalls().iter().flatten().enumerate() {
        let ret = action_ret(sc.action(), sc.errno_ret());
        let rules = match sc.args().as_deref() {
            None | Some([]) => None,
            Some(args) => {
                Some(rules_for(args).with_context(|| format!("linux.seccomp.syscalls[{i}]"))?)
            }
        };
        for name in sc.names() {
            let Some(nr) = syscalls::number(abi, name) else {
                continue;
            };
            max_nr = max_nr.max(Some(nr));
            if ret == default_ret {
                continue;
            }
            let entry = by_nr.entry(nr).or_default();
            match &rules {
                None => {
                    entry.unconditional.get_or_insert(ret);
                }
                Some(rules) => entry
                    .conditional
                    .extend(rules.iter().map(|r| (r.clone(), ret))),
            }
        }
    }
    let chains: BTreeMap<i64, Vec<SeccompRule>> = by_nr
        .iter()
        .map(|(nr, r)| {
            let chain = r.conditional.iter().map(|c| c.0.clone()).collect();
            (i64::from(*nr), chain)
        })
        .collect();
    // The TargetArch only shapes the arch-check prefix, which is replaced.
    let filter = SeccompFilter::new(chains, MISMATCH, MATCH, TargetArch::x86_64)
        .context("building the seccompiler filter")?;
    let program: BpfProgram = filter.try_into().context("generating BPF")?;
    let body = patch_returns(&program, &by_nr, default_ret).context(
        "seccompiler's BPF layout is not the one berth patches (seccompiler version change?)",
    )?;
    Ok((body, max_nr))
}

/// seccompiler conditions for one syscall entry's args: one rule, or one rule per arg when an
/// index repeats.
fn rules_for(args: &[LinuxSeccompArg]) -> Result<Vec<SeccompRule>> {
    let conds = args
        .iter()
        .enumerate()
        .map(|(j, a)| condition(a).with_context(|| format!("args[{j}]")))
        .collect::<Result<Vec<_>>>()?;
    let repeated = args
        .iter()
        .enumerate()
        .any(|(j, a)| args[..j].iter().any(|b| b.index() == a.index()));
    let groups = if repeated {
        conds.into_iter().map(|c| vec![c]).collect()
    } else {
        vec![conds]
    };
    groups
        .into_iter()
        .map(|g| SeccompRule::new(g).context("building a seccompiler rule"))
        .collect()
}

fn condition(arg: &LinuxSeccompArg) -> Result<SeccompCondition> {
    let (op, value) = match arg.op() {
        Op::ScmpCmpNe => (SeccompCmpOp::Ne, arg.value()),
        Op::ScmpCmpLt => (SeccompCmpOp::Lt, arg.value()),
        Op::ScmpCmpLe => (SeccompCmpOp::Le, arg.value()),
        Op::ScmpCmpEq => (SeccompCmpOp::Eq, arg.value()),
        Op::ScmpCmpGe => (SeccompCmpOp::Ge, arg.value()),
        Op::ScmpCmpGt => (SeccompCmpOp::Gt, arg.value()),
        // libseccomp's order: value is the mask, valueTwo the datum.
        Op::ScmpCmpMaskedEq => (
            SeccompCmpOp::MaskedEq(arg.value()),
            arg.value_two().unwrap_or(0),
        ),
    };
    let index = u8::try_from(arg.index()).context("index out of range")?;
    SeccompCondition::new(index, SeccompCmpArgLen::Qword, op, value)
        .context("building a seccompiler condition")
}

// Classic BPF opcodes (<linux/bpf_common.h>).
const LD_W_ABS: u16 = 0x20;
const JMP_JA: u16 = 0x05;
const JMP_JEQ_K: u16 = 0x15;
const JMP_JGT_K: u16 = 0x25;
const JMP_JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;
const NR_OFFSET: u32 = 0;
const ARCH_OFFSET: u32 = 4;

fn stmt(code: u16, k: u32) -> sock_filter {
    sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// Rewrites seccompiler's placeholder RETs with each rule's action and drops the jumps
/// seccompiler emits around an unconditional syscall (JEQ; JA 1; JA 2; RET; RET becomes
/// JEQ; RET), which more than halves the size of a long allow list. Every jump seccompiler
/// emits stays inside one syscall's block or lands on the next block's first instruction,
/// which is kept, so removing instructions inside a block never breaks a jump.
fn patch_returns(
    program: &[sock_filter],
    by_nr: &BTreeMap<u32, SyscallRules>,
    default_ret: u32,
) -> Result<Vec<sock_filter>> {
    let match_ret = u32::from(MATCH);
    let mismatch_ret = u32::from(MISMATCH);
    let is_ret = |ins: &sock_filter, k: u32| ins.code == RET_K && ins.k == k;
    let at = |i: usize| program.get(i).context("program ends early");
    // seccompiler's prefix: load arch, compare, kill.
    if program.len() < 4 || program[0].code != LD_W_ABS || program[2].code != RET_K {
        bail!("unexpected arch-check prefix");
    }
    let mut out = Vec::with_capacity(program.len());
    let mut i = 3;
    if by_nr.is_empty() {
        if !is_ret(at(i)?, mismatch_ret) {
            bail!("expected the default RET at {i}");
        }
        out.push(stmt(RET_K, default_ret));
        i += 1;
    } else {
        if *at(i)? != stmt(LD_W_ABS, NR_OFFSET) {
            bail!("expected the syscall-number load at {i}");
        }
        out.push(program[i].clone());
        i += 1;
        for (nr, rules) in by_nr {
            if *at(i)? != jump(JMP_JEQ_K, *nr, 0, 1) {
                bail!("expected the comparison with syscall {nr} at {i}");
            }
            out.push(program[i].clone());
            i += 1;
            if rules.conditional.is_empty() {
                let ret = rules.unconditional.context("a syscall with no rule")?;
                let shape = [
                    stmt(JMP_JA, 1),
                    stmt(JMP_JA, 2),
                    stmt(RET_K, match_ret),
                    stmt(RET_K, mismatch_ret),
                ];
                if program.get(i..i + 4) != Some(&shape[..]) {
                    bail!("unexpected unconditional block for syscall {nr} at {i}");
                }
                out.push(stmt(RET_K, ret));
                i += 4;
                continue;
            }
            let mut matches = rules.conditional.iter().map(|c| c.1);
            loop {
                let ins = at(i)?;
                i += 1;
                if ins.code != RET_K {
                    out.push(ins.clone());
                } else if ins.k == match_ret {
                    let ret = matches.next().context("more rule RETs than rules")?;
                    out.push(stmt(RET_K, ret));
                } else if ins.k == mismatch_ret {
                    if matches.next().is_some() {
                        bail!("fewer rule RETs than rules for syscall {nr}");
                    }
                    out.push(stmt(RET_K, rules.unconditional.unwrap_or(default_ret)));
                    break;
                } else {
                    bail!("unexpected RET {:#x} at {}", ins.k, i - 1);
                }
            }
        }
        if !is_ret(at(i)?, mismatch_ret) {
            bail!("expected the final default RET at {i}");
        }
        out.push(stmt(RET_K, default_ret));
        i += 1;
    }
    if i != program.len() {
        bail!("{} instructions left over", program.len() - i);
    }
    Ok(out)
}

/// `[LD nr; JGT max → ENOSYS]`: the -ENOSYS stub for one ABI, or just the load.
fn nr_prologue(max_nr: Option<u32>) -> Vec<sock_filter> {
    let mut code = vec![stmt(LD_W_ABS, NR_OFFSET)];
    if let Some(max) = max_nr {
        code.push(jump(JMP_JGT_K, max, 0, 1));
        code.push(stmt(RET_K, ENOSYS_RET));
    }
    code
}

/// Lays out the final program: dispatch on the arch, then one section per audit arch.
pub fn assemble(bodies: &[(Abi, Vec<sock_filter>, Option<u32>)]) -> Vec<sock_filter> {
    let find = |abi: Abi| bodies.iter().find(|b| b.0 == abi);
    let mut sections: Vec<(u32, Vec<sock_filter>)> = Vec::new();
    for (abi, body, max_nr) in bodies {
        match abi {
            Abi::X32 if find(Abi::X86_64).is_some() => continue, // inside x86_64's section
            Abi::X86_64 | Abi::X32 => {
                // x86_64 and x32 share an audit arch; x32 sets bit 30 of the syscall number.
                let x64 = find(Abi::X86_64).map(|b| [nr_prologue(b.2), b.1.clone()].concat());
                let x32 = find(Abi::X32).map(|b| [nr_prologue(b.2), b.1.clone()].concat());
                let x32_bit = super::compat_tables::X32_SYSCALL_BIT;
                let mut code = vec![stmt(LD_W_ABS, NR_OFFSET)];
                match (x64, x32) {
                    (Some(x64), Some(x32)) => {
                        code.push(jump(JMP_JSET_K, x32_bit, 0, 1));
                        code.push(stmt(JMP_JA, x64.len() as u32));
                        code.extend(x64);
                        code.extend(x32);
                    }
                    (Some(x64), None) => {
                        code.push(jump(JMP_JSET_K, x32_bit, 0, 1));
                        code.push(stmt(RET_K, BAD_ARCH_RET));
                        code.extend(x64);
                    }
                    (None, Some(x32)) => {
                        code.push(jump(JMP_JSET_K, x32_bit, 1, 0));
                        code.push(stmt(RET_K, BAD_ARCH_RET));
                        code.extend(x32);
                    }
                    (None, None) => unreachable!("the arm matched one of them"),
                }
                sections.push((abi.audit_arch(), code));
            }
            _ => sections.push((
                abi.audit_arch(),
                [nr_prologue(*max_nr), body.clone()].concat(),
            )),
        }
    }
    // Header: load arch; per section `JEQ arch; JA section`; bad-arch RET.
    let header_len = 1 + 2 * sections.len() + 1;
    let mut program = vec![stmt(LD_W_ABS, ARCH_OFFSET)];
    let mut start = header_len;
    for (n, (audit, code)) in sections.iter().enumerate() {
        let ja_index = 2 + 2 * n;
        program.push(jump(JMP_JEQ_K, *audit, 0, 1));
        program.push(stmt(JMP_JA, (start - ja_index - 1) as u32));
        start += code.len();
    }
    program.push(stmt(RET_K, BAD_ARCH_RET));
    for (_, code) in sections {
        program.extend(code);
    }
    program
}
