import type { Duplex } from 'node:stream';
import { AbstractMessageReader, Disposable, Emitter, type DataCallback, type Event, type MessageReader } from 'vscode-jsonrpc/node';
import { JsonRpcCodes } from '../../protocol/errors';
import { FrameError, frameLength } from './frame-header';
import { classifyMessage } from './incoming-message';

export interface FrameLimits {
  /** The largest body accepted; a header announcing more closes the connection. */
  maxBodyBytes: number;
  /** The longest header; LSP headers are a line or two. */
  maxHeaderBytes: number;
  /**
   * Answers not yet taken by the peer above which its input is left unread until they drain: a
   * client that sends without reading cannot make the daemon hold its answers without end.
   */
  maxUnsentBytes: number;
}

/**
 * A message read whole but not passed on. `answer` is the error JSON-RPC gives it (parse error,
 * invalid request); without one it is only logged. The connection stays usable either way: the
 * frame's end was known.
 */
export interface Refusal {
  answer?: { id: string | number | null; code: number; message: string };
  reason: string;
}

const CR = 0x0d;
const LF = 0x0a;
/** A body arriving in pieces starts with this much room and doubles, never past its announced length. */
const FIRST_BODY_CHUNK = 64 * 1024;
const EMPTY = Buffer.alloc(0);

/**
 * The daemon's only reader of the socket: LSP base framing parsed once, strictly (frame-header.ts),
 * bodies decoded as UTF-8 JSON and checked against JSON-RPC 2.0 (incoming-message.ts) before
 * vscode-jsonrpc dispatches them. It buffers a body only as far as it has arrived (never its
 * announced length up front), keeps no timer, stops reading a peer that does not read its answers,
 * and lets go of its buffers and socket listeners when the socket closes or the connection
 * disposes it. A header it cannot trust fails the reader
 * with a FrameError: the connection answers that once and closes.
 */
export class FrameReader extends AbstractMessageReader implements MessageReader {
  private readonly refusals = new Emitter<Refusal>();
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private callback: DataCallback | undefined;
  private header: Buffer;
  private headerLength = 0;
  /** The body being received: its announced length, and what arrived of it. */
  private body: { length: number; buffer: Buffer; filled: number } | undefined;
  private stopped = false;

  constructor(
    private readonly socket: Duplex,
    private readonly limits: FrameLimits,
  ) {
    super();
    this.header = Buffer.alloc(limits.maxHeaderBytes);
  }

  /** Whole messages refused without closing the connection. */
  get onRefused(): Event<Refusal> {
    return this.refusals.event;
  }

  /** Bytes held for messages not yet complete; zero once the connection is gone. */
  get bufferedBytes(): number {
    return this.headerLength + (this.body?.buffer.length ?? 0);
  }

  listen(callback: DataCallback): Disposable {
    this.callback = callback;
    this.socket.on('data', this.onData);
    this.socket.on('close', this.onSocketClose);
    return Disposable.create(() => this.stop());
  }

  override dispose(): void {
    this.stop();
    this.refusals.dispose();
    super.dispose();
  }

  private readonly onData = (chunk: Buffer): void => {
    let offset = 0;
    while (offset < chunk.length && !this.stopped) offset = this.body ? this.readBody(chunk, offset) : this.readHeader(chunk, offset);
    if (!this.stopped && !this.socket.isPaused() && this.socket.writableLength > this.limits.maxUnsentBytes) {
      this.socket.pause();
      this.socket.once('drain', this.onDrain);
    }
  };

  private readonly onDrain = (): void => {
    if (!this.stopped) this.socket.resume();
  };

  private readonly onSocketClose = (): void => {
    this.stop();
    this.fireClose();
  };

  /** Reads header bytes up to the blank line; returns where the body starts (or the chunk's end). */
  private readHeader(chunk: Buffer, offset: number): number {
    for (let i = offset; i < chunk.length; i++) {
      if (this.headerLength === this.header.length) return this.fail(new FrameError(`header longer than ${this.header.length} bytes`));
      const byte = chunk[i];
      this.header[this.headerLength++] = byte;
      if (byte !== LF) continue;
      if (this.headerLength < 2 || this.header[this.headerLength - 2] !== CR) {
        // A client writing "\n" where LSP framing needs "\r\n" would otherwise wait forever for a header end.
        return this.fail(new FrameError('header lines must end with \\r\\n, not a bare \\n: send "Content-Length: N\\r\\n\\r\\n" and then N bytes of JSON'));
      }
      if (this.headerLength < 4 || this.header[this.headerLength - 3] !== LF) continue;
      const text = this.header.toString('latin1', 0, this.headerLength - 4);
      this.headerLength = 0;
      let length: number;
      try {
        length = frameLength(text, this.limits.maxBodyBytes);
      } catch (error) {
        return this.fail(error as FrameError);
      }
      if (length === 0) this.deliver(EMPTY);
      else this.body = { length, buffer: EMPTY, filled: 0 };
      return i + 1;
    }
    return chunk.length;
  }

  /** Takes what the chunk holds of the current body; returns where the next header starts. */
  private readBody(chunk: Buffer, offset: number): number {
    const body = this.body as { length: number; buffer: Buffer; filled: number };
    const take = Math.min(body.length - body.filled, chunk.length - offset);
    if (body.filled === 0 && take === body.length) {
      // The whole body is in this chunk: no copy.
      this.body = undefined;
      this.deliver(chunk.subarray(offset, offset + take));
      return offset + take;
    }
    if (body.buffer.length < body.filled + take) {
      const grown = Buffer.allocUnsafe(Math.min(body.length, Math.max(body.filled + take, body.buffer.length * 2, FIRST_BODY_CHUNK)));
      body.buffer.copy(grown, 0, 0, body.filled);
      body.buffer = grown;
    }
    chunk.copy(body.buffer, body.filled, offset, offset + take);
    body.filled += take;
    if (body.filled === body.length) {
      this.body = undefined;
      this.deliver(body.buffer.subarray(0, body.length));
    }
    return offset + take;
  }

  private deliver(bytes: Buffer): void {
    let value: unknown;
    try {
      value = JSON.parse(this.decoder.decode(bytes));
    } catch (error) {
      const why = error instanceof SyntaxError ? error.message : 'it is not valid UTF-8';
      this.refusals.fire({
        answer: { id: null, code: JsonRpcCodes.ParseError, message: `the message body is not JSON: ${why.slice(0, 200)}` },
        reason: 'body is not UTF-8 JSON',
      });
      return;
    }
    const checked = classifyMessage(value);
    if (checked.kind === 'invalid') {
      this.refusals.fire({
        answer: { id: checked.id, code: JsonRpcCodes.InvalidRequest, message: `invalid request: ${checked.reason}` },
        reason: checked.reason,
      });
    } else if (checked.kind === 'ignored') {
      this.refusals.fire({ reason: checked.reason });
    } else {
      try {
        this.callback?.(checked.message);
      } catch (error) {
        // Checked messages do not make vscode-jsonrpc throw; if one did, its state is unknown.
        this.fail(error as Error);
      }
    }
  }

  /** Stops reading for good; returns an offset past any chunk, which ends the read loop. */
  private fail(error: Error): number {
    this.stop();
    this.fireError(error);
    return Number.MAX_SAFE_INTEGER;
  }

  /** Lets go of everything held for this connection. */
  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.callback = undefined;
    this.body = undefined;
    this.header = EMPTY;
    this.headerLength = 0;
    this.socket.off('data', this.onData);
    this.socket.off('close', this.onSocketClose);
    this.socket.off('drain', this.onDrain);
  }
}
