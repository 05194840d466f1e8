import type { Usage } from '../../protocol/chat';
import { estimateTokens, maxTokens, messagesTokens } from '../tokens/count';
import type { PriceBook, PricedCall, PriceTarget } from './price-book';

/** A message as it is sent: only its text counts here. */
interface Sent {
  content: string;
}

/** What a call is to be charged, and whether the counts are the provider's own. */
export interface BilledUsage {
  usage: Usage;
  estimated: boolean;
}

/** Tokens the prompt framing may add beyond the messages' own (system markers, the reply primer). */
const PROMPT_FRAMING_TOKENS = 16;

const ZERO: Usage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };

const reportedAny = (u: Usage): boolean => u.inputTokens + u.outputTokens + u.cacheReadTokens + u.cacheWriteTokens + u.reasoningTokens > 0;

/**
 * What one provider call costs: the price target it is priced as, its worst case before it is
 * sent, its real cost after, and — when the provider never said — an estimate from what was
 * actually sent (the whole conversation, history and context included) and received.
 */
export class CallCost {
  constructor(private readonly prices: PriceBook) {}

  /**
   * The one rule for what a call is priced as: its provider's family, its host's overrides, and
   * the rates the host's own listing gave (OpenRouter), when it gave any.
   */
  static target(model: { provider: PriceTarget['provider']; host: string; model: string; listed?: PriceTarget['listed'] }): PriceTarget {
    return { provider: model.provider, host: model.host, model: model.model, ...(model.listed ? { listed: model.listed } : {}) };
  }

  price(target: PriceTarget, usage: Usage, providerCostUsd?: number): PricedCall {
    return this.prices.cost(target, usage, providerCostUsd);
  }

  /** A failed call's charge: nothing used is $0 whatever the model's price, else priced as usual. */
  chargeFor(target: PriceTarget, usage: Usage): PricedCall {
    return reportedAny(usage) ? this.price(target, usage) : { costUsd: 0 };
  }

  /** The most the call can cost with its output capped at `maxOutputTokens`; null when unpriced. */
  worstCase(target: PriceTarget, messages: readonly Sent[], maxOutputTokens: number): number | null {
    return this.prices.worstCase(target, messagesTokens(messages, maxTokens) + PROMPT_FRAMING_TOKENS, maxOutputTokens);
  }

  /** The estimated input of a conversation as sent, before any provider counted it. */
  sent(messages: readonly Sent[]): Usage {
    return { ...ZERO, inputTokens: messagesTokens(messages, estimateTokens) };
  }

  /**
   * The usage to bill a call with. The provider's final counts when it sent them. Otherwise: a
   * call that never reached the provider (cancelled or refused before its response began) costs
   * nothing; one that did is charged its input — the provider's early counts when it gave some
   * (Anthropic's message_start), else the estimate of everything sent — and its output, at least
   * what streamed back.
   */
  bill(call: { final?: Usage; early?: Usage; sent: Usage; reached: boolean; receivedText: string }): BilledUsage {
    if (call.final && reportedAny(call.final)) return { usage: call.final, estimated: false };
    // A provider whose final counts were all zero, though it answered, still billed the call.
    if (!call.reached && call.receivedText.length === 0) return { usage: call.final ?? { ...ZERO }, estimated: false };
    const input = call.early && reportedAny(call.early) ? call.early : call.sent;
    const streamed = call.receivedText ? estimateTokens(call.receivedText) : 0;
    return {
      usage: { ...input, outputTokens: Math.max(input === call.early ? call.early.outputTokens : 0, streamed), reasoningTokens: input.reasoningTokens },
      estimated: true,
    };
  }
}
