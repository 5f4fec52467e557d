//! Threads through the scheduler (see `c2c_core::thread`): a channel that learns its thread
//! from the send (Matrix's first event in a room) has it kept before the delivery counts as
//! made, and the next delivery to that endpoint continues it, even when both were committed
//! before the first was made.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use c2c_core::{
    Channel, Connector, ConnectorError, Delivery, DeliveryError, Envelope, Inbox, NativeKey, Origin, Receipt, Shutdown,
    Store,
};
use tokio::sync::mpsc;

use crate::router::tests::harness_on;

/// Leeds agreed on email, Hangzhou on Matrix (its portal room for the partnership).
const CONFIG: &str = r#"
[bridge]
name = "test bridge"
data_dir = "data"
listen = "127.0.0.1:1"

[connectors.email]
address = "bridge@c2c.example.org"
imap = { host = "127.0.0.1", port = 993, security = "tls", user = "bridge", password_env = "X_IMAP" }
smtp = { host = "127.0.0.1", port = 587, security = "starttls", user = "bridge", password_env = "X_SMTP" }

[connectors.matrix]
homeserver = "https://matrix.example.org"
user = "@c2c-bridge:example.org"
password_env = "X_MATRIX"

[[cities]]
id = "leeds"
name = "Leeds"
country = "GB"
languages = ["en"]
  [[cities.contacts]]
  id = "leeds-jo"
  name = "Jo Smith"
  role = "International Relations"
  email = "jo@leeds.example"

[[cities]]
id = "hangzhou"
name = "Hangzhou"
country = "CN"
languages = ["zh", "en"]
  [[cities.contacts]]
  id = "hz-li"
  name = "Li Wei"
  role = "Foreign Affairs Office"
  matrix = "@liwei:matrix.example.org"

[[partnerships]]
id = "hl"
kind = "city-city"
members = ["hangzhou", "leeds"]
objective = "o"
language = "en"
reply_within = "5d"
channels = { hangzhou = "matrix", leeds = "email" }
"#;

/// A Matrix connector that starts a thread with the first delivery of each room (its event
/// `$E-<entry>`) and records the thread every delivery was handed.
#[derive(Debug, Default)]
struct Rooms {
    seen: Mutex<Vec<Vec<String>>>,
    made: Option<mpsc::UnboundedSender<()>>,
}

#[async_trait]
impl Connector for Rooms {
    fn channel(&self) -> Channel {
        Channel::Matrix
    }

    async fn run_inbound(&self, _inbox: Arc<dyn Inbox>, _stop: Shutdown) -> Result<(), ConnectorError> {
        Ok(())
    }

    async fn deliver(&self, d: &Delivery) -> Result<Receipt, DeliveryError> {
        self.seen.lock().unwrap().push(d.thread.clone());
        let event = format!("$E-{}", d.entry.id);
        let thread = if d.thread.is_empty() { vec![event.clone()] } else { Vec::new() };
        if let Some(made) = &self.made {
            let _ = made.send(());
        }
        Ok(Receipt { native_ids: vec![NativeKey(format!("matrix:{event}"))], thread })
    }
}

fn mail(id: &str, text: &str, conversation: Option<String>) -> Envelope {
    let origin = Origin { channel: Channel::Email, city: None, address: "bridge+hl@c2c.example.org".into() };
    let mut e = Envelope::new(origin, "jo@leeds.example", NativeKey(format!("email:<{id}>")), text);
    e.partnership = Some("hl".into());
    e.reply_anchor = Some(id.into());
    e.conversation = conversation;
    e
}

#[tokio::test]
async fn a_room_thread_started_by_a_delivery_is_kept_and_continued_by_the_next() {
    let mut h = harness_on(CONFIG, crate::clock::Clock::wall());
    // Two posts, both committed before either is delivered: the second's context cannot know
    // the thread the first will start.
    let first = h.router.submit(mail("a@leeds.example", "Shall we meet in May?", None)).await.unwrap();
    let mut queued = h.outbox.recv().await.unwrap();
    let again = mail("b@leeds.example", "Or in June?", Some(first.conversation.to_string()));
    assert_eq!(h.router.submit(again).await.unwrap().conversation, first.conversation);
    queued.extend(h.outbox.recv().await.unwrap());
    assert_eq!(queued.len(), 2);
    let room = queued[0].entry.recipient.clone();
    assert_eq!((room.channel, room.address.as_str()), (Channel::Matrix, "portal:hl:hangzhou"));

    let (made_tx, mut made) = mpsc::unbounded_channel();
    let rooms = Arc::new(Rooms { seen: Mutex::default(), made: Some(made_tx) });
    let connectors = HashMap::from([(Channel::Matrix, rooms.clone() as Arc<dyn Connector>)]);
    let scheduler = crate::outbox::scheduler::tests::test_scheduler(&h, connectors, 4);
    let (entries_tx, entries_rx) = mpsc::unbounded_channel();
    let (_signals_tx, signals_rx) = mpsc::unbounded_channel();
    let stop = Shutdown::new();
    let queues = scheduler.queues();
    let running = tokio::spawn(scheduler.run(queues, entries_rx, signals_rx, stop.clone()));
    entries_tx.send(queued.clone()).unwrap();
    for _ in 0..2 {
        tokio::time::timeout(Duration::from_secs(10), made.recv()).await.expect("both delivered within 10 s");
    }
    let root = format!("$E-{}", queued[0].entry.id);
    assert_eq!(
        *rooms.seen.lock().unwrap(),
        vec![vec![], vec![root.clone()]],
        "the second continues the first's thread"
    );
    let conv = h.store.conversation(first.conversation).unwrap().unwrap();
    assert_eq!(conv.thread("matrix:portal:hl:hangzhou"), std::slice::from_ref(&root), "kept with the conversation");

    // A third post, committed now, carries the thread in its context.
    let third = mail("c@leeds.example", "June it is.", Some(first.conversation.to_string()));
    h.router.submit(third).await.unwrap();
    let queued = h.outbox.recv().await.unwrap();
    let context = queued[0].context.as_ref().unwrap();
    assert_eq!(context.threads.get("matrix:portal:hl:hangzhou"), Some(&vec![root.clone()]));
    stop.cancel();
    running.await.unwrap();
}

#[tokio::test]
async fn a_correspondent_s_mail_thread_is_stamped_on_each_delivery_whatever_the_case_of_the_address() {
    let mut h = harness_on(CONFIG, crate::clock::Clock::wall());
    // Li writes in Matrix; Jo answers by mail from an address written in another case.
    let origin =
        Origin { channel: Channel::Matrix, city: Some("hangzhou".into()), address: "portal:hl:hangzhou".into() };
    let mut post =
        Envelope::new(origin.clone(), "@liwei:matrix.example.org", NativeKey("matrix:$1".into()), "Hello Leeds");
    post.partnership = Some("hl".into());
    post.reply_anchor = Some("$1".into());
    post.native_ids.push(NativeKey("matrix:$1".into()));
    let first = h.router.submit(post).await.unwrap();
    let to_jo = h.outbox.recv().await.unwrap().remove(0).entry;
    assert!(to_jo.references.is_empty(), "the first mail starts Jo's thread");
    let mut answer = mail("jo-1@leeds.example", "Hello Hangzhou", Some(first.conversation.to_string()));
    answer.sender = "JO@Leeds.Example".into();
    h.router.submit(answer).await.unwrap();
    h.outbox.recv().await.unwrap();
    let mut again = Envelope::new(origin, "@liwei:matrix.example.org", NativeKey("matrix:$2".into()), "Good");
    again.partnership = Some("hl".into());
    again.thread_refs.push(c2c_core::ThreadRef::Native(NativeKey("matrix:$1".into())));
    h.router.submit(again).await.unwrap();
    let next = h.outbox.recv().await.unwrap().remove(0).entry;
    let key = c2c_core::InstanceKey::new([7; 32]);
    let first_id = key.email_message_id(&to_jo.id, "c2c.example.org");
    assert_eq!(next.references, vec![first_id.clone(), "jo-1@leeds.example".to_string()]);
    let conv = h.store.conversation(first.conversation).unwrap().unwrap();
    let next_id = key.email_message_id(&next.id, "c2c.example.org");
    assert_eq!(conv.thread("email:jo@leeds.example"), [first_id, "jo-1@leeds.example".into(), next_id]);
    // The room's thread hangs from Li's top-level post.
    assert_eq!(conv.thread("matrix:portal:hl:hangzhou"), ["$1".to_string()]);
}
