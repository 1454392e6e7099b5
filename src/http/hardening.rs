//! The headers every answer carries: its request id and the hardening set.
//!
//! JSON answers start from one prepared map ([`json_headers`]) that already
//! holds the hardening set and a placeholder id, so finishing one
//! ([`finish`]) is a single lookup. Any other answer (the console's pages,
//! uploaded files, metrics) gets each header unless it set its own.

use std::sync::LazyLock;

use axum::http::header::{self, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue};

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub(crate) const JSON: HeaderValue = HeaderValue::from_static("application/json; charset=utf-8");

/// Stands for the request id in a prepared map until [`finish`] fills it in.
const UNSET_ID: HeaderValue = HeaderValue::from_static("-");

/// The headers of a JSON answer: its type, the hardening set and a place
/// for the request id. A copy of a map built once: inserting them one by
/// one (a hash and a probe each) cost more than anything else a cached read
/// does in the middleware.
pub(crate) fn json_headers() -> HeaderMap {
    static PREPARED: LazyLock<HeaderMap> = LazyLock::new(|| {
        // Room for what axum and a handler add (length, retry-after, HSTS).
        let mut h = HeaderMap::with_capacity(16);
        h.insert(CONTENT_TYPE, JSON);
        h.insert(X_REQUEST_ID.clone(), UNSET_ID);
        security_headers(&mut h, false);
        h
    });
    PREPARED.clone()
}

/// Gives an answer its request id, and the hardening headers it lacks.
pub(super) fn finish(h: &mut HeaderMap, id: &HeaderValue, hsts: bool) {
    match h.get_mut(&X_REQUEST_ID) {
        // Prepared by `json_headers`: the rest is there already.
        Some(v) if *v == UNSET_ID => *v = id.clone(),
        _ => {
            security_headers(h, false);
            h.insert(X_REQUEST_ID.clone(), id.clone());
        }
    }
    if hsts {
        security_headers(h, true);
    }
}

/// Whether the proxy (trusted) says the buyer came over HTTPS: only then
/// is HSTS sent.
pub(super) fn came_over_https<B>(req: &axum::http::Request<B>, trust_proxy: bool) -> bool {
    trust_proxy
        && req
            .headers()
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

/// Each header unless the handler set its own (the console sets a stricter
/// CSP for its pages). JSON never runs as a page: no framing, no sniffing,
/// no scripts. The camera is allowed for the door scanner.
///
/// Names and values are constants, checked when compiled: `from_static`
/// called at run time re-checks every byte of every value on every answer.
fn security_headers(h: &mut HeaderMap, hsts: bool) {
    const NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");
    const DENY: HeaderValue = HeaderValue::from_static("DENY");
    const REFERRER: HeaderValue = HeaderValue::from_static("strict-origin-when-cross-origin");
    const CSP: HeaderValue = HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'");
    const PERMISSIONS_POLICY: HeaderName = HeaderName::from_static("permissions-policy");
    const PERMISSIONS: HeaderValue =
        HeaderValue::from_static("camera=(self), microphone=(), geolocation=()");
    const COOP_NAME: HeaderName = HeaderName::from_static("cross-origin-opener-policy");
    const COOP: HeaderValue = HeaderValue::from_static("same-origin");
    const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000; includeSubDomains");
    if hsts {
        // Only when the proxy says the buyer came over HTTPS.
        h.entry(header::STRICT_TRANSPORT_SECURITY).or_insert(HSTS);
        return;
    }
    h.reserve(6);
    h.entry(header::X_CONTENT_TYPE_OPTIONS).or_insert(NOSNIFF);
    h.entry(header::X_FRAME_OPTIONS).or_insert(DENY);
    h.entry(header::REFERRER_POLICY).or_insert(REFERRER);
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(CSP);
    h.entry(PERMISSIONS_POLICY).or_insert(PERMISSIONS);
    h.entry(COOP_NAME).or_insert(COOP);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(h: &HeaderMap) -> Vec<String> {
        let mut n: Vec<String> = h.keys().map(|k| k.to_string()).collect();
        n.sort();
        n
    }

    /// The prepared path and the header-by-header path end with the same
    /// headers and values.
    #[test]
    fn a_prepared_answer_ends_like_any_other() {
        let id = HeaderValue::from_static("abc-1");
        let mut prepared = json_headers();
        finish(&mut prepared, &id, false);
        let mut plain = HeaderMap::new();
        plain.insert(CONTENT_TYPE, JSON);
        finish(&mut plain, &id, false);
        assert_eq!(names(&prepared), names(&plain));
        for (k, v) in &plain {
            assert_eq!(prepared.get(k), Some(v), "{k}");
        }
        assert_eq!(prepared[&X_REQUEST_ID], "abc-1");
        assert!(!prepared.contains_key(header::STRICT_TRANSPORT_SECURITY));
        finish(&mut prepared, &id, true);
        assert!(prepared.contains_key(header::STRICT_TRANSPORT_SECURITY));
    }

    #[test]
    fn a_handlers_own_policy_is_kept() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("script-src 'self'"),
        );
        finish(&mut h, &HeaderValue::from_static("x"), false);
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], "script-src 'self'");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(h[&X_REQUEST_ID], "x");
    }
}
