//! Standard Webhooks asymmetric signatures, scheme `v1a`: ed25519 over
//! `"{webhook-id}.{webhook-timestamp}.{body}"`, the same content as `v1`.
//!
//! The signer keeps a secret key, `whsk_` + the base64 of its 32-byte ed25519 seed; a receiver
//! pins the matching public key, `whpk_` + the base64 of its 32 bytes, and holds nothing that
//! could sign. `webhook-signature` carries one or more space-separated `v1a,<base64 of 64 bytes>`
//! entries: during a rotation the signer signs with its new and its old key, and a receiver that
//! pinned either accepts. Entries of other schemes (`v1,` HMAC) are skipped.
//!
//! Verification works on public data only (the pinned keys, the request), so nothing there needs
//! to be constant-time; signing is (ed25519-dalek's). A hostile header costs bounded work: the
//! timestamp is checked first, an entry that is not exactly a base64 signature is skipped without
//! decoding it, and at most [`MAX_SIGNATURES`] entries are checked, each against every pinned key.
//! Signatures are checked with `verify_strict` and weak (small-order) public keys are refused
//! when parsed, so no key can be pinned that would accept a signature made without its secret.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand::TryRngCore;

use super::{VerifyError, fresh_timestamp};

/// The prefix of a secret key's text.
pub const SECRET_PREFIX: &str = "whsk_";
/// The prefix of a public key's text.
pub const PUBLIC_PREFIX: &str = "whpk_";
/// The most `v1a` entries of one `webhook-signature` that are checked; later ones are ignored. A
/// rotation needs two.
pub const MAX_SIGNATURES: usize = 8;

/// An ed25519 signature (64 bytes) in padded base64.
const SIGNATURE_BASE64_LEN: usize = 88;

/// The text is not a usable key of this scheme; says why (never with the key's bytes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadKey(&'static str);

/// The operating system's random number generator failed, so no key was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct RandomUnavailable(String);

/// An instance's signing key. Its `Debug` shows its public key only; the key is wiped from
/// memory when dropped.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(of {})", self.public_key())
    }
}

impl SecretKey {
    /// A new key from the operating system's random number generator.
    pub fn generate() -> Result<Self, RandomUnavailable> {
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.try_fill_bytes(&mut seed).map_err(|e| RandomUnavailable(e.to_string()))?;
        let key = SigningKey::from_bytes(&seed);
        seed.fill(0);
        Ok(Self(key))
    }

    /// Parse `whsk_<base64 of the 32-byte seed>` (surrounding whitespace ignored). The prefix is
    /// required: it is what tells a secret key from a public one.
    pub fn parse(text: &str) -> Result<Self, BadKey> {
        let text = text.trim();
        let Some(b64) = text.strip_prefix(SECRET_PREFIX) else {
            return Err(BadKey(if text.starts_with(PUBLIC_PREFIX) {
                "this is a public key (`whpk_`), not a secret key (`whsk_`)"
            } else if text.starts_with("whsec_") {
                "this is an HMAC webhook secret (`whsec_`), not an ed25519 secret key (`whsk_`)"
            } else {
                "a secret key starts with `whsk_`"
            }));
        };
        let seed = decode_32(b64).ok_or(BadKey("the part after `whsk_` is not the base64 of 32 bytes"))?;
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    /// The text form, `whsk_…`: for the key file only.
    pub(crate) fn to_text(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(self.0.as_bytes()))
    }

    /// The public key a peer pins to verify this key's signatures.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The `v1a,<base64>` signature of one message (`timestamp` in Unix seconds).
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        self.sign_content(&content(id, timestamp, body))
    }

    fn sign_content(&self, content: &[u8]) -> String {
        format!("v1a,{}", STANDARD.encode(self.0.sign(content).to_bytes()))
    }
}

/// A pinned public key. `Display` gives its text form, `whpk_…`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(VerifyingKey);

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PUBLIC_PREFIX}{}", STANDARD.encode(self.0.as_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl PublicKey {
    /// Parse `whpk_<base64 of 32 bytes>` (surrounding whitespace ignored). Refused: a secret key
    /// (pasted where the public one belongs), bytes that are not a curve point, and weak
    /// (small-order) keys.
    pub fn parse(text: &str) -> Result<Self, BadKey> {
        let text = text.trim();
        let Some(b64) = text.strip_prefix(PUBLIC_PREFIX) else {
            return Err(BadKey(if text.starts_with(SECRET_PREFIX) {
                "this is a secret key (`whsk_`): pin the public key (`whpk_`) and keep the secret one private"
            } else {
                "a public key starts with `whpk_`"
            }));
        };
        let bytes = decode_32(b64).ok_or(BadKey("the part after `whpk_` is not the base64 of 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| BadKey("not an ed25519 public key"))?;
        if key.is_weak() {
            return Err(BadKey("a weak ed25519 public key (of small order), which would accept forged signatures"));
        }
        Ok(Self(key))
    }

    /// Check the three headers against `body` with this one key: `verify` with one pinned key.
    pub fn verify(
        &self,
        id: &str,
        timestamp: &str,
        signatures: &str,
        body: &[u8],
        now: i64,
        tolerance: Duration,
    ) -> Result<(), VerifyError> {
        verify(std::slice::from_ref(self), id, timestamp, signatures, body, now, tolerance).map(|_| ())
    }
}

/// The `webhook-signature` value: one `v1a` entry per key, in order, space-separated (the
/// current key first, then the one being rotated out). Empty for no keys.
pub fn sign(keys: &[SecretKey], id: &str, timestamp: i64, body: &[u8]) -> String {
    let content = content(id, timestamp, body);
    keys.iter().map(|k| k.sign_content(&content)).collect::<Vec<_>>().join(" ")
}

/// Check the three headers against `body`, as a receiver does: the timestamp must be within
/// `tolerance` of `now` (the receiver's clock, Unix seconds), then a `v1a` entry must verify
/// under one of the `pinned` keys. Gives the index in `pinned` of the key that verified (for
/// the admin's log: which key a peer still signs with), else why not: `BadTimestamp` or
/// `Stale` (which carries `now`), `NoAsymmetricSignature` when there is no `v1a` entry at all,
/// `Mismatch` when none verifies (also for no pinned keys).
pub fn verify(
    pinned: &[PublicKey],
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: i64,
    tolerance: Duration,
) -> Result<usize, VerifyError> {
    let ts = fresh_timestamp(timestamp, now, tolerance)?;
    let mut signed: Option<Vec<u8>> = None;
    let entries = signatures.split_whitespace().filter_map(|e| e.strip_prefix("v1a,"));
    let mut any = false;
    for sig in entries.take(MAX_SIGNATURES) {
        any = true;
        let Some(sig) = decode_signature(sig) else {
            continue;
        };
        let signed = signed.get_or_insert_with(|| content(id, ts, body));
        if let Some(i) = pinned.iter().position(|k| k.0.verify_strict(signed, &sig).is_ok()) {
            return Ok(i);
        }
    }
    if any { Err(VerifyError::Mismatch) } else { Err(VerifyError::NoAsymmetricSignature) }
}

/// What is signed: `{id}.{timestamp}.{body}`.
fn content(id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let ts = timestamp.to_string();
    let mut out = Vec::with_capacity(id.len() + ts.len() + body.len() + 2);
    out.extend_from_slice(id.as_bytes());
    out.push(b'.');
    out.extend_from_slice(ts.as_bytes());
    out.push(b'.');
    out.extend_from_slice(body);
    out
}

/// Exactly 32 bytes of padded base64, or nothing (longer text is not decoded).
fn decode_32(b64: &str) -> Option<[u8; 32]> {
    if b64.len() != 44 {
        return None;
    }
    STANDARD.decode(b64).ok()?.try_into().ok()
}

/// A signature entry's 64 bytes, or nothing when it is not exactly their padded base64 (longer
/// text is not decoded).
fn decode_signature(b64: &str) -> Option<Signature> {
    if b64.len() != SIGNATURE_BASE64_LEN {
        return None;
    }
    let bytes: [u8; 64] = STANDARD.decode(b64).ok()?.try_into().ok()?;
    Some(Signature::from_bytes(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOL: Duration = Duration::from_secs(300);

    // The known answer of the Standard Webhooks reference Go library (its
    // `TestAsymmetricWebhookSign`; the spec itself has no `v1a` vector): this seed signing the
    // spec's example message. The public key was derived with another implementation (Python's
    // `cryptography`, on OpenSSL), which also gives the same signature.
    const REF_SECRET: &str = "whsk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk=";
    const REF_PUBLIC: &str = "whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g=";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const TS_TEXT: &str = "1614265330";
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const REF_SIG: &str =
        "v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag==";

    // Our own vectors, for a second key (the 32 ASCII bytes "c2c-bridge v1a test key, rotated"),
    // computed with Python's `cryptography` (OpenSSL), not with this code.
    const OWN_SECRET: &str = "whsk_YzJjLWJyaWRnZSB2MWEgdGVzdCBrZXksIHJvdGF0ZWQ=";
    const OWN_PUBLIC: &str = "whpk_7dNzjyystBoq6r9QWs6q61ph89MjN3X32yEIiKQ0yP4=";
    const OWN_SIG: &str =
        "v1a,bfxQkwUeCMoUq7r2y2nLj5hihnI7aHYkUWbBT/KQ40xDNq5poeFT4gMZA1bDcikPrCkVQWYV2iVKKAcewuyyCQ==";
    const OWN_ID_2: &str = "01JC2C0PEER0OUTBOX0ENTRY01";
    const OWN_TS_2: i64 = 1767225600;
    const OWN_BODY_2: &str = r#"{"v":1,"destination":"uk-lga","text":"Bonjour, 杭州"}"#;
    const OWN_SIG_2: &str =
        "v1a,gv+w7kzloTq716onYjXjpItTPQRnQzb1fTvBXAVzfWlFCzYMzvq0L4obW+LbEjTLSA/IhXS5GR9+Hn+roE17DQ==";

    fn reference() -> (SecretKey, PublicKey) {
        (SecretKey::parse(REF_SECRET).unwrap(), PublicKey::parse(REF_PUBLIC).unwrap())
    }

    fn own() -> (SecretKey, PublicKey) {
        (SecretKey::parse(OWN_SECRET).unwrap(), PublicKey::parse(OWN_PUBLIC).unwrap())
    }

    #[test]
    fn known_answers() {
        let (sk, pk) = reference();
        assert_eq!(sk.public_key(), pk);
        assert_eq!(sk.public_key().to_string(), REF_PUBLIC);
        assert_eq!(sk.sign(ID, TS, BODY), REF_SIG);
        assert_eq!(pk.verify(ID, TS_TEXT, REF_SIG, BODY, TS, TOL), Ok(()));

        let (sk, pk) = own();
        assert_eq!(sk.public_key(), pk);
        assert_eq!(sk.sign(ID, TS, BODY), OWN_SIG);
        assert_eq!(sk.sign(OWN_ID_2, OWN_TS_2, OWN_BODY_2.as_bytes()), OWN_SIG_2);
        let ts2 = OWN_TS_2.to_string();
        assert_eq!(pk.verify(OWN_ID_2, &ts2, OWN_SIG_2, OWN_BODY_2.as_bytes(), OWN_TS_2 - 299, TOL), Ok(()));
        // The key text survives a round trip.
        assert_eq!(SecretKey::parse(&sk.to_text()).unwrap().to_text(), OWN_SECRET);
    }

    #[test]
    fn round_trip_with_a_fresh_key() {
        let sk = SecretKey::generate().unwrap();
        let pk = PublicKey::parse(&sk.public_key().to_string()).unwrap();
        let sig = sign(std::slice::from_ref(&sk), ID, TS, BODY);
        assert_eq!(verify(&[pk], ID, TS_TEXT, &sig, BODY, TS, TOL), Ok(0));
        // Two fresh keys differ.
        assert_ne!(SecretKey::generate().unwrap().public_key(), pk);
    }

    #[test]
    fn refuses_a_wrong_key_and_tampering() {
        let (_, ref_pk) = reference();
        let (_, own_pk) = own();
        assert_eq!(own_pk.verify(ID, TS_TEXT, REF_SIG, BODY, TS, TOL), Err(VerifyError::Mismatch));
        assert_eq!(
            ref_pk.verify(ID, TS_TEXT, REF_SIG, br#"{"test": 2432232315}"#, TS, TOL),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            ref_pk.verify("msg_p5jXN8AQM9LWM0D4loKWxJeK", TS_TEXT, REF_SIG, BODY, TS, TOL),
            Err(VerifyError::Mismatch)
        );
        // Another timestamp, still fresh: the signature covers it.
        assert_eq!(ref_pk.verify(ID, "1614265331", REF_SIG, BODY, TS, TOL), Err(VerifyError::Mismatch));
        // One flipped bit in the signature.
        let flipped = REF_SIG.replacen("tQ9V", "tQ9W", 1);
        assert_eq!(ref_pk.verify(ID, TS_TEXT, &flipped, BODY, TS, TOL), Err(VerifyError::Mismatch));
        // No pinned keys: nothing verifies.
        assert_eq!(verify(&[], ID, TS_TEXT, REF_SIG, BODY, TS, TOL), Err(VerifyError::Mismatch));
    }

    #[test]
    fn checks_the_timestamp_first_like_v1() {
        let (_, pk) = reference();
        assert_eq!(pk.verify(ID, TS_TEXT, REF_SIG, BODY, TS + 300, TOL), Ok(()));
        assert_eq!(pk.verify(ID, TS_TEXT, REF_SIG, BODY, TS - 300, TOL), Ok(()));
        // Stale or from the future, however well signed; the error says the receiver's time.
        let stale = pk.verify(ID, TS_TEXT, REF_SIG, BODY, TS + 301, TOL).unwrap_err();
        assert_eq!(stale, VerifyError::Stale { timestamp: TS, now: TS + 301 });
        assert!(stale.to_string().contains(&(TS + 301).to_string()), "{stale}");
        assert_eq!(
            pk.verify(ID, TS_TEXT, REF_SIG, BODY, TS - 301, TOL),
            Err(VerifyError::Stale { timestamp: TS, now: TS - 301 })
        );
        for absurd in [i64::MIN.to_string(), i64::MAX.to_string()] {
            assert!(matches!(pk.verify(ID, &absurd, REF_SIG, BODY, TS, TOL), Err(VerifyError::Stale { .. })));
        }
        for bad in ["soon", "", "1614265330.0", "99999999999999999999"] {
            assert_eq!(pk.verify(ID, bad, REF_SIG, BODY, TS, TOL), Err(VerifyError::BadTimestamp), "{bad:?}");
        }
    }

    #[test]
    fn any_of_several_signatures_under_any_pinned_key() {
        let (ref_sk, ref_pk) = reference();
        let (own_sk, own_pk) = own();
        let header = format!("v1a,{} v1,Zm9vYmFy {REF_SIG}", "A".repeat(86) + "==");
        assert_eq!(verify(&[own_pk, ref_pk], ID, TS_TEXT, &header, BODY, TS, TOL), Ok(1));
        // Tabs and repeated spaces separate entries too.
        let spaced = format!("  {OWN_SIG}\t\t{REF_SIG}  ");
        assert_eq!(verify(&[ref_pk], ID, TS_TEXT, &spaced, BODY, TS, TOL), Ok(0));
        // The index says which pinned key verified.
        let both = sign(&[own_sk, ref_sk], ID, TS, BODY);
        assert_eq!(both, format!("{OWN_SIG} {REF_SIG}"));
        assert_eq!(verify(&[ref_pk, own_pk], ID, TS_TEXT, &both, BODY, TS, TOL), Ok(1));
        assert_eq!(verify(&[ref_pk], ID, TS_TEXT, &both, BODY, TS, TOL), Ok(0));
        assert_eq!(sign(&[], ID, TS, BODY), "");
    }

    #[test]
    fn rotation_with_overlap() {
        // The signer moves from `old` to `new` and signs with both meanwhile.
        let old = SecretKey::parse(REF_SECRET).unwrap();
        let new = SecretKey::generate().unwrap();
        let header = sign(&[new.clone(), old.clone()], ID, TS, BODY);
        assert_eq!(header.split(' ').count(), 2);
        // A receiver that pinned only the old key, only the new one, or both, accepts.
        assert_eq!(verify(&[old.public_key()], ID, TS_TEXT, &header, BODY, TS, TOL), Ok(0));
        assert_eq!(verify(&[new.public_key()], ID, TS_TEXT, &header, BODY, TS, TOL), Ok(0));
        assert_eq!(verify(&[new.public_key(), old.public_key()], ID, TS_TEXT, &header, BODY, TS, TOL), Ok(0));
        // Once the signer dropped the old key, a receiver still pinning only the old one refuses;
        // pinning both, it sees the new one verify.
        let after = sign(std::slice::from_ref(&new), ID, TS, BODY);
        assert_eq!(verify(&[old.public_key()], ID, TS_TEXT, &after, BODY, TS, TOL), Err(VerifyError::Mismatch));
        assert_eq!(verify(&[old.public_key(), new.public_key()], ID, TS_TEXT, &after, BODY, TS, TOL), Ok(1));
        // Before the signer adds the new key, a receiver that pinned only the new one refuses.
        let before = sign(std::slice::from_ref(&old), ID, TS, BODY);
        assert_eq!(verify(&[new.public_key()], ID, TS_TEXT, &before, BODY, TS, TOL), Err(VerifyError::Mismatch));
    }

    #[test]
    fn a_v1_hmac_signature_is_not_a_v1a_one() {
        let (_, pk) = reference();
        let hmac = crate::signature::SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let v1 = hmac.sign(ID, TS, BODY);
        assert_eq!(pk.verify(ID, TS_TEXT, &v1, BODY, TS, TOL), Err(VerifyError::NoAsymmetricSignature));
        // Mixed in, it is skipped and the v1a entry decides.
        assert_eq!(pk.verify(ID, TS_TEXT, &format!("{v1} {REF_SIG}"), BODY, TS, TOL), Ok(()));
        // And the v1 verifier does not take a v1a entry for one of its own.
        assert_eq!(hmac.verify(ID, TS_TEXT, REF_SIG, BODY, TS, TOL), Err(VerifyError::NoSignature));
        // A v1a signature's bytes under the `v1` label do not count either.
        let relabelled = REF_SIG.replacen("v1a,", "v1,", 1);
        assert_eq!(pk.verify(ID, TS_TEXT, &relabelled, BODY, TS, TOL), Err(VerifyError::NoAsymmetricSignature));
    }

    #[test]
    fn malformed_headers_are_refused_without_panicking() {
        let (_, pk) = reference();
        let sig_b64 = REF_SIG.strip_prefix("v1a,").unwrap();
        let unpadded = format!("v1a,{}", sig_b64.trim_end_matches('='));
        let url_safe = format!("v1a,{}", sig_b64.replace('/', "_").replace('+', "-"));
        let huge = "v1a,".to_string() + &"A".repeat(1 << 20);
        for header in [
            "",
            "   ",
            "v1a",
            "v1a,",
            "v1a,,",
            "V1A,abc",
            "v1a,!!!!",
            "v1a,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            &"v1a,".repeat(10_000),
            &unpadded,
            &url_safe,
            &format!("v1a,{sig_b64}AAAA"),
            &format!("v1a,{}", "=".repeat(88)),
            &format!("v1a,{}", "\u{e9}".repeat(44)),
            &huge,
        ] {
            let got = pk.verify(ID, TS_TEXT, header, BODY, TS, TOL);
            let expected =
                if header.contains("v1a,") { VerifyError::Mismatch } else { VerifyError::NoAsymmetricSignature };
            assert_eq!(got, Err(expected), "{:?}", &header[..header.len().min(40)]);
        }
        // An entry's label must be exactly `v1a,`.
        for label in ["v1a ,", "V1A,", "v1a;", " v1a,,"] {
            let relabelled = REF_SIG.replacen("v1a,", label, 1);
            assert!(pk.verify(ID, TS_TEXT, &relabelled, BODY, TS, TOL).is_err(), "{relabelled}");
        }
    }

    #[test]
    fn work_is_bounded_by_the_first_entries() {
        let (_, pk) = reference();
        // Well-formed but wrong signatures (of another key): each costs a verification, and only
        // the first MAX_SIGNATURES are tried, so a right one after them is not reached.
        let wrong = SecretKey::parse(OWN_SECRET).unwrap().sign(ID, TS, BODY);
        let mut header = vec![wrong.as_str(); MAX_SIGNATURES];
        header.push(REF_SIG);
        assert_eq!(pk.verify(ID, TS_TEXT, &header.join(" "), BODY, TS, TOL), Err(VerifyError::Mismatch));
        header.remove(0);
        assert_eq!(pk.verify(ID, TS_TEXT, &header.join(" "), BODY, TS, TOL), Ok(()));
        // Entries of other schemes do not count towards the bound.
        let mut mixed = vec!["v1,Zm9vYmFy"; 10_000];
        mixed.push(REF_SIG);
        assert_eq!(pk.verify(ID, TS_TEXT, &mixed.join(" "), BODY, TS, TOL), Ok(()));
    }

    #[test]
    fn key_texts_are_checked() {
        assert!(SecretKey::parse(REF_SECRET).is_ok());
        assert!(SecretKey::parse(&format!("  {REF_SECRET}\n")).is_ok());
        // The prefixes are required, and a key of the other kind is named as such.
        let no_prefix = REF_SECRET.strip_prefix("whsk_").unwrap();
        assert_eq!(SecretKey::parse(no_prefix).unwrap_err().to_string(), "a secret key starts with `whsk_`");
        assert!(SecretKey::parse(REF_PUBLIC).unwrap_err().to_string().contains("public key"));
        assert!(SecretKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_err().to_string().contains("HMAC"));
        assert!(PublicKey::parse(REF_SECRET).unwrap_err().to_string().contains("secret key"));
        assert!(PublicKey::parse(REF_PUBLIC.strip_prefix("whpk_").unwrap()).is_err());
        // Lengths and base64.
        for bad in ["whsk_", "whsk_!!!", "whsk_c2hvcnQ=", &format!("{REF_SECRET}AAAA"), "whsk_é"] {
            assert!(SecretKey::parse(bad).is_err(), "{bad}");
            let public = bad.replacen("whsk_", "whpk_", 1);
            assert!(PublicKey::parse(&public).is_err(), "{public}");
        }
        // Weak keys: the identity point (1, then zeros) and a point of order 2 (all ones but the
        // sign bit: y = -1).
        let identity = {
            let mut b = [0u8; 32];
            b[0] = 1;
            format!("whpk_{}", STANDARD.encode(b))
        };
        let mut minus_one = [0xffu8; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        for weak in [identity, format!("whpk_{}", STANDARD.encode(minus_one))] {
            assert!(PublicKey::parse(&weak).unwrap_err().to_string().contains("weak"), "{weak}");
        }
        // Debug never shows a secret key.
        let debug = format!("{:?}", SecretKey::parse(REF_SECRET).unwrap());
        assert_eq!(debug, format!("SecretKey(of {REF_PUBLIC})"));
    }
}
