//! Answers by SMS (two-way SMS), through the real gateway against the emulator: an inbound SMS
//! as End User Messaging publishes it (an SNS notification) finds the message it answers through
//! the provider's id (SNS's, whose index the checkpoints keep), is forwarded by email to the
//! sender once however often it is delivered, and STOP or START changes the number's place on
//! the account's opt-out list.

use chrono::Utc;
use mail2sms::domain::StatusCode;
use mail2sms::domain::answer::Keyword;
use mail2sms::domain::message::{MessageRecord, ReplyOutcome};
use mail2sms::domain::optout::{OptOut, OptOutList, OptOutSource};
use mail2sms::domain::recipient::Recipient;
use mail2sms::pipeline::Outcome;
use serde_json::{Value, json};

use crate::helpers::{Reply, World};

const FIRST: &str = "+33612345678";
const SECOND: &str = "+33698765432";

/// A world whose gateway keeps where answers go.
async fn two_way() -> World {
    World::with(|config| config.two_way = true).await
}

/// Sends an email to both numbers; returns its message id.
async fn send_to_both(world: &World, key: &str) -> String {
    let subject = format!("shop@{key}|0612345678;0698765432");
    let id = world.receive(&world.email(&subject, "Venez-vous demain ? Repondez OUI ou NON")).await;
    world.gateway().handle(world.ses_event(&id), &world.invocation()).await.unwrap();
    id
}

/// The provider's id of the SMS `number` was sent.
fn provider_id(record: &MessageRecord, number: &str) -> String {
    let recipient = record.recipients.iter().find(|r| r.number.e164() == number).expect("recipient");
    recipient.provider_id.clone().expect("a provider id")
}

/// events/inbound-sms.json: `from` answering the SMS of provider id `answers` with `text`.
fn inbound(inbound_id: &str, from: &str, answers: &str, text: &str) -> Value {
    let mut event: Value = serde_json::from_str(include_str!("../../events/inbound-sms.json")).unwrap();
    let mut message: Value = serde_json::from_str(event["Records"][0]["Sns"]["Message"].as_str().unwrap()).unwrap();
    message["inboundMessageId"] = json!(inbound_id);
    message["originationNumber"] = json!(from);
    message["previousPublishedMessageId"] = json!(answers);
    message["messageBody"] = json!(text);
    event["Records"][0]["Sns"]["Message"] = json!(message.to_string());
    event["Records"][0]["Sns"]["Timestamp"] = json!(Utc::now().to_rfc3339());
    event
}

async fn handle(world: &World, event: Value) -> Outcome {
    let outcomes = world.gateway().handle(event, &world.invocation()).await.unwrap();
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    outcomes.into_iter().next().unwrap()
}

/// The forwards of answers this world's gateway asked SES v2 to send.
fn forwards(world: &World) -> Vec<Reply> {
    world.replies().into_iter().filter(|reply| reply.subject.contains(" de +")).collect()
}

async fn account_list(world: &World) -> Vec<OptOut> {
    world.ledger.opt_outs_of(&OptOutList::Account("shop".into())).await.unwrap()
}

#[tokio::test]
async fn an_answer_is_forwarded_to_the_sender_once_however_often_it_is_delivered() {
    let world = two_way().await;
    let key = world.account("shop", 10).await;
    let id = send_to_both(&world, &key).await;
    let record = world.record(&id).await;
    assert_eq!(record.answers_to.as_deref(), Some(world.customer().as_str()));
    let text = format!("OUI, je serai la a 10h ({})", world.token);
    let event = inbound("in-1", FIRST, &provider_id(&record, FIRST), &text);

    let outcome = handle(&world, event.clone()).await;

    let sent =
        Outcome::Answered { message_id: id.clone(), keyword: None, forwarded: ReplyOutcome::Sent, repeated: false };
    assert_eq!(outcome, sent);
    let forwards = forwards(&world);
    assert_eq!(forwards.len(), 1, "{forwards:?}");
    let forward = &forwards[0];
    assert_eq!(forward.to.as_deref(), Some(world.customer().as_str()));
    assert_eq!(forward.subject, format!("Mail2SMS: réponse SMS de {FIRST}"));
    assert!(forward.text.contains(&text), "{}", forward.text);
    assert!(forward.text.contains(&format!("De : {FIRST}")), "{}", forward.text);
    assert!(forward.text.contains("envoyé à 2 destinataires"), "{}", forward.text);
    assert!(forward.text.contains(&format!("Référence : {id}")), "{}", forward.text);
    assert_eq!(forward.auto_submitted.as_deref(), Some("auto-replied"));
    let threaded = record.mail_message_id.as_deref().expect("the email's Message-ID");
    assert_eq!(forward.in_reply_to.as_deref(), Some(format!("<{threaded}>").as_str()));
    assert!(!forward.contains(&key), "never the API key");

    // SNS delivers at least once: the same SMS again forwards nothing.
    let again = handle(&world, event).await;
    let repeated =
        Outcome::Answered { message_id: id.clone(), keyword: None, forwarded: ReplyOutcome::Sent, repeated: true };
    assert_eq!(again, repeated);
    assert_eq!(self::forwards(&world).len(), 1);
}

#[tokio::test]
async fn stop_by_sms_lists_the_number_for_the_account_and_start_takes_it_off() {
    let world = two_way().await;
    let key = world.account("shop", 10).await;
    let id = send_to_both(&world, &key).await;
    let record = world.record(&id).await;
    assert_eq!(world.credits("shop").await, 8);

    let outcome = handle(&world, inbound("in-stop", SECOND, &provider_id(&record, SECOND), "Stop.")).await;

    assert_eq!(
        outcome,
        Outcome::Answered {
            message_id: id.clone(),
            keyword: Some(Keyword::Stop),
            forwarded: ReplyOutcome::Sent,
            repeated: false
        }
    );
    let listed = account_list(&world).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!((listed[0].number.e164(), listed[0].source), (SECOND, OptOutSource::Recipient));
    assert!(world.ledger.opt_outs_of(&OptOutList::Gateway).await.unwrap().is_empty(), "the account's list only");
    let forward = forwards(&world).pop().expect("the STOP forwarded");
    assert_eq!(forward.subject, format!("Mail2SMS: STOP de {SECOND}"));
    assert!(forward.text.contains("il est sur la liste d'opposition de votre compte"), "{}", forward.text);

    // The next email to that number alone is refused (114), not charged, not texted.
    let texted = world.sms().len();
    let next = world.receive(&world.email(&format!("shop@{key}|0698765432"), "Nouvelle offre")).await;
    let refused = handle(&world, world.ses_event(&next)).await;
    assert!(matches!(refused, Outcome::Rejected { status: StatusCode::NoValidRecipient, .. }), "{refused:?}");
    assert_eq!(world.credits("shop").await, 8);
    assert_eq!(world.sms().len(), texted);

    // START takes it off again; the next email reaches it.
    let outcome = handle(&world, inbound("in-start", SECOND, &provider_id(&record, SECOND), "Réabo")).await;
    assert!(matches!(outcome, Outcome::Answered { keyword: Some(Keyword::Start), .. }), "{outcome:?}");
    assert!(account_list(&world).await.is_empty());
    let forward = forwards(&world).pop().expect("the START forwarded");
    assert_eq!(forward.subject, format!("Mail2SMS: START de {SECOND}"));
    assert!(forward.text.contains("il n'est pas sur la liste d'opposition"), "{}", forward.text);
    let again = world.receive(&world.email(&format!("shop@{key}|0698765432"), "Nouvelle offre")).await;
    let sent = handle(&world, world.ses_event(&again)).await;
    assert!(matches!(sent, Outcome::Sent { sent: 1, .. }), "{sent:?}");
}

#[tokio::test]
async fn start_leaves_a_number_the_customer_listed_on_the_list() {
    let world = two_way().await;
    let key = world.account("shop", 10).await;
    let id = send_to_both(&world, &key).await;
    let record = world.record(&id).await;
    let listed = OptOut::new(
        &OptOutList::Account("shop".into()),
        Recipient::parse_e164(FIRST).unwrap(),
        OptOutSource::Customer,
        Utc::now(),
    );
    world.ledger.add_opt_outs(&[listed]).await.unwrap();

    let outcome = handle(&world, inbound("in-start", FIRST, &provider_id(&record, FIRST), "START")).await;

    assert!(matches!(outcome, Outcome::Answered { keyword: Some(Keyword::Start), .. }), "{outcome:?}");
    let list = account_list(&world).await;
    assert_eq!(list.iter().map(|entry| entry.source).collect::<Vec<_>>(), [OptOutSource::Customer]);
    let forward = forwards(&world).pop().expect("the START forwarded");
    assert!(forward.text.contains("il reste sur la liste d'opposition de votre compte"), "{}", forward.text);
}

#[tokio::test]
async fn an_answer_to_no_sms_of_ours_is_dropped_without_an_email() {
    let world = two_way().await;
    let key = world.account("shop", 10).await;
    let id = send_to_both(&world, &key).await;
    let record = world.record(&id).await;

    let unknown = handle(&world, inbound("in-unknown", FIRST, "no-such-provider-id", "STOP")).await;
    // The SMS to FIRST, answered from SECOND: not the number texted.
    let stranger = handle(&world, inbound("in-stranger", SECOND, &provider_id(&record, FIRST), "STOP")).await;

    assert_eq!((unknown, stranger), (Outcome::AnswerUnmatched, Outcome::AnswerUnmatched));
    assert!(forwards(&world).is_empty());
    assert!(account_list(&world).await.is_empty(), "nobody's STOP applied");
}

#[tokio::test]
async fn without_two_way_a_stop_still_applies_and_nothing_is_forwarded() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let id = send_to_both(&world, &key).await;
    let record = world.record(&id).await;
    assert_eq!(record.answers_to, None);

    let outcome = handle(&world, inbound("in-stop", FIRST, &provider_id(&record, FIRST), "ARRET SMS")).await;

    assert_eq!(
        outcome,
        Outcome::Answered {
            message_id: id,
            keyword: Some(Keyword::Stop),
            forwarded: ReplyOutcome::Skipped,
            repeated: false
        }
    );
    assert_eq!(account_list(&world).await.len(), 1);
    assert!(forwards(&world).is_empty());
}

#[tokio::test]
async fn the_log_of_an_answer_shows_neither_its_text_nor_the_number() {
    let logs = crate::logs::LogCapture::start();

    let world = two_way().await;
    let key = world.account("shop", 10).await;
    let id = send_to_both(&world, &key).await;
    let record = world.record(&id).await;
    let text = format!("Rappelez-moi {}", world.token);
    handle(&world, inbound("in-log-1", FIRST, &provider_id(&record, FIRST), &text)).await;
    handle(&world, inbound("in-log-2", SECOND, &provider_id(&record, SECOND), "STOP")).await;
    handle(&world, inbound("in-log-3", "+33611223344", "no-such-provider-id", &text)).await;

    let log = logs.text();
    assert!(log.contains("answer by SMS") && log.contains("dropped"), "the log says what happened: {log}");
    assert!(log.contains("+*********78") && log.contains("+*********44"), "numbers appear masked: {log}");
    for secret in [key.as_str(), text.as_str(), FIRST, SECOND, "+33611223344", "611223344"] {
        assert!(!log.contains(secret), "the log shows {secret:?}: {log}");
    }
}
