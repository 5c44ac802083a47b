//! Whether to answer an email, and the answer: the manual (2.2) answers by email only when
//! something is wrong, with the status and its StatusText in the body.
//!
//! An answer must never feed a loop or a stranger's inbox: robots, lists and auto-replies get
//! none, and neither, when the gateway asks for it, does a sender whose address is not proven.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::Rejection;
use crate::domain::secret::redact;
use crate::mail::{Author, InboundMail, Verdicts};

/// Why an email gets no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoReply {
    /// No From header: no one to answer.
    NoSender,
    /// The From header is not exactly one mailbox with a valid address (several mailboxes, a
    /// group, a second address on a folded line, no address…): answering could reach someone
    /// who never wrote.
    AmbiguousSender,
    /// The email was sent by a program (Auto-Submitted other than `no`).
    AutoSubmitted,
    /// Precedence `bulk`, `junk` or `list`.
    BulkPrecedence,
    /// The email came through a mailing list (List-Id).
    MailingList,
    /// The sender is a robot: a mailer daemon, a postmaster, a no-reply or bounce address.
    RobotSender,
    /// Authentication is required and neither SPF, DKIM nor DMARC passed.
    NotAuthenticated,
}

/// Local parts of addresses that belong to robots, not to people.
const ROBOT_LOCAL_PARTS: [&str; 8] =
    ["mailer-daemon", "postmaster", "no-reply", "noreply", "do-not-reply", "donotreply", "bounce", "bounces"];

/// Who may receive an error reply: the one mailbox of the From header (see [`Author`]), and
/// only it. Never reply to: no From header, or one that is not exactly one valid mailbox
/// (several addresses, a group, a folded line carrying another address); Auto-Submitted present and
/// other than `no`; Precedence `bulk`, `junk` or `list`; a List-Id; robot senders (local part
/// MAILER-DAEMON, postmaster, no-reply, noreply, do-not-reply, donotreply, bounce or bounces,
/// case-insensitive, also with a `+tag` or followed by `-`, `.`, `_` or `=` and more, as in
/// `bounces+1234@…` or `bounce-mc.123@…`); and, when `require_auth`, senders for whom none of
/// SPF, DKIM, DMARC is Pass in `verdicts`. Returns the address to answer.
pub fn reply_to(mail: &InboundMail, verdicts: &Verdicts, require_auth: bool) -> Result<String, NoReply> {
    let sender = match &mail.from {
        Author::Mailbox(address) => address.as_str(),
        Author::Missing => return Err(NoReply::NoSender),
        Author::Ambiguous => return Err(NoReply::AmbiguousSender),
    };
    if mail.auto_submitted.as_deref().is_some_and(|value| !keyword(value).eq_ignore_ascii_case("no")) {
        return Err(NoReply::AutoSubmitted);
    }
    if mail
        .precedence
        .as_deref()
        .is_some_and(|value| ["bulk", "junk", "list"].iter().any(|bulk| keyword(value).eq_ignore_ascii_case(bulk)))
    {
        return Err(NoReply::BulkPrecedence);
    }
    if mail.list_id {
        return Err(NoReply::MailingList);
    }
    if is_robot(sender) {
        return Err(NoReply::RobotSender);
    }
    if require_auth && !verdicts.is_authenticated() {
        return Err(NoReply::NotAuthenticated);
    }
    Ok(sender.to_owned())
}

/// The keyword a header value opens with, before any parameter or comment
/// (`auto-generated (failure)`, `auto-replied; owner-email=…`).
fn keyword(value: &str) -> &str {
    value.split([';', '(', ' ', '\t']).next().unwrap_or_default()
}

fn is_robot(address: &str) -> bool {
    let local_part = address.rsplit_once('@').map_or(address, |(local_part, _)| local_part);
    let local_part = local_part.trim_matches('"').to_ascii_lowercase();
    let untagged = local_part.split('+').next().unwrap_or_default();
    ROBOT_LOCAL_PARTS.iter().any(|robot| {
        untagged.strip_prefix(robot).is_some_and(|rest| rest.is_empty() || rest.starts_with(['-', '.', '_', '=']))
    })
}

/// An error reply, ready to be written as a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReply {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// The Message-ID of the email answered, without angle brackets.
    pub in_reply_to: Option<String>,
}

/// The reply to a refused request. Subject `Mail2SMS: erreur <code>`; body lines
/// `Status: <code>` and `StatusText: <text>` (manual 2.2), a blank line, then the status's
/// English sentence. The StatusText is kept on its one line (line breaks become spaces).
///
/// Nothing the reply quotes holds 16 consecutive characters of a `secret` (the API key the
/// subject gave, see [`written_api_key`](crate::domain::request::written_api_key)): the
/// StatusText goes through [`redact`] for each, as defence in depth (the subject's parser
/// already masks what it quotes), and the original Message-ID, which the sender wrote too, is
/// left out when it holds one.
pub fn error_reply(to: &str, original_message_id: Option<&str>, rejection: &Rejection, secrets: &[&str]) -> ErrorReply {
    let status = rejection.status;
    let status_text = without_secrets(&one_line(&rejection.status_text), secrets);
    ErrorReply {
        to: to.to_owned(),
        subject: format!("Mail2SMS: erreur {}", status.code()),
        body: format!("Status: {}\nStatusText: {status_text}\n\n{}\n", status.code(), status.english()),
        in_reply_to: original_message_id.filter(|id| without_secrets(id, secrets) == *id).map(str::to_owned),
    }
}

/// `text` through [`redact`] for each secret.
fn without_secrets(text: &str, secrets: &[&str]) -> String {
    secrets.iter().fold(text.to_owned(), |text, secret| redact(&text, secret).into_owned())
}

/// The text on one line: control characters (CR and LF among them) become spaces, ends trimmed.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|character| if character.is_control() { ' ' } else { character })
        .collect::<String>()
        .trim()
        .to_owned()
}

impl ErrorReply {
    /// The RFC 5322 message given to SES v2 as raw content: From (`from`, the gateway address,
    /// optionally as `Mail2SMS <addr>`), To, Subject (RFC 2047-encoded when not ASCII), Date
    /// (RFC 2822, from `date`), MIME-Version, Content-Type `text/plain; charset=utf-8`,
    /// Content-Transfer-Encoding `quoted-printable` (lines of at most 76 characters),
    /// In-Reply-To and References when the original Message-ID is known, Auto-Submitted
    /// `auto-replied` and X-Auto-Response-Suppression `All`, so that robots do not answer back.
    /// CRLF line endings. Header values are kept on their line (control characters become
    /// spaces), so that nothing can add a header.
    pub fn to_mime(&self, from: &str, date: DateTime<Utc>) -> Vec<u8> {
        let mut message = String::new();
        let mut header = |name: &str, value: &str| {
            message.push_str(name);
            message.push_str(": ");
            message.push_str(value);
            message.push_str("\r\n");
        };
        header("From", &one_line(from));
        header("To", &one_line(&self.to));
        header("Subject", &encoded_words(&one_line(&self.subject)));
        header("Date", &date.to_rfc2822());
        header("MIME-Version", "1.0");
        header("Content-Type", "text/plain; charset=utf-8");
        header("Content-Transfer-Encoding", "quoted-printable");
        if let Some(id) = self.in_reply_to.as_deref().map(bare_message_id).filter(|id| !id.is_empty()) {
            header("In-Reply-To", &format!("<{id}>"));
            header("References", &format!("<{id}>"));
        }
        header("Auto-Submitted", "auto-replied");
        header("X-Auto-Response-Suppression", "All");
        message.push_str("\r\n");
        message.push_str(&quoted_printable(&self.body));
        message.into_bytes()
    }
}

/// A Message-ID with its brackets, spaces and control characters removed, to be put in `<…>`.
fn bare_message_id(id: &str) -> String {
    id.chars()
        .filter(|character| !(character.is_whitespace() || character.is_control() || "<>".contains(*character)))
        .collect()
}

/// A header value as RFC 2047 encoded words (UTF-8, base64) when it is not ASCII, folded so that
/// each line stays short; as it is otherwise.
fn encoded_words(value: &str) -> String {
    /// Bytes of text per encoded word: 48 base64 characters, a 60-character word.
    const CHUNK: usize = 36;
    if value.is_ascii() {
        return value.to_owned();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for character in value.chars() {
        if chunk.len() + character.len_utf8() > CHUNK {
            words.push(format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(character);
    }
    words.push(format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())));
    words.join("\r\n ")
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut encoded = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let bits =
            group.iter().enumerate().fold(0u32, |bits, (index, &byte)| bits | (u32::from(byte) << (16 - 8 * index)));
        for index in 0..4 {
            if index <= group.len() {
                encoded.push(char::from(ALPHABET[((bits >> (18 - 6 * index)) & 0x3F) as usize]));
            } else {
                encoded.push('=');
            }
        }
    }
    encoded
}

/// The body in quoted-printable (RFC 2045): `\n` (or `\r\n`) is a CRLF line break; `=`, bytes
/// outside printable ASCII and a space or tab ending a line are written `=XX`; lines longer than
/// 76 characters are cut by soft line breaks (`=` at the end of the line), never inside an `=XX`.
fn quoted_printable(text: &str) -> String {
    /// Characters on a line before a soft line break's `=`.
    const WIDTH: usize = 75;
    const HEX_DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut encoded = String::with_capacity(text.len() * 3 / 2);
    for (index, line) in text.replace("\r\n", "\n").split('\n').enumerate() {
        if index > 0 {
            encoded.push_str("\r\n");
        }
        let line = line.as_bytes();
        let mut width = 0;
        for (position, &byte) in line.iter().enumerate() {
            let ends_line = position + 1 == line.len();
            let literal = matches!(byte, b'!'..=b'<' | b'>'..=b'~') || matches!(byte, b' ' | b'\t') && !ends_line;
            let len = if literal { 1 } else { 3 };
            if width + len > WIDTH {
                encoded.push_str("=\r\n");
                width = 0;
            }
            if literal {
                encoded.push(char::from(byte));
            } else {
                encoded.push('=');
                encoded.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
                encoded.push(char::from(HEX_DIGITS[usize::from(byte & 0x0F)]));
            }
            width += len;
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use mail_parser::{HeaderValue, MessageParser, MimeHeaders};
    use proptest::prelude::*;

    use super::*;
    use crate::domain::StatusCode;
    use crate::mail::{Author, Verdict, parse_mail};

    macro_rules! fixture {
        ($name:literal) => {
            parse_mail(include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mail/", $name, ".eml")))
                .expect("an email")
        };
    }

    const AUTHENTICATED: Verdicts =
        Verdicts { spam: None, virus: None, spf: None, dkim: Some(Verdict::Pass), dmarc: None };

    fn from(address: &str) -> InboundMail {
        InboundMail { from: Author::Mailbox(address.to_owned()), ..InboundMail::default() }
    }

    /// The email a raw message is read as, with `from` as its From header.
    fn sent_from(from: &str) -> InboundMail {
        parse_mail(format!("From: {from}\r\nSubject: a@k|0612345678|x\r\n\r\nBonjour\r\n").as_bytes())
            .expect("an email")
    }

    // Who gets an answer.

    #[test]
    fn a_customer_is_answered_at_their_address() {
        let mail = fixture!("gmail-alternative-base64-utf8");
        assert_eq!(reply_to(&mail, &AUTHENTICATED, true), Ok("jean.martin@example.com".to_owned()));
        let mail = fixture!("ses-stored");
        assert_eq!(reply_to(&mail, &mail.verdicts, true), Ok("claire.roux@example.com".to_owned()));
    }

    #[test]
    fn robots_lists_and_auto_replies_are_not_answered() {
        assert_eq!(reply_to(&fixture!("auto-reply"), &AUTHENTICATED, false), Err(NoReply::AutoSubmitted));
        assert_eq!(reply_to(&fixture!("mailing-list"), &AUTHENTICATED, false), Err(NoReply::BulkPrecedence));
        assert_eq!(reply_to(&fixture!("bounce-mailer-daemon"), &AUTHENTICATED, false), Err(NoReply::RobotSender));
    }

    #[test]
    fn an_unauthenticated_sender_is_answered_only_when_authentication_is_not_required() {
        let mail = fixture!("ses-stored-forged-authentication");
        assert_eq!(reply_to(&mail, &mail.verdicts, true), Err(NoReply::NotAuthenticated));
        assert_eq!(reply_to(&mail, &mail.verdicts, false), Ok("claire.roux@example.com".to_owned()));
    }

    #[test]
    fn the_verdicts_given_decide_not_those_read_from_the_headers() {
        let mail = fixture!("ses-stored");
        let event = Verdicts {
            spf: Some(Verdict::Fail),
            dkim: Some(Verdict::Fail),
            dmarc: Some(Verdict::Fail),
            ..mail.verdicts
        };
        assert_eq!(reply_to(&mail, &event, true), Err(NoReply::NotAuthenticated));
    }

    #[test]
    fn no_from_address_no_answer() {
        assert_eq!(reply_to(&InboundMail::default(), &AUTHENTICATED, false), Err(NoReply::NoSender));
        let mail = parse_mail(b"Subject: a@k|0612345678\r\n\r\nBonjour\r\n").expect("an email");
        assert_eq!(reply_to(&mail, &AUTHENTICATED, false), Err(NoReply::NoSender));
    }

    #[test]
    fn one_mailbox_is_answered_at_its_address_only() {
        for (from, address) in [
            ("shop@example.com", "shop@example.com"),
            ("Boutique Martin <shop@example.com>", "shop@example.com"),
            ("\"Martin, Boutique\" <shop@example.com>", "shop@example.com"),
            ("=?UTF-8?Q?H=C3=A9l=C3=A8ne?= <helene@example.com>", "helene@example.com"),
            ("John Q. Public <jqp@example.com>", "jqp@example.com"),
            ("shop@example.com (Boutique, victim@example.org)", "shop@example.com"),
            ("Boutique\r\n <shop@example.com>", "shop@example.com"),
            ("<shop@example.com>", "shop@example.com"),
            ("\"shop desk\"@example.com", "\"shop desk\"@example.com"),
        ] {
            assert_eq!(reply_to(&sent_from(from), &AUTHENTICATED, true), Ok(address.to_owned()), "{from:?}");
        }
    }

    #[test]
    fn a_folded_line_carrying_another_address_is_not_answered() {
        for from in [
            "shop@example.com\r\n victim@example.org",
            "shop@example.com\r\n\tvictim@example.org",
            "<shop@example.com>\r\n <victim@example.org>",
            "Shop <shop@example.com>\r\n victim@example.org",
            "shop@example.com\r\n <victim@example.org>",
        ] {
            assert_eq!(reply_to(&sent_from(from), &AUTHENTICATED, true), Err(NoReply::AmbiguousSender), "{from:?}");
        }
    }

    #[test]
    fn several_mailboxes_a_group_or_no_valid_address_are_not_answered() {
        for from in [
            "shop@example.com, victim@example.org",
            "shop@example.com; victim@example.org",
            "Shop <shop@example.com>, Victim <victim@example.org>",
            "friends: shop@example.com, victim@example.org;",
            "undisclosed-recipients:;",
            "Marie Dupont",
            "<>",
            "\"a@b\" <not an address>",
            "",
            "shop@",
            "@example.com",
            "shop@@example.com",
            "shop@exa mple.com",
            ".shop@example.com",
            "shop..desk@example.com",
            "shop@example.com.",
            "<shop@example.com> trailing",
            "<@relay.example.net:shop@example.com>",
            "shop@example.com (unclosed",
            "\"unclosed <shop@example.com>",
            "shop\u{0}@example.com",
        ] {
            assert_eq!(reply_to(&sent_from(from), &AUTHENTICATED, true), Err(NoReply::AmbiguousSender), "{from:?}");
        }
    }

    #[test]
    fn two_from_headers_are_not_answered() {
        let raw = b"From: shop@example.com\r\nFrom: victim@example.org\r\nSubject: x\r\n\r\nBonjour\r\n";
        let mail = parse_mail(raw).expect("an email");
        assert_eq!(reply_to(&mail, &AUTHENTICATED, true), Err(NoReply::AmbiguousSender));
    }

    #[test]
    fn auto_submitted_no_is_a_person() {
        let mail = |value: &str| InboundMail { auto_submitted: Some(value.to_owned()), ..from("a@example.com") };
        assert!(reply_to(&mail("no"), &AUTHENTICATED, true).is_ok());
        assert!(reply_to(&mail("No (a person)"), &AUTHENTICATED, true).is_ok());
        for value in
            ["auto-replied", "auto-generated (failure)", "auto-notified; owner-email=x@example.com", "", "nope"]
        {
            assert_eq!(reply_to(&mail(value), &AUTHENTICATED, true), Err(NoReply::AutoSubmitted), "{value:?}");
        }
    }

    #[test]
    fn bulk_junk_and_list_precedences_are_not_answered() {
        let mail = |value: &str| InboundMail { precedence: Some(value.to_owned()), ..from("a@example.com") };
        for value in ["bulk", "junk", "list", "Bulk"] {
            assert_eq!(reply_to(&mail(value), &AUTHENTICATED, true), Err(NoReply::BulkPrecedence), "{value}");
        }
        assert!(reply_to(&mail("first-class"), &AUTHENTICATED, true).is_ok());
    }

    #[test]
    fn a_list_id_alone_marks_a_mailing_list() {
        let mail = InboundMail { list_id: true, ..from("annonces@example.org") };
        assert_eq!(reply_to(&mail, &AUTHENTICATED, true), Err(NoReply::MailingList));
    }

    #[test]
    fn robot_senders_are_recognised_by_their_local_part() {
        let robots = [
            "MAILER-DAEMON@mx.example.org",
            "postmaster@example.org",
            "no-reply@example.com",
            "NoReply@example.com",
            "do-not-reply@example.com",
            "donotreply@example.com",
            "bounce@example.com",
            "bounces@example.com",
            "bounces+8472-marie=example.com@lists.example.org",
            "noreply+factures@example.com",
            "bounce-mc.us5_1234.5678-marie=example.com@mail.example.net",
            "no-reply.notifications@example.com",
            "\"postmaster\"@example.org",
        ];
        for robot in robots {
            assert_eq!(reply_to(&from(robot), &AUTHENTICATED, true), Err(NoReply::RobotSender), "{robot}");
        }
        let people =
            ["bouncer@example.com", "marie.noreply@example.com", "postmasters@example.org", "reply@example.com"];
        for person in people {
            assert_eq!(reply_to(&from(person), &AUTHENTICATED, true), Ok(person.to_owned()), "{person}");
        }
    }

    #[test]
    fn no_reason_serialises_in_snake_case() {
        assert_eq!(serde_json::to_string(&NoReply::NotAuthenticated).expect("json"), "\"not_authenticated\"");
        assert_eq!(serde_json::to_string(&NoReply::AmbiguousSender).expect("json"), "\"ambiguous_sender\"");
        assert_eq!(serde_json::from_str::<NoReply>("\"robot_sender\"").expect("json"), NoReply::RobotSender);
    }

    // The answer.

    #[test]
    fn the_reply_reads_like_the_manual() {
        let reply =
            error_reply("a@example.com", Some("id@example.com"), &Rejection::new(StatusCode::InvalidRequest), &[]);
        assert_eq!(reply.to, "a@example.com");
        assert_eq!(reply.subject, "Mail2SMS: erreur 109");
        assert_eq!(
            reply.body,
            "Status: 109\nStatusText: Objet de l'email invalide ou incomplet\n\nThe subject is invalid or incomplete.\n"
        );
        assert_eq!(reply.in_reply_to.as_deref(), Some("id@example.com"));
    }

    const KEY: &str = "3f9c0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5de21f";

    /// Whether `text` holds 16 consecutive characters of [`KEY`].
    fn shows_the_key(text: &str) -> bool {
        (0..=KEY.len() - 16).any(|start| text.contains(&KEY[start..start + 16]))
    }

    #[test]
    fn the_api_key_never_appears_in_the_reply() {
        let rejection = Rejection::with_detail(StatusCode::InvalidRequest, format!("option inconnue « {KEY} »"));
        let reply = error_reply("a@example.com", None, &rejection, &["", KEY]);
        assert!(reply.body.contains("option inconnue « **** »"), "{}", reply.body);
        let untouched = error_reply("a@example.com", None, &Rejection::new(StatusCode::EmptyMessage), &[""]);
        assert!(!untouched.body.contains("***"), "an empty secret hides nothing");
    }

    #[test]
    fn no_piece_of_the_key_is_quoted_split_repeated_or_among_other_scripts() {
        let details = [
            format!("« {} » puis « {} »", &KEY[..20], &KEY[20..]),
            format!("{KEY}{KEY} et {KEY}"),
            format!("«\u{a0}{}\u{a0}» – 東京 é", &KEY[7..23]),
            format!("x\r\n{}", &KEY[..30]),
        ];
        for detail in details {
            let rejection = Rejection::with_detail(StatusCode::InvalidRequest, &detail);
            let reply = error_reply("a@example.com", None, &rejection, &[KEY]);
            assert!(!shows_the_key(&reply.body) && reply.body.contains("****"), "{}", reply.body);
        }
        let fifteen = Rejection::with_detail(StatusCode::InvalidRequest, &KEY[7..22]);
        assert!(error_reply("a@example.com", None, &fifteen, &[KEY]).body.contains(&KEY[7..22]), "15 are kept");
    }

    #[test]
    fn a_message_id_holding_the_key_is_not_quoted() {
        let rejection = Rejection::new(StatusCode::InvalidRequest);
        let reply = error_reply("a@example.com", Some(&format!("{KEY}@example.com")), &rejection, &[KEY]);
        assert_eq!(reply.in_reply_to, None);
        assert!(!shows_the_key(&String::from_utf8_lossy(&reply.to_mime("gw@example.org", date()))));
        let reply = error_reply("a@example.com", Some("id@example.com"), &rejection, &[KEY]);
        assert_eq!(reply.in_reply_to.as_deref(), Some("id@example.com"));
    }

    #[test]
    fn a_status_text_cannot_add_a_line_to_the_body() {
        let rejection = Rejection::with_detail(StatusCode::InvalidRequest, "x\r\nStatus: 0");
        let reply = error_reply("a@example.com", None, &rejection, &[]);
        assert_eq!(reply.body.lines().filter(|line| line.starts_with("Status:")).count(), 1, "{}", reply.body);
    }

    fn sample_reply() -> ErrorReply {
        error_reply(
            "claire.roux@example.com",
            Some("CAB7r2sXq0dN4m9P1vK8wT6uYzH3fJ5cLgE2aR0iO9bV7nM4xWq@mail.example.com"),
            &Rejection::insufficient_credits(12, 3),
            &[],
        )
    }

    fn date() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 5, 24, 9, 0, 5).single().expect("a date")
    }

    #[test]
    fn the_message_reads_back_as_written() {
        let reply = sample_reply();
        let mime = reply.to_mime("Mail2SMS <mail2sms@example.org>", date());
        let message = MessageParser::new().parse(&mime).expect("a message");
        assert_eq!(message.subject(), Some("Mail2SMS: erreur 104"));
        let sender = message.from().and_then(|from| from.first()).expect("a From");
        assert_eq!((sender.name(), sender.address()), (Some("Mail2SMS"), Some("mail2sms@example.org")));
        assert_eq!(message.to().and_then(|to| to.first()).and_then(|to| to.address()), Some("claire.roux@example.com"));
        assert_eq!(message.date().map(|date| date.to_timestamp()), Some(date().timestamp()));
        let id = "CAB7r2sXq0dN4m9P1vK8wT6uYzH3fJ5cLgE2aR0iO9bV7nM4xWq@mail.example.com";
        assert_eq!(message.in_reply_to(), &HeaderValue::Text(id.into()));
        assert_eq!(message.references(), &HeaderValue::Text(id.into()));
        assert_eq!(message.header_raw("Auto-Submitted").map(str::trim), Some("auto-replied"));
        assert_eq!(message.header_raw("X-Auto-Response-Suppression").map(str::trim), Some("All"));
        let content_type = message.content_type().expect("a Content-Type");
        assert_eq!((content_type.ctype(), content_type.subtype()), ("text", Some("plain")));
        assert_eq!(content_type.attribute("charset"), Some("utf-8"));
        let body = message.body_text(0).expect("a body").replace("\r\n", "\n");
        assert_eq!(body, reply.body);
        assert!(
            body.contains("Crédit insuffisant pour traiter cet envoi. A utiliser: 12 Crédits, Disponibles: 3 Crédits.")
        );
    }

    #[test]
    fn the_message_has_crlf_lines_of_at_most_76_characters() {
        let mime = String::from_utf8(sample_reply().to_mime("mail2sms@example.org", date())).expect("ASCII");
        assert!(mime.is_ascii());
        assert!(!mime.replace("\r\n", "").contains(['\r', '\n']), "only CRLF line ends");
        let (headers, body) = mime.split_once("\r\n\r\n").expect("headers, then the body");
        assert!(headers.split("\r\n").all(|line| line.len() <= 998), "{headers}");
        assert!(body.split("\r\n").all(|line| line.len() <= 76), "{body}");
        assert!(body.contains("=\r\n"), "the long StatusText is cut by soft line breaks");
    }

    #[test]
    fn without_the_original_id_there_is_no_threading() {
        let reply = ErrorReply { in_reply_to: None, ..sample_reply() };
        let mime = reply.to_mime("mail2sms@example.org", date());
        let message = MessageParser::new().parse(&mime).expect("a message");
        assert!(message.header_raw("In-Reply-To").is_none() && message.header_raw("References").is_none());
        let reply = ErrorReply { in_reply_to: Some(" <\r\n>".to_owned()), ..sample_reply() };
        let mime = reply.to_mime("mail2sms@example.org", date());
        assert!(MessageParser::new().parse(&mime).expect("a message").header_raw("In-Reply-To").is_none());
    }

    #[test]
    fn header_values_cannot_inject_headers() {
        let reply = ErrorReply {
            to: "victim@example.com\r\nBcc: everyone@example.net".to_owned(),
            subject: "Mail2SMS\nX-Injected: yes".to_owned(),
            in_reply_to: Some("id@example.com>\r\nX-Injected: yes".to_owned()),
            ..sample_reply()
        };
        let mime = reply.to_mime("mail2sms@example.org\r\nX-Injected: yes", date());
        let message = MessageParser::new().parse(&mime).expect("a message");
        let names: Vec<&str> = message.headers().iter().map(|header| header.name.as_str()).collect();
        assert!(
            !names.iter().any(|name| name.eq_ignore_ascii_case("Bcc") || name.eq_ignore_ascii_case("X-Injected")),
            "{names:?}"
        );
        assert_eq!(names.len(), 11, "{names:?}");
    }

    #[test]
    fn a_subject_that_is_not_ascii_is_encoded_and_reads_back() {
        let subject = "Mail2SMS : réponse à « votre demande » – crédit épuisé, veuillez recharger votre compte";
        let reply = ErrorReply { subject: subject.to_owned(), ..sample_reply() };
        let mime = reply.to_mime("mail2sms@example.org", date());
        assert!(mime.is_ascii());
        let text = String::from_utf8_lossy(&mime);
        let subject_lines: Vec<&str> = text
            .split("\r\n")
            .skip_while(|line| !line.starts_with("Subject:"))
            .take_while(|line| !line.starts_with("Date:"))
            .collect();
        assert!(subject_lines.len() > 1 && subject_lines.iter().all(|line| line.len() <= 76), "{subject_lines:?}");
        assert_eq!(MessageParser::new().parse(&mime).expect("a message").subject(), Some(subject));
    }

    #[test]
    fn quoted_printable_encodes_what_must_be_and_nothing_else() {
        assert_eq!(quoted_printable("a=b é\ttab \nfin\t"), "a=3Db =C3=A9\ttab=20\r\nfin=09");
        assert_eq!(quoted_printable(&"x".repeat(80)), format!("{}=\r\n{}", "x".repeat(75), "x".repeat(5)));
        assert_eq!(
            quoted_printable(&format!("{}é", "x".repeat(73))),
            format!("{}=\r\n=C3=A9", "x".repeat(73)),
            "an =XX is never cut"
        );
    }

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64("é".as_bytes()), "w6k=");
        assert_eq!(base64(&[0xFB, 0xFF]), "+/8=");
    }

    proptest! {
        #[test]
        fn any_body_survives_the_round_trip(body in "[\\PC\t\r\n ]{0,400}") {
            let reply = ErrorReply { body: body.clone(), ..sample_reply() };
            let mime = reply.to_mime("mail2sms@example.org", date());
            let message = MessageParser::new().parse(&mime).expect("a message");
            let (_, encoded) = std::str::from_utf8(&mime).expect("ASCII").split_once("\r\n\r\n").expect("a body");
            prop_assert!(encoded.split("\r\n").all(|line| line.len() <= 76));
            let decoded = message.body_text(0).unwrap_or_default().replace("\r\n", "\n");
            prop_assert_eq!(decoded, body.replace("\r\n", "\n"));
        }

        #[test]
        fn no_value_adds_a_header(to in any::<String>(), subject in any::<String>(), id in any::<String>(), from in any::<String>()) {
            let reply = ErrorReply { to, subject, in_reply_to: Some(id), ..sample_reply() };
            let mime = reply.to_mime(&from, date());
            let text = String::from_utf8_lossy(&mime);
            let (headers, _) = text.split_once("\r\n\r\n").expect("headers, then the body");
            let fields = headers.split("\r\n").filter(|line| !line.starts_with(' ')).count();
            prop_assert!(fields == 9 || fields == 11, "{}", headers);
        }
    }
}
