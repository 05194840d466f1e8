import { strict as assert } from 'node:assert';
import { AnthropicAdapter } from '../../daemon/providers/anthropic';
import { GeminiAdapter } from '../../daemon/providers/gemini';
import { OpenAICompatibleAdapter } from '../../daemon/providers/openai-compatible';
import { ProviderError, type ChatEvent, type ProviderAdapter } from '../../daemon/providers/types';
import type { Usage } from '../../protocol/chat';
import { CloudSimulator, type CloudKind, type CloudUsagePlan } from '../fakes/cloud-simulator';

/**
 * One contract every cloud adapter passes, each through its official SDK (Gemini: fetch) against a
 * simulator of its provider's wire format: stream order, usage normalisation, error mapping,
 * cancellation, no retries of its own, connect and truncation handling, model listing.
 */

const KEY = 'sk-test-contract-0123456789abcdef';
const live = (): AbortSignal => new AbortController().signal;

async function collect(events: AsyncIterable<ChatEvent>, seen: ChatEvent[] = []): Promise<ChatEvent[]> {
  for await (const e of events) seen.push(e);
  return seen;
}

async function providerError(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ProviderError, `expected a ProviderError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a ProviderError');
}

interface Case {
  kind: CloudKind;
  model: string;
  keyEnv: string;
  make: (baseUrl: string, apiKey: string, connectTimeoutMs: number) => ProviderAdapter;
  /** What the plan below must normalise to for "one two three" (7 prompt tokens, 4 answer tokens). */
  usage: Usage;
  costUsd?: number;
  /** Model ids the listing must show, with the context windows the provider lists. */
  listed: [string, number | undefined][];
}

const PLAN: CloudUsagePlan = { cacheReadTokens: 100, cacheWriteTokens: 50, cacheWrite1hTokens: 20, reasoningTokens: 7, costUsd: 0.00123 };
const options = (kind: string, baseUrl: string, apiKey: string, connectTimeoutMs: number, keyEnv: string): ConstructorParameters<typeof AnthropicAdapter>[0] => ({
  hostName: kind,
  baseUrl,
  apiKey,
  connectTimeoutMs,
  keyEnv: [keyEnv],
});

const CASES: Case[] = [
  {
    kind: 'anthropic',
    model: 'claude-haiku-4-5',
    keyEnv: 'ANTHROPIC_API_KEY',
    make: (url, key, t) => new AnthropicAdapter(options('anthropic', url, key, t, 'ANTHROPIC_API_KEY')),
    // Anthropic reports thinking inside output_tokens, with no split: it stays output.
    usage: { inputTokens: 7, cacheReadTokens: 100, cacheWriteTokens: 50, cacheWrite1hTokens: 20, outputTokens: 11, reasoningTokens: 0 },
    listed: [
      ['claude-sonnet-4-5-20250929', 200000],
      ['claude-haiku-4-5', 200000],
    ],
  },
  {
    kind: 'openai',
    model: 'gpt-4.1-mini',
    keyEnv: 'OPENAI_API_KEY',
    make: (url, key, t) => new OpenAICompatibleAdapter('openai', options('openai', url, key, t, 'OPENAI_API_KEY')),
    // cached_tokens is inside prompt_tokens, reasoning_tokens inside completion_tokens; OpenAI reports no cache writes.
    usage: { inputTokens: 7, cacheReadTokens: 100, cacheWriteTokens: 0, outputTokens: 4, reasoningTokens: 7 },
    listed: [
      ['gpt-4.1-mini', undefined],
      ['gpt-4o', undefined],
    ],
  },
  {
    kind: 'openrouter',
    model: 'meta-llama/llama-3.3-70b-instruct',
    keyEnv: 'OPENROUTER_API_KEY',
    make: (url, key, t) => new OpenAICompatibleAdapter('openrouter', options('openrouter', url, key, t, 'OPENROUTER_API_KEY')),
    usage: { inputTokens: 7, cacheReadTokens: 100, cacheWriteTokens: 50, outputTokens: 4, reasoningTokens: 7 },
    costUsd: 0.00123,
    listed: [
      ['anthropic/claude-sonnet-4.5', 1000000],
      ['meta-llama/llama-3.3-70b-instruct', 131072],
    ],
  },
  {
    kind: 'gemini',
    model: 'gemini-2.5-flash',
    keyEnv: 'GEMINI_API_KEY',
    make: (url, key, t) => new GeminiAdapter(options('gemini', url, key, t, 'GEMINI_API_KEY')),
    // cachedContentTokenCount is inside promptTokenCount; thoughtsTokenCount is outside candidatesTokenCount.
    usage: { inputTokens: 7, cacheReadTokens: 100, cacheWriteTokens: 0, outputTokens: 4, reasoningTokens: 7 },
    listed: [
      ['gemini-2.5-flash', 1048576],
      ['gemini-2.5-pro', 1048576],
    ],
  },
];

for (const c of CASES) {
  describe(`provider contract: ${c.kind}`, () => {
    let sim: CloudSimulator;
    let adapter: ProviderAdapter;
    const ask = (content = 'one two three', signal = live()): AsyncIterable<ChatEvent> => adapter.streamChat({ model: c.model, messages: [{ role: 'user', content }] }, signal);

    beforeEach(async () => {
      sim = new CloudSimulator({ kind: c.kind, apiKey: KEY, usage: PLAN, keepAliveComments: true, modelsPageSize: 1 });
      adapter = c.make(await sim.start(), KEY, 2000);
    });
    afterEach(() => sim.stop());

    it('streams the text as deltas, then exactly one done with normalised usage', async () => {
      const events = await collect(ask());
      assert.equal(events.filter((e) => e.type === 'delta').map((e) => (e.type === 'delta' ? e.text : '')).join(''), 'Echo: one two three');
      assert.equal(events.filter((e) => e.type === 'done').length, 1);
      const done = events.at(-1);
      assert.ok(done?.type === 'done', 'done comes last');
      assert.deepEqual(done.usage, c.usage);
      assert.equal(done.providerCostUsd, c.costUsd);
    });

    it('lists its chat models (following pagination), with the context windows the provider gives', async () => {
      const models = await adapter.listModels(live());
      assert.deepEqual(
        models.map((m) => [m.id, m.contextWindow]),
        c.listed,
      );
      if (c.kind === 'openrouter') {
        assert.deepEqual(models[0]?.price, { inputPerMTok: 3, outputPerMTok: 15 });
      }
    });

    it('health passes with the key, and a wrong key is an auth error naming the variable, without the key', async () => {
      assert.deepEqual(await adapter.health(live()), {});
      const wrongKey = 'sk-wrong-key-9876543210fedcba';
      const wrong = c.make(sim.url, wrongKey, 2000);
      const error = await providerError(wrong.health(live()));
      assert.equal(error.kind, 'auth', error.message);
      assert.match(error.message, new RegExp(`check ${c.keyEnv}`));
      assert.ok(!error.message.includes(wrongKey) && !error.message.includes('9876543210'), error.message);
    });

    it('maps HTTP failures: 429 with its retry delay, 5xx to server, unknown model to not_found', async () => {
      sim.failNext({ kind: 'status', status: 429, retryAfterSec: 7 });
      const limited = await providerError(collect(ask()));
      assert.equal(limited.kind, 'rate_limited');
      assert.equal(limited.retryAfterMs, 7000);
      assert.equal(sim.chatCount(), 1, 'the adapter does not retry on its own: the daemon decides');
      const overloaded = c.kind === 'anthropic' ? 529 : 503;
      sim.failNext({ kind: 'status', status: overloaded });
      const server = await providerError(collect(ask()));
      assert.deepEqual([server.kind, server.status], ['server', overloaded]);
      const unknown = await providerError(collect(adapter.streamChat({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }, live())));
      // OpenRouter answers an unknown id with a 400 "not a valid model ID".
      assert.equal(unknown.kind, c.kind === 'openrouter' ? 'bad_request' : 'not_found', unknown.message);
      assert.match(unknown.message, /no-such-model/);
    });

    it('reports an error inside a 200 stream, and a stream cut before its end', async () => {
      sim.failNext({ kind: 'in-stream-error', afterChunks: 1 });
      const inStream = await providerError(collect(ask()));
      assert.match(inStream.message, /mid-stream/);
      sim.failNext({ kind: 'truncate', afterChunks: 2 });
      const seen: ChatEvent[] = [];
      const cut = await providerError(collect(ask(), seen));
      assert.equal(cut.kind, 'stream');
      assert.match(cut.message, /ended the stream before the answer was complete/);
      assert.equal(seen.filter((e) => e.type === 'done').length, 0);
    });

    it('cancellation aborts the upstream request promptly', async () => {
      sim.failNext({ kind: 'stall', afterChunks: 1 });
      const controller = new AbortController();
      const pending = providerError(collect(ask('one two three', controller.signal)));
      await sim.waitForFirstChunk();
      const started = Date.now();
      controller.abort();
      const error = await pending;
      assert.equal(error.kind, 'cancelled');
      await sim.waitForAbort();
      assert.ok(Date.now() - started < 1000, 'aborted within a second (the benchmark measures the real figure)');
    });

    it('gives up when the headers do not come within the connect deadline, and says it was not reachable when nothing listens', async () => {
      const quick = c.make(sim.url, KEY, 100);
      sim.failNext({ kind: 'headers-delay', ms: 1000 });
      const slow = await providerError(collect(quick.streamChat({ model: c.model, messages: [{ role: 'user', content: 'x' }] }, live())));
      assert.equal(slow.kind, 'timeout', slow.message);
      sim.failNext({ kind: 'reset' });
      const reset = await providerError(collect(ask()));
      assert.equal(reset.kind, 'unreachable', reset.message);
    });
  });
}
