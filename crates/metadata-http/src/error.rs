//! Errors in the reference product's envelope:
//! `{"errors":[{"code","message","long_message","meta":{"param_name"}}]}`; a value that does not
//! match its schema adds `meta.pointer`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use metadata_core::{codes, Error};
use serde_json::json;

/// An HTTP error: a status and one entry of the envelope.
#[derive(Debug)]
pub struct ApiError {
    /// The response status.
    pub status: StatusCode,
    /// The stable machine code (`resource_not_found`, ...).
    pub code: &'static str,
    /// A short message.
    pub message: String,
    /// A longer message.
    pub long_message: String,
    /// The request parameter the error is about, if any.
    pub param_name: Option<String>,
    /// The JSON pointer inside that parameter (a tier) the error is about: where a value does
    /// not match its schema (R13.1). Written as `meta.pointer`, a field of this project's own.
    pub pointer: Option<String>,
}

/// Codes for refusals the HTTP layer makes itself.
pub mod http_codes {
    /// No or a wrong `Authorization: Bearer` secret key, or no frontend principal.
    pub const UNAUTHORIZED: &str = "authentication_invalid";
    /// The request body is over the configured limit.
    pub const BODY_TOO_LARGE: &str = "request_body_too_large";
    /// The request body is not `application/json`.
    pub const UNSUPPORTED_CONTENT_TYPE: &str = "unsupported_content_type";
    /// `If-Match` named another version than the record has.
    pub const PRECONDITION_FAILED: &str = "precondition_failed";
    /// The method is not served on this path.
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    /// The server failed.
    pub const INTERNAL: &str = "internal_error";
}

impl ApiError {
    /// An error with the same short and long message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        let message = message.into();
        ApiError {
            status,
            code,
            long_message: message.clone(),
            message,
            param_name: None,
            pointer: None,
        }
    }

    /// Names the request parameter the error is about.
    pub fn param(mut self, name: impl Into<String>) -> Self {
        self.param_name = Some(name.into());
        self
    }

    /// 401.
    pub fn unauthorized() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            http_codes::UNAUTHORIZED,
            "Unauthorized request",
        )
    }

    /// 404 for a path no route serves.
    pub fn no_route() -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            "The requested resource was not found",
        )
    }

    /// 422 for a missing or invalid request parameter.
    pub fn invalid(code: &'static str, param: &str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message).param(param)
    }

    /// The library's error, with the status the reference product gives its code. `if_match`
    /// says whether the request stated its expected version with `If-Match`, which turns a
    /// version conflict into 412.
    pub fn from_error(err: &Error, if_match: bool) -> Self {
        let status = match err {
            Error::Conflict { .. } if if_match => StatusCode::PRECONDITION_FAILED,
            Error::Conflict { .. } | Error::AlreadyExists { .. } | Error::Frozen { .. } => {
                StatusCode::CONFLICT
            }
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::AccessDenied { .. } => StatusCode::FORBIDDEN,
            Error::Storage {
                retryable: true, ..
            } => StatusCode::SERVICE_UNAVAILABLE,
            Error::Storage { .. } | Error::OutcomeUnknown { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let code = match err {
            Error::Conflict { .. } if if_match => http_codes::PRECONDITION_FAILED,
            other => other.code(),
        };
        // Storage errors say no more than their code to a caller: the source is the host's.
        let message = match err {
            Error::Storage { .. } | Error::OutcomeUnknown { .. } => {
                "The request could not be completed; the storage failed".to_owned()
            }
            other => other.to_string(),
        };
        let mut api = ApiError::new(status, code, message);
        if let Some(param) = err.param() {
            api = api.param(param);
        }
        api.pointer = err.pointer().map(str::to_owned);
        api
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        ApiError::from_error(&err, false)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "errors": [{
                "code": self.code,
                "message": self.message,
                "long_message": self.long_message,
                "meta": match (&self.param_name, &self.pointer) {
                    (Some(p), Some(at)) => json!({ "param_name": p, "pointer": at }),
                    (Some(p), None) => json!({ "param_name": p }),
                    _ => json!({}),
                },
            }]
        });
        let mut response = (self.status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_failures_are_503_when_retryable_and_500_otherwise() {
        let retryable = Error::Storage {
            retryable: true,
            source: "connection lost".into(),
        };
        let api = ApiError::from(retryable);
        assert_eq!(
            (api.status, api.code),
            (StatusCode::SERVICE_UNAVAILABLE, codes::STORAGE)
        );
        assert!(
            !api.message.contains("connection lost"),
            "the source stays the host's"
        );
        let response = api.into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let permanent = ApiError::from(Error::Storage {
            retryable: false,
            source: "disk full".into(),
        });
        assert_eq!(permanent.status, StatusCode::INTERNAL_SERVER_ERROR);
        let unknown = ApiError::from(Error::OutcomeUnknown {
            source: "lost while committing".into(),
        });
        assert_eq!(
            (unknown.status, unknown.code),
            (StatusCode::INTERNAL_SERVER_ERROR, codes::OUTCOME_UNKNOWN)
        );
    }
}
