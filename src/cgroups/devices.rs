//! Device access rules: linux.resources.devices plus the default allow list, as the v1
//! devices.allow/devices.deny lines, and the v1 kernel's rule semantics emulated so that the
//! v2 eBPF program (devices_bpf.rs) allows exactly what v1 would.

use anyhow::{bail, Result};
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

/// Access bits, numbered as the kernel's BPF_DEVCG_ACC_* (v1 uses letters).
pub const MKNOD: u8 = 1;
pub const READ: u8 = 2;
pub const WRITE: u8 = 4;
pub const RWM: u8 = MKNOD | READ | WRITE;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevType {
    All,
    Char,
    Block,
}

/// One rule; `None` for major/minor is the wildcard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub allow: bool,
    pub typ: DevType,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: u8,
}

const fn allow(typ: DevType, major: Option<u32>, minor: Option<u32>, access: u8) -> Rule {
    Rule {
        allow: true,
        typ,
        major,
        minor,
        access,
    }
}

/// What every container may use, appended after the configured rules as runc does: mknod
/// of any device (creating a node grants no access to it), the devices runtime-linux.md
/// says the runtime supplies (null, zero, full, random, urandom, tty, ptmx, and the pty
/// behind /dev/console under /dev/pts), and /dev/net/tun, which runc also keeps.
pub const DEFAULT_ALLOW: &[Rule] = &[
    allow(DevType::Char, None, None, MKNOD),
    allow(DevType::Block, None, None, MKNOD),
    allow(DevType::Char, Some(1), Some(3), RWM), // /dev/null
    allow(DevType::Char, Some(1), Some(8), RWM), // /dev/random
    allow(DevType::Char, Some(1), Some(7), RWM), // /dev/full
    allow(DevType::Char, Some(5), Some(0), RWM), // /dev/tty
    allow(DevType::Char, Some(1), Some(5), RWM), // /dev/zero
    allow(DevType::Char, Some(1), Some(9), RWM), // /dev/urandom
    allow(DevType::Char, Some(136), None, RWM),  // /dev/pts/*, so /dev/console too
    allow(DevType::Char, Some(5), Some(2), RWM), // /dev/ptmx
    allow(DevType::Char, Some(10), Some(200), RWM), // /dev/net/tun
];

fn dev_number(v: Option<i64>, what: &str, i: usize) -> Result<Option<u32>> {
    match v {
        None | Some(-1) => Ok(None),
        // Device numbers are at most 32 bits; the BPF program compares them as i32 immediates.
        Some(n) if (0..=i64::from(i32::MAX)).contains(&n) => Ok(Some(n as u32)),
        Some(n) => bail!("linux.resources.devices[{i}].{what}: {n} is not a device number"),
    }
}

/// Parses "rwm"-style access letters.
pub fn parse_access(s: &str) -> Option<u8> {
    let mut a = 0;
    for c in s.chars() {
        a |= match c {
            'r' => READ,
            'w' => WRITE,
            'm' => MKNOD,
            _ => return None,
        };
    }
    (a != 0).then_some(a)
}

/// One configured rule, checked. Access is required, as runc requires it.
pub fn from_oci(d: &LinuxDeviceCgroup, i: usize) -> Result<Rule> {
    let typ = match d.typ().unwrap_or(LinuxDeviceType::A) {
        LinuxDeviceType::A => DevType::All,
        LinuxDeviceType::C => DevType::Char,
        LinuxDeviceType::B => DevType::Block,
        other => bail!(
            "linux.resources.devices[{i}].type: {:?} is not a cgroup device type (a, b or c)",
            other.as_str()
        ),
    };
    let acc = d.access().as_deref().unwrap_or("");
    let Some(access) = parse_access(acc) else {
        bail!("linux.resources.devices[{i}].access: {acc:?} must be a non-empty combination of r, w and m");
    };
    Ok(Rule {
        allow: d.allow(),
        typ,
        major: dev_number(d.major(), "major", i)?,
        minor: dev_number(d.minor(), "minor", i)?,
        access,
    })
}

/// The configured rules followed by the default allow list.
pub fn effective_rules(devices: Option<&Vec<LinuxDeviceCgroup>>) -> Result<Vec<Rule>> {
    let mut rules = Vec::new();
    for (i, d) in devices
        .map(|v| v.as_slice())
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        rules.push(from_oci(d, i)?);
    }
    rules.extend_from_slice(DEFAULT_ALLOW);
    Ok(rules)
}

/// The v1 file and line for a rule, e.g. ("devices.allow", "c 1:3 rwm").
pub fn v1_line(r: &Rule) -> (&'static str, String) {
    let file = if r.allow {
        "devices.allow"
    } else {
        "devices.deny"
    };
    let t = match r.typ {
        DevType::All => 'a',
        DevType::Char => 'c',
        DevType::Block => 'b',
    };
    let num = |n: Option<u32>| n.map_or("*".to_string(), |n| n.to_string());
    let mut acc = String::new();
    for (bit, c) in [(READ, 'r'), (WRITE, 'w'), (MKNOD, 'm')] {
        if r.access & bit != 0 {
            acc.push(c);
        }
    }
    (file, format!("{t} {}:{} {acc}", num(r.major), num(r.minor)))
}

/// The state a v1 devices cgroup reaches after a rule list: a default and exceptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emulated {
    /// true: everything not excepted is allowed (the exceptions deny).
    pub default_allow: bool,
    /// Exceptions (allow is meaningless here: it is !default_allow).
    pub exceptions: Vec<Rule>,
}

/// Applies rules as the v1 kernel does (security/device_cgroup.c), starting from a new
/// cgroup under an unrestricted parent (everything allowed): a type-"a" rule resets the
/// default and drops every exception; a rule of the default's kind removes its access bits
/// from an exception with the same type and numbers; the other kind adds an exception,
/// merging access with an identical one.
pub fn emulate(rules: &[Rule]) -> Emulated {
    let mut st = Emulated {
        default_allow: true,
        exceptions: Vec::new(),
    };
    for r in rules {
        if r.typ == DevType::All {
            st.default_allow = r.allow;
            st.exceptions.clear();
            continue;
        }
        let same = |e: &Rule| e.typ == r.typ && e.major == r.major && e.minor == r.minor;
        if r.allow == st.default_allow {
            for e in st.exceptions.iter_mut().filter(|e| same(e)) {
                e.access &= !r.access;
            }
            st.exceptions.retain(|e| e.access != 0);
        } else if let Some(e) = st.exceptions.iter_mut().find(|e| same(e)) {
            e.access |= r.access;
        } else {
            st.exceptions.push(Rule {
                allow: r.allow,
                ..*r
            });
        }
    }
    st
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxDeviceCgroupBuilder;

    fn oci(
        allow: bool,
        t: LinuxDeviceType,
        maj: Option<i64>,
        min: Option<i64>,
        a: &str,
    ) -> LinuxDeviceCgroup {
        let mut b = LinuxDeviceCgroupBuilder::default()
            .allow(allow)
            .typ(t)
            .access(a);
        if let Some(m) = maj {
            b = b.major(m);
        }
        if let Some(m) = min {
            b = b.minor(m);
        }
        b.build().unwrap()
    }

    #[test]
    fn v1_lines() {
        let deny_all = from_oci(&oci(false, LinuxDeviceType::A, None, None, "rwm"), 0).unwrap();
        assert_eq!(
            v1_line(&deny_all),
            ("devices.deny", "a *:* rwm".to_string())
        );
        let r = from_oci(&oci(true, LinuxDeviceType::C, Some(1), Some(3), "mr"), 0).unwrap();
        assert_eq!(v1_line(&r), ("devices.allow", "c 1:3 rm".to_string()));
        let r = from_oci(&oci(true, LinuxDeviceType::B, Some(8), None, "w"), 0).unwrap();
        assert_eq!(v1_line(&r), ("devices.allow", "b 8:* w".to_string()));
        assert_eq!(v1_line(&DEFAULT_ALLOW[8]).1, "c 136:* rwm");
    }

    #[test]
    fn bad_rules_name_the_field() {
        let e = from_oci(&oci(true, LinuxDeviceType::U, None, None, "r"), 3).unwrap_err();
        assert!(
            e.to_string().starts_with("linux.resources.devices[3].type"),
            "{e}"
        );
        let e = from_oci(&oci(true, LinuxDeviceType::C, None, None, "rx"), 1).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("linux.resources.devices[1].access"),
            "{e}"
        );
        let e = from_oci(&oci(true, LinuxDeviceType::C, Some(-7), None, "r"), 0).unwrap_err();
        assert!(e.to_string().contains("major: -7"), "{e}");
        let no_access = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .build()
            .unwrap();
        assert!(from_oci(&no_access, 0).is_err());
    }

    #[test]
    fn emulation_follows_the_kernel() {
        let rules = effective_rules(Some(&vec![oci(
            false,
            LinuxDeviceType::A,
            None,
            None,
            "rwm",
        )]))
        .unwrap();
        let st = emulate(&rules);
        assert!(!st.default_allow);
        assert_eq!(st.exceptions.len(), DEFAULT_ALLOW.len());

        // Without a deny-all first, the defaults change nothing: everything stays allowed.
        let st = emulate(&effective_rules(None).unwrap());
        assert!(st.default_allow);
        assert!(st.exceptions.is_empty());

        // Deny in allow-all mode adds an exception; a later allow of part of it removes bits.
        let st = emulate(&[
            from_oci(&oci(false, LinuxDeviceType::C, Some(1), Some(3), "rw"), 0).unwrap(),
            from_oci(&oci(true, LinuxDeviceType::C, Some(1), Some(3), "r"), 1).unwrap(),
        ]);
        assert!(st.default_allow);
        assert_eq!(st.exceptions.len(), 1);
        assert_eq!(st.exceptions[0].access, WRITE);

        // Allows merge; a deny of a specific device does not punch a hole in a wildcard.
        let st = emulate(&[
            from_oci(&oci(false, LinuxDeviceType::A, None, None, "rwm"), 0).unwrap(),
            from_oci(&oci(true, LinuxDeviceType::C, Some(4), None, "r"), 1).unwrap(),
            from_oci(&oci(true, LinuxDeviceType::C, Some(4), None, "w"), 2).unwrap(),
            from_oci(&oci(false, LinuxDeviceType::C, Some(4), Some(1), "r"), 3).unwrap(),
        ]);
        assert_eq!(st.exceptions.len(), 1);
        assert_eq!(st.exceptions[0].access, READ | WRITE);
    }
}
