//! The c2c-bridge config file: typed, validated, and every problem reported at once as
//! `file:line:column: dotted.path: what is wrong`.
//!
//! ```no_run
//! # use std::path::Path;
//! match c2c_config::Config::load(Path::new("config/example.toml")) {
//!     Ok(config) => println!("{}", config.summary()),
//!     Err(errors) => eprintln!("{errors}"), // one problem per line
//! }
//! ```
//!
//! The shape of the file is a public contract (`../shared/design/config-example.toml`):
//! field names never change, fields may be added. Secrets never sit in the file: a secret is
//! named by `X_env` (an environment variable) or `X_file` (a file), and read only by
//! [`Config::check_secrets`] / [`SecretRef::resolve`].
//!
//! # Layout
//! - `config`: the [`Config`] type: `load`, `parse`, `check_secrets`, look-ups.
//! - `model`: the typed sections ([`Bridge`], [`Federation`], [`Peer`], [`Connectors`],
//!   [`City`], [`Partnership`], [`Admin`], ...),
//!   and the follow-up vocabulary: a city's [`WorkingTime`], a deliverable's [`Due`].
//! - `local_time`: [`local_instant`], a local time in a zone to an instant, across DST changes.
//! - `secret`: [`SecretRef`] and the redacted [`Secret`].
//! - `error`, `location`: [`ConfigError`] / [`ConfigErrors`], [`Location`]; byte offsets to
//!   line/column.
//! - `reader`: reads the spanned TOML tree (`toml::de::DeTable`) key by key: types, missing
//!   and unknown keys, inline secrets, each reported where it stands (instead of serde derive,
//!   which stops at a struct's first error).
//! - `parse`: section by section, from the tree to the model, with per-value shape checks
//!   (time zones, durations, ids, addresses, language codes).
//! - `validate`: checks across sections (unique ids, members, kinds, agreed channels and
//!   the endpoints they need, peers and the cities they host).
//! - `diag`: the problems found so far and the position of every value, by dotted path.
//! - `formats`: shape checks of single values.

mod channels;
mod config;
mod diag;
mod error;
mod formats;
mod local_time;
mod location;
mod model;
mod parse;
mod reader;
mod secret;
mod validate;

pub use c2c_core::Channel;
pub use channels::{ChannelSpec, ContactKey, Endpoints, SPECS, Sender, spec};
pub use config::Config;
pub use error::{ConfigError, ConfigErrors};
pub use local_time::local_instant;
pub use location::Location;
pub use model::{
    Admin, AdminScope, Bridge, City, CityKind, CityWebhook, CommitMode, Connectors, Contact, Deliverable,
    DeliverableKind, Delivery, Digest, DigestEvery, Due, EmailConnector, Federation, Kpi, KpiMeasure, KpiTarget,
    MailServer, MatrixConnector, OtherChannelRule, Partnership, PartnershipKind, Peer, ReplyFrom, Security, SenderAuth,
    StoreEngine, WebhookConnector, Weekdays, WorkingHours, WorkingTime,
};
pub use secret::{Secret, SecretRef};
