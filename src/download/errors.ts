// The downloader's dead-letter codes (they reach dead letters through the jobs that download, such as the palette job).
import { errorFactory } from '../errors/index.ts';

/** Stable: add codes, never rename one. `retryable` is the default; HTTP_STATUS is retried for 5xx, 408 and 429. */
export const DownloadErrorCodes = {
  INVALID_URL: { retryable: false, description: 'the URL is missing, malformed, or not http/https' },
  BLOCKED_ADDRESS: { retryable: false, description: 'the host resolves to (or is) a loopback, private, link-local or otherwise non-public address' },
  DNS_FAILED: { retryable: true, description: 'the host name could not be resolved' },
  CONNECT_FAILED: { retryable: true, description: 'the TCP/TLS connection failed or was reset' },
  TIMEOUT: { retryable: true, description: 'connect, headers or body took longer than the configured timeout' },
  HTTP_STATUS: { retryable: false, description: 'the server answered with a non-2xx status (5xx, 408 and 429 are retried first)' },
  TOO_LARGE: { retryable: false, description: 'the body is larger than the configured maximum' },
} as const;

export type DownloadErrorCode = keyof typeof DownloadErrorCodes;

/** A JobError with one of the downloader's codes, retryable by default as the table says. */
export const downloadError = errorFactory(DownloadErrorCodes);
