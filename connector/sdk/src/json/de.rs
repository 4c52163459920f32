//! The API's JSON → WIT value: a `serde::Deserializer` over a [`Value`] that
//! offers every field of a record, present or not, and matches enum cases in any
//! spelling.

use serde::de::{self, IntoDeserializer, Visitor};
use serde_json::{Error, Value};

use super::{json_key, same_case};

/// A value being read; `None` when its field was absent. `field` names it in errors.
pub(super) struct De {
    pub(super) value: Option<Value>,
    pub(super) field: &'static str,
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
pub(super) struct SeqDe(std::vec::IntoIter<Value>, &'static str);

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
pub(super) struct StructDe {
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
pub(super) struct EnumDe {
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
