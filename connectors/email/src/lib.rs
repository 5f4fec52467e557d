//! The email connector: officers write and answer from their own mail client (Thunderbird,
//! Outlook, Gmail), and everything the bridge sends them lands in the same thread.
//!
//! # Layout
//! - [`config`]: the connector's own settings (servers, folders, limits), filled by the daemon.
//! - [`parse`]: raw RFC 5322 mail → [`parse::ParsedMail`] (charsets, MIME, quoted-history and
//!   signature stripping, auto-replies, DSNs, Authentication-Results). Pure: no I/O.
//! - [`address`]: the bridge's `bridge+TOKEN@` addresses and `[c2c:SHORTID]` subject tags.
//! - [`convert`]: a parsed mail → an envelope with its conversation hints.
//! - [`classify`]: relay, refuse (and why) or bounce: the connector's decision about a mail.
//! - [`compose`]: a delivery → a mail in the recipient's thread; refusal replies.
//! - [`inbound`]: IMAP (IDLE or polling), cursor, flag and move after commit, reconnects.
//! - [`outbound`]: SMTP through a pooled lettre transport, errors classified 4xx/5xx.
//! - [`threading`]: each correspondent's thread (Message-IDs), stamped on deliveries at commit.
//! - [`tls`]: rustls toward mail servers (web PKI + an optional private CA).
//! - [`connector`]: [`EmailConnector`], the [`c2c_core::Connector`] for the email channel.

pub mod address;
pub mod classify;
pub mod compose;
pub mod config;
pub mod connector;
pub mod convert;
pub mod inbound;
pub mod outbound;
pub mod parse;
pub mod threading;
pub mod tls;

pub use config::{EmailSettings, Security, SenderAuth, Server};
pub use connector::EmailConnector;
pub use threading::EmailThreading;
