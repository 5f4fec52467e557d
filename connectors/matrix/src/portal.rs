//! Portal rooms: one per (partnership, member city on Matrix), created by the bridge (or an
//! existing room named in the config), with the city's contacts invited; anyone who left is
//! invited again whenever the config is loaded (start-up and SIGHUP). Room ids are opaque: nothing is read from them.

use std::collections::HashMap;

use matrix_sdk::ruma::api::client::membership::get_member_events::v3::Request as MemberEvents;
use matrix_sdk::ruma::api::client::room::create_room::v3::{Request as CreateRoom, RoomPreset};
use matrix_sdk::ruma::events::room::encryption::RoomEncryptionEventContent;
use matrix_sdk::ruma::events::{EmptyStateKey, InitialStateEvent};
use matrix_sdk::ruma::serde::Raw;
use matrix_sdk::ruma::{OwnedRoomId, OwnedUserId, RoomId, UserId};
use matrix_sdk::{Client, RoomState};

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

/// Invite every contact who is neither in the room nor invited (e.g. who left). The room's
/// members are asked of the homeserver, not read from the local sync state, so a contact who
/// left a moment ago is seen as gone even before the bot's next sync.
async fn invite_missing(client: &Client, room_id: &RoomId, users: &[String]) {
    let Some(room) = client.get_room(room_id) else { return };
    let present = match client.send(MemberEvents::new(room_id.to_owned())).await {
        Ok(r) => present_members(r.chunk.iter().filter_map(|e| e.deserialize_as::<serde_json::Value>().ok())),
        Err(e) => {
            tracing::warn!(room = %room_id, error = %e, "could not list room members");
            return;
        }
    };
    for u in users {
        let Ok(user) = UserId::parse(u) else { continue };
        if present.iter().any(|p| p == user.as_str()) {
            continue;
        }
        match room.invite_user_by_id(&user).await {
            Ok(()) => tracing::info!(room = %room_id, user = %user, "contact invited to the portal room"),
            Err(e) => tracing::warn!(room = %room_id, user = %user, error = %e, "could not invite a contact"),
        }
    }
}

/// The users whose current membership is `join` or `invite`, from `m.room.member` state events.
fn present_members(events: impl Iterator<Item = serde_json::Value>) -> Vec<String> {
    events
        .filter(|e| matches!(e["content"]["membership"].as_str(), Some("join" | "invite")))
        .filter_map(|e| e["state_key"].as_str().map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn only_joined_and_invited_members_count_as_present() {
        let member =
            |who: &str, m: &str| json!({"type": "m.room.member", "state_key": who, "content": {"membership": m}});
        let got = super::present_members(
            [member("@a:x", "join"), member("@b:x", "leave"), member("@c:x", "invite"), member("@d:x", "ban")]
                .into_iter(),
        );
        assert_eq!(got, vec!["@a:x".to_string(), "@c:x".to_string()]);
    }
}
