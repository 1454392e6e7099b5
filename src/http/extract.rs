//! Extractors whose rejections are our envelope (400 `VALIDATION_FAILED` with a
//! Chinese message) instead of axum's plain-text answers.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// Query string, deserialized.
pub struct Q<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Q<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Q(q.0))
            .map_err(|e| AppError::validation(format!("查询参数格式错误: {}", e.body_text())))
    }
}

/// Path parameters, deserialized.
pub struct P<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for P<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| P(p.0))
            .map_err(|e| AppError::validation(format!("路径参数格式错误: {}", e.body_text())))
    }
}

/// JSON body, deserialized.
///
/// A well-formed body is parsed once with plain serde_json. Only a body that
/// fails goes through axum's `Json`, which parses again while tracking the
/// path to the offending field for the message: that tracking cost about half
/// of the parse on every order at an on-sale peak (perf). Anything other than
/// a plain `application/json` content type takes axum's path from the start,
/// so its checks and answers are exactly axum's.
pub struct J<T>(pub T);

fn body_error(e: axum::extract::rejection::JsonRejection) -> AppError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::new(
            crate::error::Code::BodyTooLarge,
            "请求内容过大（JSON 最多 64 KB，离线检票同步最多 1 MB）",
        );
    }
    AppError::validation(format!("请求体格式错误: {}", e.body_text()))
}

/// `application/json`, optionally with parameters: what clients send.
fn plain_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for J<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        if !plain_json(req.headers()) {
            return axum::Json::<T>::from_request(req, state)
                .await
                .map(|j| J(j.0))
                .map_err(body_error);
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| body_error(e.into()))?;
        if let Ok(value) = serde_json::from_slice::<T>(&bytes) {
            return Ok(J(value));
        }
        axum::Json::<T>::from_bytes(&bytes)
            .map(|j| J(j.0))
            .map_err(body_error)
    }
}

/// The `Idempotency-Key` header, if sent, as text. Read on its own rather
/// than through a `HeaderMap` extractor, which copies every header.
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        match parts.headers.get("idempotency-key") {
            None => Ok(IdempotencyKey(None)),
            Some(v) => v
                .to_str()
                .map(|v| IdempotencyKey(Some(v.to_string())))
                .map_err(|_| AppError::validation("Idempotency-Key 须为可见 ASCII 字符")),
        }
    }
}

/// Trims an optional query value; empty means absent.
pub fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}
