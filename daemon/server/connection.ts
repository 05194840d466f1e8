import type { Duplex } from 'node:stream';
import {
  createMessageConnection,
  ResponseError,
  type CancellationToken,
  type MessageConnection,
  type NotificationType,
  type ResponseMessage,
} from 'vscode-jsonrpc/node';
import { ErrorCodes, JsonRpcCodes } from '../../protocol/errors';
import type { Logger } from '../log/logger';
import { FrameError } from './frame-header';
import { FrameReader, type Refusal } from './frame-reader';
import { FramedWriter } from './framed-writer';
import type { Handler, HandlerRegistry } from './handlers';

/** Headers are a line or two ("Content-Length", perhaps "Content-Type"); anything longer is not LSP framing. */
const MAX_HEADER_BYTES = 1024;
/** Unsent answers past which a client's input waits: what one chunk of requests can add stays small beside it. */
const MAX_UNSENT_BYTES = 1024 * 1024;

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
 * One client on the socket: framing and message checks (FrameReader), the handshake gate, params
 * validation, cancellation of its in-flight requests when it cancels, leaves, or we shut down.
 * vscode-jsonrpc dispatches; this class decides what each answer says.
 */
export class ClientConnection {
  readonly id: number;
  private readonly rpc: MessageConnection;
  private readonly writer: FramedWriter;
  private readonly inFlight = new Set<AbortController>();
  /** Stream tokens of this connection's running requests: each names one stream only. */
  private readonly streamTokens = new Set<string>();
  private handshaken = false;
  private closed = false;
  private readonly handshakeTimer: NodeJS.Timeout;

  constructor(private readonly options: ConnectionOptions) {
    this.id = options.id;
    const { socket, logger } = options;
    socket.on('error', (error) => logger.debug('socket error', { conn: this.id, error: error.message }));
    const reader = new FrameReader(socket, { maxBodyBytes: options.maxMessageBytes, maxHeaderBytes: MAX_HEADER_BYTES, maxUnsentBytes: MAX_UNSENT_BYTES });
    reader.onRefused((refusal) => this.refused(refusal));
    this.writer = new FramedWriter(socket);
    this.rpc = createMessageConnection(reader, this.writer, {
      error: (message) => logger.debug(`jsonrpc: ${message}`, { conn: this.id }),
      warn: (message) => logger.debug(`jsonrpc: ${message}`, { conn: this.id }),
      info: () => undefined,
      log: () => undefined,
    });
    this.rpc.onError(([error]) => {
      if (error instanceof FrameError) {
        // The next frame's start is unknown: say why once, then close.
        logger.warn('closing connection: bad framing', { conn: this.id, error: error.message });
        this.answerError(null, JsonRpcCodes.ParseError, `bad framing, closing the connection: ${error.message}`);
      } else {
        logger.warn('closing connection: unreadable message', { conn: this.id, error: error.message });
      }
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

  /** A whole message that was not dispatched: answered when JSON-RPC answers it, logged either way. */
  private refused(refusal: Refusal): void {
    this.options.logger.debug('refused a message', { conn: this.id, reason: refusal.reason, ...(refusal.answer ? { code: refusal.answer.code } : {}) });
    if (refusal.answer) this.answerError(refusal.answer.id, refusal.answer.code, refusal.answer.message);
  }

  private answerError(id: string | number | null, code: number, message: string): void {
    if (this.closed) return;
    const answer: ResponseMessage = { jsonrpc: '2.0', id, error: { code, message } };
    this.writer.write(answer).catch(() => undefined);
  }

  private async dispatch(method: string, rawParams: unknown, token: CancellationToken): Promise<unknown> {
    const handler = this.options.registry.get(method);
    if (!handler) throw new ResponseError(JsonRpcCodes.MethodNotFound, `unknown method ${method}`);
    if (this.options.isShuttingDown()) throw new ResponseError(ErrorCodes.ShuttingDown, 'the aid daemon is shutting down; retry in a moment');
    if (!this.handshaken && !handler.beforeHandshake) {
      throw new ResponseError(ErrorCodes.HandshakeRequired, `send aid/handshake before ${method}`);
    }
    const parsed = handler.params.safeParse(namedParams(method, handler, rawParams));
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || 'params'}: ${i.message}`);
      throw new ResponseError(ErrorCodes.InvalidParams, `invalid params for ${method}: ${issues.join('; ')}`, { issues });
    }
    // A $/cancelRequest read together with its request reaches vscode-jsonrpc before the request
    // is dispatched; the token handed over is then cancelled already and will never fire. The
    // cancel came first, so nothing runs.
    if (token.isCancellationRequested) throw new ResponseError(JsonRpcCodes.RequestCancelled, 'request cancelled before it started', {});
    const controller = new AbortController();
    this.inFlight.add(controller);
    const cancel = token.onCancellationRequested(() => controller.abort('cancelled' satisfies AbortReason));
    try {
      const result = await handler.handle(parsed.data, {
        signal: controller.signal,
        connectionId: this.id,
        notify: <P>(type: NotificationType<P>, params: P) => this.notify(type, params),
        claimStreamToken: (streamToken) => this.claimStreamToken(streamToken),
      });
      if (handler.beforeHandshake) this.handshaken = true;
      return result;
    } catch (error) {
      throw this.answerFor(error, method, controller.signal);
    } finally {
      cancel.dispose();
      this.inFlight.delete(controller);
      this.options.onSettled?.();
    }
  }

  /**
   * The error a failed request answers with. The one place where why the request was stopped
   * decides the code: a shutdown answers -33006; the client's own `$/cancelRequest` answers LSP's
   * RequestCancelled (-32800), which editors' JSON-RPC clients treat as the cancel they asked
   * for, keeping the domain's data (`sessionId`, `host`).
   */
  private answerFor(error: unknown, method: string, signal: AbortSignal): ResponseError<unknown> {
    const reason = signal.aborted ? (signal.reason as AbortReason) : undefined;
    if (reason === 'shutdown') return new ResponseError(ErrorCodes.ShuttingDown, 'the aid daemon is shutting down; the request was stopped');
    const domainCancel = error instanceof ResponseError && error.code === ErrorCodes.Cancelled;
    if (reason === 'cancelled' && (domainCancel || !(error instanceof ResponseError))) {
      if (!domainCancel) this.options.logger.debug('request failed after its cancel', { conn: this.id, method, error: (error as Error).message });
      return new ResponseError(JsonRpcCodes.RequestCancelled, 'request cancelled', domainCancel ? error.data : {});
    }
    if (error instanceof ResponseError) return error;
    this.options.logger.error('handler failed', { conn: this.id, method, error: (error as Error).stack ?? String(error) });
    return new ResponseError(ErrorCodes.Internal, `internal error in ${method}: ${(error as Error).message}; see the daemon log`);
  }

  private claimStreamToken(streamToken: string): () => void {
    if (this.streamTokens.has(streamToken)) {
      throw new ResponseError(
        JsonRpcCodes.InvalidParams,
        `streamToken ${JSON.stringify(streamToken)} is already streaming another request on this connection; give each request its own token`,
        { issues: ['streamToken'] },
      );
    }
    this.streamTokens.add(streamToken);
    return () => this.streamTokens.delete(streamToken);
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
    if (!socket.destroyed) {
      const timer = setTimeout(() => socket.destroy(), 1000);
      timer.unref();
      // Once closed, nothing of this connection waits on a timer.
      socket.once('close', () => clearTimeout(timer));
    }
    this.options.onClosed(this);
  }
}

/**
 * Params by name, as every aid method takes them. `[]` is what some encoders make of an empty
 * object (Neovim's `vim.json.encode({})`): it stands for "no params" where none are required.
 */
function namedParams(method: string, handler: Handler, raw: unknown): unknown {
  if (raw === undefined || raw === null) return {};
  if (!Array.isArray(raw)) return raw;
  if (raw.length === 0 && handler.params.safeParse({}).success) return {};
  throw new ResponseError(JsonRpcCodes.InvalidParams, `${method} takes its params by name, as a JSON object, not as a list`, { issues: ['params'] });
}
