# syntax=docker/dockerfile:1
# flts image: one image for every role (preprocess, train, eval, promote, serve, daemon).
#   docker build -t flts:dev .
#   docker run --rm -p 8000:8000 flts:dev serve
ARG NODE_IMAGE=node:24-slim

# ---- build: full dependency tree, compile, then keep only what the package ships ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json .npmrc tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY daemon ./daemon
COPY scripts ./scripts
COPY src ./src
COPY examples ./examples
COPY docs ./docs
COPY proto ./proto
# `npm ci` runs `prepare` (= npm run build), so the sources must be in place before it.
# Source maps are dropped (about 200 MB, mostly TensorFlow.js browser bundles). `npm pack` then collects
# exactly the files package.json ships ("files": bin, daemon, dist without test fixtures, docs, examples, proto, the oclif
# manifest), and the production node_modules join them in /out.
RUN --mount=type=cache,target=/root/.npm \
    npm ci \
 && test -f dist/commands/serve.js \
 && npm prune --omit=dev \
 && find dist node_modules -name '*.map' -type f -delete \
 && mkdir -p /out \
 && tar -xzf "$(npm pack --ignore-scripts --silent)" -C /out --strip-components=1 \
 && mv node_modules /out/node_modules

# ---- runtime: the packed package + production node_modules only ----
FROM ${NODE_IMAGE} AS runtime
# tini forwards SIGTERM to node so `serve` and `daemon` can drain and commit offsets on shutdown.
# The base image tag is the pin; a pinned Debian package version would vanish with its next security update.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 flts \
 && useradd --system --uid 10001 --gid flts --home-dir /data --no-create-home --shell /usr/sbin/nologin flts \
 && mkdir -p /data \
 && chown flts:flts /data
WORKDIR /app
ENV NODE_ENV=production \
    FLTS_HOME=/data \
    HOME=/data \
    FLTS_SERVE_HOST=0.0.0.0 \
    FLTS_SERVE_PORT=8000 \
    FLTS_DAEMON_HOST=0.0.0.0 \
    FLTS_READY_FILE=/tmp/flts-ready.json
COPY --from=build /out /app
RUN ln -s /app/bin/run.js /usr/local/bin/flts \
 && ln -s /app/daemon/main.js /usr/local/bin/flts-daemon
USER 10001:10001
VOLUME ["/data"]
# 8000: `flts serve` HTTP; 9100: `flts daemon` health, readiness and metrics.
EXPOSE 8000 9100
# The slim base has no curl. bin/healthcheck.js asks /livez of the command the container runs, serve or daemon, where
# it says it listens in FLTS_READY_FILE (--port 0 included); before it does, on the port its flags, environment and
# config file give it (serve.port or daemon.port); FLTS_HEALTH_URL, when set, instead.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "/app/bin/healthcheck.js"]
ENTRYPOINT ["tini", "--", "flts"]
CMD ["serve"]
