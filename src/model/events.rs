//! A show as a club edits it: the body of `POST`/`PUT /api/admin/events`, its
//! validation, how a requested status becomes the stored one, and the sales
//! figures the admin answers add to the spec's `Event`.

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;
use serde::Deserialize;
use utoipa::ToSchema;

use super::Fen;
use super::catalog::{ActiveStatus, EventStatus};
pub use super::fields::{admin_reason, image_ref, instant, yuan};
use super::fields::{in_range, optional_text, refuse, text};
use super::time::{local_to_utc_ms, parse_date, parse_time};
use crate::error::Rejection;

pub const MAX_OPTIONS: usize = 20;
pub const MAX_COUNT: i64 = 100_000;
pub use super::fields::MAX_PRICE;
pub const MAX_LIMIT: i64 = 50;
pub const MAX_LIST: usize = 20;

/// The show fields a club sets. `totalSeats`, `remainingSeats` and an
/// option's `remainingCount` are derived from the options and refused here.
/// The statuses a show may be saved with (cancelling is its own route).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code, reason = "documentation only")]
pub enum EventStatusInput {
    Draft,
    Upcoming,
    OnSale,
    SoldOut,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventInput {
    /// If given, the admin's own club.
    pub tenant_id: Option<String>,
    /// 1-100 characters.
    #[schema(
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]{0,98}[^\s\x00-\x1f\x7f-\x9f])?[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub title: String,
    #[schema(
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x08\x0b-\x1f\x7f-\x9f]{0,4998}[^\s\x00-\x1f\x7f-\x9f])?)?[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub description: Option<String>,
    /// An https URL, or a `/static/...` path from an upload.
    #[schema(max_length = 500)]
    pub poster: Option<String>,
    #[schema(
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]{0,48}[^\s\x00-\x1f\x7f-\x9f])?[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub city: String,
    #[schema(
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]{0,98}[^\s\x00-\x1f\x7f-\x9f])?[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub venue: String,
    #[schema(
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]{0,198}[^\s\x00-\x1f\x7f-\x9f])?[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub address: String,
    /// YYYY-MM-DD in the club's time zone.
    #[schema(example = "2026-12-25")]
    #[schema(format = Date)]
    pub event_date: String,
    /// HH:mm in the club's time zone.
    #[schema(example = "19:30")]
    #[schema(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub event_time: String,
    /// Minutes, 1-600 (default 90).
    #[schema(minimum = 1, maximum = 600)]
    pub duration: Option<i64>,
    #[serde(default)]
    pub performers: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// `draft` (default) keeps the show private; `onSale` or `upcoming`
    /// publishes it, and the server then derives `upcoming`, `onSale` or
    /// `soldOut` from the sale window and the stock.
    #[schema(value_type = Option<EventStatusInput>)]
    pub status: Option<String>,
    /// RFC 3339; before it the show is `upcoming` (即将开售).
    #[schema(value_type = Option<String>)]
    pub sale_start_at: Option<String>,
    /// RFC 3339, no later than the show's start.
    #[schema(value_type = Option<String>)]
    pub sale_end_at: Option<String>,
    #[serde(default)]
    pub is_recommended: bool,
    /// 1-50 (default 6), at most `maxPerUser`.
    #[schema(minimum = 1, maximum = 50)]
    pub max_per_order: Option<i64>,
    /// 1-50 (default 10).
    #[schema(minimum = 1, maximum = 50)]
    pub max_per_user: Option<i64>,
    /// 1-20 options.
    #[schema(min_items = 1, max_items = 20)]
    pub price_options: Vec<PriceOptionInput>,
    /// `PUT`: the `version` of the show as last read. A save over a newer
    /// version is `409 EDIT_CONFLICT`.
    pub version: Option<i64>,
    #[serde(default)]
    #[schema(ignore)]
    pub total_seats: Option<serde_json::Value>,
    #[serde(default)]
    #[schema(ignore)]
    pub remaining_seats: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceOptionInput {
    /// An existing option of this show; absent for a new one.
    pub id: Option<String>,
    #[schema(
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]{0,48}[^\s\x00-\x1f\x7f-\x9f])?[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name: String,
    /// Yuan, at most two decimals, 0-100000.
    #[schema(value_type = f64, example = 88.5)]
    pub price: serde_json::Number,
    #[schema(value_type = Option<f64>)]
    pub original_price: Option<serde_json::Number>,
    #[schema(
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]{0,198}[^\s\x00-\x1f\x7f-\x9f])?)?[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub description: Option<String>,
    /// 0-100000 seats; changing it moves the remaining count by the same delta.
    #[schema(minimum = 0, maximum = 100000)]
    pub total_count: i64,
    /// Default: the option's place in the list.
    pub sort_order: Option<i64>,
    /// `active` (default) or `disabled`.
    #[schema(value_type = Option<ActiveStatus>)]
    pub status: Option<String>,
    #[serde(default)]
    #[schema(ignore)]
    pub remaining_count: Option<serde_json::Value>,
}

/// Filters of the admin list (drafts included).
#[derive(Debug, Clone, Default)]
pub struct AdminEventFilter {
    pub status: Option<EventStatus>,
    pub keyword: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// Whether the club asked for the show to be public.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Draft,
    Published,
}

/// A price option as it is inserted or saved: `id` names the stored option
/// a show's edit keeps (a new show's options have none).
#[derive(Debug, Clone)]
pub struct NewPriceOption {
    pub id: Option<String>,
    pub name: String,
    pub price: Fen,
    pub original_price: Option<Fen>,
    pub description: Option<String>,
    pub total_count: i64,
    pub sort_order: i64,
    pub status: ActiveStatus,
}

/// A show as it is inserted: a checked console body (`EventDraft::show`),
/// a duplicate, or what the demo, the tests and the benchmarks seed.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub title: String,
    pub description: Option<String>,
    pub poster: Option<String>,
    pub city: String,
    pub venue: String,
    pub address: String,
    pub event_date: NaiveDate,
    pub event_time: NaiveTime,
    pub duration: i64,
    pub performers: Vec<String>,
    pub tags: Vec<String>,
    pub status: EventStatus,
    pub sale_start_at: Option<i64>,
    pub sale_end_at: Option<i64>,
    pub is_recommended: bool,
    pub max_per_order: i64,
    pub max_per_user: i64,
    pub options: Vec<NewPriceOption>,
}

impl NewPriceOption {
    /// An active option without original price or description.
    pub fn active(name: &str, price: Fen, total_count: i64, sort_order: i64) -> Self {
        NewPriceOption {
            id: None,
            name: name.into(),
            price,
            original_price: None,
            description: None,
            total_count,
            sort_order,
            status: ActiveStatus::Active,
        }
    }
}

impl NewEvent {
    /// A plain on-sale show (90 minutes, 6 per order, 10 per user) for seeding,
    /// tests and benchmarks; adjust fields from there.
    pub fn on_sale(
        title: &str,
        event_date: NaiveDate,
        event_time: NaiveTime,
        options: Vec<NewPriceOption>,
    ) -> Self {
        NewEvent {
            title: title.into(),
            description: None,
            poster: None,
            city: "上海".into(),
            venue: "测试剧场".into(),
            address: "测试路 1 号".into(),
            event_date,
            event_time,
            duration: 90,
            performers: Vec::new(),
            tags: Vec::new(),
            status: EventStatus::OnSale,
            sale_start_at: None,
            sale_end_at: None,
            is_recommended: false,
            max_per_order: 6,
            max_per_user: 10,
            options,
        }
    }
}

/// A checked console body: the show as it will be stored (its status
/// decided when it is saved, from `visibility`, the sale start and the
/// stock), and what only a save needs.
#[derive(Debug, Clone)]
pub struct EventDraft {
    pub show: NewEvent,
    /// The show's start as an instant in the club's zone.
    pub starts_at: i64,
    pub visibility: Visibility,
    /// The version the edit was made from (`PUT`).
    pub version: Option<i64>,
}

fn list(values: &[String], field: &str, max_chars: usize) -> Result<Vec<String>, Rejection> {
    if values.len() > MAX_LIST {
        return Err(refuse(field, format!("最多 {MAX_LIST} 项")));
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for v in values {
        let v = text(v, field, max_chars, false)?;
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(out)
}

/// When the show starts, as the club's wall clock and as an instant.
pub fn show_start(
    date: &str,
    time: &str,
    tz: Tz,
) -> Result<(NaiveDate, NaiveTime, i64), Rejection> {
    let d =
        parse_date(date.trim()).ok_or_else(|| refuse("eventDate", "须为 YYYY-MM-DD 格式的日期"))?;
    let t = parse_time(time.trim()).ok_or_else(|| refuse("eventTime", "须为 HH:mm 格式的时间"))?;
    Ok((d, t, local_to_utc_ms(tz, d, t)))
}

/// Checks a body. `previous_start`: the show's start as stored (a `PUT`);
/// a new show, or one moved to another time, must start in the future.
pub fn validate(
    input: &EventInput,
    tz: Tz,
    now: i64,
    previous_start: Option<i64>,
) -> Result<EventDraft, Rejection> {
    if input.total_seats.is_some() {
        return Err(refuse("totalSeats", "由各票档数量计算得出，不能提交"));
    }
    if input.remaining_seats.is_some() {
        return Err(refuse("remainingSeats", "由系统计算得出，不能提交"));
    }
    let title = text(&input.title, "title", 100, false)?;
    let description = optional_text(input.description.as_deref(), "description", 5000, true)?;
    let poster = image_ref(input.poster.as_deref(), "poster")?;
    let city = text(&input.city, "city", 50, false)?;
    let venue = text(&input.venue, "venue", 100, false)?;
    let address = text(&input.address, "address", 200, false)?;
    let (event_date, event_time, starts_at) = show_start(&input.event_date, &input.event_time, tz)?;
    if previous_start != Some(starts_at) && starts_at <= now {
        return Err(refuse("eventDate", "演出时间须在未来"));
    }
    let duration = in_range(input.duration.unwrap_or(90), "duration", 1, 600)?;
    let performers = list(&input.performers, "performers", 50)?;
    let tags = list(&input.tags, "tags", 20)?;
    let visibility = match input.status.as_deref().map(str::trim) {
        None | Some("draft") => Visibility::Draft,
        Some("onSale" | "upcoming" | "soldOut") => Visibility::Published,
        Some("cancelled") => {
            return Err(refuse(
                "status",
                "取消演出请使用 POST /api/admin/events/{id}/cancel",
            ));
        }
        Some(_) => return Err(refuse("status", "须为 draft、upcoming 或 onSale")),
    };
    let sale_start_at = instant(input.sale_start_at.as_deref(), "saleStartAt")?;
    let sale_end_at = instant(input.sale_end_at.as_deref(), "saleEndAt")?;
    if let (Some(s), Some(e)) = (sale_start_at, sale_end_at)
        && s >= e
    {
        return Err(refuse("saleEndAt", "须晚于 saleStartAt"));
    }
    if sale_start_at.is_some_and(|s| s >= starts_at) {
        return Err(refuse("saleStartAt", "须早于演出开始时间"));
    }
    if sale_end_at.is_some_and(|e| e > starts_at) {
        return Err(refuse("saleEndAt", "不能晚于演出开始时间"));
    }
    let max_per_order = in_range(
        input.max_per_order.unwrap_or(6),
        "maxPerOrder",
        1,
        MAX_LIMIT,
    )?;
    let max_per_user = in_range(input.max_per_user.unwrap_or(10), "maxPerUser", 1, MAX_LIMIT)?;
    if max_per_order > max_per_user {
        return Err(refuse("maxPerOrder", "不能大于 maxPerUser"));
    }
    if input.price_options.is_empty() || input.price_options.len() > MAX_OPTIONS {
        return Err(refuse(
            "priceOptions",
            format!("须有 1-{MAX_OPTIONS} 个票档"),
        ));
    }
    let mut options: Vec<NewPriceOption> = Vec::with_capacity(input.price_options.len());
    for (i, o) in input.price_options.iter().enumerate() {
        let field = |name: &str| format!("priceOptions[{i}].{name}");
        if o.remaining_count.is_some() {
            return Err(refuse(&field("remainingCount"), "由系统计算得出，不能提交"));
        }
        let id = match o.id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(id) => Some(id.to_string()),
        };
        if id.is_some() && options.iter().any(|p| p.id == id) {
            return Err(refuse(&field("id"), "同一票档出现了两次"));
        }
        let name = text(&o.name, &field("name"), 50, false)?;
        if options.iter().any(|p| p.name == name) {
            return Err(refuse(&field("name"), "票档名称重复"));
        }
        let price = yuan(&o.price, &field("price"))?;
        let original_price = o
            .original_price
            .as_ref()
            .map(|n| yuan(n, &field("originalPrice")))
            .transpose()?;
        let description =
            optional_text(o.description.as_deref(), &field("description"), 200, false)?;
        let total_count = in_range(o.total_count, &field("totalCount"), 0, MAX_COUNT)?;
        let sort_order = in_range(
            o.sort_order.unwrap_or(i as i64),
            &field("sortOrder"),
            -1_000_000,
            1_000_000,
        )?;
        let status = match o.status.as_deref().map(str::trim) {
            None => ActiveStatus::Active,
            Some(s) => ActiveStatus::parse(s)
                .ok_or_else(|| refuse(&field("status"), "须为 active 或 disabled"))?,
        };
        options.push(NewPriceOption {
            id,
            name,
            price,
            original_price,
            description,
            total_count,
            sort_order,
            status,
        });
    }
    Ok(EventDraft {
        show: NewEvent {
            title,
            description,
            poster,
            city,
            venue,
            address,
            event_date,
            event_time,
            duration,
            performers,
            tags,
            status: EventStatus::Draft,
            sale_start_at,
            sale_end_at,
            is_recommended: input.is_recommended,
            max_per_order,
            max_per_user,
            options,
        },
        starts_at,
        visibility,
        version: input.version,
    })
}

/// The status a show is stored with: a draft stays one; a published show is
/// `upcoming` before its sale opens, else `soldOut` or `onSale` by its stock.
pub fn derived_status(
    visibility: Visibility,
    sale_start_at: Option<i64>,
    remaining_seats: i64,
    now: i64,
) -> EventStatus {
    match visibility {
        Visibility::Draft => EventStatus::Draft,
        Visibility::Published if sale_start_at.is_some_and(|s| s > now) => EventStatus::Upcoming,
        Visibility::Published if remaining_seats == 0 => EventStatus::SoldOut,
        Visibility::Published => EventStatus::OnSale,
    }
}

/// The first retry of a failed refund waits `base`, each next one twice as
/// long, up to an hour.
pub fn refund_backoff_ms(base_ms: i64, attempts: i64) -> i64 {
    let shift = attempts.clamp(1, 20) - 1;
    base_ms.saturating_mul(1_i64 << shift).min(3_600_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;

    fn body() -> EventInput {
        serde_json::from_value(body_json()).unwrap()
    }

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn a_plain_show_is_a_draft_with_defaults() {
        let d = validate(&body(), chrono_tz::Asia::Shanghai, NOW, None).unwrap();
        assert_eq!(d.visibility, Visibility::Draft);
        assert_eq!(
            (d.show.duration, d.show.max_per_order, d.show.max_per_user),
            (90, 6, 10)
        );
        assert_eq!(d.show.options[0].price, Fen(8850));
    }

    #[test]
    fn refusals_name_their_field() {
        let cases: Vec<(serde_json::Value, &str)> = vec![
            (serde_json::json!({"title": ""}), "title"),
            (serde_json::json!({"title": "a\u{7}b"}), "title"),
            (serde_json::json!({"eventDate": "2030-02-30"}), "eventDate"),
            (serde_json::json!({"eventDate": "2020-01-01"}), "eventDate"),
            (serde_json::json!({"duration": 0}), "duration"),
            (
                serde_json::json!({"maxPerOrder": 20, "maxPerUser": 10}),
                "maxPerOrder",
            ),
            (serde_json::json!({"maxPerUser": 51}), "maxPerUser"),
            (serde_json::json!({"status": "cancelled"}), "status"),
            (serde_json::json!({"totalSeats": 5}), "totalSeats"),
            (
                serde_json::json!({"saleStartAt": "2030-01-11T00:00:00+08:00"}),
                "saleStartAt",
            ),
            (
                serde_json::json!({"saleEndAt": "2030-01-10T20:00:01+08:00"}),
                "saleEndAt",
            ),
            (serde_json::json!({"priceOptions": []}), "priceOptions"),
            (
                serde_json::json!({"priceOptions": [{"name": "a", "price": 1.234, "totalCount": 1}]}),
                "priceOptions[0].price",
            ),
            (
                serde_json::json!({"priceOptions": [{"name": "a", "price": -1, "totalCount": 1}]}),
                "priceOptions[0].price",
            ),
            (
                serde_json::json!({"priceOptions": [{"name": "a", "price": 100000.01, "totalCount": 1}]}),
                "priceOptions[0].price",
            ),
            (
                serde_json::json!({"priceOptions": [{"name": "a", "price": 1, "totalCount": 100001}]}),
                "priceOptions[0].totalCount",
            ),
            (
                serde_json::json!({"priceOptions": [{"name": "a", "price": 1, "totalCount": 1},
                                                     {"name": "a", "price": 1, "totalCount": 1}]}),
                "priceOptions[1].name",
            ),
        ];
        for (patch, field) in cases {
            let mut v = serde_json::to_value(body_json()).unwrap();
            for (k, x) in patch.as_object().unwrap() {
                v[k] = x.clone();
            }
            let input: EventInput = serde_json::from_value(v).unwrap();
            let err = validate(&input, chrono_tz::Asia::Shanghai, NOW, None).unwrap_err();
            assert_eq!(err.code, Code::ValidationFailed);
            assert!(
                err.message.starts_with(&format!("{field}：")),
                "{field}: {}",
                err.message
            );
        }
    }

    fn body_json() -> serde_json::Value {
        serde_json::json!({
            "title": "周五开放麦", "city": "上海", "venue": "小剧场", "address": "南京西路 1 号",
            "eventDate": "2030-01-10", "eventTime": "20:00",
            "priceOptions": [{"name": "普通", "price": 88.5, "totalCount": 100}]
        })
    }

    #[test]
    fn a_published_show_takes_its_status_from_window_and_stock() {
        use EventStatus::*;
        let p = Visibility::Published;
        assert_eq!(derived_status(p, Some(NOW + 1), 5, NOW), Upcoming);
        assert_eq!(derived_status(p, Some(NOW), 5, NOW), OnSale);
        assert_eq!(derived_status(p, None, 0, NOW), SoldOut);
        assert_eq!(derived_status(Visibility::Draft, None, 5, NOW), Draft);
    }

    #[test]
    fn backoff_doubles_to_an_hour() {
        assert_eq!(refund_backoff_ms(30_000, 1), 30_000);
        assert_eq!(refund_backoff_ms(30_000, 2), 60_000);
        assert_eq!(refund_backoff_ms(30_000, 40), 3_600_000);
    }
}
