//! The on-disk index (`index.path`): built once, reused while the knowledge folder is
//! unchanged, rebuilt when it changes, and answering exactly as the index in RAM does.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use npq_bot::store::{self, Opened};
use npq_bot::{eval, Engine, Settings};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of the bundled knowledge that a test may edit.
fn knowledge_copy(into: &Path) -> PathBuf {
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
    let dir = into.join("knowledge");
    copy(&root().join("knowledge"), &dir);
    dir
}

/// Each file of the index folder with its size and modification time.
fn snapshot(dir: &Path) -> BTreeMap<String, (u64, SystemTime)> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                (meta.len(), meta.modified().unwrap()),
            )
        })
        .collect()
}

fn open(knowledge: &Path, index: &Path) -> Engine {
    npq_bot::open_engine(knowledge, Settings::default(), Some(index)).unwrap()
}

/// An index inside the knowledge folder would be rebuilt forever (the watcher takes each build
/// for an edit): it is refused, naming both paths and the fix, and nothing is written there.
#[test]
fn an_index_path_inside_the_knowledge_folder_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let knowledge = knowledge_copy(tmp.path());
    for index in [knowledge.join("index"), knowledge.join(".index")] {
        let err = npq_bot::open_engine(&knowledge, Settings::default(), Some(&index))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("inside the knowledge folder") && err.contains("fix"),
            "{err}"
        );
        assert!(!index.exists());
    }
    // Beside the folder is fine.
    let beside = tmp.path().join("index");
    assert!(npq_bot::open_engine(&knowledge, Settings::default(), Some(&beside)).is_ok());
}

#[test]
fn the_first_open_builds_the_index_and_the_second_reuses_it() {
    let tmp = tempfile::tempdir().unwrap();
    let knowledge = root().join("knowledge");
    let index = tmp.path().join("index");
    assert!(matches!(
        store::open(&index, &knowledge).unwrap(),
        Opened::Stale { .. }
    ));

    let first = open(&knowledge, &index);
    assert!(index.join(store::MANIFEST).is_file());
    assert!(index.join(store::DOCUMENTS).is_file());
    assert!(store::is_fresh(&index, &knowledge).unwrap());
    let built = snapshot(&index);

    // Modification times must be able to tell a rewrite from a reuse.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let second = open(&knowledge, &index);
    assert!(matches!(
        store::open(&index, &knowledge).unwrap(),
        Opened::Fresh { .. }
    ));
    assert_eq!(snapshot(&index), built, "reusing the index rewrote files");
    assert_eq!(second.num_passages(), first.num_passages());
    assert_eq!(second.documents, first.documents);
    assert_eq!(second.programmes.len(), first.programmes.len());
}

#[test]
fn editing_a_knowledge_file_rebuilds_the_index_with_the_new_text() {
    let tmp = tempfile::tempdir().unwrap();
    let knowledge = knowledge_copy(tmp.path());
    let index = tmp.path().join("index");
    let question = "Who pays the zebra crossing allowance?";

    let before = open(&knowledge, &index);
    assert!(!before.answer(question).answered);
    let passages = before.num_passages();
    drop(before);

    let file = knowledge.join("school-support.md");
    let mut text = fs::read_to_string(&file).unwrap();
    text.push_str(
        "\n## Who pays the zebra crossing allowance?\n\nThe zebra crossing allowance is paid by the school's governing board each term.\n",
    );
    fs::write(&file, text).unwrap();
    assert!(!store::is_fresh(&index, &knowledge).unwrap());

    let after = open(&knowledge, &index);
    assert!(store::is_fresh(&index, &knowledge).unwrap());
    assert_eq!(after.num_passages(), passages + 1);
    let answer = after.answer(question);
    assert!(answer.answered, "{answer:?}");
    assert!(
        answer.results[0].snippet.contains("governing board"),
        "{:?}",
        answer.results[0]
    );
}

#[test]
fn a_folder_with_errors_keeps_the_old_index() {
    let tmp = tempfile::tempdir().unwrap();
    let knowledge = knowledge_copy(tmp.path());
    let index = tmp.path().join("index");
    open(&knowledge, &index);
    let built = snapshot(&index);

    fs::write(knowledge.join("broken.md"), "+++\ntitle = \"x\"\n").unwrap();
    let err = npq_bot::open_engine(&knowledge, Settings::default(), Some(&index)).unwrap_err();
    assert!(format!("{err:#}").contains("broken.md:1"), "{err:#}");
    assert_eq!(snapshot(&index), built);
}

#[test]
fn a_folder_that_is_not_an_index_is_refused_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let index = tmp.path().join("not-an-index");
    fs::create_dir_all(&index).unwrap();
    fs::write(index.join("notes.txt"), "my notes").unwrap();

    let err = npq_bot::open_engine(&root().join("knowledge"), Settings::default(), Some(&index))
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("not an npq-bot index"),
        "{err:#}"
    );
    assert_eq!(
        fs::read_to_string(index.join("notes.txt")).unwrap(),
        "my notes"
    );
}

#[test]
fn a_damaged_index_is_rebuilt() {
    let tmp = tempfile::tempdir().unwrap();
    let knowledge = root().join("knowledge");
    let index = tmp.path().join("index");
    let passages = open(&knowledge, &index).num_passages();
    fs::write(index.join(store::DOCUMENTS), "not json").unwrap();
    assert!(matches!(
        store::open(&index, &knowledge).unwrap(),
        Opened::Stale { .. }
    ));
    assert_eq!(open(&knowledge, &index).num_passages(), passages);
    assert!(matches!(
        store::open(&index, &knowledge).unwrap(),
        Opened::Fresh { .. }
    ));
}

#[test]
fn answers_from_the_disk_index_equal_answers_from_ram() {
    let tmp = tempfile::tempdir().unwrap();
    let knowledge = root().join("knowledge");
    let index = tmp.path().join("index");
    let ram = npq_bot::load_engine(&knowledge, Settings::default()).unwrap();
    let built = open(&knowledge, &index);
    let reused = open(&knowledge, &index);
    assert_eq!(built.documents, ram.documents);
    assert_eq!(reused.documents, ram.documents);
    assert_eq!(reused.num_passages(), ram.num_passages());
    // Other wordings of a section's question are kept in the index too.
    let texts = ram.embedding_texts();
    assert!(texts.iter().any(|t| t.asked > 0));
    assert_eq!(reused.embedding_texts(), texts);

    let questions = eval::read_questions(&root().join("tests/questions.jsonl")).unwrap();
    assert!(questions.len() >= 60);
    for q in &questions {
        let expected = ram.answer(&q.q);
        assert_eq!(built.answer(&q.q), expected, "built index: {}", q.q);
        assert_eq!(reused.answer(&q.q), expected, "reused index: {}", q.q);
        assert_eq!(
            reused.answer_page(&q.q, 1, 3),
            ram.answer_page(&q.q, 1, 3),
            "second page: {}",
            q.q
        );
    }
}

#[test]
fn the_stems_kept_for_ranking_are_those_of_the_passage_text() {
    use npq_bot::analysis::{content_stems, sentences, QuestionType};
    use npq_bot::search::PassageStems;

    let tmp = tempfile::tempdir().unwrap();
    let generated = tmp.path().join("generated");
    npq_bot::corpus::generate(&root().join("knowledge"), &generated, 600, 2).unwrap();
    for dir in [root().join("knowledge"), generated] {
        let knowledge = npq_bot::load_knowledge(&dir).unwrap();
        for p in knowledge.passages() {
            let stems = PassageStems::of(&p);
            let owned = |it: &mut dyn Iterator<Item = &str>| -> Vec<String> {
                it.map(str::to_string).collect()
            };
            assert_eq!(owned(&mut stems.section()), content_stems(&p.section));
            assert_eq!(
                owned(&mut stems.own()),
                content_stems(&format!("{}\n{}", p.section, p.text))
            );
            assert_eq!(
                owned(&mut stems.context()),
                content_stems(&format!(
                    "{}\n{}\n{}",
                    p.title,
                    p.keywords,
                    p.asked.join("\n")
                ))
            );
            let by_sentence: Vec<Vec<String>> =
                stems.sentences().map(|s| owned(&mut { s })).collect();
            let expected: Vec<Vec<String>> = sentences(&p.text)
                .into_iter()
                .map(|r| content_stems(&p.text[r]))
                .collect();
            assert_eq!(by_sentence, expected, "{} > {}", p.title, p.section);
            // The kinds of fact stated (a duration, an amount...), for the whole text and for
            // each sentence, are those the question types' own tests find.
            for kind in QuestionType::ALL {
                assert_eq!(stems.states(kind), kind.matches(&p.text), "{kind:?}");
                for (i, r) in sentences(&p.text).into_iter().enumerate() {
                    let says = kind.matches(&p.text[r]);
                    assert_eq!(stems.sentence_states(i, kind), says, "{kind:?} {i}");
                }
            }
        }
    }
}

/// Several processes started together on one `index.path` after the folder changed: each
/// either builds the new index (one at a time, under the lock) or waits and opens it; none
/// sees a half-replaced folder.
#[test]
fn processes_sharing_an_index_path_never_break_each_other() {
    let tmp = tempfile::tempdir().unwrap();
    let knowledge = knowledge_copy(tmp.path());
    let index = tmp.path().join("index");
    open(&knowledge, &index);
    for round in 0..2 {
        let file = knowledge.join("school-support.md");
        let mut text = fs::read_to_string(&file).unwrap();
        text.push_str(&format!(
            "\n## Who pays the zebra crossing allowance {round}?\n\nThe zebra crossing allowance {round} is paid by the school's governing board each term.\n"
        ));
        fs::write(&file, text).unwrap();
        let children: Vec<std::process::Child> = (0..4)
            .map(|_| {
                let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_npq-bot"));
                for (key, _) in std::env::vars() {
                    if key.starts_with("NPQ_BOT") {
                        cmd.env_remove(key);
                    }
                }
                cmd.current_dir(tmp.path())
                    .args(["ask", "--json", "--knowledge"])
                    .arg(&knowledge)
                    .arg("who pays the zebra crossing allowance")
                    .env("NPQ_BOT__INDEX__PATH", &index)
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        // Threads of this process join in, each with its own lock.
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let (knowledge, index) = (knowledge.clone(), index.clone());
                std::thread::spawn(move || {
                    npq_bot::open_engine(&knowledge, Settings::default(), Some(&index))
                        .map(|e| e.num_passages())
                        .map_err(|e| format!("{e:#}"))
                })
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(answer["answered"], true, "{answer}");
        }
        for t in threads {
            t.join().unwrap().unwrap();
        }
        assert!(store::is_fresh(&index, &knowledge).unwrap());
    }
    // No temporary folder is left beside the index.
    let beside: Vec<String> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("building") || n.contains(".old-"))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
}

/// A rebuild writes beside the index: until it is finished, the index in place is untouched
/// (other processes keep serving it) and still opens as fresh for the content it was built
/// from.
#[test]
fn a_build_leaves_the_index_in_place_until_it_is_finished() {
    let tmp = tempfile::tempdir().unwrap();
    let knowledge = knowledge_copy(tmp.path());
    let index = tmp.path().join("index");
    let engine = open(&knowledge, &index);
    let built = snapshot(&index);
    let passages = npq_bot::load_knowledge(&knowledge).unwrap().passages();
    let n = passages.len();
    let building = store::build(&index, "another-hash", passages, n).unwrap();
    assert_eq!(
        snapshot(&index),
        built,
        "the build wrote into the served index"
    );
    assert!(matches!(
        store::open(&index, &knowledge).unwrap(),
        Opened::Fresh { .. }
    ));
    assert!(engine.answer("how long is the NPQH").answered);
    drop(building);
}

/// Flipped bytes in an index file are found by the checksums: the index is rebuilt instead of
/// being trusted (questions on it could panic).
#[test]
fn a_corrupt_index_file_is_found_and_rebuilt() {
    let tmp = tempfile::tempdir().unwrap();
    let knowledge = root().join("knowledge");
    let index = tmp.path().join("index");
    let passages = open(&knowledge, &index).num_passages();
    let biggest = fs::read_dir(&index)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            !name.starts_with("npq-bot") && !name.ends_with(".json")
        })
        .max_by_key(|p| fs::metadata(p).unwrap().len())
        .unwrap();
    let mut bytes = fs::read(&biggest).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 64] {
        *b ^= 0xA5;
    }
    fs::write(&biggest, bytes).unwrap();
    assert!(
        matches!(
            store::open(&index, &knowledge).unwrap(),
            Opened::Stale { .. }
        ),
        "a damaged {} is not trusted",
        biggest.display()
    );
    let rebuilt = open(&knowledge, &index);
    assert_eq!(rebuilt.num_passages(), passages);
    assert!(rebuilt.answer("how long is the NPQH").answered);
    assert!(matches!(
        store::open(&index, &knowledge).unwrap(),
        Opened::Fresh { .. }
    ));
}

/// Where nothing can be written beside the index (here: the lock path is taken by a folder, as
/// a read-only place refuses the lock file), a fresh index still opens, and a stale one is
/// reported as not writable (not silently "stale" and cleared).
#[test]
fn an_unwritable_index_path_is_told_apart_from_a_stale_one() {
    let tmp = tempfile::tempdir().unwrap();
    let knowledge = knowledge_copy(tmp.path());
    let index = tmp.path().join("index");
    let passages = open(&knowledge, &index).num_passages();
    // The lock file beside `index` is `.index.lock`.
    let lock = tmp.path().join(".index.lock");
    let _ = fs::remove_file(&lock);
    fs::create_dir_all(&lock).unwrap();
    assert_eq!(open(&knowledge, &index).num_passages(), passages);
    let built = snapshot(&index);

    fs::write(
        knowledge.join("kettle.md"),
        "+++\ntitle = \"Staffroom kettle rota\"\nupdated = \"2026-11-01\"\ncite = [\"neu-2023\"]\n+++\n\n## Who fills the kettle?\n\nEach department fills it for a week.\n",
    )
    .unwrap();
    let err = npq_bot::open_engine(&knowledge, Settings::default(), Some(&index)).unwrap_err();
    let err = format!("{err:#}");
    assert!(
        err.contains("cannot be written") && err.contains("index.path"),
        "{err}"
    );
    assert_eq!(snapshot(&index), built, "the index is left alone");
}

/// The disk fills up while a new index is built (here: a file size limit, so every write past
/// 32 KB fails as on a full disk): the build fails with a clear error, the old index is left
/// as it was with no temporary folder beside it, and the next start builds the new one.
#[cfg(unix)]
#[test]
fn a_full_disk_during_a_build_leaves_the_old_index() {
    let tmp = tempfile::tempdir().unwrap();
    let knowledge = knowledge_copy(tmp.path());
    let index = tmp.path().join("index");
    open(&knowledge, &index);
    let built = snapshot(&index);
    let file = knowledge.join("school-support.md");
    let mut text = fs::read_to_string(&file).unwrap();
    text.push_str("\n## Who pays the zebra crossing allowance?\n\nThe governing board pays it.\n");
    fs::write(&file, text).unwrap();

    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"trap "" XFSZ; ulimit -f 64; exec "$0" ask --knowledge "$1" "how long is the NPQH""#)
        .arg(env!("CARGO_BIN_EXE_npq-bot"))
        .arg(&knowledge)
        .env("NPQ_BOT__INDEX__PATH", &index)
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cannot build the index") && err.contains("disk full"),
        "{err}"
    );
    assert!(!err.contains("panicked at"), "{err}");
    assert_eq!(snapshot(&index), built, "the old index is left as it was");
    let beside: Vec<String> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("building") || n.contains(".old-"))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");

    let after = open(&knowledge, &index);
    assert!(
        after
            .answer("who pays the zebra crossing allowance")
            .answered
    );
}
