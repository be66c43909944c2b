# Snackdrawer in a small image: built with the Rust toolchain, run on Debian slim as a
# non-root user. The defaults work inside it: it serves on 0.0.0.0:8000 and keeps its SQLite
# file in /var/lib/snackdrawer (mount a volume there), or uses DATABASE_URL=postgres://….
# The image also holds the load generator, /usr/local/bin/snackdrawer-load (docs/load.md); the
# compose stack's `load` profile runs it against the service:
#   docker run --rm --entrypoint snackdrawer-load snackdrawer --host http://host:8000 -t 1m
#
#   docker build --build-arg SNACKDRAWER_BUILD_COMMIT=$(git rev-parse HEAD) -t snackdrawer .

# The workspace's rust-version (Cargo.toml), the oldest toolchain the README promises, so every
# image build shows that promise still holds; .ci/check-rust-version keeps the two equal.
FROM rust:1.94-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src src
COPY benches benches
# The workspace's other packages; the service binary depends on neither. The lab (lab/) is
# copied only so the workspace loads: it is not built, since it is for a terminal, not an image.
COPY load load
COPY lab lab
# The image has no .git; build.rs stamps build_info with this instead.
ARG SNACKDRAWER_BUILD_COMMIT=unknown
ENV SNACKDRAWER_BUILD_COMMIT=${SNACKDRAWER_BUILD_COMMIT}
RUN cargo build --release --locked -p snackdrawer -p snackdrawer-load --bins \
    && strip target/release/snackdrawer target/release/snackdrawer-load

FROM debian:bookworm-slim
# The generator's HTTP client (reqwest 0.13, rustls with the platform verifier) refuses to start
# without a system trust store, even for plain http:// (seanmonstar/reqwest#2988).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/snackdrawer snackdrawer
COPY --from=build /src/target/release/snackdrawer /src/target/release/snackdrawer-load /usr/local/bin/
USER snackdrawer
WORKDIR /var/lib/snackdrawer
ENV SNACKDRAWER_LISTEN=0.0.0.0:8000 \
    SNACKDRAWER_LOG_FORMAT=json
EXPOSE 8000
ENTRYPOINT ["snackdrawer"]
