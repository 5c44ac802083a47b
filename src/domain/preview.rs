//! A dry run's preview (`dryrun` in the subject): what the gateway would do with a request that
//! passed every check of its subject and body, judged against the opt-out lists and the balance
//! as they are, and told to the sender in French, as the error replies are. Nothing is sent,
//! nothing is debited. Pure: the pipeline gathers the facts (the record the real send would
//! open, the numbers on an opt-out list, the balance it read), this module judges them and
//! writes the preview's text.
//!
//! The SMS text is quoted back (it is the sender's own email); the API key never is (the
//! subject is never quoted, and the reply masks the key wherever the text holds it, see
//! [`preview_reply`](crate::reply::preview_reply)).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::message::{Delivery, MessageRecord, RecipientRecord};
use super::optout::OptOutList;
use super::recipient::{DropReason, Recipient};
use super::segments::{self, Encoding};
use super::sender::{STOP_MENTION, SenderId, has_stop_mention};
use super::status::Rejection;
use crate::plural::{Words, count, french};

/// The most recipients a preview lists one by one with their sender (as a delivery receipt
/// does); the others are counted by sender on one line.
pub const PREVIEW_LISTED: usize = 200;

/// What a dry run found.
#[derive(Debug, Clone, Copy)]
pub struct Preview<'a> {
    /// The record the real send would open: its recipients (those on an opt-out list marked
    /// `opted_out`, see [`MessageRecord::opt_out`]) with the sender each would see, the numbers
    /// the subject dropped, the text, its parts, the cost, and when it would go.
    pub planned: &'a MessageRecord,
    /// The numbers on an opt-out list, with the list each is on.
    pub opted_out: &'a [(Recipient, OptOutList)],
    /// The `from=` the subject asked for.
    pub asked_sender: Option<&'a SenderId>,
    /// The account's balance, as read when the preview was made.
    pub balance: u64,
    /// The account's time zone: the times the preview gives are in it.
    pub zone: Tz,
    /// When the preview was made.
    pub at: DateTime<Utc>,
}

impl Preview<'_> {
    /// What the real send would be refused with at its debit, in the order it checks there:
    /// every number on an opt-out list (114), then too few credits (104, with the manual's
    /// amounts). `None`: it would be accepted.
    pub fn refusal(&self) -> Option<Rejection> {
        if self.planned.chargeable() == 0 {
            Some(Rejection::all_opted_out())
        } else if self.planned.cost > self.balance {
            Some(Rejection::insufficient_credits(self.planned.cost, self.balance))
        } else {
            None
        }
    }
}

/// A preview's subject and body, to be sent as an answer to the email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewText {
    pub subject: String,
    pub body: String,
}

const CREDITS: Words = ("crédit", "crédits");
const RECIPIENTS: Words = ("destinataire", "destinataires");
const PARTS: Words = ("partie", "parties");
const NUMBERS: Words = ("numéro", "numéros");
const CHARACTERS: Words = ("caractère", "caractères");

/// The preview of a dry run, in French. Subject `Mail2SMS: simulation, envoi accepté : <n>
/// SMS, <c> crédits` or `Mail2SMS: simulation, envoi refusé (erreur <code>)` (the email's own
/// subject is never quoted: it holds the API key). Body, in this order:
///
/// - that it is a simulation: nothing sent, nothing debited;
/// - the verdict: accepted, or refused with the `Status:` and `StatusText:` lines the real
///   send's error reply would carry (the same code and text);
/// - when it was made (the balance's moment), in the account's time zone;
/// - the recipients kept; the numbers the subject dropped, with why (the first ones, as the
///   record keeps them); the numbers on an opt-out list, with which list;
/// - the text: its characters (and encoding units when they differ), its encoding (GSM 7-bit
///   or Unicode) and its parts per SMS;
/// - the cost, the balance at the time of the preview, the balance after, whether the credits
///   suffice (and which code the real send would get if not);
/// - when it would go: at once, at its `date=`, or held to the French marketing hours until when;
/// - the sender each recipient would see, and why when `from=` does not apply (the STOP rule),
///   at most [`PREVIEW_LISTED`] lines, the others counted by sender;
/// - the SMS text as it would be sent, between two rules;
/// - one English sentence.
pub fn preview_text(preview: &Preview<'_>) -> PreviewText {
    let record = preview.planned;
    let refusal = preview.refusal();
    let kept: Vec<&RecipientRecord> = record.recipients.iter().filter(|r| r.delivery != Delivery::OptedOut).collect();
    let text = record.text.as_deref().unwrap_or_default();
    let mut lines = vec![
        "Simulation de votre envoi SMS (option dryrun) : aucun SMS n'a été envoyé, aucun crédit n'a été débité."
            .to_owned(),
        String::new(),
    ];
    match &refusal {
        None => lines.push("Résultat : l'envoi serait accepté.".to_owned()),
        Some(rejection) => {
            lines.push("Résultat : l'envoi serait refusé, avec cette erreur :".to_owned());
            lines.push(format!("Status: {}", rejection.status.code()));
            lines.push(format!("StatusText: {}", one_line(&rejection.status_text)));
        }
    }
    lines.push(format!("Simulation faite le {} ({})", local_time(preview.at, preview.zone), preview.zone.name()));
    lines.push(String::new());

    // ----- the numbers -----
    lines.push(format!("Destinataires retenus : {}", kept.len()));
    if record.dropped_count > 0 {
        lines.push(format!("Numéros refusés : {} (non valides, jamais envoyés ni facturés)", record.dropped_count));
        lines.extend(
            record
                .dropped
                .iter()
                .map(|dropped| format!("- « {} » : {}", one_line(&dropped.input), why(dropped.reason))),
        );
        let unlisted = record.dropped_count.saturating_sub(record.dropped.len());
        if unlisted > 0 {
            lines.push(format!("- … et {}", french(count(unlisted), ("autre", "autres"))));
        }
    }
    if !preview.opted_out.is_empty() {
        lines
            .push(format!("Numéros sur une liste d'opposition : {} (ni envoyés, ni débités)", preview.opted_out.len()));
        let listed = preview.opted_out.iter().take(PREVIEW_LISTED);
        lines.extend(listed.map(|(number, list)| format!("- {} : {}", number.e164(), list_name(list))));
        if preview.opted_out.len() > PREVIEW_LISTED {
            lines.push(format!(
                "- … et {}",
                french(count(preview.opted_out.len() - PREVIEW_LISTED), ("autre", "autres"))
            ));
        }
    }
    lines.push(String::new());

    // ----- the text and what it costs -----
    let counted = segments::count(text);
    let characters = text.chars().count();
    let (encoding, units, single, per_part) = match counted.encoding {
        Encoding::Gsm7 => ("GSM 7 bits", "unités GSM 7 bits", 160, 153),
        Encoding::Ucs2 => ("Unicode (UCS-2)", "unités UTF-16", 70, 67),
    };
    let mut length = format!("Texte : {}", french(count(characters), CHARACTERS));
    if counted.units != characters {
        length.push_str(&format!(" ({} {units})", counted.units));
    }
    lines.push(length);
    lines.push(format!("Encodage : {encoding} ({single} par SMS seul, {per_part} par partie au-delà)"));
    lines.push(format!("Parties par SMS : {}", record.parts));
    lines.push(format!(
        "Coût : {} ({} × {})",
        french(record.cost, CREDITS),
        french(u64::from(record.parts), PARTS),
        french(count(kept.len()), RECIPIENTS)
    ));
    lines.push(format!("Solde au moment de la simulation : {}", french(preview.balance, CREDITS)));
    let enough = record.cost <= preview.balance;
    match &refusal {
        None => lines.push(format!("Solde après l'envoi : {}", french(preview.balance - record.cost, CREDITS))),
        Some(_) => lines.push(format!(
            "Solde après l'envoi : inchangé, l'envoi étant refusé ({})",
            french(preview.balance, CREDITS)
        )),
    }
    lines.push(if enough {
        "Crédits suffisants : oui".to_owned()
    } else {
        format!(
            "Crédits suffisants : non, il en manque {} : l'envoi réel serait refusé (erreur 104)",
            record.cost - preview.balance
        )
    });
    lines.push(String::new());

    // ----- when -----
    lines.push(departure(record, preview.zone));

    // ----- who it comes from -----
    if !kept.is_empty() {
        lines.push(String::new());
        lines.push("Émetteur par destinataire :".to_owned());
        let stop_mention = has_stop_mention(text);
        lines.extend(
            kept.iter()
                .take(PREVIEW_LISTED)
                .map(|recipient| sender_line(recipient, preview.asked_sender, stop_mention)),
        );
        if kept.len() > PREVIEW_LISTED {
            lines.push(others_by_sender(&kept[PREVIEW_LISTED..]));
        }
    }

    // ----- the text itself -----
    lines.push(String::new());
    lines.push("Texte du SMS, tel qu'il serait envoyé :".to_owned());
    lines.push(RULE.to_owned());
    lines.push(text.to_owned());
    lines.push(RULE.to_owned());
    lines.push(String::new());
    lines.push(match &refusal {
        None => "Dry run: nothing was sent and nothing was debited; the real send would be accepted.".to_owned(),
        Some(rejection) => format!(
            "Dry run: nothing was sent and nothing was debited; the real send would be refused with status {}: {}",
            rejection.status.code(),
            rejection.english()
        ),
    });

    let subject = match &refusal {
        None => format!("Mail2SMS: simulation, envoi accepté : {} SMS, {}", kept.len(), french(record.cost, CREDITS)),
        Some(rejection) => format!("Mail2SMS: simulation, envoi refusé (erreur {})", rejection.status.code()),
    };
    PreviewText { subject, body: lines.join("\n") + "\n" }
}

/// The rule around the quoted text.
const RULE: &str = "----------";

/// Why a number was dropped, in French.
fn why(reason: DropReason) -> &'static str {
    match reason {
        DropReason::Malformed => "pas un numéro de téléphone",
        DropReason::Invalid => "numéro inexistant (longueur, indicatif ou tranche)",
        DropReason::NotMobile => "numéro qui ne reçoit pas de SMS (fixe, surtaxé, gratuit…)",
    }
}

/// Which opt-out list, in French.
fn list_name(list: &OptOutList) -> &'static str {
    match list {
        OptOutList::Account(_) => "liste d'opposition du compte",
        OptOutList::Gateway => "liste d'opposition de la passerelle (STOP)",
    }
}

/// When the message would go: at once, at its `date=`, or held to the marketing hours.
fn departure(record: &MessageRecord, zone: Tz) -> String {
    let at = |time| format!("{} ({})", local_time(time, zone), zone.name());
    match (record.due_at, &record.held) {
        (Some(until), Some(hold)) => format!(
            "Départ : retenu aux heures autorisées des envois commerciaux vers la France (lundi au samedi, \
             8h-20h heure de Paris, hors jours fériés) : le {} ; il était prévu le {}. Débité dès l'acceptation.",
            at(until),
            local_time(hold.original_due_at, zone)
        ),
        (Some(due), None) => format!("Départ : programmé le {}. Débité dès l'acceptation.", at(due)),
        (None, _) => "Départ : immédiat, dès la réception de l'email.".to_owned(),
    }
}

/// `+33612345678 : MAGASIN`, with why when the sender asked for does not apply.
fn sender_line(recipient: &RecipientRecord, asked: Option<&SenderId>, stop_mention: bool) -> String {
    let number = recipient.number.e164();
    let shown = recipient.sender.as_ref().map(SenderId::as_str);
    let overruled = asked.is_some() && recipient.sender.as_ref() != asked;
    match (shown, overruled) {
        (Some(sender), false) if asked.is_some() => format!("- {number} : {sender}"),
        (Some(sender), false) => format!("- {number} : {sender} (émetteur par défaut du compte)"),
        (None, false) => format!("- {number} : aucun (numéro de l'opérateur)"),
        (shown, true) => {
            let instead = shown.map_or("aucun (numéro de l'opérateur)".to_owned(), |sender| {
                format!("{sender} (émetteur par défaut du compte)")
            });
            // The only reason from= does not apply: a French number, and no STOP mention.
            let rule = if recipient.number.is_french() && !stop_mention {
                format!(" : from= ne s'applique vers la France que si le message se termine par « {STOP_MENTION} »")
            } else {
                String::new()
            };
            format!("- {number} : {instead}{rule}")
        }
    }
}

/// The recipients not listed, counted by the sender they would see.
fn others_by_sender(others: &[&RecipientRecord]) -> String {
    let mut senders: Vec<(Option<&SenderId>, usize)> = Vec::new();
    for recipient in others {
        match senders.iter_mut().find(|(sender, _)| *sender == recipient.sender.as_ref()) {
            Some((_, seen)) => *seen += 1,
            None => senders.push((recipient.sender.as_ref(), 1)),
        }
    }
    let counts: Vec<String> = senders
        .iter()
        .map(|(sender, seen)| format!("{} : {}", sender.map_or("aucun émetteur", SenderId::as_str), seen))
        .collect();
    format!("- … et {} ({})", french(count(others.len()), NUMBERS), counts.join(", "))
}

/// A time as a French reader writes it, in `zone`: `25/11/2026 à 10:12:44`.
fn local_time(time: DateTime<Utc>, zone: Tz) -> String {
    time.with_timezone(&zone).format("%d/%m/%Y à %H:%M:%S").to_string()
}

/// The text on one line: control characters (CR and LF among them) become spaces.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_owned()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use chrono_tz::Europe::Paris;

    use super::*;
    use crate::domain::date::When;
    use crate::domain::hours::HoldReason;
    use crate::domain::message::MessageRecord;
    use crate::domain::recipient::{DroppedNumber, parse_recipients};
    use crate::domain::sender::sender_for;
    use crate::domain::status::StatusCode;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn sender(value: &str) -> SenderId {
        SenderId::parse(value).unwrap()
    }

    /// The record the real send would open, as `read_request` builds it: the numbers of
    /// `numbers`, their senders by the STOP rule, the text's parts, sent now.
    fn planned(numbers: &str, text: &str, asked: Option<&SenderId>, default: Option<&SenderId>) -> MessageRecord {
        let read = parse_recipients(numbers);
        let stop = has_stop_mention(text);
        let recipients = read
            .valid
            .into_iter()
            .map(|number| {
                let shown = sender_for(&number, asked, stop, default);
                RecipientRecord::pending(number, shown)
            })
            .collect();
        let now = at(2026, 11, 25, 9, 12);
        let mut record =
            MessageRecord::accepted("m", now, "shop", recipients, text.to_owned(), segments::count(text), When::Now);
        record.dropped = read.dropped;
        record.dropped_count = read.dropped_count;
        record
    }

    fn preview<'a>(
        planned: &'a MessageRecord,
        opted_out: &'a [(Recipient, OptOutList)],
        asked: Option<&'a SenderId>,
        balance: u64,
    ) -> Preview<'a> {
        Preview { planned, opted_out, asked_sender: asked, balance, zone: Paris, at: at(2026, 11, 25, 9, 12) }
    }

    #[test]
    fn an_accepted_preview_says_what_would_go_what_it_costs_and_the_balance_after() {
        let magasin = sender("MAGASIN");
        let boutique = sender("BOUTIQUE");
        let record = planned("0612345678;+32470123456;abc", "Soldes ce week-end", Some(&magasin), Some(&boutique));
        let preview = preview(&record, &[], Some(&magasin), 10);
        assert_eq!(preview.refusal(), None);
        let PreviewText { subject, body } = preview_text(&preview);
        assert_eq!(subject, "Mail2SMS: simulation, envoi accepté : 2 SMS, 2 crédits");
        for line in [
            "Simulation de votre envoi SMS (option dryrun) : aucun SMS n'a été envoyé, aucun crédit n'a été débité.",
            "Résultat : l'envoi serait accepté.",
            "Simulation faite le 25/11/2026 à 10:12:00 (Europe/Paris)",
            "Destinataires retenus : 2",
            "Numéros refusés : 1 (non valides, jamais envoyés ni facturés)",
            "- « abc » : pas un numéro de téléphone",
            "Texte : 18 caractères",
            "Encodage : GSM 7 bits (160 par SMS seul, 153 par partie au-delà)",
            "Parties par SMS : 1",
            "Coût : 2 crédits (1 partie × 2 destinataires)",
            "Solde au moment de la simulation : 10 crédits",
            "Solde après l'envoi : 8 crédits",
            "Crédits suffisants : oui",
            "Départ : immédiat, dès la réception de l'email.",
            "Émetteur par destinataire :",
            "- +33612345678 : BOUTIQUE (émetteur par défaut du compte) : from= ne s'applique vers la France que si le message se termine par « STOP au 36180 »",
            "- +32470123456 : MAGASIN",
            "----------\nSoldes ce week-end\n----------",
            "Dry run: nothing was sent and nothing was debited; the real send would be accepted.",
        ] {
            assert!(body.contains(line), "missing {line:?} in:\n{body}");
        }
        assert!(!body.contains("Status:"), "no error: {body}");
        assert!(!body.contains("liste d'opposition"), "none listed: {body}");
    }

    #[test]
    fn too_few_credits_is_the_real_sends_104_with_its_text() {
        let record = planned("0612345678;0698765432", &"é".repeat(170), None, None);
        assert_eq!((record.parts, record.cost), (2, 4), "GSM 7-bit: é is in the alphabet");
        let preview = preview(&record, &[], None, 3);
        let refusal = preview.refusal().expect("refused");
        assert_eq!(refusal, Rejection::insufficient_credits(4, 3));
        let PreviewText { subject, body } = preview_text(&preview);
        assert_eq!(subject, "Mail2SMS: simulation, envoi refusé (erreur 104)");
        for line in [
            "Résultat : l'envoi serait refusé, avec cette erreur :\nStatus: 104\nStatusText: Crédit insuffisant pour traiter cet envoi. A utiliser: 4 Crédits, Disponibles: 3 Crédits. Veuillez re-créditer votre compte.",
            "Coût : 4 crédits (2 parties × 2 destinataires)",
            "Solde au moment de la simulation : 3 crédits",
            "Solde après l'envoi : inchangé, l'envoi étant refusé (3 crédits)",
            "Crédits suffisants : non, il en manque 1 : l'envoi réel serait refusé (erreur 104)",
            "- +33612345678 : aucun (numéro de l'opérateur)",
            "status 104: Not enough credits to send this message.",
        ] {
            assert!(body.contains(line), "missing {line:?} in:\n{body}");
        }
        assert!(preview_text(&Preview { balance: 4, ..preview }).subject.contains("accepté"), "4 suffice");
    }

    #[test]
    fn numbers_on_an_opt_out_list_are_left_out_of_the_cost_and_named_with_their_list() {
        let mut record = planned("0612345678;0698765432;0611111111", "Bonjour", None, None);
        let numbers: Vec<Recipient> = record.recipients.iter().map(|r| r.number.clone()).collect();
        let listed =
            [(numbers[0].clone(), OptOutList::Account("shop".into())), (numbers[2].clone(), OptOutList::Gateway)];
        record.opt_out(&listed);
        let preview = preview(&record, &listed, None, 10);
        assert_eq!(preview.refusal(), None);
        let body = preview_text(&preview).body;
        for line in [
            "Destinataires retenus : 1",
            "Numéros sur une liste d'opposition : 2 (ni envoyés, ni débités)",
            "- +33612345678 : liste d'opposition du compte",
            "- +33611111111 : liste d'opposition de la passerelle (STOP)",
            "Coût : 1 crédit (1 partie × 1 destinataire)",
            "Solde après l'envoi : 9 crédits",
        ] {
            assert!(body.contains(line), "missing {line:?} in:\n{body}");
        }
        assert!(!body.contains("- +33612345678 : aucun"), "an opted-out number has no sender line: {body}");
    }

    #[test]
    fn every_number_opted_out_is_the_real_sends_114_before_any_104() {
        let mut record = planned("0612345678", "Bonjour", None, None);
        let listed = [(record.recipients[0].number.clone(), OptOutList::Gateway)];
        record.opt_out(&listed);
        let preview = preview(&record, &listed, None, 0);
        assert_eq!(preview.refusal(), Some(Rejection::all_opted_out()));
        let PreviewText { subject, body } = preview_text(&preview);
        assert_eq!(subject, "Mail2SMS: simulation, envoi refusé (erreur 114)");
        assert!(
            body.contains(&format!("Status: 114\nStatusText: {}", Rejection::all_opted_out().status_text)),
            "{body}"
        );
        assert!(body.contains("Every number of the subject opted out"), "{body}");
        assert!(body.contains("Crédits suffisants : oui"), "nothing to pay: {body}");
    }

    #[test]
    fn unicode_text_counts_its_units_and_parts() {
        let record = planned("0612345678", &format!("{} 😀", "a".repeat(68)), None, None);
        let body = preview_text(&preview(&record, &[], None, 10)).body;
        assert!(body.contains("Texte : 70 caractères (71 unités UTF-16)"), "{body}");
        assert!(body.contains("Encodage : Unicode (UCS-2) (70 par SMS seul, 67 par partie au-delà)"), "{body}");
        assert!(body.contains("Parties par SMS : 2"), "{body}");
        let euro = planned("0612345678", "Prix : 10 €", None, None);
        assert!(
            preview_text(&preview(&euro, &[], None, 10)).body.contains("Texte : 11 caractères (12 unités GSM 7 bits)")
        );
    }

    #[test]
    fn a_dated_message_says_when_and_a_held_one_until_when() {
        let now = planned("0612345678", "Bonjour", None, None);
        let local = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap().and_hms_opt(9, 30, 0).unwrap();
        let dated = MessageRecord::accepted(
            "m",
            now.received_at,
            "shop",
            now.recipients,
            "Bonjour".into(),
            segments::count("Bonjour"),
            When::At { due: at(2026, 12, 1, 8, 30), local, zone: Paris },
        );
        let body = preview_text(&preview(&dated, &[], None, 10)).body;
        assert!(body.contains("Départ : programmé le 01/12/2026 à 09:30:00 (Europe/Paris). Débité dès l'acceptation."));

        let mut held = planned("0612345678", "Soldes STOP au 36180", Some(&sender("MAGASIN")), None);
        held.received_at = at(2026, 11, 28, 20, 0);
        held.hold(at(2026, 11, 30, 7, 0), HoldReason::MarketingHours);
        let magasin = sender("MAGASIN");
        let body = preview_text(&preview(&held, &[], Some(&magasin), 10)).body;
        assert!(body.contains("retenu aux heures autorisées"), "{body}");
        assert!(
            body.contains(": le 30/11/2026 à 08:00:00 (Europe/Paris) ; il était prévu le 28/11/2026 à 21:00:00"),
            "{body}"
        );
        assert!(body.contains("- +33612345678 : MAGASIN\n"), "the STOP mention is there: {body}");
    }

    #[test]
    fn many_recipients_are_listed_up_to_the_limit_then_counted_by_sender() {
        let numbers: Vec<String> = (0..250).map(|i| format!("+32470{i:06}")).collect();
        let record = planned(&numbers.join(";"), "Bonjour", Some(&sender("MAGASIN")), None);
        let magasin = sender("MAGASIN");
        let body = preview_text(&preview(&record, &[], Some(&magasin), 1000)).body;
        assert_eq!(body.lines().filter(|line| line.starts_with("- +32470")).count(), PREVIEW_LISTED);
        assert!(body.contains("- … et 50 numéros (MAGASIN : 50)"), "{body}");
    }

    #[test]
    fn dropped_numbers_beyond_those_kept_are_counted() {
        let mut record = planned("0612345678", "Bonjour", None, None);
        record.dropped = vec![DroppedNumber::new("0123456789", DropReason::NotMobile)];
        record.dropped_count = 3;
        let body = preview_text(&preview(&record, &[], None, 10)).body;
        assert!(body.contains("Numéros refusés : 3"), "{body}");
        assert!(body.contains("- « 0123456789 » : numéro qui ne reçoit pas de SMS"), "{body}");
        assert!(body.contains("- … et 2 autres"), "{body}");
    }

    #[test]
    fn the_status_text_stays_on_its_line() {
        let record = planned("0612345678", "Bonjour", None, None);
        let preview = preview(&record, &[], None, 0);
        let body = preview_text(&preview).body;
        let status = body.lines().find(|line| line.starts_with("StatusText: ")).unwrap();
        assert!(status.ends_with("Veuillez re-créditer votre compte."), "{status}");
        assert_eq!(preview.refusal().map(|r| r.status), Some(StatusCode::InsufficientCredits));
    }
}
