//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>).
//!
//! The signed content is `"{webhook-id}.{webhook-timestamp}.{body}"`, the MAC is HMAC-SHA256
//! keyed with the base64-decoded part of a `whsec_…` secret, and `webhook-signature` carries
//! one or more space-separated `v1,<base64>` entries (several while keys rotate). Verification
//! compares in constant time and refuses timestamps more than the tolerance away from now.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

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

    /// Check the three headers against `body`. `now` is Unix seconds.
    pub fn verify(
        &self,
        id: &str,
        timestamp: &str,
        signatures: &str,
        body: &[u8],
        now: i64,
        tolerance: Duration,
    ) -> Result<(), VerifyError> {
        let ts: i64 = timestamp.trim().parse().map_err(|_| VerifyError::BadTimestamp)?;
        // In i128: any i64 timestamp, however absurd, is merely stale.
        if (i128::from(now) - i128::from(ts)).unsigned_abs() > u128::from(tolerance.as_secs()) {
            return Err(VerifyError::Stale { timestamp: ts, now });
        }
        let expected = self.mac(id, ts, body);
        let mut any = false;
        for entry in signatures.split_whitespace() {
            let Some((version, sig)) = entry.split_once(',') else {
                continue;
            };
            if version != "v1" {
                continue;
            }
            any = true;
            if let Ok(sig) = STANDARD.decode(sig)
                && bool::from(sig.ct_eq(&expected))
            {
                return Ok(());
            }
        }
        if any { Err(VerifyError::Mismatch) } else { Err(VerifyError::NoSignature) }
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
    fn secrets_must_be_base64_keys() {
        assert!(SigningSecret::parse("whsec_!!!").is_err());
        assert!(SigningSecret::parse("whsec_c2hvcnQ=").is_err());
        assert!(format!("{:?}", SigningSecret::parse(SECRET).unwrap()).contains("***"));
    }
}
