//! A customer account: who may send, with how many credits, under which default sender and
//! time zone. The API key itself is never kept, only its SHA-256.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::date::parse_timezone;
use super::request::Credentials;
use super::sender::SenderId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub login: String,
    /// Lowercase hex SHA-256 of the API key.
    pub key_sha256: String,
    pub credits: u64,
    /// The sender used when the email names none (and, in France, when the STOP mention is missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<SenderId>,
    /// The IANA time zone `date=` is read in; the gateway's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default)]
    pub suspended: bool,
    pub created_at: DateTime<Utc>,
}

impl Account {
    /// Whether these credentials open this account: same login, same key, not suspended.
    pub fn admits(&self, credentials: &Credentials) -> bool {
        !self.suspended
            && self.login == credentials.login
            && constant_time_eq(self.key_sha256.as_bytes(), credentials.api_key.sha256_hex().as_bytes())
    }

    /// The account's time zone, or `default` when it has none or an unknown one.
    pub fn timezone_or(&self, default: Tz) -> Tz {
        self.timezone.as_deref().and_then(parse_timezone).unwrap_or(default)
    }
}

/// A new API key: 160 random bits, as 40 lowercase hex digits (no `@` nor `|`, so it always
/// fits in a subject).
pub fn new_api_key() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::request::parse_subject;

    fn account(key: &str) -> Account {
        let credentials = parse_subject(&format!("shop@{key}|0612345678")).unwrap().credentials;
        Account {
            login: "shop".into(),
            key_sha256: credentials.api_key.sha256_hex(),
            credits: 10,
            sender: None,
            timezone: None,
            suspended: false,
            created_at: Utc::now(),
        }
    }

    fn credentials(subject: &str) -> Credentials {
        parse_subject(subject).unwrap().credentials
    }

    #[test]
    fn the_right_key_opens_the_account() {
        assert!(account("k1").admits(&credentials("shop@k1|0612345678")));
    }

    #[test]
    fn a_wrong_key_or_login_does_not() {
        assert!(!account("k1").admits(&credentials("shop@k2|0612345678")));
        assert!(!account("k1").admits(&credentials("other@k1|0612345678")));
    }

    #[test]
    fn a_suspended_account_admits_nobody() {
        let mut suspended = account("k1");
        suspended.suspended = true;
        assert!(!suspended.admits(&credentials("shop@k1|0612345678")));
    }

    #[test]
    fn new_keys_are_long_random_and_subject_safe() {
        let (a, b) = (new_api_key(), new_api_key());
        assert_ne!(a, b);
        assert_eq!(a.len(), 40);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn unknown_time_zone_falls_back_to_the_default() {
        let mut a = account("k");
        a.timezone = Some("Mars/Olympus".into());
        assert_eq!(a.timezone_or(chrono_tz::Europe::Paris), chrono_tz::Europe::Paris);
        a.timezone = Some("Asia/Tokyo".into());
        assert_eq!(a.timezone_or(chrono_tz::Europe::Paris), chrono_tz::Asia::Tokyo);
    }
}
