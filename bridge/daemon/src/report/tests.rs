//! The report on a scripted month of traffic whose figures are worked out by hand below: the
//! committer and the follow-up loop run for real on a memory store, on a clock the test sets
//! before each post (so reminders and deliverable conversations are in the store too, as in
//! production, and must not count). The text, JSON and HTML are compared with
//! `tests/golden/report.{txt,json,html}`; `UPDATE_EXPECT=1` rewrites them (review the diff).
//!
//! The period is 2027-01-04 (Monday, 2027-W01) to 2027-02-01, four ISO weeks; the report is
//! made at 2027-02-01 09:00, so states are judged at 2027-02-01 00:00. `heritage` has three
//! members, `reply_within = "2d"`, working hours all day (a reply is overdue two days after the
//! post it answers), `reply_from = "any"` (the default for three), agreed language English.
//!
//! Conversations (all times UTC; L = Leeds, H = Hangzhou, G = Gifu):
//! - T0 "Old thread": L 2026-12-30 10:00, H 12-31 10:00 (before the period), L `/close`
//!   01-05 09:00: a thread of the period (closed in it), no message or first reply counted.
//! - T1 "Library exchange": L 01-04 09:00, H 01-04 15:00, L 01-05 12:00, H 01-06 12:00,
//!   L `/close` 01-08 10:00. Closed. First replies: H 6h; G none (unanswered).
//! - T2 "Transport data": H 01-11 02:00, L 01-11 14:00, G 01-13 02:00, H 01-13 10:00 (in
//!   Chinese), L 01-13 16:00, G 01-15 02:00. Then H and L owe since 01-15 02:00, due 01-17
//!   02:00: overdue. First replies: L 12h, G 48h.
//! - T3 "Heritage festival": G 01-19 01:00, L 01-19 09:00, H 01-20 07:00, L `/done survey`
//!   01-22 10:00, G 01-26 01:00 (in Japanese), L 01-26 09:00, H 01-27 07:00, G 01-31 10:00.
//!   Then L and H owe since 01-31 10:00, due 02-02 10:00: open, not overdue. First replies:
//!   L 8h, H 30h.
//! - T4 "Budget question": H 01-27 03:00, no answer: L and G owe since then, due 01-29 03:00:
//!   overdue. First replies: L and G unanswered.
//! - G `/done brochure` 01-14 10:00 outside any thread (a conversation with no post: not a
//!   thread).
//! - T5: L 2027-02-01 08:00, after the period: not counted.
//! - `hangzhou-leeds`: L 01-12 10:00, another partnership: not counted.
//!
//! Messages: W01 L 2 H 2 G 0; W02 L 2 H 2 G 2; W03 L 1 H 1 G 1; W04 L 1 H 2 G 2: L 6, H 7,
//! G 5, 18 in all (11 bars: Gifu has none in W01). Languages: en 16, ja 1, zh 1; off-language 2
//! (H 1, G 1).
//!
//! First replies: L [8h, 12h]: median 10h (36000 s), p90 8h + 0.9 × 4h = 11h 36m (41760 s), 2
//! of 3 answered; H [6h, 30h]: median 18h (64800 s), p90 6h + 0.9 × 24h = 27h 36m (99360 s), 2
//! of 2; G [48h]: 172800 s both, 1 of 3. All: [6, 8, 12, 30, 48] h: median 12h (43200 s), p90
//! 30h + 0.6 × 18h = 40h 48m (146880 s).
//!
//! Threads: T0..T4: 3 open (T2, T3, T4), 2 overdue (T2, T4), 2 closed (T0, T1). Overdue per
//! member: L 2 (T2, T4), H 1 (T2), G 1 (T4).
//!
//! Deliverables (at 02-01 00:00): brochure (G, due end of 01-15 in Tokyo = 01-15 15:00) done
//! 01-14 10:00: on time; survey (L, due 01-20 12:00) done 01-22 10:00: late; budget (H, due
//! 01-25 00:00) not done: overdue; visit (meeting, H, 03-10): open. Due in the period and
//! judged: 3, on time 1: 0.3333.
//!
//! One delivery of H's Chinese post (to Gifu) fails for good: failed_deliveries 1.
//!
//! KPIs: median first reply ≤ 1d: 12h, met; Gifu's median ≤ 1d: 2d, missed; Leeds's p90 ≤
//! 12h: 11h 36m, met; deliverables on time ≥ 0.9: 0.3333, missed; Hangzhou's messages ≥ 5:
//! 7, met; overdue threads ≤ 0: 2, missed; off-language share ≤ 0.1: 2/18 = 0.1111, missed;
//! Leeds's off-language share ≤ 0: 0, met; Gifu's p90 ≤ 3d: measured on one reply, 2d, met.
//! 5 of 9 met.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use c2c_config::Config;
use c2c_core::memory::MemoryStore;
use c2c_core::{Accepted, Channel, DeliveryStatus, Envelope, Inbox, Millis, NativeKey, Origin, Shutdown, Store};
use c2c_language::Tagger;
use chrono::TimeZone;
use serde_json::json;
use tokio::sync::{mpsc, watch};

use crate::clock::Clock;
use crate::followup::FollowUp;
use crate::live::Live;
use crate::metrics::Metrics;
use crate::outbox::Queued;
use crate::report::{Format, compute};
use crate::router::Router;
use crate::router::committer::Committer;

const CONFIG: &str = r#"
[bridge]
name = "test bridge"
data_dir = "data"
listen = "127.0.0.1:1"
working_hours = "00:00-24:00"
working_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

[connectors.webhook]

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
id = "hangzhou"
name = "Hangzhou"
country = "CN"
timezone = "Asia/Shanghai"
languages = ["zh", "en"]
webhook = { url = "http://127.0.0.1:2/hangzhou", secret_env = "X_HZ" }
  [[cities.contacts]]
  id = "hz-li"
  name = "Li Wei"
  role = "Foreign Affairs Office"

[[cities]]
id = "gifu"
name = "Gifu"
country = "JP"
timezone = "Asia/Tokyo"
languages = ["ja", "en"]
webhook = { url = "http://127.0.0.1:2/gifu", secret_env = "X_GIFU" }
  [[cities.contacts]]
  id = "gifu-sato"
  name = "Sato Hana"
  role = "International Exchange Division"

[[partnerships]]
id = "heritage"
kind = "multi-city"
members = ["leeds", "hangzhou", "gifu"]
objective = "Cultural heritage and tourism: a shared visitor programme"
language = "en"
reply_within = "2d"
channels = { leeds = "webhook", hangzhou = "webhook", gifu = "webhook" }

  [[partnerships.deliverables]]
  id = "brochure"
  title = "Joint visitor brochure"
  owner = "gifu"
  due = "2027-01-15"

  [[partnerships.deliverables]]
  id = "survey"
  title = "Visitor survey results"
  owner = "leeds"
  due = "2027-01-20T12:00:00Z"

  [[partnerships.deliverables]]
  id = "budget"
  title = "Festival budget"
  owner = "hangzhou"
  due = "2027-01-25T00:00:00Z"

  [[partnerships.deliverables]]
  id = "visit"
  kind = "meeting"
  title = "Delegation visit to Hangzhou"
  owner = "hangzhou"
  due = "2027-03-10T10:00:00+08:00"

  [[partnerships.kpis]]
  measure = "median_first_reply"
  target = "1d"

  [[partnerships.kpis]]
  measure = "median_first_reply"
  target = "1d"
  member = "gifu"

  [[partnerships.kpis]]
  measure = "p90_first_reply"
  target = "12h"
  member = "leeds"

  [[partnerships.kpis]]
  measure = "deliverables_on_time"
  target = 0.9

  [[partnerships.kpis]]
  measure = "messages"
  target = 5
  member = "hangzhou"

  [[partnerships.kpis]]
  measure = "overdue_threads"
  target = 0

  [[partnerships.kpis]]
  measure = "off_language"
  target = 0.1

  [[partnerships.kpis]]
  measure = "off_language"
  target = 0
  member = "leeds"

  [[partnerships.kpis]]
  measure = "p90_first_reply"
  target = "3d"
  member = "gifu"

[[partnerships]]
id = "hangzhou-leeds"
kind = "city-city"
members = ["hangzhou", "leeds"]
objective = "Smart transport"
language = "en"
reply_within = "5d"
channels = { hangzhou = "webhook", leeds = "webhook" }
"#;

fn utc(year: i32, month: u32, day: u32, hour: u32, min: u32) -> Millis {
    chrono::Utc.with_ymd_and_hms(year, month, day, hour, min, 0).unwrap().timestamp_millis()
}

fn jan(day: u32, hour: u32, min: u32) -> Millis {
    utc(2027, 1, day, hour, min)
}

/// The router, committer and follow-up loop on a memory store and a manual clock.
struct World {
    store: MemoryStore,
    clock: Clock,
    router: Router,
    config: Config,
    _outbox: mpsc::UnboundedReceiver<Vec<Queued>>,
    caught_up: watch::Receiver<Millis>,
    _stop: Shutdown,
}

impl World {
    fn start(at: Millis) -> World {
        let config = Config::parse(CONFIG, Path::new("test.toml")).unwrap();
        let live = Live::new(config.clone());
        let tagger = Tagger::new(config.languages_mentioned());
        let metrics = Arc::new(Metrics::new());
        let store = MemoryStore::new("test");
        let clock = Clock::manual(at);
        let store_dyn: Arc<dyn Store> = Arc::new(store.clone());
        let (bounces, _) = mpsc::unbounded_channel();
        let (router, rx) = Router::new(live.clone(), Live::new(tagger), metrics.clone(), store_dyn.clone(), bounces);
        let (tx, outbox) = mpsc::unbounded_channel();
        let mut committer = Committer::new(
            live,
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
        let timers = followup.resume().unwrap();
        let stop = Shutdown::new();
        tokio::spawn(followup.run(timers, changes_rx, stop.clone()));
        tokio::spawn(committer.run(rx, stop.clone()));
        World { store, clock, router, config, _outbox: outbox, caught_up, _stop: stop }
    }

    /// Move the clock to `t` and wait until the follow-up loop has acted on everything due.
    async fn at(&mut self, t: Millis) {
        self.clock.set(t);
        tokio::time::timeout(std::time::Duration::from_secs(20), self.caught_up.wait_for(|c| *c >= t))
            .await
            .expect("the follow-up loop did not catch up")
            .unwrap();
    }

    /// At `t`, `contact` of `city` writes `text` in `partnership`, in `thread` or a new one.
    async fn post(
        &mut self,
        t: Millis,
        (city, contact): (&str, &str),
        partnership: &str,
        thread: Option<&Accepted>,
        subject: &str,
        text: &str,
    ) -> Accepted {
        self.at(t).await;
        let origin = Origin { channel: Channel::Webhook, city: Some(city.into()), address: format!("/hooks/{city}") };
        let mut e =
            Envelope::new(origin, contact, NativeKey::webhook_delivery(city, &ulid::Ulid::new().to_string()), text);
        e.partnership = Some(partnership.into());
        e.conversation = thread.map(|a| a.conversation.to_string());
        e.subject = thread.is_none().then(|| subject.to_string());
        e.received_at = t;
        self.router.submit(e).await.unwrap()
    }
}

const L: (&str, &str) = ("leeds", "leeds-jo");
const H: (&str, &str) = ("hangzhou", "hz-li");
const G: (&str, &str) = ("gifu", "gifu-sato");

/// The scripted traffic of the module's note, in time order; returns the world at 2027-02-01
/// 09:00.
async fn scripted() -> World {
    let p = "heritage";
    let mut w = World::start(utc(2026, 12, 30, 9, 0));
    let t0 = w
        .post(
            utc(2026, 12, 30, 10, 0),
            L,
            p,
            None,
            "Old thread",
            "Shall we continue the museum staff exchange next year?",
        )
        .await;
    w.post(utc(2026, 12, 31, 10, 0), H, p, Some(&t0), "", "Yes, we would be glad to continue the exchange next year.")
        .await;
    let t1 = w
        .post(
            jan(4, 9, 0),
            L,
            p,
            None,
            "Library exchange",
            "Could you send us the list of libraries taking part in the exchange?",
        )
        .await;
    w.post(jan(4, 15, 0), H, p, Some(&t1), "", "Here is the list of the six libraries taking part in the exchange.")
        .await;
    w.post(jan(5, 9, 0), L, p, Some(&t0), "", "/close").await;
    w.post(jan(5, 12, 0), L, p, Some(&t1), "", "Thank you, we will share the list with our librarians this week.")
        .await;
    w.post(jan(6, 12, 0), H, p, Some(&t1), "", "Good. Please tell us when the librarians have read the list.").await;
    w.post(jan(8, 10, 0), L, p, Some(&t1), "", "/close").await;

    let t2 = w
        .post(
            jan(11, 2, 0),
            H,
            p,
            None,
            "Transport data",
            "We are preparing the bus ridership figures for the visitor programme.",
        )
        .await;
    w.post(jan(11, 14, 0), L, p, Some(&t2), "", "Thank you. Could you include the figures for the weekends as well?")
        .await;
    let other = w
        .post(
            jan(12, 10, 0),
            L,
            "hangzhou-leeds",
            None,
            "Bus data",
            "This message belongs to another partnership entirely.",
        )
        .await;
    w.post(
        jan(13, 2, 0),
        G,
        p,
        Some(&t2),
        "",
        "Gifu would also like to see the weekend figures for the festival period.",
    )
    .await;
    let chinese =
        w.post(jan(13, 10, 0), H, p, Some(&t2), "", "谢谢，我们会在下周发送包括周末在内的完整交通数据报告。").await;
    w.post(jan(13, 16, 0), L, p, Some(&t2), "", "Thank you, we look forward to reading the full report next week.")
        .await;
    w.post(jan(14, 10, 0), G, p, None, "", "/done brochure").await;
    w.post(jan(15, 2, 0), G, p, Some(&t2), "", "We will compare the figures with our own tram data when they arrive.")
        .await;

    let t3 = w
        .post(
            jan(19, 1, 0),
            G,
            p,
            None,
            "Heritage festival",
            "We would like to plan the heritage festival together with both of your cities.",
        )
        .await;
    w.post(
        jan(19, 9, 0),
        L,
        p,
        Some(&t3),
        "",
        "Leeds would be delighted to take part in the heritage festival this year.",
    )
    .await;
    w.post(jan(20, 7, 0), H, p, Some(&t3), "", "Hangzhou will join as well and can send a delegation of four people.")
        .await;
    w.post(jan(22, 10, 0), L, p, Some(&t3), "", "/done survey").await;
    w.post(
        jan(26, 1, 0),
        G,
        p,
        Some(&t3),
        "",
        "来月の文化遺産フェスティバルの日程について、ご意見をお聞かせください。",
    )
    .await;
    w.post(jan(26, 9, 0), L, p, Some(&t3), "", "The second weekend of the month suits Leeds best for the festival.")
        .await;
    w.post(
        jan(27, 3, 0),
        H,
        p,
        None,
        "Budget question",
        "Who will pay for the translation of the festival programme into three languages?",
    )
    .await;
    w.post(
        jan(27, 7, 0),
        H,
        p,
        Some(&t3),
        "",
        "The second weekend also suits Hangzhou, and our delegation can travel then.",
    )
    .await;
    w.post(
        jan(31, 10, 0),
        G,
        p,
        Some(&t3),
        "",
        "Then the festival will take place on the second weekend of next month.",
    )
    .await;
    w.post(
        utc(2027, 2, 1, 8, 0),
        L,
        p,
        None,
        "Next quarter",
        "Here are our plans for the next quarter of the programme.",
    )
    .await;
    w.at(utc(2027, 2, 1, 9, 0)).await;

    // One delivery of the Chinese post, to Gifu, failed for good.
    let mut to_gifu = w
        .store
        .outbox(Some(p))
        .unwrap()
        .into_iter()
        .find(|e| e.message == chinese.message && e.recipient.city == "gifu")
        .expect("the Chinese post's delivery to Gifu");
    // As the scheduler hands it over when it gives up.
    to_gifu.status = DeliveryStatus::PermanentFailure;
    to_gifu.last_error = Some("410 Gone".into());
    assert!(w.router.failed_for_good(to_gifu, "410 Gone".into()).await);
    assert_ne!(other.conversation, t2.conversation, "another partnership's conversation");
    w
}

/// Compare `actual` with the golden file `tests/golden/{name}` (or write it with
/// `UPDATE_EXPECT=1`).
fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_EXPECT=1 writes it)", path.display()));
    assert!(
        expected == actual,
        "{} differs from what the report gives (UPDATE_EXPECT=1 rewrites it; review the diff):\n{actual}",
        path.display()
    );
}

#[tokio::test]
async fn a_scripted_month_gives_the_figures_worked_out_by_hand() {
    let w = scripted().await;
    let p = w.config.partnership("heritage").unwrap();
    let until = utc(2027, 2, 1, 0, 0);
    let r = compute(&w.store, &w.config, p, Some(jan(4, 0, 0)), Some(until), w.clock.now()).unwrap();
    let v = serde_json::to_value(&r).unwrap();

    assert_eq!((&v["since"], &v["until"]), (&json!("2027-01-04T00:00:00Z"), &json!("2027-02-01T00:00:00Z")));
    assert_eq!((&v["as_of"], &v["generated_at"]), (&json!("2027-02-01T00:00:00Z"), &json!("2027-02-01T09:00:00Z")));
    assert_eq!(v["messages"], 18);
    let members: Vec<_> =
        r.members.iter().map(|m| (m.city.as_str(), m.messages, m.off_language, m.overdue_threads)).collect();
    assert_eq!(members, [("leeds", 6, 0, 2), ("hangzhou", 7, 1, 1), ("gifu", 5, 1, 1)]);
    let weeks: Vec<_> = r
        .weeks
        .iter()
        .map(|w| (w.week.as_str(), w.start.as_str(), w.messages["leeds"], w.messages["hangzhou"], w.messages["gifu"]))
        .collect();
    assert_eq!(
        weeks,
        [
            ("2027-W01", "2027-01-04", 2, 2, 0),
            ("2027-W02", "2027-01-11", 2, 2, 2),
            ("2027-W03", "2027-01-18", 1, 1, 1),
            ("2027-W04", "2027-01-25", 1, 2, 2),
        ]
    );
    assert_eq!(
        v["members"].as_array().unwrap().iter().map(|m| m["first_reply"].clone()).collect::<Vec<_>>(),
        [
            json!({"median_s": 36_000, "p90_s": 41_760, "answered": 2, "unanswered": 1}),
            json!({"median_s": 64_800, "p90_s": 99_360, "answered": 2, "unanswered": 0}),
            json!({"median_s": 172_800, "p90_s": 172_800, "answered": 1, "unanswered": 2}),
        ]
    );
    assert_eq!(v["threads"], json!({"open": 3, "overdue": 2, "closed": 2, "total": 5}));
    assert_eq!(v["languages"], json!({"en": 16, "ja": 1, "zh": 1}));
    assert_eq!(v["off_language"], 2);
    let statuses: Vec<_> =
        v["deliverables"].as_array().unwrap().iter().map(|d| (d["id"].clone(), d["status"].clone())).collect();
    assert_eq!(
        statuses,
        [
            (json!("brochure"), json!("done_on_time")),
            (json!("survey"), json!("done_late")),
            (json!("budget"), json!("overdue")),
            (json!("visit"), json!("open")),
        ]
    );
    assert_eq!(v["deliverables"][0]["due"], "2027-01-15T15:00:00Z", "the end of the 15th in Gifu");
    assert_eq!(v["deliverables"][1]["done_at"], "2027-01-22T10:00:00Z");
    assert_eq!(v["failed_deliveries"], 1);
    let kpis: Vec<_> = v["kpis"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["measure"].as_str().unwrap(),
                k["member"].clone(),
                k["target"].clone(),
                k["actual"].clone(),
                k["met"].clone(),
            )
        })
        .collect();
    assert_eq!(
        kpis,
        [
            ("median_first_reply", json!(null), json!(86_400), json!(43_200), json!(true)),
            ("median_first_reply", json!("gifu"), json!(86_400), json!(172_800), json!(false)),
            ("p90_first_reply", json!("leeds"), json!(43_200), json!(41_760), json!(true)),
            ("deliverables_on_time", json!(null), json!(0.9), json!(0.3333), json!(false)),
            ("messages", json!("hangzhou"), json!(5), json!(7), json!(true)),
            ("overdue_threads", json!(null), json!(0), json!(2), json!(false)),
            ("off_language", json!(null), json!(0.1), json!(0.1111), json!(false)),
            ("off_language", json!("leeds"), json!(0), json!(0), json!(true)),
            ("p90_first_reply", json!("gifu"), json!(259_200), json!(172_800), json!(true)),
        ]
    );
    assert_eq!(r.kpis_met(), (5, 9));
    // The partnership as a whole: [6, 8, 12, 30, 48] hours; its p90 is shown by no KPI, so
    // check it through the measure itself.
    let mut all: Vec<Millis> = vec![6, 8, 12, 30, 48].into_iter().map(|h| h * 3_600_000).collect();
    all.sort_unstable();
    assert_eq!(super::compute::percentile(&all, 0.9), Some(146_880_000.0));

    golden("report.json", &r.render(Format::Json));
    golden("report.txt", &r.render(Format::Text));
    golden("report.html", &r.render(Format::Html));
}

#[tokio::test]
async fn the_period_defaults_to_the_first_post_s_day_until_now_and_an_empty_one_is_refused() {
    let w = scripted().await;
    let p = w.config.partnership("heritage").unwrap();
    let now = w.clock.now();
    let r = compute(&w.store, &w.config, p, None, None, now).unwrap();
    assert_eq!((r.since.as_str(), r.until.as_str()), ("2026-12-30T00:00:00Z", "2027-02-01T09:00:00Z"));
    assert_eq!(r.as_of, r.until);
    // 2026-W53 (T0's two posts) to 2027-W05 (T5's post on Monday 1 February).
    assert_eq!(r.weeks.first().unwrap().week, "2026-W53");
    assert_eq!(r.weeks.last().unwrap().week, "2027-W05");
    assert_eq!(r.weeks.len(), 6);
    assert_eq!(r.messages, 21, "with T0's two posts and T5's");
    // T5 is a thread now, open and not overdue; T0 too (closed).
    assert_eq!((r.threads.total, r.threads.open, r.threads.overdue), (6, 4, 2));

    let e = compute(&w.store, &w.config, p, Some(now), Some(now - 1), now).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the period is empty: since (2027-02-01T09:00:00Z) must be before until (2027-02-01T08:59:59Z)"
    );
}

/// The report reads conversations in steps (its memory bounded whatever is stored): reading
/// one record per step gives the same report as reading all at once.
#[tokio::test]
async fn reading_one_conversation_per_step_gives_the_same_report() {
    let w = scripted().await;
    let p = w.config.partnership("heritage").unwrap();
    let now = w.clock.now();
    for (since, until) in [(None, None), (Some(jan(4, 0, 0)), Some(utc(2027, 2, 1, 0, 0))), (Some(jan(11, 0, 0)), None)]
    {
        let all = compute(&w.store, &w.config, p, since, until, now).unwrap();
        let one = super::compute::compute_in_steps(&w.store, &w.config, p, since, until, now, 1).unwrap();
        assert!(all.messages > 0);
        assert_eq!(serde_json::to_value(&one).unwrap(), serde_json::to_value(&all).unwrap());
    }
}

#[tokio::test]
async fn a_past_period_judges_deliverables_at_its_end_and_counts_only_its_own_traffic() {
    let w = scripted().await;
    let p = w.config.partnership("heritage").unwrap();
    // The week of 11 January: before the survey was done, and the budget was not yet due.
    let r = compute(&w.store, &w.config, p, Some(jan(11, 0, 0)), Some(jan(18, 0, 0)), w.clock.now()).unwrap();
    assert_eq!(r.as_of, "2027-01-18T00:00:00Z");
    assert_eq!(r.messages, 6);
    let statuses: Vec<_> = r.deliverables.iter().map(|d| (d.id.as_str(), d.status)).collect();
    use super::DeliverableStatus::*;
    assert_eq!(statuses, [("brochure", DoneOnTime), ("survey", Open), ("budget", Open), ("visit", Open)]);
    assert_eq!(r.deliverables[1].done_at, None, "done after the period");
    // Only T2 started in that week: Leeds 12h, Gifu 48h; Hangzhou started it.
    let replies: Vec<_> = r.members.iter().map(|m| (m.first_reply.median_s, m.first_reply.answered)).collect();
    assert_eq!(replies, [(Some(43_200), 1), (None, 0), (Some(172_800), 1)]);
    // The deliverables due that week (the brochure): on time.
    assert_eq!(r.kpis[3].actual.map(|a| a.0), Some(1.0));
    assert_eq!(r.failed_deliveries, 1);
}
