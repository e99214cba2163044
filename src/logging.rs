//! `--log FILE`, `--log-format text|json` and `--debug`, with runc's (logrus's) line shapes:
//! text `time="2026-01-02T03:04:05Z" level=error msg="..."`, json
//! `{"level":"error","msg":"...","time":"2026-01-02T03:04:05Z"}`.
//!
//! As in runc, the lines go to the log file when there is one and to stderr otherwise.
//! Container managers (containerd's shim, podman's conmon) pass `--log FILE --log-format
//! json` and read the failure reason from the file; the fatal error is then also written
//! to stderr as a plain line (`fatal`).

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

/// Sets up logging once per invocation. A log file that cannot be opened is an error (as in
/// runc: the command does not run); logging then goes to stderr, to report it.
pub fn init(path: Option<&Path>, format: Format, debug: bool) -> anyhow::Result<()> {
    let file = path.map(|p| {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .map_err(|e| anyhow::anyhow!("--log: opening {}: {e}", p.display()))
    });
    let (file, result) = match file {
        Some(Ok(f)) => (Some(f), Ok(())),
        Some(Err(e)) => (None, Err(e)),
        None => (None, Ok(())),
    };
    let _ = LOGGER.set(Logger {
        file,
        format,
        debug,
    });
    result
}

/// One log line (with its newline) in `format`, stamped `time`.
fn line(format: Format, level: &str, msg: &str, time: SystemTime) -> String {
    let time = rfc3339_secs(time);
    match format {
        Format::Json => {
            // serde_json orders the keys as logrus does (sorted).
            let v = serde_json::json!({"level": level, "msg": msg, "time": time});
            format!("{v}\n")
        }
        Format::Text => format!("time=\"{time}\" level={level} msg={}\n", logfmt_value(msg)),
    }
}

/// A value in logrus's text format: bare when it is made of safe characters only (empty
/// too), else quoted with Go's %q escapes.
fn logfmt_value(s: &str) -> String {
    let bare = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._/@^+".contains(c));
    if bare {
        return s.to_string();
    }
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\r' => q.push_str("\\r"),
            '\t' => q.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\x7f' => q.push_str(&format!("\\x{:02x}", c as u32)),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// `s` on one line: control characters (newlines from a config's strings, for one) written
/// as Go's escapes, so that an error is always exactly one line wherever it is printed.
pub fn one_line(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| c.is_control()) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x100 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.into()
}

fn log(level: &str, msg: &str) {
    let Some(logger) = LOGGER.get() else {
        eprintln!("berth: {level}: {}", one_line(msg));
        return;
    };
    if level == "debug" && !logger.debug {
        return;
    }
    let text = line(logger.format, level, msg, SystemTime::now());
    // One write per line so concurrent writers (several berth invocations) do not interleave.
    match logger.file.as_ref() {
        Some(mut f) => {
            let _ = f.write_all(text.as_bytes());
        }
        None => {
            let _ = std::io::stderr().write_all(text.as_bytes());
        }
    }
}

pub fn error(msg: &str) {
    log("error", msg);
}

/// The error that ends this invocation: logged, and also written plainly to stderr when
/// the log goes to a file (runc's fatal), so that a person or a manager reading stderr
/// sees the reason either way.
pub fn fatal(msg: &str) {
    error(msg);
    if LOGGER.get().is_some_and(|l| l.file.is_some()) {
        eprintln!("{}", one_line(msg));
    }
}

pub fn warn(msg: &str) {
    log("warning", msg);
}

pub fn debug(msg: &str) {
    log("debug", msg);
}

/// RFC 3339 in whole seconds, UTC: Go's time.RFC3339, logrus's default timestamp.
fn rfc3339_secs(t: SystemTime) -> String {
    let s = rfc3339(t);
    match s.split_once('.') {
        Some((secs, _)) => format!("{secs}Z"),
        None => s,
    }
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
        assert_eq!(rfc3339_secs(t), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339_secs(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn one_line_escapes_control_characters() {
        assert_eq!(one_line("plain: text"), "plain: text");
        assert_eq!(one_line("a\nb\r\tc\u{1}\u{85}é"), "a\\nb\\r\\tc\\x01\\x85é");
    }

    #[test]
    fn lines_in_logrus_shapes() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 5);
        assert_eq!(
            line(Format::Text, "error", "container \"x\" does not exist", t),
            "time=\"2023-11-14T22:13:20Z\" level=error msg=\"container \\\"x\\\" does not exist\"\n"
        );
        assert_eq!(
            line(Format::Text, "debug", "done", t),
            "time=\"2023-11-14T22:13:20Z\" level=debug msg=done\n"
        );
        assert_eq!(
            line(Format::Json, "warning", "a\tb", t),
            "{\"level\":\"warning\",\"msg\":\"a\\tb\",\"time\":\"2023-11-14T22:13:20Z\"}\n"
        );
        assert_eq!(logfmt_value("a\nb\\\u{1}"), "\"a\\nb\\\\\\x01\"");
        assert_eq!(logfmt_value(""), "");
    }
}
