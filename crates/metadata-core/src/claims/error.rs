//! Errors of claims templates (R10.2, R10.3).

use crate::error::MetadataError;

/// Why a template does not compile, or a rendering does not fit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsError {
    /// The template is not a JSON object within the input limits.
    #[error("the claims template is not a valid JSON object: {source}")]
    InvalidTemplate {
        /// Why.
        #[source]
        source: MetadataError,
    },
    /// A shortcode does not parse.
    #[error("claim {claim:?}: {message}")]
    Syntax {
        /// Where in the template, as `key.sub[2]`.
        claim: String,
        /// What is wrong.
        message: String,
    },
    /// A shortcode names a private tier, which can never go into a token (R10.2).
    #[error("claim {claim:?} names {source_name}, a private tier: private metadata can never be copied into a session token")]
    PrivateTier {
        /// Where in the template.
        claim: String,
        /// The source it named.
        source_name: String,
    },
    /// A shortcode names something that is not a source (R10.2).
    #[error("claim {claim:?} names unknown source {source_name:?}; sources are user.public_metadata, user.unsafe_metadata, org.public_metadata, org_membership.public_metadata, user.id and org.id")]
    UnknownSource {
        /// Where in the template.
        claim: String,
        /// The source it named.
        source_name: String,
    },
    /// The rendered claims are over the byte budget (R10.3).
    #[error("the rendered claims are {size} bytes, over the budget of {budget} bytes")]
    OverBudget {
        /// The compact JSON size of the rendered claims.
        size: usize,
        /// The budget.
        budget: usize,
    },
}

impl ClaimsError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            ClaimsError::OverBudget { .. } => "claims_over_budget",
            _ => "claims_template_invalid",
        }
    }

    /// The claim the error points at, if it is about one.
    pub fn claim(&self) -> Option<&str> {
        match self {
            ClaimsError::Syntax { claim, .. }
            | ClaimsError::PrivateTier { claim, .. }
            | ClaimsError::UnknownSource { claim, .. } => Some(claim),
            _ => None,
        }
    }
}
