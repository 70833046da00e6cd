//! `npq-bot serve` as its own process against the fake Discord, for the tests that need a
//! whole process and for the load benchmark (which includes this file by path).

use std::path::Path;
use std::time::Duration;

use super::fake::FakeDiscord;
use super::fixtures::GUILD_ID;

/// How long the process has to register its commands.
const WAIT: Duration = Duration::from_secs(20);

/// `npq-bot serve` as its own process, connected to a fake Discord, its output kept in files.
/// Killed if a test fails before stopping it.
pub struct Served {
    child: std::process::Child,
    dir: tempfile::TempDir,
}

impl Served {
    /// Starts the process with `RUST_LOG=trace` and waits until it has registered its commands.
    pub async fn start(fake: &FakeDiscord) -> Served {
        Served::start_logging(fake, Some("trace")).await
    }

    /// Starts the process with `RUST_LOG=log` (`None`: unset, the default level).
    pub async fn start_logging(fake: &FakeDiscord, log: Option<&str>) -> Served {
        Served::start_with(fake, log, &[]).await
    }

    /// [`Served::start_logging`] with more environment variables (settings).
    pub async fn start_with(
        fake: &FakeDiscord,
        log: Option<&str>,
        env: &[(&str, String)],
    ) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_npq-bot"));
        if let Some(log) = log {
            cmd.env("RUST_LOG", log);
        }
        for (key, value) in env {
            cmd.env(key, value);
        }
        cmd.current_dir(dir.path())
            .args(["serve", "--knowledge"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge"))
            .env("DISCORD_TOKEN", fake.token());
        Served::spawn(fake, cmd, dir).await
    }

    /// Runs `cmd` (a `serve` command with its settings; the environment's `NPQ_BOT...`,
    /// `DISCORD_TOKEN...` and unset `RUST_LOG` are not passed on) pointed at the fake Discord,
    /// its output kept in `dir`, and waits until it has registered its commands.
    pub async fn spawn(
        fake: &FakeDiscord,
        mut cmd: std::process::Command,
        dir: tempfile::TempDir,
    ) -> Served {
        let set: Vec<String> = cmd
            .get_envs()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        for (key, _) in std::env::vars() {
            let inherited =
                key.starts_with("NPQ_BOT") || key.starts_with("DISCORD_TOKEN") || key == "RUST_LOG";
            if inherited && !set.contains(&key) {
                cmd.env_remove(key);
            }
        }
        let child = cmd
            .env("NPQ_BOT__DISCORD__API_BASE", fake.api_base())
            .env("NPQ_BOT__DISCORD__GUILDS", GUILD_ID.to_string())
            .stdout(std::fs::File::create(dir.path().join("stdout.txt")).unwrap())
            .stderr(std::fs::File::create(dir.path().join("stderr.txt")).unwrap())
            .spawn()
            .expect("npq-bot serve starts");
        let served = Served { child, dir };
        if let Err(e) = fake
            .wait_for_request(
                |r| r.is("PUT", r"/applications/\d+/guilds/\d+/commands"),
                WAIT,
            )
            .await
        {
            panic!(
                "the bot registers its commands: {e}\nlogs:\n{}",
                served.logs()
            );
        }
        served
    }

    /// The process's working folder (its default question log is there).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The process id, to read its memory from `/proc` (the load benchmark does).
    #[allow(dead_code)]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the process has written to standard error and output.
    pub fn logs(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.dir.path().join(name));
        read("stderr.txt").unwrap_or_default() + &read("stdout.txt").unwrap_or_default()
    }

    /// Sends `signal` (as `kill` names it) and waits up to 10 s for the process to exit.
    pub async fn stop_with(&mut self, signal: &str) -> std::process::ExitStatus {
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("npq-bot serve did not stop within 10 s of SIG{signal}");
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
