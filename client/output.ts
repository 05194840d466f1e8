import { formatUsd } from '../protocol/money';
import type { ModelInfo } from '../protocol/models';

/** Plain column layout for listings; no dependency, no colour codes when piped. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

export function formatDuration(ms: number): string {
  // Round first, then split into units, so rounding carries over (never "1m60s" or "1000 ms").
  if (Math.round(ms) < 1000) return `${Math.round(ms)} ms`;
  const tenths = Math.round(ms / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${seconds % 60}s`;
  return `${Math.floor(m / 60)}h${m % 60}m`;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/**
 * Spend that may include turns of unknown price: those are counted beside the sum, never shown as
 * $0 ("$0.0123 + 2 unpriced", or "2 unpriced" when nothing priced was spent).
 */
export function spendText(pricedUsd: number, unpriced: number): string {
  if (unpriced === 0) return usd(pricedUsd);
  return `${pricedUsd > 0 ? `${usd(pricedUsd)} + ` : ''}${unpriced} unpriced`;
}

/** Dollars, as the daemon writes them too. */
export const usd = formatUsd;

/** A model's price per million tokens as listings show it. */
export function modelPrice(model: ModelInfo): string {
  if (model.price === 'free' || model.price === 'unpriced') return model.price;
  return `$${model.price.inputPerMTok} in / $${model.price.outputPerMTok} out`;
}

export function contextWindowText(tokens: number | undefined): string {
  if (tokens === undefined) return '-';
  return tokens >= 1000 ? `${Math.round(tokens / 1000)}k` : String(tokens);
}

/** A time as `YYYY-MM-DD HH:MM` (UTC), short enough for a table column. */
export function when(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

/** "1 turn", "3 turns". */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** A progress bar `width` cells wide: filled in proportion to done/total. */
export function bar(done: number, total: number, width = 30): string {
  const filled = total > 0 ? Math.round((Math.min(done, total) / total) * width) : 0;
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}
