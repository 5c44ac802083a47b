//! Keeping the API key out of what the gateway writes: replies, records and logs never hold 16
//! or more consecutive characters of the key a customer typed, wherever else in the subject
//! they typed it (an option's name, the number list, a field cut in two by a `|`).
//!
//! Quoting a piece of the subject back is useful ("option inconnue « dat »"); quoting the key
//! is not, and a piece of it is as good as the whole to someone who sees several replies.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::iter;

/// What a piece of the key becomes.
pub const MASK: &str = "****";

/// The character [`MASK`] is made of.
const MASK_CHARACTER: char = '*';

/// The fewest consecutive characters of a key that count as a piece of it. A shorter run is
/// kept: 15 characters of a 40-character hexadecimal key leave 100 bits unknown, and shorter
/// runs match ordinary words and numbers too often to be masked.
pub const SECRET_RUN: usize = 16;

/// `text` with every run of at least [`SECRET_RUN`] consecutive characters of `secret` (any
/// substring of it, not only the whole: a key cut short or quoted in part goes too) replaced by
/// [`MASK`]; overlapping or adjacent runs become one mask. A secret shorter than
/// [`SECRET_RUN`] is masked wherever it appears whole. An empty secret hides nothing.
///
/// Characters are compared exactly (case included). The work is linear in the lengths of
/// `text` and `secret` (times [`SECRET_RUN`]), and the memory in the shorter of the two: the
/// windows of [`SECRET_RUN`] characters of the shorter one are indexed and those of the other
/// looked up, so a hostile 100 KB key or text costs no more than reading it.
pub fn redact<'a>(text: &'a str, secret: &str) -> Cow<'a, str> {
    let mut redacted = Cow::Borrowed(text);
    // A mask next to what is left could itself spell a run of a key that holds `*`: mask again
    // until nothing is left. A run is longer than the mask, so each pass shortens the text and
    // this ends; a key without `*` needs a single pass. (A key of at most 4 characters is
    // masked once: the mask would spell it again.)
    let again = secret.contains(MASK_CHARACTER) && secret.chars().nth(MASK.len()).is_some();
    loop {
        let runs = secret_runs(&redacted, secret);
        if runs.is_empty() {
            return redacted;
        }
        redacted = Cow::Owned(masked(&redacted, &runs));
        if !again {
            return redacted;
        }
    }
}

/// Whether `text` holds a run that [`redact`] would mask.
pub fn reveals(text: &str, secret: &str) -> bool {
    !secret_runs(text, secret).is_empty()
}

/// The byte ranges of `text` that are runs of `secret`, sorted and merged.
fn secret_runs(text: &str, secret: &str) -> Vec<(usize, usize)> {
    let width = secret.chars().take(SECRET_RUN).count();
    if width == 0 || text.len() < width {
        return Vec::new();
    }
    let mut ranges: Vec<(usize, usize)> = if secret.len() <= text.len() {
        let pieces: HashSet<&str> = windows(secret, width).map(|(_, piece)| piece).collect();
        windows(text, width).filter(|(_, piece)| pieces.contains(piece)).map(|(range, _)| range).collect()
    } else {
        let mut places: HashMap<&str, Vec<(usize, usize)>> = HashMap::new();
        for (range, piece) in windows(text, width) {
            places.entry(piece).or_default().push(range);
        }
        let mut found = Vec::new();
        for (_, piece) in windows(secret, width) {
            if let Some(ranges) = places.remove(piece) {
                found.extend(ranges);
            }
            if places.is_empty() {
                break;
            }
        }
        found.sort_unstable();
        found
    };
    // Merge overlapping and touching ranges: two runs side by side are one longer run.
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges.drain(..) {
        match merged.last_mut() {
            Some((_, last_end)) if start <= *last_end => *last_end = (*last_end).max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// Every window of `width` characters of `text`, with its byte range.
fn windows(text: &str, width: usize) -> impl Iterator<Item = ((usize, usize), &str)> {
    let starts = text.char_indices().map(|(index, _)| index);
    let ends = text.char_indices().map(|(index, _)| index).chain(iter::once(text.len())).skip(width);
    starts.zip(ends).map(move |(start, end)| ((start, end), &text[start..end]))
}

/// `text` with each of the (sorted, disjoint) byte ranges replaced by [`MASK`].
fn masked(text: &str, ranges: &[(usize, usize)]) -> String {
    let mut masked = String::with_capacity(text.len());
    let mut kept_from = 0;
    for &(start, end) in ranges {
        masked.push_str(&text[kept_from..start]);
        masked.push_str(MASK);
        kept_from = end;
    }
    masked.push_str(&text[kept_from..]);
    masked
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY: &str = "3f9c0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5de21f";

    #[test]
    fn the_whole_key_is_masked() {
        assert_eq!(redact(&format!("option inconnue « {KEY} »"), KEY), "option inconnue « **** »");
        assert_eq!(redact(KEY, KEY), MASK);
    }

    #[test]
    fn a_piece_of_sixteen_characters_is_masked_and_one_of_fifteen_kept() {
        let sixteen = &KEY[10..26];
        let fifteen = &KEY[10..25];
        assert_eq!(redact(&format!("x{sixteen}y"), KEY), "x****y");
        assert_eq!(redact(&format!("x{fifteen}y"), KEY), format!("x{fifteen}y"));
        assert!(matches!(redact(&format!("x{fifteen}y"), KEY), Cow::Borrowed(_)), "nothing copied");
    }

    #[test]
    fn a_key_cut_short_or_quoted_in_part_is_masked() {
        assert_eq!(redact(&format!("« {}… »", &KEY[..39]), KEY), "« ****… »");
        assert_eq!(redact(&format!("« {} »", &KEY[5..]), KEY), "« **** »");
    }

    #[test]
    fn a_repeated_key_is_masked_every_time() {
        assert_eq!(redact(&format!("{KEY} et {KEY}"), KEY), "**** et ****");
        assert_eq!(redact(&format!("{KEY}{KEY}"), KEY), MASK, "side by side, one mask");
    }

    #[test]
    fn pieces_overlapping_two_places_of_the_key_are_masked_whole() {
        // The end of the key followed by its start: each half is a run, together one mask.
        let text = format!("<{}{}>", &KEY[20..], &KEY[..20]);
        assert_eq!(redact(&text, KEY), "<****>");
    }

    #[test]
    fn characters_around_the_key_are_kept_whatever_their_script() {
        let key = "clé-ÉTÉ-😀-ключ-秘密-0123456789";
        assert_eq!(redact(&format!("«\u{a0}{key}\u{a0}» → 東京"), key), "«\u{a0}****\u{a0}» → 東京");
        let piece: String = key.chars().skip(3).take(16).collect();
        assert_eq!(redact(&format!("ü{piece}ü"), key), "ü****ü");
        let short: String = key.chars().skip(3).take(15).collect();
        assert_eq!(redact(&format!("ü{short}ü"), key), format!("ü{short}ü"));
    }

    #[test]
    fn a_short_key_is_masked_only_whole() {
        assert_eq!(redact("de135f8d2a091e4 et de135", "de135f8d2a091e4"), "**** et de135");
        assert_eq!(redact("k", "k"), MASK);
    }

    #[test]
    fn a_key_made_of_the_mask_is_masked_once() {
        assert_eq!(redact("a*b", "*"), "a****b");
        assert_eq!(redact("**", "**"), MASK);
        assert_eq!(redact("*****", "*****"), MASK);
    }

    #[test]
    fn an_empty_key_hides_nothing() {
        assert_eq!(redact("anything", ""), "anything");
        assert_eq!(redact("", KEY), "");
    }

    #[test]
    fn a_key_holding_the_mask_cannot_be_rebuilt_around_a_mask() {
        let key = "aaaaaaaaaaaa****bbbbbbbbbbbbbbbb";
        // One pass leaves `aaaaaaaaaaaa****`: the key's first 16 characters.
        assert_eq!(redact(&format!("aaaaaaaaaaaa{key}bbbbbbbbbbbbbbbb"), key), MASK);
    }

    #[test]
    fn a_long_text_or_a_long_key_costs_a_pass() {
        let text = "0123456789abcdef".repeat(10_000);
        let key: String = (0..100_000).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        assert_eq!(redact(&text, &key), text, "no run of the key");
        assert_eq!(redact(&key, &text), key);
        assert_eq!(redact(&text, &text), MASK);
        assert_eq!(redact(&format!("x{KEY}y"), &key), format!("x{KEY}y"));
    }

    proptest! {
        #[test]
        fn no_run_of_the_key_survives(
            key in "[a-f0-9*]{5,40}|[a-f0-9]{0,4}",
            pieces in proptest::collection::vec(("[a-z| *]{0,6}", 0usize..40, 0usize..40), 0..6),
        ) {
            let mut text = String::new();
            for (noise, from, len) in &pieces {
                text.push_str(noise);
                let from = (*from).min(key.len());
                text.push_str(&key[from..(from + len).min(key.len())]);
            }
            let redacted = redact(&text, &key);
            prop_assert!(!reveals(&redacted, &key), "{} -> {}", text, redacted);
            if key.len() >= SECRET_RUN {
                for start in 0..=key.len() - SECRET_RUN {
                    prop_assert!(!redacted.contains(&key[start..start + SECRET_RUN]));
                }
            }
        }

        #[test]
        fn text_without_a_run_is_unchanged(text in any::<String>(), key in any::<String>()) {
            let redacted = redact(&text, &key);
            prop_assert_eq!(matches!(redacted, Cow::Borrowed(_)), !reveals(&text, &key));
            if !reveals(&text, &key) {
                prop_assert_eq!(redacted, text.as_str());
            }
        }
    }
}
