// The group membership of a transformer: the consumer, its stream (and its replacement), joining again after a loss,
// the generation in force, flow control of the stream, and leaving. What the member holds (partitions, records) is the
// transformer's: the member tells it through MemberHooks, and asks it before a classic JoinGroup (the release hook).
import type { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConsumeOptions, Message, MessagesStream } from '@platformatic/kafka';
import { formatDuration, within } from '../common/index.ts';
import { isLaglessError, LaglessError, warning, type WarningCode } from '../errors/index.ts';
import { balancedCooperativeAssigner, createRecordConsumer, describeKafkaError, MEMBERSHIP_LOST_EVENT, type RecordConsumer } from '../kafka/index.ts';
import type { TransformerOptions } from './options.ts';

export type InputMessage = Message<string, Buffer, string, string>;
type Stream = MessagesStream<string, Buffer, string, string>;

/** One stay in the group, as transactions carry it. */
export interface Generation {
  /** Classic: the generation id; KIP-848: the member epoch. */
  readonly generationId: number;
  readonly memberId: string;
  /** Names the stay: a new member id (classic) or an epoch reset by the coordinator (KIP-848) starts another. */
  readonly membership: string;
}

/** What the member tells (and asks) the transformer. */
export interface MemberHooks {
  /** A record of the current stream. */
  message(m: InputMessage): void;
  /** The client's assignment may have changed; `announce`: a join (reported even when nothing changed). */
  assignmentChanged(announce: boolean): void;
  /** A rebalance round ended: a good moment to commit. */
  rebalanced(): void;
  /**
   * The membership ended (a reconnect): every partition is dropped before this returns (synchronously); resolves when
   * a new membership may begin.
   */
  membershipEnded(): Promise<void>;
  /** Classic protocol, before every JoinGroup (also the rejoin that gives revoked partitions up): the releases. */
  beforeJoin(): Promise<void>;
  /** A new stream was attached: the flow is decided again. */
  streamAttached(): void;
  warn(w: LaglessError): void;
  warnEvery(code: WarningCode, message: string): void;
}

/** The assignment the client holds now, and whether it came with a new membership. */
export interface AssignmentView {
  readonly partitions: Set<number>;
  /** Classic: the generation id; KIP-848: the member epoch. */
  readonly generation: number;
  /** This member was removed from the group and came back as a new member since the last look. */
  readonly newMembership: boolean;
}

export class GroupMember {
  readonly #o: TransformerOptions;
  readonly #hooks: MemberHooks;
  #consumer: RecordConsumer | undefined;
  #stream: Stream | undefined;
  /** The generation (and member id) of the assignment in force: offsets committed in a transaction carry them. */
  #generation: Generation | undefined;
  #reconnecting: Promise<void> | undefined;
  /** The consumer's stream being replaced (see replaceStream), and streams left to close. */
  #replacing: Promise<void> | undefined;
  #replaceAgain = false;
  #retired: Stream | undefined;
  /** Aborted by stop() and destroy(): a reconnect in progress stops at its next step; the stream is not resumed. */
  readonly #stopping = new AbortController();
  /** Set when leave() or destroy() takes the consumer to close it: a consumer that joins later closes itself. */
  #released = false;
  #paused = false;
  /** A JoinGroup of this member is on its way (classic protocol): commits wait (see protocolsMetadata). */
  #joining = false;
  #joinWaiters: (() => void)[] = [];
  /** Set by beginLeaving(): a promise that never settles, which the member's next JoinGroup waits for. */
  #leaving: Promise<never> | undefined;
  /** Partitions that left this member since the current stream was attached (its fetch position for them may be stale). */
  readonly #leftSinceStream = new Set<number>();

  constructor(options: TransformerOptions, hooks: MemberHooks) {
    this.#o = options;
    this.#hooks = hooks;
  }

  get consumer(): RecordConsumer | undefined {
    return this.#consumer;
  }

  get generation(): Generation | undefined {
    return this.#generation;
  }

  /** A JoinGroup of this member is on its way: a commit now would start one more rebalance. */
  get joining(): boolean {
    return this.#joining;
  }

  /** A stream is attached (none while joining again). */
  get streaming(): boolean {
    return this.#stream !== undefined;
  }

  get stopping(): boolean {
    return this.#stopping.signal.aborted;
  }

  stats(): { paused: boolean; buffered: number; reconnecting: boolean } {
    return { paused: this.#paused, buffered: this.#stream?.readableLength ?? 0, reconnecting: this.#reconnecting !== undefined };
  }

  #setJoining(v: boolean): void {
    this.#joining = v;
    if (!v) for (const w of this.#joinWaiters.splice(0)) w();
  }

  /** Joins the group. A join that fails for a reason of the broker's is retried in the background (resolves). */
  async join(): Promise<void> {
    try {
      await this.#connect();
    } catch (err) {
      // Our own errors (closed, bad options) stop the start. A group the broker cannot take us into yet (a broker
      // that has just started: "joinGroup failed 4 times" while its group coordinator loads) is retried in the
      // background like any later loss of membership, instead of ending the process.
      if (isLaglessError(err) || this.stopping) throw err;
      this.#hooks.warn(warning('GROUP_JOIN_FAILED', `joining the group failed (retrying): ${describeKafkaError(err)}`));
      this.reconnect();
    }
  }

  async #connect(): Promise<void> {
    const o = this.#o;
    if (this.#released) throw new LaglessError('INTERNAL', 'the transformer is closed');
    const consumer = createRecordConsumer({
      ...o.kafka,
      clientId: o.clientId,
      groupId: o.group,
      extra: {
        rebalanceTimeout: o.rebalanceTimeoutMs,
        maxWaitTime: o.fetchMaxWaitMs,
        maxBytes: o.fetchMaxBytes,
        // A small buffer in the client: our own window is the real bound.
        highWaterMark: 64,
        ...(o.groupProtocol === 'consumer'
          ? // KIP-848: the broker sets the heartbeat interval and the session timeout. The client still checks that
            // rebalanceTimeout is not below a sessionTimeout (its default is 60 s), which its types leave out here.
            ({ groupProtocol: 'consumer' as const, sessionTimeout: o.sessionTimeoutMs } as { groupProtocol: 'consumer' })
          : {
              sessionTimeout: o.sessionTimeoutMs,
              heartbeatInterval: o.heartbeatIntervalMs,
              // Incremental rebalancing. The client calls protocolsMetadata before every JoinGroup, also the rejoin that
              // gives revoked partitions up: holding it until their releases are done is the revocation callback.
              protocols: [{ name: 'cooperative-sticky', version: 3 }],
              // The client's own assignor can leave 8 partitions 4/2/2 after two members join at once (see assignor.ts).
              partitionAssigner: balancedCooperativeAssigner,
              protocolsMetadata: () =>
                this.#hooks
                  .beforeJoin()
                  // A member that is stopping joins no new round: it commits, then leaves (see beginLeaving).
                  .then(() => this.#leaving)
                  .then(() => {
                    // From here until the join completes, a commit would be refused with REBALANCE_IN_PROGRESS and the
                    // client would answer that with one more JoinGroup: after the group settled, that starts another
                    // rebalance (a storm, one per commit interval). Commits wait for the join instead.
                    this.#setJoining(true);
                    return Buffer.alloc(0);
                  }),
            }),
      },
    });
    this.#consumer = consumer;
    // Events of a consumer that has been replaced (after a reconnect) are ignored.
    const current = () => this.#consumer === consumer;
    // The assignment is read from the client whenever it may have changed: at a join, at a rebalance (the cooperative
    // protocol's revocation round), after a heartbeat (KIP-848 assignments arrive in heartbeat responses).
    consumer.on('consumer:group:rebalance', () => {
      if (!current()) return;
      this.#setJoining(false);
      this.#hooks.rebalanced();
      this.#hooks.assignmentChanged(false);
    });
    consumer.on('consumer:group:join', () => {
      if (!current()) return;
      this.#setJoining(false);
      this.#hooks.assignmentChanged(true);
    });
    consumer.on('consumer:heartbeat:end', () => {
      if (!current()) return;
      this.#setJoining(false);
      this.#hooks.assignmentChanged(false);
    });
    consumer.on('consumer:heartbeat:error', (p) => current() && this.#hooks.warnEvery('GROUP_HEARTBEAT_FAILED', `group heartbeat failed: ${describeKafkaError(p.error)}`));
    // KIP-848: the coordinator ended this membership (fenced, or evicted past its session). Its partitions are already
    // someone else's: the member drops them and joins again with a new consumer at once (exactly-once: after fencing
    // its producer), instead of processing them beside their new owner until its heartbeats count as stalled.
    (consumer as unknown as EventEmitter).on(MEMBERSHIP_LOST_EVENT, (reason: string) => {
      if (!current()) return;
      this.#hooks.warn(warning('GROUP_MEMBERSHIP_LOST', `the group coordinator ended this member's membership (${reason}): joining the group again`));
      this.reconnect();
    });
    // The client's own alarm: no heartbeat succeeded for its stall timeout (the rebalance timeout). Seen in the fault
    // suite: a member whose network was cut past its session timeout never came back after the link did (its
    // heartbeats did not complete, so it never learned it had been evicted, and kept its partitions for minutes).
    // The group has evicted it long since: it joins again with a new consumer.
    consumer.on('consumer:heartbeat:stalled', (p: { stalledFor?: number; lastError?: unknown }) => {
      if (!current()) return;
      const last = p.lastError ? ` (last error: ${describeKafkaError(p.lastError)})` : '';
      // exactly-once too: reconnect ends the old membership's transactions before it joins again (membershipEnded).
      this.#hooks.warn(warning('GROUP_HEARTBEAT_STALLED', `no group heartbeat succeeded for ${Math.round((p.stalledFor ?? 0) / 1000)} s${last}: joining the group again`));
      this.reconnect();
    });
    // The client reports a failure it cannot recover from (a rejoin that failed for good, e.g. "joinGroup failed 4
    // times" while members come and go) as an 'error' event, and then stops heartbeating: without a listener the
    // process crashed; now the member gives its partitions up and joins again with a new consumer.
    consumer.on('error', (err: Error) => {
      if (!current()) return;
      this.#hooks.warn(warning('GROUP_MEMBERSHIP_FAILED', `the group membership failed (joining again): ${describeKafkaError(err)}`));
      this.reconnect();
    });
    let stream: Stream;
    try {
      stream = await consumer.consume(this.#consumeOptions());
    } catch (err) {
      await consumer.close(true).catch(() => {});
      throw err;
    }
    // Closed or destroyed while joining, after the consumer was let go (a reconnect that stop() did not wait for):
    // leave no consumer behind.
    if (this.#released) {
      await stream.close().catch(() => {});
      await consumer.close(true).catch(() => {});
      throw new LaglessError('INTERNAL', 'the transformer was closed while it joined the group');
    }
    this.#attachStream(consumer, stream);
    this.#hooks.assignmentChanged(true);
  }

  /** A stream from the committed offsets (or the log start), offsets committed by the runtime only. */
  #consumeOptions(): ConsumeOptions<string, Buffer, string, string> {
    return { topics: [this.#o.from], mode: 'committed', fallbackMode: 'earliest', autocommit: false };
  }

  /** Makes `stream` the one records come from. Its events count only while it is the consumer's current stream. */
  #attachStream(consumer: RecordConsumer, stream: Stream): void {
    this.#stream = stream;
    this.#leftSinceStream.clear();
    this.#paused = false;
    const live = () => this.#consumer === consumer && this.#stream === stream;
    stream.on('data', (m) => live() && this.#hooks.message(m));
    stream.on('error', (err) => {
      if (!live()) return;
      this.#hooks.warn(warning('CONSUMER_STREAM_FAILED', `consumer stream error: ${describeKafkaError(err)}`));
      this.reconnect();
    });
    stream.on('close', () => live() && this.reconnect());
    this.#hooks.streamAttached();
  }

  /**
   * Reads the client's assignment of the input topic and the generation it came with (classic groups: the generation
   * id; KIP-848 groups: the member epoch, which the client keeps private: GroupMemberConsumer reads it from the
   * heartbeat answers). `membership` names one stay in the group: a new member id (classic), or an epoch reset by the
   * coordinator (KIP-848: fenced, or unknown to it) starts another. undefined: no consumer.
   */
  readAssignment(): AssignmentView | undefined {
    const consumer = this.#consumer;
    if (!consumer) return undefined;
    const partitions = new Set<number>();
    for (const a of consumer.assignments ?? []) if (a.topic === this.#o.from) for (const p of a.partitions) partitions.add(p);
    const kip848 = this.#o.groupProtocol === 'consumer';
    const generation = kip848 ? consumer.memberEpoch : consumer.generationId;
    const memberId = consumer.memberId;
    const membership = memberId ? (kip848 ? `${memberId}#${consumer.membership}` : memberId) : undefined;
    const previous = this.#generation;
    if (memberId && membership && (!previous || previous.membership !== membership || generation >= previous.generationId)) {
      this.#generation = { generationId: generation, memberId, membership };
    }
    return { partitions, generation, newMembership: previous !== undefined && membership !== undefined && previous.membership !== membership };
  }

  /** A partition left this member (the current stream's fetch position for it may be stale from now on). */
  noteLeft(partition: number): void {
    this.#leftSinceStream.add(partition);
  }

  /** Whether the partition left this member since the current stream was attached. */
  leftSinceStream(partition: number): boolean {
    return this.#leftSinceStream.has(partition);
  }

  /** Pauses the stream when the window is full, resumes it when there is room again (never once stopping). */
  flow(full: boolean): void {
    const stream = this.#stream;
    if (!stream) return;
    // The client resumes the stream itself after a cooperative rebalance: its state is checked, not only ours.
    if (full && (!this.#paused || !stream.isPaused())) {
      this.#paused = true;
      stream.pause();
    } else if (this.#paused && !full && !this.stopping) {
      this.#paused = false;
      stream.resume();
    }
  }

  /**
   * After this member came back under a new member id: the consumer's stream is replaced by a new one on the same
   * consumer (same membership, so no rebalance), which starts at the committed offsets. The old one is closed and
   * whatever it still delivers is ignored. Why: @platformatic/kafka 2.12.1 resets a stream's fetch positions to the
   * committed offsets when the member joins, but a fetch sent before (under the old membership) is neither cancelled
   * nor told apart: when its response lands after the reset, the stream moves its position past it and delivers it,
   * and the records between the committed offset and that fetch, done under the old membership in transactions that
   * were aborted, never come again (the fault suite's cut-off member lost 2 ids that way). A new stream has its own
   * connections and positions: no fetch of the old membership reaches it.
   */
  replaceStream(): void {
    const consumer = this.#consumer;
    if (!consumer || this.stopping) return;
    this.#replace(consumer);
  }

  #replace(consumer: RecordConsumer): void {
    const stopped = () => this.#consumer !== consumer || this.#released;
    if (stopped()) return;
    const current = this.#stream;
    this.#stream = undefined;
    if (current) {
      if (this.#retired) void within(this.#retired.close(), this.#o.closeTimeoutMs);
      this.#retired = current;
    }
    this.#replaceAgain = true;
    // One at a time: a replacement in progress opens one more when it is done (its stream may hold fetches of the
    // membership that has just ended, too).
    if (this.#replacing) return;
    this.#replacing = (async () => {
      while (this.#replaceAgain && !stopped()) {
        this.#replaceAgain = false;
        // The new stream subscribes before the old one is closed: the consumer keeps the topic, so it does not rejoin.
        const opening = consumer.consume(this.#consumeOptions());
        const old = this.#retired;
        this.#retired = undefined;
        const oldClosed = old ? within(old.close(), this.#o.closeTimeoutMs) : undefined;
        let stream: Stream;
        try {
          stream = await opening;
        } catch (err) {
          if (stopped()) return;
          this.#hooks.warn(warning('CONSUMER_STREAM_FAILED', `replacing the consumer stream failed (joining the group again): ${describeKafkaError(err)}`));
          this.reconnect();
          return;
        }
        if (this.#replaceAgain || stopped()) {
          // Not used: closed like the old one (an error it reports meanwhile is of no interest).
          stream.on('error', () => {});
          this.#retired = stream;
          continue;
        }
        if (this.stopping) stream.pause();
        this.#attachStream(consumer, stream);
        // stop() waits for the replacement: by then no stream but the current one is left (the member can leave).
        await oldClosed;
      }
    })().finally(() => {
      this.#replacing = undefined;
      // Asked again after the loop's last check, or stopped with a stream still to close.
      if (this.#replaceAgain && !stopped()) {
        this.#replace(consumer);
        return;
      }
      this.#replaceAgain = false;
      const left = this.#retired;
      this.#retired = undefined;
      if (left) void within(left.close(), this.#o.closeTimeoutMs);
    });
  }

  /**
   * The membership is lost (the client's stream died, the broker restarted, the coordinator evicted us): the
   * transformer gives up its partitions as in a rebalance (membershipEnded), then the member joins the group again with
   * a new consumer, retrying with backoff until it works or the member stops.
   */
  reconnect(): void {
    if (this.#reconnecting || this.stopping) return;
    const stopping = this.#stopping.signal;
    this.#reconnecting = (async () => {
      const old = this.#consumer;
      const oldStream = this.#stream;
      this.#consumer = undefined;
      this.#stream = undefined;
      this.#setJoining(false);
      // exactly-once: nothing of the old membership may commit once the member is back under a new one; only when the
      // transformer has ended it (partitions dropped at once; the transaction in progress ended, the producer fenced)
      // does the member join again.
      const ended = this.#hooks.membershipEnded();
      this.#generation = undefined;
      void oldStream?.close().catch(() => {});
      void old?.close(true).catch(() => {});
      await ended;
      for (let attempt = 1; !stopping.aborted; attempt += 1) {
        const delay = Math.min(10_000, 500 * 2 ** Math.min(attempt - 1, 5));
        try {
          await sleep(delay, undefined, { signal: stopping });
        } catch {
          break;
        }
        try {
          await this.#connect();
          if (stopping.aborted) break;
          this.#hooks.warn(warning('GROUP_REJOINED', `reconnected to the group after ${attempt} attempt(s)`));
          break;
        } catch (err) {
          if (!stopping.aborted) this.#hooks.warn(warning('GROUP_JOIN_FAILED', `reconnecting to the group failed (attempt ${attempt}, will retry): ${describeKafkaError(err)}`));
        }
      }
    })().finally(() => {
      this.#reconnecting = undefined;
    });
  }

  /** The start of a graceful stop: no more records, no resume, a reconnect in progress stops at its next step. */
  stop(): void {
    this.#stream?.pause();
    this.#stopping.abort();
  }

  /** Waits (within the bound) for a reconnect and a stream replacement in progress to end. */
  async settle(timeoutMs: number): Promise<void> {
    const end = performance.now() + timeoutMs;
    const rest = () => Math.max(0, end - performance.now());
    await within(this.#reconnecting ?? Promise.resolve(), rest());
    // A stream replacement in progress ends with the one stream that leave() closes.
    while (this.#replacing && rest() > 0) await within(this.#replacing, rest());
  }

  /**
   * Classic protocol: a stop during a rebalance (one that another member started, for example a member stopped just
   * before this one). Between this member's JoinGroup and its assignment a commit is refused; before, the final
   * commit then failed at once and what was done since the last commit was redone by the next owner (fault suite,
   * busy core: the survivor of two members stopped one after the other exited 1). Now the member sends no further
   * JoinGroup (protocolsMetadata waits for #leaving, which never settles: the member leaves after its final commit, and
   * a JoinGroup waiting at the coordinator would hold up the LeaveGroup sent behind it). If a round of its join is on,
   * this waits for that round's answer: the group then holds the member's current generation (Stable, or
   * PreparingRebalance while the others rejoin), and the coordinator takes the final commit.
   */
  async beginLeaving(timeoutMs: number): Promise<void> {
    this.#leaving = new Promise<never>(() => {});
    if (!this.#joining) return;
    // Waiting before saying so: a listener may act on the warning at once.
    const roundEnded = new Promise<void>((r) => this.#joinWaiters.push(r));
    this.#hooks.warn(warning('STOP_DURING_REBALANCE', `stopping during a group rebalance: the final commit waits for this member's join round to end (up to ${formatDuration(timeoutMs)})`));
    await within(roundEnded, timeoutMs);
  }

  /** Leaves the group (the others take the partitions at once instead of after the session timeout). False: it timed out. */
  async leave(timeoutMs: number): Promise<boolean> {
    this.#released = true;
    const consumer = this.#consumer;
    const stream = this.#stream;
    if (!consumer) return true;
    const left = (await within((async () => {
      await stream?.close().catch(() => {});
      await consumer.close();
    })(), timeoutMs)) === true;
    if (!left) void consumer.close(true).catch(() => {});
    return left;
  }

  /** The start of an immediate stop: no reconnect goes on, a consumer that joins later closes itself. */
  halt(): void {
    this.#stopping.abort();
    this.#released = true;
  }

  /** Immediate stop: the consumer is closed without leaving. */
  async destroy(): Promise<void> {
    this.halt();
    await this.#stream?.close().catch(() => {});
    await this.#consumer?.close(true).catch(() => {});
  }
}
