//! The capture deserializer: a serde `Deserializer` over a route's decoded
//! path captures, so [`Path<T>`](super::Path) can fill one value, a tuple
//! (captures in path order) or a struct (captures by name).
//!
//! Scalars parse with `FromStr`, and every error names the capture it is
//! about; turning the error into a 400 is the caller's business.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, IntoDeserializer, Visitor};

type DeError = de::value::Error;

/// Deserializes the captures as a map (struct), a sequence (tuple) or,
/// when there is exactly one, a single value.
pub(super) struct CapturesDeserializer<'a> {
    captures: &'a [(&'a str, Cow<'a, str>)],
}

impl<'a> CapturesDeserializer<'a> {
    /// A deserializer over the decoded captures, as `(name, value)` in path
    /// order.
    pub(super) fn new(captures: &'a [(&'a str, Cow<'a, str>)]) -> CapturesDeserializer<'a> {
        CapturesDeserializer { captures }
    }

    fn single(&self) -> Result<CaptureDeserializer<'a>, DeError> {
        match self.captures {
            [(name, value)] => Ok(CaptureDeserializer { name, value }),
            captures => Err(de::Error::custom(format!(
                "the route has {} path captures; take them as a tuple or a struct",
                captures.len()
            ))),
        }
    }
}

macro_rules! forward_to_single {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            self.single()?.$method(visitor)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for CapturesDeserializer<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_map(CapturesAccess {
            captures: self.captures.iter(),
            value: None,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_seq(CapturesAccess {
            captures: self.captures.iter(),
            value: None,
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        if len != self.captures.len() {
            return Err(de::Error::custom(format!(
                "the route has {} path captures but the handler takes a tuple of {len}",
                self.captures.len()
            )));
        }
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.single()?.deserialize_enum(name, variants, visitor)
    }

    forward_to_single! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char deserialize_str
        deserialize_string deserialize_bytes deserialize_byte_buf deserialize_option
        deserialize_unit deserialize_identifier deserialize_ignored_any
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

/// Walks the captures as map entries or sequence elements.
struct CapturesAccess<'a> {
    captures: std::slice::Iter<'a, (&'a str, Cow<'a, str>)>,
    value: Option<CaptureDeserializer<'a>>,
}

impl<'de> de::MapAccess<'de> for CapturesAccess<'_> {
    type Error = DeError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.captures.next() {
            Some((name, value)) => {
                self.value = Some(CaptureDeserializer { name, value });
                seed.deserialize(IntoDeserializer::<DeError>::into_deserializer(*name))
                    .map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DeError> {
        match self.value.take() {
            Some(value) => seed.deserialize(value),
            None => Err(de::Error::custom(
                "a path capture value was read before its name",
            )),
        }
    }
}

impl<'de> de::SeqAccess<'de> for CapturesAccess<'_> {
    type Error = DeError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.captures.next() {
            Some((name, value)) => seed
                .deserialize(CaptureDeserializer { name, value })
                .map(Some),
            None => Ok(None),
        }
    }
}

/// One decoded capture: scalars parse with `FromStr`, and every error names
/// the capture.
struct CaptureDeserializer<'a> {
    name: &'a str,
    value: &'a str,
}

impl CaptureDeserializer<'_> {
    fn annotate(&self, error: impl fmt::Display) -> DeError {
        de::Error::custom(format!("path parameter `{}`: {error}", self.name))
    }
}

macro_rules! parse_capture {
    ($($method:ident => $visit:ident($ty:ty),)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            match self.value.parse::<$ty>() {
                Ok(parsed) => visitor.$visit::<DeError>(parsed).map_err(|e| self.annotate(e)),
                Err(_) => Err(de::Error::custom(format_args!(
                    concat!("path parameter `{}` is not a valid ", stringify!($ty)),
                    self.name
                ))),
            }
        }
    )*};
}

impl<'a, 'de> CaptureDeserializer<'a> {
    fn visit_text<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor
            .visit_str::<DeError>(self.value)
            .map_err(|e| self.annotate(e))
    }
}

impl<'de> de::Deserializer<'de> for CaptureDeserializer<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.visit_text(visitor)
    }

    parse_capture! {
        deserialize_bool => visit_bool(bool),
        deserialize_i8 => visit_i8(i8),
        deserialize_i16 => visit_i16(i16),
        deserialize_i32 => visit_i32(i32),
        deserialize_i64 => visit_i64(i64),
        deserialize_i128 => visit_i128(i128),
        deserialize_u8 => visit_u8(u8),
        deserialize_u16 => visit_u16(u16),
        deserialize_u32 => visit_u32(u32),
        deserialize_u64 => visit_u64(u64),
        deserialize_u128 => visit_u128(u128),
        deserialize_f32 => visit_f32(f32),
        deserialize_f64 => visit_f64(f64),
        deserialize_char => visit_char(char),
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.visit_text(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.visit_text(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.visit_text(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor
            .visit_bytes::<DeError>(self.value.as_bytes())
            .map_err(|e| self.annotate(e))
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, DeError> {
        Err(self.annotate("one path segment cannot fill a sequence"))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, DeError> {
        Err(self.annotate("one path segment cannot fill a map"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor
            .visit_enum(IntoDeserializer::<DeError>::into_deserializer(self.value))
            .map_err(|e| self.annotate(e))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}
