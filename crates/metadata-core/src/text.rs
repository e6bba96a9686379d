//! A tier's compact text, kept with where each top-level entry ends, so that a merge writes
//! again only the entries its patch touches and copies the rest (R3.2, R4.1).

use serde_json::{Map, Value};

/// Compact JSON of an object, byte for byte what `serde_json` writes, and the end of each
/// top-level entry in it (the offset of the `,` or `}` that follows it).
#[derive(Clone, Debug)]
pub(crate) struct Text {
    json: Box<str>,
    ends: Box<[u32]>,
}

/// Appends `"key":value` as `serde_json` writes it. Writing into a Vec cannot fail.
fn write_entry(out: &mut Vec<u8>, key: &str, value: &Value) {
    let _ = serde_json::to_writer(&mut *out, key);
    out.push(b':');
    let _ = serde_json::to_writer(&mut *out, value);
}

impl Text {
    /// Writes `map`, whose compact size is `size`.
    pub(crate) fn write(map: &Map<String, Value>, size: usize) -> Text {
        let mut out = Vec::with_capacity(size);
        let mut ends = Vec::with_capacity(map.len());
        out.push(b'{');
        for (i, (key, value)) in map.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_entry(&mut out, key, value);
            ends.push(out.len() as u32);
        }
        out.push(b'}');
        Text {
            // Only whole UTF-8 strings and ASCII were written.
            json: String::from_utf8(out).unwrap_or_default().into_boxed_str(),
            ends: ends.into_boxed_slice(),
        }
    }

    /// The compact JSON.
    pub(crate) fn as_str(&self) -> &str {
        &self.json
    }

    /// Where each key of `patch` stands among this text's entries, in the patch's key order:
    /// the index of the first entry not below it, and whether it is there. Entries are in key
    /// order, so each key is found by bisection, reading the keys of a few entries only.
    pub(crate) fn places(&self, patch: &Map<String, Value>) -> Option<Vec<(usize, bool)>> {
        let mut out = Vec::with_capacity(patch.len());
        let mut low = 0;
        for p in patch.keys() {
            let (mut lo, mut hi) = (low, self.ends.len());
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if self.key_of(mid)?.as_ref() < p.as_str() {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            let found = lo < self.ends.len() && self.key_of(lo)?.as_ref() == p.as_str();
            out.push((lo, found));
            low = lo;
        }
        Some(out)
    }

    /// The key of entry `i`: borrowed from the text unless it holds an escape.
    fn key_of(&self, i: usize) -> Option<std::borrow::Cow<'_, str>> {
        let entry = &self.json[self.start_of(i)..];
        let bytes = entry.as_bytes();
        let end = bytes[1..].iter().position(|&b| b == b'"' || b == b'\\')? + 1;
        if bytes[end] == b'"' {
            return Some(entry[1..end].into());
        }
        let mut de = serde_json::Deserializer::from_str(entry);
        <String as serde::Deserialize>::deserialize(&mut de)
            .ok()
            .map(Into::into)
    }

    /// Where the text of entry `i`, `"key":value`, stands (without the separator after it).
    pub(crate) fn entry(&self, i: usize) -> std::ops::Range<usize> {
        self.start_of(i)..self.ends[i] as usize
    }

    /// Where entry `i` begins.
    fn start_of(&self, i: usize) -> usize {
        if i == 0 {
            1
        } else {
            self.ends[i - 1] as usize + 1
        }
    }

    /// Appends entries `from..to` of this text to `out` in one copy, and their ends.
    fn copy_entries(&self, from: usize, to: usize, out: &mut String, ends: &mut Vec<u32>) {
        if from >= to {
            return;
        }
        if !ends.is_empty() {
            out.push(',');
        }
        let start = self.start_of(from);
        let shift = out.len() as i64 - start as i64;
        out.push_str(&self.json[start..self.ends[to - 1] as usize]);
        ends.extend(
            self.ends[from..to]
                .iter()
                .map(|&end| (end as i64 + shift) as u32),
        );
    }

    /// The text of `merged`, the object this text was written from after `patch` was merged
    /// into it (`places` says where the patch's keys stood before, see [`Text::places`]), whose
    /// compact size is `size`: the entries the patch names are written again, the runs of
    /// entries between them are copied from this text. `None` if the pieces do not add up
    /// (the caller then writes the whole text when it is asked for).
    pub(crate) fn after_merge(
        &self,
        places: &[(usize, bool)],
        merged: &Map<String, Value>,
        patch: &Map<String, Value>,
        size: usize,
    ) -> Option<Text> {
        let mut out = String::with_capacity(size);
        let mut ends = Vec::with_capacity(merged.len());
        let mut entry = Vec::new();
        let mut next_old = 0;
        out.push('{');
        for (key, &(at, was_there)) in patch.keys().zip(places) {
            // The entries below this key that the patch does not name, as they were.
            self.copy_entries(next_old, at, &mut out, &mut ends);
            next_old = at + usize::from(was_there);
            if let Some(value) = merged.get(key) {
                if !ends.is_empty() {
                    out.push(',');
                }
                entry.clear();
                write_entry(&mut entry, key, value);
                out.push_str(std::str::from_utf8(&entry).ok()?);
                ends.push(out.len() as u32);
            }
        }
        self.copy_entries(next_old, self.ends.len(), &mut out, &mut ends);
        out.push('}');
        (out.len() == size && ends.len() == merged.len()).then(|| Text {
            json: out.into_boxed_str(),
            ends: ends.into_boxed_slice(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn r3_2_a_merged_text_is_the_text_of_the_merged_object() {
        let before = map(json!({"a": 1, "a\"": {"x": [1, "\n"]}, "b": "k", "c": null, "d": {}}));
        let text = Text::write(&before, serde_json::to_vec(&before).unwrap().len());
        assert_eq!(text.as_str(), serde_json::to_string(&before).unwrap());
        // Replaced, deleted, added, nested and untouched keys; a key that is a prefix of another.
        let patch = map(json!({"a": 2, "b": null, "e": [true], "d": {"y": 1}, "aa": 0}));
        let at = text.places(&patch).unwrap();
        let mut merged = before.clone();
        for (k, v) in &patch {
            match v {
                Value::Null => {
                    merged.remove(k);
                }
                Value::Object(_) => {
                    merged.insert(k.clone(), json!({"y": 1}));
                }
                v => {
                    merged.insert(k.clone(), v.clone());
                }
            }
        }
        let expected = serde_json::to_string(&merged).unwrap();
        let spliced = text
            .after_merge(&at, &merged, &patch, expected.len())
            .unwrap();
        assert_eq!(spliced.as_str(), expected);
        assert_eq!(spliced.ends.len(), merged.len());
        // Merging again into the spliced text: its entry ends are right too.
        let again = map(json!({"c": 1, "zz": null}));
        let at2 = spliced.places(&again).unwrap();
        let mut merged2 = merged.clone();
        merged2.insert("c".into(), json!(1));
        let expected2 = serde_json::to_string(&merged2).unwrap();
        let spliced2 = spliced.after_merge(&at2, &merged2, &again, expected2.len());
        assert_eq!(spliced2.unwrap().as_str(), expected2);
        // A size that does not add up gives no text rather than a wrong one.
        assert!(text
            .after_merge(&at, &merged, &patch, expected.len() + 1)
            .is_none());
    }
}
