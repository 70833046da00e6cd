//! The shipped embedding model: its files are the ones its ORIGIN.md names (sha256), it runs
//! in the process without a network, and the bundled knowledge's vectors ship with it.

use std::path::Path;

use npq_bot::retrieve::semantic::{cosine, Embedder, Precision, MODEL_DIR};
use sha2::{Digest, Sha256};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn model_files_match_the_sums_in_their_origin_note() {
    let dir = root().join(MODEL_DIR);
    let origin = std::fs::read_to_string(dir.join("ORIGIN.md")).expect("ORIGIN.md is kept");
    let mut checked = 0;
    for line in origin.lines() {
        // | file | `sum` |
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 3 || !cells[2].starts_with('`') || cells[1].contains(' ') {
            continue;
        }
        let file = cells[1];
        let want = cells[2].trim_matches('`');
        if want.len() != 64 || !dir.join(file).is_file() {
            continue;
        }
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let got = format!("{:x}", Sha256::digest(&bytes));
        assert_eq!(got, want, "{file} differs from the sum in ORIGIN.md");
        checked += 1;
    }
    assert!(
        checked >= 3,
        "ORIGIN.md should list the sums of the model files"
    );
    assert!(
        dir.join("LICENSE").is_file(),
        "the model's licence ships with it"
    );
}

#[test]
fn the_model_puts_paraphrases_near_and_other_topics_far() {
    let model = Embedder::load(&root().join(MODEL_DIR)).expect("the shipped model loads");
    let v = model
        .embed(&[
            "How much does the headship qualification cost?",
            "what's the price of the NPQH",
            "Where can I park my car at school?",
        ])
        .unwrap();
    assert_eq!(v[0].len(), 384);
    let norm: f32 = v[0].iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-3, "vectors are unit length");
    let near = cosine(&v[0], &v[1]);
    let far = cosine(&v[0], &v[2]);
    assert!(near > far + 0.2, "paraphrase {near} vs other topic {far}");
    // The same text gives the same vector, alone or in a batch.
    let alone = model.embed_one("what's the price of the NPQH").unwrap();
    assert!(cosine(&alone, &v[1]) > 0.999);
}

#[test]
fn the_model_lists_its_whole_words_commonest_first() {
    let model = Embedder::load(&root().join(MODEL_DIR)).expect("the shipped model loads");
    let words: std::collections::HashMap<String, u64> = model.words().into_iter().collect();
    assert!(words.len() > 15_000, "{} whole words", words.len());
    assert!(
        words
            .keys()
            .all(|w| !w.starts_with("##") && !w.starts_with('[')),
        "word pieces and special tokens are not words"
    );
    // The order the respelling relies on: commoner words have lower ranks.
    assert!(words["the"] < words["school"] && words["school"] < words["retiring"]);
}

#[test]
fn the_bundled_knowledge_ships_every_passage_vector() {
    let dir = root().join("knowledge");
    let knowledge = npq_bot::load_knowledge(&dir).unwrap();
    let engine = npq_bot::Engine::new(knowledge, npq_bot::Settings::default()).unwrap();
    let (held, total) = engine
        .embedding_coverage(&dir.join(npq_bot::EMBEDDINGS_FILE))
        .unwrap();
    assert_eq!(
        held,
        total,
        "knowledge/{} is stale: run `npq-bot embed`",
        npq_bot::EMBEDDINGS_FILE
    );
}

#[test]
fn the_encoder_gives_the_vectors_the_shipped_cache_holds() {
    // The cache's rows were embedded when the knowledge was written (at first by candle 0.9's
    // BertModel, an implementation independent of the encoder used now) and kept as 8-bit
    // rows: every sampled text must come out the same to within that rounding in `f32`, and
    // close to it with 8-bit weights and inputs (which `load` picks on processors with VNNI).
    let dir = root().join("knowledge");
    let knowledge = npq_bot::load_knowledge(&dir).unwrap();
    let engine = npq_bot::Engine::new(knowledge, npq_bot::Settings::default()).unwrap();
    let texts: Vec<String> = engine
        .embedding_texts()
        .into_iter()
        .flatten()
        .step_by(7)
        .take(150)
        .collect();
    assert!(texts.len() >= 100, "{} texts sampled", texts.len());
    for (precision, least, least_median) in [
        (Precision::F32, 0.999, 0.9999),
        (Precision::Int8, 0.99, 0.995),
    ] {
        let model = Embedder::load_with(&root().join(MODEL_DIR), precision)
            .expect("the shipped model loads");
        let cache = npq_bot::retrieve::semantic::Cache::read(
            &dir.join(npq_bot::EMBEDDINGS_FILE),
            &model.id,
            npq_bot::retrieve::semantic::DIM,
        );
        let mut agree = agreement(&model, &cache, &texts);
        agree.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (worst, median) = (agree[0], agree[agree.len() / 2].0);
        eprintln!("{precision:?}: worst {worst:?}, median {median}");
        assert!(
            worst.0 > least && median > least_median,
            "{precision:?}: cosine {} (median {median}) between the encoder and the cache for {:?}",
            worst.0,
            worst.1
        );
    }
}

#[test]
fn texts_stacked_in_one_pass_get_the_vectors_they_get_alone() {
    let texts = [
        "how long is the npqsl",
        "",
        "and is it free and do i get paid more after",
        "The NPQ for SENCOs replaced the National Award for SENCO Co-ordination in September 2024, and a new SENCO must start it within three years of taking the post.",
        "x",
    ];
    for precision in [Precision::F32, Precision::Int8] {
        let model = Embedder::load_with(&root().join(MODEL_DIR), precision)
            .expect("the shipped model loads");
        let together = model.embed(&texts).unwrap();
        for (text, v) in texts.iter().zip(&together) {
            let alone = model.embed_one(text).unwrap();
            let off = alone
                .iter()
                .zip(v)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(
                off < 1e-5,
                "{precision:?} {text:?}: off by {off} when stacked"
            );
        }
    }
}

/// `npq-bot embed` writes a cache of every passage's texts in `f32` whatever the processor
/// (8-bit products where it has VNNI are for questions), so a cache is the same wherever it
/// was written.
#[test]
fn the_embed_command_writes_every_text_in_f32() {
    let folder = tempfile::tempdir().unwrap();
    // The guidance without its cache, so that every text is embedded here.
    for entry in std::fs::read_dir(root().join("tests/fixtures/trips")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        if name != npq_bot::EMBEDDINGS_FILE {
            std::fs::copy(&path, folder.path().join(name)).unwrap();
        }
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_npq-bot"))
        .args(["embed", "--knowledge"])
        .arg(folder.path())
        .env_remove("NPQ_PRECISION")
        .env_remove("NPQ_BOT_MODEL_DIR")
        .current_dir(folder.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "embed failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let knowledge = npq_bot::load_knowledge(folder.path()).unwrap();
    let engine = npq_bot::Engine::new(knowledge, npq_bot::Settings::default()).unwrap();
    let texts: Vec<String> = engine.embedding_texts().into_iter().flatten().collect();
    assert!(texts.len() >= 5, "{} texts", texts.len());
    let model = Embedder::load_with(&root().join(MODEL_DIR), Precision::F32).unwrap();
    let cache = npq_bot::retrieve::semantic::Cache::read(
        &folder.path().join(npq_bot::EMBEDDINGS_FILE),
        &model.id,
        npq_bot::retrieve::semantic::DIM,
    );
    for (agree, text) in agreement(&model, &cache, &texts) {
        assert!(agree > 0.999, "cosine {agree} for {text:?}");
    }
}

/// For each text, the cosine between the vector `model` gives it and the (8-bit) row `cache`
/// holds for it; panics when the cache lacks a text.
fn agreement<'a>(
    model: &Embedder,
    cache: &npq_bot::retrieve::semantic::Cache,
    texts: &'a [String],
) -> Vec<(f32, &'a str)> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vectors = model.embed(&refs).unwrap();
    texts
        .iter()
        .zip(&vectors)
        .map(|(text, v)| {
            let row = cache
                .row(text)
                .unwrap_or_else(|| panic!("the cache lacks {text:?}"))
                .to_f32();
            (cosine(v, &row) / cosine(&row, &row).sqrt(), text.as_str())
        })
        .collect()
}
