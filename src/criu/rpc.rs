//! CRIU's RPC, as runc speaks it: `criu swrk FD` serves requests on a SOCK_SEQPACKET
//! socket, one protobuf message per packet. Only this mode hands a restored terminal's new
//! pty master back (with SCM_RIGHTS, in the "orphan-pts-master" notification) and tells
//! the client the moment the restored tree's namespaces exist ("setup-namespaces", when runc
//! runs the prestart and createRuntime hooks).
//!
//! | berth sends               | CRIU answers                                             |
//! |---------------------------|----------------------------------------------------------|
//! | `Req{type, opts}`         | zero or more `Resp{NOTIFY, notify{script, pid}}` (+ fd)  |
//! | after each notification:  |                                                          |
//! | `Req{NOTIFY, notify_success: true}` | then the final `Resp{type, success, ...}`      |
//!
//! A failed notification handler closes the socket instead of answering: CRIU sees EOF,
//! fails the request and kills what it restored.
//!
//! The messages are the part of CRIU's `images/rpc.proto` berth uses, declared with
//! prost's derive (field numbers as in rpc.proto) so that the build needs no protoc.

use anyhow::{anyhow, bail, Context, Result};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use prost::Message;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::process::Command;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ReqType {
    Empty = 0,
    Dump = 1,
    Restore = 2,
    PreDump = 4,
    Notify = 6,
    FeatureCheck = 9,
}

/// rpc.proto's `criu_cg_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum CgMode {
    Ignore = 0,
    Soft = 3,
    Full = 4,
    Strict = 5,
}

/// rpc.proto's `criu_network_lock_method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum NetworkLock {
    Iptables = 1,
    Nftables = 2,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct InheritFd {
    #[prost(string, required, tag = "1")]
    pub key: String,
    #[prost(int32, required, tag = "2")]
    pub fd: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CgroupRoot {
    #[prost(string, optional, tag = "1")]
    pub ctrl: Option<String>,
    #[prost(string, required, tag = "2")]
    pub path: String,
}

/// rpc.proto's `criu_page_server_info`: where a dump sends its memory pages.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PageServerInfo {
    #[prost(string, optional, tag = "1")]
    pub address: Option<String>,
    #[prost(int32, optional, tag = "2")]
    pub port: Option<i32>,
}

/// rpc.proto's `criu_features`: what a FEATURE_CHECK asks about and CRIU answers.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Features {
    #[prost(bool, optional, tag = "1")]
    pub mem_track: Option<bool>,
    #[prost(bool, optional, tag = "2")]
    pub lazy_pages: Option<bool>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct JoinNamespace {
    #[prost(string, required, tag = "1")]
    pub ns: String,
    #[prost(string, required, tag = "2")]
    pub ns_file: String,
}

/// rpc.proto's `criu_opts`: the options of the command line, and fds instead of paths for
/// the image and work directories (CRIU opens them through /proc/<berth>/fd).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Opts {
    #[prost(int32, required, tag = "1")]
    pub images_dir_fd: i32,
    #[prost(int32, optional, tag = "2")]
    pub pid: Option<i32>,
    #[prost(bool, optional, tag = "3")]
    pub leave_running: Option<bool>,
    #[prost(bool, optional, tag = "4")]
    pub ext_unix_sk: Option<bool>,
    #[prost(bool, optional, tag = "5")]
    pub tcp_established: Option<bool>,
    #[prost(bool, optional, tag = "6")]
    pub evasive_devices: Option<bool>,
    #[prost(bool, optional, tag = "7")]
    pub shell_job: Option<bool>,
    #[prost(bool, optional, tag = "8")]
    pub file_locks: Option<bool>,
    #[prost(int32, optional, tag = "9")]
    pub log_level: Option<i32>,
    #[prost(string, optional, tag = "10")]
    pub log_file: Option<String>,
    #[prost(message, optional, tag = "11")]
    pub ps: Option<PageServerInfo>,
    #[prost(bool, optional, tag = "12")]
    pub notify_scripts: Option<bool>,
    #[prost(string, optional, tag = "13")]
    pub root: Option<String>,
    #[prost(string, optional, tag = "14")]
    pub parent_img: Option<String>,
    #[prost(bool, optional, tag = "15")]
    pub track_mem: Option<bool>,
    #[prost(bool, optional, tag = "16")]
    pub auto_dedup: Option<bool>,
    #[prost(int32, optional, tag = "17")]
    pub work_dir_fd: Option<i32>,
    #[prost(bool, optional, tag = "18")]
    pub link_remap: Option<bool>,
    #[prost(message, repeated, tag = "25")]
    pub cg_root: Vec<CgroupRoot>,
    #[prost(bool, optional, tag = "26")]
    pub rst_sibling: Option<bool>,
    #[prost(message, repeated, tag = "27")]
    pub inherit_fd: Vec<InheritFd>,
    #[prost(enumeration = "CgMode", optional, tag = "34")]
    pub manage_cgroups_mode: Option<i32>,
    #[prost(string, repeated, tag = "37")]
    pub external: Vec<String>,
    #[prost(uint32, optional, tag = "38")]
    pub empty_ns: Option<u32>,
    #[prost(message, repeated, tag = "39")]
    pub join_ns: Vec<JoinNamespace>,
    #[prost(string, optional, tag = "44")]
    pub freeze_cgroup: Option<String>,
    #[prost(bool, optional, tag = "46")]
    pub tcp_skip_in_flight: Option<bool>,
    #[prost(bool, optional, tag = "48")]
    pub lazy_pages: Option<bool>,
    #[prost(int32, optional, tag = "49")]
    pub status_fd: Option<i32>,
    #[prost(bool, optional, tag = "50")]
    pub orphan_pts_master: Option<bool>,
    #[prost(string, optional, tag = "53")]
    pub lsm_profile: Option<String>,
    #[prost(string, optional, tag = "63")]
    pub lsm_mount_context: Option<String>,
    #[prost(enumeration = "NetworkLock", optional, tag = "64")]
    pub network_lock: Option<i32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Req {
    #[prost(enumeration = "ReqType", required, tag = "1")]
    pub r#type: i32,
    #[prost(message, optional, tag = "2")]
    pub opts: Option<Opts>,
    #[prost(bool, optional, tag = "3")]
    pub notify_success: Option<bool>,
    #[prost(message, optional, tag = "5")]
    pub features: Option<Features>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RestoreResp {
    #[prost(int32, required, tag = "1")]
    pub pid: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Notify {
    #[prost(string, optional, tag = "1")]
    pub script: Option<String>,
    #[prost(int32, optional, tag = "2")]
    pub pid: Option<i32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Resp {
    #[prost(enumeration = "ReqType", required, tag = "1")]
    pub r#type: i32,
    #[prost(bool, required, tag = "2")]
    pub success: bool,
    #[prost(message, optional, tag = "4")]
    pub restore: Option<RestoreResp>,
    #[prost(message, optional, tag = "5")]
    pub notify: Option<Notify>,
    #[prost(int32, optional, tag = "7")]
    pub cr_errno: Option<i32>,
    #[prost(message, optional, tag = "8")]
    pub features: Option<Features>,
    #[prost(string, optional, tag = "9")]
    pub cr_errmsg: Option<String>,
}

/// A notification from CRIU: the script's name, the pid it concerns (the restored init for
/// "setup-namespaces" and "post-restore") and the fd that came with it.
pub struct Notification {
    pub script: String,
    pub pid: i32,
    pub fd: Option<OwnedFd>,
}

/// Runs `cmd` (CRIU, with its stdio and any pre_exec steps set by the caller) as
/// `criu swrk`, sends `req`, answers notifications through `on_notify`, and returns CRIU's
/// final answer once CRIU has exited. Errors are one line: what failed, CRIU's message or
/// first error line from `log`, and where the log is (a feature check has no log).
pub fn call(
    mut cmd: Command,
    req: &Req,
    what: &str,
    log: Option<&Path>,
    mut on_notify: impl FnMut(Notification) -> Result<()>,
) -> Result<Resp> {
    let (client, server) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("criu: making the RPC socket pair")?;
    let server_fd = server.as_raw_fd();
    cmd.arg("swrk").arg(server_fd.to_string());
    // SAFETY: runs in the forked child before exec; fcntl is async-signal-safe.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
            if libc::fcntl(server_fd, libc::F_SETFD, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    crate::logging::debug(&format!("running {} swrk for {what}: {req:?}", super::CRIU));
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("criu {what}: the criu program is not installed (Debian: apt install criu)")
        }
        Err(e) => return Err(e).with_context(|| format!("running criu {what}")),
    };
    // Only CRIU holds the server end now: if it dies, the conversation sees EOF.
    drop(server);
    let answer = converse(&client, req, &mut on_notify);
    drop(client);
    let status = child
        .wait()
        .with_context(|| format!("waiting for criu {what}"))?;
    let err = match answer {
        Ok(resp) if status.success() => return Ok(resp),
        // After a pre-dump CRIU waits for the next request of an iterative series; berth
        // makes one pre-dump per call (as runc), so CRIU exits in error on the EOF.
        Ok(resp) if req.r#type == ReqType::PreDump as i32 => return Ok(resp),
        Ok(_) => anyhow!("criu exited with {status}"),
        Err(e) => e,
    };
    let Some(log) = log else {
        bail!("criu {what} failed ({err:#})")
    };
    let first_error = std::fs::read_to_string(log)
        .ok()
        .and_then(|t| super::first_error_line(&t))
        .map(|l| format!(": {l}"))
        .unwrap_or_default();
    bail!(
        "criu {what} failed ({err:#}){first_error} (log: {})",
        log.display()
    )
}

/// Most a CRIU answer takes (they are a few hundred bytes).
const MAX_PACKET: usize = 64 * 1024;

fn converse(
    sock: &OwnedFd,
    req: &Req,
    on_notify: &mut impl FnMut(Notification) -> Result<()>,
) -> Result<Resp> {
    send(sock, req)?;
    let mut buf = vec![0u8; MAX_PACKET];
    loop {
        let (n, mut fds) =
            crate::sync::recv_with_fds(sock.as_fd(), &mut buf).context("reading CRIU's answer")?;
        if n == 0 && fds.is_empty() {
            bail!("CRIU closed the connection without an answer");
        }
        if n == buf.len() {
            bail!("CRIU's answer is larger than {MAX_PACKET} bytes");
        }
        let resp = Resp::decode(&buf[..n]).context("decoding CRIU's answer")?;
        if !resp.success {
            let msg = resp.cr_errmsg.as_deref().filter(|m| !m.is_empty());
            let errno = resp.cr_errno.filter(|e| *e != 0);
            bail!(match (msg, errno) {
                (Some(m), _) => m.to_string(),
                (None, Some(e)) => format!("{}", nix::errno::Errno::from_raw(e)),
                (None, None) => "CRIU reported a failure".to_string(),
            });
        }
        if resp.r#type == ReqType::Notify as i32 {
            if fds.len() > 1 {
                bail!("CRIU sent {} fds with one notification", fds.len());
            }
            let n = resp.notify.unwrap_or_default();
            on_notify(Notification {
                script: n.script.unwrap_or_default(),
                pid: n.pid.unwrap_or_default(),
                fd: fds.pop(),
            })?;
            send(
                sock,
                &Req {
                    r#type: ReqType::Notify as i32,
                    opts: None,
                    notify_success: Some(true),
                    features: None,
                },
            )?;
            continue;
        }
        if resp.r#type != req.r#type {
            bail!(
                "CRIU answered a request of type {} with one of type {}",
                req.r#type,
                resp.r#type
            );
        }
        return Ok(resp);
    }
}

fn send(sock: &OwnedFd, req: &Req) -> Result<()> {
    crate::sync::send_with_fds(sock.as_fd(), &req.encode_to_vec(), &[])
        .context("writing a request to CRIU")
}
