//! A customer account: who may send, with how many credits, under which default sender and
//! time zone. The API key itself is never kept, only its SHA-256.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::date::parse_timezone;
use super::request::{ApiKey, Credentials};
use super::sender::SenderId;
use super::text::CutRules;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub login: String,
    /// Lowercase hex SHA-256 of the API key.
    pub key_sha256: String,
    pub credits: u64,
    /// The sender used when the email names none (and, in France, when the STOP mention is missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<SenderId>,
    /// The IANA time zone `date=` is read in; the gateway's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default)]
    pub suspended: bool,
    pub created_at: DateTime<Utc>,
    /// The account's cut rules, as the operator typed them: its bodies are cut at the first line
    /// that begins with one of them (see [`CutRules`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cut_at: Vec<String>,
    /// The delivery receipts the account gets by email.
    #[serde(default, skip_serializing_if = "Receipts::is_none")]
    pub receipts: Receipts,
    /// What proves an email comes from the account (issue #9): the key (the manual's way), the
    /// key and an authenticated allowed sender, or an authenticated allowed sender alone.
    #[serde(default, skip_serializing_if = "AuthMode::is_key")]
    pub auth: AuthMode,
    /// The senders allowed to send for the account: addresses, or `@domain` for a whole domain,
    /// lowercase.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_senders: Vec<String>,
    /// The customer takes the responsibility for the hours of its commercial messages: they are
    /// never held to the French marketing hours.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_marketing_hours: bool,
    /// Below this balance, the contact address is told (once, until the balance is above it again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_credit: Option<u64>,
    /// Where credit alerts go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// The low-credit alert went out and the balance has not been above the threshold since.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub low_credit_alerted: bool,
    /// The day (YYYY-MM-DD, UTC) the contact was last told of a 104: at most once a day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insufficient_credit_alerted_on: Option<String>,
}

/// What proves that an email comes from its account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// The API key in the subject, as in the manual.
    #[default]
    Key,
    /// The key and an authenticated allowed sender: a leaked key alone is worthless.
    #[serde(rename = "key+sender")]
    KeyAndSender,
    /// An authenticated allowed sender; the subject may omit `login@apiKey`.
    Sender,
}

impl AuthMode {
    pub fn is_key(&self) -> bool {
        *self == AuthMode::Key
    }

    pub fn parse(text: &str) -> Option<AuthMode> {
        match text {
            "key" => Some(AuthMode::Key),
            "key+sender" => Some(AuthMode::KeyAndSender),
            "sender" => Some(AuthMode::Sender),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::Key => "key",
            AuthMode::KeyAndSender => "key+sender",
            AuthMode::Sender => "sender",
        }
    }
}

/// Which delivery receipts an account gets: one email per message once every recipient's fate
/// is known (or 72 hours after sending). None by default, as in the manual.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Receipts {
    #[default]
    None,
    /// Only for messages with a recipient not delivered (failed, expired, unconfirmed, unknown).
    Failures,
    All,
}

impl Receipts {
    pub fn is_none(&self) -> bool {
        *self == Receipts::None
    }

    pub fn parse(text: &str) -> Option<Receipts> {
        match text {
            "none" => Some(Receipts::None),
            "failures" => Some(Receipts::Failures),
            "all" => Some(Receipts::All),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Receipts::None => "none",
            Receipts::Failures => "failures",
            Receipts::All => "all",
        }
    }

    /// Whether a closed message whose recipients' fates are `fates` gets a receipt.
    pub fn wants(self, mut fates: impl Iterator<Item = super::message::Delivery>) -> bool {
        match self {
            Receipts::None => false,
            Receipts::Failures => fates.any(|fate| fate != super::message::Delivery::Delivered),
            Receipts::All => true,
        }
    }
}

/// Why an account cannot be made as asked, in the operator's words.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AccountError {
    #[error(
        "a login is 1 to {MAX_LOGIN_BYTES} ASCII letters, digits, '.', '_', '-', '@' or '+'; {} is not one",
        printable(.0)
    )]
    ImpossibleLogin(String),
    #[error("{0} credits: an account holds at most {MAX_CREDITS}")]
    TooManyCredits(u64),
    #[error(
        "a sender is 3 to 11 unaccented letters, digits or spaces, starting with a letter; {} is not one",
        printable(.0)
    )]
    ImpossibleSender(String),
    #[error("unknown time zone {}", printable(.0))]
    UnknownTimezone(String),
    #[error("a cut rule is 1 to {MAX_CUT_RULE_CHARS} characters on one line; {} is not one", printable(.0))]
    ImpossibleCutRule(String),
    #[error("an account has at most {MAX_CUT_RULES} cut rules; nothing changed")]
    TooManyCutRules,
    #[error("no cut rule {} to remove; nothing changed", printable(.0))]
    NoCutRule(String),
}

/// The most cut rules an account holds, and the longest one, in characters: a few sign-offs
/// ("Cordialement", "Bien à vous", "Best regards"…), never enough to weigh on an account's item.
pub const MAX_CUT_RULES: usize = 20;
pub const MAX_CUT_RULE_CHARS: usize = 100;

impl Account {
    /// A new account, not suspended, created `now`, holding only the hash of `key`: refused
    /// when `login` is not [possible](is_possible_login) or `credits` pass [`MAX_CREDITS`].
    /// It has no default sender and no time zone of its own until given them.
    pub fn new(login: &str, key: &ApiKey, credits: u64, now: DateTime<Utc>) -> Result<Account, AccountError> {
        if !is_possible_login(login) {
            return Err(AccountError::ImpossibleLogin(login.to_owned()));
        }
        if credits > MAX_CREDITS {
            return Err(AccountError::TooManyCredits(credits));
        }
        Ok(Account {
            login: login.to_owned(),
            key_sha256: key.sha256_hex(),
            credits,
            sender: None,
            timezone: None,
            suspended: false,
            created_at: now,
            cut_at: Vec::new(),
            receipts: Receipts::None,
            auth: AuthMode::Key,
            allowed_senders: Vec::new(),
            ignore_marketing_hours: false,
            low_credit: None,
            contact: None,
            low_credit_alerted: false,
            insufficient_credit_alerted_on: None,
        })
    }

    /// The account with `sender` (as typed) as its default sender, or none.
    pub fn with_sender(self, sender: Option<&str>) -> Result<Account, AccountError> {
        let sender =
            sender.map(|typed| SenderId::parse(typed).map_err(|_| AccountError::ImpossibleSender(typed.to_owned())));
        Ok(Account { sender: sender.transpose()?, ..self })
    }

    /// The account with `timezone` (an IANA name) for reading `date=`, or the gateway's default.
    pub fn with_timezone(self, timezone: Option<&str>) -> Result<Account, AccountError> {
        if let Some(zone) = timezone.filter(|zone| parse_timezone(zone).is_none()) {
            return Err(AccountError::UnknownTimezone(zone.to_owned()));
        }
        Ok(Account { timezone: timezone.map(str::to_owned), ..self })
    }

    /// The account with the cut rules of `remove` taken away, then those of `add` added (as
    /// typed, trimmed; one that is the same rule as one it has, case and accents aside, is not
    /// added twice). Refused when a rule to remove is not there, a rule to add is blank, longer
    /// than [`MAX_CUT_RULE_CHARS`] or holds a control character (a line break among them), or
    /// the account would have more than [`MAX_CUT_RULES`].
    pub fn with_cut_rules(self, add: &[String], remove: &[String]) -> Result<Account, AccountError> {
        let mut rules = self.cut_at.clone();
        for typed in remove {
            let before = rules.len();
            rules.retain(|rule| !CutRules::same_rule(rule, typed));
            if rules.len() == before {
                return Err(AccountError::NoCutRule(typed.clone()));
            }
        }
        for typed in add {
            let rule = typed.trim();
            let blank = CutRules::new(&[rule.to_owned()]).is_empty();
            if blank || rule.chars().count() > MAX_CUT_RULE_CHARS || rule.chars().any(char::is_control) {
                return Err(AccountError::ImpossibleCutRule(typed.clone()));
            }
            if !rules.iter().any(|known| CutRules::same_rule(known, rule)) {
                rules.push(rule.to_owned());
            }
        }
        if rules.len() > MAX_CUT_RULES {
            return Err(AccountError::TooManyCutRules);
        }
        Ok(Account { cut_at: rules, ..self })
    }

    /// The account's [`cut_at`](Account::cut_at) rules, ready to cut a body.
    pub fn cut_rules(&self) -> CutRules {
        CutRules::new(&self.cut_at)
    }

    /// Whether these credentials open this account: same login, same key, not suspended.
    pub fn admits(&self, credentials: &Credentials) -> bool {
        !self.suspended
            && self.login == credentials.login
            && constant_time_eq(self.key_sha256.as_bytes(), credentials.api_key.sha256_hex().as_bytes())
    }

    /// The account's time zone, or `default` when it has none or an unknown one.
    pub fn timezone_or(&self, default: Tz) -> Tz {
        self.timezone.as_deref().and_then(parse_timezone).unwrap_or(default)
    }
}

/// The largest balance an account may hold, and so the most credits one operator's command
/// may add or create an account with.
///
/// Every reader takes `credits` as a `u64`, while a DynamoDB number goes far beyond (38
/// digits): an unbounded `ADD` can store a balance that no reader can parse again, and the
/// account is lost to `account show` and to every email of its customer. A billion credits is
/// more than any prepaid account holds (10,000 SMS a day for 270 years), it stays exact in the
/// doubles that JSON tools read numbers into (below 2^53), and it leaves room for what the
/// gateway gives back: refunds return credits that were debited, so a balance can pass this
/// bound only by what is still in flight, never near `u64::MAX`.
pub const MAX_CREDITS: u64 = 1_000_000_000;

/// The longest login, in bytes. A login is a DynamoDB key (at most 2,048 bytes), and a stranger
/// can write anything in a subject: a login longer than any account's is unknown without a look.
pub const MAX_LOGIN_BYTES: usize = 64;

/// Whether `login` could be an account's login: 1 to [`MAX_LOGIN_BYTES`] bytes of what a
/// customer types in a subject's `login@apiKey`: ASCII letters and digits, `.`, `_`, `-`, and
/// `@` and `+` so that a login may be an email address (`shop+sms@example.com`; the subject is
/// split at its last `@`). Accounts are created only with such logins, so an email whose login
/// is not one is answered 102 without reading the accounts table.
pub fn is_possible_login(login: &str) -> bool {
    (1..=MAX_LOGIN_BYTES).contains(&login.len())
        && login.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@' | b'+'))
}

/// A number of credits the operator typed that cannot be added to a balance.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CreditAmountError {
    #[error("{0:?} is not a number of credits: give a whole number from 1 to {MAX_CREDITS}")]
    NotANumber(String),
    #[error("{0} credits: give a whole number from 1 to {MAX_CREDITS}")]
    OutOfRange(String),
}

/// Reads a number of credits to add (or to open an account with): a whole number from 1 to
/// [`MAX_CREDITS`]. Zero is refused too: adding nothing is a mistake, never an intent.
pub fn credit_amount(typed: &str) -> Result<u64, CreditAmountError> {
    let typed = typed.trim();
    if typed.is_empty() || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CreditAmountError::NotANumber(typed.to_owned()));
    }
    match typed.parse::<u64>() {
        Ok(credits @ 1..=MAX_CREDITS) => Ok(credits),
        _ => Err(CreditAmountError::OutOfRange(typed.to_owned())),
    }
}

/// What adding credits to an account did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreditsAdded {
    /// Added: the account as it is now.
    Added(Account),
    /// Nothing added: the balance would have passed [`MAX_CREDITS`].
    OverMaximum { balance: u64 },
    /// Nothing added: there is no such account.
    NoAccount,
}

/// A new API key: 160 random bits, as 40 lowercase hex digits (no `@` nor `|`, so it always
/// fits in a subject).
pub fn new_api_key() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Operator input quoted back on one line: control characters escaped, cut short.
fn printable(input: &str) -> String {
    let quoted = format!("{:?}", input.chars().take(80).collect::<String>());
    if input.chars().count() > 80 { format!("{quoted}… ({} bytes)", input.len()) } else { quoted }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::request::parse_subject;

    fn account(key: &str) -> Account {
        Account::new("shop", &ApiKey::new(key), 10, Utc::now()).unwrap()
    }

    fn credentials(subject: &str) -> Credentials {
        parse_subject(subject).unwrap().credentials
    }

    #[test]
    fn the_right_key_opens_the_account() {
        assert!(account("k1").admits(&credentials("shop@k1|0612345678")));
    }

    #[test]
    fn a_wrong_key_or_login_does_not() {
        assert!(!account("k1").admits(&credentials("shop@k2|0612345678")));
        assert!(!account("k1").admits(&credentials("other@k1|0612345678")));
    }

    #[test]
    fn a_suspended_account_admits_nobody() {
        let mut suspended = account("k1");
        suspended.suspended = true;
        assert!(!suspended.admits(&credentials("shop@k1|0612345678")));
    }

    #[test]
    fn new_keys_are_long_random_and_subject_safe() {
        let (a, b) = (new_api_key(), new_api_key());
        assert_ne!(a, b);
        assert_eq!(a.len(), 40);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn logins_are_what_a_customer_types_and_short() {
        for login in ["shop", "boutique", "nyshop", "Shop_2-b.c", "shop@example.com", "shop+sms@example.com"] {
            assert!(is_possible_login(login), "{login}");
        }
        assert!(is_possible_login(&"a".repeat(MAX_LOGIN_BYTES)));
        for login in ["", "a b", "a|b", "café", "a\0b", "a\nb", "<shop>", "shop;drop", "a/b"] {
            assert!(!is_possible_login(login), "{login:?}");
        }
        assert!(!is_possible_login(&"a".repeat(MAX_LOGIN_BYTES + 1)));
        assert!(!is_possible_login(&"a".repeat(10_000)), "a stranger's 10 KB login");
    }

    #[test]
    fn every_login_parsed_from_a_subject_that_is_possible_reads_back_whole() {
        // The subject is split at the last `@`: a possible login holding `@` is still read whole.
        let login = "shop+sms@example.com";
        assert!(is_possible_login(login));
        assert_eq!(credentials(&format!("{login}@k1|0612345678")).login, login);
    }

    #[test]
    fn credit_amounts_are_whole_numbers_from_one_to_the_maximum() {
        assert_eq!(credit_amount("1"), Ok(1));
        assert_eq!(credit_amount(" 500 "), Ok(500));
        assert_eq!(credit_amount(&MAX_CREDITS.to_string()), Ok(MAX_CREDITS));
        for out_of_range in [
            "0",
            "000",
            "1000000001",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999999999999999999999",
        ] {
            assert!(matches!(credit_amount(out_of_range), Err(CreditAmountError::OutOfRange(_))), "{out_of_range}");
        }
        for not_a_number in ["", "-5", "+5", "1e9", "5.0", "five", "1_000"] {
            assert!(matches!(credit_amount(not_a_number), Err(CreditAmountError::NotANumber(_))), "{not_a_number}");
        }
    }

    #[test]
    fn a_refused_amount_is_explained_in_one_line() {
        let text = credit_amount("18446744073709551615").unwrap_err().to_string();
        assert!(!text.contains('\n') && text.contains(&MAX_CREDITS.to_string()), "{text}");
    }

    #[test]
    fn an_account_is_made_only_with_a_possible_login_and_a_balance_within_the_maximum() {
        let key = ApiKey::new("k1");
        let made = Account::new("shop", &key, MAX_CREDITS, Utc::now()).unwrap();
        assert_eq!((made.credits, made.suspended, made.sender, made.timezone), (MAX_CREDITS, false, None, None));
        assert_eq!(made.key_sha256, key.sha256_hex(), "the key itself is not kept");
        assert_eq!(Account::new("a b", &key, 0, Utc::now()), Err(AccountError::ImpossibleLogin("a b".into())));
        assert_eq!(
            Account::new("shop", &key, MAX_CREDITS + 1, Utc::now()),
            Err(AccountError::TooManyCredits(MAX_CREDITS + 1))
        );
    }

    #[test]
    fn a_sender_or_a_time_zone_is_refused_in_english_in_one_line() {
        let refused = account("k").with_sender(Some("é")).unwrap_err();
        assert_eq!(refused, AccountError::ImpossibleSender("é".into()));
        let text = refused.to_string();
        assert!(
            text.starts_with("a sender is 3 to 11 unaccented letters") && text.ends_with("\"é\" is not one"),
            "{text}"
        );
        let text = account("k").with_timezone(Some("Mars/Olympus")).unwrap_err().to_string();
        assert_eq!(text, "unknown time zone \"Mars/Olympus\"");
        let text = Account::new(&"a\n".repeat(100), &ApiKey::new("k"), 0, Utc::now()).unwrap_err().to_string();
        assert!(!text.contains('\n') && text.contains("(200 bytes)"), "{text}");
    }

    #[test]
    fn a_sender_and_a_time_zone_are_kept_as_given() {
        let made = account("k").with_sender(Some(" BOUTIQUE ")).unwrap().with_timezone(Some("Asia/Tokyo")).unwrap();
        assert_eq!(made.sender.as_ref().map(SenderId::as_str), Some("BOUTIQUE"));
        assert_eq!(made.timezone.as_deref(), Some("Asia/Tokyo"));
        let plain = account("k");
        assert_eq!(plain.clone().with_sender(None).unwrap().with_timezone(None).unwrap(), plain);
    }

    fn typed(rules: &[&str]) -> Vec<String> {
        rules.iter().map(|rule| rule.to_string()).collect()
    }

    #[test]
    fn cut_rules_are_added_trimmed_once_and_removed_whatever_their_case() {
        let made =
            account("k").with_cut_rules(&typed(&[" Cordialement ", "Bien à vous", "CORDIALEMENT"]), &[]).unwrap();
        assert_eq!(made.cut_at, ["Cordialement", "Bien à vous"]);
        assert_eq!(made.cut_rules().cut("Merci\ncordialement,\nJean"), "Merci\n");
        let made = made.with_cut_rules(&typed(&["Best regards"]), &typed(&["bien a vous"])).unwrap();
        assert_eq!(made.cut_at, ["Cordialement", "Best regards"]);
        let made = made.with_cut_rules(&[], &typed(&["cordialement", "BEST REGARDS"])).unwrap();
        assert!(made.cut_at.is_empty());
        assert_eq!(made.cut_rules().cut("Merci\nCordialement"), "Merci\nCordialement");
    }

    #[test]
    fn impossible_cut_rules_are_refused_and_nothing_changes() {
        let with_one = account("k").with_cut_rules(&typed(&["Cordialement"]), &[]).unwrap();
        for rule in ["", "   ", "\u{200b}", "a\nb", "a\rb", "tab\there", &"x".repeat(MAX_CUT_RULE_CHARS + 1)] {
            let refused = with_one.clone().with_cut_rules(&typed(&[rule]), &[]).unwrap_err();
            assert_eq!(refused, AccountError::ImpossibleCutRule(rule.into()), "{rule:?}");
            assert!(!refused.to_string().contains('\n'), "{refused}");
        }
        assert!(with_one.clone().with_cut_rules(&typed(&[&"é".repeat(MAX_CUT_RULE_CHARS)]), &[]).is_ok());
        let refused = with_one.clone().with_cut_rules(&[], &typed(&["Bien à vous"])).unwrap_err();
        assert_eq!(refused.to_string(), "no cut rule \"Bien à vous\" to remove; nothing changed");
        let many: Vec<String> = (0..MAX_CUT_RULES).map(|i| format!("Règle {i}")).collect();
        assert_eq!(with_one.clone().with_cut_rules(&many, &[]), Err(AccountError::TooManyCutRules));
        assert_eq!(
            with_one.clone().with_cut_rules(&many, &typed(&["cordialement"])).unwrap().cut_at.len(),
            MAX_CUT_RULES
        );
    }

    #[test]
    fn an_account_without_cut_rules_is_stored_without_them() {
        let plain = serde_json::to_value(account("k")).unwrap();
        assert!(plain.get("cut_at").is_none(), "{plain}");
        let read: Account = serde_json::from_value(plain).unwrap();
        assert!(read.cut_at.is_empty(), "accounts made before cut rules read without them");
        let ruled = account("k").with_cut_rules(&typed(&["Cordialement"]), &[]).unwrap();
        assert_eq!(serde_json::to_value(&ruled).unwrap()["cut_at"], serde_json::json!(["Cordialement"]));
    }

    #[test]
    fn unknown_time_zone_falls_back_to_the_default() {
        let mut a = account("k");
        a.timezone = Some("Mars/Olympus".into());
        assert_eq!(a.timezone_or(chrono_tz::Europe::Paris), chrono_tz::Europe::Paris);
        a.timezone = Some("Asia/Tokyo".into());
        assert_eq!(a.timezone_or(chrono_tz::Europe::Paris), chrono_tz::Asia::Tokyo);
    }
}
