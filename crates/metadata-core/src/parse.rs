//! One-pass parsing of a tier: builds the value, measures its compact size, checks depth and
//! refuses duplicate keys, all while the parser walks the bytes (R3.4, R4).

use crate::error::{JsonKind, MetadataError};
use crate::size::{container_len, number_len, string_len};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::cell::Cell;
use std::fmt;

/// Why the parse stopped, when the reason is ours and not the parser's.
#[derive(Default)]
pub(crate) struct Refusal(Cell<Option<Reason>>);

#[derive(Clone, Debug)]
pub(crate) enum Reason {
    NotAnObject(JsonKind),
    TooDeep(usize),
    DuplicateKey(String),
}

impl Refusal {
    fn refuse<E: de::Error>(&self, reason: Reason) -> E {
        let msg = match &reason {
            Reason::NotAnObject(_) => "not an object",
            Reason::TooDeep(_) => "too deep",
            Reason::DuplicateKey(_) => "duplicate key",
        };
        self.0.set(Some(reason));
        E::custom(msg)
    }

    /// Turns a deserializer's error into ours, preferring the recorded reason.
    pub(crate) fn into_error(self, err: serde_json::Error) -> MetadataError {
        match self.0.into_inner() {
            Some(Reason::NotAnObject(found)) => MetadataError::NotAnObject { found },
            Some(Reason::TooDeep(limit)) => MetadataError::TooDeep { limit },
            Some(Reason::DuplicateKey(key)) => MetadataError::DuplicateKey { key },
            None => MetadataError::InvalidJson { source: err },
        }
    }

    /// Like [`Refusal::into_error`] for any deserializer's error.
    pub(crate) fn into_de_error<E: de::Error>(self, err: E) -> E {
        match self.0.into_inner() {
            Some(Reason::NotAnObject(found)) => E::custom(MetadataError::NotAnObject { found }),
            Some(Reason::TooDeep(limit)) => E::custom(MetadataError::TooDeep { limit }),
            Some(Reason::DuplicateKey(key)) => E::custom(MetadataError::DuplicateKey { key }),
            None => err,
        }
    }
}

/// A seed that deserializes one JSON value, returning it with its compact size.
#[derive(Clone, Copy)]
pub(crate) struct Node<'a> {
    /// The depth a container here would have (the tier object is 1).
    pub(crate) depth: usize,
    pub(crate) max_depth: usize,
    /// Whether this is the tier itself, which must be an object.
    pub(crate) top: bool,
    pub(crate) refusal: &'a Refusal,
}

impl<'a> Node<'a> {
    pub(crate) fn top(max_depth: usize, refusal: &'a Refusal) -> Self {
        Node {
            depth: 1,
            max_depth,
            top: true,
            refusal,
        }
    }

    fn child(self) -> Self {
        Node {
            depth: self.depth + 1,
            top: false,
            ..self
        }
    }

    fn scalar<E: de::Error>(
        self,
        kind: JsonKind,
        value: Value,
        size: usize,
    ) -> Result<(Value, usize), E> {
        if self.top {
            return Err(self.refusal.refuse(Reason::NotAnObject(kind)));
        }
        Ok((value, size))
    }

    fn enter<E: de::Error>(self, kind: JsonKind) -> Result<(), E> {
        if self.top && kind != JsonKind::Object {
            return Err(self.refusal.refuse(Reason::NotAnObject(kind)));
        }
        if self.depth > self.max_depth {
            return Err(self.refusal.refuse(Reason::TooDeep(self.max_depth)));
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = (Value, usize);

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = (Value, usize);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        self.scalar(JsonKind::Bool, Value::Bool(v), if v { 4 } else { 5 })
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        let n = Number::from(v);
        let len = number_len(&n);
        self.scalar(JsonKind::Number, Value::Number(n), len)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        let n = Number::from(v);
        let len = number_len(&n);
        self.scalar(JsonKind::Number, Value::Number(n), len)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        match Number::from_f64(v) {
            Some(n) => {
                let len = number_len(&n);
                self.scalar(JsonKind::Number, Value::Number(n), len)
            }
            None => Err(E::custom(MetadataError::NonFiniteNumber)),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.visit_string(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        let len = string_len(&v);
        self.scalar(JsonKind::String, Value::String(v), len)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.scalar(JsonKind::Null, Value::Null, 4)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        self.enter(JsonKind::Array)?;
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        let mut sum = 0;
        while let Some((item, size)) = seq.next_element_seed(self.child())? {
            sum += size;
            items.push(item);
        }
        let size = container_len(sum, items.len());
        Ok((Value::Array(items), size))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        self.enter(JsonKind::Object)?;
        let mut map = Map::new();
        let mut sum = 0;
        while let Some(key) = access.next_key::<String>()? {
            let key_len = string_len(&key);
            match map.entry(key) {
                serde_json::map::Entry::Occupied(taken) => {
                    return Err(self
                        .refusal
                        .refuse(Reason::DuplicateKey(taken.key().clone())));
                }
                serde_json::map::Entry::Vacant(slot) => {
                    let (value, size) = access.next_value_seed(self.child())?;
                    sum += key_len + 1 + size;
                    slot.insert(value);
                }
            }
        }
        let size = container_len(sum, map.len());
        Ok((Value::Object(map), size))
    }
}

/// Parses a tier object from bytes: `(object, compact size)`.
pub(crate) fn parse_object(
    bytes: &[u8],
    max_depth: usize,
) -> Result<(Map<String, Value>, usize), MetadataError> {
    let refusal = Refusal::default();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = Node::top(max_depth, &refusal)
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
    match parsed {
        Ok((Value::Object(map), size)) => Ok((map, size)),
        Ok((other, _)) => Err(MetadataError::NotAnObject {
            found: JsonKind::of(&other),
        }),
        Err(err) => Err(refusal.into_error(err)),
    }
}
