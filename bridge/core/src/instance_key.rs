//! The instance key: a secret made once per store and kept in it, under which the bridge tags
//! the names it hands out and must recognise later: the Message-ID and the return path
//! (VERP-style `bridge+b-SEQ-TAG@`) of every email delivery. Whoever saw one of them (a
//! recipient sees both) cannot make the one of another delivery, so a bounce or a reply can name
//! only a delivery its sender was sent.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::ids::OutboxId;

/// Bytes of HMAC-SHA256 kept in a tag: 80 bits, as 20 lowercase hex digits (hex, because some
/// mail servers lowercase local parts).
const TAG_BYTES: usize = 10;

/// The instance's secret (32 bytes). Its `Debug` shows nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct InstanceKey([u8; 32]);

impl fmt::Debug for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InstanceKey(***)")
    }
}

impl InstanceKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// From the 64 hex digits [`InstanceKey::to_hex`] wrote.
    pub fn from_hex(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(out))
    }

    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    fn mac(&self, purpose: &str, parts: &[&str]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        for p in parts {
            mac.update(&[0]);
            mac.update(p.as_bytes());
        }
        mac
    }

    /// The tag of `parts` for `purpose` (20 lowercase hex digits).
    pub fn tag(&self, purpose: &str, parts: &[&str]) -> String {
        hex(&self.mac(purpose, parts).finalize().into_bytes()[..TAG_BYTES])
    }

    /// Whether `tag` is the tag of `parts` for `purpose` (in constant time; any case).
    pub fn verify(&self, purpose: &str, parts: &[&str], tag: &str) -> bool {
        let Some(bytes) = unhex(tag) else { return false };
        bytes.len() == TAG_BYTES && self.mac(purpose, parts).verify_truncated_left(&bytes).is_ok()
    }

    /// The Message-ID (without `<>`) of email delivery `entry`, on the bridge's mail `domain`:
    /// the same on every retry and restart, and unguessable from any other delivery's.
    pub fn email_message_id(&self, entry: &OutboxId, domain: &str) -> String {
        let id = entry.to_string();
        format!("c2c.{id}.{}@{domain}", self.tag("message-id", &[&id]))
    }

    /// The delivery a Message-ID made by [`InstanceKey::email_message_id`] names, if it is one
    /// of ours with a valid tag.
    pub fn parse_email_message_id(&self, message_id: &str) -> Option<OutboxId> {
        let local = message_id.trim().trim_matches(['<', '>']).rsplit_once('@')?.0;
        let (id, tag) = local.strip_prefix("c2c.")?.rsplit_once('.')?;
        self.verify("message-id", &[id], tag).then(|| OutboxId(id.to_string()))
    }

    /// The `+detail` of the return path (envelope sender) of email delivery (`seq`, `entry`):
    /// `b-SEQ-TAG`. A delivery status notification comes back to it.
    pub fn return_path_detail(&self, seq: u64, entry: &OutboxId) -> String {
        let seq = seq.to_string();
        format!("b-{seq}-{}", self.tag("return-path", &[&seq, &entry.to_string()]))
    }

    /// The sequence number in a `+detail` made by [`InstanceKey::return_path_detail`], if
    /// its tag is valid for that sequence number and `entry` (which the report names).
    pub fn verify_return_path(&self, detail: &str, entry: &OutboxId) -> Option<u64> {
        let (seq, tag) = detail.strip_prefix("b-").or_else(|| detail.strip_prefix("B-"))?.split_once('-')?;
        let n: u64 = seq.parse().ok()?;
        self.verify("return-path", &[seq, &entry.to_string()], tag).then_some(n)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::MessageId;

    fn key(b: u8) -> InstanceKey {
        InstanceKey::new([b; 32])
    }

    #[test]
    fn hex_round_trip() {
        let k = key(7);
        assert_eq!(InstanceKey::from_hex(&k.to_hex()), Some(k));
        assert_eq!(InstanceKey::from_hex("zz"), None);
        assert_eq!(format!("{:?}", key(1)), "InstanceKey(***)");
    }

    #[test]
    fn message_ids_name_their_delivery_and_no_other() {
        let (k, m) = (key(1), MessageId::new());
        let (a, b) = (OutboxId::for_recipient(m, 0), OutboxId::for_recipient(m, 1));
        let mid = k.email_message_id(&a, "c2c.test");
        assert_eq!(k.parse_email_message_id(&mid), Some(a.clone()));
        assert_eq!(k.parse_email_message_id(&format!("<{}>", mid.to_uppercase())), None, "ids are case-sensitive");
        assert_eq!(k.parse_email_message_id(&format!("<{mid}>")), Some(a.clone()));
        // Knowing one's own Message-ID does not give a neighbour's.
        let guess = mid.replace(&a.to_string(), &b.to_string());
        assert_eq!(k.parse_email_message_id(&guess), None);
        // Another instance's key does not recognise it.
        assert_eq!(key(2).parse_email_message_id(&mid), None);
        assert_eq!(k.parse_email_message_id("CAKx1@mail.gmail.com"), None);
        assert_eq!(k.parse_email_message_id("c2c.x@z"), None);
    }

    #[test]
    fn return_paths_belong_to_one_delivery() {
        let (k, m) = (key(1), MessageId::new());
        let (a, b) = (OutboxId::for_recipient(m, 0), OutboxId::for_recipient(m, 1));
        let detail = k.return_path_detail(42, &a);
        assert!(detail.starts_with("b-42-") && detail.len() == 25, "{detail}");
        assert_eq!(k.verify_return_path(&detail, &a), Some(42));
        assert_eq!(k.verify_return_path(&detail.to_uppercase(), &a), Some(42), "local parts may be recased");
        assert_eq!(k.verify_return_path(&detail, &b), None, "a report about another delivery");
        assert_eq!(k.verify_return_path(&detail.replace("b-42-", "b-43-"), &a), None);
        assert_eq!(key(2).verify_return_path(&detail, &a), None);
        assert_eq!(k.verify_return_path("hangzhou-leeds", &a), None);
    }
}
