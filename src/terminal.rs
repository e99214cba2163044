//! Terminals (process.terminal). In init, a new pty from the container's own devpts becomes
//! the process's stdio, its controlling terminal and /dev/console, and the pty master goes to
//! the parent over the sync socket (`sync::Msg::PtyMaster`). The parent then either hands the
//! master to a container manager over `--console-socket`, in runc's protocol (one message
//! whose data is the name "/dev/ptmx" and whose SCM_RIGHTS carry the master, so conmon and
//! containerd's shim work unchanged), or, for `run` in the foreground, relays between its own
//! stdin/stdout and the master in one poll loop ([`relay`]), which `exec -t` uses too.

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::fcntl::{fcntl, open, openat, FcntlArg, FdFlag, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signalfd::SignalFd;
use nix::sys::stat::{fchmod, fstat, Mode};
use nix::sys::statfs::{fstatfs, PROC_SUPER_MAGIC, SYSFS_MAGIC};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg, Termios};
use oci_spec::runtime::Process;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::rootfs::sys::{move_mount, open_tree};
use crate::sync::{self, Msg};

/// The data of runc's console-socket message: the name of the file sent, the pty master.
pub const CONSOLE_SOCKET_DATA: &[u8] = b"/dev/ptmx";

/// UNIX98 pty slaves have majors 136 to 143.
const PTY_SLAVE_MAJORS: std::ops::RangeInclusive<u64> = 136..=143;

/// Checks process.consoleSize at config loading: each side must fit a winsize field.
pub fn validate(process: &Process) -> Result<()> {
    if let Some(size) = process.console_size() {
        for (field, v) in [("height", size.height()), ("width", size.width())] {
            if v > u64::from(u16::MAX) {
                bail!(
                    "process.consoleSize.{field}: {v} is larger than {}",
                    u16::MAX
                );
            }
        }
    }
    Ok(())
}

/// runc's rules for --console-socket. `detach` is true for `create` and `run -d`: then
/// nobody but a console socket can take the master.
pub fn check_opts(terminal: bool, detach: bool, console_socket: Option<&Path>) -> Result<()> {
    if detach && terminal && console_socket.is_none() {
        bail!("cannot allocate tty if berth will detach without setting console socket");
    }
    if (!detach || !terminal) && console_socket.is_some() {
        bail!("cannot use console socket if berth will not detach or allocate tty");
    }
    Ok(())
}

/// Connects to the --console-socket (before anything is created, so a bad path leaves
/// nothing behind).
pub fn connect_console_socket(path: &Path) -> Result<UnixStream> {
    UnixStream::connect(path)
        .with_context(|| format!("--console-socket {}: connecting", path.display()))
}

/// Sends the pty master over the console socket in runc's protocol.
pub fn send_master(sock: &UnixStream, master: BorrowedFd) -> Result<()> {
    sync::send_with_fds(sock.as_fd(), CONSOLE_SOCKET_DATA, &[master.as_raw_fd()])
        .context("--console-socket: sending the pty master")
}

/// The pty master as the container's init (or an exec'd process) sent it during setup.
#[derive(Default)]
pub struct MasterFromChild {
    pub received: bool,
    /// Without a console socket: the master, for [`relay`].
    pub kept: Option<OwnedFd>,
}

/// Reads the child's next sync message, taking the pty master on the way: it may come
/// before any other message, and goes to `console` at once (runc's protocol) or into
/// `master.kept`. Any other fd is refused.
pub fn read_sync(
    sock: &OwnedFd,
    console: Option<&UnixStream>,
    master: &mut MasterFromChild,
) -> Result<Option<Msg>> {
    loop {
        match sync::read_with_fd(sock)? {
            Some((Msg::PtyMaster, Some(fd))) if !master.received => {
                master.received = true;
                match console {
                    Some(c) => send_master(c, fd.as_fd())?,
                    None => master.kept = Some(fd),
                }
            }
            Some((msg, Some(_))) => bail!("sync: unexpected fd with {msg:?}"),
            Some((msg, None)) => return Ok(Some(msg)),
            None => return Ok(None),
        }
    }
}

// ---------------------------------------------------------------------------------------
// In init.

/// Init's terminal step, after rootfs::prepare (so /dev/ptmx is the container's devpts and
/// "/" is the container's root) and before rootfs::finalize (so the /dev/console mount
/// exists before masked and read-only paths and a read-only root are applied), as runc
/// orders it. setsid must already have been called. Opens a pty, applies consoleSize, gives
/// the slave to the process user, bind-mounts it on /dev/console if `mount_console` (init
/// with a mount namespace of its own: never the host's; not for an exec'd process, as
/// runc), sends the master to the parent as `Msg::PtyMaster`, and makes the slave stdio and
/// the controlling terminal. `relayed`: berth relays the terminal itself (no console socket).
pub fn setup_in_init(
    process: &Process,
    mount_console: bool,
    relayed: bool,
    sync: &OwnedFd,
) -> Result<()> {
    let (master, slave) = open_pty()?;
    // As runc, which clears ONLCR on a pty it relays (the container's "\n" reaches the caller
    // as "\n", not "\r\n") and leaves the kernel's default to a console socket's receiver.
    if relayed {
        let mut tio =
            nix::sys::termios::tcgetattr(&slave).context("process.terminal: tcgetattr")?;
        tio.output_flags
            .remove(nix::sys::termios::OutputFlags::ONLCR);
        nix::sys::termios::tcsetattr(&slave, nix::sys::termios::SetArg::TCSANOW, &tio)
            .context("process.terminal: clearing ONLCR")?;
    }
    if let Some(size) = process.console_size() {
        set_window_size(master.as_fd(), winsize(size.height(), size.width()))
            .context("process.consoleSize: setting the terminal size")?;
    }
    // As runc: only the owner changes; the group comes from the devpts mount (gid=5).
    let uid = process.user().uid();
    match nix::unistd::fchown(&slave, Some(nix::unistd::Uid::from_raw(uid)), None) {
        Ok(()) | Err(Errno::EINVAL) => {}
        Err(e) => {
            return Err(e).with_context(|| format!("process.terminal: giving the pty to uid {uid}"))
        }
    }
    if mount_console {
        let dev = open(
            "/dev",
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .context("process.terminal: opening /dev")?;
        bind_console(dev.as_fd(), slave.as_fd())?;
    }
    sync::write_with_fd(sync, &Msg::PtyMaster, master.as_fd())?;
    drop(master);
    become_stdio(slave)?;
    // SAFETY: TIOCSCTTY with argument 0 on our own fd; steals nothing (the pty is new).
    if unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } < 0 {
        return Err(Errno::last())
            .context("process.terminal: making the pty the controlling terminal");
    }
    Ok(())
}

/// A new pty pair from /dev/ptmx. The slave is opened from the master with TIOCGPTPEER,
/// never by its /dev/pts/N path, which the container could have replaced (CVE-2025-52565).
fn open_pty() -> Result<(OwnedFd, OwnedFd)> {
    let master = open(
        "/dev/ptmx",
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("process.terminal: opening /dev/ptmx (is devpts mounted on /dev/pts?)")?;
    let mut n: libc::c_int = 0;
    // SAFETY: TIOCGPTN writes one int through the pointer, which is valid for the call.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN, &mut n) } < 0 {
        return Err(Errno::last()).context("process.terminal: /dev/ptmx is not a pty multiplexer");
    }
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int through the pointer, which is valid for the call.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) } < 0 {
        return Err(Errno::last()).context("process.terminal: unlocking the pty");
    }
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: TIOCGPTPEER takes open flags by value and returns a new fd or -1.
    let fd = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTPEER, flags) };
    if fd < 0 {
        return Err(Errno::last()).context("process.terminal: opening the pty slave");
    }
    // SAFETY: the kernel just returned this fd and nothing else owns it.
    let slave = unsafe { OwnedFd::from_raw_fd(fd) };
    let st = fstat(&slave).context("process.terminal: fstat of the pty slave")?;
    let rdev = st.st_rdev;
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR
        || !PTY_SLAVE_MAJORS.contains(&libc::major(rdev).into())
    {
        bail!("process.terminal: pty slave {n} is not a pty device");
    }
    Ok((master, slave))
}

fn winsize(rows: u64, cols: u64) -> libc::winsize {
    libc::winsize {
        ws_row: rows.min(u16::MAX.into()) as u16,
        ws_col: cols.min(u16::MAX.into()) as u16,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

fn set_window_size(fd: BorrowedFd, ws: libc::winsize) -> nix::Result<()> {
    // SAFETY: TIOCSWINSZ reads a winsize through the pointer, valid for the call.
    Errno::result(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) }).map(drop)
}

fn window_size(fd: BorrowedFd) -> nix::Result<libc::winsize> {
    let mut ws = winsize(0, 0);
    // SAFETY: TIOCGWINSZ writes a winsize through the pointer, valid for the call.
    Errno::result(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) })?;
    Ok(ws)
}

/// Bind-mounts the pty slave on `dev`/console, as runc does, checking both ends
/// (CVE-2025-52565): the source is the slave fd itself (no path is looked up again), and the
/// target is a plain file or a device node (never followed if a symlink) that is not on
/// procfs or sysfs. An empty file is made when there is none.
fn bind_console(dev: BorrowedFd, slave: BorrowedFd) -> Result<()> {
    let target = match openat(
        dev,
        "console",
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => {
            let fd = openat(
                dev,
                "console",
                OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_WRONLY
                    | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o666),
            )
            .context("process.terminal: creating /dev/console")?;
            // The umask took bits away; the mounted pty's own mode is what shows anyway.
            fchmod(&fd, Mode::from_bits_truncate(0o666))
                .context("process.terminal: chmod /dev/console")?;
            fd
        }
        Err(e) => return Err(e).context("process.terminal: opening /dev/console"),
    };
    let kind = fstat(&target)
        .context("process.terminal: fstat /dev/console")?
        .st_mode
        & libc::S_IFMT;
    if kind != libc::S_IFREG && kind != libc::S_IFCHR {
        bail!("process.terminal: /dev/console exists and is not a file or a character device (mode {kind:o})");
    }
    let fs = fstatfs(&target)
        .context("process.terminal: statfs /dev/console")?
        .filesystem_type();
    if fs == PROC_SUPER_MAGIC || fs == SYSFS_MAGIC {
        bail!("process.terminal: /dev/console is on procfs or sysfs");
    }
    let tree = open_tree(slave, libc::OPEN_TREE_CLONE)
        .context("process.terminal: cloning a mount of the pty slave")?;
    move_mount(tree.as_fd(), target.as_fd())
        .context("process.terminal: bind-mounting the pty on /dev/console")
}

/// Makes `slave` fds 0, 1 and 2 (inheritable), and closes its own fd unless it is one of them.
fn become_stdio(slave: OwnedFd) -> Result<()> {
    let raw = slave.into_raw_fd();
    for target in 0..=2 {
        if raw != target {
            // SAFETY: dup2 onto a stdio number; whatever was there is replaced, as intended.
            if unsafe { libc::dup2(raw, target) } < 0 {
                return Err(Errno::last()).with_context(|| {
                    format!("process.terminal: dup2 of the pty onto fd {target}")
                });
            }
        }
        // dup2 clears close-on-exec but leaves it set when `raw` is already `target`.
        // SAFETY: the fd is open (just made, or `raw` itself).
        let fd = unsafe { BorrowedFd::borrow_raw(target) };
        fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty()))
            .context("process.terminal: clearing close-on-exec on stdio")?;
    }
    if raw > 2 {
        // SAFETY: `raw` came from into_raw_fd above and is not a stdio number: ours to close.
        drop(unsafe { OwnedFd::from_raw_fd(raw) });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// In the parent: the relay of `run` (and `exec -t`) without a console socket.

/// The ends of a relay: the container process's pty master, and what berth reads the user's
/// input from and writes the output to (its own stdin and stdout).
pub struct Relay<'a> {
    pub master: BorrowedFd<'a>,
    pub input: BorrowedFd<'a>,
    pub output: BorrowedFd<'a>,
    /// Signals berth blocked and takes through this signalfd.
    pub signals: &'a SignalFd,
    /// Readable when the process (or init) being waited for exits.
    pub pidfd: BorrowedFd<'a>,
}

/// Relays in one poll loop until the process exits: input to the master, master to output,
/// SIGWINCH as the input terminal's size applied to the pty, every other signal but SIGCHLD
/// to `forward`. After each wakeup `exited(pidfd_readable)` reaps and says whether the
/// process has ended (its exit code); then the output still in the pty is drained and the
/// code returned. If the input is a terminal it is in raw mode for the duration, restored on
/// every way out, and its size is copied to the pty first.
pub fn relay(
    r: &Relay,
    mut notify: Option<&mut crate::notify_socket::Forwarder>,
    mut forward: impl FnMut(i32),
    mut exited: impl FnMut(bool) -> Result<Option<i32>>,
) -> Result<i32> {
    let input_is_tty = nix::unistd::isatty(r.input).unwrap_or(false);
    let _raw = if input_is_tty {
        Some(RawMode::enter(r.input)?)
    } else {
        None
    };
    if input_is_tty {
        copy_window_size(r.input, r.master);
    }
    // The master is berth's own fd: non-blocking so that the loop never stalls on it.
    let fl = OFlag::from_bits_truncate(
        fcntl(r.master, FcntlArg::F_GETFL).context("pty master: F_GETFL")?,
    );
    fcntl(r.master, FcntlArg::F_SETFL(fl | OFlag::O_NONBLOCK)).context("pty master: F_SETFL")?;

    let mut out = Output::new(r.output);
    let mut to_master: Vec<u8> = Vec::new();
    let mut input_open = true;
    let mut master_open = true;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // While input waits for the pty to take it, no more is read (backpressure).
        let want_input = input_open && to_master.is_empty();
        let mut fds = vec![
            PollFd::new(r.signals.as_fd(), PollFlags::POLLIN),
            PollFd::new(r.pidfd, PollFlags::POLLIN),
        ];
        let master_at = master_open.then(|| {
            let mut ev = PollFlags::POLLIN;
            if !to_master.is_empty() {
                ev |= PollFlags::POLLOUT;
            }
            fds.push(PollFd::new(r.master, ev));
            fds.len() - 1
        });
        let input_at = want_input.then(|| {
            fds.push(PollFd::new(r.input, PollFlags::POLLIN));
            fds.len() - 1
        });
        let notify_at = notify.as_deref().and_then(|n| n.poll_fd()).map(|fd| {
            fds.push(fd);
            fds.len() - 1
        });
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e).context("terminal relay: poll"),
            Ok(_) => {}
        }
        let revents = |at: Option<usize>| {
            at.and_then(|i| fds[i].revents())
                .unwrap_or(PollFlags::empty())
        };
        let (sig_ev, pid_ev) = (revents(Some(0)), revents(Some(1)));
        let (master_ev, input_ev) = (revents(master_at), revents(input_at));
        let notify_ev = revents(notify_at);
        drop(fds);
        if !notify_ev.is_empty() {
            crate::reaper::notify_step(notify.as_deref_mut());
        }

        if sig_ev.contains(PollFlags::POLLIN) {
            if let Some(info) = r.signals.read_signal().context("reading the signalfd")? {
                match info.ssi_signo as i32 {
                    libc::SIGWINCH if input_is_tty => copy_window_size(r.input, r.master),
                    libc::SIGWINCH | libc::SIGCHLD => {}
                    s => forward(s),
                }
            }
        }
        if !master_ev.is_empty() {
            if master_ev.contains(PollFlags::POLLOUT) && !to_master.is_empty() {
                match nix::unistd::write(r.master, &to_master) {
                    Ok(n) => drop(to_master.drain(..n)),
                    Err(Errno::EAGAIN | Errno::EINTR) => {}
                    Err(_) => {
                        master_open = false;
                        to_master.clear();
                    }
                }
            }
            if master_open
                && master_ev.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR)
            {
                match read_master(r.master, &mut buf) {
                    MasterRead::Data(n) => out.write(&buf[..n]),
                    MasterRead::Nothing if !master_ev.contains(PollFlags::POLLIN) => {
                        master_open = false
                    }
                    MasterRead::Nothing => {}
                    // Every slave fd is closed: nothing more can come, and the master would
                    // report POLLHUP on every poll from now on.
                    MasterRead::Closed => master_open = false,
                }
            }
        }
        if !input_ev.is_empty() {
            match nix::unistd::read(r.input, &mut buf) {
                Ok(0) => input_open = false,
                Ok(n) => {
                    to_master.extend_from_slice(&buf[..n]);
                    match nix::unistd::write(r.master, &to_master) {
                        Ok(n) => drop(to_master.drain(..n)),
                        Err(Errno::EAGAIN | Errno::EINTR) => {}
                        Err(_) => to_master.clear(),
                    }
                }
                Err(Errno::EAGAIN | Errno::EINTR) => {}
                // A hung-up terminal, a closed fd: no more input, the container runs on.
                Err(_) => input_open = false,
            }
        }
        if let Some(code) = exited(!pid_ev.is_empty())? {
            if master_open {
                drain(r.master, &mut out, &mut buf);
            }
            return Ok(code);
        }
    }
}

enum MasterRead {
    Data(usize),
    Nothing,
    Closed,
}

fn read_master(master: BorrowedFd, buf: &mut [u8]) -> MasterRead {
    loop {
        match nix::unistd::read(master, buf) {
            Ok(0) => return MasterRead::Closed,
            Ok(n) => return MasterRead::Data(n),
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => return MasterRead::Nothing,
            // EIO: no slave fd is open any more.
            Err(_) => return MasterRead::Closed,
        }
    }
}

/// After the process exited: copies what is still in the pty. Once every slave fd is closed
/// the kernel returns the last bytes and then EIO; if something else in the container still
/// holds the slave, waits briefly for output and stops after a bounded time.
fn drain(master: BorrowedFd, out: &mut Output, buf: &mut [u8]) {
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        match read_master(master, buf) {
            MasterRead::Data(n) => out.write(&buf[..n]),
            MasterRead::Closed => return,
            MasterRead::Nothing => {
                let mut fds = [PollFd::new(master, PollFlags::POLLIN)];
                if !matches!(poll(&mut fds, PollTimeout::from(50u8)), Ok(n) if n > 0) {
                    return;
                }
            }
        }
    }
}

fn copy_window_size(from: BorrowedFd, to: BorrowedFd) {
    // Best effort, as runc: a failed resize must not end the relay.
    if let Ok(ws) = window_size(from) {
        let _ = set_window_size(to, ws);
    }
}

/// Where the relay writes output. Writes are blocking (output waits for its reader, as the
/// container would); after a write error (the reader went away) output is discarded so the
/// container is never blocked on a full pty.
struct Output<'a> {
    fd: BorrowedFd<'a>,
    broken: bool,
}

impl<'a> Output<'a> {
    fn new(fd: BorrowedFd<'a>) -> Self {
        Output { fd, broken: false }
    }

    fn write(&mut self, mut data: &[u8]) {
        while !self.broken && !data.is_empty() {
            match nix::unistd::write(self.fd, data) {
                Ok(n) => data = &data[n..],
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => {
                    let mut fds = [PollFd::new(self.fd, PollFlags::POLLOUT)];
                    let _ = poll(&mut fds, PollTimeout::NONE);
                }
                Err(e) => {
                    crate::logging::warn(&format!(
                        "terminal relay: writing the container's output: {e}; discarding the rest"
                    ));
                    self.broken = true;
                }
            }
        }
    }
}

/// The input terminal in raw mode; its settings come back on drop.
struct RawMode<'a> {
    fd: BorrowedFd<'a>,
    saved: Termios,
}

impl<'a> RawMode<'a> {
    fn enter(fd: BorrowedFd<'a>) -> Result<Self> {
        let saved = tcgetattr(fd).context("reading the terminal's settings")?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(fd, SetArg::TCSANOW, &raw).context("putting the terminal in raw mode")?;
        Ok(RawMode { fd, saved })
    }
}

impl Drop for RawMode<'_> {
    fn drop(&mut self) {
        let _ = tcsetattr(self.fd, SetArg::TCSANOW, &self.saved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::SigSet;
    use nix::sys::signalfd::SfdFlags;
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    use std::io::IoSliceMut;
    use std::io::Read as _;
    use std::os::fd::RawFd;

    #[test]
    fn console_socket_message_is_runcs() {
        let (a, b) = UnixStream::pair().unwrap();
        let (master, _slave) = open_pty().unwrap();
        send_master(&a, master.as_fd()).unwrap();
        // Received as runc's RecvFd does: a name buffer and room for exactly one fd.
        let mut name = [0u8; 4096];
        let mut iov = [IoSliceMut::new(&mut name)];
        let mut space = nix::cmsg_space!(RawFd);
        let msg =
            recvmsg::<()>(b.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::empty()).unwrap();
        let n = msg.bytes;
        let cmsgs: Vec<_> = msg.cmsgs().expect("control data not truncated").collect();
        assert_eq!(&name[..n], b"/dev/ptmx");
        assert_eq!(cmsgs.len(), 1, "one control message");
        let ControlMessageOwned::ScmRights(fds) = &cmsgs[0] else {
            panic!("not SCM_RIGHTS: {:?}", cmsgs[0]);
        };
        assert_eq!(fds.len(), 1, "one fd");
        // SAFETY: the fd was just received and belongs to this test.
        let got = unsafe { OwnedFd::from_raw_fd(fds[0]) };
        let (s1, s2) = (fstat(&got).unwrap(), fstat(&master).unwrap());
        assert_eq!(
            (s1.st_dev, s1.st_ino, s1.st_rdev),
            (s2.st_dev, s2.st_ino, s2.st_rdev)
        );
    }

    #[test]
    fn console_socket_rules_are_runcs() {
        let sock = Some(Path::new("/run/x.sock"));
        // (terminal, detach, socket) -> ok?
        let cases = [
            (true, true, sock, true),
            (true, true, None, false),
            (true, false, None, true),
            (true, false, sock, false),
            (false, true, sock, false),
            (false, false, sock, false),
            (false, true, None, true),
            (false, false, None, true),
        ];
        for (terminal, detach, s, ok) in cases {
            assert_eq!(
                check_opts(terminal, detach, s).is_ok(),
                ok,
                "terminal={terminal} detach={detach} socket={s:?}"
            );
        }
        let e = check_opts(true, true, None).unwrap_err().to_string();
        assert!(e.contains("cannot allocate tty"), "{e}");
        let e = check_opts(false, true, sock).unwrap_err().to_string();
        assert!(e.contains("cannot use console socket"), "{e}");
    }

    #[test]
    fn console_size_must_fit() {
        let p: Process = serde_json::from_str(
            r#"{"cwd":"/","user":{"uid":0,"gid":0},"consoleSize":{"height":70000,"width":80}}"#,
        )
        .unwrap();
        let e = validate(&p).unwrap_err().to_string();
        assert!(e.contains("process.consoleSize.height"), "{e}");
        let p: Process = serde_json::from_str(
            r#"{"cwd":"/","user":{"uid":0,"gid":0},"consoleSize":{"height":25,"width":80}}"#,
        )
        .unwrap();
        validate(&p).unwrap();
    }

    #[test]
    fn pty_pair_and_window_size() {
        let (master, slave) = open_pty().unwrap();
        let st = fstat(&slave).unwrap();
        assert!(PTY_SLAVE_MAJORS.contains(&u64::from(libc::major(st.st_rdev))));
        set_window_size(master.as_fd(), winsize(31, 97)).unwrap();
        let ws = window_size(slave.as_fd()).unwrap();
        assert_eq!((ws.ws_row, ws.ws_col), (31, 97));
        assert!(nix::unistd::isatty(&slave).unwrap());
    }

    /// A directory under /tmp, removed on drop.
    struct TempDir(std::path::PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let p = std::env::temp_dir().join(format!("berth-term-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn console_mount_checks_its_target() {
        let dir = TempDir::new("console");
        let path = dir.0.clone();
        // A thread of its own rather than a forked child: unshare(CLONE_NEWNS) applies to
        // this thread alone and its mounts go when it ends, while a child forked from the
        // threaded harness can deadlock on a lock another test held at fork time (anyhow
        // capturing a backtrace).
        let check = std::thread::spawn(move || -> anyhow::Result<()> {
            use nix::mount::{mount, MsFlags};
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)?;
            mount(
                None::<&str>,
                "/",
                None::<&str>,
                MsFlags::MS_REC | MsFlags::MS_PRIVATE,
                None::<&str>,
            )?;
            let (_master, slave) = open_pty()?;
            let slave_rdev = fstat(&slave)?.st_rdev;
            for case in ["missing", "file", "symlink", "dir"] {
                let d = path.join(case);
                std::fs::create_dir(&d)?;
                mount(
                    Some("tmpfs"),
                    &d,
                    Some("tmpfs"),
                    MsFlags::empty(),
                    None::<&str>,
                )?;
                match case {
                    "file" => std::fs::write(d.join("console"), "")?,
                    "symlink" => {
                        std::os::unix::fs::symlink("/proc/sysrq-trigger", d.join("console"))?
                    }
                    "dir" => std::fs::create_dir(d.join("console"))?,
                    _ => {}
                }
                let dev = open(
                    &d,
                    OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )?;
                let res = bind_console(dev.as_fd(), slave.as_fd());
                match case {
                    "missing" | "file" => {
                        res?;
                        let st = nix::sys::stat::stat(&d.join("console"))?;
                        anyhow::ensure!(
                            st.st_mode & libc::S_IFMT == libc::S_IFCHR,
                            "{case}: not a char device"
                        );
                        anyhow::ensure!(st.st_rdev == slave_rdev, "{case}: not the pty slave");
                    }
                    _ => {
                        anyhow::ensure!(res.is_err(), "{case}: mounted over a {case}");
                        let st = nix::sys::stat::lstat(&d.join("console"))?;
                        anyhow::ensure!(
                            st.st_mode & libc::S_IFMT != libc::S_IFCHR,
                            "{case}: changed"
                        );
                    }
                }
            }
            Ok(())
        });
        check.join().unwrap().unwrap();
    }

    #[test]
    fn relay_copies_both_ways_and_returns_the_status() {
        let (master, slave) = open_pty().unwrap();
        let mut child = std::process::Command::new("/bin/sh")
            .args(["-c", "read x; echo \"got $x\"; exit 3"])
            .stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave)
            .spawn()
            .unwrap();
        let pidfd = crate::container::pidfd_open(child.id() as i32).unwrap();
        let (in_r, in_w) = nix::unistd::pipe().unwrap();
        let (out_r, out_w) = nix::unistd::pipe().unwrap();
        nix::unistd::write(&in_w, b"hello\n").unwrap();
        drop(in_w);
        let signals = SignalFd::with_flags(&SigSet::empty(), SfdFlags::SFD_CLOEXEC).unwrap();
        let r = Relay {
            master: master.as_fd(),
            input: in_r.as_fd(),
            output: out_w.as_fd(),
            signals: &signals,
            pidfd: pidfd.as_fd(),
        };
        let code = relay(
            &r,
            None,
            |s| panic!("nothing to forward, got {s}"),
            // try_wait reaps only once the child has exited.
            |_| Ok(child.try_wait()?.map(|s| s.code().unwrap_or(-1))),
        )
        .unwrap();
        drop(out_w);
        let mut out = String::new();
        std::fs::File::from(out_r).read_to_string(&mut out).unwrap();
        assert_eq!(code, 3);
        assert!(out.contains("got hello\r\n"), "{out:?}");
    }
}
