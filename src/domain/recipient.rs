//! The phone numbers a message goes to: the list typed in the subject, read into valid
//! recipients in E.164 and the numbers dropped with the reason why.
//!
//! Validity is libphonenumber's (the `phonenumber` crate and its metadata), never hand-rolled.

use std::collections::HashSet;
use std::fmt;

use phonenumber::metadata::DATABASE;
use phonenumber::{Mode, PhoneNumber, Type};
use serde::{Deserialize, Serialize};

/// A number SMS are sent to, in E.164 (`+` then country code and national number): checked
/// by libphonenumber when read from a subject ([`parse_recipients`]), by its shape when read
/// back from storage ([`Recipient::parse_e164`], serde).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Recipient(String);

/// The country code of France (metropolitan), which the French national form (`06…`) stands for.
const FRANCE: &str = "33";

/// The country codes of France and of its overseas departments and collectivities, without
/// the `+`: metropolitan France (33); Réunion and Mayotte (262); Saint-Pierre-et-Miquelon
/// (508); Guadeloupe, Saint-Barthélemy and Saint-Martin (590); French Guiana (594); Martinique
/// (596); Wallis-et-Futuna (681); New Caledonia (687); French Polynesia (689). The one list the
/// French rules read (the STOP rule of `from=`, the marketing hours): see [`Recipient::is_french`].
///
/// Not 269: Mayotte's numbers moved from +269 to +262 in 2007 and +269 is now the Comoros
/// alone (libphonenumber lists only `KM` under it); counting it would hold, and strip the
/// sender of, messages to another country.
pub const FRENCH_COUNTRY_CODES: [&str; 9] = ["33", "262", "508", "590", "594", "596", "681", "687", "689"];

/// E.164 numbers have at most 15 digits.
const E164_MAX_DIGITS: usize = 15;

impl Recipient {
    /// Reads back a recipient stored in E.164: `+` then 1 to 15 digits, the first not `0`.
    ///
    /// Only the E.164 shape is checked, not libphonenumber's metadata: a number accepted when
    /// it was stored still reads back after a metadata update reclassifies its range. Numbers
    /// typed by customers go through [`parse_recipients`].
    pub fn parse_e164(value: &str) -> Option<Recipient> {
        value.strip_prefix('+').filter(|digits| is_e164_digits(digits)).map(|_| Recipient(value.to_owned()))
    }

    pub fn e164(&self) -> &str {
        &self.0
    }

    /// Whether the number is French for the French rules (the STOP rule of `from=`, the
    /// marketing hours): its country code is one of [`FRENCH_COUNTRY_CODES`], metropolitan
    /// France or overseas. Country codes are prefix-free, so an E.164 number starting with `+`
    /// and one of them has exactly that country code.
    ///
    /// The manual (2.1) says "vers la France" for the STOP rule: the overseas departments and
    /// regions (DROM) are France. The collectivities (COM) and New Caledonia count too, though
    /// their telecommunications law is partly their own: the cautious reading, since requiring
    /// the mention or holding a commercial message costs little and sending one wrongly costs
    /// more.
    pub fn is_french(&self) -> bool {
        let Some(digits) = self.0.strip_prefix('+') else { return false };
        FRENCH_COUNTRY_CODES.iter().any(|code| digits.starts_with(code))
    }

    /// The number as an integer: its E.164 digits, at most 15, so it fits in a `u64`, and no
    /// two numbers share one (the first digit is never `0`).
    fn value(&self) -> u64 {
        self.0.bytes().skip(1).fold(0, |value, digit| value * 10 + u64::from(digit - b'0'))
    }

    /// The number as logs may show it; see [`mask_number`].
    pub fn masked(&self) -> String {
        mask_number(&self.0)
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Recipient> for String {
    fn from(recipient: Recipient) -> String {
        recipient.0
    }
}

impl TryFrom<String> for Recipient {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Recipient::parse_e164(&value).ok_or_else(|| format!("not an E.164 number: {}", mask_number(&value)))
    }
}

/// Masks a number-like string for logs: the last two digits stay, every other digit becomes
/// `*`; `+` and the separators `( ) . -` and space stay; any other character becomes `*`, so
/// neither digits nor letters nor control characters of the input reach the log.
///
/// `"+33612345678"` gives `"+*********78"`; one character comes out for each character in.
pub fn mask_number(raw: &str) -> String {
    let digits = raw.chars().filter(char::is_ascii_digit).count();
    let mut digits_seen = 0;
    raw.chars()
        .map(|character| {
            if character.is_ascii_digit() {
                digits_seen += 1;
                if digits_seen + 2 > digits { character } else { '*' }
            } else if matches!(character, '+' | '(' | ')' | '.' | '-' | ' ') {
                character
            } else {
                '*'
            }
        })
        .collect()
}

/// `text` with every run of 6 digits or more masked as [`mask_number`] does: for messages that
/// come from elsewhere (a provider's error) and may quote a phone number.
pub fn mask_numbers_in(text: &str) -> String {
    let mut masked = String::with_capacity(text.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, masked: &mut String| {
        masked.push_str(&if digits.len() >= 6 { mask_number(digits) } else { digits.clone() });
        digits.clear();
    };
    for character in text.chars() {
        if character.is_ascii_digit() {
            digits.push(character);
        } else {
            flush(&mut digits, &mut masked);
            masked.push(character);
        }
    }
    flush(&mut digits, &mut masked);
    masked
}

/// A number of the list that will not be sent to. It is personal data: log it through
/// [`mask_number`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DroppedNumber {
    /// As it was typed, surrounding whitespace removed, cut to [`DROPPED_INPUT_CHARS`]
    /// characters (the last one then `…`): the customer can recognise it, and a junk item of
    /// 100 KB costs no more than a number.
    pub input: String,
    pub reason: DropReason,
}

/// The most dropped numbers listed on a message; the others are only counted. A subject may
/// hold 50,000 junk items, and the message record must stay far below DynamoDB's 400 KB.
pub const DROPPED_LISTED: usize = 20;

/// The most characters of a dropped number's text that are kept.
pub const DROPPED_INPUT_CHARS: usize = 32;

impl DroppedNumber {
    /// An item refused for `reason`, its text cut to [`DROPPED_INPUT_CHARS`].
    pub fn new(item: &str, reason: DropReason) -> DroppedNumber {
        let mut characters = item.chars();
        let mut input: String = characters.by_ref().take(DROPPED_INPUT_CHARS).collect();
        if characters.next().is_some() {
            input.pop();
            input.push('…');
        }
        DroppedNumber { input, reason }
    }
}

/// Why a number is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Not written as a phone number: characters other than digits and separators, a `+`
    /// elsewhere than first, no digit at all.
    Malformed,
    /// Written as a number, but no such number exists (wrong length, unknown country code,
    /// unallocated range).
    Invalid,
    /// A real number of a kind that cannot receive SMS: landline, toll-free, premium rate,
    /// shared cost, voicemail access, company number (UAN), emergency, short code.
    NotMobile,
}

/// The subject's number list, read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipients {
    /// Valid numbers, each once, in the order first seen.
    pub valid: Vec<Recipient>,
    /// The first [`DROPPED_LISTED`] numbers refused, in the order typed.
    pub dropped: Vec<DroppedNumber>,
    /// How many numbers were refused in all, listed or not.
    #[serde(default)]
    pub dropped_count: usize,
}

/// Reads the subject's number list.
///
/// - Numbers are separated by `;` (or `,`); empty items are ignored.
/// - Whitespace, dots, dashes and parentheses inside a number are ignored.
/// - Accepted forms: `+CC…`, `00CC…`, `CC…` (international without `+`, e.g. the manual's
///   `33612121515`) and the French national form: ten digits starting with `0`, read as +33.
///   `+33 (0)6…` is understood too (libphonenumber drops the national `0`).
/// - The number must be valid for libphonenumber and of a kind that can receive SMS: mobile,
///   fixed-line-or-mobile (e.g. the USA), VoIP, personal, pager, or unknown kind (a valid
///   number libphonenumber cannot classify is given the benefit of the doubt).
/// - A number seen again, in any form, is not listed again nor dropped.
/// - Refused numbers are all counted, and the first [`DROPPED_LISTED`] listed (see
///   [`DroppedNumber::input`]).
///
/// The work is linear in the field's length: each item is read once, digits that cannot be an
/// E.164 number are refused before libphonenumber sees them, and duplicates are found in a hash
/// set of the numbers' values. The memory is that of the valid numbers, plus a bounded list of the
/// dropped ones.
pub fn parse_recipients(field: &str) -> Recipients {
    let mut recipients = Recipients::default();
    let mut seen: HashSet<u64> = HashSet::new();
    for item in field.split([';', ',']).map(str::trim).filter(|item| !item.is_empty()) {
        match parse_number(item) {
            Ok(recipient) => {
                if seen.insert(recipient.value()) {
                    recipients.valid.push(recipient);
                }
            }
            Err(reason) => {
                recipients.dropped_count += 1;
                if recipients.dropped.len() < DROPPED_LISTED {
                    recipients.dropped.push(DroppedNumber::new(item, reason));
                }
            }
        }
    }
    recipients
}

/// Reads one number, in any of the accepted forms (see [`parse_recipients`]): for the
/// operator's lists, one number at a time.
pub fn parse_number(item: &str) -> Result<Recipient, DropReason> {
    let written: String = item.chars().filter(|c| !(c.is_whitespace() || matches!(c, '.' | '-' | '(' | ')'))).collect();
    let (plus, digits) = match written.strip_prefix('+') {
        Some(digits) => (true, digits),
        None => (false, written.as_str()),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DropReason::Malformed);
    }
    let international = if plus {
        digits.to_owned()
    } else if let Some(international) = digits.strip_prefix("00") {
        international.to_owned()
    } else if let Some(national) = digits.strip_prefix('0') {
        if digits.len() != 10 {
            return Err(DropReason::Invalid);
        }
        format!("{FRANCE}{national}")
    } else {
        digits.to_owned()
    };
    classify(&international)
}

/// Whether digits have the shape of an E.164 number after its `+`: 1 to 15 digits, the first
/// not `0` (no country code starts with 0).
fn is_e164_digits(digits: &str) -> bool {
    (1..=E164_MAX_DIGITS).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// Checks an international number given as its digits (country code first). Digits not of
/// the E.164 shape are refused before libphonenumber sees them.
fn classify(digits: &str) -> Result<Recipient, DropReason> {
    if !is_e164_digits(digits) {
        return Err(DropReason::Invalid);
    }
    let number = phonenumber::parse(None, format!("+{digits}")).map_err(|_| DropReason::Invalid)?;
    if !number.is_valid() {
        return Err(DropReason::Invalid);
    }
    if !receives_sms(&number) {
        return Err(DropReason::NotMobile);
    }
    Ok(Recipient(number.format().mode(Mode::E164).to_string()))
}

/// Whether a valid number is of a kind that can receive SMS.
fn receives_sms(number: &PhoneNumber) -> bool {
    match number.number_type(&DATABASE) {
        Type::Mobile | Type::FixedLineOrMobile | Type::Voip | Type::PersonalNumber | Type::Pager | Type::Unknown => {
            true
        }
        Type::FixedLine
        | Type::TollFree
        | Type::PremiumRate
        | Type::SharedCost
        | Type::Voicemail
        | Type::Uan
        | Type::Emergency
        | Type::ShortCode
        | Type::StandardRate
        | Type::Carrier
        | Type::NoInternational => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn valid(field: &str) -> Vec<String> {
        parse_recipients(field).valid.iter().map(|r| r.e164().to_owned()).collect()
    }

    fn dropped(field: &str) -> Vec<(String, DropReason)> {
        parse_recipients(field).dropped.into_iter().map(|d| (d.input, d.reason)).collect()
    }

    fn single(item: &str) -> Result<String, DropReason> {
        parse_number(item).map(|r| r.0)
    }

    #[test]
    fn international_with_plus() {
        assert_eq!(single("+33612345678"), Ok("+33612345678".into()));
        assert_eq!(single("+33 6 12 34 56 78"), Ok("+33612345678".into()));
    }

    #[test]
    fn international_with_double_zero() {
        assert_eq!(single("0033612345678"), Ok("+33612345678".into()));
        assert_eq!(single("00 33 6 12 34 56 78"), Ok("+33612345678".into()));
    }

    #[test]
    fn international_without_plus_as_in_the_manual() {
        assert_eq!(single("33612121515"), Ok("+33612121515".into()));
        assert_eq!(valid("33612121515;33614141515"), ["+33612121515", "+33614141515"]);
    }

    #[test]
    fn french_national_form() {
        assert_eq!(single("0612345678"), Ok("+33612345678".into()));
        assert_eq!(single("06 12 34 56 78"), Ok("+33612345678".into()));
        assert_eq!(single("0751234567"), Ok("+33751234567".into()));
    }

    #[test]
    fn separators_inside_a_number_are_ignored() {
        assert_eq!(single("06.12.34.56.78"), Ok("+33612345678".into()));
        assert_eq!(single("(06) 12-34-56-78"), Ok("+33612345678".into()));
        assert_eq!(single("+33 (0)6 12 34 56 78"), Ok("+33612345678".into()));
        assert_eq!(single("06\u{a0}12\t34 56 78"), Ok("+33612345678".into()));
    }

    #[test]
    fn foreign_mobiles_are_kept() {
        assert_eq!(single("+1 650 253 0000"), Ok("+16502530000".into()), "USA: fixed line or mobile");
        assert_eq!(single("+44 7400 123456"), Ok("+447400123456".into()));
        assert_eq!(single("+32 470 12 34 56"), Ok("+32470123456".into()));
        assert_eq!(single("0032470123456"), Ok("+32470123456".into()));
        assert_eq!(single("447400123456"), Ok("+447400123456".into()));
    }

    #[test]
    fn voip_numbers_are_kept() {
        assert_eq!(single("09 87 65 43 21"), Ok("+33987654321".into()));
    }

    #[test]
    fn numbers_that_cannot_receive_sms_are_not_mobile() {
        assert_eq!(single("01 23 45 67 89"), Err(DropReason::NotMobile), "landline");
        assert_eq!(single("0800 12 34 56"), Err(DropReason::NotMobile), "toll-free");
        assert_eq!(single("0891 12 34 56"), Err(DropReason::NotMobile), "premium rate");
        assert_eq!(single("+800 1234 5678"), Err(DropReason::NotMobile), "international freephone");
    }

    #[test]
    fn wrong_lengths_are_invalid() {
        assert_eq!(single("061234567"), Err(DropReason::Invalid), "9 digits");
        assert_eq!(single("06123456789"), Err(DropReason::Invalid), "11 digits");
        assert_eq!(single("+3361234567"), Err(DropReason::Invalid));
        assert_eq!(single("+336123456789"), Err(DropReason::Invalid));
        assert_eq!(single("+33"), Err(DropReason::Invalid));
        assert_eq!(single("12"), Err(DropReason::Invalid));
        assert_eq!(single("0"), Err(DropReason::Invalid));
        assert_eq!(single("00"), Err(DropReason::Invalid));
        assert_eq!(single("+1234567890123456"), Err(DropReason::Invalid), "16 digits");
        assert_eq!(single(&"6".repeat(10_000)), Err(DropReason::Invalid));
    }

    #[test]
    fn unallocated_ranges_and_codes_are_invalid() {
        assert_eq!(single("+33712345678"), Err(DropReason::Invalid), "07 0x is not allocated");
        assert_eq!(single("+999999999999"), Err(DropReason::Invalid), "no country 999");
        assert_eq!(single("+000000"), Err(DropReason::Invalid));
    }

    #[test]
    fn garbage_is_malformed() {
        for item in [
            "hello",
            "06 12 34 56 7a",
            "+",
            "++33612345678",
            "33+612345678",
            "0612345678x",
            "-",
            "()",
            "٠٦١٢٣٤٥٦٧٨",
            "06１2345678",
            "\u{0}",
        ] {
            assert_eq!(single(item), Err(DropReason::Malformed), "{item:?}");
        }
    }

    #[test]
    fn dropped_numbers_keep_their_input_and_reason() {
        assert_eq!(
            dropped(" 0123456789 ; abc;061234567;0612345678"),
            [
                ("0123456789".to_owned(), DropReason::NotMobile),
                ("abc".to_owned(), DropReason::Malformed),
                ("061234567".to_owned(), DropReason::Invalid),
            ]
        );
    }

    #[test]
    fn semicolons_and_commas_both_separate() {
        assert_eq!(valid("0612345678,0698765432;0611111111"), ["+33612345678", "+33698765432", "+33611111111"]);
    }

    #[test]
    fn empty_items_are_ignored() {
        let recipients = parse_recipients(" ;0612345678;; ;,0698765432; ");
        assert_eq!(recipients.dropped, []);
        assert_eq!(recipients.valid.len(), 2);
        assert_eq!(parse_recipients(""), Recipients::default());
        assert_eq!(parse_recipients(";;;"), Recipients::default());
    }

    #[test]
    fn duplicates_in_any_form_are_kept_once_in_first_seen_order() {
        let recipients = parse_recipients("0698765432;0612345678;+33612345678;0033 6 12 34 56 78;33698765432");
        assert_eq!(valid_of(&recipients), ["+33698765432", "+33612345678"]);
        assert_eq!(recipients.dropped, [], "a duplicate is not dropped");
    }

    fn valid_of(recipients: &Recipients) -> Vec<&str> {
        recipients.valid.iter().map(Recipient::e164).collect()
    }

    #[test]
    fn a_thousand_numbers() {
        let numbers: Vec<String> = (0..1000).map(|i| format!("06 12 34 {:02} {:02}", i / 100, i % 100)).collect();
        let recipients = parse_recipients(&numbers.join(";"));
        assert_eq!(recipients.valid.len(), 1000);
        assert_eq!(recipients.valid[0].e164(), "+33612340000");
        assert_eq!(recipients.valid[999].e164(), "+33612340999");
        let twice = parse_recipients(&format!("{};{}", numbers.join(";"), numbers.join(",")));
        assert_eq!(twice.valid, recipients.valid);
    }

    #[test]
    fn french_means_a_french_country_code() {
        assert!(single_recipient("0612345678").is_french());
        assert!(!single_recipient("+32470123456").is_french());
        assert!(!single_recipient("+447400123456").is_french());
        assert!(!single_recipient("+16502530000").is_french());
        assert!(!single_recipient("+34612345678").is_french(), "Spain");
        assert!(!single_recipient("+393123456789").is_french(), "Italy");
    }

    #[test]
    fn overseas_numbers_are_french_and_the_comoros_are_not() {
        for number in [
            "0612345678",    // metropolitan mobile
            "+33612345678",  // the same, international
            "+262692123456", // Réunion mobile
            "+262639012345", // Mayotte mobile
            "+508551234",    // Saint-Pierre-et-Miquelon
            "+590690123456", // Guadeloupe mobile
            "+594694123456", // French Guiana mobile
            "+596696123456", // Martinique mobile
            "+681821234",    // Wallis-et-Futuna
            "+687751234",    // New Caledonia mobile
            "+68987123456",  // French Polynesia mobile
        ] {
            assert!(single_recipient(number).is_french(), "{number}");
        }
        for number in ["+2693212345", "+32470123456", "+41791234567", "+12345678901", "+35212345678"] {
            let recipient = Recipient::parse_e164(number).expect("E.164");
            assert!(!recipient.is_french(), "{number}");
        }
    }

    #[test]
    fn the_french_country_codes_are_those_libphonenumber_gives_french_regions() {
        let french_regions = ["FR", "RE", "YT", "PM", "GP", "BL", "MF", "GF", "MQ", "WF", "NC", "PF"];
        for code in FRENCH_COUNTRY_CODES {
            let regions = DATABASE.region(&code.parse::<u16>().expect("digits")).expect(code);
            assert!(regions.iter().all(|region| french_regions.contains(region)), "+{code}: {regions:?}");
        }
        assert_eq!(DATABASE.region(&269u16), Some(vec!["KM"]), "+269 is the Comoros");
    }

    fn single_recipient(item: &str) -> Recipient {
        parse_number(item).unwrap_or_else(|reason| panic!("{item}: {reason:?}"))
    }

    #[test]
    fn masking_keeps_the_plus_and_the_last_two_digits() {
        assert_eq!(single_recipient("0612345678").masked(), "+*********78");
        assert_eq!(mask_number("+33612345678"), "+*********78");
        assert_eq!(mask_number("06 12 34 56 78"), "** ** ** ** 78");
        assert_eq!(mask_number("(06) 12.34-56"), "(**) **.**-56");
        assert_eq!(mask_number("0612x"), "**12*");
        assert_eq!(mask_number("7"), "7");
        assert_eq!(mask_number(""), "");
    }

    #[test]
    fn masking_hides_letters_and_control_characters() {
        assert_eq!(mask_number("jean@example.com"), "************.***");
        assert_eq!(mask_number("a\nb\u{1b}é"), "*****");
    }

    #[test]
    fn display_and_e164_are_the_e164_form() {
        let recipient = single_recipient("06 12 34 56 78");
        assert_eq!(recipient.e164(), "+33612345678");
        assert_eq!(recipient.to_string(), "+33612345678");
    }

    #[test]
    fn parse_e164_reads_back_the_e164_shape() {
        assert_eq!(Recipient::parse_e164("+33612345678"), Some(single_recipient("0612345678")));
        assert_eq!(Recipient::parse_e164("+16502530000").map(String::from), Some("+16502530000".into()));
        assert!(Recipient::parse_e164("+33712345678").is_some(), "stored numbers read back whatever the metadata");
        assert!(Recipient::parse_e164("+123456789012345").is_some(), "15 digits");
        for value in [
            "33612345678",
            "0612345678",
            "+33 6 12 34 56 78",
            "+",
            "++33612345678",
            "+0612345678",
            "+1234567890123456",
            " +33612345678",
            "+33612345678 ",
            "+٣٣٦١٢٣٤٥٦٧٨",
            "",
        ] {
            assert_eq!(Recipient::parse_e164(value), None, "{value:?}");
        }
    }

    #[test]
    fn serialises_as_the_e164_string() {
        let recipient = single_recipient("0612345678");
        assert_eq!(serde_json::to_string(&recipient).unwrap(), "\"+33612345678\"");
        assert_eq!(serde_json::from_str::<Recipient>("\"+33612345678\"").unwrap(), recipient);
        assert!(serde_json::from_str::<Recipient>("\"0612345678\"").is_err());
        assert!(serde_json::from_str::<Recipient>("\"+33 6 12 34 56 78\"").is_err());
    }

    #[test]
    fn drop_reasons_serialise_in_snake_case() {
        assert_eq!(serde_json::to_string(&DropReason::NotMobile).unwrap(), "\"not_mobile\"");
        assert_eq!(serde_json::to_string(&DropReason::Malformed).unwrap(), "\"malformed\"");
        assert_eq!(serde_json::from_str::<DropReason>("\"invalid\"").unwrap(), DropReason::Invalid);
    }

    proptest! {
        #[test]
        fn parsing_never_panics(field in any::<String>()) {
            let _ = parse_recipients(&field);
        }

        #[test]
        fn any_digits_never_panic_libphonenumber(plus in proptest::bool::ANY, digits in "[0-9]{0,17}") {
            let item = if plus { format!("+{digits}") } else { digits };
            let _ = parse_recipients(&item);
        }

        #[test]
        fn valid_numbers_are_unique_canonical_and_read_back(field in "([+0]?[0-9 .()-]{8,14}[;,]){0,20}") {
            let recipients = parse_recipients(&field);
            let unique: HashSet<_> = recipients.valid.iter().collect();
            prop_assert_eq!(unique.len(), recipients.valid.len());
            for recipient in &recipients.valid {
                prop_assert_eq!(Recipient::parse_e164(recipient.e164()), Some(recipient.clone()));
            }
        }

        #[test]
        fn dedup_keeps_the_first_seen_order(indices in proptest::collection::vec(0usize..20, 0..60)) {
            let field: Vec<String> = indices.iter().map(|i| format!("06123456{i:02}")).collect();
            let mut expected: Vec<String> = Vec::new();
            for i in &indices {
                let e164 = format!("+336123456{i:02}");
                if !expected.contains(&e164) {
                    expected.push(e164);
                }
            }
            prop_assert_eq!(valid(&field.join(";")), expected);
        }

        #[test]
        fn every_item_is_either_kept_or_dropped(items in proptest::collection::vec("[0-9a-z+ ]{1,14}", 0..20)) {
            let recipients = parse_recipients(&items.join(";"));
            let non_empty = items.iter().filter(|item| !item.trim().is_empty()).count();
            prop_assert!(recipients.valid.len() + recipients.dropped_count <= non_empty);
            prop_assert!(recipients.dropped.iter().all(|d| !d.input.is_empty() && d.input.trim() == d.input));
        }

        #[test]
        fn every_refused_item_is_counted_and_the_first_ones_listed(
            items in proptest::collection::vec("[0-9a-z+é ]{1,40}|06[0-9]{8}", 0..60),
        ) {
            let recipients = parse_recipients(&items.join(";"));
            let refused: Vec<(&str, DropReason)> = items
                .iter()
                .map(|item| item.trim())
                .filter(|item| !item.is_empty())
                .filter_map(|item| parse_number(item).err().map(|reason| (item, reason)))
                .collect();
            prop_assert_eq!(recipients.dropped_count, refused.len());
            prop_assert_eq!(recipients.dropped.len(), refused.len().min(DROPPED_LISTED));
            for (listed, (item, reason)) in recipients.dropped.iter().zip(&refused) {
                prop_assert_eq!(listed.reason, *reason);
                prop_assert!(listed.input.chars().count() <= DROPPED_INPUT_CHARS);
                let kept = listed.input.trim_end_matches('…');
                prop_assert!(item.starts_with(kept), "{:?} is not the start of {:?}", listed.input, item);
            }
        }

        #[test]
        fn parse_e164_accepts_exactly_the_shape(value in "\\+?[0-9]{0,17}") {
            let shaped = value.len() >= 2 && value.len() <= 16 && value.starts_with('+') && !value.starts_with("+0");
            prop_assert_eq!(Recipient::parse_e164(&value).is_some(), shaped);
        }

        #[test]
        fn masking_keeps_the_length_and_at_most_two_digits(raw in any::<String>()) {
            let masked = mask_number(&raw);
            prop_assert_eq!(masked.chars().count(), raw.chars().count());
            prop_assert!(masked.chars().filter(char::is_ascii_digit).count() <= 2);
            prop_assert!(masked.chars().all(|c| c.is_ascii_digit() || "+*().- ".contains(c)));
        }
    }

    #[test]
    fn fifty_thousand_junk_numbers_are_counted_and_twenty_listed() {
        let junk: Vec<String> = (0..50_000).map(|i| format!("x{i}")).collect();
        let recipients = parse_recipients(&format!("{};0612345678", junk.join(";")));
        assert_eq!(valid_of(&recipients), ["+33612345678"]);
        assert_eq!(recipients.dropped_count, 50_000);
        assert_eq!(recipients.dropped.len(), DROPPED_LISTED);
        assert_eq!(recipients.dropped[0], DroppedNumber { input: "x0".into(), reason: DropReason::Malformed });
        assert_eq!(recipients.dropped[19].input, "x19");
        let stored = serde_json::to_string(&recipients).expect("json");
        assert!(stored.len() < 2_000, "{} bytes", stored.len());
    }

    #[test]
    fn a_long_dropped_item_is_cut_on_a_character_boundary() {
        let recipients = parse_recipients(&format!("{};0612345678", "é€😀".repeat(40_000)));
        let dropped = &recipients.dropped[0];
        assert_eq!(dropped.input.chars().count(), DROPPED_INPUT_CHARS);
        assert_eq!(dropped.input, format!("{}é…", "é€😀".repeat(10)));
        assert_eq!(dropped.reason, DropReason::Malformed);
        let exact = "0".repeat(DROPPED_INPUT_CHARS);
        assert_eq!(parse_recipients(&exact).dropped[0].input, exact, "32 characters are kept whole");
        let longer = "0".repeat(DROPPED_INPUT_CHARS + 1);
        assert_eq!(parse_recipients(&longer).dropped[0].input, format!("{}…", "0".repeat(DROPPED_INPUT_CHARS - 1)));
    }

    #[test]
    fn ten_thousand_numbers_half_of_them_junk() {
        let items: Vec<String> = (0..2_500)
            .flat_map(|i| [format!("06 {:08}", 12_340_000 + i), format!("+33 6 {:08}", 12_340_000 + i / 2)])
            .chain((0..5_000).map(|i| format!("{i}x")))
            .collect();
        let recipients = parse_recipients(&items.join(";"));
        assert_eq!(items.len(), 10_000);
        assert_eq!(recipients.valid.len(), 2_500, "the second form of each is a duplicate");
        assert_eq!(recipients.valid[2_499].e164(), "+33612342499");
        assert_eq!(recipients.dropped_count, 5_000);
        assert_eq!(recipients.dropped.len(), DROPPED_LISTED);
    }

    #[test]
    fn a_100_kb_field_of_digits_is_one_invalid_item() {
        let recipients = parse_recipients(&"6".repeat(100_000));
        assert_eq!((recipients.valid.len(), recipients.dropped_count), (0, 1));
        assert_eq!(recipients.dropped[0].reason, DropReason::Invalid);
        assert_eq!(recipients.dropped[0].input.chars().count(), DROPPED_INPUT_CHARS);
    }

    #[test]
    fn a_number_and_its_value_are_one_to_one() {
        assert_eq!(single_recipient("0612345678").value(), 33_612_345_678);
        assert_eq!(Recipient::parse_e164("+999999999999999").map(|r| r.value()), Some(999_999_999_999_999));
        assert_ne!(
            Recipient::parse_e164("+1234").map(|r| r.value()),
            Recipient::parse_e164("+12340").map(|r| r.value())
        );
    }

    #[test]
    fn numbers_quoted_in_other_texts_are_masked() {
        assert_eq!(
            mask_numbers_in("Invalid parameter: PhoneNumber +33612345678 (code 400)"),
            "Invalid parameter: PhoneNumber +*********78 (code 400)"
        );
        assert_eq!(mask_numbers_in("retry in 30 s, request 12345"), "retry in 30 s, request 12345");
        assert_eq!(mask_numbers_in(""), "");
    }
}
