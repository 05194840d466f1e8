import type { ProviderKind } from '../../protocol/hosts';

/**
 * Context windows for models whose host does not list them (OpenAI's /v1/models has none;
 * Anthropic's older API versions neither): from `llm-info`, a maintained table of model limits.
 * A host's own figure always wins (Ollama's /api/show, OpenRouter's and Gemini's listings).
 */

/** llm-info's provider names for ours; OpenRouter and Ollama list their own windows. */
const TABLE_PROVIDER: Partial<Record<ProviderKind, string>> = { anthropic: 'anthropic', openai: 'openai', gemini: 'google' };

interface Row {
  provider: string;
  contextWindowTokenLimit?: number;
}

let table: Map<string, number> | undefined;

/** Ids without a trailing date (`-20250929`, `-2025-04-14`) or `-latest`: aliases meet their snapshots. */
function baseId(id: string): string {
  return id
    .toLowerCase()
    .replace(/-latest$/, '')
    .replace(/-(\d{8}|\d{4}-\d{2}-\d{2})$/, '');
}

function load(): Map<string, number> {
  if (table) return table;
  table = new Map();
  // Required on first use: start-up and `aic status` never pay for it.
  const { ModelInfoMap } = require('llm-info') as { ModelInfoMap: Record<string, Row> };
  for (const [id, row] of Object.entries(ModelInfoMap)) {
    if (!row.contextWindowTokenLimit) continue;
    table.set(`${row.provider}/${id.toLowerCase()}`, row.contextWindowTokenLimit);
    const base = `${row.provider}/${baseId(id)}`;
    if (!table.has(base)) table.set(base, row.contextWindowTokenLimit);
  }
  return table;
}

export function knownContextWindow(provider: ProviderKind, model: string): number | undefined {
  const family = TABLE_PROVIDER[provider];
  if (!family) return undefined;
  const rows = load();
  const found = rows.get(`${family}/${model.toLowerCase()}`) ?? rows.get(`${family}/${baseId(model)}`);
  if (found) return found;
  // Every Claude model since Claude 3 takes 200k tokens by default (1M only behind a beta header aid does not send).
  if (provider === 'anthropic' && /^claude-/i.test(model)) return 200_000;
  return undefined;
}
