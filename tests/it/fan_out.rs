//! Large emails through the real gateway against the emulator: more recipients than one record
//! holds are debited once, written as a head and parts in one step, queued in SQS, and each
//! part is sent by the invocation the queue hands it to, each recipient once.

use std::collections::HashMap;

use mail2sms::domain::message::{Delivery, MessageState, PART_RECIPIENTS, part_id};
use mail2sms::domain::optout::{OptOut, OptOutList, OptOutSource};
use mail2sms::domain::recipient::Recipient;
use mail2sms::fan_out::batch_response;
use mail2sms::pipeline::Outcome;
use mail2sms::ports::Ledger;
use serde_json::{Value, json};

use crate::helpers::World;

/// A world whose parts go out as fast as the emulator answers.
async fn world() -> World {
    World::with(|config| config.send_rate = 10_000.0).await
}

fn numbers(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("+4479{:08}", 20_000_000 + i)).collect()
}

/// A date a few days ahead, as a subject writes it.
fn later() -> String {
    (chrono::Utc::now() + chrono::Duration::days(3)).format("%Y-%m-%d 09:30:00").to_string()
}

fn only(outcomes: Vec<Outcome>) -> Outcome {
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    outcomes.into_iter().next().unwrap()
}

/// A queue message as the event source mapping hands it over.
struct Queued {
    message_id: String,
    receipt: String,
    body: String,
}

/// Every message in the world's parts queue, taken (invisible until handed back or deleted).
async fn take_queued(world: &World) -> Vec<Queued> {
    let client = aws_sdk_sqs::Client::new(&world.sdk);
    let url = world.config.parts_queue_url.clone().unwrap();
    let mut taken = Vec::new();
    loop {
        let received = client.receive_message().queue_url(&url).max_number_of_messages(10).send().await.unwrap();
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return taken;
        }
        taken.extend(messages.into_iter().map(|m| Queued {
            message_id: m.message_id.unwrap(),
            receipt: m.receipt_handle.unwrap(),
            body: m.body.unwrap(),
        }));
    }
}

/// The SQS event of `batch`, as Lambda writes it.
fn sqs_event(batch: &[&Queued]) -> Value {
    let records: Vec<Value> = batch
        .iter()
        .map(|queued| {
            json!({
                "messageId": queued.message_id,
                "receiptHandle": queued.receipt,
                "body": queued.body,
                "attributes": { "ApproximateReceiveCount": "1" },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:parts",
                "awsRegion": "eu-west-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

/// Plays the event source mapping: hands every queued part to the function, one at a time,
/// and deletes those it did not hand back. Returns the outcomes.
async fn drain(world: &World) -> Vec<Outcome> {
    let gateway = world.gateway();
    let client = aws_sdk_sqs::Client::new(&world.sdk);
    let url = world.config.parts_queue_url.clone().unwrap();
    let mut outcomes = Vec::new();
    for queued in take_queued(world).await {
        let answer = gateway.handle(sqs_event(&[&queued]), &world.invocation()).await.unwrap();
        let response = batch_response(&answer);
        if response["batchItemFailures"].as_array().unwrap().is_empty() {
            client.delete_message().queue_url(&url).receipt_handle(&queued.receipt).send().await.unwrap();
        }
        outcomes.extend(answer);
    }
    outcomes
}

#[tokio::test]
async fn a_large_email_is_debited_once_queued_in_parts_and_each_number_texted_once() {
    let world = world().await;
    let key = world.account("shop", 5_000).await;
    let count = 4 * PART_RECIPIENTS + 1;
    let id = world.receive(&world.email(&format!("shop@{key}|{}", numbers(count).join(";")), "Bonjour")).await;

    let outcome = only(world.gateway().handle(world.ses_event(&id), &world.invocation()).await.unwrap());

    assert!(
        matches!(outcome, Outcome::InParts { parts: 5, recipients, cost, fresh: true, .. } if recipients == count && cost == count as u64),
        "{outcome:?}"
    );
    assert_eq!(world.credits("shop").await, 5_000 - count as u64, "debited once, for every number");
    assert!(world.sms().is_empty(), "nothing is sent by the invocation that accepts it");
    let head = world.record(&id).await;
    assert_eq!(head.state, MessageState::InParts);
    assert!(head.recipients.is_empty() && head.text.is_none());
    let first = world.record(&part_id(&id, 0)).await;
    assert_eq!(
        (first.recipients.len(), first.cost, first.part_of.as_deref()),
        (PART_RECIPIENTS, 250, Some(id.as_str()))
    );

    let outcomes = drain(&world).await;

    assert_eq!(outcomes.len(), 5, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| matches!(o, Outcome::Sent { state: MessageState::Sent, fresh: false, .. })));
    let mut texted: HashMap<String, usize> = HashMap::new();
    for sms in world.sms() {
        *texted.entry(sms.phone_number).or_default() += 1;
    }
    assert_eq!(texted.len(), count);
    assert!(texted.values().all(|&times| times == 1), "each number once");
    assert_eq!(world.credits("shop").await, 5_000 - count as u64, "nothing debited again");
    for index in 0..5 {
        let part = world.record(&part_id(&id, index)).await;
        assert_eq!(part.state, MessageState::Sent);
        assert_eq!(part.count(Delivery::Sent), part.recipients.len());
    }
}

#[tokio::test]
async fn a_part_handed_out_twice_and_the_email_delivered_twice_send_nothing_more() {
    let world = world().await;
    let key = world.account("shop", 5_000).await;
    let count = PART_RECIPIENTS * 4 + 10;
    let id = world.receive(&world.email(&format!("shop@{key}|{}", numbers(count).join(";")), "Bonjour")).await;
    world.gateway().handle(world.ses_event(&id), &world.invocation()).await.unwrap();
    let queued = take_queued(&world).await;
    assert_eq!(queued.len(), 5);

    let gateway = world.gateway();
    let first = gateway.handle(sqs_event(&[&queued[0]]), &world.invocation()).await.unwrap();
    let again = gateway.handle(sqs_event(&[&queued[0]]), &world.invocation()).await.unwrap();
    let email_again = only(gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap());

    assert!(matches!(only(first), Outcome::Sent { sent: PART_RECIPIENTS, .. }));
    assert!(matches!(only(again), Outcome::NothingDue { .. }), "the part's record says it is sent");
    assert!(matches!(email_again, Outcome::Duplicate { state: MessageState::InParts, .. }), "{email_again:?}");
    assert_eq!(world.sms().len(), PART_RECIPIENTS);
    assert_eq!(world.credits("shop").await, 5_000 - count as u64);
    assert_eq!(take_queued(&world).await.len(), 0, "the duplicate email queued nothing more");
}

#[tokio::test]
async fn a_part_another_invocation_holds_is_handed_back_to_the_queue() {
    let world = world().await;
    let key = world.account("shop", 5_000).await;
    let id = world.receive(&world.email(&format!("shop@{key}|{}", numbers(1_001).join(";")), "Bonjour")).await;
    world.gateway().handle(world.ses_event(&id), &world.invocation()).await.unwrap();
    let queued = take_queued(&world).await;
    // Another invocation took the first part and is still at it.
    let holder = world.invocation();
    let part = world.record(&part_id(&id, 0)).await;
    let lease = mail2sms::ports::Lease {
        owner: "another-invocation".into(),
        until: holder.deadline,
        attempt: "another-attempt".into(),
    };
    assert!(world.ledger.take_lease(&part, &lease, chrono::Utc::now()).await.unwrap());

    let answer = world.gateway().handle(sqs_event(&[&queued[0], &queued[1]]), &world.invocation()).await.unwrap();

    assert!(matches!(&answer[0], Outcome::Postponed { item, retryable: true, .. } if *item == queued[0].message_id));
    assert!(matches!(&answer[1], Outcome::Sent { .. }));
    assert_eq!(batch_response(&answer), json!({ "batchItemFailures": [{ "itemIdentifier": queued[0].message_id }] }));
    assert_eq!(world.sms().len(), PART_RECIPIENTS, "only the second part went out");
}

#[tokio::test]
async fn the_numbers_of_a_large_email_on_an_opt_out_list_are_neither_charged_nor_texted() {
    let world = world().await;
    let key = world.account("shop", 5_000).await;
    let all = numbers(1_200);
    let listed: Vec<OptOut> = [&all[3], &all[700]]
        .iter()
        .map(|n| {
            let number = Recipient::parse_e164(n).unwrap();
            OptOut::new(&OptOutList::Account("shop".into()), number, OptOutSource::Operator, chrono::Utc::now())
        })
        .collect();
    world.ledger.add_opt_outs(&listed).await.unwrap();
    let id = world.receive(&world.email(&format!("shop@{key}|{}", all.join(";")), "Bonjour")).await;

    world.gateway().handle(world.ses_event(&id), &world.invocation()).await.unwrap();
    drain(&world).await;

    assert_eq!(world.credits("shop").await, 5_000 - 1_198);
    let texted: Vec<String> = world.sms().into_iter().map(|sms| sms.phone_number).collect();
    assert_eq!(texted.len(), 1_198);
    assert!(!texted.contains(&all[3]) && !texted.contains(&all[700]));
    let part = world.record(&part_id(&id, 2)).await;
    assert_eq!(part.count(Delivery::OptedOut), 1, "the number at position 700 is in the third part");
}

#[tokio::test]
async fn the_most_recipients_an_email_may_name_are_written_in_one_step_within_dynamodbs_limits() {
    let world = world().await;
    let key = world.account("shop", 200_000).await;
    let count = mail2sms::domain::message::MAX_RECIPIENTS;
    // Unicode text of the longest an SMS may be, to a future date: written, not sent.
    let body = format!("{} {}", world.token, "ü".repeat(500));
    let subject = format!("shop@{key}|{}|from=MAGASIN|date={}", numbers(count).join(";"), later());
    let id = world.receive(&world.email(&subject, &body)).await;

    let outcome = only(world.gateway().handle(world.ses_event(&id), &world.invocation()).await.unwrap());

    assert!(matches!(outcome, Outcome::Scheduled { .. }), "{outcome:?}");
    let head = world.record(&id).await;
    let parts = head.fan_out.expect("in parts").parts;
    assert_eq!(parts, count / PART_RECIPIENTS);
    assert_eq!(world.credits("shop").await, 200_000 - head.cost);
    let last = world.record(&part_id(&id, parts - 1)).await;
    assert_eq!((last.state, last.recipients.len()), (MessageState::Scheduled, PART_RECIPIENTS));
}

#[tokio::test]
async fn a_scheduled_large_email_queues_its_parts_when_due() {
    let world = world().await;
    let key = world.account("shop", 5_000).await;
    let subject = format!("shop@{key}|{}|date={}", numbers(1_001).join(";"), later());
    let id = world.receive(&world.email(&subject, "Bonjour")).await;
    world.gateway().handle(world.ses_event(&id), &world.invocation()).await.unwrap();
    assert_eq!(take_queued(&world).await.len(), 0, "nothing queued before its date");

    let due = json!({ "scheduled_send": id });
    let outcome = only(world.gateway().handle(due, &world.invocation()).await.unwrap());
    let outcomes = drain(&world).await;

    assert!(matches!(outcome, Outcome::InParts { parts: 5, fresh: false, .. }), "{outcome:?}");
    assert_eq!(outcomes.len(), 5);
    assert_eq!(world.sms().len(), 1_001);
}

#[tokio::test]
async fn cancelling_a_scheduled_large_email_refunds_it_whole_and_its_parts_never_go() {
    let world = world().await;
    let key = world.account("shop", 5_000).await;
    let subject = format!("shop@{key}|{}|date={}", numbers(1_001).join(";"), later());
    let id = world.receive(&world.email(&subject, "Bonjour")).await;
    world.gateway().handle(world.ses_event(&id), &world.invocation()).await.unwrap();
    assert_eq!(world.credits("shop").await, 5_000 - 1_001);

    let printed = crate::helpers::stdout(&crate::helpers::admin(&world, &["cancel", &id]));
    let due = only(world.gateway().handle(json!({ "scheduled_send": id }), &world.invocation()).await.unwrap());

    assert!(printed.contains("1001 credits refunded"), "{printed}");
    assert_eq!(world.credits("shop").await, 5_000);
    assert!(matches!(due, Outcome::NothingDue { .. }), "{due:?}");
    for index in 0..5 {
        let part = world.record(&part_id(&id, index)).await;
        assert_eq!(part.state, MessageState::Cancelled);
        assert!(part.text.is_none());
    }
    assert!(world.sms().is_empty());
}

#[tokio::test]
async fn a_lost_answer_of_the_queue_queues_again_and_each_number_is_still_texted_once() {
    let world = world().await;
    let key = world.account("shop", 5_000).await;
    let id = world.receive(&world.email(&format!("shop@{key}|{}", numbers(1_001).join(";")), "Bonjour")).await;
    let proxy = crate::helpers::faults::FaultProxy::start().await;
    let rule =
        crate::helpers::faults::Rule::new("sqs", "SendMessageBatch", crate::helpers::faults::Fault::ForwardThenDrop);
    proxy.inject(rule.first(1));
    let faulty = mail2sms::aws::gateway(&world.config, &world.through(&proxy));

    let outcome = only(faulty.handle(world.ses_event(&id), &world.invocation()).await.unwrap());
    let outcomes = drain(&world).await;

    assert!(matches!(outcome, Outcome::InParts { parts: 5, .. }), "{outcome:?}");
    assert_eq!(proxy.faults_applied(), 1);
    let sent: Vec<&Outcome> = outcomes.iter().filter(|o| matches!(o, Outcome::Sent { .. })).collect();
    assert_eq!(sent.len(), 5, "each part sent once: {outcomes:?}");
    assert!(outcomes.iter().all(|o| matches!(o, Outcome::Sent { .. } | Outcome::NothingDue { .. })));
    assert_eq!(world.sms().len(), 1_001, "each number once, whatever the queue held twice");
    assert_eq!(world.credits("shop").await, 5_000 - 1_001);
}
