//! Any bytes as a show's admin body: parsing and validation never panic, and
//! whatever validation accepts keeps the limits the store relies on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use standup_tickets::model::events::{EventInput, MAX_COUNT, MAX_OPTIONS, MAX_PRICE, validate};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<EventInput>(data) else {
        return;
    };
    let Ok(draft) = validate(&input, chrono_tz::Asia::Shanghai, 1_800_000_000_000, None) else {
        return;
    };
    let d = &draft.show;
    assert!(!d.title.is_empty() && d.title.chars().count() <= 100);
    assert!((1..=MAX_OPTIONS).contains(&d.options.len()));
    assert!((1..=600).contains(&d.duration));
    assert!(d.max_per_order <= d.max_per_user && d.max_per_user <= 50);
    assert!(draft.starts_at > 1_800_000_000_000);
    for o in &d.options {
        assert!((0..=MAX_PRICE.0).contains(&o.price.0));
        assert!((0..=MAX_COUNT).contains(&o.total_count));
    }
    if let (Some(s), Some(e)) = (d.sale_start_at, d.sale_end_at) {
        assert!(s < e);
    }
    assert!(d.sale_end_at.is_none_or(|e| e <= draft.starts_at));
});
