//! Dry runs (`dryrun` in the subject) through the real gateway against the emulator: every
//! check made, nothing sent (no SNS Publish), nothing debited (no transaction on the account),
//! nothing scheduled, the email recorded `previewed`, and one preview answered by SES v2; a
//! second delivery answers nothing more; a refusal the real send would get at its debit (104)
//! is told in the preview, an invalid request gets the ordinary error reply.

use chrono::{Duration, Utc};
use chrono_tz::Europe::Paris;
use mail2sms::aws::gateway;
use mail2sms::domain::StatusCode;
use mail2sms::domain::message::{MessageState, ReplyOutcome};
use mail2sms::domain::optout::{OptOut, OptOutList, OptOutSource};
use mail2sms::domain::recipient::Recipient;
use mail2sms::pipeline::Outcome;

use crate::helpers::faults::{Fault, FaultProxy, Rule};
use crate::helpers::{Reply, World, admin, stdout};

fn only(outcomes: Vec<Outcome>) -> Outcome {
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    outcomes.into_iter().next().unwrap()
}

/// The one email SES was asked to send, to the world's customer.
fn the_one_reply(world: &World) -> Reply {
    let replies = world.replies();
    assert_eq!(replies.len(), 1, "{replies:?}");
    let reply = replies.into_iter().next().unwrap();
    assert_eq!(reply.to.as_deref(), Some(world.customer().as_str()), "{reply:?}");
    reply
}

fn assert_says(reply: &Reply, lines: &[&str]) {
    for line in lines {
        assert!(reply.text.contains(line), "missing {line:?} in:\n{}", reply.text);
    }
}

#[tokio::test]
async fn a_dry_run_sends_nothing_debits_nothing_records_the_email_and_answers_one_preview() {
    let world = World::new().await;
    let key = world.account_with("shop", 10, Some("BOUTIQUE"), None).await;
    let proxy = FaultProxy::start().await;
    let gateway = gateway(&world.config, &world.through(&proxy));
    let body = format!("Soldes {} ce week-end", world.token);
    let subject = format!("shop@{key}|0612345678;+32 470 12 34 56;0123456789|from=MAGASIN|dryrun");
    let id = world.receive(&world.email(&subject, &body)).await;

    let outcome = only(gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap());

    assert_eq!(
        outcome,
        Outcome::Previewed { message_id: id.clone(), status: None, cost: 2, reply: ReplyOutcome::Sent }
    );
    assert!(world.sms().is_empty(), "nothing reached SNS");
    assert_eq!(proxy.count("sns", "Publish"), 0);
    assert_eq!(world.credits("shop").await, 10, "nothing debited");
    assert_eq!(proxy.count("dynamodb", "TransactWriteItems"), 0, "no debit was even tried");
    assert!(world.schedules().await.is_empty());
    let record = world.record(&id).await;
    assert_eq!((record.state, record.cost, record.parts), (MessageState::Previewed, 0, 1));
    assert_eq!((record.status, record.reply), (None, Some(ReplyOutcome::Sent)));
    assert!(record.recipients.is_empty() && record.text.is_none(), "nothing to send, no text kept: {record:?}");
    assert_eq!(record.dropped_count, 1);

    let reply = the_one_reply(&world);
    assert_eq!(reply.subject, "Mail2SMS: simulation, envoi accepté : 2 SMS, 2 crédits");
    assert_says(
        &reply,
        &[
            "aucun SMS n'a été envoyé, aucun crédit n'a été débité",
            "Résultat : l'envoi serait accepté.",
            "Destinataires retenus : 2",
            "Numéros refusés : 1",
            "- « 0123456789 » : numéro qui ne reçoit pas de SMS",
            "Encodage : GSM 7 bits",
            "Parties par SMS : 1",
            "Coût : 2 crédits (1 partie × 2 destinataires)",
            "Solde au moment de la simulation : 10 crédits",
            "Solde après l'envoi : 8 crédits",
            "Crédits suffisants : oui",
            "Départ : immédiat",
            "- +33612345678 : BOUTIQUE (émetteur par défaut du compte) : from= ne s'applique vers la France que si le message se termine par « STOP au 36180 »",
            "- +32470123456 : MAGASIN",
            &body,
        ],
    );
    assert!(!reply.text.contains("Status:"), "{}", reply.text);
    assert!(!reply.contains(&key), "the key never appears in a preview");
    assert_eq!(reply.auto_submitted.as_deref(), Some("auto-replied"));
    assert!(reply.in_reply_to.as_deref().is_some_and(|id| id.ends_with("@mail.example.com>")), "{reply:?}");

    // SES delivers the email again: nothing more is sent, debited or answered.
    let again = only(gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap());
    assert_eq!(again, Outcome::Duplicate { message_id: id.clone(), state: MessageState::Previewed });
    assert_eq!(world.replies().len(), 1, "no second preview");
    assert!(world.sms().is_empty());
    assert_eq!(world.credits("shop").await, 10);
    assert_eq!(world.record(&id).await, record);
}

#[tokio::test]
async fn a_dry_run_with_too_few_credits_says_104_in_the_preview() {
    let world = World::new().await;
    let key = world.account("shop", 1).await;
    let subject = format!("shop@{key}|0612345678;0698765432|dryrun=1");
    let id = world.receive(&world.email(&subject, &format!("Promo {}", world.token))).await;

    let outcome = only(world.gateway().handle(world.ses_event(&id), &world.invocation()).await.unwrap());

    assert_eq!(
        outcome,
        Outcome::Previewed {
            message_id: id.clone(),
            status: Some(StatusCode::InsufficientCredits),
            cost: 2,
            reply: ReplyOutcome::Sent
        }
    );
    assert!(world.sms().is_empty());
    assert_eq!(world.credits("shop").await, 1);
    let record = world.record(&id).await;
    assert_eq!((record.state, record.status), (MessageState::Previewed, Some(StatusCode::InsufficientCredits)));
    let reply = the_one_reply(&world);
    assert_eq!(reply.subject, "Mail2SMS: simulation, envoi refusé (erreur 104)", "the preview, not an error reply");
    assert_says(
        &reply,
        &[
            "Résultat : l'envoi serait refusé",
            "Status: 104",
            "StatusText: Crédit insuffisant pour traiter cet envoi. A utiliser: 2 Crédits, Disponibles: 1 Crédits.",
            "Solde au moment de la simulation : 1 crédit",
            "Crédits suffisants : non, il en manque 1 : l'envoi réel serait refusé (erreur 104)",
        ],
    );
    assert!(!reply.contains(&key));
}

#[tokio::test]
async fn an_invalid_dry_run_gets_the_ordinary_error_reply() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let no_number = world.receive(&world.email(&format!("shop@{key}|garbage|dryrun"), &world.token)).await;

    let outcome = only(world.gateway().handle(world.ses_event(&no_number), &world.invocation()).await.unwrap());

    assert_eq!(
        outcome,
        Outcome::Rejected {
            message_id: no_number.clone(),
            status: StatusCode::NoValidRecipient,
            reply: ReplyOutcome::Sent
        }
    );
    assert_eq!(world.record(&no_number).await.state, MessageState::Rejected);
    let reply = the_one_reply(&world);
    assert_eq!(reply.subject, "Mail2SMS: erreur 114");
    assert!(reply.text.starts_with("Status: 114"), "{}", reply.text);

    // A wrong key is 102 and nothing else: a stranger learns no balance from a dry run.
    let wrong_key = world.receive(&world.email("shop@not-the-key|0612345678|dryrun", &world.token)).await;
    let outcome = only(world.gateway().handle(world.ses_event(&wrong_key), &world.invocation()).await.unwrap());
    assert!(matches!(outcome, Outcome::Rejected { status: StatusCode::AuthenticationFailed, .. }), "{outcome:?}");
    let replies = world.replies();
    assert_eq!(replies.len(), 2, "{replies:?}");
    assert_eq!(replies[1].subject, "Mail2SMS: erreur 102");
    assert!(!replies[1].text.contains("crédit"), "{}", replies[1].text);
    // An option value it does not read is 109: never a real send.
    let typo = world.receive(&world.email(&format!("shop@{key}|0612345678|dryrun=oui"), &world.token)).await;
    let outcome = only(world.gateway().handle(world.ses_event(&typo), &world.invocation()).await.unwrap());
    assert!(matches!(outcome, Outcome::Rejected { status: StatusCode::InvalidRequest, .. }), "{outcome:?}");
    assert!(world.sms().is_empty());
    assert_eq!(world.credits("shop").await, 10);
}

#[tokio::test]
async fn opt_out_lists_are_read_never_written_and_named_in_the_preview() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let listed = Recipient::parse_e164("+33612345678").unwrap();
    let entry = OptOut::new(&OptOutList::Account("shop".into()), listed, OptOutSource::Operator, Utc::now());
    world.ledger.add_opt_outs(&[entry]).await.unwrap();
    let proxy = FaultProxy::start().await;
    let gateway = gateway(&world.config, &world.through(&proxy));
    let id = world.receive(&world.email(&format!("shop@{key}|0612345678;0698765432|dryrun"), "Bonjour")).await;

    let outcome = only(gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap());

    assert!(matches!(outcome, Outcome::Previewed { status: None, cost: 1, .. }), "{outcome:?}");
    let reply = the_one_reply(&world);
    assert_says(
        &reply,
        &[
            "Destinataires retenus : 1",
            "Numéros sur une liste d'opposition : 1 (ni envoyés, ni débités)",
            "- +33612345678 : liste d'opposition du compte",
            "Coût : 1 crédit (1 partie × 1 destinataire)",
        ],
    );
    // The lists were looked up by key (one BatchGetItem), and never written.
    assert_eq!(proxy.count("dynamodb", "BatchGetItem"), 1);
    let on_the_lists = proxy.count_where(|s| s.call.about.as_deref() == Some(world.config.opt_outs_table.as_str()));
    assert_eq!((on_the_lists, proxy.count("dynamodb", "BatchWriteItem")), (0, 0));
    assert_eq!(proxy.count("dynamodb", "TransactWriteItems"), 0);
    assert_eq!(world.credits("shop").await, 10);

    // Every number listed: the real send's 114, told in the preview.
    let all = world.receive(&world.email(&format!("shop@{key}|0612345678|dryrun"), "Bonjour")).await;
    let outcome = only(gateway.handle(world.ses_event(&all), &world.invocation()).await.unwrap());
    assert!(matches!(outcome, Outcome::Previewed { status: Some(StatusCode::NoValidRecipient), .. }), "{outcome:?}");
    let replies = world.replies();
    assert_eq!(replies[1].subject, "Mail2SMS: simulation, envoi refusé (erreur 114)");
    assert!(replies[1].text.contains("Status: 114"), "{}", replies[1].text);
}

#[tokio::test]
async fn a_dated_dry_run_says_when_and_schedules_nothing() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let local = (Utc::now() + Duration::days(2)).with_timezone(&Paris).format("%Y-%m-%d 10:30:00").to_string();
    let subject = format!("shop@{key}|0612345678|date={local}|dryrun");
    let id = world.receive(&world.email(&subject, "Rappel : rendez-vous demain")).await;

    let outcome = only(world.gateway().handle(world.ses_event(&id), &world.invocation()).await.unwrap());

    assert!(matches!(outcome, Outcome::Previewed { status: None, cost: 1, .. }), "{outcome:?}");
    assert!(world.schedules().await.is_empty(), "nothing scheduled");
    assert_eq!(world.credits("shop").await, 10);
    let day = &local[..10];
    let written = format!("{}/{}/{} à 10:30:00 (Europe/Paris)", &day[8..10], &day[5..7], &day[..4]);
    assert_says(&the_one_reply(&world), &[&format!("Départ : programmé le {written}")]);
}

#[tokio::test]
async fn the_operator_sees_a_dry_run_as_previewed_neither_sent_nor_rejected() {
    let world = World::new().await;
    let key = world.account("shop", 1).await;
    let accepted = world.receive(&world.email(&format!("shop@{key}|0612345678|dryrun"), "Bonjour")).await;
    let refused = world.receive(&world.email(&format!("shop@{key}|0612345678;0698765432|dryrun"), "Bonjour")).await;
    for id in [&accepted, &refused] {
        world.gateway().handle(world.ses_event(id), &world.invocation()).await.unwrap();
    }

    let listed: Vec<serde_json::Value> =
        stdout(&admin(&world, &["messages", "shop"])).lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed.iter().all(|message| message["state"] == "previewed" && message["cost"] == 0), "{listed:?}");
    let refused_line = listed.iter().find(|message| message["message_id"] == refused.as_str()).unwrap();
    assert_eq!(refused_line["status"], 104);
    let days: Vec<serde_json::Value> =
        stdout(&admin(&world, &["stats", "shop"])).lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(days.len(), 1, "{days:?}");
    let today = &days[0];
    assert_eq!((today["emails"].as_u64(), today["previewed"].as_u64()), (Some(2), Some(2)), "{today}");
    assert_eq!((today["accepted"].as_u64(), today["sms"].as_u64()), (Some(0), Some(0)), "{today}");
    assert_eq!(today["rejected"], serde_json::json!({}), "{today}");
    assert_eq!(today["credits_debited"], 0);
}

#[tokio::test]
async fn a_preview_ses_did_not_take_is_sent_by_the_retry_and_by_no_other_delivery() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let proxy = FaultProxy::start().await;
    proxy.inject(Rule::new("ses", "SendEmail", Fault::Status(503)));
    let gateway = gateway(&world.config, &world.through(&proxy));
    let id = world.receive(&world.email(&format!("shop@{key}|0612345678|dryrun"), "Bonjour")).await;
    let invocation = world.invocation();

    let first = gateway.handle(world.ses_event(&id), &invocation).await;

    assert!(matches!(&first, Err(error) if error.is_retryable()), "{first:?}");
    assert!(world.replies().is_empty());
    assert_eq!(world.record(&id).await.reply, Some(ReplyOutcome::Due));
    proxy.clear();
    // Another delivery of the email (SES's duplicate, at the same time as the first): no preview.
    let other = only(gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap());
    assert_eq!(other, Outcome::Duplicate { message_id: id.clone(), state: MessageState::Previewed });
    assert!(world.replies().is_empty());
    // Lambda's retry of the first: the preview, once.
    let retry = only(gateway.handle(world.ses_event(&id), &invocation).await.unwrap());
    assert!(matches!(retry, Outcome::Previewed { reply: ReplyOutcome::Sent, .. }), "{retry:?}");
    assert_eq!(world.replies().len(), 1);
    assert_eq!(world.record(&id).await.reply, Some(ReplyOutcome::Sent));
    let again = only(gateway.handle(world.ses_event(&id), &invocation).await.unwrap());
    assert!(matches!(again, Outcome::Duplicate { .. }), "{again:?}");
    assert_eq!(world.replies().len(), 1, "once sent, never again");
    assert!(world.sms().is_empty());
    assert_eq!(world.credits("shop").await, 10);
}
