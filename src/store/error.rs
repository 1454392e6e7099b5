//! What a store call can fail with. Its own module so the writer (which
//! `store` itself is built on) can name it without importing its parent.

use crate::error::Rejection;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("read pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("commit failed: {0}")]
    Commit(String),
    #[error("database busy: {0}")]
    Busy(String),
    #[error("the writer has stopped")]
    Closed,
    #[error("migration: {0}")]
    Migration(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// A backup or restore refused, in words for the operator.
    #[error("{0}")]
    Backup(String),
}

pub type StoreResult<T> = Result<T, StoreError>;
