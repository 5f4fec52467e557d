//! `working_hours`, `working_days` and `holidays`: when a city works, so that reminders reach it
//! inside office hours. `[bridge]` sets the default hours and days; each of `[[cities]]` may set
//! its own, and its holidays.

use std::collections::BTreeSet;

use crate::diag::Diag;
use crate::location::join_index;
use crate::model::{Weekdays, WorkingHours, WorkingTime};
use crate::reader::Table;

/// The keys of a city's working time.
pub(super) const KEYS: [&str; 3] = ["working_hours", "working_days", "holidays"];

/// The working time of a table: its `working_hours` and `working_days`, each else `defaults`'s,
/// and, when `holidays` is true, its `holidays`.
pub(super) fn working_time(
    diag: &mut Diag<'_>,
    t: &mut Table<'_, '_>,
    defaults: &WorkingTime,
    holidays: bool,
) -> WorkingTime {
    let hours = t.opt_parsed(diag, "working_hours", str::parse::<WorkingHours>);
    let days = working_days(diag, t);
    let holidays = if holidays { self::holidays(diag, t) } else { BTreeSet::new() };
    WorkingTime { hours: hours.unwrap_or(defaults.hours), days: days.unwrap_or(defaults.days), holidays }
}

/// `working_days = ["mon", ...]`: lowercase three-letter names, at least one, none twice.
fn working_days(diag: &mut Diag<'_>, t: &mut Table<'_, '_>) -> Option<Weekdays> {
    let path = t.child("working_days");
    let names = t.opt_str_list(diag, "working_days")?;
    if names.is_empty() {
        diag.value_error(&path, "must name at least one day, e.g. [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]");
        return None;
    }
    let mut days = Weekdays::NONE;
    let mut sound = true;
    for (i, name) in names.iter().enumerate() {
        let at = join_index(&path, i);
        if diag.has_error(&at) {
            sound = false;
            continue;
        }
        match Weekdays::parse_day(name) {
            Ok(day) => {
                if !days.insert(day) {
                    diag.value_error(&at, format!("{name:?} is listed twice"));
                }
            }
            Err(message) => {
                diag.value_error(&at, message);
                sound = false;
            }
        }
    }
    sound.then_some(days)
}

/// `holidays = ["2027-01-01", ...]`: dates, none twice.
fn holidays(diag: &mut Diag<'_>, t: &mut Table<'_, '_>) -> BTreeSet<chrono::NaiveDate> {
    let path = t.child("holidays");
    let mut out = BTreeSet::new();
    for (i, date) in t.opt_date_list(diag, "holidays").unwrap_or_default().into_iter().enumerate() {
        if let Some(date) = date
            && !out.insert(date)
        {
            diag.value_error(&join_index(&path, i), format!("{date} is listed twice"));
        }
    }
    out
}
