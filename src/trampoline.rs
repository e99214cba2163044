//! CVE-2019-5736 without copying berth: the container's process is not exec'd by berth's
//! own image but through a tiny static trampoline kept in a sealed memfd. An executable
//! whose interpreter is /proc/self/exe (or a binfmt_misc handler path the container turned
//! into a symlink to it) then makes the kernel run the sealed trampoline, never berth's
//! binary, so no process in the container can get a writable handle on the host's berth.
//!
//! The trampoline is 120 bytes of ELF header and 100 bytes of x86_64 code, written by hand
//! because no crate provides such a thing and building a C helper would need a C toolchain
//! at build time: `execve(argv[1], &argv[2], envp)`; with fewer than three arguments, or if
//! execve fails, it writes a message to stderr and exits 127.

use anyhow::{Context, Result};
use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use std::ffi::CString;
use std::os::fd::{OwnedFd, RawFd};

const BASE: u64 = 0x40_0000;
const EHDR: usize = 64;
const PHDR: usize = 56;
const MSG: &[u8] = b"berth: the container process could not be executed\n";

/// The code (see the module doc); offsets in the comments.
const CODE: [u8; 68] = [
    0x48,
    0x8b,
    0x04,
    0x24, //       0: mov rax, [rsp]            ; argc
    0x48,
    0x83,
    0xf8,
    0x03, //       4: cmp rax, 3
    0x72,
    0x16, //                   8: jb fail (32)
    0x48,
    0x8d,
    0x54,
    0xc4,
    0x10, // 10: lea rdx, [rsp+rax*8+16]  ; envp
    0x48,
    0x8b,
    0x7c,
    0x24,
    0x10, // 15: mov rdi, [rsp+16]        ; argv[1]
    0x48,
    0x8d,
    0x74,
    0x24,
    0x18, // 20: lea rsi, [rsp+24]        ; &argv[2]
    0xb8,
    0x3b,
    0x00,
    0x00,
    0x00, // 25: mov eax, 59 (execve)
    0x0f,
    0x05, //                  30: syscall
    0xbf,
    0x02,
    0x00,
    0x00,
    0x00, // 32: fail: mov edi, 2
    0x48,
    0x8d,
    0x35,
    0x18,
    0x00,
    0x00,
    0x00, // 37: lea rsi, [rip+24] ; MSG at 68
    0xba,
    MSG.len() as u8,
    0x00,
    0x00,
    0x00, // 44: mov edx, len
    0xb8,
    0x01,
    0x00,
    0x00,
    0x00, // 49: mov eax, 1 (write)
    0x0f,
    0x05, //                  54: syscall
    0xbf,
    0x7f,
    0x00,
    0x00,
    0x00, // 56: mov edi, 127
    0xb8,
    0xe7,
    0x00,
    0x00,
    0x00, // 61: mov eax, 231 (exit_group)
    0x0f,
    0x05, //                  66: syscall
];

/// The whole ELF image: one read+execute PT_LOAD segment covering the file.
fn image() -> Vec<u8> {
    let size = (EHDR + PHDR + CODE.len() + MSG.len()) as u64;
    let mut v = Vec::with_capacity(size as usize);
    v.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    v.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    v.extend_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    v.extend_from_slice(&1u32.to_le_bytes()); // EV_CURRENT
    v.extend_from_slice(&(BASE + (EHDR + PHDR) as u64).to_le_bytes()); // e_entry
    v.extend_from_slice(&(EHDR as u64).to_le_bytes()); // e_phoff
    v.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    v.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    v.extend_from_slice(&(EHDR as u16).to_le_bytes());
    v.extend_from_slice(&(PHDR as u16).to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes()); // e_phnum
    v.extend_from_slice(&[0; 6]); // no section headers
    v.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    v.extend_from_slice(&5u32.to_le_bytes()); // PF_R | PF_X
    v.extend_from_slice(&0u64.to_le_bytes()); // p_offset
    v.extend_from_slice(&BASE.to_le_bytes()); // p_vaddr
    v.extend_from_slice(&BASE.to_le_bytes()); // p_paddr
    v.extend_from_slice(&size.to_le_bytes()); // p_filesz
    v.extend_from_slice(&size.to_le_bytes()); // p_memsz
    v.extend_from_slice(&0x1000u64.to_le_bytes()); // p_align
    v.extend_from_slice(&CODE);
    v.extend_from_slice(MSG);
    v
}

/// MFD_EXEC (Linux 6.3): executable even where vm.memfd_noexec makes memfds noexec.
const MFD_EXEC: libc::c_uint = 0x10;

/// A sealed memfd holding the trampoline, made by the parent before clone. None where no
/// trampoline is written for the architecture: there berth runs from a sealed copy of
/// itself instead (`sealed_exe`).
pub fn memfd() -> Result<Option<OwnedFd>> {
    if cfg!(target_arch = "x86_64") {
        sealed_memfd().map(Some)
    } else {
        Ok(None)
    }
}

fn sealed_memfd() -> Result<OwnedFd> {
    let flags = MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING;
    let fd = match memfd_create(c"berth-exec", flags | MFdFlags::from_bits_retain(MFD_EXEC)) {
        Err(nix::errno::Errno::EINVAL) => memfd_create(c"berth-exec", flags),
        r => r,
    }
    .context("memfd_create for the exec trampoline")?;
    nix::unistd::write(&fd, &image()).context("writing the exec trampoline")?;
    let seals = SealFlag::F_SEAL_SEAL
        | SealFlag::F_SEAL_SHRINK
        | SealFlag::F_SEAL_GROW
        | SealFlag::F_SEAL_WRITE;
    fcntl(&fd, FcntlArg::F_ADD_SEALS(seals)).context("sealing the exec trampoline")?;
    Ok(fd)
}

/// Execs `exe` with `argv` and `envp` through the trampoline in `tramp`. Returns only on
/// failure. If the trampoline itself cannot be exec'd (a seccomp profile without
/// execveat), falls back to a direct execve.
pub fn exec(tramp: RawFd, exe: &CString, argv: &[CString], envp: &[CString]) -> nix::errno::Errno {
    let mut args: Vec<*const libc::c_char> = Vec::with_capacity(argv.len() + 3);
    args.push(c"berth-exec".as_ptr());
    args.push(exe.as_ptr());
    args.extend(argv.iter().map(|a| a.as_ptr()));
    args.push(std::ptr::null());
    let mut env: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
    env.push(std::ptr::null());
    // SAFETY: both arrays are NULL-terminated and point into CStrings alive for the call.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            tramp,
            c"".as_ptr(),
            args.as_ptr(),
            env.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    match nix::errno::Errno::last() {
        nix::errno::Errno::EPERM | nix::errno::Errno::ENOSYS | nix::errno::Errno::EACCES => {
            nix::unistd::execve(exe, argv, envp).unwrap_err()
        }
        e => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn image_layout() {
        let img = image();
        assert_eq!(&img[..4], b"\x7fELF");
        assert_eq!(img.len(), EHDR + PHDR + CODE.len() + MSG.len());
        // The rip-relative lea at 37 points at MSG right after the code.
        assert_eq!(CODE[40] as usize + 44, CODE.len());
    }

    #[test]
    fn trampoline_runs_the_target_with_its_argv_and_env() {
        let fd = sealed_memfd().unwrap();
        let child = unsafe { libc::fork() };
        if child == 0 {
            let exe = CString::new("/bin/sh").unwrap();
            let argv = [
                CString::new("sh").unwrap(),
                CString::new("-c").unwrap(),
                CString::new("test \"$0 $X\" = \"sh yes\" && exit 7").unwrap(),
            ];
            let envp = [CString::new("X=yes").unwrap()];
            exec(fd.as_raw_fd(), &exe, &argv, &envp);
            unsafe { libc::_exit(99) };
        }
        let mut status = 0;
        unsafe { libc::waitpid(child, &mut status, 0) };
        assert!(libc::WIFEXITED(status));
        assert_eq!(libc::WEXITSTATUS(status), 7);
    }

    #[test]
    fn too_few_arguments_exit_127() {
        let fd = sealed_memfd().unwrap();
        let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
        let out = std::process::Command::new(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(127));
        assert_eq!(out.stderr, MSG);
    }
}
