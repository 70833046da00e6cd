# npq-bot in a container: built in a Rust image, run from a slim one as a non-root user.
#   docker build -t npq-bot .
#   docker run -d --name npq-bot -e DISCORD_TOKEN=... \
#     -v /srv/npq-bot/knowledge:/knowledge:ro -v npq-bot-index:/var/lib/npq-bot npq-bot
# The bundled guidance is in the image; mount your own folder over /knowledge to replace it.

FROM rust:1.88-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
RUN cargo build --release --locked --bin npq-bot

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin npq \
    && mkdir -p /var/lib/npq-bot \
    && chown npq /var/lib/npq-bot
COPY --from=build /src/target/release/npq-bot /usr/local/bin/npq-bot
COPY bot.toml /etc/npq-bot/bot.toml
COPY knowledge /knowledge
ENV NPQ_BOT__KNOWLEDGE__DIR=/knowledge \
    NPQ_BOT__INDEX__PATH=/var/lib/npq-bot/index
VOLUME ["/knowledge", "/var/lib/npq-bot"]
USER npq
ENTRYPOINT ["/usr/local/bin/npq-bot", "--config", "/etc/npq-bot/bot.toml"]
CMD ["serve"]
