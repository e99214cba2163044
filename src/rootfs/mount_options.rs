//! The table of mount option names berth understands (config.md "Linux mount options") and
//! the parser that turns a mount's `options` into mount(2) flags, propagation changes,
//! recursive mount_setattr(2) attributes and the filesystem data string.
//! `berth features` prints `mountOptions` from [`MOUNT_OPTIONS`], so it is the single source
//! of truth for what is accepted.

use libc::c_ulong;

/// What one option does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Accepted and does nothing ("defaults": the kernel's defaults are what you get anyway).
    Nothing,
    /// Sets mount(2) flags.
    Set(c_ulong),
    /// Clears mount(2) flags (e.g. "rw" clears MS_RDONLY).
    Clear(c_ulong),
    /// A propagation change (MS_SHARED etc., with MS_REC for the r* forms), applied after the
    /// mount exists.
    Propagation(c_ulong),
    /// A recursive attribute applied with mount_setattr(AT_RECURSIVE): `attr` is set, or
    /// cleared when `clear` (see [`parse`] for how they combine).
    Recursive { attr: u64, clear: bool },
    /// Copy the covered directory's content into a new tmpfs.
    TmpCopyUp,
    /// An id-mapped bind mount (`idmap`; `ridmap` when true: every mount of the tree).
    IdMap(bool),
}

/// One row of the option table.
#[derive(Debug)]
pub struct MountOption {
    pub name: &'static str,
    pub effect: Effect,
}

const fn opt(name: &'static str, effect: Effect) -> MountOption {
    MountOption { name, effect }
}

const fn rec(attr: u64, clear: bool) -> Effect {
    Effect::Recursive { attr, clear }
}

use libc::{
    MOUNT_ATTR_NOATIME as A_NOATIME, MOUNT_ATTR_NODEV as A_NODEV,
    MOUNT_ATTR_NODIRATIME as A_NODIRATIME, MOUNT_ATTR_NOEXEC as A_NOEXEC,
    MOUNT_ATTR_NOSUID as A_NOSUID, MOUNT_ATTR_NOSYMFOLLOW as A_NOSYMFOLLOW,
    MOUNT_ATTR_RDONLY as A_RDONLY, MOUNT_ATTR_RELATIME as A_RELATIME,
    MOUNT_ATTR_STRICTATIME as A_STRICTATIME, MOUNT_ATTR__ATIME as A_ATIME_MASK,
};
use Effect::{Clear, IdMap, Nothing, Propagation, Recursive, Set, TmpCopyUp};

/// Every option name berth understands. Anything else is a filesystem-specific option and
/// goes to mount(2)'s data argument (config.md: "Runtimes SHOULD treat unknown options as
/// filesystem-specific ones").
///
/// The atime mode is one field for mount_setattr (MOUNT_ATTR_RELATIME is 0, and the kernel
/// wants all of MOUNT_ATTR__ATIME cleared when it changes); the recursive atime options
/// combine as runc's do, see [`parse`].
pub const MOUNT_OPTIONS: &[MountOption] = &[
    opt("defaults", Nothing),
    opt("ro", Set(libc::MS_RDONLY)),
    opt("rw", Clear(libc::MS_RDONLY)),
    opt("nosuid", Set(libc::MS_NOSUID)),
    opt("suid", Clear(libc::MS_NOSUID)),
    opt("nodev", Set(libc::MS_NODEV)),
    opt("dev", Clear(libc::MS_NODEV)),
    opt("noexec", Set(libc::MS_NOEXEC)),
    opt("exec", Clear(libc::MS_NOEXEC)),
    opt("sync", Set(libc::MS_SYNCHRONOUS)),
    opt("async", Clear(libc::MS_SYNCHRONOUS)),
    opt("dirsync", Set(libc::MS_DIRSYNC)),
    opt("remount", Set(libc::MS_REMOUNT)),
    opt("mand", Set(libc::MS_MANDLOCK)),
    opt("nomand", Clear(libc::MS_MANDLOCK)),
    opt("noatime", Set(libc::MS_NOATIME)),
    opt("atime", Clear(libc::MS_NOATIME)),
    opt("nodiratime", Set(libc::MS_NODIRATIME)),
    opt("diratime", Clear(libc::MS_NODIRATIME)),
    opt("relatime", Set(libc::MS_RELATIME)),
    opt("norelatime", Clear(libc::MS_RELATIME)),
    opt("strictatime", Set(libc::MS_STRICTATIME)),
    opt("nostrictatime", Clear(libc::MS_STRICTATIME)),
    opt("lazytime", Set(libc::MS_LAZYTIME)),
    opt("nolazytime", Clear(libc::MS_LAZYTIME)),
    opt("iversion", Set(libc::MS_I_VERSION)),
    opt("noiversion", Clear(libc::MS_I_VERSION)),
    opt("silent", Set(libc::MS_SILENT)),
    opt("loud", Clear(libc::MS_SILENT)),
    opt("nosymfollow", Set(libc::MS_NOSYMFOLLOW)),
    opt("symfollow", Clear(libc::MS_NOSYMFOLLOW)),
    opt("bind", Set(libc::MS_BIND)),
    opt("rbind", Set(libc::MS_BIND | libc::MS_REC)),
    opt("private", Propagation(libc::MS_PRIVATE)),
    opt("rprivate", Propagation(libc::MS_PRIVATE | libc::MS_REC)),
    opt("shared", Propagation(libc::MS_SHARED)),
    opt("rshared", Propagation(libc::MS_SHARED | libc::MS_REC)),
    opt("slave", Propagation(libc::MS_SLAVE)),
    opt("rslave", Propagation(libc::MS_SLAVE | libc::MS_REC)),
    opt("unbindable", Propagation(libc::MS_UNBINDABLE)),
    opt(
        "runbindable",
        Propagation(libc::MS_UNBINDABLE | libc::MS_REC),
    ),
    opt("rro", rec(A_RDONLY, false)),
    opt("rrw", rec(A_RDONLY, true)),
    opt("rnosuid", rec(A_NOSUID, false)),
    opt("rsuid", rec(A_NOSUID, true)),
    opt("rnodev", rec(A_NODEV, false)),
    opt("rdev", rec(A_NODEV, true)),
    opt("rnoexec", rec(A_NOEXEC, false)),
    opt("rexec", rec(A_NOEXEC, true)),
    opt("rnodiratime", rec(A_NODIRATIME, false)),
    opt("rdiratime", rec(A_NODIRATIME, true)),
    opt("rnosymfollow", rec(A_NOSYMFOLLOW, false)),
    opt("rsymfollow", rec(A_NOSYMFOLLOW, true)),
    opt("rrelatime", rec(A_RELATIME, false)),
    opt("rnorelatime", rec(A_RELATIME, true)),
    opt("rnoatime", rec(A_NOATIME, false)),
    opt("ratime", rec(A_NOATIME, true)),
    opt("rstrictatime", rec(A_STRICTATIME, false)),
    opt("rnostrictatime", rec(A_STRICTATIME, true)),
    opt("tmpcopyup", TmpCopyUp),
    opt("idmap", IdMap(false)),
    opt("ridmap", IdMap(true)),
];

pub fn lookup(name: &str) -> Option<&'static MountOption> {
    MOUNT_OPTIONS.iter().find(|o| o.name == name)
}

/// A mount's options, parsed. Later options override earlier ones, as with mount(8).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// mount(2) flags to set, including MS_BIND / MS_REC / MS_REMOUNT.
    pub flags: c_ulong,
    /// mount(2) flags the config explicitly cleared ("rw", "suid", ...), so that a bind
    /// mount's remount does not quietly keep them set.
    pub cleared: c_ulong,
    /// Propagation changes, in config order.
    pub propagation: Vec<c_ulong>,
    /// mount_setattr(AT_RECURSIVE) attributes.
    pub rec_set: u64,
    pub rec_clr: u64,
    pub tmpcopyup: bool,
    /// `idmap` (Some(false)) or `ridmap` (Some(true)); the later one wins.
    pub idmap: Option<bool>,
    /// Filesystem-specific options, comma-separated, for mount(2)'s data argument.
    pub data: String,
    /// The filesystem-specific options one by one (for error messages).
    pub unknown: Vec<String>,
}

impl Parsed {
    pub fn is_bind(&self) -> bool {
        self.flags & libc::MS_BIND != 0
    }
}

pub fn parse<S: AsRef<str>>(options: &[S]) -> Parsed {
    let mut p = Parsed::default();
    for o in options {
        let o = o.as_ref();
        match lookup(o).map(|m| m.effect) {
            Some(Nothing) => {}
            Some(Set(f)) => {
                p.flags |= f;
                p.cleared &= !f;
            }
            Some(Clear(f)) => {
                p.flags &= !f;
                p.cleared |= f;
            }
            Some(Propagation(f)) => p.propagation.push(f),
            Some(Recursive { attr, clear }) => {
                if clear {
                    p.rec_clr |= attr;
                    p.rec_set &= !attr;
                } else {
                    p.rec_set |= attr;
                    p.rec_clr &= !attr;
                }
                // As runc: an atime option (MOUNT_ATTR_RELATIME is 0, so "rrelatime" and
                // "rnorelatime" count) clears the whole atime field, and only a set atime
                // value survives it; "ratime", "rnorelatime" and "rnostrictatime" give relatime.
                if attr & A_ATIME_MASK == attr {
                    p.rec_clr |= A_ATIME_MASK;
                }
            }
            Some(TmpCopyUp) => p.tmpcopyup = true,
            Some(IdMap(recursive)) => p.idmap = Some(recursive),
            // An empty option says nothing (it gave the data a stray comma, or none, by
            // where it stood).
            None if o.is_empty() => {}
            None => {
                if !p.data.is_empty() {
                    p.data.push(',');
                }
                p.data.push_str(o);
                p.unknown.push(o.to_string());
            }
        }
    }
    p
}

/// The MS_* propagation flags of a rootfsPropagation value.
pub fn rootfs_propagation(value: &str) -> Option<c_ulong> {
    match value {
        "shared" | "slave" | "private" | "unbindable" | "rshared" | "rslave" | "rprivate"
        | "runbindable" => match lookup(value)?.effect {
            Propagation(f) => Some(f),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_unique() {
        let mut names: Vec<&str> = MOUNT_OPTIONS.iter().map(|o| o.name).collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn every_option_of_config_md_is_in_the_table() {
        let spec = [
            "async",
            "atime",
            "bind",
            "defaults",
            "dev",
            "diratime",
            "dirsync",
            "exec",
            "idmap",
            "iversion",
            "lazytime",
            "loud",
            "mand",
            "noatime",
            "nodev",
            "nodiratime",
            "noexec",
            "noiversion",
            "nolazytime",
            "nomand",
            "norelatime",
            "nostrictatime",
            "nosuid",
            "nosymfollow",
            "private",
            "ratime",
            "rbind",
            "rdev",
            "rdiratime",
            "relatime",
            "remount",
            "ridmap",
            "rexec",
            "rnoatime",
            "rnodiratime",
            "rnoexec",
            "rnorelatime",
            "rnostrictatime",
            "rnosuid",
            "rnosymfollow",
            "ro",
            "rprivate",
            "rrelatime",
            "rro",
            "rrw",
            "rshared",
            "rslave",
            "rstrictatime",
            "rsuid",
            "rsymfollow",
            "runbindable",
            "rw",
            "shared",
            "silent",
            "slave",
            "strictatime",
            "suid",
            "symfollow",
            "sync",
            "tmpcopyup",
            "unbindable",
        ];
        for name in spec {
            assert!(lookup(name).is_some(), "{name} missing from MOUNT_OPTIONS");
        }
    }

    #[test]
    fn flag_options_map_to_mount_flags() {
        let cases: &[(&str, c_ulong)] = &[
            ("ro", libc::MS_RDONLY),
            ("nosuid", libc::MS_NOSUID),
            ("nodev", libc::MS_NODEV),
            ("noexec", libc::MS_NOEXEC),
            ("sync", libc::MS_SYNCHRONOUS),
            ("dirsync", libc::MS_DIRSYNC),
            ("remount", libc::MS_REMOUNT),
            ("mand", libc::MS_MANDLOCK),
            ("noatime", libc::MS_NOATIME),
            ("nodiratime", libc::MS_NODIRATIME),
            ("relatime", libc::MS_RELATIME),
            ("strictatime", libc::MS_STRICTATIME),
            ("lazytime", libc::MS_LAZYTIME),
            ("iversion", libc::MS_I_VERSION),
            ("silent", libc::MS_SILENT),
            ("nosymfollow", libc::MS_NOSYMFOLLOW),
            ("bind", libc::MS_BIND),
            ("rbind", libc::MS_BIND | libc::MS_REC),
        ];
        for (name, flag) in cases {
            let p = parse(&[*name]);
            assert_eq!(p.flags, *flag, "{name}");
            assert!(p.data.is_empty() && p.propagation.is_empty());
        }
    }

    #[test]
    fn opposite_options_clear_and_later_wins() {
        let pairs = [
            ("ro", "rw"),
            ("nosuid", "suid"),
            ("nodev", "dev"),
            ("noexec", "exec"),
            ("sync", "async"),
            ("mand", "nomand"),
            ("noatime", "atime"),
            ("nodiratime", "diratime"),
            ("relatime", "norelatime"),
            ("strictatime", "nostrictatime"),
            ("lazytime", "nolazytime"),
            ("iversion", "noiversion"),
            ("silent", "loud"),
            ("nosymfollow", "symfollow"),
        ];
        for (on, off) in pairs {
            let p = parse(&[on, off]);
            assert_eq!(p.flags, 0, "{on},{off}");
            assert_ne!(p.cleared, 0, "{off} must be recorded as cleared");
            let p = parse(&[off, on]);
            assert_ne!(p.flags, 0, "{off},{on}");
            assert_eq!(p.cleared, 0);
        }
        assert_eq!(parse(&["defaults"]), Parsed::default());
    }

    #[test]
    fn propagation_options_keep_order() {
        let p = parse(&[
            "rbind",
            "rprivate",
            "shared",
            "rslave",
            "unbindable",
            "runbindable",
        ]);
        assert_eq!(
            p.propagation,
            vec![
                libc::MS_PRIVATE | libc::MS_REC,
                libc::MS_SHARED,
                libc::MS_SLAVE | libc::MS_REC,
                libc::MS_UNBINDABLE,
                libc::MS_UNBINDABLE | libc::MS_REC,
            ]
        );
        assert_eq!(p.flags, libc::MS_BIND | libc::MS_REC);
        assert_eq!(parse(&["private"]).propagation, vec![libc::MS_PRIVATE]);
        assert_eq!(
            parse(&["rshared"]).propagation,
            vec![libc::MS_SHARED | libc::MS_REC]
        );
    }

    #[test]
    fn recursive_options_map_to_mount_setattr() {
        let at = A_ATIME_MASK;
        let cases: &[(&str, u64, u64)] = &[
            ("rro", A_RDONLY, 0),
            ("rrw", 0, A_RDONLY),
            ("rnosuid", A_NOSUID, 0),
            ("rsuid", 0, A_NOSUID),
            ("rnodev", A_NODEV, 0),
            ("rdev", 0, A_NODEV),
            ("rnoexec", A_NOEXEC, 0),
            ("rexec", 0, A_NOEXEC),
            ("rnodiratime", A_NODIRATIME, 0),
            ("rdiratime", 0, A_NODIRATIME),
            ("rnosymfollow", A_NOSYMFOLLOW, 0),
            ("rsymfollow", 0, A_NOSYMFOLLOW),
            ("rnoatime", A_NOATIME, at),
            ("rstrictatime", A_STRICTATIME, at),
            // Each of these clears the atime field and sets nothing: relatime, as in runc.
            ("rrelatime", 0, at),
            ("ratime", 0, at),
            ("rnorelatime", 0, at),
            ("rnostrictatime", 0, at),
        ];
        for (name, set, clr) in cases {
            let p = parse(&[*name]);
            assert_eq!((p.rec_set, p.rec_clr), (*set, *clr), "{name}");
            assert_eq!(p.flags, 0);
        }
        // Set and clear of one attribute: the later wins.
        let p = parse(&["rro", "rnoatime", "rrw"]);
        assert_eq!((p.rec_set, p.rec_clr), (A_NOATIME, at | A_RDONLY));
        let p = parse(&["rrw", "rro"]);
        assert_eq!((p.rec_set, p.rec_clr), (A_RDONLY, 0));
        // An atime value stays set until its own clearing option (runc 1.5.1 gives noatime
        // for "rnoatime,rrelatime" and strictatime for "rstrictatime,rnorelatime").
        let p = parse(&["rnoatime", "rrelatime"]);
        assert_eq!((p.rec_set, p.rec_clr), (A_NOATIME, at));
        let p = parse(&["rstrictatime", "rnorelatime"]);
        assert_eq!((p.rec_set, p.rec_clr), (A_STRICTATIME, at));
        let p = parse(&["rnoatime", "ratime"]);
        assert_eq!((p.rec_set, p.rec_clr), (0, at));
    }

    #[test]
    fn unknown_options_become_data() {
        let p = parse(&["nosuid", "size=65536k", "tmpcopyup", "mode=755", "noexec"]);
        assert_eq!(p.flags, libc::MS_NOSUID | libc::MS_NOEXEC);
        assert_eq!(p.data, "size=65536k,mode=755");
        assert_eq!(p.unknown, vec!["size=65536k", "mode=755"]);
        assert!(p.tmpcopyup);
        // idmap and ridmap never reach mount(2) (config.md).
        let p = parse(&["rbind", "idmap", "ridmap"]);
        assert!(p.data.is_empty() && p.unknown.is_empty());
        assert_eq!(p.idmap, Some(true));
        assert_eq!(parse(&["ridmap", "idmap"]).idmap, Some(false));
    }

    #[test]
    fn rootfs_propagation_values() {
        assert_eq!(rootfs_propagation("slave"), Some(libc::MS_SLAVE));
        assert_eq!(
            rootfs_propagation("rprivate"),
            Some(libc::MS_PRIVATE | libc::MS_REC)
        );
        assert_eq!(rootfs_propagation("shard"), None);
        assert_eq!(rootfs_propagation("bind"), None);
    }
}

/// Property tests (PROPTEST_CASES sets the number of cases: `make fuzz` runs many more).
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// Known option names and filesystem-specific words, mixed.
    fn option() -> impl Strategy<Value = String> {
        prop_oneof![
            (0..MOUNT_OPTIONS.len()).prop_map(|i| MOUNT_OPTIONS[i].name.to_string()),
            "[a-z_]{1,8}(=[a-z0-9,]{0,6})?",
            ".{0,10}",
        ]
    }

    /// Found by the property below: an empty option gave the data a stray comma, or none.
    #[test]
    fn empty_options_add_nothing_to_the_data() {
        assert_eq!(parse(&["", "size=1k", ""]).data, "size=1k");
        assert_eq!(parse(&["size=1k", "", "mode=700"]).data, "size=1k,mode=700");
        assert!(parse(&[""]).unknown.is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        /// No flag is both set and cleared; the unknown options are exactly the data, in order;
        /// a known name never reaches the data.
        #[test]
        fn options_split_into_flags_and_data(opts in prop::collection::vec(option(), 0..12)) {
            let p = parse(&opts);
            prop_assert_eq!(p.flags & p.cleared, 0);
            prop_assert_eq!(p.data, p.unknown.join(","));
            let unknown: Vec<&String> = opts
                .iter()
                .filter(|o| lookup(o).is_none() && !o.is_empty())
                .collect();
            prop_assert_eq!(p.unknown.iter().collect::<Vec<_>>(), unknown);
            let propagations = opts
                .iter()
                .filter(|o| matches!(lookup(o).map(|m| m.effect), Some(Propagation(_))))
                .count();
            prop_assert_eq!(p.propagation.len(), propagations);
        }

        /// The last of two opposite options wins.
        #[test]
        fn the_last_of_ro_and_rw_wins(seq in prop::collection::vec(any::<bool>(), 1..6)) {
            let opts: Vec<&str> = seq.iter().map(|&ro| if ro { "ro" } else { "rw" }).collect();
            let p = parse(&opts);
            prop_assert_eq!(p.flags & libc::MS_RDONLY != 0, *seq.last().unwrap());
        }
    }
}
