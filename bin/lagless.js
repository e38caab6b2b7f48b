#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=16
// The lagless binary. Plain JavaScript so that an older Node can still say what is wrong. Installed from the registry it
// runs the build (dist/); in a source checkout it runs the TypeScript sources (Node 24 strips the types), never a stale
// build. The flags keep a long-running process small: a 16 MB young generation instead of V8's larger default, and two
// malloc arenas (libvips allocates from many threads; glibc's default fragments).
import { existsSync } from 'node:fs';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `error: Lagless needs Node.js 24 or newer, and "node" here is ${process.version}.\n` +
      'Install Node 24 (nodejs.org, or nvm install 24), or add it to your project with "npm install --save-dev node@24": npx and npm scripts then use it.\n',
  );
  process.exit(1);
}
const sources = new URL('../src/cli/main.ts', import.meta.url);
const fromSources = existsSync(sources) && !sources.pathname.includes('/node_modules/');
await import(fromSources ? sources.href : new URL('../dist/cli/main.js', import.meta.url).href);
