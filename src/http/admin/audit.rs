//! The audit log route (owner): who did what to which record, and when.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::AppError;
use crate::http::envelope::{ApiError, ApiResponse, ok};
use crate::http::extract::Q;
use crate::http::extract::keyword_param;
use crate::http::guards::Owner;
use crate::model::audit::{AuditEntry, AuditFilter};
use crate::model::catalog::{Page, PageRequest};
use crate::service::admin::audit;
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    pub tenant_id: Option<String>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
    /// event | order | admin | tenant …
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// `admin:<id>`, `user:<id>`, `system` or `cli`.
    pub actor: Option<String>,
}

#[utoipa::path(
    get, path = "/api/admin/audit-log", tag = "admin",
    summary = "操作日志（最新在前；可按对象与操作人筛选）",
    security(("bearer" = [])),
    params(AuditParams),
    responses(
        (status = 200, body = ApiResponse<Page<AuditEntry>>),
        (status = 400, description = "VALIDATION_FAILED", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TENANT_FORBIDDEN / TOKEN_KIND_MISMATCH", body = ApiError),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Owner(admin): Owner,
    Q(p): Q<AuditParams>,
) -> Result<Response, AppError> {
    let scope = admin.scope(p.tenant_id.as_deref())?;
    let page = PageRequest::new(p.page, p.page_size)?;
    let filter = AuditFilter {
        target_type: keyword_param(p.target_type)?,
        target_id: keyword_param(p.target_id)?,
        actor: keyword_param(p.actor)?,
    };
    Ok(ok(&audit::list(&state, scope, filter, page).await?))
}
