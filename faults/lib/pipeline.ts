// One scenario's pipeline: its own topics and group, `lagless run palette` members in the namespaces, steady load, fault events, and at the end the catch-up, graceful stops and the full accounting.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { account, baseId, type Arrival } from './accounting.ts';
import type { Harness } from './harness.ts';
import type { AckLine } from './inject.ts';
import { SteadyLoad } from './load.ts';
import { Member } from './member.ts';
import { median, type Check, type FaultEvent, type GroupType, type ScenarioParams, type ScenarioResult } from './scenario.ts';
import { readShareBacklog } from '../../src/share/index.ts';

export const PARTITIONS = 8;
/** The classic members' --session-timeout. */
export const SESSION_TIMEOUT_MS = 6000;
/** KIP-848 groups: the session timeout the brokers set (group.consumer.session.timeout.ms of `lagless kafka start --nodes`). */
export const CONSUMER_GROUP_SESSION_TIMEOUT_MS = 10_000;
/** Every member's --max-in-flight: the most records one member holds, so the most one fault can make it redo. */
export const MAX_IN_FLIGHT = 200;

/** How long a member that stops heartbeating keeps its partitions, with the run's group protocol. */
export function sessionTimeoutMs(p: Pick<ScenarioParams, 'groupProtocol'>): number {
  return p.groupProtocol === 'consumer' ? CONSUMER_GROUP_SESSION_TIMEOUT_MS : SESSION_TIMEOUT_MS;
}

export interface PipelineOptions {
  /** Scenario name: ids are "<tag>-<n>", topics and the group are named after it. */
  tag: string;
  title: string;
  params: ScenarioParams;
  /** Topology slots with one member each (1-based). */
  slots: number[];
  /** Steady load in records per second; 0 when the scenario produces its own records. */
  rate: number;
  /** Input value of record n (default: a photo of the image server, every 20th a 404). */
  value?: (id: string, n: number) => string;
  /** More `lagless run palette` flags (e.g. --allow-host for a fuzz server). */
  memberArgs?: string[];
  /** The job the members run instead of palette: a job file and its flags (after --from/--to/--dlq/--group). */
  job?: { file: string; args: string[] };
  /** Partitions of the input, output and dead-letter topics (default PARTITIONS). */
  partitions?: number;
  /** Topic configs of the output topic (e.g. a small max.message.bytes). */
  outputConfigs?: Record<string, string>;
  /** Wait for committed progress on every partition before the scenario's faults (default true). */
  warm?: boolean;
  /**
   * share: the members run in a share group (`--group-type share`): the brokers' session timeout and no group protocol
   * flag; progress is the share group's (start offsets and backlog), not committed offsets.
   */
  groupType?: GroupType;
  /**
   * The most duplicates the scenario's events can cause, and the rule that gives it (default: faults × members ×
   * --max-in-flight).
   */
  duplicateBound?: (events: readonly FaultEvent[]) => { bound: number; rule: string };
}

/** One input partition's progress: committed offset (a share group: its start offset), log end, and what is left. */
export interface PartitionProgress {
  partition: number;
  /** -1 (a share group: null) while nothing is committed. */
  committed: bigint | null;
  logEnd: bigint;
  /** Records not done: the lag (a share group: its backlog, the records no member has acknowledged). */
  left: bigint;
}

/**
 * The URL of steady-load record n: mostly small generated images (cheap to decode: the faults are about Kafka, not
 * CPU), every 10th a real photo, every 20th a 404 (a dead letter).
 */
export function loadUrl(images: { url: string; imageUrl(image: number, query?: Record<string, string>): string }, id: string, n: number): string {
  if (n % 20 === 19) return `${images.url}/status/404?id=${id}`;
  if (n % 10 === 9) return images.imageUrl(n, { id });
  const colour = ((n * 2654435761) >>> 8).toString(16).padStart(6, '0').slice(-6);
  return `${images.url}/solid/${colour}?w=48&h=48&id=${id}`;
}

/**
 * kill -9 of a node mid-run: waits for new leaders of the input partitions it led (a check named `check`), keeps it
 * down `downMs`, restarts it and waits until every replica of the pipeline's topics is back in sync.
 */
export async function killAndRestartNode(run: PipelineRun, node: number, o: { note: string; check: string; downMs: number }): Promise<void> {
  const h = run.h;
  const { from, to, dlq } = run.names;
  run.event('kill -9', `node ${node}`, { note: o.note });
  await h.signalNode(node, 'kill');
  const moved = await run.waitFor(`new leaders for the partitions of node ${node}`, async () => (await h.client.partitions([from])).every((x) => x.leader >= 0 && x.leader !== node), 60_000);
  run.check(o.check, moved);
  await sleep(o.downMs);
  run.event('restart', `node ${node}`, { fault: false });
  const restartedAt = Date.now();
  await h.restartNode(node);
  run.log(`node ${node} answers again after ${((Date.now() - restartedAt) / 1000).toFixed(1)} s`);
  await h.client.waitInSync([from, to, dlq], 180_000);
  run.log(`node ${node} back in sync after ${((Date.now() - restartedAt) / 1000).toFixed(1)} s`);
}

export class PipelineRun {
  readonly h: Harness;
  readonly o: PipelineOptions;
  readonly names: { from: string; to: string; dlq: string; group: string };
  readonly dir: string;
  /** Partitions of its topics. */
  readonly partitions: number;
  readonly members = new Map<number, Member>();
  readonly all: Member[] = [];
  readonly events: FaultEvent[] = [];
  readonly checks: Check[] = [];
  readonly notes: string[] = [];
  readonly arrivals: Arrival[] = [];
  #eventTimes: number[] = [];
  #load: SteadyLoad | undefined;
  #incarnation = new Map<number, number>();
  #finishing = false;
  t0 = Date.now();
  /**
   * Called after the accounting with each input id's ending: its dead letter's code, or undefined for an output (a
   * scenario adds its own checks of what each record had to end as).
   */
  afterAccounting: ((outcome: Map<string, string | undefined>) => void) | undefined;

  constructor(h: Harness, o: PipelineOptions) {
    this.h = h;
    this.o = o;
    const run = randomBytes(3).toString('hex');
    this.names = { from: `${o.tag}-${run}-in`, to: `${o.tag}-${run}-out`, dlq: `${o.tag}-${run}-dlq`, group: `${o.tag}-${run}` };
    this.dir = join(h.workDir, `${o.tag}-${run}`);
    this.partitions = o.partitions ?? PARTITIONS;
  }

  log(line: string): void {
    this.h.log(`  [${this.o.tag} +${((Date.now() - this.t0) / 1000).toFixed(1)}s] ${line}`);
  }

  check(name: string, ok: boolean, detail = ''): boolean {
    this.checks.push({ name, ok, detail });
    if (!ok) this.log(`CHECK FAILED: ${name}${detail ? `: ${detail}` : ''}`);
    return ok;
  }

  /** Records a fault (recovery is measured from it) or a repair (`fault: false`). */
  event(action: string, target: string, opts: { fault?: boolean; note?: string; at?: number } = {}): FaultEvent {
    const at = opts.at ?? Date.now();
    const e: FaultEvent = { atMs: at - this.t0, action, target, fault: opts.fault ?? true, ...(opts.note ? { note: opts.note } : {}) };
    this.events.push(e);
    this.#eventTimes.push(at);
    this.log(`${action} ${target}${opts.note ? ` (${opts.note})` : ''}`);
    return e;
  }

  memberArgs(): string[] {
    const { from, to, dlq, group } = this.names;
    const job = this.o.job;
    return [
      ...(job ? [job.file] : ['palette']),
      '--brokers', this.h.brokers.join(','),
      '--from', from, '--to', to, '--dlq', dlq, '--group', group,
      ...(job ? job.args : ['--allow-host', `${this.h.topology.brokerAddress}:${this.h.images.port}`]),
      '--workers', '1',
      '--max-in-flight', String(MAX_IN_FLIGHT),
      // A share group's session timeout is the brokers' (group.share.session.timeout.ms, 10 s in their config).
      ...(this.o.groupType === 'share' ? ['--group-type', 'share'] : ['--session-timeout', `${SESSION_TIMEOUT_MS / 1000}s`]),
      '--status-interval', '1s',
      '--status-every', '0',
      ...(this.o.params.guarantee === 'exactly-once' ? ['--guarantee', 'exactly-once'] : []),
      ...(this.o.params.groupProtocol === 'consumer' && this.o.groupType !== 'share' ? ['--group-protocol', 'consumer'] : []),
      ...(this.o.memberArgs ?? []),
    ];
  }

  /** Starts a new member process in slot `slot` (a restart when one ran there). */
  startMember(slot: number): Member {
    const n = (this.#incarnation.get(slot) ?? 0) + 1;
    this.#incarnation.set(slot, n);
    const m = new Member({ name: `m${slot}-${n}`, slot: this.h.topology.slots[slot - 1]!, args: this.memberArgs(), workDir: this.dir });
    this.members.set(slot, m);
    this.all.push(m);
    void m.exited.then((exit) => {
      if (m.expectedExit) return;
      this.check(`member ${m.name} runs until told to stop`, false, `it exited by itself (code ${exit.code}, signal ${exit.signal}):\n${m.lastLines()}`);
      if (!this.#finishing && this.members.get(slot) === m) this.startMember(slot);
    });
    return m;
  }

  member(slot: number): Member {
    const m = this.members.get(slot);
    if (!m) throw new Error(`no member in slot ${slot}`);
    return m;
  }

  async waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // One check may not outlast the wait by much (a question sent to a frozen node hangs until its request timeout,
      // 10 s, after which the client asks another node: a check gets that long).
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<false>((r) => (timer = setTimeout(() => r(false), Math.max(15_000, deadline - Date.now()))));
      try {
        if (await Promise.race([Promise.resolve().then(cond), late])) return true;
      } catch {
        // A cluster in the middle of a fault may not answer: ask again.
      } finally {
        clearTimeout(timer);
      }
      if (Date.now() > deadline) {
        this.log(`timed out after ${timeoutMs} ms waiting for ${what}`);
        return false;
      }
      await sleep(200);
    }
  }

  /**
   * Per input partition, what the group has done: committed offsets and lag for a consumer group; for a share group,
   * which commits no offsets, its start offsets and backlog.
   */
  async progress(): Promise<PartitionProgress[]> {
    const { group, from } = this.names;
    if (this.o.groupType === 'share') {
      const backlog = await readShareBacklog(this.h.client.admin, group, from);
      return Array.from({ length: this.partitions }, (_, p) => {
        const x = backlog.partitions.find((q) => q.partition === p);
        return { partition: p, committed: x?.committed ?? null, logEnd: x?.logEnd ?? 0n, left: x?.lag ?? 0n };
      });
    }
    const [ends, committed] = await Promise.all([this.h.client.endOffsets(from, this.partitions), this.h.client.committed(group, from, this.partitions)]);
    return ends.map((logEnd, p) => {
      const c = committed[p]!;
      return { partition: p, committed: c, logEnd, left: c < 0n ? logEnd : logEnd > c ? logEnd - c : 0n };
    });
  }

  /** Topics, members (each with partitions), then the load; returns once every partition has committed progress. */
  async begin(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const { from, to, dlq } = this.names;
    await this.h.client.createTopics([from, dlq], this.partitions);
    await this.h.client.createTopics([to], this.partitions, this.o.outputConfigs);
    for (const s of this.o.slots) this.startMember(s);
    const joined = await this.waitFor(
      'every member to get partitions',
      () => {
        const all = [...this.members.values()].map((m) => m.partitions);
        return all.every((p) => p.length > 0) && new Set(all.flat()).size === this.partitions;
      },
      180_000,
    );
    if (!joined) throw new Error(`the members did not share the ${this.partitions} partitions within 180 s:\n${[...this.members.values()].map((m) => `${m.name}: ${m.lastLines(8)}`).join('\n')}`);
    this.t0 = Date.now();
    if (this.o.rate > 0) {
      const images = this.h.images;
      const warm = this.o.warm ?? true;
      const value = this.o.value ?? ((id: string, n: number) => JSON.stringify({ id, url: loadUrl(images, id, n) }));
      this.#load = new SteadyLoad({ brokers: this.h.brokers, topic: from, partitions: this.partitions, rate: this.o.rate, id: (n) => `${this.o.tag}-${n}`, value });
      this.#load.start();
      if (warm) {
        // A share group: its start offset moved past the first record of every partition.
        const ready = await this.waitFor('progress on every partition', async () => (await this.progress()).every((x) => x.committed !== null && x.committed > 0n), 120_000);
        if (!ready) throw new Error(`no ${this.o.groupType === 'share' ? 'share start offset past 0' : 'committed progress'} on every partition within 120 s of steady load`);
        this.log(`warm: ${this.#load.sent.length} records in, every partition ${this.o.groupType === 'share' ? 'has acknowledged records (share start offset past 0)' : 'committed'}`);
      }
    }
  }

  /** ms since the load started. */
  elapsed(): number {
    return Date.now() - this.t0;
  }

  /** Sleeps until `atMs` after the load started (at once if that moment has passed). */
  async until(atMs: number): Promise<void> {
    const wait = atMs - this.elapsed();
    if (wait > 0) await sleep(wait);
  }

  /** Stops the load, waits until the group committed every input record, stops the members, reads the topics back and accounts. */
  async finish(scenario: { name: string; title: string; trials: number }, error?: unknown): Promise<ScenarioResult> {
    this.#finishing = error !== undefined;
    const { from, to, dlq, group } = this.names;
    let errorText = error === undefined ? undefined : (error as Error).stack ?? String(error);
    try {
      await this.#load?.stop();
      if (this.#load) {
        this.log(`load stopped: ${this.#load.sent.length} records acknowledged (${this.#load.failedRequests} failed produce requests, retried)`);
        this.arrivals.push(...this.#load.sent.map((s) => ({ id: s.id, partition: s.partition, at: s.ackedAt })));
      }
      const ends = await this.h.client.endOffsets(from, this.partitions);
      const total = Number(ends.reduce((a, b) => a + b, 0n));
      let committed: bigint[] = [];
      let shareProgress: PartitionProgress[] = [];
      const share = this.o.groupType === 'share';
      const caughtUp = await this.waitFor(
        share ? 'the share group to acknowledge every input record (backlog 0)' : 'the group to commit every input record',
        async () => {
          if (share) {
            // The broker's backlog, record by record: the start offset alone lags behind acknowledgements past it.
            shareProgress = await this.progress();
            return shareProgress.every((x) => ends[x.partition] === 0n || (x.logEnd >= ends[x.partition]! && x.left === 0n));
          }
          committed = await this.h.client.committed(group, from, this.partitions);
          // An empty partition has nothing to commit.
          return committed.every((c, p) => ends[p] === 0n || c >= ends[p]!);
        },
        Math.max(180_000, total * 20),
      );
      const detail = share
        ? `backlog ${shareProgress.map((x) => x.left).join(',')} (start offsets ${shareProgress.map((x) => x.committed ?? '-').join(',')} of ${ends.join(',')})`
        : `committed ${committed.join(',')} of ${ends.join(',')}`;
      this.check('the members catch up with the input (no stall)', caughtUp, caughtUp ? '' : detail);
    } catch (err) {
      errorText ??= (err as Error).stack ?? String(err);
    }
    this.#finishing = true;
    for (const m of this.members.values()) {
      if (!m.running) continue;
      const exit = await m.stop();
      this.check(`member ${m.name} stops cleanly on SIGTERM`, exit.code === 0 && !exit.timedOut, `code ${exit.code}, signal ${exit.signal}${exit.timedOut ? ', killed after 90 s' : ''}\n${m.lastLines(10)}`);
    }
    // Ground truth from Kafka's own Java client; outputs read_committed when exactly-once is checked.
    const isolation = this.o.params.guarantee === 'exactly-once' ? 'read_committed' : 'read_uncommitted';
    const inputs = (await this.h.dumper.dump(this.h.brokers, [from])).get(from)!;
    const read = await this.h.dumper.dump(this.h.brokers, [to, dlq], isolation);
    const outputs = read.get(to)!;
    const deadLetters = read.get(dlq)!;
    const completions = await this.#completions();
    // Records produced before the acknowledgement log existed (or lost from it) fall back to their producer timestamps.
    const fallback = (id: string | undefined, at: number) => id !== undefined && !completions.has(id) && completions.set(id, at);
    for (const r of outputs) fallback(baseId(r.key), r.timestamp);
    for (const r of deadLetters) fallback(r.key ?? undefined, r.timestamp);
    const acc = account({ inputs, outputs, deadLetters, arrivals: this.arrivals, completions, faults: this.#eventTimes });
    this.events.forEach((e, i) => (e.recoveryMs = acc.recoveries[i]));
    this.check('every input id has an output or a dead letter (lost = 0)', acc.lost.length === 0, acc.lost.length ? `${acc.lost.length} lost: ${acc.lost.slice(0, 10).join(', ')}` : '');
    this.check('no id has both an output and a dead letter', acc.both.length === 0, acc.both.slice(0, 10).join(', '));
    this.check('every output and dead letter belongs to an input', acc.unknown === 0, `${acc.unknown} unknown: ${acc.unknownSamples.join('; ')}`);
    const inputIds = new Set(inputs.map((r) => r.key));
    const missingInputs = this.arrivals.filter((a) => !inputIds.has(a.id));
    this.check(
      'every input record the brokers acknowledged is in the input topic',
      missingInputs.length === 0,
      missingInputs.slice(0, 10).map((a) => `${a.id} (partition ${a.partition}, acknowledged at +${((a.at - this.t0) / 1000).toFixed(1)} s)`).join('; '),
    );
    this.check('every dead letter has a stable error code', acc.unknownCodes.length === 0, acc.unknownCodes.join(', '));
    const faults = this.events.filter((e) => e.fault).length;
    const { bound, rule } = this.o.duplicateBound?.(this.events) ?? { bound: Math.max(1, faults) * this.o.slots.length * MAX_IN_FLIGHT, rule: 'faults × members × --max-in-flight' };
    this.check(`duplicates stay within the in-flight windows (${rule})`, acc.duplicates <= bound, `${acc.duplicates} duplicates, bound ${bound}`);
    if (this.o.params.guarantee === 'exactly-once') this.check('a read_committed reader sees each id exactly once', acc.duplicates === 0, `${acc.duplicates} duplicates`);
    if (this.afterAccounting) {
      const outcome = new Map<string, string | undefined>();
      for (const r of deadLetters) {
        if (r.key === null) continue;
        let code: string | undefined;
        try {
          code = (JSON.parse(r.value) as { error?: { code?: string } }).error?.code;
        } catch {
          code = 'UNREADABLE_DEAD_LETTER';
        }
        outcome.set(r.key, code ?? 'NO_CODE');
      }
      for (const r of outputs) {
        const id = baseId(r.key);
        if (id !== undefined && !outcome.has(id)) outcome.set(id, undefined);
      }
      try {
        this.afterAccounting(outcome);
      } catch (err) {
        this.check("the scenario's own checks ran", false, (err as Error).stack ?? String(err));
      }
    }
    if (errorText) this.check('the scenario ran to its end', false, errorText);
    const recoveries = this.events.filter((e) => e.fault).map((e) => e.recoveryMs ?? 0);
    const result: ScenarioResult = {
      scenario: scenario.name,
      title: scenario.title,
      seed: this.o.params.seed,
      guarantee: this.o.params.guarantee,
      groupProtocol: this.o.params.groupProtocol,
      ...(this.o.groupType ? { groupType: this.o.groupType } : {}),
      trials: scenario.trials,
      elapsedMs: Date.now() - this.t0,
      records: acc.records,
      inputDuplicates: acc.inputDuplicates,
      outputs: acc.outputs,
      deadLetters: acc.deadLetters,
      lost: acc.lost.length,
      duplicates: acc.duplicates,
      codes: acc.codes,
      longestStall: { ...acc.longestStall, from: acc.longestStall.from - this.t0, to: acc.longestStall.to - this.t0 },
      recovery: { maxMs: recoveries.length ? Math.max(...recoveries) : 0, medianMs: median(recoveries) },
      events: this.events,
      checks: this.checks,
      passed: this.checks.every((c) => c.ok),
      ...(errorText ? { error: errorText } : {}),
      notes: this.notes,
    };
    this.log(
      `${result.passed ? 'PASSED' : 'FAILED'}: ${acc.records} records, lost ${acc.lost.length}, duplicates ${acc.duplicates}, ` +
        `longest time without progress ${(acc.longestStall.ms / 1000).toFixed(1)} s (partition ${acc.longestStall.partition}), recovery max ${(result.recovery.maxMs / 1000).toFixed(1)} s`,
    );
    return result;
  }

  /** Earliest acknowledgement of an output or dead letter per input id, from every member's log. */
  async #completions(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const { to, dlq } = this.names;
    for (const f of (await readdir(this.dir)).filter((f) => f.endsWith('.acks.jsonl'))) {
      for (const line of (await readFile(join(this.dir, f), 'utf8')).split('\n')) {
        if (!line) continue;
        let a: AckLine;
        try {
          a = JSON.parse(line) as AckLine;
        } catch {
          continue; // a line cut by kill -9
        }
        if (a.topic !== to && a.topic !== dlq) continue;
        for (const k of a.keys) {
          const id = a.topic === dlq ? k ?? undefined : baseId(k);
          if (id !== undefined && (out.get(id) ?? Infinity) > a.t) out.set(id, a.t);
        }
      }
    }
    return out;
  }
}

/**
 * Runs a scenario's body on a fresh pipeline and always ends with the accounting; afterwards every node runs again
 * and every link is up, whatever the body did or where it failed.
 */
export async function runPipelineScenario(
  h: Harness,
  scenario: { name: string; title: string },
  params: ScenarioParams,
  options: Omit<PipelineOptions, 'tag' | 'title' | 'params'>,
  body: (run: PipelineRun) => Promise<void>,
): Promise<ScenarioResult> {
  const run = new PipelineRun(h, { ...options, tag: scenario.name, title: scenario.title, params });
  let error: unknown;
  try {
    await run.begin();
    await body(run);
  } catch (err) {
    error = err;
  }
  try {
    return await run.finish({ name: scenario.name, title: scenario.title, trials: params.trials }, error);
  } finally {
    for (const slot of h.topology.slots) h.topology.setLink(slot, true);
    await h.healAllNodes().catch((err) => h.log(`could not bring every node back: ${(err as Error).message}`));
    for (const m of run.all) if (m.running) await m.kill();
  }
}
