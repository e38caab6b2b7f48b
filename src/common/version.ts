// The version of Lagless, read from its package.json (two levels up from here in the sources and in the build).
import { readFileSync } from 'node:fs';

export const LAGLESS_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
