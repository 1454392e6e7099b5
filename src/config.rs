//! Environment variables -> a typed, validated `Config`.
//!
//! Reading goes through a lookup function rather than `std::env` directly so tests
//! can build configs side by side without racing on the process environment.

use std::net::IpAddr;
use std::path::PathBuf;

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
    pub jwt_secret: Option<String>,
    pub upload_path: PathBuf,
    pub static_url: String,
    /// Load the demo club into an empty database at `serve` (never in production).
    pub demo_on_empty: bool,
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
        let jwt_secret = get("JWT_SECRET");
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

        Ok(Config {
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
    fn empty_means_default() {
        let c = cfg(&[("PORT", ""), ("APP_ENV", " ")]).unwrap();
        assert_eq!(c.port, 3000);
        assert_eq!(c.app_env, AppEnv::Development);
    }
}
