//! Settings: `bot.toml` (or `--config FILE`), overridden by `NPQ_BOT__SECTION__KEY`
//! environment variables. Raw settings are read first, then validated into `Config`.

use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::Deserialize;

use crate::answer::Settings;
use crate::qlog::{Database, LogConfig};

/// The default settings file, beside the binary's working directory.
pub const DEFAULT_FILE: &str = "bot.toml";
pub const ENV_PREFIX: &str = "NPQ_BOT";

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub knowledge_dir: PathBuf,
    /// Refuse to start (or reload) when any file has errors, instead of skipping those files.
    pub knowledge_strict: bool,
    /// `serve` reloads when a file in the knowledge folder changes.
    pub knowledge_watch: bool,
    /// Where answers written from Discord are saved (`knowledge.local`); `None`: `local` inside
    /// the knowledge folder. See [`Config::local_dir`].
    pub knowledge_local: Option<PathBuf>,
    pub answer: Settings,
    /// Where to keep the index on disk; `None` builds it in RAM.
    pub index_path: Option<PathBuf>,
    pub discord: DiscordConfig,
    /// Where `serve` answers `/healthz` and `/metrics`; `None` (the default): nowhere.
    pub metrics_address: Option<std::net::SocketAddr>,
    /// The question log (`[log]`).
    pub log: LogConfig,
    /// How log lines are written (`logging.format`).
    pub log_format: crate::logging::Format,
}

/// How the bot runs on Discord.
#[derive(Debug, Clone)]
pub struct DiscordConfig {
    /// Never printed: `SecretString`'s `Debug` hides it.
    pub token: Option<SecretString>,
    /// Guilds where slash commands are registered instantly; empty registers them globally.
    pub guilds: Vec<u64>,
    /// Only these guilds are served (empty: all).
    pub allowed_guilds: Vec<u64>,
    /// Only these channels are served (empty: all).
    pub allowed_channels: Vec<u64>,
    /// A role whose members may use admin commands, besides those with Manage Server.
    pub admin_role: Option<u64>,
    pub direct_messages: bool,
    /// A text prefix such as `!npq`; needs the Message Content intent.
    pub prefix: Option<String>,
    pub rate_limit_per_minute: u32,
    pub max_question_chars: usize,
    /// A slash ask or button press whose answer is not ready within this many milliseconds is
    /// acknowledged first and answered after (Discord waits 3 s for the first response).
    pub defer_after_ms: u64,
    /// Once a question has waited this many milliseconds for the answering pool, new questions
    /// are told the bot is busy instead of queueing behind it: the queue, and the memory it
    /// holds, stay bounded under a burst larger than the cores can answer.
    pub busy_after_ms: u64,
    pub shards: Shards,
    /// Base URL for Discord's REST API, e.g. a rate-limiting proxy.
    pub api_base: Option<String>,
}

/// How gateway shards are run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shards {
    Automatic,
    /// Shards `first..=last` of `total`.
    Range {
        first: u32,
        last: u32,
        total: u32,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    knowledge: RawKnowledge,
    #[serde(default)]
    answer: RawAnswer,
    #[serde(default)]
    index: RawIndex,
    #[serde(default)]
    discord: RawDiscord,
    #[serde(default)]
    metrics: RawMetrics,
    #[serde(default)]
    log: RawLog,
    #[serde(default)]
    logging: RawLogging,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawLog {
    enabled: bool,
    database: String,
    retention_days: u32,
    #[serde(deserialize_with = "ids")]
    opt_out_guilds: Vec<u64>,
}

impl Default for RawLog {
    fn default() -> Self {
        let d = LogConfig::default();
        RawLog {
            enabled: d.enabled,
            database: d.database.to_string(),
            retention_days: d.retention_days,
            opt_out_guilds: d.opt_out_guilds,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawLogging {
    format: String,
}

impl Default for RawLogging {
    fn default() -> Self {
        RawLogging {
            format: "text".to_string(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawMetrics {
    address: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawKnowledge {
    dir: PathBuf,
    strict: bool,
    watch: bool,
    local: PathBuf,
}

impl Default for RawKnowledge {
    fn default() -> Self {
        RawKnowledge {
            dir: PathBuf::from("knowledge"),
            strict: false,
            watch: true,
            local: PathBuf::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawAnswer {
    limit: usize,
    snippet_chars: usize,
    threshold: f32,
    candidates: usize,
}

impl Default for RawAnswer {
    fn default() -> Self {
        let s = Settings::default();
        RawAnswer {
            limit: s.limit,
            snippet_chars: s.snippet_chars,
            threshold: s.threshold,
            candidates: s.candidates,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawIndex {
    path: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawDiscord {
    token: Option<SecretString>,
    #[serde(deserialize_with = "ids")]
    guilds: Vec<u64>,
    #[serde(deserialize_with = "ids")]
    allowed_guilds: Vec<u64>,
    #[serde(deserialize_with = "ids")]
    allowed_channels: Vec<u64>,
    admin_role: Option<u64>,
    direct_messages: bool,
    prefix: String,
    rate_limit_per_minute: u32,
    max_question_chars: usize,
    defer_after_ms: u64,
    busy_after_ms: u64,
    shards: String,
    api_base: String,
}

impl Default for RawDiscord {
    fn default() -> Self {
        RawDiscord {
            token: None,
            guilds: Vec::new(),
            allowed_guilds: Vec::new(),
            allowed_channels: Vec::new(),
            admin_role: None,
            direct_messages: true,
            prefix: String::new(),
            rate_limit_per_minute: 5,
            max_question_chars: 300,
            defer_after_ms: 1500,
            busy_after_ms: 5000,
            shards: "auto".to_string(),
            api_base: String::new(),
        }
    }
}

/// A list of Discord ids: a TOML array, or from the environment one id (`NPQ_BOT__DISCORD__GUILDS=123`,
/// which the `config` crate reads as a number, not a list) or several separated by commas.
fn ids<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Number(u64),
        Text(String),
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Ids {
        One(Id),
        Many(Vec<Id>),
    }
    let parse = |id: Id| -> Result<Vec<u64>, D::Error> {
        match id {
            Id::Number(n) => Ok(vec![n]),
            Id::Text(text) => text
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| {
                    t.parse().map_err(|_| {
                        serde::de::Error::custom(format!("`{t}` is not a Discord id (a number)"))
                    })
                })
                .collect(),
        }
    };
    let ids = match Ids::deserialize(deserializer)? {
        Ids::One(id) => parse(id)?,
        Ids::Many(list) => {
            let mut all = Vec::new();
            for id in list {
                all.extend(parse(id)?);
            }
            all
        }
    };
    Ok(ids)
}

/// A setting that is wrong, named by its key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read settings: {0}")]
    Read(String),
    #[error("setting `{key}` {problem}")]
    Invalid { key: &'static str, problem: String },
}

impl Config {
    /// Reads `file` (optional when it is the default `bot.toml`) and the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        Config::load_with(file, None)
    }

    /// `load`, reading the variables from `env` instead of the process environment when given.
    fn load_with(
        file: Option<&Path>,
        env: Option<config::Map<String, String>>,
    ) -> Result<Config, ConfigError> {
        let from_env = |key: &str| match &env {
            Some(map) => map.contains_key(key),
            None => std::env::var_os(key).is_some(),
        };
        let (dir_from_env, index_from_env, log_from_env) = (
            from_env("NPQ_BOT__KNOWLEDGE__DIR"),
            from_env("NPQ_BOT__INDEX__PATH"),
            from_env("NPQ_BOT__LOG__DATABASE"),
        );
        let mut builder = config::Config::builder();
        match file {
            Some(path) => {
                builder = builder.add_source(
                    config::File::from(path)
                        .format(config::FileFormat::Toml)
                        .required(true),
                )
            }
            None => {
                builder = builder.add_source(
                    config::File::new(DEFAULT_FILE, config::FileFormat::Toml).required(false),
                )
            }
        }
        builder = builder.add_source(
            config::Environment::with_prefix(ENV_PREFIX)
                .source(env)
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("discord.guilds")
                .with_list_parse_key("discord.allowed_guilds")
                .with_list_parse_key("discord.allowed_channels")
                .with_list_parse_key("log.opt_out_guilds"),
        );
        let raw: RawConfig = builder
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| ConfigError::Read(redact(&e.to_string())))?;
        let mut config = Config::validate(raw)?;
        // Paths written in a settings file are read relative to that file (the default
        // bot.toml is in the current folder, so nothing changes for it); paths from the
        // environment stay relative to the current folder.
        if let Some(base) = file.and_then(Path::parent) {
            if !dir_from_env && config.knowledge_dir.is_relative() {
                config.knowledge_dir = base.join(&config.knowledge_dir);
            }
            if let Some(local) = config.knowledge_local.as_mut().filter(|p| p.is_relative()) {
                *local = base.join(&*local);
            }
            if let Some(index) = config.index_path.as_mut().filter(|p| p.is_relative()) {
                if !index_from_env {
                    *index = base.join(&*index);
                }
            }
            if let Database::Sqlite(path) = &mut config.log.database {
                if !log_from_env && path.is_relative() {
                    *path = base.join(&*path);
                }
            }
        }
        Ok(config)
    }

    /// The folder where answers written from Discord are saved: `knowledge.local`, or `local`
    /// inside the knowledge folder.
    pub fn local_dir(&self) -> PathBuf {
        self.knowledge_local
            .clone()
            .unwrap_or_else(|| self.knowledge_dir.join("local"))
    }

    /// The defaults, as if `bot.toml` were empty.
    pub fn defaults() -> Config {
        Config::validate(RawConfig {
            knowledge: RawKnowledge::default(),
            answer: RawAnswer::default(),
            index: RawIndex::default(),
            discord: RawDiscord::default(),
            metrics: RawMetrics::default(),
            log: RawLog::default(),
            logging: RawLogging::default(),
        })
        .expect("the defaults are valid")
    }

    /// Checks every value; an error's text never shows anything shaped like a token, whichever
    /// setting it was pasted into.
    fn validate(raw: RawConfig) -> Result<Config, ConfigError> {
        Config::validate_values(raw).map_err(|e| match e {
            ConfigError::Read(text) => ConfigError::Read(redact(&text)),
            ConfigError::Invalid { key, problem } => ConfigError::Invalid {
                key,
                problem: redact(&problem),
            },
        })
    }

    fn validate_values(raw: RawConfig) -> Result<Config, ConfigError> {
        let a = &raw.answer;
        let invalid = |key, problem: &str| {
            Err(ConfigError::Invalid {
                key,
                problem: problem.to_string(),
            })
        };
        if !(1..=10).contains(&a.limit) {
            return invalid("answer.limit", "must be between 1 and 10");
        }
        if !(80..=1000).contains(&a.snippet_chars) {
            return invalid("answer.snippet_chars", "must be between 80 and 1000");
        }
        if !(0.0..=1.0).contains(&a.threshold) {
            return invalid("answer.threshold", "must be between 0 and 1");
        }
        if a.candidates < a.limit || a.candidates > 1000 {
            return invalid(
                "answer.candidates",
                "must be at least answer.limit and at most 1000",
            );
        }
        let d = raw.discord;
        if d.rate_limit_per_minute == 0 {
            return invalid("discord.rate_limit_per_minute", "must be at least 1");
        }
        if !(20..=2000).contains(&d.max_question_chars) {
            return invalid("discord.max_question_chars", "must be between 20 and 2000");
        }
        if d.defer_after_ms > 2500 {
            return invalid(
                "discord.defer_after_ms",
                "must be at most 2500 (Discord waits 3000 ms for the first response)",
            );
        }
        if !(250..=600_000).contains(&d.busy_after_ms) {
            return invalid(
                "discord.busy_after_ms",
                "must be between 250 and 600000 (ten minutes)",
            );
        }
        let shards = parse_shards(&d.shards).ok_or(ConfigError::Invalid {
            key: "discord.shards",
            problem: format!(
                "must be \"auto\" or a range such as \"0-3/8\" (shards 0 to 3 of 8), not \"{}\"",
                d.shards
            ),
        })?;
        for (key, ids) in [
            ("discord.guilds", &d.guilds),
            ("discord.allowed_guilds", &d.allowed_guilds),
            ("discord.allowed_channels", &d.allowed_channels),
        ] {
            if ids.contains(&0) {
                return invalid(key, ZERO_ID);
            }
        }
        if d.admin_role == Some(0) {
            return invalid("discord.admin_role", ZERO_ID);
        }
        let api_base =
            Some(d.api_base.trim().trim_end_matches('/').to_string()).filter(|s| !s.is_empty());
        if let Some(base) = &api_base {
            check_api_base(base).map_err(|problem| ConfigError::Invalid {
                key: "discord.api_base",
                problem: problem.to_string(),
            })?;
        }
        let metrics_address = match raw.metrics.address.trim() {
            "" => None,
            text => Some(text.parse::<std::net::SocketAddr>().map_err(|_| {
                ConfigError::Invalid {
                    key: "metrics.address",
                    problem:
                        "must be an address and port such as 127.0.0.1:9464, or empty for none"
                            .to_string(),
                }
            })?),
        };
        let l = raw.log;
        if l.retention_days == 0 || l.retention_days > 3660 {
            return invalid(
                "log.retention_days",
                "must be between 1 and 3660 (days a question is kept)",
            );
        }
        if l.opt_out_guilds.contains(&0) {
            return invalid("log.opt_out_guilds", ZERO_ID);
        }
        let database = Database::parse(&l.database).map_err(|problem| ConfigError::Invalid {
            key: "log.database",
            problem,
        })?;
        let log_format = match raw.logging.format.trim() {
            "text" => crate::logging::Format::Text,
            "json" => crate::logging::Format::Json,
            _ => {
                return invalid(
                    "logging.format",
                    "must be \"text\" (the default) or \"json\" (one JSON object per line)",
                )
            }
        };
        Ok(Config {
            log: LogConfig {
                enabled: l.enabled,
                database,
                retention_days: l.retention_days,
                opt_out_guilds: l.opt_out_guilds,
            },
            metrics_address,
            log_format,
            knowledge_dir: raw.knowledge.dir,
            knowledge_strict: raw.knowledge.strict,
            knowledge_watch: raw.knowledge.watch,
            knowledge_local: Some(raw.knowledge.local).filter(|p| !p.as_os_str().is_empty()),
            answer: Settings {
                limit: a.limit,
                snippet_chars: a.snippet_chars,
                threshold: a.threshold,
                candidates: a.candidates,
                ..Settings::default()
            },
            index_path: Some(PathBuf::from(raw.index.path.trim()))
                .filter(|p| !p.as_os_str().is_empty()),
            discord: DiscordConfig {
                token: d.token,
                guilds: d.guilds,
                allowed_guilds: d.allowed_guilds,
                allowed_channels: d.allowed_channels,
                admin_role: d.admin_role,
                direct_messages: d.direct_messages,
                prefix: Some(d.prefix.trim().to_string()).filter(|p| !p.is_empty()),
                rate_limit_per_minute: d.rate_limit_per_minute,
                max_question_chars: d.max_question_chars,
                defer_after_ms: d.defer_after_ms,
                busy_after_ms: d.busy_after_ms,
                shards,
                api_base,
            },
        })
    }
}

const ZERO_ID: &str = "holds 0, which is not a Discord id: copy the id with Developer Mode (right-click, Copy ID), or leave the setting out";

/// The REST base must be a web address; plain `http://` (which would send the token in clear)
/// only to this machine, for a proxy beside the bot.
fn check_api_base(base: &str) -> Result<(), &'static str> {
    let url = url::Url::parse(base)
        .map_err(|_| "must be a web address such as https://proxy.example.org")?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err("must name a host, such as https://proxy.example.org"),
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err("uses http://, which would send the bot token unencrypted: use https://, or http:// only to this machine (localhost, 127.0.0.1 or ::1)"),
        _ => Err("must start with https:// (or http:// to this machine)"),
    }
}

/// `auto`, or `first-last/total`.
fn parse_shards(s: &str) -> Option<Shards> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("auto") || s.is_empty() {
        return Some(Shards::Automatic);
    }
    let (range, total) = s.split_once('/')?;
    let (first, last) = range.split_once('-').unwrap_or((range, range));
    let (first, last, total): (u32, u32, u32) = (
        first.trim().parse().ok()?,
        last.trim().parse().ok()?,
        total.trim().parse().ok()?,
    );
    (first <= last && last < total).then_some(Shards::Range { first, last, total })
}

/// Settings errors may quote values; a token must never be one of them.
fn redact(message: &str) -> String {
    static TOKEN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = TOKEN.get_or_init(|| {
        regex::Regex::new(r"[A-Za-z0-9_\-]{20,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{20,}")
            .expect("valid regex")
    });
    crate::qlog::redact_url(&re.replace_all(message, "[redacted]"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_ranges_parse() {
        assert_eq!(parse_shards("auto"), Some(Shards::Automatic));
        assert_eq!(
            parse_shards("0-3/8"),
            Some(Shards::Range {
                first: 0,
                last: 3,
                total: 8
            })
        );
        assert_eq!(
            parse_shards("2/4"),
            Some(Shards::Range {
                first: 2,
                last: 2,
                total: 4
            })
        );
        assert_eq!(parse_shards("4-3/8"), None);
        assert_eq!(parse_shards("0-8/8"), None);
    }

    fn from_env(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let empty = tempfile::NamedTempFile::new().unwrap();
        Config::load_with(Some(empty.path()), Some(env))
    }

    #[test]
    fn id_lists_from_the_environment_take_one_id_or_several() {
        let one = from_env(&[("NPQ_BOT__DISCORD__GUILDS", "1180000000000000100")]).unwrap();
        assert_eq!(one.discord.guilds, vec![1180000000000000100]);
        let many = from_env(&[
            ("NPQ_BOT__DISCORD__ALLOWED_CHANNELS", "11,22, 33"),
            ("NPQ_BOT__DISCORD__ALLOWED_GUILDS", "7"),
        ])
        .unwrap();
        assert_eq!(many.discord.allowed_channels, vec![11, 22, 33]);
        assert_eq!(many.discord.allowed_guilds, vec![7]);
        let wrong = from_env(&[("NPQ_BOT__DISCORD__GUILDS", "12,abc")]).unwrap_err();
        assert!(wrong.to_string().contains("discord.guilds"), "{wrong}");
    }

    #[test]
    fn id_lists_in_a_file_are_arrays_of_numbers() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, b"[discord]\nguilds = [5, 6]\n").unwrap();
        let config = Config::load_with(Some(file.path()), Some(Default::default())).unwrap();
        assert_eq!(config.discord.guilds, vec![5, 6]);
    }

    #[test]
    fn plain_http_is_only_for_this_machine() {
        for good in [
            "https://proxy.example.org",
            "https://proxy.example.org/api",
            "http://127.0.0.1:8080",
            "http://localhost:9",
            "http://[::1]:80",
        ] {
            assert_eq!(check_api_base(good), Ok(()), "{good}");
        }
        for bad in [
            "http://proxy.example.org",
            "http://10.0.0.5:8080",
            "http://127.0.0.1.example.org",
            "ftp://localhost",
            "proxy.example.org",
            "https://",
        ] {
            assert!(check_api_base(bad).is_err(), "{bad}");
        }
        let err = from_env(&[("NPQ_BOT__DISCORD__API_BASE", "http://proxy.example.org")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("discord.api_base") && err.contains("unencrypted"),
            "{err}"
        );
    }

    #[test]
    fn paths_in_a_settings_file_are_relative_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bot.toml");
        std::fs::write(
            &file,
            "[knowledge]\ndir = \"kb\"\n[index]\npath = \"idx\"\n",
        )
        .unwrap();
        let config = Config::load_with(Some(&file), Some(Default::default())).unwrap();
        assert_eq!(config.knowledge_dir, dir.path().join("kb"));
        assert_eq!(config.index_path, Some(dir.path().join("idx")));
        let env = [("NPQ_BOT__KNOWLEDGE__DIR".to_string(), "here".to_string())]
            .into_iter()
            .collect();
        let config = Config::load_with(Some(&file), Some(env)).unwrap();
        assert_eq!(config.knowledge_dir, PathBuf::from("here"));
        assert_eq!(config.index_path, Some(dir.path().join("idx")));
        std::fs::write(&file, "[knowledge]\ndir = \"/srv/kb\"\n").unwrap();
        let config = Config::load_with(Some(&file), Some(Default::default())).unwrap();
        assert_eq!(config.knowledge_dir, PathBuf::from("/srv/kb"));
    }

    #[test]
    fn the_log_database_is_read_from_the_file_folder_or_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bot.toml");
        std::fs::write(&file, "[log]\ndatabase = \"sqlite://data/q.db\"\n").unwrap();
        let config = Config::load_with(Some(&file), Some(Default::default())).unwrap();
        assert_eq!(
            config.log.database,
            Database::Sqlite(dir.path().join("data/q.db"))
        );
        assert!(config.log.enabled);
        assert_eq!(config.log.retention_days, 90);
        let env = [(
            "NPQ_BOT__LOG__DATABASE".to_string(),
            "postgres://bot:hunter2@db/log".to_string(),
        )]
        .into_iter()
        .collect();
        let config = Config::load_with(Some(&file), Some(env)).unwrap();
        assert_eq!(
            config.log.database,
            Database::Postgres("postgres://bot:hunter2@db/log".into())
        );
        assert!(!format!("{config:?}").contains("hunter2"));
        let err = from_env(&[("NPQ_BOT__LOG__DATABASE", "mysql://bot:hunter2@db/log")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("log.database") && !err.contains("hunter2"),
            "{err}"
        );
        let guilds = from_env(&[("NPQ_BOT__LOG__OPT_OUT_GUILDS", "5,6")]).unwrap();
        assert_eq!(guilds.log.opt_out_guilds, vec![5, 6]);
        let err = from_env(&[("NPQ_BOT__LOG__RETENTION_DAYS", "0")]).unwrap_err();
        assert!(err.to_string().contains("log.retention_days"), "{err}");
    }

    #[test]
    fn metrics_are_off_unless_an_address_is_set() {
        assert_eq!(Config::defaults().metrics_address, None);
        let on = from_env(&[("NPQ_BOT__METRICS__ADDRESS", "127.0.0.1:9464")]).unwrap();
        assert_eq!(on.metrics_address, Some("127.0.0.1:9464".parse().unwrap()));
        let err = from_env(&[("NPQ_BOT__METRICS__ADDRESS", "localhost")]).unwrap_err();
        assert!(err.to_string().contains("metrics.address"), "{err}");
    }

    #[test]
    fn zero_ids_are_refused_by_name() {
        for (key, var) in [
            ("discord.admin_role", "NPQ_BOT__DISCORD__ADMIN_ROLE"),
            ("discord.guilds", "NPQ_BOT__DISCORD__GUILDS"),
            ("discord.allowed_guilds", "NPQ_BOT__DISCORD__ALLOWED_GUILDS"),
            (
                "discord.allowed_channels",
                "NPQ_BOT__DISCORD__ALLOWED_CHANNELS",
            ),
        ] {
            let err = from_env(&[(var, "0")]).unwrap_err().to_string();
            assert!(
                err.contains(key) && err.contains("not a Discord id"),
                "{err}"
            );
        }
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, b"[discord]\nadmin_role = 0\nguilds = [0]\n").unwrap();
        let err = Config::load_with(Some(file.path()), Some(Default::default())).unwrap_err();
        assert!(err.to_string().contains("not a Discord id"), "{err}");
    }

    #[test]
    fn a_token_pasted_into_any_setting_is_redacted_from_the_error() {
        let fake = format!("{}.{}.{}", "A".repeat(24), "B".repeat(6), "C".repeat(27));
        for var in [
            "NPQ_BOT__DISCORD__SHARDS",
            "NPQ_BOT__DISCORD__API_BASE",
            "NPQ_BOT__DISCORD__GUILDS",
        ] {
            let err = from_env(&[(var, fake.as_str())]).unwrap_err().to_string();
            assert!(
                !err.contains(&fake) && !err.contains(&"C".repeat(27)),
                "{var}: {err}"
            );
        }
    }

    #[test]
    fn token_shaped_text_is_redacted() {
        let fake = format!("{}.{}.{}", "A".repeat(24), "B".repeat(6), "C".repeat(27));
        assert_eq!(
            redact(&format!("bad value {fake} here")),
            "bad value [redacted] here"
        );
    }
}
