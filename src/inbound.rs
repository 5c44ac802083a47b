//! Answers by SMS (two-way SMS, the manual's "SMS Push-Pull"): a recipient answers one of our
//! SMS, End User Messaging publishes the answer to the inbound topic, and the gateway forwards
//! it by email to the sender of the email that SMS came from. An answer that is a keyword (see
//! [`keyword`]) also changes the number's place on that account's opt-out list: STOP puts it
//! there, START takes it off, but only where its own STOP put it.
//!
//! The answer finds its message through the provider's id of the last SMS our number sent to
//! that mobile (`previousPublishedMessageId`), in the index the checkpoints keep (for SNS
//! always, for End User Messaging when two-way SMS is on); an answer that finds none, or that
//! comes from another number than the one texted, is logged (masked) and dropped, never retried.
//!
//! Providers deliver at least once: each inbound SMS is noted under its own id before anything
//! is done, its forward due, then marked as sent; a repeat finds the note and does nothing again
//! (unless the forward is still due: the attempt before stopped short, and this one finishes).
//! Logs never hold the text nor a full number.

use tracing::info;

use crate::domain::answer::{Answer, Answered, Keyword, KeywordEffect, forward, keyword};
use crate::domain::date::parse_timezone;
use crate::domain::message::{MessageRecord, ReplyOutcome};
use crate::domain::optout::{Lifting, OptOut, OptOutList, OptOutSource};
use crate::domain::recipient::{Recipient, mask_number};
use crate::event::InboundSms;
use crate::pipeline::{Gateway, Outcome, PipelineError};
use crate::ports::{Ledger, RawMailStore, ReplyMailer, SendScheduler, SmsGateway};
use crate::reply::answer_mime;

/// The most answers forwarded to one address in an hour; more are recorded `rate_limited`.
pub const ANSWER_FORWARDS_PER_HOUR: u32 = 500;

impl<S, L, G, M, C> Gateway<S, L, G, M, C>
where
    S: RawMailStore,
    L: Ledger,
    G: SmsGateway,
    M: ReplyMailer,
    C: SendScheduler,
{
    /// One SMS a mobile sent to our number.
    #[tracing::instrument(skip_all, fields(inbound_id = %sms.inbound_id))]
    pub(crate) async fn answered(&self, sms: &InboundSms) -> Result<Outcome, PipelineError> {
        let (record, from) = match self.answered_message(sms).await? {
            Ok(found) => found,
            Err(why) => {
                info!(from = %mask_number(&sms.from), why, "an SMS that answers no message of ours; dropped");
                return Ok(Outcome::AnswerUnmatched);
            }
        };
        let message_id = record.message_id.clone();
        let keyword = keyword(&sms.text);
        let now = (self.clock)();
        if let Some(done) = self.ledger.open_inbound(&sms.inbound_id, &message_id, now).await?
            && done != ReplyOutcome::Due
        {
            info!(%message_id, forwarded = ?done, "inbound SMS seen before; nothing done again");
            return Ok(Outcome::Answered { message_id, keyword, forwarded: done, repeated: true });
        }
        let effect = match (keyword, record.login.as_deref()) {
            (Some(keyword), Some(login)) => Some(self.apply_keyword(keyword, login, &from, now).await?),
            _ => None,
        };
        // A large email's part: the email is its head (its sender, Message-ID and numbers).
        let head = match &record.part_of {
            Some(head_id) => self.ledger.load(head_id).await?,
            None => None,
        };
        let email = head.as_ref().unwrap_or(&record);
        let answer = Answer { from: &from, at: sms.received_at, text: &sms.text, keyword, effect };
        let forwarded = self.forward_answer(email, &answer).await?;
        self.ledger.note_inbound(&sms.inbound_id, forwarded).await?;
        info!(%message_id, from = %from.masked(), ?keyword, ?effect, ?forwarded, "answer by SMS");
        Ok(Outcome::Answered { message_id, keyword, forwarded, repeated: false })
    }

    /// The message an inbound SMS answers and the number that sent it, or why there is none.
    async fn answered_message(
        &self,
        sms: &InboundSms,
    ) -> Result<Result<(MessageRecord, Recipient), &'static str>, PipelineError> {
        let written = sms.from.trim();
        let e164 = if written.starts_with('+') { written.to_owned() } else { format!("+{written}") };
        let Some(from) = Recipient::parse_e164(&e164) else { return Ok(Err("not a phone number")) };
        let Some(previous) = sms.answers.as_deref() else { return Ok(Err("it names no earlier SMS")) };
        let Some((message_id, index)) = self.ledger.locate(previous).await? else {
            return Ok(Err("no SMS of ours by that id (unknown, or too old)"));
        };
        let Some(record) = self.ledger.load(&message_id).await? else { return Ok(Err("its message is gone")) };
        if !record.recipients.get(index).is_some_and(|recipient| recipient.number == from) {
            return Ok(Err("that SMS went to another number"));
        }
        Ok(Ok((record, from)))
    }

    /// Applies a keyword to the account's opt-out list: STOP puts the number there (as the
    /// number's own entry, unless one is there already); START takes it off only where the
    /// number's own STOP put it. Returns where the number stands after.
    async fn apply_keyword(
        &self,
        keyword: Keyword,
        login: &str,
        number: &Recipient,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<KeywordEffect, PipelineError> {
        let list = OptOutList::Account(login.to_owned());
        Ok(match keyword {
            Keyword::Stop => {
                let entry = OptOut::new(&list, number.clone(), OptOutSource::Recipient, now);
                let added = self.ledger.add_opt_out(&entry).await?;
                info!(%login, to = %number.masked(), added, "STOP by SMS: on the account's opt-out list");
                KeywordEffect::Listed
            }
            Keyword::Start => {
                let lifting = self.ledger.lift_opt_out(&list, number, OptOutSource::Recipient).await?;
                info!(%login, to = %number.masked(), ?lifting, "START by SMS");
                match lifting {
                    Lifting::Lifted | Lifting::NotListed => KeywordEffect::NotListed,
                    Lifting::Kept(source) => KeywordEffect::KeptBy(source),
                }
            }
        })
    }

    /// Forwards the answer to the email's sender, when the email kept one (`answers_to`), within
    /// the replies' hourly cap, as a reply to the email (threaded under its Message-ID when
    /// known). One SES did not take fails the invocation, so that its retry sends it.
    async fn forward_answer(&self, email: &MessageRecord, answer: &Answer<'_>) -> Result<ReplyOutcome, PipelineError> {
        let Some(to) = email.answers_to.as_deref() else { return Ok(ReplyOutcome::Skipped) };
        let now = (self.clock)();
        // Answers have a cap of their own: a campaign's answers are what the sender asked for,
        // and must not use up the error replies' few an hour (nor the other way round).
        if !self.ledger.count_reply(&format!("answers:{to}"), now, ANSWER_FORWARDS_PER_HOUR).await? {
            return Ok(ReplyOutcome::RateLimited);
        }
        let zone = email.timezone.as_deref().and_then(parse_timezone).unwrap_or(self.settings.default_timezone);
        let answered = Answered {
            reference: &email.message_id,
            received_at: email.received_at,
            recipients: email.fan_out.map_or(email.recipients.len(), |fan_out| fan_out.recipients),
            mail_message_id: email.mail_message_id.as_deref(),
        };
        let mail = forward(to, answer, &answered, zone);
        let mime = answer_mime(
            &mail.to,
            &mail.subject,
            &mail.body,
            mail.in_reply_to.as_deref(),
            &self.settings.reply_from,
            now,
        );
        self.send_answer(to, mime, "answer forward").await
    }
}
