//! Log output: every line passes through [`crate::discord::redact_interaction_tokens`] before
//! it is written, so an interaction or webhook token that a library puts in a log line (a
//! callback URL in a debug line, a payload at trace level) never reaches the log.

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

/// Wraps a writer; each write (the formatter writes one whole event at a time) is redacted.
pub struct Redacting<W>(pub W);

impl<W: Write> Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0
            .write_all(crate::discord::redact_interaction_tokens(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Makes [`Redacting`] writers around what `M` makes.
pub struct RedactingMakeWriter<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for RedactingMakeWriter<M> {
    type Writer = Redacting<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        Redacting(self.0.make_writer())
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Lines for people: time, level and message.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `fields.message`, ...), for a log
    /// collector.
    Json,
}

/// Logs to standard error, filtered by `RUST_LOG` (else `default`), in colour only on a
/// terminal (a log file or journal gets plain text), with interaction tokens redacted.
pub fn init(default: &str, format: Format) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(RedactingMakeWriter(std::io::stderr))
        .with_target(false);
    let _ = match format {
        Format::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        Format::Json => builder.json().with_ansi(false).try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_redacted_on_the_way_out() {
        let mut out = Redacting(Vec::new());
        let line = b"DEBUG POST /api/v10/interactions/5/token-5/callback token: \"token-5\"\n";
        assert_eq!(out.write(line).unwrap(), line.len());
        let written = String::from_utf8(out.0).unwrap();
        assert!(!written.contains("token-5"), "{written}");
        assert!(
            written.contains("interactions/5/[token]/callback"),
            "{written}"
        );
    }
}
