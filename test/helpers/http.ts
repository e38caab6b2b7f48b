// Test helpers for HTTP: a real server on 127.0.0.1, port 0, that counts the connections it accepts; a closed port.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

export interface TestServer {
  server: Server;
  port: number;
  /** http://127.0.0.1:PORT */
  origin: string;
  /** 127.0.0.1:PORT, for allowHosts. */
  hostPort: string;
  /** Connections accepted so far. */
  readonly accepted: number;
}

/** Starts a server on 127.0.0.1:0 and closes it (and any hanging connection) after the test. */
export async function startServer(
  t: TestContext,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<TestServer> {
  let accepted = 0;
  const server = createServer(handler);
  server.on('connection', () => {
    accepted++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    server,
    port,
    origin: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
  };
}

/** A port that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Awaits a promise that must reject, and returns the rejection. */
export async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection, but the promise resolved');
}
