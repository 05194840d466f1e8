/**
 * Why a socket could not be reached, in terms a user can act on. Apart from transport.ts so a
 * client with its own transport can use it without loading vscode-jsonrpc.
 */
export class SocketUnreachableError extends Error {
  constructor(
    readonly socketPath: string,
    readonly code: string,
  ) {
    super(
      code === 'EACCES'
        ? `permission denied on ${socketPath}; it belongs to another user`
        : `no aid daemon answers on ${socketPath} (${code})`,
    );
    this.name = 'SocketUnreachableError';
  }
}
