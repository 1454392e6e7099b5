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
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    pub version: &'static str,
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
    }))
}
