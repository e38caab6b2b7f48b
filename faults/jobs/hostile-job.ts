// The fault runner's hostile job (scenario hostile-job): records name a way to misbehave; ok records are copied through
// the worker pool. Every record must still end as an output or a dead letter with the code its kind calls for.
import { defineJob } from 'lagless';

/** Values a careless job throws, in turn. */
const ODD: (() => unknown)[] = [
  () => Object.create(null),
  () => ({ toString: () => { throw new Error('no'); } }),
  () => undefined,
  () => Symbol('odd'),
  () => new Proxy({}, { get: () => { throw new Error('get'); }, getPrototypeOf: () => { throw new Error('proto'); }, ownKeys: () => { throw new Error('keys'); } }),
  () => 42n,
];

export default defineJob({
  name: 'hostile',
  worker: new URL('./hostile-worker.ts', import.meta.url),
  async run(record, ctx) {
    const { id, kind, n } = record.json<{ id: string; kind: string; n: number }>();
    switch (kind) {
      case 'throw':
        throw ODD[n % ODD.length]!();
      case 'reject':
        return Promise.reject(ODD[n % ODD.length]!());
      case 'hang':
        // Never settles: the per-record deadline ends it (RECORD_TIMEOUT).
        return new Promise(() => {});
      case 'big':
        // Twice the output topic's max.message.bytes (OUTPUT_TOO_LARGE).
        return { value: JSON.stringify({ id, pad: 'x'.repeat(2 * 64 * 1024) }) };
      case 'crash':
      case 'spin':
      default:
        return { value: JSON.stringify(await ctx.worker.run<{ id: string }>({ id, kind })) };
    }
  },
  deadLetterFields: (record) => ({ id: record.json<{ id: string }>().id, leak: 10n }),
});
