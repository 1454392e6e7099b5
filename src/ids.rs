//! Time-ordered opaque ids. Random (v4-style) keys scatter inserts across the
//! B-tree and cost SQLite 2-9x in write throughput, so every primary key we mint
//! is a ULID: 26 chars of Crockford base32, which is also a valid WeChat
//! `out_trade_no`.

/// Strictly increasing within the process (the random part counts up within a
/// millisecond): thousands of orders a second share a millisecond, and keys
/// that arrive in order are appended to the table's last page instead of
/// splitting pages in the middle of it.
static IDS: std::sync::Mutex<ulid::Generator> = std::sync::Mutex::new(ulid::Generator::new());

pub fn new_id() -> String {
    let mut ids = IDS.lock().unwrap_or_else(|p| p.into_inner());
    let id = match ids.generate() {
        Ok(id) => id,
        // 2^80 ids in one millisecond: borrow from the next one.
        Err(overflow) => overflow.commit_overflow_increment(),
    };
    id.to_string()
}

/// Ids that reach us from URLs are checked before they touch the database:
/// anything that could not be an id we minted (or a human tenant id) is "not found".
pub fn looks_like_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Random text from an unambiguous alphabet (no 0/O, 1/l/I), for secrets and
/// one-time passwords.
pub fn random_token(len: usize) -> String {
    use rand::RngExt;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_creation_and_fit_out_trade_no() {
        let a = new_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_id();
        assert!(a < b);
        assert_eq!(a.len(), 26);
        assert!(looks_like_id(&a));
    }

    #[test]
    fn rejects_hostile_ids() {
        for s in [
            "",
            "a b",
            "x'; DROP TABLE events;--",
            "<script>",
            "é",
            &"a".repeat(65),
        ] {
            assert!(!looks_like_id(s), "{s}");
        }
    }
}
