//! Large emails, sent in parts. An email of more than
//! [`MAX_RECORD_RECIPIENTS`](crate::domain::message::MAX_RECORD_RECIPIENTS) recipients is
//! debited once and opened as a head record and parts of at most
//! [`PART_RECIPIENTS`](crate::domain::message::PART_RECIPIENTS), all in one atomic step (see
//! [`MessageRecord::split_into_parts`]). Sending it queues one message per part
//! ([`SendScheduler::queue_parts`]); the queue invokes the function with a few parts at a time,
//! and each part is sent like any message (lease, claims, checkpoints: each recipient once),
//! at its share of the provider's rate. A part this invocation could not finish is handed back
//! to the queue, which hands it out again, and after a few failures to its dead-letter queue.

use tokio::time::{Duration, Instant};
use tracing::{info, warn};

use crate::domain::message::{MessageRecord, MessageState};
use crate::domain::recipient::mask_numbers_in;
use crate::event::QueuedPart;
use crate::pipeline::{Gateway, Invocation, Outcome, PipelineError};
use crate::ports::{Lease, Ledger, RawMailStore, ReplyMailer, SendScheduler, SmsGateway};

/// A part stops claiming recipients this long before its invocation's deadline: what is in
/// flight then has time to be answered and recorded, and the rest goes back to the queue.
pub const PART_DEADLINE_MARGIN: chrono::Duration = chrono::Duration::seconds(10);

/// The pace of one part's sends: one start every `interval`.
pub(crate) struct Pace {
    interval: Duration,
    next: Instant,
    stop_claiming_at: chrono::DateTime<chrono::Utc>,
}

impl Pace {
    fn new(rate: f64, deadline: chrono::DateTime<chrono::Utc>) -> Pace {
        Pace {
            interval: Duration::from_secs_f64(1.0 / rate),
            next: Instant::now(),
            stop_claiming_at: deadline - PART_DEADLINE_MARGIN,
        }
    }

    /// When the next send may start (now, or one interval after the one before).
    pub(crate) fn next_start(&mut self) -> Instant {
        let start = self.next.max(Instant::now());
        self.next = start + self.interval;
        start
    }

    /// How many sends may be in flight: about a second's worth, so that a recipient claimed
    /// before its start waits at most a second (claimed and not yet sent is in doubt after a
    /// crash), and never more than `window`.
    pub(crate) fn window(&self, window: usize) -> usize {
        let per_second = (1.0 / self.interval.as_secs_f64()).ceil() as usize;
        per_second.clamp(1, window.max(1))
    }

    /// Whether the invocation is too close to its deadline to claim more.
    pub(crate) fn out_of_time(&self, clock: fn() -> chrono::DateTime<chrono::Utc>) -> bool {
        clock() >= self.stop_claiming_at
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
    /// The pace of a large email's part; `None` for any other message (sent as fast as the
    /// window allows).
    pub(crate) fn pace(&self, record: &MessageRecord, lease: &Lease) -> Option<Pace> {
        record.part_of.as_ref().map(|_| Pace::new(self.settings.part_send_rate, lease.until))
    }

    /// Hands a large email's parts to the queue, then records that it is in parts (which
    /// gives its lease up). Queued twice after a retry, each part is still sent once.
    pub(crate) async fn dispatch(
        &self,
        mut record: MessageRecord,
        lease: &Lease,
        fresh: bool,
    ) -> Result<Outcome, PipelineError> {
        let parts = record.part_ids();
        if let Err(error) = self.scheduler.queue_parts(&parts).await {
            self.give_up_lease(&record, lease).await;
            return Err(error.into());
        }
        record.state = MessageState::InParts;
        self.ledger.checkpoint(&record, &[], 0, lease).await?;
        let recipients = record.fan_out.map_or(0, |fan_out| fan_out.recipients);
        info!(parts = parts.len(), recipients, cost = record.cost, "queued in parts");
        Ok(Outcome::InParts { message_id: record.message_id, parts: parts.len(), recipients, cost: record.cost, fresh })
    }

    /// Sends the parts the queue handed out, one after the other. A part not finished (the
    /// provider said "not now", another invocation holds it, the deadline came) is named in the
    /// answer, so the queue hands it out again; a queue message that is no part of ours is
    /// dropped.
    pub(crate) async fn send_parts(&self, parts: &[QueuedPart], invocation: &Invocation) -> Vec<Outcome> {
        let mut outcomes = Vec::with_capacity(parts.len());
        for part in parts {
            let Some(part_id) = &part.part_id else { continue };
            match self.send_when_due(part_id, invocation).await {
                Ok(outcome) => outcomes.push(outcome),
                Err(error) => {
                    let retryable = error.is_retryable();
                    warn!(part = %part_id, retryable, error = %mask_numbers_in(&error.to_string()), "part not finished; back to the queue");
                    outcomes.push(Outcome::Postponed {
                        message_id: part_id.clone(),
                        item: part.item.clone(),
                        retryable,
                    });
                }
            }
        }
        outcomes
    }
}

/// The function's answer to the queue: the queue messages to hand out again.
pub fn batch_response(outcomes: &[Outcome]) -> serde_json::Value {
    let failures: Vec<serde_json::Value> = outcomes
        .iter()
        .filter_map(|outcome| match outcome {
            Outcome::Postponed { item, .. } => Some(serde_json::json!({ "itemIdentifier": item })),
            _ => None,
        })
        .collect();
    serde_json::json!({ "batchItemFailures": failures })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pace_spaces_its_starts_by_the_rate() {
        let mut pace = Pace::new(10.0, chrono::Utc::now() + chrono::Duration::seconds(60));
        let first = pace.next_start();
        let second = pace.next_start();
        let third = pace.next_start();
        assert_eq!(second - first, Duration::from_millis(100));
        assert_eq!(third - second, Duration::from_millis(100));
    }

    #[test]
    fn a_pace_keeps_about_a_seconds_worth_in_flight() {
        let deadline = chrono::Utc::now() + chrono::Duration::seconds(60);
        assert_eq!(Pace::new(10.0, deadline).window(16), 10);
        assert_eq!(Pace::new(100.0, deadline).window(16), 16);
        assert_eq!(Pace::new(0.5, deadline).window(16), 1);
    }

    #[test]
    fn a_pace_stops_claiming_before_the_deadline() {
        let soon = chrono::Utc::now() + chrono::Duration::seconds(5);
        assert!(Pace::new(10.0, soon).out_of_time(chrono::Utc::now));
        let later = chrono::Utc::now() + chrono::Duration::seconds(60);
        assert!(!Pace::new(10.0, later).out_of_time(chrono::Utc::now));
    }

    #[test]
    fn the_queue_is_told_which_parts_to_hand_out_again() {
        let outcomes = vec![
            Outcome::NothingDue { message_id: "m-p001".into() },
            Outcome::Postponed { message_id: "m-p002".into(), item: "q-2".into(), retryable: true },
        ];
        assert_eq!(
            batch_response(&outcomes),
            serde_json::json!({ "batchItemFailures": [{ "itemIdentifier": "q-2" }] })
        );
        assert_eq!(batch_response(&[]), serde_json::json!({ "batchItemFailures": [] }));
    }
}
