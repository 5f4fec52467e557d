//! The command line: `run`, `check-config`, `directory`, the admin's commands that ask the
//! running daemon (`status`, `conversations`, `report`, `outbox`, `outbox retry`, `close`,
//! `deliverable done`, `reload`), `tag-language`, two helpers for cities integrating by
//! webhook (`webhook-send`, `webhook-listen`), and `peer keygen` for federation.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// c2c-bridge: partner cities message each other from the clients their officers already use.
#[derive(Debug, Parser)]
#[command(name = "c2c-bridge", version, about)]
pub struct Cli {
    /// Log format for `run`: `text` or `json`. The level comes from `C2C_LOG` (default `info`).
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon.
    Run {
        #[arg(long, env = "C2C_CONFIG")]
        config: PathBuf,
    },
    /// Validate a config file: exit 0 with a one-line summary, or 2 with every problem as
    /// file:line:column: path: what is wrong.
    CheckConfig {
        #[arg(long, env = "C2C_CONFIG")]
        config: PathBuf,
        /// Also check that every secret the config names (`*_env`, `*_file`) is there.
        #[arg(long)]
        env: bool,
    },
    /// Each connector up, degraded or down (since when, its last error), the outbox's depth and
    /// its oldest pending delivery. Asks the running daemon.
    Status {
        #[command(flatten)]
        daemon: Daemon,
        #[arg(long)]
        json: bool,
    },
    /// Open threads, who owes a reply, and deliveries that are stuck or failed.
    Conversations {
        #[arg(long, env = "C2C_CONFIG")]
        config: PathBuf,
        /// Ask the running daemon as this `[[admins]]` entry (default: the `[bridge]` admin).
        #[arg(long, env = "C2C_ADMIN")]
        admin: Option<String>,
        #[arg(long)]
        partnership: Option<String>,
        #[arg(long)]
        json: bool,
        /// One page of at most this many conversations (at most 1000), in id order (the order
        /// they were opened in); without it or `--after`, every conversation, oldest first.
        #[arg(long)]
        limit: Option<usize>,
        /// The page after this conversation (the last of the page before).
        #[arg(long)]
        after: Option<String>,
    },
    /// Who to contact in which city, about which topics, for which partnership, on which
    /// channel, in which languages, and whether it is working hours there now. Reads the config
    /// only (works while the daemon runs).
    Directory {
        #[arg(long, env = "C2C_CONFIG")]
        config: PathBuf,
        /// Only this city (its id or name).
        #[arg(long)]
        city: Option<String>,
        /// Only the members of this partnership.
        #[arg(long)]
        partnership: Option<String>,
        /// Only the contacts who list this topic.
        #[arg(long)]
        topic: Option<String>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
        /// The time to show local times and working hours at (RFC 3339, e.g.
        /// 2027-01-06T10:00:00+01:00), instead of now.
        #[arg(long)]
        at: Option<String>,
    },
    /// A partnership's post-activity report (Template 1.0): messages per member and per week,
    /// first-reply times, threads open / overdue / closed, languages, deliverables, failed
    /// deliveries and its KPIs. Asks the running daemon (its admin API); when none answers,
    /// reads the store itself. Says which on stderr.
    Report {
        #[arg(long, env = "C2C_CONFIG")]
        config: PathBuf,
        /// Ask the running daemon as this `[[admins]]` entry (default: the `[bridge]` admin).
        #[arg(long, env = "C2C_ADMIN")]
        admin: Option<String>,
        #[arg(long)]
        partnership: String,
        /// From this date (its 00:00 UTC) or RFC 3339 time; default: the day of the first post.
        #[arg(long)]
        since: Option<String>,
        /// Up to this date (its 00:00 UTC, not included) or RFC 3339 time; default: now.
        #[arg(long)]
        until: Option<String>,
        /// `text`, `json` (the admin API's shape) or `html` (one self-contained page).
        #[arg(long, default_value = "text", value_parser = ["text", "json", "html"])]
        format: String,
    },
    /// Deliveries not delivered: failed for good (`--status failed`), pending (`--status
    /// pending`), or both; `outbox retry ID` schedules a failed one again. Asks the running
    /// daemon.
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Outbox {
        // Required unless `retry` is given (an `Option` so that the subcommand can go without).
        #[arg(long, env = "C2C_CONFIG", required = true)]
        config: Option<PathBuf>,
        /// Ask as this `[[admins]]` entry, with its token (default: the `[bridge]` admin).
        #[arg(long, env = "C2C_ADMIN")]
        admin: Option<String>,
        #[arg(long, value_parser = ["failed", "pending"])]
        status: Option<String>,
        #[arg(long)]
        partnership: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        action: Option<OutboxAction>,
    },
    /// Close a conversation, as a member's `/close` does (who owes a reply is settled, reminders
    /// end). Asks the running daemon.
    Close {
        #[command(flatten)]
        daemon: Daemon,
        /// The conversation's id (`c2c-bridge conversations` lists them).
        id: String,
    },
    /// Read the config file again, with the same checks as SIGHUP; a bad config is refused with
    /// every problem listed (exit 2) and the running one stays. Asks the running daemon (an
    /// all-scope admin).
    Reload {
        #[command(flatten)]
        daemon: Daemon,
    },
    /// Deliverables and meetings.
    Deliverable {
        #[command(subcommand)]
        action: DeliverableAction,
    },
    /// Federation with other instances (peers).
    Peer {
        #[command(subcommand)]
        action: PeerAction,
    },
    /// Tools for the store of a stopped daemon.
    Store {
        #[command(subcommand)]
        action: StoreAction,
    },
    /// Tag each line of stdin with a language: prints `code<TAB>confidence<TAB>script` per line.
    TagLanguage {
        /// Restrict detection to the languages this config mentions.
        #[arg(long, conflicts_with = "languages")]
        config: Option<PathBuf>,
        /// Restrict detection to these languages (comma-separated codes).
        #[arg(long, value_delimiter = ',')]
        languages: Vec<String>,
        /// The author's known languages, most preferred first (repeatable).
        #[arg(long = "prior")]
        priors: Vec<String>,
        /// Print the languages the tagger knows (`code<TAB>name`) and exit; stdin is not read.
        #[arg(long, conflicts_with = "explain")]
        list: bool,
        /// Also print why: the deciding layer (`script`, `detector`, `lexical`, `prior`), the
        /// second-best candidate and its confidence (`-` when none).
        #[arg(long)]
        explain: bool,
    },
    /// Post one signed message to the bridge as a webhook city's system would.
    WebhookSend {
        #[arg(long, env = "C2C_CONFIG")]
        config: PathBuf,
        /// The city whose system is posting (its secret signs the request).
        #[arg(long)]
        city: String,
        /// The contact id of the author.
        #[arg(long)]
        from: String,
        #[arg(long)]
        partnership: Option<String>,
        #[arg(long)]
        conversation: Option<String>,
        #[arg(long)]
        thread_key: Option<String>,
        #[arg(long)]
        subject: Option<String>,
        /// The webhook-id (default: a fresh one).
        #[arg(long)]
        id: Option<String>,
        /// Where to post (default: http://LISTEN/hooks/CITY from the config).
        #[arg(long)]
        url: Option<String>,
        /// The message text.
        #[arg(required = true)]
        text: Vec<String>,
    },
    /// Receive the bridge's webhooks, verify their signatures with the city the URL belongs to,
    /// and print them: a stand-in for cities' own systems while testing.
    WebhookListen {
        #[arg(long, env = "C2C_CONFIG")]
        config: PathBuf,
        /// Only this city (default: every webhook city whose URL is on the listen address).
        #[arg(long)]
        city: Option<String>,
        /// Address to listen on (default: the host and port of the first matching city's URL).
        #[arg(long)]
        listen: Option<String>,
    },
}

/// Where the running daemon is, and who asks it: its admin API at `[bridge] listen`, with the
/// token of the `[bridge]` admin or of the `[[admins]]` entry named.
#[derive(Debug, Args)]
pub struct Daemon {
    #[arg(long, env = "C2C_CONFIG")]
    pub config: PathBuf,
    /// Ask as this `[[admins]]` entry, with its token (default: the `[bridge]` admin).
    #[arg(long, env = "C2C_ADMIN")]
    pub admin: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum OutboxAction {
    /// Schedule a delivery that failed for good again (it goes through the running daemon's
    /// scheduler, like a new one).
    Retry {
        #[command(flatten)]
        daemon: Daemon,
        /// The delivery's id (`c2c-bridge outbox --status failed` lists them).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DeliverableAction {
    /// Mark a deliverable or meeting done, which ends its reminders. Asks the running daemon
    /// (its admin API, with the admin token the config names): changes go through it.
    Done {
        #[arg(long, env = "C2C_CONFIG")]
        config: PathBuf,
        /// Ask as this `[[admins]]` entry (default: the `[bridge]` admin).
        #[arg(long, env = "C2C_ADMIN")]
        admin: Option<String>,
        /// Its id (`[[partnerships.deliverables]] id`).
        id: String,
        /// The partnership, needed when several have a deliverable with this id.
        #[arg(long)]
        partnership: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum StoreAction {
    /// Read every record: each must decode, every outbox entry point to a stored message,
    /// every id-map entry to a stored conversation. Prints the records per kind and the
    /// problems (exit 1 if any). The daemon must be stopped.
    Check {
        #[arg(long, env = "C2C_CONFIG")]
        config: PathBuf,
        #[arg(long)]
        json: bool,
        /// Drop every record with a problem (and what points to a dropped record), durably,
        /// saying which; then check again. Export the store first: what is dropped is gone.
        #[arg(long, conflicts_with = "json")]
        repair: bool,
    },
    /// Give disk back: copy the live records into a new store, check the copy, and put it in
    /// the store's place (sled does not shrink its files when records are deleted). The daemon
    /// must be stopped.
    Compact {
        #[arg(long, env = "C2C_CONFIG")]
        config: PathBuf,
        /// Keep the old store as `store.before-compact` instead of removing it.
        #[arg(long)]
        keep_old: bool,
    },
    /// Copy the store into a new one on another engine (`sled` or `redb`), check that it holds
    /// the same records, and put it in the store's place (the old one is kept beside it). Then
    /// set `[bridge] store` to that engine. The daemon must be stopped.
    Migrate {
        #[arg(long, env = "C2C_CONFIG")]
        config: PathBuf,
        /// The engine to move to.
        #[arg(long, value_parser = ["sled", "redb"])]
        to: String,
    },
    /// Write every record as JSON lines (a header, one line per record, a last line with the
    /// count), for a backup or a move to another version or backend. The daemon must be stopped.
    Export {
        #[arg(long, env = "C2C_CONFIG")]
        config: PathBuf,
        /// Where to write (a new file, made 0600); `-` for stdout.
        #[arg(long)]
        out: PathBuf,
    },
    /// Make the config's store from an export (never over an existing one), then open and check
    /// it. A cut-short or inconsistent export is refused and nothing is left behind.
    Import {
        #[arg(long, env = "C2C_CONFIG")]
        config: PathBuf,
        /// The export to read; `-` for stdin.
        #[arg(long)]
        from: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum PeerAction {
    /// Make this instance's federation key (ed25519): write the secret key (`whsk_...`) to a new
    /// file of mode 0600, for `[federation] key_file`, and print the public key (`whpk_...`) on
    /// stdout, for the peers' admins to pin in their `[[peers]] public_keys`.
    Keygen {
        /// The file to write (refused if it exists, unless `--force`).
        #[arg(long)]
        out: PathBuf,
        /// Replace an existing file. Its key is lost: peers that pinned only its public key
        /// refuse this instance until they pin the new one.
        #[arg(long)]
        force: bool,
    },
}
