import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Recommender, tierOf } from '../../daemon/advice/recommend';
import { HostRegistry } from '../../daemon/catalog/registry';
import { FileLogger } from '../../daemon/log/logger';
import { Redactor } from '../../daemon/log/redact';
import { PriceBook } from '../../daemon/pricing/price-book';
import { ScriptedAdapter } from '../fakes/scripted-adapter';
import type { RequestRecord } from '../../daemon/ledger/ledger';
import { zeroUsage } from '../../daemon/providers/types';

describe('recommend', () => {
  it('reads the capability tier from model names', () => {
    const cases: [string, string][] = [
      ['claude-opus-4-1', 'strong'],
      ['claude-sonnet-4-5', 'strong'],
      ['gpt-4o', 'medium'],
      ['gemini-2.5-flash', 'medium'],
      ['gemini-2.5-pro', 'strong'],
      ['gpt-4.1-mini', 'small'],
      ['claude-haiku-4-5', 'small'],
      ['llama3.2:latest', 'small'],
      ['qwen2.5-coder:7b', 'small'],
      ['meta-llama/llama-3.3-70b-instruct', 'medium'],
    ];
    for (const [model, tier] of cases) assert.equal(tierOf(model), tier, model);
  });

  describe('Recommender', () => {
    let dir: string;
    let logger: FileLogger;
    let recommender: Recommender;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-rec-'));
      logger = new FileLogger({ file: path.join(dir, 'aid.log'), level: 'info', redactor: new Redactor(), stderr: false });
      const models: Record<string, { id: string; contextWindow?: number }[]> = {
        ollama: [
          { id: 'qwen2.5-coder:7b', contextWindow: 32768 },
          { id: 'llama3.3:70b', contextWindow: 131072 },
        ],
        anthropic: [
          { id: 'claude-sonnet-4-5', contextWindow: 200000 },
          { id: 'claude-haiku-4-5', contextWindow: 200000 },
        ],
        openai: [
          { id: 'gpt-4o', contextWindow: 128000 },
          { id: 'gpt-4.1-mini', contextWindow: 1047576 },
        ],
      };
      const prices = new PriceBook({ overrides: () => ({}), datasetVersion: 'test' });
      const registry = new HostRegistry({
        createAdapter: (host) => {
          const adapter = new ScriptedAdapter(host.baseUrl);
          adapter.models = models[host.name] ?? [];
          return adapter;
        },
        prices,
        logger,
        probeTimeoutMs: 2000,
      });
      registry.health.setHosts([
        { name: 'anthropic', provider: 'anthropic', baseUrl: 'http://a', apiKey: 'k', builtIn: true },
        { name: 'openai', provider: 'openai', baseUrl: 'http://o', apiKey: 'k', builtIn: true },
        { name: 'ollama', provider: 'ollama', baseUrl: 'http://l', builtIn: true },
      ]);
      recommender = new Recommender(registry.catalog, prices);
    });
    afterEach(() => {
      logger.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('classifies tasks by their words, with what a request of the kind needs', async () => {
      const cases: [string, string][] = [
        ['write a commit message for this change', 'commit message'],
        ['why does this test fail with a null pointer exception?', 'debugging'],
        ['review this diff for race conditions', 'code review'],
        ['refactor the parser into smaller functions', 'refactoring'],
        ['summarize this RFC', 'summary'],
        ['implement a LRU cache in TypeScript', 'generation'],
        ['design a multi-region architecture for the queue', 'architecture'],
        ['what is a monad?', 'quick question'],
      ];
      for (const [task, taskClass] of cases) assert.equal((await recommender.recommend({ task })).taskClass, taskClass, task);
    });

    it('lists the models that fit, local first, then cheapest, with the cost of one request', async () => {
      const review = await recommender.recommend({ task: 'review this pull request' });
      assert.equal(review.minimumTier, 'medium');
      // Local 70B first (free), then by estimated cost; small models are left out with why.
      assert.deepEqual(
        review.models.map((m) => m.ref),
        ['ollama/llama3.3:70b', 'openai/gpt-4o', 'anthropic/claude-sonnet-4-5'],
      );
      const gpt4o = review.models[1];
      assert.ok(gpt4o && Math.abs((gpt4o.estimatedUsd ?? 0) - (12000 * 2.5 + 1500 * 10) / 1e6) < 1e-9, String(gpt4o?.estimatedUsd));
      assert.ok(review.excluded.some((e) => e.ref === 'openai/gpt-4.1-mini' && /small model; code review wants medium/.test(e.why)));
      const quick = await recommender.recommend({ task: 'what is a monad?' });
      assert.deepEqual(
        quick.models.slice(0, 2).map((m) => m.local),
        [true, true],
      );
      assert.equal(quick.models[2]?.ref, 'openai/gpt-4.1-mini', 'the cheapest cloud model next');
    });

    it('--savings prices the last days on the models recommended now, and finds cache writes never read', async () => {
      const base = {
        host: 'anthropic',
        provider: 'anthropic' as const,
        model: 'claude-sonnet-4-5',
        outcome: 'ok' as const,
        latencyMs: 1,
        ttftMs: 1,
        id: 'x',
        time: 0,
      };
      const price = { source: 'test', inputPerMTok: 3, outputPerMTok: 15, cacheWritePerMTok: 3.75 };
      const rows: RequestRecord[] = [
        { ...base, sessionId: 's1', taskClass: 'code review', usage: { ...zeroUsage(), inputTokens: 10_000, outputTokens: 1000 }, costUsd: 0.045, price },
        {
          ...base,
          sessionId: 's1',
          taskClass: 'code review',
          usage: { ...zeroUsage(), inputTokens: 2000, cacheWriteTokens: 1000, outputTokens: 100 },
          costUsd: 0.01,
          price,
        },
        {
          ...base,
          sessionId: 's2',
          taskClass: 'quick question',
          usage: { ...zeroUsage(), inputTokens: 100, cacheWriteTokens: 4000, outputTokens: 50 },
          costUsd: 0.02,
          price,
        },
        {
          ...base,
          sessionId: 's2',
          taskClass: 'quick question',
          usage: { ...zeroUsage(), inputTokens: 100, cacheReadTokens: 4000, outputTokens: 50 },
          costUsd: 0.002,
          price,
        },
        { ...base, sessionId: 's3', usage: { ...zeroUsage(), inputTokens: 100 }, costUsd: 0.001, price },
        { ...base, sessionId: 's4', taskClass: 'summary', usage: { ...zeroUsage(), inputTokens: 100 }, costUsd: null },
      ];
      const result = await recommender.savings(rows, 30);
      assert.deepEqual(
        result.classes.map((c) => [c.taskClass, c.requests, c.actualUsd, c.recommendedRef, c.recommendedUsd, c.savingsUsd]),
        [
          ['code review', 2, 0.055, 'ollama/llama3.3:70b', 0, 0.055],
          ['quick question', 2, 0.022, 'ollama/qwen2.5-coder:7b', 0, 0.022],
        ],
      );
      assert.equal(result.totalActualUsd, 0.077);
      assert.equal(result.totalRecommendedUsd, 0);
      // Session s1 wrote 1,000 tokens to the cache and never read them: 1,000 × ($3.75 − $3) / 1M. s2 read its writes back.
      assert.equal(result.cachePremiumUsd, 0.00075);
      assert.equal(result.unclassifiedRequests, 1);
    });

    it('leaves out models whose window cannot hold the context', async () => {
      const result = await recommender.recommend({ task: 'summarize this', contextTokens: 100_000 });
      assert.ok(result.excluded.some((e) => e.ref === 'ollama/qwen2.5-coder:7b' && /context window 32768 < 100\d{3} tokens needed/.test(e.why)));
      assert.ok(!result.models.some((m) => m.ref === 'ollama/qwen2.5-coder:7b'));
    });
  });
});
