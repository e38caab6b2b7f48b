// `npm test`: typecheck, start one Kafka broker for the whole run (unless KAFKA_BROKERS answers), run node:test, stop the broker.
// Usage: npm test [-- <test files or dirs>...]   (default: every test/**/*.test.ts)
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, stopBroker } from '../src/broker/index.ts';
import { checkBrokers } from '../src/kafka/index.ts';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);

function run(cmd: string, argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { stdio: 'inherit', cwd: root, env });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ port: 0, host: '127.0.0.1' }, () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

const t0 = performance.now();
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

const files = args.length ? args : ['test/**/*.test.ts'];
const code = await run(
  process.execPath,
  ['--test', '--test-reporter=spec', `--test-concurrency=${process.env.LAGLESS_TEST_CONCURRENCY ?? 2}`, '--test-timeout=600000', ...files],
  { ...process.env, KAFKA_BROKERS: brokers },
);
await cleanup();
console.log(`# npm test finished in ${Math.round((performance.now() - t0) / 1000)} s with exit code ${code}`);
process.exit(code);
