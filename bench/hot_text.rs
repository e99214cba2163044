//! hot-text: which of berth's functions a command really executes, in the order it first
//! executes them, for the linker's symbol ordering (see `make hot-text` and the Makefile's
//! `build`). Written by hand because nothing packaged here records executed functions
//! across the clone into new namespaces: valgrind lacks openat2, and perf only samples.
//!
//! Usage: hot-text BINARY OUT -- COMMAND [ARG...]
//!
//! Runs COMMAND under ptrace with a one-shot breakpoint at the entry of each of BINARY's
//! functions, in it and in every process it clones or forks until that process execs
//! something else (the container's program), and notes the functions entered. Appends to OUT the symbols of BINARY (from `nm`, so
//! BINARY must not be stripped) that were executed and are not in OUT yet, with the
//! per-build hash of Rust symbols dropped ("...17h<16 hex>E" becomes "...E"), so that the
//! list survives rebuilds. Exits with COMMAND's status.

use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use std::io::Write;
use std::process::Command;

use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{execvp, fork, ForkResult, Pid};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 || args[3] != "--" {
        eprintln!("usage: hot-text BINARY OUT -- COMMAND [ARG...]");
        std::process::exit(2);
    }
    let binary = std::fs::canonicalize(&args[1]).expect("BINARY");
    let out = &args[2];
    let cmd: Vec<CString> = args[4..]
        .iter()
        .map(|a| CString::new(a.as_str()).unwrap())
        .collect();

    // SAFETY: single-threaded here; the child only calls async-signal-safe functions
    // (ptrace, raise, execvp) before exec.
    let child = match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            ptrace::traceme().expect("PTRACE_TRACEME");
            nix::sys::signal::raise(Signal::SIGSTOP).expect("raise");
            let _ = execvp(&cmd[0], &cmd);
            std::process::exit(127);
        }
        ForkResult::Parent { child } => child,
    };
    let (offsets, status) = trace(child, &binary);
    let symbols = executed_symbols(&binary, &offsets);

    let mut known: HashSet<String> = std::fs::read_to_string(out)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)
        .expect("OUT");
    for s in symbols {
        if known.insert(s.clone()) {
            writeln!(f, "{s}").unwrap();
        }
    }
    std::process::exit(status);
}

/// Runs `first` and its descendants with a one-shot breakpoint (int3) at the entry of every
/// function of `binary`, set once `first` has exec'd it (clones inherit them); returns the
/// offsets of the functions entered, in first-entry order, and the exit status of `first`.
fn trace(first: Pid, binary: &std::path::Path) -> (Vec<u64>, i32) {
    waitpid(first, None).expect("initial stop");
    ptrace::setoptions(
        first,
        ptrace::Options::PTRACE_O_TRACECLONE
            | ptrace::Options::PTRACE_O_TRACEFORK
            | ptrace::Options::PTRACE_O_TRACEVFORK
            | ptrace::Options::PTRACE_O_TRACEEXEC
            | ptrace::Options::PTRACE_O_EXITKILL,
    )
    .expect("PTRACE_SETOPTIONS");
    let functions: Vec<u64> = symbols(binary)
        .iter()
        .filter(|s| s.1 > 0)
        .map(|s| s.0)
        .collect();
    // Load base of BINARY (all processes share it: they are clones of `first`), and the
    // original first byte of each function.
    let mut base = None;
    let mut original: HashMap<u64, u8> = HashMap::new();
    let mut berth: HashSet<Pid> = HashSet::new();
    let mut seen = HashSet::new();
    let mut order = Vec::new();
    let mut status = 0;
    let mut detaching: HashSet<Pid> = HashSet::new();
    let mut first_done = false;
    ptrace::cont(first, None).expect("PTRACE_CONT");
    loop {
        let ws = match waitpid(None, Some(WaitPidFlag::__WALL)) {
            Ok(ws) => ws,
            Err(nix::errno::Errno::ECHILD) => break,
            Err(e) => panic!("waitpid: {e}"),
        };
        match ws {
            WaitStatus::Exited(pid, _) | WaitStatus::Signaled(pid, _, _) => {
                berth.remove(&pid);
                detaching.remove(&pid);
                if pid == first {
                    status = match ws {
                        WaitStatus::Exited(_, code) => code,
                        WaitStatus::Signaled(_, sig, _) => 128 + sig as i32,
                        _ => unreachable!(),
                    };
                    // What outlives COMMAND (create's init, waiting for start) runs on
                    // untraced: stopped, then detached with the stop suppressed.
                    for p in &berth {
                        let _ = nix::sys::signal::kill(*p, Signal::SIGSTOP);
                        detaching.insert(*p);
                    }
                }
                if pid == first || first_done {
                    first_done = true;
                    if detaching.is_empty() {
                        break;
                    }
                }
            }
            WaitStatus::Stopped(pid, Signal::SIGSTOP) if detaching.contains(&pid) => {
                // Every breakpoint still in place goes before the process runs untraced.
                for (addr, orig) in &original {
                    if let Ok(word) = ptrace::read(pid, *addr as _) {
                        let word = word as u64;
                        if word as u8 == 0xcc {
                            let _ = ptrace::write(
                                pid,
                                *addr as _,
                                ((word & !0xff) | *orig as u64) as i64,
                            );
                        }
                    }
                }
                let _ = ptrace::detach(pid, None);
                detaching.remove(&pid);
                berth.remove(&pid);
                if detaching.is_empty() {
                    break;
                }
            }
            WaitStatus::PtraceEvent(pid, _, event) => {
                if event == libc::PTRACE_EVENT_EXEC {
                    if pid != first || base.is_some() {
                        // Not berth any more: let it run untraced.
                        berth.remove(&pid);
                        let _ = ptrace::detach(pid, None);
                        continue;
                    }
                    let b = load_base(pid, binary).expect("BINARY is not mapped after exec");
                    base = Some(b);
                    for f in &functions {
                        let addr = b + f;
                        let word = ptrace::read(pid, addr as _).expect("PTRACE_PEEKTEXT") as u64;
                        original.insert(addr, word as u8);
                        let patched = (word & !0xff) | 0xcc;
                        ptrace::write(pid, addr as _, patched as i64).expect("PTRACE_POKETEXT");
                    }
                    berth.insert(pid);
                } else if let Ok(child) = ptrace::getevent(pid) {
                    // A new process, with the parent's memory (and breakpoints).
                    berth.insert(Pid::from_raw(child as i32));
                }
                let _ = ptrace::cont(pid, None);
            }
            WaitStatus::Stopped(pid, Signal::SIGTRAP) if berth.contains(&pid) => {
                let mut regs = ptrace::getregs(pid).expect("PTRACE_GETREGS");
                let addr = regs.rip - 1;
                if let Some(orig) = original.get(&addr) {
                    let off = addr - base.unwrap();
                    if seen.insert(off) {
                        order.push(off);
                    }
                    let word = ptrace::read(pid, addr as _).expect("PTRACE_PEEKTEXT") as u64;
                    ptrace::write(pid, addr as _, ((word & !0xff) | *orig as u64) as i64)
                        .expect("PTRACE_POKETEXT");
                    regs.rip = addr;
                    ptrace::setregs(pid, regs).expect("PTRACE_SETREGS");
                    let _ = ptrace::cont(pid, None);
                } else {
                    let _ = ptrace::cont(pid, Some(Signal::SIGTRAP));
                }
            }
            WaitStatus::Stopped(pid, sig) => {
                // A new process's first stop is its SIGSTOP: swallowed.
                let deliver = (sig != Signal::SIGSTOP).then_some(sig);
                let _ = ptrace::cont(pid, deliver);
            }
            _ => {}
        }
    }
    (order, status)
}

/// Where BINARY's mapping at file offset 0 starts in `pid`.
fn load_base(pid: Pid, binary: &std::path::Path) -> Option<u64> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
    let name = binary.to_str()?;
    maps.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 6 || f[5] != name || !f[2].trim_start_matches('0').is_empty() {
            return None;
        }
        u64::from_str_radix(f[0].split_once('-')?.0, 16).ok()
    })
}

/// The function symbols of `binary` (from `nm`): address, size, name; sorted.
fn symbols(binary: &std::path::Path) -> Vec<(u64, u64, String)> {
    let nm = Command::new("nm")
        .args(["-S", "--defined-only"])
        .arg(binary)
        .output()
        .expect("running nm");
    let mut syms: Vec<(u64, u64, String)> = String::from_utf8_lossy(&nm.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() != 4 || !matches!(f[2], "t" | "T" | "w" | "W") {
                return None;
            }
            let addr = u64::from_str_radix(f[0], 16).ok()?;
            let size = u64::from_str_radix(f[1], 16).ok()?;
            Some((addr, size, f[3].to_string()))
        })
        .collect();
    syms.sort();
    syms.dedup_by_key(|s| s.0);
    syms
}

/// The names of the functions at `offsets`, in that order.
fn executed_symbols(binary: &std::path::Path, offsets: &[u64]) -> Vec<String> {
    let syms = symbols(binary);
    let by_addr: HashMap<u64, &str> = syms.iter().map(|s| (s.0, s.2.as_str())).collect();
    offsets
        .iter()
        .filter_map(|o| by_addr.get(o).map(|n| n.to_string()))
        .collect()
}
