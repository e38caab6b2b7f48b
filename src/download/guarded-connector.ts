// The SSRF guard inside undici's connector: resolve, check every address, then connect to a checked IP only.
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { buildConnector } from 'undici';
import { isLaglessError } from '../errors/index.ts';
import { downloadError } from './errors.ts';
import { classifyAddress } from './address-policy.ts';
import { downloadChannels } from './channels.ts';
import type { AllowedHost, LookupFunction, ResolvedDownloadOptions } from './options.ts';

/** Counters shared by the connector and the downloader (mutable inside the module, read-only outside). */
export interface GuardCounters {
  /** TCP/TLS connections opened (or attempted): one per address tried. */
  connectAttempts: number;
  /** Connections refused by the SSRF guard before any socket was created. */
  blocked: number;
  /** DNS lookups made by the guard (IP literals need none). */
  dnsLookups: number;
}

const systemLookup: LookupFunction = (hostname) => dnsLookup(hostname, { all: true, order: 'verbatim' });

function isAllowedHost(allowed: readonly AllowedHost[], hostname: string, port: number): boolean {
  const host = hostname.toLowerCase();
  return allowed.some((a) => a.host === host && (a.port === undefined || a.port === port));
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Resolves `hostname` (IP literals as themselves) and returns its addresses if ALL of them are allowed.
 * Policy: one blocked address blocks the name. A name that mixes public and internal answers is either
 * misconfigured or an attack (DNS rebinding with several records), and refusing it is simpler to reason about
 * than silently using a subset.
 */
async function resolveChecked(
  hostname: string,
  port: number,
  options: ResolvedDownloadOptions,
  counters: GuardCounters,
): Promise<string[]> {
  let addresses: string[];
  if (isIP(hostname) !== 0) {
    addresses = [hostname];
  } else {
    counters.dnsLookups++;
    const lookup = options.lookup ?? systemLookup;
    let answers: ReadonlyArray<{ address: string }>;
    try {
      answers = await withTimeout(
        lookup(hostname),
        options.connectTimeoutMs,
        () => downloadError('TIMEOUT', `DNS lookup of ${hostname} took longer than connectTimeoutMs (${options.connectTimeoutMs} ms)`, { host: hostname, phase: 'dns' }),
      );
    } catch (err) {
      if (isLaglessError(err)) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      throw downloadError('DNS_FAILED', `could not resolve ${hostname}: ${code ?? (err as Error).message}`, { cause: err, host: hostname });
    }
    addresses = answers.map((a) => a.address);
    if (addresses.length === 0) throw downloadError('DNS_FAILED', `${hostname} has no address`, { host: hostname });
  }
  for (const address of addresses) {
    const verdict = classifyAddress(address);
    if (verdict.blocked) {
      counters.blocked++;
      if (downloadChannels.blocked.hasSubscribers) {
        downloadChannels.blocked.publish({ host: hostname, port, address, range: verdict.range });
      }
      const via = address === hostname ? `${address} is` : `${hostname} resolves to ${address},`;
      throw downloadError(
        'BLOCKED_ADDRESS',
        `${via} a ${verdict.range} address; downloads may not reach it (allow it with allowHosts/--allow-host or allowPrivate/--allow-private)`,
        { host: hostname, address, range: verdict.range },
      );
    }
  }
  return addresses;
}

/**
 * Builds the connector for undici's Agent. The check and the connection use the same IP: after the check the socket
 * is opened to the checked address (the Host header and TLS SNI keep the name), so a DNS answer that changes between
 * check and connect (rebinding) cannot redirect it. Addresses are tried one after another, in resolver order.
 */
export function createGuardedConnector(options: ResolvedDownloadOptions, counters: GuardCounters): buildConnector.connector {
  const base = buildConnector({ timeout: options.connectTimeoutMs, allowH2: false });

  const open = (connectOptions: buildConnector.Options, host: string, port: number, address: string, callback: buildConnector.Callback): void => {
    counters.connectAttempts++;
    if (downloadChannels.connect.hasSubscribers) downloadChannels.connect.publish({ host, port, address });
    base(connectOptions, callback);
  };

  return (connectOptions, callback) => {
    const { hostname, protocol } = connectOptions;
    const port = Number(connectOptions.port) || (protocol === 'https:' ? 443 : 80);
    if (options.allowPrivate || isAllowedHost(options.allowedHosts, hostname, port)) {
      open(connectOptions, hostname, port, hostname, callback);
      return;
    }
    resolveChecked(hostname, port, options, counters).then(
      (addresses) => {
        const servername = isIP(hostname) === 0 ? (connectOptions.servername || hostname) : connectOptions.servername;
        const attempt = (i: number): void => {
          const address = addresses[i]!;
          open({ ...connectOptions, hostname: address, servername }, hostname, port, address, (err, socket) => {
            if (err !== null && i + 1 < addresses.length) attempt(i + 1);
            else if (err !== null) callback(err, null);
            else callback(null, socket);
          });
        };
        attempt(0);
      },
      (err: Error) => callback(err, null),
    );
  };
}
