import { strict as assert } from 'node:assert';
import { CallCost } from '../../daemon/pricing/call-cost';
import { PriceBook, type PriceOverride } from '../../daemon/pricing/price-book';
import type { Usage } from '../../protocol/chat';

const usage = (u: Partial<Usage>): Usage => ({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, ...u });
const close = (actual: number | null | undefined, expected: number, what: string): void => {
  assert.ok(typeof actual === 'number', `${what}: expected a cost, got ${String(actual)}`);
  assert.ok(Math.abs(actual - expected) <= 1e-9, `${what}: ${actual} is not ${expected} (to 1e-9 USD)`);
};

describe('pricing', () => {
  let overrides: Record<string, PriceOverride>;
  const book = new PriceBook({ overrides: () => overrides, datasetVersion: 'test' });
  beforeEach(() => {
    overrides = {};
  });

  /**
   * Each case by hand from the provider's published rates (USD per million tokens), exact to 1e-9.
   * The rates are those of the bundled dataset version in package-lock.json.
   */
  const cases: { name: string; provider: 'anthropic' | 'openai' | 'gemini'; model: string; usage: Usage; usd: number }[] = [
    {
      name: 'Anthropic: cache reads at 0.1×, 5-minute writes at 1.25×, 1-hour writes at 2× the input rate',
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      // 1,000 × $3 + 2,000 × $0.30 + 2,000 × $3.75 (5 min) + 1,000 × $6 (1 h) + 500 × $15
      usage: usage({ inputTokens: 1000, cacheReadTokens: 2000, cacheWriteTokens: 3000, cacheWrite1hTokens: 1000, outputTokens: 500 }),
      usd: (1000 * 3 + 2000 * 0.3 + 2000 * 3.75 + 1000 * 6 + 500 * 15) / 1e6,
    },
    {
      name: 'Anthropic: a prompt over 200k tokens (cached ones included) is priced at the long-context tier, all of it',
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      // 210,000 prompt tokens > 200k: $6 input, $0.60 cache read, $22.50 output
      usage: usage({ inputTokens: 150_000, cacheReadTokens: 60_000, outputTokens: 1000 }),
      usd: (150_000 * 6 + 60_000 * 0.6 + 1000 * 22.5) / 1e6,
    },
    {
      name: 'Anthropic: the same prompt at exactly 200k stays at the base tier',
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      usage: usage({ inputTokens: 140_000, cacheReadTokens: 60_000, outputTokens: 1000 }),
      usd: (140_000 * 3 + 60_000 * 0.3 + 1000 * 15) / 1e6,
    },
    {
      name: 'OpenAI: cached input at the cached rate, reasoning billed as output',
      provider: 'openai',
      model: 'gpt-4.1-mini',
      usage: usage({ inputTokens: 800, cacheReadTokens: 200, outputTokens: 400, reasoningTokens: 100 }),
      usd: (800 * 0.4 + 200 * 0.1 + 500 * 1.6) / 1e6,
    },
    {
      name: 'Gemini: cached content at the cached rate, thinking billed as output',
      provider: 'gemini',
      model: 'gemini-2.5-flash',
      usage: usage({ inputTokens: 700, cacheReadTokens: 300, outputTokens: 100, reasoningTokens: 50 }),
      usd: (700 * 0.3 + 300 * 0.03 + 150 * 2.5) / 1e6,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const priced = book.cost({ provider: c.provider, host: c.provider, model: c.model }, c.usage);
      close(priced.costUsd, c.usd, c.name);
      assert.equal(priced.price?.source, 'genai-prices@test');
    });
  }

  it('OpenRouter: its reported cost is the cost; the one computed from its listing is kept beside it', () => {
    const listed = { inputPerMTok: 0.13, outputPerMTok: 0.4 };
    const priced = book.cost(
      { provider: 'openrouter', host: 'openrouter', model: 'meta-llama/llama-3.3-70b-instruct', listed },
      usage({ inputTokens: 7, outputTokens: 4 }),
      0.00123,
    );
    close(priced.costUsd, 0.00123, 'reported');
    close(priced.providerCostUsd, 0.00123, 'reported, kept');
    close(priced.calculatedUsd, (7 * 0.13 + 4 * 0.4) / 1e6, 'computed from the listing');
    assert.equal(priced.price?.source, 'openrouter-listing');
  });

  it('a model nobody prices is unpriced (null), never $0; Ollama is free', () => {
    assert.deepEqual(book.cost({ provider: 'openai', host: 'openai', model: 'ft:my-own-model' }, usage({ inputTokens: 10, outputTokens: 10 })), {
      costUsd: null,
    });
    assert.equal(book.listPrice({ provider: 'openai', host: 'openai', model: 'ft:my-own-model' }), 'unpriced');
    assert.equal(book.cost({ provider: 'ollama', host: 'gpu-box', model: 'llama3.2:latest' }, usage({ inputTokens: 10 })).costUsd, 0);
    assert.equal(book.listPrice({ provider: 'ollama', host: 'gpu-box', model: 'llama3.2:latest' }), 'free');
  });

  it('config overrides win, by host/model before provider/model; a missing cache rate falls back to the input rate', () => {
    overrides = {
      'openai/ft:my-own-model': { inputPerMTok: 2, outputPerMTok: 8 },
      'work/ft:my-own-model': { inputPerMTok: 1, outputPerMTok: 4, cacheReadPerMTok: 0.5 },
    };
    const u = usage({ inputTokens: 1000, cacheReadTokens: 1000, outputTokens: 1000 });
    close(book.cost({ provider: 'openai', host: 'openai', model: 'ft:my-own-model' }, u).costUsd, (1000 * 2 + 1000 * 2 + 1000 * 8) / 1e6, 'provider override');
    close(book.cost({ provider: 'openai', host: 'work', model: 'ft:my-own-model' }, u).costUsd, (1000 * 1 + 1000 * 0.5 + 1000 * 4) / 1e6, 'host override');
    assert.deepEqual(book.listPrice({ provider: 'openai', host: 'work', model: 'ft:my-own-model' }), {
      inputPerMTok: 1,
      outputPerMTok: 4,
      cacheReadPerMTok: 0.5,
    });
  });

  it('the worst case counts a token per prompt byte (CJK text is about one a character) and adds per-request fees', () => {
    // 3,000 bytes, 4 tokens of message framing, 16 of prompt framing.
    const cjk = [{ content: '漢'.repeat(1000) }];
    close(
      new CallCost(book).worstCase({ provider: 'openai', host: 'openai', model: 'gpt-4.1-mini' }, cjk, 100),
      ((3000 + 4 + 16) * 0.4 + 100 * 1.6) / 1e6,
      'worst case',
    );
    const listed = { inputPerMTok: 1, outputPerMTok: 1, perRequestUsd: 0.005 };
    close(
      book.cost({ provider: 'openrouter', host: 'openrouter', model: 'perplexity/sonar', listed }, usage({ inputTokens: 1000, outputTokens: 1000 })).costUsd,
      0.002 + 0.005,
      'per-request fee',
    );
  });

  it('list prices come from the dataset, with the cache rates', () => {
    assert.deepEqual(book.listPrice({ provider: 'anthropic', host: 'anthropic', model: 'claude-haiku-4-5' }), {
      inputPerMTok: 1,
      outputPerMTok: 5,
      cacheReadPerMTok: 0.1,
      cacheWritePerMTok: 1.25,
    });
    assert.deepEqual(book.listPrice({ provider: 'gemini', host: 'gemini', model: 'gemini-2.5-flash' }), {
      inputPerMTok: 0.3,
      outputPerMTok: 2.5,
      cacheReadPerMTok: 0.03,
    });
  });
});
