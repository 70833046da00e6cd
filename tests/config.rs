//! Settings: bot.toml, --config and NPQ_BOT__SECTION__KEY variables; a wrong key or value is
//! named in the error.

use std::path::Path;
use std::process::{Command, Output};

fn npq_bot(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_npq-bot"));
    cmd.current_dir(dir).args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("NPQ_BOT") || key == "DISCORD_TOKEN" {
            cmd.env_remove(key);
        }
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("npq-bot runs")
}

fn knowledge() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("knowledge")
        .display()
        .to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn the_bundled_bot_toml_is_valid_and_holds_every_default() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = npq_bot(root, &["ask", "--json", "how long is the NPQH"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(root.join("bot.toml")).unwrap();
    for key in [
        "dir =",
        "limit =",
        "snippet_chars =",
        "threshold =",
        "candidates =",
        "path =",
        "guilds =",
        "rate_limit_per_minute =",
        "shards =",
        "api_base =",
    ] {
        assert!(text.contains(key), "bot.toml documents {key}");
    }
}

#[test]
fn an_environment_variable_overrides_a_setting() {
    let dir = tempfile::tempdir().unwrap();
    let out = npq_bot(
        dir.path(),
        &[
            "ask",
            "--json",
            "--knowledge",
            &knowledge(),
            "how long is the NPQH",
        ],
        &[("NPQ_BOT__ANSWER__LIMIT", "1")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["results"].as_array().unwrap().len(), 1);
}

#[test]
fn a_wrong_value_names_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = npq_bot(
        dir.path(),
        &["ask", "--knowledge", &knowledge(), "hi"],
        &[("NPQ_BOT__ANSWER__LIMIT", "lots")],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("answer.limit"), "{}", stderr(&out));
    let out = npq_bot(
        dir.path(),
        &["ask", "--knowledge", &knowledge(), "hi"],
        &[("NPQ_BOT__ANSWER__THRESHOLD", "3")],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("answer.threshold") && stderr(&out).contains("between 0 and 1"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_unknown_key_in_a_config_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("custom.toml");
    std::fs::write(&file, "[answer]\nlimt = 4\n").unwrap();
    let out = npq_bot(
        dir.path(),
        &[
            "--config",
            file.to_str().unwrap(),
            "ask",
            "--knowledge",
            &knowledge(),
            "hi",
        ],
        &[],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("limt") && err.contains("limit"), "{err}");
}

#[test]
fn a_bad_shard_range_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let out = npq_bot(
        dir.path(),
        &["ask", "--knowledge", &knowledge(), "hi"],
        &[("NPQ_BOT__DISCORD__SHARDS", "5-9/4")],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("discord.shards"), "{}", stderr(&out));
}

#[test]
fn serve_without_a_token_says_where_to_put_it_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let out = npq_bot(dir.path(), &["serve", "--knowledge", &knowledge()], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("DISCORD_TOKEN"), "{}", stderr(&out));
}

#[test]
fn a_malformed_token_is_refused_and_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "definitely-not-a-real-token-9f8e7d";
    let out = npq_bot(
        dir.path(),
        &["serve", "--knowledge", &knowledge()],
        &[("DISCORD_TOKEN", secret)],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("malformed"), "{err}");
    assert!(!err.contains(secret) && !String::from_utf8_lossy(&out.stdout).contains(secret));
}

#[test]
fn a_token_pasted_into_the_shards_setting_is_not_printed() {
    let dir = tempfile::tempdir().unwrap();
    let token = format!(
        "{}.{}.{}",
        "MTE4MDAwMDAwMDAwMDAwMDAwMQ", "GhT2xQ", "s3cr3tPartOfTheTokenThatMustNotLeak"
    );
    let out = npq_bot(
        dir.path(),
        &["ask", "--knowledge", &knowledge(), "hi"],
        &[("NPQ_BOT__DISCORD__SHARDS", &token)],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("discord.shards"), "{err}");
    assert!(!err.contains("s3cr3tPartOfTheToken"), "{err}");
}

#[test]
fn plain_http_api_base_is_refused_unless_it_is_this_machine() {
    let dir = tempfile::tempdir().unwrap();
    let out = npq_bot(
        dir.path(),
        &["ask", "--knowledge", &knowledge(), "hi"],
        &[("NPQ_BOT__DISCORD__API_BASE", "http://proxy.example.org")],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("discord.api_base"),
        "{}",
        stderr(&out)
    );
    let out = npq_bot(
        dir.path(),
        &["ask", "--knowledge", &knowledge(), "how long is the NPQH"],
        &[("NPQ_BOT__DISCORD__API_BASE", "http://127.0.0.1:8080")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_zero_admin_role_or_guild_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    for (var, key) in [
        ("NPQ_BOT__DISCORD__ADMIN_ROLE", "discord.admin_role"),
        ("NPQ_BOT__DISCORD__GUILDS", "discord.guilds"),
    ] {
        let out = npq_bot(
            dir.path(),
            &["serve", "--knowledge", &knowledge()],
            &[(var, "0")],
        );
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(key) && err.contains("not a Discord id") && !err.contains("panicked"),
            "{err}"
        );
    }
}
