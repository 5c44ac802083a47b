//! The statistics page's chart: stacked bars of SMS by fate (delivered, failed, unknown, on their
//! way), one bar per day or per month, as SVG geometry that the template draws. Only numbers
//! and dates go into it: there is nothing to escape, and the template escapes anyway.

use std::collections::BTreeMap;

use crate::domain::stats::DayStats;

/// One row of the statistics: a day (`2026-11-25`) or a month (`2026-11`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    pub label: String,
    pub emails: u64,
    pub rejected: u64,
    pub sms: u64,
    pub parts: u64,
    pub delivered: u64,
    pub failed: u64,
    pub unknown: u64,
    pub open: u64,
    pub credits_debited: u64,
    pub credits_refunded: u64,
}

impl Row {
    fn add(&mut self, day: &DayStats) {
        self.emails += day.emails;
        self.rejected += day.rejected.values().sum::<u64>();
        self.sms += day.sms;
        self.parts += day.parts;
        self.delivered += day.delivered;
        self.failed += day.failed;
        self.unknown += day.unknown;
        self.open += day.open;
        self.credits_debited += day.credits_debited;
        self.credits_refunded += day.credits_refunded;
    }
}

/// The rows per day (`monthly` false) or per month, oldest first.
pub fn rows(days: &[DayStats], monthly: bool) -> Vec<Row> {
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    for day in days {
        let label = if monthly { day.date.format("%Y-%m").to_string() } else { day.date.to_string() };
        rows.entry(label.clone()).or_insert_with(|| Row { label, ..Row::default() }).add(day);
    }
    rows.into_values().collect()
}

/// Every day in one row, labelled `total`.
pub fn total(days: &[DayStats]) -> Row {
    let mut total = Row { label: "total".into(), ..Row::default() };
    for day in days {
        total.add(day);
    }
    total
}

/// A rectangle of the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    /// The CSS class that colours it: `delivered`, `failed`, `unknown` or `open`.
    pub class: &'static str,
    /// What a pointer over it shows.
    pub title: String,
}

/// A label under the bars.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub x: u32,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub width: u32,
    pub height: u32,
    /// The baseline's y.
    pub base: u32,
    pub max: u64,
    pub bars: Vec<Bar>,
    pub ticks: Vec<Tick>,
}

/// The chart of `rows`: its width grows with their number, the tallest bar fills the height.
pub fn chart(rows: &[Row]) -> Chart {
    const PLOT: u32 = 180;
    const TOP: u32 = 10;
    const SLOT: u32 = 24;
    let max = rows.iter().map(|row| row.delivered + row.failed + row.unknown + row.open).max().unwrap_or(0).max(1);
    let base = TOP + PLOT;
    let mut bars = Vec::new();
    let mut ticks = Vec::new();
    let every = (rows.len() / 12).max(1);
    for (i, row) in rows.iter().enumerate() {
        let x = 40 + i as u32 * SLOT;
        let mut top = base;
        for (count, class) in
            [(row.delivered, "delivered"), (row.failed, "failed"), (row.unknown, "unknown"), (row.open, "open")]
        {
            if count == 0 {
                continue;
            }
            let height = ((count as f64 / max as f64) * PLOT as f64).round().max(1.0) as u32;
            top = top.saturating_sub(height);
            bars.push(Bar {
                x,
                y: top,
                width: SLOT - 6,
                height,
                class,
                title: format!("{}: {count} {class}", row.label),
            });
        }
        if i % every == 0 {
            ticks.push(Tick { x: x + (SLOT - 6) / 2, text: row.label.clone() });
        }
    }
    Chart { width: 40 + rows.len().max(1) as u32 * SLOT + 10, height: base + 40, base, max, bars, ticks }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn day(date: &str, delivered: u64, failed: u64) -> DayStats {
        DayStats {
            date: NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
            emails: 1,
            accepted: 1,
            rejected: [("104".to_owned(), 2)].into(),
            dropped: 0,
            previewed: 0,
            sms: delivered + failed,
            parts: delivered + failed,
            delivered,
            failed,
            unknown: 0,
            open: 0,
            opted_out: 0,
            credits_debited: delivered + failed,
            credits_refunded: failed,
        }
    }

    #[test]
    fn the_total_is_every_day_in_one_row() {
        let days = [day("2026-10-31", 3, 1), day("2026-11-01", 8, 0), day("2026-11-02", 1, 1)];
        let total = total(&days);
        assert_eq!(total.label, "total");
        assert_eq!((total.emails, total.rejected, total.sms, total.delivered, total.failed), (3, 6, 14, 12, 2));
        assert_eq!((total.credits_debited, total.credits_refunded), (14, 2));
    }

    #[test]
    fn days_add_up_into_months_and_the_tallest_bar_fills_the_plot() {
        let days = [day("2026-10-31", 3, 1), day("2026-11-01", 8, 0), day("2026-11-02", 1, 1)];
        let months = rows(&days, true);
        assert_eq!(months.iter().map(|row| row.label.as_str()).collect::<Vec<_>>(), ["2026-10", "2026-11"]);
        assert_eq!((months[1].delivered, months[1].failed, months[1].rejected), (9, 1, 4));
        let drawn = chart(&rows(&days, false));
        assert_eq!(drawn.max, 8);
        let tallest = drawn.bars.iter().find(|bar| bar.title == "2026-11-01: 8 delivered").unwrap();
        assert_eq!((tallest.y, tallest.height), (10, 180));
        assert_eq!(drawn.ticks.len(), 3);
        assert!(chart(&[]).bars.is_empty());
    }
}
