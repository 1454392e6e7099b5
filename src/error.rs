//! The one error type every handler returns. It renders as the envelope with an
//! `error` machine code; internal causes are logged, never sent.

use std::borrow::Cow;

use axum::http::StatusCode;

use crate::model::{RejectKind, Rejection};
use crate::store::StoreError;

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: Cow<'static, str>,
    /// Seconds, for 429 and 503 answers.
    pub retry_after: Option<u64>,
    /// The internal cause of a 5xx; logged with the request id, never returned.
    pub source: Option<anyhow::Error>,
}

impl AppError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        AppError {
            status,
            code,
            message: message.into(),
            retry_after: None,
            source: None,
        }
    }

    pub fn validation(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "VALIDATION_FAILED", message)
    }

    pub fn not_found(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn tenant_not_found() -> Self {
        Self::not_found("TENANT_NOT_FOUND", "俱乐部不存在")
    }

    pub fn event_not_found() -> Self {
        Self::not_found("EVENT_NOT_FOUND", "演出不存在")
    }

    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        AppError {
            source: Some(source.into()),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_ERROR",
                "服务器内部错误，请稍后重试",
            )
        }
    }

    pub fn unavailable(source: impl Into<anyhow::Error>) -> Self {
        AppError {
            source: Some(source.into()),
            retry_after: Some(1),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                "服务繁忙，请稍后重试",
            )
        }
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )?;
        if let Some(src) = &self.source {
            write!(f, " ({src:#})")?;
        }
        Ok(())
    }
}

impl From<Rejection> for AppError {
    fn from(r: Rejection) -> Self {
        let status = match r.kind {
            RejectKind::Invalid => StatusCode::BAD_REQUEST,
            RejectKind::NotFound => StatusCode::NOT_FOUND,
            RejectKind::Conflict => StatusCode::CONFLICT,
            RejectKind::Forbidden => StatusCode::FORBIDDEN,
        };
        AppError::new(status, r.code, r.message)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rejected(r) => r.into(),
            StoreError::Closed => AppError::unavailable(anyhow::anyhow!("store is shutting down")),
            StoreError::Busy(msg) => AppError::unavailable(anyhow::anyhow!(msg)),
            other => AppError::internal(other),
        }
    }
}
