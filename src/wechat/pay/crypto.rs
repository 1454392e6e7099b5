//! WeChat Pay APIv3 cryptography: signing our requests and the
//! `wx.requestPayment` parameters with the merchant key, verifying WeChat's
//! signatures (WeChat Pay public key or platform certificates), and opening
//! AEAD_AES_256_GCM resources. All on `ring`.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ring::signature::{self, RsaKeyPair, UnparsedPublicKey};
use x509_parser::prelude::FromDer;

/// Allowed distance between WeChat's `Wechatpay-Timestamp` and our clock.
pub const MAX_SKEW_SECS: i64 = 300;

/// WeChat's probe notifications carry signatures with this prefix; they must
/// never verify.
const SIGNTEST_PREFIX: &str = "WECHATPAY/SIGNTEST/";

/// `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n` — what an outbound request signs.
pub fn request_message(method: &str, url: &str, timestamp: i64, nonce: &str, body: &str) -> String {
    format!("{method}\n{url}\n{timestamp}\n{nonce}\n{body}\n")
}

/// `appId\ntimeStamp\nnonceStr\npackage\n` — what `paySign` signs.
pub fn pay_sign_message(app_id: &str, timestamp: &str, nonce: &str, package: &str) -> String {
    format!("{app_id}\n{timestamp}\n{nonce}\n{package}\n")
}

/// `TIMESTAMP\nNONCE\nBODY\n` — what WeChat signs on responses and notifies.
pub fn response_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(body.len() + 64);
    m.extend_from_slice(timestamp.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(nonce.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(body);
    m.push(b'\n');
    m
}

/// The merchant's API key pair and certificate serial.
pub struct MerchantSigner {
    key: RsaKeyPair,
    pub mch_id: String,
    pub serial_no: String,
}

impl std::fmt::Debug for MerchantSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerchantSigner")
            .field("mch_id", &self.mch_id)
            .field("serial_no", &self.serial_no)
            .finish_non_exhaustive()
    }
}

impl MerchantSigner {
    /// `apiclient_key.pem`: PKCS#8 (`PRIVATE KEY`), or PKCS#1 (`RSA PRIVATE KEY`).
    pub fn from_pem(pem_text: &str, mch_id: &str, serial_no: &str) -> anyhow::Result<Self> {
        let block =
            pem::parse(pem_text).map_err(|e| anyhow::anyhow!("不是 PEM 格式的私钥: {e}"))?;
        let key = match block.tag() {
            "PRIVATE KEY" => RsaKeyPair::from_pkcs8(block.contents()),
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(block.contents()),
            other => anyhow::bail!("不支持的私钥类型 {other}（应为 RSA PRIVATE KEY）"),
        }
        .map_err(|e| anyhow::anyhow!("RSA 私钥无效: {e}"))?;
        Ok(MerchantSigner {
            key,
            mch_id: mch_id.to_string(),
            serial_no: serial_no.to_string(),
        })
    }

    /// SHA256withRSA (PKCS#1 v1.5), base64.
    pub fn sign(&self, message: &[u8]) -> String {
        let rng = ring::rand::SystemRandom::new();
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
            .expect("RSA signing with a valid key and a right-sized buffer");
        B64.encode(sig)
    }

    /// The `Authorization` header of an outbound APIv3 request.
    pub fn authorization(
        &self,
        method: &str,
        url: &str,
        body: &str,
        timestamp: i64,
        nonce: &str,
    ) -> String {
        let signature = self.sign(request_message(method, url, timestamp, nonce, body).as_bytes());
        format!(
            "WECHATPAY2-SHA256-RSA2048 mchid=\"{}\",nonce_str=\"{nonce}\",timestamp=\"{timestamp}\",serial_no=\"{}\",signature=\"{signature}\"",
            self.mch_id, self.serial_no
        )
    }
}

/// The four signature headers of a WeChat response or notify.
#[derive(Debug, Clone, Default)]
pub struct SignatureHeaders {
    pub serial: String,
    pub timestamp: String,
    pub nonce: String,
    pub signature: String,
}

impl SignatureHeaders {
    pub fn from_headers(h: &reqwest::header::HeaderMap) -> Self {
        let get = |name: &str| {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        SignatureHeaders {
            serial: get("wechatpay-serial"),
            timestamp: get("wechatpay-timestamp"),
            nonce: get("wechatpay-nonce"),
            signature: get("wechatpay-signature"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("缺少微信支付签名头")]
    MissingHeaders,
    #[error("未知的微信支付公钥/证书序列号")]
    UnknownSerial,
    #[error("时间戳与服务器时间相差超过 5 分钟")]
    StaleTimestamp,
    #[error("微信支付签名探测请求")]
    SignTest,
    #[error("签名验证失败")]
    BadSignature,
}

/// WeChat's verification keys by serial: the WeChat Pay public key
/// (`PUB_KEY_ID_…`) and/or platform certificates.
#[derive(Default)]
pub struct Verifier {
    /// Serial (normalised) → PKCS#1 `RSAPublicKey` DER, as ring wants it.
    keys: HashMap<String, Vec<u8>>,
}

/// Certificate serials are compared as uppercase hex without leading zeros;
/// public-key ids as given.
fn normalise_serial(serial: &str) -> String {
    let s = serial.trim();
    if s.starts_with("PUB_KEY_ID_") {
        return s.to_string();
    }
    let up = s.to_ascii_uppercase();
    let stripped = up.trim_start_matches('0');
    if stripped.is_empty() {
        "0".into()
    } else {
        stripped.to_string()
    }
}

impl Verifier {
    /// Adds the WeChat Pay public key (`pub_key.pem`, SPKI) under its id.
    pub fn add_public_key(&mut self, id: &str, pem_text: &str) -> anyhow::Result<()> {
        let block =
            pem::parse(pem_text).map_err(|e| anyhow::anyhow!("不是 PEM 格式的公钥: {e}"))?;
        anyhow::ensure!(
            block.tag() == "PUBLIC KEY",
            "应为 PUBLIC KEY，而不是 {}",
            block.tag()
        );
        let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(block.contents())
            .map_err(|e| anyhow::anyhow!("公钥无效: {e}"))?;
        self.keys
            .insert(normalise_serial(id), spki.subject_public_key.data.to_vec());
        Ok(())
    }

    /// Adds a platform certificate (PEM); returns its serial.
    pub fn add_certificate(&mut self, pem_text: &str) -> anyhow::Result<String> {
        let block =
            pem::parse(pem_text).map_err(|e| anyhow::anyhow!("不是 PEM 格式的证书: {e}"))?;
        let (_, cert) = x509_parser::parse_x509_certificate(block.contents())
            .map_err(|e| anyhow::anyhow!("证书无效: {e}"))?;
        let serial = normalise_serial(&hex::encode_upper(cert.raw_serial()));
        self.keys.insert(
            serial.clone(),
            cert.public_key().subject_public_key.data.to_vec(),
        );
        Ok(serial)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Checks a response or notify: known serial, fresh timestamp, valid
    /// SHA256withRSA signature over `TIMESTAMP\nNONCE\nBODY\n`.
    pub fn verify(
        &self,
        h: &SignatureHeaders,
        body: &[u8],
        now_secs: i64,
    ) -> Result<(), VerifyError> {
        if h.serial.is_empty()
            || h.timestamp.is_empty()
            || h.nonce.is_empty()
            || h.signature.is_empty()
        {
            return Err(VerifyError::MissingHeaders);
        }
        if h.signature.starts_with(SIGNTEST_PREFIX) {
            return Err(VerifyError::SignTest);
        }
        let Some(key) = self.keys.get(&normalise_serial(&h.serial)) else {
            return Err(VerifyError::UnknownSerial);
        };
        let ts: i64 = h
            .timestamp
            .parse()
            .map_err(|_| VerifyError::StaleTimestamp)?;
        if (now_secs - ts).abs() >= MAX_SKEW_SECS {
            return Err(VerifyError::StaleTimestamp);
        }
        let sig = B64
            .decode(h.signature.as_bytes())
            .map_err(|_| VerifyError::BadSignature)?;
        UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, key)
            .verify(&response_message(&h.timestamp, &h.nonce, body), &sig)
            .map_err(|_| VerifyError::BadSignature)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    #[error("不支持的加密算法")]
    Algorithm,
    #[error("密文或随机串格式错误")]
    Malformed,
    #[error("解密失败（密钥错误或数据被篡改）")]
    Failed,
}

/// Opens an AEAD_AES_256_GCM (or, for the primitive's test vectors,
/// AES-128-GCM) resource: key = the APIv3 key's bytes, nonce = the 12 bytes of
/// `nonce`, AAD = `associated_data`, input = base64 ciphertext ‖ 16-byte tag.
pub fn decrypt_resource(
    key: &[u8],
    nonce: &str,
    associated_data: &str,
    ciphertext_b64: &str,
) -> Result<Vec<u8>, DecryptError> {
    let alg = match key.len() {
        32 => &ring::aead::AES_256_GCM,
        16 => &ring::aead::AES_128_GCM,
        _ => return Err(DecryptError::Algorithm),
    };
    let nonce = ring::aead::Nonce::try_assume_unique_for_key(nonce.as_bytes())
        .map_err(|_| DecryptError::Malformed)?;
    let mut data = B64
        .decode(ciphertext_b64.as_bytes())
        .map_err(|_| DecryptError::Malformed)?;
    if data.len() < alg.tag_len() {
        return Err(DecryptError::Malformed);
    }
    let key = ring::aead::LessSafeKey::new(
        ring::aead::UnboundKey::new(alg, key).map_err(|_| DecryptError::Algorithm)?,
    );
    let plain = key
        .open_in_place(
            nonce,
            ring::aead::Aad::from(associated_data.as_bytes()),
            &mut data,
        )
        .map_err(|_| DecryptError::Failed)?;
    Ok(plain.to_vec())
}

/// The inverse of [`decrypt_resource`] (AES-256-GCM): used by the dev-mode
/// mock and by tests that play WeChat.
pub fn encrypt_resource(
    key: &[u8; 32],
    nonce: &str,
    associated_data: &str,
    plain: &[u8],
) -> String {
    let nonce =
        ring::aead::Nonce::try_assume_unique_for_key(nonce.as_bytes()).expect("a 12-byte nonce");
    let key = ring::aead::LessSafeKey::new(
        ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, key).expect("a 32-byte key"),
    );
    let mut data = plain.to_vec();
    key.seal_in_place_append_tag(
        nonce,
        ring::aead::Aad::from(associated_data.as_bytes()),
        &mut data,
    )
    .expect("sealing in memory");
    B64.encode(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes_256_gcm_vector_from_wechatpay_java() {
        let plain = decrypt_resource(
            b"a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb",
            "uluk4a9R25RW",
            "associatedData",
            "ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI=",
        )
        .unwrap();
        assert_eq!(plain, b"message");
    }

    #[test]
    fn aes_128_gcm_vector_from_wechatpay_go() {
        let plain = decrypt_resource(
            b"testAPIv3Key0000",
            "wCq51qZv4Yfg",
            "Dl56FrqWQJF1t9LtC3vEUsniZKvbqdR8",
            "FsdXzxryWfKwvLJKf8LG/ToRPTRh8RN9wROC",
        )
        .unwrap();
        assert_eq!(plain, b"Hello World");
    }

    #[test]
    fn tampering_and_wrong_inputs_fail_cleanly() {
        let key = b"a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb";
        let good = "ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI=";
        assert_eq!(
            decrypt_resource(key, "uluk4a9R25RW", "associatedDatX", good),
            Err(DecryptError::Failed)
        );
        assert_eq!(
            decrypt_resource(key, "short", "associatedData", good),
            Err(DecryptError::Malformed)
        );
        assert_eq!(
            decrypt_resource(key, "uluk4a9R25RW", "associatedData", "!!!"),
            Err(DecryptError::Malformed)
        );
        assert_eq!(
            decrypt_resource(key, "uluk4a9R25RW", "associatedData", "AAAA"),
            Err(DecryptError::Malformed)
        );
        assert_eq!(
            decrypt_resource(b"short", "uluk4a9R25RW", "", good),
            Err(DecryptError::Algorithm)
        );
        let mut k2 = *key;
        k2[0] ^= 1;
        assert_eq!(
            decrypt_resource(&k2, "uluk4a9R25RW", "associatedData", good),
            Err(DecryptError::Failed)
        );
    }

    #[test]
    fn encrypt_round_trips() {
        let key = [7u8; 32];
        let c = encrypt_resource(&key, "abcdefghijkl", "transaction", b"{\"a\":1}");
        assert_eq!(
            decrypt_resource(&key, "abcdefghijkl", "transaction", &c).unwrap(),
            b"{\"a\":1}"
        );
    }

    #[test]
    fn request_message_layout_matches_wechatpay_go() {
        assert_eq!(
            request_message("GET", "/v3/certificates", 1624523846, "A1B2C3D4E5F6G7", ""),
            "GET\n/v3/certificates\n1624523846\nA1B2C3D4E5F6G7\n\n"
        );
        assert_eq!(
            pay_sign_message("wx1", "123", "n", "prepay_id=p"),
            "wx1\n123\nn\nprepay_id=p\n"
        );
        assert_eq!(response_message("1", "n", b""), b"1\nn\n\n");
    }

    #[test]
    fn serials_compare_as_uppercase_hex_without_leading_zeros() {
        assert_eq!(normalise_serial("00ab12"), "AB12");
        assert_eq!(normalise_serial("AB12"), "AB12");
        assert_eq!(normalise_serial("PUB_KEY_ID_0011"), "PUB_KEY_ID_0011");
    }

    #[test]
    fn verify_rejects_before_any_crypto() {
        let v = Verifier::default();
        let mut h = SignatureHeaders {
            serial: "X".into(),
            timestamp: "1".into(),
            nonce: "n".into(),
            signature: "WECHATPAY/SIGNTEST/abc".into(),
        };
        assert_eq!(v.verify(&h, b"", 1), Err(VerifyError::SignTest));
        h.signature = "abc".into();
        assert_eq!(v.verify(&h, b"", 1), Err(VerifyError::UnknownSerial));
        h.nonce.clear();
        assert_eq!(v.verify(&h, b"", 1), Err(VerifyError::MissingHeaders));
    }
}
