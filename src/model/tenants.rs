//! A club's own settings as its owner edits them: the spec's `TenantConfig`
//! (name, logo, theme, contact, features) plus the buyers' refund cut-off.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Timestamp;
use super::catalog::{Contact, Features, TenantConfig, Theme};
use super::fields::{image_ref, in_range, optional_text, refuse, text};
use crate::error::Rejection;

/// The longest refund cut-off a club may set: 30 days.
pub const MAX_REFUND_CUTOFF_MINUTES: i64 = 30 * 24 * 60;

/// The body of `PUT /api/admin/tenant`: the whole settings.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantSettingsInput {
    /// 1-100 characters.
    pub name: String,
    /// An https URL or a `/static/...` upload.
    pub logo: Option<String>,
    /// Each `#rrggbb`; a colour left out is the default.
    #[serde(default)]
    pub theme: Theme,
    pub contact: Option<Contact>,
    #[serde(default)]
    pub features: Features,
    /// Buyers may refund until this many minutes before a show (0 to
    /// 43,200); null or absent: the server's `REFUND_CUTOFF`.
    pub refund_cutoff_minutes: Option<i64>,
}

/// The settings as validated.
#[derive(Debug, Clone)]
pub struct TenantSettings {
    pub name: String,
    pub logo: Option<String>,
    pub theme: Theme,
    pub contact: Option<Contact>,
    pub features: Features,
    pub refund_cutoff_ms: Option<i64>,
}

fn colour(value: &str, field: &str) -> Result<String, Rejection> {
    let v = value.trim();
    let ok = v.len() == 7 && v.starts_with('#') && v[1..].chars().all(|c| c.is_ascii_hexdigit());
    if !ok {
        return Err(refuse(field, "须为 #rrggbb 格式的颜色"));
    }
    Ok(v.to_string())
}

fn phone(value: Option<&str>) -> Result<Option<String>, Rejection> {
    let Some(v) = optional_text(value, "contact.phone", 20, false)? else {
        return Ok(None);
    };
    let digits = v.chars().filter(char::is_ascii_digit).count();
    if digits < 5 || !v.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c)) {
        return Err(refuse(
            "contact.phone",
            "须为电话号码（数字，可含 + - 括号与空格）",
        ));
    }
    Ok(Some(v))
}

fn email(value: Option<&str>) -> Result<Option<String>, Rejection> {
    let Some(v) = optional_text(value, "contact.email", 100, false)? else {
        return Ok(None);
    };
    let ok = match v.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !v
                    .chars()
                    .any(|c| c.is_whitespace() || "<>\"'(),;:\\".contains(c))
        }
        None => false,
    };
    if !ok {
        return Err(refuse("contact.email", "须为邮箱地址，如 club@example.com"));
    }
    Ok(Some(v))
}

impl TenantSettingsInput {
    pub fn validate(&self) -> Result<TenantSettings, Rejection> {
        let t = &self.theme;
        let theme = Theme {
            primary: colour(&t.primary, "theme.primary")?,
            accent: colour(&t.accent, "theme.accent")?,
            bg: colour(&t.bg, "theme.bg")?,
            text: colour(&t.text, "theme.text")?,
            muted: colour(&t.muted, "theme.muted")?,
        };
        let contact = match &self.contact {
            None => None,
            Some(c) => {
                let c = Contact {
                    phone: phone(c.phone.as_deref())?,
                    address: optional_text(c.address.as_deref(), "contact.address", 200, false)?,
                    email: email(c.email.as_deref())?,
                };
                (c.phone.is_some() || c.address.is_some() || c.email.is_some()).then_some(c)
            }
        };
        let refund_cutoff_ms = self
            .refund_cutoff_minutes
            .map(|m| in_range(m, "refundCutoffMinutes", 0, MAX_REFUND_CUTOFF_MINUTES))
            .transpose()?
            .map(|m| m * 60_000);
        Ok(TenantSettings {
            name: text(&self.name, "name", 100, false)?,
            logo: image_ref(self.logo.as_deref(), "logo")?,
            theme,
            contact,
            features: self.features.clone(),
            refund_cutoff_ms,
        })
    }
}

/// The settings as the owner sees them: the public config and the rest.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminTenant {
    #[serde(flatten)]
    pub config: TenantConfig,
    /// The cut-off in force, in minutes.
    pub refund_cutoff_minutes: i64,
    /// True when the club has not set one and the server's applies.
    pub refund_cutoff_is_default: bool,
    /// The club's time zone (the server's `TIMEZONE`): dates and times in
    /// the admin API are meant in it.
    #[schema(example = "Asia/Shanghai")]
    pub timezone: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> TenantSettingsInput {
        TenantSettingsInput {
            name: "笑声俱乐部".into(),
            logo: None,
            theme: Theme::default(),
            contact: Some(Contact {
                phone: Some("021-6234 5678".into()),
                address: None,
                email: Some("hi@club.example.com".into()),
            }),
            features: Features::default(),
            refund_cutoff_minutes: Some(120),
        }
    }

    fn field(r: Result<TenantSettings, Rejection>) -> String {
        r.unwrap_err()
            .message
            .split('：')
            .next()
            .unwrap()
            .to_string()
    }

    #[test]
    fn settings_validate_each_field() {
        let ok = input().validate().unwrap();
        assert_eq!(ok.refund_cutoff_ms, Some(7_200_000));
        let mut i = input();
        i.theme.accent = "red".into();
        assert_eq!(field(i.validate()), "theme.accent");
        let mut i = input();
        i.theme.bg = "#12345g".into();
        assert_eq!(field(i.validate()), "theme.bg");
        for bad in [
            "a@b",
            "@b.com",
            "a@@b.com",
            "a b@c.com",
            "<a>@b.com",
            "a@.com",
        ] {
            let mut i = input();
            i.contact.as_mut().unwrap().email = Some(bad.into());
            assert_eq!(field(i.validate()), "contact.email", "{bad}");
        }
        for bad in ["1234", "abc12345", "138-0013-8000-0000-0000"] {
            let mut i = input();
            i.contact.as_mut().unwrap().phone = Some(bad.into());
            assert_eq!(field(i.validate()), "contact.phone", "{bad}");
        }
        let mut i = input();
        i.refund_cutoff_minutes = Some(-1);
        assert_eq!(field(i.validate()), "refundCutoffMinutes");
        let mut i = input();
        i.name = " ".into();
        assert_eq!(field(i.validate()), "name");
        let mut i = input();
        i.contact = Some(Contact::default());
        assert!(
            i.validate().unwrap().contact.is_none(),
            "empty contact is none"
        );
    }
}
