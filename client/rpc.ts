import * as net from 'node:net';
import type { NotificationType, RequestType, RequestType0 } from 'vscode-jsonrpc';
import { JsonRpcCodes } from '../protocol/errors';
import { HandshakeRequest, type HandshakeResult } from '../protocol/handshake';
import { SocketUnreachableError, connectSocket } from '../protocol/socket';
import { ALL_CAPABILITIES, PROTOCOL_VERSION } from '../protocol/version';

/**
 * The client's own JSON-RPC connection: Content-Length framing, requests, notifications and
 * `$/cancelRequest`, which is all `aic` needs. It exists for start-up time: evaluating all of
 * vscode-jsonrpc cost about 10 ms per `aic` run, more than everything else the client does. The
 * daemon and the tests keep using vscode-jsonrpc, so both sides of the protocol are still
 * checked against it.
 */

/** An error answer from the daemon (or a transport failure), with its JSON-RPC code. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcError';
  }

  /** The daemon stopped the request because this client cancelled it (`$/cancelRequest`). */
  get cancelled(): boolean {
    return this.code === JsonRpcCodes.RequestCancelled;
  }
}

/** Code used when the connection ends before an answer; not a daemon code. */
export const CONNECTION_CLOSED = -32099;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: RpcError) => void;
}

export class RpcConnection {
  private nextId = 1;
  private buffer: Buffer = Buffer.alloc(0);
  private readonly pending = new Map<number, Pending>();
  private readonly notificationHandlers = new Map<string, (params: unknown) => void>();
  private closed = false;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => this.failAll('the aid daemon closed the connection'));
  }

  request<R>(type: RequestType0<R, void>): Promise<R>;
  request<P, R>(type: RequestType<P, R, void>, params: P, signal?: AbortSignal): Promise<R>;
  request(type: { method: string }, params?: unknown, signal?: AbortSignal): Promise<unknown> {
    if (this.closed) return Promise.reject(new RpcError(CONNECTION_CLOSED, 'the connection to aid is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => this.send({ method: '$/cancelRequest', params: { id } });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve: (value) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(value);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
      this.send({ id, method: type.method, ...(params === undefined ? {} : { params }) });
    });
  }

  onNotification<P>(type: NotificationType<P>, handler: (params: P) => void): void {
    this.notificationHandlers.set(type.method, handler as (params: unknown) => void);
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private send(message: Record<string, unknown>): void {
    const body = JSON.stringify({ jsonrpc: '2.0', ...message });
    this.socket.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const match = /content-length:\s*(\d+)/i.exec(this.buffer.subarray(0, headerEnd).toString('ascii'));
      if (!match) {
        this.failAll('the aid daemon sent a message without Content-Length');
        this.socket.destroy();
        return;
      }
      const start = headerEnd + 4;
      const end = start + Number(match[1]);
      if (this.buffer.length < end) return;
      const body = this.buffer.subarray(start, end).toString('utf8');
      this.buffer = this.buffer.subarray(end);
      this.dispatch(
        JSON.parse(body) as { id?: number; method?: string; params?: unknown; result?: unknown; error?: { code: number; message: string; data?: unknown } },
      );
    }
  }

  private dispatch(message: {
    id?: number;
    method?: string;
    params?: unknown;
    result?: unknown;
    error?: { code: number; message: string; data?: unknown };
  }): void {
    if (message.method !== undefined) {
      // Notifications only: the daemon sends no requests to clients.
      if (message.id === undefined) this.notificationHandlers.get(message.method)?.(message.params);
      return;
    }
    const pending = message.id === undefined ? undefined : this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id as number);
    if (message.error) pending.reject(new RpcError(message.error.code, message.error.message, message.error.data));
    else pending.resolve(message.result);
  }

  private failAll(reason: string): void {
    this.closed = true;
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.reject(new RpcError(CONNECTION_CLOSED, reason));
    }
  }
}

export interface Session {
  rpc: RpcConnection;
  daemon: HandshakeResult;
  close(): void;
}

/** Connects and handshakes; rejects with SocketUnreachableError when nobody answers in time. */
export async function openSession(socketPath: string, clientVersion: string, timeoutMs = 2000): Promise<Session> {
  const rpc = new RpcConnection(await connectSocket(socketPath, timeoutMs));
  const timer = setTimeout(() => rpc.close(), timeoutMs);
  try {
    const daemon = await rpc.request(HandshakeRequest, {
      clientVersion,
      protocolVersion: PROTOCOL_VERSION,
      client: 'aic',
      capabilities: [...ALL_CAPABILITIES],
    });
    return { rpc, daemon, close: () => rpc.close() };
  } catch (error) {
    rpc.close();
    // Closed before answering (or by our timer): nobody usable is there.
    if (error instanceof RpcError && error.code === CONNECTION_CLOSED) throw new SocketUnreachableError(socketPath, 'no handshake answer');
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
