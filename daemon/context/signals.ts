/** The ranking signals, each normalised to 0..1 over a query's candidates before they are weighed. */
export const SIGNALS = ['text', 'path', 'definition', 'graph', 'recency', 'cochange', 'prior', 'memory'] as const;
export type Signal = (typeof SIGNALS)[number];
export type SignalVector = Record<Signal, number>;
export type Weights = Record<Signal, number>;

/**
 * Starting weights, before any learning. Text and definitions carry a question best; memory of
 * past questions is strong when it fires and silent otherwise; recency and priors only break ties.
 */
export const DEFAULT_WEIGHTS: Weights = { text: 0.3, path: 0.12, definition: 0.15, graph: 0.1, recency: 0.05, cochange: 0.08, prior: 0.05, memory: 0.15 };

export const zeroVector = (): SignalVector => ({ text: 0, path: 0, definition: 0, graph: 0, recency: 0, cochange: 0, prior: 0, memory: 0 });
