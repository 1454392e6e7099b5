//! The integration tests, one binary (the library and `common` compile once):
//! the real app on 127.0.0.1:0 with a temporary data dir, spoken to over
//! HTTP; WeChat replaced by protocol-faithful fakes in `common`.

mod common;

mod accessibility;
mod admin_cancel;
mod admin_events;
mod admin_orders;
mod admin_routes;
mod admins;
mod architecture;
mod backups;
mod browser;
mod catalog;
mod checkin;
mod console;
mod content;
mod crash;
mod door;
mod door_devices;
mod door_props;
mod e2e;
mod freshness;
mod hostile;
mod identity;
mod inventory_props;
mod lifecycle;
mod litestream;
mod messages;
mod metrics;
mod openapi;
mod operations;
mod orders;
mod pay_crypto;
mod payments;
mod payments_dev;
mod sessions;
mod tenant_settings;
mod uploads;
mod wal;
mod writer;
