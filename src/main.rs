//! The `npq-bot` command: parses arguments, reads settings and hands over to the library.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("npq-bot: {err:#}");
            ExitCode::from(2)
        }
    }
}
