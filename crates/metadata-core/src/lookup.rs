//! Conditions beyond equality (R7.4): a path exists or not, a value is any of a list, a number
//! lies in a range, a string starts with a prefix. Defined here once; every store selects
//! exactly the records [`Clause::matches`] selects.

use crate::error::Error;
use crate::query::{LookupValue, MetadataPath};
use crate::record::Record;
use crate::tier::Tier;
use serde_json::{Number, Value};
use std::cmp::Ordering;

/// The most values one any-of condition may list.
pub const MAX_ANY_OF: usize = 100;
/// The most clauses one lookup may combine.
pub const MAX_CLAUSES: usize = 8;
/// The longest prefix a condition may hold, in bytes.
pub const MAX_PREFIX_LEN: usize = 1024;

/// A number a range compares with: an integer, or a finite float.
///
/// A stored number's value is the integer it is when it is written as an integer within `i64`,
/// and otherwise the nearest `f64` (as JavaScript, and the reference product's SDKs, read it).
/// Integers and floats compare exactly by value: `2` lies between `1.5` and `2.0`.
#[derive(Clone, Copy, Debug)]
pub enum LookupNumber {
    /// An integer.
    Integer(i64),
    /// A finite float.
    Float(f64),
}

impl PartialEq for LookupNumber {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (LookupNumber::Integer(a), LookupNumber::Integer(b)) => a == b,
            (LookupNumber::Float(a), LookupNumber::Float(b)) => a.to_bits() == b.to_bits(),
            _ => false,
        }
    }
}

impl Eq for LookupNumber {}

impl LookupNumber {
    /// A number written as text: a JSON number (`30`, `-1.5`, `1e3`). Anything else, and a
    /// number past the range of `f64`, is refused.
    ///
    /// ```
    /// use metadata_core::LookupNumber;
    /// assert_eq!(LookupNumber::parse("30").unwrap(), LookupNumber::Integer(30));
    /// assert_eq!(LookupNumber::parse("1.5").unwrap(), LookupNumber::Float(1.5));
    /// assert!(LookupNumber::parse("thirty").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<LookupNumber, Error> {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Number(n)) => Ok(LookupNumber::of(&n)),
            _ => Err(Error::InvalidQuery {
                reason: format!(
                    "a range bound is a JSON number; got {:?}",
                    text.chars().take(100).collect::<String>()
                ),
            }),
        }
    }

    /// The value of a stored number: the integer it is when `serde_json` holds it as an `i64`,
    /// its `f64` otherwise.
    pub fn of(n: &Number) -> LookupNumber {
        match n.as_i64() {
            Some(i) => LookupNumber::Integer(i),
            None => LookupNumber::Float(n.as_f64().unwrap_or(0.0)),
        }
    }

    /// Compares two numbers exactly by value.
    pub fn compare(self, other: LookupNumber) -> Ordering {
        match (self, other) {
            (LookupNumber::Integer(a), LookupNumber::Integer(b)) => a.cmp(&b),
            (LookupNumber::Float(a), LookupNumber::Float(b)) => {
                a.partial_cmp(&b).unwrap_or(Ordering::Equal)
            }
            (LookupNumber::Integer(a), LookupNumber::Float(b)) => compare_int_float(a, b),
            (LookupNumber::Float(a), LookupNumber::Integer(b)) => compare_int_float(b, a).reverse(),
        }
    }
}

/// `i` against `f`, exactly: no rounding of `i` to a float.
fn compare_int_float(i: i64, f: f64) -> Ordering {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() {
        return Ordering::Equal;
    }
    if f >= TWO_63 {
        return Ordering::Less;
    }
    if f < -TWO_63 {
        return Ordering::Greater;
    }
    let whole = f.trunc();
    // -2^63 <= whole < 2^63 and integral: the cast is exact.
    match i.cmp(&(whole as i64)) {
        Ordering::Equal => 0.0.partial_cmp(&(f - whole)).unwrap_or(Ordering::Equal),
        unequal => unequal,
    }
}

/// One end of a range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    /// The number.
    pub value: LookupNumber,
    /// Whether the number itself is inside the range.
    pub inclusive: bool,
}

/// What a clause asks of the value at its path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// Equal to a value, as R7.3 defines.
    Equals(LookupValue),
    /// Equal to any of 1 to [`MAX_ANY_OF`] values.
    AnyOf(Vec<LookupValue>),
    /// The path holds something, `null`, arrays and objects included.
    Exists,
    /// The path holds nothing.
    Missing,
    /// A number within the bounds (at least one): integers and floats compared by value.
    Range {
        /// The lower end, if any.
        lower: Option<Bound>,
        /// The upper end, if any.
        upper: Option<Bound>,
    },
    /// A string starting with this text (compared by characters, exactly).
    Prefix(String),
}

impl Condition {
    /// Whether `value` (what the path holds, if anything) meets the condition.
    pub fn holds(&self, value: Option<&Value>) -> bool {
        match self {
            Condition::Exists => value.is_some(),
            Condition::Missing => value.is_none(),
            Condition::Equals(v) => value.is_some_and(|x| v.matches(x)),
            Condition::AnyOf(vs) => value
                .and_then(LookupValue::of)
                .is_some_and(|x| vs.contains(&x)),
            Condition::Range { lower, upper } => match value {
                Some(Value::Number(n)) => {
                    let n = LookupNumber::of(n);
                    let above = lower.is_none_or(|b| match n.compare(b.value) {
                        Ordering::Greater => true,
                        Ordering::Equal => b.inclusive,
                        Ordering::Less => false,
                    });
                    let below = upper.is_none_or(|b| match n.compare(b.value) {
                        Ordering::Less => true,
                        Ordering::Equal => b.inclusive,
                        Ordering::Greater => false,
                    });
                    above && below
                }
                _ => false,
            },
            Condition::Prefix(p) => {
                matches!(value, Some(Value::String(s)) if s.starts_with(p.as_str()))
            }
        }
    }

    /// Checks the condition's own limits.
    pub fn validate(&self) -> Result<(), Error> {
        let refuse = |reason: String| Err(Error::InvalidQuery { reason });
        match self {
            Condition::AnyOf(vs) if vs.is_empty() || vs.len() > MAX_ANY_OF => refuse(format!(
                "an any-of condition lists 1 to {MAX_ANY_OF} values"
            )),
            Condition::Range { lower, upper } => {
                if lower.is_none() && upper.is_none() {
                    return refuse("a range has at least one bound".into());
                }
                let finite = |b: &Option<Bound>| match b {
                    Some(Bound {
                        value: LookupNumber::Float(f),
                        ..
                    }) => f.is_finite(),
                    _ => true,
                };
                if !finite(lower) || !finite(upper) {
                    return refuse("a range bound is a finite number".into());
                }
                Ok(())
            }
            Condition::Prefix(p) if p.len() > MAX_PREFIX_LEN => {
                refuse(format!("a prefix is at most {MAX_PREFIX_LEN} bytes"))
            }
            _ => Ok(()),
        }
    }
}

/// One condition on the value at a path of a tier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clause {
    /// The tier to look in.
    pub tier: Tier,
    /// The path within the tier.
    pub path: MetadataPath,
    /// What the value must be.
    pub condition: Condition,
}

impl Clause {
    /// A clause on `path` (dotted) of `tier`.
    ///
    /// ```
    /// use metadata_core::{Clause, Condition, Tier};
    /// let clause = Clause::new(Tier::Public, "billing.plan", Condition::Exists).unwrap();
    /// assert_eq!(clause.path.dotted(), "billing.plan");
    /// ```
    pub fn new(tier: Tier, path: &str, condition: Condition) -> Result<Clause, Error> {
        condition.validate()?;
        Ok(Clause {
            tier,
            path: MetadataPath::parse(path)?,
            condition,
        })
    }

    /// Whether `record` meets the clause (R7.4): the path walks objects only, as in R7.3.
    pub fn matches(&self, record: &Record) -> bool {
        let value = record
            .tier(self.tier)
            .and_then(|m| m.pointer(self.path.segments()));
        self.condition.holds(value)
    }

    /// A clause written as a query parameter, such as `public_metadata.age[gte]` with `30`:
    /// `tier.path` then an optional operator — `eq` (the default), `in` (a JSON array, or
    /// values separated by commas), `exists` (`true` or `false`), `gt`, `gte`, `lt`, `lte` (a
    /// JSON number) or `prefix` (the text itself). `None` when the name names no tier.
    ///
    /// ```
    /// use metadata_core::{Clause, Condition, LookupValue};
    /// let c = Clause::from_param("public_metadata.plan[in]", "pro,team").unwrap().unwrap();
    /// assert_eq!(c.condition, Condition::AnyOf(vec!["pro".into(), "team".into()]));
    /// let c = Clause::from_param("public_metadata.age[gte]", "30").unwrap().unwrap();
    /// assert!(matches!(c.condition, Condition::Range { lower: Some(_), upper: None }));
    /// assert!(Clause::from_param("limit", "10").unwrap().is_none());
    /// ```
    pub fn from_param(name: &str, value: &str) -> Result<Option<Clause>, Error> {
        let Some((tier_name, rest)) = name.split_once('.') else {
            return Ok(None);
        };
        let Some(tier) = Tier::ALL.into_iter().find(|t| t.field_name() == tier_name) else {
            return Ok(None);
        };
        let (path, operator) = match rest.strip_suffix(']').and_then(|r| r.split_once('[')) {
            Some((path, op)) => (path, op),
            None => (rest, "eq"),
        };
        let bound = |inclusive| -> Result<Option<Bound>, Error> {
            Ok(Some(Bound {
                value: LookupNumber::parse(value)?,
                inclusive,
            }))
        };
        let condition = match operator {
            "eq" => Condition::Equals(LookupValue::from_text(value)),
            "in" => Condition::AnyOf(any_of(value)?),
            "exists" => match value {
                "true" | "" => Condition::Exists,
                "false" => Condition::Missing,
                _ => {
                    return Err(Error::InvalidQuery {
                        reason: "exists is true or false".into(),
                    })
                }
            },
            "gt" => Condition::Range {
                lower: bound(false)?,
                upper: None,
            },
            "gte" => Condition::Range {
                lower: bound(true)?,
                upper: None,
            },
            "lt" => Condition::Range {
                lower: None,
                upper: bound(false)?,
            },
            "lte" => Condition::Range {
                lower: None,
                upper: bound(true)?,
            },
            "prefix" => Condition::Prefix(value.to_owned()),
            other => {
                return Err(Error::InvalidQuery {
                    reason: format!(
                        "the operators are eq, in, exists, gt, gte, lt, lte and prefix; got {:?}",
                        other.chars().take(40).collect::<String>()
                    ),
                })
            }
        };
        Clause::new(tier, path, condition).map(Some)
    }
}

/// The values of an `in` parameter: a JSON array of scalars, or text split at commas, each part
/// read as [`LookupValue::from_text`] reads it.
fn any_of(text: &str) -> Result<Vec<LookupValue>, Error> {
    if text.starts_with('[') {
        let values: Vec<Value> = serde_json::from_str(text).map_err(|_| Error::InvalidQuery {
            reason: "an `in` list starting with `[` is a JSON array".into(),
        })?;
        return values
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(LookupValue::String(s.clone())),
                Value::Bool(b) => Ok(LookupValue::Bool(*b)),
                Value::Number(n) if n.is_i64() => Ok(LookupValue::Integer(n.as_i64().unwrap_or(0))),
                _ => Err(Error::InvalidQuery {
                    reason: "an `in` list holds strings, integers and booleans".into(),
                }),
            })
            .collect();
    }
    Ok(text.split(',').map(LookupValue::from_text).collect())
}

/// Combines clauses with AND into one, merging two ranges on the same path into one range
/// when a caller gives both ends as separate parameters (`age[gte]=30&age[lt]=40`).
pub fn combine(clauses: Vec<Clause>) -> Result<Vec<Clause>, Error> {
    let mut out: Vec<Clause> = Vec::with_capacity(clauses.len());
    for clause in clauses {
        if let Condition::Range { lower, upper } = &clause.condition {
            if let Some(Clause {
                condition:
                    Condition::Range {
                        lower: l0,
                        upper: u0,
                    },
                ..
            }) = out.iter_mut().find(|c| {
                c.tier == clause.tier
                    && c.path == clause.path
                    && matches!(c.condition, Condition::Range { .. })
            }) {
                if (lower.is_some() && l0.is_some()) || (upper.is_some() && u0.is_some()) {
                    return Err(Error::InvalidQuery {
                        reason: format!("two bounds on the same end of {}", clause.path),
                    });
                }
                *l0 = l0.or(*lower);
                *u0 = u0.or(*upper);
                continue;
            }
        }
        out.push(clause);
    }
    if out.is_empty() || out.len() > MAX_CLAUSES {
        return Err(Error::InvalidQuery {
            reason: format!("a lookup combines 1 to {MAX_CLAUSES} conditions"),
        });
    }
    Ok(out)
}

/// The smallest string greater than every string starting with `prefix`, in code point order
/// (which is the byte order of UTF-8): a store's exclusive upper bound for a prefix. `None`
/// when there is none (the prefix is empty or all `U+10FFFF`).
///
/// ```
/// use metadata_core::prefix_upper_bound;
/// assert_eq!(prefix_upper_bound("ab").as_deref(), Some("ac"));
/// assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
/// assert_eq!(prefix_upper_bound(""), None);
/// ```
pub fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last as u32 {
            0xD7FF => Some('\u{E000}'),
            c => char::from_u32(c + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> LookupNumber {
        LookupNumber::parse(text).unwrap()
    }

    /// R7.4: integers and floats compare exactly, past 2^53 and at the ends of i64.
    #[test]
    fn r7_4_numbers_compare_exactly_by_value() {
        assert_eq!(n("2").compare(n("1.5")), Ordering::Greater);
        assert_eq!(n("2").compare(n("2.0")), Ordering::Equal);
        assert_eq!(n("-0.0").compare(n("0")), Ordering::Equal);
        assert_eq!(
            n("9007199254740993").compare(n("9007199254740992.0")),
            Ordering::Greater
        );
        assert_eq!(
            n("9223372036854775807").compare(n("9223372036854775808.0")),
            Ordering::Less
        );
        assert_eq!(
            n("-9223372036854775808").compare(n("-9223372036854775808.0")),
            Ordering::Equal
        );
        assert_eq!(n("-3").compare(n("-2.5")), Ordering::Less);
        assert_eq!(n("-2").compare(n("-2.5")), Ordering::Greater);
        // u64::MAX is past i64: it is read as the float 2^64.
        assert_eq!(
            n("18446744073709551615").compare(n("1.8446744073709552e19")),
            Ordering::Equal
        );
    }

    #[test]
    fn r7_4_the_upper_bound_of_a_prefix_skips_surrogates_and_the_last_code_point() {
        assert_eq!(
            prefix_upper_bound("a\u{D7FF}").as_deref(),
            Some("a\u{E000}")
        );
        assert_eq!(prefix_upper_bound("\u{10FFFF}\u{10FFFF}"), None);
        for p in ["a", "zz", "\u{7F}", "é", "\0"] {
            let upper = prefix_upper_bound(p).unwrap();
            assert!(upper.as_str() > p);
            assert!(upper.as_str() > format!("{p}\u{10FFFF}\u{10FFFF}").as_str());
        }
    }

    #[test]
    fn r7_4_parameters_parse_to_their_conditions_or_a_typed_refusal() {
        let c = |name: &str, value: &str| Clause::from_param(name, value);
        assert!(matches!(
            c("public_metadata.a[exists]", "false")
                .unwrap()
                .unwrap()
                .condition,
            Condition::Missing
        ));
        assert_eq!(
            c("private_metadata.a[in]", r#"["x,y",1,true]"#)
                .unwrap()
                .unwrap()
                .condition,
            Condition::AnyOf(vec!["x,y".into(), 1.into(), true.into()])
        );
        for (name, value) in [
            ("public_metadata.a[gte]", "x"),
            ("public_metadata.a[gte]", "1e400"),
            ("public_metadata.a[near]", "1"),
            ("public_metadata.a[exists]", "maybe"),
            ("public_metadata.a[in]", "[1.5]"),
            ("public_metadata.a[in]", "[null]"),
            ("public_metadata.a..b", "1"),
        ] {
            assert!(
                matches!(c(name, value), Err(Error::InvalidQuery { .. })),
                "{name}={value}"
            );
        }
        let two = combine(vec![
            c("public_metadata.age[gte]", "30").unwrap().unwrap(),
            c("public_metadata.age[lt]", "40").unwrap().unwrap(),
        ])
        .unwrap();
        assert_eq!(two.len(), 1);
        assert!(matches!(
            two[0].condition,
            Condition::Range {
                lower: Some(_),
                upper: Some(_)
            }
        ));
        assert!(combine(vec![
            c("public_metadata.age[gte]", "30").unwrap().unwrap(),
            c("public_metadata.age[gt]", "40").unwrap().unwrap(),
        ])
        .is_err());
    }
}
