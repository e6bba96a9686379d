//! The order a listing returns records in (R7.5), and the cursors that continue it.
//!
//! A listing is ordered by one field — `created_at`, `updated_at` or the record's id (its
//! storage key) — ascending or descending, with the storage key breaking ties in the same
//! direction. So every record has exactly one place, and a cursor (the last record's ordering
//! value and key) continues a listing without repeating or skipping a record that was there
//! all along, however many records are inserted meanwhile.

use crate::error::Error;
use crate::query::Cursor;
use crate::record::{Millis, Record};
use std::cmp::Ordering;
use std::fmt;

/// The field a listing is ordered by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderField {
    /// When the record was created.
    CreatedAt,
    /// When the record was last changed.
    UpdatedAt,
    /// The record's id: its storage key ([`crate::RecordKey::storage_key`]).
    Id,
}

impl OrderField {
    /// The field's name as the reference product's `order_by` spells it.
    pub fn name(self) -> &'static str {
        match self {
            OrderField::CreatedAt => "created_at",
            OrderField::UpdatedAt => "updated_at",
            OrderField::Id => "id",
        }
    }
}

/// How a listing is ordered (R7.5): a field and a direction.
///
/// ```
/// use metadata_core::{ListOrder, OrderField};
/// let newest = ListOrder::parse("-created_at").unwrap();
/// assert_eq!(newest, ListOrder::NEWEST_FIRST);
/// assert_eq!(ListOrder::parse("+id").unwrap(), ListOrder::BY_ID);
/// assert_eq!(ListOrder::parse("updated_at").unwrap().field, OrderField::UpdatedAt);
/// assert_eq!(newest.to_string(), "-created_at");
/// assert!(ListOrder::parse("email").is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ListOrder {
    /// The field compared.
    pub field: OrderField,
    /// Largest first.
    pub descending: bool,
}

impl Default for ListOrder {
    /// By id, ascending: the order of lookups and of the library's listings.
    fn default() -> Self {
        ListOrder::BY_ID
    }
}

impl ListOrder {
    /// By id, ascending.
    pub const BY_ID: ListOrder = ListOrder {
        field: OrderField::Id,
        descending: false,
    };

    /// Newest first: the reference product's order for users and organizations.
    pub const NEWEST_FIRST: ListOrder = ListOrder {
        field: OrderField::CreatedAt,
        descending: true,
    };

    /// Parses the reference product's `order_by`: a field name (`created_at`, `updated_at`,
    /// `id`), optionally after `-` (descending) or `+` (ascending, the default).
    pub fn parse(text: &str) -> Result<ListOrder, Error> {
        let (descending, name) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let field = match name {
            "created_at" => OrderField::CreatedAt,
            "updated_at" => OrderField::UpdatedAt,
            "id" => OrderField::Id,
            _ => {
                return Err(Error::InvalidQuery {
                    reason: format!(
                        "order_by is created_at, updated_at or id, each optionally after '-' or '+'; got {:?}",
                        text.chars().take(64).collect::<String>()
                    ),
                })
            }
        };
        Ok(ListOrder { field, descending })
    }

    /// The ordering value of `record`: its time for the time fields, `None` for the id (the
    /// key alone orders then).
    pub fn value_of(&self, record: &Record) -> Option<Millis> {
        match self.field {
            OrderField::CreatedAt => Some(record.created_at()),
            OrderField::UpdatedAt => Some(record.updated_at()),
            OrderField::Id => None,
        }
    }

    /// Where `record` sits in this order.
    pub fn position_of(&self, record: &Record) -> Position {
        Position {
            value: self.value_of(record),
            key: record.key().storage_key(),
        }
    }

    /// Compares two positions in this order: by value, then by key, both reversed when
    /// descending. `Less` means `a` is listed first.
    pub fn compare(&self, a: &Position, b: &Position) -> Ordering {
        let ascending = a.value.cmp(&b.value).then_with(|| a.key.cmp(&b.key));
        if self.descending {
            ascending.reverse()
        } else {
            ascending
        }
    }

    /// The cursor that continues a listing after `record`: its key alone when ordered by id
    /// (the same cursor as before orders existed), `<millis>:<key>` when ordered by a time.
    pub fn cursor_of(&self, record: &Record) -> Cursor {
        let position = self.position_of(record);
        match position.value {
            None => Cursor::new(position.key),
            Some(at) => Cursor::new(format!("{at}:{}", position.key)),
        }
    }

    /// The position a cursor of this order names; a cursor that another order wrote (or no
    /// listing wrote) is refused as an invalid query.
    pub fn position(&self, cursor: &Cursor) -> Result<Position, Error> {
        let text = cursor.as_str();
        if self.field == OrderField::Id {
            return Ok(Position {
                value: None,
                key: text.to_owned(),
            });
        }
        let parsed = text
            .split_once(':')
            .and_then(|(at, key)| Some((at.parse::<Millis>().ok()?, key)));
        match parsed {
            Some((at, key)) => Ok(Position {
                value: Some(at),
                key: key.to_owned(),
            }),
            None => Err(Error::InvalidQuery {
                reason: format!("that cursor does not continue a listing ordered by {self}"),
            }),
        }
    }
}

impl fmt::Display for ListOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.descending {
            f.write_str("-")?;
        }
        f.write_str(self.field.name())
    }
}

/// Where a record sits in a [`ListOrder`]: its ordering value (none when ordered by id) and
/// its storage key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Position {
    /// The record's time in the order's field, or `None` when ordered by id.
    pub value: Option<Millis>,
    /// The record's storage key.
    pub key: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::User;
    use crate::UserId;

    fn user(id: &str, created: Millis, updated: Millis) -> Record {
        let mut user = User::blank(UserId::new(id).unwrap(), created);
        user.updated_at = updated;
        Record::User(user)
    }

    /// R7.5: equal times are broken by the key, in the order's direction, and cursors round
    /// trip through their text.
    #[test]
    fn r7_5_ties_break_by_key_and_cursors_round_trip() {
        let a = user("user_a", 5, 9);
        let b = user("user_b", 5, 7);
        for order in [
            "created_at",
            "-created_at",
            "updated_at",
            "-updated_at",
            "id",
            "-id",
        ] {
            let order = ListOrder::parse(order).unwrap();
            let (pa, pb) = (order.position_of(&a), order.position_of(&b));
            let expected = match (order.field, order.descending) {
                (OrderField::UpdatedAt, false) => Ordering::Greater,
                (OrderField::UpdatedAt, true) => Ordering::Less,
                (_, false) => Ordering::Less,
                (_, true) => Ordering::Greater,
            };
            assert_eq!(order.compare(&pa, &pb), expected, "{order}");
            assert_eq!(order.position(&order.cursor_of(&a)).unwrap(), pa, "{order}");
        }
    }

    /// A cursor another order wrote is refused, not misread.
    #[test]
    fn r7_5_a_cursor_of_another_order_is_refused() {
        let by_time = ListOrder::NEWEST_FIRST;
        for text in [
            "user_a",
            "x:user_a",
            ":user_a",
            "99999999999999999999:user_a",
        ] {
            assert!(matches!(
                by_time.position(&Cursor::new(text)),
                Err(Error::InvalidQuery { .. })
            ));
        }
        assert_eq!(
            by_time.position(&Cursor::new("-3:a:b")).unwrap(),
            Position {
                value: Some(-3),
                key: "a:b".into()
            }
        );
    }
}
