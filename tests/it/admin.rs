//! `mail2sms-admin` as the operator runs it: the real binary against the emulator.

use std::process::Output;

use crate::helpers::{World, admin, show, stdout};
use chrono::{DateTime, NaiveDate, SubsecRound, TimeZone, Utc};
use chrono_tz::Europe;
use mail2sms::domain::Rejection;
use mail2sms::domain::account::{MAX_CREDITS, new_api_key};
use mail2sms::domain::delivery::DeliveryReport;
use mail2sms::domain::message::{Delivery, MessageRecord, MessageState, RecipientRecord, sortable_time};
use mail2sms::domain::recipient::Recipient;
use mail2sms::domain::segments::Encoding;
use mail2sms::pipeline::Outcome;
use mail2sms::ports::{Ledger, Opening};
use serde_json::{Value, json};

#[tokio::test]
async fn accounts_are_created_shown_suspended_resumed_and_credited() {
    let world = World::new().await;

    let key = stdout(&admin(
        &world,
        &["account", "create", "boutique", "--credits", "5", "--sender", "BOUTIQUE", "--timezone", "Europe/Paris"],
    ));
    let key = key.trim();
    assert!(key.len() >= 32 && key.chars().all(|c| c.is_ascii_hexdigit()), "the key alone on stdout: {key:?}");
    let account = show(&world, "boutique");
    assert_eq!(account["login"], "boutique");
    assert_eq!(account["credits"], 5, "credits are a number");
    assert_eq!(account["sender"], "BOUTIQUE");
    assert_eq!(account["timezone"], "Europe/Paris");
    assert_eq!(account["suspended"], false);
    assert!(!account.to_string().contains(key), "show never prints the key");

    assert!(stdout(&admin(&world, &["credits", "add", "boutique", "7"])).contains("12"));
    assert_eq!(show(&world, "boutique")["credits"], 12);
    stdout(&admin(&world, &["account", "suspend", "boutique"]));
    assert_eq!(show(&world, "boutique")["suspended"], true);
    stdout(&admin(&world, &["account", "resume", "boutique"]));
    assert_eq!(show(&world, "boutique")["suspended"], false);
}

#[tokio::test]
async fn mistakes_are_refused_on_stderr_with_a_failure_status() {
    let world = World::new().await;
    stdout(&admin(&world, &["account", "create", "boutique"]));
    for args in [
        &["account", "create", "boutique"][..],
        &["account", "show", "nobody"],
        &["credits", "add", "nobody", "3"],
        &["account", "create", "x", "--sender", "1BAD"],
        &["account", "create", "y", "--timezone", "Mars/Olympus"],
        &["cancel", "no-such-message"],
    ] {
        let output = admin(&world, args);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(output.stdout.is_empty(), "{args:?} printed on stdout");
        assert!(!output.stderr.is_empty(), "{args:?} said nothing on stderr");
    }
}

#[tokio::test]
async fn a_refused_sender_or_time_zone_is_explained_to_the_operator_in_english() {
    let world = World::new().await;
    let stderr = refused(&admin(&world, &["account", "create", "boutique", "--sender", "é"]));
    assert!(stderr.contains("a sender is 3 to 11 unaccented letters, digits or spaces"), "{stderr}");
    assert!(stderr.contains("\"é\" is not one"), "quotes what was typed: {stderr}");
    assert!(!stderr.contains("from=") && !stderr.contains("doit"), "not the customer's status text: {stderr}");
    let stderr = refused(&admin(&world, &["account", "create", "boutique", "--timezone", "Mars/Olympus"]));
    assert!(stderr.contains("unknown time zone \"Mars/Olympus\""), "{stderr}");
    refused(&admin(&world, &["account", "show", "boutique"]));
}

#[tokio::test]
async fn a_rotated_key_replaces_the_old_one_at_once() {
    let world = World::new().await;
    let old = stdout(&admin(&world, &["account", "create", "boutique", "--credits", "5"])).trim().to_owned();
    let new = stdout(&admin(&world, &["account", "rotate-key", "boutique"])).trim().to_owned();
    assert_ne!(old, new);
    let gateway = world.gateway();
    for (key, expected_sent) in [(&old, false), (&new, true)] {
        let raw = world.email(&format!("boutique@{key}|0612345678"), &world.token);
        let id = world.receive(&raw).await;
        let outcome = gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap().remove(0);
        assert_eq!(matches!(outcome, Outcome::Sent { .. }), expected_sent, "{outcome:?}");
    }
}

#[tokio::test]
async fn messages_are_listed_newest_first_and_a_scheduled_one_can_be_cancelled_once() {
    let world = World::new().await;
    let key = stdout(&admin(&world, &["account", "create", "boutique", "--credits", "10"])).trim().to_owned();
    let gateway = world.gateway();
    let due = (chrono::Utc::now() + chrono::Duration::days(2)).format("%Y-%m-%d 09:30:00");
    let mut ids = Vec::new();
    for subject in [format!("boutique@{key}|0612345678"), format!("boutique@{key}|0612345678;0698765432|date={due}")] {
        let id = world.receive(&world.email(&subject, "Texte confidentiel")).await;
        gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap();
        ids.push(id);
    }

    let listing = stdout(&admin(&world, &["messages", "boutique", "--limit", "10"]));
    let lines: Vec<Value> = listing.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["message_id"], ids[1].as_str(), "newest first");
    assert_eq!(lines[0]["state"], "scheduled");
    assert!(lines[0]["due_at"].is_string());
    assert_eq!(lines[0]["cost"], 2);
    assert_eq!(lines[1]["state"], "sent");
    assert_eq!(lines[1]["recipients"][0]["delivery"], "sent");
    assert!(!listing.contains("confidentiel"), "the listing does not show SMS texts");
    assert_eq!(show(&world, "boutique")["credits"], 7);

    assert!(stdout(&admin(&world, &["cancel", &ids[1]])).contains("cancelled"));
    assert!(stdout(&admin(&world, &["cancel", &ids[1]])).contains("already cancelled"));
    assert_eq!(show(&world, "boutique")["credits"], 9, "refunded once");
    let failed = admin(&world, &["cancel", &ids[0]]);
    assert!(!failed.status.success(), "a sent message cannot be cancelled");
}

/// The stderr of a command that must fail: one line, and nothing on stdout.
fn refused(output: &Output) -> String {
    assert!(!output.status.success(), "succeeded: {}", String::from_utf8_lossy(&output.stdout));
    assert!(output.stdout.is_empty(), "printed on stdout: {}", String::from_utf8_lossy(&output.stdout));
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr:?}");
    stderr
}

/// The record a command printed last, as JSON.
fn printed_record(output: &Output) -> Value {
    let out = stdout(output);
    serde_json::from_str(out.lines().last().expect("a record")).unwrap()
}

#[tokio::test]
async fn an_amount_no_reader_could_take_back_is_refused_before_any_write() {
    let world = World::new().await;
    stdout(&admin(&world, &["account", "create", "boutique", "--credits", "5"]));

    for amount in ["18446744073709551615", "18446744073709551616", "1000000001", "0", "-3", "1e9"] {
        let stderr = refused(&admin(&world, &["credits", "add", "boutique", amount]));
        assert!(stderr.contains("1000000000"), "{amount}: says the bound: {stderr}");
    }
    assert_eq!(show(&world, "boutique")["credits"], 5, "nothing written, and the account still reads");

    for amount in ["0", "1000000001", "18446744073709551615", "-3"] {
        refused(&admin(&world, &["account", "create", "grande", "--credits", amount]));
    }
    refused(&admin(&world, &["account", "show", "grande"]));
}

#[tokio::test]
async fn an_add_that_would_pass_the_maximum_balance_is_refused() {
    let world = World::new().await;
    let max = MAX_CREDITS.to_string();
    stdout(&admin(&world, &["account", "create", "boutique", "--credits", &max]));
    assert_eq!(show(&world, "boutique")["credits"], MAX_CREDITS);
    let stderr = refused(&admin(&world, &["credits", "add", "boutique", "1"]));
    assert!(stderr.contains(&format!("its balance, {MAX_CREDITS}")), "says the balance: {stderr}");

    stdout(&admin(&world, &["account", "create", "presque", "--credits", "1"]));
    stdout(&admin(&world, &["credits", "add", "presque", &(MAX_CREDITS - 4).to_string()]));
    let stderr = refused(&admin(&world, &["credits", "add", "presque", "5"]));
    assert!(stderr.contains("at most 3 more"), "{stderr}");
    assert_eq!(show(&world, "presque")["credits"], MAX_CREDITS - 3);
    assert!(stdout(&admin(&world, &["credits", "add", "presque", "3"])).contains(&max), "up to the maximum itself");
    assert_eq!(show(&world, "presque")["credits"], MAX_CREDITS);
}

#[tokio::test]
async fn impossible_logins_are_refused_at_creation() {
    let world = World::new().await;
    let long = "a".repeat(65);
    let huge = "b".repeat(10_000);
    for login in [long.as_str(), &huge, "caf\u{e9}", "a b", "a|b", "a\nb", "<shop>"] {
        refused(&admin(&world, &["account", "create", login, "--credits", "5"]));
    }
    stdout(&admin(&world, &["account", "create", &"a".repeat(64)]));
    stdout(&admin(&world, &["account", "create", "shop+sms@example.com"]));
    assert_eq!(show(&world, "shop+sms@example.com")["credits"], 0);
}

/// A message as a dead invocation left it, written: recorded and debited, `accepted` under a
/// lease that ends `lease` from now (in the past: lapsed), its recipients as given.
async fn left_behind(
    world: &World,
    deliveries: &[(&str, Delivery)],
    parts: u32,
    lease: chrono::Duration,
) -> MessageRecord {
    let record = unwritten(world, deliveries, parts, lease);
    write(world, &record).await;
    record
}

async fn write(world: &World, record: &MessageRecord) {
    assert_eq!(world.ledger.open(record, None).await.unwrap(), Opening::Opened);
}

/// The same message, not written yet (to change it first).
fn unwritten(world: &World, deliveries: &[(&str, Delivery)], parts: u32, lease: chrono::Duration) -> MessageRecord {
    let mut record = MessageRecord::new(&format!("{}{}", world.token, new_api_key()), Utc::now());
    record.login = Some("boutique".to_owned());
    record.text = Some(format!("Votre commande {} est prete", world.token));
    record.encoding = Some(Encoding::Gsm7);
    record.parts = parts;
    record.recipients = deliveries
        .iter()
        .map(|&(number, delivery)| RecipientRecord {
            delivery,
            provider_id: (delivery == Delivery::Sent).then(|| "provider-id".to_owned()),
            ..RecipientRecord::pending(Recipient::parse_e164(number).unwrap(), None)
        })
        .collect();
    record.cost = u64::from(parts) * record.recipients.len() as u64;
    record.lease_owner = Some("a-dead-invocation".to_owned());
    record.lease_until = Some((Utc::now() + lease).timestamp());
    record
}

fn lapsed() -> chrono::Duration {
    chrono::Duration::seconds(-60)
}

#[tokio::test]
async fn settle_refund_gives_back_the_parts_of_each_recipient_in_doubt_once() {
    let world = World::new().await;
    stdout(&admin(&world, &["account", "create", "boutique", "--credits", "10"]));
    let record = left_behind(
        &world,
        &[("+33612345678", Delivery::Unknown), ("+33698765432", Delivery::Sent), ("+33611223344", Delivery::Unknown)],
        3,
        lapsed(),
    )
    .await;
    let id = record.message_id.as_str();

    let settled = printed_record(&admin(&world, &["settle", id, "--refund"]));
    assert_eq!(show(&world, "boutique")["credits"], 16, "2 recipients × 3 parts");
    assert_eq!(settled["refunded"], 6);
    let deliveries: Vec<&str> =
        settled["recipients"].as_array().unwrap().iter().map(|r| r["delivery"].as_str().unwrap()).collect();
    assert_eq!(deliveries, ["failed", "sent", "failed"]);
    assert_eq!(settled["recipients"][0]["reason"], "refunded by the operator");
    assert_eq!(settled["recipients"][2]["reason"], "refunded by the operator");
    let refunded: Vec<bool> =
        settled["recipients"].as_array().unwrap().iter().map(|r| r["refunded"].as_bool().unwrap()).collect();
    assert_eq!(refunded, [true, false, true]);

    let again = stdout(&admin(&world, &["settle", id, "--refund"]));
    assert_eq!(show(&world, "boutique")["credits"], 16, "refunded once");
    assert!(again.contains("nothing changed"), "{again}");
    let again = stdout(&admin(&world, &["settle", id, "--refund", "06 12 34 56 78"]));
    assert!(again.contains("nothing changed"), "{again}");
    assert_eq!(show(&world, "boutique")["credits"], 16, "refunded once");
    assert_eq!(world.record(id).await.refunded, 6);
    assert!(world.sms().is_empty(), "a refund sends nothing");
}

#[tokio::test]
async fn settle_refund_of_named_numbers_refunds_only_those() {
    let world = World::new().await;
    stdout(&admin(&world, &["account", "create", "boutique", "--credits", "10"]));
    let record =
        left_behind(&world, &[("+33612345678", Delivery::Unknown), ("+33611223344", Delivery::Unknown)], 2, lapsed())
            .await;
    let id = record.message_id.as_str();

    refused(&admin(&world, &["settle", id, "--refund", "0699999999"]));
    refused(&admin(&world, &["settle", id, "--refund", "not a number"]));
    assert!(!admin(&world, &["settle", id]).status.success(), "--resend or --refund");
    refused(&admin(&world, &["settle", "no-such-message", "--refund"]));
    assert_eq!(show(&world, "boutique")["credits"], 10, "nothing refunded by a mistake");

    let settled = printed_record(&admin(&world, &["settle", id, "--refund", "0033 6 11 22 33 44"]));
    assert_eq!(show(&world, "boutique")["credits"], 12);
    assert_eq!(settled["recipients"][0]["delivery"], "unknown");
    assert_eq!(settled["recipients"][1]["delivery"], "failed");
}

#[tokio::test]
async fn settle_resend_sends_a_recipient_in_doubt_once_and_a_second_resend_nothing() {
    let world = World::new().await;
    stdout(&admin(&world, &["account", "create", "boutique", "--credits", "10"]));
    let record =
        left_behind(&world, &[("+33612345678", Delivery::Sent), ("+33611223344", Delivery::Unknown)], 1, lapsed())
            .await;
    let id = record.message_id.as_str();

    let resent = printed_record(&admin(&world, &["settle", id, "--resend"]));
    let sms = world.sms();
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert_eq!(sms[0].phone_number, "+33611223344");
    assert_eq!(resent["state"], "sent");
    assert_eq!(resent["recipients"][1]["delivery"], "sent");
    assert_eq!(resent["recipients"][1]["reason"], "resent by the operator");
    assert_eq!(resent["recipients"][1]["refunded"], false);

    let again = stdout(&admin(&world, &["settle", id, "--resend"]));
    assert!(again.contains("nothing changed"), "{again}");
    assert_eq!(world.sms().len(), 1, "sent once");
    assert_eq!(world.record(id).await.state, MessageState::Sent);
    assert_eq!(show(&world, "boutique")["credits"], 10, "a resend is not charged again");
}

#[tokio::test]
async fn a_message_without_its_text_cannot_be_resent_only_refunded() {
    let world = World::new().await;
    stdout(&admin(&world, &["account", "create", "boutique", "--credits", "10"]));
    let mut settled =
        unwritten(&world, &[("+33612345678", Delivery::Sent), ("+33611223344", Delivery::Unknown)], 1, lapsed());
    settled.state = MessageState::PartiallyFailed;
    settled.text = None;
    settled.lease_owner = None;
    settled.lease_until = None;
    write(&world, &settled).await;

    let stderr = refused(&admin(&world, &["settle", &settled.message_id, "--resend"]));
    assert!(stderr.contains("--refund"), "{stderr}");
    assert_eq!(world.record(&settled.message_id).await.recipients[1].delivery, Delivery::Unknown, "nothing changed");
    assert!(world.sms().is_empty());
    stdout(&admin(&world, &["settle", &settled.message_id, "--refund"]));
    assert_eq!(show(&world, "boutique")["credits"], 11);
}

#[tokio::test]
async fn settle_leaves_alone_a_recipient_in_doubt_that_a_provider_reported_since() {
    let world = World::new().await;
    stdout(&admin(&world, &["account", "create", "boutique", "--credits", "10"]));
    let mut record = unwritten(
        &world,
        &[
            ("+33612345678", Delivery::Unknown),
            ("+33611223344", Delivery::Unknown),
            ("+33698765432", Delivery::Unknown),
        ],
        2,
        lapsed(),
    );
    record.state = MessageState::Failed;
    write(&world, &record).await;
    let id = record.message_id.as_str();
    // The provider's word on the first one comes after all, after the send left it in doubt.
    let word = report(Delivery::Delivered, Utc::now().trunc_subsecs(3), None, None);
    assert!(world.ledger.report(&record, 0, &word).await.unwrap());

    let named = stdout(&admin(&world, &["settle", id, "--refund", "06 12 34 56 78"]));
    assert!(named.contains("+33612345678 is delivered, not in doubt: left as it is"), "its reported fate: {named}");
    assert!(named.contains("no recipient in doubt among those named; nothing changed"), "{named}");
    assert_eq!(show(&world, "boutique")["credits"], 10, "nothing refunded");

    let one = stdout(&admin(&world, &["settle", id, "--refund", "06 98 76 54 32"]));
    assert!(one.contains("1 recipient in doubt refunded, 2 credits back to boutique"), "{one}");
    assert!(world.record(id).await.text.is_some(), "kept while another one in doubt may still be resent");

    let settled = stdout(&admin(&world, &["settle", id, "--refund"]));
    assert!(
        settled.contains("1 recipient in doubt refunded, 2 credits back to boutique"),
        "only the unreported: {settled}"
    );
    let printed: Value = serde_json::from_str(settled.lines().last().unwrap()).unwrap();
    let deliveries: Vec<&str> =
        printed["recipients"].as_array().unwrap().iter().map(|r| r["delivery"].as_str().unwrap()).collect();
    assert_eq!(deliveries, ["delivered", "failed", "failed"]);
    assert_eq!(show(&world, "boutique")["credits"], 14);
    let stored = world.record(id).await;
    assert_eq!((stored.refunded, stored.text), (4, None), "nothing left to send: the text is forgotten");
    assert!(world.sms().is_empty());
}

#[tokio::test]
async fn settle_leaves_a_message_a_live_invocation_holds() {
    let world = World::new().await;
    stdout(&admin(&world, &["account", "create", "boutique", "--credits", "10"]));
    let held = left_behind(&world, &[("+33612345678", Delivery::Unknown)], 1, chrono::Duration::seconds(300)).await;
    for decision in ["--refund", "--resend"] {
        let stderr = refused(&admin(&world, &["settle", &held.message_id, decision]));
        assert!(stderr.contains("held by a live invocation"), "{decision}: {stderr}");
    }
    assert_eq!(world.record(&held.message_id).await.recipients[0].delivery, Delivery::Unknown, "nothing changed");
    assert_eq!(show(&world, "boutique")["credits"], 10);
    assert!(world.sms().is_empty());
}

#[tokio::test]
async fn resume_finishes_a_message_stuck_past_its_lease_and_leaves_a_live_one() {
    let world = World::new().await;
    stdout(&admin(&world, &["account", "create", "boutique", "--credits", "10"]));
    let stuck = left_behind(
        &world,
        &[("+33612345678", Delivery::Pending), ("+33611223344", Delivery::Pending), ("+33698765432", Delivery::Sent)],
        1,
        lapsed(),
    )
    .await;
    let live = left_behind(&world, &[("+33677889900", Delivery::Pending)], 1, chrono::Duration::seconds(300)).await;

    let resumed = printed_record(&admin(&world, &["resume", &stuck.message_id]));
    assert_eq!(resumed["state"], "sent");
    let mut numbers: Vec<String> = world.sms().into_iter().map(|sms| sms.phone_number).collect();
    numbers.sort();
    assert_eq!(numbers, ["+33611223344", "+33612345678"], "the pending ones, once each");

    let stderr = refused(&admin(&world, &["resume", &live.message_id]));
    assert!(stderr.contains("live"), "{stderr}");
    assert_eq!(world.record(&live.message_id).await.recipients[0].delivery, Delivery::Pending);

    refused(&admin(&world, &["resume", &stuck.message_id]));
    assert_eq!(world.sms().len(), 2, "a finished message is not resumed");
}

#[tokio::test]
async fn stuck_messages_are_listed_for_a_login_and_over_the_whole_table() {
    let world = World::new().await;
    stdout(&admin(&world, &["account", "create", "boutique", "--credits", "10"]));
    let stuck = left_behind(&world, &[("+33612345678", Delivery::Pending)], 1, lapsed()).await;
    let mut unleased = unwritten(&world, &[("+33612345678", Delivery::Unknown)], 1, lapsed());
    unleased.lease_owner = None;
    unleased.lease_until = None;
    write(&world, &unleased).await;
    let live = left_behind(&world, &[("+33612345678", Delivery::Pending)], 1, chrono::Duration::seconds(300)).await;
    let mut sent = unwritten(&world, &[("+33612345678", Delivery::Sent)], 1, lapsed());
    sent.state = MessageState::Sent;
    write(&world, &sent).await;

    let ids = |output: Output| -> Vec<String> {
        let listing = stdout(&output);
        let mut ids: Vec<String> = listing
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap()["message_id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let mut expected = vec![stuck.message_id.clone(), unleased.message_id.clone()];
    expected.sort();
    assert_eq!(ids(admin(&world, &["messages", "--stuck", "boutique"])), expected);
    assert_eq!(ids(admin(&world, &["messages", "--stuck"])), expected, "over the whole table");
    assert!(ids(admin(&world, &["messages", "--stuck", "nobody"])).is_empty());
    assert_eq!(ids(admin(&world, &["messages", "boutique"])).len(), 4, "without --stuck, all of them");
    assert!(!expected.contains(&live.message_id) && !expected.contains(&sent.message_id));
    refused(&admin(&world, &["messages"]));
}

/// A recipient of `number` as the sender left it, with the provider's word when given.
fn recipient(number: &str, delivery: Delivery, report: Option<DeliveryReport>) -> RecipientRecord {
    RecipientRecord {
        delivery,
        provider_id: delivery.was_taken().then(|| format!("provider-{number}")),
        report,
        ..RecipientRecord::pending(Recipient::parse_e164(number).unwrap(), None)
    }
}

fn report(delivery: Delivery, at: DateTime<Utc>, reason: Option<&str>, price: Option<&str>) -> DeliveryReport {
    DeliveryReport { delivery, at, reason: reason.map(str::to_owned), price: price.map(str::to_owned), refunded: false }
}

#[tokio::test]
async fn messages_show_each_recipient_s_fate_and_the_provider_s_word_but_never_the_text() {
    let world = World::new().await;
    stdout(&admin(&world, &["account", "create", "boutique", "--credits", "10"]));
    let reported_at = Utc::now().trunc_subsecs(3) - chrono::Duration::minutes(5);
    let mut record = unwritten(&world, &[], 2, lapsed());
    record.state = MessageState::PartiallyFailed;
    record.lease_attempt = Some("attempt-1".to_owned());
    record.settled_at = Some(reported_at - chrono::Duration::minutes(1));
    let mut failed_report = report(Delivery::Failed, reported_at, Some("UNREACHABLE"), Some("0.0065"));
    failed_report.refunded = true;
    record.recipients = vec![
        recipient("+33612345678", Delivery::Sent, Some(report(Delivery::Delivered, reported_at, None, Some("0.0645")))),
        RecipientRecord {
            error: Some("Invalid parameter: PhoneNumber".to_owned()),
            ..recipient("+33698765432", Delivery::Failed, None)
        },
        recipient("+33611223344", Delivery::Sent, Some(failed_report)),
        recipient("+33677889900", Delivery::Sent, None),
    ];
    record.cost = 8;
    record.refunded = 4;
    write(&world, &record).await;

    let listing = stdout(&admin(&world, &["messages", "boutique"]));
    let printed: Value = serde_json::from_str(listing.lines().next().unwrap()).unwrap();
    let recipients = printed["recipients"].as_array().unwrap();
    let changed_at = sortable_time::format(&reported_at);
    assert_eq!(
        recipients[0],
        json!({
            "number": "+33612345678",
            "delivery": "delivered",
            "provider_id": "provider-+33612345678",
            "changed_at": changed_at,
            "price": "0.0645",
            "refunded": false,
        })
    );
    assert_eq!(
        recipients[1],
        json!({
            "number": "+33698765432",
            "delivery": "failed",
            "reason": "Invalid parameter: PhoneNumber",
            "refunded": true,
        }),
        "refused when sent: the sender's reason, refunded"
    );
    assert_eq!(recipients[2]["delivery"], "failed");
    assert_eq!(recipients[2]["reason"], "UNREACHABLE");
    assert_eq!(recipients[2]["price"], "0.0065");
    assert_eq!(recipients[2]["refunded"], true, "refunded on the provider's report");
    assert_eq!(
        recipients[3],
        json!({
            "number": "+33677889900",
            "delivery": "sent",
            "provider_id": "provider-+33677889900",
            "refunded": false,
        })
    );
    assert_eq!(printed["state"], "partially_failed");
    assert_eq!((printed["cost"].as_u64(), printed["refunded"].as_u64()), (Some(8), Some(4)));
    for private in ["text", "lease_owner", "lease_until", "lease_attempt", "expires_at"] {
        assert!(printed.get(private).is_none(), "{private} is not shown: {printed}");
    }
    assert!(!listing.contains("commande") && !listing.contains("prete"), "the SMS text never shows: {listing}");
}

/// `at` o'clock on `date`, in Paris.
fn paris(date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    let local = date.and_hms_opt(hour, minute, 0).unwrap();
    Europe::Paris.from_local_datetime(&local).earliest().unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn stats_count_an_account_s_days_in_its_time_zone() {
    let world = World::new().await;
    stdout(&admin(&world, &["account", "create", "boutique", "--credits", "10", "--timezone", "Europe/Paris"]));
    let today = Utc::now().with_timezone(&Europe::Paris).date_naive();
    let day = today - chrono::Duration::days(3);
    let (before, after) = (day - chrono::Duration::days(1), day + chrono::Duration::days(1));

    // Late on `day` in Paris (the next day already in some time zones): sent to two numbers,
    // one delivered, one refused and refunded.
    let mut sent = unwritten(&world, &[], 2, lapsed());
    sent.received_at = paris(day, 23, 30);
    sent.state = MessageState::PartiallyFailed;
    sent.settled_at = Some(sent.received_at);
    sent.recipients = vec![
        recipient("+33612345678", Delivery::Sent, Some(report(Delivery::Delivered, sent.received_at, None, None))),
        recipient("+33698765432", Delivery::Failed, None),
    ];
    sent.cost = 4;
    sent.refunded = 2;
    write(&world, &sent).await;
    // Just after midnight: refused for want of credits.
    let rejection = Rejection::insufficient_credits(3, 1);
    let mut rejected =
        MessageRecord::rejected(&format!("{}{}", world.token, new_api_key()), paris(after, 0, 30), &rejection);
    rejected.login = Some("boutique".to_owned());
    write(&world, &rejected).await;
    // Later that day: scheduled for one number, still to be sent.
    let mut scheduled = unwritten(&world, &[("+33611223344", Delivery::Pending)], 1, lapsed());
    scheduled.received_at = paris(after, 10, 0);
    scheduled.state = MessageState::Scheduled;
    scheduled.due_at = Some(Utc::now() + chrono::Duration::days(10));
    write(&world, &scheduled).await;
    // The day before: outside the period asked first.
    let mut earlier = unwritten(&world, &[("+33611223344", Delivery::Sent)], 1, lapsed());
    earlier.received_at = paris(before, 12, 0);
    earlier.state = MessageState::Sent;
    earlier.settled_at = Some(earlier.received_at);
    write(&world, &earlier).await;

    let days = |args: &[&str]| -> Vec<Value> {
        let mut command = vec!["stats", "boutique"];
        command.extend(args);
        stdout(&admin(&world, &command)).lines().map(|line| serde_json::from_str(line).unwrap()).collect()
    };
    let (since, until) = (day.to_string(), after.to_string());
    let printed = days(&["--since", &since, "--until", &until]);
    assert_eq!(printed.len(), 2, "{printed:?}");
    assert_eq!(
        printed[0],
        json!({
            "date": since, "emails": 1, "accepted": 1, "rejected": {}, "dropped": 0, "previewed": 0, "sms": 2, "parts": 4,
            "delivered": 1, "failed": 1, "unknown": 0, "open": 0, "opted_out": 0, "credits_debited": 4,
            "credits_refunded": 2,
        })
    );
    assert_eq!(
        printed[1],
        json!({
            "date": until, "emails": 2, "accepted": 1, "rejected": { "104": 1 }, "dropped": 0, "previewed": 0, "sms": 1, "parts": 1,
            "delivered": 0, "failed": 0, "unknown": 0, "open": 1, "opted_out": 0, "credits_debited": 1,
            "credits_refunded": 0,
        })
    );

    let last_thirty = days(&[]);
    let dates: Vec<&str> = last_thirty.iter().map(|d| d["date"].as_str().unwrap()).collect();
    assert_eq!(dates, [before.to_string(), since.clone(), until.clone()], "oldest first, the last 30 days");
    assert_eq!(last_thirty[0]["unknown"], 1, "sent three days and more ago, never reported: closed unknown");
    assert!(days(&["--since", &today.to_string()]).is_empty(), "no message today");

    let stderr = refused(&admin(&world, &["stats", "boutique", "--since", &until, "--until", &since]));
    assert!(stderr.contains("before it begins"), "{stderr}");
    let year_ago = (day - chrono::Duration::days(366)).to_string();
    let stderr = refused(&admin(&world, &["stats", "boutique", "--since", &year_ago, "--until", &since]));
    assert!(stderr.contains("at most 366"), "{stderr}");
    refused(&admin(&world, &["stats", "nobody"]));
    assert!(!admin(&world, &["stats", "boutique", "--since", "01/11/2026"]).status.success(), "YYYY-MM-DD only");
}

#[tokio::test]
async fn receipts_are_set_per_account_and_an_unknown_setting_is_refused() {
    let world = World::new().await;
    world.account("boutique", 0).await;
    assert_eq!(show(&world, "boutique")["receipts"], "none", "none by default, as the manual");

    let set = stdout(&admin(&world, &["account", "update", "boutique", "--receipts", "failures"]));
    assert_eq!(set.trim(), "account boutique: receipts failures", "only what changed is said");
    assert_eq!(show(&world, "boutique")["receipts"], "failures");

    let refused = admin(&world, &["account", "update", "boutique", "--receipts", "sometimes"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("none, failures or all"));
    assert_eq!(show(&world, "boutique")["receipts"], "failures");
    assert!(!admin(&world, &["account", "update", "nobody", "--receipts", "all"]).status.success());
}
