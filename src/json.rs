//! JSON printed as Go's json.MarshalIndent prints it (runc's `spec` and `features`): the
//! given indent per level and no final newline. serde_json's `preserve_order` keeps the
//! keys in the order berth builds them, which is runc's.

use serde::Serialize;

pub fn to_string_indented(v: &impl Serialize, indent: &[u8]) -> String {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(indent);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    v.serialize(&mut ser)
        .expect("serializing JSON to memory cannot fail");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order_through_a_round_trip() {
        let text = "{\n\t\"z\": 1,\n\t\"a\": [\n\t\t{\n\t\t\t\"y\": true,\n\t\t\t\"b\": null\n\t\t}\n\t],\n\t\"m\": {}\n}";
        let j: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(to_string_indented(&j, b"\t"), text);
    }
}
