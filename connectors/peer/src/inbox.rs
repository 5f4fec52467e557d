//! A request to `POST /peer/v1/inbox`, signed and checked: the sending side's [`sign`], and the
//! receiving side's [`check`] before anything is committed.
//!
//! A request is believed only when a `v1a` (ed25519) signature over `id.timestamp.body`
//! verifies under a key pinned for the instance the envelope names as its origin, within the
//! timestamp tolerance; then the body must be a v1 envelope made by that origin and addressed
//! to this instance. A stranger learns nothing: an origin nobody pinned gets the same answer
//! as a wrong signature, after the same amount of work (a check against a key nobody holds).

use std::collections::HashMap;
use std::time::Duration;

use c2c_webhook::signature::VerifyError;
use c2c_webhook::signature::asymmetric::{self, PublicKey, SecretKey};

use crate::wire::{PeerEnvelope, WireError};

/// The Standard Webhooks headers and body of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// `webhook-id`: the outbox entry's id, the same on every retry.
    pub id: String,
    /// `webhook-timestamp`, Unix seconds.
    pub timestamp: String,
    /// `webhook-signature`: one `v1a,` entry per signing key.
    pub signature: String,
    pub body: Vec<u8>,
}

/// Sign `envelope` for sending as delivery `id` at `now` (Unix seconds), with every key given
/// (the current one and, during a rotation, the previous one).
pub fn sign(envelope: &PeerEnvelope, id: &str, keys: &[SecretKey], now: i64) -> Signed {
    let body = serde_json::to_vec(envelope).expect("a peer envelope serialises");
    let signature = asymmetric::sign(keys, id, now, &body);
    Signed { id: id.to_string(), timestamp: now.to_string(), signature, body }
}

/// The public keys pinned for each peer (`[[peers]] public_keys`).
#[derive(Debug, Clone, Default)]
pub struct Pinned(HashMap<String, Vec<PublicKey>>);

impl Pinned {
    pub fn new(peers: impl IntoIterator<Item = (String, Vec<PublicKey>)>) -> Self {
        Self(peers.into_iter().collect())
    }
}

/// Why a request is not believed (the receiver answers and counts it; nothing is committed).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refused {
    /// No signature verifies under a key pinned for the origin named, or no peer of that name
    /// is pinned (told apart only in the receiver's log).
    #[error("no signature verifies under a key pinned for this origin")]
    BadSignature { unknown_origin: bool },
    /// The timestamp is too far from the receiver's clock, which the answer says.
    #[error("webhook-timestamp {timestamp} is too far from this instance's time {now} (Unix seconds)")]
    Stale { timestamp: i64, now: i64 },
    /// Signed, but not a v1 envelope made by its sender.
    #[error("{0}")]
    Malformed(WireError),
    /// Signed, but meant for another instance.
    #[error("this envelope is for instance {destination}, and this is {ours}")]
    WrongDestination { destination: String, ours: String },
}

impl Refused {
    /// The error code the receiver answers with (as the webhook route's).
    pub fn code(&self) -> &'static str {
        match self {
            Refused::BadSignature { .. } => "bad_signature",
            Refused::Stale { .. } => "stale_timestamp",
            Refused::Malformed(_) => "malformed",
            Refused::WrongDestination { .. } => "wrong_destination",
        }
    }
}

/// Check one request as instance `ours` at `now` (Unix seconds): the envelope and the index of
/// the pinned key that verified it (which key the peer still signs with, for the log).
pub fn check(
    pinned: &Pinned,
    ours: &str,
    request: &Signed,
    now: i64,
    tolerance: Duration,
) -> Result<(PeerEnvelope, usize), Refused> {
    // An envelope naming no origin is checked against no pinned key, as an unknown one is.
    let origin = claimed_origin(&request.body).unwrap_or_default();
    let index = check_asker(pinned, &origin, request, now, tolerance)?;
    let envelope = PeerEnvelope::parse(&request.body).map_err(Refused::Malformed)?;
    if envelope.destination != ours {
        return Err(Refused::WrongDestination { destination: envelope.destination, ours: ours.to_string() });
    }
    Ok((envelope, index))
}

/// Check a signed request whose sender is `asker` (named in a header for a `GET`, in the
/// envelope for [`check`]): its signature under a key pinned for `asker`, within the
/// tolerance. The index of the key that verified it.
pub fn check_asker(
    pinned: &Pinned,
    asker: &str,
    request: &Signed,
    now: i64,
    tolerance: Duration,
) -> Result<usize, Refused> {
    let (keys, unknown_origin) = match pinned.0.get(asker) {
        Some(keys) if !keys.is_empty() => (keys.as_slice(), false),
        _ => (std::slice::from_ref(nobody()), true),
    };
    match asymmetric::verify(keys, &request.id, &request.timestamp, &request.signature, &request.body, now, tolerance) {
        Ok(_) if unknown_origin => Err(Refused::BadSignature { unknown_origin }),
        Ok(i) => Ok(i),
        Err(VerifyError::Stale { timestamp, now }) => Err(Refused::Stale { timestamp, now }),
        Err(_) => Err(Refused::BadSignature { unknown_origin }),
    }
}

/// The `origin` the body names, read leniently (the signature is checked against its keys;
/// the envelope itself is read strictly once that holds).
fn claimed_origin(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Origin {
        origin: String,
    }
    serde_json::from_slice::<Origin>(body).ok().map(|o| o.origin)
}

/// A stand-in key: an unknown origin's request is checked against it, so that it costs what a
/// wrong signature costs, and the result is never believed (its seed is no secret).
fn nobody() -> &'static PublicKey {
    static NOBODY: std::sync::OnceLock<PublicKey> = std::sync::OnceLock::new();
    NOBODY.get_or_init(|| {
        let secret =
            SecretKey::parse("whsk_bm9ib2R5IHNpZ25zIHdpdGggdGhpcyBrZXksIGV2ZXI=").expect("a fixed 32-byte seed parses");
        secret.public_key()
    })
}
