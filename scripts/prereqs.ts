// System programs some tests need (a browser, a container engine), installed from Debian's packages by `npm test`
// before it enters its network namespace; a prerequisite that cannot be had is reported with its reason.
import { spawnSync } from 'node:child_process';

export interface Prerequisite {
  /** A program on PATH (or an absolute path) whose presence means the packages are installed. */
  command: string;
  /** Debian packages that provide it. */
  packages: string[];
  /** Which tests need it, for the message when it cannot be installed. */
  neededBy: string;
}

/** The prerequisites of the whole suite. Tests that need one check for it themselves and skip with a loud reason. */
export const PREREQUISITES: Prerequisite[] = [
  { command: 'openssl', packages: ['openssl'], neededBy: 'the secure broker tests (certificates for lagless kafka start --security)' },
  { command: 'kcat', packages: ['kcat'], neededBy: 'the secure broker tests (an independent client reading the outputs)' },
  // runc: Debian's podman would take crun, which fails on this kind of machine (cgroups in hybrid mode).
  { command: 'podman', packages: ['podman', 'runc'], neededBy: 'test/deploy/container.test.ts' },
  { command: 'runc', packages: ['runc'], neededBy: 'test/deploy/container.test.ts' },
  // Builds the Debian root filesystems of the local stand-ins for the images the Dockerfile and Compose file name.
  { command: 'mmdebstrap', packages: ['mmdebstrap'], neededBy: 'test/deploy/container.test.ts' },
  { command: 'nsenter', packages: ['util-linux'], neededBy: 'test/deploy/container.test.ts' },
  // `kubectl kustomize` renders deploy/kubernetes; go builds kubeconform, which validates the result.
  { command: 'kubectl', packages: ['kubernetes-client'], neededBy: 'test/deploy/kubernetes.test.ts' },
  { command: 'go', packages: ['golang-go'], neededBy: 'test/deploy/kubernetes.test.ts' },
  { command: 'chromium', packages: ['chromium', 'fonts-dejavu-core'], neededBy: 'the dashboard tests in a real browser (test/dashboard/browser.test.ts)' },
];

export type PrerequisiteResult = { ok: true; installed: boolean } | { ok: false; reason: string };

const has = (command: string) => spawnSync('sh', ['-c', `command -v "${command}"`], { stdio: 'ignore' }).status === 0;

let updated = false;
/** Installs the packages of `p` with apt-get when its command is missing (root only; waits for the dpkg lock). */
export function ensurePrerequisite(p: Prerequisite, log: (line: string) => void = () => {}): PrerequisiteResult {
  if (has(p.command)) return { ok: true, installed: false };
  if (process.getuid?.() !== 0) return { ok: false, reason: `${p.command} is missing and only root can install ${p.packages.join(' ')}` };
  if (!has('apt-get')) return { ok: false, reason: `${p.command} is missing and there is no apt-get to install ${p.packages.join(' ')}` };
  const apt = (...args: string[]) =>
    spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', ...args], {
      encoding: 'utf8',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  log(`installing ${p.packages.join(' ')} from Debian's packages (needed by ${p.neededBy})`);
  let r = apt('install', '-y', '-q', '--no-install-recommends', ...p.packages);
  if (r.status !== 0 && !updated) {
    updated = true;
    apt('update', '-q');
    r = apt('install', '-y', '-q', '--no-install-recommends', ...p.packages);
  }
  if (r.status !== 0 || !has(p.command)) {
    const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-3).join(' | ');
    return { ok: false, reason: `apt-get install ${p.packages.join(' ')} failed: ${tail}` };
  }
  return { ok: true, installed: true };
}
