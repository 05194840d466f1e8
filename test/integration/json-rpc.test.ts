import { strict as assert } from 'node:assert';
import { JsonRpcCodes } from '../../protocol/errors';
import { PROTOCOL_VERSION } from '../../protocol/version';
import { OllamaSimulator } from '../fakes/ollama-simulator';
import { demoProject } from '../helpers/demo-project';
import { makeSandbox, startForeground, teardown, type Sandbox } from '../helpers/daemon';
import { RawClient } from '../helpers/raw-rpc';

/**
 * JSON-RPC 2.0 as third-party clients speak it (issue 13): raw bytes on the daemon's socket, so
 * what is sent in one read really arrives in one read.
 */
describe('JSON-RPC on the socket, as other clients speak it', function () {
  this.timeout(30000);
  let s: Sandbox;
  let sim: OllamaSimulator;
  const reply = Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ');

  beforeEach(async () => {
    sim = new OllamaSimulator({ tokenDelayMs: 20, reply: () => reply });
    await sim.start();
    s = makeSandbox({ ollamaUrl: sim.url, config: { handshakeTimeoutMs: 60000 } });
    await startForeground(s);
  });
  afterEach(async () => {
    await teardown(s);
    await sim.stop();
  });

  function frame(message: unknown): string {
    const body = JSON.stringify(message);
    return `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  }

  async function handshaken(): Promise<RawClient> {
    const raw = await RawClient.connect(s.socket);
    raw.handshake(0);
    await raw.response(0);
    return raw;
  }

  /** The next message the daemon sends. */
  async function next(raw: RawClient, seen: number): Promise<Record<string, unknown>> {
    for (let i = 0; i < 500 && raw.received <= seen; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(raw.received > seen, 'no answer within 5 s');
    return raw.all[seen];
  }

  const chatCalls = (): number => sim.requests.filter((r) => r.path === '/api/chat').length;

  it('answers invalid requests with -32600 (their id when usable, else null) and keeps the connection', async () => {
    const raw = await handshaken();
    const cases: [unknown, string | number | null, RegExp][] = [
      [42, null, /not a number/],
      [{ id: 5 }, 5, /no "method"/],
      [{ jsonrpc: '2.0', id: 1, method: 5 }, 1, /"method" must be a string/],
      [{ jsonrpc: '2.0', id: null, method: 'aid/status' }, null, /"id" must be a string or a number/],
      [[], null, /empty array/],
      [{ jsonrpc: '2.0', id: 'p', method: 'aid/status', params: 'all' }, 'p', /"params" must be an object/],
    ];
    for (const [message, id, reason] of cases) {
      const seen = raw.received;
      raw.writeRaw(frame(message));
      const answer = await next(raw, seen);
      assert.equal(answer.id, id, JSON.stringify(message));
      const error = answer.error as { code: number; message: string };
      assert.equal(error.code, JsonRpcCodes.InvalidRequest, JSON.stringify(message));
      assert.match(error.message, reason);
    }
    raw.send({ id: 9, method: 'aid/status' });
    assert.ok((await raw.response(9)).result, 'the connection still serves');
    raw.close();
  });

  it('answers a batch with one -32600, even one holding the handshake, and the connection can still handshake', async () => {
    const raw = await RawClient.connect(s.socket);
    raw.writeRaw(
      frame([
        { jsonrpc: '2.0', id: 0, method: 'aid/handshake', params: { clientVersion: '0', protocolVersion: PROTOCOL_VERSION, client: 'raw', capabilities: [] } },
      ]),
    );
    const answer = await next(raw, 0);
    assert.equal(answer.id, null);
    assert.equal((answer.error as { code: number }).code, JsonRpcCodes.InvalidRequest);
    assert.match((answer.error as { message: string }).message, /batches .* are not supported: send each request as a frame of its own/);
    raw.handshake(1);
    assert.ok((await raw.response(1)).result);
    assert.equal(raw.received, 2, 'one answer for the batch');
    raw.close();
  });

  it('a $/cancelRequest in the same read as its aid/ask stops it: -32800, no provider call, nothing charged', async () => {
    const raw = await handshaken();
    raw.writeRaw(
      frame({ jsonrpc: '2.0', id: 1, method: 'aid/ask', params: { prompt: 'hello', model: 'ollama/llama3.2', streamToken: 't1', noContext: true } }) +
        frame({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 1 } }),
    );
    const answer = await raw.response(1);
    assert.equal((answer.error as { code: number } | undefined)?.code, JsonRpcCodes.RequestCancelled, JSON.stringify(answer));
    raw.send({ id: 2, method: 'aid/status' });
    const status = (await raw.response(2)).result as { store: { requests: number } };
    assert.equal(status.store.requests, 0, 'no ledger row: nothing was asked of the provider');
    assert.equal(chatCalls(), 0);
    assert.equal(raw.all.filter((m) => m.method === 'aid/ask/delta').length, 0);
    raw.close();
  });

  it('a $/cancelRequest in the same read as its aid/context stops it with -32800', async () => {
    const project = demoProject(s);
    const raw = await handshaken();
    raw.writeRaw(
      frame({ jsonrpc: '2.0', id: 'ctx', method: 'aid/context', params: { project, query: 'reserveBudget' } }) +
        frame({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 'ctx' } }),
    );
    const answer = await raw.response('ctx');
    assert.equal((answer.error as { code: number } | undefined)?.code, JsonRpcCodes.RequestCancelled, JSON.stringify(answer).slice(0, 300));
    // Without the cancel the same request answers: the -32800 above is the cancel's doing.
    raw.send({ id: 'again', method: 'aid/context', params: { project, query: 'reserveBudget' } });
    assert.ok((await raw.response('again')).result);
    raw.close();
  });

  it('refuses a second ask with a stream token already streaming on the connection (-32602 naming it); the first streams alone', async () => {
    const raw = await handshaken();
    raw.send({ id: 1, method: 'aid/ask', params: { prompt: 'one', model: 'ollama/llama3.2', streamToken: 'same', noContext: true } });
    await raw.notification('aid/ask/delta');
    raw.send({ id: 2, method: 'aid/ask', params: { prompt: 'two', model: 'ollama/llama3.2', streamToken: 'same', noContext: true } });
    const second = await raw.response(2, 20000);
    const refused = second.error as { code: number; message: string } | undefined;
    assert.ok(refused, `the second ask ran: ${JSON.stringify(second).slice(0, 200)}`);
    assert.equal(refused.code, JsonRpcCodes.InvalidParams);
    assert.match(refused.message, /streamToken "same" is already streaming another request on this connection/);
    assert.ok((await raw.response(1, 20000)).result);
    const streamed = raw.all
      .filter((m) => m.method === 'aid/ask/delta')
      .map((m) => (m.params as { text: string }).text)
      .join('');
    assert.equal(streamed, reply, 'the first answer, and nothing of a second');
    assert.equal(chatCalls(), 1);
    // Its request over, the token may be used again.
    raw.send({ id: 3, method: 'aid/ask', params: { prompt: 'three', model: 'ollama/llama3.2', streamToken: 'same', noContext: true } });
    assert.ok((await raw.response(3, 20000)).result);
    raw.close();
  });

  it('takes [] as empty params where a method needs none (vim.json.encode({})), refuses positional params elsewhere with -32602', async () => {
    const raw = await RawClient.connect(s.socket);
    raw.send({ id: 0, method: 'aid/handshake', params: [] });
    const handshake = (await raw.response(0)).error as { code: number; message: string };
    assert.equal(handshake.code, JsonRpcCodes.InvalidParams);
    assert.match(handshake.message, /aid\/handshake takes its params by name, as a JSON object, not as a list/);
    raw.handshake(1);
    await raw.response(1);
    for (const [id, method] of [
      [2, 'aid/status'],
      [3, 'aid/models'],
      [4, 'aid/hosts'],
    ] as const) {
      raw.send({ id, method, params: [] });
      const answer = await raw.response(id);
      assert.equal(answer.error, undefined, `${method}: ${JSON.stringify(answer.error)}`);
      assert.ok(answer.result !== undefined, method);
    }
    raw.send({ id: 5, method: 'aid/ask', params: ['hello'] });
    assert.equal(((await raw.response(5)).error as { code: number }).code, JsonRpcCodes.InvalidParams);
    raw.close();
  });
});
