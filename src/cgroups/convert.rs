//! The conversions from OCI (v1-shaped) resource values to cgroup v2 files, as runc does
//! them, and the formatting of limits where -1 means "no limit".

use anyhow::{bail, Result};

/// cpu.shares [2, 262144] (default 1024) to cpu.weight [1, 10000] (default 100), with the
/// quadratic fit in log2 space runc uses (it maps 2→1, 1024→100, 262144→10000); 0 = unset.
pub fn cpu_shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    if shares <= 2 {
        return 1;
    }
    if shares >= 262_144 {
        return 10_000;
    }
    let l = (shares as f64).log2();
    let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
    10f64.powf(exponent).ceil() as u64
}

/// blkio.weight [10, 1000] to io.weight [1, 10000], linearly; 0 = unset.
pub fn blkio_weight_to_io_weight(weight: u16) -> u64 {
    if weight == 0 {
        return 0;
    }
    1 + (u64::from(weight).saturating_sub(10)) * 9999 / 990
}

/// OCI memory.swap is memory+swap (v1 memsw); v2's memory.swap.max is swap alone.
/// Returns the memory.swap.max value: None to leave it alone, Some(-1) for "max".
pub fn swap_to_v2(swap: Option<i64>, limit: Option<i64>) -> Result<Option<i64>> {
    let limit_v = limit.unwrap_or(0);
    match swap.unwrap_or(0) {
        // Unlimited memory with no swap setting means both unlimited, as on v1.
        0 if limit_v == -1 => Ok(Some(-1)),
        0 => Ok(None),
        -1 => Ok(Some(-1)),
        s => {
            if limit_v == 0 || limit_v == -1 {
                bail!("linux.resources.memory.swap: {s} cannot be set without a memory limit (cgroup v2 limits swap separately)");
            }
            if s < limit_v {
                bail!("linux.resources.memory.swap: {s} is below memory.limit {limit_v} (swap is memory+swap)");
            }
            Ok(Some(s - limit_v))
        }
    }
}

/// A byte/count limit where -1 (or any negative on v2) means unlimited: "max" on v2.
pub fn v2_limit(v: i64) -> String {
    if v < 0 {
        "max".to_string()
    } else {
        v.to_string()
    }
}

/// cpu.max: "$QUOTA $PERIOD" with "max" for no quota; None when neither is set.
pub fn cpu_max(quota: Option<i64>, period: Option<u64>) -> Option<String> {
    let q = quota.unwrap_or(0);
    let p = period.unwrap_or(0);
    if q == 0 && p == 0 {
        return None;
    }
    let mut s = if q > 0 {
        q.to_string()
    } else {
        "max".to_string()
    };
    if p != 0 {
        s.push(' ');
        s.push_str(&p.to_string());
    }
    Some(s)
}

/// pids.max: a negative limit is unlimited (OCI: -1). 0 is a real limit (spec 1.3), which
/// runc 1.5 writes as 1 (opencontainers/cgroups, for systemd's TasksMax): the same effect
/// for a container, whose init is already in the cgroup, and runc's value is the contract.
pub fn pids_max(limit: i64) -> String {
    match limit {
        ..0 => "max".to_string(),
        0 => "1".to_string(),
        n => n.to_string(),
    }
}

/// Parses a cpuset list ("0-3,5") into its members, sorted and unique (the kernel accepts
/// ranges in any order and repeated); errors on malformed text.
pub fn parse_cpuset_list(s: &str) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let (Ok(a), Ok(b)) = (a.trim().parse::<u32>(), b.trim().parse::<u32>()) else {
            bail!("{part:?} is not a number or range");
        };
        if a > b {
            bail!("{part:?} is a decreasing range");
        }
        if b - a > 65_536 {
            bail!("{part:?} is too large a range");
        }
        out.extend(a..=b);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// A hugepage size as the kernel names it in hugetlb files ("2MB", "1GB", "64KB") from a
/// /sys/kernel/mm/hugepages entry ("hugepages-2048kB").
pub fn hugepage_size_name(sysfs_name: &str) -> Option<String> {
    let kb: u64 = sysfs_name
        .strip_prefix("hugepages-")?
        .strip_suffix("kB")?
        .parse()
        .ok()?;
    Some(if kb >= 1 << 20 && kb.is_multiple_of(1 << 20) {
        format!("{}GB", kb >> 20)
    } else if kb >= 1 << 10 && kb.is_multiple_of(1 << 10) {
        format!("{}MB", kb >> 10)
    } else {
        format!("{kb}KB")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_to_weight_matches_runc() {
        assert_eq!(cpu_shares_to_weight(0), 0);
        assert_eq!(cpu_shares_to_weight(2), 1);
        assert_eq!(cpu_shares_to_weight(1024), 100);
        assert_eq!(cpu_shares_to_weight(262_144), 10_000);
        assert_eq!(cpu_shares_to_weight(1_000_000), 10_000);
        // Monotonic between the anchors.
        let mut last = 0;
        for s in (2..262_144).step_by(997) {
            let w = cpu_shares_to_weight(s);
            assert!(w >= last && (1..=10_000).contains(&w), "{s} -> {w}");
            last = w;
        }
        assert_eq!(cpu_shares_to_weight(512), 59);
        assert_eq!(cpu_shares_to_weight(2048), 174);
    }

    #[test]
    fn blkio_weight_conversion() {
        assert_eq!(blkio_weight_to_io_weight(0), 0);
        assert_eq!(blkio_weight_to_io_weight(10), 1);
        assert_eq!(blkio_weight_to_io_weight(500), 4950);
        assert_eq!(blkio_weight_to_io_weight(1000), 10_000);
    }

    #[test]
    fn swap_conversion() {
        assert_eq!(swap_to_v2(None, None).unwrap(), None);
        assert_eq!(swap_to_v2(None, Some(-1)).unwrap(), Some(-1));
        assert_eq!(swap_to_v2(Some(-1), Some(100)).unwrap(), Some(-1));
        assert_eq!(swap_to_v2(Some(300), Some(100)).unwrap(), Some(200));
        assert_eq!(swap_to_v2(Some(100), Some(100)).unwrap(), Some(0));
        assert!(swap_to_v2(Some(50), Some(100))
            .unwrap_err()
            .to_string()
            .contains("below"));
        assert!(swap_to_v2(Some(50), None)
            .unwrap_err()
            .to_string()
            .contains("without a memory limit"));
    }

    #[test]
    fn cpu_max_strings() {
        assert_eq!(cpu_max(None, None), None);
        assert_eq!(
            cpu_max(Some(50_000), Some(100_000)).unwrap(),
            "50000 100000"
        );
        assert_eq!(cpu_max(Some(-1), Some(100_000)).unwrap(), "max 100000");
        assert_eq!(cpu_max(Some(20_000), None).unwrap(), "20000");
        assert_eq!(cpu_max(None, Some(5000)).unwrap(), "max 5000");
    }

    #[test]
    fn limits() {
        assert_eq!(v2_limit(-1), "max");
        assert_eq!(v2_limit(4096), "4096");
        assert_eq!(pids_max(0), "1");
        assert_eq!(pids_max(-1), "max");
        assert_eq!(pids_max(10), "10");
    }

    #[test]
    fn cpuset_lists() {
        assert_eq!(parse_cpuset_list("0-2,5").unwrap(), vec![0, 1, 2, 5]);
        assert_eq!(parse_cpuset_list("").unwrap(), Vec::<u32>::new());
        assert_eq!(parse_cpuset_list("3\n").unwrap(), vec![3]);
        assert_eq!(parse_cpuset_list("5,0-2,1").unwrap(), vec![0, 1, 2, 5]);
        assert!(parse_cpuset_list("2-1").is_err());
        assert!(parse_cpuset_list("a").is_err());
    }

    #[test]
    fn hugepage_names() {
        assert_eq!(hugepage_size_name("hugepages-2048kB").unwrap(), "2MB");
        assert_eq!(hugepage_size_name("hugepages-1048576kB").unwrap(), "1GB");
        assert_eq!(hugepage_size_name("hugepages-64kB").unwrap(), "64KB");
        assert!(hugepage_size_name("foo").is_none());
    }
}

/// Property tests (PROPTEST_CASES sets the number of cases: `make fuzz` runs many more).
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// A list as the kernel prints one: ranges of consecutive members.
    fn print(members: &[u32]) -> String {
        let mut parts = Vec::new();
        let mut i = 0;
        while i < members.len() {
            let mut j = i;
            while j + 1 < members.len() && members[j + 1] == members[j] + 1 {
                j += 1;
            }
            parts.push(if i == j {
                members[i].to_string()
            } else {
                format!("{}-{}", members[i], members[j])
            });
            i = j + 1;
        }
        parts.join(",")
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        /// Any text: an error, or sorted unique members.
        #[test]
        fn any_text_parses_to_sorted_unique_members(s in "[0-9, \\-]{0,24}|.{0,16}") {
            if let Ok(v) = parse_cpuset_list(&s) {
                prop_assert!(v.windows(2).all(|w| w[0] < w[1]), "{s:?} -> {v:?}");
            }
        }

        /// Ranges in any order, overlapping or repeated, parse to their union, which prints
        /// back to a list that parses to the same members.
        #[test]
        fn ranges_parse_to_their_union_and_print_back(
            ranges in prop::collection::vec((0u32..300, 0u32..40), 0..8)
        ) {
            let text = ranges
                .iter()
                .map(|&(a, len)| if len == 0 { a.to_string() } else { format!("{a}-{}", a + len) })
                .collect::<Vec<_>>()
                .join(",");
            let mut want: Vec<u32> = ranges.iter().flat_map(|&(a, len)| a..=a + len).collect();
            want.sort_unstable();
            want.dedup();
            let got = parse_cpuset_list(&text).unwrap();
            prop_assert_eq!(&got, &want, "{}", text);
            prop_assert_eq!(parse_cpuset_list(&print(&got)).unwrap(), got);
        }
    }
}
