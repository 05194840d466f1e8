/** The ranking signals, each normalised to 0..1 over a query's candidates before they are weighed. */
export const SIGNALS = ['text', 'path', 'definition', 'graph', 'recency', 'cochange', 'prior', 'memory'] as const;
export type Signal = (typeof SIGNALS)[number];
export type SignalVector = Record<Signal, number>;
export type Weights = Record<Signal, number>;

/**
 * Starting weights, before any learning, tuned with `npm run eval:context` (docs/benchmarks.md):
 * text carries a question best; memory of past questions is strong when it fires and silent
 * otherwise; recency and priors only break ties.
 */
export const DEFAULT_WEIGHTS: Weights = { text: 0.38, path: 0.12, definition: 0.1, graph: 0.05, recency: 0.1, cochange: 0.08, prior: 0.04, memory: 0.25 };

export const zeroVector = (): SignalVector => ({ text: 0, path: 0, definition: 0, graph: 0, recency: 0, cochange: 0, prior: 0, memory: 0 });
