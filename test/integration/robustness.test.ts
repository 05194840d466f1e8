import { strict as assert } from 'node:assert';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CancellationTokenSource, ResponseError } from 'vscode-jsonrpc/node';
import { AskDeltaNotification, AskRequest } from '../../protocol/chat';
import { StatusRequest } from '../../protocol/daemon';
import { ErrorCodes, JsonRpcCodes } from '../../protocol/errors';
import { OllamaSimulator } from '../fakes/ollama-simulator';
import { aid, connect, makeSandbox, writeConfig, startForeground, teardown, waitFor, type ForegroundDaemon, type Sandbox } from '../helpers/daemon';
import { RawClient } from '../helpers/raw-rpc';

describe('bad input on the socket', function () {
  this.timeout(30000);
  let s: Sandbox;
  let daemon: ForegroundDaemon;
  let sim: OllamaSimulator;

  /** Proves the daemon is alive and serving a well-behaved client. */
  async function stillServing(): Promise<void> {
    const session = await connect(s);
    try {
      const status = await session.connection.sendRequest(StatusRequest);
      assert.equal(status.pid, daemon.pid);
    } finally {
      session.close();
    }
  }

  beforeEach(async () => {
    sim = new OllamaSimulator({ tokenDelayMs: 30, reply: () => Array.from({ length: 100 }, (_, i) => `w${i}`).join(' ') });
    await sim.start();
    // A long handshake timeout, so a closed connection below is the daemon's answer to bad framing.
    s = makeSandbox({ ollamaUrl: sim.url, config: { handshakeTimeoutMs: 60000 } });
    daemon = await startForeground(s);
  });
  afterEach(async () => {
    await teardown(s);
    await sim.stop();
  });

  it('closes a connection that sends garbage bytes', async () => {
    const raw = await RawClient.connect(s.socket);
    raw.writeRaw(crypto.randomBytes(4096));
    raw.writeRaw('\r\n\r\n');
    await raw.closedByPeer(5000);
    await stillServing();
  });

  it("answers a body that is not JSON with -32700 and reads on: the frame's end is known", async () => {
    const raw = await RawClient.connect(s.socket);
    raw.writeRaw('Content-Length: 12\r\n\r\n{not json!!}');
    const error = (await raw.response(null)).error as { code: number; message: string };
    assert.equal(error.code, JsonRpcCodes.ParseError);
    assert.match(error.message, /the message body is not JSON/);
    raw.handshake(1);
    assert.ok((await raw.response(1)).result, 'the same connection handshakes after it');
    raw.close();
  });

  /** Waits for the daemon's -32700 about the framing, then for it to close the connection. */
  async function refusedFraming(raw: RawClient): Promise<string> {
    const answer = await raw.response(null, 5000);
    await raw.closedByPeer(5000);
    const error = answer.error as { code: number; message: string };
    assert.equal(error.code, JsonRpcCodes.ParseError);
    return error.message;
  }

  it('closes at once, with -32700 and a log line, a connection whose header repeats or disguises Content-Length (issue 11.4)', async () => {
    const headers = [
      // The issue's case: a lenient reader takes 16, another waits for 10^12 bytes.
      'Content-Length: 999999999999\r\nContent-Length : 16\r\n\r\n',
      'Content-Length: 16\r\nContent-Length : 16\r\n\r\n',
      'Content-Length: 16\r\ncontent-length: 16\r\n\r\n',
      'Content-Length : 16\r\n\r\n',
      'Content-Length: 16\r\nContent-Type: application/json; charset=utf-16\r\n\r\n',
    ];
    for (const header of headers) {
      // Before the handshake: framing is checked before anything else.
      const raw = await RawClient.connect(s.socket);
      raw.writeRaw(header);
      assert.match(
        await refusedFraming(raw),
        /bad framing, closing the connection: (message of 999999999999 bytes exceeds|malformed header line "Content-Length : 16"|more than one Content-Length|unsupported charset "utf-16")/,
        header,
      );
    }
    await stillServing();
    const log = fs.readFileSync(path.join(s.stateDir, 'aid.log'), 'utf8');
    assert.equal(log.match(/closing connection: bad framing/g)?.length, headers.length);
  });

  it('answers \\n framing (instead of \\r\\n) with -32700 saying so, and closes instead of hanging', async () => {
    const raw = await RawClient.connect(s.socket);
    const body = JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'aid/handshake', params: {} });
    raw.writeRaw(`Content-Length: ${body.length}\n\n${body}`);
    assert.match(await refusedFraming(raw), /header lines must end with \\r\\n, not a bare \\n/);
    await stillServing();
    assert.match(fs.readFileSync(path.join(s.stateDir, 'aid.log'), 'utf8'), /closing connection: bad framing .*not a bare/);
  });

  it('closes a connection with a header lacking Content-Length, or with a non-numeric one', async () => {
    for (const header of ['Content-Type: application/json\r\n\r\n{}', 'Content-Length: lots\r\n\r\n{}']) {
      const raw = await RawClient.connect(s.socket);
      raw.writeRaw(header);
      await raw.closedByPeer(5000);
    }
    await stillServing();
  });

  it('answers an unknown method with -32601 and keeps the connection', async () => {
    const raw = await RawClient.connect(s.socket);
    raw.handshake(0);
    await raw.response(0);
    raw.send({ id: 1, method: 'aid/nope', params: {} });
    const response = await raw.response(1);
    assert.equal((response.error as { code: number }).code, JsonRpcCodes.MethodNotFound);
    raw.send({ id: 2, method: 'aid/status' });
    assert.ok((await raw.response(2)).result);
    raw.close();
  });

  it('answers wrong params with InvalidParams naming the field', async () => {
    const raw = await RawClient.connect(s.socket);
    raw.handshake(0);
    await raw.response(0);
    raw.send({ id: 1, method: 'aid/ask', params: { prompt: 42, streamToken: 't' } });
    const error = (await raw.response(1)).error as { code: number; message: string; data: { issues: string[] } };
    assert.equal(error.code, ErrorCodes.InvalidParams);
    assert.match(error.message, /prompt/);
    raw.send({ id: 2, method: 'aid/models', params: { host: 7 } });
    assert.equal(((await raw.response(2)).error as { code: number }).code, ErrorCodes.InvalidParams);
    raw.close();
    await stillServing();
  });

  it('requires the handshake first and refuses another protocol version', async () => {
    const early = await RawClient.connect(s.socket);
    early.send({ id: 1, method: 'aid/status' });
    assert.equal(((await early.response(1)).error as { code: number }).code, ErrorCodes.HandshakeRequired);
    early.close();
    const old = await RawClient.connect(s.socket);
    old.handshake(1, 99);
    const error = (await old.response(1)).error as { code: number; message: string };
    assert.equal(error.code, ErrorCodes.VersionMismatch);
    assert.match(error.message, /aid restart/);
    old.close();
  });

  it('closes a connection announcing a 100 MB message without waiting for it', async () => {
    const raw = await RawClient.connect(s.socket);
    raw.writeRaw(`Content-Length: ${100 * 1024 * 1024}\r\n\r\n{"jsonrpc":"2.0"`);
    await raw.closedByPeer(5000);
    await stillServing();
  });

  it('closes a connection that never sends, serving others meanwhile', async () => {
    writeConfig(s, { handshakeTimeoutMs: 300 });
    assert.equal((await aid(['reload'], s)).code, 0);
    const silent = await RawClient.connect(s.socket);
    await stillServing();
    assert.ok(!silent.closed);
    await silent.closedByPeer();
    await stillServing();
  });

  it('keeps serving others while a client stalls in the middle of a message', async () => {
    const stalled = await RawClient.connect(s.socket);
    stalled.handshake(0);
    await stalled.response(0);
    stalled.writeRaw('Content-Length: 500\r\n\r\n{"jsonrpc":"2.0","id":1,');
    await stillServing();
    await stillServing();
    stalled.close();
  });

  it('$/cancelRequest aborts the upstream call, and the connection serves on', async () => {
    const session = await connect(s);
    try {
      const source = new CancellationTokenSource();
      let deltas = 0;
      session.connection.onNotification(AskDeltaNotification, () => {
        deltas++;
      });
      const pending = session.connection.sendRequest(AskRequest, { prompt: 'long', model: 'ollama/llama3.2', streamToken: 'c1' }, source.token);
      await waitFor(
        () => deltas > 0,
        10000,
        () => 'first delta',
      );
      const aborted = sim.waitForAbort();
      source.cancel();
      const error = await pending.then(
        () => assert.fail('expected the ask to be cancelled'),
        (e: unknown) => e,
      );
      // LSP's RequestCancelled, which editors' clients take for the cancel they sent, with aid's data.
      assert.ok(error instanceof ResponseError);
      assert.equal(error.code, JsonRpcCodes.RequestCancelled);
      const data = error.data as { sessionId?: unknown; host?: unknown };
      assert.equal(typeof data.sessionId, 'string');
      assert.equal(data.host, 'ollama');
      await aborted;
      const status = await session.connection.sendRequest(StatusRequest);
      assert.equal(status.store.requests, 1, 'the cancelled call is recorded');
    } finally {
      session.close();
    }
  });

  it('keeps concurrent streams on one connection apart', async () => {
    sim.setTokenDelay(0);
    const session = await connect(s);
    try {
      const received: Record<string, string> = { a: '', b: '' };
      session.connection.onNotification(AskDeltaNotification, (delta) => {
        received[delta.streamToken] += delta.text;
      });
      const [a, b] = await Promise.all([
        session.connection.sendRequest(AskRequest, { prompt: 'first', model: 'ollama/llama3.2', streamToken: 'a' }),
        session.connection.sendRequest(AskRequest, { prompt: 'second', model: 'ollama/qwen2.5-coder:7b', streamToken: 'b' }),
      ]);
      const expected = Array.from({ length: 100 }, (_, i) => `w${i}`).join(' ');
      assert.equal(received.a, expected);
      assert.equal(received.b, expected);
      assert.equal(a.ref, 'ollama/llama3.2:latest');
      assert.equal(b.ref, 'ollama/qwen2.5-coder:7b');
    } finally {
      session.close();
    }
  });

  it('serves 50 concurrent clients', async () => {
    const sessions = await Promise.all(Array.from({ length: 50 }, () => connect(s)));
    try {
      const results = await Promise.all(
        sessions.map(async (session) => {
          let ok = 0;
          for (let i = 0; i < 20; i++) if ((await session.connection.sendRequest(StatusRequest)).pid === daemon.pid) ok++;
          return ok;
        }),
      );
      assert.equal(
        results.reduce((a, b) => a + b, 0),
        1000,
      );
    } finally {
      for (const session of sessions) session.close();
    }
  });
});
