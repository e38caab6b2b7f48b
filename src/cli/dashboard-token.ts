// The dashboard's token on the command line: from LAGLESS_DASHBOARD_TOKEN (never a flag: `ps` shows command lines), required beyond loopback.
import { isLoopbackBind, MIN_DASHBOARD_TOKEN_LENGTH } from '../dashboard/index.ts';
import { UsageError } from '../errors/index.ts';

export const DASHBOARD_TOKEN_ENV = 'LAGLESS_DASHBOARD_TOKEN';

/**
 * The token of a dashboard bound to `host` (given by `hostFlag`), or undefined on loopback without one. A UsageError
 * (exit 2) when a token is needed and missing, or too short; `otherwise` names a way out besides setting it.
 */
export function dashboardToken(env: NodeJS.ProcessEnv, host: string, hostFlag: string, otherwise = ''): string | undefined {
  const token = env[DASHBOARD_TOKEN_ENV] || undefined;
  const make = `export ${DASHBOARD_TOKEN_ENV}=$(openssl rand -hex 16)`;
  if (token !== undefined && token.length < MIN_DASHBOARD_TOKEN_LENGTH) {
    throw new UsageError(`${DASHBOARD_TOKEN_ENV} has ${token.length} characters; the dashboard's token needs at least ${MIN_DASHBOARD_TOKEN_LENGTH} (e.g. ${make})`);
  }
  if (token === undefined && !isLoopbackBind(host)) {
    throw new UsageError(
      `${hostFlag} ${host} makes the dashboard reachable from other machines, so it needs a token: set ${DASHBOARD_TOKEN_ENV} ` +
        `(e.g. ${make}) and open the dashboard once with ?token=<the token>, or bind loopback (${hostFlag} 127.0.0.1)${otherwise}`,
    );
  }
  return token;
}
