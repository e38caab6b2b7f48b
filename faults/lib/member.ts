// A `lagless run` member process of the fault runner, in its slot's network namespace: start, kill -9, graceful stop, kill orders, and what it printed (assignments, kills).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, statSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KILL_LINE, type KillOrder } from './inject.ts';
import type { MemberSlot } from './topology.ts';

const CLI_MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const INJECT = fileURLToPath(new URL('./inject.ts', import.meta.url));

export interface Assignment {
  /** Date.now() when the runner read the line. */
  at: number;
  partitions: number[];
}

export interface MemberExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

/** One process; a restart is a new Member in the same slot. */
export class Member {
  readonly name: string;
  readonly slot: MemberSlot;
  readonly #child: ChildProcess;
  readonly #control: string;
  readonly #acks: string;
  readonly #log: WriteStream;
  readonly exited: Promise<MemberExit>;
  readonly assignments: Assignment[] = [];
  /** Lines the member printed just before killing itself (see inject.ts). */
  readonly selfKills: string[] = [];
  readonly startedAt = Date.now();
  /** Set when the runner meant to end this process (kill or stop): any other exit is a crash. */
  expectedExit = false;
  /** exactly-once: the transactional id the member printed at start. */
  transactionalId: string | undefined;
  #tail = '';
  #lastLines: string[] = [];

  /**
   * `args` follow `lagless run` (job name first). Output goes to <workDir>/<name>.log, acknowledgements of its
   * produce requests to <workDir>/<name>.acks.jsonl. The process runs in
   * that slot's namespace (`ip netns exec` execs, so the pid is the member's own).
   */
  constructor(o: { name: string; slot: MemberSlot; args: string[]; workDir: string; env?: NodeJS.ProcessEnv }) {
    this.name = o.name;
    this.slot = o.slot;
    this.#control = join(o.workDir, `${o.name}.order.json`);
    this.#acks = join(o.workDir, `${o.name}.acks.jsonl`);
    this.#log = createWriteStream(join(o.workDir, `${o.name}.log`), { flags: 'a' });
    const node = [process.execPath, '--conditions=lagless-source', '--import', INJECT, CLI_MAIN, 'run', ...o.args];
    this.#child = spawn('ip', ['netns', 'exec', o.slot.ns, ...node], {
      env: { ...process.env, ...o.env, LAGLESS_FAULT_CONTROL: this.#control, LAGLESS_FAULT_ACKS: this.#acks },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child.stdout!.on('data', (d: Buffer) => this.#log.write(d));
    this.#child.stderr!.on('data', (d: Buffer) => this.#onOutput(d.toString()));
    this.exited = new Promise((resolve) => {
      this.#child.once('close', (code, signal) => {
        this.#log.end(`# exited: code ${code}, signal ${signal}\n`);
        resolve({ code, signal, at: Date.now() });
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** When the member last had a produce request acknowledged (ms; 0 if never). */
  lastAckAt(): number {
    try {
      return statSync(this.#acks).mtimeMs;
    } catch {
      return 0;
    }
  }

  /** The last lines of output (for error messages). */
  lastLines(n = 20): string {
    return this.#lastLines.slice(-n).join('\n');
  }

  #onOutput(text: string): void {
    this.#log.write(text);
    const at = Date.now();
    const lines = (this.#tail + text).split('\n');
    this.#tail = lines.pop() ?? '';
    for (const line of lines) {
      this.#lastLines.push(line);
      if (this.#lastLines.length > 200) this.#lastLines.splice(0, 100);
      const m = /assignment \(generation -?\d+\): partitions \[([\d,]*)\]/.exec(line);
      if (m) this.assignments.push({ at, partitions: m[1] ? m[1].split(',').map(Number) : [] });
      if (line.includes(KILL_LINE)) this.selfKills.push(line.slice(line.indexOf(KILL_LINE)));
      const txn = /exactly-once: transactional id (\S+),/.exec(line);
      if (txn) this.transactionalId = txn[1];
    }
  }

  /** The partitions of its last assignment. */
  get partitions(): number[] {
    return this.assignments.at(-1)?.partitions ?? [];
  }

  /** kill -9, and wait until it is gone. */
  async kill(): Promise<MemberExit> {
    this.expectedExit = true;
    if (this.running) this.#child.kill('SIGKILL');
    return this.exited;
  }

  /** SIGTERM (a graceful stop: drain, commit, leave the group); kill -9 after `timeoutMs`. */
  async stop(timeoutMs = 90_000): Promise<MemberExit & { timedOut: boolean }> {
    this.expectedExit = true;
    if (!this.running) return { ...(await this.exited), timedOut: false };
    this.#child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) this.#child.kill('SIGKILL');
    return { ...(await this.exited), timedOut };
  }

  /** Orders the process to kill -9 itself at its next commit, JoinGroup or SyncGroup (see inject.ts). */
  order(o: KillOrder): void {
    this.expectedExit = true;
    writeFileSync(this.#control, JSON.stringify(o));
    this.#child.kill('SIGUSR2');
  }
}
