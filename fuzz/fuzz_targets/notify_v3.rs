//! A v3 notify body, as anyone on the internet may POST it: parsing and
//! decryption must never panic. When the input is a well-formed envelope
//! whose resource we sealed ourselves, it must open to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use standup_tickets::wechat::pay::crypto::encrypt_resource;
use standup_tickets::wechat::pay::open_notify;

const KEY: &[u8; 32] = b"0123456789abcdefghijABCDEFGHIJ01";

fuzz_target!(|data: &[u8]| {
    // Arbitrary bytes as the body.
    let _ = open_notify(data, KEY);
    // Arbitrary bytes as the plaintext of a real envelope.
    let sealed = encrypt_resource(KEY, "abcdefghijkl", "transaction", data);
    let body = serde_json::json!({
        "id": "EV", "event_type": "TRANSACTION.SUCCESS",
        "resource": {"algorithm": "AEAD_AES_256_GCM", "ciphertext": sealed,
                     "associated_data": "transaction", "nonce": "abcdefghijkl"}
    })
    .to_string();
    let (_, plain) = open_notify(body.as_bytes(), KEY).expect("our own envelope opens");
    assert_eq!(plain, data);
    // Any change of the associated data is detected.
    let tampered = body.replace("\"transaction\"", "\"transactioN\"");
    assert!(open_notify(tampered.as_bytes(), KEY).is_err());
});
