//! The reference product's export files, read one record at a time.
//!
//! - **JSON**: the user export, an array of objects in camelCase (`userId` or `id`,
//!   `publicMetadata`, `privateMetadata`, `unsafeMetadata`; other fields are ignored;
//!   snake_case names are read too). The same objects one per line (JSON Lines) are read as
//!   well. Each element is read as raw text and then parsed alone, so a bad element is
//!   refused by itself and the rest are read.
//! - **CSV**: a header row, then one user per row; the id is the `id` (or `user_id`) column,
//!   and `public_metadata`, `private_metadata`, `unsafe_metadata` hold JSON text (an empty cell
//!   is `{}`).

use crate::item::{raw_tier_texts, tier_texts, Item, ItemKind, Locator, Refusal, MALFORMED};
use metadata_core::Tier;
use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::fmt;
use std::io::{BufRead, BufReader, Read};

/// What a source hands on: a record, or one it could not read.
pub type Read1 = Result<Item, Refusal>;

/// One user of the JSON export, its tiers kept as raw text.
#[derive(Deserialize)]
struct ExportUser {
    #[serde(alias = "userId", alias = "user_id")]
    id: Option<String>,
    #[serde(alias = "publicMetadata")]
    public_metadata: Option<Box<RawValue>>,
    #[serde(alias = "privateMetadata")]
    private_metadata: Option<Box<RawValue>>,
    #[serde(alias = "unsafeMetadata")]
    unsafe_metadata: Option<Box<RawValue>>,
}

fn malformed(at: Locator, id: Option<String>, reason: impl Into<String>) -> Refusal {
    Refusal {
        at,
        id,
        code: MALFORMED,
        reason: reason.into(),
    }
}

/// One element's text as a user item.
fn user_of(at: Locator, text: &str) -> Read1 {
    let user: ExportUser = serde_json::from_str(text)
        .map_err(|e| malformed(at.clone(), None, format!("not a user object: {e}")))?;
    let Some(id) = user.id else {
        return Err(malformed(at, None, "no userId"));
    };
    let tiers = raw_tier_texts(&[
        (Tier::Public, &user.public_metadata),
        (Tier::Private, &user.private_metadata),
        (Tier::Unsafe, &user.unsafe_metadata),
    ]);
    Ok(Item {
        at,
        kind: ItemKind::User,
        id,
        tiers,
    })
}

/// Reads a JSON export (an array, or JSON Lines) from `reader`, handing each user to `each`
/// in file order; `each` answers `false` to stop. Memory holds one element at a time.
pub fn read_json(reader: impl Read, each: &mut dyn FnMut(Read1) -> bool) -> Result<(), String> {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let first = loop {
        let buf = reader.fill_buf().map_err(|e| e.to_string())?;
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => {
                let first = buf[i];
                reader.consume(i);
                break Some(first);
            }
            None if buf.is_empty() => break None,
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    };
    match first {
        None => Ok(()),
        Some(b'[') => {
            let mut de = serde_json::Deserializer::from_reader(reader);
            Elements { each }
                .deserialize(&mut de)
                .map_err(|e| format!("the JSON array is malformed: {e}"))?;
            de.end()
                .map_err(|e| format!("text after the JSON array: {e}"))
        }
        Some(_) => {
            let mut line = String::new();
            let mut n = 0u64;
            loop {
                line.clear();
                if reader.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
                    return Ok(());
                }
                n += 1;
                if line.trim().is_empty() {
                    continue;
                }
                if !each(user_of(Locator::Line(n), &line)) {
                    return Ok(());
                }
            }
        }
    }
}

/// The elements of the top-level array, each handed on as it is read.
struct Elements<'a> {
    each: &'a mut dyn FnMut(Read1) -> bool,
}

impl<'de> DeserializeSeed<'de> for Elements<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Elements<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of users")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut n = 0u64;
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            n += 1;
            if !(self.each)(user_of(Locator::Element(n), raw.get())) {
                // Stopped: the rest is not read.
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                return Ok(());
            }
        }
        Ok(())
    }
}

/// Reads a CSV export from `reader`, handing each user to `each` in file order; `each`
/// answers `false` to stop.
pub fn read_csv(reader: impl Read, each: &mut dyn FnMut(Read1) -> bool) -> Result<(), String> {
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let headers = csv.headers().map_err(|e| e.to_string())?.clone();
    let column = |names: &[&str]| headers.iter().position(|h| names.contains(&h.trim()));
    let id_at = column(&["id", "user_id", "userId"]).ok_or("the CSV has no id column")?;
    let tier_at = [
        (Tier::Public, column(&["public_metadata"])),
        (Tier::Private, column(&["private_metadata"])),
        (Tier::Unsafe, column(&["unsafe_metadata"])),
    ];
    let mut record = csv::StringRecord::new();
    loop {
        let at = Locator::Line(csv.position().line() + 1);
        match csv.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => {
                if !each(Err(malformed(at, None, e.to_string()))) {
                    return Ok(());
                }
                continue;
            }
        }
        let at = Locator::Line(record.position().map_or(0, |p| p.line()));
        let id = record
            .get(id_at)
            .map(str::trim)
            .unwrap_or_default()
            .to_owned();
        let read = if id.is_empty() {
            Err(malformed(at, None, "no id"))
        } else {
            let tiers: Vec<(Tier, Option<&str>)> = tier_at
                .iter()
                .map(|(tier, column)| (*tier, column.and_then(|c| record.get(c))))
                .collect();
            Ok(Item {
                at,
                kind: ItemKind::User,
                id,
                tiers: tier_texts(&tiers),
            })
        };
        if !each(read) {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(read: impl Fn(&mut dyn FnMut(Read1) -> bool) -> Result<(), String>) -> Vec<Read1> {
        let mut out = Vec::new();
        read(&mut |r| {
            out.push(r);
            true
        })
        .unwrap();
        out
    }

    #[test]
    fn json_arrays_and_lines_read_the_same_users() {
        let array = br#" [ {"userId":"user_1","publicMetadata":{"b":1,"a":-0.0},"firstName":"A"},
            {"id":"user_2","unsafeMetadata":null}, 7, {"publicMetadata":{}} ]"#;
        let got = all(|each| read_json(&array[..], each));
        assert_eq!(got.len(), 4);
        let first = got[0].as_ref().unwrap();
        assert_eq!(first.id, "user_1");
        assert_eq!(
            first.tiers[0],
            (Tier::Public, r#"{"b":1,"a":-0.0}"#.to_owned())
        );
        assert_eq!(first.tiers[1], (Tier::Private, "{}".to_owned()));
        assert_eq!(got[1].as_ref().unwrap().id, "user_2");
        assert_eq!(got[2].as_ref().unwrap_err().at, Locator::Element(3));
        assert_eq!(got[3].as_ref().unwrap_err().code, MALFORMED);
        let lines = b"{\"userId\":\"user_1\"}\n\n{oops\n{\"userId\":\"user_3\"}\n";
        let got = all(|each| read_json(&lines[..], each));
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].as_ref().unwrap_err().at, Locator::Line(3));
        assert_eq!(got[2].as_ref().unwrap().id, "user_3");
    }

    #[test]
    fn csv_cells_are_tiers_and_rows_may_span_lines() {
        let csv = "id,first_name,public_metadata,private_metadata,unsafe_metadata\n\
                   user_1,A,\"{\"\"plan\"\":\"\"pro\"\"}\",,\n\
                   ,B,,,\n\
                   user_3,C,\"{\"\"multi\"\":\n\"\"line\"\"}\",[1],\n";
        let got = all(|each| read_csv(csv.as_bytes(), each));
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[0].as_ref().unwrap().tiers[0],
            (Tier::Public, r#"{"plan":"pro"}"#.to_owned())
        );
        let no_id = got[1].as_ref().unwrap_err();
        assert_eq!(
            (no_id.at.clone(), no_id.code),
            (Locator::Line(3), MALFORMED)
        );
        let third = got[2].as_ref().unwrap();
        assert_eq!(third.at, Locator::Line(4));
        assert_eq!(third.tiers[1], (Tier::Private, "[1]".to_owned()));
    }
}
