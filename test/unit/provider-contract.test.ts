import { strict as assert } from 'node:assert';
import { collect, providerError } from '../helpers/provider-events';
import { AnthropicAdapter, defaultMaxTokens } from '../../daemon/providers/anthropic';
import { GeminiAdapter } from '../../daemon/providers/gemini';
import { OpenAICompatibleAdapter } from '../../daemon/providers/openai-compatible';
import type { ChatEvent, ProviderAdapter } from '../../daemon/providers/types';
import type { Usage } from '../../protocol/chat';
import { CloudSimulator, type CloudKind, type CloudUsagePlan } from '../fakes/cloud-simulator';
import { OllamaSimulator } from '../fakes/ollama-simulator';
import { OllamaAdapter } from '../../daemon/providers/ollama';
import type { AskService } from '../../daemon/chat/ask';
import { buildAskService } from '../helpers/ask-service';
import { HostRegistry } from '../../daemon/catalog/registry';
import type { HostDefinition } from '../../daemon/catalog/hosts';
import { Ledger } from '../../daemon/ledger/ledger';
import { FileLogger } from '../../daemon/log/logger';
import { Redactor } from '../../daemon/log/redact';
import { Store } from '../../daemon/store/store';
import { ErrorCodes } from '../../protocol/errors';
import { AidError } from '../../daemon/errors/aid-error';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The faults the contract needs, whichever simulator plays the provider. */
interface Driver {
  start(): Promise<string>;
  stop(): Promise<void>;
  readonly url: string;
  failStatus(status: number, retryAfterSec?: number): void;
  failInStream(afterChunks: number, status?: number): void;
  truncate(afterChunks: number): void;
  stall(afterChunks: number): void;
  delayHeaders(ms: number): void;
  reset(): void;
  waitForFirstChunk(): Promise<void>;
  waitForAbort(): Promise<void>;
  chatCount(): number;
  /** Answers start with `chunks` of thinking, one every `delayMs`. */
  think(chunks: number, delayMs: number): void;
}

function cloudDriver(kind: CloudKind): Driver {
  const sim = new CloudSimulator({ kind, apiKey: KEY, usage: PLAN, keepAliveComments: true, modelsPageSize: 1 });
  return {
    start: () => sim.start(),
    stop: () => sim.stop(),
    get url() {
      return sim.url;
    },
    failStatus: (status, retryAfterSec) => sim.failNext({ kind: 'status', status, ...(retryAfterSec !== undefined ? { retryAfterSec } : {}) }),
    failInStream: (afterChunks, status) => sim.failNext({ kind: 'in-stream-error', afterChunks, ...(status !== undefined ? { status } : {}) }),
    truncate: (afterChunks) => sim.failNext({ kind: 'truncate', afterChunks }),
    stall: (afterChunks) => sim.failNext({ kind: 'stall', afterChunks }),
    delayHeaders: (ms) => sim.failNext({ kind: 'headers-delay', ms }),
    reset: () => sim.failNext({ kind: 'reset' }),
    waitForFirstChunk: () => sim.waitForFirstChunk(),
    waitForAbort: () => sim.waitForAbort(),
    chatCount: () => sim.chatCount(),
    think: (chunks, delayMs) => {
      sim.setThinking(chunks);
      sim.setTokenDelay(delayMs);
    },
  };
}

function ollamaDriver(): Driver {
  const sim = new OllamaSimulator();
  return {
    start: () => sim.start(),
    stop: () => sim.stop(),
    get url() {
      return sim.url;
    },
    failStatus: (status, retryAfterSec) => sim.failNext(status, `failure ${status}`, 1, retryAfterSec),
    failInStream: (afterChunks) => sim.failMidStream('model runner has unexpectedly stopped', afterChunks),
    truncate: (afterChunks) => sim.truncateNext(afterChunks),
    stall: (afterChunks) => sim.stallNext(afterChunks),
    delayHeaders: (ms) => sim.delayHeadersNext(ms),
    reset: () => sim.resetNext(),
    waitForFirstChunk: () => sim.waitForFirstChunk(),
    waitForAbort: () => sim.waitForAbort(),
    chatCount: () => sim.chatCount(),
    think: (chunks, delayMs) => {
      sim.setThinking(chunks);
      sim.setTokenDelay(delayMs);
    },
  };
}

/**
 * One contract every adapter passes (Ollama and the four cloud providers), each through its
 * official SDK (Gemini: fetch) against a simulator of its provider's wire format: stream order,
 * usage normalisation, error mapping, cancellation, no retries of its own, connect and truncation
 * handling, model listing; and, through the daemon's AskService, retry-after and idle timeout.
 */

const KEY = 'sk-test-contract-0123456789abcdef';
const live = (): AbortSignal => new AbortController().signal;

interface Case {
  kind: CloudKind | 'ollama';
  driver: () => Driver;
  model: string;
  /** The variable a refused key names; Ollama has no keys. */
  keyEnv?: string;
  make: (baseUrl: string, apiKey: string, connectTimeoutMs: number) => ProviderAdapter;
  /** Whether a 429's retry-after reaches the adapter (ollama-js hides response headers). */
  seesRetryAfter: boolean;
  /** Whether the adapter bounds the wait for headers; Ollama's come with the first token. */
  hasConnectTimeout: boolean;
  /** Whether the provider shows progress while it thinks (OpenAI's chat completions do not). */
  thinksVisibly: boolean;
  /** What the plan below must normalise to for "one two three" (7 prompt tokens, 4 answer tokens). */
  usage: Usage;
  costUsd?: number;
  /** Model ids the listing must show, with the context windows the provider lists. */
  listed: [string, number | undefined][];
}

const PLAN: CloudUsagePlan = { cacheReadTokens: 100, cacheWriteTokens: 50, cacheWrite1hTokens: 20, reasoningTokens: 7, costUsd: 0.00123 };
const options = (
  kind: string,
  baseUrl: string,
  apiKey: string,
  connectTimeoutMs: number,
  keyEnv: string,
): ConstructorParameters<typeof AnthropicAdapter>[0] => ({
  hostName: kind,
  baseUrl,
  apiKey,
  connectTimeoutMs,
  keyEnv: [keyEnv],
});

const CASES: Case[] = [
  {
    kind: 'ollama',
    driver: ollamaDriver,
    model: 'llama3.2:latest',
    make: (url) => new OllamaAdapter({ baseUrl: url, hostName: 'ollama' }),
    seesRetryAfter: false,
    hasConnectTimeout: false,
    thinksVisibly: true,
    // Local and uncached: the prompt and answer counts only.
    usage: { inputTokens: 7, cacheReadTokens: 0, cacheWriteTokens: 0, outputTokens: 4, reasoningTokens: 0 },
    listed: [
      ['llama3.2:latest', 131072],
      ['qwen2.5-coder:7b', 32768],
    ],
  },
  {
    kind: 'anthropic',
    driver: () => cloudDriver('anthropic'),
    seesRetryAfter: true,
    hasConnectTimeout: true,
    thinksVisibly: true,
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
    driver: () => cloudDriver('openai'),
    seesRetryAfter: true,
    hasConnectTimeout: true,
    thinksVisibly: false,
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
    driver: () => cloudDriver('openrouter'),
    seesRetryAfter: true,
    hasConnectTimeout: true,
    thinksVisibly: true,
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
    driver: () => cloudDriver('gemini'),
    seesRetryAfter: true,
    hasConnectTimeout: true,
    thinksVisibly: true,
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
    let sim: Driver;
    let adapter: ProviderAdapter;
    const ask = (content = 'one two three', signal = live()): AsyncIterable<ChatEvent> =>
      adapter.streamChat({ model: c.model, messages: [{ role: 'user', content }] }, signal);

    beforeEach(async () => {
      sim = c.driver();
      adapter = c.make(await sim.start(), KEY, 2000);
    });
    afterEach(() => sim.stop());

    it('says the provider took the request, streams the text as deltas, then exactly one done with normalised usage', async () => {
      const events = await collect(ask());
      // What a cut or cancelled call is charged depends on it: nothing before, an estimate after.
      assert.equal(events[0]?.type, 'accepted', 'accepted comes first');
      assert.equal(events.filter((e) => e.type === 'accepted').length, 1);
      // The provider's ids, for matching aid's rows with the same tool's own logs.
      if (c.kind === 'anthropic' || c.kind === 'openai') {
        const accepted = events[0];
        assert.ok(accepted?.type === 'accepted' && accepted.requestId?.startsWith('req_'), JSON.stringify(accepted));
      }
      assert.equal(
        events
          .filter((e) => e.type === 'delta')
          .map((e) => (e.type === 'delta' ? e.text : ''))
          .join(''),
        'Echo: one two three',
      );
      assert.equal(events.filter((e) => e.type === 'done').length, 1);
      const done = events.at(-1);
      assert.ok(done?.type === 'done', 'done comes last');
      if (c.kind === 'anthropic') assert.match(done.messageId ?? '', /^msg_/);
      if (c.kind === 'openai') assert.match(done.messageId ?? '', /^chatcmpl-/);
      assert.deepEqual(done.usage, c.usage);
      assert.equal(done.providerCostUsd, c.costUsd);
    });

    it('says why the answer ended in the one set of words every provider shares, keeping its own word beside it', async () => {
      const finished = async (maxOutputTokens?: number): Promise<[string, string | undefined]> => {
        const events = await collect(
          adapter.streamChat(
            { model: c.model, messages: [{ role: 'user', content: 'one two three four five' }], ...(maxOutputTokens ? { maxOutputTokens } : {}) },
            live(),
          ),
        );
        const done = events.at(-1);
        assert.ok(done?.type === 'done');
        return [done.finishReason, done.providerFinishReason];
      };
      const own = {
        anthropic: ['end_turn', 'max_tokens'],
        openai: ['stop', 'length'],
        openrouter: ['stop', 'length'],
        gemini: ['STOP', 'MAX_TOKENS'],
        ollama: ['stop', 'length'],
      }[c.kind];
      assert.deepEqual(await finished(), ['stop', own[0]]);
      // Cut by the output cap: every provider's word for it is `length`.
      assert.deepEqual(await finished(2), ['length', own[1]]);
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
      const report = await adapter.health(live());
      if (!c.keyEnv) return assert.equal(typeof report.version, 'string', 'Ollama reports its version; it has no keys');
      assert.deepEqual(report, {});
      const wrongKey = 'sk-wrong-key-9876543210fedcba';
      const wrong = c.make(sim.url, wrongKey, 2000);
      const error = await providerError(wrong.health(live()));
      assert.equal(error.kind, 'auth', error.message);
      assert.match(error.message, new RegExp(`check ${c.keyEnv}`));
      assert.ok(!error.message.includes(wrongKey) && !error.message.includes('9876543210'), error.message);
    });

    it('maps HTTP failures: 429 with its retry delay, 5xx to server, unknown model to not_found', async () => {
      sim.failStatus(429, 7);
      const limited = await providerError(collect(ask()));
      assert.equal(limited.kind, 'rate_limited');
      assert.equal(limited.retryAfterMs, c.seesRetryAfter ? 7000 : undefined);
      assert.equal(sim.chatCount(), 1, 'the adapter does not retry on its own: the daemon decides');
      const overloaded = c.kind === 'anthropic' ? 529 : 503;
      sim.failStatus(overloaded);
      const server = await providerError(collect(ask()));
      assert.deepEqual([server.kind, server.status], ['server', overloaded]);
      const unknown = await providerError(collect(adapter.streamChat({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }, live())));
      // OpenRouter answers an unknown id with a 400 "not a valid model ID".
      assert.equal(unknown.kind, c.kind === 'openrouter' ? 'bad_request' : 'not_found', unknown.message);
      if (c.kind === 'ollama') assert.match(unknown.message, /aic pull no-such-model/);
      if (c.kind === 'openrouter') {
        // OpenRouter's 403 is its moderation refusing the prompt, not a bad key.
        sim.failStatus(403);
        const moderated = await providerError(collect(ask()));
        assert.equal(moderated.kind, 'bad_request', moderated.message);
        assert.doesNotMatch(moderated.message, /check OPENROUTER_API_KEY/);
      }
      assert.match(unknown.message, /no-such-model/);
    });

    if (c.kind !== 'ollama') {
      it("an overload or rate limit reported inside the stream is the host's trouble, so the daemon may retry or fail over", async () => {
        sim.failInStream(0, 429);
        assert.equal((await providerError(collect(ask()))).kind, 'rate_limited');
        sim.failInStream(0, c.kind === 'anthropic' ? 529 : 503);
        assert.equal((await providerError(collect(ask()))).kind, 'server');
        sim.failInStream(0, 400);
        assert.equal((await providerError(collect(ask()))).kind, 'stream');
      });
    }

    it('reports an error inside a 200 stream, and a stream cut before its end', async () => {
      sim.failInStream(1);
      const inStream = await providerError(collect(ask()));
      assert.match(inStream.message, c.kind === 'ollama' ? /model runner has unexpectedly stopped/ : /mid-stream/);
      sim.truncate(2);
      const seen: ChatEvent[] = [];
      const cut = await providerError(collect(ask(), seen));
      assert.equal(cut.kind, 'stream');
      assert.match(cut.message, /ended the stream before the answer was complete/);
      assert.equal(seen.filter((e) => e.type === 'done').length, 0);
    });

    it('cancellation aborts the upstream request promptly', async () => {
      sim.stall(1);
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

    describe('through the daemon (AskService)', () => {
      let dir: string;
      let store: Store;
      let logger: FileLogger;
      const waits: number[] = [];
      let idleTimeoutMs = 120_000;
      let firstTokenTimeoutMs = 300_000;
      let service: AskService;
      beforeEach(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-contract-'));
        store = await Store.open(path.join(dir, 'data'));
        logger = new FileLogger({ file: path.join(dir, 'aid.log'), level: 'info', redactor: new Redactor(), stderr: false });
        waits.length = 0;
        idleTimeoutMs = 120_000;
        firstTokenTimeoutMs = 300_000;
        const registry = new HostRegistry({ createAdapter: () => c.make(sim.url, KEY, 2000), logger, probeTimeoutMs: 2000 });
        const host: HostDefinition = { name: 'h', provider: c.kind, baseUrl: sim.url, apiKey: KEY, builtIn: false };
        registry.health.setHosts([host]);
        service = buildAskService({
          registry,
          store,
          ledger: new Ledger(store),
          logger,
          limits: () => ({ idleTimeoutMs, firstTokenTimeoutMs, maxRetryWaitMs: 20_000 }),
          sleep: (ms) => {
            waits.push(ms);
            return Promise.resolve();
          },
        }).ask;
      });
      afterEach(async () => {
        await store.close();
        logger.close();
        fs.rmSync(dir, { recursive: true, force: true });
      });

      it('retries a 429 after the delay the provider asked for, once, and answers', async () => {
        sim.failStatus(429, 1);
        const result = await service.ask({ prompt: 'one two three', model: `h/${c.model}`, streamToken: 't' }, () => undefined, live());
        assert.equal(result.ref, `h/${c.model}`);
        assert.deepEqual(waits, [c.seesRetryAfter ? 1000 : 500], 'its retry-after, else the first backoff step');
        assert.equal(sim.chatCount(), 2);
      });

      it(
        c.thinksVisibly
          ? 'keeps a model that thinks longer than the timeouts, while it shows progress'
          : 'abandons a model silent for longer than firstTokenTimeoutMs before its first text',
        async () => {
          idleTimeoutMs = 150;
          firstTokenTimeoutMs = 150;
          sim.think(8, 50); // 400 ms of thinking, a chunk every 50 ms
          const ask = service.ask({ prompt: 'one two three', model: `h/${c.model}`, streamToken: 't' }, () => undefined, live());
          if (c.thinksVisibly) {
            assert.equal((await ask).ref, `h/${c.model}`);
          } else {
            await assert.rejects(ask, (error: AidError) => /host h sent nothing for 0 s; abandoned the request/.test(error.message));
          }
        },
      );

      it('abandons a stream that goes silent after idleTimeoutMs, saying what was received', async () => {
        idleTimeoutMs = 200;
        sim.stall(1);
        const aborted = sim.waitForAbort();
        try {
          await service.ask({ prompt: 'one two three', model: `h/${c.model}`, streamToken: 't' }, () => undefined, live());
          assert.fail('expected the idle timeout');
        } catch (error) {
          assert.ok(error instanceof AidError, String(error));
          assert.equal(error.code, ErrorCodes.ProviderError);
          assert.match(error.message, /host h sent nothing for 0 s; abandoned the request \(after \d+ characters of the answer were received\)/);
        }
        await aborted;
      });
    });

    it('gives up when the headers do not come within the connect deadline, and says it was not reachable when nothing listens', async () => {
      if (c.hasConnectTimeout) {
        const quick = c.make(sim.url, KEY, 100);
        sim.delayHeaders(1000);
        const slow = await providerError(collect(quick.streamChat({ model: c.model, messages: [{ role: 'user', content: 'x' }] }, live())));
        assert.equal(slow.kind, 'timeout', slow.message);
      }
      sim.reset();
      const reset = await providerError(collect(ask()));
      assert.equal(reset.kind, 'unreachable', reset.message);
    });
  });
}

describe('Anthropic output budget', () => {
  it('asks Claude 3 models for at most the 4096 tokens they allow, later ones for 8192', () => {
    assert.equal(defaultMaxTokens('claude-3-haiku-20240307'), 4096);
    assert.equal(defaultMaxTokens('claude-3-opus-20240229'), 4096);
    assert.equal(defaultMaxTokens('claude-3-5-haiku-20241022'), 8192);
    assert.equal(defaultMaxTokens('claude-sonnet-4-5'), 8192);
  });
});
