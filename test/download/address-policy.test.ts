// The SSRF address policy: a table of addresses, and properties cross-checked against ipaddr.js ranges.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { classifyAddress } from '../../src/download/index.ts';

const blocked = [
  '0.0.0.0', '0.1.2.3', '10.0.0.1', '10.255.255.255', '100.64.0.1', '100.127.255.255', '127.0.0.1', '127.255.0.1',
  '169.254.169.254', '169.254.0.1', '172.16.0.1', '172.31.255.255', '192.0.0.192', '192.168.1.1', '198.18.0.1',
  '198.19.255.255', '224.0.0.1', '239.255.255.250', '240.0.0.1', '255.255.255.255',
  '::', '::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::ffff:203.0.113.10', '::127.0.0.1',
  '::ffff:0:a00:1', '64:ff9b::127.0.0.1', '64:ff9b::a9fe:a9fe', '64:ff9b:1::1', '100::1', '2001::1', '2001:0:4136:e378::1',
  '2001:2::1', '2002:7f00:1::', '2002:a9fe:a9fe::1', 'fc00::1', 'fd00::1', 'fdff:ffff::1', 'fe80::1', 'fe80::1%lo',
  'febf::1', 'fec0::1', 'ff02::1', '4000::1', 'e000::1',
  // Not an IP address in standard notation: the guard fails closed.
  '0x7f000001', '2130706433', '127.1', '0177.0.0.1', 'localhost', '', '1.2.3.4.5', '[::1]x',
];

const allowed = [
  '1.1.1.1', '8.8.8.8', '93.184.215.14', '100.63.255.255', '100.128.0.0', '172.15.255.255', '172.32.0.0',
  '192.167.255.255', '192.169.0.0', '198.17.255.255', '198.20.0.0', '223.255.255.255', '169.253.255.255',
  // Documentation ranges are not blocked (see the policy's comment); 203.0.113.10 is the tests' public stand-in.
  '192.0.2.1', '198.51.100.7', '203.0.113.10',
  '2606:4700:4700::1111', '2a00:1450:4001:80b::200e', '2001:db8::1', '[2606:4700:4700::1111]',
  // NAT64 and 6to4 carrying public IPv4 addresses reach the public address they carry.
  '64:ff9b::808:808', '64:ff9b::203.0.113.10', '2002:808:808::1',
];

test('blocked addresses', () => {
  for (const address of blocked) {
    const verdict = classifyAddress(address);
    assert.equal(verdict.blocked, true, `${address} should be blocked`);
  }
});

test('allowed addresses', () => {
  for (const address of allowed) {
    assert.deepEqual(classifyAddress(address), { blocked: false, address }, `${address} should be allowed`);
  }
});

test('the verdict names the range, with the embedded IPv4 address for translation prefixes', () => {
  const meta = classifyAddress('169.254.169.254');
  assert.ok(meta.blocked);
  assert.match(meta.range, /link-local/);
  assert.equal(meta.cidr, '169.254.0.0/16');
  const nat64 = classifyAddress('64:ff9b::7f00:1');
  assert.ok(nat64.blocked);
  assert.match(nat64.range, /NAT64.*127\.0\.0\.1.*loopback/);
});

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => new ipaddr.IPv4(o));
const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((p) => new ipaddr.IPv6(p));

// ipaddr.js's own classification is an independent second opinion for the ranges that matter most for SSRF.
const mustBlockV4 = new Set(['unspecified', 'broadcast', 'multicast', 'linkLocal', 'loopback', 'carrierGradeNat', 'private']);
const mustBlockV6 = new Set(['unspecified', 'linkLocal', 'multicast', 'loopback', 'uniqueLocal', 'ipv4Mapped', 'rfc6145', 'teredo', 'benchmarking']);

test('property: every IPv4 address ipaddr.js calls loopback, private, link-local, CGNAT, multicast, broadcast or unspecified is blocked', () => {
  fc.assert(
    fc.property(v4, (a) => {
      if (mustBlockV4.has(a.range())) assert.equal(classifyAddress(a.toString()).blocked, true, a.toString());
    }),
    { numRuns: 20_000 },
  );
  // Random sampling rarely lands in small ranges: sample inside each one too.
  for (const [base, bits] of [['127.0.0.0', 8], ['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['169.254.0.0', 16], ['100.64.0.0', 10], ['0.0.0.0', 8], ['224.0.0.0', 4]] as const) {
    const start = ipaddr.IPv4.parse(base).toByteArray().reduce((n, b) => n * 256 + b, 0);
    fc.assert(
      fc.property(fc.nat(2 ** (32 - bits) - 1), (offset) => {
        const n = start + offset;
        const a = `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
        assert.equal(classifyAddress(a).blocked, true, a);
      }),
    );
  }
});

test('property: IPv6 ranges ipaddr.js calls non-public are blocked, in any notation', () => {
  fc.assert(
    fc.property(v6, (a) => {
      const expectBlocked = mustBlockV6.has(a.range());
      for (const text of [a.toString(), a.toNormalizedString(), a.toRFC5952String()]) {
        if (expectBlocked) assert.equal(classifyAddress(text).blocked, true, text);
      }
    }),
    { numRuns: 20_000 },
  );
});

test('property: an IPv4 address in IPv4-mapped form is always blocked; NAT64 and 6to4 follow the embedded address', () => {
  fc.assert(
    fc.property(v4, (a) => {
      const inner = classifyAddress(a.toString()).blocked;
      const [o0, o1, o2, o3] = a.octets as [number, number, number, number];
      const hi = ((o0 << 8) | o1).toString(16);
      const lo = ((o2 << 8) | o3).toString(16);
      assert.equal(classifyAddress(`::ffff:${a.toString()}`).blocked, true);
      assert.equal(classifyAddress(`::ffff:${hi}:${lo}`).blocked, true);
      assert.equal(classifyAddress(`64:ff9b::${hi}:${lo}`).blocked, inner);
      assert.equal(classifyAddress(`2002:${hi}:${lo}::1`).blocked, inner);
    }),
    { numRuns: 5_000 },
  );
});
