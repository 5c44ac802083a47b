//! The email's subject: `login@apiKey|numbers|option=value|option=value` (manual 2.1), read
//! into who asks, to whom, from which sender and when — or the status saying why not.

use std::borrow::Cow;
use std::fmt;

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

use crate::domain::contact_list::{ListName, ListsError, MAX_LISTS_PER_ACCOUNT, split_lists};
use crate::domain::date::parse_date;
use crate::domain::recipient::{Recipients, parse_recipients};
use crate::domain::secret::redact;
use crate::domain::sender::SenderId;
use crate::domain::status::{Rejection, StatusCode};

/// An account's API key, as given in the subject. It is a secret: `Debug` redacts it, and it
/// has neither `Display` nor `Serialize`; accounts store only its [`sha256_hex`](Self::sha256_hex).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// The key itself, for the few places that must have it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The lowercase hexadecimal SHA-256 of the key's UTF-8 bytes: what accounts store.
    pub fn sha256_hex(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(…redacted…)")
    }
}

/// Who asks: the subject's `login@apiKey`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub login: String,
    pub api_key: ApiKey,
}

/// What the subject asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub credentials: Credentials,
    pub recipients: Recipients,
    /// The contact lists the numbers field names (`#clients`), each once, in the order named:
    /// their numbers are the account's to read (see [`split_lists`]).
    pub lists: Vec<ListName>,
    /// `from=`, when given and not empty.
    pub sender: Option<SenderId>,
    /// `date=`, when given and not empty: a local time, in the account's time zone.
    pub date: Option<NaiveDateTime>,
    /// `dryrun` (or `dryrun=1`): check everything, send nothing, debit nothing, answer with a
    /// preview (see [`DRY_RUN`]).
    pub dry_run: bool,
}

/// What a subject asks for without saying who asks: `numbers|option=value…`, the manual's
/// subject without its `login@apiKey` field. Only an account whose authenticated sender is its
/// credential (see [`AuthMode::Sender`](crate::domain::account::AuthMode::Sender)) may send one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsignedRequest {
    pub recipients: Recipients,
    /// The contact lists named, as in [`Request::lists`].
    pub lists: Vec<ListName>,
    /// `from=`, when given and not empty.
    pub sender: Option<SenderId>,
    /// `date=`, when given and not empty: a local time, in the account's time zone.
    pub date: Option<NaiveDateTime>,
    /// `dryrun` (or `dryrun=1`): a preview, nothing sent (see [`DRY_RUN`]).
    pub dry_run: bool,
}

impl From<Request> for UnsignedRequest {
    /// What the request asks for, its credentials set aside once checked.
    fn from(request: Request) -> UnsignedRequest {
        UnsignedRequest {
            recipients: request.recipients,
            lists: request.lists,
            sender: request.sender,
            date: request.date,
            dry_run: request.dry_run,
        }
    }
}

/// The longest piece of the subject a StatusText quotes back.
const QUOTE_LIMIT: usize = 40;

/// Reads a subject, checking in this order (the first rule broken is the one reported):
///
/// 1. A run of whitespace holding a line break (a folding leftover) counts as one space. Reply
///    and forward prefixes at the start (`RE:`, `Fwd: Re: `, `TR :`… see [`REPLY_PREFIXES`])
///    are removed, however many; nothing else is.
/// 2. An empty or blank subject is 105.
/// 3. Fields are separated by `|`, their surrounding whitespace ignored.
/// 4. The first field is `login@apiKey`, split at the last `@` (a login may be an email
///    address); no `@`, an empty login or an empty key is 102.
/// 5. Fields from the third on are options `name=value`: `from`, `date` or `dryrun` (also
///    written alone, see [`DRY_RUN`]), names in any case, each at most once, an empty value
///    meaning absent, empty fields ignored. A field without `=` (but `dryrun`), an unknown or
///    repeated option is 109, naming the field; an invalid `from=` or `dryrun=` is 109 and an
///    invalid `date=` 115. The first faulty option, in field order, is the one reported.
/// 6. The second field is the numbers; missing, empty, or without one valid number is 114.
///    It may name contact lists next to them (`0612345678;#clients`, see [`split_lists`]): a
///    list name that breaks the grammar is 109, naming it; a field naming a list needs no valid
///    number of its own (the list's are counted once read, with the account).
///
/// Nothing it returns holds 16 consecutive characters of the API key, wherever else in the
/// subject the customer typed it: the pieces of the subject a StatusText quotes and the
/// dropped numbers go through [`redact`].
///
/// The work is linear in the subject's length (see [`parse_recipients`]), and so is the memory.
pub fn parse_subject(subject: &str) -> Result<Request, Rejection> {
    read_subject(subject).request
}

/// A subject read once: the key as written (for redaction, even when the rest is wrong), who
/// asks, and what is asked, each with the status that tells what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// See [`written_api_key`].
    pub written_key: Option<ApiKey>,
    /// Rules 1 to 4 of [`parse_subject`]: 105 or 102 when the subject cannot say who asks.
    pub credentials: Result<Credentials, Rejection>,
    /// The whole of [`parse_subject`]; the credentials' refusal when they are wrong.
    pub request: Result<Request, Rejection>,
}

/// Reads a subject once; see [`parse_subject`] for the rules. The pipeline opens the account
/// with `credentials` before it judges `request`, so that a stranger learns nothing but 102.
pub fn read_subject(subject: &str) -> Subject {
    let unfolded = unfolded(subject);
    let subject = without_reply_prefixes(&unfolded);
    let (_, key) = login_and_key(subject);
    let written_key = (!key.is_empty()).then(|| ApiKey::new(key));
    let credentials = credentials_of(subject);
    let request = credentials.clone().and_then(|credentials| request_of(subject, credentials));
    Subject { written_key, credentials, request }
}

/// Rules 5 and 6 of [`parse_subject`], on an unfolded subject whose credentials were read.
fn request_of(subject: &str, credentials: Credentials) -> Result<Request, Rejection> {
    let fields = subject.split('|').map(str::trim).skip(1);
    let asked = asked_of(fields, credentials.api_key.expose())?;
    Ok(Request {
        credentials,
        recipients: asked.recipients,
        lists: asked.lists,
        sender: asked.sender,
        date: asked.date,
        dry_run: asked.dry_run,
    })
}

/// Rules 5 and 6 of [`parse_subject`] on the fields after the credentials: the numbers, then the
/// options. What is quoted or kept of them never shows the `key` (empty when there is none).
fn asked_of<'a>(mut fields: impl Iterator<Item = &'a str>, key: &str) -> Result<UnsignedRequest, Rejection> {
    let numbers = fields.next().unwrap_or_default();
    let options = parse_options(fields, key)?;
    if numbers.is_empty() {
        return Err(Rejection::new(StatusCode::NoValidRecipient));
    }
    let split = split_lists(numbers).map_err(|error| match error {
        ListsError::BadName(item) => invalid(format!("nom de liste « {} » invalide", quoted(&item, key))),
        ListsError::TooMany => invalid(format!("plus de {MAX_LISTS_PER_ACCOUNT} listes de contacts nommées")),
    })?;
    let mut recipients = parse_recipients(&split.numbers);
    // A list's numbers are read once the account is known, and counted then.
    if recipients.valid.is_empty() && split.lists.is_empty() {
        return Err(Rejection::new(StatusCode::NoValidRecipient));
    }
    for dropped in &mut recipients.dropped {
        if let Cow::Owned(redacted) = redact(&dropped.input, key) {
            dropped.input = redacted;
        }
    }
    Ok(UnsignedRequest {
        recipients,
        lists: split.lists,
        sender: options.sender,
        date: options.date,
        dry_run: options.dry_run,
    })
}

/// Reads a subject without `login@apiKey`: `numbers|option=value…`
/// (`0612345678;0698765432|from=SHOP`), by the rules of [`parse_subject`] but the fourth:
/// unfolded, reply and forward prefixes removed, blank is 105; the first field is the numbers
/// (rule 6), the fields after it the options (rule 5, checked first). A subject that has a
/// `login@apiKey` field is not one: its first field is read as numbers, and is none (114).
pub fn parse_unsigned_subject(subject: &str) -> Result<UnsignedRequest, Rejection> {
    let unfolded = unfolded(subject);
    let subject = without_reply_prefixes(&unfolded);
    if subject.trim().is_empty() {
        return Err(Rejection::new(StatusCode::EmptyRequest));
    }
    asked_of(subject.split('|').map(str::trim), "")
}

/// Reads only who asks: rules 1 to 4 of [`parse_subject`] (105, then 102), the rest of the
/// subject unread, so that an account can be opened before its request is judged.
pub fn parse_credentials(subject: &str) -> Result<Credentials, Rejection> {
    read_subject(subject).credentials
}

/// The API key as the customer wrote it in the subject, even when the subject is otherwise
/// wrong (no login, a broken option, no number): what [`parse_credentials`] would read after
/// the first field's last `@`. `None` when the first field has no `@` or nothing after it.
///
/// This is the secret that no reply, record or log may quote, even in part: give it to
/// [`redact`](crate::domain::secret::redact) with any text taken from the email.
pub fn written_api_key(subject: &str) -> Option<ApiKey> {
    read_subject(subject).written_key
}

/// The credentials of an unfolded subject.
fn credentials_of(subject: &str) -> Result<Credentials, Rejection> {
    if subject.trim().is_empty() {
        return Err(Rejection::new(StatusCode::EmptyRequest));
    }
    let (login, key) = login_and_key(subject);
    if login.is_empty() || key.is_empty() {
        return Err(Rejection::new(StatusCode::AuthenticationFailed));
    }
    Ok(Credentials { login: login.to_owned(), api_key: ApiKey::new(key) })
}

/// Where an unfolded subject puts the login and the key: its first field split at the last
/// `@`, each side trimmed; both empty when there is no `@`. The one place that knows it.
fn login_and_key(subject: &str) -> (&str, &str) {
    let field = subject.split('|').next().unwrap_or_default();
    field.rsplit_once('@').map(|(login, key)| (login.trim(), key.trim())).unwrap_or_default()
}

/// The subject with every run of whitespace holding a CR or LF replaced by one space.
fn unfolded(subject: &str) -> String {
    let mut unfolded = String::with_capacity(subject.len());
    let mut pending_space = String::new();
    let mut has_line_break = false;
    for character in subject.chars() {
        if character.is_whitespace() {
            pending_space.push(character);
            has_line_break |= matches!(character, '\r' | '\n');
            continue;
        }
        unfolded.push_str(if has_line_break { " " } else { &pending_space });
        pending_space.clear();
        has_line_break = false;
        unfolded.push(character);
    }
    unfolded.push_str(if has_line_break { " " } else { &pending_space });
    unfolded
}

/// The words mail clients put, with a colon, in front of the subject they answer or forward,
/// in French, English, German, Spanish, Italian and the Nordic languages: `RE`, `Fwd`, `Fw`,
/// `TR` (French Outlook's forward), `Réf.`, `AW` and `WG` (German), `RV` (Spanish forward),
/// `R` and `I` (Italian), `Rif.`, `SV` and `VS`. Lowercase, without accent nor final dot.
pub const REPLY_PREFIXES: &[&str] = &["re", "fwd", "fw", "tr", "ref", "aw", "wg", "rv", "r", "i", "rif", "sv", "vs"];

/// The longest prefix looked at before its colon, in characters (`Réf.`, `RE[12]`, spaces).
const MAX_PREFIX_CHARS: usize = 12;

/// The subject without its reply and forward prefixes: at its start, one of
/// [`REPLY_PREFIXES`] in any case (a final dot, a counter `[2]` and spaces before the colon
/// allowed), then a colon; again and again. The subject itself when it has none: a login
/// cannot hold a colon, so only a prefix is ever removed.
fn without_reply_prefixes(subject: &str) -> &str {
    let mut rest = subject;
    loop {
        let trimmed = rest.trim_start();
        let colon = trimmed.char_indices().take(MAX_PREFIX_CHARS + 1).find(|&(_, c)| c == ':');
        let Some((colon, _)) = colon else { return rest };
        if !is_reply_prefix(&trimmed[..colon]) {
            return rest;
        }
        rest = &trimmed[colon + 1..];
    }
}

/// Whether the text before a colon is a reply or forward prefix.
fn is_reply_prefix(word: &str) -> bool {
    let word = word.trim_end();
    let word = match word.strip_suffix(']').and_then(|counted| counted.split_once('[')) {
        Some((word, count)) if !count.is_empty() && count.bytes().all(|b| b.is_ascii_digit()) => word.trim_end(),
        _ => word,
    };
    let word = word.strip_suffix('.').unwrap_or(word).replace(['é', 'É'], "e").to_ascii_lowercase();
    REPLY_PREFIXES.contains(&word.as_str())
}

/// The options of a subject.
#[derive(Default)]
struct Options {
    sender: Option<SenderId>,
    date: Option<NaiveDateTime>,
    dry_run: bool,
}

/// The dry-run option's name: `dryrun`, or `dryrun=1` (in any case), asks for a preview of what
/// the request would do, nothing sent and nothing debited; `dryrun=0`, or an empty value, is
/// an ordinary request. Any other value is 109: a preview asked for in a way the gateway does
/// not read never becomes a real send. There is no other spelling (no French alias): an
/// unknown option is 109, so `simulation` sends nothing either.
pub const DRY_RUN: &str = "dryrun";

/// Reads the option fields, in order, stopping at the first faulty one. A field quoted in a
/// refusal is [`quoted`] without the `key`.
fn parse_options<'a>(fields: impl Iterator<Item = &'a str>, key: &str) -> Result<Options, Rejection> {
    let mut options = Options::default();
    let (mut from_seen, mut date_seen, mut dry_run_seen) = (false, false, false);
    for field in fields.filter(|field| !field.is_empty()) {
        let (typed_name, value) = match field.split_once('=') {
            Some(split) => split,
            // `dryrun` alone is `dryrun=1`.
            None if field.eq_ignore_ascii_case(DRY_RUN) => (field, "1"),
            None => return Err(invalid(format!("champ « {} » invalide, attendu nom=valeur", quoted(field, key)))),
        };
        let name = typed_name.trim().to_ascii_lowercase();
        let value = Some(value.trim()).filter(|value| !value.is_empty());
        match name.as_str() {
            "from" => {
                first_occurrence(&mut from_seen, &name)?;
                options.sender = value.map(SenderId::parse).transpose()?;
            }
            "date" => {
                first_occurrence(&mut date_seen, &name)?;
                options.date = value.map(parse_date).transpose()?;
            }
            DRY_RUN => {
                first_occurrence(&mut dry_run_seen, &name)?;
                options.dry_run = match value {
                    None | Some("0") => false,
                    Some("1") => true,
                    Some(other) => {
                        return Err(invalid(format!(
                            "option « {DRY_RUN} » : valeur « {} » invalide, attendu 1 ou 0",
                            quoted(other, key)
                        )));
                    }
                };
            }
            _ => return Err(invalid(format!("option inconnue « {} »", quoted(typed_name.trim(), key)))),
        }
    }
    Ok(options)
}

/// Marks an option as seen, refusing it if it already was.
fn first_occurrence(seen: &mut bool, name: &str) -> Result<(), Rejection> {
    if std::mem::replace(seen, true) { Err(invalid(format!("option « {name} » répétée"))) } else { Ok(()) }
}

fn invalid(detail: String) -> Rejection {
    Rejection::with_detail(StatusCode::InvalidRequest, detail)
}

/// A piece of the subject fit to quote in a StatusText: control characters removed, cut at
/// [`QUOTE_LIMIT`] characters, then every run of the API key in what is left masked (see
/// [`redact`]), a run cut short by the limit included.
fn quoted(piece: &str, key: &str) -> String {
    let mut characters = piece.chars().filter(|c| !c.is_control());
    let quote: String = characters.by_ref().take(QUOTE_LIMIT).collect();
    let mut quote = redact(&quote, key).into_owned();
    if characters.next().is_some() {
        quote.push('…');
    }
    quote
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::recipient::DropReason;
    use proptest::prelude::*;

    fn accepted(subject: &str) -> Request {
        parse_subject(subject).unwrap_or_else(|rejection| panic!("{subject:?}: {rejection}"))
    }

    fn status(subject: &str) -> StatusCode {
        parse_subject(subject).expect_err(subject).status
    }

    fn rejection(subject: &str) -> Rejection {
        parse_subject(subject).expect_err(subject)
    }

    fn numbers(request: &Request) -> Vec<&str> {
        request.recipients.valid.iter().map(|r| r.e164()).collect()
    }

    fn date(value: &str) -> Option<NaiveDateTime> {
        Some(parse_date(value).unwrap())
    }

    #[test]
    fn the_manuals_example() {
        let request = accepted("arthur45@de135f8d2a091e4|33612121515;33614141515|from=|date=");
        assert_eq!(request.credentials.login, "arthur45");
        assert_eq!(request.credentials.api_key.expose(), "de135f8d2a091e4");
        assert_eq!(numbers(&request), ["+33612121515", "+33614141515"]);
        assert_eq!(request.sender, None);
        assert_eq!(request.date, None);
    }

    #[test]
    fn the_guides_example() {
        let request = accepted("login@apiKey|0612345678;33698765432|from=MAGASIN|date=2026-12-01 09:30:00");
        assert_eq!(request.credentials.login, "login");
        assert_eq!(request.credentials.api_key.expose(), "apiKey");
        assert_eq!(numbers(&request), ["+33612345678", "+33698765432"]);
        assert_eq!(request.sender.as_ref().map(SenderId::as_str), Some("MAGASIN"));
        assert_eq!(request.date, date("2026-12-01 09:30:00"));
    }

    #[test]
    fn options_are_optional() {
        let request = accepted("a@k|0612345678");
        assert_eq!((request.sender, request.date), (None, None));
        assert_eq!(request.recipients.valid.len(), 1);
    }

    #[test]
    fn spaces_around_everything_are_ignored() {
        let request = accepted(
            "  shop @ KEY1  |  06 12 34 56 78 ; 0698765432  |  from = MAGASIN  |  date = 2026-12-01 09:30:00  ",
        );
        assert_eq!(request.credentials.login, "shop");
        assert_eq!(request.credentials.api_key.expose(), "KEY1");
        assert_eq!(numbers(&request), ["+33612345678", "+33698765432"]);
        assert_eq!(request.sender.unwrap().as_str(), "MAGASIN");
        assert_eq!(request.date, date("2026-12-01 09:30:00"));
    }

    #[test]
    fn option_names_are_in_any_case_in_any_order() {
        let request = accepted("a@k|0612345678|DATE=2026-12-01 09:30:00|From=Shop");
        assert_eq!(request.sender.unwrap().as_str(), "Shop");
        assert_eq!(request.date, date("2026-12-01 09:30:00"));
    }

    #[test]
    fn a_login_may_be_an_email_address() {
        let request = accepted("shop@example.com@KEY|0612345678");
        assert_eq!(request.credentials.login, "shop@example.com");
        assert_eq!(request.credentials.api_key.expose(), "KEY");
    }

    #[test]
    fn a_key_may_hold_equals_signs_and_semicolons() {
        let request = accepted("a@k=y;1|0612345678|from=SHOP");
        assert_eq!(request.credentials.api_key.expose(), "k=y;1");
        assert_eq!(numbers(&request), ["+33612345678"]);
    }

    #[test]
    fn folding_leftovers_are_one_space() {
        let request = accepted("a@k|0612345678;\r\n 0698765432|from=MA\r\n\tGASIN|date=2026-12-01\r\n 09:30:00");
        assert_eq!(numbers(&request), ["+33612345678", "+33698765432"]);
        assert_eq!(request.sender.unwrap().as_str(), "MA GASIN");
        assert_eq!(request.date, date("2026-12-01 09:30:00"));
        assert_eq!(accepted("a@k|0612345678|date=2026-12-01 \r\n  09:30:00").date, date("2026-12-01 09:30:00"));
        assert_eq!(accepted("a@k|0612345678|date=2026-12-01\n09:30:00").date, date("2026-12-01 09:30:00"));
    }

    #[test]
    fn reply_and_forward_prefixes_are_removed() {
        let plain = parse_subject("shop@KEY|0612345678|from=SHOP");
        for prefix in [
            "RE:",
            "Re:",
            "re:",
            "RE :",
            "Re\u{a0}:",
            "TR:",
            "TR :",
            "Tr:",
            "Fwd:",
            "FWD:",
            "Fw:",
            "FW:",
            "AW:",
            "WG:",
            "Réf. :",
            "RÉF.:",
            "Ref:",
            "RV:",
            "R:",
            "I:",
            "Rif.:",
            "SV:",
            "VS:",
            "Re[2]:",
            "RE [3] :",
        ] {
            assert_eq!(parse_subject(&format!("{prefix} shop@KEY|0612345678|from=SHOP")), plain, "{prefix}");
            assert_eq!(parse_subject(&format!("{prefix}shop@KEY|0612345678|from=SHOP")), plain, "{prefix} unspaced");
        }
    }

    #[test]
    fn stacked_prefixes_are_all_removed() {
        let plain = parse_subject("shop@KEY|0612345678");
        for subject in [
            "Fwd: Re: shop@KEY|0612345678",
            "RE: TR: RE : shop@KEY|0612345678",
            "  AW: WG: AW:shop@KEY|0612345678",
            "Re:\r\n Re: shop@KEY|0612345678",
        ] {
            assert_eq!(parse_subject(subject), plain, "{subject:?}");
        }
        let many = format!("{}shop@KEY|0612345678", "Re: ".repeat(10_000));
        assert_eq!(parse_subject(&many), plain);
    }

    #[test]
    fn only_a_prefix_and_its_colon_are_removed() {
        assert_eq!(accepted("re@KEY|0612345678").credentials.login, "re", "a login that is a prefix");
        assert_eq!(accepted("rebecca@KEY|0612345678").credentials.login, "rebecca");
        assert_eq!(accepted("fwd.shop@KEY|0612345678").credentials.login, "fwd.shop");
        assert_eq!(accepted("shop@Re:KEY|0612345678").credentials.api_key.expose(), "Re:KEY", "in the key");
        assert_eq!(accepted("Re: shop@KEY|0612345678|from=RE SHOP").sender.unwrap().as_str(), "RE SHOP");
        for kept in ["Réponse: shop", "Re - shop", "Re[x]: shop", "Re[]: shop", "Re..: shop", "Rex: shop", ": shop"] {
            assert_eq!(parse_credentials(&format!("{kept}@KEY|06")).unwrap().login, kept, "not a prefix");
        }
        assert_eq!(parse_credentials("Re: "), Err(Rejection::new(StatusCode::EmptyRequest)));
        assert_eq!(parse_credentials("Fwd: Re:"), Err(Rejection::new(StatusCode::EmptyRequest)));
    }

    #[test]
    fn the_key_behind_prefixes_is_still_found_and_masked() {
        assert_eq!(
            written_api_key(&format!("Fwd: Re: a@{KEY}|06|dat=x")).map(|key| key.expose().to_owned()),
            Some(KEY.into())
        );
        let text = refusal_text(&format!("RE: TR: a@{KEY}|0612345678|{KEY}=1"));
        assert!(text.ends_with("option inconnue « **** »"), "{text}");
        let request = accepted(&format!("Réf. : a@{KEY}|{KEY};0612345678"));
        assert_eq!(request.recipients.dropped[0].input, "****…");
    }

    #[test]
    fn whitespace_without_a_line_break_is_kept_as_is() {
        assert_eq!(accepted("a@k|0612345678|from=MA  GASIN").sender.unwrap().as_str(), "MA  GASIN");
        assert_eq!(status("a@k|0612345678|date=2026-12-01  09:30:00"), StatusCode::InvalidDate);
    }

    #[test]
    fn an_empty_subject_is_105() {
        for subject in ["", "   ", "\t", "\r\n ", " \n\r\n\t "] {
            assert_eq!(rejection(subject), Rejection::new(StatusCode::EmptyRequest), "{subject:?}");
        }
    }

    #[test]
    fn credentials_without_an_at_sign_or_a_side_are_102() {
        for subject in [
            "|0612345678",
            "login|0612345678",
            "loginKEY|0612345678|from=SHOP",
            "@KEY|0612345678",
            "login@|0612345678",
            " @ |0612345678",
            "@|0612345678",
            "|||",
            "0612345678",
            "login@\r\n |0612345678",
        ] {
            assert_eq!(rejection(subject), Rejection::new(StatusCode::AuthenticationFailed), "{subject:?}");
        }
    }

    #[test]
    fn credentials_alone_are_read_whatever_follows() {
        let credentials = parse_credentials("shop@example.com@KEY|garbage|dat=x|from=1").unwrap();
        assert_eq!(credentials.login, "shop@example.com");
        assert_eq!(credentials.api_key.expose(), "KEY");
        assert_eq!(parse_credentials(" a\r\n @ k ").unwrap().login, "a");
        assert_eq!(parse_credentials(" \r\n "), Err(Rejection::new(StatusCode::EmptyRequest)));
        assert_eq!(parse_credentials("login|0612345678"), Err(Rejection::new(StatusCode::AuthenticationFailed)));
        assert_eq!(parse_credentials("@k|0612345678"), Err(Rejection::new(StatusCode::AuthenticationFailed)));
    }

    #[test]
    fn credentials_are_checked_before_options_and_numbers() {
        assert_eq!(status("login|garbage|dat=x"), StatusCode::AuthenticationFailed);
    }

    #[test]
    fn an_unknown_option_is_109_naming_it() {
        let refused = rejection("a@k|0612345678|dat=2026-12-01 09:30:00");
        assert_eq!(refused.status, StatusCode::InvalidRequest);
        assert!(refused.status_text.contains("option inconnue « dat »"), "{}", refused.status_text);
        assert!(rejection("a@k|0612345678|sender=SHOP").status_text.contains("« sender »"));
        assert_eq!(status("a@k|0612345678|=SHOP"), StatusCode::InvalidRequest);
        assert_eq!(status("a@k|0612345678|fromm=SHOP"), StatusCode::InvalidRequest);
    }

    #[test]
    fn an_option_without_equals_sign_is_109_naming_it() {
        let refused = rejection("a@k|0612345678|MAGASIN");
        assert_eq!(refused.status, StatusCode::InvalidRequest);
        assert!(refused.status_text.contains("« MAGASIN »"), "{}", refused.status_text);
        assert_eq!(status("a@k|0612345678|from"), StatusCode::InvalidRequest);
        assert_eq!(status("a@k||0612345678"), StatusCode::InvalidRequest, "the numbers in third place");
    }

    #[test]
    fn a_repeated_option_is_109_even_when_empty() {
        for subject in [
            "a@k|0612345678|from=A1B|from=C2D",
            "a@k|0612345678|from=|FROM=",
            "a@k|0612345678|date=|date=2026-12-01 09:30:00",
        ] {
            let refused = rejection(subject);
            assert_eq!(refused.status, StatusCode::InvalidRequest, "{subject}");
            assert!(refused.status_text.contains("répétée"), "{subject}: {}", refused.status_text);
        }
    }

    #[test]
    fn empty_values_mean_absent() {
        let request = accepted("a@k|0612345678|from=  |date=\t");
        assert_eq!((request.sender, request.date), (None, None));
    }

    #[test]
    fn empty_fields_between_pipes_are_ignored() {
        let request = accepted("a@k|0612345678||from=SHOP| |");
        assert_eq!(request.sender.unwrap().as_str(), "SHOP");
    }

    #[test]
    fn the_sender_rule_applies_to_from() {
        for (value, accepted) in [
            ("AB", false),
            ("ABC", true),
            ("ABCDEFGHIJK", true),
            ("ABCDEFGHIJKL", false),
            ("1SHOP", false),
            ("MAGASÏN", false),
            ("SHOP_1", false),
            ("Shop 2", true),
        ] {
            let subject = format!("a@k|0612345678|from={value}");
            match parse_subject(&subject) {
                Ok(request) => assert!(accepted && request.sender.unwrap().as_str() == value, "{value}"),
                Err(refused) => {
                    assert!(!accepted, "{value}");
                    assert_eq!(refused, SenderId::parse(value).unwrap_err());
                }
            }
        }
    }

    #[test]
    fn an_invalid_date_is_115() {
        for value in ["2026-02-30 09:30:00", "2026-12-01", "demain", "2026-12-01 25:00:00"] {
            assert_eq!(status(&format!("a@k|0612345678|date={value}")), StatusCode::InvalidDate, "{value}");
        }
    }

    #[test]
    fn option_errors_come_in_field_order_before_numbers() {
        assert_eq!(status("a@k|garbage|from=1X|date=nope"), StatusCode::InvalidRequest);
        assert_eq!(status("a@k|garbage|date=nope|from=1X"), StatusCode::InvalidDate);
        assert_eq!(status("a@k||date=nope"), StatusCode::InvalidDate);
        assert_eq!(status("a@k|0612345678|dat=x|date=nope"), StatusCode::InvalidRequest);
    }

    #[test]
    fn missing_or_invalid_numbers_are_114() {
        for subject in
            ["a@k", "a@k|", "a@k| ", "a@k| ; ;", "a@k|garbage", "a@k|0123456789", "a@k|061234567|from=SHOP", "a@k||"]
        {
            assert_eq!(rejection(subject), Rejection::new(StatusCode::NoValidRecipient), "{subject:?}");
        }
    }

    #[test]
    fn dropped_numbers_travel_with_the_valid_ones() {
        let request = accepted("a@k|0612345678;0123456789;abc");
        assert_eq!(numbers(&request), ["+33612345678"]);
        let reasons: Vec<DropReason> = request.recipients.dropped.iter().map(|d| d.reason).collect();
        assert_eq!(reasons, [DropReason::NotMobile, DropReason::Malformed]);
    }

    #[test]
    fn a_thousand_numbers() {
        let list: Vec<String> = (0..1000).map(|i| format!("0612345{i:03}")).collect();
        let request = accepted(&format!("a@k|{}|from=SHOP", list.join(";")));
        assert_eq!(request.recipients.valid.len(), 1000);
    }

    #[test]
    fn status_texts_never_quote_the_credentials() {
        let subjects = [
            "secretlogin@SECRETKEY|0612345678|bogus",
            "secretlogin@SECRETKEY|0612345678|x=1",
            "secretlogin@SECRETKEY|0612345678|from=1|from=2",
        ];
        for subject in subjects {
            let refused = rejection(subject);
            assert!(
                !refused.status_text.contains("SECRET") && !refused.status_text.contains("secret"),
                "{}",
                refused.status_text
            );
        }
    }

    /// A key as `mail2sms-admin` makes them: 160 random bits in hexadecimal.
    const KEY: &str = "3f9c0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5de21f";

    /// Whether `text` holds 16 consecutive characters of `key`.
    fn shows(text: &str, key: &str) -> bool {
        let characters: Vec<char> = key.chars().collect();
        characters.windows(16).any(|run| text.contains(&run.iter().collect::<String>()))
    }

    fn refusal_text(subject: &str) -> String {
        let refused = rejection(subject);
        assert_eq!(refused.status, StatusCode::InvalidRequest, "{subject}: {refused}");
        refused.status_text
    }

    #[test]
    fn the_key_as_an_option_name_or_a_field_is_never_quoted() {
        let text = refusal_text(&format!("a@{KEY}|0612345678|{KEY}=1"));
        assert!(text.ends_with("option inconnue « **** »"), "{text}");
        let text = refusal_text(&format!("a@{KEY}|0612345678|{KEY}"));
        assert!(text.ends_with("champ « **** » invalide, attendu nom=valeur"), "{text}");
        let text = refusal_text(&format!("a@{KEY}|0612345678|from=SHOP| {KEY} = 1 "));
        assert!(text.ends_with("option inconnue « **** »"), "{text}");
    }

    #[test]
    fn a_key_split_across_fields_is_masked_piece_by_piece() {
        let text = refusal_text(&format!("a@{KEY}|0612345678|{}|{}=1", &KEY[..20], &KEY[20..]));
        assert!(text.contains("« **** »") && !shows(&text, KEY), "{text}");
        let text = refusal_text(&format!("a@{KEY}|0612345678|from=SHOP|{}=1|{}", &KEY[..25], &KEY[25..]));
        assert!(text.contains("« **** »") && !shows(&text, KEY), "{text}");
    }

    #[test]
    fn a_key_cut_by_the_quote_limit_is_masked() {
        let text = refusal_text(&format!("a@{KEY}|0612345678|abcdefghijklmnopqrstuvwx{KEY}=1"));
        assert!(text.ends_with("« abcdefghijklmnopqrstuvwx****… »"), "{text}");
        let text = refusal_text(&format!("a@{KEY}|0612345678|{KEY}{KEY}"));
        assert!(text.contains("« ****… »"), "{text}");
    }

    #[test]
    fn fifteen_characters_of_the_key_are_quoted_sixteen_are_not() {
        let text = refusal_text(&format!("a@{KEY}|0612345678|{}=1", &KEY[3..18]));
        assert!(text.ends_with(&format!("« {} »", &KEY[3..18])), "{text}");
        let text = refusal_text(&format!("a@{KEY}|0612345678|{}=1", &KEY[3..19]));
        assert!(text.ends_with("« **** »"), "{text}");
    }

    #[test]
    fn a_key_among_other_scripts_is_masked_and_they_are_kept() {
        let key = "clé-été-😀-ключ-0123456789";
        let text = refusal_text(&format!("shop@{key}|0612345678|«{key}»é=1"));
        assert!(text.ends_with("option inconnue « «****»é »"), "{text}");
        let text = refusal_text(&format!("shop@{key}|0612345678|日本{}語=1", &key[..key.len() - 1]));
        assert!(text.ends_with("« 日本****語 »"), "{text}");
    }

    #[test]
    fn a_key_in_the_number_list_is_not_kept_with_the_dropped_numbers() {
        let request = accepted(&format!("a@{KEY}|{KEY};0612345678;x{}y;{}", &KEY[..16], &KEY[..15]));
        let inputs: Vec<&str> = request.recipients.dropped.iter().map(|d| d.input.as_str()).collect();
        assert_eq!(inputs, ["****…", "x****y", &KEY[..15]]);
    }

    #[test]
    fn the_written_key_is_found_even_in_a_broken_subject() {
        let key = |subject: &str| written_api_key(subject).map(|key| key.expose().to_owned());
        assert_eq!(key("a@b.c@SECRET|06|dat=x").as_deref(), Some("SECRET"));
        assert_eq!(key("@SECRET|06").as_deref(), Some("SECRET"), "no login");
        assert_eq!(key(" a @ SECRET \r\n KEY |06").as_deref(), Some("SECRET KEY"), "folded");
        assert_eq!(key("a@SECRET").as_deref(), Some("SECRET"), "nothing else");
        assert_eq!(key("nokey|06"), None);
        assert_eq!(key("a@ |06"), None);
        assert_eq!(key(""), None);
        assert_eq!(key("06|a@SECRET"), None, "only the first field holds the key");
        assert!(!format!("{:?}", written_api_key("a@SECRET")).contains("SECRET"));
    }

    #[test]
    fn quoted_fields_are_cut_and_cleaned() {
        let refused = rejection(&format!("a@k|0612345678|{}\u{7}=1", "x".repeat(100)));
        assert!(refused.status_text.contains(&format!("« {}… »", "x".repeat(40))), "{}", refused.status_text);
        assert!(!rejection("a@k|0612345678|a\u{1b}b=1").status_text.contains('\u{1b}'));
    }

    #[test]
    fn the_api_key_is_hashed_and_never_printed() {
        let key = ApiKey::new("de135f8d2a091e4");
        assert_eq!(key.sha256_hex(), "461685a499e34779e9b6395c84dba2725b45a009cce1abea67996bec125b9d62");
        assert_eq!(ApiKey::new("").sha256_hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(format!("{key:?}"), "ApiKey(…redacted…)");
        let request = accepted("arthur45@de135f8d2a091e4|33612121515");
        assert!(!format!("{request:?}").contains("de135f8d2a091e4"));
        assert!(!format!("{request:#?}").contains("de135f8d2a091e4"));
    }

    // ----- subjects without credentials (authorised senders) -----

    fn unsigned(subject: &str) -> UnsignedRequest {
        parse_unsigned_subject(subject).unwrap_or_else(|rejection| panic!("{subject:?}: {rejection}"))
    }

    #[test]
    fn a_subject_without_credentials_is_the_numbers_then_the_options() {
        let request = unsigned("0612345678;0698765432|from=SHOP|date=2026-12-01 09:30:00");
        let numbers: Vec<&str> = request.recipients.valid.iter().map(|r| r.e164()).collect();
        assert_eq!(numbers, ["+33612345678", "+33698765432"]);
        assert_eq!(request.sender.as_ref().map(SenderId::as_str), Some("SHOP"));
        assert_eq!(request.date, date("2026-12-01 09:30:00"));
        let plain = unsigned(" RE: Fwd:  06 12 34 56 78 \r\n ; 0698765432 ");
        assert_eq!(plain.recipients.valid.len(), 2);
        assert_eq!((plain.sender, plain.date), (None, None));
    }

    #[test]
    fn a_subject_without_credentials_is_judged_by_the_manuals_rules() {
        for (subject, status) in [
            ("", StatusCode::EmptyRequest),
            (" \r\n ", StatusCode::EmptyRequest),
            ("RE: ", StatusCode::EmptyRequest),
            ("garbage", StatusCode::NoValidRecipient),
            ("|from=SHOP", StatusCode::NoValidRecipient),
            ("0123456789", StatusCode::NoValidRecipient),
            ("0612345678|dat=x", StatusCode::InvalidRequest),
            ("0612345678|from=1X", StatusCode::InvalidRequest),
            ("0612345678|MAGASIN", StatusCode::InvalidRequest),
            ("0612345678|date=demain", StatusCode::InvalidDate),
            ("garbage|date=demain", StatusCode::InvalidDate),
        ] {
            assert_eq!(parse_unsigned_subject(subject).map_err(|r| r.status), Err(status), "{subject:?}");
        }
    }

    #[test]
    fn a_signed_request_asks_what_its_unsigned_part_asks() {
        let signed = accepted("shop@KEY|0612345678;abc|from=SHOP");
        assert_eq!(UnsignedRequest::from(signed), unsigned("0612345678;abc|from=SHOP"));
    }

    // ----- dry run -----

    #[test]
    fn dryrun_alone_or_equal_to_1_asks_for_a_preview() {
        for subject in [
            "login@key|0612345678;33698765432|from=MAGASIN|dryrun",
            "login@key|0612345678;33698765432|from=MAGASIN|dryrun=1",
            "login@key|0612345678;33698765432|dryrun|from=MAGASIN",
            "login@key|0612345678;33698765432|from=MAGASIN| DRYRUN ",
            "login@key|0612345678;33698765432|from=MAGASIN|DryRun = 1",
        ] {
            let request = accepted(subject);
            assert!(request.dry_run, "{subject}");
            assert_eq!(numbers(&request), ["+33612345678", "+33698765432"], "{subject}");
            assert_eq!(request.sender.as_ref().map(SenderId::as_str), Some("MAGASIN"), "{subject}");
        }
    }

    #[test]
    fn without_dryrun_or_with_0_or_empty_it_is_a_real_send() {
        for subject in
            ["a@k|0612345678", "a@k|0612345678|dryrun=0", "a@k|0612345678|dryrun=", "a@k|0612345678|from=|dryrun= "]
        {
            assert!(!accepted(subject).dry_run, "{subject}");
        }
    }

    #[test]
    fn a_dryrun_value_the_gateway_does_not_read_is_109_never_a_send() {
        for value in ["oui", "true", "2", "yes", "1 1", "01"] {
            let refused = rejection(&format!("a@k|0612345678|dryrun={value}"));
            assert_eq!(refused.status, StatusCode::InvalidRequest, "{value}");
            assert!(
                refused
                    .status_text
                    .ends_with(&format!("option « dryrun » : valeur « {value} » invalide, attendu 1 ou 0")),
                "{}",
                refused.status_text
            );
        }
        let refused = rejection(&format!("a@{KEY}|0612345678|dryrun={KEY}"));
        assert!(
            refused.status_text.contains("« **** »") && !shows(&refused.status_text, KEY),
            "{}",
            refused.status_text
        );
    }

    #[test]
    fn dryrun_is_an_option_like_the_others() {
        let repeated = rejection("a@k|0612345678|dryrun|dryrun=1");
        assert!(repeated.status_text.contains("option « dryrun » répétée"), "{}", repeated.status_text);
        // No other spelling: the French word is an unknown option (109), as any other is.
        let french = rejection("a@k|0612345678|simulation");
        assert!(
            french.status_text.ends_with("champ « simulation » invalide, attendu nom=valeur"),
            "{}",
            french.status_text
        );
        assert_eq!(status("a@k|0612345678|simulation=1"), StatusCode::InvalidRequest);
        assert_eq!(status("a@k|0612345678|dry run"), StatusCode::InvalidRequest);
        // In field order with the other options, before the numbers.
        assert_eq!(status("a@k|garbage|dryrun=x|date=nope"), StatusCode::InvalidRequest);
        assert_eq!(status("a@k|garbage|dryrun|date=nope"), StatusCode::InvalidDate);
        assert_eq!(status("a@k|garbage|dryrun"), StatusCode::NoValidRecipient);
        assert_eq!(status("a@k|dryrun"), StatusCode::NoValidRecipient, "the second field is the numbers");
    }

    #[test]
    fn a_subject_without_credentials_may_ask_for_a_preview() {
        assert!(unsigned("0612345678|from=SHOP|dryrun").dry_run);
        assert!(!unsigned("0612345678|from=SHOP").dry_run);
        assert!(UnsignedRequest::from(accepted("a@k|0612345678|dryrun=1")).dry_run);
    }

    proptest! {
        #[test]
        fn parsing_never_panics(subject in any::<String>()) {
            let _ = parse_subject(&subject);
        }

        #[test]
        fn an_unsigned_subject_reads_as_the_manuals_after_its_credentials(rest in "[0-9a-z ;|=:-]{0,40}") {
            let signed = parse_subject(&format!("a@KEY|{rest}")).map(UnsignedRequest::from);
            let unsigned = parse_unsigned_subject(&rest);
            if rest.trim().is_empty() {
                prop_assert_eq!(unsigned.map_err(|r| r.status), Err(StatusCode::EmptyRequest));
            } else if without_reply_prefixes(&rest) == rest {
                prop_assert_eq!(unsigned, signed);
            }
        }

        #[test]
        fn reading_any_unsigned_subject_never_panics(subject in any::<String>()) {
            let _ = parse_unsigned_subject(&subject);
        }

        #[test]
        fn credentials_agree_with_the_whole_subject(subject in "[a-z@| \r\n]{0,12}@?[a-z]{0,3}\\|[0-9|=]{0,12}") {
            match (parse_credentials(&subject), parse_subject(&subject)) {
                (Ok(credentials), Ok(request)) => prop_assert_eq!(credentials, request.credentials),
                (Ok(_), Err(later)) => prop_assert!(
                    ![StatusCode::EmptyRequest, StatusCode::AuthenticationFailed].contains(&later.status)
                ),
                (Err(alone), whole) => prop_assert_eq!(Err(alone), whole.map(|request| request.credentials)),
            }
        }

        #[test]
        fn parsing_subject_shaped_strings_never_panics(subject in "[a-z@|;=0-9 +\r\n]{0,60}(from|date|FROM)?=?[A-Za-z0-9 :-]{0,20}") {
            let _ = parse_subject(&subject);
        }

        #[test]
        fn debug_never_shows_the_key(login in "[a-z0-9.]{1,12}", key in "[A-Za-z0-9]{16,32}") {
            let request = accepted(&format!("{login}@{key}|0612345678|from=SHOP|date=2026-12-01 09:30:00"));
            prop_assert_eq!(request.credentials.api_key.expose(), key.as_str());
            let printed = format!("{request:?}");
            let printed_result = format!("{:?}", parse_subject(&format!("{login}@{key}|0612345678")));
            prop_assert!(!printed.contains(&key));
            prop_assert!(!printed_result.contains(&key));
        }

        #[test]
        fn the_written_key_is_the_key_the_credentials_read(subject in "[a-z@| \r\n]{0,12}@?[a-z]{0,3}\\|[0-9|=]{0,12}") {
            if let Ok(credentials) = parse_credentials(&subject) {
                prop_assert_eq!(written_api_key(&subject), Some(credentials.api_key));
            }
        }

        #[test]
        fn nothing_read_from_a_subject_shows_the_key(
            key in "[0-9a-f]{16,40}",
            places in proptest::collection::vec((0usize..3, 0usize..40, 0usize..40, "[a-z=;|é ]{0,4}"), 1..6),
        ) {
            // The key, then pieces of it here and there: options, numbers, split by `|` or `=`.
            let mut rest = String::from("0612345678");
            for (place, from, len, glue) in &places {
                let from = (*from).min(key.len());
                let piece = &key[from..(from + len).min(key.len())];
                match place {
                    0 => rest.push_str(&format!(";{piece}{glue}")),
                    1 => rest.push_str(&format!("|{glue}{piece}")),
                    _ => rest.push_str(&format!("{glue}{piece}")),
                }
            }
            let subject = format!("shop@{key}|{rest}");
            match parse_subject(&subject) {
                Ok(request) => {
                    for dropped in &request.recipients.dropped {
                        prop_assert!(!shows(&dropped.input, &key), "{:?}", dropped.input);
                    }
                }
                Err(refused) => prop_assert!(!shows(&refused.status_text, &key), "{}", refused.status_text),
            }
        }

        #[test]
        fn dryrun_changes_nothing_else_the_subject_asks(rest in "[0-9a-z ;|=:-]{0,40}", case in 0usize..3) {
            let option = ["dryrun", "DRYRUN=1", " DryRun = 1 "][case];
            let plain = parse_subject(&format!("a@KEY|{rest}"));
            let dry = parse_subject(&format!("a@KEY|{rest}|{option}"));
            match (plain, dry) {
                (Ok(plain), Ok(dry)) => {
                    prop_assert!(dry.dry_run);
                    prop_assert_eq!(Request { dry_run: plain.dry_run, ..dry }, plain);
                }
                // Only when the rest asked for one already: repeated.
                (Ok(_), Err(refused)) => {
                    prop_assert!(rest.contains("dryrun") && refused.status_text.contains("répétée"), "{rest:?}: {refused}");
                }
                // The options come first, then the numbers: the same refusal either way.
                (Err(plain), dry) => prop_assert_eq!(Err(plain.status), dry.map(|_| ()).map_err(|r| r.status)),
            }
        }

        #[test]
        // Any printable value but `|`, which ends the field.
        fn only_a_value_of_1_previews_and_only_0_or_nothing_sends(value in "[ -{}~é]{0,6}") {
            match parse_subject(&format!("a@k|0612345678|dryrun={value}")) {
                Ok(request) => {
                    prop_assert!(["", "0", "1"].contains(&value.trim()), "{value:?} was read");
                    prop_assert_eq!(request.dry_run, value.trim() == "1");
                }
                Err(refused) => prop_assert_eq!(refused.status, StatusCode::InvalidRequest),
            }
        }

        #[test]
        fn folding_anywhere_between_words_changes_nothing(fold in "[ \t]*(\r\n|\n|\r)[ \t]+") {
            let plain = parse_subject("a@k|0612345678|from=MA GASIN|date=2026-12-01 09:30:00");
            let folded = parse_subject(&format!("a@k|0612345678|from=MA{fold}GASIN|date=2026-12-01{fold}09:30:00"));
            prop_assert_eq!(folded, plain);
        }
    }
}
