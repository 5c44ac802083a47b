//! The sample emails of `events/emails/`, each through the real gateway against the emulator and
//! checked against the expectations beside it (`NN-name.expected.json`): the same files
//! `make demo` checks on the function binary.
//!
//! An expectation file says which account the sample is sent from (`account`: login, credits,
//! sender, and the placeholder its API key fills in, `{{KEY}}`) and what must come of it:
//! `outcome` (`sent`, `rejected`, `scheduled`), the `status` of a refusal, the `sms` that went
//! out (`to` in E.164, `sender`), their `text`, `parts` and `encoding`, the numbers `dropped`,
//! the credits the email `cost`, the local time it is `scheduled` for, and the error `reply`
//! (`to`, `subject`, `in_reply_to`, `auto_submitted`, `text`) or `null`. A scheduled sample's
//! SMS are those its schedule sends when it fires. `{{DUE}}` is two days ahead at 09:30.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{Days, Utc};
use futures::future::join_all;
use mail2sms::domain::message::MessageRecord;
use mail2sms::domain::request::written_api_key;
use mail2sms::pipeline::Outcome;
use mail2sms::ports::Ledger;
use serde_json::{Value, json};

use crate::helpers::{Reply, World};

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/events/emails");

/// One sample email and its expectations, as the files hold them (placeholders unfilled).
struct Sample {
    name: String,
    email: String,
    expected: String,
}

/// `events/emails/*.eml` in name order, each with its `.expected.json`; an expectation without
/// its email, or an email without its expectation, fails the test.
fn samples() -> Vec<Sample> {
    let mut names = BTreeSet::new();
    let mut expectations = BTreeSet::new();
    for entry in std::fs::read_dir(SAMPLES).expect("events/emails") {
        let path = entry.expect("an entry").path();
        let file = path.file_name().and_then(|name| name.to_str()).expect("a UTF-8 file name").to_owned();
        if let Some(name) = file.strip_suffix(".expected.json") {
            expectations.insert(name.to_owned());
        } else if let Some(name) = file.strip_suffix(".eml") {
            names.insert(name.to_owned());
        }
    }
    assert_eq!(names, expectations, "every sample email has its .expected.json, and nothing else has one");
    assert!(names.len() >= 13, "{} samples", names.len());
    let read = |path: PathBuf| std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    names
        .into_iter()
        .map(|name| Sample {
            email: read(Path::new(SAMPLES).join(format!("{name}.eml"))),
            expected: read(Path::new(SAMPLES).join(format!("{name}.expected.json"))),
            name,
        })
        .collect()
}

/// The email as it is stored: without the `X-Demo-Note` field the samples start with (the
/// demo's commentary, folded lines included), with CRLF line endings, as SES stores it.
fn as_stored(email: &str) -> String {
    let mut lines = email.lines().peekable();
    if lines.peek().is_some_and(|line| line.starts_with("X-Demo-Note:")) {
        lines.next();
        while lines.next_if(|line| line.starts_with([' ', '\t'])).is_some() {}
    }
    lines.map(|line| format!("{line}\r\n")).collect()
}

/// The one item of a list as itself, none as `null`, several as the list.
fn one(mut items: Vec<Value>) -> Value {
    match items.len() {
        0 => Value::Null,
        1 => items.remove(0),
        _ => Value::Array(items),
    }
}

fn reply(reply: &Reply) -> Value {
    json!({
        "to": reply.to,
        "subject": reply.subject,
        "in_reply_to": reply.in_reply_to,
        "auto_submitted": reply.auto_submitted,
        "text": reply.text.replace("\r\n", "\n"),
    })
}

/// What became of `outcome`'s email, in the shape of an expectation file.
fn observed(world: &World, outcome: &Outcome, record: Option<&MessageRecord>, cost: u64) -> Value {
    let published = world.sms();
    let mut sms: Vec<Value> =
        published.iter().map(|sms| json!({"to": sms.phone_number, "sender": sms.sender_id})).collect();
    sms.sort_by(|a, b| a["to"].as_str().cmp(&b["to"].as_str()));
    let texts: BTreeSet<&str> = published.iter().map(|sms| sms.message.as_str()).collect();
    let mut observed = json!({
        "outcome": serde_json::to_value(outcome).unwrap()["outcome"],
        "sms": sms,
        "cost": cost,
        "reply": one(world.replies().iter().map(reply).collect()),
    });
    match (outcome, record) {
        (Outcome::Rejected { status, .. }, _) => observed["status"] = json!(status.code()),
        (Outcome::Sent { .. } | Outcome::Scheduled { .. }, Some(record)) => {
            observed["text"] = one(texts.into_iter().map(Value::from).collect());
            observed["parts"] = json!(record.parts);
            observed["encoding"] = json!(record.encoding);
            observed["dropped"] = json!(record.dropped);
            if matches!(outcome, Outcome::Scheduled { .. }) {
                observed["scheduled"] = json!({"local_date": record.local_date, "timezone": record.timezone});
            }
        }
        (other, None) => panic!("{other:?} without a record"),
        (other, _) => panic!("an outcome no sample expects: {other:?}"),
    }
    observed
}

/// Runs one sample in a world of its own: its account, the email received, a scheduled sample's
/// schedule fired, the email delivered a second time. The expectation and what came of it.
async fn run(sample: &Sample, due: &str) -> (Value, Value) {
    let name = &sample.name;
    let mut expected: Value =
        serde_json::from_str(&sample.expected).unwrap_or_else(|e| panic!("{name}.expected.json: {e}"));
    let account = expected.as_object_mut().unwrap().remove("account").unwrap_or_else(|| panic!("{name}: no account"));
    let login = account["login"].as_str().expect("account.login");
    let credits = account["credits"].as_u64().expect("account.credits");
    let placeholder = account["key"].as_str().expect("account.key, the placeholder its key fills in");

    let world = World::new().await;
    let key = world.account_with(login, credits, account["sender"].as_str(), None).await;
    let fill = |text: &str| text.replace(placeholder, &key).replace("{{DUE}}", due);
    let expected: Value = serde_json::from_str(&fill(&expected.to_string())).unwrap();
    let raw = as_stored(&fill(&sample.email));
    assert!(!raw.contains("{{"), "{name}: a placeholder left unfilled");
    let id = world.receive(raw.as_bytes()).await;
    let gateway = world.gateway();
    let handle = async |event: Value| gateway.handle(event, &world.invocation()).await.unwrap();

    let outcomes = handle(world.ses_event(&id)).await;
    let [outcome] = &outcomes[..] else { panic!("{name}: one outcome expected: {outcomes:?}") };
    if let Outcome::Scheduled { .. } = outcome {
        assert!(world.sms().is_empty(), "{name}: an SMS went out before the due time");
        let record = world.record(&id).await;
        let schedule_name = record.schedule_name.expect("the record names its schedule");
        let schedule = world.schedule(&schedule_name).await;
        let input = schedule.target().map(|target| target.input().unwrap_or_default()).expect("a target");
        let fired = handle(serde_json::from_str(input).expect("the schedule's input is JSON")).await;
        assert!(matches!(fired[..], [Outcome::Sent { .. }]), "{name}: the schedule fired: {fired:?}");
    }
    let again = handle(world.ses_event(&id)).await;
    assert!(matches!(again[..], [Outcome::Duplicate { .. }]), "{name}: delivered a second time: {again:?}");

    let record = world.ledger.load(&id).await.unwrap();
    let cost = credits - world.credits(login).await;
    let observed = observed(&world, outcome, record.as_ref(), cost);
    let email = mail_parser::MessageParser::default().parse(raw.as_bytes()).expect("an email");
    let written = written_api_key(email.subject().unwrap_or_default());
    let secrets = [Some(key.as_str()), written.as_ref().map(|key| key.expose())];
    for reply in world.replies() {
        assert!(!secrets.iter().flatten().any(|secret| reply.contains(secret)), "{name}: the reply shows a key");
    }
    (expected, observed)
}

#[tokio::test]
async fn each_sample_email_gives_what_its_expected_json_says() {
    let due = format!("{} 09:30:00", Utc::now().date_naive() + Days::new(2));
    let samples = samples();
    let results = join_all(samples.iter().map(|sample| run(sample, &due))).await;
    let broken: Vec<String> = samples
        .iter()
        .zip(results)
        .filter(|(_, (expected, observed))| expected != observed)
        .map(|(sample, (expected, observed))| {
            let observed = serde_json::to_string_pretty(&observed).unwrap();
            format!("{}: expected\n{expected:#}\ngot\n{observed}", sample.name)
        })
        .collect();
    assert!(broken.is_empty(), "{} of {} samples broken:\n{}", broken.len(), samples.len(), broken.join("\n\n"));
}
