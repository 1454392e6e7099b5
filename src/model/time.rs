//! Instants are UTC milliseconds; show dates and times are the club's wall clock.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Serialize, Serializer};

/// A UTC instant in unix milliseconds, rendered as RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Self {
        Timestamp(Utc::now().timestamp_millis())
    }

    pub fn to_rfc3339(self) -> String {
        match DateTime::<Utc>::from_timestamp_millis(self.0) {
            Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            None => String::new(),
        }
    }
}

impl Serialize for Timestamp {
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, as `to_rfc3339`, written into a stack
    /// buffer: an order answer carries several instants, and a `String`
    /// each was a measurable part of serializing one.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use chrono::Timelike;
        let Some(t) = DateTime::<Utc>::from_timestamp_millis(self.0) else {
            return s.serialize_str("");
        };
        if !(0..=9999).contains(&t.year()) {
            return s.serialize_str(&self.to_rfc3339());
        }
        let mut b = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut v: u32| {
            for i in (at..at + width).rev() {
                b[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, t.year() as u32);
        put(5, 2, t.month());
        put(8, 2, t.day());
        put(11, 2, t.hour());
        put(14, 2, t.minute());
        put(17, 2, t.second());
        put(20, 3, t.timestamp_subsec_millis().min(999));
        s.serialize_str(std::str::from_utf8(&b).unwrap_or_default())
    }
}

pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// The club's calendar date right now.
pub fn today_in(tz: Tz) -> NaiveDate {
    Utc::now().with_timezone(&tz).date_naive()
}

pub fn parse_date(s: &str) -> Option<NaiveDate> {
    if s.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

pub fn parse_time(s: &str) -> Option<NaiveTime> {
    if s.len() != 5 {
        return None;
    }
    NaiveTime::parse_from_str(s, "%H:%M").ok()
}

/// The UTC instant of a wall-clock moment in the club's zone. A time that falls
/// in a daylight-saving gap does not exist; it is taken as one hour later, which
/// is what the clock on the wall shows. An ambiguous (repeated) time takes the
/// earlier instant.
pub fn local_to_utc_ms(tz: Tz, date: NaiveDate, time: NaiveTime) -> i64 {
    let naive = NaiveDateTime::new(date, time);
    let resolved = tz.from_local_datetime(&naive).earliest().or_else(|| {
        tz.from_local_datetime(&(naive + chrono::Duration::hours(1)))
            .earliest()
    });
    match resolved {
        Some(t) => t.timestamp_millis(),
        None => naive.and_utc().timestamp_millis(),
    }
}

/// First and last calendar day of a month, or None when it is not a real month.
pub fn month_bounds(year: i32, month: u32) -> Option<(NaiveDate, NaiveDate)> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year.checked_add(1)?, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    let last = next.pred_opt()?;
    debug_assert_eq!(last.month(), month);
    Some((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written serializer says exactly what chrono's RFC 3339 does,
    /// across the epoch, leap days, year ends and the edges of 4-digit years.
    #[test]
    fn serialized_instants_match_rfc3339() {
        let mut cases = vec![
            0,
            -1,
            1,
            999,
            1_000,
            951_782_400_000,   // 2000-02-29
            1_798_761_599_999, // 2026-12-31T23:59:59.999
            -62_167_219_200_000,
            253_402_300_799_999, // 9999-12-31T23:59:59.999
            253_402_300_800_000, // year 10000: chrono's form
            -62_167_219_200_001, // year -1: chrono's form
        ];
        let mut x: i64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            cases.push(x % 4_000_000_000_000);
        }
        for ms in cases {
            let got = serde_json::to_string(&Timestamp(ms)).unwrap();
            assert_eq!(got, format!("\"{}\"", Timestamp(ms).to_rfc3339()), "{ms}");
        }
        assert_eq!(
            serde_json::to_string(&Timestamp(1_798_761_599_999)).unwrap(),
            "\"2026-12-31T23:59:59.999Z\""
        );
    }

    #[test]
    fn shanghai_wall_time_to_utc() {
        let tz = chrono_tz::Asia::Shanghai;
        let d = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        let t = NaiveTime::from_hms_opt(0, 30, 0).unwrap();
        let ms = local_to_utc_ms(tz, d, t);
        assert_eq!(Timestamp(ms).to_rfc3339(), "2026-12-31T16:30:00.000Z");
    }

    #[test]
    fn dst_gap_moves_forward() {
        let tz = chrono_tz::America::New_York;
        let d = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        let t = NaiveTime::from_hms_opt(2, 30, 0).unwrap();
        let ms = local_to_utc_ms(tz, d, t);
        assert_eq!(Timestamp(ms).to_rfc3339(), "2026-03-08T07:30:00.000Z");
    }

    #[test]
    fn month_bounds_handle_leap_years_and_december() {
        assert_eq!(
            month_bounds(2028, 2).unwrap().1,
            NaiveDate::from_ymd_opt(2028, 2, 29).unwrap()
        );
        assert_eq!(
            month_bounds(2026, 12).unwrap().1,
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()
        );
        assert!(month_bounds(2026, 13).is_none());
        assert!(month_bounds(2026, 0).is_none());
        assert!(month_bounds(i32::MAX, 12).is_none());
        assert!(month_bounds(i32::MIN, 1).is_none());
    }

    #[test]
    fn strict_date_and_time_parsing() {
        assert!(parse_date("2026-02-30").is_none());
        assert!(parse_date("2026-2-3").is_none());
        assert!(parse_date("2026-02-03").is_some());
        assert!(parse_time("24:00").is_none());
        assert!(parse_time("9:00").is_none());
        assert!(parse_time("19:30").is_some());
    }
}
