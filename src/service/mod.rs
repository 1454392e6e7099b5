//! One module per resource: the operations handlers, jobs and the CLI call.
//! No HTTP here: services take plain values and return models or `AppError`s.

pub mod admin;
pub mod backups;
pub mod catalog;
pub mod demo;
pub mod orders;
pub mod payments;
pub mod tickets;
pub mod users;
