//! Threads a delivery started (see `c2c_core::thread`): a channel that learns an endpoint's
//! thread from the send (a Matrix room's root event) reports it in `Receipt::thread`, and the
//! scheduler hands it here before it records the delivery as made, so the next delivery to that
//! endpoint, held behind it in the endpoint's queue, continues the same thread.

use c2c_core::{ConversationId, Recipient, StoreError};

use crate::router::batch::Batch;
use crate::router::committer::Committer;

impl Committer {
    /// Add `ids` to `recipient`'s thread of conversation `id`, as its channel keeps threads. A
    /// conversation no longer stored (deleted since) is nothing to do.
    pub(super) fn note_thread(
        &mut self,
        batch: &mut Batch,
        id: ConversationId,
        recipient: &Recipient,
        ids: Vec<String>,
    ) -> Result<(), StoreError> {
        let Some(keep) = self.threads.get(recipient.channel).map(|t| t.keep()) else { return Ok(()) };
        let conv = self.conversation(batch, id).map_err(|r| StoreError::new(r.detail, true))?;
        let Some(mut conv) = conv else { return Ok(()) };
        conv.extend_thread(self.threads.recipient_key(recipient), ids, keep);
        batch.conversations.insert(conv.id, conv);
        Ok(())
    }
}
