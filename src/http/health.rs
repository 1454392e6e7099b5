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
