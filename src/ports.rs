//! What the pipeline needs from the outside world, as small traits. Each has one adapter in
//! [`crate::aws`]; tests can hand the pipeline anything else that keeps the same promises.

use std::future::Future;

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::domain::account::Account;
use crate::domain::message::MessageRecord;
use crate::domain::recipient::Recipient;
use crate::domain::sender::SenderId;

/// A call to a service that did not do what was asked.
#[derive(Debug, Error)]
pub enum PortError {
    /// Worth trying again later: throttling, a network fault, a service error.
    #[error("{service} unavailable: {message}")]
    Unavailable { service: &'static str, message: String },
    /// Trying again will not help: the request itself was refused.
    #[error("{service} refused: {message}")]
    Refused { service: &'static str, message: String },
}

impl PortError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, PortError::Unavailable { .. })
    }
}

/// Where SES left the raw emails.
pub trait RawMailStore: Send + Sync {
    /// The raw message stored under `key`, or `None` when there is no such object.
    fn fetch(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, PortError>> + Send;
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
}

/// The right to work on a message, held by one invocation until a deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub owner: String,
    pub until: DateTime<Utc>,
}

/// Accounts, credits and message records.
pub trait Ledger: Send + Sync {
    fn account(&self, login: &str) -> impl Future<Output = Result<Option<Account>, PortError>> + Send;

    /// Writes a record for an email not seen before and, with a debit, takes the credits from
    /// the account in the same atomic step (never below zero, only with a matching key).
    fn open(
        &self,
        record: &MessageRecord,
        debit: Option<&Debit>,
    ) -> impl Future<Output = Result<Opening, PortError>> + Send;

    fn load(&self, message_id: &str) -> impl Future<Output = Result<Option<MessageRecord>, PortError>> + Send;

    /// Takes the lease on a message in state `record.state` if nobody holds it, it has lapsed
    /// or `lease.owner` already holds it. Returns whether it was taken. On success the stored
    /// record is moved to `MessageState::Accepted`.
    fn take_lease(
        &self,
        record: &MessageRecord,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// Writes the recipients at `changed` and the record's state, gives `refund` credits back to
    /// the account in the same atomic step, and, once the state is final, forgets the text and
    /// the lease. Fails unless `lease.owner` holds the lease.
    fn checkpoint(
        &self,
        record: &MessageRecord,
        changed: &[usize],
        refund: u64,
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
}

/// One SMS to one recipient.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingSms<'a> {
    /// The SES message id of the email, for the provider's tracking context.
    pub message_id: &'a str,
    pub to: &'a Recipient,
    pub sender: Option<&'a SenderId>,
    pub text: &'a str,
}

/// The SMS provider. `Refused` means the provider will never deliver this one (the credits are
/// refunded); `Unavailable` means try again later.
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

pub trait SendScheduler: Send + Sync {
    /// Creates the schedule; one of the same name already there counts as created.
    fn schedule(&self, send: &ScheduledSend) -> impl Future<Output = Result<(), PortError>> + Send;
}
