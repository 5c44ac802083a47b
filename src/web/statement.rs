//! Every movement of an account's credits with its running balance, and the monthly statement.
//!
//! Debits and refunds are read from the message records (each record says what it cost and
//! what was given back); the operator's credits, the transfers between an account and its
//! sub-accounts and the refunds of sends the customer cancelled are the movements the customer
//! space records ([`StoredMovement`]): a cancelled send's refund is counted once, from the
//! movement when there is one (it is there however long ago the send was scheduled), else from
//! its record (a cancel by the operator). The running
//! balance is computed backwards from the balance the account holds now, so the lines always
//! add up to it: a movement nobody recorded (credits the operator added before the customer
//! space recorded them) shows as part of the opening balance, never as a wrong line.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::store::{MovementKind, StoredMovement};
use crate::domain::message::MessageRecord;
use crate::plural::{count, english};

/// What moved the credits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    /// A message's debit: its recipients × parts.
    Debit {
        message_id: String,
        recipients: usize,
        parts: u32,
    },
    /// Credits a message gave back (recipients refused or failed for good, a cancelled schedule).
    Refund {
        message_id: String,
    },
    /// Credits added by the operator.
    Credit,
    TransferIn {
        from: String,
    },
    TransferOut {
        to: String,
    },
}

impl What {
    pub fn label(&self) -> String {
        match self {
            What::Debit { recipients, parts, .. } => format!(
                "SMS: {} × {}",
                english(count(*recipients), ("recipient", "recipients")),
                english(u64::from(*parts), ("part", "parts"))
            ),
            What::Refund { .. } => "Refund".to_owned(),
            What::Credit => "Credits added by the operator".to_owned(),
            What::TransferIn { from } => format!("Transfer from {from}"),
            What::TransferOut { to } => format!("Transfer to {to}"),
        }
    }

    pub fn message_id(&self) -> Option<&str> {
        match self {
            What::Debit { message_id, .. } | What::Refund { message_id } => Some(message_id),
            _ => None,
        }
    }
}

/// One movement: when, what, how many credits (negative: taken), and the balance after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub at: DateTime<Utc>,
    pub what: What,
    pub credits: i64,
    pub balance: i64,
}

/// When a record's refund happened, as near as the record tells: the latest report that
/// refunded, else when it was closed or settled, else when it was cancelled (a cancelled
/// schedule), else when it was received.
fn refunded_at(record: &MessageRecord) -> DateTime<Utc> {
    let reported = record
        .recipients
        .iter()
        .filter_map(|recipient| recipient.report.as_ref().filter(|report| report.refunded).map(|report| report.at))
        .max();
    reported.or(record.closed_at).or(record.settled_at).or(record.cancelled_at).unwrap_or(record.received_at)
}

/// Every movement the records and the stored movements tell, oldest first, with the running
/// balance that ends at `balance_now`.
pub fn lines(records: &[MessageRecord], stored: &[StoredMovement], balance_now: u64) -> Vec<Line> {
    // Refunds recorded as movements (sends the customer cancelled): not read from their records again.
    let recorded_refunds: HashSet<&str> = stored
        .iter()
        .filter(|movement| movement.kind == MovementKind::Refund)
        .filter_map(|movement| movement.other.as_deref())
        .collect();
    let mut lines = Vec::new();
    for record in records.iter().filter(|record| record.cost > 0) {
        let message_id = record.message_id.clone();
        let debit =
            What::Debit { message_id: message_id.clone(), recipients: record.recipients.len(), parts: record.parts };
        lines.push(Line { at: record.received_at, what: debit, credits: -(record.cost as i64), balance: 0 });
        if record.refunded > 0 && !recorded_refunds.contains(message_id.as_str()) {
            lines.push(Line {
                at: refunded_at(record).max(record.received_at),
                what: What::Refund { message_id },
                credits: record.refunded as i64,
                balance: 0,
            });
        }
    }
    for movement in stored {
        let (what, sign) = match movement.kind {
            MovementKind::Credit => (What::Credit, 1),
            MovementKind::TransferIn => (What::TransferIn { from: movement.other.clone().unwrap_or_default() }, 1),
            MovementKind::TransferOut => (What::TransferOut { to: movement.other.clone().unwrap_or_default() }, -1),
            MovementKind::Refund => (What::Refund { message_id: movement.other.clone().unwrap_or_default() }, 1),
        };
        lines.push(Line { at: movement.at, what, credits: sign * movement.credits as i64, balance: 0 });
    }
    lines.sort_by_key(|line| line.at);
    let mut balance = balance_now as i64;
    for line in lines.iter_mut().rev() {
        line.balance = balance;
        balance -= line.credits;
    }
    lines
}

/// A month's statement: the balance before its first instant, its movements, the balance after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub opening: i64,
    pub closing: i64,
    pub debited: i64,
    pub credited: i64,
    pub lines: Vec<Line>,
}

/// The statement of the period `from..=until` out of every line since `from` (see [`lines`]),
/// whose last balance is the account's balance now.
pub fn statement(all: &[Line], from: DateTime<Utc>, until: DateTime<Utc>, balance_now: u64) -> Statement {
    let within: Vec<Line> = all.iter().filter(|line| from <= line.at && line.at <= until).cloned().collect();
    let after: i64 = all.iter().filter(|line| line.at > until).map(|line| line.credits).sum();
    let closing = balance_now as i64 - after;
    let net: i64 = within.iter().map(|line| line.credits).sum();
    Statement {
        opening: closing - net,
        closing,
        debited: -within.iter().filter(|line| line.credits < 0).map(|line| line.credits).sum::<i64>(),
        credited: within.iter().filter(|line| line.credits > 0).map(|line| line.credits).sum(),
        lines: within,
    }
}

/// The statement as CSV (RFC 4180, comma-separated, every field quoted).
pub fn csv(login: &str, month: &str, statement: &Statement) -> String {
    let quote = |field: &str| format!("\"{}\"", field.replace('"', "\"\""));
    let mut out = String::from("date,account,movement,message,credits,balance\r\n");
    let row = |at: &str, what: &str, message: &str, credits: String, balance: String| {
        [quote(at), quote(login), quote(what), quote(message), quote(&credits), quote(&balance)].join(",") + "\r\n"
    };
    out.push_str(&row(month, "Opening balance", "", String::new(), statement.opening.to_string()));
    for line in &statement.lines {
        out.push_str(&row(
            &line.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            &line.what.label(),
            line.what.message_id().unwrap_or_default(),
            line.credits.to_string(),
            line.balance.to_string(),
        ));
    }
    out.push_str(&row(month, "Closing balance", "", String::new(), statement.closing.to_string()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 10, 0, 0).unwrap()
    }

    fn record(id: &str, day: u32, cost: u64, refunded: u64) -> MessageRecord {
        let mut record = MessageRecord::new(id, at(day));
        record.cost = cost;
        record.refunded = refunded;
        record.parts = 1;
        record.settled_at = Some(at(day) + chrono::Duration::minutes(1));
        record
    }

    #[test]
    fn the_running_balance_ends_at_the_balance_now() {
        let records = [record("m1", 2, 10, 0), record("m2", 5, 4, 1), record("r", 6, 0, 0)];
        let stored = [
            StoredMovement { at: at(1), kind: MovementKind::Credit, credits: 100, other: None },
            StoredMovement { at: at(7), kind: MovementKind::TransferOut, credits: 20, other: Some("sub".into()) },
        ];
        let all = lines(&records, &stored, 67);
        let shown: Vec<(i64, i64)> = all.iter().map(|line| (line.credits, line.balance)).collect();
        assert_eq!(shown, [(100, 100), (-10, 90), (-4, 86), (1, 87), (-20, 67)]);
        assert_eq!(all[4].what.label(), "Transfer to sub");

        let month = statement(&all, at(3), at(30), 67);
        assert_eq!((month.opening, month.closing, month.debited, month.credited), (90, 67, 24, 1));
        let early = statement(&all, at(1), at(4), 67);
        assert_eq!((early.opening, early.closing, early.lines.len()), (0, 90, 2));
        let text = csv("shop", "2026-11", &month);
        assert!(
            text.starts_with(
                "date,account,movement,message,credits,balance\r\n\"2026-11\",\"shop\",\"Opening balance\""
            )
        );
        assert!(text.contains("\"Refund\",\"m2\",\"1\",\"87\""), "{text}");
    }

    #[test]
    fn a_cancelled_sends_refund_is_counted_once_when_it_was_cancelled() {
        // Scheduled on the 2nd (10 debited), 5 given to a sub-account on the 3rd, cancelled on the 4th.
        let mut cancelled = record("m1", 2, 10, 10);
        cancelled.settled_at = None;
        cancelled.cancelled_at = Some(at(4));
        let transfer =
            StoredMovement { at: at(3), kind: MovementKind::TransferOut, credits: 5, other: Some("sub".into()) };
        let refund = StoredMovement { at: at(4), kind: MovementKind::Refund, credits: 10, other: Some("m1".into()) };
        // Cancelled by the operator (only the record tells), or by the customer (recorded too).
        for stored in [vec![transfer.clone()], vec![transfer.clone(), refund.clone()]] {
            let all = lines(std::slice::from_ref(&cancelled), &stored, 95);
            let shown: Vec<(DateTime<Utc>, i64, i64)> =
                all.iter().map(|line| (line.at, line.credits, line.balance)).collect();
            assert_eq!(shown, [(at(2), -10, 90), (at(3), -5, 85), (at(4), 10, 95)], "{stored:?}");
            assert_eq!(all[2].what, What::Refund { message_id: "m1".into() });
        }
        // Scheduled long before (its record out of the period read): the recorded refund alone.
        let all = lines(&[], &[refund], 95);
        assert_eq!((all.len(), all[0].what.message_id(), all[0].balance), (1, Some("m1"), 95));
    }

    #[test]
    fn csv_fields_are_quoted() {
        let statement = Statement { opening: 0, closing: 0, debited: 0, credited: 0, lines: vec![] };
        assert!(csv("a\"b", "2026-11", &statement).contains("\"a\"\"b\""));
    }
}
