import type { ProviderKind } from '../../protocol/hosts';
import type { DiscoveredModel } from '../providers/types';

/**
 * The model a host offers when the user names none: a capable everyday model at a moderate price,
 * not whatever the listing happens to put first (Anthropic lists its newest, often priciest,
 * first). Patterns are tried in order; the first listed model is the fallback.
 */
const PREFERRED: Record<ProviderKind, RegExp[]> = {
  anthropic: [/sonnet/i, /haiku/i],
  openai: [/^gpt-4\.1-mini$/i, /^gpt-4o-mini$/i, /mini/i],
  gemini: [/^gemini-[\d.]+-flash$/i, /flash/i],
  openrouter: [/sonnet/i, /llama-3\.3-70b/i],
  ollama: [],
};

export function recommendedModel(provider: ProviderKind, models: DiscoveredModel[]): DiscoveredModel | undefined {
  for (const pattern of PREFERRED[provider]) {
    const match = models.find((m) => pattern.test(m.id));
    if (match) return match;
  }
  return models[0];
}
