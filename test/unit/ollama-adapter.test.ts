import { strict as assert } from 'node:assert';
import { OllamaAdapter } from '../../daemon/providers/ollama';
import { ProviderError, type ChatEvent } from '../../daemon/providers/types';
import { OllamaSimulator } from '../fakes/ollama-simulator';

async function collect(events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

async function providerError(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ProviderError, String(error));
    return error;
  }
  assert.fail('expected a ProviderError');
}

describe('OllamaAdapter against the simulator', () => {
  let sim: OllamaSimulator;
  let adapter: OllamaAdapter;
  const signal = (): AbortSignal => new AbortController().signal;
  beforeEach(async () => {
    sim = new OllamaSimulator();
    adapter = new OllamaAdapter({ baseUrl: await sim.start(), hostName: 'ollama', keepAlive: '10m' });
  });
  afterEach(() => sim.stop());

  it('reads the version and the installed models', async () => {
    assert.deepEqual(await adapter.health(signal()), { version: '0.12.6' });
    const models = await adapter.listModels(signal());
    assert.deepEqual(models.map((m) => m.id), ['llama3.2:latest', 'qwen2.5-coder:7b']);
    assert.equal(models[0]?.details?.family, 'llama');
  });

  it('streams deltas, then usage from the done chunk, sending keep_alive', async () => {
    const events = await collect(adapter.streamChat({ model: 'llama3.2:latest', messages: [{ role: 'user', content: 'one two' }], maxOutputTokens: 50 }, signal()));
    assert.deepEqual(events.filter((e) => e.type === 'delta').map((e) => (e as { text: string }).text), ['Echo:', ' one', ' two']);
    const done = events.at(-1);
    assert.deepEqual(done, { type: 'done', usage: { inputTokens: 6, outputTokens: 3, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }, finishReason: 'stop' });
    const body = sim.requests.find((r) => r.path === '/api/chat')?.body as { stream: boolean; keep_alive: string; options: { num_predict: number } };
    assert.equal(body.stream, true);
    assert.equal(body.keep_alive, '10m');
    assert.equal(body.options.num_predict, 50);
  });

  it('translates 404, 500, in-band errors and a dead server', async () => {
    const missing = await providerError(collect(adapter.streamChat({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }, signal())));
    assert.equal(missing.kind, 'not_found');
    assert.match(missing.message, /model 'nope' is not pulled on host ollama — run `ollama pull nope`/);
    sim.failNext(500, 'boom');
    const server = await providerError(collect(adapter.streamChat({ model: 'llama3.2:latest', messages: [{ role: 'user', content: 'x' }] }, signal())));
    assert.equal(server.kind, 'server');
    assert.equal(server.status, 500);
    sim.failMidStream('runner died', 1);
    const stream = await providerError(collect(adapter.streamChat({ model: 'llama3.2:latest', messages: [{ role: 'user', content: 'a b c' }] }, signal())));
    assert.equal(stream.kind, 'stream');
    assert.match(stream.message, /runner died/);
    const url = sim.url;
    await sim.stop();
    const down = await providerError(new OllamaAdapter({ baseUrl: url, hostName: 'ollama' }).health(signal()));
    assert.equal(down.kind, 'unreachable');
    assert.match(down.message, /Ollama is not running at http:\/\/127\.0\.0\.1:\d+ \((ECONNREFUSED|UND_ERR_SOCKET)\) — start it with `ollama serve`/);
    sim = new OllamaSimulator();
    await sim.start();
  });

  it('aborting the signal closes the upstream stream', async () => {
    sim.setTokenDelay(30);
    const controller = new AbortController();
    const aborted = sim.waitForAbort();
    const error = await providerError(
      (async () => {
        for await (const event of adapter.streamChat({ model: 'llama3.2:latest', messages: [{ role: 'user', content: 'a b c d e f g h' }] }, controller.signal)) {
          if (event.type === 'delta') controller.abort();
        }
      })(),
    );
    assert.equal(error.kind, 'cancelled');
    await aborted;
    assert.equal(sim.abortedStreams, 1);
  });
});
