//! Portal rooms: one per (partnership, member city on Matrix), created by the bridge (or an
//! existing room named in the config), with the city's contacts invited; anyone who left is
//! invited again when the connector starts. Room ids are opaque: nothing is read from them.

use std::collections::HashMap;

use matrix_sdk::ruma::api::client::room::create_room::v3::{Request as CreateRoom, RoomPreset};
use matrix_sdk::ruma::events::room::encryption::RoomEncryptionEventContent;
use matrix_sdk::ruma::events::{EmptyStateKey, InitialStateEvent};
use matrix_sdk::ruma::serde::Raw;
use matrix_sdk::ruma::{OwnedRoomId, OwnedUserId, RoomId, UserId};
use matrix_sdk::{Client, RoomMemberships, RoomState};

use crate::config::{MatrixSettings, Portal};
use crate::state::State;

/// The portals' rooms, both ways.
#[derive(Debug, Default, Clone)]
pub struct Portals {
    pub by_key: HashMap<String, OwnedRoomId>,
    pub by_room: HashMap<OwnedRoomId, Portal>,
}

/// Make sure every portal has a room the bot is in, with its contacts invited.
pub async fn ensure(client: &Client, s: &MatrixSettings, state: &State) -> Result<Portals, String> {
    let mut out = Portals::default();
    for p in &s.portals {
        let key = format!("matrix:portal:{}", p.key);
        let known = match &p.room {
            Some(r) => Some(r.clone()),
            None => state.load(&key).await,
        };
        let room_id: OwnedRoomId = match known {
            Some(r) => {
                let id = RoomId::parse(&r).map_err(|e| format!("room id {r}: {e}"))?;
                join(client, &id).await?;
                id
            }
            None => {
                let id = create(client, s, p).await?;
                if !state.save(&key, id.as_str()).await {
                    return Err(format!("could not save the room of portal {}", p.key));
                }
                tracing::info!(portal = %p.key, room = %id, "portal room created");
                id
            }
        };
        invite_missing(client, &room_id, &p.invite).await;
        out.by_key.insert(p.key.clone(), room_id.clone());
        out.by_room.insert(room_id, p.clone());
    }
    Ok(out)
}

async fn join(client: &Client, room_id: &RoomId) -> Result<(), String> {
    match client.get_room(room_id) {
        Some(room) if room.state() == RoomState::Joined => Ok(()),
        _ => client.join_room_by_id(room_id).await.map(|_| ()).map_err(|e| format!("joining {room_id}: {e}")),
    }
}

async fn create(client: &Client, s: &MatrixSettings, p: &Portal) -> Result<OwnedRoomId, String> {
    let mut req = CreateRoom::new();
    req.name = Some(p.name.clone());
    req.topic = Some(p.topic.clone());
    req.preset = Some(RoomPreset::PrivateChat);
    req.invite = p.invite.iter().filter_map(|u| UserId::parse(u).ok()).collect::<Vec<OwnedUserId>>();
    if s.encrypt_new_rooms {
        let content = RoomEncryptionEventContent::with_recommended_defaults();
        let event = InitialStateEvent::<RoomEncryptionEventContent>::new(EmptyStateKey, content);
        req.initial_state = vec![Raw::new(&event).map_err(|e| e.to_string())?.cast()];
    }
    let room = client.create_room(req).await.map_err(|e| format!("creating the room of {}: {e}", p.key))?;
    Ok(room.room_id().to_owned())
}

/// Invite every contact who is neither in the room nor invited (e.g. who left).
async fn invite_missing(client: &Client, room_id: &RoomId, users: &[String]) {
    let Some(room) = client.get_room(room_id) else { return };
    let present: Vec<OwnedUserId> = match room.members(RoomMemberships::JOIN | RoomMemberships::INVITE).await {
        Ok(m) => m.into_iter().map(|m| m.user_id().to_owned()).collect(),
        Err(e) => {
            tracing::warn!(room = %room_id, error = %e, "could not list room members");
            return;
        }
    };
    for u in users {
        let Ok(user) = UserId::parse(u) else { continue };
        if !present.contains(&user)
            && let Err(e) = room.invite_user_by_id(&user).await
        {
            tracing::warn!(room = %room_id, user = %user, error = %e, "could not invite a contact");
        }
    }
}
