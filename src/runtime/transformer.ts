// The runtime: one consumer-group member that runs a job per record with many records in flight, produces results, dead-letters failures, and commits only what is done.
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConsumeOptions, Message, MessagesStream } from '@platformatic/kafka';
import { formatDuration, within } from '../common/index.ts';
import { describeThrown, isLaglessError, LaglessError, safeCause, warning, type WarningCode } from '../errors/index.ts';
import { InputRecord, type JobDefinition } from '../job/index.ts';
import { balancedCooperativeAssigner, computeLag, createRecordConsumer, describeKafkaError, MEMBERSHIP_LOST_EVENT, type RecordConsumer } from '../kafka/index.ts';
import { OffsetTracker, OrderingScheduler, type RecordTicket } from '../offsets/index.ts';
import { exponentialBackoff, retryDelay, type RetryOptions } from '../retry/index.ts';
import { deadLetter, minimalDeadLetter, toRecordError } from './dead-letter.ts';
import { JobExecutor } from './executor.ts';
import type { HeldRecord } from './exactly-once.ts';
import { createDeliveryStrategy, type DeliveryStrategy } from './delivery.ts';
import { CommitQueue } from './commit-queue.ts';
import { PartitionTable } from './partition-table.ts';
import { diffAssignment, mustFinish, planRelease } from './release-plan.ts';
import type { OutgoingRecord } from './sink.ts';
import { defaultCommitIntervalMs, defaultTransformerOptions, validateTransformerOptions, type TransformerInit, type TransformerOptions } from './options.ts';
import type { CloseSummary, LagSample, RecordOutcome, TransformerEvents, TransformerStats } from './types.ts';

/** A fetched record on its way through the runtime. */
interface Item {
  readonly topic: string;
  readonly partition: number;
  readonly key: string | undefined;
  readonly input: InputRecord;
  readonly ticket: RecordTicket;
  /** The partition's controller when the record started: aborted when the partition is revoked or the runtime stops. */
  abort?: AbortController;
  started?: number;
  /** exactly-once: where its outputs wait for their transaction. */
  held?: HeldRecord;
  /** Its output or dead letter went to the sink: it finishes whatever happens to its partition. */
  sending?: boolean;
  /** Its partition was released before it produced anything: it ends without output (the next owner does it). */
  cancelled?: boolean;
}

/** A partition being released (see the release hook in Transformer): the records it waits for, and its end. */
interface Release {
  readonly waitFor: Set<Item>;
  /** Called when the last record of waitFor finished. */
  readonly emptied: () => void;
  /** Resolves when waitFor is empty. */
  readonly drained: Promise<void>;
  /** Records of the partition left to the next owner before they produced anything. */
  readonly handedOver: number;
  /** Resolves when the release is over (committed and dropped, or given up). */
  done: Promise<void>;
}

/**
 * One member of a consumer group. Records of a partition are processed concurrently (unless `ordering` says
 * otherwise); a partition's offset is committed only up to the first record that is not done, where done means its
 * output or its dead letter is acknowledged by the broker. Nothing is lost: a crash at any moment redoes at most
 * `maxInFlight` records.
 */
export class Transformer extends EventEmitter<TransformerEvents> {
  readonly options: TransformerOptions;
  /** Runs the job: its worker pool and concurrency limit are what an autoscaler resizes. */
  readonly executor: JobExecutor;
  #consumer: RecordConsumer | undefined;
  #stream: MessagesStream<string, Buffer, string, string> | undefined;
  /** How outputs and offsets reach the broker: one strategy per guarantee (see delivery.ts). */
  readonly #delivery: DeliveryStrategy;
  /** The generation (and member id) of the assignment in force: offsets committed in a transaction carry them. */
  #generation: { generationId: number; memberId: string; membership: string } | undefined;
  /**
   * The partitions this member holds, one state each (see PartitionTable). exactly-once: the records of a partition
   * newly assigned wait in its gate while its stable committed offset is read (a previous owner's transaction may
   * still be committing offsets above what the consumer started from).
   */
  readonly #partitions = new PartitionTable<Message<string, Buffer, string, string>, Release>();
  readonly #tracker = new OffsetTracker();
  readonly #scheduler: OrderingScheduler<Item>;
  readonly #running = new Set<Item>();
  readonly #retry: RetryOptions;
  #verifyTimer: NodeJS.Timeout | undefined;
  #commitTimer: NodeJS.Timeout | undefined;
  #reconnecting: Promise<void> | undefined;
  /** exactly-once: the consumer's stream being replaced (see #replaceStream), and streams left to close. */
  #replacing: Promise<void> | undefined;
  #replaceAgain = false;
  #retired: MessagesStream<string, Buffer, string, string> | undefined;
  /** Aborted by close() and destroy(): a reconnect in progress stops at its next step. */
  readonly #stopping = new AbortController();
  /** Set when close() or destroy() takes the consumer to close it: a consumer that joins later closes itself. */
  #consumerReleased = false;
  /** One commit at a time, in order (see CommitQueue). */
  readonly #commits = new CommitQueue((only) => this.#commitNow(only));
  #paused = false;
  #closing: Promise<CloseSummary> | undefined;
  #destroyed = false;
  #started = false;
  #drainWaiters: (() => void)[] = [];
  /** A JoinGroup of this member is on its way (classic protocol): commits wait (see protocolsMetadata). */
  get #joining(): boolean {
    return this.#joiningNow;
  }
  set #joining(v: boolean) {
    this.#joiningNow = v;
    if (!v) for (const w of this.#joinWaiters.splice(0)) w();
  }
  #joiningNow = false;
  #joinWaiters: (() => void)[] = [];
  /** Set by close() before its final commit: a promise that never settles, which the member's next JoinGroup waits for. */
  #leaving: Promise<never> | undefined;
  #stats = { received: 0, succeeded: 0, deadLettered: 0, retries: 0, duplicatesSkipped: 0, abandoned: 0, unacknowledged: 0, handedOver: 0, released: 0, commits: 0, busyMs: 0 };

  constructor(job: JobDefinition, init: TransformerInit) {
    super();
    const guarantee = init.guarantee ?? defaultTransformerOptions.guarantee;
    const bounds = { ...defaultTransformerOptions, ...init };
    const releaseTimeoutMs = init.releaseTimeoutMs ?? Math.max(0, Math.min(bounds.drainTimeoutMs, bounds.rebalanceTimeoutMs - 5000));
    this.options = validateTransformerOptions({ ...defaultTransformerOptions, commitIntervalMs: defaultCommitIntervalMs[guarantee] ?? 1000, ...init, releaseTimeoutMs });
    this.executor = new JobExecutor(job, {
      to: this.options.to,
      maxConcurrency: this.options.maxConcurrency,
      workers: this.options.workers,
      ...(this.options.recordTimeoutMs !== undefined ? { timeoutMs: this.options.recordTimeoutMs } : {}),
    });
    this.#scheduler = new OrderingScheduler<Item>(this.options.ordering);
    this.#retry = {
      attempts: this.options.attempts,
      backoff: exponentialBackoff({ baseMs: this.options.retryBaseMs, maxMs: this.options.retryMaxMs, jitter: 'full' }),
    };
    this.#delivery = createDeliveryStrategy(this.options.guarantee, {
      options: this.options,
      outputTopics: [this.options.to, this.options.dlq, ...(job.outputs ?? [])],
      tracker: this.#tracker,
      partitions: this.#partitions,
      member: () => ({ consumer: this.#consumer, generation: this.#generation }),
      warn: (w) => this.emit('warning', w),
      warnEvery: (w) => this.#warnEvery(w.code as WarningCode, w.message),
    });
  }

  /** Sets the job up, joins the group and starts processing. Resolves once the first assignment is known. */
  async start(): Promise<void> {
    if (this.#started) throw new LaglessError('INTERNAL', 'the transformer was already started');
    this.#started = true;
    const { from, to, dlq, group } = this.options;
    try {
      await this.executor.setup({ from, to, dlq, group });
    } catch (err) {
      await this.#delivery.destroy();
      await this.executor.close().catch(() => {});
      throw err;
    }
    await this.#delivery.start();
    try {
      await this.#connect();
    } catch (err) {
      // Our own errors (closed, bad options) stop the start. A group the broker cannot take us into yet (a broker
      // that has just started: "joinGroup failed 4 times" while its group coordinator loads) is retried in the
      // background like any later loss of membership, instead of ending the process.
      if (isLaglessError(err) || this.#stopping.signal.aborted) throw err;
      this.emit('warning', warning('GROUP_JOIN_FAILED', `joining the group failed (retrying): ${describeKafkaError(err)}`));
      this.#reconnect();
    }
    this.#commitTimer = setInterval(() => void this.#commit(), this.options.commitIntervalMs);
    this.#commitTimer.unref();
    // One OffsetFetch every few seconds: is what the broker holds for our partitions still what we committed?
    if (this.#delivery.policy.verifyCommits) {
      this.#verifyTimer = setInterval(() => void this.#verifyCommitted(), Math.max(5000, this.options.commitIntervalMs));
      this.#verifyTimer.unref();
    }
  }

  async #connect(): Promise<void> {
    const o = this.options;
    if (this.#consumerReleased) throw new LaglessError('INTERNAL', 'the transformer is closed');
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
                this.#releasesDone()
                  // A member that is stopping joins no new round: it commits, then leaves (see close()).
                  .then(() => this.#leaving)
                  .then(() => {
                    // From here until the join completes, a commit would be refused with REBALANCE_IN_PROGRESS and the
                    // client would answer that with one more JoinGroup: after the group settled, that starts another
                    // rebalance (a storm, one per commit interval). Commits wait for the join instead.
                    this.#joining = true;
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
      this.#joining = false;
      void this.#commit();
      this.#syncAssignment();
      this.#updateFlow();
    });
    consumer.on('consumer:group:join', () => {
      if (!current()) return;
      this.#joining = false;
      this.#syncAssignment(true);
      this.#updateFlow();
    });
    consumer.on('consumer:heartbeat:end', () => {
      if (!current()) return;
      this.#joining = false;
      this.#syncAssignment();
    });
    consumer.on('consumer:heartbeat:error', (p) => current() && this.#warnEvery('GROUP_HEARTBEAT_FAILED', `group heartbeat failed: ${describeKafkaError(p.error)}`));
    // KIP-848: the coordinator ended this membership (fenced, or evicted past its session). Its partitions are already
    // someone else's: the member drops them and joins again with a new consumer at once (exactly-once: after fencing
    // its producer), instead of processing them beside their new owner until its heartbeats count as stalled.
    (consumer as unknown as EventEmitter).on(MEMBERSHIP_LOST_EVENT, (reason: string) => {
      if (!current()) return;
      this.emit('warning', warning('GROUP_MEMBERSHIP_LOST', `the group coordinator ended this member's membership (${reason}): joining the group again`));
      this.#reconnect();
    });
    // The client's own alarm: no heartbeat succeeded for its stall timeout (the rebalance timeout). Seen in the fault
    // suite: a member whose network was cut past its session timeout never came back after the link did (its
    // heartbeats did not complete, so it never learned it had been evicted, and kept its partitions for minutes).
    // The group has evicted it long since: it joins again with a new consumer.
    consumer.on('consumer:heartbeat:stalled', (p: { stalledFor?: number; lastError?: unknown }) => {
      if (!current()) return;
      const last = p.lastError ? ` (last error: ${describeKafkaError(p.lastError)})` : '';
      // exactly-once too: #reconnect ends the old membership's transactions before it joins again (see there).
      this.emit('warning', warning('GROUP_HEARTBEAT_STALLED', `no group heartbeat succeeded for ${Math.round((p.stalledFor ?? 0) / 1000)} s${last}: joining the group again`));
      this.#reconnect();
    });
    // The client reports a failure it cannot recover from (a rejoin that failed for good, e.g. "joinGroup failed 4
    // times" while members come and go) as an 'error' event, and then stops heartbeating: without a listener the
    // process crashed; now the member gives its partitions up and joins again with a new consumer.
    consumer.on('error', (err: Error) => {
      if (!current()) return;
      this.emit('warning', warning('GROUP_MEMBERSHIP_FAILED', `the group membership failed (joining again): ${describeKafkaError(err)}`));
      this.#reconnect();
    });
    let stream: MessagesStream<string, Buffer, string, string>;
    try {
      stream = await consumer.consume(this.#consumeOptions());
    } catch (err) {
      await consumer.close(true).catch(() => {});
      throw err;
    }
    // Closed or destroyed while joining, after the consumer was let go (a reconnect that close() did not wait for):
    // leave no consumer behind.
    if (this.#consumerReleased) {
      await stream.close().catch(() => {});
      await consumer.close(true).catch(() => {});
      throw new LaglessError('INTERNAL', 'the transformer was closed while it joined the group');
    }
    this.#attachStream(consumer, stream);
    this.#syncAssignment(true);
    this.#updateFlow();
  }

  /** A stream from the committed offsets (or the log start), offsets committed by the runtime only. */
  #consumeOptions(): ConsumeOptions<string, Buffer, string, string> {
    return { topics: [this.options.from], mode: 'committed', fallbackMode: 'earliest', autocommit: false };
  }

  /** Makes `stream` the one records come from. Its events count only while it is the consumer's current stream. */
  #attachStream(consumer: RecordConsumer, stream: MessagesStream<string, Buffer, string, string>): void {
    this.#stream = stream;
    this.#leftSinceStream.clear();
    this.#paused = false;
    const live = () => this.#consumer === consumer && this.#stream === stream;
    stream.on('data', (m) => live() && this.#onMessage(m));
    stream.on('error', (err) => {
      if (!live()) return;
      this.emit('warning', warning('CONSUMER_STREAM_FAILED', `consumer stream error: ${describeKafkaError(err)}`));
      this.#reconnect();
    });
    stream.on('close', () => live() && this.#reconnect());
  }

  /**
   * exactly-once, after this member came back under a new member id: the consumer's stream is replaced by a new one on
   * the same consumer (same membership, so no rebalance), which starts at the committed offsets. The old one is closed
   * and whatever it still delivers is ignored. Why: @platformatic/kafka 2.12.1 resets a stream's fetch positions to
   * the committed offsets when the member joins, but a fetch sent before (under the old membership) is neither
   * cancelled nor told apart: when its response lands after the reset, the stream moves its position past it and
   * delivers it, and the records between the committed offset and that fetch, done under the old membership in
   * transactions that were aborted, never come again (the fault suite's cut-off member lost 2 ids that way). A new
   * stream has its own connections and positions: no fetch of the old membership reaches it.
   */
  #replaceStream(consumer: RecordConsumer): void {
    const stopped = () => this.#consumer !== consumer || this.#consumerReleased || this.#destroyed;
    if (stopped()) return;
    const current = this.#stream;
    this.#stream = undefined;
    if (current) {
      if (this.#retired) void within(this.#retired.close(), this.options.closeTimeoutMs);
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
        const oldClosed = old ? within(old.close(), this.options.closeTimeoutMs) : undefined;
        let stream: MessagesStream<string, Buffer, string, string>;
        try {
          stream = await opening;
        } catch (err) {
          if (stopped()) return;
          this.emit('warning', warning('CONSUMER_STREAM_FAILED', `replacing the consumer stream failed (joining the group again): ${describeKafkaError(err)}`));
          this.#reconnect();
          return;
        }
        if (this.#replaceAgain || stopped()) {
          // Not used: closed like the old one (an error it reports meanwhile is of no interest).
          stream.on('error', () => {});
          this.#retired = stream;
          continue;
        }
        this.#attachStream(consumer, stream);
        if (this.#closing) stream.pause();
        this.#updateFlow();
        // close() waits for the replacement: by then no stream but the current one is left (the member can leave).
        await oldClosed;
      }
    })().finally(() => {
      this.#replacing = undefined;
      // Asked again after the loop's last check, or stopped with a stream still to close.
      if (this.#replaceAgain && !stopped()) {
        this.#replaceStream(consumer);
        return;
      }
      this.#replaceAgain = false;
      const left = this.#retired;
      this.#retired = undefined;
      if (left) void within(left.close(), this.options.closeTimeoutMs);
    });
  }

  /**
   * The client's stream died (for example the broker restarted): give up the partitions as in a rebalance (what is
   * done is committed if possible, in-flight work is abandoned and redone), then join the group again with a new
   * consumer, retrying with backoff until it works or the transformer is closed.
   */
  #reconnect(): void {
    if (this.#reconnecting || this.#closing || this.#destroyed) return;
    const stopping = this.#stopping.signal;
    this.#reconnecting = (async () => {
      const old = this.#consumer;
      const oldStream = this.#stream;
      this.#consumer = undefined;
      this.#stream = undefined;
      this.#joining = false;
      for (const p of this.#partitions.held()) this.#revoke(p);
      this.#generation = undefined;
      void oldStream?.close().catch(() => {});
      void old?.close(true).catch(() => {});
      // exactly-once: nothing of the old membership may commit once the member is back under a new one; the strategy
      // lets the transaction in progress end and fences the producer. Only then does the member join again.
      await this.#delivery.membershipEnded(this.#commits.tail ?? Promise.resolve());
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
          this.emit('warning', warning('GROUP_REJOINED', `reconnected to the group after ${attempt} attempt(s)`));
          break;
        } catch (err) {
          if (!stopping.aborted) this.emit('warning', warning('GROUP_JOIN_FAILED', `reconnecting to the group failed (attempt ${attempt}, will retry): ${describeKafkaError(err)}`));
        }
      }
    })().finally(() => {
      this.#reconnecting = undefined;
    });
  }

  /**
   * Compares the client's assignment with ours: partitions that left are released (#release), partitions that came
   * are taken. `announce` emits a rebalance event even when nothing changed (a join).
   */
  #syncAssignment(announce = false): void {
    const consumer = this.#consumer;
    if (!consumer) return;
    const next = new Set<number>();
    for (const a of consumer.assignments ?? []) if (a.topic === this.options.from) for (const p of a.partitions) next.add(p);
    // Classic groups: the generation id; KIP-848 groups: the member epoch (the client keeps it private: GroupMemberConsumer
    // reads it from the heartbeat answers). `membership` names one stay in the group: a new member id (classic), or an
    // epoch reset by the coordinator (KIP-848: fenced, or unknown to it) starts another.
    const kip848 = this.options.groupProtocol === 'consumer';
    const generation = kip848 ? consumer.memberEpoch : consumer.generationId;
    const memberId = consumer.memberId;
    const membership = memberId ? (kip848 ? `${memberId}#${consumer.membership}` : memberId) : undefined;
    const previous = this.#generation;
    if (memberId && membership && (!previous || previous.membership !== membership || generation >= previous.generationId)) {
      this.#generation = { generationId: generation, memberId, membership };
    }
    if (this.#delivery.policy.restartOnNewMembership && previous !== undefined && membership && previous.membership !== membership) {
      // This member was removed from the group (e.g. frozen past its session timeout) and came back as a new member:
      // its partitions may have been processed and committed by others meanwhile, even those assigned to it again.
      // Everything it holds is dropped and every partition starts again from its stable committed offset. (A member
      // that keeps its membership took part in every generation, so a partition it keeps was no one else's in between.)
      const held = this.#partitions.owned();
      for (const p of held) this.#revoke(p);
      // Records of the old membership may still come from the client's stream (see #replaceStream): a new one.
      if (!this.#closing) this.#replaceStream(consumer);
      this.emit('rebalance', { assigned: [], revoked: held, generation });
    }
    // While closing, the stop drains what it holds and the client still lists the partitions until the member leaves.
    if (this.#closing) return;
    const { revoked, added, returnedDuringRelease } = diffAssignment(new Set(this.#partitions.owned()), next, this.#partitions.releasing);
    // A partition given back while its release runs (KIP-848 only: a classic member holds its rejoin until its releases
    // are done) cannot be resumed: the client's stream has moved past records that were dropped meanwhile. Join again.
    if (returnedDuringRelease.length) {
      this.emit('warning', warning('PARTITION_RETURNED', `partition(s) ${returnedDuringRelease.join(', ')} came back during their release: joining the group again`));
      this.#reconnect();
      return;
    }
    if (revoked.length === 0 && added.length === 0 && !announce) return;
    // A revoked partition is released (the hook below); exactly-once commits its done records in a transaction there.
    // Except exactly-once with KIP-848: @platformatic/kafka 2.12.1 acknowledges the revocation in its next heartbeat
    // without waiting for the hook, so the next owner may already be working and a transaction of ours would commit
    // what it also commits. There the partition is dropped at once, nothing of it committed by this member any more.
    if (revoked.length && this.#delivery.policy.revocation === 'drop') for (const p of revoked) this.#revoke(p);
    else if (revoked.length) void this.#release(revoked);
    for (const p of added) this.#partitions.assign(p);
    if (this.#delivery.policy.gateNewPartitions && added.length) this.#gate(added);
    this.emit('rebalance', { assigned: this.#partitions.owned(), revoked, generation });
  }

  // ── Release hook (incremental rebalancing) ─────────────────────────────────────────────────────────────────────
  // The one place where a partition leaves this member while the member goes on (a rebalance takes it:
  // #syncAssignment -> #release; a stop drains everything instead, see #close). Steps: (1) no record of it starts any more; (2) records that produced
  // nothing yet are left to the next owner (they end without output: "handed over"); (3) the records at or below the
  // partition's highest finished offset, and those whose output is on its way, get until the deadline to finish;
  // (4) the done offsets are committed (exactly-once: the transaction commits here); (5) the partition is dropped.
  // The classic protocol's rejoin waits for every release (protocolsMetadata), so the next owner starts at the commit
  // and redoes nothing; only records still running at the bound are abandoned (and counted).

  /** Steps 1-3 for one partition: resolves `drained` when the records it must wait for have finished. */
  #settle(p: number): Release {
    const existing = this.#partitions.get(p)?.release;
    if (existing) return existing;
    const topic = this.options.from;
    // Everything up to the highest finished record must finish; anything above it that has produced nothing yet is
    // left to the next owner (planRelease).
    const running = [...this.#running].filter((r) => r.partition === p).map((item) => ({ item, offset: item.input.offset, sending: item.sending === true }));
    const plan = planRelease(running, this.#partitions.get(p)?.highestDone);
    const waitFor = new Set<Item>(plan.waitFor.map((r) => r.item));
    for (const r of plan.handOver) r.item.cancelled = true;
    let handedOver = plan.handOver.length;
    // Records waiting behind others in their lane (key/partition ordering) never started: those above the bound go to
    // the next owner, those below start as usual and are waited for.
    handedOver += this.#scheduler.revoke(topic, p, (r) => mustFinish(plan.mustFinishThrough, r.input.offset) && (waitFor.add(r), true)).length;
    let emptied!: () => void;
    const drained = new Promise<void>((r) => (emptied = r));
    if (waitFor.size === 0) emptied();
    const release: Release = { waitFor, emptied, drained, handedOver, done: drained };
    this.#partitions.startRelease(p, release);
    return release;
  }

  /** A rebalance took these partitions: steps 1-5, each partition on its own, bounded by releaseTimeoutMs. */
  #release(partitions: number[]): void {
    const deadline = performance.now() + this.options.releaseTimeoutMs;
    for (const p of partitions) {
      if (this.#partitions.releasing.has(p)) continue;
      const release = this.#settle(p);
      release.done = (async () => {
        await within(release.drained, deadline - performance.now());
        const late = release.waitFor.size;
        // Step 4. The member still holds its generation here (its rejoin waits), so the commit is accepted (exactly-once:
        // the transaction carries the outputs of the partition's done records with their offsets, see delivery.ts).
        await within(this.#commit([p]), this.options.closeTimeoutMs);
        // exactly-once never commits outside a transaction; a next owner there reads stable offsets (#gate).
        if (this.#partitions.get(p)?.committed === undefined && this.#delivery.policy.commitStartOnRelease) await within(this.#commitStart(p), this.options.closeTimeoutMs);
        // A reconnect dropped every partition meanwhile: nothing of this release is left to do.
        if (this.#partitions.get(p)?.release !== release) return;
        this.#revoke(p, release.handedOver);
        this.#stats.released += 1;
        if (late > 0) this.emit('warning', warning('RELEASE_INCOMPLETE', `partition ${p}: ${late} record(s) did not finish within the release bound (${this.options.releaseTimeoutMs} ms); the next owner redoes them`));
      })();
    }
  }

  /**
   * A partition released before any of its records finished here may have no committed offset at all. The next owner
   * then starts from the client's fetch position for it, and @platformatic/kafka 2.12.1 keeps a stale one (where this
   * member had fetched to, if it owned the partition before): records would be skipped. Committing the log start
   * (what the group's fallback `earliest` means) gives every next owner a real position.
   */
  async #commitStart(partition: number): Promise<void> {
    const consumer = this.#consumer;
    const topic = this.options.from;
    if (!consumer) return;
    try {
      const committed = (await consumer.listCommittedOffsets({ topics: [{ topic, partitions: [partition] }] })).get(topic)?.[partition];
      if (committed !== undefined && committed >= 0n) return;
      const start = (await consumer.listOffsets({ topics: [topic], partitions: { [topic]: [partition] }, timestamp: -2n })).get(topic)?.[partition];
      if (start === undefined || start < 0n) return;
      await consumer.commit({ offsets: [{ topic, partition, offset: start, leaderEpoch: -1 }] });
    } catch (err) {
      this.#warnEvery('COMMIT_FAILED', `commit of partition ${partition}'s start failed: ${describeKafkaError(err)}`);
    }
  }

  /** Resolves when no release is running (the classic protocol's rejoin waits for it). */
  #releasesDone(): Promise<void> {
    return Promise.all(this.#partitions.releases().map((r) => r.done)).then(() => {});
  }
  // ── end of the release hook ──────────────────────────────────────────────────────────────────────────────────────

  /**
   * exactly-once: holds the records of newly assigned partitions until their stable committed offset is known (read
   * with requireStable, which waits while a transaction that commits their offsets is open), then drops those below it.
   */
  #gate(partitions: number[]): void {
    for (const p of partitions) this.#partitions.closeGate(p);
    const topic = this.options.from;
    void (async () => {
      let offsets: Map<number, bigint>;
      try {
        offsets = await this.#delivery.stableOffsets(partitions, this.#gateAbort.signal);
      } catch {
        return;
      }
      let stale = false;
      for (const p of partitions) {
        const waiting = this.#partitions.openGate(p);
        if (!waiting) continue;
        const committed = offsets.get(p) ?? -1n;
        if (committed < 0n && this.#leftSinceStream.has(p)) {
          // No committed offset, and this member's stream had the partition before: @platformatic/kafka 2.12.1 keeps
          // that stream's fetch position for a partition without a committed offset, past the records it fetched the
          // first time (which that ownership did not finish). What it delivered is dropped; a new stream reads the
          // partition from its start (the group's fallback, earliest).
          stale = true;
          continue;
        }
        if (committed >= 0n) {
          this.#tracker.assign(topic, p, committed);
          this.#partitions.get(p)!.committed = committed;
        }
        for (const m of waiting) if (committed < 0n || m.offset >= committed) this.#onMessage(m);
      }
      if (stale && this.#consumer && !this.#closing) this.#replaceStream(this.#consumer);
      this.#updateFlow();
    })();
  }

  readonly #gateAbort = new AbortController();
  /** Partitions that left this member since the current stream was attached (its fetch position for them may be stale). */
  readonly #leftSinceStream = new Set<number>();
  /** Closing: the last transactions do not wait for the backoff of a failed one. */
  #finalCommit = false;

  /**
   * Drops a partition at once: its unfinished records are aborted and left to the next owner. `handedOver` of them
   * were left by a release before they produced anything (counted apart from the abandoned ones).
   */
  #revoke(partition: number, handedOver = 0): void {
    this.#leftSinceStream.add(partition);
    // No longer ours: nothing of it is registered or committed by this member any more (exactly-once: a transaction of
    // a later generation would still be accepted for it and commit outputs its next owner also commits). Its state
    // (the records its gate held too) goes in one step.
    this.#partitions.drop(partition);
    for (const r of this.#running) {
      if (r.partition === partition) r.abort?.abort(new LaglessError('INTERNAL', `partition ${partition} was revoked`));
    }
    // Records waiting behind others in their lane never started: the next owner gets them.
    this.#scheduler.revoke(this.options.from, partition);
    const { abandoned } = this.#tracker.revoke(this.options.from, partition);
    this.#stats.handedOver += handedOver;
    this.#stats.abandoned += abandoned - handedOver;
    this.#delivery.dropped(partition);
    this.#updateFlow();
  }

  #onMessage(m: Message<string, Buffer, string, string>): void {
    if (this.#closing || this.#destroyed) return;
    // Records of partitions we no longer own may still sit in the client's buffer: the new owner processes them.
    if (m.topic !== this.options.from || !this.#partitions.isOwned(m.partition)) return;
    if (this.#partitions.hold(m.partition, m)) {
      this.#updateFlow();
      return;
    }
    const last = this.#tracker.lastRegistered(m.topic, m.partition);
    const committed = this.#tracker.committed(m.topic, m.partition);
    if ((last !== undefined && m.offset <= last) || (committed !== undefined && m.offset < committed)) {
      // Fetched again after a rebalance refresh (already in the window), or fetched before the partition came back
      // to us at a later committed offset (a member frozen past its session: the client still delivered offset 140
      // of a partition now committed at 1527, and the process crashed on it). Either way not ours to do.
      this.#stats.duplicatesSkipped += 1;
      return;
    }
    const ticket = this.#tracker.register(m.topic, m.partition, m.offset);
    this.#partitions.get(m.partition)!.leaderEpoch = m.leaderEpoch ?? -1;
    this.#stats.received += 1;
    const input = new InputRecord({
      topic: m.topic,
      partition: m.partition,
      offset: m.offset,
      key: m.key ?? undefined,
      value: m.value ?? undefined,
      timestamp: m.timestamp,
      headers: m.headers,
    });
    const item: Item = { topic: m.topic, partition: m.partition, key: input.key, input, ticket };
    const held = this.#delivery.register(m.partition, m.offset);
    if (held) item.held = held;
    if (this.#scheduler.submit(item)) this.#start(item);
    this.#updateFlow();
  }

  #lastWarned = new Map<string, number>();
  /** Repeated warnings of one code (a broker away for a minute fails every heartbeat) are emitted at most every 10 s. */
  #warnEvery(code: WarningCode, message: string): void {
    const now = performance.now();
    if (now - (this.#lastWarned.get(code) ?? -Infinity) < 10_000) return;
    this.#lastWarned.set(code, now);
    this.emit('warning', warning(code, message));
  }

  /** Pauses the intake when the window is full, resumes it when there is room again. */
  #updateFlow(): void {
    const stream = this.#stream;
    if (!stream) return;
    const size = this.#tracker.uncommitted() + this.#partitions.gated;
    // A window half full of finished records is freed by committing now rather than at the next tick.
    if (size >= this.options.maxInFlight / 2 && !this.#commitPending) this.#commitSoon();
    // The client resumes the stream itself after a cooperative rebalance: its state is checked, not only ours.
    if (size >= this.options.maxInFlight && (!this.#paused || !stream.isPaused())) {
      this.#paused = true;
      stream.pause();
    } else if (this.#paused && size < this.options.maxInFlight && !this.#closing && !this.#destroyed) {
      this.#paused = false;
      stream.resume();
    }
  }

  /** Processes a record. #process handles whatever the job does; a rejection here is a bug of the runtime, reported. */
  #start(item: Item): void {
    this.#process(item).catch((err: unknown) => {
      this.emit('warning', new LaglessError('INTERNAL', `processing offset ${item.input.offset} of partition ${item.partition} failed: ${describeThrown(err)}`, { cause: safeCause(err) }));
    });
  }

  /** Emits a record or retry event: a listener that throws (embedding code) is reported, never breaks the record's path. */
  #notify<K extends 'record' | 'retry'>(event: K, ...payload: TransformerEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: TransformerEvents[K]) => boolean)(event, ...payload);
    } catch (err) {
      this.#warnEvery('LISTENER_FAILED', `a '${event}' event listener threw: ${describeThrown(err)}`);
    }
  }

  async #process(item: Item): Promise<void> {
    const input = item.input;
    // One controller per partition (not per record): revocation and shutdown abort whole partitions anyway.
    const state = this.#partitions.get(item.partition);
    let abort = state?.abort;
    if (!abort || abort.signal.aborted) {
      abort = new AbortController();
      if (state) state.abort = abort;
    }
    const started = performance.now();
    item.abort = abort;
    item.started = started;
    this.#running.add(item);
    const signal = abort.signal;
    let attempt = 0;
    let outcome: RecordOutcome | undefined;
    try {
      for (;;) {
        attempt += 1;
        try {
          const outputs = await this.executor.run(input, attempt, signal);
          if (signal.aborted || item.cancelled) return;
          item.sending = true;
          // Done only when every output is acknowledged (none: done at once, a filtered record); exactly-once: when
          // every output is held for the transaction that commits the record's offset.
          await this.#emit(item, outputs, attempt);
          outcome = { kind: 'ok', input, outputs, durationMs: performance.now() - started, attempts: attempt };
          break;
        } catch (err) {
          if (signal.aborted || this.#destroyed || item.cancelled) return;
          const error = toRecordError(err);
          const delayMs = retryDelay(error, attempt, this.#retry);
          if (delayMs !== undefined) {
            this.#stats.retries += 1;
            this.#notify('retry', { input, attempt, delayMs, code: error.code, message: error.message });
            try {
              await sleep(delayMs, undefined, { signal });
            } catch {
              return;
            }
            if (item.cancelled) return;
            continue;
          }
          item.sending = true;
          // Nothing here may throw: a dead letter that cannot be built or written would leave the record undone and
          // its partition's commits held for good.
          const { fields, error: fieldsError } = this.executor.deadLetterFields(input);
          const letter = deadLetter(input, error, attempt, fields, new Date(), fieldsError);
          try {
            await this.#emit(item, [{ topic: this.options.dlq, key: input.key, value: JSON.stringify(letter) }], attempt, true);
          } catch (err) {
            // A dead-letter topic whose max.message.bytes is below even a bounded dead letter: send the smallest one.
            if (!(isLaglessError(err) && err.code === 'OUTPUT_TOO_LARGE')) return;
            try {
              await this.#emit(item, [{ topic: this.options.dlq, key: input.key, value: JSON.stringify(minimalDeadLetter(letter)) }], attempt, true);
            } catch (e) {
              if (isLaglessError(e) && e.code === 'OUTPUT_TOO_LARGE') {
                this.#warnEvery('DLQ_TOO_LARGE', `the dead-letter topic "${this.options.dlq}" refuses even a minimal dead letter as too large (max.message.bytes): partition ${item.partition} cannot commit past offset ${input.offset}`);
              }
              return;
            }
          }
          outcome = { kind: 'dead', input, durationMs: performance.now() - started, attempts: attempt, code: error.code, message: error.message };
          break;
        }
      }
    } finally {
      this.#running.delete(item);
      // done() refuses tickets of a partition revoked since: an abandoned or late record is never marked done.
      if (outcome && this.#tracker.done(item.ticket)) {
        this.#partitions.noteDone(item.partition, input.offset);
        if (outcome.kind === 'ok') this.#stats.succeeded += 1;
        else this.#stats.deadLettered += 1;
        this.#stats.busyMs += outcome.durationMs;
        if (this.listenerCount('record') > 0) this.#notify('record', outcome);
      }
      const release = this.#partitions.get(item.partition)?.release;
      if (release?.waitFor.delete(item) && release.waitFor.size === 0) release.emptied();
      for (const next of this.#scheduler.complete(item)) this.#start(next);
      this.#updateFlow();
      if (this.#running.size === 0) for (const w of this.#drainWaiters.splice(0)) w();
    }
  }

  /**
   * A record's outputs: at-least-once, produced now (resolves when acknowledged); exactly-once, held for the
   * transaction that will commit the record's offset.
   */
  #emit(item: Item, outputs: readonly OutgoingRecord[], attempts = 1, deadLetter = false): Promise<void> {
    // The last-resort dead letter is only for a held record (exactly-once): no closure per record otherwise.
    const lastResort = item.held ? (error: LaglessError) => this.#lastResortLetter(item, error, attempts, deadLetter) : undefined;
    return this.#delivery.deliver(item.held, outputs, item.abort?.signal, lastResort);
  }

  /**
   * exactly-once: the dead letter that replaces a held record's outputs when the broker refuses one as too large after
   * all (see ExactlyOnceOutput): the whole one when it fits the dead-letter topic, else the minimal one.
   */
  #lastResortLetter(item: Item, error: LaglessError, attempts: number, wasDeadLetter: boolean): readonly OutgoingRecord[] {
    const { fields, error: fieldsError } = this.executor.deadLetterFields(item.input);
    const letter = deadLetter(item.input, error, attempts, fields, new Date(), fieldsError);
    const full: OutgoingRecord = { topic: this.options.dlq, key: item.input.key, value: JSON.stringify(letter) };
    if (!wasDeadLetter) {
      this.#stats.succeeded -= 1;
      this.#stats.deadLettered += 1;
    }
    return [this.#delivery.fits(full) ? full : { ...full, value: JSON.stringify(minimalDeadLetter(letter)) }];
  }

  #commitPending = false;
  #commitSoon(): void {
    this.#commitPending = true;
    setImmediate(() => {
      void this.#commit().finally(() => {
        this.#commitPending = false;
      });
    });
  }

  /**
   * Commits, for each owned partition (or the given ones), the offset after the last contiguous done record. Resolves
   * to false when the commit failed (it is retried by the next one), true otherwise.
   */
  #commit(only?: number[]): Promise<boolean> {
    return this.#commits.request(only);
  }

  /** One commit (see #commit), run by the queue in its turn. */
  async #commitNow(only?: readonly number[]): Promise<boolean> {
    const consumer = this.#consumer;
    if (!consumer) return true;
    // See protocolsMetadata: a commit during this member's join would start one more rebalance. The next one commits.
    if (this.#joining) return false;
    const { ok, offsets } = await this.#delivery.commit(only, { final: this.#finalCommit });
    if (offsets.length) {
      this.#tracker.markCommitted(offsets.map((o) => ({ topic: this.options.from, ...o })));
      this.#stats.commits += 1;
      this.emit('commit', { offsets: offsets.map(({ partition, offset }) => ({ partition, offset })) });
      this.#updateFlow();
    }
    return ok;
  }

  /**
   * Log-end and committed offsets of the assigned partitions, and their difference (the lag that Kafka tools and
   * KEDA report). One ListOffsets and one OffsetFetch request.
   */
  async sampleLag(): Promise<LagSample> {
    const consumer = this.#consumer;
    const partitions = this.#partitions.owned();
    const at = Date.now();
    if (!consumer || partitions.length === 0) return { at, topic: this.options.from, partitions: [], logEnd: 0n, lag: 0n };
    const topic = this.options.from;
    const asked = performance.now();
    const [ends, commits] = await Promise.all([
      consumer.listOffsets({ topics: [topic], partitions: { [topic]: partitions } }),
      consumer.listCommittedOffsets({ topics: [{ topic, partitions }] }),
    ]);
    const endArr = ends.get(topic) ?? [];
    const comArr = commits.get(topic) ?? [];
    this.#compareCommitted(partitions, comArr, asked);
    const logEnds = new Map(partitions.map((p) => [p, endArr[p] ?? 0n]));
    // Our own latest commit may be newer than what the broker answered a moment ago.
    const committed = new Map(
      partitions.map((p) => {
        const ours = this.#partitions.get(p)?.committed;
        const fetched = comArr[p] ?? -1n;
        return [p, ours !== undefined && ours > fetched ? ours : fetched];
      }),
    );
    return { at, ...computeLag(topic, logEnds, committed) };
  }

  /** Asks the broker for the committed offsets of our partitions and restores any that went back (PartitionState.restore). */
  async #verifyCommitted(): Promise<void> {
    const consumer = this.#consumer;
    const partitions = this.#partitions.owned();
    if (!consumer || partitions.length === 0 || this.#closing || this.#destroyed) return;
    const asked = performance.now();
    try {
      const res = await consumer.listCommittedOffsets({ topics: [{ topic: this.options.from, partitions }] });
      this.#compareCommitted(partitions, res.get(this.options.from) ?? [], asked);
    } catch {
      // The broker is away: the next check (or the lag sampling) asks again.
    }
  }

  #compareCommitted(partitions: number[], fetched: bigint[], asked: number): void {
    let found = false;
    for (const p of partitions) {
      const s = this.#partitions.isOwned(p) ? this.#partitions.get(p)! : undefined;
      const ours = s?.committed;
      const theirs = fetched[p] ?? -1n;
      // Only commits that had succeeded before the question was asked are expected in the answer.
      if (!s || ours === undefined || theirs >= ours || (s.committedAt ?? Infinity) >= asked || s.restore) continue;
      s.restore = true;
      found = true;
      this.emit('warning', warning('COMMIT_WENT_BACK', `partition ${p}: the committed offset went back from ${ours} to ${theirs} (a late commit of its previous owner); committing ${ours} again`));
    }
    if (found && !this.#closing && !this.#destroyed) void this.#commit();
  }

  stats(): TransformerStats {
    return {
      ...this.#stats,
      inFlight: this.#running.size,
      unfinished: this.#tracker.inFlight(),
      windowSize: this.#tracker.uncommitted(),
      paused: this.#paused,
      buffered: this.#stream?.readableLength ?? 0,
      reconnecting: this.#reconnecting !== undefined,
      assigned: this.#partitions.owned().map((partition) => ({ topic: this.options.from, partition })),
      ...this.executor.stats(),
      guarantee: this.options.guarantee,
      ...this.#delivery.stats(),
    };
  }

  /**
   * Graceful stop: no new records, in-flight records get `drainTimeoutMs` to finish (their outputs acknowledged), done
   * offsets are committed, and the member leaves the group. Always bounded, also with the broker down or frozen: after
   * the drain deadline what is left is given up (records abandoned, outputs not acknowledged: neither is committed, so
   * both are redone by the next owner), and the commit and the leave get `closeTimeoutMs` more. The summary says what
   * was given up. Calling it twice returns the same promise.
   */
  close(): Promise<CloseSummary> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<CloseSummary> {
    const o = this.options;
    this.#stream?.pause();
    // A reconnect in progress stops at its next step (a consumer it is joining with is closed below or by #connect).
    this.#stopping.abort();
    // One deadline for finishing records and acknowledging their outputs, so that an orchestrator's grace period only
    // needs to exceed drainTimeoutMs plus closeTimeoutMs.
    const deadline = performance.now() + o.drainTimeoutMs;
    const left = () => Math.max(0, deadline - performance.now());
    const abandonedBefore = this.#stats.abandoned;
    // Unlike a rebalance's release (which hands records that produced nothing yet to the next owner at once, so that
    // the partitions it moves are not held), a stop lets every record in flight finish within the drain timeout: the
    // commit then covers them all, and the next owner redoes none.
    const drained = this.#running.size === 0 ? Promise.resolve() : new Promise<void>((r) => this.#drainWaiters.push(r));
    if (!(await within(Promise.all([drained, this.#releasesDone()]), left()))) {
      const n = this.#running.size;
      this.#stats.abandoned += n;
      for (const r of this.#running) r.abort?.abort(new LaglessError('INTERNAL', 'drain timeout'));
      this.emit('warning', warning('DRAIN_TIMEOUT', `drain timeout: ${n} record(s) abandoned; they will be redone by the next owner`));
    }
    // at-least-once: outputs still unacknowledged at the deadline are given up. exactly-once: outputs are held for the
    // final transaction below.
    const { unacknowledged } = await this.#delivery.drainOutputs(left());
    this.#stats.unacknowledged += unacknowledged;

    const end = performance.now() + o.closeTimeoutMs;
    const rest = () => Math.max(0, end - performance.now());
    if (this.#commitTimer) clearInterval(this.#commitTimer);
    if (this.#verifyTimer) clearInterval(this.#verifyTimer);
    await within(this.#reconnecting ?? Promise.resolve(), rest());
    // A stream replacement in progress (exactly-once, a new membership) ends with the one stream that is closed below.
    while (this.#replacing && rest() > 0) await within(this.#replacing, rest());
    // exactly-once: the last transaction commits what the drain finished (tried again, without backoff, while the
    // close deadline allows).
    this.#finalCommit = true;
    // Classic protocol: a stop during a rebalance (one that another member started, for example a member stopped just
    // before this one). Between this member's JoinGroup and its assignment a commit is refused; before, the final
    // commit then failed at once and what was done since the last commit was redone by the next owner (fault suite,
    // busy core: the survivor of two members stopped one after the other exited 1). Now the member sends no further
    // JoinGroup (protocolsMetadata waits for #leaving, which never settles: the member leaves after this commit, and a
    // JoinGroup waiting at the coordinator would hold up the LeaveGroup sent behind it). If a round of its join is
    // on, the final commit waits for that round's answer: the group then holds the member's current generation
    // (Stable, or PreparingRebalance while the others rejoin), and the coordinator takes the commit.
    this.#leaving = new Promise<never>(() => {});
    if (this.#joining) {
      // Waiting before saying so: a listener may act on the warning at once.
      const roundEnded = new Promise<void>((r) => this.#joinWaiters.push(r));
      this.emit('warning', warning('STOP_DURING_REBALANCE', `stopping during a group rebalance: the final commit waits for this member's join round to end (up to ${formatDuration(rest())})`));
      await within(roundEnded, rest());
    }
    const finalCommit = async (): Promise<boolean> => {
      let ok = await this.#commit();
      while (!ok && this.#delivery.policy.retryFinalCommit && rest() > 0) {
        await sleep(Math.min(500, rest()), undefined, { ref: false });
        ok = await this.#commit();
      }
      return ok;
    };
    const committed = (await within(finalCommit().then((ok) => ok || Promise.reject(new Error('commit failed'))), rest())) === true;
    if (!committed) this.emit('warning', warning('FINAL_COMMIT_FAILED', `the final commit did not succeed within ${o.closeTimeoutMs} ms: records done since the last commit will be redone`));
    this.#gateAbort.abort();
    // Leaving the group lets the others take the partitions at once instead of after the session timeout.
    this.#consumerReleased = true;
    const consumer = this.#consumer;
    const stream = this.#stream;
    const leftGroup = consumer ? (await within((async () => {
      await stream?.close().catch(() => {});
      await consumer.close();
    })(), rest())) === true : true;
    if (!leftGroup) {
      void consumer?.close(true).catch(() => {});
      this.emit('warning', warning('LEAVE_TIMEOUT', `leaving the group did not finish within ${o.closeTimeoutMs} ms: the partitions move to other members after the session timeout`));
    }
    await within(this.#delivery.close(), rest());
    await this.executor.close();
    return { abandoned: this.#stats.abandoned - abandonedBefore, unacknowledged, committed, leftGroup };
  }

  /** Immediate stop: nothing more is committed; unfinished records are redone by the next owner. */
  async destroy(): Promise<void> {
    this.#destroyed = true;
    this.#stopping.abort();
    this.#consumerReleased = true;
    if (this.#commitTimer) clearInterval(this.#commitTimer);
    if (this.#verifyTimer) clearInterval(this.#verifyTimer);
    for (const r of this.#running) r.abort?.abort(new LaglessError('INTERNAL', 'destroyed'));
    this.#gateAbort.abort();
    await this.#delivery.destroy();
    await this.#stream?.close().catch(() => {});
    await this.#consumer?.close(true).catch(() => {});
    await this.executor.close().catch(() => {});
  }
}
