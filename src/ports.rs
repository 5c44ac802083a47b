//! What the pipeline needs from the outside world, as small traits. Each has one adapter in
//! [`crate::aws`]; tests can hand the pipeline anything else that keeps the same promises.

use std::future::Future;

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::domain::account::Account;
use crate::domain::alerts::Alert;
use crate::domain::contact_list::ListName;
use crate::domain::delivery::DeliveryReport;
use crate::domain::message::MessageRecord;
use crate::domain::message::ReplyOutcome;
use crate::domain::optout::{Lifting, OptOut, OptOutList, OptOutSource};
use crate::domain::recipient::Recipient;
use crate::domain::sender::SenderId;

/// A call to a service that did not do what was asked, or may not have.
#[derive(Debug, Error)]
pub enum PortError {
    /// The service said it did not act (throttling, "service unavailable", a connection that
    /// could not be opened): the same call may be made again later.
    #[error("{service} unavailable: {message}")]
    Unavailable { service: &'static str, message: String },
    /// The service may or may not have acted: the request may have reached it, and its answer
    /// was lost, cut, late or unreadable (a timeout, a dropped connection, a 500 whose outcome
    /// it does not state). A call that sends something must not be made again blindly; one
    /// that only reads, or writes under a condition, may be.
    #[error("{service} in doubt: {message}")]
    InDoubt { service: &'static str, message: String },
    /// Trying again will not help: the request itself was refused.
    #[error("{service} refused: {message}")]
    Refused { service: &'static str, message: String },
    /// Refused for good because the recipient opted out of the sender's SMS (SNS `OptedOut`,
    /// End User Messaging's `DESTINATION_PHONE_NUMBER_OPTED_OUT`): a refusal, and a number for
    /// the gateway's opt-out list.
    #[error("{service} refused, the number opted out: {message}")]
    OptedOut { service: &'static str, message: String },
}

impl PortError {
    /// Whether running the invocation again may succeed (each step decides for itself what
    /// an in-doubt call means for what it sends).
    pub fn is_retryable(&self) -> bool {
        matches!(self, PortError::Unavailable { .. } | PortError::InDoubt { .. })
    }
}

/// Where SES left the raw emails.
pub trait RawMailStore: Send + Sync {
    /// The first `limit` bytes of the raw message stored under `key` (all of it when it is
    /// shorter), or `None` when there is no such object.
    fn fetch(&self, key: &str, limit: usize) -> impl Future<Output = Result<Option<Vec<u8>>, PortError>> + Send;
}

/// What a new message takes from its account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Debit {
    pub login: String,
    /// The key the email presented, hashed: checked again inside the debit.
    pub key_sha256: String,
    pub credits: u64,
}

/// How opening a message record went.
#[derive(Debug, Clone, PartialEq)]
pub enum Opening {
    /// The record is new (and, with a debit, the credits are taken).
    Opened,
    /// This email was seen before: here is its record; nothing was written or debited.
    Exists(Box<MessageRecord>),
    /// No account with this login and key, or it is suspended.
    UnknownAccount,
    /// The account exists but holds fewer credits than the debit.
    InsufficientCredits { available: u64 },
    /// Recipients still to be charged are on an opt-out list (the account's or the gateway's):
    /// nothing was written or debited. Each number once, with the list it is on.
    OptedOut(Vec<(Recipient, OptOutList)>),
}

/// The right to work on a message, held by one invocation until a deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The Lambda request id. Lambda's retries of an event keep it, so a retry after a crash
    /// takes the message over at once.
    pub owner: String,
    pub until: DateTime<Utc>,
    /// Unique to this attempt (random): tells our own write, answered late and retried by the
    /// SDK, from a write by an earlier attempt with the same request id.
    pub attempt: String,
}

/// Accounts, credits and message records.
pub trait Ledger: Send + Sync {
    /// The account as it is now (read afresh).
    fn account(&self, login: &str) -> impl Future<Output = Result<Option<Account>, PortError>> + Send;

    /// A recent copy of the account, without a call, when the ledger keeps one (see
    /// [`crate::account_cache`]): it may be stale, so it is only ever used to admit an email
    /// whose debit checks the key and the suspension again. `None` by default.
    fn cached_account(&self, _login: &str) -> Option<Account> {
        None
    }

    /// Writes a record for an email not seen before and, with a debit, takes the credits from
    /// the account in the same atomic step (never below zero, only with a matching key). With a
    /// debit, a recipient still to be charged (not already `opted_out`) that is on the
    /// account's opt-out list or the gateway's refuses the whole step: [`Opening::OptedOut`].
    /// A record that exists already wins over that, and that over the account's refusals.
    fn open(
        &self,
        record: &MessageRecord,
        debit: Option<&Debit>,
    ) -> impl Future<Output = Result<Opening, PortError>> + Send;

    fn load(&self, message_id: &str) -> impl Future<Output = Result<Option<MessageRecord>, PortError>> + Send;

    /// Takes the lease on a message in state `record.state` if nobody holds it, it has lapsed
    /// or `lease.owner` already holds it. Returns whether it was taken (also when this very
    /// attempt had taken it and the answer was lost). On success the stored record is moved to
    /// `MessageState::Accepted`.
    fn take_lease(
        &self,
        record: &MessageRecord,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// Writes the recipients at `changed` and the record's state, gives `refund` credits back to
    /// the account in the same atomic step, and, once the state is final, forgets the text and
    /// the lease. Fails unless `lease.owner` holds the lease. Applies once: the write moves the
    /// record's `checkpoints` from `record.checkpoints` to the next number, and a repeat of a
    /// write that was applied (its answer lost) is recognised and applies nothing.
    fn checkpoint(
        &self,
        record: &MessageRecord,
        changed: &[usize],
        refund: u64,
        lease: &Lease,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Gives the lease up (after a failure), so that a retry or a duplicate need not wait for
    /// it to lapse. Does nothing unless this attempt holds it.
    fn release_lease(
        &self,
        record: &MessageRecord,
        lease: &Lease,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Notes what became of the error reply.
    fn note_reply(&self, record: &MessageRecord) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Counts one more reply to `address` in the hour of `now`; false when it already had `limit`.
    fn count_reply(
        &self,
        address: &str,
        now: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// Where a provider's message id leads: the message and the recipient's position, from the
    /// index the checkpoints keep for providers whose events carry no context of ours.
    fn locate(&self, provider_id: &str) -> impl Future<Output = Result<Option<(String, usize)>, PortError>> + Send;

    /// Records `report` for the recipient at `index`, only if it still moves the recipient's
    /// fate forward (see [`crate::domain::delivery::change`]) and the recipient is still
    /// `record.recipients[index].number`; when `report.refunded`, gives the record's parts back
    /// to its account in the same atomic step. Returns false, having changed nothing, when the
    /// stored recipient says otherwise (a late, repeated or concurrent event).
    fn report(
        &self,
        record: &MessageRecord,
        index: usize,
        report: &DeliveryReport,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// Settles recipients in doubt ([`MessageRecord::in_doubt`]), in one atomic step, for the
    /// in-doubt follow-up and the operator's `settle` alike: those at `refund` become `failed`
    /// with `note` and their parts go back to the account; those at `resend` go back to
    /// `pending` with `note`, marked resent, and the message back to `accepted` without a lease.
    /// Only if the message is still in `record.state`, each of them is still `unknown` with the
    /// same number and no report, nobody holds a live lease at `now`, and, with something to
    /// resend, the message still has its text. With nothing to resend, the text is forgotten
    /// once nothing is left to send ([`MessageRecord::needs_text_after_settling`]). Returns
    /// false, having changed nothing, when a condition fails; `Refused` when there are credits
    /// to give back and the message has no account, or its account is gone.
    fn resolve_doubt(
        &self,
        record: &MessageRecord,
        refund: &[usize],
        resend: &[usize],
        note: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// Closes a message whose state is final: sets `closed_at`, records `record.receipt` (due,
    /// or why not), forgets the text. Returns false when it was closed already.
    fn close(&self, record: &MessageRecord) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// Notes what became of the delivery receipt.
    fn note_receipt(&self, record: &MessageRecord) -> impl Future<Output = Result<(), PortError>> + Send;

    // ----- credit alerts -----

    /// Claims a credit alert of the account before it is sent, in one conditional write: a
    /// low-credit alert marks the account told (`low_credit_alerted`) only if it was not, its
    /// threshold is still `threshold`, it has a contact and its balance is below the threshold;
    /// a 104 alert sets `insufficient_credit_alerted_on` to its day only if it has a contact and
    /// that day is not already set. Returns the account as it is after (its balance of the
    /// moment), or `None`, having changed nothing, when the alert is not due.
    fn claim_alert(
        &self,
        login: &str,
        alert: &Alert,
    ) -> impl Future<Output = Result<Option<Account>, PortError>> + Send;

    /// Gives back a claimed alert that certainly did not go out, so that the next debit (or
    /// 104) tries again: only if the account still says what the claim wrote.
    fn release_alert(&self, login: &str, alert: &Alert) -> impl Future<Output = Result<(), PortError>> + Send;

    // ----- authorised senders -----

    /// The account that allows `address` (an authenticated From's addr-spec) to send for it:
    /// the one that names the address itself, else the one that allows its whole domain
    /// (`@domain`); see [`sender_entries`](crate::domain::account::sender_entries). An
    /// address or a domain is allowed by one account at most.
    fn account_for_sender(&self, address: &str) -> impl Future<Output = Result<Option<Account>, PortError>> + Send;

    // ----- opt-outs -----

    /// Puts a number on an opt-out list, unless it is there already (the first entry, its
    /// source and date, stay). Returns whether it was added.
    fn add_opt_out(&self, opt_out: &OptOut) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// Takes `number` off `list` only if `source` put it there (a START by SMS lifts only its own
    /// STOP): one conditional delete. Says what it found.
    fn lift_opt_out(
        &self,
        list: &OptOutList,
        number: &Recipient,
        source: OptOutSource,
    ) -> impl Future<Output = Result<Lifting, PortError>> + Send;

    // ----- answers by SMS -----

    /// Opens the note of an inbound SMS (by its provider's id), its forward `Due`, unless it
    /// exists: providers deliver at least once. `None` when this call opened it; else what the
    /// note says of its forward (`Due`: an earlier attempt stopped before it went). The note
    /// names the message answered, never the number or the text, and expires after a while.
    fn open_inbound(
        &self,
        inbound_id: &str,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<ReplyOutcome>, PortError>> + Send;

    /// Notes what became of an inbound SMS's forward.
    fn note_inbound(
        &self,
        inbound_id: &str,
        forward: ReplyOutcome,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// The recipients of `record` still to be charged (not already `opted_out`) that are on
    /// `login`'s opt-out list or the gateway's, each once with the first list it is on (the
    /// account's before the gateway's): what [`Ledger::open`] with a debit for `login` would
    /// find, read without writing anything (a dry run's preview).
    fn opted_out(
        &self,
        login: &str,
        record: &MessageRecord,
    ) -> impl Future<Output = Result<Vec<(Recipient, OptOutList)>, PortError>> + Send;

    // ----- contact lists -----

    /// The numbers of `owner`'s contact list `name`, in the order imported, each once; `None`
    /// when the account has no such list. Only `owner`'s own lists: another account's list of
    /// the same name is not it.
    fn contact_list(
        &self,
        owner: &str,
        name: &ListName,
    ) -> impl Future<Output = Result<Option<Vec<Recipient>>, PortError>> + Send;
}

/// One SMS to one recipient.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingSms<'a> {
    /// The SES message id of the email and the recipient's position in its record, for the
    /// provider's tracking context.
    pub message_id: &'a str,
    pub position: usize,
    pub to: &'a Recipient,
    pub sender: Option<&'a SenderId>,
    pub text: &'a str,
}

/// The SMS provider. `Refused` means the provider will never deliver this one (the credits are
/// refunded), and `OptedOut` the same because the number opted out (it also goes on the
/// gateway's opt-out list); `Unavailable` means it said it did not take it, try again later;
/// `InDoubt` means it may have taken it: it is never sent again.
pub trait SmsGateway: Send + Sync {
    /// Returns the provider's message id.
    fn send(&self, sms: OutgoingSms<'_>) -> impl Future<Output = Result<String, PortError>> + Send;
}

/// Sends the error replies.
pub trait ReplyMailer: Send + Sync {
    fn send_raw(&self, to: &str, mime: Vec<u8>) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// A one-time schedule that invokes the function with `input` at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledSend {
    pub name: String,
    pub at: DateTime<Utc>,
    pub input: String,
    pub target_arn: String,
}

/// What makes a message go later: at a time (a schedule), or as soon as the provider's rate
/// allows (a large email's parts, through a queue).
pub trait SendScheduler: Send + Sync {
    /// Creates the schedule; one of the same name already there counts as created.
    fn schedule(&self, send: &ScheduledSend) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Queues the parts (by their message ids) to be sent, each at least once: a part queued
    /// twice is sent once, its record says what is left to send.
    fn queue_parts(&self, part_ids: &[String]) -> impl Future<Output = Result<(), PortError>> + Send;
}
