# drover: one image for both roles.
#   docker build -t drover .
#   docker run --rm drover leader --listen 0.0.0.0:50051 --allow-insecure
#   docker run --rm drover worker --leader <leader-host>:50051
# See docker-compose.yml for a leader plus scalable workers.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: all dependencies (typescript is a dev dependency), compile src/ to dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# A compiler for better-sqlite3's native module, should no prebuilt binary match.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
# Dependencies first so this layer is cached until the lock file changes. Scripts are skipped
# here because `prepare` would run tsc before src/ is copied; the build runs explicitly below,
# and the one native module is built on its own.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# ---- runtime: production dependencies, dist/, proto/ and bin/ only ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Production dependencies from the build stage (with better-sqlite3 compiled for this image).
COPY package.json package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
# proto/ is read at run time (gRPC reflection loads the .proto files).
COPY proto ./proto
COPY bin ./bin
COPY --from=build /app/dist ./dist
# Files stay root-owned and read-only to the process; the leader writes only its data
# directory, a volume owned by the `node` user.
RUN mkdir /data && chown node:node /data
ENV DROVER_DATA_DIR=/data
VOLUME /data
USER node
# The leader's default gRPC ports and its HTTP API; a worker listens on nothing.
EXPOSE 50051 50052 8080
# No HEALTHCHECK here: the image runs both roles, and only the leader serves /readyz (the
# compose file checks the leader with it). The leader also serves grpc.health.v1.Health for
# orchestrators with native gRPC probes (e.g. Kubernetes `grpc:` probes).
ENTRYPOINT ["node", "bin/drover.js"]
CMD ["--help"]
