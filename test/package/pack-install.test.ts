// The published package as a user gets it: `npm pack`, install the tarball into an empty folder outside the repository,
// and there `npx lagless --help`, `npx lagless palette <photo>` and `npx lagless run ./job.ts` (a TypeScript job with a
// worker module, written by the test) against the run's broker.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { extractPalette } from '../../src/palette/index.ts';
import { consumeAll, createTopic, groupLag, produce, testBrokers, uniqueName } from '../helpers/kafka.ts';

const REPO = new URL('../../', import.meta.url).pathname;

/**
 * The environment of a user's shell: Node 24 first on PATH (the repository's, as "npm install" brought it; the
 * machine's own node may be older), and nothing of this test run (npm's variables, NODE_OPTIONS' source conditions).
 */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'NODE_OPTIONS' && k !== 'INIT_CWD') env[k] = v;
  env.PATH = `${join(REPO, 'node_modules/.bin')}:${process.env.PATH ?? ''}`;
  return env;
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts a command in a process group of its own (npx runs lagless through a shell: signals go to the whole group, as Ctrl-C does). */
function start(cmd: string, args: string[], cwd: string): ChildProcess & { out: { stdout: string; stderr: string } } {
  const child = spawn(cmd, args, { cwd, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true }) as ChildProcess & { out: { stdout: string; stderr: string } };
  child.out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => (child.out.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (child.out.stderr += d.toString()));
  return child;
}

function finish(child: ChildProcess & { out: { stdout: string; stderr: string } }, timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(child, 'SIGKILL');
      reject(new Error(`${child.spawnargs.join(' ')} did not finish within ${timeoutMs} ms\n${child.out.stderr}`));
    }, timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, ...child.out });
    });
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // The group is gone already.
  }
}

const run = (cmd: string, args: string[], cwd: string, timeoutMs = 180_000) => finish(start(cmd, args, cwd), timeoutMs);

/** A `node` older than 24 on the PATH outside the repository (the machine's own), if there is one. */
function olderNode(): { path: string; version: string } | undefined {
  const dirs = (process.env.PATH ?? '').split(':').filter((d) => d && !d.startsWith(REPO));
  for (const dir of [...dirs, '/usr/bin', '/usr/local/bin']) {
    const path = join(dir, 'node');
    const r = spawnSync(path, ['--version'], { encoding: 'utf8' });
    const version = r.status === 0 ? r.stdout.trim() : '';
    if (/^v\d+\./.test(version) && Number(version.slice(1).split('.')[0]) < 24) return { path, version };
  }
  return undefined;
}

/**
 * A lockfile for a project that depends on the tarball alone: the tarball's entry, and the dependency versions the
 * repository pins and tests (production entries of its lockfile). With it `npm ci --offline` installs from the
 * tarball and npm's cache, which the repository's own `npm install` filled: fast, and no network needed.
 */
async function projectFiles(dir: string, tarball: string): Promise<void> {
  const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as Record<string, unknown> & { version: string };
  const lock = JSON.parse(await readFile(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const integrity = `sha512-${createHash('sha512').update(await readFile(join(dir, tarball))).digest('base64')}`;
  const packages: Record<string, unknown> = {
    '': { name: 'my-jobs', dependencies: { lagless: `file:${tarball}` } },
    'node_modules/lagless': { version: pkg.version, resolved: `file:${tarball}`, integrity, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  };
  for (const [path, entry] of Object.entries(lock.packages)) if (path !== '' && !entry.dev) packages[path] = entry;
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'my-jobs', private: true, type: 'module', dependencies: { lagless: `file:${tarball}` } }, null, 2));
  await writeFile(join(dir, 'package-lock.json'), JSON.stringify({ name: 'my-jobs', lockfileVersion: 3, requires: true, packages }, null, 2));
}

const WORKER = `// Runs on the runtime's worker threads.
import { JobError } from 'lagless';

export default function shout(task: { text: string }): string {
  if (task.text === '') throw new JobError('EMPTY', 'nothing to shout');
  return task.text.toUpperCase();
}
`;

const job = (lengths: string) => `import { defineJob, JobError, type JobRecord } from 'lagless';

export default defineJob({
  name: 'shout',
  worker: new URL('./worker.ts', import.meta.url),
  outputs: [${JSON.stringify(lengths)}],
  async run(record: JobRecord, ctx) {
    const text = record.text();
    if (text === 'skip') return null;
    if (text === 'bad') throw new JobError('BAD_WORD', 'refusing "bad"');
    const loud = await ctx.worker.run<string>({ text });
    return [{ value: loud, headers: { 'content-type': 'text/plain' } }, { value: String(text.length), topic: ${JSON.stringify(lengths)} }];
  },
});
`;

test('npm pack, install the tarball into an empty folder, then npx lagless --help, palette and run ./job.ts', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lagless-pack-'));
  t.after(() => rm(dir, { recursive: true, force: true }));

  // 1. The tarball ("prepare" builds dist/ first).
  const packed = await run('npm', ['pack', '--json', '--pack-destination', dir], REPO);
  assert.equal(packed.code, 0, `npm pack failed:\n${packed.stderr}`);
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; size: number; unpackedSize: number; entryCount: number; files: { path: string }[] }[];
  const paths = info!.files.map((f) => f.path);
  for (const need of ['bin/lagless.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/runtime/worker-entry.js', 'dist/palette/worker.js', 'assets/images/coffee.jpg', 'assets/dashboard/index.html', 'assets/dashboard/app.js', 'package.json', 'README.md']) {
    assert.ok(paths.includes(need), `the tarball has ${need}`);
  }
  const unwanted = paths.filter((p) => /^(src|test|bench|docs|scripts|deploy|examples)\//.test(p) || /golden|\.test\.|results\//.test(p));
  assert.deepEqual(unwanted, [], 'no sources, tests, benchmarks, bench results or golden files in the tarball');
  t.diagnostic(`tarball ${info!.filename}: ${info!.size} bytes (${(info!.size / 1024).toFixed(0)} KiB), ${info!.entryCount} files, ${(info!.unpackedSize / 1024).toFixed(0)} KiB unpacked`);

  // 2. An empty project outside the repository that depends on the tarball, installed offline from npm's cache.
  const project = join(dir, 'project');
  await mkdir(project);
  await copyFile(join(dir, info!.filename), join(project, info!.filename));
  await projectFiles(project, info!.filename);
  const installed = await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], project);
  assert.equal(installed.code, 0, `npm ci failed:\n${installed.stdout}\n${installed.stderr}`);

  // 3. The CLI, as a user runs it.
  const help = await run('npx', ['lagless', '--help'], project);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: lagless /m);
  assert.match(help.stdout, /^ {2}run /m);
  const photo = join(project, 'node_modules/lagless/assets/images/coffee.jpg');
  const palette = await run('npx', ['lagless', 'palette', photo], project);
  assert.equal(palette.code, 0, palette.stderr);
  const want = await extractPalette(await readFile(photo));
  assert.deepEqual((JSON.parse(palette.stdout) as { palette: unknown }).palette, want.palette, 'the installed engine gives the same palette');

  // An older Node (the machine's own, when it has one) gets a message that says what to do, not a stack trace.
  const old = olderNode();
  if (old) {
    const r = await run(old.path, [join(project, 'node_modules/lagless/bin/lagless.js'), '--help'], project);
    assert.equal(r.code, 1, `lagless on Node ${old.version}: exit 1\n${r.stderr}`);
    assert.match(r.stderr, new RegExp(`Lagless needs Node\\.js 24 or newer, and "node" here is ${old.version.replace(/\./g, '\\.')}`));
  } else {
    t.diagnostic('no Node older than 24 on this machine: the message for an older Node was not checked');
  }

  // 4. A TypeScript job with a worker module, run from the project against the broker.
  const from = await createTopic(t, uniqueName('pack-in'), 2);
  const to = await createTopic(t, uniqueName('pack-out'), 2);
  const lengths = await createTopic(t, uniqueName('pack-lengths'), 2);
  const dlq = await createTopic(t, uniqueName('pack-dlq'), 2);
  await writeFile(join(project, 'worker.ts'), WORKER);
  await writeFile(join(project, 'job.ts'), job(lengths));
  const words = ['alpha', 'beta', 'skip', 'bad', '', 'gamma'];
  await produce(from, words.map((w, i) => ({ key: `w${i}`, value: w })));
  const group = uniqueName('pack-group');
  const member = start('npx', ['lagless', 'run', './job.ts', '--from', from, '--to', to, '--dlq', dlq, '--group', group, '--brokers', testBrokers().join(','), '--status-every', '0', '--http-port', '0'], project);
  t.after(() => killGroup(member, 'SIGKILL'));
  const outputs = await consumeAll(to, { count: 3, timeoutMs: 120_000, headers: true }).catch((err: Error) => {
    throw new Error(`${err.message}\n${member.out.stderr}`);
  });
  const lens = await consumeAll(lengths, { count: 3 });
  const dead = await consumeAll(dlq, { count: 2 });
  // The dashboard of the installed package: its page and uPlot are served from node_modules/lagless (the run would
  // have failed at start without them). The URL is learned from what the process printed.
  const url = /the dashboard of group \S+ is at (http:\/\/\S+?)\/?$/m.exec(member.out.stderr)?.[1];
  assert.ok(url, `the run prints its dashboard URL\n${member.out.stderr}`);
  for (const path of ['/', '/assets/app.js', '/assets/uplot.js']) {
    const res = await fetch(`${url}${path}`);
    assert.equal(res.status, 200, `GET ${path} of the installed package's dashboard`);
    assert.ok((await res.text()).length > 100, `GET ${path} has a body`);
  }
  // Ctrl-C: SIGINT to the foreground process group (npx, its shell, lagless). lagless drains, commits and leaves.
  killGroup(member, 'SIGINT');
  const stopped = await finish(member, 90_000);
  assert.match(stopped.stderr, /stopped after [^:]+: 4 output\(s\), 2 dead letter\(s\)/, `a graceful stop: three outputs, the filtered record, two dead letters\n${stopped.stderr}`);
  assert.equal((await groupLag(from, 2, group)).lag, 0n, 'every record is committed');
  assert.deepEqual(outputs.map((o) => [o.key, o.value, o.headers?.['content-type']]).sort(), [
    ['w0', 'ALPHA', 'text/plain'],
    ['w1', 'BETA', 'text/plain'],
    ['w5', 'GAMMA', 'text/plain'],
  ]);
  assert.deepEqual(lens.map((o) => [o.key, o.value]).sort(), [['w0', '5'], ['w1', '4'], ['w5', '5']]);
  const codes = new Map(dead.map((d) => [d.key, (JSON.parse(d.value) as { error: { code: string } }).error.code]));
  assert.deepEqual(Object.fromEntries(codes), { w3: 'BAD_WORD', w4: 'EMPTY' }, 'a JobError from run() and from the worker thread keep their codes');
  assert.match(stopped.stderr, /lagless run shout: /);
  assert.doesNotMatch(stopped.stderr, /warning/i);
});
