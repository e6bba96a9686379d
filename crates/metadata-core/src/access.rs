//! The access matrix (contract §2) as one table, and the frontend's ownership rule (R2.2).

use crate::error::Error;
use crate::ids::{SignUpId, UserId};
use crate::tier::{ResourceKind, Tier};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which surface calls the library (contract §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Surface {
    /// The host service's own trusted code.
    Backend,
    /// Code acting for one signed-in user or one sign-up attempt.
    Frontend,
}

impl fmt::Display for Surface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Surface::Backend => "backend",
            Surface::Frontend => "frontend",
        })
    }
}

/// Reading or writing a tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Reading.
    Read,
    /// Writing (replace or merge).
    Write,
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Access::Read => "read",
            Access::Write => "write",
        })
    }
}

/// The whole matrix of contract §2, one row a tier:
/// `[frontend read, frontend write, backend read, backend write]`.
const MATRIX: [(Tier, [bool; 4]); 3] = [
    (Tier::Private, [false, false, true, true]),
    (Tier::Public, [true, false, true, true]),
    (Tier::Unsafe, [true, true, true, true]),
];

/// Whether the matrix lets `surface` have `access` to `tier` (R2.1).
pub const fn allows(surface: Surface, tier: Tier, access: Access) -> bool {
    let column = match (surface, access) {
        (Surface::Frontend, Access::Read) => 0,
        (Surface::Frontend, Access::Write) => 1,
        (Surface::Backend, Access::Read) => 2,
        (Surface::Backend, Access::Write) => 3,
    };
    let mut row = 0;
    while row < MATRIX.len() {
        if MATRIX[row].0 as usize == tier as usize {
            return MATRIX[row].1[column];
        }
        row += 1;
    }
    false
}

/// Checks that `kind` has `tier` (R1.1) and that the matrix allows the access (R2.1).
pub fn check(
    surface: Surface,
    kind: ResourceKind,
    tier: Tier,
    access: Access,
) -> Result<(), Error> {
    if !kind.has_tier(tier) {
        return Err(Error::UnsupportedTier { kind, tier });
    }
    if !allows(surface, tier, access) {
        return Err(Error::AccessDenied {
            surface,
            kind,
            tier,
            access,
        });
    }
    Ok(())
}

/// Who the frontend acts for (R2.2). The host builds this from its own session, after it has
/// authenticated the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrontendPrincipal {
    /// A signed-in user, with the email addresses the host has verified for it.
    User {
        /// The user.
        user_id: UserId,
        /// Verified email addresses, compared with invitations ignoring ASCII case.
        verified_emails: Vec<String>,
    },
    /// A sign-up attempt still in progress.
    SignUp {
        /// The sign-up attempt.
        sign_up_id: SignUpId,
    },
}

impl FrontendPrincipal {
    /// A signed-in user with no verified email addresses.
    pub fn user(user_id: UserId) -> Self {
        FrontendPrincipal::User {
            user_id,
            verified_emails: Vec::new(),
        }
    }

    /// A sign-up attempt.
    pub fn sign_up(sign_up_id: SignUpId) -> Self {
        FrontendPrincipal::SignUp { sign_up_id }
    }

    /// Adds a verified email address.
    pub fn with_verified_email(mut self, email: impl Into<String>) -> Self {
        if let FrontendPrincipal::User {
            verified_emails, ..
        } = &mut self
        {
            verified_emails.push(email.into());
        }
        self
    }

    /// The signed-in user, if this is one.
    pub fn user_id(&self) -> Option<&UserId> {
        match self {
            FrontendPrincipal::User { user_id, .. } => Some(user_id),
            FrontendPrincipal::SignUp { .. } => None,
        }
    }

    /// The key of the principal's own record: its user, or its sign-up attempt. The frontend
    /// reads and writes that record and no other of its kind (R2.2).
    pub fn own_key(&self) -> crate::RecordKey {
        match self {
            FrontendPrincipal::User { user_id, .. } => crate::RecordKey::User(user_id.clone()),
            FrontendPrincipal::SignUp { sign_up_id } => {
                crate::RecordKey::SignUp(sign_up_id.clone())
            }
        }
    }

    /// Whether `email` is one of this principal's verified addresses.
    pub fn has_verified_email(&self, email: &str) -> bool {
        match self {
            FrontendPrincipal::User {
                verified_emails, ..
            } => verified_emails
                .iter()
                .any(|e| e.eq_ignore_ascii_case(email)),
            FrontendPrincipal::SignUp { .. } => false,
        }
    }
}

/// The facts R2.2 needs about a record beyond the record itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// Whether the principal's user is a member of the record's organization (for an
    /// organization or a membership).
    pub is_member: bool,
}

/// Whether the frontend principal may see `record` at all (R2.2). A record it may not see is
/// *not found* to it.
pub fn frontend_sees(principal: &FrontendPrincipal, record: &crate::Record, facts: Facts) -> bool {
    use crate::Record;
    match (principal, record) {
        (FrontendPrincipal::User { user_id, .. }, Record::User(u)) => &u.id == user_id,
        (FrontendPrincipal::SignUp { sign_up_id }, Record::SignUp(s)) => &s.id == sign_up_id,
        (FrontendPrincipal::User { .. }, Record::Organization(_) | Record::Membership(_)) => {
            facts.is_member
        }
        (FrontendPrincipal::User { .. }, Record::Invitation(i)) => {
            principal.has_verified_email(&i.email_address)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// contract §2, cell by cell, written out independently of `MATRIX`.
    fn expected(surface: Surface, tier: Tier, access: Access) -> bool {
        let frontend_may_not = matches!(
            (tier, surface, access),
            (Tier::Private, Surface::Frontend, _)
                | (Tier::Public, Surface::Frontend, Access::Write)
        );
        !frontend_may_not
    }

    #[test]
    fn r2_1_r1_1_every_resource_tier_surface_and_access() {
        let mut checked = 0;
        for kind in ResourceKind::ALL {
            for tier in Tier::ALL {
                for surface in [Surface::Backend, Surface::Frontend] {
                    for access in [Access::Read, Access::Write] {
                        let result = check(surface, kind, tier, access);
                        if !kind.has_tier(tier) {
                            assert!(
                                matches!(result, Err(Error::UnsupportedTier { kind: k, tier: t }) if k == kind && t == tier)
                            );
                        } else if expected(surface, tier, access) {
                            assert!(result.is_ok(), "{surface} {access} {kind} {tier}");
                        } else {
                            assert!(
                                matches!(result, Err(Error::AccessDenied { surface: s, kind: k, tier: t, access: a })
                                    if s == surface && k == kind && t == tier && a == access),
                                "{surface} {access} {kind} {tier}"
                            );
                        }
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 5 * 3 * 2 * 2);
    }

    #[test]
    fn r1_tiers_per_resource_match_the_table() {
        use ResourceKind::*;
        use Tier::*;
        let table = [
            (User, [true, true, true]),
            (SignUp, [false, false, true]),
            (Organization, [true, true, false]),
            (Membership, [true, true, false]),
            (Invitation, [true, false, false]),
        ];
        for (kind, has) in table {
            for (tier, has) in [Public, Private, Unsafe].into_iter().zip(has) {
                assert_eq!(kind.has_tier(tier), has, "{kind} {tier}");
            }
        }
    }

    #[test]
    fn r2_4_frontend_writes_only_unsafe_tiers() {
        for kind in ResourceKind::ALL {
            for tier in Tier::ALL {
                let ok = check(Surface::Frontend, kind, tier, Access::Write).is_ok();
                assert_eq!(
                    ok,
                    tier == Tier::Unsafe
                        && matches!(kind, ResourceKind::User | ResourceKind::SignUp)
                );
            }
        }
    }
}
