//! Log output: text by default, one JSON object per line with `logging.format = "json"`, and
//! never the text of a question at the default level.

use std::fs;
use std::path::Path;
use std::process::Command;

/// A small folder (the plain fixtures) with one broken file, which `ask` skips with a warning.
fn folder_with_a_broken_file() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plain");
    for entry in fs::read_dir(fixtures).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    fs::write(
        dir.path().join("bad.md"),
        b"+++\ntitle = \"Bad\"\n+++\n\n## Pay\n\n\xff\xfe pay\n",
    )
    .unwrap();
    dir
}

const QUESTION: &str = "who waters the raised beds on quokka mondays";

/// `ask` with `env` set (and no other `NPQ_BOT*` or `RUST_LOG` setting): exit code, standard
/// output and standard error.
fn ask(dir: &Path, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let cwd = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_npq-bot"));
    command
        .args(["ask", "--json", "--knowledge"])
        .arg(dir)
        .arg(QUESTION)
        .current_dir(cwd.path());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("NPQ_BOT") || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    let output = command.output().expect("npq-bot runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn json_format_writes_one_object_per_line_with_level_and_message() {
    let dir = folder_with_a_broken_file();
    let (code, stdout, stderr) = ask(dir.path(), &[("NPQ_BOT__LOGGING__FORMAT", "json")]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    let skipped = lines
        .iter()
        .find(|l| {
            l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("skipped a knowledge file") && m.contains("bad.md:7"))
        })
        .unwrap_or_else(|| panic!("no warning about bad.md in {stderr}"));
    assert_eq!(skipped["level"], "WARN", "{skipped}");
    assert!(skipped["timestamp"].is_string(), "{skipped}");
    assert!(
        !stderr.contains("quokka"),
        "the question reached the log: {stderr}"
    );
    // The answer itself is unchanged.
    let answer: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(answer["question"], QUESTION);
}

#[test]
fn text_is_the_default_format_and_leaves_questions_out() {
    let dir = folder_with_a_broken_file();
    let (code, stdout, stderr) = ask(dir.path(), &[]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("skipped a knowledge file"))
        .unwrap_or_else(|| panic!("no warning in {stderr}"));
    assert!(line.contains(" WARN "), "{line}");
    assert!(
        serde_json::from_str::<serde_json::Value>(line).is_err(),
        "{line}"
    );
    assert!(
        !stderr.contains("quokka"),
        "the question reached the log: {stderr}"
    );
}

#[test]
fn an_unknown_format_names_the_setting() {
    let dir = folder_with_a_broken_file();
    let (code, _, stderr) = ask(dir.path(), &[("NPQ_BOT__LOGGING__FORMAT", "yaml")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("setting `logging.format` must be \"text\""),
        "{stderr}"
    );
}
