//! The gateway's rules, in the manual's words, with no AWS in sight: what a subject means,
//! which numbers are valid, what the SMS text is and what it costs, which sender applies,
//! when a message is due, the status codes that say why a request is refused, and how the API
//! key is kept out of everything the gateway writes.

pub mod account;
pub mod alerts;
pub mod answer;
pub mod contact_list;
pub mod date;
pub mod delivery;
pub mod hours;
pub mod message;
pub mod optout;
pub mod preview;
pub mod quote;
pub mod recipient;
pub mod request;
pub mod secret;
pub mod segments;
pub mod sender;
pub mod stats;
pub mod status;
pub mod text;

pub use status::{Rejection, StatusCode};
