import type { DiscoveredModel } from '../providers/types';

/** Models that answer questions: what routing, suggestions and pickers offer. */
export function chatModels<M extends { kind?: string }>(models: M[]): M[] {
  return models.filter((m) => m.kind !== 'embedding');
}

/** Exact id, else `name` matching `name:latest` (Ollama's default tag), case-insensitive. */
export function findModel(models: DiscoveredModel[], wanted: string): DiscoveredModel | undefined {
  const w = wanted.toLowerCase();
  return models.find((m) => m.id.toLowerCase() === w) ?? (w.includes(':') ? undefined : models.find((m) => m.id.toLowerCase() === `${w}:latest`));
}
