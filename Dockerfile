# syntax=docker/dockerfile:1
# The app as one image: a single Node process serving the pages, the HTTP API, WebSocket, SSE
# and long polling on one port. Run several behind deploy/nginx.conf (see docker-compose.yml);
# they share Postgres (DATABASE_URL, the event log) and Redis (REDIS_URL, presence and cursors).

ARG NODE_IMAGE=node:20-bookworm-slim

# --- dependencies: npm install runs the project's postinstall, which generates the Prisma
# client from prisma/schema.prisma, so the schema and that script come in first.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NEXT_TELEMETRY_DISABLED=1
COPY package.json package-lock.json ./
COPY scripts/prisma-generate.mjs scripts/
COPY prisma prisma
# `npm install`, not `npm ci`: the lockfile omits some other platforms' optional packages.
RUN npm install --no-audit --no-fund

# --- build: the Next.js pages.
FROM deps AS build
COPY . .
RUN npm run build

# --- tls-cert: nginx's certificate at first start (docker-compose.yml's `tls` service). Its own
# small image with openssl, so the app's image carries no more than it serves with.
FROM ${NODE_IMAGE} AS tls-cert
RUN apt-get update && apt-get install -y --no-install-recommends openssl && rm -rf /var/lib/apt/lists/*
COPY deploy/tls-cert.sh /usr/local/bin/tls-cert.sh
ENTRYPOINT ["sh", "/usr/local/bin/tls-cert.sh", "/tls"]

# --- runtime (the last stage: what `docker build .` makes)
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    NEXT_TELEMETRY_DISABLED=1 \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/.data
# node_modules comes whole from the build: the server is TypeScript run through tsx (a runtime
# dependency), and Next serves the pages built above.
COPY --from=build /app /app
# The code stays root's; the app may write only its data directory and Next's cache.
RUN mkdir -p /app/.data /app/.next/cache && chown -R node:node /app/.data /app/.next/cache
USER node
EXPOSE 3000
# Liveness only: /readyz turns 503 while the instance drains for a deploy, /healthz does not.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM drains: readyz 503, WebSockets closed with 1012 and a jittered reconnect delay, event
# streams ended, held polls answered, accepted messages committed, then exit 0 (within
# SHUTDOWN_TIMEOUT_MS, 10 s by default: give `docker stop` more than that).
STOPSIGNAL SIGTERM
# The server itself, not `npm start`: that script builds the pages first when they look stale,
# which here would run as `node` against the root-owned .next — the image already holds the
# build. Node runs as PID 1 with its own SIGTERM handler, so `docker stop` starts the drain.
CMD ["node", "--import", "tsx", "server/index.ts"]
