//! Numbers that must not be texted: each account's opt-out list (numbers its customer asked
//! never to text again), and the gateway's own list (numbers that answered STOP, or that a
//! provider refused or reported as opted out), which applies to every account.
//!
//! A number on either list is dropped from an email before the debit and recorded
//! [`opted_out`](super::message::Delivery::OptedOut): never sent, never charged. The lists hold
//! numbers in E.164, typed by the operator (or, for an account's list, by its customer in the
//! customer space) in any form a subject accepts ([`parse_number`]), one at a time or from a
//! CSV file ([`read_csv`]).

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::message::sortable_time;
use super::recipient::{DROPPED_INPUT_CHARS, DropReason, Recipient, parse_number, parse_recipients};

/// The owner of the gateway's list. A login never holds `#` (see
/// [`is_possible_login`](super::account::is_possible_login)), so no account's list can be it.
pub const GATEWAY_OWNER: &str = "#gateway";

/// Whose list a number is on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OptOutList {
    /// The account's own list, by login.
    Account(String),
    /// The gateway's list: every account's emails skip its numbers.
    Gateway,
}

impl OptOutList {
    /// The list an owner key names.
    pub fn of_owner(owner: &str) -> OptOutList {
        if owner == GATEWAY_OWNER { OptOutList::Gateway } else { OptOutList::Account(owner.to_owned()) }
    }

    /// The key its entries are stored under: the login, or [`GATEWAY_OWNER`].
    pub fn owner(&self) -> &str {
        match self {
            OptOutList::Account(login) => login,
            OptOutList::Gateway => GATEWAY_OWNER,
        }
    }

    /// The note an opted-out recipient's record keeps: which list stopped it.
    pub fn note(&self) -> &'static str {
        match self {
            OptOutList::Account(_) => "on the account's opt-out list",
            OptOutList::Gateway => "on the gateway's opt-out list",
        }
    }
}

impl fmt::Display for OptOutList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptOutList::Account(login) => write!(f, "{login}'s opt-out list"),
            OptOutList::Gateway => f.write_str("the gateway's opt-out list"),
        }
    }
}

/// How a number came to be on a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptOutSource {
    /// `mail2sms-admin optout add`.
    Operator,
    /// `mail2sms-admin optout import`.
    Import,
    /// The SMS provider refused a send because the number opted out, or reported it opted out.
    Provider,
    /// The account's customer, in the customer space (typed, or from a CSV file).
    Customer,
    /// The number itself, answering STOP by SMS (two-way SMS, see
    /// [`keyword`](super::answer::keyword)): on the account whose message it answered. Its START
    /// takes it off again; an entry of any other source stays.
    Recipient,
}

/// What taking a number off a list, only where one source put it, did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifting {
    /// It was on the list, put there by that source: it is off now.
    Lifted,
    /// It was not on the list.
    NotListed,
    /// It is on the list, put there by another source: it stays.
    Kept(OptOutSource),
}

/// One number on one list, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptOut {
    /// The login, or [`GATEWAY_OWNER`].
    pub owner: String,
    pub number: Recipient,
    pub source: OptOutSource,
    #[serde(with = "sortable_time")]
    pub added_at: DateTime<Utc>,
    /// For a provider's opt-out: which provider said so (`sns`, `sms-voice`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

impl OptOut {
    pub fn new(list: &OptOutList, number: Recipient, source: OptOutSource, added_at: DateTime<Utc>) -> OptOut {
        OptOut { owner: list.owner().to_owned(), number, source, added_at, provider: None }
    }

    /// A number a provider refused or reported as opted out, for the gateway's list.
    pub fn from_provider(number: Recipient, provider: &str, added_at: DateTime<Utc>) -> OptOut {
        OptOut {
            provider: Some(provider.to_owned()),
            ..OptOut::new(&OptOutList::Gateway, number, OptOutSource::Provider, added_at)
        }
    }

    pub fn list(&self) -> OptOutList {
        OptOutList::of_owner(&self.owner)
    }
}

/// A number the operator typed that is not one a subject accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotANumber {
    /// As typed, cut to [`DROPPED_INPUT_CHARS`] characters.
    pub input: String,
    pub reason: DropReason,
}

impl fmt::Display for NotANumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not a phone number to text: {}", self.input, explain(self.reason))
    }
}

/// The numbers the operator typed, each in any form a subject accepts (an argument may hold
/// several, separated by `;` or `,`), each once, in the order typed. The first that is not a
/// number refuses them all.
pub fn read_numbers(typed: &[String]) -> Result<Vec<Recipient>, NotANumber> {
    let mut numbers: Vec<Recipient> = Vec::new();
    for argument in typed {
        let read = parse_recipients(argument);
        if let Some(dropped) = read.dropped.into_iter().next() {
            return Err(NotANumber { input: dropped.input, reason: dropped.reason });
        }
        for number in read.valid {
            if !numbers.contains(&number) {
                numbers.push(number);
            }
        }
    }
    Ok(numbers)
}

/// Why a number is refused, in the operator's words.
pub fn explain(reason: DropReason) -> &'static str {
    match reason {
        DropReason::Malformed => "not written as a phone number",
        DropReason::Invalid => "no such number (wrong length, unknown country code or range)",
        DropReason::NotMobile => "a number that cannot receive SMS (landline, toll-free, premium rate…)",
    }
}

/// Why a line of an imported file was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineRejection {
    /// Its first column is empty.
    Empty,
    /// Its first column is not a number to text.
    NotANumber(DropReason),
    /// The same number as an earlier line (in any form).
    Repeated { first_line: usize },
}

impl fmt::Display for LineRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineRejection::Empty => f.write_str("no number in the first column"),
            LineRejection::NotANumber(reason) => f.write_str(explain(*reason)),
            LineRejection::Repeated { first_line } => write!(f, "the same number as line {first_line}"),
        }
    }
}

/// A line of an imported file that was not taken: its number (from 1), its first column as
/// written (cut to [`DROPPED_INPUT_CHARS`] characters), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedLine {
    pub line: usize,
    pub input: String,
    pub rejection: LineRejection,
}

/// An imported file, read: the numbers to list, in file order, each once; the lines refused;
/// whether the first line was taken as a header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportedFile {
    pub numbers: Vec<Recipient>,
    pub rejected: Vec<RejectedLine>,
    pub header: bool,
}

/// Reads a CSV file of numbers: one number per line, or numbers in the first column (columns
/// separated by `,`, `;` or a tab; a column may be in double quotes). Each number is read as a
/// subject's are ([`parse_number`]): `06 12 34 56 78`, `+33612345678`, `0033…`, `33…`.
///
/// - Blank lines are skipped; a UTF-8 byte order mark and Windows line ends are fine.
/// - The first line that is not blank is a header, and skipped, when its first column holds no
///   digit (`phone`, `"Numéro"`, `mobile;name`).
/// - Every other line gives a number or a [`RejectedLine`]: an empty first column, something
///   that is not a number to text, or a number seen on an earlier line.
pub fn read_csv(text: &str) -> ImportedFile {
    let mut file = ImportedFile::default();
    let mut seen: HashMap<Recipient, usize> = HashMap::new();
    let mut first = true;
    for (index, line) in text.trim_start_matches('\u{feff}').split('\n').enumerate() {
        let line_number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let column = first_column(line);
        if std::mem::take(&mut first) && !column.is_empty() && !column.bytes().any(|b| b.is_ascii_digit()) {
            file.header = true;
            continue;
        }
        let rejected = |rejection| RejectedLine { line: line_number, input: cut(column), rejection };
        if column.is_empty() {
            file.rejected.push(rejected(LineRejection::Empty));
            continue;
        }
        match parse_number(column) {
            Ok(number) => match seen.get(&number) {
                Some(&first_line) => file.rejected.push(rejected(LineRejection::Repeated { first_line })),
                None => {
                    seen.insert(number.clone(), line_number);
                    file.numbers.push(number);
                }
            },
            Err(reason) => file.rejected.push(rejected(LineRejection::NotANumber(reason))),
        }
    }
    file
}

/// A line's first column: up to the first `,`, `;` or tab, surrounding whitespace and double
/// quotes removed.
fn first_column(line: &str) -> &str {
    let column = line.split([',', ';', '\t']).next().unwrap_or_default().trim();
    column.strip_prefix('"').and_then(|quoted| quoted.strip_suffix('"')).unwrap_or(column).trim()
}

/// Input quoted back, cut to [`DROPPED_INPUT_CHARS`] characters (the last one then `…`).
fn cut(input: &str) -> String {
    let mut characters = input.chars();
    let mut kept: String = characters.by_ref().take(DROPPED_INPUT_CHARS).collect();
    if characters.next().is_some() {
        kept.pop();
        kept.push('…');
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn e164(numbers: &[Recipient]) -> Vec<&str> {
        numbers.iter().map(Recipient::e164).collect()
    }

    #[test]
    fn the_gateway_list_is_an_owner_no_login_can_be() {
        assert!(!crate::domain::account::is_possible_login(GATEWAY_OWNER));
        assert_eq!(OptOutList::of_owner(GATEWAY_OWNER), OptOutList::Gateway);
        assert_eq!(OptOutList::of_owner("boutique"), OptOutList::Account("boutique".into()));
        assert_eq!(OptOutList::Account("boutique".into()).owner(), "boutique");
        assert_eq!(OptOutList::Gateway.to_string(), "the gateway's opt-out list");
    }

    #[test]
    fn typed_numbers_are_read_in_any_subject_form_each_once() {
        let typed = ["06 12 34 56 78".to_owned(), "+33612345678;0033698765432".to_owned(), "33611223344".to_owned()];
        let numbers = read_numbers(&typed).unwrap();
        assert_eq!(e164(&numbers), ["+33612345678", "+33698765432", "+33611223344"]);
        let refused = read_numbers(&["0612345678".to_owned(), "01 23 45 67 89".to_owned()]).unwrap_err();
        assert_eq!(refused, NotANumber { input: "01 23 45 67 89".into(), reason: DropReason::NotMobile });
        assert!(refused.to_string().contains("cannot receive SMS"), "{refused}");
    }

    #[test]
    fn a_file_of_one_number_per_line_with_a_header_and_junk_is_read_line_by_line() {
        let file = read_csv(
            "\u{feff}numéro\r\n06 12 34 56 78\r\n\r\n+33698765432\r\nabc\r\n0123456789\r\n0612345678\r\n061234567\r\n",
        );
        assert!(file.header);
        assert_eq!(e164(&file.numbers), ["+33612345678", "+33698765432"]);
        let rejected: Vec<(usize, &str, LineRejection)> =
            file.rejected.iter().map(|r| (r.line, r.input.as_str(), r.rejection)).collect();
        assert_eq!(
            rejected,
            [
                (5, "abc", LineRejection::NotANumber(DropReason::Malformed)),
                (6, "0123456789", LineRejection::NotANumber(DropReason::NotMobile)),
                (7, "0612345678", LineRejection::Repeated { first_line: 2 }),
                (8, "061234567", LineRejection::NotANumber(DropReason::Invalid)),
            ]
        );
        assert_eq!(file.rejected[2].rejection.to_string(), "the same number as line 2");
    }

    #[test]
    fn numbers_are_read_from_the_first_column_of_any_separator_quoted_or_not() {
        let file = read_csv(
            "\"Mobile\";\"Nom\"\n\"06 12 34 56 78\";\"Dupont\"\n+32470123456,Peeters\n0698765432\tMartin\n;Vide\n",
        );
        assert!(file.header);
        assert_eq!(e164(&file.numbers), ["+33612345678", "+32470123456", "+33698765432"]);
        assert_eq!(file.rejected, [RejectedLine { line: 5, input: String::new(), rejection: LineRejection::Empty }]);
    }

    #[test]
    fn a_first_line_with_digits_is_a_number_not_a_header() {
        let file = read_csv("0612345678\n0698765432");
        assert!(!file.header);
        assert_eq!(file.numbers.len(), 2);
        let file = read_csv("phone1\n0612345678");
        assert!(!file.header, "a header with a digit is read as a line");
        assert_eq!(file.rejected[0].line, 1);
        assert_eq!(read_csv(""), ImportedFile::default());
    }

    #[test]
    fn a_long_line_is_quoted_back_cut() {
        let file = read_csv(&format!("0612345678\n{}", "x".repeat(10_000)));
        assert_eq!(file.rejected[0].input.chars().count(), DROPPED_INPUT_CHARS);
        assert!(file.rejected[0].input.ends_with('…'));
    }

    proptest! {
        #[test]
        fn every_line_that_is_not_blank_is_a_header_a_number_or_a_rejection(
            lines in proptest::collection::vec("[0-9a-z+ ;,\"\t]{0,16}|06[0-9]{8}", 0..40),
        ) {
            let file = read_csv(&lines.join("\n"));
            let filled = lines.iter().filter(|line| !line.trim().is_empty()).count();
            prop_assert_eq!(usize::from(file.header) + file.numbers.len() + file.rejected.len(), filled);
            prop_assert!(file.rejected.windows(2).all(|pair| pair[0].line < pair[1].line));
        }
    }
}
