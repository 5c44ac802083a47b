//! Whether to answer an email, and the answer: the manual (2.2) answers by email only when
//! something is wrong, with the status and its StatusText in the body. Accounts that ask for
//! them also get a delivery receipt once a message is closed (see [`delivery_receipt`]).
//!
//! An answer must never feed a loop or a stranger's inbox: robots, lists and auto-replies get
//! none, and neither, when the gateway asks for it, does a sender whose address is not proven.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::date::Date;
use mail_builder::headers::raw::Raw;
use mail_builder::mime::make_boundary;
use mail_parser::HeaderValue;
use mail_parser::parsers::MessageStream;
use serde::{Deserialize, Serialize};

use crate::domain::Rejection;
use crate::domain::message::{Delivery, MessageRecord, RecipientRecord};
use crate::domain::secret::redact;
use crate::mail::{Authentication, Author, InboundMail};
use crate::plural::{Words, count, french};

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
    /// Authentication is required and the From is not proven: neither DMARC passed, nor an SPF
    /// or a DKIM signature aligned with the From's domain (see [`Authentication`]).
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
/// `bounces+1234@…` or `bounce-mc.123@…`); when `require_auth`, senders whose From
/// `authentication` does not prove (an SPF pass for another domain, a DKIM signature of
/// another domain prove nothing); and the gateway itself (`gateway`, the address
/// replies are sent from, as in [`ErrorReply::to_mime`], compared case-insensitively), a robot
/// too: answering it would answer ourselves. Returns the address to answer.
pub fn reply_to(
    mail: &InboundMail,
    authentication: &Authentication,
    require_auth: bool,
    gateway: &str,
) -> Result<String, NoReply> {
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
    if require_auth && !authentication.is_authenticated() {
        return Err(NoReply::NotAuthenticated);
    }
    if sender.eq_ignore_ascii_case(&mailbox(gateway).1) {
        return Err(NoReply::RobotSender);
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
        body: format!("Status: {}\nStatusText: {status_text}\n\n{}\n", status.code(), rejection.english()),
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
    /// The RFC 5322 message given to SES v2 as raw content, written by mail-builder: From
    /// (`from`, the gateway's address, optionally as `Mail2SMS <addr>`), To, Subject, Date (from
    /// `date`), a Message-ID at the gateway's domain (SES puts its own in its place),
    /// In-Reply-To and References when the original Message-ID is known, Auto-Submitted
    /// `auto-replied` and X-Auto-Response-Suppression `All`, so that robots do not answer back;
    /// then the body as `text/plain; charset=utf-8`, its lines ending in CRLF. mail-builder
    /// encodes what needs it (RFC 2047 words in headers, quoted-printable or base64 in the body,
    /// lines of at most 76 characters) and keeps every value on its line; the original
    /// Message-ID, which mail-builder writes as it is given (`id>\r\nX-Injected: yes` would add
    /// a header), goes through [`bare_message_id`].
    pub fn to_mime(&self, from: &str, date: DateTime<Utc>) -> Vec<u8> {
        answer_mime(&self.to, &self.subject, &self.body, self.in_reply_to.as_deref(), from, date)
    }
}

/// The message of an answer, as [`ErrorReply::to_mime`] describes it.
pub(crate) fn answer_mime(
    to: &str,
    subject: &str,
    body: &str,
    in_reply_to: Option<&str>,
    from: &str,
    date: DateTime<Utc>,
) -> Vec<u8> {
    gateway_mime(to, subject, body, in_reply_to, from, date, "auto-replied")
}

/// A message of the gateway's, written as [`ErrorReply::to_mime`] describes, its
/// `Auto-Submitted` field saying `auto_submitted` (`auto-replied` for an answer to an email,
/// `auto-generated` for a message no email asked for).
fn gateway_mime(
    to: &str,
    subject: &str,
    body: &str,
    in_reply_to: Option<&str>,
    from: &str,
    date: DateTime<Utc>,
    auto_submitted: &'static str,
) -> Vec<u8> {
    let (name, address) = mailbox(from);
    let domain = address.rsplit_once('@').map_or("localhost", |(_, domain)| domain);
    let mut message = MessageBuilder::new()
        .from(Address::new_address(name, address.as_str()))
        .to(to)
        .subject(subject)
        .date(Date::new(date.timestamp()))
        .message_id(format!("{}@{domain}", make_boundary(".")));
    if let Some(id) = in_reply_to.map(bare_message_id).filter(|id| !id.is_empty()) {
        message = message.in_reply_to(id.clone()).references(id);
    }
    let mut mime = Vec::new();
    message
        .header("Auto-Submitted", Raw::new(auto_submitted))
        .header("X-Auto-Response-Suppression", Raw::new("All"))
        .text_body(crlf_lines(body))
        .serialize(&mut mime);
    mime
}

/// The display name and the address of a mailbox written `addr` or `Name <addr>`, as
/// mail-parser reads it; the whole value as the address when it reads none.
fn mailbox(value: &str) -> (Option<String>, String) {
    let line = format!("{value}\n");
    if let HeaderValue::Address(address) = MessageStream::new(line.as_bytes()).parse_address()
        && let Some(mailbox) = address.first()
        && let Some(found) = mailbox.address()
    {
        return (mailbox.name().map(str::to_owned), found.to_owned());
    }
    (None, value.to_owned())
}

/// A Message-ID with its brackets, spaces and control characters removed, to be put in `<…>`.
fn bare_message_id(id: &str) -> String {
    id.chars()
        .filter(|character| !(character.is_whitespace() || character.is_control() || "<>".contains(*character)))
        .collect()
}

/// The text with every line break (`\r\n`, `\n` or a lone `\r`) written CRLF. mail-builder
/// writes CRLF for `\n` in a 7bit or quoted-printable body, but keeps `\n` inside base64 (which
/// it picks for text mostly beyond ASCII: a reader would then decode bare LFs) and a lone `\r`
/// as it is in 7bit (a bare CR on the wire).
fn crlf_lines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n").replace('\n', "\r\n")
}

// The delivery receipt.

/// The most recipients a receipt lists one by one. A message may name up to
/// [`MAX_RECORD_RECIPIENTS`](crate::domain::message::MAX_RECORD_RECIPIENTS) (1,000): 200 short lines still
/// read on a phone, and the others are only counted, by status, on one line. When the list is
/// cut, the recipients not delivered are the ones listed first (the receipt is for them), then
/// delivered ones up to 200; those listed keep the order of the subject.
pub const RECEIPT_LISTED: usize = 200;

/// The most characters of a provider's reason a receipt quotes; a longer one ends in `…`.
const RECEIPT_REASON_CHARS: usize = 60;

/// The delivery receipt of a closed message, ready to be written as a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReceipt {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// The Message-ID of the email the message came in, without angle brackets.
    pub in_reply_to: Option<String>,
}

/// The receipt of a closed message, in French as the error replies, its times in `zone` (the
/// account's). Subject `Mail2SMS: accusé de réception, email du <date> à <heure>` (the
/// email's subject is never quoted: it holds the API key). Body: when the email was received
/// (and when it was due, if scheduled), its reference (the SES message id), how many SMS and
/// parts per SMS, numbers the subject named that were ignored, a tally of the recipients by
/// status; then one line per recipient, at most [`RECEIPT_LISTED`], `<E.164> : <statut>`
/// followed by the provider's reason (one line, at most 60 characters) for a recipient neither
/// delivered nor merely sent, `remboursé` when its credits went back, `renvoyé` when it was sent
/// a second time; then the credits debited and refunded, and what the less obvious statuses
/// mean. Statuses: délivré, envoyé (taken by the provider, no word since), non confirmé,
/// expiré, échec, inconnu (in doubt: sending or unknown), non envoyé (pending), désinscrit (on an
/// opt-out list: never sent, never charged).
///
/// The SMS text is never read (`record.text`; settled records have none anyway), nor is
/// anything the record does not hold: the API key, the email's subject.
pub fn delivery_receipt(to: &str, record: &MessageRecord, zone: Tz) -> DeliveryReceipt {
    let received = local_time(record.received_at, zone);
    let mut lines = vec!["Accusé de réception de votre envoi SMS.".to_owned(), String::new()];
    lines.push(format!("Email reçu le {received} ({})", zone.name()));
    if let Some(due) = record.due_at {
        lines.push(format!("Envoi programmé le {} ({})", local_time(due, zone), zone.name()));
    }
    // ----- marketing hours -----
    if let Some(hold) = &record.held {
        lines.push(format!(
            "Envoi commercial retenu jusqu'aux heures autorisées (lundi au samedi, 8h-20h heure de Paris, \
             hors jours fériés) ; il était prévu le {}",
            local_time(hold.original_due_at, zone)
        ));
    }
    lines.push(format!("Référence : {}", reference(&record.message_id)));
    lines.push(format!(
        "Envoi : {} SMS, {} par SMS",
        record.chargeable(),
        counted(record.parts as usize, ("partie", "parties"))
    ));
    if record.dropped_count > 0 {
        lines.push(format!("Numéros ignorés : {} (non valides, non facturés)", record.dropped_count));
    }
    // ----- opt-outs -----
    let opted_out = record.recipients.len() - record.chargeable();
    if opted_out > 0 {
        lines.push(format!("Numéros désinscrits : {opted_out} (liste d'opposition, non envoyés, non facturés)"));
    }
    lines.push(format!("Bilan : {}", tally(&record.recipients.iter().collect::<Vec<_>>())));
    lines.push(String::new());
    let listed = listed(&record.recipients);
    lines.extend(record.recipients.iter().zip(&listed).filter(|(_, listed)| **listed).map(|(r, _)| recipient_line(r)));
    let others: Vec<&RecipientRecord> =
        record.recipients.iter().zip(&listed).filter(|(_, listed)| !**listed).map(|(r, _)| r).collect();
    if !others.is_empty() {
        lines.push(format!("… et {} : {}", counted(others.len(), ("autre", "autres")), tally(&others)));
    }
    lines.push(String::new());
    lines.push(format!("Crédits débités : {}", record.cost));
    lines.push(format!("Crédits remboursés : {}", record.refunded));
    let legend: Vec<String> = LEGEND
        .iter()
        .filter(|(status, _)| record.recipients.iter().any(|r| status_of(r.fate()) == *status))
        .map(|(status, meaning)| format!("{} : {meaning}", status.0))
        .collect();
    if !legend.is_empty() {
        lines.push(String::new());
        lines.extend(legend);
    }
    DeliveryReceipt {
        to: to.to_owned(),
        subject: format!("Mail2SMS: accusé de réception, email du {received}"),
        body: lines.join("\n") + "\n",
        in_reply_to: record.mail_message_id.clone(),
    }
}

impl DeliveryReceipt {
    /// The RFC 5322 message given to SES v2, written as [`ErrorReply::to_mime`] writes an error
    /// reply: Auto-Submitted `auto-replied`, threaded under the email's Message-ID when known
    /// (through [`bare_message_id`], so that it cannot add a header).
    pub fn to_mime(&self, from: &str, date: DateTime<Utc>) -> Vec<u8> {
        answer_mime(&self.to, &self.subject, &self.body, self.in_reply_to.as_deref(), from, date)
    }
}

const DELIVERED: Words = ("délivré", "délivrés");
const SENT: Words = ("envoyé", "envoyés");
const UNCONFIRMED: Words = ("non confirmé", "non confirmés");
const EXPIRED: Words = ("expiré", "expirés");
const FAILED: Words = ("échec", "échecs");
const UNKNOWN: Words = ("inconnu", "inconnus");
const NOT_SENT: Words = ("non envoyé", "non envoyés");
const OPTED_OUT: Words = ("désinscrit", "désinscrits");

/// The statuses in the order a tally gives them.
const STATUSES: [Words; 8] = [DELIVERED, SENT, UNCONFIRMED, EXPIRED, FAILED, UNKNOWN, NOT_SENT, OPTED_OUT];

/// What the statuses a reader may not guess mean, given when one of the recipients has it.
const LEGEND: [(Words, &str); 6] = [
    (SENT, "remis à l'opérateur, sans nouvelles depuis."),
    (UNCONFIRMED, "l'opérateur n'a jamais confirmé la réception."),
    (EXPIRED, "l'opérateur n'a pas pu le remettre à temps."),
    (UNKNOWN, "nous ne savons pas si le SMS est parti."),
    (NOT_SENT, "le SMS n'est pas parti."),
    (OPTED_OUT, "le numéro s'est désinscrit (STOP) ou est sur une liste d'opposition : ni envoyé, ni débité."),
];

fn status_of(fate: Delivery) -> Words {
    match fate {
        Delivery::Delivered => DELIVERED,
        Delivery::Sent => SENT,
        Delivery::Unconfirmed => UNCONFIRMED,
        Delivery::Expired => EXPIRED,
        Delivery::Failed => FAILED,
        Delivery::Unknown | Delivery::Sending => UNKNOWN,
        Delivery::Pending => NOT_SENT,
        Delivery::OptedOut => OPTED_OUT,
    }
}

/// `count` and the word, singular for 0 and 1 as French has it.
fn counted(items: usize, words: Words) -> String {
    french(count(items), words)
}

/// The recipients counted by status, `2 délivrés, 1 échec`; `aucun destinataire` for none.
fn tally(recipients: &[&RecipientRecord]) -> String {
    let counts: Vec<String> = STATUSES
        .iter()
        .map(|status| (status, recipients.iter().filter(|r| status_of(r.fate()) == *status).count()))
        .filter(|(_, count)| *count > 0)
        .map(|(status, count)| counted(count, *status))
        .collect();
    if counts.is_empty() { "aucun destinataire".to_owned() } else { counts.join(", ") }
}

/// Which recipients are listed one by one: all when they are at most [`RECEIPT_LISTED`], else
/// the first not delivered, then the first delivered, [`RECEIPT_LISTED`] in all.
fn listed(recipients: &[RecipientRecord]) -> Vec<bool> {
    let mut listed = vec![false; recipients.len()];
    let delivered = |r: &RecipientRecord| r.fate() == Delivery::Delivered;
    let not_delivered = recipients.iter().enumerate().filter(|(_, r)| !delivered(r));
    let then_delivered = recipients.iter().enumerate().filter(|(_, r)| delivered(r));
    for (index, _) in not_delivered.chain(then_delivered).take(RECEIPT_LISTED) {
        listed[index] = true;
    }
    listed
}

/// `+33612345678 : échec (Invalid phone number), remboursé`.
fn recipient_line(recipient: &RecipientRecord) -> String {
    let fate = recipient.fate();
    let mut line = format!("{} : {}", recipient.number.e164(), status_of(fate).0);
    let reason = recipient.reason().map(one_line).filter(|reason| !reason.is_empty());
    if let Some(reason) = reason.filter(|_| !matches!(fate, Delivery::Delivered | Delivery::Sent)) {
        line.push_str(&format!(" ({})", shortened(&reason, RECEIPT_REASON_CHARS)));
    }
    if recipient.was_refunded() {
        line.push_str(", remboursé");
    }
    if recipient.resent {
        line.push_str(", renvoyé");
    }
    line
}

/// `text` cut to `max` characters, the last one then `…`.
fn shortened(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    text.chars().take(max - 1).chain(['…']).collect()
}

/// A time as a French reader writes it, in `zone`: `25/11/2026 à 10:12:44`.
fn local_time(time: DateTime<Utc>, zone: Tz) -> String {
    time.with_timezone(&zone).format("%d/%m/%Y à %H:%M:%S").to_string()
}

/// The message's reference as the receipt shows it: the SES message id, only its letters,
/// digits, `-`, `_` and `.`, at most 64 of them.
fn reference(message_id: &str) -> String {
    message_id.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).take(64).collect()
}

// ----- dry run -----

/// The preview of a dry run (see [`preview_text`](crate::domain::preview::preview_text)) as an
/// answer to the email, through the error replies' channel: to the address [`reply_to`] gives,
/// written as an error reply ([`ErrorReply::to_mime`]: `Auto-Submitted: auto-replied`, threaded
/// under the email's Message-ID unless that holds a `secret`). The body quotes the SMS text,
/// which the sender wrote and may hold the API key: every run of a `secret` in it is masked, as
/// in an error reply's StatusText.
pub fn preview_reply(
    to: &str,
    original_message_id: Option<&str>,
    preview: &crate::domain::preview::PreviewText,
    secrets: &[&str],
) -> ErrorReply {
    ErrorReply {
        to: to.to_owned(),
        subject: preview.subject.clone(),
        body: without_secrets(&preview.body, secrets),
        in_reply_to: original_message_id.filter(|id| without_secrets(id, secrets) == *id).map(str::to_owned),
    }
}

// ----- credit alerts -----

/// A credit alert to an account's contact, ready to be written as a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditAlertMail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// The alert of a balance gone below the account's threshold, in French as the error replies.
/// Subject `Mail2SMS: crédits bas, <n> crédits restants`; the body gives the login, the balance
/// and the threshold, what a credit pays and when the alert comes again. Nothing of any email
/// (no subject, no key, no text).
pub fn low_credit_alert(to: &str, login: &str, balance: u64, threshold: u64) -> CreditAlertMail {
    let left = french(balance, ("crédit restant", "crédits restants"));
    let lines = [
        format!(
            "Le solde du compte {login} est passé sous le seuil d'alerte de {}.",
            french(threshold, ("crédit", "crédits"))
        ),
        String::new(),
        format!("Crédits restants : {balance}"),
        format!("Seuil d'alerte : {threshold}"),
        String::new(),
        "Un crédit paie une partie de SMS pour un destinataire. Quand le solde ne couvre plus un envoi, \
         l'email est refusé (erreur 104)."
            .to_owned(),
        "Cette alerte n'est envoyée qu'une fois ; elle le sera de nouveau après une recharge qui \
         ramène le solde au seuil ou au-dessus."
            .to_owned(),
    ];
    CreditAlertMail {
        to: to.to_owned(),
        subject: format!("Mail2SMS: crédits bas, {left}"),
        body: lines.join("\n") + "\n",
    }
}

/// The alert of an email refused for want of credits (104), in French: when (in `zone`, the
/// account's), the email's reference (its SES message id), what it asked and what the account
/// holds. Nothing of the email itself (no subject, no key, no text).
pub fn insufficient_credits_alert(
    to: &str,
    login: &str,
    message_id: &str,
    at: DateTime<Utc>,
    zone: Tz,
    cost: u64,
    available: u64,
) -> CreditAlertMail {
    let lines = [
        format!(
            "Un email du compte {login} a été refusé le {} ({}) faute de crédits (erreur 104) : \
             il demandait {}, le compte en a {available}.",
            local_time(at, zone),
            zone.name(),
            french(cost, ("crédit", "crédits"))
        ),
        format!("Référence : {}", reference(message_id)),
        String::new(),
        "Les envois suivants seront refusés de même tant que le compte n'aura pas été rechargé.".to_owned(),
        "Cette alerte est envoyée au plus une fois par jour.".to_owned(),
    ];
    CreditAlertMail {
        to: to.to_owned(),
        subject: "Mail2SMS: crédits insuffisants, envoi refusé (104)".to_owned(),
        body: lines.join("\n") + "\n",
    }
}

impl CreditAlertMail {
    /// The RFC 5322 message given to SES v2, written as [`ErrorReply::to_mime`] writes an error
    /// reply, but answering no email: no `In-Reply-To`, and `Auto-Submitted: auto-generated`.
    pub fn to_mime(&self, from: &str, date: DateTime<Utc>) -> Vec<u8> {
        gateway_mime(&self.to, &self.subject, &self.body, None, from, date, "auto-generated")
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use mail_parser::{HeaderValue, MessageParser, MimeHeaders};
    use proptest::prelude::*;

    use super::*;
    use crate::domain::StatusCode;
    use crate::mail::alignment::{AlignedBy, DmarcPolicy};
    use crate::mail::{Author, Verdict, parse_mail};

    macro_rules! fixture {
        ($name:literal) => {
            parse_mail(include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mail/", $name, ".eml")))
                .expect("an email")
        };
    }

    /// The address replies are sent from.
    const GATEWAY: &str = "mail2sms@sms.example.com";

    const AUTHENTICATED: Authentication =
        Authentication { aligned_by: Some(AlignedBy::Dkim), dmarc: None, dmarc_policy: None };

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
        assert_eq!(reply_to(&mail, &AUTHENTICATED, true, GATEWAY), Ok("jean.martin@example.com".to_owned()));
        let mail = fixture!("ses-stored");
        assert_eq!(reply_to(&mail, &mail.authentication, true, GATEWAY), Ok("claire.roux@example.com".to_owned()));
    }

    #[test]
    fn robots_lists_and_auto_replies_are_not_answered() {
        assert_eq!(reply_to(&fixture!("auto-reply"), &AUTHENTICATED, false, GATEWAY), Err(NoReply::AutoSubmitted));
        assert_eq!(reply_to(&fixture!("mailing-list"), &AUTHENTICATED, false, GATEWAY), Err(NoReply::BulkPrecedence));
        assert_eq!(
            reply_to(&fixture!("bounce-mailer-daemon"), &AUTHENTICATED, false, GATEWAY),
            Err(NoReply::RobotSender)
        );
    }

    #[test]
    fn an_unauthenticated_sender_is_answered_only_when_authentication_is_not_required() {
        let mail = fixture!("ses-stored-forged-authentication");
        assert_eq!(reply_to(&mail, &mail.authentication, true, GATEWAY), Err(NoReply::NotAuthenticated));
        assert_eq!(reply_to(&mail, &mail.authentication, false, GATEWAY), Ok("claire.roux@example.com".to_owned()));
    }

    #[test]
    fn the_receipts_dmarc_verdict_decides_over_the_headers() {
        let mail = fixture!("ses-stored");
        let event = mail.authentication.with_receipt(&mail.from, Some(Verdict::Fail), Some(DmarcPolicy::None));
        assert_eq!(reply_to(&mail, &event, true, GATEWAY), Err(NoReply::NotAuthenticated));
    }

    /// An email as SES stores it: SES's Received, then what SES wrote of its checks.
    fn ses_stored(from: &str, authentication_results: &str) -> InboundMail {
        let raw = format!(
            "Return-Path: <bounce@attacker.example>\r\n\
             Received: from mx.attacker.example (mx.attacker.example [203.0.113.9])\r\n by inbound-smtp.eu-west-1.amazonaws.com with SMTP id abc;\r\n Fri, 24 May 2030 09:00:05 +0000 (UTC)\r\n\
             Authentication-Results: amazonses.com;\r\n {authentication_results}\r\n\
             From: {from}\r\nSubject: a@k|0612345678|x\r\n\r\nBonjour\r\n"
        );
        parse_mail(raw.as_bytes()).expect("an email")
    }

    #[test]
    fn a_forged_from_passing_spf_or_dkim_for_another_domain_is_not_answered() {
        let spf = ses_stored(
            "ceo@victim.example",
            "spf=pass (spfCheck: domain of attacker.example designates 203.0.113.9 as permitted sender) client-ip=203.0.113.9; envelope-from=bounce@attacker.example; helo=mx.attacker.example; dkim=none; dmarc=none header.from=victim.example;",
        );
        assert_eq!(spf.verdicts.spf, Some(Verdict::Pass), "SES's verdict alone would have answered");
        assert_eq!(reply_to(&spf, &spf.authentication, true, GATEWAY), Err(NoReply::NotAuthenticated));
        let dkim = ses_stored(
            "ceo@victim.example",
            "spf=fail envelope-from=ceo@victim.example; dkim=pass header.i=@attacker.example; dmarc=fail header.from=victim.example;",
        );
        assert_eq!(dkim.verdicts.dkim, Some(Verdict::Pass));
        assert_eq!(reply_to(&dkim, &dkim.authentication, true, GATEWAY), Err(NoReply::NotAuthenticated));
        let aligned = ses_stored(
            "marie@shop.example.com",
            "spf=pass envelope-from=bounce@mail.example.com; dkim=none; dmarc=none;",
        );
        assert_eq!(reply_to(&aligned, &aligned.authentication, true, GATEWAY), Ok("marie@shop.example.com".to_owned()));
    }

    #[test]
    fn no_from_address_no_answer() {
        assert_eq!(reply_to(&InboundMail::default(), &AUTHENTICATED, false, GATEWAY), Err(NoReply::NoSender));
        let mail = parse_mail(b"Subject: a@k|0612345678\r\n\r\nBonjour\r\n").expect("an email");
        assert_eq!(reply_to(&mail, &AUTHENTICATED, false, GATEWAY), Err(NoReply::NoSender));
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
            assert_eq!(reply_to(&sent_from(from), &AUTHENTICATED, true, GATEWAY), Ok(address.to_owned()), "{from:?}");
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
            assert_eq!(
                reply_to(&sent_from(from), &AUTHENTICATED, true, GATEWAY),
                Err(NoReply::AmbiguousSender),
                "{from:?}"
            );
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
            assert_eq!(
                reply_to(&sent_from(from), &AUTHENTICATED, true, GATEWAY),
                Err(NoReply::AmbiguousSender),
                "{from:?}"
            );
        }
    }

    #[test]
    fn two_from_headers_are_not_answered() {
        let raw = b"From: shop@example.com\r\nFrom: victim@example.org\r\nSubject: x\r\n\r\nBonjour\r\n";
        let mail = parse_mail(raw).expect("an email");
        assert_eq!(reply_to(&mail, &AUTHENTICATED, true, GATEWAY), Err(NoReply::AmbiguousSender));
    }

    #[test]
    fn auto_submitted_no_is_a_person() {
        let mail = |value: &str| InboundMail { auto_submitted: Some(value.to_owned()), ..from("a@example.com") };
        assert!(reply_to(&mail("no"), &AUTHENTICATED, true, GATEWAY).is_ok());
        assert!(reply_to(&mail("No (a person)"), &AUTHENTICATED, true, GATEWAY).is_ok());
        for value in
            ["auto-replied", "auto-generated (failure)", "auto-notified; owner-email=x@example.com", "", "nope"]
        {
            assert_eq!(reply_to(&mail(value), &AUTHENTICATED, true, GATEWAY), Err(NoReply::AutoSubmitted), "{value:?}");
        }
    }

    #[test]
    fn bulk_junk_and_list_precedences_are_not_answered() {
        let mail = |value: &str| InboundMail { precedence: Some(value.to_owned()), ..from("a@example.com") };
        for value in ["bulk", "junk", "list", "Bulk"] {
            assert_eq!(reply_to(&mail(value), &AUTHENTICATED, true, GATEWAY), Err(NoReply::BulkPrecedence), "{value}");
        }
        assert!(reply_to(&mail("first-class"), &AUTHENTICATED, true, GATEWAY).is_ok());
    }

    #[test]
    fn a_list_id_alone_marks_a_mailing_list() {
        let mail = InboundMail { list_id: true, ..from("annonces@example.org") };
        assert_eq!(reply_to(&mail, &AUTHENTICATED, true, GATEWAY), Err(NoReply::MailingList));
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
            assert_eq!(reply_to(&from(robot), &AUTHENTICATED, true, GATEWAY), Err(NoReply::RobotSender), "{robot}");
        }
        let people =
            ["bouncer@example.com", "marie.noreply@example.com", "postmasters@example.org", "reply@example.com"];
        for person in people {
            assert_eq!(reply_to(&from(person), &AUTHENTICATED, true, GATEWAY), Ok(person.to_owned()), "{person}");
        }
    }

    #[test]
    fn the_gateway_never_answers_itself() {
        let ourselves = from("MAIL2SMS@sms.example.com");
        assert_eq!(reply_to(&ourselves, &AUTHENTICATED, true, GATEWAY), Err(NoReply::RobotSender));
        let named = "Mail2SMS <mail2sms@sms.example.com>";
        assert_eq!(reply_to(&ourselves, &AUTHENTICATED, true, named), Err(NoReply::RobotSender), "{named}");
        let colleague = from("mail2sms@example.com");
        assert_eq!(reply_to(&colleague, &AUTHENTICATED, true, GATEWAY), Ok("mail2sms@example.com".to_owned()));
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
    fn a_preview_is_answered_as_an_error_reply_is_and_never_quotes_the_key() {
        use crate::domain::preview::PreviewText;
        let preview = PreviewText {
            subject: "Mail2SMS: simulation, envoi accepté : 1 SMS, 1 crédit".to_owned(),
            body: format!("Texte du SMS, tel qu'il serait envoyé :\nVotre code : {KEY}\n"),
        };
        let reply = preview_reply("a@example.com", Some("id@example.com"), &preview, &[KEY]);
        assert!(reply.body.contains("Votre code : ****") && !shows_the_key(&reply.body), "{}", reply.body);
        let read = decoded(&reply.to_mime("mail2sms@example.org", date()));
        assert_eq!(read.subject.as_deref(), Some(preview.subject.as_str()));
        assert_eq!(read.auto_submitted.as_deref(), Some("auto-replied"));
        assert_eq!(read.in_reply_to.as_deref(), Some("id@example.com"));
        assert_eq!(read.to.as_deref(), Some("a@example.com"));
        let unthreaded = preview_reply("a@example.com", Some(&format!("{KEY}@example.com")), &preview, &[KEY]);
        assert_eq!(unthreaded.in_reply_to, None, "a Message-ID holding the key is not quoted");
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
    fn the_reply_comes_from_the_gateway_and_is_named_at_its_domain() {
        let address = Some("mail2sms@example.org".to_owned());
        for (from, name) in [
            ("Mail2SMS <mail2sms@example.org>", Some("Mail2SMS")),
            ("mail2sms@example.org", None),
            ("\"Mail2SMS, passerelle\" <mail2sms@example.org>", Some("Mail2SMS, passerelle")),
        ] {
            let mime = sample_reply().to_mime(from, date());
            assert_eq!(decoded(&mime).from, Some((name.map(str::to_owned), address.clone())), "{from}");
            let message = MessageParser::new().parse(&mime).expect("a message");
            assert!(message.message_id().is_some_and(|id| id.ends_with("@example.org")), "{from}");
        }
        let ids: Vec<String> = (0..2)
            .map(|_| sample_reply().to_mime("mail2sms@example.org", date()))
            .map(|mime| MessageParser::new().parse(&mime).and_then(|m| m.message_id().map(str::to_owned)))
            .map(|id| id.expect("a Message-ID"))
            .collect();
        assert_ne!(ids[0], ids[1], "each reply has its own Message-ID");
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
        assert_eq!(names, field_names(true), "no Bcc, no X-Injected");
    }

    /// The header fields of every reply, in their order; In-Reply-To and References when `threaded`.
    fn field_names(threaded: bool) -> Vec<&'static str> {
        let threading = ["In-Reply-To", "References"];
        ["From", "To", "Subject", "Date", "Message-ID"]
            .into_iter()
            .chain(threading.into_iter().filter(|_| threaded))
            .chain(["Auto-Submitted", "X-Auto-Response-Suppression", "MIME-Version"])
            .chain(["Content-Type", "Content-Transfer-Encoding"])
            .collect()
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

    /// What a reader decodes of a reply: subject, text, threading and the other header values.
    #[derive(Debug, PartialEq, Eq)]
    struct Decoded {
        subject: Option<String>,
        text: Option<String>,
        in_reply_to: Option<String>,
        references: Option<String>,
        from: Option<(Option<String>, Option<String>)>,
        to: Option<String>,
        date: Option<i64>,
        auto_submitted: Option<String>,
        auto_response_suppression: Option<String>,
        content_type: Option<String>,
    }

    fn decoded(mime: &[u8]) -> Decoded {
        let message = MessageParser::new().parse(mime).expect("a message");
        let text = |value: &HeaderValue<'_>| value.as_text().map(str::to_owned);
        let raw = |name: &str| message.header_raw(name).map(|value| value.trim().to_owned());
        Decoded {
            subject: message.subject().map(str::to_owned),
            text: message.body_text(0).map(|text| text.into_owned()),
            in_reply_to: text(message.in_reply_to()),
            references: text(message.references()),
            from: message
                .from()
                .and_then(|from| from.first())
                .map(|sender| (sender.name().map(str::to_owned), sender.address().map(str::to_owned))),
            to: message.to().and_then(|to| to.first()).and_then(|to| to.address()).map(str::to_owned),
            date: message.date().map(|date| date.to_timestamp()),
            auto_submitted: raw("Auto-Submitted"),
            auto_response_suppression: raw("X-Auto-Response-Suppression"),
            content_type: message.content_type().map(|content_type| {
                let charset = content_type.attribute("charset").unwrap_or_default();
                format!("{}/{}; charset={charset}", content_type.ctype(), content_type.subtype().unwrap_or_default())
            }),
        }
    }

    /// The reply to each status, as a reader decodes it, is what it was when the gateway wrote
    /// its own MIME: the same subject, text (CRLF line ends) and header values.
    #[test]
    fn every_status_reads_back_as_before() {
        const ID: &str = "CAB7r2sXq0dN4m9P1vK8wT6uYzH3fJ5cLgE2aR0iO9bV7nM4xWq@mail.example.com";
        let cases = [
            (
                Rejection::new(StatusCode::AuthenticationFailed),
                "Mail2SMS: erreur 102",
                "Status: 102\r\nStatusText: Problème de connexion - Aucun compte ne correspond aux login et apiKey spécifiés\r\n\r\nNo account matches the login and API key given in the subject.\r\n",
            ),
            (
                Rejection::new(StatusCode::InsufficientCredits),
                "Mail2SMS: erreur 104",
                "Status: 104\r\nStatusText: Crédit insuffisant pour traiter cet envoi.\r\n\r\nNot enough credits to send this message.\r\n",
            ),
            (
                Rejection::new(StatusCode::EmptyRequest),
                "Mail2SMS: erreur 105",
                "Status: 105\r\nStatusText: Objet de l'email vide\r\n\r\nThe email has no subject.\r\n",
            ),
            (
                Rejection::new(StatusCode::InvalidRequest),
                "Mail2SMS: erreur 109",
                "Status: 109\r\nStatusText: Objet de l'email invalide ou incomplet\r\n\r\nThe subject is invalid or incomplete.\r\n",
            ),
            (
                Rejection::new(StatusCode::EmptyMessage),
                "Mail2SMS: erreur 110",
                "Status: 110\r\nStatusText: Message non défini (vide) dans le corps de l'email\r\n\r\nThe message (the email's body) is empty.\r\n",
            ),
            (
                Rejection::new(StatusCode::MessageTooLong),
                "Mail2SMS: erreur 111",
                "Status: 111\r\nStatusText: Le message dépasse le nombre de caractères autorisé\r\n\r\nThe message is longer than 8 SMS.\r\n",
            ),
            (
                Rejection::new(StatusCode::NoValidRecipient),
                "Mail2SMS: erreur 114",
                "Status: 114\r\nStatusText: Aucun numéro de téléphone valide dans l'objet de l'email. Veuillez-vous référer à la documentation en ligne pour connaître les formats valides.\r\n\r\nThe subject holds no valid phone number.\r\n",
            ),
            (
                Rejection::new(StatusCode::InvalidDate),
                "Mail2SMS: erreur 115",
                "Status: 115\r\nStatusText: Objet de l'email invalide ou date mal formatée dans l'option date=\r\n\r\nThe date= option is not a valid date (YYYY-MM-DD hh:ii:ss).\r\n",
            ),
            (
                Rejection::insufficient_credits(12, 3),
                "Mail2SMS: erreur 104",
                "Status: 104\r\nStatusText: Crédit insuffisant pour traiter cet envoi. A utiliser: 12 Crédits, Disponibles: 3 Crédits. Veuillez re-créditer votre compte.\r\n\r\nNot enough credits to send this message.\r\n",
            ),
            (
                Rejection::with_detail(StatusCode::InvalidRequest, "option inconnue « x »"),
                "Mail2SMS: erreur 109",
                "Status: 109\r\nStatusText: Objet de l'email invalide ou incomplet : option inconnue « x »\r\n\r\nThe subject is invalid or incomplete.\r\n",
            ),
        ];
        let statuses: Vec<StatusCode> = cases.iter().map(|(rejection, ..)| rejection.status).collect();
        assert!(StatusCode::ALL.iter().all(|status| statuses.contains(status)), "every status");
        for (rejection, subject, text) in cases {
            let reply = error_reply("claire.roux@example.com", Some(ID), &rejection, &[]);
            let mime = reply.to_mime("Mail2SMS <mail2sms@example.org>", date());
            let expected = Decoded {
                subject: Some(subject.to_owned()),
                text: Some(text.to_owned()),
                in_reply_to: Some(ID.to_owned()),
                references: Some(ID.to_owned()),
                from: Some((Some("Mail2SMS".to_owned()), Some("mail2sms@example.org".to_owned()))),
                to: Some("claire.roux@example.com".to_owned()),
                date: Some(1_905_843_605),
                auto_submitted: Some("auto-replied".to_owned()),
                auto_response_suppression: Some("All".to_owned()),
                content_type: Some("text/plain; charset=utf-8".to_owned()),
            };
            assert_eq!(decoded(&mime), expected, "{subject}");
        }
    }

    #[test]
    fn what_a_body_must_encode_reads_back_in_short_lines() {
        for body in [
            "a=b é\ttab \nfin\t".to_owned(),
            "x".repeat(80),
            format!("{}é\n", "x".repeat(73)),
            "=?UTF-8?B?w6k=?= .\n.\nFrom here\n".to_owned(),
            format!("{}\n", "東京 ".repeat(40)),
        ] {
            let mime = ErrorReply { body: body.clone(), ..sample_reply() }.to_mime("gw@example.org", date());
            let (_, encoded) = std::str::from_utf8(&mime).expect("ASCII").split_once("\r\n\r\n").expect("a body");
            assert!(encoded.split("\r\n").all(|line| line.len() <= 76), "{encoded}");
            assert_eq!(decoded(&mime).text, Some(crlf_lines(&body)), "{body:?}");
        }
    }

    proptest! {
        #[test]
        fn any_body_survives_the_round_trip(body in "[\\PC\t\r\n ]{0,400}") {
            let reply = ErrorReply { body: body.clone(), ..sample_reply() };
            let mime = reply.to_mime("mail2sms@example.org", date());
            let message = MessageParser::new().parse(&mime).expect("a message");
            let (_, encoded) = std::str::from_utf8(&mime).expect("ASCII").split_once("\r\n\r\n").expect("a body");
            prop_assert!(encoded.split("\r\n").all(|line| line.len() <= 76));
            prop_assert_eq!(message.body_text(0).unwrap_or_default(), crlf_lines(&body));
        }

        #[test]
        fn no_value_adds_a_header(to in any::<String>(), subject in any::<String>(), id in any::<String>(), from in any::<String>()) {
            let reply = ErrorReply { to, subject, in_reply_to: Some(id), ..sample_reply() };
            let mime = reply.to_mime(&from, date());
            let text = String::from_utf8_lossy(&mime);
            let (headers, _) = text.split_once("\r\n\r\n").expect("headers, then the body");
            let names: Vec<&str> = headers
                .split("\r\n")
                .filter(|line| !line.starts_with([' ', '\t']))
                .map(|line| line.split(':').next().unwrap_or_default())
                .collect();
            let threaded = names.contains(&"In-Reply-To");
            prop_assert_eq!(names, field_names(threaded), "{}", headers);
        }
    }

    // The delivery receipt.

    mod receipt {
        use chrono_tz::Europe::Paris;

        use super::*;
        use crate::domain::delivery::DeliveryReport;
        use crate::domain::hours::HoldReason;
        use crate::domain::message::MessageState;
        use crate::domain::recipient::Recipient;

        const ID: &str = "20261125091244.4242@mail.example.com";
        const TEXT: &str = "Soldes -50% ce week-end au magasin. STOP au 36180";

        fn at(hour: u32, minute: u32) -> DateTime<Utc> {
            Utc.with_ymd_and_hms(2026, 11, 25, hour, minute, 0).single().expect("a date")
        }

        fn report(delivery: Delivery, reason: Option<&str>, refunded: bool) -> Option<DeliveryReport> {
            Some(DeliveryReport { delivery, at: at(9, 13), reason: reason.map(str::to_owned), price: None, refunded })
        }

        fn recipient(number: &str, delivery: Delivery, report: Option<DeliveryReport>) -> RecipientRecord {
            RecipientRecord {
                delivery,
                report,
                ..RecipientRecord::pending(Recipient::parse_e164(number).expect("E.164"), None)
            }
        }

        /// A closed message of four recipients, two parts each: delivered; failed and refunded;
        /// in doubt; taken but never confirmed.
        fn closed() -> MessageRecord {
            let mut record = MessageRecord::new("k8u6ra1lbn0ipa3hbpmqv39kcbb7s55ujl3ajpo1", at(9, 12));
            record.login = Some("boutique".to_owned());
            record.state = MessageState::PartiallyFailed;
            record.parts = 2;
            record.cost = 8;
            record.refunded = 2;
            record.mail_message_id = Some(ID.to_owned());
            record.receipt_to = Some("boutique@example.com".to_owned());
            record.closed_at = Some(at(9, 20));
            record.recipients = vec![
                recipient("+33612345678", Delivery::Sent, report(Delivery::Delivered, None, false)),
                recipient(
                    "+33698765432",
                    Delivery::Sent,
                    report(Delivery::Failed, Some("Destination phone number is invalid"), true),
                ),
                RecipientRecord {
                    error: Some("timeout: the provider did not answer".to_owned()),
                    ..recipient("+32470123456", Delivery::Unknown, None)
                },
                recipient("+33611223344", Delivery::Sent, report(Delivery::Unconfirmed, None, false)),
            ];
            record
        }

        fn receipt_of(record: &MessageRecord) -> DeliveryReceipt {
            delivery_receipt("boutique@example.com", record, Paris)
        }

        #[test]
        fn the_receipt_tells_each_recipient_s_fate_and_the_credits() {
            let receipt = receipt_of(&closed());
            assert_eq!(receipt.to, "boutique@example.com");
            assert_eq!(receipt.subject, "Mail2SMS: accusé de réception, email du 25/11/2026 à 10:12:00");
            assert_eq!(receipt.in_reply_to.as_deref(), Some(ID));
            assert_eq!(
                receipt.body,
                "Accusé de réception de votre envoi SMS.\n\
                 \n\
                 Email reçu le 25/11/2026 à 10:12:00 (Europe/Paris)\n\
                 Référence : k8u6ra1lbn0ipa3hbpmqv39kcbb7s55ujl3ajpo1\n\
                 Envoi : 4 SMS, 2 parties par SMS\n\
                 Bilan : 1 délivré, 1 non confirmé, 1 échec, 1 inconnu\n\
                 \n\
                 +33612345678 : délivré\n\
                 +33698765432 : échec (Destination phone number is invalid), remboursé\n\
                 +32470123456 : inconnu (timeout: the provider did not answer)\n\
                 +33611223344 : non confirmé\n\
                 \n\
                 Crédits débités : 8\n\
                 Crédits remboursés : 2\n\
                 \n\
                 non confirmé : l'opérateur n'a jamais confirmé la réception.\n\
                 inconnu : nous ne savons pas si le SMS est parti.\n"
            );
        }

        #[test]
        fn a_scheduled_message_with_ignored_numbers_says_so() {
            let mut record = closed();
            record.recipients.truncate(1);
            record.parts = 1;
            record.cost = 1;
            record.refunded = 0;
            record.due_at = Some(Utc.with_ymd_and_hms(2026, 12, 1, 8, 30, 0).single().expect("a date"));
            record.dropped_count = 3;
            record.recipients[0].resent = true;
            let body = receipt_of(&record).body;
            for line in [
                "Envoi programmé le 01/12/2026 à 09:30:00 (Europe/Paris)\n",
                "Envoi : 1 SMS, 1 partie par SMS\n",
                "Numéros ignorés : 3 (non valides, non facturés)\n",
                "Bilan : 1 délivré\n",
                "+33612345678 : délivré, renvoyé\n",
            ] {
                assert!(body.contains(line), "{line:?} in {body}");
            }
            assert!(!body.contains("nous ne savons pas"), "no legend for statuses not there: {body}");
        }

        #[test]
        fn a_message_held_to_the_marketing_hours_says_so_and_when_it_was_due() {
            let mut record = closed();
            record.hold(Utc.with_ymd_and_hms(2026, 11, 26, 7, 0, 0).unwrap(), HoldReason::MarketingHours);
            let body = receipt_of(&record).body;
            assert!(body.contains("Envoi programmé le 26/11/2026 à 08:00:00 (Europe/Paris)\n"), "{body}");
            assert!(body.contains("retenu jusqu'aux heures autorisées"), "{body}");
            assert!(body.contains("il était prévu le 25/11/2026 à 10:12:00\n"), "{body}");
            assert!(!receipt_of(&closed()).body.contains("retenu"));
        }

        #[test]
        fn every_fate_has_its_word() {
            let mut record = closed();
            record.recipients = [
                (Delivery::Pending, None),
                (Delivery::Sending, None),
                (Delivery::Sent, None),
                (Delivery::Failed, None),
                (Delivery::Sent, report(Delivery::Expired, Some("TTL_EXPIRED"), true)),
            ]
            .into_iter()
            .enumerate()
            .map(|(i, (delivery, report))| recipient(&format!("+3361234567{i}"), delivery, report))
            .collect();
            let body = receipt_of(&record).body;
            for line in [
                "+33612345670 : non envoyé\n",
                "+33612345671 : inconnu\n",
                "+33612345672 : envoyé\n",
                "+33612345673 : échec, remboursé\n",
                "+33612345674 : expiré (TTL_EXPIRED), remboursé\n",
                "Bilan : 1 envoyé, 1 expiré, 1 échec, 1 inconnu, 1 non envoyé\n",
                "envoyé : remis à l'opérateur, sans nouvelles depuis.\n",
                "expiré : l'opérateur n'a pas pu le remettre à temps.\n",
                "non envoyé : le SMS n'est pas parti.\n",
            ] {
                assert!(body.contains(line), "{line:?} in {body}");
            }
        }

        #[test]
        fn a_delivered_or_sent_recipient_shows_no_stale_reason() {
            let mut record = closed();
            record.recipients[0].error = Some("first attempt timed out".to_owned());
            record.recipients[3] = RecipientRecord {
                error: Some("in doubt".to_owned()),
                ..recipient("+33611223344", Delivery::Sent, None)
            };
            let body = receipt_of(&record).body;
            assert!(body.contains("+33612345678 : délivré\n") && body.contains("+33611223344 : envoyé\n"), "{body}");
        }

        #[test]
        fn a_reason_stays_on_its_line_and_short() {
            let mut record = closed();
            let reason = format!("Refusé\r\nCrédits remboursés : 1000\n{}", "x".repeat(200));
            record.recipients[1].report = report(Delivery::Failed, Some(&reason), true);
            let body = receipt_of(&record).body;
            assert_eq!(body.lines().filter(|line| line.starts_with("Crédits remboursés")).count(), 1, "{body}");
            let line = body.lines().find(|line| line.starts_with("+33698765432")).expect("its line");
            assert!(line.ends_with("…), remboursé") && line.chars().count() < 100, "{line}");
        }

        #[test]
        fn neither_the_text_nor_the_key_is_in_the_receipt() {
            let mut record = closed();
            record.text = Some(format!("{TEXT} {KEY}"));
            let receipt = receipt_of(&record);
            let mime = String::from_utf8(receipt.to_mime("Mail2SMS <mail2sms@example.org>", at(9, 21))).expect("ASCII");
            let decoded = decoded(mime.as_bytes());
            for text in
                [receipt.body.as_str(), receipt.subject.as_str(), mime.as_str(), &decoded.text.unwrap_or_default()]
            {
                assert!(!text.contains("Soldes") && !text.contains("36180"), "no SMS text: {text}");
                assert!(!shows_the_key(text), "no key: {text}");
            }
            // Nothing secret-looking: no run of 16 hex digits but the SES message id, which is no secret.
            let body = receipt.body.replace("k8u6ra1lbn0ipa3hbpmqv39kcbb7s55ujl3ajpo1", "");
            let hex_runs = body.split(|c: char| !c.is_ascii_hexdigit()).filter(|run| run.len() >= 16).count();
            assert_eq!(hex_runs, 0, "{body}");
        }

        #[test]
        fn the_receipt_is_threaded_under_the_email_and_marked_automatic() {
            let mime = receipt_of(&closed()).to_mime("Mail2SMS <mail2sms@example.org>", at(9, 21));
            let decoded = decoded(&mime);
            assert_eq!(decoded.in_reply_to.as_deref(), Some(ID));
            assert_eq!(decoded.references.as_deref(), Some(ID));
            assert_eq!(decoded.auto_submitted.as_deref(), Some("auto-replied"));
            assert_eq!(decoded.auto_response_suppression.as_deref(), Some("All"));
            assert_eq!(decoded.to.as_deref(), Some("boutique@example.com"));
            assert_eq!(decoded.content_type.as_deref(), Some("text/plain; charset=utf-8"));
            assert_eq!(
                decoded.subject.as_deref(),
                Some("Mail2SMS: accusé de réception, email du 25/11/2026 à 10:12:00")
            );
            assert_eq!(decoded.text, Some(crlf_lines(&receipt_of(&closed()).body)));
            let mut unthreaded = closed();
            unthreaded.mail_message_id = None;
            let message = receipt_of(&unthreaded).to_mime("mail2sms@example.org", at(9, 21));
            let message = MessageParser::new().parse(&message).expect("a message");
            assert!(message.header_raw("In-Reply-To").is_none() && message.header_raw("References").is_none());
        }

        #[test]
        fn a_message_id_cannot_inject_headers() {
            let mut record = closed();
            record.mail_message_id = Some(format!("{ID}>\r\nBcc: everyone@example.net\r\nX-Injected: yes"));
            let receipt = delivery_receipt("boutique@example.com\r\nBcc: everyone@example.net", &record, Paris);
            let mime = receipt.to_mime("mail2sms@example.org", at(9, 21));
            let message = MessageParser::new().parse(&mime).expect("a message");
            let names: Vec<&str> = message.headers().iter().map(|header| header.name.as_str()).collect();
            assert_eq!(names, field_names(true), "no Bcc, no X-Injected");
        }

        #[test]
        fn a_long_list_is_cut_failures_first_and_the_rest_counted() {
            let mut record = closed();
            record.recipients = (0..1_000)
                .map(|i| {
                    let number = format!("+336{i:08}");
                    match i {
                        997 => recipient(&number, Delivery::Failed, None),
                        998 | 999 => recipient(&number, Delivery::Sent, report(Delivery::Expired, None, true)),
                        _ => recipient(&number, Delivery::Sent, report(Delivery::Delivered, None, false)),
                    }
                })
                .collect();
            record.cost = 1_000;
            let body = receipt_of(&record).body;
            let listed: Vec<&str> = body.lines().filter(|line| line.starts_with("+336")).collect();
            assert_eq!(listed.len(), RECEIPT_LISTED);
            assert!(listed.contains(&"+33600000997 : échec, remboursé"), "the failures are listed");
            assert!(listed.contains(&"+33600000999 : expiré, remboursé"));
            assert_eq!(listed[0], "+33600000000 : délivré", "in the subject's order");
            assert_eq!(listed[RECEIPT_LISTED - 1], "+33600000999 : expiré, remboursé");
            assert!(body.contains("Bilan : 997 délivrés, 2 expirés, 1 échec\n"), "{body}");
            assert!(body.contains("\n… et 800 autres : 800 délivrés\n"), "{body}");
            assert!(body.lines().all(|line| line.chars().count() <= 80), "short lines");
            let mut exact = record.clone();
            exact.recipients.truncate(RECEIPT_LISTED);
            assert!(!receipt_of(&exact).body.contains("… et"), "200 are all listed");
        }

        #[test]
        fn the_times_are_the_account_s() {
            let receipt = delivery_receipt("a@example.com", &closed(), chrono_tz::America::New_York);
            assert!(
                receipt.body.contains("Email reçu le 25/11/2026 à 04:12:00 (America/New_York)"),
                "{}",
                receipt.body
            );
            assert!(receipt.subject.ends_with("25/11/2026 à 04:12:00"));
        }

        proptest! {
            #[test]
            fn no_message_id_or_reason_adds_a_header_or_a_line(id in any::<String>(), reason in any::<String>()) {
                let mut record = closed();
                record.mail_message_id = Some(id);
                record.recipients[1].report = report(Delivery::Failed, Some(&reason), true);
                let receipt = receipt_of(&record);
                prop_assert_eq!(receipt.body.lines().count(), receipt_of(&closed()).body.lines().count());
                let mime = receipt.to_mime("mail2sms@example.org", at(9, 21));
                let text = String::from_utf8_lossy(&mime);
                let (headers, _) = text.split_once("\r\n\r\n").expect("headers, then the body");
                let names: Vec<&str> = headers
                    .split("\r\n")
                    .filter(|line| !line.starts_with([' ', '\t']))
                    .map(|line| line.split(':').next().unwrap_or_default())
                    .collect();
                let threaded = names.contains(&"In-Reply-To");
                prop_assert_eq!(names, field_names(threaded), "{}", headers);
            }
        }
    }
}
