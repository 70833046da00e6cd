//! The question log through the built binary: `ask --record`, `gaps` (JSON, CSV, recheck),
//! `stats --png`, and a writer killed with SIGKILL mid-write.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use sqlx::{Connection, Row};

const BIN: &str = env!("CARGO_BIN_EXE_npq-bot");

/// A knowledge folder (a garden guide) and a log database in a temporary folder; commands run
/// there, so the project's bot.toml is not read.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let knowledge = dir.path().join("knowledge");
        std::fs::create_dir(&knowledge).unwrap();
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recheck/garden.md"),
            knowledge.join("garden.md"),
        )
        .unwrap();
        Setup { dir }
    }

    fn knowledge(&self) -> PathBuf {
        self.dir.path().join("knowledge")
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("log").join("q.db")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.current_dir(self.dir.path())
            .env(
                "NPQ_BOT__LOG__DATABASE",
                format!("sqlite://{}", self.db().display()),
            )
            .env("NPQ_BOT__KNOWLEDGE__DIR", self.knowledge())
            .args(args);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = self.command(args).output().unwrap();
        assert!(
            out.status.success(),
            "npq-bot {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const LEAVE_QUESTIONS: [&str; 2] = [
    "How many days of annual leave do teachers get?",
    "How much annual leave does a teacher have?",
];

#[test]
fn recorded_questions_show_as_gaps_in_json_and_csv_and_recheck_answers_them() {
    let s = Setup::new();
    for q in LEAVE_QUESTIONS {
        s.run(&["ask", "--record", q]);
    }
    s.run(&["ask", "--record", "Who waters the raised beds?"]);
    // Without --record nothing is logged.
    s.run(&["ask", "Where does the shed key hang?"]);
    assert!(s.db().is_file(), "log.database from the environment");

    let json: serde_json::Value =
        serde_json::from_slice(&s.run(&["gaps", "--json"]).stdout).unwrap();
    let gaps = json.as_array().expect("an array");
    assert_eq!(gaps.len(), 1, "{json}");
    assert_eq!(gaps[0]["count"], 2);
    assert_eq!(gaps[0]["status"], "open");
    assert_eq!(gaps[0]["examples"][0], LEAVE_QUESTIONS[0]);
    assert!(gaps[0]["last_asked"].as_str().unwrap().ends_with('Z'));

    let csv = stdout(&s.run(&["gaps", "--csv", "--since", "7"]));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "key,count,last_asked,status,refused,first,examples"
    );
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(
        lines[1].contains(",2,") && lines[1].contains(",open,2,"),
        "{csv}"
    );

    let report = stdout(&s.run(&["gaps", "--recheck"]));
    assert!(report.starts_with("answers 0 of 1 open gaps"), "{report}");
    std::fs::write(s.knowledge().join("leave.md"), LEAVE).unwrap();
    let report = stdout(&s.run(&[
        "gaps",
        "--recheck",
        "--knowledge",
        &s.knowledge().to_string_lossy(),
    ]));
    assert!(report.starts_with("answers 1 of 1 open gaps"), "{report}");
    let json: serde_json::Value =
        serde_json::from_slice(&s.run(&["gaps", "--json"]).stdout).unwrap();
    assert_eq!(json[0]["status"], "answered", "{json}");
}

#[test]
fn stats_draw_a_png_and_a_table() {
    let s = Setup::new();
    s.run(&["ask", "--record", "Who waters the raised beds?"]);
    s.run(&[
        "ask",
        "--record",
        "How much annual leave does a teacher have?",
    ]);
    let png = s.dir.path().join("weeks.png");
    let out = s.run(&["stats", "--weeks", "3", "--png", &png.to_string_lossy()]);
    let table = stdout(&out);
    assert_eq!(
        table.lines().filter(|l| l.contains("-W")).count(),
        3,
        "{table}"
    );
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert!(bytes.len() > 5_000);
    let json: serde_json::Value =
        serde_json::from_slice(&s.run(&["stats", "--weeks", "2", "--json"]).stdout).unwrap();
    let this = &json["weeks"][1];
    assert_eq!(
        (this["questions"].as_u64(), this["refused"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(json["topics"][0][0], "Watering the school garden");
}

#[test]
fn a_wrong_database_setting_names_the_fix() {
    let s = Setup::new();
    let out = s
        .command(&["gaps", "--database", "mysql://u:hunter2@h/db"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sqlite://") && !err.contains("hunter2"),
        "{err}"
    );
}

#[test]
fn a_writer_killed_mid_write_loses_no_committed_row() {
    let s = Setup::new();
    let mut child = s
        .command(&["ask", "--record", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        for i in 0.. {
            if writeln!(stdin, "Who waters the raised beds on day {i}?").is_err() {
                break;
            }
        }
    });
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = format!("sqlite://{}", s.db().display());
    let count = || -> i64 {
        runtime.block_on(async {
            let Ok(mut conn) = sqlx::sqlite::SqliteConnection::connect(&url).await else {
                return 0;
            };
            sqlx::query("SELECT COUNT(*) FROM entries")
                .fetch_one(&mut conn)
                .await
                .map(|r| r.get::<i64, _>(0))
                .unwrap_or(0)
        })
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    let committed = loop {
        let n = count();
        if n >= 30 {
            break n;
        }
        assert!(
            Instant::now() < deadline,
            "the child wrote {n} rows in 2 minutes"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // SIGKILL, while rows keep coming.
    child.kill().unwrap();
    child.wait().unwrap();
    feeder.join().unwrap();
    let after = count();
    assert!(
        after >= committed,
        "{after} rows after the kill, {committed} seen before"
    );
    runtime.block_on(async {
        let mut conn = sqlx::sqlite::SqliteConnection::connect(&url).await.unwrap();
        let check: String = sqlx::query("PRAGMA integrity_check")
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .get(0);
        assert_eq!(check, "ok");
    });
    // The database opens and takes more.
    s.run(&["ask", "--record", "One more question after the crash?"]);
    assert_eq!(count(), after + 1);
}

/// The file that answers the leave gap.
const LEAVE: &str = r#"+++
title = "Annual leave for teachers"
updated = "2025-03-14"

[[sources]]
id = "leave-handbook"
publisher = "Staff Handbook"
title = "Leave and holidays"
date = "2025-02"
+++

## How much annual leave teachers get

Teachers take their annual leave during the school holidays: about thirteen weeks a year,
fixed by the school calendar rather than booked as days.
"#;
