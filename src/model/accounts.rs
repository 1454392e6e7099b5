//! Users (mini-program buyers) and admins (club staff) as the API shows them,
//! and the validation rules for what they may set.

use crate::error::Code;
use serde::Serialize;
use utoipa::ToSchema;

use super::Timestamp;
use super::catalog::ActiveStatus;
use crate::error::Rejection;

/// The spec's `User`. `session_key` is deliberately not a field.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub openid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub real_name: Option<String>,
    /// 0 unknown, 1 male, 2 female.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = gender_schema)]
    pub gender: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    pub status: ActiveStatus,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum AdminRole {
    /// Everything in the club.
    Owner,
    /// Check-in and read-only order lookup.
    Staff,
}

impl AdminRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AdminRole::Owner => "owner",
            AdminRole::Staff => "staff",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(AdminRole::Owner),
            "staff" => Some(AdminRole::Staff),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Admin {
    pub id: String,
    pub tenant_id: String,
    pub username: String,
    pub role: AdminRole,
    pub status: ActiveStatus,
    /// How the console and the door name this person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_login_at: Option<Timestamp>,
    /// The latest lock wrong passwords put on this username from one
    /// address (that address only), while it lasts.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub locked_until: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// What every admin request checks: the admin is active in an active club,
/// in this role, and its tokens of this session epoch are good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub role: AdminRole,
    pub epoch: i64,
}

/// Mainland China mobile number: 11 digits starting 13-19.
/// `gender` as the spec types it: `0 | 1 | 2`.
pub fn gender_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Integer)
        .enum_values(Some([0, 1, 2]))
        .description(Some("0 unknown, 1 male, 2 female."))
        .build()
}

pub fn valid_mobile(phone: &str) -> bool {
    let b = phone.as_bytes();
    b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && b.iter().all(u8::is_ascii_digit)
}

fn invalid(msg: impl Into<String>) -> Rejection {
    Rejection::new(Code::ValidationFailed, msg)
}

/// Trimmed text of 1..=max characters without control characters.
pub fn bounded_text(value: &str, field: &str, max: usize) -> Result<String, Rejection> {
    let v = value.trim();
    let n = v.chars().count();
    if n == 0 || n > max {
        return Err(invalid(format!("{field} 须为 1-{max} 个字符")));
    }
    if v.chars().any(char::is_control) {
        return Err(invalid(format!("{field} 不能包含控制字符")));
    }
    Ok(v.to_string())
}

pub fn valid_phone(value: &str) -> Result<String, Rejection> {
    let v = value.trim();
    if valid_mobile(v) {
        Ok(v.to_string())
    } else {
        Err(invalid("手机号格式不正确，须为 11 位中国大陆手机号"))
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
        return Err(invalid(format!(
            "{field} 须为 http(s) 地址，最长 500 个字符"
        )));
    }
    Ok(v.to_string())
}

/// Admin usernames: 3-32 of letters, digits, `_ . @ -`.
pub fn valid_username(value: &str) -> Result<String, Rejection> {
    let v = value.trim();
    if (3..=32).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'@' | b'-'))
    {
        Ok(v.to_string())
    } else {
        Err(invalid("用户名须为 3-32 位字母、数字或 _ . @ -"))
    }
}

pub const MIN_PASSWORD_CHARS: usize = 10;
/// Bounded so hashing a hostile multi-megabyte "password" costs nothing
/// extra; counted in characters, as the OpenAPI `maxLength` counts.
pub const MAX_PASSWORD_CHARS: usize = 128;
/// The longest password a login reads: `MAX_PASSWORD_CHARS` of four bytes.
pub const MAX_PASSWORD_BYTES: usize = 4 * MAX_PASSWORD_CHARS;

pub fn valid_new_password(p: &str) -> Result<(), Rejection> {
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&p.chars().count()) {
        return Err(invalid(format!(
            "密码须为 {MIN_PASSWORD_CHARS}-{MAX_PASSWORD_CHARS} 个字符"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn usernames_and_passwords() {
        assert!(valid_username("admin").is_ok());
        assert!(valid_username("ab").is_err());
        assert!(valid_username("a b c").is_err());
        assert!(valid_username("管理员").is_err());
        assert!(valid_new_password("123456789").is_err());
        assert!(valid_new_password("1234567890").is_ok());
        assert!(valid_new_password(&"x".repeat(257)).is_err());
    }
}

/// Who acts on the admin side: an admin of the club in `scope`.
#[derive(Debug, Clone)]
pub struct AdminActor {
    pub id: String,
    pub scope: crate::model::scope::TenantScope,
}
