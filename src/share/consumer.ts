// The client side of one share-group member (KIP-932): the membership (ShareGroupHeartbeat to the group coordinator),
// one share session per partition leader (ShareFetch, ShareAcknowledge), and the acknowledgements the member gives
// record by record. It never decides what a record's fate is: the share transformer does (accept, release, reject,
// renew), this sends it, batched into ranges, with the next request to the record's leader.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { IS_CONTROL, kGetApi, kGetConnection, kMetadata, type Admin, type API, type Broker, type Connection } from '@platformatic/kafka';
import { LaglessError, warning, type WarningCode } from '../errors/index.ts';
import { AckType, createAdmin, describeKafkaError, findKafkaErrorId, isUnreachable, shareAcknowledgeV2, shareFetchV2, shareGroupHeartbeatV1, type AckBatch, type AckTopic, type AckTypeValue, type KafkaConnection, type ShareFetchResponse } from '../kafka/index.ts';

/** An acquired record, as the member receives it. */
export interface ShareRecord {
  readonly partition: number;
  readonly offset: bigint;
  /** How many times the broker has delivered it, this time included (1: the first delivery). */
  readonly deliveryCount: number;
  readonly key: string | undefined;
  readonly value: Buffer | undefined;
  readonly timestamp: bigint;
  readonly headers: ReadonlyMap<string, string> | undefined;
}

export interface ShareConsumerOptions {
  kafka: KafkaConnection;
  clientId: string;
  group: string;
  topic: string;
  /** Longest a ShareFetch waits for records. */
  fetchMaxWaitMs: number;
  fetchMaxBytes: number;
  /** How many more records the member takes now (0: fetch nothing, only acknowledge). */
  room(): number;
  /** Records acquired by this member. */
  records(records: ShareRecord[]): void;
  /** The partitions assigned to this member changed. */
  assigned(partitions: readonly number[]): void;
  warn(w: LaglessError): void;
  warnEvery(code: WarningCode, message: string): void;
}

export interface ShareConsumerStats {
  memberId: string;
  memberEpoch: number;
  /** Acknowledgements sent, by type. */
  accepted: number;
  released: number;
  rejected: number;
  renewed: number;
  /** Acknowledgements the broker refused (the lock had expired: another member may have the record now). */
  ackErrors: number;
  /** Offsets acquired without a record (control records of transactions): acknowledged as gaps. */
  gaps: number;
  /** The acquisition lock of the last fetch, ms. */
  lockTimeoutMs: number;
  /** A heartbeat or fetch failed and the member is trying again. */
  reconnecting: boolean;
}

const COORDINATOR_MOVED = ['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS'];
const MEMBERSHIP_LOST = ['UNKNOWN_MEMBER_ID', 'FENCED_MEMBER_EPOCH'];
const SESSION_LOST = ['INVALID_SHARE_SESSION_EPOCH', 'SHARE_SESSION_NOT_FOUND', 'SHARE_SESSION_LIMIT_REACHED'];

function call<T>(f: (cb: (e: Error | null | undefined, v?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => f((e, v) => (e ? reject(e) : resolve(v as T))));
}

/** Offsets and types of one partition, merged into ranges of one type each. */
export function toAckBatches(acks: readonly { offset: bigint; type: AckTypeValue }[]): AckBatch[] {
  const sorted = [...acks].sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  const out: AckBatch[] = [];
  for (const a of sorted) {
    const last = out[out.length - 1];
    if (last && last.type === a.type && last.lastOffset + 1n === a.offset) last.lastOffset = a.offset;
    else if (!last || last.lastOffset < a.offset) out.push({ firstOffset: a.offset, lastOffset: a.offset, type: a.type });
  }
  return out;
}

/** One share session with one broker (the leader of some of the assigned partitions). */
class Session {
  readonly nodeId: number;
  epoch = 0;
  /** Partitions named in this session so far (forgotten when they leave the member or move to another leader). */
  readonly partitions = new Set<number>();
  running = false;
  constructor(nodeId: number) {
    this.nodeId = nodeId;
  }
}

export class ShareConsumer {
  readonly #o: ShareConsumerOptions;
  readonly #admin: Admin;
  readonly memberId = randomBytes(16).toString('base64url');
  #epoch = 0;
  #topicId: string | undefined;
  #assigned: number[] = [];
  #leaders = new Map<number, number>();
  #brokers = new Map<number, Broker>();
  #coordinator: Broker | undefined;
  readonly #sessions = new Map<number, Session>();
  /** Acknowledgements waiting for their next request, per partition. */
  #acks = new Map<number, { offset: bigint; type: AckTypeValue }[]>();
  #renewals = new Map<number, bigint[]>();
  /**
   * Records acquired and not yet acknowledged, per partition. A partition that leaves the assignment stays in its share
   * session until they are acknowledged: forgetting it, or closing the session, would release them to other members
   * while this one still runs them (and its acknowledgements would be refused).
   */
  readonly #held = new Map<number, number>();
  #wake: (() => void) | undefined;
  #fetching = true;
  #stopped = false;
  readonly #halt = new AbortController();
  #heartbeat: Promise<void> | undefined;
  #joined!: () => void;
  readonly #joinedOnce = new Promise<void>((r) => (this.#joined = r));
  #heartbeatFailing = false;
  #fetchFailing = false;
  readonly #stats = { accepted: 0, released: 0, rejected: 0, renewed: 0, ackErrors: 0, gaps: 0, lockTimeoutMs: 0 };

  constructor(o: ShareConsumerOptions) {
    this.#o = o;
    this.#admin = createAdmin({ ...o.kafka, clientId: o.clientId });
  }

  /** Joins the share group: resolves after the first successful heartbeat (the assignment may come later). */
  async start(): Promise<void> {
    await this.#refreshMetadata();
    this.#heartbeat = this.#heartbeatLoop();
    await Promise.race([this.#joinedOnce, this.#heartbeat]);
  }

  /** The acquired record's fate, sent with the next request to its leader. */
  acknowledge(partition: number, offset: bigint, type: AckTypeValue): void {
    let list = this.#acks.get(partition);
    if (!list) this.#acks.set(partition, (list = []));
    list.push({ offset, type });
    if (type === AckType.ACCEPT || type === AckType.RELEASE || type === AckType.REJECT) this.#held.set(partition, Math.max(0, (this.#held.get(partition) ?? 0) - 1));
    // A partition no longer assigned (its session loop may have ended) still gets its acknowledgements sent.
    if (!this.#stopped && !this.#sessions.get(this.#leaders.get(partition) ?? -1)?.running) this.#startSessions();
    else this.#poke();
  }

  /** Asks for the acquisition lock of a record still running to be renewed (ShareAcknowledge RENEW). */
  renew(partition: number, offset: bigint): void {
    let list = this.#renewals.get(partition);
    if (!list) this.#renewals.set(partition, (list = []));
    list.push(offset);
    this.#poke();
  }

  /** Room in the member changed: fetching may go on. */
  poke(): void {
    this.#poke();
  }

  #poke(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  get assigned(): readonly number[] {
    return this.#assigned;
  }

  get pendingAcks(): number {
    let n = 0;
    for (const l of this.#acks.values()) n += l.length;
    return n;
  }

  stats(): ShareConsumerStats {
    return { memberId: this.memberId, memberEpoch: this.#epoch, ...this.#stats, reconnecting: this.#heartbeatFailing || this.#fetchFailing };
  }

  /** No more records are fetched; acknowledgements still go out. */
  stopFetching(): void {
    this.#fetching = false;
    this.#poke();
  }

  /**
   * Sends the acknowledgements still waiting and closes the share sessions (the broker releases whatever this member
   * still holds), then leaves the group. Bounded by `ms`.
   */
  async close(ms: number): Promise<{ flushed: boolean; left: boolean }> {
    this.#fetching = false;
    const deadline = performance.now() + ms;
    while (this.pendingAcks > 0 && performance.now() < deadline && !this.#stopped) {
      this.#poke();
      await sleep(20, undefined, { ref: false });
    }
    const flushed = this.pendingAcks === 0;
    this.#stopped = true;
    this.#halt.abort();
    this.#poke();
    // Close every session (epoch -1): what the member still holds is released at once.
    await Promise.all([...this.#sessions.values()].map((s) => this.#closeSession(s).catch(() => {})));
    let left = false;
    try {
      const conn = await this.#coordinatorConnection();
      await shareGroupHeartbeatV1.async(conn, this.#o.group, this.memberId, -1, null, null);
      left = true;
    } catch {
      // The group ends this membership after its session timeout; the records it held were released above.
    }
    await this.#heartbeat?.catch(() => {});
    await this.#admin.close().catch(() => {});
    return { flushed, left };
  }

  /** Immediate stop: nothing more is sent (the broker releases what it held when the locks expire). */
  async destroy(): Promise<void> {
    this.#stopped = true;
    this.#halt.abort();
    this.#poke();
    await this.#admin.close().catch(() => {});
  }

  async #closeSession(s: Session): Promise<void> {
    if (s.epoch === 0) return;
    const conn = await this.#connection(s.nodeId);
    await shareAcknowledgeV2.async(conn, this.#o.group, this.memberId, -1, false, this.#takeAcks(s.nodeId));
  }

  // ── Membership ──────────────────────────────────────────────────────────────────────────────────────────────────

  async #heartbeatLoop(): Promise<void> {
    let interval = 1000;
    while (!this.#stopped) {
      try {
        const conn = await this.#coordinatorConnection();
        const r = await shareGroupHeartbeatV1.async(conn, this.#o.group, this.memberId, this.#epoch, null, [this.#o.topic]);
        this.#epoch = r.memberEpoch;
        interval = r.heartbeatIntervalMs > 0 ? r.heartbeatIntervalMs : interval;
        if (r.assignment) await this.#assign(r.assignment);
        if (this.#heartbeatFailing) this.#o.warn(warning('GROUP_REJOINED', `share group "${this.#o.group}": heartbeats work again`));
        this.#heartbeatFailing = false;
        this.#joined();
      } catch (err) {
        if (this.#stopped) break;
        if (findAny(err, COORDINATOR_MOVED) || isUnreachable(err)) this.#coordinator = undefined;
        if (findAny(err, MEMBERSHIP_LOST)) {
          // The coordinator ended this membership (e.g. no heartbeat within the session timeout): join again. The
          // records it held were released by the broker; their acknowledgements will be refused.
          this.#epoch = 0;
          this.#o.warn(warning('GROUP_MEMBERSHIP_LOST', `share group "${this.#o.group}": the coordinator ended this membership (${describeKafkaError(err)}); joining again`));
        } else {
          this.#o.warnEvery('GROUP_HEARTBEAT_FAILED', `share group "${this.#o.group}": heartbeat failed (retrying): ${describeKafkaError(err)}`);
        }
        this.#heartbeatFailing = true;
        interval = 500;
      }
      try {
        await sleep(interval, undefined, { signal: this.#halt.signal, ref: false });
      } catch {
        break;
      }
    }
  }

  async #assign(assignment: { topicId: string; partitions: number[] }[]): Promise<void> {
    if (this.#topicId === undefined) await this.#refreshMetadata();
    const next = assignment
      .filter((t) => t.topicId === this.#topicId)
      .flatMap((t) => t.partitions)
      .sort((a, b) => a - b);
    if (next.length === this.#assigned.length && next.every((p, i) => p === this.#assigned[i])) return;
    this.#assigned = next;
    if (next.some((p) => !this.#leaders.has(p))) await this.#refreshMetadata();
    this.#o.assigned(next);
    this.#startSessions();
  }

  async #refreshMetadata(): Promise<void> {
    const md = await call<{ topics: Map<string, { id: string; partitions: { leader: number }[] }>; brokers: Map<number, Broker> }>((cb) =>
      this.#admin[kMetadata]({ topics: [this.#o.topic], forceUpdate: true }, cb as never),
    );
    const t = md.topics.get(this.#o.topic);
    if (!t) throw new LaglessError('KAFKA', `topic "${this.#o.topic}" does not exist`);
    this.#topicId = t.id;
    this.#leaders = new Map(t.partitions.map((p, i) => [i, p.leader]));
    this.#brokers = md.brokers;
  }

  async #coordinatorConnection(): Promise<Connection> {
    if (!this.#coordinator) {
      const any = await this.#connection(undefined);
      const findCoordinator = await call<API<[number, string[]], { coordinators: { nodeId: number; host: string; port: number; errorCode: number }[] }>>((cb) => this.#admin[kGetApi]('FindCoordinator', cb));
      const r = await findCoordinator.async(any, 0, [this.#o.group]);
      const c = r.coordinators[0]!;
      this.#coordinator = { host: c.host, port: c.port };
    }
    return call<Connection>((cb) => this.#admin[kGetConnection](this.#coordinator!, cb));
  }

  async #connection(nodeId: number | undefined): Promise<Connection> {
    const broker = nodeId === undefined ? [...this.#brokers.values()][0] : this.#brokers.get(nodeId);
    if (!broker) {
      await this.#refreshMetadata();
      const b = nodeId === undefined ? [...this.#brokers.values()][0] : this.#brokers.get(nodeId);
      if (!b) throw new LaglessError('KAFKA', `broker ${nodeId} is not in the cluster's metadata`);
      return call<Connection>((cb) => this.#admin[kGetConnection](b, cb));
    }
    return call<Connection>((cb) => this.#admin[kGetConnection](broker, cb));
  }

  // ── Sessions ────────────────────────────────────────────────────────────────────────────────────────────────────

  /** One loop per leader of the assigned partitions (and of partitions with acknowledgements still to send). */
  #startSessions(): void {
    if (this.#stopped) return;
    const nodes = new Set<number>();
    for (const p of this.#assigned) nodes.add(this.#leaders.get(p) ?? -1);
    for (const p of this.#acks.keys()) nodes.add(this.#leaders.get(p) ?? -1);
    nodes.delete(-1);
    for (const n of nodes) {
      let s = this.#sessions.get(n);
      if (!s) this.#sessions.set(n, (s = new Session(n)));
      if (!s.running) {
        s.running = true;
        void this.#sessionLoop(s).finally(() => (s.running = false));
      }
    }
    this.#poke();
  }

  /** The acknowledgements waiting for partitions led by `nodeId`, taken out as request topics. */
  #takeAcks(nodeId: number): AckTopic[] {
    const partitions: AckTopic['partitions'] = [];
    for (const [p, list] of this.#acks) {
      if ((this.#leaders.get(p) ?? -1) !== nodeId || list.length === 0) continue;
      this.#acks.delete(p);
      for (const a of list) {
        if (a.type === AckType.ACCEPT) this.#stats.accepted += 1;
        else if (a.type === AckType.RELEASE) this.#stats.released += 1;
        else if (a.type === AckType.REJECT) this.#stats.rejected += 1;
      }
      partitions.push({ partition: p, batches: toAckBatches(list) });
    }
    return partitions.length ? [{ topicId: this.#topicId!, partitions }] : [];
  }

  /**
   * Acknowledgements whose request failed go back in the queue for the next request (an ACCEPT that never reached the
   * broker would let the record's lock expire and the record be done twice). Refused ones are not retried.
   */
  #requeue(topics: AckTopic[]): void {
    for (const t of topics) {
      for (const p of t.partitions) {
        let list = this.#acks.get(p.partition);
        if (!list) this.#acks.set(p.partition, (list = []));
        for (const b of p.batches) for (let o = b.firstOffset; o <= b.lastOffset; o++) list.push({ offset: o, type: b.type });
      }
    }
  }

  #takeRenewals(nodeId: number): AckTopic[] {
    const partitions: AckTopic['partitions'] = [];
    for (const [p, offsets] of this.#renewals) {
      if ((this.#leaders.get(p) ?? -1) !== nodeId) continue;
      this.#renewals.delete(p);
      this.#stats.renewed += offsets.length;
      partitions.push({ partition: p, batches: toAckBatches(offsets.map((offset) => ({ offset, type: AckType.RENEW }))) });
    }
    return partitions.length ? [{ topicId: this.#topicId!, partitions }] : [];
  }

  async #sessionLoop(s: Session): Promise<void> {
    while (!this.#stopped) {
      const mine = this.#assigned.filter((p) => this.#leaders.get(p) === s.nodeId);
      // The session keeps the partitions this member still holds records of, assigned or not.
      const keep = [...new Set([...mine, ...[...this.#held].filter(([p, n]) => n > 0 && this.#leaders.get(p) === s.nodeId).map(([p]) => p)])];
      try {
        const renewals = this.#takeRenewals(s.nodeId);
        if (renewals.length && s.epoch > 0) {
          const conn = await this.#connection(s.nodeId);
          const r = await shareAcknowledgeV2.async(conn, this.#o.group, this.memberId, s.epoch, true, renewals);
          s.epoch = nextEpoch(s.epoch);
          this.#ackErrors(r.responses.flatMap((t) => t.partitions.map((p) => p.errorCode)));
          continue;
        }
        const room = this.#fetching && mine.length > 0 ? this.#o.room() : 0;
        if (room > 0 || (s.epoch === 0 && mine.length > 0 && this.#fetching)) {
          await this.#fetch(s, mine, keep, Math.max(1, Math.min(room, 1000)));
          this.#fetchOk();
          continue;
        }
        if (s.epoch === 0 && mine.length === 0 && this.#hasAcksFor(s.nodeId)) {
          // The session that acquired these records is gone (a broker error reset it): the broker released them, and
          // would refuse their acknowledgements. Dropped, so that they do not wait forever (and hold a stop).
          const dropped = this.#takeAcks(s.nodeId).reduce((n, t) => n + t.partitions.reduce((m, p) => m + p.batches.length, 0), 0);
          this.#takeRenewals(s.nodeId);
          this.#stats.ackErrors += dropped;
          this.#o.warnEvery('SHARE_ACK_FAILED', `share group "${this.#o.group}": acknowledgements of ${dropped} range(s) dropped: the share session that acquired their records was reset, and the broker released them to other members`);
          continue;
        }
        const acks = this.#takeAcks(s.nodeId);
        if (acks.length && s.epoch > 0) {
          const conn = await this.#connection(s.nodeId).catch((err: unknown) => {
            this.#requeue(acks);
            throw err;
          });
          const r = await shareAcknowledgeV2.async(conn, this.#o.group, this.memberId, s.epoch, false, acks).catch((err: unknown) => {
            // Not sent (the connection failed): sent again with the next request. Refused as a whole (a session
            // error): the records' locks went with the session, so they are not sent again.
            if (!findAny(err, SESSION_LOST)) this.#requeue(acks);
            throw err;
          });
          s.epoch = nextEpoch(s.epoch);
          this.#ackErrors(r.responses.flatMap((t) => t.partitions.map((p) => p.errorCode)));
          this.#fetchOk();
          continue;
        }
        if (keep.length === 0 && !this.#hasAcksFor(s.nodeId)) {
          // Nothing of this member is led by this broker any more.
          if (s.epoch > 0) await this.#closeSession(s).catch(() => {});
          s.epoch = 0;
          s.partitions.clear();
          this.#sessions.delete(s.nodeId);
          return;
        }
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          setTimeout(resolve, 200).unref();
        });
      } catch (err) {
        if (this.#stopped) return;
        if (findAny(err, SESSION_LOST)) {
          s.epoch = 0;
          s.partitions.clear();
        }
        if (isUnreachable(err) || findAny(err, ['NOT_LEADER_OR_FOLLOWER', 'UNKNOWN_TOPIC_OR_PARTITION', 'UNKNOWN_TOPIC_ID', 'LEADER_NOT_AVAILABLE'])) {
          s.epoch = 0;
          s.partitions.clear();
          await this.#refreshMetadata().catch(() => {});
          this.#startSessions();
        }
        this.#fetchFailing = true;
        this.#o.warnEvery('SHARE_FETCH_FAILED', `share group "${this.#o.group}": fetching from broker ${s.nodeId} failed (retrying): ${describeKafkaError(err)}`);
        try {
          await sleep(500, undefined, { signal: this.#halt.signal, ref: false });
        } catch {
          return;
        }
      }
    }
  }

  #hasAcksFor(nodeId: number): boolean {
    for (const [p, l] of this.#acks) if (l.length && (this.#leaders.get(p) ?? -1) === nodeId) return true;
    for (const [p, l] of this.#renewals) if (l.length && (this.#leaders.get(p) ?? -1) === nodeId) return true;
    return false;
  }

  #fetchOk(): void {
    if (this.#fetchFailing) this.#fetchFailing = false;
  }

  #ackErrors(codes: number[]): void {
    const failed = codes.filter((c) => c !== 0).length;
    if (failed === 0) return;
    this.#stats.ackErrors += failed;
    this.#o.warnEvery('SHARE_ACK_FAILED', `share group "${this.#o.group}": the broker refused acknowledgements of ${failed} partition(s) (their acquisition locks had expired: another member may process those records again)`);
  }

  async #fetch(s: Session, mine: number[], keep: number[], maxRecords: number): Promise<void> {
    const conn = await this.#connection(s.nodeId);
    // A request that opens a session (epoch 0) carries no acknowledgement: they go with the next one.
    const acks = s.epoch === 0 ? [] : this.#takeAcks(s.nodeId);
    try {
      await this.#fetchWith(s, conn, mine, keep, maxRecords, acks);
    } catch (err) {
      if (!findAny(err, SESSION_LOST)) this.#requeue(acks);
      throw err;
    }
  }

  async #fetchWith(s: Session, conn: Connection, mine: number[], keep: number[], maxRecords: number, acks: AckTopic[]): Promise<void> {
    const ackByPartition = new Map((acks[0]?.partitions ?? []).map((p) => [p.partition, p.batches]));
    const forgotten = [...s.partitions].filter((p) => !keep.includes(p));
    const partitions = [...new Set([...mine, ...ackByPartition.keys()])].map((p) => ({ partition: p, batches: ackByPartition.get(p) ?? [] }));
    const r: ShareFetchResponse = await shareFetchV2.async(conn, {
      groupId: this.#o.group,
      memberId: this.memberId,
      sessionEpoch: s.epoch,
      maxWaitMs: this.#o.fetchMaxWaitMs,
      minBytes: 1,
      maxBytes: this.#o.fetchMaxBytes,
      maxRecords,
      batchSize: maxRecords,
      topics: [{ topicId: this.#topicId!, partitions }],
      forgotten: forgotten.length ? [{ topicId: this.#topicId!, partitions: forgotten }] : [],
    });
    s.epoch = nextEpoch(s.epoch);
    for (const p of forgotten) s.partitions.delete(p);
    for (const p of mine) s.partitions.add(p);
    if (r.acquisitionLockTimeoutMs > 0) this.#stats.lockTimeoutMs = r.acquisitionLockTimeoutMs;
    const out: ShareRecord[] = [];
    const ackCodes: number[] = [];
    for (const t of r.responses) {
      for (const p of t.partitions) {
        ackCodes.push(p.acknowledgeErrorCode);
        if (p.errorCode !== 0) {
          this.#o.warnEvery('SHARE_FETCH_FAILED', `share group "${this.#o.group}": partition ${p.partition}: ${p.errorMessage ?? `error ${p.errorCode}`}`);
          if (p.currentLeader.leaderId >= 0 && p.currentLeader.leaderId !== s.nodeId) {
            await this.#refreshMetadata().catch(() => {});
            this.#startSessions();
          }
          continue;
        }
        this.#collect(p.partition, p.records, p.acquired, out);
      }
    }
    this.#ackErrors(ackCodes);
    if (out.length) this.#o.records(out);
  }

  /** The acquired records of one partition; acquired offsets without a record (control records) are acknowledged as gaps. */
  #collect(partition: number, batches: ShareFetchResponse['responses'][number]['partitions'][number]['records'], acquired: { firstOffset: bigint; lastOffset: bigint; deliveryCount: number }[], out: ShareRecord[]): void {
    if (acquired.length === 0) return;
    const found = new Map<bigint, ShareRecord>();
    for (const b of batches) {
      const control = (b.attributes & IS_CONTROL) !== 0;
      for (const rec of b.records) {
        const offset = b.firstOffset + BigInt(rec.offsetDelta);
        if (control) continue;
        let headers: Map<string, string> | undefined;
        if (rec.headers.length) {
          headers = new Map();
          for (const [k, v] of rec.headers) if (k) headers.set(k.toString(), v?.toString() ?? '');
        }
        found.set(offset, {
          partition,
          offset,
          deliveryCount: 0,
          key: rec.key ? rec.key.toString() : undefined,
          value: rec.value ?? undefined,
          timestamp: b.firstTimestamp + rec.timestampDelta,
          headers,
        });
      }
    }
    for (const range of acquired) {
      for (let o = range.firstOffset; o <= range.lastOffset; o++) {
        const rec = found.get(o);
        if (rec) {
          out.push({ ...rec, deliveryCount: range.deliveryCount });
          this.#held.set(partition, (this.#held.get(partition) ?? 0) + 1);
        }
        else {
          this.#stats.gaps += 1;
          this.acknowledge(partition, o, AckType.GAP);
        }
      }
    }
  }
}

function nextEpoch(e: number): number {
  return e >= 0x7fffffff ? 1 : e + 1;
}

function findAny(err: unknown, ids: readonly string[]): boolean {
  return ids.some((id) => findKafkaErrorId(err, id));
}
