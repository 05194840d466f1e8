import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import {
  CancellationTokenSource,
  createMessageConnection,
  RequestType,
  RequestType0,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import { z } from 'zod';
import { FileLogger } from '../../daemon/log/logger';
import { Redactor } from '../../daemon/log/redact';
import { ClientConnection } from '../../daemon/server/connection';
import { HandlerRegistry, defineHandler, noParams } from '../../daemon/server/handlers';
import { ErrorCodes, JsonRpcCodes } from '../../protocol/errors';

/** The server room alone: a ClientConnection over in-memory streams, a vscode-jsonrpc client on the other end. */
describe('ClientConnection over in-memory streams', () => {
  let dir: string;
  let toServer: PassThrough;
  let toClient: PassThrough;
  let client: MessageConnection;
  let connection: ClientConnection;
  let closed: boolean;
  let shuttingDown: boolean;
  let aborts: string[];
  let started: number;
  let finish: Record<string, () => void>;
  /** Everything the connection wrote, read off the wire beside the client. */
  let wire: Record<string, unknown>[];

  function start(handshakeTimeoutMs = 10000): void {
    toServer = new PassThrough();
    toClient = new PassThrough();
    const serverSide = Duplex.from({ readable: toServer, writable: toClient });
    const logger = new FileLogger({ file: path.join(dir, 'log'), level: 'debug', redactor: new Redactor(), stderr: false });
    const registry = new HandlerRegistry().add(
      defineHandler(
        new RequestType<{ clientVersion: string }, { ok: boolean }, void>('test/hello'),
        z.object({ clientVersion: z.string() }),
        () => ({ ok: true }),
        { beforeHandshake: true },
      ),
      defineHandler(new RequestType<{ text: string }, string, void>('test/echo'), z.object({ text: z.string() }), (p) => p.text),
      defineHandler(new RequestType0<never, void>('test/fail'), noParams, () => {
        throw new Error('kaboom');
      }),
      defineHandler(new RequestType0<never, void>('test/wait'), noParams, (_p, context) => {
        started++;
        return new Promise((_resolve, reject) => {
          context.signal.addEventListener('abort', () => {
            aborts.push(String(context.signal.reason));
            reject(new ResponseError(ErrorCodes.Cancelled, 'stopped', { sessionId: 's-1', host: 'h' }));
          });
        });
      }),
      defineHandler(new RequestType<{ verbose?: boolean }, string, void>('test/optional'), z.object({ verbose: z.boolean().optional() }), () => 'fine'),
      defineHandler(
        new RequestType<{ streamToken: string; until: string }, unknown, void>('test/stream'),
        z.object({ streamToken: z.string(), until: z.string() }),
        async (p, context) => {
          const release = context.claimStreamToken(p.streamToken);
          try {
            await new Promise<void>((resolve) => (finish[p.until] = resolve));
            return p.until;
          } finally {
            release();
          }
        },
      ),
    );
    connection = new ClientConnection({
      id: 1,
      socket: serverSide,
      registry,
      logger,
      handshakeTimeoutMs,
      maxMessageBytes: 1024,
      isShuttingDown: () => shuttingDown,
      onClosed: () => (closed = true),
    });
    client = createMessageConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer));
    client.listen();
    wire = [];
    let pending = Buffer.alloc(0);
    toClient.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        const length = Number(/Content-Length: (\d+)/.exec(pending.subarray(0, end).toString())?.[1]);
        if (pending.length < end + 4 + length) return;
        wire.push(JSON.parse(pending.subarray(end + 4, end + 4 + length).toString()) as Record<string, unknown>);
        pending = pending.subarray(end + 4 + length);
      }
    });
  }

  function frame(message: Record<string, unknown>): string {
    const body = JSON.stringify({ jsonrpc: '2.0', ...message });
    return `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-conn-'));
    closed = false;
    shuttingDown = false;
    aborts = [];
    started = 0;
    finish = {};
  });
  afterEach(async () => {
    client.dispose();
    connection.close();
    // Let the last close events (and their log lines) happen before the directory goes.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 10));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Polls a condition; for events with no promise to await, never as a timing assertion. */
  async function until(check: () => boolean): Promise<void> {
    for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(check(), 'condition not reached within 5 s');
  }

  async function codeOf(promise: Promise<unknown>): Promise<number> {
    try {
      await promise;
    } catch (error) {
      assert.ok(error instanceof ResponseError, String(error));
      return error.code;
    }
    assert.fail('expected an error response');
  }

  it('gates every method behind the handshake, then serves', async () => {
    start();
    assert.equal(await codeOf(client.sendRequest('test/echo', { text: 'x' })), ErrorCodes.HandshakeRequired);
    assert.deepEqual(await client.sendRequest('test/hello', { clientVersion: '1' }), { ok: true });
    assert.equal(await client.sendRequest('test/echo', { text: 'hi' }), 'hi');
  });

  it('answers unknown methods, bad params and handler crashes with codes, not a dead connection', async () => {
    start();
    await client.sendRequest('test/hello', { clientVersion: '1' });
    assert.equal(await codeOf(client.sendRequest('test/nope', {})), JsonRpcCodes.MethodNotFound);
    assert.equal(await codeOf(client.sendRequest('test/echo', { text: 3 })), ErrorCodes.InvalidParams);
    assert.equal(await codeOf(client.sendRequest('test/fail', {})), ErrorCodes.Internal);
    assert.equal(await client.sendRequest('test/echo', { text: 'still here' }), 'still here');
    assert.equal(closed, false);
  });

  it("turns $/cancelRequest into an aborted signal, answered with -32800 and the request's data", async () => {
    start();
    await client.sendRequest('test/hello', { clientVersion: '1' });
    const source = new CancellationTokenSource();
    const pending = client.sendRequest('test/wait', {}, source.token);
    await until(() => connection.activeRequests === 1);
    source.cancel();
    const error = await pending.then(
      () => assert.fail('expected an error'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ResponseError);
    assert.equal(error.code, JsonRpcCodes.RequestCancelled);
    assert.deepEqual(error.data, { sessionId: 's-1', host: 'h' });
    assert.deepEqual(aborts, ['cancelled']);
  });

  it('a $/cancelRequest read together with its request stops it before it runs', async () => {
    start();
    await client.sendRequest('test/hello', { clientVersion: '1' });
    toServer.write(frame({ id: 'c1', method: 'test/wait', params: {} }) + frame({ method: '$/cancelRequest', params: { id: 'c1' } }));
    await until(() => wire.some((m) => m.id === 'c1'));
    assert.equal((wire.find((m) => m.id === 'c1')?.error as { code: number }).code, JsonRpcCodes.RequestCancelled);
    assert.equal(started, 0, 'the handler never ran');
    assert.equal(connection.activeRequests, 0);
  });

  it('takes [] as no params where none are required, and refuses params by position otherwise', async () => {
    start();
    await client.sendRequest('test/hello', { clientVersion: '1' });
    toServer.write(
      frame({ id: 'p1', method: 'test/optional', params: [] }) +
        frame({ id: 'p2', method: 'test/echo', params: [] }) +
        frame({ id: 'p3', method: 'test/optional', params: [true] }),
    );
    const answer = (id: string): Record<string, unknown> | undefined => wire.find((m) => m.id === id);
    await until(() => ['p1', 'p2', 'p3'].every((id) => answer(id)));
    assert.equal(answer('p1')?.result, 'fine');
    for (const id of ['p2', 'p3']) {
      const error = answer(id)?.error as { code: number; message: string };
      assert.equal(error.code, JsonRpcCodes.InvalidParams);
      assert.match(error.message, /takes its params by name, as a JSON object, not as a list/);
    }
  });

  it('refuses a stream token already streaming on the connection, and frees it when its request ends', async () => {
    start();
    await client.sendRequest('test/hello', { clientVersion: '1' });
    const first = client.sendRequest('test/stream', { streamToken: 't', until: 'a' });
    await until(() => finish.a !== undefined);
    const second = client.sendRequest('test/stream', { streamToken: 't', until: 'b' });
    const error = await second.then(
      () => assert.fail('expected an error'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ResponseError);
    assert.equal(error.code, JsonRpcCodes.InvalidParams);
    assert.match(error.message, /streamToken "t" is already streaming another request on this connection/);
    finish.a();
    assert.equal(await first, 'a');
    const third = client.sendRequest('test/stream', { streamToken: 't', until: 'c' });
    await until(() => finish.c !== undefined);
    finish.c();
    assert.equal(await third, 'c');
  });

  it('aborts in-flight work with the shutdown reason and refuses new requests while shutting down', async () => {
    start();
    await client.sendRequest('test/hello', { clientVersion: '1' });
    const pending = client.sendRequest('test/wait', {});
    await until(() => connection.activeRequests === 1);
    shuttingDown = true;
    connection.abortAll('shutdown');
    assert.equal(await codeOf(pending), ErrorCodes.ShuttingDown);
    assert.equal(await codeOf(client.sendRequest('test/echo', { text: 'late' })), ErrorCodes.ShuttingDown);
  });

  it('closes on an oversized frame and aborts what the client had in flight', async () => {
    start();
    await client.sendRequest('test/hello', { clientVersion: '1' });
    void client.sendRequest('test/wait', {}).catch(() => undefined);
    await until(() => connection.activeRequests === 1);
    toServer.write('Content-Length: 999999\r\n\r\n');
    await until(() => closed);
    assert.deepEqual(aborts, ['disconnected']);
  });

  it('closes a connection that never handshakes', async () => {
    start(30);
    await until(() => closed);
  });
});

describe('ClientConnections on a Unix socket: nothing of a client outlives it (issue 11.4)', () => {
  let dir: string;
  let server: net.Server;
  let logger: FileLogger;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-conn-'));
    logger = new FileLogger({ file: path.join(dir, 'log'), level: 'debug', redactor: new Redactor(), stderr: false });
  });
  afterEach(async () => {
    await new Promise((r) => server.close(r));
    logger.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('30 clients that send part of a 16,000,000-byte frame and go leave no connection behind after a GC', async function () {
    this.timeout(60000);
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const clients = 30;
    const sent = 1024 * 1024;
    const header = 'Content-Length: 16000000\r\n\r\n';
    const refs: WeakRef<ClientConnection>[] = [];
    const received: number[] = [];
    let open = 0;
    server = net.createServer((socket) => {
      const index = received.push(0) - 1;
      // Counts what reached the daemon's side, so the clients leave only once it was read.
      socket.on('data', (chunk: Buffer) => (received[index] += chunk.length));
      open++;
      const connection = new ClientConnection({
        id: index,
        socket,
        registry: new HandlerRegistry(),
        logger,
        handshakeTimeoutMs: 600000,
        maxMessageBytes: 16 * 1024 * 1024,
        isShuttingDown: () => false,
        onClosed: () => open--,
      });
      refs.push(new WeakRef(connection));
    });
    const socketPath = path.join(dir, 's');
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    const sockets = await Promise.all(
      Array.from(
        { length: clients },
        () =>
          new Promise<net.Socket>((resolve) => {
            const socket = net.connect(socketPath, () => resolve(socket));
          }),
      ),
    );
    for (const socket of sockets) socket.write(Buffer.concat([Buffer.from(header), Buffer.alloc(sent, 0x20)]));
    const total = header.length + sent;
    for (let i = 0; i < 1000 && !(received.length === clients && received.every((n) => n === total)); i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(
      received,
      Array.from({ length: clients }, () => total),
      'every byte reached the daemon side',
    );
    assert.equal(open, clients);
    for (const socket of sockets) socket.destroy();
    for (let i = 0; i < 500 && open > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(open, 0, 'every connection closed');
    await new Promise((r) => setImmediate(r));
    gc();
    const alive = refs.filter((ref) => ref.deref() !== undefined).length;
    assert.equal(alive, 0, `${alive} of ${clients} connections are still reachable after a full GC`);
  });
});
