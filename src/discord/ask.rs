//! The one path every question takes, from a slash command, a mention, a direct message or a
//! More button: place, guards, the answer on the bounded pool, one 429-aware reply, the record.

use std::sync::Arc;
use std::time::Instant;

use poise::CreateReply;
use serenity::all::{
    ChannelId, ChannelType, ComponentInteraction, Context as SerenityContext,
    CreateInteractionResponse, CreateInteractionResponseMessage, CreateMessage,
    EditInteractionResponse, GuildId, Message, MessageInteractionMetadata, PartialChannel, UserId,
};

use super::guard::{self, Place};
use super::reply::{self, limits, no_pings};
use super::state::State;
use super::{retry_on_429, Context, Error};
use crate::config::DiscordConfig;
use crate::qlog::{ChannelKind, Entry};

/// Where a question came from, and so where its answer goes.
pub enum Asking<'a> {
    /// The `ask` slash command; `private` answers ephemerally.
    Command { ctx: Context<'a>, private: bool },
    /// A mention, a direct message or a text prefix: answered in reply to the message.
    Message {
        ctx: &'a SerenityContext,
        message: &'a Message,
    },
    /// The More button on an answer: the next page of the same question, in place.
    More {
        ctx: &'a SerenityContext,
        press: &'a ComponentInteraction,
        question_id: u64,
        page: usize,
    },
}

impl Asking<'_> {
    fn serenity(&self) -> &SerenityContext {
        match self {
            Asking::Command { ctx, .. } => ctx.serenity_context(),
            Asking::Message { ctx, .. } | Asking::More { ctx, .. } => ctx,
        }
    }

    fn asker(&self) -> UserId {
        match self {
            Asking::Command { ctx, .. } => ctx.author().id,
            Asking::Message { message, .. } => message.author.id,
            Asking::More { press, .. } => press.user.id,
        }
    }

    /// The id the answer's buttons carry: the interaction or message that asked.
    fn origin(&self) -> u64 {
        match self {
            Asking::Command { ctx, .. } => ctx.id(),
            Asking::Message { message, .. } => message.id.get(),
            Asking::More { question_id, .. } => *question_id,
        }
    }

    fn via(&self) -> &'static str {
        match self {
            Asking::Command { .. } => "slash",
            Asking::Message { message, .. } if message.guild_id.is_none() => "direct message",
            Asking::Message { .. } => "mention",
            Asking::More { .. } => "more",
        }
    }

    async fn place(&self, state: &State) -> Place {
        let config = &state.config;
        match self {
            Asking::Command { ctx, .. } => {
                let channel = match ctx {
                    poise::Context::Application(a) => a.interaction.channel.as_ref(),
                    poise::Context::Prefix(_) => None,
                };
                place_of(
                    ctx.serenity_context(),
                    config,
                    ctx.guild_id(),
                    ctx.channel_id(),
                    channel,
                )
                .await
            }
            Asking::Message { ctx, message } => {
                place_of(ctx, config, message.guild_id, message.channel_id, None).await
            }
            Asking::More { ctx, press, .. } => {
                place_of(
                    ctx,
                    config,
                    press.guild_id,
                    press.channel_id,
                    press.channel.as_ref(),
                )
                .await
            }
        }
    }

    /// Tells the asker why nothing is answered: privately where Discord allows it; in reply to
    /// a message at most once a minute per user, so a flood of mentions is not echoed.
    async fn refuse(&self, state: &State, text: &str) -> Result<(), Error> {
        match self {
            Asking::Command { ctx, .. } => say_privately(*ctx, text).await,
            Asking::More { ctx, press, .. } => tell(ctx, press, text).await,
            Asking::Message { ctx, message } => {
                if state.note_limiter.check(message.author.id.get()).is_err() {
                    return Ok(());
                }
                let note = CreateMessage::new()
                    .content(reply::truncate(&reply::escape(text), limits::CONTENT))
                    .reference_message(*message)
                    .allowed_mentions(no_pings());
                retry_on_429(|| message.channel_id.send_message(&ctx.http, note.clone())).await?;
                Ok(())
            }
        }
    }

    /// Sends the answer: the one send of this path, retried on 429 and server errors.
    /// Acknowledges an interaction whose answer will come later; a message needs none.
    async fn defer(&self) -> Result<(), Error> {
        match self {
            Asking::Command { ctx, private } => {
                if *private {
                    ctx.defer_ephemeral().await?;
                } else {
                    ctx.defer().await?;
                }
            }
            Asking::Message { .. } => {}
            Asking::More { ctx, press, .. } => {
                retry_on_429(|| {
                    press.create_response(&ctx.http, CreateInteractionResponse::Acknowledge)
                })
                .await?;
            }
        }
        Ok(())
    }

    /// Sends the reply; `deferred`: the interaction was acknowledged by [`Asking::defer`].
    async fn send(&self, page: reply::Reply, deferred: bool) -> Result<(), Error> {
        match self {
            Asking::Command { ctx, private } => {
                let message = CreateReply::default()
                    .embed(page.embed)
                    .components(page.components)
                    .ephemeral(*private)
                    .allowed_mentions(no_pings());
                retry_on_429(|| ctx.send(message.clone())).await?;
            }
            Asking::Message { ctx, message } => {
                // A reply keeps the answer beside the question in a busy channel, and (in a DM
                // too) ties the answer's buttons to the question they were made for.
                let builder = CreateMessage::new()
                    .embed(page.embed)
                    .components(page.components)
                    .reference_message(*message)
                    .allowed_mentions(no_pings());
                retry_on_429(|| message.channel_id.send_message(&ctx.http, builder.clone()))
                    .await?;
            }
            Asking::More { ctx, press, .. } if deferred => {
                let edit = EditInteractionResponse::new()
                    .embed(page.embed)
                    .components(page.components)
                    .allowed_mentions(no_pings());
                retry_on_429(|| press.edit_response(&ctx.http, edit.clone())).await?;
            }
            Asking::More { ctx, press, .. } => {
                let update = CreateInteractionResponseMessage::new()
                    .embed(page.embed)
                    .components(page.components)
                    .allowed_mentions(no_pings());
                retry_on_429(|| {
                    press.create_response(
                        &ctx.http,
                        CreateInteractionResponse::UpdateMessage(update.clone()),
                    )
                })
                .await?;
            }
        }
        Ok(())
    }
}

/// Answers `question` (for More, the remembered question) from `asking`, start to end.
pub async fn ask(state: &Arc<State>, asking: Asking<'_>, question: &str) -> Result<(), Error> {
    // 1. Place: the allow-lists (for slash commands the check on the command has told the asker).
    let place = asking.place(state).await;
    let asker = asking.asker();
    if !may_answer(asking.serenity(), state, &place, asker).await {
        return match asking {
            Asking::Message { .. } => Ok(()),
            _ => asking.refuse(state, place_refusal(&place)).await,
        };
    }

    // 2. Guards: length and rate for questions; for More, the answer it was sent with.
    let (question, page) = match &asking {
        Asking::More {
            press,
            question_id,
            page,
            ..
        } => {
            let remembered = state
                .recall(*question_id)
                .filter(|_| origin_of(&press.message) == Some(*question_id));
            let Some(asked) = remembered else {
                return asking
                    .refuse(
                        state,
                        "That answer is too old for its buttons now: please ask again.",
                    )
                    .await;
            };
            if asked.asker != asker.get() {
                let text = format!("Only the person who asked can page through these results. Ask your own question with /{} ask.", state.commands.name);
                return asking.refuse(state, &text).await;
            }
            (asked.question, *page)
        }
        _ => {
            if let Err(refused) = guard::admit(&state.config, &state.limiter, asker.get(), question)
            {
                let text = refused.message(&state.engine().wording);
                return asking.refuse(state, &text).await;
            }
            (question.to_string(), 0)
        }
    };

    // 3. The answer, on the bounded blocking pool, with the next result peeked in the same
    // ranking so that More is offered only when there is more. When a question already waits
    // longer than `busy_after_ms`, this one would wait longer still: the asker is told at once,
    // and the queue (with the memory it holds) stays bounded.
    if state.is_busy() {
        super::metrics::get()
            .busy
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(via = asking.via(), "question turned away: too many waiting");
        let text = state.engine().wording.replies.busy.clone();
        return asking.refuse(state, &text).await;
    }
    let engine = state.engine();
    let started = Instant::now();
    let limit = state.settings.limit;
    let asked = question.clone();
    let answering = engine.clone();
    let work =
        state.on_answer_pool(move || answering.answer_page_and_peek(&asked, page * limit, limit));
    tokio::pin!(work);
    // An interaction whose answer is not ready within `defer_after_ms` is acknowledged first
    // ("thinking...") and answered after: Discord waits 3 s for the first response, and a burst
    // of questions can queue an answer behind others for longer than that.
    let defer_after = std::time::Duration::from_millis(state.config.defer_after_ms);
    let mut deferred = false;
    let (answer, has_more) = tokio::select! {
        biased;
        done = &mut work => done?,
        () = tokio::time::sleep(defer_after) => {
            asking.defer().await?;
            deferred = !matches!(asking, Asking::Message { .. });
            work.await?
        }
    };
    if page > 0 && (!answer.answered || answer.results.is_empty()) {
        return asking
            .refuse(state, "There are no more results for that question.")
            .await;
    }

    // 4. The reply, with buttons bound to the question (and to its log entry, for feedback).
    let entry = state
        .log
        .as_ref()
        .filter(|log| page == 0 && log.is_enabled())
        .filter(|log| !place.guild.is_some_and(|g| log.is_opted_out(g)))
        .map(|log| log.new_entry_id());
    let question_id = if page == 0 {
        state.remember(asking.origin(), &question, asker.get(), entry)
    } else {
        asking.origin()
    };
    let buttons = reply::Buttons {
        question_id,
        page,
        has_more: answer.answered && has_more,
    };
    asking
        .send(
            reply::answer(&answer, Some(buttons), &engine.wording, &state.commands),
            deferred,
        )
        .await?;

    // 5. The record: counters, the question log (no user, the cleaned question) and one log
    // line without user ids or question text.
    if page == 0 {
        state.stats.count(&answer);
        super::metrics::get().observe(started.elapsed());
    }
    if let (Some(log), Some(id)) = (&state.log, entry) {
        let kind = match (place.guild, place.thread) {
            (None, _) => ChannelKind::Dm,
            (Some(_), true) => ChannelKind::Thread,
            (Some(_), false) => ChannelKind::Channel,
        };
        log.record(Entry::from_answer(
            id,
            place.guild,
            kind,
            &answer,
            &state.knowledge_version(),
        ));
    }
    tracing::info!(
        via = asking.via(),
        answered = answer.answered,
        results = answer.results.len(),
        page,
        micros = started.elapsed().as_micros() as u64,
        "question answered"
    );
    Ok(())
}

/// What to say where the bot does not answer.
fn place_refusal(place: &Place) -> &'static str {
    if place.guild.is_some() {
        "I don't answer questions in this channel."
    } else {
        "I don't answer direct messages."
    }
}

/// The allow-lists, and for direct messages `direct_messages` and, when `allowed_guilds` is set,
/// membership of one of those guilds.
pub async fn may_answer(ctx: &SerenityContext, state: &State, place: &Place, who: UserId) -> bool {
    guard::allowed(&state.config, place)
        && (place.guild.is_some() || may_message_directly(ctx, state, who).await)
}

/// The check on the public command, which poise runs for each of its subcommands (and their
/// autocomplete): the same place step as every question's. An autocomplete request gets no
/// message.
pub async fn in_allowed_place(ctx: Context<'_>) -> Result<bool, Error> {
    let state = ctx.data();
    let channel = match ctx {
        poise::Context::Application(a) => a.interaction.channel.as_ref(),
        poise::Context::Prefix(_) => None,
    };
    let place = place_of(
        ctx.serenity_context(),
        &state.config,
        ctx.guild_id(),
        ctx.channel_id(),
        channel,
    )
    .await;
    let allowed = may_answer(ctx.serenity_context(), state, &place, ctx.author().id).await;
    let autocomplete = matches!(
        ctx,
        poise::Context::Application(a)
            if a.interaction_type == poise::CommandInteractionType::Autocomplete
    );
    if !allowed && !autocomplete {
        say_privately(ctx, place_refusal(&place)).await?;
    }
    Ok(allowed)
}

/// Where a question was asked. Whether the channel is a thread comes from the interaction's
/// channel or the cache; the thread's parent is looked up on Discord only when a channel
/// allow-list needs it and neither knows.
pub async fn place_of(
    ctx: &SerenityContext,
    config: &DiscordConfig,
    guild: Option<GuildId>,
    channel: ChannelId,
    given: Option<&PartialChannel>,
) -> Place {
    let is_thread = |kind: ChannelType| {
        matches!(
            kind,
            ChannelType::PublicThread | ChannelType::PrivateThread | ChannelType::NewsThread
        )
    };
    let (guild_number, channel_number) = (guild.map(|g| g.get()), channel.get());
    let mut known: Option<(bool, Option<u64>)> = given
        .filter(|c| c.id == channel)
        .map(|c| (is_thread(c.kind), c.parent_id.map(|p| p.get())));
    if known.is_none() {
        if let Some(g) = guild.and_then(|g| ctx.cache.guild(g)) {
            known = g
                .channels
                .get(&channel)
                .or_else(|| g.threads.iter().find(|t| t.id == channel))
                .map(|c| (is_thread(c.kind), c.parent_id.map(|p| p.get())));
        }
    }
    let needs_parent = guild.is_some()
        && !config.allowed_channels.is_empty()
        && !config.allowed_channels.contains(&channel_number)
        && known.is_none_or(|(thread, parent)| thread && parent.is_none());
    if needs_parent {
        known = channel
            .to_channel(ctx)
            .await
            .ok()
            .and_then(|c| c.guild())
            .map(|g| (is_thread(g.kind), g.parent_id.map(|p| p.get())));
    }
    let (thread, parent) = known.unwrap_or((false, None));
    Place {
        guild: guild_number,
        channel: channel_number,
        parent: parent.filter(|_| thread),
        thread: guild.is_some() && thread,
    }
}

/// Direct messages are answered when `direct_messages` is on and, if `allowed_guilds` is set,
/// only from members of one of those guilds (looked up once per ten minutes per user).
pub async fn may_message_directly(ctx: &SerenityContext, state: &State, user: UserId) -> bool {
    let config = &state.config;
    if !config.direct_messages {
        return false;
    }
    if config.allowed_guilds.is_empty() {
        return true;
    }
    if let Some(known) = state.known_membership(user.get()) {
        return known;
    }
    let mut member = false;
    for &guild in &config.allowed_guilds {
        match GuildId::new(guild).member(ctx, user).await {
            Ok(_) => {
                member = true;
                break;
            }
            Err(serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(r)))
                if r.status_code.as_u16() == 404 => {}
            Err(e) => {
                // Not remembered: the next message looks again.
                tracing::warn!(
                    "cannot check a direct message's sender against allowed_guilds: {e}"
                );
                return false;
            }
        }
    }
    state.note_membership(user.get(), member);
    member
}

/// The interaction or message an answer was made for, read from the message a button is on:
/// a slash command's reply names its interaction, a reply to a mention references it.
pub fn origin_of(message: &Message) -> Option<u64> {
    match message.interaction_metadata.as_deref() {
        Some(MessageInteractionMetadata::Command(command)) => Some(command.id.get()),
        _ => message
            .message_reference
            .as_ref()
            .and_then(|r| r.message_id)
            .map(|m| m.get()),
    }
}

/// An ephemeral reply to a command.
pub async fn say_privately(ctx: Context<'_>, text: &str) -> Result<(), Error> {
    let message = CreateReply::default()
        .content(reply::truncate(&reply::escape(text), limits::CONTENT))
        .ephemeral(true)
        .allowed_mentions(no_pings());
    retry_on_429(|| ctx.send(message.clone())).await?;
    Ok(())
}

/// An ephemeral note (the bot's own words) to whoever pressed a button.
pub async fn tell(
    ctx: &SerenityContext,
    press: &ComponentInteraction,
    text: &str,
) -> Result<(), Error> {
    let message = CreateInteractionResponseMessage::new()
        .content(reply::truncate(text, limits::CONTENT))
        .ephemeral(true)
        .allowed_mentions(no_pings());
    retry_on_429(|| {
        press.create_response(
            &ctx.http,
            CreateInteractionResponse::Message(message.clone()),
        )
    })
    .await?;
    Ok(())
}
