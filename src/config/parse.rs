//! How one variable's text becomes its value. Each parser gets the trimmed,
//! non-empty text and answers the value or why not (Chinese, with
//! examples); the caller names the variable.

use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use chrono_tz::Tz;

use super::values::{AppEnv, Rate, Secret};

pub(super) type Parsed<T> = Result<T, String>;

/// Parses a duration written as seconds (`7200`) or with a unit
/// (`500ms`, `30s`, `15m`, `2h`, `7d`).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let n: u64 = num.parse().ok()?;
    if unit == "ms" {
        return (n > 0).then(|| Duration::from_millis(n));
    }
    let secs = match unit {
        "" | "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// Parses a size in bytes: `5242880`, `800KB`, `5MB` (units of 1024).
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let n: u64 = num.parse().ok()?;
    let factor = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1024,
        "M" | "MB" | "MIB" => 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(factor).filter(|b| *b > 0)
}

/// Parses `50/s`, `10/min`, `600/h` (also `10/m`, `100/1s`-style is refused).
pub fn parse_rate(text: &str) -> Option<Rate> {
    let (count, unit) = text.trim().split_once('/')?;
    let count: u32 = count.trim().parse().ok().filter(|c| *c > 0)?;
    let per = match unit.trim() {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "m" | "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        _ => return None,
    };
    Some(Rate { count, per })
}

/// A duration within `ok`, or `expected` with the value.
pub(super) fn duration(
    ok: impl Fn(&Duration) -> bool,
    expected: &'static str,
) -> impl Fn(&str) -> Parsed<Duration> {
    move |v| {
        parse_duration(v)
            .filter(|d| ok(d))
            .ok_or_else(|| format!("{expected}: {v:?}"))
    }
}

/// A whole number within `range`.
pub(super) fn count(range: RangeInclusive<usize>) -> impl Fn(&str) -> Parsed<usize> {
    move |v| {
        v.parse::<usize>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| format!("应为 {}-{} 的整数: {v:?}", range.start(), range.end()))
    }
}

pub(super) fn port(v: &str) -> Parsed<u16> {
    v.parse().map_err(|_| format!("应为 0-65535 的整数: {v:?}"))
}

pub(super) fn ip(v: &str) -> Parsed<IpAddr> {
    v.parse().map_err(|_| format!("不是合法的 IP 地址: {v:?}"))
}

pub(super) fn path(v: &str) -> Parsed<PathBuf> {
    Ok(PathBuf::from(v))
}

/// Comma-separated paths; empty items are skipped.
pub(super) fn paths(v: &str) -> Parsed<Vec<PathBuf>> {
    Ok(v.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .collect())
}

pub(super) fn text(v: &str) -> Parsed<String> {
    Ok(v.to_string())
}

pub(super) fn secret(v: &str) -> Parsed<Secret> {
    Ok(Secret(v.to_string()))
}

pub(super) fn metrics_token(v: &str) -> Parsed<Secret> {
    if v.len() < 16 {
        return Err("至少 16 个字符".into());
    }
    secret(v)
}

pub(super) fn app_env(v: &str) -> Parsed<AppEnv> {
    match v {
        "development" | "dev" => Ok(AppEnv::Development),
        "production" | "prod" => Ok(AppEnv::Production),
        _ => Err(format!("应为 development 或 production: {v:?}")),
    }
}

pub(super) fn timezone(v: &str) -> Parsed<Tz> {
    v.parse::<Tz>()
        .map_err(|_| format!("未知时区 (IANA 名称，如 Asia/Shanghai): {v:?}"))
}

pub(super) fn log_filter(v: &str) -> Parsed<String> {
    match tracing_subscriber::EnvFilter::builder().parse(v) {
        Ok(_) => Ok(v.to_string()),
        Err(_) => Err(format!(
            "应为 error/warn/info/debug/trace 或过滤指令: {v:?}"
        )),
    }
}

/// `json` is true.
pub(super) fn log_format(v: &str) -> Parsed<bool> {
    match v {
        "text" => Ok(false),
        "json" => Ok(true),
        _ => Err(format!("应为 text 或 json: {v:?}")),
    }
}

pub(super) fn on_off(v: &str) -> Parsed<bool> {
    match v {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("应为 on 或 off: {v:?}")),
    }
}

/// `1`/`true`/`on` or `0`/`false`/`off`.
pub(super) fn one_or_zero(v: &str) -> Parsed<bool> {
    match v {
        "1" | "true" | "on" => Ok(true),
        "0" | "false" | "off" => Ok(false),
        _ => Err(format!("应为 1 或 0: {v:?}")),
    }
}

/// `auto` (or `on`) is true.
pub(super) fn auto_or_off(v: &str) -> Parsed<bool> {
    match v {
        "auto" | "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("应为 auto 或 off: {v:?}")),
    }
}

/// A rate, or `off` for none.
pub(super) fn rate_or_off(v: &str) -> Parsed<Option<Rate>> {
    if v == "off" {
        return Ok(None);
    }
    parse_rate(v)
        .map(Some)
        .ok_or_else(|| format!("应为 次数/单位，如 50/s、10/min、600/h，或 off: {v:?}"))
}

/// An http(s) base URL, without its trailing `/`.
pub(super) fn base_url(v: &str) -> Parsed<String> {
    if v.starts_with("https://") || v.starts_with("http://") {
        Ok(v.trim_end_matches('/').to_string())
    } else {
        Err("应为 http(s) 地址".into())
    }
}

/// A path from the site root or an http(s) address, without its trailing `/`.
pub(super) fn static_url(v: &str) -> Parsed<String> {
    if v.starts_with('/') || v.starts_with("http://") || v.starts_with("https://") {
        Ok(v.trim_end_matches('/').to_string())
    } else {
        Err(format!("应为以 / 开头的路径或 http(s) 地址: {v:?}"))
    }
}

pub(super) fn upload_size(v: &str) -> Parsed<u64> {
    parse_size(v)
        .filter(|b| (1024..=50 * 1024 * 1024).contains(b))
        .ok_or_else(|| format!("应为 800KB、5MB 这样的大小（1KB-50MB）: {v:?}"))
}

/// Comma-separated origins, each `scheme://host[:port]` and nothing after.
pub(super) fn origins(v: &str) -> Parsed<Vec<String>> {
    v.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| {
            let ok = o.split_once("://").is_some_and(|(scheme, host)| {
                matches!(scheme, "http" | "https")
                    && !host.is_empty()
                    && !host.contains(['/', ' ', '*'])
            });
            ok.then(|| o.to_string())
                .ok_or_else(|| format!("应为以逗号分隔的来源，如 https://club.example.com: {o:?}"))
        })
        .collect()
}
