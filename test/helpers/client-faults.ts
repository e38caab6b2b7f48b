// Fault injection into the @platformatic/kafka clients a test's code creates: found through the client's diagnostics
// channel of created instances, faults put in through its per-connection API lookup (kGetApi). The broker stays real.
import diagnostics from 'node:diagnostics_channel';
import type { TestContext } from 'node:test';
import { kGetApi } from '@platformatic/kafka';

type Callback = (error: unknown, result?: unknown) => void;
/** A Kafka API as the client calls it: (connection, ...arguments, callback). */
export type KafkaApi = (...args: unknown[]) => void;

/**
 * Calls `found` with every client instance of `type` ('consumer', 'producer', 'admin', 'messages-stream') created
 * from now until the end of the test, when it is created (before its first request).
 */
export function watchInstances<T = Record<PropertyKey, unknown>>(t: TestContext, type: string, found: (instance: T) => void): void {
  const onInstance = (m: unknown) => {
    const { type: created, instance } = m as { type: string; instance: T };
    if (created === type) found(instance);
  };
  diagnostics.subscribe('plt:kafka:instances', onInstance);
  t.after(() => diagnostics.unsubscribe('plt:kafka:instances', onInstance));
}

/**
 * Replaces the API `name` (e.g. 'Heartbeat', 'Fetch') of one client instance, for its requests from now on: `wrap`
 * gets the real API and returns what the client calls instead (call the real one to send the request; hold its
 * callback to hold the answer).
 */
export function wrapApi(client: object, name: string, wrap: (api: KafkaApi) => KafkaApi): void {
  const target = client as Record<symbol, unknown>;
  const lookup = (target[kGetApi] as (name: string, cb: Callback) => void).bind(client);
  target[kGetApi] = (wanted: string, cb: Callback) => {
    if (wanted !== name) {
      lookup(wanted, cb);
      return;
    }
    lookup(wanted, (error, api) => {
      if (error || !api) {
        cb(error, api);
        return;
      }
      const { key, version } = api as { key?: number; version?: number };
      // The client reads the API's version (e.g. Fetch: topic names or ids).
      cb(null, Object.assign(wrap(api as KafkaApi), { key, version }));
    });
  };
}
