//! Field checks every admin body shares: trimmed text, image and link
//! references, yuan amounts, instants and ranges. Each refusal is a
//! `VALIDATION_FAILED` whose message starts with the field (`title：…`).

use chrono::DateTime;

use super::Fen;
use crate::error::{Code, Rejection};

/// The highest price a club may set: ¥100,000.
pub const MAX_PRICE: Fen = Fen(10_000_000);

pub fn refuse(field: &str, what: impl std::fmt::Display) -> Rejection {
    Rejection::new(Code::ValidationFailed, format!("{field}：{what}"))
}

/// Trimmed text of 1..=max characters without control characters
/// (`multiline` lets newlines and tabs through).
pub fn text(value: &str, field: &str, max: usize, multiline: bool) -> Result<String, Rejection> {
    let v = value.trim();
    let n = v.chars().count();
    if n == 0 || n > max {
        return Err(refuse(field, format!("须为 1-{max} 个字符")));
    }
    if v.chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\t')))
    {
        return Err(refuse(field, "不能包含控制字符"));
    }
    Ok(v.to_string())
}

pub fn optional_text(
    value: Option<&str>,
    field: &str,
    max: usize,
    multiline: bool,
) -> Result<Option<String>, Rejection> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => text(v, field, max, multiline).map(Some),
    }
}

/// The reason an admin gives for a cancellation or a refund (`what`):
/// 1-200 characters on one line.
pub fn admin_reason(value: &str, what: &str) -> Result<String, Rejection> {
    text(value, "reason", 200, false).map_err(|_| {
        refuse(
            "reason",
            format!("请填写{what}（1-200 个字符，不含控制字符）"),
        )
    })
}

/// An https URL or a path under `/static/` (an upload).
pub fn image_ref(value: Option<&str>, field: &str) -> Result<Option<String>, Rejection> {
    let Some(v) = optional_text(value, field, 500, false)? else {
        return Ok(None);
    };
    let lower = v.to_ascii_lowercase();
    let ok = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .map(|rest| !rest.is_empty() && !rest.starts_with('/'))
        .unwrap_or_else(|| lower.starts_with("/static/") && !lower.contains(".."));
    if !ok || v.chars().any(char::is_whitespace) {
        return Err(refuse(field, "须为 https 地址或 /static/ 下的上传文件"));
    }
    Ok(Some(v))
}

/// Yuan as a JSON number: at most two decimals, 0 to ¥100,000.
pub fn yuan(n: &serde_json::Number, field: &str) -> Result<Fen, Rejection> {
    match Fen::parse_yuan(&n.to_string()) {
        Some(f) if (0..=MAX_PRICE.0).contains(&f.0) => Ok(f),
        _ => Err(refuse(field, "须为 0-100000 元的金额，最多两位小数")),
    }
}

/// An RFC 3339 instant as unix milliseconds.
pub fn instant(value: Option<&str>, field: &str) -> Result<Option<i64>, Rejection> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => DateTime::parse_from_rfc3339(v)
            .map(|t| Some(t.timestamp_millis()))
            .map_err(|_| refuse(field, "须为 RFC 3339 时间，如 2026-12-01T10:00:00+08:00")),
    }
}

pub fn in_range(v: i64, field: &str, lo: i64, hi: i64) -> Result<i64, Rejection> {
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(refuse(field, format!("须在 {lo} 到 {hi} 之间")))
    }
}

/// Where a tap leads: a mini-program page path (`/pages/…` or `pages/…`)
/// or an https URL with a host. Anything else — `javascript:`, `data:`,
/// `http:`, a protocol-relative `//host` — is refused.
pub fn link(value: Option<&str>, field: &str) -> Result<Option<String>, Rejection> {
    let Some(v) = optional_text(value, field, 500, false)? else {
        return Ok(None);
    };
    let safe_chars = !v
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '\\' | '<' | '>' | '"' | '\'' | '`'));
    let ok = safe_chars
        && match v.get(..8) {
            Some(p) if p.eq_ignore_ascii_case("https://") => {
                let host = v[8..].split(['/', '?', '#']).next().unwrap_or("");
                !host.is_empty()
                    && !host.contains('@')
                    && host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
            }
            _ => {
                let path = v.strip_prefix('/').unwrap_or(&v);
                !v.starts_with("//")
                    && path.starts_with(|c: char| c.is_ascii_alphanumeric())
                    && !path.split(['?', '#']).next().unwrap_or("").contains(':')
            }
        };
    if !ok {
        return Err(refuse(
            field,
            "须为小程序页面路径（如 /pages/event/detail?id=…）或 https 地址",
        ));
    }
    Ok(Some(v))
}

/// A list position: 0-9999.
pub fn sort_order(value: Option<i64>, field: &str) -> Result<i64, Rejection> {
    in_range(value.unwrap_or(0), field, 0, 9_999)
}

/// Mainland China mobile number: 11 digits starting 13-19.
pub fn valid_mobile(phone: &str) -> bool {
    let b = phone.as_bytes();
    b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && b.iter().all(u8::is_ascii_digit)
}

/// Trimmed text of 1..=max characters without control characters.
pub fn bounded_text(value: &str, field: &str, max: usize) -> Result<String, Rejection> {
    let v = value.trim();
    let n = v.chars().count();
    if n == 0 || n > max {
        return Err(refuse_plain(format!("{field} 须为 1-{max} 个字符")));
    }
    if v.chars().any(char::is_control) {
        return Err(refuse_plain(format!("{field} 不能包含控制字符")));
    }
    Ok(v.to_string())
}

pub fn valid_phone(value: &str) -> Result<String, Rejection> {
    let v = value.trim();
    if valid_mobile(v) {
        Ok(v.to_string())
    } else {
        Err(refuse_plain("手机号格式不正确，须为 11 位中国大陆手机号"))
    }
}

/// An http(s) URL of bounded length with no spaces or control characters.
pub fn valid_url(value: &str, field: &str) -> Result<String, Rejection> {
    let v = value.trim();
    let lower = v.to_ascii_lowercase();
    let has_host = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
    if !has_host || v.len() > 500 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refuse_plain(format!(
            "{field} 须为 http(s) 地址，最长 500 个字符"
        )));
    }
    Ok(v.to_string())
}
fn refuse_plain(msg: impl Into<String>) -> Rejection {
    Rejection::new(Code::ValidationFailed, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_page_paths_or_https() {
        for good in [
            "/pages/event/detail?id=01ABC",
            "pages/index/index",
            "https://example.com/a?b=c#d",
            "https://shop.example.com:8443",
        ] {
            assert_eq!(
                link(Some(good), "link"),
                Ok(Some(good.to_string())),
                "{good}"
            );
        }
        assert_eq!(link(Some("  "), "link"), Ok(None));
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,<script>",
            "http://example.com",
            "//evil.example.com",
            "https://",
            "https://user@evil.example.com",
            "https://a.com/\"onload=x",
            "/pages/a b",
            "vbscript:x",
            "pages:x",
            "/\\evil.com",
        ] {
            let e = link(Some(bad), "link").unwrap_err();
            assert!(e.message.starts_with("link："), "{bad}");
        }
    }

    #[test]
    fn mobile_numbers() {
        for ok in ["13800138000", "19912345678", "15000000000"] {
            assert!(valid_mobile(ok), "{ok}");
        }
        for bad in [
            "",
            "1380013800",
            "138001380000",
            "12800138000",
            "23800138000",
            "1380013800a",
            "+8613800138000",
            "１３８００１３８０００",
        ] {
            assert!(!valid_mobile(bad), "{bad}");
        }
    }

    #[test]
    fn urls_and_text() {
        assert!(valid_url("https://img.example.com/a.png", "avatar").is_ok());
        assert!(valid_url("HTTP://x.cn/a", "avatar").is_ok());
        for bad in [
            "",
            "ftp://x",
            "javascript:alert(1)",
            "https://",
            "https:///x",
            "https://a b",
            "data:image/png;base64,xx",
        ] {
            assert!(valid_url(bad, "avatar").is_err(), "{bad}");
        }
        assert!(valid_url(&format!("https://x.cn/{}", "a".repeat(500)), "avatar").is_err());
        assert_eq!(bounded_text("  小明 ", "nickname", 32).unwrap(), "小明");
        assert!(bounded_text("", "nickname", 32).is_err());
        assert!(bounded_text("a\u{0}b", "nickname", 32).is_err());
        assert!(bounded_text(&"长".repeat(33), "nickname", 32).is_err());
        assert!(bounded_text(&"长".repeat(32), "nickname", 32).is_ok());
    }
}
