//! The club's figures (spec §管理后台接口 2): periods in the club's time
//! zone, and the sums over the orders paid in one.
//!
//! - orders: paid, used and refunded orders (every order that was paid);
//! - revenue: paid and used orders (a refund is always in full, so a
//!   refunded order no longer counts), in yuan;
//! - users: distinct buyers with a paid order;
//! - events: shows (not drafts, not cancelled) whose date is in the period.
//!
//! An order belongs to the period of its payment (`paidAt`, local time): one
//! paid at 23:30 on the last day of a month counts in that month.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use utoipa::ToSchema;

use super::Fen;
use super::time::{local_to_utc_ms, month_bounds};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    Today,
    ThisWeek,
    ThisMonth,
    LastMonth,
    ThisYear,
    All,
}

impl Period {
    pub fn parse(s: &str) -> Option<Period> {
        Some(match s {
            "today" => Period::Today,
            "thisWeek" => Period::ThisWeek,
            "thisMonth" => Period::ThisMonth,
            "lastMonth" => Period::LastMonth,
            "thisYear" => Period::ThisYear,
            "all" => Period::All,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Today => "today",
            Period::ThisWeek => "thisWeek",
            Period::ThisMonth => "thisMonth",
            Period::LastMonth => "lastMonth",
            Period::ThisYear => "thisYear",
            Period::All => "all",
        }
    }

    /// First and last local day of the period containing `today` (weeks start
    /// on Monday). `All` starts at `first_sale` (or today without sales).
    pub fn days(self, today: NaiveDate, first_sale: Option<NaiveDate>) -> (NaiveDate, NaiveDate) {
        let month = |y: i32, m: u32| month_bounds(y, m).unwrap_or((today, today));
        match self {
            Period::Today => (today, today),
            Period::ThisWeek => {
                let monday = today - Duration::days(today.weekday().num_days_from_monday().into());
                (monday, monday + Duration::days(6))
            }
            Period::ThisMonth => month(today.year(), today.month()),
            Period::LastMonth => {
                let (y, m) = if today.month() == 1 {
                    (today.year() - 1, 12)
                } else {
                    (today.year(), today.month() - 1)
                };
                month(y, m)
            }
            Period::ThisYear => (
                NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today),
                NaiveDate::from_ymd_opt(today.year(), 12, 31).unwrap_or(today),
            ),
            Period::All => (first_sale.unwrap_or(today).min(today), today),
        }
    }
}

/// The instants of a run of local days: [first day 00:00, day after last 00:00).
pub fn day_range_ms(tz: Tz, first: NaiveDate, last: NaiveDate) -> (i64, i64) {
    let end = last.succ_opt().unwrap_or(last);
    (
        local_to_utc_ms(tz, first, NaiveTime::MIN),
        local_to_utc_ms(tz, end, NaiveTime::MIN),
    )
}

/// One order paid in the period, as the sums need it.
#[derive(Debug, Clone)]
pub struct PaidOrder {
    pub paid_at: i64,
    /// paid | used | refunded
    pub status: String,
    pub total: i64,
    pub quantity: i64,
    pub user_id: String,
    pub event_id: String,
}

impl PaidOrder {
    fn kept(&self) -> bool {
        self.status == "paid" || self.status == "used"
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct PeriodStats {
    pub events: i64,
    pub orders: i64,
    #[schema(value_type = f64)]
    pub revenue: Fen,
    pub users: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct DayStats {
    /// YYYY-MM-DD, the club's local date.
    pub date: String,
    pub orders: i64,
    #[schema(value_type = f64)]
    pub revenue: Fen,
    pub tickets: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopEvent {
    pub event_id: String,
    pub title: String,
    pub event_date: String,
    pub orders: i64,
    pub tickets: i64,
    #[schema(value_type = f64)]
    pub revenue: Fen,
}

/// The spec's stats answer: all-time totals, the period's block under the
/// period's own name (e.g. `thisMonth`), a day-by-day series and the shows
/// that earned most in the period.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub total_events: i64,
    pub total_orders: i64,
    #[schema(value_type = f64)]
    pub total_revenue: Fen,
    pub total_users: i64,
    /// today | thisWeek | thisMonth | lastMonth | thisYear | all
    pub period: String,
    /// First and last local day of the period.
    pub from: String,
    pub to: String,
    /// The period's figures, also under the period's name (as the spec's
    /// `thisMonth` block).
    #[serde(skip)]
    pub block: PeriodStats,
    /// One entry per day from `from` to the earlier of `to` and today.
    pub series: Vec<DayStats>,
    /// Up to five shows, most revenue first.
    pub top_events: Vec<TopEvent>,
}

impl Stats {
    /// The answer as JSON, with the period's block under its name.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = v.as_object_mut() {
            map.insert(
                self.period.clone(),
                serde_json::to_value(&self.block).unwrap_or_default(),
            );
        }
        v
    }
}

/// Sums of the orders paid in the period: the block (without `events`,
/// which comes from the shows), one entry per day from `first` to `last`,
/// and revenue, orders and tickets per show.
pub fn summarize(
    rows: &[PaidOrder],
    tz: Tz,
    first: NaiveDate,
    last: NaiveDate,
) -> (PeriodStats, Vec<DayStats>, HashMap<String, TopEvent>) {
    let mut block = PeriodStats::default();
    let mut users = HashSet::new();
    let span = (last - first).num_days().max(-1) + 1;
    let mut series: Vec<DayStats> = (0..span)
        .map(|i| DayStats {
            date: (first + Duration::days(i)).format("%Y-%m-%d").to_string(),
            ..Default::default()
        })
        .collect();
    let mut by_event: HashMap<String, TopEvent> = HashMap::new();
    for r in rows {
        let Some(day) = DateTime::<Utc>::from_timestamp_millis(r.paid_at)
            .map(|t| t.with_timezone(&tz).date_naive())
        else {
            continue;
        };
        block.orders += 1;
        users.insert(r.user_id.as_str());
        let e = by_event
            .entry(r.event_id.clone())
            .or_insert_with(|| TopEvent {
                event_id: r.event_id.clone(),
                ..Default::default()
            });
        e.orders += 1;
        let slot = usize::try_from((day - first).num_days())
            .ok()
            .and_then(|i| series.get_mut(i));
        let (revenue, tickets) = if r.kept() {
            (r.total, r.quantity)
        } else {
            (0, 0)
        };
        block.revenue = Fen(block.revenue.0 + revenue);
        e.revenue = Fen(e.revenue.0 + revenue);
        e.tickets += tickets;
        if let Some(d) = slot {
            d.orders += 1;
            d.revenue = Fen(d.revenue.0 + revenue);
            d.tickets += tickets;
        }
    }
    block.users = users.len() as i64;
    (block, series, by_event)
}

/// The `n` shows with most revenue (then most tickets, then id).
pub fn top(by_event: HashMap<String, TopEvent>, n: usize) -> Vec<TopEvent> {
    let mut all: Vec<TopEvent> = by_event.into_values().collect();
    all.sort_by(|a, b| {
        b.revenue
            .cmp(&a.revenue)
            .then(b.tickets.cmp(&a.tickets))
            .then(a.event_id.cmp(&b.event_id))
    });
    all.truncate(n);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn periods_in_local_days() {
        let today = d("2026-12-02"); // a Wednesday
        assert_eq!(
            Period::ThisWeek.days(today, None),
            (d("2026-11-30"), d("2026-12-06"))
        );
        assert_eq!(
            Period::ThisMonth.days(today, None),
            (d("2026-12-01"), d("2026-12-31"))
        );
        assert_eq!(
            Period::LastMonth.days(today, None),
            (d("2026-11-01"), d("2026-11-30"))
        );
        assert_eq!(
            Period::LastMonth.days(d("2027-01-15"), None),
            (d("2026-12-01"), d("2026-12-31"))
        );
        assert_eq!(
            Period::ThisYear.days(today, None),
            (d("2026-01-01"), d("2026-12-31"))
        );
        assert_eq!(
            Period::All.days(today, Some(d("2025-03-01"))),
            (d("2025-03-01"), today)
        );
        assert_eq!(Period::Today.days(today, None), (today, today));
        assert!(Period::parse("ThisMonth").is_none());
    }

    #[test]
    fn a_late_evening_payment_counts_on_its_local_day() {
        let tz = chrono_tz::Asia::Shanghai;
        // 2026-11-30 23:30 in Shanghai is 15:30 UTC.
        let paid_at = local_to_utc_ms(
            tz,
            d("2026-11-30"),
            NaiveTime::from_hms_opt(23, 30, 0).unwrap(),
        );
        let rows = vec![
            PaidOrder {
                paid_at,
                status: "paid".into(),
                total: 8850,
                quantity: 1,
                user_id: "u1".into(),
                event_id: "e1".into(),
            },
            PaidOrder {
                paid_at: paid_at + 1_000,
                status: "refunded".into(),
                total: 5000,
                quantity: 1,
                user_id: "u2".into(),
                event_id: "e1".into(),
            },
        ];
        let (range_from, range_to) = day_range_ms(tz, d("2026-11-01"), d("2026-11-30"));
        assert!(paid_at >= range_from && paid_at < range_to);
        let (block, series, by_event) = summarize(&rows, tz, d("2026-11-01"), d("2026-11-30"));
        assert_eq!(
            (block.orders, block.revenue, block.users),
            (2, Fen(8850), 2)
        );
        assert_eq!(series.len(), 30);
        assert_eq!(series[29].date, "2026-11-30");
        assert_eq!(
            (series[29].orders, series[29].revenue, series[29].tickets),
            (2, Fen(8850), 1)
        );
        assert_eq!(top(by_event, 5)[0].revenue, Fen(8850));
    }
}
