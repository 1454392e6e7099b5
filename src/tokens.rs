//! Tokens and passwords: HS256 JWTs for users and admins (distinct audiences,
//! so one kind never passes for the other), and argon2id password hashes.

use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use anyhow::Context;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::model::admins::AdminRole;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    User,
    Admin,
}

impl TokenKind {
    fn audience(self) -> &'static str {
        match self {
            TokenKind::User => "user",
            TokenKind::Admin => "admin",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// User id or admin id.
    pub sub: String,
    /// "user" or "admin".
    pub aud: String,
    /// Admin tokens: the club the admin belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    /// Admin tokens: owner or staff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Admin tokens: the admin's session epoch when issued. A password
    /// change, a role or status change or "sign out everywhere" moves the
    /// epoch on, which retires every token issued before. Tokens from before
    /// epochs existed carry none: epoch 0.
    #[serde(default)]
    pub sep: i64,
    pub iat: u64,
    pub exp: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    Expired,
    Invalid,
    /// A valid token of the other kind.
    WrongKind,
}

pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl Tokens {
    pub fn new(secret: &[u8], ttl: Duration) -> Tokens {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is exact: a token lives JWT_EXPIRES_IN, not a minute more.
        validation.leeway = 0;
        // The audience is compared by hand so a token of the other kind gets
        // its own answer.
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "sub", "aud"]);
        Tokens {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn issue(&self, claims: Claims) -> anyhow::Result<String> {
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).context("signing token")
    }

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    pub fn issue_user(&self, user_id: &str) -> anyhow::Result<String> {
        self.issue_user_until(user_id).map(|(token, _)| token)
    }

    /// A buyer token and its expiry (Unix seconds).
    pub fn issue_user_until(&self, user_id: &str) -> anyhow::Result<(String, u64)> {
        let now = Self::now();
        let exp = now + self.ttl.as_secs();
        let token = self.issue(Claims {
            sub: user_id.into(),
            aud: TokenKind::User.audience().into(),
            tid: None,
            role: None,
            sep: 0,
            iat: now,
            exp,
        })?;
        Ok((token, exp))
    }

    /// Now, in Unix seconds, as token expiry is counted.
    pub fn unix_now() -> u64 {
        Self::now()
    }

    pub fn issue_admin(
        &self,
        admin_id: &str,
        tenant_id: &str,
        role: AdminRole,
        epoch: i64,
    ) -> anyhow::Result<String> {
        let now = Self::now();
        self.issue(Claims {
            sub: admin_id.into(),
            aud: TokenKind::Admin.audience().into(),
            tid: Some(tenant_id.into()),
            role: Some(role.as_str().into()),
            sep: epoch,
            iat: now,
            exp: now + self.ttl.as_secs(),
        })
    }

    pub fn verify(&self, token: &str, kind: TokenKind) -> Result<Claims, TokenError> {
        if token.len() > 4096 {
            return Err(TokenError::Invalid);
        }
        let data =
            decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| {
                match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                    _ => TokenError::Invalid,
                }
            })?;
        if data.claims.aud != kind.audience() {
            return Err(TokenError::WrongKind);
        }
        if kind == TokenKind::Admin && (data.claims.tid.is_none() || data.claims.role.is_none()) {
            return Err(TokenError::Invalid);
        }
        Ok(data.claims)
    }
}

const DEV_SECRET_FILE: &str = "jwt-secret";

/// The signing secret: `JWT_SECRET`, or outside production one generated once
/// and kept in DATA_DIR so tokens survive a restart.
pub fn resolve_secret(config: &Config) -> anyhow::Result<Vec<u8>> {
    if let Some(s) = &config.jwt_secret {
        return Ok(s.0.as_bytes().to_vec());
    }
    anyhow::ensure!(!config.is_production(), "生产环境必须设置 JWT_SECRET");
    load_or_create_dev_secret(&config.data_dir.join(DEV_SECRET_FILE))
}

fn load_or_create_dev_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim();
        if existing.len() >= 32 {
            return Ok(existing.as_bytes().to_vec());
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let secret = crate::ids::random_token(48);
    write_private(path, secret.as_bytes())
        .with_context(|| format!("无法写入 {}", path.display()))?;
    tracing::info!(file = %path.display(), "generated a development JWT secret");
    Ok(secret.into_bytes())
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)?.write_all(data)
}

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

/// Verifies a password against a stored hash. With no stored hash (unknown
/// user), verifies against a fixed dummy so both answers take as long.
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: LazyLock<String> =
        LazyLock::new(|| hash_password("dummy-password-for-timing").unwrap_or_default());
    let (hash, real) = match stored {
        Some(h) => (h, true),
        None => (DUMMY.as_str(), false),
    };
    let ok = PasswordHash::new(hash)
        .map(|parsed| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false);
    ok && real
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(ttl: u64) -> Tokens {
        Tokens::new(
            b"0123456789abcdef0123456789abcdef",
            Duration::from_secs(ttl),
        )
    }

    #[test]
    fn kinds_do_not_mix() {
        let t = tokens(60);
        let user = t.issue_user("u1").unwrap();
        let admin = t.issue_admin("a1", "dt", AdminRole::Owner, 0).unwrap();
        assert_eq!(t.verify(&user, TokenKind::User).unwrap().sub, "u1");
        assert_eq!(
            t.verify(&admin, TokenKind::Admin).unwrap().tid.as_deref(),
            Some("dt")
        );
        assert_eq!(
            t.verify(&user, TokenKind::Admin).unwrap_err(),
            TokenError::WrongKind
        );
        assert_eq!(
            t.verify(&admin, TokenKind::User).unwrap_err(),
            TokenError::WrongKind
        );
    }

    #[test]
    fn tampering_and_other_keys_are_invalid() {
        let t = tokens(60);
        let user = t.issue_user("u1").unwrap();
        let mut parts: Vec<&str> = user.split('.').collect();
        let forged_payload =
            base64_url(r#"{"sub":"someone-else","aud":"user","iat":1,"exp":99999999999}"#);
        parts[1] = &forged_payload;
        assert_eq!(
            t.verify(&parts.join("."), TokenKind::User).unwrap_err(),
            TokenError::Invalid
        );
        let other = Tokens::new(b"another-secret-another-secret-xx", Duration::from_secs(60));
        assert_eq!(
            other.verify(&user, TokenKind::User).unwrap_err(),
            TokenError::Invalid
        );
        for junk in ["", "a.b.c", "Bearer x", &"x".repeat(5000)] {
            assert_eq!(
                t.verify(junk, TokenKind::User).unwrap_err(),
                TokenError::Invalid
            );
        }
        // "alg": "none" is refused.
        let none = format!(
            "{}.{}.",
            base64_url(r#"{"alg":"none","typ":"JWT"}"#),
            base64_url(r#"{"sub":"u1","aud":"user","iat":1,"exp":99999999999}"#)
        );
        assert_eq!(
            t.verify(&none, TokenKind::User).unwrap_err(),
            TokenError::Invalid
        );
    }

    fn base64_url(s: &str) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn passwords() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", Some(&h)));
        assert!(!verify_password("wrong horse", Some(&h)));
        assert!(!verify_password("dummy-password-for-timing", None));
        assert!(!verify_password("x", Some("not a hash")));
    }

    #[test]
    fn dev_secret_persists() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("jwt-secret");
        let a = load_or_create_dev_secret(&p).unwrap();
        let b = load_or_create_dev_secret(&p).unwrap();
        assert_eq!(a, b);
        assert!(a.len() >= 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
}
