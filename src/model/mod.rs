//! Pure rules and the shapes the API speaks; no I/O here.

pub mod accounts;
pub mod catalog;
pub mod money;
pub mod orders;
pub mod tickets;
pub mod time;

pub use money::Fen;
pub use time::Timestamp;

/// A request the rules refuse. Raised inside store transactions too, so the
/// command's savepoint is rolled back and nothing is half-written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Rejection {
    pub kind: RejectKind,
    /// Stable UPPER_SNAKE machine code for clients to branch on.
    pub code: &'static str,
    /// User-facing Chinese text.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectKind {
    Invalid,
    NotFound,
    Conflict,
    Forbidden,
}

impl Rejection {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind: RejectKind::Invalid,
            code,
            message: message.into(),
        }
    }
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind: RejectKind::NotFound,
            code,
            message: message.into(),
        }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind: RejectKind::Conflict,
            code,
            message: message.into(),
        }
    }
}
