// The runtime: one consumer-group member that runs a job per record with many records in flight, produces results,
// dead-letters failures, and commits only what is done. This file orchestrates its parts: the group membership
// (group-member.ts), record processing (record-processor.ts), the partitions held (partition-table.ts) and their
// releases (release-plan.ts), the order of commits (commit-queue.ts), the delivery strategy of the guarantee
// (delivery.ts) and the lifecycle (lifecycle.ts).
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { within } from '../common/index.ts';
import { LaglessError, warning, type WarningCode } from '../errors/index.ts';
import type { JobDefinition } from '../job/index.ts';
import { OffsetTracker, OrderingScheduler } from '../offsets/index.ts';
import { CommitScheduler } from './commit-scheduler.ts';
import { createDeliveryStrategy, type DeliveryStrategy } from './delivery.ts';
import { JobExecutor } from './executor.ts';
import { GroupMember } from './group-member.ts';
import { Lifecycle } from './lifecycle.ts';
import { resolveTransformerOptions, type TransformerInit, type TransformerOptions } from './options.ts';
import { PartitionTable } from './partition-table.ts';
import { RecordProcessor, type Item, type Partitions, type Release } from './record-processor.ts';
import { diffAssignment, mustFinish, planRelease } from './release-plan.ts';
import type { CloseSummary, LagSample, TransformerEvents, TransformerStats } from './types.ts';

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
  readonly #member: GroupMember;
  readonly #records: RecordProcessor;
  /** How outputs and offsets reach the broker: one strategy per guarantee (see delivery.ts). */
  readonly #delivery: DeliveryStrategy;
  /**
   * The partitions this member holds, one state each (see PartitionTable). exactly-once: the records of a partition
   * newly assigned wait in its gate while its stable committed offset is read (a previous owner's transaction may
   * still be committing offsets above what the consumer started from).
   */
  readonly #partitions: Partitions = new PartitionTable();
  readonly #tracker = new OffsetTracker();
  readonly #scheduler: OrderingScheduler<Item>;
  readonly #life = new Lifecycle();
  #closing: Promise<CloseSummary> | undefined;
  readonly #commits: CommitScheduler;
  readonly #gateAbort = new AbortController();
  #lastWarned = new Map<string, number>();
  #counts = { abandoned: 0, unacknowledged: 0, handedOver: 0, released: 0, commits: 0 };

  constructor(job: JobDefinition, init: TransformerInit) {
    super();
    this.options = resolveTransformerOptions(init);
    const o = this.options;
    this.executor = new JobExecutor(job, { to: o.to, maxConcurrency: o.maxConcurrency, workers: o.workers, ...(o.recordTimeoutMs !== undefined ? { timeoutMs: o.recordTimeoutMs } : {}) });
    this.#scheduler = new OrderingScheduler<Item>(o.ordering);
    const warnEvery = (code: WarningCode, message: string) => this.#warnEvery(code, message);
    this.#member = new GroupMember(o, {
      message: (m) => this.#records.intake(m),
      assignmentChanged: (announce) => {
        this.#syncAssignment(announce);
        this.#updateFlow();
      },
      rebalanced: () => void this.#commits.commit(),
      membershipEnded: () => {
        for (const p of this.#partitions.held()) this.#revoke(p);
        return this.#delivery.membershipEnded(this.#commits.tail);
      },
      beforeJoin: () => this.#releasesDone(),
      streamAttached: () => this.#updateFlow(),
      warn: (w) => this.emit('warning', w),
      warnEvery,
    });
    this.#delivery = createDeliveryStrategy(o.guarantee, {
      options: o,
      outputTopics: [o.to, o.dlq, ...(job.outputs ?? [])],
      tracker: this.#tracker,
      partitions: this.#partitions,
      member: () => ({ consumer: this.#member.consumer, generation: this.#member.generation }),
      warn: (w) => this.emit('warning', w),
      warnEvery: (w) => this.#warnEvery(w.code as WarningCode, w.message),
    });
    this.#records = new RecordProcessor({
      options: o,
      executor: this.executor,
      delivery: this.#delivery,
      partitions: this.#partitions,
      tracker: this.#tracker,
      scheduler: this.#scheduler,
      events: this,
      warnEvery,
      flow: () => this.#updateFlow(),
      accepting: () => this.#life.accepting,
      destroyed: () => this.#life.destroyed,
    });
    this.#commits = new CommitScheduler({
      options: o,
      member: this.#member,
      delivery: this.#delivery,
      tracker: this.#tracker,
      partitions: this.#partitions,
      life: this.#life,
      committed: (offsets) => {
        this.#counts.commits += 1;
        this.emit('commit', { offsets: [...offsets] });
        this.#updateFlow();
      },
    });
  }

  /** Sets the job up, joins the group and starts processing. Resolves once the first assignment is known. */
  async start(): Promise<void> {
    if (!this.#life.to('starting')) throw new LaglessError('INTERNAL', `the transformer cannot start (${this.#life.state})`);
    const { from, to, dlq, group } = this.options;
    try {
      await this.executor.setup({ from, to, dlq, group });
    } catch (err) {
      await this.#delivery.destroy();
      await this.executor.close().catch(() => {});
      throw err;
    }
    await this.#delivery.start();
    await this.#member.join();
    this.#life.to('running');
    this.#commits.start();
  }

  /**
   * Compares the client's assignment with ours: partitions that left are released (#release), partitions that came
   * are taken. `announce` emits a rebalance event even when nothing changed (a join).
   */
  #syncAssignment(announce = false): void {
    const view = this.#member.readAssignment();
    if (!view) return;
    const { partitions: next, generation } = view;
    if (this.#delivery.policy.restartOnNewMembership && view.newMembership) {
      // This member was removed from the group (e.g. frozen past its session timeout) and came back as a new member:
      // its partitions may have been processed and committed by others meanwhile, even those assigned to it again.
      // Everything it holds is dropped and every partition starts again from its stable committed offset. (A member
      // that keeps its membership took part in every generation, so a partition it keeps was no one else's in between.)
      const held = this.#partitions.owned();
      for (const p of held) this.#revoke(p);
      // Records of the old membership may still come from the client's stream (see GroupMember.replaceStream): a new one.
      this.#member.replaceStream();
      this.emit('rebalance', { assigned: [], revoked: held, generation });
    }
    // While closing, the stop drains what it holds and the client still lists the partitions until the member leaves.
    if (this.#life.closing) return;
    const { revoked, added, returnedDuringRelease } = diffAssignment(new Set(this.#partitions.owned()), next, this.#partitions.releasing);
    // A partition given back while its release runs (KIP-848 only: a classic member holds its rejoin until its releases
    // are done) cannot be resumed: the client's stream has moved past records that were dropped meanwhile. Join again.
    if (returnedDuringRelease.length) {
      this.emit('warning', warning('PARTITION_RETURNED', `partition(s) ${returnedDuringRelease.join(', ')} came back during their release: joining the group again`));
      this.#member.reconnect();
      return;
    }
    if (revoked.length === 0 && added.length === 0 && !announce) return;
    // A revoked partition is released (the hook below); exactly-once commits its done records in a transaction there.
    // Except exactly-once with KIP-848: @platformatic/kafka 2.12.1 acknowledges the revocation in its next heartbeat
    // without waiting for the hook, so the next owner may already be working and a transaction of ours would commit
    // what it also commits. There the partition is dropped at once, nothing of it committed by this member any more.
    if (revoked.length && this.#delivery.policy.revocation === 'drop') for (const p of revoked) this.#revoke(p);
    else if (revoked.length) this.#release(revoked);
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
    const running = this.#records.runningOf(p).map((item) => ({ item, offset: item.input.offset, sending: item.sending === true }));
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
        await within(this.#commits.commit([p]), this.options.closeTimeoutMs);
        // at-least-once: a partition without a committed offset gets its log start (see AtLeastOnceDelivery.released).
        await within(this.#delivery.released(p), this.options.closeTimeoutMs);
        // A reconnect dropped every partition meanwhile: nothing of this release is left to do.
        if (this.#partitions.get(p)?.release !== release) return;
        this.#revoke(p, release.handedOver);
        this.#counts.released += 1;
        if (late > 0) this.emit('warning', warning('RELEASE_INCOMPLETE', `partition ${p}: ${late} record(s) did not finish within the release bound (${this.options.releaseTimeoutMs} ms); the next owner redoes them`));
      })();
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
        if (committed < 0n && this.#member.leftSinceStream(p)) {
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
        for (const m of waiting) if (committed < 0n || m.offset >= committed) this.#records.intake(m);
      }
      if (stale) this.#member.replaceStream();
      this.#updateFlow();
    })();
  }

  /**
   * Drops a partition at once: its unfinished records are aborted and left to the next owner. `handedOver` of them
   * were left by a release before they produced anything (counted apart from the abandoned ones).
   */
  #revoke(partition: number, handedOver = 0): void {
    this.#member.noteLeft(partition);
    // No longer ours: nothing of it is registered or committed by this member any more (exactly-once: a transaction of
    // a later generation would still be accepted for it and commit outputs its next owner also commits). Its state
    // (the records its gate held too) goes in one step.
    this.#partitions.drop(partition);
    this.#records.abort(partition, new LaglessError('INTERNAL', `partition ${partition} was revoked`));
    // Records waiting behind others in their lane never started: the next owner gets them.
    this.#scheduler.revoke(this.options.from, partition);
    const { abandoned } = this.#tracker.revoke(this.options.from, partition);
    this.#counts.handedOver += handedOver;
    this.#counts.abandoned += abandoned - handedOver;
    this.#delivery.dropped(partition);
    this.#updateFlow();
  }


  /** Repeated warnings of one code (a broker away for a minute fails every heartbeat) are emitted at most every 10 s. */
  #warnEvery(code: WarningCode, message: string): void {
    const now = performance.now();
    if (now - (this.#lastWarned.get(code) ?? -Infinity) < 10_000) return;
    this.#lastWarned.set(code, now);
    this.emit('warning', warning(code, message));
  }

  /** Pauses the intake when the window is full, resumes it when there is room again. Called per record: O(1). */
  #updateFlow(): void {
    if (!this.#member.streaming) return;
    const uncommitted = this.#tracker.uncommitted();
    const size = uncommitted + this.#partitions.gated;
    // A window half full of finished records is freed by committing now rather than at the next tick; so is one whose
    // records are all done (at-least-once: the end of a burst or of the backlog is committed at once, and the records
    // fetched meanwhile wait for no interval).
    if (size >= this.options.maxInFlight / 2 || (uncommitted > 0 && this.#delivery.policy.commitWhenSettled && this.#tracker.inFlight() === 0)) this.#commits.soon();
    this.#member.flow(size >= this.options.maxInFlight);
  }

  /**
   * Log-end and committed offsets of the assigned partitions, and their difference (the lag that Kafka tools and
   * KEDA report). One ListOffsets and one OffsetFetch request.
   */
  sampleLag(): Promise<LagSample> {
    return this.#commits.sampleLag();
  }

  stats(): TransformerStats {
    return {
      ...this.#records.counts,
      ...this.#counts,
      inFlight: this.#records.running,
      unfinished: this.#tracker.inFlight(),
      windowSize: this.#tracker.uncommitted(),
      ...this.#member.stats(),
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
    if (!this.#life.to('draining')) return { abandoned: 0, unacknowledged: 0, committed: false, leftGroup: false };
    // No more records; a reconnect in progress stops at its next step (a consumer it is joining with is closed by leave()).
    this.#member.stop();
    // One deadline for finishing records and acknowledging their outputs, so that an orchestrator's grace period only
    // needs to exceed drainTimeoutMs plus closeTimeoutMs.
    const deadline = performance.now() + o.drainTimeoutMs;
    const left = () => Math.max(0, deadline - performance.now());
    const abandonedBefore = this.#counts.abandoned;
    // Unlike a rebalance's release (which hands records that produced nothing yet to the next owner at once, so that
    // the partitions it moves are not held), a stop lets every record in flight finish within the drain timeout: the
    // commit then covers them all, and the next owner redoes none.
    if (!(await within(Promise.all([this.#records.idle(), this.#releasesDone()]), left()))) {
      const n = this.#records.abort(undefined, new LaglessError('INTERNAL', 'drain timeout'));
      this.#counts.abandoned += n;
      this.emit('warning', warning('DRAIN_TIMEOUT', `drain timeout: ${n} record(s) abandoned; they will be redone by the next owner`));
    }
    // at-least-once: outputs still unacknowledged at the deadline are given up. exactly-once: outputs are held for the
    // final transaction below.
    const { unacknowledged } = await this.#delivery.drainOutputs(left());
    this.#counts.unacknowledged += unacknowledged;

    const end = performance.now() + o.closeTimeoutMs;
    const rest = () => Math.max(0, end - performance.now());
    this.#commits.stop();
    await this.#member.settle(rest());
    // exactly-once: the last transaction commits what the drain finished (tried again, without backoff, while the
    // close deadline allows).
    this.#life.to('committing');
    // Classic protocol: no further JoinGroup; a join round in progress ends first (see GroupMember.beginLeaving).
    await this.#member.beginLeaving(rest());
    const finalCommit = async (): Promise<boolean> => {
      let ok = await this.#commits.commit();
      while (!ok && this.#delivery.policy.retryFinalCommit && rest() > 0) {
        await sleep(Math.min(500, rest()), undefined, { ref: false });
        ok = await this.#commits.commit();
      }
      return ok;
    };
    const committed = (await within(finalCommit().then((ok) => ok || Promise.reject(new Error('commit failed'))), rest())) === true;
    if (!committed) this.emit('warning', warning('FINAL_COMMIT_FAILED', `the final commit did not succeed within ${o.closeTimeoutMs} ms: records done since the last commit will be redone`));
    this.#gateAbort.abort();
    // Leaving the group lets the others take the partitions at once instead of after the session timeout.
    const leftGroup = await this.#member.leave(rest());
    if (!leftGroup) this.emit('warning', warning('LEAVE_TIMEOUT', `leaving the group did not finish within ${o.closeTimeoutMs} ms: the partitions move to other members after the session timeout`));
    await within(this.#delivery.close(), rest());
    await this.executor.close();
    this.#life.to('closed');
    return { abandoned: this.#counts.abandoned - abandonedBefore, unacknowledged, committed, leftGroup };
  }

  /** Immediate stop: nothing more is committed; unfinished records are redone by the next owner. */
  async destroy(): Promise<void> {
    this.#life.to('destroyed');
    this.#member.halt();
    this.#commits.stop();
    this.#records.abort(undefined, new LaglessError('INTERNAL', 'destroyed'));
    this.#gateAbort.abort();
    await this.#delivery.destroy();
    await this.#member.destroy();
    await this.executor.close().catch(() => {});
  }
}
