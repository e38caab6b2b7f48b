// The container path for real, with podman: the project's image built from the unchanged Dockerfile, the Compose
// stack run from docker-compose.yml's own commands, environment and health checks, then the rendered Kubernetes
// Deployment's container (args, env, security context, probes) in the same stack, each stopped with SIGTERM.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { test, type TestContext } from 'node:test';
import { npmCacheDir, npmCacheMissing, podmanUnusable, standInsMissing } from '../../scripts/images.ts';
import type { GroupStatus } from '../../src/control/index.ts';
import { createAdmin, describeTopics } from '../../src/kafka/index.ts';
import { runCli } from '../helpers/cli.ts';
import { consumeAll } from '../helpers/kafka.ts';
import { eventually } from '../helpers/eventually.ts';
import { requireNetns } from '../helpers/pipeline.ts';
import {
  composeServices,
  containerEnv,
  containerState,
  execIn,
  expandKubeVars,
  kustomize,
  logs,
  podman,
  removeContainers,
  runDetached,
  secretsOf,
  securityFlags,
  startOrder,
  type ComposeService,
  type KubeContainer,
  type KubePodSpec,
  type KubeProbe,
} from '../helpers/podman.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

/** Why this machine cannot run the test (checked conditions only; any other failure fails the test). */
async function unavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'podman with runc and cgroupfs, as set up here, needs root';
  return (await podmanUnusable()) ?? (await standInsMissing()) ?? (await npmCacheMissing());
}

const reason = await unavailable();
if (reason) console.log(`# SKIPPING test/deploy/container.test.ts: ${reason}`);

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;

async function must(what: string, r: ReturnType<typeof podman>): Promise<string> {
  const res = await r;
  assert.equal(res.code, 0, `${what} failed (exit ${res.code}): ${`${res.stderr}\n${res.stdout}`.trim().split('\n').slice(-10).join('\n')}`);
  return res.stdout.trim();
}

/** Sum of the log-end offsets of a topic on the stack's broker (0 when the topic does not exist yet). */
async function topicEnd(brokers: string[], topic: string): Promise<number> {
  const admin = createAdmin({ brokers, clientId: 'lagless-container-test' });
  try {
    const partitions = (await describeTopics(admin, [topic])).get(topic) ?? 0;
    if (!partitions) return 0;
    const res = await admin.listOffsets({
      topics: [{ name: topic, partitions: Array.from({ length: partitions }, (_, p) => ({ partitionIndex: p, timestamp: -1n })) }],
    });
    return res.flatMap((t) => t.partitions).reduce((a, p) => a + Number(p.offset), 0);
  } finally {
    await admin.close().catch(() => {});
  }
}

async function groupStatus(brokers: string[], group: string): Promise<GroupStatus> {
  const r = await runCli(['status', '--group', group, '--json', '--brokers', brokers.join(',')], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `lagless status failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as GroupStatus;
}

const committedTotal = (s: GroupStatus) => s.partitions.reduce((a, p) => a + Number(p.committed ?? 0), 0);

/** GET on the test namespace's loopback, where the container listens (as the kubelet would on the pod's IP). */
async function httpStatus(port: number, path: string, timeoutMs: number, headers: Record<string, string> = {}): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(timeoutMs), headers });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

test('the image, the Compose stack and the Deployment\'s container, run with podman', { skip: reason, timeout: 900_000 }, async (t: TestContext) => {
  requireNetns();
  // What a user puts in .env (docker-compose.yml requires it: the transformer's dashboard listens beyond loopback).
  const dashboardToken = randomBytes(16).toString('hex');
  const services = composeServices(undefined, { ...process.env, LAGLESS_DASHBOARD_TOKEN: dashboardToken });
  const lagless = [...services.values()].find((s) => s.built);
  assert.ok(lagless, 'docker-compose.yml: no service is built from the Dockerfile');
  const tag = lagless.image;
  let imageId = '';

  await t.test('builds from the unchanged Dockerfile with no network, and runs as non-root', async () => {
    // `npm ci` in the Dockerfile reads the npm cache that npm test filled before entering its namespace, offline.
    const etc = await mkdtemp(join(tmpdir(), 'lagless-npmrc-'));
    t.after(() => rm(etc, { recursive: true, force: true }));
    await writeFile(join(etc, 'npmrc'), 'offline=true\n');
    const iid = join(etc, 'iid');
    const previous = (await podman(['image', 'inspect', '--format', '{{.Id}}', tag])).stdout.trim();
    const t0 = performance.now();
    await must(
      'podman build',
      podman([
        'build',
        '--pull=never',
        '--network=none',
        '--ulimit=nofile=1024:1024',
        '--ulimit=nproc=1024:1024',
        `--volume=${npmCacheDir()}:/root/.npm:O`,
        `--volume=${etc}:/usr/local/etc:ro`,
        `--iidfile=${iid}`,
        '--tag',
        tag,
        '--file',
        join(ROOT, 'Dockerfile'),
        ROOT,
      ]),
    );
    imageId = (await readFile(iid, 'utf8')).trim().replace(/^sha256:/, '');
    const buildMs = performance.now() - t0;
    // The image this tag named before, if this build replaced it (left alone when another run still uses it).
    if (previous && !imageId.startsWith(previous.replace(/^sha256:/, '').slice(0, 12))) await podman(['rmi', previous]);
    const [size, user] = (await must('podman image inspect', podman(['image', 'inspect', '--format', '{{.Size}} {{.Config.User}}', imageId]))).split(' ');
    t.diagnostic(`image ${tag} (${imageId.slice(0, 12)}): ${mb(Number(size))}, built in ${(buildMs / 1000).toFixed(1)} s`);
    assert.ok(Number(size) > 50e6, `image size ${size}`);
    assert.equal(user, '1000:1000');
    const run = (...args: string[]) => podman(['run', '--rm', '--network=none', '--ulimit=nofile=1024:1024', '--ulimit=nproc=1024:1024', ...args]);
    assert.match(await must('id in the image', run('--entrypoint', 'id', imageId)), /^uid=1000\(node\) gid=1000\(node\)/);
    const help = await must('the image with no arguments', run(imageId));
    assert.match(help, /^Usage: lagless \[options\] \[command\]/);
    for (const c of ['run', 'produce', 'status', 'topics', 'palette']) assert.match(help, new RegExp(`\\n\\s+${c}\\b`), `--help lists ${c}`);
  });

  await t.test('lagless palette inside the image gives the palette the host computes', async () => {
    const file = 'assets/images/astronaut.jpg';
    const inImage = JSON.parse(await must('lagless palette in the image', podman(['run', '--rm', '--network=none', '--ulimit=nofile=1024:1024', '--ulimit=nproc=1024:1024', imageId, 'palette', '--json', file])));
    const host = await runCli(['palette', '--json', file], { cwd: ROOT });
    assert.equal(host.code, 0, host.stderr);
    const onHost = JSON.parse(host.stdout);
    for (const k of ['durationMs']) {
      delete inImage[k];
      delete onHost[k];
    }
    assert.deepEqual(inImage, onHost);
    assert.equal(inImage.palette.length, 6);
  });

  // ---- the Compose stack ----
  const name = (service: string) => `lagless-ct-${process.pid}-${service}`;
  const started: string[] = [];
  t.after(() => removeContainers(started));
  const hosts = [...services.keys()];
  const transformer = services.get('transformer');
  assert.ok(transformer, 'docker-compose.yml has a transformer service');
  const brokersIn = transformer.command[transformer.command.indexOf('--brokers') + 1]!;
  const group = transformer.command[transformer.command.indexOf('--group') + 1]!;
  const port = Number(transformer.command[transformer.command.indexOf('--http-port') + 1]);
  const [, kafkaHostPort] = /HOST:\/\/([^,]+)/.exec(services.get('kafka')?.environment.KAFKA_ADVERTISED_LISTENERS ?? '') ?? [];
  assert.ok(kafkaHostPort, 'Kafka advertises a HOST listener for tools on the machine');
  const brokers = [kafkaHostPort];
  const outputs = async () => (await topicEnd(brokers, 'palettes')) + (await topicEnd(brokers, 'urls.dlq'));

  /** Compose's wait for a dependency, by its condition, with the budget Compose itself would give. */
  const waitFor = async (service: ComposeService, condition: string, gating = true) => {
    const n = name(service.name);
    if (condition === 'service_started') {
      await eventually(async () => (await containerState(n)).running, { what: `${service.name} running`, timeout: 30_000, every: 500 });
    } else if (condition === 'service_completed_successfully') {
      const failed = await eventually(
        async () => {
          const s = await containerState(n);
          if (s.status !== 'exited') return undefined;
          if (s.exitCode === 0) return 'ok';
          // A failure is final unless the restart policy runs it again.
          return service.restart === 'no' ? `${service.name} exited with ${s.exitCode}:\n${await logs(n)}` : undefined;
        },
        { what: `${service.name} to finish successfully`, timeout: 120_000, every: 500 },
      );
      assert.equal(failed, 'ok');
    } else if (condition === 'service_healthy') {
      const h = service.healthcheck;
      assert.ok(h, `${service.name} has no healthcheck`);
      // Compose's own budget before it calls the service unhealthy; on a very busy machine a check may pass only
      // later (Docker then shows it healthy again), so the wait is at least 3 minutes and the diagnostic says so.
      const budget = h.startPeriodMs + h.retries * (h.intervalMs + h.timeoutMs);
      // A health status that no service waits on (the transformer's) gets a longer per-check timeout on a machine so
      // busy that starting the check's process alone can take seconds; the diagnostic says so.
      const checkTimeout = gating ? h.timeoutMs : Math.max(h.timeoutMs, 15_000);
      const t0 = performance.now();
      const health = await eventually(
        async () => {
          const s = await containerState(n);
          if (!s.running) return service.restart === 'no' ? `${service.name} stopped (exit ${s.exitCode}):\n${await logs(n)}` : undefined;
          return (await execIn(n, h.argv, checkTimeout)).code === 0 ? 'healthy' : undefined;
        },
        { what: `${service.name} healthy (its healthcheck: ${h.argv.join(' ')})`, timeout: Math.max(budget, 180_000), every: h.intervalMs },
      );
      assert.equal(health, 'healthy');
      const { restarts } = await containerState(n);
      const took = performance.now() - t0;
      t.diagnostic(`${service.name}: healthy after ${(took / 1000).toFixed(1)} s (Compose's budget ${budget / 1000} s${took > budget ? ', exceeded: Compose would have reported it unhealthy first' : ''}${checkTimeout !== h.timeoutMs ? `; check timeout ${checkTimeout / 1000} s instead of ${h.timeoutMs / 1000} s` : ''})${restarts ? `, after ${restarts} restart(s) by its restart policy (${service.restart}); logs:\n${await logs(n, 12)}` : ''}`);
    } else {
      assert.fail(`unknown depends_on condition ${condition}`);
    }
  };

  /** At-least-once after a stop: as many outputs (palettes + dead letters) as committed input records, or more. */
  const checkOutputs = async (s: GroupStatus, who: string) => {
    const committed = committedTotal(s);
    const out = await outputs();
    t.diagnostic(`after the ${who} stopped: ${committed} input records committed, ${out} outputs (palettes + dead letters)${out > committed ? `: ${out - committed} to be redone by the next owner` : ''}`);
    assert.ok(out >= committed, `every committed input record has its output (${committed} committed, ${out} outputs)`);
  };

  /** SIGTERM with the given grace, as `docker compose stop` or the kubelet sends it; the exit code and the time. */
  const stop = async (container: string, graceMs: number) => {
    const t0 = performance.now();
    await must(`podman stop ${container}`, podman(['stop', '--time', String(Math.round(graceMs / 1000)), container]));
    const ms = performance.now() - t0;
    return { ms, exitCode: (await containerState(container)).exitCode };
  };

  await t.test('docker-compose.yml: Kafka, the topic, the source and the transformer start in order, each as Compose would', async () => {
    for (const s of startOrder(services)) {
      const svc = services.get(s)!;
      for (const [dep, condition] of Object.entries(svc.dependsOn)) await waitFor(services.get(dep)!, condition);
      started.push(name(s));
      await runDetached({ name: name(s), image: svc.built ? imageId : svc.image, args: svc.command, env: svc.environment, hosts, flags: ['--restart', svc.restart] });
      t.diagnostic(`${s}: started (${svc.built ? tag : svc.image} ${svc.command.join(' ')})`);
    }
    await waitFor(transformer, 'service_healthy', false);
  });

  await t.test('palettes arrive, fetched from the source container through the SSRF allowance', async () => {
    await eventually(async () => (await topicEnd(brokers, 'palettes')) >= 10, { what: '10 palettes in the output topic', timeout: 120_000, every: 1000 });
    // A reader joins a group of its own; right after the broker starts, the group coordinator may still refuse it.
    let refused: unknown;
    const records = await eventually(
      () =>
        consumeAll('palettes', { count: 10, timeoutMs: 30_000, kafka: { brokers } }).catch((err: unknown) => {
          refused ??= err;
          throw err;
        }),
      { what: 'to read 10 palettes', timeout: 120_000, every: 1000 },
    );
    if (refused) t.diagnostic(`the reader was refused first: ${inspect(refused, { depth: 6 }).slice(0, 3000)}`);
    for (const r of records) {
      const p = JSON.parse(r.value) as { url: string; palette: number[][]; hex: string[] };
      assert.match(p.url, /^http:\/\/source:8080\//);
      assert.ok(p.palette.length >= 2 && p.hex.every((h) => /^#[0-9a-f]{6}$/.test(h)), r.value);
    }
    t.diagnostic(`first palette: ${records[0]!.value.slice(0, 160)}...`);
  });

  await t.test('lagless status (from the host, as the README says) reports the group and its member', async () => {
    const s = await eventually(
      async () => {
        const s = await groupStatus(brokers, group);
        return s.state === 'Stable' && s.brokerMembers.length === 1 && s.members.some((m) => m.live) && committedTotal(s) > 0 ? s : undefined;
      },
      { what: 'the group to be stable with one member and commits', timeout: 60_000, every: 1000 },
    );
    assert.equal(s.partitions.length, Number(services.get('topics')!.command[services.get('topics')!.command.indexOf('--partitions') + 1]));
    const text = await runCli(['status', '--group', group, '--brokers', brokers.join(',')]);
    assert.equal(text.code, 0, text.stderr);
    t.diagnostic(`lagless status --group ${group}:\n${text.stdout.trimEnd()}`);
    assert.equal(await httpStatus(port, '/readyz', 3000), 200, '/readyz once the member joined');
    // Beyond loopback, the dashboard wants the token from .env; the probes above did not.
    assert.equal(await httpStatus(port, '/', 3000), 401, 'the dashboard without its token');
    assert.equal(await httpStatus(port, '/', 3000, { authorization: `Bearer ${dashboardToken}` }), 200, 'the dashboard with the token');
  });

  await t.test('SIGTERM: the transformer drains, commits and leaves within stop_grace_period', async () => {
    const { ms, exitCode } = await stop(name('transformer'), transformer.stopGraceMs);
    t.diagnostic(`transformer stopped in ${(ms / 1000).toFixed(1)} s (grace ${transformer.stopGraceMs / 1000} s), exit code ${exitCode}; last lines:\n${await logs(name('transformer'), 6)}`);
    assert.equal(exitCode, 0, 'a clean exit, not a kill');
    assert.ok(ms < transformer.stopGraceMs, `stopped within the grace period (${ms} ms)`);
    // The group is empty, and no committed record lacks its output. Records whose outputs are written but that are
    // not committed (a drain cut short by --drain-timeout on a very busy machine) are redone by the next owner.
    const s = await eventually(
      async () => {
        const s = await groupStatus(brokers, group);
        return s.brokerMembers.length === 0 ? s : undefined;
      },
      { what: 'the group to have no member', timeout: 30_000, every: 500 },
    );
    await checkOutputs(s, 'transformer');
  });

  // ---- the Kubernetes Deployment's container, in the same stack ----
  await t.test('the rendered Deployment\'s container: its args, env and security context run; its probes pass; SIGTERM within the grace period', async (t) => {
    const docs = kustomize();
    const deployment = docs.find((d) => d.kind === 'Deployment');
    assert.ok(deployment, 'kustomize renders a Deployment');
    const pod = (deployment as unknown as { spec: { template: { spec: KubePodSpec } } }).spec.template.spec;
    const rendered = pod.containers[0] as KubeContainer;
    assert.equal(rendered.image, tag, 'the Deployment runs the image the Compose file builds');
    // The manifests are written for a TLS/SASL cluster (credentials from a Secret, the CA from a volume); this stack's
    // broker is plaintext. So the test makes the edit configmap.yaml documents for a plaintext cluster, and nothing
    // else: KAFKA_SECURITY_PROTOCOL PLAINTEXT, the KAFKA_SASL_* and KAFKA_SSL_* variables and the kafka-ca volume
    // removed. Args, probes, ports, security context and the other volumes run as rendered. (TLS and SASL themselves
    // are proven against real secure brokers in test/e2e/secure.test.ts.)
    const configMapText = readFileSync(new URL('../../deploy/kubernetes/configmap.yaml', import.meta.url), 'utf8');
    assert.match(configMapText, /For a plaintext development cluster: KAFKA_SECURITY_PROTOCOL: PLAINTEXT, remove\s+#\s*the KAFKA_SASL_\* and KAFKA_SSL_\* variables and the kafka-ca volume/, 'configmap.yaml documents the plaintext edit this test makes');
    const isTlsOrSasl = (name: string) => name.startsWith('KAFKA_SASL_') || name.startsWith('KAFKA_SSL_');
    const dropped = (rendered.env ?? []).filter((e) => isTlsOrSasl(e.name)).map((e) => e.name);
    assert.ok(dropped.includes('KAFKA_SASL_PASSWORD'), 'the rendered Deployment takes the SASL password from its Secret');
    const secretVolumes = new Set((pod.volumes ?? []).filter((v) => 'secret' in v).map((v) => v.name));
    assert.deepEqual([...secretVolumes], ['kafka-ca'], 'the only Secret volume is the CA the edit removes');
    const c: KubeContainer = {
      ...rendered,
      env: (rendered.env ?? []).filter((e) => !isTlsOrSasl(e.name)),
      volumeMounts: (rendered.volumeMounts ?? []).filter((m) => !secretVolumes.has(m.name)),
    };
    t.diagnostic(`plaintext edit: removed ${dropped.join(', ')} and volume ${[...secretVolumes].join(', ')}`);
    // The ConfigMap as README step 2 has the user edit it: KAFKA_BROKERS = this stack's broker, plaintext.
    const configMaps = new Map(docs.filter((d) => d.kind === 'ConfigMap').map((d) => [d.metadata.name, { ...(d.data as Record<string, string>) }]));
    for (const data of configMaps.values()) {
      if ('KAFKA_BROKERS' in data) data.KAFKA_BROKERS = brokersIn;
      if ('KAFKA_SECURITY_PROTOCOL' in data) data.KAFKA_SECURITY_PROTOCOL = 'PLAINTEXT';
    }
    const env = containerEnv(c, configMaps, secretsOf(docs));
    const args = expandKubeVars(c.args ?? [], env);
    const n = name('deployment');
    started.push(n);
    await runDetached({
      name: n,
      image: imageId,
      args,
      env,
      hosts,
      flags: [...(c.command ? ['--entrypoint', JSON.stringify(c.command)] : []), ...securityFlags(pod, c)],
    });
    const portOf = (p: KubeProbe) => (typeof p.httpGet.port === 'number' ? p.httpGet.port : c.ports!.find((x) => x.name === p.httpGet.port)!.containerPort);
    const probe = async (kind: string, p: KubeProbe | undefined, budgetMs: number) => {
      assert.ok(p, `the Deployment has a ${kind}`);
      const t0 = performance.now();
      const answer = await eventually(
        async () => {
          const s = await containerState(n);
          if (!s.running) return `the container stopped (exit ${s.exitCode}):\n${await logs(n)}`;
          return (await httpStatus(portOf(p), p.httpGet.path, (p.timeoutSeconds ?? 1) * 1000)) === 200 ? 200 : undefined;
        },
        { what: `${kind} GET ${p.httpGet.path}`, timeout: budgetMs, every: (p.periodSeconds ?? 10) * 1000 },
      );
      assert.equal(answer, 200);
      t.diagnostic(`${kind}: ${p.httpGet.path} on port ${portOf(p)} answered 200 after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    };
    const sp = c.startupProbe!;
    await probe('startupProbe', sp, (sp.periodSeconds ?? 10) * (sp.failureThreshold ?? 3) * 1000);
    await probe('livenessProbe', c.livenessProbe, 10_000);
    await probe('readinessProbe', c.readinessProbe, 60_000);
    // The dashboard on the probes' port needs the token from the Secret (dashboard-secret.yaml); the probes did not.
    const dashboardPort = portOf(c.readinessProbe!);
    assert.ok(env.LAGLESS_DASHBOARD_TOKEN, 'the Deployment sets LAGLESS_DASHBOARD_TOKEN');
    assert.equal(await httpStatus(dashboardPort, '/', 3000), 401, 'the dashboard without its token');
    assert.equal(await httpStatus(dashboardPort, '/', 3000, { authorization: `Bearer ${env.LAGLESS_DASHBOARD_TOKEN}` }), 200, 'the dashboard with the Secret\'s token');
    // It took over the group's partitions from where the Compose transformer committed, and goes on.
    const before = committedTotal(await groupStatus(brokers, group));
    await eventually(
      async () => {
        const s = await groupStatus(brokers, group);
        return s.brokerMembers.length === 1 && committedTotal(s) > before;
      },
      { what: 'the Deployment\'s container to commit new records', timeout: 120_000, every: 1000 },
    );
    const graceMs = (pod.terminationGracePeriodSeconds ?? 30) * 1000;
    const { ms, exitCode } = await stop(n, graceMs);
    t.diagnostic(`Deployment's container stopped in ${(ms / 1000).toFixed(1)} s (terminationGracePeriodSeconds ${graceMs / 1000}), exit code ${exitCode}`);
    assert.equal(exitCode, 0);
    assert.ok(ms < graceMs, `stopped within the grace period (${ms} ms)`);
    const s = await eventually(
      async () => {
        const s = await groupStatus(brokers, group);
        return s.brokerMembers.length === 0 ? s : undefined;
      },
      { what: 'the group to have no member', timeout: 30_000, every: 500 },
    );
    await checkOutputs(s, 'Deployment\'s container');
  });

  await t.test('the source and Kafka stop on SIGTERM', async () => {
    for (const s of ['source', 'kafka']) {
      const svc = services.get(s)!;
      const { ms, exitCode } = await stop(name(s), svc.stopGraceMs);
      t.diagnostic(`${s}: stopped in ${(ms / 1000).toFixed(1)} s, exit code ${exitCode}`);
      assert.ok(ms < svc.stopGraceMs, `${s} stopped within ${svc.stopGraceMs} ms`);
      assert.notEqual(exitCode, 137, `${s} was killed`);
    }
  });
});
