//! Who is calling, as extractors: the client's IP, a signed-in user, a
//! signed-in admin (scoped to its club).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, header};

use crate::cache::SignedIn;
use crate::error::AppError;
use crate::error::Code;
use crate::model::admins::AdminRole;
use crate::model::scope::TenantScope;
use crate::service::admin::admins;
use crate::service::users;
use crate::state::AppState;
use crate::tokens::{TokenError, TokenKind, Tokens};

/// The client address: the socket peer, or with `TRUST_PROXY=1` the address
/// our reverse proxy appended to `X-Forwarded-For` (the right-most entry; the
/// ones left of it are whatever the client claimed).
pub fn client_ip(headers: &HeaderMap, extensions: &Extensions, trust_proxy: bool) -> IpAddr {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    if !trust_proxy {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .next_back()
        .unwrap_or(peer)
}

pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        Ok(ClientIp(client_ip(
            &parts.headers,
            &parts.extensions,
            state.config.trust_proxy,
        )))
    }
}

fn bearer(parts: &Parts) -> Result<&str, AppError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| AppError::new(Code::Unauthorized, "请先登录"))?
        .to_str()
        .map_err(|_| AppError::new(Code::TokenInvalid, "登录凭证无效，请重新登录"))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| AppError::new(Code::TokenInvalid, "登录凭证无效，请重新登录"))?;
    Ok(token)
}

fn token_error(e: TokenError) -> AppError {
    match e {
        TokenError::Expired => AppError::new(Code::TokenExpired, "登录已过期，请重新登录"),
        TokenError::Invalid => AppError::new(Code::TokenInvalid, "登录凭证无效，请重新登录"),
        TokenError::WrongKind => AppError::new(Code::TokenKindMismatch, "该登录凭证无权访问此接口"),
    }
}

fn user_disabled() -> AppError {
    AppError::new(Code::UserDisabled, "账号已被停用，请联系俱乐部")
}

/// A signed-in, active mini-program user.
pub struct CurrentUser {
    pub id: String,
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = bearer(parts)?;
        // A token seen before: one lookup instead of the signature check
        // (the larger part of a buyer request's own cost at an on-sale peak).
        // Once the token is due to expire, the full check decides (and
        // answers TOKEN_EXPIRED).
        if let Some(known) = state.caches.sessions.user_tokens.get(token)
            && known.exp > Tokens::unix_now()
        {
            if state.caches.sessions.is_disabled_user(&known.user_id) {
                return Err(user_disabled());
            }
            return Ok(CurrentUser {
                id: known.user_id.to_string(),
            });
        }
        let claims = state
            .tokens
            .verify(token, TokenKind::User)
            .map_err(token_error)?;
        if !users::user_active(state, &claims.sub).await? {
            return Err(user_disabled());
        }
        state.caches.sessions.user_tokens.insert(
            token.to_string(),
            SignedIn {
                user_id: claims.sub.as_str().into(),
                exp: claims.exp,
            },
        );
        Ok(CurrentUser { id: claims.sub })
    }
}

/// A signed-in, active admin of an active club, of either role. Routes take
/// [`Staff`] or [`Owner`] rather than this, so the role is in the signature.
pub struct CurrentAdmin {
    pub id: String,
    /// The admin's own club: the only one its requests can reach.
    pub scope: TenantScope,
    pub role: AdminRole,
}

impl CurrentAdmin {
    /// The admin as services see it: who, and in which club.
    pub fn actor(&self) -> crate::model::admins::AdminActor {
        crate::model::admins::AdminActor {
            id: self.id.clone(),
            scope: self.scope.clone(),
        }
    }

    /// The club this request acts on: the admin's own. Naming another club
    /// (query `tenantId`, or one in a body) is 403, never a quiet switch.
    pub fn scope(&self, requested: Option<&str>) -> Result<&TenantScope, AppError> {
        match requested {
            Some(t) if !t.is_empty() && t != self.scope.id() => Err(Code::TenantForbidden.into()),
            _ => Ok(&self.scope),
        }
    }
}

/// Any admin of the club: an owner or door staff (staff ⊂ owner).
pub struct Staff(pub CurrentAdmin);

/// The club's owner; a staff token is `403 OWNER_ONLY`.
pub struct Owner(pub CurrentAdmin);

impl FromRequestParts<AppState> for Staff {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        Ok(Staff(CurrentAdmin::from_request_parts(parts, state).await?))
    }
}

impl FromRequestParts<AppState> for Owner {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let admin = CurrentAdmin::from_request_parts(parts, state).await?;
        if admin.role != AdminRole::Owner {
            return Err(Code::OwnerOnly.into());
        }
        Ok(Owner(admin))
    }
}

impl FromRequestParts<AppState> for CurrentAdmin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let claims = state
            .tokens
            .verify(bearer(parts)?, TokenKind::Admin)
            .map_err(token_error)?;
        let (Some(tenant_id), Some(role)) = (
            claims.tid.clone(),
            claims.role.as_deref().and_then(AdminRole::parse),
        ) else {
            return Err(token_error(TokenError::Invalid));
        };
        // The token's signature vouches for its club; the role is the
        // current one (below), so a demotion does not wait for the token.
        let mut admin = CurrentAdmin {
            id: claims.sub.clone(),
            scope: TenantScope::vouched(&tenant_id),
            role,
        };
        // Every admin route refuses a tenantId query naming another club.
        if let Some(query) = parts.uri.query() {
            for (k, v) in form_urlencoded_pairs(query) {
                if k == "tenantId" {
                    admin.scope(Some(&v))?;
                }
            }
        }
        match admins::standing(state, &admin.scope, &admin.id).await? {
            Some(current) if current.epoch == claims.sep => admin.role = current.role,
            Some(_) => return Err(Code::TokenRevoked.into()),
            None => return Err(AppError::new(Code::AdminDisabled, "该管理员账号已停用")),
        }
        Ok(admin)
    }
}

fn form_urlencoded_pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;
    use crate::config::Config;

    /// Staff ⊂ owner: a staff token passes `Staff` and is refused by `Owner`
    /// before the handler runs; an owner passes both; a buyer neither.
    #[tokio::test]
    async fn owner_and_staff_extractors() {
        let tmp = tempfile::tempdir().unwrap();
        let state = crate::app::build_state(Config::for_tests(tmp.path()))
            .await
            .unwrap();
        state
            .store
            .write(|c| {
                crate::store::tenants::insert(
                    c,
                    &crate::store::tenants::NewTenant {
                        id: "dt".into(),
                        name: "DT".into(),
                        ..Default::default()
                    },
                )
            })
            .await
            .unwrap();
        let scope = TenantScope::vouched("dt");
        let mut tokens = Vec::new();
        for (name, role) in [("boss", AdminRole::Owner), ("door", AdminRole::Staff)] {
            let a = crate::service::admin::admins::create(
                &state.store,
                &crate::model::admins::TeamActor::Operator(scope.clone()),
                crate::model::admins::NewAdminInput {
                    username: name.into(),
                    display_name: None,
                    role: role.as_str().into(),
                    password: "password-123".into(),
                },
            )
            .await
            .unwrap();
            tokens.push(state.tokens.issue_admin(&a.id, "dt", role, 0).unwrap());
        }
        let buyer = state.tokens.issue_user("u1").unwrap();
        let app = Router::new()
            .route("/owner", get(|Owner(a): Owner| async move { a.id }))
            .route("/staff", get(|Staff(a): Staff| async move { a.id }))
            .with_state(state.clone());
        let call = |path: &'static str, token: String| {
            let app = app.clone();
            async move {
                let res = app
                    .oneshot(
                        Request::get(path)
                            .header("authorization", format!("Bearer {token}"))
                            .body(Body::empty())
                            .unwrap(),
                    )
                    .await
                    .unwrap();
                res.status().as_u16()
            }
        };
        let (owner, staff) = (tokens[0].clone(), tokens[1].clone());
        assert_eq!(call("/owner", owner.clone()).await, 200);
        assert_eq!(call("/staff", owner).await, 200);
        assert_eq!(call("/owner", staff.clone()).await, 403);
        assert_eq!(call("/staff", staff).await, 200);
        assert_eq!(call("/owner", buyer.clone()).await, 403);
        assert_eq!(call("/staff", buyer).await, 403);
        state.store.close().await;
    }
}
