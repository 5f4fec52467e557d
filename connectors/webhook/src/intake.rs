//! What `POST /hooks/{city_id}` does with a request's untrusted bytes, apart from HTTP: the
//! answer a signature failure gets, and reading a verified body into an [`Envelope`].
//!
//! No I/O, no clock and no axum here (the caller passes the time), so the route in
//! [`crate::inbound`] and the fuzz target in `connectors/webhook/fuzz` run the very same code.

use c2c_core::{Envelope, Millis, Refusal, RefusalReason};

use crate::convert::envelope_from;
use crate::signature::VerifyError;
use crate::wire::InboundPost;

/// The refusal a signature failure is answered with: a stale or unreadable timestamp is
/// `stale_timestamp`, anything else `bad_signature` (both 401). The same for a city the bridge
/// does not know, so the answer does not tell which cities exist.
pub fn refusal_for(e: &VerifyError) -> Refusal {
    let reason = match e {
        VerifyError::Stale { .. } | VerifyError::BadTimestamp => RefusalReason::StaleTimestamp,
        _ => RefusalReason::BadSignature,
    };
    Refusal::new(reason, e.to_string())
}

/// The envelope for a verified body from `city` with delivery id `webhook_id`, or a
/// `malformed` refusal saying what is wrong with the JSON.
pub fn read(city: &str, webhook_id: &str, body: &[u8], received_at: Millis) -> Result<Envelope, Refusal> {
    let post: InboundPost = serde_json::from_slice(body)
        .map_err(|e| Refusal::new(RefusalReason::Malformed, format!("the body is not the expected JSON: {e}")))?;
    Ok(envelope_from(city, webhook_id, post, received_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_read_or_refused_as_malformed() {
        let env = read("leeds", "msg_1", br#"{"from":"leeds-jo","partnership":"p","text":"hi"}"#, 7).unwrap();
        assert_eq!((env.sender.as_str(), env.text.as_str(), env.received_at), ("leeds-jo", "hi", 7));
        let refused = read("leeds", "msg_1", b"{\"from\": 1}", 7).unwrap_err();
        assert_eq!(refused.reason, RefusalReason::Malformed);
        assert!(refused.detail.starts_with("the body is not the expected JSON: "), "{}", refused.detail);
    }

    #[test]
    fn timestamps_and_signatures_are_refused_apart() {
        assert_eq!(refusal_for(&VerifyError::BadTimestamp).reason, RefusalReason::StaleTimestamp);
        assert_eq!(refusal_for(&VerifyError::Stale { timestamp: 1, now: 999 }).reason, RefusalReason::StaleTimestamp);
        assert_eq!(refusal_for(&VerifyError::Mismatch).reason, RefusalReason::BadSignature);
        assert_eq!(refusal_for(&VerifyError::MissingHeader("webhook-id")).reason, RefusalReason::BadSignature);
    }
}
