//! After sending, in the order a message lives it: the providers' delivery events move each
//! recipient's fate forward (refunding definitive failures), a follow-up settles recipients left
//! in doubt when no event came, and the message is closed once every fate is known, or 72 hours
//! after sending, with a delivery receipt for the accounts that want one.
//!
//! Each step is a conditional write that applies once: a repeated, late or concurrent event
//! changes nothing, and a receipt is recorded due before it goes out and sent after (at least
//! once, as the error replies).

use chrono::{DateTime, Utc};
use tracing::info;

use crate::config::InDoubtPolicy;
use crate::domain::date::parse_timezone;
use crate::domain::delivery::{Change, DeliveryReport, change};
use crate::domain::message::{Delivery, MessageRecord, ReplyOutcome, prefixed_schedule_name};
use crate::domain::optout::OptOut;
use crate::event::{FollowUp, FollowUpKind, Locator, ProviderReport};
use crate::pipeline::{Gateway, Invocation, Outcome, PipelineError};
use crate::ports::{Ledger, RawMailStore, ReplyMailer, ScheduledSend, SendScheduler, SmsGateway};
use crate::reply::delivery_receipt;

/// The note left on a recipient the in-doubt window settled.
const REFUNDED_NOTE: &str = "never reported by the provider: refunded";
const RESENT_NOTE: &str = "never reported by the provider: sent once more";

/// How many times the in-doubt follow-up looks again when the record changed under it.
const DOUBT_ATTEMPTS: usize = 3;

impl<S, L, G, M, C> Gateway<S, L, G, M, C>
where
    S: RawMailStore,
    L: Ledger,
    G: SmsGateway,
    M: ReplyMailer,
    C: SendScheduler,
{
    /// One provider's word on one SMS.
    #[tracing::instrument(skip_all, fields(provider = report.provider))]
    pub(crate) async fn track(&self, report: &ProviderReport) -> Result<Outcome, PipelineError> {
        let unmatched = || {
            info!("delivery event for no recipient of this gateway; dropped");
            Ok(Outcome::Unmatched { provider: report.provider })
        };
        let (message_id, index) = match &report.locator {
            Locator::Recipient { message_id, index } => (message_id.clone(), *index),
            Locator::ProviderId(id) => match self.ledger.locate(id).await? {
                Some(found) => found,
                None => return unmatched(),
            },
        };
        let Some(mut record) = self.ledger.load(&message_id).await? else { return unmatched() };
        let Some(recipient) = record.recipients.get(index) else { return unmatched() };
        if report.destination.as_deref().is_some_and(|to| !same_number(to, recipient.number.e164())) {
            return unmatched();
        }
        // The number opted out at the provider: on the gateway's list first (once; a failed
        // write fails the event, whose retry writes it), so that no account pays for it again.
        if report.word.opted_out {
            let entry = OptOut::from_provider(recipient.number.clone(), report.provider, (self.clock)());
            let added = self.ledger.add_opt_out(&entry).await?;
            info!(to = %recipient.number.masked(), added, "opted out at the provider: on the gateway's opt-out list");
        }
        let decision =
            change(recipient.delivery, recipient.report.as_ref(), &report.word, self.settings.refund_failed_deliveries);
        let mut refunded = 0;
        let mut changed = false;
        if let Change::Record { refund } = decision {
            let mut stored =
                DeliveryReport::new(&report.word, report.at, report.reason.as_deref(), report.price.clone());
            stored.refunded = refund;
            changed = self.ledger.report(&record, index, &stored).await?;
            if changed {
                if refund {
                    refunded = u64::from(record.parts);
                    record.refunded += refunded;
                }
                info!(message_id = %message_id, to = %recipient.number.masked(), delivery = ?stored.delivery, refunded, "delivery reported");
                record.recipients[index].report = Some(stored);
            }
        }
        if !changed {
            info!(message_id = %message_id, delivery = ?report.word.delivery, "late or repeated delivery event; nothing changed");
        }
        if record.all_final() {
            self.close(record).await?;
        }
        Ok(Outcome::Reported { message_id, delivery: report.word.delivery, changed, refunded })
    }

    /// A follow-up the gateway scheduled for one of its messages.
    #[tracing::instrument(skip_all, fields(message_id = %follow_up.message_id))]
    pub(crate) async fn follow_up(
        &self,
        follow_up: &FollowUp,
        invocation: &Invocation,
    ) -> Result<Outcome, PipelineError> {
        match follow_up.follow_up {
            FollowUpKind::InDoubt => self.settle_doubt(&follow_up.message_id, invocation).await,
            FollowUpKind::Close => self.close_when_due(&follow_up.message_id).await,
        }
    }

    /// After a message was sent: schedules what must happen to it later. A follow-up for the
    /// recipients left in doubt, at the end of the window; the 72-hour close when its account
    /// wants a receipt (and a reply address is known); or the close at once when every fate is
    /// already final. Schedules are named after the message, so doing this again (a retry)
    /// creates nothing twice.
    pub(crate) async fn after_sending(
        &self,
        record: &MessageRecord,
        invocation: &Invocation,
    ) -> Result<(), PipelineError> {
        let now = (self.clock)();
        if !record.in_doubt().is_empty() {
            let at = now + self.settings.in_doubt_after;
            self.schedule_follow_up(record, FollowUpKind::InDoubt, at, invocation).await?;
        }
        if record.all_final() {
            self.close(record.clone()).await?;
        } else if record.receipt_to.is_some()
            && let Some(by) = record.close_by()
        {
            self.schedule_follow_up(record, FollowUpKind::Close, by, invocation).await?;
        }
        Ok(())
    }

    async fn schedule_follow_up(
        &self,
        record: &MessageRecord,
        kind: FollowUpKind,
        at: DateTime<Utc>,
        invocation: &Invocation,
    ) -> Result<(), PipelineError> {
        let follow_up = FollowUp { follow_up: kind, message_id: record.message_id.clone() };
        let send = ScheduledSend {
            name: follow_up_name(kind, &record.message_id, record.checkpoints),
            at,
            input: follow_up.to_input(),
            target_arn: invocation.function_arn.clone(),
        };
        self.scheduler.schedule(&send).await?;
        info!(?kind, at = %at, "follow-up scheduled");
        Ok(())
    }

    /// The in-doubt window ended: each recipient still in doubt and never reported was not
    /// taken by the provider. Under the `resend` policy it is sent once more (a second doubt is
    /// refunded); under `refund`, its parts go back to the account.
    async fn settle_doubt(&self, message_id: &str, invocation: &Invocation) -> Result<Outcome, PipelineError> {
        for _ in 0..DOUBT_ATTEMPTS {
            let Some(record) = self.ledger.load(message_id).await? else {
                return Ok(Outcome::NothingDue { message_id: message_id.to_owned() });
            };
            let doubts = record.in_doubt();
            let (resend, refund): (Vec<usize>, Vec<usize>) = match self.settings.in_doubt_policy {
                InDoubtPolicy::Resend => doubts.iter().partition(|&&index| !record.recipients[index].resent),
                InDoubtPolicy::Refund => (Vec::new(), doubts),
            };
            if resend.is_empty()
                && refund.is_empty()
                && (record.text.is_none() || record.needs_text_after_settling(&[]))
            {
                return Ok(Outcome::InDoubtSettled { message_id: message_id.to_owned(), resent: 0, refunded: 0 });
            }
            let note = if resend.is_empty() { REFUNDED_NOTE } else { RESENT_NOTE };
            if !self.ledger.resolve_doubt(&record, &refund, &resend, note, (self.clock)()).await? {
                info!("the record changed meanwhile; looking again");
                continue;
            }
            let refunded = u64::from(record.parts) * refund.len() as u64;
            info!(resent = resend.len(), refunded, "recipients in doubt settled");
            let settled = Outcome::InDoubtSettled { message_id: message_id.to_owned(), resent: resend.len(), refunded };
            let Some(record) = self.ledger.load(message_id).await? else { return Ok(settled) };
            if resend.is_empty() {
                if record.all_final() {
                    self.close(record).await?;
                }
            } else {
                self.take_over(record, invocation).await?;
            }
            return Ok(settled);
        }
        Err(PipelineError::InProgress { message_id: message_id.to_owned() })
    }

    /// The 72 hours after sending have passed: the message is closed whatever is still open.
    async fn close_when_due(&self, message_id: &str) -> Result<Outcome, PipelineError> {
        let now = (self.clock)();
        let Some(record) = self.ledger.load(message_id).await?.filter(|record| record.state.is_final()) else {
            return Ok(Outcome::NothingDue { message_id: message_id.to_owned() });
        };
        if !record.is_closed(now) {
            info!("not due yet");
            return Ok(Outcome::NothingDue { message_id: message_id.to_owned() });
        }
        let unknown = record.recipients.iter().filter(|recipient| !recipient.fate().is_final()).count();
        let receipt = self.close(record).await?;
        Ok(Outcome::Closed { message_id: message_id.to_owned(), unknown, receipt })
    }

    /// Closes the message (once) and sends its receipt when one is due. Returns what became of
    /// the receipt, when the account wants one.
    async fn close(&self, mut record: MessageRecord) -> Result<Option<ReplyOutcome>, PipelineError> {
        if !record.state.is_final() {
            return Ok(None);
        }
        if record.closed_at.is_none() {
            record.closed_at = Some((self.clock)());
            record.receipt = self.receipt_due(&record).await?;
            if !self.ledger.close(&record).await? {
                return Ok(None);
            }
            info!(receipt = ?record.receipt, "closed");
        }
        match record.receipt {
            Some(ReplyOutcome::Due) => self.send_receipt(record).await.map(Some),
            other => Ok(other),
        }
    }

    /// Whether the message's account wants a receipt for it (as its setting is now).
    async fn receipt_due(&self, record: &MessageRecord) -> Result<Option<ReplyOutcome>, PipelineError> {
        let (Some(_), Some(login)) = (&record.receipt_to, &record.login) else { return Ok(None) };
        let Some(account) = self.ledger.account(login).await? else { return Ok(None) };
        let wanted = account.receipts.wants(record.recipients.iter().map(|recipient| recipient.fate()));
        Ok(wanted.then_some(ReplyOutcome::Due))
    }

    /// Sends the receipt a closed message's record says is due, then records that it went. A
    /// send SES did not take fails the invocation, so that its retry sends it.
    async fn send_receipt(&self, mut record: MessageRecord) -> Result<ReplyOutcome, PipelineError> {
        let Some(to) = record.receipt_to.clone() else { return Ok(ReplyOutcome::Skipped) };
        let now = (self.clock)();
        if !self.ledger.count_reply(&to, now, self.settings.reply_limit_per_hour).await? {
            record.receipt = Some(ReplyOutcome::RateLimited);
            self.ledger.note_receipt(&record).await?;
            return Ok(ReplyOutcome::RateLimited);
        }
        let timezone = record.timezone.as_deref().and_then(parse_timezone).unwrap_or(self.settings.default_timezone);
        // Told as of the close: what is still open is unknown.
        for recipient in &mut record.recipients {
            if recipient.told_fate(true) != recipient.fate() {
                recipient.delivery = Delivery::Unknown;
                recipient.report = None;
            }
        }
        let receipt = delivery_receipt(&to, &record, timezone);
        let outcome = self.send_answer(&to, receipt.to_mime(&self.settings.reply_from, now), "receipt").await?;
        record.receipt = Some(outcome);
        self.ledger.note_receipt(&record).await?;
        info!(receipt = ?outcome, "receipt");
        Ok(outcome)
    }
}

/// Whether the number a provider reports is the recipient's (providers write E.164, with or
/// without its `+`).
fn same_number(reported: &str, e164: &str) -> bool {
    let digits = |text: &str| text.chars().filter(char::is_ascii_digit).collect::<String>();
    digits(reported) == digits(e164)
}

/// A follow-up's schedule name: the message's, with the kind and the record's checkpoint count
/// (a resend makes a second in-doubt window), at most 64 characters of `[0-9A-Za-z-_.]`.
fn follow_up_name(kind: FollowUpKind, message_id: &str, checkpoints: u64) -> String {
    let prefix = match kind {
        FollowUpKind::InDoubt => format!("m2s-doubt{checkpoints}-"),
        FollowUpKind::Close => "m2s-close-".to_owned(),
    };
    prefixed_schedule_name(&prefix, message_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reported_numbers_match_with_or_without_their_plus() {
        assert!(same_number("+33612345678", "+33612345678"));
        assert!(same_number("33612345678", "+33612345678"));
        assert!(!same_number("+33612345679", "+33612345678"));
    }

    #[test]
    fn follow_up_names_are_valid_schedule_names_and_differ_by_kind_and_round() {
        let id = "k8u6ra1lbn0ipa3hbpmqv39kcbb7s55ujl3ajpo1";
        let doubt = follow_up_name(FollowUpKind::InDoubt, id, 3);
        let again = follow_up_name(FollowUpKind::InDoubt, id, 7);
        let close = follow_up_name(FollowUpKind::Close, id, 3);
        assert!(doubt != again && doubt != close);
        for name in [doubt, again, close, follow_up_name(FollowUpKind::InDoubt, &"x/".repeat(100), u64::MAX)] {
            assert!(name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)), "{name}");
        }
    }
}
