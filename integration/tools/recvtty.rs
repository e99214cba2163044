//! recvtty: a --console-socket receiver for tests that run where the Rust test harness does
//! not (the qemu guest's shell payloads), like runc's contrib/cmd/recvtty.
//!
//! Usage: recvtty SOCKET LOG
//!
//! Listens on SOCKET; for each connection takes the pty master sent in runc's protocol (one
//! SCM_RIGHTS message), writes "hello N\n" to it (N = 1, 2, ... per connection), and appends
//! everything read from it to LOG until the terminal's last slave closes. Runs until killed.

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use std::fs::OpenOptions;
use std::io::{IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: recvtty SOCKET LOG");
        std::process::exit(2);
    }
    let _ = std::fs::remove_file(&args[1]);
    let listener = UnixListener::bind(&args[1]).expect("binding the socket");
    for (n, conn) in listener.incoming().enumerate() {
        let conn = conn.expect("accepting");
        let master = match receive(conn.as_raw_fd()) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("recvtty: connection {}: {e}", n + 1);
                continue;
            }
        };
        let log = args[2].clone();
        std::thread::spawn(move || copy_out(master, n + 1, &log));
    }
}

fn receive(sock: RawFd) -> Result<OwnedFd, String> {
    let mut name = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut name)];
    let mut space = nix::cmsg_space!(RawFd);
    let msg = recvmsg::<()>(sock, &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)
        .map_err(|e| format!("recvmsg: {e}"))?;
    for c in msg.cmsgs().map_err(|e| format!("control data: {e}"))? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(fd) = fds.first() {
                // SAFETY: the fd was just received and nothing else owns it.
                return Ok(unsafe { OwnedFd::from_raw_fd(*fd) });
            }
        }
    }
    Err("no fd in the message".into())
}

fn copy_out(master: OwnedFd, n: usize, log: &str) {
    let mut pty = std::fs::File::from(master);
    let _ = writeln!(pty, "hello {n}");
    let mut out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("opening the log");
    let mut buf = [0u8; 4096];
    // EIO once every slave is closed.
    while let Ok(k) = pty.read(&mut buf) {
        if k == 0 || out.write_all(&buf[..k]).is_err() {
            break;
        }
    }
}
