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
    // ----- The customer space (issue #12) -----
    /// The Argon2id hash (a PHC string) of the customer space's password; no log in until set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    /// The account this one is a sub-account of (created from the customer space).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The logins of this account's sub-accounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_accounts: Vec<String>,
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
    // ----- authorised senders -----
    #[error(
        "an allowed sender is an address (shop@example.com) or a whole domain (@example.com), not under a \
         public suffix; {} is not one",
        printable(.0)
    )]
    ImpossibleAllowedSender(String),
    #[error("an account allows at most {MAX_ALLOWED_SENDERS} senders (allow a whole @domain); nothing changed")]
    TooManyAllowedSenders,
    #[error("{} is not an allowed sender of the account; nothing changed", printable(.0))]
    NoAllowedSender(String),
    #[error(
        "an account in {} mode needs at least one allowed sender (--allow), or nobody could send; nothing changed",
        .0.as_str()
    )]
    NobodyAllowed(AuthMode),
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
            password_hash: None,
            parent: None,
            sub_accounts: Vec::new(),
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

    /// Whether these credentials open this account: same login, same key, not suspended. The
    /// key's hash is always computed and compared in constant time, whatever else refuses.
    pub fn admits(&self, credentials: &Credentials) -> bool {
        let same_key = constant_time_eq(self.key_sha256.as_bytes(), credentials.api_key.sha256_hex().as_bytes());
        same_key & !self.suspended & (self.login == credentials.login)
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
    Added(Box<Account>),
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

// ----- authorised senders -----

/// The most senders (addresses and domains) an account allows. A company allows its domain
/// rather than each of its people; and every change of the list is one DynamoDB transaction,
/// which holds at most 100 writes (the account, and one index item per sender kept or removed).
pub const MAX_ALLOWED_SENDERS: usize = 40;

/// The longest allowed sender, in bytes: the longest address SMTP carries (RFC 5321's path).
const MAX_ALLOWED_SENDER_BYTES: usize = 254;

impl Account {
    /// Whether the account allows `address` (a From's addr-spec) to send for it: the address
    /// itself is one of its [`allowed_senders`](Account::allowed_senders), or its domain is, as
    /// `@domain` (that domain only, not its subdomains). Compared lowercase. Whether the From is
    /// authenticated is the caller's to know.
    pub fn allows(&self, address: &str) -> bool {
        sender_entries(address).is_some_and(|(address, domain)| {
            self.allowed_senders.iter().any(|allowed| *allowed == address || *allowed == domain)
        })
    }

    /// Whether an email whose subject carries `credentials`, from `sender` (its From, when it is
    /// authenticated; `None` otherwise), comes from this account, by the account's [`AuthMode`]:
    /// `key`, the credentials ([`Account::admits`]); `key+sender` and `sender`, the credentials
    /// and a sender the account [allows](Account::allows). Everything is checked, whatever
    /// refuses first.
    pub fn admits_from(&self, credentials: &Credentials, sender: Option<&str>) -> bool {
        let key = self.admits(credentials);
        let allowed = sender.is_some_and(|sender| self.allows(sender));
        key & (self.auth == AuthMode::Key || allowed)
    }

    /// Whether an email without credentials from `sender` (its authenticated From) comes from
    /// this account: its mode is `sender`, it is not suspended and it allows the sender.
    pub fn admits_sender(&self, sender: &str) -> bool {
        self.auth == AuthMode::Sender && !self.suspended && self.allows(sender)
    }

    /// The account in `auth` mode (its own when `None`), with the senders of `disallow` taken
    /// away, then those of `allow` added (each read by [`allowed_sender`]; one it allows already
    /// is not added twice). Refused when a sender is not one, one to take away is not allowed,
    /// the account would allow more than [`MAX_ALLOWED_SENDERS`], or none while its mode needs
    /// a sender (`key+sender`, `sender`).
    pub fn with_senders(
        self,
        auth: Option<AuthMode>,
        allow: &[String],
        disallow: &[String],
    ) -> Result<Account, AccountError> {
        let mut senders = self.allowed_senders.clone();
        for typed in disallow {
            let sender = allowed_sender(typed)?;
            let before = senders.len();
            senders.retain(|known| *known != sender);
            if senders.len() == before {
                return Err(AccountError::NoAllowedSender(typed.clone()));
            }
        }
        for typed in allow {
            let sender = allowed_sender(typed)?;
            if !senders.contains(&sender) {
                senders.push(sender);
            }
        }
        if senders.len() > MAX_ALLOWED_SENDERS {
            return Err(AccountError::TooManyAllowedSenders);
        }
        let auth = auth.unwrap_or(self.auth);
        if auth != AuthMode::Key && senders.is_empty() {
            return Err(AccountError::NobodyAllowed(auth));
        }
        Ok(Account { auth, allowed_senders: senders, ..self })
    }
}

/// Reads an allowed sender as the operator typed it: an address (`shop@example.com`, angle
/// brackets allowed) or a whole domain (`@example.com`), trimmed and lowercased, the domain
/// without a final dot. Refused: no `@`, an empty or odd local part (spaces, quotes, brackets,
/// `,;:()<>[]\`, control characters), a domain that is not a domain name or is a public suffix
/// (`@com`, `@co.uk`, `@github.io`: strangers register names under them), more than 254 bytes.
pub fn allowed_sender(typed: &str) -> Result<String, AccountError> {
    let impossible = || AccountError::ImpossibleAllowedSender(typed.to_owned());
    let trimmed = typed.trim();
    let bare = trimmed.strip_prefix('<').and_then(|inner| inner.strip_suffix('>')).unwrap_or(trimmed);
    let (local, domain) = bare.rsplit_once('@').ok_or_else(impossible)?;
    let domain = domain.strip_suffix('.').unwrap_or(domain).to_lowercase();
    let odd =
        |character: char| character.is_whitespace() || character.is_control() || "\"(),:;<>[\\]@".contains(character);
    // An empty local part is a whole domain (`@example.com`).
    let local_ok = !local.contains(odd);
    let domain_ok = crate::mail::alignment::organizational_domain(&domain).is_some()
        && !crate::mail::alignment::is_public_suffix(&domain);
    let sender = format!("{}@{domain}", local.to_lowercase());
    if !local_ok || !domain_ok || sender.len() > MAX_ALLOWED_SENDER_BYTES {
        return Err(impossible());
    }
    Ok(sender)
}

/// The two entries of the allow lists that may name `address` (a From's addr-spec), most
/// specific first: the address itself, lowercased, then its domain as `@domain` (without a
/// final dot). `None` when it has no `@` or nothing after it.
pub fn sender_entries(address: &str) -> Option<(String, String)> {
    let (local, domain) = address.trim().rsplit_once('@')?;
    let domain = domain.strip_suffix('.').unwrap_or(domain).to_lowercase();
    if local.is_empty() || domain.is_empty() {
        return None;
    }
    Some((format!("{}@{domain}", local.to_lowercase()), format!("@{domain}")))
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

    // ----- authorised senders -----

    fn allowing(auth: AuthMode, senders: &[&str]) -> Account {
        account("k1").with_senders(Some(auth), &typed(senders), &[]).unwrap()
    }

    #[test]
    fn allowed_senders_are_addresses_or_whole_domains_lowercased() {
        for (typed, read) in [
            ("Shop@Example.COM", "shop@example.com"),
            (" <shop@example.com> ", "shop@example.com"),
            ("@Example.com.", "@example.com"),
            ("@mail.example.co.uk", "@mail.example.co.uk"),
            ("a.b+sms@alice.github.io", "a.b+sms@alice.github.io"),
            ("élodie@exemple.fr", "élodie@exemple.fr"),
        ] {
            assert_eq!(allowed_sender(typed).as_deref(), Ok(read), "{typed}");
        }
        for typed in [
            "",
            "shop",
            "shop@",
            "@",
            "@com",
            "@co.uk",
            "@github.io",
            "shop@com",
            "a b@example.com",
            "\"a\"@example.com",
            "a,b@example.com",
            "shop@[192.0.2.1]",
            "shop@192.0.2.1",
            "shop@exa mple.com",
            "a\n@example.com",
        ] {
            assert!(matches!(allowed_sender(typed), Err(AccountError::ImpossibleAllowedSender(_))), "{typed:?}");
        }
        assert!(allowed_sender(&format!("{}@example.com", "a".repeat(250))).is_err(), "too long");
    }

    #[test]
    fn an_address_is_allowed_by_name_or_by_its_domain_only() {
        let account = allowing(AuthMode::KeyAndSender, &["Claire@Example.com", "@shop.example"]);
        assert!(account.allows("claire@example.com"));
        assert!(account.allows("CLAIRE@EXAMPLE.COM."));
        assert!(account.allows("anyone@shop.example"));
        assert!(!account.allows("marc@example.com"), "the address, not its domain");
        assert!(!account.allows("anyone@mail.shop.example"), "the domain, not its subdomains");
        assert!(!account.allows("claire@example.com.attacker.example"));
        assert!(!account.allows("example.com") && !account.allows("@example.com") && !account.allows(""));
    }

    #[test]
    fn each_mode_asks_for_its_own_proof() {
        let right = credentials("shop@k1|0612345678");
        let wrong = credentials("shop@k2|0612345678");
        let mine = Some("claire@example.com");
        let stranger = Some("x@attacker.example");
        let key = allowing(AuthMode::Key, &["claire@example.com"]);
        assert!(key.admits_from(&right, None) && key.admits_from(&right, stranger));
        assert!(!key.admits_from(&wrong, mine));
        assert!(!key.admits_sender("claire@example.com"), "no subject without the key in key mode");
        let both = allowing(AuthMode::KeyAndSender, &["claire@example.com"]);
        assert!(both.admits_from(&right, mine));
        assert!(!both.admits_from(&right, stranger), "a leaked key alone is worthless");
        assert!(!both.admits_from(&right, None), "an unauthenticated From is no sender");
        assert!(!both.admits_from(&wrong, mine));
        assert!(!both.admits_sender("claire@example.com"));
        let sender = allowing(AuthMode::Sender, &["claire@example.com"]);
        assert!(sender.admits_sender("claire@example.com"));
        assert!(!sender.admits_sender("x@attacker.example"));
        assert!(sender.admits_from(&right, mine), "the manual's subject still works, with the sender");
        assert!(!sender.admits_from(&right, stranger) && !sender.admits_from(&wrong, mine));
        let mut suspended = sender.clone();
        suspended.suspended = true;
        assert!(!suspended.admits_sender("claire@example.com") && !suspended.admits_from(&right, mine));
    }

    #[test]
    fn the_allow_list_changes_as_asked_or_not_at_all() {
        let account = allowing(AuthMode::KeyAndSender, &["a@example.com", "@example.org", "A@example.com"]);
        assert_eq!(account.allowed_senders, ["a@example.com", "@example.org"], "no sender twice");
        let changed =
            account.clone().with_senders(None, &typed(&["b@example.com"]), &typed(&["A@EXAMPLE.COM"])).unwrap();
        assert_eq!(changed.allowed_senders, ["@example.org", "b@example.com"]);
        assert_eq!(changed.auth, AuthMode::KeyAndSender, "the mode is kept when not given");
        assert_eq!(
            account.clone().with_senders(None, &[], &typed(&["c@example.com"])),
            Err(AccountError::NoAllowedSender("c@example.com".into()))
        );
        assert_eq!(
            account.clone().with_senders(None, &[], &typed(&["a@example.com", "@example.org"])),
            Err(AccountError::NobodyAllowed(AuthMode::KeyAndSender))
        );
        let back_to_key =
            account.clone().with_senders(Some(AuthMode::Key), &[], &typed(&["a@example.com", "@example.org"]));
        assert!(back_to_key.is_ok_and(|account| account.allowed_senders.is_empty()));
        assert_eq!(
            self::account("k").with_senders(Some(AuthMode::Sender), &[], &[]),
            Err(AccountError::NobodyAllowed(AuthMode::Sender))
        );
        let many: Vec<String> = (0..=MAX_ALLOWED_SENDERS).map(|i| format!("p{i}@example.com")).collect();
        assert_eq!(account.with_senders(None, &many, &[]), Err(AccountError::TooManyAllowedSenders));
    }

    #[test]
    fn the_mode_and_the_senders_are_stored_only_when_set() {
        let plain = serde_json::to_value(account("k")).unwrap();
        assert!(plain.get("auth").is_none() && plain.get("allowed_senders").is_none(), "{plain}");
        let set = serde_json::to_value(allowing(AuthMode::KeyAndSender, &["a@example.com"])).unwrap();
        assert_eq!(
            (&set["auth"], &set["allowed_senders"]),
            (&serde_json::json!("key+sender"), &serde_json::json!(["a@example.com"]))
        );
        let read: Account = serde_json::from_value(set).unwrap();
        assert_eq!(read.auth, AuthMode::KeyAndSender);
        for mode in [AuthMode::Key, AuthMode::KeyAndSender, AuthMode::Sender] {
            assert_eq!(AuthMode::parse(mode.as_str()), Some(mode));
            assert_eq!(serde_json::to_value(mode).unwrap(), serde_json::json!(mode.as_str()));
        }
    }

    #[test]
    fn a_from_names_two_entries_of_the_allow_lists() {
        assert_eq!(
            sender_entries("Claire@Example.COM."),
            Some(("claire@example.com".to_owned(), "@example.com".to_owned()))
        );
        assert_eq!(sender_entries("nobody"), None);
        assert_eq!(sender_entries("@example.com"), None);
        assert_eq!(sender_entries("a@"), None);
    }
}
