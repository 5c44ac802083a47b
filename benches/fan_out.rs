//! `make bench`, large lists: one email to 1,000 and to 10,000 recipients through the real
//! gateway (release build, real SDK clients) against the local emulator, the parts queue played
//! by a stand-in for Lambda's event source mapping with a few concurrency bounds. Prints the
//! wall time, the invocations, the AWS calls by kind, an estimate of DynamoDB's write units per
//! recipient and the largest record, and checks what must hold: each number texted once, one
//! debit, no invocation near its timeout, no item near DynamoDB's 400 KB.
//!
//! Run by `make bench` through `scripts/with-moto.sh` (AWS_ENDPOINT_URL set). The emulator is
//! not AWS: its latency is a Python server's, one request at a time, so the wall times say how
//! the work scales, not how long AWS takes.

#[path = "../tests/it/helpers/faults.rs"]
#[allow(dead_code)]
mod faults;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use chrono::Utc;
use mail2sms::aws::{AwsGateway, bootstrap, gateway};
use mail2sms::config::Config;
use mail2sms::domain::account::{Account, new_api_key};
use mail2sms::domain::message::{MessageRecord, part_id};
use mail2sms::domain::request::ApiKey;
use mail2sms::fan_out::batch_response;
use mail2sms::pipeline::{Invocation, Outcome};
use mail2sms::ports::Ledger;
use mail2sms::tables;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use faults::FaultProxy;

/// The function's timeout in the template, and how close to it an invocation may come.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(60);
const TIMEOUT_HEADROOM: Duration = Duration::from_secs(15);
/// DynamoDB's item limit, and the share of it a record may take.
const ITEM_LIMIT: usize = 400 * 1024;

struct Run {
    recipients: usize,
    concurrency: usize,
    wall: Duration,
    invocations: usize,
    longest_invocation: Duration,
    calls: BTreeMap<String, usize>,
    write_units: f64,
    largest_record: usize,
}

#[tokio::main]
async fn main() {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .expect("AWS_ENDPOINT_URL is not set: run through `make bench`, which starts the emulator");
    let sdk = aws_config::load_from_env().await;
    println!("large lists, against the emulator at {endpoint} (one request at a time)");
    println!(
        "{:>10} {:>5} {:>9} {:>11} {:>10} {:>11} {:>9}  calls",
        "recipients", "conc", "wall s", "invocations", "longest s", "WCU/recip.", "record KB"
    );
    let mut failures = Vec::new();
    for (recipients, concurrency) in [(1_000, 1), (10_000, 1), (10_000, 2), (10_000, 4)] {
        let run = run(&sdk, recipients, concurrency).await;
        let calls: Vec<String> = run.calls.iter().map(|(kind, n)| format!("{kind} {n}")).collect();
        println!(
            "{:>10} {:>5} {:>9.1} {:>11} {:>10.1} {:>11.1} {:>9.0}  {}",
            run.recipients,
            run.concurrency,
            run.wall.as_secs_f64(),
            run.invocations,
            run.longest_invocation.as_secs_f64(),
            run.write_units / run.recipients as f64,
            run.largest_record as f64 / 1024.0,
            calls.join(", ")
        );
        if run.longest_invocation > FUNCTION_TIMEOUT - TIMEOUT_HEADROOM {
            failures.push(format!("{recipients}/{concurrency}: an invocation took {:?}", run.longest_invocation));
        }
        if run.largest_record > ITEM_LIMIT * 9 / 10 {
            failures.push(format!("{recipients}/{concurrency}: a record of {} bytes", run.largest_record));
        }
    }
    if !failures.is_empty() {
        eprintln!("budgets exceeded: {}", failures.join("; "));
        std::process::exit(1);
    }
    println!(
        "budgets held: each number texted once, one debit, every invocation under {:?}, every record under 90 % of 400 KB",
        FUNCTION_TIMEOUT - TIMEOUT_HEADROOM
    );
}

/// One email of `recipients` numbers, its parts sent by `concurrency` invocations at a time.
async fn run(sdk: &SdkConfig, recipients: usize, concurrency: usize) -> Run {
    let token = format!("b{}", &new_api_key()[..10].to_lowercase());
    let names = [
        ("ACCOUNTS_TABLE", format!("{token}-accounts")),
        ("MESSAGES_TABLE", format!("{token}-messages")),
        ("OPT_OUTS_TABLE", format!("{token}-opt-outs")),
        ("CONTACT_LISTS_TABLE", format!("{token}-lists")),
        ("INBOUND_BUCKET", format!("{token}-inbound")),
        ("REPLY_FROM", format!("mail2sms@{token}.example.net")),
        ("SCHEDULE_GROUP", format!("{token}-group")),
        ("SCHEDULER_ROLE_ARN", "arn:aws:iam::123456789012:role/mail2sms-scheduler".to_owned()),
        // The provider's throughput is not what is measured here: the emulator's is lower.
        ("SEND_RATE", "10000".to_owned()),
        ("FAN_OUT_CONCURRENCY", concurrency.to_string()),
    ];
    let mut config = Config::from_lookup(|name| names.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()))
        .expect("bench configuration");
    let ledger = mail2sms::aws::dynamodb::DynamoLedger::new(
        sdk,
        &config.accounts_table,
        &config.messages_table,
        &config.opt_outs_table,
    );
    for (spec, name) in [
        (&tables::ACCOUNTS, &config.accounts_table),
        (&tables::MESSAGES, &config.messages_table),
        (&tables::OPT_OUTS, &config.opt_outs_table),
    ] {
        bootstrap::create_table(ledger.client(), spec, name).await.unwrap();
    }
    bootstrap::create_bucket(sdk, &config.inbound_bucket).await.unwrap();
    config.parts_queue_url = Some(bootstrap::create_parts_queue(sdk, &format!("{token}-parts")).await.unwrap());
    let key = new_api_key();
    let credits = recipients as u64 * 2;
    let account = Account::new("shop", &ApiKey::new(key.clone()), credits, Utc::now()).unwrap();
    ledger.create_account(&account).await.unwrap();

    let numbers: Vec<String> = (0..recipients).map(|i| format!("+4479{:08}", 30_000_000 + i)).collect();
    let subject = format!("shop@{key}|{}", numbers.join(";"));
    let message_id = format!("{token}{}", &new_api_key()[..16].to_lowercase());
    let raw = format!(
        "From: Boutique <shop@example.com>\r\nTo: mail2sms@sms.example.com\r\nSubject: {subject}\r\n\
         Message-ID: <{message_id}@mail.example.com>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nBonjour, les soldes commencent demain.\r\n"
    );
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build());
    s3.put_object()
        .bucket(&config.inbound_bucket)
        .key(format!("{}{message_id}", config.inbound_prefix))
        .body(raw.into_bytes().into())
        .send()
        .await
        .unwrap();

    // The function's calls go through the counting proxy; the stand-in for the event source
    // mapping polls the queue directly (those calls are Lambda's, not the function's).
    let proxy = FaultProxy::start().await;
    let through = {
        let mut builder = sdk.to_builder().endpoint_url(proxy.endpoint());
        builder.insert_origin("endpoint_url", aws_types::origin::Origin::shared_config());
        builder.build()
    };
    let gateway = Arc::new(gateway(&config, &through));
    let started = Instant::now();
    let invocations = AtomicUsize::new(1);
    let mut longest = Duration::ZERO;
    let first = Instant::now();
    let outcomes = gateway.handle(ses_event(&message_id, &subject), &invocation()).await.unwrap();
    longest = longest.max(first.elapsed());
    if let [Outcome::InParts { .. }] = outcomes.as_slice() {
        longest = longest.max(drain(sdk, &config, &gateway, concurrency, &invocations).await);
    }
    let wall = started.elapsed();

    let sent = proxy.count("sns", "Publish");
    assert_eq!(sent, recipients, "each number texted once");
    let after = ledger.account("shop").await.unwrap().unwrap().credits;
    assert_eq!(after, credits - recipients as u64, "one debit");
    let mut calls = BTreeMap::new();
    for served in proxy.served() {
        *calls.entry(format!("{}:{}", served.call.service, served.call.operation)).or_insert(0) += 1;
    }
    let records = records(&ledger, &message_id).await;
    Run {
        recipients,
        concurrency,
        wall,
        invocations: invocations.load(Ordering::SeqCst),
        longest_invocation: longest,
        write_units: write_units(&calls, &records),
        largest_record: records.iter().map(item_size).max().unwrap_or(0),
        calls,
    }
}

/// The email's record and its parts' records, as stored at the end.
async fn records(ledger: &mail2sms::aws::dynamodb::DynamoLedger, message_id: &str) -> Vec<MessageRecord> {
    let head = ledger.load(message_id).await.unwrap().expect("the email's record");
    let mut records = Vec::new();
    for index in 0..head.fan_out.map_or(0, |fan_out| fan_out.parts) {
        records.push(ledger.load(&part_id(message_id, index)).await.unwrap().expect("a part's record"));
    }
    records.push(head);
    records
}

/// A record's size as DynamoDB counts it, about: its attributes as JSON.
fn item_size(record: &MessageRecord) -> usize {
    serde_json::to_vec(record).map_or(0, |json| json.len())
}

/// An estimate of the write units: a write costs a unit per KB of the item it writes (the
/// larger of before and after), twice in a transaction. Each write to a message record is
/// counted at its record's final size (an upper bound: records grow as they are written), every
/// other write at one unit.
fn write_units(calls: &BTreeMap<String, usize>, records: &[MessageRecord]) -> f64 {
    let count = |kind: &str| calls.get(kind).copied().unwrap_or(0) as f64;
    let mean_kb = records.iter().map(|r| (item_size(r) as f64 / 1024.0).ceil()).sum::<f64>() / records.len() as f64;
    // Each transaction writes one record (the debit also the head, the parts and the account).
    let opening = 2.0 * records.iter().map(|r| (item_size(r) as f64 / 1024.0).ceil() + 1.0).sum::<f64>();
    let transactions = count("dynamodb:TransactWriteItems");
    opening
        + 2.0 * mean_kb * (transactions - 1.0).max(0.0)
        + count("dynamodb:UpdateItem") * mean_kb
        + count("dynamodb:PutItem")
}

/// Plays Lambda's event source mapping: `concurrency` pollers, each handing one part at a time
/// to the function and deleting it unless the answer hands it back. Returns the longest
/// invocation.
async fn drain(
    sdk: &SdkConfig,
    config: &Config,
    gateway: &Arc<AwsGateway>,
    concurrency: usize,
    invocations: &AtomicUsize,
) -> Duration {
    let client = aws_sdk_sqs::Client::new(sdk);
    let url = config.parts_queue_url.clone().unwrap();
    let longest = Mutex::new(Duration::ZERO);
    let pollers = (0..concurrency).map(|_| async {
        let mut idle = 0;
        while idle < 3 {
            let received = client.receive_message().queue_url(&url).max_number_of_messages(1).send().await.unwrap();
            let Some(message) = received.messages.unwrap_or_default().into_iter().next() else {
                idle += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            idle = 0;
            invocations.fetch_add(1, Ordering::SeqCst);
            let event = json!({ "Records": [{
                "messageId": message.message_id, "receiptHandle": message.receipt_handle, "body": message.body,
                "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs", "awsRegion": "eu-west-1",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:parts"
            }]});
            let start = Instant::now();
            let answer = gateway.handle(event, &invocation()).await.unwrap();
            let took = start.elapsed();
            let mut longest = longest.lock().await;
            *longest = (*longest).max(took);
            if batch_response(&answer)["batchItemFailures"].as_array().is_some_and(Vec::is_empty) {
                let handle = message.receipt_handle.unwrap_or_default();
                client.delete_message().queue_url(&url).receipt_handle(handle).send().await.unwrap();
            }
        }
    });
    futures::future::join_all(pollers).await;
    longest.into_inner()
}

fn invocation() -> Invocation {
    Invocation {
        request_id: new_api_key(),
        deadline: Utc::now() + chrono::Duration::from_std(FUNCTION_TIMEOUT).unwrap(),
        function_arn: "arn:aws:lambda:eu-west-1:123456789012:function:mail2sms".to_owned(),
    }
}

fn ses_event(message_id: &str, subject: &str) -> Value {
    let mut event: Value = serde_json::from_str(include_str!("../events/ses-event.json")).unwrap();
    let mail = &mut event["Records"][0]["ses"]["mail"];
    mail["messageId"] = json!(message_id);
    mail["commonHeaders"]["subject"] = json!(subject);
    if let Some(headers) = mail["headers"].as_array_mut() {
        for header in headers.iter_mut().filter(|h| h["name"] == "Subject") {
            header["value"] = json!(subject);
        }
    }
    event
}
