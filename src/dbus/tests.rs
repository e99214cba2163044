//! The wire format against bytes worked out by hand from the specification, values,
//! signatures and addresses. (The client against real and fake buses: tests_live.rs.)

use super::transport::{parse_address, system_address, user_address, Endpoint};
use super::wire;
use super::*;
use proptest::prelude::*;

pub(super) fn s(x: &str) -> Value {
    Value::Str(x.into())
}

pub(super) fn v(x: Value) -> Value {
    Value::Variant(Box::new(x))
}

pub(super) fn arr(elem: &str, items: Vec<Value>) -> Value {
    Value::Array {
        elem: elem.into(),
        items,
    }
}

pub(super) fn st(fields: Vec<Value>) -> Value {
    Value::Struct(fields)
}

fn signal(body: Vec<Value>) -> Message {
    Message {
        kind: Kind::Signal,
        serial: 7,
        reply_serial: None,
        path: Some("/a/b".into()),
        interface: Some("org.example.I".into()),
        member: Some("M".into()),
        error_name: None,
        sender: None,
        body,
    }
}

fn roundtrip(body: Vec<Value>) -> Vec<Value> {
    let bytes = wire::encode(&signal(body), None, 0).unwrap();
    let (msg, flags) = wire::decode(&bytes).unwrap().unwrap();
    assert_eq!((msg.kind, msg.serial, flags), (Kind::Signal, 7, 0));
    assert_eq!(msg.path.as_deref(), Some("/a/b"));
    assert_eq!(msg.interface.as_deref(), Some("org.example.I"));
    assert_eq!(msg.member.as_deref(), Some("M"));
    msg.body
}

/// Every basic type (the daemon refuses an 'h' without file descriptors: `with_fd`).
pub(super) fn basics(with_fd: bool) -> Vec<Value> {
    let mut values = vec![
        Value::Byte(0xfe),
        Value::Bool(true),
        Value::Bool(false),
        Value::Int16(-2),
        Value::Uint16(65534),
        Value::Int32(-3),
        Value::Uint32(0xdead_beef),
        Value::Int64(-4),
        Value::Uint64(u64::MAX),
        Value::Double(-1.5),
        s("héllo"),
        Value::ObjectPath("/org/freedesktop/systemd1".into()),
        Value::Signature("a(sv)".into()),
    ];
    if with_fd {
        values.push(Value::UnixFd(0));
    }
    values
}

/// Properties as StartTransientUnit takes them: a(sv), variants of every type.
pub(super) fn properties(with_fd: bool) -> Value {
    let mut items: Vec<Value> = basics(with_fd)
        .into_iter()
        .enumerate()
        .map(|(i, x)| st(vec![s(&format!("P{i}")), v(x)]))
        .collect();
    items.extend([
        st(vec![
            s("PIDs"),
            v(arr("u", vec![Value::Uint32(1), Value::Uint32(2)])),
        ]),
        st(vec![s("Empty"), v(arr("(st)", vec![]))]),
        st(vec![
            s("Dict"),
            v(arr(
                "{sv}",
                vec![Value::DictEntry(
                    Box::new(s("k")),
                    Box::new(v(Value::Byte(1))),
                )],
            )),
        ]),
        st(vec![
            s("Nested"),
            v(v(st(vec![Value::Byte(1), Value::Uint64(2)]))),
        ]),
    ]);
    arr("(sv)", items)
}

/// A body with every type and the shapes systemd's calls use.
pub(super) fn complex_body(with_fd: bool) -> Vec<Value> {
    let mut body = basics(with_fd);
    body.extend([
        properties(with_fd),
        // StartTransientUnit's aux: a(sa(sv)).
        arr(
            "(sa(sv))",
            vec![st(vec![s("aux.scope"), properties(with_fd)])],
        ),
        arr("(sa(sv))", vec![]),
        arr("y", vec![Value::Byte(1), Value::Byte(2), Value::Byte(3)]),
        arr(
            "(st)",
            vec![st(vec![s("/dev/null"), Value::Uint64(1 << 40)])],
        ),
        arr("t", vec![]),
        arr("as", vec![arr("s", vec![s("a")]), arr("s", vec![])]),
        v(arr("i", vec![Value::Int32(-1)])),
    ]);
    body
}

#[test]
fn every_type_round_trips() {
    for with_fd in [false, true] {
        let body = complex_body(with_fd);
        assert_eq!(roundtrip(body.clone()), body);
    }
    assert_eq!(roundtrip(vec![]), vec![]);
}

#[test]
fn signatures_of_values() {
    let sig: String = complex_body(true).iter().map(Value::signature).collect();
    assert_eq!(sig, "ybbnqiuxtdsogha(sv)a(sa(sv))a(sa(sv))aya(st)ataasv");
    let entry = Value::DictEntry(Box::new(s("k")), Box::new(v(Value::Bool(true))));
    assert_eq!(entry.signature(), "{sv}");
    assert_eq!(arr("{sv}", vec![entry]).signature(), "a{sv}");
}

#[test]
fn accessors_look_through_variants() {
    assert_eq!(v(v(s("x"))).as_str(), Some("x"));
    assert_eq!(Value::ObjectPath("/o".into()).as_str(), Some("/o"));
    assert_eq!(Value::Signature("s".into()).as_str(), Some("s"));
    assert_eq!(Value::Uint32(3).as_str(), None);
    assert_eq!(v(Value::Uint64(u64::MAX)).as_u64(), Some(u64::MAX));
    assert_eq!(Value::Int32(5).as_u64(), Some(5));
    assert_eq!(Value::Int32(-1).as_u64(), None);
    assert_eq!(Value::Int64(-1).as_u64(), None);
    assert_eq!(Value::Byte(7).as_u64(), Some(7));
    assert_eq!(Value::Uint16(9).as_u64(), Some(9));
    assert_eq!(s("1").as_u64(), None);
    assert_eq!(Value::Bool(true).as_u64(), None);
}

/// org.freedesktop.DBus.Hello as the specification lays it out: the fixed header, the
/// header fields a(yv) (each struct 8-aligned, the array's length counting from the first
/// struct), padding to 8, no body.
#[test]
fn hello_is_encoded_byte_for_byte() {
    let hello = Message {
        kind: Kind::MethodCall,
        serial: 1,
        reply_serial: None,
        path: Some("/org/freedesktop/DBus".into()),
        interface: Some("org.freedesktop.DBus".into()),
        member: Some("Hello".into()),
        error_name: None,
        sender: None,
        body: vec![],
    };
    let mut expected: Vec<u8> = Vec::new();
    // 'l', METHOD_CALL, no flags, version 1, body length 0, serial 1, fields of 109 bytes.
    expected.extend(b"l\x01\x00\x01\x00\x00\x00\x00\x01\x00\x00\x00\x6d\x00\x00\x00");
    // 16: PATH (1), variant signature "o", string of 21 bytes + NUL: ends at 46.
    expected.extend(b"\x01\x01o\x00\x15\x00\x00\x00/org/freedesktop/DBus\x00");
    // 46: padding to 48, INTERFACE (2) "s", 20 bytes + NUL: ends at 77.
    expected.extend(b"\x00\x00\x02\x01s\x00\x14\x00\x00\x00org.freedesktop.DBus\x00");
    // 77: padding to 80, MEMBER (3), "Hello": ends at 94.
    expected.extend(b"\x00\x00\x00\x03\x01s\x00\x05\x00\x00\x00Hello\x00");
    // 94: padding to 96, DESTINATION (6): ends at 125 = 16 + 109; padding to 128.
    expected.extend(b"\x00\x00\x06\x01s\x00\x14\x00\x00\x00org.freedesktop.DBus\x00");
    expected.extend(b"\x00\x00\x00");
    let bytes = wire::encode(&hello, Some("org.freedesktop.DBus"), 0).unwrap();
    assert_eq!(bytes, expected);
}

/// An array's length excludes the padding before its first element; an empty array still
/// has that padding; a variant is its signature then its value.
#[test]
fn array_padding_and_variants_byte_for_byte() {
    let encode = |values: &[Value]| {
        let mut e = wire::Encoder::default();
        values.iter().for_each(|x| e.value(x).unwrap());
        e.buf
    };
    let props = arr("(sv)", vec![st(vec![s("a"), v(Value::Uint32(7))])]);
    #[rustfmt::skip]
    let expected = [
        16, 0, 0, 0, // length: from the struct at 8 to the end at 24
        0, 0, 0, 0, // padding to the struct's 8
        1, 0, 0, 0, b'a', 0, // "a"
        1, b'u', 0, // the variant's signature
        0, 0, 0, // padding to the u32's 4
        7, 0, 0, 0,
    ];
    assert_eq!(encode(&[props]), expected);
    assert_eq!(encode(&[arr("(sv)", vec![])]), [0; 8]);
    assert_eq!(
        encode(&[Value::Byte(1), arr("t", vec![])]),
        [1, 0, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(
        encode(&[Value::Byte(1), arr("t", vec![Value::Uint64(2)])]),
        [1, 0, 0, 0, 8, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(
        encode(&[
            Value::Byte(9),
            Value::Int16(-2),
            Value::Bool(true),
            Value::Double(1.0)
        ]),
        [9, 0, 0xfe, 0xff, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]
    );
}

/// A big-endian method return ('B'), worked out by hand: REPLY_SERIAL 1, SIGNATURE "us",
/// body 0x01020304 and "hi".
#[test]
fn big_endian_input_is_decoded() {
    #[rustfmt::skip]
    let mut bytes = vec![
        b'B', 2, 0, 1, 0, 0, 0, 11, 0, 0, 0, 5, 0, 0, 0, 16,
        5, 1, b'u', 0, 0, 0, 0, 1,
        8, 1, b'g', 0, 2, b'u', b's', 0,
    ];
    bytes.extend([1, 2, 3, 4, 0, 0, 0, 2, b'h', b'i', 0]);
    let (msg, _) = wire::decode(&bytes).unwrap().unwrap();
    assert_eq!(msg.kind, Kind::MethodReturn);
    assert_eq!((msg.serial, msg.reply_serial), (5, Some(1)));
    assert_eq!(msg.body, vec![Value::Uint32(0x0102_0304), s("hi")]);
}

/// A message with the given body signature (valid or not) and raw body bytes
/// (little-endian signal).
pub(super) fn raw_message(sig: &str, body: &[u8]) -> Vec<u8> {
    // Encoded with a valid signature of the same length, then overwritten.
    let placeholder = "y".repeat(sig.len());
    let mut fields = vec![
        st(vec![Value::Byte(1), v(Value::ObjectPath("/a".into()))]),
        st(vec![Value::Byte(2), v(s("org.example.I"))]),
        st(vec![Value::Byte(3), v(s("M"))]),
    ];
    if !sig.is_empty() {
        fields.push(st(vec![Value::Byte(8), v(Value::Signature(placeholder))]));
    }
    let mut e = wire::Encoder::default();
    e.buf.extend([b'l', 4, 0, 1]);
    e.buf.extend((body.len() as u32).to_le_bytes());
    e.buf.extend(1u32.to_le_bytes());
    e.value(&arr("(yv)", fields)).unwrap();
    if let Some(at) = e.buf.windows(4).position(|w| w == b"\x08\x01g\x00") {
        e.buf[at + 5..at + 5 + sig.len()].copy_from_slice(sig.as_bytes());
    }
    e.buf.resize(e.buf.len().next_multiple_of(8), 0);
    e.buf.extend(body);
    e.buf
}

fn decode_error(bytes: &[u8]) -> String {
    match wire::decode(bytes) {
        Ok(m) => panic!("decoded {m:?}"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn raw_messages_decode_when_valid() {
    let (msg, _) = wire::decode(&raw_message("yu", &[1, 0, 0, 0, 2, 0, 0, 0]))
        .unwrap()
        .unwrap();
    assert_eq!(msg.body, vec![Value::Byte(1), Value::Uint32(2)]);
    let (msg, _) = wire::decode(&raw_message("", &[])).unwrap().unwrap();
    assert_eq!(msg.body, vec![]);
    // Variants nested 60 deep are within the limit of 64.
    let mut body = b"\x01v\x00".repeat(60);
    body.extend(b"\x01y\x00\x07");
    let (msg, _) = wire::decode(&raw_message("v", &body)).unwrap().unwrap();
    let mut value = &msg.body[0];
    for _ in 0..60 {
        let Value::Variant(inner) = value else {
            panic!("{value:?}")
        };
        value = inner;
    }
    assert_eq!(value, &v(Value::Byte(7)));
}

#[test]
fn bad_input_is_an_error() {
    let cases: &[(&str, &[u8], &str)] = &[
        (
            "yu",
            &[1, 0xff, 0, 0, 2, 0, 0, 0],
            "non-zero padding at offset",
        ),
        ("b", &[2, 0, 0, 0], "boolean 2"),
        ("s", &[2, 0, 0, 0, 0xff, b'b', 0], "invalid utf-8"),
        ("s", &[2, 0, 0, 0, b'a', b'b', b'c'], "not NUL-terminated"),
        ("s", &[3, 0, 0, 0, b'a', 0, b'c', 0], "with a NUL"),
        ("u", &[1, 2, 3], "truncated"),
        ("u", &[1, 0, 0, 0, 9], "body longer than its signature"),
        ("z", &[], "invalid D-Bus signature \"z\""),
        (
            "a{vs}",
            &[0, 0, 0, 0, 0, 0, 0, 0],
            "key must be a basic type",
        ),
        (
            "o",
            &[3, 0, 0, 0, b'a', b'/', b'b', 0],
            "invalid object path",
        ),
        ("g", &[2, b'(', b'i', 0], "ends inside a type"),
        ("v", &[2, b's', b's', 0], "not one complete type"),
        ("ay", &[0x01, 0, 0, 0x04], "over the limit"),
        ("ay", &[8, 0, 0, 0, 1, 2], "array truncated"),
        // An array whose last element runs past the array's length.
        ("au", &[2, 0, 0, 0, 1, 0, 0, 0], "truncated"),
    ];
    for (sig, body, wanted) in cases {
        let error = decode_error(&raw_message(sig, body));
        assert!(
            error.starts_with("invalid D-Bus message: ") && error.contains(wanted),
            "{sig} {body:?}: {error}"
        );
    }
    // Variants nested over 64.
    let mut body = b"\x01v\x00".repeat(70);
    body.extend(b"\x01y\x00\x07");
    assert!(decode_error(&raw_message("v", &body)).contains("nested deeper than 64"));

    // Every truncation of a valid message.
    let whole = wire::encode(&signal(complex_body(true)), None, 0).unwrap();
    for n in 0..whole.len() {
        let error = decode_error(&whole[..n]);
        assert!(error.starts_with("invalid D-Bus message: "), "{n}: {error}");
    }
    // A header that announces too much: refused before anything is read for it.
    let mut big = whole.clone();
    big[4..8].copy_from_slice(&(200u32 << 20).to_le_bytes());
    let error = wire::message_len(big.first_chunk().unwrap()).unwrap_err();
    assert!(
        error.to_string().contains("over the limit of 134217728"),
        "{error}"
    );
    big[4..8].copy_from_slice(&0u32.to_le_bytes());
    big[12..16].copy_from_slice(&(65u32 << 20).to_le_bytes());
    let error = wire::message_len(big.first_chunk().unwrap()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("header fields of 68157440 bytes"),
        "{error}"
    );
    for (at, byte, wanted) in [(0, b'X', "endianness 0x58"), (3, 2, "protocol version 2")] {
        let mut bad = whole.clone();
        bad[at] = byte;
        assert!(decode_error(&bad).contains(wanted), "{wanted}");
    }
    // Serial 0, a header field of the wrong type, a required header field missing.
    let mut bad = whole.clone();
    bad[8..12].copy_from_slice(&[0; 4]);
    assert!(decode_error(&bad).contains("serial 0"));
    let mut wrong = raw_message("", &[]);
    let at = wrong.windows(3).position(|w| w == b"\x03\x01s").unwrap();
    wrong[at] = 5; // MEMBER's string as REPLY_SERIAL
    assert!(decode_error(&wrong).contains("header field 5 of type \"s\""));
    let mut error_reply = signal(vec![]);
    error_reply.kind = Kind::Error;
    error_reply.reply_serial = Some(1);
    let bytes = wire::encode(&error_reply, None, 0).unwrap();
    assert!(decode_error(&bytes).contains("a ERROR_NAME header field is required"));
    // A message of an unknown type is skipped, not an error.
    let mut unknown = raw_message("", &[]);
    unknown[1] = 9;
    assert!(wire::decode(&unknown).unwrap().is_none());
}

#[test]
fn signatures_are_checked() {
    for good in ["", "a{sv}", "a(sa(sv))", "aay", "(i(ii))", "a{oa{sv}}", "h"] {
        wire::parse_signature(good).unwrap();
    }
    let deep_arrays = "a".repeat(32) + "y";
    wire::parse_signature(&deep_arrays).unwrap();
    let deep_structs = "(".repeat(32) + "y" + &")".repeat(32);
    wire::parse_signature(&deep_structs).unwrap();
    let bad = [
        ("a", "ends inside a type"),
        ("(", "ends inside a type"),
        ("()", "empty struct"),
        ("a{vs}", "key must be a basic type"),
        ("a{sss}", "a dict entry holds two types"),
        ("{ss}", "unexpected '{'"),
        ("a{s}", "unexpected '}'"),
        (")", "unexpected ')'"),
        ("z", "unexpected 'z'"),
        (&("a".repeat(33) + "y"), "arrays nested deeper than 32"),
        (
            &("(".repeat(33) + "y" + &")".repeat(33)),
            "structs nested deeper than 32",
        ),
        (&"y".repeat(256), "longer than 255 bytes"),
    ];
    for (sig, wanted) in bad {
        let error = format!("{:#}", wire::parse_signature(sig).unwrap_err());
        assert!(error.contains(wanted), "{sig}: {error}");
    }
}

#[test]
fn bad_values_are_not_encoded() {
    let cases = [
        (
            arr("s", vec![Value::Uint32(1)]),
            "array of \"s\" holds a \"u\"",
        ),
        (arr("ss", vec![]), "not a single complete type"),
        (s("a\0b"), "contains a NUL"),
        (Value::ObjectPath("a/".into()), "invalid D-Bus object path"),
        (Value::Signature("(".into()), "invalid D-Bus signature"),
        (st(vec![]), "empty"),
        (arr("{vs}", vec![]), "key must be a basic type"),
    ];
    for (value, wanted) in cases {
        let error = format!(
            "{:#}",
            wire::encode(&signal(vec![value]), None, 0).unwrap_err()
        );
        assert!(error.contains(wanted), "{error}");
    }
    let mut deep = Value::Byte(1);
    for _ in 0..70 {
        deep = v(deep);
    }
    let error = wire::encode(&signal(vec![deep]), None, 0).unwrap_err();
    assert!(
        error.to_string().contains("nested deeper than 64"),
        "{error}"
    );
}

proptest! {
    #[test]
    fn random_bytes_are_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = wire::decode(&bytes);
        if let Some(fixed) = bytes.first_chunk() {
            let _ = wire::message_len(fixed);
        }
    }

    /// A plausible fixed header (so that decoding gets past it) over random bytes.
    #[test]
    fn random_messages_are_never_a_panic(
        big_endian in any::<bool>(),
        kind in 0u8..6,
        fields in proptest::collection::vec(any::<u8>(), 0..200),
        body in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let word = |n: usize| if big_endian { (n as u32).to_be_bytes() } else { (n as u32).to_le_bytes() };
        let mut bytes = vec![if big_endian { b'B' } else { b'l' }, kind, 0, 1];
        bytes.extend(word(body.len()));
        bytes.extend(word(1));
        bytes.extend(word(fields.len()));
        bytes.extend(&fields);
        bytes.resize(bytes.len().next_multiple_of(8), 0);
        bytes.extend(&body);
        let _ = wire::decode(&bytes);
    }

    /// A valid message with some bytes changed.
    #[test]
    fn corrupted_messages_are_never_a_panic(
        edits in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut bytes = wire::encode(&signal(complex_body(true)), None, 0).unwrap();
        for (at, byte) in edits {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        let _ = wire::decode(&bytes);
    }

    #[test]
    fn random_signatures_are_never_a_panic(sig in "[ybnqiuxtdsoghva(){}z]{0,300}") {
        let _ = wire::parse_signature(&sig);
        let _ = wire::parse_single(&sig);
    }
}

#[test]
fn addresses() {
    assert_eq!(
        parse_address("unix:path=/tmp/a%20b%2c,guid=0123").unwrap(),
        vec![Endpoint::Path(b"/tmp/a b,".to_vec())]
    );
    assert_eq!(
        parse_address("tcp:host=x,port=1;unix:abstract=/tmp/dbus-x;unix:path=/y").unwrap(),
        vec![
            Endpoint::Abstract(b"/tmp/dbus-x".to_vec()),
            Endpoint::Path(b"/y".to_vec())
        ]
    );
    let error = parse_address("tcp:host=x,port=1").unwrap_err().to_string();
    assert_eq!(
        error,
        "dbus: no unix:path= or unix:abstract= entry in the bus address \"tcp:host=x,port=1\""
    );
    let error = format!("{:#}", parse_address("unix:path=/a%zz").unwrap_err());
    assert!(error.contains("invalid escape %zz"), "{error}");
    assert!(parse_address("unix:path").is_err());

    assert_eq!(
        system_address(None),
        "unix:path=/run/dbus/system_bus_socket"
    );
    assert_eq!(
        system_address(Some(String::new())),
        "unix:path=/run/dbus/system_bus_socket"
    );
    assert_eq!(system_address(Some("unix:path=/x".into())), "unix:path=/x");
    let runtime = Some("/run/user/1000".into());
    assert_eq!(
        user_address(Some("unix:path=/s".into()), runtime.clone()).unwrap(),
        "unix:path=/s"
    );
    assert_eq!(
        user_address(Some(String::new()), runtime).unwrap(),
        "unix:path=/run/user/1000/bus"
    );
    let odd = user_address(None, Some("/run/a b;c".into())).unwrap();
    assert_eq!(odd, "unix:path=/run/a%20b%3bc/bus");
    assert_eq!(
        parse_address(&odd).unwrap(),
        vec![Endpoint::Path(b"/run/a b;c/bus".to_vec())]
    );
    let error = user_address(None, None).unwrap_err().to_string();
    assert_eq!(
        error,
        "dbus: the user bus: neither $DBUS_SESSION_BUS_ADDRESS nor $XDG_RUNTIME_DIR is set"
    );
}
