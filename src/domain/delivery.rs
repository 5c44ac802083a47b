//! What the providers say of an SMS after they took it, read into the gateway's own words.
//!
//! A recipient's story has two authors. The invocation that sends writes `delivery`: pending,
//! sending, then sent, failed (refused) or unknown (in doubt). The provider writes a
//! [`DeliveryReport`] later, from its delivery events: taken, delivered, failed, expired, or
//! unconfirmed (the carrier never said). Each is stored in its own place, so that neither can
//! overwrite the other, and a recipient's [`fate`](super::message::RecipientRecord::fate) is
//! the furthest of the two. A fate only moves forward: once final, nothing changes it.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::message::{Delivery, MAX_ERROR_BYTES, truncated};
use super::recipient::mask_numbers_in;

/// How long after sending a message's open recipients are given up on: the providers report
/// within 72 hours, or never (End User Messaging then reports `UNKNOWN` itself).
pub const SETTLE_AFTER: Duration = Duration::hours(72);

impl Delivery {
    /// How far along its story a recipient is. A report moves a recipient only to a higher rank.
    pub fn rank(self) -> u8 {
        match self {
            Delivery::Pending => 0,
            Delivery::Sending => 1,
            Delivery::Unknown => 2,
            Delivery::Sent => 3,
            Delivery::Delivered | Delivery::Failed | Delivery::Expired | Delivery::Unconfirmed => 4,
            // Never sent: final from the start, no provider's word moves it.
            Delivery::OptedOut => 4,
        }
    }

    /// Nothing more will happen to a recipient in this state.
    pub fn is_final(self) -> bool {
        self.rank() == 4
    }

    /// Whether the SMS reached the provider (and is paid for, unless refunded).
    pub fn was_taken(self) -> bool {
        matches!(self, Delivery::Sent | Delivery::Delivered | Delivery::Unconfirmed)
    }
}

/// A provider's word on one SMS, as stored in its recipient's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryReport {
    /// `Sent` (taken, not yet final), `Delivered`, `Failed`, `Expired` or `Unconfirmed`.
    pub delivery: Delivery,
    /// When the provider said so.
    #[serde(with = "super::message::sortable_time")]
    pub at: DateTime<Utc>,
    /// The provider's or carrier's words, numbers masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What the provider charged, in US dollars, as it wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    /// The recipient's parts were given back to the account because of this report.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refunded: bool,
}

/// A delivery event, read: which fate it tells and whether that fate is a definitive failure
/// (one that refunds, when the deployment refunds failures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderWord {
    pub delivery: Delivery,
    pub definitive_failure: bool,
    /// The provider says the number opted out: it goes on the gateway's opt-out list.
    pub opted_out: bool,
}

/// End User Messaging's statuses (the `messageStatus` of its events, `eventType` without its
/// `TEXT_` prefix) that say the SMS will never arrive because of the number, the carrier or the
/// content: the customer gets its credits back.
const EUM_DEFINITIVE_FAILURES: [&str; 10] = [
    "INVALID",
    "INVALID_MESSAGE",
    "UNREACHABLE",
    "CARRIER_UNREACHABLE",
    "BLOCKED",
    "CARRIER_BLOCKED",
    "SPAM",
    "OPTED_OUT",
    "PROTECT_BLOCKED",
    "TTL_EXPIRED",
];

/// Reads an End User Messaging status. `is_final` is the event's own flag: a failure the
/// provider still retries is not one yet.
pub fn from_end_user_messaging(status: &str, is_final: bool) -> ProviderWord {
    let status = status.trim().trim_start_matches("TEXT_").to_ascii_uppercase();
    let opted_out = is_final && status == "OPTED_OUT";
    let word = |delivery, definitive_failure| ProviderWord { delivery, definitive_failure, opted_out };
    match status.as_str() {
        "QUEUED" | "PENDING" => word(Delivery::Sent, false),
        "SUCCESSFUL" | "DELIVERED" if is_final => word(Delivery::Delivered, false),
        "SUCCESSFUL" | "DELIVERED" => word(Delivery::Sent, false),
        _ if !is_final => word(Delivery::Sent, false),
        "TTL_EXPIRED" => word(Delivery::Expired, true),
        "UNKNOWN" => word(Delivery::Unconfirmed, false),
        failure if EUM_DEFINITIVE_FAILURES.contains(&failure) => word(Delivery::Failed, true),
        // A final status this gateway does not know: it did not arrive, and nobody says why.
        _ => word(Delivery::Failed, false),
    }
}

/// Words of SNS's `providerResponse` (lowercase) that make a failure definitive.
const SNS_DEFINITIVE_FAILURES: [&str; 9] =
    ["invalid", "unreachable", "unavailable", "blocked", "opted out", "spam", "filtered", "expired", "ttl"];

/// Reads an SNS delivery log line: `status` is `SUCCESS` or `FAILURE`, `provider_response`
/// the carrier's words.
pub fn from_sns(status: &str, provider_response: &str) -> ProviderWord {
    if status.eq_ignore_ascii_case("SUCCESS") {
        return ProviderWord { delivery: Delivery::Delivered, definitive_failure: false, opted_out: false };
    }
    let response = provider_response.to_ascii_lowercase();
    let expired = response.contains("expired") || response.contains("ttl");
    let definitive = SNS_DEFINITIVE_FAILURES.iter().any(|word| response.contains(word));
    ProviderWord {
        delivery: if expired { Delivery::Expired } else { Delivery::Failed },
        definitive_failure: definitive,
        opted_out: response.contains("opted out"),
    }
}

impl DeliveryReport {
    pub fn new(word: &ProviderWord, at: DateTime<Utc>, reason: Option<&str>, price: Option<String>) -> DeliveryReport {
        DeliveryReport {
            delivery: word.delivery,
            at,
            reason: reason
                .map(str::trim)
                .filter(|reason| !reason.is_empty())
                .map(|reason| truncated(&mask_numbers_in(reason), MAX_ERROR_BYTES)),
            price: price.filter(|price| is_price(price)),
            refunded: false,
        }
    }
}

/// A price as providers write it: a short decimal number, nothing else.
fn is_price(text: &str) -> bool {
    !text.is_empty() && text.len() <= 16 && text.parse::<f64>().is_ok_and(|price| price.is_finite() && price >= 0.0)
}

/// What a report does to a recipient whose sender-side delivery is `delivery` and whose stored
/// report is `stored`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Late, repeated or backwards: nothing changes.
    Nothing,
    /// The report is recorded; `refund` says whether its parts go back to the account.
    Record { refund: bool },
}

/// Decides what a report changes. `refund_failures` is the deployment's refund policy.
pub fn change(
    delivery: Delivery,
    stored: Option<&DeliveryReport>,
    word: &ProviderWord,
    refund_failures: bool,
) -> Change {
    let fate = stored
        .map_or(delivery, |report| if report.delivery.rank() > delivery.rank() { report.delivery } else { delivery });
    if fate.is_final() || word.delivery.rank() <= fate.rank() {
        return Change::Nothing;
    }
    // Parts are refunded once: never for a recipient the sender already refunded (a refusal) or
    // the operator settled.
    let refund = refund_failures && word.definitive_failure && delivery != Delivery::Failed;
    Change::Record { refund }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0).unwrap()
    }

    fn report(delivery: Delivery) -> DeliveryReport {
        DeliveryReport { delivery, at: at(), reason: None, price: None, refunded: false }
    }

    /// A provider's word that says nothing of an opt-out.
    fn word(delivery: Delivery, definitive_failure: bool) -> ProviderWord {
        ProviderWord { delivery, definitive_failure, opted_out: false }
    }

    #[test]
    fn end_user_messaging_statuses_read_as_fates() {
        let read = |status, is_final| from_end_user_messaging(status, is_final);
        assert_eq!(read("QUEUED", false).delivery, Delivery::Sent);
        assert_eq!(read("TEXT_PENDING", false).delivery, Delivery::Sent);
        assert_eq!(read("SUCCESSFUL", true).delivery, Delivery::Delivered);
        assert_eq!(read("DELIVERED", true).delivery, Delivery::Delivered);
        assert_eq!(read("TTL_EXPIRED", true), word(Delivery::Expired, true));
        assert_eq!(read("UNKNOWN", true), word(Delivery::Unconfirmed, false));
        for failure in EUM_DEFINITIVE_FAILURES.iter().filter(|s| !["TTL_EXPIRED", "OPTED_OUT"].contains(*s)) {
            assert_eq!(read(failure, true), word(Delivery::Failed, true));
        }
        let opted_out = ProviderWord { delivery: Delivery::Failed, definitive_failure: true, opted_out: true };
        assert_eq!(read("TEXT_OPTED_OUT", true), opted_out);
        assert_eq!(read("OPTED_OUT", true), opted_out);
        assert!(!read("OPTED_OUT", false).opted_out, "not final: the provider still works on it");
        // A failure the provider still works on is not one yet; an unheard-of final status is
        // a failure that refunds nothing.
        assert_eq!(read("CARRIER_UNREACHABLE", false).delivery, Delivery::Sent);
        assert_eq!(read("SOMETHING_NEW", true), word(Delivery::Failed, false));
    }

    #[test]
    fn sns_log_lines_read_as_fates() {
        assert_eq!(from_sns("SUCCESS", "Message has been accepted by phone carrier").delivery, Delivery::Delivered);
        let invalid = from_sns("FAILURE", "Invalid phone number");
        assert_eq!(invalid, word(Delivery::Failed, true));
        assert!(from_sns("FAILURE", "Phone carrier has blocked this message").definitive_failure);
        assert!(from_sns("FAILURE", "Phone is currently unreachable/unavailable").definitive_failure);
        let opted_out = from_sns("FAILURE", "Phone number is opted out");
        assert!(opted_out.definitive_failure && opted_out.opted_out);
        assert!(!invalid.opted_out && !from_sns("SUCCESS", "").opted_out);
        assert_eq!(from_sns("FAILURE", "Message expired (TTL)").delivery, Delivery::Expired);
        let unknown = from_sns("FAILURE", "Unknown error attempting to reach phone");
        assert_eq!(unknown, word(Delivery::Failed, false));
    }

    #[test]
    fn fates_only_move_forward() {
        let delivered = from_end_user_messaging("DELIVERED", true);
        let queued = from_end_user_messaging("QUEUED", false);
        let failed = from_end_user_messaging("INVALID", true);
        // Sent, then delivered: recorded. Delivered again, or queued late: nothing.
        assert_eq!(change(Delivery::Sent, None, &delivered, true), Change::Record { refund: false });
        assert_eq!(change(Delivery::Sent, Some(&report(Delivery::Delivered)), &delivered, true), Change::Nothing);
        assert_eq!(change(Delivery::Sent, Some(&report(Delivery::Delivered)), &queued, true), Change::Nothing);
        assert_eq!(change(Delivery::Sent, Some(&report(Delivery::Delivered)), &failed, true), Change::Nothing);
        // A first "queued" for a sent recipient tells nothing new; for one in doubt it settles
        // the doubt: it was taken.
        assert_eq!(change(Delivery::Sent, None, &queued, true), Change::Nothing);
        assert_eq!(change(Delivery::Unknown, None, &queued, true), Change::Record { refund: false });
        assert_eq!(change(Delivery::Sending, None, &queued, true), Change::Record { refund: false });
        assert_eq!(change(Delivery::Unknown, Some(&report(Delivery::Sent)), &queued, true), Change::Nothing);
    }

    #[test]
    fn no_event_moves_an_opted_out_recipient() {
        for word in [from_end_user_messaging("DELIVERED", true), from_end_user_messaging("INVALID", true)] {
            assert_eq!(change(Delivery::OptedOut, None, &word, true), Change::Nothing, "{word:?}");
        }
    }

    #[test]
    fn a_definitive_failure_refunds_once_and_only_under_the_policy() {
        let failed = from_end_user_messaging("INVALID", true);
        assert_eq!(change(Delivery::Sent, None, &failed, true), Change::Record { refund: true });
        assert_eq!(change(Delivery::Sent, None, &failed, false), Change::Record { refund: false });
        assert_eq!(
            change(Delivery::Unknown, Some(&report(Delivery::Sent)), &failed, true),
            Change::Record { refund: true }
        );
        // Already refunded by the sender, or already failed by a report: nothing more.
        assert_eq!(change(Delivery::Failed, None, &failed, true), Change::Nothing);
        assert_eq!(change(Delivery::Sent, Some(&report(Delivery::Failed)), &failed, true), Change::Nothing);
        // A failure nobody explains is recorded, not refunded.
        let vague = from_sns("FAILURE", "Unknown error attempting to reach phone");
        assert_eq!(change(Delivery::Sent, None, &vague, true), Change::Record { refund: false });
    }

    #[test]
    fn a_report_keeps_short_masked_reasons_and_plausible_prices() {
        let word = from_sns("FAILURE", "Invalid phone number");
        let long = format!("Invalid phone number +33612345678 {}", "x".repeat(500));
        let report = DeliveryReport::new(&word, at(), Some(&long), Some("0.00645".into()));
        let reason = report.reason.unwrap();
        assert!(reason.len() <= MAX_ERROR_BYTES && !reason.contains("12345678"), "{reason}");
        assert_eq!(report.price.as_deref(), Some("0.00645"));
        assert_eq!(DeliveryReport::new(&word, at(), Some("  "), Some("NaN".into())).reason, None);
        assert_eq!(DeliveryReport::new(&word, at(), None, Some("-1".into())).price, None);
    }

    #[test]
    fn ranks_order_the_story() {
        use Delivery::*;
        assert!(Pending.rank() < Sending.rank() && Sending.rank() < Unknown.rank() && Unknown.rank() < Sent.rank());
        for last in [Delivered, Failed, Expired, Unconfirmed] {
            assert!(last.is_final() && last.rank() > Sent.rank());
        }
        assert!([Sent, Delivered, Unconfirmed].iter().all(|d| d.was_taken()));
        assert!(![Pending, Sending, Unknown, Failed, Expired, OptedOut].iter().any(|d| d.was_taken()));
        assert!(OptedOut.is_final(), "never sent: nothing more will happen to it");
    }
}
