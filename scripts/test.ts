// `npm test`: typecheck, start one Kafka broker for the whole run (unless KAFKA_BROKERS answers), run node:test, stop the broker.
// `npm run test:unit` (--unit): only the test files that need no broker (scripts/test-tiers.ts), no typecheck, no broker.
// As root, the whole run happens inside a fresh network namespace that has only loopback: no test can reach another host.
// Usage: npm test [-- <test files or dirs>...]   (default: every test/**/*.test.ts)
import { spawn, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findJava, provisionKafka, startBroker, stopBroker } from '../src/broker/index.ts';
import { prepareContainerImages } from './images.ts';
import { prepareKubeTools } from './kube-tools.ts';
import { createLoopbackNamespace, reexecInNamespace } from './netns.ts';
import { ensurePrerequisite, PREREQUISITES } from './prereqs.ts';
import { availableParallelism } from 'node:os';
import { freePort } from '../src/common/index.ts';
import { unitTestFiles } from './test-tiers.ts';
import { checkBrokers } from '../src/kafka/index.ts';

const root = new URL('..', import.meta.url).pathname;
const unit = process.argv.includes('--unit');
const args = process.argv.slice(2).filter((a) => a !== '--unit');
/** Whether this run includes the test file `file` (no arguments: every file). */
const selects = (file: string) => args.length === 0 || args.some((a) => file.startsWith(a.replace(/^\.\//, '').replace(/\/$/, '')));

// Re-run this script inside a new network namespace (loopback only) when we can; LAGLESS_TEST_NETNS names it for tests.
if (!process.env.LAGLESS_TEST_NETNS && process.env.LAGLESS_TEST_NO_NETNS !== '1') {
  // The namespace has no route to Maven Central: download Kafka first (a no-op once cached).
  if (!unit) try {
    await findJava();
    await provisionKafka({ onProgress: (m) => console.log(`# ${m}`) });
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    process.exit(1);
  }
  // Nor to Debian's mirrors: programs that some tests need are installed now (tests that lack one skip, saying why).
  if (!unit) for (const p of PREREQUISITES) {
    const r = ensurePrerequisite(p, (m) => console.log(`# ${m}`));
    if (!r.ok) console.log(`# WARNING: ${r.reason}; ${p.neededBy} will be skipped`);
  }
  // The container tests build and run images with no network: their base images and downloads are made now.
  if (!unit && selects('test/deploy/container.test.ts')) {
    const t = performance.now();
    await prepareContainerImages({ log: (m) => console.log(`# ${m}`) }).then(
      () => console.log(`# container images ready in ${((performance.now() - t) / 1000).toFixed(1)} s`),
      (err: Error) => console.log(`# WARNING: the container images could not be prepared (${err.message}); test/deploy/container.test.ts will be skipped`),
    );
  }
  // Offline validation of deploy/kubernetes: kubeconform and the Kubernetes and KEDA schemas, fetched once.
  if (!unit && selects('test/deploy/kubernetes.test.ts')) {
    await prepareKubeTools({ log: (m) => console.log(`# ${m}`) }).then(
      (r) => r.fetched && console.log(`# kubeconform and the Kubernetes and KEDA schemas fetched in ${(r.ms / 1000).toFixed(1)} s`),
      (err: Error) => console.log(`# WARNING: ${err.message}; test/deploy/kubernetes.test.ts will be skipped`),
    );
  }
  const canNetns = process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0;
  if (canNetns) {
    const ns = `lagless-test-${process.pid}`;
    if (createLoopbackNamespace(ns)) {
      console.log(`# running the tests inside network namespace ${ns} (loopback only)`);
      // LAGLESS_TEST_HOST_MNTNS: this process's mount namespace, whose /sys has the cgroup mounts that podman needs.
      await reexecInNamespace(ns, new URL(import.meta.url).pathname, unit ? ['--unit', ...args] : args, { ...process.env, LAGLESS_TEST_NETNS: ns, LAGLESS_TEST_HOST_MNTNS: `/proc/${process.pid}/ns/mnt` });
    }
    console.log('# could not create a network namespace: running the tests in the current one');
  } else {
    console.log('# not root or no iproute2: running the tests without a network namespace of their own');
  }
}

function run(cmd: string, argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { stdio: 'inherit', cwd: root, env });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}


const t0 = performance.now();
if (unit) {
  // No broker, no typecheck (npm run typecheck): the files that need neither, as many at once as there are cores. A
  // file that needs the broker after all fails at once (KAFKA_BROKERS is unset) instead of hanging.
  const chosen = args.length ? unitTestFiles().filter((f) => selects(f)) : unitTestFiles();
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: [process.env.NODE_OPTIONS, '--conditions=lagless-source'].filter(Boolean).join(' ') };
  delete env.KAFKA_BROKERS;
  console.log(`# unit tier: ${chosen.length} test files, no broker`);
  const code = await run(process.execPath, ['--test', '--test-reporter=spec', `--test-concurrency=${availableParallelism()}`, '--test-timeout=120000', ...chosen], env);
  console.log(`# npm run test:unit finished in ${((performance.now() - t0) / 1000).toFixed(1)} s with exit code ${code}`);
  process.exit(code);
}
console.log('# typecheck (tsc -p .)');
const tsc = await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', '.']);
if (tsc !== 0) {
  console.error('typecheck failed');
  process.exit(tsc);
}

// One broker for the whole run; tests use unique topic and group names.
let brokers = process.env.KAFKA_BROKERS;
let owned: { port: number; dataDir: string } | undefined;
if (brokers) {
  try {
    await checkBrokers({ brokers: brokers.split(','), timeoutMs: 3000 });
    console.log(`# using the Kafka broker at ${brokers} (KAFKA_BROKERS)`);
  } catch {
    console.log(`# KAFKA_BROKERS=${brokers} does not answer: starting a broker for this run`);
    brokers = undefined;
  }
}
if (!brokers) {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'lagless-test-kafka-'));
  console.log(`# starting a Kafka broker for this run on 127.0.0.1:${port}`);
  const res = await startBroker({ port, dataDir, heap: '768m', onProgress: (m) => console.log(`# ${m}`) });
  console.log(`# broker ready in ${Math.round(res.provisionMs + res.startMs)} ms (${res.downloaded ? 'downloaded' : 'cached'} Kafka ${res.state.version})`);
  owned = { port, dataDir };
  brokers = res.bootstrap;
}

let stopping = false;
const cleanup = async () => {
  if (stopping || !owned) return;
  stopping = true;
  await stopBroker({ port: owned.port, dataDir: owned.dataDir, timeoutMs: 20_000 }).catch((e) => console.error(`# could not stop the test broker: ${e}`));
  await rm(owned.dataDir, { recursive: true, force: true });
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
process.on('SIGTERM', () => void cleanup().then(() => process.exit(143)));

// node --test takes files and globs, not directories.
const files = (args.length ? args : ['test']).map((a) => {
  try {
    return statSync(join(root, a)).isDirectory() ? `${a.replace(/\/$/, '')}/**/*.test.ts` : a;
  } catch {
    return a;
  }
});
const code = await run(
  process.execPath,
  ['--test', '--test-reporter=spec', `--test-concurrency=${process.env.LAGLESS_TEST_CONCURRENCY ?? 2}`, '--test-timeout=600000', ...files],
  // `import ... from 'lagless'` (the examples, test jobs) resolves to src/index.ts, not to a build: package.json's
  // "lagless-source" export condition. The pack-and-install test runs the built package without it.
  { ...process.env, KAFKA_BROKERS: brokers, NODE_OPTIONS: [process.env.NODE_OPTIONS, '--conditions=lagless-source'].filter(Boolean).join(' ') },
);
await cleanup();
console.log(`# npm test finished in ${Math.round((performance.now() - t0) / 1000)} s with exit code ${code}`);
process.exit(code);
