//! Hostile emails through the pure half of the pipeline, no AWS: the raw bytes read, the
//! subject judged, the reply written, the record serialised. What a stranger can put in an
//! email must never make the gateway quote the key, answer someone else, or grow a record past
//! DynamoDB's 400 KB item limit.

use chrono::{TimeZone, Utc};
use mail2sms::domain::message::MessageRecord;
use mail2sms::domain::recipient::{DROPPED_INPUT_CHARS, DROPPED_LISTED};
use mail2sms::domain::request::{parse_credentials, parse_subject, written_api_key};
use mail2sms::domain::segments;
use mail2sms::domain::text::clean_body;
use mail2sms::mail::alignment::AlignedBy;
use mail2sms::mail::{Authentication, Author, InboundMail, MAX_BODY_BYTES, parse_mail};
use mail2sms::reply::{NoReply, error_reply, reply_to};

/// A key as `mail2sms-admin` makes them.
const KEY: &str = "3f9c0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5de21f";

/// DynamoDB's item size limit.
const ITEM_LIMIT: usize = 400 * 1024;

fn email(from: &str, subject: &str, body: &str) -> InboundMail {
    let raw = format!("From: {from}\r\nSubject: {subject}\r\nMessage-ID: <id@example.com>\r\n\r\n{body}\r\n");
    parse_mail(raw.as_bytes()).expect("an email")
}

/// Whether `text` holds 16 consecutive characters of [`KEY`].
fn shows_the_key(text: &str) -> bool {
    (0..=KEY.len() - 16).any(|start| text.contains(&KEY[start..start + 16]))
}

/// The reply the pipeline would send to a refused email, as bytes on the wire, and the record
/// it would keep.
fn answer(mail: &InboundMail) -> (String, String) {
    let subject = mail.subject.as_deref().unwrap_or_default();
    let rejection = parse_subject(subject).expect_err("a refusal");
    let key = written_api_key(subject);
    let secrets: Vec<&str> = key.iter().map(|key| key.expose()).collect();
    let reply = error_reply("shop@example.com", mail.message_id.as_deref(), &rejection, &secrets);
    let date = Utc.with_ymd_and_hms(2030, 5, 24, 9, 0, 0).single().expect("a date");
    let wire = String::from_utf8(reply.to_mime("mail2sms@example.org", date)).expect("ASCII");
    let record = MessageRecord::rejected("id", date, &rejection);
    (wire.replace("=\r\n", ""), serde_json::to_string(&record).expect("json"))
}

#[test]
fn the_key_typed_elsewhere_in_the_subject_never_comes_back() {
    for subject in [
        format!("shop@{KEY}|0612345678|{KEY}=1"),
        format!("shop@{KEY}|0612345678|{KEY}"),
        format!("shop@{KEY}|0612345678|{}|{}=x", &KEY[..20], &KEY[20..]),
        format!("shop@{KEY}|0612345678|from=SHOP|x{KEY}{KEY}"),
        format!("shop@{KEY}|0612345678|é«{}»日本=1", &KEY[4..21]),
    ] {
        let (wire, record) = answer(&email("shop@example.com", &subject, "Bonjour"));
        assert!(wire.contains("Status: 109"), "{wire}");
        assert!(!shows_the_key(&wire), "{subject}: {wire}");
        assert!(!shows_the_key(&record), "{subject}: {record}");
    }
}

#[test]
fn fifteen_characters_of_the_key_may_be_quoted() {
    let subject = format!("shop@{KEY}|0612345678|{}=1", &KEY[..15]);
    let (wire, _) = answer(&email("shop@example.com", &subject, "Bonjour"));
    assert!(wire.contains(&KEY[..15]), "{wire}");
}

#[test]
fn a_folded_from_carrying_a_second_address_gets_no_reply() {
    let raw = format!(
        "From: shop@example.com\r\n victim@example.org\r\nSubject: shop@{KEY}|0612345678|dat=x\r\n\r\nBonjour\r\n"
    );
    let mail = parse_mail(raw.as_bytes()).expect("an email");
    assert_eq!(mail.from, Author::Ambiguous);
    let proven = Authentication { aligned_by: Some(AlignedBy::Dkim), ..Authentication::default() };
    assert_eq!(reply_to(&mail, &proven, true, "mail2sms@sms.example.com"), Err(NoReply::AmbiguousSender));
    let mail = email("Boutique <shop@example.com>", "x", "y");
    assert_eq!(reply_to(&mail, &proven, true, "mail2sms@sms.example.com"), Ok("shop@example.com".to_owned()));
}

#[test]
fn fifty_thousand_junk_numbers_leave_a_small_record() {
    let junk: Vec<String> = (0..50_000).map(|i| format!("{KEY}{i}")).collect();
    let subject = format!("shop@{KEY}|{};0612345678|from=SHOP", junk.join(";"));
    let mail = email("shop@example.com", &subject, "Bonjour");
    let request = parse_subject(mail.subject.as_deref().expect("a subject")).expect("one good number");
    assert_eq!(request.recipients.valid.len(), 1);
    assert_eq!(request.recipients.dropped_count, 50_000);
    assert_eq!(request.recipients.dropped.len(), DROPPED_LISTED);
    assert!(request.recipients.dropped.iter().all(|dropped| dropped.input.chars().count() <= DROPPED_INPUT_CHARS));
    let mut record = MessageRecord::new("id", Utc::now());
    record.dropped = request.recipients.dropped;
    record.dropped_count = request.recipients.dropped_count;
    let stored = serde_json::to_string(&record).expect("json");
    assert!(stored.len() < ITEM_LIMIT / 50, "{} bytes", stored.len());
    assert!(stored.contains("\"dropped_count\":50000"), "{stored}");
    assert!(!shows_the_key(&stored), "{stored}");
}

#[test]
fn ten_thousand_mime_parts_and_a_100_kb_subject_are_read_within_bounds() {
    let numbers: Vec<String> = (0..10_000).map(|i| format!("06{:08}", 12_340_000 + i)).collect();
    let mut raw = format!(
        "From: shop@example.com\r\nSubject: shop@{KEY}|{}\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n",
        numbers.join(";")
    )
    .into_bytes();
    for index in 0..10_000 {
        raw.extend(format!("--b\r\nContent-Type: text/plain\r\n\r\nPartie {index}").bytes());
        raw.extend(b"\x00\xff\r\n");
    }
    raw.extend(b"--b--\r\n");
    let mail = parse_mail(&raw).expect("an email");
    let subject = mail.subject.as_deref().expect("a subject");
    assert!(subject.len() > 100_000);
    assert_eq!(parse_credentials(subject).expect("credentials").api_key.expose(), KEY);
    assert_eq!(parse_subject(subject).expect("a request").recipients.valid.len(), 10_000);
    let text = clean_body(mail.body.as_deref().expect("a body"));
    assert_eq!(text, "Partie 0\u{ff}");
    assert_eq!(segments::count(&text).parts, 1);
}

#[test]
fn a_40_mb_body_is_read_as_its_first_64_kib() {
    let body = "Texte sans fin, ligne après ligne.\r\n".repeat(40 * 1024 * 1024 / 36);
    let mail = email("shop@example.com", &format!("shop@{KEY}|0612345678"), &body);
    assert!(mail.body.as_deref().is_some_and(|body| body.len() <= MAX_BODY_BYTES));
    assert!(mail.body_too_long);
}
