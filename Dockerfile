# syntax=docker/dockerfile:1
# `packyard serve` as a small container image: every route group in one process on port 8080, for ECS,
# Fargate, Kubernetes or a plain Docker host behind a load balancer (GET /healthz).
#
#   docker build -t packyard .
#   docker run -p 8080:8080 -v packyard-data:/data -e PACKYARD_PUBLIC_URL=http://localhost:8080 packyard
#
# By default it runs the embedded backend (SQLite and blobs in the /data volume). With PACKYARD_TABLE and
# PACKYARD_BUCKET set (and AWS credentials from the task role or the usual variables) it runs on DynamoDB
# and S3, as the Lambda functions do. See "Running as a container" in the README.

# The build stage: the toolchain the workspace pins (rust-version 1.95); gcc builds bundled SQLite and aws-lc.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
# BuildKit cache mounts keep the registry and the target directory between builds; the binary is copied out
# of the cached target directory because the mount is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p packyard --bin packyard \
    && install -D -m 0755 target/release/packyard /out/packyard \
    && mkdir -p /out/data

# The runtime stage: distroless with glibc and libgcc (what a Rust binary links dynamically), no shell, no
# package manager; the :nonroot tag runs as uid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/packyard /usr/local/bin/packyard
COPY --from=build --chown=65532:65532 /out/data /data
# glibc's allocator keeps what a burst of requests freed in per-thread arenas, and after freeing a large block
# it serves blocks that large from those arenas too: a server that answered a few 5,000-version packuments held
# 76 MiB instead of returning to 19. Two arenas and a fixed 128 KiB mmap threshold (large blocks mapped and
# unmapped, never pooled) keep the peak down; the server itself trims the arenas once it has gone quiet, and is
# back to 18 MiB (12 at start) 15 s after such a load (benchmarks/packument.md).
ENV PACKYARD_DATA_DIR=/data \
    PACKYARD_LISTEN=0.0.0.0:8080 \
    RUST_LOG=warn,packyard=info \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=131072
VOLUME ["/data"]
EXPOSE 8080
USER 65532:65532
# docker stop sends SIGTERM; serve finishes the requests in flight and exits 0.
ENTRYPOINT ["/usr/local/bin/packyard", "serve"]
