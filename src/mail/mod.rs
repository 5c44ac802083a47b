//! The raw email SES stored, read: who sent it, its subject (the request), the text the customer
//! typed (the SMS), the headers that say whether an answer is welcome, and the verdicts SES wrote
//! into it.
//!
//! Reading is total: any bytes give an answer and never a panic. mail-parser does the MIME work
//! (multiparts, transfer encodings, charsets, RFC 2047) and never panics either; this module adds
//! what it leaves out: raw 8-bit headers and undeclared 8-bit bodies are read as windows-1252
//! rather than turned into U+FFFD, `format=flowed` text is rejoined, and HTML becomes plain text.
//!
//! Hostile input is read within bounds: mail-parser decodes every part once, without unbounded
//! recursion (its work and memory grow with the email, which SES caps at 40 MB); this module
//! then reads only the first text/plain part and the first text/html part, at most
//! [`MAX_BODY_BYTES`] of their text, and at most 256 tokens (words, quotes, `<`, `@`…) of the From
//! header, however many parts, levels of nesting or header bytes the email holds.
//!
//! One concern a file, as mail-parser lays out its own: `headers.rs` (header fields as text),
//! `author.rs` (the From header, read strictly), `verdicts.rs` (SES's verdicts, and where SES
//! wrote the sender's authentication), `alignment.rs` (whether that authentication proves the
//! From), `body.rs` (which part holds the text, read within bounds), `html.rs` (HTML
//! to text), `charset.rs` (windows-1252 repair), `flowed.rs` (`format=flowed`).

use mail_parser::MessageParser;

/// A sample email of `tests/fixtures/mail`, as bytes (for the tests of every file below).
#[cfg(test)]
macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mail/", $name, ".eml"))
    };
}

pub mod alignment;
mod author;
mod body;
mod charset;
mod flowed;
mod headers;
mod html;
mod verdicts;

pub use alignment::Authentication;
pub use author::Author;
pub use html::html_to_text;
pub use verdicts::{Verdict, Verdicts};

use body::typed_text;
use headers::{field, field_text, message_id, unstructured_text};
use verdicts::SesTrace;

/// The most text of a body that is read, in bytes (64 KiB). The longest SMS (8 parts, see
/// [`MAX_PARTS`](crate::domain::segments::MAX_PARTS)) is 1,224 characters, at most 4.9 KB:
/// the rest of the margin is for what cleaning removes (the signature, a phone's trailer, blank
/// lines). A body with more text than this before its signature cannot be an SMS; reading it
/// whole would only cost memory (a 40 MB email is several copies of 40 MB once decoded,
/// rejoined and cleaned).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// An inbound email, read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboundMail {
    /// The Message-ID, without its angle brackets; `None` when absent or not a single id.
    pub message_id: Option<String>,
    /// The subject, RFC 2047-decoded and unfolded into one line; raw 8-bit bytes are read as
    /// UTF-8 when they are UTF-8, as windows-1252 (a superset of latin-1) otherwise.
    pub subject: Option<String>,
    /// Who the From header says sent the email: the one mailbox a reply may go to, if it names
    /// exactly one.
    pub from: Author,
    /// The text the customer typed: the first text/plain part that is not an attachment, with
    /// its transfer encoding and charset decoded, `format=flowed` lines rejoined and line breaks
    /// written `\n`. When there is no such part, or it is blank, the first text/html part
    /// through [`html_to_text`]. Attachments are ignored. `None` when there is no text at all.
    /// At most [`MAX_BODY_BYTES`], cut at the end of a line when there is one.
    pub body: Option<String>,
    /// The body holds more than [`MAX_BODY_BYTES`] of text before its signature: no SMS can
    /// hold it, whatever cleaning would remove (it is answered 111), and `body` is only its
    /// beginning. A longer body whose signature separator (see
    /// [`has_signature`](crate::domain::text::has_signature)) comes within the first
    /// [`MAX_BODY_BYTES`] is not too long: what follows the separator is never sent.
    pub body_too_long: bool,
    /// The Auto-Submitted header, trimmed and lowercased.
    pub auto_submitted: Option<String>,
    /// The Precedence header, trimmed and lowercased.
    pub precedence: Option<String>,
    /// A List-Id header is present: the message comes from a mailing list.
    pub list_id: bool,
    /// What SES wrote into the stored message's headers.
    pub verdicts: Verdicts,
    /// Whether the From is proven, read from what SES wrote into the stored message's headers
    /// (its Authentication-Results, its Received-SPF and its Return-Path; see
    /// [`Authentication::read`]). The SES event's word on DMARC comes on top, through
    /// [`Authentication::with_receipt`].
    pub authentication: Authentication,
}

/// Reads a raw email. `None` when the bytes are not an email at all: they must begin with a
/// header field (`Name:`); whatever follows, garbage included, is read as well as it can be.
pub fn parse_mail(raw: &[u8]) -> Option<InboundMail> {
    if !starts_with_header_field(raw) {
        return None;
    }
    let message = MessageParser::new().parse(raw)?;
    let headers = message.headers();
    let lowercase_text = |name: &str| field(headers, name).map(|header| field_text(raw, header).to_lowercase());
    let (body, body_too_long) = match typed_text(&message, raw) {
        Some(typed) => (Some(typed.text), typed.too_long),
        None => (None, false),
    };
    let from = Author::from_headers(headers, raw);
    let trace = SesTrace::from_headers(headers, raw);
    Some(InboundMail {
        message_id: field(headers, "Message-ID").and_then(|header| message_id(&header.value)),
        subject: field(headers, "Subject").map(|header| unstructured_text(raw, header)),
        body,
        body_too_long,
        auto_submitted: lowercase_text("Auto-Submitted"),
        precedence: lowercase_text("Precedence"),
        list_id: field(headers, "List-Id").is_some(),
        verdicts: Verdicts::from_headers(headers, raw, &trace),
        authentication: Authentication::read(
            &from,
            trace.results.as_ref(),
            trace.received_spf.as_deref(),
            trace.return_path.as_deref(),
        ),
        from,
    })
}

/// Whether the bytes open with a header field: after optional blank lines, a field name of
/// printable ASCII (RFC 5322 ftext), then a colon (spaces before it are tolerated).
fn starts_with_header_field(raw: &[u8]) -> bool {
    let start = raw.iter().position(|byte| !byte.is_ascii_whitespace()).unwrap_or(raw.len());
    let field = &raw[start..];
    let name_len = field.iter().position(|&byte| !(b'!'..=b'~').contains(&byte) || byte == b':').unwrap_or(field.len());
    name_len > 0 && field[name_len..].iter().find(|&&byte| byte != b' ' && byte != b'\t') == Some(&b':')
}

/// What the tests of every file below read emails with.
#[cfg(test)]
mod testing {
    use super::{InboundMail, parse_mail};

    pub(super) fn read(raw: &[u8]) -> InboundMail {
        parse_mail(raw).expect("an email")
    }

    pub(super) fn body(raw: &[u8]) -> String {
        read(raw).body.expect("a body")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::mail::testing::read;

    #[test]
    fn bytes_that_are_not_an_email_give_none() {
        for raw in [
            &b""[..],
            b"   \r\n\r\n",
            b"hello world",
            b"\x00\x01\x02:",
            b"\xff\xfe: x",
            b"<html><body>hi</body></html>",
            b": no name",
        ] {
            assert_eq!(parse_mail(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn garbage_after_valid_headers_still_gives_an_email() {
        let mail = read(b"From: a@example.com\r\nSubject: ok\r\n\r\n\xff\x00\xfe garbage \x80\x81");
        assert_eq!(mail.subject.as_deref(), Some("ok"));
        assert_eq!(mail.from.address(), Some("a@example.com"));
        assert!(mail.body.is_some_and(|body| body.ends_with(" garbage \u{20ac}\u{fffd}")));
    }

    #[test]
    fn deeply_nested_multiparts_do_not_overflow() {
        let depth = 20_000;
        let mut raw = b"Subject: x\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n".to_vec();
        for level in 0..depth {
            raw.extend(format!("--b{level}\r\nContent-Type: multipart/mixed; boundary=b{}\r\n\r\n", level + 1).bytes());
        }
        raw.extend(format!("--b{depth}\r\nContent-Type: text/plain\r\n\r\nau fond\r\n").bytes());
        let unclosed = read(&raw);
        assert_eq!(unclosed.subject.as_deref(), Some("x"));
        for level in (0..=depth).rev() {
            raw.extend(format!("--b{level}--\r\n").bytes());
        }
        assert_eq!(read(&raw).body.as_deref(), Some("au fond"));
    }

    #[test]
    fn deeply_nested_messages_do_not_overflow() {
        let mut raw = b"Subject: inner\r\n\r\ntexte\r\n".to_vec();
        for _ in 0..2_000 {
            let mut outer = b"Subject: outer\r\nContent-Type: message/rfc822\r\n\r\n".to_vec();
            outer.extend(raw);
            raw = outer;
        }
        assert_eq!(read(&raw).subject.as_deref(), Some("outer"));
    }

    #[test]
    fn nul_bytes_and_invalid_utf8_in_headers_are_survived() {
        let raw =
            b"From: a\x00b@example.com\r\nSubject: a@k\x00\xff\xfe|0612345678\r\nX-\x00: \xc3\x28\r\n\r\ntexte\r\n";
        let mail = read(raw);
        assert_eq!(mail.from, Author::Ambiguous);
        assert_eq!(mail.subject.as_deref(), Some("a@k \u{ff}\u{fe}|0612345678"), "NUL is a control character");
        assert_eq!(mail.body.as_deref(), Some("texte\r\n".replace("\r\n", "\n").as_str()));
        let raw = b"Subject: \xff\xfe\xfd\r\nFrom: <\xc3\xa9@example.com>\r\n\r\n";
        assert_eq!(read(raw).from, Author::Mailbox("é@example.com".into()));
    }

    #[test]
    fn the_authentication_is_read_from_what_ses_wrote() {
        use crate::mail::alignment::AlignedBy;
        let stored = read(fixture!("ses-stored"));
        assert_eq!(stored.authentication.aligned_by, Some(AlignedBy::Dmarc));
        let forged = read(fixture!("ses-stored-forged-authentication"));
        assert_eq!(forged.authentication, Authentication::default(), "another authserv-id's results prove nothing");
        let raw = String::from_utf8_lossy(fixture!("ses-stored")).replace(
            "From: Claire Roux <claire.roux@example.com>",
            "From: claire.roux@example.com, ceo@victim.example",
        );
        assert!(!read(raw.as_bytes()).authentication.is_authenticated(), "several mailboxes");
    }

    proptest! {
        #[test]
        fn reading_any_bytes_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse_mail(&raw);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn reading_any_message_after_valid_headers_never_panics(
            headers in "([A-Za-z-]{1,12}: [ -~\u{80}-\u{ff}]{0,40}\r\n){0,6}",
            rest in proptest::collection::vec(any::<u8>(), 0..2048),
        ) {
            let mut raw = format!("From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n{headers}\r\n--b\r\n").into_bytes();
            raw.extend(rest);
            prop_assert!(parse_mail(&raw).is_some());
        }
    }
}
