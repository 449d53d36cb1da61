# drover: one image for both roles.
#   docker build -t drover .
#   docker run --rm drover leader --listen 0.0.0.0:50051 --allow-insecure
#   docker run --rm drover worker --leader <leader-host>:50051
# See docker-compose.yml for a leader plus scalable workers.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: all dependencies (typescript is a dev dependency), compile src/ to dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first so this layer is cached until the lock file changes. Scripts are skipped
# here because `prepare` would run tsc before src/ is copied; the build runs explicitly below.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies, dist/, proto/ and bin/ only ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# --ignore-scripts: `prepare` runs tsc, which is not installed without dev dependencies.
# (The only production install script, protobufjs' postinstall, just prints a version hint.)
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
# proto/ is read at run time (gRPC reflection loads the .proto files).
COPY proto ./proto
COPY bin ./bin
COPY --from=build /app/dist ./dist
# Files stay root-owned and read-only to the process; drover writes nothing to disk.
USER node
# The leader's default gRPC ports; a worker listens on nothing.
EXPOSE 50051 50052
# No HEALTHCHECK: the image has no gRPC health probe binary (grpc_health_probe), and running
# `drover members` every interval would start a whole Node process and would need the
# leader's TLS settings. The leader does serve grpc.health.v1.Health, so an orchestrator
# with native gRPC probes (e.g. Kubernetes `grpc:` probes) can check it directly.
ENTRYPOINT ["node", "bin/drover.js"]
CMD ["--help"]
