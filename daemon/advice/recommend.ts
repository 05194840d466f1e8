import { estimateTokens } from '../tokens/count';
import type { ModelInfo } from '../../protocol/models';
import type { Recommendation, RecommendParams, RecommendResult, SavingsResult, TaskClass, Tier } from '../../protocol/recommend';
import type { RequestRecord } from '../ledger/ledger';
import type { ModelCatalog } from '../catalog/model-catalog';
import { chatModels } from '../catalog/model-match';
import type { PriceBook } from '../pricing/price-book';
import { roundUsd } from '../pricing/money';

interface ClassRule {
  taskClass: TaskClass;
  pattern: RegExp;
  /** A typical request of this kind: tokens in (prompt and context) and out. */
  input: number;
  output: number;
  tier: Tier;
}

/** First match wins: the more specific kinds come before the broad ones. */
const RULES: ClassRule[] = [
  { taskClass: 'commit message', pattern: /\b(commit message|commit msg|changelog|release notes?)\b/i, input: 3000, output: 150, tier: 'small' },
  {
    taskClass: 'architecture',
    pattern: /\b(architect\w*|system design|design (a|the|an)|trade-?offs?|scalab\w*|migration plan)\b/i,
    input: 6000,
    output: 3000,
    tier: 'strong',
  },
  {
    taskClass: 'debugging',
    pattern: /\b(debug\w*|bugs?|errors?|exceptions?|stack ?trace|traceback|crash\w*|fails?|failing|broken|segfault|why does)\b/i,
    input: 10000,
    output: 1500,
    tier: 'strong',
  },
  {
    taskClass: 'refactoring',
    pattern: /\b(refactor\w*|clean ?up|restructur\w*|rename|extract (a |the )?(function|method|class|module)|simplif\w*)\b/i,
    input: 15000,
    output: 4000,
    tier: 'medium',
  },
  { taskClass: 'code review', pattern: /\b(review\w*|pull request|pr\b|diff|critique|audit)\b/i, input: 12000, output: 1500, tier: 'medium' },
  { taskClass: 'summary', pattern: /\b(summar\w*|tl;?dr|overview|gist|digest|condense)\b/i, input: 8000, output: 500, tier: 'small' },
  {
    taskClass: 'generation',
    pattern: /\b(write|implement\w*|create|generate|build|add (a|an|the)|scaffold|port)\b/i,
    input: 4000,
    output: 3000,
    tier: 'medium',
  },
];
const QUICK: ClassRule = { taskClass: 'quick question', pattern: /./, input: 500, output: 300, tier: 'small' };

/** The kind of task a prompt is, and what a request of that kind typically needs. */
export function classifyTask(text: string): ClassRule {
  return RULES.find((r) => r.pattern.test(text)) ?? QUICK;
}

const TIER_RANK: Record<Tier, number> = { small: 0, medium: 1, strong: 2 };

/** A model's capability tier, read from its name: a heuristic, stated as such in the docs. */
export function tierOf(model: string): Tier {
  const id = model.toLowerCase();
  if (/opus|gpt-5(?!.*-(mini|nano))|\bo[134](-pro)?\b|gemini-[\d.]+-pro|sonnet-4|deepseek-r1|grok-4/.test(id)) return 'strong';
  // "mini" only as its own word: gemini is not a mini model.
  if (/haiku|(^|[-_:/.])(mini|nano)\b|flash-lite|gemma|phi|:1b|:3b|:7b|:8b|-7b|-8b|1\.5b|0\.5b|3\.2/.test(id)) return 'small';
  if (/sonnet|gpt-4|gemini|flash|70b|72b|405b|32b|mistral-large|command-r/.test(id)) return 'medium';
  return 'small';
}

/**
 * `aic recommend TASK`: reads what kind of task it is from its words, what a request of that kind
 * needs (context, output, capability), and lists the models on the user's hosts that fit, local
 * ones first, then cheapest first, with what one request would cost.
 */
export class Recommender {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly prices: PriceBook,
  ) {}

  async recommend(params: RecommendParams): Promise<RecommendResult> {
    const rule = classifyTask(params.task);
    const matched = rule === QUICK ? undefined : rule.pattern.exec(params.task)?.[0];
    const promptTokens = estimateTokens(params.task);
    const input = Math.max(rule.input, promptTokens + (params.contextTokens ?? 0));
    const output = rule.output;
    const models = chatModels((await this.catalog.listModels()).models);
    const fits: Recommendation[] = [];
    const excluded: { ref: string; why: string }[] = [];
    for (const m of models) {
      const tier = tierOf(m.model);
      if (TIER_RANK[tier] < TIER_RANK[rule.tier]) {
        excluded.push({ ref: m.ref, why: `${tier} model; ${rule.taskClass} wants ${rule.tier}` });
        continue;
      }
      if (m.contextWindow !== undefined && m.contextWindow < input + output) {
        excluded.push({ ref: m.ref, why: `context window ${m.contextWindow} < ${input + output} tokens needed` });
        continue;
      }
      fits.push({
        ref: m.ref,
        tier,
        ...(m.contextWindow !== undefined ? { contextWindow: m.contextWindow } : {}),
        local: m.provider === 'ollama',
        price: m.price,
        estimatedUsd: this.estimate(m, input, output),
      });
    }
    const cost = (r: Recommendation): number => r.estimatedUsd ?? Number.POSITIVE_INFINITY;
    fits.sort((a, b) => Number(b.local) - Number(a.local) || cost(a) - cost(b) || TIER_RANK[b.tier] - TIER_RANK[a.tier] || a.ref.localeCompare(b.ref));
    return {
      taskClass: rule.taskClass,
      because: matched ? `the task mentions "${matched}"` : 'a short question with no task words',
      expectedInputTokens: input,
      expectedOutputTokens: output,
      minimumTier: rule.tier,
      models: fits,
      excluded,
    };
  }

  /**
   * What the given rows (the last `days` days) would have cost on the model recommended now for
   * each kind of task, with the same usage; and the cache premium paid for nothing: writes, above
   * the plain input rate, in (session, model) pairs that never read the cache.
   */
  async savings(rows: Iterable<RequestRecord>, days: number): Promise<SavingsResult> {
    const { models } = await this.catalog.listModels();
    const byClass = new Map<string, { requests: number; actual: number; recommended: number | null; ref: string | null }>();
    const caches = new Map<string, { reads: number; premium: number }>();
    let unclassified = 0;
    const top = new Map<string, ModelInfo | undefined>();
    for (const row of rows) {
      if (row.costUsd === null) continue;
      const cacheKey = `${row.sessionId}\u0000${row.host}\u0000${row.model}`;
      const cache = caches.get(cacheKey) ?? { reads: 0, premium: 0 };
      cache.reads += row.usage.cacheReadTokens;
      cache.premium += writePremium(row);
      caches.set(cacheKey, cache);
      if (!row.taskClass) {
        unclassified++;
        continue;
      }
      if (!top.has(row.taskClass)) top.set(row.taskClass, this.bestFor(row.taskClass, models));
      const best = top.get(row.taskClass);
      const entry = byClass.get(row.taskClass) ?? { requests: 0, actual: 0, recommended: 0, ref: best?.ref ?? null };
      entry.requests++;
      entry.actual += row.costUsd;
      const would = best ? this.costOn(best, row) : null;
      entry.recommended = entry.recommended === null || would === null ? null : entry.recommended + would;
      byClass.set(row.taskClass, entry);
    }
    const classes = [...byClass].map(([taskClass, e]) => ({
      taskClass,
      requests: e.requests,
      actualUsd: roundUsd(e.actual),
      recommendedRef: e.ref,
      recommendedUsd: e.recommended === null ? null : roundUsd(e.recommended),
      savingsUsd: e.recommended === null ? null : roundUsd(e.actual - e.recommended),
    }));
    classes.sort((a, b) => (b.savingsUsd ?? 0) - (a.savingsUsd ?? 0));
    let premium = 0;
    for (const c of caches.values()) if (c.reads === 0) premium += c.premium;
    return {
      days,
      classes,
      totalActualUsd: roundUsd(classes.reduce((n, c) => n + c.actualUsd, 0)),
      totalRecommendedUsd: roundUsd(classes.reduce((n, c) => n + (c.recommendedUsd ?? c.actualUsd), 0)),
      cachePremiumUsd: roundUsd(premium),
      unclassifiedRequests: unclassified,
    };
  }

  /** The first recommendation for a kind of task among the priced or local models. */
  private bestFor(taskClass: string, models: ModelInfo[]): ModelInfo | undefined {
    const rule = RULES.find((r) => r.taskClass === taskClass) ?? QUICK;
    const fitting = chatModels(models)
      .filter((m) => TIER_RANK[tierOf(m.model)] >= TIER_RANK[rule.tier] && (m.contextWindow === undefined || m.contextWindow >= rule.input + rule.output))
      .map((m) => ({ m, usd: this.estimate(m, rule.input, rule.output) }))
      .filter((x) => x.usd !== null);
    fitting.sort((a, b) => Number(b.m.provider === 'ollama') - Number(a.m.provider === 'ollama') || (a.usd as number) - (b.usd as number));
    return fitting[0]?.m;
  }

  private costOn(m: ModelInfo, row: RequestRecord): number | null {
    const listed = m.provider === 'openrouter' && typeof m.price === 'object' ? { listed: m.price } : {};
    return this.prices.cost({ provider: m.provider, host: m.host, model: m.model, ...listed }, row.usage).costUsd;
  }

  private estimate(m: ModelInfo, input: number, output: number): number | null {
    const listed = m.provider === 'openrouter' && typeof m.price === 'object' ? { listed: m.price } : {};
    return this.prices.cost(
      { provider: m.provider, host: m.host, model: m.model, ...listed },
      { inputTokens: input, outputTokens: output, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
    ).costUsd;
  }
}

/** What a row's cache writes cost above the same tokens at the plain input rate. */
function writePremium(row: RequestRecord): number {
  const rates = row.price;
  if (!rates || row.usage.cacheWriteTokens === 0) return 0;
  const oneHour = row.usage.cacheWrite1hTokens ?? 0;
  const fiveMinute = row.usage.cacheWriteTokens - oneHour;
  const write = rates.cacheWritePerMTok ?? rates.inputPerMTok;
  const write1h = rates.cacheWrite1hPerMTok ?? write;
  return (fiveMinute * (write - rates.inputPerMTok) + oneHour * (write1h - rates.inputPerMTok)) / 1e6;
}
