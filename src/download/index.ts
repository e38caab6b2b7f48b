// Safe HTTP downloads for jobs: SSRF guard at connect time, timeouts, size and redirect limits, stable error codes.
export { createDownloader, download } from './downloader.ts';
export type { Downloader, DownloaderStats, DownloadInit, DownloadResult } from './downloader.ts';
export { defaultDownloadOptions, resolveDownloadOptions, parseAllowedHost } from './options.ts';
export type { AllowedHost, DownloadOptions, LookupFunction, ResolvedDownloadOptions } from './options.ts';
export { classifyAddress, blockedIPv4Ranges, blockedIPv6Ranges } from './address-policy.ts';
export type { AddressVerdict, BlockedRange } from './address-policy.ts';
export { downloadChannels } from './channels.ts';
export type { BlockedMessage, ConnectMessage } from './channels.ts';
export { parseRetryAfter } from './retry-after.ts';
export { DownloadErrorCodes, downloadError, type DownloadErrorCode } from './errors.ts';
