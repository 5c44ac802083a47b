//! Header fields as text: found by name, unfolded, raw 8-bit bytes read as UTF-8 or
//! windows-1252 (see [`read_8bit`]), the Subject's encoded words decoded, the Message-ID's
//! brackets removed.

use mail_parser::parsers::MessageStream;
use mail_parser::{Header, HeaderValue};

use super::charset::read_8bit;

pub(super) fn is_named(header: &Header<'_>, name: &str) -> bool {
    header.name.as_str().eq_ignore_ascii_case(name)
}

/// The topmost header field of that name.
pub(super) fn field<'a, 'x>(headers: &'a [Header<'x>], name: &str) -> Option<&'a Header<'x>> {
    headers.iter().find(|header| is_named(header, name))
}

/// The bytes of a header field's value, as they are in the raw message.
fn raw_value<'a>(raw: &'a [u8], header: &Header<'_>) -> &'a [u8] {
    raw.get(header.offset_start as usize..header.offset_end as usize).unwrap_or_default()
}

/// A header field's value as text: unfolded and trimmed, raw 8-bit bytes read as in [`read_8bit`].
pub(super) fn field_text(raw: &[u8], header: &Header<'_>) -> String {
    let text = read_8bit(raw_value(raw, header));
    text.split(['\r', '\n']).collect::<String>().trim().to_owned()
}

/// An unstructured header field (Subject): raw 8-bit bytes read as in [`read_8bit`], then RFC
/// 2047 encoded words decoded and the whole unfolded into one line by mail-parser. Control
/// characters an encoded word may hold become spaces.
pub(super) fn unstructured_text(raw: &[u8], header: &Header<'_>) -> String {
    let mut value = read_8bit(raw_value(raw, header)).into_owned();
    value.push('\n');
    match MessageStream::new(value.as_bytes()).parse_unstructured() {
        HeaderValue::Text(text) => {
            text.chars().map(|character| if character.is_control() { ' ' } else { character }).collect()
        }
        _ => String::new(),
    }
}

/// A Message-ID without its angle brackets, if it is one id with no space or bracket inside.
pub(super) fn message_id(value: &HeaderValue<'_>) -> Option<String> {
    let id = match value {
        HeaderValue::Text(id) => id.trim().trim_start_matches('<').trim_end_matches('>'),
        _ => return None,
    };
    let well_formed = !id.is_empty()
        && !id.contains(|character: char| {
            character.is_whitespace() || character.is_control() || "<>".contains(character)
        });
    well_formed.then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use crate::mail::Author;
    use crate::mail::testing::read;

    #[test]
    fn an_encoded_subject_folded_over_two_lines_reads_as_one() {
        let mail = read(fixture!("subject-rfc2047-folded"));
        assert_eq!(
            mail.subject.as_deref(),
            Some("chloé@4d5e6f7a8b9c0d1e|33639980008;33639980009|date=2030-06-01 09:00:00")
        );
        assert_eq!(mail.body.as_deref(), Some("Réunion de chantier décalée à 10h.\n"));
    }

    #[test]
    fn a_subject_of_raw_latin1_bytes_is_read_as_latin1() {
        let mail = read(fixture!("subject-raw-8bit-latin1"));
        assert_eq!(mail.subject.as_deref(), Some("hélène@5e6f7a8b9c0d1e2f|33639980010|from=ATELIER"));
        assert_eq!(mail.from.address(), Some("helene.petit@example.com"));
    }

    #[test]
    fn raw_8bit_subjects_are_utf8_when_they_are_utf8_and_may_mix_encoded_words() {
        let mail = read("Subject: Caf\u{e9} =?ISO-8859-1?Q?cr=E8me?=\r\n\r\n".as_bytes());
        assert_eq!(mail.subject.as_deref(), Some("Café crème"));
        let mail = read(b"Subject: Caf\xe9 =?UTF-8?B?w6k=?=\r\n  suite \x80\r\n\r\n");
        assert_eq!(mail.subject.as_deref(), Some("Café é suite €"));
    }

    #[test]
    fn an_empty_subject_is_there_but_empty() {
        assert_eq!(read(b"Subject:\r\nFrom: a@example.com\r\n\r\n").subject.as_deref(), Some(""));
        assert_eq!(read(b"Subject:   \r\n\r\n").subject.as_deref(), Some(""));
        assert_eq!(read(b"From: a@example.com\r\n\r\n").subject, None);
    }

    #[test]
    fn an_encoded_line_break_in_the_subject_cannot_split_it() {
        let mail = read(b"Subject: =?UTF-8?Q?a=0D=0AFrom:_b?=\r\n\r\n");
        assert_eq!(mail.subject.as_deref(), Some("a  From: b"));
    }

    #[test]
    fn an_auto_reply_is_marked_so() {
        let mail = read(fixture!("auto-reply"));
        assert_eq!(mail.auto_submitted.as_deref(), Some("auto-replied"));
        assert_eq!(mail.subject.as_deref(), Some("Réponse automatique\u{a0}: sophie@6f7a8b9c0d1e2f3a|33639980011"));
    }

    #[test]
    fn a_mailing_list_message_is_marked_so() {
        let mail = read(fixture!("mailing-list"));
        assert!(mail.list_id);
        assert_eq!(mail.precedence.as_deref(), Some("list"));
        assert_eq!(mail.auto_submitted, None);
    }

    #[test]
    fn header_values_are_trimmed_and_lowercased() {
        let mail =
            read(b"From: a@example.com\r\nAuto-Submitted:  Auto-Generated (Failure)\r\nPrecedence: BULK \r\n\r\n");
        assert_eq!(mail.auto_submitted.as_deref(), Some("auto-generated (failure)"));
        assert_eq!(mail.precedence.as_deref(), Some("bulk"));
        assert!(!mail.list_id);
    }

    #[test]
    fn a_message_id_that_is_not_one_id_is_none() {
        assert_eq!(read(b"Message-ID: <a@example.com> <b@example.com>\r\n\r\n").message_id, None);
        assert_eq!(read(b"Message-ID: <>\r\n\r\n").message_id, None);
        assert_eq!(read(b"Message-ID: bare@example.com\r\n\r\n").message_id.as_deref(), Some("bare@example.com"));
    }

    #[test]
    fn a_huge_header_line_is_read_once() {
        let mut raw = b"From: a@example.com\r\nX-Junk: ".to_vec();
        raw.extend(std::iter::repeat_n(b'x', 8 * 1024 * 1024));
        raw.extend(b"\r\nSubject: ok\r\n\r\ntexte");
        let mail = read(&raw);
        assert_eq!((mail.subject.as_deref(), mail.body.as_deref()), (Some("ok"), Some("texte")));
        let mut raw = b"Subject: x\r\nFrom: ".to_vec();
        raw.extend("a@example.com, ".repeat(100_000).bytes());
        raw.extend(b"\r\n\r\ntexte");
        assert_eq!(read(&raw).from, Author::Ambiguous);
    }

    #[test]
    fn a_100_kb_subject_of_ten_thousand_numbers_is_read_whole() {
        let numbers: Vec<String> = (0..10_000).map(|i| format!("06{:08}", 12_340_000 + i)).collect();
        let subject = format!("a@k|{}", numbers.join(";"));
        assert!(subject.len() > 100_000);
        let mut raw = format!("From: a@example.com\r\nSubject: {subject}\r\n\r\ntexte").into_bytes();
        assert_eq!(read(&raw).subject.as_deref(), Some(subject.as_str()));
        raw.splice(
            0..0,
            b"Subject: =?UTF-8?Q?".iter().copied().chain("=C3=A9".repeat(20_000).bytes()).chain(*b"?=\r\n"),
        );
        assert_eq!(read(&raw).subject.map(|subject| subject.chars().count()), Some(20_000), "the first Subject");
    }
}
