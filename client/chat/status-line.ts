import type { AskResult } from '../../protocol/chat';
import { spendText, usd } from '../output';

/** 950 → "950", 12_345 → "12.3k", 200_000 → "200k", 1_048_576 → "1.0M": the width a status line has room for. */
export function compactTokens(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) {
    const k = n / 1000;
    return k >= 100 || Number.isInteger(k) ? `${Math.round(k)}k` : `${k.toFixed(1)}k`;
  }
  return `${(n / 1_000_000).toFixed(1)}M`;
}

export function costText(value: number | null | undefined): string {
  if (value === null || value === undefined) return 'unpriced';
  return value === 0 ? 'free' : usd(value);
}

/** What the next question starts from: this answer's whole prompt plus the answer itself. */
export function conversationTokens(result: AskResult): number {
  const u = result.usage;
  return u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens + u.outputTokens;
}

/**
 * The line under each answer: model, tokens of the context window the conversation now fills,
 * this answer's cost and the session's, e.g. `ollama/llama3.2 · 12.3k/131k tokens · free · session free`.
 */
export function statusLine(result: AskResult, contextWindow: number | undefined, session: SessionCost): string {
  const used = compactTokens(conversationTokens(result));
  const window = contextWindow ? `${used}/${compactTokens(contextWindow)} tokens` : `${used} tokens (window unknown)`;
  const speed = result.tokensPerSecond !== undefined ? ` · ${result.tokensPerSecond.toFixed(1)} tok/s` : '';
  return `${result.ref} · ${window} · ${costText(result.costUsd)} this answer · session ${sessionCostText(session)}${speed}`;
}

/** A session's spend: the priced turns' sum, and how many turns had no known price. */
export interface SessionCost {
  usd: number;
  unpricedTurns: number;
}

export function sessionCostText(session: SessionCost): string {
  return session.unpricedTurns === 0 ? costText(session.usd) : spendText(session.usd, session.unpricedTurns);
}
