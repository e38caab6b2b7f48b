// A SIGTERM that arrives while `lagless run` is still loading its modules (seconds on a busy machine) is a graceful stop, exit 0, in both delivery guarantees: it once killed the process (the fault runner saw an exactly-once member stopped right after its start die by SIGTERM).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { exitedReason, startCli, waitCli } from '../helpers/cli.ts';
import { eventually } from '../helpers/eventually.ts';
import { createTopic, testBrokers, uniqueName } from '../helpers/kafka.ts';

const HOLD = fileURLToPath(new URL('../helpers/hold-program-load.ts', import.meta.url));

for (const guarantee of ['exactly-once', 'at-least-once'] as const) {
  test(`lagless run --guarantee ${guarantee}: SIGTERM while its modules load exits 0 without joining the group`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'lagless-stop-starting-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const [marker, release] = [join(dir, 'loading'), join(dir, 'release')];
    const from = await createTopic(t, uniqueName('stop-starting-in'), 2);
    const to = await createTopic(t, uniqueName('stop-starting-out'), 2);
    const dlq = await createTopic(t, uniqueName('stop-starting-dlq'), 2);
    const child = startCli(
      ['run', 'noop', '--brokers', testBrokers().join(','), '--from', from, '--to', to, '--dlq', dlq, '--group', uniqueName('stop-starting'), '--guarantee', guarantee],
      { env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${HOLD}`.trim(), LAGLESS_TEST_HOLD_MARKER: marker, LAGLESS_TEST_HOLD_RELEASE: release } },
    );
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    // The state: the entry point is loading the CLI's commands (held there until the release).
    await eventually(() => existsSync(marker), { what: 'the process to load src/cli/program.ts', timeout: 60_000, every: 20, failIf: exitedReason(child) });
    child.kill('SIGTERM');
    writeFileSync(release, '');
    const r = await waitCli(child, 60_000);
    assert.deepEqual({ code: r.code, signal: r.signal }, { code: 0, signal: null }, `exit 0, not a death by signal\n${r.stderr}`);
    assert.match(r.stderr, /stopped before joining the group/, r.stderr);
  });
}
