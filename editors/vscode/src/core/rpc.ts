import * as net from 'node:net';

/** An error answer of the daemon (code, message, data), or -1 for what went wrong on this side. */
export class AidRpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'AidRpcError';
  }
  /** The daemon's answer to the client's own cancel (LSP's RequestCancelled). */
  get cancelled(): boolean {
    return this.code === -32800;
  }
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer?: NodeJS.Timeout;
}

/**
 * JSON-RPC 2.0 with Content-Length framing over the daemon's Unix socket (docs/protocol.md). No
 * dependency: the extension ships this file and nothing of aid's own.
 */
export class RpcConnection {
  private buffer = Buffer.alloc(0);
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly handlers = new Map<string, (params: unknown) => void>();
  private closeListeners: ((reason: string) => void)[] = [];
  closed = false;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => this.close('the daemon closed the connection'));
  }

  static open(path: string, timeoutMs = 2000): Promise<RpcConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(path);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new AidRpcError(-1, `no answer on ${path} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new RpcConnection(socket));
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new AidRpcError(-1, `aid does not answer on ${path} (${error.code ?? error.message})`, { errno: error.code }));
      });
    });
  }

  private read(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length: *(\d+)/i.exec(this.buffer.subarray(0, end).toString('ascii'))?.[1]);
      if (!Number.isFinite(length)) return this.close('bad framing from the daemon');
      if (this.buffer.length < end + 4 + length) return;
      const body = this.buffer.subarray(end + 4, end + 4 + length).toString('utf8');
      this.buffer = this.buffer.subarray(end + 4 + length);
      let message: { id?: number; method?: string; params?: unknown; result?: unknown; error?: { code: number; message: string; data?: unknown } };
      try {
        message = JSON.parse(body) as typeof message;
      } catch {
        continue;
      }
      if (message.method !== undefined && message.id === undefined) this.handlers.get(message.method)?.(message.params ?? {});
      else if (typeof message.id === 'number') this.settle(message.id, message);
    }
  }

  private settle(id: number, message: { result?: unknown; error?: { code: number; message: string; data?: unknown } }): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    if (pending.timer) clearTimeout(pending.timer);
    if (message.error) pending.reject(new AidRpcError(message.error.code, message.error.message, message.error.data));
    else pending.resolve(message.result);
  }

  private write(message: object): void {
    const body = JSON.stringify({ jsonrpc: '2.0', ...message });
    this.socket.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }

  /** Sends a request; `onId` learns its id (to cancel it). Without `timeoutMs` it waits as long as it takes. */
  request<R>(method: string, params: object = {}, timeoutMs?: number, onId?: (id: number) => void): Promise<R> {
    if (this.closed) return Promise.reject(new AidRpcError(-1, 'not connected to aid'));
    const id = ++this.nextId;
    onId?.(id);
    return new Promise<R>((resolve, reject) => {
      const pending: Pending = { resolve: (v) => resolve(v as R), reject };
      if (timeoutMs !== undefined) {
        pending.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new AidRpcError(-1, `${method}: no answer from aid within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.pending.set(id, pending);
      this.write({ id, method, params });
    });
  }

  notify(method: string, params: object): void {
    if (!this.closed) this.write({ method, params });
  }

  onNotification(method: string, handler: (params: unknown) => void): void {
    this.handlers.set(method, handler);
  }

  onClose(listener: (reason: string) => void): void {
    this.closeListeners.push(listener);
  }

  close(reason = 'closed'): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    for (const [, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(new AidRpcError(-1, `connection to aid lost: ${reason}`));
    }
    this.pending.clear();
    for (const listener of this.closeListeners.splice(0)) listener(reason);
  }
}
