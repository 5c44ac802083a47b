//! What the gateway remembers of each email it received: the record that makes processing
//! idempotent (keyed by the SES message id), resumable after a crash, and readable by the
//! operator.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use super::date::When;
use super::delivery::{DeliveryReport, SETTLE_AFTER};
use super::hours::{Hold, HoldReason};
use super::optout::OptOutList;
use super::recipient::{DroppedNumber, Recipient};
use super::segments::{Encoding, Segments};
use super::sender::SenderId;
use super::status::{Rejection, StatusCode};

/// Where an email stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    /// Credits debited; some recipients are still to be sent.
    Accepted,
    /// Credits debited; waiting for its date.
    Scheduled,
    /// Every recipient was sent.
    Sent,
    /// Some recipients were sent, others failed or are in doubt.
    PartiallyFailed,
    /// No recipient was sent.
    Failed,
    /// Refused with a status code (answered by email when the sender may be answered).
    Rejected,
    /// Not processed at all: not an email, spam or virus.
    Dropped,
    /// A scheduled message the operator cancelled; its credits were refunded.
    Cancelled,
    /// A large email handed over in parts: each part's record tells its recipients' fates.
    InParts,
    /// A dry run (`dryrun` in the subject): every check made, nothing sent, nothing debited, a
    /// preview answered by email. Neither sent nor rejected; final from the start.
    Previewed,
}

impl MessageState {
    /// Nothing more will happen to a message in this state.
    pub fn is_final(self) -> bool {
        !matches!(self, MessageState::Accepted | MessageState::Scheduled)
    }
}

/// Where one recipient's SMS stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Pending,
    /// Handed to the provider by an invocation that has not yet said how it went. Found so
    /// after a crash, it becomes [`Delivery::Unknown`]: it is never sent a second time.
    Sending,
    Sent,
    /// Refused for good by the provider; its credits were refunded.
    Failed,
    /// It may or may not have gone out: the invocation sending it died, or the provider's
    /// answer was lost. It is never re-sent blindly: a delivery event settles it, or, when none
    /// comes within the in-doubt window, the deployment's policy (resend once, or refund).
    Unknown,
    /// The provider says the phone got it.
    Delivered,
    /// The provider gave up on it within its validity period.
    Expired,
    /// The provider took it, and the carrier never said what became of it (72 hours passed).
    Unconfirmed,
    /// On the account's opt-out list or the gateway's when the email was accepted: never sent,
    /// never charged (the message's cost leaves it out). Final from the start.
    OptedOut,
}

/// The longest provider message id and the longest provider error kept in a recipient's
/// record, in bytes: they bound the record's size (see [`MAX_RECIPIENTS`]).
pub const MAX_PROVIDER_ID_BYTES: usize = 64;
pub const MAX_ERROR_BYTES: usize = 120;

/// The longest email Message-ID kept for threading a receipt (RFC 5322 sets no limit; the
/// line-length limit makes longer ones rare). Longer ones are not kept.
pub const MAX_MAIL_MESSAGE_ID_BYTES: usize = 250;

/// The longest address answers by SMS are forwarded to (an SMTP path's limit): a longer one is
/// not kept, and the answers are not forwarded.
pub const MAX_ANSWERS_TO_BYTES: usize = 254;

/// The most recipients one record holds. DynamoDB refuses items over 400 KB: with each
/// recipient's fields at their longest, this many still fit with room to spare (a test in the
/// DynamoDB adapter computes the worst case). An email with up to this many recipients is one
/// record, sent by the invocation that accepts it.
pub const MAX_RECORD_RECIPIENTS: usize = 1_000;

/// The most recipients one email may name, its contact lists expanded. An email with more than
/// [`MAX_RECORD_RECIPIENTS`] is sent in parts (see [`MessageRecord::split_into_parts`]).
pub const MAX_RECIPIENTS: usize = 10_000;

/// The recipients of one part of a large email: one queue message, one invocation, a few
/// seconds of sending at the provider's rate.
pub const PART_RECIPIENTS: usize = 250;

/// A large email, sent in parts: its recipients live in the parts' records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FanOut {
    /// How many parts: their ids are [`part_id`]`(message_id, 0..parts)`.
    pub parts: usize,
    /// The recipients of all the parts, opted-out ones included.
    pub recipients: usize,
}

/// The id of a large email's part number `index` (from 0). Parts sort after their message and
/// in their order; the id keeps to the characters of a schedule's name.
pub fn part_id(message_id: &str, index: usize) -> String {
    format!("{message_id}-p{:03}", index + 1)
}

/// `text` cut to at most `max` bytes, on a character boundary.
pub fn truncated(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientRecord {
    pub number: Recipient,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<SenderId>,
    pub delivery: Delivery,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The provider's last word on this SMS (see [`super::delivery`]): stored apart from
    /// `delivery`, which only the sending invocation writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<DeliveryReport>,
    /// It was in doubt and sent once more (it is never sent a third time).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resent: bool,
}

impl RecipientRecord {
    /// A recipient not yet sent.
    pub fn pending(number: Recipient, sender: Option<SenderId>) -> RecipientRecord {
        RecipientRecord {
            number,
            sender,
            delivery: Delivery::Pending,
            provider_id: None,
            error: None,
            report: None,
            resent: false,
        }
    }

    /// Where the recipient's story stands: the furthest of what the sender and the provider said.
    pub fn fate(&self) -> Delivery {
        match &self.report {
            Some(report) if report.delivery.rank() > self.delivery.rank() => report.delivery,
            _ => self.delivery,
        }
    }

    /// Its fate as told to the customer: once the message is closed (every fate known, or 72
    /// hours passed), what is still open is unknown.
    pub fn told_fate(&self, closed: bool) -> Delivery {
        match self.fate() {
            fate if closed && !fate.is_final() => Delivery::Unknown,
            fate => fate,
        }
    }

    /// Why it failed or is in doubt: the provider's words when it gave some, else the sender's.
    pub fn reason(&self) -> Option<&str> {
        self.report.as_ref().and_then(|report| report.reason.as_deref()).or(self.error.as_deref())
    }

    /// Its parts went back to the account: refused by the provider at sending, settled by the
    /// operator or the in-doubt window, or reported failed.
    pub fn was_refunded(&self) -> bool {
        self.delivery == Delivery::Failed || self.report.as_ref().is_some_and(|report| report.refunded)
    }

    /// In doubt (`unknown`) and never reported by a provider since: the in-doubt follow-up's or
    /// the operator's to settle, by sending it once more or refunding it. One a provider reported
    /// has its fate from the report, and is left alone.
    pub fn is_in_doubt(&self) -> bool {
        self.delivery == Delivery::Unknown && self.report.is_none()
    }
}

/// Why an email was dropped without an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Discard {
    NotAnEmail,
    Spam,
    Virus,
    TooLarge,
    /// DMARC failed and the From's domain publishes `p=reject` or `p=quarantine`: a forgery
    /// its owner asks receivers to refuse (see [`Authentication::fails_enforced_dmarc`]).
    ///
    /// [`Authentication::fails_enforced_dmarc`]: crate::mail::Authentication::fails_enforced_dmarc
    FailedDmarc,
}

/// What became of the error reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyOutcome {
    /// To be sent: recorded before the reply goes out, and changed to `Sent` once SES took it.
    /// A record still `Due` is answered by the retry (replies are at least once).
    Due,
    Sent,
    /// The sender may not be answered (robot, list, unauthenticated…): see `reply_skipped`.
    Skipped,
    /// The sender already had their hourly share of replies.
    RateLimited,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub message_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    pub state: MessageState,
    #[serde(with = "sortable_time")]
    pub received_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discard: Option<Discard>,
    /// The SMS text, kept until every recipient is settled, then removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<Encoding>,
    #[serde(default)]
    pub parts: u32,
    /// Credits debited.
    #[serde(default)]
    pub cost: u64,
    /// Credits given back (recipients the provider refused, a cancelled schedule).
    #[serde(default)]
    pub refunded: u64,
    #[serde(default)]
    pub recipients: Vec<RecipientRecord>,
    /// The first numbers of the subject that were refused (see
    /// [`DROPPED_LISTED`](super::recipient::DROPPED_LISTED)) …
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<DroppedNumber>,
    /// … and how many were refused in all, listed or not.
    #[serde(default)]
    pub dropped_count: usize,
    /// When a scheduled message is due, and the local time the customer wrote.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "sortable_time::option")]
    pub due_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_name: Option<String>,
    /// When a scheduled message was cancelled (by the operator or its customer), its cost
    /// refunded.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "sortable_time::option")]
    pub cancelled_at: Option<DateTime<Utc>>,
    // ----- marketing hours -----
    /// Why the message waits past the time it was due, and that time (its `due_at` is when it
    /// goes): a commercial message held to the French marketing hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<Hold>,
    /// When the last recipient was handed over (or refused): sending is over.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "sortable_time::option")]
    pub settled_at: Option<DateTime<Utc>>,
    /// When every recipient's fate was final, or [`SETTLE_AFTER`] had passed since sending:
    /// the moment of the delivery receipt.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "sortable_time::option")]
    pub closed_at: Option<DateTime<Utc>>,
    /// The email's own Message-ID, for threading the receipt under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail_message_id: Option<String>,
    /// Where the delivery receipt goes (an authenticated sender of an account that wants
    /// receipts), and what became of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<ReplyOutcome>,
    /// Where the recipients' answers by SMS are forwarded (two-way SMS, see
    /// [`crate::domain::answer`]): the sender the gateway may answer, as for the receipt, kept
    /// only when two-way SMS is on; at most [`MAX_ANSWERS_TO_BYTES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answers_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<ReplyOutcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_skipped: Option<String>,
    /// Who is working on the message and until when (epoch seconds): one invocation at a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<i64>,
    /// The attempt holding the lease (random per attempt; it tells an attempt's own write, answered
    /// late and repeated by the SDK, from an earlier attempt's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_attempt: Option<String>,
    /// How many checkpoints were written: each one applies only on top of the one before, so a
    /// write repeated after its answer was lost applies nothing twice.
    #[serde(default)]
    pub checkpoints: u64,
    // ----- large emails -----
    /// A large email's parts: its own recipients are empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fan_out: Option<FanOut>,
    /// The large email this record is a part of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_of: Option<String>,
    /// When DynamoDB may forget the record (epoch seconds).
    pub expires_at: i64,
}

/// How long a record is kept: past the furthest schedule (365 days) with a month to spare.
pub const RETENTION_DAYS: i64 = 400;

impl MessageRecord {
    /// A record with nothing decided yet. Times are kept to the millisecond, as stored.
    pub fn new(message_id: &str, received_at: DateTime<Utc>) -> MessageRecord {
        let received_at = received_at.trunc_subsecs(3);
        MessageRecord {
            message_id: message_id.to_owned(),
            login: None,
            state: MessageState::Accepted,
            received_at,
            status: None,
            status_text: None,
            discard: None,
            text: None,
            encoding: None,
            parts: 0,
            cost: 0,
            refunded: 0,
            recipients: Vec::new(),
            dropped: Vec::new(),
            dropped_count: 0,
            due_at: None,
            local_date: None,
            timezone: None,
            schedule_name: None,
            cancelled_at: None,
            held: None,
            settled_at: None,
            closed_at: None,
            mail_message_id: None,
            receipt_to: None,
            receipt: None,
            answers_to: None,
            reply: None,
            reply_skipped: None,
            lease_owner: None,
            lease_until: None,
            lease_attempt: None,
            checkpoints: 0,
            fan_out: None,
            part_of: None,
            expires_at: (received_at + chrono::Duration::days(RETENTION_DAYS)).timestamp(),
        }
    }

    /// An email that passed every check: its recipients, its text and what it costs, to be
    /// sent now (`Accepted`) or when it is due (`Scheduled`, with its schedule's name).
    pub fn accepted(
        message_id: &str,
        received_at: DateTime<Utc>,
        login: &str,
        recipients: Vec<RecipientRecord>,
        text: String,
        segments: Segments,
        when: When,
    ) -> MessageRecord {
        let mut record = MessageRecord {
            login: Some(login.to_owned()),
            parts: segments.parts,
            encoding: Some(segments.encoding),
            cost: u64::from(segments.parts)
                * recipients.iter().filter(|r| r.delivery != Delivery::OptedOut).count() as u64,
            recipients,
            text: Some(text),
            ..MessageRecord::new(message_id, received_at)
        };
        if let When::At { due, local, zone } = when {
            record.state = MessageState::Scheduled;
            record.due_at = Some(due);
            record.local_date = Some(local.format("%Y-%m-%d %H:%M:%S").to_string());
            record.timezone = Some(zone.name().to_owned());
            record.schedule_name = Some(schedule_name(message_id));
        }
        record
    }

    pub fn rejected(message_id: &str, received_at: DateTime<Utc>, rejection: &Rejection) -> MessageRecord {
        MessageRecord {
            state: MessageState::Rejected,
            status: Some(rejection.status),
            status_text: Some(rejection.status_text.clone()),
            ..MessageRecord::new(message_id, received_at)
        }
    }

    pub fn dropped(message_id: &str, received_at: DateTime<Utc>, discard: Discard) -> MessageRecord {
        MessageRecord {
            state: MessageState::Dropped,
            discard: Some(discard),
            ..MessageRecord::new(message_id, received_at)
        }
    }

    /// The state the recipients' deliveries add up to: still `Accepted` while any is open.
    pub fn settled_state(&self) -> MessageState {
        let open = self.recipients.iter().any(|r| matches!(r.delivery, Delivery::Pending | Delivery::Sending));
        let sent = self.recipients.iter().filter(|r| r.delivery.was_taken()).count();
        if open {
            MessageState::Accepted
        } else if sent == self.chargeable() {
            MessageState::Sent
        } else if sent == 0 {
            MessageState::Failed
        } else {
            MessageState::PartiallyFailed
        }
    }

    /// How many recipients the sender left in `delivery`.
    pub fn count(&self, delivery: Delivery) -> usize {
        self.recipients.iter().filter(|r| r.delivery == delivery).count()
    }

    /// How many recipients' fates are `delivery`, as of now.
    pub fn count_fates(&self, delivery: Delivery) -> usize {
        self.recipients.iter().filter(|r| r.fate() == delivery).count()
    }

    /// Every recipient's fate is final: the message can be closed and its receipt sent.
    pub fn all_final(&self) -> bool {
        self.state.is_final() && self.recipients.iter().all(|r| r.fate().is_final())
    }

    /// When the message is closed whatever its open recipients: [`SETTLE_AFTER`] after sending.
    pub fn close_by(&self) -> Option<DateTime<Utc>> {
        self.settled_at.map(|sent| sent + SETTLE_AFTER)
    }

    /// The message is closed, or due to be at `now`.
    pub fn is_closed(&self, now: DateTime<Utc>) -> bool {
        self.closed_at.is_some() || self.all_final() || self.close_by().is_some_and(|by| now >= by)
    }
}

// ----- large emails -----
impl MessageRecord {
    /// Whether the record's recipients are too many for one record and go in parts.
    pub fn needs_parts(&self) -> bool {
        self.recipients.len() > MAX_RECORD_RECIPIENTS
    }

    /// Splits an accepted message's recipients into parts of at most [`PART_RECIPIENTS`], in
    /// their order: each part is a record of its own, with the text, the state (accepted or
    /// scheduled), the sender's choices and its share of the cost, and no schedule, receipt or
    /// lease of its own. The record itself keeps the whole cost, the counts and the schedule,
    /// and loses its recipients and its text.
    pub fn split_into_parts(&mut self) -> Vec<MessageRecord> {
        let recipients = std::mem::take(&mut self.recipients);
        let chunks = recipients.chunks(PART_RECIPIENTS);
        let count = chunks.len();
        let parts = chunks
            .enumerate()
            .map(|(index, chunk)| {
                let charged = chunk.iter().filter(|r| r.delivery != Delivery::OptedOut).count() as u64;
                let id = part_id(&self.message_id, index);
                MessageRecord {
                    login: self.login.clone(),
                    state: self.state,
                    received_at: self.received_at,
                    text: self.text.clone(),
                    encoding: self.encoding,
                    parts: self.parts,
                    cost: u64::from(self.parts) * charged,
                    recipients: chunk.to_vec(),
                    due_at: self.due_at,
                    local_date: self.local_date.clone(),
                    timezone: self.timezone.clone(),
                    held: self.held,
                    part_of: Some(self.message_id.clone()),
                    expires_at: self.expires_at,
                    ..MessageRecord::new(&id, self.received_at)
                }
            })
            .collect();
        self.fan_out = Some(FanOut { parts: count, recipients: recipients.len() });
        self.text = None;
        // The parts' records are the ones a receipt would read; a large email gets none.
        self.receipt_to = None;
        parts
    }

    /// The ids of a large email's parts (none for any other record).
    pub fn part_ids(&self) -> Vec<String> {
        let parts = self.fan_out.map_or(0, |fan_out| fan_out.parts);
        (0..parts).map(|index| part_id(&self.message_id, index)).collect()
    }
}

// ----- dry run -----
impl MessageRecord {
    /// The record of a dry run of `planned` (the record the real send would have opened): its
    /// login, parts, encoding and the numbers its subject dropped and, when the real send would
    /// be refused (104, or 114 for numbers that all opted out), that refusal's status and text.
    /// No recipient, no text, no cost, no schedule: nothing in it is ever sent, debited, or on
    /// its way.
    pub fn previewed(planned: &MessageRecord, refusal: Option<&Rejection>) -> MessageRecord {
        MessageRecord {
            state: MessageState::Previewed,
            login: planned.login.clone(),
            status: refusal.map(|refusal| refusal.status),
            status_text: refusal.map(|refusal| refusal.status_text.clone()),
            encoding: planned.encoding,
            parts: planned.parts,
            dropped: planned.dropped.clone(),
            dropped_count: planned.dropped_count,
            ..MessageRecord::new(&planned.message_id, planned.received_at)
        }
    }
}

// ----- marketing hours -----
impl MessageRecord {
    /// Holds a message that passed every check until `until`, for `reason`: it becomes
    /// `Scheduled` like a `date=` message (debited at acceptance, sent by its schedule,
    /// cancellable), and the record keeps why and when it was due (its `date=`, or when it was
    /// received). The local date the customer wrote, if any, is kept as written.
    pub fn hold(&mut self, until: DateTime<Utc>, reason: HoldReason) {
        let original_due_at = self.due_at.unwrap_or(self.received_at);
        self.held = Some(Hold { reason, original_due_at });
        self.state = MessageState::Scheduled;
        self.due_at = Some(until);
        self.schedule_name = Some(schedule_name(&self.message_id));
    }
}

// ----- opt-outs -----
impl MessageRecord {
    /// How many recipients are to be sent and paid for: all but the opted-out ones.
    pub fn chargeable(&self) -> usize {
        self.recipients.iter().filter(|r| r.delivery != Delivery::OptedOut).count()
    }

    /// Marks the recipients of `listed` opted out (never sent, never charged), each with the
    /// list it is on as its note, and takes them out of the cost. A recipient already handed
    /// to the provider (sent, failed, in doubt) is left as it is: only one still to be sent
    /// (`pending`, or claimed before the debit) can be. Returns how many were marked.
    pub fn opt_out(&mut self, listed: &[(Recipient, OptOutList)]) -> usize {
        let marked = self.leave_out_opted_out(listed).len();
        self.cost = u64::from(self.parts) * self.chargeable() as u64;
        marked
    }

    /// Marks `opted_out` the recipients still to be sent that are on `listed`, and returns
    /// their positions; the cost is left as it is (a message debited already refunds them).
    pub fn leave_out_opted_out(&mut self, listed: &[(Recipient, OptOutList)]) -> Vec<usize> {
        let mut marked = Vec::new();
        for (index, recipient) in self.recipients.iter_mut().enumerate() {
            let Some((_, list)) = listed.iter().find(|(number, _)| *number == recipient.number) else { continue };
            if matches!(recipient.delivery, Delivery::Pending | Delivery::Sending) {
                recipient.delivery = Delivery::OptedOut;
                recipient.error = Some(list.note().to_owned());
                marked.push(index);
            }
        }
        marked
    }
}

// ----- recipients in doubt -----
impl MessageRecord {
    /// The positions of the recipients in doubt (see [`RecipientRecord::is_in_doubt`]): the ones
    /// the in-doubt follow-up and the operator's `settle` may send once more or refund.
    pub fn in_doubt(&self) -> Vec<usize> {
        (0..self.recipients.len()).filter(|&index| self.recipients[index].is_in_doubt()).collect()
    }

    /// Whether the text is still needed once the recipients at `settled` are settled without
    /// sending anyone again: while the message is not final (recipients still to send), or while
    /// another recipient is still in doubt (it may yet be sent once more).
    pub fn needs_text_after_settling(&self, settled: &[usize]) -> bool {
        !self.state.is_final() || self.in_doubt().iter().any(|index| !settled.contains(index))
    }
}

/// The schedule of a message: named after its SES message id, so a second delivery of the
/// email finds it already there. At most 64 characters of `[0-9A-Za-z-_.]`.
pub fn schedule_name(message_id: &str) -> String {
    prefixed_schedule_name("mail2sms-", message_id)
}

/// `prefix` followed by as much of the message id as a schedule name holds: at most 64
/// characters of `[0-9A-Za-z-_.]` (`prefix` is written by the gateway, of those characters).
pub fn prefixed_schedule_name(prefix: &str, message_id: &str) -> String {
    let clean: String = message_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(64usize.saturating_sub(prefix.len()))
        .collect();
    format!("{prefix}{clean}")
}

/// Timestamps as fixed-width RFC 3339 in UTC with milliseconds, so that their text sorts as
/// their time does (the messages index sorts on `received_at`).
pub mod sortable_time {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn format(time: &DateTime<Utc>) -> String {
        time.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    pub fn serialize<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format(time))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text).map(|t| t.with_timezone(&Utc)).map_err(serde::de::Error::custom)
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(time: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
            match time {
                Some(time) => serializer.serialize_some(&format(time)),
                None => serializer.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error> {
            Option::<String>::deserialize(deserializer)?
                .map(|text| DateTime::parse_from_rfc3339(&text).map(|t| t.with_timezone(&Utc)))
                .transpose()
                .map_err(serde::de::Error::custom)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn record(deliveries: &[Delivery]) -> MessageRecord {
        let mut record = MessageRecord::new("m", Utc::now());
        record.recipients = deliveries
            .iter()
            .enumerate()
            .map(|(i, &delivery)| RecipientRecord {
                delivery,
                ..RecipientRecord::pending(Recipient::parse_e164(&format!("+3361234567{i}")).unwrap(), None)
            })
            .collect();
        record
    }

    fn large(count: usize, opted_out: &[usize]) -> MessageRecord {
        let mut record = MessageRecord::new("m", Utc::now());
        record.login = Some("shop".into());
        record.parts = 2;
        record.text = Some("Bonjour".into());
        record.recipients = (0..count)
            .map(|i| {
                let number = Recipient::parse_e164(&format!("+447900{i:06}")).unwrap();
                let delivery = if opted_out.contains(&i) { Delivery::OptedOut } else { Delivery::Pending };
                RecipientRecord { delivery, ..RecipientRecord::pending(number, None) }
            })
            .collect();
        record.cost = 2 * (count - opted_out.len()) as u64;
        record.receipt_to = Some("shop@example.com".into());
        record
    }

    #[test]
    fn a_record_holds_up_to_its_limit_and_a_larger_email_goes_in_parts() {
        assert!(!large(MAX_RECORD_RECIPIENTS, &[]).needs_parts());
        assert!(large(MAX_RECORD_RECIPIENTS + 1, &[]).needs_parts());
    }

    #[test]
    fn parts_keep_the_recipients_in_order_each_once_with_their_share_of_the_cost() {
        let mut head = large(1_001, &[3, 1_000]);
        let whole = head.clone();
        let parts = head.split_into_parts();

        assert_eq!(parts.len(), 5);
        assert_eq!(head.fan_out, Some(FanOut { parts: 5, recipients: 1_001 }));
        assert!(head.recipients.is_empty() && head.text.is_none() && head.receipt_to.is_none());
        assert_eq!(head.cost, whole.cost, "the head keeps the whole debit");
        assert_eq!(head.part_ids(), parts.iter().map(|p| p.message_id.clone()).collect::<Vec<_>>());
        let again: Vec<RecipientRecord> = parts.iter().flat_map(|p| p.recipients.clone()).collect();
        assert_eq!(again, whole.recipients);
        assert_eq!(parts.iter().map(|p| p.cost).sum::<u64>(), whole.cost);
        assert_eq!((parts[0].cost, parts[4].cost), (2 * 249, 0), "opted-out numbers cost nothing");
        for (index, part) in parts.iter().enumerate() {
            assert_eq!(part.message_id, format!("m-p{:03}", index + 1));
            assert_eq!(part.part_of.as_deref(), Some("m"));
            assert_eq!(part.text.as_deref(), Some("Bonjour"));
            assert!(part.receipt_to.is_none() && part.schedule_name.is_none() && part.fan_out.is_none());
            assert!(part.recipients.len() <= PART_RECIPIENTS);
        }
    }

    #[test]
    fn the_parts_of_a_scheduled_email_wait_with_it() {
        let mut head = large(1_001, &[]);
        head.state = MessageState::Scheduled;
        head.due_at = Some(Utc::now());
        head.schedule_name = Some(schedule_name("m"));
        let parts = head.split_into_parts();
        assert!(parts.iter().all(|p| p.state == MessageState::Scheduled && p.due_at == head.due_at));
        assert_eq!(head.schedule_name.as_deref(), Some(schedule_name("m").as_str()), "the head's schedule queues them");
    }

    #[test]
    fn part_ids_sort_after_their_message_in_order() {
        let ids: Vec<String> = (0..40).map(|i| part_id("0100abc", i)).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(ids.iter().all(|id| id.starts_with("0100abc-p") && id.len() == "0100abc".len() + 5));
    }

    #[test]
    fn state_follows_the_recipients() {
        use Delivery::*;
        assert_eq!(record(&[Sent, Sent]).settled_state(), MessageState::Sent);
        assert_eq!(record(&[Sent, Pending]).settled_state(), MessageState::Accepted);
        assert_eq!(record(&[Sent, Sending]).settled_state(), MessageState::Accepted);
        assert_eq!(record(&[Sent, Failed]).settled_state(), MessageState::PartiallyFailed);
        assert_eq!(record(&[Unknown, Sent]).settled_state(), MessageState::PartiallyFailed);
        assert_eq!(record(&[Failed, Unknown]).settled_state(), MessageState::Failed);
    }

    #[test]
    fn once_closed_what_is_still_open_is_told_unknown() {
        use Delivery::*;
        let record = record(&[Sent, Delivered, Unknown, Failed]);
        let told = |closed| record.recipients.iter().map(|r| r.told_fate(closed)).collect::<Vec<_>>();
        assert_eq!(told(false), [Sent, Delivered, Unknown, Failed]);
        assert_eq!(told(true), [Unknown, Delivered, Unknown, Failed]);
    }

    #[test]
    fn schedule_names_are_valid_and_stable() {
        let name = schedule_name("k8u6ra1lbn0ipa3hbpmqv39kcbb7s55ujl3ajpo1");
        assert_eq!(name, "mail2sms-k8u6ra1lbn0ipa3hbpmqv39kcbb7s55ujl3ajpo1");
        let long = schedule_name(&"x/".repeat(100));
        assert!(long.len() <= 64 && long.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
    }

    #[test]
    fn an_accepted_record_costs_parts_times_recipients_and_keeps_the_local_date_when_scheduled() {
        let segments = crate::domain::segments::count("Bonjour");
        let recipients = record(&[Delivery::Pending, Delivery::Pending]).recipients;
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap();
        let sent_now =
            MessageRecord::accepted("m", now, "shop", recipients.clone(), "Bonjour".into(), segments, When::Now);
        assert_eq!(
            (sent_now.state, sent_now.cost, sent_now.schedule_name.as_deref()),
            (MessageState::Accepted, 2, None)
        );
        let local = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap().and_hms_opt(9, 30, 0).unwrap();
        let due = Utc.with_ymd_and_hms(2026, 12, 1, 8, 30, 0).unwrap();
        let later = MessageRecord::accepted(
            "m",
            now,
            "shop",
            recipients,
            "Bonjour".into(),
            segments,
            When::At { due, local, zone: chrono_tz::Europe::Paris },
        );
        assert_eq!(later.state, MessageState::Scheduled);
        assert_eq!(later.local_date.as_deref(), Some("2026-12-01 09:30:00"));
        assert_eq!(later.timezone.as_deref(), Some("Europe/Paris"));
        assert_eq!(later.schedule_name.as_deref(), Some("mail2sms-m"));
    }

    #[test]
    fn received_at_sorts_as_text() {
        let early = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let later = early + chrono::Duration::milliseconds(1);
        assert!(sortable_time::format(&early) < sortable_time::format(&later));
        assert_eq!(sortable_time::format(&early), "2026-01-02T03:04:05.000Z");
    }

    #[test]
    fn a_record_reads_back_as_written() {
        let mut original = record(&[Delivery::Sent, Delivery::Failed]);
        original.due_at = Some(Utc.with_ymd_and_hms(2026, 12, 1, 8, 30, 0).unwrap());
        original.status = Some(StatusCode::InvalidDate);
        let json = serde_json::to_string(&original).unwrap();
        assert_eq!(serde_json::from_str::<MessageRecord>(&json).unwrap(), original);
    }

    #[test]
    fn a_recipient_in_doubt_that_a_provider_reported_is_no_longer_in_doubt() {
        let mut record = record(&[Delivery::Unknown, Delivery::Sent, Delivery::Unknown, Delivery::Pending]);
        record.state = MessageState::PartiallyFailed;
        assert_eq!(record.in_doubt(), [0, 2]);
        let word = |delivery| DeliveryReport { delivery, at: Utc::now(), reason: None, price: None, refunded: false };
        record.recipients[2].report = Some(word(Delivery::Delivered));
        assert_eq!(record.in_doubt(), [0]);
        assert!(!record.recipients[2].is_in_doubt());
        assert_eq!(record.recipients[2].fate(), Delivery::Delivered, "its fate is the report's");
    }

    #[test]
    fn the_text_is_needed_while_anything_may_still_be_sent() {
        let mut record = record(&[Delivery::Unknown, Delivery::Sent, Delivery::Unknown]);
        record.state = MessageState::PartiallyFailed;
        assert!(!record.needs_text_after_settling(&[0, 2]), "nobody left to send");
        assert!(record.needs_text_after_settling(&[0]), "the other one in doubt may be sent once more");
        record.state = MessageState::Accepted;
        assert!(record.needs_text_after_settling(&[0, 2]), "recipients still to send");
    }

    #[test]
    fn only_accepted_and_scheduled_are_open() {
        assert!(!MessageState::Accepted.is_final());
        assert!(!MessageState::Scheduled.is_final());
        assert!(
            MessageState::Sent.is_final() && MessageState::Rejected.is_final() && MessageState::Cancelled.is_final()
        );
    }

    // ----- marketing hours -----
    #[test]
    fn a_held_message_is_scheduled_and_says_why_and_when_it_was_due() {
        let segments = crate::domain::segments::count("Soldes STOP au 36180");
        let recipients = record(&[Delivery::Pending]).recipients;
        let saturday_night = Utc.with_ymd_and_hms(2026, 11, 28, 20, 0, 0).unwrap();
        let monday = Utc.with_ymd_and_hms(2026, 11, 30, 7, 0, 0).unwrap();
        let text = "Soldes STOP au 36180".to_owned();
        let mut now = MessageRecord::accepted("m", saturday_night, "shop", recipients, text, segments, When::Now);
        let mut dated = now.clone();
        now.hold(monday, HoldReason::MarketingHours);
        assert_eq!(
            (now.state, now.due_at, now.schedule_name.as_deref()),
            (MessageState::Scheduled, Some(monday), Some("mail2sms-m"))
        );
        assert_eq!(now.held, Some(Hold { reason: HoldReason::MarketingHours, original_due_at: saturday_night }));
        assert_eq!(now.cost, 1, "debited as any accepted message");
        let sunday = Utc.with_ymd_and_hms(2026, 11, 29, 9, 0, 0).unwrap();
        dated.due_at = Some(sunday);
        dated.hold(monday, HoldReason::MarketingHours);
        assert_eq!(dated.held.map(|hold| hold.original_due_at), Some(sunday), "a date= is the time it was due");
        let json = serde_json::to_value(&now).unwrap();
        assert_eq!(
            json["held"],
            serde_json::json!({ "reason": "marketing_hours", "original_due_at": "2026-11-28T20:00:00.000Z" })
        );
        assert_eq!(serde_json::from_value::<MessageRecord>(json).unwrap(), now);
        assert!(serde_json::to_value(MessageRecord::new("m", monday)).unwrap().get("held").is_none());
    }

    // ----- dry run -----
    #[test]
    fn a_previewed_record_is_final_and_holds_nothing_to_send_or_pay() {
        let segments = crate::domain::segments::count("Bonjour");
        let mut planned = MessageRecord::accepted(
            "m",
            Utc::now(),
            "shop",
            record(&[Delivery::Pending, Delivery::Pending]).recipients,
            "Bonjour".into(),
            segments,
            When::Now,
        );
        planned.dropped_count = 1;
        let refusal = Rejection::insufficient_credits(2, 1);
        let previewed = MessageRecord::previewed(&planned, Some(&refusal));
        assert_eq!((previewed.state, previewed.login.as_deref()), (MessageState::Previewed, Some("shop")));
        assert!(previewed.state.is_final());
        assert_eq!((previewed.cost, previewed.parts, previewed.dropped_count), (0, 1, 1));
        assert!(previewed.recipients.is_empty() && previewed.text.is_none() && previewed.schedule_name.is_none());
        assert_eq!(previewed.status, Some(StatusCode::InsufficientCredits));
        assert_eq!(previewed.status_text.as_deref(), Some(refusal.status_text.as_str()));
        assert_eq!(MessageRecord::previewed(&planned, None).status, None);
        let json = serde_json::to_value(&previewed).unwrap();
        assert_eq!(json["state"], "previewed");
        assert_eq!(serde_json::from_value::<MessageRecord>(json).unwrap(), previewed);
    }

    // ----- opt-outs -----
    #[test]
    fn opted_out_recipients_leave_the_cost_and_are_no_failure() {
        use Delivery::*;
        let segments = crate::domain::segments::count("Bonjour");
        let mut accepted = MessageRecord::accepted(
            "m",
            Utc::now(),
            "shop",
            record(&[Pending, Sending, Pending]).recipients,
            "Bonjour".into(),
            segments,
            When::Now,
        );
        assert_eq!((accepted.cost, accepted.chargeable()), (3, 3));
        let numbers: Vec<Recipient> = accepted.recipients.iter().map(|r| r.number.clone()).collect();
        let listed = [
            (numbers[1].clone(), OptOutList::Gateway),
            (numbers[2].clone(), OptOutList::Account("shop".into())),
            (Recipient::parse_e164("+33699999999").unwrap(), OptOutList::Gateway),
        ];
        assert_eq!(accepted.opt_out(&listed), 2, "a number the message does not have is no recipient");
        let deliveries: Vec<Delivery> = accepted.recipients.iter().map(|r| r.delivery).collect();
        assert_eq!(deliveries, [Pending, OptedOut, OptedOut], "claimed or not, before the debit");
        assert_eq!((accepted.cost, accepted.chargeable()), (1, 1));
        assert_eq!(accepted.recipients[1].error.as_deref(), Some("on the gateway's opt-out list"));
        assert_eq!(accepted.recipients[2].error.as_deref(), Some("on the account's opt-out list"));
        accepted.recipients[0].delivery = Sent;
        assert_eq!(accepted.settled_state(), MessageState::Sent);
        accepted.recipients[0].delivery = Failed;
        assert_eq!(accepted.settled_state(), MessageState::Failed);
        let mut sent = record(&[Sent]);
        assert_eq!(sent.opt_out(&[(sent.recipients[0].number.clone(), OptOutList::Gateway)]), 0, "already sent");
        let json = serde_json::to_value(&accepted).unwrap();
        assert_eq!(json["recipients"][1]["delivery"], "opted_out");
        assert_eq!(serde_json::from_value::<MessageRecord>(json).unwrap(), accepted);
    }
}
