//! A receiving officer's Maildir, as `--mode killrounds --kill-email` checks it: every mail the
//! test Dovecot delivered, by the message it carries (the key in its text, `kill KEY …`) and by
//! its `Message-ID` (the bridge derives it from the delivery, so a mail sent again after a crash
//! carries the same one: what a mail client shows once, counted as a raw redelivery).
//!
//! Files are read once each, as they appear (`new/` and `cur/`; a file's identity is its name
//! up to the flags after `:`, which change when it moves), so polling stays cheap as the mailbox
//! grows.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// What the Maildir holds so far.
#[derive(Debug)]
pub struct Mailbox {
    dir: PathBuf,
    seen: HashSet<String>,
    /// Message key → Message-ID → how many mails carried it.
    pub by_key: HashMap<String, HashMap<String, u64>>,
    /// Mails read in all.
    pub raw: u64,
    /// Mails without a key (notices the bridge wrote itself).
    pub other: u64,
}

impl Mailbox {
    pub fn new(dir: PathBuf) -> Self {
        Mailbox { dir, seen: HashSet::new(), by_key: HashMap::new(), raw: 0, other: 0 }
    }

    /// Read the mails that arrived since the last call.
    pub fn refresh(&mut self) -> anyhow::Result<()> {
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.dir.join(sub)) else { continue };
            for entry in entries {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let id = name.split(':').next().unwrap_or_default().to_string();
                if self.seen.contains(&id) {
                    continue;
                }
                // Moved from new/ to cur/ between the listing and the read: the next call finds it.
                let Ok(bytes) = std::fs::read(entry.path()) else { continue };
                self.seen.insert(id);
                self.raw += 1;
                match parse(&bytes) {
                    Some((key, message_id)) => *self.by_key.entry(key).or_default().entry(message_id).or_default() += 1,
                    None => self.other += 1,
                }
            }
        }
        Ok(())
    }

    /// Mails beyond the first under each Message-ID.
    pub fn raw_redeliveries(&self) -> u64 {
        self.by_key.values().flat_map(|ids| ids.values()).map(|n| n - 1).sum()
    }
}

/// A mail's key (`kill KEY` in its text) and Message-ID.
fn parse(bytes: &[u8]) -> Option<(String, String)> {
    let mail = mail_parser::MessageParser::default().parse(bytes)?;
    let message_id = mail.message_id()?.to_string();
    let text = mail.body_text(0)?;
    let key = text.split("kill ").nth(1)?.split_whitespace().next()?.to_string();
    Some((key, message_id))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_mail_s_key_and_message_id() {
        let mail = b"Message-ID: <abc@c2c.test>\r\nFrom: a@c2c.test\r\nSubject: s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nJo Smith (Leeds) wrote:\r\n\r\nkill r3-lg-17 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=\r\nxxxx\r\n";
        assert_eq!(super::parse(mail), Some(("r3-lg-17".into(), "abc@c2c.test".into())));
        assert_eq!(super::parse(b"Message-ID: <n@c2c.test>\r\n\r\nA reminder\r\n"), None);
    }
}
