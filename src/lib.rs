//! standup-tickets: a box office for stand-up comedy clubs in one binary.
//!
//! The binary (`main.rs`) is a thin CLI over this library; integration tests and
//! benchmarks start the very same app through [`app::spawn`].
//!
//! Layers, dependencies pointing downward only (docs/ARCHITECTURE.md):
//! `http` → `service` → `model` / `store` / `wechat`; `state` holds what they share.

// The one module allowed unsafe code is `store::wal_vfs` (SQLite VFS FFI).
#![deny(unsafe_code)]

pub mod app;
pub mod cache;
pub mod cli;
pub mod config;
pub mod error;
pub mod http;
pub mod ids;
pub mod jobs;
pub mod limits;
pub mod logging;
pub mod model;
pub mod service;
pub mod state;
pub mod store;
pub mod tokens;
pub mod wechat;
