//! `linux.memoryPolicy`: the NUMA memory policy (set_mempolicy(2)) of the container's
//! processes. As runc 1.5: set by init after the createContainer hooks (which keep the
//! caller's policy) and before startContainer's, and again by every exec'd process, which
//! is not init's child. Only the shape of the config is checked up front (names, node list,
//! how many nodes a mode takes); what the kernel refuses (an offline node, exclusive flags,
//! a flag the mode does not take) fails in init with the kernel's error, as runc's does.

use anyhow::{anyhow, bail, Context as _, Result};
use oci_spec::runtime::{LinuxMemoryPolicy, MemoryPolicyFlagType, MemoryPolicyModeType};
use serde_json::Value;

use MemoryPolicyFlagType as F;
use MemoryPolicyModeType as M;

/// The modes with the kernel's values (uapi linux/mempolicy.h), in runc's features order.
pub const MODES: [(M, &str, i32); 7] = [
    (M::MpolBind, "MPOL_BIND", 2),
    (M::MpolDefault, "MPOL_DEFAULT", 0),
    (M::MpolInterleave, "MPOL_INTERLEAVE", 3),
    (M::MpolLocal, "MPOL_LOCAL", 4),
    (M::MpolPreferred, "MPOL_PREFERRED", 1),
    (M::MpolPreferredMany, "MPOL_PREFERRED_MANY", 5),
    (M::MpolWeightedInterleave, "MPOL_WEIGHTED_INTERLEAVE", 6),
];

/// The mode flags, or'ed into the mode argument.
pub const FLAGS: [(F, &str, i32); 3] = [
    (F::MpolFNumaBalancing, "MPOL_F_NUMA_BALANCING", 1 << 13),
    (F::MpolFRelativeNodes, "MPOL_F_RELATIVE_NODES", 1 << 14),
    (F::MpolFStaticNodes, "MPOL_F_STATIC_NODES", 1 << 15),
];

/// Node ids 0..=1023, runc's limit (the kernel's MAX_NUMNODES with NODES_SHIFT=10).
const MAX_NODES: usize = 1024;
const WORDS: usize = MAX_NODES / 64;

/// Before the config is deserialized: an unknown mode or flag named in runc's words (and
/// by its field), rather than as serde's list of variants.
pub fn check_names(policy: Option<&Value>) -> Result<()> {
    let Some(Value::Object(p)) = policy else {
        return Ok(());
    };
    let mode = match p.get("mode") {
        None | Some(Value::Null) => Some(""),
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => None, // a type error, which serde names
    };
    if let Some(mode) = mode.filter(|m| !MODES.iter().any(|x| x.1 == *m)) {
        bail!("linux.memoryPolicy.mode: invalid memory policy mode {mode:?}");
    }
    if let Some(Value::Array(flags)) = p.get("flags") {
        for (i, f) in flags.iter().enumerate() {
            let f = if f.is_null() { Some("") } else { f.as_str() };
            if let Some(f) = f.filter(|f| !FLAGS.iter().any(|x| x.1 == *f)) {
                bail!("linux.memoryPolicy.flags[{i}]: invalid memory policy flag {f:?}");
            }
        }
    }
    Ok(())
}

/// Config validation: the node list parses, and the mode gets the number of nodes it takes
/// (none for MPOL_DEFAULT and MPOL_LOCAL; at least one for the modes that spread or bind;
/// MPOL_PREFERRED either, none meaning local allocation).
pub fn validate(p: &LinuxMemoryPolicy) -> Result<()> {
    let nodes = parse_nodes(p.nodes().as_deref().unwrap_or_default())
        .context("linux.memoryPolicy.nodes")?;
    let count: u32 = nodes.iter().map(|w| w.count_ones()).sum();
    match p.mode() {
        M::MpolDefault | M::MpolLocal if count > 0 => {
            bail!("linux.memoryPolicy.nodes: memory policy mode requires 0 nodes but got {count}")
        }
        M::MpolBind | M::MpolInterleave | M::MpolWeightedInterleave | M::MpolPreferredMany
            if count == 0 =>
        {
            bail!(
                "linux.memoryPolicy.nodes: memory policy mode requires at least one node but \
                 got 0"
            )
        }
        _ => Ok(()),
    }
}

/// Parses a node list such as "0-3,7" into a nodemask, as runc reads it: parts are trimmed
/// and empty ones skipped, ranges are `a-b` with `a <= b`, digits only. An empty string is
/// no nodes; a non-empty one must name at least one.
fn parse_nodes(list: &str) -> Result<[u64; WORDS]> {
    let mut mask = [0u64; WORDS];
    if list.is_empty() {
        return Ok(mask);
    }
    let bad = |why: String| anyhow!("invalid memory policy nodes {list:?}: {why}");
    let number = |s: &str| {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(format!("{s:?} is not a node number")));
        }
        match s.parse::<usize>() {
            Ok(n) if n < MAX_NODES => Ok(n),
            _ => Err(bad(format!(
                "values larger than {} are not supported",
                MAX_NODES - 1
            ))),
        }
    };
    let mut any = false;
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (first, last) = match part.split_once('-') {
            Some((a, b)) => (number(a)?, number(b)?),
            None => (number(part)?, number(part)?),
        };
        if first > last {
            return Err(bad(format!("invalid range: {part}")));
        }
        for n in first..=last {
            mask[n / 64] |= 1 << (n % 64);
        }
        any = true;
    }
    if !any {
        return Err(bad(format!("no members found in set {list:?}")));
    }
    Ok(mask)
}

/// set_mempolicy(2) for the calling (single-threaded) process; inherited across fork and
/// execve.
pub fn apply(p: &LinuxMemoryPolicy) -> Result<()> {
    let nodes = parse_nodes(p.nodes().as_deref().unwrap_or_default())
        .context("linux.memoryPolicy.nodes")?;
    let mode = MODES.iter().find(|m| m.0 == p.mode()).map_or(0, |m| m.2);
    let flags = p
        .flags()
        .iter()
        .flatten()
        .filter_map(|f| FLAGS.iter().find(|x| x.0 == *f))
        .fold(0, |acc, f| acc | f.2);
    // The kernel reads maxnode - 1 bits (set_mempolicy(2)): one more than the mask holds,
    // so that node 1023 counts too.
    let maxnode = (MAX_NODES + 1) as libc::c_ulong;
    // SAFETY: `nodes` is a live array of MAX_NODES bits, all the kernel reads with this
    // maxnode; the call takes integers otherwise and changes only this task's policy.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_set_mempolicy,
            mode | flags,
            nodes.as_ptr(),
            maxnode,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error()).with_context(|| {
            let mut mode = p.mode().to_string();
            for f in p.flags().iter().flatten() {
                mode = format!("{mode}|{}", name_of_flag(*f));
            }
            let nodes = p.nodes().as_deref().unwrap_or_default();
            format!("linux.memoryPolicy: set_mempolicy({mode}, nodes {nodes:?})")
        });
    }
    Ok(())
}

fn name_of_flag(f: F) -> &'static str {
    FLAGS.iter().find(|x| x.0 == f).map_or("", |x| x.1)
}

/// For `berth features`.
pub fn mode_names() -> Vec<&'static str> {
    MODES.iter().map(|m| m.1).collect()
}

pub fn flag_names() -> Vec<&'static str> {
    FLAGS.iter().map(|f| f.1).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(v: Value) -> LinuxMemoryPolicy {
        serde_json::from_value(v).unwrap()
    }

    fn nodes(list: &str) -> Vec<usize> {
        let mask = parse_nodes(list).unwrap();
        (0..MAX_NODES)
            .filter(|n| mask[n / 64] & (1 << (n % 64)) != 0)
            .collect()
    }

    fn err(list: &str) -> String {
        format!("{:#}", parse_nodes(list).unwrap_err())
    }

    #[test]
    fn node_lists_parse_as_runcs() {
        assert_eq!(nodes(""), Vec::<usize>::new());
        assert_eq!(nodes("0-3,7"), [0, 1, 2, 3, 7]);
        assert_eq!(nodes(" 0 ,"), [0]);
        assert_eq!(nodes("0,0,01"), [0, 1]);
        assert_eq!(nodes("1023"), [1023]);
        assert_eq!(
            err("3-1"),
            "invalid memory policy nodes \"3-1\": invalid range: 3-1"
        );
        assert_eq!(
            err("1024"),
            "invalid memory policy nodes \"1024\": values larger than 1023 are not supported"
        );
        assert_eq!(
            err(" , "),
            "invalid memory policy nodes \" , \": no members found in set \" , \""
        );
        for bad in ["x", "+1", "-1", "0-", "0 - 1", "0-2-3", "0x1", "0;1"] {
            assert!(
                err(bad).contains("is not a node number"),
                "{bad}: {}",
                err(bad)
            );
        }
    }

    #[test]
    fn modes_take_the_nodes_runc_allows() {
        let check = |mode: &str, nodes: Option<&str>| {
            let mut v = json!({"mode": mode});
            if let Some(n) = nodes {
                v["nodes"] = json!(n);
            }
            validate(&policy(v)).map_err(|e| format!("{e:#}"))
        };
        let none = "linux.memoryPolicy.nodes: memory policy mode requires 0 nodes but got 2";
        let one = "linux.memoryPolicy.nodes: memory policy mode requires at least one node but \
                   got 0";
        for m in ["MPOL_DEFAULT", "MPOL_LOCAL"] {
            assert_eq!(check(m, None), Ok(()));
            assert_eq!(check(m, Some("")), Ok(()));
            assert_eq!(check(m, Some("0,1")), Err(none.to_string()));
        }
        for m in [
            "MPOL_BIND",
            "MPOL_INTERLEAVE",
            "MPOL_WEIGHTED_INTERLEAVE",
            "MPOL_PREFERRED_MANY",
        ] {
            assert_eq!(check(m, None), Err(one.to_string()));
            assert_eq!(check(m, Some("")), Err(one.to_string()));
            assert_eq!(check(m, Some("0")), Ok(()));
        }
        assert_eq!(check("MPOL_PREFERRED", None), Ok(()));
        assert_eq!(check("MPOL_PREFERRED", Some("0")), Ok(()));
        assert!(check("MPOL_BIND", Some("x"))
            .unwrap_err()
            .starts_with("linux.memoryPolicy.nodes: invalid memory policy nodes \"x\""));
    }

    #[test]
    fn unknown_names_are_refused_in_runcs_words() {
        let check = |v: Value| check_names(Some(&v)).map_err(|e| format!("{e:#}"));
        assert_eq!(
            check(json!({"mode": "MPOL_BOGUS"})),
            Err("linux.memoryPolicy.mode: invalid memory policy mode \"MPOL_BOGUS\"".into())
        );
        assert_eq!(
            check(json!({})),
            Err("linux.memoryPolicy.mode: invalid memory policy mode \"\"".into())
        );
        assert_eq!(
            check(json!({"mode": "MPOL_BIND", "flags": ["MPOL_F_STATIC_NODES", "X"]})),
            Err("linux.memoryPolicy.flags[1]: invalid memory policy flag \"X\"".into())
        );
        assert_eq!(
            check(json!({"mode": "MPOL_BIND", "flags": [null]})),
            Err("linux.memoryPolicy.flags[0]: invalid memory policy flag \"\"".into())
        );
        assert_eq!(check(json!({"mode": 3})), Ok(()));
        for (_, name, _) in MODES {
            assert_eq!(check(json!({"mode": name})), Ok(()));
        }
        let all: Vec<&str> = FLAGS.iter().map(|f| f.1).collect();
        assert_eq!(check(json!({"mode": "MPOL_BIND", "flags": all})), Ok(()));
    }

    #[test]
    fn tables_match_oci_specs_names() {
        for (m, name, _) in MODES {
            assert_eq!(m.to_string(), name);
        }
        for (f, name, _) in FLAGS {
            assert_eq!(f.to_string(), name);
        }
    }
}
