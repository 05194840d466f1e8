import type { Duplex } from 'node:stream';
import {
  createMessageConnection,
  ResponseError,
  StreamMessageReader,
  type CancellationToken,
  type MessageConnection,
  type NotificationType,
} from 'vscode-jsonrpc/node';
import { ErrorCodes, JsonRpcCodes } from '../../protocol/errors';
import type { Logger } from '../log/logger';
import { FrameGuard } from './frame-guard';
import { FramedWriter } from './framed-writer';
import type { HandlerRegistry } from './handlers';

export interface ConnectionOptions {
  id: number;
  /** A Unix socket in the daemon; any duplex byte stream in unit tests. */
  socket: Duplex;
  registry: HandlerRegistry;
  logger: Logger;
  handshakeTimeoutMs: number;
  maxMessageBytes: number;
  /** True once the daemon began shutting down: new requests are refused. */
  isShuttingDown: () => boolean;
  onClosed: (connection: ClientConnection) => void;
  /** Called whenever one of this connection's requests has answered. */
  onSettled?: () => void;
}

/** Why in-flight work is aborted; handlers' errors are translated with it. */
export type AbortReason = 'cancelled' | 'disconnected' | 'shutdown';

/**
 * One client on the socket: JSON-RPC framing with a size guard, the handshake gate, params
 * validation, cancellation of its in-flight requests when it cancels, leaves, or we shut down.
 */
export class ClientConnection {
  readonly id: number;
  private readonly rpc: MessageConnection;
  private readonly inFlight = new Set<AbortController>();
  private handshaken = false;
  private closed = false;
  private readonly handshakeTimer: NodeJS.Timeout;

  constructor(private readonly options: ConnectionOptions) {
    this.id = options.id;
    const { socket, logger } = options;
    const guard = new FrameGuard(options.maxMessageBytes);
    guard.on('error', (error) => {
      logger.warn('closing connection: bad framing', { conn: this.id, error: error.message });
      this.close();
    });
    socket.on('error', (error) => logger.debug('socket error', { conn: this.id, error: error.message }));
    socket.pipe(guard);
    this.rpc = createMessageConnection(new StreamMessageReader(guard), new FramedWriter(socket), {
      error: (message) => logger.debug(`jsonrpc: ${message}`, { conn: this.id }),
      warn: (message) => logger.debug(`jsonrpc: ${message}`, { conn: this.id }),
      info: () => undefined,
      log: () => undefined,
    });
    this.rpc.onError(([error]) => {
      // Unparsable JSON or a broken header: the stream cannot be trusted to resync.
      logger.warn('closing connection: unreadable message', { conn: this.id, error: error.message });
      this.close();
    });
    this.rpc.onClose(() => this.close());
    socket.on('close', () => this.close());
    this.rpc.onRequest((method, params, token) => this.dispatch(method, params, token));
    this.handshakeTimer = setTimeout(() => {
      if (!this.handshaken) {
        logger.info('closing connection: no handshake in time', { conn: this.id, timeoutMs: options.handshakeTimeoutMs });
        this.close();
      }
    }, options.handshakeTimeoutMs);
    this.handshakeTimer.unref();
    this.rpc.listen();
  }

  private async dispatch(method: string, rawParams: unknown, token: CancellationToken): Promise<unknown> {
    const handler = this.options.registry.get(method);
    if (!handler) throw new ResponseError(JsonRpcCodes.MethodNotFound, `unknown method ${method}`);
    if (this.options.isShuttingDown()) throw new ResponseError(ErrorCodes.ShuttingDown, 'the aid daemon is shutting down; retry in a moment');
    if (!this.handshaken && !handler.beforeHandshake) {
      throw new ResponseError(ErrorCodes.HandshakeRequired, `send aid/handshake before ${method}`);
    }
    const parsed = handler.params.safeParse(rawParams ?? {});
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || 'params'}: ${i.message}`);
      throw new ResponseError(ErrorCodes.InvalidParams, `invalid params for ${method}: ${issues.join('; ')}`, { issues });
    }
    const controller = new AbortController();
    this.inFlight.add(controller);
    const cancel = token.onCancellationRequested(() => controller.abort('cancelled' satisfies AbortReason));
    try {
      const result = await handler.handle(parsed.data, {
        signal: controller.signal,
        connectionId: this.id,
        notify: <P>(type: NotificationType<P>, params: P) => this.notify(type, params),
      });
      if (handler.beforeHandshake) this.handshaken = true;
      return result;
    } catch (error) {
      if (controller.signal.aborted && controller.signal.reason === 'shutdown') {
        throw new ResponseError(ErrorCodes.ShuttingDown, 'the aid daemon is shutting down; the request was stopped');
      }
      if (error instanceof ResponseError) throw error;
      this.options.logger.error('handler failed', { conn: this.id, method, error: (error as Error).stack ?? String(error) });
      throw new ResponseError(ErrorCodes.Internal, `internal error in ${method}: ${(error as Error).message}; see the daemon log`);
    } finally {
      cancel.dispose();
      this.inFlight.delete(controller);
      this.options.onSettled?.();
    }
  }

  notify<P>(type: NotificationType<P>, params: P): void {
    if (this.closed) return;
    this.rpc.sendNotification(type.method, params).catch(() => undefined);
  }

  /** Handshake done: the peer speaks our protocol and may receive notifications. */
  get ready(): boolean {
    return this.handshaken && !this.closed;
  }

  get activeRequests(): number {
    return this.inFlight.size;
  }

  abortAll(reason: AbortReason): void {
    for (const controller of this.inFlight) controller.abort(reason);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.handshakeTimer);
    this.abortAll('disconnected');
    this.rpc.dispose();
    // end(), not destroy(): answers already written (a shutdown's -33006) still reach the client.
    // A peer that never reads cannot hold the socket open: destroy follows shortly.
    const socket = this.options.socket;
    socket.end();
    setTimeout(() => socket.destroy(), 1000).unref();
    this.options.onClosed(this);
  }
}
