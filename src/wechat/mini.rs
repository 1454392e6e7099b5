//! Mini-program server API: `sns/jscode2session` (login), `cgi-bin/stable_token`
//! (access token, cached process-wide) and `wxa/business/getuserphonenumber`.

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use crate::config::WechatCredentials;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WechatError {
    /// errcode -1: WeChat is busy; retrying later may work.
    Busy,
    /// 40029 / 40163: the code is invalid, expired or already used.
    InvalidCode,
    /// 45011: WeChat's own per-user frequency limit.
    RateLimited,
    /// 40226: WeChat blocks this user as high-risk.
    RiskyUser,
    /// Our app id / secret are wrong: the club must fix its configuration.
    Misconfigured(i64, String),
    /// Any other error code.
    Other(i64, String),
    /// WeChat could not be reached or answered nonsense.
    Unreachable(String),
}

fn classify(code: i64, msg: String) -> WechatError {
    match code {
        -1 => WechatError::Busy,
        40029 | 40163 => WechatError::InvalidCode,
        45011 => WechatError::RateLimited,
        40226 => WechatError::RiskyUser,
        40013 | 40125 | 41002 | 41004 | 40164 | 61024 => WechatError::Misconfigured(code, msg),
        _ => WechatError::Other(code, msg),
    }
}

/// What jscode2session yields. `session_key` must never leave the server.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    pub openid: String,
    pub unionid: Option<String>,
    pub session_key: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("openid", &self.openid)
            .field("unionid", &self.unionid)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Code2SessionReply {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    openid: Option<String>,
    unionid: Option<String>,
    session_key: Option<String>,
}

#[derive(Deserialize)]
struct TokenReply {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct PhoneReply {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    phone_info: Option<PhoneInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhoneInfo {
    pure_phone_number: Option<String>,
    phone_number: Option<String>,
    // countryCode is documented as a string but arrives as a number; it is not
    // read, so either form parses.
}

struct CachedToken {
    token: String,
    refresh_at: Instant,
}

pub struct MiniProgram {
    http: reqwest::Client,
    base: String,
    creds: WechatCredentials,
    /// One token for the whole process; the async mutex makes concurrent
    /// callers wait for a single refresh instead of each fetching one.
    token: Mutex<Option<CachedToken>>,
}

impl MiniProgram {
    pub fn new(http: reqwest::Client, base: &str, creds: WechatCredentials) -> Self {
        MiniProgram {
            http,
            base: base.trim_end_matches('/').to_string(),
            creds,
            token: Mutex::new(None),
        }
    }

    async fn read_json<T: for<'de> Deserialize<'de>>(
        res: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<T, WechatError> {
        let res = res.map_err(|e| WechatError::Unreachable(e.to_string()))?;
        if !res.status().is_success() {
            return Err(WechatError::Unreachable(format!("HTTP {}", res.status())));
        }
        // WeChat labels some JSON answers text/plain: parse the bytes.
        let body = res
            .bytes()
            .await
            .map_err(|e| WechatError::Unreachable(e.to_string()))?;
        serde_json::from_slice(&body)
            .map_err(|e| WechatError::Unreachable(format!("bad JSON: {e}")))
    }

    /// Exchanges a login code for the user's openid (and unionid, session key).
    pub async fn code2session(&self, code: &str) -> Result<Session, WechatError> {
        let res = self
            .http
            .get(format!("{}/sns/jscode2session", self.base))
            .query(&[
                ("appid", self.creds.app_id.as_str()),
                ("secret", self.creds.app_secret.as_str()),
                ("js_code", code),
                ("grant_type", "authorization_code"),
            ])
            .send()
            .await;
        let reply: Code2SessionReply = Self::read_json(res).await?;
        if reply.errcode != 0 {
            return Err(classify(reply.errcode, reply.errmsg));
        }
        match (reply.openid, reply.session_key) {
            (Some(openid), Some(session_key)) if !openid.is_empty() => Ok(Session {
                openid,
                unionid: reply.unionid.filter(|u| !u.is_empty()),
                session_key,
            }),
            _ => Err(WechatError::Unreachable(
                "jscode2session without openid".into(),
            )),
        }
    }

    async fn access_token(&self, force_refresh: bool) -> Result<String, WechatError> {
        let mut cached = self.token.lock().await;
        if !force_refresh
            && let Some(t) = cached.as_ref()
            && Instant::now() < t.refresh_at
        {
            return Ok(t.token.clone());
        }
        let res = self
            .http
            .post(format!("{}/cgi-bin/stable_token", self.base))
            .json(&serde_json::json!({
                "grant_type": "client_credential",
                "appid": self.creds.app_id,
                "secret": self.creds.app_secret,
                "force_refresh": force_refresh,
            }))
            .send()
            .await;
        let reply: TokenReply = Self::read_json(res).await?;
        if reply.errcode != 0 {
            return Err(classify(reply.errcode, reply.errmsg));
        }
        let token = reply
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| WechatError::Unreachable("stable_token without access_token".into()))?;
        let lifetime = reply.expires_in.unwrap_or(7200).min(7200);
        // Refresh five minutes early so no request ever carries a dying token.
        let refresh_at = Instant::now() + Duration::from_secs(lifetime.saturating_sub(300).max(30));
        *cached = Some(CachedToken {
            token: token.clone(),
            refresh_at,
        });
        Ok(token)
    }

    /// Exchanges a `getPhoneNumber` code for the user's phone number.
    pub async fn phone_number(&self, code: &str) -> Result<String, WechatError> {
        let mut force = false;
        for attempt in 0..2 {
            let token = self.access_token(force).await?;
            let res = self
                .http
                .post(format!("{}/wxa/business/getuserphonenumber", self.base))
                .query(&[("access_token", token.as_str())])
                .json(&serde_json::json!({ "code": code }))
                .send()
                .await;
            let reply: PhoneReply = Self::read_json(res).await?;
            match reply.errcode {
                0 => {}
                // The token expired or was replaced elsewhere: refresh once.
                40001 | 42001 if attempt == 0 => {
                    force = true;
                    continue;
                }
                code => return Err(classify(code, reply.errmsg)),
            }
            let info = reply
                .phone_info
                .ok_or_else(|| WechatError::Unreachable("no phone_info".into()))?;
            return info
                .pure_phone_number
                .or(info.phone_number)
                .filter(|p| !p.is_empty())
                .ok_or_else(|| WechatError::Unreachable("empty phone number".into()));
        }
        Err(WechatError::Unreachable(
            "access token refused twice".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    #[test]
    fn error_codes_map_to_clear_answers() {
        let status = |code: i64| AppError::from(classify(code, "x".into())).status();
        assert_eq!(status(-1), 503);
        assert_eq!(status(40029), 400);
        assert_eq!(status(40163), 400);
        assert_eq!(status(45011), 429);
        assert_eq!(status(40226), 403);
        assert_eq!(status(40013), 503);
        assert_eq!(status(40125), 503);
        assert_eq!(status(12345), 502);
    }

    #[test]
    fn session_debug_hides_the_key() {
        let s = Session {
            openid: "o".into(),
            unionid: None,
            session_key: "SECRETKEY".into(),
        };
        assert!(!format!("{s:?}").contains("SECRETKEY"));
    }
}
