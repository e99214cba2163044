//! JSON whose objects keep their keys in document order, for output that must match runc's
//! key for key and in order (`spec`, `features`): serde_json's own map sorts its keys.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Object(Vec<(String, Json)>),
    Array(Vec<Json>),
    /// A scalar, or a value whose own key order does not matter.
    Leaf(Value),
}

impl Json {
    /// An object from (key, value) pairs, in that order.
    pub fn object<const N: usize>(pairs: [(&str, Json); N]) -> Json {
        Json::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        match self {
            Json::Object(kv) => kv.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn remove(&mut self, key: &str) {
        if let Json::Object(kv) = self {
            kv.retain(|(k, _)| k != key);
        }
    }

    /// Sets `key` to `value`: in place when present, else inserted at `index` (clamped to
    /// the end).
    pub fn insert(&mut self, index: usize, key: &str, value: Json) {
        if let Some(v) = self.get_mut(key) {
            *v = value;
        } else if let Json::Object(kv) = self {
            kv.insert(index.min(kv.len()), (key.to_string(), value));
        }
    }

    /// The position of `key` in an object.
    pub fn position(&self, key: &str) -> Option<usize> {
        match self {
            Json::Object(kv) => kv.iter().position(|(k, _)| k == key),
            _ => None,
        }
    }

    /// Pretty-printed with `indent` per level (runc: Go's MarshalIndent), no final newline.
    pub fn to_string_indented(&self, indent: &[u8]) -> String {
        let mut out = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(indent);
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        self.serialize(&mut ser)
            .expect("serializing JSON to memory cannot fail");
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }
}

impl From<Value> for Json {
    fn from(v: Value) -> Json {
        Json::Leaf(v)
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Object(kv) => {
                let mut m = s.serialize_map(Some(kv.len()))?;
                for (k, v) in kv {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
            Json::Array(items) => {
                let mut q = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    q.serialize_element(v)?;
                }
                q.end()
            }
            Json::Leaf(v) => v.serialize(s),
        }
    }
}

/// Reads JSON text keeping every object's key order.
impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
                Ok(Json::Leaf(b.into()))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
                Ok(Json::Leaf(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
                Ok(Json::Leaf(n.into()))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Json, E> {
                Ok(Json::Leaf(n.into()))
            }
            fn visit_str<E>(self, s: &str) -> Result<Json, E> {
                Ok(Json::Leaf(s.into()))
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Leaf(Value::Null))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Json, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = a.next_element()? {
                    v.push(x);
                }
                Ok(Json::Array(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Json, A::Error> {
                let mut v = Vec::new();
                while let Some((k, x)) = a.next_entry::<String, Json>()? {
                    v.push((k, x));
                }
                Ok(Json::Object(v))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order_through_a_round_trip() {
        let text = "{\n\t\"z\": 1,\n\t\"a\": [\n\t\t{\n\t\t\t\"y\": true,\n\t\t\t\"b\": null\n\t\t}\n\t],\n\t\"m\": {}\n}";
        let j: Json = serde_json::from_str(text).unwrap();
        assert_eq!(j.to_string_indented(b"\t"), text);
    }

    #[test]
    fn edits_in_place_or_at_a_position() {
        let mut j = Json::object([("a", Value::from(1).into()), ("c", Value::from(3).into())]);
        j.insert(1, "b", Value::from(2).into());
        j.insert(0, "c", Value::from(4).into());
        j.remove("a");
        assert_eq!(serde_json::to_string(&j).unwrap(), r#"{"b":2,"c":4}"#);
        assert_eq!(j.position("c"), Some(1));
    }
}
