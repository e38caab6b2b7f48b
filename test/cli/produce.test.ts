// `lagless produce` as a user runs it (a real subprocess, the real broker): each source end to end, and every bad input with its exit code.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { request } from 'undici';
import { solidPng } from '../../src/image-server/index.ts';
import { idForUrl } from '../../src/sources/index.ts';
import { exitedReason, runCli, startCli, waitCli } from '../helpers/cli.ts';
import { eventually } from '../helpers/eventually.ts';
import { consumeAll, createTopic, endOffsets, readTopic, testBrokers, uniqueName } from '../helpers/kafka.ts';
import { waitForStderr } from '../helpers/lagless-process.ts';
import { photo, post, startXApiServer } from '../helpers/x-api-server.ts';

async function tempDir(t: TestContext, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function imagesDir(t: TestContext): Promise<string> {
  const dir = await tempDir(t, 'lagless-produce-images-');
  await writeFile(join(dir, 'one.png'), solidPng(8, 8, [200, 10, 10]));
  await writeFile(join(dir, 'two.png'), solidPng(8, 8, [10, 200, 10]));
  return dir;
}

/** A port on 127.0.0.1 where nothing listens. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const port = (srv.address() as { port: number }).port;
  await new Promise((ok) => srv.close(ok));
  return port;
}

test('file source: good lines delivered, malformed ones reported with line numbers; exit 1 unless --allow-skipped', async (t) => {
  const topic = await createTopic(t, uniqueName('urls-file'), 3);
  const dir = await tempDir(t, 'lagless-produce-file-');
  const file = join(dir, 'urls.jsonl');
  await writeFile(file, ['{"id":"a","url":"https://img.example/a.jpg"}', 'https://img.example/b.jpg', '{"id":"c",', '', 'ftp://img.example/d.jpg', '{"id":"e","url":"https://img.example/e.jpg"}'].join('\n'));

  const res = await runCli(['produce', '--topic', topic, '--source', 'file', '--file', file]);
  assert.equal(res.code, 1, res.stderr);
  assert.match(res.stdout, /^3 delivered, 0 failed, 2 skipped to topic /m);
  // Each skipped line is reported with its number and the code; the error names the lines.
  const skipped = (stderr: string) => [...stderr.matchAll(/^warning: .*?\bline (\d+)\b.*\[INPUT_SKIPPED\]$/gm)].map((m) => Number(m[1]));
  assert.deepEqual(skipped(res.stderr), [3, 5]);
  assert.match(res.stderr, /^error \[INVALID_MESSAGE\]: .*\blines 3, 5\b/m);

  const back = await consumeAll(topic, { count: 3 });
  assert.deepEqual(
    back.map((r) => [r.key, JSON.parse(r.value)]).sort(),
    [
      ['a', { id: 'a', url: 'https://img.example/a.jpg' }],
      ['e', { id: 'e', url: 'https://img.example/e.jpg' }],
      [idForUrl('https://img.example/b.jpg'), { id: idForUrl('https://img.example/b.jpg'), url: 'https://img.example/b.jpg' }],
    ].sort(),
  );

  const allowed = await runCli(['produce', '--topic', topic, '--source', 'file', '--file', file, '--allow-skipped', '--json']);
  assert.equal(allowed.code, 0, allowed.stderr);
  const summary = JSON.parse(allowed.stdout) as Record<string, unknown>;
  assert.deepEqual([summary.read, summary.delivered, summary.failed, summary.skipped, summary.unconfirmed], [3, 3, 0, 2, 0]);
  assert.deepEqual(skipped(allowed.stderr), [3, 5], 'still reported');
});

test('file source from stdin (--file -)', async (t) => {
  const topic = await createTopic(t, uniqueName('urls-stdin'), 2);
  const input = Array.from({ length: 120 }, (_, i) => JSON.stringify({ id: `s${i}`, url: `https://img.example/${i}.jpg` })).join('\n') + '\n';
  const res = await runCli(['produce', '--topic', topic, '--source', 'file', '--file', '-'], { input });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /^120 delivered, 0 failed, 0 skipped/m);
  const back = await consumeAll(topic, { count: 120 });
  assert.deepEqual(new Set(back.map((r) => r.key)), new Set(Array.from({ length: 120 }, (_, i) => `s${i}`)));
});

test('regression: a line of 384 MiB on stdin without a newline is skipped while it is read: peak RSS flat, far below the line (readline held it whole)', async (t) => {
  const topic = await createTopic(t, uniqueName('urls-long-line'), 1);
  const child = startCli(['produce', '--topic', topic, '--source', 'file', '--file', '-', '--json'], { keepStdinOpen: true });
  t.after(() => child.kill('SIGKILL'));
  const exited = once(child, 'exit').then(() => `lagless exited early: ${child.output.stderr}`);
  const chunk = Buffer.alloc(1024 * 1024, 'a');
  const mib = 384;
  // The high-water mark of its resident memory once all but what the pipe itself holds has been read.
  const peakKiB = async () => {
    await new Promise<void>((ok) => child.stdin!.write('', () => ok()));
    return Number(/^VmHWM:\s+(\d+) kB/m.exec(await readFile(`/proc/${child.pid}/status`, 'utf8'))?.[1]);
  };
  let half = 0;
  for (let i = 0; i < mib; i++) {
    if (i === mib / 2) half = await peakKiB();
    if (!child.stdin!.write(chunk)) {
      const early = await Promise.race([once(child.stdin!, 'drain').then(() => undefined), exited]);
      assert.equal(early, undefined);
    }
  }
  const full = await peakKiB();
  t.diagnostic(`peak RSS of lagless produce: ${(half / 1024).toFixed(0)} MiB after ${mib / 2} MiB of the line, ${(full / 1024).toFixed(0)} MiB after ${mib} MiB`);
  child.stdin!.end();
  const res = await waitCli(child, 120_000);
  // Flat: the second half of the line (192 MiB) adds next to nothing (garbage chunks wait for a GC, within a bound).
  assert.ok(half > 0 && full - half < 64 * 1024, `peak RSS grew from ${(half / 1024).toFixed(0)} to ${(full / 1024).toFixed(0)} MiB over the second half of the line`);
  assert.ok(full < mib * 1024, `peak RSS ${(full / 1024).toFixed(0)} MiB for a ${mib} MiB line`);
  assert.equal(res.code, 1, res.stderr);
  assert.match(res.stderr, /error \[INVALID_MESSAGE\]/);
  const summary = JSON.parse(res.stdout) as { delivered: number; skipped: number; sourceStats: { lines: number } };
  assert.deepEqual([summary.delivered, summary.skipped, summary.sourceStats.lines], [0, 1, 1]);
});

test('a missing file: exit 1 naming the file, before anything is produced', async () => {
  const res = await runCli(['produce', '--topic', 'urls', '--source', 'file', '--file', '/nonexistent/urls.jsonl']);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /error \[IO\]: cannot read --file \/nonexistent\/urls\.jsonl: no such file/);
  assert.equal(res.stdout, '');
});

test('an unknown source: exit 2 listing the valid ones', async () => {
  const res = await runCli(['produce', '--topic', 'urls', '--source', 'kafka']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /argument 'kafka' is invalid\. Allowed choices are x, file, synthetic/);
});

test('usage errors exit 2 and name the option', async () => {
  const cases: [string[], RegExp][] = [
    [['produce', '--topic', 'u', '--source', 'file', '--file', 'f', '--rate', '5'], /option --rate applies to --source synthetic, not --source file/],
    [['produce', '--topic', 'u', '--source', 'file'], /--source file needs --file PATH/],
    [['produce', '--topic', 'u', '--source', 'synthetic'], /--source synthetic needs --rate N/],
    [['produce', '--topic', 'u', '--source', 'synthetic', '--rate', 'fast'], /option '--rate <n>' argument 'fast' is invalid/],
    [['produce', '--topic', 'u', '--source', 'synthetic', '--profile', 'bursts:peak=9'], /option --profile: bursts profile: missing/],
    [['produce', '--topic', 'u', '--source', 'synthetic', '--rate', '5', '--profile', '10@1s'], /--rate conflicts with a steps profile/],
    [['produce', '--source', 'synthetic', '--rate', '5'], /option --topic <name> is required/],
    [['produce', '--topic', 'u', '--source', 'x'], /X_BEARER_TOKEN/],
  ];
  for (const [args, message] of cases) {
    const res = await runCli(args, { env: { X_BEARER_TOKEN: '' } });
    assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, message, args.join(' '));
  }
});

test('an unreachable broker: exit 1 naming the address and `lagless kafka start`, before any server starts', async (t) => {
  const port = await closedPort();
  const images = await imagesDir(t);
  const res = await runCli(['produce', '--topic', 'urls', '--source', 'synthetic', '--rate', '10', '--count', '5', '--images', images, '--brokers', `127.0.0.1:${port}`]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, new RegExp(`error \\[BROKER_UNREACHABLE\\]: no Kafka broker answered at 127\\.0\\.0\\.1:${port}`));
  assert.match(res.stderr, /lagless kafka start/);
  assert.doesNotMatch(res.stderr, /Serving/, 'no image server was started');
});

test('a topic that does not exist: exit 1 with the command that creates it', async () => {
  const topic = uniqueName('missing');
  const res = await runCli(['produce', '--topic', topic, '--source', 'file', '--file', '-'], { input: 'https://h/x.jpg\n' });
  assert.equal(res.code, 1);
  assert.match(res.stderr, new RegExp(`topic "${topic}" does not exist.*lagless topics create ${topic} --partitions 8`));
});

test('synthetic source: --count records with unique ids pointing at the image server, served while --keep-serving', async (t) => {
  const topic = await createTopic(t, uniqueName('urls-synth'), 4);
  const images = await imagesDir(t);
  const child = startCli(['produce', '--topic', topic, '--source', 'synthetic', '--rate', '2000', '--count', '300', '--images', images, '--latency', '5', '--keep-serving']);
  t.after(() => child.kill('SIGKILL'));
  await waitForStderr(child, /Still serving images at http:\/\/127\.0\.0\.1:\d+\/images\/ until Ctrl-C/);
  assert.match(child.output.stdout, /^300 delivered, 0 failed, 0 skipped/m);
  const back = await consumeAll(topic, { count: 300 });
  const values = back.map((r) => JSON.parse(r.value) as { id: string; url: string });
  assert.equal(new Set(values.map((v) => v.id)).size, 300);
  for (const r of back) assert.equal(r.key, (JSON.parse(r.value) as { id: string }).id);
  // The URLs in the topic are served by the still-running server.
  const res = await request(values[0]!.url);
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'image/png');
  await res.body.arrayBuffer();
  child.kill('SIGINT');
  const done = await waitCli(child);
  assert.equal(done.code, 0, done.stderr);
});

test('synthetic --public-url and --image-base choose the base URL written into the records', async (t) => {
  const topic = await createTopic(t, uniqueName('urls-base'), 1);
  const images = await imagesDir(t);
  const pub = await runCli(['produce', '--topic', topic, '--source', 'synthetic', '--rate', 'max', '--count', '3', '--images', images, '--public-url', 'http://source:8080']);
  assert.equal(pub.code, 0, pub.stderr);
  assert.match(pub.stderr, /Serving 2 images at http:\/\/127\.0\.0\.1:\d+\/images\/ \(records say http:\/\/source:8080\)/);
  const ext = await runCli(['produce', '--topic', topic, '--source', 'synthetic', '--rate', 'max', '--count', '2', '--images', images, '--image-base', 'http://cdn.example:81/']);
  assert.equal(ext.code, 0, ext.stderr);
  assert.doesNotMatch(ext.stderr, /Serving/, 'no server of its own');
  const urls = (await consumeAll(topic, { count: 5 })).map((r) => (JSON.parse(r.value) as { url: string }).url);
  assert.deepEqual(urls.map((u) => u.replace(/\?id=.*$/, '')), [
    'http://source:8080/images/one.png',
    'http://source:8080/images/two.png',
    'http://source:8080/images/one.png',
    'http://cdn.example:81/images/one.png',
    'http://cdn.example:81/images/two.png',
  ]);
  const clash = await runCli(['produce', '--topic', topic, '--source', 'synthetic', '--rate', '1', '--image-base', 'http://cdn.example', '--latency', '5', '--port', '9']);
  assert.equal(clash.code, 2);
  assert.match(clash.stderr, /--image-base uses a running image server: --latency, --port apply only to the one produce starts/);
});

test('Ctrl-C flushes: the summary counts exactly what is in the topic', async (t) => {
  const topic = await createTopic(t, uniqueName('urls-sigint'), 2);
  const images = await imagesDir(t);
  const child = startCli(['produce', '--topic', topic, '--source', 'synthetic', '--rate', '300', '--images', images]);
  t.after(() => child.kill('SIGKILL'));
  // Ctrl-C while records are being delivered.
  await eventually(async () => (await endOffsets(topic, 2)).reduce((a, b) => a + b, 0n) >= 50n, {
    what: 'records arriving in the topic',
    timeout: 60_000,
    failIf: exitedReason(child),
  });
  child.kill('SIGINT');
  const done = await waitCli(child);
  assert.equal(done.code, 0, done.stderr);
  const m = /^Interrupted: ([\d,]+) delivered, 0 failed, 0 skipped/m.exec(done.stdout);
  assert.ok(m, done.stdout);
  const delivered = Number(m[1]!.replaceAll(',', ''));
  assert.ok(delivered > 0);
  // The process has exited: the topic holds what it will ever hold.
  const back = await readTopic(topic, 2);
  assert.equal(back.length, delivered, 'nothing delivered that the summary does not count, nothing counted that is not there');
});

// The 429 path (X's schedule starts at one minute) is covered end to end by test/sources/x-source.test.ts with short schedules.
test('X source: photos from the local filtered stream, a disconnect reconnected after 250 ms, then Ctrl-C', async (t) => {
  const topic = await createTopic(t, uniqueName('urls-x'), 2);
  const x = await startXApiServer({
    token: 'cli-token',
    connections: [
      { items: [{ keepAlive: true }, post('1', [photo('3_1'), photo('3_2')]), post('2'), post('3', [{ media_key: '7_1', type: 'video' }, photo('3_3')]), { raw: '{"data":' }], end: 'destroy' },
      { items: [post('4', [photo('3_4')])], end: 'hold' },
    ],
  });
  t.after(() => x.close());
  const env = { X_BEARER_TOKEN: 'cli-token' };
  const added = await runCli(['produce', '--source', 'x', '--x-api-base', x.url, '--rule', 'cat has:images', '--tag', 'cats'], { env });
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stderr, /Added rule \d+: cat has:images \[cats\]/);

  const child = startCli(['produce', '--topic', topic, '--source', 'x', '--x-api-base', x.url], { env });
  t.after(() => child.kill('SIGKILL'));
  const back = await consumeAll(topic, { count: 4, timeoutMs: 60_000 });
  assert.deepEqual(back.map((r) => [r.key, JSON.parse(r.value)]).sort(), [
    ['3_1', { id: '3_1', url: 'https://pbs.twimg.com/media/3_1.jpg' }],
    ['3_2', { id: '3_2', url: 'https://pbs.twimg.com/media/3_2.jpg' }],
    ['3_3', { id: '3_3', url: 'https://pbs.twimg.com/media/3_3.jpg' }],
    ['3_4', { id: '3_4', url: 'https://pbs.twimg.com/media/3_4.jpg' }],
  ]);
  child.kill('SIGINT');
  const done = await waitCli(child);
  assert.equal(done.code, 0, done.stderr);
  assert.match(done.stderr, /X stream: UND_ERR_SOCKET.*; reconnecting in 250ms \(network backoff, attempt 1\)/);
  assert.match(done.stdout, /^Interrupted: 4 delivered, 0 failed, 0 skipped/m);
  assert.match(done.stdout, /4 posts \(1 without photos\), 2 connection\(s\)/);
  assert.equal(x.streamConnections.length, 2);

  const listed = await runCli(['produce', '--source', 'x', '--x-api-base', x.url, '--list-rules'], { env });
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /^\d+\tcat has:images\t\[cats\]$/m);
  const deleted = await runCli(['produce', '--source', 'x', '--x-api-base', x.url, '--delete-rules', 'all'], { env });
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.deepEqual(x.rules, []);
  const wrong = await runCli(['produce', '--source', 'x', '--x-api-base', x.url, '--list-rules'], { env: { X_BEARER_TOKEN: 'nope' } });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /error \[SOURCE_FAILED\]: X API GET \/2\/tweets\/search\/stream\/rules answered 401.*X_BEARER_TOKEN/);
});

test('the brokers given are used (the flag wins over KAFKA_BROKERS)', async (t) => {
  const topic = await createTopic(t, uniqueName('urls-flag'), 1);
  const res = await runCli(['produce', '--topic', topic, '--source', 'file', '--file', '-', '--brokers', testBrokers().join(',')], {
    input: 'https://h/1.jpg\n',
    env: { KAFKA_BROKERS: '127.0.0.1:1' },
  });
  assert.equal(res.code, 0, res.stderr);
});
