//! The SMS text an email body becomes: the signature and the phone's "Sent from my…" lines
//! removed, and typographic characters replaced by their GSM-7 equivalent so that a French
//! message is not sent in UCS-2 (which holds less than half as much per SMS).

/// The trailer lines phones and mail apps add under a message, removed from its end.
///
/// A line is one of these when, ignoring case, surrounding whitespace and trailing
/// punctuation, it is the trailer or the trailer followed by a space and more words ("Sent from
/// my iPhone 15 Pro", "Envoyé de mon iPhone de Marie"). Accents of the list are optional
/// ("Envoye a partir d'Outlook pour iOS" matches too).
pub const PHONE_TRAILERS: &[&str] = &[
    "Sent from my iPhone",
    "Sent from my iPad",
    "Sent from my Android",
    "Sent from my Samsung Galaxy smartphone",
    "Sent from my mobile device",
    "Sent from Outlook for iOS",
    "Sent from Outlook for Android",
    "Get Outlook for iOS",
    "Get Outlook for Android",
    "Sent from Mail for Windows",
    "Sent from Yahoo Mail",
    "Envoyé de mon iPhone",
    "Envoyé de mon iPad",
    "Envoyé de mon appareil Android",
    "Envoyé depuis mon smartphone Samsung Galaxy",
    "Envoyé de mon appareil mobile",
    "Envoyé à partir d'Outlook pour iOS",
    "Envoyé à partir d'Outlook pour Android",
    "Obtenir Outlook pour iOS",
    "Obtenir Outlook pour Android",
    "Envoyé depuis Yahoo Mail",
];

/// Consecutive blank lines kept at most; a longer run is shortened to this.
const MAX_BLANK_LINES: usize = 2;

/// The SMS text of an email body.
///
/// 1. Line endings become `\n` (from `\r\n` or `\r`).
/// 2. [`smart_encode`]; then a tab becomes a space and other control characters are removed
///    (GSM-7 has neither; they would turn the message UCS-2 for nothing).
/// 3. Leading whitespace is removed, then the signature is cut: the first line that is
///    exactly `-- ` (RFC 3676) or `--` (many clients drop the trailing space) and everything
///    after it.
/// 4. [`PHONE_TRAILERS`] lines at the end are removed, with the blank lines around them.
/// 5. Blank lines become empty, and more than two in a row become two.
/// 6. Trailing whitespace is removed; spacing inside lines is kept as typed.
pub fn clean_body(body: &str) -> String {
    let encoded = normalised(body);
    let mut lines: Vec<&str> =
        encoded.trim_start().split('\n').take_while(|line| !is_signature_separator(line)).collect();
    remove_trailers(&mut lines);
    let mut text = String::with_capacity(encoded.len());
    let mut blank_run = 0;
    for line in lines {
        if line.trim().is_empty() {
            blank_run += 1;
            if blank_run <= MAX_BLANK_LINES {
                text.push('\n');
            }
        } else {
            blank_run = 0;
            text.push_str(line);
            text.push('\n');
        }
    }
    text.trim().to_owned()
}

/// Whether [`clean_body`] would cut a signature from this body: one of its lines, once line
/// endings, typographic characters and control characters are dealt with, is a signature
/// separator. Everything after the first one is then left out of the SMS, however long it is.
pub fn has_signature(body: &str) -> bool {
    normalised(body).trim_start().split('\n').any(is_signature_separator)
}

/// Steps 1 and 2 of [`clean_body`]: `\n` line endings, [`smart_encode`]d, a tab a space, no
/// other control character.
fn normalised(body: &str) -> String {
    let unix = body.replace("\r\n", "\n").replace('\r', "\n");
    smart_encode(&unix)
        .chars()
        .filter_map(|character| match character {
            '\t' => Some(' '),
            '\n' => Some('\n'),
            control if control.is_control() => None,
            other => Some(other),
        })
        .collect()
}

/// A line that starts a signature: exactly `-- ` (RFC 3676) or `--`.
fn is_signature_separator(line: &str) -> bool {
    matches!(line, "-- " | "--")
}

/// Removes trailer lines, and the blank lines around them, from the end.
fn remove_trailers(lines: &mut Vec<&str>) {
    while lines.last().is_some_and(|last| last.trim().is_empty() || is_phone_trailer(last)) {
        lines.pop();
    }
}

/// Whether a line is one of [`PHONE_TRAILERS`], possibly followed by more words.
fn is_phone_trailer(line: &str) -> bool {
    let line = folded(line.trim().trim_end_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation()));
    PHONE_TRAILERS
        .iter()
        .map(|trailer| folded(trailer))
        .any(|trailer| line.strip_prefix(trailer.as_str()).is_some_and(|rest| rest.is_empty() || rest.starts_with(' ')))
}

/// Lowercase, without the accents the trailers carry.
fn folded(text: &str) -> String {
    text.to_lowercase().replace('é', "e").replace('à', "a")
}

/// Replaces typographic characters by their GSM-7 equivalent; accented letters are kept.
///
/// - Apostrophes and single quotes `’ ‘ ‚ ‛ ′ ‹ ›` become `'`.
/// - Double quotes `“ ” „ ‟ ″ « »` become `"`; the spaces inside guillemets go, as French
///   typing puts them there: `« Bonjour »` becomes `"Bonjour"` (same for `‹ ›`).
/// - Dashes and hyphens `‐ ‑ ‒ – — ― −` and bullets `• ·` become `-`.
/// - `…` becomes `...`, `œ` `oe` and `Œ` `OE`.
/// - Every Unicode space (no-break U+00A0 and U+202F, U+2000–U+200A, U+1680, U+205F, U+3000)
///   becomes a plain space.
/// - Invisible characters that mean nothing in an SMS are removed: the zero-width space U+200B,
///   the word joiner U+2060, the byte order mark U+FEFF and the soft hyphen U+00AD.
///
/// The zero-width non-joiner U+200C and joiner U+200D are kept: they are part of the text.
/// The joiner makes one emoji of several (👨‍👩‍👧 is a family, not three faces) and the
/// non-joiner shapes words of Persian and Indic scripts (می‌خواهم). Both make the text UCS-2,
/// as the letters around them already do.
pub fn smart_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    let mut inside_opening_guillemet = false;
    for character in text.chars() {
        if is_space(character) {
            if !inside_opening_guillemet {
                encoded.push(' ');
            }
            continue;
        }
        if is_invisible(character) {
            continue;
        }
        inside_opening_guillemet = matches!(character, '«' | '‹');
        match character {
            '«' => encoded.push('"'),
            '‹' => encoded.push('\''),
            '»' | '›' => {
                encoded.truncate(encoded.trim_end_matches(' ').len());
                encoded.push(if character == '»' { '"' } else { '\'' });
            }
            other => match gsm7_equivalent(other) {
                Some(equivalent) => encoded.push_str(equivalent),
                None => encoded.push(other),
            },
        }
    }
    encoded
}

fn is_space(character: char) -> bool {
    matches!(character, ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}')
}

fn is_invisible(character: char) -> bool {
    matches!(character, '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{AD}')
}

/// The GSM-7 writing of a typographic character, guillemets and spaces aside.
fn gsm7_equivalent(character: char) -> Option<&'static str> {
    Some(match character {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' => "'",
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' => "\"",
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{2022}' | '\u{B7}' => "-",
        '\u{2026}' => "...",
        'œ' => "oe",
        'Œ' => "OE",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::segments::{self, Encoding};
    use proptest::prelude::*;

    #[test]
    fn quotes_and_apostrophes_become_ascii() {
        assert_eq!(smart_encode("l’école ‘a’ ‚b‛ 5′"), "l'école 'a' 'b' 5'");
        assert_eq!(smart_encode("“oui” „non‟ 5″"), "\"oui\" \"non\" 5\"");
    }

    #[test]
    fn guillemets_lose_their_inner_spaces() {
        assert_eq!(smart_encode("« Bonjour »"), "\"Bonjour\"");
        assert_eq!(smart_encode("«\u{a0}Bonjour\u{a0}»"), "\"Bonjour\"");
        assert_eq!(smart_encode("Il dit «\u{202f}oui\u{202f}» puis part"), "Il dit \"oui\" puis part");
        assert_eq!(smart_encode("«Bonjour»"), "\"Bonjour\"");
        assert_eq!(smart_encode("‹ oui ›"), "'oui'");
        assert_eq!(smart_encode("«\n»"), "\"\n\"", "line breaks are not spaces");
    }

    #[test]
    fn dashes_bullets_and_ellipsis() {
        assert_eq!(smart_encode("a‐b‑c‒d–e—f―g−h"), "a-b-c-d-e-f-g-h");
        assert_eq!(smart_encode("• un\n· deux"), "- un\n- deux");
        assert_eq!(smart_encode("Attendez…"), "Attendez...");
    }

    #[test]
    fn ligatures_are_spelt_out() {
        assert_eq!(smart_encode("cœur Œuvre"), "coeur OEuvre");
    }

    #[test]
    fn unicode_spaces_become_plain_spaces() {
        for space in
            ['\u{a0}', '\u{1680}', '\u{2000}', '\u{2005}', '\u{2009}', '\u{200a}', '\u{202f}', '\u{205f}', '\u{3000}']
        {
            assert_eq!(smart_encode(&format!("10{space}€")), "10 €", "{:?}", space);
        }
    }

    #[test]
    fn invisible_characters_are_removed() {
        for invisible in ['\u{200b}', '\u{2060}', '\u{feff}', '\u{ad}'] {
            assert_eq!(smart_encode(&format!("ab{invisible}c")), "abc", "{:?}", invisible);
        }
    }

    #[test]
    fn joiners_are_kept() {
        for joiner in ['\u{200c}', '\u{200d}'] {
            assert_eq!(smart_encode(&format!("ab{joiner}c")), format!("ab{joiner}c"), "{:?}", joiner);
        }
    }

    #[test]
    fn a_family_emoji_stays_one_family() {
        let family = "👨\u{200d}👩\u{200d}👧";
        let text = clean_body(&format!("Bonne fête {family}\r\n\r\nEnvoyé de mon iPhone"));
        assert_eq!(text, format!("Bonne fête {family}"));
        let counted = segments::count(&text);
        assert_eq!(counted.encoding, Encoding::Ucs2);
        assert_eq!(counted.units, 11 + 3 * 2 + 2, "11 letters and spaces, 3 emoji of 2 units, 2 joiners");
        assert_eq!(counted.parts, 1);
    }

    #[test]
    fn a_persian_word_keeps_its_non_joiner() {
        let word = "می\u{200c}خواهم";
        assert_eq!(clean_body(&format!("{word}\n-- \nعلی")), word);
        let counted = segments::count(word);
        assert_eq!((counted.encoding, counted.units, counted.parts), (Encoding::Ucs2, 8, 1));
    }

    #[test]
    fn what_cleaning_removes_is_exactly_what_the_readme_lists() {
        // The README's list, character by character: anything else reaches the SMS unchanged.
        let removed = ['\u{200b}', '\u{2060}', '\u{feff}', '\u{ad}', '\u{0}', '\u{7}', '\u{1b}', '\u{7f}', '\u{85}'];
        for character in removed {
            assert_eq!(clean_body(&format!("a{character}b")), "ab", "{:?}", character);
        }
        let kept = "\u{200c}\u{200d}\u{200e}\u{200f}\u{fe0f}\u{034f}\u{180e}\u{2061}\u{e0001}🏳\u{fe0f}\u{200d}🌈";
        assert_eq!(clean_body(&format!("a{kept}b")), format!("a{kept}b"));
    }

    #[test]
    fn accents_and_other_characters_are_kept() {
        let text = "éèàùçêâîôûëïüÿ ÉÈÀÇ ñ ß € 😀 ¿¡ @ 中文";
        assert_eq!(smart_encode(text), text);
    }

    #[test]
    fn a_typographic_french_message_becomes_gsm7() {
        let typed = "Bonjour\u{a0}! «\u{202f}Soldes\u{202f}» – jusqu’à −50\u{a0}%… l’été\u{200b}";
        let encoded = smart_encode(typed);
        assert_eq!(encoded, "Bonjour ! \"Soldes\" - jusqu'à -50 %... l'été");
        assert_eq!(segments::count(&encoded).encoding, Encoding::Gsm7);
    }

    #[test]
    fn line_endings_become_line_feeds() {
        assert_eq!(clean_body("a\r\nb\rc\nd"), "a\nb\nc\nd");
        assert_eq!(clean_body("a\r\n\r\nb"), "a\n\nb");
    }

    #[test]
    fn the_signature_is_cut() {
        assert_eq!(clean_body("Bonjour\n-- \nJean Dupont\n06 12 34 56 78"), "Bonjour");
        assert_eq!(clean_body("Bonjour\r\n--\r\nJean"), "Bonjour", "without the trailing space");
        assert_eq!(clean_body("Bonjour\n--\u{a0}\nJean"), "Bonjour", "with a no-break space");
        assert_eq!(clean_body("Un\n-- \nDeux\n-- \nTrois"), "Un", "from the first separator");
        assert_eq!(clean_body("-- \nJean"), "");
    }

    #[test]
    fn a_signature_is_found_where_cleaning_would_cut_it() {
        for body in
            ["Bonjour\n-- \nJean", "Bonjour\r\n--\r\nJean", "Bonjour\n--\u{a0}\nJean", "-- \nJean", "a\n-\u{200b}-\n"]
        {
            assert!(has_signature(body), "{body:?}");
            assert!(clean_body(&format!("{body}\nmore")).len() < body.len(), "{body:?}");
        }
        for body in ["Bonjour", "a -- b\n--- \n -- \n--x", "Bonjour\n -- \nJean", ""] {
            assert!(!has_signature(body), "{body:?}");
        }
    }

    #[test]
    fn dashes_that_are_not_a_signature_line_stay() {
        assert_eq!(clean_body("a -- b\n--- \n -- \n--x\nfin"), "a -- b\n--- \n -- \n--x\nfin");
    }

    #[test]
    fn phone_trailers_at_the_end_are_removed() {
        assert_eq!(clean_body("Rendez-vous à 9h\n\nSent from my iPhone"), "Rendez-vous à 9h");
        assert_eq!(clean_body("Rendez-vous à 9h\nEnvoyé de mon iPhone\n\n"), "Rendez-vous à 9h");
        assert_eq!(clean_body("Rendez-vous\n\nEnvoyé à partir d’Outlook pour iOS"), "Rendez-vous");
        assert_eq!(clean_body("Rendez-vous\n\nEnvoye a partir d'Outlook pour Android"), "Rendez-vous");
        assert_eq!(clean_body("Rendez-vous\nSENT FROM MY IPHONE."), "Rendez-vous");
        assert_eq!(clean_body("Rendez-vous\n  sent from my ipad  \n"), "Rendez-vous");
        assert_eq!(clean_body("Rendez-vous\nSent from my iPhone 15 Pro"), "Rendez-vous");
        assert_eq!(clean_body("Rendez-vous\nEnvoyé de mon iPhone de Marie…"), "Rendez-vous");
    }

    #[test]
    fn every_listed_trailer_is_removed() {
        for trailer in PHONE_TRAILERS {
            assert_eq!(clean_body(&format!("Message\n\n{trailer}\n")), "Message", "{trailer}");
            assert_eq!(clean_body(&format!("Message\n{}", trailer.to_uppercase())), "Message", "{trailer}");
        }
    }

    #[test]
    fn stacked_trailers_and_the_signature_under_them_are_removed() {
        assert_eq!(clean_body("Message\n\nGet Outlook for iOS\n\nSent from my iPhone\n"), "Message");
        assert_eq!(clean_body("Message\n\nSent from my iPhone\n-- \nJean"), "Message");
    }

    #[test]
    fn trailers_elsewhere_than_the_end_stay() {
        assert_eq!(clean_body("Sent from my iPhone\nMessage"), "Sent from my iPhone\nMessage");
        assert_eq!(clean_body("Message\nSent from my iPhoneX"), "Message\nSent from my iPhoneX", "a longer word");
        assert_eq!(clean_body("Message\nnot Sent from my iPhone"), "Message\nnot Sent from my iPhone");
    }

    #[test]
    fn a_body_that_is_only_a_trailer_is_empty() {
        assert_eq!(clean_body("Sent from my iPhone"), "");
        assert_eq!(clean_body("\r\n  \r\nEnvoyé de mon iPhone\r\n"), "");
    }

    #[test]
    fn blank_line_runs_are_shortened_to_two() {
        assert_eq!(clean_body("a\n\nb"), "a\n\nb");
        assert_eq!(clean_body("a\n\n\nb"), "a\n\n\nb");
        assert_eq!(clean_body("a\n\n\n\n\n\nb"), "a\n\n\nb");
        assert_eq!(clean_body("a\n \n\t\n  \n \nb"), "a\n\n\nb", "whitespace-only lines are blank");
    }

    #[test]
    fn the_whole_text_is_trimmed_but_lines_keep_their_spacing() {
        assert_eq!(
            clean_body("\n\n   Bonjour,\n    voici   la liste :  \n - un\n\n"),
            "Bonjour,\n    voici   la liste :  \n - un"
        );
    }

    #[test]
    fn a_separator_first_once_trimmed_is_a_signature() {
        assert_eq!(clean_body("\n  -- \nJean"), "");
        assert_eq!(clean_body("Bonjour\n -- \nJean"), "Bonjour\n -- \nJean");
    }

    #[test]
    fn tabs_become_spaces_and_control_characters_go() {
        assert_eq!(clean_body("a\tb\u{0}c\u{1b}d\u{7f}e\u{85}f\u{c}g"), "a bcdefg");
    }

    #[test]
    fn the_body_is_smart_encoded() {
        assert_eq!(clean_body("C’est «\u{a0}top\u{a0}»\u{a0}!"), "C'est \"top\" !");
    }

    #[test]
    fn an_empty_body_is_empty() {
        assert_eq!(clean_body(""), "");
        assert_eq!(clean_body(" \r\n\t\u{a0}\u{200b}\n"), "");
    }

    proptest! {
        #[test]
        fn cleaning_never_panics_and_leaves_no_carriage_return(body in any::<String>()) {
            let text = clean_body(&body);
            prop_assert!(!text.contains('\r'));
            prop_assert!(!text.contains("\n\n\n\n"));
            prop_assert!(text.chars().all(|c| c == '\n' || !c.is_control()));
            prop_assert_eq!(text.trim(), text.as_str());
        }

        #[test]
        fn cleaning_twice_changes_nothing(body in "(\\PC|\n|\r| ){0,80}") {
            let once = clean_body(&body);
            prop_assert_eq!(clean_body(&once), once.clone());
        }

        #[test]
        fn smart_encoding_twice_changes_nothing(text in any::<String>()) {
            let once = smart_encode(&text);
            prop_assert_eq!(smart_encode(&once), once.clone());
        }

        #[test]
        fn smart_encoding_keeps_gsm7_text_as_is(text in "[a-zA-Z0-9àéèùìòÇ@£$!?.,;:'\"()€\n-]{0,200}") {
            prop_assert_eq!(smart_encode(&text), text);
        }
    }
}
