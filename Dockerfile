# syntax=docker/dockerfile:1
# entra-audit for scheduled runs (Azure Container Apps jobs, Kubernetes CronJobs, cron + docker).
# What it reads and writes, and examples: docs/container.md.
#
#   docker build --build-arg ENTRA_AUDIT_COMMIT=$(git rev-parse --short HEAD) -t entra-audit .
#   docker run --rm entra-audit --version
#   docker run --rm -v "$PWD/out:/data/out" entra-audit demo --out /data/out/demo
#
# Builder: the Rust toolchain the crate needs (Cargo.toml rust-version). The build context has no
# .git (.dockerignore), so the commit --version prints comes from the build argument.
ARG RUST_VERSION=1.95
FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS builder
ARG ENTRA_AUDIT_COMMIT=
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
# The allocator's options, compiled in (see .cargo/config.toml).
COPY .cargo ./.cargo
COPY build ./build
COPY src ./src
COPY queries ./queries
COPY fixtures ./fixtures
# The registry and target caches survive between builds (BuildKit, or podman/buildah), so an
# edit of the sources does not rebuild polars.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    ENTRA_AUDIT_COMMIT="${ENTRA_AUDIT_COMMIT}" cargo build --release --locked \
 && install -D -m 0755 target/release/entra-audit /out/entra-audit \
 && install -d -o 65532 -g 65532 /out/data/onprem /out/data/out /out/config

# Runtime: distroless with glibc (aws-lc, the TLS library, links against it), the CA certificates
# Graph and LDAPS are verified with, and a non-root user (nonroot, uid 65532). No shell, no
# package manager: the binary only.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /out/entra-audit /usr/local/bin/entra-audit
COPY --from=builder --chown=65532:65532 /out/data /data
COPY --from=builder --chown=65532:65532 /out/config /config
USER 65532:65532
WORKDIR /data/out
# Logs for a scheduler: one JSON object per line on stderr (level: ENTRA_AUDIT_LOG, default warn).
ENTRYPOINT ["/usr/local/bin/entra-audit", "--log-format", "json"]
CMD ["--help"]
