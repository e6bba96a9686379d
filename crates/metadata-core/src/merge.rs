//! JSON Merge Patch (RFC 7396) on a tier, measuring the result as it merges (R3.2).

use crate::metadata::{Metadata, Patch};
use crate::size::{container_len, measure_shallow, string_len};
use serde_json::{Map, Value};

/// The compact size of an object known to be within the depth limit.
fn map_len(map: &Map<String, Value>) -> usize {
    let sum: usize = map
        .iter()
        .map(|(k, v)| string_len(k) + 1 + measure_shallow(v))
        .sum();
    container_len(sum, map.len())
}

/// Merges `patch` into `target`, in place unless another value shares its object (then into a
/// copy). Only the parts the patch touches are measured again.
pub(crate) fn merge(mut target: Metadata, patch: &Patch) -> Metadata {
    target.change_in_place(Some(patch.as_map()), |map, size| {
        merge_into(map, size, patch.as_map())
    });
    target
}

/// Merges `patch` into `map`, whose compact size is `size`, and returns the new size.
fn merge_into(map: &mut Map<String, Value>, size: usize, patch: &Map<String, Value>) -> usize {
    let mut count = map.len();
    // The entries' sizes without the braces and commas.
    let mut sum = size - 2 - count.saturating_sub(1);
    for (key, patch_value) in patch {
        let key_len = string_len(key) + 1;
        match patch_value {
            Value::Null => {
                if let Some(old) = map.remove(key) {
                    sum -= key_len + measure_shallow(&old);
                    count -= 1;
                }
            }
            Value::Object(patch_child) => {
                let (mut child, child_size) = match map.remove(key) {
                    Some(Value::Object(old)) => {
                        let old_size = map_len(&old);
                        sum -= key_len + old_size;
                        count -= 1;
                        (old, old_size)
                    }
                    Some(old) => {
                        sum -= key_len + measure_shallow(&old);
                        count -= 1;
                        (Map::new(), 2)
                    }
                    None => (Map::new(), 2),
                };
                let new_size = merge_into(&mut child, child_size, patch_child);
                sum += key_len + new_size;
                count += 1;
                map.insert(key.clone(), Value::Object(child));
            }
            other => {
                if let Some(old) = map.insert(key.clone(), other.clone()) {
                    sum -= key_len + measure_shallow(&old);
                    count -= 1;
                }
                sum += key_len + measure_shallow(other);
                count += 1;
            }
        }
    }
    container_len(sum, count)
}

#[cfg(test)]
mod tests {
    use crate::{Metadata, Patch};
    use serde_json::{json, Value};

    /// RFC 7396 appendix A, the cases whose target and result are objects (a tier is always an
    /// object, R3.4). Each row: original, patch, result.
    fn appendix_a() -> Vec<(Value, Value, Value)> {
        vec![
            (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
            (json!({"a":"b"}), json!({"a":null}), json!({})),
            (
                json!({"a":"b","b":"c"}),
                json!({"a":null}),
                json!({"b":"c"}),
            ),
            (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b":"c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ]
    }

    #[test]
    fn r3_2_rfc7396_appendix_a_examples() {
        for (original, patch, expected) in appendix_a() {
            let target = Metadata::from_value(original.clone()).unwrap();
            let patch = Patch::from_value(patch.clone()).unwrap();
            let merged = patch.apply_to(&target);
            assert_eq!(merged.to_value(), expected, "{original} + {patch:?}");
            assert_eq!(merged.size(), serde_json::to_vec(&expected).unwrap().len());
        }
    }

    #[test]
    fn r3_2_rfc7396_non_object_patches_are_refused_as_tiers() {
        // Appendix A rows whose patch is not an object would make the tier a non-object or
        // delete it; a tier patch must therefore be an object (R3.4).
        for patch in [json!(["c"]), json!(null), json!("bar")] {
            assert!(matches!(
                Patch::from_value(patch),
                Err(crate::MetadataError::NotAnObject { .. })
            ));
        }
    }

    #[test]
    fn r3_2_nulls_inside_replaced_arrays_are_kept() {
        let target = Metadata::from_value(json!({"a": 1})).unwrap();
        let merged = Patch::from_value(json!({"a": [null, {"x": null}]}))
            .unwrap()
            .apply_to(&target);
        assert_eq!(merged.to_value(), json!({"a": [null, {"x": null}]}));
        assert_eq!(merged.size(), merged.to_json().len());
    }
}
