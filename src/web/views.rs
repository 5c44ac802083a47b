//! The pages as askama templates (`templates/`): each struct is what one page shows, already
//! turned into text. Askama escapes every `{{ }}` for HTML; nothing here is marked safe.

use askama::Template;

use super::chart::{Chart, Row};

/// The frame of a signed-in page: who, the session's CSRF token (for the log-out forms), the
/// balance, and which page is current.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub login: String,
    pub csrf: String,
    pub credits: u64,
    pub parent: Option<String>,
    pub has_subs: bool,
    pub current: &'static str,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub chrome: Option<Chrome>,
    pub csrf: String,
    pub login: String,
    pub error: Option<String>,
    pub notice: Option<String>,
}

#[derive(Template)]
#[template(path = "invitation.html")]
pub struct InvitationPage {
    pub chrome: Option<Chrome>,
    pub csrf: String,
    pub login: String,
    pub token: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub chrome: Option<Chrome>,
    pub title: String,
    pub message: String,
}

/// Which account's data a page shows: the customer's own, or one of its sub-accounts'.
#[derive(Debug, Clone)]
pub struct Scope {
    pub login: String,
    /// Every account the customer may look at (itself first), for the selector.
    pub choices: Vec<String>,
}

pub struct SendRow {
    pub id: String,
    pub received: String,
    pub state: String,
    pub status: Option<String>,
    pub recipients: usize,
    pub delivered: usize,
    pub failed: usize,
    pub open: usize,
    pub parts: u32,
    pub cost: u64,
    pub refunded: u64,
    pub due: Option<String>,
}

#[derive(Template)]
#[template(path = "sends.html")]
pub struct SendsPage {
    pub chrome: Option<Chrome>,
    pub scope: Scope,
    pub since: String,
    pub until: String,
    pub status: String,
    pub statuses: Vec<&'static str>,
    pub rows: Vec<SendRow>,
    pub truncated: bool,
    pub error: Option<String>,
}

pub struct RecipientView {
    pub number: String,
    pub sender: String,
    pub fate: String,
    pub reason: Option<String>,
    pub refunded: bool,
    pub at: Option<String>,
    pub price: Option<String>,
    pub resent: bool,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub chrome: Option<Chrome>,
    pub refresh: bool,
    pub id: String,
    pub login: String,
    pub received: String,
    pub state: String,
    pub status: Option<String>,
    pub status_text: Option<String>,
    pub discard: Option<String>,
    pub text: Option<String>,
    pub encoding: Option<String>,
    pub parts: u32,
    pub cost: u64,
    pub refunded: u64,
    pub due: Option<String>,
    /// When it was cancelled before its time (its cost refunded).
    pub cancelled: Option<String>,
    pub recipients: Vec<RecipientView>,
    pub dropped: Vec<(String, String)>,
    pub dropped_count: usize,
    /// Whether the page offers "Cancel this send": a scheduled send of the customer's own.
    pub cancellable: bool,
    /// What cancelling did, or why it did nothing.
    pub notice: Option<String>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "stats.html")]
pub struct StatsPage {
    pub chrome: Option<Chrome>,
    pub scope: Scope,
    pub since: String,
    pub until: String,
    pub monthly: bool,
    pub rows: Vec<Row>,
    pub totals: Row,
    pub chart: Chart,
    pub error: Option<String>,
}

pub struct LineView {
    pub at: String,
    pub label: String,
    pub message_id: Option<String>,
    pub credits: String,
    pub balance: i64,
}

#[derive(Template)]
#[template(path = "credits.html")]
pub struct CreditsPage {
    pub chrome: Option<Chrome>,
    pub scope: Scope,
    pub balance: u64,
    pub payment_link: Option<String>,
    pub operator_contact: Option<String>,
    pub lines: Vec<LineView>,
    pub months: Vec<String>,
}

#[derive(Template)]
#[template(path = "statement.html")]
pub struct StatementPage {
    pub chrome: Option<Chrome>,
    pub login: String,
    pub month: String,
    pub opening: i64,
    pub closing: i64,
    pub debited: i64,
    pub credited: i64,
    pub lines: Vec<LineView>,
}

#[derive(Template)]
#[template(path = "key.html")]
pub struct KeyPage {
    pub chrome: Option<Chrome>,
    pub login: String,
    pub new_key: Option<String>,
}

#[derive(Template)]
#[template(path = "settings.html")]
pub struct SettingsPage {
    pub chrome: Option<Chrome>,
    /// Whose settings: the customer's own, or one of its sub-accounts'.
    pub scope: Scope,
    pub own: bool,
    pub sender: String,
    pub timezone: String,
    pub default_timezone: String,
    pub receipts: String,
    pub auth: String,
    pub allowed_senders: Vec<String>,
    /// What the customer typed to allow, shown again when it was refused.
    pub allow: String,
    pub ignore_marketing_hours: bool,
    pub low_credit: String,
    pub contact: String,
    pub cut_at: Vec<String>,
    pub notice: Option<String>,
    pub error: Option<String>,
}

pub struct OptOutView {
    pub number: String,
    pub source: &'static str,
    pub added: String,
}

#[derive(Template)]
#[template(path = "optouts.html")]
pub struct OptOutsPage {
    pub chrome: Option<Chrome>,
    pub scope: Scope,
    /// How many numbers the list holds.
    pub total: usize,
    pub entries: Vec<OptOutView>,
    /// The link to the page before (`?before=`) or after (`?after=`) this one, when there is one.
    pub earlier: Option<String>,
    pub later: Option<String>,
    pub find: String,
    /// What the customer typed, shown again when it was refused.
    pub numbers: String,
    pub csv: String,
    pub max_import: usize,
    pub notice: Option<String>,
    pub error: Option<String>,
    /// The lines of an import that were refused, and why.
    pub report: Vec<String>,
}

pub struct SentView {
    pub id: String,
    pub summary: String,
    pub ok: bool,
}

#[derive(Template)]
#[template(path = "send.html")]
pub struct SendPage {
    pub chrome: Option<Chrome>,
    pub available: bool,
    pub numbers: String,
    pub text: String,
    pub from: String,
    pub date: String,
    pub timezone: String,
    pub count: String,
    pub outcome: Option<SentView>,
    pub error: Option<String>,
    /// The "Preview" button's answer: the dry run's preview, as an email's would read.
    pub preview: Option<String>,
}

pub struct SubView {
    pub login: String,
    pub credits: u64,
}

#[derive(Template)]
#[template(path = "subaccounts.html")]
pub struct SubAccountsPage {
    pub chrome: Option<Chrome>,
    pub parent: Option<String>,
    pub subs: Vec<SubView>,
    pub created: Option<(String, String)>,
    pub notice: Option<String>,
    pub error: Option<String>,
}
