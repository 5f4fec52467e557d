//! What each command does. Exit codes: 0 success, 1 failure, 2 invalid config.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use c2c_config::Config;
use c2c_language::Tagger;
use clap::Parser;

use crate::admin_client::{AdminApi, NotRunning};
use crate::app::{self, BadConfig};
use crate::cli::{Cli, Command, Daemon, DeliverableAction, OutboxAction, PeerAction, StoreAction};
use crate::conversations::{self, ConversationView};
use crate::deliverables;
use crate::directory;
use crate::outbox::view::{self as outbox_view, EntryView};
use crate::report::{self, Format, Report};
use crate::status::{self, StatusView};

/// The running daemon refused a reload: its config has these problems (exit 2, like an invalid
/// config at `check-config`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ReloadRefused(String);

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(&cli.log_format);
    let result = match cli.command {
        Command::Run { config } => runtime().block_on(app::run(&config)),
        Command::CheckConfig { config, env } => return check_config(&config, env),
        Command::Status { daemon, json } => runtime().block_on(status_cmd(&daemon, json)),
        Command::Conversations { config, admin, partnership, json, limit, after } => {
            let page = (limit.is_some() || after.is_some())
                .then(|| (limit.unwrap_or(conversations::PAGE_DEFAULT), after.as_deref()));
            runtime().block_on(conversations_cmd(&config, admin.as_deref(), partnership.as_deref(), json, page))
        }
        Command::Directory { config, city, partnership, topic, json, at } => runtime().block_on(directory_cmd(
            &config,
            directory::Query { city, partnership, topic },
            json,
            at.as_deref(),
        )),
        Command::Report { config, admin, partnership, since, until, format } => runtime().block_on(report_cmd(
            &config,
            admin.as_deref(),
            &partnership,
            since.as_deref(),
            until.as_deref(),
            &format,
        )),
        Command::Outbox { action: Some(OutboxAction::Retry { daemon, id }), .. } => {
            runtime().block_on(outbox_retry(&daemon, &id))
        }
        Command::Outbox { config, admin, status, partnership, json, action: None } => {
            // clap requires --config without a subcommand.
            let daemon = Daemon { config: config.unwrap_or_default(), admin };
            runtime().block_on(outbox_cmd(&daemon, status.as_deref(), partnership.as_deref(), json))
        }
        Command::Close { daemon, id } => runtime().block_on(close(&daemon, &id)),
        Command::Reload { daemon } => runtime().block_on(reload(&daemon)),
        Command::Deliverable { action: DeliverableAction::Done { config, admin, id, partnership } } => {
            runtime().block_on(deliverable_done(&config, admin.as_deref(), &id, partnership.as_deref()))
        }
        Command::Peer { action: PeerAction::Keygen { out, force } } => peer_keygen(&out, force),
        Command::Store { action: StoreAction::Check { config, json, repair: false } } => {
            crate::store_tools::check(&config, json)
        }
        Command::Store { action: StoreAction::Check { config, repair: true, .. } } => {
            crate::store_tools::repair(&config)
        }
        Command::Store { action: StoreAction::Compact { config, keep_old } } => {
            crate::store_tools::compact(&config, keep_old)
        }
        Command::Store { action: StoreAction::Migrate { config, to } } => {
            let to = if to == "redb" { c2c_config::StoreEngine::Redb } else { c2c_config::StoreEngine::Sled };
            crate::store_tools::migrate(&config, to)
        }
        Command::Store { action: StoreAction::Export { config, out } } => crate::store_tools::export(&config, &out),
        Command::Store { action: StoreAction::Import { config, from } } => crate::store_tools::import(&config, &from),
        Command::TagLanguage { config, languages, priors, list, explain } => {
            if list {
                list_languages()
            } else {
                tag_language(config.as_deref(), &languages, &priors, explain)
            }
        }
        Command::WebhookSend { config, city, from, partnership, conversation, thread_key, subject, id, url, text } => {
            let post = c2c_webhook::wire::InboundPost {
                from,
                partnership,
                conversation,
                thread_key,
                subject,
                text: text.join(" "),
                html: None,
            };
            runtime().block_on(crate::webhook_tools::send(&config, &city, post, id, url))
        }
        Command::WebhookListen { config, city, listen } => {
            runtime().block_on(crate::webhook_tools::listen(&config, city.as_deref(), listen))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(bad) = e.downcast_ref::<BadConfig>() {
                eprintln!("{bad}");
                return ExitCode::from(2);
            }
            if let Some(refused) = e.downcast_ref::<ReloadRefused>() {
                eprintln!("{refused}");
                return ExitCode::from(2);
            }
            if let Some(other @ c2c_store::OpenError::OtherEngine { .. }) = e.downcast_ref::<c2c_store::OpenError>() {
                // The config names the wrong engine: a config error (exit 2, not restarted).
                eprintln!("c2c-bridge: {other}");
                return ExitCode::from(2);
            }
            if let Some(damaged @ c2c_store::OpenError::Damaged { .. }) = e.downcast_ref::<c2c_store::OpenError>() {
                // Restarting cannot mend it (the systemd unit does not retry exit 3).
                eprintln!("c2c-bridge: {damaged}");
                return ExitCode::from(3);
            }
            eprintln!("c2c-bridge: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("starting the async runtime")
}

fn init_tracing(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("C2C_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sled=warn,hyper=warn,reqwest=warn"))
        // async-imap logs each command it sends at trace level, `LOGIN user password` included:
        // never that, whatever C2C_LOG asks for.
        .add_directive("async_imap=info".parse().expect("a valid directive"));
    // Colours only on a terminal: a log file or journald gets plain text (NO_COLOR is honoured).
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn check_config(path: &Path, env: bool) -> ExitCode {
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(2);
        }
    };
    if env && let Err(errors) = config.check_secrets() {
        eprintln!("{errors}");
        return ExitCode::from(2);
    }
    // The federation keys as the daemon reads them: a `whsk_` key, in a file only its user reads.
    if env && let Err(errors) = crate::channels::federation_keys(&config) {
        eprintln!("{errors}");
        return ExitCode::from(2);
    }
    if let Some(problem) = config.connectors.email.as_ref().and_then(|e| e.sender_auth_problem()) {
        eprintln!("{}: {problem}", path.display());
        return ExitCode::from(2);
    }
    println!("{}: ok: {}", path.display(), config.summary());
    ExitCode::SUCCESS
}

/// `conversations`: every conversation, or with `page` (`--limit`, `--after`) one page.
async fn conversations_cmd(
    path: &Path,
    admin: Option<&str>,
    partnership: Option<&str>,
    json: bool,
    page: Option<(usize, Option<&str>)>,
) -> anyhow::Result<()> {
    let config = Config::load(path).map_err(|e| anyhow::Error::new(BadConfig(e)))?;
    if let Some(p) = partnership
        && config.partnership(p).is_none()
    {
        anyhow::bail!("no partnership `{p}` in {}", path.display());
    }
    let after = match page.and_then(|(_, after)| after) {
        Some(a) => Some(
            a.parse::<c2c_core::ConversationId>()
                .map_err(|_| anyhow::anyhow!("--after: `{a}` is not a conversation id"))?,
        ),
        None => None,
    };
    let store_dir = config.bridge.data_dir.join("store");
    let views = match store_dir.exists().then(|| crate::store_open::Opened::open(&config, std::time::Duration::ZERO)) {
        Some(Ok(store)) => match page {
            Some((limit, _)) => {
                let now = c2c_core::now_ms();
                conversations::page_at(store.as_store(), &config, partnership, &|_| true, after, limit, now)?.views
            }
            None => conversations::collect(store.as_store(), &config, partnership)?,
        },
        // The running daemon holds the store's lock: ask it instead.
        Some(Err(open_err)) => from_daemon(&config, admin, partnership, page).await.with_context(|| {
            format!("the store is not readable directly ({open_err}), and asking the running daemon failed")
        })?,
        None => from_daemon(&config, admin, partnership, page)
            .await
            .with_context(|| format!("there is no store at {}, and asking the daemon failed", store_dir.display()))?,
    };
    if let Some((limit, _)) = page
        && views.len() >= conversations::page_size(limit)
        && let Some(last) = views.last()
    {
        eprintln!("a full page: the next one may follow with --after {}", last.conversation);
    }
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &views)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", conversations::render_text(&views))?;
    }
    Ok(())
}

async fn from_daemon(
    config: &Config,
    admin: Option<&str>,
    partnership: Option<&str>,
    page: Option<(usize, Option<&str>)>,
) -> anyhow::Result<Vec<ConversationView>> {
    let limit = page.map(|(limit, _)| limit.to_string());
    let mut query: Vec<(&str, &str)> = partnership.map(|p| ("partnership", p)).into_iter().collect();
    query.extend(limit.as_deref().map(|l| ("limit", l)));
    query.extend(page.and_then(|(_, after)| after).map(|a| ("after", a)));
    AdminApi::new(config, admin)?.get("/api/conversations", &query).await
}

/// The config `daemon` names and the client of its admin API.
fn daemon_api(daemon: &Daemon) -> anyhow::Result<(Config, AdminApi)> {
    let config = Config::load(&daemon.config).map_err(|e| anyhow::Error::new(BadConfig(e)))?;
    let api = AdminApi::new(&config, daemon.admin.as_deref())?;
    Ok((config, api))
}

/// Print `value` as JSON, or as `text` renders it.
fn print<T: serde::Serialize>(value: &T, json: bool, text: impl FnOnce(&T) -> String) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, value)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", text(value))?;
    }
    Ok(())
}

/// `status`: the running daemon's connectors and outbox.
async fn status_cmd(daemon: &Daemon, json: bool) -> anyhow::Result<()> {
    let (_, api) = daemon_api(daemon)?;
    let view: StatusView = api.get("/api/status", &[]).await?;
    print(&view, json, status::render_text)
}

/// `outbox`: deliveries failed for good and pending, from the running daemon.
async fn outbox_cmd(
    daemon: &Daemon,
    status: Option<&str>,
    partnership: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let (config, api) = daemon_api(daemon)?;
    if let Some(p) = partnership
        && config.partnership(p).is_none()
    {
        anyhow::bail!("no partnership `{p}` in {}", daemon.config.display());
    }
    let query: Vec<(&str, &str)> =
        status.map(|s| ("status", s)).into_iter().chain(partnership.map(|p| ("partnership", p))).collect();
    let entries: Vec<EntryView> = api.get("/api/outbox", &query).await?;
    print(&entries, json, |e| outbox_view::render_text(e))
}

/// `outbox retry ID`: schedule a failed delivery again, through the running daemon.
async fn outbox_retry(daemon: &Daemon, id: &str) -> anyhow::Result<()> {
    let (_, api) = daemon_api(daemon)?;
    let answer = api.post(&format!("/api/outbox/{id}/retry"), None).await?;
    let partnership = answer["partnership"].as_str().unwrap_or("-");
    println!("delivery {id} ({partnership}) is scheduled again");
    Ok(())
}

/// `close ID`: close a conversation, through the running daemon.
async fn close(daemon: &Daemon, id: &str) -> anyhow::Result<()> {
    let (_, api) = daemon_api(daemon)?;
    let answer = api.post(&format!("/api/conversations/{id}/close"), None).await?;
    let (partnership, at) =
        (answer["partnership"].as_str().unwrap_or("-"), answer["closed_at"].as_str().unwrap_or("-"));
    match answer["result"].as_str() {
        Some("already closed") => println!("conversation {id} ({partnership}) was already closed, since {at}"),
        _ => println!("conversation {id} ({partnership}) is closed"),
    }
    Ok(())
}

/// `reload`: the running daemon reads its config again; a bad one is refused with its problems.
async fn reload(daemon: &Daemon) -> anyhow::Result<()> {
    // The file names where the daemon listens and the token: one that does not parse is not
    // sent for (the daemon would refuse it for the same problems).
    if let Err(errors) = Config::load(&daemon.config) {
        let said = "the config has problems; the daemon was not asked to reload, and its running config stays";
        return Err(ReloadRefused(format!("{errors}\nc2c-bridge: {said}")).into());
    }
    let (_, api) = daemon_api(daemon)?;
    let (status, answer) = api.post_answer("/api/reload").await?;
    if status == 422 {
        let problems: Vec<&str> =
            answer["problems"].as_array().map(|p| p.iter().filter_map(|p| p.as_str()).collect()).unwrap_or_default();
        let said = answer["error"].as_str().unwrap_or("the config has problems");
        return Err(ReloadRefused(format!(
            "{}
c2c-bridge: reload refused: {said}",
            problems.join(
                "
"
            )
        ))
        .into());
    }
    println!("config reloaded: {}", answer["summary"].as_str().unwrap_or("-"));
    let waiting: Vec<&str> =
        answer["restart_needed"].as_array().map(|k| k.iter().filter_map(|k| k.as_str()).collect()).unwrap_or_default();
    if !waiting.is_empty() {
        println!("these changes take effect at the next restart: {}", waiting.join(", "));
    }
    Ok(())
}

/// `report`: from the running daemon's admin API, which holds the store (the report is made at
/// its clock); when nothing answers there, from the store, opened here (it is only read). The
/// partnership and dates are checked against the config first, so a typo is told either way.
async fn report_cmd(
    path: &Path,
    admin: Option<&str>,
    partnership: &str,
    since: Option<&str>,
    until: Option<&str>,
    format: &str,
) -> anyhow::Result<()> {
    let config = Config::load(path).map_err(|e| anyhow::Error::new(BadConfig(e)))?;
    let Some(p) = config.partnership(partnership) else {
        anyhow::bail!("no partnership `{partnership}` in {}", path.display());
    };
    let format: Format = format.parse().map_err(|e: String| anyhow::anyhow!(e))?;
    let when = |flag: &str, text: Option<&str>| {
        text.map(report::parse_when).transpose().map_err(|e| anyhow::anyhow!("--{flag}: {e}"))
    };
    let (since_ms, until_ms) = (when("since", since)?, when("until", until)?);
    if let (Some(s), Some(u)) = (since_ms, until_ms)
        && u <= s
    {
        anyhow::bail!("the period is empty: --until must be after --since");
    }

    let api = AdminApi::new(&config, admin);
    let asked = match &api {
        Ok(api) => {
            let query: Vec<(&str, &str)> =
                [("since", since), ("until", until)].into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect();
            match api.get::<Report>(&format!("/api/partnerships/{partnership}/report"), &query).await {
                Ok(r) => Some(r),
                Err(e) if e.downcast_ref::<NotRunning>().is_some() => None,
                Err(e) => return Err(e),
            }
        }
        Err(_) => None,
    };
    let report = match asked {
        Some(r) => {
            eprintln!(
                "c2c-bridge: report made by the running daemon at {}",
                api.as_ref().map(|a| a.base()).unwrap_or("?")
            );
            r
        }
        None => {
            let why = match &api {
                Ok(api) => format!("no daemon answers at {}", api.base()),
                Err(e) => format!("the daemon's admin API cannot be asked: {e:#}"),
            };
            let store_dir = config.bridge.data_dir.join("store");
            if !store_dir.exists() {
                anyhow::bail!(
                    "{why}, and there is no store at {} (has the daemon run with this config?)",
                    store_dir.display()
                );
            }
            let store = crate::store_open::Opened::open(&config, std::time::Duration::ZERO).map_err(|e| {
                anyhow::anyhow!("{why}, and the store is not readable directly ({e}): is the daemon running?")
            })?;
            eprintln!("c2c-bridge: report read from the store at {} ({why})", store_dir.display());
            report::compute(store.as_store(), &config, p, since_ms, until_ms, c2c_core::now_ms())?
        }
    };
    let mut out = std::io::stdout().lock();
    out.write_all(report.render(format).as_bytes())?;
    out.flush()?;
    Ok(())
}

/// `deliverable done`: through the running daemon, which holds the store and commits the change
/// (ending the deliverable's reminders) like a `/done` in a thread. The id is checked against
/// the config file first, so a typo is told even when the daemon is not running.
async fn deliverable_done(path: &Path, admin: Option<&str>, id: &str, partnership: Option<&str>) -> anyhow::Result<()> {
    let config = Config::load(path).map_err(|e| anyhow::Error::new(BadConfig(e)))?;
    deliverables::find(&config, id, partnership, |_| true).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let body = partnership.map(|p| serde_json::json!({ "partnership": p }));
    let answer = AdminApi::new(&config, admin)?.post(&format!("/api/deliverables/{id}/done"), body.as_ref()).await?;
    println!("{}", answer["result"].as_str().unwrap_or("done"));
    Ok(())
}

/// `directory`: from the config file, at the wall clock's now (or `--at`); the cities peers
/// host as their home instances describe them (asked now, signed with this instance's key).
async fn directory_cmd(path: &Path, query: directory::Query, json: bool, at: Option<&str>) -> anyhow::Result<()> {
    let config = Config::load(path).map_err(|e| anyhow::Error::new(BadConfig(e)))?;
    let now = match at {
        Some(text) => chrono::DateTime::parse_from_rfc3339(text)
            .with_context(|| format!("--at {text:?} is not an RFC 3339 time such as 2027-01-06T10:00:00+01:00"))?
            .to_utc(),
        None => chrono::DateTime::from_timestamp_millis(crate::clock::Clock::wall().now()).unwrap_or_default(),
    };
    let mut found =
        directory::build(&config, now, &query, None).map_err(|e| anyhow::anyhow!("{e} in {}", path.display()))?;
    if found.cities.iter().any(|c| c.instance.is_some()) || query.topic.is_some() {
        match crate::channels::federation_keys(&config) {
            Ok(Some(keys)) => {
                let (merged, problems) =
                    crate::peer_directory::with_peers(&config, &keys, found, &query, std::time::Duration::from_secs(5))
                        .await;
                found = merged;
                for p in problems {
                    eprintln!("c2c-bridge: {p}");
                }
            }
            Ok(None) => {}
            Err(e) => eprintln!("c2c-bridge: peers not asked: {e}"),
        }
    }
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &found)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", directory::render_text(&found, &query))?;
    }
    Ok(())
}

/// `peer keygen`: the public key on stdout (alone, for scripts), where the secret went on stderr.
fn peer_keygen(out: &Path, force: bool) -> anyhow::Result<()> {
    use c2c_webhook::signature::key_file::{self, KeyFileError};
    let public = key_file::generate(out, force).map_err(|e| match e {
        KeyFileError::Exists(_) => anyhow::anyhow!(
            "{e}: --force replaces it, and its key is lost (peers that pinned its public key would refuse \
             this instance until they pin the new one)"
        ),
        e => e.into(),
    })?;
    println!("{public}");
    eprintln!(
        "c2c-bridge: the secret key is in {} (mode 0600; name it in [federation] key_file); the public key \
         above is for the peers' [[peers]] public_keys",
        out.display()
    );
    Ok(())
}

/// `tag-language --list`: every language the tagger knows, `code<TAB>name`, sorted by code.
fn list_languages() -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (code, name) in c2c_language::known_languages() {
        writeln!(out, "{code}\t{name}")?;
    }
    out.flush()?;
    Ok(())
}

fn tag_language(config: Option<&Path>, languages: &[String], priors: &[String], explain: bool) -> anyhow::Result<()> {
    let tagger = match (config, languages.is_empty()) {
        (Some(path), _) => {
            let config = Config::load(path).map_err(|e| anyhow::Error::new(BadConfig(e)))?;
            Tagger::new(config.languages_mentioned())
        }
        (None, false) => {
            for l in languages {
                if !c2c_language::is_valid_code(l) {
                    anyhow::bail!("`{l}` is not an ISO 639-1 or 639-3 language code");
                }
            }
            Tagger::new(languages)
        }
        (None, true) => Tagger::all_languages(),
    };
    let stdin = std::io::stdin().lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in stdin.lines() {
        let line = line.context("reading stdin")?;
        if explain {
            let why = tagger.explain(&line, priors);
            let (second, second_confidence) = match &why.second {
                Some((code, confidence)) => (code.as_str(), format!("{confidence:.2}")),
                None => ("-", "-".to_string()),
            };
            let tag = &why.tag;
            writeln!(
                out,
                "{}\t{:.2}\t{}\t{}\t{second}\t{second_confidence}",
                tag.code, tag.confidence, tag.script, why.layer
            )?;
        } else {
            let tag = tagger.tag(&line, priors);
            writeln!(out, "{}\t{:.2}\t{}", tag.code, tag.confidence, tag.script)?;
        }
    }
    out.flush()?;
    Ok(())
}
