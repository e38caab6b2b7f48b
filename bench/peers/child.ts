// What every contender's child process shares: its arguments, and staying up until the parent's SIGTERM.
import { parseArgs } from 'node:util';

export interface ChildArgs {
  brokers: string[];
  from: string;
  to: string;
  group: string;
  /** Records in the backlog (the bare loop stops consuming once it has them all). */
  records: number;
}

export function childArgs(): ChildArgs {
  const { values: a } = parseArgs({
    options: { brokers: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, group: { type: 'string' }, records: { type: 'string' } },
  });
  if (!a.brokers || !a.from || !a.to || !a.group || !a.records) throw new Error('usage: --brokers host:port --from TOPIC --to TOPIC --group GROUP --records N');
  return { brokers: a.brokers.split(','), from: a.from, to: a.to, group: a.group, records: Number(a.records) };
}

/**
 * Runs the contender's loop, then waits for SIGTERM (the parent measures from outside, reads the peak RSS, then stops
 * every contender the same way): `close` is called once on SIGTERM, and any failure of the loop exits with code 1.
 */
export function runChild(loop: Promise<unknown>, close: () => Promise<void>): void {
  const keepAlive = setInterval(() => {}, 60_000);
  let closing = false;
  process.on('SIGTERM', () => {
    if (closing) return;
    closing = true;
    void close()
      .catch(() => {})
      .finally(() => {
        clearInterval(keepAlive);
        process.exit(0);
      });
  });
  loop.catch((err: unknown) => {
    if (closing) return;
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
