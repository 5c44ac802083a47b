//! Bytes that are not the UTF-8 they claim (or do not claim anything): raw 8-bit header bytes
//! and text parts declared UTF-8, or not declared, that are latin-1 are read as windows-1252
//! rather than turned into U+FFFD.

use std::borrow::Cow;

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{Encoding, MessagePart, MimeHeaders};

use super::MAX_BODY_BYTES;

/// The most bytes of a text part's encoded content that are decoded again when its declared
/// UTF-8 turns out to be latin-1 (1 MiB): enough for [`MAX_BODY_BYTES`] of text in any
/// transfer encoding (quoted-printable triples a byte at most), and for HTML heavy with markup.
const MAX_REPAIRED_BYTES: usize = 16 * MAX_BODY_BYTES;

/// Bytes as text: UTF-8 when they are valid UTF-8, windows-1252 otherwise, which reads latin-1
/// too (the two differ only in 0x80–0x9F, control codes that latin-1 text does not use).
pub(super) fn read_8bit(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => Cow::Owned(bytes.iter().map(|&byte| windows_1252(byte)).collect()),
    }
}

fn windows_1252(byte: u8) -> char {
    const C1: [char; 32] = [
        '€', '\u{FFFD}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{FFFD}', 'Ž', '\u{FFFD}',
        '\u{FFFD}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{FFFD}', 'ž', 'Ÿ',
    ];
    match byte {
        0x80..=0x9F => C1[usize::from(byte - 0x80)],
        _ => char::from(byte),
    }
}

/// mail-parser reads a text part with no charset, or a declared UTF-8 one, as UTF-8 and turns
/// invalid bytes into U+FFFD. Scripts often send latin-1 that way: when the part's bytes (its
/// transfer encoding undone) are not UTF-8, they are read as windows-1252 instead.
///
/// Only the first [`MAX_REPAIRED_BYTES`] of the encoded part are decoded again (up to a line
/// end, where both transfer encodings may be cut); the second value says that some were left
/// out. When that first part is UTF-8 but for a character cut at its end, mail-parser's reading
/// is kept.
pub(super) fn repaired_text<'a>(part: &MessagePart<'_>, decoded: &'a str, raw: &[u8]) -> (Cow<'a, str>, bool) {
    let utf8_declared = part
        .content_type()
        .and_then(|content_type| content_type.attribute("charset"))
        .is_none_or(|charset| charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8"));
    if !utf8_declared || !decoded.contains('\u{FFFD}') {
        return (Cow::Borrowed(decoded), false);
    }
    let encoded = raw.get(part.offset_body as usize..part.offset_end as usize).unwrap_or_default();
    let cut = encoded.len() > MAX_REPAIRED_BYTES;
    let encoded = if cut {
        let end = encoded[..MAX_REPAIRED_BYTES]
            .iter()
            .rposition(|&byte| byte == b'\n')
            .map_or(MAX_REPAIRED_BYTES, |end| end + 1);
        &encoded[..end]
    } else {
        encoded
    };
    let bytes = match part.encoding {
        Encoding::QuotedPrintable => quoted_printable_decode(encoded),
        Encoding::Base64 => base64_decode(encoded),
        Encoding::None => Some(encoded.to_vec()),
    };
    let repaired = match bytes {
        Some(bytes) => match std::str::from_utf8(&bytes) {
            Err(error) if !(cut && error.error_len().is_none()) => Cow::Owned(read_8bit(&bytes).into_owned()),
            _ => Cow::Borrowed(decoded),
        },
        None => Cow::Borrowed(decoded),
    };
    (repaired, cut)
}

#[cfg(test)]
mod tests {
    use mail_parser::{MessageParser, PartType};

    use super::*;
    use crate::mail::testing::{body, read};

    #[test]
    fn outlook_windows_1252_quoted_printable_keeps_curly_apostrophes_and_accents() {
        let mail = read(fixture!("outlook-alternative-qp-windows-1252"));
        assert_eq!(
            mail.body.as_deref(),
            Some("Bonjour,\n\nLa commande n’est pas prête : retrait à l’accueil après 14h.\n\nMarie\n")
        );
        assert_eq!(mail.subject.as_deref(), Some("marie42@0a1b2c3d4e5f6a7b|33639980001|from=BOULANGER"));
    }

    #[test]
    fn iso_8859_1_8bit_body_is_decoded() {
        assert_eq!(
            body(fixture!("latin1-8bit")),
            "Votre colis est arrivé.\nRetrait à l'accueil avant 18h, pièce d'identité demandée.\n"
        );
    }

    #[test]
    fn undeclared_8bit_body_is_read_as_latin1_not_replacement_characters() {
        assert_eq!(body(fixture!("script-8bit-no-charset")), "Sauvegarde terminée : 12 fichiers copiés.\n");
    }

    #[test]
    fn a_huge_latin1_part_declared_utf8_is_repaired_within_bounds() {
        let body = "Caf\u{e9} cr\u{e8}me\r\n".repeat(200_000);
        let mut raw = b"From: a@example.com\r\nSubject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n".to_vec();
        raw.extend(body.chars().map(|c| c as u8));
        let mail = read(&raw);
        let kept = mail.body.expect("a body");
        assert!(kept.starts_with("Café crème\nCafé crème\n") && kept.len() <= MAX_BODY_BYTES, "{}", &kept[..40]);
        assert!(mail.body_too_long);
        let message = MessageParser::new().parse(&raw).expect("a message");
        let part = &message.parts[0];
        let PartType::Text(decoded) = &part.body else { panic!("a text part") };
        let (repaired, cut) = repaired_text(part, decoded, &raw);
        assert!(
            cut && repaired.len() <= 2 * MAX_REPAIRED_BYTES && repaired.ends_with("crème\r\n"),
            "{}",
            repaired.len()
        );
    }
}
