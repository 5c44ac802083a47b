//! The gateway's promises as properties, checked on many generated mailboxes with the in-memory
//! ports (the same pipeline, no emulator): whatever the emails, duplicates and provider
//! refusals, credits are conserved, nobody gets an SMS twice, every email has exactly one
//! record, and no reply or record carries the API key.

use std::collections::{HashMap, HashSet};

use crate::helpers;
use chrono::Utc;
use mail2sms::domain::message::{Delivery, MessageState};
use mail2sms::memory::{self, MemoryInbox, MemoryLedger, MemoryMailer, MemoryScheduler, MemorySms};
use mail2sms::pipeline::{Gateway, Invocation};
use mail2sms::ports::{OutgoingSms, PortError, SmsGateway};
use proptest::prelude::*;

const KEY: &str = "9f2c61d0a4be47f3b2e1c5d8a7f60e3b1c2d4e5f";

/// The in-memory provider, refusing for good the numbers ending in 99.
#[derive(Default)]
struct Provider(MemorySms);

impl SmsGateway for Provider {
    async fn send(&self, sms: OutgoingSms<'_>) -> Result<String, PortError> {
        if sms.to.e164().ends_with("99") {
            return Err(PortError::Refused { service: "memory", message: "refused".into() });
        }
        self.0.send(sms).await
    }
}

type MemoryGateway = Gateway<MemoryInbox, MemoryLedger, Provider, MemoryMailer, MemoryScheduler>;

fn gateway(credits: u64) -> MemoryGateway {
    let mut gateway = memory::gateway(Provider::default(), "shop", KEY, credits);
    gateway.settings.send_concurrency = 3; // several batches per email
    gateway
}

/// Subjects: mostly well-formed, with every way of going wrong mixed in.
fn subject() -> impl Strategy<Value = String> {
    let credentials = prop_oneof![4 => Just(format!("shop@{KEY}")), 1 => Just("shop@wrong".to_owned()), 1 => Just("nobody".to_owned())];
    let number = prop_oneof![
        (10_000_000u32..99_999_999).prop_map(|n| format!("06{n:08}")),
        (10_000_000u32..99_999_999).prop_map(|n| format!("+336{}99", n / 100)),
        Just("+32470123456".to_owned()),
        Just("12".to_owned()),
    ];
    let numbers = prop::collection::vec(number, 0..5).prop_map(|v| v.join(";"));
    let option = prop_oneof![
        4 => Just(String::new()),
        1 => Just("|from=MAGASIN".to_owned()),
        1 => Just("|from=X".to_owned()),
        1 => Just("|dat=2026-12-01 09:30:00".to_owned()),
        1 => Just("|date=2026-02-30 09:30:00".to_owned()),
    ];
    (credentials, numbers, option).prop_map(|(c, n, o)| format!("{c}|{n}{o}"))
}

fn body() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9 éàç€’\n]{1,200}",
        1 => Just("\n-- \nsignature".to_owned()),
        1 => "[a-z]{1300,1400}",
        1 => Just("Promo 😀 STOP au 36180".to_owned()),
    ]
}

fn raw_email(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: shop@example.com\r\nSubject: {subject}\r\nMessage-ID: <x@example.com>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

fn invocation(n: usize) -> Invocation {
    Invocation {
        request_id: format!("request-{n}"),
        deadline: Utc::now() + chrono::Duration::seconds(60),
        function_arn: "arn:aws:lambda:eu-west-1:123456789012:function:mail2sms".into(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn credits_are_conserved_and_nothing_is_sent_twice(
        emails in prop::collection::vec((subject(), body()), 1..12),
        deliveries in prop::collection::vec(0usize..12, 0..30),
        credits in 0u64..40,
    ) {
        let gateway = gateway(credits);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        for (n, (subject, body)) in emails.iter().enumerate() {
            // The mark makes each email's text its own, so a repeat can only be a double send.
            let body = format!("{body} #{n}");
            gateway.inbox.emails.lock().unwrap().insert(format!("inbound/m{n}"), raw_email(subject, &body));
        }
        // Each email once, then duplicates in any order; each event carries its subject, as SES's.
        let order = (0..emails.len()).chain(deliveries.into_iter().filter(|&n| n < emails.len()));
        for (attempt, n) in order.enumerate() {
            let event = helpers::ses_event(&format!("m{n}"), Some(&emails[n].0));
            let outcome = runtime.block_on(gateway.handle(event, &invocation(attempt)));
            prop_assert!(outcome.is_ok(), "{outcome:?}");
        }

        let messages = gateway.ledger.messages.lock().unwrap();
        prop_assert_eq!(messages.len(), emails.len(), "one record per email");
        let left = gateway.ledger.accounts.lock().unwrap()["shop"].credits;
        let spent: u64 = messages.values().map(|m| m.cost - m.refunded).sum();
        prop_assert_eq!(credits - left, spent, "credits taken = cost of what was accepted, less refunds");

        let sent = gateway.sms.0.sent.lock().unwrap();
        let recorded_sent: usize = messages.values().map(|m| m.count(Delivery::Sent)).sum();
        prop_assert_eq!(sent.len(), recorded_sent, "every SMS sent is recorded as sent");
        let mut seen = HashSet::new();
        for sms in sent.iter() {
            prop_assert!(seen.insert((sms.to.clone(), sms.text.clone())), "{} got the same SMS twice", sms.to);
        }
        for record in messages.values() {
            prop_assert!(record.state.is_final(), "{:?} left open", record.state);
            if record.state == MessageState::Rejected {
                prop_assert_eq!(record.cost, 0);
            }
            prop_assert!(!serde_json::to_string(record).unwrap().contains(KEY), "a record holds the key");
        }
        let per_email: HashMap<_, _> = messages.iter().map(|(id, m)| (id.clone(), m.state)).collect();
        let replies = gateway.mailer.sent.lock().unwrap();
        let rejected = per_email.values().filter(|s| **s == MessageState::Rejected).count();
        prop_assert_eq!(replies.len(), rejected, "one reply per rejected email, none for duplicates");
        for (_, mime) in replies.iter() {
            prop_assert!(!String::from_utf8_lossy(mime).contains(KEY), "a reply holds the key");
        }
    }
}

/// The properties hold trivially if nothing is ever sent, refused or refunded: the same gateway
/// and the same kind of email do all three.
#[test]
fn the_properties_gateway_sends_refunds_a_refusal_and_answers_an_error() {
    let gateway = gateway(10);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let emails = [(format!("shop@{KEY}|0612345678;+33612345699"), "Bonjour #0"), ("shop@wrong|0612345678".into(), "x")];
    for (n, (subject, body)) in emails.iter().enumerate() {
        gateway.inbox.emails.lock().unwrap().insert(format!("inbound/m{n}"), raw_email(subject, body));
        let outcome =
            runtime.block_on(gateway.handle(helpers::ses_event(&format!("m{n}"), Some(subject)), &invocation(n)));
        assert!(outcome.is_ok(), "{outcome:?}");
    }

    let sent = gateway.sms.0.sent.lock().unwrap();
    assert_eq!(sent.len(), 1, "one SMS sent, the number ending in 99 refused");
    let record = gateway.ledger.messages.lock().unwrap()["m0"].clone();
    assert_eq!((record.cost, record.refunded, record.count(Delivery::Sent)), (2, 1, 1));
    assert_eq!(gateway.ledger.accounts.lock().unwrap()["shop"].credits, 9, "debited 2, refunded 1");
    assert_eq!(gateway.mailer.sent.lock().unwrap().len(), 1, "the wrong key is answered");
}
