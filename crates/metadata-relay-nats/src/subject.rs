//! NATS subjects for events: `<prefix>.<kind>.<id>`, the id escaped to one subject token.

use metadata_core::ResourceKind;

/// The subject of an event: `<prefix>.<kind>.<id>`, where `kind` is the record's wire `object`
/// name and `id` its storage key as one token: bytes a subject token cannot hold (`.`, `*`,
/// `>`, whitespace, control and non-ASCII bytes) and `%` itself are written `%XX`.
///
/// ```
/// use metadata_core::ResourceKind;
/// let subject = metadata_relay_nats::subject("metadata", ResourceKind::Membership, "org_1,user.2");
/// assert_eq!(subject, "metadata.organization_membership.org_1,user%2E2");
/// ```
pub fn subject(prefix: &str, kind: ResourceKind, id: &str) -> String {
    let mut out = format!("{prefix}.{}.", kind.object_name());
    for byte in id.bytes() {
        match byte {
            b'.' | b'*' | b'>' | b'%' => out.push_str(&format!("%{byte:02X}")),
            0x21..=0x7e => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_is_one_token() {
        for id in ["a b", "x>y", "*", "é", "100%", "a\u{0}b", ""] {
            let s = subject("p", ResourceKind::User, id);
            let token = s.strip_prefix("p.user.").unwrap();
            assert!(
                token
                    .bytes()
                    .all(|b| (0x21..=0x7e).contains(&b) && !b".*>".contains(&b)),
                "{s}"
            );
        }
    }
}
