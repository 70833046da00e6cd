# npq-bot in a container: built in a Rust image, run from a slim one as a non-root user.
#   docker build -t npq-bot .
#   docker run -d --name npq-bot -e DISCORD_TOKEN=... -v npq-bot-state:/var/lib/npq-bot npq-bot
# or, with the token in a file (a Docker or Compose secret):
#   docker run -d ... -e DISCORD_TOKEN_FILE=/run/secrets/discord-token npq-bot
# The bundled guidance is in the image at /knowledge; mount your own folder over it (read-only
# is fine: answers written with "Answer this" then need a writable folder, see README).
# State (question log, on-disk index) lives in /var/lib/npq-bot; the configuration in
# /etc/npq-bot is read-only. tests/discord/deployed.rs installs and runs this layout.

FROM rust:1.89-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
COPY src ./src
COPY benches ./benches
COPY migrations ./migrations
COPY assets ./assets
RUN cargo build --release --locked --bin npq-bot

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin npq \
    && mkdir -p /var/lib/npq-bot \
    && chown npq /var/lib/npq-bot \
    && chmod 0700 /var/lib/npq-bot
COPY --from=build /src/target/release/npq-bot /usr/local/bin/npq-bot
COPY models /usr/local/share/npq-bot/models
COPY bot.toml /etc/npq-bot/bot.toml
COPY knowledge /knowledge
ENV NPQ_BOT__KNOWLEDGE__DIR=/knowledge \
    NPQ_BOT__INDEX__PATH=/var/lib/npq-bot/index \
    NPQ_BOT__LOG__DATABASE=sqlite:///var/lib/npq-bot/questions.db \
    NPQ_BOT__METRICS__ADDRESS=127.0.0.1:9464
VOLUME ["/var/lib/npq-bot"]
USER npq
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/usr/local/bin/npq-bot", "health", "http://127.0.0.1:9464/healthz"]
ENTRYPOINT ["/usr/local/bin/npq-bot", "--config", "/etc/npq-bot/bot.toml"]
CMD ["serve"]
