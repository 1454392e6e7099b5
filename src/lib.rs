//! standup-tickets: a box office for stand-up comedy clubs in one binary.
//!
//! The binary (`main.rs`) is a thin CLI over this library; integration tests and
//! benchmarks start the very same app through [`app::spawn`].

pub mod app;
pub mod auth;
pub mod cache;
pub mod catalog;
pub mod config;
pub mod demo;
pub mod domain;
pub mod error;
pub mod http;
pub mod identity;
pub mod ids;
pub mod jobs;
pub mod limits;
pub mod logging;
pub mod orders;
pub mod payments;
pub mod store;
pub mod tickets;
pub mod wechat;
