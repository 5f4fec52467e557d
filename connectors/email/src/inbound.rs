//! The IMAP side: watch the bridge's mailbox (IDLE, or polling where the server has none),
//! fetch what is new, submit it, and only once the inbox has answered (the message is on disk,
//! or refused for good) flag it `\Seen` and move it out of the way.
//!
//! The mailbox's UIDVALIDITY and the last UID handled are kept in the store, so a restart or an
//! outage picks up exactly where it stopped; a mail handled but not yet moved when the bridge
//! died is fetched again and answered as a replay (dedupe on its Message-ID), so nothing is
//! relayed twice. Any error drops the connection and reconnects with backoff.
//!
//! Sizes are asked first (`RFC822.SIZE`): mail over `max_mail_bytes` is never downloaded whole,
//! only its first bytes (its header, and a bounce's report), and is refused as too large (its
//! sender told, if a contact) unless it is a bounce; the rest is fetched
//! in groups of at most [`FETCH_BYTES`], so a run of large mails cannot exhaust memory.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_imap::Client;
use async_imap::types::UnsolicitedResponse;
use c2c_core::{BounceReport, Channel, Health, Inbox, RefusalReason, Shutdown};
use futures::TryStreamExt;
use rand::Rng;
use tokio::net::TcpStream;

use crate::classify::{OVERSIZED_PEEK_BYTES, Outcome, classify, classify_oversized};
use crate::compose::compose_refusal;
use crate::config::{EmailSettings, Security, Server};
use crate::outbound::Smtp;
use crate::parse::ParsedMail;
use crate::tls::{MaybeTls, client_config, connect_tls};

type Session = async_imap::Session<MaybeTls>;

/// The longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How many mails are looked at per round trip.
const FETCH_CHUNK: usize = 25;
/// At most this many bytes of mail are fetched in one round trip (a single mail may be larger,
/// up to `max_mail_bytes`).
const FETCH_BYTES: u64 = 32 * 1024 * 1024;
/// The longest any one exchange with the server may take before the connection is dropped.
const OP_TIMEOUT: Duration = Duration::from_secs(120);

/// Run until `shutdown`.
pub async fn run(
    settings: Arc<EmailSettings>,
    smtp: Smtp,
    inbox: Arc<dyn Inbox>,
    shutdown: Shutdown,
    health: Arc<Mutex<Health>>,
) {
    let set_health = |ok: bool, detail: String| health.lock().unwrap_or_else(|p| p.into_inner()).update(ok, detail);
    let mut backoff = Duration::from_secs(1);
    loop {
        let watcher = Watcher { s: &settings, smtp: &smtp, inbox: inbox.as_ref(), shutdown: &shutdown };
        let mut connected = false;
        let result = watcher
            .session(&mut |ok, detail| {
                connected |= ok;
                set_health(ok, detail)
            })
            .await;
        if connected {
            backoff = Duration::from_secs(1);
        }
        match result {
            Ok(()) => return,
            Err(e) => {
                set_health(false, e.clone());
                let wait = backoff.mul_f64(rand::rng().random_range(0.8..1.2));
                tracing::warn!(server = %format!("{}:{}", settings.imap.host, settings.imap.port), error = %e,
                    retry_in_ms = wait.as_millis() as u64, "IMAP connection lost; reconnecting");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.cancelled() => return,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// What to do with a mail once the inbox has answered.
enum Disposition {
    /// Committed (or a replay of something committed, or a bounce recorded): move to processed.
    Processed,
    /// Refused for good: move to the refused folder for an admin to see.
    Refused,
    /// The bridge could not take it now: leave it, try again later.
    Retry,
}

struct Watcher<'a> {
    s: &'a EmailSettings,
    smtp: &'a Smtp,
    inbox: &'a dyn Inbox,
    shutdown: &'a Shutdown,
}

impl Watcher<'_> {
    /// One connection's life: connect, then sync and wait for new mail until shutdown or error.
    async fn session(&self, health: &mut (dyn FnMut(bool, String) + Send)) -> Result<(), String> {
        let mut session = timed(connect(&self.s.imap)).await?;
        let caps = timed(session.capabilities()).await?;
        let idle = caps.has_str("IDLE");
        let can_move = caps.has_str("MOVE");
        // Without UIDPLUS there is no UID EXPUNGE: a plain EXPUNGE removes what is flagged deleted.
        let uid_expunge = caps.has_str("UIDPLUS");
        for folder in [&self.s.processed_folder, &self.s.refused_folder] {
            // Fails when it exists already; a real problem shows up at the first move.
            let _ = timed(session.create(folder)).await;
        }
        health(true, format!("IMAP connected ({})", if idle { "IDLE" } else { "polling" }));
        tracing::info!(server = %format!("{}:{}", self.s.imap.host, self.s.imap.port), mailbox = %self.s.mailbox,
            idle, "IMAP connected");
        loop {
            let mailbox = timed(session.select(&self.s.mailbox)).await?;
            // What the server said before this sync is covered by it.
            let _ = new_mail_announced(&session);
            self.sync(&mut session, mailbox.uid_validity.unwrap_or(0), can_move, uid_expunge).await?;
            if self.shutdown.is_cancelled() {
                let _ = timed(session.logout()).await;
                return Ok(());
            }
            if new_mail_announced(&session) {
                // Mail arrived while the last one was being handled; the server has said so
                // already and will not say it again in IDLE.
                continue;
            }
            if idle {
                let mut handle = session.idle();
                timed(handle.init()).await?;
                {
                    let (wait, stop) = handle.wait_with_timeout(self.s.idle_renew);
                    tokio::select! {
                        r = wait => { r.map_err(imap_err)?; }
                        _ = self.shutdown.cancelled() => drop(stop),
                    }
                }
                session = timed(handle.done()).await?;
            } else {
                tokio::select! {
                    _ = tokio::time::sleep(self.s.poll_interval) => {}
                    _ = self.shutdown.cancelled() => {}
                }
            }
        }
    }

    fn cursor_key(&self) -> String {
        format!("email:imap:{}:{}", self.s.imap.user, self.s.mailbox)
    }

    /// Handle every mail that arrived since the last one handled.
    async fn sync(
        &self,
        session: &mut Session,
        uid_validity: u32,
        can_move: bool,
        uid_expunge: bool,
    ) -> Result<(), String> {
        let key = self.cursor_key();
        let last = match self.inbox.load_state(&key).await.and_then(|v| {
            let (uv, last) = v.split_once(':')?;
            Some((uv.parse::<u32>().ok()?, last.parse::<u32>().ok()?))
        }) {
            Some((uv, last)) if uv == uid_validity => last,
            Some(_) => {
                tracing::warn!(mailbox = %self.s.mailbox, "UIDVALIDITY changed; reading the whole mailbox again (replays are recognised)");
                0
            }
            None => 0,
        };
        let found: HashSet<u32> = timed(session.uid_search(format!("UID {}:*", last + 1))).await?;
        // `N:*` always matches the highest UID, even one below N.
        let mut uids: Vec<u32> = found.into_iter().filter(|u| *u > last).collect();
        uids.sort_unstable();
        let mut done = last;
        for chunk in uids.chunks(FETCH_CHUNK) {
            let sizes = timed(async {
                let stream = session.uid_fetch(uid_set(chunk), "(UID RFC822.SIZE)").await?;
                stream.try_collect::<Vec<_>>().await
            })
            .await?;
            let sizes: HashMap<u32, u64> =
                sizes.iter().filter_map(|f| Some((f.uid?, f.size.map_or(0, u64::from)))).collect();
            let peek = OVERSIZED_PEEK_BYTES.min(self.s.max_mail_bytes);
            for group in plan(chunk, &sizes, self.s.max_mail_bytes as u64) {
                let (query, oversized) = match &group {
                    Fetch::Whole(_) => ("(UID BODY.PEEK[])".to_string(), None),
                    Fetch::Start(_, size) => (format!("(UID BODY.PEEK[]<0.{peek}>)"), Some(*size)),
                };
                let wanted = group.uids();
                let mails = timed(async {
                    let stream = session.uid_fetch(uid_set(wanted), &query).await?;
                    stream.try_collect::<Vec<_>>().await
                })
                .await?;
                let mut fetched: Vec<(u32, &[u8])> = Vec::new();
                for f in &mails {
                    match (f.uid, f.body()) {
                        (Some(uid), Some(bytes)) => fetched.push((uid, bytes)),
                        (Some(uid), None) => {
                            // Not skipped (the cursor would move past it): fetched again next time.
                            self.save(&key, uid_validity, done).await;
                            return Err(format!("the server returned no body for UID {uid}; will try again"));
                        }
                        _ => {}
                    }
                }
                fetched.sort_by_key(|(uid, _)| *uid);
                for uid in wanted.iter().filter(|u| !fetched.iter().any(|(f, _)| f == *u)) {
                    tracing::info!(
                        uid,
                        "a mail found by the search was gone by the fetch (deleted meanwhile); skipped"
                    );
                }
                for (uid, raw) in fetched {
                    if let Some(size) = oversized {
                        tracing::info!(
                            uid,
                            size,
                            limit = self.s.max_mail_bytes,
                            "mail larger than max_mail_bytes: only its start was read"
                        );
                    }
                    // Parsing takes CPU time proportional to the mail's size: not on an async
                    // worker, where it would hold up other connections.
                    let (raw, s) = (raw.to_vec(), self.s.clone());
                    let decided = tokio::task::spawn_blocking(move || match oversized {
                        None => classify(&raw, &s),
                        Some(size) => classify_oversized(&raw, size, &s),
                    })
                    .await
                    .map_err(|e| format!("reading UID {uid} failed (a bug): {e}; will try again"))?;
                    let folder = match self.handle(decided).await {
                        Disposition::Processed => &self.s.processed_folder,
                        Disposition::Refused => &self.s.refused_folder,
                        Disposition::Retry => {
                            self.save(&key, uid_validity, done).await;
                            return Err("the bridge could not take a mail now; will try again".into());
                        }
                    };
                    self.file(session, uid, folder, can_move, uid_expunge).await?;
                    done = uid;
                }
            }
            for uid in chunk.iter().filter(|u| !sizes.contains_key(u)) {
                tracing::info!(
                    uid,
                    "a mail found by the search was gone before it was read (deleted meanwhile); skipped"
                );
            }
            self.save(&key, uid_validity, done).await;
        }
        Ok(())
    }

    async fn save(&self, key: &str, uid_validity: u32, last: u32) {
        self.inbox.save_state(key, &format!("{uid_validity}:{last}")).await;
    }

    /// Flag a handled mail seen and move it to `folder`.
    async fn file(
        &self,
        session: &mut Session,
        uid: u32,
        folder: &str,
        can_move: bool,
        uid_expunge: bool,
    ) -> Result<(), String> {
        let uid = uid.to_string();
        timed(async {
            session.uid_store(&uid, "+FLAGS (\\Seen)").await?.try_collect::<Vec<_>>().await?;
            if can_move {
                session.uid_mv(&uid, folder).await
            } else {
                session.uid_copy(&uid, folder).await?;
                session.uid_store(&uid, "+FLAGS (\\Deleted)").await?.try_collect::<Vec<_>>().await?;
                if uid_expunge {
                    session.uid_expunge(&uid).await?.try_collect::<Vec<_>>().await.map(|_| ())
                } else {
                    session.expunge().await?.try_collect::<Vec<_>>().await.map(|_| ())
                }
            }
        })
        .await
    }

    /// Act on the decision about one mail.
    async fn handle(&self, (mail, outcome): (Option<ParsedMail>, Outcome)) -> Disposition {
        match outcome {
            Outcome::Refused { reason, detail } => {
                tracing::info!(message_id = ?mail.as_ref().and_then(|m| m.message_id.as_deref()), %reason, %detail,
                    "mail not relayed");
                self.inbox.count_refusal(Channel::Email, reason);
                Disposition::Refused
            }
            Outcome::BounceIgnored { detail } => {
                tracing::info!(%detail, "delivery status notice; nothing to do");
                Disposition::Processed
            }
            Outcome::Bounce { seq, entry, reason, failed_recipients } => {
                if self.inbox.bounce(BounceReport { seq, entry, reason, failed_recipients }).await {
                    Disposition::Processed
                } else {
                    Disposition::Retry
                }
            }
            Outcome::Relay { envelope } => match self.inbox.submit(*envelope).await {
                Ok(accepted) => {
                    tracing::debug!(message = %accepted.message, conversation = %accepted.conversation,
                        replay = accepted.replay, "mail committed");
                    Disposition::Processed
                }
                Err(r) if r.reason == RefusalReason::Unavailable => Disposition::Retry,
                Err(r) => {
                    tracing::info!(reason = %r.reason, "mail refused");
                    if answers_refusal(r.reason)
                        && let Some(mail) = &mail
                    {
                        self.reply(mail, &r.detail).await;
                    }
                    Disposition::Refused
                }
            },
        }
    }

    /// Tell a known contact why their mail was not relayed, in their own thread.
    async fn reply(&self, mail: &ParsedMail, why: &str) {
        match compose_refusal(mail, why, self.s) {
            Ok(message) => {
                if let Err(e) = self.smtp.send(message).await {
                    tracing::warn!(error = %e, "could not send a refusal reply");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not compose a refusal reply"),
        }
    }
}

/// One fetch round trip.
#[derive(Debug, PartialEq, Eq)]
enum Fetch {
    /// Whole mails, together at most [`FETCH_BYTES`] (or one larger mail).
    Whole(Vec<u32>),
    /// A mail over the limit, of this size: only its start is fetched.
    Start([u32; 1], u64),
}

impl Fetch {
    fn uids(&self) -> &[u32] {
        match self {
            Fetch::Whole(uids) => uids,
            Fetch::Start(uid, _) => uid,
        }
    }
}

/// Group `uids` (ascending) into fetches, in order, by their `sizes`. UIDs without a size are
/// gone (deleted since the search) and left out.
fn plan(uids: &[u32], sizes: &HashMap<u32, u64>, max_mail: u64) -> Vec<Fetch> {
    let mut out = Vec::new();
    let mut group: Vec<u32> = Vec::new();
    let mut bytes = 0;
    for &uid in uids {
        let Some(&size) = sizes.get(&uid) else { continue };
        if size > max_mail {
            if !group.is_empty() {
                out.push(Fetch::Whole(std::mem::take(&mut group)));
                bytes = 0;
            }
            out.push(Fetch::Start([uid], size));
            continue;
        }
        if !group.is_empty() && bytes + size > FETCH_BYTES {
            out.push(Fetch::Whole(std::mem::take(&mut group)));
            bytes = 0;
        }
        group.push(uid);
        bytes += size;
    }
    if !group.is_empty() {
        out.push(Fetch::Whole(group));
    }
    out
}

fn uid_set(uids: &[u32]) -> String {
    uids.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

/// Refusals a known contact is told about. Strangers and machines get no reply (no
/// backscatter, no loops).
fn answers_refusal(reason: RefusalReason) -> bool {
    use RefusalReason::*;
    matches!(reason, WrongChannel | UnknownPartnership | NotAMember | UnknownConversation | EmptyText | TooLarge)
}

/// Connect, (STARTTLS,) and log in.
async fn connect(s: &Server) -> Result<Session, String> {
    let io = |what: &str, e: std::io::Error| format!("{what} {}:{}: {e}", s.host, s.port);
    let tcp = TcpStream::connect((s.host.as_str(), s.port)).await.map_err(|e| io("connecting to", e))?;
    let tls = || client_config(s.ca_pem.as_deref()).map_err(|e| format!("TLS setup: {e}"));
    let mut client = match s.security {
        Security::None => {
            let mut c = Client::new(MaybeTls::Plain(tcp));
            c.read_response().await.map_err(|e| io("greeting from", e))?;
            c
        }
        Security::Tls => {
            let stream = connect_tls(tcp, &s.host, tls()?).await.map_err(|e| io("TLS with", e))?;
            let mut c = Client::new(MaybeTls::Tls(Box::new(stream)));
            c.read_response().await.map_err(|e| io("greeting from", e))?;
            c
        }
        Security::StartTls => {
            let mut plain = Client::new(tcp);
            plain.read_response().await.map_err(|e| io("greeting from", e))?;
            plain.run_command_and_check_ok("STARTTLS", None).await.map_err(imap_err)?;
            let stream = connect_tls(plain.into_inner(), &s.host, tls()?).await.map_err(|e| io("STARTTLS with", e))?;
            Client::new(MaybeTls::Tls(Box::new(stream)))
        }
    };
    // Not every server sends its capabilities before login; nothing to read here.
    let _ = &mut client;
    client.login(&s.user, &s.password).await.map_err(|(e, _)| format!("IMAP login as {}: {e}", s.user))
}

fn imap_err(e: async_imap::error::Error) -> String {
    format!("IMAP: {e}")
}

/// Bound one exchange with the server; errors become sentences.
async fn timed<T, E: std::fmt::Display>(f: impl std::future::Future<Output = Result<T, E>>) -> Result<T, String> {
    match tokio::time::timeout(OP_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("IMAP: {e}")),
        Err(_) => Err(format!("IMAP: no answer within {OP_TIMEOUT:?}")),
    }
}

/// Whether the server announced new mail (an `EXISTS` or a `RECENT` above zero) in responses
/// nobody asked for since the last look; drains them (async-imap keeps up to 100 and drops the
/// rest).
fn new_mail_announced(session: &Session) -> bool {
    let mut announced = false;
    while let Ok(r) = session.unsolicited_responses.try_recv() {
        announced |= matches!(r, UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(1..));
    }
    announced
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn fetches_keep_uid_order_bound_their_bytes_and_read_only_the_start_of_oversized_mail() {
        let sizes: HashMap<u32, u64> =
            [(1, 1000), (2, 20 * MIB), (3, 20 * MIB), (4, 50 * MIB), (5, 10), (7, 40 * MIB)].into();
        let got = plan(&[1, 2, 3, 4, 5, 6, 7], &sizes, 45 * MIB);
        assert_eq!(
            got,
            vec![
                Fetch::Whole(vec![1, 2]),
                Fetch::Whole(vec![3]),
                Fetch::Start([4], 50 * MIB),
                // 6 is gone; 7 alone is over FETCH_BYTES but under the limit: fetched alone.
                Fetch::Whole(vec![5]),
                Fetch::Whole(vec![7]),
            ]
        );
        assert!(plan(&[1, 2], &HashMap::new(), MIB).is_empty());
    }
}
