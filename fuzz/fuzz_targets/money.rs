//! Yuan text -> fen must never panic, and whatever it accepts must render back
//! to the same amount.
#![no_main]

use libfuzzer_sys::fuzz_target;
use standup_tickets::model::Fen;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(fen) = Fen::parse_yuan(text) {
        let json = serde_json::to_string(&fen).unwrap();
        assert_eq!(Fen::parse_yuan(&json), Some(fen), "{text} -> {json}");
    }
});
