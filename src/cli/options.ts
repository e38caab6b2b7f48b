// Parsers for CLI option values: each failure names the option's value and what is expected (commander adds the option name).
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseDuration } from '../common/index.ts';

/** An integer parser bounded to [min, max]. */
export function intArg(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string) => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected an integer, got "${value}".`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}, got ${n}.`);
    return n;
  };
}

/** A positive number parser (decimals allowed). */
export function numberArg(min: number, max = Number.MAX_VALUE): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got "${value}".`);
    if (n < min || n > max) throw new InvalidArgumentError(`expected a number from ${min} to ${max}, got ${n}.`);
    return n;
  };
}

/** A duration parser ("500ms", "10s", "2m"); returns milliseconds. */
export function durationArg(value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message + '.');
  }
}

/** Adds the standard --brokers option. Read it with resolveBrokers(opts.brokers, env). */
export function addBrokersOption(cmd: Command): Command {
  return cmd.addOption(
    new Option('--brokers <host:port,...>', 'Kafka bootstrap servers (default: $KAFKA_BROKERS or 127.0.0.1:9092)'),
  );
}
