//! Every environment variable the server reads, declared once: its name, the
//! field it fills, its type, its default (or what unset means), how it is
//! parsed and checked, and its line in docs/CONFIGURATION.md. The macro
//! makes [`Options`] (one field each), [`OPTIONS`] (the table the docs and
//! `check-config` show) and the reading; nothing else reads the environment.
//! Settings made of several variables (WeChat Pay, backups, rate limits)
//! are put together from these in `Config::from_options`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono_tz::Tz;

use super::parse;
use super::values::{AppEnv, ConfigError, Rate, Secret, bad};

/// One environment variable as docs/CONFIGURATION.md and `check-config`
/// show it: its name, the value used when it is unset (`None`: unset means
/// "not configured"), how that default is shown, and what it does.
pub struct Opt {
    pub var: &'static str,
    pub default: Option<&'static str>,
    pub shown: &'static str,
    pub doc: &'static str,
}

/// `VAR field: Type = default "value" | unset "shown", parser, "doc";`
/// An `unset` variable's field is an `Option` of its type. A parser takes
/// the trimmed, non-empty value and answers the field or a Chinese reason.
macro_rules! options {
    ($($var:ident $field:ident: $ty:ty = $kind:ident $value:literal, $parse:expr, $doc:literal;)*) => {
        /// Each variable's value, parsed and checked on its own.
        #[derive(Debug, Clone)]
        pub struct Options {
            $(#[doc = $doc] pub $field: options!(@ty $kind $ty),)*
        }

        pub const OPTIONS: &[Opt] = &[$(Opt {
            var: stringify!($var),
            default: options!(@default $kind $value),
            shown: options!(@shown $kind $value),
            doc: $doc,
        },)*];

        impl Options {
            /// Reads every variable through `get` (trimmed; empty is unset):
            /// the first wrong one is the error, named.
            pub fn read(get: &impl Fn(&str) -> Option<String>) -> Result<Options, ConfigError> {
                Ok(Options {
                    $($field: options!(@read $kind $value, stringify!($var), get, $parse)?,)*
                })
            }
        }
    };
    (@ty default $ty:ty) => { $ty };
    (@ty unset $ty:ty) => { Option<$ty> };
    (@default default $value:literal) => { Some($value) };
    (@default unset $value:literal) => { None };
    (@shown default $value:literal) => { concat!("`", $value, "`") };
    (@shown unset $value:literal) => { $value };
    (@read default $value:literal, $var:expr, $get:ident, $parse:expr) => {
        ($parse)(&$get($var).unwrap_or_else(|| $value.to_string())).map_err(|why| bad($var, why))
    };
    (@read unset $value:literal, $var:expr, $get:ident, $parse:expr) => {
        match $get($var) {
            None => Ok(None),
            Some(v) => ($parse)(&v).map(Some).map_err(|why| bad($var, why)),
        }
    };
}

options! {
    PORT port: u16 = default "3000", parse::port,
        "TCP port";
    HOST host: IpAddr = default "0.0.0.0", parse::ip,
        "address to listen on";
    DATA_DIR data_dir: PathBuf = default "./data", parse::path,
        "where `standup-tickets.db` (SQLite, WAL) lives";
    APP_ENV app_env: AppEnv = default "development", parse::app_env,
        "`development` or `production`; production never loads demo data";
    APP_TIMEZONE timezone: Tz = default "Asia/Shanghai", parse::timezone,
        "the club's IANA time zone: show dates/times and the calendar are in it";
    LOG_LEVEL log_level: String = default "info", parse::log_filter,
        "`error`/`warn`/`info`/`debug`/`trace`, or a tracing filter such as `info,access=warn`";
    LOG_FORMAT log_json: bool = default "text", parse::log_format,
        "`text` for people, `json` for log collectors (one JSON object per line, with the request fields)";
    JWT_SECRET jwt_secret: Secret = unset "generated in dev", parse::secret,
        "HS256 signing secret for user and admin tokens. Production refuses to start without one of at least 32 bytes (`openssl rand -hex 32`); in development one is generated once into `$DATA_DIR/jwt-secret` (mode 600) so tokens survive restarts";
    JWT_EXPIRES_IN jwt_expires_in: Duration = default "2h", parse::duration(|d| d.as_secs() <= 90 * 86_400, "应为秒数或 30m、2h、7d 这样的时长（最长 90 天）"),
        "token lifetime: seconds (`7200`) or `30m`, `2h`, `7d` (at most 90 days)";
    WECHAT_APP_ID wechat_app_id: String = unset "(none: dev mode)", parse::text,
        "the mini-program's app id. With `WECHAT_APP_SECRET`, both or neither; production refuses to start without them";
    WECHAT_APP_SECRET wechat_app_secret: Secret = unset "(none: dev mode)", parse::secret,
        "the mini-program's app secret";
    WECHAT_API_BASE_URL wechat_api_base_url: String = default "https://api.weixin.qq.com", parse::base_url,
        "WeChat's API host (tests point it at a local fake)";
    TRUST_PROXY trust_proxy: bool = default "0", parse::one_or_zero,
        "`1` behind a reverse proxy: the client address is the right-most `X-Forwarded-For` entry";
    RATE_LIMITS rate_limits_on: bool = default "on", parse::on_off,
        "`off` turns every limit off (load tests)";
    RATE_LIMIT_API rate_limit_api: Option<Rate> = default "100/s", parse::rate_or_off,
        "per client IP, everything under `/api` (generous: carriers put many phones behind one address)";
    RATE_LIMIT_LOGIN rate_limit_login: Option<Rate> = default "20/min", parse::rate_or_off,
        "per client IP, each login route";
    RATE_LIMIT_ORDERS rate_limit_orders: Option<Rate> = default "5/s", parse::rate_or_off,
        "per user, order creation";
    UPLOAD_PATH upload_dir: PathBuf = unset "`$DATA_DIR/uploads`", parse::path,
        "folder of uploaded images, served at `/static/`";
    STATIC_URL static_url: String = default "/static", parse::static_url,
        "public base URL of that folder, used in image links; set it to your https URL in production";
    UPLOAD_MAX_BYTES upload_max_bytes: u64 = default "5MB", parse::upload_size,
        "largest image an admin may upload (`800KB`, `5MB`; at most `50MB`)";
    ORDER_PAYMENT_TIMEOUT order_payment_timeout: Duration = default "15m", parse::duration(|d| d.as_secs() <= 2 * 3600, "应为 30s、15m 这样的时长（最长 2 小时，微信预支付单的有效期）"),
        "how long an unpaid order holds its seats (`30s`, `15m`, …; at most `2h`, WeChat's prepay lifetime)";
    WRITER_MAX_BATCH writer_max_batch: usize = default "64", parse::count(1..=1024),
        "write commands per SQLite commit (group commit); `1` turns batching off, for the benchmark's baseline";
    WAL_COALESCE wal_coalesce: bool = default "on", parse::on_off,
        "`off` writes the WAL through SQLite's own VFS instead of one write per commit (`store/wal_vfs.rs`); for ruling the VFS out when diagnosing";
    LITESTREAM litestream: bool = default "0", parse::one_or_zero,
        "`1` when Litestream replicates the database: the server then leaves every WAL checkpoint to Litestream (see \"Continuous replication with Litestream\")";
    WECHAT_MCH_ID mch_id: String = unset "(none: mock payments)", parse::text,
        "WeChat Pay merchant id. The merchant variables come as a set (see \"WeChat Pay setup\" below); a partial set stops the start, naming what is missing; production refuses to start without them";
    WECHAT_MCH_SERIAL_NO mch_serial_no: String = unset "", parse::text,
        "serial number of the merchant API certificate";
    WECHAT_MCH_PRIVATE_KEY_PATH mch_private_key_path: PathBuf = unset "", parse::path,
        "the merchant API private key, `apiclient_key.pem`";
    WECHAT_API_V3_KEY api_v3_key: Secret = unset "", parse::secret,
        "the 32-character APIv3 key (decrypts notifies)";
    WECHAT_PAY_PUBLIC_KEY_ID pay_public_key_id: String = unset "", parse::text,
        "the id (`PUB_KEY_ID_…`) of the WeChat Pay public key that verifies WeChat's signatures";
    WECHAT_PAY_PUBLIC_KEY_PATH pay_public_key_path: PathBuf = unset "", parse::path,
        "that public key, `pub_key.pem`";
    WECHAT_PAY_PLATFORM_CERT_PATHS platform_cert_paths: Vec<PathBuf> = unset "", parse::paths,
        "instead of (or beside) the public key: platform certificate PEM files, comma-separated (older merchants)";
    WECHAT_MCH_KEY mch_key_v2: Secret = unset "(none)", parse::secret,
        "APIv2 key: also accept legacy v2 XML notifies";
    PUBLIC_BASE_URL public_base_url: String = unset "", parse::text,
        "this server's public https address; notify URLs are built from it";
    WECHAT_PAY_BASE_URL wechat_pay_base_url: String = default "https://api.mch.weixin.qq.com", parse::base_url,
        "WeChat Pay's API host (tests point it at a local fake)";
    REFUND_CUTOFF refund_cutoff: Duration = default "24h", parse::duration(|d| d.as_secs() <= 365 * 86_400, "应为 0、2h、24h、3d 这样的时长"),
        "buyers may ask for a refund until this long before the show (`0` = until it starts), unless the club set its own (`PUT /api/admin/tenant`)";
    REFUND_RETRY_AFTER refund_retry_after: Duration = default "30s", parse::duration(|d| !d.is_zero() && d.as_secs() <= 3600, "应为 500ms、30s、5m 这样的时长（最长 1h）"),
        "a refund WeChat refused (e.g. `NOT_ENOUGH`: the merchant balance is short) or did not answer is sent again after this, then after twice as long each time, up to an hour; it is never given up";
    TICKET_EXPIRE_AFTER ticket_expire_after: Duration = default "6h", parse::duration(|d| d.as_secs() <= 30 * 86_400, "应为 30m、6h、1d 这样的时长（最长 30d）"),
        "unused tickets become `expired` this long after their show ends (the door then refuses them unless an owner forces)";
    BACKUP_DIR backup_dir: PathBuf = unset "(none: off)", parse::path,
        "scheduled backups: a consistent copy of the database is written here every `BACKUP_INTERVAL` (as `standup-tickets-<UTC time>.db`, through a temporary file and a rename); failures are logged and shown in `/healthz`";
    BACKUP_INTERVAL backup_interval: Duration = default "6h", parse::duration(|d| d.as_secs() >= 600 && d.as_secs() <= 7 * 86_400, "应为 10m、6h、1d 这样的时长（10 分钟到 7 天）"),
        "how often a scheduled backup is made (`10m` to `7d`); counted from the newest file in `BACKUP_DIR`, so restarts neither skip nor repeat one";
    BACKUP_KEEP backup_keep: usize = default "28", parse::count(1..=10_000),
        "scheduled backups kept in `BACKUP_DIR`; older ones are deleted (1-10000)";
    ADMIN_CONSOLE admin_console: bool = default "on", parse::on_off,
        "`on`: serve the web console at `/admin/`; `off`: no console (the admin API stays)";
    DEMO_DATA demo_data: bool = default "auto", parse::auto_or_off,
        "`auto`: load the demo club into an empty database outside production; `off`: never";
    REQUEST_TIMEOUT request_timeout: Duration = default "60s", parse::duration(|d| d.as_secs() >= 1 && d.as_secs() <= 600, "应为 30s、1m 这样的时长（1 秒到 10 分钟）"),
        "a request not answered within this (its body still arriving, or the server busy) gets `408 REQUEST_TIMEOUT`; a request head has 30 s, fixed";
    CATALOG_TTL catalog_ttl: Duration = default "1s", parse::duration(|d| d.as_millis() >= 100 && d.as_secs() <= 60, "应为 500ms、1s、5s 这样的时长（100 毫秒到 60 秒）"),
        "how long a public answer (a show, the home page, a list) is reused: the remaining seats it shows are at most this old; a change made in the console is shown at once whatever this is (100ms to 60s)";
    METRICS_TOKEN metrics_token: Secret = unset "(none)", parse::metrics_token,
        "bearer token for `GET /metrics` (Prometheus). Without one, `/metrics` is open outside production and refused in production";
    CORS_ORIGINS cors_origins: Vec<String> = unset "(none)", parse::origins,
        "comma-separated browser origins (`https://club.example.com`) allowed to call the API cross-origin; none by default (the mini-program and the console need none)";
}

/// Variables whose values `check-config` never prints.
pub(super) const SECRETS: &[&str] = &[
    "JWT_SECRET",
    "METRICS_TOKEN",
    "WECHAT_APP_SECRET",
    "WECHAT_API_V3_KEY",
    "WECHAT_MCH_KEY",
];
