# syntax=docker/dockerfile:1
# The operator's image, for machines with Docker/BuildKit: `make image IMG=registry/debugsession-operator:tag`.
# hack/operator-image.sh assembles the equivalent image offline (no registry, no Docker) for the
# local cluster: same layout (/app/dist, /app/node_modules, /app/package.json), same user, same
# entrypoint form, same environment.

ARG NODE_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# ---- build: compile src/ into dist/ with the full dependency tree.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# The devDependency `node` installs its own Node.js 24 binary (preinstall script); npm scripts run on it.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# tsc -p tsconfig.build.json: src/*.ts -> dist/*.js (relative .ts imports rewritten to .js).
RUN npm run -s build && test -f dist/main.js

# ---- prod-deps: production dependencies only, in a clean folder. --omit=dev leaves out the `node`
# package (a devDependency) and every build tool; no install scripts are needed at runtime.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error \
 && test ! -e node_modules/node && test ! -e node_modules/typescript

# ---- runtime: distroless Node.js 24, no shell, no package manager, user nonroot (65532).
FROM ${RUNTIME_IMAGE}
WORKDIR /app
ENV NODE_ENV=production
COPY --chown=0:0 package.json ./
COPY --chown=0:0 --from=prod-deps /app/node_modules ./node_modules
COPY --chown=0:0 --from=build /src/dist ./dist
USER 65532:65532
EXPOSE 8080 8081
STOPSIGNAL SIGTERM
# Node runs as PID 1 and handles SIGTERM itself (graceful shutdown in src/main.ts). Nothing is
# written to disk: the root filesystem may be read-only.
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/main.js"]
