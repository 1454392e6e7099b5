//! Pure rules and the shapes the API speaks; no I/O here.

pub mod admins;
pub mod audit;
pub mod catalog;
pub mod checkin;
pub mod content;
pub mod coupons;
pub mod door;
pub mod events;
pub mod fields;
pub mod money;
pub mod orders;
pub mod rules;
pub mod sales;
pub mod scope;
pub mod stats;
pub mod tenants;
pub mod tickets;
pub mod time;
pub mod uploads;
pub mod users;

pub use money::Fen;
pub use time::Timestamp;
