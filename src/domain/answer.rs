//! Answers by SMS (two-way SMS, the manual's "SMS Push-Pull"): the recipients of a campaign
//! answer by SMS (SMS-MO), and the customer who sent it receives each answer by email. An answer
//! may also be a keyword (the manual's STOP paragraph): STOP takes the number off the customer's
//! campaigns, START or REABO puts it back.
//!
//! Pure rules: what an answer says ([`keyword`]) and the email that forwards it ([`forward`]).
//! The pipeline (`crate::inbound`) finds the message answered, applies the keyword to the
//! account's opt-out list and sends the email.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::optout::OptOutSource;
use super::recipient::Recipient;
use super::text::folded;
use crate::plural::{count, french};

/// A keyword an answer may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Keyword {
    /// The number asks to receive no more SMS of the customer's.
    Stop,
    /// The number asks to receive them again.
    Start,
}

/// The words that open a STOP, accents, case and hyphens aside: the manual's STOP, its French
/// forms (`ARRET`, which AWS's own list has too, `STOP SMS` written as one word), and the
/// plain French and English words for unsubscribing.
pub const STOP_WORDS: [&str; 10] = [
    "stop",
    "stopsms",
    "arret",
    "arreter",
    "optout",
    "unsubscribe",
    "desinscription",
    "desinscrire",
    "desabonnement",
    "desabonner",
];

/// The words that open a START: the manual's START and REABO, and their plain forms.
pub const START_WORDS: [&str; 6] = ["start", "startsms", "reabo", "reabonnement", "reabonner", "unstop"];

/// What may follow the keyword and still leave the answer a keyword: `SMS` (`STOP SMS`),
/// politeness, and the mention copied back (`STOP au 36180`: `au` and a number).
pub const TRAILING_WORDS: [&str; 6] = ["sms", "svp", "stp", "merci", "please", "au"];

/// The keyword an answer is, if it is one. The grammar is small and total:
///
/// - the text is folded (case, accents and typography aside: `Arrêt` is `arret`), hyphens are
///   dropped (`OPT-OUT` is `optout`), and every other character that is neither a letter nor a
///   digit separates words (`stop.`, `STOP !`, `Stop 🙏`);
/// - its first word is a keyword ([`STOP_WORDS`], [`START_WORDS`]);
/// - each word after it is `SMS`, `SVP`, `STP`, `MERCI`, `PLEASE`, `AU`, a number, or a word of
///   the same keyword (`STOP STOP`, `Stop arrêt`).
///
/// Anything else is an answer, forwarded as it is: `Stop je serai en retard` is not a STOP
/// (the customer reads it, and may list the number), nor is `Je veux STOP`.
pub fn keyword(text: &str) -> Option<Keyword> {
    let plain: String = folded(text)
        .chars()
        .filter(|character| *character != '-')
        .map(|character| if character.is_alphanumeric() { character } else { ' ' })
        .collect();
    let mut words = plain.split_whitespace();
    let first = words.next()?;
    let (keyword, same) = if STOP_WORDS.contains(&first) {
        (Keyword::Stop, &STOP_WORDS[..])
    } else if START_WORDS.contains(&first) {
        (Keyword::Start, &START_WORDS[..])
    } else {
        return None;
    };
    words
        .all(|word| {
            TRAILING_WORDS.contains(&word) || same.contains(&word) || word.bytes().all(|byte| byte.is_ascii_digit())
        })
        .then_some(keyword)
}

/// Where the number stands on the account's opt-out list once its keyword was applied. Told as
/// a state, not as a change, so that a retry tells the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeywordEffect {
    /// After a STOP: on the account's list.
    Listed,
    /// After a START: off the account's list (taken off, or never on it).
    NotListed,
    /// After a START: still on the account's list, where someone else than the number put it
    /// (the customer, the operator): only they take it off.
    KeptBy(OptOutSource),
}

/// The most characters of an answer a forward quotes (ten SMS of 160): an SMS-MO is shorter.
pub const MAX_ANSWER_CHARS: usize = 1_600;

/// One answer by SMS, as received.
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    /// The mobile that answered.
    pub from: &'a Recipient,
    /// When the provider received it.
    pub at: DateTime<Utc>,
    pub text: &'a str,
    pub keyword: Option<Keyword>,
    /// What the keyword did, when the answer was one and the message has an account.
    pub effect: Option<KeywordEffect>,
}

/// The email the answer answers, as its record tells it: never its subject nor its SMS text.
#[derive(Debug, Clone, Copy)]
pub struct Answered<'a> {
    /// The SES message id of the email.
    pub reference: &'a str,
    /// When the gateway received the email.
    pub received_at: DateTime<Utc>,
    /// How many numbers it was sent to (a large email's, all its parts).
    pub recipients: usize,
    /// The email's own Message-ID, to thread the forward under it.
    pub mail_message_id: Option<&'a str>,
}

/// The email that forwards an answer, ready to be written as a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerForward {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// The Message-ID of the email answered, without angle brackets.
    pub in_reply_to: Option<String>,
}

/// The forward of `answer` to `to` (the sender of the email it answers), in French as the
/// gateway's other emails, its times in `zone`. Subject `Mail2SMS: réponse SMS de <number>`
/// (`STOP de`, `START de` for a keyword). Body: who answered (the number in full: the customer
/// texted it), when, which email it answers (when it was received, how many numbers it went to,
/// its reference), the answer's text (one control character or line end at a time made plain,
/// at most [`MAX_ANSWER_CHARS`] characters) and, for a keyword, where the number now stands on
/// the account's opt-out list. Threaded under the email's Message-ID when it is known.
///
/// Nothing of the email's subject (it holds the API key) nor of its SMS text is quoted: the
/// forward only reads the answer and the record's dates, count and reference.
pub fn forward(to: &str, answer: &Answer<'_>, answered: &Answered<'_>, zone: Tz) -> AnswerForward {
    let number = answer.from.e164();
    let subject = match answer.keyword {
        None => format!("Mail2SMS: réponse SMS de {number}"),
        Some(Keyword::Stop) => format!("Mail2SMS: STOP de {number}"),
        Some(Keyword::Start) => format!("Mail2SMS: START de {number}"),
    };
    let recipients = french(count(answered.recipients), ("destinataire", "destinataires"));
    let mut lines = vec![
        "Réponse par SMS à votre envoi.".to_owned(),
        String::new(),
        format!("De : {number}"),
        format!("Reçue le {} ({})", local_time(answer.at, zone), zone.name()),
        format!("En réponse à votre email du {}, envoyé à {recipients}", local_time(answered.received_at, zone)),
        format!("Référence : {}", reference(answered.reference)),
        String::new(),
        "Message :".to_owned(),
    ];
    let text = plain_text(answer.text);
    lines.push(if text.is_empty() { "(message vide)".to_owned() } else { text });
    if let Some(effect) = answer.effect {
        lines.push(String::new());
        lines.push(effect_line(answer.keyword, effect));
    }
    AnswerForward {
        to: to.to_owned(),
        subject,
        body: lines.join("\n") + "\n",
        in_reply_to: answered.mail_message_id.map(str::to_owned),
    }
}

/// What the keyword did, for the customer.
fn effect_line(keyword: Option<Keyword>, effect: KeywordEffect) -> String {
    let word = match keyword {
        Some(Keyword::Start) => "START",
        _ => "STOP",
    };
    match effect {
        KeywordEffect::Listed => format!(
            "Ce numéro a répondu {word} : il est sur la liste d'opposition de votre compte. Vos prochains \
             envois ne lui seront ni envoyés ni débités."
        ),
        KeywordEffect::NotListed => format!(
            "Ce numéro a répondu {word} : il n'est pas sur la liste d'opposition de votre compte. Vos prochains \
             envois lui seront envoyés."
        ),
        KeywordEffect::KeptBy(source) => format!(
            "Ce numéro a répondu {word}, mais il reste sur la liste d'opposition de votre compte, où {} : \
             retirez-le de la liste dans votre espace client si vous le souhaitez.",
            put_there_by(source)
        ),
    }
}

/// Who put a number on an account's list, in the customer's words.
fn put_there_by(source: OptOutSource) -> &'static str {
    match source {
        OptOutSource::Customer => "vous l'avez mis depuis votre espace client",
        OptOutSource::Operator | OptOutSource::Import => "notre service l'a mis à votre demande",
        OptOutSource::Provider => "l'opérateur SMS l'a mis",
        OptOutSource::Recipient => "il s'est inscrit lui-même",
    }
}

/// The answer's text as the forward quotes it: line ends `\n`, tabs spaces, no other control
/// character, trimmed, at most [`MAX_ANSWER_CHARS`] characters (the last one then `…`).
fn plain_text(text: &str) -> String {
    let plain: String = text
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter_map(|character| match character {
            '\n' => Some('\n'),
            '\t' => Some(' '),
            control if control.is_control() => None,
            other => Some(other),
        })
        .collect();
    let plain = plain.trim();
    if plain.chars().count() <= MAX_ANSWER_CHARS {
        return plain.to_owned();
    }
    plain.chars().take(MAX_ANSWER_CHARS - 1).chain(['…']).collect()
}

/// A time as a French reader writes it, in `zone`: `25/11/2026 à 10:12:44`.
fn local_time(time: DateTime<Utc>, zone: Tz) -> String {
    time.with_timezone(&zone).format("%d/%m/%Y à %H:%M:%S").to_string()
}

/// The message's reference as the receipts show it: the SES message id, only its letters,
/// digits, `-`, `_` and `.`, at most 64 of them.
fn reference(message_id: &str) -> String {
    message_id.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn stop_in_any_case_accent_or_punctuation_is_a_stop() {
        for text in [
            "STOP",
            "stop",
            " Stop. ",
            "STOP !",
            "Stop 🙏",
            "STOP SMS",
            "stop-sms",
            "STOPSMS",
            "STOP au 36180",
            "Stop merci",
            "stop svp",
            "ARRET",
            "Arrêt",
            "ARRÊTER",
            "OPT-OUT",
            "Désinscription",
            "désabonner",
            "Unsubscribe please",
            "STOP STOP",
        ] {
            assert_eq!(keyword(text), Some(Keyword::Stop), "{text:?}");
        }
    }

    #[test]
    fn start_and_reabo_are_a_start() {
        for text in ["START", "start", "Réabo", "REABO", "réabonnement", "UNSTOP", "start sms", "START au 36180"] {
            assert_eq!(keyword(text), Some(Keyword::Start), "{text:?}");
        }
    }

    #[test]
    fn anything_else_is_an_answer() {
        for text in [
            "",
            "   ",
            "Oui",
            "Stop je serai en retard",
            "Je veux STOP",
            "stopper",
            "START STOP",
            "STOP REABO",
            "stop 12h",
            "Arrêtez de m'écrire",
            "OK pour demain 10h",
        ] {
            assert_eq!(keyword(text), None, "{text:?}");
        }
    }

    fn number() -> Recipient {
        Recipient::parse_e164("+33612345678").unwrap()
    }

    fn answered() -> Answered<'static> {
        Answered {
            reference: "0100018f-abc<script>",
            received_at: Utc.with_ymd_and_hms(2026, 11, 25, 9, 12, 44).unwrap(),
            recipients: 2,
            mail_message_id: Some("abc@mail.example.com"),
        }
    }

    fn answer<'a>(from: &'a Recipient, text: &'a str) -> Answer<'a> {
        Answer {
            from,
            at: Utc.with_ymd_and_hms(2026, 11, 25, 9, 40, 2).unwrap(),
            text,
            keyword: keyword(text),
            effect: None,
        }
    }

    #[test]
    fn a_forward_says_who_answered_when_what_and_to_which_email() {
        let from = number();
        let forward = forward(
            "shop@example.com",
            &answer(&from, "Oui, je passe\r\ndemain"),
            &answered(),
            chrono_tz::Europe::Paris,
        );
        assert_eq!(forward.to, "shop@example.com");
        assert_eq!(forward.subject, "Mail2SMS: réponse SMS de +33612345678");
        assert_eq!(forward.in_reply_to.as_deref(), Some("abc@mail.example.com"));
        let body = &forward.body;
        assert!(body.contains("De : +33612345678"), "{body}");
        assert!(body.contains("Reçue le 25/11/2026 à 10:40:02 (Europe/Paris)"), "{body}");
        assert!(body.contains("En réponse à votre email du 25/11/2026 à 10:12:44, envoyé à 2 destinataires"), "{body}");
        assert!(body.contains("Référence : 0100018f-abcscript"), "{body}");
        assert!(body.contains("Message :\nOui, je passe\ndemain\n"), "{body}");
        assert!(!body.contains("opposition"), "no keyword, no list: {body}");
    }

    #[test]
    fn a_keyword_forward_says_where_the_number_stands() {
        let from = number();
        let zone = chrono_tz::Europe::Paris;
        let mut stop = answer(&from, "STOP");
        stop.effect = Some(KeywordEffect::Listed);
        let forward = forward("shop@example.com", &stop, &answered(), zone);
        assert_eq!(forward.subject, "Mail2SMS: STOP de +33612345678");
        assert!(forward.body.contains("a répondu STOP : il est sur la liste d'opposition de votre compte"));
        assert!(forward.body.contains("ni envoyés ni débités"));

        let mut start = answer(&from, "Réabo");
        start.effect = Some(KeywordEffect::NotListed);
        let forward = super::forward("shop@example.com", &start, &answered(), zone);
        assert_eq!(forward.subject, "Mail2SMS: START de +33612345678");
        assert!(forward.body.contains("a répondu START : il n'est pas sur la liste d'opposition"));

        start.effect = Some(KeywordEffect::KeptBy(OptOutSource::Customer));
        let forward = super::forward("shop@example.com", &start, &answered(), zone);
        assert!(forward.body.contains("il reste sur la liste d'opposition de votre compte, où vous l'avez mis"));
    }

    #[test]
    fn the_text_is_quoted_plain_and_bounded() {
        let from = number();
        let zone = chrono_tz::Europe::Paris;
        let one = answered();
        let long = "é".repeat(5_000);
        let forward = forward("shop@example.com", &answer(&from, &long), &one, zone);
        assert!(forward.body.contains(&format!("{}…", "é".repeat(MAX_ANSWER_CHARS - 1))));
        assert!(!forward.body.contains(&"é".repeat(MAX_ANSWER_CHARS)));
        let forward = super::forward("shop@example.com", &answer(&from, "a\u{0}b\u{1b}[31m\tc"), &one, zone);
        assert!(forward.body.contains("Message :\nab[31m c\n"), "{}", forward.body);
        let forward = super::forward("shop@example.com", &answer(&from, " \r\n "), &one, zone);
        assert!(forward.body.contains("(message vide)"));
        let single = Answered { recipients: 1, mail_message_id: None, ..one };
        let forward = super::forward("shop@example.com", &answer(&from, "ok"), &single, zone);
        assert!(forward.body.contains("envoyé à 1 destinataire\n"));
        assert_eq!(forward.in_reply_to, None);
    }
}
