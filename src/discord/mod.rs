//! The Discord front: turns slash commands, mentions, direct messages and button presses into
//! questions, and answers into replies. Everything it says comes from the answering engine.

pub mod ask;
pub mod authored;
pub mod commands;
pub mod events;
pub mod guard;
pub mod metrics;
pub mod reloads;
pub mod reply;
pub mod state;
pub mod watch;

use std::future::Future;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use secrecy::{ExposeSecret, SecretString};
use serenity::all::{ClientBuilder, GatewayIntents, GuildId, HttpBuilder};

use crate::config::{Config, Shards};
use state::State;

pub type Error = anyhow::Error;
pub type Context<'a> = poise::Context<'a, Arc<State>, Error>;

/// How long the gateway has to close after SIGTERM or Ctrl-C. With [`LOG_FLUSH_DEADLINE`] it
/// stays under Docker's 10 seconds before SIGKILL (systemd's unit allows 20).
const SHUTDOWN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(4);

/// How long the question log's queued rows have to be written when the bot stops.
const LOG_FLUSH_DEADLINE: std::time::Duration = std::time::Duration::from_secs(4);

/// The environment variable the command line reads the token from, before the settings.
pub const TOKEN_ENV: &str = "DISCORD_TOKEN";

/// The environment variable naming a file that holds the token (a Docker secret, or a systemd
/// credential: `LoadCredential=` with `%d/...`).
pub const TOKEN_FILE_ENV: &str = "DISCORD_TOKEN_FILE";

/// The token from the environment: `DISCORD_TOKEN`, else the file `DISCORD_TOKEN_FILE` names
/// (trimmed). `None` when neither is set; an unreadable or empty file is an error naming the
/// file, never its content.
pub fn token_from_env() -> anyhow::Result<Option<SecretString>> {
    token_from(
        std::env::var(TOKEN_ENV).ok(),
        std::env::var_os(TOKEN_FILE_ENV).map(std::path::PathBuf::from),
    )
}

/// [`token_from_env`] for the values of its two variables.
fn token_from(
    token: Option<String>,
    file: Option<std::path::PathBuf>,
) -> anyhow::Result<Option<SecretString>> {
    if let Some(token) = token.filter(|t| !t.trim().is_empty()) {
        return Ok(Some(token.trim().to_string().into()));
    }
    let Some(path) = file.filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        anyhow::anyhow!(
            "cannot read the Discord token from {} ({TOKEN_FILE_ENV}): {}; fix: make the file \
             readable by the bot's user, or set {TOKEN_ENV} instead",
            path.display(),
            e.kind()
        )
    })?;
    let token = text.trim();
    if token.is_empty() {
        bail!(
            "the Discord token file {} ({TOKEN_FILE_ENV}) is empty; fix: write the token from \
             the Bot page of your application into it",
            path.display()
        );
    }
    Ok(Some(token.to_string().into()))
}

/// The token from the settings (the command line puts `DISCORD_TOKEN` there first). Errors say
/// where to put it and never include it.
pub fn token(config: &Config) -> anyhow::Result<SecretString> {
    let Some(token) = config
        .discord
        .token
        .clone()
        .filter(|t| !t.expose_secret().trim().is_empty())
    else {
        bail!(
            "no Discord bot token: set the {TOKEN_ENV} environment variable (or NPQ_BOT__DISCORD__TOKEN, or token in the [discord] section of bot.toml). \
             The token is on the Bot page of your application at https://discord.com/developers/applications"
        );
    };
    if serenity::utils::token::validate(token.expose_secret()).is_err()
        || token.expose_secret().chars().any(char::is_whitespace)
    {
        bail!(
            "the Discord bot token is malformed: it should be three parts separated by dots, copied whole from the Bot page of your application (it is not the client secret or the application id)"
        );
    }
    Ok(token)
}

/// Sends a reply, retrying what a retry can cure. Discord's "too many requests": without a
/// proxy serenity's rate limiter waits these out itself (reading `retry-after`); with
/// `api_base` the proxy limits and serenity's limiter is off, so a 429 that still gets through
/// is retried here. Discord's server errors (500, 502, 503, 504) and timed-out requests are
/// retried too, sooner (after 0.25, 0.5 and 1 second), so that an interaction is still answered
/// within Discord's 3 seconds. After the fourth try the error is logged once, naming the route
/// (never its token), and returned.
pub async fn retry_on_429<T, F, Fut>(mut send: F) -> Result<T, serenity::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, serenity::Error>>,
{
    for attempt in 1..=4u32 {
        let outcome = send().await;
        let Some((why, route)) = retryable(&outcome) else {
            return outcome;
        };
        if attempt == 4 {
            tracing::warn!(
                %route,
                tries = attempt,
                "giving up on a reply: Discord kept answering {why}"
            );
            return outcome;
        }
        let first = if why == "429" {
            metrics::get()
                .rate_limited
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            1000
        } else {
            250
        };
        let wait = std::time::Duration::from_millis(first << (attempt - 1));
        // The URL of an interaction callback or webhook holds its token: never logged.
        tracing::warn!(
            %route,
            wait_ms = wait.as_millis() as u64,
            "Discord answered {why}; retrying"
        );
        tokio::time::sleep(wait).await;
    }
    unreachable!("the fourth try returns")
}

/// Why a send may succeed if tried again ("429", "503", "a timeout"), and its route without
/// tokens; `None` for success and for errors a retry cannot cure.
fn retryable<T>(outcome: &Result<T, serenity::Error>) -> Option<(String, String)> {
    use serenity::http::HttpError;
    match outcome {
        Err(serenity::Error::Http(HttpError::UnsuccessfulRequest(r)))
            if matches!(r.status_code.as_u16(), 429 | 500 | 502 | 503 | 504) =>
        {
            Some((r.status_code.as_u16().to_string(), redact_url(&r.url)))
        }
        Err(serenity::Error::Http(HttpError::Request(e))) if e.is_timeout() || e.is_connect() => {
            let route = e.url().map_or_else(String::new, |u| redact_url(u.as_str()));
            Some(("a timeout".to_string(), route))
        }
        _ => None,
    }
}

/// The gateway intents the bot needs: no privileged intent unless a text prefix is set.
pub fn intents(config: &Config) -> GatewayIntents {
    let base =
        GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES | GatewayIntents::DIRECT_MESSAGES;
    if config.discord.prefix.is_some() {
        base | GatewayIntents::MESSAGE_CONTENT
    } else {
        base
    }
}

async fn on_error(error: poise::FrameworkError<'_, Arc<State>, Error>) {
    match error {
        // The check has already told the user why.
        poise::FrameworkError::CommandCheckFailed { error: None, .. } => {}
        poise::FrameworkError::CommandCheckFailed {
            error: Some(error),
            ctx,
            ..
        } => {
            tracing::warn!(command = %ctx.command().qualified_name, "a command check failed: {error:#}");
        }
        // poise's own handler would log these with the message's text: a question, perhaps.
        poise::FrameworkError::UnknownCommand { .. } => {
            tracing::debug!("a message looked like a command but is not one");
        }
        poise::FrameworkError::DynamicPrefix { error, .. } => {
            tracing::error!("cannot work out a message's prefix: {error}");
        }
        poise::FrameworkError::Command { error, ctx, .. } => {
            tracing::error!(command = %ctx.command().qualified_name, "command failed: {error:#}");
            let _ = ctx
                .send(
                    poise::CreateReply::default()
                        .content("Sorry, something went wrong answering that. Please try again.")
                        .ephemeral(true)
                        .allowed_mentions(reply::no_pings()),
                )
                .await;
        }
        poise::FrameworkError::EventHandler { error, event, .. } => {
            tracing::error!(
                event = event.snake_case_name(),
                "event handling failed: {error:#}"
            );
        }
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                tracing::error!("error while handling an error: {e}");
            }
        }
    }
}

/// Registers the public command globally (no `guilds` set) or in each of `guilds`, and the
/// admin command (named `admin`) only in `admin_guilds`, never globally. A guild in `guilds`
/// that cannot be set up stops the start; one only in `allowed_guilds` (the bot may not have
/// joined it yet) is logged and skipped.
async fn register(
    ctx: &serenity::all::Context,
    all: &[poise::Command<Arc<State>, Error>],
    admin: &str,
    guilds: &[u64],
    admin_guilds: &[u64],
) -> anyhow::Result<()> {
    let is_admin = |c: &&poise::Command<Arc<State>, Error>| c.name == admin;
    if guilds.is_empty() {
        poise::builtins::register_globally(ctx, all.iter().filter(|c| !is_admin(c)))
            .await
            .context("cannot register the slash commands globally")?;
    }
    let mut places: Vec<u64> = guilds.to_vec();
    places.extend(admin_guilds.iter().filter(|g| !guilds.contains(g)));
    for &guild in &places {
        let public = guilds.contains(&guild);
        let admin = admin_guilds.contains(&guild);
        let here = all
            .iter()
            .filter(|c| if is_admin(c) { admin } else { public });
        let outcome = poise::builtins::register_in_guild(ctx, here, GuildId::new(guild)).await;
        match outcome {
            Ok(()) => {}
            Err(e) if public => {
                return Err(anyhow::Error::new(e).context(format!(
                    "cannot register the slash commands in guild {guild}"
                )))
            }
            Err(e) => tracing::warn!(
                guild,
                "cannot register the admin commands in an allowed guild: {e}"
            ),
        }
    }
    if admin_guilds.is_empty() {
        tracing::info!(
            "admin commands are off: set discord.guilds or discord.allowed_guilds to use /{admin}"
        );
    }
    tracing::info!(
        guilds = guilds.len(),
        admin_guilds = admin_guilds.len(),
        "slash commands registered"
    );
    Ok(())
}

/// Runs the bot until `shutdown` completes (or the connection fails for good).
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let token = token(&config)?;
    let (dir, settings, index_path) = (
        config.knowledge_dir.clone(),
        config.answer.clone(),
        config.index_path.clone(),
    );
    let strict = config.knowledge_strict;
    let started = tokio::task::spawn_blocking({
        let (dir, settings, index_path) = (dir.clone(), settings.clone(), index_path.clone());
        move || crate::open_engine_with(&dir, settings, index_path.as_deref(), strict)
    })
    .await??;
    for problem in &started.skipped {
        tracing::warn!("skipped a knowledge file: {problem}");
    }
    let engine = started.engine;
    tracing::info!(
        passages = engine.num_passages(),
        documents = engine.documents.len(),
        skipped = started.skipped.len(),
        "knowledge loaded"
    );
    metrics::get().skipped_files.store(
        started.skipped.len() as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
    let log = if config.log.enabled {
        let log = crate::qlog::QuestionLog::open(&config.log)
            .await
            .with_context(|| format!("cannot open the question log {}", config.log.database))?;
        tracing::info!(database = config.log.database.kind(), "question log open");
        Some(log)
    } else {
        tracing::info!("the question log is off");
        None
    };
    let mut state = State::unshared(
        engine,
        dir,
        settings,
        index_path,
        config.discord.clone(),
        strict,
    );
    state.configure(config.local_dir(), log.clone(), config.log.retention_days);
    state.note_knowledge_version();
    let state = Arc::new(state);
    // Kept for the life of the bot: dropping the watcher stops it.
    let _watcher = if config.knowledge_watch {
        match watch::start(state.clone()) {
            Ok(w) => {
                state
                    .watching
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                Some(w)
            }
            Err(e) => {
                tracing::warn!(
                    "cannot watch the knowledge folder; /{} reload still works: {e}",
                    state.commands.admin
                );
                None
            }
        }
    } else {
        None
    };
    if let Some(address) = config.metrics_address {
        metrics::serve(address, state.clone()).await?;
    }

    let guilds = config.discord.guilds.clone();
    let admin_guilds = guard::admin_guilds(&config.discord);
    let admin = state.commands.admin.clone();
    let setup_state = state.clone();
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: commands::build(&state.commands),
            allowed_mentions: Some(reply::no_pings()),
            on_error: |error| Box::pin(on_error(error)),
            event_handler: |framework, event| {
                Box::pin(events::handle(
                    framework.serenity_context,
                    event,
                    framework.user_data,
                ))
            },
            initialize_owners: false,
            // Questions in mentions are read by the bot's own handler; poise reading them as
            // commands would log every unrecognised one, question text and all.
            prefix_options: poise::PrefixFrameworkOptions {
                prefix: None,
                mention_as_prefix: false,
                ..Default::default()
            },
            ..Default::default()
        })
        .setup(move |ctx, _ready, framework| {
            Box::pin(async move {
                let all = &framework.options().commands;
                register(ctx, all, &admin, &guilds, &admin_guilds).await?;
                Ok(setup_state)
            })
        })
        .build();

    let mut http = HttpBuilder::new(token.expose_secret());
    if let Some(base) = &config.discord.api_base {
        // A proxy for Discord's API does the rate limiting; serenity's own limiter would also
        // bypass the proxy (it builds its requests for discord.com).
        http = http.proxy(base.clone()).ratelimiter_disabled(true);
    }
    let mut client = ClientBuilder::new_with_http(http.build(), intents(&config))
        .framework(framework)
        .await
        .context("cannot create the Discord client")?;

    let shard_manager = client.shard_manager.clone();
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down");
        let _ = stopping.send(());
        shard_manager.shutdown_all().await;
    });
    let shards = config.discord.shards;
    let running = async move {
        match shards {
            Shards::Automatic => client.start_autosharded().await,
            Shards::Range { first, last, total } => {
                client.start_shard_range(first..last + 1, total).await
            }
        }
    };
    // A gateway that cannot be reached keeps serenity retrying after the shards are told to
    // stop: past the deadline the bot stops anyway, so that systemd or Docker never has to
    // kill it before the question log is written.
    let deadline = async move {
        if stopped.await.is_ok() {
            tokio::time::sleep(SHUTDOWN_DEADLINE).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let started = tokio::select! {
        started = running => started,
        () = deadline => {
            tracing::warn!(
                "the Discord connection did not close within {} s of the signal; stopping anyway",
                SHUTDOWN_DEADLINE.as_secs()
            );
            Ok(())
        }
    };
    if let Some(log) = &log {
        if !log.flush_within(LOG_FLUSH_DEADLINE).await {
            tracing::warn!("some questions were not written to the log before stopping");
        }
    }
    started.map_err(|e| {
        anyhow::anyhow!(
            "the Discord connection failed: {}",
            redact(&e.to_string(), &token)
        )
    })
}

/// A Discord REST address with its interaction or webhook token replaced by `[token]`, and no
/// query string.
pub fn redact_url(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    redact_interaction_tokens(path)
}

/// Replaces the tokens in interaction callback and webhook paths, and in `token` fields of
/// logged payloads, with `[token]`. Applied to every log line the binary writes.
pub fn redact_interaction_tokens(text: &str) -> String {
    static PATTERN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = PATTERN.get_or_init(|| {
        regex::Regex::new(
            r#"(?P<path>(?:interactions|webhooks)/\d+/)[^/\s"'?#&]+|(?P<field>\\?"?\btoken\\?"?\s*[:=]\s*\\?")[^"\\]*"#,
        )
        .expect("valid regex")
    });
    re.replace_all(text, |c: &regex::Captures<'_>| {
        match (c.name("path"), c.name("field")) {
            (Some(p), _) => format!("{}[token]", p.as_str()),
            (_, Some(f)) => format!("{}[token]", f.as_str()),
            _ => String::new(),
        }
    })
    .into_owned()
}

/// Removes the token from a message, in case a library ever echoes it.
fn redact(message: &str, token: &SecretString) -> String {
    let secret = token.expose_secret();
    if secret.is_empty() {
        message.to_string()
    } else {
        message.replace(secret, "[token]")
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interaction_tokens_are_cut_from_urls_and_payloads() {
        let url = "http://127.0.0.1:5/api/v10/interactions/1234/aW50ZXJhY3Rpb246MTIz/callback?with_response=true";
        assert_eq!(
            redact_url(url),
            "http://127.0.0.1:5/api/v10/interactions/1234/[token]/callback"
        );
        assert_eq!(
            redact_interaction_tokens("PATCH /webhooks/99/tok-en.x/messages/@original"),
            "PATCH /webhooks/99/[token]/messages/@original"
        );
        assert_eq!(
            redact_interaction_tokens(r#"{"id":"1","token":"secret-1","type":2}"#),
            r#"{"id":"1","token":"[token]","type":2}"#
        );
        assert_eq!(
            redact_interaction_tokens(r#"Interaction { token: "secret-2", id: 5 }"#),
            r#"Interaction { token: "[token]", id: 5 }"#
        );
        assert_eq!(
            redact_interaction_tokens("questions answered: 3"),
            "questions answered: 3"
        );
    }

    #[test]
    fn a_token_comes_from_the_environment_or_the_file_it_names() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("discord-token");
        let secret = "MTA.secret-in-a-file.xyz";
        std::fs::write(&file, format!("{secret}\n")).unwrap();
        let read = |token: Option<&str>, file: Option<&std::path::Path>| {
            super::token_from(token.map(str::to_string), file.map(|f| f.to_path_buf()))
        };
        let from_file = read(None, Some(&file)).unwrap().unwrap();
        assert_eq!(from_file.expose_secret(), secret);
        let from_env = read(Some(" abc.def.ghi "), Some(&file)).unwrap().unwrap();
        assert_eq!(from_env.expose_secret(), "abc.def.ghi");
        assert!(read(None, None).unwrap().is_none());
        // An unreadable or empty file names the file and the fix, never a token.
        let missing = read(None, Some(&dir.path().join("nope")))
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("nope") && missing.contains("fix"),
            "{missing}"
        );
        std::fs::write(&file, "  \n").unwrap();
        let empty = read(None, Some(&file)).unwrap_err().to_string();
        assert!(
            empty.contains("is empty") && !empty.contains(secret),
            "{empty}"
        );
    }

    #[test]
    fn a_missing_token_says_where_to_put_it() {
        let err = token(&Config::defaults()).unwrap_err().to_string();
        assert!(
            err.contains("DISCORD_TOKEN") && err.contains("bot.toml"),
            "{err}"
        );
    }

    #[test]
    fn a_malformed_token_is_refused_without_echoing_it() {
        let mut config = Config::defaults();
        config.discord.token = Some(SecretString::from("not-a-token-secret123".to_string()));
        let err = token(&config).unwrap_err().to_string();
        assert!(err.contains("malformed"));
        assert!(!err.contains("secret123"));
        assert!(
            !format!("{config:?}").contains("secret123"),
            "Debug must not show the token"
        );
    }
}
