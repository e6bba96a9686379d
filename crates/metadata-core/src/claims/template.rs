//! Compiling a template once and rendering it many times (R10.1, R10.3).

use super::error::ClaimsError;
use super::shortcode::{self, Expr, Refusal, Root};
use crate::limits::Limits;
use crate::metadata::Metadata;
use crate::record::{Membership, Organization, User};
use crate::size::measure_shallow;
use serde_json::{Map, Value};

/// The reference product's budget for custom claims, in bytes of compact JSON (R10.3).
pub const DEFAULT_CLAIMS_BUDGET: usize = 1200;

/// One compiled piece of the template.
#[derive(Clone, Debug, PartialEq)]
enum Node {
    /// JSON with no shortcode, copied as it is.
    Literal(Value),
    /// A string that is exactly one shortcode: the value keeps its JSON type.
    Whole(Expr),
    /// A longer string with shortcodes: their text forms are put in.
    Text(Vec<Part>),
    Object(Vec<(String, Node)>),
    Array(Vec<Node>),
}

#[derive(Clone, Debug, PartialEq)]
enum Part {
    Text(String),
    Code(Expr),
}

/// What a template renders against: a user, and optionally an organization and the user's
/// membership of it (the active organization of the session).
#[derive(Clone, Copy, Debug)]
pub struct ClaimsContext<'a> {
    /// The signed-in user.
    pub user: &'a User,
    /// The active organization, if any.
    pub organization: Option<&'a Organization>,
    /// The user's membership of it, if any.
    pub membership: Option<&'a Membership>,
}

impl<'a> ClaimsContext<'a> {
    /// A session with no active organization.
    pub fn user(user: &'a User) -> Self {
        ClaimsContext {
            user,
            organization: None,
            membership: None,
        }
    }

    /// A session with an active organization.
    pub fn with_organization(
        user: &'a User,
        organization: &'a Organization,
        membership: Option<&'a Membership>,
    ) -> Self {
        ClaimsContext {
            user,
            organization: Some(organization),
            membership,
        }
    }
}

/// A compiled claims template (contract §10): parse once, render for every session token.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimsTemplate {
    root: Vec<(String, Node)>,
    budget: usize,
}

fn child_claim(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

fn locate(claim: &str, refusal: Refusal) -> ClaimsError {
    let claim = claim.to_owned();
    match refusal {
        Refusal::Syntax(message) => ClaimsError::Syntax { claim, message },
        Refusal::Private(source_name) => ClaimsError::PrivateTier { claim, source_name },
        Refusal::Unknown(source_name) => ClaimsError::UnknownSource { claim, source_name },
    }
}

fn compile_string(s: &str, claim: &str) -> Result<Node, ClaimsError> {
    if !s.contains("{{") {
        return Ok(Node::Literal(Value::String(s.to_owned())));
    }
    let mut parts = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| ClaimsError::Syntax {
            claim: claim.to_owned(),
            message: "a shortcode opened with {{ is not closed with }}".into(),
        })?;
        if start > 0 {
            parts.push(Part::Text(rest[..start].to_owned()));
        }
        parts.push(Part::Code(
            shortcode::parse(&after[..end]).map_err(|r| locate(claim, r))?,
        ));
        rest = &after[end + 2..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_owned()));
    }
    Ok(match parts.as_slice() {
        [Part::Code(expr)] => Node::Whole(expr.clone()),
        _ => Node::Text(parts),
    })
}

fn compile_value(value: &Value, claim: &str) -> Result<Node, ClaimsError> {
    Ok(match value {
        Value::String(s) => compile_string(s, claim)?,
        Value::Object(map) => Node::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), compile_value(v, &child_claim(claim, k))?)))
                .collect::<Result<_, ClaimsError>>()?,
        ),
        Value::Array(items) => Node::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| compile_value(v, &format!("{claim}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        other => Node::Literal(other.clone()),
    })
}

fn tier_value(tier: Option<&Metadata>, path: &[String]) -> Option<Value> {
    let tier = tier?;
    if path.is_empty() {
        Some(tier.to_value())
    } else {
        tier.pointer(path).cloned()
    }
}

fn eval(expr: &Expr, cx: &ClaimsContext<'_>) -> Value {
    for source in &expr.sources {
        let found = match source.root {
            Root::UserPublic => tier_value(Some(&cx.user.public_metadata), &source.path),
            Root::UserUnsafe => tier_value(Some(&cx.user.unsafe_metadata), &source.path),
            Root::OrgPublic => {
                tier_value(cx.organization.map(|o| &o.public_metadata), &source.path)
            }
            Root::MembershipPublic => {
                tier_value(cx.membership.map(|m| &m.public_metadata), &source.path)
            }
            Root::UserId => Some(Value::String(cx.user.id.to_string())),
            Root::OrgId => cx.organization.map(|o| Value::String(o.id.to_string())),
        };
        match found {
            Some(Value::Null) | None => continue,
            Some(value) => return value,
        }
    }
    expr.fallback.clone().unwrap_or(Value::Null)
}

/// The text form of a value inside a longer string: a string as itself, `null` as nothing, any
/// other value as its compact JSON.
fn push_text(out: &mut String, value: &Value) {
    match value {
        Value::String(s) => out.push_str(s),
        Value::Null => {}
        other => out.push_str(&other.to_string()),
    }
}

fn render_node(node: &Node, cx: &ClaimsContext<'_>) -> Value {
    match node {
        Node::Literal(v) => v.clone(),
        Node::Whole(expr) => eval(expr, cx),
        Node::Text(parts) => {
            let mut out = String::new();
            for part in parts {
                match part {
                    Part::Text(t) => out.push_str(t),
                    Part::Code(expr) => push_text(&mut out, &eval(expr, cx)),
                }
            }
            Value::String(out)
        }
        Node::Object(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, n)| (k.clone(), render_node(n, cx)))
                .collect(),
        ),
        Node::Array(items) => Value::Array(items.iter().map(|n| render_node(n, cx)).collect()),
    }
}

impl ClaimsTemplate {
    /// Compiles a template from JSON bytes with the default budget. The template must be a JSON
    /// object (nested at most as deep as a tier may be); every shortcode is parsed here, and a
    /// private tier, an unknown source or bad syntax is refused with the claim it is in.
    pub fn compile(json: &[u8]) -> Result<Self, ClaimsError> {
        let limits = Limits::default();
        let template = Metadata::from_slice_with(json, &limits.with_tier_bytes(64 * 1024))
            .map_err(|source| ClaimsError::InvalidTemplate { source })?;
        Self::compile_value(template.as_map())
    }

    /// Compiles a template given as a JSON object.
    pub fn compile_value(template: &Map<String, Value>) -> Result<Self, ClaimsError> {
        let root = template
            .iter()
            .map(|(k, v)| Ok((k.clone(), compile_value(v, k)?)))
            .collect::<Result<_, ClaimsError>>()?;
        Ok(ClaimsTemplate {
            root,
            budget: DEFAULT_CLAIMS_BUDGET,
        })
    }

    /// Sets the byte budget of the rendered claims (R10.3).
    pub fn with_budget(mut self, budget: usize) -> Self {
        self.budget = budget;
        self
    }

    /// The byte budget of the rendered claims.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// Renders the claims for one session. Fails if their compact JSON is over the budget.
    pub fn render(&self, cx: &ClaimsContext<'_>) -> Result<Value, ClaimsError> {
        let claims = Value::Object(
            self.root
                .iter()
                .map(|(k, n)| (k.clone(), render_node(n, cx)))
                .collect(),
        );
        let size = measure_shallow(&claims);
        if size > self.budget {
            return Err(ClaimsError::OverBudget {
                size,
                budget: self.budget,
            });
        }
        Ok(claims)
    }
}
