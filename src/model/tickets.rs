//! Ticket QR codes: `ST1.<random>.<mac>`, where `random` is 16 random bytes
//! and `mac` the first 16 bytes of HMAC-SHA256(server key, "ST1." + random),
//! both base64url. Unguessable (128 random bits) and tamper-evident: the door
//! can refuse a forged or mistyped code before looking anything up. The key
//! lives in the database (`server_keys`), so a restored backup still verifies
//! the tickets it holds.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use hmac::{Hmac, Mac};
use rand::RngExt;
use sha2::Sha256;

const PREFIX: &str = "ST1.";
const RANDOM_LEN: usize = 16;
const MAC_LEN: usize = 16;
/// Longest token we ever mint (prefix + 22 + 1 + 22); anything longer is junk.
pub const MAX_TOKEN_LEN: usize = 64;

/// The server key that signs ticket codes.
#[derive(Clone)]
pub struct QrKey(pub [u8; 32]);

impl std::fmt::Debug for QrKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("QrKey(***)")
    }
}

impl QrKey {
    pub fn generate() -> QrKey {
        let mut k = [0u8; 32];
        rand::rng().fill(&mut k[..]);
        QrKey(k)
    }

    fn mac(&self, signed: &str) -> [u8; MAC_LEN] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key");
        mac.update(signed.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    /// A fresh ticket code.
    pub fn mint(&self) -> String {
        let mut random = [0u8; RANDOM_LEN];
        rand::rng().fill(&mut random[..]);
        let signed = format!("{PREFIX}{}", B64URL.encode(random));
        let mac = B64URL.encode(self.mac(&signed));
        format!("{signed}.{mac}")
    }

    /// Whether `token` is a code this server minted (constant-time MAC check).
    pub fn verify(&self, token: &str) -> bool {
        if token.len() > MAX_TOKEN_LEN || !token.starts_with(PREFIX) {
            return false;
        }
        let Some((signed, mac_text)) = token.rsplit_once('.') else {
            return false;
        };
        let Some(random_text) = signed.strip_prefix(PREFIX) else {
            return false;
        };
        match (B64URL.decode(random_text), B64URL.decode(mac_text)) {
            (Ok(random), Ok(mac)) if random.len() == RANDOM_LEN && mac.len() == MAC_LEN => {
                use subtle::ConstantTimeEq;
                self.mac(signed).ct_eq(&mac[..]).into()
            }
            _ => false,
        }
    }
}

/// What an offline door pack digests a show's codes with. Derived from the
/// server key and the show (HMAC), so it can neither mint nor verify a code,
/// and one show's pack says nothing about another's.
#[derive(Clone)]
pub struct DoorKey([u8; 32]);

impl std::fmt::Debug for DoorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DoorKey(***)")
    }
}

/// Bytes of a door digest: 128 bits, as a code's random part.
pub const DOOR_DIGEST_LEN: usize = 16;

impl DoorKey {
    /// HMAC-SHA256(door key, code), its first 16 bytes, base64url: what a
    /// scanner computes from a scanned code to find it in the pack.
    pub fn digest(&self, code: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key");
        mac.update(code.as_bytes());
        B64URL.encode(&mac.finalize().into_bytes()[..DOOR_DIGEST_LEN])
    }

    /// The key as the pack carries it (base64url, no padding).
    pub fn encoded(&self) -> String {
        B64URL.encode(self.0)
    }
}

impl QrKey {
    /// The door key of one show.
    pub fn door_key(&self, event_id: &str) -> DoorKey {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key");
        mac.update(b"standup-tickets door pack v1\0");
        mac.update(event_id.as_bytes());
        DoorKey(mac.finalize().into_bytes().into())
    }
}

/// The code as an SVG QR image (medium error correction, quiet zone kept).
pub fn qr_svg(token: &str) -> Option<String> {
    let code =
        qrcode::QrCode::with_error_correction_level(token.as_bytes(), qrcode::EcLevel::M).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(240, 240)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_codes_verify_and_differ() {
        let k = QrKey::generate();
        let a = k.mint();
        let b = k.mint();
        assert_ne!(a, b);
        assert!(a.len() <= MAX_TOKEN_LEN);
        assert!(k.verify(&a) && k.verify(&b));
        assert!(!QrKey::generate().verify(&a), "another server's key");
    }

    #[test]
    fn tampered_or_junk_codes_fail() {
        let k = QrKey::generate();
        let t = k.mint();
        let mut chars: Vec<char> = t.chars().collect();
        let i = PREFIX.len() + 3;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert!(!k.verify(&tampered));
        for junk in [
            "",
            "ST1.",
            "ST1..",
            "ST1.abc.def",
            "ST2.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA",
            "' OR 1=1 --",
            "票",
            &"A".repeat(10_000),
            &format!("{t}x"),
        ] {
            assert!(!k.verify(junk), "{junk}");
        }
    }

    /// A vector computed outside Rust (Python's hmac), for any scanner that
    /// implements the digest itself.
    #[test]
    fn door_digests_match_the_documented_vector() {
        let k = QrKey([7; 32]).door_key("01JDOORPACKEVENT000000000A");
        assert_eq!(k.encoded(), "D1R0u3x5Abnj97FvluEKmh3BSJHqu0iFSHf3kUcOI48");
        let code = "ST1.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA";
        assert_eq!(k.digest(code), "-cz7qbQCwkiCT6gSo6tJlA");
        let other = QrKey([7; 32]).door_key("01JDOORPACKEVENT000000000B");
        assert_ne!(other.digest(code), k.digest(code), "shows differ");
    }

    #[test]
    fn svg_renders() {
        let svg = qr_svg(&QrKey::generate().mint()).unwrap();
        assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"));
        assert!(svg.contains("<svg"));
    }
}
