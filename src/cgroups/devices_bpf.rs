//! The cgroup v2 device controller: an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE,
//! generated from the emulated v1 rule state, loaded with bpf(BPF_PROG_LOAD) and attached
//! to the container's cgroup with BPF_PROG_ATTACH (BPF_F_ALLOW_MULTI, so programs of
//! ancestor cgroups keep applying too: the kernel allows an access only if all allow it).
//!
//! The instructions are assembled by hand: the crate's fixed dependency list has no BPF
//! crate, and the program has one tiny fixed shape (load three context fields, then one
//! compare-and-return block per rule), so an assembler or libbpf would add far more than
//! it saves.

use anyhow::{bail, Result};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::devices::{DevType, Emulated, RWM};

/// One eBPF instruction, laid out as struct bpf_insn.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    /// dst_reg in the low nibble, src_reg in the high one.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

const LDX_MEM_W: u8 = 0x61; // dst = *(u32 *)(src + off)
const ALU64_MOV_X: u8 = 0xbf; // dst = src
const ALU64_MOV_K: u8 = 0xb7; // dst = imm
const ALU64_AND_K: u8 = 0x57; // dst &= imm
const ALU64_RSH_K: u8 = 0x77; // dst >>= imm
const JMP_JEQ_K: u8 = 0x15; // if dst == imm: pc += off
const JMP_JNE_K: u8 = 0x55; // if dst != imm: pc += off
const JMP_EXIT: u8 = 0x95;

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: dst | (src << 4),
        off,
        imm,
    }
}

/// BPF_DEVCG_DEV_BLOCK / BPF_DEVCG_DEV_CHAR, as in the low 16 bits of access_type.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

/// The program for an emulated rule state. Registers after the prologue: r2 = device
/// type, r3 = requested access bits, r4 = major, r5 = minor (struct bpf_cgroup_dev_ctx is
/// { u32 access_type (access << 16 | type); u32 major; u32 minor; }, pointed to by r1).
/// In allow-by-default state each exception denies when the request overlaps it (as v1's
/// match_exception_partial); otherwise an exception allows when it covers the whole
/// request (as v1's match_exception).
pub fn program(st: &Emulated) -> Vec<Insn> {
    let mut p = vec![
        insn(LDX_MEM_W, 2, 1, 0, 0),
        insn(ALU64_AND_K, 2, 0, 0, 0xffff),
        insn(LDX_MEM_W, 3, 1, 0, 0),
        insn(ALU64_RSH_K, 3, 0, 0, 16),
        insn(LDX_MEM_W, 4, 1, 4, 0),
        insn(LDX_MEM_W, 5, 1, 8, 0),
    ];
    for e in &st.exceptions {
        // Jumps carry off = -1 until the block length is known: each skips to the block's end.
        let mut block = Vec::new();
        match e.typ {
            DevType::All => {}
            DevType::Char => block.push(insn(JMP_JNE_K, 2, 0, -1, DEV_CHAR)),
            DevType::Block => block.push(insn(JMP_JNE_K, 2, 0, -1, DEV_BLOCK)),
        }
        if e.access != RWM {
            block.push(insn(ALU64_MOV_X, 1, 3, 0, 0));
            if st.default_allow {
                block.push(insn(ALU64_AND_K, 1, 0, 0, i32::from(e.access)));
                block.push(insn(JMP_JEQ_K, 1, 0, -1, 0));
            } else {
                block.push(insn(ALU64_AND_K, 1, 0, 0, i32::from(!e.access & RWM)));
                block.push(insn(JMP_JNE_K, 1, 0, -1, 0));
            }
        }
        if let Some(m) = e.major {
            block.push(insn(JMP_JNE_K, 4, 0, -1, m as i32));
        }
        if let Some(m) = e.minor {
            block.push(insn(JMP_JNE_K, 5, 0, -1, m as i32));
        }
        block.push(insn(ALU64_MOV_K, 0, 0, 0, i32::from(!st.default_allow)));
        block.push(insn(JMP_EXIT, 0, 0, 0, 0));
        let n = block.len();
        for (i, ins) in block.iter_mut().enumerate() {
            if ins.off == -1 {
                ins.off = (n - i - 1) as i16;
            }
        }
        p.extend(block);
    }
    p.push(insn(ALU64_MOV_K, 0, 0, 0, i32::from(st.default_allow)));
    p.push(insn(JMP_EXIT, 0, 0, 0, 0));
    p
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// The BPF_PROG_LOAD part of union bpf_attr, zero-padded (the kernel requires unknown
/// trailing bytes to be zero).
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    pad: [u64; 8],
}

/// The BPF_PROG_ATTACH part of union bpf_attr.
#[repr(C)]
#[derive(Default)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
    pad: [u32; 11],
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> nix::Result<libc::c_long> {
    // SAFETY: attr is a live, fully initialised #[repr(C)] bpf_attr variant and the size
    // passed is its exact size; the kernel reads (and for logs writes) only within it and
    // the buffers it points to, which the caller keeps alive across the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>(),
        )
    };
    if r < 0 {
        return Err(nix::errno::Errno::last());
    }
    Ok(r)
}

/// Loads the program; on a verifier rejection the error carries the verifier's log.
pub fn load(prog: &[Insn]) -> Result<OwnedFd> {
    let license = c"Apache";
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: prog.len() as u32,
        insns: prog.as_ptr() as u64,
        license: license.as_ptr() as u64,
        ..Default::default()
    };
    attr.prog_name[..6].copy_from_slice(b"berth\0");
    match bpf(BPF_PROG_LOAD, &mut attr) {
        // SAFETY: on success BPF_PROG_LOAD returns a new fd that nothing else owns.
        Ok(fd) => Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) }),
        Err(e) => {
            // Again with the verifier log, only for the message.
            let mut log = vec![0u8; 64 * 1024];
            attr.log_level = 1;
            attr.log_size = log.len() as u32;
            attr.log_buf = log.as_mut_ptr() as u64;
            let _ = bpf(BPF_PROG_LOAD, &mut attr);
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            bail!(
                "loading the cgroup device eBPF program: {e}: {}",
                String::from_utf8_lossy(&log[..end]).trim()
            )
        }
    }
}

/// Attaches a loaded program to the cgroup directory `cgroup`.
pub fn attach(prog: BorrowedFd<'_>, cgroup: BorrowedFd<'_>) -> Result<()> {
    let mut attr = ProgAttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..Default::default()
    };
    bpf(BPF_PROG_ATTACH, &mut attr)
        .map_err(|e| anyhow::anyhow!("attaching the device eBPF program to the cgroup: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::devices::{emulate, Rule, DEFAULT_ALLOW, MKNOD, READ, WRITE};
    use super::*;

    /// Runs the program on one request, as the kernel would (only the few opcodes we emit).
    fn run(p: &[Insn], typ: i32, access: u8, major: u32, minor: u32) -> bool {
        let ctx = [((access as u32) << 16) | typ as u32, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = p[pc];
            let (d, s) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            pc += 1;
            match i.code {
                LDX_MEM_W => {
                    assert_eq!(s, 1);
                    r[d] = ctx[i.off as usize / 4] as u64
                }
                ALU64_MOV_X => r[d] = r[s],
                ALU64_MOV_K => r[d] = i.imm as i64 as u64,
                ALU64_AND_K => r[d] &= i.imm as i64 as u64,
                ALU64_RSH_K => r[d] >>= i.imm,
                JMP_JEQ_K if r[d] == i.imm as i64 as u64 => pc += i.off as usize,
                JMP_JNE_K if r[d] != i.imm as i64 as u64 => pc += i.off as usize,
                JMP_JEQ_K | JMP_JNE_K => {}
                JMP_EXIT => return r[0] == 1,
                c => panic!("unexpected opcode {c:#x}"),
            }
        }
    }

    fn rule(allow: bool, typ: DevType, major: Option<u32>, minor: Option<u32>, access: u8) -> Rule {
        Rule {
            allow,
            typ,
            major,
            minor,
            access,
        }
    }

    #[test]
    fn deny_all_then_defaults() {
        let mut rules = vec![rule(false, DevType::All, None, None, RWM)];
        rules.extend_from_slice(DEFAULT_ALLOW);
        rules.push(rule(true, DevType::Block, Some(8), Some(0), READ));
        let p = program(&emulate(&rules));
        assert!(run(&p, DEV_CHAR, READ | WRITE, 1, 3), "/dev/null rw");
        assert!(run(&p, DEV_CHAR, READ, 136, 7), "a pty");
        assert!(run(&p, DEV_CHAR, MKNOD, 200, 1), "mknod of anything");
        assert!(run(&p, DEV_BLOCK, MKNOD, 8, 1), "mknod of a block device");
        assert!(!run(&p, DEV_CHAR, READ, 200, 1), "other char devices");
        assert!(
            !run(&p, DEV_BLOCK, READ | MKNOD, 8, 1),
            "other block devices"
        );
        assert!(
            run(&p, DEV_BLOCK, READ, 8, 0),
            "the allowed block device, read"
        );
        assert!(!run(&p, DEV_BLOCK, WRITE, 8, 0), "not write");
        assert!(!run(&p, DEV_BLOCK, READ, 1, 3), "type is checked");
    }

    #[test]
    fn allow_all_with_denies() {
        let rules = [
            rule(true, DevType::All, None, None, RWM),
            rule(false, DevType::Char, Some(1), Some(5), WRITE),
        ];
        let p = program(&emulate(&rules));
        assert!(run(&p, DEV_CHAR, READ, 1, 5));
        assert!(!run(&p, DEV_CHAR, WRITE, 1, 5));
        assert!(
            !run(&p, DEV_CHAR, READ | WRITE, 1, 5),
            "partial overlap denies"
        );
        assert!(run(&p, DEV_BLOCK, WRITE, 1, 5));
        assert_eq!(p.last().unwrap().code, JMP_EXIT);
    }

    #[test]
    fn program_shape() {
        let p = program(&emulate(&[
            rule(false, DevType::All, None, None, RWM),
            rule(true, DevType::Char, Some(1), Some(3), RWM),
        ]));
        // prologue 6 + (type jump, major jump, minor jump, mov, exit) + (mov, exit)
        assert_eq!(p.len(), 6 + 5 + 2);
        assert_eq!(p[6], insn(JMP_JNE_K, 2, 0, 4, DEV_CHAR));
        assert_eq!(p[7], insn(JMP_JNE_K, 4, 0, 3, 1));
        assert_eq!(p[8], insn(JMP_JNE_K, 5, 0, 2, 3));
        assert_eq!(p[9], insn(ALU64_MOV_K, 0, 0, 0, 1));
        assert_eq!(p[11], insn(ALU64_MOV_K, 0, 0, 0, 0));
    }

    #[test]
    fn the_kernel_accepts_the_program() {
        let mut rules = vec![rule(false, DevType::All, None, None, RWM)];
        rules.extend_from_slice(DEFAULT_ALLOW);
        let fd = load(&program(&emulate(&rules))).expect("BPF_PROG_LOAD as root");
        assert!(fd.as_raw_fd() > 2);
    }
}
