// freePort and freePortRange pick free ports below the kernel's ephemeral range (where a connection's local port could take them before a broker binds).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { freePort, freePortRange } from '../../src/common/index.ts';

const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

const bind = (port: number) =>
  new Promise<void>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ port, host: '127.0.0.1' }, () => srv.close(() => resolve()));
  });

test('freePort: a free port below the ephemeral range', async () => {
  for (let i = 0; i < 20; i += 1) {
    const port = await freePort();
    assert.ok(port >= 10_000 && port < ephemeralLow, `${port} is in [10000, ${ephemeralLow})`);
    await bind(port);
  }
});

test('freePortRange: consecutive free ports below the ephemeral range', async () => {
  const first = await freePortRange(3);
  assert.ok(first >= 10_000 && first + 3 <= ephemeralLow, `${first}..${first + 2} below ${ephemeralLow}`);
  for (let p = first; p < first + 3; p += 1) await bind(p);
});
