//! The daemon's metrics, in one place, exposed at `GET /metrics` in Prometheus text format.
//!
//! Names follow `c2c_<thing>_<unit>`; labels are small closed sets (channel, reason, status),
//! or endpoints the config names (the outbox per endpoint).

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use c2c_core::{AttachmentDrop, Channel, DeliveryStatus, RefusalReason};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabel {
    pub channel: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusedLabels {
    pub channel: &'static str,
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub channel: &'static str,
    pub status: &'static str,
}

/// An outbox endpoint: its key (`webhook:leeds`, `email:jo@leeds.example`, `matrix:!room:hs`)
/// when the config routes to it, else `other` (bounded by the config).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabel {
    pub endpoint: String,
}

/// A peer instance (only ids the config pins: a request is counted once its signature verifies).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PeerLabel {
    pub peer: String,
}

/// One endpoint's queue, for [`Metrics::set_outbox_endpoints`].
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointQueue {
    pub endpoint: String,
    pub depth: usize,
    pub oldest_age_seconds: f64,
    pub down: bool,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BounceLabel {
    pub outcome: &'static str,
}

/// What became of a bounce report (an email DSN naming a delivery of ours).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BounceOutcome {
    /// The delivery is now failed for good and its author told.
    Recorded,
    /// The delivery had already failed for good.
    AlreadyFailed,
    /// The id it quotes names no delivery in the store.
    UnknownDelivery,
    /// It quotes a delivery but names neither its recipient nor the recipient's domain.
    OtherRecipient,
}

impl BounceOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            BounceOutcome::Recorded => "recorded",
            BounceOutcome::AlreadyFailed => "already_failed",
            BounceOutcome::UnknownDelivery => "unknown_delivery",
            BounceOutcome::OtherRecipient => "other_recipient",
        }
    }
}

/// Every metric the daemon keeps.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    received: Family<ChannelLabel, Counter>,
    relayed: Family<ChannelLabel, Counter>,
    refused: Family<RefusedLabels, Counter>,
    attachments_dropped: Family<RefusedLabels, Counter>,
    attachment_bytes: Family<ChannelLabel, Counter>,
    replays: Family<ChannelLabel, Counter>,
    deliveries: Family<DeliveryLabels, Counter>,
    bounces: Family<BounceLabel, Counter>,
    outcomes_recorded: Counter,
    outbox_depth: Gauge,
    endpoint_depth: Family<EndpointLabel, Gauge>,
    endpoint_oldest: Family<EndpointLabel, Gauge<f64, AtomicU64>>,
    endpoint_down: Family<EndpointLabel, Gauge>,
    peer_skew: Family<PeerLabel, Gauge>,
    /// The endpoints set last time, so those gone are removed.
    endpoints_shown: std::sync::Mutex<std::collections::HashSet<String>>,
    latency: Histogram,
    commit_batch: Histogram,
    durable_wait: Histogram,
    stage_time: Histogram,
    flushes: Counter,
    flushes_seen: std::sync::atomic::AtomicU64,
    http_connections: Gauge,
    http_header_timeouts: Counter,
    http_connections_refused: Counter,
    connector_restarts: Family<ChannelLabel, Counter>,
    reminders: Family<ReasonLabel, Counter>,
    reminders_scheduled: Gauge,
    commands: Family<CommandLabel, Counter>,
    forgotten: Family<KindLabel, Counter>,
    retention_kept: Gauge,
    retention_sweeps: Counter,
}

/// A kind of record retention deleted (`conversations`, `messages`, ...).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: &'static str,
}

/// Why a reminder was sent (`reply_overdue`, `deliverable_due`, ...).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: &'static str,
}

/// A command officers typed (`close`, `snooze`, ..., `invalid`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CommandLabel {
    pub command: &'static str,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("c2c");
        let received = Family::<ChannelLabel, Counter>::default();
        registry.register("messages_received", "Inbound messages that reached the router", received.clone());
        let relayed = Family::<ChannelLabel, Counter>::default();
        registry.register(
            "messages_relayed",
            "Inbound messages committed and routed to their recipients",
            relayed.clone(),
        );
        let refused = Family::<RefusedLabels, Counter>::default();
        registry.register("messages_refused", "Inbound messages refused, by reason", refused.clone());
        let attachments_dropped = Family::<RefusedLabels, Counter>::default();
        registry.register(
            "attachments_dropped",
            "Files whose bytes were not relayed (their post was, with a note), by reason",
            attachments_dropped.clone(),
        );
        let attachment_bytes = Family::<ChannelLabel, Counter>::default();
        registry.register(
            "attachment_bytes_fetched",
            "Bytes read from a source to fetch attachments (Matrix media), dropped files included",
            attachment_bytes.clone(),
        );
        let replays = Family::<ChannelLabel, Counter>::default();
        registry.register(
            "messages_replayed",
            "Inbound messages already committed before (answered with the original ids)",
            replays.clone(),
        );
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register("deliveries", "Delivery attempts by outcome", deliveries.clone());
        let bounces = Family::<BounceLabel, Counter>::default();
        registry.register(
            "bounces",
            "Bounce reports (email DSNs) naming a delivery, by what became of them",
            bounces.clone(),
        );
        let outcomes_recorded = Counter::default();
        registry.register(
            "delivery_outcomes_recorded",
            "Delivery outcomes written to disk (a crash repeats only deliveries whose outcome is not)",
            outcomes_recorded.clone(),
        );
        let outbox_depth = Gauge::default();
        registry.register(
            "outbox_depth",
            "Deliveries waiting to be made (scheduled or retrying)",
            outbox_depth.clone(),
        );
        let endpoint_depth = Family::<EndpointLabel, Gauge>::default();
        registry.register(
            "outbox_endpoint_depth",
            "Deliveries waiting, per endpoint with any (endpoints the config does not name: `other`)",
            endpoint_depth.clone(),
        );
        let endpoint_oldest = Family::<EndpointLabel, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "outbox_endpoint_oldest_age_seconds",
            "How long the oldest delivery waiting for an endpoint has been pending",
            endpoint_oldest.clone(),
        );
        let endpoint_down = Family::<EndpointLabel, Gauge>::default();
        registry.register(
            "outbox_endpoint_down",
            "1 while an endpoint is down: its deliveries wait and one probe at a time is made",
            endpoint_down.clone(),
        );
        let peer_skew = Family::<PeerLabel, Gauge>::default();
        registry.register(
            "peer_clock_skew_seconds",
            "A peer instance's clock minus this one's, from the timestamp of its last verified request",
            peer_skew.clone(),
        );
        let latency = Histogram::new(exponential_buckets(0.001, 2.0, 20));
        registry.register(
            "relay_latency_seconds",
            "End-to-end latency: message received to delivered, per delivery",
            latency.clone(),
        );
        let commit_batch = Histogram::new(exponential_buckets(1.0, 2.0, 12));
        registry.register("commit_batch_messages", "Messages made durable by one group commit", commit_batch.clone());
        let durable_wait = Histogram::new(exponential_buckets(0.0005, 2.0, 14));
        registry.register(
            "commit_durable_wait_seconds",
            "How long a committed group waited for the store's flush (the commit window included)",
            durable_wait.clone(),
        );
        let stage_time = Histogram::new(exponential_buckets(0.0001, 2.0, 14));
        registry.register(
            "commit_stage_seconds",
            "How long writing one group into the store took, before its flush",
            stage_time.clone(),
        );
        let flushes = Counter::default();
        registry.register("store_flushes", "Flushes (fsyncs) the store issued for group commits", flushes.clone());
        let http_connections = Gauge::default();
        registry.register("http_connections", "HTTP connections open", http_connections.clone());
        let http_connections_refused = Counter::default();
        registry.register(
            "http_connections_refused",
            "HTTP connections closed at once because their client address had max_connections_per_client open",
            http_connections_refused.clone(),
        );
        let http_header_timeouts = Counter::default();
        registry.register(
            "http_header_timeouts",
            "HTTP connections closed because a request's header did not arrive within request_timeout (idle keep-alive ones included)",
            http_header_timeouts.clone(),
        );
        let reminders = Family::<ReasonLabel, Counter>::default();
        registry.register("reminders_sent", "Follow-up reminders committed for delivery, by reason", reminders.clone());
        let reminders_scheduled = Gauge::default();
        registry.register(
            "reminders_scheduled",
            "Follow-up timers stored and waiting for their due time (counted at each read of the store; one moved beyond the earliest 8,192 may count twice until the next)",
            reminders_scheduled.clone(),
        );
        let commands = Family::<CommandLabel, Counter>::default();
        registry.register("commands", "Commands from contacts (/close, /snooze, ...), handled", commands.clone());
        let forgotten = Family::<KindLabel, Counter>::default();
        registry.register(
            "retention_deleted",
            "Records retention deleted, by kind (conversations, messages, deliveries, id_map, dedupe_answers)",
            forgotten.clone(),
        );
        let retention_kept = Gauge::default();
        registry.register(
            "retention_kept",
            "Conversations past retention kept at the last sweep: a delivery pending, a reminder due, or a deliverable not done",
            retention_kept.clone(),
        );
        let retention_sweeps = Counter::default();
        registry.register("retention_sweeps", "Retention sweeps finished", retention_sweeps.clone());
        let connector_restarts = Family::<ChannelLabel, Counter>::default();
        registry.register(
            "connector_restarts",
            "Times a connector's inbound task was started again after it failed, panicked or ended",
            connector_restarts.clone(),
        );
        Self {
            registry,
            received,
            relayed,
            refused,
            attachments_dropped,
            attachment_bytes,
            replays,
            deliveries,
            bounces,
            outcomes_recorded,
            outbox_depth,
            endpoint_depth,
            endpoint_oldest,
            endpoint_down,
            peer_skew,
            endpoints_shown: Default::default(),
            latency,
            commit_batch,
            durable_wait,
            stage_time,
            flushes,
            flushes_seen: Default::default(),
            http_connections,
            http_header_timeouts,
            http_connections_refused,
            connector_restarts,
            reminders,
            reminders_scheduled,
            commands,
            forgotten,
            retention_kept,
            retention_sweeps,
        }
    }

    /// A retention sweep finished, having done `f`.
    pub fn retention_swept(&self, f: &crate::router::retention::Forgotten) {
        for (kind, n) in [
            ("conversations", f.conversations),
            ("messages", f.messages),
            ("deliveries", f.deliveries),
            ("id_map", f.id_map),
            ("dedupe_answers", f.dedupe_answers),
        ] {
            self.forgotten.get_or_create(&KindLabel { kind }).inc_by(n);
        }
        self.retention_kept.set(f.kept as i64);
        self.retention_sweeps.inc();
    }

    pub fn reminder_sent(&self, reason: c2c_core::ReminderReason) {
        self.reminders.get_or_create(&ReasonLabel { reason: reason.as_str() }).inc();
    }

    pub fn set_reminders_scheduled(&self, n: usize) {
        self.reminders_scheduled.set(n as i64);
    }

    pub fn command(&self, command: &'static str) {
        self.commands.get_or_create(&CommandLabel { command }).inc();
    }

    pub fn connector_restarted(&self, channel: Channel) {
        self.connector_restarts.get_or_create(&ChannelLabel { channel: channel.as_str() }).inc();
    }

    pub fn received(&self, channel: Channel) {
        self.received.get_or_create(&ChannelLabel { channel: channel.as_str() }).inc();
    }

    pub fn relayed(&self, channel: Channel) {
        self.relayed.get_or_create(&ChannelLabel { channel: channel.as_str() }).inc();
    }

    pub fn replayed(&self, channel: Channel) {
        self.replays.get_or_create(&ChannelLabel { channel: channel.as_str() }).inc();
    }

    pub fn refused(&self, channel: Channel, reason: RefusalReason) {
        self.refused.get_or_create(&RefusedLabels { channel: channel.as_str(), reason: reason.as_str() }).inc();
    }

    pub fn attachment_dropped(&self, channel: Channel, reason: AttachmentDrop) {
        self.attachments_dropped
            .get_or_create(&RefusedLabels { channel: channel.as_str(), reason: reason.as_str() })
            .inc();
    }

    /// Peer `peer`'s last verified request was signed `seconds` after this instance's now.
    pub fn peer_skew(&self, peer: &str, seconds: i64) {
        self.peer_skew.get_or_create(&PeerLabel { peer: peer.to_string() }).set(seconds);
    }

    pub fn attachment_bytes(&self, channel: Channel, bytes: u64) {
        self.attachment_bytes.get_or_create(&ChannelLabel { channel: channel.as_str() }).inc_by(bytes);
    }

    pub fn delivery(&self, channel: Channel, status: DeliveryStatus) {
        self.deliveries.get_or_create(&DeliveryLabels { channel: channel.as_str(), status: status.as_str() }).inc();
    }

    pub fn bounce(&self, outcome: BounceOutcome) {
        self.bounces.get_or_create(&BounceLabel { outcome: outcome.as_str() }).inc();
    }

    pub fn outcomes_recorded(&self, n: usize) {
        self.outcomes_recorded.inc_by(n as u64);
    }

    pub fn set_outbox_depth(&self, depth: usize) {
        self.outbox_depth.set(depth as i64);
    }

    /// The endpoints with deliveries waiting (or down), replacing the previous set.
    pub fn set_outbox_endpoints(&self, queues: &[EndpointQueue]) {
        let mut shown = self.endpoints_shown.lock().unwrap_or_else(|p| p.into_inner());
        let now: std::collections::HashSet<String> = queues.iter().map(|q| q.endpoint.clone()).collect();
        for gone in shown.difference(&now) {
            let label = EndpointLabel { endpoint: gone.clone() };
            self.endpoint_depth.remove(&label);
            self.endpoint_oldest.remove(&label);
            self.endpoint_down.remove(&label);
        }
        for q in queues {
            let label = EndpointLabel { endpoint: q.endpoint.clone() };
            self.endpoint_depth.get_or_create(&label).set(q.depth as i64);
            self.endpoint_oldest.get_or_create(&label).set(q.oldest_age_seconds);
            self.endpoint_down.get_or_create(&label).set(i64::from(q.down));
        }
        *shown = now;
    }

    pub fn relay_latency(&self, seconds: f64) {
        self.latency.observe(seconds);
    }

    pub fn stage_time(&self, seconds: f64) {
        self.stage_time.observe(seconds);
    }

    pub fn durable_wait(&self, seconds: f64) {
        self.durable_wait.observe(seconds);
    }

    pub fn commit_batch(&self, messages: usize) {
        self.commit_batch.observe(messages as f64);
    }

    /// Bring the flush counter up to the store's own count.
    pub fn store_flushes(&self, total: u64) {
        let before = self.flushes_seen.swap(total, std::sync::atomic::Ordering::Relaxed);
        if total > before {
            self.flushes.inc_by(total - before);
        }
    }

    pub fn http_connection_opened(&self) {
        self.http_connections.inc();
    }

    pub fn http_connection_closed(&self, header_timeout: bool) {
        self.http_connections.dec();
        if header_timeout {
            self.http_header_timeouts.inc();
        }
    }

    pub fn http_connection_refused(&self) {
        self.http_connections_refused.inc();
    }

    /// Connections closed so far because their header did not arrive in time.
    pub fn http_header_timeouts(&self) -> u64 {
        self.http_header_timeouts.get()
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_series_come_and_go_with_their_queues() {
        let m = Metrics::new();
        let hz = EndpointQueue { endpoint: "webhook:hz".into(), depth: 3, oldest_age_seconds: 12.5, down: true };
        let jo =
            EndpointQueue { endpoint: "email:jo@leeds.example".into(), depth: 1, oldest_age_seconds: 0.5, down: false };
        m.set_outbox_endpoints(&[hz, jo.clone()]);
        let text = m.render();
        assert!(text.contains("c2c_outbox_endpoint_depth{endpoint=\"webhook:hz\"} 3"), "{text}");
        assert!(text.contains("c2c_outbox_endpoint_oldest_age_seconds{endpoint=\"webhook:hz\"} 12.5"), "{text}");
        assert!(text.contains("c2c_outbox_endpoint_down{endpoint=\"webhook:hz\"} 1"), "{text}");
        assert!(text.contains("c2c_outbox_endpoint_down{endpoint=\"email:jo@leeds.example\"} 0"), "{text}");
        // Its queue empty, an endpoint's series go.
        m.set_outbox_endpoints(&[jo]);
        let text = m.render();
        assert!(!text.contains("webhook:hz"), "{text}");
        assert!(text.contains("c2c_outbox_endpoint_depth{endpoint=\"email:jo@leeds.example\"} 1"), "{text}");
    }
}
