//! Mail2SMS: an email becomes SMS.
//!
//! [`pipeline`] is the whole journey of an email; [`domain`] holds the rules it applies;
//! [`ports`] are what it needs from the outside world and [`aws`] provides them.

pub mod account_cache;
pub mod alerts;
pub mod aws;
pub mod config;
pub mod domain;
pub mod event;
pub mod fan_out;
pub mod inbound;
pub mod mail;
pub mod memory;
pub mod metrics;
pub mod operator;
pub mod pipeline;
pub mod plural;
pub mod ports;
pub mod reply;
pub mod tables;
pub mod tracking;
// The customer space (issue #12): mail2sms-web.
pub mod web;
