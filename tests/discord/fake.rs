//! A fake Discord for end-to-end tests: REST on one 127.0.0.1 port (serenity reaches it through
//! `HttpBuilder::proxy`), the gateway on another; everything the bot sends is recorded and checked.

// A support library: each end-to-end test uses a different part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use futures::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use regex::Regex;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::handshake::server::{
    ErrorResponse, Request as WsRequest, Response as WsResponse,
};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use super::fixtures::{self, GuildFixture, MessageFixture, UserFixture};
use super::schema::{self, Spec};

/// Every REST path starts with this; the rest is the route the spec names.
pub const API_PREFIX: &str = "/api/v10";

/// Discord answers an interaction only within this time of sending it.
pub const INTERACTION_DEADLINE: Duration = Duration::from_secs(3);

/// Gateway intents that need switching on in the developer portal.
pub const PRIVILEGED_INTENTS: u64 = (1 << 1) | (1 << 8) | (1 << 15);
const GUILD_MESSAGES: u64 = 1 << 9;
const DIRECT_MESSAGES: u64 = 1 << 12;
const MESSAGE_CONTENT: u64 = 1 << 15;

/// Message flags: the reply only its recipient sees, and "the bot is thinking".
const EPHEMERAL: u64 = 1 << 6;
const LOADING: u64 = 1 << 7;

/// How long `dispatch` waits for a live gateway session (the bot may be reconnecting).
const DISPATCH_WAIT: Duration = Duration::from_secs(10);

/// What the fake pretends to be.
#[derive(Clone, Debug)]
pub struct FakeConfig {
    /// The bot token without "Bot ".
    pub token: String,
    pub application_id: u64,
    pub bot: UserFixture,
    pub owner: UserFixture,
    pub guilds: Vec<GuildFixture>,
    /// Sent in HELLO; short so that heartbeats happen within a test.
    pub heartbeat_interval: Duration,
    /// The shard count GET /gateway/bot recommends.
    pub shards: u32,
    /// Privileged intents switched on for the application; an IDENTIFY asking for another is
    /// closed with 4014, as Discord does.
    pub allowed_privileged_intents: u64,
    /// Answer a body that breaks the spec with 400 and code 50035, as Discord does. Off by default
    /// so that a test runs on and `assert_no_violations` reports every violation at the end.
    pub reject_invalid_bodies: bool,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            token: "fake-token.for-tests.only".into(),
            application_id: fixtures::APP_ID,
            bot: UserFixture::bot(fixtures::BOT_ID, fixtures::BOT_NAME),
            owner: UserFixture::human(fixtures::OWNER_ID, "headteacher"),
            guilds: vec![GuildFixture::npq_staff_room()],
            heartbeat_interval: Duration::from_millis(1500),
            shards: 1,
            allowed_privileged_intents: PRIVILEGED_INTENTS,
            reject_invalid_bodies: false,
        }
    }
}

/// One REST request as the fake received and answered it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// The whole path, `/api/v10/...`.
    pub path: String,
    /// As sent; serenity writes `?&name=value`.
    pub query: Option<String>,
    /// The JSON body, or the `payload_json` part of a multipart body.
    pub body: Option<Value>,
    /// File names of a multipart body's file parts.
    pub files: Vec<String>,
    pub received_at: Instant,
    pub status: u16,
    /// The `Authorization` header was the configured bot token.
    pub token_ok: bool,
}

impl RecordedRequest {
    /// The path after `/api/v10`, as the spec names routes.
    pub fn route(&self) -> &str {
        self.path.strip_prefix(API_PREFIX).unwrap_or(&self.path)
    }

    /// Whether this is `method` on a route matching `route_regex` (anchored at both ends), e.g.
    /// `r.is("POST", r"/channels/\d+/messages")`.
    pub fn is(&self, method: &str, route_regex: &str) -> bool {
        let regex = Regex::new(&format!("^(?:{route_regex})$")).expect("a valid route regex");
        self.method.eq_ignore_ascii_case(method) && regex.is_match(self.route())
    }

    /// `body.content`, or `body.data.content` for an interaction callback.
    pub fn content(&self) -> Option<&str> {
        let body = self.body.as_ref()?;
        body.get("content")
            .or_else(|| body.pointer("/data/content"))
            .and_then(Value::as_str)
    }
}

impl fmt::Display for RecordedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if let Some(query) = &self.query {
            write!(f, "?{query}")?;
        }
        write!(f, " -> {}", self.status)
    }
}

/// One IDENTIFY the gateway received.
#[derive(Clone, Debug)]
pub struct Identify {
    /// `[shard_id, shard_count]` when the bot sent one.
    pub shard: Option<[u32; 2]>,
    pub intents: u64,
    pub token_ok: bool,
    /// The whole `d`, its token replaced with "<redacted>".
    pub payload: Value,
    pub at: Instant,
}

/// One gateway connection the bot opened.
#[derive(Clone, Debug)]
pub struct GatewayConnection {
    /// The URL query serenity appended (`v=10`).
    pub query: Option<String>,
    pub opened_at: Instant,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disconnect {
    /// A close frame with this code; 4000 ("unknown error") lets the bot resume.
    Close(u16),
    /// The TCP connection reset with no close frame, as when a network path dies.
    Abrupt,
}

/// The fake itself. Dropping it stops its servers and closes every connection.
pub struct FakeDiscord {
    shared: Arc<Shared>,
    rest_addr: SocketAddr,
    tls_addr: SocketAddr,
    gateway_addr: SocketAddr,
}

/// A self-signed certificate for discord.com (valid for a century), so that a client told to
/// resolve discord.com to the fake and to accept any certificate reaches it over https.
const DISCORD_COM_CERT: &str = "\
-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUdi3z7euJlVzkr9qP6onnv8B7aqYwCgYIKoZIzj0EAwIw
FjEUMBIGA1UEAwwLZGlzY29yZC5jb20wIBcNMjYxMTIyMTM1MzE3WhgPMjEyNjEw
MjkxMzUzMTdaMBYxFDASBgNVBAMMC2Rpc2NvcmQuY29tMFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAE7WqMoP27hAm3Cr5fJvGrJeo4GxIgOWQlr6jPVFVPF/iDid3J
utcQ6e3UidJsiZoD2VpDicVzC7YAfxAFzlbhWqNrMGkwHQYDVR0OBBYEFGIw+Sgw
qtH9PyNWckwemOwaRgnnMB8GA1UdIwQYMBaAFGIw+SgwqtH9PyNWckwemOwaRgnn
MA8GA1UdEwEB/wQFMAMBAf8wFgYDVR0RBA8wDYILZGlzY29yZC5jb20wCgYIKoZI
zj0EAwIDSAAwRQIhAOqQtu4HNKxsQZZVeBk/FK26PSbRuyPsG9vy6+j8GwBwAiA9
6YodK2TkAKBdNfm4QO5zo4JByRacnFGxc+wlu6RQCA==
-----END CERTIFICATE-----";
const DISCORD_COM_KEY: &str = "\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgC4G9Gm2dm1Z8pv4m
kqbMPrWXo/DYmol+qu0eBLqLgayhRANCAATtaoyg/buECbcKvl8m8asl6jgbEiA5
ZCWvqM9UVU8X+IOJ3cm61xDp7dSJ0myJmgPZWkOJxXMLtgB/EAXOVuFa
-----END PRIVATE KEY-----";

struct Shared {
    config: FakeConfig,
    spec: Arc<Spec>,
    gateway_url: String,
    state: Mutex<State>,
    changed: watch::Sender<u64>,
    tasks: Mutex<Vec<AbortHandle>>,
}

#[derive(Default)]
struct State {
    requests: Vec<RecordedRequest>,
    violations: Vec<String>,
    protocol_violations: Vec<String>,
    rate_limits: Vec<RateLimitRule>,
    failures: Vec<FailureRule>,
    /// How many more heartbeats go unacknowledged (a zombie connection).
    unacked_heartbeats: u32,
    /// `None` for global commands, else the guild's.
    commands: HashMap<Option<u64>, Vec<Value>>,
    messages: HashMap<u64, Value>,
    /// Interaction token -> the id of its original response.
    originals: HashMap<String, u64>,
    /// Interaction token -> what was dispatched.
    interactions: HashMap<String, DispatchedInteraction>,
    /// Interaction token -> the modal (callback type 9) it was answered with.
    modals: HashMap<String, Value>,
    dm_channels: HashMap<u64, u64>,
    sessions: HashMap<u32, Session>,
    next_connection: u64,
    connections: Vec<GatewayConnection>,
    identifies: Vec<Identify>,
    resumes: Vec<Value>,
    heartbeats: Vec<Instant>,
    received_frames: Vec<Value>,
}

struct RateLimitRule {
    method: String,
    path: Regex,
    retry_after: f64,
    times: u32,
}

/// The next `times` matching requests are answered with `status` (a server error).
struct FailureRule {
    method: String,
    path: Regex,
    status: u16,
    times: u32,
}

#[derive(Clone)]
struct DispatchedInteraction {
    id: u64,
    kind: u64,
    channel_id: u64,
    guild_id: Option<u64>,
    user: Value,
    /// The message a component sits on.
    message_id: Option<u64>,
    dispatched_at: Instant,
    acknowledged: bool,
}

struct Session {
    id: String,
    shard: [u32; 2],
    seq: u64,
    /// Every dispatch of the session, for replay on RESUME.
    sent: Vec<(u64, String)>,
    live: Option<Live>,
}

struct Live {
    connection: u64,
    tx: mpsc::UnboundedSender<Outgoing>,
}

enum Outgoing {
    Text(String),
    Close(u16, String),
    Abort,
}

impl FakeDiscord {
    /// The fake with [`FakeConfig::default`].
    pub async fn start() -> Self {
        Self::start_with(FakeConfig::default()).await
    }

    /// Binds both ports and serves until dropped. Panics when the spec is missing.
    pub async fn start_with(config: FakeConfig) -> Self {
        let spec = schema::shared_spec();
        let rest = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind REST port");
        let tls = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind TLS port");
        let tls_addr = tls.local_addr().expect("TLS address");
        let gateway = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind gateway port");
        let rest_addr = rest.local_addr().expect("REST address");
        let gateway_addr = gateway.local_addr().expect("gateway address");
        let shared = Arc::new(Shared {
            config,
            spec,
            gateway_url: format!("ws://{gateway_addr}"),
            state: Mutex::new(State::default()),
            changed: watch::channel(0).0,
            tasks: Mutex::new(Vec::new()),
        });
        let rest_task = tokio::spawn(serve_rest(Arc::clone(&shared), rest, None));
        let tls_task = tokio::spawn(serve_rest(Arc::clone(&shared), tls, Some(tls_acceptor())));
        shared.track(tls_task.abort_handle());
        let gateway_task = tokio::spawn(serve_gateway(Arc::clone(&shared), gateway));
        shared.track(rest_task.abort_handle());
        shared.track(gateway_task.abort_handle());
        Self {
            shared,
            rest_addr,
            tls_addr,
            gateway_addr,
        }
    }

    /// What to give `HttpBuilder::proxy`: `http://127.0.0.1:PORT`, no trailing slash.
    pub fn api_base(&self) -> String {
        format!("http://{}", self.rest_addr)
    }

    /// The gateway URL GET /gateway and /gateway/bot answer, `ws://127.0.0.1:PORT` (serenity
    /// appends `?v=10`).
    pub fn gateway_url(&self) -> String {
        format!("ws://{}", self.gateway_addr)
    }

    /// The bot token without "Bot ".
    pub fn token(&self) -> &str {
        &self.shared.config.token
    }

    pub fn config(&self) -> &FakeConfig {
        &self.shared.config
    }

    /// A serenity HTTP client that talks to this fake. serenity's ratelimiter must be off: it
    /// builds its requests without the proxy and would send them to discord.com.
    pub fn serenity_http(&self) -> serenity::http::Http {
        serenity::http::HttpBuilder::new(self.token())
            .proxy(self.api_base())
            .ratelimiter_disabled(true)
            .application_id(self.shared.config.application_id.into())
            .build()
    }

    /// A reqwest client for which https://discord.com is this fake (its TLS port, any
    /// certificate accepted). Give it to `HttpBuilder::client` to run serenity as in production,
    /// ratelimiter on and no proxy.
    pub fn discord_com_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .resolve("discord.com", self.tls_addr)
            .danger_accept_invalid_certs(true)
            .build()
            .expect("a reqwest client")
    }

    /// A serenity HTTP client with serenity's ratelimiter on, as in production: it waits out a
    /// 429's `retry-after` and tries again, where [`Self::serenity_http`] hands the 429 back.
    pub fn serenity_http_with_ratelimiter(&self) -> serenity::http::Http {
        serenity::http::HttpBuilder::new(self.token())
            .client(self.discord_com_client())
            .application_id(self.shared.config.application_id.into())
            .build()
    }

    // ---- REST records ----

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }

    /// The first request (already received or still to come) for which `pred` holds. The error
    /// lists every request seen so far.
    pub async fn wait_for_request(
        &self,
        pred: impl Fn(&RecordedRequest) -> bool,
        timeout: Duration,
    ) -> anyhow::Result<RecordedRequest> {
        let found = self
            .wait_until(timeout, |s| s.requests.iter().find(|r| pred(r)).cloned())
            .await;
        found.with_context(|| {
            format!(
                "no matching request within {timeout:?}; requests seen:\n{}",
                self.describe_requests()
            )
        })
    }

    /// Every request so far, one a line, for failure messages.
    pub fn describe_requests(&self) -> String {
        let state = self.state();
        if state.requests.is_empty() {
            return "  (none)".into();
        }
        state
            .requests
            .iter()
            .map(|r| format!("  {r}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// POST /interactions/{id}/{token}/callback: answers, deferrals, autocomplete choices.
    pub fn interaction_callbacks(&self) -> Vec<RecordedRequest> {
        self.requests_matching("POST", r"/interactions/\d+/[^/]+/callback")
    }

    /// POST /channels/{id}/messages.
    pub fn channel_messages(&self) -> Vec<RecordedRequest> {
        self.requests_matching("POST", r"/channels/\d+/messages")
    }

    /// POST /webhooks/{app}/{token}: follow-up messages.
    pub fn followups(&self) -> Vec<RecordedRequest> {
        self.requests_matching("POST", r"/webhooks/\d+/[^/]+")
    }

    /// PATCH /webhooks/{app}/{token}/messages/@original: edits of the first answer, which is
    /// how a deferred answer arrives.
    pub fn original_edits(&self) -> Vec<RecordedRequest> {
        self.requests_matching("PATCH", r"/webhooks/\d+/[^/]+/messages/@original")
    }

    /// Requests the fake has no answer for (404, recorded); worth printing when a test fails.
    pub fn unhandled_routes(&self) -> Vec<RecordedRequest> {
        self.state()
            .requests
            .iter()
            .filter(|r| r.status == 404 && !is_handled_route(&r.method, r.route()))
            .cloned()
            .collect()
    }

    /// Requests whose `Authorization` was not `Bot <configured token>`.
    pub fn wrong_token_requests(&self) -> Vec<RecordedRequest> {
        self.state()
            .requests
            .iter()
            .filter(|r| !r.token_ok)
            .cloned()
            .collect()
    }

    /// Requests answered 429.
    pub fn rate_limited(&self) -> Vec<RecordedRequest> {
        self.state()
            .requests
            .iter()
            .filter(|r| r.status == 429)
            .cloned()
            .collect()
    }

    fn requests_matching(&self, method: &str, route_regex: &str) -> Vec<RecordedRequest> {
        self.state()
            .requests
            .iter()
            .filter(|r| r.is(method, route_regex) && r.status != 429)
            .cloned()
            .collect()
    }

    /// The next `times` requests of `method` whose path (the whole `/api/v10/...` path, searched
    /// unanchored) matches `path_regex` are answered 429 with `retry_after_secs`, as Discord does.
    pub fn rate_limit_next(
        &self,
        method: &str,
        path_regex: &str,
        retry_after_secs: f64,
        times: u32,
    ) {
        let path = Regex::new(path_regex).expect("a valid path regex");
        self.state().rate_limits.push(RateLimitRule {
            method: method.to_uppercase(),
            path,
            retry_after: retry_after_secs,
            times,
        });
    }

    /// The next `times` requests of `method` whose path matches `path_regex` (as for
    /// [`Self::rate_limit_next`]) are answered with the server error `status` (500, 502, 503...).
    pub fn fail_next(&self, method: &str, path_regex: &str, status: u16, times: u32) {
        let path = Regex::new(path_regex).expect("a valid path regex");
        self.state().failures.push(FailureRule {
            method: method.to_uppercase(),
            path,
            status,
            times,
        });
    }

    /// Leaves the next `n` heartbeats without their ACK (op 11), as a zombie connection does.
    pub fn withhold_heartbeat_acks(&self, n: u32) {
        self.state().unacked_heartbeats = n;
    }

    /// Requests answered with a server error (5xx).
    pub fn failed(&self) -> Vec<RecordedRequest> {
        self.state()
            .requests
            .iter()
            .filter(|r| r.status >= 500)
            .cloned()
            .collect()
    }

    /// Every way a request body broke Discord's OpenAPI description, as
    /// "METHOD /route: <error> at <instance path>".
    pub fn schema_violations(&self) -> Vec<String> {
        self.state().violations.clone()
    }

    /// What Discord itself would have refused that is not about a body's shape: a late or second
    /// answer to an interaction, a follow-up before any answer, a wrong token.
    pub fn protocol_violations(&self) -> Vec<String> {
        self.state().protocol_violations.clone()
    }

    /// Panics listing every schema and protocol violation.
    pub fn assert_no_violations(&self) {
        let state = self.state();
        if state.violations.is_empty() && state.protocol_violations.is_empty() {
            return;
        }
        let mut report = String::from("the bot sent what Discord would refuse:\n");
        for violation in state.violations.iter().chain(&state.protocol_violations) {
            report.push_str(&format!("  {violation}\n"));
        }
        drop(state);
        report.push_str(&format!("requests:\n{}", self.describe_requests()));
        panic!("{report}");
    }

    /// The commands registered globally (`None`) or in a guild, as the fake echoed them.
    pub fn registered_commands(&self, guild_id: Option<u64>) -> Vec<Value> {
        self.state()
            .commands
            .get(&guild_id)
            .cloned()
            .unwrap_or_default()
    }

    /// A message the bot sent or edited, as the fake holds it now.
    pub fn message(&self, message_id: u64) -> Option<Value> {
        self.state().messages.get(&message_id).cloned()
    }

    /// The modal (`data` of a type 9 callback) interaction `token` was answered with.
    pub fn modal(&self, token: &str) -> Option<Value> {
        self.state().modals.get(token).cloned()
    }

    /// The original response to the interaction with `token`, as it stands after every edit.
    pub fn original_response(&self, token: &str) -> Option<Value> {
        let state = self.state();
        let id = state.originals.get(token)?;
        state.messages.get(id).cloned()
    }

    // ---- gateway ----

    /// Sends dispatch `event` with `data` and the next sequence number to the shard that owns
    /// the data's `guild_id` (shard 0 without one), waiting up to 10 s for a live session (the
    /// bot may be reconnecting). Returns the sequence number.
    ///
    /// Fails, rather than sending, what serenity 0.12.5 cannot deserialize (it would drop the
    /// event with only a warning) and a message event the bot's intents do not subscribe to (which
    /// Discord would not send). Without MESSAGE_CONTENT, a guild message that does not mention
    /// the bot arrives with empty content, as from Discord.
    pub async fn dispatch(&self, event: &str, data: Value) -> anyhow::Result<u64> {
        check_serenity_reads(event, &data)?;
        self.dispatch_unchecked(event, data).await
    }

    /// [`Self::dispatch`] without the checks: sends whatever it is given.
    pub async fn dispatch_unchecked(&self, event: &str, mut data: Value) -> anyhow::Result<u64> {
        let shard = self.shard_for(&data);
        let live = self
            .wait_until(DISPATCH_WAIT, |s| {
                s.sessions
                    .get(&shard)
                    .filter(|session| session.live.is_some())
                    .map(|_| ())
            })
            .await;
        if live.is_none() {
            bail!(
                "no live gateway session for shard {shard} within {DISPATCH_WAIT:?} \
                 (identifies: {}, resumes: {}, connections: {})",
                self.identify_count(),
                self.resume_count(),
                self.gateway_connections().len()
            );
        }
        let mut state = self.state();
        let intents = state
            .identifies
            .iter()
            .rev()
            .find(|i| i.shard.map_or(0, |s| s[0]) == shard)
            .map_or(0, |i| i.intents);
        if event == "MESSAGE_CREATE" || event == "MESSAGE_UPDATE" {
            filter_by_intents(&mut data, intents, self.shared.config.bot.id)?;
        }
        if event == "INTERACTION_CREATE" {
            remember_interaction(&mut state, &data);
        }
        let session = state
            .sessions
            .get_mut(&shard)
            .context("the session went away")?;
        let seq = session.push(event, data);
        drop(state);
        self.shared.bump();
        Ok(seq)
    }

    /// Sends any frame as it is, to shard 0.
    pub fn send_raw(&self, frame: Value) -> anyhow::Result<()> {
        let state = self.state();
        let live = state
            .sessions
            .get(&0)
            .and_then(|s| s.live.as_ref())
            .context("no live gateway session")?;
        live.tx
            .send(Outgoing::Text(frame.to_string()))
            .map_err(|_| anyhow::anyhow!("the connection is closing"))
    }

    /// Closes every live connection with close code 4000, which the bot should answer with a
    /// RESUME on a new connection.
    pub fn drop_connection(&self) {
        self.disconnect(Disconnect::Close(4000));
    }

    /// Resets every live connection's TCP stream with no close frame.
    pub fn drop_connection_abruptly(&self) {
        self.disconnect(Disconnect::Abrupt);
    }

    pub fn disconnect(&self, how: Disconnect) {
        let mut state = self.state();
        for session in state.sessions.values_mut() {
            if let Some(live) = session.live.take() {
                let _ = live.tx.send(match how {
                    Disconnect::Close(code) => {
                        Outgoing::Close(code, "the fake Discord closed the connection".into())
                    }
                    Disconnect::Abrupt => Outgoing::Abort,
                });
            }
        }
        drop(state);
        self.shared.bump();
    }

    /// Op 7: asks the bot to reconnect and resume.
    pub fn request_reconnect(&self) -> anyhow::Result<()> {
        self.send_raw(json!({"op": 7, "d": null, "s": null, "t": null}))
    }

    /// Op 9: the session is invalid; `resumable` says whether RESUME may still work.
    pub fn invalidate_session(&self, resumable: bool) -> anyhow::Result<()> {
        self.send_raw(json!({"op": 9, "d": resumable, "s": null, "t": null}))
    }

    /// Waits until a session is live and READY has been sent on it.
    pub async fn wait_ready(&self, timeout: Duration) -> anyhow::Result<()> {
        self.wait_until(timeout, |s| {
            s.sessions.values().any(|x| x.live.is_some()).then_some(())
        })
        .await
        .with_context(|| {
            format!(
                "the bot did not become READY within {timeout:?} (gateway connections: {}, \
                 identifies: {}); requests seen:\n{}",
                self.gateway_connections().len(),
                self.identify_count(),
                self.describe_requests()
            )
        })
    }

    pub async fn wait_identify_count(&self, n: usize, timeout: Duration) -> anyhow::Result<()> {
        self.wait_until(timeout, |s| (s.identifies.len() >= n).then_some(()))
            .await
            .with_context(|| {
                format!(
                    "expected {n} IDENTIFY within {timeout:?}, saw {}",
                    self.identify_count()
                )
            })
    }

    /// Waits until `n` RESUMEs have been answered and the session is live again.
    pub async fn wait_resume_count(&self, n: usize, timeout: Duration) -> anyhow::Result<()> {
        self.wait_until(timeout, |s| {
            (s.resumes.len() >= n && s.sessions.values().any(|x| x.live.is_some())).then_some(())
        })
        .await
        .with_context(|| {
            format!(
                "expected {n} RESUME within {timeout:?}, saw {} (identifies: {})",
                self.resume_count(),
                self.identify_count()
            )
        })
    }

    pub async fn wait_heartbeat_count(&self, n: usize, timeout: Duration) -> anyhow::Result<()> {
        self.wait_until(timeout, |s| (s.heartbeats.len() >= n).then_some(()))
            .await
            .with_context(|| format!("expected {n} heartbeats within {timeout:?}"))
    }

    pub fn identify_count(&self) -> usize {
        self.state().identifies.len()
    }

    pub fn identifies(&self) -> Vec<Identify> {
        self.state().identifies.clone()
    }

    pub fn resume_count(&self) -> usize {
        self.state().resumes.len()
    }

    pub fn heartbeat_count(&self) -> usize {
        self.state().heartbeats.len()
    }

    /// The intents of the latest IDENTIFY.
    pub fn intents(&self) -> Option<u64> {
        self.state().identifies.last().map(|i| i.intents)
    }

    /// `[id, count]` of every shard that has identified, in order.
    pub fn identified_shards(&self) -> Vec<[u32; 2]> {
        self.state()
            .identifies
            .iter()
            .map(|i| i.shard.unwrap_or([0, 1]))
            .collect()
    }

    pub fn gateway_connections(&self) -> Vec<GatewayConnection> {
        self.state().connections.clone()
    }

    /// Every frame the bot sent on the gateway, tokens redacted.
    pub fn gateway_frames(&self) -> Vec<Value> {
        self.state().received_frames.clone()
    }

    // ---- internals ----

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state()
    }

    fn shard_for(&self, data: &Value) -> u32 {
        let state = self.state();
        let count = state
            .sessions
            .values()
            .map(|s| s.shard[1])
            .max()
            .unwrap_or(1)
            .max(1);
        let guild_id = data
            .get("guild_id")
            .and_then(Value::as_str)
            .and_then(|g| g.parse::<u64>().ok());
        guild_id.map_or(0, |g| ((g >> 22) % u64::from(count)) as u32)
    }

    async fn wait_until<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&State) -> Option<T>,
    ) -> Option<T> {
        let mut changed = self.shared.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(found) = check(&self.state()) {
                return Some(found);
            }
            if tokio::time::timeout_at(deadline, changed.changed())
                .await
                .is_err()
            {
                return check(&self.state());
            }
        }
    }
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        for task in self.shared.tasks.lock().expect("tasks").drain(..) {
            task.abort();
        }
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not hide every later failure behind a poisoned lock.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n += 1);
    }

    fn track(&self, task: AbortHandle) {
        let mut tasks = self.tasks.lock().expect("tasks");
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
    }

    fn guild(&self, guild_id: u64) -> Option<&GuildFixture> {
        self.config.guilds.iter().find(|g| g.id == guild_id)
    }
}

impl Session {
    /// Sends a dispatch with the next sequence number (if the session is live) and keeps it for
    /// replay.
    fn push(&mut self, event: &str, data: Value) -> u64 {
        self.seq += 1;
        let frame = json!({"op": 0, "s": self.seq, "t": event, "d": data}).to_string();
        if let Some(live) = &self.live {
            let _ = live.tx.send(Outgoing::Text(frame.clone()));
        }
        self.sent.push((self.seq, frame));
        self.seq
    }
}

/// Dispatches serenity 0.12.5 has a type for (the ones a bot's tests are likely to send).
const SERENITY_EVENTS: &[&str] = &[
    "READY",
    "RESUMED",
    "GUILD_CREATE",
    "GUILD_UPDATE",
    "GUILD_DELETE",
    "GUILD_MEMBER_ADD",
    "GUILD_MEMBER_UPDATE",
    "GUILD_MEMBER_REMOVE",
    "GUILD_ROLE_CREATE",
    "GUILD_ROLE_UPDATE",
    "GUILD_ROLE_DELETE",
    "CHANNEL_CREATE",
    "CHANNEL_UPDATE",
    "CHANNEL_DELETE",
    "THREAD_CREATE",
    "MESSAGE_CREATE",
    "MESSAGE_UPDATE",
    "MESSAGE_DELETE",
    "MESSAGE_DELETE_BULK",
    "MESSAGE_REACTION_ADD",
    "MESSAGE_REACTION_REMOVE",
    "INTERACTION_CREATE",
    "TYPING_START",
    "PRESENCE_UPDATE",
    "USER_UPDATE",
    "APPLICATION_COMMAND_PERMISSIONS_UPDATE",
    "ENTITLEMENT_CREATE",
];

/// serenity turns a dispatch it cannot read into `Event::Unknown` (or drops it with a warning),
/// so a malformed fixture would look like a bot that ignores events.
fn check_serenity_reads(event: &str, data: &Value) -> anyhow::Result<()> {
    use serenity::model::event::{Event, GatewayEvent};

    let frame = json!({"op": 0, "s": 1, "t": event, "d": data});
    let parsed = serde_json::from_value::<GatewayEvent>(frame);
    let unknown = matches!(parsed, Ok(GatewayEvent::Dispatch(_, Event::Unknown(_))));
    if parsed.is_ok() && !(unknown && SERENITY_EVENTS.contains(&event)) {
        return Ok(());
    }
    // Find out why, for the events tests send most.
    let why = match event {
        "INTERACTION_CREATE" => {
            serde_json::from_value::<serenity::all::Interaction>(data.clone()).err()
        }
        "MESSAGE_CREATE" => serde_json::from_value::<serenity::all::Message>(data.clone()).err(),
        "GUILD_CREATE" => serde_json::from_value::<serenity::all::Guild>(data.clone()).err(),
        "READY" => serde_json::from_value::<serenity::all::Ready>(data.clone()).err(),
        _ => parsed.err(),
    };
    match why {
        Some(error) => bail!("serenity 0.12.5 cannot read this {event}: {error}"),
        None => bail!("serenity 0.12.5 cannot read this {event} (it would become Event::Unknown)"),
    }
}

fn filter_by_intents(data: &mut Value, intents: u64, bot_id: u64) -> anyhow::Result<()> {
    let in_guild = data.get("guild_id").is_some();
    let needed = if in_guild {
        GUILD_MESSAGES
    } else {
        DIRECT_MESSAGES
    };
    if intents & needed == 0 {
        bail!(
            "the bot did not ask for the {} intent, so Discord would not send it this message event",
            if in_guild { "GUILD_MESSAGES" } else { "DIRECT_MESSAGES" }
        );
    }
    let bot = bot_id.to_string();
    let from_bot = data.pointer("/author/id").and_then(Value::as_str) == Some(bot.as_str());
    let mentions_bot = data
        .get("mentions")
        .and_then(Value::as_array)
        .is_some_and(|m| {
            m.iter()
                .any(|u| u.get("id").and_then(Value::as_str) == Some(&bot))
        });
    if in_guild && intents & MESSAGE_CONTENT == 0 && !from_bot && !mentions_bot {
        for (key, empty) in [
            ("content", json!("")),
            ("embeds", json!([])),
            ("attachments", json!([])),
            ("components", json!([])),
        ] {
            if data.get(key).is_some() {
                data[key] = empty;
            }
        }
    }
    Ok(())
}

fn remember_interaction(state: &mut State, data: &Value) {
    let (Some(token), Some(id)) = (
        data.get("token").and_then(Value::as_str),
        snowflake_field(data, "id"),
    ) else {
        return;
    };
    let user = data
        .pointer("/member/user")
        .or_else(|| data.get("user"))
        .cloned()
        .unwrap_or(Value::Null);
    state.interactions.insert(
        token.to_string(),
        DispatchedInteraction {
            id,
            kind: data.get("type").and_then(Value::as_u64).unwrap_or(0),
            channel_id: snowflake_field(data, "channel_id").unwrap_or(0),
            guild_id: snowflake_field(data, "guild_id"),
            user,
            message_id: data.get("message").and_then(|m| snowflake_field(m, "id")),
            dispatched_at: Instant::now(),
            acknowledged: false,
        },
    );
}

fn snowflake_field(value: &Value, key: &str) -> Option<u64> {
    match value.get(key)? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

// ---- REST ----

async fn serve_rest(shared: Arc<Shared>, listener: TcpListener, tls: Option<TlsAcceptor>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let connection_shared = Arc::clone(&shared);
        let tls = tls.clone();
        let task = tokio::spawn(async move {
            match tls {
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        serve_http(connection_shared, stream).await;
                    }
                }
                None => serve_http(connection_shared, stream).await,
            }
        });
        shared.track(task.abort_handle());
    }
}

async fn serve_http<S>(shared: Arc<Shared>, stream: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        async move { Ok::<_, Infallible>(handle_rest(&shared, request).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

fn tls_acceptor() -> TlsAcceptor {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls::{crypto, ServerConfig};

    let cert = CertificateDer::from_pem_slice(DISCORD_COM_CERT.as_bytes()).expect("certificate");
    let key = PrivateKeyDer::from_pem_slice(DISCORD_COM_KEY.as_bytes()).expect("private key");
    let config = ServerConfig::builder_with_provider(Arc::new(crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("a certificate and key that match");
    TlsAcceptor::from(Arc::new(config))
}

/// What a route answers: a status and, unless 204, a JSON body.
struct Reply {
    status: u16,
    body: Option<Value>,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Self {
            status: 200,
            body: Some(body),
        }
    }

    fn no_content() -> Self {
        Self {
            status: 204,
            body: None,
        }
    }

    /// Discord's error JSON.
    fn error(status: u16, code: u64, message: &str) -> Self {
        Self {
            status,
            body: Some(json!({"message": message, "code": code})),
        }
    }

    fn not_found() -> Self {
        Self::error(404, 0, "404: Not Found")
    }
}

async fn handle_rest(shared: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let received_at = Instant::now();
    let method = request.method().as_str().to_string();
    let path = request.uri().path().to_string();
    let query = request.uri().query().map(str::to_string);
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let authorization = header("authorization");
    let content_type = header("content-type").unwrap_or_default();
    let bytes = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let (body, files, unreadable) = parse_body(&content_type, &bytes);

    let route = path.strip_prefix(API_PREFIX).map(str::to_string);
    let expected = format!("Bot {}", shared.config.token);
    // Discord takes interaction and webhook tokens from the URL; a bot token there is optional.
    let token_optional = route
        .as_deref()
        .is_some_and(|r| r.starts_with("/interactions/") || r.starts_with("/webhooks/"));
    let token_ok = match &authorization {
        Some(given) => *given == expected,
        None => token_optional,
    };

    let mut rate_limit = None;
    let reply = {
        let mut state = shared.state();
        if let Some(rule) = state
            .rate_limits
            .iter_mut()
            .find(|r| r.times > 0 && r.method == method && r.path.is_match(&path))
        {
            rule.times -= 1;
            rate_limit = Some(rule.retry_after);
        }
        state.rate_limits.retain(|r| r.times > 0);
        let mut failure = None;
        if rate_limit.is_none() {
            if let Some(rule) = state
                .failures
                .iter_mut()
                .find(|r| r.times > 0 && r.method == method && r.path.is_match(&path))
            {
                rule.times -= 1;
                failure = Some(rule.status);
            }
            state.failures.retain(|r| r.times > 0);
        }

        if !token_ok {
            state.protocol_violations.push(format!(
                "{method} {path}: Authorization was {}, not the configured bot token",
                match &authorization {
                    Some(_) => "a different token",
                    None => "missing",
                }
            ));
            Reply::error(401, 0, "401: Unauthorized")
        } else if let Some(status) = failure {
            Reply::error(status, 0, "Internal Server Error")
        } else if let Some(retry_after) = rate_limit {
            Reply {
                status: 429,
                body: Some(json!({
                    "message": "You are being rate limited.",
                    "retry_after": retry_after,
                    "global": false,
                })),
            }
        } else if let Some(route) = route.as_deref() {
            let mut violations = Vec::new();
            if let Some(problem) = unreadable {
                violations.push(format!("{method} {route}: {problem}"));
            }
            if let Some(body) = &body {
                violations.extend(shared.spec.validate(&method, route, body));
            }
            let refuse = shared.config.reject_invalid_bodies && !violations.is_empty();
            state.violations.extend(violations);
            if refuse {
                Reply {
                    status: 400,
                    body: Some(
                        json!({"message": "Invalid Form Body", "code": 50035, "errors": {}}),
                    ),
                }
            } else {
                answer(
                    shared,
                    &mut state,
                    &method,
                    route,
                    query.as_deref(),
                    body.as_ref(),
                    &files,
                )
            }
        } else {
            Reply::not_found()
        }
    };

    {
        let mut state = shared.state();
        state.requests.push(RecordedRequest {
            method,
            path,
            query,
            body,
            files,
            received_at,
            status: reply.status,
            token_ok,
        });
    }
    shared.bump();
    respond(reply, rate_limit)
}

/// The body as JSON: the whole body, or a multipart body's `payload_json`; with the names of
/// uploaded files, and a complaint when a body that claims to be JSON is not.
fn parse_body(content_type: &str, bytes: &[u8]) -> (Option<Value>, Vec<String>, Option<String>) {
    if bytes.is_empty() {
        return (None, vec![], None);
    }
    if let Some(boundary) = content_type
        .strip_prefix("multipart/form-data")
        .and_then(|rest| rest.split("boundary=").nth(1))
    {
        let boundary = boundary.trim_matches('"');
        let mut payload: Option<Value> = None;
        let mut files = Vec::new();
        let mut problems = Vec::new();
        let mut uploaded = Vec::new();
        for part in multipart_parts(bytes, boundary) {
            if let Some(file) = part.filename {
                // Discord reads uploads from parts named files[N], N matching an attachment id.
                match part
                    .name
                    .strip_prefix("files[")
                    .and_then(|n| n.strip_suffix(']'))
                    .and_then(|n| n.parse::<u64>().ok())
                {
                    Some(n) => uploaded.push(n),
                    None => problems.push(format!(
                        "a file part is named {:?}, not files[N]",
                        part.name
                    )),
                }
                if part.body.is_empty() {
                    problems.push(format!("the uploaded file {file:?} is empty"));
                }
                if file.ends_with(".png") && !part.body.starts_with(b"\x89PNG\r\n\x1a\n") {
                    problems.push(format!("the uploaded file {file:?} is not a PNG image"));
                }
                files.push(file);
            } else if part.name == "payload_json" {
                match serde_json::from_slice(&part.body) {
                    Ok(p) => payload = Some(p),
                    Err(e) => problems.push(format!("payload_json is not JSON ({e})")),
                }
            }
        }
        if payload.is_none() && problems.is_empty() {
            problems.push("a multipart body without payload_json".to_string());
        }
        // An `attachments` list is optional; when there is one, it must name every upload.
        if let Some(listed) = payload
            .as_ref()
            .and_then(|p| p.get("attachments"))
            .and_then(Value::as_array)
        {
            let ids: Vec<u64> = listed
                .iter()
                .filter_map(|a| match a.get("id") {
                    Some(Value::String(s)) => s.parse().ok(),
                    Some(v) => v.as_u64(),
                    None => None,
                })
                .collect();
            for n in &uploaded {
                if !ids.contains(n) {
                    problems.push(format!(
                        "the file part files[{n}] has no attachment with id {n} in payload_json"
                    ));
                }
            }
        }
        let problem = (!problems.is_empty()).then(|| problems.join("; "));
        return (payload, files, problem);
    }
    match serde_json::from_slice(bytes) {
        Ok(value) => (Some(value), vec![], None),
        Err(error) => (
            None,
            vec![],
            Some(format!(
                "the body is not JSON ({error}), Content-Type {content_type:?}"
            )),
        ),
    }
}

struct Part {
    name: String,
    filename: Option<String>,
    body: Vec<u8>,
}

fn multipart_parts(bytes: &[u8], boundary: &str) -> Vec<Part> {
    let delimiter = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let mut chunks = split_bytes(bytes, &delimiter).into_iter().skip(1);
    for chunk in chunks.by_ref() {
        if chunk.starts_with(b"--") {
            break;
        }
        let chunk = chunk.strip_prefix(b"\r\n").unwrap_or(chunk);
        let Some(split) = find(chunk, b"\r\n\r\n") else {
            continue;
        };
        let headers = String::from_utf8_lossy(&chunk[..split]);
        let body = &chunk[split + 4..];
        let body = body.strip_suffix(b"\r\n").unwrap_or(body);
        let disposition = headers
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .unwrap_or_default();
        let attribute = |key: &str| {
            disposition
                .split(';')
                .map(str::trim)
                .find_map(|a| a.strip_prefix(&format!("{key}=")))
                .map(|v| v.trim_matches('"').to_string())
        };
        parts.push(Part {
            name: attribute("name").unwrap_or_default(),
            filename: attribute("filename"),
            body: body.to_vec(),
        });
    }
    parts
}

fn split_bytes<'a>(haystack: &'a [u8], needle: &[u8]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut rest = haystack;
    while let Some(at) = find(rest, needle) {
        pieces.push(&rest[..at]);
        rest = &rest[at + needle.len()..];
    }
    pieces.push(rest);
    pieces
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn respond(reply: Reply, rate_limit: Option<f64>) -> Response<Full<Bytes>> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let (remaining, reset_after) = match rate_limit {
        Some(retry_after) => (0, retry_after),
        None => (4, 1.0),
    };
    let mut response = Response::builder()
        .status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("x-ratelimit-limit", "5")
        .header("x-ratelimit-remaining", remaining.to_string())
        .header("x-ratelimit-reset", format!("{:.3}", now + reset_after))
        .header("x-ratelimit-reset-after", format!("{reset_after:.3}"))
        .header("x-ratelimit-bucket", "f4k3b0c6e7");
    if let Some(retry_after) = rate_limit {
        response = response
            .header("retry-after", retry_after.to_string())
            .header("x-ratelimit-scope", "user");
    }
    let body = match reply.body {
        Some(body) => {
            response = response.header("content-type", "application/json");
            Bytes::from(body.to_string())
        }
        None => Bytes::new(),
    };
    response.body(Full::new(body)).expect("a valid response")
}

/// Whether the fake has an answer for this route (404s from it are Discord's "Unknown ..." replies,
/// not gaps in the fake).
fn is_handled_route(method: &str, route: &str) -> bool {
    let segments: Vec<&str> = route.trim_matches('/').split('/').collect();
    !matches!(route_kind(method, &segments), RouteKind::Unhandled)
}

enum RouteKind {
    Handled,
    Unhandled,
}

fn route_kind(method: &str, segments: &[&str]) -> RouteKind {
    use RouteKind::*;
    match (method, segments) {
        ("GET", ["gateway"] | ["gateway", "bot"] | ["users", _])
        | ("GET", ["applications", "@me"] | ["oauth2", "applications", "@me"])
        | ("GET" | "PUT" | "POST", ["applications", _, "commands"])
        | ("GET" | "PATCH" | "DELETE", ["applications", _, "commands", _])
        | ("GET" | "PUT" | "POST", ["applications", _, "guilds", _, "commands"])
        | ("GET" | "PATCH" | "DELETE", ["applications", _, "guilds", _, "commands", _])
        | ("POST", ["interactions", _, _, "callback"])
        | ("POST", ["webhooks", _, _])
        | ("GET" | "PATCH" | "DELETE", ["webhooks", _, _, "messages", _])
        | ("GET" | "POST", ["channels", _, "messages"])
        | ("GET" | "PATCH" | "DELETE", ["channels", _, "messages", _])
        | ("PUT" | "DELETE", ["channels", _, "messages", _, "reactions", _, "@me"])
        | ("GET", ["channels", _])
        | ("POST", ["channels", _, "typing"])
        | ("GET", ["guilds", _] | ["guilds", _, "roles"] | ["guilds", _, "channels"])
        | ("GET", ["guilds", _, "members", _])
        | ("POST", ["users", "@me", "channels"]) => Handled,
        _ => Unhandled,
    }
}

fn answer(
    shared: &Shared,
    state: &mut State,
    method: &str,
    route: &str,
    query: Option<&str>,
    body: Option<&Value>,
    files: &[String],
) -> Reply {
    let config = &shared.config;
    let segments: Vec<&str> = route.trim_matches('/').split('/').collect();
    let id = |s: &str| s.parse::<u64>().ok();
    let app_ok = |s: &str| id(s) == Some(config.application_id);
    match (method, segments.as_slice()) {
        ("GET", ["gateway"]) => Reply::ok(json!({"url": shared.gateway_url})),
        ("GET", ["gateway", "bot"]) => Reply::ok(json!({
            "url": shared.gateway_url,
            "shards": config.shards,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 14_400_000,
                "max_concurrency": 1,
            },
        })),
        ("GET", ["users", "@me"]) => {
            Reply::ok(fixtures::current_user(config.bot.id, &config.bot.name))
        }
        ("GET", ["users", user]) => match id(user) {
            Some(user_id) => Reply::ok(known_user(shared, user_id).to_json()),
            None => Reply::error(404, 10013, "Unknown User"),
        },
        ("GET", ["oauth2", "applications", "@me"] | ["applications", "@me"]) => Reply::ok(
            fixtures::application_info(config.application_id, &config.bot, &config.owner),
        ),
        (_, ["applications", app, ..]) if !app_ok(app) => {
            Reply::error(403, 50001, "Missing Access")
        }
        (_, ["applications", _, "commands", rest @ ..]) => {
            commands(state, config, method, None, rest, body)
        }
        (_, ["applications", _, "guilds", guild, "commands", rest @ ..]) => match id(guild) {
            Some(guild_id) if shared.guild(guild_id).is_some() => {
                commands(state, config, method, Some(guild_id), rest, body)
            }
            _ => Reply::error(403, 50001, "Missing Access"),
        },
        ("POST", ["interactions", interaction_id, token, "callback"]) => {
            interaction_callback(state, config, interaction_id, token, body)
        }
        ("POST", ["webhooks", app, token]) if app_ok(app) => {
            followup(state, config, token, body, files)
        }
        (_, ["webhooks", app, token, "messages", which]) if app_ok(app) => {
            webhook_message(state, method, token, which, body, files)
        }
        ("POST", ["channels", channel, "messages"]) => match id(channel) {
            Some(channel_id) => {
                let message_id = fixtures::snowflake();
                let mut fixture =
                    MessageFixture::new(message_id, channel_id, config.bot.clone(), "");
                fill_message(&mut fixture, body, files);
                if let Some(reference) = body.and_then(|b| b.get("message_reference")) {
                    fixture.kind = 19;
                    let mut message = fixtures::message(&fixture);
                    message["message_reference"] = reference.clone();
                    if let Some(referenced) = snowflake_field(reference, "message_id")
                        .and_then(|m| state.messages.get(&m))
                    {
                        message["referenced_message"] = referenced.clone();
                    }
                    state.messages.insert(message_id, message.clone());
                    return Reply::ok(message);
                }
                let message = fixtures::message(&fixture);
                state.messages.insert(message_id, message.clone());
                Reply::ok(message)
            }
            None => Reply::error(404, 10003, "Unknown Channel"),
        },
        ("GET", ["channels", _, "messages"]) => Reply::ok(json!([])),
        (_, ["channels", _, "messages", message]) => {
            match id(message).filter(|m| state.messages.contains_key(m)) {
                Some(message_id) => match method {
                    "GET" => Reply::ok(state.messages[&message_id].clone()),
                    "PATCH" => Reply::ok(edit_message(state, message_id, body, files)),
                    "DELETE" => {
                        state.messages.remove(&message_id);
                        Reply::no_content()
                    }
                    _ => Reply::not_found(),
                },
                None => Reply::error(404, 10008, "Unknown Message"),
            }
        }
        ("PUT" | "DELETE", ["channels", _, "messages", _, "reactions", _, "@me"]) => {
            Reply::no_content()
        }
        ("POST", ["channels", _, "typing"]) => Reply::no_content(),
        ("GET", ["channels", channel]) => {
            let channel_id = id(channel).unwrap_or(0);
            let in_guild = config.guilds.iter().find_map(|g| {
                g.channel_objects()
                    .into_iter()
                    .chain(g.thread_objects())
                    .find(|c| snowflake_field(c, "id") == Some(channel_id))
            });
            let dm = state
                .dm_channels
                .iter()
                .find(|(_, c)| **c == channel_id)
                .map(|(user, c)| fixtures::dm_channel(*c, &known_user(shared, *user)));
            match in_guild.or(dm) {
                Some(channel) => Reply::ok(channel),
                None => Reply::error(404, 10003, "Unknown Channel"),
            }
        }
        ("GET", ["guilds", guild, rest @ ..]) => {
            let Some(guild) = id(guild).and_then(|g| shared.guild(g)) else {
                return Reply::error(404, 10004, "Unknown Guild");
            };
            match rest {
                [] => {
                    let mut object = fixtures::partial_guild(guild);
                    if query.is_some_and(|q| q.contains("with_counts=true")) {
                        let count = guild.members.len() + 1;
                        object["approximate_member_count"] = json!(count);
                        object["approximate_presence_count"] = json!(count);
                    }
                    Reply::ok(object)
                }
                ["roles"] => Reply::ok(json!(guild.role_objects())),
                ["channels"] => Reply::ok(json!(guild.channel_objects())),
                ["members", user] => {
                    match id(user).and_then(|u| guild.member_object(u, &config.bot)) {
                        Some(member) => Reply::ok(member),
                        None => Reply::error(404, 10007, "Unknown Member"),
                    }
                }
                _ => Reply::not_found(),
            }
        }
        ("POST", ["users", "@me", "channels"]) => {
            let Some(recipient) = body.and_then(|b| snowflake_field(b, "recipient_id")) else {
                return Reply::error(400, 50035, "Invalid Form Body");
            };
            let channel_id = *state
                .dm_channels
                .entry(recipient)
                .or_insert_with(fixtures::snowflake);
            Reply::ok(fixtures::dm_channel(
                channel_id,
                &known_user(shared, recipient),
            ))
        }
        _ => Reply::not_found(),
    }
}

/// A user the fake knows from its guilds, or a made-up one.
fn known_user(shared: &Shared, user_id: u64) -> UserFixture {
    let config = &shared.config;
    if user_id == config.bot.id {
        return config.bot.clone();
    }
    if user_id == config.owner.id {
        return config.owner.clone();
    }
    config
        .guilds
        .iter()
        .flat_map(|g| &g.members)
        .find(|m| m.user.id == user_id)
        .map(|m| m.user.clone())
        .unwrap_or_else(|| UserFixture::human(user_id, &format!("user{user_id}")))
}

/// GET, PUT (bulk overwrite) and POST on a command list; GET, PATCH and DELETE on one command.
fn commands(
    state: &mut State,
    config: &FakeConfig,
    method: &str,
    guild_id: Option<u64>,
    rest: &[&str],
    body: Option<&Value>,
) -> Reply {
    let existing = state.commands.entry(guild_id).or_default();
    let echo = |command: &Value, existing: &[Value]| {
        let name = command
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let id = existing
            .iter()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|c| c.get("id").cloned())
            .unwrap_or_else(|| json!(fixtures::snowflake().to_string()));
        let mut echoed = json!({
            "id": id,
            "application_id": config.application_id.to_string(),
            "version": fixtures::snowflake().to_string(),
            "type": 1,
            "name": name,
            "name_localizations": null,
            "description": "",
            "description_localizations": null,
            "options": [],
            "default_member_permissions": null,
            "dm_permission": true,
            "nsfw": false,
            "integration_types": [0],
            "contexts": null,
        });
        if let Some(guild_id) = guild_id {
            echoed["guild_id"] = json!(guild_id.to_string());
        }
        if let Some(fields) = command.as_object() {
            for (key, value) in fields {
                if key != "id" {
                    echoed[key.as_str()] = value.clone();
                }
            }
        }
        echoed
    };
    match (method, rest) {
        ("GET", []) => Reply::ok(json!(existing)),
        ("PUT", []) => {
            let Some(list) = body.and_then(Value::as_array) else {
                return Reply::error(400, 50035, "Invalid Form Body");
            };
            let echoed: Vec<Value> = list.iter().map(|c| echo(c, existing)).collect();
            *existing = echoed.clone();
            Reply::ok(json!(echoed))
        }
        ("POST", []) => {
            let Some(command) = body else {
                return Reply::error(400, 50035, "Invalid Form Body");
            };
            let echoed = echo(command, existing);
            let name = echoed["name"].clone();
            let replaced = existing.iter().any(|c| c["name"] == name);
            existing.retain(|c| c["name"] != name);
            existing.push(echoed.clone());
            Reply {
                status: if replaced { 200 } else { 201 },
                body: Some(echoed),
            }
        }
        (_, [command_id]) => {
            let Some(index) = existing
                .iter()
                .position(|c| c["id"].as_str() == Some(command_id))
            else {
                return Reply::error(404, 10063, "Unknown application command");
            };
            match method {
                "GET" => Reply::ok(existing[index].clone()),
                "PATCH" => {
                    if let Some(fields) = body.and_then(Value::as_object) {
                        for (key, value) in fields {
                            existing[index][key.as_str()] = value.clone();
                        }
                    }
                    Reply::ok(existing[index].clone())
                }
                "DELETE" => {
                    existing.remove(index);
                    Reply::no_content()
                }
                _ => Reply::not_found(),
            }
        }
        _ => Reply::not_found(),
    }
}

/// Content, embeds, components, flags and attachments of a message body.
fn fill_message(fixture: &mut MessageFixture, body: Option<&Value>, files: &[String]) {
    let Some(body) = body else {
        return;
    };
    if let Some(content) = body.get("content").and_then(Value::as_str) {
        fixture.content = content.to_string();
    }
    if let Some(embeds) = body.get("embeds").and_then(Value::as_array) {
        fixture.embeds = embeds.iter().map(received_embed).collect();
    }
    if let Some(components) = body.get("components").and_then(Value::as_array) {
        fixture.components = components.clone();
    }
    if let Some(flags) = body.get("flags").and_then(Value::as_u64) {
        fixture.flags = flags;
    }
    fixture.attachments = files
        .iter()
        .map(|name| {
            let id = fixtures::snowflake();
            let url = format!(
                "https://cdn.discordapp.com/attachments/{}/{id}/{name}",
                fixture.channel_id
            );
            json!({"id": id.to_string(), "filename": name, "size": 0, "url": url, "proxy_url": url})
        })
        .collect();
}

/// An embed as Discord stores it: typed "rich", its fields explicit about `inline`.
fn received_embed(embed: &Value) -> Value {
    let mut embed = embed.clone();
    if let Some(object) = embed.as_object_mut() {
        object.entry("type").or_insert(json!("rich"));
        if let Some(fields) = object.get_mut("fields").and_then(Value::as_array_mut) {
            for field in fields {
                if field.get("inline").is_none() {
                    field["inline"] = json!(false);
                }
            }
        }
    }
    embed
}

fn edit_message(
    state: &mut State,
    message_id: u64,
    body: Option<&Value>,
    files: &[String],
) -> Value {
    let message = state
        .messages
        .entry(message_id)
        .or_insert_with(|| json!({}));
    if let Some(body) = body {
        for key in ["content", "components"] {
            if let Some(value) = body.get(key) {
                message[key] = value.clone();
            }
        }
        if let Some(embeds) = body.get("embeds").and_then(Value::as_array) {
            message["embeds"] = json!(embeds.iter().map(received_embed).collect::<Vec<_>>());
        }
        if let Some(flags) = body.get("flags").and_then(Value::as_u64) {
            message["flags"] = json!(flags);
        }
    }
    if !files.is_empty() {
        message["attachments"] = json!(files
            .iter()
            .map(|name| {
                let url = format!("https://cdn.discordapp.com/attachments/0/0/{name}");
                json!({"id": fixtures::snowflake().to_string(), "filename": name, "size": 0,
                       "url": url, "proxy_url": url})
            })
            .collect::<Vec<_>>());
    }
    // An edited deferral stops "thinking".
    let flags = message["flags"].as_u64().unwrap_or(0) & !LOADING;
    message["flags"] = json!(flags);
    message["edited_timestamp"] = json!(fixtures::timestamp_now());
    message.clone()
}

/// A message sent through an interaction's webhook: the original response or a follow-up.
fn interaction_message(
    config: &FakeConfig,
    interaction: Option<&DispatchedInteraction>,
    body: Option<&Value>,
    files: &[String],
) -> (u64, Value) {
    let message_id = fixtures::snowflake();
    // An interaction the fake never dispatched (a test calling serenity directly) gets the first
    // configured channel: serenity refuses a zero id.
    let fallback_channel = config
        .guilds
        .iter()
        .flat_map(|g| &g.channels)
        .map(|c| c.id)
        .next()
        .unwrap_or(1);
    let channel_id = interaction
        .map(|i| i.channel_id)
        .filter(|c| *c != 0)
        .unwrap_or(fallback_channel);
    let mut fixture = MessageFixture::new(message_id, channel_id, config.bot.clone(), "");
    fixture.kind = 20;
    fixture.webhook_id = Some(config.application_id);
    fixture.application_id = Some(config.application_id);
    if let Some(interaction) = interaction {
        let owners = match interaction.guild_id {
            Some(guild_id) => json!({"0": guild_id.to_string()}),
            None => json!({"0": "0"}),
        };
        fixture.interaction_metadata = Some(json!({
            "id": interaction.id.to_string(),
            "type": interaction.kind,
            "user": interaction.user,
            "authorizing_integration_owners": owners,
            "original_response_message_id": message_id.to_string(),
        }));
        if let (Some(metadata), Some(clicked)) =
            (&mut fixture.interaction_metadata, interaction.message_id)
        {
            metadata["interacted_message_id"] = json!(clicked.to_string());
        }
    }
    fill_message(&mut fixture, body, files);
    (message_id, fixtures::message(&fixture))
}

fn interaction_callback(
    state: &mut State,
    config: &FakeConfig,
    interaction_id: &str,
    token: &str,
    body: Option<&Value>,
) -> Reply {
    let kind = body.and_then(|b| b.get("type")).and_then(Value::as_u64);
    if let Some(interaction) = state.interactions.get_mut(token) {
        let waited = interaction.dispatched_at.elapsed();
        if interaction.id.to_string() != interaction_id {
            state.protocol_violations.push(format!(
                "callback for interaction {interaction_id} used the token of interaction {}",
                interaction.id
            ));
            return Reply::error(404, 10062, "Unknown interaction");
        }
        if waited > INTERACTION_DEADLINE {
            state.protocol_violations.push(format!(
                "interaction {interaction_id} answered after {waited:?}; Discord allows \
                 {INTERACTION_DEADLINE:?} (defer first when an answer may be slow)"
            ));
            return Reply::error(404, 10062, "Unknown interaction");
        }
        if interaction.acknowledged {
            state.protocol_violations.push(format!(
                "interaction {interaction_id} answered twice (edit the original or send a \
                 follow-up instead)"
            ));
            return Reply::error(400, 40060, "Interaction has already been acknowledged.");
        }
        interaction.acknowledged = true;
    }
    let interaction = state.interactions.get(token).cloned();
    let data = body.and_then(|b| b.get("data"));
    match kind {
        // A message (4) or "thinking…" until an edit (5).
        Some(4 | 5) => {
            let (message_id, mut message) =
                interaction_message(config, interaction.as_ref(), data, &[]);
            if kind == Some(5) {
                let ephemeral = data
                    .and_then(|d| d.get("flags"))
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
                    & EPHEMERAL;
                message["flags"] = json!(LOADING | ephemeral);
            }
            state.messages.insert(message_id, message);
            state.originals.insert(token.to_string(), message_id);
        }
        // Update the message a component sits on.
        Some(7) => {
            if let Some(message_id) = interaction.as_ref().and_then(|i| i.message_id) {
                edit_message(state, message_id, data, &[]);
                state.originals.insert(token.to_string(), message_id);
            }
        }
        Some(6) => {
            if let Some(message_id) = interaction.as_ref().and_then(|i| i.message_id) {
                state.originals.insert(token.to_string(), message_id);
            }
        }
        // A modal: Discord shows it to the user and sends its contents back as a MODAL_SUBMIT
        // (type 5) interaction. A modal submit or an autocomplete cannot open another modal,
        // and a modal needs at least one text input.
        Some(9) => {
            if let Some(i) = &interaction {
                if matches!(i.kind, 4 | 5) {
                    state.protocol_violations.push(format!(
                        "interaction {interaction_id} (type {}) answered with a modal; Discord \
                         allows modals only for commands and components",
                        i.kind
                    ));
                    return Reply::error(400, 50035, "Invalid Form Body");
                }
            }
            let inputs = data
                .and_then(|d| d.get("components"))
                .and_then(Value::as_array)
                .map_or(0, |rows| {
                    rows.iter()
                        .flat_map(|r| {
                            r.get("components")
                                .and_then(Value::as_array)
                                .cloned()
                                .unwrap_or_default()
                        })
                        .filter(|c| c.get("type").and_then(Value::as_u64) == Some(4))
                        .count()
                });
            if inputs == 0 {
                state.protocol_violations.push(format!(
                    "the modal for interaction {interaction_id} has no text input"
                ));
            }
            if let Some(data) = data {
                state.modals.insert(token.to_string(), data.clone());
            }
        }
        _ => {}
    }
    Reply::no_content()
}

fn followup(
    state: &mut State,
    config: &FakeConfig,
    token: &str,
    body: Option<&Value>,
    files: &[String],
) -> Reply {
    let interaction = state.interactions.get(token).cloned();
    if let Some(interaction) = &interaction {
        if !interaction.acknowledged {
            state.protocol_violations.push(format!(
                "follow-up to interaction {} before any answer to it (answer or defer first)",
                interaction.id
            ));
            return Reply::error(404, 10015, "Unknown Webhook");
        }
    }
    let (message_id, message) = interaction_message(config, interaction.as_ref(), body, files);
    state.messages.insert(message_id, message.clone());
    Reply::ok(message)
}

fn webhook_message(
    state: &mut State,
    method: &str,
    token: &str,
    which: &str,
    body: Option<&Value>,
    files: &[String],
) -> Reply {
    let message_id = if which == "@original" {
        state.originals.get(token).copied()
    } else {
        which
            .parse::<u64>()
            .ok()
            .filter(|m| state.messages.contains_key(m))
    };
    let Some(message_id) = message_id else {
        if which == "@original" && method == "PATCH" {
            if let Some(interaction) = state.interactions.get(token) {
                state.protocol_violations.push(format!(
                    "edit of the original response to interaction {} before any answer to it",
                    interaction.id
                ));
            }
        }
        return Reply::error(404, 10008, "Unknown Message");
    };
    match method {
        "GET" => Reply::ok(state.messages[&message_id].clone()),
        "PATCH" => Reply::ok(edit_message(state, message_id, body, files)),
        "DELETE" => {
            state.messages.remove(&message_id);
            if which == "@original" {
                state.originals.remove(token);
            }
            Reply::no_content()
        }
        _ => Reply::not_found(),
    }
}

// ---- gateway ----

async fn serve_gateway(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let task = tokio::spawn(gateway_connection(Arc::clone(&shared), stream));
        shared.track(task.abort_handle());
    }
}

// The handshake callback's error type is tungstenite's, not ours to shrink.
#[allow(clippy::result_large_err)]
async fn gateway_connection(shared: Arc<Shared>, stream: TcpStream) {
    let query = Arc::new(Mutex::new(None));
    let seen_query = Arc::clone(&query);
    let callback =
        move |request: &WsRequest, response: WsResponse| -> Result<WsResponse, ErrorResponse> {
            *seen_query.lock().expect("query") = request.uri().query().map(str::to_string);
            Ok(response)
        };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let connection = {
        let mut state = shared.state();
        state.next_connection += 1;
        state.connections.push(GatewayConnection {
            query: query.lock().expect("query").clone(),
            opened_at: Instant::now(),
        });
        state.next_connection
    };
    shared.bump();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let hello = json!({
        "op": 10,
        "d": {"heartbeat_interval": shared.config.heartbeat_interval.as_millis() as u64},
        "s": null,
        "t": null,
    });
    if ws.send(Message::Text(hello.to_string())).await.is_err() {
        return;
    }
    let mut gateway = Connection {
        shared: &shared,
        id: connection,
        tx,
        shard: None,
    };
    loop {
        tokio::select! {
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Text(text))) => gateway.receive(&text),
                Some(Ok(Message::Binary(_))) => {
                    gateway.violation("the bot sent a binary gateway frame; Discord expects JSON text");
                    gateway.close(4002, "Error while decoding payload.");
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {},
            },
            outgoing = rx.recv() => match outgoing {
                Some(Outgoing::Text(text)) => {
                    if ws.send(Message::Text(text)).await.is_err() {
                        break;
                    }
                },
                Some(Outgoing::Close(code, reason)) => {
                    let frame = CloseFrame { code: CloseCode::from(code), reason: reason.into() };
                    let _ = ws.send(Message::Close(Some(frame))).await;
                    // Let the bot answer the close before the socket goes.
                    let _ = tokio::time::timeout(Duration::from_secs(1), async {
                        while let Some(Ok(_)) = ws.next().await {}
                    })
                    .await;
                    break;
                },
                Some(Outgoing::Abort) => {
                    let _ = ws.get_ref().set_zero_linger();
                    drop(ws);
                    gateway.detach();
                    return;
                },
                None => break,
            },
        }
    }
    gateway.detach();
}

/// One gateway connection's side of the conversation.
struct Connection<'a> {
    shared: &'a Shared,
    id: u64,
    tx: mpsc::UnboundedSender<Outgoing>,
    /// Set once IDENTIFY or RESUME has tied the connection to a session.
    shard: Option<u32>,
}

impl Connection<'_> {
    fn send(&self, frame: Value) {
        let _ = self.tx.send(Outgoing::Text(frame.to_string()));
    }

    fn close(&self, code: u16, reason: &str) {
        let _ = self.tx.send(Outgoing::Close(code, reason.into()));
    }

    fn violation(&self, text: &str) {
        self.shared
            .state()
            .protocol_violations
            .push(format!("gateway: {text}"));
        self.shared.bump();
    }

    fn token_ok(&self, given: Option<&str>) -> bool {
        // serenity sends the HTTP form "Bot <token>"; Discord accepts both.
        let given = given.unwrap_or_default();
        given.strip_prefix("Bot ").unwrap_or(given) == self.shared.config.token
    }

    fn receive(&mut self, text: &str) {
        let Ok(frame) = serde_json::from_str::<Value>(text) else {
            self.violation("a gateway frame that is not JSON");
            self.close(4002, "Error while decoding payload.");
            return;
        };
        let mut recorded = frame.clone();
        if recorded.pointer("/d/token").is_some() {
            recorded["d"]["token"] = json!("<redacted>");
        }
        self.shared.state().received_frames.push(recorded.clone());
        let op = frame.get("op").and_then(Value::as_u64);
        let d = frame.get("d").cloned().unwrap_or(Value::Null);
        match op {
            Some(1) => {
                let ack = {
                    let mut state = self.shared.state();
                    state.heartbeats.push(Instant::now());
                    let withhold = state.unacked_heartbeats > 0;
                    state.unacked_heartbeats = state.unacked_heartbeats.saturating_sub(1);
                    !withhold
                };
                if ack {
                    self.send(json!({"op": 11, "d": null, "s": null, "t": null}));
                }
            }
            Some(2) => self.identify(&d, recorded["d"].clone()),
            Some(6) => self.resume(&d, recorded["d"].clone()),
            // Presence, voice state and member requests: accepted and recorded.
            Some(3 | 4 | 8 | 31) if self.shard.is_some() => {}
            Some(3 | 4 | 8 | 31) => self.close(4003, "Not authenticated."),
            _ => {
                self.violation(&format!("unknown gateway opcode in {recorded}"));
                self.close(4001, "Unknown opcode.");
            }
        }
        self.shared.bump();
    }

    fn identify(&mut self, d: &Value, redacted: Value) {
        let config = &self.shared.config;
        let token_ok = self.token_ok(d.get("token").and_then(Value::as_str));
        let intents = d.get("intents").and_then(Value::as_u64).unwrap_or(0);
        let shard = d
            .get("shard")
            .and_then(Value::as_array)
            .and_then(|s| Some([s.first()?.as_u64()? as u32, s.get(1)?.as_u64()? as u32]));
        self.shared.state().identifies.push(Identify {
            shard,
            intents,
            token_ok,
            payload: redacted,
            at: Instant::now(),
        });
        if !token_ok {
            self.violation("IDENTIFY with a different token");
            self.close(4004, "Authentication failed.");
            return;
        }
        if self.shard.is_some() {
            self.close(4005, "Already authenticated.");
            return;
        }
        let [shard_id, shard_count] = shard.unwrap_or([0, 1]);
        if shard_count == 0 || shard_id >= shard_count {
            self.close(4010, "Invalid shard.");
            return;
        }
        let disallowed = intents & PRIVILEGED_INTENTS & !config.allowed_privileged_intents;
        if disallowed != 0 {
            self.violation(&format!(
                "IDENTIFY asked for privileged intents {disallowed:#x} the application lacks"
            ));
            self.close(4014, "Disallowed intent(s).");
            return;
        }
        let session_id = format!(
            "{:016x}{:016x}",
            fixtures::snowflake(),
            fixtures::snowflake().rotate_left(17)
        );
        let bot = &config.bot;
        let guilds: Vec<&GuildFixture> = config
            .guilds
            .iter()
            .filter(|g| (g.id >> 22) % u64::from(shard_count) == u64::from(shard_id))
            .collect();
        let mut ready = json!({
            "v": 10,
            "user": fixtures::current_user(bot.id, &bot.name),
            "user_settings": {},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "guilds": guilds.iter().map(|g| json!({"id": g.id.to_string(), "unavailable": true})).collect::<Vec<_>>(),
            "session_id": session_id,
            "session_type": "normal",
            "resume_gateway_url": self.shared.gateway_url,
            "application": {"id": config.application_id.to_string(), "flags": 0},
            "geo_ordered_rtc_regions": ["london", "rotterdam"],
            "auth": {},
            "_trace": ["[\"fake-discord\",{\"micros\":0}]"],
        });
        if shard.is_some() {
            ready["shard"] = json!([shard_id, shard_count]);
        }
        let mut session = Session {
            id: session_id,
            shard: [shard_id, shard_count],
            seq: 0,
            sent: Vec::new(),
            live: Some(Live {
                connection: self.id,
                tx: self.tx.clone(),
            }),
        };
        session.push("READY", ready);
        for guild in guilds {
            session.push("GUILD_CREATE", fixtures::guild_create(guild, bot));
        }
        let mut state = self.shared.state();
        if let Some(old) = state.sessions.insert(shard_id, session) {
            if let Some(live) = old.live.filter(|l| l.connection != self.id) {
                let _ = live
                    .tx
                    .send(Outgoing::Close(4000, "Session replaced.".into()));
            }
        }
        self.shard = Some(shard_id);
    }

    fn resume(&mut self, d: &Value, redacted: Value) {
        if !self.token_ok(d.get("token").and_then(Value::as_str)) {
            self.violation("RESUME with a different token");
            self.close(4004, "Authentication failed.");
            return;
        }
        let session_id = d
            .get("session_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let after = d.get("seq").and_then(Value::as_u64).unwrap_or(0);
        let mut state = self.shared.state();
        state.resumes.push(redacted);
        let Some((shard, session)) = state.sessions.iter_mut().find(|(_, s)| s.id == session_id)
        else {
            drop(state);
            // Not resumable: the bot must identify afresh.
            self.send(json!({"op": 9, "d": false, "s": null, "t": null}));
            return;
        };
        if let Some(old) = session.live.take() {
            if old.connection != self.id {
                let _ = old
                    .tx
                    .send(Outgoing::Close(4000, "Session resumed elsewhere.".into()));
            }
        }
        for (seq, frame) in &session.sent {
            if *seq > after {
                let _ = self.tx.send(Outgoing::Text(frame.clone()));
            }
        }
        session.live = Some(Live {
            connection: self.id,
            tx: self.tx.clone(),
        });
        session.push(
            "RESUMED",
            json!({"_trace": ["[\"fake-discord\",{\"micros\":0}]"]}),
        );
        self.shard = Some(*shard);
    }

    /// The connection is gone: its session (if any) waits for a RESUME.
    fn detach(&self) {
        let mut state = self.shared.state();
        for session in state.sessions.values_mut() {
            if session
                .live
                .as_ref()
                .is_some_and(|l| l.connection == self.id)
            {
                session.live = None;
            }
        }
        drop(state);
        self.shared.bump();
    }
}
