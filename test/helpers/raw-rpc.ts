import * as net from 'node:net';
import { PROTOCOL_VERSION } from '../../protocol/version';

/** A JSON-RPC peer speaking raw bytes on the socket, for tests of what a well-behaved client never sends. */
export class RawClient {
  readonly socket: net.Socket;
  private buffer = Buffer.alloc(0);
  private readonly messages: Record<string, unknown>[] = [];
  private waiters: (() => void)[] = [];
  closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
    socket.on('error', () => undefined);
    this.closedPromise = new Promise((resolve) =>
      socket.on('close', () => {
        this.closed = true;
        for (const w of this.waiters.splice(0)) w();
        resolve();
      }),
    );
  }

  static connect(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(path);
      socket.once('connect', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  private parse(): void {
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/Content-Length: (\d+)/i.exec(this.buffer.subarray(0, end).toString())?.[1]);
      if (this.buffer.length < end + 4 + length) return;
      this.messages.push(JSON.parse(this.buffer.subarray(end + 4, end + 4 + length).toString()) as Record<string, unknown>);
      this.buffer = this.buffer.subarray(end + 4 + length);
      for (const w of this.waiters.splice(0)) w();
    }
  }

  /** How many messages the daemon has sent on this connection. */
  get received(): number {
    return this.messages.length;
  }

  writeRaw(data: string | Buffer): void {
    this.socket.write(data);
  }

  send(message: Record<string, unknown>): void {
    const body = JSON.stringify({ jsonrpc: '2.0', ...message });
    this.socket.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }

  handshake(id: number | string = 0, protocolVersion = PROTOCOL_VERSION, clientVersion = '0.0.0-raw'): void {
    this.send({ id, method: 'aid/handshake', params: { clientVersion, protocolVersion, client: 'raw', capabilities: [] } });
  }

  /** The response with this id; rejects if the daemon closes the connection first. */
  response(id: number | string | null, timeoutMs = 10000): Promise<Record<string, unknown>> {
    return this.first((m) => m.id === id && m.method === undefined, `response ${String(id)}`, timeoutMs);
  }

  /** The first notification of this method, received already or still to come. */
  notification(method: string, timeoutMs = 10000): Promise<Record<string, unknown>> {
    return this.first((m) => m.method === method && m.id === undefined, `notification ${method}`, timeoutMs);
  }

  /** Every message the daemon has sent so far. */
  get all(): readonly Record<string, unknown>[] {
    return this.messages;
  }

  private async first(match: (m: Record<string, unknown>) => boolean, what: string, timeoutMs: number): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(match);
      if (found) return found;
      if (this.closed) throw new Error(`connection closed before ${what}`);
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves when the daemon closed the connection; rejects after the timeout. */
  async closedByPeer(timeoutMs = 10000): Promise<void> {
    await Promise.race([
      this.closedPromise,
      new Promise<void>((_, reject) => setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
  }

  close(): void {
    this.socket.destroy();
  }
}
