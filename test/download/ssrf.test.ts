// The SSRF table, run inside a network namespace this test creates, so that even a broken guard reaches nothing
// outside it: every hostile URL form must be blocked before any connection, and the public control must work.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { SsrfCase, SsrfResult } from './fixtures/ssrf-runner.ts';

const RUNNER = fileURLToPath(new URL('./fixtures/ssrf-runner.ts', import.meta.url));
const CONTROL = '203.0.113.10';
const CONTROL_BODY = 'public control: hello from 203.0.113.10';

/** Addresses given to the namespace's test interface, each answered by the runner's catch-all listeners. */
const NAMESPACE_V4 = [CONTROL, '10.0.0.1', '192.168.1.1', '172.16.0.1', '100.64.0.1', '169.254.169.254', '192.0.0.192', '198.18.0.1'];
const NAMESPACE_V6 = ['fd00::1'];

/** /etc/hosts inside the namespace: names that resolve to blocked (and control) addresses. */
const HOSTS = `127.0.0.1 localhost
::1 localhost ip6-localhost
127.0.0.1 loopback.test
10.0.0.1 private.test
169.254.169.254 metadata.test
100.64.0.1 cgnat.test
fd00::1 ula.test
::ffff:127.0.0.1 mapped.test
203.0.113.10 mixed.test
10.0.0.1 mixed.test
203.0.113.10 public.test
10.0.0.1 rebind.test
`;

const redirect = (to: string) => `http://${CONTROL}/redirect?to=${encodeURIComponent(to)}`;

interface Row {
  url: string;
  /** With the guard off (allowPrivate) this URL reaches one of the namespace's internal listeners. */
  reachable?: boolean;
}

/** Hostile URLs: each must end in BLOCKED_ADDRESS with no connection at all. */
const HOSTILE: Row[] = [
  // Loopback, in every notation the WHATWG parser accepts.
  { url: 'http://127.0.0.1/', reachable: true },
  { url: 'http://127.0.0.1:8080/', reachable: true },
  { url: 'https://127.0.0.1/', reachable: true },
  { url: 'http://2130706433/', reachable: true },
  { url: 'http://0x7f000001/', reachable: true },
  { url: 'http://0x7f.0.0.1/', reachable: true },
  { url: 'http://0177.0.0.1/', reachable: true },
  { url: 'http://017700000001/', reachable: true },
  { url: 'http://127.1/', reachable: true },
  { url: 'http://127.0.1/', reachable: true },
  { url: 'http://127.255.255.254/' },
  { url: 'http://0/', reachable: true },
  { url: 'http://0.0.0.0/', reachable: true },
  { url: 'http://[::1]/', reachable: true },
  { url: 'http://[0:0:0:0:0:0:0:1]/', reachable: true },
  { url: 'http://[::]/', reachable: true },
  { url: 'http://[::ffff:127.0.0.1]/', reachable: true },
  { url: 'http://[::ffff:7f00:1]/', reachable: true },
  { url: 'http://[0:0:0:0:0:ffff:127.0.0.1]/', reachable: true },
  { url: 'http://[::127.0.0.1]/' },
  { url: 'http://[64:ff9b::127.0.0.1]/' },
  { url: 'http://[2002:7f00:1::1]/' },
  { url: `http://${CONTROL}@127.0.0.1/`, reachable: true },
  // Private, carrier-grade NAT, link-local (cloud metadata), and other internal ranges.
  { url: 'http://10.0.0.1/', reachable: true },
  { url: 'http://167772161/', reachable: true },
  { url: 'http://0xa.0.0.1/', reachable: true },
  { url: 'http://192.168.1.1/', reachable: true },
  { url: 'http://3232235777/', reachable: true },
  { url: 'http://172.16.0.1/', reachable: true },
  { url: 'http://100.64.0.1/', reachable: true },
  { url: 'http://169.254.169.254/latest/meta-data/', reachable: true },
  { url: 'http://0xa9fea9fe/', reachable: true },
  { url: 'http://2852039166/', reachable: true },
  { url: 'http://[::ffff:169.254.169.254]/', reachable: true },
  { url: 'http://[::ffff:a9fe:a9fe]/', reachable: true },
  { url: 'http://192.0.0.192/', reachable: true },
  { url: 'http://198.18.0.1/', reachable: true },
  { url: 'http://[fd00::1]/', reachable: true },
  { url: 'http://[fe80::1]/' },
  { url: 'http://224.0.0.1/' },
  { url: 'http://255.255.255.255/' },
  { url: 'http://[ff02::1]/' },
  // Names that resolve to blocked addresses.
  { url: 'http://localhost/', reachable: true },
  { url: 'http://LOCALHOST/', reachable: true },
  { url: 'http://loopback.test/', reachable: true },
  { url: 'http://private.test/', reachable: true },
  { url: 'http://MeTaDaTa.test/latest/meta-data/', reachable: true },
  { url: 'http://cgnat.test/', reachable: true },
  { url: 'http://ula.test/', reachable: true },
  { url: 'http://mapped.test/', reachable: true },
  { url: 'http://mixed.test/' }, // 203.0.113.10 AND 10.0.0.1: one blocked answer blocks the name
];

/** Redirects from the public control to blocked addresses: blocked at the hop, after one connection to the control. */
const HOSTILE_REDIRECTS: string[] = [
  redirect('http://10.0.0.1/'),
  redirect('http://localhost:8080/'),
  redirect('http://2130706433/'),
  redirect('http://[::1]/'),
  redirect('http://[::ffff:a9fe:a9fe]/'),
  redirect('http://metadata.test/latest/meta-data/'),
  redirect(redirect('http://169.254.169.254/')), // two hops, then metadata
];

function sh(command: string, args: string[]): void {
  execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function requirePrivileges(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('the SSRF table test must run as root: it creates a network namespace (ip netns add) so that nothing leaves this machine');
  }
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    throw new Error('the SSRF table test needs the `ip` command (Debian: apt-get install iproute2) to create its network namespace');
  }
}

/** A self-signed certificate for public.test (the control's name), so https goes through the guard too. */
function makeCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'public.test.crt');
  const key = join(dir, 'public.test.key');
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', '/CN=public.test', '-addext', 'subjectAltName=DNS:public.test', '-keyout', key, '-out', cert], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new Error('the SSRF table test needs the `openssl` command (Debian: apt-get install openssl) for its test certificate', { cause: err });
  }
  return { cert, key };
}

function runInNamespace(ns: string, cases: SsrfCase[], tls: { cert: string; key: string }): Promise<SsrfResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, RUNNER, '--netns', ns, '--tls', tls.cert, tls.key], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NODE_EXTRA_CA_CERTS: tls.cert },
      timeout: 180_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`the runner exited with ${code}: ${stderr}`));
      try {
        resolve(JSON.parse(stdout) as SsrfResult[]);
      } catch (err) {
        reject(new Error(`the runner printed no JSON: ${stdout.slice(0, 500)} ${stderr}`, { cause: err }));
      }
    });
    child.stdin.on('error', () => {}); // a runner that died early: its exit code says so, not an EPIPE
    child.stdin.end(JSON.stringify(cases));
  });
}

test('SSRF table in a network namespace: hostile forms blocked before any connection, the public control allowed', { timeout: 240_000 }, async (t) => {
  requirePrivileges();
  const ns = `lagless-ssrf-${process.pid}-${randomBytes(3).toString('hex')}`;
  const etc = `/etc/netns/${ns}`;
  const tmp = mkdtempSync(join(tmpdir(), 'lagless-ssrf-'));
  t.after(() => {
    rmSync(tmp, { recursive: true, force: true });
    try {
      sh('ip', ['netns', 'del', ns]);
    } catch {
      /* not created */
    }
    rmSync(etc, { recursive: true, force: true });
  });

  const tls = makeCertificate(tmp);
  sh('ip', ['netns', 'add', ns]);
  sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  // A veth pair with both ends inside the namespace: a test interface, and no route to anywhere else.
  sh('ip', ['-n', ns, 'link', 'add', 'lgl0', 'type', 'veth', 'peer', 'name', 'lgl1']);
  sh('ip', ['-n', ns, 'link', 'set', 'lgl0', 'up']);
  sh('ip', ['-n', ns, 'link', 'set', 'lgl1', 'up']);
  for (const a of NAMESPACE_V4) sh('ip', ['-n', ns, 'addr', 'add', `${a}/32`, 'dev', 'lgl0']);
  // 203.0.113.0/24 is on-link, but only .10 exists: connecting to .99 waits for an ARP answer that never comes.
  sh('ip', ['-n', ns, 'route', 'add', '203.0.113.0/24', 'dev', 'lgl0']);
  for (const a of NAMESPACE_V6) sh('ip', ['-n', ns, '-6', 'addr', 'add', `${a}/128`, 'dev', 'lgl0', 'nodad']);
  // `ip netns exec` bind-mounts these over /etc/hosts and /etc/resolv.conf inside the namespace only.
  mkdirSync(etc, { recursive: true });
  writeFileSync(`${etc}/hosts`, HOSTS);
  writeFileSync(`${etc}/resolv.conf`, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');

  const cases: SsrfCase[] = [
    ...HOSTILE.map((r) => ({ name: `hostile ${r.url}`, url: r.url })),
    ...HOSTILE_REDIRECTS.map((url) => ({ name: `redirect ${url}`, url })),
    // The harness can fail: with the guard off, the same URLs do reach the namespace's listeners.
    ...HOSTILE.filter((r) => r.reachable).map((r) => ({ name: `unguarded ${r.url}`, url: r.url, options: { allowPrivate: true } })),
    { name: 'control literal', url: `http://${CONTROL}/` },
    { name: 'control decimal', url: 'http://3405803786/' },
    { name: 'control name', url: 'http://public.test/' },
    { name: 'control redirect to itself', url: redirect(`http://${CONTROL}/final`) },
    // https: the socket goes to the checked IP while SNI and the certificate check still use the name.
    { name: 'control https name', url: 'https://public.test/' },
    { name: 'control https, certificate for another name', url: `https://${CONTROL}/` },
    { name: 'allowHosts entry', url: 'http://127.0.0.1:8080/', options: { allowHosts: ['127.0.0.1:8080'] } },
    { name: 'allowHosts other port', url: 'http://127.0.0.1/', options: { allowHosts: ['127.0.0.1:8080'] } },
    { name: 'redirect to file', url: redirect('file:///etc/passwd') },
    { name: 'redirect to gopher', url: redirect('gopher://10.0.0.1:70/_x') },
    { name: 'unknown name', url: 'http://does-not-exist.test/' },
    // DNS rebinding: the guard's lookup says public, the system resolver (/etc/hosts) now says private. The socket
    // must go to the address the guard checked; a connector that re-resolved the name would land on 10.0.0.1.
    { name: 'rebinding', url: 'http://rebind.test/', guardLookup: { 'rebind.test': CONTROL } },
    { name: 'connect timeout', url: 'http://203.0.113.99/', options: { connectTimeoutMs: 300 } },
    // NAT64 carrying a public address is not blocked; the namespace has no route for it, so the connect fails.
    { name: 'nat64 public', url: 'http://[64:ff9b::cb00:710a]/' },
  ];
  const results = new Map((await runInNamespace(ns, cases, tls)).map((r) => [r.name, r]));
  const get = (name: string): SsrfResult => {
    const r = results.get(name);
    assert.ok(r, `no result for ${name}`);
    return r;
  };
  const describe = (r: SsrfResult) => JSON.stringify(r);
  const total = (accepted: Record<string, number>, except?: string) =>
    Object.entries(accepted).reduce((n, [address, count]) => (address === except ? n : n + count), 0);

  for (const row of HOSTILE) {
    const r = get(`hostile ${row.url}`);
    assert.equal(r.code, 'BLOCKED_ADDRESS', describe(r));
    assert.equal(r.connectAttempts, 0, describe(r));
    assert.equal(total(r.accepted), 0, describe(r));
  }
  for (const url of HOSTILE_REDIRECTS) {
    const r = get(`redirect ${url}`);
    assert.equal(r.code, 'BLOCKED_ADDRESS', describe(r));
    assert.ok(r.connectAttempts >= 1, describe(r));
    assert.equal(r.accepted[CONTROL], r.connectAttempts, describe(r)); // every connection went to the control
    assert.equal(total(r.accepted, CONTROL), 0, describe(r));
  }
  for (const row of HOSTILE.filter((x) => x.reachable)) {
    const r = get(`unguarded ${row.url}`);
    assert.ok(total(r.accepted, CONTROL) >= 1, `with the guard off, ${row.url} should reach an internal listener: ${describe(r)}`);
    // (https:// reaches the plain-HTTP listener on 443: the connection is counted, the TLS handshake then fails.)
    if (row.url.startsWith('http:')) assert.match(r.body ?? '', /^INTERNAL SECRET from /, describe(r));
  }

  for (const name of ['control literal', 'control decimal', 'control name', 'control redirect to itself', 'control https name']) {
    const r = get(name);
    assert.equal(r.code, null, describe(r));
    assert.equal(r.status, 200);
    assert.equal(r.body, CONTROL_BODY);
    assert.ok((r.accepted[CONTROL] ?? 0) >= 1, describe(r));
    assert.equal(total(r.accepted, CONTROL), 0, describe(r));
  }
  const wrongName = get('control https, certificate for another name');
  assert.equal(wrongName.code, 'CONNECT_FAILED', describe(wrongName));
  assert.match(wrongName.message ?? '', /TLS/, describe(wrongName));
  assert.match(get('allowHosts entry').body ?? '', /INTERNAL SECRET from 127\.0\.0\.1/);
  assert.equal(get('allowHosts other port').code, 'BLOCKED_ADDRESS');
  assert.equal(get('redirect to file').code, 'INVALID_URL');
  assert.equal(get('redirect to gopher').code, 'INVALID_URL');
  assert.equal(get('unknown name').code, 'DNS_FAILED', describe(get('unknown name')));
  const rebinding = get('rebinding');
  assert.equal(rebinding.body, CONTROL_BODY, describe(rebinding));
  assert.deepEqual(rebinding.accepted, { [CONTROL]: 1 }, describe(rebinding));
  const slow = get('connect timeout');
  assert.equal(slow.code, 'TIMEOUT', describe(slow));
  assert.match(slow.message ?? '', /connectTimeoutMs/, describe(slow));
  const nat64 = get('nat64 public');
  assert.equal(nat64.code, 'CONNECT_FAILED', describe(nat64));
  assert.equal(nat64.connectAttempts, 1);
});
