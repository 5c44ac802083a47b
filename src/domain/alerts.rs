//! Credit alerts: when an account's contact is told that its balance runs low, or that an email
//! was refused for want of credits (104).
//!
//! - **Low credit**: an account with a threshold (`low_credit`, N) and a contact is told once
//!   when a debit leaves its balance below N. It is not told again until `credits add` has taken
//!   the balance back to N or more (or the operator sets a threshold again), which re-arms the
//!   alert. A refund that lifts the balance does not re-arm it: refunds give back what was spent,
//!   the customer has not topped up.
//! - **Insufficient credits**: an account with a contact is told of a 104 at most once a day
//!   (UTC days), whatever the threshold.
//!
//! Each alert is claimed by a conditional write of the account (the flag, or the day) before it
//! is sent, so two emails debited at once never both send it; this module says only when one is
//! due, from the account as read just before the debit (see [`CreditAlerts`]), or as a warm
//! process's recent copy has it (see [`crate::account_cache`]: a copy may be some seconds old,
//! which can delay an alert to a later debit, never send one twice nor state a stale balance).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::account::Account;

/// The longest contact address, in bytes (RFC 5321's limit on a path).
pub const MAX_CONTACT_BYTES: usize = 254;

/// An alert to claim, then send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alert {
    /// The balance went below `threshold`.
    LowCredit { threshold: u64 },
    /// An email was refused with 104 on `day` (YYYY-MM-DD, UTC).
    InsufficientCredits { day: String },
}

/// The UTC day of an instant as the account's `insufficient_credit_alerted_on` keeps it.
pub fn alert_day(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// What an account says of its credit alerts, read with it just before its debit: enough to
/// decide, without another read, whether the debit or the refusal calls for an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditAlerts {
    pub login: String,
    pub contact: Option<String>,
    pub low_credit: Option<u64>,
    pub low_credit_alerted: bool,
    pub insufficient_credit_alerted_on: Option<String>,
    /// The balance before the debit.
    pub credits: u64,
    /// The account's time zone, for the times an alert gives.
    pub zone: Tz,
}

impl CreditAlerts {
    pub fn of(account: &Account, zone: Tz) -> CreditAlerts {
        CreditAlerts {
            login: account.login.clone(),
            contact: account.contact.clone(),
            low_credit: account.low_credit,
            low_credit_alerted: account.low_credit_alerted,
            insufficient_credit_alerted_on: account.insufficient_credit_alerted_on.clone(),
            credits: account.credits,
            zone,
        }
    }

    /// The low-credit alert a debit of `cost` calls for: the account has a contact and a
    /// threshold, was not told yet, and the balance after the debit is below the threshold.
    ///
    /// The balance after is the balance read before minus `cost`: the debit is a transaction
    /// that returns nothing. Another email debited between the read and this debit makes the
    /// real balance lower: the alert may then be missed by this debit (its own figure still at
    /// or above the threshold) and comes with the next one; when it is due, the claim reads the
    /// real balance, and that is the one told.
    pub fn after_debit(&self, cost: u64) -> Option<Alert> {
        let threshold = self.low_credit?;
        self.contact.as_ref()?;
        let after = self.credits.saturating_sub(cost);
        (!self.low_credit_alerted && after < threshold).then_some(Alert::LowCredit { threshold })
    }

    /// The alert a refusal for want of credits (104) at `now` calls for: the account has a
    /// contact and was not told of a 104 on that UTC day.
    pub fn after_refusal(&self, now: DateTime<Utc>) -> Option<Alert> {
        self.contact.as_ref()?;
        let day = alert_day(now);
        (self.insufficient_credit_alerted_on.as_deref() != Some(day.as_str()))
            .then_some(Alert::InsufficientCredits { day })
    }
}

/// Reads a contact address as the operator typed it: one plain addr-spec, `local@domain`
/// (surrounding spaces ignored), at most [`MAX_CONTACT_BYTES`] bytes; the local part printable
/// ASCII without spaces, quotes, brackets, `,`, `;`, `:` or `\` (no quoted local parts), 1 to 64
/// bytes, not starting or ending with a dot nor holding two in a row; the domain at least two
/// labels of letters, digits and `-` (1 to 63 each, not starting or ending with `-`), the last
/// not all digits. `None` for anything else: a display name, several addresses, a control
/// character, an IP literal.
pub fn parse_contact(typed: &str) -> Option<String> {
    let address = typed.trim();
    if address.is_empty() || address.len() > MAX_CONTACT_BYTES {
        return None;
    }
    let (local, domain) = address.rsplit_once('@')?;
    let local_ok = (1..=64).contains(&local.len())
        && local.bytes().all(|b| b.is_ascii_graphic() && !b"\"(),:;<>@[\\]".contains(&b))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |label: &&str| {
        (1..=63).contains(&label.len())
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let domain_ok = labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels.last().is_some_and(|top| !top.bytes().all(|b| b.is_ascii_digit()));
    (local_ok && domain_ok).then(|| address.to_owned())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use chrono_tz::Europe::Paris;

    use super::*;
    use crate::domain::request::ApiKey;

    fn alerts(credits: u64, low_credit: Option<u64>, contact: Option<&str>) -> CreditAlerts {
        let mut account = Account::new("shop", &ApiKey::new("k"), credits, Utc::now()).unwrap();
        account.low_credit = low_credit;
        account.contact = contact.map(str::to_owned);
        CreditAlerts::of(&account, Paris)
    }

    #[test]
    fn a_debit_that_leaves_the_balance_below_the_threshold_calls_for_an_alert() {
        let shop = alerts(12, Some(10), Some("ops@shop.example"));
        assert_eq!(shop.after_debit(2), None, "10 left: not below 10");
        assert_eq!(shop.after_debit(3), Some(Alert::LowCredit { threshold: 10 }), "9 left");
        assert_eq!(shop.after_debit(12), Some(Alert::LowCredit { threshold: 10 }), "none left");
        let already_below = alerts(4, Some(10), Some("ops@shop.example"));
        assert_eq!(
            already_below.after_debit(1),
            Some(Alert::LowCredit { threshold: 10 }),
            "below before the debit and not yet told (a threshold set late): told now"
        );
    }

    #[test]
    fn no_low_credit_alert_without_a_threshold_or_a_contact_or_when_told_already() {
        assert_eq!(alerts(12, None, Some("ops@shop.example")).after_debit(5), None);
        assert_eq!(alerts(12, Some(10), None).after_debit(5), None);
        let mut told = alerts(12, Some(10), Some("ops@shop.example"));
        told.low_credit_alerted = true;
        assert_eq!(told.after_debit(5), None);
    }

    #[test]
    fn a_refusal_is_told_once_a_utc_day_with_a_contact_whatever_the_threshold() {
        let at = |day, hour| Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap();
        let mut shop = alerts(0, None, Some("ops@shop.example"));
        assert_eq!(shop.after_refusal(at(25, 23)), Some(Alert::InsufficientCredits { day: "2026-11-25".into() }));
        shop.insufficient_credit_alerted_on = Some("2026-11-25".into());
        assert_eq!(shop.after_refusal(at(25, 8)), None);
        assert_eq!(shop.after_refusal(at(26, 0)), Some(Alert::InsufficientCredits { day: "2026-11-26".into() }));
        assert_eq!(alerts(0, Some(10), None).after_refusal(at(25, 8)), None, "no contact, nobody to tell");
    }

    #[test]
    fn contacts_are_plain_addresses() {
        for (typed, read) in [
            ("ops@shop.example", "ops@shop.example"),
            ("  Ops.Team+sms@Shop-2.example.fr ", "Ops.Team+sms@Shop-2.example.fr"),
            ("o'brien@shop.example", "o'brien@shop.example"),
        ] {
            assert_eq!(parse_contact(typed).as_deref(), Some(read), "{typed:?}");
        }
        let long_local = format!("{}@shop.example", "a".repeat(65));
        let long = format!("ops@{}.example", vec!["a".repeat(63); 4].join("."));
        for typed in [
            "",
            "ops",
            "@shop.example",
            "ops@",
            "ops@shop",
            "ops@shop.",
            "ops@.example",
            "ops@-shop.example",
            "ops@shop..example",
            "ops@127.0.0.1",
            "ops@[127.0.0.1]",
            "ops shop@shop.example",
            "Ops <ops@shop.example>",
            "ops@shop.example, other@shop.example",
            "ops@shop.example\r\nBcc: x@y.example",
            "\"o p\"@shop.example",
            ".ops@shop.example",
            "o..ps@shop.example",
            "opé@shop.example",
            "ops@shöp.example",
            &long_local,
            &long,
        ] {
            assert_eq!(parse_contact(typed), None, "{typed:?}");
        }
    }
}
