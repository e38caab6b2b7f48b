// Correct read_committed filtering for @platformatic/kafka consumers: records of aborted transactions are dropped the way
// the Java consumer does it (aborted producer ids tracked batch by batch, released by their abort marker).
//
// Why: @platformatic/kafka 2.12.1 filters aborted transactions with one range per producer id per fetch, so when one
// producer aborted two transactions in the fetched range, the records of the earlier one reach the application (seen
// with a real broker: five transactions, three aborted, the reader got the first two aborted ones; kcat did not).
// A transactional producer keeps its producer id across transactions, so exactly-once outputs read by another Lagless
// job would be processed with their aborted duplicates. The fix runs on the Fetch response before the client's own
// filter, which it then has nothing left to do.
import { Consumer, IS_CONTROL, IS_TRANSACTIONAL, kGetApi, type API, type Callback, type ConsumerOptions, type RecordsBatch } from '@platformatic/kafka';

/** The parts of a Fetch response partition that the filter reads and changes. */
export interface FetchedPartition {
  abortedTransactions?: { producerId: bigint; firstOffset: bigint }[] | null;
  records?: RecordsBatch[] | null;
}

/** The parts of a Fetch response that the filter reads and changes. */
export interface FetchedResponse {
  responses: { partitions: FetchedPartition[] }[];
}

/** A control batch whose marker is an ABORT (control record key: int16 version, int16 type; type 0 = abort). */
function isAbortMarker(batch: RecordsBatch): boolean {
  const key = batch.records[0]?.key;
  return key !== null && key !== undefined && key.length >= 4 && key.readInt16BE(2) === 0;
}

/**
 * Empties the batches that belong to aborted transactions (their records, not the batches: the consumer advances its
 * fetch offset past the last batch of a response, and an aborted batch may be that last one) and clears the aborted
 * transaction list. Returns the number of records dropped. Batches must be in offset order, as the broker sends them.
 */
export function dropAbortedRecords(partition: FetchedPartition): number {
  const aborted = partition.abortedTransactions;
  if (!aborted || aborted.length === 0 || !partition.records) {
    if (aborted) partition.abortedTransactions = null;
    return 0;
  }
  const queue = [...aborted].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  let next = 0;
  const abortedProducers = new Set<bigint>();
  let dropped = 0;
  for (const batch of partition.records) {
    if (batch.producerId < 0n) continue;
    const lastOffset = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    // A transaction that began at or before this batch is open for its producer until that producer's abort marker.
    while (next < queue.length && queue[next]!.firstOffset <= lastOffset) abortedProducers.add(queue[next++]!.producerId);
    if (batch.attributes & IS_CONTROL) {
      if (isAbortMarker(batch)) abortedProducers.delete(batch.producerId);
    } else if (batch.attributes & IS_TRANSACTIONAL && abortedProducers.has(batch.producerId)) {
      dropped += batch.records.length;
      batch.records = [];
    }
  }
  partition.abortedTransactions = null;
  return dropped;
}

const wrapped = new WeakMap<object, unknown>();

/** The Fetch API with the filter applied to each response before the client sees it. */
function filteringFetch<A extends unknown[], R>(api: API<A, R>): API<A, R> {
  const known = wrapped.get(api);
  if (known) return known as API<A, R>;
  const call = (connection: Parameters<API<A, R>>[0], ...args: unknown[]) => {
    const cb = args[args.length - 1] as Callback<R>;
    const rest = args.slice(0, -1);
    (api as unknown as (...a: unknown[]) => void)(connection, ...rest, (error: Error | null, response: R) => {
      if (!error && response) for (const topic of (response as unknown as FetchedResponse).responses ?? []) for (const p of topic.partitions) dropAbortedRecords(p);
      cb(error, response);
    });
  };
  const result = Object.assign(call, { key: api.key, version: api.version }) as unknown as API<A, R>;
  (result as { async: unknown }).async = (connection: unknown, ...args: unknown[]) =>
    new Promise((resolve, reject) => call(connection as Parameters<API<A, R>>[0], ...args, (e: Error | null, r: R) => (e ? reject(e) : resolve(r))));
  wrapped.set(api, result);
  return result;
}

/** A Consumer whose read_committed fetches drop every aborted transaction (see the top of this file). */
export class ReadCommittedConsumer<Key = Buffer, Value = Buffer, HeaderKey = Buffer, HeaderValue = Buffer> extends Consumer<Key, Value, HeaderKey, HeaderValue> {
  constructor(options: ConsumerOptions<Key, Value, HeaderKey, HeaderValue>) {
    super(options);
  }

  override [kGetApi]<A extends Array<unknown>, R>(name: string, callback: Callback<API<A, R>>): void {
    if (name !== 'Fetch') {
      super[kGetApi](name, callback);
      return;
    }
    super[kGetApi]<A, R>(name, (error, api) => (error || !api ? callback(error, api) : callback(null, filteringFetch(api))));
  }
}
