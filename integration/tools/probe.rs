//! A static probe run inside test containers, whose busybox rootfs has no tool for some of
//! the calls the tests must make. Built by the integration harness at test time with rustc
//! alone (`common::probe`), statically, since the rootfs has no libc. Only std: no crates.
//!
//! probe syscall NAME|NR ARG...   makes that raw syscall; prints `ret=R errno=E`
//!                                (E is 0 when R is not -1); ARGs are decimal, negative
//!                                decimal or 0x hex.
//! probe notify PATH MESSAGE      sends MESSAGE as one datagram to the unix socket PATH
//!                                (sd_notify); prints `sent`.

use std::os::raw::c_long;

extern "C" {
    fn syscall(number: c_long, ...) -> c_long;
}

/// The few syscalls the tests name, by architecture (numbers work everywhere).
#[cfg(target_arch = "x86_64")]
const NAMES: &[(&str, c_long)] = &[("personality", 135), ("keyctl", 250), ("unshare", 272)];
#[cfg(target_arch = "aarch64")]
const NAMES: &[(&str, c_long)] = &[("personality", 92), ("keyctl", 219), ("unshare", 97)];

fn number(s: &str) -> i64 {
    let parsed = match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).map(|v| v as i64),
        None => s.parse::<i64>().or_else(|_| s.parse::<u64>().map(|v| v as i64)),
    };
    parsed.unwrap_or_else(|_| fail(&format!("not a number: {s}")))
}

fn fail(msg: &str) -> ! {
    eprintln!("probe: {msg}");
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("syscall") if args.len() >= 2 => {
            let nr = NAMES
                .iter()
                .find(|(n, _)| *n == args[1])
                .map(|(_, nr)| *nr)
                .unwrap_or_else(|| number(&args[1]) as c_long);
            let mut a = [0 as c_long; 6];
            for (slot, s) in a.iter_mut().zip(&args[2..]) {
                *slot = number(s) as c_long;
            }
            // SAFETY: a raw syscall with the caller's integer arguments; the tests only pass
            // calls whose arguments are not pointers.
            let ret = unsafe { syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
            let errno = if ret == -1 {
                std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
            } else {
                0
            };
            println!("ret={ret} errno={errno}");
        }
        Some("notify") if args.len() == 3 => {
            let sock = std::os::unix::net::UnixDatagram::unbound()
                .unwrap_or_else(|e| fail(&format!("socket: {e}")));
            sock.send_to(args[2].as_bytes(), &args[1])
                .unwrap_or_else(|e| fail(&format!("send to {}: {e}", args[1])));
            println!("sent");
        }
        _ => fail("usage: probe syscall NAME|NR ARG... | probe notify PATH MESSAGE"),
    }
}
