//! `berth update`: change a container's cgroup limits live, from a linux.resources JSON
//! (`-r FILE`, or `-r -` for stdin) or runc's flags. runc ignores every flag given with -r;
//! berth refuses the mix rather than silently drop a limit (compat/differences.rs).

use crate::cli::Global;
use anyhow::{anyhow, bail, Context, Result};
use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxPids, LinuxResources};
use std::io::Read;

#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// File holding a linux.resources JSON object to apply ("-" for stdin)
    #[arg(short, long, value_name = "FILE")]
    pub resources: Option<String>,
    /// Memory limit in bytes (suffixes k, m, g, t, p: powers of 1024; -1: unlimited)
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory reservation (soft limit) in bytes
    #[arg(long, allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit in bytes (-1: unlimited swap)
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// CPU CFS period in microseconds
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_period: Option<String>,
    /// CPU CFS quota in microseconds per period (-1: none)
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_quota: Option<String>,
    /// CPU CFS burst in microseconds
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_burst: Option<String>,
    /// CPU shares (relative weight)
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_share: Option<String>,
    /// CPU realtime period in microseconds
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_rt_period: Option<String>,
    /// CPU realtime runtime in microseconds per period
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<String>,
    /// CPUs the container may run on ("0-1,3")
    #[arg(long, allow_hyphen_values = true)]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes the container may use
    #[arg(long, allow_hyphen_values = true)]
    pub cpuset_mems: Option<String>,
    /// Block IO weight (10-1000)
    #[arg(long, allow_hyphen_values = true)]
    pub blkio_weight: Option<String>,
    /// Maximum number of processes (-1: unlimited; 0 is a limit, written as 1 as runc 1.5 does)
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<String>,
    /// 1: the cgroup's tasks run as SCHED_IDLE; 0: normally
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_idle: Option<String>,
    /// Intel RDT/CAT L3 cache schema (the container's resctrl schemata, e.g. "L3:0=f")
    #[arg(long, allow_hyphen_values = true)]
    pub l3_cache_schema: Option<String>,
    /// Intel RDT/MBA memory bandwidth schema (e.g. "MB:0=50")
    #[arg(long, allow_hyphen_values = true)]
    pub mem_bw_schema: Option<String>,
    /// Kernel memory limit: ignored with a warning, as runc does
    #[arg(long, hide = true, allow_hyphen_values = true)]
    pub kernel_memory: Option<String>,
    /// Kernel TCP buffer limit: ignored with a warning, as runc does
    #[arg(long, hide = true, allow_hyphen_values = true)]
    pub kernel_memory_tcp: Option<String>,
    /// Container id
    pub id: String,
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    let r = match a.resources.as_deref() {
        Some(src) => {
            if let Some(flag) = flags_given(&a).first() {
                bail!(
                    "--{flag} cannot be given with --resources: the file holds every value \
                     (runc would silently ignore the flag)"
                );
            }
            read_resources(src)?
        }
        None => apply_flags(LinuxResources::default(), &a)?,
    };
    // As runc: the schema flags are checked (in runc's words) before any limit is written;
    // an empty one is not given.
    let l3 = a.l3_cache_schema.as_deref().filter(|s| !s.is_empty());
    let mb = a.mem_bw_schema.as_deref().filter(|s| !s.is_empty());
    if l3.is_some() || mb.is_some() {
        crate::container::update_intel_rdt(&g.root, &a.id, l3, mb)?;
    }
    crate::container::update(&g.root, &a.id, &r)?;
    Ok(0)
}

/// The resource flags given (every flag but -r), by name.
fn flags_given(a: &Args) -> Vec<&'static str> {
    [
        ("memory", &a.memory),
        ("memory-reservation", &a.memory_reservation),
        ("memory-swap", &a.memory_swap),
        ("cpu-period", &a.cpu_period),
        ("cpu-quota", &a.cpu_quota),
        ("cpu-burst", &a.cpu_burst),
        ("cpu-share", &a.cpu_share),
        ("cpu-rt-period", &a.cpu_rt_period),
        ("cpu-rt-runtime", &a.cpu_rt_runtime),
        ("cpuset-cpus", &a.cpuset_cpus),
        ("cpuset-mems", &a.cpuset_mems),
        ("blkio-weight", &a.blkio_weight),
        ("pids-limit", &a.pids_limit),
        ("cpu-idle", &a.cpu_idle),
        ("kernel-memory", &a.kernel_memory),
        ("kernel-memory-tcp", &a.kernel_memory_tcp),
    ]
    .into_iter()
    .filter(|(_, v)| v.is_some())
    .map(|(name, _)| name)
    .collect()
}

fn read_resources(src: &str) -> Result<LinuxResources> {
    let (text, name) = if src == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("-r -: reading the resources from stdin")?;
        (s, "stdin".to_string())
    } else {
        let s = std::fs::read_to_string(src).with_context(|| format!("-r {src}: reading"))?;
        (s, src.to_string())
    };
    parse_resources(&text).with_context(|| format!("-r {name}"))
}

/// The linux.resources object; an error names the field that is wrong.
fn parse_resources(text: &str) -> Result<LinuxResources> {
    let mut v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| anyhow!("linux.resources: {e}"))?;
    crate::config::normalize_resources(&mut v);
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let field = match path.as_str() {
            "." => "linux.resources".to_string(),
            p => format!("linux.resources.{p}"),
        };
        anyhow!("{field}: {}", e.into_inner())
    })
}

fn num<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    v.parse()
        .map_err(|e| anyhow!("--{flag} {v:?}: not a valid number ({e})"))
}

fn bytes(flag: &str, v: &str) -> Result<i64> {
    if v == "-1" {
        return Ok(-1);
    }
    ram_in_bytes(v).map_err(|e| anyhow!("--{flag} {v:?}: {e}"))
}

/// Sizes as runc reads them (docker's RAMInBytes): a number, optionally fractional, then
/// an optional unit k/m/g/t/p (powers of 1024), optionally followed by "i" and/or "b".
fn ram_in_bytes(v: &str) -> Result<i64> {
    let s = v.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: f64 = match n.parse::<f64>() {
        Ok(n) if !n.is_nan() => n,
        _ => bail!("not a size (a number with an optional k, m, g, t or p suffix)"),
    };
    let unit = unit.trim_start().to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        "p" => 50,
        _ => bail!("unknown size unit (use k, m, g, t or p)"),
    };
    let bytes = n * (1u64 << shift) as f64;
    if bytes >= i64::MAX as f64 {
        bail!("too large");
    }
    Ok(bytes as i64)
}

/// Sets each given flag on `r`.
fn apply_flags(mut r: LinuxResources, a: &Args) -> Result<LinuxResources> {
    let mem_flags = [
        &a.memory,
        &a.memory_reservation,
        &a.memory_swap,
        &a.kernel_memory,
        &a.kernel_memory_tcp,
    ];
    if mem_flags.iter().any(|f| f.is_some()) {
        let m = r.memory_mut().get_or_insert_with(LinuxMemory::default);
        if let Some(v) = &a.memory {
            m.set_limit(Some(bytes("memory", v)?));
        }
        if let Some(v) = &a.memory_reservation {
            m.set_reservation(Some(bytes("memory-reservation", v)?));
        }
        if let Some(v) = &a.memory_swap {
            m.set_swap(Some(bytes("memory-swap", v)?));
        }
        // update warns about kernel memory and ignores it, as runc does.
        if let Some(v) = &a.kernel_memory {
            #[allow(deprecated)]
            m.set_kernel(Some(bytes("kernel-memory", v)?));
        }
        if let Some(v) = &a.kernel_memory_tcp {
            m.set_kernel_tcp(Some(bytes("kernel-memory-tcp", v)?));
        }
    }
    let cpu_flags = [
        &a.cpu_period,
        &a.cpu_quota,
        &a.cpu_burst,
        &a.cpu_share,
        &a.cpu_rt_period,
        &a.cpu_rt_runtime,
        &a.cpuset_cpus,
        &a.cpuset_mems,
        &a.cpu_idle,
    ];
    if cpu_flags.iter().any(|f| f.is_some()) {
        let c = r.cpu_mut().get_or_insert_with(LinuxCpu::default);
        if let Some(v) = &a.cpu_period {
            c.set_period(Some(num("cpu-period", v)?));
        }
        if let Some(v) = &a.cpu_quota {
            c.set_quota(Some(num("cpu-quota", v)?));
        }
        if let Some(v) = &a.cpu_burst {
            c.set_burst(Some(num("cpu-burst", v)?));
        }
        if let Some(v) = &a.cpu_share {
            c.set_shares(Some(num("cpu-share", v)?));
        }
        if let Some(v) = &a.cpu_rt_period {
            c.set_realtime_period(Some(num("cpu-rt-period", v)?));
        }
        if let Some(v) = &a.cpu_rt_runtime {
            c.set_realtime_runtime(Some(num("cpu-rt-runtime", v)?));
        }
        if let Some(v) = &a.cpuset_cpus {
            c.set_cpus(Some(v.clone()));
        }
        if let Some(v) = &a.cpuset_mems {
            c.set_mems(Some(v.clone()));
        }
        if let Some(v) = &a.cpu_idle {
            c.set_idle(Some(num("cpu-idle", v)?));
        }
    }
    if let Some(v) = &a.blkio_weight {
        r.block_io_mut()
            .get_or_insert_with(LinuxBlockIo::default)
            .set_weight(Some(num("blkio-weight", v)?));
    }
    if let Some(v) = &a.pids_limit {
        let mut p = LinuxPids::default();
        p.set_limit(num("pids-limit", v)?);
        r.set_pids(Some(p));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_runc() {
        assert_eq!(ram_in_bytes("1024").unwrap(), 1024);
        assert_eq!(ram_in_bytes("32k").unwrap(), 32 << 10);
        assert_eq!(ram_in_bytes("32KiB").unwrap(), 32 << 10);
        assert_eq!(ram_in_bytes("64m").unwrap(), 64 << 20);
        assert_eq!(ram_in_bytes("64 MB").unwrap(), 64 << 20);
        assert_eq!(ram_in_bytes("1.5g").unwrap(), 3 << 29);
        assert_eq!(ram_in_bytes("2T").unwrap(), 2 << 40);
        assert!(ram_in_bytes("12x").is_err());
        assert!(ram_in_bytes("m").is_err());
        assert!(ram_in_bytes("-5").is_err());
        assert_eq!(bytes("memory", "-1").unwrap(), -1);
        assert!(format!("{:#}", bytes("memory", "lots").unwrap_err()).starts_with("--memory"));
    }

    #[test]
    fn flags_merge_over_a_base_and_are_named() {
        let base =
            parse_resources(r#"{"memory":{"reservation":500000},"cpu":{"shares":512}}"#).unwrap();
        let a = Args {
            resources: Some("-".into()),
            memory: Some("2m".into()),
            cpu_quota: Some("-1".into()),
            cpuset_cpus: Some("0".into()),
            blkio_weight: Some("300".into()),
            ..Default::default()
        };
        assert_eq!(
            flags_given(&a),
            ["memory", "cpu-quota", "cpuset-cpus", "blkio-weight"]
        );
        let r = apply_flags(base, &a).unwrap();
        let m = r.memory().unwrap();
        assert_eq!(m.limit(), Some(2 << 20));
        assert_eq!(m.reservation(), Some(500000));
        let c = r.cpu().as_ref().unwrap();
        assert_eq!(c.shares(), Some(512));
        assert_eq!(c.quota(), Some(-1));
        assert_eq!(c.cpus().as_deref(), Some("0"));
        assert_eq!(r.block_io().as_ref().unwrap().weight(), Some(300));
        let only_file = Args {
            resources: Some("-".into()),
            ..Default::default()
        };
        assert!(flags_given(&only_file).is_empty());
    }

    #[test]
    #[allow(deprecated)]
    fn kernel_memory_flags_land_in_their_fields() {
        let a = Args {
            kernel_memory: Some("1m".into()),
            kernel_memory_tcp: Some("2m".into()),
            ..Default::default()
        };
        assert_eq!(flags_given(&a), ["kernel-memory", "kernel-memory-tcp"]);
        let r = apply_flags(LinuxResources::default(), &a).unwrap();
        let m = r.memory().unwrap();
        assert_eq!((m.kernel(), m.kernel_tcp()), (Some(1 << 20), Some(2 << 20)));
    }

    #[test]
    fn every_flag_lands_in_its_field() {
        let a = Args {
            memory_reservation: Some("1k".into()),
            memory_swap: Some("-1".into()),
            cpu_period: Some("100000".into()),
            cpu_burst: Some("5".into()),
            cpu_share: Some("2048".into()),
            cpu_rt_period: Some("1000000".into()),
            cpu_rt_runtime: Some("950000".into()),
            cpuset_mems: Some("0".into()),
            cpu_idle: Some("1".into()),
            pids_limit: Some("-1".into()),
            ..Default::default()
        };
        let r = apply_flags(LinuxResources::default(), &a).unwrap();
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "memory": {"reservation": 1024, "swap": -1},
                "cpu": {"period": 100000, "burst": 5, "shares": 2048, "realtimePeriod": 1000000,
                        "realtimeRuntime": 950000, "mems": "0", "idle": 1},
                "pids": {"limit": -1}
            })
        );
    }

    #[test]
    fn zero_pids_limit_is_a_limit_and_bad_numbers_name_the_flag() {
        let a = Args {
            pids_limit: Some("0".into()),
            ..Default::default()
        };
        let r = apply_flags(LinuxResources::default(), &a).unwrap();
        assert_eq!(r.pids().unwrap().limit(), 0);
        let a = Args {
            cpu_period: Some("-5".into()),
            ..Default::default()
        };
        let e = format!(
            "{:#}",
            apply_flags(LinuxResources::default(), &a).unwrap_err()
        );
        assert!(e.starts_with("--cpu-period \"-5\""), "{e}");
    }

    #[test]
    fn file_errors_name_the_field() {
        let e = format!(
            "{:#}",
            parse_resources(r#"{"cpu":{"quota":"x"}}"#).unwrap_err()
        );
        assert!(e.starts_with("linux.resources.cpu.quota:"), "{e}");
    }
}

/// Property tests (PROPTEST_CASES sets the number of cases: `make fuzz` runs many more).
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        /// Any text: an error or a size that is not negative.
        #[test]
        fn any_text_is_a_size_or_an_error(s in "[0-9.]{0,22} ?[kmgtpKMGTPiIbBx]{0,3}|.{0,12}") {
            if let Ok(n) = ram_in_bytes(&s) {
                prop_assert!(n >= 0, "{s:?} -> {n}");
            }
            let _ = bytes("memory", &s);
        }

        /// A whole number with a unit is that number times the unit's power of 1024, in
        /// every spelling of the unit; past i64 it is an error, never a wrapped value.
        #[test]
        fn sizes_scale_by_their_unit(n in 0u64..(1 << 40), unit in 0usize..6, spelling in 0usize..4) {
            let letter = ["", "k", "m", "g", "t", "p"][unit];
            let suffix = match (letter, spelling) {
                ("", _) => String::new(),
                (l, 0) => l.to_string(),
                (l, 1) => l.to_uppercase(),
                (l, 2) => format!("{}iB", l.to_uppercase()),
                (l, _) => format!(" {l}b"),
            };
            let got = ram_in_bytes(&format!("{n}{suffix}"));
            match (n as u128) << (10 * unit) {
                want if want < (1u128 << 53) => prop_assert_eq!(got.unwrap() as u128, want),
                want if want > i64::MAX as u128 => prop_assert!(got.is_err()),
                _ => {}
            }
        }

        /// Any flag values: an error naming the flag, or resources that serialize.
        #[test]
        fn any_flag_values_apply_or_name_the_flag(
            values in prop::collection::vec(prop::option::of("-?[0-9]{0,21}[kmg]?|.{0,6}"), 10)
        ) {
            let v = |i: usize| values[i].clone();
            let a = Args {
                memory: v(0),
                memory_swap: v(1),
                cpu_period: v(2),
                cpu_quota: v(3),
                cpu_share: v(4),
                cpu_rt_runtime: v(5),
                cpuset_cpus: v(6),
                blkio_weight: v(7),
                pids_limit: v(8),
                cpu_idle: v(9),
                ..Default::default()
            };
            match apply_flags(LinuxResources::default(), &a) {
                Ok(r) => prop_assert!(serde_json::to_string(&r).is_ok()),
                Err(e) => prop_assert!(e.to_string().starts_with("--"), "{e}"),
            }
        }

        /// Any JSON text for -r: an error naming linux.resources, or resources.
        #[test]
        fn any_resources_text_parses_or_names_the_field(s in "\\{\"(memory|cpu|pids|blockIO)\":\\{\"(limit|shares|quota|weight|cpus)\":(-?[0-9]{1,21}|\"[0-9a-z-]{0,4}\"|null|\\[\\]|1\\.5)\\}\\}|.{0,20}") {
            if let Err(e) = parse_resources(&s) {
                prop_assert!(e.to_string().starts_with("linux.resources"), "{e}");
            }
        }
    }
}
