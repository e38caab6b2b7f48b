// Telemetry of the downloader through node:diagnostics_channel: subscribers see connects and blocks as they happen.
import { channel } from 'node:diagnostics_channel';

/** Published right before a TCP/TLS connection is opened to a checked address. */
export interface ConnectMessage {
  host: string;
  port: number;
  address: string;
}

/** Published when the SSRF guard refuses an address; no connection is opened. */
export interface BlockedMessage {
  host: string;
  port: number;
  address: string;
  range: string;
}

/** Channel names are stable: `lagless:download:connect` and `lagless:download:blocked`. */
export const downloadChannels = {
  connect: channel('lagless:download:connect'),
  blocked: channel('lagless:download:blocked'),
} as const;
