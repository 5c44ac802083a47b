//! The events that invoke the function, told apart and reduced to what the pipeline needs.

use aws_lambda_events::event::cloudwatch_logs::LogsEvent;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::s3::S3Event;
use aws_lambda_events::event::ses::{SimpleEmailEvent, SimpleEmailReceipt};
use aws_lambda_events::event::sns::SnsEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use chrono::{DateTime, Utc};
use percent_encoding::percent_decode_str;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;
use tracing::warn;

use crate::domain::delivery::{ProviderWord, from_end_user_messaging, from_sns};
use crate::domain::message::{MAX_PROVIDER_ID_BYTES, truncated};
use crate::domain::recipient::mask_number;
use crate::mail::alignment::DmarcPolicy;
use crate::mail::{Verdict, Verdicts};

/// The keys of the context every End User Messaging SMS carries: the email's SES message id and
/// the recipient's position in its record, so that each delivery event finds its recipient.
pub const CONTEXT_MESSAGE_ID: &str = "mail2sms_message_id";
pub const CONTEXT_RECIPIENT: &str = "mail2sms_recipient";

/// End User Messaging's delivery events, as EventBridge hands them over.
const EUM_SOURCE: &str = "aws.sms-voice";
const EUM_DETAIL_TYPE: &str = "Text Message Delivery Status Updated";

/// What the function was invoked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// Emails SES received (through the receipt rule's Lambda action, or the S3 notification).
    Inbound(Vec<InboundEmail>),
    /// A schedule created for a message whose date has come.
    ScheduledSend(ScheduledSendEvent),
    /// The providers' delivery events: End User Messaging through EventBridge, SNS through its
    /// delivery-status logs.
    Reports(Vec<ProviderReport>),
    /// A follow-up the gateway scheduled for one of its messages.
    FollowUp(FollowUp),
    /// Parts of large emails, from the parts queue.
    Parts(Vec<QueuedPart>),
    /// Answers by SMS to our messages (two-way SMS): End User Messaging publishes each SMS its
    /// number receives to the inbound topic, which invokes the function.
    Answers(Vec<InboundSms>),
}

/// One SMS a mobile sent to our number (an SMS-MO), as End User Messaging publishes it.
#[derive(Clone, PartialEq, Eq)]
pub struct InboundSms {
    /// The provider's id of this SMS (`inboundMessageId`): a repeated delivery has the same.
    pub inbound_id: String,
    /// The mobile that sent it (`originationNumber`), as the provider wrote it.
    pub from: String,
    /// Its text (`messageBody`), at most [`MAX_INBOUND_TEXT_BYTES`].
    pub text: String,
    /// The provider's id of the last SMS our number sent to that mobile
    /// (`previousPublishedMessageId`, cut as the records keep provider ids): what it answers.
    pub answers: Option<String>,
    /// When the provider published it (the SNS notification's time).
    pub received_at: DateTime<Utc>,
}

/// The most bytes of an inbound SMS's text kept (an SMS-MO of ten parts holds far fewer).
pub const MAX_INBOUND_TEXT_BYTES: usize = 8 * 1024;

/// Neither the number nor the text in a debug line: only the number masked and the length.
impl std::fmt::Debug for InboundSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundSms")
            .field("inbound_id", &self.inbound_id)
            .field("from", &mask_number(&self.from))
            .field("text_bytes", &self.text.len())
            .field("answers", &self.answers)
            .field("received_at", &self.received_at)
            .finish()
    }
}

/// One queue message: a large email's part to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedPart {
    /// The queue message's id: what the answer names when this part is to be handed out again.
    pub item: String,
    /// The part's message id; `None` for a queue message that is not a part of ours.
    pub part_id: Option<String>,
}

/// A queue message's body: the part's message id, never the text or the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartBody {
    pub send_part: String,
}

impl PartBody {
    pub fn for_part(part_id: &str) -> PartBody {
        PartBody { send_part: part_id.to_owned() }
    }

    pub fn to_body(&self) -> String {
        serde_json::to_string(self).expect("a struct of one string serialises")
    }
}

/// Whether the event comes from an SQS queue: its answer is then the list of the queue messages
/// to hand out again (`batchItemFailures`).
pub fn is_from_queue(event: &Value) -> bool {
    first_record(event).and_then(|record| record.get("eventSource")).and_then(Value::as_str) == Some("aws:sqs")
}

fn first_record(event: &Value) -> Option<&Value> {
    event.get("Records").and_then(Value::as_array).and_then(|records| records.first())
}

/// One provider's word on one SMS, and how to find its recipient.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderReport {
    /// `sms-voice` or `sns`.
    pub provider: &'static str,
    pub locator: Locator,
    /// The number the provider says it sent to, as it wrote it.
    pub destination: Option<String>,
    pub word: ProviderWord,
    pub at: DateTime<Utc>,
    pub reason: Option<String>,
    pub price: Option<String>,
}

/// How a delivery event leads to its recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locator {
    /// The context our SMS carried: the message and the recipient's position.
    Recipient { message_id: String, index: usize },
    /// Only the provider's message id (SNS): found through the gateway's index of them.
    ProviderId(String),
}

/// What a follow-up is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpKind {
    /// The in-doubt window of a message's recipients ended.
    InDoubt,
    /// 72 hours after sending: the message is closed whatever is still open.
    Close,
}

/// A follow-up schedule's input: the message id, never the text or the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    pub follow_up: FollowUpKind,
    pub message_id: String,
}

impl FollowUp {
    pub fn to_input(&self) -> String {
        serde_json::to_string(self).expect("a struct of strings serialises")
    }
}

/// An email to process: its SES message id, where its raw content is, and SES's verdicts when
/// the event carries them.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundEmail {
    pub message_id: String,
    pub key: String,
    pub verdicts: Verdicts,
    /// When SES received it (the SES event's timestamp, or the S3 notification's time).
    pub received_at: Option<DateTime<Utc>>,
    /// The DMARC policy of the From's domain, when the SES event gives it (`dmarcPolicy`).
    pub dmarc_policy: Option<DmarcPolicy>,
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
    #[error(
        "unrecognised event: neither an SES receipt, an S3 notification, a scheduled send, a follow-up, a delivery event nor an inbound SMS"
    )]
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
    if event.get("follow_up").is_some() {
        let follow_up: FollowUp = serde_json::from_value(event)
            .map_err(|e| EventError::Malformed { kind: "follow-up", reason: e.to_string() })?;
        if !is_message_id(&follow_up.message_id) {
            return Err(EventError::Malformed { kind: "follow-up", reason: "no usable message id".into() });
        }
        return Ok(Trigger::FollowUp(follow_up));
    }
    if event.get("source").and_then(Value::as_str) == Some(EUM_SOURCE) {
        return decode_end_user_messaging(event);
    }
    if event.get("awslogs").is_some() {
        return decode_sns_logs(event);
    }
    if is_from_queue(&event) {
        return decode_parts(event);
    }
    if first_record(&event).and_then(|record| record.get("EventSource")).and_then(Value::as_str) == Some("aws:sns") {
        return decode_answers(event);
    }
    match first_record(&event) {
        Some(record) if record.get("ses").is_some() => decode_ses(event, prefix),
        Some(record) if record.get("s3").is_some() => decode_s3(event, bucket, prefix),
        _ => Err(EventError::Unrecognised),
    }
}

fn decode_parts(event: Value) -> Result<Trigger, EventError> {
    let event: SqsEvent =
        serde_json::from_value(event).map_err(|e| EventError::Malformed { kind: "SQS", reason: e.to_string() })?;
    let parts = event
        .records
        .into_iter()
        .filter_map(|record| {
            let item = record.message_id?;
            let part_id = record
                .body
                .and_then(|body| serde_json::from_str::<PartBody>(&body).ok())
                .map(|body| body.send_part)
                .filter(|id| is_message_id(id));
            if part_id.is_none() {
                warn!(%item, "a queue message that is no part of ours; dropped");
            }
            Some(QueuedPart { item, part_id })
        })
        .collect();
    Ok(Trigger::Parts(parts))
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
                received_at: Some(record.ses.mail.timestamp).filter(|t| t.timestamp() > 0),
                dmarc_policy: record.ses.receipt.dmarc_policy.as_deref().and_then(DmarcPolicy::from_ses),
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
            let received_at = Some(record.event_time).filter(|t| t.timestamp() > 0);
            Ok(InboundEmail { message_id, key, verdicts: Verdicts::default(), received_at, dmarc_policy: None })
        })
        .collect::<Result<_, _>>()
        .map(Trigger::Inbound)
}

/// The `detail` of an End User Messaging delivery event: only what the gateway reads.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SmsVoiceDetail {
    #[serde(default)]
    message_status: Option<String>,
    #[serde(default)]
    event_type: Option<String>,
    #[serde(default)]
    is_final: bool,
    #[serde(default)]
    event_timestamp: Option<i64>,
    #[serde(default)]
    message_id: Option<String>,
    #[serde(default)]
    destination_phone_number: Option<String>,
    #[serde(default)]
    message_status_description: Option<String>,
    #[serde(default)]
    total_message_price: Option<serde_json::Number>,
    #[serde(default)]
    context: std::collections::HashMap<String, Value>,
}

fn decode_end_user_messaging(event: Value) -> Result<Trigger, EventError> {
    let malformed = |reason: String| EventError::Malformed { kind: "End User Messaging", reason };
    let event: EventBridgeEvent<SmsVoiceDetail> =
        serde_json::from_value(event).map_err(|e| malformed(e.to_string()))?;
    if event.detail_type != EUM_DETAIL_TYPE {
        return Err(EventError::Unrecognised);
    }
    let detail = event.detail;
    let status = detail.message_status.or(detail.event_type).ok_or_else(|| malformed("no messageStatus".into()))?;
    let context = |key: &str| match detail.context.get(key) {
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Number(number)) => Some(number.to_string()),
        _ => None,
    };
    let message_id = context(CONTEXT_MESSAGE_ID).filter(|id| is_message_id(id));
    let index = context(CONTEXT_RECIPIENT).and_then(|index| index.parse().ok());
    let locator = match (message_id, index, detail.message_id) {
        (Some(message_id), Some(index), _) => Locator::Recipient { message_id, index },
        (_, _, Some(provider_id)) => Locator::ProviderId(provider_id),
        _ => return Err(malformed("neither our context nor a messageId".into())),
    };
    let at = detail.event_timestamp.and_then(DateTime::from_timestamp_millis).or(event.time).unwrap_or_else(Utc::now);
    Ok(Trigger::Reports(vec![ProviderReport {
        provider: "sms-voice",
        locator,
        destination: detail.destination_phone_number,
        word: from_end_user_messaging(&status, detail.is_final),
        at,
        reason: detail.message_status_description,
        price: detail.total_message_price.map(|price| price.to_string()),
    }]))
}

/// One line of SNS's SMS delivery-status log: only what the gateway reads.
#[derive(Debug, Deserialize)]
struct SnsDeliveryLine {
    notification: SnsNotification,
    #[serde(default)]
    delivery: SnsDelivery,
    status: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SnsNotification {
    message_id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SnsDelivery {
    #[serde(default)]
    destination: Option<String>,
    #[serde(default)]
    provider_response: Option<String>,
    #[serde(default, rename = "priceInUSD")]
    price_in_usd: Option<serde_json::Number>,
}

/// A CloudWatch Logs subscription batch from SNS's delivery-status log groups. A line that is
/// not a delivery status is skipped (logged), not a reason to refuse the batch.
fn decode_sns_logs(event: Value) -> Result<Trigger, EventError> {
    // The struct's decoder (base64, then gzip) borrows its input: it reads from text, not a Value.
    let event: LogsEvent = serde_json::from_str(&event.to_string())
        .map_err(|e| EventError::Malformed { kind: "CloudWatch Logs", reason: e.to_string() })?;
    let reports = event
        .aws_logs
        .data
        .log_events
        .into_iter()
        .filter_map(|entry| match serde_json::from_str::<SnsDeliveryLine>(&entry.message) {
            Ok(line) => Some(ProviderReport {
                provider: "sns",
                locator: Locator::ProviderId(line.notification.message_id),
                destination: line.delivery.destination,
                word: from_sns(&line.status, line.delivery.provider_response.as_deref().unwrap_or_default()),
                at: DateTime::from_timestamp_millis(entry.timestamp).unwrap_or_else(Utc::now),
                reason: line.delivery.provider_response,
                price: line.delivery.price_in_usd.map(|price| price.to_string()),
            }),
            Err(error) => {
                warn!(error = %error, "log line is not an SNS delivery status; skipped");
                None
            }
        })
        .collect();
    Ok(Trigger::Reports(reports))
}

/// An inbound SMS as End User Messaging publishes it to the two-way channel's topic: only what
/// the gateway reads (`destinationNumber`, our number, and `messageKeyword` are left: the
/// gateway reads keywords from the text itself, see [`crate::domain::answer::keyword`]).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InboundSmsPayload {
    origination_number: String,
    message_body: String,
    inbound_message_id: String,
    #[serde(default)]
    previous_published_message_id: Option<String>,
}

/// SNS notifications whose messages are inbound SMS. Any other SNS message is not an event of
/// ours: unrecognised (the whole batch; SNS hands Lambda one notification at a time).
fn decode_answers(event: Value) -> Result<Trigger, EventError> {
    let malformed = |reason: String| EventError::Malformed { kind: "inbound SMS", reason };
    let event: SnsEvent = serde_json::from_value(event).map_err(|e| malformed(e.to_string()))?;
    event
        .records
        .into_iter()
        .map(|record| {
            let notification = record.sns;
            let payload: InboundSmsPayload =
                serde_json::from_str(&notification.message).map_err(|_| EventError::Unrecognised)?;
            let inbound_id = payload.inbound_message_id;
            if inbound_id.is_empty() || inbound_id.len() > 128 || inbound_id.chars().any(char::is_control) {
                return Err(malformed("no usable inboundMessageId".into()));
            }
            Ok(InboundSms {
                inbound_id,
                from: truncated(&payload.origination_number, 32),
                text: truncated(&payload.message_body, MAX_INBOUND_TEXT_BYTES),
                answers: payload
                    .previous_published_message_id
                    .filter(|id| !id.is_empty())
                    .map(|id| truncated(&id, MAX_PROVIDER_ID_BYTES)),
                received_at: Some(notification.timestamp).filter(|t| t.timestamp() > 0).unwrap_or_else(Utc::now),
            })
        })
        .collect::<Result<_, _>>()
        .map(Trigger::Answers)
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
        assert_eq!(emails[0].dmarc_policy, Some(DmarcPolicy::Reject));
    }

    #[test]
    fn the_dmarc_policy_is_read_as_ses_writes_it_or_left_out() {
        let policy = |value: Value| {
            let mut event = ses_event("abc123");
            event["Records"][0]["ses"]["receipt"]["dmarcPolicy"] = value;
            let Trigger::Inbound(emails) = decode(event, "inbox", "inbound/").unwrap() else { panic!("not inbound") };
            emails[0].dmarc_policy
        };
        assert_eq!(policy(json!("quarantine")), Some(DmarcPolicy::Quarantine));
        assert_eq!(policy(json!("NONE")), Some(DmarcPolicy::None));
        assert_eq!(policy(json!("sometimes")), None);
        assert_eq!(policy(Value::Null), None);
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
        assert_eq!(emails[0].dmarc_policy, None);
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

    fn inbound_sms(change: impl FnOnce(&mut Value)) -> Value {
        let mut event: Value = serde_json::from_str(include_str!("../events/inbound-sms.json")).unwrap();
        let mut message: Value = serde_json::from_str(event["Records"][0]["Sns"]["Message"].as_str().unwrap()).unwrap();
        change(&mut message);
        event["Records"][0]["Sns"]["Message"] = json!(message.to_string());
        event
    }

    #[test]
    fn an_inbound_sms_reads_as_the_answer_to_our_last_sms_to_that_mobile() {
        let Trigger::Answers(answers) = decode(inbound_sms(|_| {}), "inbox", "inbound/").unwrap() else {
            panic!("not answers")
        };
        assert_eq!(answers.len(), 1);
        let sms = &answers[0];
        assert_eq!(sms.inbound_id, "cae173d2-66b9-564c-8309-21f858e9fb84");
        assert_eq!(sms.from, "+33612345678");
        assert_eq!(sms.text, "Oui, je passe demain matin");
        assert_eq!(sms.answers.as_deref(), Some("3f6b2c1e-8a4d-4e7f-9b21-5c0d7e9a1f42"));
        assert_eq!(sms.received_at.to_rfc3339(), "2026-11-25T09:40:02.123+00:00");
        let debug = format!("{sms:?}");
        assert!(!debug.contains("+33612345678") && !debug.contains("demain"), "{debug}");
    }

    #[test]
    fn an_inbound_sms_keeps_what_the_records_can_match_and_bounded_text() {
        let event = inbound_sms(|message| {
            message["previousPublishedMessageId"] = json!("p".repeat(200));
            message["messageBody"] = json!("é".repeat(MAX_INBOUND_TEXT_BYTES));
        });
        let Trigger::Answers(answers) = decode(event, "inbox", "inbound/").unwrap() else { panic!("not answers") };
        assert_eq!(answers[0].answers.as_deref(), Some("p".repeat(MAX_PROVIDER_ID_BYTES).as_str()));
        assert!(answers[0].text.len() <= MAX_INBOUND_TEXT_BYTES);
        let event = inbound_sms(|message| {
            message.as_object_mut().unwrap().remove("previousPublishedMessageId");
        });
        let Trigger::Answers(answers) = decode(event, "inbox", "inbound/").unwrap() else { panic!("not answers") };
        assert_eq!(answers[0].answers, None, "an answer to nothing: the pipeline drops it");
    }

    #[test]
    fn other_sns_messages_are_not_ours() {
        let mut alarm = inbound_sms(|_| {});
        alarm["Records"][0]["Sns"]["Message"] = json!(r#"{"AlarmName":"x","NewStateValue":"ALARM"}"#);
        assert_eq!(decode(alarm, "inbox", "inbound/"), Err(EventError::Unrecognised));
        let mut text = inbound_sms(|_| {});
        text["Records"][0]["Sns"]["Message"] = json!("hello");
        assert_eq!(decode(text, "inbox", "inbound/"), Err(EventError::Unrecognised));
        let unnamed = inbound_sms(|message| message["inboundMessageId"] = json!(""));
        assert!(matches!(decode(unnamed, "inbox", "inbound/"), Err(EventError::Malformed { .. })));
        let mut broken = inbound_sms(|_| {});
        broken["Records"][0]["Sns"] = json!({ "Message": 3 });
        assert!(matches!(decode(broken, "inbox", "inbound/"), Err(EventError::Malformed { .. })));
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
