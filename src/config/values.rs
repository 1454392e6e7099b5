//! The value types the configuration is made of, and its error. Below both
//! the declarations (`options`) and the parsers (`parse`).

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

/// Where scheduled backups go, how often, and how many are kept.
#[derive(Debug, Clone)]
pub struct BackupSchedule {
    pub dir: PathBuf,
    pub every: Duration,
    pub keep: usize,
}

/// Merchant configuration for WeChat Pay APIv3. Files are read (and keys
/// parsed) when the app is built, so a bad key stops the start with its name.
#[derive(Debug, Clone)]
pub struct PayConfig {
    pub mch_id: String,
    pub mch_serial_no: String,
    pub mch_private_key_path: PathBuf,
    pub api_v3_key: Secret,
    /// `WECHAT_PAY_PUBLIC_KEY_ID` + `WECHAT_PAY_PUBLIC_KEY_PATH`.
    pub pay_public_key: Option<(String, PathBuf)>,
    /// `WECHAT_PAY_PLATFORM_CERT_PATHS`, comma-separated (older merchants).
    pub platform_cert_paths: Vec<PathBuf>,
    /// APIv2 key: accept legacy XML notifies too.
    pub mch_key_v2: Option<Secret>,
    /// Where WeChat reaches us: notify URLs are built from it.
    pub public_base_url: String,
}

/// A secret string whose Debug output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Clone)]
pub struct WechatCredentials {
    pub app_id: String,
    pub app_secret: String,
}

impl std::fmt::Debug for WechatCredentials {
    // The secret never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatCredentials")
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

/// `count` requests per `per`, with bursts up to `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

/// `None` = that limit is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Per client IP, everything under /api.
    pub api: Option<Rate>,
    /// Per client IP, each login route.
    pub login: Option<Rate>,
    /// Per user, order creation.
    pub orders: Option<Rate>,
}

impl Default for RateLimits {
    fn default() -> Self {
        // Generous per IP: mobile carriers put many buyers behind one address
        // (CGNAT), and an on-sale rush must not lock them out together.
        RateLimits {
            api: Some(Rate {
                count: 100,
                per: Duration::from_secs(1),
            }),
            login: Some(Rate {
                count: 20,
                per: Duration::from_secs(60),
            }),
            orders: Some(Rate {
                count: 5,
                per: Duration::from_secs(1),
            }),
        }
    }
}

impl RateLimits {
    pub const OFF: RateLimits = RateLimits {
        api: None,
        login: None,
        orders: None,
    };
}

#[derive(Debug, thiserror::Error)]
#[error("配置错误 {var}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

pub(super) fn bad(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        reason: reason.into(),
    }
}
