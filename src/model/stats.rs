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

/// The orders paid in one quarter of an hour (UTC, from `start_ms`). Every
/// time zone's offset is a whole number of quarter hours, so a bucket lies
/// within one local day whatever the club's zone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bucket {
    pub start_ms: i64,
    /// Paid, used and refunded orders.
    pub orders: i64,
    /// Fen of the paid and used ones.
    pub revenue: i64,
    pub tickets: i64,
}

pub const BUCKET_MS: i64 = 15 * 60 * 1000;

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

/// The period's orders and revenue, and one entry per local day from
/// `first` to `last`, from the quarter-hour buckets of its payments.
pub fn summarize(
    buckets: &[Bucket],
    tz: Tz,
    first: NaiveDate,
    last: NaiveDate,
) -> (PeriodStats, Vec<DayStats>) {
    let mut block = PeriodStats::default();
    let span = (last - first).num_days().max(-1) + 1;
    let mut series: Vec<DayStats> = (0..span)
        .map(|i| DayStats {
            date: (first + Duration::days(i)).format("%Y-%m-%d").to_string(),
            ..Default::default()
        })
        .collect();
    for b in buckets {
        block.orders += b.orders;
        block.revenue = Fen(block.revenue.0 + b.revenue);
        let Some(day) = DateTime::<Utc>::from_timestamp_millis(b.start_ms)
            .map(|t| t.with_timezone(&tz).date_naive())
        else {
            continue;
        };
        if let Some(d) = usize::try_from((day - first).num_days())
            .ok()
            .and_then(|i| series.get_mut(i))
        {
            d.orders += b.orders;
            d.revenue = Fen(d.revenue.0 + b.revenue);
            d.tickets += b.tickets;
        }
    }
    (block, series)
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
        let paid_at = local_to_utc_ms(tz, d("2026-11-30"), NaiveTime::from_hms_opt(23, 30, 0).unwrap());
        let (range_from, range_to) = day_range_ms(tz, d("2026-11-01"), d("2026-11-30"));
        assert!(paid_at >= range_from && paid_at < range_to);
        let late = Bucket {
            start_ms: paid_at / BUCKET_MS * BUCKET_MS,
            orders: 2,
            revenue: 8850,
            tickets: 1,
        };
        // 23:45-24:00 is still the 30th; midnight is the next month.
        let last_quarter = Bucket {
            start_ms: late.start_ms + BUCKET_MS,
            ..late
        };
        let next_day = Bucket {
            start_ms: late.start_ms + 2 * BUCKET_MS,
            ..late
        };
        let (block, series) = summarize(&[late, last_quarter, next_day], tz, d("2026-11-01"), d("2026-11-30"));
        assert_eq!((block.orders, block.revenue), (6, Fen(26550)));
        assert_eq!(series.len(), 30);
        assert_eq!(series[29].date, "2026-11-30");
        assert_eq!((series[29].orders, series[29].revenue, series[29].tickets), (4, Fen(17700), 2));
    }

    #[test]
    fn quarter_hours_stay_in_one_local_day_in_odd_zones() {
        for tz in [chrono_tz::Asia::Kathmandu, chrono_tz::Asia::Kolkata, chrono_tz::Pacific::Chatham] {
            let midnight = local_to_utc_ms(tz, d("2026-06-15"), NaiveTime::MIN);
            assert_eq!(midnight % BUCKET_MS, 0, "{tz}");
        }
    }
}
