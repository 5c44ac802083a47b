//! The operator's use cases, as `mail2sms-admin` offers them: make the tables, open and run
//! accounts, read messages and an account's statistics, cancel a scheduled one, settle
//! recipients in doubt, finish a stuck message. Each takes what the operator typed and returns
//! what it did, or an [`OperatorError`] that says in one English line what is wrong and what
//! changed (nothing, unless it says otherwise). The command line only prints them.

use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use thiserror::Error;

use crate::aws::bootstrap;
use crate::aws::dynamodb::DynamoLedger;
use crate::aws::scheduler::EventBridgeScheduler;
use crate::config::{AdminSettings, ConfigError, DEFAULT_TIMEZONE};
use crate::domain::account::{
    Account, AccountError, AuthMode, CreditAmountError, CreditsAdded, MAX_CREDITS, Receipts, credit_amount, new_api_key,
};
use crate::domain::alerts::parse_contact;
use crate::domain::date::parse_timezone;
use crate::domain::message::{Delivery, MessageRecord, MessageState};
use crate::domain::optout::{ImportedFile, NotANumber, OptOut, OptOutList, OptOutSource, read_csv, read_numbers};
use crate::domain::recipient::{Recipient, parse_recipients};
use crate::domain::request::ApiKey;
use crate::domain::stats::{DayStats, Period, PeriodError, daily};
use crate::event::ScheduledSendEvent;
use crate::pipeline::Invocation;
use crate::plural::{count, english};
use crate::ports::{Ledger, PortError};
use crate::tables;

mod lists;
pub use lists::{ListError, ListImported};

/// What a settled recipient's `error` says the operator did.
pub const REFUNDED_NOTE: &str = "refunded by the operator";
pub const RESENT_NOTE: &str = "resent by the operator";

/// How long the operator's own delivery may hold a message (as a Lambda invocation would).
const DELIVERY_DEADLINE_SECONDS: i64 = 60;

/// How many messages `messages` lists when not told.
pub const DEFAULT_LISTING: i32 = 20;

/// Why a use case did nothing (or, where it says so, stopped half-way).
#[derive(Debug, Error)]
pub enum OperatorError {
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    CreditAmount(#[from] CreditAmountError),
    #[error(transparent)]
    Period(#[from] PeriodError),
    #[error("an account {0} already exists")]
    AccountExists(String),
    #[error("no account {0}")]
    NoAccount(String),
    #[error(
        "{credits} credits not added to {login}: its balance, {balance}, may not pass {MAX_CREDITS} \
         (at most {} more); nothing changed",
        MAX_CREDITS.saturating_sub(*.balance)
    )]
    OverMaximum { login: String, credits: u64, balance: u64 },
    #[error("no message {0}")]
    NoMessage(String),
    #[error("message {message_id} is {state:?}, not scheduled: nothing to cancel")]
    NotScheduled { message_id: String, state: MessageState },
    #[error("message {message_id} is {}, not accepted: nothing to resume", spelled(.state))]
    NotAccepted { message_id: String, state: MessageState },
    #[error(
        "message {message_id} no longer has its text (it is {}): it cannot be sent again, only refunded (--refund)",
        spelled(.state)
    )]
    TextGone { message_id: String, state: MessageState },
    #[error(
        "message {message_id} is held by a live invocation until {} ({} s from now): nothing done; try again after",
        .until.to_rfc3339(),
        .seconds_left
    )]
    LiveLease { message_id: String, until: DateTime<Utc>, seconds_left: i64 },
    #[error("message {0} changed while this ran (another command or invocation): nothing done; run it again")]
    ChangedMeanwhile(String),
    #[error("{0:?} is not a phone number a subject accepts")]
    NotANumber(String),
    #[error("{0:?} holds no phone number")]
    NoNumber(String),
    #[error("{number} is not a recipient of message {message_id}")]
    NotARecipient { number: Recipient, message_id: String },
    #[error("{0}: sending needs the function's configuration")]
    CannotSend(ConfigError),
    #[error(
        "message {message_id} not finished ({}): {error}; see `messages --stuck`, and `resume` it later",
        spelled(.state)
    )]
    NotFinished { message_id: String, state: MessageState, error: String },
    #[error(transparent)]
    Port(#[from] PortError),
    // ----- opt-outs -----
    #[error("{0}; nothing changed")]
    OptOutNumber(NotANumber),
    #[error("cannot read {path}: {error}; nothing changed")]
    Unreadable { path: String, error: String },
    #[error("the opt-out lists' table is not named: set OPT_OUTS_TABLE (or --opt-outs-table)")]
    NoOptOutsTable,
    // ----- contact lists -----
    #[error(transparent)]
    List(#[from] ListError),
    // ----- credit alerts -----
    #[error("a contact is one plain email address, local@domain; {0:?} is not one")]
    ImpossibleContact(String),
    // ----- authorised senders -----
    #[error(
        "{sender} is already allowed by account {owner}: an address or a domain belongs to one account; nothing changed"
    )]
    SenderTaken { sender: String, owner: String },
    #[error("account {0}'s allowed senders changed while this ran (another command): nothing done; run it again")]
    SendersChangedMeanwhile(String),
}

/// Something `bootstrap` made, or found already made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    Table(String),
    Bucket(String),
    ReplyIdentity(String),
    ScheduleGroup(String),
}

/// How far `bootstrap` went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bootstrapped {
    /// On AWS: the tables; the SAM template makes the rest.
    Tables,
    /// Against a local emulator: the tables, and the bucket, reply identity and schedule group
    /// the settings name.
    Everything,
}

/// Credits added to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credited {
    pub added: u64,
    pub balance: u64,
}

/// What `cancel` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancelled {
    /// Cancelled by this call, its cost refunded.
    Now { refunded: u64 },
    /// Cancelled before: nothing more done.
    Already,
}

/// What `settle` does with the recipients in doubt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send them again (only while the message still has its text).
    Resend,
    /// Mark them failed and give their credits back to the account.
    Refund,
}

/// What `settle` did.
#[derive(Debug)]
pub struct Settlement {
    /// Numbers the operator named that are not in doubt, left as they are.
    pub left_alone: Vec<(Recipient, Delivery)>,
    pub outcome: Settled,
}

#[derive(Debug)]
pub enum Settled {
    /// No recipient in doubt (among those named, when `named`): nothing changed.
    NothingInDoubt { named: bool, record: MessageRecord },
    /// Refunded: `recipients` × the message's parts = `credits` back to `login`.
    Refunded { recipients: usize, credits: u64, login: String, record: MessageRecord },
    /// Put back to `pending`, then delivered: the delivery's outcome (the recipients are
    /// pending again even when it failed, for `resume`).
    Resent { recipients: usize, delivery: Result<MessageRecord, OperatorError> },
}

/// The operator's use cases over the gateway's tables and schedules.
pub struct Operator {
    sdk: aws_config::SdkConfig,
    settings: AdminSettings,
    ledger: DynamoLedger,
    scheduler: EventBridgeScheduler,
}

impl Operator {
    pub fn new(sdk: &aws_config::SdkConfig, settings: AdminSettings) -> Operator {
        Operator {
            ledger: DynamoLedger::new(
                sdk,
                &settings.accounts_table,
                &settings.messages_table,
                settings.opt_outs_table.as_deref().unwrap_or_default(),
            )
            .with_contact_lists(settings.contact_lists_table.as_deref().unwrap_or_default()),
            scheduler: EventBridgeScheduler::new(sdk, &settings.schedule_group, None, None),
            sdk: sdk.clone(),
            settings,
        }
    }

    /// Creates the tables if missing; against a local emulator (`AWS_ENDPOINT_URL`), also the
    /// inbound bucket and the reply identity when named, and the schedule group. `made` hears
    /// of each as it is done (`true`: created, `false`: already there).
    pub async fn bootstrap(&self, mut made: impl FnMut(Resource, bool)) -> Result<Bootstrapped, OperatorError> {
        let settings = &self.settings;
        for (spec, name) in [
            (tables::ACCOUNTS, &settings.accounts_table),
            (tables::MESSAGES, &settings.messages_table),
            (tables::OPT_OUTS, self.opt_outs_table()?),
            (tables::CONTACT_LISTS, self.contact_lists_table()?),
        ] {
            made(Resource::Table(name.clone()), bootstrap::create_table(self.ledger.client(), &spec, name).await?);
        }
        if self.sdk.endpoint_url().is_none() {
            return Ok(Bootstrapped::Tables);
        }
        if let Some(bucket) = &settings.inbound_bucket {
            made(Resource::Bucket(bucket.clone()), bootstrap::create_bucket(&self.sdk, bucket).await?);
        }
        if let Some(reply_from) = &settings.reply_from {
            let created = bootstrap::create_reply_identity(&self.sdk, reply_from).await?;
            made(Resource::ReplyIdentity(reply_from.clone()), created);
        }
        let group = &settings.schedule_group;
        made(Resource::ScheduleGroup(group.clone()), bootstrap::create_schedule_group(&self.sdk, group).await?);
        Ok(Bootstrapped::Everything)
    }

    /// Creates an account with the credits (typed: 1 to [`MAX_CREDITS`]; none by default),
    /// default sender and time zone given, and returns its new API key: the only time it is
    /// seen, as only its hash is kept.
    pub async fn create_account(
        &self,
        login: &str,
        credits: Option<&str>,
        sender: Option<&str>,
        timezone: Option<&str>,
    ) -> Result<ApiKey, OperatorError> {
        let credits = credits.map(credit_amount).transpose()?.unwrap_or(0);
        let key = ApiKey::new(new_api_key());
        let account = Account::new(login, &key, credits, Utc::now())?.with_sender(sender)?.with_timezone(timezone)?;
        if !self.ledger.create_account(&account).await? {
            return Err(OperatorError::AccountExists(login.to_owned()));
        }
        Ok(key)
    }

    pub async fn account(&self, login: &str) -> Result<Account, OperatorError> {
        self.ledger.account(login).await?.ok_or_else(|| OperatorError::NoAccount(login.to_owned()))
    }

    /// Gives the account a new API key and returns it; the old one stops working at once.
    pub async fn rotate_key(&self, login: &str) -> Result<ApiKey, OperatorError> {
        let key = ApiKey::new(new_api_key());
        self.ledger.rotate_key(login, &key).await?.ok_or_else(|| OperatorError::NoAccount(login.to_owned()))?;
        Ok(key)
    }

    /// Changes the account's cut rules: those of `remove` taken away (case and accents aside),
    /// then those of `add` added (see [`Account::with_cut_rules`]). Returns the account as it
    /// is after.
    pub async fn update_cut_rules(
        &self,
        login: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<Account, OperatorError> {
        let updated = self.account(login).await?.with_cut_rules(add, remove)?;
        self.ledger
            .set_cut_rules(login, &updated.cut_at)
            .await?
            .ok_or_else(|| OperatorError::NoAccount(login.to_owned()))
    }

    /// Sets which delivery receipts the account gets. Returns the account as it is after.
    pub async fn set_receipts(&self, login: &str, receipts: Receipts) -> Result<Account, OperatorError> {
        self.settings().set_receipts(login, receipts).await
    }

    /// The settings the account's customer changes too, in the customer space.
    pub fn settings(&self) -> AccountSettings<'_> {
        AccountSettings::new(&self.ledger)
    }

    /// Suspends the account (its emails are answered 102) or resumes it.
    pub async fn set_suspended(&self, login: &str, suspended: bool) -> Result<(), OperatorError> {
        self.ledger.set_suspended(login, suspended).await?.ok_or_else(|| OperatorError::NoAccount(login.to_owned()))?;
        Ok(())
    }

    /// Adds the credits typed (1 to [`MAX_CREDITS`]), never past a balance of [`MAX_CREDITS`].
    pub async fn add_credits(&self, login: &str, typed: &str) -> Result<Credited, OperatorError> {
        let credits = credit_amount(typed)?;
        match self.ledger.add_credits(login, credits).await? {
            CreditsAdded::Added(account) => {
                // Back at the threshold or above: the next debit below it tells the contact again.
                if account.low_credit_alerted
                    && account.low_credit.is_some_and(|threshold| account.credits >= threshold)
                {
                    self.ledger.rearm_low_credit_alert(login).await?;
                }
                Ok(Credited { added: credits, balance: account.credits })
            }
            CreditsAdded::OverMaximum { balance } => {
                Err(OperatorError::OverMaximum { login: login.to_owned(), credits, balance })
            }
            CreditsAdded::NoAccount => Err(OperatorError::NoAccount(login.to_owned())),
        }
    }

    /// The account's latest messages, newest first: `limit` of them ([`DEFAULT_LISTING`] when
    /// not told, at least one).
    pub async fn messages(&self, login: &str, limit: Option<i32>) -> Result<Vec<MessageRecord>, OperatorError> {
        Ok(self.ledger.messages_of(login, limit.unwrap_or(DEFAULT_LISTING).max(1)).await?)
    }

    /// The account's activity per day, in its time zone (else the deployment's default), from
    /// `since` to `until` (see [`Period::new`] for the defaults and the limits): the days that
    /// have records, oldest first, recipients counted under their fates as of now.
    pub async fn stats(
        &self,
        login: &str,
        since: Option<NaiveDate>,
        until: Option<NaiveDate>,
    ) -> Result<Vec<DayStats>, OperatorError> {
        let zone = self.account(login).await?.timezone_or(self.default_timezone());
        let now = Utc::now();
        let period = Period::new(since, until, now.with_timezone(&zone).date_naive())?;
        let (from, to) = period.bounds(zone);
        let records = self.ledger.messages_between(login, from, to).await?;
        Ok(daily(&records, period, zone, now))
    }

    /// The time zone of accounts without one: the function's, or [`DEFAULT_TIMEZONE`] when the
    /// function's configuration cannot be read here.
    fn default_timezone(&self) -> Tz {
        match &self.settings.function {
            Ok(config) => config.default_timezone,
            Err(_) => parse_timezone(DEFAULT_TIMEZONE).unwrap_or(Tz::UTC),
        }
    }

    /// Messages stuck in `accepted` past their lease (or with none), newest first: the
    /// account's, or every account's (a Scan of the whole table); all of them, or `limit`.
    pub async fn stuck_messages(
        &self,
        login: Option<&str>,
        limit: Option<i32>,
    ) -> Result<Vec<MessageRecord>, OperatorError> {
        let mut stuck = self.ledger.stuck_messages(login, Utc::now()).await?;
        stuck.truncate(limit.map_or(usize::MAX, |limit| usize::try_from(limit.max(1)).unwrap_or(1)));
        Ok(stuck)
    }

    /// Cancels a scheduled message: its schedule deleted, its cost refunded, once however
    /// often it is asked.
    pub async fn cancel(&self, message_id: &str) -> Result<Cancelled, OperatorError> {
        let (record, cancelled_now) = self
            .ledger
            .cancel(message_id, Utc::now())
            .await?
            .ok_or_else(|| OperatorError::NoMessage(message_id.to_owned()))?;
        if let Some(name) = &record.schedule_name {
            self.scheduler.delete(name).await?;
        }
        match (cancelled_now, record.state) {
            (true, _) => Ok(Cancelled::Now { refunded: record.refunded }),
            (false, MessageState::Cancelled) => Ok(Cancelled::Already),
            (false, state) => Err(OperatorError::NotScheduled { message_id: message_id.to_owned(), state }),
        }
    }

    /// Settles the message's recipients in doubt (those of `numbers`, typed as in a subject, or
    /// all; see [`MessageRecord::in_doubt`]: one a provider reported is not in doubt): refunds
    /// them, or puts them back to `pending` and delivers the message as the function would, in
    /// the in-doubt follow-up's own write ([`Ledger::resolve_doubt`]). Refuses a message a live
    /// invocation holds. Run again, it finds nothing in doubt and changes nothing.
    pub async fn settle(
        &self,
        message_id: &str,
        decision: Decision,
        numbers: &[String],
    ) -> Result<Settlement, OperatorError> {
        let record = self.load(message_id).await?;
        let Chosen { in_doubt, left_alone } = in_doubt(&record, numbers)?;
        let outcome = if in_doubt.is_empty() {
            Settled::NothingInDoubt { named: !numbers.is_empty(), record }
        } else {
            match decision {
                Decision::Refund => self.refund(record, &in_doubt).await?,
                Decision::Resend => self.resend(record, &in_doubt).await?,
            }
        };
        Ok(Settlement { left_alone, outcome })
    }

    async fn refund(&self, record: MessageRecord, chosen: &[usize]) -> Result<Settled, OperatorError> {
        let now = Utc::now();
        refuse_live_lease(&record, now)?;
        if !self.ledger.resolve_doubt(&record, chosen, &[], REFUNDED_NOTE, now).await? {
            return Err(OperatorError::ChangedMeanwhile(record.message_id));
        }
        Ok(Settled::Refunded {
            recipients: chosen.len(),
            credits: u64::from(record.parts) * chosen.len() as u64,
            login: record.login.unwrap_or_default(),
            record: self.load(&record.message_id).await?,
        })
    }

    async fn resend(&self, record: MessageRecord, chosen: &[usize]) -> Result<Settled, OperatorError> {
        if record.text.is_none() {
            return Err(OperatorError::TextGone { message_id: record.message_id, state: record.state });
        }
        let now = Utc::now();
        refuse_live_lease(&record, now)?;
        if !self.ledger.resolve_doubt(&record, &[], chosen, RESENT_NOTE, now).await? {
            return Err(OperatorError::ChangedMeanwhile(record.message_id));
        }
        Ok(Settled::Resent { recipients: chosen.len(), delivery: self.deliver(&record.message_id).await })
    }

    /// Finishes a message stuck in `accepted` whose lease has lapsed, as a redrive of its event
    /// would: its pending recipients are sent, those in doubt left for `settle`. Returns the
    /// record as it ends.
    pub async fn resume(&self, message_id: &str) -> Result<MessageRecord, OperatorError> {
        let record = self.load(message_id).await?;
        if record.state != MessageState::Accepted {
            return Err(OperatorError::NotAccepted { message_id: message_id.to_owned(), state: record.state });
        }
        refuse_live_lease(&record, Utc::now())?;
        self.deliver(message_id).await
    }

    /// Delivers what is pending of the message exactly as the function does when its
    /// `scheduled_send` event comes: the function's gateway, built from the same
    /// configuration, under a lease of its own.
    async fn deliver(&self, message_id: &str) -> Result<MessageRecord, OperatorError> {
        let config = self.settings.function.clone().map_err(OperatorError::CannotSend)?;
        let gateway = crate::aws::gateway(&config, &self.sdk);
        let invocation = Invocation {
            request_id: format!("mail2sms-admin-{}", new_api_key()),
            deadline: Utc::now() + Duration::seconds(DELIVERY_DEADLINE_SECONDS),
            function_arn: "mail2sms-admin".to_owned(),
        };
        let event = serde_json::to_value(ScheduledSendEvent::for_message(message_id))
            .expect("a struct of one string serialises");
        let delivered = gateway.handle(event, &invocation).await;
        let record = self.load(message_id).await?;
        match delivered {
            Ok(_) => Ok(record),
            Err(error) => Err(OperatorError::NotFinished {
                message_id: message_id.to_owned(),
                state: record.state,
                error: error.to_string(),
            }),
        }
    }

    async fn load(&self, message_id: &str) -> Result<MessageRecord, OperatorError> {
        self.ledger.load(message_id).await?.ok_or_else(|| OperatorError::NoMessage(message_id.to_owned()))
    }
}

// ----- marketing hours and credit alerts -----
impl Operator {
    /// Holds the account's commercial messages to French numbers to the French marketing hours
    /// (`true`, the default), or lets them go at any hour (`false`: the customer takes the
    /// responsibility). Returns the account as it is after.
    pub async fn set_marketing_hours(&self, login: &str, hold: bool) -> Result<Account, OperatorError> {
        self.settings().set_marketing_hours(login, hold).await
    }

    /// Sets the low-credit threshold (typed: 1 to [`MAX_CREDITS`]), or removes it (`None`), and
    /// re-arms the alert. Returns the account as it is after.
    pub async fn set_low_credit(&self, login: &str, typed: Option<&str>) -> Result<Account, OperatorError> {
        self.settings().set_low_credit(login, typed).await
    }

    /// Sets the address credit alerts go to (one plain address, see [`parse_contact`]), or
    /// removes it (`None`: no alert at all). Returns the account as it is after.
    pub async fn set_contact(&self, login: &str, typed: Option<&str>) -> Result<Account, OperatorError> {
        self.settings().set_contact(login, typed).await
    }
}

// ----- opt-outs -----

/// What `optout add` or `optout remove` did to a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptOutsChanged {
    pub list: OptOutList,
    /// The numbers added (or removed).
    pub changed: Vec<Recipient>,
    /// The numbers that were already on the list (or were not on it): left as they were.
    pub unchanged: Vec<Recipient>,
}

/// What `optout import` did: the file as read (its numbers, its lines refused and why) and
/// how many of its numbers were added; the others were on the list already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptOutsImported {
    pub list: OptOutList,
    pub file: ImportedFile,
    pub added: usize,
}

impl OptOutsChanged {
    /// The sum, as `optout add` and `remove` and the customer space say it:
    /// `boutique's opt-out list: 2 numbers added, 1 already on it`.
    pub fn summary(&self, done: &str, left: &str) -> String {
        let changed = english(count(self.changed.len()), ("number", "numbers"));
        format!("{}: {changed} {done}, {} {left}", self.list, self.unchanged.len())
    }
}

impl OptOutsImported {
    /// Each line refused and why, as `optout import` and the customer space list them:
    /// `line 5: "abc": not written as a phone number`.
    pub fn rejected_lines(&self) -> Vec<String> {
        self.file
            .rejected
            .iter()
            .map(|line| format!("line {}: {:?}: {}", line.line, line.input, line.rejection))
            .collect()
    }

    /// The sum: `boutique's opt-out list: 120 numbers added, 3 already on it; 2 lines rejected`.
    pub fn summary(&self) -> String {
        format!(
            "{}: {} added, {} already on it; {} rejected{}",
            self.list,
            english(count(self.added), ("number", "numbers")),
            self.file.numbers.len() - self.added,
            english(count(self.file.rejected.len()), ("line", "lines")),
            if self.file.header { " (first line read as a header)" } else { "" }
        )
    }
}

impl Operator {
    /// The name of the opt-out lists' table, which `bootstrap` and the `optout` commands need.
    fn opt_outs_table(&self) -> Result<&String, OperatorError> {
        self.settings.opt_outs_table.as_ref().ok_or(OperatorError::NoOptOutsTable)
    }

    /// The list an `optout` command works on: `login`'s (the account must exist), or the
    /// gateway's when `login` is `None`.
    pub async fn opt_out_list(&self, login: Option<&str>) -> Result<OptOutList, OperatorError> {
        self.opt_outs_table()?;
        match login {
            Some(login) => Ok(OptOutList::Account(self.account(login).await?.login)),
            None => Ok(OptOutList::Gateway),
        }
    }

    /// Puts the numbers typed (any form a subject accepts) on `list`; those already there stay
    /// as they were. A typed item that is not a number to text refuses them all.
    pub async fn add_opt_outs(&self, list: &OptOutList, typed: &[String]) -> Result<OptOutsChanged, OperatorError> {
        self.settings().add_opt_outs(list, typed, OptOutSource::Operator).await
    }

    /// Takes the numbers typed off `list`.
    pub async fn remove_opt_outs(&self, list: &OptOutList, typed: &[String]) -> Result<OptOutsChanged, OperatorError> {
        self.settings().remove_opt_outs(list, typed).await
    }

    /// Every number on `list`, by number.
    pub async fn opt_outs(&self, list: &OptOutList) -> Result<Vec<OptOut>, OperatorError> {
        Ok(self.ledger.opt_outs_of(list).await?)
    }

    /// Puts the numbers of a CSV file on `list` (see [`read_csv`] for what a line may be):
    /// every number the file holds, whatever other lines it refuses. A file that is not UTF-8
    /// is read all the same (numbers are ASCII).
    pub async fn import_opt_outs(&self, list: &OptOutList, path: &Path) -> Result<OptOutsImported, OperatorError> {
        let bytes = std::fs::read(path).map_err(|error| OperatorError::Unreadable {
            path: path.display().to_string(),
            error: error.to_string(),
        })?;
        let file = read_csv(&String::from_utf8_lossy(&bytes));
        self.settings().import_opt_outs(list, file, OptOutSource::Import).await
    }
}

/// The recipients `settle` works on.
#[derive(Debug, PartialEq)]
struct Chosen {
    /// Indexes into the record's recipients, each in doubt.
    in_doubt: Vec<usize>,
    /// Numbers named that are not in doubt.
    left_alone: Vec<(Recipient, Delivery)>,
}

/// The recipients to settle: every one in doubt ([`MessageRecord::in_doubt`], as the in-doubt
/// follow-up chooses them), or those of `numbers` that are (numbers are read as a subject's list;
/// one that is not the message's is refused; one not in doubt is left alone with its fate, the
/// provider's word when it reported one).
fn in_doubt(record: &MessageRecord, numbers: &[String]) -> Result<Chosen, OperatorError> {
    let mut chosen = Chosen { in_doubt: Vec::new(), left_alone: Vec::new() };
    if numbers.is_empty() {
        chosen.in_doubt = record.in_doubt();
        return Ok(chosen);
    }
    for typed in numbers {
        let read = parse_recipients(typed);
        if let Some(dropped) = read.dropped.first() {
            return Err(OperatorError::NotANumber(dropped.input.clone()));
        }
        if read.valid.is_empty() {
            return Err(OperatorError::NoNumber(typed.clone()));
        }
        for number in read.valid {
            let Some(index) = record.recipients.iter().position(|r| r.number == number) else {
                return Err(OperatorError::NotARecipient { number, message_id: record.message_id.clone() });
            };
            let recipient = &record.recipients[index];
            if !recipient.is_in_doubt() {
                chosen.left_alone.push((number, recipient.fate()));
            } else if !chosen.in_doubt.contains(&index) {
                chosen.in_doubt.push(index);
            }
        }
    }
    Ok(chosen)
}

/// Refuses to touch a message another invocation is working on.
fn refuse_live_lease(record: &MessageRecord, now: DateTime<Utc>) -> Result<(), OperatorError> {
    match record.lease_until.and_then(|until| DateTime::from_timestamp(until, 0)) {
        Some(until) if until >= now => Err(OperatorError::LiveLease {
            message_id: record.message_id.clone(),
            until,
            seconds_left: (until - now).num_seconds(),
        }),
        _ => Ok(()),
    }
}

/// A state or a delivery as the records spell it (`partially_failed`).
pub fn spelled(value: &impl Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

// ----- authorised senders -----

impl Operator {
    /// Changes what proves that an email comes from the account: its mode (`auth`, kept when
    /// `None`) and the senders it allows, those of `disallow` taken away and those of `allow`
    /// added (see [`Account::with_senders`]). A sender another account allows is refused, and
    /// so is the whole change: an address or a domain belongs to one account only, which the
    /// ledger enforces atomically. Returns the account as it is after.
    pub async fn update_senders(
        &self,
        login: &str,
        auth: Option<AuthMode>,
        allow: &[String],
        disallow: &[String],
    ) -> Result<Account, OperatorError> {
        self.settings().update_senders(login, auth, allow, disallow).await
    }
}

// ----- the settings the customer space changes too -----

/// The account settings that both the operator (`account update`, `optout`) and the account's
/// customer (the customer space, issue #12) change: one way each, through the same domain rules
/// and the same ledger writes whoever types them, so that no path skips a rule. Each takes what
/// was typed and returns what it did, or an [`OperatorError`] (nothing changed).
pub struct AccountSettings<'l> {
    ledger: &'l DynamoLedger,
}

impl<'l> AccountSettings<'l> {
    pub fn new(ledger: &'l DynamoLedger) -> AccountSettings<'l> {
        AccountSettings { ledger }
    }

    fn found(login: &str, account: Option<Account>) -> Result<Account, OperatorError> {
        account.ok_or_else(|| OperatorError::NoAccount(login.to_owned()))
    }

    /// Changes what proves that an email comes from the account: its mode (`auth`, kept when
    /// `None`) and the senders it allows, those of `disallow` taken away and those of `allow`
    /// added (see [`Account::with_senders`]). A sender another account allows is refused
    /// ([`OperatorError::SenderTaken`]), and so is the whole change: an address or a domain
    /// belongs to one account only, which the ledger enforces atomically
    /// ([`DynamoLedger::set_senders`]). Returns the account as it is after.
    pub async fn update_senders(
        &self,
        login: &str,
        auth: Option<AuthMode>,
        allow: &[String],
        disallow: &[String],
    ) -> Result<Account, OperatorError> {
        use crate::aws::dynamodb::SendersSet;
        let before = Self::found(login, self.ledger.account(login).await?)?;
        let after = before.clone().with_senders(auth, allow, disallow)?;
        match self.ledger.set_senders(&before, &after).await? {
            SendersSet::Set(account) => Ok(*account),
            SendersSet::NoAccount => Err(OperatorError::NoAccount(login.to_owned())),
            SendersSet::Taken { sender, owner } => Err(OperatorError::SenderTaken { sender, owner }),
            SendersSet::Changed => Err(OperatorError::SendersChangedMeanwhile(login.to_owned())),
        }
    }

    /// Sets which delivery receipts the account gets. Returns the account as it is after.
    pub async fn set_receipts(&self, login: &str, receipts: Receipts) -> Result<Account, OperatorError> {
        Self::found(login, self.ledger.set_receipts(login, receipts).await?)
    }

    /// Holds the account's commercial messages to French numbers to the French marketing hours
    /// (`true`, the default), or lets them go at any hour (`false`: the customer takes the
    /// responsibility). Returns the account as it is after.
    pub async fn set_marketing_hours(&self, login: &str, hold: bool) -> Result<Account, OperatorError> {
        Self::found(login, self.ledger.set_marketing_hours(login, hold).await?)
    }

    /// Sets the low-credit threshold (typed: 1 to [`MAX_CREDITS`]), or removes it (`None`), and
    /// re-arms the alert. Returns the account as it is after.
    pub async fn set_low_credit(&self, login: &str, typed: Option<&str>) -> Result<Account, OperatorError> {
        let threshold = typed.map(credit_amount).transpose()?;
        Self::found(login, self.ledger.set_low_credit(login, threshold).await?)
    }

    /// Sets the address credit alerts go to (one plain address, see [`parse_contact`]), or
    /// removes it (`None`: no alert at all). Returns the account as it is after.
    pub async fn set_contact(&self, login: &str, typed: Option<&str>) -> Result<Account, OperatorError> {
        let contact = typed
            .map(|typed| parse_contact(typed).ok_or_else(|| OperatorError::ImpossibleContact(typed.to_owned())))
            .transpose()?;
        Self::found(login, self.ledger.set_contact(login, contact.as_deref()).await?)
    }

    /// Puts the numbers typed (any form a subject accepts) on `list`, as put there by `source`;
    /// those already there stay as they were. A typed item that is not a number to text refuses
    /// them all.
    pub async fn add_opt_outs(
        &self,
        list: &OptOutList,
        typed: &[String],
        source: OptOutSource,
    ) -> Result<OptOutsChanged, OperatorError> {
        let numbers = read_numbers(typed).map_err(OperatorError::OptOutNumber)?;
        self.add_numbers(list, numbers, source).await
    }

    async fn add_numbers(
        &self,
        list: &OptOutList,
        numbers: Vec<Recipient>,
        source: OptOutSource,
    ) -> Result<OptOutsChanged, OperatorError> {
        let now = Utc::now();
        let entries: Vec<OptOut> =
            numbers.iter().map(|number| OptOut::new(list, number.clone(), source, now)).collect();
        let changed = self.ledger.add_opt_outs(&entries).await?;
        let unchanged = numbers.into_iter().filter(|number| !changed.contains(number)).collect();
        Ok(OptOutsChanged { list: list.clone(), changed, unchanged })
    }

    /// Takes the numbers typed off `list`.
    pub async fn remove_opt_outs(&self, list: &OptOutList, typed: &[String]) -> Result<OptOutsChanged, OperatorError> {
        let numbers = read_numbers(typed).map_err(OperatorError::OptOutNumber)?;
        let changed = self.ledger.remove_opt_outs(list, &numbers).await?;
        let unchanged = numbers.into_iter().filter(|number| !changed.contains(number)).collect();
        Ok(OptOutsChanged { list: list.clone(), changed, unchanged })
    }

    /// Puts the numbers of a CSV file, as [`read_csv`] read it, on `list`: every number the file
    /// holds, whatever other lines it refuses.
    pub async fn import_opt_outs(
        &self,
        list: &OptOutList,
        file: ImportedFile,
        source: OptOutSource,
    ) -> Result<OptOutsImported, OperatorError> {
        let added = self.add_numbers(list, file.numbers.clone(), source).await?.changed.len();
        Ok(OptOutsImported { list: list.clone(), file, added })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::message::RecipientRecord;

    /// A message to the numbers given, each in the state given.
    fn record(deliveries: &[(&str, Delivery)]) -> MessageRecord {
        let recipient = |&(number, delivery): &(&str, Delivery)| {
            let number = Recipient::parse_e164(number).unwrap();
            RecipientRecord { delivery, ..RecipientRecord::pending(number, None) }
        };
        MessageRecord { recipients: deliveries.iter().map(recipient).collect(), ..MessageRecord::new("m1", Utc::now()) }
    }

    fn typed(numbers: &[&str]) -> Vec<String> {
        numbers.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn every_recipient_in_doubt_is_settled_when_none_is_named() {
        let record = record(&[
            ("+33612345678", Delivery::Unknown),
            ("+33698765432", Delivery::Sent),
            ("+33611223344", Delivery::Unknown),
        ]);
        assert_eq!(in_doubt(&record, &[]).unwrap(), Chosen { in_doubt: vec![0, 2], left_alone: vec![] });
    }

    #[test]
    fn named_numbers_are_read_as_in_a_subject_and_settled_once() {
        let record = record(&[("+33612345678", Delivery::Unknown), ("+33698765432", Delivery::Sent)]);
        let chosen = in_doubt(&record, &typed(&["06 12 34 56 78", "+33612345678;0033698765432"])).unwrap();
        assert_eq!(chosen.in_doubt, [0]);
        assert_eq!(chosen.left_alone, [(Recipient::parse_e164("+33698765432").unwrap(), Delivery::Sent)]);
    }

    #[test]
    fn a_recipient_in_doubt_that_a_provider_reported_is_not_offered_and_shows_its_reported_fate() {
        let mut record = record(&[("+33612345678", Delivery::Unknown), ("+33611223344", Delivery::Unknown)]);
        let at = Utc::now();
        let word = crate::domain::delivery::DeliveryReport {
            delivery: Delivery::Delivered,
            at,
            reason: None,
            price: None,
            refunded: false,
        };
        record.recipients[0].report = Some(word);
        assert_eq!(in_doubt(&record, &[]).unwrap(), Chosen { in_doubt: vec![1], left_alone: vec![] });
        let reported = Recipient::parse_e164("+33612345678").unwrap();
        assert_eq!(
            in_doubt(&record, &typed(&["06 12 34 56 78"])).unwrap(),
            Chosen { in_doubt: vec![], left_alone: vec![(reported, Delivery::Delivered)] }
        );
    }

    #[test]
    fn a_named_number_that_is_not_the_message_s_is_refused() {
        let record = record(&[("+33612345678", Delivery::Unknown)]);
        for (numbers, expected) in [
            (&["0699999999"][..], "+33699999999 is not a recipient of message m1"),
            (&["not a number"], "\"not a number\" is not a phone number a subject accepts"),
            (&[" ; "], "\" ; \" holds no phone number"),
        ] {
            assert_eq!(in_doubt(&record, &typed(numbers)).unwrap_err().to_string(), expected);
        }
    }

    #[test]
    fn a_live_lease_is_left_alone_and_a_lapsed_one_taken_over() {
        let now = Utc::now();
        let mut held = record(&[("+33612345678", Delivery::Pending)]);
        held.lease_until = Some((now + Duration::seconds(300)).timestamp());
        let refused = refuse_live_lease(&held, now).unwrap_err().to_string();
        assert!(refused.contains("held by a live invocation") && refused.contains("s from now"), "{refused}");
        held.lease_until = Some((now - Duration::seconds(60)).timestamp());
        assert!(refuse_live_lease(&held, now).is_ok());
        held.lease_until = None;
        assert!(refuse_live_lease(&held, now).is_ok());
    }

    #[test]
    fn states_and_deliveries_are_spelled_as_the_records_spell_them() {
        assert_eq!(spelled(&MessageState::PartiallyFailed), "partially_failed");
        assert_eq!(spelled(&Delivery::Unknown), "unknown");
    }
}
