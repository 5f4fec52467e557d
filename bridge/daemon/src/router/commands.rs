//! Commands from contacts, the same on every channel: a post whose first unquoted line is
//! `/close`, `/reopen`, `/snooze 3d`, `/done ID`, `/status` or `/who CITY [TOPIC]` is handled here,
//! answered with a notice in the same thread (on the channel it came from), recorded as a
//! `command` message (so a replay gets the same answer) and never relayed. Only contacts of
//! member cities get here (the router refuses others before); `/done` only the owner's.

use c2c_config::{Config, Partnership};
use c2c_core::{Accepted, Conversation, MessageKind, Millis, Refusal};
use c2c_followup::command::{Command, Parsed};
use c2c_followup::deliverables;
use c2c_followup::texts::{self, Answer};

use crate::directory::{self, Visible};
use crate::router::batch::{Batch, push_entries};
use crate::router::committer::Committer;
use crate::router::deliverables::due_text;
use crate::router::followup::{city_names, local_text};
use crate::router::prepare::Prepared;
use crate::router::recipients::reply_endpoint;

/// Used when a conversation command arrives outside any conversation.
const IN_A_THREAD: &str = "send it as a reply in the conversation's thread";

impl Committer {
    /// Handle a command in `conversation` (or outside any: a new conversation is opened for the
    /// answer, closed from the start).
    pub(super) fn command(
        &mut self,
        config: &Config,
        batch: &mut Batch,
        partnership: &Partnership,
        conversation: Option<Conversation>,
        p: &Prepared,
        parsed: Parsed,
    ) -> Result<Accepted, Refusal> {
        let env = &p.envelope;
        let now = self.clock.now();
        let in_thread = conversation.is_some();
        let mut conv = match conversation {
            Some(c) => c,
            None => {
                let mut c = self.continue_or_open(None, partnership, p, now);
                // Not a post: the new conversation holds the command and its answer only.
                c.posts = 0;
                c.posts_by_city.clear();
                c.languages.clear();
                c.last_post_at = None;
                c.last_post_city = None;
                c.closed_at = Some(now);
                c
            }
        };
        self.threads.note_inbound(&mut conv, env, &p.author.city);
        let mut message = self.post(&conv, p, now);
        message.kind = MessageKind::Command;
        self.note_native_ids(batch, &conv, &message, p)?;
        let accepted = Accepted { message: message.id, conversation: conv.id, replay: false, at: Some(now) };
        batch.accepted.insert(env.dedupe_key.clone(), accepted.clone());
        batch.commit.accepted.push((env.dedupe_key.clone(), accepted.clone()));
        batch.commit.messages.push(message);

        let lang = partnership.language.clone();
        let (name, text) = match parsed {
            Parsed::NotACommand => return Ok(accepted),
            Parsed::Invalid(usage) => ("invalid", texts::answer(&lang, &Answer::Invalid { usage: &usage })),
            Parsed::Command(cmd) => self
                .run_command(config, batch, partnership, &mut conv, in_thread, p, cmd, now)
                .map_err(Self::store_error)?,
        };
        self.metrics.command(name);
        if let Some(endpoint) = reply_endpoint(config, &p.author, &env.origin) {
            let notice = self.bridge_message(&conv, MessageKind::Notice, text, &lang, now);
            push_entries(&mut batch.commit, &notice, vec![endpoint], now, &mut conv, &self.threads);
            batch.commit.messages.push(notice);
        }
        batch.conversations.insert(conv.id, conv);
        Ok(accepted)
    }

    /// Carry out `cmd`: its name (for metrics) and the answer's text.
    #[allow(clippy::too_many_arguments)]
    fn run_command(
        &mut self,
        config: &Config,
        batch: &mut Batch,
        partnership: &Partnership,
        conv: &mut Conversation,
        in_thread: bool,
        p: &Prepared,
        cmd: Command,
        now: Millis,
    ) -> Result<(&'static str, String), c2c_core::StoreError> {
        let lang = partnership.language.as_str();
        let city = p.author.city.as_str();
        let needs_thread = |name| (name, texts::answer(lang, &Answer::Invalid { usage: IN_A_THREAD }));
        Ok(match cmd {
            Command::Close if !in_thread => needs_thread("close"),
            Command::Close => {
                conv.closed_at = Some(now);
                Self::settle_all(batch, conv);
                ("close", texts::answer(lang, &Answer::Closed))
            }
            Command::Reopen if !in_thread => needs_thread("reopen"),
            Command::Reopen => {
                conv.closed_at = None;
                ("reopen", texts::answer(lang, &Answer::Reopened))
            }
            Command::Snooze(_) if !in_thread => needs_thread("snooze"),
            Command::Snooze(d) => {
                let until = now.saturating_add(Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX));
                conv.snoozed.insert(city.to_string(), until);
                ("snooze", texts::answer(lang, &Answer::Snoozed { until: &local_text(config, city, until) }))
            }
            Command::Done(id) => {
                let Some(d) = partnership.deliverables.iter().find(|d| d.id.eq_ignore_ascii_case(&id)) else {
                    return Ok(("done", texts::answer(lang, &Answer::UnknownDeliverable { id: &id })));
                };
                if d.owner != city {
                    let owner = city_names(config, [&d.owner]);
                    return Ok(("done", texts::answer(lang, &Answer::NotOwner { id: &d.id, owner: &owner })));
                }
                let answer = match self.done(batch, partnership, d, &p.author.contact)? {
                    true => Answer::Done { title: &d.title },
                    false => Answer::AlreadyDone { title: &d.title },
                };
                ("done", texts::answer(lang, &answer))
            }
            Command::Status => ("status", self.status(config, batch, partnership, city, now)?),
            Command::Who { city: asked, topic } => {
                ("who", who(config, partnership, city, &asked, topic.as_deref(), now))
            }
        })
    }

    /// What `city` owes in `partnership`: replies (oldest first) and deliverables not done.
    fn status(
        &self,
        config: &Config,
        batch: &Batch,
        partnership: &Partnership,
        city: &str,
        now: Millis,
    ) -> Result<String, c2c_core::StoreError> {
        let lang = partnership.language.as_str();
        let mut conversations = self.store.conversations(Some(&partnership.id))?;
        for c in &mut conversations {
            if let Some(newer) = batch.conversations.get(&c.id) {
                *c = newer.clone();
            }
        }
        let mut owed: Vec<(Millis, String)> = conversations
            .iter()
            .filter(|c| c.closed_at.is_none())
            .filter_map(|c| c.owing.get(city).map(|debt| (c, debt)))
            .map(|(c, debt)| {
                let line = texts::status_owes(
                    lang,
                    &c.subject,
                    &city_names(config, &debt.waiting),
                    &local_text(config, city, debt.due),
                );
                (debt.since, line)
            })
            .collect();
        owed.sort();
        let mut lines: Vec<String> = owed.into_iter().map(|(_, l)| l).collect();
        for d in &partnership.deliverables {
            if !deliverables::reminded(d, &partnership.members).contains(&city) {
                continue;
            }
            if self.deliverable_state(batch, &partnership.id, &d.id)?.done_at.is_some() {
                continue;
            }
            let due = d.due.timestamp_millis();
            lines.push(texts::status_deliverable(lang, &d.title, &d.id, &due_text(config, d, city), due < now));
        }
        Ok(match lines.is_empty() {
            true => texts::answer(lang, &Answer::NothingOwed),
            false => texts::answer(lang, &Answer::Status { lines: &lines }),
        })
    }
}

/// `/who CITY [TOPIC]` by a contact of `asker` (a city) in `partnership`: the contacts of CITY
/// that list TOPIC (all without one), its local time and whether it is at work, and the channel
/// it agreed on in each partnership it shares with the asker's city (this one first), from the
/// directory. Only partners of the asker's city are found: of any other city, existing or not,
/// the answer is the same "not a partner", so no contact, and not even a city's existence, is
/// told outside the partnerships.
fn who(
    config: &Config,
    partnership: &Partnership,
    asker: &str,
    asked: &str,
    topic: Option<&str>,
    now: Millis,
) -> String {
    let lang = partnership.language.as_str();
    let visible = Visible::partners_of(config, [asker]);
    let Some((city, topic)) = directory::find_city_and_topic(config, asked, topic, Some(&visible)) else {
        let typed: Vec<&str> = std::iter::once(asked).chain(topic).collect();
        return texts::answer(lang, &Answer::WhoNotAPartner { asked: &typed.join(" ") });
    };
    let at = chrono::DateTime::from_timestamp_millis(now).unwrap_or_default();
    let query = directory::Query { city: Some(city.id.clone()), partnership: None, topic: topic.clone() };
    let found = directory::build(config, at, &query, Some(&visible)).ok().and_then(|d| d.cities.into_iter().next());
    let Some(mut entry) = found else {
        let topic = directory::topic_key(topic.as_deref().unwrap_or_default());
        return texts::answer(lang, &Answer::WhoNoTopic { city: &city.name, topic: &topic, id: &city.id });
    };
    entry.partnerships.sort_by_key(|p| p.id != partnership.id);
    let contacts = entry
        .contacts
        .iter()
        .map(|c| texts::who_contact(lang, &c.name, &c.role, &c.languages.join(", "), &c.topics.join(", ")));
    let channels = entry.partnerships.iter().map(|p| texts::who_channel(lang, &p.id, p.channel.as_str()));
    let lines: Vec<String> = contacts.chain(channels).collect();
    let local = c2c_followup::hours::local_text(at, city.timezone);
    texts::answer(lang, &Answer::Who { city: &city.name, local: &local, working_now: entry.working_now, lines: &lines })
}
