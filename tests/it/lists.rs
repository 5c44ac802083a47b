//! Contact lists (issue #10), through the real `mail2sms-admin` and the real gateway against the
//! emulator: a list imported from a CSV file (its rejected lines reported), shown, replaced and
//! deleted; an email naming it (`#clients`) sent to each of its numbers once and debited once,
//! opt-out lists applied; an unknown list, or another account's, refused.

use chrono::Utc;
use mail2sms::aws::gateway;
use mail2sms::domain::StatusCode;
use mail2sms::domain::account::{Account, new_api_key};
use mail2sms::domain::contact_list::MAX_LIST_NUMBERS;
use mail2sms::domain::message::{Delivery, MAX_RECIPIENTS, MessageState};
use mail2sms::domain::request::ApiKey;
use mail2sms::pipeline::Outcome;
use mail2sms::tables;
use serde_json::{Value, json};

use crate::helpers::faults::FaultProxy;
use crate::helpers::{World, admin, stderr, stdout};

/// A CSV file in the system's temporary directory, removed when dropped.
struct Csv(std::path::PathBuf);

impl Csv {
    fn path(&self) -> &str {
        self.0.to_str().expect("a UTF-8 path")
    }
}

impl Drop for Csv {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A CSV file holding `text`, for the length of the test.
fn csv(text: &str) -> Csv {
    let path = std::env::temp_dir().join(format!("mail2sms-list-{}.csv", new_api_key()));
    std::fs::write(&path, text).expect("a temporary file");
    Csv(path)
}

/// `list import LOGIN NAME` of a file holding `text`: what it printed.
fn import(world: &World, login: &str, name: &str, text: &str) -> String {
    let file = csv(text);
    stdout(&admin(world, &["list", "import", login, name, file.path()]))
}

/// `list show LOGIN NAME`, read.
fn show(world: &World, login: &str, name: &str) -> Value {
    serde_json::from_str(&stdout(&admin(world, &["list", "show", login, name]))).unwrap()
}

/// `list show LOGIN`, read: one object per list.
fn lists(world: &World, login: &str) -> Vec<Value> {
    stdout(&admin(world, &["list", "show", login])).lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

/// `count` distinct French mobile numbers, national form, from 06 12 00 00 00 on (`offset` later).
fn numbers(count: usize, offset: usize) -> Vec<String> {
    (0..count).map(|i| format!("0612{:06}", offset + i)).collect()
}

fn e164(national: &str) -> String {
    format!("+33{}", &national[1..])
}

fn only(outcomes: Vec<Outcome>) -> Outcome {
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    outcomes.into_iter().next().unwrap()
}

/// Stores an email from the world's customer and runs the world's gateway on it.
async fn deliver(world: &World, subject: &str) -> (String, Outcome) {
    let id = world.receive(&world.email(subject, &format!("Bonjour {}", world.token))).await;
    (id.clone(), only(world.gateway().handle(world.ses_event(&id), &world.invocation()).await.unwrap()))
}

/// The numbers SNS was asked to text, sorted.
fn texted(world: &World) -> Vec<String> {
    let mut numbers: Vec<String> = world.sms().into_iter().map(|sms| sms.phone_number).collect();
    numbers.sort();
    numbers
}

/// Every item of the world's contact lists table under `owner`: its `list` keys, sorted.
async fn stored_keys(world: &World, owner: &str) -> Vec<String> {
    let query = world
        .ledger
        .client()
        .query()
        .table_name(&world.config.contact_lists_table)
        .key_condition_expression("#owner = :owner")
        .expression_attribute_names("#owner", tables::CONTACT_LISTS.partition_key)
        .expression_attribute_values(":owner", aws_sdk_dynamodb::types::AttributeValue::S(owner.to_owned()));
    let items = query.send().await.unwrap().items.unwrap_or_default();
    let mut keys: Vec<String> =
        items.iter().map(|item| item["list"].as_s().expect("a string key").to_owned()).collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn an_import_reports_each_rejected_line_and_the_count_kept_then_show_and_delete() {
    let world = World::new().await;
    world.account("shop", 10).await;
    let file = "Numéro;Nom\n06 12 34 56 78;Dupont\n+32 470 12 34 56;Peeters\nabc;Martin\n\n\
                01 23 45 67 89;Fixe\n0033612345678;Encore\n33698765432\n;Vide\n";

    let printed = import(&world, "shop", "Clients", file);

    assert_eq!(
        printed.lines().collect::<Vec<_>>(),
        [
            "line 4: \"abc\": not written as a phone number",
            "line 6: \"01 23 45 67 89\": a number that cannot receive SMS (landline, toll-free, premium rate…)",
            "line 7: \"0033612345678\": the same number as line 2",
            "line 9: \"\": no number in the first column",
            "shop's list clients: 3 numbers kept (a new list); 4 lines rejected (first line read as a header)",
        ]
    );
    let listed = lists(&world, "shop");
    assert_eq!(listed.len(), 1);
    assert_eq!((&listed[0]["name"], &listed[0]["count"]), (&json!("clients"), &json!(3)));
    assert!(listed[0]["imported_at"].as_str().is_some_and(|at| at.ends_with('Z')), "{listed:?}");
    // By its name in any case, with or without its mark: the numbers in the file's order.
    let shown = show(&world, "shop", "#CLIENTS");
    assert_eq!(shown["numbers"], json!(["+33612345678", "+32470123456", "+33698765432"]));
    assert_eq!(shown["count"], 3);
    assert_eq!(stored_keys(&world, "shop").await, ["#clients", "clients#000"]);

    let deleted = stdout(&admin(&world, &["list", "delete", "shop", "clients"]));
    assert_eq!(deleted.trim(), "shop's list clients deleted (3 numbers)");
    assert!(lists(&world, "shop").is_empty());
    assert!(stored_keys(&world, "shop").await.is_empty(), "head and chunks are gone");
    let gone = stderr(&admin(&world, &["list", "show", "shop", "clients"]));
    assert!(gone.contains("shop has no contact list clients"), "{gone}");
    let gone = stderr(&admin(&world, &["list", "delete", "shop", "clients"]));
    assert!(gone.contains("shop has no contact list clients"), "{gone}");
}

#[tokio::test]
async fn an_import_that_cannot_be_a_list_changes_nothing() {
    let world = World::new().await;
    world.account("shop", 10).await;
    import(&world, "shop", "clients", "0612345678\n");

    let no_number = csv("abc\n06 12 x\n01 23 45 67 89\n");
    let refused = stderr(&admin(&world, &["list", "import", "shop", "clients", no_number.path()]));
    assert!(refused.contains("holds no number to text (2 lines rejected, the first: line 2"), "{refused}");
    assert!(refused.contains("nothing changed"), "{refused}");
    let too_many = csv(&numbers(MAX_LIST_NUMBERS + 1, 0).join("\n"));
    let refused = stderr(&admin(&world, &["list", "import", "shop", "clients", too_many.path()]));
    assert!(refused.contains(&format!("a list holds at most {MAX_LIST_NUMBERS}")), "{refused}");
    let bad_name = stderr(&admin(&world, &["list", "import", "shop", "mes clients", no_number.path()]));
    assert!(bad_name.contains("\"mes clients\" is not a list name"), "{bad_name}");
    let no_account = stderr(&admin(&world, &["list", "import", "nobody", "clients", no_number.path()]));
    assert!(no_account.contains("no account nobody"), "{no_account}");
    let missing = stderr(&admin(&world, &["list", "import", "shop", "clients", "/nonexistent/list.csv"]));
    assert!(missing.contains("cannot read /nonexistent/list.csv"), "{missing}");

    assert_eq!(show(&world, "shop", "clients")["numbers"], json!(["+33612345678"]), "the list as it was");
}

#[tokio::test]
async fn an_email_naming_a_list_reaches_each_number_once_and_is_debited_once() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    import(&world, "shop", "clients", "0612345678\n0611223344\n+32470123456\n");
    let proxy = FaultProxy::start().await;
    let gateway = gateway(&world.config, &world.through(&proxy));
    let subject = format!("shop@{key}|0612345678;#Clients;33698765432;#clients");
    let id = world.receive(&world.email(&subject, &format!("Bonjour {}", world.token))).await;

    let outcome = only(gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap());

    assert!(matches!(outcome, Outcome::Sent { sent: 4, failed: 0, cost: 4, refunded: 0, .. }), "{outcome:?}");
    assert_eq!(texted(&world), ["+32470123456", "+33611223344", "+33612345678", "+33698765432"]);
    assert_eq!(world.credits("shop").await, 6, "four numbers, each charged once");
    let record = world.record(&id).await;
    assert_eq!((record.state, record.cost), (MessageState::Sent, 4));
    let order: Vec<&str> = record.recipients.iter().map(|r| r.number.e164()).collect();
    assert_eq!(
        order,
        ["+33612345678", "+33698765432", "+33611223344", "+32470123456"],
        "the subject's, then the list's"
    );
    // The list named twice is read once, by one query; the email is debited by one transaction.
    assert_eq!(proxy.count("dynamodb", "Query"), 1);
    let first_send = proxy.served().iter().position(|s| s.call.operation == "Publish").unwrap();
    let openings = proxy.served()[..first_send].iter().filter(|s| s.call.operation == "TransactWriteItems").count();
    assert_eq!(openings, 1);
    assert!(world.replies().is_empty());
}

#[tokio::test]
async fn an_unknown_list_is_refused_109_naming_it_and_nothing_is_sent_or_debited() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    import(&world, "shop", "clients", "0612345678\n");

    let (id, outcome) = deliver(&world, &format!("shop@{key}|0698765432;#clients;#prospects")).await;

    assert!(matches!(outcome, Outcome::Rejected { status: StatusCode::InvalidRequest, .. }), "{outcome:?}");
    assert!(world.sms().is_empty());
    assert_eq!(world.credits("shop").await, 10);
    let record = world.record(&id).await;
    assert_eq!(record.status, Some(StatusCode::InvalidRequest));
    let replies = world.replies();
    assert_eq!(replies.len(), 1);
    assert!(replies[0].text.contains("Status: 109"), "{:?}", replies[0]);
    assert!(replies[0].text.contains("liste de contacts « #prospects » inconnue"), "{:?}", replies[0]);
    assert!(!replies[0].contains(&key));
}

#[tokio::test]
async fn another_account_s_list_is_not_usable_not_even_by_its_sub_account() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let other = world.account("other", 10).await;
    import(&world, "other", "clients", "0612345678\n");
    // A sub-account of shop's, with no list of its own.
    let team_key = new_api_key();
    let mut team = Account::new("shop.team", &ApiKey::new(team_key.clone()), 10, Utc::now()).unwrap();
    team.parent = Some("shop".to_owned());
    assert!(world.ledger.create_account(&team).await.unwrap());
    import(&world, "shop", "vip", "0698765432\n");

    let (_, outcome) = deliver(&world, &format!("shop@{key}|#clients")).await;
    assert!(matches!(outcome, Outcome::Rejected { status: StatusCode::InvalidRequest, .. }), "{outcome:?}");
    let (_, outcome) = deliver(&world, &format!("shop.team@{team_key}|#vip")).await;
    assert!(matches!(outcome, Outcome::Rejected { status: StatusCode::InvalidRequest, .. }), "{outcome:?}");
    assert!(world.sms().is_empty());
    assert_eq!((world.credits("shop").await, world.credits("shop.team").await), (10, 10));

    // Its owner uses it.
    let (_, outcome) = deliver(&world, &format!("other@{other}|#clients")).await;
    assert!(matches!(outcome, Outcome::Sent { sent: 1, cost: 1, .. }), "{outcome:?}");
    assert_eq!(texted(&world), ["+33612345678"]);
}

#[tokio::test]
async fn an_opted_out_number_of_a_list_is_neither_sent_nor_charged() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    import(&world, "shop", "clients", "0612345678\n0611223344\n0698765432\n");
    stdout(&admin(&world, &["optout", "add", "shop", "06 11 22 33 44"]));
    stdout(&admin(&world, &["optout", "add", "--gateway", "+33698765432"]));

    let (id, outcome) = deliver(&world, &format!("shop@{key}|#clients")).await;

    assert!(matches!(outcome, Outcome::Sent { sent: 1, cost: 1, .. }), "{outcome:?}");
    assert_eq!(texted(&world), ["+33612345678"]);
    assert_eq!(world.credits("shop").await, 9);
    let record = world.record(&id).await;
    let opted_out: Vec<&str> =
        record.recipients.iter().filter(|r| r.delivery == Delivery::OptedOut).map(|r| r.number.e164()).collect();
    assert_eq!(opted_out, ["+33611223344", "+33698765432"]);

    // Every number of the list opted out: 114, nothing debited.
    import(&world, "shop", "clients", "0611223344\n");
    let (_, outcome) = deliver(&world, &format!("shop@{key}|#clients")).await;
    assert!(matches!(outcome, Outcome::Rejected { status: StatusCode::NoValidRecipient, .. }), "{outcome:?}");
    assert_eq!(world.credits("shop").await, 9);
}

#[tokio::test]
async fn importing_again_replaces_the_list_whole_and_at_once() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let big = numbers(2_500, 0);
    let printed = import(&world, "shop", "clients", &big.join("\n"));
    assert!(printed.trim().ends_with("2500 numbers kept (a new list); 0 lines rejected"), "{printed}");
    assert_eq!(stored_keys(&world, "shop").await, ["#clients", "clients#000", "clients#001", "clients#002"]);
    let shown = show(&world, "shop", "clients");
    let expected: Vec<String> = big.iter().map(|n| e164(n)).collect();
    assert_eq!(shown["numbers"], json!(expected), "every chunk, in the file's order");

    let printed = import(&world, "shop", "clients", "0698765432\n0611223344\n");
    assert!(printed.trim().ends_with("2 numbers kept (replacing 2500 numbers); 0 lines rejected"), "{printed}");
    assert_eq!(stored_keys(&world, "shop").await, ["#clients", "clients#000"], "the old chunks are gone");
    assert_eq!(show(&world, "shop", "clients")["numbers"], json!(["+33698765432", "+33611223344"]));

    let (_, outcome) = deliver(&world, &format!("shop@{key}|#clients")).await;
    assert!(matches!(outcome, Outcome::Sent { sent: 2, cost: 2, .. }), "{outcome:?}");
    assert_eq!(texted(&world), ["+33611223344", "+33698765432"]);
}

#[tokio::test]
async fn a_full_list_and_one_more_number_is_more_than_an_email_may_have() {
    let world = World::new().await;
    let key = world.account("shop", 100_000).await;
    import(&world, "shop", "all", &numbers(MAX_LIST_NUMBERS, 0).join("\n"));
    assert_eq!(show(&world, "shop", "all")["count"], MAX_LIST_NUMBERS);

    let one_more = numbers(1, MAX_LIST_NUMBERS).pop().unwrap();
    let (_, outcome) = deliver(&world, &format!("shop@{key}|{one_more};#all")).await;

    assert!(matches!(outcome, Outcome::Rejected { status: StatusCode::InvalidRequest, .. }), "{outcome:?}");
    assert!(world.sms().is_empty());
    assert_eq!(world.credits("shop").await, 100_000);
    let reply = &world.replies()[0];
    assert!(reply.text.contains(&format!("{} destinataires", MAX_RECIPIENTS + 1)), "{reply:?}");
}

#[tokio::test]
async fn a_list_in_a_sender_mode_subject_without_credentials_works_the_same() {
    let world = World::new().await;
    world.account("shop", 10).await;
    let domain = format!("{}.example", world.token);
    stdout(&admin(&world, &["account", "update", "shop", "--auth", "sender", "--allow", &format!("@{domain}")]));
    import(&world, "shop", "clients", "0612345678\n0698765432\n");
    let id = &new_api_key()[..12];
    // As SES stores it after its checks: SPF, DKIM and DMARC pass for the customer's domain.
    let raw = format!(
        "Return-Path: <bounces@esp.example.net>\r\n\
         Received: from mx.sender.example (mx.sender.example [203.0.113.9])\r\n by inbound-smtp.eu-west-1.amazonaws.com with SMTP id {id}\r\n for mail2sms@sms.example.com;\r\n Wed, 25 Nov 2026 09:12:44 +0000 (UTC)\r\n\
         X-SES-Spam-Verdict: PASS\r\n\
         X-SES-Virus-Verdict: PASS\r\n\
         Authentication-Results: amazonses.com;\r\n spf=pass client-ip=198.51.100.7; envelope-from=bounces@esp.example.net; helo=esp.example.net;\r\n dkim=pass header.i=@{domain};\r\n dmarc=pass header.from={domain};\r\n\
         Received: by mx.sender.example with SMTP id {id}; Wed, 25 Nov 2026 10:12:40 +0100\r\n\
         From: Claire <claire@{domain}>\r\nTo: mail2sms@sms.example.com\r\nSubject: #clients|from=SHOP\r\n\
         Message-ID: <{id}@{domain}>\r\nDate: Wed, 25 Nov 2026 10:12:40 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nBonjour {}\r\n",
        world.token
    );
    let message_id = world.receive(raw.as_bytes()).await;
    let mut event = world.ses_event(&message_id);
    let receipt = &mut event["Records"][0]["ses"]["receipt"];
    for verdict in ["spfVerdict", "dkimVerdict", "dmarcVerdict"] {
        receipt[verdict] = json!({ "status": "PASS" });
    }
    receipt["dmarcPolicy"] = json!("reject");

    let outcome = only(world.gateway().handle(event, &world.invocation()).await.unwrap());

    assert!(matches!(outcome, Outcome::Sent { sent: 2, cost: 2, .. }), "{outcome:?}");
    assert_eq!(world.record(&message_id).await.login.as_deref(), Some("shop"));
    assert_eq!(texted(&world), ["+33612345678", "+33698765432"]);
    assert_eq!(world.credits("shop").await, 8);
}
