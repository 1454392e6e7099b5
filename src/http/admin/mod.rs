//! The club's side: the console's routes, each module named by the resource
//! it serves, as its service (`service::admin::…`), store and model are.
//! Any admin is `Staff`; writes that change the club are `Owner`.

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
