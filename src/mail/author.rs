//! The From header, read strictly: the one mailbox a reply may go to, or none (see [`Author`]).
//! An RFC 5322 tokenizer of its own, bounded to [`MAX_ADDRESS_TOKENS`], checks what
//! mail-parser reads, so that a second address cannot hide on a folded line.

use mail_parser::{Address, Header};

use super::headers::{field_text, is_named};

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

    /// The From header, read strictly (see [`Author`]): exactly one From field, which both
    /// mail-parser and [`single_mailbox`] read as exactly one mailbox.
    pub(super) fn from_headers(headers: &[Header<'_>], raw: &[u8]) -> Author {
        let mut fields = headers.iter().filter(|header| is_named(header, "From"));
        let Some(header) = fields.next() else { return Author::Missing };
        if fields.next().is_some() {
            return Author::Ambiguous;
        }
        let one_for_mail_parser =
            header.value.as_address().and_then(Address::as_list).is_some_and(|list| list.len() == 1);
        match single_mailbox(&field_text(raw, header)) {
            Some(address) if one_for_mail_parser => Author::Mailbox(address),
            _ => Author::Ambiguous,
        }
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::mail::testing::read;

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

    proptest! {
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
}
