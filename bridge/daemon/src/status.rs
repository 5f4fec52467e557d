//! The `status` view (`GET /api/status`, `c2c-bridge status`): each connector up, degraded or
//! down, since when, with its last error; how deep the outbox is and how old its oldest pending
//! delivery.
//!
//! A connector is *down* when it cannot receive (its own health says so, e.g. IMAP or Matrix not
//! connected, or its inbound task is being restarted), *degraded* when it receives but some
//! endpoints it delivers to are down (deliveries failing and retried), else *up*. Its last error
//! is the latest of its inbound problems and its delivery errors, kept after it recovers.
//!
//! An all-scope admin sees the whole instance, with each connector's detail and errors (hosts,
//! addresses) and the scheduler's live queue figures. A city admin sees each connector's state
//! and since when only, and the outbox figures of its own partnerships (read from the store).
//!
//! Its JSON is a public shape: fields may be added, never renamed.

use std::fmt::Write as _;

use c2c_core::{Channel, Health, Millis};
use serde::{Deserialize, Serialize};

use crate::outbox::snapshot::ChannelSnapshot;
use crate::outbox::view::rfc3339;

/// The instance as one admin sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusView {
    pub instance: String,
    /// The admin who asked, and what it sees: `"all"` or its cities.
    pub admin: String,
    pub scope: Vec<String>,
    /// When the daemon started (RFC 3339, UTC).
    pub started_at: String,
    pub connectors: Vec<ConnectorView>,
    pub outbox: OutboxView,
}

/// One connector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectorView {
    pub channel: String,
    pub state: State,
    /// Since when it is in this state (RFC 3339, UTC).
    pub since: String,
    /// Its own words on its state (all-scope admins only).
    pub detail: Option<String>,
    /// Endpoints it delivers to that are down now (all-scope admins only).
    pub endpoints_down: Option<usize>,
    /// Deliveries pending on it (all-scope admins only).
    pub pending: Option<usize>,
    /// Its last problem, receiving or delivering, also once recovered (all-scope admins only).
    pub last_error: Option<ErrorView>,
}

/// Up, degraded or down (see the module's note).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Up,
    Degraded,
    Down,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Up => "up",
            State::Degraded => "degraded",
            State::Down => "down",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorView {
    pub error: String,
    /// RFC 3339, UTC.
    pub at: String,
    /// `inbound` (receiving) or `delivery` (sending).
    pub side: String,
}

/// The outbox in the admin's scope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxView {
    /// Deliveries pending (scheduled or retrying).
    pub pending: usize,
    /// When the oldest pending delivery was committed (RFC 3339, UTC), and its age in seconds.
    pub oldest_pending_at: Option<String>,
    pub oldest_pending_age_s: Option<u64>,
    /// When these figures were taken (RFC 3339, UTC): the scheduler publishes them every second.
    pub as_of: Option<String>,
}

/// What is known of one connector.
#[derive(Debug)]
pub struct ConnectorFacts {
    pub channel: Channel,
    pub health: Health,
    /// Its inbound task is down (being restarted): why, and since when.
    pub task_down: Option<(String, Millis)>,
    /// Why its inbound task last stopped, and when.
    pub task_last: Option<(String, Millis)>,
    /// Its deliveries, as the scheduler last published them.
    pub deliveries: Option<ChannelSnapshot>,
}

/// One connector's view; `details` for all-scope admins. `started_at` is when the daemon
/// started: a connector with no history of its own has been up since then.
pub fn connector(facts: ConnectorFacts, started_at: Millis, details: bool) -> ConnectorView {
    let ConnectorFacts { channel, health, task_down, task_last, deliveries } = facts;
    let d = deliveries.unwrap_or_default();
    let (state, since, detail) = if let Some((problem, since)) = task_down {
        (State::Down, since, problem)
    } else if !health.ok {
        (State::Down, health.since.unwrap_or(started_at), health.detail.clone())
    } else if d.endpoints_down > 0 {
        let n = d.endpoints_down;
        let detail = format!("{n} {} down; deliveries to {} wait and are retried", endpoints(n), pronoun(n));
        (State::Degraded, d.down_since.unwrap_or(started_at), detail)
    } else {
        let since = [health.since, d.recovered_at].into_iter().flatten().max().unwrap_or(started_at).max(started_at);
        (State::Up, since, health.detail.clone())
    };
    let inbound = [health.last_error.clone(), task_last].into_iter().flatten().max_by_key(|(_, at)| *at);
    let last_error = [inbound.map(|e| (e, "inbound")), d.last_error.clone().map(|e| (e, "delivery"))]
        .into_iter()
        .flatten()
        .max_by_key(|((_, at), _)| *at)
        .map(|((error, at), side)| ErrorView { error, at: rfc3339(at), side: side.into() });
    ConnectorView {
        channel: channel.to_string(),
        state,
        since: rfc3339(since),
        detail: details.then_some(detail),
        endpoints_down: details.then_some(d.endpoints_down),
        pending: details.then_some(d.depth),
        last_error: if details { last_error } else { None },
    }
}

fn endpoints(n: usize) -> &'static str {
    if n == 1 { "endpoint" } else { "endpoints" }
}

fn pronoun(n: usize) -> &'static str {
    if n == 1 { "it" } else { "them" }
}

/// The outbox figures: `pending` deliveries, the oldest committed at `oldest`, seen at `now`.
pub fn outbox(pending: usize, oldest: Option<Millis>, as_of: Option<Millis>, now: Millis) -> OutboxView {
    OutboxView {
        pending,
        oldest_pending_at: oldest.map(rfc3339),
        oldest_pending_age_s: oldest.map(|t| u64::try_from((now - t).max(0) / 1000).unwrap_or(0)),
        as_of: as_of.map(rfc3339),
    }
}

/// The human-readable status.
pub fn render_text(v: &StatusView) -> String {
    let mut s = String::new();
    let scope = if v.scope.is_empty() { "all".to_string() } else { v.scope.join(", ") };
    let _ = writeln!(s, "instance {} (started {}); admin {} ({scope})", v.instance, v.started_at, v.admin);
    for c in &v.connectors {
        let _ = write!(s, "{:<8} {:<8} since {}", c.channel, c.state.as_str(), c.since);
        if let Some(d) = &c.detail {
            let _ = write!(s, ": {d}");
        }
        let _ = writeln!(s);
        if let Some(e) = &c.last_error {
            let _ = writeln!(s, "         last error ({}, {}): {}", e.side, e.at, e.error);
        }
    }
    let o = &v.outbox;
    let _ = write!(s, "outbox: {} pending", o.pending);
    if let (Some(at), Some(age)) = (&o.oldest_pending_at, o.oldest_pending_age_s) {
        let _ = write!(s, ", the oldest since {at} ({})", human_age(age));
    }
    let _ = writeln!(s);
    s
}

fn human_age(s: u64) -> String {
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Millis = 1_798_761_600_000; // 2027-01-01T00:00:00Z
    const MIN: Millis = 60_000;

    fn facts(health: Health) -> ConnectorFacts {
        ConnectorFacts { channel: Channel::Email, health, task_down: None, task_last: None, deliveries: None }
    }

    fn health(ok: bool, since: Millis, last_error: Option<(&str, Millis)>) -> Health {
        Health {
            ok,
            detail: if ok { "IMAP idle".into() } else { "IMAP: connection refused".into() },
            since: Some(since),
            last_error: last_error.map(|(e, at)| (e.to_string(), at)),
        }
    }

    #[test]
    fn a_connector_that_cannot_receive_is_down_since_its_health_changed() {
        let v = connector(facts(health(false, T0 + MIN, Some(("IMAP: connection refused", T0 + 5 * MIN)))), T0, true);
        assert_eq!((v.state, v.since.as_str()), (State::Down, "2027-01-01T00:01:00Z"));
        assert_eq!(v.detail.as_deref(), Some("IMAP: connection refused"));
        let e = v.last_error.unwrap();
        assert_eq!(
            (e.error.as_str(), e.at.as_str(), e.side.as_str()),
            ("IMAP: connection refused", "2027-01-01T00:05:00Z", "inbound")
        );
    }

    #[test]
    fn a_restarting_task_is_down_whatever_its_health_says() {
        let mut f = facts(health(true, T0, None));
        f.task_down = Some(("inbound task restarting (it panicked: boom)".into(), T0 + 2 * MIN));
        f.task_last = f.task_down.clone();
        let v = connector(f, T0, true);
        assert_eq!((v.state, v.since.as_str()), (State::Down, "2027-01-01T00:02:00Z"));
        assert_eq!(v.last_error.unwrap().error, "inbound task restarting (it panicked: boom)");
    }

    #[test]
    fn endpoints_down_make_it_degraded_and_the_latest_error_wins() {
        let mut f = facts(health(true, T0, Some(("IMAP: timeout", T0 + MIN))));
        f.deliveries = Some(ChannelSnapshot {
            depth: 7,
            endpoints_down: 2,
            down_since: Some(T0 + 3 * MIN),
            recovered_at: None,
            last_error: Some(("SMTP 451 try later".into(), T0 + 4 * MIN)),
        });
        let v = connector(f, T0, true);
        assert_eq!((v.state, v.since.as_str()), (State::Degraded, "2027-01-01T00:03:00Z"));
        assert_eq!(v.detail.as_deref(), Some("2 endpoints down; deliveries to them wait and are retried"));
        assert_eq!((v.endpoints_down, v.pending), (Some(2), Some(7)));
        let e = v.last_error.unwrap();
        assert_eq!((e.error.as_str(), e.side.as_str()), ("SMTP 451 try later", "delivery"));
    }

    #[test]
    fn up_since_the_latest_recovery_and_a_city_admin_sees_no_detail() {
        let mut f = facts(health(true, T0 + MIN, None));
        f.deliveries = Some(ChannelSnapshot {
            recovered_at: Some(T0 + 9 * MIN),
            last_error: Some(("HTTP 503".into(), T0 + 8 * MIN)),
            ..ChannelSnapshot::default()
        });
        let v = connector(f, T0, false);
        assert_eq!((v.state, v.since.as_str()), (State::Up, "2027-01-01T00:09:00Z"));
        assert_eq!((v.detail, v.endpoints_down, v.pending, v.last_error), (None, None, None, None));
        // No history at all (the webhook connector): up since the start.
        let v = connector(facts(Health::ok()), T0, true);
        assert_eq!((v.state, v.since.as_str(), v.last_error), (State::Up, "2027-01-01T00:00:00Z", None));
    }

    #[test]
    fn the_text_says_what_is_down_and_how_old_the_queue_is() {
        let v = StatusView {
            instance: "brlc".into(),
            admin: "admin".into(),
            scope: vec![],
            started_at: "2027-01-01T00:00:00Z".into(),
            connectors: vec![connector(facts(health(false, T0 + MIN, Some(("IMAP: refused", T0 + MIN)))), T0, true)],
            outbox: outbox(3, Some(T0), Some(T0 + 90 * MIN), T0 + 90 * MIN),
        };
        assert_eq!(
            render_text(&v),
            "instance brlc (started 2027-01-01T00:00:00Z); admin admin (all)\n\
             email    down     since 2027-01-01T00:01:00Z: IMAP: connection refused\n         \
             last error (inbound, 2027-01-01T00:01:00Z): IMAP: refused\n\
             outbox: 3 pending, the oldest since 2027-01-01T00:00:00Z (1h 30m)\n"
        );
    }
}
