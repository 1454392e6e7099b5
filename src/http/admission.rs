//! Whether a request is refused before the app sees it: too large a URL
//! or head, or an address over its `/api` rate.

use axum::body::Body;
use axum::http::Request;

use super::guards::client_ip;
use crate::error::{AppError, Code};
use crate::state::AppState;

/// Longest URL (path and query) we take; the catalogue's longest is a few
/// hundred bytes.
pub const MAX_URI_BYTES: usize = 8 << 10;
/// Most header bytes (names and values) we take; a browser sends 1–2 KB.
pub const MAX_HEADER_BYTES: usize = 32 << 10;

/// A request refused before the app sees it for its size, as our envelope.
fn oversized(req: &Request<Body>) -> Option<AppError> {
    if req.uri().path_and_query().map_or(0, |p| p.as_str().len()) > MAX_URI_BYTES {
        return Some(AppError::new(Code::UriTooLong, "请求地址过长（最多 8 KB）"));
    }
    let headers: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    (headers > MAX_HEADER_BYTES)
        .then(|| AppError::new(Code::HeadersTooLarge, "请求头过大（最多 32 KB）"))
}

/// The refusal for this request, if any: its size first, then (with the
/// app's state; unit tests have none) the per-IP `/api` limit.
pub(super) fn refusal(req: &Request<Body>, state: Option<&AppState>) -> Option<AppError> {
    oversized(req).or_else(|| {
        let state = state?;
        let path = req.uri().path();
        // WeChat Pay's notifies come from a few WeChat addresses, hundreds
        // a second at an on-sale peak: refusing them would only delay
        // payments (they are verified by signature instead).
        if !path.starts_with("/api/") || path.starts_with("/api/payments/wechat/") {
            return None;
        }
        let ip = client_ip(req.headers(), req.extensions(), state.config.trust_proxy);
        state.limits.check_api(ip).err()
    })
}
