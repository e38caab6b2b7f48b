// Progress for long-running commands: a refreshing line on a terminal, a plain line every few seconds otherwise (logs, pipes).
import type { Writable } from 'node:stream';

export interface ProgressOptions {
  /** Refresh period on a terminal, ms. Default 1000. */
  ttyIntervalMs?: number;
  /** Period of plain lines when stderr is not a terminal, ms. Default 5000. */
  plainIntervalMs?: number;
  /** Print nothing periodic (warnings still go through `log`). */
  quiet?: boolean;
}

export interface Progress {
  /** Prints a message on its own line without garbling the refreshing line. */
  log(message: string): void;
  /** Stops the timer and clears the refreshing line. Safe to call twice. */
  stop(): void;
}

/** Calls `render()` periodically and writes its text to `out` (stderr). */
export function startProgress(out: Writable & { isTTY?: boolean }, render: () => string, options: ProgressOptions = {}): Progress {
  const tty = out.isTTY === true;
  const interval = tty ? (options.ttyIntervalMs ?? 1000) : (options.plainIntervalMs ?? 5000);
  let shown = false;
  const clear = () => {
    if (tty && shown) out.write('\r\x1b[K');
    shown = false;
  };
  const timer = options.quiet
    ? undefined
    : setInterval(() => {
        const text = render();
        if (tty) {
          out.write('\r\x1b[K' + text);
          shown = true;
        } else {
          out.write(text + '\n');
        }
      }, interval);
  timer?.unref();
  let stopped = false;
  return {
    log(message) {
      clear();
      out.write(message.endsWith('\n') ? message : message + '\n');
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearInterval(timer);
      clear();
    },
  };
}

/** 12345 -> "12,345"; rates with one decimal below 100. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '∞/s';
  return perSecond < 100 ? `${perSecond.toFixed(1)}/s` : `${formatCount(perSecond)}/s`;
}
