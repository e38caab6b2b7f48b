// `npm run build` (and `npm install`, `npm pack` through "prepare"): compiles src/ to dist/ (JavaScript and type
// declarations) for the published package, from a clean dist/.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = fileURLToPath(new URL('../dist/', import.meta.url));
rmSync(dist, { recursive: true, force: true });
const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error('build failed: tsc -p tsconfig.build.json');
  process.exit(r.status ?? 1);
}
// The entry points the package needs at run time (the bin, the public API, worker threads, replicas).
for (const f of ['cli/main.js', 'index.js', 'index.d.ts', 'runtime/worker-entry.js', 'palette/worker.js']) {
  if (!existsSync(`${dist}${f}`)) {
    console.error(`build incomplete: dist/${f} is missing`);
    process.exit(1);
  }
}
process.stderr.write('built dist/\n');
