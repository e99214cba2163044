//! linux.netDevices: host interfaces moved into the container's network namespace at create
//! (after init is cloned, before it sets anything up, where runc does it), renamed as asked,
//! with their permanent global addresses re-added and the link set up, as runc 1.5 does.
//! Nothing is moved back at delete: the spec forbids it and runc 1.5 does not (the kernel
//! returns physical devices to the host and destroys virtual ones with the namespace).
//!
//! The rtnetlink requests are written by hand over a NETLINK_ROUTE socket: none of the
//! crates berth uses speaks rtnetlink, and the part needed (four request kinds, their acks
//! and one dump) is small.

use anyhow::{anyhow, bail, Context, Result};
use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::sys::socket::{self, AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType};
use oci_spec::runtime::{Linux, LinuxNamespaceType, LinuxNetDevice};
use std::collections::HashMap;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

// From <linux/rtnetlink.h>, <linux/netlink.h>, <linux/if_link.h>, <linux/if_addr.h>.
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_DUMP: u16 = 0x300;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_FD: u16 = 28;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;
const IFA_FLAGS: u16 = 8;
const IFA_F_PERMANENT: u32 = 0x80;
const RT_SCOPE_UNIVERSE: u8 = 0;
const IFF_UP: u32 = 0x1;
const IFNAMSIZ: usize = 16;
const HDR: usize = 16;

/// The config's checks, in runc's words (its validator's).
pub fn validate(linux: &Linux) -> Result<()> {
    let Some(devices) = linux.net_devices() else {
        return Ok(());
    };
    if devices.is_empty() {
        return Ok(());
    }
    let has_netns = linux
        .namespaces()
        .iter()
        .flatten()
        .any(|n| n.typ() == LinuxNamespaceType::Network);
    if !has_netns {
        bail!("linux.netDevices: unable to move network devices without a NET namespace");
    }
    // Unprivileged, or root of a user namespace other than the host's (runc's rootless):
    // moving a host interface needs CAP_NET_ADMIN over the host's network namespace.
    if crate::rootless::active() || crate::rootless::in_user_namespace() {
        bail!("linux.netDevices: network devices are not supported for rootless containers");
    }
    for (name, dev) in sorted(devices) {
        for n in
            std::iter::once(name.as_str()).chain(dev.name().as_deref().filter(|n| !n.is_empty()))
        {
            if !name_valid(n) {
                bail!("linux.netDevices: invalid network device name {n:?}");
            }
        }
    }
    Ok(())
}

/// As runc's check (the kernel's dev_valid_name, with runc's length bound): not empty, at
/// most IFNAMSIZ bytes, not "." or "..", no '/', ':' or white space. An empty `name` means
/// the host's name and is not checked.
fn name_valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= IFNAMSIZ
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace())
}

fn sorted(devices: &HashMap<String, LinuxNetDevice>) -> Vec<(&String, &LinuxNetDevice)> {
    let mut v: Vec<_> = devices.iter().collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}

/// Moves every device of linux.netDevices into the network namespace of `pid` (init).
pub fn move_all(linux: &Linux, pid: i32) -> Result<()> {
    let Some(devices) = linux.net_devices() else {
        return Ok(());
    };
    let ns_path = format!("/proc/{pid}/ns/net");
    for (name, dev) in sorted(devices) {
        let new_name = dev.name().as_deref().filter(|n| !n.is_empty());
        move_one(name, new_name.unwrap_or(name), &ns_path)
            .with_context(|| format!("move netDevice {name} to namespace {ns_path}"))
            .context("error creating network interfaces")?;
    }
    Ok(())
}

/// Sets `lo` up in the caller's network namespace: init calls it in a network namespace
/// berth made, as runc's init sets up its "loopback" network in every new one (127.0.0.1
/// and ::1 come with it). A joined namespace is its owner's to configure. Done by init, not
/// the parent: init is root in the namespace's user namespace even when berth runs
/// unprivileged.
pub fn loopback_up() -> Result<()> {
    let here = Netlink::open()?;
    let index = here
        .link_index("lo")?
        .ok_or_else(|| anyhow!("no loopback device in the new network namespace"))?;
    here.set_up(index, true)
        .map_err(|e| anyhow!("setting up the loopback device: {e}"))
}

/// An address to carry over: family, prefix length and the address bytes.
#[derive(Debug, PartialEq)]
struct Addr {
    family: u8,
    prefix: u8,
    bytes: Vec<u8>,
}

fn move_one(name: &str, new_name: &str, ns_path: &str) -> Result<()> {
    let host = Netlink::open()?;
    let index = host.link_index(name)?.ok_or_else(|| {
        anyhow!("link not found for interface {name} on runtime namespace: Link not found")
    })?;
    // Down first, as runc: nothing on the host sees the device change under it. (This also
    // drops its IPv6 addresses, which the kernel keeps only with keep_addr_on_down.)
    host.set_up(index, false)
        .map_err(|e| anyhow!("fail to set link down: {e}"))?;
    let addrs = host
        .addresses(index)
        .map_err(|e| anyhow!("fail to get ip addresses: {e}"))?;
    let ns = File::open(ns_path).with_context(|| {
        format!("could not get network namespace from path {ns_path} for network device {name} ")
    })?;
    // Renamed in the same request as the move, so the host name never clashes inside.
    let mut req = Request::new(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK);
    req.ifinfo(index, 0, 0);
    req.attr_str(IFLA_IFNAME, new_name);
    req.attr(IFLA_NET_NS_FD, &(ns.as_raw_fd() as u32).to_ne_bytes());
    host.ack(req).map_err(|e| {
        anyhow!("fail to move network device {name} to network namespace {ns_path}: {e}")
    })?;

    let inside = Netlink::open_in(&ns)?;
    let index = inside.link_index(new_name)?.ok_or_else(|| {
        anyhow!("link not found for interface {new_name} on namespace {ns_path} : Link not found")
    })?;
    for a in addrs {
        inside.add_address(index, &a).map_err(|e| {
            anyhow!(
                "fail to set up address {} on namespace {ns_path}: {e}",
                show(&a)
            )
        })?;
    }
    inside
        .set_up(index, true)
        .map_err(|e| anyhow!("fail to set up interface {new_name} on namespace {ns_path}: {e}"))?;
    Ok(())
}

fn show(a: &Addr) -> String {
    let ip = match a.bytes.len() {
        4 => std::net::IpAddr::from(<[u8; 4]>::try_from(&a.bytes[..]).unwrap_or_default()),
        _ => std::net::IpAddr::from(<[u8; 16]>::try_from(&a.bytes[..]).unwrap_or_default()),
    };
    format!("{ip}/{}", a.prefix)
}

/// An errno as Go's syscall package words it (what runc prints): the C text, lower case.
fn errno_text(e: Errno) -> String {
    let s = e.desc();
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => s.to_string(),
    }
}

/// One rtnetlink request being built.
struct Request(Vec<u8>);

impl Request {
    fn new(kind: u16, flags: u16) -> Request {
        let mut b = Vec::with_capacity(64);
        b.extend_from_slice(&0u32.to_ne_bytes()); // length, filled in by `done`
        b.extend_from_slice(&kind.to_ne_bytes());
        b.extend_from_slice(&flags.to_ne_bytes());
        b.extend_from_slice(&1u32.to_ne_bytes()); // sequence
        b.extend_from_slice(&0u32.to_ne_bytes()); // port: the kernel's
        Request(b)
    }

    /// struct ifinfomsg: AF_UNSPEC, the link's index, and the flags to change.
    fn ifinfo(&mut self, index: i32, flags: u32, change: u32) {
        self.0.extend_from_slice(&[0, 0, 0, 0]);
        self.0.extend_from_slice(&index.to_ne_bytes());
        self.0.extend_from_slice(&flags.to_ne_bytes());
        self.0.extend_from_slice(&change.to_ne_bytes());
    }

    /// struct ifaddrmsg.
    fn ifaddr(&mut self, family: u8, prefix: u8, index: i32) {
        self.0
            .extend_from_slice(&[family, prefix, 0, RT_SCOPE_UNIVERSE]);
        self.0.extend_from_slice(&index.to_ne_bytes());
    }

    fn attr(&mut self, kind: u16, data: &[u8]) {
        let len = 4 + data.len();
        self.0.extend_from_slice(&(len as u16).to_ne_bytes());
        self.0.extend_from_slice(&kind.to_ne_bytes());
        self.0.extend_from_slice(data);
        self.0.resize(self.0.len().next_multiple_of(4), 0);
    }

    fn attr_str(&mut self, kind: u16, s: &str) {
        let mut data = s.as_bytes().to_vec();
        data.push(0);
        self.attr(kind, &data);
    }

    fn done(mut self) -> Vec<u8> {
        let len = self.0.len() as u32;
        self.0[..4].copy_from_slice(&len.to_ne_bytes());
        self.0
    }
}

/// A NETLINK_ROUTE socket of one network namespace (the one it was made in).
struct Netlink(OwnedFd);

impl Netlink {
    fn open() -> Result<Netlink> {
        socket::socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )
        .map(Netlink)
        .context("opening a netlink socket")
    }

    /// A socket in the namespace `ns`: made by a short-lived thread that joins it (a
    /// socket stays in the namespace it was made in), so berth itself never changes namespace.
    fn open_in(ns: &File) -> Result<Netlink> {
        std::thread::scope(|s| {
            s.spawn(|| {
                nix::sched::setns(ns.as_fd(), CloneFlags::CLONE_NEWNET)
                    .context("joining the container's network namespace")?;
                Netlink::open()
            })
            .join()
            .map_err(|_| anyhow!("the netlink thread panicked"))?
        })
    }

    fn send(&self, req: Request) -> nix::Result<()> {
        let buf = req.done();
        socket::send(self.0.as_raw_fd(), &buf, MsgFlags::empty()).map(|_| ())
    }

    /// Reads replies to the request sent until its ack (or the end of a dump), handing
    /// each other message (type, payload) to `each`.
    fn replies(&self, mut each: impl FnMut(u16, &[u8])) -> nix::Result<()> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = socket::recv(self.0.as_raw_fd(), &mut buf, MsgFlags::empty())?;
            let mut msgs = &buf[..n];
            while msgs.len() >= HDR {
                let len = u32::from_ne_bytes(msgs[0..4].try_into().unwrap()) as usize;
                let kind = u16::from_ne_bytes(msgs[4..6].try_into().unwrap());
                if len < HDR || len > msgs.len() {
                    return Err(Errno::EBADMSG);
                }
                let payload = &msgs[HDR..len];
                match kind {
                    NLMSG_DONE => return Ok(()),
                    NLMSG_ERROR => {
                        let code = payload
                            .get(0..4)
                            .map(|b| i32::from_ne_bytes(b.try_into().unwrap()))
                            .ok_or(Errno::EBADMSG)?;
                        return match code {
                            0 => Ok(()),
                            c => Err(Errno::from_raw(-c)),
                        };
                    }
                    _ => each(kind, payload),
                }
                msgs = &msgs[len.next_multiple_of(4).min(msgs.len())..];
            }
        }
    }

    fn ack(&self, req: Request) -> std::result::Result<(), String> {
        self.send(req)
            .and_then(|()| self.replies(|_, _| {}))
            .map_err(errno_text)
    }

    /// The index of the link named `name`, None where there is none.
    fn link_index(&self, name: &str) -> Result<Option<i32>> {
        let mut req = Request::new(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK);
        req.ifinfo(0, 0, 0);
        req.attr_str(IFLA_IFNAME, name);
        let mut index = None;
        let got = self.send(req).and_then(|()| {
            self.replies(|_, p| {
                index = p
                    .get(4..8)
                    .map(|b| i32::from_ne_bytes(b.try_into().unwrap()));
            })
        });
        match got {
            Ok(()) => Ok(index),
            // ERANGE, EINVAL: a name too long for any link (runc's library finds none either).
            Err(Errno::ENODEV | Errno::EINVAL | Errno::ERANGE) => Ok(None),
            Err(e) => Err(anyhow!("looking up link {name}: {}", errno_text(e))),
        }
    }

    fn set_up(&self, index: i32, up: bool) -> std::result::Result<(), String> {
        let mut req = Request::new(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK);
        req.ifinfo(index, if up { IFF_UP } else { 0 }, IFF_UP);
        self.ack(req)
    }

    /// The permanent addresses of global scope on link `index` (the spec's and runc's
    /// choice: dynamic and link- or host-scoped ones belong to the old namespace).
    fn addresses(&self, index: i32) -> std::result::Result<Vec<Addr>, String> {
        let mut req = Request::new(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP);
        req.ifaddr(0, 0, 0);
        let mut out = Vec::new();
        self.send(req)
            .and_then(|()| {
                self.replies(|_, p| {
                    if let Some(a) = parse_addr(p, index) {
                        out.push(a);
                    }
                })
            })
            .map_err(errno_text)?;
        Ok(out)
    }

    /// Adds `a` as runc's netlink library does from an address alone: local and address
    /// the same, and for IPv4 the broadcast computed from the prefix.
    fn add_address(&self, index: i32, a: &Addr) -> std::result::Result<(), String> {
        let mut req = Request::new(
            RTM_NEWADDR,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        );
        req.ifaddr(a.family, a.prefix, index);
        if a.family == libc::AF_INET as u8 {
            req.attr(IFA_LOCAL, &a.bytes);
        }
        req.attr(IFA_ADDRESS, &a.bytes);
        if let Some(b) = broadcast(a) {
            req.attr(IFA_BROADCAST, &b);
        }
        self.ack(req)
    }
}

/// One RTM_NEWADDR payload (ifaddrmsg and attributes): the address if it is on link
/// `index`, permanent and of global scope.
fn parse_addr(p: &[u8], index: i32) -> Option<Addr> {
    let family = *p.first()?;
    let prefix = *p.get(1)?;
    let mut flags = u32::from(*p.get(2)?);
    let scope = *p.get(3)?;
    let ifindex = i32::from_ne_bytes(p.get(4..8)?.try_into().ok()?);
    if ifindex != index {
        return None;
    }
    let (mut local, mut address) = (None, None);
    let mut attrs = p.get(8..)?;
    while attrs.len() >= 4 {
        let len = u16::from_ne_bytes(attrs[0..2].try_into().ok()?) as usize;
        let kind = u16::from_ne_bytes(attrs[2..4].try_into().ok()?);
        let data = attrs.get(4..len)?;
        match kind {
            IFA_LOCAL => local = Some(data.to_vec()),
            IFA_ADDRESS => address = Some(data.to_vec()),
            // The 32-bit flags, where the kernel gives them, supersede ifa_flags.
            IFA_FLAGS => flags = u32::from_ne_bytes(data.get(0..4)?.try_into().ok()?),
            _ => {}
        }
        attrs = attrs.get(len.next_multiple_of(4).min(attrs.len())..)?;
    }
    if flags & IFA_F_PERMANENT == 0 || scope != RT_SCOPE_UNIVERSE {
        return None;
    }
    // IPv4's own address is IFA_LOCAL (IFA_ADDRESS is the peer on point-to-point links).
    let bytes = local.or(address)?;
    Some(Addr {
        family,
        prefix,
        bytes,
    })
}

/// IPv4's broadcast for prefixes below /31, as runc's netlink library computes it.
fn broadcast(a: &Addr) -> Option<Vec<u8>> {
    if a.family != libc::AF_INET as u8 || a.prefix >= 31 || a.bytes.len() != 4 {
        return None;
    }
    let ip = u32::from_be_bytes(a.bytes[..].try_into().ok()?);
    let host_bits = u32::MAX.checked_shr(u32::from(a.prefix)).unwrap_or(0);
    Some((ip | host_bits).to_be_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_checked_as_runc_does() {
        for ok in ["eth0", "a", "abcdefghijklmnop", "eth%d", "veth-1.2"] {
            assert!(name_valid(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a:b",
            "a b",
            "a\tb",
            "abcdefghijklmnopq",
        ] {
            assert!(!name_valid(bad), "{bad:?}");
        }
    }

    #[test]
    fn request_layout() {
        let mut r = Request::new(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK);
        r.ifinfo(7, 0, IFF_UP);
        r.attr_str(IFLA_IFNAME, "eth0");
        let b = r.done();
        // Header 16 + ifinfomsg 16 + attribute 4 + "eth0\0" padded to 8.
        assert_eq!(b.len(), 44);
        assert_eq!(u32::from_ne_bytes(b[0..4].try_into().unwrap()), 44);
        assert_eq!(u16::from_ne_bytes(b[4..6].try_into().unwrap()), RTM_NEWLINK);
        assert_eq!(i32::from_ne_bytes(b[20..24].try_into().unwrap()), 7);
        assert_eq!(u32::from_ne_bytes(b[28..32].try_into().unwrap()), IFF_UP);
        assert_eq!(u16::from_ne_bytes(b[32..34].try_into().unwrap()), 9);
        assert_eq!(&b[36..44], b"eth0\0\0\0\0");
    }

    #[test]
    fn broadcast_from_prefix() {
        let a = |prefix, family| Addr {
            family,
            prefix,
            bytes: vec![10, 77, 0, 1],
        };
        let inet = libc::AF_INET as u8;
        assert_eq!(broadcast(&a(24, inet)), Some(vec![10, 77, 0, 255]));
        assert_eq!(broadcast(&a(0, inet)), Some(vec![255, 255, 255, 255]));
        assert_eq!(broadcast(&a(31, inet)), None);
        assert_eq!(broadcast(&a(32, inet)), None);
        assert_eq!(broadcast(&a(24, libc::AF_INET6 as u8)), None);
    }

    #[test]
    fn addresses_kept_only_permanent_and_global() {
        // ifaddrmsg (AF_INET, /24, flags, scope, index 7) + IFA_LOCAL + IFA_FLAGS.
        let msg = |flags: u32, scope: u8, index: i32| {
            let mut p = vec![libc::AF_INET as u8, 24, 0, scope];
            p.extend_from_slice(&index.to_ne_bytes());
            p.extend_from_slice(&8u16.to_ne_bytes());
            p.extend_from_slice(&IFA_LOCAL.to_ne_bytes());
            p.extend_from_slice(&[10, 77, 0, 1]);
            p.extend_from_slice(&8u16.to_ne_bytes());
            p.extend_from_slice(&IFA_FLAGS.to_ne_bytes());
            p.extend_from_slice(&flags.to_ne_bytes());
            p
        };
        let want = Addr {
            family: libc::AF_INET as u8,
            prefix: 24,
            bytes: vec![10, 77, 0, 1],
        };
        assert_eq!(parse_addr(&msg(IFA_F_PERMANENT, 0, 7), 7), Some(want));
        assert_eq!(parse_addr(&msg(IFA_F_PERMANENT, 0, 7), 8), None);
        assert_eq!(parse_addr(&msg(0, 0, 7), 7), None);
        assert_eq!(parse_addr(&msg(IFA_F_PERMANENT, 253, 7), 7), None);
    }
}
