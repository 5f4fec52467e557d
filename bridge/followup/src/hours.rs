//! Working hours: when a reminder that falls due at some instant may go out to a city. A
//! reminder due outside the city's working time (at night, at the weekend, on a holiday, all in
//! the city's own time zone) waits for the start of its next working period.
//!
//! Pure functions of the instant, the zone and the city's [`WorkingTime`] (`City::working`,
//! already resolved from the city's and the bridge's keys); no clock of their own.

use c2c_config::{WorkingTime, local_instant};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// How many days ahead [`next_working_instant`] looks for a working period before it gives up
/// (and answers `at` itself): more than a year, so any sensible set of holidays is crossed.
pub const SEARCH_DAYS: usize = 400;

/// True when `at` is inside working time in `zone`: its local date is one of the working days
/// and no holiday, and its local time is within the working hours (the end excluded).
pub fn is_working(at: DateTime<Utc>, zone: Tz, working: &WorkingTime) -> bool {
    let local = at.with_timezone(&zone).naive_local();
    working.is_working_day(local.date()) && working.hours.contains(local.time())
}

/// `at` itself when it is inside working time in `zone` (see [`is_working`]); else the start
/// of the next working period: the next working day's start of working hours, local time.
///
/// Where clocks change: a start that happens twice (clocks go back) is its first occurrence; a
/// start that does not exist that day (clocks go forward over it) is the first instant after it,
/// the moment of the change, if that is still within working hours (else that day is skipped).
/// When no working period starts within [`SEARCH_DAYS`] days (no working day, or holidays all
/// along), the answer is `at`: a reminder is better late than never.
pub fn next_working_instant(at: DateTime<Utc>, zone: Tz, working: &WorkingTime) -> DateTime<Utc> {
    if is_working(at, zone, working) {
        return at;
    }
    let today = at.with_timezone(&zone).date_naive();
    today
        .iter_days()
        .take(SEARCH_DAYS + 1)
        .filter(|day| working.is_working_day(*day))
        .map(|day| local_instant(zone, day.and_time(working.hours.start())))
        .find(|start| *start > at && is_working(*start, zone, working))
        .unwrap_or(at)
}

/// `at` as a recipient reads it in reminder texts: `Mon 4 Jan 2027 09:00 (Asia/Tokyo)`.
pub fn local_text(at: DateTime<Utc>, zone: Tz) -> String {
    format!("{} ({})", at.with_timezone(&zone).format("%a %-d %b %Y %H:%M"), zone.name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use c2c_config::{Weekdays, WorkingHours};
    use chrono::{NaiveDate, NaiveDateTime};
    use chrono_tz::{Asia, Europe};

    /// The instant of local time `text` ("2027-01-08 18:30") in `zone` (an existing, unambiguous
    /// local time).
    fn local(zone: Tz, text: &str) -> DateTime<Utc> {
        let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
        naive.and_local_timezone(zone).single().unwrap().with_timezone(&Utc)
    }

    fn utc(text: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap().and_utc()
    }

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn office(holidays: &[&str]) -> WorkingTime {
        WorkingTime { holidays: holidays.iter().map(|d| date(d)).collect(), ..WorkingTime::default() }
    }

    #[test]
    fn a_window_ending_on_friday_evening_in_tokyo_lands_on_monday_morning() {
        let tokyo = Asia::Tokyo;
        let friday_evening = local(tokyo, "2027-01-08 18:30");
        let next = next_working_instant(friday_evening, tokyo, &office(&[]));
        assert_eq!(next, local(tokyo, "2027-01-11 09:00"));
        assert_eq!(next, utc("2027-01-11 00:00"));
        assert_eq!(local_text(next, tokyo), "Mon 11 Jan 2027 09:00 (Asia/Tokyo)");
        // Saturday and Sunday too.
        for weekend in ["2027-01-09 11:00", "2027-01-10 23:59"] {
            assert_eq!(next_working_instant(local(tokyo, weekend), tokyo, &office(&[])), next, "{weekend}");
        }
    }

    #[test]
    fn a_window_ending_on_a_holiday_lands_on_the_next_working_day() {
        // Monday 11 January 2027 is Coming of Age Day in Japan.
        let tokyo = Asia::Tokyo;
        let working = office(&["2027-01-11"]);
        let next = next_working_instant(local(tokyo, "2027-01-11 10:00"), tokyo, &working);
        assert_eq!(next, local(tokyo, "2027-01-12 09:00"));
        assert!(!is_working(local(tokyo, "2027-01-11 10:00"), tokyo, &working));
        // From the Friday before, the holiday is skipped as well.
        assert_eq!(next_working_instant(local(tokyo, "2027-01-08 17:00"), tokyo, &working), next);
        // Holidays in a row, then a weekend: Jakarta, Eid al-Fitr 2027 (Tue 9 - Wed 10 March),
        // a holiday bridge on Thursday and Friday.
        let jakarta = Asia::Jakarta;
        let eid = office(&["2027-03-09", "2027-03-10", "2027-03-11", "2027-03-12"]);
        let next = next_working_instant(local(jakarta, "2027-03-08 16:59"), jakarta, &eid);
        assert_eq!(next, local(jakarta, "2027-03-08 16:59"), "still Monday's working hours");
        let next = next_working_instant(local(jakarta, "2027-03-08 17:00"), jakarta, &eid);
        assert_eq!(next, local(jakarta, "2027-03-15 09:00"));
        assert_eq!(local_text(next, jakarta), "Mon 15 Mar 2027 09:00 (Asia/Jakarta)");
    }

    #[test]
    fn inside_working_hours_is_unchanged() {
        let jakarta = Asia::Jakarta;
        for text in ["2027-01-06 09:00", "2027-01-06 12:34", "2027-01-06 16:59"] {
            let at = local(jakarta, text);
            assert!(is_working(at, jakarta, &office(&[])), "{text}");
            assert_eq!(next_working_instant(at, jakarta, &office(&[])), at, "{text}");
        }
        // Seconds and beyond are kept.
        let at = local(jakarta, "2027-01-06 10:00") + chrono::TimeDelta::milliseconds(1_234);
        assert_eq!(next_working_instant(at, jakarta, &office(&[])), at);
    }

    #[test]
    fn before_the_start_waits_for_it_and_the_end_is_excluded() {
        let london = Europe::London;
        let working = office(&[]);
        assert_eq!(
            next_working_instant(local(london, "2027-01-06 07:15"), london, &working),
            local(london, "2027-01-06 09:00")
        );
        assert_eq!(
            next_working_instant(local(london, "2027-01-06 17:00"), london, &working),
            local(london, "2027-01-07 09:00")
        );
        // The same instant is working time in one zone and night in another.
        let at = utc("2027-01-06 10:00");
        assert!(is_working(at, london, &working));
        assert!(!is_working(at, Asia::Tokyo, &working), "19:00 in Tokyo");
        assert_eq!(next_working_instant(at, Asia::Tokyo, &working), utc("2027-01-07 00:00"));
    }

    #[test]
    fn all_day_every_day_is_the_identity() {
        let always: WorkingTime = "00:00-24:00"
            .parse::<WorkingHours>()
            .map(|hours| WorkingTime { hours, days: Weekdays::ALL, holidays: Default::default() })
            .unwrap();
        assert_eq!(always, WorkingTime::always());
        for zone in [Asia::Tokyo, Asia::Jakarta, Europe::London] {
            for text in ["2027-01-09 00:00", "2027-01-10 23:59", "2027-03-28 01:30", "2027-10-31 01:30"] {
                let at = utc(text);
                assert!(is_working(at, zone, &always), "{text} {zone}");
                assert_eq!(next_working_instant(at, zone, &always), at, "{text} {zone}");
            }
        }
    }

    #[test]
    fn london_across_the_clock_changes() {
        let london = Europe::London;
        let working = office(&[]);
        // Friday 26 March 2027 after work (GMT) → Monday 29 March 09:00, now BST (08:00 UTC).
        let next = next_working_instant(local(london, "2027-03-26 17:30"), london, &working);
        assert_eq!(next, utc("2027-03-29 08:00"));
        assert_eq!(local_text(next, london), "Mon 29 Mar 2027 09:00 (Europe/London)");
        // And back: Friday 29 October (BST) → Monday 1 November 09:00 GMT (09:00 UTC).
        let next = next_working_instant(local(london, "2027-10-29 18:00"), london, &working);
        assert_eq!(next, utc("2027-11-01 09:00"));

        // Hours that start inside the night's changes. On 28 March, 01:30 does not exist (01:00
        // GMT becomes 02:00 BST): work starts at the change.
        let night = WorkingTime { hours: "01:30-05:00".parse().unwrap(), ..WorkingTime::always() };
        let next = next_working_instant(utc("2027-03-27 06:00"), london, &night);
        assert_eq!(next, utc("2027-03-28 01:00"));
        assert_eq!(local_text(next, london), "Sun 28 Mar 2027 02:00 (Europe/London)");
        // A working period wholly inside the gap does not happen that day.
        let gap = WorkingTime { hours: "01:10-01:50".parse().unwrap(), ..WorkingTime::always() };
        assert_eq!(next_working_instant(utc("2027-03-27 06:00"), london, &gap), utc("2027-03-29 00:10"));
        // On 31 October, 01:30 happens twice (02:00 BST becomes 01:00 GMT): the first one.
        let next = next_working_instant(utc("2027-10-30 06:00"), london, &night);
        assert_eq!(next, utc("2027-10-31 00:30"));
    }

    #[test]
    fn with_no_working_day_ahead_the_answer_is_at_itself() {
        let tokyo = Asia::Tokyo;
        let at = local(tokyo, "2027-01-09 12:00");
        let no_days = WorkingTime { days: Weekdays::NONE, ..WorkingTime::default() };
        assert_eq!(next_working_instant(at, tokyo, &no_days), at);
        let start = date("2027-01-01");
        let holidays = start.iter_days().take(SEARCH_DAYS + 10).collect();
        let all_holidays = WorkingTime { holidays, ..WorkingTime::default() };
        assert_eq!(next_working_instant(at, tokyo, &all_holidays), at);
        // Just within reach, it is found.
        let holidays = start.iter_days().take(SEARCH_DAYS - 10).collect();
        let long_leave = WorkingTime { holidays, ..WorkingTime::default() };
        let next = next_working_instant(at, tokyo, &long_leave);
        assert!(next > at + chrono::TimeDelta::days(SEARCH_DAYS as i64 - 20));
        assert!(is_working(next, tokyo, &long_leave));
    }

    #[test]
    fn local_texts_name_the_zone() {
        let at = utc("2027-01-04 00:00");
        assert_eq!(local_text(at, Asia::Tokyo), "Mon 4 Jan 2027 09:00 (Asia/Tokyo)");
        assert_eq!(local_text(at, Asia::Jakarta), "Mon 4 Jan 2027 07:00 (Asia/Jakarta)");
        assert_eq!(local_text(at, Europe::London), "Mon 4 Jan 2027 00:00 (Europe/London)");
    }
}
