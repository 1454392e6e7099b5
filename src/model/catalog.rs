//! The catalogue as the mini-program sees it: field for field the spec's
//! TypeScript interfaces (camelCase, money in yuan), plus the additions DESIGN.md §4
//! names (sale window, recommendation, purchase limits).

use crate::error::Code;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Fen, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum EventStatus {
    /// Admin-only: never shown publicly.
    Draft,
    Upcoming,
    OnSale,
    SoldOut,
    Cancelled,
}

/// [`EventStatus`] as the public answers can say it (no `draft`): the
/// spec's `Event.status`.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code, reason = "documentation only")]
pub enum PublicEventStatus {
    Upcoming,
    OnSale,
    SoldOut,
    Cancelled,
}

impl EventStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Draft => "draft",
            EventStatus::Upcoming => "upcoming",
            EventStatus::OnSale => "onSale",
            EventStatus::SoldOut => "soldOut",
            EventStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "draft" => EventStatus::Draft,
            "upcoming" => EventStatus::Upcoming,
            "onSale" => EventStatus::OnSale,
            "soldOut" => EventStatus::SoldOut,
            "cancelled" => EventStatus::Cancelled,
            _ => return None,
        })
    }

    /// The statuses a public caller may filter by.
    pub fn parse_public(s: &str) -> Option<Self> {
        Self::parse(s).filter(|st| *st != EventStatus::Draft)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ActiveStatus {
    Active,
    Disabled,
}

impl ActiveStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ActiveStatus::Active => "active",
            ActiveStatus::Disabled => "disabled",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(ActiveStatus::Active),
            "disabled" => Some(ActiveStatus::Disabled),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceOption {
    pub id: String,
    pub event_id: String,
    pub name: String,
    /// Yuan, at most two decimals.
    #[schema(value_type = f64, example = 88.5)]
    pub price: Fen,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub original_price: Option<Fen>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub total_count: i64,
    pub remaining_count: i64,
    pub sort_order: i64,
    pub status: ActiveStatus,
    /// Admin answers only: what the option has sold.
    #[serde(flatten)]
    #[schema(ignore)]
    pub sales: Option<super::sales::Sales>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: String,
    pub tenant_id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poster: Option<String>,
    pub city: String,
    pub venue: String,
    pub address: String,
    /// YYYY-MM-DD, the club's local date.
    #[schema(example = "2026-12-25")]
    pub event_date: String,
    /// HH:mm, the club's local time.
    #[schema(example = "19:30")]
    pub event_time: String,
    /// Minutes.
    pub duration: i64,
    pub total_seats: i64,
    pub remaining_seats: i64,
    pub performers: Vec<String>,
    pub tags: Vec<String>,
    /// A buyer never sees a draft; the admin answers may say `draft`.
    #[schema(value_type = PublicEventStatus)]
    pub status: EventStatus,
    /// Sorted by `sortOrder`.
    pub price_options: Vec<PriceOption>,
    /// When tickets go on sale (即将开售), RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sale_start_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sale_end_at: Option<Timestamp>,
    /// The show's start as an instant, RFC 3339.
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: Timestamp,
    pub is_recommended: bool,
    pub max_per_order: i64,
    pub max_per_user: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// Admin answers only: version, sales and cancellation.
    #[serde(flatten)]
    #[schema(ignore)]
    pub admin: Option<super::sales::EventAdminInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Theme {
    pub primary: String,
    pub accent: String,
    pub bg: String,
    pub text: String,
    pub muted: String,
}

impl Default for Theme {
    fn default() -> Self {
        Theme {
            primary: "#FF5A36".into(),
            accent: "#FFC53D".into(),
            bg: "#111111".into(),
            text: "#FFFFFF".into(),
            muted: "#8C8C8C".into(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Contact {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Features {
    pub enable_calendar: bool,
    pub enable_membership: bool,
    pub enable_coupon: bool,
}

impl Default for Features {
    fn default() -> Self {
        Features {
            enable_calendar: true,
            enable_membership: false,
            enable_coupon: false,
        }
    }
}

/// The spec's `TenantConfig`: what the mini-program themes itself with.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TenantConfig {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
    pub theme: Theme,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    pub features: Features,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Banner {
    pub id: String,
    pub title: String,
    pub image: String,
    /// A mini-program page path to open on tap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The show the banner advertises, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    pub sort_order: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MerchItem {
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
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HomeData {
    pub banners: Vec<Banner>,
    /// The next shows, soonest first.
    pub upcoming: Vec<Event>,
    /// Shows the club recommends, soonest first.
    pub recommended: Vec<Event>,
    /// Shows whose sale has not opened yet (即将开售), soonest sale first.
    pub upcoming_sale: Vec<Event>,
    pub merch: Vec<MerchItem>,
}

/// The spec's paginated shape.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
    pub total_pages: i64,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, total: i64, page: i64, page_size: i64) -> Self {
        let total_pages = if page_size > 0 {
            (total + page_size - 1) / page_size
        } else {
            0
        };
        Page {
            items,
            total,
            page,
            page_size,
            total_pages,
        }
    }
}

/// Validated page request: page ≥ 1, 1 ≤ pageSize ≤ 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRequest {
    pub page: i64,
    pub page_size: i64,
}

impl PageRequest {
    pub const MAX_PAGE_SIZE: i64 = 100;

    pub fn new(page: Option<i64>, page_size: Option<i64>) -> Result<Self, crate::error::Rejection> {
        let page = page.unwrap_or(1);
        let page_size = page_size.unwrap_or(10);
        if !(1..=1_000_000).contains(&page) {
            return Err(crate::error::Rejection::new(
                Code::ValidationFailed,
                "page 须为不小于 1 的整数",
            ));
        }
        if !(1..=Self::MAX_PAGE_SIZE).contains(&page_size) {
            return Err(crate::error::Rejection::new(
                Code::ValidationFailed,
                "pageSize 须在 1 到 100 之间",
            ));
        }
        Ok(PageRequest { page, page_size })
    }

    pub fn offset(self) -> i64 {
        (self.page - 1) * self.page_size
    }
}

/// Tenant ids are human ("dt", "xclub", "demo"): short, lowercase, URL-safe.
pub fn valid_tenant_id(id: &str) -> bool {
    (1..=50).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_math() {
        assert_eq!(Page::<()>::new(vec![], 0, 1, 10).total_pages, 0);
        assert_eq!(Page::<()>::new(vec![], 10, 1, 10).total_pages, 1);
        assert_eq!(Page::<()>::new(vec![], 11, 1, 10).total_pages, 2);
        assert!(PageRequest::new(Some(0), None).is_err());
        assert!(PageRequest::new(None, Some(0)).is_err());
        assert!(PageRequest::new(None, Some(101)).is_err());
        assert_eq!(PageRequest::new(Some(3), Some(20)).unwrap().offset(), 40);
    }

    #[test]
    fn status_names_match_the_spec() {
        for s in ["upcoming", "onSale", "soldOut", "cancelled"] {
            assert_eq!(EventStatus::parse_public(s).unwrap().as_str(), s);
        }
        assert!(EventStatus::parse_public("draft").is_none());
        assert!(EventStatus::parse("ONSALE").is_none());
    }
}
