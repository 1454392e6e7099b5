//! standup-tickets: a box office for stand-up comedy clubs in one binary.
//!
//! The binary (`main.rs`) is a thin CLI over this library; integration tests and
//! benchmarks start the very same app through [`app::spawn`].
//!
//! Layers, dependencies pointing downward only (docs/ARCHITECTURE.md):
//! `http` → `service` → `model` / `store` / `wechat`; `state` holds what they share.

// The modules allowed unsafe code: `store::wal_vfs` (SQLite VFS FFI) and
// `alloc` (the global allocator over mimalloc's C functions).
#![deny(unsafe_code)]

#[allow(unsafe_code)]
pub mod alloc;
pub mod app;
pub(crate) mod cache;
pub mod cli;
pub mod config;
pub mod error;
pub(crate) mod http;
pub mod ids;
pub mod jobs;
pub(crate) mod limits;
pub(crate) mod logging;
pub mod metrics;
pub mod model;
pub mod service;
pub(crate) mod state;
pub mod store;
pub(crate) mod tokens;
pub mod wechat;
