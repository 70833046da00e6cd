//! Events outside slash commands: questions in mentions, direct messages or after a text
//! prefix, and presses of the More and feedback buttons.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serenity::all::{
    ChannelId, ChannelType, ComponentInteraction, Context as SerenityContext,
    CreateInteractionResponse, CreateInteractionResponseMessage, CreateMessage, FullEvent, GuildId,
    Interaction, Message, MessageInteractionMetadata, UserId,
};

use super::commands::answer_question;
use super::guard::{self, Place};
use super::reply::{self, custom_id, limits, no_pings};
use super::state::{State, Vote};
use super::{retry_on_429, Error};
use crate::config::DiscordConfig;

/// Handles one gateway event the command framework does not.
pub async fn handle(
    ctx: &SerenityContext,
    event: &FullEvent,
    state: &Arc<State>,
) -> Result<(), Error> {
    match event {
        FullEvent::Message { new_message } => on_message(ctx, new_message, state).await,
        FullEvent::InteractionCreate {
            interaction: Interaction::Component(press),
        } => on_press(ctx, press, state).await,
        FullEvent::Ready { data_about_bot } => {
            let metrics = super::metrics::get();
            metrics.connected.fetch_add(1, Ordering::Relaxed);
            metrics.ready.store(true, Ordering::Relaxed);
            tracing::info!(guilds = data_about_bot.guilds.len(), shard = ?data_about_bot.shard, "connected to Discord");
            Ok(())
        }
        FullEvent::Resume { .. } => {
            super::metrics::get()
                .resumed
                .fetch_add(1, Ordering::Relaxed);
            tracing::info!("gateway session resumed");
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The question in a message addressed to the bot, if it is one.
pub fn question_in(
    content: &str,
    bot_id: u64,
    is_dm: bool,
    mentioned: bool,
    prefix: Option<&str>,
) -> Option<String> {
    let mention_forms = [format!("<@{bot_id}>"), format!("<@!{bot_id}>")];
    if mentioned || is_dm {
        let mut text = content.to_string();
        for m in &mention_forms {
            text = text.replace(m.as_str(), " ");
        }
        return Some(text.trim().to_string());
    }
    let prefix = prefix?;
    let rest = content.trim_start().strip_prefix(prefix)?;
    // "!npqfoo" is not the prefix "!npq".
    if rest.starts_with(|c: char| c.is_alphanumeric()) {
        return None;
    }
    Some(rest.trim().to_string())
}

async fn on_message(
    ctx: &SerenityContext,
    message: &Message,
    state: &Arc<State>,
) -> Result<(), Error> {
    let bot_id = ctx.cache.current_user().id;
    if message.author.bot || message.author.id == bot_id || message.webhook_id.is_some() {
        return Ok(());
    }
    let is_dm = message.guild_id.is_none();
    let mentioned = message.mentions.iter().any(|u| u.id == bot_id);
    let Some(question) = question_in(
        &message.content,
        bot_id.get(),
        is_dm,
        mentioned,
        state.config.prefix.as_deref(),
    ) else {
        return Ok(());
    };
    let place = place_of(ctx, &state.config, message.guild_id, message.channel_id).await;
    if !guard::allowed(&state.config, &place)
        || (is_dm && !may_message_directly(ctx, state, message.author.id).await)
    {
        return Ok(());
    }
    if let Err(refused) = guard::admit(
        &state.config,
        &state.limiter,
        message.author.id.get(),
        &question,
    ) {
        // In public, one note per user a minute; further refused mentions get no reply.
        if state.note_limiter.check(message.author.id.get()).is_err() {
            return Ok(());
        }
        let text = reply::truncate(&reply::escape(&refused.message()), limits::CONTENT);
        let note = CreateMessage::new()
            .content(text)
            .reference_message(message)
            .allowed_mentions(no_pings());
        retry_on_429(|| message.channel_id.send_message(&ctx.http, note.clone())).await?;
        return Ok(());
    }
    let engine = state.engine();
    let via = if is_dm { "direct message" } else { "mention" };
    let (answer, buttons) = answer_question(
        state,
        engine,
        &question,
        message.id.get(),
        message.author.id.get(),
        via,
    )
    .await?;
    let page = reply::answer(&answer, Some(buttons));
    // A reply keeps the answer beside the question in a busy channel, and (in a DM too) ties
    // the answer's buttons to the question they were made for.
    let builder = CreateMessage::new()
        .embed(page.embed)
        .components(page.components)
        .reference_message(message)
        .allowed_mentions(no_pings());
    retry_on_429(|| message.channel_id.send_message(&ctx.http, builder.clone())).await?;
    Ok(())
}

/// Where a question was asked; a thread's parent channel is looked up only when a channel
/// allow-list needs it.
pub async fn place_of(
    ctx: &SerenityContext,
    config: &DiscordConfig,
    guild: Option<GuildId>,
    channel: ChannelId,
) -> Place {
    let (guild, channel_number) = (guild.map(|g| g.get()), channel.get());
    let needs_parent = guild.is_some()
        && !config.allowed_channels.is_empty()
        && !config.allowed_channels.contains(&channel_number);
    let parent = if needs_parent {
        let thread = |kind: ChannelType| {
            matches!(
                kind,
                ChannelType::PublicThread | ChannelType::PrivateThread | ChannelType::NewsThread
            )
        };
        channel
            .to_channel(ctx)
            .await
            .ok()
            .and_then(|c| c.guild())
            .filter(|g| thread(g.kind))
            .and_then(|g| g.parent_id)
            .map(|p| p.get())
    } else {
        None
    };
    Place {
        guild,
        channel: channel_number,
        parent,
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
fn origin_of(message: &Message) -> Option<u64> {
    match message.interaction_metadata.as_deref() {
        Some(MessageInteractionMetadata::Command(command)) => Some(command.id.get()),
        _ => message
            .message_reference
            .as_ref()
            .and_then(|r| r.message_id)
            .map(|m| m.get()),
    }
}

async fn on_press(
    ctx: &SerenityContext,
    press: &ComponentInteraction,
    state: &Arc<State>,
) -> Result<(), Error> {
    let Some(action) = custom_id::parse(&press.data.custom_id) else {
        return Ok(());
    };
    let presser = press.user.id.get();
    if let Err(wait) = state.press_limiter.check(presser) {
        let text = format!(
            "You are pressing buttons very fast. Please try again in {} seconds.",
            wait.as_secs().max(1)
        );
        return tell(ctx, press, &text).await;
    }
    let question_id = match action {
        custom_id::Press::More { question_id, .. } | custom_id::Press::Vote { question_id, .. } => {
            question_id
        }
    };
    // A button only acts on the answer it was sent with.
    if origin_of(&press.message) != Some(question_id) || state.recall(question_id).is_none() {
        return tell(
            ctx,
            press,
            "That answer is too old for its buttons now: please ask again.",
        )
        .await;
    }
    match action {
        custom_id::Press::More { question_id, page } => {
            let Some(asked) = state.recall(question_id) else {
                return tell(
                    ctx,
                    press,
                    "That answer is too old to page through now: please ask again.",
                )
                .await;
            };
            if asked.asker != presser {
                return tell(ctx, press, "Only the person who asked can page through these results. Ask your own question with /npq ask.").await;
            }
            let engine = state.engine();
            let limit = state.settings.limit;
            let (answer, has_more) = state
                .on_answer_pool(move || {
                    let answer = engine.answer_page(&asked.question, page * limit, limit);
                    let has_more = !engine
                        .answer_page(&asked.question, (page + 1) * limit, 1)
                        .results
                        .is_empty();
                    (answer, has_more)
                })
                .await?;
            if !answer.answered || answer.results.is_empty() {
                return tell(ctx, press, "There are no more results for that question.").await;
            }
            let view = reply::answer(
                &answer,
                Some(reply::Buttons {
                    question_id,
                    page,
                    has_more,
                }),
            );
            let update = CreateInteractionResponseMessage::new()
                .embed(view.embed)
                .components(view.components)
                .allowed_mentions(no_pings());
            retry_on_429(|| {
                press.create_response(
                    &ctx.http,
                    CreateInteractionResponse::UpdateMessage(update.clone()),
                )
            })
            .await?;
            Ok(())
        }
        custom_id::Press::Vote { question_id, up } => {
            let text = match state.vote(question_id, presser, up) {
                Vote::Counted => "Thanks: your feedback is counted.",
                Vote::AlreadyGiven => "You have already given feedback on this answer.",
                Vote::Unknown => "That answer is too old for its buttons now: please ask again.",
            };
            tell(ctx, press, text).await
        }
    }
}

/// An ephemeral note to whoever pressed a button.
async fn tell(
    ctx: &SerenityContext,
    press: &ComponentInteraction,
    text: &str,
) -> Result<(), Error> {
    let message = CreateInteractionResponseMessage::new()
        .content(text)
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

#[cfg(test)]
mod tests {
    use super::question_in;

    #[test]
    fn mentions_dms_and_prefixes_carry_questions() {
        assert_eq!(
            question_in("<@42> how long is the NPQH?", 42, false, true, None).as_deref(),
            Some("how long is the NPQH?")
        );
        assert_eq!(
            question_in("<@!42> pay?", 42, false, true, None).as_deref(),
            Some("pay?")
        );
        assert_eq!(
            question_in("funding?", 42, true, false, None).as_deref(),
            Some("funding?")
        );
        assert_eq!(
            question_in("!npq funding?", 42, false, false, Some("!npq")).as_deref(),
            Some("funding?")
        );
        assert_eq!(
            question_in("!npqx funding?", 42, false, false, Some("!npq")),
            None
        );
        assert_eq!(
            question_in("just chatting", 42, false, false, Some("!npq")),
            None
        );
        assert_eq!(question_in("just chatting", 42, false, false, None), None);
    }
}
