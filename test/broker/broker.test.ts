// Lifecycle of the local broker through the real CLI: start, start again, status, produce and consume a record, stop.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Consumer, stringDeserializers } from '@platformatic/kafka';
import { createAdmin, createProducer, ensureTopic } from '../../src/kafka/index.ts';
import { freePort } from '../../src/common/index.ts';
import { runCli } from '../helpers/cli.ts';


test('kafka start, start again, status, produce and consume, stop, status', async (t) => {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'lagless-broker-test-'));
  const args = ['--port', String(port), '--data-dir', dataDir];
  t.after(async () => {
    await runCli(['kafka', 'stop', ...args]);
    await rm(dataDir, { recursive: true, force: true });
  });

  const first = await runCli(['kafka', 'start', ...args]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout.trim(), `127.0.0.1:${port}`, 'start prints the bootstrap address on stdout');
  assert.match(first.stderr, /Kafka 4\.\d+\.\d+ started/);

  const second = await runCli(['kafka', 'start', ...args]);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout.trim(), `127.0.0.1:${port}`);
  assert.match(second.stderr, /already running/);

  const status = await runCli(['kafka', 'status', '--json', ...args]);
  assert.equal(status.code, 0, status.stderr);
  const st = JSON.parse(status.stdout);
  assert.equal(st.running, true);
  assert.equal(st.reachable, true);
  assert.equal(st.state.port, port);

  // A record goes through the broker and comes back.
  const brokers = [`127.0.0.1:${port}`];
  const admin = createAdmin({ brokers });
  await ensureTopic(admin, { name: 'lifecycle', partitions: 2 }, brokers);
  await admin.close();
  const producer = createProducer({ brokers });
  await producer.send({ messages: [{ topic: 'lifecycle', key: 'k1', value: '{"id":"k1","url":"http://127.0.0.1/x.jpg"}' }] });
  await producer.close();
  const consumer = new Consumer({ groupId: 'lifecycle-reader', clientId: 't', bootstrapBrokers: brokers, deserializers: stringDeserializers, maxWaitTime: 200 });
  const stream = await consumer.consume({ topics: ['lifecycle'], mode: 'earliest' });
  let got: { key: string; value: string } | undefined;
  for await (const m of stream) {
    got = { key: m.key, value: m.value };
    break;
  }
  await stream.close();
  await consumer.close(true);
  assert.deepEqual(got, { key: 'k1', value: '{"id":"k1","url":"http://127.0.0.1/x.jpg"}' });

  const stop = await runCli(['kafka', 'stop', ...args]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, /Stopped Kafka/);
  assert.doesNotMatch(stop.stdout, /killed/, 'a clean stop needs no SIGKILL');

  const after = await runCli(['kafka', 'status', ...args]);
  assert.equal(after.code, 1, 'status exits 1 when the broker is not running');
  assert.match(after.stdout, /not running/);

  const stopAgain = await runCli(['kafka', 'stop', ...args]);
  assert.equal(stopAgain.code, 0);
  assert.match(stopAgain.stdout, /No Lagless Kafka broker is running/);

  // Restart on the same data directory keeps the data.
  const restart = await runCli(['kafka', 'start', ...args]);
  assert.equal(restart.code, 0, restart.stderr);
  const admin2 = createAdmin({ brokers });
  const topics = await admin2.listTopics();
  await admin2.close();
  assert.ok(topics.includes('lifecycle'), 'topics survive a restart');
});

test('kafka start refuses a port used by another program, with a message naming it', async (t) => {
  const srv = createServer().listen({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => srv.once('listening', r));
  t.after(() => srv.close());
  const port = (srv.address() as { port: number }).port;
  const dataDir = await mkdtemp(join(tmpdir(), 'lagless-broker-test-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const res = await runCli(['kafka', 'start', '--port', String(port), '--data-dir', dataDir]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
});

test('kafka start without Java says what to install', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'lagless-broker-test-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const res = await runCli(['kafka', 'start', '--port', String(port), '--data-dir', dataDir], { env: { JAVA_HOME: '/nonexistent-jdk' } });
  assert.equal(res.code, 1);
  assert.match(res.stderr, /error \[MISSING_DEPENDENCY\]: Java 17 or newer is needed/);
  assert.match(res.stderr, /JAVA_HOME/);
});

test('first provisioning without Maven says what to install', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'lagless-home-'));
  t.after(() => rm(home, { recursive: true, force: true }));
  const port = await freePort();
  // An empty LAGLESS_HOME has no cached jars, so Maven is needed, and it is missing.
  const res = await runCli(['kafka', 'start', '--port', String(port)], { env: { LAGLESS_HOME: home, LAGLESS_MAVEN: '/nonexistent/mvn' } });
  assert.equal(res.code, 1);
  assert.match(res.stderr, /error \[MISSING_DEPENDENCY\]: Maven is needed once/);
});
