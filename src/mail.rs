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

use std::borrow::Cow;

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::html::add_html_token;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::parsers::MessageStream;
use mail_parser::{
    Address, Encoding, Header, HeaderName, HeaderValue, Host, Message, MessageParser, MessagePart, MimeHeaders,
    PartType,
};
use serde::{Deserialize, Serialize};

use crate::domain::text::has_signature;

/// The authserv-id SES writes in its Authentication-Results header.
const SES_AUTHSERV_ID: &str = "amazonses.com";

/// The most text of a body that is read, in bytes (64 KiB). The longest SMS (8 parts, see
/// [`MAX_PARTS`](crate::domain::segments::MAX_PARTS)) is 1,224 characters, at most 4.9 KB:
/// the rest of the margin is for what cleaning removes (the signature, a phone's trailer, blank
/// lines). A body with more text than this before its signature cannot be an SMS; reading it
/// whole would only cost memory (a 40 MB email is several copies of 40 MB once decoded,
/// rejoined and cleaned).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The most bytes of a text part's encoded content that are decoded again when its declared
/// UTF-8 turns out to be latin-1 (1 MiB): enough for [`MAX_BODY_BYTES`] of text in any
/// transfer encoding (quoted-printable triples a byte at most), and for HTML heavy with markup.
const MAX_REPAIRED_BYTES: usize = 16 * MAX_BODY_BYTES;

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
}

/// What an email's From header says about who sent it.
///
/// RFC 5322 lets From name several authors, or a group, and a header folded over several lines
/// can carry a second address on its continuation line (`From: shop@example.com` then
/// ` victim@example.org`). A reply must go to the one person who wrote, or to nobody: only a
/// From that is exactly one mailbox gives an address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Author {
    /// No From header.
    #[default]
    Missing,
    /// Exactly one From header, holding exactly one mailbox (`local@domain`, or
    /// `Display Name <local@domain>`, comments allowed), its addr-spec as written.
    Mailbox(String),
    /// A From that is not one valid mailbox: several From headers, several mailboxes, a group,
    /// text around the address that is not a display name or a comment, no address, or an
    /// address that is not a valid addr-spec.
    Ambiguous,
}

impl Author {
    /// The address of the one mailbox, if there is one.
    pub fn address(&self) -> Option<&str> {
        match self {
            Author::Mailbox(address) => Some(address),
            Author::Missing | Author::Ambiguous => None,
        }
    }
}

/// A verdict SES gives a received message, or an SPF, DKIM or DMARC result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    Pass,
    Fail,
    Gray,
    ProcessingFailed,
    Disabled,
}

impl Verdict {
    /// Reads SES's statuses (`PASS`, `FAIL`, `GRAY`, `PROCESSING_FAILED`, `DISABLED`) and the
    /// results of Authentication-Results and Received-SPF (`pass`; `fail` and `softfail` are
    /// Fail; `neutral`, `none`, `temperror`, `permerror` and `policy` are Gray), case-insensitively.
    /// `None` for anything else.
    pub fn from_ses(status: &str) -> Option<Verdict> {
        match status.trim().to_ascii_lowercase().as_str() {
            "pass" => Some(Verdict::Pass),
            "fail" | "softfail" => Some(Verdict::Fail),
            "gray" | "neutral" | "none" | "temperror" | "permerror" | "policy" => Some(Verdict::Gray),
            "processing_failed" => Some(Verdict::ProcessingFailed),
            "disabled" => Some(Verdict::Disabled),
            _ => None,
        }
    }
}

/// SES's verdicts on a message: spam and virus scans, and the sender's SPF, DKIM and DMARC.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdicts {
    pub spam: Option<Verdict>,
    pub virus: Option<Verdict>,
    pub spf: Option<Verdict>,
    pub dkim: Option<Verdict>,
    pub dmarc: Option<Verdict>,
}

impl Verdicts {
    /// When the S3 notification is the trigger, SES's verdicts are only in the stored headers.
    /// SES prepends its header fields, so for each kind only the topmost one can be SES's:
    /// - spam and virus: the topmost X-SES-Spam-Verdict and X-SES-Virus-Verdict;
    /// - spf, dkim, dmarc: the topmost Authentication-Results whose authserv-id is
    ///   `amazonses.com`; those of any other authserv-id are ignored, a sender can forge them.
    ///   When a method has several results (one per DKIM signature), a pass among them wins;
    /// - spf, when that header has none: the Received-SPF header SES wrote, i.e. the first one
    ///   between SES's own Received header (the topmost, `by inbound-smtp.<region>.amazonaws.com`)
    ///   and the next Received header, which belongs to the sender's side.
    fn from_headers(headers: &[Header<'_>], raw: &[u8]) -> Verdicts {
        let topmost = |name: &str| field(headers, name).and_then(|header| Verdict::from_ses(&field_text(raw, header)));
        let authentication = headers
            .iter()
            .filter(|header| is_named(header, "Authentication-Results"))
            .find_map(|header| ses_authentication_results(&field_text(raw, header)))
            .unwrap_or_default();
        let received_spf = || {
            field(ses_trace_fields(headers), "Received-SPF").and_then(|header| first_result(&field_text(raw, header)))
        };
        Verdicts {
            spam: topmost("X-SES-Spam-Verdict"),
            virus: topmost("X-SES-Virus-Verdict"),
            spf: authentication.spf.or_else(received_spf),
            dkim: authentication.dkim,
            dmarc: authentication.dmarc,
        }
    }

    /// SES event verdicts take precedence field by field over the header ones: each field is
    /// `self`'s when known, `fallback`'s otherwise.
    pub fn or(self, fallback: Verdicts) -> Verdicts {
        Verdicts {
            spam: self.spam.or(fallback.spam),
            virus: self.virus.or(fallback.virus),
            spf: self.spf.or(fallback.spf),
            dkim: self.dkim.or(fallback.dkim),
            dmarc: self.dmarc.or(fallback.dmarc),
        }
    }

    /// The sender is who they claim to be: SPF, DKIM or DMARC passed.
    pub fn is_authenticated(&self) -> bool {
        [self.spf, self.dkim, self.dmarc].contains(&Some(Verdict::Pass))
    }

    /// SES found spam or a virus.
    pub fn is_spam_or_virus(&self) -> bool {
        self.spam == Some(Verdict::Fail) || self.virus == Some(Verdict::Fail)
    }
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
    Some(InboundMail {
        message_id: field(headers, "Message-ID").and_then(|header| message_id(&header.value)),
        subject: field(headers, "Subject").map(|header| unstructured_text(raw, header)),
        from: author(headers, raw),
        body,
        body_too_long,
        auto_submitted: lowercase_text("Auto-Submitted"),
        precedence: lowercase_text("Precedence"),
        list_id: field(headers, "List-Id").is_some(),
        verdicts: Verdicts::from_headers(headers, raw),
    })
}

/// HTML as the text a reader sees: entities decoded (`&eacute;`, `&#233;`, `&#xE9;`, `&nbsp;`,
/// `&amp;`…, with HTML5's names), tags removed, `<br>` a line break, the start and end of a block
/// (`p`, `div`, `li`, `tr`, `h1`–`h6`, …) the end of a line, table cells separated by a space,
/// comments and the content of `<head>`, `<style>`, `<script>`, `<title>` and `<template>`
/// dropped. Then each line's whitespace runs (non-breaking spaces included) become one space and
/// its ends are trimmed, at most one blank line is kept in a row, and the whole is trimmed. A line
/// that reads `--` is written `-- `, plain text's signature separator, which HTML cannot show.
pub fn html_to_text(html: &str) -> String {
    render_html(html, usize::MAX).0
}

/// [`html_to_text`], stopping once the text passes `limit` bytes (a few bytes more may be
/// kept). Says whether it stopped: the HTML then has more text than that.
fn render_html(html: &str, limit: usize) -> (String, bool) {
    let mut text = RenderedText { limit, ..RenderedText::default() };
    let mut rest = html;
    while let Some(markup) = rest.find(['<', '&'])
        && !text.full
    {
        text.push_str(&rest[..markup]);
        rest = &rest[markup..];
        rest = if rest.starts_with('&') { text.push_entity(rest) } else { text.push_markup(rest) };
    }
    text.push_str(rest);
    let cut = text.full;
    (text.finish(), cut)
}

const NO_BREAK_SPACE: char = '\u{A0}';

/// The text of an HTML document as it is rendered: whitespace is a space, line ends are `\n`.
#[derive(Default)]
struct RenderedText {
    text: String,
    /// The most bytes of text kept; once reached, `full` is set and nothing more is added.
    limit: usize,
    full: bool,
    in_head: bool,
    /// The current line holds something visible: a non-breaking space counts (Outlook writes
    /// its blank lines `<p>&nbsp;</p>`), source whitespace does not.
    line_has_content: bool,
}

impl RenderedText {
    fn push_str(&mut self, source: &str) {
        if self.in_head || self.full {
            return;
        }
        for character in source.chars() {
            if self.text.len() >= self.limit {
                self.full = true;
                return;
            }
            if character == NO_BREAK_SPACE {
                self.text.push(NO_BREAK_SPACE);
                self.line_has_content = true;
            } else if character.is_whitespace() {
                if !self.text.ends_with(' ') {
                    self.text.push(' ');
                }
            } else if !character.is_control() {
                self.text.push(character);
                self.line_has_content = true;
            }
        }
    }

    fn break_line(&mut self) {
        if self.in_head || self.full {
            return;
        }
        if self.text.len() >= self.limit {
            self.full = true;
        } else {
            self.text.push('\n');
            self.line_has_content = false;
        }
    }

    /// Ends the current line, unless it holds nothing yet.
    fn end_line(&mut self) {
        if self.line_has_content {
            self.break_line();
        }
    }

    /// Reads the `&…;` at the start of `source`; returns what follows it.
    fn push_entity<'a>(&mut self, source: &'a str) -> &'a str {
        let entity_end = source
            .bytes()
            .take(34)
            .skip(1)
            .position(|byte| !(byte.is_ascii_alphanumeric() || byte == b'#'))
            .map(|offset| offset + 1)
            .filter(|&end| end > 1 && source.as_bytes()[end] == b';');
        let Some(end) = entity_end else {
            self.push_str("&");
            return &source[1..];
        };
        let mut decoded = String::new();
        add_html_token(&mut decoded, &source.as_bytes()[..=end], false);
        self.push_str(&decoded);
        &source[end + 1..]
    }

    /// Reads the tag, comment or declaration at the start of `source` (which starts with `<`);
    /// returns what follows it.
    fn push_markup<'a>(&mut self, source: &'a str) -> &'a str {
        let after = &source[1..];
        if let Some(comment) = after.strip_prefix("!--") {
            return comment.find("-->").map_or("", |end| &comment[end + 3..]);
        }
        if after.starts_with(['!', '?']) {
            return after.find('>').map_or("", |end| &after[end + 1..]);
        }
        let (closing, tag) = match after.strip_prefix('/') {
            Some(tag) => (true, tag),
            None => (false, after),
        };
        if !tag.starts_with(|character: char| character.is_ascii_alphabetic()) {
            self.push_str("<");
            return after;
        }
        let name_len = tag.find(|character: char| !(character.is_ascii_alphanumeric() || ":-".contains(character)));
        let name = tag[..name_len.unwrap_or(tag.len())].to_ascii_lowercase();
        let rest = skip_tag(&tag[name.len()..]);
        match name.as_str() {
            "style" | "script" | "title" | "template" if !closing => skip_raw_text(rest, &name),
            "br" => {
                self.break_line();
                rest
            }
            "head" => {
                self.in_head = !closing;
                rest
            }
            "body" => {
                self.in_head = false;
                rest
            }
            "td" | "th" => {
                self.push_str(" ");
                rest
            }
            name if is_block(name) => {
                self.end_line();
                rest
            }
            _ => rest,
        }
    }

    fn finish(self) -> String {
        let mut text = String::with_capacity(self.text.len());
        let mut blank_line_pending = false;
        for line in self.text.split('\n') {
            let mut words = line.split([' ', NO_BREAK_SPACE]).filter(|word| !word.is_empty()).peekable();
            if words.peek().is_none() {
                blank_line_pending = !text.is_empty();
                continue;
            }
            if !text.is_empty() {
                text.push('\n');
                if blank_line_pending {
                    text.push('\n');
                }
            }
            blank_line_pending = false;
            let line_start = text.len();
            for (index, word) in words.enumerate() {
                if index > 0 {
                    text.push(' ');
                }
                text.push_str(word);
            }
            if &text[line_start..] == "--" {
                text.push(' ');
            }
        }
        text
    }
}

/// Elements that start and end on a line of their own.
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "li"
            | "tr"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "ul"
            | "ol"
            | "dl"
            | "dt"
            | "dd"
            | "table"
            | "blockquote"
            | "pre"
            | "hr"
            | "address"
            | "center"
            | "section"
            | "article"
            | "header"
            | "footer"
    )
}

/// Skips the rest of a tag (its attributes, quoted values included) up to and past its `>`.
fn skip_tag(attributes: &str) -> &str {
    let mut quote = None;
    for (index, byte) in attributes.bytes().enumerate() {
        match (quote, byte) {
            (None, b'"' | b'\'') => quote = Some(byte),
            (Some(open), _) if open == byte => quote = None,
            (None, b'>') => return &attributes[index + 1..],
            _ => {}
        }
    }
    ""
}

/// Skips the content of a raw-text element (`<style>`, `<script>`…) and its end tag.
fn skip_raw_text<'a>(content: &'a str, name: &str) -> &'a str {
    let end_tag = format!("</{name}");
    let found =
        content.as_bytes().windows(end_tag.len()).position(|window| window.eq_ignore_ascii_case(end_tag.as_bytes()));
    found.map_or("", |start| skip_tag(&content[start + end_tag.len()..]))
}

/// Whether the bytes open with a header field: after optional blank lines, a field name of
/// printable ASCII (RFC 5322 ftext), then a colon (spaces before it are tolerated).
fn starts_with_header_field(raw: &[u8]) -> bool {
    let start = raw.iter().position(|byte| !byte.is_ascii_whitespace()).unwrap_or(raw.len());
    let field = &raw[start..];
    let name_len = field.iter().position(|&byte| !(b'!'..=b'~').contains(&byte) || byte == b':').unwrap_or(field.len());
    name_len > 0 && field[name_len..].iter().find(|&&byte| byte != b' ' && byte != b'\t') == Some(&b':')
}

fn is_named(header: &Header<'_>, name: &str) -> bool {
    header.name.as_str().eq_ignore_ascii_case(name)
}

/// The topmost header field of that name.
fn field<'a, 'x>(headers: &'a [Header<'x>], name: &str) -> Option<&'a Header<'x>> {
    headers.iter().find(|header| is_named(header, name))
}

/// The bytes of a header field's value, as they are in the raw message.
fn raw_value<'a>(raw: &'a [u8], header: &Header<'_>) -> &'a [u8] {
    raw.get(header.offset_start as usize..header.offset_end as usize).unwrap_or_default()
}

/// A header field's value as text: unfolded and trimmed, raw 8-bit bytes read as in [`read_8bit`].
fn field_text(raw: &[u8], header: &Header<'_>) -> String {
    let text = read_8bit(raw_value(raw, header));
    text.split(['\r', '\n']).collect::<String>().trim().to_owned()
}

/// An unstructured header field (Subject): raw 8-bit bytes read as in [`read_8bit`], then RFC
/// 2047 encoded words decoded and the whole unfolded into one line by mail-parser. Control
/// characters an encoded word may hold become spaces.
fn unstructured_text(raw: &[u8], header: &Header<'_>) -> String {
    let mut value = read_8bit(raw_value(raw, header)).into_owned();
    value.push('\n');
    match MessageStream::new(value.as_bytes()).parse_unstructured() {
        HeaderValue::Text(text) => {
            text.chars().map(|character| if character.is_control() { ' ' } else { character }).collect()
        }
        _ => String::new(),
    }
}

/// Bytes as text: UTF-8 when they are valid UTF-8, windows-1252 otherwise, which reads latin-1
/// too (the two differ only in 0x80–0x9F, control codes that latin-1 text does not use).
fn read_8bit(bytes: &[u8]) -> Cow<'_, str> {
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

/// A Message-ID without its angle brackets, if it is one id with no space or bracket inside.
fn message_id(value: &HeaderValue<'_>) -> Option<String> {
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

/// The From header, read strictly (see [`Author`]): exactly one From field, which both
/// mail-parser and [`single_mailbox`] read as exactly one mailbox.
fn author(headers: &[Header<'_>], raw: &[u8]) -> Author {
    let mut fields = headers.iter().filter(|header| is_named(header, "From"));
    let Some(header) = fields.next() else { return Author::Missing };
    if fields.next().is_some() {
        return Author::Ambiguous;
    }
    let one_for_mail_parser = header.value.as_address().and_then(Address::as_list).is_some_and(|list| list.len() == 1);
    match single_mailbox(&field_text(raw, header)) {
        Some(address) if one_for_mail_parser => Author::Mailbox(address),
        _ => Author::Ambiguous,
    }
}

/// The most tokens (words, quoted strings, `<`, `@`…) read in a From value: a mailbox has a
/// handful, and a hostile header line of megabytes must not become a list as long.
const MAX_ADDRESS_TOKENS: usize = 256;

/// The addr-spec of a From value that is exactly one RFC 5322 mailbox, as written: either
/// `local@domain`, or a display name (atoms and quoted strings, dots allowed as in the obsolete
/// syntax, possibly none) then `<local@domain>`, with whitespace and comments between tokens.
/// The local part is a dot-atom or a quoted string, the domain a dot-atom or a domain literal;
/// UTF-8 is allowed in atoms (RFC 6532). Anything else gives `None`: a second address (on a
/// folded line or not), a `,` or `;`, a group's `:`, a route, text after the `>`, an unclosed
/// comment, quote or bracket, a control character.
fn single_mailbox(value: &str) -> Option<String> {
    let tokens = address_tokens(value)?;
    let (local, domain) = match tokens.as_slice() {
        [local, Token::Special('@'), domain] => (local, domain),
        [phrase @ .., Token::Special('<'), local, Token::Special('@'), domain, Token::Special('>')]
            if phrase.iter().all(Token::is_word) =>
        {
            (local, domain)
        }
        _ => return None,
    };
    let local = match local {
        Token::Atom(atom) if is_dot_atom(atom) => atom,
        Token::Quoted(quoted) => quoted,
        _ => return None,
    };
    let domain = match domain {
        Token::Atom(atom) if is_dot_atom(atom) => atom,
        Token::Literal(literal) => literal,
        _ => return None,
    };
    Some(format!("{local}@{domain}"))
}

/// A lexical token of an address header (RFC 5322 3.2), as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    /// A run of atext and dots.
    Atom(&'a str),
    /// A quoted string, quotes included.
    Quoted(&'a str),
    /// A domain literal, brackets included.
    Literal(&'a str),
    /// One of `< > @ , ; :`.
    Special(char),
}

impl Token<'_> {
    /// A word of a display name.
    fn is_word(&self) -> bool {
        matches!(self, Token::Atom(_) | Token::Quoted(_))
    }
}

/// The tokens of an address header's value, whitespace and comments left out; `None` when it
/// holds something no address header may (a control character, a stray `)`, `\` or `]`, an
/// unclosed comment, quoted string or domain literal) or more than [`MAX_ADDRESS_TOKENS`].
fn address_tokens(value: &str) -> Option<Vec<Token<'_>>> {
    let mut tokens = Vec::new();
    let mut rest = value;
    while let Some(character) = rest.chars().next() {
        let len = match character {
            '(' => comment_len(rest)?,
            '"' => {
                let len = quoted_len(rest)?;
                tokens.push(Token::Quoted(&rest[..len]));
                len
            }
            '[' => {
                let len = rest.find(']')? + 1;
                if rest[1..len - 1].contains(|c: char| c.is_control() || "[\\".contains(c)) {
                    return None;
                }
                tokens.push(Token::Literal(&rest[..len]));
                len
            }
            '<' | '>' | '@' | ',' | ';' | ':' => {
                tokens.push(Token::Special(character));
                1
            }
            whitespace if whitespace.is_whitespace() => whitespace.len_utf8(),
            word if is_atext(word) || word == '.' => {
                let len = rest.find(|c: char| !(is_atext(c) || c == '.')).unwrap_or(rest.len());
                tokens.push(Token::Atom(&rest[..len]));
                len
            }
            _ => return None,
        };
        rest = &rest[len..];
        if tokens.len() > MAX_ADDRESS_TOKENS {
            return None;
        }
    }
    Some(tokens)
}

/// RFC 5322 atext, with UTF-8 beyond ASCII (RFC 6532).
fn is_atext(character: char) -> bool {
    character.is_ascii_alphanumeric()
        || "!#$%&'*+-/=?^_`{|}~".contains(character)
        || (!character.is_ascii() && !character.is_control() && !character.is_whitespace())
}

/// Atoms separated by single dots, none at either end.
fn is_dot_atom(atom: &str) -> bool {
    atom.split('.').all(|part| !part.is_empty())
}

/// The length of the comment `text` opens with (it starts with `(`), nested comments and
/// quoted pairs included; `None` when it is not closed or holds a control character.
fn comment_len(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut escaped = false;
    for (index, character) in text.char_indices() {
        match character {
            control if control.is_control() && control != '\t' => return None,
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(index + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// The length of the quoted string `text` opens with (it starts with `"`); `None` when it is
/// not closed or holds a control character.
fn quoted_len(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (index, character) in text.char_indices().skip(1) {
        match character {
            control if control.is_control() && control != '\t' => return None,
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(index + 1),
            _ => {}
        }
    }
    None
}

/// A body's text, and whether it is too long to be an SMS; see [`InboundMail::body_too_long`].
struct TypedText {
    text: String,
    too_long: bool,
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
fn typed_text(message: &Message<'_>, raw: &[u8]) -> Option<TypedText> {
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

/// mail-parser reads a text part with no charset, or a declared UTF-8 one, as UTF-8 and turns
/// invalid bytes into U+FFFD. Scripts often send latin-1 that way: when the part's bytes (its
/// transfer encoding undone) are not UTF-8, they are read as windows-1252 instead.
///
/// Only the first [`MAX_REPAIRED_BYTES`] of the encoded part are decoded again (up to a line
/// end, where both transfer encodings may be cut); the second value says that some were left
/// out. When that first part is UTF-8 but for a character cut at its end, mail-parser's reading
/// is kept.
fn repaired_text<'a>(part: &MessagePart<'_>, decoded: &'a str, raw: &[u8]) -> (Cow<'a, str>, bool) {
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

/// RFC 3676 `format=flowed`: a line ending in a space continues on the next line of the same
/// quote depth (the space is dropped when `delsp=yes`), except the signature separator `-- `;
/// a space opening an unquoted line is stuffing and is removed.
fn unflow(text: &str, delete_space: bool) -> String {
    let mut unflowed = String::with_capacity(text.len());
    let mut flowing_depth = None;
    for (index, line) in text.split('\n').enumerate() {
        let depth = line.bytes().take_while(|&byte| byte == b'>').count();
        let line = if depth == 0 { line.strip_prefix(' ').unwrap_or(line) } else { line };
        if flowing_depth == Some(depth) {
            let continuation = &line[depth..];
            unflowed.push_str(if depth > 0 {
                continuation.strip_prefix(' ').unwrap_or(continuation)
            } else {
                continuation
            });
        } else {
            if index > 0 {
                unflowed.push('\n');
            }
            unflowed.push_str(line);
        }
        let flowed = line.ends_with(' ') && line != "-- ";
        if flowed && delete_space {
            unflowed.pop();
        }
        flowing_depth = flowed.then_some(depth);
    }
    unflowed
}

/// The spf, dkim and dmarc results of an Authentication-Results value, if SES wrote it
/// (authserv-id `amazonses.com`).
fn ses_authentication_results(value: &str) -> Option<Verdicts> {
    let mut statements = split_statements(value).into_iter();
    let authserv_id = statements.next()?;
    let authserv_id = authserv_id.split_whitespace().next()?;
    if !authserv_id.eq_ignore_ascii_case(SES_AUTHSERV_ID) {
        return None;
    }
    let mut verdicts = Verdicts::default();
    for statement in statements {
        let Some((method, result)) = statement.split_once('=') else { continue };
        let method = method.split('/').next().unwrap_or_default().trim().to_ascii_lowercase();
        let slot = match method.as_str() {
            "spf" => &mut verdicts.spf,
            "dkim" => &mut verdicts.dkim,
            "dmarc" => &mut verdicts.dmarc,
            _ => continue,
        };
        if let Some(verdict) = first_result(result)
            && *slot != Some(Verdict::Pass)
        {
            *slot = Some(verdict);
        }
    }
    Some(verdicts)
}

/// The result word opening a Received-SPF value or an Authentication-Results statement.
fn first_result(value: &str) -> Option<Verdict> {
    Verdict::from_ses(split_statements(value).first()?.split_whitespace().next()?)
}

/// Splits a header value on the `;` outside quoted strings, with comments (parenthesised, which
/// nest and may hold `;`) removed.
fn split_statements(value: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut statement = String::new();
    let mut comment_depth = 0usize;
    let mut quoted = false;
    let mut escaped = false;
    for character in value.chars() {
        let in_comment = comment_depth > 0;
        match character {
            _ if escaped => escaped = false,
            '\\' if quoted || in_comment => escaped = true,
            '"' if !in_comment => quoted = !quoted,
            '(' if !quoted => {
                comment_depth += 1;
                continue;
            }
            ')' if in_comment => {
                comment_depth -= 1;
                statement.push(' ');
                continue;
            }
            ';' if !quoted && !in_comment => {
                statements.push(std::mem::take(&mut statement));
                continue;
            }
            _ => {}
        }
        if !in_comment {
            statement.push(character);
        }
    }
    statements.push(statement);
    statements
}

/// The header fields SES wrote above the message it received: those after the topmost Received
/// header, when that one is SES's own (`by inbound-smtp.<region>.amazonaws.com`), up to the next
/// Received header. Empty when the topmost Received header is not SES's.
fn ses_trace_fields<'a, 'x>(headers: &'a [Header<'x>]) -> &'a [Header<'x>] {
    let mut received = headers.iter().enumerate().filter(|(_, header)| header.name == HeaderName::Received);
    let Some((top, header)) = received.next() else { return &[] };
    let by_ses = header.value.as_received().and_then(|received| received.by()).is_some_and(|host| match host {
        Host::Name(name) => {
            let name = name.to_ascii_lowercase();
            name.starts_with("inbound-smtp.") && name.ends_with(".amazonaws.com")
        }
        Host::IpAddr(_) => false,
    });
    if !by_ses {
        return &[];
    }
    let end = received.next().map_or(headers.len(), |(index, _)| index);
    &headers[top + 1..end]
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mail/", $name, ".eml"))
        };
    }

    fn read(raw: &[u8]) -> InboundMail {
        parse_mail(raw).expect("an email")
    }

    fn body(raw: &[u8]) -> String {
        read(raw).body.expect("a body")
    }

    // Real clients, real encodings.

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
    fn from_is_the_bare_address_even_when_the_name_holds_a_comma() {
        let mail = read(fixture!("outlook-alternative-qp-windows-1252"));
        assert_eq!(mail.from.address(), Some("marie.dupont@example.com"));
        assert_eq!(
            mail.message_id.as_deref(),
            Some("AM0PR01MB12345B6C7D8E9F0A1B2C3D4E5F6A@AM0PR01MB1234.eurprd01.prod.outlook.com")
        );
    }

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
    fn html_only_body_is_the_text_a_reader_sees() {
        assert_eq!(
            body(fixture!("html-only-entities")),
            "Alerte : le serveur « web-01 » ne répond plus.\n\
             Dernière réponse à 03h12 & 5 tentatives <HTTP 503>.\n\
             Merci de vérifier."
        );
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
    fn a_pdf_attachment_is_ignored() {
        let text = body(fixture!("pdf-attachment"));
        assert_eq!(text, "Facture 2030-117 disponible, echeance le 31/05.\n");
        assert!(!text.contains("PDF"));
    }

    #[test]
    fn format_flowed_lines_are_rejoined_and_the_signature_kept() {
        assert_eq!(
            body(fixture!("thunderbird-format-flowed")),
            "Bonjour, la salle polyvalente est réservée samedi de 14h à 18h pour l'assemblée générale, \
             merci d'arriver un quart d'heure avant le début de la séance.\n\
             From the desk of Luc.\n\n-- \nLuc Garnier\n"
        );
    }

    #[test]
    fn format_flowed_delsp_drops_the_space_and_quotes_keep_their_depth() {
        let flowed = "Un mot trop lo \nng.\n> cité \n> suite\n>> plus \n> profond\n";
        assert_eq!(unflow(flowed, true), "Un mot trop long.\n> citésuite\n>> plus\n> profond\n");
        assert_eq!(unflow(flowed, false), "Un mot trop lo ng.\n> cité suite\n>> plus \n> profond\n");
    }

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

    // Headers that say whether to answer.

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
    fn a_bounce_comes_from_the_mailer_daemon() {
        let mail = read(fixture!("bounce-mailer-daemon"));
        assert_eq!(mail.from.address(), Some("MAILER-DAEMON@mx.example.org"));
        assert_eq!(mail.subject.as_deref(), Some("failure notice"));
    }

    fn author(from: &str) -> Author {
        read(format!("From: {from}\r\nSubject: x\r\n\r\n").as_bytes()).from
    }

    #[test]
    fn a_from_without_an_address_is_ambiguous_and_no_from_is_missing() {
        for from in ["undisclosed-recipients:;", "Marie Dupont", "<>", "\"a@b\" <not an address>", ""] {
            assert_eq!(author(from), Author::Ambiguous, "{from}");
        }
        assert_eq!(read(b"Subject: x\r\n\r\n").from, Author::Missing);
    }

    #[test]
    fn a_from_is_one_mailbox_or_ambiguous() {
        assert_eq!(author("Marie <marie@example.com>"), Author::Mailbox("marie@example.com".into()));
        assert_eq!(author("marie@example.com\r\n (Marie)"), Author::Mailbox("marie@example.com".into()));
        assert_eq!(author("\"Dupont, Marie\" <marie@[192.0.2.1]>"), Author::Mailbox("marie@[192.0.2.1]".into()));
        assert_eq!(author("Hélène <hélène@exemple.fr>"), Author::Mailbox("hélène@exemple.fr".into()), "RFC 6532");
        for from in [
            "marie@example.com\r\n victim@example.org",
            "marie@example.com,victim@example.org",
            "Marie <marie@example.com>, victim@example.org",
            "team: marie@example.com;",
            "marie@example.com <victim@example.org>",
            "<marie@example.com> <victim@example.org>",
            "marie@example.com\u{0}",
            "marie\u{1b}@example.com",
            "marie@example.com)",
            "marie@[192.0.2.1",
        ] {
            assert_eq!(author(from), Author::Ambiguous, "{from:?}");
        }
    }

    #[test]
    fn every_real_client_sample_has_one_mailbox() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut samples = 0;
        for folder in ["tests/fixtures/mail", "events/emails"] {
            for entry in std::fs::read_dir(root.join(folder)).expect("a folder") {
                let path = entry.expect("an entry").path();
                if path.extension().is_some_and(|extension| extension == "eml") {
                    let from = read(&std::fs::read(&path).expect("an email")).from;
                    assert!(matches!(from, Author::Mailbox(_)), "{}: {from:?}", path.display());
                    samples += 1;
                }
            }
        }
        assert!(samples >= 20, "{samples} samples");
    }

    #[test]
    fn two_from_fields_are_ambiguous() {
        let mail = read(b"From: marie@example.com\r\nSubject: x\r\nFrom: victim@example.org\r\n\r\n");
        assert_eq!(mail.from, Author::Ambiguous);
    }

    #[test]
    fn a_from_of_a_million_words_is_read_in_bounded_memory() {
        let words = "mot ".repeat(250_000);
        assert_eq!(author(&format!("{words}<marie@example.com>")), Author::Ambiguous, "too many words");
        assert_eq!(
            address_tokens(&"a ".repeat(MAX_ADDRESS_TOKENS)).map(|tokens| tokens.len()),
            Some(MAX_ADDRESS_TOKENS)
        );
        assert_eq!(address_tokens(&"a ".repeat(MAX_ADDRESS_TOKENS + 1)), None);
    }

    #[test]
    fn a_message_id_that_is_not_one_id_is_none() {
        assert_eq!(read(b"Message-ID: <a@example.com> <b@example.com>\r\n\r\n").message_id, None);
        assert_eq!(read(b"Message-ID: <>\r\n\r\n").message_id, None);
        assert_eq!(read(b"Message-ID: bare@example.com\r\n\r\n").message_id.as_deref(), Some("bare@example.com"));
    }

    // SES's verdicts.

    #[test]
    fn the_stored_message_carries_ses_verdicts() {
        let verdicts = read(fixture!("ses-stored")).verdicts;
        let pass = Some(Verdict::Pass);
        assert_eq!(verdicts, Verdicts { spam: pass, virus: pass, spf: pass, dkim: pass, dmarc: pass });
        assert!(verdicts.is_authenticated());
        assert!(!verdicts.is_spam_or_virus());
    }

    #[test]
    fn authentication_results_from_another_authserv_id_are_ignored() {
        let verdicts = read(fixture!("ses-stored-forged-authentication")).verdicts;
        let pass = Some(Verdict::Pass);
        assert_eq!(verdicts, Verdicts { spam: pass, virus: pass, spf: None, dkim: None, dmarc: None });
        assert!(!verdicts.is_authenticated());
    }

    const SES_RECEIVED: &str = "Received: from mail.example.com (mail.example.com [192.0.2.1])\r\n by inbound-smtp.eu-west-1.amazonaws.com with SMTP id abc for mail2sms@example.org;\r\n Fri, 24 May 2030 09:00:05 +0000 (UTC)\r\n";
    const SENDER_RECEIVED: &str = "Received: from pc (unknown [203.0.113.9]) by mail.example.com with ESMTPSA id 42;\r\n Fri, 24 May 2030 11:00:03 +0200\r\n";

    #[test]
    fn received_spf_counts_only_when_ses_wrote_it() {
        let spf_only = "Authentication-Results: amazonses.com; dkim=none; dmarc=none header.from=example.com;\r\n";
        let softfail = "Received-SPF: softfail (spfCheck: transitioning domain of example.com does not designate 192.0.2.1 as permitted sender) client-ip=192.0.2.1;\r\n";
        let forged =
            "Received-SPF: pass (mx.example.net: domain of example.com designates 203.0.113.9 as permitted sender)\r\n";
        let spf = |headers: String| read(format!("{headers}Subject: x\r\n\r\n").as_bytes()).verdicts.spf;

        assert_eq!(spf(format!("{SES_RECEIVED}{softfail}{spf_only}{SENDER_RECEIVED}")), Some(Verdict::Fail));
        assert_eq!(
            spf(format!("{SES_RECEIVED}{spf_only}{SENDER_RECEIVED}{forged}")),
            None,
            "below the sender's Received"
        );
        assert_eq!(spf(format!("{SENDER_RECEIVED}{forged}")), None, "the topmost Received is not SES's");
        assert_eq!(spf(forged.to_owned()), None, "no Received at all");
        let with_spf = "Authentication-Results: amazonses.com; spf=pass smtp.mailfrom=example.com;\r\n";
        assert_eq!(
            spf(format!("{SES_RECEIVED}{softfail}{with_spf}")),
            Some(Verdict::Pass),
            "the SES result comes first"
        );
    }

    #[test]
    fn the_topmost_ses_authentication_results_wins_over_a_forged_one_below() {
        let raw = format!(
            "{SES_RECEIVED}Authentication-Results: amazonses.com; spf=fail; dkim=fail; dmarc=fail\r\n\
             {SENDER_RECEIVED}Authentication-Results: amazonses.com; spf=pass; dkim=pass; dmarc=pass\r\nSubject: x\r\n\r\n"
        );
        let verdicts = read(raw.as_bytes()).verdicts;
        assert_eq!(
            (verdicts.spf, verdicts.dkim, verdicts.dmarc),
            (Some(Verdict::Fail), Some(Verdict::Fail), Some(Verdict::Fail))
        );
        assert!(!verdicts.is_authenticated());
    }

    #[test]
    fn authentication_results_are_read_through_comments_quotes_and_versions() {
        let verdicts = ses_authentication_results(
            "AmazonSES.com 1; spf=pass (comment; with (nested; ) semicolons) smtp.mailfrom=\"a;b\"@example.com;\r\n \
             dkim/1=fail header.i=@old.example.com; dkim = pass header.i=@example.com; dmarc=none",
        );
        let verdicts = verdicts.expect("amazonses.com is SES");
        assert_eq!(
            (verdicts.spf, verdicts.dkim, verdicts.dmarc),
            (Some(Verdict::Pass), Some(Verdict::Pass), Some(Verdict::Gray))
        );
        assert_eq!(ses_authentication_results("amazonses.com; none"), Some(Verdicts::default()));
        assert_eq!(ses_authentication_results("amazonses.com.example.net; spf=pass"), None);
        assert_eq!(ses_authentication_results("mx.example.net; spf=pass (amazonses.com)"), None);
        assert_eq!(ses_authentication_results(""), None);
    }

    #[test]
    fn verdicts_read_ses_statuses_and_authentication_results() {
        let cases = [
            ("PASS", Some(Verdict::Pass)),
            ("pass", Some(Verdict::Pass)),
            ("FAIL", Some(Verdict::Fail)),
            ("softfail", Some(Verdict::Fail)),
            ("GRAY", Some(Verdict::Gray)),
            ("neutral", Some(Verdict::Gray)),
            ("none", Some(Verdict::Gray)),
            ("TempError", Some(Verdict::Gray)),
            ("permerror", Some(Verdict::Gray)),
            ("PROCESSING_FAILED", Some(Verdict::ProcessingFailed)),
            ("DISABLED", Some(Verdict::Disabled)),
            (" PASS ", Some(Verdict::Pass)),
            ("passed", None),
            ("", None),
        ];
        for (status, verdict) in cases {
            assert_eq!(Verdict::from_ses(status), verdict, "{status:?}");
        }
    }

    #[test]
    fn verdicts_serialise_as_ses_writes_them() {
        assert_eq!(serde_json::to_string(&Verdict::ProcessingFailed).expect("json"), "\"PROCESSING_FAILED\"");
        assert_eq!(serde_json::from_str::<Verdict>("\"GRAY\"").expect("json"), Verdict::Gray);
    }

    #[test]
    fn event_verdicts_take_precedence_field_by_field() {
        let event = Verdicts { spam: Some(Verdict::Fail), dkim: Some(Verdict::Gray), ..Verdicts::default() };
        let headers = Verdicts {
            spam: Some(Verdict::Pass),
            virus: Some(Verdict::Pass),
            spf: Some(Verdict::Pass),
            dkim: Some(Verdict::Pass),
            dmarc: None,
        };
        assert_eq!(
            event.or(headers),
            Verdicts {
                spam: Some(Verdict::Fail),
                virus: Some(Verdict::Pass),
                spf: Some(Verdict::Pass),
                dkim: Some(Verdict::Gray),
                dmarc: None,
            }
        );
    }

    #[test]
    fn one_passing_check_authenticates_and_one_failing_scan_condemns() {
        let only = |verdicts: Verdicts| verdicts;
        assert!(only(Verdicts { dmarc: Some(Verdict::Pass), ..Verdicts::default() }).is_authenticated());
        assert!(
            only(Verdicts { dkim: Some(Verdict::Pass), spf: Some(Verdict::Fail), ..Verdicts::default() })
                .is_authenticated()
        );
        assert!(
            !only(Verdicts { spf: Some(Verdict::Gray), spam: Some(Verdict::Pass), ..Verdicts::default() })
                .is_authenticated()
        );
        assert!(!Verdicts::default().is_authenticated());
        assert!(only(Verdicts { virus: Some(Verdict::Fail), ..Verdicts::default() }).is_spam_or_virus());
        assert!(only(Verdicts { spam: Some(Verdict::Fail), ..Verdicts::default() }).is_spam_or_virus());
        assert!(
            !only(Verdicts {
                spam: Some(Verdict::Gray),
                virus: Some(Verdict::ProcessingFailed),
                ..Verdicts::default()
            })
            .is_spam_or_virus()
        );
    }

    // Hostile input.

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

    // Bodies longer than any SMS.

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

    proptest! {
        #[test]
        fn reading_any_bytes_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse_mail(&raw);
        }

        #[test]
        fn a_second_address_anywhere_makes_the_from_ambiguous(
            name in "[A-Za-z .]{0,12}",
            separator in "(,|;| |\r\n |\r\n\t|:|\\)|>)",
            second in "(<?[a-z]{1,6}@[a-z]{1,6}\\.org>?)",
            bracketed in proptest::bool::ANY,
        ) {
            let first = if bracketed { format!("{name} <shop@example.com>") } else { "shop@example.com".to_owned() };
            let from = author(&format!("{first}{separator}{second}"));
            prop_assert_eq!(from, Author::Ambiguous);
        }

        #[test]
        fn a_mailbox_is_always_a_single_addr_spec_of_the_header(from in "[ -~]{0,40}") {
            if let Author::Mailbox(address) = author(&from) {
                prop_assert!(from.contains(&address), "{:?} from {:?}", address, from);
                prop_assert!(!address.contains([',', ';', '<', '>', ' ']) || address.starts_with('"'));
                prop_assert!(address.contains('@'));
            }
        }

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

    // HTML to text.

    #[test]
    fn entities_are_decoded() {
        assert_eq!(
            html_to_text("caf&eacute; &#233;t&#xE9; &amp; &lt;b&gt; &quot;x&quot; &euro;&nbsp;5"),
            "café été & <b> \"x\" € 5"
        );
        assert_eq!(html_to_text("AT&T &unknown; &#xZZ; & ;"), "AT&T &unknown; &#xZZ; & ;");
    }

    #[test]
    fn line_breaks_and_block_ends_end_lines() {
        assert_eq!(html_to_text("un<br>deux<br/>trois<BR />quatre"), "un\ndeux\ntrois\nquatre");
        assert_eq!(
            html_to_text("<p>un</p><div>deux</div><ul><li>trois</li><li>quatre</li></ul>"),
            "un\ndeux\ntrois\nquatre"
        );
        assert_eq!(
            html_to_text("<h1>Titre</h1>texte<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>"),
            "Titre\ntexte\na b\nc"
        );
        assert_eq!(html_to_text("<div>un<br></div><div>deux</div>"), "un\ndeux", "a trailing <br> adds no line");
    }

    #[test]
    fn at_most_one_blank_line_in_a_row() {
        assert_eq!(html_to_text("un<br><br><br><br>deux<p></p><p></p><br>"), "un\n\ndeux");
        assert_eq!(
            html_to_text("<p>Bonjour,</p>\n<p>&nbsp;</p>\n<p>Marie</p>"),
            "Bonjour,\n\nMarie",
            "Outlook's blank line"
        );
        assert_eq!(html_to_text("<div>un</div><div><br></div><div>deux</div>"), "un\n\ndeux", "Gmail's blank line");
    }

    #[test]
    fn whitespace_runs_collapse_and_lines_are_trimmed() {
        assert_eq!(
            html_to_text("  <p>  un \t\r\n  deux  </p>  \n  <p>trois&nbsp;&nbsp; quatre </p> "),
            "un deux\ntrois quatre"
        );
        assert_eq!(html_to_text("un<b>deux</b> <i>trois</i>"), "undeux trois");
    }

    #[test]
    fn head_style_script_and_comments_are_dropped() {
        let html = "<html><head><title>Titre</title><meta charset=utf-8><style>p { color: red; }</style></head>\
                    <body><!-- note <p>cachée</p> --><script type=\"text/javascript\">if (a < b && c) {}</script>\
                    <STYLE>.x{}</STYLE>visible<template>modèle</template><!--[if mso]>mso<![endif]--></body></html>";
        assert_eq!(html_to_text(html), "visible");
    }

    #[test]
    fn stray_angle_brackets_and_broken_tags_are_survived() {
        assert_eq!(html_to_text("1 < 2 et 3 <= 4 <3"), "1 < 2 et 3 <= 4 <3");
        assert_eq!(html_to_text("avant <a href=\"x>y\" title='>'>lien</a> après"), "avant lien après");
        assert_eq!(html_to_text("texte <b"), "texte");
        assert_eq!(html_to_text("<style>jamais fermé"), "");
        assert_eq!(html_to_text("<!-- jamais fermé"), "");
        assert_eq!(html_to_text(""), "");
    }

    #[test]
    fn long_runs_of_markup_take_linear_time() {
        assert_eq!(html_to_text(&"<p> &nbsp;".repeat(400_000)), "");
        assert_eq!(html_to_text(&"<div> \n".repeat(400_000)), "");
        assert_eq!(html_to_text(&format!("{}<style>", "a<br>".repeat(200_000))).lines().count(), 200_000);
    }

    #[test]
    fn an_html_signature_separator_keeps_its_space() {
        assert_eq!(html_to_text("Message<br><br>-- <br>Jean"), "Message\n\n-- \nJean");
    }

    proptest! {
        #[test]
        fn html_to_text_never_panics_and_stays_tidy(html in "(<[a-zA-Z/!?-]{0,6}[^>]{0,8}>?|&[#a-zA-Z0-9]{0,8};?|[^<&]{0,12}|\\s{0,3})*") {
            let text = html_to_text(&html);
            prop_assert_eq!(text.trim(), text.as_str());
            prop_assert!(!text.contains("\n\n\n"));
            for line in text.lines() {
                prop_assert_eq!(line.trim_start(), line);
                prop_assert!(line.trim_end() == line || line == "-- ");
            }
        }

        #[test]
        fn html_to_text_never_panics_on_any_text(html in any::<String>()) {
            let _ = html_to_text(&html);
        }
    }
}
