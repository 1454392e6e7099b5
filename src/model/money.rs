//! Money is integer fen inside; the API shows yuan as a JSON number with at most
//! two decimals, as the spec's `price: number` does.

use serde::{Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fen(pub i64);

impl Fen {
    /// Parses a decimal yuan amount as written in JSON ("88.5", "88", "0.01").
    /// More than two decimals, exponents, signs other than a leading '-', or
    /// amounts beyond what fits are refused rather than rounded.
    pub fn parse_yuan(text: &str) -> Option<Fen> {
        let (neg, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, frac) = match digits.split_once('.') {
            Some((w, f)) => (w, f),
            None => (digits, ""),
        };
        if whole.is_empty()
            || whole.len() > 13
            || frac.len() > 2
            || (digits.contains('.') && frac.is_empty())
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let whole: i64 = whole.parse().ok()?;
        let frac: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().ok()? * 10,
            _ => frac.parse().ok()?,
        };
        let fen = whole.checked_mul(100)?.checked_add(frac)?;
        Some(Fen(if neg { -fen } else { fen }))
    }
}

impl Serialize for Fen {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 % 100 == 0 {
            s.serialize_i64(self.0 / 100)
        } else {
            // Exact for |fen| < 2^53: the division is correctly rounded, so the
            // f64 is the nearest one to the decimal value and serde_json's
            // shortest round-trip printing writes back exactly two-or-fewer decimals.
            s.serialize_f64(self.0 as f64 / 100.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(f: i64) -> String {
        serde_json::to_string(&Fen(f)).unwrap()
    }

    #[test]
    fn renders_yuan_numbers() {
        assert_eq!(json(8850), "88.5");
        assert_eq!(json(8800), "88");
        assert_eq!(json(1999), "19.99");
        assert_eq!(json(1), "0.01");
        assert_eq!(json(0), "0");
        assert_eq!(json(-250), "-2.5");
        assert_eq!(json(12_345_678_901), "123456789.01");
    }

    #[test]
    fn every_cent_round_trips_through_json() {
        for fen in (0..200_000).chain(9_999_000_000..9_999_010_000) {
            let text = json(fen);
            assert_eq!(Fen::parse_yuan(&text), Some(Fen(fen)), "{fen} -> {text}");
        }
    }

    #[test]
    fn parses_only_two_decimals() {
        assert_eq!(Fen::parse_yuan("88.5"), Some(Fen(8850)));
        assert_eq!(Fen::parse_yuan("88.05"), Some(Fen(8805)));
        assert_eq!(Fen::parse_yuan("88"), Some(Fen(8800)));
        for bad in [
            "88.555",
            "",
            ".5",
            "5.",
            "1e3",
            "+1",
            "abc",
            "1.2.3",
            "99999999999999999",
        ] {
            assert_eq!(Fen::parse_yuan(bad), None, "{bad}");
        }
    }
}
