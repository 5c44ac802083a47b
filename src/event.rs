//! The events that invoke the function, told apart and reduced to what the pipeline needs.

use aws_lambda_events::event::s3::S3Event;
use aws_lambda_events::event::ses::{SimpleEmailEvent, SimpleEmailReceipt};
use percent_encoding::percent_decode_str;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::mail::{Verdict, Verdicts};

/// What the function was invoked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// Emails SES received (through the receipt rule's Lambda action, or the S3 notification).
    Inbound(Vec<InboundEmail>),
    /// A schedule created for a message whose date has come.
    ScheduledSend(ScheduledSendEvent),
}

/// An email to process: its SES message id, where its raw content is, and SES's verdicts when
/// the event carries them.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundEmail {
    pub message_id: String,
    pub key: String,
    pub verdicts: Verdicts,
}

/// The schedule's input: the message id, never the text or the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledSendEvent {
    pub scheduled_send: String,
}

impl ScheduledSendEvent {
    pub fn for_message(message_id: &str) -> ScheduledSendEvent {
        ScheduledSendEvent { scheduled_send: message_id.to_owned() }
    }

    /// The event as the scheduler hands it to the function (what [`decode`] reads back).
    pub fn to_input(&self) -> String {
        serde_json::to_string(self).expect("a struct of one string serialises")
    }
}

#[derive(Debug, Error, PartialEq)]
pub enum EventError {
    #[error("unrecognised event: neither an SES receipt, an S3 notification nor a scheduled send")]
    Unrecognised,
    #[error("malformed {kind} event: {reason}")]
    Malformed { kind: &'static str, reason: String },
    #[error("S3 notification for bucket {0:?}, not the inbound bucket")]
    ForeignBucket(String),
    #[error("S3 notification for key {0:?}, outside the inbound prefix")]
    ForeignKey(String),
}

/// Tells the event apart. `bucket` and `prefix` say where SES stores the raw emails.
pub fn decode(event: Value, bucket: &str, prefix: &str) -> Result<Trigger, EventError> {
    if event.get("scheduled_send").is_some() {
        let send = serde_json::from_value(event)
            .map_err(|e| EventError::Malformed { kind: "scheduled send", reason: e.to_string() })?;
        return Ok(Trigger::ScheduledSend(send));
    }
    let first = event.get("Records").and_then(Value::as_array).and_then(|records| records.first());
    match first {
        Some(record) if record.get("ses").is_some() => decode_ses(event, prefix),
        Some(record) if record.get("s3").is_some() => decode_s3(event, bucket, prefix),
        _ => Err(EventError::Unrecognised),
    }
}

fn decode_ses(event: Value, prefix: &str) -> Result<Trigger, EventError> {
    let event: SimpleEmailEvent =
        serde_json::from_value(event).map_err(|e| EventError::Malformed { kind: "SES", reason: e.to_string() })?;
    event
        .records
        .into_iter()
        .map(|record| {
            let message_id = record
                .ses
                .mail
                .message_id
                .filter(|id| is_message_id(id))
                .ok_or_else(|| EventError::Malformed { kind: "SES", reason: "no usable messageId".into() })?;
            Ok(InboundEmail {
                key: format!("{prefix}{message_id}"),
                message_id,
                verdicts: receipt_verdicts(&record.ses.receipt),
            })
        })
        .collect::<Result<_, _>>()
        .map(Trigger::Inbound)
}

fn receipt_verdicts(receipt: &SimpleEmailReceipt) -> Verdicts {
    let verdict = |v: &aws_lambda_events::event::ses::SimpleEmailVerdict| -> Option<Verdict> {
        v.status.as_deref().and_then(Verdict::from_ses)
    };
    Verdicts {
        spam: verdict(&receipt.spam_verdict),
        virus: verdict(&receipt.virus_verdict),
        spf: verdict(&receipt.spf_verdict),
        dkim: verdict(&receipt.dkim_verdict),
        dmarc: verdict(&receipt.dmarc_verdict),
    }
}

fn decode_s3(event: Value, bucket: &str, prefix: &str) -> Result<Trigger, EventError> {
    let event: S3Event =
        serde_json::from_value(event).map_err(|e| EventError::Malformed { kind: "S3", reason: e.to_string() })?;
    event
        .records
        .into_iter()
        .map(|record| {
            let event_bucket = record.s3.bucket.name.unwrap_or_default();
            if event_bucket != bucket {
                return Err(EventError::ForeignBucket(event_bucket));
            }
            let raw_key = record
                .s3
                .object
                .key
                .ok_or_else(|| EventError::Malformed { kind: "S3", reason: "no object key".into() })?;
            // S3 notifications encode keys as form values: '+' is a space.
            let key = percent_decode_str(&raw_key.replace('+', " ")).decode_utf8_lossy().into_owned();
            if !key.starts_with(prefix) {
                return Err(EventError::ForeignKey(key));
            }
            let message_id = key.rsplit('/').next().unwrap_or_default().to_owned();
            if !is_message_id(&message_id) {
                return Err(EventError::Malformed { kind: "S3", reason: format!("no message id in key {key:?}") });
            }
            Ok(InboundEmail { message_id, key, verdicts: Verdicts::default() })
        })
        .collect::<Result<_, _>>()
        .map(Trigger::Inbound)
}

/// SES message ids are short runs of letters, digits and dashes; anything else is not one
/// (and must not become part of a key or a schedule name).
fn is_message_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ses_event(message_id: &str) -> Value {
        let mut event: Value = serde_json::from_str(include_str!("../events/ses-event.json")).unwrap();
        event["Records"][0]["ses"]["mail"]["messageId"] = json!(message_id);
        event
    }

    fn s3_event(bucket: &str, key: &str) -> Value {
        let mut event: Value = serde_json::from_str(include_str!("../events/s3-event.json")).unwrap();
        event["Records"][0]["s3"]["bucket"]["name"] = json!(bucket);
        event["Records"][0]["s3"]["object"]["key"] = json!(key);
        event
    }

    #[test]
    fn ses_receipt_points_at_the_stored_email_with_its_verdicts() {
        let Trigger::Inbound(emails) = decode(ses_event("abc123"), "inbox", "inbound/").unwrap() else {
            panic!("not inbound")
        };
        assert_eq!(emails.len(), 1);
        assert_eq!(emails[0].message_id, "abc123");
        assert_eq!(emails[0].key, "inbound/abc123");
        assert_eq!(emails[0].verdicts.spf, Some(Verdict::Pass));
        assert_eq!(emails[0].verdicts.virus, Some(Verdict::Pass));
    }

    #[test]
    fn s3_notification_keys_are_url_decoded_and_the_id_is_the_last_segment() {
        let Trigger::Inbound(emails) =
            decode(s3_event("inbox", "inbound/sub%2Fdir/abc%2D1"), "inbox", "inbound/").unwrap()
        else {
            panic!("not inbound")
        };
        assert_eq!(emails[0].key, "inbound/sub/dir/abc-1");
        assert_eq!(emails[0].message_id, "abc-1");
        assert_eq!(emails[0].verdicts, Verdicts::default());
        // '+' is a space, and a space is no part of an SES message id
        assert!(matches!(
            decode(s3_event("inbox", "inbound/a+b"), "inbox", "inbound/"),
            Err(EventError::Malformed { .. })
        ));
    }

    #[test]
    fn s3_notifications_for_other_buckets_or_prefixes_are_refused() {
        assert_eq!(
            decode(s3_event("elsewhere", "inbound/abc"), "inbox", "inbound/"),
            Err(EventError::ForeignBucket("elsewhere".into()))
        );
        assert_eq!(
            decode(s3_event("inbox", "outbound/abc"), "inbox", "inbound/"),
            Err(EventError::ForeignKey("outbound/abc".into()))
        );
    }

    #[test]
    fn a_schedules_input_reads_back_as_the_same_event() {
        let event = ScheduledSendEvent::for_message("abc");
        let input: Value = serde_json::from_str(&event.to_input()).unwrap();
        assert_eq!(decode(input, "inbox", "inbound/"), Ok(Trigger::ScheduledSend(event)));
    }

    #[test]
    fn scheduled_sends_carry_only_the_message_id() {
        assert_eq!(
            decode(json!({"scheduled_send": "abc"}), "inbox", "inbound/"),
            Ok(Trigger::ScheduledSend(ScheduledSendEvent { scheduled_send: "abc".into() }))
        );
    }

    #[test]
    fn anything_else_is_refused_not_a_panic() {
        for event in [json!({}), json!(null), json!([1, 2]), json!({"Records": []}), json!({"Records": [{"sns": {}}]})]
        {
            assert_eq!(decode(event, "inbox", "inbound/"), Err(EventError::Unrecognised));
        }
        assert!(matches!(
            decode(json!({"Records": [{"ses": {"mail": 3}}]}), "inbox", "inbound/"),
            Err(EventError::Malformed { .. })
        ));
        assert!(matches!(decode(ses_event("../../etc"), "inbox", "inbound/"), Err(EventError::Malformed { .. })));
    }
}
