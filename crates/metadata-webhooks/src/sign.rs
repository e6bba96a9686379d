//! Standard Webhooks v1 signatures: HMAC-SHA256 over `id.timestamp.body` with a secret given as
//! `whsec_<base64>`, sent as `v1,<base64 signature>`, several at once (space-separated) while a
//! secret is rotated.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{KeyInit, Mac};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// A signing secret, parsed from its `whsec_<base64>` form. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// A secret that is not `whsec_` followed by base64.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a webhook secret is `whsec_` followed by base64")]
pub struct BadSecret;

impl Secret {
    /// Parses `whsec_<base64>` (the prefix may be left out, as Standard Webhooks allows).
    ///
    /// ```
    /// use metadata_webhooks::Secret;
    /// assert!(Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
    /// assert!(Secret::parse("whsec_not base64!").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Secret, BadSecret> {
        let encoded = text.strip_prefix("whsec_").unwrap_or(text);
        let bytes = STANDARD.decode(encoded).map_err(|_| BadSecret)?;
        if bytes.is_empty() {
            return Err(BadSecret);
        }
        Ok(Secret(bytes))
    }

    /// The `v1,<base64>` signature of one message.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// The signature header's value: one `v1,<base64>` per secret, space-separated.
pub fn signatures(secrets: &[Secret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|s| s.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference implementations.
    #[test]
    fn signs_the_specification_example() {
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn several_secrets_sign_at_once_and_bad_ones_are_refused() {
        let a = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let b = Secret::parse("c2Vjb25kIHNlY3JldA==").unwrap();
        let both = signatures(&[a.clone(), b.clone()], "msg_1", 1, b"{}");
        assert_eq!(
            both,
            format!(
                "{} {}",
                a.sign("msg_1", 1, b"{}"),
                b.sign("msg_1", 1, b"{}")
            )
        );
        for bad in ["whsec_", "whsec_***", ""] {
            assert_eq!(Secret::parse(bad).unwrap_err(), BadSecret, "{bad}");
        }
        assert_eq!(format!("{a:?}"), "Secret(..)");
    }
}
