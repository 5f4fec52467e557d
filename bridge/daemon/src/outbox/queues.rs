//! The scheduler's bookkeeping: which pending deliveries wait in which queue, which endpoints
//! are down and when each is probed next, which heads may be attempted now, and which
//! deliveries have waited long enough for a delay notice or to be given up.
//!
//! No I/O and no clock of its own: every rule that depends on time takes `now`, so the rules
//! are tested on a clock the test controls (the tests below). [`super::scheduler`] drives it
//! with the wall clock, makes the attempts and writes the outcomes.
//!
//! The rules:
//! - Every entry belongs to a queue keyed by (conversation, endpoint). Only a queue's head is
//!   attempted, so an endpoint receives a conversation's messages in commit order.
//! - An endpoint is *up* until a delivery to it fails temporarily. Then it is *down*: its queues
//!   wait, and one *probe* at a time is attempted, on the backoff schedule (the endpoint's
//!   consecutive failed probes set the wait). The probe is the head that has waited longest
//!   for a try, so a head that fails for reasons of its own does not hold back the endpoint's
//!   other conversations. The first success wakes every queue of the endpoint.
//! - Deliveries give up by age, not by a count of attempts: at each failed attempt to an
//!   endpoint, every entry of it pending for `give_up_after` fails for good, and every entry
//!   pending for `delay_warning_after` whose author has not been told gets a delay notice, once.
//!   An entry whose notice is on its way is not attempted until the notice is recorded (the
//!   notice rewrites the entry's record).
//! - A pending entry is a small [`Pending`] handle; the scheduler reads the entry and its
//!   message from the store when it attempts it. An entry that goes straight to an attempt
//!   may keep what the committer handed over ([`Queued`]), within a byte budget, so the common
//!   case reads nothing back and a long outage holds no messages in memory.

use std::cmp::Reverse;
use std::collections::hash_map::RandomState;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet, VecDeque};
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Duration;

use c2c_core::{ConversationId, DeliveryStatus, Millis, OutboxEntry, OutboxId};

use crate::outbox::Queued;
use crate::outbox::backoff::RetrySchedule;

/// An endpoint's key ([`c2c_core::Recipient::endpoint_key`]), shared by its queues.
pub type EndpointKey = Arc<str>;

/// (conversation, endpoint): the unit of ordering.
pub type QueueKey = (ConversationId, EndpointKey);

/// What the scheduler keeps of one pending entry.
#[derive(Debug)]
pub struct Pending {
    pub seq: u64,
    pub id: OutboxId,
    /// When it was committed: its age decides the delay notice and giving up.
    pub created_at: Millis,
    /// When it was last tried or first could be: a probe goes to the head that has waited
    /// longest.
    pub next_due: Millis,
    pub notice: Notice,
    /// What an attempt needs, when the committer handed it over and it fits the budget.
    hot: Option<Box<Queued>>,
}

/// Whether an entry's author has been told that it is delayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    NotSent,
    /// On its way through the committer: the entry is not attempted meanwhile.
    InFlight,
    /// Recorded (the entry's `delay_noticed_at`): never again.
    Sent,
}

/// Where a queue's head stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Head {
    /// Waiting: for its endpoint to come back, or for its delay notice.
    Idle,
    /// In the ready list.
    Ready,
    InFlight {
        probe: bool,
    },
}

#[derive(Debug)]
struct Queue {
    entries: VecDeque<Pending>,
    head: Head,
}

#[derive(Debug, Default)]
struct Endpoint {
    /// Conversations with entries queued for this endpoint (oldest first: ids are ULIDs).
    conversations: BTreeSet<ConversationId>,
    depth: usize,
    down: Option<Down>,
    /// The reason of the last temporary failure, for notices about entries never attempted.
    last_error: String,
}

#[derive(Debug)]
struct Down {
    /// When it went down (for the admin's status).
    since: Millis,
    /// Failed probes in a row (the failure that took it down counts as the first).
    failures: u32,
    /// When the next probe may start.
    probe_at: Millis,
    /// A probe is in flight.
    probing: bool,
    /// The due time of the probe timer set for this endpoint, if one is set.
    timer: Option<Millis>,
}

/// An attempt to start: the head of `key`.
#[derive(Debug)]
pub struct Attempt {
    pub key: QueueKey,
    pub seq: u64,
    pub id: OutboxId,
    /// The entry and its message, when kept from the commit (else read them from the store).
    pub hot: Option<Box<Queued>>,
    /// This is the probe of a down endpoint.
    pub probe: bool,
}

/// What has waited too long, found by [`Queues::overdue`].
#[derive(Debug, PartialEq, Eq)]
pub enum Overdue {
    /// Tell the author, once, that the entry is delayed; report back with
    /// [`Queues::delay_noticed`]. `reason` is the endpoint's last failure.
    Delay { key: QueueKey, seq: u64, id: OutboxId, reason: String },
    /// Fail it for good (it has left its queue).
    GiveUp { seq: u64, id: OutboxId, reason: String },
}

/// One endpoint's queue depth and its oldest pending entry, for metrics.
#[derive(Debug, PartialEq, Eq)]
pub struct EndpointStats {
    pub endpoint: EndpointKey,
    pub depth: usize,
    pub oldest_created_at: Option<Millis>,
    pub down: bool,
    /// When it went down, while it is.
    pub down_since: Option<Millis>,
}

/// Every pending delivery, by queue and endpoint.
#[derive(Debug)]
pub struct Queues {
    schedule: RetrySchedule,
    queues: HashMap<QueueKey, Queue>,
    endpoints: HashMap<EndpointKey, Endpoint>,
    /// Probe timers of down endpoints (stale ones are skipped: see [`Down::timer`]).
    timers: BinaryHeap<Reverse<(Millis, EndpointKey)>>,
    /// Heads that may be attempted now, waiting for a free slot.
    ready: VecDeque<QueueKey>,
    depth: usize,
    /// (seq, hash of the id) of every queued entry, so none is queued twice.
    queued: HashSet<(u64, u64)>,
    hasher: RandomState,
    /// Bytes of [`Pending::hot`] kept, and the most that may be.
    hot_bytes: usize,
    hot_budget: usize,
}

/// Roughly what a handed-over entry holds in memory.
fn weight(q: &Queued) -> usize {
    let message = q.context.as_ref().map_or(0, |c| {
        let m = &c.message;
        m.text.len()
            + m.html.as_ref().map_or(0, String::len)
            + m.attachments.iter().map(|a| a.content.as_ref().map_or(0, |c| c.len())).sum::<usize>()
    });
    512 + message
}

fn millis(d: Duration) -> Millis {
    d.as_millis().min(i64::MAX as u128) as Millis
}

/// A duration as people write it ("5 days", "4 hours", "3 seconds").
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    let (n, unit) = match s {
        0 => return format!("{} ms", d.as_millis()),
        s if s % 86_400 == 0 => (s / 86_400, "day"),
        s if s % 3600 == 0 => (s / 3600, "hour"),
        s if s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

impl Queues {
    /// Empty queues following `schedule`, keeping up to `hot_budget` bytes of handed-over
    /// entries.
    pub fn new(schedule: RetrySchedule, hot_budget: usize) -> Self {
        Self {
            schedule,
            queues: HashMap::new(),
            endpoints: HashMap::new(),
            timers: BinaryHeap::new(),
            ready: VecDeque::new(),
            depth: 0,
            queued: HashSet::new(),
            hasher: RandomState::new(),
            hot_bytes: 0,
            hot_budget,
        }
    }

    /// Entries pending.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Bytes of handed-over entries kept in memory.
    pub fn hot_bytes(&self) -> usize {
        self.hot_bytes
    }

    /// Whether `endpoint` is down.
    pub fn is_down(&self, endpoint: &str) -> bool {
        self.endpoints.get(endpoint).is_some_and(|e| e.down.is_some())
    }

    fn dedupe_key(&self, seq: u64, id: &OutboxId) -> (u64, u64) {
        (seq, self.hasher.hash_one(id))
    }

    /// Queue `entry`; `false` if it is queued already. An entry that failed temporarily before
    /// a restart says its endpoint was down: the endpoint starts down, probed at that entry's
    /// `next_due`.
    pub fn push(&mut self, entry: &OutboxEntry) -> bool {
        let Some(key) = self.insert(entry) else {
            return false;
        };
        self.arm_new(&key);
        true
    }

    /// Queue an entry the committer handed over, keeping what its attempt needs if it is about
    /// to be attempted (the head of its queue, its endpoint up) and that fits the budget.
    pub fn push_hot(&mut self, item: Box<Queued>) -> bool {
        let Some(key) = self.insert(&item.entry) else {
            return false;
        };
        let up = self.endpoints.get(&key.1).is_some_and(|e| e.down.is_none());
        let w = weight(&item);
        if let Some(queue) = self.queues.get_mut(&key)
            && queue.entries.len() == 1
            && up
            && self.hot_bytes + w <= self.hot_budget
        {
            queue.entries[0].hot = Some(item);
            self.hot_bytes += w;
        }
        self.arm_new(&key);
        true
    }

    /// Add `entry` at the back of its queue; its key, or `None` if it is queued already.
    fn insert(&mut self, entry: &OutboxEntry) -> Option<QueueKey> {
        if !self.queued.insert(self.dedupe_key(entry.seq, &entry.id)) {
            return None;
        }
        let endpoint_key = entry.recipient.endpoint_key();
        let ep_key: EndpointKey = match self.endpoints.get_key_value(endpoint_key.as_str()) {
            Some((k, _)) => k.clone(),
            None => endpoint_key.into(),
        };
        let ep = self.endpoints.entry(ep_key.clone()).or_default();
        if entry.status == DeliveryStatus::TemporaryFailure {
            let failures = entry.attempts.max(1);
            match &mut ep.down {
                None => {
                    ep.down = Some(Down {
                        since: entry.updated_at,
                        failures,
                        probe_at: entry.next_due,
                        probing: false,
                        timer: None,
                    });
                }
                Some(d) => {
                    d.failures = d.failures.max(failures);
                    d.probe_at = d.probe_at.min(entry.next_due);
                }
            }
            if let Some(e) = &entry.last_error {
                ep.last_error = e.clone();
            }
        }
        ep.depth += 1;
        ep.conversations.insert(entry.conversation);
        self.depth += 1;
        let key = (entry.conversation, ep_key);
        let queue =
            self.queues.entry(key.clone()).or_insert_with(|| Queue { entries: VecDeque::new(), head: Head::Idle });
        // In seq order (an entry scheduled again may be older than those waiting), but never
        // before a head that is ready or in flight.
        // Almost always the newest: the back, without a scan of a long queue.
        let at = match queue.entries.back() {
            Some(last) if last.seq > entry.seq => queue.entries.iter().position(|p| p.seq > entry.seq).unwrap_or(0),
            _ => queue.entries.len(),
        };
        let at = if at == 0 && queue.head != Head::Idle { 1.min(queue.entries.len()) } else { at };
        queue.entries.insert(
            at,
            Pending {
                seq: entry.seq,
                id: entry.id.clone(),
                created_at: entry.created_at,
                next_due: entry.next_due,
                notice: if entry.delay_noticed_at.is_some() { Notice::Sent } else { Notice::NotSent },
                hot: None,
            },
        );
        Some(key)
    }

    /// After an entry joined `key`: a new head is armed; a down endpoint has a probe timer
    /// (its probe may have found no head before).
    fn arm_new(&mut self, key: &QueueKey) {
        if self.queues.get(key).is_some_and(|q| q.entries.len() == 1) {
            self.arm(key);
        } else {
            self.ensure_probe_timer(&key.1);
        }
    }

    /// Make the idle head of `key` ready, or wait for its endpoint or its notice.
    fn arm(&mut self, key: &QueueKey) {
        let Some(queue) = self.queues.get_mut(key) else {
            return;
        };
        let Some(head) = queue.entries.front() else {
            return;
        };
        if queue.head != Head::Idle || head.notice == Notice::InFlight {
            return;
        }
        if self.endpoints.get(&key.1).is_some_and(|e| e.down.is_some()) {
            self.ensure_probe_timer(&key.1);
            return;
        }
        queue.head = Head::Ready;
        self.ready.push_back(key.clone());
    }

    /// A down endpoint without a probe in flight has a timer for its next probe.
    fn ensure_probe_timer(&mut self, endpoint: &EndpointKey) {
        if let Some(down) = self.endpoints.get_mut(endpoint).and_then(|e| e.down.as_mut())
            && !down.probing
            && down.timer.is_none()
        {
            down.timer = Some(down.probe_at);
            self.timers.push(Reverse((down.probe_at, endpoint.clone())));
        }
    }

    /// `endpoint` was heard from (a peer instance's signed request came in): if it is down,
    /// probe it now rather than at the end of its backoff. Its failures in a row are kept, so
    /// a peer that talks but still cannot take our deliveries is not hammered: each failed
    /// probe sets the next wait as before.
    pub fn wake(&mut self, endpoint: &str, now: Millis) {
        if let Some(down) = self.endpoints.get_mut(endpoint).and_then(|e| e.down.as_mut())
            && !down.probing
            && down.probe_at > now
        {
            down.probe_at = now;
            down.timer = Some(now);
            self.timers.push(Reverse((now, EndpointKey::from(endpoint))));
        }
    }

    /// When the next probe is due (the scheduler sleeps until then, or until something else
    /// happens). Ready heads are not included: they are due now.
    pub fn next_wakeup(&self) -> Option<Millis> {
        self.timers.peek().map(|Reverse((due, _))| *due)
    }

    /// Whether an attempt could start now without waiting for a timer.
    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// The next attempt to start at `now`: a due probe, else a ready head.
    pub fn next_attempt(&mut self, now: Millis) -> Option<Attempt> {
        while let Some(Reverse((due, _))) = self.timers.peek() {
            if *due > now {
                break;
            }
            let Reverse((due, endpoint)) = self.timers.pop().expect("peeked");
            if let Some(a) = self.probe(&endpoint, due, now) {
                return Some(a);
            }
        }
        while let Some(key) = self.ready.pop_front() {
            let Some(queue) = self.queues.get_mut(&key) else {
                continue;
            };
            if queue.head != Head::Ready {
                continue;
            }
            if self.endpoints.get(&key.1).is_some_and(|e| e.down.is_some()) {
                // Its endpoint went down while it waited for a slot.
                queue.head = Head::Idle;
                self.ensure_probe_timer(&key.1);
                continue;
            }
            queue.head = Head::InFlight { probe: false };
            return Some(self.start(key, false));
        }
        None
    }

    /// Take the head of `key` (marked in flight) out for an attempt.
    fn start(&mut self, key: QueueKey, probe: bool) -> Attempt {
        let head = self.queues.get_mut(&key).and_then(|q| q.entries.front_mut()).expect("a queue has a head");
        let hot = head.hot.take();
        if let Some(h) = &hot {
            self.hot_bytes -= weight(h);
        }
        Attempt { seq: head.seq, id: head.id.clone(), key, hot, probe }
    }

    /// The probe timer of `endpoint` set for `due` has fired: start its probe, if it is still
    /// down, not probing, and has a head to probe.
    fn probe(&mut self, endpoint: &EndpointKey, due: Millis, now: Millis) -> Option<Attempt> {
        let later = {
            let down = self.endpoints.get_mut(endpoint)?.down.as_mut()?;
            if down.timer != Some(due) {
                return None; // stale: superseded, or from an earlier outage
            }
            down.timer = None;
            if down.probing {
                return None;
            }
            down.probe_at > now
        };
        if later {
            // Moved later meanwhile.
            self.ensure_probe_timer(endpoint);
            return None;
        }
        // The head that has waited longest for a try.
        let mut best: Option<(Millis, u64, ConversationId)> = None;
        for conv in &self.endpoints.get(endpoint)?.conversations {
            let Some(queue) = self.queues.get(&(*conv, endpoint.clone())) else {
                continue;
            };
            let Some(head) = queue.entries.front() else {
                continue;
            };
            if queue.head == Head::Idle && head.notice != Notice::InFlight {
                let candidate = (head.next_due, head.seq, *conv);
                if best.is_none_or(|b| candidate < b) {
                    best = Some(candidate);
                }
            }
        }
        // None: every head is in flight or waits for its notice; the next one to become
        // idle sets a new timer.
        let (_, _, conv) = best?;
        if let Some(down) = self.endpoints.get_mut(endpoint).and_then(|e| e.down.as_mut()) {
            down.probing = true;
        }
        let key = (conv, endpoint.clone());
        self.queues.get_mut(&key).expect("found above").head = Head::InFlight { probe: true };
        Some(self.start(key, true))
    }

    /// Remove the head of `key`.
    fn pop_head(&mut self, key: &QueueKey) {
        let Some(queue) = self.queues.get_mut(key) else {
            return;
        };
        queue.head = Head::Idle;
        let Some(done) = queue.entries.pop_front() else {
            return;
        };
        let empty = queue.entries.is_empty();
        self.forget(key, &done, empty);
    }

    /// Account for `gone` having left the queue `key` (now `empty` or not).
    fn forget(&mut self, key: &QueueKey, gone: &Pending, empty: bool) {
        if let Some(h) = &gone.hot {
            self.hot_bytes -= weight(h);
        }
        self.queued.remove(&self.dedupe_key(gone.seq, &gone.id));
        self.depth -= 1;
        if empty {
            self.queues.remove(key);
        }
        if let Some(ep) = self.endpoints.get_mut(&key.1) {
            ep.depth -= 1;
            if empty {
                ep.conversations.remove(&key.0);
            }
            // An endpoint that is down is remembered while empty, so that a new entry waits
            // for the next probe instead of trying at once.
            if ep.depth == 0 && ep.down.is_none() {
                self.endpoints.remove(&key.1);
            }
        }
    }

    /// The head of `key` was delivered: the next one moves up, and if its endpoint was down,
    /// every queue of the endpoint wakes.
    pub fn delivered(&mut self, key: &QueueKey) {
        self.pop_head(key);
        let woken: Vec<ConversationId> = match self.endpoints.get_mut(&key.1) {
            Some(ep) => match ep.down.take() {
                Some(_) => ep.conversations.iter().copied().collect(),
                None => Vec::new(),
            },
            None => Vec::new(),
        };
        for conv in woken {
            self.arm(&(conv, key.1.clone()));
        }
        if self.endpoints.get(&key.1).is_some_and(|e| e.depth == 0 && e.down.is_none()) {
            self.endpoints.remove(&key.1);
        }
        self.arm(key);
    }

    /// The head of `key` failed temporarily at `now`, for `reason`: its endpoint is down (the
    /// probe's failure pushes the next probe back on the schedule, honouring `retry_after`).
    /// Returns when the entry may be tried next, at the earliest.
    pub fn failed(&mut self, key: &QueueKey, now: Millis, reason: &str, retry_after: Option<Duration>) -> Millis {
        let Some(queue) = self.queues.get_mut(key) else {
            return now;
        };
        let probe = matches!(queue.head, Head::InFlight { probe: true });
        queue.head = Head::Idle;
        // An entry scheduled again while this head was in flight (a peer asked for it: this
        // head needs it first) waits behind it: seq order again.
        if queue.entries.iter().skip(1).any(|p| p.seq < queue.entries[0].seq) {
            queue.entries.make_contiguous().sort_by_key(|p| p.seq);
        }
        let Some(ep) = self.endpoints.get_mut(&key.1) else {
            return now;
        };
        ep.last_error = reason.to_string();
        let wait = |failures: u32| {
            let mut wait = self.schedule.delay(failures, &mut rand::rng());
            if let Some(asked) = retry_after {
                wait = wait.max(asked.min(self.schedule.max));
            }
            millis(wait)
        };
        match &mut ep.down {
            None => {
                ep.down = Some(Down { since: now, failures: 1, probe_at: now + wait(1), probing: false, timer: None });
            }
            Some(down) if probe => {
                down.failures = down.failures.saturating_add(1);
                down.probe_at = now + wait(down.failures);
                down.probing = false;
            }
            // An attempt started before the endpoint went down: the probe schedule stands.
            Some(_) => {}
        }
        let probe_at = ep.down.as_ref().map_or(now, |d| d.probe_at);
        if let Some(head) = queue.entries.front_mut() {
            head.next_due = probe_at;
        }
        self.ensure_probe_timer(&key.1);
        probe_at
    }

    /// The head of `key` failed for good (a permanent error): it leaves its queue. That says
    /// nothing about its endpoint, so a probe that ends so is followed by another at once.
    pub fn failed_for_good(&mut self, key: &QueueKey, now: Millis) {
        let probe = self.queues.get(key).is_some_and(|q| q.head == Head::InFlight { probe: true });
        self.pop_head(key);
        if probe && let Some(down) = self.endpoints.get_mut(&key.1).and_then(|e| e.down.as_mut()) {
            down.probing = false;
            down.probe_at = now;
        }
        self.ensure_probe_timer(&key.1);
        self.arm(key);
    }

    /// An attempt of the head of `key` ended with no outcome to record (its task failed): it
    /// waits as if it had failed, without moving the endpoint's schedule on.
    pub fn abandoned(&mut self, key: &QueueKey, now: Millis) {
        self.failed(key, now, "the delivery attempt was lost (a bug)", None);
    }

    /// Every entry of `endpoint` (down) pending long enough for a delay notice or to be given
    /// up, at most `limit` of them; the second value says whether more may be left. Entries
    /// given up leave their queues here; entries to be noticed wait for
    /// [`Queues::delay_noticed`]. An entry in flight is left to its outcome.
    pub fn overdue(&mut self, endpoint: &str, now: Millis, limit: usize) -> (Vec<Overdue>, bool) {
        let mut out = Vec::new();
        let Some((ep_key, ep)) = self.endpoints.get_key_value(endpoint) else {
            return (out, false);
        };
        if ep.down.is_none() || limit == 0 {
            return (out, false);
        }
        let ep_key = ep_key.clone();
        let reason = ep.last_error.clone();
        let give_up = millis(self.schedule.give_up_after);
        let warn = self.schedule.delay_warning_after.map(millis);
        let threshold = warn.unwrap_or(give_up).min(give_up);
        let conversations: Vec<ConversationId> = ep.conversations.iter().copied().collect();
        let gave_up_reason = format!("not delivered within {}: {reason}", human(self.schedule.give_up_after));
        let mut more = false;
        'queues: for conv in conversations {
            let key = (conv, ep_key.clone());
            let mut gone = Vec::new();
            let Some(queue) = self.queues.get_mut(&key) else {
                continue;
            };
            let mut i = 0;
            while i < queue.entries.len() {
                let pending = &mut queue.entries[i];
                let age = now - pending.created_at;
                if age < threshold {
                    break; // entries of a queue are in commit order: the rest are younger
                }
                if out.len() >= limit {
                    more = true;
                    break;
                }
                let in_flight = i == 0 && matches!(queue.head, Head::InFlight { .. });
                if in_flight || pending.notice == Notice::InFlight {
                    i += 1;
                    continue;
                }
                if age >= give_up {
                    let p = queue.entries.remove(i).expect("index checked");
                    out.push(Overdue::GiveUp { seq: p.seq, id: p.id.clone(), reason: gave_up_reason.clone() });
                    gone.push(p);
                    continue;
                }
                if warn.is_some() && pending.notice == Notice::NotSent {
                    pending.notice = Notice::InFlight;
                    // The notice rewrites the entry's record: a kept copy would be stale.
                    if let Some(h) = pending.hot.take() {
                        self.hot_bytes -= weight(&h);
                    }
                    out.push(Overdue::Delay {
                        key: key.clone(),
                        seq: pending.seq,
                        id: pending.id.clone(),
                        reason: reason.clone(),
                    });
                }
                i += 1;
            }
            let remaining = queue.entries.len();
            for (n, p) in gone.iter().enumerate() {
                self.forget(&key, p, remaining == 0 && n + 1 == gone.len());
            }
            if more {
                break 'queues;
            }
        }
        (out, more)
    }

    /// The delay notice of entry `seq` of `key` is recorded (`sent`), or could not be (it is
    /// made again at the endpoint's next failed attempt).
    pub fn delay_noticed(&mut self, key: &QueueKey, seq: u64, sent: bool) {
        let Some(queue) = self.queues.get_mut(key) else {
            return;
        };
        let Ok(i) = queue.entries.binary_search_by_key(&seq, |p| p.seq) else {
            return;
        };
        queue.entries[i].notice = if sent { Notice::Sent } else { Notice::NotSent };
        if i == 0 {
            self.arm(key);
        }
    }

    /// Each endpoint with pending entries (or down): depth, oldest entry, state.
    pub fn endpoint_stats(&self) -> Vec<EndpointStats> {
        let mut out: Vec<EndpointStats> = self
            .endpoints
            .iter()
            .map(|(key, ep)| EndpointStats {
                endpoint: key.clone(),
                depth: ep.depth,
                oldest_created_at: ep
                    .conversations
                    .iter()
                    .filter_map(|c| self.queues.get(&(*c, key.clone()))?.entries.front().map(|p| p.created_at))
                    .min(),
                down: ep.down.is_some(),
                down_since: ep.down.as_ref().map(|d| d.since),
            })
            .collect();
        out.sort_by(|a, b| a.endpoint.cmp(&b.endpoint));
        out
    }
}

#[cfg(test)]
mod tests {
    use c2c_core::conformance::{sample_commit, sample_conversation};
    use c2c_core::{Channel, Recipient};

    use super::*;

    const SECOND: Millis = 1000;
    /// Some time (the clock these tests control).
    const T0: Millis = 1_700_000_000_000;

    fn schedule() -> RetrySchedule {
        RetrySchedule {
            initial: Duration::from_secs(2),
            max: Duration::from_secs(60),
            jitter: 0.0,
            give_up_after: Duration::from_secs(3600),
            delay_warning_after: Some(Duration::from_secs(600)),
        }
    }

    /// An entry of conversation `conv` to `city`'s webhook, committed at `at`.
    fn entry(conv: ConversationId, seq: u64, city: &str, at: Millis) -> OutboxEntry {
        let c = sample_conversation("p");
        let (_, _, mut e) = sample_commit(&c, seq);
        e.conversation = conv;
        e.seq = seq;
        e.recipient = Recipient { city: city.into(), contact: None, channel: Channel::Webhook, address: city.into() };
        e.created_at = at;
        e.next_due = at;
        e
    }

    fn key(conv: ConversationId, city: &str) -> QueueKey {
        (conv, format!("webhook:{city}").into())
    }

    /// Every attempt startable at `now`, as (seq, probe).
    fn start_all(q: &mut Queues, now: Millis) -> Vec<(u64, bool)> {
        std::iter::from_fn(|| q.next_attempt(now)).map(|a| (a.seq, a.probe)).collect()
    }

    fn conv() -> ConversationId {
        ConversationId::new()
    }

    #[test]
    fn a_conversation_is_delivered_in_commit_order() {
        let mut q = Queues::new(schedule(), 0);
        let c = conv();
        for seq in 1..=3 {
            assert!(q.push(&entry(c, seq, "hz", T0)));
        }
        assert_eq!(start_all(&mut q, T0), [(1, false)], "only the head");
        q.delivered(&key(c, "hz"));
        assert_eq!(start_all(&mut q, T0), [(2, false)]);
        q.delivered(&key(c, "hz"));
        assert_eq!(start_all(&mut q, T0), [(3, false)]);
        q.delivered(&key(c, "hz"));
        assert_eq!(q.depth(), 0);
        assert!(q.endpoint_stats().is_empty(), "an empty endpoint that is up is forgotten");
    }

    #[test]
    fn a_down_endpoint_is_probed_on_the_backoff_schedule_and_wakes_on_success() {
        let mut q = Queues::new(schedule(), 0);
        let (a, b, c) = (conv(), conv(), conv());
        q.push(&entry(a, 1, "hz", T0));
        q.push(&entry(a, 2, "hz", T0));
        q.push(&entry(b, 3, "leeds", T0));
        assert_eq!(start_all(&mut q, T0), [(1, false), (3, false)]);
        q.delivered(&key(b, "leeds"));

        // Hangzhou fails: down, probed after 2 s, 4 s, 8 s (the endpoint's failures in a row).
        assert_eq!(q.failed(&key(a, "hz"), T0, "HTTP 503", None), T0 + 2 * SECOND);
        assert!(q.is_down("webhook:hz"));
        // A new conversation to Hangzhou waits too; only one probe at a time.
        q.push(&entry(c, 4, "hz", T0 + SECOND));
        assert_eq!(start_all(&mut q, T0 + SECOND), []);
        assert_eq!(q.next_wakeup(), Some(T0 + 2 * SECOND));
        // The probe is the head that waited longest: the new conversation's (never tried).
        assert_eq!(start_all(&mut q, T0 + 2 * SECOND), [(4, true)]);
        assert_eq!(q.failed(&key(c, "hz"), T0 + 2 * SECOND, "HTTP 503", None), T0 + 6 * SECOND);
        assert_eq!(start_all(&mut q, T0 + 6 * SECOND - 1), []);
        // Then the other head: a head failing for its own reasons does not hold back the rest.
        assert_eq!(start_all(&mut q, T0 + 6 * SECOND), [(1, true)]);
        assert_eq!(q.failed(&key(a, "hz"), T0 + 6 * SECOND, "HTTP 503", None), T0 + 14 * SECOND);
        // Leeds is unaffected meanwhile.
        q.push(&entry(b, 5, "leeds", T0 + 7 * SECOND));
        assert_eq!(start_all(&mut q, T0 + 7 * SECOND), [(5, false)]);
        q.delivered(&key(b, "leeds"));

        // The probe succeeds: every queue of Hangzhou wakes at once, in order.
        assert_eq!(start_all(&mut q, T0 + 14 * SECOND), [(4, true)]);
        q.delivered(&key(c, "hz"));
        assert!(!q.is_down("webhook:hz"));
        assert_eq!(start_all(&mut q, T0 + 14 * SECOND), [(1, false)]);
        q.delivered(&key(a, "hz"));
        assert_eq!(start_all(&mut q, T0 + 14 * SECOND), [(2, false)]);
        q.delivered(&key(a, "hz"));
        assert_eq!(q.depth(), 0);
    }

    #[test]
    fn a_failure_resets_after_a_success_and_retry_after_is_honoured() {
        let mut q = Queues::new(schedule(), 0);
        let a = conv();
        q.push(&entry(a, 1, "hz", T0));
        q.push(&entry(a, 2, "hz", T0));
        start_all(&mut q, T0);
        assert_eq!(q.failed(&key(a, "hz"), T0, "429", Some(Duration::from_secs(30))), T0 + 30 * SECOND);
        assert_eq!(start_all(&mut q, T0 + 30 * SECOND), [(1, true)]);
        q.delivered(&key(a, "hz"));
        assert_eq!(start_all(&mut q, T0 + 30 * SECOND), [(2, false)]);
        // Down again: the schedule starts over.
        assert_eq!(q.failed(&key(a, "hz"), T0 + 31 * SECOND, "503", None), T0 + 33 * SECOND);
    }

    #[test]
    fn a_down_endpoint_heard_from_is_probed_at_once() {
        let mut q = Queues::new(schedule(), 0);
        let a = conv();
        q.push(&entry(a, 1, "hz", T0));
        assert_eq!(start_all(&mut q, T0), [(1, false)]);
        assert_eq!(q.failed(&key(a, "hz"), T0, "connection refused", None), T0 + 2 * SECOND);
        assert_eq!(start_all(&mut q, T0 + 2 * SECOND), [(1, true)]);
        assert_eq!(q.failed(&key(a, "hz"), T0 + 2 * SECOND, "connection refused", None), T0 + 6 * SECOND);
        assert_eq!(start_all(&mut q, T0 + 3 * SECOND), [], "waiting out its backoff");
        q.wake("webhook:hz", T0 + 3 * SECOND);
        assert_eq!(start_all(&mut q, T0 + 3 * SECOND), [(1, true)], "probed now");
        // A failed probe still backs off from the failures so far (three in a row: 8 s).
        assert_eq!(q.failed(&key(a, "hz"), T0 + 3 * SECOND, "HTTP 503", None), T0 + 11 * SECOND);
        q.wake("webhook:leeds", T0 + 4 * SECOND);
        q.wake("webhook:hz", T0 + 4 * SECOND);
        assert_eq!(start_all(&mut q, T0 + 4 * SECOND), [(1, true)]);
        q.delivered(&key(a, "hz"));
        assert!(!q.is_down("webhook:hz"));
    }

    #[test]
    fn a_delivery_scheduled_again_goes_before_the_later_one_that_needs_it() {
        let mut q = Queues::new(schedule(), 0);
        let c = conv();
        let first = entry(c, 1, "hz", T0);
        q.push(&first);
        q.push(&entry(c, 2, "hz", T0));
        assert_eq!(start_all(&mut q, T0), [(1, false)]);
        q.failed_for_good(&key(c, "hz"), T0);
        assert_eq!(start_all(&mut q, T0), [(2, false)]);
        // While 2 is in flight, 1 is scheduled again (the peer asked for it): it waits behind
        // the head in flight, and goes first once that head has failed (the peer's gap).
        let mut again = first.clone();
        again.created_at = T0 + SECOND;
        again.next_due = T0 + SECOND;
        assert!(q.push(&again));
        assert_eq!(q.failed(&key(c, "hz"), T0 + SECOND, "gap", None), T0 + 3 * SECOND);
        assert_eq!(start_all(&mut q, T0 + 3 * SECOND), [(1, true)]);
        q.delivered(&key(c, "hz"));
        assert_eq!(start_all(&mut q, T0 + 3 * SECOND), [(2, false)]);
        // An older entry pushed while the head is idle goes first at once.
        q.failed(&key(c, "hz"), T0 + 3 * SECOND, "down", None);
        let mut zero = entry(c, 0, "hz", T0);
        zero.id = c2c_core::OutboxId("zero-0".into());
        q.push(&zero);
        assert_eq!(start_all(&mut q, T0 + 60 * SECOND), [(0, true)]);
    }

    #[test]
    fn attempts_in_flight_when_the_endpoint_goes_down_do_not_push_the_probe_back() {
        let mut q = Queues::new(schedule(), 0);
        let (a, b) = (conv(), conv());
        q.push(&entry(a, 1, "hz", T0));
        q.push(&entry(b, 2, "hz", T0));
        assert_eq!(start_all(&mut q, T0), [(1, false), (2, false)]);
        assert_eq!(q.failed(&key(a, "hz"), T0, "503", None), T0 + 2 * SECOND);
        assert_eq!(q.failed(&key(b, "hz"), T0 + SECOND, "503", None), T0 + 2 * SECOND);
        assert_eq!(start_all(&mut q, T0 + 2 * SECOND).len(), 1, "one probe");
    }

    #[test]
    fn a_permanent_failure_of_the_probe_is_followed_by_another_probe_at_once() {
        let mut q = Queues::new(schedule(), 0);
        let (a, b) = (conv(), conv());
        q.push(&entry(a, 1, "hz", T0));
        start_all(&mut q, T0);
        q.failed(&key(a, "hz"), T0, "503", None);
        q.push(&entry(b, 2, "hz", T0));
        let probe = q.next_attempt(T0 + 2 * SECOND).unwrap();
        assert_eq!((probe.seq, probe.probe), (2, true));
        q.failed_for_good(&key(b, "hz"), T0 + 2 * SECOND);
        assert_eq!(start_all(&mut q, T0 + 2 * SECOND), [(1, true)], "no new backoff");
        assert!(q.is_down("webhook:hz"), "a permanent failure says nothing about the endpoint");
    }

    #[test]
    fn deliveries_give_up_by_age_after_one_delay_notice() {
        let mut q = Queues::new(schedule(), 0);
        let (a, b) = (conv(), conv());
        const MINUTE: Millis = 60 * SECOND;
        let first = entry(a, 1, "hz", T0);
        q.push(&first);
        q.push(&entry(a, 2, "hz", T0 + 5 * MINUTE));
        q.push(&entry(b, 3, "hz", T0 + 55 * MINUTE));
        let now = T0 + 20 * MINUTE;
        assert_eq!(start_all(&mut q, now), [(1, false), (3, false)]);
        q.failed(&key(a, "hz"), now, "HTTP 503", None);
        q.failed(&key(b, "hz"), now, "HTTP 503", None);
        // Seq 1 is 20 minutes old, seq 2 is 15 (both ≥ 10): a notice each; seq 3 none.
        let (found, more) = q.overdue("webhook:hz", now, 100);
        assert!(!more);
        let delayed: Vec<u64> = found
            .iter()
            .map(|o| match o {
                Overdue::Delay { seq, reason, .. } => {
                    assert_eq!(reason, "HTTP 503");
                    *seq
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(delayed, [1, 2]);
        // While its notice is on the way, the head of `a` is not probed.
        assert_eq!(start_all(&mut q, now + 2 * SECOND), [(3, true)]);
        q.failed(&key(b, "hz"), now + 2 * SECOND, "HTTP 503", None);
        q.delay_noticed(&key(a, "hz"), 1, true);
        q.delay_noticed(&key(a, "hz"), 2, false);
        // Told once: the next check notices only seq 2 again (its notice was not recorded).
        let (found, _) = q.overdue("webhook:hz", now + 2 * SECOND, 100);
        assert!(matches!(found[..], [Overdue::Delay { seq: 2, .. }]), "{found:?}");
        q.delay_noticed(&key(a, "hz"), 2, true);
        assert_eq!(q.overdue("webhook:hz", now + 3 * SECOND, 100), (vec![], false));

        // An hour after its commit, at a failed attempt, seq 1 is given up; 2 and 3 are younger.
        let now = T0 + 60 * MINUTE;
        let (found, _) = q.overdue("webhook:hz", now, 100);
        assert_eq!(
            found,
            [Overdue::GiveUp { seq: 1, id: first.id.clone(), reason: "not delivered within 1 hour: HTTP 503".into() }]
        );
        assert_eq!(q.depth(), 2);
        let stats = q.endpoint_stats();
        assert_eq!(stats[0].oldest_created_at, Some(T0 + 5 * MINUTE));
        assert!(stats[0].down);
    }

    #[test]
    fn overdue_entries_come_in_bounded_batches() {
        let mut q = Queues::new(schedule(), 0);
        let a = conv();
        for seq in 1..=10 {
            q.push(&entry(a, seq, "hz", T0));
        }
        start_all(&mut q, T0);
        q.failed(&key(a, "hz"), T0, "503", None);
        let now = T0 + 2 * 3600 * SECOND;
        let (first, more) = q.overdue("webhook:hz", now, 4);
        assert_eq!((first.len(), more), (4, true));
        let (rest, more) = q.overdue("webhook:hz", now, 100);
        assert_eq!((rest.len(), more), (6, false));
        assert_eq!(q.depth(), 0);
        assert!(q.is_down("webhook:hz"), "still down, remembered while empty");
        // A new entry waits for the next probe rather than trying at once.
        q.push(&entry(a, 11, "hz", now));
        assert_eq!(start_all(&mut q, now).len(), 1, "the probe was due long ago");
    }

    #[test]
    fn an_entry_in_flight_is_left_to_its_outcome() {
        let mut q = Queues::new(schedule(), 0);
        let (a, b) = (conv(), conv());
        q.push(&entry(a, 1, "hz", T0));
        q.push(&entry(b, 2, "hz", T0));
        start_all(&mut q, T0);
        q.failed(&key(a, "hz"), T0, "503", None);
        // b's first attempt is still in flight.
        let (found, _) = q.overdue("webhook:hz", T0 + 2 * 3600 * SECOND, 100);
        assert_eq!(found.len(), 1);
        assert_eq!(q.depth(), 1);
    }

    #[test]
    fn a_restart_resumes_the_endpoint_down_and_its_notices_sent() {
        let mut q = Queues::new(schedule(), 0);
        let (a, b) = (conv(), conv());
        let mut failed = entry(a, 1, "hz", T0);
        failed.status = DeliveryStatus::TemporaryFailure;
        failed.attempts = 7;
        failed.next_due = T0 + 900 * SECOND;
        failed.delay_noticed_at = Some(T0 + 600 * SECOND);
        q.push(&failed);
        q.push(&entry(b, 2, "hz", T0));
        assert_eq!(start_all(&mut q, T0 + 800 * SECOND), [], "down until the stored next try");
        assert_eq!(start_all(&mut q, T0 + 900 * SECOND), [(2, true)]);
        assert_eq!(q.failed(&key(b, "hz"), T0 + 900 * SECOND, "503", None), T0 + 960 * SECOND, "at the capped wait");
        let (found, _) = q.overdue("webhook:hz", T0 + 960 * SECOND, 100);
        assert!(matches!(found[..], [Overdue::Delay { seq: 2, .. }]), "seq 1 was told before: {found:?}");
    }

    #[test]
    fn an_entry_queued_twice_is_queued_once() {
        let mut q = Queues::new(schedule(), 0);
        let a = conv();
        let e = entry(a, 1, "hz", T0);
        assert!(q.push(&e));
        assert!(!q.push(&e));
        assert_eq!(q.depth(), 1);
        start_all(&mut q, T0);
        q.delivered(&key(a, "hz"));
        assert_eq!(q.depth(), 0);
        assert!(q.push(&e), "once delivered and gone, the id may be queued again (a later resume)");
    }

    #[test]
    fn only_entries_about_to_be_attempted_keep_their_message_within_the_budget() {
        let c = sample_conversation("p");
        let (_, message, _) = sample_commit(&c, 1);
        let context = Arc::new(crate::outbox::Context {
            message,
            subject: "s".into(),
            conversation_instance: "test".into(),
            threads: Default::default(),
        });
        let hot = |e: &OutboxEntry| Box::new(Queued { entry: e.clone(), context: Some(context.clone()) });
        let one = weight(&Queued { entry: entry(conv(), 1, "hz", T0), context: Some(context.clone()) });
        let mut q = Queues::new(schedule(), 2 * one);
        let (a, b, c) = (conv(), conv(), conv());
        let (e1, e2, e3, e4) =
            (entry(a, 1, "hz", T0), entry(a, 2, "hz", T0), entry(b, 3, "hz", T0), entry(c, 4, "hz", T0));
        q.push_hot(hot(&e1));
        q.push_hot(hot(&e2)); // behind a head: reads the store when its turn comes
        q.push_hot(hot(&e3));
        q.push_hot(hot(&e4)); // over the budget
        assert_eq!(q.hot_bytes(), 2 * one);
        let kept: Vec<(u64, bool)> =
            std::iter::from_fn(|| q.next_attempt(T0)).map(|a| (a.seq, a.hot.is_some())).collect();
        assert_eq!(kept, [(1, true), (3, true), (4, false)]);
        assert_eq!(q.hot_bytes(), 0);
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(human(Duration::from_secs(5 * 86_400)), "5 days");
        assert_eq!(human(Duration::from_secs(3600)), "1 hour");
        assert_eq!(human(Duration::from_secs(90)), "90 seconds");
        assert_eq!(human(Duration::from_millis(500)), "500 ms");
    }
}
