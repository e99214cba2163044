//! `--log FILE`, `--log-format text|json` and `--debug`.
//!
//! Container managers (containerd's shim, podman's conmon) pass `--log` with `--log-format json`
//! and read the failure reason from the last `error` line, so the json shape follows runc's:
//! `{"level":"error","msg":"...","time":"2026-01-02T03:04:05.123456789Z"}`.
//! Errors and warnings also go to stderr for people running berth by hand.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

struct Logger {
    file: Option<File>,
    format: Format,
    debug: bool,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Sets up logging once per invocation. A log file that cannot be opened is reported and
/// logging falls back to stderr only, as runc does.
pub fn init(path: Option<&Path>, format: Format, debug: bool) {
    let file = path.and_then(
        |p| match OpenOptions::new().create(true).append(true).open(p) {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("berth: cannot open log file {}: {e}", p.display());
                None
            }
        },
    );
    let _ = LOGGER.set(Logger {
        file,
        format,
        debug,
    });
}

fn log(level: &str, msg: &str) {
    let Some(logger) = LOGGER.get() else {
        eprintln!("berth: {level}: {msg}");
        return;
    };
    if level == "debug" && !logger.debug {
        return;
    }
    if let Some(mut f) = logger.file.as_ref() {
        let line = match logger.format {
            Format::Json => {
                let v = serde_json::json!({"level": level, "msg": msg, "time": rfc3339(SystemTime::now())});
                format!("{v}\n")
            }
            Format::Text => format!(
                "time=\"{}\" level={level} msg={:?}\n",
                rfc3339(SystemTime::now()),
                msg
            ),
        };
        // One write per line so concurrent writers (several berth invocations) do not interleave.
        let _ = f.write_all(line.as_bytes());
    }
    if level != "debug" || logger.file.is_none() {
        eprintln!("berth: {level}: {msg}");
    }
}

pub fn error(msg: &str) {
    log("error", msg);
}

pub fn warn(msg: &str) {
    log("warning", msg);
}

pub fn debug(msg: &str) {
    log("debug", msg);
}

/// RFC 3339 with nanoseconds in UTC, the format Go's time.Time marshals to (runc's
/// `created`): RFC3339Nano, whose fraction drops trailing zeros (and the dot with them).
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, day) = civil_from_days(days);
    let frac = format!(".{:09}", d.subsec_nanos());
    let frac = frac.trim_end_matches('0').trim_end_matches('.');
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}{frac}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm); written
/// by hand because a date crate would be a large dependency for one timestamp.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_like_go() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 5);
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20.000000005Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let half = UNIX_EPOCH + Duration::new(0, 500_000_000);
        assert_eq!(rfc3339(half), "1970-01-01T00:00:00.5Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert!(rfc3339(leap).starts_with("2000-02-29T00:00:00"));
    }
}
