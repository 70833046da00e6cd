//! A school's own FAQ without front matter: written as `Q:` / `A:` lines it makes one passage
//! per question, and its answers cite its title, "local FAQ" and the day the file last changed.
//! `check` warns about dates a rep should look at.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use npq_bot::knowledge;
use npq_bot::period;

/// The real binary with `args`, from an empty folder, with no `NPQ_BOT*` setting and `stdin`
/// given; its exit code and standard output.
fn run_bot(args: &[&std::ffi::OsStr], stdin: &str) -> (Option<i32>, String, String) {
    use std::io::Write;
    let cwd = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_npq-bot"));
    command.args(args).current_dir(cwd.path());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("NPQ_BOT") || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("npq-bot runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A copy of the bundled knowledge (with its embedding cache) to add files to.
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

/// Writes `text` to `path` and sets its modification time to `when`.
fn write_dated(path: &Path, text: &str, when: SystemTime) {
    fs::write(path, text).unwrap();
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(when)
        .unwrap();
}

/// `ask --json` over one question per line of `questions`: one answer each.
fn ask_all(dir: &Path, questions: &[&str]) -> Vec<serde_json::Value> {
    let (code, stdout, stderr) = run_bot(
        &[
            "ask".as_ref(),
            "--json".as_ref(),
            "--knowledge".as_ref(),
            dir.as_os_str(),
        ],
        &questions.join("\n"),
    );
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let answers: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), questions.len(), "{stdout}");
    answers
}

const QA_FAQ: &str = "Q: Where is the key to the NPQ study room kept?\nA: The study room key for NPQ participants hangs in the\nreprographics office, on the blue hook.\n\nQ: Can NPQ participants print their assignments for free?\nA: Yes. Participants print NPQ assignments free of charge\non the library printer with their staff badge.\n\nQ: Who books the minibus for NPQ visits to other schools?\nA: The bursar books the minibus for NPQ school visits.\n";

const QUESTIONS: [&str; 3] = [
    "Where is the key to the NPQ study room kept?",
    "Can NPQ participants print their assignments for free?",
    "Who books the minibus for NPQ visits to other schools?",
];

#[test]
fn question_and_answer_faq_makes_one_passage_per_question_that_ask_answers() {
    let dir = bundled_copy();
    // 15 March 2026, noon (UTC).
    let when = UNIX_EPOCH + Duration::from_secs(1_773_576_000);
    write_dated(&dir.path().join("staff-faq.txt"), QA_FAQ, when);

    let loaded = knowledge::load(dir.path()).unwrap();
    assert_eq!(loaded.errors().count(), 0);
    let passages: Vec<_> = loaded
        .knowledge
        .passages()
        .into_iter()
        .filter(|p| p.doc_id == "staff-faq")
        .collect();
    let headings: Vec<&str> = passages.iter().map(|p| p.section.as_str()).collect();
    assert_eq!(headings, QUESTIONS);
    assert_eq!(
        passages[0].text,
        "The study room key for NPQ participants hangs in the reprographics office, on the blue hook."
    );
    assert!(passages.iter().all(|p| !p.text.contains("A:")));

    let day = knowledge::freshness::format_day(period::date_of(when));
    assert_eq!(day, "2026-03-15");
    for (question, answer) in QUESTIONS.iter().zip(ask_all(dir.path(), &QUESTIONS)) {
        assert_eq!(answer["answered"], true, "{answer}");
        let top = &answer["results"][0];
        assert_eq!(top["section"], *question, "{answer}");
        assert_eq!(top["document"], "staff-faq", "{answer}");
        // No `#` title: the file name in words.
        assert_eq!(top["title"], "Staff faq", "{answer}");
        assert_eq!(top["source"]["publisher"], "local FAQ", "{answer}");
        assert_eq!(top["source"]["title"], "Staff faq", "{answer}");
        assert_eq!(top["source"]["date"], day.as_str(), "{answer}");
    }
}

/// A rep adds the way members ask to an entry of the school's FAQ (`<!-- asked: -->`): a
/// question in those words finds the entry, and the wording itself is never shown.
#[test]
fn other_wordings_in_a_faq_find_its_entry_and_are_never_shown() {
    let dir = bundled_copy();
    fs::write(
        dir.path().join("staff-faq.txt"),
        "Q: Who books the minibus for NPQ visits to other schools?\n\
         <!-- asked: How do I get to another school for an NPQ visit? | Is there transport for NPQ school visits? -->\n\
         A: The bursar books the minibus for NPQ school visits.\n",
    )
    .unwrap();
    let loaded = knowledge::load(dir.path()).unwrap();
    assert_eq!(loaded.errors().count(), 0);
    let passage = loaded
        .knowledge
        .passages()
        .into_iter()
        .find(|p| p.doc_id == "staff-faq")
        .expect("the FAQ entry");
    assert_eq!(
        passage.asked,
        [
            "How do I get to another school for an NPQ visit?",
            "Is there transport for NPQ school visits?"
        ]
    );
    assert_eq!(
        passage.text,
        "The bursar books the minibus for NPQ school visits."
    );
    let question = "how will I get to the other school for my NPQ visit?";
    let answer = &ask_all(dir.path(), &[question])[0];
    assert_eq!(answer["answered"], true, "{answer}");
    assert_eq!(
        answer["results"][0]["section"], "Who books the minibus for NPQ visits to other schools?",
        "{answer}"
    );
    assert!(
        !answer
            .to_string()
            .contains("another school for an NPQ visit"),
        "{answer}"
    );
}

#[test]
fn plain_faq_is_cited_by_its_title_as_a_local_faq_dated_by_its_last_change() {
    let dir = bundled_copy();
    let when = SystemTime::now() - Duration::from_secs(3 * 86_400);
    write_dated(
        &dir.path().join("cover-notes.md"),
        "# Cover notes for NPQ residentials\n\n## Who covers lessons on NPQ residential days?\n\nThe deputy head arranges cover for NPQ residential days from the supply budget.\n",
        when,
    );
    let answers = ask_all(
        dir.path(),
        &["who arranges cover for my lessons on NPQ residential days"],
    );
    let top = &answers[0]["results"][0];
    assert_eq!(top["document"], "cover-notes", "{}", answers[0]);
    assert_eq!(
        top["section"],
        "Who covers lessons on NPQ residential days?"
    );
    let source = &top["source"];
    assert_eq!(source["publisher"], "local FAQ", "{source}");
    assert_eq!(
        source["title"], "Cover notes for NPQ residentials",
        "{source}"
    );
    assert_eq!(
        source["date"],
        knowledge::freshness::format_day(period::date_of(when)).as_str(),
        "{source}"
    );
    assert_eq!(source["url"], serde_json::Value::Null, "{source}");
}

/// `day` moved by `years` (the 28th at most, so every month has it).
fn years_from((y, m, d): (i32, u32, u32), years: i32) -> String {
    format!("{:04}-{m:02}-{:02}", y + years, d.min(28))
}

fn document(updated: &str, source_date: &str, extra: &str) -> String {
    format!(
        "+++\ntitle = \"Rota\"\nupdated = \"{updated}\"\n{extra}\n[[sources]]\nid = \"page\"\npublisher = \"School office\"\ntitle = \"Rota page\"\ndate = \"{source_date}\"\n+++\n\n## Who writes the rota\n<!-- sources: page -->\n\nThe office writes the rota every term.\n"
    )
}

#[test]
fn check_warns_about_stale_future_and_undated_dates_at_their_lines() {
    let today = period::today();
    let (stale, future, recent) = (
        years_from(today, -2),
        years_from(today, 1),
        knowledge::freshness::format_day(today),
    );
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| fs::write(dir.path().join(name), text).unwrap();
    // An old source cited by a recently checked document is history, not a problem.
    write("history.md", &document(&recent, "2009", ""));
    write("stale.md", &document(&stale, "2009", ""));
    write("ahead.md", &document(&future, &future, ""));
    write(
        "undated.md",
        &document(&recent, "undated", "cite = [\"calendar\"]\n")
            .replace("<!-- sources: page -->", "<!-- sources: page, calendar -->"),
    );
    write(
        "sources.json",
        "{\n  \"calendar\": { \"publisher\": \"School office\", \"title\": \"Calendar\", \"date\": \"undated\" },\n  \"minutes\": { \"publisher\": \"Governors\", \"title\": \"Minutes\", \"date\": \"undated\", \"note\": \"written after the 2025 meeting\" }\n}\n",
    );
    write(
        "minutes.md",
        &document(&recent, "2020", "cite = [\"minutes\"]\n")
            .replace("<!-- sources: page -->", "<!-- sources: page, minutes -->"),
    );

    let (code, stdout, _) = run_bot(
        &[
            "check".as_ref(),
            "--knowledge".as_ref(),
            dir.path().as_os_str(),
        ],
        "",
    );
    assert_eq!(code, Some(0), "{stdout}");
    let warning = |location: &str| -> &str {
        stdout
            .lines()
            .find(|l| l.contains(&format!("/{location}: warning: ")))
            .unwrap_or_else(|| panic!("no warning at {location}\n{stdout}"))
    };
    let w = warning("stale.md:3");
    assert!(
        w.contains(&format!(
            "`updated` is \"{stale}\", more than a year before today"
        )) && w.contains("(fix: read the sources again"),
        "{w}"
    );
    let w = warning("ahead.md:3");
    assert!(
        w.contains(&format!("`updated` is \"{future}\", which is after today")),
        "{w}"
    );
    let w = warning("ahead.md:9");
    assert!(
        w.contains(&format!("`date` is \"{future}\", which is after today")),
        "{w}"
    );
    let w = warning("undated.md:10");
    assert!(
        w.contains("source \"page\" is undated and has no note")
            && w.contains("(fix: look for a date"),
        "{w}"
    );
    let w = warning("sources.json:2");
    assert!(
        w.contains("source \"calendar\" is undated and has no note"),
        "{w}"
    );
    assert_eq!(
        stdout.lines().filter(|l| l.contains(": warning: ")).count(),
        5,
        "{stdout}"
    );
    assert!(
        stdout.lines().last().unwrap().contains(" 5 warning(s)"),
        "{stdout}"
    );
}
