//! Command-line interface: `ask`, `check`, `eval`, `serve`, and the question log's `gaps` and
//! `stats`.

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
    about = "Answers questions from a folder of guidance documents with sourced snippets"
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

#[derive(Debug, Args)]
struct DatabaseArg {
    /// The question log's database: sqlite://PATH or postgres://... (default: log.database).
    #[arg(long, value_name = "URL")]
    database: Option<String>,
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
        /// Also record each question in the question log (as asked at the terminal).
        #[arg(long)]
        record: bool,
        #[command(flatten)]
        database: DatabaseArg,
        #[command(flatten)]
        knowledge: KnowledgeArg,
    },
    /// List what the bot could not answer (refused, or voted down), grouped by meaning.
    Gaps {
        /// Only questions of the last DAYS days.
        #[arg(long, value_name = "DAYS", default_value_t = 30)]
        since: u32,
        /// Print a JSON array of gaps.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print CSV: key, count, last_asked, status, refused, first, examples.
        #[arg(long)]
        csv: bool,
        /// Ask every open gap again against the knowledge folder and mark those it now answers.
        #[arg(long)]
        recheck: bool,
        /// Mark the gap with this key dismissed.
        #[arg(long, value_name = "KEY", conflicts_with = "recheck")]
        dismiss: Option<String>,
        #[command(flatten)]
        database: DatabaseArg,
        #[command(flatten)]
        knowledge: KnowledgeArg,
    },
    /// Weekly figures of the question log: questions, answered, refused, votes, topics.
    Stats {
        /// How many weeks, this one included.
        #[arg(long, value_name = "N", default_value_t = 8)]
        weeks: u32,
        /// Also draw the weeks as a PNG chart into FILE.
        #[arg(long, value_name = "FILE")]
        png: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Check a knowledge folder and report every problem as path:line.
    Check {
        #[command(flatten)]
        knowledge: KnowledgeArg,
    },
    /// Run the Discord bot (token from DISCORD_TOKEN, the file DISCORD_TOKEN_FILE names,
    /// NPQ_BOT__DISCORD__TOKEN or bot.toml).
    Serve {
        #[command(flatten)]
        knowledge: KnowledgeArg,
    },
    /// Exit 0 when a running bot's /healthz (metrics.address) answers 200, else 1: a
    /// container health check with no HTTP client in the image.
    Health {
        /// The health address, e.g. http://127.0.0.1:9464/healthz.
        url: String,
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
    /// vectors of unchanged passages, in `f32` unless NPQ_PRECISION says otherwise; the bundled
    /// cache ships with the project.
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
        /// Repeat --calibrate's cross-validation over this many different splits into folds
        /// and report each split's out-of-fold figures and their mean.
        #[arg(long, value_name = "N", default_value_t = 1)]
        splits: usize,
        /// Exit 1 when hit@3 is below this.
        #[arg(long, value_name = "F")]
        min_hit3: Option<f64>,
        /// Exit 1 when the refusal rate is below this.
        #[arg(long, value_name = "F")]
        min_refusal: Option<f64>,
        /// Print only the figures.
        #[arg(long)]
        quiet: bool,
        /// Also write, for each question, the evidence of its best-ranked passage as one JSON
        /// line (for studying the decision to answer).
        #[arg(long, value_name = "FILE")]
        evidence: Option<PathBuf>,
        #[command(flatten)]
        knowledge: KnowledgeArg,
    },
}

pub fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let serving = matches!(cli.command, Command::Serve { .. });
    if serving {
        // Before any thread starts: the environment is changed while nothing else reads it.
        npq_bot::retrieve::semantic::one_core_per_question();
    }
    // Settings first, as they say how to log; an error in them is printed by `main`.
    let mut config = Config::load(cli.config.as_deref())?;
    npq_bot::logging::init(
        if serving {
            // serenity logs a gateway payload it cannot read (question and author included)
            // at WARN (serenity::gateway::ws): kept out unless RUST_LOG asks for it.
            "warn,npq_bot=info,serenity::gateway::ws=error"
        } else {
            "warn"
        },
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
            record,
            database,
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
            if !record {
                return ask(&engine, &question, json, None);
            }
            let log_config = log_config(&config, &database)?;
            let runtime = runtime()?;
            let log = runtime.block_on(npq_bot::qlog::QuestionLog::open(&log_config))?;
            let version = npq_bot::qlog::knowledge_version(&dir(&knowledge));
            let asked = ask(&engine, &question, json, Some((&log, &version)));
            runtime.block_on(log.flush());
            asked
        }
        Command::Gaps {
            since,
            json,
            csv,
            recheck,
            dismiss,
            database,
            knowledge,
        } => {
            let log_config = log_config(&config, &database)?;
            let runtime = runtime()?;
            let log = runtime.block_on(npq_bot::qlog::QuestionLog::open(&log_config))?;
            if let Some(key) = dismiss {
                runtime.block_on(log.dismiss(&key))?;
                println!("dismissed {key}");
                return Ok(ExitCode::SUCCESS);
            }
            if recheck {
                let engine = open(
                    &dir(&knowledge),
                    config.answer.clone(),
                    config.index_path.as_deref(),
                    config.knowledge_strict,
                )?;
                let report = runtime.block_on(npq_bot::qlog::recheck(&log, &engine))?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&report)?);
                } else {
                    println!("{report}");
                }
                return Ok(ExitCode::SUCCESS);
            }
            let gaps = runtime.block_on(log.gaps(since))?;
            print_gaps(&gaps, json, csv)
        }
        Command::Stats {
            weeks,
            png,
            json,
            database,
        } => {
            anyhow::ensure!(
                (1..=520).contains(&weeks),
                "--weeks must be between 1 and 520"
            );
            let log_config = log_config(&config, &database)?;
            let runtime = runtime()?;
            let log = runtime.block_on(npq_bot::qlog::QuestionLog::open(&log_config))?;
            let stats = runtime.block_on(log.stats(weeks))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&stats)?);
            } else {
                print_stats(&stats);
            }
            if let Some(path) = png {
                let bytes = npq_bot::qlog::chart_png(&stats)?;
                std::fs::write(&path, bytes)
                    .with_context(|| format!("cannot write the chart to {}", path.display()))?;
                eprintln!("chart written to {}", path.display());
            }
            Ok(ExitCode::SUCCESS)
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
            if let Some(token) = npq_bot::discord::token_from_env()? {
                config.discord.token = Some(token);
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
        Command::Health { url } => match npq_bot::discord::metrics::probe(&url) {
            Ok(status) => {
                println!("{status}");
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("unhealthy: {e:#}");
                Ok(ExitCode::FAILURE)
            }
        },
        Command::Embed { knowledge } => {
            npq_bot::retrieve::semantic::reference_precision_for_caches();
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
            splits,
            min_hit3,
            min_refusal,
            quiet,
            evidence,
            knowledge,
        } => {
            // Figures are of the whole engine: a folder is embedded before the first question,
            // never scored from the lexical stage while it embeds in the background.
            let mut settings = config.answer.clone();
            if settings.semantic == npq_bot::SemanticMode::Auto {
                settings.semantic = npq_bot::SemanticMode::Now;
            }
            let engine = open(
                &dir(&knowledge),
                settings,
                config.index_path.as_deref(),
                config.knowledge_strict,
            )?;
            evaluate(
                &engine,
                &file,
                calibrate.then_some((folds, splits)),
                quiet,
                min_hit3,
                min_refusal,
                evidence.as_deref(),
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

/// The log settings, with `--database` in place of `log.database` when given; always enabled,
/// since the command asked for the log.
fn log_config(config: &Config, database: &DatabaseArg) -> anyhow::Result<npq_bot::qlog::LogConfig> {
    let mut log = config.log.clone();
    if let Some(url) = &database.database {
        log.database = npq_bot::qlog::Database::parse(url)
            .map_err(|problem| anyhow::anyhow!("--database {problem}"))?;
    }
    log.enabled = true;
    Ok(log)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn print_gaps(gaps: &[npq_bot::qlog::Gap], json: bool, csv: bool) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(gaps)?);
        return Ok(ExitCode::SUCCESS);
    }
    if csv {
        println!("key,count,last_asked,status,refused,first,examples");
        for g in gaps {
            println!(
                "{},{},{},{},{},{},{}",
                g.key,
                g.count,
                g.last_asked,
                g.status.as_str(),
                g.refused,
                csv_field(&g.first),
                csv_field(&g.examples.join(" | "))
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    if gaps.is_empty() {
        println!(
            "no gaps: every question logged in this period was answered and none was voted down"
        );
    }
    for g in gaps {
        println!(
            "{:>4}x  {}  [{}]  last {}  key {}",
            g.count,
            g.first,
            g.status.as_str(),
            g.last_asked,
            g.key
        );
        for e in g.examples.iter().skip(1) {
            println!("       also: {e}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A CSV field, quoted when it must be; a leading `=`, `+`, `-` or `@` is prefixed with `'` so
/// a spreadsheet never runs a question as a formula.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn print_stats(stats: &npq_bot::qlog::Stats) {
    println!("week       starts      questions  answered  refused  up  down  top topic");
    for w in &stats.weeks {
        println!(
            "{:<10} {:<11} {:>9} {:>9} {:>8} {:>3} {:>5}  {}",
            w.week,
            w.starts,
            w.questions,
            w.answered,
            w.refused,
            w.thumbs_up,
            w.thumbs_down,
            w.topics.first().map_or("", |(t, _)| t.as_str())
        );
    }
    if !stats.topics.is_empty() {
        println!("most asked topics:");
        for (topic, n) in &stats.topics {
            println!("  {n:>5}  {topic}");
        }
    }
}

fn ask(
    engine: &Engine,
    question: &[String],
    json: bool,
    log: Option<(&npq_bot::qlog::QuestionLog, &str)>,
) -> anyhow::Result<ExitCode> {
    let show = |q: &str, out: &mut dyn Write| -> std::io::Result<()> {
        let answer = engine.answer(q);
        if let Some((log, version)) = log {
            log.record(npq_bot::qlog::Entry::from_answer(
                log.new_entry_id(),
                None,
                npq_bot::qlog::ChannelKind::Terminal,
                &answer,
                version,
            ));
        }
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
    folds: Option<(usize, usize)>,
    quiet: bool,
    min_hit3: Option<f64>,
    min_refusal: Option<f64>,
    evidence: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let mut questions = Vec::new();
    // Which file each question came from, for the figures by file.
    let mut origin: std::collections::HashMap<String, String> = Default::default();
    for file in files {
        let name = file.file_name().map_or_else(
            || file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        for mut q in eval::read_questions(file)? {
            // Ids are unique within a file, not across files.
            q.id = format!("{name}:{}", if q.id.is_empty() { &q.q } else { &q.id });
            origin.insert(q.id.clone(), name.clone());
            questions.push(q);
        }
    }
    let (figures, outcomes) = eval::run(engine, &questions)?;
    if !quiet {
        for line in outcomes.iter().filter_map(eval::Outcome::miss) {
            println!("{line}");
        }
    }
    println!("{figures} outcome={:.3}", eval::outcome_share(&outcomes));
    let print_groups = |title: &str,
                        outcomes: &[eval::Outcome],
                        key: &dyn Fn(&eval::Outcome) -> String| {
        let groups = eval::by_group(outcomes, key);
        if groups.len() > 1 {
            println!("{title}:");
            for (name, f, outcome, n) in groups {
                println!(
                    "  {name:<28} n={n:<4} hit@1={:.3} hit@3={:.3} refusal={:.3} ({} of {}) false_refusals={} outcome={outcome:.3}",
                    f.hit1, f.hit3, f.refusal, (f.refusal * f.unanswerable as f64).round(), f.unanswerable, f.false_refusals
                );
            }
        }
    };
    let file_of = |o: &eval::Outcome| origin.get(&o.question.id).cloned().unwrap_or_default();
    let form_of = |o: &eval::Outcome| {
        if o.question.form.is_empty() {
            "(no form)".to_string()
        } else {
            o.question.form.clone()
        }
    };
    print_groups("by file", &outcomes, &file_of);
    print_groups("by form", &outcomes, &form_of);
    if let Some(path) = evidence {
        let prepared = eval::prepare(engine, &questions)?;
        let lines: Vec<String> = prepared
            .iter()
            .map(|p| eval::evidence_line(engine, p, &origin))
            .collect();
        std::fs::write(path, lines.join("\n") + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
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
    if let Some((k, splits)) = folds {
        let k = k.max(2);
        let prepared = eval::prepare(engine, &questions)?;
        let grid = eval::grid();
        println!(
            "\n{k}-fold cross-validation over {} weightings, {} questions",
            grid.len(),
            questions.len()
        );
        let cv = eval::cross_validate(engine, &prepared, &grid, k);
        println!(
            "out of fold: {} outcome={:.3}",
            cv.out_of_fold,
            eval::outcome_share(&cv.outcomes)
        );
        print_groups("out of fold, by file", &cv.outcomes, &file_of);
        print_groups("out of fold, by form", &cv.outcomes, &form_of);
        if splits > 1 {
            let mut each = vec![cv.out_of_fold.clone()];
            for split in 1..splits {
                let (outcomes, _) = eval::out_of_fold(engine, &prepared, &grid, k, split);
                let f = eval::figures(&outcomes);
                println!("out of fold, split {split}: {f}");
                each.push(f);
            }
            let mean =
                |x: fn(&eval::Figures) -> f64| each.iter().map(x).sum::<f64>() / splits as f64;
            println!(
                "mean over {splits} splits: hit@1={:.3} hit@3={:.3} refusal={:.3} objective={:.4}",
                mean(|f| f.hit1),
                mean(|f| f.hit3),
                mean(|f| f.refusal),
                mean(eval::objective)
            );
        }
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
                "fold {i}: semantic {:.2} heading_similarity {:.2} unknown_word {:.2} threshold {:.2} floor {:.2} focus {:.2} {:?}",
                w.semantic, w.heading_similarity, w.unknown_word, w.threshold, w.floor, w.focus, w.confidence
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
