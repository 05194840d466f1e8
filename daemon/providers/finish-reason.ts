import type { FinishReason } from '../../protocol/chat';
import type { ProviderKind } from '../../protocol/hosts';

/**
 * Each provider's words for why an answer ended, in the one set clients read (protocol/chat.ts
 * FinishReason). A word not listed here is `other`; the provider's own word is kept beside it.
 */
const WORDS: Record<ProviderKind, Record<string, FinishReason>> = {
  // https://docs.anthropic.com/en/api/messages: stop_reason
  anthropic: {
    end_turn: 'stop',
    stop_sequence: 'stop',
    max_tokens: 'length',
    model_context_window_exceeded: 'length',
    tool_use: 'tool_use',
    refusal: 'content_filter',
  },
  // Chat Completions finish_reason; OpenRouter normalises to the same words and adds `error`.
  openai: { stop: 'stop', length: 'length', content_filter: 'content_filter', tool_calls: 'tool_use', function_call: 'tool_use', error: 'error' },
  openrouter: { stop: 'stop', length: 'length', content_filter: 'content_filter', tool_calls: 'tool_use', function_call: 'tool_use', error: 'error' },
  // generateContent's Candidate.finishReason.
  gemini: {
    STOP: 'stop',
    MAX_TOKENS: 'length',
    SAFETY: 'content_filter',
    RECITATION: 'content_filter',
    BLOCKLIST: 'content_filter',
    PROHIBITED_CONTENT: 'content_filter',
    SPII: 'content_filter',
    IMAGE_SAFETY: 'content_filter',
    MALFORMED_FUNCTION_CALL: 'error',
    UNEXPECTED_TOOL_CALL: 'tool_use',
  },
  // /api/chat done_reason (`load` and `unload` end no answer).
  ollama: { stop: 'stop', length: 'length' },
};

/** The normalised reason, and the provider's own word when it gave one. */
export function normaliseFinish(provider: ProviderKind, raw: string | undefined): { finishReason: FinishReason; providerFinishReason?: string } {
  if (!raw) return { finishReason: 'stop' };
  const words = WORDS[provider];
  const known = Object.prototype.hasOwnProperty.call(words, raw) ? words[raw] : undefined;
  return { finishReason: known ?? 'other', providerFinishReason: raw };
}
