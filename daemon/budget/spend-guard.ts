import type { BudgetRefusedData } from '../../protocol/errors';
import { CallCost } from '../pricing/call-cost';
import { formatUsd as usd } from '../../protocol/money';
import type { PriceTarget } from '../pricing/price-book';
import { estimateTokens, messagesTokens } from '../tokens/count';
import type { Budgets, Reservation, SpendTarget } from './budgets';

/**
 * Output cap of a request a hard budget or --max-cost covers: its worst case must be bounded, so
 * the provider is told to stop there.
 */
export const GUARDED_MAX_OUTPUT_TOKENS = 4096;

/** A model a refusal may point to instead. */
export interface Alternative {
  ref: string;
  target: PriceTarget;
  contextWindow?: number;
}

/** One call about to be sent, as the guard sees it. */
export interface SpendRequest {
  ref: string;
  target: PriceTarget;
  spend: SpendTarget;
  messages: readonly { content: string }[];
  /** The caller's own cap on this request (`--max-cost`), over all its attempts. */
  maxCostUsd?: number;
  /** What earlier failed attempts of the same request were already charged. */
  chargedSoFar: number;
  /** The caller's own output cap (`--max-tokens`), when lower than the guard's. */
  outputCap?: number;
}

/** Why a request may not be sent, and what would fit instead; `reason + hint` is the message. */
export interface Refusal {
  reason: string;
  hint: string;
  data: BudgetRefusedData;
}

export type Hold = { ok: true; reservation?: Reservation; maxOutputTokens?: number } | { ok: false; refusal: Refusal };

/**
 * Decides before each call whether it may be sent: when a hard budget covers it or the caller
 * capped its cost, its output is capped, its worst case worked out and held against the budgets
 * (synchronously, so concurrent requests never overshoot); otherwise nothing is held. A refusal is
 * typed data, never a message to parse: the models that would fit, cheapest first, local first.
 */
export class SpendGuard {
  constructor(
    private readonly deps: {
      budgets: Budgets;
      cost: CallCost;
      /** The chat models a refusal may suggest (every host's, from the cached lists). */
      alternatives: () => Promise<Alternative[]>;
      onError: (message: string, error: unknown) => void;
    },
  ) {}

  async hold(request: SpendRequest): Promise<Hold> {
    const { budgets, cost } = this.deps;
    const hard = budgets.hardFor(request.spend);
    if (hard.length === 0 && request.maxCostUsd === undefined) return { ok: true };
    const maxOutputTokens = Math.min(GUARDED_MAX_OUTPUT_TOKENS, request.outputCap ?? GUARDED_MAX_OUTPUT_TOKENS);
    const worst = cost.worstCase(request.target, request.messages, maxOutputTokens);
    const what = hard.length ? `budget '${hard[0]?.name}'` : '--max-cost';
    if (worst === null) {
      return this.refuse(
        request,
        `${request.ref} has no known ` +
          `price, so ${what} cannot bound what it would cost; give it a price under "prices" in the config, or pick a priced or local model`,
        {},
      );
    }
    if (request.maxCostUsd !== undefined && request.chargedSoFar + worst > request.maxCostUsd) {
      const spentNote = request.chargedSoFar > 0 ? ` after ${usd(request.chargedSoFar)} already charged for failed attempts` : '';
      return this.refuse(
        request,
        `this request to ${request.ref} could cost up to ${usd(worst)}${spentNote}, more than --max-cost ${usd(request.maxCostUsd)}`,
        { worstUsd: worst },
      );
    }
    const outcome = budgets.reserve(request.spend, worst);
    if (!outcome.ok) {
      const b = outcome.budget;
      const scope = b.scope ? ` on ${b.scope.kind}=${b.scope.value}` : '';
      return this.refuse(
        request,
        `refused by ` +
          `budget '${b.name}' (${usd(b.limitUsd)} a ` +
          `${b.period}${scope}, hard): ${usd(b.spentUsd)} spent` +
          `${
            b.reservedUsd ? ` and ${usd(b.reservedUsd)} held for requests ` + `in flight` : ''
          }, ${usd(b.leftUsd)} left; this request to ${request.ref} could cost up to ${usd(worst)}`,
        { budget: b.name, leftUsd: b.leftUsd, worstUsd: worst },
      );
    }
    return { ok: true, reservation: outcome.reservation, maxOutputTokens };
  }

  /** A refusal naming what to do: the models that would fit (price, budgets and window), free ones first. */
  private async refuse(request: SpendRequest, reason: string, data: Omit<BudgetRefusedData, 'ref' | 'suggestions'>): Promise<Hold> {
    const fits: { ref: string; worst: number }[] = [];
    const promptTokens = messagesTokens(request.messages, estimateTokens);
    try {
      for (const alternative of await this.deps.alternatives()) {
        if (alternative.ref === request.ref) continue;
        if (alternative.contextWindow !== undefined && alternative.contextWindow < promptTokens) continue;
        const worst = this.deps.cost.worstCase(alternative.target, request.messages, GUARDED_MAX_OUTPUT_TOKENS);
        if (worst === null) continue;
        if (request.maxCostUsd !== undefined && worst > request.maxCostUsd) continue;
        if (
          this.deps.budgets.refusal(
            { ...request.spend, provider: alternative.target.provider, host: alternative.target.host, model: alternative.target.model },
            worst,
          )
        )
          continue;
        fits.push({ ref: alternative.ref, worst });
      }
    } catch (error) {
      this.deps.onError('could not list models for a refusal', error);
    }
    fits.sort((a, b) => a.worst - b.worst || a.ref.localeCompare(b.ref));
    const suggestions = fits.slice(0, 4);
    const hint = suggestions.length
      ? `; models that fit: ${suggestions.map((f) => `${f.ref} (${f.worst === 0 ? 'free' : `up to ${usd(f.worst)}`})`).join(', ')}`
      : '; no known model fits';
    return { ok: false, refusal: { reason, hint, data: { ...data, ref: request.ref, suggestions: suggestions.map((f) => f.ref) } } };
  }
}
