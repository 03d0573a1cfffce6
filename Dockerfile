# syntax=docker/dockerfile:1
# Suture's image: `make docker-build` (IMG=suture:dev by default), `make kind-deploy` to run it in kind.
#
# Not built where Suture is developed: those machines have no Docker engine. What the image runs is checked there
# instead: the build stage's steps (npm ci, tsc over src/) are what `npm run build` does, and
# `node dist/src/main.js run --help` must start (docs/operations.md, "Building the image").

# --- build: all dependencies, TypeScript compiled to dist/ (only src/ is copied, so only src/ is compiled)
FROM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json && node dist/src/main.js run --help > /dev/null

# --- production dependencies only
FROM node:20-bookworm AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- runtime: node, dist/src and production node_modules; no shell tools needed, non-root, read-only root works
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY package.json ./
# 65532 is the "nonroot" user of distroless images; config/manager/manager.yaml runs as the same uid.
USER 65532:65532
EXPOSE 9443
# A larger young generation halves decide()'s p99 on big snapshots (docs/performance.md, make bench-core).
ENTRYPOINT ["node", "--max-semi-space-size=64", "dist/src/main.js", "run"]
