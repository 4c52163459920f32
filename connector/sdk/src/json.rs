//! The API's JSON ⇄ the WIT-generated Rust types, with no mirror structs.
//!
//! A connector asks wit-bindgen to derive `serde::Serialize` and `Deserialize` on
//! its generated records (`additional_derives`). Their field names are the WIT
//! names in snake_case, which is how most JSON APIs spell them. What derive alone
//! gets wrong, these two converters get right, for every type at once:
//!
//! | WIT / Rust | derive alone | here |
//! |---|---|---|
//! | `option<T>` that is `none` | `"field": null` | left out |
//! | `%type` (Rust `type_`) | `"type_"` | `"type"` |
//! | enum case `not-set` (Rust `NotSet`) | `"NotSet"` | `"not_set"` (sent); any spelling read |
//! | `list<T>` absent or `null` in an answer | error | empty list |
//!
//! Both go through [`serde_json::Value`], so the JSON parser and printer are
//! compiled once for all types rather than once per type: that keeps the
//! component small. Unknown fields in answers are ignored (APIs add fields).
//!
//! Because every field of a record is offered to serde, present or not, serde's
//! `#[serde(default)]` and `alias` are not needed and not seen; `rename` works.

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::ser::{self, Serialize};
use serde_json::{Error, Map, Value};

use crate::error::invalid_input;
use crate::types::ActivityError;

/// Serializes a WIT value (or any `Serialize`) to the API's JSON: `none` fields
/// left out, enum cases in snake_case, `type_` as `type`.
///
/// # Errors
///
/// `invalid-input` only for map keys that are not strings (WIT has no maps).
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, ActivityError> {
    value
        .serialize(Ser)
        .map_err(|e| invalid_input(format!("cannot encode the request: {e}")))
}

/// Reads a WIT value (or any `Deserialize`) from the API's JSON: absent or `null`
/// lists are empty, enum cases match in any spelling (`NOT_SET`, `not-set`), JSON
/// `type` fills `type_`; unknown fields are ignored.
///
/// # Errors
///
/// A required field that is absent, or a value of the wrong type.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, Error> {
    T::deserialize(De {
        value: Some(value),
        field: "value",
    })
}

/// The snake_case name of a WIT enum case (`NotSet` → `not_set`), as sent in JSON.
pub fn case_name<T: Serialize>(case: &T) -> String {
    match to_value(case) {
        Ok(Value::String(name)) => name,
        _ => String::new(),
    }
}

/// Lays `changes`' fields over `base` (both objects): fields in `changes` win,
/// fields only in `base` stay. Not recursive: a nested object is replaced whole.
pub fn merge(base: &mut Value, changes: Value) {
    if let (Value::Object(base), Value::Object(changes)) = (base, changes) {
        base.extend(changes);
    }
}

/// Sets `key` on the object `value` when it is absent or `null`: a default for
/// what an API sometimes leaves out.
pub fn fill(value: &mut Value, key: &str, default: impl Into<Value>) {
    if let Value::Object(map) = value {
        if map.get(key).is_none_or(Value::is_null) {
            map.insert(key.to_owned(), default.into());
        }
    }
}

/// Removes the fields at `paths` (`"campaign_id"`, `"physical_address_in_footer.state_name"`),
/// looking into every item of the lists on the way: what a read-modify-write does
/// with the read-only fields of what it read.
pub fn remove(value: &mut Value, paths: &[&str]) {
    for path in paths {
        remove_path(value, path);
    }
}

fn remove_path(value: &mut Value, path: &str) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(|item| remove_path(item, path)),
        Value::Object(map) => match path.split_once('.') {
            None if map.contains_key(path) => {
                // Rebuilt rather than `Map::remove`d: the B-tree's removal and
                // rebalancing code is a few kilobytes the component need not carry.
                for (key, value) in std::mem::take(map) {
                    if key != path {
                        map.insert(key, value);
                    }
                }
            }
            None => {}
            Some((head, rest)) => {
                if let Some(inner) = map.get_mut(head) {
                    remove_path(inner, rest);
                }
            }
        },
        _ => {}
    }
}

/// A Rust field name as JSON spells it: wit-bindgen writes WIT keywords with a
/// trailing underscore (`%type` → `type_`).
fn json_key(field: &'static str) -> &'static str {
    field.strip_suffix('_').unwrap_or(field)
}

/// `NotSet` → `not_set`, `ReplyTo` → `reply_to`, `Account` → `account`.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.char_indices() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Whether two case names are the same but for case, `_` and `-`.
fn same_case(a: &str, b: &str) -> bool {
    let letters = |s: &str| {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect::<String>()
    };
    letters(a) == letters(b)
}

// ---- Serializing -----------------------------------------------------------------

struct Ser;

/// A list or tuple being serialized.
struct SeqSer(Vec<Value>);

/// A record being serialized.
struct StructSer(Map<String, Value>);

/// A variant case with a payload: `{"case": payload}`.
struct VariantSer<S> {
    case: String,
    inner: S,
}

/// A map being serialized (WIT has none; kept for completeness).
struct MapSer {
    map: Map<String, Value>,
    key: Option<String>,
}

macro_rules! scalar {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method(self, v: $ty) -> Result<Value, Error> { Ok(Value::from(v)) })*
    };
}

impl ser::Serializer for Ser {
    type Ok = Value;
    type Error = Error;
    type SerializeSeq = SeqSer;
    type SerializeTuple = SeqSer;
    type SerializeTupleStruct = SeqSer;
    type SerializeTupleVariant = VariantSer<SeqSer>;
    type SerializeMap = MapSer;
    type SerializeStruct = StructSer;
    type SerializeStructVariant = VariantSer<StructSer>;

    scalar!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_str(&str),
    );

    fn serialize_char(self, v: char) -> Result<Value, Error> {
        Ok(Value::String(v.into()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, Error> {
        Ok(Value::Array(v.iter().map(|b| Value::from(*b)).collect()))
    }
    fn serialize_none(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Value, Error> {
        v.serialize(Ser)
    }
    fn serialize_unit(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(self, _: &str, _: u32, case: &str) -> Result<Value, Error> {
        Ok(Value::String(snake_case(case)))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &str,
        v: &T,
    ) -> Result<Value, Error> {
        v.serialize(Ser)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &str,
        _: u32,
        case: &str,
        v: &T,
    ) -> Result<Value, Error> {
        let mut map = Map::new();
        map.insert(snake_case(case), v.serialize(Ser)?);
        Ok(Value::Object(map))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqSer, Error> {
        Ok(SeqSer(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqSer, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &str, len: usize) -> Result<SeqSer, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &str,
        _: u32,
        case: &str,
        len: usize,
    ) -> Result<VariantSer<SeqSer>, Error> {
        Ok(VariantSer {
            case: snake_case(case),
            inner: SeqSer(Vec::with_capacity(len)),
        })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapSer, Error> {
        Ok(MapSer {
            map: Map::new(),
            key: None,
        })
    }
    fn serialize_struct(self, _: &str, _: usize) -> Result<StructSer, Error> {
        Ok(StructSer(Map::new()))
    }
    fn serialize_struct_variant(
        self,
        _: &str,
        _: u32,
        case: &str,
        _: usize,
    ) -> Result<VariantSer<StructSer>, Error> {
        Ok(VariantSer {
            case: snake_case(case),
            inner: StructSer(Map::new()),
        })
    }
}

impl SeqSer {
    fn push<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.0.push(v.serialize(Ser)?);
        Ok(())
    }
}

impl ser::SerializeSeq for SeqSer {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.push(v)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(Value::Array(self.0))
    }
}

impl ser::SerializeTuple for SeqSer {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.push(v)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(Value::Array(self.0))
    }
}

impl ser::SerializeTupleStruct for SeqSer {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.push(v)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(Value::Array(self.0))
    }
}

impl ser::SerializeTupleVariant for VariantSer<SeqSer> {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.inner.push(v)
    }
    fn end(self) -> Result<Value, Error> {
        let mut map = Map::new();
        map.insert(self.case, Value::Array(self.inner.0));
        Ok(Value::Object(map))
    }
}

impl ser::SerializeStruct for StructSer {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        // `none` is not sent at all: `null` would mean "clear it" to many APIs.
        let value = v.serialize(Ser)?;
        if !value.is_null() {
            self.0.insert(json_key(key).to_owned(), value);
        }
        Ok(())
    }
    fn end(self) -> Result<Value, Error> {
        Ok(Value::Object(self.0))
    }
}

impl ser::SerializeStructVariant for VariantSer<StructSer> {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(&mut self.inner, key, v)
    }
    fn end(self) -> Result<Value, Error> {
        let mut map = Map::new();
        map.insert(self.case, Value::Object(self.inner.0));
        Ok(Value::Object(map))
    }
}

impl ser::SerializeMap for MapSer {
    type Ok = Value;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        match key.serialize(Ser)? {
            Value::String(key) => self.key = Some(key),
            _ => return Err(ser::Error::custom("map keys must be strings")),
        }
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        let key = self.key.take().unwrap_or_default();
        self.map.insert(key, v.serialize(Ser)?);
        Ok(())
    }
    fn end(self) -> Result<Value, Error> {
        Ok(Value::Object(self.map))
    }
}

// ---- Deserializing ---------------------------------------------------------------

/// A value being read; `None` when its field was absent. `field` names it in errors.
struct De {
    value: Option<Value>,
    field: &'static str,
}

impl De {
    /// The value, or "missing field" when it is absent or `null`.
    fn present(self) -> Result<Value, Error> {
        match self.value {
            None | Some(Value::Null) => Err(de::Error::missing_field(self.field)),
            Some(value) => Ok(value),
        }
    }
}

macro_rules! forward {
    ($($method:ident),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            de::Deserializer::$method(self.present()?, visitor)
        })*
    };
}

impl<'de> de::Deserializer<'de> for De {
    type Error = Error;

    forward!(
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_identifier,
        deserialize_map,
    );

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            None => visitor.visit_unit(),
            Some(value) => de::Deserializer::deserialize_any(value, visitor),
        }
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            None | Some(Value::Null) => visitor.visit_none(),
            value => visitor.visit_some(De { value, ..self }),
        }
    }
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let field = self.field;
        match self.value {
            // An API that leaves an empty list out, or sends `null`, means "none".
            None | Some(Value::Null) => visitor.visit_seq(SeqDe(Vec::new().into_iter(), field)),
            Some(Value::Array(items)) => visitor.visit_seq(SeqDe(items.into_iter(), field)),
            Some(other) => Err(de::Error::invalid_type(unexpected(&other), &visitor)),
        }
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.present()? {
            Value::Object(map) => visitor.visit_map(StructDe {
                fields: fields.iter(),
                entries: map.into_iter().collect(),
                next: None,
            }),
            other => Err(de::Error::invalid_type(unexpected(&other), &visitor)),
        }
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        cases: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let field = self.field;
        let (name, payload) = match self.present()? {
            Value::String(name) => (name, None),
            Value::Object(map) if map.len() == 1 => {
                let (name, payload) = map.into_iter().next().expect("one entry");
                (name, Some(payload))
            }
            other => return Err(de::Error::invalid_type(unexpected(&other), &visitor)),
        };
        let case = cases
            .iter()
            .find(|case| same_case(case, &name))
            .ok_or_else(|| de::Error::unknown_variant(&name, cases))?;
        visitor.visit_enum(EnumDe {
            case,
            payload: De {
                value: payload,
                field,
            },
        })
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

fn unexpected(value: &Value) -> de::Unexpected<'_> {
    match value {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(_) => de::Unexpected::Other("a number"),
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

/// The items of a list.
struct SeqDe(std::vec::IntoIter<Value>, &'static str);

impl<'de> de::SeqAccess<'de> for SeqDe {
    type Error = Error;
    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0
            .next()
            .map(|value| {
                seed.deserialize(De {
                    value: Some(value),
                    field: self.1,
                })
            })
            .transpose()
    }
}

/// A record's fields, in the record's order, each present or absent: serde sees
/// every field it asked for, so absent lists and options get their defaults here.
struct StructDe {
    fields: std::slice::Iter<'static, &'static str>,
    /// The object's entries; a `Vec` so taking one out needs no B-tree removal code.
    entries: Vec<(String, Value)>,
    next: Option<De>,
}

impl<'de> de::MapAccess<'de> for StructDe {
    type Error = Error;
    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(field) = self.fields.next() else {
            return Ok(None);
        };
        let key = json_key(field);
        let found = self.entries.iter().position(|(k, _)| k == key);
        self.next = Some(De {
            value: found.map(|i| self.entries.swap_remove(i).1),
            field,
        });
        seed.deserialize((*field).into_deserializer()).map(Some)
    }
    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let value = self.next.take().ok_or_else(|| {
            <Error as de::Error>::custom("a record value was asked for before its key")
        })?;
        seed.deserialize(value)
    }
}

/// An enum case, or a variant case with its payload.
struct EnumDe {
    case: &'static str,
    payload: De,
}

impl<'de> de::EnumAccess<'de> for EnumDe {
    type Error = Error;
    type Variant = De;
    fn variant_seed<V: de::DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, De), Error> {
        let case = seed.deserialize(self.case.into_deserializer())?;
        Ok((case, self.payload))
    }
}

impl<'de> de::VariantAccess<'de> for De {
    type Error = Error;
    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }
    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self)
    }
    fn tuple_variant<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_seq(self, visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_struct(self, "", fields, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    // Shaped like wit-bindgen's output: keyword fields end in `_`, cases are CamelCase.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Permission {
        Implicit,
        NotSet,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Filter {
        RoleCode(Permission),
        EmailAddress(String),
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Inner {
        address: String,
        count: Option<u8>,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Record {
        name: String,
        type_: Option<String>,
        permission: Option<Permission>,
        tags: Vec<String>,
        inner: Option<Inner>,
        filter: Option<Filter>,
        pair: Option<(String, u32)>,
    }

    fn record() -> Record {
        Record {
            name: "n".into(),
            type_: Some("string".into()),
            permission: Some(Permission::NotSet),
            tags: vec!["a".into()],
            inner: Some(Inner {
                address: "x@example.com".into(),
                count: None,
            }),
            filter: Some(Filter::RoleCode(Permission::Implicit)),
            pair: Some(("p".into(), 2)),
        }
    }

    #[test]
    fn none_is_left_out_keywords_lose_their_underscore_and_cases_are_snake_case() {
        let value = to_value(&record()).unwrap();
        assert_eq!(
            value,
            json!({"name": "n", "type": "string", "permission": "not_set", "tags": ["a"],
                   "inner": {"address": "x@example.com"}, "filter": {"role_code": "implicit"},
                   "pair": ["p", 2]})
        );
        assert_eq!(from_value::<Record>(value).unwrap(), record());
    }

    #[test]
    fn absent_lists_are_empty_and_unknown_fields_are_ignored() {
        let read: Record =
            from_value(json!({"name": "n", "tags": null, "added_later": 1})).unwrap();
        assert_eq!(read.tags, Vec::<String>::new());
        assert_eq!((read.type_, read.inner), (None, None));
        let read: Record = from_value(json!({"name": "n"})).unwrap();
        assert!(read.tags.is_empty());
    }

    #[test]
    fn enum_cases_are_read_in_any_spelling() {
        for spelling in ["not_set", "NOT_SET", "not-set", "NotSet"] {
            let read: Record = from_value(json!({"name": "n", "permission": spelling})).unwrap();
            assert_eq!(read.permission, Some(Permission::NotSet), "{spelling}");
        }
        let error = from_value::<Record>(json!({"name": "n", "permission": "maybe"})).unwrap_err();
        assert!(
            error.to_string().contains("unknown variant `maybe`"),
            "{error}"
        );
    }

    #[test]
    fn missing_required_fields_and_wrong_types_are_errors() {
        let error = from_value::<Record>(json!({"tags": []})).unwrap_err();
        assert!(
            error.to_string().contains("missing field `name`"),
            "{error}"
        );
        let error = from_value::<Record>(json!({"name": 5})).unwrap_err();
        assert!(error.to_string().contains("invalid type"), "{error}");
        let error = from_value::<Inner>(json!({"address": "a", "count": 300})).unwrap_err();
        assert!(error.to_string().contains("300"), "{error}");
    }

    #[test]
    fn case_names_merge_fill_and_remove() {
        assert_eq!(case_name(&Permission::NotSet), "not_set");
        let mut base = json!({"a": 1, "b": {"c": 2, "d": 3}, "l": [{"x": 1, "y": 2}]});
        merge(&mut base, json!({"a": 5, "e": 6}));
        fill(&mut base, "e", 7);
        fill(&mut base, "f", 8);
        remove(&mut base, &["b.c", "l.x", "missing.path"]);
        assert_eq!(
            base,
            json!({"a": 5, "b": {"d": 3}, "e": 6, "f": 8, "l": [{"y": 2}]})
        );
    }
}
