//! Date, time and month parsing from query strings and paths must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use standup_tickets::model::time::{local_to_utc_ms, month_bounds, parse_date, parse_time};

fuzz_target!(|data: &[u8]| {
    let (a, b) = data.split_at(data.len() / 2);
    let (Ok(a), Ok(b)) = (std::str::from_utf8(a), std::str::from_utf8(b)) else {
        return;
    };
    if let (Some(d), Some(t)) = (parse_date(a), parse_time(b)) {
        local_to_utc_ms(chrono_tz::Asia::Shanghai, d, t);
    }
    if data.len() >= 8 {
        let year = i32::from_le_bytes([data[0], data[1], data[2], data[3]]);
        let month = u32::from_le_bytes([data[4], data[5], data[6], data[7]]);
        let _ = month_bounds(year, month);
    }
});
