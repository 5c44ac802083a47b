//! Where the customer's own words end in a reply or a forward: the quoted conversation under a
//! reply and the message under a forward are left out of the SMS.
//!
//! Mail clients mark them in a few fixed ways, the same in plain text and in the text the gateway
//! renders from HTML (see [`html_to_text`](crate::mail::html_to_text)). The body is cut at the
//! first line that starts one of them:
//!
//! - a separator between dashes: classic Outlook's `-----Original Message-----` and Gmail's
//!   `---------- Forwarded message ---------`, in French, English, German, Spanish and Italian
//!   ([`DASHED_SEPARATORS`]);
//! - Apple Mail's forward introduction, `Begin forwarded message:` and its siblings
//!   ([`FORWARD_INTRODUCTIONS`]);
//! - the new Outlook's rule of underscores followed by a header block (`De : / Envoyé : / À : /
//!   Objet :`, `From: / Sent: / To: / Subject:`…);
//! - a header block alone, as Outlook writes it from HTML (its rule is an `<hr>`, which renders as
//!   nothing) and GMX as plain text: three header lines or more in a row, starting with who sent
//!   it or when, naming who (with an email address), when and what about;
//! - a reply's attribution: `On Wed, Nov 25, 2026 at 10:00 AM … wrote:`, `Le … a écrit :`,
//!   `Am … schrieb …:`, `El … escribió:`, `Il … ha scritto:`, on one line or wrapped over two. It
//!   starts with its opening word, holds a digit (the date), ends with its verb and a colon
//!   (German puts the name between `schrieb` and the colon), and the next line that is not blank
//!   is quoted (`>`) or a header line: a date or a name in the customer's own text is never one.
//!
//! And, once the rest is cleaned, a trailing block of quoted lines (`>` at the start of the line,
//! RFC 3676's mark of a quote) is left out when text remains above it ([`trailing_quote`]).
//!
//! Everything here is case- and accent-insensitive and total: any text gives an answer, in time
//! linear in its length.

use crate::domain::text::folded;

/// The phrases Outlook, Gmail, Thunderbird and Yahoo write between dashes, folded (lowercase, no
/// accents): `-----Original Message-----`, `---------- Forwarded message ---------`,
/// `-------- Message transféré --------`…
pub const DASHED_SEPARATORS: &[&str] = &[
    // Replies (classic Outlook, Yahoo, older Thunderbird, GMX)
    "original message",
    "message d'origine",
    "ursprungliche nachricht",
    "original-nachricht",
    "mensaje original",
    "messaggio originale",
    // Forwards (Gmail, Thunderbird, Yahoo)
    "forwarded message",
    "message transfere",
    "weitergeleitete nachricht",
    "mensaje reenviado",
    "messaggio inoltrato",
];

/// Apple Mail's forward introduction, folded, spaces before the colon removed.
pub const FORWARD_INTRODUCTIONS: &[&str] = &[
    "begin forwarded message:",
    "debut du message reexpedie:",
    "anfang der weitergeleiteten nachricht:",
    "inicio del mensaje reenviado:",
    "inizio messaggio inoltrato:",
];

/// The words a reply's attribution starts with (Gmail, Apple Mail, Outlook mobile, Thunderbird,
/// Yahoo): `On`, `Le`, `Am`, `El`, `Il` (`Il giorno`).
const ATTRIBUTION_OPENINGS: &[&str] = &["on ", "le ", "am ", "el ", "il "];

/// The verbs that end an attribution, folded, the colon joined to them.
const ATTRIBUTION_VERBS: &[&str] = &[" wrote:", " a ecrit:", " escribio:", " ha scritto:"];

/// German attributions name the author after the verb: `Am … schrieb Mail2SMS <…>:`.
const GERMAN_OPENING: &str = "am ";
const GERMAN_VERB: &str = " schrieb ";

/// The fewest underscores that make the new Outlook's rule (it writes 32).
const MIN_RULE_UNDERSCORES: usize = 10;

/// The most lines a header block is looked for in (four to six fields, a wrapped `To:` or two).
const MAX_HEADER_BLOCK_LINES: usize = 10;

/// The longest header name, in characters (`Antwort an`, `Enviado el`…).
const MAX_HEADER_NAME_CHARS: usize = 20;

/// What a header line of a quoted or forwarded message says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    From,
    Date,
    Subject,
    Other,
}

/// Header names as the clients write them in French, English, German, Spanish and Italian,
/// folded.
const HEADER_NAMES: &[(&str, Field)] = &[
    ("from", Field::From),
    ("de", Field::From),
    ("von", Field::From),
    ("da", Field::From),
    ("sent", Field::Date),
    ("date", Field::Date),
    ("envoye", Field::Date),
    ("envoye le", Field::Date),
    ("gesendet", Field::Date),
    ("datum", Field::Date),
    ("enviado", Field::Date),
    ("enviado el", Field::Date),
    ("fecha", Field::Date),
    ("inviato", Field::Date),
    ("data", Field::Date),
    ("subject", Field::Subject),
    ("objet", Field::Subject),
    ("betreff", Field::Subject),
    ("asunto", Field::Subject),
    ("oggetto", Field::Subject),
    ("to", Field::Other),
    ("a", Field::Other),
    ("an", Field::Other),
    ("para", Field::Other),
    ("cc", Field::Other),
    ("cci", Field::Other),
    ("bcc", Field::Other),
    ("reply-to", Field::Other),
    ("repondre a", Field::Other),
    ("antwort an", Field::Other),
    ("responder a", Field::Other),
    ("rispondi a", Field::Other),
];

/// One line of the body, read once.
struct Line {
    /// Folded: lowercase, no accents, whitespace runs one space, trimmed.
    folded: String,
    /// The header field the line is, if it is one.
    field: Option<Field>,
    /// Its header value holds an email address (a `@`).
    addressed: bool,
    /// It starts with `>`.
    quoted: bool,
}

impl Line {
    fn read(line: &str) -> Line {
        let (field, addressed) = match header_field(line) {
            Some((field, value)) => (Some(field), value.contains('@')),
            None => (None, false),
        };
        Line { folded: folded(line), field, addressed, quoted: line.starts_with('>') }
    }

    fn is_blank(&self) -> bool {
        self.folded.is_empty()
    }
}

/// The index of the first line of the quoted conversation or forwarded content among `lines` (a
/// body's lines, already [normalised](crate::domain::text::clean_body)): the first separator,
/// forward introduction, rule before a header block, header block or attribution. `None` when
/// there is none. The trailing block of quoted lines is [`trailing_quote`]'s.
pub fn quoted_from(lines: &[&str]) -> Option<usize> {
    let lines: Vec<Line> = lines.iter().map(|line| Line::read(line)).collect();
    (0..lines.len()).find(|&index| {
        is_dashed_separator(&lines[index].folded)
            || is_forward_introduction(&lines[index].folded)
            || is_rule_before_headers(&lines, index)
            || is_header_block(&lines, index, true)
            || is_attribution(&lines, index)
    })
}

/// Where a trailing block of quoted lines (starting with `>`, blank lines among them) starts,
/// when there is text above it; `None` otherwise. Blank lines at the very end are the caller's.
pub fn trailing_quote(lines: &[&str]) -> Option<usize> {
    let unquoted = |line: &&str| !(line.trim().is_empty() || line.starts_with('>'));
    let above = lines.iter().rposition(unquoted)?;
    let start = above + 1 + lines[above + 1..].iter().position(|line| line.starts_with('>'))?;
    Some(start)
}

/// `-----Original Message-----` and its siblings: a known phrase between runs of at least two
/// dashes.
fn is_dashed_separator(folded: &str) -> bool {
    let Some(inner) = folded.strip_prefix("--").and_then(|rest| rest.strip_suffix("--")) else {
        return false;
    };
    let phrase = inner.trim_matches(|c: char| c == '-' || c == ' ');
    DASHED_SEPARATORS.contains(&phrase)
}

/// `Begin forwarded message:` and its siblings, whatever the spaces before the colon.
fn is_forward_introduction(folded: &str) -> bool {
    FORWARD_INTRODUCTIONS.contains(&without_space_before_colons(folded).as_str())
}

/// A rule of underscores, the next line that is not blank starting a header block.
fn is_rule_before_headers(lines: &[Line], index: usize) -> bool {
    let rule = &lines[index].folded;
    rule.len() >= MIN_RULE_UNDERSCORES
        && rule.bytes().all(|byte| byte == b'_')
        && next_filled(lines, index + 1).is_some_and(|next| is_header_block(lines, next, false))
}

/// At least three header lines in a row (a non-header line may continue one after the second),
/// the first saying who or when, naming who, when and what about. When `addressed`, who must be
/// an email address: without a separator above, a list the customer typed (`Date : 12 mai` /
/// `De : 14h` / `Objet : AG`) is not a header block.
fn is_header_block(lines: &[Line], index: usize, addressed: bool) -> bool {
    if !matches!(lines[index].field, Some(Field::From | Field::Date))
        || lines.get(index + 1).is_none_or(|next| next.field.is_none())
    {
        return false;
    }
    let block = lines[index..].iter().take(MAX_HEADER_BLOCK_LINES).take_while(|line| !line.is_blank());
    let (mut from, mut date, mut subject, mut fields) = (false, false, false, 0);
    for line in block {
        match line.field {
            Some(Field::From) => from |= line.addressed || !addressed,
            Some(Field::Date) => date = true,
            Some(Field::Subject) => subject = true,
            Some(Field::Other) | None => {}
        }
        fields += usize::from(line.field.is_some());
    }
    from && date && subject && fields >= 3
}

/// A reply's attribution on this line, or on this line and the next: its opening, a digit, its
/// verb and colon at the end, then a quoted or header line.
fn is_attribution(lines: &[Line], index: usize) -> bool {
    let first = &lines[index].folded;
    if !ATTRIBUTION_OPENINGS.iter().any(|opening| first.starts_with(opening)) {
        return false;
    }
    if is_attribution_text(first) {
        return is_followed_by_quote(lines, index + 1);
    }
    match lines.get(index + 1) {
        Some(second) if !second.is_blank() => {
            is_attribution_text(&format!("{first} {}", second.folded)) && is_followed_by_quote(lines, index + 2)
        }
        _ => false,
    }
}

/// Whether folded text reads as an attribution (its opening aside, checked by the caller).
fn is_attribution_text(folded: &str) -> bool {
    let text = without_space_before_colons(folded);
    text.contains(|c: char| c.is_ascii_digit())
        && (ATTRIBUTION_VERBS.iter().any(|verb| text.ends_with(verb))
            || (text.starts_with(GERMAN_OPENING) && text.contains(GERMAN_VERB) && text.ends_with(':')))
}

/// The next line that is not blank, from `index` on, is quoted or a header line.
fn is_followed_by_quote(lines: &[Line], index: usize) -> bool {
    next_filled(lines, index).is_some_and(|next| lines[next].quoted || lines[next].field.is_some())
}

fn next_filled(lines: &[Line], index: usize) -> Option<usize> {
    lines.get(index..)?.iter().position(|line| !line.is_blank()).map(|offset| index + offset)
}

/// `a ecrit :` as `a ecrit:`: French puts a space before the colon.
fn without_space_before_colons(text: &str) -> String {
    text.replace(" :", ":")
}

/// The header field a line is, and its value: a known name (bold stars of a plain-text
/// rendering aside, `*From:*`), a colon, anything.
fn header_field(line: &str) -> Option<(Field, &str)> {
    let line = line.trim_start().trim_start_matches('*');
    let colon = line.char_indices().take(MAX_HEADER_NAME_CHARS + 2).find(|&(_, c)| c == ':')?.0;
    let name = folded(line[..colon].trim_end_matches('*'));
    let field = HEADER_NAMES.iter().find(|(known, _)| *known == name)?.1;
    Some((field, &line[colon + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::request::parse_subject;
    use crate::domain::text::clean_body;
    use proptest::prelude::*;

    fn cut(body: &str) -> String {
        clean_body(body)
    }

    /// The body kept, once cleaned, of an email of the corpus.
    macro_rules! fixture {
        ($name:literal) => {
            crate::mail::parse_mail(
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mail/replies/", $name, ".eml"))
                    .as_bytes(),
            )
            .expect("an email")
        };
    }

    fn kept(mail: &crate::mail::InboundMail) -> String {
        clean_body(mail.body.as_deref().expect("a body"))
    }

    /// The login of the request the subject makes, its reply or forward prefix removed.
    fn login(mail: &crate::mail::InboundMail) -> String {
        let subject = mail.subject.as_deref().expect("a subject");
        parse_subject(subject).unwrap_or_else(|refused| panic!("{subject}: {refused}")).credentials.login
    }

    // ----- Replies: attribution lines -----

    #[test]
    fn gmail_french_attribution_then_quote_is_cut() {
        let body = "Merci, c'est corrigé.\n\nLe mer. 25 nov. 2026 à 10:00, Mail2SMS <noreply@mail2sms.example> a écrit :\n\n> Votre email a été refusé (102).\n> Vérifiez votre clé.\n";
        assert_eq!(cut(body), "Merci, c'est corrigé.");
    }

    #[test]
    fn an_attribution_wrapped_over_two_lines_is_cut() {
        let body =
            "Merci\n\nLe mer. 25 nov. 2026 à 10:00, Mail2SMS <noreply@mail2sms.example> a\nécrit :\n\n> Refusé\n";
        assert_eq!(cut(body), "Merci");
        let body =
            "Thanks\n\nOn Wed, Nov 25, 2026 at 10:00 AM Mail2SMS <noreply@mail2sms.example>\nwrote:\n\n> Refused\n";
        assert_eq!(cut(body), "Thanks");
    }

    #[test]
    fn every_language_s_attribution_is_cut() {
        for attribution in [
            "On Wed, Nov 25, 2026 at 10:00 AM Mail2SMS <noreply@mail2sms.example> wrote:",
            "On Nov 25, 2026, at 10:00, Mail2SMS <noreply@mail2sms.example> wrote:",
            "Le mer. 25 nov. 2026 à 10:00, Mail2SMS <noreply@mail2sms.example> a écrit :",
            "Le 25 nov. 2026 à 10:00, Mail2SMS <noreply@mail2sms.example> a écrit\u{a0}:",
            "Le 25/11/2026 à 10:00, Mail2SMS a écrit :",
            "Am Mi., 25. Nov. 2026 um 10:00 Uhr schrieb Mail2SMS <noreply@mail2sms.example>:",
            "Am 25.11.2026 um 10:00 schrieb Mail2SMS <noreply@mail2sms.example>:",
            "El mié, 25 nov 2026 a las 10:00, Mail2SMS (<noreply@mail2sms.example>) escribió:",
            "El 25 nov 2026, a las 10:00, Mail2SMS <noreply@mail2sms.example> escribió:",
            "Il giorno mer 25 nov 2026 alle ore 10:00 Mail2SMS <noreply@mail2sms.example> ha scritto:",
            "Il giorno 25 nov 2026, alle ore 10:00, Mail2SMS <noreply@mail2sms.example> ha scritto:",
            "ON WED, NOV 25, 2026 AT 10:00 AM MAIL2SMS WROTE:",
        ] {
            assert_eq!(cut(&format!("Texte\n\n{attribution}\n\n> cité\n> encore\n")), "Texte", "{attribution}");
            assert_eq!(cut(&format!("Texte\n{attribution}\n> cité")), "Texte", "{attribution}, no blank line");
        }
    }

    #[test]
    fn an_attribution_followed_by_header_lines_is_cut() {
        let body = "Voici\n\nLe 25 nov. 2026 à 10:00, Paul <paul@example.com> a écrit :\nDe : Mail2SMS\nTexte";
        assert_eq!(cut(body), "Voici");
    }

    #[test]
    fn a_customer_mentioning_a_ecrit_mid_line_is_kept() {
        let body = "Le 25 nov. 2026, Paul a écrit : merci pour tout\n> 10 € offerts aujourd'hui\nÀ bientôt";
        assert_eq!(cut(body), body, "the verb is not at the end");
        let body = "Votre conseiller a écrit :\n> Rendez-vous à 10h\nMerci";
        assert_eq!(cut(body), body, "no opening word nor date");
    }

    #[test]
    fn a_line_with_a_date_and_a_name_is_kept() {
        for body in [
            "Le 25 nov. à 10:00, Marie viendra\nMerci",
            "Le 25 nov. 2026 à 10:00, Marie a écrit :\nelle confirme sa venue.",
            "On Nov 25, 2026 John wrote:\nthe report is ready",
            "On Monday John wrote:\n> hello\nbye",
            "Am 25.11.2026 um 10:00 schrieb Paul:",
            "Il 25 novembre alle 10, Marco ha scritto:\n\nbene",
            "Le 3 mars 2026, Paul a écrit :\n  >10 € c'est trop\nmerci",
        ] {
            assert_eq!(cut(body), body, "{body:?}");
        }
    }

    #[test]
    fn an_attribution_at_the_very_end_is_kept() {
        let body = "Le 25 nov. 2026 à 10:00, Marie a écrit :";
        assert_eq!(cut(body), body);
    }

    // ----- Separators -----

    #[test]
    fn classic_outlook_separators_are_cut() {
        for separator in [
            "-----Original Message-----",
            "-----Message d'origine-----",
            "-----Message d’origine-----",
            "-----Ursprüngliche Nachricht-----",
            "-----Mensaje original-----",
            "-----Messaggio originale-----",
            "----- Original Message -----",
            "-------- Original-Nachricht --------",
        ] {
            assert_eq!(cut(&format!("Texte\n\n{separator}\nFrom: x\nquoted")), "Texte", "{separator}");
            assert_eq!(cut(&format!("Texte\n{separator}")), "Texte", "{separator} alone");
        }
    }

    #[test]
    fn forward_separators_are_cut() {
        for separator in [
            "---------- Forwarded message ---------",
            "---------- Message transféré ---------",
            "---------- Weitergeleitete Nachricht ---------",
            "---------- Mensaje reenviado ---------",
            "---------- Messaggio inoltrato ---------",
            "-------- Forwarded Message --------",
            "-------- Message transféré --------",
            "----- Forwarded Message -----",
            "———— Forwarded message ————",
        ] {
            assert_eq!(
                cut(&format!("Pour info\n\n{separator}\nFrom: x <x@y.z>\nforwarded")),
                "Pour info",
                "{separator}"
            );
        }
    }

    #[test]
    fn apple_mail_forward_introductions_are_cut() {
        for introduction in [
            "Begin forwarded message:",
            "Début du message réexpédié :",
            "Début du message réexpédié\u{a0}:",
            "Anfang der weitergeleiteten Nachricht:",
            "Inicio del mensaje reenviado:",
            "Inizio messaggio inoltrato:",
        ] {
            assert_eq!(cut(&format!("Voir ci-dessous\n\n{introduction}\n\nDe: a\nforwarded")), "Voir ci-dessous");
        }
    }

    #[test]
    fn separators_inside_a_line_or_unknown_are_kept() {
        for body in [
            "Texte\nvoir -----Original Message----- plus bas",
            "Texte\n----- Message important -----\nsuite",
            "Texte\nOriginal Message\nsuite",
            "Texte\nBegin forwarded message: demain\nsuite",
            "Texte\n-- Forwarded message\nsuite",
        ] {
            assert_eq!(cut(body), body, "{body:?}");
        }
    }

    // ----- Header blocks -----

    #[test]
    fn the_new_outlook_rule_and_header_block_is_cut_in_every_language() {
        for block in [
            "De : Mail2SMS <noreply@mail2sms.example>\nEnvoyé : mercredi 25 novembre 2026 10:00\nÀ : shop@example.com\nObjet : Refusé",
            "From: Mail2SMS <noreply@mail2sms.example>\nSent: Wednesday, November 25, 2026 10:00 AM\nTo: shop@example.com\nSubject: Refused",
            "Von: Mail2SMS <noreply@mail2sms.example>\nGesendet: Mittwoch, 25. November 2026 10:00\nAn: shop@example.com\nBetreff: Abgelehnt",
            "De: Mail2SMS <noreply@mail2sms.example>\nEnviado: miércoles, 25 de noviembre de 2026 10:00\nPara: shop@example.com\nAsunto: Rechazado",
            "De: Mail2SMS <noreply@mail2sms.example>\nEnviado el: miércoles, 25 de noviembre de 2026 10:00\nPara: shop@example.com\nAsunto: Rechazado",
            "Da: Mail2SMS <noreply@mail2sms.example>\nInviato: mercoledì 25 novembre 2026 10:00\nA: shop@example.com\nOggetto: Rifiutato",
            "De : Mail2SMS\nEnvoyé : mercredi 25 novembre 2026 10:00\nÀ : Boutique\nObjet : Refusé",
        ] {
            let body = format!("Merci\n\n________________________________\n{block}\n\nTexte cité");
            assert_eq!(cut(&body), "Merci", "{block}");
        }
    }

    #[test]
    fn a_header_block_naming_an_address_is_cut_without_a_rule() {
        for block in [
            "De : Mail2SMS <noreply@mail2sms.example>\nEnvoyé : mercredi 25 novembre 2026 10:00\nÀ : shop@example.com\nObjet : Refusé",
            "*From:* Mail2SMS <noreply@mail2sms.example>\n*Sent:* Wednesday, November 25, 2026 10:00 AM\n*Subject:* Refused",
            "Gesendet: Mittwoch, 25. November 2026 um 10:00 Uhr\nVon: noreply@mail2sms.example\nAn: shop@example.com\nBetreff: Abgelehnt",
            "From: Mail2SMS <noreply@mail2sms.example>\nSubject: Refused\nDate: 25 November 2026 at 10:00:00 CET\nTo: shop@example.com",
            "From: Mail2SMS <noreply@mail2sms.example>\nTo: a@example.com, b@example.com,\n c@example.com\nSent: today 10:00\nSubject: x",
        ] {
            assert_eq!(cut(&format!("Merci\n\n{block}\n\nTexte cité")), "Merci", "{block}");
        }
    }

    #[test]
    fn a_list_the_customer_typed_is_not_a_header_block() {
        for body in [
            "Assemblée générale\nDate : 12 mai\nDe : 14h à 16h\nObjet : budget",
            "Réunion\nDe : Paul\nDate : lundi\nLieu : salle 3",
            "Réunion\nDe : paul@example.com\nDate : lundi",
            "Réunion\nObjet : budget\nDe : paul@example.com\nDate : lundi",
            "Réunion\nDe : paul@example.com\n\nDate : lundi\nObjet : budget",
            "Réunion\n__________\nDate : lundi\nLieu : salle 3\nObjet : budget",
            "Réunion\nDe : paul@example.com\nDate : lundi\nÀ : tous\nLieu : salle 3",
            "Réunion\nDe : paul@example.com\nmerci de venir\nDate : lundi\nObjet : budget\nÀ : tous",
        ] {
            assert_eq!(cut(body), body, "{body:?}");
        }
    }

    // ----- Trailing quotes -----

    #[test]
    fn a_trailing_block_of_quoted_lines_is_cut() {
        assert_eq!(cut("Merci\n\n> Votre email\n> a été refusé\n>\n> Mail2SMS\n"), "Merci");
        assert_eq!(cut("Merci\n> cité\n\n>> plus ancien\n\n"), "Merci");
        assert_eq!(cut("Merci\n\nEnvoyé de mon iPhone\n\n> Le 25 nov. 2026, Mail2SMS a écrit :\n> Refusé"), "Merci");
    }

    #[test]
    fn quoted_lines_followed_by_the_customer_s_text_are_kept() {
        let body = "> Pouvez-vous venir ?\nOui, à 10h.";
        assert_eq!(cut(body), body);
    }

    #[test]
    fn a_greater_than_sign_inside_a_line_is_kept() {
        for body in ["Soldes : prix > 10 € remisés", "Promo\nprix > 10 €\n-> 20 % offerts", "Promo\n >10 € offerts"]
        {
            assert_eq!(cut(body), body, "{body:?}");
        }
    }

    #[test]
    fn a_body_that_is_only_quoted_is_kept() {
        assert_eq!(cut("> 10 € offerts dès 50 € d'achat"), "> 10 € offerts dès 50 € d'achat");
    }

    // ----- The corpus: emails as the clients write them -----

    #[test]
    fn gmail_french_reply_keeps_only_the_new_text() {
        let mail = fixture!("gmail-reply-fr");
        assert_eq!(kept(&mail), "C'est corrigé, merci !\nEnvoi prévu demain matin.");
        assert_eq!(login(&mail), "boutique");
    }

    #[test]
    fn gmail_english_reply_keeps_only_the_new_text() {
        let mail = fixture!("gmail-reply-en");
        assert_eq!(kept(&mail), "Fixed, thanks.");
        assert_eq!(login(&mail), "shop");
    }

    #[test]
    fn gmail_french_forward_keeps_only_the_new_text() {
        let mail = fixture!("gmail-forward-fr");
        assert_eq!(kept(&mail), "Rappel : la boutique ferme à 18h ce samedi.");
        assert_eq!(login(&mail), "boutique");
    }

    #[test]
    fn classic_outlook_french_reply_keeps_only_the_new_text() {
        let mail = fixture!("outlook-classic-reply-fr");
        assert_eq!(kept(&mail), "Bonjour,\n\nVotre commande est prête.\n\nMarie");
        assert_eq!(login(&mail), "marie42");
    }

    #[test]
    fn new_outlook_french_reply_keeps_only_the_new_text() {
        let mail = fixture!("outlook-new-reply-fr");
        assert_eq!(kept(&mail), "Livraison demain entre 9h et 12h.");
        assert_eq!(login(&mail), "marie42");
    }

    #[test]
    fn apple_mail_french_forward_keeps_only_the_new_text() {
        let mail = fixture!("apple-forward-fr");
        assert_eq!(kept(&mail), "À envoyer aux clients fidèles :\n-20 % sur tout le magasin ce week-end !");
        assert_eq!(login(&mail), "boutique");
    }

    #[test]
    fn apple_mail_iphone_reply_keeps_only_the_new_text() {
        let mail = fixture!("apple-reply-fr");
        assert_eq!(kept(&mail), "Parfait, merci.");
        assert_eq!(login(&mail), "boutique");
    }

    // ----- The corpus in HTML: the text the gateway renders, then cut -----

    #[test]
    fn new_outlook_html_reply_div_rply_fwd_msg_is_cut_once_rendered() {
        let mail = fixture!("outlook-new-reply-en-html");
        assert_eq!(kept(&mail), "Delivery tomorrow between 9 and 12.\n\nJohn");
        assert_eq!(login(&mail), "shop");
    }

    #[test]
    fn gmail_html_forward_is_cut_once_rendered() {
        let mail = fixture!("gmail-forward-en-html");
        assert_eq!(kept(&mail), "Please send this to our customers.");
        assert_eq!(login(&mail), "shop");
    }

    #[test]
    fn apple_mail_html_forward_blockquote_cite_is_cut_once_rendered() {
        let mail = fixture!("apple-forward-de-html");
        assert_eq!(kept(&mail), "Bitte an alle Kunden schicken.");
        assert_eq!(login(&mail), "laden");
    }

    #[test]
    fn gmail_html_reply_gmail_quote_is_cut_once_rendered() {
        let mail = fixture!("gmail-reply-fr-html");
        assert_eq!(kept(&mail), "C'est corrigé, merci !");
    }

    #[test]
    fn apple_mail_html_reply_blockquote_cite_is_cut_once_rendered() {
        let mail = fixture!("apple-reply-en-html");
        assert_eq!(kept(&mail), "Perfect, thanks.");
    }

    // ----- Totality -----

    proptest! {
        #[test]
        fn finding_quotes_never_panics(body in any::<String>()) {
            let lines: Vec<&str> = body.split('\n').collect();
            if let Some(start) = quoted_from(&lines) {
                prop_assert!(start < lines.len());
            }
            if let Some(start) = trailing_quote(&lines) {
                prop_assert!(start > 0 && start < lines.len());
            }
        }

        #[test]
        fn quote_shaped_bodies_never_panic_and_clean_twice_the_same(
            body in "((Le|On|Am|El|Il) [0-9]{1,2} x[ ,]*(a écrit :|wrote:|schrieb y:)?|> ?[a-z]{0,4}|-{2,5} ?(Original Message|Message transféré)? ?-{0,5}|_{0,12}|(De|From|Date|Objet|Subject|À) ?: ?[a-z@]{0,3}|[a-z ]{0,6}|\n){0,24}"
        ) {
            let once = clean_body(&body);
            prop_assert_eq!(clean_body(&once), once.clone());
        }
    }
}
