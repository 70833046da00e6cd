//! `/healthz` and Prometheus `/metrics` on a local address (`metrics.address`, off by default):
//! questions, answers, refusals, questions turned away when busy and waiting, answer latency,
//! gateway connections and resumes, 429s, reloads and skipped knowledge files. Counters only; no user, guild or question is recorded.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::state::State;

/// Connections `/healthz` and `/metrics` serve at once.
const MAX_CONNECTIONS: usize = 32;

/// How long the listener waits after a failed accept before the next.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// Upper bounds of the answer latency buckets, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

/// Counters shared by the whole process (the 429 retry has no state to hand).
#[derive(Debug, Default)]
pub struct Metrics {
    /// Latency observations per bucket (not cumulative), and one for above the last.
    latency: [AtomicU64; BUCKETS.len() + 1],
    latency_micros: AtomicU64,
    pub connected: AtomicU64,
    pub resumed: AtomicU64,
    pub rate_limited: AtomicU64,
    pub reloads: AtomicU64,
    pub reloads_refused: AtomicU64,
    pub skipped_files: AtomicU64,
    /// Questions turned away because too many were waiting (`discord.busy_after_ms`).
    pub busy: AtomicU64,
    pub ready: AtomicBool,
}

/// The process's metrics.
pub fn get() -> &'static Metrics {
    static METRICS: std::sync::OnceLock<Metrics> = std::sync::OnceLock::new();
    METRICS.get_or_init(Metrics::default)
}

impl Metrics {
    pub fn observe(&self, took: Duration) {
        let secs = took.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(BUCKETS.len());
        self.latency[bucket].fetch_add(1, Ordering::Relaxed);
        self.latency_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    /// The Prometheus text format (version 0.0.4).
    pub fn render(&self, state: &State) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let s = &state.stats;
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        counter("npq_questions_total", "Questions asked.", get(&s.asked));
        counter(
            "npq_answered_total",
            "Questions answered.",
            get(&s.answered),
        );
        counter(
            "npq_refused_total",
            "Questions refused as not covered by the guidance.",
            get(&s.refused),
        );
        counter(
            "npq_feedback_helpful_total",
            "Helpful votes.",
            get(&s.helpful),
        );
        counter(
            "npq_feedback_not_helpful_total",
            "Not helpful votes.",
            get(&s.not_helpful),
        );
        counter(
            "npq_gateway_connects_total",
            "Gateway sessions started (READY), reconnects included.",
            get(&self.connected),
        );
        counter(
            "npq_gateway_resumes_total",
            "Gateway sessions resumed.",
            get(&self.resumed),
        );
        counter(
            "npq_rate_limited_total",
            "Replies Discord answered with 429 and that were retried.",
            get(&self.rate_limited),
        );
        counter(
            "npq_reloads_total",
            "Reloads that swapped in new guidance.",
            get(&self.reloads),
        );
        counter(
            "npq_reloads_refused_total",
            "Reloads refused because of errors.",
            get(&self.reloads_refused),
        );
        counter(
            "npq_busy_total",
            "Questions turned away because too many were waiting to be answered.",
            get(&self.busy),
        );
        let _ = writeln!(
            out,
            "# HELP npq_waiting Questions waiting to be answered now.\n# TYPE npq_waiting gauge\nnpq_waiting {}",
            state.waiting()
        );
        let _ = writeln!(
            out,
            "# HELP npq_skipped_files Knowledge files left out of the guidance now served.\n# TYPE npq_skipped_files gauge\nnpq_skipped_files {}",
            get(&self.skipped_files)
        );
        let _ = writeln!(
            out,
            "# HELP npq_answer_seconds Time to answer a question.\n# TYPE npq_answer_seconds histogram"
        );
        let mut cumulative = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += get(&self.latency[i]);
            let _ = writeln!(
                out,
                "npq_answer_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += get(&self.latency[BUCKETS.len()]);
        let _ = writeln!(out, "npq_answer_seconds_bucket{{le=\"+Inf\"}} {cumulative}");
        let _ = writeln!(
            out,
            "npq_answer_seconds_sum {}\nnpq_answer_seconds_count {cumulative}",
            get(&self.latency_micros) as f64 / 1e6
        );
        out
    }
}

/// What `/healthz` says once connected: "ok", and a warning when the model is missing (the
/// bot still answers, from the lexical stage alone, noticeably worse).
fn health_body() -> String {
    match crate::retrieve::semantic::model_problem() {
        None => "ok\n".to_string(),
        Some(problem) => format!("ok\nwarning: {problem}\n"),
    }
}

/// Asks a `/healthz` address (`http://HOST:PORT/PATH`) once, within 5 seconds: the status line
/// and body when it answers 200, else an error saying what it answered or why it could not.
pub fn probe(url: &str) -> anyhow::Result<String> {
    use std::io::{Read as _, Write as _};
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow::anyhow!("{url}: only http:// addresses"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/healthz"),
    };
    let address: SocketAddr = host
        .parse()
        .map_err(|_| anyhow::anyhow!("{url}: write the address as IP:PORT"))?;
    let timeout = Duration::from_secs(5);
    let mut stream = std::net::TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream.take(64 * 1024).read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response);
    let status = text.lines().next().unwrap_or("").trim().to_string();
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b).trim();
    anyhow::ensure!(
        status.split_whitespace().nth(1) == Some("200"),
        "{status}: {body}"
    );
    Ok(format!("{status}: {body}"))
}

/// Binds `address` and serves `/healthz` and `/metrics` until the process ends.
pub async fn serve(address: SocketAddr, state: Arc<State>) -> anyhow::Result<()> {
    let listener = TcpListener::bind(address).await.map_err(|e| {
        anyhow::anyhow!("cannot listen for metrics on {address} (metrics.address): {e}")
    })?;
    tracing::info!(%address, "serving /healthz and /metrics");
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    tokio::spawn(async move {
        loop {
            // At most MAX_CONNECTIONS at once: the next waits for a free slot, not for memory.
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(_) => {
                    // Out of file descriptors, say: pause rather than spin on the error.
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            };
            let state = state.clone();
            tokio::spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(5), respond(stream, &state)).await;
                drop(slot);
            });
        }
    });
    Ok(())
}

async fn respond(mut stream: tokio::net::TcpStream, state: &State) -> std::io::Result<()> {
    let mut request = Vec::with_capacity(512);
    let mut buf = [0u8; 512];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 8192 {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&request);
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let metrics = get();
    let (status, kind, body) = match (method, path) {
        ("GET", "/healthz") if metrics.ready.load(Ordering::Relaxed) => {
            ("200 OK", "text/plain", health_body())
        }
        ("GET", "/healthz") => (
            "503 Service Unavailable",
            "text/plain",
            "not connected to Discord yet\n".to_string(),
        ),
        ("GET", "/metrics") => ("200 OK", "text/plain; version=0.0.4", metrics.render(state)),
        ("GET", _) => ("404 Not Found", "text/plain", "not found\n".to_string()),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "only GET\n".to_string(),
        ),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves one connection with `response` on a free port; returns the address.
    fn answer_once(response: &'static str) -> String {
        use std::io::{Read as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = stream.write_all(response.as_bytes());
        });
        address
    }

    #[test]
    fn the_health_probe_passes_on_200_only_and_says_why() {
        let ok = answer_once("HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n");
        let said = probe(&format!("http://{ok}/healthz")).unwrap();
        assert!(said.contains("200") && said.ends_with("ok"), "{said}");
        let down =
            answer_once("HTTP/1.1 503 Service Unavailable\r\n\r\nnot connected to Discord yet\n");
        let err = probe(&format!("http://{down}/healthz"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("503") && err.contains("not connected"),
            "{err}"
        );
        assert!(probe("https://127.0.0.1:1/healthz").is_err());
        assert!(probe("http://localhost/healthz").is_err());
        // Nothing listening.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = closed.local_addr().unwrap();
        drop(closed);
        assert!(probe(&format!("http://{address}/healthz")).is_err());
    }

    #[test]
    fn latency_lands_in_cumulative_buckets() {
        let m = Metrics::default();
        m.observe(Duration::from_micros(800));
        m.observe(Duration::from_millis(30));
        m.observe(Duration::from_secs(3));
        let engine =
            crate::Engine::new(crate::Knowledge::default(), crate::Settings::default()).unwrap();
        let state = State::new(
            engine,
            "k".into(),
            crate::Settings::default(),
            None,
            crate::config::Config::defaults().discord,
            false,
        );
        let text = m.render(&state);
        assert!(
            text.contains("npq_answer_seconds_bucket{le=\"0.001\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("npq_answer_seconds_bucket{le=\"0.05\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("npq_answer_seconds_bucket{le=\"+Inf\"} 3"),
            "{text}"
        );
        assert!(text.contains("npq_answer_seconds_count 3"), "{text}");
        assert!(
            text.contains("# TYPE npq_questions_total counter"),
            "{text}"
        );
    }
}
