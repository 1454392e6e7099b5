//! The one error type every handler returns, and the catalogue of codes it
//! draws from. A refusal is a [`Code`] (its HTTP status, its stable machine
//! name, a default Chinese message) plus, where the situation needs it, a more
//! specific message. Nothing here knows HTTP types: `http/envelope.rs` turns
//! an `AppError` into a response. Internal causes are logged, never sent.

use std::borrow::Cow;

/// Declares the catalogue: `Variant = (status, "MACHINE_CODE", "默认消息")`.
macro_rules! catalogue {
    ($($variant:ident = ($status:literal, $code:literal, $message:literal),)*) => {
        /// Every machine code the API answers with (`error` in the envelope).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            /// Every code, in the catalogue's order (by status).
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The HTTP status this code is answered with.
            pub const fn status(self) -> u16 {
                match self {
                    $(Code::$variant => $status,)*
                }
            }

            /// The stable UPPER_SNAKE name clients branch on.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            /// The Chinese message used when the situation adds nothing.
            pub const fn message(self) -> &'static str {
                match self {
                    $(Code::$variant => $message,)*
                }
            }
        }
    };
}

catalogue! {
    ExceedsMaxPerOrder = (400, "EXCEEDS_MAX_PER_ORDER", "超出每单限购数量"),
    InvalidCode = (400, "INVALID_CODE", "微信凭证无效或已过期，请重新获取"),
    UploadInvalid = (400, "UPLOAD_INVALID", "图片文件不完整或已损坏"),
    ValidationFailed = (400, "VALIDATION_FAILED", "请求参数错误"),
    InvalidCredentials = (401, "INVALID_CREDENTIALS", "用户名或密码错误"),
    TokenExpired = (401, "TOKEN_EXPIRED", "登录已过期，请重新登录"),
    TokenInvalid = (401, "TOKEN_INVALID", "登录凭证无效，请重新登录"),
    TokenRevoked = (401, "TOKEN_REVOKED", "登录已失效（密码、角色或账号已变更，或已退出所有设备），请重新登录"),
    Unauthorized = (401, "UNAUTHORIZED", "请先登录"),
    AdminDisabled = (403, "ADMIN_DISABLED", "该管理员账号已停用"),
    MetricsDisabled = (403, "METRICS_DISABLED", "生产环境须设置 METRICS_TOKEN 才能读取监控指标"),
    OwnerOnly = (403, "OWNER_ONLY", "仅店主账号可执行此操作"),
    RiskyUser = (403, "RISKY_USER", "该微信账号暂时无法登录，请稍后再试或联系微信客服"),
    TenantForbidden = (403, "TENANT_FORBIDDEN", "无权访问其他俱乐部的数据"),
    TokenKindMismatch = (403, "TOKEN_KIND_MISMATCH", "该登录凭证无权访问此接口"),
    UserDisabled = (403, "USER_DISABLED", "账号已被停用，请联系俱乐部"),
    AdminNotFound = (404, "ADMIN_NOT_FOUND", "管理员不存在"),
    BannerNotFound = (404, "BANNER_NOT_FOUND", "横幅不存在"),
    EventNotFound = (404, "EVENT_NOT_FOUND", "演出不存在"),
    MerchNotFound = (404, "MERCH_NOT_FOUND", "周边不存在"),
    NotFound = (404, "NOT_FOUND", "接口不存在"),
    OrderNotFound = (404, "ORDER_NOT_FOUND", "订单不存在"),
    PriceOptionNotFound = (404, "PRICE_OPTION_NOT_FOUND", "票档不存在"),
    RefundNotFound = (404, "REFUND_NOT_FOUND", "退款记录不存在"),
    TenantNotFound = (404, "TENANT_NOT_FOUND", "俱乐部不存在"),
    TicketNotFound = (404, "TICKET_NOT_FOUND", "票券不存在"),
    UploadNotFound = (404, "UPLOAD_NOT_FOUND", "文件不存在"),
    UserNotFound = (404, "USER_NOT_FOUND", "用户不存在"),
    MethodNotAllowed = (405, "METHOD_NOT_ALLOWED", "不支持的请求方法"),
    RequestTimeout = (408, "REQUEST_TIMEOUT", "请求超时，请稍后重试"),
    AdminExists = (409, "ADMIN_EXISTS", "管理员已存在"),
    CheckinUndone = (409, "CHECKIN_UNDONE", "该次检票已被撤销"),
    EditConflict = (409, "EDIT_CONFLICT", "该演出已被他人修改，请刷新后再保存"),
    EventCancelled = (409, "EVENT_CANCELLED", "演出已取消"),
    EventHasOrders = (409, "EVENT_HAS_ORDERS", "该演出已有订单，不能删除，请改为取消演出"),
    IdempotencyKeyReused = (409, "IDEMPOTENCY_KEY_REUSED", "Idempotency-Key 已用于另一笔不同的订单"),
    InsufficientStock = (409, "INSUFFICIENT_STOCK", "余票不足"),
    LastOwner = (409, "LAST_OWNER", "俱乐部须保留至少一个启用的店主账号"),
    OrderExpired = (409, "ORDER_EXPIRED", "订单已超时，请重新下单"),
    OrderNotPaid = (409, "ORDER_NOT_PAID", "只有已支付且未使用的订单可以退款"),
    OrderNotPending = (409, "ORDER_NOT_PENDING", "订单不是待支付状态"),
    PriceOptionUnavailable = (409, "PRICE_OPTION_UNAVAILABLE", "该票档已停售"),
    PurchaseLimitExceeded = (409, "PURCHASE_LIMIT_EXCEEDED", "超出每人限购数量"),
    RefundExists = (409, "REFUND_EXISTS", "该订单已申请退款，请勿重复提交"),
    RefundWindowClosed = (409, "REFUND_WINDOW_CLOSED", "已过退款截止时间，不能退款"),
    SaleEnded = (409, "SALE_ENDED", "本场演出已停止售票"),
    SaleNotStarted = (409, "SALE_NOT_STARTED", "尚未开售，请稍后再来"),
    SoldOut = (409, "SOLD_OUT", "该票档已售罄"),
    StockBelowSold = (409, "STOCK_BELOW_SOLD", "总量不能少于已售出或锁定的数量"),
    TenantExists = (409, "TENANT_EXISTS", "俱乐部已存在"),
    TicketAlreadyUsed = (409, "TICKET_ALREADY_USED", "该票已检票入场"),
    TicketExpired = (409, "TICKET_EXPIRED", "该票已过期"),
    TicketNotUsed = (409, "TICKET_NOT_USED", "该票尚未检票，无需撤销"),
    TicketUsed = (409, "TICKET_USED", "已有票券使用过，不能退款"),
    TicketVoid = (409, "TICKET_VOID", "该票已作废（订单已退款或已取消）"),
    UndoWindowClosed = (409, "UNDO_WINDOW_CLOSED", "检票超过 10 分钟，不能撤销"),
    UploadInUse = (409, "UPLOAD_IN_USE", "图片正在使用中，不能删除"),
    WrongShow = (409, "WRONG_SHOW", "不是本场演出的票"),
    BodyTooLarge = (413, "BODY_TOO_LARGE", "请求内容过大"),
    UploadTooLarge = (413, "UPLOAD_TOO_LARGE", "文件过大"),
    UriTooLong = (414, "URI_TOO_LONG", "请求地址过长"),
    UploadTypeNotAllowed = (415, "UPLOAD_TYPE_NOT_ALLOWED", "只能上传 PNG、JPEG 或 WebP 图片"),
    PhoneNotSupported = (422, "PHONE_NOT_SUPPORTED", "暂仅支持中国大陆手机号"),
    AccountLocked = (429, "ACCOUNT_LOCKED", "密码错误次数过多，账号已临时锁定"),
    RateLimited = (429, "RATE_LIMITED", "请求过于频繁，请稍后再试"),
    WechatRateLimited = (429, "WECHAT_RATE_LIMITED", "操作太频繁，请稍后再试"),
    HeadersTooLarge = (431, "HEADERS_TOO_LARGE", "请求头过大"),
    InternalError = (500, "INTERNAL_ERROR", "服务器内部错误，请稍后重试"),
    WechatError = (502, "WECHAT_ERROR", "微信服务异常，请稍后重试"),
    PaymentUnavailable = (503, "PAYMENT_UNAVAILABLE", "支付服务暂时不可用，请稍后重试"),
    ServiceUnavailable = (503, "SERVICE_UNAVAILABLE", "服务繁忙，请稍后重试"),
    WechatBusy = (503, "WECHAT_BUSY", "微信服务繁忙，请稍后重试"),
    WechatMisconfigured = (503, "WECHAT_MISCONFIGURED", "服务暂不可用，请联系俱乐部"),
    WechatUnavailable = (503, "WECHAT_UNAVAILABLE", "无法连接微信服务，请稍后重试"),
}

impl Code {
    pub fn parse(s: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == s)
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[derive(Debug)]
pub struct AppError {
    pub code: Code,
    pub message: Cow<'static, str>,
    /// Seconds, for 429 and 503 answers.
    pub retry_after: Option<u64>,
    /// The internal cause of a 5xx; logged with the request id, never returned.
    pub source: Option<anyhow::Error>,
}

impl AppError {
    pub fn new(code: Code, message: impl Into<Cow<'static, str>>) -> Self {
        AppError {
            code,
            message: message.into(),
            retry_after: None,
            source: None,
        }
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }

    pub fn retry_after(self, seconds: u64) -> Self {
        AppError {
            retry_after: Some(seconds),
            ..self
        }
    }

    pub fn validation(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Code::ValidationFailed, message)
    }

    pub fn tenant_not_found() -> Self {
        Code::TenantNotFound.into()
    }

    pub fn event_not_found() -> Self {
        Code::EventNotFound.into()
    }

    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        AppError {
            source: Some(source.into()),
            ..Code::InternalError.into()
        }
    }

    pub fn unavailable(source: impl Into<anyhow::Error>) -> Self {
        AppError {
            source: Some(source.into()),
            retry_after: Some(1),
            ..Code::ServiceUnavailable.into()
        }
    }
}

impl From<Code> for AppError {
    fn from(code: Code) -> Self {
        AppError::new(code, code.message())
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status(), self.code, self.message)?;
        if let Some(src) = &self.source {
            write!(f, " ({src:#})")?;
        }
        Ok(())
    }
}

/// A request the rules refuse. Raised inside store transactions too, so the
/// writer rolls back and nothing is half-written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Rejection {
    pub code: Code,
    /// User-facing Chinese text.
    pub message: String,
}

impl Rejection {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Rejection {
            code,
            message: message.into(),
        }
    }
}

impl From<Code> for Rejection {
    fn from(code: Code) -> Self {
        Rejection::new(code, code.message())
    }
}

impl From<Rejection> for AppError {
    fn from(r: Rejection) -> Self {
        AppError::new(r.code, r.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_upper_snake_with_a_status_and_a_message() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "{c} twice");
            assert!(
                c.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b == b'_'),
                "{c}"
            );
            assert!((400..600).contains(&c.status()), "{c}");
            assert!(!c.message().is_empty(), "{c}");
            assert_eq!(Code::parse(c.as_str()), Some(*c));
        }
    }

    /// docs/API.md's table of codes is the catalogue, row for row.
    #[test]
    fn readme_lists_exactly_the_catalogue() {
        let readme = include_str!("../docs/API.md");
        let start = readme
            .find("<!-- codes:begin")
            .expect("codes:begin in docs/API.md");
        let end = readme
            .find("<!-- codes:end -->")
            .expect("codes:end in docs/API.md");
        let rows: Vec<String> = readme[start..end]
            .lines()
            .filter(|l| l.starts_with("| ") && l[2..].starts_with(|c: char| c.is_ascii_digit()))
            .map(str::to_string)
            .collect();
        let expected: Vec<String> = Code::ALL
            .iter()
            .map(|c| format!("| {} | `{}` | {} |", c.status(), c.as_str(), c.message()))
            .collect();
        assert_eq!(
            rows, expected,
            "regenerate docs/API.md's code table from src/error.rs"
        );
    }
}
