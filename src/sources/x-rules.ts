// The X API v2 filtered-stream rules endpoints: list, add and delete the rules that decide which posts the stream delivers.
import { request } from 'undici';
import { LaglessError } from '../errors/index.ts';

export const DEFAULT_X_API_BASE = 'https://api.x.com';
export const X_RULES_PATH = '/2/tweets/search/stream/rules';

/** Where and how to reach the X API. */
export interface XApiOptions {
  /** Default https://api.x.com; tests point it at a local server. */
  baseUrl?: string;
  /** The app's bearer token (X_BEARER_TOKEN). */
  token: string;
  signal?: AbortSignal;
  /** Per-request timeout for the rules endpoints, ms. Default 30 s. */
  timeoutMs?: number;
}

export interface XRule {
  id: string;
  value: string;
  tag?: string;
}

export interface NewXRule {
  value: string;
  tag?: string;
}

export interface AddRulesResult {
  created: XRule[];
  /** Values X reported as duplicates of existing rules (not an error: the rule is already there). */
  duplicates: string[];
}

export function xBase(options: XApiOptions): string {
  const base = (options.baseUrl ?? DEFAULT_X_API_BASE).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/.test(base)) throw new RangeError(`X API base URL: expected http(s)://host[:port], got "${options.baseUrl}"`);
  return base;
}

export function checkToken(token: string): void {
  if (typeof token !== 'string' || token.trim() === '') throw new RangeError('token: the X bearer token is empty');
}

interface XProblem {
  title?: string;
  detail?: string;
  message?: string;
  type?: string;
  value?: string;
  id?: string;
}

/** A readable summary of an X error body ({title, detail} or {errors:[...]}), clipped. */
export function describeXProblem(body: string): string {
  try {
    const parsed = JSON.parse(body) as XProblem & { errors?: XProblem[] };
    const parts: string[] = [];
    const one = (p: XProblem) => [p.title, p.detail ?? p.message].filter(Boolean).join(': ');
    if (parsed.title || parsed.detail) parts.push(one(parsed));
    for (const e of parsed.errors ?? []) parts.push(one(e) + (e.value ? ` (rule "${e.value}")` : ''));
    if (parts.length > 0) return clip(parts.join('; '));
  } catch {
    // not JSON: fall through to the raw text
  }
  return clip(body.trim() || '(empty body)');
}

function clip(text: string, max = 300): string {
  return text.length > max ? text.slice(0, max) + '…' : text;
}

/** Advice for statuses that no retry can fix. */
export function adviceForStatus(status: number): string {
  switch (status) {
    case 401:
      return ' Check X_BEARER_TOKEN (the app\'s bearer token from the X developer portal).';
    case 403:
      return ' The app or its project may lack access to the filtered stream (see the X developer portal).';
    case 429:
      return ' Rate limited: wait for the window to reset.';
    default:
      return '';
  }
}

async function call(options: XApiOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  checkToken(options.token);
  const url = xBase(options) + path;
  let res;
  try {
    res = await request(url, {
      method,
      headers: {
        authorization: `Bearer ${options.token}`,
        'user-agent': 'lagless',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(options.signal ? { signal: options.signal } : {}),
      headersTimeout: options.timeoutMs ?? 30_000,
      bodyTimeout: options.timeoutMs ?? 30_000,
    });
  } catch (err) {
    throw new LaglessError('SOURCE_FAILED', `cannot reach the X API at ${url}: ${(err as Error).message}`, { cause: err, retryable: true });
  }
  const text = await res.body.text();
  if (res.statusCode < 200 || res.statusCode > 299) {
    const reset = res.headers['x-rate-limit-reset'];
    const when = res.statusCode === 429 && typeof reset === 'string' ? ` (resets at ${new Date(Number(reset) * 1000).toISOString()})` : '';
    throw new LaglessError(
      'SOURCE_FAILED',
      `X API ${method} ${path} answered ${res.statusCode}: ${describeXProblem(text)}${when}.${adviceForStatus(res.statusCode)}`,
      { status: res.statusCode, retryable: res.statusCode === 429 || res.statusCode >= 500 },
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new LaglessError('SOURCE_FAILED', `X API ${method} ${path} answered ${res.statusCode} with a body that is not JSON: ${clip(text)}`, { cause: err });
  }
}

function asRules(data: unknown): XRule[] {
  if (!Array.isArray(data)) return [];
  return data
    .filter((r): r is { id: unknown; value: unknown; tag?: unknown } => typeof r === 'object' && r !== null)
    .filter((r) => typeof r.id === 'string' && typeof r.value === 'string')
    .map((r) => ({ id: r.id as string, value: r.value as string, ...(typeof r.tag === 'string' ? { tag: r.tag } : {}) }));
}

/** GET the current rules. */
export async function listRules(options: XApiOptions): Promise<XRule[]> {
  const body = (await call(options, 'GET', X_RULES_PATH)) as { data?: unknown };
  return asRules(body?.data);
}

/**
 * POST {add: [...]}. Duplicates of existing rules are reported, not thrown; any other rejected rule
 * (invalid syntax, too long, too many rules) rejects with SOURCE_FAILED and X's explanation.
 */
export async function addRules(options: XApiOptions, rules: readonly NewXRule[]): Promise<AddRulesResult> {
  for (const [i, r] of rules.entries()) {
    if (typeof r.value !== 'string' || r.value.trim() === '') throw new RangeError(`rule ${i + 1}: the value is empty`);
  }
  if (rules.length === 0) return { created: [], duplicates: [] };
  const add = rules.map((r) => (r.tag ? { value: r.value, tag: r.tag } : { value: r.value }));
  const body = (await call(options, 'POST', X_RULES_PATH, { add })) as { data?: unknown; errors?: XProblem[] };
  const duplicates: string[] = [];
  const problems: string[] = [];
  for (const e of body?.errors ?? []) {
    if (e.title === 'DuplicateRule') duplicates.push(e.value ?? '');
    else problems.push([e.title, e.detail ?? e.message].filter(Boolean).join(': ') + (e.value ? ` (rule "${e.value}")` : ''));
  }
  if (problems.length > 0) throw new LaglessError('SOURCE_FAILED', `X API rejected the rule(s): ${clip(problems.join('; '))}`);
  return { created: asRules(body?.data), duplicates };
}

/** POST {delete: {ids}}; "all" deletes every current rule. Resolves to the deleted rule ids. */
export async function deleteRules(options: XApiOptions, ids: readonly string[] | 'all'): Promise<string[]> {
  const targets = ids === 'all' ? (await listRules(options)).map((r) => r.id) : [...ids];
  if (targets.length === 0) return [];
  const body = (await call(options, 'POST', X_RULES_PATH, { delete: { ids: targets } })) as { errors?: XProblem[] };
  const failed = (body?.errors ?? []).map((e) => [e.title, e.detail ?? e.message].filter(Boolean).join(': ') + (e.id ? ` (id ${e.id})` : ''));
  if (failed.length > 0) throw new LaglessError('SOURCE_FAILED', `X API could not delete rule(s): ${clip(failed.join('; '))}`);
  return targets;
}
