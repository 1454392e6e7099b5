//! Images a club uploads for posters, banners, merch and its logo: judged
//! by their bytes, stored under `UPLOAD_PATH/<club>/` with a random name,
//! served at `STATIC_URL`. A refused upload leaves nothing on disk.

use std::path::PathBuf;

use rand::RngExt;
use tokio::io::AsyncWriteExt;

use crate::error::{AppError, Code};
use crate::ids::{looks_like_id, new_id};
use crate::model::Timestamp;
use crate::model::admins::AdminActor;
use crate::model::scope::TenantScope;
use crate::model::time::now_ms;
use crate::model::uploads::{Upload, UploadList, inspect};
use crate::state::AppState;
use crate::store::uploads::{self as q, UploadRow};

fn folder(state: &AppState, scope: &TenantScope) -> PathBuf {
    // Club ids are lowercase letters, digits, `-` and `_`: a safe folder name.
    state.config.upload_path.join(scope.id())
}

fn to_api(state: &AppState, scope: &TenantScope, r: UploadRow) -> Upload {
    Upload {
        url: format!("{}/{}/{}", state.config.static_url, scope.id(), r.file_name),
        id: r.id,
        content_type: r.content_type,
        width: r.width as u32,
        height: r.height as u32,
        bytes: r.bytes as u64,
        in_use: r.in_use,
        created_at: Timestamp(r.created_at),
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder, so
/// the name appears only once the whole file is on disk.
async fn write_whole(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("part");
    let result = async {
        let mut f = tokio::fs::File::create(&tmp).await?;
        f.write_all(bytes).await?;
        f.sync_all().await?;
        tokio::fs::rename(&tmp, path).await
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    result
}

/// Checks and stores one image.
pub(crate) async fn store_image(
    state: &AppState,
    admin: &AdminActor,
    bytes: Vec<u8>,
) -> Result<Upload, AppError> {
    // Decoding is CPU work of up to a second and up to ~200 MB: off the
    // async threads, and one at a time.
    static DECODING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);
    let _turn = DECODING.acquire().await.map_err(AppError::internal)?;
    let (image, bytes) = tokio::task::spawn_blocking(move || (inspect(&bytes), bytes))
        .await
        .map_err(AppError::internal)?;
    let image = image?;
    drop(_turn);
    let mut random = [0u8; 16];
    rand::rng().fill(&mut random[..]);
    let file_name = format!("{}.{}", hex::encode(random), image.kind.extension());
    let dir = folder(state, &admin.scope);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(AppError::internal)?;
    let path = dir.join(&file_name);
    write_whole(&path, &bytes)
        .await
        .map_err(AppError::internal)?;
    let row = UploadRow {
        id: new_id(),
        file_name,
        content_type: image.kind.content_type().into(),
        bytes: bytes.len() as i64,
        width: image.width.into(),
        height: image.height.into(),
        in_use: false,
        created_at: now_ms(),
    };
    let (a, r) = (admin.clone(), row.clone());
    if let Err(e) = state
        .store
        .write(move |c| q::insert(c, &a.scope, &r, &a.id))
        .await
    {
        let _ = tokio::fs::remove_file(&path).await;
        return Err(e.into());
    }
    Ok(to_api(state, &admin.scope, row))
}

pub(crate) async fn list(state: &AppState, scope: &TenantScope) -> Result<UploadList, AppError> {
    let s = scope.clone();
    let rows = state.store.read(move |c| q::list(c, &s)).await?;
    let total_bytes = rows.iter().map(|r| r.bytes as u64).sum();
    Ok(UploadList {
        items: rows.into_iter().map(|r| to_api(state, scope, r)).collect(),
        total_bytes,
    })
}

/// Deletes an upload nothing shows any more, file and record.
pub(crate) async fn delete(state: &AppState, admin: &AdminActor, id: &str) -> Result<(), AppError> {
    if !looks_like_id(id) {
        return Err(AppError::new(Code::UploadNotFound, "文件不存在"));
    }
    let (a, i) = (admin.clone(), id.to_string());
    let file = state
        .store
        .write(move |c| q::delete(c, &a.scope, &i, &a.id, now_ms()))
        .await?;
    match tokio::fs::remove_file(folder(state, &admin.scope).join(file)).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(AppError::internal(e)),
        _ => Ok(()),
    }
}
