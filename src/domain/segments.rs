//! What a text costs in SMS (GSM 03.38, 3GPP TS 23.038): its encoding, its length in the
//! encoding's units, and the number of SMS ("parts") it is sent as.
//!
//! A text made only of characters of the GSM-7 default alphabet is sent in GSM-7: 160 septets
//! in a single SMS, 153 per part once concatenated (7 septets go to the UDH header). Any other
//! character sends the whole text in UCS-2: 70 UTF-16 code units in a single SMS, 67 per part.

use serde::{Deserialize, Serialize};

/// The most parts a message may be sent as (manual 2.1: "8 SMS, soit 1224 caractères").
pub const MAX_PARTS: u32 = 8;

/// How a text is encoded on the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// The GSM 03.38 7-bit default alphabet, with its extension table.
    Gsm7,
    /// UTF-16, for any text with a character outside the GSM-7 alphabet.
    Ucs2,
}

/// The size of a text once encoded for SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segments {
    pub encoding: Encoding,
    /// Septets for GSM-7 (an extension character counts 2), UTF-16 code units for UCS-2
    /// (a character outside the Basic Multilingual Plane, such as an emoji, counts 2).
    pub units: usize,
    /// The number of SMS the text is sent as; at least 1, an empty text included (an empty
    /// SMS is still one SMS; callers refuse empty messages before counting).
    pub parts: u32,
}

/// Units one SMS holds when the text fits in it, and per part once concatenated.
struct Capacity {
    single: usize,
    per_part: usize,
}

const GSM7_CAPACITY: Capacity = Capacity { single: 160, per_part: 153 };
const UCS2_CAPACITY: Capacity = Capacity { single: 70, per_part: 67 };

/// The GSM 03.38 default alphabet (TS 23.038 §6.2.1), one septet each.
///
/// Position 0x09 is the capital "Ç": a lowercase "ç" is not in the alphabet and makes the text
/// UCS-2. Position 0x1B is the escape to the extension table, not a character: a U+001B in a
/// text is not GSM-7.
const GSM7_BASIC: &str = concat!(
    "@£$¥èéùìòÇ\nØø\rÅå",
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ",
    " !\"#¤%&'()*+,-./",
    "0123456789:;<=>?",
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§",
    "¿abcdefghijklmnopqrstuvwxyzäöñüà",
);

/// The GSM 03.38 extension table (TS 23.038 §6.2.1.1): the escape plus the character, two
/// septets each. The form feed is the table's page break.
const GSM7_EXTENSION: &str = "\u{0C}^{}\\[~]|€";

/// The septets a character takes in GSM-7, or `None` if GSM-7 cannot carry it.
fn gsm7_septets(character: char) -> Option<usize> {
    if GSM7_BASIC.contains(character) {
        Some(1)
    } else if GSM7_EXTENSION.contains(character) {
        Some(2)
    } else {
        None
    }
}

/// Counts the encoding, units and parts of `text`.
///
/// Parts are filled the way a sender splits a long message: a character is never cut between
/// two parts, so an extension character (2 septets) or an emoji (2 UTF-16 units) that would
/// straddle a part boundary starts the next part. The count is therefore `ceil(units / 153)`
/// (GSM-7) or `ceil(units / 67)` (UCS-2), plus one part now and then when such a straddle
/// happens.
pub fn count(text: &str) -> Segments {
    match text.chars().map(gsm7_septets).sum::<Option<usize>>() {
        Some(septets) => segments(Encoding::Gsm7, septets, text.chars().filter_map(gsm7_septets), &GSM7_CAPACITY),
        None => {
            segments(Encoding::Ucs2, text.encode_utf16().count(), text.chars().map(char::len_utf16), &UCS2_CAPACITY)
        }
    }
}

/// The segments of a text of `units` units, made of characters of the given sizes.
fn segments(encoding: Encoding, units: usize, sizes: impl Iterator<Item = usize>, capacity: &Capacity) -> Segments {
    let parts = if units <= capacity.single { 1 } else { concatenated_parts(sizes, capacity.per_part) };
    Segments { encoding, units, parts }
}

/// The parts a concatenated message needs, no character being cut between two parts.
fn concatenated_parts(sizes: impl Iterator<Item = usize>, per_part: usize) -> u32 {
    let mut parts: u32 = 1;
    let mut used = 0;
    for size in sizes {
        if used + size > per_part {
            parts = parts.saturating_add(1);
            used = 0;
        }
        used += size;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn gsm7(units: usize, parts: u32) -> Segments {
        Segments { encoding: Encoding::Gsm7, units, parts }
    }

    fn ucs2(units: usize, parts: u32) -> Segments {
        Segments { encoding: Encoding::Ucs2, units, parts }
    }

    #[test]
    fn a_single_gsm7_sms_holds_160_septets() {
        assert_eq!(count(&"a".repeat(160)), gsm7(160, 1));
        assert_eq!(count(&"a".repeat(161)), gsm7(161, 2));
    }

    #[test]
    fn concatenated_gsm7_parts_hold_153_septets() {
        assert_eq!(count(&"a".repeat(306)), gsm7(306, 2));
        assert_eq!(count(&"a".repeat(307)), gsm7(307, 3));
        assert_eq!(count(&"a".repeat(153 * 8)), gsm7(1224, 8));
        assert_eq!(count(&"a".repeat(153 * 8 + 1)), gsm7(1225, 9));
    }

    #[test]
    fn a_single_ucs2_sms_holds_70_units() {
        assert_eq!(count(&"ê".repeat(70)), ucs2(70, 1));
        assert_eq!(count(&"ê".repeat(71)), ucs2(71, 2));
    }

    #[test]
    fn concatenated_ucs2_parts_hold_67_units() {
        assert_eq!(count(&"ê".repeat(134)), ucs2(134, 2));
        assert_eq!(count(&"ê".repeat(135)), ucs2(135, 3));
        assert_eq!(count(&"ê".repeat(67 * 8)), ucs2(536, 8));
        assert_eq!(count(&"ê".repeat(67 * 8 + 1)), ucs2(537, 9));
    }

    #[test]
    fn the_euro_sign_takes_two_septets() {
        assert_eq!(count(&"€".repeat(80)), gsm7(160, 1));
        assert_eq!(count(&"€".repeat(81)), gsm7(162, 2));
    }

    #[test]
    fn an_extension_character_is_never_cut_between_two_parts() {
        // 152 septets then a euro sign: the sign does not fit the first part's last septet.
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(10));
        assert_eq!(count(&text), gsm7(164, 2));
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(152));
        assert_eq!(count(&text), gsm7(306, 3), "306 septets would fit 2 parts if the sign were cut");
    }

    #[test]
    fn an_emoji_makes_the_text_ucs2_and_counts_two_units() {
        assert_eq!(count("Bonjour 😀"), ucs2(10, 1));
        assert_eq!(count(&"😀".repeat(35)), ucs2(70, 1));
        assert_eq!(count(&"😀".repeat(36)), ucs2(72, 2));
    }

    #[test]
    fn an_emoji_is_never_cut_between_two_parts() {
        let text = format!("{}😀{}", "ê".repeat(66), "ê".repeat(10));
        assert_eq!(count(&text), ucs2(78, 2));
        let text = format!("{}😀{}", "ê".repeat(66), "ê".repeat(66));
        assert_eq!(count(&text), ucs2(134, 3));
    }

    #[test]
    fn one_character_outside_the_alphabet_makes_the_whole_text_ucs2() {
        let text = format!("{}ê", "€".repeat(10));
        assert_eq!(count(&text), ucs2(11, 1), "in UCS-2 the euro sign is one unit, not two septets");
    }

    #[test]
    fn every_character_of_the_default_alphabet_is_one_septet() {
        assert_eq!(GSM7_BASIC.chars().count(), 127, "128 positions less the escape");
        for character in GSM7_BASIC.chars() {
            assert_eq!(count(&character.to_string()), gsm7(1, 1), "{character:?}");
        }
    }

    #[test]
    fn every_character_of_the_extension_table_is_two_septets() {
        assert_eq!(GSM7_EXTENSION.chars().count(), 10);
        for character in GSM7_EXTENSION.chars() {
            assert_eq!(count(&character.to_string()), gsm7(2, 1), "{character:?}");
        }
    }

    #[test]
    fn french_letters_outside_the_alphabet_are_ucs2() {
        for character in ['ç', 'ê', 'â', 'î', 'ô', 'û', 'ë', 'ï', 'œ', 'À', 'È', '’', '«', '\t', '\u{1B}', '`']
        {
            assert_eq!(count(&character.to_string()).encoding, Encoding::Ucs2, "{character:?}");
        }
    }

    #[test]
    fn french_letters_of_the_alphabet_are_gsm7() {
        assert_eq!(count("àéèùìòÇÉ"), gsm7(8, 1));
    }

    #[test]
    fn the_empty_text_is_one_part() {
        assert_eq!(count(""), gsm7(0, 1));
    }

    #[test]
    fn encoding_serialises_lowercase() {
        assert_eq!(serde_json::to_string(&Encoding::Gsm7).unwrap(), "\"gsm7\"");
        assert_eq!(serde_json::to_string(&Encoding::Ucs2).unwrap(), "\"ucs2\"");
        let segments = gsm7(3, 1);
        let json = serde_json::to_string(&segments).unwrap();
        assert_eq!(json, r#"{"encoding":"gsm7","units":3,"parts":1}"#);
        assert_eq!(serde_json::from_str::<Segments>(&json).unwrap(), segments);
    }

    proptest! {
        #[test]
        fn appending_text_never_lowers_the_parts(text in any::<String>(), more in any::<String>()) {
            let longer = format!("{text}{more}");
            prop_assert!(count(&longer).parts >= count(&text).parts);
        }

        #[test]
        fn parts_are_at_least_the_units_divided_by_the_capacity(text in any::<String>()) {
            let segments = count(&text);
            let capacity = match segments.encoding {
                Encoding::Gsm7 => &GSM7_CAPACITY,
                Encoding::Ucs2 => &UCS2_CAPACITY,
            };
            let parts = segments.parts as usize;
            prop_assert!(parts >= 1);
            if segments.units <= capacity.single {
                prop_assert_eq!(parts, 1);
            } else {
                prop_assert!(parts >= segments.units.div_ceil(capacity.per_part));
                prop_assert!(parts <= segments.units.div_ceil(capacity.per_part - 1));
            }
        }

        #[test]
        fn ucs2_units_are_the_utf16_length(text in any::<String>()) {
            let segments = count(&text);
            if segments.encoding == Encoding::Ucs2 {
                prop_assert_eq!(segments.units, text.encode_utf16().count());
            } else {
                prop_assert!(segments.units >= text.chars().count());
            }
        }

        #[test]
        fn gsm7_text_counts_exactly(text in "[a-zA-Z0-9 @£€\\[\\]{}^~|\\\\]{0,400}") {
            let escaped = text.chars().filter(|c| GSM7_EXTENSION.contains(*c)).count();
            let segments = count(&text);
            prop_assert_eq!(segments.encoding, Encoding::Gsm7);
            prop_assert_eq!(segments.units, text.chars().count() + escaped);
        }
    }
}
