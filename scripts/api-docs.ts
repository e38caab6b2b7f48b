// Generates docs/api.md, the reference of the public API (what `import ... from 'lagless'` gives), from the TypeScript
// declarations themselves, so that it cannot drift from the code.
// Usage: node scripts/api-docs.ts            (rewrites docs/api.md)
//        node scripts/api-docs.ts --check    (exit 1 if docs/api.md is out of date; the test suite does this)
import { readFileSync, writeFileSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const target = new URL('docs/api.md', root);
const source = (path: string) => readFileSync(new URL(path, root), 'utf8');

/** The names `src/index.ts` exports (values and types). */
export function publicExports(): string[] {
  const text = source('src/index.ts');
  const names = new Set<string>();
  for (const m of text.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const part of m[1]!.split(',')) {
      const name = part.replace(/\btype\b/, '').trim().split(/\s+as\s+/).at(-1)!.trim();
      if (name) names.add(name);
    }
  }
  for (const m of text.matchAll(/export\s+(?:async\s+)?(?:function|const|class|interface|type)\s+(\w+)/g)) names.add(m[1]!);
  return [...names];
}

/** The TSDoc comment right above `index` in `text` (with its indentation), or ''. */
function docAbove(text: string, index: number): string {
  const before = text.slice(0, index);
  const m = /(\/\*\*(?:(?!\*\/)[\s\S])*\*\/\s*)$/.exec(before);
  return m ? m[1]!.replace(/\s+$/, '\n') : '';
}

/** The end of the block that opens at the first `{` at or after `from` (matching braces). */
function blockEnd(text: string, from: number): number {
  let depth = 0;
  for (let i = text.indexOf('{', from); i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return i + 1;
  }
  throw new Error(`unbalanced braces after offset ${from}`);
}

/** The end of the statement that starts at `from`: its first `;` outside braces, brackets and parentheses. */
function statementEnd(text: string, from: number): number {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '(' || c === '[') depth++;
    else if (c === '}' || c === ')' || c === ']') depth--;
    else if (c === ';' && depth === 0) return i + 1;
  }
  throw new Error(`no end of statement after offset ${from}`);
}

/** A declaration as written (with its TSDoc): interfaces and type aliases whole, functions and classes as signatures. */
export function declaration(path: string, name: string): string {
  const text = source(path);
  const m = new RegExp(`^export (?:async )?(interface|type|function|class) ${name}\\b`, 'm').exec(text);
  if (!m) throw new Error(`${path}: no exported declaration of ${name}`);
  const doc = docAbove(text, m.index);
  const kind = m[1]!;
  let body: string;
  if (kind === 'interface') body = text.slice(m.index, blockEnd(text, m.index));
  else if (kind === 'type') body = text.slice(m.index, statementEnd(text, m.index));
  else if (kind === 'function') body = `${text.slice(m.index, text.indexOf(' {\n', m.index)).replace(/^export async /, 'export ')};`;
  else {
    // A class: its heading and its constructor's signature.
    const head = text.slice(m.index, text.indexOf('{', m.index)).trim();
    const ctor = /\n\s*constructor\(([^)]*)\)/.exec(text.slice(m.index, blockEnd(text, m.index)));
    // A parameter with a default is an optional one in the signature.
    const params = (ctor?.[1] ?? '').replace(/(\w+): ([^=,]+?) = [^,]+/g, '$1?: $2');
    body = `${head} {\n  constructor(${params});\n}`;
  }
  return `${doc}${body}`.replace(/^export /m, '');
}

const SECTIONS: { title: string; intro: string; items: [string, string][] }[] = [
  {
    title: 'Defining a job',
    intro: 'A job module default-exports `defineJob({...})`. `lagless run ./my-job.ts` loads it; `createTransformer` runs it in your own process.',
    items: [
      ['src/job/define.ts', 'defineJob'],
      ['src/job/types.ts', 'JobDefinition'],
      ['src/job/types.ts', 'SetupContext'],
    ],
  },
  {
    title: 'Records in, outputs out',
    intro: '`run(record, ctx)` gets one record and returns its outputs: one, several (fan-out, to `--to` or a declared topic), or none (filter).',
    items: [
      ['src/job/types.ts', 'JobRecord'],
      ['src/job/types.ts', 'RecordHeaders'],
      ['src/job/types.ts', 'JobContext'],
      ['src/job/types.ts', 'JobOutput'],
      ['src/job/types.ts', 'JobResult'],
    ],
  },
  {
    title: 'CPU work on the worker pool',
    intro: "A job names a worker module; the runtime runs its default export on worker threads it owns and scales (`--min-workers`, `--max-workers`).",
    items: [
      ['src/job/types.ts', 'WorkerRunner'],
      ['src/job/types.ts', 'WorkerRunOptions'],
      ['src/job/types.ts', 'WorkerFunction'],
    ],
  },
  {
    title: 'Outputs on the dashboard',
    intro: "A job's `preview(output)` says how the dashboard shows its latest outputs; without one, an output shows as its key and short values.",
    items: [
      ['src/job/types.ts', 'OutputView'],
      ['src/job/types.ts', 'OutputPreview'],
    ],
  },
  {
    title: 'Failing a record',
    intro:
      'Throw a `JobError` with a stable code of your own: retried with backoff when `retryable`, then written to the dead-letter topic with that code. ' +
      'Any other exception is `JOB_FAILED`; a value that is not JSON read with `record.json()` is `INVALID_MESSAGE`; a bad output is `INVALID_OUTPUT`.',
    items: [
      ['src/errors/index.ts', 'JobError'],
      ['src/errors/index.ts', 'JobErrorOptions'],
      ['src/errors/index.ts', 'UsageError'],
      ['src/errors/index.ts', 'errorFactory'],
      ['src/errors/index.ts', 'ErrorCodeTable'],
      ['src/errors/index.ts', 'isLaglessError'],
    ],
  },
  {
    title: 'Embedding the runtime',
    intro: 'The programmatic form of `lagless run`, with the same options, for a service that runs a job in its own process.',
    items: [
      ['src/index.ts', 'createTransformer'],
      ['src/process/job-runner.ts', 'RunOptions'],
      ['src/process/job-runner.ts', 'JobTransformer'],
      ['src/process/job-runner.ts', 'JobTransformerEvents'],
    ],
  },
];

export function renderApiDocs(): string {
  const documented = SECTIONS.flatMap((s) => s.items.map(([, name]) => name));
  const parts = [
    '# API reference',
    '',
    'Generated from the declarations in `src/` by `node scripts/api-docs.ts`; a test fails when it is out of date.',
    'Everything here comes from the package root:',
    '',
    '```ts',
    `import { ${publicExports().join(', ')} } from 'lagless';`,
    '```',
    '',
    `Types not shown in full here (the runtime's statistics) are in the package's declarations: ${publicExports()
      .filter((n) => !documented.includes(n) && !['LaglessError', 'LaglessErrorOptions'].includes(n))
      .map((n) => `\`${n}\``)
      .join(', ')}.`,
    '',
  ];
  for (const s of SECTIONS) {
    parts.push(`## ${s.title}`, '', s.intro, '', '```ts', s.items.map(([path, name]) => declaration(path, name)).join('\n\n'), '```', '');
  }
  return parts.join('\n');
}

if (import.meta.main) {
  const text = renderApiDocs();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(target, 'utf8');
    } catch {
      // Missing: out of date.
    }
    if (current !== text) {
      console.error('docs/api.md is out of date: run "node scripts/api-docs.ts"');
      process.exit(1);
    }
  } else {
    writeFileSync(target, text);
    console.log(`wrote ${target.pathname}`);
  }
}
