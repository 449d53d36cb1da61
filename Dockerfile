# drover: one image for both roles.
#   docker build -t drover .
#   docker run --rm -v drover-data:/data drover leader --listen 0.0.0.0:50051 --allow-insecure --no-auth
#   docker run --rm drover worker --leader <leader-host>:50051
# See docker-compose.yml for a leader plus scalable workers. With no image registry in reach,
# scripts/make-node-base-image.sh builds the base image (node:20-bookworm-slim) locally.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: all dependencies (typescript is a dev dependency), compile src/ to dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# A compiler for better-sqlite3's native module, should no prebuilt binary match (or GitHub,
# where prebuild-install downloads them from, be out of reach).
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
# node-gyp compiles against the headers the node image ships in /usr/local/include/node
# instead of downloading them from nodejs.org, so the fallback build works offline too.
ENV npm_config_nodedir=/usr/local npm_config_update_notifier=false npm_config_fund=false
# Dependencies first so this layer is cached until the lock file changes. Scripts are skipped
# here because `prepare` would run tsc before src/ is copied; the build runs explicitly below,
# and the one native module is built on its own.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
# The web dashboard is bundled by esbuild into dist/dashboard during `npm run build`.
COPY scripts/build-dashboard.mjs ./scripts/
COPY src ./src
# At run time better-sqlite3 loads only build/Release/better_sqlite3.node: its sources and
# object files (about 25 MB) stay behind.
RUN npm run build && npm prune --omit=dev \
  && cd node_modules/better-sqlite3 \
  && rm -rf build/Release/obj build/Release/obj.target build/Release/.deps build/Release/test_extension.node deps src

# ---- runtime: production dependencies, dist/ and bin/ only ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Production dependencies from the build stage (with better-sqlite3 compiled for this image).
COPY package.json package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY bin ./bin
COPY --from=build /app/dist ./dist
# Files stay root-owned and read-only to the process; the leader writes only its data
# directory, owned by the `node` user. No VOLUME here: workers never write /data, and a
# VOLUME would give every container (each worker too) an anonymous volume that outlives it.
# Mount one for the leader (docker-compose.yml mounts the named volume drover-data; with
# `docker run`: -v drover-data:/data). A new named volume takes /data's owner, `node`.
RUN mkdir /data && chown node:node /data
ENV DROVER_DATA_DIR=/data
USER node
# The leader's default gRPC ports and its HTTP API; a worker listens on nothing.
EXPOSE 50051 50052 8080
# No HEALTHCHECK here: the image runs both roles, and only the leader serves /readyz (the
# compose file checks the leader with it). The leader also serves grpc.health.v1.Health for
# orchestrators with native gRPC probes (e.g. Kubernetes `grpc:` probes).
ENTRYPOINT ["node", "bin/drover.js"]
CMD ["--help"]
