// What the release of a partition does with each of its records, and what an assignment change does with each
// partition: decided from their state alone (no client, no timers), so both are tested without a broker.

/** A record of the partition being released, as the plan sees it. */
export interface ReleaseCandidate {
  readonly offset: bigint;
  /** Its output or dead letter went to the broker: it finishes whatever happens to its partition. */
  readonly sending: boolean;
}

export interface ReleasePlan<R> {
  /**
   * The highest offset that must finish before the commit: the partition's highest finished record, or a higher one
   * whose output is on its way. Undefined: nothing finished, nothing on its way.
   */
  readonly mustFinishThrough: bigint | undefined;
  /** Running records the release waits for (at or below mustFinishThrough, or sending). */
  readonly waitFor: R[];
  /** Running records left to the next owner: above mustFinishThrough, nothing produced yet. They end without output. */
  readonly handOver: R[];
}

/**
 * Steps 2–3 of a release. Everything at or below the highest finished offset must finish (the commit cannot pass an
 * unfinished record, and the next owner would redo what finished above it); a record above it that has produced
 * nothing yet is left to the next owner, so the release does not wait for work that the commit would not cover.
 */
export function planRelease<R extends ReleaseCandidate>(running: Iterable<R>, highestDone: bigint | undefined): ReleasePlan<R> {
  const records = [...running];
  let hi = highestDone;
  for (const r of records) if (r.sending && (hi === undefined || r.offset > hi)) hi = r.offset;
  const waitFor: R[] = [];
  const handOver: R[] = [];
  for (const r of records) (r.sending || mustFinish(hi, r.offset) ? waitFor : handOver).push(r);
  return { mustFinishThrough: hi, waitFor, handOver };
}

/** Whether a record at `offset` must finish before a release with this bound commits (for records not yet started too). */
export function mustFinish(mustFinishThrough: bigint | undefined, offset: bigint): boolean {
  return mustFinishThrough !== undefined && offset <= mustFinishThrough;
}

export interface AssignmentChange {
  /** Held here, no longer in the assignment: to release (or drop). */
  readonly revoked: number[];
  /** In the assignment, not held here: to start. */
  readonly added: number[];
  /** Added while its release still runs: cannot be resumed (the stream moved past records the release dropped). */
  readonly returnedDuringRelease: number[];
}

/** The difference between the partitions this member holds and the client's assignment, in ascending order. */
export function diffAssignment(held: ReadonlySet<number>, next: ReadonlySet<number>, releasing: { has(p: number): boolean }): AssignmentChange {
  const asc = (a: number, b: number) => a - b;
  const revoked = [...held].filter((p) => !next.has(p)).sort(asc);
  const added = [...next].filter((p) => !held.has(p)).sort(asc);
  return { revoked, added, returnedDuringRelease: added.filter((p) => releasing.has(p)) };
}
