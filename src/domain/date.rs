//! When a message is due: the `date=` option read as a local time (manual 2.1: `YYYY-MM-DD
//! hh:ii:ss`), placed in the account's time zone, and turned into "now" or "at this instant".

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use crate::domain::status::{Rejection, StatusCode};

/// The shape of `date=`: `D` is a digit, any other byte stands for itself.
const DATE_SHAPE: &[u8; 19] = b"DDDD-DD-DD DD:DD:DD";

/// A message due within this delay is sent now.
const SEND_NOW_WITHIN: TimeDelta = TimeDelta::seconds(60);

/// How far ahead a message may be scheduled.
const LATEST_AHEAD: TimeDelta = TimeDelta::days(365);

/// How far past a non-existent local time (a clock change's gap) the first existing time is
/// looked for. Gaps are an hour, sometimes half an hour; the longest known is a whole day
/// (Samoa skipped 30 December 2011), hence a little over a day.
const GAP_SEARCH_LIMIT: TimeDelta = TimeDelta::hours(26);

/// Reads a `date=` value: exactly `YYYY-MM-DD hh:ii:ss` (no surrounding space, every field at
/// full width) naming a real calendar date and time of day (no 30 February, no 24:00:00, no
/// leap second).
pub fn parse_date(value: &str) -> Result<NaiveDateTime, Rejection> {
    let refused = || Rejection::with_detail(StatusCode::InvalidDate, "format attendu YYYY-MM-DD hh:ii:ss");
    let bytes: &[u8; 19] = value.as_bytes().try_into().map_err(|_| refused())?;
    let shaped = bytes.iter().zip(DATE_SHAPE).all(|(byte, shape)| match shape {
        b'D' => byte.is_ascii_digit(),
        _ => byte == shape,
    });
    if !shaped {
        return Err(refused());
    }
    let number = |from: usize, to: usize| bytes[from..to].iter().fold(0, |n, digit| n * 10 + u32::from(digit - b'0'));
    let year = i32::try_from(number(0, 4)).map_err(|_| refused())?;
    let date = NaiveDate::from_ymd_opt(year, number(5, 7), number(8, 10));
    let time = NaiveTime::from_hms_opt(number(11, 13), number(14, 16), number(17, 19));
    match (date, time) {
        (Some(date), Some(time)) => Ok(date.and_time(time)),
        _ => Err(refused()),
    }
}

/// The instant a local time of `tz` names.
///
/// - A time that happens twice (the clock goes back) is its first occurrence.
/// - A time that never happens (the clock goes forward over it) is the first whole minute
///   after the gap, that is the instant the clock jumped to (clock changes fall on whole
///   minutes): 02:30 in Paris on the spring-forward night is 03:00 CEST.
/// - Should no time exist within [`GAP_SEARCH_LIMIT`] after it (no time zone does that), or
///   the date be at the end of the calendar's range, the local time is read as UTC rather than
///   panic.
pub fn resolve_local(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    if let Some(instant) = tz.from_local_datetime(&local).earliest() {
        return instant.with_timezone(&Utc);
    }
    let whole_minute = local.date().and_hms_opt(local.hour(), local.minute(), 0).unwrap_or(local);
    let mut candidate = whole_minute;
    while candidate - whole_minute <= GAP_SEARCH_LIMIT {
        let Some(next) = candidate.checked_add_signed(TimeDelta::minutes(1)) else { break };
        candidate = next;
        if let Some(instant) = tz.from_local_datetime(&candidate).earliest() {
            return instant.with_timezone(&Utc);
        }
    }
    local.and_utc()
}

/// When a message goes: now, or at a later instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    Now,
    At(DateTime<Utc>),
}

/// Decides when a message due at `due` goes, it being `now`.
///
/// No date, a date in the past, or one within 60 seconds (inclusive) is sent now; a date more
/// than 365 days ahead is refused with 115; any other is scheduled.
pub fn timing(due: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<Timing, Rejection> {
    let Some(due) = due else { return Ok(Timing::Now) };
    // Near the end of chrono's range an addition overflows: no due instant can be later.
    if now.checked_add_signed(SEND_NOW_WITHIN).is_none_or(|soon| due <= soon) {
        return Ok(Timing::Now);
    }
    if now.checked_add_signed(LATEST_AHEAD).is_some_and(|latest| due > latest) {
        return Err(Rejection::with_detail(StatusCode::InvalidDate, "la date ne peut pas dépasser 365 jours"));
    }
    Ok(Timing::At(due))
}

/// When a message goes, as its customer asked: now, or at a local time of theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Now,
    At { due: DateTime<Utc>, local: NaiveDateTime, zone: Tz },
}

/// Reads `date=` (a local time, if given) in the customer's time zone, it being `now`: the one
/// place a date goes from the subject to an instant (see [`resolve_local`] and [`timing`]).
pub fn when(local: Option<NaiveDateTime>, zone: Tz, now: DateTime<Utc>) -> Result<When, Rejection> {
    let Some(local) = local else { return Ok(When::Now) };
    Ok(match timing(Some(resolve_local(local, zone)), now)? {
        Timing::Now => When::Now,
        Timing::At(due) => When::At { due, local, zone },
    })
}

/// The IANA time zone of that name (e.g. `Europe/Paris`), surrounding whitespace ignored.
pub fn parse_timezone(name: &str) -> Option<Tz> {
    name.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America, Asia, Europe, Pacific};
    use proptest::prelude::*;

    fn local(value: &str) -> NaiveDateTime {
        parse_date(value).expect(value)
    }

    fn utc(value: &str) -> DateTime<Utc> {
        local(value).and_utc()
    }

    #[test]
    fn reads_the_manuals_format() {
        assert_eq!(
            local("2015-09-29 14:00:00"),
            NaiveDate::from_ymd_opt(2015, 9, 29).unwrap().and_hms_opt(14, 0, 0).unwrap()
        );
        assert_eq!(local("2026-12-01 09:30:05").to_string(), "2026-12-01 09:30:05");
        assert_eq!(local("0000-01-01 00:00:00").to_string(), "0000-01-01 00:00:00");
        assert_eq!(local("9999-12-31 23:59:59").to_string(), "9999-12-31 23:59:59");
    }

    #[test]
    fn a_leap_day_is_a_real_date() {
        assert_eq!(local("2028-02-29 12:00:00").to_string(), "2028-02-29 12:00:00");
        assert_eq!(local("2000-02-29 12:00:00").to_string(), "2000-02-29 12:00:00");
    }

    #[test]
    fn dates_that_do_not_exist_are_refused_with_115() {
        for value in [
            "2026-02-29 12:00:00",
            "2100-02-29 12:00:00",
            "2026-02-30 12:00:00",
            "2026-04-31 12:00:00",
            "2026-13-01 12:00:00",
            "2026-00-10 12:00:00",
            "2026-01-00 12:00:00",
            "2026-01-01 24:00:00",
            "2026-01-01 25:00:00",
            "2026-01-01 12:60:00",
            "2026-01-01 12:00:60",
        ] {
            let rejection = parse_date(value).expect_err(value);
            assert_eq!(rejection.status, StatusCode::InvalidDate, "{value}");
            assert!(rejection.status_text.contains("YYYY-MM-DD hh:ii:ss"), "{value}");
        }
    }

    #[test]
    fn other_shapes_are_refused_with_115() {
        for value in [
            "",
            "2026-12-01",
            "2026-12-01 9:30:00",
            "2026-12-1 09:30:00",
            "26-12-01 09:30:00",
            "2026-12-01 09:30",
            "2026-12-01T09:30:00",
            "2026/12/01 09:30:00",
            "2026-12-01 09.30.00",
            "2026-12-01  09:30:00",
            " 2026-12-01 09:30:00",
            "2026-12-01 09:30:00 ",
            "2026-12-01 09:30:00Z",
            "+2026-12-01 09:30:0",
            "２026-12-01 09:30:00",
            "2026-12-01 09:30:0é",
            "2026-12-01\n09:30:00",
            "01-12-2026 09:30:00",
        ] {
            assert_eq!(parse_date(value).expect_err(value).status, StatusCode::InvalidDate, "{value:?}");
        }
    }

    #[test]
    fn paris_is_utc_plus_one_in_winter_and_plus_two_in_summer() {
        assert_eq!(resolve_local(local("2026-01-15 09:30:00"), Europe::Paris), utc("2026-01-15 08:30:00"));
        assert_eq!(resolve_local(local("2026-07-15 09:30:00"), Europe::Paris), utc("2026-07-15 07:30:00"));
    }

    #[test]
    fn other_time_zones() {
        assert_eq!(resolve_local(local("2026-01-15 09:30:00"), America::New_York), utc("2026-01-15 14:30:00"));
        assert_eq!(resolve_local(local("2026-07-15 09:30:00"), America::New_York), utc("2026-07-15 13:30:00"));
        assert_eq!(resolve_local(local("2026-07-15 09:30:00"), Asia::Tokyo), utc("2026-07-15 00:30:00"));
        assert_eq!(resolve_local(local("2026-07-15 09:30:00"), Tz::UTC), utc("2026-07-15 09:30:00"));
    }

    #[test]
    fn a_time_in_the_spring_forward_gap_is_the_end_of_the_gap() {
        assert_eq!(resolve_local(local("2027-03-28 02:30:00"), Europe::Paris), utc("2027-03-28 01:00:00"));
        assert_eq!(resolve_local(local("2027-03-28 02:00:00"), Europe::Paris), utc("2027-03-28 01:00:00"));
        assert_eq!(resolve_local(local("2027-03-28 02:59:59"), Europe::Paris), utc("2027-03-28 01:00:00"));
        assert_eq!(resolve_local(local("2026-03-08 02:15:00"), America::New_York), utc("2026-03-08 07:00:00"));
    }

    #[test]
    fn a_time_of_a_skipped_day_is_the_next_day() {
        // Samoa went from 29 December 2011 23:59:59 (UTC-10) to 31 December 00:00:00 (UTC+14).
        assert_eq!(resolve_local(local("2011-12-30 12:00:00"), Pacific::Apia), utc("2011-12-30 10:00:00"));
    }

    #[test]
    fn a_time_that_happens_twice_is_its_first_occurrence() {
        assert_eq!(resolve_local(local("2026-10-25 02:30:00"), Europe::Paris), utc("2026-10-25 00:30:00"));
        assert_eq!(resolve_local(local("2026-11-01 01:30:00"), America::New_York), utc("2026-11-01 05:30:00"));
    }

    #[test]
    fn the_end_of_the_calendar_does_not_panic() {
        assert_eq!(resolve_local(NaiveDateTime::MAX, Tz::UTC), NaiveDateTime::MAX.and_utc());
        let _ = resolve_local(NaiveDateTime::MAX, Pacific::Kiritimati);
        let _ = resolve_local(NaiveDateTime::MIN, Pacific::Pago_Pago);
    }

    #[test]
    fn no_date_or_a_date_within_60_seconds_is_now() {
        let now = utc("2026-06-01 12:00:00");
        assert_eq!(timing(None, now), Ok(Timing::Now));
        assert_eq!(timing(Some(utc("2020-01-01 00:00:00")), now), Ok(Timing::Now));
        assert_eq!(timing(Some(now), now), Ok(Timing::Now));
        assert_eq!(timing(Some(utc("2026-06-01 12:01:00")), now), Ok(Timing::Now));
        let just_after = utc("2026-06-01 12:01:00") + TimeDelta::milliseconds(1);
        assert_eq!(timing(Some(just_after), now), Ok(Timing::At(just_after)));
        assert_eq!(timing(Some(utc("2026-06-01 12:01:01")), now), Ok(Timing::At(utc("2026-06-01 12:01:01"))));
    }

    #[test]
    fn a_date_up_to_365_days_ahead_is_scheduled() {
        let now = utc("2026-06-01 12:00:00");
        let latest = utc("2027-06-01 12:00:00");
        assert_eq!(timing(Some(latest), now), Ok(Timing::At(latest)));
        let rejection = timing(Some(latest + TimeDelta::seconds(1)), now).unwrap_err();
        assert_eq!(rejection.status, StatusCode::InvalidDate);
        assert!(rejection.status_text.contains("la date ne peut pas dépasser 365 jours"));
    }

    #[test]
    fn when_reads_the_local_date_in_the_zone_and_keeps_what_was_written() {
        let now = utc("2026-06-01 12:00:00");
        assert_eq!(when(None, Europe::Paris, now), Ok(When::Now));
        assert_eq!(when(Some(local("2026-06-01 14:00:30")), Europe::Paris, now), Ok(When::Now), "12:00:30 UTC");
        assert_eq!(
            when(Some(local("2026-12-01 09:30:00")), Europe::Paris, now),
            Ok(When::At { due: utc("2026-12-01 08:30:00"), local: local("2026-12-01 09:30:00"), zone: Europe::Paris })
        );
        assert_eq!(
            when(Some(local("2028-01-01 00:00:00")), Europe::Paris, now).unwrap_err().status,
            StatusCode::InvalidDate
        );
    }

    #[test]
    fn timing_at_the_end_of_the_calendar_does_not_panic() {
        let end = DateTime::<Utc>::MAX_UTC;
        assert_eq!(timing(Some(end), end), Ok(Timing::Now));
        let almost = end - TimeDelta::days(100);
        assert_eq!(timing(Some(end), almost), Ok(Timing::At(end)));
    }

    #[test]
    fn time_zones_are_read_by_their_iana_name() {
        assert_eq!(parse_timezone("Europe/Paris"), Some(Europe::Paris));
        assert_eq!(parse_timezone(" America/New_York "), Some(America::New_York));
        assert_eq!(parse_timezone("UTC"), Some(Tz::UTC));
        assert_eq!(parse_timezone("Europe/Pariss"), None);
        assert_eq!(parse_timezone(""), None);
        assert_eq!(parse_timezone("+02:00"), None);
    }

    proptest! {
        #[test]
        fn parse_date_never_panics(value in any::<String>()) {
            let _ = parse_date(&value);
        }

        #[test]
        fn every_real_date_reads_back(seconds in 0i64..253_402_300_800) {
            let instant = DateTime::from_timestamp(seconds, 0).unwrap().naive_utc();
            let written = instant.format("%Y-%m-%d %H:%M:%S").to_string();
            prop_assert_eq!(parse_date(&written), Ok(instant));
        }

        #[test]
        fn a_shaped_value_is_a_date_or_115(value in "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}") {
            match parse_date(&value) {
                Ok(date) => prop_assert_eq!(date.format("%Y-%m-%d %H:%M:%S").to_string(), value),
                Err(rejection) => prop_assert_eq!(rejection.status, StatusCode::InvalidDate),
            }
        }

        #[test]
        fn resolving_never_panics_and_stays_within_two_days(seconds in -8_000_000_000_000i64..8_000_000_000_000, zone in 0usize..chrono_tz::TZ_VARIANTS.len()) {
            if let Some(instant) = DateTime::from_timestamp(seconds, 0) {
                let local = instant.naive_utc();
                let resolved = resolve_local(local, chrono_tz::TZ_VARIANTS[zone]);
                prop_assert!((resolved.naive_utc() - local).num_hours().abs() <= 48, "offset plus gap");
            }
        }

        #[test]
        fn an_existing_local_time_resolves_to_itself(seconds in 0i64..4_102_444_800, zone in 0usize..chrono_tz::TZ_VARIANTS.len()) {
            let tz = chrono_tz::TZ_VARIANTS[zone];
            let instant = DateTime::from_timestamp(seconds, 0).unwrap().with_timezone(&tz);
            let resolved = resolve_local(instant.naive_local(), tz);
            prop_assert!(resolved <= instant.with_timezone(&Utc), "the first occurrence is never later");
            prop_assert_eq!(resolved.with_timezone(&tz).naive_local(), instant.naive_local());
        }

        #[test]
        fn timing_is_now_scheduled_or_too_far(now in 0i64..4_102_444_800, ahead in -1_000_000i64..40_000_000) {
            let now = DateTime::from_timestamp(now, 0).unwrap();
            let due = now + TimeDelta::seconds(ahead);
            match timing(Some(due), now) {
                Ok(Timing::Now) => prop_assert!(ahead <= 60),
                Ok(Timing::At(at)) => prop_assert!(at == due && ahead > 60 && ahead <= 365 * 86_400),
                Err(rejection) => prop_assert!(rejection.status == StatusCode::InvalidDate && ahead > 365 * 86_400),
            }
        }
    }
}
