//! The manual's status codes (section 2.2) and their texts: the one place they are written.
//!
//! The manual's texts speak of an XML flow ("Flux XML"); the gateway receives emails, so the
//! texts name the email's subject and body instead. Everything else is the manual's wording.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A status the gateway answers with, by email, when a request cannot be carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "u16", try_from = "u16")]
pub enum StatusCode {
    /// 102: no account matches the login and API key (or the account is suspended).
    AuthenticationFailed,
    /// 104: the account has fewer credits than the sending costs.
    InsufficientCredits,
    /// 105: the subject is empty.
    EmptyRequest,
    /// 109: the subject is malformed (unknown option, invalid sender, …).
    InvalidRequest,
    /// 110: the message is empty once signature and trailers are removed.
    EmptyMessage,
    /// 111: the message needs more than eight SMS.
    MessageTooLong,
    /// 114: no valid phone number in the subject.
    NoValidRecipient,
    /// 115: `date=` is malformed, not a real date, or too far ahead.
    InvalidDate,
}

impl StatusCode {
    pub const ALL: [StatusCode; 8] = [
        StatusCode::AuthenticationFailed,
        StatusCode::InsufficientCredits,
        StatusCode::EmptyRequest,
        StatusCode::InvalidRequest,
        StatusCode::EmptyMessage,
        StatusCode::MessageTooLong,
        StatusCode::NoValidRecipient,
        StatusCode::InvalidDate,
    ];

    /// The number the manual gives this status.
    pub fn code(self) -> u16 {
        match self {
            StatusCode::AuthenticationFailed => 102,
            StatusCode::InsufficientCredits => 104,
            StatusCode::EmptyRequest => 105,
            StatusCode::InvalidRequest => 109,
            StatusCode::EmptyMessage => 110,
            StatusCode::MessageTooLong => 111,
            StatusCode::NoValidRecipient => 114,
            StatusCode::InvalidDate => 115,
        }
    }

    pub fn from_code(code: u16) -> Option<StatusCode> {
        StatusCode::ALL.into_iter().find(|status| status.code() == code)
    }

    /// The manual's StatusText, adapted to email. For 104 the amounts are added by
    /// [`Rejection::insufficient_credits`].
    pub fn text(self) -> &'static str {
        match self {
            StatusCode::AuthenticationFailed => {
                "Problème de connexion - Aucun compte ne correspond aux login et apiKey spécifiés"
            }
            StatusCode::InsufficientCredits => "Crédit insuffisant pour traiter cet envoi.",
            StatusCode::EmptyRequest => "Objet de l'email vide",
            StatusCode::InvalidRequest => "Objet de l'email invalide ou incomplet",
            StatusCode::EmptyMessage => "Message non défini (vide) dans le corps de l'email",
            StatusCode::MessageTooLong => "Le message dépasse le nombre de caractères autorisé",
            StatusCode::NoValidRecipient => {
                "Aucun numéro de téléphone valide dans l'objet de l'email. Veuillez-vous référer à la documentation en ligne pour connaître les formats valides."
            }
            StatusCode::InvalidDate => "Objet de l'email invalide ou date mal formatée dans l'option date=",
        }
    }

    /// One English sentence that follows the French text in a reply.
    pub fn english(self) -> &'static str {
        match self {
            StatusCode::AuthenticationFailed => "No account matches the login and API key given in the subject.",
            StatusCode::InsufficientCredits => "Not enough credits to send this message.",
            StatusCode::EmptyRequest => "The email has no subject.",
            StatusCode::InvalidRequest => "The subject is invalid or incomplete.",
            StatusCode::EmptyMessage => "The message (the email's body) is empty.",
            StatusCode::MessageTooLong => "The message is longer than 8 SMS.",
            StatusCode::NoValidRecipient => "The subject holds no valid phone number.",
            StatusCode::InvalidDate => "The date= option is not a valid date (YYYY-MM-DD hh:ii:ss).",
        }
    }
}

impl From<StatusCode> for u16 {
    fn from(status: StatusCode) -> u16 {
        status.code()
    }
}

impl TryFrom<u16> for StatusCode {
    type Error = String;

    fn try_from(code: u16) -> Result<Self, Self::Error> {
        StatusCode::from_code(code).ok_or_else(|| format!("unknown status code {code}"))
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

/// The precision of a 114 whose numbers are all valid but opted out.
pub const ALL_OPTED_OUT: &str = "tous les numéros de l'objet se sont désinscrits (STOP) ou figurent sur une liste \
     d'opposition : aucun SMS envoyé, aucun crédit débité";

/// Its English sentence.
const ALL_OPTED_OUT_ENGLISH: &str =
    "Every number of the subject opted out (STOP) or is on an opt-out list: nothing was sent or debited.";

/// A request the gateway refuses: the status and the StatusText the customer reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub status: StatusCode,
    pub status_text: String,
}

impl Rejection {
    pub fn new(status: StatusCode) -> Rejection {
        Rejection { status, status_text: status.text().to_owned() }
    }

    /// The status with a precision after its text, e.g. which option is unknown.
    pub fn with_detail(status: StatusCode, detail: impl fmt::Display) -> Rejection {
        Rejection { status, status_text: format!("{} : {detail}", status.text()) }
    }

    /// 114 because every number of the subject is on an opt-out list (the account's, or the
    /// gateway's of numbers that answered STOP): the manual's 114 with [`ALL_OPTED_OUT`] as its
    /// precision.
    pub fn all_opted_out() -> Rejection {
        Rejection::with_detail(StatusCode::NoValidRecipient, ALL_OPTED_OUT)
    }

    /// The English sentence that follows the French text in a reply: the status's, or, for a
    /// refusal whose precision has its own, that one.
    pub fn english(&self) -> &'static str {
        if *self == Rejection::all_opted_out() { ALL_OPTED_OUT_ENGLISH } else { self.status.english() }
    }

    /// 104, worded as the manual words it.
    pub fn insufficient_credits(needed: u64, available: u64) -> Rejection {
        Rejection {
            status: StatusCode::InsufficientCredits,
            status_text: format!(
                "{} A utiliser: {needed} Crédits, Disponibles: {available} Crédits. Veuillez re-créditer votre compte.",
                StatusCode::InsufficientCredits.text()
            ),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.code(), self.status_text)
    }
}

impl std::error::Error for Rejection {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_manuals() {
        let codes: Vec<u16> = StatusCode::ALL.iter().map(|s| s.code()).collect();
        assert_eq!(codes, [102, 104, 105, 109, 110, 111, 114, 115]);
        for status in StatusCode::ALL {
            assert_eq!(StatusCode::from_code(status.code()), Some(status));
        }
        assert_eq!(StatusCode::from_code(103), None);
    }

    #[test]
    fn insufficient_credits_reads_like_the_manual() {
        let rejection = Rejection::insufficient_credits(3, 2);
        assert!(rejection.status_text.contains("A utiliser: 3 Crédits, Disponibles: 2 Crédits"));
        assert!(rejection.status_text.starts_with("Crédit insuffisant pour traiter cet envoi."));
    }

    #[test]
    fn a_114_for_opted_out_numbers_says_so_in_both_languages() {
        let rejection = Rejection::all_opted_out();
        assert_eq!(rejection.status.code(), 114);
        assert!(rejection.status_text.starts_with(StatusCode::NoValidRecipient.text()), "{rejection}");
        assert!(rejection.status_text.contains("désinscrits (STOP)") && !rejection.status_text.contains('\n'));
        assert!(rejection.english().contains("opted out"));
        assert_eq!(Rejection::new(StatusCode::NoValidRecipient).english(), StatusCode::NoValidRecipient.english());
    }

    #[test]
    fn texts_speak_of_email_not_xml() {
        for status in StatusCode::ALL {
            assert!(!status.text().contains("XML"), "{status}");
            assert!(!status.text().is_empty() && !status.english().is_empty());
        }
    }

    #[test]
    fn serialises_as_the_number() {
        assert_eq!(serde_json::to_string(&StatusCode::InvalidDate).unwrap(), "115");
        assert_eq!(serde_json::from_str::<StatusCode>("104").unwrap(), StatusCode::InsufficientCredits);
        assert!(serde_json::from_str::<StatusCode>("103").is_err());
    }
}
