//! The real bot, end to end, against the fake Discord: it connects through `discord.api_base`
//! and the gateway URL the fake hands out, and every request body it sends is checked against
//! Discord's OpenAPI description.

use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use npq_bot::config::Config;

use super::fake::{FakeDiscord, RecordedRequest};
use super::fixtures::{
    self, UserFixture, ADMIN_PERMISSIONS, BOT_ID, BOT_NAME, CHANNEL_ID, GUILD_ID,
    MEMBER_PERMISSIONS, THREAD_ID, USER_ID, USER_NAME,
};
use super::served::Served;

const WAIT: Duration = Duration::from_secs(20);
const CALLBACK: &str = r"/interactions/\d+/[^/]+/callback";
/// Discord's ephemeral message flag.
const EPHEMERAL: u64 = 1 << 6;

fn quiet_tracing() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let filter =
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "off".into());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}

fn bundled_knowledge() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge")
}

/// A running bot connected to a fake Discord; dropping it shuts the bot down.
struct Bot {
    fake: FakeDiscord,
    /// Holds the question log's SQLite file.
    log_dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Bot {
    /// Starts the fake and the bot (registering commands in the fake's guild), with `tweak`
    /// applied to the settings, and waits until the commands are registered.
    async fn start(tweak: impl FnOnce(&mut Config)) -> Bot {
        Bot::start_waiting_for(tweak, r"/applications/\d+/guilds/\d+/commands").await
    }

    /// [`Bot::start`], waiting for a PUT of commands on `route` instead (for global commands).
    async fn start_waiting_for(tweak: impl FnOnce(&mut Config), route: &str) -> Bot {
        quiet_tracing();
        let fake = FakeDiscord::start().await;
        let mut config = Config::defaults();
        config.knowledge_dir = bundled_knowledge();
        config.discord.token = Some(fake.token().to_string().into());
        config.discord.api_base = Some(fake.api_base());
        config.discord.guilds = vec![GUILD_ID];
        let log_dir = tempfile::tempdir().unwrap();
        config.log.database = npq_bot::qlog::Database::Sqlite(log_dir.path().join("questions.db"));
        // Tests that reload on purpose turn the watcher on.
        config.knowledge_watch = false;
        tweak(&mut config);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(npq_bot::discord::run(config, async move {
            let _ = stopped.await;
        }));
        let bot = Bot {
            fake,
            log_dir,
            stop: Some(stop),
            task: Some(task),
        };
        bot.fake
            .wait_for_request(|r| r.is("PUT", route), WAIT)
            .await
            .expect("the bot registers its commands");
        bot
    }

    /// Sends a slash command from `user` with `permissions` and returns its interaction id.
    async fn slash(
        &self,
        user: (u64, &str),
        permissions: &str,
        command: &str,
        sub: &str,
        options: Vec<(&str, Value)>,
    ) -> u64 {
        slash(&self.fake, user, permissions, command, sub, options).await
    }

    async fn ask(&self, question: &str) -> u64 {
        ask(&self.fake, question).await
    }

    /// `/npq ask question:<question>` from `user`.
    async fn ask_as(&self, user: (u64, &str), question: &str) -> u64 {
        self.slash(
            user,
            MEMBER_PERMISSIONS,
            "npq",
            "ask",
            vec![("question", json!(question))],
        )
        .await
    }

    /// `/npq-admin <sub>` from the usual member, with `permissions`.
    async fn admin(&self, permissions: &str, sub: &str) -> u64 {
        self.slash((USER_ID, USER_NAME), permissions, "npq-admin", sub, vec![])
            .await
    }

    /// The first successful callback for interaction `id`.
    async fn callback(&self, id: u64) -> Value {
        callback(&self.fake, id).await
    }

    /// The first follow-up message for interaction `id` (sent after a deferral).
    async fn followup(&self, id: u64) -> Value {
        let token = format!("token-{id}");
        let route = format!(r"/webhooks/\d+/{token}(/messages/@original)?");
        let r = self
            .fake
            .wait_for_request(
                |r| (r.is("POST", &route) || r.is("PATCH", &route)) && r.status < 300,
                WAIT,
            )
            .await
            .expect("a follow-up");
        r.body.expect("a follow-up has a body")
    }

    fn finish(mut self) {
        self.fake.assert_no_violations();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Sends a slash command from `user` with `permissions` to the bot connected to `fake`, and
/// returns its interaction id.
async fn slash(
    fake: &FakeDiscord,
    user: (u64, &str),
    permissions: &str,
    command: &str,
    sub: &str,
    options: Vec<(&str, Value)>,
) -> u64 {
    let id = fixtures::snowflake();
    let token = format!("token-{id}");
    let interaction = fixtures::slash_command(
        id,
        &token,
        Some(GUILD_ID),
        CHANNEL_ID,
        user,
        Some(permissions),
        vec![],
        command,
        Some(sub),
        options,
    );
    fake.dispatch("INTERACTION_CREATE", interaction)
        .await
        .expect("dispatched");
    id
}

/// `/npq ask question:<question>` from an ordinary member.
pub(super) async fn ask(fake: &FakeDiscord, question: &str) -> u64 {
    slash(
        fake,
        (USER_ID, USER_NAME),
        MEMBER_PERMISSIONS,
        "npq",
        "ask",
        vec![("question", json!(question))],
    )
    .await
}

/// The first successful callback for interaction `id`.
pub(super) async fn callback(fake: &FakeDiscord, id: u64) -> Value {
    let prefix = format!("/interactions/{id}/");
    let r = fake
        .wait_for_request(
            |r| r.is("POST", CALLBACK) && r.route().starts_with(&prefix) && r.status < 300,
            WAIT,
        )
        .await
        .expect("the bot answers the interaction");
    r.body.expect("a callback has a body")
}

pub(super) fn embed(body: &Value) -> &Value {
    body.pointer("/data/embeds/0")
        .or_else(|| body.pointer("/embeds/0"))
        .unwrap_or_else(|| panic!("no embed in {body:#}"))
}

pub(super) fn text_of(embed: &Value) -> String {
    let mut text = format!(
        "{}\n{}",
        embed["title"].as_str().unwrap_or(""),
        embed["description"].as_str().unwrap_or("")
    );
    for f in embed["fields"].as_array().into_iter().flatten() {
        text.push_str(&format!(
            "\n{}\n{}",
            f["name"].as_str().unwrap_or(""),
            f["value"].as_str().unwrap_or("")
        ));
    }
    text
}

fn flags(body: &Value) -> u64 {
    body.pointer("/data/flags")
        .or_else(|| body.get("flags"))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

fn custom_ids(body: &Value) -> Vec<String> {
    let rows = body
        .pointer("/data/components")
        .or_else(|| body.get("components"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    rows.iter()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|b| b["custom_id"].as_str().map(str::to_string))
        .collect()
}

/// Nobody may be pinged: no parse list entries, no users, no roles, no replied user.
fn assert_pings_nobody(body: &Value) {
    let mentions = body
        .pointer("/data/allowed_mentions")
        .or_else(|| body.get("allowed_mentions"))
        .unwrap_or_else(|| panic!("no allowed_mentions in {body:#}"));
    assert_eq!(
        mentions.get("parse").cloned().unwrap_or(json!([])),
        json!([]),
        "{mentions}"
    );
    for key in ["users", "roles"] {
        assert!(
            mentions
                .get(key)
                .and_then(Value::as_array)
                .is_none_or(|a| a.is_empty()),
            "{mentions}"
        );
    }
    assert_ne!(
        mentions.get("replied_user"),
        Some(&json!(true)),
        "{mentions}"
    );
}

fn question_id(body: &Value) -> u64 {
    custom_ids(body)
        .iter()
        .find_map(|id| id.strip_prefix("npq:up:").and_then(|n| n.parse().ok()))
        .expect("a feedback button")
}

/// The message a component press is attached to: the bot's earlier answer.
fn answer_message(asker: (u64, &str), origin: u64, components: Vec<Value>) -> Value {
    fixtures::interaction_reply_message(
        fixtures::snowflake(),
        CHANNEL_ID,
        asker,
        origin,
        Some(GUILD_ID),
        "",
        components,
    )
}

/// The question id in a button's custom id (`npq:more:ID:PAGE`, `npq:up:ID`, `npq:down:ID`).
fn question_of(custom_id: &str) -> u64 {
    custom_id
        .split(':')
        .nth(2)
        .and_then(|n| n.parse().ok())
        .expect("a question id")
}

/// `user` presses `custom_id` on the bot's answer to the slash command the button was made for.
async fn press(bot: &Bot, user: (u64, &str), custom_id: &str) -> u64 {
    press_on(bot, user, custom_id, question_of(custom_id)).await
}

/// `user` presses `custom_id` on the bot's answer to interaction `origin`.
async fn press_on(bot: &Bot, user: (u64, &str), custom_id: &str, origin: u64) -> u64 {
    let id = fixtures::snowflake();
    let message = answer_message(
        (USER_ID, USER_NAME),
        origin,
        vec![fixtures::button_row(custom_id, "button")],
    );
    let interaction = fixtures::component(
        id,
        &format!("token-{id}"),
        Some(GUILD_ID),
        CHANNEL_ID,
        user,
        custom_id,
        message,
    );
    bot.fake
        .dispatch("INTERACTION_CREATE", interaction)
        .await
        .expect("dispatched");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_ask_gets_a_cited_embed_with_source_links() {
    let bot = Bot::start(|_| {}).await;
    let id = bot.ask("How long does the NPQH take?").await;
    let body = bot.callback(id).await;
    assert_eq!(body["type"], 4, "an immediate message response");
    let e = embed(&body);
    let text = text_of(e);
    assert!(text.contains("months"), "{text}");
    assert!(
        text.contains("Source:"),
        "every result names its source: {text}"
    );
    assert!(text.contains("**"), "the user's words are bold: {text}");
    assert_eq!(flags(&body) & EPHEMERAL, 0, "a normal ask is public");
    let links: Vec<&Value> = body
        .pointer("/data/components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().unwrap().iter())
        .filter(|b| b["style"] == 5)
        .collect();
    assert!(!links.is_empty(), "link buttons to the sources");
    assert!(links
        .iter()
        .all(|b| b["url"].as_str().unwrap().starts_with("http")));
    assert!(custom_ids(&body).iter().any(|c| c.starts_with("npq:up:")));
    assert_pings_nobody(&body);
    bot.finish();
}

/// An answer not ready within `discord.defer_after_ms` (0 here: never ready in time, as when a
/// burst queues answers behind each other) is acknowledged first, "thinking" (type 5) for an
/// ask and a deferred update (type 6) for More, and then delivered: a follow-up for the ask,
/// an edit of the original message for the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_answer_is_acknowledged_first_and_delivered_after() {
    let bot = Bot::start(|c| c.discord.defer_after_ms = 0).await;
    let id = bot.ask("How is the NPQ funded?").await;
    let first = bot.callback(id).await;
    assert_eq!(first["type"], 5, "acknowledged first: {first}");
    let answer = bot.followup(id).await;
    let text = serde_json::to_string(&answer).unwrap();
    assert!(text.contains("Source:"), "the follow-up answers: {text}");
    assert_pings_nobody(&answer);
    let more = custom_ids(&answer)
        .into_iter()
        .find(|c| c.starts_with("npq:more:"))
        .expect("a More button");
    let own = press(&bot, (USER_ID, USER_NAME), &more).await;
    let ack = bot.callback(own).await;
    assert_eq!(ack["type"], 6, "the press is acknowledged first: {ack}");
    let token = format!("token-{own}");
    let edit = bot
        .fake
        .wait_for_request(
            |r| {
                r.is(
                    "PATCH",
                    &format!(r"/webhooks/\d+/{token}/messages/@original"),
                ) && r.status < 300
            },
            WAIT,
        )
        .await
        .expect("the page is edited into the answer");
    let page = serde_json::to_string(&edit.body).unwrap();
    assert!(page.contains("page 2"), "{page}");
    bot.finish();
}

/// A flood of questions larger than the cores can answer: once a question has waited longer
/// than `discord.busy_after_ms`, new ones are told at once (privately) that the bot is busy,
/// and every interaction still gets its response, so the queue stays bounded and nobody waits
/// in silence. The flood comes in bursts of long questions in several parts, sent with no pause,
/// until one is turned away: however quick the machine, a burst outgrows two cores.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_deeper_than_busy_after_is_told_the_bot_is_busy_and_nobody_is_left_waiting() {
    let bot = Bot::start(|c| {
        c.discord.busy_after_ms = 250;
        c.discord.rate_limit_per_minute = 100_000;
        c.discord.max_question_chars = 2000;
    })
    .await;
    let busy_text = "please ask again in a minute";
    let parts = [
        "How is the NPQ funded for the next cohort and who pays if my school is not eligible?",
        "how long does the npqh take and how is it assessed at the end?",
        "is the NPQ for SENCOs compulsory for a new SENCO and when must it be finished?",
        "will an NPQ raise my pay, and will my school give me time off to study for it?",
        "can I still use my old NPQML when I apply for a deputy headship?",
    ];
    const BURST: u64 = 20;
    const MOST: u64 = 3_000;
    let mut asked = Vec::new();
    let mut turned_away = false;
    let mut i = 0u64;
    while !turned_away && i < MOST {
        for _ in 0..BURST {
            let user = (USER_ID + 1 + i, "staff");
            // Each question a different rotation of the parts, so no two are alike.
            let first = i as usize % parts.len();
            let question = (0..parts.len())
                .map(|k| parts[(first + k) % parts.len()])
                .collect::<Vec<_>>()
                .join(" Also, ");
            asked.push(bot.ask_as(user, &question).await);
            i += 1;
        }
        // Let the gateway side catch up before looking.
        tokio::time::sleep(Duration::from_millis(50)).await;
        turned_away = bot.fake.interaction_callbacks().iter().any(|r| {
            r.body
                .as_ref()
                .is_some_and(|b| b.to_string().contains(busy_text))
        });
    }
    assert!(
        turned_away,
        "{} questions asked, none turned away",
        asked.len()
    );
    for (n, &id) in asked.iter().enumerate() {
        let prefix = format!("/interactions/{id}/");
        let Some(first) = bot
            .fake
            .wait_for_request(
                |r| r.is("POST", CALLBACK) && r.route().starts_with(&prefix) && r.status < 300,
                WAIT,
            )
            .await
            .ok()
            .and_then(|r| r.body)
        else {
            panic!(
                "question {n} of {} got no response; {} callbacks in all:\n{}",
                asked.len(),
                bot.fake.interaction_callbacks().len(),
                bot.fake.describe_requests()
            );
        };
        if first.to_string().contains(busy_text) {
            assert_eq!(first["type"], 4, "{first}");
            assert_eq!(first["data"]["flags"], EPHEMERAL, "told privately: {first}");
            assert_pings_nobody(&first);
        }
    }
    // The queue drains: a question asked after the flood is answered again.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let mut answered_after = false;
    while !answered_after && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let id = bot
            .ask_as((USER_ID, USER_NAME), "how long does the npqh take")
            .await;
        let first = bot.callback(id).await;
        let text = if first["type"] == 5 {
            bot.followup(id).await.to_string()
        } else {
            first.to_string()
        };
        if !text.contains(busy_text) {
            assert!(text.contains("Source"), "{text}");
            answered_after = true;
        }
    }
    assert!(answered_after, "the bot stayed busy after the flood");
    bot.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_ask_is_ephemeral() {
    let bot = Bot::start(|_| {}).await;
    let id = bot
        .slash(
            (USER_ID, USER_NAME),
            MEMBER_PERMISSIONS,
            "npq",
            "ask",
            vec![
                ("question", json!("will an NPQ raise my pay?")),
                ("private", json!(true)),
            ],
        )
        .await;
    let body = bot.callback(id).await;
    assert_ne!(
        flags(&body) & EPHEMERAL,
        0,
        "private answers are ephemeral: {body}"
    );
    assert!(text_of(embed(&body)).to_lowercase().contains("pay"));
    bot.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_registered_with_admin_commands_hidden_from_others() {
    let bot = Bot::start(|_| {}).await;
    let commands = bot.fake.registered_commands(Some(GUILD_ID));
    let npq = commands.iter().find(|c| c["name"] == "npq").expect("/npq");
    let subs: Vec<&str> = npq["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    for sub in ["ask", "programme", "list", "sources", "help"] {
        assert!(subs.contains(&sub), "{subs:?}");
    }
    let admin = commands
        .iter()
        .find(|c| c["name"] == "npq-admin")
        .expect("/npq-admin");
    // Manage Server is permission bit 5.
    assert_eq!(admin["default_member_permissions"], json!("32"), "{admin}");
    let intents = bot.fake.intents().expect("the bot identified");
    let message_content = 1 << 15;
    assert_eq!(
        intents & message_content,
        0,
        "no privileged intent without a prefix"
    );
    bot.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_offers_matching_programmes() {
    let bot = Bot::start(|_| {}).await;
    for (typed, expected) in [
        ("head", "NPQH"),
        ("npqs", "NPQSL"),
        ("SENCO", "NPQSENCO"),
        ("", "NPQLT"),
    ] {
        let id = fixtures::snowflake();
        let interaction = fixtures::autocomplete(
            id,
            &format!("token-{id}"),
            Some(GUILD_ID),
            CHANNEL_ID,
            (USER_ID, USER_NAME),
            "npq",
            Some("programme"),
            vec![("name", json!(typed))],
            "name",
        );
        bot.fake
            .dispatch("INTERACTION_CREATE", interaction)
            .await
            .unwrap();
        let body = bot.callback(id).await;
        assert_eq!(body["type"], 8, "an autocomplete result");
        let choices = body["data"]["choices"].as_array().unwrap();
        assert!(
            !choices.is_empty() && choices.len() <= 25,
            "{typed}: {choices:?}"
        );
        assert!(
            choices.iter().any(|c| c["value"] == expected),
            "{typed}: {choices:?}"
        );
    }
    let id = bot
        .slash(
            (USER_ID, USER_NAME),
            MEMBER_PERMISSIONS,
            "npq",
            "programme",
            vec![("name", json!("NPQH"))],
        )
        .await;
    let card = bot.callback(id).await;
    let text = text_of(embed(&card));
    assert!(
        text.contains("Headship") && text.contains("Funding (as of"),
        "{text}"
    );
    bot.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_sources_and_help_answer() {
    let bot = Bot::start(|_| {}).await;
    let id = bot
        .slash(
            (USER_ID, USER_NAME),
            MEMBER_PERMISSIONS,
            "npq",
            "list",
            vec![],
        )
        .await;
    let text = text_of(embed(&bot.callback(id).await));
    assert!(
        text.contains("Specialist NPQs")
            && text.contains("Leadership NPQs")
            && text.contains("NPQH"),
        "{text}"
    );
    let id = bot
        .slash(
            (USER_ID, USER_NAME),
            MEMBER_PERMISSIONS,
            "npq",
            "sources",
            vec![],
        )
        .await;
    let text = text_of(embed(&bot.callback(id).await));
    assert!(
        text.contains("National Education Union") || text.contains("NEU"),
        "{text}"
    );
    let id = bot
        .slash(
            (USER_ID, USER_NAME),
            MEMBER_PERMISSIONS,
            "npq",
            "help",
            vec![],
        )
        .await;
    assert!(text_of(embed(&bot.callback(id).await)).contains("/npq ask"));
    bot.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_in_a_channel_gets_a_reply_and_bots_are_ignored() {
    let bot = Bot::start(|_| {}).await;
    let me = UserFixture::bot(BOT_ID, BOT_NAME);
    let other_bot = fixtures::message_create(
        fixtures::snowflake(),
        CHANNEL_ID,
        Some(GUILD_ID),
        UserFixture::bot(42, "otherbot"),
        &format!("<@{BOT_ID}> how long is the NPQH?"),
        vec![me.clone()],
    );
    bot.fake
        .dispatch("MESSAGE_CREATE", other_bot)
        .await
        .unwrap();
    let message_id = fixtures::snowflake();
    let human = fixtures::message_create(
        message_id,
        CHANNEL_ID,
        Some(GUILD_ID),
        (USER_ID, USER_NAME),
        &format!("<@{BOT_ID}> how long is the NPQH?"),
        vec![me],
    );
    bot.fake.dispatch("MESSAGE_CREATE", human).await.unwrap();
    let sent = bot
        .fake
        .wait_for_request(
            |r| r.is("POST", &format!("/channels/{CHANNEL_ID}/messages")),
            WAIT,
        )
        .await
        .unwrap();
    let body = sent.body.unwrap();
    assert_eq!(
        body["message_reference"]["message_id"],
        json!(message_id.to_string()),
        "a reply to the question"
    );
    assert!(text_of(embed(&body)).contains("months"));
    assert_pings_nobody(&body);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        bot.fake.channel_messages().len(),
        1,
        "the other bot's message was ignored"
    );
    bot.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_in_a_thread_of_an_allowed_channel_gets_a_reply_there() {
    let bot = Bot::start(|c| c.discord.allowed_channels = vec![CHANNEL_ID]).await;
    let message_id = fixtures::snowflake();
    let question = fixtures::message_create(
        message_id,
        THREAD_ID,
        Some(GUILD_ID),
        (USER_ID, USER_NAME),
        &format!("<@{BOT_ID}> how long is the NPQH?"),
        vec![UserFixture::bot(BOT_ID, BOT_NAME)],
    );
    bot.fake.dispatch("MESSAGE_CREATE", question).await.unwrap();
    let sent = bot
        .fake
        .wait_for_request(
            |r| r.is("POST", &format!("/channels/{THREAD_ID}/messages")),
            WAIT,
        )
        .await
        .expect("the thread is served because its channel is allowed");
    let body = sent.body.unwrap();
    assert_eq!(
        body["message_reference"]["message_id"],
        json!(message_id.to_string())
    );
    assert!(text_of(embed(&body)).contains("months"));
    assert_pings_nobody(&body);
    bot.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_message_gets_an_answer() {
    let bot = Bot::start(|_| {}).await;
    let dm_channel = fixtures::snowflake();
    let dm = fixtures::message_create(
        fixtures::snowflake(),
        dm_channel,
        None,
        (USER_ID, USER_NAME),
        "is the NPQ for SENCOs funded?",
        vec![],
    );
    bot.fake.dispatch("MESSAGE_CREATE", dm).await.unwrap();
    let sent = bot
        .fake
        .wait_for_request(
            |r| r.is("POST", &format!("/channels/{dm_channel}/messages")),
            WAIT,
        )
        .await
        .unwrap();
    let text = text_of(embed(sent.body.as_ref().unwrap()));
    assert!(text.contains("SENCO"), "{text}");
    bot.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_pages_for_the_asker_only() {
    let bot = Bot::start(|_| {}).await;
    let id = bot.ask("How is the NPQ funded?").await;
    let first = bot.callback(id).await;
    let more = custom_ids(&first)
        .into_iter()
        .find(|c| c.starts_with("npq:more:"))
        .expect("a More button");

    let stranger = press(&bot, (USER_ID + 1, "someoneelse"), &more).await;
    let refused = bot.callback(stranger).await;
    assert_eq!(refused["type"], 4);
    assert_ne!(flags(&refused) & EPHEMERAL, 0);
    assert!(refused["data"]["content"]
        .as_str()
        .unwrap()
        .contains("Only the person who asked"));

    let own = press(&bot, (USER_ID, USER_NAME), &more).await;
    let page = bot.callback(own).await;
    assert_eq!(page["type"], 7, "the answer message is updated in place");
    assert_ne!(
        embed(&page)["description"],
        embed(&first)["description"],
        "page two shows other results"
    );
    assert!(embed(&page)["footer"]["text"]
        .as_str()
        .unwrap()
        .contains("page 2"));
    bot.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_is_counted_in_stats() {
    let bot = Bot::start(|_| {}).await;
    let id = bot.ask("Do I need QTS to do an NPQ?").await;
    let qid = question_id(&bot.callback(id).await);
    let up = press(&bot, (USER_ID, USER_NAME), &format!("npq:up:{qid}")).await;
    assert!(bot.callback(up).await["data"]["content"]
        .as_str()
        .unwrap()
        .contains("Thanks"));
    let again = press(&bot, (USER_ID, USER_NAME), &format!("npq:up:{qid}")).await;
    assert!(bot.callback(again).await["data"]["content"]
        .as_str()
        .unwrap()
        .contains("already"));
    let down = press(&bot, (USER_ID + 7, "colleague"), &format!("npq:down:{qid}")).await;
    bot.callback(down).await;

    let stats = bot.admin(ADMIN_PERMISSIONS, "stats").await;
    let body = bot.callback(stats).await;
    let e = embed(&body);
    let field = |name: &str| {
        e["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .map(|f| f["value"].as_str().unwrap().to_string())
    };
    assert_eq!(field("Questions asked").as_deref(), Some("1"));
    assert_eq!(field("Answered").as_deref(), Some("1"));
    assert_eq!(field("Helpful").as_deref(), Some("1"));
    assert_eq!(field("Not helpful").as_deref(), Some("1"));
    assert_ne!(flags(&body) & EPHEMERAL, 0);
    bot.finish();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_swaps_good_knowledge_keeps_the_old_on_errors_and_is_for_admins_only() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&bundled_knowledge(), dir.path());
    let knowledge = dir.path().to_path_buf();
    let bot = Bot::start(|c| {
        c.knowledge_dir = knowledge.clone();
        c.knowledge_strict = true;
    })
    .await;

    // A teacher cannot reload.
    let id = bot.admin(MEMBER_PERMISSIONS, "reload").await;
    let body = bot.callback(id).await;
    assert!(
        body["data"]["content"]
            .as_str()
            .unwrap()
            .contains("Only server admins"),
        "{body}"
    );

    // Good new knowledge is picked up.
    std::fs::write(
        dir.path().join("staffroom-kettle.md"),
        "+++\ntitle = \"Staffroom kettle rota\"\nupdated = \"2026-11-01\"\ncite = [\"neu-2023\"]\n+++\n\n## Who fills the staffroom kettle?\n\nThe staffroom kettle rota gives each department one week per half term.\n",
    )
    .unwrap();
    let id = bot.admin(ADMIN_PERMISSIONS, "reload").await;
    assert_eq!(
        bot.callback(id).await["type"],
        5,
        "reload defers while it loads"
    );
    let done = bot.followup(id).await;
    assert!(text_of(embed(&done)).contains("Reloaded"), "{done}");
    let id = bot.ask("who fills the staffroom kettle").await;
    assert!(text_of(embed(&bot.callback(id).await)).contains("kettle rota"));

    // Broken knowledge is refused with file:line, and the old index keeps answering.
    std::fs::write(
        dir.path().join("broken.md"),
        "+++\ntitle = \"Never closed\"\n\n## Section\n\nText.\n",
    )
    .unwrap();
    let id = bot.admin(ADMIN_PERMISSIONS, "reload").await;
    bot.callback(id).await;
    let refused = bot.followup(id).await;
    let text = text_of(embed(&refused));
    assert!(
        text.contains("Reload refused") && text.contains("broken.md:1"),
        "{text}"
    );
    let id = bot.ask("who fills the staffroom kettle").await;
    assert!(
        text_of(embed(&bot.callback(id).await)).contains("kettle rota"),
        "the last good index still serves"
    );
    bot.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_answers_politely() {
    let bot = Bot::start(|c| c.discord.rate_limit_per_minute = 2).await;
    for _ in 0..2 {
        let id = bot.ask("how long is the NPQH").await;
        assert!(embed(&bot.callback(id).await).is_object());
    }
    let id = bot.ask("how long is the NPQH").await;
    let body = bot.callback(id).await;
    assert_ne!(flags(&body) & EPHEMERAL, 0);
    assert!(
        body["data"]["content"]
            .as_str()
            .unwrap()
            .contains("try again in"),
        "{body}"
    );
    bot.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_questions_and_other_channels_get_friendly_messages() {
    let bot = Bot::start(|c| c.discord.allowed_channels = vec![CHANNEL_ID]).await;
    let id = bot.ask(&"how long is the NPQH ".repeat(30)).await;
    let body = bot.callback(id).await;
    assert!(
        body["data"]["content"]
            .as_str()
            .unwrap()
            .contains("at most 300 characters"),
        "{body}"
    );

    let other_channel = fixtures::snowflake();
    let id = fixtures::snowflake();
    let interaction = fixtures::slash_command(
        id,
        &format!("token-{id}"),
        Some(GUILD_ID),
        other_channel,
        (USER_ID, USER_NAME),
        None,
        vec![],
        "npq",
        Some("ask"),
        vec![("question", json!("how long is the NPQH"))],
    );
    bot.fake
        .dispatch("INTERACTION_CREATE", interaction)
        .await
        .unwrap();
    let body = bot.callback(id).await;
    assert!(
        body["data"]["content"]
            .as_str()
            .unwrap()
            .contains("in this channel"),
        "{body}"
    );
    bot.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_with_everyone_pings_nobody() {
    let bot = Bot::start(|_| {}).await;
    let id = bot
        .ask(&format!(
            "@everyone @here <@&{}> how long is the NPQH?",
            fixtures::STAFF_ROLE_ID
        ))
        .await;
    let body = bot.callback(id).await;
    assert_pings_nobody(&body);
    let title = embed(&body)["title"].as_str().unwrap();
    assert!(
        !title.contains("@everyone") && !title.contains("@here"),
        "echoed mentions are defused: {title}"
    );
    let me = UserFixture::bot(BOT_ID, BOT_NAME);
    let message = fixtures::message_create(
        fixtures::snowflake(),
        CHANNEL_ID,
        Some(GUILD_ID),
        (USER_ID, USER_NAME),
        &format!("<@{BOT_ID}> @everyone is the NPQH free?"),
        vec![me],
    );
    bot.fake.dispatch("MESSAGE_CREATE", message).await.unwrap();
    let sent = bot
        .fake
        .wait_for_request(|r| r.is("POST", r"/channels/\d+/messages"), WAIT)
        .await
        .unwrap();
    assert_pings_nobody(sent.body.as_ref().unwrap());
    bot.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_off_topic_question_gets_the_refusal() {
    let bot = Bot::start(|_| {}).await;
    let id = bot.ask("what's for lunch today?").await;
    let text = text_of(embed(&bot.callback(id).await));
    assert!(text.contains("I can answer questions about"), "{text}");
    assert!(
        text.contains("union rep") || text.contains("rep"),
        "it points somewhere useful: {text}"
    );
    bot.finish();
}

/// A small guidance folder about school trips, with its own `wording.toml` and kinds.
fn trips_knowledge() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/trips")
}

/// The option `name` of a registered command or subcommand.
fn option<'a>(command: &'a Value, name: &str) -> &'a Value {
    command["options"]
        .as_array()
        .and_then(|o| o.iter().find(|o| o["name"] == name))
        .unwrap_or_else(|| panic!("no option {name} in {command:#}"))
}

/// The embed's field names, in order.
fn field_names(embed: &Value) -> Vec<String> {
    embed["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| f["name"].as_str().unwrap_or("").to_string())
        .collect()
}

/// The same binary on another folder: the commands are registered under that folder's names and
/// descriptions, and its help, footers, refusal, empty-question reply and programme list (by the
/// kinds it declares) are its own words; the buttons still work under the new name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_folder_names_the_commands_and_says_everything_in_its_own_words() {
    let knowledge = trips_knowledge();
    let bot = Bot::start(|c| c.knowledge_dir = knowledge).await;
    let member = (USER_ID, USER_NAME);

    let commands = bot.fake.registered_commands(Some(GUILD_ID));
    let mut names: Vec<&str> = commands
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["trips", "trips-admin"], "{commands:#?}");
    let trips = commands.iter().find(|c| c["name"] == "trips").unwrap();
    assert_eq!(
        trips["description"],
        "Answers about school trips, from the trips policy"
    );
    let ask = option(trips, "ask");
    assert_eq!(ask["description"], "Ask a question about a school trip");
    assert_eq!(
        option(ask, "question")["description"],
        "Your question, for example: when does the residential leave?"
    );
    // A key the folder leaves out keeps the plain default.
    assert_eq!(
        option(ask, "private")["description"],
        "Show the answer only to you"
    );
    assert_eq!(
        option(option(trips, "programme"), "name")["description"],
        "The trip, for example Y7RES"
    );
    let registered = serde_json::to_string(&commands).unwrap().to_lowercase();
    assert!(!registered.contains("npq"), "{registered}");

    let id = bot
        .slash(member, MEMBER_PERMISSIONS, "trips", "help", vec![])
        .await;
    let help = text_of(embed(&bot.callback(id).await));
    assert!(
        help.starts_with("School trips, answered from the trips policy\n")
            && help.contains("**/trips ask** `question`")
            && help.contains("**/trips-admin reload**"),
        "{help}"
    );
    assert!(!help.to_lowercase().contains("npq"), "{help}");

    let id = bot
        .slash(
            member,
            MEMBER_PERMISSIONS,
            "trips",
            "ask",
            vec![("question", json!("what's for lunch today?"))],
        )
        .await;
    let refusal = text_of(embed(&bot.callback(id).await));
    assert!(
        refusal.contains("I only answer questions about school trips.")
            && refusal.contains("what to pack")
            && refusal.contains("the school office, for anything else"),
        "{refusal}"
    );

    let id = bot
        .slash(
            member,
            MEMBER_PERMISSIONS,
            "trips",
            "ask",
            vec![("question", json!("when does the year 7 residential leave?"))],
        )
        .await;
    let answer = bot.callback(id).await;
    assert!(text_of(embed(&answer)).contains("8:30"), "{answer:#}");
    assert_eq!(
        embed(&answer)["footer"]["text"],
        "From the trips policy. Ask the school office if in doubt."
    );
    let qid = question_id(&answer);
    let up = press(&bot, member, &format!("npq:up:{qid}")).await;
    assert!(bot.callback(up).await["data"]["content"]
        .as_str()
        .unwrap()
        .contains("Thanks"));

    let id = bot
        .slash(member, MEMBER_PERMISSIONS, "trips", "list", vec![])
        .await;
    let body = bot.callback(id).await;
    let list = embed(&body);
    assert_eq!(list["title"], "This year's trips");
    assert_eq!(field_names(list), ["Trips with a night away", "Day trips"]);
    assert!(
        text_of(list).contains("**Y7RES**: Year 7 residential"),
        "{list:#}"
    );
    assert_eq!(list["footer"]["text"], "Use /trips programme for one trip.");

    let id = bot
        .slash(
            member,
            MEMBER_PERMISSIONS,
            "trips",
            "programme",
            vec![("name", json!("nowhere"))],
        )
        .await;
    let unknown = bot.callback(id).await;
    assert!(
        unknown["data"]["content"]
            .as_str()
            .unwrap()
            .contains("Try /trips list"),
        "{unknown:#}"
    );

    let me = UserFixture::bot(BOT_ID, BOT_NAME);
    let mention = fixtures::message_create(
        fixtures::snowflake(),
        CHANNEL_ID,
        Some(GUILD_ID),
        member,
        &format!("<@{BOT_ID}>"),
        vec![me],
    );
    bot.fake.dispatch("MESSAGE_CREATE", mention).await.unwrap();
    let sent = bot
        .fake
        .wait_for_request(
            |r| r.is("POST", &format!("/channels/{CHANNEL_ID}/messages")),
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(
        sent.body.unwrap()["content"],
        "Ask me about a school trip, for example: what should I pack?"
    );
    bot.finish();
}

/// A folder without `wording.toml` and without kinds still serves: plain command names and
/// wording, and every programme under one heading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_without_wording_or_kinds_gets_the_plain_defaults() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&trips_knowledge(), dir.path());
    std::fs::remove_file(dir.path().join("wording.toml")).unwrap();
    let programmes = std::fs::read_to_string(dir.path().join("programmes.toml")).unwrap();
    let without_kinds: String = programmes
        .split("\n\n")
        .filter(|block| !block.starts_with("[[kinds]]"))
        .collect::<Vec<_>>()
        .join("\n\n")
        .lines()
        .filter(|l| !l.starts_with("kind = "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.path().join("programmes.toml"), without_kinds).unwrap();
    let knowledge = dir.path().to_path_buf();
    let bot = Bot::start(|c| c.knowledge_dir = knowledge).await;
    let member = (USER_ID, USER_NAME);

    let commands = bot.fake.registered_commands(Some(GUILD_ID));
    let mut names: Vec<&str> = commands
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["guidance", "guidance-admin"], "{commands:#?}");

    let id = bot
        .slash(member, MEMBER_PERMISSIONS, "guidance", "help", vec![])
        .await;
    let help = text_of(embed(&bot.callback(id).await));
    assert!(help.contains("**/guidance ask**"), "{help}");

    let id = bot
        .slash(member, MEMBER_PERMISSIONS, "guidance", "list", vec![])
        .await;
    let body = bot.callback(id).await;
    let list = embed(&body);
    assert_eq!(field_names(list), ["Programmes"]);
    let text = text_of(list);
    assert!(
        text.contains("**Y7RES**") && text.contains("**MUSEUM**"),
        "{text}"
    );

    let id = bot
        .slash(
            member,
            MEMBER_PERMISSIONS,
            "guidance",
            "ask",
            vec![("question", json!("what's for lunch today?"))],
        )
        .await;
    let refusal = text_of(embed(&bot.callback(id).await));
    assert!(
        refusal.contains("I could not find that in the guidance I hold"),
        "{refusal}"
    );
    bot.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_reconnects_after_the_gateway_drops() {
    let bot = Bot::start(|_| {}).await;
    let id = bot.ask("how long is the NPQH").await;
    bot.callback(id).await;
    bot.fake.drop_connection_abruptly();
    bot.fake
        .wait_resume_count(1, WAIT)
        .await
        .expect("the bot resumes its session");
    let id = bot.ask("is the NPQH funded").await;
    let text = text_of(embed(&bot.callback(id).await));
    assert!(text.contains("NPQH") || text.contains("Headship"), "{text}");

    bot.fake.drop_connection();
    bot.fake
        .wait_resume_count(2, WAIT)
        .await
        .expect("a clean close is resumed too");
    let id = bot.ask("what does the NPQ for SENCOs cost").await;
    bot.callback(id).await;
    bot.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_waited_out_and_the_reply_still_arrives() {
    let bot = Bot::start(|_| {}).await;
    bot.fake.rate_limit_next("POST", "/interactions/", 1.0, 1);
    let id = bot.ask("how long is the NPQH").await;
    let body = bot.callback(id).await;
    assert!(text_of(embed(&body)).contains("months"));
    let limited: Vec<RecordedRequest> = bot.fake.rate_limited();
    assert_eq!(limited.len(), 1, "the first try was rate limited");
    let retried = bot
        .fake
        .requests()
        .into_iter()
        .find(|r| r.is("POST", CALLBACK) && r.status < 300)
        .unwrap();
    let waited = retried.received_at.duration_since(limited[0].received_at);
    assert!(
        waited >= Duration::from_millis(950),
        "the retry waited out retry-after: {waited:?}"
    );
    bot.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_prefix_asks_for_message_content_and_works() {
    let bot = Bot::start(|c| c.discord.prefix = Some("!npq".into())).await;
    let message_content = 1 << 15;
    assert_ne!(
        bot.fake.intents().unwrap() & message_content,
        0,
        "a prefix needs the Message Content intent"
    );
    let message = fixtures::message_create(
        fixtures::snowflake(),
        CHANNEL_ID,
        Some(GUILD_ID),
        (USER_ID, USER_NAME),
        "!npq what does the NPQH cost",
        vec![],
    );
    bot.fake.dispatch("MESSAGE_CREATE", message).await.unwrap();
    let sent = bot
        .fake
        .wait_for_request(
            |r| r.is("POST", &format!("/channels/{CHANNEL_ID}/messages")),
            WAIT,
        )
        .await
        .unwrap();
    assert!(text_of(embed(sent.body.as_ref().unwrap())).contains('£'));
    bot.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_messages_can_be_turned_off() {
    let bot = Bot::start(|c| c.discord.direct_messages = false).await;
    let dm = fixtures::message_create(
        fixtures::snowflake(),
        fixtures::snowflake(),
        None,
        (USER_ID, USER_NAME),
        "is the NPQH funded?",
        vec![],
    );
    bot.fake.dispatch("MESSAGE_CREATE", dm).await.unwrap();
    // A slash command afterwards proves the DM was handled (and ignored) first.
    let id = bot.ask("is the NPQH funded?").await;
    bot.callback(id).await;
    assert!(bot.fake.channel_messages().is_empty(), "no reply to the DM");
    bot.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_range_identifies_each_of_its_shards() {
    let bot = Bot::start(|c| {
        c.discord.shards = npq_bot::config::Shards::Range {
            first: 0,
            last: 1,
            total: 2,
        }
    })
    .await;
    // serenity waits about five seconds between IDENTIFYs.
    bot.fake
        .wait_identify_count(2, Duration::from_secs(30))
        .await
        .expect("both shards identify");
    let mut shards = bot.fake.identified_shards();
    shards.sort();
    assert_eq!(shards, vec![[0, 2], [1, 2]]);
    bot.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_shuts_down_cleanly_when_asked() {
    let mut bot = Bot::start(|_| {}).await;
    let id = bot.ask("how long is the NPQH").await;
    bot.callback(id).await;
    bot.stop.take().unwrap().send(()).unwrap();
    let task = bot.task.take().unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the bot stops within 10 s");
    outcome
        .expect("the bot task does not panic")
        .expect("a clean shutdown is not an error");
    bot.fake.assert_no_violations();
}

/// `npq-bot serve` as its own process, logging everything (`RUST_LOG=trace`) through a whole
/// session: registration, an answer, a 429, a dropped gateway and its RESUME (which carries the
/// token), then SIGTERM. The process exits cleanly and the token is in none of its output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_logs_never_show_the_token_and_sigterm_stops_it_cleanly() {
    let fake = FakeDiscord::start().await;
    let mut served = Served::start(&fake).await;
    fake.rate_limit_next("POST", "/interactions/", 0.2, 1);
    let id = ask(&fake, "how long is the NPQH").await;
    assert!(text_of(embed(&callback(&fake, id).await)).contains("months"));
    fake.drop_connection_abruptly();
    fake.wait_resume_count(1, WAIT)
        .await
        .expect("the bot resumes");
    let id = ask(&fake, "is the NPQH funded").await;
    callback(&fake, id).await;

    let exited = served.stop_with("TERM").await;
    let logs = served.logs();
    assert!(exited.success(), "exit {exited:?}; logs:\n{logs}");
    // The logs are real: the whole session is in them, at every level.
    assert!(logs.contains("TRACE") && logs.contains("INFO"), "{logs}");
    assert!(logs.lines().count() > 50, "{logs}");
    assert!(
        logs.to_lowercase().contains("resum"),
        "the resume is logged: {logs}"
    );
    assert!(!logs.contains('\u{1b}'), "no colour codes in a log file");
    // One info line per question answered, naming no user.
    let info: Vec<&str> = logs.lines().filter(|l| l.contains(" INFO ")).collect();
    let answered = info.iter().filter(|l| l.contains("question answered"));
    assert_eq!(answered.count(), 2, "{info:#?}");
    assert!(
        info.iter().all(|l| !l.contains(&USER_ID.to_string())),
        "{info:#?}"
    );
    let token = fake.token();
    let secret = token.rsplit('.').next().unwrap();
    assert!(
        !logs.contains(token) && !logs.contains(secret),
        "the token (or its secret part) is in the logs"
    );
    // Nor, at any level, is an interaction's token (the 429 retry's URL, serenity's debug lines).
    assert!(
        !logs.contains("token-"),
        "an interaction token is in the logs: {}",
        logs.lines().find(|l| l.contains("token-")).unwrap_or("")
    );
    fake.assert_no_violations();
}

/// At the default level `serve` logs neither question text (a slash ask, a mention that poise
/// must not read as an unknown command) nor an interaction token (a 429 is retried).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_logs_hold_no_question_text_and_no_interaction_token() {
    let fake = FakeDiscord::start().await;
    let mut served = Served::start_logging(&fake, None).await;
    fake.rate_limit_next("POST", "/interactions/", 0.2, 1);
    let id = ask(&fake, "how long is the NPQH for zanzibarquokka").await;
    callback(&fake, id).await;
    let me = UserFixture::bot(BOT_ID, BOT_NAME);
    let message = fixtures::message_create(
        fixtures::snowflake(),
        CHANNEL_ID,
        Some(GUILD_ID),
        (USER_ID, USER_NAME),
        &format!("<@{BOT_ID}> quokkabanana is the NPQH funded?"),
        vec![me],
    );
    fake.dispatch("MESSAGE_CREATE", message).await.unwrap();
    fake.wait_for_request(|r| r.is("POST", r"/channels/\d+/messages"), WAIT)
        .await
        .expect("the mention is answered");
    let exited = served.stop_with("TERM").await;
    let logs = served.logs();
    assert!(exited.success(), "exit {exited:?}; logs:\n{logs}");
    assert!(logs.contains("answered 429"), "the 429 is logged: {logs}");
    assert!(logs.contains("question answered"), "{logs}");
    for secret in ["zanzibarquokka", "quokkabanana", &format!("token-{id}")] {
        assert!(!logs.contains(secret), "{secret} is in the logs:\n{logs}");
    }
    fake.assert_no_violations();
}

/// SIGTERM stops `serve` within 10 s (Docker's grace before SIGKILL) while Discord cannot be
/// reached and serenity keeps trying to reconnect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_serve_while_the_gateway_cannot_be_reached() {
    let fake = FakeDiscord::start().await;
    let mut served = Served::start_logging(&fake, None).await;
    let id = ask(&fake, "how long is the NPQH").await;
    callback(&fake, id).await;
    fake.drop_connection_abruptly();
    // Discord goes away: every later connection is refused.
    drop(fake);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let exited = served.stop_with("TERM").await;
    let logs = served.logs();
    assert!(exited.success(), "exit {exited:?}; logs:\n{logs}");
    assert!(logs.contains("shutting down"), "{logs}");
}

/// Ctrl-C (SIGINT) stops `npq-bot serve` as cleanly as SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_serve_cleanly() {
    let fake = FakeDiscord::start().await;
    let mut served = Served::start(&fake).await;
    let id = ask(&fake, "how long is the NPQH").await;
    callback(&fake, id).await;
    let exited = served.stop_with("INT").await;
    assert!(
        exited.success(),
        "exit {exited:?}; logs:\n{}",
        served.logs()
    );
    fake.assert_no_violations();
}

/// `/npq <sub>` from the usual member in `channel` of `guild` (`None`: a DM).
async fn slash_in(
    fake: &FakeDiscord,
    guild: Option<u64>,
    channel: u64,
    user: (u64, &str),
    command: &str,
    sub: &str,
    options: Vec<(&str, Value)>,
) -> u64 {
    let id = fixtures::snowflake();
    let permissions = guild.map(|_| ADMIN_PERMISSIONS);
    let interaction = fixtures::slash_command(
        id,
        &format!("token-{id}"),
        guild,
        channel,
        user,
        permissions,
        vec![],
        command,
        Some(sub),
        options,
    );
    fake.dispatch("INTERACTION_CREATE", interaction)
        .await
        .expect("dispatched");
    id
}

fn content(body: &Value) -> String {
    body.pointer("/data/content")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// Every `/npq` subcommand, not only `ask`, keeps to the channel allow-list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_npq_subcommand_keeps_to_the_channel_allow_list() {
    let bot = Bot::start(|c| c.discord.allowed_channels = vec![CHANNEL_ID]).await;
    let elsewhere = fixtures::snowflake();
    for (sub, options) in [
        ("list", vec![]),
        ("sources", vec![]),
        ("help", vec![]),
        ("programme", vec![("name", json!("NPQH"))]),
        ("ask", vec![("question", json!("how long is the NPQH"))]),
    ] {
        let id = slash_in(
            &bot.fake,
            Some(GUILD_ID),
            elsewhere,
            (USER_ID, USER_NAME),
            "npq",
            sub,
            options,
        )
        .await;
        let body = bot.callback(id).await;
        assert!(content(&body).contains("in this channel"), "{sub}: {body}");
        assert_ne!(flags(&body) & EPHEMERAL, 0, "{sub}");
        assert!(body.pointer("/data/embeds/0").is_none(), "{sub}: {body}");
    }
    // In the allowed channel they still work.
    let id = slash_in(
        &bot.fake,
        Some(GUILD_ID),
        CHANNEL_ID,
        (USER_ID, USER_NAME),
        "npq",
        "list",
        vec![],
    )
    .await;
    assert!(text_of(embed(&bot.callback(id).await)).contains("NPQH"));
    bot.finish();
}

/// With no `guilds` set, `/npq` is registered globally but `/npq-admin` is not, and an admin
/// command that arrives from a server anyway (registered by an older version) is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_are_never_global_and_refused_outside_their_guilds() {
    let bot =
        Bot::start_waiting_for(|c| c.discord.guilds = vec![], r"/applications/\d+/commands").await;
    let global = bot.fake.registered_commands(None);
    let names: Vec<&str> = global.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, vec!["npq"], "{names:?}");
    let id = bot.admin(ADMIN_PERMISSIONS, "stats").await;
    let body = bot.callback(id).await;
    assert!(
        content(&body).contains("not available in this server"),
        "{body}"
    );
    assert!(body.pointer("/data/embeds/0").is_none(), "{body}");
    let id = bot.admin(ADMIN_PERMISSIONS, "reload").await;
    let body = bot.callback(id).await;
    assert!(
        content(&body).contains("not available in this server"),
        "{body}"
    );
    bot.finish();
}

/// `allowed_guilds` without `guilds`: `/npq` is global, `/npq-admin` only in the allowed guild,
/// where it works; a server outside `allowed_guilds` gets no answers and no admin commands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_live_only_in_the_allowed_guilds() {
    let bot = Bot::start(|c| {
        c.discord.guilds = vec![];
        c.discord.allowed_guilds = vec![GUILD_ID];
    })
    .await;
    bot.fake
        .wait_for_request(|r| r.is("PUT", r"/applications/\d+/commands"), WAIT)
        .await
        .expect("global commands");
    let global = bot.fake.registered_commands(None);
    assert!(
        global.iter().all(|c| c["name"] != "npq-admin"),
        "{global:?}"
    );
    let here = bot.fake.registered_commands(Some(GUILD_ID));
    let names: Vec<&str> = here.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, vec!["npq-admin"], "{names:?}");
    let id = bot.admin(ADMIN_PERMISSIONS, "stats").await;
    assert!(text_of(embed(&bot.callback(id).await)).contains("since start"));

    let other_guild = fixtures::snowflake();
    let id = slash_in(
        &bot.fake,
        Some(other_guild),
        fixtures::snowflake(),
        (USER_ID, USER_NAME),
        "npq-admin",
        "stats",
        vec![],
    )
    .await;
    let body = bot.callback(id).await;
    assert!(content(&body).contains("not available"), "{body}");
    let id = slash_in(
        &bot.fake,
        Some(other_guild),
        fixtures::snowflake(),
        (USER_ID, USER_NAME),
        "npq",
        "help",
        vec![],
    )
    .await;
    assert!(content(&bot.callback(id).await).contains("in this channel"));
    bot.finish();
}

/// With `allowed_guilds` set, direct messages (and slash commands in DMs) are answered only for
/// members of an allowed guild.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_messages_respect_allowed_guilds() {
    let bot = Bot::start(|c| c.discord.allowed_guilds = vec![GUILD_ID]).await;
    let stranger = (USER_ID + 999, "stranger");
    let dm = fixtures::message_create(
        fixtures::snowflake(),
        fixtures::snowflake(),
        None,
        stranger,
        "is the NPQH funded?",
        vec![],
    );
    bot.fake.dispatch("MESSAGE_CREATE", dm).await.unwrap();
    let id = slash_in(
        &bot.fake,
        None,
        fixtures::snowflake(),
        stranger,
        "npq",
        "ask",
        vec![("question", json!("is the NPQH funded?"))],
    )
    .await;
    let body = bot.callback(id).await;
    assert!(content(&body).contains("direct messages"), "{body}");
    assert!(
        bot.fake.channel_messages().is_empty(),
        "no reply to the stranger's DM"
    );

    // A member of the allowed guild is answered.
    let channel = fixtures::snowflake();
    let dm = fixtures::message_create(
        fixtures::snowflake(),
        channel,
        None,
        (USER_ID, USER_NAME),
        "is the NPQH funded?",
        vec![],
    );
    bot.fake.dispatch("MESSAGE_CREATE", dm).await.unwrap();
    let sent = bot
        .fake
        .wait_for_request(
            |r| r.is("POST", &format!("/channels/{channel}/messages")),
            WAIT,
        )
        .await
        .expect("the member's DM is answered");
    assert!(text_of(embed(sent.body.as_ref().unwrap())).contains("NPQH"));
    bot.finish();
}

/// Button ids are the asking interaction's snowflake (unique across restarts, unlike a counter
/// from 1), act only on the message they were sent with, and a vote on an id the bot never
/// gave out is not counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_are_bound_to_their_answer_and_made_up_ids_count_nothing() {
    let bot = Bot::start(|_| {}).await;
    let id = bot.ask("How is the NPQ funded?").await;
    let first = bot.callback(id).await;
    assert_eq!(question_id(&first), id, "the button names its interaction");
    let more = custom_ids(&first)
        .into_iter()
        .find(|c| c.starts_with("npq:more:"))
        .expect("a More button");

    // The same button on another answer (a newer one, say) does nothing to it.
    let other = bot.ask("how long is the NPQH").await;
    bot.callback(other).await;
    let moved = press_on(&bot, (USER_ID, USER_NAME), &more, other).await;
    let body = bot.callback(moved).await;
    assert_eq!(body["type"], 4, "not an update: {body}");
    assert!(content(&body).contains("too old"), "{body}");

    // Votes on an id the bot never gave out, or on the wrong message, count for nothing.
    for (custom_id, origin) in [
        ("npq:up:1".to_string(), 1),
        ("npq:up:424242".to_string(), 424242),
        (format!("npq:down:{id}"), other),
    ] {
        let pressed = press_on(&bot, (USER_ID, USER_NAME), &custom_id, origin).await;
        assert!(content(&bot.callback(pressed).await).contains("too old"));
    }
    let stats = bot.admin(ADMIN_PERMISSIONS, "stats").await;
    let stats = text_of(embed(&bot.callback(stats).await));
    assert!(
        stats.contains("Helpful\n0") && stats.contains("Not helpful\n0"),
        "{stats}"
    );
    bot.finish();
}

/// Without `knowledge.strict`, a reload with one broken file swaps in everything else and names
/// the file it left out (path:line); the bot also starts with a broken file in the folder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_skips_a_broken_file_and_serves_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&bundled_knowledge(), dir.path());
    std::fs::write(
        dir.path().join("latin1.md"),
        b"+++\ntitle = \"Caf\xe9\"\n+++\n",
    )
    .unwrap();
    let knowledge = dir.path().to_path_buf();
    let bot = Bot::start(|c| c.knowledge_dir = knowledge.clone()).await;
    std::fs::write(
        dir.path().join("staffroom-kettle.md"),
        "+++\ntitle = \"Staffroom kettle rota\"\nupdated = \"2026-11-01\"\ncite = [\"neu-2023\"]\n+++\n\n## Who fills the staffroom kettle?\n\nThe staffroom kettle rota gives each department one week per half term.\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("broken.md"),
        "+++\ntitle = \"Never closed\"\n\n## Section\n\nText.\n",
    )
    .unwrap();
    let id = bot.admin(ADMIN_PERMISSIONS, "reload").await;
    bot.callback(id).await;
    let done = bot.followup(id).await;
    let text = text_of(embed(&done));
    assert!(
        text.contains("Reloaded") && text.contains("broken.md:1") && text.contains("latin1.md:2"),
        "{text}"
    );
    let id = bot.ask("who fills the staffroom kettle").await;
    assert!(text_of(embed(&bot.callback(id).await)).contains("kettle rota"));
    bot.finish();
}

/// GET `path` on `address` with a plain HTTP/1.1 request; the status code and the body.
async fn http_get(address: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// With `metrics.address` set, `/healthz` says the bot is connected and `/metrics` counts
/// questions, answers and refusals in the Prometheus format, with a latency histogram.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_metrics_are_served_on_the_configured_address() {
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], crate::support::free_port()));
    let bot = Bot::start(|c| c.metrics_address = Some(address)).await;
    bot.fake.wait_ready(WAIT).await.unwrap();
    let id = bot.ask("how long is the NPQH").await;
    bot.callback(id).await;
    let id = bot.ask("what's for lunch today?").await;
    bot.callback(id).await;

    let mut health = (0, String::new());
    for _ in 0..50 {
        health = http_get(address, "/healthz").await;
        if health.0 == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(health, (200, "ok\n".to_string()));
    let (status, metrics) = http_get(address, "/metrics").await;
    assert_eq!(status, 200);
    for line in [
        "npq_questions_total 2",
        "npq_answered_total 1",
        "npq_refused_total 1",
        "# TYPE npq_answer_seconds histogram",
        "npq_answer_seconds_bucket{le=\"+Inf\"}",
        "# TYPE npq_rate_limited_total counter",
        "npq_gateway_connects_total",
        "npq_reloads_total",
        "# TYPE npq_skipped_files gauge",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
    assert!(!metrics.contains(&USER_ID.to_string()), "{metrics}");
    assert_eq!(http_get(address, "/other").await.0, 404);
    bot.finish();
}

/// A user who keeps mentioning the bot past the rate limit gets one public note a minute, not
/// one per mention; button presses have their own limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_mentions_and_fast_presses_are_rate_limited_too() {
    let bot = Bot::start(|c| c.discord.rate_limit_per_minute = 1).await;
    let me = UserFixture::bot(BOT_ID, BOT_NAME);
    for _ in 0..4 {
        let message = fixtures::message_create(
            fixtures::snowflake(),
            CHANNEL_ID,
            Some(GUILD_ID),
            (USER_ID, USER_NAME),
            &format!("<@{BOT_ID}> is the NPQH funded?"),
            vec![me.clone()],
        );
        bot.fake.dispatch("MESSAGE_CREATE", message).await.unwrap();
        // One at a time, so which is answered and which refused is fixed.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The answer may be sent after the note (it is ranked on the blocking pool): wait for both.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while bot.fake.channel_messages().len() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent = bot.fake.channel_messages();
    assert_eq!(sent.len(), 2, "an answer and one note: {sent:#?}");
    let notes = sent
        .iter()
        .filter(|m| m.content().unwrap_or("").contains("try again in"))
        .count();
    assert_eq!(notes, 1, "one note for three refused mentions: {sent:#?}");

    // Presses: ten a minute at this rate, then a polite note without acting on the press.
    let id = bot
        .ask_as((USER_ID + 5, "other"), "how long is the NPQH")
        .await;
    let qid = question_id(&bot.callback(id).await);
    let mut notes = Vec::new();
    for _ in 0..12 {
        let pressed = press(&bot, (USER_ID + 6, "presser"), &format!("npq:up:{qid}")).await;
        notes.push(content(&bot.callback(pressed).await));
    }
    assert!(
        notes[..10].iter().all(|n| !n.contains("very fast")),
        "{notes:#?}"
    );
    assert!(
        notes[10..].iter().all(|n| n.contains("very fast")),
        "{notes:#?}"
    );
    bot.finish();
}

/// Discord's server errors (503, then 502 on the retry) on an interaction callback, and a 500
/// on a channel message, are retried after 0.25 and then 0.5 seconds (within the interaction's
/// 3 seconds), and the replies arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_with_backoff_and_the_reply_arrives() {
    let bot = Bot::start(|_| {}).await;
    bot.fake.fail_next("POST", "/interactions/", 503, 1);
    bot.fake.fail_next("POST", "/interactions/", 502, 1);
    let id = bot.ask("how long is the NPQH").await;
    let body = bot.callback(id).await;
    assert!(text_of(embed(&body)).contains("months"));
    let failed = bot.fake.failed();
    assert_eq!(failed.len(), 2, "{failed:#?}");
    let retried = bot
        .fake
        .requests()
        .into_iter()
        .find(|r| r.is("POST", CALLBACK) && r.status < 300)
        .unwrap();
    let first_wait = failed[1].received_at.duration_since(failed[0].received_at);
    let second_wait = retried.received_at.duration_since(failed[1].received_at);
    assert!(first_wait >= Duration::from_millis(240), "{first_wait:?}");
    assert!(second_wait >= Duration::from_millis(490), "{second_wait:?}");

    bot.fake
        .fail_next("POST", r"/channels/\d+/messages", 500, 1);
    let me = UserFixture::bot(BOT_ID, BOT_NAME);
    let message = fixtures::message_create(
        fixtures::snowflake(),
        CHANNEL_ID,
        Some(GUILD_ID),
        (USER_ID, USER_NAME),
        &format!("<@{BOT_ID}> is the NPQH funded?"),
        vec![me],
    );
    bot.fake.dispatch("MESSAGE_CREATE", message).await.unwrap();
    let sent = bot
        .fake
        .wait_for_request(
            |r| r.is("POST", r"/channels/\d+/messages") && r.status < 300,
            WAIT,
        )
        .await
        .expect("the mention's reply arrives after the 500");
    assert!(text_of(embed(sent.body.as_ref().unwrap())).contains("NPQH"));
    bot.finish();
}

/// When Discord keeps failing, `serve` gives up after four tries with one clear warning that
/// names the route (and not the interaction's token).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_that_keeps_failing_is_given_up_with_a_clear_log_line() {
    let fake = FakeDiscord::start().await;
    let mut served = Served::start_logging(&fake, None).await;
    fake.fail_next("POST", "/interactions/", 503, 10);
    let id = ask(&fake, "how long is the NPQH").await;
    let mut tries = 0;
    for _ in 0..120 {
        tries = fake
            .failed()
            .iter()
            .filter(|r| r.route().starts_with(&format!("/interactions/{id}/")))
            .count();
        if tries >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Four tries of the answer (the fifth request is the error handler's apology, not retried).
    assert!(tries >= 4, "{tries} tries");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let exited = served.stop_with("TERM").await;
    let logs = served.logs();
    assert!(exited.success(), "{logs}");
    let gave_up: Vec<&str> = logs.lines().filter(|l| l.contains("giving up")).collect();
    assert_eq!(gave_up.len(), 1, "{logs}");
    assert!(
        gave_up[0].contains("503") && gave_up[0].contains("/interactions/"),
        "{}",
        gave_up[0]
    );
    assert!(!logs.contains(&format!("token-{id}")), "{logs}");
}

/// The gateway asks for a reconnect (op 7), then invalidates the session, resumable and not
/// (op 9): the bot resumes or identifies again each time and keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_requests_and_invalid_sessions_are_survived() {
    let bot = Bot::start(|_| {}).await;
    bot.fake.wait_ready(WAIT).await.unwrap();
    bot.fake.request_reconnect().unwrap();
    bot.fake
        .wait_resume_count(1, WAIT)
        .await
        .expect("RECONNECT is followed by a RESUME");
    let id = bot.ask("how long is the NPQH").await;
    assert!(text_of(embed(&bot.callback(id).await)).contains("months"));

    let identified = bot.fake.identify_count();
    bot.fake.invalidate_session(false).unwrap();
    bot.fake
        .wait_identify_count(identified + 1, Duration::from_secs(30))
        .await
        .expect("a session that cannot be resumed is identified again");
    let id = bot.ask("is the NPQH funded").await;
    bot.callback(id).await;

    let (identified, resumed) = (bot.fake.identify_count(), bot.fake.resume_count());
    bot.fake.invalidate_session(true).unwrap();
    for _ in 0..300 {
        if bot.fake.identify_count() > identified || bot.fake.resume_count() > resumed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        bot.fake.identify_count() > identified || bot.fake.resume_count() > resumed,
        "a resumable INVALID_SESSION is followed by a RESUME or an IDENTIFY"
    );
    let id = bot.ask("what does the NPQ for SENCOs cost").await;
    bot.callback(id).await;
    bot.finish();
}

/// Heartbeats that are never acknowledged (a zombie connection): the bot drops the connection,
/// reconnects and keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zombie_connection_is_replaced() {
    let bot = Bot::start(|_| {}).await;
    bot.fake.wait_ready(WAIT).await.unwrap();
    let connections = bot.fake.gateway_connections().len();
    bot.fake.withhold_heartbeat_acks(1);
    for _ in 0..300 {
        if bot.fake.gateway_connections().len() > connections {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        bot.fake.gateway_connections().len() > connections,
        "no new gateway connection after a missed heartbeat ACK"
    );
    let id = bot.ask("how long is the NPQH").await;
    assert!(text_of(embed(&bot.callback(id).await)).contains("months"));
    bot.finish();
}

/// The knowledge folder deleted before a reload: the reload is refused with the reason, and the
/// guidance loaded before keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_of_a_deleted_folder_keeps_the_old_guidance() {
    let dir = tempfile::tempdir().unwrap();
    let knowledge = dir.path().join("knowledge");
    copy_dir(&bundled_knowledge(), &knowledge);
    let bot = Bot::start(|c| c.knowledge_dir = knowledge.clone()).await;
    std::fs::remove_dir_all(&knowledge).unwrap();
    let id = bot.admin(ADMIN_PERMISSIONS, "reload").await;
    bot.callback(id).await;
    let refused = text_of(embed(&bot.followup(id).await));
    assert!(
        refused.contains("Reload refused") && refused.contains("cannot read the knowledge folder"),
        "{refused}"
    );
    let id = bot.ask("how long is the NPQH").await;
    assert!(text_of(embed(&bot.callback(id).await)).contains("months"));
    bot.finish();
}

// ---- the question log and the gaps loop (issue 8) ----

use npq_bot::qlog::{Database, GapStatus, LogConfig, QuestionLog};

/// A question the bundled guidance does not answer, and an answer an admin writes for it.
const GAP_QUESTION: &str = "What colour lanyard do NPQ participants wear at the residential?";
const GAP_ANSWER: &str =
    "NPQ participants wear a green lanyard at every residential and face-to-face session.";

/// The question log at `path`, opened beside the bot (the same SQLite file).
async fn open_log(path: &Path) -> QuestionLog {
    let config = LogConfig {
        database: Database::Sqlite(path.to_path_buf()),
        ..LogConfig::default()
    };
    QuestionLog::open(&config).await.expect("the log opens")
}

/// The questions logged this week.
async fn logged(log: &QuestionLog) -> u64 {
    log.stats(1)
        .await
        .unwrap()
        .weeks
        .iter()
        .map(|w| w.questions)
        .sum()
}

/// Waits (up to 20 s) until `log` holds at least `n` questions this week; returns the count.
async fn wait_logged(log: &QuestionLog, n: u64) -> u64 {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let count = logged(log).await;
        if count >= n || std::time::Instant::now() > deadline {
            return count;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Bot {
    async fn log(&self) -> QuestionLog {
        open_log(&self.log_dir.path().join("questions.db")).await
    }

    /// `/npq-admin <sub> options...` from an admin.
    async fn admin_with(&self, sub: &str, options: Vec<(&str, Value)>) -> u64 {
        self.slash(
            (USER_ID, USER_NAME),
            ADMIN_PERMISSIONS,
            "npq-admin",
            sub,
            options,
        )
        .await
    }

    /// `user` with `permissions` presses `custom_id` on the bot's reply to interaction `origin`.
    async fn press_as(
        &self,
        user: (u64, &str),
        permissions: &str,
        custom_id: &str,
        origin: u64,
    ) -> u64 {
        let id = fixtures::snowflake();
        let message = answer_message(
            user,
            origin,
            vec![fixtures::button_row(custom_id, "button")],
        );
        let interaction = fixtures::component_with_permissions(
            id,
            &format!("token-{id}"),
            GUILD_ID,
            CHANNEL_ID,
            user,
            permissions,
            custom_id,
            message,
        );
        self.fake
            .dispatch("INTERACTION_CREATE", interaction)
            .await
            .expect("dispatched");
        id
    }

    /// An admin sends the modal `custom_id` filled in with `values`.
    async fn submit(&self, permissions: &str, custom_id: &str, values: &[(&str, &str)]) -> u64 {
        let id = fixtures::snowflake();
        let interaction = fixtures::modal_submit(
            id,
            &format!("token-{id}"),
            GUILD_ID,
            CHANNEL_ID,
            (USER_ID, USER_NAME),
            permissions,
            custom_id,
            values,
        );
        self.fake
            .dispatch("INTERACTION_CREATE", interaction)
            .await
            .expect("dispatched");
        id
    }

    /// The open gaps as `/npq-admin gaps` lists them: (list interaction, its reply).
    async fn gap_list(&self) -> (u64, Value) {
        let id = self.admin_with("gaps", vec![]).await;
        let body = self.callback(id).await;
        assert_ne!(flags(&body) & EPHEMERAL, 0, "the gap list is private");
        assert_pings_nobody(&body);
        (id, body)
    }
}

/// Asks `question` and waits until the log holds `n` questions; returns the answer's embed text.
async fn ask_logged(bot: &Bot, log: &QuestionLog, question: &str, n: u64) -> String {
    let id = bot.ask(question).await;
    let text = text_of(embed(&bot.callback(id).await));
    assert_eq!(wait_logged(log, n).await, n, "the question is logged");
    text
}

fn modal_values<'a>(question: &'a str, answer: &'a str, date: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("question", question),
        ("answer", answer),
        ("publisher", "Example Teaching School Hub"),
        ("url", "https://example.org/npq/residential"),
        ("date", date),
    ]
}

/// The whole loop: a refused question is logged as a gap, listed for admins, answered through
/// the modal (a knowledge file in knowledge/local, checked, reloaded), and then the question is
/// answered and its gap marked answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_is_answered_through_the_modal_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&bundled_knowledge(), dir.path());
    let knowledge = dir.path().to_path_buf();
    let bot = Bot::start(|c| c.knowledge_dir = knowledge).await;
    let log = bot.log().await;

    let refused = ask_logged(&bot, &log, GAP_QUESTION, 1).await;
    assert!(
        refused.contains("I can answer questions about"),
        "{refused}"
    );

    let (list, body) = bot.gap_list().await;
    let text = text_of(embed(&body));
    assert!(text.contains("lanyard"), "the gap is listed: {text}");
    assert!(text.contains("Asked 1 time"), "{text}");
    let ids = custom_ids(&body);
    let answer_this = ids
        .iter()
        .find(|c| c.starts_with("npq:gap:answer:") && c.ends_with(&format!(":{list}")))
        .expect("an Answer this button bound to the list")
        .clone();
    assert!(ids.iter().any(|c| c.starts_with("npq:gap:dismiss:")));

    // A member who is not an admin gets no modal.
    let stranger = bot
        .press_as(
            (USER_ID + 3, "member"),
            MEMBER_PERMISSIONS,
            &answer_this,
            list,
        )
        .await;
    assert!(content(&bot.callback(stranger).await).contains("Only server admins"));

    let press = bot
        .press_as((USER_ID, USER_NAME), ADMIN_PERMISSIONS, &answer_this, list)
        .await;
    let modal = bot.callback(press).await;
    assert_eq!(modal["type"], 9, "a modal: {modal}");
    let shown = bot
        .fake
        .modal(&format!("token-{press}"))
        .expect("the fake holds the modal");
    let modal_id = shown["custom_id"].as_str().unwrap().to_string();
    assert!(modal_id.starts_with("npq:gap:modal:"), "{shown}");
    assert!(
        shown.to_string().contains("lanyard"),
        "the question is filled in: {shown}"
    );

    let submitted = bot
        .submit(
            ADMIN_PERMISSIONS,
            &modal_id,
            &modal_values(GAP_QUESTION, GAP_ANSWER, "2026-11"),
        )
        .await;
    let deferred = bot.callback(submitted).await;
    assert_eq!(deferred["type"], 5, "saving is deferred: {deferred}");
    let done = bot.followup(submitted).await;
    assert_pings_nobody(&done);
    let text = text_of(embed(&done));
    assert!(text.contains("Saved") && text.contains("local/"), "{text}");
    assert!(
        text.contains("This reload answers 1 of 1 open gaps"),
        "{text}"
    );

    let saved: Vec<_> = std::fs::read_dir(dir.path().join("local"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(saved.len(), 1, "{saved:?}");
    let file = std::fs::read_to_string(&saved[0]).unwrap();
    assert!(
        file.starts_with("+++\n") && file.contains("[[sources]]"),
        "{file}"
    );
    assert!(file.contains(&format!("## {GAP_QUESTION}")), "{file}");
    assert!(
        file.contains("publisher = \"Example Teaching School Hub\""),
        "{file}"
    );

    let answered = ask_logged(&bot, &log, GAP_QUESTION, 2).await;
    assert!(
        answered.contains("green") && answered.contains("Example Teaching School Hub"),
        "{answered}"
    );
    let gaps = log.gaps(30).await.unwrap();
    assert!(
        gaps.iter()
            .filter(|g| g.examples.iter().any(|e| e.contains("lanyard")))
            .all(|g| g.status == GapStatus::Answered),
        "{gaps:#?}"
    );
    let (_, body) = bot.gap_list().await;
    assert!(!text_of(embed(&body)).contains("lanyard"));
    bot.finish();
}

/// A modal entry that fails the checks (a date that is no date) is refused with the check's
/// own message, and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_modal_entry_is_refused_with_the_checks_message_and_nothing_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&bundled_knowledge(), dir.path());
    let knowledge = dir.path().to_path_buf();
    let bot = Bot::start(|c| c.knowledge_dir = knowledge).await;
    let submitted = bot
        .submit(
            ADMIN_PERMISSIONS,
            "npq:gap:modal:00000000000000ab",
            &modal_values(GAP_QUESTION, GAP_ANSWER, "last week"),
        )
        .await;
    bot.callback(submitted).await;
    let done = bot.followup(submitted).await;
    let text = text_of(embed(&done));
    assert!(text.contains("Nothing was saved"), "{text}");
    assert!(
        text.contains("is not a valid date: \"last week\""),
        "{text}"
    );
    assert!(
        !text.contains(&dir.path().display().to_string()),
        "no server paths: {text}"
    );
    let kept: Vec<_> = std::fs::read_dir(dir.path().join("local"))
        .map(|d| d.collect())
        .unwrap_or_default();
    assert!(kept.is_empty(), "{kept:?}");

    // A member who is not an admin cannot submit one at all.
    let stranger = bot
        .submit(
            MEMBER_PERMISSIONS,
            "npq:gap:modal:00000000000000ab",
            &modal_values(GAP_QUESTION, GAP_ANSWER, "2026"),
        )
        .await;
    assert!(content(&bot.callback(stranger).await).contains("Only server admins"));
    assert!(
        !dir.path().join("local").exists()
            || std::fs::read_dir(dir.path().join("local"))
                .unwrap()
                .next()
                .is_none()
    );
    bot.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dismissed_gap_is_no_longer_listed() {
    let bot = Bot::start(|_| {}).await;
    let log = bot.log().await;
    ask_logged(&bot, &log, GAP_QUESTION, 1).await;
    let (list, body) = bot.gap_list().await;
    let dismiss = custom_ids(&body)
        .into_iter()
        .find(|c| c.starts_with("npq:gap:dismiss:"))
        .expect("a Dismiss button");
    // On another message the button does nothing.
    let moved = bot
        .press_as((USER_ID, USER_NAME), ADMIN_PERMISSIONS, &dismiss, list + 1)
        .await;
    assert!(content(&bot.callback(moved).await).contains("not on the message"));
    let pressed = bot
        .press_as((USER_ID, USER_NAME), ADMIN_PERMISSIONS, &dismiss, list)
        .await;
    assert!(content(&bot.callback(pressed).await).contains("Dismissed"));
    let (_, body) = bot.gap_list().await;
    let text = text_of(embed(&body));
    assert!(
        !text.contains("lanyard") && text.contains("No open gaps"),
        "{text}"
    );
    let gaps = log.gaps(30).await.unwrap();
    assert!(
        gaps.iter().all(|g| g.status == GapStatus::Dismissed),
        "{gaps:#?}"
    );
    bot.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_erases_this_servers_questions_after_confirmation() {
    let bot = Bot::start(|_| {}).await;
    let log = bot.log().await;
    ask_logged(&bot, &log, "how long is the NPQH", 1).await;
    ask_logged(&bot, &log, GAP_QUESTION, 2).await;
    let asked = bot.admin_with("forget", vec![]).await;
    let body = bot.callback(asked).await;
    assert_eq!(
        logged(&log).await,
        2,
        "nothing is erased before the confirmation"
    );
    let confirm = custom_ids(&body)
        .into_iter()
        .find(|c| c.starts_with(&format!("npq:forget:{GUILD_ID}:{asked}")))
        .expect("a confirmation button");
    let member = bot
        .press_as((USER_ID + 3, "member"), MEMBER_PERMISSIONS, &confirm, asked)
        .await;
    assert!(content(&bot.callback(member).await).contains("Only server admins"));
    let pressed = bot
        .press_as((USER_ID, USER_NAME), ADMIN_PERMISSIONS, &confirm, asked)
        .await;
    assert!(
        content(&bot.callback(pressed).await).contains("Erased from the question log: 2 questions")
    );
    assert_eq!(logged(&log).await, 0);

    // With confirm:true it is erased at once.
    ask_logged(&bot, &log, "how long is the NPQH", 1).await;
    let at_once = bot
        .admin_with("forget", vec![("confirm", json!(true))])
        .await;
    assert!(content(&bot.callback(at_once).await)
        .contains("Erased from the question log: 1 question asked"));
    assert_eq!(logged(&log).await, 0);
    bot.finish();
}

/// `/npq-admin logging off` stops logging this server's questions (a direct message, asked
/// after, is still logged, which shows the writer has caught up); `on` starts again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opted_out_server_is_not_logged() {
    let bot = Bot::start(|_| {}).await;
    let log = bot.log().await;
    let off = bot.admin_with("logging", vec![("switch", json!(1))]).await;
    assert!(content(&bot.callback(off).await).contains("no longer logged"));
    let id = bot.ask("how long is the NPQH").await;
    bot.callback(id).await;
    let dm = fixtures::message_create(
        fixtures::snowflake(),
        fixtures::snowflake(),
        None,
        (USER_ID, USER_NAME),
        "how long is the NPQH",
        vec![],
    );
    bot.fake.dispatch("MESSAGE_CREATE", dm).await.unwrap();
    assert_eq!(wait_logged(&log, 1).await, 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(logged(&log).await, 1, "only the direct message is logged");

    let on = bot.admin_with("logging", vec![("switch", json!(0))]).await;
    assert!(content(&bot.callback(on).await).contains("are logged"));
    ask_logged(&bot, &log, "how long is the NPQH", 2).await;
    bot.finish();
}

/// Stats read the log week by week and attach the chart as a PNG (a multipart body, which the
/// fake checks: payload_json, files[N] matched by an attachment, a real PNG).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_read_the_log_and_attach_the_chart() {
    let bot = Bot::start(|_| {}).await;
    let log = bot.log().await;
    let asked = bot.ask("how long is the NPQH").await;
    let qid = question_id(&bot.callback(asked).await);
    assert_eq!(wait_logged(&log, 1).await, 1);
    ask_logged(&bot, &log, GAP_QUESTION, 2).await;
    // A thumbs-up reaches the log (once per person).
    for _ in 0..2 {
        let up = press(&bot, (USER_ID, USER_NAME), &format!("npq:up:{qid}")).await;
        bot.callback(up).await;
    }
    let deadline = std::time::Instant::now() + WAIT;
    let mut ups = 0;
    while ups == 0 && std::time::Instant::now() < deadline {
        ups = log
            .stats(1)
            .await
            .unwrap()
            .weeks
            .iter()
            .map(|w| w.thumbs_up)
            .sum();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ups, 1, "one vote per person");
    let id = bot.admin_with("stats", vec![("weeks", json!(4))]).await;
    let prefix = format!("/interactions/{id}/");
    let request = bot
        .fake
        .wait_for_request(
            |r| r.is("POST", CALLBACK) && r.route().starts_with(&prefix) && r.status < 300,
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(request.files, vec!["stats.png".to_string()]);
    let body = request.body.unwrap();
    let e = embed(&body);
    assert_eq!(e["image"]["url"], "attachment://stats.png");
    let text = text_of(e);
    assert!(
        text.contains("2 asked, 1 answered, 1 refused, \u{1f44d} 1 \u{1f44e} 0"),
        "{text}"
    );
    assert!(text.contains("Most asked topics"), "{text}");
    assert_ne!(flags(&body) & EPHEMERAL, 0);
    bot.finish();
}

/// What `/npq-admin status` shows now.
async fn status_text(bot: &Bot) -> String {
    let id = bot.admin(ADMIN_PERMISSIONS, "status").await;
    text_of(embed(&bot.callback(id).await))
}

/// Saving a file in the watched folder reloads it; a broken file (with `knowledge.strict`)
/// keeps the old index serving, and `/npq-admin status` shows why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_reloads_saved_files_and_keeps_the_old_index_on_errors() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&bundled_knowledge(), dir.path());
    let knowledge = dir.path().to_path_buf();
    let bot = Bot::start(|c| {
        c.knowledge_dir = knowledge;
        c.knowledge_watch = true;
        c.knowledge_strict = true;
    })
    .await;
    assert!(status_text(&bot).await.contains("Watching the folder\nyes"));
    let file = "+++\ntitle = \"Lanyards\"\nupdated = \"2026-11-30\"\n\n[[sources]]\npublisher = \"Example Teaching School Hub\"\ntitle = \"Residential guide\"\ndate = \"2026-11\"\n+++\n\n## Lanyard colour at the residential\n\nNPQ participants wear a green lanyard at every residential and face-to-face session.\n";
    std::fs::write(dir.path().join("lanyards.md"), file).unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    let mut status = String::new();
    while std::time::Instant::now() < deadline {
        status = status_text(&bot).await;
        if status.contains("after a file changed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(
        status.contains("swapped in") && status.contains("after a file changed"),
        "{status}"
    );
    let id = bot.ask(GAP_QUESTION).await;
    let answer = text_of(embed(&bot.callback(id).await));
    assert!(answer.contains("Residential guide"), "{answer}");

    std::fs::write(dir.path().join("broken.md"), "+++\ntitle = \"Broken\"\n").unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    while std::time::Instant::now() < deadline {
        status = status_text(&bot).await;
        if status.contains("refused") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(
        status.contains("refused") && status.contains("broken.md"),
        "{status}"
    );
    let id = bot.ask(GAP_QUESTION).await;
    let answer = text_of(embed(&bot.callback(id).await));
    assert!(
        answer.contains("Residential guide"),
        "the old index keeps serving: {answer}"
    );
    bot.finish();
}

/// Every question of a `serve` run (slash, mention, thread, DM) is in its SQLite log, with the
/// kind of channel and no user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_question_of_a_serve_run_is_in_the_sqlite_log() {
    let fake = FakeDiscord::start().await;
    let mut served = Served::start_logging(&fake, None).await;
    fake.wait_ready(WAIT).await.unwrap();
    let me = UserFixture::bot(BOT_ID, BOT_NAME);
    ask(&fake, "how long is the NPQH").await;
    ask(&fake, GAP_QUESTION).await;
    for (channel, guild) in [
        (CHANNEL_ID, Some(GUILD_ID)),
        (THREAD_ID, Some(GUILD_ID)),
        (fixtures::snowflake(), None),
    ] {
        let message = fixtures::message_create(
            fixtures::snowflake(),
            channel,
            guild,
            (USER_ID, USER_NAME),
            &format!("<@{BOT_ID}> who pays for the NPQ?"),
            vec![me.clone()],
        );
        fake.dispatch("MESSAGE_CREATE", message).await.unwrap();
    }
    let deadline = std::time::Instant::now() + WAIT;
    while (fake.channel_messages().len() < 3 || fake.interaction_callbacks().len() < 2)
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        served.stop_with("TERM").await.success(),
        "{}",
        served.logs()
    );
    let db = served.dir().join("questions.db");
    assert!(
        db.is_file(),
        "the default log is beside the settings: {}",
        served.logs()
    );
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let rows: Vec<(String, Option<i64>, String, bool)> =
        sqlx::query_as("SELECT kind, guild, question, answered FROM entries ORDER BY at_ms")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 5, "{rows:?}\n{}", served.logs());
    let mut kinds: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    kinds.sort();
    assert_eq!(kinds, vec!["channel", "channel", "channel", "dm", "thread"]);
    assert!(rows.iter().any(|r| r.2.contains("lanyard") && !r.3));
    assert!(rows.iter().filter(|r| r.0 == "dm").all(|r| r.1.is_none()));
    assert!(
        rows.iter().all(|r| !r.2.contains(&BOT_ID.to_string())),
        "mentions are cleaned out"
    );
    let logs = served.logs();
    assert!(
        !logs.contains("lanyard") && !logs.contains(&USER_ID.to_string()),
        "{logs}"
    );
    fake.assert_no_violations();
}

/// Two `serve` processes, shards 0-0/2 and 1-1/2 of one fake Discord, log every question of
/// both shards (a guild on each) into one PostgreSQL database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shard_processes_log_every_question_into_one_postgres() {
    let Some(pg) = super::postgres::Postgres::start() else {
        return;
    };
    let url = pg.database("discord_shards").await;
    // A guild whose id puts it on the other shard ((id >> 22) % 2).
    let other = fixtures::GuildFixture::new(
        GUILD_ID + (1 << 22),
        "Second school",
        fixtures::OWNER_ID,
        CHANNEL_ID + (1 << 22),
    );
    let fake = FakeDiscord::start_with(super::fake::FakeConfig {
        guilds: vec![fixtures::GuildFixture::npq_staff_room(), other.clone()],
        shards: 2,
        ..Default::default()
    })
    .await;
    let env = |shards: &str| {
        vec![
            ("NPQ_BOT__DISCORD__SHARDS", shards.to_string()),
            ("NPQ_BOT__LOG__DATABASE", url.clone()),
        ]
    };
    let mut first = Served::start_with(&fake, None, &env("0-0/2")).await;
    let mut second = Served::start_with(&fake, None, &env("1-1/2")).await;
    fake.wait_identify_count(2, Duration::from_secs(30))
        .await
        .expect("both processes identify");
    let mut shards = fake.identified_shards();
    shards.sort();
    assert_eq!(shards, vec![[0, 2], [1, 2]]);
    let me = UserFixture::bot(BOT_ID, BOT_NAME);
    let questions = [
        "how long is the NPQH",
        "who pays for the NPQ?",
        GAP_QUESTION,
    ];
    for (guild, channel) in [(GUILD_ID, CHANNEL_ID), (other.id, CHANNEL_ID + (1 << 22))] {
        for q in questions {
            let message = fixtures::message_create(
                fixtures::snowflake(),
                channel,
                Some(guild),
                (USER_ID, USER_NAME),
                &format!("<@{BOT_ID}> {q}"),
                vec![me.clone()],
            );
            fake.dispatch("MESSAGE_CREATE", message).await.unwrap();
        }
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while fake.channel_messages().len() < 6 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        fake.channel_messages().len(),
        6,
        "{}",
        fake.describe_requests()
    );
    assert!(first.stop_with("TERM").await.success(), "{}", first.logs());
    assert!(
        second.stop_with("TERM").await.success(),
        "{}",
        second.logs()
    );
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let rows: Vec<(Option<i64>, String)> =
        sqlx::query_as("SELECT guild, kind FROM entries ORDER BY at_ms")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 6, "{rows:?}");
    for guild in [GUILD_ID, other.id] {
        assert_eq!(
            rows.iter().filter(|r| r.0 == Some(guild as i64)).count(),
            3,
            "{rows:?}"
        );
    }
    fake.assert_no_violations();
}

/// The More button is offered from the same ranking as the answer: the page asks for one
/// result more and keeps it back, and what is shown is what a plain answer shows.
#[test]
fn the_more_button_peeks_at_the_next_result_of_the_same_ranking() {
    let engine = npq_bot::load_engine(&bundled_knowledge(), Default::default()).unwrap();
    for q in [
        "How is the NPQ funded?",
        "how long is the NPQH",
        "is the NPQ for SENCOs funded for the next cohort?",
        GAP_QUESTION,
    ] {
        for offset in [0, 3] {
            let (page, more) = engine.answer_page_and_peek(q, offset, 3);
            let plain = engine.answer_page(q, offset, 3);
            assert_eq!(page.results, plain.results, "{q}");
            assert_eq!(page.note, plain.note, "{q}");
            assert_eq!(
                more,
                !engine.answer_page(q, offset + 3, 1).results.is_empty(),
                "{q}"
            );
        }
    }
}
