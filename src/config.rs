//! Environment variables -> a typed, validated `Config`.
//!
//! Reading goes through a lookup function rather than `std::env` directly so tests
//! can build configs side by side without racing on the process environment.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono_tz::Tz;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub host: IpAddr,
    pub port: u16,
    pub data_dir: PathBuf,
    pub app_env: AppEnv,
    pub timezone: Tz,
    pub log_level: String,
    pub jwt_secret: Option<Secret>,
    pub upload_path: PathBuf,
    pub static_url: String,
    /// Load the demo club into an empty database at `serve` (never in production).
    pub demo_on_empty: bool,
    /// Mini-program credentials; `None` outside production means dev mode.
    pub wechat: Option<WechatCredentials>,
    /// Base URL of WeChat's API (tests point it at a local fake).
    pub wechat_api_base_url: String,
    /// Lifetime of user and admin tokens.
    pub jwt_expires_in: Duration,
    /// Take the client address from `X-Forwarded-For` (behind a reverse proxy).
    pub trust_proxy: bool,
    pub rate_limits: RateLimits,
    /// How long an unpaid order holds its seats.
    pub order_payment_timeout: Duration,
    /// Write commands per commit (group commit); 1 turns batching off.
    pub writer_max_batch: usize,
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

/// Parses a duration written as seconds (`7200`) or with a unit
/// (`30s`, `15m`, `2h`, `7d`).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let n: u64 = num.parse().ok()?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// Parses `50/s`, `10/min`, `600/h` (also `10/m`, `100/1s`-style is refused).
pub fn parse_rate(text: &str) -> Option<Rate> {
    let (count, unit) = text.trim().split_once('/')?;
    let count: u32 = count.trim().parse().ok().filter(|c| *c > 0)?;
    let per = match unit.trim() {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "m" | "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        _ => return None,
    };
    Some(Rate { count, per })
}

#[derive(Debug, thiserror::Error)]
#[error("配置错误 {var}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

fn bad(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        reason: reason.into(),
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Builds a config from any key -> value lookup. Empty values count as unset,
    /// because `FOO= cmd` in a shell or an empty line in a systemd unit means "default".
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| {
            lookup(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };

        let host = match get("HOST") {
            None => IpAddr::from([0, 0, 0, 0]),
            Some(v) => v
                .parse()
                .map_err(|_| bad("HOST", format!("不是合法的 IP 地址: {v:?}")))?,
        };
        let port = match get("PORT") {
            None => 3000,
            Some(v) => v
                .parse::<u16>()
                .map_err(|_| bad("PORT", format!("应为 0-65535 的整数: {v:?}")))?,
        };
        let data_dir = PathBuf::from(get("DATA_DIR").unwrap_or_else(|| "./data".into()));
        let app_env = match get("APP_ENV").as_deref() {
            None | Some("development") | Some("dev") => AppEnv::Development,
            Some("production") | Some("prod") => AppEnv::Production,
            Some(v) => {
                return Err(bad(
                    "APP_ENV",
                    format!("应为 development 或 production: {v:?}"),
                ));
            }
        };
        let timezone = match get("APP_TIMEZONE") {
            None => chrono_tz::Asia::Shanghai,
            Some(v) => v.parse::<Tz>().map_err(|_| {
                bad(
                    "APP_TIMEZONE",
                    format!("未知时区 (IANA 名称，如 Asia/Shanghai): {v:?}"),
                )
            })?,
        };
        let log_level = get("LOG_LEVEL").unwrap_or_else(|| "info".into());
        if tracing_subscriber::EnvFilter::builder()
            .parse(&log_level)
            .is_err()
        {
            return Err(bad(
                "LOG_LEVEL",
                format!("应为 error/warn/info/debug/trace 或过滤指令: {log_level:?}"),
            ));
        }
        let jwt_secret = get("JWT_SECRET").map(Secret);
        let upload_path = get("UPLOAD_PATH")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("uploads"));
        let static_url = get("STATIC_URL").unwrap_or_else(|| "/static".into());
        if !(static_url.starts_with('/')
            || static_url.starts_with("http://")
            || static_url.starts_with("https://"))
        {
            return Err(bad(
                "STATIC_URL",
                format!("应为以 / 开头的路径或 http(s) 地址: {static_url:?}"),
            ));
        }

        let demo_on_empty = match get("DEMO_DATA").as_deref() {
            None | Some("auto") | Some("on") => app_env != AppEnv::Production,
            Some("off") => false,
            Some(v) => return Err(bad("DEMO_DATA", format!("应为 auto 或 off: {v:?}"))),
        };

        let wechat = match (get("WECHAT_APP_ID"), get("WECHAT_APP_SECRET")) {
            (Some(app_id), Some(app_secret)) => Some(WechatCredentials { app_id, app_secret }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(bad(
                    "WECHAT_APP_SECRET",
                    "设置了 WECHAT_APP_ID 但缺少 WECHAT_APP_SECRET",
                ));
            }
            (None, Some(_)) => {
                return Err(bad(
                    "WECHAT_APP_ID",
                    "设置了 WECHAT_APP_SECRET 但缺少 WECHAT_APP_ID",
                ));
            }
        };
        if app_env == AppEnv::Production && wechat.is_none() {
            return Err(bad(
                "WECHAT_APP_ID",
                "生产环境必须配置 WECHAT_APP_ID 和 WECHAT_APP_SECRET（开发模式登录不能在生产环境启用）",
            ));
        }
        let wechat_api_base_url = get("WECHAT_API_BASE_URL")
            .unwrap_or_else(|| "https://api.weixin.qq.com".into())
            .trim_end_matches('/')
            .to_string();
        if !(wechat_api_base_url.starts_with("https://")
            || wechat_api_base_url.starts_with("http://"))
        {
            return Err(bad("WECHAT_API_BASE_URL", "应为 http(s) 地址"));
        }
        if app_env == AppEnv::Production && jwt_secret.as_ref().is_none_or(|s| s.0.len() < 32) {
            return Err(bad(
                "JWT_SECRET",
                "生产环境必须设置至少 32 字节的 JWT_SECRET（例如 openssl rand -hex 32）",
            ));
        }
        let jwt_expires_in = match get("JWT_EXPIRES_IN") {
            None => Duration::from_secs(7200),
            Some(v) => parse_duration(&v)
                .filter(|d| d.as_secs() <= 90 * 86_400)
                .ok_or_else(|| {
                    bad(
                        "JWT_EXPIRES_IN",
                        format!("应为秒数或 30m、2h、7d 这样的时长（最长 90 天）: {v:?}"),
                    )
                })?,
        };
        let trust_proxy = match get("TRUST_PROXY").as_deref() {
            None | Some("0") | Some("false") | Some("off") => false,
            Some("1") | Some("true") | Some("on") => true,
            Some(v) => return Err(bad("TRUST_PROXY", format!("应为 1 或 0: {v:?}"))),
        };
        let rate_limits = match get("RATE_LIMITS").as_deref() {
            Some("off") => RateLimits::OFF,
            None | Some("on") => {
                let mut limits = RateLimits::default();
                for (var, slot) in [
                    ("RATE_LIMIT_API", &mut limits.api),
                    ("RATE_LIMIT_LOGIN", &mut limits.login),
                    ("RATE_LIMIT_ORDERS", &mut limits.orders),
                ] {
                    match get(var).as_deref() {
                        None => {}
                        Some("off") => *slot = None,
                        Some(v) => {
                            *slot = Some(parse_rate(v).ok_or_else(|| {
                                bad(
                                    var,
                                    format!(
                                        "应为 次数/单位，如 50/s、10/min、600/h，或 off: {v:?}"
                                    ),
                                )
                            })?)
                        }
                    }
                }
                limits
            }
            Some(v) => return Err(bad("RATE_LIMITS", format!("应为 on 或 off: {v:?}"))),
        };

        let order_payment_timeout = match get("ORDER_PAYMENT_TIMEOUT") {
            None => Duration::from_secs(15 * 60),
            Some(v) => parse_duration(&v)
                .filter(|d| d.as_secs() <= 2 * 3600)
                .ok_or_else(|| {
                    bad(
                        "ORDER_PAYMENT_TIMEOUT",
                        format!(
                            "应为 30s、15m 这样的时长（最长 2 小时，微信预支付单的有效期）: {v:?}"
                        ),
                    )
                })?,
        };
        let writer_max_batch = match get("WRITER_MAX_BATCH") {
            None => crate::store::writer::DEFAULT_MAX_BATCH,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=1024).contains(n))
                .ok_or_else(|| bad("WRITER_MAX_BATCH", format!("应为 1-1024 的整数: {v:?}")))?,
        };

        Ok(Config {
            order_payment_timeout,
            writer_max_batch,
            wechat,
            wechat_api_base_url,
            jwt_expires_in,
            trust_proxy,
            rate_limits,
            demo_on_empty,
            host,
            port,
            data_dir,
            app_env,
            timezone,
            log_level,
            jwt_secret,
            upload_path,
            static_url: static_url.trim_end_matches('/').to_string(),
        })
    }

    pub fn is_production(&self) -> bool {
        self.app_env == AppEnv::Production
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("standup-tickets.db")
    }

    /// A development config rooted at `data_dir`, listening on an ephemeral port:
    /// what tests and benchmarks start from.
    pub fn for_tests(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        Config {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            upload_path: data_dir.join("uploads"),
            data_dir,
            app_env: AppEnv::Development,
            timezone: chrono_tz::Asia::Shanghai,
            log_level: "warn".into(),
            jwt_secret: None,
            static_url: "/static".into(),
            demo_on_empty: false,
            wechat: None,
            wechat_api_base_url: "http://127.0.0.1:9".into(),
            jwt_expires_in: Duration::from_secs(7200),
            trust_proxy: false,
            rate_limits: RateLimits::OFF,
            order_payment_timeout: Duration::from_secs(15 * 60),
            writer_max_batch: crate::store::writer::DEFAULT_MAX_BATCH,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.port, 3000);
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert_eq!(c.app_env, AppEnv::Development);
        assert_eq!(c.timezone, chrono_tz::Asia::Shanghai);
        assert_eq!(c.upload_path, PathBuf::from("./data/uploads"));
        assert_eq!(c.static_url, "/static");
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (k, v) in [
            ("PORT", "70000"),
            ("PORT", "abc"),
            ("APP_ENV", "staging"),
            ("APP_TIMEZONE", "Mars/Olympus"),
            ("LOG_LEVEL", "loud=[["),
            ("HOST", "localhost:80"),
            ("STATIC_URL", "ftp://x"),
        ] {
            let err = cfg(&[(k, v)]).unwrap_err();
            assert_eq!(err.var, k, "{k}={v}");
        }
    }

    #[test]
    fn durations_and_rates() {
        assert_eq!(parse_duration("7200"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        for bad in ["", "0", "h", "2x", "-5", "1.5h", "99999999999999999999d"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        assert_eq!(
            parse_rate("10/min"),
            Some(Rate {
                count: 10,
                per: Duration::from_secs(60)
            })
        );
        assert_eq!(parse_rate("50/s").unwrap().count, 50);
        for bad in ["", "0/s", "10", "10/day", "x/s", "-1/s"] {
            assert_eq!(parse_rate(bad), None, "{bad}");
        }
    }

    #[test]
    fn production_refuses_unsafe_settings() {
        let secret = "s".repeat(32);
        let full = [
            ("APP_ENV", "production"),
            ("WECHAT_APP_ID", "wx123"),
            ("WECHAT_APP_SECRET", "sec"),
            ("JWT_SECRET", secret.as_str()),
        ];
        let c = cfg(&full).unwrap();
        assert!(c.is_production() && !c.demo_on_empty && c.wechat.is_some());
        assert_eq!(cfg(&full[..3]).unwrap_err().var, "JWT_SECRET");
        let mut short = full;
        short[3] = ("JWT_SECRET", "short");
        assert_eq!(cfg(&short).unwrap_err().var, "JWT_SECRET");
        let no_wechat = [full[0], full[3]];
        assert_eq!(cfg(&no_wechat).unwrap_err().var, "WECHAT_APP_ID");
        assert_eq!(
            cfg(&[("WECHAT_APP_ID", "wx")]).unwrap_err().var,
            "WECHAT_APP_SECRET"
        );
        // Development without credentials is dev mode.
        assert!(cfg(&[]).unwrap().wechat.is_none());
    }

    #[test]
    fn rate_limit_settings() {
        assert_eq!(
            cfg(&[("RATE_LIMITS", "off")]).unwrap().rate_limits,
            RateLimits::OFF
        );
        let c = cfg(&[("RATE_LIMIT_LOGIN", "3/min"), ("RATE_LIMIT_API", "off")]).unwrap();
        assert_eq!(c.rate_limits.login.unwrap().count, 3);
        assert!(c.rate_limits.api.is_none());
        assert!(c.rate_limits.orders.is_some());
        assert_eq!(
            cfg(&[("RATE_LIMIT_ORDERS", "lots")]).unwrap_err().var,
            "RATE_LIMIT_ORDERS"
        );
        assert_eq!(
            cfg(&[("JWT_EXPIRES_IN", "forever")]).unwrap_err().var,
            "JWT_EXPIRES_IN"
        );
        assert_eq!(
            cfg(&[("TRUST_PROXY", "yes")]).unwrap_err().var,
            "TRUST_PROXY"
        );
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let c = cfg(&[
            ("WECHAT_APP_ID", "wxid"),
            ("WECHAT_APP_SECRET", "topsecret"),
            ("JWT_SECRET", "jwtsecretvalue"),
        ])
        .unwrap();
        assert!(!format!("{c:?}").contains("jwtsecretvalue"));
        assert!(!format!("{c:?}").contains("topsecret"));
    }

    #[test]
    fn empty_means_default() {
        let c = cfg(&[("PORT", ""), ("APP_ENV", " ")]).unwrap();
        assert_eq!(c.port, 3000);
        assert_eq!(c.app_env, AppEnv::Development);
    }
}
