//! What the project ships for deployment, run: the Dockerfile's and the systemd unit's layouts
//! are installed into a temporary root exactly as those files say (binary, model, read-only
//! configuration and guidance, a private state folder, the token from a file), and `serve` is
//! started from there against the fake Discord and answers with the model. No container or
//! systemd runs here, so the files are read, not executed: every path, setting and command
//! below comes from them.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use super::bot::{ask, callback, embed, text_of};
use super::fake::FakeDiscord;
use super::served::Served;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The lines of a Dockerfile or unit with `\` continuations joined.
fn logical_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.starts_with('#') || trimmed.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head.trim_end());
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}

/// The Dockerfile's stages: each `FROM` line with the instructions under it.
fn stages(dockerfile: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in logical_lines(dockerfile) {
        if line.starts_with("FROM ") {
            out.push((line, Vec::new()));
        } else if let Some(last) = out.last_mut() {
            last.1.push(line);
        }
    }
    out
}

/// `rust:1.89-slim-bookworm` -> (1, 89).
fn image_rust_version(from: &str) -> Option<(u32, u32)> {
    let image = from.split_whitespace().nth(1)?;
    let tag = image.strip_prefix("rust:")?;
    let mut parts = tag.split(['.', '-']);
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// The folders the build reads beyond `src/`: workspace members and every `include_str!` /
/// `include_bytes!` file's top folder.
fn build_inputs() -> Vec<String> {
    let manifest: toml::Value = read("Cargo.toml").parse().unwrap();
    let mut inputs: Vec<String> = manifest["workspace"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.as_str().map(str::to_string))
        .filter(|m| m != ".")
        .collect();
    let include = regex::Regex::new(r#"include_(?:str|bytes)!\("([^"]+)"\)"#).unwrap();
    for entry in walk(&repo().join("src")) {
        let text = std::fs::read_to_string(&entry).unwrap_or_default();
        for m in include.captures_iter(&text) {
            let target = entry.parent().unwrap().join(&m[1]);
            let target = target.canonicalize().unwrap_or(target);
            let relative = target.strip_prefix(repo()).unwrap_or(&target);
            let top = relative.components().next().unwrap();
            let top = top.as_os_str().to_string_lossy().into_owned();
            if top != "src" && !inputs.contains(&top) {
                inputs.push(top);
            }
        }
    }
    inputs
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The build stage copies everything the build reads, with a Rust that meets `rust-version`;
/// the runtime stage ships the model.
#[test]
fn the_dockerfile_copies_what_the_build_needs_and_ships_the_model() {
    let dockerfile = read("Dockerfile");
    let stages = stages(&dockerfile);
    assert!(stages.len() >= 2, "a build and a runtime stage");
    let (from, build) = &stages[0];
    let copied: Vec<&str> = build
        .iter()
        .filter_map(|l| l.strip_prefix("COPY "))
        .flat_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words[..words.len() - 1].to_vec()
        })
        .collect();
    let mut needed = vec!["Cargo.toml".to_string(), "Cargo.lock".to_string()];
    needed.push("src".to_string());
    needed.extend(build_inputs());
    for path in &needed {
        assert!(
            copied.iter().any(|c| {
                let c = c.trim_end_matches('/');
                c == path || path.starts_with(&format!("{c}/"))
            }),
            "the Dockerfile's build stage does not copy {path} (copies {copied:?})"
        );
    }
    assert!(needed.iter().any(|n| n == "crates/encoder"), "{needed:?}");
    assert!(needed.iter().any(|n| n == "migrations"), "{needed:?}");
    let manifest: toml::Value = read("Cargo.toml").parse().unwrap();
    let wanted = manifest["package"]["rust-version"].as_str().unwrap();
    let mut parts = wanted.split('.').map(|p| p.parse::<u32>().unwrap());
    let wanted = (parts.next().unwrap(), parts.next().unwrap());
    let image = image_rust_version(from).unwrap_or_else(|| panic!("no Rust version in {from}"));
    assert!(
        image >= wanted,
        "{from} is older than rust-version {wanted:?}"
    );
    let runtime = &stages.last().unwrap().1;
    assert!(
        runtime
            .iter()
            .any(|l| l.starts_with("COPY models ") && l.contains("/share/npq-bot/models")),
        "the runtime stage ships the model: {runtime:#?}"
    );
}

/// A temporary root that absolute paths of the shipped files are mapped into.
struct Root {
    dir: tempfile::TempDir,
}

impl Root {
    fn new() -> Root {
        Root {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, absolute: &str) -> PathBuf {
        self.dir.path().join(absolute.trim_start_matches('/'))
    }

    /// A setting's value with its absolute paths (and `sqlite:///` files) under the root.
    fn map(&self, value: &str) -> String {
        if let Some(file) = value
            .strip_prefix("sqlite://")
            .filter(|f| f.starts_with('/'))
        {
            return format!("sqlite://{}", self.path(file).display());
        }
        if value.starts_with('/') {
            return self.path(value).display().to_string();
        }
        value.to_string()
    }

    /// Copies `from` (a file or folder of the repository, or the built binary) to `to`.
    fn install(&self, from: &Path, to: &str) {
        let target = self.path(to);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        copy(from, &target);
    }
}

fn copy(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap().flatten() {
            copy(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    }
}

/// Makes a folder and everything in it read-only, as a mounted configuration is.
fn read_only(path: &Path) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap().flatten() {
            read_only(&entry.path());
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o555)).unwrap();
    } else {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o444)).unwrap();
    }
}

fn free_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// The JSON array of an exec-form instruction (`ENTRYPOINT ["a", "b"]`).
fn exec_form(line: &str) -> Vec<String> {
    let json = &line[line.find('[').expect("exec form")..];
    serde_json::from_str(json).unwrap()
}

/// Starts `serve` from an installed layout, asks a question, and checks what a deployment
/// needs: an answer from the model, a healthy `/healthz` through the shipped health check,
/// the question log in the state folder, nothing written elsewhere, a clean SIGTERM.
async fn serve_installed(
    root: &Root,
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    health: Vec<String>,
    state: &str,
) {
    let fake = FakeDiscord::start().await;
    let logs = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(&program);
    cmd.args(&args).current_dir(root.path("/"));
    for (key, value) in &env {
        cmd.env(key, value);
    }
    // The token reaches the bot only through the file the deployment names.
    let token_file = env
        .iter()
        .find(|(k, _)| k == "DISCORD_TOKEN_FILE")
        .map(|(_, v)| PathBuf::from(v))
        .expect("the deployment reads the token from a file");
    std::fs::create_dir_all(token_file.parent().unwrap()).unwrap();
    std::fs::write(&token_file, format!("{}\n", fake.token())).unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o400)).unwrap();
    let mut served = Served::spawn(&fake, cmd, logs).await;

    let id = ask(&fake, "how long does the NPQH take").await;
    let answer = text_of(embed(&callback(&fake, id).await));
    assert!(answer.contains("months"), "{answer}");

    let checked = std::process::Command::new(&health[0])
        .args(&health[1..])
        .output()
        .expect("the health check runs");
    let said = String::from_utf8_lossy(&checked.stdout).into_owned()
        + &String::from_utf8_lossy(&checked.stderr);
    assert!(checked.status.success(), "{said}\n{}", served.logs());
    assert!(
        said.contains("200") && !said.contains("warning"),
        "the model is loaded: {said}"
    );

    let exited = served.stop_with("TERM").await;
    let logs = served.logs();
    assert!(exited.success(), "exit {exited:?}; logs:\n{logs}");
    assert!(!logs.contains("semantic retrieval is OFF"), "{logs}");
    assert!(!logs.contains(fake.token()), "the token is in the logs");
    let state = root.path(state);
    assert!(
        state.join("questions.db").is_file(),
        "the question log is in the state folder: {:?}",
        std::fs::read_dir(&state).map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
    );
    assert!(
        !root.path("/etc/npq-bot/questions.db").exists() && !root.path("/questions.db").exists(),
        "the question log is written outside the state folder"
    );
    let _ = std::fs::set_permissions(
        root.path("/etc/npq-bot"),
        std::fs::Permissions::from_mode(0o755),
    );
}

/// The Docker image's layout, from the Dockerfile's runtime stage: its COPY lines installed,
/// its ENV settings, ENTRYPOINT and CMD run, its HEALTHCHECK asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docker_layout_serves_with_the_model_and_a_writable_state_folder() {
    let dockerfile = read("Dockerfile");
    let (_, runtime) = stages(&dockerfile).pop().unwrap();
    let root = Root::new();
    for line in &runtime {
        let Some(rest) = line.strip_prefix("COPY ") else {
            continue;
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        let to = words[words.len() - 1];
        if words[0].starts_with("--from=") {
            assert!(words[1].ends_with("/release/npq-bot"), "{line}");
            root.install(Path::new(env!("CARGO_BIN_EXE_npq-bot")), to);
        } else {
            root.install(&repo().join(words[0]), to);
        }
    }
    let mut env: Vec<(String, String)> = Vec::new();
    let metrics = free_address();
    for line in &runtime {
        let Some(rest) = line.strip_prefix("ENV ") else {
            continue;
        };
        for pair in rest.split_whitespace() {
            let (key, value) = pair.split_once('=').expect("ENV KEY=VALUE");
            let value = if key == "NPQ_BOT__METRICS__ADDRESS" {
                metrics.clone()
            } else {
                root.map(value)
            };
            env.push((key.to_string(), value));
        }
    }
    let volume = runtime
        .iter()
        .find_map(|l| l.strip_prefix("VOLUME "))
        .map(exec_form)
        .expect("a VOLUME for the state");
    for dir in &volume {
        std::fs::create_dir_all(root.path(dir)).unwrap();
        std::fs::set_permissions(root.path(dir), std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    read_only(&root.path("/etc/npq-bot"));
    read_only(&root.path("/knowledge"));
    env.push((
        "DISCORD_TOKEN_FILE".into(),
        root.path("/run/secrets/discord-token")
            .display()
            .to_string(),
    ));
    let entry = exec_form(
        runtime
            .iter()
            .find(|l| l.starts_with("ENTRYPOINT "))
            .unwrap(),
    );
    let cmd = exec_form(runtime.iter().find(|l| l.starts_with("CMD ")).unwrap());
    let mut health = exec_form(
        runtime
            .iter()
            .find(|l| l.starts_with("HEALTHCHECK "))
            .expect("a HEALTHCHECK"),
    );
    health = health
        .into_iter()
        .map(|a| {
            if a.starts_with("http://") {
                format!("http://{metrics}/healthz")
            } else {
                root.map(&a)
            }
        })
        .collect();
    let program = root.path(&entry[0]);
    let args: Vec<String> = entry[1..].iter().chain(&cmd).map(|a| root.map(a)).collect();
    serve_installed(&root, program, args, env, health, &volume[0]).await;
}

/// The systemd unit's layout: the binary where ExecStart runs it, the model beside it as the
/// unit's install notes say, its Environment= settings, the token as a credential
/// (LoadCredential= with `%d`), the state in StateDirectory=; and `systemd-analyze verify`
/// accepts the unit where the tool exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_systemd_layout_serves_with_the_model_and_the_token_as_a_credential() {
    let unit = read("deploy/npq-bot.service");
    let lines = logical_lines(&unit);
    let value = |key: &str| -> Vec<String> {
        lines
            .iter()
            .filter_map(|l| l.strip_prefix(&format!("{key}=")))
            .map(str::to_string)
            .collect()
    };
    let root = Root::new();
    let credentials = "/run/credentials/npq-bot.service";
    let exec: Vec<String> = value("ExecStart")[0]
        .split_whitespace()
        .map(str::to_string)
        .collect();
    root.install(Path::new(env!("CARGO_BIN_EXE_npq-bot")), &exec[0]);
    assert!(
        unit.contains("cp -r models /usr/local/share/npq-bot/models"),
        "the install notes ship the model"
    );
    root.install(&repo().join("models"), "/usr/local/share/npq-bot/models");
    let config = exec
        .iter()
        .position(|a| a == "--config")
        .map(|i| &exec[i + 1]);
    root.install(&repo().join("bot.toml"), config.expect("--config"));
    let mut env: Vec<(String, String)> = Vec::new();
    let metrics = free_address();
    for setting in value("Environment") {
        let (key, v) = setting.split_once('=').unwrap();
        let v = v.replace("%d", credentials);
        let v = if key == "NPQ_BOT__METRICS__ADDRESS" {
            metrics.clone()
        } else {
            root.map(&v)
        };
        env.push((key.to_string(), v));
    }
    let knowledge = env
        .iter()
        .find(|(k, _)| k == "NPQ_BOT__KNOWLEDGE__DIR")
        .map(|(_, v)| v.clone())
        .expect("the unit names the guidance folder");
    copy(&repo().join("knowledge"), Path::new(&knowledge));
    read_only(Path::new(&knowledge));
    let state = format!("/var/lib/{}", value("StateDirectory")[0]);
    std::fs::create_dir_all(root.path(&state)).unwrap();
    std::fs::set_permissions(root.path(&state), std::fs::Permissions::from_mode(0o700)).unwrap();
    let credential = value("LoadCredential");
    let (name, _) = credential[0]
        .split_once(':')
        .expect("LoadCredential=NAME:PATH");
    assert!(
        env.iter().any(
            |(k, v)| k == "DISCORD_TOKEN_FILE" && v.ends_with(&format!("{credentials}/{name}"))
        ),
        "the token file is the credential: {env:?}"
    );
    read_only(&root.path("/etc/npq-bot"));
    let health = vec![
        root.path(&exec[0]).display().to_string(),
        "health".to_string(),
        format!("http://{metrics}/healthz"),
    ];
    let program = root.path(&exec[0]);
    let args: Vec<String> = exec[1..].iter().map(|a| root.map(a)).collect();
    serve_installed(&root, program, args, env, health, &state).await;

    let verify = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(verifiable_unit(&unit))
        .output();
    match verify {
        Ok(out) => {
            let said = String::from_utf8_lossy(&out.stderr);
            // Notes about the machine it runs on are not the unit's fault; the unit's own
            // errors are.
            let faults = ["Unknown key", "Failed to parse", "nvalid", "not executable"];
            assert!(
                out.status.success() && !faults.iter().any(|f| said.contains(f)),
                "systemd-analyze verify: {said}"
            );
        }
        Err(e) => {
            eprintln!("systemd-analyze is not installed here ({e}); the unit was not verified")
        }
    }
}

/// The unit with its ExecStart pointed at the built binary (verify checks that it exists),
/// written to a temporary file named as the unit is.
fn verifiable_unit(unit: &str) -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    let path = dir.join("npq-bot.service");
    let text = unit.replace("/usr/local/bin/npq-bot", env!("CARGO_BIN_EXE_npq-bot"));
    std::fs::write(&path, text).unwrap();
    path
}
