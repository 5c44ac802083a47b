//! Scheduled sending (`date=` in the future) through EventBridge Scheduler, against the
//! emulator: what schedule is created, and that the scheduled event sends exactly once.

use crate::helpers::{FUNCTION_ARN, SCHEDULER_ROLE, World};
use aws_sdk_scheduler::types::{ActionAfterCompletion, FlexibleTimeWindowMode};
use chrono::{DateTime, TimeZone, Utc};
use futures::future::join_all;
use mail2sms::aws::AwsGateway;
use mail2sms::domain::StatusCode;
use mail2sms::domain::message::MessageState;
use mail2sms::domain::message::schedule_name;
use mail2sms::pipeline::{Outcome, PipelineError};
use serde_json::json;

/// The tests' "now": 2026-11-25 12:00 UTC, so that dates and daylight-saving edges are fixed.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

fn gateway(world: &World) -> AwsGateway {
    let mut gateway = world.gateway();
    gateway.clock = now;
    gateway
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

async fn schedule_email(world: &World, gateway: &AwsGateway, key: &str, date: &str) -> (String, Outcome) {
    let subject = format!("shop@{key}|0612345678;0698765432|date={date}");
    let id = world.receive(&world.email(&subject, &format!("Rendez-vous demain {}", world.token))).await;
    let mut outcomes = gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap();
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    (id, outcomes.remove(0))
}

#[tokio::test]
async fn a_future_date_debits_now_and_creates_a_one_time_schedule() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let gateway = gateway(&world);

    let (id, outcome) = schedule_email(&world, &gateway, &key, "2026-12-01 09:30:00").await;

    let due = utc("2026-12-01T08:30:00Z");
    assert_eq!(outcome, Outcome::Scheduled { message_id: id.clone(), due_at: due, cost: 2 });
    assert_eq!(world.credits("shop").await, 8, "debited at once");
    assert!(world.sms().is_empty(), "nothing sent yet");
    assert!(world.replies().is_empty());
    let record = world.record(&id).await;
    assert_eq!(record.state, MessageState::Scheduled);
    assert_eq!(record.due_at, Some(due));
    assert_eq!(record.local_date.as_deref(), Some("2026-12-01 09:30:00"));
    assert_eq!(record.timezone.as_deref(), Some("Europe/Paris"));

    let schedule = world.schedule(&schedule_name(&id)).await;
    assert_eq!(schedule.schedule_expression(), Some("at(2026-12-01T08:30:00)"));
    assert_eq!(schedule.schedule_expression_timezone(), Some("UTC"));
    assert_eq!(schedule.flexible_time_window().map(|w| w.mode().clone()), Some(FlexibleTimeWindowMode::Off));
    assert_eq!(schedule.action_after_completion(), Some(&ActionAfterCompletion::Delete));
    let target = schedule.target().unwrap();
    assert_eq!(target.arn(), FUNCTION_ARN);
    assert_eq!(target.role_arn(), SCHEDULER_ROLE);
    let input: serde_json::Value = serde_json::from_str(target.input().unwrap()).unwrap();
    assert_eq!(input, json!({ "scheduled_send": id }), "the input holds neither the text nor the key");
}

#[tokio::test]
async fn a_second_delivery_creates_no_second_schedule_and_debits_once() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let gateway = gateway(&world);
    let (id, _) = schedule_email(&world, &gateway, &key, "2026-12-01 09:30:00").await;

    let again = gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap();

    assert!(matches!(again[..], [Outcome::Scheduled { .. }]), "{again:?}");
    assert_eq!(world.schedules().await.len(), 1);
    assert_eq!(world.credits("shop").await, 8);
    assert!(world.sms().is_empty() && world.replies().is_empty());
}

#[tokio::test]
async fn the_scheduled_event_sends_once_even_when_delivered_twice_or_concurrently() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let gateway = gateway(&world);
    let (id, _) = schedule_email(&world, &gateway, &key, "2026-12-01 09:30:00").await;
    // The schedule's input, as the sample event shows it.
    let mut due: serde_json::Value = serde_json::from_str(include_str!("../../events/scheduled-send.json")).unwrap();
    due["scheduled_send"] = json!(id);

    let invocations: Vec<_> = (0..4).map(|_| world.invocation()).collect();
    let runs = invocations.iter().map(|invocation| gateway.handle(due.clone(), invocation));
    let results = join_all(runs).await;
    let later = gateway.handle(due.clone(), &world.invocation()).await.unwrap().remove(0);

    // One sends; each other finds nothing due any more, or meets its lease and fails to be retried.
    let mut sent = 0;
    for result in &results {
        match result.as_ref().map(|outcomes| &outcomes[..]) {
            Ok([Outcome::Sent { sent: 2, .. }]) => sent += 1,
            Ok([Outcome::NothingDue { .. }]) => {}
            Err(error @ PipelineError::InProgress { .. }) => assert!(error.is_retryable()),
            other => panic!("{other:?}\n{results:?}"),
        }
    }
    assert_eq!(sent, 1, "{results:?}");
    assert_eq!(later, Outcome::NothingDue { message_id: id.clone() });
    assert_eq!(world.sms().len(), 2);
    assert_eq!(world.credits("shop").await, 8);
    assert_eq!(world.record(&id).await.state, MessageState::Sent);
}

#[tokio::test]
async fn cancelling_refunds_once_and_the_schedule_then_sends_nothing() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let gateway = gateway(&world);
    let (id, _) = schedule_email(&world, &gateway, &key, "2026-12-01 09:30:00").await;

    let (first, cancelled) = world.ledger.cancel(&id, now()).await.unwrap().unwrap();
    let (second, cancelled_again) = world.ledger.cancel(&id, now()).await.unwrap().unwrap();

    assert!(cancelled && !cancelled_again);
    assert_eq!(first.state, MessageState::Cancelled);
    assert_eq!(second.refunded, 2);
    assert_eq!(world.credits("shop").await, 10, "refunded exactly once");
    let outcome = gateway.handle(json!({ "scheduled_send": id }), &world.invocation()).await.unwrap().remove(0);
    assert_eq!(outcome, Outcome::NothingDue { message_id: id });
    assert!(world.sms().is_empty());
}

#[tokio::test]
async fn dates_are_read_in_the_accounts_time_zone_across_daylight_saving() {
    let world = World::new().await;
    let paris = world.account("shop", 100).await;
    let new_york = world.account_with("nyshop", 100, None, Some("America/New_York")).await;
    let gateway = gateway(&world);
    let cases = [
        (&paris, "2027-07-01 09:30:00", "2027-07-01T07:30:00Z"), // Paris summer, UTC+2
        (&paris, "2027-01-15 09:30:00", "2027-01-15T08:30:00Z"), // Paris winter, UTC+1
        (&paris, "2027-03-28 02:30:00", "2027-03-28T01:00:00Z"), // spring gap: the first instant after it
        (&paris, "2027-10-31 02:30:00", "2027-10-31T00:30:00Z"), // autumn overlap: the first occurrence
        (&new_york, "2027-01-15 09:30:00", "2027-01-15T14:30:00Z"),
        (&new_york, "2027-03-14 02:30:00", "2027-03-14T07:00:00Z"), // New York's own gap
    ];
    for (key, local, expected) in cases {
        let login = if key == &paris { "shop" } else { "nyshop" };
        let subject = format!("{login}@{key}|0612345678|date={local}");
        let id = world.receive(&world.email(&subject, &world.token)).await;
        let outcome = gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap().remove(0);
        assert_eq!(outcome, Outcome::Scheduled { message_id: id, due_at: utc(expected), cost: 1 }, "{login} {local}");
    }
}

#[tokio::test]
async fn past_near_and_too_far_dates() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let gateway = gateway(&world);

    let (_, past) = schedule_email(&world, &gateway, &key, "2026-11-01 09:30:00").await;
    assert!(matches!(past, Outcome::Sent { sent: 2, .. }), "a past date sends now: {past:?}");
    let (_, within_a_minute) = schedule_email(&world, &gateway, &key, "2026-11-25 13:00:30").await;
    assert!(matches!(within_a_minute, Outcome::Sent { sent: 2, .. }), "{within_a_minute:?}");
    let (_, too_far) = schedule_email(&world, &gateway, &key, "2027-11-26 13:00:01").await;
    assert!(matches!(too_far, Outcome::Rejected { status: StatusCode::InvalidDate, .. }), "{too_far:?}");
    let replies = world.replies();
    assert_eq!(replies.len(), 1, "only the refused date is answered: {replies:?}");
    assert!(replies[0].text.contains("365 jours"), "{:?}", replies[0]);
    assert_eq!(world.sms().len(), 4, "two numbers, sent now twice");
    assert_eq!(world.credits("shop").await, 6);
}
