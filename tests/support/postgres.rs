//! A throwaway PostgreSQL server for tests: `initdb` once per machine into a template, then a
//! copy per server on a free 127.0.0.1 port, stopped (and deleted) on drop. Include it with
//! `#[path = "support/postgres.rs"] mod postgres;`.
//!
//! Outside CI a machine without PostgreSQL skips the test with a message; with `CI=true` that
//! is a failure. As root (initdb refuses root) the server runs as the `postgres` user.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A running server; stopped on drop.
pub struct Postgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
    as_user: Option<&'static str>,
}

/// The folder holding `initdb` and `pg_ctl`: PATH, then /usr/lib/postgresql/*/bin (newest).
fn find_bin() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                return Some(
                    std::fs::canonicalize(dir.join("initdb"))
                        .ok()?
                        .parent()?
                        .into(),
                );
            }
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|b| b.join("initdb").is_file())
        .collect();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

impl Postgres {
    /// Starts a server, or returns `None` (having said why) when PostgreSQL is not installed
    /// and this is not CI. Panics on any other failure.
    pub fn start() -> Option<Postgres> {
        let Some(bin) = find_bin() else {
            let message = "PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin): install it with `apt-get install postgresql` to run the PostgreSQL tests";
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{message}");
            }
            eprintln!("skipped: {message}");
            return None;
        };
        let as_user = is_root().then_some("postgres");
        let template = template(&bin, as_user);
        let dir = tempfile::Builder::new()
            .prefix("npq-bot-pg-")
            .tempdir()
            .expect("a temporary folder");
        let data = dir.path().join("data");
        let copied = Command::new("cp")
            .arg("-a")
            .arg(&template)
            .arg(&data)
            .status()
            .expect("cp runs");
        assert!(copied.success(), "cannot copy the PostgreSQL template");
        let server = Postgres {
            bin,
            port: super::free_port(),
            dir,
            as_user,
        };
        server.chown();
        server.start_again();
        Some(server)
    }

    fn chown(&self) {
        if let Some(user) = self.as_user {
            let status = Command::new("chown")
                .args(["-R", user])
                .arg(self.dir.path())
                .status()
                .expect("chown runs");
            assert!(
                status.success(),
                "cannot give the server's folder to {user}"
            );
        }
    }

    fn pg_ctl(&self, args: &[&str]) -> std::process::Output {
        run(&self.bin.join("pg_ctl"), self.as_user, args)
    }

    /// Starts the server (again, after [`Postgres::stop`]) on the same port and data.
    pub fn start_again(&self) {
        let dir = self.dir.path().to_string_lossy().into_owned();
        let options = format!(
            "-p {} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port
        );
        let log = format!("{dir}/server.log");
        let out = self.pg_ctl(&[
            "-D",
            &format!("{dir}/data"),
            "-o",
            &options,
            "-l",
            &log,
            "-w",
            "start",
        ]);
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Stops the server at once, as if the database went down.
    pub fn stop(&self) {
        let dir = self.dir.path().to_string_lossy().into_owned();
        self.pg_ctl(&[
            "-D",
            &format!("{dir}/data"),
            "-m",
            "immediate",
            "-w",
            "stop",
        ]);
    }

    /// The URL of the server's `postgres` database.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A new, empty database named `name`; returns its URL.
    pub async fn database(&self, name: &str) -> String {
        use sqlx::Connection;
        let mut conn = sqlx::postgres::PgConnection::connect(&self.admin_url())
            .await
            .expect("connect to the test server");
        sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .expect("create a test database");
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(program: &Path, as_user: Option<&str>, args: &[&str]) -> std::process::Output {
    let mut command = match as_user {
        Some(user) => {
            let mut c = Command::new("runuser");
            c.args(["-u", user, "--"]).arg(program);
            c
        }
        None => Command::new(program),
    };
    command
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
}

/// A data folder made by initdb once per machine and PostgreSQL version, copied per server.
fn template(bin: &Path, as_user: Option<&'static str>) -> PathBuf {
    let version = bin
        .parent()
        .and_then(|p| p.file_name())
        .map(|v| v.to_string_lossy().into_owned())
        .unwrap_or_default();
    let path = std::env::temp_dir().join(format!("npq-bot-pg-template-{version}"));
    if path.join("PG_VERSION").is_file() {
        return path;
    }
    let building = tempfile::Builder::new()
        .prefix("npq-bot-pg-initdb-")
        .tempdir()
        .expect("a temporary folder");
    if let Some(user) = as_user {
        Command::new("chown")
            .args([user])
            .arg(building.path())
            .status()
            .expect("chown runs");
    }
    let data = building.path().join("data");
    let out = run(
        &bin.join("initdb"),
        as_user,
        &[
            "-D",
            &data.to_string_lossy(),
            "-U",
            "postgres",
            "--auth=trust",
            "-N",
            "-E",
            "UTF8",
        ],
    );
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Another test may have finished first: either template will do.
    let _ = std::fs::rename(&data, &path);
    path
}
