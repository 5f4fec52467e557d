//! Filling a sync gap. When a sync's timeline for a room is `limited` (more events arrived since
//! the previous sync than one response carries: Synapse sends 10 per room by default), the
//! events between the previous sync token and the timeline's `prev_batch` are fetched with
//! `/messages`, so nothing posted while the bridge was down or busy is skipped.

use matrix_sdk::Room;
use matrix_sdk::deserialized_responses::TimelineEvent;
use matrix_sdk::room::MessagesOptions;
use matrix_sdk::ruma::uint;

/// The events after the sync token `since` and before `prev_batch`, oldest first (decrypted
/// where the keys are at hand).
pub async fn missed_events(room: &Room, prev_batch: &str, since: &str) -> matrix_sdk::Result<Vec<TimelineEvent>> {
    let mut newest_first = Vec::new();
    let mut from = prev_batch.to_string();
    loop {
        let mut options = MessagesOptions::backward().from(from.as_str());
        options.to = Some(since.to_string());
        options.limit = uint!(100);
        let page = room.messages(options).await?;
        let last_page = page.chunk.is_empty();
        newest_first.extend(page.chunk);
        match page.end {
            Some(end) if !last_page && end != from => from = end,
            _ => break,
        }
    }
    newest_first.reverse();
    Ok(newest_first)
}
