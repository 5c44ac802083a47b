//! The pipeline end to end, with real SDK clients against the emulator: what reached SNS, SES
//! and DynamoDB after an email went through.

use crate::helpers::{World, email};
use futures::future::join_all;
use mail2sms::domain::StatusCode;
use mail2sms::domain::message::{Delivery, Discard, MessageState, ReplyOutcome};
use mail2sms::pipeline::{Outcome, PipelineError};

fn only(outcomes: Vec<Outcome>) -> Outcome {
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    outcomes.into_iter().next().unwrap()
}

#[tokio::test]
async fn an_email_becomes_sms_with_the_custom_sender_and_is_debited_once() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let body = format!("Votre commande {} est prête. STOP au 36180", world.token);
    let raw = world.email(&format!("shop@{key}|06 12 34 56 78;+32 470 12 34 56|from=MAGASIN"), &body);
    let id = world.receive(&raw).await;

    let outcome = only(world.gateway().handle(world.ses_event(&id), &world.invocation()).await.unwrap());

    assert!(matches!(outcome, Outcome::Sent { sent: 2, failed: 0, cost: 2, .. }), "{outcome:?}");
    let mut sms = world.sms();
    sms.sort_by(|a, b| a.phone_number.cmp(&b.phone_number));
    assert_eq!(sms.len(), 2);
    assert_eq!(sms[0].phone_number, "+32470123456");
    assert_eq!(sms[1].phone_number, "+33612345678");
    assert!(sms.iter().all(|s| s.sender_id.as_deref() == Some("MAGASIN")), "{sms:?}");
    assert!(sms.iter().all(|s| s.sms_type.as_deref() == Some("Transactional")));
    assert_eq!(sms[0].message, body);
    assert_eq!(world.credits("shop").await, 8);
    let record = world.record(&id).await;
    assert_eq!(record.state, MessageState::Sent);
    assert_eq!(record.recipients.len(), 2);
    assert!(record.recipients.iter().all(|r| r.delivery == Delivery::Sent && r.provider_id.is_some()));
    assert_eq!(record.text, None, "the text is forgotten once settled");
    assert!(record.settled_at.is_some_and(|t| t >= record.received_at));
    assert!(world.replies().is_empty(), "no reply when all is well");
}

#[tokio::test]
async fn french_recipients_get_the_custom_sender_only_with_the_stop_mention() {
    let world = World::new().await;
    let key = world.account_with("shop", 10, Some("DEFAUT"), None).await;
    let raw =
        world.email(&format!("shop@{key}|0612345678;+447911123456|from=MAGASIN"), &format!("Soldes {}", world.token));
    let id = world.receive(&raw).await;

    world.gateway().handle(world.ses_event(&id), &world.invocation()).await.unwrap();

    let sms = world.sms();
    assert_eq!(sms.len(), 2, "{sms:?}");
    let to = |number: &str| sms.iter().find(|s| s.phone_number == number).unwrap().sender_id.clone();
    assert_eq!(to("+33612345678").as_deref(), Some("DEFAUT"), "France without STOP: the account's sender");
    assert_eq!(to("+447911123456").as_deref(), Some("MAGASIN"), "outside France: the custom sender");
}

#[tokio::test]
async fn without_any_sender_no_sender_id_is_sent() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let id = world.receive(&world.email(&format!("shop@{key}|0612345678"), &format!("Bonjour {}", world.token))).await;
    world.gateway().handle(world.ses_event(&id), &world.invocation()).await.unwrap();
    let sms = world.sms();
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].sender_id, None);
}

#[tokio::test]
async fn the_s3_notification_path_works_the_same() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let id = world.receive(&world.email(&format!("shop@{key}|0612345678"), &format!("Hello {}", world.token))).await;
    let outcome = only(world.gateway().handle(world.s3_event(&id), &world.invocation()).await.unwrap());
    assert!(matches!(outcome, Outcome::Sent { sent: 1, .. }), "{outcome:?}");
    assert_eq!(world.sms().len(), 1);
    assert_eq!(world.credits("shop").await, 9);
}

#[tokio::test]
async fn a_second_delivery_of_the_same_email_sends_and_debits_nothing_more() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let raw = world.email(&format!("shop@{key}|0612345678;0698765432"), &format!("Rappel {}", world.token));
    let id = world.receive(&raw).await;
    let gateway = world.gateway();

    gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap();
    let again = only(gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap());

    assert_eq!(again, Outcome::Duplicate { message_id: id.clone(), state: MessageState::Sent });
    assert_eq!(world.sms().len(), 2);
    assert_eq!(world.credits("shop").await, 8);
    assert!(world.replies().is_empty());
}

#[tokio::test]
async fn concurrent_deliveries_of_the_same_email_send_and_debit_once() {
    let world = World::new().await;
    let key = world.account("shop", 100).await;
    let raw = world.email(&format!("shop@{key}|0612345678;0698765432;0611223344"), &format!("Alerte {}", world.token));
    let id = world.receive(&raw).await;
    let gateway = world.gateway();

    let invocations: Vec<_> = (0..8).map(|_| world.invocation()).collect();
    let deliveries = invocations.iter().map(|invocation| gateway.handle(world.ses_event(&id), invocation));
    let results = join_all(deliveries).await;

    // One sends; each other finds it done, or meets its lease and fails to be retried.
    let mut sent = 0;
    for result in &results {
        match result.as_ref().map(|outcomes| &outcomes[..]) {
            Ok([Outcome::Sent { .. }]) => sent += 1,
            Ok([Outcome::Duplicate { .. }]) => {}
            Err(error @ PipelineError::InProgress { .. }) => assert!(error.is_retryable()),
            other => panic!("{other:?}\n{results:?}"),
        }
    }
    assert_eq!(sent, 1, "{results:?}");
    assert_eq!(world.sms().len(), 3);
    assert_eq!(world.credits("shop").await, 97);
}

#[tokio::test]
async fn concurrent_emails_racing_for_too_few_credits_never_overdraw() {
    let world = World::new().await;
    let key = world.account("shop", 5).await;
    let gateway = world.gateway();
    let mut ids = Vec::new();
    for n in 0..12 {
        let raw = world.email(&format!("shop@{key}|0612345678"), &format!("Message {n} {}", world.token));
        ids.push(world.receive(&raw).await);
    }

    let invocation = world.invocation();
    let runs = ids.iter().map(|id| gateway.handle(world.ses_event(id), &invocation));
    let outcomes: Vec<Outcome> = join_all(runs).await.into_iter().map(|r| only(r.unwrap())).collect();

    let sent = outcomes.iter().filter(|o| matches!(o, Outcome::Sent { .. })).count();
    let refused = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Rejected { status: StatusCode::InsufficientCredits, .. }))
        .count();
    assert_eq!((sent, refused), (5, 7), "{outcomes:?}");
    assert_eq!(world.credits("shop").await, 0);
    assert_eq!(world.sms().len(), 5);
}

#[tokio::test]
async fn insufficient_credits_is_answered_with_the_manuals_text_and_nothing_is_sent() {
    let world = World::new().await;
    let key = world.account("shop", 2).await;
    let raw = world.email(&format!("shop@{key}|0612345678;0698765432;0611223344"), &format!("Promo {}", world.token));
    let id = world.receive(&raw).await;

    let outcome = only(world.gateway().handle(world.ses_event(&id), &world.invocation()).await.unwrap());

    assert_eq!(
        outcome,
        Outcome::Rejected {
            message_id: id.clone(),
            status: StatusCode::InsufficientCredits,
            reply: ReplyOutcome::Sent
        }
    );
    assert!(world.sms().is_empty());
    assert_eq!(world.credits("shop").await, 2);
    let replies = world.replies();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].subject, "Mail2SMS: erreur 104");
    assert!(replies[0].text.contains("Status: 104"), "{:?}", replies[0]);
    assert!(replies[0].text.contains("A utiliser: 3 Crédits, Disponibles: 2 Crédits"), "{:?}", replies[0]);
    assert!(!replies[0].contains(&key), "the key never appears in a reply");
    assert_eq!(world.record(&id).await.status, Some(StatusCode::InsufficientCredits));
}

#[tokio::test]
async fn a_wrong_key_a_wrong_login_or_a_suspended_account_is_102() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let gateway = world.gateway();
    let wrong_key = world.receive(&world.email("shop@not-the-key|0612345678", &world.token)).await;
    let wrong_login = world.receive(&world.email(&format!("other@{key}|0612345678"), &world.token)).await;
    for id in [&wrong_key, &wrong_login] {
        let outcome = only(gateway.handle(world.ses_event(id), &world.invocation()).await.unwrap());
        assert!(matches!(outcome, Outcome::Rejected { status: StatusCode::AuthenticationFailed, .. }), "{outcome:?}");
    }
    world.ledger.set_suspended("shop", true).await.unwrap();
    let suspended = world.receive(&world.email(&format!("shop@{key}|0612345678"), &world.token)).await;
    let outcome = only(gateway.handle(world.ses_event(&suspended), &world.invocation()).await.unwrap());
    assert!(matches!(outcome, Outcome::Rejected { status: StatusCode::AuthenticationFailed, .. }), "{outcome:?}");
    assert!(world.sms().is_empty());
    assert_eq!(world.credits("shop").await, 10);
    let replies = world.replies();
    assert_eq!(replies.len(), 3, "one reply per refused email: {replies:?}");
    for reply in &replies {
        assert!(reply.text.contains("Status: 102") && !reply.contains(&key), "{reply:?}");
    }
}

#[tokio::test]
async fn each_malformed_request_gets_its_status_and_the_key_is_never_echoed() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let gateway = world.gateway();
    let long = "x".repeat(1300);
    let cases = [
        ("", "texte".to_owned(), StatusCode::EmptyRequest),
        ("shop-without-key|0612345678", "texte".to_owned(), StatusCode::AuthenticationFailed),
        (&*format!("shop@{key}|0612345678|dat=2026-12-01 09:30:00"), "texte".to_owned(), StatusCode::InvalidRequest),
        (&*format!("shop@{key}|0612345678|from=A"), "texte".to_owned(), StatusCode::InvalidRequest),
        (&*format!("shop@{key}|0612345678|{key}"), "texte".to_owned(), StatusCode::InvalidRequest),
        (&*format!("shop@{key}|0612345678"), "\r\n-- \r\nJean".to_owned(), StatusCode::EmptyMessage),
        (&*format!("shop@{key}|0612345678"), long, StatusCode::MessageTooLong),
        (&*format!("shop@{key}|123;abc"), "texte".to_owned(), StatusCode::NoValidRecipient),
        (&*format!("shop@{key}|0612345678|date=2026-13-01 09:30:00"), "texte".to_owned(), StatusCode::InvalidDate),
        (&*format!("shop@{key}|0612345678|date=2030-01-01 09:30:00"), "texte".to_owned(), StatusCode::InvalidDate),
    ];
    for (subject, body, status) in cases {
        let id = world.receive(&world.email(subject, &body)).await;
        let outcome = only(gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap());
        assert!(
            matches!(outcome, Outcome::Rejected { status: s, reply: ReplyOutcome::Sent, .. } if s == status),
            "{subject:?}: {outcome:?}"
        );
    }
    let replies = world.replies();
    assert_eq!(replies.len(), 10);
    for reply in &replies {
        assert!(!reply.contains(&key), "{reply:?}");
        assert!(reply.raw.contains("Auto-Submitted: auto-replied"), "{reply:?}");
    }
    assert!(world.sms().is_empty());
    assert_eq!(world.credits("shop").await, 10);
}

#[tokio::test]
async fn garbage_a_huge_email_and_a_non_utf8_subject_never_panic() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let gateway = world.gateway();

    let garbage = world.receive(b"\x00\xff\xfe not an email at all \x00").await;
    let outcome = only(gateway.handle(world.ses_event(&garbage), &world.invocation()).await.unwrap());
    assert_eq!(outcome, Outcome::Dropped { message_id: garbage.clone(), reason: Discard::NotAnEmail });

    let mut subject = format!("shop@{key}|0612345678|from=").into_bytes();
    subject.extend_from_slice(b"MAGAS\xc9N");
    let mut raw = format!("From: {}\r\nSubject: ", world.customer()).into_bytes();
    raw.extend_from_slice(&subject);
    raw.extend_from_slice(format!("\r\n\r\nBonjour {}\r\n", world.token).as_bytes());
    let latin1 = world.receive(&raw).await;
    let outcome = only(gateway.handle(world.ses_event(&latin1), &world.invocation()).await.unwrap());
    assert!(matches!(outcome, Outcome::Rejected { status: StatusCode::InvalidRequest, .. }), "{outcome:?}");

    let attachment = "QUJD".repeat(8 * 1024 * 1024);
    let huge = format!(
        "From: {}\r\nSubject: shop@{key}|0612345678\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGros {}\r\n--b\r\nContent-Type: application/octet-stream\r\n\
         Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=big.bin\r\n\r\n{}\r\n--b--\r\n",
        world.customer(),
        world.token,
        attachment.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join("\r\n")
    );
    assert!(huge.len() > 30 * 1024 * 1024);
    let big = world.receive(huge.as_bytes()).await;
    let outcome = only(gateway.handle(world.ses_event(&big), &world.invocation()).await.unwrap());
    assert!(matches!(outcome, Outcome::Sent { sent: 1, .. }), "{outcome:?}");
    let sms = world.sms();
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].message, format!("Gros {}", world.token));
    assert_eq!(world.credits("shop").await, 9);
    let replies = world.replies();
    assert_eq!(replies.len(), 1, "only the invalid sender is answered: {replies:?}");
    assert!(replies[0].text.contains("Status: 109"), "{:?}", replies[0]);
}

#[tokio::test]
async fn spam_or_virus_is_dropped_without_sms_debit_or_reply() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let id = world.receive(&world.email(&format!("shop@{key}|0612345678"), &world.token)).await;
    let mut event = world.ses_event(&id);
    event["Records"][0]["ses"]["receipt"]["virusVerdict"]["status"] = "FAIL".into();

    let outcome = only(world.gateway().handle(event, &world.invocation()).await.unwrap());

    assert_eq!(outcome, Outcome::Dropped { message_id: id.clone(), reason: Discard::Virus });
    assert!(world.sms().is_empty() && world.replies().is_empty());
    assert_eq!(world.credits("shop").await, 10);
    assert_eq!(world.record(&id).await.state, MessageState::Dropped);
}

#[tokio::test]
async fn robots_lists_and_unauthenticated_senders_get_no_reply() {
    let world = World::new().await;
    let gateway = world.gateway();
    let auto =
        String::from_utf8(world.email("", "x")).unwrap().replacen("\r\n", "\r\nAuto-Submitted: auto-replied\r\n", 1);
    let list =
        String::from_utf8(world.email("", "x")).unwrap().replacen("\r\n", "\r\nList-Id: <news.example.com>\r\n", 1);
    let daemon = String::from_utf8(email(&format!("MAILER-DAEMON@{}.example.com", world.token), "", "x")).unwrap();
    for raw in [auto, list, daemon] {
        let id = world.receive(raw.as_bytes()).await;
        let outcome = only(gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap());
        assert!(matches!(outcome, Outcome::Rejected { reply: ReplyOutcome::Skipped, .. }), "{outcome:?}");
    }
    let ourselves = world.receive(&email(&world.config.reply_from.to_uppercase(), "", "x")).await;
    let outcome = only(gateway.handle(world.ses_event(&ourselves), &world.invocation()).await.unwrap());
    assert!(
        matches!(outcome, Outcome::Rejected { reply: ReplyOutcome::Skipped, .. }),
        "never answer ourselves: {outcome:?}"
    );
    let id = world.receive(&world.email("", "x")).await;
    let mut unauthenticated = world.ses_event(&id);
    for verdict in ["spfVerdict", "dkimVerdict", "dmarcVerdict"] {
        unauthenticated["Records"][0]["ses"]["receipt"][verdict]["status"] = "FAIL".into();
    }
    // Under the sample's `p=reject` the email would be dropped (see trust.rs): a domain without
    // an enforced policy gets it processed, unanswered.
    unauthenticated["Records"][0]["ses"]["receipt"]["dmarcPolicy"] = "none".into();
    let outcome = only(gateway.handle(unauthenticated, &world.invocation()).await.unwrap());
    assert!(matches!(outcome, Outcome::Rejected { reply: ReplyOutcome::Skipped, .. }), "{outcome:?}");
    assert!(world.replies().is_empty());
    assert!(world.sms().is_empty());
}

#[tokio::test]
async fn replies_to_one_address_are_capped_per_hour() {
    let world = World::with(|config| config.reply_limit_per_hour = 3).await;
    let gateway = world.gateway();
    let mut replies = Vec::new();
    for _ in 0..5 {
        let id = world.receive(&world.email("", "x")).await;
        match only(gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap()) {
            Outcome::Rejected { reply, .. } => replies.push(reply),
            other => panic!("{other:?}"),
        }
    }
    use ReplyOutcome::*;
    assert_eq!(replies, [Sent, Sent, Sent, RateLimited, RateLimited]);
    assert_eq!(world.replies().len(), 3);
    assert!(world.sms().is_empty());
}

#[tokio::test]
async fn the_sample_events_and_their_emails_go_through_as_shipped() {
    let world = World::new().await;
    let key = world.account("boutique", 10).await;
    let gateway = world.gateway();
    let with_key = |raw: &str| raw.replace("{{KEY}}", &key).into_bytes();

    let ses_event: serde_json::Value =
        serde_json::from_slice(&with_key(include_str!("../../events/ses-event.json"))).unwrap();
    let ses_id = ses_event["Records"][0]["ses"]["mail"]["messageId"].as_str().unwrap().to_owned();
    let ses_raw = with_key(include_str!("../../events/ses-event.eml"));
    let ses_subject = mail_parser::MessageParser::default().parse(&ses_raw).unwrap().subject().unwrap().to_owned();
    let mail = &ses_event["Records"][0]["ses"]["mail"];
    assert_eq!(mail["commonHeaders"]["subject"], ses_subject.as_str(), "the event carries its email's subject");
    let subject_header = mail["headers"].as_array().unwrap().iter().find(|h| h["name"] == "Subject");
    assert_eq!(subject_header.map(|h| &h["value"]), Some(&ses_subject.as_str().into()));
    world.store(&ses_id, &ses_raw).await;
    let outcome = only(gateway.handle(ses_event, &world.invocation()).await.unwrap());
    assert!(matches!(outcome, Outcome::Sent { sent: 2, .. }), "{outcome:?}");
    let record = world.record(&ses_id).await;
    let senders: Vec<_> = record.recipients.iter().map(|r| r.sender.as_ref().map(|s| s.as_str().to_owned())).collect();
    assert_eq!(
        senders,
        [Some("MAGASIN".to_owned()), Some("MAGASIN".to_owned())],
        "the sample ends with the STOP mention"
    );

    let mut s3_event: serde_json::Value = serde_json::from_str(include_str!("../../events/s3-event.json")).unwrap();
    s3_event["Records"][0]["s3"]["bucket"]["name"] = world.config.inbound_bucket.clone().into();
    let s3_key = s3_event["Records"][0]["s3"]["object"]["key"].as_str().unwrap().to_owned();
    let s3_id = s3_key.trim_start_matches(&world.config.inbound_prefix).to_owned();
    world.store(&s3_id, &with_key(include_str!("../../events/s3-event.eml"))).await;
    let outcome = only(gateway.handle(s3_event, &world.invocation()).await.unwrap());
    assert!(matches!(outcome, Outcome::Sent { sent: 1, .. }), "{outcome:?}");
    assert!(world.record(&s3_id).await.text.is_none());
    assert_eq!(world.sms().len(), 3);
    assert!(world.replies().is_empty());
}

#[tokio::test]
async fn the_emulator_refuses_what_dynamodb_refuses() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let world = World::new().await;
    let client = world.ledger.client();
    let big = client
        .put_item()
        .table_name(&world.config.messages_table)
        .item("message_id", AttributeValue::S("big".into()))
        .item("blob", AttributeValue::S("x".repeat(410 * 1024)))
        .send()
        .await;
    assert!(big.is_err(), "an item over 400 KB must be refused, as DynamoDB does");
    client
        .put_item()
        .table_name(&world.config.messages_table)
        .item("message_id", AttributeValue::S("growing".into()))
        .item("list", AttributeValue::L(vec![AttributeValue::S("x".into())]))
        .send()
        .await
        .unwrap();
    let grown = client
        .update_item()
        .table_name(&world.config.messages_table)
        .key("message_id", AttributeValue::S("growing".into()))
        .update_expression("SET #l[0] = :big")
        .expression_attribute_names("#l", "list")
        .expression_attribute_values(":big", AttributeValue::S("x".repeat(410 * 1024)))
        .send()
        .await;
    assert!(grown.is_err(), "an update that grows an item over 400 KB must be refused");
    let long_key = client
        .get_item()
        .table_name(&world.config.accounts_table)
        .key("login", AttributeValue::S("a".repeat(3000)))
        .send()
        .await;
    assert!(long_key.is_err(), "a key over 2,048 bytes must be refused");
}

#[tokio::test]
async fn more_recipients_than_a_record_can_hold_are_refused_before_any_debit() {
    let world = World::new().await;
    let key = world.account("shop", 10_000).await;
    let numbers: Vec<String> = (0..10_001).map(|i| format!("06{:08}", 10_000_000 + i)).collect();
    let id = world.receive(&world.email(&format!("shop@{key}|{}", numbers.join(";")), "Bonjour")).await;

    let outcome = only(world.gateway().handle(world.ses_event(&id), &world.invocation()).await.unwrap());

    assert!(matches!(outcome, Outcome::Rejected { status: StatusCode::InvalidRequest, .. }), "{outcome:?}");
    assert_eq!(world.credits("shop").await, 10_000, "nothing debited");
    assert!(world.sms().is_empty());
    let replies = world.replies();
    assert_eq!(replies.len(), 1);
    assert!(replies[0].text.contains("10001 destinataires, 10000 au maximum"), "{}", replies[0].text);
}

#[tokio::test]
async fn the_most_recipients_one_record_holds_are_sent_and_recorded_within_dynamodbs_limits() {
    let world = World::new().await;
    let key = world.account("shop", 10_000).await;
    let count = mail2sms::domain::message::MAX_RECORD_RECIPIENTS;
    let numbers: Vec<String> = (0..count).map(|i| format!("+4479{:08}", 11_000_000 + i)).collect();
    let body = format!("{} {}", world.token, "ü".repeat(60)); // UCS-2, one part
    let id = world.receive(&world.email(&format!("shop@{key}|{}|from=MAGASIN", numbers.join(";")), &body)).await;

    let outcome = only(world.gateway().handle(world.ses_event(&id), &world.invocation()).await.unwrap());

    assert!(matches!(outcome, Outcome::Sent { sent, .. } if sent == count), "{outcome:?}");
    assert_eq!(world.credits("shop").await, 10_000 - count as u64);
    assert_eq!(world.sms().len(), count);
    assert_eq!(world.record(&id).await.count(Delivery::Sent), count);
}

#[tokio::test]
async fn a_login_no_dynamodb_key_can_hold_is_answered_102() {
    let world = World::new().await;
    world.account("shop", 10).await;
    let subject = format!("{}@{}|0612345678", "a".repeat(10 * 1024), "k".repeat(30));
    let id = world.receive(&world.email(&subject, "Bonjour")).await;

    let outcome = only(world.gateway().handle(world.ses_event(&id), &world.invocation()).await.unwrap());

    assert!(matches!(outcome, Outcome::Rejected { status: StatusCode::AuthenticationFailed, .. }), "{outcome:?}");
    assert_eq!(world.replies().len(), 1);
    assert!(world.sms().is_empty());
}

#[tokio::test]
async fn only_the_head_of_a_large_email_is_read() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let attachment = "QUJD".repeat(10 * 1024 * 1024);
    let huge = format!(
        "From: {}\r\nSubject: shop@{key}|0612345678\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGros {}\r\n--b\r\nContent-Type: application/octet-stream\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        world.customer(),
        world.token,
        attachment.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join("\r\n")
    );
    assert!(huge.len() > 39 * 1024 * 1024);
    let id = world.receive(huge.as_bytes()).await;

    let outcome = only(world.gateway().handle(world.ses_event(&id), &world.invocation()).await.unwrap());

    assert!(matches!(outcome, Outcome::Sent { sent: 1, .. }), "{outcome:?}");
    let reads: Vec<_> =
        world.requests().into_iter().filter(|r| r.service() == Some("s3") && r.method == "GET").collect();
    assert_eq!(reads.len(), 1);
    let limit = mail2sms::pipeline::MAX_READ_BYTES;
    assert_eq!(reads[0].header("Range"), Some(format!("bytes=0-{}", limit - 1).as_str()), "{:?}", reads[0].headers);
}

#[tokio::test]
async fn fifty_thousand_junk_numbers_and_one_good_one_send_one_sms_and_record_a_bounded_list() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let junk: Vec<String> = (0..50_000).map(|i| format!("x{i}")).collect();
    let subject = format!("shop@{key}|{};0612345678", junk.join(";"));
    let id = world.receive(&world.email(&subject, &world.token)).await;

    let outcome = only(world.gateway().handle(world.ses_event(&id), &world.invocation()).await.unwrap());

    assert!(matches!(outcome, Outcome::Sent { sent: 1, .. }), "{outcome:?}");
    assert_eq!(world.sms().len(), 1);
    let record = world.record(&id).await;
    assert_eq!(record.dropped_count, 50_000, "everything dropped is counted");
    assert_eq!(record.dropped.len(), mail2sms::domain::recipient::DROPPED_LISTED, "only the first few are listed");
}
