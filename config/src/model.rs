//! The typed config: what the daemon reads once the file has been parsed and validated.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use c2c_core::Channel;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, Timelike, Utc, Weekday};

use crate::error::ConfigError;
use crate::location::Location;
use crate::secret::SecretRef;

/// `[bridge]`: the instance itself.
#[derive(Debug, Clone)]
pub struct Bridge {
    /// A human name for this instance, shown in notices.
    pub name: String,
    /// Where the store lives, resolved against the config file's directory.
    pub data_dir: PathBuf,
    /// The one HTTP listener: inbound webhooks, admin API, `/metrics`, `/healthz`.
    pub listen: SocketAddr,
    /// Bearer token of the admin API (`admin_token_env` / `admin_token_file`); `None` disables it.
    pub admin_token: Option<SecretRef>,
    /// Time zone of cities that don't name one (`default_timezone`, default `UTC`).
    pub default_timezone: chrono_tz::Tz,
    /// This instance's id among federated instances (`instance`, or its older spelling
    /// `instance_id`; letters, digits, `.`, `_`, `-`): the origin in every message and
    /// conversation id it makes, unique among its peers. Needed once there are `[[peers]]`; a
    /// store made without one has an id of its own (`c2c-` and a ULID).
    pub instance: Option<String>,
    /// How the store flushes commits (`commit = "group" | "each"`, default `group`).
    pub commit: CommitMode,
    /// The store's engine (`store = "sled" | "redb"`). A store is read by the engine that wrote
    /// it. When not given: the engine of the store already in `data_dir/store` (sled, for one
    /// made before redb became the default), else redb ([`StoreEngine::found_in`]).
    pub store: StoreEngine,
    /// The store's page cache in bytes (`store_cache`, e.g. `"16MiB"`, default 1 MiB, from 1 MiB
    /// to 16 GiB). A bigger cache keeps more of the store in memory for reads; the relay path
    /// mostly writes.
    pub store_cache: u64,
    /// How long conversations are kept after their last activity (`retention`, e.g. `"400d"`;
    /// default: kept for ever). Older ones are deleted in the background (messages, delivery
    /// records, id-map entries), unless a delivery is still pending, a reminder is still due, or
    /// a deliverable whose reminders they carry is not done; the report keeps per-week tallies.
    pub retention: Option<Duration>,
    /// How long a dedupe answer is kept (`dedupe_window`, e.g. `"30d"`): a sender's retry of
    /// the same message within it is answered as a replay; after it, it would be a new message.
    /// Default: 30 days (capped at `retention`) when `retention` is set, else for ever. Set it
    /// longer than any sender retries (webhook senders and peers retry for days).
    pub dedupe_window: Option<Duration>,
    /// With group commit, the shortest time between two flushes (`commit_window`, default
    /// 2ms, at most 1s): under load, messages arriving meanwhile share the next flush. A flush
    /// costs far more than writing one message, so this bounds the flush rate; at low load it
    /// adds at most this much latency.
    pub commit_window: Duration,
    /// The longest an HTTP request may take, body upload included (`request_timeout`, default
    /// 30s): a client that sends slowly (or not at all) gets 408 and its connection back, so
    /// slow clients cannot pile up. A request's header must arrive within the same time (or the
    /// connection is closed), and so must the next request on a kept-alive connection.
    pub request_timeout: Duration,
    /// Open HTTP connections at most (`max_connections`, default 1024); more wait until one
    /// closes.
    pub max_connections: usize,
    /// Open HTTP connections from one client address at most (`max_connections_per_client`,
    /// default a quarter of `max_connections`); more are closed at once.
    pub max_connections_per_client: Option<usize>,
    /// Outbound delivery tuning (`[bridge.delivery]`, optional).
    pub delivery: Delivery,
    /// The working time of cities that don't set their own: `working_hours` (default
    /// `"09:00-17:00"`) and `working_days` (default Monday to Friday). `holidays` is always empty
    /// here (holidays are a city's). Cities carry their own, already resolved: [`City::working`].
    pub working: WorkingTime,
}

impl Bridge {
    pub const DEFAULT_COMMIT_WINDOW: Duration = Duration::from_millis(2);
    pub const DEFAULT_STORE_CACHE: u64 = 1024 * 1024;
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
    pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
    /// The dedupe window when `retention` is set and `dedupe_window` is not (at most the
    /// retention itself).
    pub const DEFAULT_DEDUPE_WINDOW: Duration = Duration::from_secs(30 * 86_400);
}

/// The engine under the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StoreEngine {
    /// sled 0.34 (`"sled"`): `data_dir/store/`.
    Sled,
    /// redb 4 (`"redb"`, the default for a new store): `data_dir/store/store.redb`.
    #[default]
    Redb,
}

impl StoreEngine {
    /// The engine when the config names none: the one whose store is already in `dir` (sled,
    /// for a store made before redb became the default), else redb.
    pub fn found_in(dir: &std::path::Path) -> Self {
        if dir.join("conf").exists() || dir.join("db").exists() { StoreEngine::Sled } else { StoreEngine::Redb }
    }
}

/// How the store makes commits durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CommitMode {
    /// Group commit: concurrent commits share one flush (`"group"`, the default).
    #[default]
    Group,
    /// One flush per message (`"each"`): the benchmark baseline.
    Each,
}

/// `[bridge.delivery]`: retries and limits of outbound deliveries. Durations are humantime
/// strings (`"500ms"`, `"2s"`, `"1h"`).
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// First retry delay (`initial_backoff`, default 2s, > 0).
    pub initial_backoff: Duration,
    /// Largest retry delay (`max_backoff`, default 1h, ≥ `initial_backoff`).
    pub max_backoff: Duration,
    /// How long a delivery is retried before it fails for good and its author is told
    /// (`give_up_after`, default 5d, > 0): by age, not by a count of attempts, as Postfix's
    /// `maximal_queue_lifetime`, so an endpoint down for a weekend loses nothing.
    pub give_up_after: Duration,
    /// How long a delivery may be pending before its author is told, once, that it is delayed
    /// (`delay_warning_after`, default 4h, shorter than `give_up_after`; `"0s"` never tells):
    /// Postfix's `delay_warning_time`. `None` when off.
    pub delay_warning_after: Option<Duration>,
    /// Deprecated and ignored (`max_attempts`, ≥ 1): read so that old configs still load;
    /// `give_up_after` decides when a delivery fails. The daemon warns at start when it is set.
    pub max_attempts: Option<u32>,
    /// Random spread of retry delays, as a fraction (`jitter`, default 0.2, within 0..=1).
    pub jitter: f64,
    /// Deliveries in flight at once (`concurrency`, default 64, ≥ 1).
    pub concurrency: usize,
    /// Timeout of one delivery attempt (`timeout`, default 10s, > 0).
    pub timeout: Duration,
    /// How long a shutdown waits for deliveries in flight (`drain_timeout`, default 10s).
    pub drain_timeout: Duration,
}

impl Delivery {
    pub const DEFAULT_GIVE_UP_AFTER: Duration = Duration::from_secs(5 * 24 * 3600);
    pub const DEFAULT_DELAY_WARNING_AFTER: Duration = Duration::from_secs(4 * 3600);
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            initial_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(3600),
            give_up_after: Self::DEFAULT_GIVE_UP_AFTER,
            delay_warning_after: Some(Self::DEFAULT_DELAY_WARNING_AFTER),
            max_attempts: None,
            jitter: 0.2,
            concurrency: 64,
            timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(10),
        }
    }
}

/// `[connectors.*]`: which channels this instance speaks. A section that is present (even an
/// empty table) enables its connector.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Connectors {
    /// `[connectors.email]`.
    pub email: Option<EmailConnector>,
    /// `[connectors.matrix]`.
    pub matrix: Option<MatrixConnector>,
    /// `[connectors.webhook]`.
    pub webhook: Option<WebhookConnector>,
}

impl Connectors {
    /// True when the connector for `channel` is configured.
    pub fn has(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.email.is_some(),
            Channel::Matrix => self.matrix.is_some(),
            Channel::Webhook => self.webhook.is_some(),
            // Federation is `[federation]`, not a `[connectors.*]` section.
            Channel::Peer => false,
        }
    }

    /// The configured connectors, in the order email, matrix, webhook.
    pub fn channels(&self) -> Vec<Channel> {
        Channel::ALL.into_iter().filter(|c| self.has(*c)).collect()
    }
}

/// `[connectors.email]`: one mailbox the bridge reads (IMAP) and sends from (SMTP).
#[derive(Debug, Clone, PartialEq)]
pub struct EmailConnector {
    /// The bridge's address, the `From:` of relayed mail.
    pub address: String,
    /// `imap = { ... }`.
    pub imap: MailServer,
    /// `smtp = { ... }`.
    pub smtp: MailServer,
    /// Where mail goes once it is committed (`processed_folder`, default `c2c-processed`).
    pub processed_folder: String,
    /// Where refused mail goes, for an admin to look at (`refused_folder`, default `c2c-refused`).
    pub refused_folder: String,
    /// Attachments larger than this are replaced by a note (`max_attachment_bytes`, default 10 MiB).
    pub max_attachment_bytes: usize,
    /// Mail larger than this (as the IMAP server counts it) is not read, only its headers: the
    /// sender, if a contact, is told it was too large (`max_mail_bytes`, default 32 MiB).
    pub max_mail_bytes: usize,
    /// How often to look for new mail when the server has no IDLE (`poll_interval`, default 30s).
    pub poll_interval: Duration,
    /// What a mail must show before its From address is believed (`sender_auth`, default
    /// `"require"`).
    pub sender_auth: SenderAuth,
    /// The authserv-ids the bridge's own mail server writes into `Authentication-Results`
    /// (`trusted_authserv_ids`, default none); headers with any other id are ignored.
    pub trusted_authserv_ids: Vec<String>,
}

/// `sender_auth` of `[connectors.email]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SenderAuth {
    /// A DMARC pass, or a DKIM or SPF pass aligned with the From domain, from a trusted
    /// authserv-id (`"require"`, the default).
    #[default]
    Require,
    /// Refuse only a recorded failure (`"if-present"`): for mail servers that add no
    /// Authentication-Results. A forged From is then believed.
    IfPresent,
}

impl EmailConnector {
    pub const DEFAULT_PROCESSED_FOLDER: &'static str = "c2c-processed";
    pub const DEFAULT_REFUSED_FOLDER: &'static str = "c2c-refused";
    pub const DEFAULT_MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;
    pub const DEFAULT_MAX_MAIL_BYTES: usize = 32 * 1024 * 1024;
    pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(30);

    /// The domain of the bridge's address (`bridge@DOMAIN`).
    pub fn domain(&self) -> &str {
        self.address.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }

    /// Why the daemon must not start with this sender check, if it must not: `"require"` with
    /// no trusted authserv-id would refuse every mail. (Not a parse error: the file is valid,
    /// and `check-config` says this too.)
    pub fn sender_auth_problem(&self) -> Option<String> {
        (self.sender_auth == SenderAuth::Require && self.trusted_authserv_ids.is_empty()).then(|| {
            "connectors.email: sender_auth = \"require\" (the default) believes a From address only \
             on a pass in Authentication-Results written by your own mail server: set \
             trusted_authserv_ids to the authserv-id it writes (e.g. [\"mail.example.org\"]; see \
             SECURITY.md), or set sender_auth = \"if-present\" if it writes none (then a forged \
             From is relayed)"
                .to_string()
        })
    }
}

/// A mail server the email connector talks to.
#[derive(Debug, Clone, PartialEq)]
pub struct MailServer {
    /// Host name or address.
    pub host: String,
    /// Port; when omitted, the usual port for `security` (IMAP: tls 993, starttls/none 143;
    /// SMTP: tls 465, starttls 587, none 25).
    pub port: u16,
    /// Transport security (`security`, default `tls`).
    pub security: Security,
    /// Login user.
    pub user: String,
    /// Login password (`password_env` / `password_file`).
    pub password: SecretRef,
    /// The mailbox to watch: IMAP only, default `INBOX`; always `None` for SMTP.
    pub mailbox: Option<String>,
    /// Extra CA certificate (PEM) to trust, resolved against the config file's directory.
    pub ca_file: Option<PathBuf>,
}

/// Transport security of a mail server connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (`"tls"`).
    Tls,
    /// Plain connection upgraded with STARTTLS (`"starttls"`).
    Starttls,
    /// No encryption (`"none"`): only allowed for loopback hosts (test servers).
    None,
}

/// `[connectors.matrix]`: the bridge's Matrix account.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixConnector {
    /// Homeserver base URL (`http://` or `https://`).
    pub homeserver: String,
    /// The bridge's user id, `@local:server`.
    pub user: String,
    /// Login password (`password_env` / `password_file`).
    pub password: SecretRef,
    /// matrix-sdk state and crypto store, resolved against the config file's directory
    /// (default: `<data_dir>/matrix`).
    pub store_dir: PathBuf,
    /// The passphrase the store is encrypted with (`store_passphrase_env` /
    /// `store_passphrase_file`); `None`: the store is not encrypted (a warning at start).
    pub store_passphrase: Option<SecretRef>,
    /// Whether portal rooms the bridge creates are end-to-end encrypted (default true).
    pub encrypt_new_rooms: bool,
    /// Files officers post larger than this are not fetched: the recipients get a note with the
    /// file's name and size instead (`max_attachment_bytes`, default 10 MiB, as for email).
    pub max_attachment_bytes: usize,
    /// A posted file the homeserver fails to hand over (a transport failure or a server error)
    /// is tried again; once it has failed for this long (and at least three times) its post is
    /// relayed with a note instead (`file_fetch_give_up_after`, default 10 minutes).
    pub file_fetch_give_up_after: Duration,
}

impl MatrixConnector {
    pub const DEFAULT_MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;
    pub const DEFAULT_FILE_FETCH_GIVE_UP_AFTER: Duration = Duration::from_secs(600);
}

/// `[connectors.webhook]`: inbound `POST /hooks/{city_id}` and outbound webhooks.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConnector {
    /// Largest accepted inbound body (`max_body_bytes`, default 1 MiB).
    pub max_body_bytes: usize,
    /// Largest accepted clock difference of `webhook-timestamp` (`tolerance`, default 5m).
    pub tolerance: Duration,
}

impl Default for WebhookConnector {
    fn default() -> Self {
        WebhookConnector { max_body_bytes: 1_048_576, tolerance: Duration::from_secs(300) }
    }
}

/// `[[admins]]`: someone who may use the admin API (and the CLI commands that ask the running
/// daemon), and on what. `[bridge] admin_token_*` is one more, all-scope, with id
/// [`Admin::BRIDGE_ID`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    /// Who did it, in the log of every admin action (and in `done_by`).
    pub id: String,
    /// Its bearer token (`token_env` / `token_file`).
    pub token: SecretRef,
    pub scope: AdminScope,
}

impl Admin {
    /// The id of the admin `[bridge] admin_token_*` names.
    pub const BRIDGE_ID: &'static str = "admin";
}

/// What an admin sees and acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminScope {
    /// `scope = "all"`: the whole instance, reload and metrics included.
    All,
    /// `cities = [...]`: the partnerships at least one of these cities is a member of.
    Cities(Vec<String>),
}

/// `[[cities]]`: a member of the network (a city, town, province, or an LGA itself).
#[derive(Debug, Clone)]
pub struct City {
    /// Unique id, used in partnerships and in `/hooks/{id}`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// ISO 3166-1 alpha-2 country code, e.g. `GB`.
    pub country: String,
    /// `kind = "city" | "lga"` (default `city`).
    pub kind: CityKind,
    /// IANA time zone (default: `[bridge] default_timezone`).
    pub timezone: chrono_tz::Tz,
    /// Languages the city works in (ISO 639-1, else 639-3), possibly empty.
    pub languages: Vec<String>,
    /// The city's own system, reached by signed webhooks.
    pub webhook: Option<CityWebhook>,
    /// Nodal contacts (`[[cities.contacts]]`): at least one for a city hosted here, none for a
    /// city hosted by a peer.
    pub contacts: Vec<Contact>,
    /// When the city works, in [`City::timezone`]: reminders to it wait for these. Already
    /// resolved: the city's `working_hours` and `working_days`, each else `[bridge]`'s, and its
    /// `holidays` (default none). For a city hosted by a peer, always `[bridge]`'s: its home
    /// instance owns its working time (and sends its reminders).
    pub working: WorkingTime,
    /// The peer instance that hosts this city (`peer = "uk-lga"`, a `[[peers]]` id), or `None`
    /// for a city hosted here. A city hosted by a peer has no contacts, endpoints or working
    /// time here: its home instance holds them; here it is a partnership member that a peer
    /// speaks for.
    pub peer: Option<String>,
}

impl City {
    /// True when the city is hosted by a peer instance ([`City::peer`]), not here.
    pub fn is_remote(&self) -> bool {
        self.peer.is_some()
    }
}

/// `[federation]`: this instance's part in a federation of instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Federation {
    /// This instance's ed25519 signing key (`key_file`, made by `c2c-bridge peer keygen`, mode
    /// 0600), resolved against the config file's directory. A secret: [`Config::check_secrets`]
    /// checks that it can be read; its contents are the peer connector's to read.
    ///
    /// [`Config::check_secrets`]: crate::Config::check_secrets
    pub key_file: PathBuf,
    /// Where the `key_file` key is, for errors.
    pub key_file_at: Location,
    /// The key this instance signed with before (`previous_key_file`), while its peers move to
    /// the new one: requests are signed with both, and `GET /peer/v1/keys` lists both.
    pub previous_key_file: Option<(PathBuf, Location)>,
}

impl Federation {
    /// Checks that each key file (`key_file`, `previous_key_file`) can be opened and is not
    /// empty (without reading the key). Errors are located at their key and never contain the key.
    pub fn check_key_files(&self) -> Vec<ConfigError> {
        let previous = self.previous_key_file.iter().map(|(path, at)| self.check_one(path, at));
        std::iter::once(self.check_one(&self.key_file, &self.key_file_at))
            .chain(previous)
            .filter_map(Result::err)
            .collect()
    }

    fn check_one(&self, path: &Path, at: &Location) -> Result<(), ConfigError> {
        use std::io::Read;
        let cannot = |e: std::io::Error| {
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                format!(" (make one with `c2c-bridge peer keygen --out {}`)", path.display())
            } else {
                String::new()
            };
            at.error(format!("cannot read key file {}: {e}{hint}", path.display()))
        };
        let mut first = [0u8; 1];
        let read = std::fs::File::open(path).and_then(|mut f| f.read(&mut first)).map_err(cannot)?;
        if read == 0 {
            return Err(at.error(format!("key file {} is empty", path.display())));
        }
        Ok(())
    }
}

/// `[[peers]]`: another instance this one federates with: a partnership may have members
/// hosted there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Its instance id (its `[bridge] instance`): unique among peers, never this instance's own.
    pub id: String,
    /// Its base URL, `https://` (or `http://` with a loopback host only, for tests), without a
    /// trailing `/`: its routes are `{url}/peer/v1/...`.
    pub url: String,
    /// Its pinned public keys (`public_keys = ["whpk_..."]`, at least one, no key twice): what
    /// it signs must verify under one of them. Two while it rotates its key.
    pub public_keys: Vec<String>,
}

impl Peer {
    /// The prefix of a peer's public key, before the base64 of its 32 bytes.
    pub const KEY_PREFIX: &'static str = "whpk_";
}

/// When a city works: the hours of a working day, the working days of the week, and holidays,
/// all in the city's local time. Reminders to the city go out only inside these (see
/// `c2c_followup::hours`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingTime {
    /// The hours of each working day (`working_hours`, default `"09:00-17:00"`).
    pub hours: WorkingHours,
    /// The working days of the week (`working_days`, default Monday to Friday; never empty in a
    /// parsed config).
    pub days: Weekdays,
    /// Dates that are not working days whatever their weekday (`holidays`, default none).
    pub holidays: BTreeSet<NaiveDate>,
}

impl Default for WorkingTime {
    /// 09:00-17:00, Monday to Friday, no holidays.
    fn default() -> Self {
        WorkingTime { hours: WorkingHours::DEFAULT, days: Weekdays::MON_FRI, holidays: BTreeSet::new() }
    }
}

impl WorkingTime {
    /// Always at work: all day, every day, no holidays.
    pub fn always() -> Self {
        WorkingTime { hours: WorkingHours::ALL_DAY, days: Weekdays::ALL, holidays: BTreeSet::new() }
    }

    /// True when `date` is a working day: its weekday is one of [`WorkingTime::days`] and it is
    /// no holiday.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.days.contains(date.weekday()) && !self.holidays.contains(&date)
    }
}

/// The working hours of a day, `"HH:MM-HH:MM"` in local time, to the minute: from `start_min`
/// (included) to `end_min` (excluded), in minutes after midnight, with
/// `start_min < end_min <= 1440`; `"00:00-24:00"` is all day. Hours past midnight
/// (`"22:00-06:00"`) are not supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkingHours {
    /// Minutes after midnight when work starts, `0..1440`.
    pub start_min: u16,
    /// Minutes after midnight when work ends, `start_min + 1..=1440` (1440: midnight at the
    /// end of the day).
    pub end_min: u16,
}

impl WorkingHours {
    /// 09:00-17:00, the default.
    pub const DEFAULT: WorkingHours = WorkingHours { start_min: 9 * 60, end_min: 17 * 60 };
    /// 00:00-24:00: all day.
    pub const ALL_DAY: WorkingHours = WorkingHours { start_min: 0, end_min: 24 * 60 };

    /// True for 00:00-24:00.
    pub fn is_all_day(self) -> bool {
        self.start_min == 0 && self.end_min >= 24 * 60
    }

    /// The local time work starts.
    pub fn start(self) -> NaiveTime {
        let minutes = u32::from(self.start_min.min(24 * 60 - 1));
        NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0).unwrap_or(NaiveTime::MIN)
    }

    /// True when local time `time` is inside these hours (the end excluded).
    pub fn contains(self, time: NaiveTime) -> bool {
        let seconds = time.num_seconds_from_midnight();
        u32::from(self.start_min) * 60 <= seconds && seconds < u32::from(self.end_min) * 60
    }
}

impl std::fmt::Display for WorkingHours {
    /// `09:00-17:00`, as written in the config.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (s, e) = (self.start_min, self.end_min);
        write!(f, "{:02}:{:02}-{:02}:{:02}", s / 60, s % 60, e / 60, e % 60)
    }
}

impl std::str::FromStr for WorkingHours {
    type Err = String;

    /// `"HH:MM-HH:MM"` (hours may have one digit), start before end, `24:00` only as the end.
    fn from_str(text: &str) -> Result<Self, String> {
        let shape = || {
            format!(
                "{text:?} is not a range of working hours (expected \"HH:MM-HH:MM\", e.g. \"09:00-17:00\"; \
                 \"00:00-24:00\" for all day)"
            )
        };
        let (start, end) = text.split_once('-').ok_or_else(shape)?;
        let minutes = |part: &str| -> Option<u16> {
            let (h, m) = part.trim().split_once(':')?;
            let digits = |s: &str, n: std::ops::RangeInclusive<usize>| {
                n.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
            };
            if !digits(h, 1..=2) || !digits(m, 2..=2) {
                return None;
            }
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
        };
        let (Some(start_min), Some(end_min)) = (minutes(start), minutes(end)) else {
            return Err(shape());
        };
        if start_min == 24 * 60 {
            return Err(format!("{text:?}: work cannot start at 24:00"));
        }
        if start_min >= end_min {
            return Err(format!(
                "{text:?}: work must start before it ends, the same day (hours past midnight are not supported)"
            ));
        }
        Ok(WorkingHours { start_min, end_min })
    }
}

/// A set of weekdays (`working_days = ["mon", "tue", ...]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Weekdays(u8);

impl Weekdays {
    /// No day.
    pub const NONE: Weekdays = Weekdays(0);
    /// Monday to Friday, the default.
    pub const MON_FRI: Weekdays = Weekdays(0b001_1111);
    /// Every day.
    pub const ALL: Weekdays = Weekdays(0b111_1111);
    /// The config's names of the days, Monday first.
    pub const NAMES: [&'static str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    fn bit(day: Weekday) -> u8 {
        1 << day.num_days_from_monday()
    }

    /// True when `day` is in the set.
    pub fn contains(self, day: Weekday) -> bool {
        self.0 & Self::bit(day) != 0
    }

    /// Adds `day`; false when it was already in the set.
    pub fn insert(&mut self, day: Weekday) -> bool {
        let had = self.contains(day);
        self.0 |= Self::bit(day);
        !had
    }

    /// True when no day is in the set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The days in the set, Monday first.
    pub fn iter(self) -> impl Iterator<Item = Weekday> {
        (0..7u8).filter(move |i| self.0 & (1 << i) != 0).filter_map(|i| Weekday::try_from(i).ok())
    }

    /// The weekday a config name stands for: `"mon"` ... `"sun"` (lowercase, three letters).
    pub fn parse_day(name: &str) -> Result<Weekday, String> {
        if let Some(i) = Self::NAMES.iter().position(|n| *n == name) {
            return Weekday::try_from(i as u8).map_err(|e| e.to_string());
        }
        let lower = name.trim().to_ascii_lowercase();
        let hint = Self::NAMES
            .iter()
            .find(|n| lower.len() >= 3 && lower.starts_with(**n))
            .map(|n| format!("; did you mean {n:?}?"))
            .unwrap_or_default();
        Err(format!("{name:?} is not a day (expected {}){hint}", one_of(&Self::NAMES)))
    }
}

impl FromIterator<Weekday> for Weekdays {
    fn from_iter<I: IntoIterator<Item = Weekday>>(iter: I) -> Self {
        let mut days = Weekdays::NONE;
        for day in iter {
            days.insert(day);
        }
        days
    }
}

impl std::fmt::Display for Weekdays {
    /// `mon, tue, wed`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, day) in self.iter().enumerate() {
            let name = Self::NAMES[day.num_days_from_monday() as usize];
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

/// What kind of member a city is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CityKind {
    /// A city, town or province (`"city"`, the default).
    #[default]
    City,
    /// A local-government association (`"lga"`).
    Lga,
}

/// `webhook = { url = "...", secret_env = "..." }` of a city.
#[derive(Debug, Clone)]
pub struct CityWebhook {
    /// Where outbound webhooks are POSTed (`http://` or `https://`).
    pub url: String,
    /// The Standard Webhooks `whsec_` secret (`secret_env` / `secret_file`), for both directions.
    pub secret: SecretRef,
    /// The secret being rotated out (`previous_secret_env` / `previous_secret_file`), while the
    /// city's system moves to the new one: inbound requests signed with it are still accepted,
    /// and outbound requests carry a signature by it too. Removed once the rotation is over.
    pub previous_secret: Option<SecretRef>,
}

/// `[[cities.contacts]]`: a nodal officer.
#[derive(Debug, Clone)]
pub struct Contact {
    /// Unique id across all cities.
    pub id: String,
    /// Full name, shown to recipients.
    pub name: String,
    /// Role or office, shown to recipients.
    pub role: String,
    /// Languages the contact writes in; when omitted, the city's languages.
    pub languages: Vec<String>,
    /// What the contact can be asked about (`topics = ["education", "health"]`, lowercase
    /// words, default none): the directory and `/who gifu education` find contacts by them.
    pub topics: Vec<String>,
    /// Email address (unique across contacts, case-insensitively).
    pub email: Option<String>,
    /// Matrix user id `@local:server` (unique across contacts).
    pub matrix: Option<String>,
}

/// `[[partnerships]]`: an agreement between two or more members.
#[derive(Debug, Clone)]
pub struct Partnership {
    /// Unique id (letters, digits, `.`, `_`, `-`; used in `bridge+ID@` aliases).
    pub id: String,
    /// `kind = "city-city" | "multi-city" | "city-lga" | "lga-lga"`.
    pub kind: PartnershipKind,
    /// Member city ids, at least two, no duplicates.
    pub members: Vec<String>,
    /// What the partnership is for.
    pub objective: String,
    /// The agreed language (ISO 639-1, else 639-3).
    pub language: String,
    /// Follow-up window (`reply_within`, humantime: `"5d"`, `"36h"`, `"1w"`).
    pub reply_within: std::time::Duration,
    /// Whose answer settles a conversation that waits for a reply (`reply_from`; default
    /// [`ReplyFrom::Any`] with more than two members, else [`ReplyFrom::Each`]).
    pub reply_from: ReplyFrom,
    /// What happens when a contact writes on another channel than their city's agreed one.
    pub on_other_channel: OtherChannelRule,
    /// Agreed channel per member (every member, and only members).
    pub channels: BTreeMap<String, Channel>,
    /// Existing Matrix room per member (members whose agreed channel is matrix), `!roomid`.
    pub matrix_rooms: BTreeMap<String, String>,
    /// Deliverables with due dates (`[[partnerships.deliverables]]`).
    pub deliverables: Vec<Deliverable>,
    /// Key performance indicators the members agreed on (`[[partnerships.kpis]]`, Template
    /// 1.0's "mutually decided KPIs"): targets the post-activity report measures.
    pub kpis: Vec<Kpi>,
    /// A summary to every member's contacts (`digest = "weekly" | "daily"`, `digest_day`,
    /// `digest_time`); `None` when off (the default).
    pub digest: Option<Digest>,
}

/// When a partnership's digest goes out, in each recipient city's own time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    /// `digest = "weekly" | "daily"`.
    pub every: DigestEvery,
    /// `digest_day = "mon"` (weekly only; default Monday).
    pub day: chrono::Weekday,
    /// `digest_time = "09:00"`, minutes after local midnight; `None` (the default): the start of
    /// the recipient city's working hours.
    pub time_min: Option<u16>,
}

/// How often a digest goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestEvery {
    /// Once a week, on `digest_day` (`"weekly"`).
    Weekly,
    /// Every working day (`"daily"`).
    Daily,
}

impl Partnership {
    /// The agreed channel of member `city`, or `None` when it is not a member.
    pub fn channel_of(&self, city: &str) -> Option<Channel> {
        self.channels.get(city).copied()
    }

    /// True when `city` is a member.
    pub fn has_member(&self, city: &str) -> bool {
        self.members.iter().any(|m| m == city)
    }
}

/// The shape of a partnership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartnershipKind {
    /// `"city-city"`: exactly two members, both cities.
    CityCity,
    /// `"multi-city"`: two or more members.
    MultiCity,
    /// `"city-lga"`: exactly one LGA and one or more cities.
    CityLga,
    /// `"lga-lga"`: LGAs only.
    LgaLga,
}

/// `on_other_channel`: what to do with a message written on a non-agreed channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtherChannelRule {
    /// Route it anyway and tell the author, once per conversation (`"relay"`, the default).
    #[default]
    Relay,
    /// Refuse it with a clear reply on the channel used (`"reject"`).
    Reject,
}

/// `reply_from` of a partnership: once a member wrote, who must answer within `reply_within`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyFrom {
    /// Each other member owes its own answer, and is reminded until it gives one (`"each"`; the
    /// default with two members).
    Each,
    /// One answer from any other member settles it for all (`"any"`; the default with more than
    /// two members).
    Any,
}

impl ReplyFrom {
    /// The default for a partnership of `members` members.
    pub fn default_for(members: usize) -> ReplyFrom {
        if members > 2 { ReplyFrom::Any } else { ReplyFrom::Each }
    }
}

/// `[[partnerships.kpis]]`: a target on one of the report's measures, for the partnership as a
/// whole or for one member.
#[derive(Debug, Clone, PartialEq)]
pub struct Kpi {
    pub measure: KpiMeasure,
    /// In the measure's unit (see [`KpiMeasure`]).
    pub target: KpiTarget,
    /// A member city: the measure of its own traffic only. `None`: the partnership's.
    pub member: Option<String>,
}

/// What a KPI measures, over the report's period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KpiMeasure {
    /// `"median_first_reply"`: the median time from a conversation's first post (by another
    /// member) to a member's first post in it; met when at most the target (a duration).
    MedianFirstReply,
    /// `"p90_first_reply"`: the 90th percentile of the same times; met when at most the target.
    P90FirstReply,
    /// `"deliverables_on_time"`: of the deliverables due in the period (and owned by the
    /// member, if one is named) that are done or overdue, the share done by their due time;
    /// met when at least the target (a number from 0 to 1).
    DeliverablesOnTime,
    /// `"messages"`: posts in the period; met when at least the target (a whole number).
    Messages,
    /// `"overdue_threads"`: conversations with a reply overdue (owed by the member, if one is
    /// named); met when at most the target (a whole number).
    OverdueThreads,
    /// `"off_language"`: the share of posts not in the agreed language; met when at most the
    /// target (a number from 0 to 1).
    OffLanguage,
}

impl KpiMeasure {
    /// True for measures of time, whose target is a duration (`"3d"`).
    pub fn is_duration(self) -> bool {
        matches!(self, KpiMeasure::MedianFirstReply | KpiMeasure::P90FirstReply)
    }

    /// True for measures that are shares (a target from 0 to 1).
    pub fn is_share(self) -> bool {
        matches!(self, KpiMeasure::DeliverablesOnTime | KpiMeasure::OffLanguage)
    }

    /// True when the measure should be at least its target (else at most).
    pub fn at_least(self) -> bool {
        matches!(self, KpiMeasure::DeliverablesOnTime | KpiMeasure::Messages)
    }
}

/// A KPI's target, in its measure's unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KpiTarget {
    /// Reply times: `target = "3d"`.
    Duration(Duration),
    /// Counts: `target = 20`.
    Count(u64),
    /// Shares: `target = 0.9`.
    Share(f64),
}

/// `[[partnerships.deliverables]]`: something a member owes by a due time, or a meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deliverable {
    /// Unique within the partnership (letters, digits, `.`, `_`, `-`): `/done ID` names it.
    /// Default: a slug of the title (ASCII letters and digits lowercased, every other run of
    /// characters a `-`, none at either end, at most 64 characters).
    pub id: String,
    /// `kind = "deliverable" | "meeting"` (default `deliverable`).
    pub kind: DeliverableKind,
    /// What is due.
    pub title: String,
    /// The member city responsible.
    pub owner: String,
    /// When it falls due: a date is due at its end (24:00) in the owner city's time zone; a
    /// date-time is due then.
    pub due: DateTime<Utc>,
    /// `due` as written, for texts: a date, or a date-time with the offset it was written with.
    pub due_as_written: Due,
    /// Reminders before `due`, each this long before it (`remind`, default `["7d", "1d"]`;
    /// may be empty): longest first, no duplicates, each above zero and at most 366 days.
    pub remind: Vec<Duration>,
    /// Reminders once overdue, at most (`overdue_reminders`, default 3; 0: none): the first when
    /// it falls due, then one a week.
    pub overdue_reminders: u32,
}

impl Deliverable {
    /// `remind` when not given: a week and a day before.
    pub const DEFAULT_REMIND: [Duration; 2] = [Duration::from_secs(7 * 86_400), Duration::from_secs(86_400)];
    /// `overdue_reminders` when not given.
    pub const DEFAULT_OVERDUE_REMINDERS: u32 = 3;
}

/// What a deliverable is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeliverableKind {
    /// Work the owner hands in (`"deliverable"`, the default): reminders go to the owner.
    #[default]
    Deliverable,
    /// A meeting (`"meeting"`): reminders go to every member.
    Meeting,
}

/// A deliverable's `due` as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// A date (`"2027-01-15"` or a TOML date): due at the end of that day, in the owner city's
    /// time zone.
    Date(NaiveDate),
    /// An RFC 3339 date-time with its offset (`"2027-01-15T10:00:00+01:00"` or a TOML offset
    /// date-time).
    DateTime(DateTime<FixedOffset>),
}

impl Due {
    /// The instant it falls due, for an owner in `zone`: the end of a date is the start of the
    /// next day there (the first instant after it, should clocks change at midnight).
    pub fn resolve(self, zone: chrono_tz::Tz) -> Option<DateTime<Utc>> {
        match self {
            Due::Date(date) => Some(crate::local_time::local_instant(zone, date.succ_opt()?.and_time(NaiveTime::MIN))),
            Due::DateTime(at) => Some(at.with_timezone(&Utc)),
        }
    }
}

impl std::fmt::Display for Due {
    /// `2027-01-15`, or `2027-01-15T10:00:00+01:00` (RFC 3339; an offset of zero as `Z`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Due::Date(date) => write!(f, "{}", date.format("%Y-%m-%d")),
            Due::DateTime(at) => f.write_str(&at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        }
    }
}

/// The TOML spelling of each keyword enum, both ways.
macro_rules! keywords {
    ($ty:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The spelling used in the config file.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($ty::$variant),)+
                    other => Err(format!(
                        "unknown value {other:?} (expected {})",
                        crate::model::one_of(&[$($text),+])
                    )),
                }
            }
        }
    };
}

keywords!(CommitMode { Group = "group", Each = "each" });
keywords!(StoreEngine { Sled = "sled", Redb = "redb" });
keywords!(Security { Tls = "tls", Starttls = "starttls", None = "none" });
keywords!(SenderAuth { Require = "require", IfPresent = "if-present" });
keywords!(CityKind { City = "city", Lga = "lga" });
keywords!(PartnershipKind {
    CityCity = "city-city",
    MultiCity = "multi-city",
    CityLga = "city-lga",
    LgaLga = "lga-lga",
});
keywords!(OtherChannelRule { Relay = "relay", Reject = "reject" });
keywords!(ReplyFrom { Each = "each", Any = "any" });
keywords!(DeliverableKind { Deliverable = "deliverable", Meeting = "meeting" });
keywords!(DigestEvery { Weekly = "weekly", Daily = "daily" });
keywords!(KpiMeasure {
    MedianFirstReply = "median_first_reply",
    P90FirstReply = "p90_first_reply",
    DeliverablesOnTime = "deliverables_on_time",
    Messages = "messages",
    OverdueThreads = "overdue_threads",
    OffLanguage = "off_language",
});

/// `"a"`, `"a" or "b"`, `"a", "b" or "c"`.
pub(crate) fn one_of(options: &[&str]) -> String {
    let quoted: Vec<String> = options.iter().map(|o| format!("{o:?}")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

impl Security {
    /// The usual IMAP port for this security.
    pub fn default_imap_port(self) -> u16 {
        match self {
            Security::Tls => 993,
            Security::Starttls | Security::None => 143,
        }
    }

    /// The usual SMTP port for this security.
    pub fn default_smtp_port(self) -> u16 {
        match self {
            Security::Tls => 465,
            Security::Starttls => 587,
            Security::None => 25,
        }
    }
}
