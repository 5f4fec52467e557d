//! The retention sweep: with `[bridge] retention` (or `dedupe_window`) set, every so often
//! (a quarter of the shorter of the two, from 1 s to 1 h), find what is due to be forgotten and
//! hand it to the committer in small pieces (`router::retention` decides again and deletes).
//!
//! A sweep has two stages:
//! 1. conversations whose last activity is older than `retention` go to the committer at most
//!    32 (and about 1,024 posts) at a time, and the committer reads at most 1,024 of their
//!    messages per piece (those it did not reach come back as a piece of their own); each
//!    forgotten one leaves a tombstone. One with more than 1,024 messages is left by the
//!    committer after reading that many; the sweep then reads it on its own thread and has the
//!    committer trim it, 1,024 messages a piece, down to what its thread's figures need (its
//!    first post, each city's first post, its last post and last message), and then forget it
//!    like the others. Pieces are sized by what they took and followed by a rest as long
//!    ([`crate::retention_pace`]): a post waits about 15 ms at worst here while a sweep runs
//!    (BENCHMARKS.md, "Retention of one very long conversation");
//! 2. the id-map entries that point to a tombstoned conversation, and the dedupe answers older
//!    than `dedupe_window`, go 1024 at a time; the tombstones go last.
//!
//! The store is read in steps of at most 16,384 records, each from where the last stopped, so
//! the sweep's memory does not grow with the store and no read is held open for long (a long
//! read would keep redb from reusing the pages the sweep frees).
//!
//! Each piece is its own commit, queued behind whatever is waiting, so a sweep never holds
//! commits up for more than one piece. Nothing here is a timer that must not be missed: a sweep
//! cut short by a stop or a crash leaves the store consistent (tombstones say what stage 2 still
//! owes), and the next sweep, at the next start at the latest, carries on.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use c2c_config::{Bridge, Config};
use c2c_core::{ConversationId, MessageKind, Millis, NativeKey, Shutdown, Store, Timer};

use crate::clock::Clock;
use crate::live::Live;
use crate::metrics::Metrics;
use crate::retention_pace::Pace;
use crate::router::Router;
use crate::router::retention::{Forgotten, TrimPiece, Trimmed};

/// Conversations per piece of work at most...
const CONVERSATIONS_PER_PIECE: usize = 32;
/// ...and posts (the committer also reads at most this many messages per piece, fewer when
/// [`Pace`] says pieces take long): a piece deletes about twice as many records (each message's
/// deliveries), so this keeps one piece's commit to about 2,000 deletions, about 20 ms of the
/// committer on the machine of BENCHMARKS.md (2,048 held posts up for 45 ms). A longer
/// conversation is trimmed first.
pub const POSTS_PER_PIECE: u64 = 1024;
/// Id-map entries or dedupe answers per piece of work.
const KEYS_PER_PIECE: usize = 1024;

/// The sweep and what it needs.
pub struct Sweep {
    pub store: Arc<dyn Store>,
    pub router: Router,
    pub config: Live<Config>,
    pub clock: Clock,
    pub metrics: Arc<Metrics>,
    /// Records read per step at most ([`READ_PER_STEP`]; tests make it small).
    pub read_per_step: usize,
    /// Posts per piece of work at most ([`POSTS_PER_PIECE`]; tests make it small).
    pub posts_per_piece: u64,
}

impl std::fmt::Debug for Sweep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sweep").finish_non_exhaustive()
    }
}

/// How often to sweep: a quarter of the shorter window, from 1 s to 1 h; `None` when nothing
/// expires.
pub fn interval(bridge: &Bridge) -> Option<Duration> {
    let shortest = [bridge.retention, bridge.dedupe_window].into_iter().flatten().min()?;
    Some((shortest / 4).clamp(Duration::from_secs(1), Duration::from_secs(3600)))
}

impl Sweep {
    /// Sweep at start and then every [`interval`], until `stop`. The config is read anew each
    /// time, so a reload that sets or changes `retention` takes effect at the next sweep (within
    /// an hour when it was off).
    pub async fn run(self, stop: Shutdown) {
        loop {
            let every = interval(&self.config.get().bridge);
            if every.is_some() {
                match self.once().await {
                    Ok(done) => {
                        self.metrics.retention_swept(&done);
                        if done != Forgotten::default() {
                            tracing::info!(
                                conversations = done.conversations,
                                messages = done.messages,
                                deliveries = done.deliveries,
                                id_map = done.id_map,
                                dedupe_answers = done.dedupe_answers,
                                kept = done.kept,
                                "retention: forgot what is past its time"
                            );
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "retention sweep stopped early; the next one carries on"),
                }
            }
            let wait = every.unwrap_or(Duration::from_secs(3600));
            tokio::select! {
                _ = self.clock.sleep(wait) => {}
                _ = stop.cancelled() => return,
            }
        }
    }

    /// One sweep (see the module docs): what it forgot. Each step reads the store for a few
    /// thousand records at most, from where the last one stopped, so neither memory nor one
    /// long read grows with the store.
    pub async fn once(&self) -> Result<Forgotten, String> {
        let config = self.config.get();
        let now = self.clock.now();
        let step = self.read_per_step.max(1);
        let mut done = Forgotten::default();
        let mut pace = Pace::new(self.posts_per_piece);
        if let Some(retention) = config.bridge.retention {
            let cutoff = now.saturating_sub(millis(retention));
            let mut after = None;
            loop {
                let (candidates, last) = self.read(move |store| inactive(store, cutoff, after, step)).await?;
                for mut piece in pieces(&candidates, self.posts_per_piece) {
                    // Each round handles at least one conversation of the piece: the rest, when
                    // the piece's messages ran out, comes back as `again`.
                    while !piece.is_empty() {
                        let most = pace.budget();
                        let expire = self.router.expire(piece, cutoff, most);
                        let expired = paced(Some(&mut pace), expire, |e| e.done.messages).await?;
                        done.add(&expired.done);
                        // Those with more messages than a piece: trimmed first, then forgotten
                        // (or, when something keeps them or a post came, left for the next sweep).
                        for id in expired.too_long {
                            if self.trim(id, cutoff, &mut done, &mut pace).await? {
                                let most = pace.budget();
                                let expire = self.router.expire(vec![id], cutoff, most);
                                done.add(&paced(Some(&mut pace), expire, |e| e.done.messages).await?.done);
                            }
                        }
                        piece = expired.again;
                    }
                }
                match last {
                    Some(last) => after = Some(last),
                    None => break,
                }
            }
        }
        let dedupe_cutoff = config.bridge.dedupe_window.map(|d| now.saturating_sub(millis(d)));
        let tombstones = self.read(|store| store.forgotten()).await?;
        if tombstones.is_empty() && dedupe_cutoff.is_none() {
            return Ok(done);
        }
        let dead: Arc<HashSet<ConversationId>> = Arc::new(tombstones.iter().copied().collect());
        let mut after: Option<NativeKey> = None;
        while !dead.is_empty() {
            let dead = dead.clone();
            let (natives, last) = self.read(move |store| natives_of(store, &dead, after.as_ref(), step)).await?;
            if !natives.is_empty() {
                done.add(&paced(None, self.router.forget_ids(natives, Vec::new(), None, Vec::new()), |_| 0).await?);
            }
            match last {
                Some(last) => after = Some(last),
                None => break,
            }
        }
        let mut after: Option<NativeKey> = None;
        loop {
            let dead = dead.clone();
            let (accepted, last) =
                self.read(move |store| answers_to_forget(store, &dead, dedupe_cutoff, after.as_ref(), step)).await?;
            if !accepted.is_empty() {
                let forget = self.router.forget_ids(Vec::new(), accepted, dedupe_cutoff, Vec::new());
                done.add(&paced(None, forget, |_| 0).await?);
            }
            match last {
                Some(last) => after = Some(last),
                None => break,
            }
        }
        for piece in tombstones.chunks(KEYS_PER_PIECE) {
            let forget = self.router.forget_ids(Vec::new(), Vec::new(), None, piece.to_vec());
            done.add(&paced(None, forget, |_| 0).await?);
        }
        Ok(done)
    }

    /// Trim long conversation `id` down to what its thread needs, a piece at a time (added to
    /// `done`); whether it is still to be forgotten (`false`: something keeps it, counted in
    /// `done.kept`, or it is gone or active).
    async fn trim(
        &self,
        id: ConversationId,
        cutoff: Millis,
        done: &mut Forgotten,
        pace: &mut Pace,
    ) -> Result<bool, String> {
        let plan = match self.read(move |store| plan(store, id, cutoff)).await? {
            Planned::Trim(plan) => plan,
            Planned::Kept => {
                done.kept += 1;
                return Ok(false);
            }
            Planned::Not => return Ok(false),
        };
        let mut piece =
            TrimPiece { conversation: id, cutoff, from: plan.from, to: plan.to, keep: Arc::new(plan.keep), max: 0 };
        loop {
            // Sized anew for each piece, as the pieces before it went.
            piece.max = pace.budget();
            let used = |t: &Trimmed| match t {
                Trimmed::Piece { done, .. } => done.messages,
                Trimmed::Stopped => 0,
            };
            match paced(Some(&mut *pace), self.router.trim(piece.clone()), used).await? {
                Trimmed::Piece { done: piece_done, next } => {
                    done.add(&piece_done);
                    match next {
                        Some(next) => piece.from = next,
                        None => return Ok(true),
                    }
                }
                // The committer decides again: expiring it does too, and says why.
                Trimmed::Stopped => return Ok(true),
            }
        }
    }

    /// Read the store on a blocking thread (a scan of every record of a kind).
    async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&dyn Store) -> Result<T, c2c_core::StoreError> + Send + 'static,
    ) -> Result<T, String> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || read(store.as_ref()))
            .await
            .map_err(|e| format!("retention read task: {e}"))?
            .map_err(|e| format!("retention could not read the store: {e}"))
    }
}

fn millis(d: Duration) -> Millis {
    Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX)
}

/// Await one piece of work sized by `pace` (or, without, one of keys), then rest as [`Pace`]
/// says (real time: the rest leaves the committer to posts, whatever clock the sweep's decisions
/// are on). `used` says how many messages the piece deleted.
async fn paced<T>(
    pace: Option<&mut Pace>,
    work: impl std::future::Future<Output = Result<T, String>>,
    used: impl FnOnce(&T) -> u64,
) -> Result<T, String> {
    let start = std::time::Instant::now();
    let out = work.await?;
    let took = start.elapsed();
    let rest = match pace {
        Some(pace) => pace.took(took, used(&out)),
        None => Pace::rest(took),
    };
    tokio::time::sleep(rest).await;
    Ok(out)
}

/// Records read per step of a sweep at most.
pub const READ_PER_STEP: usize = 16_384;

/// What one step of a sweep found, and the last key it read when it stopped before the end
/// (the next step starts after it).
type Step<T, K> = Result<(Vec<T>, Option<K>), c2c_core::StoreError>;

/// The conversations after `after` whose record shows no activity since `cutoff` (the
/// committer looks at their messages too before forgetting them), with their posts.
fn inactive(
    store: &dyn Store,
    cutoff: Millis,
    after: Option<ConversationId>,
    step: usize,
) -> Step<(ConversationId, u64), ConversationId> {
    let (mut out, mut read, mut last) = (Vec::new(), 0, None);
    store.each_conversation(after, &mut |c| {
        if c.last_activity() < cutoff {
            out.push((c.id, c.posts));
        }
        read += 1;
        last = Some(c.id);
        read < step
    })?;
    Ok((out, if read < step { None } else { last }))
}

/// What the sweep read of a long inactive conversation before trimming it.
enum Planned {
    /// Trim it, from seq `from` to seq `to`, keeping the seqs in `keep`.
    Trim(Plan),
    /// A delivery pending, a reminder due or a deliverable not done keeps it.
    Kept,
    /// It is gone, or active since `cutoff`.
    Not,
}

struct Plan {
    from: u64,
    to: u64,
    keep: BTreeSet<u64>,
}

/// Read conversation `id` one message at a time (on the sweep's thread, not the committer's):
/// whether it is to be trimmed, and what of it stays until it goes (its first post, each city's
/// first post, its last post and last message).
fn plan(store: &dyn Store, id: ConversationId, cutoff: Millis) -> Result<Planned, c2c_core::StoreError> {
    let Some(conv) = store.conversation(id)? else { return Ok(Planned::Not) };
    if conv.last_activity() >= cutoff {
        return Ok(Planned::Not);
    }
    for prefix in Timer::conversation_prefixes(id) {
        if !store.timers_under(&prefix)?.is_empty() {
            return Ok(Planned::Kept);
        }
    }
    if store.deliverables()?.iter().any(|d| d.done_at.is_none() && d.conversation == Some(id)) {
        return Ok(Planned::Kept);
    }
    let (mut first, mut first_by, mut last_post) = (None, HashMap::new(), None);
    let (mut range, mut active, mut pending, mut failed) = (None::<(u64, u64)>, false, false, None);
    store.each_message(id, &mut |m| {
        if failed.is_some() || active || pending {
            return;
        }
        active = m.committed_at >= cutoff;
        range = Some(range.map_or((m.seq, m.seq), |(from, _)| (from, m.seq)));
        if let Some(author) = m.author.as_ref().filter(|_| m.kind == MessageKind::Post) {
            first.get_or_insert(m.seq);
            first_by.entry(author.city.clone()).or_insert(m.seq);
            last_post = Some(m.seq);
        }
        match store.outbox_at(m.seq) {
            Ok(at) => pending = at.iter().any(|e| e.conversation == id && e.status.is_pending()),
            Err(e) => failed = Some(e),
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    if active {
        return Ok(Planned::Not);
    }
    if pending {
        return Ok(Planned::Kept);
    }
    let Some((from, to)) = range else { return Ok(Planned::Not) };
    let keep = first.into_iter().chain(first_by.into_values()).chain(last_post).chain([to]).collect();
    Ok(Planned::Trim(Plan { from, to, keep }))
}

/// One step over keys: those picked (at most a piece), and where the step stopped.
struct KeyStep {
    picked: Vec<NativeKey>,
    read: usize,
    step: usize,
    last: Option<NativeKey>,
    full: bool,
}

impl KeyStep {
    fn new(step: usize) -> Self {
        Self { picked: Vec::new(), read: 0, step, last: None, full: false }
    }

    /// Look at `key` (kept if `pick`); whether to read on.
    fn see(&mut self, key: NativeKey, pick: bool) -> bool {
        if pick {
            self.picked.push(key.clone());
        }
        self.read += 1;
        self.last = Some(key);
        self.full = self.read == self.step || self.picked.len() == KEYS_PER_PIECE;
        !self.full
    }

    fn done(self) -> (Vec<NativeKey>, Option<NativeKey>) {
        (self.picked, if self.full { self.last } else { None })
    }
}

/// The id-map entries after `after` that point to a conversation in `dead`: at most a piece.
fn natives_of(
    store: &dyn Store,
    dead: &HashSet<ConversationId>,
    after: Option<&NativeKey>,
    step: usize,
) -> Step<NativeKey, NativeKey> {
    let mut keys = KeyStep::new(step);
    store.each_native(after, &mut |k, r| keys.see(k, dead.contains(&r.conversation)))?;
    Ok(keys.done())
}

/// The dedupe answers after `after` older than `dedupe_cutoff` or pointing into `dead`: at most
/// a piece.
fn answers_to_forget(
    store: &dyn Store,
    dead: &HashSet<ConversationId>,
    dedupe_cutoff: Option<Millis>,
    after: Option<&NativeKey>,
    step: usize,
) -> Step<NativeKey, NativeKey> {
    let mut keys = KeyStep::new(step);
    store.each_accepted(after, &mut |k, a| {
        let old = dedupe_cutoff.is_some_and(|cut| a.accepted_at() < cut);
        keys.see(k, old || dead.contains(&a.conversation))
    })?;
    Ok(keys.done())
}

/// `candidates` in pieces of at most [`CONVERSATIONS_PER_PIECE`] conversations and about
/// `posts_per_piece` posts ([`POSTS_PER_PIECE`]).
fn pieces(candidates: &[(ConversationId, u64)], posts_per_piece: u64) -> Vec<Vec<ConversationId>> {
    let mut out: Vec<Vec<ConversationId>> = Vec::new();
    let mut posts = 0;
    for &(id, n) in candidates {
        let n = n + 1;
        match out.last_mut() {
            Some(piece) if piece.len() < CONVERSATIONS_PER_PIECE && posts + n <= posts_per_piece => {
                piece.push(id);
                posts += n;
            }
            _ => {
                out.push(vec![id]);
                posts = n;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_are_small_in_conversations_and_in_posts() {
        let ids: Vec<ConversationId> = (0..5).map(|_| ConversationId::new()).collect();
        let sizes = |c: &[(ConversationId, u64)]| pieces(c, 2048).iter().map(Vec::len).collect::<Vec<_>>();
        let few: Vec<_> = (0..70).map(|i| (ids[i % 5], 1)).collect();
        assert_eq!(sizes(&few), [32, 32, 6]);
        let big = [(ids[0], 1000), (ids[1], 1000), (ids[2], 5000), (ids[3], 10), (ids[4], 10)];
        assert_eq!(sizes(&big), [2, 1, 2], "a conversation over the budget goes alone");
    }
}
