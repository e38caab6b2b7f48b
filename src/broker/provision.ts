// Provisions Apache Kafka from Maven Central with the machine's Maven: resolves kafka_2.13 and its runtime jars once, then caches them.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LaglessError } from '../errors/index.ts';
import { kafkaCacheDir } from './paths.ts';

const execFileP = promisify(execFile);

/**
 * Kafka versions tried in order: the newest 4.x that resolved from Maven Central here first.
 * LAGLESS_KAFKA_VERSION pins one.
 */
export const KAFKA_VERSIONS = ['4.4.0', '4.3.1', '4.2.0', '4.1.1', '4.0.1'] as const;

/** log4j's slf4j binding, so that the broker's slf4j log lines reach broker.log (the Kafka distribution ships it too). */
const LOG4J_SLF4J = { groupId: 'org.apache.logging.log4j', artifactId: 'log4j-slf4j-impl', version: '2.25.5' };

export interface JavaInfo {
  /** Path of the java executable. */
  java: string;
  /** Major version, e.g. 17. */
  major: number;
}

export interface KafkaInstall {
  version: string;
  /** Directory holding every jar of the broker's classpath. */
  libDir: string;
  /** True when this call resolved the jars (first run); false when they came from the cache. */
  downloaded: boolean;
}

export interface ProvisionOptions {
  env?: NodeJS.ProcessEnv;
  /** Called with human-readable progress lines (the CLI prints them). */
  onProgress?: (message: string) => void;
}

/** Finds Java 17+ ($JAVA_HOME first, then PATH) or throws MISSING_DEPENDENCY saying what to install. */
export async function findJava(env: NodeJS.ProcessEnv = process.env): Promise<JavaInfo> {
  const java = env.JAVA_HOME ? join(env.JAVA_HOME, 'bin', 'java') : 'java';
  let output: string;
  try {
    const { stdout, stderr } = await execFileP(java, ['-version'], { env });
    output = `${stderr}\n${stdout}`;
  } catch (err) {
    throw new LaglessError(
      'MISSING_DEPENDENCY',
      `Java 17 or newer is needed to run the local Kafka broker, but "${java}" could not be run` +
        `${env.JAVA_HOME ? ' (from JAVA_HOME)' : ''}. Install a JDK or JRE 17+ (Debian: apt-get install openjdk-17-jre-headless) ` +
        `or point JAVA_HOME at one.`,
      { cause: err },
    );
  }
  const m = /version "(\d+)(?:\.(\d+))?/.exec(output);
  const first = Number(m?.[1] ?? 0);
  const major = first === 1 ? Number(m?.[2] ?? 0) : first;
  if (major < 17) {
    throw new LaglessError(
      'MISSING_DEPENDENCY',
      `Java ${major || '(unknown version)'} found at "${java}", but Kafka 4 needs Java 17 or newer. ` +
        `Install a JDK 17+ (Debian: apt-get install openjdk-17-jre-headless) or point JAVA_HOME at one.`,
    );
  }
  return { java, major };
}

async function findMaven(env: NodeJS.ProcessEnv): Promise<string> {
  const mvn = env.LAGLESS_MAVEN || 'mvn';
  try {
    await execFileP(mvn, ['-v'], { env });
    return mvn;
  } catch (err) {
    throw new LaglessError(
      'MISSING_DEPENDENCY',
      `Maven is needed once, to download Apache Kafka from Maven Central, but "${mvn}" could not be run. ` +
        `Install it (Debian: apt-get install maven) or set LAGLESS_MAVEN to its path. ` +
        `After the first download the jars are cached and Maven is no longer needed.`,
      { cause: err },
    );
  }
}

interface Manifest {
  version: string;
  jars: string[];
  resolvedAt: string;
}

async function readCached(version: string, env: NodeJS.ProcessEnv): Promise<KafkaInstall | undefined> {
  const dir = kafkaCacheDir(version, env);
  try {
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
    const libDir = join(dir, 'libs');
    const present = new Set(await readdir(libDir));
    if (manifest.version === version && manifest.jars.length > 0 && manifest.jars.every((j) => present.has(j))) {
      return { version, libDir, downloaded: false };
    }
  } catch {
    // No complete cache: resolve below.
  }
  return undefined;
}

function pomFor(version: string): string {
  const dep = (g: string, a: string, v: string) =>
    `<dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.lagless</groupId>
  <artifactId>local-kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    ${dep('org.apache.kafka', 'kafka_2.13', version)}
    ${dep(LOG4J_SLF4J.groupId, LOG4J_SLF4J.artifactId, LOG4J_SLF4J.version)}
  </dependencies>
</project>
`;
}

async function resolveWithMaven(mvn: string, version: string, env: NodeJS.ProcessEnv): Promise<KafkaInstall> {
  const dir = kafkaCacheDir(version, env);
  // Resolve into a scratch directory and rename at the end: a crash never leaves a half cache that looks complete.
  const scratch = `${dir}.tmp-${process.pid}`;
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  await writeFile(join(scratch, 'pom.xml'), pomFor(version));
  const args = ['-B', '-q', '-f', join(scratch, 'pom.xml'), 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${join(scratch, 'libs')}`];
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
    const child = spawn(mvn, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (err) => resolve({ code: -1, output: String(err) }));
    child.on('close', (c) => resolve({ code: c ?? -1, output }));
  });
  if (code !== 0) {
    await rm(scratch, { recursive: true, force: true });
    throw new LaglessError('MISSING_DEPENDENCY', `Maven could not resolve org.apache.kafka:kafka_2.13:${version}: ${output.trim().split('\n').slice(-5).join(' | ')}`);
  }
  const jars = (await readdir(join(scratch, 'libs'))).filter((f) => f.endsWith('.jar')).sort();
  if (!jars.some((j) => j.startsWith(`kafka_2.13-${version}`))) {
    await rm(scratch, { recursive: true, force: true });
    throw new LaglessError('MISSING_DEPENDENCY', `Maven resolved no kafka_2.13-${version} jar`);
  }
  const manifest: Manifest = { version, jars, resolvedAt: new Date().toISOString() };
  await writeFile(join(scratch, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  await rm(dir, { recursive: true, force: true });
  await rename(scratch, dir);
  return { version, libDir: join(dir, 'libs'), downloaded: true };
}

/**
 * Returns the jars of a Kafka 4.x broker, resolving them with Maven the first time.
 * With LAGLESS_KAFKA_VERSION set, only that version is tried; otherwise the newest of KAFKA_VERSIONS that resolves.
 */
export async function provisionKafka(options: ProvisionOptions = {}): Promise<KafkaInstall> {
  const env = options.env ?? process.env;
  const versions = env.LAGLESS_KAFKA_VERSION ? [env.LAGLESS_KAFKA_VERSION] : [...KAFKA_VERSIONS];
  for (const v of versions) {
    const cached = await readCached(v, env);
    if (cached) return cached;
  }
  const mvn = await findMaven(env);
  const failures: string[] = [];
  for (const v of versions) {
    options.onProgress?.(`Downloading Apache Kafka ${v} (org.apache.kafka:kafka_2.13) from Maven Central with ${mvn}; first run only, about 45 MB...`);
    try {
      const install = await resolveWithMaven(mvn, v, env);
      options.onProgress?.(`Cached Kafka ${v} in ${install.libDir}`);
      return install;
    } catch (err) {
      failures.push(`${v}: ${(err as Error).message}`);
    }
  }
  throw new LaglessError('MISSING_DEPENDENCY', `no Kafka 4.x version could be resolved from Maven Central:\n  ${failures.join('\n  ')}`);
}

/** True when a Kafka version's jars are already cached (no Maven needed). */
export function isCached(version: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return existsSync(join(kafkaCacheDir(version, env), 'manifest.json'));
}
