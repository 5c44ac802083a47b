//! A dry run (`dryrun` in the subject, see [`crate::domain::preview`]): an order that passed
//! every check of its subject and body ([`Gateway::read_request`]) is judged as
//! [`Gateway::accept`] would judge it at the debit — the account read afresh (its key, its
//! suspension, its balance), the opt-out lists looked up by the same keys, read and never
//! written — then recorded under the email's SES message id as `previewed` and answered by
//! email with the preview, through the error replies' channel (same address rules, hourly cap,
//! threading, at least once). Nothing is sent, scheduled or debited, and no credit alert is told.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tracing::info;

use super::{Gateway, Invocation, Letter, Order, Outcome, PipelineError, Reading, ReplyTo};
use crate::domain::account::Account;
use crate::domain::message::{MessageRecord, MessageState, ReplyOutcome, truncated};
use crate::domain::optout::OptOutList;
use crate::domain::preview::{Preview, PreviewText, preview_text};
use crate::domain::recipient::Recipient;
use crate::domain::request::UnsignedRequest;
use crate::domain::sender::SenderId;
use crate::domain::{Rejection, StatusCode};
use crate::mail::InboundMail;
use crate::ports::{Ledger, Opening, RawMailStore, ReplyMailer, SendScheduler, SmsGateway};
use crate::reply::preview_reply;

/// What a dry-run order carries besides the order itself: the `from=` it asked for, so that the
/// preview can say where the STOP rule sets it aside.
pub(super) struct DryRun {
    pub(super) asked_sender: Option<SenderId>,
}

/// A dry-run order as the debit would meet it: the record it would open (its recipients on an
/// opt-out list marked `opted_out`), those numbers and their lists, and the account's balance.
struct Assessed {
    planned: MessageRecord,
    opted_out: Vec<(Recipient, OptOutList)>,
    asked_sender: Option<SenderId>,
    balance: u64,
    zone: Tz,
}

impl Assessed {
    /// The preview, made `at`.
    fn preview(&self, at: DateTime<Utc>) -> Preview<'_> {
        Preview {
            planned: &self.planned,
            opted_out: &self.opted_out,
            asked_sender: self.asked_sender.as_ref(),
            balance: self.balance,
            zone: self.zone,
            at,
        }
    }
}

impl<S, L, G, M, C> Gateway<S, L, G, M, C>
where
    S: RawMailStore,
    L: Ledger,
    G: SmsGateway,
    M: ReplyMailer,
    C: SendScheduler,
{
    /// Previews a dry-run order instead of accepting it. The account is read afresh, as the
    /// debit's own checks would find it: another key or a suspension is the real send's 102
    /// (answered as an error, like [`Gateway::accept`] answers it), and its balance is the one
    /// the preview states, at the time of the preview. The numbers on an opt-out list are left
    /// out of the cost as the debit would leave them out; every number listed is the real send's
    /// 114 and too few credits its 104, told in the preview with their code and text.
    ///
    /// The email is recorded like any other (`previewed`, with that code), its `lease_owner` the
    /// invocation that owes the preview: another delivery of the email finds the record and
    /// sends no second preview, even while the first is on its way; only that invocation's own
    /// retry (Lambda keeps its request id) sends a preview still due, one SES did not take.
    pub(super) async fn preview(
        &self,
        order: Order,
        letter: Letter<'_>,
        invocation: &Invocation,
    ) -> Result<Outcome, PipelineError> {
        let (id, received_at) = (order.record.message_id.clone(), order.record.received_at);
        let Some(assessed) = self.assess(order).await? else {
            let rejection = Rejection::new(StatusCode::AuthenticationFailed);
            return self.reject(&id, letter, rejection, None, received_at, invocation).await;
        };
        let preview = assessed.preview((self.clock)());
        let refusal = preview.refusal();
        let text = preview_text(&preview);
        let planned = &assessed.planned;
        info!(
            login = planned.login.as_deref().unwrap_or_default(),
            recipients = planned.chargeable(),
            opted_out = assessed.opted_out.len(),
            parts = planned.parts,
            cost = planned.cost,
            status = refusal.as_ref().map(|refusal| refusal.status.code()),
            "previewed: nothing sent, nothing debited"
        );
        let mut record = MessageRecord::previewed(planned, refusal.as_ref());
        let to = self.reply_address(letter);
        record.reply = Some(if to.is_ok() { ReplyOutcome::Due } else { ReplyOutcome::Skipped });
        if let Err(reason) = &to {
            record.reply_skipped = serde_json::to_value(reason).ok().and_then(|v| v.as_str().map(str::to_owned));
        }
        record.lease_owner = Some(invocation.request_id.clone());
        let cost = planned.cost;
        match self.ledger.open(&record, None).await? {
            Opening::Opened => self.answer_preview(record, to, letter, &text, cost, true).await,
            // This invocation's retry, its preview not sent (SES did not take it): sent now, not
            // counted against the hourly cap a second time.
            Opening::Exists(existing)
                if existing.state == MessageState::Previewed
                    && existing.reply == Some(ReplyOutcome::Due)
                    && existing.lease_owner.as_deref() == Some(invocation.request_id.as_str()) =>
            {
                self.answer_preview(*existing, to, letter, &text, cost, false).await
            }
            Opening::Exists(existing) => self.resume(*existing, Some(letter), invocation).await,
            Opening::UnknownAccount | Opening::InsufficientCredits { .. } | Opening::OptedOut(_) => {
                unreachable!("no debit was asked")
            }
        }
    }

    /// What the debit would meet: the account read afresh (`None` when its key changed or it is
    /// suspended: the real send's 102), and the order's numbers on an opt-out list, looked up
    /// and left out of the cost as the debit leaves them out.
    async fn assess(&self, order: Order) -> Result<Option<Assessed>, PipelineError> {
        let Order { login, key_sha256, record: mut planned, dry_run, .. } = order;
        let account = match self.ledger.account(&login).await? {
            Some(account) if account.key_sha256 == key_sha256 && !account.suspended => account,
            _ => return Ok(None),
        };
        let opted_out = self.ledger.opted_out(&login, &planned).await?;
        planned.opt_out(&opted_out);
        Ok(Some(Assessed {
            planned,
            opted_out,
            asked_sender: dry_run.and_then(|dry_run| dry_run.asked_sender),
            balance: account.credits,
            zone: account.timezone_or(self.settings.default_timezone),
        }))
    }

    /// The preview of an SMS typed in the customer space (its form's "Preview" button): read as
    /// [`Gateway::send_typed`] reads it, judged as a dry run is, and handed back. Nothing is
    /// recorded, sent, debited or answered by email. `Err` holds the refusal the send would get
    /// before its debit (the same code and text; 102 when the account would not be opened);
    /// a refusal at the debit (104, 114) is the preview's to tell.
    pub async fn preview_typed(
        &self,
        account: Account,
        request: Result<UnsignedRequest, Rejection>,
        text: &str,
    ) -> Result<Result<PreviewText, Rejection>, PipelineError> {
        let received_at = (self.clock)();
        let mail = InboundMail {
            body: Some(truncated(text, crate::mail::MAX_BODY_BYTES)),
            body_too_long: text.len() > crate::mail::MAX_BODY_BYTES,
            ..InboundMail::default()
        };
        let request = request.map(|request| UnsignedRequest { dry_run: true, ..request });
        let asking = Ok(Box::new((account, request)));
        Ok(match self.read_request("web-preview", &mail, asking, received_at).await? {
            Reading::Order(order) => match self.assess(*order).await? {
                Some(assessed) => Ok(preview_text(&assessed.preview(received_at))),
                None => Err(Rejection::new(StatusCode::AuthenticationFailed)),
            },
            Reading::Refused(rejection, _) => Err(rejection),
        })
    }

    /// Sends the preview a dry run's record says is due and records that it went, as
    /// [`Gateway::answer`] does for an error reply: the hourly cap first (`first`), a send SES
    /// did not take fails the invocation for Lambda's retry (the record still says `Due`).
    async fn answer_preview(
        &self,
        mut record: MessageRecord,
        to: ReplyTo,
        letter: Letter<'_>,
        text: &PreviewText,
        cost: u64,
        first: bool,
    ) -> Result<Outcome, PipelineError> {
        let (message_id, status) = (record.message_id.clone(), record.status);
        let previewed = |reply| Outcome::Previewed { message_id: message_id.clone(), status, cost, reply };
        let Ok(to) = to else { return Ok(previewed(ReplyOutcome::Skipped)) };
        if first && !self.ledger.count_reply(&to, record.received_at, self.settings.reply_limit_per_hour).await? {
            record.reply = Some(ReplyOutcome::RateLimited);
            self.ledger.note_reply(&record).await?;
            return Ok(previewed(ReplyOutcome::RateLimited));
        }
        let secrets: Vec<&str> = letter.key.iter().map(|key| key.expose()).collect();
        let reply = preview_reply(&to, letter.mail.message_id.as_deref(), text, &secrets);
        let outcome =
            self.send_answer(&to, reply.to_mime(&self.settings.reply_from, (self.clock)()), "preview").await?;
        record.reply = Some(outcome);
        self.ledger.note_reply(&record).await?;
        Ok(previewed(outcome))
    }
}
