// The JobRecord a job receives: a Kafka record with its value as bytes, headers decoded on first use, text() and json().
import { JobError } from '../errors/index.ts';
import type { JobRecord, RecordHeaders } from './types.ts';

const EMPTY = Buffer.alloc(0);
const NO_HEADERS: RecordHeaders = Object.freeze({});

/** What the runtime knows of a fetched record. */
export interface RecordFields {
  topic: string;
  partition: number;
  offset: bigint;
  timestamp: bigint;
  key: string | undefined;
  value: Buffer | undefined;
  headers: ReadonlyMap<string, string> | undefined;
}

export class InputRecord implements JobRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly timestamp: bigint;
  readonly key: string | undefined;
  readonly value: Buffer;
  readonly #rawHeaders: ReadonlyMap<string, string> | undefined;
  #headers: RecordHeaders | undefined;

  constructor(f: RecordFields) {
    this.topic = f.topic;
    this.partition = f.partition;
    this.offset = f.offset;
    this.timestamp = f.timestamp;
    this.key = f.key;
    this.value = f.value ?? EMPTY;
    this.#rawHeaders = f.headers;
  }

  /** From a string value (tests, tools). */
  static of(f: Omit<RecordFields, 'value' | 'headers'> & { value: string | Buffer; headers?: Record<string, string> }): InputRecord {
    return new InputRecord({
      ...f,
      value: typeof f.value === 'string' ? Buffer.from(f.value) : f.value,
      headers: f.headers ? new Map(Object.entries(f.headers)) : undefined,
    });
  }

  get headers(): RecordHeaders {
    // Decoded on first use: most jobs never read headers.
    if (this.#headers === undefined) this.#headers = this.#rawHeaders?.size ? Object.freeze(Object.fromEntries(this.#rawHeaders)) : NO_HEADERS;
    return this.#headers;
  }

  text(): string {
    return this.value.toString('utf8');
  }

  json<T = unknown>(): T {
    const text = this.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new JobError('INVALID_MESSAGE', `the value is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
    }
  }
}
