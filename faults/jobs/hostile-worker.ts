// The hostile job's worker module: exits its thread (WORKER_CRASHED), loops forever (RECORD_TIMEOUT), or echoes the id.
export default function work(task: { id: string; kind: string }): { id: string } {
  if (task.kind === 'crash') process.exit(7);
  if (task.kind === 'spin') for (;;) {
    // stuck: only the deadline, which terminates the thread, ends it
  }
  return { id: task.id };
}
