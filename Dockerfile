# Multi-stage build: compile in the Rust image, run as an unprivileged user on slim Debian.
FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependencies first, so that source edits do not rebuild them.
COPY Cargo.toml Cargo.lock rust-toolchain.toml ./
COPY protocol/Cargo.toml protocol/Cargo.toml
COPY actors/Cargo.toml actors/Cargo.toml
COPY load-tests/Cargo.toml load-tests/Cargo.toml
RUN mkdir -p src protocol/src actors/src load-tests/src \
    && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && touch protocol/src/lib.rs actors/src/lib.rs && echo 'fn main() {}' > load-tests/src/main.rs \
    && cargo build --release --locked -p confab \
    && rm -rf src protocol/src actors/src load-tests/src
COPY . .
# Make sure cargo sees the real sources as newer than the placeholders.
RUN touch src/main.rs src/lib.rs protocol/src/lib.rs actors/src/lib.rs \
    && cargo build --release --locked -p confab

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin confab \
    && mkdir -p /var/lib/confab/uploads && chown confab /var/lib/confab/uploads
WORKDIR /app
COPY --from=build /src/target/release/confab /usr/local/bin/confab
COPY config ./config
USER confab
ENV CONFAB_ENV=production \
    CONFAB_BIND=0.0.0.0:8080 \
    CONFAB_STORAGE__DIR=/var/lib/confab/uploads \
    RUST_LOG=info
# The embedded attachment store (unused when S3_BUCKET is set).
VOLUME /var/lib/confab/uploads
EXPOSE 8080
ENTRYPOINT ["confab"]
CMD ["serve"]
