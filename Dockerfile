# standup-tickets in a small image: `docker build -t standup-tickets .`
#   docker run -d --name club -p 3000:3000 -v club-data:/data \
#     --env-file /etc/standup-tickets.env standup-tickets
# The data dir (SQLite database, uploads, secrets) is the /data volume.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked \
    && install -D target/release/standup-tickets /out/standup-tickets \
    && mkdir -p /out/data

# distroless/cc: glibc, libgcc and CA certificates, no shell, no package
# manager; `nonroot` runs as uid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/standup-tickets /usr/local/bin/standup-tickets
COPY --from=build --chown=65532:65532 /out/data /data
ENV DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=3000 \
    APP_ENV=production \
    LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 3000
USER 65532:65532
# The binary asks itself: the image has no curl.
HEALTHCHECK --interval=30s --timeout=6s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/standup-tickets", "healthcheck"]
# SIGTERM (docker stop) finishes the writes in flight, then exits.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/standup-tickets"]
CMD ["serve"]
