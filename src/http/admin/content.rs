//! The club's home page content (banners, merch): any admin reads, owners
//! write. The public home shows a change at once.

use axum::extract::State;
use axum::response::Response;

use crate::error::AppError;
use crate::http::envelope::{ApiError, ApiResponse, ok, ok_with_message};
use crate::http::extract::{J, P};
use crate::http::guards::{Owner, Staff};
use crate::model::content::{AdminBanner, AdminMerch, BannerInput, MerchInput, ReorderInput};
use crate::service::admin::content;
use crate::state::AppState;

fn done() -> serde_json::Value {
    serde_json::Value::Null
}

#[utoipa::path(
    get, path = "/api/admin/banners", tag = "admin",
    summary = "首页横幅（全部，按顺序；含停用与不在展示时间内的）",
    security(("bearer" = [])),
    responses(
        (status = 200, body = ApiResponse<Vec<AdminBanner>>),
        (status = 401, body = ApiError),
        (status = 403, description = "TOKEN_KIND_MISMATCH / ADMIN_DISABLED", body = ApiError),
    )
)]
pub async fn list_banners(
    State(state): State<AppState>,
    Staff(admin): Staff,
) -> Result<Response, AppError> {
    Ok(ok(
        &content::list::<AdminBanner>(&state, &admin.scope).await?
    ))
}

#[utoipa::path(
    get, path = "/api/admin/banners/{bannerId}", tag = "admin",
    summary = "横幅详情",
    security(("bearer" = [])),
    params(("bannerId" = String, Path)),
    responses(
        (status = 200, body = ApiResponse<AdminBanner>),
        (status = 401, body = ApiError),
        (status = 403, description = "TOKEN_KIND_MISMATCH / ADMIN_DISABLED", body = ApiError),
        (status = 404, description = "BANNER_NOT_FOUND", body = ApiError),
    )
)]
pub async fn get_banner(
    State(state): State<AppState>,
    Staff(admin): Staff,
    P(id): P<String>,
) -> Result<Response, AppError> {
    Ok(ok(
        &content::get::<AdminBanner>(&state, &admin.scope, &id).await?
    ))
}

#[utoipa::path(
    post, path = "/api/admin/banners", tag = "admin",
    summary = "新增横幅（link 为小程序页面路径或 https 地址；eventId 须为本俱乐部的演出）",
    security(("bearer" = [])),
    request_body = BannerInput,
    responses(
        (status = 200, description = "创建成功", body = ApiResponse<AdminBanner>),
        (status = 400, description = "VALIDATION_FAILED（message 以字段名开头）", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TOKEN_KIND_MISMATCH", body = ApiError),
    )
)]
pub async fn create_banner(
    State(state): State<AppState>,
    Owner(admin): Owner,
    J(body): J<BannerInput>,
) -> Result<Response, AppError> {
    let b = content::save::<AdminBanner>(&state, &admin.actor(), None, body).await?;
    Ok(ok_with_message("创建成功", &b))
}

#[utoipa::path(
    put, path = "/api/admin/banners/{bannerId}", tag = "admin",
    summary = "保存横幅（整份提交）",
    security(("bearer" = [])),
    params(("bannerId" = String, Path)),
    request_body = BannerInput,
    responses(
        (status = 200, description = "保存成功", body = ApiResponse<AdminBanner>),
        (status = 400, description = "VALIDATION_FAILED", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TOKEN_KIND_MISMATCH", body = ApiError),
        (status = 404, description = "BANNER_NOT_FOUND", body = ApiError),
    )
)]
pub async fn update_banner(
    State(state): State<AppState>,
    Owner(admin): Owner,
    P(id): P<String>,
    J(body): J<BannerInput>,
) -> Result<Response, AppError> {
    let b = content::save::<AdminBanner>(&state, &admin.actor(), Some(&id), body).await?;
    Ok(ok_with_message("保存成功", &b))
}

#[utoipa::path(
    delete, path = "/api/admin/banners/{bannerId}", tag = "admin",
    summary = "删除横幅",
    security(("bearer" = [])),
    params(("bannerId" = String, Path)),
    responses(
        (status = 200, description = "已删除", body = ApiResponse<Option<String>>),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TOKEN_KIND_MISMATCH", body = ApiError),
        (status = 404, description = "BANNER_NOT_FOUND", body = ApiError),
    )
)]
pub async fn delete_banner(
    State(state): State<AppState>,
    Owner(admin): Owner,
    P(id): P<String>,
) -> Result<Response, AppError> {
    content::delete::<AdminBanner>(&state, &admin.actor(), &id).await?;
    Ok(ok_with_message("已删除", &done()))
}

#[utoipa::path(
    put, path = "/api/admin/banners/order", tag = "admin",
    summary = "横幅排序：按给出的顺序（须列出全部横幅，每个一次）",
    security(("bearer" = [])),
    request_body = ReorderInput,
    responses(
        (status = 200, description = "已排序", body = ApiResponse<Option<String>>),
        (status = 400, description = "VALIDATION_FAILED", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TOKEN_KIND_MISMATCH", body = ApiError),
    )
)]
pub async fn reorder_banners(
    State(state): State<AppState>,
    Owner(admin): Owner,
    J(body): J<ReorderInput>,
) -> Result<Response, AppError> {
    content::reorder::<AdminBanner>(&state, &admin.actor(), body).await?;
    Ok(ok_with_message("已排序", &done()))
}

#[utoipa::path(
    get, path = "/api/admin/merch", tag = "admin",
    summary = "周边商品（全部，按顺序；含停用的）",
    security(("bearer" = [])),
    responses(
        (status = 200, body = ApiResponse<Vec<AdminMerch>>),
        (status = 401, body = ApiError),
        (status = 403, description = "TOKEN_KIND_MISMATCH / ADMIN_DISABLED", body = ApiError),
    )
)]
pub async fn list_merch(
    State(state): State<AppState>,
    Staff(admin): Staff,
) -> Result<Response, AppError> {
    Ok(ok(&content::list::<AdminMerch>(&state, &admin.scope).await?))
}

#[utoipa::path(
    get, path = "/api/admin/merch/{merchId}", tag = "admin",
    summary = "周边详情",
    security(("bearer" = [])),
    params(("merchId" = String, Path)),
    responses(
        (status = 200, body = ApiResponse<AdminMerch>),
        (status = 401, body = ApiError),
        (status = 403, description = "TOKEN_KIND_MISMATCH / ADMIN_DISABLED", body = ApiError),
        (status = 404, description = "MERCH_NOT_FOUND", body = ApiError),
    )
)]
pub async fn get_merch(
    State(state): State<AppState>,
    Staff(admin): Staff,
    P(id): P<String>,
) -> Result<Response, AppError> {
    Ok(ok(
        &content::get::<AdminMerch>(&state, &admin.scope, &id).await?
    ))
}

#[utoipa::path(
    post, path = "/api/admin/merch", tag = "admin",
    summary = "新增周边（price 为元，最多两位小数）",
    security(("bearer" = [])),
    request_body = MerchInput,
    responses(
        (status = 200, description = "创建成功", body = ApiResponse<AdminMerch>),
        (status = 400, description = "VALIDATION_FAILED（message 以字段名开头）", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TOKEN_KIND_MISMATCH", body = ApiError),
    )
)]
pub async fn create_merch(
    State(state): State<AppState>,
    Owner(admin): Owner,
    J(body): J<MerchInput>,
) -> Result<Response, AppError> {
    let m = content::save::<AdminMerch>(&state, &admin.actor(), None, body).await?;
    Ok(ok_with_message("创建成功", &m))
}

#[utoipa::path(
    put, path = "/api/admin/merch/{merchId}", tag = "admin",
    summary = "保存周边（整份提交）",
    security(("bearer" = [])),
    params(("merchId" = String, Path)),
    request_body = MerchInput,
    responses(
        (status = 200, description = "保存成功", body = ApiResponse<AdminMerch>),
        (status = 400, description = "VALIDATION_FAILED", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TOKEN_KIND_MISMATCH", body = ApiError),
        (status = 404, description = "MERCH_NOT_FOUND", body = ApiError),
    )
)]
pub async fn update_merch(
    State(state): State<AppState>,
    Owner(admin): Owner,
    P(id): P<String>,
    J(body): J<MerchInput>,
) -> Result<Response, AppError> {
    let m = content::save::<AdminMerch>(&state, &admin.actor(), Some(&id), body).await?;
    Ok(ok_with_message("保存成功", &m))
}

#[utoipa::path(
    delete, path = "/api/admin/merch/{merchId}", tag = "admin",
    summary = "删除周边",
    security(("bearer" = [])),
    params(("merchId" = String, Path)),
    responses(
        (status = 200, description = "已删除", body = ApiResponse<Option<String>>),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TOKEN_KIND_MISMATCH", body = ApiError),
        (status = 404, description = "MERCH_NOT_FOUND", body = ApiError),
    )
)]
pub async fn delete_merch(
    State(state): State<AppState>,
    Owner(admin): Owner,
    P(id): P<String>,
) -> Result<Response, AppError> {
    content::delete::<AdminMerch>(&state, &admin.actor(), &id).await?;
    Ok(ok_with_message("已删除", &done()))
}

#[utoipa::path(
    put, path = "/api/admin/merch/order", tag = "admin",
    summary = "周边排序：按给出的顺序（须列出全部周边，每个一次）",
    security(("bearer" = [])),
    request_body = ReorderInput,
    responses(
        (status = 200, description = "已排序", body = ApiResponse<Option<String>>),
        (status = 400, description = "VALIDATION_FAILED", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TOKEN_KIND_MISMATCH", body = ApiError),
    )
)]
pub async fn reorder_merch(
    State(state): State<AppState>,
    Owner(admin): Owner,
    J(body): J<ReorderInput>,
) -> Result<Response, AppError> {
    content::reorder::<AdminMerch>(&state, &admin.actor(), body).await?;
    Ok(ok_with_message("已排序", &done()))
}
