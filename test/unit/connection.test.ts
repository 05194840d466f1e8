import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { CancellationTokenSource, createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { z } from 'zod';
import { FileLogger } from '../../daemon/log/logger';
import { Redactor } from '../../daemon/log/redact';
import { ClientConnection } from '../../daemon/server/connection';
import { HandlerRegistry, defineHandler } from '../../daemon/server/handlers';
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

  function start(handshakeTimeoutMs = 10000): void {
    toServer = new PassThrough();
    toClient = new PassThrough();
    const serverSide = Duplex.from({ readable: toServer, writable: toClient });
    const logger = new FileLogger({ file: path.join(dir, 'log'), level: 'debug', redactor: new Redactor(), stderr: false });
    const registry = new HandlerRegistry().add(
      defineHandler({ method: 'test/hello' }, z.object({ clientVersion: z.string() }), () => ({ ok: true }), { beforeHandshake: true }),
      defineHandler({ method: 'test/echo' }, z.object({ text: z.string() }), (p) => p.text),
      defineHandler({ method: 'test/fail' }, z.object({}), () => {
        throw new Error('kaboom');
      }),
      defineHandler({ method: 'test/wait' }, z.object({}), (_p, context) =>
        new Promise((_resolve, reject) => {
          context.signal.addEventListener('abort', () => {
            aborts.push(String(context.signal.reason));
            reject(new ResponseError(ErrorCodes.Cancelled, 'stopped'));
          });
        }),
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
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-conn-'));
    closed = false;
    shuttingDown = false;
    aborts = [];
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

  it('turns $/cancelRequest into an aborted signal', async () => {
    start();
    await client.sendRequest('test/hello', { clientVersion: '1' });
    const source = new CancellationTokenSource();
    const pending = client.sendRequest('test/wait', {}, source.token);
    await until(() => connection.activeRequests === 1);
    source.cancel();
    assert.equal(await codeOf(pending), ErrorCodes.Cancelled);
    assert.deepEqual(aborts, ['cancelled']);
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
