# The lagless CLI in a container: `docker run IMAGE run palette ...`, `docker run IMAGE produce ...`, and so on.
# Not built in CI (no Docker engine there): test/deploy/deploy.test.ts checks it against the repository.
#
# The Node version is the one package.json pins for development and tests, so the image runs what CI ran.
ARG NODE_VERSION=24.21.0
FROM node:${NODE_VERSION}-bookworm-slim

WORKDIR /app

# Dependencies first, in their own layer: rebuilt only when the lockfile changes. Production dependencies only;
# sharp's prebuilt libvips for linux-x64/arm64 (glibc) comes as optional packages listed in the lockfile.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# The sources run as they are: Node 24 strips TypeScript types itself (it does so for files outside node_modules,
# which is why the code lives in /app/src). .dockerignore lets through only what the CLI needs.
COPY . .

# The `node` user of the official image, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000

# --http-port of `lagless run` (health, readiness, Prometheus metrics).
EXPOSE 9464

# Node is PID 1 and handles SIGTERM itself (graceful drain, commit, leave the group), so no init wrapper is needed.
# No HEALTHCHECK here: the same image also runs one-shot commands (topics create, produce) that serve no HTTP;
# docker-compose.yml and deploy/kubernetes/deployment.yaml define checks for the transformer.
# The same memory settings as bin/lagless.js: a 16 MB young generation and two malloc arenas.
ENV MALLOC_ARENA_MAX=2
ENTRYPOINT ["node", "--max-semi-space-size=16", "src/cli/main.ts"]
CMD ["--help"]
