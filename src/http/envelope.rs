//! The response envelope `{code, message, data?, timestamp}` (timestamp in ms),
//! and the error variant that adds `error`, the machine code.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use utoipa::ToSchema;

use super::request_log::InternalCause;
use crate::error::AppError;
use crate::model::time::now_ms;

/// Documentation shape of a successful answer.
#[derive(Serialize, ToSchema)]
pub struct ApiResponse<T> {
    /// Equals the HTTP status.
    #[schema(example = 200)]
    pub code: u16,
    #[schema(example = "成功")]
    pub message: String,
    pub data: T,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
}

/// Documentation shape of a failed answer.
#[derive(Serialize, ToSchema)]
pub struct ApiError {
    #[schema(example = 404)]
    pub code: u16,
    /// User-facing Chinese text.
    #[schema(example = "演出不存在")]
    pub message: String,
    /// Stable UPPER_SNAKE machine code.
    #[schema(example = "EVENT_NOT_FOUND")]
    pub error: String,
    pub timestamp: i64,
}

const JSON: HeaderValue = HeaderValue::from_static("application/json; charset=utf-8");

/// Wraps already-serialized `data` JSON (a cache hit) without re-parsing it.
pub fn ok_raw(data: &[u8]) -> Response {
    ok_raw_with_message("成功", data)
}

pub fn ok_raw_with_message(message: &str, data: &[u8]) -> Response {
    envelope(message, data.len(), |buf| {
        buf.get_mut().put_slice(data);
        Ok(())
    })
}

pub fn ok<T: Serialize>(data: &T) -> Response {
    ok_with_message("成功", data)
}

/// Serializes `data` straight into the envelope's buffer (one allocation,
/// no copy of the data's JSON).
pub fn ok_with_message<T: Serialize>(message: &str, data: &T) -> Response {
    envelope(message, 1024, |buf| serde_json::to_writer(buf, data))
}

/// `{"code":200,"message":…,"data":…,"timestamp":…}` in one buffer, with
/// `data` written in place by `write_data`.
fn envelope(
    message: &str,
    data_len: usize,
    write_data: impl FnOnce(&mut bytes::buf::Writer<BytesMut>) -> serde_json::Result<()>,
) -> Response {
    let mut buf = BytesMut::with_capacity(data_len + 96).writer();
    let written = (|| {
        buf.get_mut().put_slice(b"{\"code\":200,\"message\":");
        // Messages are our own constants, but escape them properly anyway.
        serde_json::to_writer(&mut buf, message)?;
        buf.get_mut().put_slice(b",\"data\":");
        write_data(&mut buf)
    })();
    if let Err(e) = written {
        return AppError::internal(e).into_response();
    }
    let mut buf = buf.into_inner();
    buf.put_slice(b",\"timestamp\":");
    buf.put_slice(itoa::Buffer::new().format(now_ms()).as_bytes());
    buf.put_u8(b'}');
    json_response(StatusCode::OK, buf.freeze())
}

fn json_response(status: StatusCode, body: Bytes) -> Response {
    let mut res = (status, body).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, JSON);
    res
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: u16,
    message: &'a str,
    error: &'a str,
    timestamp: i64,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        // The access log writes the cause on the request's line, with its id.
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let cause = status
            .is_server_error()
            .then(|| InternalCause(self.to_string()));
        let body = ErrorBody {
            code: status.as_u16(),
            message: &self.message,
            error: self.code.as_str(),
            timestamp: now_ms(),
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let mut res = json_response(status, Bytes::from(bytes));
        if let Some(cause) = cause {
            res.extensions_mut().insert(cause);
        }
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}
