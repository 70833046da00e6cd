//! Load: the real bot (`npq_bot::discord::run`, as tests/discord/bot.rs starts it) against the
//! fake Discord of tests/discord, with many users at once asking by slash command and by
//! mention and pressing answer buttons. Measures, for every event, the time from its dispatch
//! on the gateway to the bot's reply reaching the fake, and the process's peak memory.
//!
//! `cargo bench --bench load` (`LOAD_USERS`, `LOAD_EVENTS`, `LOAD_SECONDS` change the mix's
//! size; `LOAD_BUSY_AFTER_MS` sets `discord.busy_after_ms`, 5000 as shipped). The bot's
//! per-user rate limit (`discord.rate_limit_per_minute`) is raised so that no event is refused
//! for it: the benchmark measures answering, not the limiter. Questions turned away as busy
//! count as delivered (they are replies) and are counted apart.
//! `LOAD_BOT=process` runs the bot as its own process instead (`npq-bot serve`, configured by
//! environment variables as an operator would), so that the memory measured is the bot's
//! alone and not also the fake's record of every request; in both, the resident memory is
//! sampled every second while the events are dispatched.
//! The last line reads `load: delivered=N/M p50_ms=.. p99_ms=.. peak_rss_mb=.. errors=..`.

#![allow(dead_code)]

#[path = "../tests/discord/fake.rs"]
mod fake;
#[path = "../tests/discord/fixtures.rs"]
mod fixtures;
#[path = "../tests/discord/schema.rs"]
mod schema;
#[path = "../tests/discord/served.rs"]
mod served;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use fake::{FakeDiscord, RecordedRequest};
use fixtures::{UserFixture, BOT_ID, BOT_NAME, CHANNEL_ID, GUILD_ID, MEMBER_PERMISSIONS};

fn env_or(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The bot under load: a task of this process, or `npq-bot serve` as its own process.
enum Running {
    Task(tokio::task::JoinHandle<anyhow::Result<()>>),
    Process(served::Served),
}

/// What one event was and when it was dispatched.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Slash,
    Mention,
    Button,
}

struct Sent {
    kind: Kind,
    at: Instant,
}

/// `VmHWM` or `VmRSS` of this process, in MB.
fn memory_mb(field: &str) -> f64 {
    memory_of("self", field)
}

/// `VmHWM` or `VmRSS` of process `pid` ("self" for this one), in MB.
fn memory_of(pid: &str, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The questions of the project's own question file that should be answered.
fn questions() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/questions.jsonl");
    let text = std::fs::read_to_string(path).expect("tests/questions.jsonl");
    let all: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["answerable"].as_bool() != Some(false))
        .filter_map(|v| v["q"].as_str().map(str::to_string))
        .collect();
    assert!(!all.is_empty(), "no questions");
    all
}

/// Which event a request replies to: the interaction id in a callback or webhook route (its
/// token is `token-ID`), or the message a channel message refers to.
fn replied_to(r: &RecordedRequest) -> Option<(u64, bool)> {
    let route = r.route();
    if let Some(rest) = route.strip_prefix("/interactions/") {
        let id = rest.split('/').next()?.parse().ok()?;
        let deferred = r.body.as_ref().and_then(|b| b["type"].as_u64()) == Some(5);
        return Some((id, deferred));
    }
    if let Some(rest) = route.strip_prefix("/webhooks/") {
        let token = rest.split('/').nth(1)?;
        let id = token.strip_prefix("token-")?.parse().ok()?;
        return Some((id, false));
    }
    if r.method == "POST" && route.ends_with("/messages") && route.starts_with("/channels/") {
        let id = r.body.as_ref()?["message_reference"]["message_id"]
            .as_str()?
            .parse()
            .ok()?;
        return Some((id, false));
    }
    None
}

/// The start of the folder's busy reply (`[replies] busy`), to count the questions turned away.
fn busy_wording(dir: &Path) -> String {
    let path = dir.join("wording.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let mut report = npq_bot::knowledge::diagnostic::Report::new(&path);
    let wording = npq_bot::knowledge::wording::parse(&text, &mut report);
    wording
        .replies
        .busy
        .split(',')
        .next()
        .unwrap_or_default()
        .to_string()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    // As `npq-bot serve` does before its threads start.
    npq_bot::retrieve::semantic::one_core_per_question();
    let users = env_or("LOAD_USERS", 200);
    let events = env_or("LOAD_EVENTS", 5_000);
    let seconds = env_or("LOAD_SECONDS", 50);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run(users, events, seconds));
}

async fn run(users: usize, events: usize, seconds: usize) {
    let fake = FakeDiscord::start().await;
    let mut config = npq_bot::Config::defaults();
    config.knowledge_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
    config.discord.token = Some(fake.token().to_string().into());
    config.discord.api_base = Some(fake.api_base());
    config.discord.guilds = vec![GUILD_ID];
    // Raised so that no event is refused by the per-user limits (button and mention limits
    // are derived from it).
    config.discord.rate_limit_per_minute = 1_000_000;
    config.discord.busy_after_ms = env_or("LOAD_BUSY_AFTER_MS", 5000) as u64;
    // The question log goes to a file of this run, not to `questions.db` in the checkout.
    let log_dir = tempfile::tempdir().expect("a folder for the question log");
    config.log.database = npq_bot::qlog::Database::Sqlite(log_dir.path().join("questions.db"));
    let busy_text = busy_wording(&config.knowledge_dir);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let bot = if std::env::var("LOAD_BOT").is_ok_and(|v| v == "process") {
        drop(stopped);
        let settings = [
            (
                "NPQ_BOT__DISCORD__RATE_LIMIT_PER_MINUTE",
                config.discord.rate_limit_per_minute.to_string(),
            ),
            (
                "NPQ_BOT__DISCORD__BUSY_AFTER_MS",
                config.discord.busy_after_ms.to_string(),
            ),
        ];
        Running::Process(served::Served::start_with(&fake, Some("warn"), &settings).await)
    } else {
        let task = tokio::spawn(npq_bot::discord::run(config, async move {
            let _ = stopped.await;
        }));
        fake.wait_for_request(
            |r| r.is("PUT", r"/applications/\d+/guilds/\d+/commands"),
            Duration::from_secs(120),
        )
        .await
        .expect("the bot registers its commands");
        Running::Task(task)
    };
    // Whose memory is measured: the bot's own process, or this one (the bot and the fake).
    let pid = match &bot {
        Running::Process(served) => served.pid().to_string(),
        Running::Task(_) => "self".to_string(),
    };
    let samples: std::sync::Arc<std::sync::Mutex<Vec<f64>>> = Default::default();
    let sampler = {
        let (pid, samples) = (pid.clone(), samples.clone());
        tokio::spawn(async move {
            loop {
                samples.lock().unwrap().push(memory_of(&pid, "VmRSS:"));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };
    let rss_start = memory_of(&pid, "VmRSS:");

    let questions = questions();
    let fake = std::sync::Arc::new(fake);
    let sent: std::sync::Arc<std::sync::Mutex<HashMap<u64, Sent>>> = Default::default();
    let started = Instant::now();
    let per_user = events.div_ceil(users);
    let gap = Duration::from_secs_f64(seconds as f64 / per_user as f64);
    let mut tasks = Vec::new();
    for u in 0..users {
        let (fake, sent, questions) = (fake.clone(), sent.clone(), questions.clone());
        tasks.push(tokio::spawn(async move {
            let user_id = 1_180_000_000_000_100_000 + u as u64;
            let name = format!("user{u}");
            let mut asked: Vec<u64> = Vec::new();
            // Users start spread over the first gap, so dispatches are even.
            tokio::time::sleep(gap.mul_f64(u as f64 / users as f64)).await;
            let mut next = Instant::now();
            for n in 0..per_user {
                if u * per_user + n >= events {
                    break;
                }
                let question = &questions[(u * 7 + n * 13) % questions.len()];
                let id = fixtures::snowflake();
                let (kind, event, data) = match n % 20 {
                    // 15 in 20 slash asks, 3 mentions, 2 presses of a feedback button.
                    0..=14 => (
                        Kind::Slash,
                        "INTERACTION_CREATE",
                        fixtures::slash_command(
                            id,
                            &format!("token-{id}"),
                            Some(GUILD_ID),
                            CHANNEL_ID,
                            (user_id, name.as_str()),
                            Some(MEMBER_PERMISSIONS),
                            vec![],
                            "npq",
                            Some("ask"),
                            vec![("question", json!(question))],
                        ),
                    ),
                    15..=17 => (
                        Kind::Mention,
                        "MESSAGE_CREATE",
                        fixtures::message_create(
                            id,
                            CHANNEL_ID,
                            Some(GUILD_ID),
                            (user_id, name.as_str()),
                            &format!("<@{BOT_ID}> {question}"),
                            vec![UserFixture::bot(BOT_ID, BOT_NAME)],
                        ),
                    ),
                    _ => {
                        let origin = asked.last().copied().unwrap_or(id);
                        let custom_id = if n % 2 == 0 {
                            format!("npq:up:{origin}")
                        } else {
                            format!("npq:down:{origin}")
                        };
                        let message = fixtures::interaction_reply_message(
                            fixtures::snowflake(),
                            CHANNEL_ID,
                            (user_id, name.as_str()),
                            origin,
                            Some(GUILD_ID),
                            "",
                            vec![fixtures::button_row(&custom_id, "button")],
                        );
                        (
                            Kind::Button,
                            "INTERACTION_CREATE",
                            fixtures::component(
                                id,
                                &format!("token-{id}"),
                                Some(GUILD_ID),
                                CHANNEL_ID,
                                (user_id, name.as_str()),
                                &custom_id,
                                message,
                            ),
                        )
                    }
                };
                if kind == Kind::Slash {
                    asked.push(id);
                }
                sent.lock().unwrap().insert(
                    id,
                    Sent {
                        kind,
                        at: Instant::now(),
                    },
                );
                if let Err(e) = fake.dispatch(event, data).await {
                    eprintln!("dispatch failed: {e:#}");
                }
                next += gap;
                tokio::time::sleep_until(next.into()).await;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let dispatched_in = started.elapsed();
    sampler.abort();
    let samples = std::mem::take(&mut *samples.lock().unwrap());

    // Every event's reply, read from the fake's record: the first acknowledgement of an
    // interaction, and its final reply (the follow-up of a deferred one).
    let total = sent.lock().unwrap().len();
    let deadline = Instant::now() + Duration::from_secs(30);
    let (acks, replies) = loop {
        let mut acks: HashMap<u64, Instant> = HashMap::new();
        let mut replies: HashMap<u64, Instant> = HashMap::new();
        let mut deferred: std::collections::HashSet<u64> = Default::default();
        for r in fake.requests().iter().filter(|r| r.status < 300) {
            let Some((id, is_deferral)) = replied_to(r) else {
                continue;
            };
            if r.route().starts_with("/interactions/") {
                acks.entry(id).or_insert(r.received_at);
            }
            if is_deferral {
                deferred.insert(id);
            } else {
                replies.entry(id).or_insert(r.received_at);
            }
        }
        let done = {
            let sent = sent.lock().unwrap();
            sent.keys().filter(|id| replies.contains_key(id)).count()
        };
        if done == total || Instant::now() > deadline {
            break (acks, replies);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let rss_end = memory_of(&pid, "VmRSS:");
    let peak = memory_of(&pid, "VmHWM:");

    let sent = std::mem::take(&mut *sent.lock().unwrap());
    let mut latencies: Vec<f64> = Vec::new();
    let mut by_kind: HashMap<&str, (usize, usize)> = HashMap::new();
    let mut slow_acks = 0usize;
    for (id, s) in sent.iter() {
        let name = match s.kind {
            Kind::Slash => "slash",
            Kind::Mention => "mention",
            Kind::Button => "button",
        };
        let entry = by_kind.entry(name).or_default();
        entry.1 += 1;
        if let Some(at) = replies.get(id) {
            entry.0 += 1;
            latencies.push(at.duration_since(s.at).as_secs_f64() * 1000.0);
        }
        if s.kind != Kind::Mention {
            match acks.get(id) {
                Some(at) if at.duration_since(s.at) <= Duration::from_secs(3) => {}
                _ => slow_acks += 1,
            }
        }
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    let delivered = latencies.len();
    let failed = fake.failed().len();
    let all_violations: Vec<String> = fake
        .schema_violations()
        .into_iter()
        .chain(fake.protocol_violations())
        .collect();
    for v in all_violations.iter().take(3) {
        println!("violation: {v}");
    }
    let violations = all_violations.len();
    let turned_away = fake
        .requests()
        .iter()
        .filter(|r| r.status < 300)
        .filter(|r| {
            r.body
                .as_ref()
                .is_some_and(|b| b.to_string().contains(&busy_text))
        })
        .count();
    let errors = (total - delivered) + failed + violations + slow_acks;
    for (name, (done, all)) in &by_kind {
        println!("{name}: {done}/{all} replied");
    }
    println!(
        "{users} users, {total} events dispatched in {:.1} s; interactions not acknowledged within 3 s: {slow_acks}; failed requests: {failed}; schema or protocol violations: {violations}",
        dispatched_in.as_secs_f64()
    );
    println!(
        "turned away as busy (discord.busy_after_ms = {} ms): {turned_away}",
        env_or("LOAD_BUSY_AFTER_MS", 5000)
    );
    // The fake runs in this process and keeps every request it was sent, with its parsed
    // JSON body: part of the memory measured is that record, not the bot.
    let record = fake.requests();
    let body_bytes: usize = record
        .iter()
        .filter_map(|r| r.body.as_ref())
        .map(|b| b.to_string().len())
        .sum();
    println!(
        "the fake's record: {} requests, {:.1} MB of JSON bodies (held as parsed values, and copied each time the benchmark reads the record)",
        record.len(),
        body_bytes as f64 / 1e6
    );
    drop(record);
    let whose = match bot {
        Running::Process(_) => "of the bot's process (npq-bot serve)",
        Running::Task(_) => "of this process (the bot and the fake)",
    };
    let at = |share: f64| {
        samples
            .get(((samples.len().max(1) - 1) as f64 * share).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "memory {whose}: {rss_start:.0} MB resident after start-up; while dispatching {:.0} / {:.0} / {:.0} / {:.0} / {:.0} MB at 0 / 25 / 50 / 75 / 100 %; {rss_end:.0} MB at the end, peak {peak:.0} MB",
        at(0.0),
        at(0.25),
        at(0.5),
        at(0.75),
        at(1.0)
    );
    println!(
        "load: delivered={delivered}/{total} p50_ms={:.1} p99_ms={:.1} peak_rss_mb={peak:.0} errors={errors}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
    let _ = stop.send(());
    match bot {
        Running::Task(task) => {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        Running::Process(mut served) => {
            served.stop_with("TERM").await;
        }
    }
}
