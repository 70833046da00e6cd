//! `npq-bot check` on broken knowledge folders: every kind of problem is named by its file and
//! line with a fix, every problem of a run is reported, and good folders pass.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A folder under `tests/fixtures/broken/`: one good document and one broken file.
fn broken(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/broken")
        .join(kind)
}

/// What one run of `npq-bot check` printed.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The diagnostic printed at `location` (such as `menu.md:6`): its line, and the lines after
    /// it up to the one holding its fix, in case a message spans several lines.
    fn diagnostic(&self, location: &str) -> String {
        let wanted = format!("/{location}: error: ");
        let lines: Vec<&str> = self.stdout.lines().collect();
        let Some(start) = lines.iter().position(|l| l.contains(&wanted)) else {
            panic!("no error at {location}:\n{self}");
        };
        let end = (start..lines.len())
            .find(|&i| lines[i].contains("(fix: "))
            .unwrap_or(start);
        lines[start..=end].join("\n")
    }

    /// The warning printed at `location`, whole.
    fn warning(&self, location: &str) -> String {
        let wanted = format!("/{location}: warning: ");
        self.stdout
            .lines()
            .find(|l| l.contains(&wanted))
            .unwrap_or_else(|| panic!("no warning at {location}:\n{self}"))
            .to_string()
    }

    fn warning_count(&self) -> usize {
        self.stdout
            .lines()
            .filter(|l| l.contains(": warning: "))
            .count()
    }

    /// Warnings other than those about an `updated` date over a year old, which the fixtures
    /// (written in 2025) all carry.
    fn warning_count_beside_stale_dates(&self) -> usize {
        self.stdout
            .lines()
            .filter(|l| l.contains(": warning: ") && !l.contains("more than a year before today"))
            .count()
    }

    fn error_count(&self) -> Option<usize> {
        self.stdout
            .lines()
            .find_map(|l| l.split_once(" error(s), "))
            .and_then(|(n, _)| n.parse().ok())
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs the real binary from an empty folder, so no `bot.toml` or `NPQ_BOT__*` setting applies.
fn check(dir: &Path) -> Run {
    let cwd = tempfile::tempdir().expect("a temporary folder");
    let mut command = Command::new(env!("CARGO_BIN_EXE_npq-bot"));
    command
        .arg("check")
        .arg("--knowledge")
        .arg(dir)
        .current_dir(cwd.path());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("NPQ_BOT") {
            command.env_remove(key);
        }
    }
    let output = command.output().expect("npq-bot runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Asserts the run failed with exactly one error, at `location`, saying `message`, with a fix
/// that mentions `fix_word`.
fn assert_single_error(run: &Run, location: &str, message: &str, fix_word: &str) {
    assert_eq!(run.code, Some(1), "{run}");
    assert_eq!(run.error_count(), Some(1), "{run}");
    assert_error(run, location, message, fix_word);
}

fn assert_error(run: &Run, location: &str, message: &str, fix_word: &str) {
    let diagnostic = run.diagnostic(location);
    let (said, fix) = diagnostic
        .split_once("(fix: ")
        .unwrap_or_else(|| panic!("no fix in {diagnostic:?}\n{run}"));
    assert!(
        said.contains(message),
        "expected {message:?} in {diagnostic:?}\n{run}"
    );
    assert!(
        fix.contains(fix_word),
        "expected {fix_word:?} in the fix of {diagnostic:?}\n{run}"
    );
}

/// Copies a fixture folder (flat) into a temporary folder, to add files a test makes itself.
fn copy_of(kind: &str) -> tempfile::TempDir {
    let copy = tempfile::tempdir().expect("a temporary folder");
    for entry in fs::read_dir(broken(kind)).expect("the fixture folder") {
        let entry = entry.expect("a fixture file");
        fs::copy(entry.path(), copy.path().join(entry.file_name())).expect("copy a fixture file");
    }
    copy
}

#[cfg(unix)]
#[test]
fn unreadable_file_names_the_file() {
    // Root reads any file whatever its permissions; a link whose target is gone cannot be read
    // by anyone.
    let dir = copy_of("unreadable");
    std::os::unix::fs::symlink(dir.path().join("deleted.md"), dir.path().join("notes.md"))
        .expect("make a link");
    let run = check(dir.path());
    assert_single_error(&run, "notes.md:1", "cannot read the file", "permissions");
}

#[test]
fn non_utf8_file_is_reported_at_the_line_of_its_first_bad_byte() {
    let dir = copy_of("non-utf8");
    // "Café" in Latin-1 on line 6: 0xE9 is not UTF-8 on its own.
    let bytes: &[u8] = b"+++\ntitle = \"The tuck shop\"\nupdated = \"2025-01-10\"\n\n[[sources]]\npublisher = \"Caf\xe9 team\"\ntitle = \"Price list\"\ndate = \"2024-12\"\n+++\n\n## Opening times\n\nThe tuck shop opens at morning break.\n";
    fs::write(dir.path().join("menu.md"), bytes).expect("write the Latin-1 file");
    let run = check(dir.path());
    assert_single_error(&run, "menu.md:6", "the file is not UTF-8 text", "UTF-8");
}

#[test]
fn missing_closing_plus_line_is_reported_at_the_opening_line() {
    let run = check(&broken("missing-close"));
    assert_single_error(
        &run,
        "missing-close.md:1",
        "the front matter opened with `+++` is never closed",
        "`+++`",
    );
}

#[test]
fn bad_toml_is_reported_at_the_line_in_the_file_not_in_the_front_matter() {
    // `publisher = Site Team` is line 6 of the front matter but line 7 of the file.
    let run = check(&broken("bad-toml"));
    assert_single_error(&run, "bad-toml.md:7", "front matter:", "double quotes");
    assert!(!run.stdout.contains("bad-toml.md:6:"), "{run}");
}

#[test]
fn unknown_front_matter_key_names_file_and_line() {
    let run = check(&broken("unknown-key"));
    assert_single_error(
        &run,
        "unknown-key.md:4",
        "unknown field `author`",
        "front matter keys are",
    );
}

#[test]
fn missing_title_names_file_and_line() {
    let run = check(&broken("missing-title"));
    assert_single_error(
        &run,
        "missing-title.md:1",
        "the front matter has no `title`",
        "title = ",
    );
}

#[test]
fn missing_source_names_file_and_line() {
    let run = check(&broken("missing-source"));
    assert_single_error(
        &run,
        "missing-source.md:1",
        "the document names no source",
        "[[sources]]",
    );
}

#[test]
fn bad_date_in_a_sources_table_is_reported_at_its_line() {
    let run = check(&broken("bad-source-date"));
    assert_single_error(
        &run,
        "bad-source-date.md:9",
        "`date` is not a valid date: \"2024-13-05\"",
        "YYYY-MM-DD",
    );
}

#[test]
fn bad_updated_date_is_reported_at_its_line() {
    let run = check(&broken("bad-updated-date"));
    assert_single_error(
        &run,
        "bad-updated-date.md:3",
        "`updated` is not a valid date: \"last spring\"",
        "YYYY-MM-DD",
    );
}

#[test]
fn unknown_cite_id_is_reported_at_its_line_with_the_known_ids() {
    let run = check(&broken("unknown-cite"));
    assert_single_error(
        &run,
        "unknown-cite.md:4",
        "`cite` names the unknown source id \"nowhere-at-all\"",
        "photo-letter",
    );
}

#[test]
fn unknown_section_source_id_is_reported_at_the_comment_line() {
    let run = check(&broken("unknown-section-source"));
    assert_single_error(
        &run,
        "unknown-section-source.md:18",
        "this section cites the unknown source id \"hand-poster\"",
        "sources.json",
    );
}

#[test]
fn document_without_text_is_reported_after_its_front_matter() {
    let run = check(&broken("empty-document"));
    assert_single_error(
        &run,
        "empty-document.md:10",
        "the document has no text to answer from",
        "## ",
    );
}

#[test]
fn empty_file_is_reported() {
    let run = check(&broken("empty-file"));
    assert_single_error(
        &run,
        "empty-file.md:1",
        "the document has no text to answer from",
        "## ",
    );
}

#[test]
fn empty_section_is_reported_at_its_heading() {
    let run = check(&broken("empty-section"));
    assert_single_error(
        &run,
        "empty-section.md:15",
        "the section \"Concert dates\" is empty",
        "remove the heading",
    );
}

#[test]
fn duplicate_document_id_names_both_files() {
    let run = check(&broken("duplicate-id"));
    assert_single_error(
        &run,
        "a.txt:1",
        "the document id \"a\" is also used by a.md",
        "rename",
    );
}

#[test]
fn programme_with_an_unknown_kind_is_reported_at_the_kind_line_with_the_declared_kinds() {
    let run = check(&broken("programme-unknown-kind"));
    assert_single_error(
        &run,
        "programmes.toml:21",
        "unknown programme kind \"pottery\"",
        "use kind = \"weekly\" or \"termly\"",
    );
}

#[test]
fn malformed_kinds_tables_are_reported_at_their_lines() {
    let run = check(&broken("programme-kinds-malformed"));
    assert_eq!(run.code, Some(1), "{run}");
    assert_error(
        &run,
        "programmes.toml:14",
        "the kind \"Weekly\" is declared twice",
        "its own id",
    );
    assert_error(
        &run,
        "programmes.toml:17",
        "the kind \"termly\" has no `heading`",
        "heading = ",
    );
    // The programme of the kind without a heading is not reported as well.
    assert_eq!(run.error_count(), Some(2), "{run}");
}

#[test]
fn kinds_written_as_a_list_are_reported_with_the_table_form() {
    let run = check(&broken("programme-kinds-not-tables"));
    assert_single_error(
        &run,
        "programmes.toml:3",
        "expected a [[kinds]] table",
        "in its own [[kinds]] table",
    );
}

#[test]
fn unknown_key_in_wording_toml_names_file_line_and_the_keys() {
    let run = check(&broken("wording-unknown-key"));
    assert_single_error(
        &run,
        "wording.toml:8",
        "unknown field `colour`",
        "[help] title, body",
    );
}

#[test]
fn bad_command_name_and_unknown_placeholder_in_wording_toml_are_reported_at_their_lines() {
    let run = check(&broken("wording-bad-command-name"));
    assert_eq!(run.code, Some(1), "{run}");
    assert_error(
        &run,
        "wording.toml:4",
        "`commands.name` = \"Garden Club\" is not a name Discord accepts",
        "1 to 32 lowercase letters",
    );
    assert_error(
        &run,
        "wording.toml:8",
        "`footer.more` has the unknown placeholder `{teacher}`",
        "{page}",
    );
    assert_eq!(run.error_count(), Some(2), "{run}");
}

#[test]
fn an_old_refusal_toml_is_a_warning_naming_wording_toml() {
    let run = check(&broken("wording-old-refusal-file"));
    assert_eq!(run.code, Some(0), "{run}");
    let warning = run.warning("refusal.toml:1");
    assert!(
        warning.contains("[refusal] section of wording.toml")
            && warning.contains("move its message, topics and elsewhere"),
        "{run}"
    );
}

#[test]
fn programme_missing_a_field_is_reported_at_its_table() {
    let run = check(&broken("programme-missing-field"));
    assert_single_error(
        &run,
        "programmes.toml:18",
        "programme 2 has no `duration`",
        "duration = ",
    );
}

#[test]
fn duplicate_programme_code_is_reported_at_the_second_code() {
    let run = check(&broken("programme-duplicate-code"));
    assert_single_error(
        &run,
        "programmes.toml:27",
        "programme code \"POT\" is used twice",
        "its own code",
    );
}

#[test]
fn synonym_group_of_one_word_is_reported_at_its_line() {
    let run = check(&broken("glossary-lonely-synonym"));
    assert_single_error(
        &run,
        "glossary.toml:11",
        "a [[synonyms]] group needs at least two words",
        "two or more words",
    );
}

#[test]
fn acronym_without_a_meaning_is_reported_at_its_term() {
    let run = check(&broken("glossary-acronym-without-means"));
    assert_single_error(
        &run,
        "glossary.toml:11",
        "the acronym \"RHS\" has no `means`",
        "means = ",
    );
}

#[test]
fn invalid_json_in_sources_json_is_reported_at_its_line() {
    // The comma missing at the end of line 9 is noticed at line 10, as JSON parsers do.
    let run = check(&broken("sources-json-syntax"));
    assert_single_error(
        &run,
        "sources.json:10",
        "expected `,` or `}`",
        "JSON object",
    );
}

#[test]
fn bad_date_in_sources_json_is_reported_at_its_entry() {
    let run = check(&broken("sources-json-bad-date"));
    assert_single_error(
        &run,
        "sources.json:7",
        "source \"compost-guide\" has the invalid date \"31/10/2024\"",
        "YYYY-MM-DD",
    );
}

#[test]
fn duplicate_id_in_sources_json_is_reported() {
    let run = check(&broken("sources-json-duplicate-id"));
    assert_single_error(&run, "sources.json:7", "seed-catalogue", "id");
}

#[test]
fn sources_json_entry_is_located_by_its_key_not_a_field_of_the_same_name() {
    let run = check(&broken("sources-json-id-like-a-field"));
    assert_single_error(
        &run,
        "sources.json:7",
        "source \"title\" has the invalid date \"spring\"",
        "YYYY-MM-DD",
    );
}

#[test]
fn two_sources_with_the_same_url_are_reported_at_the_second() {
    // `www.`, a trailing `/` and the letter case do not make a page another page.
    let run = check(&broken("sources-json-same-url"));
    assert_single_error(
        &run,
        "sources.json:8",
        "source \"rota-page\" has the same url as \"garden-rota\" (line 2)",
        "merge the two entries into \"garden-rota\"",
    );
}

#[test]
fn two_sources_with_the_same_publisher_and_title_are_reported_when_one_is_undated() {
    // Case and spacing differ; an undated entry cannot be told apart from the dated one.
    let run = check(&broken("sources-json-same-title"));
    assert_single_error(
        &run,
        "sources.json:8",
        "source \"tuck-prices-2024\" has the same publisher and title as \"tuck-prices\"",
        "cite",
    );
}

#[test]
fn dated_versions_of_one_changing_page_are_two_sources() {
    // Two later versions name the first in `version_of`; one leaves out the url it shares.
    let run = check(&broken("sources-json-page-versions"));
    assert_eq!(run.code, Some(0), "{run}");
    assert!(!run.stdout.contains(": error: "), "{run}");
    assert_eq!(run.warning_count_beside_stale_dates(), 0, "{run}");
}

#[test]
fn an_undated_entry_of_a_page_listed_with_a_date_is_reported_with_a_merge() {
    let run = check(&broken("sources-json-undated-duplicate"));
    assert_single_error(
        &run,
        "sources.json:9",
        "source \"rota-page\" has the same url as \"garden-rota\" (line 2): the page is listed twice",
        "merge the two entries into \"garden-rota\"",
    );
}

#[test]
fn a_version_whose_date_holds_another_versions_date_is_reported() {
    // "2025" cannot say which 2025 version it is, so it is no version of its own.
    let run = check(&broken("sources-json-version-without-exact-date"));
    assert_single_error(
        &run,
        "sources.json:9",
        "are versions of one page whose dates do not tell them apart",
        "merged into \"garden-rota\"",
    );
}

#[test]
fn dated_versions_of_a_page_must_name_the_first_in_version_of() {
    let run = check(&broken("sources-json-versions-unlinked"));
    assert_single_error(
        &run,
        "sources.json:9",
        "source \"rota-page\" has the same url as \"garden-rota\" (line 2): the page is listed twice",
        "add \"version_of\": \"garden-rota\"",
    );
}

#[test]
fn a_present_tense_rule_without_a_period_in_a_dated_topic_is_a_warning_at_its_line() {
    let run = check(&broken("dated-rules"));
    assert_eq!(run.code, Some(0), "{run}");
    assert!(!run.stdout.contains(": error: "), "{run}");
    let warning = run.warning("garden.md:15");
    assert!(
        warning.contains("a rule in the present tense names no season, year or month")
            && warning.contains("Pupils in year 3 are eligible")
            && warning.contains("(fix: say which period it holds for"),
        "{run}"
    );
    // The sentence naming its term, the one in the past tense, and the one in a section
    // about another topic are not warned about.
    assert_eq!(run.warning_count_beside_stale_dates(), 1, "{run}");
}

#[test]
fn dated_source_whose_note_says_it_is_undated_is_reported() {
    let run = check(&broken("sources-json-undated-note"));
    assert_single_error(
        &run,
        "sources.json:7",
        "source \"compost-leaflet\" has the date \"2021\", but its note says the page is undated",
        "date = \"undated\"",
    );
}

#[test]
fn url_that_is_not_a_valid_web_address_is_reported_and_the_source_still_cited() {
    // Starts with https:// (the old test) but has a space in its host.
    let run = check(&broken("sources-json-bad-url"));
    assert_single_error(
        &run,
        "sources.json:8",
        "source \"seed-list\" has the url \"https://garden centre.example/seeds\", which is not a valid web address",
        "remove `url`",
    );
}

#[test]
fn url_without_a_host_in_a_sources_table_is_reported_at_its_line() {
    // A lenient parser reads `https:///letters/...` as the host "letters".
    let run = check(&broken("source-table-bad-url"));
    assert_single_error(
        &run,
        "sports-day.md:8",
        "source url \"https:///letters/sports-day\" is not a valid web address: it names no host",
        "full address",
    );
}

#[test]
fn source_that_no_section_cites_is_a_warning_at_its_entry() {
    let run = check(&broken("sources-json-uncited"));
    assert_eq!(run.code, Some(0), "{run}");
    let warning = run.warning("sources.json:7");
    assert!(
        warning.contains("no section or programme card cites the source \"old-rota\"")
            && warning.contains("(fix: name it in the `<!-- sources: old-rota -->` line"),
        "{run}"
    );
    // The source a section cites by default (the document's first) counts as cited.
    assert_eq!(run.warning_count_beside_stale_dates(), 1, "{run}");
}

#[test]
fn front_matter_source_that_no_section_of_its_file_cites_is_a_warning_at_its_line() {
    // garden.md names seed-list but its sections cite garden-rota only; sowing.md's section
    // cites seed-list by default, so sources.json has nothing uncited.
    let run = check(&broken("cite-unused"));
    assert_eq!(run.code, Some(0), "{run}");
    let warning = run.warning("garden.md:4");
    assert!(
        warning.contains("names the source \"seed-list\", but no section of this file cites it")
            && warning.contains("(fix: add \"seed-list\" to the `<!-- sources: -->` line"),
        "{run}"
    );
    assert_eq!(run.warning_count_beside_stale_dates(), 1, "{run}");
}

#[test]
fn unknown_programme_code_is_reported_at_its_line_with_the_known_codes() {
    let run = check(&broken("unknown-programme"));
    assert_single_error(
        &run,
        "unknown-programme.md:6",
        "unknown programme code \"KNIT\"",
        "POT",
    );
}

#[test]
fn problems_in_several_files_are_all_reported_in_one_run() {
    let run = check(&broken("several"));
    assert_eq!(run.code, Some(1), "{run}");
    assert_error(&run, "unclosed.md:1", "never closed", "`+++`");
    assert_error(
        &run,
        "stray-key.md:9",
        "unknown field `colour`",
        "publisher",
    );
    assert_error(
        &run,
        "glossary.toml:2",
        "needs at least two words",
        "two or more",
    );
    assert_error(
        &run,
        "programmes.toml:10",
        "unknown programme kind \"weekly\"",
        "declares no kinds: add a [[kinds]] table",
    );
    assert_error(&run, "sources.json:2", "invalid date \"next year\"", "YYYY");
    assert_error(
        &run,
        "autumn/harvest.md:3",
        "`updated` is not a valid date: \"2024-10-32\"",
        "YYYY",
    );
    assert_eq!(run.error_count(), Some(6), "{run}");
}

#[test]
fn every_problem_in_one_file_is_reported_in_one_run() {
    let run = check(&broken("one-file-many-problems"));
    assert_eq!(run.code, Some(1), "{run}");
    assert_error(
        &run,
        "crowded.md:3",
        "`updated` is not a valid date: \"2025-06-31\"",
        "YYYY",
    );
    assert_error(
        &run,
        "crowded.md:4",
        "unknown programme code \"FETE\"",
        "programmes.toml",
    );
    assert_error(
        &run,
        "crowded.md:14",
        "unknown source id \"raffle-rules\"",
        "sources.json",
    );
    assert_error(
        &run,
        "crowded.md:18",
        "the section \"Raffle prizes\" is empty",
        "heading",
    );
    assert_eq!(run.error_count(), Some(4), "{run}");
}

#[test]
fn each_problem_is_one_line_of_output() {
    for kind in ["bad-toml", "several"] {
        let dir = broken(kind);
        let run = check(&dir);
        let prefix = dir.display().to_string();
        for line in run.stdout.lines().filter(|l| !l.contains(" error(s), ")) {
            assert!(
                line.starts_with(&prefix) && line.ends_with(')'),
                "a diagnostic line should read path:line: error: message (fix: ...), got {line:?}\n{run}"
            );
        }
    }
}

#[test]
fn plain_files_without_front_matter_load_as_local_faqs_without_warnings() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plain");
    let run = check(&dir);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(!run.stdout.contains(": error: "), "{run}");
    for file in ["faq.txt", "notes.md"] {
        assert!(!run.stdout.contains(&format!("/{file}:")), "{run}");
    }
    // The one warning is the front-matter document's `updated` date, written in 2025.
    let stale = run.warning("garden.md:3");
    assert!(stale.contains("more than a year before today"), "{run}");
    let summary = run.stdout.lines().last().unwrap_or_default();
    assert!(
        summary.starts_with("ok: 3 documents,") && summary.contains(" 1 warning(s)"),
        "{run}"
    );
}

#[test]
fn bundled_knowledge_checks_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
    let run = check(&dir);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(!run.stdout.contains(": error: "), "{run}");
    let summary = run
        .stdout
        .lines()
        .find(|l| l.starts_with("ok: "))
        .unwrap_or_else(|| panic!("no ok: summary\n{run}"));
    let documents: usize = summary["ok: ".len()..]
        .split_once(" documents")
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no document count in {summary:?}"));
    assert!(documents > 0, "{summary}");
    // This fails once the bundled guidance's `updated` dates are more than a year old, as
    // `check` then warns: read the sources again and move the dates on.
    assert_eq!(run.warning_count(), 0, "{run}");
}

/// Runs the real binary with `args` from an empty folder, `env` set and `stdin` given; killed
/// (and the test failed) if it takes more than 60 s, as reading a FIFO would.
fn run_bot(args: &[&std::ffi::OsStr], env: &[(&str, &str)], stdin: &[u8]) -> Run {
    use std::io::Write;
    use std::process::Stdio;
    let cwd = tempfile::tempdir().expect("a temporary folder");
    let mut command = Command::new(env!("CARGO_BIN_EXE_npq-bot"));
    command.args(args).current_dir(cwd.path());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("NPQ_BOT") || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("npq-bot runs");
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let pid = child.id();
    let (done, finished) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let output = child.wait_with_output().expect("npq-bot finishes");
        let _ = done.send(());
        output
    });
    if finished
        .recv_timeout(std::time::Duration::from_secs(60))
        .is_err()
    {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
        panic!("npq-bot {args:?} did not finish within 60 s");
    }
    let output = waiter.join().unwrap();
    writer.join().unwrap();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A copy of the bundled knowledge (flat and nested) that a test may add files to.
fn bundled_copy() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge"),
        dir.path(),
    );
    dir
}

fn ask_in(dir: &Path, question: &str, env: &[(&str, &str)]) -> Run {
    run_bot(
        &[
            "ask".as_ref(),
            "--json".as_ref(),
            "--knowledge".as_ref(),
            dir.as_os_str(),
            question.as_ref(),
        ],
        env,
        b"",
    )
}

/// A broken file (not UTF-8) is reported by path:line on standard error and left out; the rest
/// answers. With `knowledge.strict = true` it stops `ask` as before.
#[test]
fn a_broken_file_is_reported_and_skipped_unless_strict() {
    let dir = bundled_copy();
    fs::write(
        dir.path().join("bad.md"),
        b"+++\ntitle = \"Bad\"\n+++\n\n## Pay\n\n\xff\xfe NPQH pay\n",
    )
    .unwrap();
    let run = ask_in(dir.path(), "how long is the NPQH", &[]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.stderr.contains("bad.md:7"), "{run}");
    assert!(run.stderr.contains("not UTF-8"), "{run}");
    let answer: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert!(!answer["results"].as_array().unwrap().is_empty(), "{run}");

    let strict = ask_in(
        dir.path(),
        "how long is the NPQH",
        &[("NPQ_BOT__KNOWLEDGE__STRICT", "true")],
    );
    assert_ne!(strict.code, Some(0), "{strict}");
    assert!(strict.stderr.contains("bad.md:7"), "{strict}");
}

/// A FIFO (which would block any read) is skipped by `check`, by `ask` and by the on-disk
/// index's content hash; links leaving the folder (to /etc/passwd, to /dev/zero) are not read.
#[cfg(unix)]
#[test]
fn only_regular_files_inside_the_folder_are_read() {
    let dir = bundled_copy();
    let fifo = dir.path().join("pipe.md");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("passwd.md")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.md")).unwrap();
    // A link to a file inside the folder is read.
    fs::write(
        dir.path().join("_kettle.txt"),
        "+++\ntitle = \"Staffroom kettle rota\"\nupdated = \"2026-11-01\"\ncite = [\"neu-2023\"]\n+++\n\n## Who fills the staffroom kettle?\n\nThe staffroom kettle rota gives each department one week per half term.\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(dir.path().join("_kettle.txt"), dir.path().join("kettle.md"))
        .unwrap();

    let run = check(dir.path());
    assert_eq!(run.code, Some(0), "{run}");
    for (file, why) in [
        ("pipe.md", "not a regular file"),
        ("passwd.md", "outside the knowledge folder"),
        ("zero.md", "outside the knowledge folder"),
    ] {
        let line = run
            .stdout
            .lines()
            .find(|l| l.contains(&format!("/{file}:1: warning: ")))
            .unwrap_or_else(|| panic!("no warning for {file}\n{run}"));
        assert!(line.contains(why), "{line}");
    }

    let index = tempfile::tempdir().unwrap();
    let index_path = index.path().join("index");
    let env = [("NPQ_BOT__INDEX__PATH", index_path.to_str().unwrap())];
    let run = ask_in(dir.path(), "who fills the staffroom kettle", &env);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.stdout.contains("kettle rota"), "{run}");
    let run = ask_in(dir.path(), "root daemon bin sys nologin", &env);
    let answer: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert!(!answer["results"].to_string().contains("nologin"), "{run}");
}

/// A file over the size cap is reported and skipped, not read whole.
#[test]
fn a_file_over_the_size_cap_is_reported_and_skipped() {
    let dir = bundled_copy();
    let mut big = String::from("+++\ntitle = \"Huge\"\nupdated = \"2026-11-01\"\ncite = [\"neu-2023\"]\n+++\n\n## Huge\n\n");
    while big.len() <= 9 * 1024 * 1024 {
        big.push_str("The staffroom kettle rota gives each department one week per half term. ");
    }
    fs::write(dir.path().join("huge.md"), big).unwrap();
    let run = check(dir.path());
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stdout
            .contains("huge.md:1: error: the file is larger than 8 MB"),
        "{run}"
    );
    let run = ask_in(dir.path(), "how long is the NPQH", &[]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.stderr.contains("huge.md:1"), "{run}");
}

/// One line of standard input that is not UTF-8 gets an error line; the batch goes on.
#[test]
fn a_bad_line_on_standard_input_does_not_end_the_batch() {
    let knowledge = Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
    let run = run_bot(
        &[
            "ask".as_ref(),
            "--json".as_ref(),
            "--knowledge".as_ref(),
            knowledge.as_os_str(),
        ],
        &[],
        b"how long is the NPQH\n\xff\xfe broken\r\nis the NPQH funded\n",
    );
    assert_eq!(run.code, Some(0), "{run}");
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{run}");
    assert!(lines[0]["results"].is_array(), "{run}");
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .contains("line 2 is not UTF-8"),
        "{run}"
    );
    assert!(lines[2]["results"].is_array(), "{run}");
}
