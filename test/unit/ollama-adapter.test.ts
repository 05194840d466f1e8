import { strict as assert } from 'node:assert';
import { collect, providerError } from '../helpers/provider-events';
import * as net from 'node:net';
import { OllamaAdapter } from '../../daemon/providers/ollama';
import { ProviderError, type ChatEvent, type ChatRequest } from '../../daemon/providers/types';
import { OllamaSimulator } from '../fakes/ollama-simulator';

const texts = (events: ChatEvent[]): string[] => events.flatMap((e) => (e.type === 'delta' ? [e.text] : []));
const live = (): AbortSignal => new AbortController().signal;
const ask = (content: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({ model: 'llama3.2:latest', messages: [{ role: 'user', content }], ...extra });

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('OllamaAdapter against the simulator', () => {
  let sim: OllamaSimulator;
  let adapter: OllamaAdapter;
  const chat = (content: string, extra: Partial<ChatRequest> = {}, signal = live()): Promise<ChatEvent[]> =>
    collect(adapter.streamChat(ask(content, extra), signal));

  beforeEach(async () => {
    sim = new OllamaSimulator({ version: '0.5.7' });
    adapter = new OllamaAdapter({ baseUrl: await sim.start(), hostName: 'gpu-box', keepAlive: '10m' });
  });
  afterEach(() => sim.stop());

  describe('health and models', () => {
    it('reads the server version', async () => {
      assert.deepEqual(await adapter.health(live()), { version: '0.5.7' });
      assert.deepEqual(
        sim.requests.map((r) => `${r.method} ${r.path}`),
        ['GET /api/version'],
      );
    });

    it('lists the installed models with their details, context window and capabilities from /api/show', async () => {
      const models = await adapter.listModels(live());
      assert.deepEqual(models, [
        {
          id: 'llama3.2:latest',
          kind: 'chat',
          contextWindow: 131072,
          details: { size: 2019393189, family: 'llama', parameters: '3.2B', quantization: 'Q4_K_M', capabilities: 'completion,tools' },
        },
        {
          id: 'qwen2.5-coder:7b',
          kind: 'chat',
          contextWindow: 32768,
          details: { size: 4683087332, family: 'qwen2', parameters: '7.6B', quantization: 'Q4_K_M', capabilities: 'completion,tools' },
        },
      ]);
      await adapter.listModels(live());
      assert.equal(sim.requests.filter((r) => r.path === '/api/show').length, 2, '/api/show is asked once per model');
    });
  });

  describe('streamChat', () => {
    it('yields the deltas in order, then one done with the usage from the final chunk', async () => {
      const events = await chat('one two three');
      assert.deepEqual(texts(events), ['Echo:', ' one', ' two', ' three']);
      assert.equal(events.filter((e) => e.type === 'done').length, 1);
      // The simulator counts 4 tokens per message plus one per word (prompt_eval_count) and one per chunk (eval_count).
      // tokens/s from eval_count over eval_duration (the simulator reports 30 ms a token).
      assert.deepEqual(events.at(-1), {
        type: 'done',
        usage: { inputTokens: 7, outputTokens: 4, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
        finishReason: 'stop',
        providerFinishReason: 'stop',
        tokensPerSecond: 4 / 0.12,
      });
    });

    it('sends the model, messages, stream, keep_alive and num_ctx; num_predict only when limited', async () => {
      await chat('a');
      const events = await chat('a b c d', { model: 'qwen2.5-coder:7b', maxOutputTokens: 2 });
      assert.deepEqual(events.at(-1), {
        type: 'done',
        usage: { inputTokens: 8, outputTokens: 2, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
        finishReason: 'length',
        providerFinishReason: 'length',
        tokensPerSecond: 2 / 0.06,
      });
      const bodies = sim.requests.filter((r) => r.path === '/api/chat').map((r) => r.body);
      assert.deepEqual(bodies, [
        { model: 'llama3.2:latest', messages: [{ role: 'user', content: 'a' }], stream: true, keep_alive: '10m', options: { num_ctx: 4096 } },
        {
          model: 'qwen2.5-coder:7b',
          messages: [{ role: 'user', content: 'a b c d' }],
          stream: true,
          keep_alive: '10m',
          options: { num_ctx: 4096, num_predict: 2 },
        },
      ]);
    });

    it('sizes num_ctx to the prompt, so a long prompt is not cut to the 4096 default', async () => {
      const long = 'word '.repeat(20000);
      const events = await chat(long);
      const body = sim.requests.filter((r) => r.path === '/api/chat').at(-1)?.body as { options: { num_ctx: number } };
      assert.equal(body.options.num_ctx, 32768);
      const done = events.at(-1);
      assert.ok(done?.type === 'done');
      assert.equal(done.usage.inputTokens, 20004, 'the whole prompt was evaluated');
      assert.equal(events.filter((e) => e.type === 'warning').length, 0);
    });

    it('never asks beyond the model window, and warns when Ollama had to cut the prompt', async () => {
      const events = await chat('word '.repeat(40000), { model: 'qwen2.5-coder:7b' });
      const body = sim.requests.filter((r) => r.path === '/api/chat').at(-1)?.body as { options: { num_ctx: number } };
      assert.equal(body.options.num_ctx, 32768, "qwen2.5-coder's trained window");
      const warnings = events.filter((e) => e.type === 'warning');
      assert.equal(warnings.length, 1);
      assert.match(
        warnings[0]?.type === 'warning' ? warnings[0].message : '',
        /the prompt filled the 32768-token context window of qwen2.5-coder:7b on host gpu-box, so Ollama dropped its beginning/,
      );
    });

    it('a configured ollama.numCtx is sent as is', async () => {
      const fixed = new OllamaAdapter({ baseUrl: sim.url, hostName: 'gpu-box', numCtx: 8192 });
      await collect(fixed.streamChat(ask('a'), live()));
      const body = sim.requests.filter((r) => r.path === '/api/chat').at(-1)?.body as { options: { num_ctx: number } };
      assert.equal(body.options.num_ctx, 8192);
      assert.equal(sim.requests.filter((r) => r.path === '/api/show').length, 0, 'no need to ask the model window');
    });
  });

  describe('errors', () => {
    it('a model that is not pulled → not_found with the `aic pull` command', async () => {
      const error = await providerError(chat('x', { model: 'mistral:7b' }));
      assert.equal(error.kind, 'not_found');
      assert.equal(error.status, 404);
      assert.equal(error.message, "model 'mistral:7b' is not pulled on host gpu-box — run `aic pull mistral:7b --host gpu-box`");
    });

    it('HTTP errors → server, rate_limited, auth, bad_request with the status', async () => {
      const cases: [number, string][] = [
        [500, 'server'],
        [503, 'server'],
        [429, 'rate_limited'],
        [401, 'auth'],
        [400, 'bad_request'],
      ];
      for (const [status, kind] of cases) {
        sim.failNext(status, `failure ${status}`);
        const error = await providerError(chat('x'));
        assert.equal(error.kind, kind, `status ${status}`);
        assert.equal(error.status, status);
        assert.equal(error.message, `Ollama at ${sim.url} answered ${status}: failure ${status}`);
      }
    });

    it('an error inside the stream → stream, after the text before it', async () => {
      sim.failMidStream('llama runner process has terminated', 2);
      const seen: ChatEvent[] = [];
      const error = await providerError(collect(adapter.streamChat(ask('a b c d'), live()), seen));
      assert.equal(error.kind, 'stream');
      assert.equal(error.message, `Ollama at ${sim.url} failed: llama runner process has terminated`);
      assert.deepEqual(texts(seen), ['Echo:', ' a']);
    });

    it('nothing listening → unreachable, saying to run `ollama serve`', async () => {
      const url = `http://127.0.0.1:${await closedPort()}`;
      const down = new OllamaAdapter({ baseUrl: url, hostName: 'ollama' });
      const expected = new RegExp(
        `^Ollama is not running at ${url.replace(/\./g, '\\.')} \\(ECONNREFUSED\\) — ` +
          `start it with \`ollama serve\` \\(or set OLLAMA_HOST to where it runs\\)$`,
      );
      for (const attempt of [down.health(live()), down.listModels(live()), collect(down.streamChat(ask('x'), live()))]) {
        const error = await providerError(attempt);
        assert.equal(error.kind, 'unreachable');
        assert.match(error.message, expected);
      }
    });
  });

  describe('cancellation', () => {
    it('aborting mid-stream closes the upstream response and reports cancelled', async () => {
      sim.setTokenDelay(30);
      const controller = new AbortController();
      const aborted = sim.waitForAbort();
      const seen: string[] = [];
      const error = await providerError(
        (async () => {
          for await (const event of adapter.streamChat(ask('a b c d e f g h'), controller.signal)) {
            if (event.type === 'delta') {
              seen.push(event.text);
              controller.abort();
            }
          }
        })(),
      );
      assert.equal(error.kind, 'cancelled');
      assert.deepEqual(seen, ['Echo:']);
      await aborted;
      assert.equal(sim.abortedStreams, 1);
    });

    it('an already aborted signal sends nothing', async () => {
      const controller = new AbortController();
      controller.abort();
      const error = await providerError(chat('x', {}, controller.signal));
      assert.equal(error.kind, 'cancelled');
      assert.equal(sim.requests.length, 0);
    });

    it('a ProviderError given as the abort reason is what the caller gets', async () => {
      sim.setTokenDelay(30);
      const controller = new AbortController();
      const reason = new ProviderError('timeout', 'no first token within 5 s');
      const aborted = sim.waitForAbort();
      const error = await providerError(
        (async () => {
          for await (const event of adapter.streamChat(ask('a b c d'), controller.signal)) if (event.type === 'delta') controller.abort(reason);
        })(),
      );
      assert.equal(error, reason);
      await aborted;
    });
  });
});
