//! The SMS text an email body becomes: the signature and the phone's "Sent from my…" lines
//! removed, and typographic characters replaced by their GSM-7 equivalent so that a French
//! message is not sent in UCS-2 (which holds less than half as much per SMS). The quoted
//! conversation under a reply and the message under a forward are left out too (see
//! [`quote`]), and an account may name the lines its customers' bodies are cut at
//! ([`CutRules`]).

use std::sync::LazyLock;

use crate::domain::quote;

/// The trailer lines phones and mail apps add under a message, removed from its end: one a
/// line, in `src/domain/trailers.txt` (`#` starts a comment). See [`phone_trailers`].
///
/// A line is one of these when, ignoring case, accents, surrounding whitespace and trailing
/// punctuation, it is the trailer or the trailer followed by more that does not continue its
/// last word ("Sent from my iPhone 15 Pro", "Envoyé de mon iPhone de Marie", but not "Sent from
/// my iPhoneX"). Accents are optional ("Envoye a partir d'Outlook pour iOS" matches too).
pub const PHONE_TRAILERS: &str = include_str!("trailers.txt");

/// The entries of [`PHONE_TRAILERS`], as written there.
pub fn phone_trailers() -> impl Iterator<Item = &'static str> {
    PHONE_TRAILERS.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#'))
}

/// [`phone_trailers`] as lines are compared with them.
static TRAILER_KEYS: LazyLock<Vec<String>> = LazyLock::new(|| phone_trailers().map(trailer_key).collect());

/// Consecutive blank lines kept at most; a longer run is shortened to this.
const MAX_BLANK_LINES: usize = 2;

/// The SMS text of an email body.
///
/// 1. Line endings become `\n` (from `\r\n` or `\r`).
/// 2. [`smart_encode`]; then a tab becomes a space and other control characters are removed
///    (GSM-7 has neither; they would turn the message UCS-2 for nothing).
/// 3. Leading whitespace is removed, then the quoted conversation or forwarded content is cut:
///    from the first separator or attribution line of [`quote::quoted_from`] to the end.
/// 4. The signature is cut: the first line that is `-- ` (RFC 3676), `--` (many clients drop
///    the trailing space) or `--` and more spaces, and everything after it.
/// 5. From the end, until nothing changes: [`PHONE_TRAILERS`] lines and blank lines are
///    removed, then a trailing block of quoted lines ([`quote::trailing_quote`]).
/// 6. Blank lines become empty, and more than two in a row become two.
/// 7. Trailing whitespace is removed; spacing inside lines is kept as typed.
///
/// An account's own cut rules are applied before, by [`CutRules::cut`].
pub fn clean_body(body: &str) -> String {
    let encoded = normalised(body);
    let mut lines: Vec<&str> = encoded.trim_start().split('\n').collect();
    if let Some(quote) = quote::quoted_from(&lines) {
        lines.truncate(quote);
    }
    if let Some(signature) = lines.iter().position(|line| is_signature_separator(line)) {
        lines.truncate(signature);
    }
    remove_trailing_lines(&mut lines);
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

/// Whether [`clean_body`] would cut this body at a line whatever follows it: one of its lines,
/// once line endings, typographic characters and control characters are dealt with, is a
/// signature separator, or starts a quoted conversation or forwarded content
/// ([`quote::quoted_from`]). Everything after the first one is then left out of the SMS,
/// however long it is. (A trailing block of quoted lines does not count: in the beginning of a
/// longer body, it may not be trailing.)
pub fn has_signature(body: &str) -> bool {
    let encoded = normalised(body);
    let lines: Vec<&str> = encoded.trim_start().split('\n').collect();
    lines.iter().any(|line| is_signature_separator(line)) || quote::quoted_from(&lines).is_some()
}

/// An account's cut rules (`mail2sms-admin account update LOGIN --cut-at TEXT`): the body is
/// cut at the first line that begins with one of them, case, accents, typography (`’` is `'`)
/// and whitespace runs ignored, before it is [cleaned](clean_body). A rule that is blank once
/// folded never applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CutRules {
    /// The rules, [`folded`] after [`smart_encode`].
    keys: Vec<String>,
}

impl CutRules {
    pub fn new(rules: &[String]) -> CutRules {
        CutRules { keys: rules.iter().map(|rule| cut_key(rule)).filter(|key| !key.is_empty()).collect() }
    }

    /// Whether there is no rule (that can apply).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The body up to the first line that begins with one of the rules; the whole body when
    /// none does (or there is no rule).
    pub fn cut<'a>(&self, body: &'a str) -> &'a str {
        if self.keys.is_empty() {
            return body;
        }
        let mut start = 0;
        for line in body.split_inclusive(['\n', '\r']) {
            let key = cut_key(line);
            if self.keys.iter().any(|rule| key.starts_with(rule.as_str())) {
                return &body[..start];
            }
            start += line.len();
        }
        body
    }

    /// Whether two rules are the same rule (one adds nothing to the other, one removes the other).
    pub fn same_rule(a: &str, b: &str) -> bool {
        cut_key(a) == cut_key(b)
    }
}

/// A rule or a line as cut rules compare them.
fn cut_key(text: &str) -> String {
    folded(&normalised(text))
}

/// `text` as the gateway compares words: lowercase, without accents (Latin letters lose their
/// diacritics, `ß` is `ss`, `æ` `ae`, `œ` `oe`), whitespace runs one space, trimmed.
pub(crate) fn folded(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    let mut space_pending = false;
    for character in text.chars().flat_map(char::to_lowercase) {
        if character.is_whitespace() {
            space_pending = !folded.is_empty();
        } else if !('\u{300}'..='\u{36f}').contains(&character) {
            if std::mem::take(&mut space_pending) {
                folded.push(' ');
            }
            match unaccented(character) {
                Some(plain) => folded.push_str(plain),
                None => folded.push(character),
            }
        }
    }
    folded
}

/// A lowercase Latin letter with a diacritic, without it.
fn unaccented(character: char) -> Option<&'static str> {
    Some(match character {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'ç' | 'ć' | 'č' => "c",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => "i",
        'ñ' | 'ń' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => "u",
        'ý' | 'ÿ' => "y",
        'ś' | 'š' => "s",
        'ź' | 'ż' | 'ž' => "z",
        'ł' => "l",
        'ř' => "r",
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        _ => return None,
    })
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

/// A line that starts a signature: `--` and nothing else but spaces: `-- ` (RFC 3676), `--`
/// (many clients drop the space), or `--` and spaces (a tab or a no-break space typed after it
/// is a space by then). Trimmed at the end of the text, such a line would read `--`: were it
/// not a separator, cleaning twice would cut what cleaning once kept.
fn is_signature_separator(line: &str) -> bool {
    line.strip_prefix("--").is_some_and(|rest| rest.bytes().all(|byte| byte == b' '))
}

/// Step 5 of [`clean_body`]: trailers, blank lines and a trailing quote block, from the end,
/// until none is left there.
fn remove_trailing_lines(lines: &mut Vec<&str>) {
    loop {
        while lines.last().is_some_and(|last| last.trim().is_empty() || is_phone_trailer(last)) {
            lines.pop();
        }
        match quote::trailing_quote(lines) {
            Some(quote) => lines.truncate(quote),
            None => return,
        }
    }
}

/// Whether a line is one of [`PHONE_TRAILERS`], possibly followed by more.
fn is_phone_trailer(line: &str) -> bool {
    let line = trailer_key(line);
    TRAILER_KEYS.iter().any(|trailer| {
        line.strip_prefix(trailer.as_str()).is_some_and(|rest| rest.chars().next().is_none_or(|c| !c.is_alphanumeric()))
    })
}

/// A trailer, or a line, as they are compared: [`smart_encode`]d, without trailing whitespace
/// and punctuation, [`folded`].
fn trailer_key(line: &str) -> String {
    folded(smart_encode(line).trim_end_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation()))
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
        assert_eq!(clean_body("Bonjour\n--  \t\nJean"), "Bonjour", "with more spaces");
        assert_eq!(clean_body("Bonjour\n--  "), "Bonjour", "last, so that cleaning again changes nothing");
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
    fn every_listed_trailer_is_removed_when_last_and_kept_when_not() {
        assert!(phone_trailers().count() >= 80, "the list is read");
        for trailer in phone_trailers() {
            assert_eq!(clean_body(&format!("Message\n\n{trailer}\n")), "Message", "{trailer}");
            assert_eq!(clean_body(&format!("Message\n{}", trailer.to_uppercase())), "Message", "{trailer}");
            assert_eq!(clean_body(&format!("Message\n{trailer} 15 Pro.")), "Message", "{trailer} and more words");
            let not_last = format!("{trailer}\nMessage");
            assert_eq!(clean_body(&not_last), not_last, "{trailer} first");
            let mid = format!("Message\n{trailer}\nsuite");
            assert_eq!(clean_body(&mid), mid, "{trailer} in the middle");
        }
    }

    #[test]
    fn every_trailer_is_listed_once_and_written_as_data() {
        let keys: Vec<String> = phone_trailers().map(trailer_key).collect();
        for (index, key) in keys.iter().enumerate() {
            assert!(!key.is_empty(), "{key:?}");
            assert!(!keys[..index].contains(key), "{key} listed twice");
        }
        assert!(PHONE_TRAILERS.lines().all(|line| line == line.trim_end()), "no trailing spaces in trailers.txt");
    }

    #[test]
    fn trailers_of_every_language_are_removed() {
        for trailer in [
            "Envoyé à partir de Outlook pour iOS",
            "Obtenir Outlook pour Android",
            "Sent from Yahoo Mail for iPhone",
            "Envoyé de mon appareil Galaxy",
            "Von meinem iPhone gesendet",
            "Enviado desde mi iPhone",
            "Inviato da iPhone",
            "Sent from my Samsung Galaxy smartphone.",
            "Envoye a partir d'Outlook pour iOS",
            "Envoyé à partir d’Outlook pour iOS",
            "Gesendet mit der GMX Mail App",
            "Sent from my BlackBerry® wireless device",
        ] {
            assert_eq!(clean_body(&format!("Rendez-vous à 9h\n\n{trailer}")), "Rendez-vous à 9h", "{trailer}");
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

    fn rules(rules: &[&str]) -> CutRules {
        CutRules::new(&rules.iter().map(|rule| rule.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn a_cut_rule_cuts_at_the_first_line_that_begins_with_it() {
        let body = "Bonjour,\nLivraison demain.\n\nCordialement,\nJean Dupont\nBoutique Dupont\nTél : 01 23 45 67 89";
        assert_eq!(rules(&["Cordialement"]).cut(body), "Bonjour,\nLivraison demain.\n\n");
        assert_eq!(clean_body(rules(&["Cordialement"]).cut(body)), "Bonjour,\nLivraison demain.");
        assert_eq!(rules(&["Bien à vous", "Cordialement"]).cut(body), "Bonjour,\nLivraison demain.\n\n", "any rule");
        assert_eq!(rules(&["Livraison", "Cordialement"]).cut(body), "Bonjour,\n", "the first line, whichever rule");
    }

    #[test]
    fn a_cut_rule_ignores_case_accents_typography_and_leading_spaces() {
        let body = "Merci\n   BIEN A VOUS,\nJean";
        assert_eq!(rules(&["bien à vous"]).cut(body), "Merci\n");
        assert_eq!(rules(&["Bien  à\u{a0}vous"]).cut(body), "Merci\n", "whitespace runs");
        assert_eq!(rules(&["L’équipe"]).cut("Merci\r\nL'EQUIPE Dupont"), "Merci\r\n", "apostrophes");
        assert_eq!(rules(&["Grüße"]).cut("Danke\nGRUSSE aus Berlin"), "Danke\n", "ß is ss");
    }

    #[test]
    fn a_cut_rule_in_the_middle_of_a_line_or_absent_cuts_nothing() {
        let body = "Merci et cordialement\nJean";
        assert_eq!(rules(&["Cordialement"]).cut(body), body);
        assert_eq!(rules(&[]).cut(body), body);
        assert_eq!(rules(&["", "  ", "\u{200b}"]).cut(body), body, "a blank rule never applies");
        assert_eq!(rules(&["Jean-Pierre"]).cut(body), body);
    }

    #[test]
    fn a_cut_rule_on_the_first_line_leaves_nothing() {
        assert_eq!(clean_body(rules(&["Cordialement"]).cut("\n  Cordialement\nJean")), "");
    }

    #[test]
    fn rules_are_the_same_rule_whatever_their_case_and_accents() {
        assert!(CutRules::same_rule("Cordialement", " CORDIALEMENT "));
        assert!(CutRules::same_rule("Bien à vous", "bien a  vous"));
        assert!(!CutRules::same_rule("Bien à vous", "Bien à toi"));
    }

    #[test]
    fn folding_is_lowercase_unaccented_and_single_spaced() {
        assert_eq!(folded("  Début du  Message\tRÉEXPÉDIÉ : "), "debut du message reexpedie :");
        assert_eq!(folded("Ursprüngliche Straße Æsop Œuvre ñ"), "ursprungliche strasse aesop oeuvre n");
        assert_eq!(folded("e\u{301}crit"), "ecrit", "combining accents");
        assert_eq!(folded("中文 😀"), "中文 😀");
    }

    #[test]
    fn quoted_conversation_comes_off_before_the_signature_and_trailers() {
        let body = "Merci\n-- \nJean\n\nLe 25 nov. 2026 à 10:00, Mail2SMS <a@b.c> a écrit :\n> x";
        assert_eq!(clean_body(body), "Merci");
        assert_eq!(clean_body("Merci\n\nSent from my iPhone\n\nOn Nov 25, 2026, at 10:00, X wrote:\n> x"), "Merci");
    }

    #[test]
    fn a_quote_marks_where_a_long_body_is_cut() {
        assert!(has_signature("Merci\n-----Original Message-----\nFrom: x"));
        assert!(has_signature("Merci\nOn Nov 25, 2026, at 10:00, X wrote:\n> x"));
        assert!(!has_signature("Merci\n\n> x\n> y"), "a trailing quote may not be trailing in the whole body");
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
        fn cut_rules_never_panic_and_cut_at_a_line_start(body in any::<String>(), rule in any::<String>()) {
            let cut = CutRules::new(&[rule]).cut(&body);
            prop_assert!(body.starts_with(cut));
            prop_assert!(cut.is_empty() || cut.len() == body.len() || cut.ends_with(['\n', '\r']));
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
