import { strict as assert } from 'node:assert';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { CloudSimulator, type CloudSimulatorOptions } from '../fakes/cloud-simulator';

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

// The simulator is only worth having if the official SDKs cannot tell it from the real service,
// so every kind with an SDK is driven through it; Gemini's native API has no SDK here, so fetch.

describe('CloudSimulator', () => {
  let sim: CloudSimulator;
  const boot = (options: CloudSimulatorOptions): Promise<string> => {
    sim = new CloudSimulator(options);
    return sim.start();
  };
  const retryCounts = (): unknown[] => sim.requests.filter((r) => r.method === 'POST').map((r) => r.headers['x-stainless-retry-count']);
  afterEach(() => sim.stop());

  describe('anthropic through @anthropic-ai/sdk', () => {
    const client = (baseURL: string, maxRetries = 0): Anthropic => new Anthropic({ baseURL, apiKey: 'sk-ant-test', maxRetries });
    // claude-haiku-4-5: SDK 1.14 console.warns on every request naming claude-sonnet-4-5-20250929 (deprecated in its data).
    const params = { model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user' as const, content: 'hi there' }] };

    it('streams message_start … message_stop (pings skipped) with the usage plan in the SDK fields', async () => {
      const url = await boot({
        kind: 'anthropic',
        apiKey: 'sk-ant-test',
        keepAliveComments: true,
        usage: { cacheReadTokens: 100, cacheWriteTokens: 30, cacheWrite1hTokens: 10 },
      });
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const types: string[] = [];
      let text = '';
      for await (const event of await client(url).messages.create({ ...params, stream: true })) {
        types.push(event.type);
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
      }
      const deltas = Array<string>(3).fill('content_block_delta');
      assert.deepEqual(types, ['message_start', 'content_block_start', ...deltas, 'content_block_stop', 'message_delta', 'message_stop']);
      assert.equal(text, 'Echo: hi there');
      const final = await client(url).messages.stream(params).finalMessage();
      assert.equal(final.stop_reason, 'end_turn');
      // 4 per message + 2 words in; 3 words out; cache amounts from the plan, 1 h part split out.
      assert.deepEqual(
        [
          final.usage.input_tokens,
          final.usage.output_tokens,
          final.usage.cache_read_input_tokens,
          final.usage.cache_creation_input_tokens,
          final.usage.cache_creation,
        ],
        [6, 3, 100, 30, { ephemeral_5m_input_tokens: 20, ephemeral_1h_input_tokens: 10 }],
      );
      // SDK 1.x sends apiKey as a Bearer token, not X-Api-Key; the simulator accepts both.
      assert.equal(sim.requests[0]?.headers.authorization, 'Bearer sk-ant-test');
    });

    it('a 529 with retry-after-ms is retried by the SDK, which then gets the answer', async () => {
      const url = await boot({ kind: 'anthropic' });
      sim.failNext({ kind: 'status', status: 529, retryAfterMs: 1 });
      const message = await client(url, 1).messages.create(params);
      assert.deepEqual(message.content, [{ type: 'text', text: 'Echo: hi there' }]);
      assert.deepEqual(retryCounts(), ['0', '1']);
      assert.equal(sim.chatCount(), 2);
    });

    it('refuses with the exact error types: unknown model, missing max_tokens, wrong key', async () => {
      const url = await boot({ kind: 'anthropic', apiKey: 'right' });
      const right = new Anthropic({ baseURL: url, apiKey: 'right', maxRetries: 0 });
      await assert.rejects(
        right.messages.create({ ...params, model: 'claude-nope' }),
        (e: unknown) => e instanceof Anthropic.NotFoundError && e.type === 'not_found_error',
      );
      const noMax = { model: params.model, messages: params.messages } as unknown as typeof params;
      await assert.rejects(right.messages.create(noMax), (e: unknown) => e instanceof Anthropic.BadRequestError && /max_tokens/.test(e.message));
      await assert.rejects(client(url).messages.create(params), (e: unknown) => e instanceof Anthropic.AuthenticationError && typeof e.requestID === 'string');
    });

    it('pages the model list with has_more/after_id under the SDK auto-pagination', async () => {
      const url = await boot({ kind: 'anthropic', modelsPageSize: 1 });
      const ids: string[] = [];
      for await (const model of client(url).models.list()) ids.push(model.id);
      assert.deepEqual(ids, ['claude-sonnet-4-5-20250929', 'claude-haiku-4-5']);
      assert.deepEqual(
        sim.requests.map((r) => r.query.after_id),
        [undefined, 'claude-sonnet-4-5-20250929'],
      );
    });
  });

  describe('openai through openai', () => {
    const client = (baseURL: string, maxRetries = 0): OpenAI => new OpenAI({ baseURL, apiKey: 'sk-test', maxRetries });
    const ask = { model: 'gpt-4.1-mini', messages: [{ role: 'user' as const, content: 'a b c' }] };

    it('streams chunks and reports the usage chunk (choices: []) only when include_usage is set', async () => {
      const url = await boot({ kind: 'openai', usage: { cacheReadTokens: 50, reasoningTokens: 7 } });
      assert.match(url, /\/v1$/);
      const chunks = await collect(await client(url).chat.completions.create({ ...ask, stream: true, stream_options: { include_usage: true } }));
      assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), 'Echo: a b c');
      assert.equal(chunks.at(-2)?.choices[0]?.finish_reason, 'stop');
      const usage = chunks.at(-1)?.usage;
      assert.deepEqual(chunks.at(-1)?.choices, []);
      // prompt_tokens includes the cached 50; completion_tokens includes the 7 reasoning tokens.
      assert.deepEqual(
        [usage?.prompt_tokens, usage?.prompt_tokens_details?.cached_tokens, usage?.completion_tokens, usage?.completion_tokens_details?.reasoning_tokens],
        [57, 50, 11, 7],
      );
      const plain = await collect(await client(url).chat.completions.create({ ...ask, stream: true }));
      assert.ok(plain.every((c) => c.usage === undefined && c.choices.length === 1));
    });

    it('a 429 with retry-after-ms is retried; an in-stream error throws after the text before it', async () => {
      const url = await boot({ kind: 'openai' });
      sim.failNext({ kind: 'status', status: 429, retryAfterMs: 1 });
      const done = await client(url, 1).chat.completions.create(ask);
      assert.equal(done.choices[0]?.message.content, 'Echo: a b c');
      assert.deepEqual(retryCounts(), ['0', '1']);
      sim.failNext({ kind: 'in-stream-error', afterChunks: 1, message: 'boom' });
      const seen: string[] = [];
      const failing = async (): Promise<void> => {
        for await (const c of await client(url).chat.completions.create({ ...ask, stream: true })) seen.push(c.choices[0]?.delta.content ?? '');
      };
      await assert.rejects(failing(), (e: unknown) => e instanceof OpenAI.APIError && e.status === undefined && /boom/.test(e.message));
      assert.deepEqual(seen, ['', 'Echo:']);
      await assert.rejects(
        client(url).chat.completions.create({ ...ask, model: 'gpt-9' }),
        (e: unknown) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found',
      );
    });

    it('a client abort during a stall is counted', async () => {
      const url = await boot({ kind: 'openai' });
      sim.failNext({ kind: 'stall', afterChunks: 1 });
      const controller = new AbortController();
      const aborted = sim.waitForAbort(2000);
      void sim.waitForFirstChunk(2000).then(() => controller.abort());
      const reading = async (): Promise<void> => {
        for await (const _ of await client(url).chat.completions.create({ ...ask, stream: true }, { signal: controller.signal })) void _;
      };
      await reading().catch((e: unknown) => assert.ok(e instanceof Error && /abort/i.test(e.name + e.message)));
      await aborted;
      assert.equal(sim.abortedCount(), 1);
    });
  });

  describe('openrouter through openai', () => {
    it('streams past keep-alive comments, always reports usage with cost and cache writes', async () => {
      const url = await boot({ kind: 'openrouter', keepAliveComments: true, usage: { cacheReadTokens: 10, cacheWriteTokens: 20 } });
      assert.match(url, /\/api\/v1$/);
      const client = new OpenAI({ baseURL: url, apiKey: 'sk-or-v1-test', maxRetries: 0 });
      const chunks = await collect(
        await client.chat.completions.create({ model: 'anthropic/claude-sonnet-4.5', messages: [{ role: 'user', content: 'yo' }], stream: true }),
      );
      assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), 'Echo: yo');
      assert.match(chunks[0]?.id ?? '', /^gen-/);
      const usage = chunks.at(-1)?.usage as unknown as {
        prompt_tokens: number;
        completion_tokens: number;
        cost: number;
        prompt_tokens_details: { cached_tokens: number; cache_write_tokens: number };
      };
      // 5 counted + 10 read + 20 written = 35 prompt tokens at $3/M, 2 completion tokens at $15/M.
      assert.deepEqual(
        [usage.prompt_tokens, usage.prompt_tokens_details, usage.completion_tokens, usage.cost],
        [35, { cached_tokens: 10, cache_write_tokens: 20, audio_tokens: 0 }, 2, 0.000135],
      );
      const models = (await (await fetch(`${url}/models`)).json()) as { data: { id: string; context_length: number; pricing: { prompt: string } }[] };
      assert.deepEqual(
        models.data.map((m) => [m.id, m.context_length, m.pricing.prompt]),
        [
          ['anthropic/claude-sonnet-4.5', 1000000, '0.000003'],
          ['meta-llama/llama-3.3-70b-instruct', 131072, '0.00000013'],
        ],
      );
      const key = (await (await fetch(`${url}/key`, { headers: { authorization: 'Bearer sk-or-v1-test' } })).json()) as {
        data: { usage: number; limit: number };
      };
      assert.deepEqual([key.data.usage, key.data.limit], [0.000135, 100]);
    });
  });

  describe('gemini native API through fetch', () => {
    const post = (url: string, path: string, key = 'g-key'): Promise<Response> =>
      fetch(`${url}/v1beta/models/${path}`, {
        method: 'POST',
        headers: { 'x-goog-api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hello' }] }] }),
      });

    it('streams \\r\\n\\r\\n-separated SSE, final chunk with finishReason and the plan in usageMetadata', async () => {
      const url = await boot({ kind: 'gemini', apiKey: 'g-key', usage: { cacheReadTokens: 40, reasoningTokens: 9 } });
      const body = await (await post(url, 'gemini-2.5-flash:streamGenerateContent?alt=sse')).text();
      assert.ok(body.endsWith('}\r\n\r\n') && !body.includes('[DONE]'));
      type Chunk = { candidates: { content: { parts: { text: string }[] }; finishReason?: string }[]; usageMetadata: Record<string, number> };
      const chunks = body
        .split('\r\n\r\n')
        .filter(Boolean)
        .map((e) => JSON.parse(e.replace(/^data: /, '')) as Chunk);
      assert.equal(chunks.map((c) => c.candidates[0]?.content.parts[0]?.text).join(''), 'Echo: hello');
      assert.deepEqual(
        chunks.map((c) => c.candidates[0]?.finishReason),
        [undefined, 'STOP'],
      );
      const { promptTokenCount, cachedContentTokenCount, candidatesTokenCount, thoughtsTokenCount, totalTokenCount } = chunks[1]?.usageMetadata ?? {};
      assert.deepEqual([promptTokenCount, cachedContentTokenCount, candidatesTokenCount, thoughtsTokenCount, totalTokenCount], [45, 40, 2, 9, 56]);
    });

    it('errors in Google form: bad key is 400 API_KEY_INVALID, 429 carries RetryInfo', async () => {
      const url = await boot({ kind: 'gemini', apiKey: 'g-key' });
      const bad = (await (await post(url, 'gemini-2.5-flash:generateContent', 'wrong')).json()) as {
        error: { code: number; status: string; details: { reason?: string }[] };
      };
      assert.deepEqual([bad.error.code, bad.error.status, bad.error.details[0]?.reason], [400, 'INVALID_ARGUMENT', 'API_KEY_INVALID']);
      sim.failNext({ kind: 'status', status: 429, retryAfterSec: 3 });
      const limited = await post(url, 'gemini-2.5-flash:generateContent');
      const body = (await limited.json()) as { error: { status: string; details: { retryDelay?: string }[] } };
      assert.deepEqual([limited.status, body.error.status, body.error.details.find((d) => d.retryDelay)?.retryDelay], [429, 'RESOURCE_EXHAUSTED', '3s']);
    });

    it('pages the model list with nextPageToken, including an embedding model without generateContent', async () => {
      const url = await boot({ kind: 'gemini', modelsPageSize: 2 });
      type Page = { models: { name: string; supportedGenerationMethods: string[] }[]; nextPageToken?: string };
      const first = (await (await fetch(`${url}/v1beta/models?key=k`)).json()) as Page;
      const second = (await (await fetch(`${url}/v1beta/models?key=k&pageToken=${first.nextPageToken ?? ''}`)).json()) as Page;
      assert.equal(second.nextPageToken, undefined);
      const all = [...first.models, ...second.models];
      assert.deepEqual(
        all.map((m) => m.name),
        ['models/gemini-2.5-flash', 'models/gemini-2.5-pro', 'models/gemini-embedding-001'],
      );
      assert.deepEqual(all.filter((m) => m.supportedGenerationMethods.includes('generateContent')).length, 2);
    });
  });
});
