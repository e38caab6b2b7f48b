// The deployment files (Kubernetes + KEDA, Dockerfile, docker-compose.yml) checked against each other and against the
// real CLI. No cluster or Docker engine runs them in CI, so these checks are what stands between a typo and a broken
// deployment: every flag must exist in `lagless ... --help`, every value must pass the CLI's own parsers, and the
// numbers that must agree across files (group, topic, port, timeouts, partitions, image) must agree.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { KAFKA_VERSIONS } from '../../src/broker/index.ts';
import { sizeArg } from '../../src/cli/options.ts';
import { ClientProperties, CONFIG_FILE_ENV, envName, resolveConnection, type ClientProperty, type KafkaConnection } from '../../src/kafka/index.ts';
import { parseDuration } from '../../src/common/index.ts';
import { defaultTransformerOptions } from '../../src/runtime/index.ts';
import { DASHBOARD_TOKEN_ENV, dashboardToken } from '../../src/cli/dashboard-token.ts';
import { isLoopbackBind, MIN_DASHBOARD_TOKEN_LENGTH } from '../../src/dashboard/index.ts';
import { checkCommandLine, flagValue as flag, parseHelpFlags, type CommandLine } from '../helpers/cli-flags.ts';

const ROOT = new URL('../../', import.meta.url);
const K8S = 'deploy/kubernetes/';

/**
 * Shutdown budget. On SIGTERM the transformer waits up to --drain-timeout for in-flight records, then up to
 * --drain-timeout again for the output flush (src/runtime/transformer.ts, #close), then commits and leaves the group.
 * If the lead bounds both phases by one deadline, DRAIN_PHASES becomes 1.
 */
const DRAIN_PHASES = 1;
/** Commit, leave the group, close the clients: a few broker round trips, with room for a slow broker. */
const COMMIT_LEAVE_MS = 10_000;
/** Memory sizing rule written next to the limits in deployment.yaml (an estimate, kept honest by this test). */
const RUNTIME_BASE_BYTES = 300e6;
const PER_WORKER_BYTES = 64 * 1024 ** 2;

// ---------------------------------------------------------------------------------------------------------------
// Reading files

function read(path: string): string {
  return readFileSync(new URL(path, ROOT), 'utf8');
}

function exists(path: string): boolean {
  return existsSync(new URL(path, ROOT));
}

/**
 * Parses every document of a YAML file, strictly (duplicate keys are errors). Kubernetes reads YAML 1.1 and most
 * other tools YAML 1.2: a value that differs between the two (`no`, `on`, `0644`, ...) is rejected here.
 */
function loadYaml(path: string): unknown[] {
  const text = read(path);
  const parse = (version: '1.1' | '1.2') => {
    const docs = parseAllDocuments(text, { version, merge: true, uniqueKeys: true, prettyErrors: true });
    assert.ok(Array.isArray(docs), `${path}: no YAML document`);
    return docs.map((d, i) => {
      assert.deepEqual(d.errors.map(String), [], `${path}: document ${i + 1} has YAML errors`);
      assert.deepEqual(d.warnings.map(String), [], `${path}: document ${i + 1} has YAML warnings`);
      return d.toJS() as unknown;
    });
  };
  const v12 = parse('1.2');
  assert.deepEqual(parse('1.1'), v12, `${path}: reads differently as YAML 1.1 (Kubernetes) and 1.2: quote the ambiguous values`);
  return v12;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Walks a dotted path ("spec.template.spec"), failing with the path when a step is missing. */
function at(root: unknown, path: string, where: string): unknown {
  let cur = root;
  for (const key of path.split('.')) {
    assert.ok(isObj(cur), `${where}: ${path}: "${key}" is read from a non-object`);
    cur = cur[key];
  }
  return cur;
}

function obj(root: unknown, path: string, where: string): Obj {
  const v = at(root, path, where);
  assert.ok(isObj(v), `${where}: ${path} must be a mapping, got ${JSON.stringify(v)}`);
  return v;
}

function arr(root: unknown, path: string, where: string): unknown[] {
  const v = at(root, path, where);
  assert.ok(Array.isArray(v), `${where}: ${path} must be a list, got ${JSON.stringify(v)}`);
  return v;
}

function str(root: unknown, path: string, where: string): string {
  const v = at(root, path, where);
  assert.equal(typeof v, 'string', `${where}: ${path} must be a string, got ${JSON.stringify(v)}`);
  return v as string;
}

function num(root: unknown, path: string, where: string): number {
  const v = at(root, path, where);
  assert.ok(typeof v === 'number' && Number.isFinite(v), `${where}: ${path} must be a number, got ${JSON.stringify(v)}`);
  return v;
}

function stringList(root: unknown, path: string, where: string): string[] {
  const list = arr(root, path, where);
  list.forEach((v, i) => assert.equal(typeof v, 'string', `${where}: ${path}[${i}] must be a string (quote it), got ${JSON.stringify(v)}`));
  return list as string[];
}

function assertStringMap(v: unknown, where: string): Record<string, string> {
  assert.ok(isObj(v), `${where} must be a mapping`);
  for (const [k, x] of Object.entries(v)) assert.equal(typeof x, 'string', `${where}.${k} must be a string (quote it), got ${JSON.stringify(x)}`);
  return v as Record<string, string>;
}

function assertSubset(sub: Record<string, string>, sup: Record<string, string>, where: string): void {
  for (const [k, v] of Object.entries(sub)) assert.equal(sup[k], v, `${where}: label ${k}=${v} is not on the pods`);
}

/** Kubernetes CPU quantity ("500m", "2") in cores. */
function cpuCores(q: unknown, where: string): number {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(String(q));
  assert.ok(m, `${where}: not a CPU quantity: ${JSON.stringify(q)}`);
  return Number(m[1]) / (m[2] === 'm' ? 1000 : 1);
}

/** Kubernetes memory quantity ("512Mi", "1Gi", "800M") in bytes. */
function memoryBytes(q: unknown, where: string): number {
  const units: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };
  const m = /^(\d+(?:\.\d+)?)(k|M|G|Ki|Mi|Gi)?$/.exec(String(q));
  assert.ok(m, `${where}: not a memory quantity: ${JSON.stringify(q)}`);
  return Number(m[1]) * units[m[2] ?? '']!;
}

const packageJson = JSON.parse(read('package.json')) as { version: string; devDependencies: Record<string, string> };

// ---------------------------------------------------------------------------------------------------------------
// The CLI: flags from the real --help, values through the real parsers (test/helpers/cli-flags.ts)

// ---------------------------------------------------------------------------------------------------------------
// Kubernetes objects

interface K8s {
  configMap: Obj;
  secret: Obj;
  dashboardSecret: Obj;
  triggerAuthentication: Obj;
  deployment: Obj;
  job: Obj;
  service: Obj;
  kafkaScaledObject: Obj;
  prometheusScaledObject: Obj;
  kustomization: Obj;
}

function single(path: string, kind: string, apiVersion: string): Obj {
  const docs = loadYaml(K8S + path);
  assert.equal(docs.length, 1, `${K8S}${path}: one object expected`);
  const doc = docs[0];
  assert.ok(isObj(doc), `${K8S}${path}: not a mapping`);
  assert.equal(doc.kind, kind, `${K8S}${path}: kind`);
  assert.equal(doc.apiVersion, apiVersion, `${K8S}${path}: apiVersion`);
  if (kind !== 'Kustomization') {
    const name = str(doc, 'metadata.name', path);
    assert.match(name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, `${path}: metadata.name must be a DNS label`);
    assertStringMap(doc.metadata && (doc.metadata as Obj).labels, `${path}: metadata.labels`);
  }
  return doc;
}

let k8sCache: K8s | undefined;
function k8s(): K8s {
  k8sCache ??= {
    configMap: single('configmap.yaml', 'ConfigMap', 'v1'),
    secret: single('secret.yaml', 'Secret', 'v1'),
    dashboardSecret: single('dashboard-secret.yaml', 'Secret', 'v1'),
    triggerAuthentication: single('keda-triggerauthentication.yaml', 'TriggerAuthentication', 'keda.sh/v1alpha1'),
    deployment: single('deployment.yaml', 'Deployment', 'apps/v1'),
    job: single('topics-job.yaml', 'Job', 'batch/v1'),
    service: single('service.yaml', 'Service', 'v1'),
    kafkaScaledObject: single('keda-scaledobject-kafka.yaml', 'ScaledObject', 'keda.sh/v1alpha1'),
    prometheusScaledObject: single('keda-scaledobject-prometheus.yaml', 'ScaledObject', 'keda.sh/v1alpha1'),
    kustomization: single('kustomization.yaml', 'Kustomization', 'kustomize.config.k8s.io/v1beta1'),
  };
  return k8sCache;
}

/** A pod's only container. */
function onlyContainer(workload: Obj, where: string): Obj {
  const containers = arr(workload, 'spec.template.spec.containers', where);
  assert.equal(containers.length, 1, `${where}: one container expected`);
  assert.ok(isObj(containers[0]), `${where}: container is not a mapping`);
  return containers[0];
}

/** The keys of a Secret of deploy/kubernetes (secret.yaml by default), from stringData (or base64 data). */
function secretData(secret = k8s().secret, file = 'secret.yaml'): Record<string, string> {
  const out: Record<string, string> = { ...(isObj(secret.stringData) ? assertStringMap(secret.stringData, `${file} stringData`) : {}) };
  if (isObj(secret.data)) for (const [k, v] of Object.entries(assertStringMap(secret.data, `${file} data`))) out[k] = Buffer.from(v, 'base64').toString('utf8');
  return out;
}

/** The Secrets of deploy/kubernetes by name, with their file. */
function secretsByName(): Map<string, { secret: Obj; file: string }> {
  const { secret, dashboardSecret } = k8s();
  return new Map([
    [str(secret, 'metadata.name', 'secret.yaml'), { secret, file: 'secret.yaml' }],
    [str(dashboardSecret, 'metadata.name', 'dashboard-secret.yaml'), { secret: dashboardSecret, file: 'dashboard-secret.yaml' }],
  ]);
}

/**
 * A container's environment, with configMapKeyRef values read from the ConfigMap and secretKeyRef values from the
 * Secrets of deploy/kubernetes. `fromSecret` names the variables that came from a Secret.
 */
function containerEnv(container: Obj, where: string, fromSecret = new Set<string>()): Map<string, string> {
  const env = new Map<string, string>();
  const { configMap } = k8s();
  for (const [i, e] of arr(container, 'env', where).entries()) {
    const name = str(e, 'name', `${where} env[${i}]`);
    if (isObj(e) && e.value !== undefined) {
      env.set(name, str(e, 'value', `${where} env ${name}`));
      continue;
    }
    if (isObj(e) && isObj(e.valueFrom) && e.valueFrom.secretKeyRef !== undefined) {
      const ref = obj(e, 'valueFrom.secretKeyRef', `${where} env ${name}`);
      const found = secretsByName().get(String(ref.name));
      assert.ok(found, `${where}: env ${name} reads an unknown Secret ${String(ref.name)}`);
      const value = secretData(found.secret, found.file)[str(ref, 'key', `${where} env ${name}`)];
      assert.ok(value, `${where}: env ${name} reads key ${String(ref.key)}, which ${found.file} does not have`);
      env.set(name, value);
      fromSecret.add(name);
      continue;
    }
    const ref = obj(e, 'valueFrom.configMapKeyRef', `${where} env ${name}`);
    assert.equal(ref.name, str(configMap, 'metadata.name', 'configmap.yaml'), `${where}: env ${name} reads an unknown ConfigMap`);
    const data = assertStringMap(configMap.data, 'configmap.yaml data');
    const value = data[str(ref, 'key', `${where} env ${name}`)];
    assert.ok(value, `${where}: env ${name} reads key ${String(ref.key)}, which configmap.yaml does not have`);
    env.set(name, value);
  }
  return env;
}

/** Expands $(VAR) in container args the way the kubelet does, from the container's own environment. */
function expandArgs(args: string[], env: Map<string, string>, where: string): string[] {
  return args.map((a) =>
    a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (_, v: string) => {
      const value = env.get(v);
      assert.ok(value !== undefined, `${where}: $(${v}) is not in the container's env`);
      return value;
    }),
  );
}

/** A probe's or Service's port: a number, or the name of one of the container's ports. */
function resolvePort(port: unknown, container: Obj, where: string): number {
  if (typeof port === 'number') return port;
  const match = arr(container, 'ports', where).find((p) => isObj(p) && p.name === port);
  assert.ok(match, `${where}: no container port is named ${JSON.stringify(port)}`);
  return num(match, 'containerPort', where);
}

interface Transformer {
  container: Obj;
  env: Map<string, string>;
  line: CommandLine;
  group: string;
  from: string;
  brokers: string;
  httpPort: number;
  drainMs: number;
  idleMs: number;
  minWorkers: number;
  maxWorkers: number;
}

let transformerCache: Promise<Transformer> | undefined;
function transformer(): Promise<Transformer> {
  transformerCache ??= (async () => {
    const where = 'deployment.yaml';
    const { deployment } = k8s();
    const container = onlyContainer(deployment, where);
    const env = containerEnv(container, where);
    const args = expandArgs(stringList(container, 'args', where), env, where);
    const line = await checkCommandLine(where, args);
    return {
      container,
      env,
      line,
      group: flag(line, '--group', where),
      from: flag(line, '--from', where),
      brokers: flag(line, '--brokers', where),
      httpPort: Number(flag(line, '--http-port', where)),
      drainMs: parseDuration(flag(line, '--drain-timeout', where)),
      idleMs: parseDuration(flag(line, '--idle-timeout', where)),
      minWorkers: Number(flag(line, '--min-workers', where)),
      maxWorkers: Number(flag(line, '--max-workers', where)),
    };
  })();
  return transformerCache;
}

/** The partition count of `urls` as created by topics-job.yaml: the documented ceiling on replicas. */
interface TopicsJob {
  line: CommandLine;
  topic: string;
  partitions: number;
  image: string;
}

let topicsJobCache: Promise<TopicsJob> | undefined;
function topicsJob(): Promise<TopicsJob> {
  topicsJobCache ??= (async () => {
    const where = 'topics-job.yaml';
    const container = onlyContainer(k8s().job, where);
    const args = expandArgs(stringList(container, 'args', where), containerEnv(container, where), where);
    const line = await checkCommandLine(where, args);
    return { line, topic: line.operands[0]!, partitions: Number(flag(line, '--partitions', where)), image: str(container, 'image', where) };
  })();
  return topicsJobCache;
}

function imageRef(image: string, where: string): { name: string; tag: string } {
  const m = /^([^:@]+(?::\d+)?(?:\/[^:@]+)*):([\w][\w.-]*)$/.exec(image);
  assert.ok(m, `${where}: image ${image} must be name:tag`);
  return { name: m[1]!, tag: m[2]! };
}

// ---------------------------------------------------------------------------------------------------------------

describe('the flag checker itself', () => {
  test('rejects an unknown flag and a value the real CLI refuses', async () => {
    await assert.rejects(checkCommandLine('mutant', ['topics', 'create', 'urls', '--partitions', '16', '--no-such-flag', 'x']), /--no-such-flag is not an option/);
    await assert.rejects(checkCommandLine('mutant', ['topics', 'create', 'urls', '--partitions', 'sixteen']), /rejects these arguments.*sixteen/s);
    await assert.rejects(checkCommandLine('mutant', ['topics', 'create', '--partitions', '16']), /takes 1 operand/);
    // run palette: flags and values checked against its real --help.
    await assert.rejects(checkCommandLine('mutant', ['run', 'palette', '--drain-timeout', '30 seconds']), /30 seconds/);
    await assert.rejects(checkCommandLine('mutant', ['run', 'palette', '--grup', 'palettes']), /--grup is not an option/);
  });

  test('reads flags and their arity from commander help text', () => {
    const flags = parseHelpFlags(
      'Usage: lagless x [options]\n\nOptions:\n  --from <topic>             input topic\n  -q, --quiet                quiet\n' +
        '  --keep-serving [duration]  keep serving\n                             --not-a-flag (wrapped description)\n  -h, --help  help\n\n' +
        'Kafka connection options:\n  --kafka-config <file>  a file\n\nExample:\n  --also-not-a-flag\n',
    );
    assert.deepEqual([...flags], [['--from', 'required'], ['--quiet', 'none'], ['--keep-serving', 'optional'], ['--help', 'none'], ['--kafka-config', 'required']]);
  });
});

describe('deploy/kubernetes', () => {
  test('every YAML file parses, and kustomization.yaml lists them with exactly one ScaledObject', () => {
    const { kustomization } = k8s();
    const resources = stringList(kustomization, 'resources', 'kustomization.yaml');
    for (const r of resources) assert.ok(exists(K8S + r), `kustomization.yaml: ${r} does not exist`);
    const files = readdirSync(new URL(K8S, ROOT)).filter((f) => /\.ya?ml$/.test(f));
    // The Prometheus ScaledObject and the share-group one are documented alternatives: KEDA refuses two ScaledObjects
    // on one Deployment.
    const alternatives = ['keda-scaledobject-prometheus.yaml', 'keda-scaledobject-share.yaml'];
    for (const f of files) {
      loadYaml(K8S + f);
      if (f !== 'kustomization.yaml' && !alternatives.includes(f)) assert.ok(resources.includes(f), `kustomization.yaml does not list ${f}`);
    }
    const scaledObjects = resources.filter((r) => loadYaml(K8S + r).some((d) => isObj(d) && d.kind === 'ScaledObject'));
    assert.equal(scaledObjects.length, 1, `kustomization.yaml must list exactly one ScaledObject, got ${scaledObjects.join(', ')}`);
  });

  test('the Deployment runs `lagless run palette` with flags and values the CLI accepts', async (t) => {
    const tr = await transformer();
    const { deployment } = k8s();
    assert.equal(tr.container.command, undefined, 'deployment.yaml: no `command:` (it would replace the image ENTRYPOINT `node ... dist/cli/main.js`)');
    assert.deepEqual(stringList(tr.container, 'args', 'deployment.yaml').slice(0, 2), ['run', 'palette']);
    assert.equal(at(deployment, 'spec.replicas', 'deployment.yaml'), undefined, 'deployment.yaml: no spec.replicas: KEDA owns the count, and apply would reset it');
    // Brokers come from the ConfigMap, the single place to edit.
    assert.equal(tr.brokers, assertStringMap(k8s().configMap.data, 'configmap.yaml data').KAFKA_BROKERS);
    assert.equal(flag(tr.line, '--http-host', 'deployment.yaml'), '0.0.0.0', 'deployment.yaml: probes and Prometheus reach the pod on its IP, not on loopback');
    assert.ok(tr.minWorkers >= 1 && tr.minWorkers <= tr.maxWorkers, 'deployment.yaml: 1 <= --min-workers <= --max-workers');
  });

  test('the dashboard on --http-host beyond loopback has its token, from its own Secret, never in the arguments', async () => {
    const tr = await transformer();
    assert.ok(!tr.line.flags.has('--no-dashboard'), 'deployment.yaml serves the dashboard (else this test has nothing to check)');
    assert.ok(!isLoopbackBind(flag(tr.line, '--http-host', 'deployment.yaml')), 'deployment.yaml binds beyond loopback');
    const fromSecret = new Set<string>();
    const env = containerEnv(tr.container, 'deployment.yaml', fromSecret);
    assert.ok(fromSecret.has(DASHBOARD_TOKEN_ENV), `deployment.yaml: ${DASHBOARD_TOKEN_ENV} must come from a Secret`);
    const ref = obj(arr(tr.container, 'env', 'deployment.yaml').find((e) => isObj(e) && e.name === DASHBOARD_TOKEN_ENV), 'valueFrom.secretKeyRef', 'deployment.yaml');
    assert.equal(ref.name, str(k8s().dashboardSecret, 'metadata.name', 'dashboard-secret.yaml'), 'the token has a Secret of its own (not the Kafka login\'s)');
    const token = env.get(DASHBOARD_TOKEN_ENV)!;
    assert.ok(token.length >= MIN_DASHBOARD_TOKEN_LENGTH, `dashboard-secret.yaml: the token must have at least ${MIN_DASHBOARD_TOKEN_LENGTH} characters`);
    assert.doesNotThrow(() => dashboardToken(Object.fromEntries(env), flag(tr.line, '--http-host', 'deployment.yaml'), '--http-host'), 'the CLI accepts it');
    assert.ok(!stringList(tr.container, 'args', 'deployment.yaml').join(' ').includes(token), 'deployment.yaml: the token is in the arguments');
  });

  test('labels: the selector, the spread constraint and the Service select the transformer pods', () => {
    const { deployment, service } = k8s();
    const podLabels = assertStringMap(at(deployment, 'spec.template.metadata.labels', 'deployment.yaml'), 'pod labels');
    assertSubset(assertStringMap(at(deployment, 'spec.selector.matchLabels', 'deployment.yaml'), 'selector'), podLabels, 'deployment.yaml selector');
    for (const [i, c] of arr(deployment, 'spec.template.spec.topologySpreadConstraints', 'deployment.yaml').entries()) {
      assertSubset(assertStringMap(at(c, 'labelSelector.matchLabels', 'deployment.yaml'), 'spread'), podLabels, `deployment.yaml topologySpreadConstraints[${i}]`);
    }
    assertSubset(assertStringMap(at(service, 'spec.selector', 'service.yaml'), 'service selector'), podLabels, 'service.yaml selector');
  });

  test('probes and the metrics port are on --http-port with the agreed paths', async () => {
    const tr = await transformer();
    const ports = arr(tr.container, 'ports', 'deployment.yaml');
    assert.ok(ports.some((p) => isObj(p) && p.containerPort === tr.httpPort), `deployment.yaml: no containerPort ${tr.httpPort} (--http-port)`);
    const expected: Record<string, string> = { startupProbe: '/healthz', livenessProbe: '/healthz', readinessProbe: '/readyz' };
    for (const [probe, path] of Object.entries(expected)) {
      const get = obj(tr.container, `${probe}.httpGet`, 'deployment.yaml');
      assert.equal(get.path, path, `deployment.yaml: ${probe} path`);
      assert.equal(resolvePort(get.port, tr.container, `deployment.yaml ${probe}`), tr.httpPort, `deployment.yaml: ${probe} port must be --http-port`);
    }
    const annotations = assertStringMap(at(k8s().deployment, 'spec.template.metadata.annotations', 'deployment.yaml'), 'pod annotations');
    assert.equal(annotations['prometheus.io/port'], String(tr.httpPort), 'deployment.yaml: prometheus.io/port must be --http-port');
    assert.equal(annotations['prometheus.io/path'], '/metrics');
    const { service } = k8s();
    const svcPorts = arr(service, 'spec.ports', 'service.yaml');
    assert.ok(svcPorts.some((p) => isObj(p) && resolvePort(p.targetPort, tr.container, 'service.yaml') === tr.httpPort), 'service.yaml: no port targets --http-port');
  });

  test('termination grace outlasts the drain (both phases) plus commit and leave', async () => {
    const tr = await transformer();
    const grace = num(k8s().deployment, 'spec.template.spec.terminationGracePeriodSeconds', 'deployment.yaml');
    const needed = DRAIN_PHASES * tr.drainMs + COMMIT_LEAVE_MS;
    assert.ok(grace * 1000 > needed, `deployment.yaml: terminationGracePeriodSeconds ${grace} must exceed ${needed / 1000} s (${DRAIN_PHASES} x --drain-timeout + commit/leave)`);
  });

  test('resources fit the workers and the buffers', async () => {
    const tr = await transformer();
    const res = obj(tr.container, 'resources', 'deployment.yaml');
    const limitCpu = cpuCores(at(res, 'limits.cpu', 'deployment.yaml'), 'limits.cpu');
    const requestCpu = cpuCores(at(res, 'requests.cpu', 'deployment.yaml'), 'requests.cpu');
    assert.ok(limitCpu > tr.maxWorkers, `deployment.yaml: limits.cpu ${limitCpu} must exceed --max-workers ${tr.maxWorkers} (the main thread needs CPU too)`);
    assert.ok(requestCpu >= tr.minWorkers && requestCpu <= limitCpu, `deployment.yaml: requests.cpu ${requestCpu} must cover --min-workers ${tr.minWorkers}`);
    const buffered = sizeArg(tr.line.flags.get('--max-buffered-bytes')?.[0] ?? '256MiB');
    const limitMem = memoryBytes(at(res, 'limits.memory', 'deployment.yaml'), 'limits.memory');
    const needed = RUNTIME_BASE_BYTES + buffered + PER_WORKER_BYTES * tr.maxWorkers;
    assert.ok(limitMem >= needed, `deployment.yaml: limits.memory ${limitMem} B < ${needed} B (runtime + --max-buffered-bytes + per-worker decode)`);
    assert.ok(memoryBytes(at(res, 'requests.memory', 'deployment.yaml'), 'requests.memory') <= limitMem);
  });

  test('pods run as the image user, not root, read-only', () => {
    const docker = dockerfile();
    for (const [file, workload] of [['deployment.yaml', k8s().deployment], ['topics-job.yaml', k8s().job]] as const) {
      const pod = obj(workload, 'spec.template.spec.securityContext', file);
      assert.equal(pod.runAsNonRoot, true, `${file}: runAsNonRoot`);
      assert.equal(pod.runAsUser, docker.uid, `${file}: runAsUser must be the Dockerfile's USER ${docker.uid}`);
      const c = obj(onlyContainer(workload, file), 'securityContext', file);
      assert.equal(c.allowPrivilegeEscalation, false, `${file}: allowPrivilegeEscalation`);
      assert.equal(c.readOnlyRootFilesystem, true, `${file}: readOnlyRootFilesystem`);
    }
  });

  test('one image everywhere: Deployment, Job, kustomization (tag = package version)', async () => {
    const tr = await transformer();
    const image = str(tr.container, 'image', 'deployment.yaml');
    const ref = imageRef(image, 'deployment.yaml');
    assert.equal(ref.tag, packageJson.version, 'deployment.yaml: image tag must be the package version');
    assert.equal((await topicsJob()).image, image, 'topics-job.yaml: same image as the Deployment');
    const images = arr(k8s().kustomization, 'images', 'kustomization.yaml');
    const entry = images.find((i) => isObj(i) && i.name === ref.name);
    assert.ok(entry, `kustomization.yaml: no images entry named ${ref.name}`);
    assert.equal(str(entry, 'newTag', 'kustomization.yaml'), packageJson.version);
  });

  test('TLS and SASL: both workloads connect alike, the password only from the Secret, the CA mounted from it', async () => {
    const { deployment, job, configMap, secret } = k8s();
    const known = new Set([...Object.keys(ClientProperties).map((p) => envName(p as ClientProperty)), CONFIG_FILE_ENV]);
    const password = secretData().password;
    assert.ok(password, 'secret.yaml: a password key');
    const connections: KafkaConnection[] = [];
    for (const [where, workload] of [['deployment.yaml', deployment], ['topics-job.yaml', job]] as const) {
      const container = onlyContainer(workload, where);
      const fromSecret = new Set<string>();
      const env = containerEnv(container, where, fromSecret);
      for (const name of env.keys()) if (name.startsWith('KAFKA_')) assert.ok(known.has(name), `${where}: Lagless reads no variable ${name}`);
      assert.ok(fromSecret.has('KAFKA_SASL_PASSWORD'), `${where}: KAFKA_SASL_PASSWORD must come from the Secret`);
      assert.ok(!stringList(container, 'args', where).join(' ').includes(password), `${where}: the password is in the arguments`);
      // The CA file is the Secret's ca.crt, mounted read-only.
      const ca = env.get('KAFKA_SSL_CA_LOCATION');
      if (ca !== undefined) {
        const mount = arr(container, 'volumeMounts', where).find((m) => isObj(m) && ca.startsWith(`${String(m.mountPath)}/`));
        assert.ok(isObj(mount), `${where}: nothing is mounted at ${ca}`);
        assert.equal(mount.readOnly, true, `${where}: the CA volume is mounted read-only`);
        const volume = arr(workload, 'spec.template.spec.volumes', where).find((v) => isObj(v) && v.name === mount.name);
        assert.equal(str(volume, 'secret.secretName', where), str(secret, 'metadata.name', 'secret.yaml'), `${where}: the CA comes from the Secret`);
        const items = arr(volume, 'secret.items', where);
        assert.ok(items.every((it) => isObj(it) && it.key !== 'password'), `${where}: the password is not mounted as a file`);
        const item = items.find((it) => isObj(it) && ca === `${String(mount.mountPath)}/${String(it.path)}`);
        assert.ok(isObj(item) && secretData()[String(item.key)]?.includes('BEGIN CERTIFICATE'), `${where}: ${ca} is a certificate key of the Secret`);
        env.delete('KAFKA_SSL_CA_LOCATION'); // the file exists only in a pod: resolve the rest
      }
      connections.push(resolveConnection({ env: Object.fromEntries(env) }).connection);
    }
    assert.ok(!JSON.stringify(configMap).includes(password), 'configmap.yaml holds no password');
    const [d, j] = connections;
    assert.deepEqual(JSON.parse(JSON.stringify(j)), JSON.parse(JSON.stringify(d)), 'the Job and the Deployment connect the same way');
    assert.equal(d!.sasl?.mechanism, 'SCRAM-SHA-512');
    assert.ok(d!.tls, 'TLS is on');
  });

  test('KEDA logs in like the transformer: one Secret, the same mechanism and TLS', async () => {
    const file = 'keda-triggerauthentication.yaml';
    const { triggerAuthentication: ta, kafkaScaledObject: so, secret } = k8s();
    const trigger = arr(so, 'spec.triggers', 'keda-scaledobject-kafka.yaml')[0];
    assert.equal(str(trigger, 'authenticationRef.name', 'keda-scaledobject-kafka.yaml'), str(ta, 'metadata.name', file), 'the kafka trigger uses the TriggerAuthentication');
    const params = new Map<string, string>();
    for (const [i, r] of arr(ta, 'spec.secretTargetRef', file).entries()) {
      assert.equal(str(r, 'name', `${file} [${i}]`), str(secret, 'metadata.name', 'secret.yaml'), `${file}: every parameter comes from the transformer's Secret`);
      const value = secretData()[str(r, 'key', `${file} [${i}]`)];
      assert.ok(value !== undefined, `${file}: key ${String((r as Obj).key)} is not in secret.yaml`);
      params.set(str(r, 'parameter', `${file} [${i}]`), value);
    }
    const env = (await transformer()).env;
    const mechanism = env.get('KAFKA_SASL_MECHANISM') ?? '';
    const kedaNames: Record<string, string> = { PLAIN: 'plaintext', 'SCRAM-SHA-256': 'scram_sha256', 'SCRAM-SHA-512': 'scram_sha512' };
    assert.equal(params.get('sasl'), kedaNames[mechanism], `${file}: sasl must be KEDA's name for ${mechanism}`);
    assert.equal(params.get('username'), env.get('KAFKA_SASL_USERNAME'));
    assert.equal(params.get('password'), env.get('KAFKA_SASL_PASSWORD'));
    assert.equal(params.get('tls'), /SSL$/.test(env.get('KAFKA_SECURITY_PROTOCOL') ?? '') ? 'enable' : undefined, `${file}: tls enable exactly when the protocol uses TLS`);
    if (env.has('KAFKA_SSL_CA_LOCATION')) assert.match(params.get('ca') ?? '', /BEGIN CERTIFICATE/, `${file}: KEDA trusts the same CA`);
  });

  test('the topics Job creates the input topic; its partition count caps both ScaledObjects', async (t) => {
    const tr = await transformer();
    const job = await topicsJob();
    assert.equal(flag(job.line, '--brokers', 'topics-job.yaml'), tr.brokers, 'topics-job.yaml: same brokers as the Deployment');
    assert.equal(job.topic, tr.from, 'topics-job.yaml must create the Deployment\'s --from topic');
    for (const [file, so] of [['keda-scaledobject-kafka.yaml', k8s().kafkaScaledObject], ['keda-scaledobject-prometheus.yaml', k8s().prometheusScaledObject]] as const) {
      const max = num(so, 'spec.maxReplicaCount', file);
      const min = num(so, 'spec.minReplicaCount', file);
      assert.ok(max <= job.partitions, `${file}: maxReplicaCount ${max} > ${job.partitions} partitions of ${job.topic}: the extra replicas would get no partition`);
      assert.ok(min >= 0 && min <= max, `${file}: 0 <= minReplicaCount <= maxReplicaCount`);
    }
  });

  describe('KEDA ScaledObjects', () => {
    /** What both variants share: the target, the idle timeout, the polling, the fallback. */
    async function checkCommon(file: string, so: Obj, trigger: Obj): Promise<void> {
      const tr = await transformer();
      assert.equal(str(so, 'spec.scaleTargetRef.name', file), str(k8s().deployment, 'metadata.name', 'deployment.yaml'), `${file}: scaleTargetRef must name the Deployment`);
      const kind = at(so, 'spec.scaleTargetRef.kind', file);
      assert.ok(kind === undefined || kind === 'Deployment', `${file}: scaleTargetRef.kind`);
      const idleS = tr.idleMs / 1000;
      assert.equal(num(so, 'spec.cooldownPeriod', file), idleS, `${file}: cooldownPeriod must be --idle-timeout (${idleS} s)`);
      const polling = num(so, 'spec.pollingInterval', file);
      assert.ok(polling > 0 && polling < idleS, `${file}: pollingInterval ${polling} must be shorter than the idle timeout`);
      assertStringMap(trigger.metadata, `${file}: trigger metadata (KEDA reads strings only)`);
      if (at(so, 'spec.fallback', file) !== undefined) {
        // KEDA's fallback only works with AverageValue targets (the default metricType).
        assert.ok(trigger.metricType === undefined || trigger.metricType === 'AverageValue', `${file}: fallback needs metricType AverageValue`);
        assert.ok(num(so, 'spec.fallback.replicas', file) <= num(so, 'spec.maxReplicaCount', file), `${file}: fallback.replicas <= maxReplicaCount`);
      }
    }

    function onlyTrigger(file: string, so: Obj, type: string): Obj {
      const triggers = arr(so, 'spec.triggers', file);
      assert.equal(triggers.length, 1, `${file}: one trigger expected`);
      assert.ok(isObj(triggers[0]));
      assert.equal(triggers[0].type, type, `${file}: trigger type`);
      return triggers[0];
    }

    test('kafka trigger: the Deployment\'s group, topic and brokers; partition cap; lag threshold as derived', async () => {
      const file = 'keda-scaledobject-kafka.yaml';
      const so = k8s().kafkaScaledObject;
      const tr = await transformer();
      const trigger = onlyTrigger(file, so, 'kafka');
      await checkCommon(file, so, trigger);
      const meta = assertStringMap(trigger.metadata, `${file} metadata`);
      assert.equal(meta.consumerGroup, tr.group, `${file}: consumerGroup must be the Deployment's --group`);
      assert.equal(meta.topic, tr.from, `${file}: topic must be the Deployment's --from`);
      // Brokers: literally, or (as here) from the target container's environment, which KEDA resolves.
      if (meta.bootstrapServersFromEnv !== undefined) {
        const container = str(so, 'spec.scaleTargetRef.envSourceContainerName', file);
        assert.equal(container, str(tr.container, 'name', 'deployment.yaml'), `${file}: envSourceContainerName must be the transformer container`);
        assert.equal(tr.env.get(meta.bootstrapServersFromEnv), tr.brokers, `${file}: bootstrapServersFromEnv must hold the Deployment's --brokers`);
      } else {
        assert.equal(meta.bootstrapServers, tr.brokers, `${file}: bootstrapServers must be the Deployment's --brokers`);
      }
      assert.equal(meta.allowIdleConsumers, 'false', `${file}: allowIdleConsumers must be "false" (replicas beyond the partitions idle)`);
      assert.equal(meta.offsetResetPolicy, 'earliest', `${file}: a new Lagless group starts at the earliest offset`);
      // Kafka 4 brokers removed protocol versions older than 2.1 (KIP-896); KEDA's client defaults to 1.0.0.
      const [major = 0, minor = 0] = (meta.version ?? '1.0.0').split('.').map(Number);
      assert.ok(major > 2 || (major === 2 && minor >= 1), `${file}: version must be 2.1.0 or newer for Kafka 4 brokers, got ${meta.version ?? '1.0.0 (default)'}`);

      assert.match(meta.lagThreshold ?? '', /^[1-9]\d*$/, `${file}: lagThreshold must be a positive integer string`);
      const derivation = assertStringMap(at(so, 'metadata.annotations', file), 'annotations')['lagless.dev/lag-threshold-derivation'] ?? '';
      const m = /^(\d+(?:\.\d+)?) records\/s per replica x (\S+) acceptable delay$/.exec(derivation);
      assert.ok(m, `${file}: annotation lagless.dev/lag-threshold-derivation must read "R records/s per replica x D acceptable delay"`);
      const delayMs = parseDuration(m[2]!);
      assert.equal(Number(meta.lagThreshold), (Number(m[1]) * delayMs) / 1000, `${file}: lagThreshold must be rate x delay`);
      const commitMs = parseDuration(tr.line.flags.get('--commit-interval')?.[0] ?? `${defaultTransformerOptions.commitIntervalMs}ms`);
      assert.ok(delayMs > commitMs, `${file}: the accepted delay must exceed --commit-interval, or a group that keeps up looks behind`);

      const down = obj(so, 'spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown', file);
      assert.equal(down.stabilizationWindowSeconds, tr.idleMs / 1000, `${file}: scale-down window must be the idle timeout`);
    });

    test('prometheus trigger: replicas = the policy\'s wish for the Deployment\'s group', async () => {
      const file = 'keda-scaledobject-prometheus.yaml';
      const so = k8s().prometheusScaledObject;
      const tr = await transformer();
      const trigger = onlyTrigger(file, so, 'prometheus');
      await checkCommon(file, so, trigger);
      const meta = assertStringMap(trigger.metadata, `${file} metadata`);
      assert.match(meta.serverAddress ?? '', /^https?:\/\/[^/]+/, `${file}: serverAddress`);
      // max(): every pod reports the same group-wide wish; a sum would multiply it by the number of pods.
      const q = /^max\(\s*lagless_desired_replicas\{([^}]*)\}\s*\)$/.exec(meta.query ?? '');
      assert.ok(q, `${file}: query must be max(lagless_desired_replicas{...}), got ${meta.query}`);
      const labels = Object.fromEntries([...q[1]!.matchAll(/(\w+)\s*=\s*"([^"]*)"/g)].map((x) => [x[1], x[2]]));
      assert.equal(labels.group, tr.group, `${file}: the query's group label must be the Deployment's --group`);
      // ceil(W / 1) = W replicas.
      assert.equal(trigger.metricType, 'AverageValue', `${file}: metricType`);
      assert.equal(Number(meta.threshold), 1, `${file}: threshold must be 1 so that replicas = the wish`);
      assert.ok(num(so, 'spec.minReplicaCount', file) >= 1, `${file}: minReplicaCount >= 1 (the metric comes from the pods: at 0 nothing reports)`);
      const behavior = obj(so, 'spec.advanced.horizontalPodAutoscalerConfig.behavior', file);
      for (const dir of ['scaleUp', 'scaleDown']) {
        assert.equal(at(behavior, `${dir}.stabilizationWindowSeconds`, file), 0, `${file}: ${dir} window must be 0 (the policy already has its idle timeout)`);
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Dockerfile

interface DockerfileFacts {
  baseImage: string;
  nodeVersion: string;
  uid: number;
  entrypoint: string[];
  exposed: number[];
  instructions: { op: string; args: string }[];
}

function dockerfile(): DockerfileFacts {
  const lines = read('Dockerfile')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const instructions = lines.map((l) => {
    const m = /^(\w+)\s+(.*)$/.exec(l);
    assert.ok(m, `Dockerfile: cannot read "${l}"`);
    return { op: m[1]!.toUpperCase(), args: m[2]! };
  });
  const argDefaults = new Map<string, string>();
  for (const i of instructions.filter((x) => x.op === 'ARG')) {
    const [k, v] = i.args.split('=');
    if (k && v) argDefaults.set(k, v);
  }
  const froms = instructions.filter((i) => i.op === 'FROM');
  assert.ok(froms.length >= 1, 'Dockerfile: no FROM');
  const baseImage = froms.at(-1)!.args.split(/\s+/)[0]!.replace(/\$\{(\w+)\}/g, (_, k: string) => argDefaults.get(k) ?? `\${${k}}`);
  const nodeVersion = /^node:(\d+\.\d+\.\d+|\d+)(?:-|$)/.exec(baseImage)?.[1] ?? '';
  const users = instructions.filter((i) => i.op === 'USER');
  assert.ok(users.length > 0, 'Dockerfile: no USER (the image would run as root)');
  const user = users.at(-1)!.args.split(':')[0]!;
  assert.match(user, /^\d+$/, 'Dockerfile: USER must be numeric so that Kubernetes runAsNonRoot can verify it');
  const entry = instructions.filter((i) => i.op === 'ENTRYPOINT').at(-1);
  assert.ok(entry, 'Dockerfile: no ENTRYPOINT');
  const entrypoint = JSON.parse(entry.args) as string[];
  const exposed = instructions.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/).map((p) => Number(p.split('/')[0])));
  return { baseImage, nodeVersion, uid: Number(user), entrypoint, exposed, instructions };
}

/** Docker's .dockerignore semantics, enough for allowlists: the last matching pattern wins; a pattern matching a
 * directory matches everything under it; `!` re-includes. */
function dockerIgnored(path: string, patterns: string[]): boolean {
  let ignored = false;
  const parts = path.split('/');
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = (negate ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const re = new RegExp(`^${pattern.split('**').map((s) => s.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')).join('.*')}$`);
    const matches = parts.some((_, i) => re.test(parts.slice(0, i + 1).join('/')));
    if (matches) ignored = !negate;
  }
  return ignored;
}

describe('Dockerfile', () => {
  test('Node 24 base image, the same Node version the project pins', () => {
    const d = dockerfile();
    assert.match(d.baseImage, /^node:/, 'Dockerfile: base image must be the official node image');
    assert.equal(d.nodeVersion.split('.')[0], '24', `Dockerfile: Node 24 expected, got ${d.baseImage}`);
    assert.equal(d.nodeVersion, packageJson.devDependencies.node, 'Dockerfile: NODE_VERSION must equal the "node" devDependency (what the tests run on)');
  });

  test('builds dist/ in a build stage; the image installs production dependencies from the lockfile, then copies the build', () => {
    const d = dockerfile();
    const stages = d.instructions.reduce<{ op: string; args: string }[][]>((acc, i) => (i.op === 'FROM' ? [...acc, [i]] : (acc.at(-1)?.push(i), acc)), []);
    assert.ok(stages.length >= 2, 'Dockerfile: a build stage and the image');
    const build = stages.find((s) => / AS build$/i.test(s[0]!.args));
    assert.ok(build, 'Dockerfile: a stage named "build"');
    assert.ok(build.some((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args) && !/--omit=dev/.test(i.args)), 'build stage: npm ci with the devDependencies (TypeScript)');
    assert.ok(build.some((i) => i.op === 'COPY' && /\bsrc\//.test(i.args)), 'build stage: copies src/');
    assert.ok(build.some((i) => i.op === 'RUN' && /scripts\/build\.ts/.test(i.args)), 'build stage: runs scripts/build.ts (as npm pack does through "prepare")');
    const image = stages.at(-1)!;
    const ci = image.findIndex((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
    assert.ok(ci >= 0, 'Dockerfile: npm ci in the image');
    assert.match(image[ci]!.args, /--omit=dev/, 'Dockerfile: npm ci --omit=dev in the image');
    const lockCopy = image.findIndex((i) => i.op === 'COPY' && /package-lock\.json/.test(i.args));
    assert.ok(lockCopy >= 0 && lockCopy < ci, 'Dockerfile: package-lock.json must be copied before npm ci');
    assert.ok(image.some((i) => i.op === 'COPY' && /--from=build\s+\/app\/dist\/?\s/.test(i.args)), 'the image copies dist/ from the build stage');
    assert.ok(!image.some((i) => i.op === 'COPY' && /(^|\s)src\//.test(i.args)), 'the image holds no TypeScript sources (it runs the build, as the package does)');
  });

  test('runs as a non-root user, its ENTRYPOINT is the build of src/cli/main.ts, the build inputs reach the context, the metrics port is exposed', async () => {
    const d = dockerfile();
    assert.notEqual(d.uid, 0, 'Dockerfile: USER must not be root');
    assert.equal(d.entrypoint[0], 'node');
    const main = d.entrypoint.find((a) => a.endsWith('.js')) ?? '';
    assert.equal(main, 'dist/cli/main.js', 'Dockerfile: ENTRYPOINT runs the build of the CLI');
    assert.ok(exists('src/cli/main.ts'), 'its source exists');
    const build = JSON.parse(read('tsconfig.build.json')) as { compilerOptions: { rootDir: string; outDir: string } };
    assert.deepEqual([build.compilerOptions.rootDir, build.compilerOptions.outDir], ['src', 'dist'], 'tsconfig.build.json compiles src/ into dist/ (src/cli/main.ts -> dist/cli/main.js)');
    const ignore = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const p of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build.ts', 'src/cli/main.ts', 'src/cli/program.ts', 'bin/lagless.js', 'assets/images/coffee.jpg', 'assets/dashboard/app.js']) {
      assert.ok(!dockerIgnored(p, ignore), `.dockerignore keeps ${p} out of the build context`);
    }
    for (const p of ['node_modules/sharp/package.json', 'dist/cli/main.js', '.git/HEAD', 'test/deploy/deploy.test.ts', 'examples/thumbnailer/job.ts', '.lagless/cache/x']) {
      assert.ok(dockerIgnored(p, ignore), `.dockerignore lets ${p} into the build context`);
    }
    assert.ok(d.exposed.includes((await transformer()).httpPort), 'Dockerfile: EXPOSE the --http-port of deployment.yaml');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// docker-compose.yml

describe('docker-compose.yml', () => {
  function compose(): Obj {
    const docs = loadYaml('docker-compose.yml');
    assert.equal(docs.length, 1);
    assert.ok(isObj(docs[0]));
    return docs[0];
  }

  function service(name: string): Obj {
    return obj(compose(), `services.${name}`, 'docker-compose.yml');
  }

  async function commandOf(name: string): Promise<CommandLine> {
    return checkCommandLine(`docker-compose.yml ${name}`, stringList(service(name), 'command', `docker-compose.yml ${name}`));
  }

  const LAGLESS = ['topics', 'source', 'transformer'];

  test('Kafka: the official image at a version Lagless runs locally, single-node KRaft settings', () => {
    const kafka = service('kafka');
    const image = str(kafka, 'image', 'kafka');
    const m = /^apache\/kafka:(\d+\.\d+\.\d+)$/.exec(image);
    assert.ok(m, `kafka: image must be apache/kafka:X.Y.Z, got ${image}`);
    assert.ok((KAFKA_VERSIONS as readonly string[]).includes(m[1]!), `kafka: ${m[1]} is not one of the versions \`lagless kafka start\` runs (${KAFKA_VERSIONS.join(', ')})`);
    const env = Object.fromEntries(Object.entries(obj(kafka, 'environment', 'kafka')).map(([k, v]) => [k, String(v)]));
    assert.deepEqual(new Set(env.KAFKA_PROCESS_ROLES?.split(',')), new Set(['broker', 'controller']), 'kafka: KRaft combined mode');
    const voters = /^(\d+)@([\w.-]+):(\d+)$/.exec(env.KAFKA_CONTROLLER_QUORUM_VOTERS ?? '');
    assert.ok(voters && voters[1] === env.KAFKA_NODE_ID, 'kafka: the quorum voter must be this node');
    const controller = env.KAFKA_CONTROLLER_LISTENER_NAMES ?? '';
    assert.match(env.KAFKA_LISTENERS ?? '', new RegExp(`(^|,)${controller}://[^,]*:${voters[3]}(,|$)`), 'kafka: the controller listener must be on the voter port');
    assert.equal(Buffer.from(env.CLUSTER_ID ?? '', 'base64url').length, 16, 'kafka: CLUSTER_ID must be 16 bytes in base64url');
    assert.equal(env.CLUSTER_ID?.length, 22, 'kafka: CLUSTER_ID must be 22 characters');
    // One broker cannot hold 3 replicas of the internal topics: groups and transactions would not work.
    for (const k of ['KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR', 'KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR', 'KAFKA_TRANSACTION_STATE_LOG_MIN_ISR']) {
      assert.equal(env[k], '1', `kafka: ${k} must be 1 on a single broker`);
    }
    for (const p of stringList(kafka, 'ports', 'kafka')) assert.match(p, /^127\.0\.0\.1:/, `kafka: port ${p} must bind 127.0.0.1 only`);
  });

  test('Lagless services: one image built from the Dockerfile; brokers = the internal listener', async (t) => {
    const kafkaEnv = obj(service('kafka'), 'environment', 'kafka');
    const advertised = String(kafkaEnv.KAFKA_ADVERTISED_LISTENERS).split(',').map((l) => l.replace(/^\w+:\/\//, ''));
    const internal = advertised.filter((a) => a.startsWith('kafka:'));
    assert.equal(internal.length, 1, 'kafka: one advertised listener reachable as kafka:PORT from the other containers');
    for (const name of LAGLESS) {
      const s = service(name);
      assert.equal(s.build, '.', `${name}: build from the repository's Dockerfile`);
      assert.equal(imageRef(str(s, 'image', name), name).tag, packageJson.version, `${name}: image tag must be the package version`);
      assert.equal(s.image, str(onlyContainer(k8s().deployment, 'deployment.yaml'), 'image', 'deployment.yaml'), `${name}: same image as deployment.yaml`);
      const line = await commandOf(name);
      assert.equal(flag(line, '--brokers', name), internal[0], `${name}: --brokers must be the internal listener ${internal[0]}`);
    }
  });

  test('start order: topics after a healthy Kafka, source and transformer after the topics exist', () => {
    const cond = (s: string, dep: string) => at(service(s), `depends_on.${dep}.condition`, `docker-compose.yml ${s}`);
    assert.equal(cond('topics', 'kafka'), 'service_healthy');
    assert.equal(cond('source', 'topics'), 'service_completed_successfully');
    assert.equal(cond('transformer', 'topics'), 'service_completed_successfully');
    assert.ok(obj(service('kafka'), 'healthcheck', 'kafka'), 'kafka: a healthcheck (service_healthy needs one)');
  });

  test('the pipeline connects: topic, image server address, SSRF allowance, health port, stop grace', async () => {
    const topics = await commandOf('topics');
    const source = await commandOf('source');
    const tr = await commandOf('transformer');
    const from = flag(tr, '--from', 'transformer');
    assert.equal(topics.operands[0], from, 'topics must create the transformer\'s --from topic');
    assert.equal(flag(source, '--topic', 'source'), from, 'source must write the transformer\'s --from topic');
    assert.equal(flag(source, '--source', 'source'), 'synthetic');
    // The image server must be reachable from the transformer's container, under the name the records carry.
    assert.equal(flag(source, '--host', 'source'), '0.0.0.0', 'source: the image server must listen beyond loopback');
    const publicUrl = new URL(flag(source, '--public-url', 'source'));
    assert.equal(publicUrl.hostname, 'source', 'source: --public-url must name the compose service');
    assert.equal(publicUrl.port, flag(source, '--port', 'source'), 'source: --public-url port must be --port');
    assert.deepEqual(tr.flags.get('--allow-host'), [publicUrl.host], 'transformer: --allow-host must be exactly the image server host:port');

    const httpPort = flag(tr, '--http-port', 'transformer');
    const health = stringList(service('transformer'), 'healthcheck.test', 'transformer').join(' ');
    const url = /http:\/\/127\.0\.0\.1:(\d+)(\/\w+)/.exec(health);
    assert.ok(url, 'transformer: the healthcheck must fetch http://127.0.0.1:PORT/healthz');
    assert.deepEqual([url[1], url[2]], [httpPort, '/healthz'], 'transformer: healthcheck on --http-port /healthz');

    // Beyond loopback, the dashboard needs its token: Compose must require it from .env or the shell (no default in the file).
    if (!tr.flags.has('--no-dashboard') && !isLoopbackBind(flag(tr, '--http-host', 'transformer'))) {
      const value = String(at(service('transformer'), `environment.${DASHBOARD_TOKEN_ENV}`, 'docker-compose.yml transformer'));
      assert.match(value, new RegExp(`^\\$\\{${DASHBOARD_TOKEN_ENV}:\\?[^}$]+\\}$`), `transformer: ${DASHBOARD_TOKEN_ENV} must be \${${DASHBOARD_TOKEN_ENV}:?message} (required, from .env or the shell)`);
    }

    const grace = parseDuration(str(service('transformer'), 'stop_grace_period', 'transformer'));
    const drain = parseDuration(flag(tr, '--drain-timeout', 'transformer'));
    assert.ok(grace > DRAIN_PHASES * drain + COMMIT_LEAVE_MS, `transformer: stop_grace_period must exceed ${DRAIN_PHASES} x --drain-timeout + commit/leave (docker's default is 10 s)`);
    const workers = [Number(flag(tr, '--min-workers', 'transformer')), Number(flag(tr, '--max-workers', 'transformer'))];
    assert.ok(workers[0]! >= 1 && workers[0]! <= workers[1]!, 'transformer: 1 <= --min-workers <= --max-workers');
  });
});
