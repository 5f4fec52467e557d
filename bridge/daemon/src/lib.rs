//! The c2c-bridge daemon: router, outbox scheduler, HTTP listener and command line, on top of
//! the core vocabulary (`c2c-core`), the store (`c2c-store`), the config (`c2c-config`), the
//! language tagger (`c2c-language`) and the connectors (`c2c-webhook`, …).
//!
//! # Layout
//! - [`app`]: `run`: start-up, wiring, drain on SIGTERM; [`reload`]: the config reload (SIGHUP
//!   and `POST /api/reload`); [`channels`]: each channel's settings, connector and routes.
//! - [`router`]: envelope → identified, tagged, committed message and outbox entries.
//! - [`outbox`]: the delivery scheduler and retry schedule.
//! - [`followup`]: the follow-up loop (stored timers handed to the committer when due);
//!   [`clock`]: the one clock everything timed reads (manual in tests).
//! - [`retention`]: the sweep that forgets conversations past `retention` and expired dedupe
//!   answers (the committer does the deleting, in `router::retention`); [`retention_pace`]: how
//!   big its pieces are and how long it rests between them.
//! - [`http`]: `/healthz`, `/metrics`, `/api/...`, plus connectors' routes; [`admins`]: who
//!   may use the admin API and on which partnerships (bearer tokens, city scopes).
//! - [`serve`]: the accept loop: connection limit, header deadline, graceful stop.
//! - [`metrics`]: every metric, in one place.
//! - [`conversations`]: the admin view of threads and deliveries.
//! - [`deliverables`]: the admin view of deliverables and meetings, and which one an id names.
//! - [`directory`]: who to contact in which city about what, on which channel, and whether it
//!   is working hours there (the `directory` command, `GET /api/directory`, `/who`).
//! - [`report`]: a partnership's post-activity report (text, JSON, HTML) and its KPIs.
//! - [`status`]: the admin view of connectors (up, degraded, down) and the outbox's depth.
//! - [`cli`] and [`commands`]: the command line; [`admin_client`]: its client of the running
//!   daemon's admin API.
//! - [`webhook_tools`]: `webhook-send` / `webhook-listen`, a city's system on the command line.
//! - [`live`], [`sanitize`]: small helpers.

pub mod admin_client;
pub mod admins;
pub mod app;
pub mod channels;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod conversations;
pub mod deliverables;
pub mod directory;
pub mod followup;
pub mod followup_due;
#[cfg(test)]
mod followup_tests;
pub mod http;
pub mod live;
pub mod metrics;
pub mod outbox;
pub mod peer_directory;
pub mod reload;
pub mod report;
pub mod retention;
pub mod retention_pace;
#[cfg(test)]
mod retention_tests;
pub mod router;
pub mod sanitize;
pub mod serve;
pub mod status;
pub mod store_open;
pub mod store_tools;
pub mod supervise;
pub mod webhook_tools;
