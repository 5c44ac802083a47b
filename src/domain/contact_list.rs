//! Contact lists: numbers an account keeps under a name, so that a subject may name the list
//! (`0612345678;#clients`) instead of typing thousands of numbers.
//!
//! The operator imports a list from a CSV file (`mail2sms-admin list import`): its numbers are
//! read exactly as a subject's are ([`read_csv`](super::optout::read_csv), which uses the
//! subject's number parser), so a list holds only numbers a subject would accept, each once.
//! An email that names a list is sent to the list's numbers as if they were typed in its
//! subject: deduplicated with the others, opt-out lists applied, each number charged.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};

use super::message::MAX_RECIPIENTS;
use super::status::{Rejection, StatusCode};

/// What marks a list in a subject's recipient field: `#clients`. No number holds it.
pub const LIST_MARK: char = '#';

/// The longest list name, in characters.
pub const MAX_NAME_CHARS: usize = 32;

/// The most numbers a list holds: as many as one email may have recipients, since a list is
/// only ever used in an email.
pub const MAX_LIST_NUMBERS: usize = MAX_RECIPIENTS;

/// The most lists an account keeps. It also bounds how many lists one subject may name (an
/// account cannot have more), hence the reads one email costs.
pub const MAX_LISTS_PER_ACCOUNT: usize = 100;

/// A list's name: 1 to [`MAX_NAME_CHARS`] characters among `a`–`z`, `0`–`9`, `_` and `-`,
/// typed in any case and kept in lowercase (`#Clients` and `#clients` are one list). It never
/// holds [`LIST_MARK`], which storage uses as a separator.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListName(String);

impl ListName {
    /// The name typed (surrounding whitespace ignored), in lowercase; `None` when it breaks the
    /// grammar.
    pub fn parse(typed: &str) -> Option<ListName> {
        let typed = typed.trim();
        let fits = (1..=MAX_NAME_CHARS).contains(&typed.len())
            && typed.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
        fits.then(|| ListName(typed.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ListName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A name typed for a list that breaks the grammar of [`ListName`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadListName(pub String);

impl fmt::Display for BadListName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not a list name: 1 to {MAX_NAME_CHARS} letters a-z, digits, '_' or '-' (any case)", self.0)
    }
}

/// The list name the operator typed, with or without its [`LIST_MARK`].
pub fn typed_name(typed: &str) -> Result<ListName, BadListName> {
    let trimmed = typed.trim();
    ListName::parse(trimmed.strip_prefix(LIST_MARK).unwrap_or(trimmed)).ok_or_else(|| BadListName(typed.to_owned()))
}

/// What is wrong with the lists a recipient field names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListsError {
    /// An item marked as a list whose name breaks the grammar, as typed.
    BadName(String),
    /// More distinct lists than an account can have.
    TooMany,
}

/// A subject's recipient field with its list references taken out: the items that are not
/// lists (`;`-separated, for [`parse_recipients`](super::recipient::parse_recipients)) and the
/// lists named, each once, in the order first named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitField<'a> {
    pub numbers: Cow<'a, str>,
    pub lists: Vec<ListName>,
}

/// Takes the list references out of a recipient field: each item (between `;` or `,`) that
/// starts with [`LIST_MARK`], surrounding whitespace ignored, names a list. A field without the
/// mark is given back as it is, without a copy. Linear in the field's length: at most
/// [`MAX_LISTS_PER_ACCOUNT`] distinct names are kept, a name typed again is not kept again.
pub fn split_lists(field: &str) -> Result<SplitField<'_>, ListsError> {
    if !field.contains(LIST_MARK) {
        return Ok(SplitField { numbers: Cow::Borrowed(field), lists: Vec::new() });
    }
    let mut numbers = String::with_capacity(field.len());
    let mut lists: Vec<ListName> = Vec::new();
    for item in field.split([';', ',']) {
        let Some(name) = item.trim().strip_prefix(LIST_MARK) else {
            numbers.push_str(item);
            numbers.push(';');
            continue;
        };
        let name = ListName::parse(name).ok_or_else(|| ListsError::BadName(item.trim().to_owned()))?;
        if !lists.contains(&name) {
            if lists.len() == MAX_LISTS_PER_ACCOUNT {
                return Err(ListsError::TooMany);
            }
            lists.push(name);
        }
    }
    Ok(SplitField { numbers: Cow::Owned(numbers), lists })
}

/// The refusal of an email naming a list its account does not have: 109, the subject names
/// something that does not exist (as an unknown option is), with the list's name.
pub fn unknown_list(name: &ListName) -> Rejection {
    Rejection::with_detail(StatusCode::InvalidRequest, format!("liste de contacts « {LIST_MARK}{name} » inconnue"))
}

/// A list as `list show` tells it without its numbers: its name, how many numbers it holds
/// and when it was imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListSummary {
    pub name: ListName,
    pub count: usize,
    pub imported_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn name(typed: &str) -> Option<String> {
        ListName::parse(typed).map(|name| name.0)
    }

    #[test]
    fn a_name_is_one_to_32_letters_digits_underscores_or_dashes_kept_in_lowercase() {
        assert_eq!(name("clients"), Some("clients".into()));
        assert_eq!(name(" Clients_2026-VIP "), Some("clients_2026-vip".into()));
        assert_eq!(name("a"), Some("a".into()));
        assert_eq!(name(&"x".repeat(32)), Some("x".repeat(32)));
        for wrong in ["", " ", &"x".repeat(33), "my clients", "clients#1", "clïents", "a.b", "a/b", "#clients"] {
            assert_eq!(name(wrong), None, "{wrong:?}");
        }
    }

    #[test]
    fn the_operator_may_type_the_mark_or_not() {
        assert_eq!(typed_name("#Clients").unwrap().as_str(), "clients");
        assert_eq!(typed_name("clients").unwrap().as_str(), "clients");
        let refused = typed_name("mes clients").unwrap_err();
        assert!(refused.to_string().contains("not a list name"), "{refused}");
        assert!(typed_name("##clients").is_err());
    }

    #[test]
    fn a_field_without_a_mark_is_given_back_untouched() {
        let split = split_lists("0612345678;0698765432").unwrap();
        assert!(matches!(split.numbers, Cow::Borrowed("0612345678;0698765432")));
        assert!(split.lists.is_empty());
    }

    #[test]
    fn lists_are_taken_out_of_the_field_each_once_in_order() {
        let split = split_lists("0612345678; #clients ,33698765432;#VIP;#Clients;;").unwrap();
        assert_eq!(split.lists.iter().map(ListName::as_str).collect::<Vec<_>>(), ["clients", "vip"]);
        let numbers: Vec<&str> = split.numbers.split(';').map(str::trim).filter(|i| !i.is_empty()).collect();
        assert_eq!(numbers, ["0612345678", "33698765432"]);
        assert_eq!(split_lists("#clients").unwrap().numbers, "");
    }

    #[test]
    fn a_bad_name_is_refused_as_typed() {
        assert_eq!(split_lists("0612345678;# ;x").unwrap_err(), ListsError::BadName("#".into()));
        assert_eq!(split_lists("#mes clients").unwrap_err(), ListsError::BadName("#mes clients".into()));
        // A mark inside an item is no list: a malformed number, dropped as ever.
        assert!(split_lists("06#12").unwrap().lists.is_empty());
    }

    #[test]
    fn more_lists_than_an_account_can_have_is_refused() {
        let field: Vec<String> = (0..=MAX_LISTS_PER_ACCOUNT).map(|i| format!("#l{i}")).collect();
        assert_eq!(split_lists(&field.join(";")).unwrap_err(), ListsError::TooMany);
        let repeated = vec!["#same"; 10 * MAX_LISTS_PER_ACCOUNT].join(";");
        assert_eq!(split_lists(&repeated).unwrap().lists.len(), 1);
    }

    #[test]
    fn an_unknown_list_is_109_naming_it() {
        let rejection = unknown_list(&ListName::parse("clients").unwrap());
        assert_eq!(rejection.status, StatusCode::InvalidRequest);
        assert!(rejection.status_text.ends_with("liste de contacts « #clients » inconnue"), "{rejection}");
    }

    // ----- in a subject -----

    use crate::domain::request::{parse_subject, parse_unsigned_subject};

    fn lists_of(subject: &str) -> Vec<String> {
        let request = parse_subject(subject).unwrap_or_else(|rejection| panic!("{subject:?}: {rejection}"));
        request.lists.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn a_subject_names_lists_next_to_numbers() {
        let request = parse_subject("shop@KEY|0612345678;#Clients;33698765432|from=SHOP").unwrap();
        let numbers: Vec<&str> = request.recipients.valid.iter().map(|r| r.e164()).collect();
        assert_eq!(numbers, ["+33612345678", "+33698765432"]);
        assert_eq!(request.lists, [ListName::parse("clients").unwrap()]);
        assert_eq!(request.recipients.dropped_count, 0, "a list is no dropped number");
        assert_eq!(lists_of("shop@KEY|#vip,#clients ; #VIP"), ["vip", "clients"]);
        assert!(lists_of("shop@KEY|0612345678").is_empty());
    }

    #[test]
    fn a_field_naming_a_list_needs_no_number_of_its_own() {
        assert_eq!(lists_of("shop@KEY|#clients"), ["clients"]);
        let request = parse_subject("shop@KEY|abc;#clients").unwrap();
        assert_eq!((request.recipients.valid.len(), request.recipients.dropped_count), (0, 1));
        let unsigned = parse_unsigned_subject("#clients|from=SHOP").unwrap();
        assert_eq!(unsigned.lists, [ListName::parse("clients").unwrap()]);
        assert_eq!(parse_subject("shop@KEY|abc").unwrap_err().status, StatusCode::NoValidRecipient);
    }

    #[test]
    fn a_bad_list_name_is_109_quoted_without_the_key() {
        let key = "0123456789abcdef0123";
        let refused = parse_subject("shop@KEY|0612345678;#mes clients").unwrap_err();
        assert_eq!(refused.status, StatusCode::InvalidRequest);
        assert!(refused.status_text.ends_with("nom de liste « #mes clients » invalide"), "{refused}");
        let refused = parse_subject(&format!("shop@{key}|#{key}!")).unwrap_err();
        assert_eq!(refused.status, StatusCode::InvalidRequest);
        assert!(!refused.status_text.contains(key), "{refused}");
        // The options are read first, as ever.
        assert_eq!(parse_subject("shop@KEY|#mes clients|dat=x").unwrap_err().status, StatusCode::InvalidRequest);
        assert!(parse_subject("shop@KEY|#mes clients|dat=x").unwrap_err().status_text.contains("dat"));
    }

    proptest! {
        #[test]
        fn parsing_is_total_and_a_name_is_what_the_grammar_says(typed in "\\PC{0,40}") {
            let expected = {
                let t = typed.trim();
                (1..=MAX_NAME_CHARS).contains(&t.len())
                    && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            };
            let parsed = ListName::parse(&typed);
            prop_assert_eq!(parsed.is_some(), expected);
            if let Some(parsed) = parsed {
                prop_assert_eq!(parsed.as_str(), typed.trim().to_ascii_lowercase());
                prop_assert!(!parsed.as_str().contains(LIST_MARK));
                prop_assert_eq!(ListName::parse(&parsed.as_str().to_ascii_uppercase()), Some(parsed.clone()));
            }
        }

        #[test]
        fn every_item_is_a_list_or_goes_on_as_a_number(
            items in proptest::collection::vec("#?[a-zA-Z0-9_ -]{0,6}|0[67][0-9]{8}", 0..30),
        ) {
            let field = items.join(";");
            match split_lists(&field) {
                Ok(split) => {
                    let listed = items.iter().filter(|i| i.trim().starts_with(LIST_MARK)).count();
                    let kept = split.numbers.split(';').filter(|i| !i.trim().starts_with(LIST_MARK)).count();
                    prop_assert!(split.lists.len() <= listed);
                    prop_assert!(!split.numbers.contains(LIST_MARK));
                    if listed == 0 {
                        prop_assert_eq!(split.numbers.as_ref(), field.as_str());
                    } else {
                        prop_assert_eq!(kept - 1, items.len() - listed, "the numbers' items, then an empty one");
                    }
                }
                Err(ListsError::BadName(item)) => prop_assert!(item.starts_with(LIST_MARK)),
                Err(ListsError::TooMany) => prop_assert!(false, "at most 30 names"),
            }
        }
    }
}
