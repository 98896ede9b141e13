# The Spacetime server image: `docker build -t spacetime .`, then
#   docker run -p 3000:3000 -v spacetime-data:/var/lib/spacetime spacetime
# Configure it with the SPACETIME_* variables of `spacetime start --help` (or a
# config.toml in the volume); `docker stop` sends SIGTERM, which shuts down gracefully
# within SPACETIME_SHUTDOWN_TIMEOUT (10 s): give `docker stop -t` / compose's
# stop_grace_period a few seconds more.
#
# tests/e2e/packaging.rs runs this file's ENTRYPOINT, CMD, ENV and HEALTHCHECK as a
# plain process on an empty directory, as a non-root user; keep them in the simple
# one-line forms it reads.

# --- build ---------------------------------------------------------------------------
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p spacetime-cli \
    && install -m 0755 target/release/spacetime /spacetime

# --- run -----------------------------------------------------------------------------
FROM debian:bookworm-slim
# A dedicated user with a fixed uid, so a volume's ownership is predictable.
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/spacetime --shell /usr/sbin/nologin spacetime \
    && mkdir -p /var/lib/spacetime \
    && chown spacetime:spacetime /var/lib/spacetime
COPY --from=build /spacetime /usr/local/bin/spacetime
USER spacetime
WORKDIR /var/lib/spacetime
ENV HOME=/var/lib/spacetime
ENV SPACETIME_ROOT_DIR=/var/lib/spacetime
ENV SPACETIME_LISTEN_ADDR=0.0.0.0:3000
ENV SPACETIME_LOG_FORMAT=json
ENV SPACETIME_SHUTDOWN_TIMEOUT=10
# Everything the server keeps: config.toml, data/ and the key pair in config/.
VOLUME /var/lib/spacetime
EXPOSE 3000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD /usr/local/bin/spacetime server ping "http://127.0.0.1:${SPACETIME_LISTEN_ADDR##*:}"
ENTRYPOINT ["/usr/local/bin/spacetime"]
CMD ["start"]
