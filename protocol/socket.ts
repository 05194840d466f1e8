import * as net from 'node:net';

/*
 * Reaching the daemon's socket, apart from transport.ts so a client with its own JSON-RPC
 * transport (aic) can use it without loading vscode-jsonrpc.
 */

/** Why a socket could not be reached, in terms a user can act on. */
export class SocketUnreachableError extends Error {
  constructor(
    readonly socketPath: string,
    readonly code: string,
  ) {
    super(code === 'EACCES' ? `permission denied on ${socketPath}; it belongs to another user` : `no aid daemon answers on ${socketPath} (${code})`);
    this.name = 'SocketUnreachableError';
  }
}

/** Connects to a daemon's Unix socket; rejects with SocketUnreachableError when nobody listens. */
export function connectSocket(socketPath: string, timeoutMs = 2000): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new SocketUnreachableError(socketPath, 'ETIMEDOUT'));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new SocketUnreachableError(socketPath, error.code ?? error.message));
    });
  });
}
