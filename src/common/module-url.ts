// URLs of sibling modules that work both from the TypeScript sources (src/*.ts) and from the build (dist/*.js).
import { fileURLToPath } from 'node:url';

/**
 * The URL of module `relative` (written without extension, e.g. './worker') next to the module at `base`
 * (`import.meta.url`), with the extension of `base`: `.ts` when Lagless runs from its sources, `.js` in the package.
 */
export function moduleUrl(relative: string, base: string): URL {
  const ext = /\.(m?[jt]s)$/.exec(new URL(base).pathname)?.[1] ?? 'js';
  return new URL(`${relative}.${ext}`, base);
}

/** The file path of moduleUrl(relative, base). */
export function modulePath(relative: string, base: string): string {
  return fileURLToPath(moduleUrl(relative, base));
}
