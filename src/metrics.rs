//! The function's metrics, written as CloudWatch Embedded Metric Format lines: the function
//! prints them on stdout after each invocation, and CloudWatch Logs turns them into metrics.
//!
//! | Metric              | Unit         | Dimension  | One value per…                                 |
//! |---------------------|--------------|------------|------------------------------------------------|
//! | `Emails`            | Count        | `Outcome`  | email, by what became of it                    |
//! | `Rejections`        | Count        | `Status`   | refused email, by status code (`"104"`)        |
//! | `Sms`               | Count        | `Delivery` | SMS reaching its final fate                    |
//! | `CreditsDebited`    | Count        |            | credits debited for a sending or a schedule    |
//! | `CreditsRefunded`   | Count        |            | credits given back                             |
//! | `AcceptanceLatency` | Milliseconds |            | SES's receipt to the provider's acceptance     |
//! | `InboundSms`        | Count        | `Kind`     | SMS a mobile sent to our number (two-way)      |
//!
//! `Outcome` is `sent`, `partially_failed`, `failed`, `scheduled`, `rejected`, `dropped` or
//! `duplicate`; `Delivery` is `delivered`, `failed`, `expired`, `unconfirmed` or `unknown`;
//! `Kind` is `answer`, `stop`, `start` (an answer to a message of ours, by its keyword) or
//! `unmatched` (one that answers none: dropped); a repeated delivery is not counted again.
//! Dimensions only take values from these short fixed lists: a line never holds a message id,
//! a login, a number or a text. Counts of zero are not written.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::domain::answer::Keyword;
use crate::domain::message::{Delivery, MessageState};
use crate::pipeline::Outcome;

/// What a metric is measured in, as CloudWatch spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// One value of one metric, under at most one dimension (its name, its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: Unit,
    pub dimension: Option<(&'static str, String)>,
    pub value: u64,
}

impl Metric {
    fn count(name: &'static str, dimension: Option<(&'static str, &str)>, value: u64) -> Metric {
        Metric { name, unit: Unit::Count, dimension: dimension.map(|(key, value)| (key, value.to_owned())), value }
    }
}

fn email(outcome: &str) -> Metric {
    Metric::count("Emails", Some(("Outcome", outcome)), 1)
}

fn sms(delivery: &str, count: usize) -> Metric {
    Metric::count("Sms", Some(("Delivery", delivery)), count as u64)
}

fn inbound_sms(kind: &str) -> Metric {
    Metric::count("InboundSms", Some(("Kind", kind)), 1)
}

fn debited(credits: u64) -> Metric {
    Metric::count("CreditsDebited", None, credits)
}

fn refunded(credits: u64) -> Metric {
    Metric::count("CreditsRefunded", None, credits)
}

/// How a sent email's state is told in `Emails`: only the states a sending ends in.
fn sent_outcome(state: MessageState) -> Option<&'static str> {
    match state {
        MessageState::Sent => Some("sent"),
        MessageState::PartiallyFailed => Some("partially_failed"),
        MessageState::Failed => Some("failed"),
        _ => None,
    }
}

/// How a final fate is told in `Sms`; `None` for a fate that is not final.
fn final_delivery(delivery: Delivery) -> Option<&'static str> {
    match delivery {
        Delivery::Delivered => Some("delivered"),
        Delivery::Failed => Some("failed"),
        Delivery::Expired => Some("expired"),
        Delivery::Unconfirmed => Some("unconfirmed"),
        Delivery::Pending | Delivery::Sending | Delivery::Sent | Delivery::Unknown => None,
        // Never an SMS: left out before the debit.
        Delivery::OptedOut => None,
    }
}

/// The metrics one outcome gives, counts of zero left out.
pub fn metrics(outcome: &Outcome) -> Vec<Metric> {
    let mut metrics = Vec::new();
    match outcome {
        // Counted once: the email and its debit by the invocation that opened it (a scheduled
        // message was counted when scheduled), refusals and refunds by the one that made them.
        Outcome::Sent { state, cost, latency_ms, fresh, refused_now, refunded_now, .. } => {
            if *fresh {
                metrics.extend(sent_outcome(*state).map(email));
                metrics.push(debited(*cost));
            }
            metrics.push(sms("failed", *refused_now));
            metrics.push(refunded(*refunded_now));
            // A latency is a measure, not a count: even 0 ms is one.
            metrics.extend(latency_ms.map(|ms| Metric {
                name: "AcceptanceLatency",
                unit: Unit::Milliseconds,
                dimension: None,
                value: ms,
            }));
        }
        Outcome::Scheduled { cost, .. } => {
            metrics.push(email("scheduled"));
            metrics.push(debited(*cost));
        }
        Outcome::Rejected { status, .. } => {
            metrics.push(email("rejected"));
            metrics.push(Metric::count("Rejections", Some(("Status", &status.code().to_string())), 1));
        }
        Outcome::Dropped { .. } => metrics.push(email("dropped")),
        Outcome::Duplicate { .. } => metrics.push(email("duplicate")),
        Outcome::Reported { delivery, changed, refunded: back, .. } => {
            if *changed && let Some(delivery) = final_delivery(*delivery) {
                metrics.push(sms(delivery, 1));
            }
            metrics.push(refunded(*back));
        }
        Outcome::InDoubtSettled { refunded: back, .. } => metrics.push(refunded(*back)),
        Outcome::Closed { unknown, .. } => metrics.push(sms("unknown", *unknown)),
        Outcome::InParts { cost, fresh, .. } => {
            if *fresh {
                metrics.push(email("in_parts"));
                metrics.push(debited(*cost));
            }
        }
        // A part handed back to the queue: a count worth watching (its retries end in the
        // dead-letter queue).
        Outcome::Postponed { .. } => metrics.push(Metric::count("PartsPostponed", None, 1)),
        // A dry run: neither sent nor rejected, nothing debited.
        Outcome::Previewed { .. } => metrics.push(email("previewed")),
        Outcome::Answered { keyword, repeated: false, .. } => {
            let kind = match keyword {
                None => "answer",
                Some(Keyword::Stop) => "stop",
                Some(Keyword::Start) => "start",
            };
            metrics.push(inbound_sms(kind));
        }
        Outcome::AnswerUnmatched => metrics.push(inbound_sms("unmatched")),
        Outcome::NothingDue { .. } | Outcome::Unmatched { .. } | Outcome::Answered { repeated: true, .. } => {}
    }
    metrics.retain(|metric| metric.value > 0 || metric.unit != Unit::Count);
    metrics
}

/// One metric as an Embedded Metric Format line of `namespace`, stamped `at`.
pub fn emf_line(namespace: &str, metric: &Metric, at: DateTime<Utc>) -> String {
    let dimensions: Vec<&str> = metric.dimension.iter().map(|(key, _)| *key).collect();
    let mut line = json!({
        "_aws": {
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [dimensions],
                "Metrics": [{ "Name": metric.name, "Unit": metric.unit.as_str() }],
            }],
        },
    });
    if let Some((key, value)) = &metric.dimension {
        line[*key] = Value::from(value.as_str());
    }
    line[metric.name] = Value::from(metric.value);
    line.to_string()
}

/// The lines of every outcome of an invocation, stamped `at`.
pub fn emf_lines(namespace: &str, outcomes: &[Outcome], at: DateTime<Utc>) -> Vec<String> {
    outcomes.iter().flat_map(metrics).map(|metric| emf_line(namespace, &metric, at)).collect()
}

/// Prints the lines of an invocation's outcomes on stdout, one line each, stamped now.
pub fn print(namespace: &str, outcomes: &[Outcome]) {
    for line in emf_lines(namespace, outcomes, Utc::now()) {
        println!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::StatusCode;
    use crate::domain::message::{Discard, ReplyOutcome};
    use chrono::TimeZone;

    const ID: &str = "0100018f-message-id";

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0).unwrap()
    }

    /// The outcome's lines, read back as JSON.
    fn lines(outcome: Outcome) -> Vec<Value> {
        emf_lines("Mail2SMS", &[outcome], at()).iter().map(|line| serde_json::from_str(line).unwrap()).collect()
    }

    /// Each line as (metric, dimension value, value), checking on the way that the line is a
    /// well-formed EMF document of that one metric.
    fn read(lines: &[Value]) -> Vec<(String, Option<String>, u64)> {
        lines
            .iter()
            .map(|line| {
                let directive = &line["_aws"]["CloudWatchMetrics"][0];
                assert_eq!(line["_aws"]["Timestamp"], at().timestamp_millis());
                assert_eq!(directive["Namespace"], "Mail2SMS");
                let name = directive["Metrics"][0]["Name"].as_str().unwrap().to_owned();
                let dimensions = directive["Dimensions"][0].as_array().unwrap();
                assert!(dimensions.len() <= 1, "{line}");
                let dimension = dimensions.first().map(|key| line[key.as_str().unwrap()].as_str().unwrap().to_owned());
                let value = line[&name].as_u64().unwrap();
                let members = 2 + dimensions.len();
                assert_eq!(line.as_object().unwrap().len(), members, "nothing else in the line: {line}");
                (name, dimension, value)
            })
            .collect()
    }

    fn expect(outcome: Outcome, expected: &[(&str, Option<&str>, u64)]) {
        let lines = lines(outcome);
        let expected: Vec<(String, Option<String>, u64)> = expected
            .iter()
            .map(|(name, dimension, value)| (name.to_string(), dimension.map(str::to_owned), *value))
            .collect();
        assert_eq!(read(&lines), expected);
        for line in &lines {
            assert!(!line.to_string().contains(ID), "no message id in a line: {line}");
        }
    }

    #[test]
    fn a_sent_email_counts_its_outcome_failures_credits_and_latency() {
        let sent = |state, failed, refunded, latency_ms| Outcome::Sent {
            message_id: ID.to_owned(),
            state,
            sent: 3,
            failed,
            unknown: 1,
            cost: 10,
            refunded,
            latency_ms,
            fresh: true,
            refused_now: failed,
            refunded_now: refunded,
        };
        expect(
            sent(MessageState::PartiallyFailed, 1, 2, Some(1234)),
            &[
                ("Emails", Some("partially_failed"), 1),
                ("CreditsDebited", None, 10),
                ("Sms", Some("failed"), 1),
                ("CreditsRefunded", None, 2),
                ("AcceptanceLatency", None, 1234),
            ],
        );
        expect(sent(MessageState::Sent, 0, 0, None), &[("Emails", Some("sent"), 1), ("CreditsDebited", None, 10)]);
        expect(
            sent(MessageState::Failed, 4, 10, Some(0)),
            &[
                ("Emails", Some("failed"), 1),
                ("CreditsDebited", None, 10),
                ("Sms", Some("failed"), 4),
                ("CreditsRefunded", None, 10),
                ("AcceptanceLatency", None, 0),
            ],
        );
        let units: Vec<String> = lines(sent(MessageState::Sent, 0, 0, Some(5)))
            .iter()
            .map(|line| line["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(units, ["Count", "Count", "Milliseconds"]);
    }

    #[test]
    fn a_message_finished_later_counts_only_what_that_invocation_did() {
        // A scheduled message coming due, or a retry: the email and its debit were counted when
        // it was opened; a refusal and its refund now are new.
        let later = Outcome::Sent {
            message_id: ID.to_owned(),
            state: MessageState::PartiallyFailed,
            sent: 2,
            failed: 2,
            unknown: 0,
            cost: 8,
            refunded: 4,
            latency_ms: None,
            fresh: false,
            refused_now: 1,
            refunded_now: 2,
        };
        expect(later, &[("Sms", Some("failed"), 1), ("CreditsRefunded", None, 2)]);
    }

    #[test]
    fn scheduled_rejected_dropped_and_duplicate_emails_count_once_each() {
        let due_at = at() + chrono::Duration::days(1);
        expect(
            Outcome::Scheduled { message_id: ID.to_owned(), due_at, cost: 4 },
            &[("Emails", Some("scheduled"), 1), ("CreditsDebited", None, 4)],
        );
        expect(
            Outcome::Rejected {
                message_id: ID.to_owned(),
                status: StatusCode::InsufficientCredits,
                reply: ReplyOutcome::Sent,
            },
            &[("Emails", Some("rejected"), 1), ("Rejections", Some("104"), 1)],
        );
        expect(
            Outcome::Dropped { message_id: ID.to_owned(), reason: Discard::Spam },
            &[("Emails", Some("dropped"), 1)],
        );
        expect(
            Outcome::Duplicate { message_id: ID.to_owned(), state: MessageState::Sent },
            &[("Emails", Some("duplicate"), 1)],
        );
        expect(Outcome::NothingDue { message_id: ID.to_owned() }, &[]);
        // A dry run, even one whose real send would be refused: no rejection, no debit.
        expect(
            Outcome::Previewed {
                message_id: ID.to_owned(),
                status: Some(StatusCode::InsufficientCredits),
                cost: 4,
                reply: ReplyOutcome::Sent,
            },
            &[("Emails", Some("previewed"), 1)],
        );
    }

    #[test]
    fn a_report_counts_only_a_new_final_fate_and_its_refund() {
        let reported =
            |delivery, changed, refunded| Outcome::Reported { message_id: ID.to_owned(), delivery, changed, refunded };
        expect(reported(Delivery::Delivered, true, 0), &[("Sms", Some("delivered"), 1)]);
        expect(reported(Delivery::Failed, true, 2), &[("Sms", Some("failed"), 1), ("CreditsRefunded", None, 2)]);
        expect(reported(Delivery::Expired, true, 0), &[("Sms", Some("expired"), 1)]);
        expect(reported(Delivery::Unconfirmed, true, 0), &[("Sms", Some("unconfirmed"), 1)]);
        expect(reported(Delivery::Sent, true, 0), &[]);
        expect(reported(Delivery::Delivered, false, 0), &[]);
        expect(Outcome::Unmatched { provider: "sns" }, &[]);
    }

    #[test]
    fn settling_and_closing_count_refunds_and_sms_never_reported() {
        expect(
            Outcome::InDoubtSettled { message_id: ID.to_owned(), resent: 1, refunded: 3 },
            &[("CreditsRefunded", None, 3)],
        );
        expect(Outcome::InDoubtSettled { message_id: ID.to_owned(), resent: 2, refunded: 0 }, &[]);
        expect(
            Outcome::Closed { message_id: ID.to_owned(), unknown: 2, receipt: Some(ReplyOutcome::Sent) },
            &[("Sms", Some("unknown"), 2)],
        );
        expect(Outcome::Closed { message_id: ID.to_owned(), unknown: 0, receipt: None }, &[]);
    }

    #[test]
    fn an_inbound_sms_counts_once_by_its_kind() {
        let answered = |keyword, repeated| Outcome::Answered {
            message_id: ID.to_owned(),
            keyword,
            forwarded: ReplyOutcome::Sent,
            repeated,
        };
        expect(answered(None, false), &[("InboundSms", Some("answer"), 1)]);
        expect(answered(Some(Keyword::Stop), false), &[("InboundSms", Some("stop"), 1)]);
        expect(answered(Some(Keyword::Start), false), &[("InboundSms", Some("start"), 1)]);
        expect(answered(Some(Keyword::Stop), true), &[]);
        expect(Outcome::AnswerUnmatched, &[("InboundSms", Some("unmatched"), 1)]);
    }

    #[test]
    fn lines_are_one_json_document_each_in_the_namespace_given() {
        let outcomes = [
            Outcome::Dropped { message_id: ID.to_owned(), reason: Discard::Virus },
            Outcome::Scheduled { message_id: ID.to_owned(), due_at: at(), cost: 1 },
        ];
        let lines = emf_lines("Shop/Sms", &outcomes, at());
        assert_eq!(lines.len(), 3);
        for line in &lines {
            assert!(!line.contains('\n'), "{line}");
            let value: Value = serde_json::from_str(line).unwrap();
            assert_eq!(value["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Shop/Sms");
            assert_eq!(value["_aws"]["Timestamp"], 1_795_683_600_000_i64);
        }
        let credits: Value = serde_json::from_str(&lines[2]).unwrap();
        assert_eq!(credits["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([[]]), "no dimension");
        assert_eq!(credits["CreditsDebited"], 1);
    }
}
