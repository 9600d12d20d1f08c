//! The bearer token: how a request presents it, compared in constant time.

use axum::http::header;

/// Whether the request's `Authorization` carries `token` as a bearer credential.
pub(super) fn presents_token(headers: &header::HeaderMap, token: &str) -> bool {
    let presented = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(bearer_token);
    presented.is_some_and(|p| same_secret(p, token))
}

/// Compares two secrets in time independent of where they differ.
pub(super) fn same_secret(a: &str, b: &str) -> bool {
    constant_time_eq(a.as_bytes(), b.as_bytes())
}

/// The token of an `Authorization: Bearer <token>` value; the scheme name is
/// case-insensitive (RFC 9110 section 11.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim_start())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for value in ["Bearer t0k", "bearer t0k", "BEARER  t0k", " Bearer t0k "] {
            assert_eq!(bearer_token(value), Some("t0k"), "{value}");
        }
        assert_eq!(bearer_token("Basic t0k"), None);
        assert_eq!(bearer_token("Bearer"), None);
    }
}
