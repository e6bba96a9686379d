//! Typed metadata (R11.1): read a tier as a host's own serde type, and write it back without
//! dropping keys the type does not know.

use crate::error::{JsonKind, MetadataError};
use crate::limits::Limits;
use crate::metadata::Metadata;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

impl Metadata {
    /// Reads the tier as `T`.
    ///
    /// ```
    /// #[derive(serde::Deserialize)]
    /// struct Billing { plan: String }
    /// let m = metadata_core::Metadata::from_str(r#"{"plan":"pro","seats":3}"#).unwrap();
    /// assert_eq!(m.to_typed::<Billing>().unwrap().plan, "pro");
    /// ```
    pub fn to_typed<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(self.as_map())
    }

    /// The tier with `value` written over it: every key `T` writes replaces the old one, a key
    /// `T` knows but no longer writes is removed, and every key `T` does not know (at any depth
    /// reached through objects) is kept as it was, so a typed round trip never drops data
    /// another writer stored (R11.1).
    ///
    /// ```
    /// use metadata_core::{Limits, Metadata};
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Billing { plan: String }
    /// let m = Metadata::from_str(r#"{"plan":"pro","seats":3}"#).unwrap();
    /// let mut billing: Billing = m.to_typed().unwrap();
    /// billing.plan = "team".into();
    /// let written = m.with_typed(&billing, &Limits::default()).unwrap();
    /// assert_eq!(written.to_json(), r#"{"plan":"team","seats":3}"#);
    /// ```
    pub fn with_typed<T: Serialize + DeserializeOwned>(
        &self,
        value: &T,
        limits: &Limits,
    ) -> Result<Metadata, MetadataError> {
        let mut unknown: Vec<Vec<String>> = Vec::new();
        let _: Result<T, _> = serde_ignored::deserialize(self.as_map(), |path| {
            if let Some(keys) = map_keys(&path) {
                unknown.push(keys);
            }
        });
        let written =
            serde_json::to_value(value).map_err(|source| MetadataError::InvalidJson { source })?;
        let mut written = match written {
            Value::Object(map) => map,
            other => {
                return Err(MetadataError::NotAnObject {
                    found: JsonKind::of(&other),
                })
            }
        };
        for keys in unknown {
            if let Some(old) = self.pointer(&keys) {
                insert_if_absent(&mut written, &keys, old);
            }
        }
        Metadata::from_map_with(written, limits)
    }
}

/// The chain of object keys of an ignored path, or `None` if it passes through an array.
fn map_keys(path: &serde_ignored::Path<'_>) -> Option<Vec<String>> {
    use serde_ignored::Path;
    let mut keys = Vec::new();
    let mut current = path;
    loop {
        match current {
            Path::Root => break,
            Path::Map { parent, key } => {
                keys.push(key.clone());
                current = parent;
            }
            Path::Some { parent }
            | Path::NewtypeStruct { parent }
            | Path::NewtypeVariant { parent } => {
                current = parent;
            }
            Path::Seq { .. } => return None,
        }
    }
    keys.reverse();
    (!keys.is_empty()).then_some(keys)
}

/// Puts `value` at `keys` in `map` if every parent object is there and the key is not.
fn insert_if_absent(map: &mut Map<String, Value>, keys: &[String], value: &Value) {
    let Some((last, parents)) = keys.split_last() else {
        return;
    };
    let mut current = map;
    for key in parents {
        match current.get_mut(key) {
            Some(Value::Object(child)) => current = child,
            _ => return,
        }
    }
    if !current.contains_key(last) {
        current.insert(last.clone(), value.clone());
    }
}
