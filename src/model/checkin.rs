//! Check-in: the decision on one scanned ticket, over what the store loaded
//! (online at the scanner, and again for each offline scan `door` applies):
//! void (refunded, refund under way, cancelled order or show) beats
//! already-used beats expired beats wrong show; only the last two can be
//! forced, and only by an owner.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use utoipa::ToSchema;

use super::Timestamp;
use super::orders::OrderStatus;
use crate::error::{Code, Rejection};

/// What the door knows about a scanned ticket.
#[derive(Debug, Clone)]
pub struct TicketFacts {
    pub ticket_status: String,
    pub used_at: Option<i64>,
    pub used_by: Option<String>,
    pub used_device: Option<String>,
    pub order_status: OrderStatus,
    /// A refund of the order is processing, done or stuck.
    pub refund: bool,
    pub event_id: String,
    pub event_title: String,
    pub event_date: NaiveDate,
    pub event_cancelled: bool,
}

/// Where and how the scan happens.
#[derive(Debug, Clone, Copy)]
pub struct ScanPoint<'a> {
    /// The show the scanner is set to, if any.
    pub event_id: Option<&'a str>,
    /// The club's today.
    pub today: NaiveDate,
    pub force: bool,
    pub tz: Tz,
}

fn local_hm(tz: Tz, ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(&tz).format("%H:%M").to_string())
        .unwrap_or_default()
}

/// `Ok(forced)`: the ticket may go in (`forced` when only `force` let it).
pub fn check_in_outcome(f: &TicketFacts, door: &ScanPoint<'_>) -> Result<bool, Rejection> {
    let void = match f.order_status {
        OrderStatus::Refunded => Some("已退款"),
        OrderStatus::Cancelled => Some("订单已取消"),
        OrderStatus::Pending => Some("订单未支付"),
        _ if f.refund => Some("退款处理中"),
        _ if f.event_cancelled => Some("演出已取消"),
        _ => None,
    };
    if let Some(why) = void {
        return Err(Rejection::new(Code::TicketVoid, format!("票已作废：{why}")));
    }
    if f.ticket_status == "used" {
        let when = f.used_at.map(|t| local_hm(door.tz, t)).unwrap_or_default();
        let who = f.used_by.as_deref().unwrap_or("未知");
        let device = f
            .used_device
            .as_deref()
            .map(|d| format!(" · 设备 {d}"))
            .unwrap_or_default();
        return Err(Rejection::new(
            Code::TicketAlreadyUsed,
            format!("已检票 {when} {who}{device}"),
        ));
    }
    let mut forced = false;
    if f.ticket_status == "expired" {
        if !door.force {
            return Err(Rejection::new(
                Code::TicketExpired,
                "该票已过期（演出已结束）",
            ));
        }
        forced = true;
    }
    let other_show = door.event_id.is_some_and(|e| e != f.event_id);
    if other_show || f.event_date != door.today {
        if !door.force {
            return Err(Rejection::new(
                Code::WrongShow,
                format!(
                    "不是本场演出的票：{} {}",
                    f.event_title,
                    f.event_date.format("%Y-%m-%d")
                ),
            ));
        }
        forced = true;
    }
    Ok(forced)
}

/// `13800138000` → `138****8000`.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 7 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// The answer of a scan: the ticket, who it belongs to, and the door count
/// of its order.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckinResult {
    pub ticket_id: String,
    pub order_id: String,
    /// used
    pub status: String,
    #[schema(value_type = String, format = DateTime)]
    pub used_at: Timestamp,
    pub contact_name: String,
    /// `138****8000`
    pub contact_phone: String,
    pub event_id: String,
    pub event_title: String,
    pub event_date: String,
    pub event_time: String,
    pub price_option_id: String,
    pub price_option_name: String,
    /// Tickets of the order checked in, this one included.
    pub order_checked_in: i64,
    pub order_tickets: i64,
    /// Let in only because an owner passed `force`.
    pub forced: bool,
}

/// The door's running count for a show.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DoorCount {
    /// Tickets of paid and used orders.
    pub sold: i64,
    pub checked_in: i64,
    pub by_option: Vec<OptionCount>,
    /// The latest scans, newest first (at most 20).
    pub last_scans: Vec<Scanned>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OptionCount {
    pub price_option_id: String,
    pub name: String,
    pub sold: i64,
    pub checked_in: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Scanned {
    pub ticket_id: String,
    #[schema(value_type = String, format = DateTime)]
    pub used_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    pub contact_name: String,
    pub price_option_name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> TicketFacts {
        TicketFacts {
            ticket_status: "valid".into(),
            used_at: None,
            used_by: None,
            used_device: None,
            order_status: OrderStatus::Paid,
            refund: false,
            event_id: "e1".into(),
            event_title: "专场".into(),
            event_date: NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
            event_cancelled: false,
        }
    }

    fn door(force: bool) -> ScanPoint<'static> {
        ScanPoint {
            event_id: Some("e1"),
            today: NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
            force,
            tz: chrono_tz::Asia::Shanghai,
        }
    }

    fn code(r: Result<bool, Rejection>) -> &'static str {
        r.map_err(|e| e.code.as_str()).err().unwrap_or("OK")
    }

    #[test]
    fn outcomes_and_their_order() {
        assert_eq!(check_in_outcome(&facts(), &door(false)), Ok(false));
        let mut f = facts();
        f.order_status = OrderStatus::Refunded;
        f.ticket_status = "used".into();
        assert_eq!(code(check_in_outcome(&f, &door(true))), "TICKET_VOID");
        let mut f = facts();
        f.refund = true;
        assert_eq!(code(check_in_outcome(&f, &door(true))), "TICKET_VOID");
        let mut f = facts();
        f.ticket_status = "used".into();
        f.used_at = Some(1_796_211_060_000);
        f.used_by = Some("小王".into());
        f.used_device = Some("门口1".into());
        let e = check_in_outcome(&f, &door(true)).unwrap_err();
        assert_eq!(e.code, Code::TicketAlreadyUsed);
        assert!(
            e.message.contains("小王") && e.message.contains("门口1"),
            "{}",
            e.message
        );
        let mut f = facts();
        f.ticket_status = "expired".into();
        assert_eq!(code(check_in_outcome(&f, &door(false))), "TICKET_EXPIRED");
        assert_eq!(check_in_outcome(&f, &door(true)), Ok(true));
        let mut f = facts();
        f.event_id = "e2".into();
        assert_eq!(code(check_in_outcome(&f, &door(false))), "WRONG_SHOW");
        assert_eq!(check_in_outcome(&f, &door(true)), Ok(true));
        let mut f = facts();
        f.event_date = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let e = check_in_outcome(&f, &door(false)).unwrap_err();
        assert!(e.message.contains("2026-12-03"));
    }

    #[test]
    fn phones_are_masked() {
        assert_eq!(mask_phone("13800138000"), "138****8000");
        assert_eq!(mask_phone("123"), "***");
    }
}
