// Example: enrich records from an HTTP JSON API. Each {"id","userId"} record gets the user's profile; a 5xx or a
// connection failure is retried with backoff (honouring Retry-After), a 404 is a dead letter with a code of our own.
// I/O-bound: no worker module; the runtime scales how many calls are in flight with the load (--max-concurrency).
//
//   USERS_API=http://127.0.0.1:8081 lagless run examples/http-enrichment/job.ts --from signups --to signups.enriched
import { defineJob, JobError, UsageError } from 'lagless';

interface Signup {
  id: string;
  userId: string;
}

let api: URL;

export default defineJob({
  name: 'enrich-signups',

  setup() {
    const base = process.env.USERS_API;
    if (!base) throw new UsageError('set USERS_API to the users API, e.g. USERS_API=http://127.0.0.1:8081');
    api = new URL(base);
  },

  async run(record, ctx) {
    const signup = record.json<Signup>();
    if (typeof signup.userId !== 'string' || signup.userId === '') throw new JobError('NO_USER_ID', `signup ${signup.id} has no "userId"`);
    let res: Response;
    try {
      // ctx.signal: the call stops if the partition moves to another member or the process shuts down.
      res = await fetch(new URL(`/users/${encodeURIComponent(signup.userId)}`, api), { signal: ctx.signal });
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      throw new JobError('USERS_API_UNREACHABLE', `cannot reach ${api.origin}: ${(err as Error).message}`, { retryable: true });
    }
    if (res.status >= 500 || res.status === 429) {
      const after = Number(res.headers.get('retry-after'));
      throw new JobError('USERS_API_UNAVAILABLE', `${api.origin} answered ${res.status}`, {
        retryable: true,
        ...(after > 0 ? { retryAfterMs: after * 1000 } : {}),
      });
    }
    if (res.status === 404) throw new JobError('UNKNOWN_USER', `user ${signup.userId} does not exist`);
    if (!res.ok) throw new JobError('USERS_API_REJECTED', `${api.origin} answered ${res.status} for user ${signup.userId}`);
    const user = (await res.json()) as Record<string, unknown>;
    return { value: JSON.stringify({ ...signup, user, enrichedAt: new Date().toISOString() }), headers: { 'content-type': 'application/json' } };
  },

  deadLetterFields(record) {
    try {
      const { id, userId } = record.json<Signup>();
      return { id, userId };
    } catch {
      return undefined;
    }
  },
});
