//! The club's use-cases: what the console, the door devices and the
//! operator's command line do to one club, each module named by its
//! resource (the same noun as its routes in `http::admin`, its store and
//! model modules). The buyer's use-cases sit beside this folder.

pub mod admins;
pub mod audit;
pub mod checkin;
pub mod content;
pub mod door;
pub mod events;
pub mod orders;
pub mod stats;
pub mod tenants;
pub mod uploads;
