//! `make bench`: what one email costs in CPU, from the subject's grammar to the whole pipeline
//! (with in-memory ports, so the figures are ours and not the network's), and the process's
//! peak memory. Plain timing loops; run in release.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::Utc;
use mail2sms::domain::account::MAX_CREDITS;
use mail2sms::domain::request::parse_subject;
use mail2sms::domain::segments;
use mail2sms::domain::text::clean_body;
use mail2sms::mail::parse_mail;
use mail2sms::memory::{self, MemoryInbox, MemoryLedger, MemoryMailer, MemoryScheduler, MemorySms};
use mail2sms::pipeline::{Gateway, Invocation};
use serde_json::json;

/// Runs `f` repeatedly for about `budget` and prints the mean time per run.
fn measure<T>(name: &str, budget: Duration, mut f: impl FnMut() -> T) {
    let start = Instant::now();
    let mut runs = 0u32;
    while start.elapsed() < budget || runs < 3 {
        black_box(f());
        runs += 1;
    }
    let mean = start.elapsed() / runs;
    println!("{name:<58} {:>12.1} µs   ({runs} runs)", mean.as_secs_f64() * 1e6);
}

fn numbers(count: usize) -> String {
    (0..count).map(|i| format!("06{:08}", 12_000_000 + i)).collect::<Vec<_>>().join(";")
}

fn email(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Boutique <shop@example.com>\r\nSubject: {subject}\r\nMessage-ID: <1@example.com>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

fn gateway() -> Gateway<MemoryInbox, MemoryLedger, MemorySms, MemoryMailer, MemoryScheduler> {
    memory::gateway(MemorySms::default(), "shop", "KEY", MAX_CREDITS)
}

fn ses_event(message_id: &str) -> serde_json::Value {
    let mut event: serde_json::Value = serde_json::from_str(include_str!("../events/ses-event.json")).unwrap();
    event["Records"][0]["ses"]["mail"]["messageId"] = json!(message_id);
    event
}

fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let budget = Duration::from_millis(700);
    let body = "Votre commande n°4521 est prête au magasin. Présentez ce SMS à l’accueil. STOP au 36180";
    let subject_2 = format!("shop@KEY|{}|from=MAGASIN", numbers(2));
    let subject_1000 = format!("shop@KEY|{}|from=MAGASIN", numbers(1000));

    println!("{:<58} {:>15}", "step", "mean per run");
    measure("subject, 2 recipients", budget, || parse_subject(&subject_2).unwrap());
    measure("subject, 1000 recipients", budget, || parse_subject(&subject_1000).unwrap());
    measure("body: clean + count segments (90 chars)", budget, || segments::count(&clean_body(body)));
    let typical = email(&subject_2, body);
    measure("MIME: a plain email", budget, || parse_mail(&typical).unwrap());
    let outlook = include_bytes!("../tests/fixtures/mail/outlook-alternative-qp-windows-1252.eml");
    measure("MIME: Outlook multipart, quoted-printable cp1252", budget, || parse_mail(outlook).unwrap());
    let attachment = "QUJD".repeat(8 * 1024 * 1024);
    let huge = format!(
        "From: a@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\nContent-Type: application/octet-stream\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{attachment}\r\n--b--\r\n"
    );
    measure("MIME: 32 MiB email (text + attachment)", budget, || parse_mail(huge.as_bytes()).unwrap());

    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    for (label, subject) in
        [("pipeline: 2 recipients, sent", &subject_2), ("pipeline: 1000 recipients, sent", &subject_1000)]
    {
        let gateway = gateway();
        gateway.inbox.emails.lock().unwrap().insert("inbound/m".into(), email(subject, body));
        let mut n = 0u64;
        measure(label, budget, || {
            n += 1;
            let id = format!("m{n}");
            let raw = gateway.inbox.emails.lock().unwrap()["inbound/m"].clone();
            gateway.inbox.emails.lock().unwrap().insert(format!("inbound/{id}"), raw);
            let invocation = Invocation {
                request_id: id.clone(),
                deadline: Utc::now() + chrono::Duration::seconds(60),
                function_arn: "arn:aws:lambda:eu-west-1:123456789012:function:mail2sms".into(),
            };
            runtime.block_on(gateway.handle(ses_event(&id), &invocation)).unwrap()
        });
    }
    if let Some(kib) = peak_memory_kib() {
        println!("{:<58} {:>12.1} MiB", "peak resident memory of this process", kib as f64 / 1024.0);
    }
}
