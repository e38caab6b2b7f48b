// One logger for a process: every line of `lagless run` (and of its supervisor) goes through it, as text for people or
// as JSON lines for log collectors (one object per line: time, level, msg, code, group, member and the event's fields,
// what Kubernetes log pipelines expect). Synchronous: the CLI ends with process.exit, and nothing may be lost.
import { describeThrown, isLaglessError } from '../errors/index.ts';

export const LogFormats = ['text', 'json'] as const;
export type LogFormat = (typeof LogFormats)[number];
/** `notice`: scale events, the banner and the final summary (kept by --quiet). */
export const LogLevels = ['debug', 'info', 'notice', 'warn', 'error'] as const;
export type LogLevel = (typeof LogLevels)[number];

export interface LoggerOptions {
  format: LogFormat;
  /** Lines below this level are dropped. Default info. */
  level?: LogLevel;
  /** Writes one line (with its newline). */
  write: (line: string) => void;
  /** Fields of every JSON line (group, member). */
  base?: Record<string, unknown>;
  now?: () => Date;
}

export type LogFields = Record<string, unknown> & { code?: string };

const rank = (l: LogLevel) => LogLevels.indexOf(l);
/** The time of a text line: HH:MM:SS (UTC). */
const clock = (d: Date) => d.toISOString().slice(11, 19);

/** JSON cannot hold a BigInt: sent as a string; anything else JSON refuses is described instead. */
function toJson(value: Record<string, unknown>): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  } catch (err) {
    return JSON.stringify({ time: value.time, level: value.level, msg: String(value.msg), logError: describeThrown(err) });
  }
}

export class Logger {
  readonly format: LogFormat;
  readonly level: LogLevel;
  readonly #o: LoggerOptions;

  constructor(o: LoggerOptions) {
    this.#o = o;
    this.format = o.format;
    this.level = o.level ?? 'info';
  }

  /** A logger with more fields on every JSON line (text lines are unchanged). */
  child(base: Record<string, unknown>): Logger {
    return new Logger({ ...this.#o, level: this.level, base: { ...this.#o.base, ...base } });
  }

  enabled(level: LogLevel): boolean {
    return rank(level) >= rank(this.level);
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }
  notice(msg: string, fields?: LogFields): void {
    this.log('notice', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  /** A `warning` event: text `warning: message [CODE]`, JSON level warn with the code. Never throws. */
  warning(w: unknown): void {
    const code = isLaglessError(w) ? w.code : undefined;
    this.log('warn', describeThrown(w), code ? { code } : undefined);
  }

  #now(): Date {
    return this.#o.now ? this.#o.now() : new Date();
  }

  log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    const now = this.#now();
    if (this.format === 'json') {
      this.#o.write(`${toJson({ time: now.toISOString(), level, msg, ...this.#o.base, ...fields })}\n`);
      return;
    }
    const prefix = level === 'warn' ? 'warning: ' : level === 'error' ? 'error: ' : '';
    const code = fields?.code && level === 'warn' ? ` [${fields.code}]` : '';
    this.#o.write(`${clock(now)} ${prefix}${msg}${code}\n`);
  }

  /**
   * A line a child process (a replica) logged with the same format: text gets a `[replica N]` prefix in place of its
   * time; a JSON line gets the fields (replica: N) added. A line that is not JSON in JSON mode is wrapped as a message.
   */
  relay(line: string, fields: Record<string, unknown>, label: string): void {
    if (this.format === 'text') {
      this.#o.write(`${clock(this.#now())} [${label}] ${line.replace(/^\d\d:\d\d:\d\d /, '')}\n`);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      parsed = undefined;
    }
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) this.#o.write(`${toJson({ ...(parsed as Record<string, unknown>), ...fields })}\n`);
    else this.log('info', line, fields);
  }
}
