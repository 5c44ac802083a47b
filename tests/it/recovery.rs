//! Faults on the way out: the provider refusing a number, being unavailable, or the invocation
//! dying mid-send. The records and credits in the emulator must say exactly what happened, and
//! the retry must finish the job without sending anyone twice.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::helpers::World;
use crate::helpers::faults::{Fault as HttpFault, FaultProxy, Message, Response, Rule, Served, classify, read_request};
use crate::helpers::runtime::{Answer, Function};
use futures::StreamExt;
use mail2sms::aws::{AwsGateway, Sms, gateway};
use mail2sms::domain::message::{Delivery, MessageRecord, MessageState};
use mail2sms::pipeline::{Gateway, Invocation, Outcome, PipelineError};
use mail2sms::ports::{Ledger, OutgoingSms, PortError, SmsGateway};
use serde_json::Value;

/// What the provider does with a number.
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    /// Refuses it for good.
    Refuse,
    /// Is unavailable for it, once.
    FailOnce,
    /// Never answers (the invocation will be cut short).
    Hang,
}

/// The real SNS adapter, with faults injected for some numbers.
struct FaultySms {
    inner: Sms,
    faults: Vec<(&'static str, Fault)>,
    failed_once: Mutex<HashSet<String>>,
}

impl SmsGateway for FaultySms {
    async fn send(&self, sms: OutgoingSms<'_>) -> Result<String, PortError> {
        let fault = self.faults.iter().find(|(number, _)| *number == sms.to.e164()).map(|(_, fault)| *fault);
        match fault {
            Some(Fault::Refuse) => Err(PortError::Refused { service: "sns", message: "InvalidParameter".into() }),
            Some(Fault::FailOnce) if self.failed_once.lock().unwrap().insert(sms.to.e164().to_owned()) => {
                Err(PortError::Unavailable { service: "sns", message: "Throttling".into() })
            }
            Some(Fault::Hang) => std::future::pending().await,
            _ => self.inner.send(sms).await,
        }
    }
}

type FaultyGateway = Gateway<
    mail2sms::aws::s3::S3Inbox,
    mail2sms::account_cache::CachedLedger<mail2sms::aws::dynamodb::DynamoLedger>,
    FaultySms,
    mail2sms::aws::sesv2::SesMailer,
    mail2sms::aws::Later,
>;

fn faulty(world: &World, faults: Vec<(&'static str, Fault)>, batch: usize) -> FaultyGateway {
    let mut gateway = world.gateway().map_sms(|inner| FaultySms { inner, faults, failed_once: Mutex::default() });
    gateway.settings.send_concurrency = batch;
    gateway
}

const NUMBERS: &str = "0611111111;0622222222;0633333333;0644444444";

#[tokio::test]
async fn a_number_the_provider_refuses_is_refunded_and_the_others_are_sent() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let gateway = faulty(&world, vec![("+33622222222", Fault::Refuse)], 16);
    let body = format!("{} {}", world.token, "x".repeat(200)); // two parts
    let id = world.receive(&world.email(&format!("shop@{key}|{NUMBERS}"), &body)).await;

    let outcome = gateway.handle(world.ses_event(&id), &world.invocation()).await.unwrap().remove(0);

    assert!(
        matches!(
            outcome,
            Outcome::Sent { state: MessageState::PartiallyFailed, sent: 3, failed: 1, cost: 8, refunded: 2, .. }
        ),
        "{outcome:?}"
    );
    assert_eq!(world.credits("shop").await, 10 - 8 + 2);
    let record = world.record(&id).await;
    assert_eq!(record.refunded, 2);
    let refused = record.recipients.iter().find(|r| r.number.e164() == "+33622222222").unwrap();
    assert_eq!(refused.delivery, Delivery::Failed);
    assert_eq!(world.sms().len(), 3);
}

#[tokio::test]
async fn an_unavailable_provider_leaves_the_rest_for_the_retry_which_sends_only_that() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let gateway = faulty(&world, vec![("+33622222222", Fault::FailOnce)], 2);
    let id = world.receive(&world.email(&format!("shop@{key}|{NUMBERS}"), &world.token)).await;
    let invocation = world.invocation();

    let first = gateway.handle(world.ses_event(&id), &invocation).await;

    match first {
        Err(error @ PipelineError::Incomplete { .. }) => assert!(error.is_retryable()),
        other => panic!("expected a retryable incomplete send, got {other:?}"),
    }
    let record = world.record(&id).await;
    assert_eq!(record.state, MessageState::Accepted);
    assert_eq!(record.count(Delivery::Sent), 1, "the rest of the first batch went out");
    assert_eq!(record.count(Delivery::Pending), 3, "the failed one waits, and no further batch was started");

    // Lambda retries the same event with the same request id.
    let retry = gateway.handle(world.ses_event(&id), &invocation).await.unwrap().remove(0);

    assert!(matches!(retry, Outcome::Sent { state: MessageState::Sent, sent: 4, .. }), "{retry:?}");
    let mut numbers: Vec<String> = world.sms().into_iter().map(|s| s.phone_number).collect();
    numbers.sort();
    assert_eq!(numbers, ["+33611111111", "+33622222222", "+33633333333", "+33644444444"], "each exactly once");
    assert_eq!(world.credits("shop").await, 6, "debited once");
}

#[tokio::test]
async fn after_a_crash_mid_send_the_retry_sends_the_rest_and_never_repeats_the_doubtful() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let hanging = faulty(&world, vec![("+33622222222", Fault::Hang)], 2);
    let id = world.receive(&world.email(&format!("shop@{key}|{NUMBERS}"), &world.token)).await;
    let mut invocation = world.invocation();
    invocation.deadline = chrono::Utc::now() + chrono::Duration::seconds(1);

    // The invocation dies while one SMS is with the provider; the others went on meanwhile.
    let crashed =
        tokio::time::timeout(Duration::from_millis(3000), hanging.handle(world.ses_event(&id), &invocation)).await;
    assert!(crashed.is_err(), "the invocation was cut short");
    let record = world.record(&id).await;
    assert_eq!(record.count(Delivery::Sending), 1, "only the call in flight is in doubt: the others were recorded");
    assert_eq!(record.count(Delivery::Sent), 3, "a slow answer did not hold the others back");
    assert_eq!(world.sms().len(), 3);

    // A later delivery of the same email, once the dead invocation's lease has lapsed.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let healthy = faulty(&world, vec![], 2);
    let outcome = healthy.handle(world.ses_event(&id), &world.invocation()).await.unwrap().remove(0);

    assert!(
        matches!(outcome, Outcome::Sent { state: MessageState::PartiallyFailed, sent: 3, unknown: 1, .. }),
        "{outcome:?}"
    );
    let mut numbers: Vec<String> = world.sms().into_iter().map(|s| s.phone_number).collect();
    numbers.sort();
    assert_eq!(numbers, ["+33611111111", "+33633333333", "+33644444444"], "nobody twice");
    assert_eq!(world.credits("shop").await, 6, "debited once, the doubtful not refunded");
}

#[tokio::test]
async fn while_an_invocation_holds_the_message_another_delivery_leaves_it_alone() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let hanging = faulty(&world, vec![("+33611111111", Fault::Hang)], 2);
    let id = world.receive(&world.email(&format!("shop@{key}|{NUMBERS}"), &world.token)).await;
    let holder = world.invocation();
    let _ = tokio::time::timeout(Duration::from_millis(2000), hanging.handle(world.ses_event(&id), &holder)).await;

    let other = faulty(&world, vec![], 2);
    let outcome = other.handle(world.ses_event(&id), &world.invocation()).await;

    // Not "done": a retryable error, so that Lambda retries and finishes if the holder died.
    match outcome {
        Err(error @ PipelineError::InProgress { .. }) => assert!(error.is_retryable()),
        other => panic!("expected a retryable 'in progress', got {other:?}"),
    }
    assert_eq!(world.sms().len(), 3, "only what the holder sent: all but the hanging one");
}

/// The real scheduler adapter, unavailable for its first call.
struct FlakyScheduler {
    inner: mail2sms::aws::Later,
    failed: std::sync::atomic::AtomicBool,
}

impl mail2sms::ports::SendScheduler for FlakyScheduler {
    async fn schedule(&self, send: &mail2sms::ports::ScheduledSend) -> Result<(), PortError> {
        if !self.failed.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(PortError::Unavailable { service: "scheduler", message: "Throttling".into() });
        }
        self.inner.schedule(send).await
    }

    async fn queue_parts(&self, part_ids: &[String]) -> Result<(), PortError> {
        self.inner.queue_parts(part_ids).await
    }
}

#[tokio::test]
async fn a_schedule_that_could_not_be_created_is_created_by_the_retry_without_a_second_debit() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let gateway = world.gateway().map_scheduler(|inner| FlakyScheduler { inner, failed: Default::default() });
    let due = (chrono::Utc::now() + chrono::Duration::days(3)).format("%Y-%m-%d 09:30:00");
    let id = world.receive(&world.email(&format!("shop@{key}|{NUMBERS}|date={due}"), &world.token)).await;
    let invocation = world.invocation();

    let first = gateway.handle(world.ses_event(&id), &invocation).await;
    assert!(matches!(&first, Err(error) if error.is_retryable()), "{first:?}");
    assert_eq!(world.record(&id).await.state, MessageState::Scheduled, "accepted and debited before the schedule");

    let retry = gateway.handle(world.ses_event(&id), &invocation).await.unwrap().remove(0);

    assert!(matches!(retry, Outcome::Scheduled { .. }), "{retry:?}");
    assert_eq!(world.schedules().await.len(), 1);
    assert_eq!(world.credits("shop").await, 6, "debited once");
}

// =============================================================================================
// Faults at the HTTP level: real SDK clients (and the real binary) behind a fault proxy
// =============================================================================================

const THREE: &str = "0611111111;0622222222;0633333333";
const SECOND: &str = "+33622222222";

/// How many SMS each number got, as the emulator recorded them (bodies hold the world's token).
fn texts_per_number(world: &World) -> BTreeMap<String, usize> {
    let mut texts = BTreeMap::new();
    for sms in world.sms() {
        *texts.entry(sms.phone_number).or_insert(0) += 1;
    }
    texts
}

fn deliveries(record: &MessageRecord) -> BTreeMap<String, Delivery> {
    record.recipients.iter().map(|r| (r.number.e164().to_owned(), r.delivery)).collect()
}

/// The proxy's log, one line a call, for failure messages.
fn calls(proxy: &FaultProxy) -> String {
    proxy
        .served()
        .iter()
        .map(|s| {
            let about = s.call.about.as_deref().map(|a| format!(" {a}")).unwrap_or_default();
            let replayed = if s.replayed { " (replayed)" } else { "" };
            format!("  {} {}{about}: {:?} -> {:?}{replayed}\n", s.call.service, s.call.operation, s.fault, s.answered)
        })
        .collect()
}

type Handled = Result<Vec<Outcome>, PipelineError>;

fn describe(handled: &Handled) -> String {
    match handled {
        Ok(outcomes) => format!("ok {}", serde_json::to_string(outcomes).unwrap_or_default()),
        Err(error) => format!("{} error: {error}", if error.is_retryable() { "retryable" } else { "permanent" }),
    }
}

fn wrong_key(key: &str) -> String {
    key.chars().map(|c| if c == '0' { '1' } else { '0' }).collect()
}

#[tokio::test]
async fn the_fault_proxy_names_each_call() {
    fn request(start: &str, service: &str, headers: &str, body: &str) -> String {
        format!(
            "{start} HTTP/1.1\r\nHost: 127.0.0.1:4566\r\nAuthorization: AWS4-HMAC-SHA256 \
             Credential=testing/20261125/eu-west-1/{service}/aws4_request, SignedHeaders=host, Signature=00\r\n\
             {headers}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }
    let cases = [
        (
            request(
                "POST /",
                "dynamodb",
                "X-Amz-Target: DynamoDB_20120810.TransactWriteItems\r\nContent-Type: application/x-amz-json-1.0\r\n",
                r#"{"TransactItems":[],"ClientRequestToken":"t"}"#,
            ),
            ("dynamodb", "TransactWriteItems", None),
        ),
        (
            request(
                "POST /",
                "dynamodb",
                "X-Amz-Target: DynamoDB_20120810.GetItem\r\n",
                r#"{"TableName":"t1-accounts","Key":{"login":{"S":"shop"}}}"#,
            ),
            ("dynamodb", "GetItem", Some("t1-accounts")),
        ),
        (
            request(
                "POST /",
                "sns",
                "Content-Type: application/x-www-form-urlencoded\r\n",
                "Action=Publish&Version=2010-03-31&PhoneNumber=%2B33611111111&Message=Bonjour",
            ),
            ("sns", "Publish", Some("+33611111111")),
        ),
        (
            request("GET /t1-inbound/inbound/abc?x-id=GetObject", "s3", "", ""),
            ("s3", "GetObject", Some("t1-inbound/inbound/abc")),
        ),
        (request("PUT /t1-inbound", "s3", "", ""), ("s3", "CreateBucket", Some("t1-inbound"))),
        (request("POST /v2/email/outbound-emails", "ses", "", "{}"), ("ses", "SendEmail", None)),
        (
            request("POST /schedules/mail2sms-abc", "scheduler", "", "{}"),
            ("scheduler", "CreateSchedule", Some("mail2sms-abc")),
        ),
        (
            request(
                "POST /",
                "sms-voice",
                "X-Amz-Target: PinpointSMSVoiceV2.SendTextMessage\r\n",
                r#"{"DestinationPhoneNumber":"+33611111111"}"#,
            ),
            ("sms-voice", "SendTextMessage", Some("+33611111111")),
        ),
        ("GET /moto-api/ HTTP/1.1\r\nHost: x\r\n\r\n".to_owned(), ("unsigned", "GET /moto-api/", None)),
    ];
    for (raw, (service, operation, about)) in cases {
        let call = classify(&Message::parse_request(raw.as_bytes()).await.unwrap());
        assert_eq!(
            (call.service.as_str(), call.operation.as_str(), call.about.as_deref()),
            (service, operation, about),
            "{raw}"
        );
    }

    // A chunked body is read whole; the next request on the connection is not touched.
    let chunked = "POST /2018-06-01/runtime/invocation/r1/response HTTP/1.1\r\nHost: x\r\n\
                   Transfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    let message = Message::parse_request(chunked.as_bytes()).await.unwrap();
    assert_eq!(message.body, br#"{"a":1}"#);
}

/// A stand-in for the emulator that counts what it is asked and answers 200 `upstream`.
async fn counting_upstream() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counted = Arc::clone(&counted);
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut reader = tokio::io::BufReader::new(read);
                while let Ok(Some(_)) = read_request(&mut reader, &mut write).await {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let _ = Response::new(200, "text/plain", "upstream").write(&mut write).await;
                }
            });
        }
    });
    (address, count)
}

/// One request on a fresh connection; `None` if the connection closed without an answer.
async fn raw_call(proxy: &FaultProxy, request: &str, wait: Duration) -> Option<Option<String>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(proxy.endpoint().trim_start_matches("http://")).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    match tokio::time::timeout(wait, stream.read(&mut answer)).await {
        Err(_) => None,                       // still waiting
        Ok(Ok(0)) | Ok(Err(_)) => Some(None), // closed without an answer
        Ok(Ok(n)) => Some(Some(String::from_utf8_lossy(&answer[..n]).into_owned())),
    }
}

#[tokio::test]
async fn the_fault_proxy_throttles_drops_and_holds_as_scripted() {
    let (upstream, reached) = counting_upstream().await;
    let proxy = FaultProxy::to(&upstream).await;
    let publish = "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 Credential=a/20261125/eu-west-1/sns/aws4_request, \
                   SignedHeaders=host, Signature=0\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 14\r\n\r\nAction=Publish";
    let second = Duration::from_secs(1);

    proxy.inject(Rule::new("sns", "Publish", HttpFault::Throttle).nth(1));
    let throttled = raw_call(&proxy, publish, second).await.unwrap().unwrap();
    assert!(throttled.starts_with("HTTP/1.1 400") && throttled.contains("<Code>Throttling</Code>"), "{throttled}");
    assert_eq!(reached.load(Ordering::SeqCst), 0, "a throttled call is not forwarded");

    proxy.inject(Rule::new("sns", "Publish", HttpFault::ForwardThenDrop).nth(1));
    assert_eq!(raw_call(&proxy, publish, second).await, Some(None), "closed without an answer");
    assert_eq!(reached.load(Ordering::SeqCst), 1, "but acted on");

    proxy.inject(Rule::new("sns", "Publish", HttpFault::Hold).nth(1));
    let held = tokio::spawn({
        let endpoint = proxy.endpoint();
        async move {
            let proxy_endpoint = endpoint.trim_start_matches("http://").to_owned();
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut stream = tokio::net::TcpStream::connect(proxy_endpoint).await.unwrap();
            stream.write_all(publish.as_bytes()).await.unwrap();
            let mut answer = vec![0u8; 4096];
            let n = stream.read(&mut answer).await.unwrap();
            String::from_utf8_lossy(&answer[..n]).into_owned()
        }
    });
    assert!(proxy.wait_for_held(1, second * 5).await, "held");
    assert_eq!(reached.load(Ordering::SeqCst), 2, "a held call was acted on");
    assert_eq!(proxy.unanswered("sns", "Publish"), 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!held.is_finished(), "no answer while held");
    proxy.release();
    let answer = tokio::time::timeout(second * 5, held).await.unwrap().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("upstream"), "{answer}");

    let plain = raw_call(&proxy, publish, second).await.unwrap().unwrap();
    assert!(plain.starts_with("HTTP/1.1 200"), "{plain}");
    assert_eq!(proxy.count("sns", "Publish"), 4);
    assert_eq!(proxy.faults_applied(), 3);
}

#[tokio::test]
async fn an_sms_whose_answer_is_lost_is_not_sent_again() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let proxy = FaultProxy::start().await;
    proxy.inject(Rule::new("sns", "Publish", HttpFault::ForwardThenDrop).about(SECOND).nth(1));
    let gateway = gateway(&world.config, &world.through(&proxy));
    let id = world.receive(&world.email(&format!("shop@{key}|{THREE}"), &world.token)).await;
    let invocation = world.invocation();

    let first = gateway.handle(world.ses_event(&id), &invocation).await;
    // Lambda's retry of the same event, with the same request id.
    let retry = gateway.handle(world.ses_event(&id), &invocation).await;
    proxy.settled(Duration::from_secs(10)).await;

    let story = format!("first: {}\nretry: {}\ncalls:\n{}", describe(&first), describe(&retry), calls(&proxy));
    assert_eq!(proxy.faults_applied(), 1, "the answer was lost once\n{story}");
    let expected: BTreeMap<String, usize> =
        ["+33611111111", SECOND, "+33633333333"].into_iter().map(|n| (n.to_owned(), 1)).collect();
    assert_eq!(texts_per_number(&world), expected, "each number reached SNS exactly once\n{story}");
    let record = world.record(&id).await;
    let expected = BTreeMap::from([
        ("+33611111111".to_owned(), Delivery::Sent),
        (SECOND.to_owned(), Delivery::Unknown),
        ("+33633333333".to_owned(), Delivery::Sent),
    ]);
    assert_eq!(deliveries(&record), expected, "the one whose answer was lost is in doubt\n{story}");
    assert!(record.state.is_final(), "{:?}\n{story}", record.state);
    assert_eq!(world.credits("shop").await, 7, "debited once, the doubtful not refunded\n{story}");
}

#[tokio::test]
async fn a_throttled_sms_is_sent_on_a_retry_and_only_once() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let proxy = FaultProxy::start().await;
    proxy.inject(Rule::new("sns", "Publish", HttpFault::Throttle).about("+33611111111"));
    let gateway = gateway(&world.config, &world.through(&proxy));
    let id = world.receive(&world.email(&format!("shop@{key}|{THREE}"), &world.token)).await;
    let invocation = world.invocation();

    let first = gateway.handle(world.ses_event(&id), &invocation).await;
    proxy.clear();
    let story = || format!("first: {}\ncalls:\n{}", describe(&first), calls(&proxy));
    assert!(
        matches!(&first, Err(error) if error.is_retryable()),
        "a throttled SMS fails the invocation for a retry\n{}",
        story()
    );
    let retry = gateway.handle(world.ses_event(&id), &invocation).await;

    let story = format!("{}\nretry: {}", story(), describe(&retry));
    assert!(retry.is_ok(), "{story}");
    assert!(proxy.count_where(|s| s.fault == Some(HttpFault::Throttle)) >= 1, "{story}");
    let texts = texts_per_number(&world);
    assert_eq!(texts.values().copied().collect::<Vec<_>>(), [1, 1, 1], "everyone exactly once: {texts:?}\n{story}");
    let record = world.record(&id).await;
    assert_eq!(record.count(Delivery::Sent), 3, "{:?}\n{story}", deliveries(&record));
    assert_eq!(record.count(Delivery::Unknown), 0, "a refusal to act is never in doubt\n{story}");
    assert_eq!(record.state, MessageState::Sent);
    assert_eq!(world.credits("shop").await, 7, "debited once\n{story}");
}

/// Runs the event, then again with the same request id while it fails (Lambda's asynchronous
/// retries), at most `retries` times; returns what each run gave.
async fn with_retries(gateway: &AwsGateway, event: &Value, invocation: &Invocation, retries: usize) -> Vec<String> {
    let mut runs = Vec::new();
    for _ in 0..=retries {
        let handled = tokio::time::timeout(Duration::from_secs(30), gateway.handle(event.clone(), invocation)).await;
        let Ok(handled) = handled else {
            runs.push("hung for 30 s".to_owned());
            break;
        };
        runs.push(describe(&handled));
        if handled.is_ok() {
            break;
        }
    }
    runs
}

#[tokio::test]
async fn a_lost_debit_answer_debits_once() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let proxy = FaultProxy::start().await;
    proxy.inject(Rule::new("dynamodb", "TransactWriteItems", HttpFault::ForwardThenDrop).nth(1));
    let gateway = gateway(&world.config, &world.through(&proxy));
    let id = world.receive(&world.email(&format!("shop@{key}|{THREE}"), &world.token)).await;

    let runs = with_retries(&gateway, &world.ses_event(&id), &world.invocation(), 3).await;
    proxy.settled(Duration::from_secs(10)).await;

    let story = format!("runs: {runs:#?}\ncalls:\n{}", calls(&proxy));
    assert_eq!(proxy.faults_applied(), 1, "the debit's answer was lost\n{story}");
    assert_eq!(world.credits("shop").await, 7, "debited exactly once\n{story}");
    let texts = texts_per_number(&world);
    assert_eq!(texts.values().copied().collect::<Vec<_>>(), [1, 1, 1], "everyone exactly once: {texts:?}\n{story}");
    let record = world.record(&id).await;
    assert_eq!(record.state, MessageState::Sent, "{:?}\n{story}", deliveries(&record));
}

#[tokio::test]
async fn a_lost_checkpoint_answer_refunds_once() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let proxy = FaultProxy::start().await;
    // The provider refuses the second number for good: it is refunded, in the checkpoint after
    // the first batch of two, whose answer is lost.
    proxy.inject(Rule::new("sns", "Publish", HttpFault::Refuse).about(SECOND));
    proxy.inject(
        Rule::new("dynamodb", "TransactWriteItems", HttpFault::ForwardThenDrop).body_contains("ADD credits").nth(1),
    );
    let mut gateway = gateway(&world.config, &world.through(&proxy));
    gateway.settings.send_concurrency = 2;
    let id = world.receive(&world.email(&format!("shop@{key}|{NUMBERS}"), &world.token)).await;

    let runs = with_retries(&gateway, &world.ses_event(&id), &world.invocation(), 3).await;
    proxy.settled(Duration::from_secs(10)).await;

    let story = format!("runs: {runs:#?}\ncalls:\n{}", calls(&proxy));
    assert_eq!(
        proxy.count_where(|s| s.fault == Some(HttpFault::ForwardThenDrop)),
        1,
        "the refund's answer was lost (if 0: the refund is no longer a transaction with `ADD credits`)\n{story}"
    );
    let record = world.record(&id).await;
    assert_eq!(record.refunded, 1, "{story}");
    assert_eq!(world.credits("shop").await, 10 - 4 + 1, "refunded exactly once\n{story}");
    assert_eq!(deliveries(&record)[SECOND], Delivery::Failed, "{story}");
    let texts = texts_per_number(&world);
    assert_eq!(texts.get(SECOND), None, "{story}");
    assert_eq!(texts.values().copied().collect::<Vec<_>>(), [1, 1, 1], "the others exactly once: {texts:?}\n{story}");
    assert!(record.state.is_final(), "{:?}\n{story}", record.state);
}

#[tokio::test]
async fn a_failed_reply_is_sent_by_the_retry() {
    let world = World::new().await;
    let key = world.account("shop", 10).await;
    let proxy = FaultProxy::start().await;
    proxy.inject(Rule::new("ses", "SendEmail", HttpFault::Status(503)));
    let gateway = gateway(&world.config, &world.through(&proxy));
    let id = world.receive(&world.email(&format!("shop@{}|0611111111", wrong_key(&key)), &world.token)).await;
    let invocation = world.invocation();

    let first = gateway.handle(world.ses_event(&id), &invocation).await;
    proxy.clear();
    let story = || format!("first: {}\ncalls:\n{}", describe(&first), calls(&proxy));
    assert!(proxy.count("ses", "SendEmail") >= 1, "the reply was tried\n{}", story());
    assert!(world.replies().is_empty(), "SES answered 503 each time: nothing was sent\n{}", story());
    assert!(
        matches!(&first, Err(error) if error.is_retryable()),
        "a reply SES did not take fails the invocation, for Lambda's retry\n{}",
        story()
    );

    let retry = gateway.handle(world.ses_event(&id), &invocation).await;

    let story = format!("{}\nretry: {}", story(), describe(&retry));
    assert!(retry.is_ok(), "{story}");
    let replies = world.replies();
    assert_eq!(replies.len(), 1, "exactly one reply\n{story}");
    assert!(replies[0].contains("102"), "{}", replies[0].raw);
    assert_eq!(world.credits("shop").await, 10);
}

#[tokio::test]
async fn a_killed_invocation_never_sends_anyone_twice() {
    let world = World::new().await;
    let key = world.account("shop", 20).await;
    let proxy = FaultProxy::start().await;
    proxy.inject(Rule::new("sns", "Publish", HttpFault::Hold).nth(3));
    let mut function = Function::start(&world, &proxy.endpoint()).await;
    let six = "0611111111;0622222222;0633333333;0644444444;0655555555;0666666666";
    let id = world.receive(&world.email(&format!("shop@{key}|{six}"), &world.token)).await;
    let event = world.ses_event(&id);
    let request_id = format!("{}-request", world.token);

    let first = function.submit(&event, &request_id);
    assert!(
        proxy.wait_for_held(1, Duration::from_secs(20)).await,
        "the third SMS never reached the proxy\ncalls:\n{}\nfunction log:\n{}",
        calls(&proxy),
        function.log_text()
    );
    // Whatever the function records of the answers it has, it records now; then it dies.
    proxy.wait_quiet(Duration::from_millis(500), Duration::from_secs(5)).await;
    let in_flight = proxy.unanswered("sns", "Publish");
    function.kill();
    drop(first);
    let before_retry = calls(&proxy);

    // Lambda retries the event in a new process, with the same request id.
    function.restart();
    let mut answers = vec![function.invoke(&event, &request_id).await];
    while answers.last().is_some_and(|a| a.is_error()) && answers.len() < 3 {
        answers.push(function.invoke(&event, &request_id).await);
    }
    proxy.settled(Duration::from_secs(10)).await;

    let texts = texts_per_number(&world);
    let story = format!(
        "texts: {texts:?}\nin flight at the kill: {in_flight}\nanswers: {answers:#?}\n\
         calls before the kill:\n{before_retry}\nall calls:\n{}",
        calls(&proxy)
    );
    assert!(texts.values().all(|&n| n == 1), "nobody twice: {texts:?}\n{story}");
    let record = world.record(&id).await;
    assert_eq!(record.recipients.len(), 6);
    let deliveries = deliveries(&record);
    assert!(
        deliveries.values().all(|d| matches!(d, Delivery::Sent | Delivery::Unknown)),
        "everyone sent or in doubt: {deliveries:?}\n{story}"
    );
    for (number, delivery) in &deliveries {
        if *delivery == Delivery::Sent {
            assert_eq!(texts.get(number), Some(&1), "{number} recorded sent\n{story}");
        }
    }
    assert!(
        record.count(Delivery::Unknown) <= in_flight,
        "only what was in flight may be in doubt: {} unknown, {in_flight} in flight: {deliveries:?}\n{story}",
        record.count(Delivery::Unknown)
    );
    assert!(record.state.is_final(), "{:?}\n{story}", record.state);
    assert_eq!(world.credits("shop").await, 20 - 6, "debited once\n{story}");
    assert!(matches!(answers.last(), Some(Answer::Response(_))), "{story}");
}

// ---------------------------------------------------------------------------------------------
// The matrix: every step of the pipeline, every kind of fault
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    ReadEmail,
    ReadAccount,
    Debit,
    Publish,
    Checkpoint,
    RefundCheckpoint,
    Reply,
    Schedule,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// 500 after the call was acted on, once.
    Error500,
    /// Throttled (S3: 503 SlowDown) on every attempt of the first invocation.
    Throttle,
    /// Answered after 3 s, past the 1 s attempt timeout, once (the call is acted on anyway).
    Timeout,
    /// Acted on, answer lost, once.
    LostAnswer,
}

impl Step {
    const ALL: [Step; 8] = [
        Step::ReadEmail,
        Step::ReadAccount,
        Step::Debit,
        Step::Publish,
        Step::Checkpoint,
        Step::RefundCheckpoint,
        Step::Reply,
        Step::Schedule,
    ];

    fn name(self) -> &'static str {
        match self {
            Step::ReadEmail => "S3 GetObject (raw email)",
            Step::ReadAccount => "DynamoDB GetItem (account)",
            Step::Debit => "DynamoDB TransactWriteItems (debit)",
            Step::Publish => "SNS Publish (2nd number)",
            Step::Checkpoint => "DynamoDB TransactWriteItems (checkpoint)",
            Step::RefundCheckpoint => "DynamoDB TransactWriteItems (refund)",
            Step::Reply => "SES SendEmail (102 reply)",
            Step::Schedule => "Scheduler CreateSchedule",
        }
    }

    /// The call the fault hits.
    fn rule(self, world: &World, fault: HttpFault) -> Rule {
        match self {
            Step::ReadEmail => Rule::new("s3", "GetObject", fault),
            Step::ReadAccount => Rule::new("dynamodb", "GetItem", fault).about(&world.config.accounts_table),
            Step::Debit => Rule::new("dynamodb", "TransactWriteItems", fault).body_contains("credits - :cost"),
            Step::Publish => Rule::new("sns", "Publish", fault).about(SECOND),
            // With SNS, a checkpoint that records sent SMS also writes the index of their
            // provider ids: a transaction.
            Step::Checkpoint => Rule::new("dynamodb", "TransactWriteItems", fault).body_contains("provider#"),
            Step::RefundCheckpoint => Rule::new("dynamodb", "TransactWriteItems", fault).body_contains("ADD credits"),
            Step::Reply => Rule::new("ses", "SendEmail", fault),
            Step::Schedule => Rule::new("scheduler", "CreateSchedule", fault),
        }
    }

    /// Rules that hold all along: a refused number, for the refund.
    fn setting(self) -> Vec<Rule> {
        match self {
            Step::RefundCheckpoint => vec![Rule::new("sns", "Publish", HttpFault::Refuse).about("+33633333333")],
            _ => Vec::new(),
        }
    }

    fn subject(self, key: &str) -> String {
        match self {
            Step::Reply => format!("shop@{}|{THREE}", wrong_key(key)),
            Step::Schedule => {
                let due = (chrono::Utc::now() + chrono::Duration::days(1)).format("%Y-%m-%d %H:%M:%S");
                format!("shop@{key}|{THREE}|date={due}")
            }
            _ => format!("shop@{key}|{THREE}"),
        }
    }
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::Error500, Kind::Throttle, Kind::Timeout, Kind::LostAnswer];

    fn name(self) -> &'static str {
        match self {
            Kind::Error500 => "500 after acting",
            Kind::Throttle => "throttled (1st run)",
            Kind::Timeout => "3 s late (timeout)",
            Kind::LostAnswer => "answer lost",
        }
    }

    fn rule(self, step: Step, world: &World) -> Rule {
        match self {
            Kind::Error500 => step.rule(world, HttpFault::ForwardThenStatus(500)).nth(1),
            Kind::Throttle => step.rule(world, HttpFault::Throttle),
            Kind::Timeout => step.rule(world, HttpFault::Delay(Duration::from_secs(3))).nth(1),
            Kind::LostAnswer => step.rule(world, HttpFault::ForwardThenDrop).nth(1),
        }
    }
}

struct Row {
    step: Step,
    kind: Kind,
    runs: Vec<String>,
    calls: usize,
    faulted: usize,
    outcome: String,
    violations: Vec<String>,
}

const INITIAL_CREDITS: u64 = 10;

async fn run_case(step: Step, kind: Kind) -> Row {
    let world = World::new().await;
    let key = world.account("shop", INITIAL_CREDITS).await;
    let proxy = FaultProxy::start().await;
    let setting = step.setting();
    setting.iter().cloned().for_each(|rule| proxy.inject(rule));
    let rule = kind.rule(step, &world);
    proxy.inject(rule.clone());
    let gateway = gateway(&world.config, &world.through(&proxy));
    let id = world.receive(&world.email(&step.subject(&key), &world.token)).await;
    let (event, invocation) = (world.ses_event(&id), world.invocation());

    // The first run, then Lambda's retries of the same event while it fails (at most 3).
    let mut runs = Vec::new();
    for run in 0..4 {
        let handled = tokio::time::timeout(Duration::from_secs(30), gateway.handle(event.clone(), &invocation)).await;
        if run == 0 && kind == Kind::Throttle {
            proxy.clear();
            setting.iter().cloned().for_each(|rule| proxy.inject(rule));
        }
        let Ok(handled) = handled else {
            runs.push("hung for 30 s".to_owned());
            break;
        };
        runs.push(describe(&handled));
        if handled.is_ok() {
            break;
        }
    }
    proxy.settled(Duration::from_secs(10)).await;

    let targeted = |s: &Served| {
        s.call.service == rule.service
            && s.call.operation == rule.operation
            && rule.about.as_ref().is_none_or(|about| s.call.about.as_ref() == Some(about))
    };
    let calls = proxy.count_where(targeted);
    let faulted = proxy.count_where(|s| targeted(s) && s.fault.as_ref() == Some(&rule.fault));
    let mut violations = Vec::new();
    if faulted == 0 {
        violations.push("the fault was never applied: the step's call was not recognised".to_owned());
    }
    let texts = texts_per_number(&world);
    for (number, n) in &texts {
        if *n > 1 {
            violations.push(format!("{number} texted {n} times"));
        }
    }
    let credits = world.credits("shop").await;
    let replies = world.replies().len();
    let schedules = aws_sdk_scheduler::Client::new(&world.sdk)
        .list_schedules()
        .group_name(&world.config.schedule_group)
        .send()
        .await
        .map(|out| out.schedules().len())
        .unwrap_or(0);
    let outcome = match world.ledger.load(&id).await {
        Ok(Some(record)) => {
            if credits + record.cost != INITIAL_CREDITS + record.refunded {
                violations.push(format!(
                    "credits {credits} != {INITIAL_CREDITS} - cost {} + refunded {}",
                    record.cost, record.refunded
                ));
            }
            match record.state {
                MessageState::Scheduled if schedules == 0 => violations.push("scheduled without a schedule".into()),
                MessageState::Scheduled => {}
                state if !state.is_final() => violations.push(format!("left {state:?}")),
                _ => {}
            }
            if record.state == MessageState::Rejected && replies == 0 {
                violations.push("refused without a reply".into());
            }
            for recipient in &record.recipients {
                let number = recipient.number.e164();
                let texted = texts.get(number).copied().unwrap_or(0);
                match recipient.delivery {
                    Delivery::Sent if texted != 1 => {
                        violations.push(format!("{number} recorded sent, texted {texted}"))
                    }
                    Delivery::Failed | Delivery::Pending if texted > 0 => {
                        violations.push(format!("{number} texted but recorded {:?}", recipient.delivery))
                    }
                    _ => {}
                }
            }
            let count = |d| record.count(d);
            match record.state {
                MessageState::Rejected => format!("rejected, {replies} reply(ies)"),
                MessageState::Scheduled => format!("scheduled, {schedules} schedule(s)"),
                state => format!(
                    "{state:?}: sent {} failed {} unknown {}, refunded {}",
                    count(Delivery::Sent),
                    count(Delivery::Failed),
                    count(Delivery::Unknown),
                    record.refunded
                ),
            }
        }
        Ok(None) => {
            violations.push("no record: the email was lost".into());
            "no record".into()
        }
        Err(error) => {
            violations.push(format!("record unreadable: {error}"));
            "unreadable".into()
        }
    };
    Row { step, kind, runs, calls, faulted, outcome, violations }
}

#[tokio::test]
async fn every_step_survives_every_fault_without_sending_debiting_or_losing_twice() {
    let cases: Vec<(Step, Kind)> = Step::ALL.iter().flat_map(|&s| Kind::ALL.iter().map(move |&k| (s, k))).collect();
    let mut rows: Vec<Row> = futures::stream::iter(cases.into_iter().map(|(step, kind)| run_case(step, kind)))
        .buffer_unordered(8)
        .collect()
        .await;
    rows.sort_by_key(|row| {
        let step = Step::ALL.iter().position(|&s| s == row.step);
        (step, Kind::ALL.iter().position(|&k| k == row.kind))
    });

    println!("| step | fault | runs | calls (faulted) | outcome | invariant |");
    println!("|---|---|---|---|---|---|");
    for row in &rows {
        let runs = match row.runs.len() {
            1 => "1".to_owned(),
            n => format!("1 + {} retr{}", n - 1, if n == 2 { "y" } else { "ies" }),
        };
        let verdict = if row.violations.is_empty() { "holds".to_owned() } else { row.violations.join("; ") };
        println!(
            "| {} | {} | {runs} | {} ({}) | {} | {verdict} |",
            row.step.name(),
            row.kind.name(),
            row.calls,
            row.faulted,
            row.outcome
        );
    }
    let broken: Vec<String> = rows
        .iter()
        .filter(|row| !row.violations.is_empty())
        .map(|row| {
            format!(
                "{} / {}: {}\n    runs: {:?}",
                row.step.name(),
                row.kind.name(),
                row.violations.join("; "),
                row.runs
            )
        })
        .collect();
    assert!(broken.is_empty(), "{} of {} cases broke a promise:\n{}", broken.len(), rows.len(), broken.join("\n"));
}
