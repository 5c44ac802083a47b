//! Faults on the way out: the provider refusing a number, being unavailable, or the invocation
//! dying mid-send. The records and credits in the emulator must say exactly what happened, and
//! the retry must finish the job without sending anyone twice.

mod common;

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use common::World;
use mail2sms::aws::Sms;
use mail2sms::domain::message::{Delivery, MessageState};
use mail2sms::pipeline::{Gateway, Outcome, PipelineError};
use mail2sms::ports::{OutgoingSms, PortError, SmsGateway};

/// What the provider does with a number.
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    /// Refuses it for good.
    Refuse,
    /// Is unavailable for it, once.
    FailOnce,
    /// Never answers (the invocation will be cut short).
    Hang,
}

/// The real SNS adapter, with faults injected for some numbers.
struct FaultySms {
    inner: Sms,
    faults: Vec<(&'static str, Fault)>,
    failed_once: Mutex<HashSet<String>>,
}

impl SmsGateway for FaultySms {
    async fn send(&self, sms: OutgoingSms<'_>) -> Result<String, PortError> {
        let fault = self.faults.iter().find(|(number, _)| *number == sms.to.e164()).map(|(_, fault)| *fault);
        match fault {
            Some(Fault::Refuse) => Err(PortError::Refused { service: "sns", message: "InvalidParameter".into() }),
            Some(Fault::FailOnce) if self.failed_once.lock().unwrap().insert(sms.to.e164().to_owned()) => {
                Err(PortError::Unavailable { service: "sns", message: "Throttling".into() })
            }
            Some(Fault::Hang) => std::future::pending().await,
            _ => self.inner.send(sms).await,
        }
    }
}

type FaultyGateway = Gateway<
    mail2sms::aws::s3::S3Inbox,
    mail2sms::aws::dynamodb::DynamoLedger,
    FaultySms,
    mail2sms::aws::sesv2::SesMailer,
    mail2sms::aws::scheduler::EventBridgeScheduler,
>;

fn faulty(world: &World, faults: Vec<(&'static str, Fault)>, batch: usize) -> FaultyGateway {
    let mut gateway = world.gateway().map_sms(|inner| FaultySms { inner, faults, failed_once: Mutex::default() });
    gateway.settings.send_concurrency = batch;
    gateway
}

const NUMBERS: &str = "0611111111;0622222222;0633333333;0644444444";

#[tokio::test]
async fn a_number_the_provider_refuses_is_refunded_and_the_others_are_sent() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let gateway = faulty(&world, vec![("+33622222222", Fault::Refuse)], 16);
    let body = format!("{} {}", world.token, "x".repeat(200)); // two parts
    let id = world.receive(&world.email(&format!("shop@{key}|{NUMBERS}"), &body)).await;

    let outcome = gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap().remove(0);

    assert!(
        matches!(
            outcome,
            Outcome::Sent { state: MessageState::PartiallyFailed, sent: 3, failed: 1, cost: 8, refunded: 2, .. }
        ),
        "{outcome:?}"
    );
    assert_eq!(world.credits("shop").await, 10 - 8 + 2);
    let record = world.record(&id).await;
    assert_eq!(record.refunded, 2);
    let refused = record.recipients.iter().find(|r| r.number.e164() == "+33622222222").unwrap();
    assert_eq!(refused.delivery, Delivery::Failed);
    assert_eq!(world.sms().len(), 3);
}

#[tokio::test]
async fn an_unavailable_provider_leaves_the_rest_for_the_retry_which_sends_only_that() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let gateway = faulty(&world, vec![("+33622222222", Fault::FailOnce)], 2);
    let id = world.receive(&world.email(&format!("shop@{key}|{NUMBERS}"), &world.token)).await;
    let invocation = world.invocation();

    let first = gateway.handle(world.ses_event(&id), &invocation).await;

    match first {
        Err(error @ PipelineError::Incomplete { .. }) => assert!(error.is_retryable()),
        other => panic!("expected a retryable incomplete send, got {other:?}"),
    }
    let record = world.record(&id).await;
    assert_eq!(record.state, MessageState::Accepted);
    assert_eq!(record.count(Delivery::Sent), 1, "the rest of the first batch went out");
    assert_eq!(record.count(Delivery::Pending), 3, "the failed one waits, and no further batch was started");

    // Lambda retries the same event with the same request id.
    let retry = gateway.handle(world.ses_event(&id), &invocation).await.unwrap().remove(0);

    assert!(matches!(retry, Outcome::Sent { state: MessageState::Sent, sent: 4, .. }), "{retry:?}");
    let mut numbers: Vec<String> = world.sms().into_iter().map(|s| s.phone_number).collect();
    numbers.sort();
    assert_eq!(numbers, ["+33611111111", "+33622222222", "+33633333333", "+33644444444"], "each exactly once");
    assert_eq!(world.credits("shop").await, 6, "debited once");
}

#[tokio::test]
async fn after_a_crash_mid_send_the_retry_sends_the_rest_and_never_repeats_the_doubtful() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let hanging = faulty(&world, vec![("+33622222222", Fault::Hang)], 2);
    let id = world.receive(&world.email(&format!("shop@{key}|{NUMBERS}"), &world.token)).await;
    let mut invocation = world.invocation();
    invocation.deadline = chrono::Utc::now() + chrono::Duration::seconds(1);

    // The invocation dies while the first batch is with the provider.
    let crashed =
        tokio::time::timeout(Duration::from_millis(3000), hanging.handle(world.ses_event(&id), &invocation)).await;
    assert!(crashed.is_err(), "the invocation was cut short");
    let record = world.record(&id).await;
    assert_eq!(record.count(Delivery::Sending), 2, "the first batch was claimed");
    assert_eq!(world.sms().len(), 1, "one of the batch reached the provider before the crash");

    // A later delivery of the same email, once the dead invocation's lease has lapsed.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let healthy = faulty(&world, vec![], 2);
    let outcome = healthy.handle(world.ses_event(&id), &world.invocation()).await.unwrap().remove(0);

    assert!(
        matches!(outcome, Outcome::Sent { state: MessageState::PartiallyFailed, sent: 2, unknown: 2, .. }),
        "{outcome:?}"
    );
    let mut numbers: Vec<String> = world.sms().into_iter().map(|s| s.phone_number).collect();
    numbers.sort();
    assert_eq!(numbers, ["+33611111111", "+33633333333", "+33644444444"], "nobody twice");
    assert_eq!(world.credits("shop").await, 6, "debited once, the doubtful not refunded");
}

#[tokio::test]
async fn while_an_invocation_holds_the_message_another_delivery_leaves_it_alone() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let hanging = faulty(&world, vec![("+33611111111", Fault::Hang)], 2);
    let id = world.receive(&world.email(&format!("shop@{key}|{NUMBERS}"), &world.token)).await;
    let holder = world.invocation();
    let _ = tokio::time::timeout(Duration::from_millis(2000), hanging.handle(world.ses_event(&id), &holder)).await;

    let other = faulty(&world, vec![], 2);
    let outcome = other.handle(world.ses_event(&id), &world.invocation()).await.unwrap().remove(0);

    assert_eq!(outcome, Outcome::InProgress { message_id: id });
    assert_eq!(world.sms().len(), 1, "only what the holder sent");
}

/// The real scheduler adapter, unavailable for its first call.
struct FlakyScheduler {
    inner: mail2sms::aws::scheduler::EventBridgeScheduler,
    failed: std::sync::atomic::AtomicBool,
}

impl mail2sms::ports::SendScheduler for FlakyScheduler {
    async fn schedule(&self, send: &mail2sms::ports::ScheduledSend) -> Result<(), PortError> {
        if !self.failed.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(PortError::Unavailable { service: "scheduler", message: "Throttling".into() });
        }
        self.inner.schedule(send).await
    }
}

#[tokio::test]
async fn a_schedule_that_could_not_be_created_is_created_by_the_retry_without_a_second_debit() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let gateway = world.gateway().map_scheduler(|inner| FlakyScheduler { inner, failed: Default::default() });
    let due = (chrono::Utc::now() + chrono::Duration::days(3)).format("%Y-%m-%d 09:30:00");
    let id = world.receive(&world.email(&format!("shop@{key}|{NUMBERS}|date={due}"), &world.token)).await;
    let invocation = world.invocation();

    let first = gateway.handle(world.ses_event(&id), &invocation).await;
    assert!(matches!(&first, Err(error) if error.is_retryable()), "{first:?}");
    assert_eq!(world.record(&id).await.state, MessageState::Scheduled, "accepted and debited before the schedule");

    let retry = gateway.handle(world.ses_event(&id), &invocation).await.unwrap().remove(0);

    assert!(matches!(retry, Outcome::Scheduled { .. }), "{retry:?}");
    let schedules = aws_sdk_scheduler::Client::new(&world.sdk)
        .list_schedules()
        .group_name(&world.config.schedule_group)
        .send()
        .await
        .unwrap();
    assert_eq!(schedules.schedules().len(), 1);
    assert_eq!(world.credits("shop").await, 6, "debited once");
}
