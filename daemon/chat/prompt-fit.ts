import { conservativeTokens, estimateTokens, exactTokens, messagesTokens } from '../tokens/count';

/** A prompt too large for a model's context window, as counted. */
export interface Overflow {
  tokens: number;
  window: number;
  /** Counted by the model's own tokenizer, rather than estimated. */
  exact: boolean;
}

/**
 * Whether a conversation cannot fit a model's context window, decided before anything is sent
 * (a provider bills a prompt it then refuses, or cuts it silently). Most prompts are far below
 * the window and cost one byte count; only one within reach of it is counted exactly (OpenAI's
 * tokenizer) or, where no tokenizer exists, refused only when even the typical estimate is over,
 * so a prompt that fits is never refused on a guess. Ollama is left alone: it fits the window to
 * the prompt (num_ctx) and says when it had to cut.
 */
export function overflow(model: { provider: string; model: string; contextWindow?: number }, messages: readonly { content: string }[]): Overflow | undefined {
  const window = model.contextWindow;
  if (!window || model.provider === 'ollama') return undefined;
  if (messagesTokens(messages, conservativeTokens) <= window) return undefined;
  const exact = exactTokens(model.model, messages);
  const tokens = exact ?? messagesTokens(messages, estimateTokens);
  return tokens > window ? { tokens, window, exact: exact !== undefined } : undefined;
}
