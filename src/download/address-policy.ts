// The SSRF address policy: which resolved IP addresses a download may connect to (pure, no I/O).
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * One blocked network. `embeddedIPv4` marks translation prefixes (NAT64, 6to4) whose verdict depends on the
 * IPv4 address carried inside: they are blocked only when that IPv4 address is blocked.
 */
export interface BlockedRange {
  readonly cidr: string;
  readonly name: string;
  readonly embeddedIPv4?: (v6: ipaddr.IPv6) => ipaddr.IPv4;
}

/**
 * IPv4 networks a download never connects to (unless `allowPrivate`/`allowHosts`): everything that reaches this
 * machine, the local networks, or cloud metadata services. Documentation ranges (192.0.2.0/24, 198.51.100.0/24,
 * 203.0.113.0/24) are deliberately NOT listed: the internet does not route them, so they cannot reach anything by
 * themselves, and the SSRF tests use 203.0.113.10 as the stand-in for a public address.
 */
export const blockedIPv4Ranges: readonly BlockedRange[] = [
  { cidr: '0.0.0.0/8', name: 'this network (0.0.0.0 reaches the local host on Linux)' },
  { cidr: '10.0.0.0/8', name: 'private (RFC 1918)' },
  { cidr: '100.64.0.0/10', name: 'carrier-grade NAT (RFC 6598)' },
  { cidr: '127.0.0.0/8', name: 'loopback' },
  { cidr: '169.254.0.0/16', name: 'link-local (cloud metadata 169.254.169.254)' },
  { cidr: '172.16.0.0/12', name: 'private (RFC 1918)' },
  { cidr: '192.0.0.0/24', name: 'IETF protocol assignments (Oracle Cloud metadata 192.0.0.192)' },
  { cidr: '192.168.0.0/16', name: 'private (RFC 1918)' },
  { cidr: '198.18.0.0/15', name: 'benchmarking (RFC 2544, used for internal networks)' },
  { cidr: '224.0.0.0/4', name: 'multicast' },
  { cidr: '240.0.0.0/4', name: 'reserved (includes broadcast 255.255.255.255)' },
];

function v4At(v6: ipaddr.IPv6, index: number): ipaddr.IPv4 {
  const hi = v6.parts[index]!;
  const lo = v6.parts[index + 1]!;
  return new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
}

/**
 * IPv6 networks a download never connects to. Order matters only for the name reported: the first match wins.
 * Anything outside global unicast 2000::/3 that is not NAT64 is blocked too (see {@link classifyAddress}).
 */
export const blockedIPv6Ranges: readonly BlockedRange[] = [
  { cidr: '::/128', name: 'unspecified' },
  { cidr: '::1/128', name: 'loopback' },
  { cidr: '::ffff:0:0/96', name: 'IPv4-mapped (connects over IPv4 to the embedded address)' },
  { cidr: '::/96', name: 'IPv4-compatible (deprecated)' },
  { cidr: '::ffff:0:0:0/96', name: 'IPv4-translated (RFC 6145)' },
  { cidr: '64:ff9b::/96', name: 'NAT64 (RFC 6052)', embeddedIPv4: (v6) => v4At(v6, 6) },
  { cidr: '64:ff9b:1::/48', name: 'local-use NAT64 (RFC 8215)' },
  { cidr: '100::/64', name: 'discard-only (RFC 6666)' },
  { cidr: '2001::/32', name: 'Teredo (tunnels to an obfuscated IPv4 address)' },
  { cidr: '2001:2::/48', name: 'benchmarking (RFC 5180)' },
  { cidr: '2002::/16', name: '6to4 (RFC 3056)', embeddedIPv4: (v6) => v4At(v6, 1) },
  { cidr: 'fc00::/7', name: 'unique-local (RFC 4193)' },
  { cidr: 'fe80::/10', name: 'link-local' },
  { cidr: 'fec0::/10', name: 'site-local (deprecated)' },
  { cidr: 'ff00::/8', name: 'multicast' },
];

const globalUnicast = ipaddr.IPv6.parseCIDR('2000::/3');
const parsedV4 = blockedIPv4Ranges.map((r) => ({ range: r, cidr: ipaddr.IPv4.parseCIDR(r.cidr) }));
const parsedV6 = blockedIPv6Ranges.map((r) => ({ range: r, cidr: ipaddr.IPv6.parseCIDR(r.cidr) }));

/** The verdict on one address: `blocked` with the range's name and CIDR, or allowed. */
export type AddressVerdict =
  | { readonly blocked: false; readonly address: string }
  | { readonly blocked: true; readonly address: string; readonly range: string; readonly cidr: string };

function classifyV4(v4: ipaddr.IPv4): { range: string; cidr: string } | undefined {
  for (const { range, cidr } of parsedV4) {
    if (v4.match(cidr)) return { range: range.name, cidr: range.cidr };
  }
  return undefined;
}

function classifyParsed(addr: Address): { range: string; cidr: string } | undefined {
  if (addr.kind() === 'ipv4') return classifyV4(addr as ipaddr.IPv4);
  const v6 = addr as ipaddr.IPv6;
  for (const { range, cidr } of parsedV6) {
    if (!v6.match(cidr)) continue;
    if (range.embeddedIPv4 === undefined) return { range: range.name, cidr: range.cidr };
    const inner = range.embeddedIPv4(v6);
    const innerVerdict = classifyV4(inner);
    // A translation prefix is as safe as the IPv4 address it carries (DNS64 networks return these for every
    // IPv4-only host, so blocking the prefix outright would break downloads there).
    if (innerVerdict === undefined) return undefined;
    return { range: `${range.name} carrying ${inner.toString()}: ${innerVerdict.range}`, cidr: range.cidr };
  }
  if (!v6.match(globalUnicast)) return { range: 'reserved (outside global unicast 2000::/3)', cidr: '2000::/3' };
  return undefined;
}

/**
 * Decides whether a download may connect to `address`, an IP address in standard notation (as returned by DNS,
 * or a URL's normalised host). Anything that is not a valid IP address is blocked: the guard fails closed.
 */
export function classifyAddress(address: string): AddressVerdict {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  // net.isIP accepts only standard notation; ipaddr.js alone would also accept forms like "0x7f.1".
  if (isIP(bare) === 0) {
    return { blocked: true, address, range: 'not a valid IP address', cidr: '' };
  }
  let parsed: Address;
  try {
    parsed = ipaddr.parse(bare);
  } catch {
    return { blocked: true, address, range: 'not a valid IP address', cidr: '' };
  }
  const hit = classifyParsed(parsed);
  return hit === undefined ? { blocked: false, address } : { blocked: true, address, ...hit };
}
