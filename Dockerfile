# Snackdrawer in a small image: built with the Rust toolchain, run on Debian slim as a
# non-root user. The defaults work inside it: it serves on 0.0.0.0:8000 and keeps its SQLite
# file in /var/lib/snackdrawer (mount a volume there), or uses DATABASE_URL=postgres://….
#
#   docker build --build-arg SNACKDRAWER_BUILD_COMMIT=$(git rev-parse HEAD) -t snackdrawer .

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src src
COPY benches benches
# The image has no .git; build.rs stamps build_info with this instead.
ARG SNACKDRAWER_BUILD_COMMIT=unknown
ENV SNACKDRAWER_BUILD_COMMIT=${SNACKDRAWER_BUILD_COMMIT}
RUN cargo build --release --locked --bin snackdrawer \
    && strip target/release/snackdrawer

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/snackdrawer snackdrawer
COPY --from=build /src/target/release/snackdrawer /usr/local/bin/snackdrawer
USER snackdrawer
WORKDIR /var/lib/snackdrawer
ENV SNACKDRAWER_LISTEN=0.0.0.0:8000 \
    SNACKDRAWER_LOG_FORMAT=json
EXPOSE 8000
ENTRYPOINT ["snackdrawer"]
