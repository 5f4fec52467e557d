//! When a partnership's digest goes out to a member: the next period after a time, and its
//! moment in the member's own zone. A period is named (`2027-W02` for a weekly digest, its ISO
//! week; `2027-01-05` for a daily one), so each period's digest is one timer, sent once.

use c2c_config::{Digest, DigestEvery, WorkingTime, local_instant};
use chrono::{DateTime, Datelike, NaiveTime, Utc};
use chrono_tz::Tz;

/// One digest period: its name and the moment it goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub name: String,
    pub at: DateTime<Utc>,
}

/// The first period whose moment is after `after`, for a member in `zone` working `working`
/// (a daily digest goes out on working days; both go out at `digest_time`, else at the start of
/// working hours). `None` only when no such day comes within a year.
pub fn next(digest: &Digest, zone: Tz, working: &WorkingTime, after: DateTime<Utc>) -> Option<Period> {
    let minutes = digest.time_min.unwrap_or(working.hours.start_min);
    let time = NaiveTime::from_num_seconds_from_midnight_opt(u32::from(minutes).min(1439) * 60, 0)?;
    let today = after.with_timezone(&zone).date_naive();
    today.iter_days().take(400).find_map(|day| {
        let fits = match digest.every {
            DigestEvery::Weekly => day.weekday() == digest.day,
            DigestEvery::Daily => working.is_working_day(day),
        };
        let at = local_instant(zone, day.and_time(time));
        (fits && at > after).then(|| {
            let name = match digest.every {
                DigestEvery::Weekly => {
                    let w = day.iso_week();
                    format!("{}-W{:02}", w.year(), w.week())
                }
                DigestEvery::Daily => day.format("%Y-%m-%d").to_string(),
            };
            Period { name, at }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Weekday};

    fn weekly(day: Weekday, time_min: Option<u16>) -> Digest {
        Digest { every: DigestEvery::Weekly, day, time_min }
    }

    #[test]
    fn a_weekly_digest_goes_out_on_its_day_at_the_start_of_working_hours_in_the_members_zone() {
        let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
        // Sunday 3 January 2027, noon UTC (Sunday 21:00 in Tokyo).
        let after = Utc.with_ymd_and_hms(2027, 1, 3, 12, 0, 0).unwrap();
        let p = next(&weekly(Weekday::Mon, None), tokyo, &WorkingTime::default(), after).unwrap();
        assert_eq!(p.name, "2027-W01");
        assert_eq!(p.at, Utc.with_ymd_and_hms(2027, 1, 4, 0, 0, 0).unwrap(), "Monday 09:00 in Tokyo");
        // Once that moment has passed: the next week.
        let p = next(&weekly(Weekday::Mon, None), tokyo, &WorkingTime::default(), p.at).unwrap();
        assert_eq!(p.name, "2027-W02");
        let p = next(&weekly(Weekday::Fri, Some(16 * 60 + 30)), tokyo, &WorkingTime::default(), after).unwrap();
        assert_eq!(p.at, Utc.with_ymd_and_hms(2027, 1, 8, 7, 30, 0).unwrap(), "Friday 16:30 in Tokyo");
    }

    #[test]
    fn a_daily_digest_skips_days_off() {
        let london: Tz = "Europe/London".parse().unwrap();
        let mut working = WorkingTime::default();
        working.holidays.insert(chrono::NaiveDate::from_ymd_opt(2027, 1, 4).unwrap());
        let daily = Digest { every: DigestEvery::Daily, day: Weekday::Mon, time_min: None };
        // Friday 1 January 2027 at 10:00: the next working day's 09:00 is Tuesday the 5th.
        let after = Utc.with_ymd_and_hms(2027, 1, 1, 10, 0, 0).unwrap();
        let p = next(&daily, london, &working, after).unwrap();
        assert_eq!((p.name.as_str(), p.at), ("2027-01-05", Utc.with_ymd_and_hms(2027, 1, 5, 9, 0, 0).unwrap()));
    }
}
