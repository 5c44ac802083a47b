//! Numbers that must not be texted, through the real gateway against the emulator: an account's
//! opt-out list and the gateway's, checked in the debit's own transaction (or looked up before
//! it for a large email), numbers the providers refuse as opted out put on the gateway's list,
//! and `mail2sms-admin optout` as the operator runs it.

use chrono::Utc;
use mail2sms::aws::gateway;
use mail2sms::config::SmsProvider;
use mail2sms::domain::StatusCode;
use mail2sms::domain::message::{Delivery, MessageRecord, MessageState, RecipientRecord};
use mail2sms::domain::optout::{OptOut, OptOutList, OptOutSource};
use mail2sms::domain::recipient::Recipient;
use mail2sms::domain::status::ALL_OPTED_OUT;
use mail2sms::pipeline::Outcome;
use mail2sms::ports::{Ledger, Opening};
use serde_json::{Value, json};

use crate::helpers::faults::{Fault, FaultProxy, Rule};
use crate::helpers::{World, admin, stderr, stdout};

const LISTED: &str = "+33612345678";
const OTHER: &str = "+33698765432";

fn number(e164: &str) -> Recipient {
    Recipient::parse_e164(e164).unwrap()
}

/// Puts `numbers` on `list`, as the operator's command does.
async fn list(world: &World, list: &OptOutList, numbers: &[&str]) {
    let entries: Vec<OptOut> =
        numbers.iter().map(|n| OptOut::new(list, number(n), OptOutSource::Operator, Utc::now())).collect();
    world.ledger.add_opt_outs(&entries).await.unwrap();
}

fn shop() -> OptOutList {
    OptOutList::Account("shop".into())
}

/// The transactions made before the first SMS went out: the openings (record and debit) of an
/// email sent now. (After it, the checkpoints are transactions too, with SNS: they also index
/// the provider's message ids.)
fn openings(proxy: &FaultProxy) -> usize {
    let served = proxy.served();
    let first_send = served.iter().position(|s| s.call.operation == "Publish").unwrap_or(served.len());
    served[..first_send].iter().filter(|s| s.call.operation == "TransactWriteItems").count()
}

fn only(outcomes: Vec<Outcome>) -> Outcome {
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    outcomes.into_iter().next().unwrap()
}

fn recipient<'a>(record: &'a MessageRecord, e164: &str) -> &'a RecipientRecord {
    record.recipients.iter().find(|r| r.number.e164() == e164).expect("a recipient")
}

/// `optout list` read back: (number, source) by number.
fn listed(world: &World, args: &[&str]) -> Vec<(String, String)> {
    let mut all = vec!["optout", "list"];
    all.extend_from_slice(args);
    stdout(&admin(world, &all))
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .map(|line| (line["number"].as_str().unwrap().to_owned(), line["source"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn an_opted_out_number_is_not_sent_nor_charged_and_is_recorded_opted_out() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    list(&world, &shop(), &[LISTED]).await;
    let proxy = FaultProxy::start().await;
    let gateway = gateway(&world.config, &world.through(&proxy));
    let body = format!("Soldes {} STOP au 36180", world.token);
    let id = world.receive(&world.email(&format!("shop@{key}|06 12 34 56 78;06 98 76 54 32"), &body)).await;

    let outcome = only(gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap());

    assert!(matches!(outcome, Outcome::Sent { sent: 1, failed: 0, cost: 1, refunded: 0, .. }), "{outcome:?}");
    let sms = world.sms();
    assert_eq!(sms.iter().map(|s| s.phone_number.as_str()).collect::<Vec<_>>(), [OTHER]);
    assert_eq!(world.credits("shop").await, 9, "only the number texted is paid for");
    let record = world.record(&id).await;
    assert_eq!((record.state, record.cost, record.refunded), (MessageState::Sent, 1, 0));
    let opted_out = recipient(&record, LISTED);
    assert_eq!(opted_out.delivery, Delivery::OptedOut);
    assert_eq!(opted_out.reason(), Some("on the account's opt-out list"));
    assert!(!opted_out.was_refunded(), "never charged, so never refunded");
    assert_eq!(recipient(&record, OTHER).delivery, Delivery::Sent);
    // The lists were read in the debit's transaction: refused once with the listed number, then
    // opened without it; no lookup of their own.
    assert_eq!(openings(&proxy), 2);
    assert_eq!(proxy.count("dynamodb", "BatchGetItem"), 0);
}

#[tokio::test]
async fn a_one_recipient_email_spends_no_call_on_the_opt_out_lists() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    list(&world, &OptOutList::Gateway, &[OTHER]).await;
    let proxy = FaultProxy::start().await;
    let gateway = gateway(&world.config, &world.through(&proxy));
    let id = world.receive(&world.email(&format!("shop@{key}|0612345678"), &format!("Bonjour {}", world.token))).await;

    let outcome = only(gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap());

    assert!(matches!(outcome, Outcome::Sent { sent: 1, .. }), "{outcome:?}");
    let calls: Vec<String> =
        proxy.served().iter().map(|s| format!("{} {}", s.call.service, s.call.operation)).collect();
    // Both lists are checked (the account's and the gateway's, two condition checks) inside the
    // one transaction that records and debits the email: the same calls as before the lists.
    assert_eq!(openings(&proxy), 1, "{calls:?}");
    let opt_out_calls = proxy.count_where(|s| s.call.about.as_deref() == Some(world.config.opt_outs_table.as_str()));
    assert_eq!((opt_out_calls, proxy.count("dynamodb", "BatchGetItem")), (0, 0), "{calls:?}");
    assert_eq!(
        calls,
        [
            "s3 GetObject",
            "dynamodb GetItem",
            "dynamodb TransactWriteItems",
            "sns Publish",
            "dynamodb TransactWriteItems"
        ],
        "the calls of a one-recipient email: its opening, its SMS, its checkpoint"
    );
}

/// The calls the proxy served from the `from`th on, as "service operation".
fn calls_from(proxy: &FaultProxy, from: usize) -> Vec<String> {
    proxy.served()[from..].iter().map(|s| format!("{} {}", s.call.service, s.call.operation)).collect()
}

#[tokio::test]
async fn a_warm_process_second_email_from_an_account_makes_four_calls() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let proxy = FaultProxy::start().await;
    let gateway = gateway(&world.config, &world.through(&proxy));
    let email = || world.email(&format!("shop@{key}|0612345678"), &format!("Bonjour {}", world.token));
    let first = world.receive(&email()).await;
    let second = world.receive(&email()).await;

    assert!(matches!(
        only(gateway.handle(world.ses_event(&first), &world.invocation()).await.unwrap()),
        Outcome::Sent { sent: 1, .. }
    ));
    let after_first = proxy.served().len();
    let outcome = only(gateway.handle(world.ses_event(&second), &world.invocation()).await.unwrap());

    assert!(matches!(outcome, Outcome::Sent { sent: 1, cost: 1, .. }), "{outcome:?}");
    assert_eq!(after_first, 5, "the first reads the account");
    assert_eq!(
        calls_from(&proxy, after_first),
        ["s3 GetObject", "dynamodb TransactWriteItems", "sns Publish", "dynamodb TransactWriteItems"],
        "the second is admitted on the copy of the account the first read: no GetItem"
    );
    assert_eq!(world.credits("shop").await, 8);
    assert_eq!(world.sms().len(), 2);
}

/// Two emails from `shop` through one gateway, `change` made to the account between them: the
/// second's outcome, and the calls it made.
async fn second_email_after(
    world: &World,
    change: impl AsyncFnOnce(&World) -> Option<String>,
) -> (Outcome, Vec<String>, String) {
    let key = world.account("shop", 10).await;
    let proxy = FaultProxy::start().await;
    let gateway = gateway(&world.config, &world.through(&proxy));
    let email = |key: &str| world.email(&format!("shop@{key}|0612345678"), "Bonjour");
    let first = world.receive(&email(&key)).await;
    assert!(matches!(
        only(gateway.handle(world.ses_event(&first), &world.invocation()).await.unwrap()),
        Outcome::Sent { .. }
    ));
    let new_key = change(world).await;
    let after_first = proxy.served().len();
    let second = world.receive(&email(&key)).await;
    let outcome = only(gateway.handle(world.ses_event(&second), &world.invocation()).await.unwrap());
    let calls = calls_from(&proxy, after_first);
    // Refused, the copy is gone: the next email (with the new key, if any) reads the account.
    if let Some(new_key) = new_key {
        let third = world.receive(&email(&new_key)).await;
        let before = proxy.served().len();
        let outcome = only(gateway.handle(world.ses_event(&third), &world.invocation()).await.unwrap());
        assert!(matches!(outcome, Outcome::Sent { sent: 1, .. }), "the new key at once: {outcome:?}");
        assert!(calls_from(&proxy, before).contains(&"dynamodb GetItem".to_owned()));
    }
    (outcome, calls, second)
}

#[tokio::test]
async fn a_suspension_between_two_emails_refuses_the_second_102_despite_the_copy() {
    let world = World::new().await;
    let (outcome, calls, id) = second_email_after(&world, async |world: &World| {
        world.ledger.set_suspended("shop", true).await.unwrap();
        None
    })
    .await;

    assert!(matches!(outcome, Outcome::Rejected { status: StatusCode::AuthenticationFailed, .. }), "{outcome:?}");
    assert_eq!(world.sms().len(), 1, "only the first was sent");
    assert_eq!(world.credits("shop").await, 9, "only the first was debited");
    assert_eq!(world.record(&id).await.login, None, "a 102 names no account");
    assert!(!calls.iter().any(|c| c == "sns Publish"), "{calls:?}");
    assert_eq!(
        calls[..2],
        ["s3 GetObject", "dynamodb TransactWriteItems"],
        "admitted on the copy, refused by the debit"
    );
}

#[tokio::test]
async fn a_key_rotated_between_two_emails_refuses_the_old_key_102_and_admits_the_new_one() {
    let world = World::new().await;
    let (outcome, calls, _) = second_email_after(&world, async |world: &World| {
        let new_key = mail2sms::domain::account::new_api_key();
        world.ledger.rotate_key("shop", &mail2sms::domain::request::ApiKey::new(new_key.clone())).await.unwrap();
        Some(new_key)
    })
    .await;

    assert!(matches!(outcome, Outcome::Rejected { status: StatusCode::AuthenticationFailed, .. }), "{outcome:?}");
    assert!(!calls.iter().any(|c| c == "sns Publish"), "{calls:?}");
    assert_eq!(world.sms().len(), 2, "the first, and the third with the new key");
    assert_eq!(world.credits("shop").await, 8);
}

#[tokio::test]
async fn when_every_number_is_opted_out_the_answer_is_114_and_nothing_is_debited() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    list(&world, &shop(), &[LISTED]).await;
    list(&world, &OptOutList::Gateway, &[OTHER]).await;
    let id = world.receive(&world.email(&format!("shop@{key}|0612345678;0698765432"), "Soldes")).await;

    let outcome = only(world.gateway().handle(world.ses_event(&id), &world.invocation()).await.unwrap());

    assert!(matches!(outcome, Outcome::Rejected { status: StatusCode::NoValidRecipient, .. }), "{outcome:?}");
    assert!(world.sms().is_empty());
    assert_eq!(world.credits("shop").await, 10);
    let record = world.record(&id).await;
    assert_eq!((record.state, record.cost), (MessageState::Rejected, 0));
    assert!(record.status_text.as_deref().is_some_and(|text| text.ends_with(ALL_OPTED_OUT)), "{record:?}");
    assert_eq!(recipient(&record, LISTED).reason(), Some("on the account's opt-out list"));
    assert_eq!(recipient(&record, OTHER).reason(), Some("on the gateway's opt-out list"));
    assert!(record.recipients.iter().all(|r| r.delivery == Delivery::OptedOut));
    let replies = world.replies();
    assert_eq!(replies.len(), 1);
    assert!(replies[0].text.contains("Status: 114"), "{}", replies[0].text);
    assert!(
        replies[0].text.contains("désinscrits (STOP)") && replies[0].text.contains("opted out"),
        "{}",
        replies[0].text
    );
}

#[tokio::test]
async fn the_gateway_list_applies_to_every_account_and_an_account_list_to_its_own() {
    let world = World::new().await;
    let shop_key = world.account("shop", 10).await;
    let other_key = world.account("other", 10).await;
    assert!(stdout(&admin(&world, &["optout", "add", "--gateway", "06 12 34 56 78"])).contains("added"));
    list(&world, &shop(), &[OTHER]).await;

    for (login, key) in [("shop", &shop_key), ("other", &other_key)] {
        let subject = format!("{login}@{key}|0612345678;0698765432;0611223344");
        let id = world.receive(&world.email(&subject, "Bonjour")).await;
        world.gateway().handle(world.ses_event(&id), &world.invocation()).await.unwrap();
        let record = world.record(&id).await;
        assert_eq!(recipient(&record, LISTED).delivery, Delivery::OptedOut, "{login}: the gateway's list");
        let expected = if login == "shop" { Delivery::OptedOut } else { Delivery::Sent };
        assert_eq!(recipient(&record, OTHER).delivery, expected, "{login}: shop's list is shop's alone");
    }
    assert_eq!((world.credits("shop").await, world.credits("other").await), (9, 8));
    let sms: Vec<String> = world.sms().into_iter().map(|s| s.phone_number).collect();
    assert!(!sms.contains(&LISTED.to_owned()), "{sms:?}");
    assert_eq!(sms.len(), 3, "{sms:?}");
}

#[tokio::test]
async fn numbers_are_added_listed_removed_and_imported_by_the_operator() {
    let world = World::new().await;
    world.account("shop", 10).await;

    let added = stdout(&admin(&world, &["optout", "add", "shop", "06 12 34 56 78", "+33698765432;0033611223344"]));
    assert!(added.contains("+33612345678: added") && added.ends_with("3 numbers added, 0 already on it\n"), "{added}");
    let again = stdout(&admin(&world, &["optout", "add", "shop", "0612345678"]));
    assert!(again.contains("+33612345678: already on it"), "{again}");
    assert_eq!(
        listed(&world, &["shop"]),
        [
            ("+33611223344".to_owned(), "operator".to_owned()),
            ("+33612345678".to_owned(), "operator".to_owned()),
            ("+33698765432".to_owned(), "operator".to_owned()),
        ]
    );
    assert!(listed(&world, &["--gateway"]).is_empty(), "the gateway's list is another");

    // A number that cannot be texted refuses the command; nothing changes.
    let refused = stderr(&admin(&world, &["optout", "add", "shop", "0698765432", "01 23 45 67 89"]));
    assert!(refused.contains("cannot receive SMS") && refused.contains("nothing changed"), "{refused}");
    assert!(stderr(&admin(&world, &["optout", "add", "nobody", "0612345678"])).contains("no account nobody"));
    assert_eq!(listed(&world, &["shop"]).len(), 3);

    let removed = stdout(&admin(&world, &["optout", "remove", "shop", "+33 6 12 34 56 78", "0611111111"]));
    assert!(removed.contains("+33612345678: removed") && removed.contains("1 number removed, 1 was not on it"));
    assert_eq!(listed(&world, &["shop"]).len(), 2);

    let csv = std::env::temp_dir().join(format!("{}-opt-outs.csv", world.token));
    std::fs::write(
        &csv,
        "Numéro;Nom\r\n06 12 34 56 78;Dupont\r\n\"+33698765432\";Martin\r\nabc;Durand\r\n01 23 45 67 89;Bureau\r\n\
         0612345678;Dupont encore\r\n;Vide\r\n0033 6 11 11 11 11;Petit\r\n",
    )
    .unwrap();
    let imported = stdout(&admin(&world, &["optout", "import", "shop", csv.to_str().unwrap()]));
    std::fs::remove_file(&csv).ok();
    let lines: Vec<&str> = imported.lines().collect();
    assert_eq!(
        lines,
        [
            "line 4: \"abc\": not written as a phone number",
            "line 5: \"01 23 45 67 89\": a number that cannot receive SMS (landline, toll-free, premium rate…)",
            "line 6: \"0612345678\": the same number as line 2",
            "line 7: \"\": no number in the first column",
            "shop's opt-out list: 2 numbers added, 1 already on it; 4 lines rejected (first line read as a header)",
        ],
        "{imported}"
    );
    let numbers: Vec<String> = listed(&world, &["shop"]).into_iter().map(|(number, _)| number).collect();
    assert_eq!(numbers, ["+33611111111", "+33611223344", "+33612345678", "+33698765432"]);
    let sources: Vec<String> = listed(&world, &["shop"]).into_iter().map(|(_, source)| source).collect();
    assert_eq!(sources, ["import", "operator", "import", "operator"], "a number already there keeps its entry");

    assert!(stdout(&admin(&world, &["optout", "remove", "--gateway", "0612345678"])).contains("was not on it"));
    let missing = stderr(&admin(&world, &["optout", "import", "shop", "/nonexistent/numbers.csv"]));
    assert!(missing.contains("cannot read /nonexistent/numbers.csv"), "{missing}");
}

#[tokio::test]
async fn an_sns_opted_out_refusal_is_refunded_and_lists_the_number_for_every_account() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let other_key = world.account("other", 10).await;
    let proxy = FaultProxy::start().await;
    proxy.inject(Rule::new("sns", "Publish", Fault::OptedOut).about(LISTED));
    let gateway = gateway(&world.config, &world.through(&proxy));
    let id = world.receive(&world.email(&format!("shop@{key}|0612345678;0698765432"), "Bonjour")).await;

    let outcome = only(gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap());

    assert!(
        matches!(
            outcome,
            Outcome::Sent { state: MessageState::PartiallyFailed, sent: 1, failed: 1, cost: 2, refunded: 1, .. }
        ),
        "{outcome:?}"
    );
    assert_eq!(world.credits("shop").await, 9, "the refusal is refunded, as any refusal");
    let record = world.record(&id).await;
    let refused = recipient(&record, LISTED);
    assert_eq!(refused.delivery, Delivery::Failed);
    assert!(refused.was_refunded() && refused.reason().is_some_and(|r| r.starts_with("opted out: OptedOut")));
    let gateway_list = world.ledger.opt_outs_of(&OptOutList::Gateway).await.unwrap();
    assert_eq!(gateway_list.len(), 1);
    assert_eq!((gateway_list[0].number.e164(), gateway_list[0].source), (LISTED, OptOutSource::Provider));
    assert_eq!(gateway_list[0].provider.as_deref(), Some("sns"));

    // Never charged again, whichever account writes to it: dropped before the debit.
    let id = world.receive(&world.email(&format!("other@{other_key}|0612345678;0698765432"), "Bonjour")).await;
    let outcome = only(gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap());
    assert!(matches!(outcome, Outcome::Sent { sent: 1, failed: 0, cost: 1, .. }), "{outcome:?}");
    assert_eq!(recipient(&world.record(&id).await, LISTED).delivery, Delivery::OptedOut);
    assert_eq!(proxy.count_where(|s| s.call.operation == "Publish" && s.call.about.as_deref() == Some(LISTED)), 1);
    assert_eq!(world.credits("other").await, 9);
}

#[tokio::test]
async fn an_end_user_messaging_opted_out_refusal_lists_the_number() {
    let world = World::with(|config| config.sms_provider = SmsProvider::EndUserMessaging).await;
    let key = world.account("shop", 10).await;
    let proxy = FaultProxy::start().await;
    // The emulator has no End User Messaging: the proxy answers as it does for an opted-out number.
    proxy.inject(Rule::new("sms-voice", "SendTextMessage", Fault::OptedOut));
    let gateway = gateway(&world.config, &world.through(&proxy));
    let id = world.receive(&world.email(&format!("shop@{key}|0612345678"), "Bonjour")).await;

    let outcome = only(gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap());

    assert!(
        matches!(outcome, Outcome::Sent { state: MessageState::Failed, failed: 1, refunded: 1, .. }),
        "{outcome:?}"
    );
    assert_eq!(world.credits("shop").await, 10);
    let gateway_list = world.ledger.opt_outs_of(&OptOutList::Gateway).await.unwrap();
    assert_eq!(
        gateway_list.iter().map(|o| (o.number.e164(), o.provider.as_deref())).collect::<Vec<_>>(),
        [(LISTED, Some("sms-voice"))]
    );
}

#[tokio::test]
async fn an_opted_out_delivery_event_lists_the_number_and_refunds_once() {
    let world = World::new().await;
    world.account("shop", 0).await;
    let id = format!("{}eum{}", world.token, &mail2sms::domain::account::new_api_key()[..8]);
    let mut record = MessageRecord::new(&id, Utc::now());
    record.login = Some("shop".into());
    record.parts = 1;
    record.recipients = vec![RecipientRecord {
        delivery: Delivery::Sent,
        provider_id: Some("eum-0".into()),
        ..RecipientRecord::pending(number(LISTED), None)
    }];
    record.cost = 1;
    record.state = record.settled_state();
    record.settled_at = Some(Utc::now());
    assert_eq!(world.ledger.open(&record, None).await.unwrap(), Opening::Opened);
    let mut event: Value = serde_json::from_str(include_str!("../../events/eum-failed.json")).unwrap();
    let detail = &mut event["detail"];
    detail["eventType"] = json!("TEXT_OPTED_OUT");
    detail["messageStatus"] = json!("OPTED_OUT");
    detail["isFinal"] = json!(true);
    detail["destinationPhoneNumber"] = json!(LISTED);
    detail["eventTimestamp"] = json!(Utc::now().timestamp_millis());
    detail["context"]["mail2sms_message_id"] = json!(id);
    detail["context"]["mail2sms_recipient"] = json!("0");

    for _ in 0..2 {
        world.gateway().handle(event.clone(), &world.invocation()).await.unwrap();
    }

    let record = world.record(&id).await;
    assert_eq!((record.recipients[0].fate(), record.refunded, world.credits("shop").await), (Delivery::Failed, 1, 1));
    let gateway_list = world.ledger.opt_outs_of(&OptOutList::Gateway).await.unwrap();
    assert_eq!(gateway_list.iter().map(|o| o.number.e164()).collect::<Vec<_>>(), [LISTED]);
    assert_eq!(gateway_list[0].provider.as_deref(), Some("sms-voice"));
}

#[tokio::test]
async fn a_large_email_looks_its_numbers_up_before_the_debit() {
    let world = World::new().await;
    let key = world.account("shop", 100).await;
    let numbers: Vec<String> = (0..60).map(|i| format!("+336123456{i:02}")).collect();
    list(&world, &shop(), &[numbers[3].as_str()]).await;
    list(&world, &OptOutList::Gateway, &[numbers[59].as_str()]).await;
    let proxy = FaultProxy::start().await;
    let gateway = gateway(&world.config, &world.through(&proxy));
    let id = world.receive(&world.email(&format!("shop@{key}|{}", numbers.join(";")), "Bonjour")).await;

    let outcome = only(gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap());

    assert!(matches!(outcome, Outcome::Sent { sent: 58, cost: 58, .. }), "{outcome:?}");
    assert_eq!(world.credits("shop").await, 42);
    let record = world.record(&id).await;
    let opted_out: Vec<&str> =
        record.recipients.iter().filter(|r| r.delivery == Delivery::OptedOut).map(|r| r.number.e164()).collect();
    assert_eq!(opted_out, [numbers[3].as_str(), numbers[59].as_str()]);
    assert_eq!(world.sms().len(), 58);
    // 60 numbers × 2 lists = 120 keys, more than a transaction takes: two BatchGetItem find the
    // listed numbers before any write; the second opening (58 numbers, 116 keys) looks up again,
    // finds none, and records and debits in one transaction.
    assert_eq!(proxy.count("dynamodb", "BatchGetItem"), 4);
    assert_eq!(openings(&proxy), 1);
}

#[tokio::test]
async fn a_number_that_opted_out_after_its_message_was_scheduled_is_not_texted_and_is_refunded() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let due = (Utc::now() + chrono::Duration::days(2)).format("%Y-%m-%d 10:00:00");
    let id = world.receive(&world.email(&format!("shop@{key}|{LISTED};{OTHER}|date={due}"), "Bonjour")).await;
    world.gateway().handle(world.ses_event(&id), &world.invocation()).await.unwrap();
    assert_eq!(world.credits("shop").await, 8);
    // The customer's recipient answered STOP in the meantime.
    list(&world, &shop(), &[LISTED]).await;

    let outcome = only(world.gateway().handle(json!({ "scheduled_send": id }), &world.invocation()).await.unwrap());

    assert!(matches!(outcome, Outcome::Sent { sent: 1, refunded_now: 1, .. }), "{outcome:?}");
    let texted: Vec<String> = world.sms().into_iter().map(|sms| sms.phone_number).collect();
    assert_eq!(texted, [OTHER]);
    assert_eq!(world.credits("shop").await, 9, "the number left out is refunded");
    let record = world.record(&id).await;
    assert_eq!(recipient(&record, LISTED).delivery, Delivery::OptedOut);
    assert_eq!(record.state, MessageState::Sent);
}
