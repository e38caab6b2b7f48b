// A preload (NODE_OPTIONS=--import) for tests of a stop during the start: the load of src/cli/program.ts (the CLI's commands) waits until the file $LAGLESS_TEST_HOLD_RELEASE exists, after creating $LAGLESS_TEST_HOLD_MARKER, so a test can signal the process while its modules load.
import { existsSync, writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const marker = process.env.LAGLESS_TEST_HOLD_MARKER;
const release = process.env.LAGLESS_TEST_HOLD_RELEASE;
if (!marker || !release) throw new Error('hold-program-load: set LAGLESS_TEST_HOLD_MARKER and LAGLESS_TEST_HOLD_RELEASE');
const cell = new Int32Array(new SharedArrayBuffer(4));

registerHooks({
  load(url, context, nextLoad) {
    if (url.endsWith('/src/cli/program.ts')) {
      writeFileSync(marker, String(process.pid));
      // Synchronous on purpose: the module graph is being loaded, nothing else of the CLI runs meanwhile.
      const deadline = Date.now() + 60_000;
      while (!existsSync(release) && Date.now() < deadline) Atomics.wait(cell, 0, 0, 20);
    }
    return nextLoad(url, context);
  },
});
