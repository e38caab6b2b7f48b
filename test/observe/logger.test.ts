// The process logger: text lines as before (warnings with their code), JSON lines with time, level, msg, code and the
// base fields, levels, and lines relayed from replicas. No broker.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LaglessError, warning } from '../../src/errors/index.ts';
import { Logger, type LoggerOptions } from '../../src/observe/index.ts';

const at = new Date('2026-12-07T18:40:05.123Z');
function capture(o: Partial<LoggerOptions> = {}) {
  const lines: string[] = [];
  const logger = new Logger({ format: 'text', now: () => at, write: (l) => lines.push(l), ...o });
  return { logger, lines };
}

test('text: the time, then the message; a warning as "warning: message [CODE]"', () => {
  const { logger, lines } = capture();
  logger.info('assignment (generation 3): partitions [0,1]', { event: 'assignment', partitions: [0, 1] });
  logger.warning(warning('COMMIT_FAILED', 'commit failed (will retry)'));
  logger.warning(new Error('no code'));
  assert.deepEqual(lines, ['18:40:05 assignment (generation 3): partitions [0,1]\n', '18:40:05 warning: commit failed (will retry) [COMMIT_FAILED]\n', '18:40:05 warning: no code\n']);
  assert.doesNotThrow(() => logger.warning(Object.create(null)), 'anything thrown can be logged');
});

test('json: one object per line with time, level, msg, the code and the base and event fields; BigInts as strings', () => {
  const { logger, lines } = capture({ format: 'json', base: { group: 'g' } });
  const member = logger.child({ member: 'host-1' });
  member.info('status', { event: 'status', lag: 12n, partitions: [0, 1] });
  member.warning(new LaglessError('GROUP_JOIN_FAILED', 'joining the group failed (retrying)'));
  const [a, b] = lines.map((l) => {
    assert.ok(l.endsWith('\n') && !l.slice(0, -1).includes('\n'), 'one line');
    return JSON.parse(l) as Record<string, unknown>;
  });
  assert.deepEqual(a, { time: at.toISOString(), level: 'info', msg: 'status', group: 'g', member: 'host-1', event: 'status', lag: '12', partitions: [0, 1] });
  assert.deepEqual(b, { time: at.toISOString(), level: 'warn', msg: 'joining the group failed (retrying)', group: 'g', member: 'host-1', code: 'GROUP_JOIN_FAILED' });
});

test('levels: below the level nothing is written; --quiet is notice (warnings, scale events, the summary)', () => {
  const { logger, lines } = capture({ level: 'notice' });
  logger.debug('d');
  logger.info('status line');
  logger.notice('scaled up');
  logger.warning(new Error('w'));
  assert.deepEqual(lines.map((l) => l.slice(9)), ['scaled up\n', 'warning: w\n']);
  assert.equal(logger.enabled('info'), false);
});

test("relay: a replica's text line gets its label in place of its time; its JSON line gets the replica's field", () => {
  const text = capture();
  text.logger.relay('18:39:59 assignment (generation 1): partitions [0]', { replica: 2 }, 'replica 2');
  assert.deepEqual(text.lines, ['18:40:05 [replica 2] assignment (generation 1): partitions [0]\n']);
  const json = capture({ format: 'json' });
  json.logger.relay(JSON.stringify({ time: 't', level: 'info', msg: 'm', member: 'h-9' }), { replica: 2 }, 'replica 2');
  json.logger.relay('not json (a crash trace)', { replica: 2 }, 'replica 2');
  assert.deepEqual(JSON.parse(json.lines[0]!), { time: 't', level: 'info', msg: 'm', member: 'h-9', replica: 2 });
  assert.deepEqual(JSON.parse(json.lines[1]!), { time: at.toISOString(), level: 'info', msg: 'not json (a crash trace)', replica: 2 });
});

test('a field JSON cannot hold (a cycle) does not throw: the line says why', () => {
  const { logger, lines } = capture({ format: 'json' });
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  assert.doesNotThrow(() => logger.info('x', { cycle }));
  assert.equal((JSON.parse(lines[0]!) as { msg: string }).msg, 'x');
});
