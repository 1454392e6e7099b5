//! Environment variables -> a typed, validated `Config`.
//!
//! Reading goes through a lookup function rather than `std::env` directly so tests
//! can build configs side by side without racing on the process environment.

use std::path::PathBuf;

mod options;
mod parse;
mod values;

use options::SECRETS;
pub use options::{OPTIONS, Opt, Options};
pub use parse::{parse_duration, parse_rate, parse_size};
use values::bad;
pub use values::{
    AppEnv, BackupSchedule, ConfigError, PayConfig, Rate, RateLimits, Secret, WechatCredentials,
};

/// The server's configuration: each variable's own value ([`Options`],
/// reached through this struct as if its fields were here), and the
/// settings made of several variables.
#[derive(Debug, Clone)]
pub struct Config {
    pub options: Options,
    /// `UPLOAD_PATH`, or `uploads` in the data directory.
    pub upload_path: PathBuf,
    /// Load the demo club into an empty database at `serve` (never in production).
    pub demo_on_empty: bool,
    /// Mini-program credentials; `None` outside production means dev mode.
    pub wechat: Option<WechatCredentials>,
    pub rate_limits: RateLimits,
    /// WeChat Pay merchant settings; `None` outside production means the dev
    /// mock provider.
    pub pay: Option<PayConfig>,
    /// Scheduled backups (`BACKUP_DIR`); `None` = off.
    pub backups: Option<BackupSchedule>,
}

impl std::ops::Deref for Config {
    type Target = Options;
    fn deref(&self) -> &Options {
        &self.options
    }
}

impl std::ops::DerefMut for Config {
    fn deref_mut(&mut self) -> &mut Options {
        &mut self.options
    }
}

/// docs/CONFIGURATION.md's table rows, one per declared variable
/// (`standup-tickets config-table` prints them; a test keeps the file equal).
pub fn options_table() -> String {
    OPTIONS
        .iter()
        .map(|o| format!("| `{}` | {} | {} |\n", o.var, o.shown, o.doc))
        .collect()
}

/// What `standup-tickets check-config` prints: every variable with the value
/// in effect (secrets masked), and every problem found.
pub struct ConfigCheck {
    /// (variable, value shown, set in the environment)
    pub rows: Vec<(&'static str, String, bool)>,
    pub problems: Vec<String>,
    /// The configuration, when it is valid.
    pub config: Option<Config>,
}

/// Reads the configuration like the server, but goes on past the first
/// mistake: each variable found wrong is reported, then read as unset, and
/// the reading is tried again.
pub fn check(lookup: impl Fn(&str) -> Option<String>) -> ConfigCheck {
    let set = |k: &str| {
        lookup(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let rows = OPTIONS
        .iter()
        .map(|o| match set(o.var) {
            Some(v) if SECRETS.contains(&o.var) => {
                (o.var, format!("***（{} 个字符）", v.chars().count()), true)
            }
            Some(v) => (o.var, v, true),
            None => (
                o.var,
                o.default
                    .map_or_else(|| "（未设置）".to_string(), |d| format!("{d}（默认）")),
                false,
            ),
        })
        .collect();
    let mut problems = Vec::new();
    let mut unset: Vec<&'static str> = Vec::new();
    let config = loop {
        match Config::from_lookup(|k| if unset.contains(&k) { None } else { lookup(k) }) {
            Ok(c) => break Some(c),
            Err(e) => {
                problems.push(e.to_string());
                if unset.contains(&e.var) {
                    break None;
                }
                unset.push(e.var);
            }
        }
    };
    ConfigCheck {
        rows,
        problems,
        config: config.filter(|_| unset.is_empty()),
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
        Self::from_options(Options::read(&get)?)
    }

    /// The settings made of several variables, and the rules across them
    /// (what production demands).
    fn from_options(o: Options) -> Result<Self, ConfigError> {
        let production = o.app_env == AppEnv::Production;
        let wechat = match (&o.wechat_app_id, &o.wechat_app_secret) {
            (Some(app_id), Some(app_secret)) => Some(WechatCredentials {
                app_id: app_id.clone(),
                app_secret: app_secret.0.clone(),
            }),
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
        if production && wechat.is_none() {
            return Err(bad(
                "WECHAT_APP_ID",
                "生产环境必须配置 WECHAT_APP_ID 和 WECHAT_APP_SECRET（开发模式登录不能在生产环境启用）",
            ));
        }
        if production && o.jwt_secret.as_ref().is_none_or(|s| s.0.len() < 32) {
            return Err(bad(
                "JWT_SECRET",
                "生产环境必须设置至少 32 字节的 JWT_SECRET（例如 openssl rand -hex 32）",
            ));
        }
        let rate_limits = if o.rate_limits_on {
            RateLimits {
                api: o.rate_limit_api,
                login: o.rate_limit_login,
                orders: o.rate_limit_orders,
            }
        } else {
            RateLimits::OFF
        };
        let pay = pay_config(&o)?;
        if pay.is_some() && wechat.is_none() {
            return Err(bad(
                "WECHAT_APP_ID",
                "配置了微信支付商户号，也必须配置小程序的 WECHAT_APP_ID / WECHAT_APP_SECRET",
            ));
        }
        if production && pay.is_none() {
            return Err(bad(
                "WECHAT_MCH_ID",
                "生产环境必须配置微信支付（WECHAT_MCH_ID 等），模拟支付不能在生产环境启用",
            ));
        }
        let backups = o.backup_dir.clone().map(|dir| BackupSchedule {
            dir,
            every: o.backup_interval,
            keep: o.backup_keep,
        });
        Ok(Config {
            upload_path: o
                .upload_dir
                .clone()
                .unwrap_or_else(|| o.data_dir.join("uploads")),
            demo_on_empty: o.demo_data && !production,
            wechat,
            rate_limits,
            pay,
            backups,
            options: o,
        })
    }

    pub fn is_production(&self) -> bool {
        self.app_env == AppEnv::Production
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("standup-tickets.db")
    }

    /// A development config rooted at `data_dir`, listening on an ephemeral port:
    /// what tests and benchmarks start from. The declared defaults, with
    /// these overrides only (the process environment is not read).
    pub fn for_tests(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir: PathBuf = data_dir.into();
        let dir = data_dir.to_string_lossy().into_owned();
        let overrides = [
            ("DATA_DIR", dir.as_str()),
            ("HOST", "127.0.0.1"),
            ("PORT", "0"),
            ("APP_ENV", "development"),
            ("LOG_LEVEL", "warn"),
            ("DEMO_DATA", "off"),
            ("RATE_LIMITS", "off"),
            // Nothing listens there: a test that forgets its fake fails fast.
            ("WECHAT_API_BASE_URL", "http://127.0.0.1:9"),
            ("WECHAT_PAY_BASE_URL", "http://127.0.0.1:9"),
        ];
        let mut config = Self::from_lookup(|k| {
            overrides
                .iter()
                .find(|(var, _)| *var == k)
                .map(|(_, v)| v.to_string())
        })
        .expect("the test config is valid");
        config.data_dir = data_dir;
        config
    }
}

/// The merchant variables come as a set: none (dev mock) or all of them. A
/// partial set is a mistake worth stopping for, in every environment.
fn pay_config(o: &Options) -> Result<Option<PayConfig>, ConfigError> {
    let required: [(&str, bool); 5] = [
        ("WECHAT_MCH_ID", o.mch_id.is_some()),
        ("WECHAT_MCH_SERIAL_NO", o.mch_serial_no.is_some()),
        (
            "WECHAT_MCH_PRIVATE_KEY_PATH",
            o.mch_private_key_path.is_some(),
        ),
        ("WECHAT_API_V3_KEY", o.api_v3_key.is_some()),
        ("PUBLIC_BASE_URL", o.public_base_url.is_some()),
    ];
    let optional = [
        o.pay_public_key_id.is_some(),
        o.pay_public_key_path.is_some(),
        o.platform_cert_paths.is_some(),
        o.mch_key_v2.is_some(),
    ];
    if !required.iter().any(|(_, set)| *set) && !optional.contains(&true) {
        return Ok(None);
    }
    if let Some((missing, _)) = required.iter().find(|(_, set)| !set) {
        let names: Vec<&str> = required.iter().map(|(k, _)| *k).collect();
        return Err(bad(
            missing,
            format!(
                "微信支付配置不完整：缺少 {missing}（{} 需一起配置）",
                names.join("、")
            ),
        ));
    }
    let api_v3_key = o
        .api_v3_key
        .clone()
        .unwrap_or_else(|| Secret(String::new()));
    if api_v3_key.0.len() != 32 {
        return Err(bad("WECHAT_API_V3_KEY", "APIv3 密钥应为 32 个字符"));
    }
    let pay_public_key = match (&o.pay_public_key_id, &o.pay_public_key_path) {
        (Some(id), Some(path)) => {
            if !id.starts_with("PUB_KEY_ID_") {
                return Err(bad("WECHAT_PAY_PUBLIC_KEY_ID", "应以 PUB_KEY_ID_ 开头"));
            }
            Some((id.clone(), path.clone()))
        }
        (None, None) => None,
        (Some(_), None) => {
            return Err(bad(
                "WECHAT_PAY_PUBLIC_KEY_PATH",
                "设置了公钥 ID 但缺少公钥文件路径",
            ));
        }
        (None, Some(_)) => {
            return Err(bad(
                "WECHAT_PAY_PUBLIC_KEY_ID",
                "设置了公钥文件路径但缺少公钥 ID",
            ));
        }
    };
    let platform_cert_paths = o.platform_cert_paths.clone().unwrap_or_default();
    if pay_public_key.is_none() && platform_cert_paths.is_empty() {
        return Err(bad(
            "WECHAT_PAY_PUBLIC_KEY_ID",
            "需配置微信支付公钥（WECHAT_PAY_PUBLIC_KEY_ID + WECHAT_PAY_PUBLIC_KEY_PATH）或平台证书（WECHAT_PAY_PLATFORM_CERT_PATHS）以验证微信的签名",
        ));
    }
    let public_base_url = o
        .public_base_url
        .as_deref()
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_string();
    if !(public_base_url.starts_with("https://") || public_base_url.starts_with("http://"))
        || public_base_url.contains('?')
    {
        return Err(bad(
            "PUBLIC_BASE_URL",
            "应为本服务对外的 http(s) 地址（微信支付回调地址由它生成，不能带查询参数）",
        ));
    }
    Ok(Some(PayConfig {
        mch_id: o.mch_id.clone().unwrap_or_default(),
        mch_serial_no: o.mch_serial_no.clone().unwrap_or_default(),
        mch_private_key_path: o.mch_private_key_path.clone().unwrap_or_default(),
        api_v3_key,
        pay_public_key,
        platform_cert_paths,
        mch_key_v2: o.mch_key_v2.clone(),
        public_base_url,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::time::Duration;

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
        assert_eq!(c.jwt_expires_in, Duration::from_secs(7200));
        assert_eq!(c.rate_limits, RateLimits::default());
        assert_eq!(c.order_payment_timeout, Duration::from_secs(15 * 60));
        assert_eq!(c.refund_cutoff, Duration::from_secs(24 * 3600));
        assert_eq!(
            c.writer_max_batch,
            crate::store::StoreOptions::default().max_batch
        );
        assert!(c.wal_coalesce);
        assert_eq!(c.wechat_pay_base_url, "https://api.mch.weixin.qq.com");
        assert_eq!(c.wechat_api_base_url, "https://api.weixin.qq.com");
        assert!(c.demo_on_empty && !c.trust_proxy);
    }

    /// docs/CONFIGURATION.md's table is `OPTIONS`, row for row.
    #[test]
    fn the_configuration_doc_lists_exactly_the_options() {
        let readme = include_str!("../../docs/CONFIGURATION.md");
        let start = readme
            .find("<!-- options:begin")
            .expect("options:begin in docs/CONFIGURATION.md");
        let end = readme
            .find("<!-- options:end -->")
            .expect("options:end in docs/CONFIGURATION.md");
        let rows: Vec<&str> = readme[start..end]
            .lines()
            .filter(|l| l.starts_with("| `"))
            .collect();
        let table = options_table();
        let expected: Vec<&str> = table.lines().collect();
        assert_eq!(
            rows, expected,
            "regenerate docs/CONFIGURATION.md's table: cargo run -- config-table"
        );
        let mut seen = std::collections::HashSet::new();
        assert!(
            OPTIONS.iter().all(|o| seen.insert(o.var)),
            "an option twice"
        );
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
            ("CATALOG_TTL", "50ms"),
            ("CATALOG_TTL", "2m"),
            ("CATALOG_TTL", "soon"),
            // Read on its own: wrong even while BACKUP_DIR is unset.
            ("BACKUP_INTERVAL", "1m"),
        ] {
            let err = cfg(&[(k, v)]).unwrap_err();
            assert_eq!(err.var, k, "{k}={v}");
        }
    }

    #[test]
    fn durations_and_rates() {
        assert_eq!(parse_size("5MB"), Some(5 * 1024 * 1024));
        assert_eq!(parse_size("800kb"), Some(800 * 1024));
        assert_eq!(parse_size("1024"), Some(1024));
        for bad in ["", "0", "5GB", "-1", "5 M B", "MB"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
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
            ("WECHAT_MCH_ID", "1900000001"),
            ("WECHAT_MCH_SERIAL_NO", "ABC"),
            ("WECHAT_MCH_PRIVATE_KEY_PATH", "/k.pem"),
            ("WECHAT_API_V3_KEY", "0123456789abcdef0123456789abcdef"),
            ("PUBLIC_BASE_URL", "https://club.example.com/"),
            ("WECHAT_PAY_PUBLIC_KEY_ID", "PUB_KEY_ID_01"),
            ("WECHAT_PAY_PUBLIC_KEY_PATH", "/pub.pem"),
        ];
        let c = cfg(&full).unwrap();
        assert!(c.is_production() && !c.demo_on_empty && c.wechat.is_some());
        let pay = c.pay.clone().unwrap();
        assert_eq!(pay.public_base_url, "https://club.example.com");
        assert_eq!(c.refund_cutoff, Duration::from_secs(86_400));
        // Production without WeChat Pay would sell with the mock: refused.
        assert_eq!(cfg(&full[..4]).unwrap_err().var, "WECHAT_MCH_ID");
        // A partial merchant set is refused in every environment, naming
        // what is missing.
        for skip in 4..9 {
            let partial: Vec<(&str, &str)> = full
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, kv)| *kv)
                .collect();
            assert_eq!(
                cfg(&partial).unwrap_err().var,
                full[skip].0,
                "without {}",
                full[skip].0
            );
        }
        let mut dev_partial: Vec<(&str, &str)> = full[1..3].to_vec();
        dev_partial.push(("WECHAT_MCH_ID", "1900000001"));
        assert_eq!(cfg(&dev_partial).unwrap_err().var, "WECHAT_MCH_SERIAL_NO");
        let mut no_verifier: Vec<(&str, &str)> = full[..9].to_vec();
        no_verifier[0] = ("APP_ENV", "development");
        assert_eq!(
            cfg(&no_verifier).unwrap_err().var,
            "WECHAT_PAY_PUBLIC_KEY_ID"
        );
        let mut short_key = full;
        short_key[7] = ("WECHAT_API_V3_KEY", "short");
        assert_eq!(cfg(&short_key).unwrap_err().var, "WECHAT_API_V3_KEY");
        assert_eq!(
            cfg(&[("REFUND_CUTOFF", "2h")]).unwrap().refund_cutoff,
            Duration::from_secs(7200)
        );
        assert_eq!(
            cfg(&[("REFUND_CUTOFF", "soon")]).unwrap_err().var,
            "REFUND_CUTOFF"
        );
        assert_eq!(cfg(&full[..3]).unwrap_err().var, "JWT_SECRET");
        let mut short = full;
        short[3] = ("JWT_SECRET", "short");
        assert_eq!(cfg(&short).unwrap_err().var, "JWT_SECRET");
        let no_wechat = [full[0], full[3]];
        // (APP_ID is checked before the merchant set.)
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
