//! The slash commands: `/npq ask|programme|list|sources|help` for everyone, and
//! `/npq-admin reload|stats` for server admins only.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use poise::CreateReply;
use serenity::all::{AutocompleteChoice, CreateAutocompleteResponse, CreateEmbed, RoleId};

use super::guard;
use super::reply::{self, limits, no_pings};
use super::state::{Reloaded, State};
use super::{retry_on_429, Context, Error};
use crate::answer::{Answer, Engine};

/// Above this many passages an answer may take longer than Discord waits, so it is deferred.
const DEFER_ABOVE_PASSAGES: u64 = 20_000;

/// Answers about National Professional Qualifications, with sources
#[poise::command(
    slash_command,
    subcommands("ask", "programme", "list", "sources", "help"),
    subcommand_required,
    check = "in_allowed_place"
)]
pub async fn npq(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Ask a question about NPQs
#[poise::command(slash_command)]
pub async fn ask(
    ctx: Context<'_>,
    #[description = "Your question, for example: how long does the NPQH take?"] question: String,
    #[description = "Show the answer only to you (for pay or funding questions)"] private: Option<
        bool,
    >,
) -> Result<(), Error> {
    let state = ctx.data().clone();
    let private = private.unwrap_or(false);
    if let Err(refused) = guard::admit(
        &state.config,
        &state.limiter,
        ctx.author().id.get(),
        &question,
    ) {
        return say_privately(ctx, &refused.message()).await;
    }
    let engine = state.engine();
    if engine.num_passages() > DEFER_ABOVE_PASSAGES {
        if private {
            ctx.defer_ephemeral().await?;
        } else {
            ctx.defer().await?;
        }
    }
    let (answer, buttons) = answer_question(
        &state,
        engine,
        &question,
        ctx.id(),
        ctx.author().id.get(),
        "slash",
    )
    .await?;
    let page = reply::answer(&answer, Some(buttons));
    let message = CreateReply::default()
        .embed(page.embed)
        .components(page.components)
        .ephemeral(private)
        .allowed_mentions(no_pings());
    retry_on_429(|| ctx.send(message.clone())).await?;
    Ok(())
}

/// Answers a question on the bounded answer pool, counts it, logs one line (no user ids, no
/// question text) and remembers it for its buttons under `origin`, the id of the interaction or
/// message that asked it.
pub async fn answer_question(
    state: &State,
    engine: Arc<Engine>,
    question: &str,
    origin: u64,
    asker: u64,
    via: &str,
) -> Result<(Answer, reply::Buttons), Error> {
    let started = Instant::now();
    let (limit, asked) = (state.settings.limit, question.to_string());
    let (answer, has_more) = state
        .on_answer_pool(move || {
            let answer = engine.answer(&asked);
            let has_more =
                answer.answered && !engine.answer_page(&asked, limit, 1).results.is_empty();
            (answer, has_more)
        })
        .await?;
    state.stats.count(&answer);
    super::metrics::get().observe(started.elapsed());
    tracing::info!(
        via,
        answered = answer.answered,
        results = answer.results.len(),
        micros = started.elapsed().as_micros() as u64,
        "question answered"
    );
    let question_id = state.remember(origin, question, asker);
    Ok((
        answer,
        reply::Buttons {
            question_id,
            page: 0,
            has_more,
        },
    ))
}

/// An autocomplete request cannot be answered with a message.
fn is_autocomplete(ctx: Context<'_>) -> bool {
    matches!(
        ctx,
        poise::Context::Application(a)
            if a.interaction_type == poise::CommandInteractionType::Autocomplete
    )
}

/// The check on `/npq`, which poise runs for each of its subcommands (and their autocomplete):
/// the guild and channel allow-lists, and for direct messages `direct_messages` and, when
/// `allowed_guilds` is set, membership of one of those guilds.
async fn in_allowed_place(ctx: Context<'_>) -> Result<bool, Error> {
    let state = ctx.data();
    let place = super::events::place_of(
        ctx.serenity_context(),
        &state.config,
        ctx.guild_id(),
        ctx.channel_id(),
    )
    .await;
    let allowed = guard::allowed(&state.config, &place)
        && (place.guild.is_some()
            || super::events::may_message_directly(ctx.serenity_context(), state, ctx.author().id)
                .await);
    if !allowed && !is_autocomplete(ctx) {
        let text = if place.guild.is_some() {
            "I don't answer questions in this channel."
        } else {
            "I don't answer direct messages."
        };
        say_privately(ctx, text).await?;
    }
    Ok(allowed)
}

/// The guilds where the admin commands exist: those in `guilds` (within `allowed_guilds` when
/// both are set), or else those in `allowed_guilds`. With neither there are none: admin
/// commands are never registered globally, where any server that adds the bot could use them.
pub fn admin_guilds(config: &crate::config::DiscordConfig) -> Vec<u64> {
    if config.guilds.is_empty() {
        config.allowed_guilds.clone()
    } else {
        config
            .guilds
            .iter()
            .copied()
            .filter(|g| config.allowed_guilds.is_empty() || config.allowed_guilds.contains(g))
            .collect()
    }
}

/// The check on `/npq-admin`: only in the admin guilds, whatever Discord delivers.
async fn in_admin_guild(ctx: Context<'_>) -> Result<bool, Error> {
    let allowed = ctx
        .guild_id()
        .is_some_and(|g| admin_guilds(&ctx.data().config).contains(&g.get()));
    if !allowed {
        say_privately(ctx, "Admin commands are not available in this server.").await?;
    }
    Ok(allowed)
}

async fn say_privately(ctx: Context<'_>, text: &str) -> Result<(), Error> {
    let message = CreateReply::default()
        .content(reply::truncate(&reply::escape(text), limits::CONTENT))
        .ephemeral(true)
        .allowed_mentions(no_pings());
    retry_on_429(|| ctx.send(message.clone())).await?;
    Ok(())
}

/// Programme names, codes and aliases that match what the user has typed so far.
async fn complete_programme(ctx: Context<'_>, partial: &str) -> CreateAutocompleteResponse {
    let engine = ctx.data().engine();
    CreateAutocompleteResponse::new().set_choices(programme_choices(&engine, partial))
}

/// At most 25 choices (names and values of at most 100 characters): codes that start with the
/// text first, then names and aliases.
pub fn programme_choices(engine: &Engine, partial: &str) -> Vec<AutocompleteChoice> {
    let typed = partial.trim().to_lowercase();
    let mut ranked: Vec<(u8, &crate::knowledge::Programme)> = engine
        .programmes
        .iter()
        .filter_map(|p| {
            let code = p.code.to_lowercase();
            let names: Vec<String> = std::iter::once(p.name.to_lowercase())
                .chain(p.aliases.iter().map(|a| a.to_lowercase()))
                .collect();
            let rank = if typed.is_empty() || code.starts_with(&typed) {
                0
            } else if names.iter().any(|n| n.starts_with(&typed)) {
                1
            } else if code.contains(&typed) || names.iter().any(|n| n.contains(&typed)) {
                2
            } else {
                return None;
            };
            Some((rank, p))
        })
        .collect();
    ranked.sort_by_key(|(rank, _)| *rank);
    ranked
        .into_iter()
        .take(limits::AUTOCOMPLETE_CHOICES)
        .map(|(_, p)| {
            AutocompleteChoice::new(
                reply::truncate(&format!("{}: {}", p.code, p.name), limits::CHOICE_NAME),
                reply::truncate(&p.code, limits::CHOICE_NAME),
            )
        })
        .collect()
}

/// A card for one NPQ: what it is, who it is for, how long, funding as of its date
#[poise::command(slash_command)]
pub async fn programme(
    ctx: Context<'_>,
    #[description = "The NPQ, for example NPQH or senior leadership"]
    #[autocomplete = "complete_programme"]
    name: String,
) -> Result<(), Error> {
    let engine = ctx.data().engine();
    let found = engine.programme(&name).or_else(|| {
        let typed = name.trim().to_lowercase();
        engine.programmes.iter().find(|p| {
            !typed.is_empty()
                && (p.name.to_lowercase().contains(&typed)
                    || p.aliases.iter().any(|a| a.to_lowercase().contains(&typed)))
        })
    });
    match found {
        Some(p) => {
            let message = CreateReply::default()
                .embed(reply::programme_card(p))
                .components(reply::programme_links(p))
                .allowed_mentions(no_pings());
            retry_on_429(|| ctx.send(message.clone())).await?;
        }
        None => {
            let text = format!(
                "I don't know a programme called \"{}\". Try /npq list to see them all.",
                reply::truncate(name.trim(), 100)
            );
            say_privately(ctx, &text).await?;
        }
    }
    Ok(())
}

/// Every NPQ, grouped as specialist and leadership
#[poise::command(slash_command)]
pub async fn list(ctx: Context<'_>) -> Result<(), Error> {
    let embed = reply::programme_list(&ctx.data().engine().programmes);
    send_embed(ctx, embed, false).await
}

/// The documents I answer from, with their publishers and dates
#[poise::command(slash_command)]
pub async fn sources(ctx: Context<'_>) -> Result<(), Error> {
    let embed = reply::sources_list(&ctx.data().engine().documents);
    send_embed(ctx, embed, false).await
}

/// What I can do and how to ask
#[poise::command(slash_command)]
pub async fn help(ctx: Context<'_>) -> Result<(), Error> {
    send_embed(ctx, reply::help(), true).await
}

async fn send_embed(ctx: Context<'_>, embed: CreateEmbed, ephemeral: bool) -> Result<(), Error> {
    let message = CreateReply::default()
        .embed(embed)
        .ephemeral(ephemeral)
        .allowed_mentions(no_pings());
    retry_on_429(|| ctx.send(message.clone())).await?;
    Ok(())
}

/// Admin: reload the guidance or see usage
#[poise::command(
    slash_command,
    rename = "npq-admin",
    subcommands("reload", "stats"),
    subcommand_required,
    guild_only,
    default_member_permissions = "MANAGE_GUILD",
    check = "in_admin_guild"
)]
pub async fn npq_admin(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Only members with Manage Server, or the configured admin role, may use admin commands.
async fn is_admin(ctx: Context<'_>) -> Result<bool, Error> {
    let admin_role = ctx.data().config.admin_role;
    let allowed = match ctx.author_member().await {
        Some(member) => {
            let manages = member
                .permissions
                .is_some_and(|p| p.manage_guild() || p.administrator());
            manages
                || admin_role
                    .filter(|&r| r != 0)
                    .is_some_and(|r| member.roles.contains(&RoleId::new(r)))
        }
        None => false,
    };
    if !allowed {
        say_privately(ctx, "Only server admins can do that.").await?;
    }
    Ok(allowed)
}

/// Reload the knowledge folder; on errors the current guidance keeps serving
#[poise::command(slash_command, check = "is_admin")]
pub async fn reload(ctx: Context<'_>) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let state: Arc<State> = ctx.data().clone();
    let outcome = tokio::task::spawn_blocking(move || state.reload()).await?;
    let embed = match outcome {
        Reloaded::Swapped {
            documents,
            passages,
            skipped,
        } => {
            for problem in &skipped {
                tracing::warn!("skipped a knowledge file: {problem}");
            }
            let metrics = super::metrics::get();
            metrics.reloads.fetch_add(1, Ordering::Relaxed);
            metrics
                .skipped_files
                .store(skipped.len() as u64, Ordering::Relaxed);
            tracing::info!(
                documents,
                passages,
                skipped = skipped.len(),
                "knowledge reloaded"
            );
            reply::reloaded(documents, passages, &skipped)
        }
        Reloaded::Kept(errors) => {
            super::metrics::get()
                .reloads_refused
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                errors = errors.len(),
                "reload refused: the knowledge folder has errors"
            );
            reply::reload_refused(&errors)
        }
    };
    send_embed(ctx, embed, true).await
}

/// Questions asked, answered and refused, and feedback, since start
#[poise::command(slash_command, check = "is_admin")]
pub async fn stats(ctx: Context<'_>) -> Result<(), Error> {
    let s = &ctx.data().stats;
    let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let uptime = ctx.data().started.elapsed().as_secs();
    let embed = CreateEmbed::new()
        .title("npq-bot since start")
        .field("Questions asked", get(&s.asked).to_string(), true)
        .field("Answered", get(&s.answered).to_string(), true)
        .field("Refused", get(&s.refused).to_string(), true)
        .field("Helpful", get(&s.helpful).to_string(), true)
        .field("Not helpful", get(&s.not_helpful).to_string(), true)
        .field(
            "Up for",
            format!("{}h {}m", uptime / 3600, uptime / 60 % 60),
            true,
        );
    send_embed(ctx, embed, true).await
}

#[cfg(test)]
mod tests {
    use super::programme_choices;
    use crate::knowledge::{Kind, Knowledge, Programme};

    #[test]
    fn autocomplete_offers_at_most_25_short_choices() {
        let programmes: Vec<Programme> = (0..60)
            .map(|i| Programme {
                code: format!("NPQX{i}"),
                name: format!("NPQ in leading {} {i}", "very ".repeat(40)),
                aliases: vec![],
                kind: Kind::Specialist,
                for_whom: "x".into(),
                duration: "x".into(),
                covers: "x".into(),
                funding: String::new(),
                funding_as_of: String::new(),
                sources: vec![],
            })
            .collect();
        let knowledge = Knowledge {
            programmes,
            ..Knowledge::default()
        };
        let engine = crate::Engine::new(knowledge, crate::Settings::default()).unwrap();
        let choices = serde_json::to_value(programme_choices(&engine, "npq")).unwrap();
        let choices = choices.as_array().unwrap();
        assert_eq!(choices.len(), 25);
        assert!(choices
            .iter()
            .all(|c| c["name"].as_str().unwrap().chars().count() <= 100));
    }
}
