//! What a club puts on its home page besides shows: banners and merch, as
//! the admin edits them (bodies, validation, the admin shapes).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::catalog::ActiveStatus;
use super::fields::{image_ref, instant, link, optional_text, refuse, sort_order, yuan};
use super::{Fen, Timestamp};
use crate::error::{Code, Rejection};

/// Which of the two lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Banner,
    Merch,
}

impl Kind {
    /// As the audit log names it.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Banner => "banner",
            Kind::Merch => "merch",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Banner => "横幅",
            Kind::Merch => "周边",
        }
    }

    pub fn not_found(self) -> Rejection {
        let code = match self {
            Kind::Banner => Code::BannerNotFound,
            Kind::Merch => Code::MerchNotFound,
        };
        Rejection::new(code, format!("{}不存在", self.label()))
    }
}

/// One kind of home-page item (a banner, a piece of merch): which list it
/// is in, the body the console sends and what that body becomes once
/// checked. The service, the store and the routes are written once over it.
pub trait Item: Serialize + Send + 'static {
    const KIND: Kind;
    type Input: Send + 'static;
    type Draft: Send + 'static;
    fn check(input: &Self::Input) -> Result<Self::Draft, Rejection>;
}

impl Item for AdminBanner {
    const KIND: Kind = Kind::Banner;
    type Input = BannerInput;
    type Draft = BannerDraft;
    fn check(input: &BannerInput) -> Result<BannerDraft, Rejection> {
        input.validate()
    }
}

impl Item for AdminMerch {
    const KIND: Kind = Kind::Merch;
    type Input = MerchInput;
    type Draft = MerchDraft;
    fn check(input: &MerchInput) -> Result<MerchDraft, Rejection> {
        input.validate()
    }
}

/// At most this many banners, or merch items, per club.
pub const MAX_ITEMS: usize = 50;

fn status(value: Option<&str>) -> Result<ActiveStatus, Rejection> {
    match value {
        None => Ok(ActiveStatus::Active),
        Some(s) => {
            ActiveStatus::parse(s.trim()).ok_or_else(|| refuse("status", "须为 active 或 disabled"))
        }
    }
}

fn required_image(value: &str) -> Result<String, Rejection> {
    image_ref(Some(value), "image")?.ok_or_else(|| refuse("image", "请上传或填写图片地址"))
}

/// The body of `POST`/`PUT /api/admin/banners`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BannerInput {
    /// 0-50 characters.
    #[schema(
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]{0,48}[^\s\x00-\x1f\x7f-\x9f])?)?[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub title: Option<String>,
    /// An https URL or a `/static/...` upload.
    #[schema(min_length = 1, max_length = 500)]
    pub image: String,
    /// A mini-program page path or an https URL.
    #[schema(max_length = 500)]
    pub link: Option<String>,
    /// One of the club's shows.
    pub event_id: Option<String>,
    /// 0-9999, smaller first.
    #[schema(minimum = 0, maximum = 9999)]
    pub sort_order: Option<i64>,
    /// RFC 3339; shown from then (always, if absent).
    pub starts_at: Option<String>,
    /// RFC 3339; shown until then.
    pub ends_at: Option<String>,
    /// active (default) | disabled
    #[schema(value_type = Option<ActiveStatus>)]
    pub status: Option<String>,
}

/// A banner as validated.
#[derive(Debug, Clone)]
pub struct BannerDraft {
    pub title: String,
    pub image: String,
    pub link: Option<String>,
    pub event_id: Option<String>,
    pub sort_order: i64,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub status: ActiveStatus,
}

impl BannerInput {
    pub fn validate(&self) -> Result<BannerDraft, Rejection> {
        let starts_at = instant(self.starts_at.as_deref(), "startsAt")?;
        let ends_at = instant(self.ends_at.as_deref(), "endsAt")?;
        if let (Some(s), Some(e)) = (starts_at, ends_at)
            && e <= s
        {
            return Err(refuse("endsAt", "须晚于 startsAt"));
        }
        let event_id = self
            .event_id
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|e| {
                if crate::ids::looks_like_id(e) {
                    Ok(e.to_string())
                } else {
                    Err(refuse("eventId", "演出不存在"))
                }
            })
            .transpose()?;
        Ok(BannerDraft {
            title: optional_text(self.title.as_deref(), "title", 50, false)?.unwrap_or_default(),
            image: required_image(&self.image)?,
            link: link(self.link.as_deref(), "link")?,
            event_id,
            sort_order: sort_order(self.sort_order, "sortOrder")?,
            starts_at,
            ends_at,
            status: status(self.status.as_deref())?,
        })
    }
}

/// A banner as the admin sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminBanner {
    pub id: String,
    pub title: String,
    pub image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    pub sort_order: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub starts_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<Timestamp>,
    pub status: ActiveStatus,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// The body of `POST`/`PUT /api/admin/merch`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MerchInput {
    /// 1-50 characters.
    #[schema(
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]{0,48}[^\s\x00-\x1f\x7f-\x9f])?[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name: String,
    /// Up to 500 characters, several lines.
    #[schema(
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x08\x0b-\x1f\x7f-\x9f]{0,498}[^\s\x00-\x1f\x7f-\x9f])?)?[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub description: Option<String>,
    #[schema(max_length = 500)]
    pub image: Option<String>,
    /// Yuan, at most two decimals.
    #[schema(value_type = f64)]
    pub price: serde_json::Number,
    /// The struck-through price, if any (not below `price`).
    #[schema(value_type = Option<f64>)]
    pub original_price: Option<serde_json::Number>,
    /// A mini-program page path or an https URL (the shop).
    #[schema(max_length = 500)]
    pub link: Option<String>,
    #[schema(minimum = 0, maximum = 9999)]
    pub sort_order: Option<i64>,
    /// active (default) | disabled
    #[schema(value_type = Option<ActiveStatus>)]
    pub status: Option<String>,
}

#[derive(Debug, Clone)]
pub struct MerchDraft {
    pub name: String,
    pub description: Option<String>,
    pub image: Option<String>,
    pub price: Fen,
    pub original_price: Option<Fen>,
    pub link: Option<String>,
    pub sort_order: i64,
    pub status: ActiveStatus,
}

impl MerchInput {
    pub fn validate(&self) -> Result<MerchDraft, Rejection> {
        let price = yuan(&self.price, "price")?;
        let original_price = self
            .original_price
            .as_ref()
            .map(|n| yuan(n, "originalPrice"))
            .transpose()?;
        if original_price.is_some_and(|o| o.0 < price.0) {
            return Err(refuse("originalPrice", "不能低于 price"));
        }
        Ok(MerchDraft {
            name: super::fields::text(&self.name, "name", 50, false)?,
            description: optional_text(self.description.as_deref(), "description", 500, true)?,
            image: image_ref(self.image.as_deref(), "image")?,
            price,
            original_price,
            link: link(self.link.as_deref(), "link")?,
            sort_order: sort_order(self.sort_order, "sortOrder")?,
            status: status(self.status.as_deref())?,
        })
    }
}

/// A merch item as the admin sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminMerch {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[schema(value_type = f64)]
    pub price: Fen,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub original_price: Option<Fen>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    pub sort_order: i64,
    pub status: ActiveStatus,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// `PUT …/order`: every one of the club's items, each once, in the new order.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReorderInput {
    pub ids: Vec<String>,
}

impl ReorderInput {
    /// The ids, checked against the club's `current` ones.
    pub fn validate(&self, current: &[String]) -> Result<Vec<String>, Rejection> {
        let mut seen = std::collections::HashSet::new();
        let complete = self.ids.len() == current.len()
            && self
                .ids
                .iter()
                .all(|id| current.contains(id) && seen.insert(id.as_str()));
        if !complete {
            return Err(refuse(
                "ids",
                format!("须列出全部 {} 项，每项一次", current.len()),
            ));
        }
        Ok(self.ids.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn banner() -> BannerInput {
        BannerInput {
            title: Some("跨年专场".into()),
            image: "/static/dt/a.png".into(),
            link: Some("/pages/event/detail?id=1".into()),
            event_id: None,
            sort_order: Some(1),
            starts_at: None,
            ends_at: None,
            status: None,
        }
    }

    fn message(r: Result<BannerDraft, Rejection>) -> String {
        r.unwrap_err().message
    }

    #[test]
    fn banners_validate_each_field() {
        assert!(banner().validate().is_ok());
        let mut b = banner();
        b.image = " ".into();
        assert!(message(b.validate()).starts_with("image："));
        let mut b = banner();
        b.link = Some("javascript:alert(1)".into());
        assert!(message(b.validate()).starts_with("link："));
        let mut b = banner();
        b.sort_order = Some(-1);
        assert!(message(b.validate()).starts_with("sortOrder："));
        let mut b = banner();
        b.starts_at = Some("2026-12-02T10:00:00+08:00".into());
        b.ends_at = Some("2026-12-02T09:00:00+08:00".into());
        assert!(message(b.validate()).starts_with("endsAt："));
        let mut b = banner();
        b.status = Some("on".into());
        assert!(message(b.validate()).starts_with("status："));
        let mut b = banner();
        b.event_id = Some("x' OR 1=1".into());
        assert!(message(b.validate()).starts_with("eventId："));
    }

    #[test]
    fn a_reorder_names_every_item_once() {
        let cur = vec!["a".to_string(), "b".to_string()];
        let r = |ids: &[&str]| {
            ReorderInput {
                ids: ids.iter().map(|s| s.to_string()).collect(),
            }
            .validate(&cur)
        };
        assert_eq!(r(&["b", "a"]).unwrap(), ["b", "a"]);
        assert!(r(&["a"]).is_err());
        assert!(r(&["a", "a"]).is_err());
        assert!(r(&["a", "c"]).is_err());
        assert!(r(&["a", "b", "b"]).is_err());
    }
}
