//! Realistic Discord payloads (gateway events and REST objects) as `serde_json::Value`, shaped after
//! what Discord sends today and checked in `fake_selftest` against serenity 0.12.5's model structs.

// A support library: each end-to-end test uses a different part of it.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// The bot's application id; a modern bot's user id is the same number.
pub const APP_ID: u64 = 1_180_000_000_000_000_001;
pub const BOT_ID: u64 = APP_ID;
pub const BOT_NAME: &str = "npq-bot";
pub const GUILD_ID: u64 = 1_180_000_000_000_000_100;
pub const CHANNEL_ID: u64 = 1_180_000_000_000_000_200;
/// A public thread in `CHANNEL_ID`.
pub const THREAD_ID: u64 = 1_180_000_000_000_000_201;
pub const OWNER_ID: u64 = 1_180_000_000_000_000_300;
pub const USER_ID: u64 = 1_180_000_000_000_000_301;
pub const USER_NAME: &str = "ateacher";
/// A role a guild may give to the people allowed to use staff-only commands.
pub const STAFF_ROLE_ID: u64 = 1_180_000_000_000_000_400;

/// Permissions of an ordinary member with no special role (what Discord puts in
/// `member.permissions` for @everyone on a fresh server).
pub const MEMBER_PERMISSIONS: &str = "2248473465835073";
/// Permissions an administrator's interactions carry (ADMINISTRATOR and everything else).
pub const ADMIN_PERMISSIONS: &str = "2251799813685247";
/// What the bot is allowed to do in the channel (`app_permissions`): view, send, embed, read
/// history, use external emojis, add reactions, use application commands.
pub const BOT_PERMISSIONS: &str = "2147798080";
/// Discord's current upload limit for an unboosted guild, sent in every interaction.
pub const ATTACHMENT_SIZE_LIMIT: u64 = 10_485_760;

const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// A fresh, increasing snowflake stamped with the current time, like the ids Discord hands out.
pub fn snowflake() -> u64 {
    static INCREMENT: AtomicU64 = AtomicU64::new(0);
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64;
    let increment = INCREMENT.fetch_add(1, Ordering::Relaxed) & 0xfff;
    snowflake_at(ms, increment)
}

/// The snowflake for a Unix time in milliseconds with the given 12-bit increment.
pub fn snowflake_at(unix_ms: u64, increment: u64) -> u64 {
    ((unix_ms - DISCORD_EPOCH_MS) << 22) | (1 << 17) | (increment & 0xfff)
}

/// The Unix time in milliseconds a snowflake was made at.
pub fn snowflake_unix_ms(id: u64) -> u64 {
    (id >> 22) + DISCORD_EPOCH_MS
}

/// A stable id for a command name, so an interaction built here names the same command id every
/// time (the fake echoes registered commands with ids of its own; the framework matches by name).
pub fn command_id(name: &str) -> u64 {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    snowflake_at(1_700_000_000_000, hash)
}

/// Now, as the ISO 8601 text Discord uses for timestamps.
pub fn timestamp_now() -> String {
    discord_style(&serenity::model::Timestamp::now().to_string())
}

/// Who did something: enough to build a user object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserFixture {
    pub id: u64,
    pub name: String,
    pub bot: bool,
}

impl UserFixture {
    pub fn human(id: u64, name: &str) -> Self {
        Self {
            id,
            name: name.to_string(),
            bot: false,
        }
    }

    pub fn bot(id: u64, name: &str) -> Self {
        Self {
            id,
            name: name.to_string(),
            bot: true,
        }
    }

    /// The user object Discord sends for this user.
    pub fn to_json(&self) -> Value {
        user(self.id, &self.name, self.bot)
    }
}

impl From<(u64, &str)> for UserFixture {
    fn from((id, name): (u64, &str)) -> Self {
        Self::human(id, name)
    }
}

impl From<&UserFixture> for UserFixture {
    fn from(user: &UserFixture) -> Self {
        user.clone()
    }
}

/// A user object as Discord sends it today (pomelo usernames: discriminator "0").
pub fn user(id: u64, name: &str, bot: bool) -> Value {
    json!({
        "id": id.to_string(),
        "username": name,
        "discriminator": "0",
        "global_name": if bot { Value::Null } else { json!(capitalise(name)) },
        "avatar": null,
        "avatar_decoration_data": null,
        "banner": null,
        "accent_color": null,
        "bot": bot,
        "system": false,
        "public_flags": 0,
        "flags": 0,
        "primary_guild": null,
        "collectibles": null,
    })
}

/// The bot's own user object as GET /users/@me answers it.
pub fn current_user(id: u64, name: &str) -> Value {
    let mut user = user(id, name, true);
    let object = user.as_object_mut().expect("user is an object");
    object.insert("verified".into(), json!(true));
    object.insert("mfa_enabled".into(), json!(false));
    object.insert("email".into(), Value::Null);
    object.insert("locale".into(), json!("en-US"));
    object.insert("premium_type".into(), json!(0));
    user
}

fn capitalise(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A role in a guild.
#[derive(Clone, Debug)]
pub struct RoleFixture {
    pub id: u64,
    pub name: String,
    pub permissions: String,
    pub position: u16,
}

/// A guild member.
#[derive(Clone, Debug)]
pub struct MemberFixture {
    pub user: UserFixture,
    pub roles: Vec<u64>,
}

/// A guild text channel.
#[derive(Clone, Debug)]
pub struct ChannelFixture {
    pub id: u64,
    pub name: String,
    /// For a public thread, the channel it is in.
    pub thread_of: Option<u64>,
}

/// Everything the fake needs to describe a guild in GUILD_CREATE and the REST answers about it.
#[derive(Clone, Debug)]
pub struct GuildFixture {
    pub id: u64,
    pub name: String,
    pub owner_id: u64,
    /// Besides @everyone, whose id is the guild's and which is always there.
    pub roles: Vec<RoleFixture>,
    pub channels: Vec<ChannelFixture>,
    /// Besides the bot, which is always a member.
    pub members: Vec<MemberFixture>,
    pub joined_at: String,
}

impl GuildFixture {
    /// The guild most tests use: an owner, one teacher, a staff role and one text channel.
    pub fn npq_staff_room() -> Self {
        Self {
            id: GUILD_ID,
            name: "NPQ staff room".into(),
            owner_id: OWNER_ID,
            roles: vec![RoleFixture {
                id: STAFF_ROLE_ID,
                name: "NPQ lead".into(),
                permissions: MEMBER_PERMISSIONS.into(),
                position: 1,
            }],
            channels: vec![
                ChannelFixture {
                    id: CHANNEL_ID,
                    name: "npq-questions".into(),
                    thread_of: None,
                },
                ChannelFixture {
                    id: THREAD_ID,
                    name: "NPQH cohort 2026".into(),
                    thread_of: Some(CHANNEL_ID),
                },
            ],
            members: vec![
                MemberFixture {
                    user: UserFixture::human(OWNER_ID, "headteacher"),
                    roles: vec![STAFF_ROLE_ID],
                },
                MemberFixture {
                    user: UserFixture::human(USER_ID, USER_NAME),
                    roles: vec![],
                },
            ],
            joined_at: "2025-09-01T08:00:00.000000+00:00".into(),
        }
    }

    /// An empty guild with only @everyone, one channel named "general", the owner and the bot.
    pub fn new(id: u64, name: &str, owner_id: u64, channel_id: u64) -> Self {
        Self {
            id,
            name: name.into(),
            owner_id,
            roles: vec![],
            channels: vec![ChannelFixture {
                id: channel_id,
                name: "general".into(),
                thread_of: None,
            }],
            members: vec![MemberFixture {
                user: UserFixture::human(owner_id, "owner"),
                roles: vec![],
            }],
            joined_at: "2025-09-01T08:00:00.000000+00:00".into(),
        }
    }

    pub fn has_channel(&self, channel_id: u64) -> bool {
        self.channels.iter().any(|c| c.id == channel_id)
    }

    /// Every role object, @everyone first.
    pub fn role_objects(&self) -> Vec<Value> {
        let mut roles = vec![role(self.id, "@everyone", MEMBER_PERMISSIONS, 0)];
        roles.extend(
            self.roles
                .iter()
                .map(|r| role(r.id, &r.name, &r.permissions, r.position)),
        );
        roles
    }

    /// Every member object, the bot included.
    pub fn member_objects(&self, bot: &UserFixture) -> Vec<Value> {
        let mut members: Vec<Value> = self
            .members
            .iter()
            .map(|m| member(&m.user, &m.roles, &self.joined_at, None))
            .collect();
        members.push(member(bot, &[], &self.joined_at, None));
        members
    }

    pub fn member_object(&self, user_id: u64, bot: &UserFixture) -> Option<Value> {
        if user_id == bot.id {
            return Some(member(bot, &[], &self.joined_at, None));
        }
        self.members
            .iter()
            .find(|m| m.user.id == user_id)
            .map(|m| member(&m.user, &m.roles, &self.joined_at, None))
    }

    /// The guild's channels, threads left out (GET /guilds/{id}/channels lists no threads).
    pub fn channel_objects(&self) -> Vec<Value> {
        self.channels
            .iter()
            .filter(|c| c.thread_of.is_none())
            .enumerate()
            .map(|(position, c)| guild_text_channel(c.id, self.id, &c.name, position as u16))
            .collect()
    }

    /// The guild's active threads.
    pub fn thread_objects(&self) -> Vec<Value> {
        self.channels
            .iter()
            .filter_map(|c| {
                Some(public_thread(
                    c.id,
                    self.id,
                    &c.name,
                    c.thread_of?,
                    self.owner_id,
                ))
            })
            .collect()
    }
}

/// A role object.
pub fn role(id: u64, name: &str, permissions: &str, position: u16) -> Value {
    json!({
        "id": id.to_string(),
        "name": name,
        "description": null,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
        "hoist": false,
        "icon": null,
        "unicode_emoji": null,
        "position": position,
        "permissions": permissions,
        "managed": false,
        "mentionable": false,
        "flags": 0,
    })
}

/// A guild member object (with its user), as in GUILD_CREATE and GET /guilds/{id}/members/{id}.
/// `permissions` is only present in interactions.
pub fn member(
    user: &UserFixture,
    roles: &[u64],
    joined_at: &str,
    permissions: Option<&str>,
) -> Value {
    let mut member = json!({
        "user": user.to_json(),
        "nick": null,
        "avatar": null,
        "banner": null,
        "roles": roles.iter().map(u64::to_string).collect::<Vec<_>>(),
        "joined_at": joined_at,
        "premium_since": null,
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
        "communication_disabled_until": null,
        "unusual_dm_activity_until": null,
    });
    if let Some(permissions) = permissions {
        member["permissions"] = json!(permissions);
    }
    member
}

/// A guild text channel object.
pub fn guild_text_channel(id: u64, guild_id: u64, name: &str, position: u16) -> Value {
    json!({
        "id": id.to_string(),
        "type": 0,
        "guild_id": guild_id.to_string(),
        "name": name,
        "position": position,
        "permission_overwrites": [],
        "parent_id": null,
        "topic": null,
        "nsfw": false,
        "last_message_id": null,
        "rate_limit_per_user": 0,
        "flags": 0,
        "icon_emoji": null,
        "theme_color": null,
    })
}

/// A public thread channel object (type 11) in channel `parent`.
pub fn public_thread(id: u64, guild_id: u64, name: &str, parent: u64, owner: u64) -> Value {
    json!({
        "id": id.to_string(),
        "type": 11,
        "guild_id": guild_id.to_string(),
        "name": name,
        "parent_id": parent.to_string(),
        "owner_id": owner.to_string(),
        "last_message_id": null,
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "total_message_sent": 0,
        "flags": 0,
        "thread_metadata": {
            "archived": false,
            "auto_archive_duration": 1440,
            "archive_timestamp": "2025-09-01T08:00:00.000000+00:00",
            "locked": false,
        },
    })
}

/// A DM channel object, as POST /users/@me/channels answers it.
pub fn dm_channel(id: u64, recipient: &UserFixture) -> Value {
    json!({
        "id": id.to_string(),
        "type": 1,
        "last_message_id": null,
        "flags": 0,
        "recipients": [recipient.to_json()],
    })
}

/// The partial channel an interaction carries in `channel`.
fn interaction_channel(channel_id: u64, guild_id: Option<u64>, user: &UserFixture) -> Value {
    match guild_id {
        Some(guild_id) => {
            let mut channel = guild_text_channel(channel_id, guild_id, "npq-questions", 0);
            channel["permissions"] = json!(BOT_PERMISSIONS);
            channel
        }
        None => dm_channel(channel_id, user),
    }
}

/// The full guild object of a GUILD_CREATE dispatch.
pub fn guild_create(guild: &GuildFixture, bot: &UserFixture) -> Value {
    let members = guild.member_objects(bot);
    let mut object = partial_guild(guild);
    let extra = json!({
        "joined_at": guild.joined_at,
        "large": false,
        "unavailable": false,
        "member_count": members.len(),
        "voice_states": [],
        "members": members,
        "channels": guild.channel_objects(),
        "threads": guild.thread_objects(),
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "embedded_activities": [],
        "lazy": true,
    });
    merge(&mut object, extra);
    object
}

/// The guild object GET /guilds/{id} answers.
pub fn partial_guild(guild: &GuildFixture) -> Value {
    let first_channel = guild.channels.first().map(|c| c.id.to_string());
    let mut guild_object = json!({
        "id": guild.id.to_string(),
        "name": guild.name,
        "icon": null,
        "icon_hash": null,
        "splash": null,
        "discovery_splash": null,
        "owner_id": guild.owner_id.to_string(),
        "afk_channel_id": null,
        "afk_timeout": 300,
        "widget_enabled": false,
        "widget_channel_id": null,
        "verification_level": 1,
        "default_message_notifications": 1,
        "explicit_content_filter": 2,
        "roles": guild.role_objects(),
        "emojis": [],
        "stickers": [],
        "features": [],
        "mfa_level": 0,
        "application_id": null,
        "system_channel_id": first_channel,
        "system_channel_flags": 0,
        "rules_channel_id": null,
        "max_presences": null,
        "max_members": 500000,
        "vanity_url_code": null,
        "description": null,
        "banner": null,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-GB",
        "public_updates_channel_id": null,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
    });
    // Two literals: one would pass serde_json's macro recursion limit.
    let settings = json!({
        "nsfw_level": 0,
        "nsfw": false,
        "premium_progress_bar_enabled": false,
        "safety_alerts_channel_id": null,
        "incidents_data": null,
        "region": "deprecated",
        "home_header": null,
        "hub_type": null,
        "latest_onboarding_question_id": null,
    });
    merge(&mut guild_object, settings);
    guild_object
}

/// `extra`'s fields added to the object `base`.
fn merge(base: &mut Value, extra: Value) {
    let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) else {
        return;
    };
    base.extend(extra);
}

/// The `application` object GET /oauth2/applications/@me answers.
pub fn application_info(app_id: u64, bot: &UserFixture, owner: &UserFixture) -> Value {
    json!({
        "id": app_id.to_string(),
        "name": bot.name,
        "icon": null,
        "description": "Answers staff questions about NPQs",
        "summary": "",
        "type": null,
        "hook": true,
        "bot_public": false,
        "bot_require_code_grant": false,
        "verify_key": "9c6bca7e4c9f4f0b8e3d2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d",
        "flags": 0,
        "owner": owner.to_json(),
        "team": null,
        "bot": bot.to_json(),
        "redirect_uris": [],
        "interactions_endpoint_url": null,
        "role_connections_verification_url": null,
        "tags": [],
        "approximate_guild_count": 1,
        "approximate_user_install_count": 0,
        "integration_types_config": {"0": {}},
        "is_monetized": false,
        "is_verified": false,
        "is_discoverable": false,
    })
}

/// Everything a message object needs, built into JSON by [`message`].
#[derive(Clone, Debug)]
pub struct MessageFixture {
    pub id: u64,
    pub channel_id: u64,
    /// Only gateway MESSAGE_CREATE events carry `guild_id` and `member`.
    pub guild_id: Option<u64>,
    pub author: UserFixture,
    pub content: String,
    pub mentions: Vec<UserFixture>,
    pub embeds: Vec<Value>,
    pub components: Vec<Value>,
    pub flags: u64,
    /// 0 default, 19 reply, 20 chat input command response.
    pub kind: u8,
    pub webhook_id: Option<u64>,
    pub application_id: Option<u64>,
    pub interaction_metadata: Option<Value>,
    pub attachments: Vec<Value>,
}

impl MessageFixture {
    pub fn new(id: u64, channel_id: u64, author: impl Into<UserFixture>, content: &str) -> Self {
        Self {
            id,
            channel_id,
            guild_id: None,
            author: author.into(),
            content: content.into(),
            mentions: vec![],
            embeds: vec![],
            components: vec![],
            flags: 0,
            kind: 0,
            webhook_id: None,
            application_id: None,
            interaction_metadata: None,
            attachments: vec![],
        }
    }
}

/// A message object.
pub fn message(m: &MessageFixture) -> Value {
    let mut message = json!({
        "id": m.id.to_string(),
        "channel_id": m.channel_id.to_string(),
        "author": m.author.to_json(),
        "content": m.content,
        "timestamp": timestamp_of(m.id),
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": m.mentions.iter().map(UserFixture::to_json).collect::<Vec<_>>(),
        "mention_roles": [],
        "attachments": m.attachments,
        "embeds": m.embeds,
        "pinned": false,
        "type": m.kind,
        "flags": m.flags,
        "components": m.components,
    });
    if let Some(guild_id) = m.guild_id {
        message["guild_id"] = json!(guild_id.to_string());
        message["member"] = json!({
            "roles": [],
            "joined_at": "2025-09-01T08:00:00.000000+00:00",
            "premium_since": null,
            "deaf": false,
            "mute": false,
            "flags": 0,
            "pending": false,
            "nick": null,
            "avatar": null,
            "banner": null,
            "communication_disabled_until": null,
        });
    }
    if let Some(webhook_id) = m.webhook_id {
        message["webhook_id"] = json!(webhook_id.to_string());
    }
    if let Some(application_id) = m.application_id {
        message["application_id"] = json!(application_id.to_string());
    }
    if let Some(metadata) = &m.interaction_metadata {
        message["interaction_metadata"] = metadata.clone();
    }
    message
}

/// The time a snowflake was made at, written as Discord writes timestamps.
pub fn timestamp_of(id: u64) -> String {
    let millis = snowflake_unix_ms(id) as i64;
    serenity::model::Timestamp::from_millis(millis)
        .map(|t| discord_style(&t.to_string()))
        .unwrap_or_else(|_| timestamp_now())
}

/// "2025-09-01T08:00:00.123Z" as Discord writes it: "2025-09-01T08:00:00.123000+00:00".
fn discord_style(rfc3339: &str) -> String {
    match rfc3339.strip_suffix('Z') {
        Some(millis) => format!("{millis}000+00:00"),
        None => rfc3339.to_string(),
    }
}

/// A MESSAGE_CREATE dispatch's data: someone (a person or, with `UserFixture::bot`, a bot) wrote
/// `content` in a channel, mentioning `mentions`.
pub fn message_create(
    id: u64,
    channel_id: u64,
    guild_id: Option<u64>,
    author: impl Into<UserFixture>,
    content: &str,
    mentions: Vec<UserFixture>,
) -> Value {
    let mut fixture = MessageFixture::new(id, channel_id, author, content);
    fixture.guild_id = guild_id;
    fixture.mentions = mentions;
    message(&fixture)
}

/// The message a bot sent in answer to a slash command, as a component interaction carries it in
/// `message`: type 20, sent through the interaction's webhook, with `interaction_metadata` naming
/// the person who ran the command.
pub fn interaction_reply_message(
    message_id: u64,
    channel_id: u64,
    invoking_user: impl Into<UserFixture>,
    interaction_id: u64,
    guild_id: Option<u64>,
    content: &str,
    components: Vec<Value>,
) -> Value {
    let invoking_user = invoking_user.into();
    let mut fixture = MessageFixture::new(
        message_id,
        channel_id,
        UserFixture::bot(BOT_ID, BOT_NAME),
        content,
    );
    fixture.kind = 20;
    fixture.webhook_id = Some(APP_ID);
    fixture.application_id = Some(APP_ID);
    fixture.components = components;
    fixture.interaction_metadata = Some(json!({
        "id": interaction_id.to_string(),
        "type": 2,
        "user": invoking_user.to_json(),
        "authorizing_integration_owners": owners(guild_id, &invoking_user),
        "original_response_message_id": message_id.to_string(),
        "name": "npq",
        "command_type": 1,
    }));
    message(&fixture)
}

/// An action row holding one button with `custom_id`.
pub fn button_row(custom_id: &str, label: &str) -> Value {
    json!({
        "type": 1,
        "id": 1,
        "components": [{"type": 2, "id": 2, "style": 2, "label": label, "custom_id": custom_id}],
    })
}

fn owners(guild_id: Option<u64>, user: &UserFixture) -> Value {
    match guild_id {
        Some(guild_id) => json!({"0": guild_id.to_string()}),
        // A guild-installed bot used in its DM with someone.
        None => json!({"0": "0", "1": user.id.to_string()}),
    }
}

/// Data as a command option: Discord's option type from the JSON value's type (string 3,
/// integer 4, boolean 5, number 10).
fn option(name: &str, value: &Value) -> Value {
    let kind = match value {
        Value::Bool(_) => 5,
        Value::Number(n) if n.is_i64() || n.is_u64() => 4,
        Value::Number(_) => 10,
        _ => 3,
    };
    json!({"name": name, "type": kind, "value": value})
}

/// The fields every interaction shares: who, where, the token, permissions, locale.
#[allow(clippy::too_many_arguments)]
fn interaction_base(
    kind: u8,
    interaction_id: u64,
    token: &str,
    guild_id: Option<u64>,
    channel_id: u64,
    user: &UserFixture,
    member_permissions: Option<&str>,
    member_roles: &[u64],
) -> Value {
    let mut interaction = json!({
        "id": interaction_id.to_string(),
        "application_id": APP_ID.to_string(),
        "type": kind,
        "token": token,
        "version": 1,
        "channel_id": channel_id.to_string(),
        "channel": interaction_channel(channel_id, guild_id, user),
        "app_permissions": BOT_PERMISSIONS,
        "locale": "en-GB",
        "entitlements": [],
        "entitlement_sku_ids": [],
        "authorizing_integration_owners": owners(guild_id, user),
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
    });
    match guild_id {
        Some(guild_id) => {
            interaction["guild_id"] = json!(guild_id.to_string());
            interaction["guild"] = json!({
                "id": guild_id.to_string(),
                "locale": "en-GB",
                "features": [],
            });
            interaction["guild_locale"] = json!("en-GB");
            interaction["context"] = json!(0);
            interaction["member"] = member(
                user,
                member_roles,
                "2025-09-01T08:00:00.000000+00:00",
                Some(member_permissions.unwrap_or(MEMBER_PERMISSIONS)),
            );
        }
        None => {
            interaction["context"] = json!(1);
            interaction["user"] = user.to_json();
        }
    }
    interaction
}

/// `data.options` for `/command [subcommand] name:value...`.
fn command_options(subcommand: Option<&str>, options: &[Value]) -> Vec<Value> {
    match subcommand {
        Some(subcommand) => vec![json!({"name": subcommand, "type": 1, "options": options})],
        None => options.to_vec(),
    }
}

/// An INTERACTION_CREATE of type 2: someone ran `/command_name [subcommand] option:value...`.
/// Without `guild_id` it is the DM variant (`user` instead of `member`).
#[allow(clippy::too_many_arguments)]
pub fn slash_command(
    interaction_id: u64,
    token: &str,
    guild_id: Option<u64>,
    channel_id: u64,
    user: impl Into<UserFixture>,
    member_permissions: Option<&str>,
    member_roles: Vec<u64>,
    command_name: &str,
    subcommand: Option<&str>,
    options: Vec<(&str, Value)>,
) -> Value {
    let user = user.into();
    let mut interaction = interaction_base(
        2,
        interaction_id,
        token,
        guild_id,
        channel_id,
        &user,
        member_permissions,
        &member_roles,
    );
    let options: Vec<Value> = options.iter().map(|(n, v)| option(n, v)).collect();
    interaction["data"] = json!({
        "id": command_id(command_name).to_string(),
        "name": command_name,
        "type": 1,
        "options": command_options(subcommand, &options),
    });
    interaction
}

/// The DM variant of [`slash_command`]: no guild, `user` instead of `member`.
pub fn dm_slash_command(
    interaction_id: u64,
    token: &str,
    channel_id: u64,
    user: impl Into<UserFixture>,
    command_name: &str,
    subcommand: Option<&str>,
    options: Vec<(&str, Value)>,
) -> Value {
    slash_command(
        interaction_id,
        token,
        None,
        channel_id,
        user,
        None,
        vec![],
        command_name,
        subcommand,
        options,
    )
}

/// An INTERACTION_CREATE of type 4: someone is typing into option `focused` of
/// `/command_name [subcommand]`; the other options are what they already filled in. Discord sends
/// every value of an autocomplete interaction as typed text, the focused one marked
/// `"focused": true`.
#[allow(clippy::too_many_arguments)]
pub fn autocomplete(
    interaction_id: u64,
    token: &str,
    guild_id: Option<u64>,
    channel_id: u64,
    user: impl Into<UserFixture>,
    command_name: &str,
    subcommand: Option<&str>,
    options: Vec<(&str, Value)>,
    focused: &str,
) -> Value {
    let user = user.into();
    let mut interaction = interaction_base(
        4,
        interaction_id,
        token,
        guild_id,
        channel_id,
        &user,
        None,
        &[],
    );
    let options: Vec<Value> = options
        .iter()
        .map(|(name, value)| {
            let mut option = option(name, value);
            if *name == focused {
                option["focused"] = json!(true);
                // What was typed so far is always text.
                if !value.is_string() {
                    option["value"] = json!(value.to_string());
                }
            }
            option
        })
        .collect();
    interaction["data"] = json!({
        "id": command_id(command_name).to_string(),
        "name": command_name,
        "type": 1,
        "options": command_options(subcommand, &options),
    });
    interaction
}

/// An INTERACTION_CREATE of type 3: `user` clicked the button `custom_id` on `message` (build it
/// with [`interaction_reply_message`], which names who ran the original command).
pub fn component(
    interaction_id: u64,
    token: &str,
    guild_id: Option<u64>,
    channel_id: u64,
    user: impl Into<UserFixture>,
    custom_id: &str,
    message: Value,
) -> Value {
    let user = user.into();
    let mut interaction = interaction_base(
        3,
        interaction_id,
        token,
        guild_id,
        channel_id,
        &user,
        None,
        &[],
    );
    interaction["data"] = json!({"custom_id": custom_id, "component_type": 2, "id": 2});
    interaction["message"] = message;
    interaction
}

/// [`component`] pressed by a member with `permissions` (an admin's button on an ephemeral
/// admin reply, say).
#[allow(clippy::too_many_arguments)]
pub fn component_with_permissions(
    interaction_id: u64,
    token: &str,
    guild_id: u64,
    channel_id: u64,
    user: impl Into<UserFixture>,
    permissions: &str,
    custom_id: &str,
    message: Value,
) -> Value {
    let user = user.into();
    let mut interaction = interaction_base(
        3,
        interaction_id,
        token,
        Some(guild_id),
        channel_id,
        &user,
        Some(permissions),
        &[],
    );
    interaction["data"] = json!({"custom_id": custom_id, "component_type": 2, "id": 2});
    interaction["message"] = message;
    interaction
}

/// An INTERACTION_CREATE of type 5 (MODAL_SUBMIT): `user` filled in the modal `custom_id` and
/// sent it; `values` are (text input custom id, what was typed), each in its own action row
/// as Discord sends them back.
#[allow(clippy::too_many_arguments)]
pub fn modal_submit(
    interaction_id: u64,
    token: &str,
    guild_id: u64,
    channel_id: u64,
    user: impl Into<UserFixture>,
    permissions: &str,
    custom_id: &str,
    values: &[(&str, &str)],
) -> Value {
    let user = user.into();
    let mut interaction = interaction_base(
        5,
        interaction_id,
        token,
        Some(guild_id),
        channel_id,
        &user,
        Some(permissions),
        &[],
    );
    let rows: Vec<Value> = values
        .iter()
        .enumerate()
        .map(|(i, (id, value))| {
            json!({
                "type": 1,
                "id": 2 * i + 1,
                "components": [{"type": 4, "id": 2 * i + 2, "custom_id": id, "value": value}],
            })
        })
        .collect();
    interaction["data"] = json!({"custom_id": custom_id, "components": rows});
    interaction
}
