// Local stand-ins, built with podman, for the base images that the Dockerfile and docker-compose.yml name (same names
// and tags), made from Debian's packages (mmdebstrap), the npm registry and Maven Central; cached between runs.
// Also the npm cache that lets the project's own image build with no network (inside `npm test`'s namespace).
// Usage: npm run images [-- --rebuild]   (npm test runs it before it enters its network namespace)
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { arch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { laglessHome } from '../src/broker/index.ts';

const root = new URL('..', import.meta.url).pathname;

/**
 * What podman needs on this kind of machine: Debian's runc (crun fails: cgroups in hybrid mode), cgroupfs (no systemd),
 * and explicit ulimits (the defaults exceed the hard limits here and are refused). Given on every command line rather
 * than in a containers.conf, so that a fresh machine needs no configuration.
 */
export const PODMAN_GLOBAL = ['--runtime', 'runc', '--cgroup-manager', 'cgroupfs'];
export const PODMAN_LIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

/** Label on every stand-in: the hash of its recipe, so that a changed recipe rebuilds it. */
const RECIPE_LABEL = 'dev.lagless.stand-in';
const SUITE = 'bookworm';
const MIRRORS = [
  `deb http://deb.debian.org/debian ${SUITE} main`,
  `deb http://deb.debian.org/debian ${SUITE}-updates main`,
  `deb http://deb.debian.org/debian-security ${SUITE}-security main`,
];
/** Like the official -slim images: no manuals, documentation or translations. */
const SLIM = [
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/info/*',
  'path-exclude=/usr/share/locale/*',
];

export function containersCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(laglessHome(env), 'cache', 'containers');
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end and collects its output (never throws: the caller reads `code`). */
export function exec(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => resolve({ code: -1, stdout, stderr: `${stderr}${err.message}` }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr }));
    // A program that exits without reading its input closes the pipe: writing to it is EPIPE, which without a
    // listener is an uncaught exception (seen once in a full run). The exit code and the output say what happened.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * The program and arguments that run `podman args...`. Inside `npm test`'s namespace (`ip netns exec` gives the
 * process a /sys without cgroup mounts, which runc needs) podman runs in the mount namespace of npm test's outer
 * process, and still in the test's loopback-only network namespace.
 */
export function podmanArgv(args: string[], env: NodeJS.ProcessEnv = process.env): [string, string[]] {
  const mnt = env.LAGLESS_TEST_HOST_MNTNS;
  if (mnt) return ['nsenter', [`--mount=${mnt}`, 'podman', ...PODMAN_GLOBAL, ...args]];
  return ['podman', [...PODMAN_GLOBAL, ...args]];
}

export function podman(args: string[], opts: { cwd?: string; input?: string } = {}): Promise<CommandResult> {
  const [cmd, argv] = podmanArgv(args);
  return exec(cmd, argv, opts);
}

async function must(what: string, r: Promise<CommandResult>): Promise<string> {
  const res = await r;
  if (res.code !== 0) throw new Error(`${what} failed (exit ${res.code}): ${`${res.stderr}\n${res.stdout}`.trim().split('\n').slice(-8).join('\n')}`);
  return res.stdout;
}

/** A base image the repository's container files name, and which stand-in recipe makes it. */
export interface BaseImage {
  /** As written in the file, e.g. node:24.21.0-bookworm-slim. */
  ref: string;
  /** Fully qualified, as podman resolves it: docker.io/library/node:24.21.0-bookworm-slim. */
  name: string;
  kind: 'node' | 'kafka';
  version: string;
  /** Where it is named. */
  source: string;
}

function qualify(ref: string): string {
  const [path = ref] = ref.split(':');
  if (path.includes('.') && path.includes('/') && path.split('/')[0]!.includes('.')) return ref;
  return path.includes('/') ? `docker.io/${ref}` : `docker.io/library/${ref}`;
}

function classify(ref: string, source: string): BaseImage {
  const node = /^node:(\d+\.\d+\.\d+)-bookworm-slim$/.exec(ref);
  if (node) return { ref, name: qualify(ref), kind: 'node', version: node[1]!, source };
  const kafka = /^apache\/kafka:(\d+\.\d+\.\d+)$/.exec(ref);
  if (kafka) return { ref, name: qualify(ref), kind: 'kafka', version: kafka[1]!, source };
  throw new Error(`${source} names the image ${ref}, for which scripts/images.ts has no local stand-in recipe: add one`);
}

/** The external images of the Dockerfile (every FROM that is not an earlier stage, ARG defaults applied). */
export async function dockerfileBaseImages(dir = root): Promise<BaseImage[]> {
  const text = await readFile(join(dir, 'Dockerfile'), 'utf8');
  const args = new Map<string, string>();
  const stages = new Set<string>();
  const out: BaseImage[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const arg = /^ARG\s+(\w+)=(\S+)/i.exec(line);
    if (arg) args.set(arg[1]!, arg[2]!);
    const from = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (!from) continue;
    const ref = from[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => args.get(a ?? b ?? '') ?? '');
    if (!stages.has(ref) && !out.some((b) => b.ref === ref)) out.push(classify(ref, 'Dockerfile'));
    if (from[2]) stages.add(from[2]);
  }
  return out;
}

/** The compose services that run an image of their own (not built from the repository). */
export async function composeBaseImages(dir = root): Promise<BaseImage[]> {
  const doc = parseYaml(await readFile(join(dir, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, { image?: string; build?: unknown }> };
  return Object.values(doc.services)
    .filter((s) => s.image && !s.build)
    .map((s) => classify(s.image!, 'docker-compose.yml'));
}

export async function allBaseImages(dir = root): Promise<BaseImage[]> {
  const all = [...(await dockerfileBaseImages(dir)), ...(await composeBaseImages(dir))];
  return all.filter((b, i) => all.findIndex((o) => o.name === b.name) === i);
}

// ---- recipes -------------------------------------------------------------------------------------------------------

interface Recipe {
  /** Debian packages beyond minbase. */
  include: string[];
  /** Files to put into the root filesystem (path -> content, mode). */
  files: Record<string, { content: string; mode: number }>;
  /** Shell run by mmdebstrap's customize hook: $1 is the root filesystem, $2 the staging folder. */
  hook: string;
  /** podman import --change instructions. */
  changes: string[];
  /** Downloads the hook copies in (into the staging folder); part of the recipe's identity by their names. */
  inputs: string[];
  prepare: (staging: string, log: (m: string) => void) => Promise<void>;
}

async function npmPack(spec: string, dest: string): Promise<string> {
  await mkdir(dest, { recursive: true });
  const out = await must(`npm pack ${spec}`, exec('npm', ['pack', spec, '--pack-destination', dest, '--json', '--silent'], { cwd: dest }));
  const [info] = JSON.parse(out) as { filename: string }[];
  return join(dest, info!.filename);
}

/** The npm that a Node release bundles, read from that release's CHANGELOG (in the node-<os>-<arch> package). */
async function bundledNpmVersion(nodeTgz: string, version: string): Promise<string> {
  const log = await must('tar (CHANGELOG.md)', exec('tar', ['-xzOf', nodeTgz, 'package/CHANGELOG.md']));
  const from = log.indexOf(`<a id="${version}"></a>`);
  const m = from >= 0 ? /upgrade npm to (\d+\.\d+\.\d+)/.exec(log.slice(from)) : null;
  if (!m) throw new Error(`could not tell which npm Node ${version} bundles from its CHANGELOG`);
  return m[1]!;
}

function nodeRecipe(version: string): Recipe {
  const pkg = `node-linux-${arch() === 'arm64' ? 'arm64' : 'x64'}@${version}`;
  return {
    include: [],
    files: {},
    inputs: [pkg, 'npm (the version the release bundles)'],
    async prepare(staging, log) {
      const downloads = join(containersCacheDir(), 'downloads');
      const nodeTgz = existsSync(join(downloads, `${pkg.replace('@', '-')}.tgz`)) ? join(downloads, `${pkg.replace('@', '-')}.tgz`) : (log(`npm pack ${pkg}`), await npmPack(pkg, downloads));
      const npmVersion = await bundledNpmVersion(nodeTgz, version);
      const npmFile = join(downloads, `npm-${npmVersion}.tgz`);
      const npmTgz = existsSync(npmFile) ? npmFile : (log(`npm pack npm@${npmVersion}`), await npmPack(`npm@${npmVersion}`, downloads));
      await cp(nodeTgz, join(staging, 'node.tgz'));
      await cp(npmTgz, join(staging, 'npm.tgz'));
    },
    // The official image's layout: node in /usr/local/bin, npm in /usr/local/lib/node_modules, user `node` = 1000:1000.
    hook: `set -eu
root="$1"; staging="$2"
tar -xzf "$staging/node.tgz" -C "$root/usr/local" --strip-components=1 package/bin/node package/include
mkdir -p "$root/usr/local/lib/node_modules/npm"
tar -xzf "$staging/npm.tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
"$root/usr/local/bin/node" --version >/dev/null
`,
    changes: [`ENV NODE_VERSION=${version}`, 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'CMD ["node"]'],
  };
}

/** log4j's slf4j binding: the same as src/broker/provision.ts uses for the local broker. */
const LOG4J_SLF4J = 'org.apache.logging.log4j:log4j-slf4j-impl:2.25.5';

/**
 * apache/kafka's entrypoint, as documented for that image: every KAFKA_* variable (but the JVM ones) becomes a line of
 * server.properties (strip KAFKA_, `___` -> `-`, `__` -> `_`, `_` -> `.`, lower case), CLUSTER_ID formats the storage.
 */
const KAFKA_RUN = `#!/bin/bash
# Stand-in for apache/kafka's /etc/kafka/docker/run (scripts/images.ts): KAFKA_* variables -> server.properties.
set -euo pipefail
props=/opt/kafka/config/server.properties
: > "$props"
while IFS= read -r -d '' pair; do
  name=\${pair%%=*}; value=\${pair#*=}
  case "$name" in
    KAFKA_HEAP_OPTS|KAFKA_JVM_PERFORMANCE_OPTS|KAFKA_LOG4J_OPTS|KAFKA_OPTS|KAFKA_GC_LOG_OPTS|KAFKA_JMX_OPTS|KAFKA_DEBUG) continue ;;
    KAFKA_*) ;;
    *) continue ;;
  esac
  key=\${name#KAFKA_}; key=\${key//___/-}; key=\${key//__/@}; key=\${key//_/.}; key=\${key//@/_}
  printf '%s=%s\\n' "\${key,,}" "$value" >> "$props"
done < <(env -0)
grep -q '^log.dirs=' "$props" || echo 'log.dirs=/tmp/kraft-combined-logs' >> "$props"
/opt/kafka/bin/kafka-storage.sh format --ignore-formatted --cluster-id "\${CLUSTER_ID:?CLUSTER_ID is required}" --config "$props"
exec /opt/kafka/bin/kafka-server-start.sh "$props"
`;

/**
 * The distribution's kafka-run-class.sh, reduced to what the stand-in needs. The broker gets the distribution's G1
 * settings; the command-line tools start with the client JIT and the serial collector, which makes the Compose
 * health check (a JVM per check, 10 s timeout) about twice as fast on a busy 2-core machine.
 */
const KAFKA_RUN_CLASS = `#!/bin/bash
# The distribution's kafka-run-class.sh, reduced to what the stand-in needs (scripts/images.ts).
if [ "$1" = kafka.Kafka ]; then perf='-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35'
else perf='-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData'; fi
exec java \${KAFKA_HEAP_OPTS:-} \${KAFKA_JVM_PERFORMANCE_OPTS:-$perf} -Djava.awt.headless=true \${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=/opt/kafka/config/log4j2.yaml} \${KAFKA_OPTS:-} -cp '/opt/kafka/libs/*' "$@"
`;

const tool = (cls: string, heap = '') =>
  `#!/bin/bash\n${heap ? `export KAFKA_HEAP_OPTS=\${KAFKA_HEAP_OPTS:-${heap}}\n` : ''}exec /opt/kafka/bin/kafka-run-class.sh ${cls} "$@"\n`;

const KAFKA_LOG4J = `Configuration:
  Appenders:
    Console:
      name: STDOUT
      target: SYSTEM_OUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: org.apache.kafka.clients
        level: WARN
`;

function kafkaRecipe(version: string): Recipe {
  const x = 0o755;
  return {
    include: ['openjdk-17-jre-headless'],
    files: {
      'etc/kafka/docker/run': { content: KAFKA_RUN, mode: x },
      'opt/kafka/bin/kafka-run-class.sh': { content: KAFKA_RUN_CLASS, mode: x },
      'opt/kafka/bin/kafka-server-start.sh': { content: tool('kafka.Kafka', '-Xmx1G -Xms1G'), mode: x },
      'opt/kafka/bin/kafka-storage.sh': { content: tool('kafka.tools.StorageTool'), mode: x },
      'opt/kafka/bin/kafka-broker-api-versions.sh': { content: tool('org.apache.kafka.tools.BrokerApiVersionsCommand'), mode: x },
      'opt/kafka/bin/kafka-topics.sh': { content: tool('org.apache.kafka.tools.TopicCommand'), mode: x },
      'opt/kafka/config/log4j2.yaml': { content: KAFKA_LOG4J, mode: 0o644 },
    },
    inputs: [`org.apache.kafka:kafka_2.13:${version}`, `org.apache.kafka:kafka-tools:${version}`, LOG4J_SLF4J],
    async prepare(staging, log) {
      const libs = await kafkaJars(version, log);
      await cp(libs, join(staging, 'opt/kafka/libs'), { recursive: true });
    },
    // The official image runs as appuser (1000:1000) and writes server.properties into /opt/kafka/config.
    hook: `set -eu
root="$1"; staging="$2"
cp -a "$staging/." "$root/"
chroot "$root" groupadd --gid 1000 appuser
chroot "$root" useradd --uid 1000 --gid appuser --shell /bin/bash --create-home appuser
chroot "$root" chown -R appuser:appuser /opt/kafka/config
chroot "$root" java -version
`,
    changes: ['USER appuser', 'WORKDIR /', 'EXPOSE 9092', 'CMD ["/etc/kafka/docker/run"]'],
  };
}

/** Kafka's broker and tools jars from Maven Central (the Kafka distribution's libs/, less Connect), cached. */
async function kafkaJars(version: string, log: (m: string) => void): Promise<string> {
  const dir = join(containersCacheDir(), `kafka-${version}`);
  const libs = join(dir, 'libs');
  if (existsSync(join(dir, 'complete'))) return libs;
  log(`resolving Kafka ${version}'s jars (broker and tools) from Maven Central`);
  const scratch = `${dir}.tmp-${process.pid}`;
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  const dep = (gav: string, exclusions = '') => {
    const [g, a, v] = gav.split(':');
    return `<dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version>${exclusions}</dependency>`;
  };
  // kafka-tools pulls in Kafka Connect's runtime (Jetty, Jersey) for commands that the stand-in does not offer.
  const noConnect = '<exclusions><exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion></exclusions>';
  await writeFile(
    join(scratch, 'pom.xml'),
    `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.lagless</groupId>
  <artifactId>kafka-image</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    ${dep(`org.apache.kafka:kafka_2.13:${version}`)}
    ${dep(`org.apache.kafka:kafka-tools:${version}`, noConnect)}
    ${dep(LOG4J_SLF4J)}
  </dependencies>
</project>
`,
  );
  const mvn = process.env.LAGLESS_MAVEN || 'mvn';
  await must(
    'mvn dependency:copy-dependencies',
    exec(mvn, ['-B', '-q', '-f', join(scratch, 'pom.xml'), 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${join(scratch, 'libs')}`]),
  );
  await writeFile(join(scratch, 'complete'), `${new Date().toISOString()}\n`);
  await rm(dir, { recursive: true, force: true });
  await rename(scratch, dir);
  return libs;
}

function recipeFor(b: BaseImage): Recipe {
  return b.kind === 'node' ? nodeRecipe(b.version) : kafkaRecipe(b.version);
}

function recipeHash(b: BaseImage, r: Recipe): string {
  const h = createHash('sha256');
  h.update(JSON.stringify([b.name, SUITE, MIRRORS, SLIM, r.include, r.files, r.hook, r.changes, r.inputs]));
  return h.digest('hex').slice(0, 16);
}

/** The recipe label of a local image, or undefined when there is no such image. */
async function imageLabel(name: string): Promise<string | undefined> {
  const r = await podman(['image', 'inspect', '--format', `{{ index .Labels "${RECIPE_LABEL}" }}`, name]);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

export async function imageSize(name: string): Promise<number> {
  return Number((await must(`podman image inspect ${name}`, podman(['image', 'inspect', '--format', '{{.Size}}', name]))).trim());
}

export interface StandInResult {
  image: BaseImage;
  built: boolean;
  ms: number;
  bytes: number;
}

/** Why the stand-ins are not ready (missing or from an older recipe), or undefined when they all are. Offline. */
export async function standInsMissing(dir = root): Promise<string | undefined> {
  const missing: string[] = [];
  for (const b of await allBaseImages(dir)) {
    const label = await imageLabel(b.name);
    if (label !== recipeHash(b, recipeFor(b))) missing.push(label === undefined ? `${b.name} is not built` : `${b.name} is from an older recipe`);
  }
  return missing.length ? `${missing.join('; ')} (node scripts/images.ts builds them; npm test does so before it enters its namespace)` : undefined;
}

async function buildStandIn(b: BaseImage, log: (m: string) => void): Promise<void> {
  const r = recipeFor(b);
  const work = await mkdtemp(join(tmpdir(), `lagless-image-${b.kind}-`));
  try {
    const staging = join(work, 'staging');
    await mkdir(staging, { recursive: true });
    for (const [path, f] of Object.entries(r.files)) {
      await mkdir(join(staging, path, '..'), { recursive: true });
      await writeFile(join(staging, path), f.content);
      await chmod(join(staging, path), f.mode);
    }
    await r.prepare(staging, log);
    const hook = join(work, 'hook.sh');
    await writeFile(hook, r.hook);
    const tar = join(work, 'rootfs.tar');
    log(`mmdebstrap ${SUITE} (minbase${r.include.length ? ` + ${r.include.join(' ')}` : ''}) for ${b.name}`);
    await must(
      'mmdebstrap',
      exec('mmdebstrap', [
        '--variant=minbase',
        '--mode=root',
        '--format=tar',
        ...SLIM.map((o) => `--dpkgopt=${o}`),
        // A root filesystem that becomes an image at once needs no fsync after every file (much faster on a busy disk).
        '--dpkgopt=force-unsafe-io',
        ...(r.include.length ? [`--include=${r.include.join(',')}`] : []),
        // Java's postinst links its manual pages into /usr/share/man/man1, which the slim filter leaves out.
        '--essential-hook=mkdir -p "$1/usr/share/man/man1"',
        `--customize-hook=sh ${hook} "$1" ${staging}`,
        SUITE,
        tar,
        ...MIRRORS,
      ]),
    );
    const hash = recipeHash(b, r);
    const changes = [...r.changes, `LABEL ${RECIPE_LABEL}=${hash}`].flatMap((c) => ['--change', c]);
    const previous = (await podman(['image', 'inspect', '--format', '{{.Id}}', b.name])).stdout.trim();
    await must(`podman import ${b.name}`, podman(['import', ...changes, tar, b.name]));
    // The image this name had before (from an older recipe) is of no use now; kept if a container still uses it.
    if (previous) await podman(['rmi', previous]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Builds every stand-in that is missing or stale (all of them with `rebuild`), concurrently. */
export async function ensureStandIns(opts: { dir?: string; rebuild?: boolean; log?: (m: string) => void } = {}): Promise<StandInResult[]> {
  const log = opts.log ?? (() => {});
  const images = await allBaseImages(opts.dir ?? root);
  return Promise.all(
    images.map(async (b) => {
      const t0 = performance.now();
      const current = (await imageLabel(b.name)) === recipeHash(b, recipeFor(b));
      if (!current || opts.rebuild) {
        log(`building the local stand-in for ${b.ref} (${b.source})`);
        await buildStandIn(b, log);
      }
      return { image: b, built: !current || !!opts.rebuild, ms: performance.now() - t0, bytes: await imageSize(b.name) };
    }),
  );
}

// ---- the npm cache for the project's image ---------------------------------------------------------------------------

/** The npm cache, filled from the registry, that `npm ci` inside the image build reads with no network. */
export function npmCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(containersCacheDir(env), 'npm');
}

async function lockHash(dir: string): Promise<string> {
  return createHash('sha256').update(await readFile(join(dir, 'package-lock.json'))).digest('hex').slice(0, 16);
}

const stampFile = (hash: string) => join(npmCacheDir(), 'locks', hash);

/** Why the npm cache does not hold the current lockfile's packages, or undefined when it does. */
export async function npmCacheMissing(dir = root): Promise<string | undefined> {
  return existsSync(stampFile(await lockHash(dir))) ? undefined : `the npm cache ${npmCacheDir()} does not hold this package-lock.json's packages yet (node scripts/images.ts fills it)`;
}

/**
 * Fills the npm cache with every package of package-lock.json, the way `npm ci` fetches them (install scripts too:
 * the `node` package downloads its platform's binary), in a scratch folder with only the package files.
 */
export async function ensureNpmCache(opts: { dir?: string; log?: (m: string) => void } = {}): Promise<{ filled: boolean; ms: number }> {
  const dir = opts.dir ?? root;
  const t0 = performance.now();
  const hash = await lockHash(dir);
  if (existsSync(stampFile(hash))) return { filled: false, ms: performance.now() - t0 };
  opts.log?.(`filling the npm cache ${npmCacheDir()} from package-lock.json`);
  const scratch = await mkdtemp(join(tmpdir(), 'lagless-npm-cache-'));
  try {
    for (const f of ['package.json', 'package-lock.json']) await cp(join(dir, f), join(scratch, f));
    // No lifecycle scripts of the project itself (its sources are not here); dependencies' scripts run.
    const pkg = JSON.parse(await readFile(join(scratch, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    delete pkg.scripts;
    await writeFile(join(scratch, 'package.json'), JSON.stringify(pkg, null, 2));
    await must('npm ci (npm cache)', exec('npm', ['ci', '--cache', npmCacheDir(), '--no-audit', '--no-fund', '--prefer-online'], { cwd: scratch }));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  await mkdir(join(npmCacheDir(), 'locks'), { recursive: true });
  await writeFile(stampFile(hash), `${new Date().toISOString()}\n`);
  return { filled: true, ms: performance.now() - t0 };
}

/** Whether podman can run a container here at all (with the flags above); the reason when it cannot. */
export async function podmanUnusable(): Promise<string | undefined> {
  const v = await podman(['version', '--format', '{{.Client.Version}}']);
  if (v.code !== 0) return `podman does not run: ${(v.stderr || v.stdout).trim().split('\n').slice(-2).join(' | ')}`;
  const info = await podman(['info', '--format', '{{.Host.OCIRuntime.Name}}']);
  if (info.code !== 0) return `podman info failed: ${info.stderr.trim().split('\n').slice(-2).join(' | ')}`;
  return undefined;
}

/** Everything the container tests need that takes the network: stand-in images and the npm cache. */
export async function prepareContainerImages(opts: { rebuild?: boolean; log?: (m: string) => void } = {}): Promise<void> {
  const log = opts.log ?? (() => {});
  if (process.getuid?.() !== 0) throw new Error('podman with runc and cgroupfs, and mmdebstrap --mode=root, need root here');
  const unusable = await podmanUnusable();
  if (unusable) throw new Error(unusable);
  const [images, npm] = await Promise.all([ensureStandIns(opts), ensureNpmCache(opts)]);
  for (const r of images) log(`${r.image.name}: ${r.built ? 'built' : 'cached'} in ${(r.ms / 1000).toFixed(1)} s, ${(r.bytes / 1e6).toFixed(0)} MB`);
  log(`npm cache for the image build: ${npm.filled ? 'filled' : 'cached'} in ${(npm.ms / 1000).toFixed(1)} s`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const t0 = performance.now();
  try {
    await prepareContainerImages({ rebuild: process.argv.includes('--rebuild'), log: (m) => console.log(`# ${m}`) });
    console.log(`# done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    process.exit(1);
  }
}

