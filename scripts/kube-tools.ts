// Offline validation of deploy/kubernetes: kubeconform (built from the Go module proxy), Kubernetes' OpenAPI spec
// (k8s.io/kubernetes api/openapi-spec) and KEDA's CRDs (github.com/kedacore/keda/v2 config/crd), fetched once into a
// cache; and the conversion of both into the strict, standalone JSON schemas kubeconform reads.
// Usage: npm run kube-tools   (npm test runs it before it enters its network namespace)
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { laglessHome } from '../src/broker/index.ts';
import { exec } from './images.ts';

/** Versions validated against: a current Kubernetes release and KEDA 2.x (what deploy/README.md asks for). */
export const KUBERNETES_VERSION = 'v1.34.4';
export const KEDA_VERSION = 'v2.21.0';
export const KUBECONFORM_VERSION = 'v0.8.0';
/** The CRD files of KEDA kept (the kinds deploy/kubernetes may use). */
const KEDA_CRDS = ['keda.sh_scaledobjects.yaml', 'keda.sh_scaledjobs.yaml', 'keda.sh_triggerauthentications.yaml', 'keda.sh_clustertriggerauthentications.yaml'];

export function kubeToolsDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(laglessHome(env), 'cache', 'kube', `k8s-${KUBERNETES_VERSION}-keda-${KEDA_VERSION}-kubeconform-${KUBECONFORM_VERSION}`);
}

export const kubeconformPath = () => join(kubeToolsDir(), 'bin', 'kubeconform');
const swaggerPath = () => join(kubeToolsDir(), 'swagger.json');
const crdPath = (file: string) => join(kubeToolsDir(), 'crd', file);

/** Why the tools are not there yet, or undefined when they are. Offline. */
export function kubeToolsMissing(): string | undefined {
  const missing = [kubeconformPath(), swaggerPath(), ...KEDA_CRDS.map(crdPath)].filter((p) => !existsSync(p));
  return missing.length ? `${missing.join(', ')} missing (npm run kube-tools fetches them; npm test does so before it enters its namespace)` : undefined;
}

async function must(what: string, r: ReturnType<typeof exec>): Promise<string> {
  const res = await r;
  if (res.code !== 0) throw new Error(`${what} failed (exit ${res.code}): ${`${res.stderr}\n${res.stdout}`.trim().split('\n').slice(-6).join('\n')}`);
  return res.stdout;
}

/** Fetches kubeconform, the Kubernetes OpenAPI spec and KEDA's CRDs through the Go module proxy (once). */
export async function prepareKubeTools(opts: { log?: (m: string) => void } = {}): Promise<{ fetched: boolean; ms: number }> {
  const t0 = performance.now();
  if (!kubeToolsMissing()) return { fetched: false, ms: performance.now() - t0 };
  const dir = kubeToolsDir();
  const scratch = `${dir}.tmp-${process.pid}`;
  await rm(scratch, { recursive: true, force: true });
  await mkdir(join(scratch, 'crd'), { recursive: true });
  const env = { ...process.env, GOFLAGS: '-mod=mod', GO111MODULE: 'on' };
  try {
    opts.log?.(`go install github.com/yannh/kubeconform/cmd/kubeconform@${KUBECONFORM_VERSION}`);
    await must('go install kubeconform', exec('go', ['install', `github.com/yannh/kubeconform/cmd/kubeconform@${KUBECONFORM_VERSION}`], { env: { ...env, GOBIN: join(scratch, 'bin') } }));
    opts.log?.(`go mod download k8s.io/kubernetes@${KUBERNETES_VERSION} github.com/kedacore/keda/v2@${KEDA_VERSION}`);
    const out = await must(
      'go mod download',
      exec('go', ['mod', 'download', '-json', `k8s.io/kubernetes@${KUBERNETES_VERSION}`, `github.com/kedacore/keda/v2@${KEDA_VERSION}`], { env, cwd: scratch }),
    );
    const dirs = new Map<string, string>();
    for (const m of out.matchAll(/"Path":\s*"([^"]+)"[\s\S]*?"Dir":\s*"([^"]+)"/g)) dirs.set(m[1]!, m[2]!);
    const k8s = dirs.get('k8s.io/kubernetes');
    const keda = dirs.get('github.com/kedacore/keda/v2');
    if (!k8s || !keda) throw new Error(`go mod download did not report both modules: ${out.slice(0, 500)}`);
    await copyFile(join(k8s, 'api/openapi-spec/swagger.json'), join(scratch, 'swagger.json'));
    for (const f of KEDA_CRDS) await copyFile(join(keda, 'config/crd/bases', f), join(scratch, 'crd', f));
    await rm(dir, { recursive: true, force: true });
    await rename(scratch, dir);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return { fetched: true, ms: performance.now() - t0 };
}

// ---- schemas -------------------------------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };
const isObj = (v: Json | undefined): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** kubeconform's file name for a kind: {kind}-{first label of the group, or the version}[-{version}].json. */
export function schemaFileName(apiVersion: string, kind: string): string {
  const [groupOrVersion = '', version] = apiVersion.split('/');
  return `${kind.toLowerCase()}-${groupOrVersion.split('.')[0]!.toLowerCase()}${version ? `-${version.toLowerCase()}` : ''}.json`;
}

/**
 * Makes a schema strict the way kubectl's validation is: objects that list their properties accept no others, unless
 * the schema says otherwise (additionalProperties, or x-kubernetes-preserve-unknown-fields in a CRD).
 * Also turns OpenAPI's int-or-string and Quantity into JSON Schema, and `nullable` into a null type.
 */
function strictify(node: Json): Json {
  if (Array.isArray(node)) return node.map(strictify);
  if (!isObj(node)) return node;
  if (node.format === 'int-or-string' || node['x-kubernetes-int-or-string'] === true) return { oneOf: [{ type: 'string' }, { type: 'integer' }] };
  const out: Obj = {};
  for (const [k, v] of Object.entries(node)) out[k] = k === 'properties' && isObj(v) ? Object.fromEntries(Object.entries(v).map(([p, s]) => [p, strictify(s)])) : strictify(v);
  if (isObj(out.properties) && !('additionalProperties' in out) && out['x-kubernetes-preserve-unknown-fields'] !== true) out.additionalProperties = false;
  if (out.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  return out;
}

/** One definition of the OpenAPI v2 spec with every $ref inlined (a recursive reference accepts anything). */
function inline(defs: Obj, node: Json, stack: string[]): Json {
  if (Array.isArray(node)) return node.map((n) => inline(defs, n, stack));
  if (!isObj(node)) return node;
  const ref = node.$ref;
  if (typeof ref === 'string') {
    const name = ref.replace('#/definitions/', '');
    if (name === 'io.k8s.apimachinery.pkg.api.resource.Quantity') return { oneOf: [{ type: 'string' }, { type: 'number' }] };
    if (stack.includes(name)) return {};
    const def = defs[name];
    if (def === undefined) throw new Error(`OpenAPI: no definition ${name}`);
    return inline(defs, def, [...stack, name]);
  }
  const out: Obj = {};
  for (const [k, v] of Object.entries(node)) out[k] = inline(defs, v, stack);
  return out;
}

interface Gvk {
  group: string;
  version: string;
  kind: string;
}

/**
 * Writes the strict standalone schema of every kind in `kinds` (apiVersion + kind) into `dir`: Kubernetes' own kinds
 * from its OpenAPI spec, KEDA's from its CRDs (with Kubernetes' ObjectMeta as their metadata). Throws for a kind
 * neither knows, so that nothing goes unvalidated.
 */
export async function writeSchemas(kinds: { apiVersion: string; kind: string }[], dir: string): Promise<string[]> {
  const spec = JSON.parse(await readFile(swaggerPath(), 'utf8')) as { definitions: Obj };
  const defs = spec.definitions;
  const byGvk = new Map<string, string>();
  for (const [name, def] of Object.entries(defs)) {
    const gvks = isObj(def) && Array.isArray(def['x-kubernetes-group-version-kind']) ? (def['x-kubernetes-group-version-kind'] as unknown as Gvk[]) : [];
    for (const g of gvks) byGvk.set(`${g.group ? `${g.group}/` : ''}${g.version}|${g.kind}`, name);
  }
  const crds = new Map<string, Obj>();
  for (const f of KEDA_CRDS) {
    for (const d of parseAllDocuments(await readFile(crdPath(f), 'utf8'))) {
      const crd = d.toJS() as { spec: { group: string; names: { kind: string }; versions: { name: string; schema: { openAPIV3Schema: Obj } }[] } };
      for (const v of crd.spec.versions) crds.set(`${crd.spec.group}/${v.name}|${crd.spec.names.kind}`, v.schema.openAPIV3Schema);
    }
  }
  const objectMeta = inline(defs, { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }, []);
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const { apiVersion, kind } of kinds) {
    const key = `${apiVersion}|${kind}`;
    let schema: Json;
    const def = byGvk.get(key);
    const crd = crds.get(key);
    if (def) schema = inline(defs, { $ref: `#/definitions/${def}` }, []);
    else if (crd) schema = { ...crd, properties: { ...(crd.properties as Obj), metadata: objectMeta } };
    else throw new Error(`no schema for ${apiVersion} ${kind}: neither Kubernetes ${KUBERNETES_VERSION} nor KEDA ${KEDA_VERSION} defines it`);
    const file = join(dir, schemaFileName(apiVersion, kind));
    await writeFile(file, JSON.stringify(strictify(schema)));
    written.push(file);
  }
  return written;
}

/** A digest of the inputs, printed with the validation so that a result names what it was checked against. */
export async function schemaSources(): Promise<string> {
  const h = createHash('sha256').update(await readFile(swaggerPath()));
  for (const f of KEDA_CRDS) h.update(await readFile(crdPath(f)));
  return `Kubernetes ${KUBERNETES_VERSION} OpenAPI + KEDA ${KEDA_VERSION} CRDs (sha256 ${h.digest('hex').slice(0, 12)}), kubeconform ${KUBECONFORM_VERSION}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const r = await prepareKubeTools({ log: (m) => console.log(`# ${m}`) });
    console.log(`# kube tools ${r.fetched ? 'fetched' : 'cached'} in ${(r.ms / 1000).toFixed(1)} s: ${kubeToolsDir()}`);
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    process.exit(1);
  }
}
