//! Image uploads: `multipart/form-data` with one part named `file`. The
//! body limit is this route's own (`UPLOAD_MAX_BYTES`), counted while the
//! part streams in, so an oversized file is refused before it is all read.

use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::response::Response;
use utoipa::ToSchema;

use crate::error::{AppError, Code};
use crate::http::envelope::{ApiError, ApiResponse, ok, ok_with_message};
use crate::http::extract::P;
use crate::http::guards::Owner;
use crate::model::uploads::{Upload, UploadList};
use crate::service::admin::uploads;
use crate::state::AppState;

/// Documentation shape of the upload body.
#[derive(ToSchema)]
#[allow(dead_code, reason = "documentation only")]
pub struct UploadForm {
    /// PNG, JPEG or WebP, recognised by its bytes.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

fn one_file() -> AppError {
    AppError::validation("file：请以 multipart/form-data 上传一个名为 file 的文件")
}

fn multipart_error(e: impl std::fmt::Display) -> AppError {
    AppError::validation(format!("file：上传数据格式错误（{e}）"))
}

/// The bytes of the one part named `file`, at most `max` of them.
async fn the_file(mut form: Multipart, max: u64) -> Result<Vec<u8>, AppError> {
    let Some(mut field) = form.next_field().await.map_err(multipart_error)? else {
        return Err(one_file());
    };
    if field.name() != Some("file") {
        return Err(one_file());
    }
    // The stored name is ours; a client's name that tries to be a path is
    // refused rather than quietly ignored.
    if field.file_name().is_some_and(|n| {
        n.contains(['/', '\\']) || n.contains("..") || n.chars().any(char::is_control)
    }) {
        return Err(AppError::validation("file：文件名不合法"));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if (bytes.len() + chunk.len()) as u64 > max {
            return Err(AppError::new(
                Code::UploadTooLarge,
                format!("文件不能超过 {} KB", max / 1024),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    drop(field);
    if form.next_field().await.map_err(multipart_error)?.is_some() {
        return Err(one_file());
    }
    Ok(bytes)
}

#[utoipa::path(
    post, path = "/api/admin/uploads", tag = "admin",
    summary = "上传图片（PNG/JPEG/WebP，按内容识别；不超过 UPLOAD_MAX_BYTES，每边不超过 8000 像素），返回可用于海报、横幅、周边与 Logo 的 url",
    security(("bearer" = [])),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "上传成功", body = ApiResponse<Upload>),
        (status = 400, description = "VALIDATION_FAILED（不是一个名为 file 的文件、空文件）/ UPLOAD_INVALID（文件不完整、尺寸过大）", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TOKEN_KIND_MISMATCH", body = ApiError),
        (status = 413, description = "UPLOAD_TOO_LARGE", body = ApiError),
        (status = 415, description = "UPLOAD_TYPE_NOT_ALLOWED（SVG 等）", body = ApiError),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Owner(admin): Owner,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let form = form.map_err(|_| one_file())?;
    let bytes = the_file(form, state.config.upload_max_bytes).await?;
    let upload = uploads::store_image(&state, &admin.actor(), bytes).await?;
    Ok(ok_with_message("上传成功", &upload))
}

#[utoipa::path(
    get, path = "/api/admin/uploads", tag = "admin",
    summary = "俱乐部上传的图片与占用空间（inUse：是否被海报、横幅、周边或 Logo 使用）",
    security(("bearer" = [])),
    responses(
        (status = 200, body = ApiResponse<UploadList>),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TOKEN_KIND_MISMATCH", body = ApiError),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Owner(admin): Owner,
) -> Result<Response, AppError> {
    Ok(ok(&uploads::list(&state, &admin.scope).await?))
}

#[utoipa::path(
    delete, path = "/api/admin/uploads/{uploadId}", tag = "admin",
    summary = "删除未被使用的图片（文件一并删除）",
    security(("bearer" = [])),
    params(("uploadId" = String, Path)),
    responses(
        (status = 200, description = "已删除", body = ApiResponse<Option<String>>),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TOKEN_KIND_MISMATCH", body = ApiError),
        (status = 404, description = "UPLOAD_NOT_FOUND", body = ApiError),
        (status = 409, description = "UPLOAD_IN_USE", body = ApiError),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    Owner(admin): Owner,
    P(id): P<String>,
) -> Result<Response, AppError> {
    uploads::delete(&state, &admin.actor(), &id).await?;
    Ok(ok_with_message("已删除", &serde_json::Value::Null))
}
