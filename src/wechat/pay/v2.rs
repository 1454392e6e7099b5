//! The legacy APIv2 XML notify: a flat `<xml><key>value</key>…</xml>` whose
//! `sign` is MD5 or HMAC-SHA256 over the sorted non-empty fields plus
//! `&key=APIv2KEY`.
//!
//! The parser accepts only that flat shape. A DTD, entity declaration,
//! processing instruction, nesting, duplicate field or oversized document is
//! refused: nothing is ever resolved or read from outside the document.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use quick_xml::events::Event;
use sha2::Sha256;

/// Far more than any real notify (about 1 KB).
pub const MAX_XML_BYTES: usize = 16 * 1024;
const MAX_FIELDS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("XML 过大")]
    TooLarge,
    #[error("XML 不允许包含 DTD、实体声明或处理指令")]
    Forbidden,
    #[error("XML 格式错误")]
    Malformed,
}

/// Parses the flat notify document into its fields (text and CDATA values,
/// entities such as `&amp;` unescaped; only XML's predefined entities exist).
pub fn parse(xml: &[u8]) -> Result<BTreeMap<String, String>, XmlError> {
    if xml.len() > MAX_XML_BYTES {
        return Err(XmlError::TooLarge);
    }
    let text = std::str::from_utf8(xml).map_err(|_| XmlError::Malformed)?;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut fields = BTreeMap::new();
    let mut depth = 0usize;
    let mut root_seen = false;
    let mut current: Option<(String, String)> = None;
    loop {
        match reader.read_event().map_err(|_| XmlError::Malformed)? {
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) => {}
            Event::DocType(_) | Event::PI(_) => return Err(XmlError::Forbidden),
            Event::Start(e) => {
                depth += 1;
                match depth {
                    1 if !root_seen && e.name().as_ref() == b"xml" => root_seen = true,
                    2 => {
                        let name = std::str::from_utf8(e.name().as_ref())
                            .map_err(|_| XmlError::Malformed)?
                            .to_string();
                        current = Some((name, String::new()));
                    }
                    _ => return Err(XmlError::Malformed),
                }
            }
            Event::Empty(e) => {
                if depth != 1 {
                    return Err(XmlError::Malformed);
                }
                let name = std::str::from_utf8(e.name().as_ref())
                    .map_err(|_| XmlError::Malformed)?
                    .to_string();
                insert(&mut fields, name, String::new())?;
            }
            Event::Text(t) => {
                let Some((_, value)) = current.as_mut() else {
                    return Err(XmlError::Malformed);
                };
                let s = t.decode().map_err(|_| XmlError::Malformed)?;
                let s = quick_xml::escape::unescape(&s).map_err(|_| XmlError::Forbidden)?;
                value.push_str(&s);
            }
            Event::GeneralRef(r) => {
                // `&amp;` and friends arrive as references; anything else would
                // need a DTD, which is refused.
                let Some((_, value)) = current.as_mut() else {
                    return Err(XmlError::Malformed);
                };
                let name = r.decode().map_err(|_| XmlError::Malformed)?;
                let ch = match name.as_ref() {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    _ => match r.resolve_char_ref() {
                        Ok(Some(c)) => c,
                        _ => return Err(XmlError::Forbidden),
                    },
                };
                value.push(ch);
            }
            Event::CData(c) => {
                let Some((_, value)) = current.as_mut() else {
                    return Err(XmlError::Malformed);
                };
                value.push_str(std::str::from_utf8(&c).map_err(|_| XmlError::Malformed)?);
            }
            Event::End(_) => {
                if depth == 2
                    && let Some((name, value)) = current.take()
                {
                    insert(&mut fields, name, value)?;
                }
                depth = depth.checked_sub(1).ok_or(XmlError::Malformed)?;
            }
        }
    }
    if !root_seen || depth != 0 {
        return Err(XmlError::Malformed);
    }
    Ok(fields)
}

fn insert(
    fields: &mut BTreeMap<String, String>,
    name: String,
    value: String,
) -> Result<(), XmlError> {
    if fields.len() >= MAX_FIELDS || fields.insert(name, value).is_some() {
        return Err(XmlError::Malformed);
    }
    Ok(())
}

/// `k=v&…` of the non-empty fields except `sign`, in ASCII order, then `&key=`.
fn sign_input(fields: &BTreeMap<String, String>, key: &str) -> String {
    let mut s = String::new();
    for (k, v) in fields {
        if k == "sign" || v.is_empty() {
            continue;
        }
        if !s.is_empty() {
            s.push('&');
        }
        s.push_str(k);
        s.push('=');
        s.push_str(v);
    }
    s.push_str("&key=");
    s.push_str(key);
    s
}

pub fn sign_md5(fields: &BTreeMap<String, String>, key: &str) -> String {
    hex::encode_upper(Md5::digest(sign_input(fields, key).as_bytes()))
}

pub fn sign_hmac_sha256(fields: &BTreeMap<String, String>, key: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    mac.update(sign_input(fields, key).as_bytes());
    hex::encode_upper(mac.finalize().into_bytes())
}

/// Checks `sign`, choosing the algorithm by its length (`sign_type` is
/// optional and sometimes wrong). Constant-time comparison.
pub fn verify(fields: &BTreeMap<String, String>, key: &str) -> bool {
    let Some(given) = fields.get("sign") else {
        return false;
    };
    let expected = match given.len() {
        32 => sign_md5(fields, key),
        64 => sign_hmac_sha256(fields, key),
        _ => return false,
    };
    use subtle::ConstantTimeEq;
    expected
        .as_bytes()
        .ct_eq(given.to_ascii_uppercase().as_bytes())
        .into()
}

/// v2's reply: `SUCCESS` acknowledges; anything else makes WeChat retry.
pub fn reply(success: bool, message: &str) -> String {
    let (code, msg) = if success {
        ("SUCCESS", "OK")
    } else {
        ("FAIL", message)
    };
    // The message is ours, but keep CDATA well-formed whatever it holds.
    let msg = msg.replace("]]>", "]]]]><![CDATA[>");
    format!(
        "<xml><return_code><![CDATA[{code}]]></return_code><return_msg><![CDATA[{msg}]]></return_msg></xml>"
    )
}

/// Serialises fields as a v2 document (CDATA values): for tests and fuzzing
/// seeds that play WeChat.
pub fn to_xml(fields: &BTreeMap<String, String>) -> String {
    let mut s = String::from("<xml>");
    for (k, v) in fields {
        s.push_str(&format!("<{k}><![CDATA[{v}]]></{k}>"));
    }
    s.push_str("</xml>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn official() -> BTreeMap<String, String> {
        [
            ("appid", "wxd930ea5d5a258f4f"),
            ("body", "test"),
            ("device_info", "1000"),
            ("mch_id", "10000100"),
            ("nonce_str", "ibuaiVcKdpRxkhJA"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    const KEY: &str = "192006250b4c09247ec02edce69f6a2d";

    #[test]
    fn official_sign_vectors() {
        assert_eq!(
            sign_md5(&official(), KEY),
            "9A0A8659F005D6984697E2CA0A9CF3B7"
        );
        assert_eq!(
            sign_hmac_sha256(&official(), KEY),
            "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"
        );
    }

    #[test]
    fn verify_infers_the_algorithm_and_ignores_empty_fields() {
        let mut f = official();
        f.insert("attach".into(), String::new());
        f.insert("sign".into(), "9A0A8659F005D6984697E2CA0A9CF3B7".into());
        assert!(verify(&f, KEY));
        f.insert(
            "sign".into(),
            "6a9ae1657590fd6257d693a078e1c3e4bb6ba4dc30b23e0ee2496e54170dacd6".into(),
        );
        assert!(verify(&f, KEY));
        f.insert("body".into(), "test2".into());
        assert!(!verify(&f, KEY));
        f.insert("sign".into(), "short".into());
        assert!(!verify(&f, KEY));
        f.remove("sign");
        assert!(!verify(&f, KEY));
    }

    #[test]
    fn parses_cdata_and_plain_values() {
        let f =
            parse(b"<?xml version=\"1.0\"?><xml><a><![CDATA[x<y]]></a><b>1&amp;2</b><c/></xml>")
                .unwrap();
        assert_eq!(f["a"], "x<y");
        assert_eq!(f["b"], "1&2");
        assert_eq!(f["c"], "");
        let round = parse(to_xml(&official()).as_bytes()).unwrap();
        assert_eq!(round, official());
    }

    #[test]
    fn refuses_dtds_entities_nesting_and_junk() {
        let xxe = b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><xml><a>&e;</a></xml>";
        assert_eq!(parse(xxe), Err(XmlError::Forbidden));
        assert_eq!(parse(b"<xml><a>&e;</a></xml>"), Err(XmlError::Forbidden));
        assert_eq!(parse(b"<?php x?><xml></xml>"), Err(XmlError::Forbidden));
        for bad in [
            &b""[..],
            b"<xml>",
            b"<xml><a><b>1</b></a></xml>",
            b"<xml><a>1</a><a>2</a></xml>",
            b"<root><a>1</a></root>",
            b"<xml>text</xml>",
            b"<xml></xml><xml></xml>",
            b"\xff\xfe",
            b"<xml><a>1</b></xml>",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(
            parse(&vec![b' '; MAX_XML_BYTES + 1]),
            Err(XmlError::TooLarge)
        );
    }

    #[test]
    fn reply_is_v2_shaped() {
        assert_eq!(
            reply(true, ""),
            "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>"
        );
        assert!(reply(false, "签名错误").contains("FAIL"));
    }
}
