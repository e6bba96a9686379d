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
    /// `T` knows but no longer writes is removed, and every key `T` does not know is kept as it
    /// was, at any depth, inside arrays too, so a typed round trip never drops data another
    /// writer stored (R11.1). Array elements are matched by position: an unknown key of the
    /// old element `i` is kept in the written element `i`, if that element is an object without
    /// the key.
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
        let mut unknown: Vec<Vec<Step>> = Vec::new();
        let _: Result<T, _> = serde_ignored::deserialize(self.as_map(), |path| {
            if let Some(steps) = steps(&path) {
                unknown.push(steps);
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
        let old = self.as_map();
        for steps in unknown {
            if let Some(value) = find(old, &steps) {
                insert_if_absent(&mut written, &steps, value);
            }
        }
        Metadata::from_map_with(written, limits)
    }
}

/// One step of a path into a tier: an object key or an array position.
#[derive(Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// The steps of an ignored path, outermost first, or `None` for the root.
fn steps(path: &serde_ignored::Path<'_>) -> Option<Vec<Step>> {
    use serde_ignored::Path;
    let mut steps = Vec::new();
    let mut current = path;
    loop {
        match current {
            Path::Root => break,
            Path::Map { parent, key } => {
                steps.push(Step::Key(key.clone()));
                current = parent;
            }
            Path::Seq { parent, index } => {
                steps.push(Step::Index(*index));
                current = parent;
            }
            Path::Some { parent }
            | Path::NewtypeStruct { parent }
            | Path::NewtypeVariant { parent } => {
                current = parent;
            }
        }
    }
    steps.reverse();
    // An ignored path ends at the key that was ignored; a path ending at a position names an
    // element as a whole, which the type did read.
    matches!(steps.last(), Some(Step::Key(_))).then_some(steps)
}

/// The value at `steps` in `map`.
fn find<'a>(map: &'a Map<String, Value>, steps: &[Step]) -> Option<&'a Value> {
    let (first, rest) = steps.split_first()?;
    let Step::Key(first) = first else { return None };
    let mut current = map.get(first)?;
    for step in rest {
        current = match (step, current) {
            (Step::Key(k), Value::Object(o)) => o.get(k)?,
            (Step::Index(i), Value::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Puts `value` at `steps` in `map` if every parent is there with the same shape (an object
/// for a key, an array long enough for a position) and the last key is not.
fn insert_if_absent(map: &mut Map<String, Value>, steps: &[Step], value: &Value) {
    let Some((Step::Key(last), parents)) = steps.split_last() else {
        return;
    };
    let mut current = map;
    let mut parents = parents.iter().peekable();
    while let Some(step) = parents.next() {
        let Step::Key(key) = step else { return };
        let mut child = current.get_mut(key);
        // Positions lead through arrays until the next object.
        while let Some(Step::Index(i)) = parents.peek() {
            child = match child {
                Some(Value::Array(items)) => items.get_mut(*i),
                _ => return,
            };
            parents.next();
        }
        match child {
            Some(Value::Object(object)) => current = object,
            _ => return,
        }
    }
    if !current.contains_key(last) {
        current.insert(last.clone(), value.clone());
    }
}
