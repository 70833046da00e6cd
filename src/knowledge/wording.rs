//! `wording.toml`: everything the bot says that belongs to its subject rather than to the
//! engine (command names, help, footers, the refusal), each key with a plain default.

use std::sync::LazyLock;

use serde::Deserialize;
use toml::Spanned;

use super::diagnostic::{line_of, toml_error_line, Report};

/// What the bot says, read from `wording.toml` or left at the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wording {
    pub refusal: Refusal,
    pub help: Help,
    pub footer: Footer,
    pub programmes: ProgrammeList,
    pub commands: Commands,
    pub replies: Replies,
    pub limits: Limits,
}

/// What the bot says when the knowledge does not cover a question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub message: String,
    pub topics: Vec<String>,
    pub elsewhere: Vec<String>,
    /// When the question's topic is covered but what it asks is not: `{missing}` names the
    /// words of the question the guidance never uses.
    pub not_covered: String,
    /// The heading over the closest passages shown beside a refusal (related, not an answer).
    pub related: String,
    /// The heading over a passage that says the guidance does not know.
    pub not_known: String,
}

/// What the folder says about its own limits.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Limits {
    /// Phrases that mark a passage saying the guidance does not know something ("the sources
    /// do not say"): such a passage, when it is the best match, is quoted as a refusal.
    pub not_known: Vec<String>,
}

/// The reply to the help command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Help {
    pub title: String,
    pub body: String,
}

/// The footers of an answer: its first page and the pages after (`{page}` is the number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footer {
    pub answer: String,
    pub more: String,
}

/// The programme list: its title, the heading used when `programmes.toml` declares no kinds,
/// and its footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgrammeList {
    pub title: String,
    pub heading: String,
    pub footer: String,
}

/// The slash commands' names and the descriptions Discord shows beside them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commands {
    /// The command everyone uses (`/<name> ask`, `/<name> list`, ...).
    pub name: String,
    /// The admin command (`/<admin> reload`, ...).
    pub admin: String,
    pub description: String,
    pub ask: String,
    /// The `question` option of `ask`.
    pub question: String,
    /// The `private` option of `ask`.
    pub private: String,
    pub programme: String,
    /// The `name` option of `programme`.
    pub programme_name: String,
    pub list: String,
}

/// Short replies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replies {
    /// The reply to an empty question (a bare mention, say).
    pub empty_question: String,
    /// The reply when so many questions are waiting that an answer would come too late.
    pub busy: String,
}

impl Default for Wording {
    fn default() -> Self {
        Wording {
            refusal: Refusal {
                message: "I could not find that in the guidance I hold, so I will not guess."
                    .into(),
                topics: Vec::new(),
                elsewhere: Vec::new(),
                not_covered: "The guidance here does not cover {missing}.".into(),
                related: "Related passages (they do not answer the question)".into(),
                not_known: "What the guidance says it does not know".into(),
            },
            help: Help {
                title: "Questions answered from sourced guidance".into(),
                body: "Ask me about the guidance I hold.\n\n\
                       **/{command} ask** `question` (add `private:true` to see the answer alone)\n\
                       **/{command} programme** `name`: a card for one programme\n\
                       **/{command} list**: every programme\n\
                       **/{command} sources**: the documents I answer from\n\
                       You can also mention me with a question, or send me a direct message.\n\n\
                       Every answer quotes the guidance and names its source and date. I never guess: if the guidance does not cover a question I say so."
                    .into(),
            },
            footer: Footer {
                answer: "Answers come from the guidance files, not from an AI. Check the source dates: rules can change.".into(),
                more: "More results, page {page}. Check the source dates: rules can change.".into(),
            },
            programmes: ProgrammeList {
                title: "The programmes".into(),
                heading: "Programmes".into(),
                footer: "Use /{command} programme for a card on one of them.".into(),
            },
            commands: Commands {
                name: "guidance".into(),
                admin: "guidance-admin".into(),
                description: "Answers from the guidance, with sources".into(),
                ask: "Ask a question about the guidance".into(),
                question: "Your question".into(),
                private: "Show the answer only to you".into(),
                programme: "A card for one programme: what it is, who it is for, how long it takes"
                    .into(),
                programme_name: "The programme's code or name".into(),
                list: "Every programme, grouped by kind".into(),
            },
            replies: Replies {
                empty_question: "Ask me a question about the guidance I hold.".into(),
                busy: "Lots of questions are arriving at once, so I can't answer yours in good time: please ask again in a minute.".into(),
            },
            limits: Limits::default(),
        }
    }
}

impl Wording {
    /// `text` with `{command}` and `{admin}` replaced by the names in `commands`.
    pub fn fill(text: &str, commands: &Commands) -> String {
        text.replace("{command}", &commands.name)
            .replace("{admin}", &commands.admin)
    }

    /// The footer of page `page` (0 is the first) of an answer.
    pub fn answer_footer(&self, page: usize, commands: &Commands) -> String {
        if page == 0 {
            Wording::fill(&self.footer.answer, commands)
        } else {
            Wording::fill(&self.footer.more, commands).replace("{page}", &(page + 1).to_string())
        }
    }
}

type Text = Option<Spanned<String>>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWording {
    refusal: Option<RawRefusal>,
    help: Option<RawHelp>,
    footer: Option<RawFooter>,
    programmes: Option<RawProgrammeList>,
    commands: Option<RawCommands>,
    replies: Option<RawReplies>,
    limits: Option<RawLimits>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    not_known: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRefusal {
    message: Text,
    topics: Option<Vec<String>>,
    elsewhere: Option<Vec<String>>,
    not_covered: Text,
    related: Text,
    not_known: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHelp {
    title: Text,
    body: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFooter {
    answer: Text,
    more: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProgrammeList {
    title: Text,
    heading: Text,
    footer: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommands {
    name: Text,
    admin: Text,
    description: Text,
    ask: Text,
    question: Text,
    private: Text,
    programme: Text,
    programme_name: Text,
    list: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReplies {
    empty_question: Text,
    busy: Text,
}

/// Every section and key, for the fix of an unknown one.
const KEYS: &str = "wording.toml has [refusal] message, topics, elsewhere, not_covered, related, not_known; [limits] not_known; [help] title, body; [footer] answer, more; [programmes] title, heading, footer; [commands] name, admin, description, ask, question, private, programme, programme_name, list; [replies] empty_question, busy (see docs/knowledge-format.md)";

/// Discord's limits on where each text is shown.
const EMBED_TITLE: usize = 256;
const EMBED_DESCRIPTION: usize = 4096;
const FIELD_NAME: usize = 256;
const FOOTER: usize = 2048;
const CONTENT: usize = 2000;
const DESCRIPTION: usize = 100;

/// A command name Discord accepts: 1 to 32 letters, digits, `-` or `_` (and lowercase, as the
/// names of slash commands must be).
static COMMAND_NAME: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"^[-_\p{L}\p{N}]{1,32}$").expect("a valid pattern"));

static PLACEHOLDER: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"\{([^{}\s]*)\}").expect("a valid pattern"));

/// Reads one file's values against the defaults, reporting each bad one at its line.
struct Reader<'r, 'a> {
    text: &'r str,
    report: &'r mut Report<'a>,
    /// The file's own command names, to measure texts that name them.
    commands: Commands,
}

impl Reader<'_, '_> {
    /// `value` (the key `key`, at most `max` characters once `{command}` and `{admin}` are
    /// filled in, with only the `placeholders` given), else `default`.
    fn text(
        &mut self,
        value: Text,
        default: &str,
        key: &str,
        max: usize,
        placeholders: &[&str],
    ) -> String {
        let Some(value) = value else {
            return default.to_string();
        };
        let line = line_of(self.text, value.span().start);
        let text = value.into_inner();
        if text.trim().is_empty() {
            self.report.error(
                line,
                format!("`{key}` is empty"),
                "write the text, or remove the key to use the built-in default",
            );
            return default.to_string();
        }
        for found in PLACEHOLDER.captures_iter(&text) {
            let name = &found[1];
            if !placeholders.contains(&name) {
                let fix = if placeholders.is_empty() {
                    "this text is shown as written: write it out without { }".to_string()
                } else {
                    let known: Vec<String> =
                        placeholders.iter().map(|p| format!("{{{p}}}")).collect();
                    format!("use only {} here", known.join(", "))
                };
                self.report.error(
                    line,
                    format!("`{key}` has the unknown placeholder `{}`", &found[0]),
                    fix,
                );
                return default.to_string();
            }
        }
        let length = Wording::fill(&text, &self.commands).chars().count();
        if length > max {
            self.report.error(
                line,
                format!("`{key}` is {length} characters long; Discord shows at most {max} there"),
                format!("shorten it to {max} characters or fewer"),
            );
            return default.to_string();
        }
        text
    }

    /// A command name, checked as Discord checks it.
    fn name(&mut self, value: Text, default: &str, key: &str) -> String {
        let Some(value) = value else {
            return default.to_string();
        };
        let line = line_of(self.text, value.span().start);
        let name = value.into_inner();
        let valid = COMMAND_NAME.is_match(&name) && name.to_lowercase() == name;
        if !valid {
            self.report.error(
                line,
                format!("`{key}` = \"{name}\" is not a name Discord accepts for a slash command"),
                "use 1 to 32 lowercase letters, digits, - or _, without spaces, such as \"trips\"",
            );
            return default.to_string();
        }
        name
    }
}

/// Texts that may name the commands.
const NAMES: &[&str] = &["command", "admin"];

/// Parses `wording.toml`; every problem is reported with its line, and a bad value falls back
/// to its default.
pub fn parse(text: &str, report: &mut Report) -> Wording {
    let raw: RawWording = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(err) => {
            let (line, message) = toml_error_line(text, &err);
            let fix = if message.contains("unknown field") {
                KEYS
            } else {
                "correct the TOML syntax: strings in double quotes, lists in [ ], one key = value per line"
            };
            report.error(line, message, fix);
            return Wording::default();
        }
    };
    let default = Wording::default();
    let first = report.diagnostics.len();
    let mut reader = Reader {
        text,
        report,
        commands: default.commands.clone(),
    };

    let c = raw.commands.unwrap_or_default();
    let d = &default.commands;
    let name_line = c.name.as_ref().map(|n| line_of(text, n.span().start));
    let admin_line = c.admin.as_ref().map(|n| line_of(text, n.span().start));
    let name = reader.name(c.name, &d.name, "commands.name");
    let admin = reader.name(c.admin, &d.admin, "commands.admin");
    if name == admin {
        reader.report.error(
            admin_line.or(name_line).unwrap_or(1),
            format!("`commands.name` and `commands.admin` are both \"{name}\""),
            format!("give the admin command its own name, such as \"{name}-admin\""),
        );
    }
    reader.commands.name = name.clone();
    reader.commands.admin = admin.clone();
    let mut describe =
        |value: Text, default: &str, key: &str| reader.text(value, default, key, DESCRIPTION, &[]);
    let commands = Commands {
        description: describe(c.description, &d.description, "commands.description"),
        ask: describe(c.ask, &d.ask, "commands.ask"),
        question: describe(c.question, &d.question, "commands.question"),
        private: describe(c.private, &d.private, "commands.private"),
        programme: describe(c.programme, &d.programme, "commands.programme"),
        programme_name: describe(
            c.programme_name,
            &d.programme_name,
            "commands.programme_name",
        ),
        list: describe(c.list, &d.list, "commands.list"),
        name,
        admin,
    };

    let r = raw.refusal.unwrap_or_default();
    let refusal = Refusal {
        message: reader.text(
            r.message,
            &default.refusal.message,
            "refusal.message",
            EMBED_DESCRIPTION,
            NAMES,
        ),
        topics: clean_list(r.topics),
        elsewhere: clean_list(r.elsewhere),
        not_covered: reader.text(
            r.not_covered,
            &default.refusal.not_covered,
            "refusal.not_covered",
            EMBED_DESCRIPTION,
            &["missing"],
        ),
        related: reader.text(
            r.related,
            &default.refusal.related,
            "refusal.related",
            FIELD_NAME,
            &[],
        ),
        not_known: reader.text(
            r.not_known,
            &default.refusal.not_known,
            "refusal.not_known",
            FIELD_NAME,
            &[],
        ),
    };
    let limits = raw.limits.unwrap_or_default();
    let limits = Limits {
        not_known: clean_list(limits.not_known)
            .into_iter()
            .map(|s| s.to_lowercase())
            .collect(),
    };
    let h = raw.help.unwrap_or_default();
    let help = Help {
        title: reader.text(
            h.title,
            &default.help.title,
            "help.title",
            EMBED_TITLE,
            NAMES,
        ),
        body: reader.text(
            h.body,
            &default.help.body,
            "help.body",
            EMBED_DESCRIPTION,
            NAMES,
        ),
    };
    let f = raw.footer.unwrap_or_default();
    let footer = Footer {
        answer: reader.text(
            f.answer,
            &default.footer.answer,
            "footer.answer",
            FOOTER,
            NAMES,
        ),
        more: reader.text(
            f.more,
            &default.footer.more,
            "footer.more",
            FOOTER,
            &["command", "admin", "page"],
        ),
    };
    let p = raw.programmes.unwrap_or_default();
    let programmes = ProgrammeList {
        title: reader.text(
            p.title,
            &default.programmes.title,
            "programmes.title",
            EMBED_TITLE,
            NAMES,
        ),
        heading: reader.text(
            p.heading,
            &default.programmes.heading,
            "programmes.heading",
            FIELD_NAME,
            NAMES,
        ),
        footer: reader.text(
            p.footer,
            &default.programmes.footer,
            "programmes.footer",
            FOOTER,
            NAMES,
        ),
    };
    let q = raw.replies.unwrap_or_default();
    let replies = Replies {
        empty_question: reader.text(
            q.empty_question,
            &default.replies.empty_question,
            "replies.empty_question",
            CONTENT,
            NAMES,
        ),
        busy: reader.text(
            q.busy,
            &default.replies.busy,
            "replies.busy",
            CONTENT,
            NAMES,
        ),
    };
    // Sections are read in a fixed order; the problems are told in the file's.
    report.diagnostics[first..].sort_by_key(|d| d.line);
    Wording {
        refusal,
        help,
        footer,
        programmes,
        commands,
        replies,
        limits,
    }
}

fn clean_list(list: Option<Vec<String>>) -> Vec<String> {
    list.unwrap_or_default()
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parsed(text: &str) -> (Wording, Vec<String>) {
        let mut report = Report::new(Path::new("wording.toml"));
        let wording = parse(text, &mut report);
        let messages = report.diagnostics.iter().map(|d| d.to_string()).collect();
        (wording, messages)
    }

    #[test]
    fn the_limits_and_the_refusal_details_are_read() {
        let (wording, messages) = parsed(
            "[limits]\nnot_known = [\"Do not say whether\", \" \"]\n\
             [refusal]\nnot_covered = \"Nothing on {missing}.\"\nrelated = \"Close\"\n",
        );
        assert!(messages.is_empty(), "{messages:?}");
        assert_eq!(wording.limits.not_known, vec!["do not say whether"]);
        assert_eq!(wording.refusal.not_covered, "Nothing on {missing}.");
        assert_eq!(wording.refusal.related, "Close");
        assert_eq!(
            wording.refusal.not_known,
            Wording::default().refusal.not_known
        );
    }

    #[test]
    fn a_not_covered_text_may_name_only_what_is_missing() {
        let (wording, messages) = parsed("[refusal]\nnot_covered = \"No {topic} here.\"\n");
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(messages[0].contains("wording.toml:2"), "{messages:?}");
        assert!(messages[0].contains("{missing}"), "{messages:?}");
        assert_eq!(
            wording.refusal.not_covered,
            Wording::default().refusal.not_covered
        );
    }

    #[test]
    fn the_defaults_name_no_subject() {
        let wording = Wording::default();
        let all = format!("{wording:?}").to_lowercase();
        for word in ["npq", "qualification", "senco", "headship"] {
            assert!(!all.contains(word), "{word} in {all}");
        }
        assert_eq!(wording.commands.name, "guidance");
        assert!(COMMAND_NAME.is_match(&wording.commands.admin));
        // An empty file is the defaults.
        assert_eq!(parsed(""), (wording, vec![]));
    }

    /// The bundled folder's file says, word for word, what the bot said before its wording
    /// moved out of the code.
    #[test]
    fn the_bundled_wording_reads_as_the_bot_did() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("knowledge")
            .join(super::super::WORDING_FILE);
        let (w, messages) = parsed(&std::fs::read_to_string(path).unwrap());
        assert!(messages.is_empty(), "{messages:?}");
        let c = &w.commands;
        assert_eq!((c.name.as_str(), c.admin.as_str()), ("npq", "npq-admin"));
        assert_eq!(
            w.help.title,
            "npq-bot: NPQ questions, answered from sourced guidance"
        );
        assert_eq!(
            Wording::fill(&w.help.body, c),
            "Ask about England's National Professional Qualifications: which NPQ fits, how long it takes, costs and funding by cohort, pay, time from school, applying, assessment, deferral, the SENCO requirement and more.\n\n\
             **/npq ask** `question` (add `private:true` to see the answer alone)\n\
             **/npq programme** `name`: a card for one NPQ\n\
             **/npq list**: every NPQ, specialist and leadership\n\
             **/npq sources**: the documents I answer from\n\
             You can also mention me with a question, or send me a direct message.\n\n\
             Every answer quotes the guidance and names its source and date. I never guess: if the guidance does not cover a question I say so."
        );
        assert_eq!(w.answer_footer(0, c), "Answers come from the guidance files, not from an AI. Check the source dates: NPQ rules change each year.");
        assert_eq!(
            w.answer_footer(1, c),
            "More results, page 2. Check the source dates: NPQ rules change each year."
        );
        assert_eq!(w.programmes.title, "The NPQs");
        assert_eq!(
            Wording::fill(&w.programmes.footer, c),
            "Use /npq programme for a card on one of them."
        );
        assert_eq!(
            w.replies.empty_question,
            "Ask me a question about NPQs, for example: how long does the NPQH take?"
        );
        assert_eq!(
            c.description,
            "Answers about National Professional Qualifications, with sources"
        );
        assert_eq!(
            c.question,
            "Your question, for example: how long does the NPQH take?"
        );
        assert_eq!(w.refusal.topics.len(), 7);
        assert!(w
            .refusal
            .message
            .starts_with("I can't find that in the NPQ guidance"));
    }

    #[test]
    fn a_file_overrides_only_the_keys_it_gives() {
        let (wording, messages) = parsed(
            "[commands]\nname = \"trips\"\n\n[help]\ntitle = \"School trips\"\n\n[refusal]\nmessage = \"Not about trips.\"\ntopics = [\" coaches \", \"\"]\n",
        );
        assert!(messages.is_empty(), "{messages:?}");
        assert_eq!(wording.commands.name, "trips");
        assert_eq!(wording.commands.admin, "guidance-admin");
        assert_eq!(wording.help.title, "School trips");
        assert_eq!(wording.help.body, Wording::default().help.body);
        assert_eq!(wording.refusal.message, "Not about trips.");
        assert_eq!(wording.refusal.topics, ["coaches"]);
        let help = Wording::fill(&wording.help.body, &wording.commands);
        assert!(
            help.contains("**/trips ask**") && !help.contains('{'),
            "{help}"
        );
    }

    #[test]
    fn footers_fill_in_the_page_and_the_commands() {
        let (wording, messages) = parsed(
            "[commands]\nname = \"trips\"\nadmin = \"trips-admin\"\n\n[footer]\nanswer = \"See /{command} help or /{admin} status.\"\nmore = \"Page {page}.\"\n",
        );
        assert!(messages.is_empty(), "{messages:?}");
        let commands = &wording.commands;
        assert_eq!(
            wording.answer_footer(0, commands),
            "See /trips help or /trips-admin status."
        );
        assert_eq!(wording.answer_footer(2, commands), "Page 3.");
    }

    #[test]
    fn an_unknown_key_or_section_is_an_error_at_its_line_naming_the_keys() {
        for (text, line, unknown) in [
            ("[help]\ntitle = \"Help\"\ncolour = \"teal\"\n", 3, "colour"),
            (
                "[help]\ntitle = \"Help\"\n\n[header]\ntext = \"x\"\n",
                4,
                "header",
            ),
            ("message = \"the old refusal.toml\"\n", 1, "message"),
        ] {
            let (wording, messages) = parsed(text);
            assert_eq!(messages.len(), 1, "{messages:?}");
            assert!(
                messages[0].starts_with(&format!(
                    "wording.toml:{line}: error: unknown field `{unknown}`"
                )) && messages[0].contains("[help] title, body"),
                "{messages:?}"
            );
            assert_eq!(wording, Wording::default());
        }
    }

    #[test]
    fn command_names_are_checked_as_discord_checks_them() {
        for bad in [
            "Trips",
            "school trips",
            "",
            "a".repeat(33).as_str(),
            "trips!",
        ] {
            let (wording, messages) = parsed(&format!("[commands]\n\nname = \"{bad}\"\n"));
            assert_eq!(messages.len(), 1, "{bad}: {messages:?}");
            assert!(
                messages[0].starts_with("wording.toml:3: error: `commands.name`")
                    && messages[0].contains("1 to 32 lowercase letters"),
                "{messages:?}"
            );
            assert_eq!(wording.commands.name, "guidance");
        }
        for good in ["trips", "école", "year-7_trips", "旅行"] {
            let (wording, messages) = parsed(&format!("[commands]\nname = \"{good}\"\n"));
            assert!(messages.is_empty(), "{good}: {messages:?}");
            assert_eq!(wording.commands.name, good);
        }
        let (_, messages) = parsed("[commands]\nname = \"trips\"\nadmin = \"trips\"\n");
        assert!(
            messages[0].starts_with(
                "wording.toml:3: error: `commands.name` and `commands.admin` are both \"trips\""
            ) && messages[0].contains("such as \"trips-admin\""),
            "{messages:?}"
        );
    }

    #[test]
    fn bad_values_are_reported_at_their_line_and_fall_back_to_the_default() {
        let long = "x".repeat(101);
        let text = format!(
            "[commands]\nask = \"{long}\"\nlist = \"Every {{command}} trip\"\n\n[footer]\nanswer = \"Page {{page}}\"\n\n[help]\ntitle = \" \"\n"
        );
        let (wording, messages) = parsed(&text);
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert!(messages[0].starts_with("wording.toml:2: error: `commands.ask` is 101 characters long; Discord shows at most 100"), "{messages:?}");
        assert!(
            messages[1].starts_with(
                "wording.toml:3: error: `commands.list` has the unknown placeholder `{command}`"
            ),
            "{messages:?}"
        );
        assert!(
            messages[2].starts_with(
                "wording.toml:6: error: `footer.answer` has the unknown placeholder `{page}`"
            ) && messages[2].contains("use only {command}, {admin} here"),
            "{messages:?}"
        );
        assert!(
            messages[3].starts_with("wording.toml:9: error: `help.title` is empty"),
            "{messages:?}"
        );
        assert_eq!(wording, Wording::default());
    }
}
