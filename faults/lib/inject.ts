// Preloaded (node --import) into member processes by the fault runner, through the Kafka client's diagnostics channels: logs when each produced record is acknowledged ($LAGLESS_FAULT_ACKS), and on SIGUSR2 reads an order from $LAGLESS_FAULT_CONTROL to kill -9 its own process at the next commit (OffsetCommit, or a transaction's EndTxn) or group join/sync.
import { tracingChannel } from 'node:diagnostics_channel';
import { openSync, readFileSync, writeSync } from 'node:fs';

/** The order the runner writes before sending SIGUSR2. */
export interface KillOrder {
  /**
   * commit: after an OffsetCommit request starts (at-least-once), or after the EndTxn that commits a transaction starts
   * (exactly-once: the offsets go through the transaction, TxnOffsetCommit, and become the group's at EndTxn); join /
   * sync: after a JoinGroup / SyncGroup request starts (mid-rebalance of a classic group); assignment: after a
   * ConsumerGroupHeartbeat answer that carries a new assignment arrives (mid-rebalance of a KIP-848 group: the member
   * has it, and has neither released what it lost nor acknowledged it).
   */
  at: 'commit' | 'join' | 'sync' | 'assignment';
  /** Delay after the request starts, ms (0: right after the request is handed to the connection). */
  delayMs: number;
}

/** The line the member prints just before it dies; the runner parses it. */
export const KILL_LINE = 'fault-inject: SIGKILL';

/** One JSON line per acknowledged produce request of the member: when (Date.now()), which topic and keys. */
export interface AckLine {
  t: number;
  topic: string;
  keys: (string | null)[];
}

const acks = process.env.LAGLESS_FAULT_ACKS;
if (acks) {
  const fd = openSync(acks, 'a');
  const noop = () => {};
  tracingChannel('plt:kafka:producer:sends').subscribe({
    start: noop,
    end: noop,
    asyncStart: (context) => {
      const c = context as { error?: unknown; options?: { messages?: { topic: string; key?: unknown }[] } };
      if (c.error || !c.options?.messages?.length) return;
      const t = Date.now();
      const byTopic = new Map<string, (string | null)[]>();
      for (const m of c.options.messages) {
        const list = byTopic.get(m.topic) ?? [];
        list.push(typeof m.key === 'string' ? m.key : null);
        byTopic.set(m.topic, list);
      }
      // Synchronous: a kill -9 right after the acknowledgement still leaves the line in the file.
      for (const [topic, keys] of byTopic) writeSync(fd, JSON.stringify({ t, topic, keys } satisfies AckLine) + '\n');
    },
    asyncEnd: noop,
    error: noop,
  });
}

const control = process.env.LAGLESS_FAULT_CONTROL;
let order: KillOrder | undefined;

if (control) {
  process.on('SIGUSR2', () => {
    try {
      order = JSON.parse(readFileSync(control, 'utf8')) as KillOrder;
    } catch (err) {
      writeSync(2, `fault-inject: cannot read ${control}: ${(err as Error).message}\n`);
    }
  });

  const arm = (at: KillOrder['at'], what: string, context: object) => {
    if (!order || order.at !== at) return;
    const { delayMs } = order;
    order = undefined;
    // The request's callback has run (the broker answered) when asyncStart fired for this context.
    let answered = false;
    answers.set(context, () => (answered = true));
    const die = () => {
      writeSync(2, `${KILL_LINE} during ${what} (${answered ? 'answered' : 'unanswered'}) ${delayMs}ms after it started\n`);
      process.kill(process.pid, 'SIGKILL');
    };
    if (delayMs <= 0) setImmediate(die);
    else setTimeout(die, delayMs);
  };
  const answers = new WeakMap<object, () => void>();
  const answered = (context: object) => answers.get(context)?.();
  const noop = () => {};

  tracingChannel('plt:kafka:consumer:commits').subscribe({
    start: (context) => arm('commit', 'a commit', context as object),
    end: noop,
    asyncStart: (context) => answered(context as object),
    asyncEnd: noop,
    error: (context) => answered(context as object),
  });
  // Exactly-once: the transactional producer commits offsets and outputs together; the kill lands in its EndTxn(commit).
  tracingChannel('plt:kafka:producer:transactions').subscribe({
    start: (context) => {
      if ((context as { operation?: string }).operation === 'commit') arm('commit', 'a commit (EndTxn of a transaction)', context as object);
    },
    end: noop,
    asyncStart: (context) => answered(context as object),
    asyncEnd: noop,
    error: (context) => answered(context as object),
  });
  // KIP-848: a rebalance reaches a member as a ConsumerGroupHeartbeat answer (API key 68) with an assignment in it.
  tracingChannel('plt:kafka:connections:api').subscribe({
    start: noop,
    end: noop,
    asyncStart: (context) => {
      const c = context as { apiKey?: number; result?: { assignment?: unknown } };
      if (c.apiKey === 68 && c.result?.assignment) {
        arm('assignment', 'a rebalance (ConsumerGroupHeartbeat answer with a new assignment)', context as object);
        answered(context as object);
      }
    },
    asyncEnd: noop,
    error: noop,
  });
  tracingChannel('plt:kafka:consumer:group').subscribe({
    start: (context) => {
      const op = (context as { operation?: string }).operation;
      if (op === 'joinGroup') arm('join', 'a rebalance (JoinGroup)', context as object);
      else if (op === 'syncGroup') arm('sync', 'a rebalance (SyncGroup)', context as object);
    },
    end: noop,
    asyncStart: (context) => answered(context as object),
    asyncEnd: noop,
    error: (context) => answered(context as object),
  });
}
