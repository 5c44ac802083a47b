//! An account's activity, day by day, as `mail2sms-admin stats` prints it: the emails its
//! message records tell of, what they cost and what became of their SMS.
//!
//! Days are the account's own (its time zone): an email belongs to the day it was received on
//! there. A recipient counts under the fate it has reached at the moment the statistics are
//! made, so the same day reads differently while its SMS are still on their way.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use thiserror::Error;

use super::date::resolve_local;
use super::message::{Delivery, MessageRecord, MessageState};

/// How many days the statistics cover when not told: the last thirty, today included.
pub const DEFAULT_DAYS: u64 = 30;

/// The most days one run may cover: a year, a leap day included.
pub const MAX_DAYS: i64 = 366;

/// The days counted, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub since: NaiveDate,
    pub until: NaiveDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PeriodError {
    #[error("the period ends on {until}, before it begins on {since}")]
    Backwards { since: NaiveDate, until: NaiveDate },
    #[error("{since} to {until} is {days} days: at most {MAX_DAYS} at a time")]
    TooLong { since: NaiveDate, until: NaiveDate, days: i64 },
}

impl Period {
    /// The period from `since` to `until` as the operator gave them: `until` is `today` when not
    /// given, `since` the day that makes [`DEFAULT_DAYS`] up to `until`.
    pub fn new(since: Option<NaiveDate>, until: Option<NaiveDate>, today: NaiveDate) -> Result<Period, PeriodError> {
        let until = until.unwrap_or(today);
        let since =
            since.unwrap_or_else(|| until.checked_sub_days(Days::new(DEFAULT_DAYS - 1)).unwrap_or(NaiveDate::MIN));
        if until < since {
            return Err(PeriodError::Backwards { since, until });
        }
        let days = (until - since).num_days() + 1;
        if days > MAX_DAYS {
            return Err(PeriodError::TooLong { since, until, days });
        }
        Ok(Period { since, until })
    }

    pub fn contains(&self, date: NaiveDate) -> bool {
        self.since <= date && date <= self.until
    }

    /// The first and the last instant (to the millisecond, as records keep time) of the period
    /// in `zone`: from the first day's midnight to just before the midnight after the last.
    pub fn bounds(&self, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        let midnight = |date: NaiveDate| resolve_local(date.and_time(NaiveTime::MIN), zone);
        let end =
            self.until.succ_opt().map_or(DateTime::<Utc>::MAX_UTC, |next| midnight(next) - TimeDelta::milliseconds(1));
        (midnight(self.since), end)
    }
}

/// One day of an account's activity. Every count is of the records received that day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayStats {
    pub date: NaiveDate,
    /// Emails received, whatever became of them.
    pub emails: u64,
    /// Emails debited: sent, scheduled, or cancelled after.
    pub accepted: u64,
    /// Emails refused, by status code (`"104"`).
    pub rejected: BTreeMap<String, u64>,
    /// Emails not processed at all (not an email, spam, virus).
    pub dropped: u64,
    /// Dry runs (`dryrun`): previews answered, nothing sent nor debited; neither accepted nor
    /// rejected, even when the preview says the real send would be refused.
    pub previewed: u64,
    /// Recipients of the accepted emails (a cancelled email has none: nothing will be sent),
    /// but the opted-out ones.
    pub sms: u64,
    /// Their parts: what the SMS cost.
    pub parts: u64,
    /// SMS the phones got.
    pub delivered: u64,
    /// SMS refused by the provider, failed or expired.
    pub failed: u64,
    /// SMS nobody will say more of: in doubt, unconfirmed by the carrier, or still without a
    /// final word when their message was closed.
    pub unknown: u64,
    /// SMS still on their way: to be sent, being sent, or sent and waiting for their report.
    pub open: u64,
    /// Recipients of the accepted emails left out because they were on an opt-out list: never
    /// sent, never charged (not counted in `sms` nor `parts`).
    pub opted_out: u64,
    pub credits_debited: u64,
    pub credits_refunded: u64,
}

impl DayStats {
    fn new(date: NaiveDate) -> DayStats {
        DayStats {
            date,
            emails: 0,
            accepted: 0,
            rejected: BTreeMap::new(),
            dropped: 0,
            previewed: 0,
            sms: 0,
            parts: 0,
            delivered: 0,
            failed: 0,
            unknown: 0,
            open: 0,
            opted_out: 0,
            credits_debited: 0,
            credits_refunded: 0,
        }
    }

    /// Counts one record, its recipients' fates as of `now`.
    fn count(&mut self, record: &MessageRecord, now: DateTime<Utc>) {
        if record.part_of.is_some() {
            // A large email's part: its SMS and refunds; the email and its debit are its head's.
            self.credits_refunded += record.refunded;
            if record.state != MessageState::Cancelled {
                self.count_recipients(record, now);
            }
            return;
        }
        self.emails += 1;
        self.credits_debited += record.cost;
        self.credits_refunded += record.refunded;
        match record.state {
            MessageState::Rejected => {
                let status = record.status.map_or_else(|| "unknown".to_owned(), |status| status.code().to_string());
                *self.rejected.entry(status).or_default() += 1;
            }
            MessageState::Dropped => self.dropped += 1,
            MessageState::Previewed => self.previewed += 1,
            MessageState::Cancelled | MessageState::InParts => self.accepted += 1,
            MessageState::Accepted
            | MessageState::Scheduled
            | MessageState::Sent
            | MessageState::PartiallyFailed
            | MessageState::Failed => {
                self.accepted += 1;
                self.count_recipients(record, now);
            }
        }
    }

    fn count_recipients(&mut self, record: &MessageRecord, now: DateTime<Utc>) {
        let closed = record.is_closed(now);
        for recipient in &record.recipients {
            let fate = recipient.fate();
            // An opted-out recipient is no SMS and cost nothing: counted apart.
            if fate != Delivery::OptedOut {
                self.sms += 1;
                self.parts += u64::from(record.parts);
            }
            let tally = match fate {
                Delivery::Delivered => &mut self.delivered,
                Delivery::Failed | Delivery::Expired => &mut self.failed,
                Delivery::Unknown | Delivery::Unconfirmed => &mut self.unknown,
                Delivery::Pending | Delivery::Sending | Delivery::Sent if closed => &mut self.unknown,
                Delivery::Pending | Delivery::Sending | Delivery::Sent => &mut self.open,
                Delivery::OptedOut => &mut self.opted_out,
            };
            *tally += 1;
        }
    }
}

/// The statistics of each day of `period` (in `zone`) that has records, oldest first, the
/// recipients' fates as of `now`. Records received outside the period are left out.
pub fn daily(records: &[MessageRecord], period: Period, zone: Tz, now: DateTime<Utc>) -> Vec<DayStats> {
    let mut days: BTreeMap<NaiveDate, DayStats> = BTreeMap::new();
    for record in records {
        let date = record.received_at.with_timezone(&zone).date_naive();
        if period.contains(date) {
            days.entry(date).or_insert_with(|| DayStats::new(date)).count(record, now);
        }
    }
    days.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::delivery::{DeliveryReport, SETTLE_AFTER};
    use crate::domain::message::{Discard, RecipientRecord};
    use crate::domain::recipient::Recipient;
    use crate::domain::{Rejection, StatusCode};
    use chrono::TimeZone;
    use chrono_tz::{America, Europe, Pacific};

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    /// The whole of November 2026.
    fn november() -> Period {
        Period::new(Some(day("2026-11-01")), Some(day("2026-11-30")), day("2026-12-15")).unwrap()
    }

    /// A message received at `at`, debited `parts` per recipient, its recipients as given (the
    /// sender's word, then the provider's when there is one), sent at `at`.
    fn sent(at: &str, parts: u32, recipients: &[(Delivery, Option<Delivery>)]) -> MessageRecord {
        let received = utc(at);
        let mut record = MessageRecord::new(&format!("m-{at}"), received);
        record.login = Some("boutique".to_owned());
        record.parts = parts;
        record.recipients = recipients
            .iter()
            .enumerate()
            .map(|(i, &(delivery, reported))| RecipientRecord {
                delivery,
                report: reported.map(|delivery| DeliveryReport {
                    delivery,
                    at: received + TimeDelta::minutes(1),
                    reason: None,
                    price: None,
                    refunded: false,
                }),
                ..RecipientRecord::pending(Recipient::parse_e164(&format!("+3361234567{i}")).unwrap(), None)
            })
            .collect();
        record.cost = u64::from(parts) * record.recipients.len() as u64;
        record.state = record.settled_state();
        if record.state != MessageState::Accepted {
            record.settled_at = Some(received);
        }
        record
    }

    fn rejected(at: &str, status: StatusCode) -> MessageRecord {
        let mut record = MessageRecord::rejected(&format!("r-{at}"), utc(at), &Rejection::new(status));
        record.login = Some("boutique".to_owned());
        record
    }

    #[test]
    fn the_default_period_is_the_last_thirty_days_up_to_today() {
        let today = day("2026-03-10");
        assert_eq!(Period::new(None, None, today), Ok(Period { since: day("2026-02-09"), until: today }));
        assert_eq!(
            Period::new(None, Some(day("2026-01-30")), today),
            Ok(Period { since: day("2026-01-01"), until: day("2026-01-30") })
        );
        assert_eq!(
            Period::new(Some(day("2026-03-01")), None, today),
            Ok(Period { since: day("2026-03-01"), until: today })
        );
        let one = Period::new(Some(today), Some(today), today).unwrap();
        assert!(one.contains(today) && !one.contains(day("2026-03-09")) && !one.contains(day("2026-03-11")));
    }

    #[test]
    fn a_period_backwards_or_over_a_year_is_refused() {
        let today = day("2026-03-10");
        let backwards = Period::new(Some(day("2026-03-05")), Some(day("2026-03-04")), today).unwrap_err();
        assert_eq!(backwards.to_string(), "the period ends on 2026-03-04, before it begins on 2026-03-05");
        assert!(matches!(Period::new(Some(day("2026-03-11")), None, today), Err(PeriodError::Backwards { .. })));
        // 2024 is a leap year: its 366 days are allowed, one more is not.
        assert!(Period::new(Some(day("2024-01-01")), Some(day("2024-12-31")), today).is_ok());
        let long = Period::new(Some(day("2024-01-01")), Some(day("2025-01-01")), today).unwrap_err();
        assert_eq!(long.to_string(), "2024-01-01 to 2025-01-01 is 367 days: at most 366 at a time");
        assert!(Period::new(Some(NaiveDate::MIN), Some(NaiveDate::MAX), today).is_err());
    }

    #[test]
    fn bounds_run_from_local_midnight_to_the_last_millisecond_of_the_last_day() {
        let period = Period::new(Some(day("2026-07-01")), Some(day("2026-07-31")), day("2026-08-01")).unwrap();
        assert_eq!(period.bounds(Europe::Paris), (utc("2026-06-30T22:00:00Z"), utc("2026-07-31T21:59:59.999Z")));
        // Paris changes from summer to winter time on 25 October 2026: that day has 25 hours.
        let change = Period::new(Some(day("2026-10-25")), Some(day("2026-10-25")), day("2026-11-01")).unwrap();
        assert_eq!(change.bounds(Europe::Paris), (utc("2026-10-24T22:00:00Z"), utc("2026-10-25T22:59:59.999Z")));
        assert_eq!(period.bounds(Tz::UTC), (utc("2026-07-01T00:00:00Z"), utc("2026-07-31T23:59:59.999Z")));
        // Samoa skipped 30 December 2011 altogether: the period still begins and ends.
        let skipped = Period::new(Some(day("2011-12-30")), Some(day("2011-12-30")), day("2012-01-01")).unwrap();
        let (from, until) = skipped.bounds(Pacific::Apia);
        assert!(from <= until + TimeDelta::milliseconds(1), "{from} {until}");
        let last = Period { since: NaiveDate::MAX, until: NaiveDate::MAX };
        assert_eq!(last.bounds(Tz::UTC).1, DateTime::<Utc>::MAX_UTC);
    }

    #[test]
    fn emails_fall_on_the_day_of_the_account_s_time_zone() {
        let records = [
            // 23:30 in Paris on 9 November, 00:30 on the 10th: two days.
            sent("2026-11-09T22:30:00Z", 1, &[(Delivery::Sent, None)]),
            sent("2026-11-09T23:30:00Z", 1, &[(Delivery::Sent, None)]),
            // 31 October 23:59:59.999 in Paris: before the period.
            sent("2026-10-31T22:59:59.999Z", 1, &[(Delivery::Sent, None)]),
            // 1 December 00:00 in Paris: after it.
            sent("2026-11-30T23:00:00Z", 1, &[(Delivery::Sent, None)]),
        ];
        let now = utc("2026-12-15T12:00:00Z");
        let paris = daily(&records, november(), Europe::Paris, now);
        let dates: Vec<NaiveDate> = paris.iter().map(|d| d.date).collect();
        assert_eq!(dates, [day("2026-11-09"), day("2026-11-10")]);
        assert!(paris.iter().all(|d| d.emails == 1));
        // In New York, the first two are on the 9th, the last on the 30th, and the one before
        // the period still on 31 October.
        let new_york = daily(&records, november(), America::New_York, now);
        let dates: Vec<(NaiveDate, u64)> = new_york.iter().map(|d| (d.date, d.emails)).collect();
        assert_eq!(dates, [(day("2026-11-09"), 2), (day("2026-11-30"), 1)]);
        assert!(daily(&[], november(), Europe::Paris, now).is_empty(), "no record, no day");
    }

    #[test]
    fn rejections_are_counted_by_status_and_drops_apart() {
        let at = "2026-11-10T09:00:00Z";
        let mut dropped = MessageRecord::dropped("d", utc(at), Discard::Spam);
        dropped.login = Some("boutique".to_owned());
        let records = [
            rejected(at, StatusCode::InsufficientCredits),
            rejected(at, StatusCode::InsufficientCredits),
            rejected(at, StatusCode::NoValidRecipient),
            dropped,
            sent(at, 2, &[(Delivery::Sent, None)]),
        ];
        let days = daily(&records, november(), Europe::Paris, utc("2026-11-10T10:00:00Z"));
        assert_eq!(days.len(), 1);
        let stats = &days[0];
        assert_eq!((stats.emails, stats.accepted, stats.dropped), (5, 1, 1));
        assert_eq!(stats.rejected, BTreeMap::from([("104".to_owned(), 2), ("114".to_owned(), 1)]));
        assert_eq!((stats.sms, stats.parts, stats.credits_debited), (1, 2, 2), "only the accepted one costs");
        let json = serde_json::to_value(stats).unwrap();
        assert_eq!(json["rejected"], serde_json::json!({ "104": 2, "114": 1 }));
        assert_eq!(json["date"], "2026-11-10");
    }

    #[test]
    fn recipients_count_under_their_furthest_fate() {
        use Delivery::*;
        let at = "2026-11-10T09:00:00Z";
        let message = sent(
            at,
            3,
            &[
                (Sent, Some(Delivered)),
                (Sent, Some(Failed)),
                (Sent, Some(Expired)),
                (Failed, None),
                (Unknown, None),
                (Unknown, Some(Delivered)),
                (Sent, Some(Unconfirmed)),
                (Sent, None),
                (Sent, Some(Sent)),
            ],
        );
        let stats = &daily(&[message], november(), Europe::Paris, utc("2026-11-10T10:00:00Z"))[0];
        assert_eq!((stats.sms, stats.parts), (9, 27));
        assert_eq!(stats.delivered, 2, "reported delivered, the doubt settled by the report too");
        assert_eq!(stats.failed, 3, "reported failed or expired, refused when sent");
        assert_eq!(stats.unknown, 2, "in doubt, unconfirmed");
        assert_eq!(stats.open, 2, "sent, not yet reported");
        assert_eq!(stats.delivered + stats.failed + stats.unknown + stats.open, stats.sms);
    }

    #[test]
    fn an_sms_still_open_past_its_message_s_close_is_unknown() {
        let message =
            sent("2026-11-10T09:00:00Z", 1, &[(Delivery::Sent, None), (Delivery::Sent, Some(Delivery::Sent))]);
        let close_by = message.close_by().unwrap();
        assert_eq!(close_by, utc("2026-11-10T09:00:00Z") + SETTLE_AFTER);
        let at = |now| daily(std::slice::from_ref(&message), november(), Europe::Paris, now)[0].clone();
        let before = at(close_by - TimeDelta::seconds(1));
        assert_eq!((before.open, before.unknown), (2, 0));
        let after = at(close_by);
        assert_eq!((after.open, after.unknown), (0, 2));
        // Closed by the gateway (its receipt sent) before the window ended: unknown as well.
        let mut closed = message.clone();
        closed.closed_at = Some(close_by - TimeDelta::hours(1));
        let stats = &daily(&[closed], november(), Europe::Paris, close_by - TimeDelta::hours(2))[0];
        assert_eq!((stats.open, stats.unknown), (0, 2));
    }

    #[test]
    fn a_scheduled_message_is_open_and_a_cancelled_one_has_no_sms() {
        let at = "2026-11-10T09:00:00Z";
        let mut scheduled = sent(at, 2, &[(Delivery::Pending, None), (Delivery::Pending, None)]);
        scheduled.state = MessageState::Scheduled;
        scheduled.due_at = Some(utc("2026-11-20T09:00:00Z"));
        let mut cancelled = scheduled.clone();
        cancelled.message_id = "cancelled".to_owned();
        cancelled.state = MessageState::Cancelled;
        cancelled.refunded = cancelled.cost;
        // Far past any window: a message never sent is never closed by time.
        let now = utc("2026-11-30T09:00:00Z");
        let stats = &daily(&[scheduled, cancelled], november(), Europe::Paris, now)[0];
        assert_eq!((stats.emails, stats.accepted), (2, 2));
        assert_eq!((stats.sms, stats.parts, stats.open, stats.unknown), (2, 4, 2, 0));
        assert_eq!((stats.credits_debited, stats.credits_refunded), (8, 4));
    }

    #[test]
    fn refunds_are_the_records_own() {
        let at = "2026-11-10T09:00:00Z";
        let mut refused = sent(at, 2, &[(Delivery::Sent, Some(Delivery::Delivered)), (Delivery::Failed, None)]);
        refused.refunded = 2;
        let mut reported = sent(at, 1, &[(Delivery::Sent, Some(Delivery::Failed))]);
        reported.recipients[0].report.as_mut().unwrap().refunded = true;
        reported.refunded = 1;
        let stats = &daily(&[refused, reported], november(), Europe::Paris, utc("2026-11-11T09:00:00Z"))[0];
        assert_eq!((stats.credits_debited, stats.credits_refunded), (5, 3));
        assert_eq!((stats.delivered, stats.failed), (1, 2));
    }

    #[test]
    fn opted_out_recipients_are_counted_apart_not_as_sms() {
        let at = "2026-11-10T09:00:00Z";
        let mut message = sent(at, 2, &[(Delivery::Sent, Some(Delivery::Delivered)), (Delivery::OptedOut, None)]);
        message.cost = message.chargeable() as u64 * 2;
        assert_eq!(message.state, MessageState::Sent, "an opted-out recipient is no failure");
        let stats = &daily(&[message], november(), Europe::Paris, utc("2026-11-11T09:00:00Z"))[0];
        assert_eq!((stats.sms, stats.parts, stats.delivered, stats.opted_out), (1, 2, 1, 1));
        assert_eq!((stats.failed, stats.unknown, stats.open, stats.credits_debited), (0, 0, 0, 2));
    }

    #[test]
    fn a_dry_run_is_counted_apart_neither_accepted_nor_rejected() {
        let at = "2026-11-10T09:00:00Z";
        let planned = sent(at, 2, &[(Delivery::Pending, None), (Delivery::Pending, None)]);
        let previewed = MessageRecord::previewed(&planned, None);
        let mut refused = MessageRecord::previewed(&planned, Some(&Rejection::insufficient_credits(4, 1)));
        refused.message_id = "refused".to_owned();
        let stats = &daily(&[previewed, refused], november(), Europe::Paris, utc("2026-11-10T10:00:00Z"))[0];
        assert_eq!((stats.emails, stats.previewed, stats.accepted, stats.dropped), (2, 2, 0, 0));
        assert!(stats.rejected.is_empty(), "a preview that says 104 is no refusal: {:?}", stats.rejected);
        assert_eq!((stats.sms, stats.parts, stats.open, stats.credits_debited), (0, 0, 0, 0));
        assert_eq!(serde_json::to_value(stats).unwrap()["previewed"], 2);
    }

    #[test]
    fn a_stuck_message_s_recipients_are_open() {
        let message = sent("2026-11-10T09:00:00Z", 1, &[(Delivery::Pending, None), (Delivery::Sending, None)]);
        assert_eq!(message.state, MessageState::Accepted);
        let stats =
            &daily(&[message], november(), Europe::Paris, Utc.with_ymd_and_hms(2026, 11, 29, 0, 0, 0).unwrap())[0];
        assert_eq!((stats.accepted, stats.open, stats.unknown), (1, 2, 0));
    }
}
