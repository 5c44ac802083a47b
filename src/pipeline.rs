//! The whole pipeline, top to bottom, in the order an email travels:
//! event → raw mail → request → account and credits → send or schedule → record → reply.
//!
//! Every email is recorded under its SES message id before anything leaves the gateway, and the
//! record is written in the same atomic step as the debit: a second delivery of the same email
//! finds the record and only finishes what the first left undone, so nothing is debited or sent
//! twice. Each recipient is claimed in the record before its SMS is handed over and its outcome
//! recorded as it comes; one whose outcome is in doubt is never sent again. Error replies are
//! recorded as due before they go out and marked sent after: they are at least once.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde::Serialize;
use serde_json::Value;
use thiserror::Error;
use tracing::{info, warn};

use crate::config::InDoubtPolicy;
use crate::domain::account::{Receipts, is_possible_login};
use crate::domain::alerts::CreditAlerts;
use crate::domain::contact_list::{ListName, unknown_list};
use crate::domain::date::when;
use crate::domain::hours::{HoldReason, held_until};
use crate::domain::message::{
    Delivery, Discard, MAX_ANSWERS_TO_BYTES, MAX_ERROR_BYTES, MAX_MAIL_MESSAGE_ID_BYTES, MAX_PROVIDER_ID_BYTES,
    MAX_RECIPIENTS, MAX_RECORD_RECIPIENTS, MessageRecord, MessageState, RecipientRecord, ReplyOutcome, truncated,
};
use crate::domain::optout::OptOut;
use crate::domain::recipient::{Recipient, Recipients, mask_numbers_in};
use crate::domain::request::{ApiKey, Credentials, Request, UnsignedRequest, read_subject};
use crate::domain::secret::redact;
use crate::domain::segments::{self, MAX_PARTS};
use crate::domain::sender::{has_stop_mention, sender_for};
use crate::domain::text::clean_body;
use crate::domain::{Rejection, StatusCode};
use crate::event::{EventError, InboundEmail, ScheduledSendEvent, Trigger, decode};
use crate::fan_out::Pace;
use crate::mail::{Authentication, InboundMail, Verdict, parse_mail};
use crate::ports::{
    Debit, Lease, Ledger, Opening, OutgoingSms, PortError, RawMailStore, ReplyMailer, ScheduledSend, SendScheduler,
    SmsGateway,
};
use crate::reply::{NoReply, error_reply, reply_to};

mod preview;

type ReplyTo = Result<String, NoReply>;

/// What the pipeline is told by its configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub inbound_bucket: String,
    pub inbound_prefix: String,
    pub reply_from: String,
    pub reply_require_auth: bool,
    pub reply_limit_per_hour: u32,
    pub default_timezone: Tz,
    /// How many SMS are handed to the provider at once.
    pub send_concurrency: usize,
    /// Whether a definitive delivery failure refunds its recipient.
    pub refund_failed_deliveries: bool,
    /// How long a recipient in doubt waits for a delivery event, and what then becomes of it.
    pub in_doubt_after: chrono::Duration,
    pub in_doubt_policy: InDoubtPolicy,
    /// The SMS per second one invocation sends a large email's part at.
    pub part_send_rate: f64,
    /// Two-way SMS: each email accepted keeps where its recipients' answers go (`answers_to`).
    pub two_way: bool,
}

/// How much of a raw email is read: its headers and first parts, where the text of any SMS is.
/// SES accepts emails of up to 40 MB, mostly attachments; reading only the head bounds the
/// function's memory whoever writes, before any authentication. Text past this point is never
/// part of an SMS (an SMS holds at most a few kilobytes).
pub const MAX_READ_BYTES: usize = 1024 * 1024;

/// Outcomes are recorded at least every this many answers…
const CHECKPOINT_ANSWERS: usize = 4;
/// …or this long after the oldest answer not yet recorded: after a crash, only the calls in
/// flight and the answers of the last moments are in doubt.
const CHECKPOINT_AFTER: Duration = Duration::from_millis(100);

/// What one sending call did: when the provider took its first SMS, how many recipients it
/// refused and the credits given back for them.
#[derive(Debug, Default)]
struct SendingDone {
    first_taken: Option<DateTime<Utc>>,
    refused: usize,
    refunded: u64,
    /// The numbers refused because they opted out, and the provider (service) that said so.
    opted_out: Vec<(Recipient, &'static str)>,
}

/// The invocation being served: who is working, until when, as which function.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub deadline: DateTime<Utc>,
    pub function_arn: String,
}

/// What became of one email (or one scheduled send): the function's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Sent {
        message_id: String,
        state: MessageState,
        sent: usize,
        failed: usize,
        unknown: usize,
        cost: u64,
        refunded: u64,
        /// From SES's receipt of the email to the provider's acceptance of its first SMS.
        #[serde(skip_serializing_if = "Option::is_none")]
        latency_ms: Option<u64>,
        /// What this invocation did, apart from the message's totals above (a scheduled send, a
        /// retry or a resend finishes a message debited earlier): whether it opened and debited
        /// the message, how many recipients the provider refused and the credits given back.
        fresh: bool,
        refused_now: usize,
        refunded_now: u64,
    },
    Scheduled {
        message_id: String,
        due_at: DateTime<Utc>,
        cost: u64,
    },
    Rejected {
        message_id: String,
        status: StatusCode,
        reply: ReplyOutcome,
    },
    Dropped {
        message_id: String,
        reason: Discard,
    },
    /// Seen before: nothing was done again.
    Duplicate {
        message_id: String,
        state: MessageState,
    },
    /// A scheduled send for a message that is no longer scheduled (sent, cancelled) or unknown.
    NothingDue {
        message_id: String,
    },
    /// A provider's delivery event for one recipient. `changed` is false for a late, repeated or
    /// backwards event; `refunded` counts the credits it gave back.
    Reported {
        message_id: String,
        delivery: Delivery,
        changed: bool,
        refunded: u64,
    },
    /// A delivery event for no message or recipient this gateway knows: logged and dropped.
    Unmatched {
        provider: &'static str,
    },
    /// The in-doubt window ended: recipients never reported were sent again or refunded.
    InDoubtSettled {
        message_id: String,
        resent: usize,
        refunded: u64,
    },
    /// A large email handed over in parts to the parts queue. `fresh` as for `Sent`.
    InParts {
        message_id: String,
        parts: usize,
        recipients: usize,
        cost: u64,
        fresh: bool,
    },
    /// A part of a large email that this invocation could not finish: the queue hands it out
    /// again (`item` is the queue message's id), and its record says what is left.
    Postponed {
        message_id: String,
        item: String,
        retryable: bool,
    },
    /// A dry run (`dryrun`): nothing sent, nothing debited, a preview answered (`reply`).
    /// `status` is the refusal the real send would get (104, or 114 when every number opted
    /// out); `cost` what it would debit.
    Previewed {
        message_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<StatusCode>,
        cost: u64,
        reply: ReplyOutcome,
    },
    /// Every recipient's fate is known, or 72 hours passed: `unknown` counts those never
    /// reported; `receipt` says what became of the delivery receipt, when the account wants one.
    Closed {
        message_id: String,
        unknown: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        receipt: Option<ReplyOutcome>,
    },
    /// A recipient answered a message by SMS (two-way SMS, see [`crate::inbound`]): its keyword
    /// (STOP, START) applied to the account's opt-out list, and the answer forwarded to the
    /// email's sender (`forwarded`). `repeated` when the provider delivered it again: nothing
    /// was done twice.
    Answered {
        message_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        keyword: Option<crate::domain::answer::Keyword>,
        forwarded: ReplyOutcome,
        repeated: bool,
    },
    /// An SMS to our number that answers no message this gateway still knows (or from another
    /// number than the one texted): logged and dropped.
    AnswerUnmatched,
}

#[derive(Debug, Error)]
pub enum PipelineError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(transparent)]
    Port(#[from] PortError),
    #[error("no raw email at {key}: is the receipt rule's S3 action before its Lambda action?")]
    MissingEmail { key: String },
    #[error("message {message_id}: {pending} recipient(s) left for a retry")]
    Incomplete { message_id: String, pending: usize },
    /// Another invocation holds the message's lease: this one is retried, and finishes the
    /// message if the holder died.
    #[error("message {message_id}: another invocation is working on it")]
    InProgress { message_id: String },
}

impl PipelineError {
    /// Whether running the same event again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            PipelineError::Event(_) => false,
            PipelineError::Port(error) => error.is_retryable(),
            PipelineError::MissingEmail { .. }
            | PipelineError::Incomplete { .. }
            | PipelineError::InProgress { .. } => true,
        }
    }
}

/// The gateway: the pipeline and the services it runs on.
pub struct Gateway<S, L, G, M, C> {
    pub settings: Settings,
    pub inbox: S,
    pub ledger: L,
    pub sms: G,
    pub mailer: M,
    pub scheduler: C,
    pub clock: fn() -> DateTime<Utc>,
}

impl<S, L, G, M, C> Gateway<S, L, G, M, C> {
    /// The same gateway with its SMS provider wrapped or replaced (fault injection, tracking).
    pub fn map_sms<G2>(self, wrap: impl FnOnce(G) -> G2) -> Gateway<S, L, G2, M, C> {
        let Gateway { settings, inbox, ledger, sms, mailer, scheduler, clock } = self;
        Gateway { settings, inbox, ledger, sms: wrap(sms), mailer, scheduler, clock }
    }

    /// The same gateway with its scheduler wrapped or replaced.
    pub fn map_scheduler<C2>(self, wrap: impl FnOnce(C) -> C2) -> Gateway<S, L, G, M, C2> {
        let Gateway { settings, inbox, ledger, sms, mailer, scheduler, clock } = self;
        Gateway { settings, inbox, ledger, sms, mailer, scheduler: wrap(scheduler), clock }
    }
}

/// An email as read, whether its From is proven and the key its subject carries: enough to
/// answer it without quoting the key.
#[derive(Clone, Copy)]
struct Letter<'a> {
    mail: &'a InboundMail,
    authentication: &'a Authentication,
    key: Option<&'a ApiKey>,
}

/// An email that passed every check: who pays, what is sent to whom, and when.
struct Order {
    login: String,
    key_sha256: String,
    /// The delivery receipts the account wants.
    receipts: Receipts,
    record: MessageRecord,
    /// What the account said of its credit alerts, just before the debit.
    alerts: CreditAlerts,
    /// A dry run: previewed ([`Gateway::preview`]), never accepted.
    dry_run: Option<preview::DryRun>,
}

/// What reading a request gives: an order, or a refusal (with the login once the account was
/// opened, so the refusal is listed with the customer's messages).
enum Reading {
    Order(Box<Order>),
    Refused(Rejection, Option<String>),
}

/// Who asks, once checked: the account and what its email asks for (the subject's request, or
/// its refusal), or the refusal that says nobody (105, 102).
type Asking = Result<Box<(crate::domain::account::Account, Result<UnsignedRequest, Rejection>)>, Rejection>;

impl<S, L, G, M, C> Gateway<S, L, G, M, C>
where
    S: RawMailStore,
    L: Ledger,
    G: SmsGateway,
    M: ReplyMailer,
    C: SendScheduler,
{
    /// Serves one invocation.
    pub async fn handle(&self, event: Value, invocation: &Invocation) -> Result<Vec<Outcome>, PipelineError> {
        match decode(event, &self.settings.inbound_bucket, &self.settings.inbound_prefix)? {
            Trigger::Inbound(emails) => {
                let mut outcomes = Vec::with_capacity(emails.len());
                for email in &emails {
                    outcomes.push(self.receive(email, invocation).await?);
                }
                Ok(outcomes)
            }
            Trigger::ScheduledSend(due) => Ok(vec![self.send_when_due(&due.scheduled_send, invocation).await?]),
            Trigger::Reports(reports) => {
                let mut outcomes = Vec::with_capacity(reports.len());
                for report in &reports {
                    outcomes.push(self.track(report).await?);
                }
                Ok(outcomes)
            }
            Trigger::FollowUp(follow_up) => Ok(vec![self.follow_up(&follow_up, invocation).await?]),
            Trigger::Parts(parts) => Ok(self.send_parts(&parts, invocation).await),
            Trigger::Answers(answers) => {
                let mut outcomes = Vec::with_capacity(answers.len());
                for sms in &answers {
                    outcomes.push(self.answered(sms).await?);
                }
                Ok(outcomes)
            }
        }
    }

    /// An email SES received.
    #[tracing::instrument(skip_all, fields(message_id = %email.message_id))]
    async fn receive(&self, email: &InboundEmail, invocation: &Invocation) -> Result<Outcome, PipelineError> {
        let received_at = (self.clock)();
        let id = email.message_id.as_str();
        let Some(raw) = self.inbox.fetch(&email.key, MAX_READ_BYTES).await? else {
            return Err(PipelineError::MissingEmail { key: email.key.clone() });
        };
        let Some(mail) = parse_mail(&raw) else {
            return self.discard(MessageRecord::dropped(id, received_at, Discard::NotAnEmail)).await;
        };
        drop(raw);
        let verdicts = email.verdicts.or(mail.verdicts);
        if verdicts.virus == Some(Verdict::Fail) {
            return self.discard(MessageRecord::dropped(id, received_at, Discard::Virus)).await;
        }
        if verdicts.spam == Some(Verdict::Fail) {
            return self.discard(MessageRecord::dropped(id, received_at, Discard::Spam)).await;
        }
        let authentication = mail.authentication.with_receipt(&mail.from, email.verdicts.dmarc, email.dmarc_policy);
        if authentication.fails_enforced_dmarc() {
            return self.discard(MessageRecord::dropped(id, received_at, Discard::FailedDmarc)).await;
        }

        let subject = read_subject(mail.subject.as_deref().unwrap_or_default());
        let letter = Letter { mail: &mail, authentication: &authentication, key: subject.written_key.as_ref() };
        let asking = self.who_asks(&mail, &authentication, subject.credentials, subject.request).await?;
        match self.read_request(id, &mail, asking, received_at).await? {
            Reading::Order(order) if order.dry_run.is_some() => self.preview(*order, letter, invocation).await,
            Reading::Order(order) => self.accept(*order, letter, email.received_at, invocation).await,
            Reading::Refused(rejection, login) => {
                self.reject(id, letter, rejection, login, received_at, invocation).await
            }
        }
    }

    /// Reads the request and checks it, in the order the customer is told about problems:
    /// the subject's presence (105) and who asks (102, see [`Gateway::who_asks`]), then the
    /// rest of the subject (109, 115, 114), the text (110, 111), the date's range (115) and
    /// finally the credits (104, at the debit).
    async fn read_request(
        &self,
        message_id: &str,
        mail: &InboundMail,
        asking: Asking,
        received_at: DateTime<Utc>,
    ) -> Result<Reading, PipelineError> {
        let (account, request) = match asking {
            Ok(asking) => *asking,
            Err(rejection) => return Ok(Reading::Refused(rejection, None)),
        };
        let login = Some(account.login.clone());
        let refuse = |rejection: Rejection| Ok(Reading::Refused(rejection, login.clone()));

        let UnsignedRequest { mut recipients, sender, date, lists, dry_run, .. } = match request {
            Ok(request) => request,
            Err(rejection) => return refuse(rejection),
        };
        if let Err(rejection) = self.expand_lists(&account.login, &lists, &mut recipients).await? {
            return refuse(rejection);
        }
        if recipients.valid.len() > MAX_RECIPIENTS {
            return refuse(Rejection::with_detail(
                StatusCode::InvalidRequest,
                format!("{} destinataires, {MAX_RECIPIENTS} au maximum par email", recipients.valid.len()),
            ));
        }
        if mail.body_too_long {
            return refuse(Rejection::with_detail(
                StatusCode::MessageTooLong,
                format!("plus de {} Ko de texte", crate::mail::MAX_BODY_BYTES / 1024),
            ));
        }
        let text = clean_body(account.cut_rules().cut(mail.body.as_deref().unwrap_or_default()));
        if text.is_empty() {
            return refuse(Rejection::new(StatusCode::EmptyMessage));
        }
        let segments = segments::count(&text);
        if segments.parts > MAX_PARTS {
            return refuse(Rejection::with_detail(
                StatusCode::MessageTooLong,
                format!("{} SMS nécessaires, {MAX_PARTS} au maximum", segments.parts),
            ));
        }
        let when = match when(date, account.timezone_or(self.settings.default_timezone), received_at) {
            Ok(when) => when,
            Err(rejection) => return refuse(rejection),
        };

        let stop_mention = has_stop_mention(&text);
        let recipient = |number: Recipient| {
            let sender = sender_for(&number, sender.as_ref(), stop_mention, account.sender.as_ref());
            RecipientRecord::pending(number, sender)
        };
        let recipients_records = recipients.valid.into_iter().map(recipient).collect();
        let mut record =
            MessageRecord::accepted(message_id, received_at, &account.login, recipients_records, text, segments, when);
        record.dropped = recipients.dropped;
        record.dropped_count = recipients.dropped_count;
        // A commercial message to a French number due outside the hours waits for them.
        if !account.ignore_marketing_hours {
            let due = record.due_at.unwrap_or(received_at);
            let numbers = record.recipients.iter().map(|recipient| &recipient.number);
            if let Some(until) = held_until(due, record.text.as_deref().unwrap_or_default(), numbers) {
                info!(%until, "held to the French marketing hours");
                record.hold(until, HoldReason::MarketingHours);
            }
        }
        let alerts = CreditAlerts::of(&account, account.timezone_or(self.settings.default_timezone));
        Ok(Reading::Order(Box::new(Order {
            login: account.login,
            key_sha256: account.key_sha256,
            receipts: account.receipts,
            record,
            alerts,
            dry_run: dry_run.then_some(preview::DryRun { asked_sender: sender }),
        })))
    }

    /// Debits and records the order in one step, then sends it or schedules it. Its numbers on
    /// an opt-out list are left out at that step, never charged; none left is 114.
    async fn accept(
        &self,
        mut order: Order,
        letter: Letter<'_>,
        ses_received_at: Option<DateTime<Utc>>,
        invocation: &Invocation,
    ) -> Result<Outcome, PipelineError> {
        let record = &mut order.record;
        if !order.receipts.is_none() {
            record.receipt_to = self.reply_address(letter).ok();
        }
        // Two-way SMS: the recipients' answers go to the sender, as a reply would.
        if self.settings.two_way {
            record.answers_to = self.reply_address(letter).ok().filter(|to| to.len() <= MAX_ANSWERS_TO_BYTES);
        }
        // The receipt threads under the email's Message-ID, unless it quotes the key (the sender
        // wrote it too), as the error reply does.
        let quotes_key = |id: &str| letter.key.is_some_and(|key| redact(id, key.expose()) != id);
        record.mail_message_id =
            letter.mail.message_id.clone().filter(|id| id.len() <= MAX_MAIL_MESSAGE_ID_BYTES && !quotes_key(id));
        let lease = self.lease(invocation);
        let sends_now = record.state == MessageState::Accepted;
        // A large email's recipients are claimed by the invocations that send its parts.
        let claims = sends_now && !record.needs_parts();
        if sends_now {
            record.lease_owner = Some(lease.owner.clone());
            record.lease_until = Some(lease.until.timestamp());
            record.lease_attempt = Some(lease.attempt.clone());
        }
        if claims {
            self.claim(record, self.window());
        }
        let mut debit = Debit { login: order.login.clone(), key_sha256: order.key_sha256, credits: record.cost };
        let Some(opened) = self.open_without_opt_outs(record, &mut debit, claims).await? else {
            return self.reject_opted_out(order.record, letter, invocation).await;
        };
        match opened {
            Opening::Opened => {
                info!(login = %order.login, recipients = record.recipients.len(), parts = record.parts, cost = record.cost, "accepted");
                let outcome = self.go(order.record, &lease, ses_received_at, invocation).await;
                self.tell_low_credit(&order.alerts, debit.credits).await;
                outcome
            }
            // Our own write, applied once already: its answer was lost and the SDK sent it again.
            Opening::Exists(existing)
                if existing.lease_attempt.is_some() && existing.lease_attempt == record.lease_attempt =>
            {
                let outcome = self.go(*existing, &lease, ses_received_at, invocation).await;
                self.tell_low_credit(&order.alerts, debit.credits).await;
                outcome
            }
            Opening::Exists(existing) => self.resume(*existing, Some(letter), invocation).await,
            Opening::UnknownAccount => {
                let rejection = Rejection::new(StatusCode::AuthenticationFailed);
                self.reject(&record.message_id, letter, rejection, None, record.received_at, invocation).await
            }
            Opening::InsufficientCredits { available } => {
                let rejection = Rejection::insufficient_credits(record.cost, available);
                let login = record.login.clone();
                let outcome =
                    self.reject(&record.message_id, letter, rejection, login, record.received_at, invocation).await;
                let (id, at, cost) = (&record.message_id, record.received_at, record.cost);
                self.tell_insufficient_credits(&order.alerts, id, at, cost, available).await;
                outcome
            }
            Opening::OptedOut(_) => unreachable!("open_without_opt_outs takes the opted-out numbers out"),
        }
    }

    /// A message this attempt has just opened: sends it now, or schedules it.
    async fn go(
        &self,
        record: MessageRecord,
        lease: &Lease,
        ses_received_at: Option<DateTime<Utc>>,
        invocation: &Invocation,
    ) -> Result<Outcome, PipelineError> {
        if record.state == MessageState::Accepted {
            self.deliver(record, lease, true, ses_received_at, invocation).await
        } else {
            self.schedule(&record, invocation).await
        }
    }

    /// Sends what is left of the message, settles it and schedules what follows (see
    /// [`Gateway::after_sending`]). On failure the lease is given up, so that the retry need not
    /// wait for it. `ses_received_at` is when SES received the email, for the latency metric.
    async fn deliver(
        &self,
        mut record: MessageRecord,
        lease: &Lease,
        fresh: bool,
        ses_received_at: Option<DateTime<Utc>>,
        invocation: &Invocation,
    ) -> Result<Outcome, PipelineError> {
        if record.needs_parts() {
            // Just opened: the ledger holds its parts, and the record becomes their head.
            record.split_into_parts();
        }
        if record.fan_out.is_some() {
            return self.dispatch(record, lease, fresh).await;
        }
        let now = match self.send_all(&mut record, lease, fresh).await {
            Ok(now) => now,
            Err(error) => {
                self.give_up_lease(&record, lease).await;
                return Err(error);
            }
        };
        let (sent, failed, unknown) =
            (record.count(Delivery::Sent), record.count(Delivery::Failed), record.count(Delivery::Unknown));
        info!(state = ?record.state, sent, failed, unknown, refunded = record.refunded, "settled");
        self.after_sending(&record, invocation).await?;
        let latency_ms = ses_received_at
            .zip(now.first_taken)
            .and_then(|(received, taken)| u64::try_from((taken - received).num_milliseconds()).ok());
        Ok(Outcome::Sent {
            sent,
            failed,
            unknown,
            state: record.state,
            cost: record.cost,
            refunded: record.refunded,
            latency_ms,
            fresh,
            refused_now: now.refused,
            refunded_now: now.refunded,
            message_id: record.message_id,
        })
    }

    /// Gives the lease up after a failure, so that the retry need not wait for it; one that
    /// cannot be given up lapses at its deadline.
    pub(crate) async fn give_up_lease(&self, record: &MessageRecord, lease: &Lease) {
        if let Err(release) = self.ledger.release_lease(record, lease).await {
            warn!(error = %mask_numbers_in(&release.to_string()), "lease not released; it lapses at its deadline");
        }
    }

    /// Hands the recipients to the provider through a sliding window of at most
    /// `send_concurrency` calls in flight. A recipient is claimed (`Sending`) in the record
    /// before its call starts, and its outcome is recorded with the next checkpoint, written
    /// every few answers or milliseconds together with the claims that refill the window.
    /// `fresh` says the record was just opened by this attempt, with its first claims;
    /// otherwise recipients left `Sending` by an earlier attempt are in doubt: `Unknown`.
    /// Returns what this call did.
    async fn send_all(
        &self,
        record: &mut MessageRecord,
        lease: &Lease,
        fresh: bool,
    ) -> Result<SendingDone, PipelineError> {
        let text: Arc<str> = record.text.as_deref().unwrap_or_default().into();
        let mut done = SendingDone::default();
        let mut unwritten: Vec<usize> = Vec::new();
        let mut oldest_unwritten: Option<Instant> = None;
        let mut refund = 0u64;
        let mut launch: Vec<usize> = Vec::new();
        for (index, recipient) in record.recipients.iter_mut().enumerate() {
            if recipient.delivery == Delivery::Sending {
                if fresh {
                    launch.push(index);
                } else if recipient.report.is_some() {
                    // The provider reported it: it was taken.
                    recipient.delivery = Delivery::Sent;
                    unwritten.push(index);
                } else {
                    recipient.delivery = Delivery::Unknown;
                    recipient.error = Some("in doubt: the attempt sending it stopped".to_owned());
                    unwritten.push(index);
                }
            }
        }
        if !fresh && record.due_at.is_some() {
            // Sent when its date came: numbers may have opted out since it was debited.
            let left_out = self.leave_out_new_opt_outs(record).await?;
            refund += u64::from(record.parts) * left_out.len() as u64;
            unwritten.extend(left_out);
        }
        let mut in_flight = FuturesUnordered::new();
        // Set when the provider said "not now": nothing more is claimed, the retry sends it.
        let mut paused = false;
        // A large email's part goes at its share of the provider's rate, and stops claiming in
        // time for its invocation to record what it did and end well before its timeout.
        let mut pace = self.pace(record, lease);
        let window = pace.as_ref().map_or(self.window(), |pace| pace.window(self.window()));
        loop {
            for index in launch.drain(..) {
                let start = pace.as_mut().map(Pace::next_start);
                let send = self.send_one(record, index, text.clone());
                in_flight.push(async move {
                    if let Some(start) = start {
                        tokio::time::sleep_until(start).await;
                    }
                    send.await
                });
            }
            paused |= pace.as_ref().is_some_and(|pace| pace.out_of_time(self.clock));
            let due = in_flight.is_empty()
                || unwritten.len() >= CHECKPOINT_ANSWERS
                || oldest_unwritten.is_some_and(|since| since.elapsed() >= CHECKPOINT_AFTER);
            if due {
                let claims = if paused { Vec::new() } else { self.claim(record, window - in_flight.len()) };
                record.state = record.settled_state();
                if record.state.is_final() {
                    record.settled_at = Some((self.clock)());
                    if !self.may_resend(record) {
                        record.text = None;
                    }
                }
                if !unwritten.is_empty() || !claims.is_empty() || record.state.is_final() {
                    let written: Vec<usize> = unwritten.iter().chain(&claims).copied().collect();
                    self.ledger.checkpoint(record, &written, refund, lease).await?;
                    record.checkpoints += 1;
                    record.refunded += refund;
                    done.refunded += refund;
                }
                unwritten.clear();
                oldest_unwritten = None;
                refund = 0;
                if claims.is_empty() && in_flight.is_empty() {
                    break;
                }
                launch = claims;
                continue;
            }
            let answer = match oldest_unwritten {
                None => in_flight.next().await,
                Some(since) => {
                    let left = CHECKPOINT_AFTER.saturating_sub(since.elapsed());
                    tokio::time::timeout(left, in_flight.next()).await.ok().flatten()
                }
            };
            let Some((index, result)) = answer else { continue };
            let recipient = &mut record.recipients[index];
            match result {
                Ok(provider_id) => {
                    done.first_taken.get_or_insert_with(self.clock);
                    recipient.delivery = Delivery::Sent;
                    recipient.provider_id = Some(truncated(&provider_id, MAX_PROVIDER_ID_BYTES));
                }
                Err(PortError::Refused { message, .. }) => {
                    warn!(to = %recipient.number.masked(), reason = %mask_numbers_in(&message), "SMS refused for good; refunded");
                    recipient.delivery = Delivery::Failed;
                    recipient.error = Some(truncated(&mask_numbers_in(&message), MAX_ERROR_BYTES));
                    refund += u64::from(record.parts);
                    done.refused += 1;
                }
                Err(PortError::OptedOut { service, message }) => {
                    warn!(to = %recipient.number.masked(), reason = %mask_numbers_in(&message), "SMS refused, the number opted out; refunded");
                    recipient.delivery = Delivery::Failed;
                    let error = format!("opted out: {}", mask_numbers_in(&message));
                    recipient.error = Some(truncated(&error, MAX_ERROR_BYTES));
                    refund += u64::from(record.parts);
                    done.refused += 1;
                    done.opted_out.push((recipient.number.clone(), service));
                }
                Err(PortError::InDoubt { message, .. }) => {
                    warn!(to = %recipient.number.masked(), error = %mask_numbers_in(&message), "SMS in doubt; never sent again");
                    recipient.delivery = Delivery::Unknown;
                    recipient.error =
                        Some(truncated(&format!("in doubt: {}", mask_numbers_in(&message)), MAX_ERROR_BYTES));
                }
                Err(error @ PortError::Unavailable { .. }) => {
                    warn!(to = %recipient.number.masked(), error = %mask_numbers_in(&error.to_string()), "SMS not taken; left for a retry");
                    recipient.delivery = Delivery::Pending;
                    paused = true;
                }
            }
            unwritten.push(index);
            oldest_unwritten.get_or_insert_with(Instant::now);
        }
        self.list_provider_opt_outs(&done.opted_out).await;
        match record.count(Delivery::Pending) {
            0 => Ok(done),
            pending => Err(PipelineError::Incomplete { message_id: record.message_id.clone(), pending }),
        }
    }

    /// One SMS to the recipient at `index`; the future owns what it sends, so the record can
    /// take the answers of the others meanwhile.
    fn send_one(
        &self,
        record: &MessageRecord,
        index: usize,
        text: Arc<str>,
    ) -> impl Future<Output = (usize, Result<String, PortError>)> + Send + '_ {
        let message_id = record.message_id.clone();
        let recipient = record.recipients[index].clone();
        async move {
            let sms = OutgoingSms {
                message_id: &message_id,
                position: index,
                to: &recipient.number,
                sender: recipient.sender.as_ref(),
                text: &text,
            };
            (index, self.sms.send(sms).await)
        }
    }

    /// Whether a recipient in doubt may be sent once more by the in-doubt follow-up: then the
    /// text is kept until it has run.
    fn may_resend(&self, record: &MessageRecord) -> bool {
        self.settings.in_doubt_policy == InDoubtPolicy::Resend
            && record.in_doubt().iter().any(|&index| !record.recipients[index].resent)
    }

    /// How many SMS may be in flight at once.
    fn window(&self) -> usize {
        self.settings.send_concurrency.max(1)
    }

    /// Claims up to `count` pending recipients: they become `Sending`.
    fn claim(&self, record: &mut MessageRecord, count: usize) -> Vec<usize> {
        let mut claimed = Vec::new();
        for (index, recipient) in record.recipients.iter_mut().enumerate() {
            if claimed.len() == count {
                break;
            }
            if recipient.delivery == Delivery::Pending {
                recipient.delivery = Delivery::Sending;
                claimed.push(index);
            }
        }
        claimed
    }

    /// Creates the one-time schedule that sends the message when it is due.
    async fn schedule(&self, record: &MessageRecord, invocation: &Invocation) -> Result<Outcome, PipelineError> {
        let (Some(name), Some(due_at)) = (record.schedule_name.clone(), record.due_at) else {
            return Ok(Outcome::Duplicate { message_id: record.message_id.clone(), state: record.state });
        };
        let input = ScheduledSendEvent::for_message(&record.message_id).to_input();
        let send = ScheduledSend { name, at: due_at, input, target_arn: invocation.function_arn.clone() };
        self.scheduler.schedule(&send).await?;
        info!(due_at = %due_at, "scheduled");
        Ok(Outcome::Scheduled { message_id: record.message_id.clone(), due_at, cost: record.cost })
    }

    /// An email seen before: finish what is unfinished (sending, scheduling, a reply still
    /// due), and nothing else.
    async fn resume(
        &self,
        record: MessageRecord,
        letter: Option<Letter<'_>>,
        invocation: &Invocation,
    ) -> Result<Outcome, PipelineError> {
        info!(state = ?record.state, "seen before");
        match (record.state, record.reply, letter) {
            (MessageState::Scheduled, ..) => self.schedule(&record, invocation).await,
            (MessageState::Accepted, ..) => self.take_over(record, invocation).await,
            (MessageState::Rejected, Some(ReplyOutcome::Due), Some(letter)) => {
                let to = self.reply_address(letter);
                self.answer(record, to, letter, false).await
            }
            (MessageState::Sent | MessageState::PartiallyFailed | MessageState::Failed, ..) => {
                // Its follow-ups may not have been scheduled when the first attempt stopped.
                self.after_sending(&record, invocation).await?;
                Ok(Outcome::Duplicate { message_id: record.message_id, state: record.state })
            }
            (state, ..) => Ok(Outcome::Duplicate { message_id: record.message_id, state }),
        }
    }

    /// The schedule fired (or someone invoked its event): send the message once.
    #[tracing::instrument(skip_all, fields(message_id = %message_id))]
    pub(crate) async fn send_when_due(
        &self,
        message_id: &str,
        invocation: &Invocation,
    ) -> Result<Outcome, PipelineError> {
        match self.ledger.load(message_id).await? {
            Some(record) if !record.state.is_final() => self.take_over(record, invocation).await,
            record => {
                info!(state = ?record.map(|r| r.state), "nothing due");
                Ok(Outcome::NothingDue { message_id: message_id.to_owned() })
            }
        }
    }

    /// Takes the message's lease and delivers what is left. When another invocation holds it,
    /// fails with a retryable error: if the holder dies, the retry finishes the message.
    pub(crate) async fn take_over(
        &self,
        mut record: MessageRecord,
        invocation: &Invocation,
    ) -> Result<Outcome, PipelineError> {
        let lease = self.lease(invocation);
        if !self.ledger.take_lease(&record, &lease, (self.clock)()).await? {
            info!("another invocation holds the message");
            return Err(PipelineError::InProgress { message_id: record.message_id });
        }
        record.state = MessageState::Accepted;
        record.lease_owner = Some(lease.owner.clone());
        record.lease_until = Some(lease.until.timestamp());
        record.lease_attempt = Some(lease.attempt.clone());
        self.deliver(record, &lease, false, None, invocation).await
    }

    /// Records the refusal and, when the sender may be answered, answers.
    async fn reject(
        &self,
        message_id: &str,
        letter: Letter<'_>,
        rejection: Rejection,
        login: Option<String>,
        received_at: DateTime<Utc>,
        invocation: &Invocation,
    ) -> Result<Outcome, PipelineError> {
        info!(status = rejection.status.code(), "rejected");
        let mut record = MessageRecord::rejected(message_id, received_at, &rejection);
        record.login = login;
        self.record_refusal(record, letter, invocation).await
    }

    /// Records a refusal (a record made by [`MessageRecord::rejected`]) and, when the sender may
    /// be answered, answers.
    async fn record_refusal(
        &self,
        mut record: MessageRecord,
        letter: Letter<'_>,
        invocation: &Invocation,
    ) -> Result<Outcome, PipelineError> {
        let to = self.reply_address(letter);
        record.reply = Some(if to.is_ok() { ReplyOutcome::Due } else { ReplyOutcome::Skipped });
        if let Err(reason) = &to {
            record.reply_skipped = serde_json::to_value(reason).ok().and_then(|v| v.as_str().map(str::to_owned));
        }
        match self.ledger.open(&record, None).await? {
            Opening::Opened => self.answer(record, to, letter, true).await,
            Opening::Exists(existing) => self.resume(*existing, Some(letter), invocation).await,
            Opening::UnknownAccount | Opening::InsufficientCredits { .. } | Opening::OptedOut(_) => {
                unreachable!("no debit was asked")
            }
        }
    }

    /// Where the reply to this email goes, if anywhere.
    fn reply_address(&self, letter: Letter<'_>) -> ReplyTo {
        reply_to(letter.mail, letter.authentication, self.settings.reply_require_auth, &self.settings.reply_from)
    }

    /// Sends the reply a refused email's record says is due, and records that it went. A send
    /// SES did not take fails the invocation, so that Lambda's retry sends it (the record still
    /// says `Due`); `first` says whether this reply still counts against the hourly cap.
    async fn answer(
        &self,
        mut record: MessageRecord,
        to: ReplyTo,
        letter: Letter<'_>,
        first: bool,
    ) -> Result<Outcome, PipelineError> {
        let status = record.status.unwrap_or(StatusCode::InvalidRequest);
        let rejected = |reply| Outcome::Rejected { message_id: record.message_id.clone(), status, reply };
        let Ok(to) = to else { return Ok(rejected(ReplyOutcome::Skipped)) };
        if first && !self.ledger.count_reply(&to, record.received_at, self.settings.reply_limit_per_hour).await? {
            record.reply = Some(ReplyOutcome::RateLimited);
            self.ledger.note_reply(&record).await?;
            return Ok(rejected(ReplyOutcome::RateLimited));
        }
        let rejection = Rejection { status, status_text: record.status_text.clone().unwrap_or_default() };
        let secrets: Vec<&str> = letter.key.iter().map(|key| key.expose()).collect();
        let reply = error_reply(&to, letter.mail.message_id.as_deref(), &rejection, &secrets);
        let outcome =
            self.send_answer(&to, reply.to_mime(&self.settings.reply_from, (self.clock)()), "error reply").await?;
        record.reply = Some(outcome);
        self.ledger.note_reply(&record).await?;
        Ok(rejected(outcome))
    }

    /// Hands an answer (`what`: an error reply, a receipt) to SES. One SES refused for good is
    /// `Failed`; one it did not take fails the invocation, so that Lambda's retry sends it.
    pub(crate) async fn send_answer(&self, to: &str, mime: Vec<u8>, what: &str) -> Result<ReplyOutcome, PipelineError> {
        match self.mailer.send_raw(to, mime).await {
            Ok(()) => Ok(ReplyOutcome::Sent),
            Err(error @ PortError::Refused { .. }) => {
                warn!(error = %mask_numbers_in(&error.to_string()), "{what} refused for good");
                Ok(ReplyOutcome::Failed)
            }
            Err(error) => {
                warn!(error = %mask_numbers_in(&error.to_string()), "{what} not sent; left for the retry");
                Err(error.into())
            }
        }
    }

    async fn discard(&self, record: MessageRecord) -> Result<Outcome, PipelineError> {
        let reason = record.discard.unwrap_or(Discard::NotAnEmail);
        info!(?reason, "dropped");
        Ok(match self.ledger.open(&record, None).await? {
            Opening::Exists(existing) => Outcome::Duplicate { message_id: record.message_id, state: existing.state },
            _ => Outcome::Dropped { message_id: record.message_id, reason },
        })
    }

    /// A lease for this attempt: held until the invocation's deadline.
    fn lease(&self, invocation: &Invocation) -> Lease {
        Lease {
            owner: invocation.request_id.clone(),
            until: invocation.deadline,
            attempt: format!("{:016x}", rand::random::<u64>()),
        }
    }

    // ----- authorised senders -----

    /// Who asks, by the [`AuthMode`](crate::domain::account::AuthMode) of the account:
    /// - a subject with `login@apiKey` opens the account of that login when the key is its key
    ///   and, unless its mode is `key`, the From is authenticated (aligned, see
    ///   [`Authentication`]) and allowed by the account ([`Account::admits_from`]);
    /// - a subject without it (no `@` in its first field) opens the account that allows its
    ///   From, when the From is authenticated and that account's mode is `sender`
    ///   ([`Account::admits_sender`]); its subject is then read as `numbers|option=value…`
    ///   ([`parse_unsigned_subject`](crate::domain::request::parse_unsigned_subject)).
    ///
    /// Anything else is 102, the same answer whatever did not match. With a login, the same
    /// work is done whether it exists or not: the account is read whenever the login is
    /// possible, and the key's hash is computed and compared in constant time even when there
    /// is no account. Only an email the ledger's recent copy of the account admits skips the
    /// read ([`Ledger::cached_account`]; the debit checks key and suspension again, see
    /// [`crate::account_cache`]): a copy that does not admit it is never the answer. Without
    /// a login, only the sender's own authenticated address is looked up: no login is named,
    /// none can be learnt.
    ///
    /// [`Account::admits_from`]: crate::domain::account::Account::admits_from
    /// [`Account::admits_sender`]: crate::domain::account::Account::admits_sender
    async fn who_asks(
        &self,
        mail: &InboundMail,
        authentication: &Authentication,
        credentials: Result<Credentials, Rejection>,
        request: Result<Request, Rejection>,
    ) -> Result<Asking, PipelineError> {
        let sender = mail.from.address().filter(|_| authentication.is_authenticated());
        let nobody = Rejection::new(StatusCode::AuthenticationFailed);
        let credentials = match credentials {
            Ok(credentials) => credentials,
            Err(rejection) if rejection.status == StatusCode::AuthenticationFailed => {
                let Some(sender) = sender else { return Ok(Err(nobody)) };
                return Ok(match self.ledger.account_for_sender(sender).await? {
                    Some(account) if account.admits_sender(sender) => {
                        let subject = mail.subject.as_deref().unwrap_or_default();
                        Ok(Box::new((account, crate::domain::request::parse_unsigned_subject(subject))))
                    }
                    _ => Err(nobody),
                });
            }
            Err(rejection) => return Ok(Err(rejection)),
        };
        if !is_possible_login(&credentials.login) {
            return Ok(Err(nobody));
        }
        // A recent copy of the account may admit the email (the debit checks the key and the
        // suspension again); it never refuses it: the account is then read afresh.
        let recent = self.ledger.cached_account(&credentials.login).filter(|a| a.admits_from(&credentials, sender));
        let account = match recent {
            Some(account) => Some(account),
            None => self.ledger.account(&credentials.login).await?,
        };
        Ok(match account {
            Some(account) if account.admits_from(&credentials, sender) => {
                Ok(Box::new((account, request.map(UnsignedRequest::from))))
            }
            Some(_) => Err(nobody),
            None => {
                // No account: the key's hash is computed all the same, as for a wrong key.
                std::hint::black_box(credentials.api_key.sha256_hex());
                Err(nobody)
            }
        })
    }

    // -----------------------------------------------------------------------------------------
    // The customer space's sends (issue #12): a form instead of an email
    // -----------------------------------------------------------------------------------------

    /// An SMS a signed-in customer typed in the customer space. The session is the credential
    /// (the account is given, as [`Gateway::who_asks`] gives it for an email); `request` is the
    /// form read as the manual's subject without `login@apiKey` (see
    /// [`parse_unsigned_subject`](crate::domain::request::parse_unsigned_subject)) and `text` is
    /// read as an email's body. From there it is an email: the same checks in the same order,
    /// the same debit and record (under `message_id`), sent now or scheduled. Nobody is answered
    /// by email (the typed message has no From): the page shows the outcome.
    pub async fn send_typed(
        &self,
        message_id: &str,
        account: crate::domain::account::Account,
        request: Result<UnsignedRequest, Rejection>,
        text: &str,
        invocation: &Invocation,
    ) -> Result<Outcome, PipelineError> {
        let received_at = (self.clock)();
        let too_long = text.len() > crate::mail::MAX_BODY_BYTES;
        let mail = InboundMail {
            body: Some(truncated(text, crate::mail::MAX_BODY_BYTES)),
            body_too_long: too_long,
            ..InboundMail::default()
        };
        let authentication = Authentication::default();
        let letter = Letter { mail: &mail, authentication: &authentication, key: None };
        match self.read_request(message_id, &mail, Ok(Box::new((account, request))), received_at).await? {
            Reading::Order(order) if order.dry_run.is_some() => self.preview(*order, letter, invocation).await,
            Reading::Order(order) => self.accept(*order, letter, None, invocation).await,
            Reading::Refused(rejection, login) => {
                self.reject(message_id, letter, rejection, login, received_at, invocation).await
            }
        }
    }

    // ----- opt-outs -----

    /// Opens the order's record and debits it, first taking out the recipients that are on an
    /// opt-out list, the account's or the gateway's (the ledger checks them in the debit's own
    /// step, see [`Ledger::open`]): each becomes `opted_out`, is left out of the cost and never
    /// sent, and the opening is tried again without them; `claims` refills the sending window
    /// (a message sent now). `None`, having written nothing, when no recipient is left.
    async fn open_without_opt_outs(
        &self,
        record: &mut MessageRecord,
        debit: &mut Debit,
        claims: bool,
    ) -> Result<Option<Opening>, PipelineError> {
        loop {
            let listed = match self.ledger.open(record, Some(debit)).await? {
                Opening::OptedOut(listed) => listed,
                opened => return Ok(Some(opened)),
            };
            let marked = record.opt_out(&listed);
            info!(opted_out = marked, left = record.chargeable(), "numbers on an opt-out list left out, not charged");
            if marked == 0 {
                // Each round takes a recipient out: a ledger that names none would loop.
                return Err(PortError::Refused {
                    service: "ledger",
                    message: "opt-out lists name no recipient still to be charged".to_owned(),
                }
                .into());
            }
            if record.chargeable() == 0 {
                return Ok(None);
            }
            if claims {
                self.claim(record, self.window().saturating_sub(record.count(Delivery::Sending)));
            }
            debit.credits = record.cost;
        }
    }

    /// Leaves out the recipients still to be sent of a debited message that are now on the
    /// account's opt-out list or the gateway's (a STOP since it was scheduled): they become
    /// `opted_out`, and the caller refunds them. Returns their positions.
    async fn leave_out_new_opt_outs(&self, record: &mut MessageRecord) -> Result<Vec<usize>, PipelineError> {
        let Some(login) = record.login.clone() else { return Ok(Vec::new()) };
        if record.count(Delivery::Pending) == 0 {
            return Ok(Vec::new());
        }
        let listed = self.ledger.opted_out(&login, record).await?;
        let left_out = record.leave_out_opted_out(&listed);
        if !left_out.is_empty() {
            info!(
                opted_out = left_out.len(),
                "numbers on an opt-out list since the message was accepted left out, refunded"
            );
        }
        Ok(left_out)
    }

    /// Every number of the email is on an opt-out list: 114, saying so. The record keeps its
    /// recipients, each `opted_out`; nothing is debited.
    async fn reject_opted_out(
        &self,
        accepted: MessageRecord,
        letter: Letter<'_>,
        invocation: &Invocation,
    ) -> Result<Outcome, PipelineError> {
        let rejection = Rejection::all_opted_out();
        info!(
            status = rejection.status.code(),
            recipients = accepted.recipients.len(),
            "rejected: every number opted out"
        );
        let mut record = MessageRecord::rejected(&accepted.message_id, accepted.received_at, &rejection);
        record.login = accepted.login;
        record.recipients = accepted.recipients;
        // One record holds so many; a larger email's refusal keeps its first ones.
        record.recipients.truncate(MAX_RECORD_RECIPIENTS);
        record.dropped = accepted.dropped;
        record.dropped_count = accepted.dropped_count;
        self.record_refusal(record, letter, invocation).await
    }

    /// Puts the numbers a provider refused as opted out on the gateway's list, so that no
    /// account is charged for them again. Their refusal is recorded and refunded already: a
    /// list that cannot be written now is logged, not retried (the provider keeps refusing the
    /// number, and each refusal is refunded).
    async fn list_provider_opt_outs(&self, opted_out: &[(Recipient, &'static str)]) {
        for (number, provider) in opted_out {
            let entry = OptOut::from_provider(number.clone(), provider, (self.clock)());
            match self.ledger.add_opt_out(&entry).await {
                Ok(added) => info!(to = %number.masked(), provider, added, "on the gateway's opt-out list"),
                Err(error) => {
                    warn!(to = %number.masked(), error = %mask_numbers_in(&error.to_string()), "not put on the gateway's opt-out list")
                }
            }
        }
    }

    // ----- contact lists -----

    /// Adds the numbers of the contact lists the subject names (`#clients`), `owner`'s own, after
    /// the subject's numbers, each number once whichever list or the subject named it first; an
    /// unknown list refuses the email (109, naming it). It stops reading lists once there are
    /// more numbers than an email may have: the email is refused for that next (the count it
    /// then gives is the numbers read so far). Opt-out lists apply to a list's numbers at the
    /// debit, as to the subject's.
    async fn expand_lists(
        &self,
        owner: &str,
        lists: &[ListName],
        recipients: &mut Recipients,
    ) -> Result<Result<(), Rejection>, PipelineError> {
        if lists.is_empty() {
            return Ok(Ok(()));
        }
        let mut seen: HashSet<Recipient> = recipients.valid.iter().cloned().collect();
        for name in lists {
            if recipients.valid.len() > MAX_RECIPIENTS {
                break;
            }
            let Some(numbers) = self.ledger.contact_list(owner, name).await? else {
                info!(list = %name, "rejected: no such contact list");
                return Ok(Err(unknown_list(name)));
            };
            info!(list = %name, numbers = numbers.len(), "contact list read");
            for number in numbers {
                if seen.insert(number.clone()) {
                    recipients.valid.push(number);
                }
            }
        }
        if recipients.valid.is_empty() {
            return Ok(Err(Rejection::new(StatusCode::NoValidRecipient)));
        }
        Ok(Ok(()))
    }
}
