// The code in the README and the docs pages, for the tests that check it against the code: the shell command lines,
// and the TypeScript samples (written out as files, to be type-checked and, for jobs, run).
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export const ROOT = new URL('../../', import.meta.url).pathname.replace(/\/$/, '');

/** Pages generated from declarations (their ```ts blocks are excerpts of src, not samples). */
const GENERATED = new Set(['docs/api.md', 'docs/cli.md']);

/** README.md and every page of docs/ (not the site's build output), from the repository root. The changelog is history: its commands ran on earlier code. */
export function docPages(): string[] {
  const out = ['README.md'];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(ROOT, dir)).sort()) {
      if (name.startsWith('.')) continue; // docs/.vitepress: the config, the cache and the build
      const path = `${dir}/${name}`;
      if (statSync(join(ROOT, path)).isDirectory()) walk(path);
      else if (name.endsWith('.md')) out.push(path);
    }
  };
  walk('docs');
  return out;
}

export const readPage = (page: string) => readFileSync(join(ROOT, page), 'utf8');

/** The lines of the ```sh blocks of a page, without a leading "$ ". */
export function shellLines(page: string): string[] {
  return [...readPage(page).matchAll(/```(?:sh|bash|shell)\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n')).map((l) => l.replace(/^\$ /, '').trim()).filter(Boolean);
}

/** How a job sample is run by test/docs/snippet-jobs.test.ts: records in, and what must come out. */
export interface JobTest {
  /** The sample's file name (other samples of the page are written next to it: a worker module, say). */
  file: string;
  in: { key: string; value: string }[];
  /** The records expected on --to, in any order. */
  out: { key: string; value: string }[];
  /** Other output topics: an environment variable the job reads its name from -> the records expected there. */
  extra?: Record<string, { key: string; value: string }[]>;
  /** The dead letters expected, by input key and code. */
  dlq?: { key: string; code: string }[];
}

export interface Snippet {
  page: string;
  /** Line of the opening ``` in the page, 1-based. */
  line: number;
  file: string;
  code: string;
  /** Whether it is a job (it calls defineJob). */
  job: boolean;
  jobTest: JobTest | undefined;
}

/**
 * The ```ts samples of the pages that are modules (they import or export something; an excerpt of declarations is
 * not). Each gets a file name: its job-test's, a first-line comment naming a `.ts` file, or snippet-N.ts.
 */
export function tsSnippets(pages = docPages()): Snippet[] {
  const out: Snippet[] = [];
  for (const page of pages) {
    if (GENERATED.has(page)) continue;
    const text = readPage(page);
    let n = 0;
    for (const m of text.matchAll(/(<!-- job-test (\{.*\}) -->\n)?```(?:ts|typescript)\n([\s\S]*?)```/g)) {
      const code = m[3]!;
      if (!/^\s*(?:import|export)\s/m.test(code)) continue;
      n++;
      const line = text.slice(0, m.index! + (m[1]?.length ?? 0)).split('\n').length;
      let jobTest: JobTest | undefined;
      if (m[2]) {
        try {
          jobTest = JSON.parse(m[2]) as JobTest;
        } catch (err) {
          assert.fail(`${page}:${line}: the job-test comment is not JSON: ${(err as Error).message}`);
        }
      }
      const named = /^\/\/ ([\w.-]+\.ts)\b/.exec(code)?.[1];
      out.push({ page, line, file: jobTest?.file ?? named ?? `snippet-${n}.ts`, code, job: /\bdefineJob\s*\(/.test(code), jobTest });
    }
  }
  return out;
}

/** A directory name for a page's samples: docs/how-to/write-a-job.md -> docs_how-to_write-a-job. */
export const pageDir = (page: string) => page.replace(/\.md$/, '').replace(/[/\\]/g, '_');

/**
 * Writes every sample under `dir` (one folder per page), with a tsconfig that type-checks them as the project's own
 * code: `lagless` resolves to the sources (the package's self-reference and the lagless-source condition). `dir`
 * must be inside the repository, so that the self-reference resolves.
 */
export function writeSnippets(dir: string, snippets: Snippet[]): Map<Snippet, string> {
  const where = new Map<Snippet, string>();
  for (const s of snippets) {
    const folder = join(dir, pageDir(s.page));
    mkdirSync(folder, { recursive: true });
    const path = join(folder, s.file);
    // A sample of the repository's own code imports from the root (`./src/...`, `./test/...`): keep it pointing there.
    const up = relative(folder, ROOT);
    writeFileSync(path, s.code.replace(/(from\s+['"])\.\/(src|test|bench|scripts)\//g, `$1${up}/$2/`));
    where.set(s, path);
  }
  const up = relative(dir, ROOT) || '.';
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: `${up}/tsconfig.json`, include: ['**/*.ts'] }, null, 2));
  return where;
}
