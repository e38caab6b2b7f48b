// End to end against a secure local broker (`lagless kafka start --security sasl_ssl|mtls`): produce, run palette
// (under a supervisor) and noop, status and topics over SASL_SSL with SCRAM-SHA-512 and over mutual TLS; kcat reads the
// outputs with the written config file; no secret anywhere; and the failures a user meets, each with its own code.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { ensureSecurityFiles, securityFiles, type BrokerSecurity } from '../../src/broker/index.ts';
import { freePort } from '../../src/common/index.ts';
import { runCli as runInProcess } from '../../src/cli/program.ts';
import { readGroupStatus, readStatuses } from '../../src/control/index.ts';
import { createAdmin, ensureTopic, resolveConnection, type KafkaConnection } from '../../src/kafka/index.ts';
import { exitedReason, runCli, type CliResult } from '../helpers/cli.ts';
import { consumeAll, testBrokers, uniqueName } from '../helpers/kafka.ts';
import { eventually } from '../helpers/eventually.ts';
import { httpGet, startLagless, stopLagless } from '../helpers/lagless-process.ts';
import { enginePalettes, startImages } from '../helpers/pipeline.ts';

const hasOpenssl = spawnSync('sh', ['-c', 'command -v openssl'], { stdio: 'ignore' }).status === 0;
const hasKcat = spawnSync('sh', ['-c', 'command -v kcat'], { stdio: 'ignore' }).status === 0;
if (!hasOpenssl) console.log('# SKIPPING test/e2e/secure.test.ts: openssl is missing (npm test installs it as root; Debian: apt-get install openssl)');
if (!hasKcat) console.log('# SKIPPING the kcat checks of test/e2e/secure.test.ts: kcat is missing (npm test installs it as root; Debian: apt-get install kcat)');

const GOOD = 6;

interface SecureBroker {
  port: number;
  dataDir: string;
  /** client.properties (librdkafka names) and client-java.properties (Java names). */
  config: string;
  javaConfig: string;
  kafka: KafkaConnection;
  /** What must never show: the SASL password, or the client's private key and keystore password. */
  secrets: string[];
}

/** Everything the commands printed, and other places a secret could leak to: checked at the end of each suite. */
class Outputs {
  readonly texts: { where: string; text: string }[] = [];
  add(where: string, text: string): void {
    this.texts.push({ where, text });
  }
  cli(where: string, r: CliResult): CliResult {
    this.add(`${where} (stdout)`, r.stdout);
    this.add(`${where} (stderr)`, r.stderr);
    return r;
  }
}

async function startSecureBroker(mode: Exclude<BrokerSecurity, 'plaintext'>): Promise<SecureBroker> {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), `lagless-${mode}-`));
  const res = await runCli(['kafka', 'start', '--port', String(port), '--data-dir', dataDir, '--security', mode, '--heap', '512m'], { timeoutMs: 240_000 });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout.trim(), `127.0.0.1:${port}`);
  const files = securityFiles(dataDir);
  assert.match(res.stderr, new RegExp(`${files.clientConfig.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), 'start names the client config file');
  const config = files.clientConfig;
  const kafka = resolveConnection({ configFile: config, env: {} }).connection;
  const credentials = JSON.parse(await readFile(files.credentials, 'utf8')) as { user: string; keystore: string };
  const keyBody = (await readFile(files.clientKey, 'utf8')).split('\n').slice(1, 3).join('\n');
  return {
    port,
    dataDir,
    config,
    javaConfig: files.javaClientConfig,
    kafka,
    secrets: mode === 'sasl_ssl' ? [credentials.user] : [keyBody, credentials.keystore],
  };
}

async function stopSecureBroker(b: SecureBroker | undefined): Promise<void> {
  if (!b) return;
  await runCli(['kafka', 'stop', '--port', String(b.port), '--data-dir', b.dataDir]);
  await rm(b.dataDir, { recursive: true, force: true });
}

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

/**
 * The CLI in this process (the same code as the binary, without a Node start per call: these run many times on a
 * loaded machine); the exit code is what the binary would exit with.
 */
async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runInProcess(args, { env, stdout, stderr, stdin: process.stdin, signal: new AbortController().signal });
  return { code, signal: null, stdout: stdout.text, stderr: stderr.text };
}

async function createTopics(kafka: KafkaConnection, names: string[]): Promise<void> {
  const admin = createAdmin(kafka);
  try {
    for (const name of names) await ensureTopic(admin, { name, partitions: 2 }, kafka);
  } finally {
    await admin.close();
  }
}

/** The produce -> run palette -> run noop -> status path, every id accounted for, through the real CLI. */
async function pipeline(t: TestContext, b: SecureBroker, out: Outputs, opts: { replicas: boolean; connect: string[]; statusConnect: string[]; statusEnv?: NodeJS.ProcessEnv }) {
  const images = await startImages(t);
  const palettes = await enginePalettes(images.images);
  const names = { from: uniqueName('s-urls'), to: uniqueName('s-palettes'), dlq: uniqueName('s-dlq'), noop: uniqueName('s-noop'), status: uniqueName('s-status'), group: uniqueName('s-group') };

  const created = out.cli('topics create', await runCli(['topics', 'create', names.from, '--partitions', '2', ...opts.connect]));
  assert.equal(created.code, 0, created.stderr);
  // `run` would create its outputs itself, but the readers below may start first.
  await createTopics(b.kafka, [names.to, names.dlq, names.noop]);
  const listed = out.cli('topics list', await runCli(['topics', 'list', '--json', ...opts.connect]));
  assert.equal(listed.code, 0, listed.stderr);
  assert.ok((JSON.parse(listed.stdout) as { name: string }[]).some((x) => x.name === names.from), 'topics list shows the new topic');

  const run = uniqueName('s');
  const inputs = Array.from({ length: GOOD }, (_, n) => ({ id: `${run}-${n}`, image: images.images[n % images.images.length]! }));
  const bad = { id: `${run}-bad`, url: `${images.url}/status/404` };
  const lines = [...inputs.map((r) => JSON.stringify({ id: r.id, url: images.imageUrl(r.image, { id: r.id }) })), JSON.stringify(bad)].join('\n') + '\n';
  const produced = out.cli('produce', await runCli(['produce', '--topic', names.from, '--source', 'file', '--file', '-', ...opts.connect], { input: lines }));
  assert.equal(produced.code, 0, produced.stderr);
  assert.match(produced.stdout, new RegExp(`^${GOOD + 1} delivered, 0 failed`, 'm'), produced.stderr);

  const httpPort = await freePort();
  const palette = startLagless(t, [
    'run', 'palette', ...opts.connect,
    '--from', names.from, '--to', names.to, '--dlq', names.dlq, '--group', names.group,
    '--allow-host', `127.0.0.1:${images.port}`, '--workers', '1', '--attempts', '1',
    '--status-topic', names.status, '--status-every', '500ms', '--status-interval', '1s',
    '--http-port', String(httpPort),
    ...(opts.replicas ? ['--replicas', '1..1'] : []),
  ]);
  const outputs = await consumeAll(names.to, { count: GOOD, kafka: b.kafka, timeoutMs: 180_000 });
  const dead = await consumeAll(names.dlq, { count: 1, kafka: b.kafka, timeoutMs: 60_000 });
  assert.deepEqual(outputs.map((o) => o.key).sort(), inputs.map((r) => r.id).sort(), 'one output per good input');
  for (const o of outputs) {
    const v = JSON.parse(o.value) as { id: string; hex: string[] };
    const image = inputs.find((r) => r.id === v.id)!.image;
    assert.deepEqual(v.hex, palettes.get(image)!.hex, `the engine's palette for ${image}`);
  }
  assert.equal(dead[0]!.key, bad.id);
  const letter = JSON.parse(dead[0]!.value) as { error: { code: string } };
  assert.equal(letter.error.code, 'HTTP_STATUS');
  out.add('dead letters', dead.map((d) => d.value).join('\n'));
  out.add('outputs', outputs.map((o) => o.value).join('\n'));

  // lagless status sees the live member(s); --replicas: the supervisor and its replica.
  const roles = opts.replicas ? 'replica,supervisor' : 'replica';
  await eventually(async () => {
    const s = await readGroupStatus({ kafka: b.kafka, group: names.group, statusTopic: names.status });
    return s.members.filter((m) => m.live).map((m) => m.role).sort().join() === roles && s.totalLag === 0;
  }, { what: `the group's live members to be ${roles}, lag 0`, timeout: 120_000, failIf: exitedReason(palette) });
  const status = out.cli('status', await runCli(['status', '--group', names.group, '--status-topic', names.status, '--json', ...opts.statusConnect], { ...(opts.statusEnv ? { env: opts.statusEnv } : {}) }));
  assert.equal(status.code, 0, status.stderr);
  const shown = JSON.parse(status.stdout) as { members: { role: string; live: boolean }[] };
  assert.equal(shown.members.filter((m) => m.live).map((m) => m.role).sort().join(), roles, 'lagless status shows the live members');
  // The records of the status topic as published (every member's latest).
  out.add('status records', JSON.stringify(await readStatuses(b.kafka, names.status)));
  const metrics = await eventually(async () => (await httpGet(`http://127.0.0.1:${httpPort}/metrics`)).body, { what: '/metrics to answer', failIf: exitedReason(palette) });
  assert.match(metrics, /lagless_/);
  out.add('/metrics', metrics);

  // No process on this machine has a secret on its command line (the supervisor passes flags, never secrets, to replicas).
  for (const pid of (await readdir('/proc')).filter((d) => /^\d+$/.test(d))) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    out.add(`command line of pid ${pid}`, cmdline.replace(/\0/g, ' '));
  }
  const stopped = await stopLagless(palette, 90_000);
  assert.equal(stopped.code, 0, stopped.stderr);
  out.cli('run palette', stopped);

  const noop = startLagless(t, ['run', 'noop', ...opts.connect, '--from', names.from, '--to', names.noop, '--group', uniqueName('s-noop'), '--status-every', '0']);
  const copied = await consumeAll(names.noop, { count: GOOD + 1, kafka: b.kafka, timeoutMs: 120_000 });
  assert.deepEqual(copied.map((c) => c.key).sort(), [...inputs.map((r) => r.id), bad.id].sort(), 'noop copies every input');
  const noopDone = await stopLagless(noop, 60_000);
  assert.equal(noopDone.code, 0, noopDone.stderr);
  out.cli('run noop', noopDone);
  return { names, ids: inputs.map((r) => r.id) };
}

/** kcat (librdkafka) reads a topic with the config file the broker wrote; extra -X settings when needed. */
function kcatKeys(config: string, topic: string, count: number, extra: string[] = []): { keys: string[]; stderr: string } {
  const r = spawnSync('kcat', ['-F', config, ...extra, '-C', '-t', topic, '-o', 'beginning', '-c', String(count), '-e', '-q', '-f', '%k\n'], { encoding: 'utf8', timeout: 90_000 });
  return { keys: r.stdout.split('\n').filter(Boolean).sort(), stderr: `${r.stderr}${r.error ? String(r.error) : ''}` };
}

function assertNoSecret(out: Outputs, secrets: string[]): void {
  assert.ok(out.texts.length > 10, 'there is something to check');
  for (const { where, text } of out.texts) {
    for (const s of secrets) assert.ok(!text.includes(s), `a secret appears in ${where}`);
  }
}

/** Runs a command (in this process) that must fail with exit 1 and `code`; returns its stderr. */
async function failsWith(out: Outputs, what: string, args: string[], code: string, message: RegExp, env?: NodeJS.ProcessEnv): Promise<string> {
  const r = out.cli(what, await cli(args, env));
  assert.equal(r.code, 1, `${what}: exit 1\n${r.stderr}`);
  assert.match(r.stderr, new RegExp(`^error \\[${code}\\]: `, 'm'), `${what}: code ${code}\n${r.stderr}`);
  assert.match(r.stderr, message, what);
  return r.stderr;
}

/** A plain TCP forwarder on 127.0.0.2 to the broker: an address the broker's certificate does not name. */
async function forwarder(t: TestContext, port: number): Promise<number> {
  const server: Server = createServer((socket) => {
    const up = connect(port, '127.0.0.1');
    socket.pipe(up).pipe(socket);
    socket.on('error', () => up.destroy());
    up.on('error', () => socket.destroy());
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.2', ok));
  t.after(() => new Promise<void>((ok) => server.close(() => ok())));
  return (server.address() as { port: number }).port;
}

const countMatches = async (file: string, re: RegExp) => ((await readFile(file, 'utf8')).match(new RegExp(re, 'g')) ?? []).length;

describe('SASL_SSL with SCRAM-SHA-512', { skip: !hasOpenssl }, () => {
  let b: SecureBroker | undefined;
  const out = new Outputs();
  let topics: { names: { to: string }; ids: string[] } | undefined;
  before(async () => {
    b = await startSecureBroker('sasl_ssl');
  });
  after(() => stopSecureBroker(b));

  test('produce, run palette (one supervised replica) and noop, status and topics over SASL_SSL: every id accounted for', async (t) => {
    const { caPem } = securityFiles(b!.dataDir);
    topics = await pipeline(t, b!, out, {
      replicas: true,
      connect: ['--kafka-config', b!.config],
      // status with the Java style file from $KAFKA_CONFIG, and then with flags plus the password from the environment.
      statusConnect: [],
      statusEnv: { KAFKA_CONFIG: b!.javaConfig, KAFKA_BROKERS: '' },
    });
    const flags = out.cli('topics list with flags', await runCli(
      ['topics', 'list', '--brokers', `127.0.0.1:${b!.port}`, '--security-protocol', 'SASL_SSL', '--sasl-mechanism', 'SCRAM-SHA-512', '--sasl-username', 'lagless', '--ssl-ca', caPem],
      { env: { KAFKA_SASL_PASSWORD: b!.secrets[0]! } },
    ));
    assert.equal(flags.code, 0, flags.stderr);
    assert.match(flags.stdout, new RegExp(topics.names.to));
  });

  test('kcat reads the outputs with the written config file (PLAIN on the same TLS listener: Debian kcat fails SCRAM)', { skip: !hasKcat }, () => {
    const r = kcatKeys(b!.config, topics!.names.to, GOOD, ['-X', 'sasl.mechanism=PLAIN']);
    assert.deepEqual(r.keys, [...topics!.ids].sort(), r.stderr);
  });

  test('failures are clear and fast, each with its code', async (t) => {
    const files = securityFiles(b!.dataDir);
    const text = await readFile(b!.config, 'utf8');
    const wrong = join(b!.dataDir, 'wrong-password.properties');
    await writeFile(wrong, text.replace(/^sasl\.password=.*$/m, 'sasl.password=not-the-password'));
    const log = join(b!.dataDir, 'broker.log');
    const refused = /invalid credentials with SASL mechanism SCRAM-SHA-512/;
    const before = await countMatches(log, refused);
    // The real binary: the process exits 1 at the first refusal.
    const refusedRun = out.cli('wrong password', await runCli(['topics', 'list', '--kafka-config', wrong]));
    assert.equal(refusedRun.code, 1, refusedRun.stderr);
    assert.match(refusedRun.stderr, /^error \[KAFKA_AUTH_FAILED\]: the broker at .* refused the SASL login of user "lagless" with SCRAM-SHA-512/m);
    // One login attempt, no retry loop: the broker saw exactly one failed authentication.
    await eventually(async () => (await countMatches(log, refused)) > before, { what: 'the broker to log the refused login', timeout: 30_000 });
    assert.equal(await countMatches(log, refused), before + 1, 'the wrong password was tried once');

    const other = await mkdtemp(join(tmpdir(), 'lagless-other-ca-'));
    t.after(() => rm(other, { recursive: true, force: true }));
    const otherCa = (await ensureSecurityFiles(other)).files.caPem;
    await failsWith(out, 'untrusted CA', ['topics', 'list', '--kafka-config', b!.config, '--ssl-ca', otherCa], 'KAFKA_TLS_FAILED',
      new RegExp(`is not trusted: .*CA used: ${otherCa.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(CN=Lagless local CA`));
    const mismatch = await forwarder(t, b!.port);
    await failsWith(out, 'certificate for another host', ['topics', 'list', '--kafka-config', b!.config, '--brokers', `127.0.0.2:${mismatch}`], 'KAFKA_TLS_FAILED',
      /does not name the host connected to: .*127\.0\.0\.2.*ERR_TLS_CERT_ALTNAME_INVALID/);
    await failsWith(out, 'plaintext to a TLS listener', ['topics', 'list', '--brokers', `127.0.0.1:${b!.port}`], 'KAFKA_TLS_FAILED', /speaks TLS, but security.protocol is PLAINTEXT/);
    await failsWith(out, 'TLS to a plaintext listener', ['topics', 'list', '--brokers', testBrokers().join(','), '--security-protocol', 'SSL'], 'KAFKA_TLS_FAILED',
      /did not answer the TLS handshake: it looks like a plaintext listener/);
    await failsWith(out, 'no SASL login on a SASL listener', ['topics', 'list', '--brokers', `127.0.0.1:${b!.port}`, '--security-protocol', 'SSL', '--ssl-ca', files.caPem], 'KAFKA_AUTH_FAILED',
      /probably requires a SASL login/);
    // The run command fails the same way, before it joins the group.
    await failsWith(out, 'run with a wrong password', ['run', 'noop', '--kafka-config', wrong, '--from', uniqueName('never'), '--to', uniqueName('never')], 'KAFKA_AUTH_FAILED', /refused the SASL login/);
  });

  test('no secret in logs, --help, status records, /metrics, dead letters, error messages or command lines', async () => {
    for (const cmd of [['run', 'palette'], ['run', 'noop'], ['produce'], ['status'], ['topics', 'list'], ['topics', 'create'], ['kafka', 'start']]) {
      const help = out.cli(`${cmd.join(' ')} --help`, await cli([...cmd, '--help'], { KAFKA_CONFIG: b!.config, KAFKA_SASL_PASSWORD: b!.secrets[0]! }));
      assert.equal(help.code, 0);
    }
    assertNoSecret(out, b!.secrets);
  });
});

describe('mutual TLS', { skip: !hasOpenssl }, () => {
  let b: SecureBroker | undefined;
  const out = new Outputs();
  let topics: { names: { to: string }; ids: string[] } | undefined;
  before(async () => {
    b = await startSecureBroker('mtls');
  });
  after(() => stopSecureBroker(b));

  test('produce, run palette and noop, status and topics over mutual TLS: every id accounted for', async (t) => {
    topics = await pipeline(t, b!, out, {
      replicas: false,
      connect: ['--kafka-config', b!.config],
      // status with the Java style file: a PKCS12 keystore and a PEM truststore.
      statusConnect: ['--kafka-config', b!.javaConfig],
    });
  });

  test('kcat reads the outputs with the written config file', { skip: !hasKcat }, () => {
    const r = kcatKeys(b!.config, topics!.names.to, GOOD);
    assert.deepEqual(r.keys, [...topics!.ids].sort(), r.stderr);
  });

  test('failures: no client certificate, a client certificate the broker does not trust', async (t) => {
    const files = securityFiles(b!.dataDir);
    const base = ['topics', 'list', '--brokers', `127.0.0.1:${b!.port}`, '--security-protocol', 'SSL', '--ssl-ca', files.caPem];
    await failsWith(out, 'no client certificate', base, 'KAFKA_TLS_FAILED', /requires a client certificate \(mutual TLS\)/);
    const other = await mkdtemp(join(tmpdir(), 'lagless-other-ca-'));
    t.after(() => rm(other, { recursive: true, force: true }));
    const stranger = (await ensureSecurityFiles(other)).files;
    await failsWith(out, 'untrusted client certificate', [...base, '--ssl-cert', stranger.clientCert, '--ssl-key', stranger.clientKey], 'KAFKA_TLS_FAILED',
      new RegExp(`refused the client certificate ${stranger.clientCert.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });

  test('no private key or keystore password in any output', () => {
    assertNoSecret(out, b!.secrets);
  });
});
