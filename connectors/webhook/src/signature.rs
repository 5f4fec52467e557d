//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>).
//!
//! The signed content is `"{webhook-id}.{webhook-timestamp}.{body}"`, the MAC is HMAC-SHA256
//! keyed with the base64-decoded part of a `whsec_…` secret, and `webhook-signature` carries
//! one or more space-separated `v1,<base64>` entries (several while keys rotate). Verification
//! compares in constant time and refuses timestamps more than the tolerance away from now.
//!
//! The asymmetric scheme, `v1a` (ed25519, `whsk_` secret and `whpk_` public keys), is in
//! [`asymmetric`], with the same timestamp check and [`VerifyError`]; [`key_file`] makes and
//! reads the file an instance keeps its `whsk_` key in.

pub mod asymmetric;
pub mod key_file;

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};

type HmacSha256 = Hmac<Sha256>;

/// A city's signing key. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct SigningSecret(Vec<u8>);

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(***)")
    }
}

/// The secret text is not a usable Standard Webhooks secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a webhook secret: {0}")]
pub struct BadSecret(&'static str);

impl SigningSecret {
    /// Parse `whsec_<base64>` (the prefix is optional, as in the reference libraries).
    pub fn parse(text: &str) -> Result<Self, BadSecret> {
        let b64 = text.trim().strip_prefix("whsec_").unwrap_or(text.trim());
        let key = STANDARD.decode(b64).map_err(|_| BadSecret("the part after `whsec_` is not base64"))?;
        if key.len() < 16 {
            return Err(BadSecret("the key is shorter than 16 bytes"));
        }
        Ok(Self(key))
    }

    /// The `v1,<base64>` signature of one message.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(id, timestamp, body)))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().to_vec()
    }

    /// Check the three headers against `body` with this one key, as a receiver does. `now` is
    /// Unix seconds.
    pub fn verify(
        &self,
        id: &str,
        timestamp: &str,
        signatures: &str,
        body: &[u8],
        now: i64,
        tolerance: Duration,
    ) -> Result<(), VerifyError> {
        let [matched] = matches([self], id, timestamp, signatures, body, now, tolerance)?;
        if matched { Ok(()) } else { Err(VerifyError::Mismatch) }
    }

    /// A key of this process that nobody else has.
    fn random() -> Self {
        Self(rand::random::<[u8; 32]>().to_vec())
    }
}

/// Which of `keys` signed: one flag per key, each computed whatever the others are (every
/// signature entry is compared with every key, in constant time, without stopping at a match),
/// so the time taken does not tell which key or which entry matched. An error when the
/// timestamp is unusable or there is no `v1` entry; all flags false is a mismatch.
fn matches<const N: usize>(
    keys: [&SigningSecret; N],
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: i64,
    tolerance: Duration,
) -> Result<[bool; N], VerifyError> {
    let ts = fresh_timestamp(timestamp, now, tolerance)?;
    let expected = keys.map(|k| k.mac(id, ts, body));
    let mut matched = [Choice::from(0); N];
    let mut any = false;
    for entry in signatures.split_whitespace() {
        let Some(("v1", sig)) = entry.split_once(',') else {
            continue;
        };
        any = true;
        let Ok(sig) = STANDARD.decode(sig) else {
            continue;
        };
        for (m, e) in matched.iter_mut().zip(&expected) {
            *m |= sig.ct_eq(e);
        }
    }
    if any { Ok(matched.map(bool::from)) } else { Err(VerifyError::NoSignature) }
}

/// The `webhook-timestamp` header as Unix seconds, when it is at most `tolerance` away from
/// `now` (the receiver's clock, Unix seconds) either way: both schemes check it before any
/// signature. A refusal for staleness carries `now`, so the sender can see the skew.
fn fresh_timestamp(timestamp: &str, now: i64, tolerance: Duration) -> Result<i64, VerifyError> {
    let ts: i64 = timestamp.trim().parse().map_err(|_| VerifyError::BadTimestamp)?;
    // In i128: any i64 timestamp, however absurd, is merely stale.
    if (i128::from(now) - i128::from(ts)).unsigned_abs() > u128::from(tolerance.as_secs()) {
        return Err(VerifyError::Stale { timestamp: ts, now });
    }
    Ok(ts)
}

/// A city's keys: its current secret and, while it is being rotated out, the previous one.
/// Outbound requests carry a signature by each, so a receiver holding either verifies them;
/// inbound requests signed with either are accepted.
#[derive(Clone, Debug)]
pub struct SigningKeys {
    current: SigningSecret,
    previous: Option<SigningSecret>,
}

/// Which key a verified request was signed with: for the admin's log (to see when a partner
/// has moved to the new secret), never for the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyUsed {
    Current,
    /// Signed with the previous secret only.
    Previous,
}

impl SigningKeys {
    pub fn new(current: SigningSecret, previous: Option<SigningSecret>) -> Self {
        Self { current, previous }
    }

    /// Keys nobody holds (random to this process): a city the bridge does not know is checked
    /// against them, so it takes as long to refuse as a known city's wrong signature.
    pub fn decoy() -> &'static SigningKeys {
        static DECOY: std::sync::OnceLock<SigningKeys> = std::sync::OnceLock::new();
        DECOY.get_or_init(|| SigningKeys::new(SigningSecret::random(), Some(SigningSecret::random())))
    }

    /// The `webhook-signature` value: `v1,<by current>`, then ` v1,<by previous>` during a
    /// rotation.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut header = self.current.sign(id, timestamp, body);
        if let Some(previous) = &self.previous {
            header.push(' ');
            header.push_str(&previous.sign(id, timestamp, body));
        }
        header
    }

    /// Check the three headers against `body`: accepted when a `v1` entry matches the current
    /// or the previous secret. Always two MACs (a process-random key stands in for a missing
    /// previous secret), so a city's answer takes as long whether or not it is rotating, and as
    /// long as an unknown city's. `now` is Unix seconds.
    pub fn verify(
        &self,
        id: &str,
        timestamp: &str,
        signatures: &str,
        body: &[u8],
        now: i64,
        tolerance: Duration,
    ) -> Result<KeyUsed, VerifyError> {
        let previous = self.previous.as_ref().unwrap_or_else(|| &Self::decoy().current);
        let [current, old] = matches([&self.current, previous], id, timestamp, signatures, body, now, tolerance)?;
        match (current, old && self.previous.is_some()) {
            (true, _) => Ok(KeyUsed::Current),
            (false, true) => Ok(KeyUsed::Previous),
            (false, false) => Err(VerifyError::Mismatch),
        }
    }
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing header `{0}`")]
    MissingHeader(&'static str),
    #[error("`webhook-timestamp` is not a Unix timestamp")]
    BadTimestamp,
    #[error("`webhook-timestamp` {timestamp} is more than the tolerance away from now ({now})")]
    Stale { timestamp: i64, now: i64 },
    #[error("`webhook-signature` has no `v1,` signature")]
    NoSignature,
    /// The asymmetric scheme's counterpart of `NoSignature`: no `v1a,` entry (a `v1` HMAC
    /// signature does not count).
    #[error("`webhook-signature` has no `v1a,` signature")]
    NoAsymmetricSignature,
    #[error("no signature in `webhook-signature` matches")]
    Mismatch,
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example from the Standard Webhooks spec and its reference libraries.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn signs_like_the_reference_implementation() {
        let s = SigningSecret::parse(SECRET).unwrap();
        assert_eq!(s.sign(ID, TS, BODY), SIG);
    }

    #[test]
    fn verifies_and_refuses() {
        let s = SigningSecret::parse(SECRET).unwrap();
        let tol = Duration::from_secs(300);
        assert_eq!(s.verify(ID, "1614265330", SIG, BODY, TS + 10, tol), Ok(()));
        // Several signatures (key rotation): any one matching is enough.
        let two = format!("v1,Zm9vYmFy {SIG}");
        assert_eq!(s.verify(ID, "1614265330", &two, BODY, TS, tol), Ok(()));
        assert_eq!(s.verify(ID, "1614265330", SIG, b"{}", TS, tol), Err(VerifyError::Mismatch));
        assert_eq!(s.verify("msg_other", "1614265330", SIG, BODY, TS, tol), Err(VerifyError::Mismatch));
        assert!(matches!(s.verify(ID, "1614265330", SIG, BODY, TS + 301, tol), Err(VerifyError::Stale { .. })));
        assert!(matches!(s.verify(ID, "1614265330", SIG, BODY, TS - 301, tol), Err(VerifyError::Stale { .. })));
        for absurd in [i64::MIN.to_string(), i64::MAX.to_string()] {
            assert!(matches!(s.verify(ID, &absurd, SIG, BODY, TS, tol), Err(VerifyError::Stale { .. })), "{absurd}");
        }
        assert_eq!(s.verify(ID, "soon", SIG, BODY, TS, tol), Err(VerifyError::BadTimestamp));
        assert_eq!(s.verify(ID, "1614265330", "v2,abc", BODY, TS, tol), Err(VerifyError::NoSignature));
    }

    #[test]
    fn rotating_keys_sign_with_both_and_accept_either() {
        let tol = Duration::from_secs(300);
        let old = SigningSecret::parse(SECRET).unwrap();
        let new = SigningSecret::parse("whsec_bmV3IGtleSBvZiB0aGlydHktdHdvIGJ5dGVzIQ==").unwrap();
        let keys = SigningKeys::new(new.clone(), Some(old.clone()));
        let header = keys.sign(ID, TS, BODY);
        assert_eq!(header, format!("{} {SIG}", new.sign(ID, TS, BODY)));
        // A receiver holding only one of the two verifies the request.
        assert_eq!(old.verify(ID, "1614265330", &header, BODY, TS, tol), Ok(()));
        assert_eq!(new.verify(ID, "1614265330", &header, BODY, TS, tol), Ok(()));
        // Inbound, either is accepted; a third key is not.
        assert_eq!(keys.verify(ID, "1614265330", SIG, BODY, TS, tol), Ok(KeyUsed::Previous));
        assert_eq!(keys.verify(ID, "1614265330", &new.sign(ID, TS, BODY), BODY, TS, tol), Ok(KeyUsed::Current));
        assert_eq!(keys.verify(ID, "1614265330", &header, BODY, TS, tol), Ok(KeyUsed::Current));
        let stranger = SigningSecret::parse("whsec_c3RyYW5nZXIncyBrZXksIDMyIGJ5dGVzIGxvbmch").unwrap();
        let forged = stranger.sign(ID, TS, BODY);
        assert_eq!(keys.verify(ID, "1614265330", &forged, BODY, TS, tol), Err(VerifyError::Mismatch));
        // Without a previous secret only the current one signs and is accepted.
        let settled = SigningKeys::new(new.clone(), None);
        assert_eq!(settled.sign(ID, TS, BODY), new.sign(ID, TS, BODY));
        assert_eq!(settled.verify(ID, "1614265330", SIG, BODY, TS, tol), Err(VerifyError::Mismatch));
        // The stand-in for a missing previous key never counts, even when it is what signed.
        let decoy_signed = SigningKeys::decoy().current.sign(ID, TS, BODY);
        assert_eq!(settled.verify(ID, "1614265330", &decoy_signed, BODY, TS, tol), Err(VerifyError::Mismatch));
        // Nothing signs for the decoy keys but their own.
        assert_eq!(SigningKeys::decoy().verify(ID, "1614265330", &header, BODY, TS, tol), Err(VerifyError::Mismatch));
    }

    #[test]
    fn secrets_must_be_base64_keys() {
        assert!(SigningSecret::parse("whsec_!!!").is_err());
        assert!(SigningSecret::parse("whsec_c2hvcnQ=").is_err());
        assert!(format!("{:?}", SigningSecret::parse(SECRET).unwrap()).contains("***"));
    }
}
