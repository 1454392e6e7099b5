//! Liveness that means something: the database answers reads and the writer
//! thread commits.

use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use super::envelope::{ApiError, ApiResponse, ok};
use crate::error::AppError;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    pub version: &'static str,
    /// Scheduled backups (absent when `BACKUP_DIR` is not set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupHealth>,
}

/// How the scheduled backups are going.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupHealth {
    /// ok · failing (the newest attempt failed) · pending (none made yet)
    pub status: &'static str,
    /// The newest good backup, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_success_at: Option<String>,
    /// Seconds since then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Failed attempts since the server started.
    pub failures: u64,
}

fn backup_health(state: &AppState) -> Option<BackupHealth> {
    state.config.backups.as_ref()?;
    let s = state.backups.get();
    let now = crate::model::time::now_ms();
    Some(BackupHealth {
        status: match (&s.last_error, s.last_ok_at) {
            (Some(_), _) => "failing",
            (None, Some(_)) => "ok",
            (None, None) => "pending",
        },
        last_success_at: s
            .last_ok_at
            .map(|t| crate::model::time::Timestamp(t).to_rfc3339()),
        age_seconds: s.last_ok_at.map(|t| (now - t) / 1000),
        last_file: s.last_file.map(|p| p.display().to_string()),
        last_error: s.last_error.map(|(_, e)| e),
        failures: s.failures,
    })
}

#[utoipa::path(
    get, path = "/healthz", tag = "ops",
    summary = "健康检查（检查数据库读写）",
    responses(
        (status = 200, body = ApiResponse<Health>),
        (status = 503, description = "数据库不可用", body = ApiError),
    )
)]
pub async fn healthz(State(state): State<AppState>) -> Result<Response, AppError> {
    state
        .store
        .ping()
        .await
        .map_err(|e| AppError::unavailable(anyhow::Error::new(e)))?;
    Ok(ok(&Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        backup: backup_health(&state),
    }))
}

/// `METRICS_TOKEN` as a bearer token; without one configured, open outside
/// production and refused in production.
fn metrics_allowed(state: &AppState, headers: &axum::http::HeaderMap) -> Result<(), AppError> {
    use crate::error::Code;
    use subtle::ConstantTimeEq;
    let Some(token) = &state.config.metrics_token else {
        return if state.config.is_production() {
            Err(Code::MetricsDisabled.into())
        } else {
            Ok(())
        };
    };
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if bool::from(given.as_bytes().ct_eq(token.0.as_bytes())) {
        Ok(())
    } else {
        Err(AppError::new(Code::TokenInvalid, "监控令牌无效"))
    }
}

#[utoipa::path(
    get, path = "/metrics", tag = "ops",
    summary = "Prometheus 监控指标（文本格式）",
    description = "请求数与延迟（按路由模板与状态码）、订单、支付、退款、支付通知、检票、写入队列、\
        批量提交、WAL 大小、缓存命中与备份状态。设置 METRICS_TOKEN 时须带 `Authorization: Bearer <令牌>`；\
        生产环境未设置 METRICS_TOKEN 时不开放。",
    security(("bearer" = []), ()),
    responses(
        (status = 200, description = "Prometheus / OpenMetrics 文本", content_type = "application/openmetrics-text", body = String),
        (status = 401, description = "TOKEN_INVALID：令牌不对", body = ApiError),
        (status = 403, description = "METRICS_DISABLED：生产环境未设置监控令牌", body = ApiError),
    )
)]
pub async fn metrics(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<Response, AppError> {
    use axum::response::IntoResponse;
    metrics_allowed(&state, &headers)?;
    let m = &state.metrics;
    m.writer_queue.set(state.store.writer_queue() as i64);
    let wal = format!("{}-wal", state.config.database_path().display());
    m.wal_bytes
        .set(std::fs::metadata(wal).map_or(0, |md| md.len() as i64));
    if let Some(b) = backup_health(&state) {
        m.backup_age_seconds.set(b.age_seconds.unwrap_or(-1));
        m.backup_failing.set(i64::from(b.status == "failing"));
        m.backup_failures.set(b.failures as i64);
    }
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        m.encode(),
    )
        .into_response())
}
