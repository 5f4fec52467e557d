//! `[bridge]` (with the cities' default working hours and days) and `[bridge.delivery]`.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::diag::Diag;
use crate::formats::check_id;
use crate::model::{Bridge, Delivery, WorkingTime};
use crate::parse::non_empty;
use crate::reader::Table;

pub(super) fn bridge(diag: &mut Diag<'_>, root: &mut Table<'_, '_>) -> Bridge {
    let table = root.req_table(diag, "bridge");
    let Some(mut t) = table else {
        return Bridge {
            name: String::new(),
            data_dir: Default::default(),
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            admin_token: None,
            default_timezone: chrono_tz::UTC,
            instance: None,
            commit: Default::default(),
            store_cache: Bridge::DEFAULT_STORE_CACHE,
            store: Default::default(),
            commit_window: Bridge::DEFAULT_COMMIT_WINDOW,
            retention: None,
            dedupe_window: None,
            request_timeout: Bridge::DEFAULT_REQUEST_TIMEOUT,
            max_connections: Bridge::DEFAULT_MAX_CONNECTIONS,
            max_connections_per_client: None,
            delivery: Delivery::default(),
            working: WorkingTime::default(),
        };
    };
    let name = t.req_parsed(diag, "name", non_empty);
    let data_dir = t.req_parsed(diag, "data_dir", non_empty);
    let listen = t.req_parsed(diag, "listen", |s| {
        s.parse::<SocketAddr>()
            .map_err(|_| format!("{s:?} is not a socket address (expected e.g. \"127.0.0.1:8480\" or \"[::1]:8480\")"))
    });
    let admin_token = t.secret(diag, "admin_token", false);
    let default_timezone = t.opt_parsed(diag, "default_timezone", parse_timezone);
    let instance = instance(diag, &mut t);
    let commit = t.opt_parsed(diag, "commit", str::parse);
    let store_cache = t.opt_parsed(diag, "store_cache", parse_cache);
    let store = t.opt_parsed(diag, "store", str::parse);
    let commit_window = t.opt_parsed(diag, "commit_window", |s| {
        crate::reader::parse_duration(s).and_then(|d| {
            if d > Duration::from_secs(1) { Err("must not be longer than 1s".to_string()) } else { Ok(d) }
        })
    });
    let at_least_a_second = |s: &str| {
        crate::reader::parse_duration(s)
            .and_then(|d| if d < Duration::from_secs(1) { Err("must be at least 1s".to_string()) } else { Ok(d) })
    };
    let retention = t.opt_parsed(diag, "retention", at_least_a_second);
    let dedupe_window = t.opt_parsed(diag, "dedupe_window", at_least_a_second);
    if let (Some(r), Some(d)) = (retention, dedupe_window)
        && d > r
    {
        diag.value_error(
            &t.child("dedupe_window"),
            format!(
                "must not be longer than retention ({}): a dedupe answer points to a message retention deletes",
                humantime::format_duration(r)
            ),
        );
    }
    let dedupe_window = dedupe_window.or_else(|| retention.map(|r| r.min(Bridge::DEFAULT_DEDUPE_WINDOW)));
    let request_timeout = t.opt_parsed(diag, "request_timeout", |s| {
        crate::reader::parse_duration(s).and_then(|d| {
            if d.is_zero() || d > Duration::from_secs(600) {
                Err("must be longer than zero and at most 10m".to_string())
            } else {
                Ok(d)
            }
        })
    });
    let max_connections = t.opt_int(diag, "max_connections", 1, 1 << 20);
    let max_connections_per_client = t.opt_int(diag, "max_connections_per_client", 1, 1 << 20);
    let working = super::working::working_time(diag, &mut t, &WorkingTime::default(), false);
    let delivery = match t.opt_table(diag, "delivery") {
        Some(table) => delivery(diag, table),
        None => Delivery::default(),
    };
    t.finish(diag);
    let data_dir = diag.resolve(&data_dir.unwrap_or_default());
    let store = store.unwrap_or_else(|| crate::model::StoreEngine::found_in(&data_dir.join("store")));
    Bridge {
        name: name.unwrap_or_default(),
        data_dir,
        listen: listen.unwrap_or(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))),
        admin_token,
        default_timezone: default_timezone.unwrap_or(chrono_tz::UTC),
        instance,
        commit: commit.unwrap_or_default(),
        store_cache: store_cache.unwrap_or(Bridge::DEFAULT_STORE_CACHE),
        store,
        commit_window: commit_window.unwrap_or(Bridge::DEFAULT_COMMIT_WINDOW),
        retention,
        dedupe_window,
        request_timeout: request_timeout.unwrap_or(Bridge::DEFAULT_REQUEST_TIMEOUT),
        max_connections: max_connections.map_or(Bridge::DEFAULT_MAX_CONNECTIONS, |n| n as usize),
        max_connections_per_client: max_connections_per_client.map(|n| n as usize),
        delivery,
        working,
    }
}

/// `instance`, or `instance_id` (its older spelling, still read): not both.
fn instance(diag: &mut Diag<'_>, t: &mut Table<'_, '_>) -> Option<String> {
    let id = |s: &str| check_id(s).map(|()| s.to_string());
    let instance = t.opt_parsed(diag, "instance", id);
    let older_path = t.child("instance_id");
    let older = t.opt_parsed(diag, "instance_id", id);
    if diag.is_present(&t.child("instance")) && diag.is_present(&older_path) {
        diag.key_error(&older_path, "give either `instance` or `instance_id` (its older spelling), not both");
        return None;
    }
    instance.or(older)
}

/// A cache size: bytes with a unit (`"16MiB"`, `"512KiB"`, `"1GiB"`; also `KB`, `MB`, `GB` as
/// powers of 1000), from 1 MiB to 16 GiB.
fn parse_cache(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let unit_bytes: u64 = match unit.trim() {
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return Err(format!("{s:?} is not a size with a unit (e.g. \"16MiB\", \"512KiB\", \"1GiB\")")),
    };
    let bytes = digits.parse::<u64>().ok().and_then(|n| n.checked_mul(unit_bytes));
    match bytes {
        Some(b) if (1 << 20..=16 << 30).contains(&b) => Ok(b),
        _ => Err(format!("{s:?} must be from 1MiB to 16GiB")),
    }
}

/// An IANA time zone name.
pub(crate) fn parse_timezone(name: &str) -> Result<chrono_tz::Tz, String> {
    name.parse::<chrono_tz::Tz>().map_err(|_| {
        format!("{name:?} is not an IANA time zone name (e.g. \"Europe/London\", \"Asia/Tokyo\", \"UTC\")")
    })
}

fn delivery(diag: &mut Diag<'_>, mut t: Table<'_, '_>) -> Delivery {
    let default = Delivery::default();
    let positive = |d: Duration| {
        if d.is_zero() { Err("must be longer than zero".to_string()) } else { Ok(d) }
    };
    let initial_backoff = t
        .opt_parsed(diag, "initial_backoff", |s| crate::reader::parse_duration(s).and_then(positive))
        .unwrap_or(default.initial_backoff);
    let max_backoff = t.opt_duration(diag, "max_backoff");
    if let Some(max) = max_backoff
        && max < initial_backoff
    {
        diag.value_error(
            &t.child("max_backoff"),
            format!("must not be shorter than initial_backoff ({})", humantime::format_duration(initial_backoff)),
        );
    }
    let give_up_after = t.opt_parsed(diag, "give_up_after", |s| crate::reader::parse_duration(s).and_then(positive));
    let give_up = give_up_after.unwrap_or(default.give_up_after);
    let delay_warning_after = t.opt_duration(diag, "delay_warning_after");
    if let Some(warn) = delay_warning_after
        && !warn.is_zero()
        && warn >= give_up
    {
        diag.value_error(
            &t.child("delay_warning_after"),
            format!(
                "must be shorter than give_up_after ({}), or \"0s\" for no delay notice",
                humantime::format_duration(give_up)
            ),
        );
    }
    // Deprecated: read so that old configs load; the daemon warns that it is ignored.
    let max_attempts = t.opt_int(diag, "max_attempts", 1, u64::from(u32::MAX));
    let jitter = t.opt_number(diag, "jitter");
    if let Some(j) = jitter
        && !(0.0..=1.0).contains(&j)
    {
        diag.value_error(&t.child("jitter"), format!("must be between 0 and 1, not {j}"));
    }
    let concurrency = t.opt_int(diag, "concurrency", 1, 1 << 20);
    let timeout = t.opt_parsed(diag, "timeout", |s| crate::reader::parse_duration(s).and_then(positive));
    let drain_timeout = t.opt_duration(diag, "drain_timeout");
    t.finish(diag);
    Delivery {
        initial_backoff,
        max_backoff: max_backoff.unwrap_or(default.max_backoff.max(initial_backoff)),
        give_up_after: give_up,
        delay_warning_after: match delay_warning_after {
            Some(d) if d.is_zero() => None,
            Some(d) => Some(d),
            // The default, unless give_up_after is so short that it would never come first.
            None => default.delay_warning_after.filter(|d| *d < give_up),
        },
        max_attempts: max_attempts.map(|n| n as u32),
        jitter: jitter.unwrap_or(default.jitter),
        concurrency: concurrency.map_or(default.concurrency, |n| n as usize),
        timeout: timeout.unwrap_or(default.timeout),
        drain_timeout: drain_timeout.unwrap_or(default.drain_timeout),
    }
}
