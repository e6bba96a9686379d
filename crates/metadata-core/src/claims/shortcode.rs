//! Parsing one shortcode: `source.path || other.path || literal` (R10.1, R10.2).

use serde_json::Value;

/// Where a value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Root {
    UserPublic,
    UserUnsafe,
    OrgPublic,
    MembershipPublic,
    UserId,
    OrgId,
}

/// A source and a path of keys inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Source {
    pub(crate) root: Root,
    pub(crate) path: Vec<String>,
}

/// `a || b || literal`: the first of the sources that gives a value other than `null`, else the
/// literal, else `null`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Expr {
    pub(crate) sources: Vec<Source>,
    pub(crate) fallback: Option<Value>,
}

/// Why a shortcode is refused, before the claim's location is attached.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    Syntax(String),
    Private(String),
    Unknown(String),
}

fn key_ok(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn source(text: &str) -> Result<Source, Refusal> {
    let segments: Vec<&str> = text.split('.').collect();
    if !segments.iter().all(|s| key_ok(s)) {
        return Err(Refusal::Syntax(format!(
            "{text:?} is not a dotted path of keys (A-Z, a-z, 0-9, '_', '-')"
        )));
    }
    let (root, rest) = match segments.as_slice() {
        ["user", "public_metadata", rest @ ..] => (Root::UserPublic, rest),
        ["user", "unsafe_metadata", rest @ ..] => (Root::UserUnsafe, rest),
        ["org", "public_metadata", rest @ ..] => (Root::OrgPublic, rest),
        ["org_membership", "public_metadata", rest @ ..] => (Root::MembershipPublic, rest),
        ["user", "id"] => (Root::UserId, &[][..]),
        ["org", "id"] => (Root::OrgId, &[][..]),
        [owner, tier, ..]
            if *tier == "private_metadata" && ["user", "org", "org_membership"].contains(owner) =>
        {
            return Err(Refusal::Private(format!("{owner}.{tier}")));
        }
        _ => return Err(Refusal::Unknown(text.to_owned())),
    };
    Ok(Source {
        root,
        path: rest.iter().map(|s| s.to_string()).collect(),
    })
}

fn literal(text: &str) -> Option<Result<Value, Refusal>> {
    let first = text.chars().next()?;
    match first {
        '"' | '\'' => {
            let inner = text.strip_prefix(first).and_then(|t| t.strip_suffix(first));
            Some(match inner {
                Some(s) if !s.contains(first) => Ok(Value::String(s.to_owned())),
                _ => Err(Refusal::Syntax(format!(
                    "unterminated string literal {text}"
                ))),
            })
        }
        '-' | '0'..='9' => Some(match serde_json::from_str::<Value>(text) {
            Ok(v @ Value::Number(_)) => Ok(v),
            _ => Err(Refusal::Syntax(format!("{text:?} is not a number"))),
        }),
        _ if text == "true" => Some(Ok(Value::Bool(true))),
        _ if text == "false" => Some(Ok(Value::Bool(false))),
        _ => None,
    }
}

/// Parses the inside of `{{ … }}`.
pub(crate) fn parse(inside: &str) -> Result<Expr, Refusal> {
    let mut sources = Vec::new();
    let mut fallback = None;
    let terms: Vec<&str> = inside.split("||").map(str::trim).collect();
    for (i, term) in terms.iter().enumerate() {
        if term.is_empty() {
            return Err(Refusal::Syntax("an empty term in a shortcode".into()));
        }
        match literal(term) {
            Some(value) => {
                if i + 1 != terms.len() {
                    return Err(Refusal::Syntax(format!(
                        "the literal {term} must end the chain"
                    )));
                }
                fallback = Some(value?);
            }
            None => sources.push(source(term)?),
        }
    }
    if sources.is_empty() {
        return Err(Refusal::Syntax("a shortcode needs a source".into()));
    }
    Ok(Expr { sources, fallback })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r10_1_chains_end_in_an_optional_literal() {
        let e = parse(" user.public_metadata.age || user.unsafe_metadata.age || 30 ").unwrap();
        assert_eq!(e.sources.len(), 2);
        assert_eq!(e.fallback, Some(serde_json::json!(30)));
        assert_eq!(
            parse("org.id || 'none'").unwrap().fallback,
            Some(serde_json::json!("none"))
        );
        assert_eq!(
            parse("org.id || \"x y\"").unwrap().fallback,
            Some(serde_json::json!("x y"))
        );
        assert_eq!(
            parse("org.id || false").unwrap().fallback,
            Some(serde_json::json!(false))
        );
        assert!(matches!(parse("30 || user.id"), Err(Refusal::Syntax(_))));
        assert!(matches!(parse("30"), Err(Refusal::Syntax(_))));
        assert!(matches!(parse("user.id ||"), Err(Refusal::Syntax(_))));
        assert!(matches!(parse("user.id || 'open"), Err(Refusal::Syntax(_))));
        assert!(matches!(parse("user.id || 1x"), Err(Refusal::Syntax(_))));
    }

    #[test]
    fn r10_2_private_and_unknown_sources_are_refused() {
        for private in [
            "user.private_metadata",
            "org.private_metadata.a",
            "org_membership.private_metadata",
        ] {
            assert!(
                matches!(parse(private), Err(Refusal::Private(_))),
                "{private}"
            );
        }
        assert!(matches!(
            parse("user.id || user.private_metadata.x"),
            Err(Refusal::Private(_))
        ));
        for unknown in [
            "user.email",
            "session.id",
            "user",
            "user.id.x",
            "invitation.public_metadata",
        ] {
            assert!(
                matches!(parse(unknown), Err(Refusal::Unknown(_))),
                "{unknown}"
            );
        }
        assert!(matches!(parse("user..id"), Err(Refusal::Syntax(_))));
    }
}
