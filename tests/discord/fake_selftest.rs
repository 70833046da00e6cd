//! Tests of the fake Discord itself: its REST answers and gateway read as serenity reads them,
//! its checks catch what Discord refuses, and the fixtures deserialize into serenity's types.

use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use serenity::all::{
    ChannelId, Command, CommandInteraction, CreateAttachment, CreateEmbed,
    CreateInteractionResponse, CreateInteractionResponseFollowup, CreateInteractionResponseMessage,
    CreateMessage, EditInteractionResponse, GatewayIntents, GuildId, Interaction, Message, UserId,
};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::fake::{FakeConfig, FakeDiscord};
use super::fixtures::{self, UserFixture, CHANNEL_ID, GUILD_ID, USER_ID, USER_NAME};

const WAIT: Duration = Duration::from_secs(5);

/// Logs from serenity and the fake stay quiet unless RUST_LOG asks for them.
fn quiet_tracing() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "off".into()),
            )
            .with_test_writer()
            .try_init();
    });
}

async fn start() -> FakeDiscord {
    quiet_tracing();
    FakeDiscord::start().await
}

/// A plain HTTP client, for bodies serenity would never send.
async fn post(fake: &FakeDiscord, route: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/api/v10{route}", fake.api_base()))
        .header("authorization", format!("Bot {}", fake.token()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("the fake answers")
}

fn slash_interaction(token: &str) -> CommandInteraction {
    let value = fixtures::slash_command(
        fixtures::snowflake(),
        token,
        Some(GUILD_ID),
        CHANNEL_ID,
        (USER_ID, USER_NAME),
        None,
        vec![],
        "npq",
        Some("ask"),
        vec![("question", json!("What is the NPQLT?"))],
    );
    serde_json::from_value(value).expect("a slash command interaction")
}

// ---- REST ----

#[tokio::test]
async fn gateway_bot_names_the_fake_gateway() {
    let fake = start().await;
    let http = fake.serenity_http();
    let gateway = http.get_bot_gateway().await.expect("GET /gateway/bot");
    assert_eq!(gateway.url, fake.gateway_url());
    assert_eq!(gateway.shards, 1);
    assert_eq!(gateway.session_start_limit.max_concurrency, 1);
    let plain = http.get_gateway().await.expect("GET /gateway");
    assert_eq!(plain.url, fake.gateway_url());
}

#[tokio::test]
async fn serenity_reads_every_rest_answer() {
    let fake = start().await;
    let http = fake.serenity_http();
    let me = http.get_current_user().await.expect("users/@me");
    assert!(me.bot);
    assert_eq!(me.id.get(), fixtures::BOT_ID);
    let app = http
        .get_current_application_info()
        .await
        .expect("application");
    assert_eq!(app.owner.expect("an owner").id.get(), fixtures::OWNER_ID);
    let guild = http.get_guild(GuildId::new(GUILD_ID)).await.expect("guild");
    assert_eq!(guild.roles.len(), 2);
    let roles = http
        .get_guild_roles(GuildId::new(GUILD_ID))
        .await
        .expect("roles");
    assert!(roles.iter().any(|r| r.name == "@everyone"));
    let member = http
        .get_member(GuildId::new(GUILD_ID), UserId::new(USER_ID))
        .await
        .expect("member");
    assert_eq!(member.user.name, USER_NAME);
    let channel = http
        .get_channel(ChannelId::new(CHANNEL_ID))
        .await
        .expect("channel");
    assert!(channel.guild().is_some());
    let dm = UserId::new(USER_ID)
        .create_dm_channel(&http)
        .await
        .expect("DM channel");
    assert_eq!(dm.recipient.id.get(), USER_ID);
    let again = http.get_channel(dm.id).await.expect("the DM channel");
    assert!(again.private().is_some());
    http.broadcast_typing(ChannelId::new(CHANNEL_ID))
        .await
        .expect("typing");
    let sent = ChannelId::new(CHANNEL_ID)
        .send_message(&http, CreateMessage::new().content("first"))
        .await
        .expect("message");
    let edited = ChannelId::new(CHANNEL_ID)
        .edit_message(
            &http,
            sent.id,
            serenity::all::EditMessage::new().content("second"),
        )
        .await
        .expect("edit");
    assert_eq!(edited.content, "second");
    assert!(
        fake.unhandled_routes().is_empty(),
        "{:?}",
        fake.unhandled_routes()
    );
    fake.assert_no_violations();
}

#[tokio::test]
async fn valid_channel_message_has_no_violations() {
    let fake = start().await;
    let http = fake.serenity_http();
    let embed = CreateEmbed::new()
        .title("NPQ for Leading Teacher Development")
        .description("A short answer with its source.")
        .field("Source", "DfE NPQ framework, 2024", false)
        .footer(serenity::all::CreateEmbedFooter::new("npq-bot"));
    let message = ChannelId::new(1)
        .send_message(
            &http,
            CreateMessage::new()
                .content("hello")
                .embed(embed)
                .allowed_mentions(serenity::all::CreateAllowedMentions::new()),
        )
        .await
        .expect("the fake answers with a Message");
    assert_eq!(message.content, "hello");
    assert_eq!(
        message.embeds[0].title.as_deref(),
        Some("NPQ for Leading Teacher Development")
    );
    assert_eq!(fake.channel_messages().len(), 1);
    assert_eq!(fake.schema_violations(), Vec::<String>::new());
}

#[tokio::test]
async fn embed_title_over_256_characters_is_a_violation_naming_the_limit() {
    let fake = start().await;
    let body = json!({"content": "hi", "embeds": [{"title": "t".repeat(300)}]});
    let response = post(&fake, "/channels/1/messages", &body).await;
    assert_eq!(
        response.status(),
        200,
        "answered normally unless told to refuse"
    );
    let violations = fake.schema_violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(
        violations[0].starts_with("POST /channels/1/messages: "),
        "{violations:?}"
    );
    assert!(
        violations[0].contains("longer than 256 characters"),
        "{violations:?}"
    );
    assert!(
        violations[0].ends_with("at /embeds/0/title"),
        "{violations:?}"
    );
}

#[tokio::test]
async fn content_over_2000_characters_is_a_violation_naming_the_limit() {
    let fake = start().await;
    post(
        &fake,
        "/channels/1/messages",
        &json!({"content": "x".repeat(2001)}),
    )
    .await;
    let body = json!({"type": 4, "data": {"content": "x".repeat(2001)}});
    post(&fake, "/interactions/1/a-token/callback", &body).await;
    let violations = fake.schema_violations();
    assert_eq!(violations.len(), 2, "{violations:?}");
    assert!(
        violations.iter().all(|v| v.contains("2000")),
        "{violations:?}"
    );
    assert!(violations[1].contains("at /data/content"), "{violations:?}");
    assert!(std::panic::catch_unwind(|| fake.assert_no_violations()).is_err());
}

#[tokio::test]
async fn invalid_body_is_refused_when_configured() {
    quiet_tracing();
    let fake = FakeDiscord::start_with(FakeConfig {
        reject_invalid_bodies: true,
        ..FakeConfig::default()
    })
    .await;
    let response = post(
        &fake,
        "/channels/1/messages",
        &json!({"embeds": [{"color": -1}]}),
    )
    .await;
    assert_eq!(response.status(), 400);
    let error: Value = response.json_value().await;
    assert_eq!(error["code"], 50035);
}

#[tokio::test]
async fn multipart_payload_json_is_validated() {
    let fake = start().await;
    let http = fake.serenity_http();
    ChannelId::new(CHANNEL_ID)
        .send_message(
            &http,
            CreateMessage::new()
                .content("a table")
                .embed(CreateEmbed::new().title("t".repeat(300)))
                .add_file(CreateAttachment::bytes(b"a,b\n1,2\n".to_vec(), "table.csv")),
        )
        .await
        .expect("the fake answers");
    let sent = fake.channel_messages();
    assert_eq!(sent[0].files, vec!["table.csv".to_string()]);
    assert_eq!(sent[0].content(), Some("a table"));
    let violations = fake.schema_violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(
        violations[0].contains("longer than 256 characters"),
        "{violations:?}"
    );
}

#[tokio::test]
async fn unknown_route_is_404_and_recorded() {
    let fake = start().await;
    let response = reqwest::Client::new()
        .get(format!("{}/api/v10/sticker-packs", fake.api_base()))
        .header("authorization", format!("Bot {}", fake.token()))
        .send()
        .await
        .expect("the fake answers");
    assert_eq!(response.status(), 404);
    let body: Value = response.json_value().await;
    assert_eq!(body, json!({"message": "404: Not Found", "code": 0}));
    let unhandled = fake.unhandled_routes();
    assert_eq!(unhandled.len(), 1);
    assert_eq!(
        unhandled[0].to_string(),
        "GET /api/v10/sticker-packs -> 404"
    );
}

#[tokio::test]
async fn wrong_token_is_401_and_recorded() {
    let fake = start().await;
    let http = serenity::http::HttpBuilder::new("another-token")
        .proxy(fake.api_base())
        .ratelimiter_disabled(true)
        .build();
    let error = http.get_current_user().await.expect_err("401");
    assert!(error.to_string().contains("401"), "{error}");
    assert_eq!(fake.wrong_token_requests().len(), 1);
    assert_eq!(fake.protocol_violations().len(), 1);
}

#[tokio::test]
async fn rate_limited_request_gets_429_with_retry_after_then_succeeds() {
    let fake = start().await;
    fake.rate_limit_next("POST", r"/channels/\d+/messages$", 0.25, 1);
    let body = json!({"content": "hello"});
    let first = post(&fake, "/channels/7/messages", &body).await;
    assert_eq!(first.status(), 429);
    assert_eq!(first.headers()["retry-after"], "0.25");
    assert_eq!(first.headers()["x-ratelimit-remaining"], "0");
    assert!(first.headers().contains_key("x-ratelimit-reset-after"));
    let error: Value = first.json_value().await;
    assert_eq!(error["message"], "You are being rate limited.");
    assert_eq!(error["retry_after"], 0.25);
    assert_eq!(error["global"], false);
    let second = post(&fake, "/channels/7/messages", &body).await;
    assert_eq!(second.status(), 200);
    assert_eq!(fake.rate_limited().len(), 1);
    assert_eq!(
        fake.channel_messages().len(),
        1,
        "a 429 is not a sent message"
    );
}

/// serenity's ratelimiter sends its requests to discord.com whatever the proxy says, so a bot
/// pointed at the fake runs with the ratelimiter off, and a 429 reaches the bot as an error.
#[tokio::test]
async fn serenity_through_the_proxy_hands_a_429_to_the_caller() {
    let fake = start().await;
    fake.rate_limit_next("POST", r"/channels/\d+/messages$", 0.1, 1);
    let http = fake.serenity_http();
    let error = ChannelId::new(CHANNEL_ID)
        .say(&http, "hello")
        .await
        .expect_err("no retry without the ratelimiter");
    match error {
        serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(response)) => {
            assert_eq!(response.status_code.as_u16(), 429);
        }
        other => panic!("unexpected error {other:?}"),
    }
    ChannelId::new(CHANNEL_ID)
        .say(&http, "hello again")
        .await
        .expect("the next one succeeds");
}

/// As in production: serenity's ratelimiter on, talking to "discord.com" (the fake's TLS port).
#[tokio::test]
async fn serenity_ratelimiter_waits_out_a_429_and_retries() {
    let fake = start().await;
    let http = fake.serenity_http_with_ratelimiter();
    fake.rate_limit_next("POST", r"/channels/\d+/messages$", 0.3, 1);
    let started = std::time::Instant::now();
    let message = ChannelId::new(CHANNEL_ID)
        .say(&http, "hello")
        .await
        .expect("sent after the wait");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(message.content, "hello");
    assert_eq!(fake.rate_limited().len(), 1);
    assert_eq!(fake.channel_messages().len(), 1);
    let gateway = http.get_gateway().await.expect("GET /gateway over https");
    assert_eq!(gateway.url, fake.gateway_url());
    fake.assert_no_violations();
}

#[tokio::test]
async fn wait_for_request_names_what_it_saw() {
    let fake = start().await;
    fake.serenity_http()
        .get_current_user()
        .await
        .expect("users/@me");
    let error = fake
        .wait_for_request(
            |r| r.is("POST", r"/channels/\d+/messages"),
            Duration::from_millis(100),
        )
        .await
        .expect_err("nothing was posted");
    assert!(
        format!("{error:#}").contains("GET /api/v10/users/@me -> 200"),
        "{error:#}"
    );
}

#[tokio::test]
async fn interaction_answers_edits_and_followups_are_recorded() {
    let fake = start().await;
    let http = fake.serenity_http();
    let interaction = slash_interaction("token-one");
    interaction.defer(&http).await.expect("deferral");
    let original = interaction
        .edit_response(&http, EditInteractionResponse::new().content("The answer."))
        .await
        .expect("edit of the original");
    assert_eq!(original.content, "The answer.");
    let fetched = interaction.get_response(&http).await.expect("the original");
    assert_eq!(fetched.content, "The answer.");
    let followup = interaction
        .create_followup(
            &http,
            CreateInteractionResponseFollowup::new()
                .content("More.")
                .ephemeral(true),
        )
        .await
        .expect("follow-up");
    assert_eq!(followup.content, "More.");
    assert_eq!(fake.interaction_callbacks().len(), 1);
    assert_eq!(
        fake.interaction_callbacks()[0].body.as_ref().unwrap()["type"],
        5
    );
    assert_eq!(fake.original_edits().len(), 1);
    assert_eq!(fake.followups().len(), 1);
    fake.assert_no_violations();
}

#[tokio::test]
async fn poise_command_registration_fits_the_spec() {
    let fake = start().await;
    let http = fake.serenity_http();
    let commands = poise::builtins::create_application_commands(&[npq()]);
    let registered = Command::set_global_commands(&http, commands.clone())
        .await
        .expect("bulk overwrite");
    assert_eq!(registered[0].name, "npq");
    assert_eq!(registered[0].options.len(), 2);
    GuildId::new(GUILD_ID)
        .set_commands(&http, commands)
        .await
        .expect("guild bulk overwrite");
    assert_eq!(fake.registered_commands(Some(GUILD_ID)).len(), 1);
    let listed = http.get_global_commands().await.expect("list");
    assert_eq!(listed[0].id, registered[0].id);
    fake.assert_no_violations();
}

type PoiseContext<'a> = poise::Context<'a, (), anyhow::Error>;

/// Questions about NPQs
#[poise::command(
    slash_command,
    subcommands("ask", "programmes"),
    default_member_permissions = "SEND_MESSAGES"
)]
async fn npq(_ctx: PoiseContext<'_>) -> anyhow::Result<()> {
    Ok(())
}

/// Ask a question
#[poise::command(slash_command)]
async fn ask(
    ctx: PoiseContext<'_>,
    #[description = "Your question"]
    #[min_length = 3]
    #[max_length = 300]
    #[autocomplete = "suggest"]
    question: String,
    #[description = "Only you see the answer"] private: Option<bool>,
) -> anyhow::Result<()> {
    let reply = poise::CreateReply::default()
        .content(format!("You asked: {question}"))
        .ephemeral(private.unwrap_or(false))
        .allowed_mentions(serenity::all::CreateAllowedMentions::new());
    ctx.send(reply).await?;
    Ok(())
}

async fn suggest(
    _ctx: PoiseContext<'_>,
    partial: &str,
) -> serenity::all::CreateAutocompleteResponse {
    serenity::all::CreateAutocompleteResponse::new().add_string_choice(partial, partial)
}

/// List the programmes
#[poise::command(slash_command)]
async fn programmes(
    _ctx: PoiseContext<'_>,
    #[description = "How many"]
    #[min = 1]
    #[max = 10]
    count: Option<u8>,
) -> anyhow::Result<()> {
    let _ = count;
    Ok(())
}

#[tokio::test]
async fn poise_framework_registers_answers_and_autocompletes() {
    let fake = start().await;
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: vec![npq()],
            ..Default::default()
        })
        .setup(|ctx, _ready, framework| {
            Box::pin(async move {
                let guild = GuildId::new(GUILD_ID);
                poise::builtins::register_in_guild(ctx, &framework.options().commands, guild)
                    .await?;
                Ok(())
            })
        })
        .build();
    let intents = GatewayIntents::non_privileged();
    let mut client = serenity::all::ClientBuilder::new_with_http(fake.serenity_http(), intents)
        .framework(framework)
        .await
        .expect("a client");
    let shards = client.shard_manager.clone();
    let running = tokio::spawn(async move { client.start().await });

    fake.wait_for_request(
        |r| r.is("PUT", r"/applications/\d+/guilds/\d+/commands"),
        WAIT,
    )
    .await
    .expect("commands registered in the guild");
    let ask = fixtures::slash_command(
        21,
        "token-21",
        Some(GUILD_ID),
        CHANNEL_ID,
        (USER_ID, USER_NAME),
        None,
        vec![],
        "npq",
        Some("ask"),
        vec![
            ("question", json!("What is the NPQH?")),
            ("private", json!(true)),
        ],
    );
    fake.dispatch("INTERACTION_CREATE", ask)
        .await
        .expect("dispatch");
    let answer = fake
        .wait_for_request(|r| r.route() == "/interactions/21/token-21/callback", WAIT)
        .await
        .expect("an answer");
    let body = answer.body.expect("a body");
    assert_eq!(body["type"], 4);
    assert_eq!(body["data"]["content"], "You asked: What is the NPQH?");
    assert_eq!(body["data"]["flags"], 64, "ephemeral");

    let typing = fixtures::autocomplete(
        22,
        "token-22",
        Some(GUILD_ID),
        CHANNEL_ID,
        (USER_ID, USER_NAME),
        "npq",
        Some("ask"),
        vec![("question", json!("senior lea"))],
        "question",
    );
    fake.dispatch("INTERACTION_CREATE", typing)
        .await
        .expect("dispatch");
    let choices = fake
        .wait_for_request(|r| r.route() == "/interactions/22/token-22/callback", WAIT)
        .await
        .expect("choices");
    let body = choices.body.expect("a body");
    assert_eq!(body["type"], 8);
    assert_eq!(body["data"]["choices"][0]["value"], "senior lea");

    assert!(
        fake.requests()
            .iter()
            .any(|r| r.is("GET", "/oauth2/applications/@me")),
        "poise asks who owns the application:\n{}",
        fake.describe_requests()
    );
    assert!(
        fake.unhandled_routes().is_empty(),
        "{}",
        fake.describe_requests()
    );
    fake.assert_no_violations();
    shards.shutdown_all().await;
    running.abort();
}

// ---- gateway, with a bare websocket client ----

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(fake: &FakeDiscord) -> Socket {
    // The "/" matters: without it tungstenite writes the request line `GET ?v=10`. serenity goes
    // through the url crate, which adds it.
    let url = format!("{}/?v=10", fake.gateway_url());
    let (socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    socket
}

/// The next JSON frame, skipping nothing.
async fn next_frame(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a frame in time")
            .expect("the socket is open")
            .expect("a frame");
        match frame {
            Frame::Text(text) => return serde_json::from_str(&text).expect("JSON"),
            Frame::Ping(_) | Frame::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

async fn send(socket: &mut Socket, frame: Value) {
    socket
        .send(Frame::Text(frame.to_string()))
        .await
        .expect("send");
}

fn identify(token: &str, shard: Option<[u32; 2]>) -> Value {
    let mut d = json!({
        "token": format!("Bot {token}"),
        "intents": GatewayIntents::non_privileged().bits(),
        "properties": {"os": "linux", "browser": "serenity", "device": "serenity"},
        "compress": true,
        "large_threshold": 250,
    });
    if let Some(shard) = shard {
        d["shard"] = json!(shard);
    }
    json!({"op": 2, "d": d})
}

async fn hello_and_identify(fake: &FakeDiscord) -> (Socket, Value) {
    let mut socket = connect(fake).await;
    let hello = next_frame(&mut socket).await;
    assert_eq!(hello["op"], 10);
    assert_eq!(hello["d"]["heartbeat_interval"], 1500);
    send(&mut socket, identify(fake.token(), None)).await;
    let ready = next_frame(&mut socket).await;
    (socket, ready)
}

#[tokio::test]
async fn gateway_hello_identify_ready_guild_create_and_heartbeat_ack() {
    let fake = start().await;
    let (mut socket, ready) = hello_and_identify(&fake).await;
    assert_eq!(
        (ready["op"].clone(), ready["t"].clone(), ready["s"].clone()),
        (json!(0), json!("READY"), json!(1))
    );
    let parsed: serenity::model::event::GatewayEvent =
        serde_json::from_value(ready.clone()).expect("serenity reads READY");
    assert!(matches!(
        parsed,
        serenity::model::event::GatewayEvent::Dispatch(1, _)
    ));
    assert_eq!(ready["d"]["resume_gateway_url"], json!(fake.gateway_url()));
    let guild_create = next_frame(&mut socket).await;
    assert_eq!(guild_create["t"], "GUILD_CREATE");
    assert_eq!(guild_create["s"], 2);
    let event: serenity::model::event::GatewayEvent =
        serde_json::from_value(guild_create).expect("serenity reads GUILD_CREATE");
    match event {
        serenity::model::event::GatewayEvent::Dispatch(
            _,
            serenity::model::event::Event::GuildCreate(g),
        ) => {
            assert_eq!(g.guild.id.get(), GUILD_ID);
            assert!(g.guild.members.contains_key(&UserId::new(fixtures::BOT_ID)));
            assert!(g
                .guild
                .roles
                .contains_key(&serenity::all::RoleId::new(GUILD_ID)));
        }
        other => panic!("not a GUILD_CREATE: {other:?}"),
    }
    send(&mut socket, json!({"op": 1, "d": 2})).await;
    assert_eq!(next_frame(&mut socket).await["op"], 11);
    fake.wait_ready(WAIT).await.expect("ready");
    assert_eq!(fake.identify_count(), 1);
    assert_eq!(fake.heartbeat_count(), 1);
    assert_eq!(
        fake.intents(),
        Some(GatewayIntents::non_privileged().bits())
    );
    assert_eq!(fake.gateway_connections()[0].query.as_deref(), Some("v=10"));
    assert_eq!(fake.identifies()[0].payload["token"], "<redacted>");
    let seq = fake
        .dispatch(
            "TYPING_START",
            json!({
                "channel_id": CHANNEL_ID.to_string(),
                "guild_id": GUILD_ID.to_string(),
                "user_id": USER_ID.to_string(),
                "timestamp": 1_700_000_000,
            }),
        )
        .await
        .expect("dispatch");
    assert_eq!(seq, 3);
    assert_eq!(next_frame(&mut socket).await["t"], "TYPING_START");
}

#[tokio::test]
async fn dropped_connection_resumes_with_replay_then_resumed() {
    let fake = start().await;
    let (mut socket, ready) = hello_and_identify(&fake).await;
    let session_id = ready["d"]["session_id"]
        .as_str()
        .expect("a session id")
        .to_string();
    fake.drop_connection();
    let closed = loop {
        match tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("in time")
        {
            Some(Ok(Frame::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(u16::from(closed.expect("a close code").code), 4000);

    // As serenity does: RESUME straight away, before HELLO, with the last seq it saw (READY's).
    let mut socket = connect(&fake).await;
    send(&mut socket, json!({"op": 6, "d": {"token": format!("Bot {}", fake.token()), "session_id": session_id, "seq": 1}})).await;
    assert_eq!(next_frame(&mut socket).await["op"], 10);
    let replayed = next_frame(&mut socket).await;
    assert_eq!(
        (replayed["t"].clone(), replayed["s"].clone()),
        (json!("GUILD_CREATE"), json!(2))
    );
    let resumed = next_frame(&mut socket).await;
    assert_eq!(
        (resumed["t"].clone(), resumed["s"].clone()),
        (json!("RESUMED"), json!(3))
    );
    fake.wait_resume_count(1, WAIT).await.expect("resumed");
    assert_eq!(fake.identify_count(), 1);
}

#[tokio::test]
async fn abrupt_drop_resets_the_socket_without_a_close_frame() {
    let fake = start().await;
    let (mut socket, _) = hello_and_identify(&fake).await;
    next_frame(&mut socket).await; // GUILD_CREATE
    fake.drop_connection_abruptly();
    let end = tokio::time::timeout(WAIT, socket.next())
        .await
        .expect("in time");
    assert!(
        matches!(end, None | Some(Err(_))),
        "expected the socket to end without a close frame, got {end:?}"
    );
    let live = fake.wait_ready(Duration::from_millis(100)).await;
    assert!(live.is_err(), "no live session after a drop");
}

#[tokio::test]
async fn resume_of_an_unknown_session_is_invalidated() {
    let fake = start().await;
    let mut socket = connect(&fake).await;
    next_frame(&mut socket).await; // HELLO
    send(
        &mut socket,
        json!({"op": 6, "d": {"token": fake.token(), "session_id": "nope", "seq": 4}}),
    )
    .await;
    let invalid = next_frame(&mut socket).await;
    assert_eq!(
        (invalid["op"].clone(), invalid["d"].clone()),
        (json!(9), json!(false))
    );
}

#[tokio::test]
async fn identify_with_another_token_is_closed_with_4004() {
    let fake = start().await;
    let mut socket = connect(&fake).await;
    next_frame(&mut socket).await; // HELLO
    send(&mut socket, identify("not-the-token", None)).await;
    let frame = tokio::time::timeout(WAIT, socket.next())
        .await
        .expect("in time");
    match frame {
        Some(Ok(Frame::Close(Some(close)))) => assert_eq!(u16::from(close.code), 4004),
        other => panic!("expected close 4004, got {other:?}"),
    }
    assert!(!fake.identifies()[0].token_ok);
}

#[tokio::test]
async fn each_shard_keeps_its_own_session() {
    quiet_tracing();
    // Two guilds, one on each of two shards: (id >> 22) % 2 tells which.
    let mut config = FakeConfig::default();
    let other_guild = (0..)
        .map(|n| GUILD_ID + (n << 22))
        .find(|g| (g >> 22) % 2 != (GUILD_ID >> 22) % 2)
        .expect("a guild on the other shard");
    config.guilds.push(fixtures::GuildFixture::new(
        other_guild,
        "Another school",
        fixtures::OWNER_ID,
        42,
    ));
    config.shards = 2;
    let fake = FakeDiscord::start_with(config).await;
    let mut sockets = Vec::new();
    for shard in 0..2u32 {
        let mut socket = connect(&fake).await;
        next_frame(&mut socket).await;
        send(&mut socket, identify(fake.token(), Some([shard, 2]))).await;
        let ready = next_frame(&mut socket).await;
        assert_eq!(ready["d"]["shard"], json!([shard, 2]));
        assert_eq!(ready["d"]["guilds"].as_array().map(Vec::len), Some(1));
        next_frame(&mut socket).await; // its GUILD_CREATE
        sockets.push(socket);
    }
    assert_eq!(fake.identified_shards(), vec![[0, 2], [1, 2]]);
    let owner = ((other_guild >> 22) % 2) as usize;
    fake.dispatch(
        "TYPING_START",
        json!({
            "channel_id": "42",
            "guild_id": other_guild.to_string(),
            "user_id": USER_ID.to_string(),
            "timestamp": 1_700_000_000,
        }),
    )
    .await
    .expect("dispatch");
    let frame = next_frame(&mut sockets[owner]).await;
    assert_eq!(frame["t"], "TYPING_START");
}

#[tokio::test]
async fn message_content_needs_the_intent_or_a_mention() {
    let fake = start().await;
    let (mut socket, _) = hello_and_identify(&fake).await; // non-privileged intents
    next_frame(&mut socket).await; // GUILD_CREATE
    let said = |mentions| {
        fixtures::message_create(
            fixtures::snowflake(),
            CHANNEL_ID,
            Some(GUILD_ID),
            (USER_ID, USER_NAME),
            "what is the NPQH?",
            mentions,
        )
    };
    fake.dispatch("MESSAGE_CREATE", said(vec![]))
        .await
        .expect("dispatch");
    assert_eq!(next_frame(&mut socket).await["d"]["content"], "");
    let bot = UserFixture::bot(fixtures::BOT_ID, fixtures::BOT_NAME);
    fake.dispatch("MESSAGE_CREATE", said(vec![bot]))
        .await
        .expect("dispatch");
    assert_eq!(
        next_frame(&mut socket).await["d"]["content"],
        "what is the NPQH?"
    );
}

#[tokio::test]
async fn dispatch_refuses_what_serenity_cannot_read() {
    let fake = start().await;
    let error = fake
        .dispatch("MESSAGE_CREATE", json!({"id": "1"}))
        .await
        .expect_err("serenity would not see it as a message");
    assert!(
        format!("{error}").contains("cannot read this MESSAGE_CREATE: missing field"),
        "{error}"
    );
}

// ---- a real serenity client against the fake ----

#[derive(Default)]
struct Seen {
    ready: usize,
    interactions: Vec<String>,
    messages: Vec<String>,
}

struct Handler(Arc<Mutex<Seen>>);

#[serenity::async_trait]
impl serenity::all::EventHandler for Handler {
    async fn ready(&self, _: serenity::all::Context, _: serenity::all::Ready) {
        self.0.lock().unwrap().ready += 1;
    }

    async fn message(&self, _: serenity::all::Context, message: Message) {
        self.0.lock().unwrap().messages.push(message.content);
    }

    async fn interaction_create(&self, ctx: serenity::all::Context, interaction: Interaction) {
        if let Interaction::Command(command) = interaction {
            let question = command.data.options[0].name.clone();
            self.0.lock().unwrap().interactions.push(question);
            let reply = CreateInteractionResponse::Message(
                CreateInteractionResponseMessage::new().content("An answer."),
            );
            command
                .create_response(&ctx.http, reply)
                .await
                .expect("answer");
        }
    }
}

#[tokio::test]
async fn serenity_client_identifies_resumes_and_answers_interactions() {
    let fake = start().await;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let intents = GatewayIntents::non_privileged() | GatewayIntents::MESSAGE_CONTENT;
    // `Client::builder(token, ..)` would ask discord.com for the gateway; an Http with the proxy
    // keeps everything on the fake.
    let mut client = serenity::all::ClientBuilder::new_with_http(fake.serenity_http(), intents)
        .event_handler(Handler(Arc::clone(&seen)))
        .await
        .expect("a client");
    let shards = client.shard_manager.clone();
    let running = tokio::spawn(async move { client.start().await });

    fake.wait_ready(WAIT).await.expect("READY");
    let identify = &fake.identifies()[0];
    assert!(identify.token_ok);
    assert_eq!(identify.intents, intents.bits());
    assert_eq!(identify.payload["compress"], true);
    assert_eq!(identify.payload["shard"], json!([0, 1]));
    assert_eq!(fake.gateway_connections()[0].query.as_deref(), Some("v=10"));

    let ask = |n: u64| {
        fixtures::slash_command(
            n,
            &format!("token-{n}"),
            Some(GUILD_ID),
            CHANNEL_ID,
            (USER_ID, USER_NAME),
            None,
            vec![],
            "npq",
            Some("ask"),
            vec![("question", json!("What is the NPQH?"))],
        )
    };
    let answered = |n: u64| {
        let path = format!("/interactions/{n}/token-{n}/callback");
        move |r: &super::fake::RecordedRequest| r.route() == path
    };
    fake.dispatch("INTERACTION_CREATE", ask(11))
        .await
        .expect("dispatch");
    fake.wait_for_request(answered(11), WAIT)
        .await
        .expect("an answer");

    // A clean close with 4000: serenity resumes at once.
    fake.drop_connection();
    fake.wait_resume_count(1, WAIT).await.expect("a resume");
    fake.dispatch("INTERACTION_CREATE", ask(12))
        .await
        .expect("dispatch");
    fake.wait_for_request(answered(12), WAIT)
        .await
        .expect("an answer after resuming");

    // A reset socket: serenity notices on its next read and resumes too.
    fake.drop_connection_abruptly();
    fake.wait_resume_count(2, WAIT)
        .await
        .expect("a second resume");
    let message = fixtures::message_create(
        fixtures::snowflake(),
        CHANNEL_ID,
        Some(GUILD_ID),
        UserFixture::human(USER_ID, USER_NAME),
        "hello bot",
        vec![],
    );
    fake.dispatch("MESSAGE_CREATE", message)
        .await
        .expect("dispatch");
    let deadline = tokio::time::Instant::now() + WAIT;
    while seen.lock().unwrap().messages.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.ready, 1, "resumes do not repeat READY");
        assert_eq!(seen.interactions, vec!["ask", "ask"]);
        assert_eq!(seen.messages, vec!["hello bot"]);
    }
    assert_eq!(fake.identify_count(), 1);
    assert!(
        fake.unhandled_routes().is_empty(),
        "{:?}",
        fake.unhandled_routes()
    );
    fake.assert_no_violations();
    shards.shutdown_all().await;
    running.abort();
}

// ---- fixtures read as serenity reads them ----

#[test]
fn slash_command_fixture_is_a_serenity_command_interaction() {
    let value = fixtures::slash_command(
        77,
        "tok",
        Some(GUILD_ID),
        CHANNEL_ID,
        (USER_ID, USER_NAME),
        Some(fixtures::ADMIN_PERMISSIONS),
        vec![fixtures::STAFF_ROLE_ID],
        "npq",
        Some("ask"),
        vec![
            ("question", json!("What is the NPQEL?")),
            ("private", json!(true)),
        ],
    );
    let interaction: Interaction = serde_json::from_value(value).expect("an Interaction");
    let Interaction::Command(command) = interaction else {
        panic!("not a command");
    };
    assert_eq!(command.data.name, "npq");
    assert_eq!(command.guild_id.map(GuildId::get), Some(GUILD_ID));
    assert_eq!(
        command.user.id.get(),
        USER_ID,
        "serenity copies member.user into user"
    );
    let member = command.member.as_ref().expect("a member");
    assert!(member.permissions.expect("permissions").administrator());
    assert_eq!(member.roles[0].get(), fixtures::STAFF_ROLE_ID);
    let subcommand = &command.data.options()[0];
    assert_eq!(subcommand.name, "ask");
    match &subcommand.value {
        serenity::all::ResolvedValue::SubCommand(options) => {
            assert_eq!(options[0].name, "question");
            assert!(matches!(
                options[0].value,
                serenity::all::ResolvedValue::String("What is the NPQEL?")
            ));
            assert!(matches!(
                options[1].value,
                serenity::all::ResolvedValue::Boolean(true)
            ));
        }
        other => panic!("not a subcommand: {other:?}"),
    }
}

#[test]
fn dm_slash_command_fixture_has_a_user_and_no_member() {
    let value = fixtures::dm_slash_command(
        78,
        "tok",
        555,
        (USER_ID, USER_NAME),
        "npq",
        Some("ask"),
        vec![("question", json!("hi"))],
    );
    let Interaction::Command(command) = serde_json::from_value(value).expect("an Interaction")
    else {
        panic!("not a command");
    };
    assert!(command.guild_id.is_none());
    assert!(command.member.is_none());
    assert_eq!(command.user.name, USER_NAME);
    assert_eq!(command.channel_id.get(), 555);
}

#[test]
fn autocomplete_fixture_marks_the_focused_option() {
    let value = fixtures::autocomplete(
        79,
        "tok",
        Some(GUILD_ID),
        CHANNEL_ID,
        (USER_ID, USER_NAME),
        "npq",
        Some("ask"),
        vec![("question", json!("senior lea"))],
        "question",
    );
    let Interaction::Autocomplete(command) = serde_json::from_value(value).expect("an Interaction")
    else {
        panic!("not an autocomplete");
    };
    let focused = command.data.autocomplete().expect("a focused option");
    assert_eq!((focused.name, focused.value), ("question", "senior lea"));
}

#[test]
fn component_fixture_carries_its_message_and_who_ran_the_command() {
    let message = fixtures::interaction_reply_message(
        900,
        CHANNEL_ID,
        (USER_ID, USER_NAME),
        80,
        Some(GUILD_ID),
        "An answer.",
        vec![fixtures::button_row("more:1", "More")],
    );
    let value = fixtures::component(
        81,
        "tok",
        Some(GUILD_ID),
        CHANNEL_ID,
        (fixtures::OWNER_ID, "headteacher"),
        "more:1",
        message,
    );
    let Interaction::Component(component) = serde_json::from_value(value).expect("an Interaction")
    else {
        panic!("not a component");
    };
    assert_eq!(component.data.custom_id, "more:1");
    assert_eq!(component.message.id.get(), 900);
    assert_eq!(component.message.components.len(), 1);
    match component.message.interaction_metadata.as_deref() {
        Some(serenity::all::MessageInteractionMetadata::Command(metadata)) => {
            assert_eq!(metadata.user.id.get(), USER_ID);
        }
        other => panic!("no command metadata: {other:?}"),
    }
    assert_eq!(component.user.id.get(), fixtures::OWNER_ID);
}

#[test]
fn message_create_fixture_is_a_serenity_message() {
    let bot = UserFixture::bot(fixtures::BOT_ID, fixtures::BOT_NAME);
    let value = fixtures::message_create(
        fixtures::snowflake(),
        CHANNEL_ID,
        Some(GUILD_ID),
        (USER_ID, USER_NAME),
        &format!("<@{}> what is the NPQH?", fixtures::BOT_ID),
        vec![bot.clone()],
    );
    let message: Message = serde_json::from_value(value.clone()).expect("a Message");
    assert!(!message.author.bot);
    assert!(message.mentions_user_id(UserId::new(fixtures::BOT_ID)));
    assert_eq!(message.guild_id.map(GuildId::get), Some(GUILD_ID));
    let from_bot: Message =
        serde_json::from_value(fixtures::message_create(1, 2, None, bot, "beep", vec![]))
            .expect("a Message");
    assert!(from_bot.author.bot);
    assert!(from_bot.guild_id.is_none());
    let event = json!({"op": 0, "s": 5, "t": "MESSAGE_CREATE", "d": value});
    serde_json::from_value::<serenity::model::event::GatewayEvent>(event)
        .expect("a MESSAGE_CREATE");
}

#[test]
fn snowflakes_increase_and_carry_their_time() {
    let a = fixtures::snowflake();
    let b = fixtures::snowflake();
    assert!(b > a);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(now_ms.abs_diff(fixtures::snowflake_unix_ms(a)) < 5_000);
    assert!(serenity::model::Timestamp::parse(&fixtures::timestamp_of(a)).is_ok());
}

/// reqwest's `json` needs a feature serenity does not turn on; the body is read by hand.
trait JsonValue {
    async fn json_value(self) -> Value;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> Value {
        let bytes = self.bytes().await.expect("a body");
        serde_json::from_slice(&bytes).expect("a JSON body")
    }
}

#[test]
fn modal_submit_fixture_is_a_serenity_modal_interaction_with_what_was_typed() {
    let value = fixtures::modal_submit(
        82,
        "tok",
        GUILD_ID,
        CHANNEL_ID,
        (USER_ID, USER_NAME),
        fixtures::ADMIN_PERMISSIONS,
        "npq:gap:modal:ab",
        &[("question", "Why?"), ("answer", "Because.")],
    );
    let Interaction::Modal(modal) = serde_json::from_value(value).expect("an Interaction") else {
        panic!("not a modal submit");
    };
    assert_eq!(modal.data.custom_id, "npq:gap:modal:ab");
    let typed: Vec<(String, Option<String>)> = modal
        .data
        .components
        .iter()
        .flat_map(|row| row.components.iter())
        .filter_map(|c| match c {
            serenity::all::ActionRowComponent::InputText(i) => {
                Some((i.custom_id.clone(), i.value.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        typed,
        vec![
            ("question".to_string(), Some("Why?".to_string())),
            ("answer".to_string(), Some("Because.".to_string()))
        ]
    );
    assert!(modal.member.unwrap().permissions.unwrap().administrator());
}

#[tokio::test]
async fn a_modal_callback_is_recorded_and_checked_against_the_spec() {
    use serenity::all::{CreateActionRow, CreateInputText, CreateModal, InputTextStyle};
    let fake = start().await;
    let http = fake.serenity_http();
    let interaction = slash_interaction("token-modal");
    let modal = CreateModal::new("npq:gap:modal:ab", "Answer a question").components(vec![
        CreateActionRow::InputText(CreateInputText::new(
            InputTextStyle::Short,
            "Question",
            "question",
        )),
    ]);
    interaction
        .create_response(&http, CreateInteractionResponse::Modal(modal))
        .await
        .expect("the modal is accepted");
    let shown = fake.modal("token-modal").expect("the fake keeps the modal");
    assert_eq!(shown["custom_id"], "npq:gap:modal:ab");
    assert_eq!(
        fake.interaction_callbacks()[0].body.as_ref().unwrap()["type"],
        9
    );
    fake.assert_no_violations();

    // A title longer than Discord's 45 characters breaks the spec.
    let interaction = slash_interaction("token-long");
    let modal = CreateModal::new("x", "t".repeat(46)).components(vec![CreateActionRow::InputText(
        CreateInputText::new(InputTextStyle::Short, "Q", "q"),
    )]);
    let _ = interaction
        .create_response(&http, CreateInteractionResponse::Modal(modal))
        .await;
    assert!(
        fake.schema_violations().iter().any(|v| v.contains("title")),
        "{:?}",
        fake.schema_violations()
    );
}

#[tokio::test]
async fn a_multipart_upload_must_be_a_named_file_part_and_a_real_png() {
    let fake = start().await;
    let http = fake.serenity_http();
    let sent = ChannelId::new(CHANNEL_ID)
        .send_message(
            &http,
            CreateMessage::new()
                .content("chart")
                .add_file(CreateAttachment::bytes(b"not a png".to_vec(), "stats.png")),
        )
        .await;
    assert!(sent.is_ok(), "{sent:?}");
    let violations = fake.schema_violations();
    assert!(
        violations.iter().any(|v| v.contains("is not a PNG image")),
        "{violations:?}"
    );
}
