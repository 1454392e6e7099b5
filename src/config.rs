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
    /// `LOG_FORMAT=json`: one JSON object per log line.
    pub log_json: bool,
    pub jwt_secret: Option<Secret>,
    pub upload_path: PathBuf,
    pub static_url: String,
    /// The largest upload accepted.
    pub upload_max_bytes: u64,
    /// Serve the web console at `/admin/`.
    pub admin_console: bool,
    /// Bearer token `/metrics` asks for; without one it is open outside
    /// production and refused in production.
    pub metrics_token: Option<Secret>,
    /// Browser origins allowed to call the API cross-origin (CORS); none by
    /// default (the mini-program and the console need none).
    pub cors_origins: Vec<String>,
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
    /// The writer's WAL written one commit per write (`WAL_COALESCE`, on by
    /// default; `off` falls back to SQLite's own VFS).
    pub wal_coalesce: bool,
    /// Litestream replicates the database and runs its checkpoints
    /// (`LITESTREAM=1`); the server then runs none of its own.
    pub litestream: bool,
    /// WeChat Pay merchant settings; `None` outside production means the dev
    /// mock provider.
    pub pay: Option<PayConfig>,
    /// Base URL of WeChat Pay's API (tests point it at a local fake).
    pub wechat_pay_base_url: String,
    /// Buyers may ask for a refund until this long before the show.
    pub refund_cutoff: Duration,
    /// A request must be answered (its response head) within this, or it
    /// gets `408 REQUEST_TIMEOUT`; a body dribbled in slowly counts.
    pub request_timeout: Duration,
    /// The first retry of a refund WeChat refused or never answered; each
    /// next one waits twice as long, up to an hour.
    pub refund_retry_after: Duration,
    /// Unused tickets expire this long after their show ends.
    pub ticket_expire_after: Duration,
    /// How long a public catalogue answer is reused.
    pub catalog_ttl: Duration,
    /// Scheduled backups (`BACKUP_DIR`); `None` = off.
    pub backups: Option<BackupSchedule>,
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

/// Parses a duration written as seconds (`7200`) or with a unit
/// (`30s`, `15m`, `2h`, `7d`).
/// A duration option: parsed, within `ok`, or a config error naming it with
/// `expected` (Chinese, with examples).
fn duration(
    value: &impl Fn(&str) -> String,
    var: &'static str,
    ok: impl Fn(&Duration) -> bool,
    expected: &str,
) -> Result<Duration, ConfigError> {
    let v = value(var);
    parse_duration(&v)
        .filter(|d| ok(d))
        .ok_or_else(|| bad(var, format!("{expected}: {v:?}")))
}

pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let n: u64 = num.parse().ok()?;
    if unit == "ms" {
        return (n > 0).then(|| Duration::from_millis(n));
    }
    let secs = match unit {
        "" | "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// Parses a size in bytes: `5242880`, `800KB`, `5MB` (units of 1024).
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let n: u64 = num.parse().ok()?;
    let factor = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1024,
        "M" | "MB" | "MIB" => 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(factor).filter(|b| *b > 0)
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

/// One environment variable: its name, the value used when it is unset
/// (`None`: unset means "not configured"), how docs/CONFIGURATION.md shows that default, and
/// what it does. Every variable the server reads is declared here, once;
/// [`Config::from_lookup`] reads only these and docs/CONFIGURATION.md's table is this list.
pub struct Opt {
    pub var: &'static str,
    pub default: Option<&'static str>,
    pub shown: &'static str,
    pub doc: &'static str,
}

pub const OPTIONS: &[Opt] = &[
    Opt {
        var: "PORT",
        default: Some("3000"),
        shown: "`3000`",
        doc: "TCP port",
    },
    Opt {
        var: "HOST",
        default: Some("0.0.0.0"),
        shown: "`0.0.0.0`",
        doc: "address to listen on",
    },
    Opt {
        var: "DATA_DIR",
        default: Some("./data"),
        shown: "`./data`",
        doc: "where `standup-tickets.db` (SQLite, WAL) lives",
    },
    Opt {
        var: "APP_ENV",
        default: Some("development"),
        shown: "`development`",
        doc: "`development` or `production`; production never loads demo data",
    },
    Opt {
        var: "APP_TIMEZONE",
        default: Some("Asia/Shanghai"),
        shown: "`Asia/Shanghai`",
        doc: "the club's IANA time zone: show dates/times and the calendar are in it",
    },
    Opt {
        var: "LOG_LEVEL",
        default: Some("info"),
        shown: "`info`",
        doc: "`error`/`warn`/`info`/`debug`/`trace`, or a tracing filter such as `info,access=warn`",
    },
    Opt {
        var: "LOG_FORMAT",
        default: Some("text"),
        shown: "`text`",
        doc: "`text` for people, `json` for log collectors (one JSON object per line, with the request fields)",
    },
    Opt {
        var: "JWT_SECRET",
        default: None,
        shown: "generated in dev",
        doc: "HS256 signing secret for user and admin tokens. Production refuses to start without one of at least 32 bytes (`openssl rand -hex 32`); in development one is generated once into `$DATA_DIR/jwt-secret` (mode 600) so tokens survive restarts",
    },
    Opt {
        var: "JWT_EXPIRES_IN",
        default: Some("2h"),
        shown: "`2h`",
        doc: "token lifetime: seconds (`7200`) or `30m`, `2h`, `7d` (at most 90 days)",
    },
    Opt {
        var: "WECHAT_APP_ID",
        default: None,
        shown: "(none: dev mode)",
        doc: "the mini-program's app id. With `WECHAT_APP_SECRET`, both or neither; production refuses to start without them",
    },
    Opt {
        var: "WECHAT_APP_SECRET",
        default: None,
        shown: "(none: dev mode)",
        doc: "the mini-program's app secret",
    },
    Opt {
        var: "WECHAT_API_BASE_URL",
        default: Some("https://api.weixin.qq.com"),
        shown: "`https://api.weixin.qq.com`",
        doc: "WeChat's API host (tests point it at a local fake)",
    },
    Opt {
        var: "TRUST_PROXY",
        default: Some("0"),
        shown: "`0`",
        doc: "`1` behind a reverse proxy: the client address is the right-most `X-Forwarded-For` entry",
    },
    Opt {
        var: "RATE_LIMITS",
        default: Some("on"),
        shown: "`on`",
        doc: "`off` turns every limit off (load tests)",
    },
    Opt {
        var: "RATE_LIMIT_API",
        default: Some("100/s"),
        shown: "`100/s`",
        doc: "per client IP, everything under `/api` (generous: carriers put many phones behind one address)",
    },
    Opt {
        var: "RATE_LIMIT_LOGIN",
        default: Some("20/min"),
        shown: "`20/min`",
        doc: "per client IP, each login route",
    },
    Opt {
        var: "RATE_LIMIT_ORDERS",
        default: Some("5/s"),
        shown: "`5/s`",
        doc: "per user, order creation",
    },
    Opt {
        var: "UPLOAD_PATH",
        default: None,
        shown: "`$DATA_DIR/uploads`",
        doc: "folder of uploaded images, served at `/static/`",
    },
    Opt {
        var: "STATIC_URL",
        default: Some("/static"),
        shown: "`/static`",
        doc: "public base URL of that folder, used in image links; set it to your https URL in production",
    },
    Opt {
        var: "UPLOAD_MAX_BYTES",
        default: Some("5MB"),
        shown: "`5MB`",
        doc: "largest image an admin may upload (`800KB`, `5MB`; at most `50MB`)",
    },
    Opt {
        var: "ORDER_PAYMENT_TIMEOUT",
        default: Some("15m"),
        shown: "`15m`",
        doc: "how long an unpaid order holds its seats (`30s`, `15m`, …; at most `2h`, WeChat's prepay lifetime)",
    },
    Opt {
        var: "WRITER_MAX_BATCH",
        default: Some("64"),
        shown: "`64`",
        doc: "write commands per SQLite commit (group commit); `1` turns batching off, for the benchmark's baseline",
    },
    Opt {
        var: "WAL_COALESCE",
        default: Some("on"),
        shown: "`on`",
        doc: "`off` writes the WAL through SQLite's own VFS instead of one write per commit (`store/wal_vfs.rs`); for ruling the VFS out when diagnosing",
    },
    Opt {
        var: "LITESTREAM",
        default: Some("0"),
        shown: "`0`",
        doc: "`1` when Litestream replicates the database: the server then leaves every WAL checkpoint to Litestream (see \"Continuous replication with Litestream\")",
    },
    Opt {
        var: "WECHAT_MCH_ID",
        default: None,
        shown: "(none: mock payments)",
        doc: "WeChat Pay merchant id. The merchant variables come as a set (see \"WeChat Pay setup\" below); a partial set stops the start, naming what is missing; production refuses to start without them",
    },
    Opt {
        var: "WECHAT_MCH_SERIAL_NO",
        default: None,
        shown: "",
        doc: "serial number of the merchant API certificate",
    },
    Opt {
        var: "WECHAT_MCH_PRIVATE_KEY_PATH",
        default: None,
        shown: "",
        doc: "the merchant API private key, `apiclient_key.pem`",
    },
    Opt {
        var: "WECHAT_API_V3_KEY",
        default: None,
        shown: "",
        doc: "the 32-character APIv3 key (decrypts notifies)",
    },
    Opt {
        var: "WECHAT_PAY_PUBLIC_KEY_ID",
        default: None,
        shown: "",
        doc: "the id (`PUB_KEY_ID_…`) of the WeChat Pay public key that verifies WeChat's signatures",
    },
    Opt {
        var: "WECHAT_PAY_PUBLIC_KEY_PATH",
        default: None,
        shown: "",
        doc: "that public key, `pub_key.pem`",
    },
    Opt {
        var: "WECHAT_PAY_PLATFORM_CERT_PATHS",
        default: None,
        shown: "",
        doc: "instead of (or beside) the public key: platform certificate PEM files, comma-separated (older merchants)",
    },
    Opt {
        var: "WECHAT_MCH_KEY",
        default: None,
        shown: "(none)",
        doc: "APIv2 key: also accept legacy v2 XML notifies",
    },
    Opt {
        var: "PUBLIC_BASE_URL",
        default: None,
        shown: "",
        doc: "this server's public https address; notify URLs are built from it",
    },
    Opt {
        var: "WECHAT_PAY_BASE_URL",
        default: Some("https://api.mch.weixin.qq.com"),
        shown: "`https://api.mch.weixin.qq.com`",
        doc: "WeChat Pay's API host (tests point it at a local fake)",
    },
    Opt {
        var: "REFUND_CUTOFF",
        default: Some("24h"),
        shown: "`24h`",
        doc: "buyers may ask for a refund until this long before the show (`0` = until it starts), unless the club set its own (`PUT /api/admin/tenant`)",
    },
    Opt {
        var: "REFUND_RETRY_AFTER",
        default: Some("30s"),
        shown: "`30s`",
        doc: "a refund WeChat refused (e.g. `NOT_ENOUGH`: the merchant balance is short) or did not answer is sent again after this, then after twice as long each time, up to an hour; it is never given up",
    },
    Opt {
        var: "TICKET_EXPIRE_AFTER",
        default: Some("6h"),
        shown: "`6h`",
        doc: "unused tickets become `expired` this long after their show ends (the door then refuses them unless an owner forces)",
    },
    Opt {
        var: "BACKUP_DIR",
        default: None,
        shown: "(none: off)",
        doc: "scheduled backups: a consistent copy of the database is written here every `BACKUP_INTERVAL` (as `standup-tickets-<UTC time>.db`, through a temporary file and a rename); failures are logged and shown in `/healthz`",
    },
    Opt {
        var: "BACKUP_INTERVAL",
        default: Some("6h"),
        shown: "`6h`",
        doc: "how often a scheduled backup is made (`10m` to `7d`); counted from the newest file in `BACKUP_DIR`, so restarts neither skip nor repeat one",
    },
    Opt {
        var: "BACKUP_KEEP",
        default: Some("28"),
        shown: "`28`",
        doc: "scheduled backups kept in `BACKUP_DIR`; older ones are deleted (1-10000)",
    },
    Opt {
        var: "ADMIN_CONSOLE",
        default: Some("on"),
        shown: "`on`",
        doc: "`on`: serve the web console at `/admin/`; `off`: no console (the admin API stays)",
    },
    Opt {
        var: "DEMO_DATA",
        default: Some("auto"),
        shown: "`auto`",
        doc: "`auto`: load the demo club into an empty database outside production; `off`: never",
    },
    Opt {
        var: "REQUEST_TIMEOUT",
        default: Some("60s"),
        shown: "`60s`",
        doc: "a request not answered within this (its body still arriving, or the server busy) gets `408 REQUEST_TIMEOUT`; a request head has 30 s, fixed",
    },
    Opt {
        var: "CATALOG_TTL",
        default: Some("1s"),
        shown: "`1s`",
        doc: "how long a public answer (a show, the home page, a list) is reused: the remaining seats it shows are at most this old; a change made in the console is shown at once whatever this is (100ms to 60s)",
    },
    Opt {
        var: "METRICS_TOKEN",
        default: None,
        shown: "(none)",
        doc: "bearer token for `GET /metrics` (Prometheus). Without one, `/metrics` is open outside production and refused in production",
    },
    Opt {
        var: "CORS_ORIGINS",
        default: None,
        shown: "(none)",
        doc: "comma-separated browser origins (`https://club.example.com`) allowed to call the API cross-origin; none by default (the mini-program and the console need none)",
    },
];

/// Variables whose values `check-config` never prints.
const SECRETS: &[&str] = &[
    "JWT_SECRET",
    "METRICS_TOKEN",
    "WECHAT_APP_SECRET",
    "WECHAT_API_V3_KEY",
    "WECHAT_MCH_KEY",
];

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

fn option(var: &str) -> &'static Opt {
    OPTIONS
        .iter()
        .find(|o| o.var == var)
        .unwrap_or_else(|| panic!("{var} is read but not declared in config::OPTIONS"))
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
            let opt = option(k);
            lookup(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .or_else(|| opt.default.map(str::to_string))
        };
        // A variable with a declared default: always has a value.
        let value = |k: &str| get(k).unwrap_or_default();

        let host: IpAddr = {
            let v = value("HOST");
            v.parse()
                .map_err(|_| bad("HOST", format!("不是合法的 IP 地址: {v:?}")))?
        };
        let port = {
            let v = value("PORT");
            v.parse::<u16>()
                .map_err(|_| bad("PORT", format!("应为 0-65535 的整数: {v:?}")))?
        };
        let data_dir = PathBuf::from(value("DATA_DIR"));
        let app_env = match value("APP_ENV").as_str() {
            "development" | "dev" => AppEnv::Development,
            "production" | "prod" => AppEnv::Production,
            v => {
                return Err(bad(
                    "APP_ENV",
                    format!("应为 development 或 production: {v:?}"),
                ));
            }
        };
        let timezone = {
            let v = value("APP_TIMEZONE");
            v.parse::<Tz>().map_err(|_| {
                bad(
                    "APP_TIMEZONE",
                    format!("未知时区 (IANA 名称，如 Asia/Shanghai): {v:?}"),
                )
            })?
        };
        let log_level = value("LOG_LEVEL");
        if tracing_subscriber::EnvFilter::builder()
            .parse(&log_level)
            .is_err()
        {
            return Err(bad(
                "LOG_LEVEL",
                format!("应为 error/warn/info/debug/trace 或过滤指令: {log_level:?}"),
            ));
        }
        let log_json = match value("LOG_FORMAT").as_str() {
            "text" => false,
            "json" => true,
            v => return Err(bad("LOG_FORMAT", format!("应为 text 或 json: {v:?}"))),
        };
        let jwt_secret = get("JWT_SECRET").map(Secret);
        let upload_path = get("UPLOAD_PATH")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("uploads"));
        let static_url = value("STATIC_URL");
        if !(static_url.starts_with('/')
            || static_url.starts_with("http://")
            || static_url.starts_with("https://"))
        {
            return Err(bad(
                "STATIC_URL",
                format!("应为以 / 开头的路径或 http(s) 地址: {static_url:?}"),
            ));
        }

        let upload_max_bytes = parse_size(&value("UPLOAD_MAX_BYTES"))
            .filter(|b| (1024..=50 * 1024 * 1024).contains(b))
            .ok_or_else(|| {
                bad(
                    "UPLOAD_MAX_BYTES",
                    format!(
                        "应为 800KB、5MB 这样的大小（1KB-50MB）: {:?}",
                        value("UPLOAD_MAX_BYTES")
                    ),
                )
            })?;

        let admin_console = match value("ADMIN_CONSOLE").as_str() {
            "on" => true,
            "off" => false,
            v => return Err(bad("ADMIN_CONSOLE", format!("应为 on 或 off: {v:?}"))),
        };

        let metrics_token = get("METRICS_TOKEN").map(Secret);
        if let Some(t) = &metrics_token
            && t.0.len() < 16
        {
            return Err(bad("METRICS_TOKEN", "至少 16 个字符"));
        }
        let cors_origins = match get("CORS_ORIGINS") {
            None => Vec::new(),
            Some(v) => v
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(|o| {
                    // An origin is scheme://host[:port], nothing after it.
                    let ok = o.split_once("://").is_some_and(|(scheme, host)| {
                        matches!(scheme, "http" | "https")
                            && !host.is_empty()
                            && !host.contains(['/', ' ', '*'])
                    });
                    ok.then(|| o.to_string()).ok_or_else(|| {
                        bad(
                            "CORS_ORIGINS",
                            format!("应为以逗号分隔的来源，如 https://club.example.com: {o:?}"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        };

        let demo_on_empty = match value("DEMO_DATA").as_str() {
            "auto" | "on" => app_env != AppEnv::Production,
            "off" => false,
            v => return Err(bad("DEMO_DATA", format!("应为 auto 或 off: {v:?}"))),
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
        let wechat_api_base_url = value("WECHAT_API_BASE_URL")
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
        let jwt_expires_in = duration(
            &value,
            "JWT_EXPIRES_IN",
            |d| d.as_secs() <= 90 * 86_400,
            "应为秒数或 30m、2h、7d 这样的时长（最长 90 天）",
        )?;
        let trust_proxy = match value("TRUST_PROXY").as_str() {
            "0" | "false" | "off" => false,
            "1" | "true" | "on" => true,
            v => return Err(bad("TRUST_PROXY", format!("应为 1 或 0: {v:?}"))),
        };
        let rate_limits = match value("RATE_LIMITS").as_str() {
            "off" => RateLimits::OFF,
            "on" => {
                let mut limits = RateLimits::OFF;
                for (var, slot) in [
                    ("RATE_LIMIT_API", &mut limits.api),
                    ("RATE_LIMIT_LOGIN", &mut limits.login),
                    ("RATE_LIMIT_ORDERS", &mut limits.orders),
                ] {
                    match value(var).as_str() {
                        "off" => *slot = None,
                        v => {
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
            v => return Err(bad("RATE_LIMITS", format!("应为 on 或 off: {v:?}"))),
        };

        let order_payment_timeout = {
            let v = value("ORDER_PAYMENT_TIMEOUT");
            parse_duration(&v)
                .filter(|d| d.as_secs() <= 2 * 3600)
                .ok_or_else(|| {
                    bad(
                        "ORDER_PAYMENT_TIMEOUT",
                        format!(
                            "应为 30s、15m 这样的时长（最长 2 小时，微信预支付单的有效期）: {v:?}"
                        ),
                    )
                })?
        };
        let writer_max_batch = {
            let v = value("WRITER_MAX_BATCH");
            v.parse::<usize>()
                .ok()
                .filter(|n| (1..=1024).contains(n))
                .ok_or_else(|| bad("WRITER_MAX_BATCH", format!("应为 1-1024 的整数: {v:?}")))?
        };

        let wal_coalesce = match value("WAL_COALESCE").as_str() {
            "on" => true,
            "off" => false,
            v => return Err(bad("WAL_COALESCE", format!("应为 on 或 off: {v:?}"))),
        };

        let litestream = match value("LITESTREAM").as_str() {
            "1" | "on" | "true" => true,
            "0" | "off" | "false" => false,
            v => return Err(bad("LITESTREAM", format!("应为 1 或 0: {v:?}"))),
        };

        let pay = pay_config(&get)?;
        if pay.is_some() && wechat.is_none() {
            return Err(bad(
                "WECHAT_APP_ID",
                "配置了微信支付商户号，也必须配置小程序的 WECHAT_APP_ID / WECHAT_APP_SECRET",
            ));
        }
        if app_env == AppEnv::Production && pay.is_none() {
            return Err(bad(
                "WECHAT_MCH_ID",
                "生产环境必须配置微信支付（WECHAT_MCH_ID 等），模拟支付不能在生产环境启用",
            ));
        }
        let wechat_pay_base_url = value("WECHAT_PAY_BASE_URL")
            .trim_end_matches('/')
            .to_string();
        if !(wechat_pay_base_url.starts_with("https://")
            || wechat_pay_base_url.starts_with("http://"))
        {
            return Err(bad("WECHAT_PAY_BASE_URL", "应为 http(s) 地址"));
        }
        let refund_cutoff = duration(
            &value,
            "REFUND_CUTOFF",
            |d| d.as_secs() <= 365 * 86_400,
            "应为 0、2h、24h、3d 这样的时长",
        )?;
        let request_timeout = duration(
            &value,
            "REQUEST_TIMEOUT",
            |d| d.as_secs() >= 1 && d.as_secs() <= 600,
            "应为 30s、1m 这样的时长（1 秒到 10 分钟）",
        )?;
        let catalog_ttl = duration(
            &value,
            "CATALOG_TTL",
            |d| d.as_millis() >= 100 && d.as_secs() <= 60,
            "应为 500ms、1s、5s 这样的时长（100 毫秒到 60 秒）",
        )?;
        let refund_retry_after = duration(
            &value,
            "REFUND_RETRY_AFTER",
            |d| !d.is_zero() && d.as_secs() <= 3600,
            "应为 500ms、30s、5m 这样的时长（最长 1h）",
        )?;

        let ticket_expire_after = duration(
            &value,
            "TICKET_EXPIRE_AFTER",
            |d| d.as_secs() <= 30 * 86_400,
            "应为 30m、6h、1d 这样的时长（最长 30d）",
        )?;

        let backups = match get("BACKUP_DIR") {
            None => None,
            Some(dir) => {
                let every = duration(
                    &value,
                    "BACKUP_INTERVAL",
                    |d| d.as_secs() >= 600 && d.as_secs() <= 7 * 86_400,
                    "应为 10m、6h、1d 这样的时长（10 分钟到 7 天）",
                )?;
                let v = value("BACKUP_KEEP");
                let keep = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=10_000).contains(n))
                    .ok_or_else(|| bad("BACKUP_KEEP", format!("应为 1-10000 的整数: {v:?}")))?;
                Some(BackupSchedule {
                    dir: PathBuf::from(dir),
                    every,
                    keep,
                })
            }
        };

        Ok(Config {
            backups,
            pay,
            refund_retry_after,
            ticket_expire_after,
            wechat_pay_base_url,
            refund_cutoff,
            order_payment_timeout,
            writer_max_batch,
            wal_coalesce,
            litestream,
            wechat,
            wechat_api_base_url,
            jwt_expires_in,
            trust_proxy,
            rate_limits,
            demo_on_empty,
            admin_console,
            host,
            port,
            data_dir,
            app_env,
            timezone,
            log_level,
            log_json,
            jwt_secret,
            metrics_token,
            cors_origins,
            request_timeout,
            catalog_ttl,
            upload_path,
            upload_max_bytes,
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
fn pay_config(get: &impl Fn(&str) -> Option<String>) -> Result<Option<PayConfig>, ConfigError> {
    const REQUIRED: [&str; 5] = [
        "WECHAT_MCH_ID",
        "WECHAT_MCH_SERIAL_NO",
        "WECHAT_MCH_PRIVATE_KEY_PATH",
        "WECHAT_API_V3_KEY",
        "PUBLIC_BASE_URL",
    ];
    const OPTIONAL: [&str; 4] = [
        "WECHAT_PAY_PUBLIC_KEY_ID",
        "WECHAT_PAY_PUBLIC_KEY_PATH",
        "WECHAT_PAY_PLATFORM_CERT_PATHS",
        "WECHAT_MCH_KEY",
    ];
    let any = REQUIRED
        .iter()
        .chain(OPTIONAL.iter())
        .any(|k| get(k).is_some());
    if !any {
        return Ok(None);
    }
    if let Some(missing) = REQUIRED.iter().find(|k| get(k).is_none()) {
        return Err(bad(
            missing,
            format!(
                "微信支付配置不完整：缺少 {missing}（{} 需一起配置）",
                REQUIRED.join("、")
            ),
        ));
    }
    let api_v3_key = get("WECHAT_API_V3_KEY").unwrap_or_default();
    if api_v3_key.len() != 32 {
        return Err(bad("WECHAT_API_V3_KEY", "APIv3 密钥应为 32 个字符"));
    }
    let pay_public_key = match (
        get("WECHAT_PAY_PUBLIC_KEY_ID"),
        get("WECHAT_PAY_PUBLIC_KEY_PATH"),
    ) {
        (Some(id), Some(path)) => {
            if !id.starts_with("PUB_KEY_ID_") {
                return Err(bad("WECHAT_PAY_PUBLIC_KEY_ID", "应以 PUB_KEY_ID_ 开头"));
            }
            Some((id, PathBuf::from(path)))
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
    let platform_cert_paths: Vec<PathBuf> = get("WECHAT_PAY_PLATFORM_CERT_PATHS")
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default();
    if pay_public_key.is_none() && platform_cert_paths.is_empty() {
        return Err(bad(
            "WECHAT_PAY_PUBLIC_KEY_ID",
            "需配置微信支付公钥（WECHAT_PAY_PUBLIC_KEY_ID + WECHAT_PAY_PUBLIC_KEY_PATH）或平台证书（WECHAT_PAY_PLATFORM_CERT_PATHS）以验证微信的签名",
        ));
    }
    let public_base_url = get("PUBLIC_BASE_URL")
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
        mch_id: get("WECHAT_MCH_ID").unwrap_or_default(),
        mch_serial_no: get("WECHAT_MCH_SERIAL_NO").unwrap_or_default(),
        mch_private_key_path: PathBuf::from(get("WECHAT_MCH_PRIVATE_KEY_PATH").unwrap_or_default()),
        api_v3_key: Secret(api_v3_key),
        pay_public_key,
        platform_cert_paths,
        mch_key_v2: get("WECHAT_MCH_KEY").map(Secret),
        public_base_url,
    }))
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
        let readme = include_str!("../docs/CONFIGURATION.md");
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
        let expected: Vec<String> = OPTIONS
            .iter()
            .map(|o| format!("| `{}` | {} | {} |", o.var, o.shown, o.doc))
            .collect();
        assert_eq!(
            rows, expected,
            "regenerate docs/CONFIGURATION.md's table from config::OPTIONS"
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
        let pay = c.pay.unwrap();
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
