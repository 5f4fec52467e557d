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
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use c2c_core::{Channel, Inbox, Origin, Refusal, RefusalReason, now_ms};
use c2c_webhook::error::refusal_response;
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
    let limit = state.max_body_bytes;
    let too_large = || refuse(RefusalReason::TooLarge, format!("the body is larger than {limit} bytes"));
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let body = axum::body::to_bytes(body, limit).await.map_err(|_| too_large())?;
    let header = |name: &'static str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| refuse(RefusalReason::BadSignature, format!("missing header `{name}`")))
    };
    let request = Signed {
        id: header("webhook-id")?,
        timestamp: header("webhook-timestamp")?,
        signature: header("webhook-signature")?,
        body: body.to_vec(),
    };
    let (envelope, key) = match check(&state.pinned, &state.instance, &request, now_ms() / 1000, state.tolerance) {
        Ok(checked) => checked,
        Err(refused) => return Err(refusal_of(refused, state)),
    };
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
