//! The French marketing hours and the credit alerts (issue #9), through the real gateway and
//! `mail2sms-admin` against the emulator, at fixed instants (the gateway's injectable clock).

use crate::helpers::{Reply, World, admin, show, stderr, stdout};
use aws_sdk_scheduler::types::ActionAfterCompletion;
use chrono::{DateTime, TimeZone, Utc};
use futures::future::join_all;
use mail2sms::aws::AwsGateway;
use mail2sms::domain::StatusCode;
use mail2sms::domain::hours::{Hold, HoldReason};
use mail2sms::domain::message::{MessageState, schedule_name};
use mail2sms::pipeline::Outcome;
use mail2sms::ports::Ledger;
use serde_json::{Value, json};

/// Saturday 28 November 2026, 21:00 in Paris (UTC+1).
fn saturday_21h() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 20, 0, 0).unwrap()
}

/// Monday 30 November 2026, 08:00 in Paris: the next allowed minute after `saturday_21h`.
fn monday_8h() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 7, 0, 0).unwrap()
}

/// Whit Monday 2027 (17 May, a public holiday), 10:00 in Paris (UTC+2).
fn whit_monday_10h() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 5, 17, 8, 0, 0).unwrap()
}

/// Wednesday 25 November 2026 at 10:00, then 15:00, in Paris, and the next day at 09:00.
fn wednesday_10h() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()
}

fn wednesday_15h() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 14, 0, 0).unwrap()
}

fn thursday_9h() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 8, 0, 0).unwrap()
}

fn gateway_at(world: &World, clock: fn() -> DateTime<Utc>) -> AwsGateway {
    let mut gateway = world.gateway();
    gateway.clock = clock;
    gateway
}

/// A commercial text: it ends with the manual's STOP mention.
fn commercial(world: &World) -> String {
    format!("Soldes ce week-end, code {} STOP au 36180", world.token)
}

/// Sends an email with that subject and body through the gateway; returns its id and outcome.
async fn send(world: &World, gateway: &AwsGateway, subject: &str, body: &str) -> (String, Outcome) {
    let id = world.receive(&world.email(subject, body)).await;
    let mut outcomes = gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap();
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    (id, outcomes.remove(0))
}

/// The emails this world sent to `to`.
fn mails_to(world: &World, to: &str) -> Vec<Reply> {
    world.replies().into_iter().filter(|reply| reply.to.as_deref() == Some(to)).collect()
}

fn contact(world: &World) -> String {
    format!("ops@{}.example.com", world.token)
}

// ----- marketing hours -----

#[tokio::test]
async fn a_marketing_message_to_a_french_number_at_21_00_on_a_saturday_is_held_to_monday_08_00() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let gateway = gateway_at(&world, saturday_21h);

    let (id, outcome) =
        send(&world, &gateway, &format!("shop@{key}|0612345678;+4915112345678"), &commercial(&world)).await;

    assert_eq!(outcome, Outcome::Scheduled { message_id: id.clone(), due_at: monday_8h(), cost: 2 });
    assert_eq!(world.credits("shop").await, 8, "debited at acceptance");
    assert!(world.sms().is_empty(), "nothing goes out on Saturday night, the German number neither");
    assert!(world.replies().is_empty(), "a held message is no error");
    let record = world.record(&id).await;
    assert_eq!(record.state, MessageState::Scheduled);
    assert_eq!(record.due_at, Some(monday_8h()));
    assert_eq!(record.held, Some(Hold { reason: HoldReason::MarketingHours, original_due_at: saturday_21h() }));
    assert_eq!(record.local_date, None, "the customer asked for no date");
    let schedule = world.schedule(&schedule_name(&id)).await;
    assert_eq!(schedule.schedule_expression(), Some("at(2026-11-30T07:00:00)"));
    assert_eq!(schedule.action_after_completion(), Some(&ActionAfterCompletion::Delete));

    // Monday 08:00: the schedule's event sends it, once.
    let due = gateway.handle(json!({ "scheduled_send": id }), &world.invocation()).await.unwrap();
    assert!(matches!(due[..], [Outcome::Sent { sent: 2, .. }]), "{due:?}");
    assert_eq!(world.sms().len(), 2);
    assert_eq!(world.credits("shop").await, 8, "debited once");

    // The operator sees why it waited.
    let listed = stdout(&admin(&world, &["messages", "shop"]));
    let listed: Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    assert_eq!(listed["held"], json!({ "reason": "marketing_hours", "original_due_at": "2026-11-28T20:00:00.000Z" }));
}

#[tokio::test]
async fn on_whit_monday_at_10_00_a_marketing_message_waits_for_tuesday_08_00() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let gateway = gateway_at(&world, whit_monday_10h);

    let (id, outcome) = send(&world, &gateway, &format!("shop@{key}|0612345678"), &commercial(&world)).await;

    let tuesday_8h = Utc.with_ymd_and_hms(2027, 5, 18, 6, 0, 0).unwrap();
    assert_eq!(outcome, Outcome::Scheduled { message_id: id.clone(), due_at: tuesday_8h, cost: 1 });
    assert_eq!(world.record(&id).await.held.map(|hold| hold.original_due_at), Some(whit_monday_10h()));
    assert!(world.sms().is_empty());
}

#[tokio::test]
async fn a_date_outside_the_hours_is_held_from_that_date() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let gateway = gateway_at(&world, wednesday_10h);

    // Sunday 29 November 2026 at 10:00, Paris: held to Monday 08:00.
    let subject = format!("shop@{key}|0612345678|date=2026-11-29 10:00:00");
    let (id, outcome) = send(&world, &gateway, &subject, &commercial(&world)).await;

    assert_eq!(outcome, Outcome::Scheduled { message_id: id.clone(), due_at: monday_8h(), cost: 1 });
    let record = world.record(&id).await;
    assert_eq!(record.local_date.as_deref(), Some("2026-11-29 10:00:00"), "the date asked for, as written");
    let sunday_10h = Utc.with_ymd_and_hms(2026, 11, 29, 9, 0, 0).unwrap();
    assert_eq!(record.held.map(|hold| hold.original_due_at), Some(sunday_10h));
}

#[tokio::test]
async fn a_transactional_message_or_a_foreign_number_at_21_00_goes_now() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let gateway = gateway_at(&world, saturday_21h);

    let body = format!("Votre commande {} est prête", world.token);
    let (id, transactional) = send(&world, &gateway, &format!("shop@{key}|0612345678"), &body).await;
    assert!(matches!(transactional, Outcome::Sent { sent: 1, .. }), "{transactional:?}");
    assert_eq!(world.record(&id).await.held, None);
    let (_, abroad) = send(&world, &gateway, &format!("shop@{key}|+4915112345678"), &commercial(&world)).await;
    assert!(matches!(abroad, Outcome::Sent { sent: 1, .. }), "no French number: {abroad:?}");
    assert_eq!(world.sms().len(), 2);
}

#[tokio::test]
async fn an_account_that_takes_the_responsibility_sends_at_21_00() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    assert!(
        stdout(&admin(&world, &["account", "update", "shop", "--marketing-hours", "off"]))
            .contains("marketing hours off")
    );
    assert_eq!(show(&world, "shop")["marketing_hours"], "off");
    let gateway = gateway_at(&world, saturday_21h);

    let (id, outcome) = send(&world, &gateway, &format!("shop@{key}|0612345678"), &commercial(&world)).await;

    assert!(matches!(outcome, Outcome::Sent { sent: 1, .. }), "{outcome:?}");
    assert_eq!(world.record(&id).await.held, None);
    stdout(&admin(&world, &["account", "update", "shop", "--marketing-hours", "on"]));
    assert_eq!(show(&world, "shop")["marketing_hours"], "on");
    let (_, held) = send(&world, &gateway, &format!("shop@{key}|0612345678"), &commercial(&world)).await;
    assert!(matches!(held, Outcome::Scheduled { .. }), "{held:?}");
}

#[tokio::test]
async fn a_held_message_can_be_cancelled_and_refunded_once() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let gateway = gateway_at(&world, saturday_21h);
    let (id, _) = send(&world, &gateway, &format!("shop@{key}|0612345678;0698765432"), &commercial(&world)).await;
    assert_eq!(world.credits("shop").await, 8);

    assert!(stdout(&admin(&world, &["cancel", &id])).contains("2 credits refunded"));
    assert!(stdout(&admin(&world, &["cancel", &id])).contains("already cancelled"));

    assert_eq!(world.credits("shop").await, 10, "refunded once");
    let record = world.record(&id).await;
    assert_eq!(record.state, MessageState::Cancelled);
    assert!(world.schedules().await.is_empty(), "its schedule is deleted");
    let due = gateway.handle(json!({ "scheduled_send": id }), &world.invocation()).await.unwrap();
    assert_eq!(due, [Outcome::NothingDue { message_id: id }]);
    assert!(world.sms().is_empty());
}

// ----- credit alerts -----

#[tokio::test]
async fn the_low_credit_email_is_sent_once_until_credits_are_added_above_the_threshold() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let contact = contact(&world);
    let set = stdout(&admin(&world, &["account", "update", "shop", "--low-credit", "8", "--contact", &contact]));
    assert!(set.contains("low-credit alert below 8 credits") && set.contains(&contact), "{set}");
    let account = show(&world, "shop");
    assert_eq!((account["low_credit"].clone(), account["contact"].clone()), (json!(8), json!(contact)));
    let gateway = gateway_at(&world, wednesday_10h);
    let text = format!("Votre code {}", world.token);
    let subject = |numbers: &str| format!("shop@{key}|{numbers}");

    send(&world, &gateway, &subject("0612345678"), &text).await; // 9 left
    assert!(mails_to(&world, &contact).is_empty(), "9 is not below 8");
    send(&world, &gateway, &subject("0612345678;0698765432"), &text).await; // 7 left
    send(&world, &gateway, &subject("0612345678"), &text).await; // 6 left

    let alerts = mails_to(&world, &contact);
    assert_eq!(alerts.len(), 1, "two debits below the threshold, one email: {alerts:?}");
    assert_eq!(alerts[0].subject, "Mail2SMS: crédits bas, 7 crédits restants");
    assert!(alerts[0].text.contains("Crédits restants : 7") && alerts[0].text.contains("Seuil d'alerte : 8"));
    assert!(alerts[0].text.contains("compte shop"), "{}", alerts[0].text);
    assert_eq!(alerts[0].auto_submitted.as_deref(), Some("auto-generated"));
    assert!(!alerts[0].contains(&key), "never the key");
    assert_eq!(show(&world, "shop")["low_credit_alerted"], true);

    stdout(&admin(&world, &["credits", "add", "shop", "5"])); // 11: above the threshold again
    assert_eq!(show(&world, "shop")["low_credit_alerted"], false, "re-armed");
    send(&world, &gateway, &subject("0612345678;0698765432;0611223344;0622334455"), &text).await; // 7 left

    let alerts = mails_to(&world, &contact);
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert!(alerts[1].text.contains("Crédits restants : 7"), "{}", alerts[1].text);
    assert_eq!(world.sms().len(), 8, "the alerts held no SMS back");
}

#[tokio::test]
async fn emails_debited_at_the_same_moment_send_one_alert_of_each_kind() {
    let world = World::new().await;
    let key = world.account("shop", 20).await;
    let contact = contact(&world);
    stdout(&admin(&world, &["account", "update", "shop", "--low-credit", "16", "--contact", &contact]));
    let gateway = gateway_at(&world, wednesday_10h);
    // Five numbers: each email costs 5, so whatever balance it read, its own figure is below 16.
    let subject = format!("shop@{key}|0612345678;0698765432;0611223344;0622334455;0633445566");
    let text = format!("Votre code {}", world.token);
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(world.receive(&world.email(&subject, &text)).await);
    }
    let invocations: Vec<_> = ids.iter().map(|_| world.invocation()).collect();
    let runs = ids.iter().zip(&invocations).map(|(id, invocation)| gateway.handle(world.ses_event(id), invocation));
    let outcomes: Vec<Outcome> = join_all(runs).await.into_iter().flat_map(Result::unwrap).collect();

    let refused = outcomes.iter().filter(|outcome| matches!(outcome, Outcome::Rejected { .. })).count();
    assert_eq!(refused, 2, "four debited, two refused 104: {outcomes:?}");
    let alerts = mails_to(&world, &contact);
    assert_eq!(alerts.len(), 2, "one low-credit alert, one 104 alert: {alerts:?}");
    assert_eq!(alerts.iter().filter(|alert| alert.subject.contains("crédits bas")).count(), 1, "{alerts:?}");
    assert_eq!(alerts.iter().filter(|alert| alert.subject.contains("(104)")).count(), 1, "{alerts:?}");
}

#[tokio::test]
async fn credits_added_that_stay_below_the_threshold_do_not_re_arm_the_alert() {
    let world = World::new().await;
    let key = world.account("shop", 3).await;
    let contact = contact(&world);
    stdout(&admin(&world, &["account", "update", "shop", "--contact", &contact, "--low-credit", "5"]));
    let gateway = gateway_at(&world, wednesday_10h);
    let text = format!("Votre code {}", world.token);

    send(&world, &gateway, &format!("shop@{key}|0612345678"), &text).await; // 2 left: below 5, told
    stdout(&admin(&world, &["credits", "add", "shop", "1"])); // 3: still below
    send(&world, &gateway, &format!("shop@{key}|0612345678"), &text).await; // 2 left

    assert_eq!(mails_to(&world, &contact).len(), 1);
    assert_eq!(show(&world, "shop")["low_credit_alerted"], true);
}

#[tokio::test]
async fn a_104_is_told_to_the_contact_once_a_day() {
    let world = World::new().await;
    let key = world.account("shop", 1).await;
    let contact = contact(&world);
    stdout(&admin(&world, &["account", "update", "shop", "--contact", &contact]));
    let subject = format!("shop@{key}|0612345678;0698765432");
    let text = format!("Votre code {}", world.token);

    let (id, refused) = send(&world, &gateway_at(&world, wednesday_10h), &subject, &text).await;
    assert!(matches!(refused, Outcome::Rejected { status: StatusCode::InsufficientCredits, .. }), "{refused:?}");
    send(&world, &gateway_at(&world, wednesday_15h), &subject, &text).await;

    let alerts = mails_to(&world, &contact);
    assert_eq!(alerts.len(), 1, "once a day: {alerts:?}");
    assert_eq!(alerts[0].subject, "Mail2SMS: crédits insuffisants, envoi refusé (104)");
    let body = &alerts[0].text;
    assert!(body.contains("le 25/11/2026 à 10:00:00 (Europe/Paris)"), "{body}");
    assert!(body.contains("il demandait 2 crédits, le compte en a 1"), "{body}");
    assert!(body.contains(&format!("Référence : {id}")), "{body}");
    assert!(!alerts[0].contains(&key));
    assert_eq!(mails_to(&world, &world.customer()).len(), 2, "each 104 is still answered to its sender");

    send(&world, &gateway_at(&world, thursday_9h), &subject, &text).await;
    assert_eq!(mails_to(&world, &contact).len(), 2, "a new day, told again");
    assert_eq!(world.credits("shop").await, 1);
}

#[tokio::test]
async fn without_a_contact_nobody_is_told() {
    let world = World::new().await;
    let key = world.account("shop", 2).await;
    stdout(&admin(&world, &["account", "update", "shop", "--low-credit", "5"]));
    let gateway = gateway_at(&world, wednesday_10h);
    let text = format!("Votre code {}", world.token);

    send(&world, &gateway, &format!("shop@{key}|0612345678"), &text).await; // 1 left
    send(&world, &gateway, &format!("shop@{key}|0612345678;0698765432"), &text).await; // 104

    let replies = world.replies();
    assert_eq!(replies.len(), 1, "only the 104's answer to its sender: {replies:?}");
    assert_eq!(replies[0].to.as_deref(), Some(world.customer().as_str()));
    assert!(!world.ledger.account("shop").await.unwrap().unwrap().low_credit_alerted);
}

#[tokio::test]
async fn alert_settings_are_checked_and_can_be_removed() {
    let world = World::new().await;
    world.account("shop", 2).await;
    for (args, expected) in [
        (&["--contact", "Ops <ops@shop.example>"][..], "a contact is one plain email address"),
        (&["--contact", "ops@localhost"], "a contact is one plain email address"),
        (&["--low-credit", "0"], "0 credits: give a whole number from 1 to 1000000000"),
        (&["--low-credit", "-5"], "is not a number of credits"),
        (&["--marketing-hours", "maybe"], "on or off"),
        (&["--low-credit", "5", "--no-low-credit"], "cannot be used with"),
    ] {
        let args: Vec<&str> = ["account", "update", "shop"].iter().chain(args).copied().collect();
        let refused = stderr(&admin(&world, &args));
        assert!(refused.contains(expected), "{args:?}: {refused}");
    }
    let nobody = stderr(&admin(&world, &["account", "update", "nobody", "--low-credit", "5"]));
    assert!(nobody.contains("no account nobody"), "{nobody}");

    let set = stdout(&admin(&world, &["account", "update", "shop", "--low-credit", "5"]));
    assert!(set.contains("no contact yet"), "a threshold without a contact is said to send nothing: {set}");
    stdout(&admin(&world, &["account", "update", "shop", "--contact", " ops@shop.example "]));
    assert_eq!(show(&world, "shop")["contact"], "ops@shop.example");
    stdout(&admin(&world, &["account", "update", "shop", "--no-low-credit", "--no-contact"]));
    let account = show(&world, "shop");
    assert_eq!((account["low_credit"].clone(), account["contact"].clone()), (Value::Null, Value::Null));
    assert_eq!(account["marketing_hours"], "on", "the default");
}
