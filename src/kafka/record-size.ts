// How big a record is on the wire, and how big a topic lets it be: what exactly-once needs to refuse an output before
// it is in a transaction (a record the broker refuses there fails the whole transaction, every time).
import type { Admin } from '@platformatic/kafka';

/** A record to produce: key, value and headers as strings or bytes (null/undefined: absent). */
export interface SizedRecord {
  key?: string | Uint8Array | null | undefined;
  value?: string | Uint8Array | null | undefined;
  headers?: Readonly<Record<string, string | Uint8Array>> | ReadonlyMap<string, string | Uint8Array> | undefined;
}

/** Bytes of the fixed part of a v2 record batch (offset, length, epoch, magic, CRC, ..., record count). */
export const RECORD_BATCH_OVERHEAD = 61;

function bytesOf(v: string | Uint8Array | null | undefined): number {
  if (v === null || v === undefined) return -1;
  return typeof v === 'string' ? Buffer.byteLength(v) : v.byteLength;
}

/** Bytes of a zig-zag varint (Kafka's varint and varlong in record batches). */
function varintBytes(n: number): number {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  let bytes = 1;
  while (z >= 128) {
    z = Math.floor(z / 128);
    bytes += 1;
  }
  return bytes;
}

/** A length-prefixed field: its varint length (-1 for null) and its bytes. */
function field(v: string | Uint8Array | null | undefined): number {
  const n = bytesOf(v);
  return varintBytes(n) + Math.max(0, n);
}

/**
 * The size of a record batch holding this record alone, uncompressed (what the broker compares with the topic's
 * max.message.bytes): the batch's fixed part and the record (attributes, timestamp and offset deltas of 0, key,
 * value, headers), behind its varint length.
 */
export function recordBatchBytes(r: SizedRecord): number {
  let body = 1 + 1 + 1 + field(r.key) + field(r.value);
  const headers = r.headers instanceof Map ? [...r.headers] : Object.entries(r.headers ?? {});
  body += varintBytes(headers.length);
  for (const [k, v] of headers) body += field(k) + field(v as string | Uint8Array);
  return RECORD_BATCH_OVERHEAD + varintBytes(body) + body;
}

/** The broker's default max.message.bytes (for a topic whose size could not be read). */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/** Each topic's max.message.bytes (the largest record batch it accepts), as the broker resolves it. */
export async function readMaxMessageBytes(admin: Admin, topics: readonly string[]): Promise<Map<string, number>> {
  const described = await admin.describeConfigs({
    resources: [...new Set(topics)].map((name) => ({ resourceType: 2, resourceName: name, configurationKeys: ['max.message.bytes'] })),
  });
  const out = new Map<string, number>();
  for (const d of described) {
    const value = Number(d.configs.find((c) => c.name === 'max.message.bytes')?.value);
    if (Number.isInteger(value) && value > 0) out.set(d.resourceName, value);
  }
  return out;
}
