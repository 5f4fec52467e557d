//! Follow-up on a clock the tests set: reply windows reminded once at the right local time
//! (London, Tokyo, Jakarta; a Friday evening, a holiday), the second window, replies, `/close`
//! and `/snooze`, deliverables at 7d / 1d / overdue, `reply_from` any vs each, and restarts
//! across a due time. The committer and the follow-up loop run for real on a memory store;
//! after each move of the clock a test waits until the loop has acted on everything due
//! (`FollowUp::caught_up`), then reads what went to the scheduler.

use std::path::Path;
use std::sync::Arc;

use c2c_config::Config;
use c2c_core::memory::MemoryStore;
use c2c_core::{
    Accepted, Channel, Envelope, Inbox, MessageKind, Millis, NativeKey, Origin, ReminderReason, Shutdown, Store,
};
use c2c_language::Tagger;
use chrono::TimeZone;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::followup::FollowUp;
use crate::live::Live;
use crate::metrics::Metrics;
use crate::outbox::Queued;
use crate::router::Router;
use crate::router::committer::Committer;

const CONFIG: &str = r#"
[bridge]
name = "test bridge"
data_dir = "data"
listen = "127.0.0.1:1"
instance = "brlc"
working_hours = "09:00-17:00"
working_days = ["mon", "tue", "wed", "thu", "fri"]

[federation]
key_file = "keys/brlc.key"

[[peers]]
id = "uk-lga"
url = "https://uk-lga.example/"
public_keys = ["whpk_3DRZMIfkEw1r6oeM6tQHkW+o992AvqJ+1BiM8y+gDUk="]

[connectors.webhook]

[[cities]]
id = "manchester"
name = "Manchester"
country = "GB"
peer = "uk-lga"

[[cities]]
id = "leeds"
name = "Leeds"
country = "GB"
timezone = "Europe/London"
languages = ["en"]
webhook = { url = "http://127.0.0.1:2/leeds", secret_env = "X_LEEDS" }
  [[cities.contacts]]
  id = "leeds-jo"
  name = "Jo Smith"
  role = "International Relations"

[[cities]]
id = "tokyo"
name = "Tokyo"
country = "JP"
timezone = "Asia/Tokyo"
languages = ["ja", "en"]
webhook = { url = "http://127.0.0.1:2/tokyo", secret_env = "X_TOKYO" }
  [[cities.contacts]]
  id = "tokyo-sato"
  name = "Sato Hana"
  role = "International Exchange"

[[cities]]
id = "jakarta"
name = "Jakarta"
country = "ID"
timezone = "Asia/Jakarta"
languages = ["id", "en"]
holidays = ["2027-01-08"]
webhook = { url = "http://127.0.0.1:2/jakarta", secret_env = "X_JKT" }
  [[cities.contacts]]
  id = "jakarta-budi"
  name = "Budi Santoso"
  role = "Cooperation Bureau"

[[partnerships]]
id = "lt"
kind = "city-city"
members = ["leeds", "tokyo"]
objective = "o"
language = "en"
reply_within = "2d"
channels = { leeds = "webhook", tokyo = "webhook" }

  [[partnerships.deliverables]]
  id = "draft"
  title = "Library exchange draft"
  owner = "leeds"
  due = "2027-01-20"
  remind = ["7d", "1d"]
  overdue_reminders = 2

  [[partnerships.deliverables]]
  id = "visit"
  kind = "meeting"
  title = "Delegation visit"
  owner = "tokyo"
  due = "2027-02-10T10:00:00+09:00"
  remind = ["1d"]

[[partnerships]]
id = "dig"
kind = "city-city"
members = ["leeds", "tokyo"]
objective = "o"
language = "en"
reply_within = "30d"
channels = { leeds = "webhook", tokyo = "webhook" }
digest = "weekly"

[[partnerships]]
id = "jt"
kind = "city-city"
members = ["jakarta", "tokyo"]
objective = "o"
language = "en"
reply_within = "1d"
channels = { jakarta = "webhook", tokyo = "webhook" }

[[partnerships]]
id = "tm"
kind = "city-city"
members = ["tokyo", "manchester"]
objective = "o"
language = "en"
reply_within = "1d"
channels = { tokyo = "webhook" }

  [[partnerships.deliverables]]
  id = "report"
  title = "Academy report"
  owner = "manchester"
  due = "2027-01-20"
  remind = ["7d", "1d"]
  overdue_reminders = 2

[[partnerships]]
id = "trio-any"
kind = "multi-city"
members = ["leeds", "tokyo", "jakarta"]
objective = "o"
language = "en"
reply_within = "1d"
channels = { leeds = "webhook", tokyo = "webhook", jakarta = "webhook" }

[[partnerships]]
id = "trio-each"
kind = "multi-city"
members = ["leeds", "tokyo", "jakarta"]
objective = "o"
language = "en"
reply_within = "1d"
reply_from = "each"
channels = { leeds = "webhook", tokyo = "webhook", jakarta = "webhook" }
"#;

/// A UTC instant in January or February 2027 (2027-01-04 is a Monday).
fn utc(month: u32, day: u32, hour: u32, min: u32) -> Millis {
    chrono::Utc.with_ymd_and_hms(2027, month, day, hour, min, 0).unwrap().timestamp_millis()
}

/// What the bridge said, as the scheduler got it: kind, reason, to which city, text.
#[derive(Debug, Clone)]
struct Said {
    kind: MessageKind,
    reason: Option<ReminderReason>,
    to: String,
    text: String,
}

struct Running {
    router: Router,
    outbox: mpsc::UnboundedReceiver<Vec<Queued>>,
    caught_up: watch::Receiver<Millis>,
    stop: Shutdown,
    tasks: Vec<JoinHandle<()>>,
}

struct H {
    store: MemoryStore,
    clock: Clock,
    run: Running,
    /// Timers the loop holds in memory at most.
    held: usize,
    /// Digests said so far (kept apart: every test's world has a weekly digest).
    digests: Vec<Said>,
}

fn start(store: &MemoryStore, clock: &Clock, held: usize) -> Running {
    let config = Live::new(Config::parse(CONFIG, Path::new("test.toml")).unwrap());
    let tagger = Tagger::new(config.get().languages_mentioned());
    let metrics = Arc::new(Metrics::new());
    let store_dyn: Arc<dyn Store> = Arc::new(store.clone());
    let (bounces, _) = mpsc::unbounded_channel();
    let (router, rx) = Router::new(config.clone(), Live::new(tagger), metrics.clone(), store_dyn.clone(), bounces);
    let (tx, outbox) = mpsc::unbounded_channel();
    let mut committer = Committer::new(
        config.clone(),
        store_dyn.clone(),
        metrics.clone(),
        tx,
        c2c_core::InstanceKey::new([7; 32]),
        clock.clone(),
    )
    .unwrap();
    let (changes_tx, changes_rx) = mpsc::unbounded_channel();
    committer.followup = Some(changes_tx);
    let followup = FollowUp {
        store: store_dyn,
        router: router.clone(),
        clock: clock.clone(),
        metrics,
        caught_up: watch::Sender::new(Millis::MIN),
    };
    let caught_up = followup.caught_up.subscribe();
    let timers = followup.resume_holding(held).unwrap();
    let stop = Shutdown::new();
    let stop_committer = Shutdown::new();
    let tasks = vec![
        tokio::spawn(followup.run(timers, changes_rx, stop.clone())),
        tokio::spawn(committer.run(rx, stop_committer.clone())),
    ];
    // The committer stops after the loop (see `stop`).
    let stop_both = stop.clone();
    tokio::spawn(async move {
        stop_both.cancelled().await;
        stop_committer.cancel();
    });
    Running { router, outbox, caught_up, stop, tasks }
}

impl H {
    async fn new(at: Millis) -> H {
        H::holding(at, crate::followup::HELD).await
    }

    /// A world whose follow-up loop holds at most `held` timers in memory.
    async fn holding(at: Millis, held: usize) -> H {
        let store = MemoryStore::new("test");
        let clock = Clock::manual(at);
        let run = start(&store, &clock, held);
        let mut h = H { store, clock, run, held, digests: Vec::new() };
        h.at(at).await;
        h
    }

    /// Stop the committer and the loop (a crash loses nothing stored), and start them again.
    async fn restart(&mut self) {
        self.run.stop.cancel();
        for t in self.run.tasks.drain(..) {
            t.await.unwrap();
        }
        self.run = start(&self.store, &self.clock, self.held);
    }

    /// Set the clock to `t`, wait until every timer due by then was acted on, and return what
    /// the bridge said meanwhile (posts relayed are left out).
    async fn at(&mut self, t: Millis) -> Vec<Said> {
        self.clock.set(t);
        tokio::time::timeout(std::time::Duration::from_secs(20), self.run.caught_up.wait_for(|c| *c >= t))
            .await
            .expect("the follow-up loop did not catch up")
            .unwrap();
        let mut said = Vec::new();
        while let Ok(batch) = self.run.outbox.try_recv() {
            for q in batch {
                let m = &q.context.as_ref().expect("committed with its message").message;
                if m.kind == MessageKind::Post {
                    continue;
                }
                let to = if m.kind == MessageKind::Digest { &mut self.digests } else { &mut said };
                to.push(Said {
                    kind: m.kind,
                    reason: m.reminder.as_ref().map(|r| r.reason),
                    to: q.entry.recipient.city.clone(),
                    text: m.text.clone(),
                });
            }
        }
        said
    }

    async fn post(
        &mut self,
        city: &str,
        contact: &str,
        partnership: &str,
        conversation: Option<&Accepted>,
        text: &str,
    ) -> Accepted {
        let origin = Origin { channel: Channel::Webhook, city: Some(city.into()), address: format!("/hooks/{city}") };
        let id = ulid::Ulid::new().to_string();
        let mut e = Envelope::new(origin, contact, NativeKey::webhook_delivery(city, &id), text);
        e.partnership = Some(partnership.into());
        e.conversation = conversation.map(|a| a.conversation.to_string());
        self.run.router.submit(e).await.unwrap()
    }
}

fn reminders(said: &[Said]) -> Vec<(ReminderReason, &str)> {
    said.iter().filter(|s| s.kind == MessageKind::Reminder).map(|s| (s.reason.unwrap(), s.to.as_str())).collect()
}

#[tokio::test]
async fn a_london_reply_window_is_reminded_in_london_working_hours_then_the_waiting_side_is_told() {
    // Monday 10:00 in Tokyo: Tokyo writes; Leeds owes a reply within 2 days.
    let mut h = H::new(utc(1, 4, 1, 0)).await;
    h.post("tokyo", "tokyo-sato", "lt", None, "Could you send the programme?").await;
    // The window ends Wednesday 01:00 in London: at night, so the reminder waits for 09:00.
    assert!(h.at(utc(1, 6, 8, 59)).await.is_empty());
    let said = h.at(utc(1, 6, 9, 0)).await;
    assert_eq!(reminders(&said), [(ReminderReason::ReplyOverdue, "leeds")]);
    assert!(said[0].text.contains("Tokyo"), "names who waits: {}", said[0].text);
    assert!(said[0].text.contains("Mon 4 Jan 2027 01:00 (Europe/London)"), "since when, in London: {}", said[0].text);
    assert!(h.at(utc(1, 7, 12, 0)).await.is_empty(), "reminded once per window");
    // The second window ends Friday 01:00 London: Leeds is reminded again at 09:00 London...
    let said = h.at(utc(1, 8, 9, 0)).await;
    assert_eq!(reminders(&said), [(ReminderReason::ReplyOverdue, "leeds")]);
    // ...and Tokyo is told in Tokyo's working hours: it is 18:00 there, so Monday 09:00 Tokyo.
    assert!(h.at(utc(1, 10, 23, 59)).await.is_empty());
    let said = h.at(utc(1, 11, 0, 0)).await;
    assert_eq!(reminders(&said), [(ReminderReason::WaitingOverdue, "tokyo")]);
    assert!(said[0].text.contains("Leeds"), "{}", said[0].text);
    // Then the bridge says no more until someone writes (up to the deliverables' first
    // reminder on the 14th).
    assert!(h.at(utc(1, 13, 17, 0)).await.is_empty());
}

#[tokio::test]
async fn a_member_hosted_elsewhere_is_reminded_by_its_home_instance_and_the_city_waiting_here_is_told() {
    // Monday 10:00 in Tokyo: Tokyo writes to Manchester, which uk-lga hosts.
    let mut h = H::new(utc(1, 4, 1, 0)).await;
    h.post("tokyo", "tokyo-sato", "tm", None, "Could you send the academy plan?").await;
    // Manchester's two windows (Tuesday and Wednesday 09:00 UTC, as this instance knows its
    // hours) pass with no reminder from here: its home instance sends them...
    assert!(h.at(utc(1, 5, 9, 0)).await.is_empty());
    assert!(h.at(utc(1, 6, 9, 0)).await.is_empty());
    assert!(h.at(utc(1, 6, 23, 59)).await.is_empty());
    // ...and once the last has ended (Wednesday 18:00 in Tokyo), Tokyo, waiting here, is told
    // at 09:00 Tokyo time.
    let said = h.at(utc(1, 7, 0, 0)).await;
    assert_eq!(reminders(&said), [(ReminderReason::WaitingOverdue, "tokyo")]);
    assert!(said[0].text.contains("Manchester"), "{}", said[0].text);
}

#[tokio::test]
async fn a_window_ending_on_a_friday_evening_in_tokyo_is_reminded_on_monday_morning_there() {
    let mut h = H::new(utc(1, 6, 10, 0)).await;
    // Deliverable reminders of `lt` are not what this test is about: none falls due before the 14th.
    h.post("leeds", "leeds-jo", "lt", None, "Agenda attached.").await;
    // Due Friday 10:00 UTC = 19:00 in Tokyo: after hours, then the weekend.
    assert!(h.at(utc(1, 8, 10, 0)).await.is_empty());
    assert!(h.at(utc(1, 10, 23, 59)).await.is_empty(), "not on Sunday (Monday 08:59 in Tokyo)");
    let said = h.at(utc(1, 11, 0, 0)).await;
    assert_eq!(reminders(&said), [(ReminderReason::ReplyOverdue, "tokyo")]);
}

#[tokio::test]
async fn a_window_ending_on_a_jakarta_holiday_is_reminded_on_its_next_working_day() {
    // Thursday 10:00 in Jakarta; the window of a day ends on Friday the 8th, a holiday there.
    let mut h = H::new(utc(1, 7, 3, 0)).await;
    h.post("tokyo", "tokyo-sato", "jt", None, "Minutes of the call").await;
    assert!(h.at(utc(1, 8, 3, 0)).await.is_empty(), "not on the holiday");
    assert!(h.at(utc(1, 11, 1, 59)).await.is_empty(), "not before Monday 09:00 in Jakarta");
    let said = h.at(utc(1, 11, 2, 0)).await;
    assert_eq!(reminders(&said), [(ReminderReason::ReplyOverdue, "jakarta")]);
}

#[tokio::test]
async fn a_reply_settles_the_window_and_nothing_is_sent_for_it() {
    let mut h = H::new(utc(1, 4, 1, 0)).await;
    let a = h.post("tokyo", "tokyo-sato", "lt", None, "Question").await;
    h.post("leeds", "leeds-jo", "lt", Some(&a), "Answer").await;
    // Leeds answered: Leeds is never reminded of it. Tokyo now owes Leeds a reply, due
    // Wednesday 10:00 in Tokyo.
    let said = h.at(utc(1, 6, 2, 0)).await;
    assert_eq!(reminders(&said), [(ReminderReason::ReplyOverdue, "tokyo")]);
    let said = h.at(utc(1, 13, 17, 0)).await;
    assert!(!reminders(&said).contains(&(ReminderReason::ReplyOverdue, "leeds")), "{said:?}");
}

#[tokio::test]
async fn close_ends_every_window_of_the_conversation_and_is_answered_not_relayed() {
    let mut h = H::new(utc(1, 4, 1, 0)).await;
    let a = h.post("tokyo", "tokyo-sato", "lt", None, "FYI: the report is online").await;
    let origin = Origin { channel: Channel::Webhook, city: Some("leeds".into()), address: "/hooks/leeds".into() };
    let mut e = Envelope::new(origin, "leeds-jo", NativeKey::webhook_delivery("leeds", "close-1"), "/close");
    e.conversation = Some(a.conversation.to_string());
    h.run.router.submit(e).await.unwrap();
    let said = h.at(utc(1, 4, 1, 1)).await;
    assert_eq!(said.len(), 1, "only the answer, nothing relayed to Tokyo: {said:?}");
    assert_eq!((said[0].kind, said[0].to.as_str()), (MessageKind::Notice, "leeds"));
    let conv = h.store.conversation(a.conversation).unwrap().unwrap();
    assert!(conv.closed_at.is_some() && conv.owing.is_empty());
    assert!(h.at(utc(1, 13, 17, 0)).await.is_empty(), "no reminder after /close");
}

#[tokio::test]
async fn a_snoozed_window_is_reminded_when_the_snooze_ends_in_working_hours() {
    let mut h = H::new(utc(1, 4, 1, 0)).await;
    let a = h.post("tokyo", "tokyo-sato", "lt", None, "Question").await;
    // Leeds snoozes for 5 days: until Saturday 01:00, so Monday 09:00 in London.
    h.post("leeds", "leeds-jo", "lt", Some(&a), "/snooze 5d").await;
    let said = h.at(utc(1, 4, 1, 1)).await;
    assert_eq!(said.iter().map(|s| s.kind).collect::<Vec<_>>(), [MessageKind::Notice]);
    assert!(said[0].text.contains("Sat 9 Jan 2027 01:00 (Europe/London)"), "{}", said[0].text);
    // One jump over the whole snooze (as a daemon stopped meanwhile would see it): the
    // reminder still waits for working hours.
    let said = h.at(utc(1, 11, 8, 59)).await;
    assert!(said.is_empty(), "nothing while snoozed: {said:?}");
    let said = h.at(utc(1, 11, 9, 0)).await;
    assert_eq!(reminders(&said), [(ReminderReason::ReplyOverdue, "leeds")]);
}

#[tokio::test]
async fn deliverables_are_reminded_a_week_and_a_day_before_then_when_overdue_until_done() {
    let mut h = H::new(utc(1, 4, 9, 0)).await;
    // Due at the end of 20 January in Leeds (21 January 00:00 UTC).
    assert!(h.at(utc(1, 14, 8, 59)).await.is_empty());
    let said = h.at(utc(1, 14, 9, 0)).await;
    assert_eq!(reminders(&said), [(ReminderReason::DeliverableDue, "leeds")]);
    assert!(said[0].text.contains("/done draft"), "{}", said[0].text);
    assert!(said[0].text.contains("Wed 20 Jan 2027"), "a date as written, not the midnight after: {}", said[0].text);
    let said = h.at(utc(1, 20, 9, 0)).await;
    assert_eq!(reminders(&said), [(ReminderReason::DeliverableDue, "leeds")]);
    let said = h.at(utc(1, 21, 9, 0)).await;
    assert_eq!(reminders(&said), [(ReminderReason::DeliverableOverdue, "leeds")]);
    // Tokyo cannot mark Leeds's deliverable done; Leeds can.
    h.post("tokyo", "tokyo-sato", "lt", None, "/done draft").await;
    assert!(h.store.deliverable("lt", "draft").unwrap().unwrap().done_at.is_none());
    h.post("leeds", "leeds-jo", "lt", None, "/done draft").await;
    assert!(h.store.deliverable("lt", "draft").unwrap().unwrap().done_at.is_some());
    let said = h.at(utc(1, 29, 9, 0)).await;
    assert!(reminders(&said).is_empty(), "no overdue reminder once done: {said:?}");
    // The meeting reminds every member a day before, each in its own working hours: 10:00 in
    // Tokyo, then 09:00 in Leeds.
    let said = h.at(utc(2, 9, 1, 0)).await;
    assert_eq!(reminders(&said), [(ReminderReason::MeetingDue, "tokyo")]);
    let said = h.at(utc(2, 9, 9, 0)).await;
    assert_eq!(reminders(&said), [(ReminderReason::MeetingDue, "leeds")]);
}

#[tokio::test]
async fn with_any_one_answer_settles_the_third_member_and_with_each_it_does_not() {
    for (partnership, third_reminded_at) in [("trio-each", utc(1, 6, 2, 0)), ("trio-any", utc(1, 6, 3, 0))] {
        // Tuesday 09:00 in Jakarta: Leeds writes; an hour later Tokyo answers.
        let mut h = H::new(utc(1, 5, 2, 0)).await;
        let a = h.post("leeds", "leeds-jo", partnership, None, "Proposal").await;
        h.at(utc(1, 5, 3, 0)).await;
        h.post("tokyo", "tokyo-sato", partnership, Some(&a), "Agreed").await;
        let said = h.at(utc(1, 6, 2, 0)).await;
        let jakarta_now = reminders(&said).iter().any(|(_, to)| *to == "jakarta");
        assert_eq!(jakarta_now, third_reminded_at == utc(1, 6, 2, 0), "{partnership}: {said:?}");
        if !jakarta_now {
            // With `any`, Tokyo's answer settled Jakarta's debt; it owes a reply to Tokyo's post.
            let said = h.at(third_reminded_at).await;
            assert!(reminders(&said).contains(&(ReminderReason::ReplyOverdue, "jakarta")), "{partnership}: {said:?}");
        }
    }
}

#[tokio::test]
async fn a_restart_across_a_due_time_sends_the_reminder_once() {
    let mut h = H::new(utc(1, 4, 1, 0)).await;
    h.post("tokyo", "tokyo-sato", "lt", None, "Question").await;
    h.restart().await;
    // Stopped across the due time (Wednesday 09:00 London): sent once after the start...
    h.clock.set(utc(1, 6, 12, 0));
    h.restart().await;
    let said = h.at(utc(1, 6, 12, 0)).await;
    assert_eq!(reminders(&said), [(ReminderReason::ReplyOverdue, "leeds")]);
    // ...and not again after another.
    h.restart().await;
    assert!(h.at(utc(1, 7, 12, 0)).await.is_empty());
}

#[tokio::test]
async fn a_timer_handed_over_several_times_at_once_sends_one_reminder() {
    let mut h = H::new(utc(1, 4, 1, 0)).await;
    h.post("tokyo", "tokyo-sato", "lt", None, "Question").await;
    let mut keys = Vec::new();
    h.store.each_timer(&mut |t| keys.push((t.key, t.due))).unwrap();
    let (key, due) = keys.into_iter().find(|(k, _)| k.as_str().starts_with("reply/")).unwrap();
    // Due now: the loop hands it over, and so do two overlapping callers.
    h.clock.set(due);
    let (a, b) = tokio::join!(h.run.router.timer_due(key.clone()), h.run.router.timer_due(key.clone()));
    assert!(a && b);
    let said = h.at(due).await;
    assert_eq!(reminders(&said), [(ReminderReason::ReplyOverdue, "leeds")]);
    assert!(h.store.timer(&key).unwrap().is_none(), "done with its reminder");
}

#[tokio::test]
async fn a_weekly_digest_reaches_each_member_on_monday_morning_in_its_zone_once_per_week_across_restarts() {
    // Thursday 7 January: Tokyo writes in `dig`; Leeds owes it a reply (for 30 days).
    let mut h = H::new(utc(1, 7, 1, 0)).await;
    h.post("tokyo", "tokyo-sato", "dig", None, "Exchange programme").await;
    h.at(utc(1, 10, 23, 59)).await;
    assert!(h.digests.is_empty());
    // Monday 09:00 in Tokyo, then 09:00 in Leeds.
    h.at(utc(1, 11, 0, 0)).await;
    assert_eq!(h.digests.iter().map(|d| d.to.as_str()).collect::<Vec<_>>(), ["tokyo"]);
    assert!(
        h.digests[0].text.contains("“Exchange programme”: Tokyo has awaited a reply from Leeds since"),
        "{}",
        h.digests[0].text
    );
    h.at(utc(1, 11, 9, 0)).await;
    assert_eq!(h.digests.iter().map(|d| d.to.as_str()).collect::<Vec<_>>(), ["tokyo", "leeds"]);
    // Stopped from Sunday to Monday afternoon, started again: this week's digests once each...
    h.at(utc(1, 17, 12, 0)).await;
    h.restart().await;
    h.clock.set(utc(1, 18, 15, 0));
    h.restart().await;
    h.at(utc(1, 18, 15, 0)).await;
    assert_eq!(h.digests.len(), 4, "{:?}", h.digests);
    // ...and not again after another start in the same week.
    h.restart().await;
    h.at(utc(1, 24, 12, 0)).await;
    assert_eq!(h.digests.len(), 4, "{:?}", h.digests);
}

/// The loop holds only the earliest timers in memory and reads the store again when those are
/// done (`followup_due`): holding two at a time, a busy world gets the same reminders and
/// digests at the same times as holding all of them, across a restart.
#[tokio::test]
async fn holding_two_timers_in_memory_sends_what_holding_all_sends() {
    type Log = Vec<(Millis, ReminderReason, String)>;
    async fn world(held: usize) -> (Log, Vec<(String, String)>) {
        let mut h = H::holding(utc(1, 4, 1, 0), held).await;
        let a = h.post("tokyo", "tokyo-sato", "lt", None, "Could you send the programme?").await;
        h.post("tokyo", "tokyo-sato", "jt", None, "Minutes of the call").await;
        h.post("tokyo", "tokyo-sato", "tm", None, "Could you send the academy plan?").await;
        let mut log = Log::new();
        let mut t = utc(1, 4, 2, 0);
        h.at(t).await;
        h.post("leeds", "leeds-jo", "lt", None, "Agenda attached.").await;
        h.post("leeds", "leeds-jo", "lt", Some(&a), "Here it is.").await;
        // Three weeks, hour by hour, with a restart on the way.
        while t < utc(1, 25, 0, 0) {
            t += 3_600_000;
            if t == utc(1, 8, 0, 0) {
                h.restart().await;
            }
            for s in h.at(t).await {
                if let Some(r) = s.reason {
                    log.push((t, r, s.to));
                }
            }
        }
        // Timers due at the same time are handed over together: their order is not the test's.
        log.sort_by(|a, b| (a.0, format!("{:?}", a.1), &a.2).cmp(&(b.0, format!("{:?}", b.1), &b.2)));
        let mut digests: Vec<_> = h.digests.iter().map(|d| (d.to.clone(), d.text.clone())).collect();
        digests.sort();
        (log, digests)
    }
    let (few, few_digests) = world(2).await;
    let (all, all_digests) = world(crate::followup::HELD).await;
    assert!(few.len() >= 6, "a busy world: {all:?}");
    assert!(!all_digests.is_empty());
    assert_eq!(few, all);
    assert_eq!(few_digests, all_digests);
}
