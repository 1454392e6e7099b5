//! Ticket QR tokens as a door scanner reads them: never a panic, and nothing
//! but a token minted with the key verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use standup_tickets::model::tickets::QrKey;

fuzz_target!(|data: &[u8]| {
    let key = QrKey([42; 32]);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A random string is forged with overwhelming probability.
    assert!(!key.verify(text), "forged token accepted: {text:?}");
    let minted = key.mint();
    assert!(key.verify(&minted));
    let mut spoiled = minted.clone();
    spoiled.push_str(text);
    assert!(text.is_empty() || !key.verify(&spoiled));
});
