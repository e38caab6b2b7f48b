// A secret value (password, private key) that never prints: JSON, util.inspect, String() and templates show "[redacted]".
import { inspect } from 'node:util';

const REDACTED = '[redacted]';

export class Secret<T extends string | Buffer = string> {
  readonly #value: T;

  constructor(value: T) {
    this.#value = value;
  }

  /** The value itself: only for handing it to the Kafka client or to TLS, never for printing. */
  reveal(): T {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

export function secret<T extends string | Buffer>(value: T): Secret<T> {
  return new Secret(value);
}
