//! Which tenant a request is for: the slug in `/t/{tenant}/…`. Every page
//! and every identity call of a request uses this one slug.

/// Lowercase latin letters, digits and inner hyphens, at most 63 characters
/// (a DNS label, so the same slug can later become a host name).
pub fn is_valid_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && !s.starts_with('-')
        && !s.ends_with('-')
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The root of a tenant's pages, e.g. `/t/demo`.
pub fn base(tenant: &str) -> String {
    format!("/t/{tenant}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(is_valid_slug("demo"));
        assert!(is_valid_slug("t-1"));
        assert!(!is_valid_slug(""));
        assert!(!is_valid_slug("Demo"));
        assert!(!is_valid_slug("-a"));
        assert!(!is_valid_slug("a/b"));
        assert!(!is_valid_slug("a%2e"));
        assert!(!is_valid_slug(&"a".repeat(64)));
    }
}
