import { calcPrice } from '@pydantic/genai-prices';
import type { Usage } from '../../protocol/chat';
import type { ProviderKind } from '../../protocol/hosts';
import type { Price } from '../../protocol/models';

/** The rates a cost was computed with, kept in the ledger row so history can be audited. */
export interface PriceRecord {
  /** Where the rates came from: `genai-prices@<version>`, `config`, `openrouter-listing`, `free`. */
  source: string;
  inputPerMTok: number;
  outputPerMTok: number;
  cacheReadPerMTok?: number;
  cacheWritePerMTok?: number;
  cacheWrite1hPerMTok?: number;
  /** True when the rates depend on the prompt's size (Anthropic's >200k tier); the cost used the right tier. */
  tiered?: boolean;
}

/** A user's own rates for a model, from the config (USD per million tokens). */
export interface PriceOverride {
  inputPerMTok: number;
  outputPerMTok: number;
  cacheReadPerMTok?: number;
  cacheWritePerMTok?: number;
  cacheWrite1hPerMTok?: number;
}

export interface PricedCall {
  /** What the call cost: the provider's own figure when it reports one, else computed; null when unknown. */
  costUsd: number | null;
  /** The rates used (absent when unpriced). */
  price?: PriceRecord;
  /** Computed from the rates, kept beside a provider-reported cost when both exist. */
  calculatedUsd?: number;
  /** What the provider reported (OpenRouter's usage.cost). */
  providerCostUsd?: number;
}

/** Who is being priced: the provider kind decides the price family, the host its overrides. */
export interface PriceTarget {
  provider: ProviderKind;
  host: string;
  model: string;
  /** Rates the host's own listing gave (OpenRouter's /models). */
  listed?: Price;
}

/** genai-prices names Gemini "google"; OpenRouter's rates come live from its own listing. */
const DATASET_PROVIDER: Partial<Record<ProviderKind, string>> = { anthropic: 'anthropic', openai: 'openai', gemini: 'google' };

/**
 * Prices from a maintained dataset (@pydantic/genai-prices, bundled with its version), the user's
 * overrides in the config, and OpenRouter's live listing; Ollama is free. A model none of them
 * knows is unpriced (null), never $0.
 */
export class PriceBook {
  constructor(
    private readonly options: {
      /** Overrides by `host/model` or `provider/model`, from the config (read at each call). */
      overrides: () => Record<string, PriceOverride>;
      /** The dataset's version, for the records' source (it changes after `aic prices update`). */
      datasetVersion: string | (() => string);
    },
  ) {}

  /** The list price to show in `aic models` and to rank hosts by. */
  listPrice(target: PriceTarget): Price | 'free' | 'unpriced' {
    if (target.provider === 'ollama') return 'free';
    const override = this.override(target);
    if (override) return toPrice(override);
    if (target.listed) return target.listed;
    const record = this.datasetRates(target);
    return record ? toPrice(record) : 'unpriced';
  }

  cost(target: PriceTarget, usage: Usage, providerCostUsd?: number): PricedCall {
    const reported = providerCostUsd !== undefined && Number.isFinite(providerCostUsd) ? { providerCostUsd } : {};
    if (target.provider === 'ollama') return { costUsd: 0, calculatedUsd: 0, price: { source: 'free', inputPerMTok: 0, outputPerMTok: 0 } };
    const override = this.override(target);
    const computed = override
      ? { usd: flatCost({ ...override }, usage), price: { source: 'config', ...override } }
      : target.listed
        ? { usd: flatCost(target.listed, usage), price: { source: `${target.provider}-listing`, ...target.listed } }
        : this.datasetCost(target, usage);
    // The provider's own bill is the truth when it gives one; the computed figure stays beside it.
    if (reported.providerCostUsd !== undefined) {
      return { costUsd: reported.providerCostUsd, ...reported, ...(computed ? { calculatedUsd: computed.usd, price: computed.price } : {}) };
    }
    if (!computed) return { costUsd: null };
    return { costUsd: computed.usd, calculatedUsd: computed.usd, price: computed.price };
  }

  /**
   * The most a request can cost: at most `maxInputTokens` (an upper bound of the prompt, see
   * tokens/count.ts) at the uncached input rate, plus every output token it is allowed, plus any
   * per-request fee. Null when the model has no known price.
   */
  worstCase(target: PriceTarget, maxInputTokens: number, maxOutputTokens: number): number | null {
    return this.cost(target, { inputTokens: maxInputTokens, outputTokens: maxOutputTokens, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 })
      .costUsd;
  }

  private override(target: PriceTarget): PriceOverride | undefined {
    const all = this.options.overrides();
    return all[`${target.host}/${target.model}`] ?? all[`${target.provider}/${target.model}`];
  }

  private datasetRates(target: PriceTarget): PriceRecord | undefined {
    const providerId = DATASET_PROVIDER[target.provider];
    if (!providerId) return undefined;
    try {
      const found = calcPrice({ input_tokens: 0, output_tokens: 0 }, target.model, { providerId });
      return found ? this.recordFrom(found.model_price) : undefined;
    } catch {
      return undefined;
    }
  }

  private datasetCost(target: PriceTarget, usage: Usage): { usd: number; price: PriceRecord } | undefined {
    const providerId = DATASET_PROVIDER[target.provider];
    if (!providerId) return undefined;
    const oneHour = usage.cacheWrite1hTokens ?? 0;
    // genai-prices counts the whole prompt as input_tokens, with the cache classes as parts of it;
    // output_tokens includes reasoning (billed as output).
    let found: ReturnType<typeof calcPrice>;
    try {
      found = calcPrice(
        {
          input_tokens: usage.inputTokens + usage.cacheReadTokens + usage.cacheWriteTokens,
          cache_read_tokens: usage.cacheReadTokens,
          cache_write_tokens: usage.cacheWriteTokens,
          ...(oneHour ? { cache_write_1h_tokens: oneHour } : {}),
          output_tokens: usage.outputTokens + usage.reasoningTokens,
        },
        target.model,
        { providerId },
      );
    } catch {
      // Price data this version cannot read (a newer format fetched by `aic prices update`): unpriced, never $0.
      return undefined;
    }
    if (!found) return undefined;
    return { usd: found.total_price, price: this.recordFrom(found.model_price) };
  }

  private recordFrom(rates: Record<string, unknown>): PriceRecord {
    let tiered = false;
    const base = (key: string): number | undefined => {
      const value = rates[key];
      if (typeof value === 'number') return value;
      if (value && typeof value === 'object' && typeof (value as { base?: unknown }).base === 'number') {
        tiered = true;
        return (value as { base: number }).base;
      }
      return undefined;
    };
    const cacheRead = base('cache_read_mtok');
    const cacheWrite = base('cache_write_mtok');
    const cacheWrite1h = base('cache_write_1h_mtok');
    return {
      source: typeof this.options.datasetVersion === 'function' ? this.options.datasetVersion() : `genai-prices@${this.options.datasetVersion}`,
      inputPerMTok: base('input_mtok') ?? 0,
      outputPerMTok: base('output_mtok') ?? 0,
      ...(cacheRead !== undefined ? { cacheReadPerMTok: cacheRead } : {}),
      ...(cacheWrite !== undefined ? { cacheWritePerMTok: cacheWrite } : {}),
      ...(cacheWrite1h !== undefined ? { cacheWrite1hPerMTok: cacheWrite1h } : {}),
      ...(tiered ? { tiered } : {}),
    };
  }
}

/** Listings (OpenRouter) may charge per request; overrides and the dataset here do not. */
function perRequestOf(rates: PriceOverride | PriceRecord | Price): number {
  const fee = (rates as Price).perRequestUsd;
  return typeof fee === 'number' && fee > 0 ? fee : 0;
}

function toPrice(rates: PriceOverride | PriceRecord): Price {
  return {
    inputPerMTok: rates.inputPerMTok,
    outputPerMTok: rates.outputPerMTok,
    ...(rates.cacheReadPerMTok !== undefined ? { cacheReadPerMTok: rates.cacheReadPerMTok } : {}),
    ...(rates.cacheWritePerMTok !== undefined ? { cacheWritePerMTok: rates.cacheWritePerMTok } : {}),
    ...(perRequestOf(rates) ? { perRequestUsd: perRequestOf(rates) } : {}),
  };
}

/**
 * Cost at flat rates. A class without its own rate is charged at the input rate (an upper bound
 * for cache reads, the usual base for writes); 1-hour writes without their own rate at the write rate.
 */
export function flatCost(rates: PriceOverride | Price, usage: Usage): number {
  const oneHour = usage.cacheWrite1hTokens ?? 0;
  const fiveMinute = usage.cacheWriteTokens - oneHour;
  const cacheRead = rates.cacheReadPerMTok ?? rates.inputPerMTok;
  const cacheWrite = rates.cacheWritePerMTok ?? rates.inputPerMTok;
  const cacheWrite1h = ('cacheWrite1hPerMTok' in rates ? rates.cacheWrite1hPerMTok : undefined) ?? cacheWrite;
  return (
    (usage.inputTokens * rates.inputPerMTok +
      usage.cacheReadTokens * cacheRead +
      fiveMinute * cacheWrite +
      oneHour * cacheWrite1h +
      (usage.outputTokens + usage.reasoningTokens) * rates.outputPerMTok) /
      1e6 +
    perRequestOf(rates)
  );
}
