//! Which conversation an inbound post continues: a replica's own id, an explicit id, a webhook
//! thread key (scoped per city and partnership), or the first thread hint the id map knows.

use c2c_config::Config;
use c2c_core::{Conversation, ConversationId, NativeKey, NativeRef, Refusal, RefusalReason, ThreadRef};

use crate::router::batch::Batch;
use crate::router::committer::Committer;
use crate::router::prepare::Prepared;

impl Committer {
    /// The conversation an envelope continues, if any: an explicit id first, then the webhook
    /// thread key, then the first thread reference the store knows in a partnership of the
    /// author's city (the named one, when one is named).
    pub(super) fn resolve(
        &self,
        config: &Config,
        batch: &Batch,
        p: &Prepared,
    ) -> Result<Option<Conversation>, Refusal> {
        let env = &p.envelope;
        if let Some(assigned) = &p.assigned {
            // A replica names its conversation by the id its origin gave it: continued here if
            // this instance has it (in the same partnership), else opened under that id.
            let Some(conv) = self.conversation(batch, assigned.conversation)? else {
                // Only its owner opens a conversation: a third instance's reply that came first
                // waits (its sender retries) for the opening post.
                if assigned.conversation_owner != assigned.origin_instance {
                    return Err(Refusal::new(
                        RefusalReason::UnknownConversation,
                        format!(
                            "conversation `{}:{}` is not known here yet; only {} opens it",
                            assigned.conversation_owner, assigned.conversation, assigned.conversation_owner
                        ),
                    ));
                }
                return Ok(None);
            };
            if env.partnership.as_ref() != Some(&conv.partnership) {
                return Err(Refusal::new(
                    RefusalReason::UnknownConversation,
                    format!("conversation `{}` is not in the partnership named", assigned.conversation),
                ));
            }
            return Ok(Some(conv));
        }
        if let Some(id) = &env.conversation {
            let unknown = || Refusal::new(RefusalReason::UnknownConversation, format!("no conversation `{id}`"));
            let cid: ConversationId = id.parse().map_err(|_| unknown())?;
            let conv = self.conversation(batch, cid)?.ok_or_else(unknown)?;
            if let Some(pid) = &env.partnership
                && *pid != conv.partnership
            {
                return Err(Refusal::new(
                    RefusalReason::UnknownConversation,
                    format!("conversation `{id}` belongs to the partnership `{}`, not `{pid}`", conv.partnership),
                ));
            }
            return Ok(Some(conv));
        }
        if let Some(key) = &env.thread_key
            && let Some(conv) = self.by_thread_key(config, batch, p, key)?
        {
            return Ok(Some(conv));
        }
        for hint in &env.thread_refs {
            let found = match hint {
                ThreadRef::Native(key) => self.native(batch, key)?.map(|r| r.conversation),
                ThreadRef::Conversation(id) => id.parse::<ConversationId>().ok(),
                ThreadRef::Short(short) => self.native(batch, &NativeKey::short(short))?.map(|r| r.conversation),
            };
            let Some(conv) = found.map(|id| self.conversation(batch, id)).transpose()?.flatten() else {
                continue;
            };
            if env.partnership.as_ref().is_some_and(|pid| *pid != conv.partnership) {
                continue;
            }
            // A hint is only believed for a partnership the author's city is in: a guessed or
            // mistyped tag must not pull a stranger's thread, and an old id in a long
            // References list (a thread forwarded from another partnership) must not refuse the
            // mail when a later hint, or the address, names the right one.
            if !config.partnership(&conv.partnership).is_some_and(|ps| ps.members.contains(&p.author.city)) {
                continue;
            }
            return Ok(Some(conv));
        }
        Ok(None)
    }

    /// The conversation a webhook thread key names. A key is the author's city's own and names
    /// one conversation per partnership: it is looked up in the named partnership, or, when none
    /// is named, in each partnership of the city (a key found in several is ambiguous and
    /// refused: the city must name the partnership). A key recorded before keys were scoped per
    /// partnership (`NativeKey::legacy_webhook_thread`, one per city) is believed for the
    /// partnership its record names, until the scoped key is written by the post it resolves.
    pub(super) fn by_thread_key(
        &self,
        config: &Config,
        batch: &Batch,
        p: &Prepared,
        key: &str,
    ) -> Result<Option<Conversation>, Refusal> {
        let city = &p.author.city;
        let partnerships: Vec<&str> = match &p.envelope.partnership {
            Some(pid) => vec![pid.as_str()],
            None => config.partnerships_of(city).map(|ps| ps.id.as_str()).collect(),
        };
        let mut legacy: Option<Option<NativeRef>> = None;
        let mut found: Vec<NativeRef> = Vec::new();
        for pid in partnerships {
            let scoped = self.native(batch, &NativeKey::webhook_thread(city, pid, key))?;
            let r = match scoped {
                Some(r) => Some(r),
                None => {
                    if legacy.is_none() {
                        legacy = Some(self.native(batch, &NativeKey::legacy_webhook_thread(city, key))?);
                    }
                    legacy.clone().flatten().filter(|r| r.partnership == pid)
                }
            };
            found.extend(r);
        }
        match found.as_slice() {
            [] => Ok(None),
            [one] => self.conversation(batch, one.conversation),
            several => {
                let names: Vec<String> = several.iter().map(|r| format!("`{}`", r.partnership)).collect();
                Err(Refusal::new(
                    RefusalReason::UnknownPartnership,
                    format!(
                        "the thread key {key:?} names conversations in the partnerships {}: name the partnership",
                        names.join(", ")
                    ),
                ))
            }
        }
    }
}
