// The member epoch of a KIP-848 consumer group member, read from the client's ConsumerGroupHeartbeat answers.
//
// Why: offsets committed in a transaction (TxnOffsetCommit) must carry the member's current epoch in a consumer group
// (the generation id in a classic one), or the coordinator refuses them (ILLEGAL_GENERATION / STALE_MEMBER_EPOCH).
// @platformatic/kafka 2.12.1 keeps the epoch in a private field and sets `generationId` only for classic groups, so
// exactly-once with `--group-protocol consumer` never committed. The epoch is taken here from the same answers the
// client takes it from, through the client's own per-request API lookup (kGetApi), which Lagless already uses for
// read_committed filtering: no patch of the dependency, no request of our own.
import { kGetApi, type API, type Callback, type ConsumerOptions } from '@platformatic/kafka';
import { findKafkaErrorId } from './errors.ts';
import { ReadCommittedConsumer } from './read-committed.ts';

/**
 * Emitted (on the next microtask) by a GroupMemberConsumer whose membership the coordinator ended: its heartbeat was
 * answered FENCED_MEMBER_EPOCH or UNKNOWN_MEMBER_ID. The argument is that error's id.
 */
export const MEMBERSHIP_LOST_EVENT = 'lagless:membership:lost';

/** The parts of a ConsumerGroupHeartbeat answer read here. */
interface HeartbeatAnswer {
  memberId?: string | null;
  memberEpoch?: number;
}

/**
 * A group consumer (read_committed filtering included) that knows its KIP-848 member epoch. `membership` counts the
 * times the member had to join anew (its epoch reset: fenced, or unknown to the coordinator): records and offsets of
 * an earlier membership are no longer this member's to commit.
 */
export class GroupMemberConsumer<Key = Buffer, Value = Buffer, HeaderKey = Buffer, HeaderValue = Buffer> extends ReadCommittedConsumer<Key, Value, HeaderKey, HeaderValue> {
  #epoch = 0;
  #membership = 0;

  constructor(options: ConsumerOptions<Key, Value, HeaderKey, HeaderValue>) {
    super(options);
  }

  /** The member epoch of the last ConsumerGroupHeartbeat answer (0 before the first, and after a fencing). */
  get memberEpoch(): number {
    return this.#epoch;
  }

  /** Incremented each time the member's epoch is reset by the coordinator (FENCED_MEMBER_EPOCH, UNKNOWN_MEMBER_ID). */
  get membership(): number {
    return this.#membership;
  }

  override [kGetApi]<A extends Array<unknown>, R>(name: string, callback: Callback<API<A, R>>): void {
    if (name !== 'ConsumerGroupHeartbeat') {
      super[kGetApi](name, callback);
      return;
    }
    super[kGetApi]<A, R>(name, (error, api) => {
      if (error || !api) {
        callback(error, api);
        return;
      }
      const observed = ((connection: Parameters<API<A, R>>[0], ...args: unknown[]) => {
        const cb = args[args.length - 1] as Callback<R>;
        (api as unknown as (...a: unknown[]) => void)(connection, ...args.slice(0, -1), (err: Error | null, response: R) => {
          this.#observe(err, response as HeartbeatAnswer | undefined);
          cb(err, response);
        });
      }) as unknown as API<A, R>;
      (observed as { async: unknown }).async = (connection: unknown, ...args: unknown[]) =>
        new Promise((resolve, reject) => (observed as unknown as (...a: unknown[]) => void)(connection, ...args, (e: Error | null, r: R) => (e ? reject(e) : resolve(r))));
      callback(null, Object.assign(observed, { key: api.key, version: api.version }));
    });
  }

  #observe(err: Error | null, response: HeartbeatAnswer | undefined): void {
    if (err) {
      const lost = findKafkaErrorId(err, 'FENCED_MEMBER_EPOCH') ? 'FENCED_MEMBER_EPOCH' : findKafkaErrorId(err, 'UNKNOWN_MEMBER_ID') ? 'UNKNOWN_MEMBER_ID' : undefined;
      if (lost) {
        if (this.#epoch !== 0) {
          this.#membership += 1;
          // After the client has handled the answer: 2.12.1 rejoins by itself after FENCED_MEMBER_EPOCH only; after
          // UNKNOWN_MEMBER_ID (a member evicted past its session) it keeps its partitions and heartbeats in vain.
          queueMicrotask(() => (this.emit as (event: string, ...args: unknown[]) => boolean)(MEMBERSHIP_LOST_EVENT, lost));
        }
        this.#epoch = 0;
      }
      return;
    }
    if (typeof response?.memberEpoch === 'number') this.#epoch = response.memberEpoch;
  }
}
