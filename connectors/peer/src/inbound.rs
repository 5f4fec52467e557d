//! `POST /peer/v1/inbox`: a peer's signed envelope, checked ([`crate::inbox::check`]), handed to
//! the router as a [`c2c_core::Replica`], and answered 202 only once it is committed.
//!
//! Order of checks: the body fits (413), the signature headers are there (401), a key pinned for
//! the origin the envelope names verifies it within the tolerance (401; an origin nobody pinned
//! gets the same answer), the envelope is a v1 one made by that origin (400) and meant for this
//! instance (400); then the router decides (the author's city hosted by that origin, the
//! partnership declared here with it, the conversation) and counts what it refuses. A replay
//! (the same origin and message) gets the original answer and creates nothing.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use c2c_core::{Channel, Inbox, Origin, Refusal, RefusalReason, now_ms};
use c2c_webhook::error::refusal_response;
use c2c_webhook::inbound::read_signed;
use serde_json::json;

use crate::inbox::{Pinned, Refused, Signed, check};

/// What the inbox route needs.
#[derive(Clone)]
pub struct InboxState {
    /// This instance's id: envelopes for another are refused.
    pub instance: String,
    pub pinned: Pinned,
    pub inbox: Arc<dyn Inbox>,
    /// How far a request's timestamp may be from this instance's clock.
    pub tolerance: Duration,
    pub max_body_bytes: usize,
}

impl std::fmt::Debug for InboxState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboxState").field("instance", &self.instance).finish_non_exhaustive()
    }
}

/// `POST /peer/v1/inbox`.
pub fn routes(state: InboxState) -> axum::Router {
    axum::Router::new().route("/peer/v1/inbox", post(handle)).with_state(state)
}

async fn handle(State(state): State<InboxState>, headers: HeaderMap, body: Body) -> Response {
    match accept(&state, &headers, body).await {
        Ok(answer) => answer,
        Err((refusal, counted)) => {
            if !counted {
                state.inbox.count_refusal(Channel::Peer, refusal.reason);
            }
            tracing::info!(reason = %refusal.reason, detail = %refusal.detail, "peer envelope refused");
            refusal_response(&refusal)
        }
    }
}

/// The refusal and whether the inbox already counted it.
type Refusing = (Refusal, bool);

fn refuse(reason: RefusalReason, detail: impl Into<String>) -> Refusing {
    (Refusal::new(reason, detail), false)
}

async fn accept(state: &InboxState, headers: &HeaderMap, body: Body) -> Result<Response, Refusing> {
    let signed = read_signed(headers, body, state.max_body_bytes).await.map_err(|r| (r, false))?;
    let request = Signed {
        id: signed.id.to_string(),
        timestamp: signed.timestamp.to_string(),
        signature: signed.signature.to_string(),
        body: signed.body.to_vec(),
    };
    let now = now_ms() / 1000;
    let (envelope, key) = match check(&state.pinned, &state.instance, &request, now, state.tolerance) {
        Ok(checked) => checked,
        Err(refused) => return Err(refusal_of(refused, state)),
    };
    // Whatever it sent, a peer that gets through is up: what waits for it goes now.
    let skew = request.timestamp.trim().parse::<i64>().map_or(0, |t| t - now);
    state.inbox.heard_from(Channel::Peer, &envelope.origin, skew);
    if key > 0 {
        // For the admin: the peer signs with a key pinned after its first; once it no longer
        // signs with the first, that one can go.
        tracing::info!(peer = %envelope.origin, key, "peer envelope verified by a later pinned key");
    }
    let origin = Origin { channel: Channel::Peer, city: None, address: envelope.origin.clone() };
    let (message_id, conversation) = (envelope.message.to_string(), envelope.conversation.to_string());
    let replica = envelope.into_replica(origin).map_err(|e| refuse(RefusalReason::Malformed, e.to_string()))?;
    // The router counts its own refusals.
    let accepted = state.inbox.submit_replica(replica).await.map_err(|r| (r, true))?;
    if accepted.replay {
        tracing::debug!(message = %message_id, "peer envelope replayed; answered as the first time");
    }
    let body = json!({"message": message_id, "conversation": conversation});
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// A failed check as the answer and the counter say it. A wrong destination is a refusal of
/// its own kind in the log, counted as malformed (the request is well signed but not for us).
fn refusal_of(refused: Refused, state: &InboxState) -> Refusing {
    let reason = match &refused {
        Refused::BadSignature { unknown_origin } => {
            if *unknown_origin {
                tracing::info!("peer envelope from an origin no [[peers]] entry names; answered as a bad signature");
            }
            RefusalReason::BadSignature
        }
        Refused::Stale { .. } => RefusalReason::StaleTimestamp,
        Refused::Malformed(_) => RefusalReason::Malformed,
        Refused::WrongDestination { .. } => {
            tracing::warn!(ours = %state.instance, "a signed peer envelope for another instance");
            RefusalReason::Malformed
        }
    };
    refuse(reason, refused.to_string())
}
