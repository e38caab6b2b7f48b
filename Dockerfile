# The lagless CLI in a container: `docker run IMAGE run palette ...`, `docker run IMAGE produce ...`, and so on.
# test/deploy/deploy.test.ts checks it against the repository and test/deploy/container.test.ts builds and runs it
# (podman, offline). The image is built as the package is: TypeScript compiled to dist/ in a build stage, then
# production dependencies and the build only.
#
# The Node version is the one package.json pins for development and tests, so the image runs what CI ran.
ARG NODE_VERSION=24.21.0

# ---- build: src/ -> dist/ (JavaScript and declarations), as `npm pack` builds the published package.
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Every dependency, TypeScript included. --ignore-scripts: "prepare" would build before the sources are here, and
# the pinned `node` devDependency need not download a second Node.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.ts scripts/build.ts
COPY src/ src/
RUN node scripts/build.ts

# ---- the image: production dependencies from the lockfile (their own layer, rebuilt only when it changes), the build.
FROM node:${NODE_VERSION}-bookworm-slim
WORKDIR /app
# sharp's prebuilt libvips for linux-x64/arm64 (glibc) comes as optional packages listed in the lockfile; no
# dependency needs an install script.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/ dist/
COPY bin/ bin/
COPY assets/images/ assets/images/
# The dashboard's page (served at / of --http-port).
COPY assets/dashboard/ assets/dashboard/

# The `node` user of the official image, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000

# --http-port of `lagless run` (health, readiness, Prometheus metrics).
EXPOSE 9464

# Node is PID 1 and handles SIGTERM itself (graceful drain, commit, leave the group), so no init wrapper is needed.
# No HEALTHCHECK here: the same image also runs one-shot commands (topics create, produce) that serve no HTTP;
# docker-compose.yml and deploy/kubernetes/deployment.yaml define checks for the transformer.
# The same memory settings as bin/lagless.js: a 16 MB young generation and two malloc arenas.
ENV MALLOC_ARENA_MAX=2
ENTRYPOINT ["node", "--max-semi-space-size=16", "dist/cli/main.js"]
CMD ["--help"]
