//! Who an SMS appears to come from: the `from=` sender a customer asks for, the STOP mention
//! French law requires for it, and the choice of sender for each recipient (manual 2.1).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::recipient::Recipient;
use crate::domain::status::{Rejection, StatusCode};

/// The opt-out mention a message to France must end with for a requested sender to apply.
pub const STOP_MENTION: &str = "STOP au 36180";

/// The manual's rule for `from=`, as the customer reads it when refused.
const SENDER_RULE: &str = "from= doit commencer par une lettre et ne contenir que des lettres sans accent, des chiffres ou des espaces, de 3 à 11 caractères";

/// The length a sender may have, in characters (all ASCII once allowed).
const SENDER_LENGTH: std::ops::RangeInclusive<usize> = 3..=11;

/// An alphanumeric sender: starts with an ASCII letter, holds only ASCII letters, digits and
/// spaces, 3 to 11 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SenderId(String);

impl SenderId {
    /// Reads a sender by the manual's rule, surrounding whitespace removed first (and not
    /// counted); case is kept as typed.
    pub fn parse(value: &str) -> Result<SenderId, Rejection> {
        let value = value.trim();
        let starts_with_letter = value.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
        let allowed = value.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ');
        if starts_with_letter && allowed && SENDER_LENGTH.contains(&value.len()) {
            Ok(SenderId(value.to_owned()))
        } else {
            Err(Rejection::with_detail(StatusCode::InvalidRequest, SENDER_RULE))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SenderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<SenderId> for String {
    fn from(sender: SenderId) -> String {
        sender.0
    }
}

impl TryFrom<String> for SenderId {
    type Error = Rejection;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        SenderId::parse(&value)
    }
}

/// Whether a message ends with [`STOP_MENTION`], written in that exact case, preceded by a
/// space or a line break (manual 2.1), surrounding whitespace of the message ignored.
///
/// The mention alone is not enough: something must come before it.
pub fn has_stop_mention(text: &str) -> bool {
    text.trim().strip_suffix(STOP_MENTION).is_some_and(|before| before.ends_with(char::is_whitespace))
}

/// The sender a recipient sees.
///
/// The requested sender applies to recipients outside France always, and to French recipients
/// only when the message ends with the STOP mention; otherwise the account's default sender
/// applies, or none (the carrier's number). French means France and its overseas departments
/// and collectivities, +33 and the overseas country codes alike ([`Recipient::is_french`]):
/// the manual's "vers la France" puts them under the same French rule.
pub fn sender_for(
    recipient: &Recipient,
    requested: Option<&SenderId>,
    stop_mention: bool,
    account_default: Option<&SenderId>,
) -> Option<SenderId> {
    match requested {
        Some(sender) if stop_mention || !recipient.is_french() => Some(sender.clone()),
        _ => account_default.cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::recipient::parse_recipients;
    use proptest::prelude::*;

    fn sender(value: &str) -> SenderId {
        SenderId::parse(value).expect(value)
    }

    fn recipient(number: &str) -> Recipient {
        parse_recipients(number).valid.remove(0)
    }

    #[test]
    fn senders_of_3_to_11_characters_are_accepted() {
        for value in ["ABC", "MAGASIN", "Magasin 2", "abcdefghijk", "A1B2C3D4E5F", "A B", "a  b"] {
            assert_eq!(sender(value).as_str(), value);
        }
    }

    #[test]
    fn surrounding_whitespace_is_removed_and_not_counted() {
        assert_eq!(sender("  MAGASIN \t").as_str(), "MAGASIN");
        assert_eq!(sender(" ABCDEFGHIJK ").as_str(), "ABCDEFGHIJK");
        assert!(SenderId::parse("  AB  ").is_err());
    }

    #[test]
    fn senders_breaking_the_rule_are_refused_with_109_and_the_rule() {
        for value in [
            "",
            "   ",
            "AB",
            "ABCDEFGHIJKL",
            "1SHOP",
            " 1SHOP",
            "SHOP_1",
            "MAGASÏN",
            "Café",
            "SHOP!",
            "SHOP-1",
            "A\tB",
            "A\nB",
            "ＳＨＯＰ",
            "SH\u{0}P",
        ] {
            let rejection = SenderId::parse(value).expect_err(value);
            assert_eq!(rejection.status, StatusCode::InvalidRequest, "{value:?}");
            assert!(rejection.status_text.contains("de 3 à 11 caractères"), "{value:?}");
        }
    }

    #[test]
    fn display_and_serde_are_the_sender() {
        let magasin = sender("MAGASIN");
        assert_eq!(magasin.to_string(), "MAGASIN");
        assert_eq!(serde_json::to_string(&magasin).unwrap(), "\"MAGASIN\"");
        assert_eq!(serde_json::from_str::<SenderId>("\"MAGASIN\"").unwrap(), magasin);
        assert!(serde_json::from_str::<SenderId>("\"1SHOP\"").is_err());
    }

    #[test]
    fn the_mention_after_a_space_or_a_line_break_counts() {
        assert!(has_stop_mention("Soldes -50% STOP au 36180"));
        assert!(has_stop_mention("Soldes -50%\nSTOP au 36180"));
        assert!(has_stop_mention("Soldes -50%\r\nSTOP au 36180"));
        assert!(has_stop_mention("Soldes -50% STOP au 36180 \n"));
    }

    #[test]
    fn the_mention_must_be_exact_and_last() {
        assert!(!has_stop_mention("Soldes -50%STOP au 36180"), "no separator");
        assert!(!has_stop_mention("Soldes stop au 36180"), "case");
        assert!(!has_stop_mention("Soldes STOP AU 36180"), "case");
        assert!(!has_stop_mention("Soldes STOP au 36180."), "not last");
        assert!(!has_stop_mention("STOP au 36180 Soldes"), "not last");
        assert!(!has_stop_mention("Soldes STOP au 3618"));
        assert!(!has_stop_mention("Soldes STOP  au 36180"));
    }

    #[test]
    fn the_mention_alone_is_not_enough() {
        assert!(!has_stop_mention("STOP au 36180"));
        assert!(!has_stop_mention("  STOP au 36180"));
        assert!(!has_stop_mention("\nSTOP au 36180"));
        assert!(!has_stop_mention(""));
    }

    #[test]
    fn abroad_the_requested_sender_always_applies() {
        let requested = sender("MAGASIN");
        let default = sender("DEFAULT");
        for number in ["+32470123456", "+447400123456", "+16502530000"] {
            let abroad = recipient(number);
            assert_eq!(sender_for(&abroad, Some(&requested), false, Some(&default)), Some(requested.clone()));
            assert_eq!(sender_for(&abroad, Some(&requested), true, None), Some(requested.clone()));
        }
    }

    #[test]
    fn in_france_the_requested_sender_needs_the_stop_mention() {
        let requested = sender("MAGASIN");
        let default = sender("DEFAULT");
        let french = recipient("0612345678");
        assert_eq!(sender_for(&french, Some(&requested), true, Some(&default)), Some(requested.clone()));
        assert_eq!(sender_for(&french, Some(&requested), false, Some(&default)), Some(default.clone()));
        assert_eq!(sender_for(&french, Some(&requested), false, None), None);
    }

    #[test]
    fn overseas_the_requested_sender_needs_the_stop_mention_as_in_france() {
        let requested = sender("MAGASIN");
        let default = sender("DEFAULT");
        // Réunion, Guadeloupe, New Caledonia: French numbers under the French rule, like +33.
        for number in ["+262692123456", "+590690123456", "+687751234", "+33612345678"] {
            let french = recipient(number);
            let with_mention = sender_for(&french, Some(&requested), true, Some(&default));
            assert_eq!(with_mention, Some(requested.clone()), "{number}");
            assert_eq!(sender_for(&french, Some(&requested), false, Some(&default)), Some(default.clone()), "{number}");
            assert_eq!(sender_for(&french, Some(&requested), false, None), None, "{number}");
        }
        // The Comoros (+269) are not France.
        let comoros = Recipient::parse_e164("+2693212345").unwrap();
        assert_eq!(sender_for(&comoros, Some(&requested), false, None), Some(requested));
    }

    #[test]
    fn without_a_requested_sender_the_account_default_applies() {
        let default = sender("DEFAULT");
        for number in ["0612345678", "+447400123456"] {
            let anyone = recipient(number);
            assert_eq!(sender_for(&anyone, None, true, Some(&default)), Some(default.clone()));
            assert_eq!(sender_for(&anyone, None, false, None), None);
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_accepts_only_the_rule(value in any::<String>()) {
            if let Ok(sender) = SenderId::parse(&value) {
                let id = sender.as_str();
                prop_assert!((3..=11).contains(&id.chars().count()));
                prop_assert!(id.starts_with(|c: char| c.is_ascii_alphabetic()));
                prop_assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || c == ' '));
            }
        }

        #[test]
        fn every_sender_of_the_rule_is_accepted(value in "[A-Za-z][A-Za-z0-9 ]{1,9}[A-Za-z0-9]") {
            prop_assert_eq!(sender(&value), SenderId(value));
        }

        #[test]
        fn a_message_ending_with_the_mention_has_it(text in "[^\\s]{1}.{0,40}") {
            let after_space = format!("{text} {STOP_MENTION}");
            let after_line_break = format!("{text}\n{STOP_MENTION}");
            let not_last = format!("{text} {STOP_MENTION}x");
            prop_assert!(has_stop_mention(&after_space));
            prop_assert!(has_stop_mention(&after_line_break));
            prop_assert!(!has_stop_mention(&not_last));
        }
    }
}
