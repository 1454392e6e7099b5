//! Pure rules and the shapes the API speaks; no I/O here.

pub mod accounts;
pub mod catalog;
pub mod money;
pub mod orders;
pub mod rules;
pub mod scope;
pub mod tickets;
pub mod time;

pub use money::Fen;
pub use time::Timestamp;
