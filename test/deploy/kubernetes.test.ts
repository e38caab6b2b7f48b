// deploy/kubernetes rendered with kustomize (`kubectl kustomize`, as `kubectl apply -k` sends it) and validated offline
// with kubeconform against Kubernetes' and KEDA's own schemas, strictly (unknown fields and wrong types fail), for both
// ScaledObject variants; broken copies prove the validation bites.
// tier: integration (kubeconform and the schemas are fetched by `npm test` before it enters its network namespace)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { parseAllDocuments, stringify } from 'yaml';
import { kubeconformPath, kubeToolsMissing, schemaSources, writeSchemas } from '../../scripts/kube-tools.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const reason = !has('kubectl') ? 'kubectl (kubernetes-client) is not installed' : kubeToolsMissing();
if (reason) console.log(`# SKIPPING test/deploy/kubernetes.test.ts: ${reason}`);

interface Doc {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  [k: string]: unknown;
}

function kustomize(dir: string): { text: string; docs: Doc[] } {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, `kubectl kustomize ${dir}: ${r.error?.message ?? r.stderr}`);
  return { text: r.stdout, docs: parseAllDocuments(r.stdout).map((d) => d.toJS() as Doc) };
}

/** A copy of deploy/kubernetes to change (a variant, or a deliberate mistake). */
async function copyOfManifests(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lagless-kube-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await cp(join(ROOT, 'deploy/kubernetes'), dir, { recursive: true });
  return dir;
}

interface Verdict {
  valid: number;
  invalid: number;
  errors: number;
  skipped: number;
  messages: string[];
}

/** kubeconform -strict on rendered YAML, with schemas generated for the kinds it contains (no missing schema is skipped). */
async function kubeconform(t: TestContext, rendered: { text: string; docs: Doc[] }): Promise<Verdict> {
  const dir = await mkdtemp(join(tmpdir(), 'lagless-kubeconform-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const kinds = rendered.docs.map((d) => ({ apiVersion: d.apiVersion, kind: d.kind })).filter((k, i, all) => all.findIndex((o) => o.apiVersion === k.apiVersion && o.kind === k.kind) === i);
  await writeSchemas(kinds, join(dir, 'schemas'));
  await writeFile(join(dir, 'all.yaml'), rendered.text);
  const r = spawnSync(
    kubeconformPath(),
    ['-strict', '-summary', '-output', 'json', '-schema-location', `${join(dir, 'schemas')}/{{ .ResourceKind }}{{ .KindSuffix }}.json`, join(dir, 'all.yaml')],
    { encoding: 'utf8' },
  );
  const out = JSON.parse(r.stdout) as { resources?: { kind: string; name: string; status: string; msg: string }[]; summary: Verdict };
  const messages = (out.resources ?? []).filter((x) => x.status !== 'statusValid').map((x) => `${x.kind} ${x.name}: ${x.status} ${x.msg}`);
  return { ...out.summary, messages };
}

test('deploy/kubernetes renders with kustomize and validates strictly against Kubernetes and KEDA schemas', { skip: reason }, async (t) => {
  t.diagnostic(await schemaSources());
  const rendered = kustomize(join(ROOT, 'deploy/kubernetes'));
  const kinds = rendered.docs.map((d) => `${d.kind}/${d.metadata.name}`);
  t.diagnostic(`rendered: ${kinds.join(', ')}`);
  for (const k of ['ConfigMap', 'Job', 'Deployment', 'Service', 'ScaledObject']) assert.ok(rendered.docs.some((d) => d.kind === k), `renders a ${k}`);
  const v = await kubeconform(t, rendered);
  t.diagnostic(`kubeconform -strict: ${v.valid} valid, ${v.invalid} invalid, ${v.errors} errors, ${v.skipped} skipped`);
  assert.deepEqual(v.messages, []);
  assert.equal(v.valid, rendered.docs.length, 'every rendered resource was validated');
});

test('the Prometheus ScaledObject variant, swapped in as kustomization.yaml says, validates too', { skip: reason }, async (t) => {
  const dir = await copyOfManifests(t);
  const k = await readFile(join(dir, 'kustomization.yaml'), 'utf8');
  assert.match(k, /- keda-scaledobject-kafka\.yaml/);
  await writeFile(join(dir, 'kustomization.yaml'), k.replace('- keda-scaledobject-kafka.yaml', '- keda-scaledobject-prometheus.yaml'));
  const rendered = kustomize(dir);
  const so = rendered.docs.find((d) => d.kind === 'ScaledObject') as { spec: { triggers: { type: string }[] } } | undefined;
  assert.equal(so?.spec.triggers[0]?.type, 'prometheus');
  const v = await kubeconform(t, rendered);
  assert.deepEqual(v.messages, []);
  assert.equal(v.valid, rendered.docs.length);
});

test('the share-group ScaledObject (Prometheus, on lagless_share_backlog, more replicas than partitions) validates too', { skip: reason }, async (t) => {
  const dir = await copyOfManifests(t);
  const k = await readFile(join(dir, 'kustomization.yaml'), 'utf8');
  await writeFile(join(dir, 'kustomization.yaml'), k.replace('- keda-scaledobject-kafka.yaml', '- keda-scaledobject-share.yaml'));
  const rendered = kustomize(dir);
  const so = rendered.docs.find((d) => d.kind === 'ScaledObject') as { spec: { maxReplicaCount: number; triggers: { type: string; metadata: { query: string } }[] } } | undefined;
  assert.equal(so?.spec.triggers[0]?.type, 'prometheus');
  assert.match(so!.spec.triggers[0]!.metadata.query, /lagless_share_backlog\{group="palettes"\}/);
  const topics = rendered.docs.find((d) => d.kind === 'Job');
  const partitions = Number(/"--partitions","(\d+)"/.exec(JSON.stringify(topics))?.[1] ?? NaN);
  assert.ok(so!.spec.maxReplicaCount > partitions, `maxReplicaCount ${so!.spec.maxReplicaCount} exceeds the ${partitions} partitions`);
  const v = await kubeconform(t, rendered);
  assert.deepEqual(v.messages, []);
  assert.equal(v.valid, rendered.docs.length);
});

test('the validation bites: an unknown field, a wrong type and a bad KEDA trigger field are each rejected', { skip: reason }, async (t) => {
  const mistakes: { what: string; file: string; change: (doc: Record<string, any>) => void; expect: RegExp }[] = [
    {
      what: 'a misspelt container field in the Deployment',
      file: 'deployment.yaml',
      change: (d) => (d.spec.template.spec.containers[0].imagePullPolicyy = 'Always'),
      expect: /imagePullPolicyy/,
    },
    { what: 'a port number as a string', file: 'deployment.yaml', change: (d) => (d.spec.template.spec.containers[0].ports[0].containerPort = '9464'), expect: /containerPort/ },
    { what: 'minReplicaCount as a word in the ScaledObject', file: 'keda-scaledobject-kafka.yaml', change: (d) => (d.spec.minReplicaCount = 'one'), expect: /minReplicaCount/ },
    { what: 'a trigger metadata value that is not a string', file: 'keda-scaledobject-kafka.yaml', change: (d) => (d.spec.triggers[0].metadata.lagThreshold = 200), expect: /lagThreshold/ },
    { what: 'an unknown field in the ScaledObject spec', file: 'keda-scaledobject-kafka.yaml', change: (d) => (d.spec.cooldownPeriods = 60), expect: /cooldownPeriods/ },
  ];
  for (const m of mistakes) {
    const dir = await copyOfManifests(t);
    const docs = parseAllDocuments(await readFile(join(dir, m.file), 'utf8')).map((d) => d.toJS() as Record<string, any>);
    m.change(docs[0]!);
    await writeFile(join(dir, m.file), docs.map((d) => stringify(d)).join('---\n'));
    const v = await kubeconform(t, kustomize(dir));
    assert.equal(v.invalid, 1, `${m.what}: ${v.messages.join('; ') || 'accepted'}`);
    assert.match(v.messages.join('\n'), m.expect, m.what);
  }
});
