// Turns what a job's run() returned into the records to produce, or a JobError INVALID_OUTPUT that names what is wrong.
import { JobError } from '../errors/index.ts';
import type { JobOutput, JobRecord, JobResult } from '../job/index.ts';
import type { OutgoingRecord } from './sink.ts';

const NONE: readonly OutgoingRecord[] = [];

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;

function invalid(message: string): never {
  throw new JobError('INVALID_OUTPUT', message);
}

/**
 * The records to produce for `result`: none for null, undefined or []; one per output otherwise. An output's topic
 * defaults to `defaultTopic` and must otherwise be one of `allowed`; its key defaults to the input's key.
 */
export function toOutgoing(result: JobResult, input: JobRecord, defaultTopic: string, allowed: ReadonlySet<string>): readonly OutgoingRecord[] {
  if (result === undefined || result === null) return NONE;
  if (Array.isArray(result)) {
    if (result.length === 0) return NONE;
    return result.map((o, i) => one(o as JobOutput, input, defaultTopic, allowed, `output ${i}`));
  }
  return [one(result as JobOutput, input, defaultTopic, allowed, 'the output')];
}

function one(o: JobOutput, input: JobRecord, defaultTopic: string, allowed: ReadonlySet<string>, what: string): OutgoingRecord {
  if (typeof o !== 'object' || o === null) invalid(`${what} must be an object { value, key?, headers?, topic? }, got ${o === null ? 'null' : typeof o}`);
  const { value, key, headers, topic } = o;
  if (value !== null && typeof value !== 'string' && !isBytes(value)) {
    invalid(`${what}: "value" must be a string, a Buffer/Uint8Array or null, got ${value === undefined ? 'undefined' : typeof value}`);
  }
  if (key !== undefined && key !== null && typeof key !== 'string' && !isBytes(key)) invalid(`${what}: "key" must be a string, a Buffer/Uint8Array or null, got ${typeof key}`);
  let to = defaultTopic;
  if (topic !== undefined && topic !== defaultTopic) {
    if (typeof topic !== 'string' || !allowed.has(topic)) {
      invalid(`${what}: topic ${JSON.stringify(topic)} is neither the output topic "${defaultTopic}" nor one of the job's outputs (${allowed.size ? [...allowed].join(', ') : 'none declared'})`);
    }
    to = topic;
  }
  // The headers are copied once: the producer never reads the job's object again (its getters may change or throw).
  let copied: Record<string, string | Uint8Array> | undefined;
  if (headers !== undefined) {
    if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) invalid(`${what}: "headers" must be an object of name → string or bytes`);
    copied = {};
    for (const [name, v] of Object.entries(headers)) {
      if (typeof v !== 'string' && !isBytes(v)) invalid(`${what}: header ${JSON.stringify(name)} must be a string or bytes, got ${typeof v}`);
      copied[name] = v;
    }
  }
  const out: OutgoingRecord = { topic: to, key: key === undefined ? input.key : (key ?? undefined), value };
  if (copied !== undefined) out.headers = copied;
  return out;
}
