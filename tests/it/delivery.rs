//! Delivery status, against the emulator: the providers' events (SNS's delivery logs, End User
//! Messaging's EventBridge events) driven through the real function's gateway, the in-doubt
//! window, the 72-hour close and the delivery receipts.

use std::io::Write;
use std::sync::Mutex;

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use mail2sms::aws::Sms;
use mail2sms::config::InDoubtPolicy;
use mail2sms::domain::account::Receipts;
use mail2sms::domain::message::{Delivery, MessageRecord, MessageState, RecipientRecord, ReplyOutcome};
use mail2sms::domain::recipient::Recipient;
use mail2sms::event::{FollowUp, FollowUpKind};
use mail2sms::pipeline::{Gateway, Outcome};
use mail2sms::ports::{Ledger, Opening, OutgoingSms, PortError, SmsGateway};
use serde_json::{Value, json};

use crate::helpers::World;

const FIRST: &str = "+33612345678";
const SECOND: &str = "+33698765432";

/// Sends an email to both numbers through the world's gateway; returns its message id.
async fn send_to_both(world: &World, key: &str) -> String {
    let subject = format!("shop@{key}|0612345678;0698765432");
    let id = world.receive(&world.email(&subject, "Votre commande est prete")).await;
    world.gateway().handle(world.ses_event(&id), &world.invocation()).await.unwrap();
    id
}

fn provider_id(record: &MessageRecord, number: &str) -> String {
    let recipient = record.recipients.iter().find(|r| r.number.e164() == number).expect("recipient");
    recipient.provider_id.clone().expect("a provider id")
}

fn recipient<'a>(record: &'a MessageRecord, number: &str) -> &'a RecipientRecord {
    record.recipients.iter().find(|r| r.number.e164() == number).expect("recipient")
}

/// A CloudWatch Logs subscription event from SNS's delivery-status logs, one line per
/// `(provider id, destination, status, provider response)`, as Lambda receives it.
fn sns_logs(lines: &[(&str, &str, &str, &str)]) -> Value {
    let mut payload: Value = serde_json::from_str(include_str!("../../events/sns-delivery-logs.decoded.json")).unwrap();
    let template = payload["logEvents"][0].clone();
    let events: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(n, (id, destination, status, response))| {
            let mut line: Value = serde_json::from_str(template["message"].as_str().unwrap()).unwrap();
            line["notification"]["messageId"] = json!(id);
            line["delivery"]["destination"] = json!(destination);
            line["delivery"]["providerResponse"] = json!(response);
            line["status"] = json!(status);
            let mut event = template.clone();
            event["id"] = json!(format!("{n}"));
            event["timestamp"] = json!(Utc::now().timestamp_millis() + n as i64);
            event["message"] = json!(line.to_string());
            event
        })
        .collect();
    payload["logEvents"] = json!(events);
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(payload.to_string().as_bytes()).unwrap();
    let data = base64::engine::general_purpose::STANDARD.encode(gzip.finish().unwrap());
    json!({ "awslogs": { "data": data } })
}

/// An End User Messaging delivery event for recipient `index` of `message_id`.
fn eum_event(message_id: &str, index: usize, destination: &str, status: &str, is_final: bool) -> Value {
    let mut event: Value = serde_json::from_str(include_str!("../../events/eum-failed.json")).unwrap();
    let detail = &mut event["detail"];
    detail["eventType"] = json!(format!("TEXT_{status}"));
    detail["messageStatus"] = json!(status);
    detail["isFinal"] = json!(is_final);
    detail["destinationPhoneNumber"] = json!(destination);
    detail["eventTimestamp"] = json!(Utc::now().timestamp_millis());
    detail["context"]["mail2sms_message_id"] = json!(message_id);
    detail["context"]["mail2sms_recipient"] = json!(index.to_string());
    event
}

async fn handle(world: &World, event: Value) -> Vec<Outcome> {
    world.gateway().handle(event, &world.invocation()).await.unwrap()
}

fn follow_up(kind: FollowUpKind, message_id: &str) -> Value {
    serde_json::from_str(&FollowUp { follow_up: kind, message_id: message_id.to_owned() }.to_input()).unwrap()
}

#[tokio::test]
async fn sns_delivery_logs_deliver_and_a_definitive_failure_refunds_once() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let id = send_to_both(&world, &key).await;
    assert_eq!(world.credits("shop").await, 8);
    let record = world.record(&id).await;
    let (first, second) = (provider_id(&record, FIRST), provider_id(&record, SECOND));

    let event = sns_logs(&[
        (&first, FIRST, "SUCCESS", "Message has been accepted by phone carrier"),
        (&second, SECOND, "FAILURE", "Invalid phone number"),
    ]);
    let outcomes = handle(&world, event.clone()).await;

    assert_eq!(
        outcomes,
        [
            Outcome::Reported { message_id: id.clone(), delivery: Delivery::Delivered, changed: true, refunded: 0 },
            Outcome::Reported { message_id: id.clone(), delivery: Delivery::Failed, changed: true, refunded: 1 },
        ]
    );
    let record = world.record(&id).await;
    assert_eq!(recipient(&record, FIRST).fate(), Delivery::Delivered);
    assert_eq!(recipient(&record, SECOND).fate(), Delivery::Failed);
    assert_eq!(recipient(&record, SECOND).reason(), Some("Invalid phone number"));
    assert!(recipient(&record, SECOND).was_refunded() && !recipient(&record, FIRST).was_refunded());
    assert_eq!(recipient(&record, FIRST).report.as_ref().unwrap().price.as_deref(), Some("0.07253"));
    assert_eq!((record.refunded, world.credits("shop").await), (1, 9));

    // The same batch again (CloudWatch Logs delivers at least once): nothing changes.
    let again = handle(&world, event).await;
    assert!(again.iter().all(|o| matches!(o, Outcome::Reported { changed: false, refunded: 0, .. })), "{again:?}");
    // A late success for the failed one does not bring it back.
    let late = handle(&world, sns_logs(&[(&second, SECOND, "SUCCESS", "accepted")])).await;
    assert!(matches!(late[..], [Outcome::Reported { changed: false, .. }]), "{late:?}");
    assert_eq!(world.credits("shop").await, 9, "refunded once");
    assert_eq!(world.record(&id).await.refunded, 1);
    assert_eq!(recipient(&world.record(&id).await, SECOND).fate(), Delivery::Failed);
}

/// A message with recipients already sent through End User Messaging, written as the pipeline
/// writes it (the emulator has no End User Messaging to send through).
async fn sent_through_end_user_messaging(world: &World, deliveries: &[(&str, Delivery)]) -> String {
    let id = format!("{}eum{}", world.token, &mail2sms::domain::account::new_api_key()[..8]);
    let mut record = MessageRecord::new(&id, Utc::now());
    record.login = Some("shop".into());
    record.parts = 2;
    record.recipients = deliveries
        .iter()
        .enumerate()
        .map(|(n, &(number, delivery))| RecipientRecord {
            delivery,
            provider_id: (delivery == Delivery::Sent).then(|| format!("eum-{n}")),
            ..RecipientRecord::pending(Recipient::parse_e164(number).unwrap(), None)
        })
        .collect();
    record.cost = 2 * record.recipients.len() as u64;
    record.state = record.settled_state();
    record.settled_at = Some(Utc::now());
    assert_eq!(world.ledger.open(&record, None).await.unwrap(), Opening::Opened);
    id
}

#[tokio::test]
async fn end_user_messaging_events_find_their_recipient_by_its_context_and_only_move_forward() {
    let world = World::new().await;
    world.account("shop", 0).await;
    let id = sent_through_end_user_messaging(&world, &[(FIRST, Delivery::Sent), (SECOND, Delivery::Sent)]).await;

    let delivered = handle(&world, eum_event(&id, 1, SECOND, "DELIVERED", true)).await;
    assert_eq!(
        delivered,
        [Outcome::Reported { message_id: id.clone(), delivery: Delivery::Delivered, changed: true, refunded: 0 }]
    );
    // Out of order: the "queued" that comes after "delivered" changes nothing.
    let queued = handle(&world, eum_event(&id, 1, SECOND, "QUEUED", false)).await;
    assert!(matches!(queued[..], [Outcome::Reported { changed: false, .. }]), "{queued:?}");
    // A carrier's definitive refusal gives the recipient's two parts back, once.
    for _ in 0..2 {
        handle(&world, eum_event(&id, 0, FIRST, "CARRIER_BLOCKED", true)).await;
    }
    let record = world.record(&id).await;
    assert_eq!(recipient(&record, SECOND).fate(), Delivery::Delivered);
    assert_eq!(recipient(&record, FIRST).fate(), Delivery::Failed);
    assert_eq!((record.refunded, world.credits("shop").await), (2, 2));
    assert!(record.closed_at.is_some(), "every fate is final: the message is closed");
}

#[tokio::test]
async fn events_for_no_recipient_of_ours_are_dropped_not_retried() {
    let world = World::new().await;
    world.account("shop", 0).await;
    let id = sent_through_end_user_messaging(&world, &[(FIRST, Delivery::Sent)]).await;
    let before = world.record(&id).await;

    for event in [
        sns_logs(&[("no-such-provider-id", FIRST, "SUCCESS", "accepted")]),
        eum_event("no-such-message", 0, FIRST, "DELIVERED", true),
        eum_event(&id, 7, FIRST, "DELIVERED", true),
        // The recipient at that position is another number.
        eum_event(&id, 0, SECOND, "DELIVERED", true),
    ] {
        let outcomes = handle(&world, event).await;
        assert!(matches!(outcomes[..], [Outcome::Unmatched { .. }]), "{outcomes:?}");
    }
    assert_eq!(world.record(&id).await, before);
}

/// The real SNS adapter, except that the answer for `lost` never comes back: the provider took
/// the SMS (`taken`) or not, and the gateway cannot tell.
struct LostAnswer {
    inner: Sms,
    lost: &'static str,
    taken: bool,
    once: Mutex<bool>,
}

impl SmsGateway for LostAnswer {
    async fn send(&self, sms: OutgoingSms<'_>) -> Result<String, PortError> {
        let first_time = !std::mem::replace(&mut *self.once.lock().unwrap(), true);
        if sms.to.e164() == self.lost && first_time {
            if self.taken {
                self.inner.send(sms).await?;
            }
            return Err(PortError::InDoubt { service: "sns", message: "connection reset".into() });
        }
        self.inner.send(sms).await
    }
}

type LosingGateway = Gateway<
    mail2sms::aws::s3::S3Inbox,
    mail2sms::account_cache::CachedLedger<mail2sms::aws::dynamodb::DynamoLedger>,
    LostAnswer,
    mail2sms::aws::sesv2::SesMailer,
    mail2sms::aws::Later,
>;

fn losing(world: &World, taken: bool) -> LosingGateway {
    world.gateway().map_sms(|inner| LostAnswer { inner, lost: FIRST, taken, once: Mutex::new(false) })
}

#[tokio::test]
async fn a_recipient_in_doubt_is_refunded_when_no_event_came_within_the_window() {
    let world = World::with(|config| config.in_doubt_policy = InDoubtPolicy::Refund).await;
    let key = world.account("shop", 10).await;
    let gateway = losing(&world, false);
    let subject = format!("shop@{key}|0612345678;0698765432");
    let id = world.receive(&world.email(&subject, "Bonjour")).await;
    gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap();

    let record = world.record(&id).await;
    assert_eq!(recipient(&record, FIRST).delivery, Delivery::Unknown);
    assert_eq!(record.text, None, "nothing will be sent again: the text is forgotten");
    let names = world.schedules().await;
    assert!(names.iter().any(|name| name.starts_with("m2s-doubt") && name.ends_with(&id)), "{names:?}");

    let settled = handle(&world, follow_up(FollowUpKind::InDoubt, &id)).await;
    assert_eq!(settled, [Outcome::InDoubtSettled { message_id: id.clone(), resent: 0, refunded: 1 }]);
    let record = world.record(&id).await;
    assert_eq!(recipient(&record, FIRST).fate(), Delivery::Failed);
    assert_eq!(world.credits("shop").await, 9);
    // The schedule firing twice refunds nothing twice.
    handle(&world, follow_up(FollowUpKind::InDoubt, &id)).await;
    assert_eq!(world.credits("shop").await, 9);
    assert_eq!(world.sms().len(), 1, "the lost one was never sent");
}

#[tokio::test]
async fn a_recipient_never_taken_is_sent_once_more_after_the_window() {
    let world = World::with(|config| config.in_doubt_policy = InDoubtPolicy::Resend).await;
    let key = world.account("shop", 10).await;
    let subject = format!("shop@{key}|0612345678;0698765432");
    let id = world.receive(&world.email(&subject, &format!("Bonjour {}", world.token))).await;
    losing(&world, false).handle(world.ses_event(&id), &world.invocation()).await.unwrap();
    assert!(world.record(&id).await.text.is_some(), "kept for the resend");
    assert_eq!(world.sms().len(), 1);

    for _ in 0..2 {
        handle(&world, follow_up(FollowUpKind::InDoubt, &id)).await;
    }

    let record = world.record(&id).await;
    let resent = recipient(&record, FIRST);
    assert_eq!((resent.delivery, resent.resent), (Delivery::Sent, true));
    assert_eq!(record.state, MessageState::Sent);
    assert_eq!(record.text, None);
    let numbers: Vec<String> = world.sms().into_iter().map(|sms| sms.phone_number).collect();
    assert_eq!(numbers.iter().filter(|n| *n == FIRST).count(), 1, "sent once more, once: {numbers:?}");
    assert_eq!(world.credits("shop").await, 8, "paid once");
}

#[tokio::test]
async fn a_recipient_in_doubt_is_settled_by_its_event_when_one_comes() {
    let world = World::new().await;
    world.account("shop", 0).await;
    let id = sent_through_end_user_messaging(&world, &[(FIRST, Delivery::Unknown), (SECOND, Delivery::Sent)]).await;

    handle(&world, eum_event(&id, 0, FIRST, "QUEUED", false)).await;
    assert_eq!(recipient(&world.record(&id).await, FIRST).fate(), Delivery::Sent, "it was taken");
    // The window then has nothing to settle: it is never resent nor refunded.
    let settled = handle(&world, follow_up(FollowUpKind::InDoubt, &id)).await;
    assert_eq!(settled, [Outcome::InDoubtSettled { message_id: id.clone(), resent: 0, refunded: 0 }]);
    handle(&world, eum_event(&id, 0, FIRST, "DELIVERED", true)).await;
    let record = world.record(&id).await;
    assert_eq!(recipient(&record, FIRST).fate(), Delivery::Delivered);
    assert_eq!(record.refunded, 0);
}

async fn with_receipts(world: &World, receipts: Receipts) -> String {
    let key = world.account("shop", 10).await;
    world.ledger.set_receipts("shop", receipts).await.unwrap().expect("account");
    key
}

#[tokio::test]
async fn a_receipt_goes_once_when_every_fate_is_known() {
    let world = World::new().await;
    let key = with_receipts(&world, Receipts::All).await;
    let id = send_to_both(&world, &key).await;
    let record = world.record(&id).await;
    let (first, second) = (provider_id(&record, FIRST), provider_id(&record, SECOND));
    assert!(world.replies().is_empty(), "no receipt before the fates are known");

    handle(&world, sns_logs(&[(&first, FIRST, "SUCCESS", "accepted")])).await;
    assert!(world.replies().is_empty(), "one fate is still open");
    let last = sns_logs(&[(&second, SECOND, "FAILURE", "Phone carrier has blocked this message")]);
    handle(&world, last.clone()).await;
    handle(&world, last).await;

    let replies = world.replies();
    assert_eq!(replies.len(), 1, "{replies:?}");
    let receipt = &replies[0];
    assert_eq!(receipt.to.as_deref(), Some(world.customer().as_str()));
    assert_eq!(receipt.auto_submitted.as_deref(), Some("auto-replied"));
    assert!(receipt.in_reply_to.as_deref().is_some_and(|id| id.ends_with("@mail.example.com>")), "{receipt:?}");
    assert!(receipt.contains(FIRST) && receipt.contains(SECOND));
    assert!(!receipt.contains("Votre commande"), "never the SMS text");
    assert!(!receipt.contains(&key[..16]), "never the key");
    let record = world.record(&id).await;
    assert_eq!(record.receipt, Some(ReplyOutcome::Sent));
    assert!(record.closed_at.is_some());
}

#[tokio::test]
async fn failures_only_receipts_skip_messages_delivered_in_full_and_none_sends_none() {
    for (receipts, failure, expected) in
        [(Receipts::Failures, false, 0), (Receipts::Failures, true, 1), (Receipts::None, true, 0)]
    {
        let world = World::new().await;
        let key = with_receipts(&world, receipts).await;
        let id = send_to_both(&world, &key).await;
        let record = world.record(&id).await;
        let status = if failure { "FAILURE" } else { "SUCCESS" };
        handle(
            &world,
            sns_logs(&[
                (&provider_id(&record, FIRST), FIRST, "SUCCESS", "accepted"),
                (&provider_id(&record, SECOND), SECOND, status, "Invalid phone number"),
            ]),
        )
        .await;
        assert_eq!(world.replies().len(), expected, "{receipts:?} with a failure: {failure}");
        assert!(world.record(&id).await.closed_at.is_some());
    }
}

fn later() -> DateTime<Utc> {
    Utc::now() + Duration::hours(73)
}

#[tokio::test]
async fn seventy_two_hours_after_sending_what_is_open_is_reported_unknown() {
    let world = World::new().await;
    let key = with_receipts(&world, Receipts::All).await;
    let id = send_to_both(&world, &key).await;
    let names = world.schedules().await;
    assert!(names.iter().any(|name| name.starts_with("m2s-close") && name.ends_with(&id)), "{names:?}");
    let record = world.record(&id).await;
    handle(&world, sns_logs(&[(&provider_id(&record, FIRST), FIRST, "SUCCESS", "accepted")])).await;

    // Fired early (a clock off by hours), the close waits.
    let early = handle(&world, follow_up(FollowUpKind::Close, &id)).await;
    assert_eq!(early, [Outcome::NothingDue { message_id: id.clone() }]);
    let mut gateway = world.gateway();
    gateway.clock = later;
    let closed = gateway.handle(follow_up(FollowUpKind::Close, &id), &world.invocation()).await.unwrap();

    assert_eq!(closed, [Outcome::Closed { message_id: id.clone(), unknown: 1, receipt: Some(ReplyOutcome::Sent) }]);
    let replies = world.replies();
    assert_eq!(replies.len(), 1);
    let unknown = replies[0].text.lines().find(|line| line.contains(SECOND)).unwrap_or_default();
    assert!(unknown.contains("inconnu"), "never reported: told unknown: {unknown:?}");
    // Closed once: the schedule firing again sends nothing more.
    gateway.handle(follow_up(FollowUpKind::Close, &id), &world.invocation()).await.unwrap();
    assert_eq!(world.replies().len(), 1);
}
