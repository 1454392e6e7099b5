//! One module per resource: the operations handlers, jobs and the CLI call.
//! No HTTP here: services take plain values and return models or `AppError`s.

pub mod accounts;
pub mod admin_events;
pub mod admin_orders;
pub mod admins;
pub mod audit;
pub mod backups;
pub mod catalog;
pub mod checkin;
pub mod content;
pub mod demo;
pub mod door;
pub mod orders;
pub mod payments;
pub mod stats;
pub mod tenants;
pub mod tickets;
pub mod uploads;
