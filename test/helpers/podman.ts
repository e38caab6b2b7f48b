// Runs the repository's container files with podman for the container tests: docker-compose.yml's services and the
// rendered Kubernetes Deployment's container, translated flag by flag to `podman run` on the test's network namespace.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { parseDuration } from '../../src/common/index.ts';
import { podman, PODMAN_LIMITS, type CommandResult } from '../../scripts/images.ts';

export { podman, type CommandResult };

const ROOT = new URL('../../', import.meta.url).pathname;

export interface HealthCheck {
  /** The command run inside the container (CMD: as is; CMD-SHELL: through sh -c). */
  argv: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

export type DependsOn = 'service_started' | 'service_healthy' | 'service_completed_successfully';

export interface ComposeService {
  name: string;
  image: string;
  /** True when Compose builds it from the repository (`build:`). */
  built: boolean;
  command: string[];
  environment: Record<string, string>;
  healthcheck?: HealthCheck;
  dependsOn: Record<string, DependsOn>;
  /** stop_grace_period (Compose's default: 10 s). */
  stopGraceMs: number;
  /** restart policy: no, on-failure, always, unless-stopped (podman knows the same names). */
  restart: string;
}

interface RawService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean> | string[];
  healthcheck?: { test: string[] | string; interval?: string; timeout?: string; retries?: number; start_period?: string };
  depends_on?: string[] | Record<string, { condition?: DependsOn }>;
  stop_grace_period?: string;
  restart?: string;
}

function healthArgv(test: string[] | string): string[] {
  if (typeof test === 'string') return ['sh', '-c', test];
  const [kind, ...rest] = test;
  if (kind === 'CMD') return rest;
  if (kind === 'CMD-SHELL') return ['sh', '-c', rest.join(' ')];
  throw new Error(`docker-compose.yml: healthcheck test ${JSON.stringify(test)} is not CMD or CMD-SHELL`);
}

/**
 * Compose's variable interpolation of one value: `$$`, `${VAR}`, `$VAR`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR:?message}` and `${VAR?message}` (a missing required variable stops Compose with the message: here, a throw).
 */
export function interpolate(value: string, env: NodeJS.ProcessEnv, where: string): string {
  return value.replace(/\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_m, dollar: string | undefined, braced: string | undefined, colon: string | undefined, op: string | undefined, arg: string | undefined, bare: string | undefined) => {
    if (dollar) return '$';
    const name = (braced ?? bare)!;
    const v = env[name];
    const missing = v === undefined || (colon === ':' && v === '');
    if (op === '-') return missing ? arg! : v!;
    if (op === '?' && missing) throw new Error(`${where}: required variable ${name} is missing a value: ${arg}`);
    return v ?? '';
  });
}

/**
 * The services of docker-compose.yml (YAML merge keys applied), with Compose's defaults filled in and variables in
 * `environment` interpolated from `env` as Compose does (the only place the file uses them).
 */
export function composeServices(file = `${ROOT}docker-compose.yml`, env: NodeJS.ProcessEnv = process.env): Map<string, ComposeService> {
  const doc = parseYaml(readFileSync(file, 'utf8'), { merge: true }) as { services: Record<string, RawService> };
  const out = new Map<string, ComposeService>();
  for (const [name, s] of Object.entries(doc.services)) {
    if (!s.image) throw new Error(`docker-compose.yml: service ${name} names no image`);
    if (typeof s.command === 'string') throw new Error(`docker-compose.yml: service ${name}: a command string would be split by a shell; use a list`);
    const environment: Record<string, string> = {};
    if (Array.isArray(s.environment)) {
      for (const kv of s.environment) environment[kv.slice(0, kv.indexOf('='))] = interpolate(kv.slice(kv.indexOf('=') + 1), env, `${name} environment`);
    } else {
      for (const [k, v] of Object.entries(s.environment ?? {})) environment[k] = interpolate(String(v), env, `${name} environment ${k}`);
    }
    const dependsOn: Record<string, DependsOn> = {};
    if (Array.isArray(s.depends_on)) for (const d of s.depends_on) dependsOn[d] = 'service_started';
    else for (const [d, c] of Object.entries(s.depends_on ?? {})) dependsOn[d] = c.condition ?? 'service_started';
    const h = s.healthcheck;
    out.set(name, {
      name,
      image: s.image,
      built: s.build !== undefined,
      command: s.command ?? [],
      environment,
      dependsOn,
      stopGraceMs: parseDuration(s.stop_grace_period ?? '10s'),
      restart: s.restart ?? 'no',
      // Compose's defaults: interval 30 s, timeout 30 s, 3 retries, no start period.
      ...(h
        ? {
            healthcheck: {
              argv: healthArgv(h.test),
              intervalMs: parseDuration(h.interval ?? '30s'),
              timeoutMs: parseDuration(h.timeout ?? '30s'),
              retries: h.retries ?? 3,
              startPeriodMs: parseDuration(h.start_period ?? '0s'),
            },
          }
        : {}),
    });
  }
  return out;
}

/** Services in the order Compose starts them: every service after the ones it depends on. */
export function startOrder(services: Map<string, ComposeService>): string[] {
  const order: string[] = [];
  const visit = (name: string, path: string[]) => {
    if (order.includes(name)) return;
    if (path.includes(name)) throw new Error(`docker-compose.yml: depends_on cycle ${[...path, name].join(' -> ')}`);
    const s = services.get(name);
    if (!s) throw new Error(`docker-compose.yml: ${path.at(-1)} depends on unknown service ${name}`);
    for (const d of Object.keys(s.dependsOn)) visit(d, [...path, name]);
    order.push(name);
  };
  for (const name of services.keys()) visit(name, []);
  return order;
}

export interface RunSpec {
  name: string;
  image: string;
  args: string[];
  env?: Record<string, string>;
  /** Every service name resolves to the test namespace's loopback, where all the containers listen. */
  hosts: string[];
  /** Further `podman run` flags (user, read-only root, capabilities...). */
  flags?: string[];
}

async function must(what: string, r: Promise<CommandResult>): Promise<string> {
  const res = await r;
  if (res.code !== 0) throw new Error(`${what} failed (exit ${res.code}): ${`${res.stderr}\n${res.stdout}`.trim().split('\n').slice(-8).join('\n')}`);
  return res.stdout.trim();
}

/**
 * Starts a container in the background on the host network, which inside `npm test` is the test's own loopback-only
 * namespace: every container and the test itself share one loopback, as Compose's service network would join them.
 */
export function runDetached(spec: RunSpec): Promise<string> {
  return must(
    `podman run ${spec.name}`,
    podman([
      'run',
      '--detach',
      '--name',
      spec.name,
      '--network',
      'host',
      ...spec.hosts.flatMap((h) => ['--add-host', `${h}:127.0.0.1`]),
      ...PODMAN_LIMITS,
      ...Object.entries(spec.env ?? {}).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
      ...(spec.flags ?? []),
      spec.image,
      ...spec.args,
    ]),
  );
}

export interface ContainerState {
  status: string;
  running: boolean;
  exitCode: number;
  /** Restarts by the restart policy. */
  restarts: number;
}

export async function containerState(name: string): Promise<ContainerState> {
  const out = await must(
    `podman inspect ${name}`,
    podman(['container', 'inspect', '--format', '{{.State.Status}} {{.State.Running}} {{.State.ExitCode}} {{.RestartCount}}', name]),
  );
  const [status = '', running, code, restarts] = out.split(' ');
  return { status, running: running === 'true', exitCode: Number(code), restarts: Number(restarts) };
}

/** Runs `argv` inside a running container, killed after timeoutMs (a health check's `timeout`). */
export async function execIn(name: string, argv: string[], timeoutMs: number): Promise<CommandResult> {
  return podman(['exec', name, 'timeout', '--signal=KILL', `${Math.ceil(timeoutMs / 1000)}`, ...argv]);
}

export async function logs(name: string, tail = 20): Promise<string> {
  const r = await podman(['logs', '--tail', String(tail), name]);
  return `${r.stdout}${r.stderr}`.trim();
}

/** Removes the named containers (ours only: by name), whatever their state. Synchronous, for t.after and exit. */
export function removeContainers(names: string[]): void {
  if (!names.length) return;
  const mnt = process.env.LAGLESS_TEST_HOST_MNTNS;
  const argv = ['podman', '--runtime', 'runc', '--cgroup-manager', 'cgroupfs', 'rm', '--force', '--ignore', '--time', '0', ...names];
  spawnSync(mnt ? 'nsenter' : argv[0]!, mnt ? [`--mount=${mnt}`, ...argv] : argv.slice(1), { stdio: 'ignore' });
}

// ---- the Kubernetes Deployment's container ---------------------------------------------------------------------------

export interface KubeDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  [key: string]: unknown;
}

/** `kubectl kustomize DIR`: the manifests as `kubectl apply -k` would send them. */
export function kustomize(dir = `${ROOT}deploy/kubernetes`): KubeDoc[] {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${r.error?.message ?? r.stderr}`);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as KubeDoc);
}

export interface KubeProbe {
  httpGet: { path: string; port: string | number };
  periodSeconds?: number;
  failureThreshold?: number;
  timeoutSeconds?: number;
}

export interface KubeContainer {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { configMapKeyRef?: { name: string; key: string }; secretKeyRef?: { name: string; key: string } } }[];
  ports?: { name?: string; containerPort: number }[];
  startupProbe?: KubeProbe;
  livenessProbe?: KubeProbe;
  readinessProbe?: KubeProbe;
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string }[];
}

export interface KubePodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; runAsGroup?: number };
  containers: KubeContainer[];
  volumes?: { name: string; emptyDir?: { sizeLimit?: string } }[];
}

/**
 * The environment of a container as the kubelet builds it (values from ConfigMaps resolved with `configMaps`, from
 * Secrets with `secrets`: their decoded data by name).
 */
export function containerEnv(c: KubeContainer, configMaps: Map<string, Record<string, string>>, secrets = new Map<string, Record<string, string>>()): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.configMapKeyRef ?? e.valueFrom?.secretKeyRef;
    const kind = e.valueFrom?.configMapKeyRef ? 'ConfigMap' : 'Secret';
    if (e.value !== undefined) env[e.name] = e.value;
    else if (ref) {
      const v = (kind === 'ConfigMap' ? configMaps : secrets).get(ref.name)?.[ref.key];
      if (v === undefined) throw new Error(`env ${e.name}: ${kind} ${ref.name} has no key ${ref.key}`);
      env[e.name] = v;
    } else throw new Error(`env ${e.name}: only value, configMapKeyRef and secretKeyRef are supported here`);
  }
  return env;
}

/** The Secrets of rendered manifests by name, with their values decoded (stringData, or base64 data). */
export function secretsOf(docs: KubeDoc[]): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const d of docs.filter((x) => x.kind === 'Secret')) {
    const raw = d as KubeDoc & { stringData?: Record<string, string>; data?: Record<string, string> };
    const data: Record<string, string> = { ...raw.stringData };
    for (const [k, v] of Object.entries(raw.data ?? {})) data[k] = Buffer.from(v, 'base64').toString('utf8');
    out.set(d.metadata.name, data);
  }
  return out;
}

/** `$(VAR)` in command and args, expanded the way the kubelet does ($$ escapes; unknown names stay as written). */
export function expandKubeVars(args: string[], env: Record<string, string>): string[] {
  return args.map((a) => a.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string | undefined) => (name === undefined ? '$' : (env[name] ?? m))));
}

/** The `podman run` flags that give a container the pod's and container's security context and volumes. */
export function securityFlags(pod: KubePodSpec, c: KubeContainer): string[] {
  const flags: string[] = [];
  const sc = pod.securityContext ?? {};
  if (sc.runAsUser !== undefined) flags.push('--user', `${sc.runAsUser}:${sc.runAsGroup ?? sc.runAsUser}`);
  const csc = c.securityContext ?? {};
  if (csc.allowPrivilegeEscalation === false) flags.push('--security-opt', 'no-new-privileges');
  for (const cap of csc.capabilities?.drop ?? []) flags.push('--cap-drop', cap);
  // Only what the manifest mounts is writable: no tmpfs that podman would add by itself.
  if (csc.readOnlyRootFilesystem) flags.push('--read-only', '--read-only-tmpfs=false');
  for (const m of c.volumeMounts ?? []) {
    const v = pod.volumes?.find((x) => x.name === m.name);
    if (!v?.emptyDir) throw new Error(`volume ${m.name}: only emptyDir is supported here`);
    const size = v.emptyDir.sizeLimit ? `,size=${v.emptyDir.sizeLimit.replace(/Mi$/, 'm').replace(/Gi$/, 'g')}` : '';
    flags.push('--tmpfs', `${m.mountPath}:rw,mode=1777${size}`);
  }
  return flags;
}
