//! [`MatrixConnector`]: the Matrix channel, both directions, through one bot account.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use c2c_core::{
    Channel, Connector, ConnectorError, Delivery, DeliveryError, Envelope, Health, Inbox, Receipt, RefusalReason,
    Shutdown,
};
use matrix_sdk::config::SyncSettings;
use matrix_sdk::deserialized_responses::{TimelineEvent, TimelineEventKind};
use matrix_sdk::ruma::serde::Raw;
use matrix_sdk::ruma::{OwnedRoomId, OwnedTransactionId, RoomId};
use matrix_sdk::sync::SyncResponse;
use matrix_sdk::{Client, Room};
use rand::Rng;
use serde_json::Value;

use crate::attachment;
use crate::config::MatrixSettings;
use crate::convert::{Inbound, content, event_key, inbound};
use crate::gap;
use crate::held::{Held, Item};
use crate::media::{self, FetchError};
use crate::pending::{KEY_WAIT, PendingKeys};
use crate::portal::{self, Portals};
use crate::session;
use crate::state::{State, root_key};
use crate::store::{self, StoreError};
use crate::unfetched;

const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// While events are held back or wait for their keys, the longest a sync waits for something
/// new before they are taken up again.
const RETRY_PAUSE: Duration = Duration::from_secs(2);

struct Shared {
    settings: MatrixSettings,
    /// The portals the config asks for now (replaced on reload). Held while rooms are being set
    /// up, so a reload and the start-up never set up portals at the same time.
    wanted: tokio::sync::Mutex<Vec<crate::config::Portal>>,
    state: State,
    client: tokio::sync::OnceCell<Client>,
    portals: RwLock<Portals>,
    health: Mutex<Health>,
}

/// Officers on Matrix: a bot in one portal room per (partnership, city).
#[derive(Clone)]
pub struct MatrixConnector {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for MatrixConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatrixConnector").field("settings", &self.shared.settings).finish_non_exhaustive()
    }
}

impl MatrixConnector {
    /// `state` keeps the connector's sync token and portal rooms in the store.
    /// Opens the bot's store first ([`store::prepare`]: private, passphrase checked): an error
    /// here is the admin's to fix, not a reason to retry.
    pub async fn open(settings: MatrixSettings, state: Arc<dyn Inbox>) -> Result<Self, StoreError> {
        store::prepare(&settings).await?;
        Ok(Self {
            shared: Arc::new(Shared {
                wanted: tokio::sync::Mutex::new(settings.portals.clone()),
                settings,
                state: State(state),
                client: tokio::sync::OnceCell::new(),
                portals: RwLock::new(Portals::default()),
                health: Mutex::new(Health::starting("Matrix not connected yet")),
            }),
        })
    }

    fn set_health(&self, ok: bool, detail: impl Into<String>) {
        self.shared.health.lock().unwrap_or_else(|p| p.into_inner()).update(ok, detail);
    }

    /// Log in, sync once and set up the portal rooms, retrying with backoff until it works or
    /// `shutdown`. Returns the client and that first batch, which the sync loop handles first:
    /// it was fetched from the bridge's saved token (on the very first start, the batch is the
    /// history before the bridge and is not relayed).
    async fn start(&self, shutdown: &Shutdown) -> Option<(Client, Option<SyncResponse>)> {
        let s = &self.shared.settings;
        let mut backoff = Duration::from_secs(1);
        // Kept across attempts: matrix-sdk would answer the same batch again with nothing.
        let mut first: Option<Option<SyncResponse>> = None;
        loop {
            let attempt = async {
                let client = match self.shared.client.get() {
                    Some(c) => c.clone(),
                    None => {
                        let c = session::connect(s).await?;
                        let _ = self.shared.client.set(c.clone());
                        c
                    }
                };
                if first.is_none() {
                    // One sync so the client knows its rooms before they are checked.
                    let key = sync_token_key(&client);
                    let saved = self.shared.state.load(&key).await;
                    let mut settings = SyncSettings::default().timeout(Duration::ZERO);
                    if let Some(token) = &saved {
                        settings = settings.token(token.clone());
                    }
                    let response = client.sync_once(settings).await.map_err(|e| e.to_string())?;
                    if saved.is_some() {
                        first = Some(Some(response));
                    } else {
                        // First start: relaying begins here, before the portal rooms are created
                        // and their contacts invited, so nothing posted in them is taken for history.
                        if !self.shared.state.save(&key, &response.next_batch).await {
                            return Err("could not store the first sync token".to_string());
                        }
                        first = Some(None);
                    }
                }
                self.set_up_portals(&client).await?;
                Ok::<_, String>(client)
            };
            match attempt.await {
                Ok(c) => return Some((c, first.take().flatten())),
                Err(e) => {
                    self.set_health(false, e.clone());
                    tracing::warn!(homeserver = %s.homeserver, error = %e, "Matrix start failed; retrying");
                }
            }
            if !pause(&mut backoff, shutdown).await {
                return None;
            }
        }
    }

    /// Create or join the wanted portals' rooms and invite whoever is missing.
    async fn set_up_portals(&self, client: &Client) -> Result<(), String> {
        let wanted = self.shared.wanted.lock().await;
        let settings = MatrixSettings { portals: wanted.clone(), ..self.shared.settings.clone() };
        let portals = portal::ensure(client, &settings, &self.shared.state).await?;
        *self.shared.portals.write().unwrap_or_else(|p| p.into_inner()) = portals;
        Ok(())
    }

    /// A reloaded config's portals: rooms for new ones, and contacts who left (or were added)
    /// invited. Before the connector has connected this only records them for the start-up.
    pub async fn reload_portals(&self, portals: Vec<crate::config::Portal>) {
        *self.shared.wanted.lock().await = portals;
        let Some(client) = self.shared.client.get() else { return };
        // While the start-up is still retrying this may fail; the start-up then uses them.
        match self.set_up_portals(client).await {
            Ok(()) => tracing::info!("Matrix portal rooms checked after the config reload"),
            Err(e) => tracing::warn!(error = %e, "Matrix portal rooms could not be set up after the reload"),
        }
    }

    fn portal_of(&self, room: &RoomId) -> Option<crate::config::Portal> {
        self.shared.portals.read().unwrap_or_else(|p| p.into_inner()).by_room.get(room).cloned()
    }
}

/// The state key of the bot's sync token.
fn sync_token_key(client: &Client) -> String {
    format!("matrix:sync:{}", client.user_id().map(|u| u.to_string()).unwrap_or_default())
}

/// Wait out a backoff step (false when shutting down).
async fn pause(backoff: &mut Duration, shutdown: &Shutdown) -> bool {
    let wait = backoff.mul_f64(rand::rng().random_range(0.8..1.2));
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
    tokio::select! {
        _ = tokio::time::sleep(wait) => true,
        _ = shutdown.cancelled() => false,
    }
}

#[async_trait]
impl Connector for MatrixConnector {
    fn channel(&self) -> Channel {
        Channel::Matrix
    }

    async fn health(&self) -> Health {
        self.shared.health.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The sync loop. The bridge's sync token is saved only once every event up to it has been
    /// committed (none is held back, none waits for its keys): after a crash, what follows the
    /// saved token is fetched again and replays are recognised by event id.
    async fn run_inbound(&self, inbox: Arc<dyn Inbox>, shutdown: Shutdown) -> Result<(), ConnectorError> {
        // A client from an earlier run of this task (restarted by the daemon's supervisor) has
        // read batches the bridge may not have committed, and matrix-sdk answers such a batch
        // with nothing: the first batch's events are then fetched with `/messages` instead.
        let resumed = self.shared.client.get().is_some();
        let Some((client, mut first)) = self.start(&shutdown).await else { return Ok(()) };
        let me = client.user_id().map(|u| u.to_string()).unwrap_or_default();
        let token_key = sync_token_key(&client);
        let state = &self.shared.state;
        // Saved by the start-up at the latest (history before the bridge existed is not relayed).
        let Some(mut since) = state.load(&token_key).await else {
            return Err(ConnectorError {
                channel: Channel::Matrix,
                detail: "the sync token could not be read back".into(),
            });
        };
        let mut pending = PendingKeys::default();
        let mut held = Held::default();
        let mut backoff = Duration::from_secs(1);
        let mut from_gaps = false;
        if resumed && let Some(r) = &first {
            from_gaps = true;
            for room in client.joined_rooms() {
                if self.portal_of(room.room_id()).is_some() && r.next_batch != since {
                    let gap = Item::Gap { prev_batch: r.next_batch.clone(), since: since.clone() };
                    held.append(&room.room_id().to_owned(), VecDeque::from([gap]));
                }
            }
        }
        self.set_health(true, "Matrix connected");
        tracing::info!(user = %me, "Matrix connected");
        loop {
            let response = match first.take() {
                Some(r) => r,
                None => {
                    // While something waits, come back soon even when nothing new arrives.
                    let waiting = !held.is_empty() || !pending.is_empty();
                    let timeout = if waiting { RETRY_PAUSE } else { Duration::from_secs(30) };
                    let settings = SyncSettings::default().timeout(timeout).token(since.clone());
                    let response = tokio::select! {
                        r = client.sync_once(settings) => r,
                        _ = shutdown.cancelled() => return Ok(()),
                    };
                    match response {
                        Ok(r) => {
                            backoff = Duration::from_secs(1);
                            self.set_health(true, "Matrix connected");
                            r
                        }
                        Err(e) => {
                            self.set_health(false, format!("Matrix sync: {e}"));
                            tracing::warn!(error = %e, "Matrix sync failed; retrying");
                            if !pause(&mut backoff, &shutdown).await {
                                return Ok(());
                            }
                            continue;
                        }
                    }
                }
            };
            for room_id in response.rooms.invited.keys() {
                if self.portal_of(room_id).is_some()
                    && let Err(e) = client.join_room_by_id(room_id).await
                {
                    tracing::warn!(room = %room_id, error = %e, "could not join a portal room");
                }
            }
            // What waited first, then what is new; a room with something waiting holds its new
            // events behind it.
            for (room_id, items) in held.take() {
                self.take_up(&client, &room_id, items, &mut held, &mut pending, &me, inbox.as_ref()).await;
            }
            // After a resume, the first batch's events are in the gaps held above.
            let joined = if std::mem::take(&mut from_gaps) { None } else { Some(&response.rooms.joined) };
            for (room_id, update) in joined.into_iter().flatten() {
                let mut items = VecDeque::new();
                if update.timeline.limited {
                    match &update.timeline.prev_batch {
                        Some(prev) => items.push_back(Item::Gap { prev_batch: prev.clone(), since: since.clone() }),
                        None => {
                            tracing::error!(room = %room_id, "a limited sync without prev_batch: earlier events cannot be fetched")
                        }
                    }
                }
                items.extend(update.timeline.events.iter().map(|ev| Item::Event(Box::new(ev.clone()))));
                if held.holds(room_id) {
                    held.append(room_id, items);
                } else {
                    self.take_up(&client, room_id, items, &mut held, &mut pending, &me, inbox.as_ref()).await;
                }
            }
            self.retry_pending(&client, &mut pending, &me, inbox.as_ref()).await;
            since = response.next_batch;
            if held.is_empty() && pending.is_empty() {
                state.save(&token_key, &since).await;
                pending.token_saved();
            }
        }
    }

    async fn deliver(&self, d: &Delivery) -> Result<Receipt, DeliveryError> {
        let Some(client) = self.shared.client.get() else {
            return Err(DeliveryError::temporary("Matrix is not connected yet"));
        };
        let address = &d.entry.recipient.address;
        let room_id: OwnedRoomId = if address.starts_with('!') {
            RoomId::parse(address).map_err(|e| DeliveryError::permanent(format!("room id {address}: {e}")))?
        } else {
            let known = self.shared.portals.read().unwrap_or_else(|p| p.into_inner()).by_key.get(address).cloned();
            known.ok_or_else(|| DeliveryError::temporary(format!("the portal room for {address} is not ready")))?
        };
        let room =
            client.get_room(&room_id).ok_or_else(|| DeliveryError::temporary(format!("not in room {room_id}")))?;
        // The room's thread of the conversation, kept by the router; a root this connector kept
        // itself before threads were the router's is adopted once (reported below).
        let root = match d.thread.first() {
            Some(root) => Some(root.clone()),
            None => self.shared.state.load(&root_key(room_id.as_str(), &d.entry.conversation.to_string())).await,
        };
        let body: Value = content(d, root.as_deref());
        // The transaction id is the outbox entry: a retry after a crash cannot post twice.
        let txn: OwnedTransactionId = d.entry.id.0.clone().into();
        let response = room.send_raw("m.room.message", body).with_transaction_id(&txn).await.map_err(classify)?;
        let event_id = response.response.event_id.to_string();
        // Each attachment is its own event in the thread, with a transaction id of its own: a
        // retry re-sends the message under the same id (the homeserver answers with the event
        // it already has) and posts only the attachments not yet posted.
        let thread = root.clone().unwrap_or_else(|| event_id.clone());
        for (i, a) in d.message.attachments.iter().enumerate() {
            let Some(data) = &a.content else { continue };
            let source = attachment::upload(client, &room, a, data).await.map_err(classify)?;
            let txn: OwnedTransactionId = format!("{}.a{i}", d.entry.id.0).into();
            room.send_raw("m.room.message", attachment::content(a, source, &thread))
                .with_transaction_id(&txn)
                .await
                .map_err(classify)?;
        }
        // A delivery that started the room's thread (or found a root kept the old way) says so:
        // the router keeps it for the next one.
        let started = if d.thread.is_empty() { vec![thread] } else { Vec::new() };
        Ok(Receipt { native_ids: vec![event_key(&event_id)], thread: started })
    }
}

/// What became of one timeline event.
enum Handled {
    Done,
    /// The bridge could not take it now; fetch the batch again.
    Later,
    Undecrypted(Raw<matrix_sdk::ruma::events::AnySyncTimelineEvent>),
}

impl MatrixConnector {
    async fn handle(&self, room: &Room, ev: &TimelineEvent, me: &str, inbox: &dyn Inbox) -> Handled {
        if let TimelineEventKind::UnableToDecrypt { event, .. } = &ev.kind {
            return Handled::Undecrypted(event.clone());
        }
        let Ok(value) = serde_json::from_str::<Value>(ev.raw().json().get()) else { return Handled::Done };
        self.handle_value(room, &value, me, inbox).await
    }

    async fn handle_value(&self, room: &Room, value: &Value, me: &str, inbox: &dyn Inbox) -> Handled {
        if value["sender"].as_str() == Some(me) {
            return Handled::Done; // our own relays: no echo
        }
        let Some(portal) = self.portal_of(room.room_id()) else { return Handled::Done };
        let Inbound::Post { mut envelope, media, .. } = inbound(value, &portal) else {
            return Handled::Done;
        };
        let event_id = value["event_id"].as_str().unwrap_or_default().to_string();
        // A file's bytes are fetched only for the city's own contacts (the router refuses anyone
        // else, and a stranger's upload should cost nothing).
        if let Some(media) = media
            && portal.invite.iter().any(|c| Some(c.as_str()) == value["sender"].as_str())
            && let Later::Yes = self.fetch_file(room, &event_id, &media, &mut envelope, inbox).await
        {
            return Handled::Later;
        }
        match inbox.submit(*envelope).await {
            // A top-level post roots its room's thread: the router keeps it with the post.
            Ok(_) => Handled::Done,
            Err(r) if r.reason == RefusalReason::Unavailable => Handled::Later,
            Err(r) => {
                tracing::info!(room = %room.room_id(), sender = ?value["sender"], reason = %r.reason, "Matrix message not relayed");
                if r.reason == RefusalReason::WrongChannel {
                    // In the message's thread (a thread cannot start from an event in a thread).
                    let relates = &value["content"]["m.relates_to"];
                    let root = match relates["event_id"].as_str() {
                        Some(root) if relates["rel_type"] == "m.thread" => root.to_string(),
                        _ => event_id.clone(),
                    };
                    self.notice(room, &event_id, &root, &r.detail).await;
                }
                Handled::Done
            }
        }
    }

    /// Put the bytes of the file `media` names into `envelope`'s attachment, or a note where
    /// they cannot be had. [`Later::Yes`] while the homeserver fails to hand them over, until
    /// [`unfetched`] says to give up.
    async fn fetch_file(
        &self,
        room: &Room,
        event_id: &str,
        media: &Value,
        envelope: &mut Envelope,
        inbox: &dyn Inbox,
    ) -> Later {
        let settings = &self.shared.settings;
        let state = &self.shared.state;
        let give_up_after = settings.file_fetch_give_up_after;
        let before = unfetched::load(state, event_id).await;
        // Given up on before a restart: its post went on with the note (this is a replay).
        let given_up_before = before.is_some_and(|f| f.given_up(c2c_core::now_ms(), give_up_after));
        let result = if given_up_before {
            Err(FetchError::Temporary("given up on earlier".into()))
        } else {
            let fetched = media::fetch(&room.client(), media, settings.max_attachment_bytes).await;
            inbox.count_attachment_bytes(Channel::Matrix, fetched.bytes_read);
            fetched.result
        };
        let error = match result {
            Ok(data) => {
                if let Some(a) = envelope.attachments.first_mut() {
                    a.size = data.len() as u64;
                    a.content = Some(data);
                }
                return Later::No;
            }
            Err(e) => e,
        };
        let (room_id, drop) = (room.room_id(), error.drop_reason());
        match &error {
            FetchError::Temporary(_) if given_up_before => {}
            FetchError::Temporary(why) => {
                let f = unfetched::record(state, event_id, c2c_core::now_ms()).await;
                if !f.given_up(c2c_core::now_ms(), give_up_after) {
                    tracing::warn!(room = %room_id, event = %event_id, attempts = f.attempts, error = %why,
                        "could not fetch a file posted in Matrix; will try again");
                    return Later::Yes;
                }
                tracing::error!(room = %room_id, event = %event_id, attempts = f.attempts, error = %why,
                    "gave up fetching a file posted in Matrix; its post is relayed with a note");
                inbox.count_attachment_dropped(Channel::Matrix, drop);
            }
            _ => {
                tracing::warn!(room = %room_id, event = %event_id, error = %error,
                    "a file posted in Matrix is not relayed; its post is, with a note");
                inbox.count_attachment_dropped(Channel::Matrix, drop);
            }
        }
        without_file(envelope, &error);
        Later::No
    }

    /// Tell the room why the message `about` was not relayed, in the thread of `event_id`.
    async fn notice(&self, room: &Room, about: &str, event_id: &str, text: &str) {
        let body = serde_json::json!({
            "msgtype": "m.notice",
            "body": text,
            "m.relates_to": {"rel_type": "m.thread", "event_id": event_id, "is_falling_back": true,
                             "m.in_reply_to": {"event_id": event_id}},
        });
        // The refused event may be handled again (its batch fetched again after a crash or while
        // other events wait for keys): the transaction id makes the homeserver post it once.
        let txn: OwnedTransactionId = format!("c2c-notice-{}", about.trim_start_matches('$')).into();
        if let Err(e) = room.send_raw("m.room.message", body).with_transaction_id(&txn).await {
            tracing::warn!(error = %e, "could not send a notice");
        }
    }

    /// Handle `room_id`'s `items` in order until one must wait; it and the rest go to `held`.
    #[allow(clippy::too_many_arguments)]
    async fn take_up(
        &self,
        client: &Client,
        room_id: &OwnedRoomId,
        mut items: VecDeque<Item>,
        held: &mut Held,
        pending: &mut PendingKeys,
        me: &str,
        inbox: &dyn Inbox,
    ) {
        let Some(room) = client.get_room(room_id) else { return };
        while let Some(item) = items.pop_front() {
            match item {
                Item::Gap { prev_batch, since } => match gap::missed_events(&room, &prev_batch, &since).await {
                    Ok(events) => {
                        tracing::info!(room = %room_id, events = events.len(), "fetched the events a limited sync left out");
                        for ev in events.into_iter().rev() {
                            items.push_front(Item::Event(Box::new(ev)));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(room = %room_id, error = %e, "could not fetch the events a limited sync left out; trying again");
                        items.push_front(Item::Gap { prev_batch, since });
                        break;
                    }
                },
                Item::Event(ev) => match self.handle(&room, &ev, me, inbox).await {
                    Handled::Done => {}
                    // The room's later events wait with it, so its posts are committed in the
                    // order they were written.
                    Handled::Later => {
                        items.push_front(Item::Event(ev));
                        break;
                    }
                    Handled::Undecrypted(event) => pending.add(room_id, event),
                },
            }
        }
        held.append(room_id, items);
    }

    /// Try again to decrypt events whose keys were missing; give up after [`KEY_WAIT`].
    async fn retry_pending(&self, client: &Client, pending: &mut PendingKeys, me: &str, inbox: &dyn Inbox) {
        for p in pending.take() {
            let Some(room) = client.get_room(&p.room) else { continue };
            match room.decrypt_event(p.event.cast_ref_unchecked(), None).await {
                Ok(ev) if !matches!(ev.kind, TimelineEventKind::UnableToDecrypt { .. }) => {
                    if let Handled::Later = self.handle(&room, &ev, me, inbox).await {
                        pending.keep(p);
                    }
                }
                _ if p.since.elapsed() > KEY_WAIT => {
                    tracing::error!(room = %p.room, "gave up on an encrypted message: its keys never arrived");
                    inbox.count_refusal(Channel::Matrix, RefusalReason::Undecryptable);
                    pending.give_up(&p);
                }
                _ => pending.keep(p),
            }
        }
    }
}

/// Whether the sync loop must take an event's batch again.
enum Later {
    Yes,
    No,
}

/// `envelope` without the bytes of its file, for `error`: one over the size limit stays listed
/// (recipients are told it was too large, with its size); any other is taken off and the text
/// says it could not be fetched. The note names no server and quotes no error: it goes to the
/// partner city.
fn without_file(envelope: &mut Envelope, error: &FetchError) {
    if let FetchError::TooLarge { seen, .. } = error {
        if let Some(a) = envelope.attachments.first_mut() {
            a.size = a.size.max(*seen);
            a.content = None;
        }
        return;
    }
    let Some(a) = envelope.attachments.pop() else { return };
    let why = match error {
        FetchError::Refused(_) => "the homeserver no longer has it or refused it",
        FetchError::Unreadable(_) => "it could not be read or decrypted",
        _ => "the homeserver did not hand it over",
    };
    envelope.text.push_str(&format!("\n[The file \"{}\" could not be fetched from Matrix: {why}.]", a.filename));
}

/// Client errors (4xx other than 429) will not get better; the rest may.
fn classify(e: matrix_sdk::Error) -> DeliveryError {
    let text = e.to_string();
    if let Some(status) = e.as_client_api_error().map(|c| c.status_code)
        && status.is_client_error()
        && status.as_u16() != 429
    {
        return DeliveryError::permanent(format!("Matrix: {text}"));
    }
    DeliveryError::temporary(format!("Matrix: {text}"))
}
