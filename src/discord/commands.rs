//! The slash commands: `/<name> ask|programme|list|sources|help` for everyone, and
//! `/<admin> reload|stats|status|gaps|forget|logging` for server admins only, both named (and
//! described) by the knowledge folder's `wording.toml`.

use std::sync::atomic::Ordering;

use poise::CreateReply;
use serenity::all::{
    AutocompleteChoice, CreateAttachment, CreateAutocompleteResponse, CreateEmbed,
};

use super::ask::{in_allowed_place, say_privately, Asking};
use super::guard;
use super::reloads;
use super::reply::{self, limits, no_pings};
use super::{retry_on_429, Context, Error};
use crate::answer::Engine;
use crate::knowledge::wording::Commands;

/// The two commands, named and described by `wording` (the descriptions written here are
/// replaced): the public one first, then the admin one.
pub fn build(wording: &Commands) -> Vec<poise::Command<std::sync::Arc<super::State>, Error>> {
    let text = |s: &str| Some(s.to_string().into());
    let mut public = guidance();
    public.name = wording.name.clone().into();
    public.description = text(&wording.description);
    for sub in &mut public.subcommands {
        let (description, options) = match sub.name.as_ref() {
            "ask" => (
                &wording.ask,
                vec![
                    ("question", &wording.question),
                    ("private", &wording.private),
                ],
            ),
            "programme" => (&wording.programme, vec![("name", &wording.programme_name)]),
            "list" => (&wording.list, vec![]),
            _ => continue,
        };
        sub.description = text(description);
        for parameter in &mut sub.parameters {
            if let Some((_, d)) = options.iter().find(|(n, _)| *n == parameter.name) {
                parameter.description = text(d);
            }
        }
    }
    let mut admin = admin();
    admin.name = wording.admin.clone().into();
    vec![public, admin]
}

/// Answers from the guidance, with sources
#[poise::command(
    slash_command,
    subcommands("ask", "programme", "list", "sources", "help"),
    subcommand_required,
    check = "in_allowed_place"
)]
pub async fn guidance(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Ask a question about the guidance
#[poise::command(slash_command)]
pub async fn ask(
    ctx: Context<'_>,
    #[description = "Your question"] question: String,
    #[description = "Show the answer only to you"] private: Option<bool>,
) -> Result<(), Error> {
    let state = ctx.data().clone();
    let asking = Asking::Command {
        ctx,
        private: private.unwrap_or(false),
    };
    super::ask::ask(&state, asking, &question).await
}

/// The check on the admin command and each of its subcommands: only in the admin guilds,
/// whatever Discord delivers, and only for members with Manage Server (or Administrator) or
/// the configured admin role.
pub async fn admin_only(ctx: Context<'_>) -> Result<bool, Error> {
    let state = ctx.data();
    let in_admin_guild = ctx
        .guild_id()
        .is_some_and(|g| guard::admin_guilds(&state.config).contains(&g.get()));
    if !in_admin_guild {
        say_privately(ctx, "Admin commands are not available in this server.").await?;
        return Ok(false);
    }
    let admin = match ctx.author_member().await {
        Some(member) => guard::is_admin_member(&state.config, &member),
        None => false,
    };
    if !admin {
        say_privately(ctx, "Only server admins can do that.").await?;
    }
    Ok(admin)
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

/// A card for one programme: what it is, who it is for, how long it takes
#[poise::command(slash_command)]
pub async fn programme(
    ctx: Context<'_>,
    #[description = "The programme's code or name"]
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
                "I don't know a programme called \"{}\". Try /{} list to see them all.",
                reply::truncate(name.trim(), 100),
                ctx.data().commands.name
            );
            say_privately(ctx, &text).await?;
        }
    }
    Ok(())
}

/// Every programme, grouped by kind
#[poise::command(slash_command)]
pub async fn list(ctx: Context<'_>) -> Result<(), Error> {
    let state = ctx.data();
    let engine = state.engine();
    let embed = reply::programme_list(
        &engine.kinds,
        &engine.programmes,
        &engine.wording,
        &state.commands,
    );
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
    let state = ctx.data();
    let embed = reply::help(&state.engine().wording, &state.commands);
    send_embed(ctx, embed, true).await
}

async fn send_embed(ctx: Context<'_>, embed: CreateEmbed, ephemeral: bool) -> Result<(), Error> {
    let message = CreateReply::default()
        .embed(embed)
        .ephemeral(ephemeral)
        .allowed_mentions(no_pings());
    retry_on_429(|| ctx.send(message.clone())).await?;
    Ok(())
}

/// Admin: reload the guidance, see usage and the gaps in the guidance
#[poise::command(
    slash_command,
    subcommands("reload", "stats", "status", "gaps", "forget", "logging"),
    subcommand_required,
    guild_only,
    default_member_permissions = "MANAGE_GUILD",
    check = "admin_only"
)]
pub async fn admin(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Reload the knowledge folder; on errors the current guidance keeps serving
#[poise::command(slash_command, guild_only, check = "admin_only")]
pub async fn reload(ctx: Context<'_>) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let report = reloads::reload(ctx.data(), "the reload command").await;
    send_embed(ctx, report.embed(), true).await
}

/// Questions asked, answered and refused, and feedback: since start and week by week
#[poise::command(slash_command, guild_only, check = "admin_only")]
pub async fn stats(
    ctx: Context<'_>,
    #[description = "How many weeks of the question log to show (default 8)"]
    #[min = 1]
    #[max = 52]
    weeks: Option<u32>,
) -> Result<(), Error> {
    let state = ctx.data();
    let s = &state.stats;
    let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let uptime = state.started.elapsed().as_secs();
    let mut embed = CreateEmbed::new()
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
    let mut message = CreateReply::default()
        .ephemeral(true)
        .allowed_mentions(no_pings());
    if let Some(log) = &state.log {
        let weeks = weeks.unwrap_or(8).clamp(1, 52);
        match log.stats(weeks).await {
            Ok(figures) => {
                for (name, value) in reply::weekly_fields(&figures) {
                    embed = embed.field(name, value, false);
                }
                match crate::qlog::chart_png(&figures) {
                    Ok(png) => {
                        embed = embed.image(format!("attachment://{}", reply::CHART_FILE));
                        message =
                            message.attachment(CreateAttachment::bytes(png, reply::CHART_FILE));
                    }
                    Err(e) => tracing::warn!("cannot draw the stats chart: {e:#}"),
                }
            }
            Err(e) => {
                tracing::warn!("cannot read the question log: {e:#}");
                embed = embed.field(
                    "Question log",
                    "The question log cannot be read now.",
                    false,
                );
            }
        }
    }
    let message = message.embed(embed);
    retry_on_429(|| ctx.send(message.clone())).await?;
    Ok(())
}

/// What is serving: documents, passages, the last reload and its errors, the question log
#[poise::command(slash_command, guild_only, check = "admin_only")]
pub async fn status(ctx: Context<'_>) -> Result<(), Error> {
    let state = ctx.data();
    let engine = state.engine();
    let embed = reply::status(&reply::Status {
        documents: engine.documents.len(),
        passages: engine.num_passages(),
        last_reload: state.last_reload(),
        watching: state.watching.load(Ordering::Relaxed),
        log: state.log.as_ref().map(|l| l.dropped()),
    });
    send_embed(ctx, embed, true).await
}

/// The questions I could not answer (or that were voted down), most asked first
#[poise::command(slash_command, guild_only, check = "admin_only")]
pub async fn gaps(
    ctx: Context<'_>,
    #[description = "Questions of the last how many days (default 30)"]
    #[min = 1]
    #[max = 3650]
    days: Option<u32>,
) -> Result<(), Error> {
    let Some(log) = &ctx.data().log else {
        return say_privately(ctx, reply::LOG_OFF).await;
    };
    let days = days.unwrap_or(30);
    let open: Vec<crate::qlog::Gap> = log
        .gaps(days)
        .await?
        .into_iter()
        .filter(|g| g.status == crate::qlog::GapStatus::Open)
        .collect();
    let (embed, components) = reply::gaps(&open, days, ctx.id());
    let message = CreateReply::default()
        .embed(embed)
        .components(components)
        .ephemeral(true)
        .allowed_mentions(no_pings());
    retry_on_429(|| ctx.send(message.clone())).await?;
    Ok(())
}

/// Erase this server's questions from the question log
#[poise::command(slash_command, guild_only, check = "admin_only")]
pub async fn forget(
    ctx: Context<'_>,
    #[description = "True to erase at once, without a confirmation button"] confirm: Option<bool>,
) -> Result<(), Error> {
    let Some(log) = &ctx.data().log else {
        return say_privately(ctx, reply::LOG_OFF).await;
    };
    let Some(guild) = ctx.guild_id().map(|g| g.get()) else {
        return Ok(());
    };
    if confirm == Some(true) {
        let erased = log.forget(guild).await?;
        tracing::info!(erased, "a server's questions were erased from the log");
        return say_privately(ctx, &reply::forgotten(erased)).await;
    }
    let message = CreateReply::default()
        .content("This erases every question asked in this server from the question log. It cannot be undone.")
        .components(vec![reply::confirm_forget(guild, ctx.id())])
        .ephemeral(true)
        .allowed_mentions(no_pings());
    retry_on_429(|| ctx.send(message.clone())).await?;
    Ok(())
}

/// On or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter)]
pub enum Switch {
    #[name = "on"]
    On,
    #[name = "off"]
    Off,
}

/// Turn the question log on or off for this server
#[poise::command(slash_command, guild_only, check = "admin_only")]
pub async fn logging(
    ctx: Context<'_>,
    #[description = "on: questions asked here are logged; off: they are not"] switch: Switch,
) -> Result<(), Error> {
    let Some(log) = &ctx.data().log else {
        return say_privately(ctx, reply::LOG_OFF).await;
    };
    let Some(guild) = ctx.guild_id().map(|g| g.get()) else {
        return Ok(());
    };
    log.set_opt_out(guild, switch == Switch::Off).await?;
    tracing::info!(
        on = switch == Switch::On,
        "a server changed its question logging"
    );
    let text = match switch {
        Switch::On => "Questions asked in this server are logged (without who asked).".to_string(),
        Switch::Off => format!(
            "Questions asked in this server are no longer logged. /{} forget erases what was logged before.",
            ctx.data().commands.admin
        ),
    };
    say_privately(ctx, &text).await
}

#[cfg(test)]
mod tests {
    use super::programme_choices;
    use crate::knowledge::{Knowledge, Programme};

    #[test]
    fn autocomplete_offers_at_most_25_short_choices() {
        let programmes: Vec<Programme> = (0..60)
            .map(|i| Programme {
                code: format!("NPQX{i}"),
                name: format!("NPQ in leading {} {i}", "very ".repeat(40)),
                aliases: vec![],
                for_whom: "x".into(),
                duration: "x".into(),
                covers: "x".into(),
                ..Programme::default()
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
