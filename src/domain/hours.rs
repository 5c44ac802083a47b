//! When a commercial SMS may reach a French number: Monday to Saturday, 08:00 to 20:00 Paris
//! time, never on a Sunday or a French public holiday. A message the manual calls commercial
//! (it ends with the [`STOP_MENTION`](crate::domain::sender::STOP_MENTION), see
//! [`has_stop_mention`]) sent outside those hours is held until the next allowed minute;
//! transactional messages (no STOP mention) are never held.
//!
//! Choices made here:
//! - **Paris time for every French number**, overseas ones included, as the issue says. The
//!   overseas departments and collectivities have their own clocks (Réunion UTC+4, the Antilles
//!   UTC−4, Tahiti UTC−10…): reading the window in the recipient's local time is a possible
//!   refinement, not done here.
//! - **National public holidays only** (Code du travail, L3133-1): 1 January, Easter Monday,
//!   1 May, 8 May, Ascension Thursday, Whit Monday, 14 July, 15 August, 1 November,
//!   11 November, 25 December. Whit Monday is included: the "journée de solidarité" lets an
//!   employer make it a working day, but it stays a public holiday in law. Alsace-Moselle's
//!   Good Friday and 26 December are local holidays, not national: not included (a message to
//!   Strasbourg on Good Friday goes out), nor are the overseas abolition-of-slavery days.
//! - Easter is computed (the anonymous Gregorian algorithm), never read from a table.
//!
//! Which numbers are French for this rule: see [`Recipient::is_french`] (France and its
//! overseas departments and collectivities, the one list the STOP rule of `from=` reads too).

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc, Weekday};
use chrono_tz::Europe::Paris;
use serde::{Deserialize, Serialize};

use crate::domain::date::resolve_local;
use crate::domain::message::sortable_time;
use crate::domain::recipient::Recipient;
use crate::domain::sender::has_stop_mention;

/// The first minute of the window, Paris time (allowed).
const OPENS: NaiveTime = NaiveTime::from_hms_opt(8, 0, 0).expect("08:00 is a time");

/// The first minute after the window, Paris time (not allowed: the window is [08:00, 20:00)).
const CLOSES: NaiveTime = NaiveTime::from_hms_opt(20, 0, 0).expect("20:00 is a time");

/// The most days looked ahead for an allowed day. Sundays and holidays never make more than
/// two days in a row (Easter Sunday then Easter Monday, a Sunday then Whit Monday…), so a
/// week is a wide margin; it only bounds the search at the end of the calendar.
const DAYS_SEARCHED: usize = 7;

/// Easter Sunday of a Gregorian year (the anonymous Gregorian algorithm, a.k.a. Meeus/Jones/
/// Butcher). `None` only for a year outside chrono's calendar.
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let (d, e) = (b.div_euclid(4), b.rem_euclid(4));
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let (i, k) = (c / 4, c % 4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

/// The national public holidays of France in a year, in calendar order, each date once (see the
/// module documentation for what is and is not included): eleven, or ten when Ascension falls on
/// 1 or 8 May (1 May in 2008, 8 May in 2059…). Empty for a year outside chrono's calendar.
pub fn french_public_holidays(year: i32) -> Vec<NaiveDate> {
    let Some(easter) = easter_sunday(year) else { return Vec::new() };
    let after_easter = |days: u64| easter.checked_add_days(Days::new(days));
    let fixed = |month: u32, day: u32| NaiveDate::from_ymd_opt(year, month, day);
    let mut holidays: Vec<NaiveDate> = [
        fixed(1, 1),
        after_easter(1),  // Easter Monday
        fixed(5, 1),      // Fête du Travail
        fixed(5, 8),      // Victoire 1945
        after_easter(39), // Ascension Thursday
        after_easter(50), // Whit Monday
        fixed(7, 14),
        fixed(8, 15),
        fixed(11, 1),
        fixed(11, 11),
        fixed(12, 25),
    ]
    .into_iter()
    .flatten()
    .collect();
    holidays.sort_unstable();
    holidays.dedup();
    holidays
}

/// Whether a date is a French national public holiday (see [`french_public_holidays`]).
pub fn is_french_public_holiday(date: NaiveDate) -> bool {
    french_public_holidays(date.year()).contains(&date)
}

/// Whether commercial messages may go out on that Paris date at all: Monday to Saturday, not
/// a public holiday.
fn is_marketing_day(date: NaiveDate) -> bool {
    date.weekday() != Weekday::Sun && !is_french_public_holiday(date)
}

/// Whether a commercial message may go out to a French number at that instant: a marketing day
/// and, in Paris time, from 08:00:00 included to 20:00:00 excluded.
pub fn is_allowed(at: DateTime<Utc>) -> bool {
    paris_time(at).is_some_and(|local| is_marketing_day(local.date()) && (OPENS..CLOSES).contains(&local.time()))
}

/// The Paris wall-clock time of an instant; `None` in the last hours of chrono's calendar, where
/// it would fall past its end.
fn paris_time(at: DateTime<Utc>) -> Option<NaiveDateTime> {
    let utc = at.naive_utc();
    utc.checked_add_offset(Paris.offset_from_utc_datetime(&utc).fix())
}

/// The first instant from `at` on when a commercial message may go out to a French number:
/// `at` itself, to the nanosecond, when it is allowed; otherwise the next opening, 08:00:00
/// Paris time of the next marketing day (the same day when `at` is before 08:00), a whole
/// minute. 07:59:30 gives 08:00:00; 20:00:00 gives the next day's 08:00.
///
/// The window is in Paris local time, so its UTC bounds move with daylight saving time
/// (07:00 UTC in winter, 06:00 UTC in summer); the clocks change at 02:00/03:00, so 08:00 always
/// exists and happens once. Near the end of chrono's calendar, where no opening can be
/// computed, `at` is returned.
pub fn next_allowed(at: DateTime<Utc>) -> DateTime<Utc> {
    if is_allowed(at) {
        return at;
    }
    let Some(local) = paris_time(at) else { return at };
    let today = local.date();
    let first = if local.time() < OPENS { Some(today) } else { today.succ_opt() };
    std::iter::successors(first, |date| date.succ_opt())
        .take(DAYS_SEARCHED)
        .find(|&date| is_marketing_day(date))
        .map_or(at, |date| resolve_local(date.and_time(OPENS), Paris))
}

/// When a message must wait for the French marketing hours: `Some(next allowed instant)` when
/// it is commercial (its `text` ends with the STOP mention), at least one recipient is French
/// ([`Recipient::is_french`]) and `at` (when it would go: now, or the `date=` asked for) is outside
/// the hours; `None` when it may go at `at`. The whole message is held, foreign recipients
/// included: one schedule, one record.
pub fn held_until<'a>(
    at: DateTime<Utc>,
    text: &str,
    recipients: impl IntoIterator<Item = &'a Recipient>,
) -> Option<DateTime<Utc>> {
    if !has_stop_mention(text) || !recipients.into_iter().any(Recipient::is_french) {
        return None;
    }
    let allowed = next_allowed(at);
    (allowed != at).then_some(allowed)
}

/// Why a message waits past the time it was due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    /// A commercial message to a French number, due outside the French marketing hours.
    MarketingHours,
}

/// What a held message's record says of its hold: why, and when it was due (when it was
/// received, or its `date=`); its `due_at` is the instant it is held until.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub reason: HoldReason,
    #[serde(with = "sortable_time")]
    pub original_due_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDateTime, TimeDelta, TimeZone, Timelike};
    use proptest::prelude::*;

    use super::*;
    use crate::domain::recipient::parse_recipients;

    fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).expect("a date")
    }

    /// A Paris wall-clock time as an instant.
    fn paris(date: NaiveDate, hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
        let time = NaiveTime::from_hms_opt(hour, minute, second).expect("a time");
        resolve_local(date.and_time(time), Paris)
    }

    fn utc(value: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S").expect(value).and_utc()
    }

    /// The Paris wall-clock time of an instant, as `YYYY-MM-DD HH:MM:SS Www`.
    fn wall(at: DateTime<Utc>) -> String {
        at.with_timezone(&Paris).format("%Y-%m-%d %H:%M:%S %a").to_string()
    }

    fn recipients(numbers: &str) -> Vec<Recipient> {
        parse_recipients(numbers).valid
    }

    #[test]
    fn easter_is_computed_for_any_year() {
        for (year, month, day) in [
            (2000, 4, 23),
            (2008, 3, 23),
            (2011, 4, 24),
            (2019, 4, 21),
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2038, 4, 25),
            (2285, 3, 22),
            (1943, 4, 25),
        ] {
            assert_eq!(easter_sunday(year), Some(date(year, month, day)), "{year}");
        }
    }

    #[test]
    fn easter_is_always_a_sunday_between_22_march_and_25_april() {
        for year in 1583..=4100 {
            let easter = easter_sunday(year).expect("a date");
            assert_eq!(easter.weekday(), Weekday::Sun, "{year}");
            assert!((date(year, 3, 22)..=date(year, 4, 25)).contains(&easter), "{year}: {easter}");
        }
        assert_eq!(easter_sunday(i32::MAX), None, "outside chrono's calendar");
        assert!(french_public_holidays(i32::MIN).is_empty());
    }

    #[test]
    fn the_holidays_of_2026() {
        let expected = [
            date(2026, 1, 1),
            date(2026, 4, 6),   // Easter Monday
            date(2026, 5, 1),   // Friday
            date(2026, 5, 8),   // Friday
            date(2026, 5, 14),  // Ascension
            date(2026, 5, 25),  // Whit Monday
            date(2026, 7, 14),  // Tuesday
            date(2026, 8, 15),  // Saturday
            date(2026, 11, 1),  // Sunday
            date(2026, 11, 11), // Wednesday
            date(2026, 12, 25), // Friday
        ];
        assert_eq!(french_public_holidays(2026), expected);
    }

    #[test]
    fn the_holidays_of_2027() {
        let expected = [
            date(2027, 1, 1),
            date(2027, 3, 29),  // Easter Monday, the day after the spring clock change
            date(2027, 5, 1),   // Saturday
            date(2027, 5, 6),   // Ascension
            date(2027, 5, 8),   // Saturday
            date(2027, 5, 17),  // Whit Monday
            date(2027, 7, 14),  // Wednesday
            date(2027, 8, 15),  // Sunday
            date(2027, 11, 1),  // Monday
            date(2027, 11, 11), // Thursday
            date(2027, 12, 25), // Saturday
        ];
        assert_eq!(french_public_holidays(2027), expected);
    }

    #[test]
    fn moving_holidays_keep_their_weekday() {
        for year in 1900..=2200 {
            let holidays = french_public_holidays(year);
            assert!(holidays.windows(2).all(|pair| pair[0] < pair[1]), "{year}: sorted, no duplicate");
            let easter = easter_sunday(year).expect("a date");
            let monday = easter.succ_opt().expect("a date");
            let ascension = easter.checked_add_days(Days::new(39)).expect("a date");
            let whit_monday = easter.checked_add_days(Days::new(50)).expect("a date");
            assert_eq!(
                (monday.weekday(), ascension.weekday(), whit_monday.weekday()),
                (Weekday::Mon, Weekday::Thu, Weekday::Mon)
            );
            assert!([monday, ascension, whit_monday].iter().all(|day| is_french_public_holiday(*day)));
            let on_may_day = [date(year, 5, 1), date(year, 5, 8)].contains(&ascension);
            assert_eq!(holidays.len(), if on_may_day { 10 } else { 11 }, "{year}");
        }
    }

    #[test]
    fn ascension_on_may_day_is_one_holiday() {
        assert_eq!(easter_sunday(2008), Some(date(2008, 3, 23)));
        let holidays = french_public_holidays(2008);
        assert_eq!(holidays.iter().filter(|day| **day == date(2008, 5, 1)).count(), 1);
        assert_eq!(holidays.len(), 10);
        assert_eq!(easter_sunday(2059), Some(date(2059, 3, 30)), "Ascension on 8 May");
        assert_eq!(french_public_holidays(2059).len(), 10);
    }

    #[test]
    fn local_holidays_and_ordinary_days_are_not_holidays() {
        assert!(!is_french_public_holiday(date(2026, 4, 3)), "Good Friday (Alsace-Moselle only)");
        assert!(!is_french_public_holiday(date(2026, 12, 26)), "Saint Stephen (Alsace-Moselle only)");
        assert!(!is_french_public_holiday(date(2026, 4, 5)), "Easter Sunday is a Sunday, not a holiday of its own");
        assert!(!is_french_public_holiday(date(2026, 12, 24)));
        assert!(!is_french_public_holiday(date(2026, 5, 27)), "Réunion's abolition day is local");
        assert!(is_french_public_holiday(date(2026, 5, 25)), "Whit Monday stays a public holiday");
    }

    #[test]
    fn within_the_window_a_message_goes_at_once() {
        let monday = date(2026, 3, 9);
        for (hour, minute, second) in [(8, 0, 0), (8, 0, 1), (12, 30, 0), (19, 59, 0), (19, 59, 59)] {
            let at = paris(monday, hour, minute, second);
            assert!(is_allowed(at), "{}", wall(at));
            assert_eq!(next_allowed(at), at, "{}", wall(at));
        }
        let saturday = paris(date(2026, 3, 7), 15, 0, 0);
        assert_eq!(next_allowed(saturday), saturday, "Saturdays are allowed");
        let fraction = paris(monday, 9, 0, 0) + TimeDelta::milliseconds(250);
        assert_eq!(next_allowed(fraction), fraction, "kept to the nanosecond inside the window");
    }

    #[test]
    fn the_window_closes_at_20_00_and_opens_at_08_00() {
        let monday = date(2026, 3, 9);
        let tuesday_opening = paris(date(2026, 3, 10), 8, 0, 0);
        assert!(!is_allowed(paris(monday, 20, 0, 0)));
        assert_eq!(next_allowed(paris(monday, 20, 0, 0)), tuesday_opening);
        assert_eq!(next_allowed(paris(monday, 23, 59, 59)), tuesday_opening);
        assert_eq!(next_allowed(paris(date(2026, 3, 10), 0, 0, 0)), tuesday_opening);
        assert_eq!(next_allowed(paris(date(2026, 3, 10), 7, 59, 30)), tuesday_opening, "rounded up to the minute");
        let just_before = tuesday_opening - TimeDelta::nanoseconds(1);
        assert_eq!(next_allowed(just_before), tuesday_opening);
    }

    #[test]
    fn saturday_at_21_00_waits_for_monday_08_00() {
        let saturday = paris(date(2026, 3, 7), 21, 0, 0);
        assert_eq!(saturday, utc("2026-03-07 20:00:00"));
        assert_eq!(next_allowed(saturday), utc("2026-03-09 07:00:00"));
        assert_eq!(wall(next_allowed(saturday)), "2026-03-09 08:00:00 Mon");
    }

    #[test]
    fn sunday_waits_for_monday_08_00() {
        for (hour, minute) in [(0, 0), (7, 59), (8, 0), (12, 0), (19, 59), (20, 0), (23, 59)] {
            let sunday = paris(date(2026, 3, 8), hour, minute, 0);
            assert!(!is_allowed(sunday));
            assert_eq!(wall(next_allowed(sunday)), "2026-03-09 08:00:00 Mon", "{}", wall(sunday));
        }
    }

    #[test]
    fn whit_monday_waits_for_tuesday_08_00() {
        let whit_monday = paris(date(2027, 5, 17), 10, 0, 0);
        assert!(!is_allowed(whit_monday));
        assert_eq!(next_allowed(whit_monday), utc("2027-05-18 06:00:00"));
        assert_eq!(wall(next_allowed(whit_monday)), "2027-05-18 08:00:00 Tue");
        let saturday_before = paris(date(2027, 5, 15), 21, 0, 0);
        assert_eq!(wall(next_allowed(saturday_before)), "2027-05-18 08:00:00 Tue", "Sunday then Whit Monday");
    }

    #[test]
    fn the_eve_of_a_holiday_at_20_00_waits_for_the_day_after_it() {
        let eve_of_14_july = paris(date(2026, 7, 13), 20, 0, 0);
        assert_eq!(wall(next_allowed(eve_of_14_july)), "2026-07-15 08:00:00 Wed");
        let eve_of_ascension = paris(date(2026, 5, 13), 20, 30, 0);
        assert_eq!(wall(next_allowed(eve_of_ascension)), "2026-05-15 08:00:00 Fri");
        let new_years_eve = paris(date(2026, 12, 31), 20, 0, 0);
        assert_eq!(wall(next_allowed(new_years_eve)), "2027-01-02 08:00:00 Sat", "across the year");
    }

    #[test]
    fn a_holiday_on_a_saturday_joins_the_sunday() {
        let friday_before_14_july = paris(date(2029, 7, 13), 20, 30, 0);
        assert_eq!(wall(next_allowed(friday_before_14_july)), "2029-07-16 08:00:00 Mon");
        let on_14_july = paris(date(2029, 7, 14), 11, 0, 0);
        assert_eq!(wall(next_allowed(on_14_july)), "2029-07-16 08:00:00 Mon");
        let christmas_saturday = paris(date(2027, 12, 25), 10, 0, 0);
        assert_eq!(wall(next_allowed(christmas_saturday)), "2027-12-27 08:00:00 Mon");
    }

    #[test]
    fn a_holiday_on_a_monday_makes_a_long_weekend() {
        let saturday_before_1_may = paris(date(2023, 4, 29), 21, 0, 0);
        assert_eq!(wall(next_allowed(saturday_before_1_may)), "2023-05-02 08:00:00 Tue");
        let saturday_before_1_november = paris(date(2027, 10, 30), 20, 0, 0);
        assert_eq!(wall(next_allowed(saturday_before_1_november)), "2027-11-02 08:00:00 Tue");
    }

    #[test]
    fn the_window_follows_paris_time_across_the_spring_clock_change() {
        // 2026-03-29: 02:00 CET becomes 03:00 CEST. The Saturday before, the window ends at
        // 19:00 UTC; the Monday after, it opens at 06:00 UTC.
        let saturday = paris(date(2026, 3, 28), 20, 0, 0);
        assert_eq!(saturday, utc("2026-03-28 19:00:00"));
        assert!(is_allowed(utc("2026-03-28 18:59:59")));
        assert_eq!(next_allowed(saturday), utc("2026-03-30 06:00:00"));
        assert_eq!(next_allowed(utc("2026-03-29 01:30:00")), utc("2026-03-30 06:00:00"), "during the jump");
        // 2027: the clocks change on Easter Sunday, and Easter Monday follows.
        let saturday = paris(date(2027, 3, 27), 21, 0, 0);
        assert_eq!(saturday, utc("2027-03-27 20:00:00"));
        assert_eq!(next_allowed(saturday), utc("2027-03-30 06:00:00"));
        assert_eq!(wall(next_allowed(saturday)), "2027-03-30 08:00:00 Tue");
    }

    #[test]
    fn the_window_follows_paris_time_across_the_autumn_clock_change() {
        // 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens twice.
        let saturday = paris(date(2026, 10, 24), 21, 0, 0);
        assert_eq!(saturday, utc("2026-10-24 19:00:00"));
        assert_eq!(next_allowed(saturday), utc("2026-10-26 07:00:00"));
        assert_eq!(next_allowed(utc("2026-10-25 00:30:00")), utc("2026-10-26 07:00:00"), "first 02:30");
        assert_eq!(next_allowed(utc("2026-10-25 01:30:00")), utc("2026-10-26 07:00:00"), "second 02:30");
        let monday_morning = utc("2026-10-26 06:30:00"); // 07:30 CET
        assert!(!is_allowed(monday_morning));
        assert_eq!(next_allowed(monday_morning), utc("2026-10-26 07:00:00"));
        let summer_morning = utc("2026-10-23 06:30:00"); // 08:30 CEST, a Friday
        assert_eq!(next_allowed(summer_morning), summer_morning);
    }

    #[test]
    fn at_the_end_of_the_calendar_the_instant_is_kept() {
        let last = DateTime::<Utc>::MAX_UTC;
        assert_eq!(next_allowed(last), last);
        let first = Utc.from_utc_datetime(&NaiveDateTime::MIN);
        assert!(next_allowed(first) >= first);
    }

    #[test]
    fn only_commercial_messages_to_french_numbers_are_held() {
        let saturday_night = paris(date(2026, 3, 7), 21, 0, 0);
        let monday = paris(date(2026, 3, 9), 8, 0, 0);
        let commercial = "Soldes -50% ce week-end STOP au 36180";
        let transactional = "Votre colis arrive demain";
        let french = recipients("0612345678");
        let abroad = recipients("+32470123456");
        let mixed = recipients("+32470123456;+262692123456");
        assert_eq!(held_until(saturday_night, commercial, &french), Some(monday));
        assert_eq!(held_until(saturday_night, commercial, &mixed), Some(monday), "one French recipient holds all");
        assert_eq!(held_until(saturday_night, transactional, &french), None, "never held");
        assert_eq!(held_until(saturday_night, commercial, &abroad), None);
        assert_eq!(held_until(saturday_night, commercial, &[]), None);
        assert_eq!(held_until(monday, commercial, &french), None, "within the window");
        let whit_monday = paris(date(2027, 5, 17), 10, 0, 0);
        assert_eq!(held_until(whit_monday, commercial, &french), Some(paris(date(2027, 5, 18), 8, 0, 0)));
    }

    proptest! {
        #[test]
        fn the_next_allowed_instant_is_allowed_and_nothing_earlier_is(
            seconds in 1_577_836_800i64..2_208_988_800, // 2020-01-01 to 2040-01-01
        ) {
            let at = DateTime::from_timestamp(seconds, 0).expect("an instant");
            let next = next_allowed(at);
            prop_assert!(next >= at);
            prop_assert!(is_allowed(next), "{}", wall(next));
            prop_assert_eq!(next_allowed(next), next);
            if next != at {
                let local = next.with_timezone(&Paris);
                prop_assert_eq!((local.hour(), local.minute(), local.second(), local.nanosecond()), (8, 0, 0, 0));
                prop_assert!(next - at <= TimeDelta::days(4), "{} to {}", wall(at), wall(next));
                let mut probe = at;
                while probe < next {
                    prop_assert!(!is_allowed(probe), "{} is allowed before {}", wall(probe), wall(next));
                    probe += TimeDelta::minutes(17);
                }
            }
        }
    }
}
