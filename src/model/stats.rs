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

/// A stats period, as `period=` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
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
/// period's own name (e.g. `thisMonth`; the other five are absent), a
/// day-by-day series and the shows that earned most in the period.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub total_events: i64,
    pub total_orders: i64,
    #[schema(value_type = f64)]
    pub total_revenue: Fen,
    pub total_users: i64,
    pub period: Period,
    /// First and last local day of the period.
    pub from: String,
    pub to: String,
    #[serde(flatten)]
    pub block: PeriodBlock,
    /// One entry per day from `from` to the earlier of `to` and today.
    pub series: Vec<DayStats>,
    /// Up to five shows, most revenue first.
    pub top_events: Vec<TopEvent>,
}

/// The period's figures under the period's name: exactly one is present,
/// the one `period` names.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PeriodBlock {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub today: Option<PeriodStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub this_week: Option<PeriodStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub this_month: Option<PeriodStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_month: Option<PeriodStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub this_year: Option<PeriodStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all: Option<PeriodStats>,
}

impl PeriodBlock {
    /// `figures` under `period`'s name.
    pub fn new(period: Period, figures: PeriodStats) -> PeriodBlock {
        let mut b = PeriodBlock::default();
        let slot = match period {
            Period::Today => &mut b.today,
            Period::ThisWeek => &mut b.this_week,
            Period::ThisMonth => &mut b.this_month,
            Period::LastMonth => &mut b.last_month,
            Period::ThisYear => &mut b.this_year,
            Period::All => &mut b.all,
        };
        *slot = Some(figures);
        b
    }
}

/// One paid order as the tally reads it (borrowed from the database row).
#[derive(Debug, Clone, Copy)]
pub struct PaidRow<'a> {
    pub paid_at: i64,
    pub status: &'a str,
    pub total: i64,
    pub quantity: i64,
    pub user_id: &'a str,
    pub event_id: &'a str,
}

/// All-time totals and one period's figures, summed in a single pass over a
/// club's paid orders in payment order.
pub struct Tally {
    tz: Tz,
    first: NaiveDate,
    range: (i64, i64),
    pub all: PeriodStats,
    all_users: HashSet<String>,
    pub period: PeriodStats,
    period_users: HashSet<String>,
    pub series: Vec<DayStats>,
    by_event: HashMap<String, TopEvent>,
    /// The local day last seen and its instants, so the zone is consulted
    /// once per day rather than once per order.
    day: Option<(i64, i64, usize)>,
}

impl Tally {
    /// A tally for the period of local days `first..=last`, with the series
    /// running to `series_last` (today, for a period still under way).
    pub fn new(tz: Tz, first: NaiveDate, last: NaiveDate, series_last: NaiveDate) -> Tally {
        let span = (series_last - first).num_days().max(-1) + 1;
        Tally {
            tz,
            first,
            range: day_range_ms(tz, first, last),
            all: PeriodStats::default(),
            all_users: HashSet::new(),
            period: PeriodStats::default(),
            period_users: HashSet::new(),
            series: (0..span)
                .map(|i| DayStats {
                    date: (first + Duration::days(i)).format("%Y-%m-%d").to_string(),
                    ..Default::default()
                })
                .collect(),
            by_event: HashMap::new(),
            day: None,
        }
    }

    pub fn add(&mut self, r: PaidRow<'_>) {
        let kept = r.status == "paid" || r.status == "used";
        if !(kept || r.status == "refunded") {
            return;
        }
        let (revenue, tickets) = if kept { (r.total, r.quantity) } else { (0, 0) };
        add_to(&mut self.all, &mut self.all_users, r.user_id, revenue);
        if r.paid_at < self.range.0 || r.paid_at >= self.range.1 {
            return;
        }
        add_to(&mut self.period, &mut self.period_users, r.user_id, revenue);
        let e = match self.by_event.get_mut(r.event_id) {
            Some(e) => e,
            None => self
                .by_event
                .entry(r.event_id.to_string())
                .or_insert_with(|| TopEvent {
                    event_id: r.event_id.to_string(),
                    ..Default::default()
                }),
        };
        e.orders += 1;
        e.tickets += tickets;
        e.revenue = Fen(e.revenue.0 + revenue);
        if let Some(i) = self.day_index(r.paid_at)
            && let Some(d) = self.series.get_mut(i)
        {
            d.orders += 1;
            d.tickets += tickets;
            d.revenue = Fen(d.revenue.0 + revenue);
        }
    }

    fn day_index(&mut self, at: i64) -> Option<usize> {
        if let Some((start, end, i)) = self.day
            && (start..end).contains(&at)
        {
            return Some(i);
        }
        let day = DateTime::<Utc>::from_timestamp_millis(at)?
            .with_timezone(&self.tz)
            .date_naive();
        let (start, end) = day_range_ms(self.tz, day, day);
        let i = usize::try_from((day - self.first).num_days()).ok()?;
        self.day = Some((start, end, i));
        Some(i)
    }

    /// The `n` shows that earned most in the period (then most tickets).
    pub fn top_events(&self, n: usize) -> Vec<TopEvent> {
        let mut all: Vec<TopEvent> = self.by_event.values().cloned().collect();
        all.sort_by(|a, b| {
            b.revenue
                .cmp(&a.revenue)
                .then(b.tickets.cmp(&a.tickets))
                .then(a.event_id.cmp(&b.event_id))
        });
        all.truncate(n);
        all
    }
}

fn add_to(s: &mut PeriodStats, users: &mut HashSet<String>, user: &str, revenue: i64) {
    s.orders += 1;
    s.revenue = Fen(s.revenue.0 + revenue);
    if !users.contains(user) {
        users.insert(user.to_string());
        s.users += 1;
    }
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
        let at = |day: &str, h, m| {
            local_to_utc_ms(tz, d(day), NaiveTime::from_hms_opt(h, m, 0).unwrap())
        };
        let row = |paid_at, status, user| PaidRow {
            paid_at,
            status,
            total: 8850,
            quantity: 1,
            user_id: user,
            event_id: "e1",
        };
        let mut t = Tally::new(tz, d("2026-11-01"), d("2026-11-30"), d("2026-11-30"));
        t.add(row(at("2026-10-31", 23, 59), "paid", "u0"));
        // 23:30 local on the 30th is 15:30 UTC: still November.
        t.add(row(at("2026-11-30", 23, 30), "paid", "u1"));
        t.add(row(at("2026-11-30", 23, 59), "refunded", "u2"));
        t.add(row(at("2026-11-30", 23, 59), "cancelled", "u3"));
        t.add(row(at("2026-12-01", 0, 0), "used", "u1"));
        assert_eq!(
            (t.period.orders, t.period.revenue, t.period.users),
            (2, Fen(8850), 2)
        );
        assert_eq!(
            (t.all.orders, t.all.revenue, t.all.users),
            (4, Fen(3 * 8850), 3)
        );
        assert_eq!(t.series.len(), 30);
        assert_eq!(t.series[29].date, "2026-11-30");
        assert_eq!((t.series[29].orders, t.series[29].tickets), (2, 1));
        assert_eq!(t.top_events(5)[0].revenue, Fen(8850));
    }
}
