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

/// Wraps already-serialized `data` JSON (a cache hit) without re-parsing it.
/// A large answer (the home page is 15 KB) goes out as three pieces (head,
/// the cached bytes themselves, tail), never copied; a small one (a show's
/// detail, 1.2 KB) is copied into one buffer, which costs less than
/// handing hyper three pieces.
pub fn ok_raw(data: &Bytes) -> Response {
    const COPY_BELOW: usize = 4 << 10;
    let mut ms = itoa::Buffer::new();
    let ms = ms.format(now_ms()).as_bytes();
    let body = if data.len() < COPY_BELOW {
        let mut all = BytesMut::with_capacity(SUCCESS_HEAD.len() + data.len() + TAIL.len() + 20);
        all.put_slice(SUCCESS_HEAD.as_bytes());
        all.put_slice(data);
        all.put_slice(TAIL);
        all.put_slice(ms);
        all.put_u8(b'}');
        axum::body::Body::from(all.freeze())
    } else {
        let mut tail = BytesMut::with_capacity(TAIL.len() + 20);
        tail.put_slice(TAIL);
        tail.put_slice(ms);
        tail.put_u8(b'}');
        axum::body::Body::new(Spliced {
            parts: [
                Bytes::from_static(SUCCESS_HEAD.as_bytes()),
                data.clone(),
                tail.freeze(),
            ],
            next: 0,
        })
    };
    let mut res = Response::new(body);
    *res.headers_mut() = super::hardening::json_headers();
    res
}

const SUCCESS_HEAD: &str = "{\"code\":200,\"message\":\"成功\",\"data\":";
const TAIL: &[u8] = b",\"timestamp\":";

/// A body of a few shared pieces, sent in order, its length known up front
/// (so the answer carries `content-length`, like any other).
struct Spliced {
    parts: [Bytes; 3],
    next: usize,
}

impl http_body::Body for Spliced {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        while self.next < self.parts.len() {
            let i = self.next;
            self.next += 1;
            let piece = std::mem::take(&mut self.parts[i]);
            if !piece.is_empty() {
                return std::task::Poll::Ready(Some(Ok(http_body::Frame::data(piece))));
            }
        }
        std::task::Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.parts[self.next.min(self.parts.len())..]
            .iter()
            .all(Bytes::is_empty)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        let left: usize = self.parts[self.next.min(self.parts.len())..]
            .iter()
            .map(Bytes::len)
            .sum();
        http_body::SizeHint::with_exact(left as u64)
    }
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
    let mut res = Response::new(axum::body::Body::from(body));
    *res.status_mut() = status;
    *res.headers_mut() = super::hardening::json_headers();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cached_answer_is_the_envelope_with_its_length_known() {
        let data = Bytes::from_static(br#"{"id":"x","tags":["a"]}"#);
        for (message, res) in [("成功", ok_raw(&data))] {
            use http_body::Body as _;
            let exact = res.body().size_hint().exact().expect("a known length");
            let body = axum::body::to_bytes(res.into_body(), 1 << 16)
                .await
                .unwrap();
            assert_eq!(exact, body.len() as u64);
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["code"], 200);
            assert_eq!(v["message"], message);
            assert_eq!(v["data"]["tags"][0], "a");
            assert!(v["timestamp"].as_i64().unwrap() > 1_700_000_000_000);
        }
    }
}
