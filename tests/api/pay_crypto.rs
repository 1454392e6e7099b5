//! Verifying WeChat's signatures in platform-certificate mode (older
//! merchants): the certificate's key is found by its serial, written the way
//! WeChat writes it (uppercase hex, leading zeros or not). The certificate and
//! its key in `tests/api/fixtures/` were generated for this test with openssl.

use crate::common::fake_pay::rsa_sign;
use rsa::pkcs8::DecodePrivateKey;
use standup_tickets::wechat::pay::crypto::{
    SignatureHeaders, Verifier, VerifyError, response_message,
};

const CERT: &str = include_str!("fixtures/platform_cert.pem");
const KEY: &str = include_str!("fixtures/platform_key.pem");

#[test]
fn platform_certificate_verifies_by_serial() {
    let mut v = Verifier::default();
    let serial = v.add_certificate(CERT).unwrap();
    assert_eq!(serial, "45A2F3B1C9D8E7F6");
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(KEY).unwrap();
    let now = chrono::Utc::now().timestamp();
    let body = br#"{"id":"EV-1"}"#;
    let ts = now.to_string();
    let sig = rsa_sign(&key, &response_message(&ts, "n0nce", body));
    for written in ["45A2F3B1C9D8E7F6", "0045A2F3B1C9D8E7F6", "45a2f3b1c9d8e7f6"] {
        let h = SignatureHeaders {
            serial: written.into(),
            timestamp: ts.clone(),
            nonce: "n0nce".into(),
            signature: sig.clone(),
        };
        assert_eq!(v.verify(&h, body, now), Ok(()), "{written}");
        assert_eq!(
            v.verify(&h, br#"{"id":"EV-2"}"#, now),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            v.verify(&h, body, now + 300),
            Err(VerifyError::StaleTimestamp)
        );
    }
    // Junk certificates are a clean error, not a panic.
    assert!(v.add_certificate("not a pem").is_err());
    assert!(
        v.add_certificate("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
            .is_err()
    );
    assert!(
        v.add_public_key("PUB_KEY_ID_1", CERT).is_err(),
        "a certificate is not a public key"
    );
}
