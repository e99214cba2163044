//! `org.systemd.property.NAME` annotations as extra unit properties, with runc's rules: NAME
//! is three or more ASCII letters, the value is in GVariant text format (as `busctl` and
//! `gdbus` print values: `uint64 42`, `true`, `'text'`, `[1, 2]`, `@as []`), and a NAME
//! ending in a lowercase letter followed by "Sec" is converted to the "USec" property with
//! the value in microseconds (e.g. `TimeoutStopSec=5` becomes `TimeoutStopUSec=5000000`).
//!
//! Written by hand: no crate parses the GVariant text format without GLib; berth needs
//! the basic types and arrays of them.

use anyhow::{anyhow, bail, Result};
use std::collections::HashMap;

use super::properties::{prop, Property};
use crate::dbus::Value;

const PREFIX: &str = "org.systemd.property.";

/// The properties the annotations ask for, in the annotations' name order.
pub fn properties(annotations: Option<&HashMap<String, String>>) -> Result<Vec<Property>> {
    let Some(a) = annotations else {
        return Ok(Vec::new());
    };
    let mut keys: Vec<&String> = a.keys().filter(|k| k.starts_with(PREFIX)).collect();
    keys.sort();
    let mut out = Vec::new();
    for k in keys {
        let v = &a[k];
        let mut name = k[PREFIX.len()..].to_string();
        check_name(&name).map_err(|e| anyhow!("annotations: {k}: {e}"))?;
        let bad =
            |e: anyhow::Error| anyhow!("annotations: annotation {k}={v} value parse error: {e}");
        let mut value = parse(v).map_err(bad)?;
        if let Some(trimmed) = name.strip_suffix("Sec") {
            if trimmed.ends_with(|c: char| c.is_ascii_lowercase()) {
                name = format!("{trimmed}USec");
                value = sec_to_usec(&value).map_err(bad)?;
            }
        }
        out.push(prop(&name, value));
    }
    Ok(out)
}

fn check_name(s: &str) -> Result<()> {
    if s.len() < 3 {
        bail!("too short");
    }
    if !s.bytes().all(|b| b.is_ascii_alphabetic()) {
        bail!("contains non-alphabetic character");
    }
    Ok(())
}

fn sec_to_usec(v: &Value) -> Result<Value> {
    const M: u64 = 1_000_000;
    let sec = match v {
        Value::Byte(n) => u64::from(*n) * M,
        Value::Int16(n) => (*n as u64).wrapping_mul(M),
        Value::Uint16(n) => u64::from(*n) * M,
        Value::Int32(n) => (*n as u64).wrapping_mul(M),
        Value::Uint32(n) => u64::from(*n) * M,
        Value::Int64(n) => (*n as u64).wrapping_mul(M),
        Value::Uint64(n) => n.wrapping_mul(M),
        Value::Double(d) => (d * M as f64) as u64,
        _ => bail!("not a number"),
    };
    Ok(Value::Uint64(sec))
}

/// Parses one GVariant text value.
pub fn parse(text: &str) -> Result<Value> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value(None)?;
    p.skip_ws();
    if p.i != p.s.len() {
        bail!("unexpected {:?} after the value", &text[p.i..]);
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn word(&mut self) -> &str {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i]).unwrap_or("")
    }

    /// A value, of type `want` (a signature) when the context fixes it.
    fn value(&mut self, want: Option<&str>) -> Result<Value> {
        self.skip_ws();
        match self.peek() {
            None => bail!("a value is missing"),
            Some(b'@') => {
                self.i += 1;
                let start = self.i;
                while self.peek().is_some_and(|c| !c.is_ascii_whitespace()) {
                    self.i += 1;
                }
                let sig = std::str::from_utf8(&self.s[start..self.i])?.to_string();
                self.value(Some(&sig))
            }
            Some(b'[') => self.array(want),
            Some(b'<') => {
                self.i += 1;
                let inner = self.value(None)?;
                self.skip_ws();
                if self.peek() != Some(b'>') {
                    bail!("'>' expected");
                }
                self.i += 1;
                Ok(Value::Variant(Box::new(inner)))
            }
            Some(b'\'' | b'"') => {
                let s = self.string()?;
                Ok(match want {
                    Some("o") => Value::ObjectPath(s),
                    Some("g") => Value::Signature(s),
                    _ => Value::Str(s),
                })
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let save = self.i;
                let w = self.word().to_string();
                let typed = match w.as_str() {
                    "true" => return Ok(Value::Bool(true)),
                    "false" => return Ok(Value::Bool(false)),
                    "boolean" => "b",
                    "byte" => "y",
                    "int16" => "n",
                    "uint16" => "q",
                    "int32" => "i",
                    "uint32" => "u",
                    "int64" => "x",
                    "uint64" => "t",
                    "double" => "d",
                    "string" => "s",
                    "objectpath" => "o",
                    "signature" => "g",
                    _ => {
                        self.i = save;
                        bail!("unknown word {w:?}");
                    }
                };
                self.value(Some(typed))
            }
            Some(_) => self.number(want),
        }
    }

    fn array(&mut self, want: Option<&str>) -> Result<Value> {
        self.i += 1; // '['
        let elem_want = match want {
            Some(sig) => Some(
                sig.strip_prefix('a')
                    .ok_or_else(|| anyhow!("an array where {sig:?} was expected"))?
                    .to_string(),
            ),
            None => None,
        };
        let mut items: Vec<Value> = Vec::new();
        let mut elem = elem_want.clone();
        loop {
            self.skip_ws();
            if self.peek() == Some(b']') {
                self.i += 1;
                break;
            }
            if !items.is_empty() {
                if self.peek() != Some(b',') {
                    bail!("',' or ']' expected");
                }
                self.i += 1;
            }
            let v = self.value(elem.as_deref())?;
            let sig = v.signature();
            match &elem {
                Some(e) if *e != sig => bail!("array elements of types {e:?} and {sig:?}"),
                Some(_) => {}
                None => elem = Some(sig),
            }
            items.push(v);
        }
        let elem =
            elem.ok_or_else(|| anyhow!("an empty array needs its type (e.g. \"@as []\")"))?;
        Ok(Value::Array { elem, items })
    }

    fn string(&mut self) -> Result<String> {
        let quote = self.s[self.i];
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                bail!("unterminated string");
            };
            self.i += 1;
            match c {
                c if c == quote => break,
                b'\\' => {
                    let e = self.peek().ok_or_else(|| anyhow!("unterminated string"))?;
                    self.i += 1;
                    out.push(match e {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        b'0' => 0,
                        other => other,
                    });
                }
                c => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| anyhow!("a string that is not UTF-8"))
    }

    fn number(&mut self, want: Option<&str>) -> Result<Value> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || b"+-._".contains(&c))
        {
            self.i += 1;
        }
        let t = std::str::from_utf8(&self.s[start..self.i])?;
        if t.is_empty() {
            bail!(
                "unexpected {:?}",
                self.peek().map(char::from).unwrap_or(' ')
            );
        }
        let float = !t.starts_with("0x") && t.contains(['.', 'e', 'E']);
        let want = want.unwrap_or(if float { "d" } else { "i" });
        let int = || -> Result<i128> {
            let (neg, digits) = match t.strip_prefix('-') {
                Some(d) => (true, d),
                None => (false, t.strip_prefix('+').unwrap_or(t)),
            };
            let n = match digits.strip_prefix("0x") {
                Some(h) => i128::from_str_radix(h, 16),
                None => digits.parse::<i128>(),
            }
            .map_err(|_| anyhow!("{t:?} is not a number"))?;
            Ok(if neg { -n } else { n })
        };
        let range = |_| anyhow!("{t:?} is out of range");
        Ok(match want {
            "y" => Value::Byte(u8::try_from(int()?).map_err(range)?),
            "n" => Value::Int16(i16::try_from(int()?).map_err(range)?),
            "q" => Value::Uint16(u16::try_from(int()?).map_err(range)?),
            "i" => Value::Int32(i32::try_from(int()?).map_err(range)?),
            "u" => Value::Uint32(u32::try_from(int()?).map_err(range)?),
            "x" => Value::Int64(i64::try_from(int()?).map_err(range)?),
            "t" => Value::Uint64(u64::try_from(int()?).map_err(range)?),
            "d" => Value::Double(t.parse().map_err(|_| anyhow!("{t:?} is not a number"))?),
            "b" => match t {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => bail!("{t:?} is not a boolean"),
            },
            other => bail!("a number where {other:?} was expected"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn values_in_gvariant_text() {
        assert_eq!(parse("uint64 42").unwrap(), Value::Uint64(42));
        assert_eq!(parse(" 7 ").unwrap(), Value::Int32(7));
        assert_eq!(parse("-7").unwrap(), Value::Int32(-7));
        assert_eq!(parse("1.5").unwrap(), Value::Double(1.5));
        assert_eq!(parse("true").unwrap(), Value::Bool(true));
        assert_eq!(parse("'a b'").unwrap(), Value::Str("a b".into()));
        assert_eq!(parse(r#""it\'s""#).unwrap(), Value::Str("it's".into()));
        assert_eq!(
            parse("['a', 'b']").unwrap(),
            Value::Array {
                elem: "s".into(),
                items: vec![Value::Str("a".into()), Value::Str("b".into())]
            }
        );
        assert_eq!(
            parse("@as []").unwrap(),
            Value::Array {
                elem: "s".into(),
                items: vec![]
            }
        );
        assert_eq!(
            parse("@at [1, 2]").unwrap(),
            Value::Array {
                elem: "t".into(),
                items: vec![Value::Uint64(1), Value::Uint64(2)]
            }
        );
        for bad in ["", "[]", "['a', 1]", "byte 300", "'open", "nonsense", "1 2"] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn annotations_become_properties_with_runc_rules() {
        let a = ann(&[
            ("org.systemd.property.TimeoutStopSec", "uint64 5"),
            ("org.systemd.property.CollectMode", "'inactive-or-failed'"),
            ("org.systemd.property.CPUQuotaPerSecUSec", "uint64 20000"),
            ("other.annotation", "ignored"),
        ]);
        let p = properties(Some(&a)).unwrap();
        assert_eq!(
            p,
            vec![
                prop("CPUQuotaPerSecUSec", Value::Uint64(20000)),
                prop("CollectMode", Value::Str("inactive-or-failed".into())),
                prop("TimeoutStopUSec", Value::Uint64(5_000_000)),
            ]
        );
        let e = properties(Some(&ann(&[("org.systemd.property.A1b", "1")])))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "annotations: org.systemd.property.A1b: contains non-alphabetic character"
        );
        let e = properties(Some(&ann(&[("org.systemd.property.Ab", "1")])))
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("too short"), "{e}");
        let e = properties(Some(&ann(&[("org.systemd.property.TimeoutSec", "'x'")])))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "annotations: annotation org.systemd.property.TimeoutSec='x' value parse error: not a number"
        );
    }
}
