//! The compact JSON size of a value, measured without serializing it (R4.1).

use serde_json::{Number, Value};

/// Extra bytes that `serde_json` writes for each byte of a string: `\n` becomes two bytes, a
/// control character without a short form becomes six (`\u001f`).
static ESCAPE_EXTRA: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = 5;
        i += 1;
    }
    table[0x08] = 1;
    table[0x09] = 1;
    table[0x0a] = 1;
    table[0x0c] = 1;
    table[0x0d] = 1;
    table[b'"' as usize] = 1;
    table[b'\\' as usize] = 1;
    table
};

/// The compact JSON length of `s` as a string literal, quotes included.
pub(crate) fn string_len(s: &str) -> usize {
    let bytes = s.as_bytes();
    let mut n = bytes.len() + 2;
    // Eight bytes at a time: most text has nothing to escape, and a word with no control
    // character, quote or backslash adds nothing.
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let word = u64::from_le_bytes([
            chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
        ]);
        if needs_escape(word) {
            n += chunk
                .iter()
                .map(|&b| ESCAPE_EXTRA[b as usize] as usize)
                .sum::<usize>();
        }
    }
    for &b in chunks.remainder() {
        n += ESCAPE_EXTRA[b as usize] as usize;
    }
    n
}

/// Whether `s` has nothing to escape as a JSON string: no control character, quote or
/// backslash. Eight bytes at a time, as [`string_len`].
pub(crate) fn is_plain(s: &str) -> bool {
    let mut chunks = s.as_bytes().chunks_exact(8);
    let plain = |b: &u8| ESCAPE_EXTRA[*b as usize] == 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes([
            chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
        ]);
        if needs_escape(word) && !chunk.iter().all(plain) {
            return false;
        }
    }
    chunks.remainder().iter().all(plain)
}

/// Whether any byte of `word` is below 0x20, a `"` or a `\\` (may say yes for a byte of 0x80 or
/// more next to one that is; the caller then counts byte by byte, which is exact).
const fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word;
    let quote = word ^ (ONES * b'"' as u64);
    let backslash = word ^ (ONES * b'\\' as u64);
    let has_quote = quote.wrapping_sub(ONES) & !quote;
    let has_backslash = backslash.wrapping_sub(ONES) & !backslash;
    (below_space | has_quote | has_backslash) & HIGH != 0
}

fn digits(mut n: u64) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

/// An `io::Write` that only counts.
pub(crate) struct ByteCounter(pub(crate) usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The compact JSON length of a number.
pub(crate) fn number_len(n: &Number) -> usize {
    if let Some(u) = n.as_u64() {
        digits(u)
    } else if let Some(i) = n.as_i64() {
        1 + digits(i.unsigned_abs())
    } else {
        let mut counter = ByteCounter(0);
        // Writing a number to a counter cannot fail.
        let _ = serde_json::to_writer(&mut counter, n);
        counter.0
    }
}

/// The compact length of a scalar; containers are handled by the callers.
pub(crate) fn scalar_len(v: &Value) -> usize {
    match v {
        Value::Null => 4,
        Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => number_len(n),
        Value::String(s) => string_len(s),
        Value::Array(_) | Value::Object(_) => 0,
    }
}

/// The size of a container from the sum of its entries and their count.
pub(crate) const fn container_len(entries_sum: usize, count: usize) -> usize {
    2 + entries_sum + count.saturating_sub(1)
}

/// Measures the compact size of `value` and its nesting depth, without recursion, stopping with
/// `Err(depth)` as soon as a container deeper than `max_depth` is met.
pub(crate) fn measure(value: &Value, max_depth: usize) -> Result<usize, usize> {
    let mut total = 0usize;
    let mut stack: Vec<(&Value, usize)> = vec![(value, 1)];
    while let Some((v, depth)) = stack.pop() {
        match v {
            Value::Array(items) => {
                if depth > max_depth {
                    return Err(depth);
                }
                total += container_len(0, items.len());
                stack.extend(items.iter().map(|item| (item, depth + 1)));
            }
            Value::Object(map) => {
                if depth > max_depth {
                    return Err(depth);
                }
                total += container_len(0, map.len());
                for (key, item) in map {
                    total += string_len(key) + 1;
                    stack.push((item, depth + 1));
                }
            }
            scalar => total += scalar_len(scalar),
        }
    }
    Ok(total)
}

/// Measures a value already known to be within the depth limit.
pub(crate) fn measure_shallow(value: &Value) -> usize {
    measure(value, usize::MAX).unwrap_or(0)
}

/// Takes a value apart without recursion, so that dropping a refused, very deep value cannot
/// overflow the stack (R4.4).
pub(crate) fn dismantle(value: Value) {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn r4_1_sizes_match_serde_json_for_awkward_values() {
        let values = [
            json!({}),
            json!({"a": "\u{1}\n\t\"\\ é 日本 🎉 \u{7f}"}),
            json!({"n": [0, -1, u64::MAX, i64::MIN, 1.5, -0.0, 1e300, 2.5e-300, null, true, false]}),
            json!({"nested": {"a": [{}, [], [[]], {"b": {}}]}}),
        ];
        for v in values {
            assert_eq!(
                measure(&v, 64).unwrap(),
                serde_json::to_vec(&v).unwrap().len(),
                "{v}"
            );
        }
    }

    #[test]
    fn r4_1_string_length_and_plainness_are_exact_for_every_byte_in_every_position() {
        for b in 0u8..=0x7f {
            for pos in 0..17 {
                let mut s = "a".repeat(17);
                s.replace_range(pos..pos + 1, std::str::from_utf8(&[b]).unwrap());
                let written = serde_json::to_vec(&s).unwrap();
                assert_eq!(string_len(&s), written.len(), "{b:#x} at {pos}");
                assert_eq!(is_plain(&s), written.len() == 19, "{b:#x} at {pos}");
            }
        }
        for (s, plain) in [
            ("é日本🎉\u{80}\u{7ff}", true),
            ("xxxxxxé\"", false),
            ("\u{1f}\u{10ffff}abcdefgh\\", false),
            ("\u{80}\u{80}\u{80}\u{80}xx\u{80}\u{80}\u{80}", true),
        ] {
            let written = serde_json::to_vec(&s).unwrap();
            assert_eq!(string_len(s), written.len(), "{s:?}");
            assert_eq!(is_plain(s), plain, "{s:?}");
        }
    }

    #[test]
    fn r4_4_depth_is_counted_from_one_for_the_tier_object() {
        assert_eq!(measure(&json!({"a": {"b": {}}}), 3), Ok(14));
        assert_eq!(measure(&json!({"a": {"b": {}}}), 2), Err(3));
    }
}
