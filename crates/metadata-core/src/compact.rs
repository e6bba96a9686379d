//! Compact JSON output for records, byte for byte what `serde_json` writes for them: fields
//! are written one by one, and each tier as the text it keeps (see
//! [`crate::Metadata::json`]), so a record written again does not serialize its unchanged tiers.

/// Appends `s` as a JSON string literal, escaped byte for byte as `serde_json` escapes it; a
/// string with nothing to escape is copied as it is.
///
/// ```
/// let mut out = String::new();
/// metadata_core::write_json_string(&mut out, "tab\there");
/// assert_eq!(out, serde_json::to_string("tab\there").unwrap());
/// ```
pub fn write_str(out: &mut String, s: &str) {
    if crate::size::is_plain(s) {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        // Serializing a string cannot fail.
        out.push_str(&serde_json::to_string(s).unwrap_or_default());
    }
}

/// Appends an unsigned integer in decimal.
pub(crate) fn write_u64(out: &mut String, u: u64) {
    out.push_str(itoa::Buffer::new().format(u));
}

/// Appends a signed integer in decimal.
pub(crate) fn write_i64(out: &mut String, i: i64) {
    out.push_str(itoa::Buffer::new().format(i));
}

/// An object being written field by field, as a derived `Serialize` writes a struct.
pub(crate) struct Fields<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Fields<'a> {
    /// Opens the object.
    pub(crate) fn open(out: &'a mut String) -> Self {
        out.push('{');
        Fields { out, first: true }
    }

    /// Starts a field whose name needs no escaping, and returns the output for its value.
    pub(crate) fn field(&mut self, name: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push('"');
        self.out.push_str(name);
        self.out.push_str("\":");
        self.out
    }

    /// Closes the object.
    pub(crate) fn close(self) {
        self.out.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r8_1_strings_and_integers_as_serde_json_writes_them() {
        for s in [
            "",
            "user_1",
            "a@b.c",
            "\u{0}\u{1f}\"\\/\n é😀",
            "\u{7f}\\",
            "x\"",
        ] {
            let mut out = String::new();
            write_str(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap());
        }
        for n in [0u64, 9, 10, 99, 100, u64::MAX, u64::MAX / 10] {
            let mut out = String::new();
            write_u64(&mut out, n);
            assert_eq!(out, n.to_string());
        }
        for n in [i64::MIN, -1, -10, 0, i64::MAX] {
            let mut out = String::new();
            write_i64(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }
}
