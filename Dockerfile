# syntax=docker/dockerfile:1
#
# One image, three programs, chosen by the command (Kubernetes sets it per workload):
#   core     node dist/src/main.js          (the default CMD)
#   gateway  node dist/gateway/main.js
#   migrate  node dist/src/cli/migrate.js   (the Job that runs before a rollout)
#
#   docker build -t payment-callback:0.1.0 .
#   docker run --rm payment-callback:0.1.0 dist/gateway/main.js
#
# test/deploy/manifests.test.ts parses this file: COPY sources must exist, the entry points
# must be compiled outputs of real sources, and USER must be a numeric non-root uid.

# Node 24 ("Krypton"), the Active LTS line, supported until 2028-04-30 (Node 20 reached its end of
# life on 2026-04-30 and gets no more security fixes). Pinned to a full version, so a rebuild
# gets the same runtime until someone moves it; raise it with each Node security release.
# Not pinned by digest: no digest of this tag could be verified when it was written, and an
# invented one would only make the build fail. Where your registry mirrors it, pin it as
#   ARG NODE_IMAGE=node:24.16.0-bookworm-slim@sha256:<digest from `docker buildx imagetools inspect`>
# Both stages use the same image, so better-sqlite3's native addon is compiled (or its prebuilt
# binary chosen) for exactly the Node that runs it (README "Deploying": which Node the tests ran on).
ARG NODE_IMAGE=node:24.16.0-bookworm-slim

# ---- build: compile TypeScript, then drop the dev dependencies ------------------------------
FROM ${NODE_IMAGE} AS build
# better-sqlite3 compiles its native addon when no prebuilt binary matches; the core loads it
# only for DATABASE_URL=sqlite: (local runs), but it is a production dependency either way.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# The lock file first, so the dependency layer is reused while only sources change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
# src/gen/ (generated from proto/) is committed, so the build needs no protoc.
# test/ and bench/ are not in the build context (.dockerignore): tsc compiles src/ and gateway/.
COPY src ./src
COPY gateway ./gateway
RUN npx tsc -p tsconfig.json \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: production node_modules, compiled JavaScript, proto/ and the demo config -------
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
# A fixed numeric uid/gid so Kubernetes can verify runAsNonRoot without reading /etc/passwd
# (the manifests set runAsUser: 10001 too). No home directory: nothing writes one.
RUN groupadd --system --gid 10001 payment-callback \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin payment-callback
# Everything stays owned by root and is only readable by the service user, so the process cannot
# change its own code. Nothing is written at run time, so the root filesystem can be read-only
# (Kubernetes mounts an emptyDir at /tmp; the core's SQLite default is for local runs only).
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Server reflection loads the .proto files at run time from <root>/proto, resolved relative to
# dist/src/server/, so proto/ must sit beside dist/.
COPY proto ./proto
COPY package.json ./
# config/demo-merchants.json: the documented demo merchant for trying the image locally
# (MERCHANTS_FILE=config/demo-merchants.json). The core refuses its key in production.
COPY config ./config
USER 10001:10001
EXPOSE 50051 9464 8080
# node is PID 1 and no init (tini, docker run --init) is needed: both servers install their
# own SIGTERM/SIGINT handlers and drain before exiting (a PID 1 without handlers would ignore
# SIGTERM), and none of the three programs starts child processes, so there are no zombies
# to reap. Exec form, so no shell sits in between and swallows the signal.
ENTRYPOINT ["node"]
CMD ["dist/src/main.js"]
# No HEALTHCHECK: Kubernetes ignores it and probes with the manifests' gRPC (core) and HTTP
# (gateway) probes instead, and one HEALTHCHECK could not fit an image that runs three
# different programs (the migrate Job has nothing to probe). For plain `docker run`, pass
# --health-cmd for the program you start.
