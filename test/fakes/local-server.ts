import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP server on 127.0.0.1 for a simulator: a handler that fails answers 500 through
 * `fail` (or drops the connection when the answer had begun). Resolves with its origin.
 */
export function serveLocally(
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>,
  fail: (res: http.ServerResponse, message: string) => void,
  port = 0,
): Promise<{ server: http.Server; origin: string }> {
  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) fail(res, String(error));
      else res.destroy();
    });
  });
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
  });
}

/** Closes a simulator's server, cutting open connections: stalled streams would keep it waiting forever. */
export function closeServer(server: http.Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
