//! Extractors whose rejections are our envelope (400 `VALIDATION_FAILED` with a
//! Chinese message naming the field) instead of axum's plain-text answers.
//! serde's English is translated here, never passed on; the original goes
//! to the debug log only.

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
            .map_err(|e| AppError::validation(query_message(&e.body_text())))
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
            .map_err(|e| {
                tracing::debug!(detail = %e.body_text(), "path refused");
                AppError::validation("路径参数格式错误")
            })
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
    use axum::extract::rejection::JsonRejection as R;
    let text = e.body_text();
    tracing::debug!(detail = %text, "body refused");
    AppError::validation(match e {
        R::MissingJsonContentType(_) => {
            "请求体须为 JSON 格式（Content-Type 须为 application/json）".to_string()
        }
        R::JsonSyntaxError(_) => syntax_message(&text),
        R::JsonDataError(_) => data_message(
            text.strip_prefix("Failed to deserialize the JSON body into the target type: ")
                .unwrap_or(&text),
        ),
        _ => "请求体无法读取".to_string(),
    })
}

/// " at line 3 column 7" → (3, 7), and the text before it.
fn position(text: &str) -> (&str, Option<(u64, u64)>) {
    if let Some(at) = text.rfind(" at line ") {
        let rest = &text[at + " at line ".len()..];
        if let Some((line, column)) = rest.split_once(" column ")
            && let (Ok(l), Ok(c)) = (line.trim().parse(), column.trim().parse())
        {
            return (&text[..at], Some((l, c)));
        }
    }
    (text, None)
}

fn syntax_message(text: &str) -> String {
    match position(text).1 {
        Some((l, c)) => format!("请求体不是有效的 JSON（第 {l} 行第 {c} 列附近）"),
        None => "请求体不是有效的 JSON".to_string(),
    }
}

/// What serde expected, in Chinese.
fn expected(what: &str) -> &'static str {
    let w = what.trim();
    if w.contains("integer")
        || [
            "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "usize", "isize",
        ]
        .contains(&w)
    {
        "整数"
    } else if w.contains("f64") || w.contains("f32") || w.contains("number") || w.contains("float")
    {
        "数字"
    } else if w.contains("string") || w.contains("char") {
        "字符串"
    } else if w.contains("bool") {
        "布尔值（true 或 false）"
    } else if w.contains("sequence") || w.contains("array") || w.contains("tuple") {
        "数组"
    } else {
        "对象"
    }
}

/// A field path as serde_path_to_error writes it (`userInfo.name`,
/// `scans[3].qrCode`, `.` for the whole body), or `None` for a message.
fn field_path(text: &str) -> (Option<&str>, &str) {
    if let Some((path, rest)) = text.split_once(": ")
        && !path.is_empty()
        && !path.contains(char::is_whitespace)
    {
        let path = (path != ".").then_some(path);
        return (path, rest);
    }
    (None, text)
}

/// serde's account of a body that parsed as JSON but not as the route's
/// shape, in Chinese, naming the field.
fn data_message(text: &str) -> String {
    let (text, _) = position(text);
    let (path, what) = field_path(text);
    let under = |name: &str| match path {
        Some(p) => format!("{p}.{name}"),
        None => name.to_string(),
    };
    let field = path.unwrap_or("请求体");
    let quoted = |s: &str| s.split('`').nth(1).map(str::to_string);
    if let Some(rest) = what.strip_prefix("missing field ") {
        return format!("缺少字段 {}", under(&quoted(rest).unwrap_or_default()));
    }
    if let Some(rest) = what.strip_prefix("unknown field ") {
        return format!("不支持的字段 {}", under(&quoted(rest).unwrap_or_default()));
    }
    if let Some(rest) = what.strip_prefix("duplicate field ") {
        return format!("字段 {} 重复", under(&quoted(rest).unwrap_or_default()));
    }
    if what.starts_with("invalid type: null") {
        return format!("{field} 不能为 null");
    }
    if let Some(rest) = what.strip_prefix("invalid type: ") {
        let want = rest.rsplit_once("expected ").map(|(_, e)| e).unwrap_or("");
        return format!("{field} 须为{}", expected(want));
    }
    if what.starts_with("unknown variant") || what.starts_with("invalid value") {
        return format!("{field} 的取值无效");
    }
    if what.starts_with("invalid length") {
        return format!("{field} 的长度不正确");
    }
    if what.contains("out of range") || what.contains("too large") {
        return format!("{field} 超出范围");
    }
    format!("{field} 格式错误")
}

/// axum's account of a query string serde could not read (`page=abc`), in
/// Chinese, naming the parameter.
fn query_message(text: &str) -> String {
    tracing::debug!(detail = %text, "query refused");
    let text = text
        .strip_prefix("Failed to deserialize query string: ")
        .unwrap_or(text);
    let (path, what) = field_path(text);
    let name = path.unwrap_or("查询参数");
    if let Some(rest) = what.strip_prefix("missing field ") {
        let field = rest.split('`').nth(1).unwrap_or_default();
        return format!("缺少查询参数 {field}");
    }
    if what.contains("invalid digit") || what.contains("empty string") {
        return format!("{name} 须为整数");
    }
    if what.contains("invalid float") {
        return format!("{name} 须为数字");
    }
    if what.contains("too large") || what.contains("too small") || what.contains("out of range") {
        return format!("{name} 超出范围");
    }
    if what.contains("provided string was not") {
        return format!("{name} 须为 true 或 false");
    }
    format!("{name} 格式错误")
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

/// A free-text filter: at most 50 characters.
pub(crate) fn keyword_param(v: Option<String>) -> Result<Option<String>, AppError> {
    match non_empty(v) {
        Some(k) if k.chars().count() > 50 => {
            Err(AppError::validation("keyword 不能超过 50 个字符"))
        }
        k => Ok(k),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_speaks_chinese_naming_the_field() {
        for (english, chinese) in [
            (
                "missing field `userInfo` at line 1 column 98",
                "缺少字段 userInfo",
            ),
            (
                "userInfo: missing field `name` at line 1 column 60",
                "缺少字段 userInfo.name",
            ),
            (
                "quantity: invalid type: string \"2\", expected i64 at line 1 column 20",
                "quantity 须为整数",
            ),
            (
                "price: invalid type: boolean `true`, expected f64 at line 1 column 9",
                "price 须为数字",
            ),
            (
                "scans[2].qrCode: invalid type: integer `5`, expected a string at line 1 column 9",
                "scans[2].qrCode 须为字符串",
            ),
            (
                "invalid type: sequence, expected struct OrderBody at line 1 column 1",
                "请求体 须为对象",
            ),
            (
                "status: unknown variant `lost`, expected one of `a`, `b`",
                "status 的取值无效",
            ),
            (
                "quantity: invalid type: null, expected i64 at line 1 column 15",
                "quantity 不能为 null",
            ),
            (
                "quantity: number out of range at line 1 column 40",
                "quantity 超出范围",
            ),
        ] {
            assert_eq!(data_message(english), chinese, "{english}");
        }
        assert_eq!(
            syntax_message(
                "Failed to parse the request body as JSON: EOF while parsing an object at line 1 column 5"
            ),
            "请求体不是有效的 JSON（第 1 行第 5 列附近）"
        );
        for (english, chinese) in [
            (
                "Failed to deserialize query string: page: invalid digit found in string",
                "page 须为整数",
            ),
            (
                "Failed to deserialize query string: year: cannot parse integer from empty string",
                "year 须为整数",
            ),
            (
                "Failed to deserialize query string: missing field `code`",
                "缺少查询参数 code",
            ),
            (
                "Failed to deserialize query string: pageSize: number too large to fit in target type",
                "pageSize 超出范围",
            ),
        ] {
            assert_eq!(query_message(english), chinese, "{english}");
        }
    }
}
