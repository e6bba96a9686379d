//! [`Metadata`]: a value that can only hold a valid tier (R3.4, R4).

use crate::error::{JsonKind, MetadataError};
use crate::limits::Limits;
use crate::parse::{parse_object, Node, Refusal};
use crate::size::{dismantle, measure};
use crate::text::Text;
use serde::de::DeserializeSeed;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

/// One tier's value: a JSON object, no deeper than the depth limit, within the size limit.
///
/// Constructing one is validation, and its compact JSON size is measured once and kept, so
/// [`Metadata::size`] costs nothing. Its compact text is written once, the first time it is
/// asked for, and kept beside the object, so a store that writes a record again (another tier
/// changed, or the same value written twice) does not serialize this tier again. The object is
/// shared behind an `Arc` and never changed while shared, so cloning a tier (or a whole record)
/// is cheap whatever its size. The empty tier, which most records have in most tiers, holds no
/// allocation at all: cloning or dropping it touches no reference count.
///
/// ```
/// use metadata_core::{Metadata, MetadataError};
/// let m = Metadata::from_slice(br#"{ "role": "admin" }"#).unwrap();
/// assert_eq!(m.size(), r#"{"role":"admin"}"#.len());
/// assert!(matches!(Metadata::from_slice(b"[1]"), Err(MetadataError::NotAnObject { .. })));
/// ```
#[derive(Clone)]
pub struct Metadata {
    /// The object and its text; `None` is the empty tier, `{}`.
    inner: Option<Arc<Inner>>,
    size: usize,
}

/// The object and, once written, its compact text.
#[derive(Clone)]
struct Inner {
    map: Map<String, Value>,
    text: OnceLock<Text>,
}

/// What every empty tier reads: `{}`, with its text.
static EMPTY: std::sync::LazyLock<Inner> = std::sync::LazyLock::new(|| Inner {
    map: Map::new(),
    text: OnceLock::from(Text::write(&Map::new(), 2)),
});

impl PartialEq for Metadata {
    fn eq(&self, other: &Self) -> bool {
        match (&self.inner, &other.inner) {
            (Some(a), Some(b)) if Arc::ptr_eq(a, b) => true,
            (None, None) => true,
            _ => self.inner().map == other.inner().map,
        }
    }
}

impl Eq for Metadata {}

impl Default for Metadata {
    fn default() -> Self {
        Metadata::new()
    }
}

impl Metadata {
    /// The empty tier, `{}`.
    pub fn new() -> Self {
        Metadata {
            inner: None,
            size: 2,
        }
    }

    /// Parses a tier from JSON bytes under the default [`Limits`].
    pub fn from_slice(bytes: &[u8]) -> Result<Self, MetadataError> {
        Self::from_slice_with(bytes, &Limits::default())
    }

    /// Parses a tier from JSON bytes under `limits`. Input longer than
    /// [`Limits::max_input_bytes`] is refused before it is parsed.
    pub fn from_slice_with(bytes: &[u8], limits: &Limits) -> Result<Self, MetadataError> {
        Limits::check_input(bytes.len(), limits.max_input_bytes())?;
        let (map, size) = parse_object(bytes, limits.max_depth())?;
        Self::checked(map, size, limits)
    }

    /// Parses a tier from a JSON string under the default [`Limits`].
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(json: &str) -> Result<Self, MetadataError> {
        Self::from_slice(json.as_bytes())
    }

    /// Takes a tier from a JSON value under the default [`Limits`].
    pub fn from_value(value: Value) -> Result<Self, MetadataError> {
        Self::from_value_with(value, &Limits::default())
    }

    /// Takes a tier from a JSON value under `limits`. A refused value is taken apart without
    /// recursion, so even a 100,000-deep value cannot overflow the stack.
    pub fn from_value_with(value: Value, limits: &Limits) -> Result<Self, MetadataError> {
        match value {
            Value::Object(map) => Self::from_map_with(map, limits),
            other => {
                let found = JsonKind::of(&other);
                dismantle(other);
                Err(MetadataError::NotAnObject { found })
            }
        }
    }

    /// Takes a tier from a JSON object under `limits`.
    pub fn from_map_with(map: Map<String, Value>, limits: &Limits) -> Result<Self, MetadataError> {
        let value = Value::Object(map);
        match measure(&value, limits.max_depth()) {
            Ok(size) => match value {
                Value::Object(map) => Self::checked(map, size, limits),
                _ => unreachable!("the value was built as an object above"),
            },
            Err(_) => {
                dismantle(value);
                Err(MetadataError::TooDeep {
                    limit: limits.max_depth(),
                })
            }
        }
    }

    /// Builds a value whose size was measured by the caller.
    pub(crate) fn checked(
        map: Map<String, Value>,
        size: usize,
        limits: &Limits,
    ) -> Result<Self, MetadataError> {
        if size > limits.tier_bytes() {
            return Err(MetadataError::TooLarge {
                size,
                limit: limits.tier_bytes(),
            });
        }
        Ok(Metadata::trusted(map, size))
    }

    /// Builds a value that is known to be valid, with its measured size.
    pub(crate) fn trusted(map: Map<String, Value>, size: usize) -> Self {
        if map.is_empty() {
            return Metadata::new();
        }
        Metadata {
            inner: Some(Arc::new(Inner {
                map,
                text: OnceLock::new(),
            })),
            size,
        }
    }

    /// The object and its text.
    fn inner(&self) -> &Inner {
        self.inner.as_deref().unwrap_or(&EMPTY)
    }

    /// Changes the object in place with `f`, which returns the new compact size: the object
    /// is copied first only if another value shares it. The kept text is dropped, unless `f`
    /// was a merge of `patch`: then the text is rewritten where the patch touched it.
    pub(crate) fn change_in_place(
        &mut self,
        patch: Option<&Map<String, Value>>,
        f: impl FnOnce(&mut Map<String, Value>, usize) -> usize,
    ) {
        // A shared object is copied without its text, which is rewritten or dropped below.
        let owned = match self.inner.take() {
            // The only reference (no weak ones are ever made): no one else can share it now.
            Some(inner) if Arc::strong_count(&inner) == 1 => inner,
            shared => Arc::new(Inner {
                map: shared.map_or_else(Map::new, |inner| inner.map.clone()),
                text: OnceLock::new(),
            }),
        };
        // Unique, so this never copies.
        let inner = Arc::make_mut(self.inner.insert(owned));
        let old_text = inner.text.take();
        let places = match (&old_text, patch) {
            (Some(old), Some(patch)) => old.places(patch),
            _ => None,
        };
        self.size = f(&mut inner.map, self.size);
        if let (Some(old), Some(places), Some(patch)) = (old_text, places, patch) {
            if let Some(text) = old.after_merge(&places, &inner.map, patch, self.size) {
                let _ = inner.text.set(text);
            }
        }
    }

    /// The UTF-8 byte length of the compact JSON serialization (R4.1), kept from construction.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.inner().map
    }

    /// The value of one top-level key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.inner().map.get(key)
    }

    /// Follows a path of keys through nested objects.
    pub fn pointer<'a, I, S>(&self, path: I) -> Option<&Value>
    where
        I: IntoIterator<Item = &'a S>,
        S: AsRef<str> + ?Sized + 'a,
    {
        let mut path = path.into_iter();
        let first = path.next()?;
        let mut current = self.inner().map.get(first.as_ref())?;
        for key in path {
            current = current.as_object()?.get(key.as_ref())?;
        }
        Some(current)
    }

    /// Whether the tier is `{}`.
    pub fn is_empty(&self) -> bool {
        self.inner().map.is_empty()
    }

    /// The object, as a JSON value.
    pub fn into_value(self) -> Value {
        Value::Object(self.into_map())
    }

    /// The object, as an owned map.
    pub fn into_map(self) -> Map<String, Value> {
        match self.inner {
            None => Map::new(),
            Some(inner) => Arc::try_unwrap(inner)
                .map(|inner| inner.map)
                .unwrap_or_else(|shared| shared.map.clone()),
        }
    }

    /// A JSON value copy of the object.
    pub fn to_value(&self) -> Value {
        Value::Object(self.inner().map.clone())
    }

    /// The compact JSON text; its length is [`Metadata::size`].
    pub fn to_json(&self) -> String {
        self.json().to_owned()
    }

    /// The compact JSON text, written the first time it is asked for and kept; its length is
    /// [`Metadata::size`].
    ///
    /// ```
    /// use metadata_core::Metadata;
    /// let m = Metadata::from_str(r#"{ "b": [1, 2.5], "a": "\u00e9" }"#).unwrap();
    /// assert_eq!(m.json(), r#"{"a":"é","b":[1,2.5]}"#);
    /// assert_eq!(m.json().len(), m.size());
    /// ```
    pub fn json(&self) -> &str {
        let inner = self.inner();
        inner
            .text
            .get_or_init(|| Text::write(&inner.map, self.size))
            .as_str()
    }

    /// The top-level entries, in key order, each with where its compact text `"key":value`
    /// stands in [`Metadata::json`] (entries are separated by one `,`). Copying a run of
    /// entries from the text takes one copy.
    ///
    /// ```
    /// use metadata_core::Metadata;
    /// let m = Metadata::from_str(r#"{ "b": [1, 2.5], "a": "\u00e9" }"#).unwrap();
    /// let spans: Vec<&str> = m.entry_spans().map(|(_, _, at)| &m.json()[at]).collect();
    /// assert_eq!(spans, [r#""a":"é""#, r#""b":[1,2.5]"#]);
    /// ```
    pub fn entry_spans(&self) -> impl Iterator<Item = (&String, &Value, Range<usize>)> {
        let inner = self.inner();
        let text = inner
            .text
            .get_or_init(|| Text::write(&inner.map, self.size));
        inner
            .map
            .iter()
            .enumerate()
            .map(move |(i, (key, value))| (key, value, text.entry(i)))
    }

    /// Appends the compact JSON to `out`: exactly [`Metadata::size`] bytes.
    pub(crate) fn write_json(&self, out: &mut String) {
        out.push_str(self.json());
    }
}

impl TryFrom<Value> for Metadata {
    type Error = MetadataError;
    fn try_from(value: Value) -> Result<Self, Self::Error> {
        Metadata::from_value(value)
    }
}

impl From<Metadata> for Value {
    fn from(m: Metadata) -> Value {
        m.into_value()
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json())
    }
}

impl Serialize for Metadata {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.as_map().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Metadata {
    /// Deserializes a tier, checking that it is an object, no deeper than
    /// [`MAX_DEPTH_CEILING`](crate::MAX_DEPTH_CEILING), without duplicate keys, and measuring it.
    /// The size limit is not applied here, because a host may have configured a larger one
    /// (R4.2) for the records it stored; it applies to every write, in [`crate::apply_change`].
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let refusal = Refusal::default();
        let parsed = Node::top(crate::limits::MAX_DEPTH_CEILING, &refusal).deserialize(d);
        match parsed {
            Ok((Value::Object(map), size)) => Ok(Metadata::trusted(map, size)),
            Ok((other, _)) => Err(serde::de::Error::custom(MetadataError::NotAnObject {
                found: JsonKind::of(&other),
            })),
            Err(err) => Err(refusal.into_de_error(err)),
        }
    }
}

/// A JSON Merge Patch (RFC 7396) for one tier: an object whose `null` values delete keys (R3.2).
///
/// ```
/// use metadata_core::{Metadata, Patch};
/// let tier = Metadata::from_str(r#"{"a":{"b":1,"c":2},"d":3}"#).unwrap();
/// let patch = Patch::from_str(r#"{"a":{"b":null},"e":[1]}"#).unwrap();
/// let merged = patch.apply_to(&tier);
/// assert_eq!(merged.to_json(), r#"{"a":{"c":2},"d":3,"e":[1]}"#);
/// assert_eq!(merged.size(), merged.to_json().len());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Patch {
    map: Map<String, Value>,
}

impl Patch {
    /// Parses a patch from JSON bytes under the default [`Limits`].
    pub fn from_slice(bytes: &[u8]) -> Result<Self, MetadataError> {
        Self::from_slice_with(bytes, &Limits::default())
    }

    /// Parses a patch from JSON bytes: it must be an object, no deeper than the depth limit and no
    /// longer than [`Limits::max_input_bytes`]. Its own size is not limited (a patch may delete
    /// more than it adds); the merged result is.
    pub fn from_slice_with(bytes: &[u8], limits: &Limits) -> Result<Self, MetadataError> {
        Limits::check_input(bytes.len(), limits.max_input_bytes())?;
        let (map, _) = parse_object(bytes, limits.max_depth())?;
        Ok(Patch { map })
    }

    /// Parses a patch from a JSON string under the default [`Limits`].
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(json: &str) -> Result<Self, MetadataError> {
        Self::from_slice(json.as_bytes())
    }

    /// Takes a patch from a JSON value under the default [`Limits`].
    pub fn from_value(value: Value) -> Result<Self, MetadataError> {
        Self::from_value_with(value, &Limits::default())
    }

    /// Takes a patch from a JSON value under `limits`.
    pub fn from_value_with(value: Value, limits: &Limits) -> Result<Self, MetadataError> {
        match value {
            Value::Object(map) => {
                let value = Value::Object(map);
                match measure(&value, limits.max_depth()) {
                    Ok(size) if size > limits.max_input_bytes() => {
                        Err(MetadataError::InputTooLarge {
                            len: size,
                            limit: limits.max_input_bytes(),
                        })
                    }
                    Ok(_) => match value {
                        Value::Object(map) => Ok(Patch { map }),
                        _ => unreachable!("the value was built as an object above"),
                    },
                    Err(_) => {
                        dismantle(value);
                        Err(MetadataError::TooDeep {
                            limit: limits.max_depth(),
                        })
                    }
                }
            }
            other => {
                let found = JsonKind::of(&other);
                dismantle(other);
                Err(MetadataError::NotAnObject { found })
            }
        }
    }

    /// The patch object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.map
    }

    /// Merges this patch into `target` (RFC 7396), measuring the result as it goes. The result
    /// is not checked against a size limit here; [`crate::apply_change`] does that.
    pub fn apply_to(&self, target: &Metadata) -> Metadata {
        crate::merge::merge(target.clone(), self)
    }

    /// [`Patch::apply_to`] on a tier the caller gives up: when no other copy shares its
    /// object, the patch is merged in place and only what it touches is copied or measured.
    ///
    /// ```
    /// use metadata_core::{Metadata, Patch};
    /// let tier = Metadata::from_str(r#"{"a":1,"b":2}"#).unwrap();
    /// let merged = Patch::from_str(r#"{"b":null}"#).unwrap().apply_to_owned(tier);
    /// assert_eq!((merged.to_json().as_str(), merged.size()), (r#"{"a":1}"#, 7));
    /// ```
    pub fn apply_to_owned(&self, target: Metadata) -> Metadata {
        crate::merge::merge(target, self)
    }
}

impl fmt::Debug for Patch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Patch({})", Value::Object(self.map.clone()))
    }
}

impl Serialize for Patch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.map.serialize(s)
    }
}
