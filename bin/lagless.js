#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=16
// The lagless binary. Plain JavaScript so that an older Node can still say what is wrong; the CLI itself is TypeScript,
// run by Node 24's type stripping. The flags keep a long-running process small: a 16 MB young generation instead of
// V8's larger default, and two malloc arenas (libvips allocates from many threads; glibc's default fragments).
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `error: Lagless needs Node.js 24 or newer, and "node" here is ${process.version}.\n` +
      'Run it through npm in the project (npx lagless ..., npm run ...): "npm install" put Node 24 in node_modules/.bin.\n',
  );
  process.exit(1);
}
await import('../src/cli/main.ts');
