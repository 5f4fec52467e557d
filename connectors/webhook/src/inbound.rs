//! `POST /hooks/{city_id}`: verify, parse, submit, answer.
//!
//! Order of checks: the body fits (413), the signature headers are present, fresh and valid for
//! one of the city's keys (401; a city the bridge does not know gets the same answer), the JSON
//! parses (400); then the router decides (sender, partnership, conversation, agreed channel)
//! and the answer is 202 only once the message is committed to disk. A replayed `webhook-id`
//! gets the original 202 and creates nothing.

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use c2c_core::{Channel, Inbox, Refusal, RefusalReason, now_ms};

use crate::config::{SharedCities, WebhookSettings};
use crate::error::refusal_response;
use crate::intake::{self, refusal_for};
use crate::signature::{KeyUsed, SigningKeys, VerifyError};
use crate::wire::AcceptedBody;

/// What the inbound routes need.
#[derive(Clone)]
pub struct InboundState {
    pub cities: SharedCities,
    pub inbox: Arc<dyn Inbox>,
    pub settings: WebhookSettings,
}

impl std::fmt::Debug for InboundState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundState").field("settings", &self.settings).finish_non_exhaustive()
    }
}

/// The routes to merge into the daemon's HTTP router.
pub fn routes(state: InboundState) -> axum::Router {
    axum::Router::new().route("/hooks/{city_id}", post(handle)).with_state(state)
}

async fn handle(
    State(state): State<InboundState>,
    Path(city_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match accept(&state, &city_id, &headers, body).await {
        Ok(accepted) => (StatusCode::ACCEPTED, Json(accepted)).into_response(),
        Err((refusal, counted)) => {
            if !counted {
                state.inbox.count_refusal(Channel::Webhook, refusal.reason);
            }
            // `?`: the city id comes from the URL and may hold newlines.
            tracing::info!(city = ?city_id, reason = %refusal.reason, detail = %refusal.detail, "webhook refused");
            refusal_response(&refusal)
        }
    }
}

/// A Standard Webhooks request as it arrived: its three headers and its body.
#[derive(Debug)]
pub struct SignedRequest<'h> {
    pub id: &'h str,
    pub timestamp: &'h str,
    pub signature: &'h str,
    pub body: Bytes,
}

/// Read a signed request: the body within `limit` bytes (`too_large` otherwise, before reading
/// when Content-Length says so) and the `webhook-id`, `webhook-timestamp` and
/// `webhook-signature` headers (`bad_signature` when one is missing). Shared by every route
/// that takes signed posts (cities' webhooks, peers' envelopes).
pub async fn read_signed(headers: &HeaderMap, body: Body, limit: usize) -> Result<SignedRequest<'_>, Refusal> {
    let too_large = || Refusal::new(RefusalReason::TooLarge, format!("the body is larger than {limit} bytes"));
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let body = axum::body::to_bytes(body, limit).await.map_err(|_| too_large())?;
    let header = |name: &'static str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Refusal::new(RefusalReason::BadSignature, VerifyError::MissingHeader(name).to_string()))
    };
    Ok(SignedRequest {
        id: header("webhook-id")?,
        timestamp: header("webhook-timestamp")?,
        signature: header("webhook-signature")?,
        body,
    })
}

/// The refusal and whether the inbox already counted it.
type Refused = (Refusal, bool);

async fn accept(state: &InboundState, city_id: &str, headers: &HeaderMap, body: Body) -> Result<AcceptedBody, Refused> {
    let received_at = now_ms();
    let cities = state.cities.get();
    // A city the bridge does not know is answered exactly as a known city with a wrong
    // signature, after the same work (its signature is checked against a secret nobody has), so
    // neither the answer nor its timing tells a stranger which cities exist.
    let city = cities.get(city_id);

    let SignedRequest { id, timestamp, signature, body } =
        read_signed(headers, body, state.settings.max_body_bytes).await.map_err(|r| (r, false))?;
    // A city the bridge does not know is checked against keys nobody has.
    let keys: &SigningKeys = match city {
        Some(c) => &c.keys,
        None => SigningKeys::decoy(),
    };
    let verified = keys.verify(id, timestamp, signature, &body, received_at / 1000, state.settings.tolerance);
    if city.is_none() {
        state.inbox.count_refusal(Channel::Webhook, RefusalReason::UnknownCity);
        tracing::info!(city = ?city_id, "webhook for a city that takes no webhooks here; answered as a bad signature");
        return Err((refusal_for(&verified.err().unwrap_or(VerifyError::Mismatch)), true));
    }
    if verified.map_err(|e| (refusal_for(&e), false))? == KeyUsed::Previous {
        // For the admin only (the answer is the same): the city still signs with the secret
        // being rotated out, so it cannot be dropped yet.
        tracing::info!(city = ?city_id, "webhook signed with the city's previous secret only: its rotation is not over");
    }

    let envelope = intake::read(city_id, id, &body, received_at).map_err(|r| (r, false))?;
    // The inbox counts its own refusals.
    let accepted = state.inbox.submit(envelope).await.map_err(|r| (r, true))?;
    Ok(AcceptedBody { message: accepted.message.to_string(), conversation: accepted.conversation.to_string() })
}
