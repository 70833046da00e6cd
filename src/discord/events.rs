//! Events outside slash commands: questions in mentions, direct messages or after a text
//! prefix, presses of the More, feedback and admin buttons, and the answer modal.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serenity::all::{
    ActionRowComponent, ComponentInteraction, Context as SerenityContext,
    CreateInteractionResponse, CreateInteractionResponseMessage, EditInteractionResponse,
    FullEvent, Interaction, Message, ModalInteraction,
};

use super::ask::{self, Asking};
use super::authored::{Authored, NotSaved};
use super::reply::{self, custom_id, limits, no_pings};
use super::state::{State, Vote};
use super::{guard, reloads, retry_on_429, Error};
use crate::qlog::QuestionLog;

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
        FullEvent::InteractionCreate {
            interaction: Interaction::Modal(modal),
        } => on_modal(ctx, modal, state).await,
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
    ask::ask(state, Asking::Message { ctx, message }, &question).await
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
        return ask::tell(ctx, press, &text).await;
    }
    match action {
        custom_id::Press::More { question_id, page } => {
            let more = Asking::More {
                ctx,
                press,
                question_id,
                page,
            };
            ask::ask(state, more, "").await
        }
        custom_id::Press::Vote { question_id, up } => {
            // A button only acts on the answer it was sent with.
            let bound = ask::origin_of(&press.message) == Some(question_id);
            let vote = if bound {
                state.vote(question_id, presser, up)
            } else {
                Vote::Unknown
            };
            if vote == Vote::Counted {
                let entry = state.recall(question_id).and_then(|a| a.entry);
                if let (Some(log), Some(entry)) = (&state.log, entry) {
                    log.feedback(entry, presser, up);
                }
            }
            let text = match vote {
                Vote::Counted => "Thanks: your feedback is counted.",
                Vote::AlreadyGiven => "You have already given feedback on this answer.",
                Vote::Unknown => "That answer is too old for its buttons now: please ask again.",
            };
            ask::tell(ctx, press, text).await
        }
        custom_id::Press::Dismiss { key, list } => {
            let Some(log) = admin_press(ctx, press, state, list).await? else {
                return Ok(());
            };
            let text = match log.dismiss(&key).await {
                Ok(()) => {
                    tracing::info!("a gap was dismissed");
                    "Dismissed: that gap no longer shows as open.".to_string()
                }
                Err(e) => format!("Cannot dismiss that gap: {e:#}"),
            };
            ask::tell(ctx, press, &text).await
        }
        custom_id::Press::AnswerGap { key, list } => {
            let Some(log) = admin_press(ctx, press, state, list).await? else {
                return Ok(());
            };
            // The listing that showed this button has the question: the form is the first
            // response, so it cannot wait for the log to be grouped again. Only a listing from
            // before a restart is grouped again here.
            let first = match log.listed_first(&key) {
                Some(first) => first,
                None => match log.gaps(state.log_days).await {
                    Ok(gaps) => gaps
                        .into_iter()
                        .find(|g| g.key == key)
                        .map(|g| g.first)
                        .unwrap_or_default(),
                    Err(e) => {
                        tracing::warn!("cannot read the gaps: {e:#}");
                        String::new()
                    }
                },
            };
            let modal = reply::answer_modal(&key, &first);
            retry_on_429(|| {
                press.create_response(&ctx.http, CreateInteractionResponse::Modal(modal.clone()))
            })
            .await?;
            Ok(())
        }
        custom_id::Press::Forget { guild, origin } => {
            let Some(log) = admin_press(ctx, press, state, origin).await? else {
                return Ok(());
            };
            if press.guild_id.map(|g| g.get()) != Some(guild) {
                return ask::tell(ctx, press, "That button belongs to another server.").await;
            }
            let text = match log.forget(guild).await {
                Ok(erased) => {
                    tracing::info!(erased, "a server's questions were erased from the log");
                    reply::forgotten(erased)
                }
                Err(e) => format!("Cannot erase the log now: {e:#}"),
            };
            ask::tell(ctx, press, &text).await
        }
        // Modals arrive as MODAL_SUBMIT interactions, not presses.
        custom_id::Press::AnswerModal { .. } => Ok(()),
    }
}

/// Whether an admin button may act: pressed by an admin in an admin guild, on the message made
/// for interaction `list`, with the question log on. Tells the presser otherwise.
async fn admin_press<'a>(
    ctx: &SerenityContext,
    press: &ComponentInteraction,
    state: &'a Arc<State>,
    list: u64,
) -> Result<Option<&'a QuestionLog>, Error> {
    let in_admin_guild = press
        .guild_id
        .is_some_and(|g| guard::admin_guilds(&state.config).contains(&g.get()));
    let admin = press
        .member
        .as_ref()
        .is_some_and(|m| guard::is_admin_member(&state.config, m));
    if !in_admin_guild || !admin {
        ask::tell(ctx, press, "Only server admins can do that.").await?;
        return Ok(None);
    }
    if ask::origin_of(&press.message) != Some(list) {
        ask::tell(
            ctx,
            press,
            "That button is not on the message it was made for.",
        )
        .await?;
        return Ok(None);
    }
    let Some(log) = &state.log else {
        ask::tell(ctx, press, reply::LOG_OFF).await?;
        return Ok(None);
    };
    Ok(Some(log))
}

/// The value typed into the text input `id` of a submitted modal.
fn typed(modal: &ModalInteraction, id: &str) -> String {
    modal
        .data
        .components
        .iter()
        .flat_map(|row| row.components.iter())
        .find_map(|c| match c {
            ActionRowComponent::InputText(input) if input.custom_id == id => input.value.clone(),
            _ => None,
        })
        .unwrap_or_default()
}

/// An admin's answer from the modal: checked, saved in the local folder, reloaded, and the gap
/// marked answered; or refused with the check's message and nothing kept.
async fn on_modal(
    ctx: &SerenityContext,
    modal: &ModalInteraction,
    state: &Arc<State>,
) -> Result<(), Error> {
    let Some(custom_id::Press::AnswerModal { key }) = custom_id::parse(&modal.data.custom_id)
    else {
        return Ok(());
    };
    let in_admin_guild = modal
        .guild_id
        .is_some_and(|g| guard::admin_guilds(&state.config).contains(&g.get()));
    let admin = modal
        .member
        .as_ref()
        .is_some_and(|m| guard::is_admin_member(&state.config, m));
    if !in_admin_guild || !admin {
        let message = CreateInteractionResponseMessage::new()
            .content("Only server admins can do that.")
            .ephemeral(true)
            .allowed_mentions(no_pings());
        retry_on_429(|| {
            modal.create_response(
                &ctx.http,
                CreateInteractionResponse::Message(message.clone()),
            )
        })
        .await?;
        return Ok(());
    }
    // Checking and reloading may take longer than Discord waits for a first reply.
    retry_on_429(|| {
        modal.create_response(
            &ctx.http,
            CreateInteractionResponse::Defer(
                CreateInteractionResponseMessage::new().ephemeral(true),
            ),
        )
    })
    .await?;
    let entry = Authored {
        question: typed(modal, custom_id::field::QUESTION),
        answer: typed(modal, custom_id::field::ANSWER),
        publisher: typed(modal, custom_id::field::PUBLISHER),
        url: typed(modal, custom_id::field::URL),
        date: typed(modal, custom_id::field::DATE),
    };
    let embed = match reloads::save_answer(state, entry).await {
        Ok((path, report)) => {
            if let Some(log) = &state.log {
                if let Err(e) = log.mark_answered(std::slice::from_ref(&key)).await {
                    tracing::warn!("cannot mark the answered gap: {e:#}");
                }
            }
            let shown = path
                .strip_prefix(&state.knowledge_dir)
                .unwrap_or(&path)
                .display()
                .to_string();
            // The file name comes from the question: not logged.
            tracing::info!("an answer written from Discord was saved");
            report.embed().field(
                "Saved",
                reply::truncate(&reply::escape(&shown), limits::FIELD_VALUE),
                false,
            )
        }
        Err(NotSaved(errors)) => {
            tracing::info!(
                errors = errors.len(),
                "an answer written from Discord was refused"
            );
            reply::answer_refused(&errors)
        }
    };
    let edit = EditInteractionResponse::new()
        .embed(embed)
        .allowed_mentions(no_pings());
    retry_on_429(|| modal.edit_response(&ctx.http, edit.clone())).await?;
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
