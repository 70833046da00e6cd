//! Answers as Discord messages: an embed with cited snippets, link buttons to the sources,
//! paging and feedback buttons. Pure functions, so every Discord limit is tested without Discord.

use serenity::all::{
    ButtonStyle, CreateActionRow, CreateAllowedMentions, CreateButton, CreateEmbed,
    CreateEmbedFooter,
};

use crate::answer::{Answer, ResultItem};
use crate::knowledge::wording::Commands;
use crate::knowledge::{Kind, Programme, Source, Wording};

/// Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
pub mod limits {
    pub const CONTENT: usize = 2000;
    pub const EMBED_TITLE: usize = 256;
    pub const EMBED_DESCRIPTION: usize = 4096;
    pub const FIELD_NAME: usize = 256;
    pub const FIELD_VALUE: usize = 1024;
    pub const FIELDS: usize = 25;
    pub const FOOTER: usize = 2048;
    pub const EMBED_TOTAL: usize = 6000;
    pub const BUTTON_LABEL: usize = 80;
    pub const CUSTOM_ID: usize = 100;
    pub const BUTTONS_PER_ROW: usize = 5;
    pub const ROWS: usize = 5;
    pub const AUTOCOMPLETE_CHOICES: usize = 25;
    pub const CHOICE_NAME: usize = 100;
    pub const URL: usize = 512;
}

/// The embed colour: a calm teal.
const COLOUR: u32 = 0x1f7a8c;

/// Replies never ping anyone, whatever the question or the knowledge contains.
pub fn no_pings() -> CreateAllowedMentions {
    CreateAllowedMentions::new()
        .empty_users()
        .empty_roles()
        .everyone(false)
        .replied_user(false)
}

pub use crate::query::is_format_char;

/// Escapes Discord Markdown and defuses mentions in text shown to users; control characters
/// become spaces and format characters are removed.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if is_format_char(c) => {}
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '#' | '[' | ']' | '(' | ')' | '<' => {
                out.push('\\');
                out.push(c);
            }
            // A zero-width space after @ keeps @everyone and @here from meaning anything.
            '@' => out.push_str("@\u{200b}"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Text for places where Discord shows Markdown literally (embed titles): mentions defused,
/// control characters removed, nothing else changed.
pub fn plain(text: &str) -> String {
    text.chars()
        .filter(|&c| !is_format_char(c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .replace('@', "@\u{200b}")
}

/// At most `max` characters, cut at a word boundary with `…`, never leaving a dangling escape.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut = crate::answer::cut_at_word(text, max);
    // A trailing backslash would escape the ellipsis; drop it.
    while cut.trim_end_matches('\u{2026}').ends_with('\\') {
        let body = cut.trim_end_matches('\u{2026}');
        cut = format!("{}\u{2026}", &body[..body.len() - 1]);
    }
    cut
}

/// The snippet with the user's words in bold, escaped.
pub fn bold_snippet(result: &ResultItem) -> String {
    let s = &result.snippet;
    let mut out = String::new();
    let mut at = 0;
    let mut ranges = result.highlights.clone();
    ranges.sort_by_key(|r| r.start);
    for r in ranges {
        let valid = r.start >= at
            && r.end <= s.len()
            && s.is_char_boundary(r.start)
            && s.is_char_boundary(r.end)
            && r.start < r.end;
        if !valid {
            continue;
        }
        out.push_str(&escape(&s[at..r.start]));
        out.push_str("**");
        out.push_str(&escape(&s[r.start..r.end]));
        out.push_str("**");
        at = r.end;
    }
    out.push_str(&escape(&s[at..]));
    out
}

/// "Publisher, “Page” (date)".
/// "Source: ..." for the snippet's own source, then "Also cites: ..." for the passage's others.
pub fn citations_of(r: &ResultItem) -> String {
    let mut out = format!("Source: {}", citation(&r.source));
    let others: Vec<String> = r
        .sources
        .iter()
        .filter(|s| **s != r.source)
        .map(citation)
        .collect();
    if !others.is_empty() {
        out.push_str(&format!("\nAlso cites: {}", others.join("; ")));
    }
    out
}

pub fn citation(source: &Source) -> String {
    escape(&source.cite())
}

/// One page of an answer, ready to send.
#[derive(Debug, Clone)]
pub struct Reply {
    pub embed: CreateEmbed,
    pub components: Vec<CreateActionRow>,
}

/// Identifies a question for the paging and feedback buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buttons {
    pub question_id: u64,
    pub page: usize,
    pub has_more: bool,
}

/// Custom ids of the buttons and modals: short, well under Discord's 100 characters. Each
/// names what it acts on and the interaction or message it was sent with, so a button only
/// acts where it was put.
pub mod custom_id {
    /// The first part of every id. It is the same whatever the commands are called, so the
    /// buttons of messages already sent keep working after `wording.toml` renames them.
    const PREFIX: &str = "npq";

    pub fn more(question_id: u64, page: usize) -> String {
        format!("{PREFIX}:more:{question_id}:{page}")
    }
    pub fn vote(question_id: u64, up: bool) -> String {
        format!("{PREFIX}:{}:{question_id}", if up { "up" } else { "down" })
    }
    /// Dismiss the gap `key`, on the gap list made for interaction `list`.
    pub fn dismiss(key: &str, list: u64) -> String {
        format!("{PREFIX}:gap:dismiss:{key}:{list}")
    }
    /// Open the modal to answer the gap `key`, on the gap list made for interaction `list`.
    pub fn answer_gap(key: &str, list: u64) -> String {
        format!("{PREFIX}:gap:answer:{key}:{list}")
    }
    /// The modal that answers the gap `key`.
    pub fn answer_modal(key: &str) -> String {
        format!("{PREFIX}:gap:modal:{key}")
    }
    /// Erase `guild`'s questions, on the confirmation made for interaction `origin`.
    pub fn forget(guild: u64, origin: u64) -> String {
        format!("{PREFIX}:forget:{guild}:{origin}")
    }

    /// A parsed button press or modal.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Press {
        More { question_id: u64, page: usize },
        Vote { question_id: u64, up: bool },
        Dismiss { key: String, list: u64 },
        AnswerGap { key: String, list: u64 },
        AnswerModal { key: String },
        Forget { guild: u64, origin: u64 },
    }

    /// A gap key as the log makes them: letters, digits, `-` and `_`, at most 40.
    fn key(text: &str) -> Option<String> {
        let ok = !text.is_empty()
            && text.len() <= 40
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        ok.then(|| text.to_string())
    }

    pub fn parse(id: &str) -> Option<Press> {
        let parts: Vec<&str> = id.split(':').collect();
        match parts.as_slice() {
            [PREFIX, "more", question_id, page] => Some(Press::More {
                question_id: question_id.parse().ok()?,
                page: page.parse().ok()?,
            }),
            [PREFIX, "up", question_id] => Some(Press::Vote {
                question_id: question_id.parse().ok()?,
                up: true,
            }),
            [PREFIX, "down", question_id] => Some(Press::Vote {
                question_id: question_id.parse().ok()?,
                up: false,
            }),
            [PREFIX, "gap", "dismiss", k, list] => Some(Press::Dismiss {
                key: key(k)?,
                list: list.parse().ok()?,
            }),
            [PREFIX, "gap", "answer", k, list] => Some(Press::AnswerGap {
                key: key(k)?,
                list: list.parse().ok()?,
            }),
            [PREFIX, "gap", "modal", k] => Some(Press::AnswerModal { key: key(k)? }),
            [PREFIX, "forget", guild, origin] => Some(Press::Forget {
                guild: guild.parse().ok()?,
                origin: origin.parse().ok()?,
            }),
            _ => None,
        }
    }

    /// The custom ids of the text inputs of the answer modal.
    pub mod field {
        pub const QUESTION: &str = "question";
        pub const ANSWER: &str = "answer";
        pub const PUBLISHER: &str = "publisher";
        pub const URL: &str = "url";
        pub const DATE: &str = "date";
    }
}

/// Embed size as Discord counts it: title, description, field names and values, footer.
fn embed_size(title: &str, description: &str, fields: &[(String, String)], footer: &str) -> usize {
    let n = |s: &str| s.chars().count();
    n(title) + n(description) + fields.iter().map(|(a, b)| n(a) + n(b)).sum::<usize>() + n(footer)
}

fn heading_of(r: &ResultItem) -> String {
    if r.title == r.section {
        r.title.clone()
    } else {
        format!("{} \u{203a} {}", r.title, r.section)
    }
}

/// The answer (or refusal) as one page: the best snippet in the description, up to two further
/// results as fields, each with its citation, link buttons to the sources, and More/feedback.
/// The footer is the folder's wording, naming `commands`.
pub fn answer(
    answer: &Answer,
    buttons: Option<Buttons>,
    wording: &Wording,
    commands: &Commands,
) -> Reply {
    if !answer.answered || answer.results.is_empty() {
        return refusal(answer);
    }
    let title = truncate(
        &plain(&format!("Q: {}", answer.question.trim())),
        limits::EMBED_TITLE,
    );
    let best = &answer.results[0];
    let note = answer
        .note
        .as_deref()
        .map(|n| format!("\n\n*{}*", escape(n)))
        .unwrap_or_default();
    let description = truncate(
        &format!(
            "{}\n\n*{}*\n{}{note}",
            bold_snippet(best),
            escape(&heading_of(best)),
            citations_of(best)
        ),
        limits::EMBED_DESCRIPTION,
    );
    let page = buttons.map_or(0, |b| b.page);
    let footer = truncate(&wording.answer_footer(page, commands), limits::FOOTER);
    let mut fields: Vec<(String, String)> = answer.results[1..]
        .iter()
        .take(2)
        .map(|r| {
            let name = truncate(&escape(&heading_of(r)), limits::FIELD_NAME);
            let value = truncate(
                &format!("{}\n{}", bold_snippet(r), citations_of(r)),
                limits::FIELD_VALUE,
            );
            (name, value)
        })
        .collect();
    while embed_size(&title, &description, &fields, &footer) > limits::EMBED_TOTAL
        && !fields.is_empty()
    {
        fields.pop();
    }
    let mut embed = CreateEmbed::new()
        .title(title)
        .description(description)
        .colour(COLOUR)
        .footer(CreateEmbedFooter::new(footer));
    for (name, value) in fields {
        embed = embed.field(name, value, false);
    }
    let mut components = Vec::new();
    let links = source_links(&answer.results);
    if !links.is_empty() {
        components.push(CreateActionRow::Buttons(links));
    }
    if let Some(b) = buttons {
        let mut row = Vec::new();
        if b.has_more {
            row.push(
                CreateButton::new(custom_id::more(b.question_id, b.page + 1))
                    .label("More")
                    .style(ButtonStyle::Secondary),
            );
        }
        row.push(
            CreateButton::new(custom_id::vote(b.question_id, true))
                .label("Helpful")
                .emoji('\u{1f44d}')
                .style(ButtonStyle::Secondary),
        );
        row.push(
            CreateButton::new(custom_id::vote(b.question_id, false))
                .label("Not helpful")
                .emoji('\u{1f44e}')
                .style(ButtonStyle::Secondary),
        );
        components.push(CreateActionRow::Buttons(row));
    }
    Reply { embed, components }
}

/// Link buttons to the distinct web addresses the results cite (at most one row).
fn source_links(results: &[ResultItem]) -> Vec<CreateButton> {
    let mut seen: Vec<String> = Vec::new();
    let mut buttons = Vec::new();
    for source in results.iter().flat_map(|r| r.sources.iter()) {
        let Some(url) = source.url.as_deref().and_then(link_url) else {
            continue;
        };
        if seen.contains(&url) || buttons.len() == limits::BUTTONS_PER_ROW {
            continue;
        }
        let label = truncate(&plain(&source.publisher), limits::BUTTON_LABEL);
        buttons.push(CreateButton::new_link(url.clone()).label(label));
        seen.push(url);
    }
    buttons
}

/// A source address Discord accepts on a link button: parsed as a URL, `http` or `https`, with a
/// host and no credentials, at most 512 characters once normalised (spaces and other stray
/// characters percent-encoded by the parser). `None` drops the button; the citation stays.
pub fn link_url(raw: &str) -> Option<String> {
    let raw = raw.trim();
    // The parser reads "http:///x" as "http://x/"; a missing host is a mistake, not a host.
    let after_scheme = raw.split_once("://").map(|(_, rest)| rest)?;
    if after_scheme.starts_with(['/', '\\']) {
        return None;
    }
    let url = url::Url::parse(raw).ok()?;
    let web = matches!(url.scheme(), "https" | "http");
    let host = url.host_str().is_some_and(|h| !h.is_empty());
    let credentials = !url.username().is_empty() || url.password().is_some();
    let text = url.as_str();
    (web && host && !credentials && text.len() <= limits::URL).then(|| text.to_string())
}

/// What the bot can answer, and where else to ask.
pub fn refusal(answer: &Answer) -> Reply {
    let mut description = String::new();
    if let Some(r) = &answer.refusal {
        if let Some(detail) = &r.detail {
            description.push_str(&format!("**{}**\n", escape(detail)));
        }
        description.push_str(&escape(&r.message));
        if !r.topics.is_empty() {
            description.push_str("\n\n**I can answer questions about:**\n");
            for t in &r.topics {
                description.push_str(&format!("\u{2022} {}\n", escape(t)));
            }
        }
        if !r.elsewhere.is_empty() {
            description.push_str("\n**For anything else, try:**\n");
            for e in &r.elsewhere {
                description.push_str(&format!("\u{2022} {}\n", escape(e)));
            }
        }
    }
    let title = truncate(
        &plain(&format!("Q: {}", answer.question.trim())),
        limits::EMBED_TITLE,
    );
    let description = truncate(&description, limits::EMBED_DESCRIPTION);
    // The closest passages, under their own heading: related, not an answer.
    let heading = answer
        .refusal
        .as_ref()
        .and_then(|r| r.related_heading.as_deref())
        .unwrap_or_default();
    let mut fields: Vec<(String, String)> = answer
        .related
        .iter()
        .take(2)
        .map(|r| {
            let name = truncate(
                &escape(&format!("{heading}: {}", heading_of(r))),
                limits::FIELD_NAME,
            );
            let value = truncate(
                &format!("{}\n{}", escape(&r.snippet), citations_of(r)),
                limits::FIELD_VALUE,
            );
            (name, value)
        })
        .collect();
    while embed_size(&title, &description, &fields, "") > limits::EMBED_TOTAL && !fields.is_empty()
    {
        fields.pop();
    }
    let mut embed = CreateEmbed::new()
        .title(title)
        .description(description)
        .colour(COLOUR);
    for (name, value) in fields {
        embed = embed.field(name, value, false);
    }
    let links = source_links(&answer.related);
    let components = if links.is_empty() {
        Vec::new()
    } else {
        vec![CreateActionRow::Buttons(links)]
    };
    Reply { embed, components }
}

/// A card for one programme.
pub fn programme_card(p: &Programme) -> CreateEmbed {
    let field = |v: &str| truncate(&escape(v), limits::FIELD_VALUE);
    let mut embed = CreateEmbed::new()
        .title(truncate(
            &plain(&format!("{} ({})", p.name, p.code)),
            limits::EMBED_TITLE,
        ))
        .description(truncate(&escape(&p.covers), limits::EMBED_DESCRIPTION))
        .colour(COLOUR);
    if let Some(kind) = &p.kind {
        embed = embed.field(
            "Kind",
            truncate(&escape(&kind.id), limits::FIELD_VALUE),
            true,
        );
    }
    embed = embed
        .field("Who it is for", field(&p.for_whom), false)
        .field("How long", field(&p.duration), false);
    if !p.funding.is_empty() {
        embed = embed.field(
            truncate(
                &format!("Funding (as of {})", p.funding_as_of),
                limits::FIELD_NAME,
            ),
            field(&p.funding),
            false,
        );
    }
    if !p.aliases.is_empty() {
        embed = embed.field("Also called", field(&p.aliases.join(", ")), false);
    }
    let sources: Vec<String> = p.sources.iter().map(citation).collect();
    if !sources.is_empty() {
        embed = embed.field(
            "Sources",
            truncate(&sources.join("\n"), limits::FIELD_VALUE),
            false,
        );
    }
    embed
}

/// Link buttons for a programme card's sources.
pub fn programme_links(p: &Programme) -> Vec<CreateActionRow> {
    let items: Vec<ResultItem> = vec![ResultItem {
        title: String::new(),
        section: String::new(),
        snippet: String::new(),
        score: 0.0,
        source: p
            .sources
            .first()
            .cloned()
            .unwrap_or_else(|| Source::unsourced("programmes.toml")),
        sources: p.sources.clone(),
        highlights: Vec::new(),
        document: String::new(),
    }];
    let links = source_links(&items);
    if links.is_empty() {
        Vec::new()
    } else {
        vec![CreateActionRow::Buttons(links)]
    }
}

/// The programmes grouped by `kinds`, in their order, each group under its heading; without
/// kinds, all of them under the wording's one heading.
pub fn programme_list(
    kinds: &[Kind],
    programmes: &[Programme],
    wording: &Wording,
    commands: &Commands,
) -> CreateEmbed {
    let fill = |text: &str, max: usize| truncate(&plain(&Wording::fill(text, commands)), max);
    let title = fill(&wording.programmes.title, limits::EMBED_TITLE);
    let footer = fill(&wording.programmes.footer, limits::FOOTER);
    let line = |p: &Programme| format!("**{}**: {}", escape(&p.code), escape(&p.name));
    let mut groups: Vec<(String, Vec<String>)> = kinds
        .iter()
        .map(|k| {
            let members = programmes
                .iter()
                .filter(|p| p.kind.as_ref().is_some_and(|pk| pk.id == k.id))
                .map(line)
                .collect();
            (truncate(&plain(&k.heading), limits::FIELD_NAME), members)
        })
        .collect();
    let ungrouped: Vec<String> = programmes
        .iter()
        .filter(|p| p.kind.is_none())
        .map(line)
        .collect();
    groups.push((
        fill(&wording.programmes.heading, limits::FIELD_NAME),
        ungrouped,
    ));
    let mut fields: Vec<(String, String)> = groups
        .into_iter()
        .filter(|(_, lines)| !lines.is_empty())
        .take(limits::FIELDS)
        .map(|(heading, lines)| (heading, truncate(&lines.join("\n"), limits::FIELD_VALUE)))
        .collect();
    while embed_size(&title, "", &fields, &footer) > limits::EMBED_TOTAL && !fields.is_empty() {
        fields.pop();
    }
    let mut embed = CreateEmbed::new().title(title).colour(COLOUR);
    for (heading, value) in fields {
        embed = embed.field(heading, value, false);
    }
    embed.footer(CreateEmbedFooter::new(footer))
}

/// The documents the bot answers from, with their publishers and dates.
pub fn sources_list(documents: &[crate::answer::DocumentInfo]) -> CreateEmbed {
    let mut embed = CreateEmbed::new()
        .title("What I answer from")
        .colour(COLOUR);
    let mut fields: Vec<(String, String)> = Vec::new();
    for d in documents {
        let mut cited: Vec<String> = d
            .sources
            .iter()
            .map(|s| {
                format!(
                    "{} ({})",
                    s.publisher,
                    if s.date.is_empty() {
                        "undated"
                    } else {
                        &s.date
                    }
                )
            })
            .collect();
        cited.dedup();
        let value = if cited.is_empty() {
            "no source named".to_string()
        } else {
            cited.join("; ")
        };
        fields.push((
            truncate(&escape(&d.title), limits::FIELD_NAME),
            truncate(&escape(&value), limits::FIELD_VALUE),
        ));
    }
    let footer = format!(
        "{} documents. Every answer cites its source and date.",
        documents.len()
    );
    let shown = limits::FIELDS - 1;
    let hidden = fields.len().saturating_sub(shown);
    fields.truncate(shown);
    while embed_size("What I answer from", "", &fields, &footer) > limits::EMBED_TOTAL - 100
        && !fields.is_empty()
    {
        fields.pop();
    }
    let more = documents.len() - fields.len();
    for (name, value) in fields {
        embed = embed.field(name, value, false);
    }
    if more > 0 || hidden > 0 {
        embed = embed.description(format!(
            "Showing {} of {} documents.",
            documents.len() - more,
            documents.len()
        ));
    }
    embed.footer(CreateEmbedFooter::new(footer))
}

/// A reload that swapped in the new guidance, with the files it left out (as `path:line`).
pub fn reloaded(documents: usize, passages: u64, skipped: &[String]) -> CreateEmbed {
    let mut text = format!("Now answering from {documents} documents ({passages} passages).");
    if !skipped.is_empty() {
        text.push_str(
            "\n\nThese files have errors and were left out; fix them and reload again:\n```\n",
        );
        push_errors(&mut text, skipped);
    }
    CreateEmbed::new().title("Reloaded").description(text)
}

/// Why a reload was refused: as many `path:line` errors as fit, and how many more there are.
pub fn reload_refused(errors: &[String]) -> CreateEmbed {
    let mut text = String::from("The new files have errors, so I kept the current guidance. Fix these and reload again:\n```\n");
    push_errors(&mut text, errors);
    CreateEmbed::new().title("Reload refused").description(text)
}

/// Appends as many `errors` as fit in a description to `text` (inside an open code block),
/// closes the block, and counts the rest.
fn push_errors(text: &mut String, errors: &[String]) {
    let budget = limits::EMBED_DESCRIPTION - 200;
    let mut shown = 0;
    for e in errors {
        // Inside a code block only the fence itself needs care.
        let line = truncate(&e.replace("```", "'''"), 500);
        if text.chars().count() + line.chars().count() > budget {
            break;
        }
        text.push_str(&line);
        text.push('\n');
        shown += 1;
    }
    text.push_str("```");
    if shown < errors.len() {
        text.push_str(&format!(
            "\n...and {} more; run `npq-bot check` to see them all.",
            errors.len() - shown
        ));
    }
}

/// How many gap groups one list shows: each has its own row of buttons, and a message holds
/// five rows.
pub const GAPS_SHOWN: usize = 5;

/// The file name of the stats chart, attached to the stats reply.
pub const CHART_FILE: &str = "stats.png";

/// The open gaps, most asked first, each with its count, when it was last asked and its
/// phrasings (escaped), and a row of Dismiss and "Answer this" buttons bound to the list.
pub fn gaps(
    open: &[crate::qlog::Gap],
    days: u32,
    list: u64,
) -> (CreateEmbed, Vec<CreateActionRow>) {
    let mut embed = CreateEmbed::new()
        .title(format!("Open gaps, last {days} days"))
        .colour(COLOUR);
    if open.is_empty() {
        embed = embed.description(
            "No open gaps: every question logged in that time was answered, or its gap dealt with.",
        );
        return (embed, Vec::new());
    }
    embed = embed.description(format!(
        "{} open gap group(s): questions I could not answer, or whose answers were voted down. Showing the {} most asked.",
        open.len(),
        open.len().min(GAPS_SHOWN)
    ));
    let mut rows = Vec::new();
    for (n, gap) in open.iter().take(GAPS_SHOWN).enumerate() {
        let name = truncate(
            &format!(
                "{}. Asked {} time(s), last on {}",
                n + 1,
                gap.count,
                plain(&gap.last_asked)
            ),
            limits::FIELD_NAME,
        );
        let examples: Vec<String> = gap
            .examples
            .iter()
            .map(|e| format!("\u{2022} {}", truncate(&escape(e), 300)))
            .collect();
        let value = truncate(&examples.join("\n"), limits::FIELD_VALUE);
        embed = embed.field(
            name,
            if value.is_empty() { "-".into() } else { value },
            false,
        );
        rows.push(CreateActionRow::Buttons(vec![
            CreateButton::new(custom_id::answer_gap(&gap.key, list))
                .label(format!("Answer this ({})", n + 1))
                .style(ButtonStyle::Primary),
            CreateButton::new(custom_id::dismiss(&gap.key, list))
                .label(format!("Dismiss ({})", n + 1))
                .style(ButtonStyle::Secondary),
        ]));
    }
    (embed, rows)
}

/// The modal an admin writes an answer in: the question (filled in with the gap's first
/// phrasing), the answer, and its source's publisher, address and date.
pub fn answer_modal(key: &str, question: &str) -> serenity::all::CreateModal {
    use serenity::all::{CreateInputText, InputTextStyle};
    let question = truncate(question.trim(), 300);
    let mut ask = CreateInputText::new(
        InputTextStyle::Short,
        "Question",
        custom_id::field::QUESTION,
    )
    .max_length(300)
    .required(true);
    if !question.is_empty() {
        ask = ask.value(question);
    }
    let rows = vec![
        CreateActionRow::InputText(ask),
        CreateActionRow::InputText(
            CreateInputText::new(
                InputTextStyle::Paragraph,
                "Answer",
                custom_id::field::ANSWER,
            )
            .placeholder("Sentences that stand alone, in your own words")
            .max_length(2000)
            .required(true),
        ),
        CreateActionRow::InputText(
            CreateInputText::new(
                InputTextStyle::Short,
                "Source publisher",
                custom_id::field::PUBLISHER,
            )
            .max_length(200)
            .required(true),
        ),
        CreateActionRow::InputText(
            CreateInputText::new(InputTextStyle::Short, "Source URL", custom_id::field::URL)
                .placeholder("https://...")
                .max_length(limits::URL as u16)
                .required(false),
        ),
        CreateActionRow::InputText(
            CreateInputText::new(InputTextStyle::Short, "Source date", custom_id::field::DATE)
                .placeholder("YYYY-MM-DD, YYYY-MM, YYYY or undated")
                .max_length(10)
                .required(true),
        ),
    ];
    serenity::all::CreateModal::new(custom_id::answer_modal(key), "Answer a question")
        .components(rows)
}

/// The weekly figures of the question log as embed fields: a line per week, then the most
/// asked topics.
pub fn weekly_fields(stats: &crate::qlog::Stats) -> Vec<(String, String)> {
    let mut weeks = String::new();
    for w in stats.weeks.iter().rev() {
        let line = format!(
            "{}: {} asked, {} answered, {} refused, \u{1f44d} {} \u{1f44e} {}\n",
            w.week, w.questions, w.answered, w.refused, w.thumbs_up, w.thumbs_down
        );
        if weeks.chars().count() + line.chars().count() > limits::FIELD_VALUE {
            break;
        }
        weeks.push_str(&line);
    }
    let mut fields = vec![(
        "Week by week (question log)".to_string(),
        if weeks.is_empty() {
            "-".to_string()
        } else {
            weeks
        },
    )];
    let topics: Vec<String> = stats
        .topics
        .iter()
        .map(|(topic, n)| format!("\u{2022} {} ({n})", escape(topic)))
        .collect();
    if !topics.is_empty() {
        fields.push((
            "Most asked topics".to_string(),
            truncate(&topics.join("\n"), limits::FIELD_VALUE),
        ));
    }
    fields
}

/// What the admin `status` shows.
#[derive(Debug)]
pub struct Status {
    pub documents: usize,
    pub passages: u64,
    pub last_reload: Option<crate::discord::reloads::LastReload>,
    pub watching: bool,
    /// The log's dropped count, when the log is on.
    pub log: Option<u64>,
}

pub fn status(s: &Status) -> CreateEmbed {
    let mut embed = CreateEmbed::new()
        .title("npq-bot status")
        .colour(COLOUR)
        .field("Documents", s.documents.to_string(), true)
        .field("Passages", s.passages.to_string(), true)
        .field(
            "Watching the folder",
            if s.watching { "yes" } else { "no" },
            true,
        );
    let log = match s.log {
        Some(dropped) => format!("on; {dropped} entries dropped (queue full) since start"),
        None => "off".to_string(),
    };
    embed = embed.field("Question log", log, false);
    let reload = match &s.last_reload {
        None => "none since start".to_string(),
        Some(r) => {
            let ago = r.at.elapsed().map_or(0, |d| d.as_secs());
            let what = match &r.outcome {
                crate::discord::state::Reloaded::Swapped {
                    documents, skipped, ..
                } if skipped.is_empty() => format!("swapped in ({documents} documents)"),
                crate::discord::state::Reloaded::Swapped {
                    documents, skipped, ..
                } => format!(
                    "swapped in ({documents} documents), {} file(s) left out",
                    skipped.len()
                ),
                crate::discord::state::Reloaded::Kept(errors) => format!(
                    "refused ({} error(s)): the previous guidance keeps serving",
                    errors.len()
                ),
            };
            format!("{what}, after {}, {}s ago", r.trigger, ago)
        }
    };
    embed = embed.field("Last reload", reload, false);
    let errors: &[String] = match &s.last_reload {
        Some(r) => match &r.outcome {
            crate::discord::state::Reloaded::Swapped { skipped, .. } => skipped,
            crate::discord::state::Reloaded::Kept(errors) => errors,
        },
        None => &[],
    };
    if !errors.is_empty() {
        let mut text = String::from("```\n");
        for e in errors {
            let line = truncate(&e.replace("```", "'''"), 300);
            if text.chars().count() + line.chars().count() > limits::FIELD_VALUE - 60 {
                break;
            }
            text.push_str(&line);
            text.push('\n');
        }
        text.push_str("```");
        embed = embed.field("Errors of the last reload", text, false);
    }
    embed
}

/// What to say when the question log is off in the settings.
pub const LOG_OFF: &str = "The question log is off (log.enabled = false in the settings).";

/// Why an answer written from Discord was not saved: the check's errors; nothing was kept.
pub fn answer_refused(errors: &[String]) -> CreateEmbed {
    let mut text = String::from(
        "Nothing was saved: the answer does not pass the knowledge checks. Fix these and try again:\n```\n",
    );
    push_errors(&mut text, errors);
    CreateEmbed::new()
        .title("Answer not saved")
        .description(text)
}

/// The reply after the admin `forget`.
pub fn forgotten(erased: u64) -> String {
    let s = if erased == 1 { "" } else { "s" };
    format!("Erased from the question log: {erased} question{s} asked in this server.")
}

/// The confirmation button of the admin `forget`.
pub fn confirm_forget(guild: u64, origin: u64) -> CreateActionRow {
    CreateActionRow::Buttons(vec![CreateButton::new(custom_id::forget(guild, origin))
        .label("Erase this server's questions")
        .style(ButtonStyle::Danger)])
}

/// The help text: the folder's wording, naming `commands`.
pub fn help(wording: &Wording, commands: &Commands) -> CreateEmbed {
    let fill = |text: &str, max: usize| truncate(&Wording::fill(text, commands), max);
    CreateEmbed::new()
        .title(plain(&fill(&wording.help.title, limits::EMBED_TITLE)))
        .colour(COLOUR)
        .description(fill(&wording.help.body, limits::EMBED_DESCRIPTION))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::RefusalText;

    fn item(n: usize, snippet: &str) -> ResultItem {
        let source = Source {
            id: None,
            publisher: format!("Publisher {n} @everyone"),
            title: "Page".into(),
            url: Some(format!("https://example.org/{n}")),
            date: "2024".into(),
            note: None,
        };
        ResultItem {
            title: format!("Doc {n}"),
            section: "Section".into(),
            snippet: snippet.into(),
            score: 1.0,
            source: source.clone(),
            sources: vec![source],
            highlights: std::iter::once(0..3).collect(),
            document: "d".into(),
        }
    }

    fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
        serde_json::to_value(v).unwrap()
    }

    fn chars(v: &serde_json::Value) -> usize {
        v.as_str().map_or(0, |s| s.chars().count())
    }

    fn programme(code: &str, kind: Option<&Kind>) -> Programme {
        Programme {
            code: code.into(),
            name: format!("{code} programme"),
            aliases: vec![],
            kind: kind.cloned(),
            for_whom: "x".into(),
            duration: "x".into(),
            covers: "x".into(),
            ..Programme::default()
        }
    }

    fn kind(id: &str, heading: &str) -> Kind {
        Kind {
            id: id.into(),
            heading: heading.into(),
            card: format!("a {id} trip"),
        }
    }

    fn field_names(e: &serde_json::Value) -> Vec<String> {
        e["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn the_programme_list_groups_by_the_declared_kinds_in_their_order() {
        let kinds = [
            kind("overnight", "Nights away"),
            kind("day", "Day trips"),
            kind("unused", "Nobody goes"),
        ];
        let programmes = [
            programme("MUSEUM", Some(&kinds[1])),
            programme("Y7RES", Some(&kinds[0])),
        ];
        let mut wording = Wording::default();
        wording.commands.name = "trips".into();
        let e = json(&programme_list(
            &kinds,
            &programmes,
            &wording,
            &wording.commands,
        ));
        assert_eq!(field_names(&e), ["Nights away", "Day trips"]);
        assert_eq!(e["title"], "The programmes");
        assert_eq!(
            e["footer"]["text"],
            "Use /trips programme for a card on one of them."
        );
        // Without kinds, every programme is under the one heading of the wording.
        let ungrouped: Vec<Programme> = programmes
            .iter()
            .map(|p| Programme {
                kind: None,
                ..p.clone()
            })
            .collect();
        let e = json(&programme_list(
            &[],
            &ungrouped,
            &wording,
            &wording.commands,
        ));
        assert_eq!(field_names(&e), ["Programmes"]);
        let value = e["fields"][0]["value"].as_str().unwrap();
        assert!(
            value.contains("**MUSEUM**") && value.contains("**Y7RES**"),
            "{value}"
        );
    }

    #[test]
    fn a_list_of_many_kinds_stays_within_the_embed_limits() {
        let kinds: Vec<Kind> = (0..40)
            .map(|i| kind(&format!("k{i}"), &"H".repeat(300)))
            .collect();
        let programmes: Vec<Programme> = kinds
            .iter()
            .flat_map(|k| {
                (0..20)
                    .map(move |i| programme(&format!("{}-{i}-{}", k.id, "x".repeat(60)), Some(k)))
            })
            .collect();
        let wording = Wording::default();
        let e = json(&programme_list(
            &kinds,
            &programmes,
            &wording,
            &wording.commands,
        ));
        let fields = e["fields"].as_array().unwrap();
        assert!(!fields.is_empty() && fields.len() <= limits::FIELDS);
        let total: usize = chars(&e["title"])
            + chars(&e["footer"]["text"])
            + fields
                .iter()
                .map(|f| chars(&f["name"]) + chars(&f["value"]))
                .sum::<usize>();
        assert!(total <= limits::EMBED_TOTAL, "{total}");
        assert!(fields
            .iter()
            .all(|f| chars(&f["name"]) <= limits::FIELD_NAME
                && chars(&f["value"]) <= limits::FIELD_VALUE));
    }

    #[test]
    fn help_names_the_registered_commands() {
        let wording = Wording::default();
        let mut registered = wording.commands.clone();
        registered.name = "trips".into();
        let e = json(&help(&wording, &registered));
        let body = e["description"].as_str().unwrap();
        assert!(
            body.contains("**/trips ask**") && !body.contains('{'),
            "{body}"
        );
        assert_eq!(e["title"], "Questions answered from sourced guidance");
    }

    #[test]
    fn a_card_shows_its_kind_only_when_kinds_are_declared() {
        let overnight = kind("overnight", "Nights away");
        let with = json(&programme_card(&programme("Y7RES", Some(&overnight))));
        assert_eq!(with["fields"][0]["name"], "Kind");
        assert_eq!(with["fields"][0]["value"], "overnight");
        let without = json(&programme_card(&programme("Y7RES", None)));
        assert!(!field_names(&without).contains(&"Kind".to_string()));
    }

    #[test]
    fn mentions_and_markdown_are_defused() {
        assert_eq!(
            escape("@everyone *bold* <@123>"),
            "@\u{200b}everyone \\*bold\\* \\<@\u{200b}123\\>"
        );
    }

    #[test]
    fn button_ids_round_trip_and_stay_short() {
        let id = custom_id::more(u64::MAX, 12345);
        assert!(id.len() <= limits::CUSTOM_ID);
        assert_eq!(
            custom_id::parse(&id),
            Some(custom_id::Press::More {
                question_id: u64::MAX,
                page: 12345
            })
        );
        assert_eq!(
            custom_id::parse(&custom_id::vote(7, false)),
            Some(custom_id::Press::Vote {
                question_id: 7,
                up: false
            })
        );
        assert_eq!(custom_id::parse("npq:more:x:1"), None);
        assert_eq!(custom_id::parse("other"), None);
    }

    #[test]
    fn admin_button_ids_name_what_they_act_on_and_where_they_were_sent() {
        let key = "0123456789abcdef";
        for (id, press) in [
            (
                custom_id::dismiss(key, u64::MAX),
                custom_id::Press::Dismiss {
                    key: key.into(),
                    list: u64::MAX,
                },
            ),
            (
                custom_id::answer_gap(key, 5),
                custom_id::Press::AnswerGap {
                    key: key.into(),
                    list: 5,
                },
            ),
            (
                custom_id::answer_modal(key),
                custom_id::Press::AnswerModal { key: key.into() },
            ),
            (
                custom_id::forget(u64::MAX, u64::MAX),
                custom_id::Press::Forget {
                    guild: u64::MAX,
                    origin: u64::MAX,
                },
            ),
        ] {
            assert!(id.len() <= limits::CUSTOM_ID, "{id}");
            assert_eq!(custom_id::parse(&id), Some(press));
        }
        // A key is letters, digits, - and _: nothing else gets through.
        for bad in [
            "npq:gap:dismiss:../x:1",
            "npq:gap:dismiss::1",
            "npq:gap:modal:a/b",
            "npq:gap:answer:k:notanumber",
            "npq:forget:1",
        ] {
            assert_eq!(custom_id::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_answer_form_fits_discords_modal_limits() {
        let modal = serde_json::to_value(answer_modal("k", &"question ".repeat(100))).unwrap();
        assert!(modal["title"].as_str().unwrap().chars().count() <= 45);
        let rows = modal["components"].as_array().unwrap();
        assert_eq!(rows.len(), 5);
        for row in rows {
            let input = &row["components"][0];
            assert_eq!(input["type"], 4);
            assert!(input["label"].as_str().unwrap().chars().count() <= 45);
            let value = input["value"].as_str().unwrap_or("");
            assert!(value.chars().count() <= input["max_length"].as_u64().unwrap() as usize);
        }
    }

    #[test]
    fn an_answer_respects_every_embed_limit_even_at_the_extremes() {
        let huge = "word ".repeat(3000);
        let answer = Answer {
            question: "q".repeat(5000),
            answered: true,
            results: vec![item(1, &huge), item(2, &huge), item(3, &huge)],
            refusal: None,
            related: Vec::new(),
            coverage: 1.0,
            note: None,
        };
        let wording = Wording::default();
        let reply = super::answer(
            &answer,
            Some(Buttons {
                question_id: u64::MAX,
                page: 0,
                has_more: true,
            }),
            &wording,
            &wording.commands,
        );
        let e = json(&reply.embed);
        assert!(chars(&e["title"]) <= limits::EMBED_TITLE);
        assert!(chars(&e["description"]) <= limits::EMBED_DESCRIPTION);
        let fields = e["fields"].as_array().unwrap();
        assert!(fields.len() <= 2);
        let mut total = chars(&e["title"]) + chars(&e["description"]) + chars(&e["footer"]["text"]);
        for f in fields {
            assert!(chars(&f["name"]) <= limits::FIELD_NAME);
            assert!(chars(&f["value"]) <= limits::FIELD_VALUE);
            total += chars(&f["name"]) + chars(&f["value"]);
        }
        assert!(total <= limits::EMBED_TOTAL, "{total}");
        for row in &reply.components {
            let row = json(row);
            let buttons = row["components"].as_array().unwrap();
            assert!(buttons.len() <= limits::BUTTONS_PER_ROW);
            for b in buttons {
                assert!(chars(&b["label"]) <= limits::BUTTON_LABEL);
                assert!(chars(&b["custom_id"]) <= limits::CUSTOM_ID);
            }
        }
    }

    #[test]
    fn the_users_words_are_bold_and_everything_else_escaped() {
        let r = item(1, "NPQ_H takes *18* months");
        assert_eq!(bold_snippet(&r), "**NPQ**\\_H takes \\*18\\* months");
    }

    #[test]
    fn a_refusal_says_what_the_bot_can_answer() {
        let answer = Answer {
            question: "what's for lunch".into(),
            answered: false,
            results: vec![],
            refusal: Some(RefusalText {
                message: "Not covered.".into(),
                topics: vec!["funding".into()],
                elsewhere: vec!["your rep".into()],
                detail: None,
                related_heading: None,
            }),
            related: Vec::new(),
            coverage: 0.0,
            note: None,
        };
        let e = json(&refusal(&answer).embed);
        let d = e["description"].as_str().unwrap();
        assert!(d.contains("Not covered.") && d.contains("funding") && d.contains("your rep"));
        assert!(e
            .get("fields")
            .is_none_or(|f| f.as_array().unwrap().is_empty()));
    }

    #[test]
    fn a_refusal_with_related_passages_shows_them_apart_and_says_what_is_missing() {
        let huge = "word ".repeat(3000);
        let answer = Answer {
            question: "pension?".into(),
            answered: false,
            results: vec![],
            refusal: Some(RefusalText {
                message: "Not covered.".into(),
                topics: vec![],
                elsewhere: vec![],
                detail: Some("Nothing here on *pension*.".into()),
                related_heading: Some("Related, not an answer".into()),
            }),
            related: vec![
                item(1, "Pay is set by governors."),
                item(2, &huge),
                item(3, "x"),
            ],
            coverage: 0.1,
            note: None,
        };
        let reply = refusal(&answer);
        let e = json(&reply.embed);
        let d = e["description"].as_str().unwrap();
        assert!(d.starts_with("**Nothing here on \\*pension\\*.**"), "{d}");
        let fields = e["fields"].as_array().unwrap();
        assert!(!fields.is_empty() && fields.len() <= 2);
        assert!(fields[0]["name"]
            .as_str()
            .unwrap()
            .starts_with("Related, not an answer: "));
        assert!(fields[0]["value"]
            .as_str()
            .unwrap()
            .contains("Pay is set by governors."));
        for f in fields {
            assert!(chars(&f["name"]) <= limits::FIELD_NAME);
            assert!(chars(&f["value"]) <= limits::FIELD_VALUE);
        }
        let total = chars(&e["title"])
            + chars(&e["description"])
            + fields
                .iter()
                .map(|f| chars(&f["name"]) + chars(&f["value"]))
                .sum::<usize>();
        assert!(total <= limits::EMBED_TOTAL);
    }

    #[test]
    fn long_listings_stay_within_the_field_and_size_limits() {
        let source = Source {
            id: None,
            publisher: "P".repeat(300),
            title: "T".repeat(300),
            url: None,
            date: "2024".into(),
            note: None,
        };
        let documents: Vec<crate::answer::DocumentInfo> = (0..100)
            .map(|i| crate::answer::DocumentInfo {
                id: format!("d{i}"),
                title: format!("Document {i} {}", "x".repeat(300)),
                sources: (0..10)
                    .map(|_| std::sync::Arc::new(source.clone()))
                    .collect(),
                passages: 1,
            })
            .collect();
        let e = json(&sources_list(&documents));
        let fields = e["fields"].as_array().unwrap();
        assert!(fields.len() <= limits::FIELDS);
        let total: usize = chars(&e["title"])
            + chars(&e["description"])
            + chars(&e["footer"]["text"])
            + fields
                .iter()
                .map(|f| chars(&f["name"]) + chars(&f["value"]))
                .sum::<usize>();
        assert!(total <= limits::EMBED_TOTAL, "{total}");
        assert!(e["description"]
            .as_str()
            .unwrap()
            .contains("of 100 documents"));
    }

    #[test]
    fn a_refused_reload_lists_what_fits_and_counts_the_rest() {
        let errors: Vec<String> = (0..500)
            .map(|i| {
                format!("knowledge/f{i}.md:{i}: error: the section is empty (fix: write text)")
            })
            .collect();
        let e = json(&reload_refused(&errors));
        let d = e["description"].as_str().unwrap();
        assert!(d.chars().count() <= limits::EMBED_DESCRIPTION);
        assert!(d.contains("knowledge/f0.md:0:") && d.contains("more; run `npq-bot check`"));
    }

    #[test]
    fn format_characters_are_removed_from_echoed_text() {
        let hostile = "NPQ\u{202e}Hgnidaeh\u{202c} \u{200b}cost\u{2066}?\u{feff}\u{e0041}\u{ad}";
        for shown in [escape(hostile), plain(hostile)] {
            assert!(!shown.chars().any(is_format_char), "{shown:?}");
            assert!(shown.contains("NPQHgnidaeh"), "{shown:?}");
        }
        let answer = Answer {
            question: hostile.into(),
            answered: false,
            results: vec![],
            refusal: None,
            related: Vec::new(),
            coverage: 0.0,
            note: None,
        };
        let e = json(&refusal(&answer).embed);
        let title = e["title"].as_str().unwrap();
        assert!(
            !title.contains('\u{202e}') && !title.contains('\u{200b}'),
            "{title:?}"
        );
        // Control characters still become spaces; the defusing space after @ is kept.
        assert_eq!(plain("a\u{7}b @here"), "a b @\u{200b}here");
    }

    #[test]
    fn only_urls_discord_accepts_become_link_buttons() {
        assert_eq!(
            link_url("https://www.gov.uk/guidance/npq").as_deref(),
            Some("https://www.gov.uk/guidance/npq")
        );
        assert_eq!(
            link_url("https://example.org/a b").as_deref(),
            Some("https://example.org/a%20b")
        );
        for bad in [
            "https://",
            "http:///path",
            "https://exa mple.org/",
            "javascript:alert(1)",
            "https://user:pw@example.org/",
            "ftp://example.org/x",
            "not a url",
        ] {
            assert_eq!(link_url(bad), None, "{bad}");
        }
        let long = format!("https://example.org/{}", "a".repeat(600));
        assert_eq!(link_url(&long), None);
        let mut r = item(1, "text");
        r.sources[0].url = Some("https://exa mple.org/".into());
        assert!(source_links(&[r]).is_empty());
    }

    #[test]
    fn truncation_never_leaves_a_dangling_escape() {
        let t = truncate(&escape(&"a*".repeat(200)), 101);
        assert!(t.chars().count() <= 101);
        assert!(!t.trim_end_matches('\u{2026}').ends_with('\\'));
    }
}
