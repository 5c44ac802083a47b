//! The text the customer typed: which part of the email holds it (the first text/plain part,
//! else the first text/html part), read within [`MAX_BODY_BYTES`], and whether it is longer
//! than any SMS.

use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

use super::MAX_BODY_BYTES;
use super::charset::repaired_text;
use super::flowed::unflow;
use super::html::render_html;
use crate::domain::text::has_signature;

/// A body's text, and whether it is too long to be an SMS; see [`InboundMail::body_too_long`].
pub(super) struct TypedText {
    pub(super) text: String,
    pub(super) too_long: bool,
}

impl TypedText {
    /// `text`, the beginning of a body when `cut`.
    fn new(text: String, cut: bool) -> TypedText {
        let too_long = cut && !has_signature(&text);
        TypedText { text, too_long }
    }
}

/// The text the customer typed; see [`InboundMail::body`]. Only the first text/plain part and
/// the first text/html part are read, however many parts the email has.
pub(super) fn typed_text(message: &Message<'_>, raw: &[u8]) -> Option<TypedText> {
    let plain = message.text_bodies().find_map(|part| match &part.body {
        PartType::Text(text) => Some(plain_text(part, text, raw)),
        _ => None,
    });
    let html = || {
        message.html_bodies().find_map(|part| match &part.body {
            PartType::Html(html) => {
                let (html, repair_cut) = repaired_text(part, html, raw);
                let (text, cut) = render_html(&html, MAX_BODY_BYTES);
                Some(TypedText::new(text, cut || repair_cut))
            }
            _ => None,
        })
    };
    match plain {
        Some(typed) if typed.text.trim().is_empty() => {
            Some(html().filter(|html| !html.text.is_empty()).unwrap_or(typed))
        }
        Some(typed) => Some(typed),
        None => html(),
    }
}

/// A text/plain part's text: repaired if need be, its first [`MAX_BODY_BYTES`] kept,
/// `format=flowed` rejoined, line breaks `\n`.
fn plain_text(part: &MessagePart<'_>, decoded: &str, raw: &[u8]) -> TypedText {
    let (repaired, repair_cut) = repaired_text(part, decoded, raw);
    let (kept, cut) = beginning(&repaired, MAX_BODY_BYTES);
    let text = kept.replace("\r\n", "\n").replace('\r', "\n");
    let content_type = part.content_type();
    let parameter = |name: &str, value: &str| {
        content_type
            .and_then(|content_type| content_type.attribute(name))
            .is_some_and(|found| found.eq_ignore_ascii_case(value))
    };
    let text = if parameter("format", "flowed") { unflow(&text, parameter("delsp", "yes")) } else { text };
    TypedText::new(text, cut || repair_cut)
}

/// The first `limit` bytes of `text` at most, ending after a line break when there is one in
/// them (so that the last line kept is whole), on a character boundary otherwise; and whether
/// anything was left out.
fn beginning(text: &str, limit: usize) -> (&str, bool) {
    if text.len() <= limit {
        return (text, false);
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let end = text[..end].rfind('\n').map_or(end, |line_break| line_break + 1);
    (&text[..end], true)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::mail::InboundMail;
    use crate::mail::testing::{body, read};

    #[test]
    fn gmail_body_is_the_plain_part_with_its_signature_separator_intact() {
        assert_eq!(
            body(fixture!("gmail-alternative-base64-utf8")),
            "Rappel : votre rendez-vous chez le vétérinaire est confirmé demain à 10h30.\n\
             Merci de prévenir en cas d'empêchement.\n\n-- \nJean Martin\nClinique vétérinaire des Érables\n"
        );
    }

    #[test]
    fn iphone_body_is_read_with_its_trailer() {
        assert_eq!(
            body(fixture!("iphone-plain-qp-utf8")),
            "Livraison décalée à jeudi 8h, merci de confirmer.\n\nEnvoyé de mon iPhone\n"
        );
    }

    #[test]
    fn a_pdf_attachment_is_ignored() {
        let text = body(fixture!("pdf-attachment"));
        assert_eq!(text, "Facture 2030-117 disponible, echeance le 31/05.\n");
        assert!(!text.contains("PDF"));
    }

    #[test]
    fn no_text_part_gives_no_body() {
        let raw = b"Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n";
        assert_eq!(read(raw).body, None);
    }

    #[test]
    fn a_blank_plain_part_gives_way_to_the_html_one() {
        let raw = b"Subject: x\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n \r\n--b\r\nContent-Type: text/html\r\n\r\n<p>Bonjour</p>\r\n--b--\r\n";
        assert_eq!(read(raw).body.as_deref(), Some("Bonjour"));
    }

    #[test]
    fn a_30_mb_attachment_does_not_hide_the_text() {
        let mut raw = b"From: a@example.com\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLe texte.\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=big.bin\r\n\r\n".to_vec();
        let line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n";
        raw.extend(line.iter().copied().cycle().take(30 * 1024 * 1024));
        raw.extend_from_slice(b"\r\n--b--\r\n");
        assert_eq!(read(&raw).body.as_deref(), Some("Le texte."));
    }

    /// A multipart/mixed email of these parts (headers, blank line, content).
    fn multipart<'a>(parts: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
        let mut raw =
            b"From: a@example.com\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
        for part in parts {
            raw.extend(format!("--b\r\n{part}\r\n").bytes());
        }
        raw.extend(b"--b--\r\n");
        raw
    }

    #[test]
    fn ten_thousand_parts_give_the_first_text() {
        let first = "Content-Type: text/plain\r\n\r\nLe premier.";
        let others = std::iter::repeat_n("Content-Type: text/plain\r\n\r\nun autre", 9_999);
        let mail = read(&multipart(std::iter::once(first).chain(others)));
        assert_eq!(mail.body.as_deref(), Some("Le premier."));
        assert!(!mail.body_too_long);
        let pages = std::iter::repeat_n("Content-Type: text/html\r\n\r\n<p>page</p>", 10_000);
        assert_eq!(read(&multipart(pages)).body.as_deref(), Some("page"));
        let attachments = std::iter::repeat_n("Content-Type: application/pdf\r\n\r\n%PDF", 10_000);
        assert_eq!(read(&multipart(attachments)).body, None);
    }

    #[test]
    fn a_hundred_nested_multiparts_give_the_text_at_the_bottom() {
        let mut raw =
            b"From: a@example.com\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n".to_vec();
        for level in 0..100 {
            raw.extend(
                format!("--b{level}\r\nContent-Type: multipart/alternative; boundary=b{}\r\n\r\n", level + 1).bytes(),
            );
        }
        raw.extend(b"--b100\r\nContent-Type: text/plain\r\n\r\nau fond\r\n");
        for level in (0..=100).rev() {
            raw.extend(format!("--b{level}--\r\n").bytes());
        }
        assert_eq!(read(&raw).body.as_deref(), Some("au fond"));
    }

    fn plain(body: &str) -> InboundMail {
        read(format!("From: a@example.com\r\nSubject: x\r\n\r\n{body}").as_bytes())
    }

    #[test]
    fn a_body_fits_up_to_the_limit() {
        let body = format!("{}\n", "x".repeat(MAX_BODY_BYTES - 1));
        let mail = plain(&body);
        assert_eq!(mail.body.as_deref(), Some(body.as_str()));
        assert!(!mail.body_too_long);
    }

    #[test]
    fn a_longer_body_is_cut_at_a_line_end_and_too_long() {
        let line = "Une ligne de texte qui ne tient pas dans un SMS à elle seule, ou presque.\n";
        let body = line.repeat(1 + 40 * 1024 * 1024 / line.len());
        let mail = plain(&body);
        let kept = mail.body.expect("a body");
        assert!(kept.len() <= MAX_BODY_BYTES && kept.len() > MAX_BODY_BYTES - line.len(), "{}", kept.len());
        assert!(kept.ends_with(line), "whole lines");
        assert!(mail.body_too_long);
    }

    #[test]
    fn a_longer_body_whose_signature_comes_first_is_not_too_long() {
        let body = format!("Rendez-vous à 9h.\n-- \nMarie\n{}", "> historique\n".repeat(100_000));
        let mail = plain(&body);
        assert!(!mail.body_too_long);
        assert_eq!(crate::domain::text::clean_body(&mail.body.expect("a body")), "Rendez-vous à 9h.");
    }

    #[test]
    fn blank_lines_count_towards_the_limit() {
        let mail = plain(&format!("Bonjour\n{}fin", "\n".repeat(MAX_BODY_BYTES)));
        assert!(mail.body_too_long, "the end of the text is beyond what is read");
    }

    #[test]
    fn one_huge_line_is_cut_on_a_character_boundary() {
        let mail = plain(&"é".repeat(MAX_BODY_BYTES));
        let kept = mail.body.expect("a body");
        assert_eq!(kept.len(), MAX_BODY_BYTES);
        assert!(mail.body_too_long);
        let mail = plain(&format!("x{}", "é".repeat(MAX_BODY_BYTES)));
        assert_eq!(mail.body.map(|body| body.len()), Some(MAX_BODY_BYTES - 1));
    }

    #[test]
    fn huge_html_is_rendered_up_to_the_limit() {
        let html = "<p>Un paragraphe de texte, en <b>gras</b> et en <i>italique</i>.</p>".repeat(200_000);
        let raw = format!("From: a@example.com\r\nSubject: x\r\nContent-Type: text/html\r\n\r\n{html}");
        let mail = read(raw.as_bytes());
        assert!(mail.body.is_some_and(|body| body.len() <= MAX_BODY_BYTES + 4 && body.len() > MAX_BODY_BYTES / 2));
        assert!(mail.body_too_long);
        let markup = format!("{}<p>court</p>", "<div><span style=\"x\"></span></div>".repeat(200_000));
        let raw = format!("From: a@example.com\r\nSubject: x\r\nContent-Type: text/html\r\n\r\n{markup}");
        let mail = read(raw.as_bytes());
        assert_eq!((mail.body.as_deref(), mail.body_too_long), (Some("court"), false), "markup is not text");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn a_body_never_exceeds_the_limit(lines in proptest::collection::vec(("[a-zé\n -]{0,30}", 0usize..3_000), 0..30)) {
            let body: String = lines.iter().map(|(line, times)| line.repeat(*times)).collect();
            let mail = plain(&body);
            prop_assert!(mail.body.as_deref().unwrap_or_default().len() <= MAX_BODY_BYTES);
            if body.len() <= MAX_BODY_BYTES {
                prop_assert!(!mail.body_too_long);
            }
        }
    }
}
