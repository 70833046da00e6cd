//! Command-line interface: `ask`, `check`, `eval` and `serve`.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use npq_bot::config::Config;
use npq_bot::{eval, knowledge, render, Engine};

#[derive(Debug, Parser)]
#[command(
    name = "npq-bot",
    version,
    about = "Answers questions about National Professional Qualifications (NPQs) with sourced snippets"
)]
struct Cli {
    /// Settings file (default: bot.toml in the current folder, if present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct KnowledgeArg {
    /// Knowledge folder to answer from (default: knowledge.dir in bot.toml).
    #[arg(long, value_name = "DIR")]
    knowledge: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Answer a question, or every line of standard input when no question is given.
    Ask {
        /// The question; quote it or give it as several words.
        question: Vec<String>,
        /// Print one JSON object per question.
        #[arg(long)]
        json: bool,
        /// Number of results per answer.
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// Show how the question was read and scored, for tuning.
        #[arg(long, hide = true)]
        explain: bool,
        #[command(flatten)]
        knowledge: KnowledgeArg,
    },
    /// Check a knowledge folder and report every problem as path:line.
    Check {
        #[command(flatten)]
        knowledge: KnowledgeArg,
    },
    /// Run the Discord bot (token from DISCORD_TOKEN, NPQ_BOT__DISCORD__TOKEN or bot.toml).
    Serve {
        #[command(flatten)]
        knowledge: KnowledgeArg,
    },
    /// Write a generated knowledge folder of about N passages, for benchmarks.
    #[command(hide = true)]
    Generate {
        /// How many passages the folder should index to.
        #[arg(long, value_name = "N")]
        passages: usize,
        /// The seed: the same seed writes the same files.
        #[arg(long, value_name = "S", default_value_t = 1)]
        seed: u64,
        /// The folder to write (missing, empty, or generated before).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The folder to draw documents, sentences and the glossary from.
        #[command(flatten)]
        knowledge: KnowledgeArg,
    },
    /// Embed the folder's passages into its embedding cache (`.embeddings.bin`), reusing the
    /// vectors of unchanged passages; the bundled cache ships with the project.
    Embed {
        #[command(flatten)]
        knowledge: KnowledgeArg,
    },
    /// Score answers on question files (JSONL: q, expect, answerable).
    Eval {
        /// The question files.
        #[arg(required = true)]
        file: Vec<PathBuf>,
        /// Also tune the ranking and refusal weights by k-fold cross-validation and report
        /// the out-of-fold figures.
        #[arg(long)]
        calibrate: bool,
        /// Folds for --calibrate.
        #[arg(long, value_name = "K", default_value_t = 5)]
        folds: usize,
        /// Exit 1 when hit@3 is below this.
        #[arg(long, value_name = "F")]
        min_hit3: Option<f64>,
        /// Exit 1 when the refusal rate is below this.
        #[arg(long, value_name = "F")]
        min_refusal: Option<f64>,
        /// Print only the figures.
        #[arg(long)]
        quiet: bool,
        #[command(flatten)]
        knowledge: KnowledgeArg,
    },
}

pub fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let serving = matches!(cli.command, Command::Serve { .. });
    // Settings first, as they say how to log; an error in them is printed by `main`.
    let mut config = Config::load(cli.config.as_deref())?;
    npq_bot::logging::init(
        if serving { "warn,npq_bot=info" } else { "warn" },
        config.log_format,
    );
    let dir = |k: &KnowledgeArg| {
        k.knowledge
            .clone()
            .unwrap_or_else(|| config.knowledge_dir.clone())
    };
    match cli.command {
        Command::Ask {
            question,
            json,
            limit,
            explain,
            knowledge,
        } => {
            let mut settings = config.answer.clone();
            if let Some(limit) = limit {
                anyhow::ensure!(
                    (1..=10).contains(&limit),
                    "--limit must be between 1 and 10"
                );
                settings.limit = limit;
                settings.candidates = settings.candidates.max(limit);
            }
            let engine = open(
                &dir(&knowledge),
                settings,
                config.index_path.as_deref(),
                config.knowledge_strict,
            )?;
            if explain {
                print!("{}", engine.explain(&question.join(" ")));
            }
            ask(&engine, &question, json)
        }
        Command::Check { knowledge } => check(&dir(&knowledge)),
        Command::Generate {
            passages,
            seed,
            out,
            knowledge,
        } => {
            let started = Instant::now();
            let made = npq_bot::corpus::generate(&dir(&knowledge), &out, passages, seed)?;
            println!(
                "wrote {} documents ({} passages) to {} in {:.1} s",
                made.documents,
                made.passages,
                out.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { knowledge } => {
            if let Some(dir) = knowledge.knowledge {
                config.knowledge_dir = dir;
            }
            if let Some(token) = std::env::var(npq_bot::discord::TOKEN_ENV)
                .ok()
                .filter(|t| !t.trim().is_empty())
            {
                config.discord.token = Some(token.trim().to_string().into());
            }
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            runtime.block_on(npq_bot::discord::run(
                config,
                npq_bot::discord::shutdown_signal(),
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Embed { knowledge } => {
            let dir = dir(&knowledge);
            let started = Instant::now();
            let mut settings = config.answer.clone();
            settings.semantic = npq_bot::SemanticMode::Now;
            let engine = npq_bot::open_engine(&dir, settings, config.index_path.as_deref())?;
            if !engine.has_semantic() {
                anyhow::bail!(
                    "the embedding model could not be loaded (see the warning above; fix: keep {} beside the binary or set NPQ_BOT_MODEL_DIR)",
                    npq_bot::retrieve::semantic::MODEL_DIR
                );
            }
            println!(
                "{} passages embedded or reused in {:.1} s: {}",
                engine.num_passages(),
                started.elapsed().as_secs_f64(),
                dir.join(npq_bot::EMBEDDINGS_FILE).display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval {
            file,
            calibrate,
            folds,
            min_hit3,
            min_refusal,
            quiet,
            knowledge,
        } => {
            let engine = open(
                &dir(&knowledge),
                config.answer.clone(),
                config.index_path.as_deref(),
                config.knowledge_strict,
            )?;
            evaluate(
                &engine,
                &file,
                calibrate.then_some(folds),
                quiet,
                min_hit3,
                min_refusal,
            )
        }
    }
}

/// Opens the engine; unless `strict`, files with errors are left out and named on standard
/// error (`path:line`).
fn open(
    dir: &Path,
    settings: npq_bot::Settings,
    index_path: Option<&Path>,
    strict: bool,
) -> anyhow::Result<Engine> {
    let started = npq_bot::open_engine_with(dir, settings, index_path, strict)?;
    for problem in &started.skipped {
        tracing::warn!("skipped a knowledge file: {problem}");
    }
    Ok(started.engine)
}

fn ask(engine: &Engine, question: &[String], json: bool) -> anyhow::Result<ExitCode> {
    let show = |q: &str, out: &mut dyn Write| -> std::io::Result<()> {
        let answer = engine.answer(q);
        if json {
            writeln!(out, "{}", render::json(&answer))
        } else {
            writeln!(out, "{}", render::text(&answer))
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if question.is_empty() {
        // Lines are read as bytes: one that is not UTF-8 gets an error line of its own and the
        // batch goes on.
        for (number, line) in std::io::stdin().lock().split(b'\n').enumerate() {
            let mut line = line.context("cannot read standard input")?;
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            match String::from_utf8(line) {
                Ok(q) => show(&q, &mut out)?,
                Err(_) => {
                    let message = format!("line {} is not UTF-8 text; skipped", number + 1);
                    if json {
                        writeln!(out, "{}", serde_json::json!({ "error": message }))?;
                    } else {
                        writeln!(out, "error: {message}")?;
                    }
                }
            }
        }
    } else {
        show(&question.join(" "), &mut out)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn check(dir: &Path) -> anyhow::Result<ExitCode> {
    let loaded = knowledge::load(dir)?;
    for d in &loaded.diagnostics {
        println!("{d}");
    }
    let errors = loaded.errors().count();
    let warnings = loaded.warnings().count();
    if errors > 0 {
        println!("{errors} error(s), {warnings} warning(s): fix the errors above, then run `npq-bot check` again");
        return Ok(ExitCode::from(1));
    }
    let k = loaded.knowledge;
    let (documents, sources, programmes, terms) = (
        k.documents.len(),
        k.source_count(),
        k.programmes.len(),
        k.glossary.term_count(),
    );
    let started = Instant::now();
    let engine = Engine::new(k, Default::default()).context("cannot index the knowledge")?;
    let indexed = started.elapsed();
    let cache = dir.join(npq_bot::EMBEDDINGS_FILE);
    // Not a problem in the folder, so a note rather than a warning: the vectors of passages
    // missing from the cache are made at start-up.
    match engine.embedding_coverage(&cache) {
        Ok((held, total)) if held < total => println!(
            "{}: note: the embedding cache lacks {} of {total} passage texts, which will be embedded at start-up (run `npq-bot embed` to store them)",
            cache.display(),
            total - held
        ),
        Ok(_) => {}
        Err(e) => println!("note: semantic retrieval is off: {e:#}"),
    }
    println!(
        "ok: {} documents, {} passages, {} sources, {} programmes, {} glossary terms, {} warning(s); indexed in {:.1} ms",
        documents,
        engine.num_passages(),
        sources,
        programmes,
        terms,
        warnings,
        indexed.as_secs_f64() * 1000.0
    );
    Ok(ExitCode::SUCCESS)
}

fn evaluate(
    engine: &Engine,
    files: &[PathBuf],
    folds: Option<usize>,
    quiet: bool,
    min_hit3: Option<f64>,
    min_refusal: Option<f64>,
) -> anyhow::Result<ExitCode> {
    let mut questions = Vec::new();
    for file in files {
        questions.extend(eval::read_questions(file)?);
    }
    let (figures, outcomes) = eval::run(engine, &questions)?;
    if !quiet {
        for line in outcomes.iter().filter_map(eval::Outcome::miss) {
            println!("{line}");
        }
    }
    println!("{figures}");
    let (p50, p99) = eval::latency(&outcomes);
    println!(
        "time per question: median {p50:.2} ms, p99 {p99:.2} ms ({} questions{})",
        outcomes.len(),
        if engine.has_semantic() {
            ", semantic retrieval on"
        } else {
            ", lexical only"
        }
    );
    if let Some(k) = folds {
        let prepared = eval::prepare(engine, &questions)?;
        let grid = eval::grid();
        let cv = eval::cross_validate(engine, &prepared, &grid, k.max(2));
        println!("\n{k}-fold cross-validation over {} weightings", grid.len());
        println!("out of fold: {}", cv.out_of_fold);
        println!(
            "in sample (chosen weights, for comparison only): {}",
            cv.in_sample
        );
        println!(
            "never refusing (chosen ranking, in sample): {}",
            cv.never_refusing
        );
        for (i, w) in cv.per_fold.iter().enumerate() {
            println!(
                "fold {i}: semantic {:.2} heading_similarity {:.2} unknown_word {:.2} threshold {:.2} floor {:.2} {:?}",
                w.semantic, w.heading_similarity, w.unknown_word, w.threshold, w.floor, w.confidence
            );
        }
        println!("chosen on all questions: {:?}", cv.chosen);
        if cv.chosen != engine.weights {
            println!("(the engine's weights differ: copy these into Weights::CALIBRATED)");
        }
    }
    let bad = min_hit3.is_some_and(|m| figures.hit3 < m)
        || min_refusal.is_some_and(|m| figures.refusal < m);
    Ok(if bad {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
