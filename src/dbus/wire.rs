//! The D-Bus wire format (the specification's "Message Protocol"): signatures, values and
//! message headers. Written little-endian; read in either endianness. Everything read is
//! checked (lengths, padding, nesting, UTF-8, signatures) and is an error, never a panic:
//! the bytes come from another process.
//!
//! The format in short (dbus-specification.html, "Message Protocol"):
//! - A message: 12 fixed bytes (endianness 'l' or 'B', type 1 call / 2 return / 3 error /
//!   4 signal, flags (1: no reply expected), version 1, body length u32, serial u32 != 0),
//!   then the header fields as `a(yv)`, padding to 8, then the body, which the SIGNATURE
//!   field describes (no field: an empty body).
//! - Header fields: 1 PATH o, 2 INTERFACE s, 3 MEMBER s, 4 ERROR_NAME s, 5 REPLY_SERIAL u,
//!   6 DESTINATION s, 7 SENDER s, 8 SIGNATURE g, 9 UNIX_FDS u; unknown codes are ignored.
//!   A call needs PATH and MEMBER, a signal also INTERFACE, an error ERROR_NAME and
//!   REPLY_SERIAL, a return REPLY_SERIAL.
//! - Every value starts at a multiple of its alignment, counted from the message's start,
//!   the padding being zero bytes: y g v 1; n q 2; b i u h s o a 4; x t d ( { 8.
//! - s, o: u32 length, the UTF-8 bytes (no NUL among them), a NUL. g: u8 length, bytes, NUL.
//!   b: u32 0 or 1. v: a signature of one complete type, then the value.
//! - a: u32 length in bytes, padding to the element's alignment (even when empty), the
//!   elements; the length excludes that padding. {kv} only as an array's element, k basic.
//! - Limits: a message 128 MiB, an array 64 MiB, a signature 255 bytes; 32 nested arrays and
//!   32 nested structs in a signature, 64 containers (variants included) in a value.

use super::{Kind, Message, Value};
use anyhow::{bail, ensure, Context, Result};

/// The specification's limits.
pub const MAX_MESSAGE: usize = 128 << 20;
pub const MAX_ARRAY: usize = 64 << 20;
const MAX_SIGNATURE: usize = 255;
/// Array and struct nesting are each limited to 32 in a signature, all containers together
/// (variants included) to 64 in a value.
const MAX_CONTAINER: usize = 32;
const MAX_DEPTH: usize = 64;

/// Header flag: the sender wants no reply.
pub const NO_REPLY_EXPECTED: u8 = 0x1;

/// A complete type, parsed from a signature.
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    Byte,
    Bool,
    Int16,
    Uint16,
    Int32,
    Uint32,
    Int64,
    Uint64,
    Double,
    Str,
    ObjectPath,
    Signature,
    UnixFd,
    Array(Box<Type>),
    Struct(Vec<Type>),
    DictEntry(Box<Type>, Box<Type>),
    Variant,
}

impl Type {
    fn align(&self) -> usize {
        match self {
            Type::Byte | Type::Signature | Type::Variant => 1,
            Type::Int16 | Type::Uint16 => 2,
            Type::Bool
            | Type::Int32
            | Type::Uint32
            | Type::UnixFd
            | Type::Str
            | Type::ObjectPath
            | Type::Array(_) => 4,
            Type::Int64 | Type::Uint64 | Type::Double | Type::Struct(_) | Type::DictEntry(..) => 8,
        }
    }

    fn is_basic(&self) -> bool {
        !matches!(
            self,
            Type::Array(_) | Type::Struct(_) | Type::DictEntry(..) | Type::Variant
        )
    }

    fn write_signature(&self, out: &mut String) {
        let code = match self {
            Type::Byte => 'y',
            Type::Bool => 'b',
            Type::Int16 => 'n',
            Type::Uint16 => 'q',
            Type::Int32 => 'i',
            Type::Uint32 => 'u',
            Type::Int64 => 'x',
            Type::Uint64 => 't',
            Type::Double => 'd',
            Type::Str => 's',
            Type::ObjectPath => 'o',
            Type::Signature => 'g',
            Type::UnixFd => 'h',
            Type::Variant => 'v',
            Type::Array(elem) => {
                out.push('a');
                elem.write_signature(out);
                return;
            }
            Type::Struct(fields) => {
                out.push('(');
                fields.iter().for_each(|f| f.write_signature(out));
                ')'
            }
            Type::DictEntry(k, v) => {
                out.push('{');
                k.write_signature(out);
                v.write_signature(out);
                '}'
            }
        };
        out.push(code);
    }

    fn signature(&self) -> String {
        let mut s = String::new();
        self.write_signature(&mut s);
        s
    }
}

/// A signature: a sequence of complete types.
pub fn parse_signature(sig: &str) -> Result<Vec<Type>> {
    let parse = || {
        ensure!(
            sig.len() <= MAX_SIGNATURE,
            "longer than {MAX_SIGNATURE} bytes"
        );
        let bytes = sig.as_bytes();
        let mut pos = 0;
        let mut types = Vec::new();
        while pos < bytes.len() {
            types.push(parse_type(bytes, &mut pos, 0, 0)?);
        }
        Ok(types)
    };
    parse().with_context(|| format!("invalid D-Bus signature {sig:?}"))
}

/// A signature of exactly one complete type (a variant's, an array's element's).
pub fn parse_single(sig: &str) -> Result<Type> {
    // An array's element may be a dict entry, which is only valid after an 'a'.
    let array = parse_signature(&format!("a{sig}"))?;
    match <[Type; 1]>::try_from(array) {
        Ok([Type::Array(elem)]) => Ok(*elem),
        _ => bail!("invalid D-Bus signature {sig:?}: not a single complete type"),
    }
}

fn parse_type(b: &[u8], pos: &mut usize, arrays: usize, structs: usize) -> Result<Type> {
    let c = *b.get(*pos).context("ends inside a type")?;
    *pos += 1;
    Ok(match c {
        b'y' => Type::Byte,
        b'b' => Type::Bool,
        b'n' => Type::Int16,
        b'q' => Type::Uint16,
        b'i' => Type::Int32,
        b'u' => Type::Uint32,
        b'x' => Type::Int64,
        b't' => Type::Uint64,
        b'd' => Type::Double,
        b's' => Type::Str,
        b'o' => Type::ObjectPath,
        b'g' => Type::Signature,
        b'h' => Type::UnixFd,
        b'v' => Type::Variant,
        b'a' => {
            ensure!(
                arrays < MAX_CONTAINER,
                "arrays nested deeper than {MAX_CONTAINER}"
            );
            if b.get(*pos) == Some(&b'{') {
                *pos += 1;
                ensure!(
                    structs < MAX_CONTAINER,
                    "structs nested deeper than {MAX_CONTAINER}"
                );
                let key = parse_type(b, pos, arrays + 1, structs + 1)?;
                ensure!(key.is_basic(), "a dict entry's key must be a basic type");
                let value = parse_type(b, pos, arrays + 1, structs + 1)?;
                ensure!(b.get(*pos) == Some(&b'}'), "a dict entry holds two types");
                *pos += 1;
                Type::Array(Box::new(Type::DictEntry(Box::new(key), Box::new(value))))
            } else {
                Type::Array(Box::new(parse_type(b, pos, arrays + 1, structs)?))
            }
        }
        b'(' => {
            ensure!(
                structs < MAX_CONTAINER,
                "structs nested deeper than {MAX_CONTAINER}"
            );
            let mut fields = Vec::new();
            while b.get(*pos) != Some(&b')') {
                fields.push(parse_type(b, pos, arrays, structs + 1)?);
            }
            *pos += 1;
            ensure!(!fields.is_empty(), "empty struct");
            Type::Struct(fields)
        }
        c => bail!("unexpected {:?}", c as char),
    })
}

/// The type of a value (checked when encoding: an array's items against its element).
pub fn type_of(v: &Value) -> Result<Type> {
    Ok(match v {
        Value::Byte(_) => Type::Byte,
        Value::Bool(_) => Type::Bool,
        Value::Int16(_) => Type::Int16,
        Value::Uint16(_) => Type::Uint16,
        Value::Int32(_) => Type::Int32,
        Value::Uint32(_) => Type::Uint32,
        Value::Int64(_) => Type::Int64,
        Value::Uint64(_) => Type::Uint64,
        Value::Double(_) => Type::Double,
        Value::Str(_) => Type::Str,
        Value::ObjectPath(_) => Type::ObjectPath,
        Value::Signature(_) => Type::Signature,
        Value::UnixFd(_) => Type::UnixFd,
        Value::Variant(_) => Type::Variant,
        Value::Array { elem, .. } => Type::Array(Box::new(parse_single(elem)?)),
        Value::Struct(fields) => Type::Struct(fields.iter().map(type_of).collect::<Result<_>>()?),
        Value::DictEntry(k, v) => Type::DictEntry(Box::new(type_of(k)?), Box::new(type_of(v)?)),
    })
}

/// An object path: "/" or "/"-separated non-empty elements of [A-Za-z0-9_].
pub fn valid_path(p: &str) -> bool {
    p == "/"
        || (p.starts_with('/')
            && p[1..].split('/').all(|e| {
                !e.is_empty() && e.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
            }))
}

/// Appends values to a message part that starts 8-aligned (alignment is relative to the
/// message's start, and the header and the body both start 8-aligned).
#[derive(Default)]
pub struct Encoder {
    pub buf: Vec<u8>,
}

impl Encoder {
    fn pad(&mut self, align: usize) {
        let len = self.buf.len().next_multiple_of(align);
        self.buf.resize(len, 0);
    }

    fn u32(&mut self, v: u32) {
        self.pad(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn string(&mut self, s: &str) -> Result<()> {
        ensure!(!s.contains('\0'), "D-Bus string {s:?} contains a NUL");
        self.u32(u32::try_from(s.len()).context("D-Bus string too long")?);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        Ok(())
    }

    fn signature(&mut self, s: &str) -> Result<()> {
        parse_signature(s)?;
        self.buf.push(s.len() as u8);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        Ok(())
    }

    pub fn value(&mut self, v: &Value) -> Result<()> {
        self.value_at(v, &type_of(v)?, 0)
    }

    /// `t` is `v`'s type, already checked.
    fn value_at(&mut self, v: &Value, t: &Type, depth: usize) -> Result<()> {
        ensure!(
            depth <= MAX_DEPTH,
            "D-Bus value nested deeper than {MAX_DEPTH}"
        );
        match (v, t) {
            (Value::Byte(b), _) => self.buf.push(*b),
            (Value::Bool(b), _) => self.u32(u32::from(*b)),
            (Value::Int16(n), _) => {
                self.pad(2);
                self.buf.extend_from_slice(&n.to_le_bytes());
            }
            (Value::Uint16(n), _) => {
                self.pad(2);
                self.buf.extend_from_slice(&n.to_le_bytes());
            }
            (Value::Int32(n), _) => self.u32(*n as u32),
            (Value::Uint32(n) | Value::UnixFd(n), _) => self.u32(*n),
            (Value::Int64(n), _) => self.u64(*n as u64),
            (Value::Uint64(n), _) => self.u64(*n),
            (Value::Double(d), _) => self.u64(d.to_bits()),
            (Value::Str(s), _) => self.string(s)?,
            (Value::ObjectPath(p), _) => {
                ensure!(valid_path(p), "invalid D-Bus object path {p:?}");
                self.string(p)?;
            }
            (Value::Signature(s), _) => self.signature(s)?,
            (Value::Array { elem, items }, Type::Array(elem_type)) => {
                self.u32(0);
                let len_at = self.buf.len() - 4;
                // The length counts the elements, not the padding before the first one.
                self.pad(elem_type.align());
                let start = self.buf.len();
                for item in items {
                    let t = type_of(item)?;
                    ensure!(
                        t == **elem_type,
                        "D-Bus array of {elem:?} holds a {:?}",
                        t.signature()
                    );
                    self.value_at(item, &t, depth + 1)?;
                }
                let len = self.buf.len() - start;
                ensure!(
                    len <= MAX_ARRAY,
                    "D-Bus array longer than {MAX_ARRAY} bytes"
                );
                self.buf[len_at..len_at + 4].copy_from_slice(&(len as u32).to_le_bytes());
            }
            (Value::Struct(fields), Type::Struct(types)) => {
                ensure!(!fields.is_empty(), "empty D-Bus struct");
                self.pad(8);
                for (f, t) in fields.iter().zip(types) {
                    self.value_at(f, t, depth + 1)?;
                }
            }
            (Value::DictEntry(k, val), Type::DictEntry(kt, vt)) => {
                ensure!(
                    kt.is_basic(),
                    "a D-Bus dict entry's key must be a basic type"
                );
                self.pad(8);
                self.value_at(k, kt, depth + 1)?;
                self.value_at(val, vt, depth + 1)?;
            }
            (Value::Variant(inner), _) => {
                let t = type_of(inner)?;
                self.signature(&t.signature())?;
                self.value_at(inner, &t, depth + 1)?;
            }
            _ => bail!("D-Bus value {v:?} does not match its type"),
        }
        Ok(())
    }

    fn u64(&mut self, v: u64) {
        self.pad(8);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
}

fn kind_code(k: Kind) -> u8 {
    match k {
        Kind::MethodCall => 1,
        Kind::MethodReturn => 2,
        Kind::Error => 3,
        Kind::Signal => 4,
    }
}

/// A message's bytes (the sender field is the bus's to set, and is not sent).
pub fn encode(msg: &Message, destination: Option<&str>, flags: u8) -> Result<Vec<u8>> {
    let mut body = Encoder::default();
    let mut sig = String::new();
    for v in &msg.body {
        let t = type_of(v)?;
        t.write_signature(&mut sig);
        body.value_at(v, &t, 0)?;
    }
    ensure!(sig.len() <= MAX_SIGNATURE, "D-Bus body signature too long");

    let str_field =
        |code: u8, s: &Option<String>| s.as_ref().map(|s| (code, Value::Str(s.clone())));
    let fields = [
        msg.path.as_ref().map(|p| (1, Value::ObjectPath(p.clone()))),
        str_field(2, &msg.interface),
        str_field(3, &msg.member),
        str_field(4, &msg.error_name),
        msg.reply_serial.map(|s| (5, Value::Uint32(s))),
        destination.map(|d| (6, Value::Str(d.to_string()))),
        (!sig.is_empty()).then_some((8, Value::Signature(sig))),
    ];
    let fields = Value::Array {
        elem: "(yv)".into(),
        items: fields
            .into_iter()
            .flatten()
            .map(|(code, v)| Value::Struct(vec![Value::Byte(code), Value::Variant(Box::new(v))]))
            .collect(),
    };

    let mut out = Encoder::default();
    out.buf
        .extend_from_slice(&[b'l', kind_code(msg.kind), flags, 1]);
    out.u32(u32::try_from(body.buf.len()).context("D-Bus body too long")?);
    out.u32(msg.serial);
    out.value(&fields)?;
    out.pad(8);
    out.buf.extend_from_slice(&body.buf);
    ensure!(
        out.buf.len() <= MAX_MESSAGE,
        "D-Bus message longer than {MAX_MESSAGE} bytes"
    );
    Ok(out.buf)
}

/// The whole length of the message whose first 16 bytes are `fixed`, checked against the
/// limit before anything is read or allocated for it.
pub fn message_len(fixed: &[u8; 16]) -> Result<usize> {
    let be = match fixed[0] {
        b'l' => false,
        b'B' => true,
        c => bail!("invalid D-Bus message: endianness {c:#04x}"),
    };
    ensure!(
        fixed[3] == 1,
        "invalid D-Bus message: protocol version {}",
        fixed[3]
    );
    let word = |at: usize| {
        let b = [fixed[at], fixed[at + 1], fixed[at + 2], fixed[at + 3]];
        (if be {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }) as usize
    };
    let (body, fields) = (word(4), word(12));
    ensure!(
        fields <= MAX_ARRAY,
        "invalid D-Bus message: header fields of {fields} bytes"
    );
    let len = (16 + fields).next_multiple_of(8) + body;
    ensure!(
        len <= MAX_MESSAGE,
        "invalid D-Bus message: {len} bytes, over the limit of {MAX_MESSAGE}"
    );
    Ok(len)
}

struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    be: bool,
}

impl<'a> Decoder<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.with_context(|| format!("truncated at offset {}", self.pos))?;
        let b = &self.buf[self.pos..end];
        self.pos = end;
        Ok(b)
    }

    /// Skips to the alignment; the padding must be zero.
    fn pad(&mut self, align: usize) -> Result<()> {
        let at = self.pos;
        let pad = self.take(at.next_multiple_of(align) - at)?;
        ensure!(
            pad.iter().all(|&b| b == 0),
            "non-zero padding at offset {at}"
        );
        Ok(())
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.pad(N)?;
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        if self.be {
            a.reverse();
        }
        Ok(a)
    }

    fn u32(&mut self) -> Result<u32> {
        self.array().map(u32::from_le_bytes)
    }

    fn str_bytes(&mut self, len: usize) -> Result<String> {
        let at = self.pos;
        let b = self.take(len + 1)?;
        ensure!(b[len] == 0, "string not NUL-terminated at offset {at}");
        let s = std::str::from_utf8(&b[..len]).with_context(|| format!("string at offset {at}"))?;
        ensure!(!s.contains('\0'), "string with a NUL at offset {at}");
        Ok(s.to_string())
    }

    fn signature(&mut self) -> Result<String> {
        let len = self.take(1)?[0] as usize;
        let s = self.str_bytes(len)?;
        parse_signature(&s)?;
        Ok(s)
    }

    fn value(&mut self, t: &Type, depth: usize) -> Result<Value> {
        ensure!(depth <= MAX_DEPTH, "values nested deeper than {MAX_DEPTH}");
        Ok(match t {
            Type::Byte => Value::Byte(self.take(1)?[0]),
            Type::Bool => match self.u32()? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                n => bail!("boolean {n} at offset {}", self.pos - 4),
            },
            Type::Int16 => Value::Int16(self.array().map(i16::from_le_bytes)?),
            Type::Uint16 => Value::Uint16(self.array().map(u16::from_le_bytes)?),
            Type::Int32 => Value::Int32(self.array().map(i32::from_le_bytes)?),
            Type::Uint32 => Value::Uint32(self.u32()?),
            Type::UnixFd => Value::UnixFd(self.u32()?),
            Type::Int64 => Value::Int64(self.array().map(i64::from_le_bytes)?),
            Type::Uint64 => Value::Uint64(self.array().map(u64::from_le_bytes)?),
            Type::Double => Value::Double(self.array().map(f64::from_le_bytes)?),
            Type::Str => {
                let len = self.u32()? as usize;
                Value::Str(self.str_bytes(len)?)
            }
            Type::ObjectPath => {
                let len = self.u32()? as usize;
                let p = self.str_bytes(len)?;
                ensure!(valid_path(&p), "invalid object path {p:?}");
                Value::ObjectPath(p)
            }
            Type::Signature => Value::Signature(self.signature()?),
            Type::Array(elem) => {
                let len = self.u32()? as usize;
                ensure!(len <= MAX_ARRAY, "array of {len} bytes, over the limit");
                self.pad(elem.align())?;
                let end = self.pos + len;
                ensure!(
                    end <= self.buf.len(),
                    "array truncated at offset {}",
                    self.pos
                );
                // The elements are read from the array's bytes only (offsets unchanged).
                let whole = self.buf;
                self.buf = &whole[..end];
                let mut items = Vec::new();
                let read: Result<()> = (|| {
                    while self.pos < end {
                        items.push(self.value(elem, depth + 1)?);
                    }
                    Ok(())
                })();
                self.buf = whole;
                read?;
                Value::Array {
                    elem: elem.signature(),
                    items,
                }
            }
            Type::Struct(fields) => {
                self.pad(8)?;
                let mut values = Vec::new();
                for f in fields {
                    values.push(self.value(f, depth + 1)?);
                }
                Value::Struct(values)
            }
            Type::DictEntry(k, v) => {
                self.pad(8)?;
                let k = self.value(k, depth + 1)?;
                Value::DictEntry(Box::new(k), Box::new(self.value(v, depth + 1)?))
            }
            Type::Variant => {
                let sig = self.signature()?;
                let t = match parse_signature(&sig)?.as_slice() {
                    [t] => t.clone(),
                    _ => bail!("variant signature {sig:?} is not one complete type"),
                };
                Value::Variant(Box::new(self.value(&t, depth + 1)?))
            }
        })
    }
}

/// A whole message (exactly `message_len` bytes) and its flags; None for a message of an
/// unknown type (the specification says to ignore those).
pub fn decode(buf: &[u8]) -> Result<Option<(Message, u8)>> {
    decode_checked(buf).context("invalid D-Bus message")
}

fn decode_checked(buf: &[u8]) -> Result<Option<(Message, u8)>> {
    let fixed: &[u8; 16] = buf.get(..16).context("shorter than a header")?.try_into()?;
    ensure!(
        message_len(fixed)? == buf.len(),
        "length does not match its header"
    );
    let mut d = Decoder {
        buf,
        pos: 4,
        be: buf[0] == b'B',
    };
    let (kind, flags) = (buf[1], buf[2]);
    let body_len = d.u32()? as usize;
    let serial = d.u32()?;
    ensure!(serial != 0, "serial 0");
    let fields_type = Type::Array(Box::new(Type::Struct(vec![Type::Byte, Type::Variant])));
    let Value::Array { items, .. } = d.value(&fields_type, 0)? else {
        unreachable!("an array type decodes to an array")
    };
    d.pad(8)?;
    ensure!(d.pos + body_len == buf.len(), "body length does not match");

    let mut msg = Message {
        kind: Kind::Signal,
        serial,
        reply_serial: None,
        path: None,
        interface: None,
        member: None,
        error_name: None,
        sender: None,
        body: Vec::new(),
    };
    let mut signature = String::new();
    for field in items {
        let Value::Struct(f) = field else {
            unreachable!("a struct type decodes to a struct")
        };
        let (Value::Byte(code), Value::Variant(v)) = (&f[0], &f[1]) else {
            unreachable!("(yv) decodes to a byte and a variant")
        };
        let code = *code;
        match (code, *v.clone()) {
            (1, Value::ObjectPath(p)) => msg.path = Some(p),
            (2, Value::Str(s)) => msg.interface = Some(s),
            (3, Value::Str(s)) => msg.member = Some(s),
            (4, Value::Str(s)) => msg.error_name = Some(s),
            (5, Value::Uint32(n)) => msg.reply_serial = Some(n),
            (6, Value::Str(_)) | (9, Value::Uint32(_)) => {}
            (7, Value::Str(s)) => msg.sender = Some(s),
            (8, Value::Signature(s)) => signature = s,
            (1..=9, v) => bail!("header field {code} of type {:?}", type_of(&v)?.signature()),
            _ => {} // unknown fields are ignored, as the specification says
        }
    }
    let missing = |what: &str| format!("a {what} header field is required");
    msg.kind = match kind {
        1 => Kind::MethodCall,
        2 => Kind::MethodReturn,
        3 => Kind::Error,
        4 => Kind::Signal,
        _ => return Ok(None),
    };
    match msg.kind {
        Kind::MethodCall => {
            msg.path.as_ref().with_context(|| missing("PATH"))?;
            msg.member.as_ref().with_context(|| missing("MEMBER"))?;
        }
        Kind::Signal => {
            msg.path.as_ref().with_context(|| missing("PATH"))?;
            msg.interface
                .as_ref()
                .with_context(|| missing("INTERFACE"))?;
            msg.member.as_ref().with_context(|| missing("MEMBER"))?;
        }
        Kind::Error => {
            msg.error_name
                .as_ref()
                .with_context(|| missing("ERROR_NAME"))?;
            msg.reply_serial.with_context(|| missing("REPLY_SERIAL"))?;
        }
        Kind::MethodReturn => {
            msg.reply_serial.with_context(|| missing("REPLY_SERIAL"))?;
        }
    }
    for t in parse_signature(&signature)? {
        msg.body.push(d.value(&t, 0)?);
    }
    ensure!(
        d.pos == buf.len(),
        "body longer than its signature {signature:?}"
    );
    Ok(Some((msg, flags)))
}
