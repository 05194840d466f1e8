import { RequestType } from 'vscode-jsonrpc';

export type CostBy = 'provider' | 'model' | 'host' | 'day' | 'session' | 'project' | 'source';
export const COST_BY: readonly CostBy[] = ['provider', 'model', 'host', 'day', 'session', 'project', 'source'];

export interface CostParams {
  /** Default `provider`. */
  by?: CostBy;
  /** First day, inclusive: `YYYY-MM-DD`, `today`, `yesterday` or `Nd` (N days ago). Default: the first of this month. */
  since?: string;
  /** Last day, inclusive, same forms. Default: today. */
  until?: string;
  /** Only rows of this source: `aid`, `gateway:<client>`, an import source; `gateway` matches every `gateway:*`. */
  source?: string;
}

export interface CostRow {
  key: string;
  /** Actual spend: subscription calls count 0 here. */
  usd: number;
  /** What subscription calls would have cost at API prices (0 without any). */
  apiEquivalentUsd: number;
  requests: number;
  /** Requests without a known price, counted here and never as $0. */
  unpricedRequests: number;
  /**
   * Requests charged from an estimate: cut, cancelled after reaching the provider, or settled
   * after a crash left them in flight.
   */
  estimatedRequests: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
}

/** The contract's `aic cost --json` shape, plus the range and how the projection was made. */
export interface CostResult {
  totalUsd: number;
  apiEquivalentUsd: number;
  unpricedRequests: number;
  estimatedRequests: number;
  rows: CostRow[];
  projection: {
    monthEndUsd: number;
    /** Month to date, and the days of it elapsed (fractional), that the projection extrapolates. */
    monthToDateUsd: number;
    elapsedDays: number;
    daysInMonth: number;
    method: string;
  };
  since: string;
  until: string;
  timeZone: string;
}

export const CostRequest = new RequestType<CostParams, CostResult, void>('aid/cost');

/** `aic cost --reprice`: every recorded call priced again with today's rates. */
export interface RepriceResult {
  rows: number;
  changed: number;
  beforeUsd: number;
  afterUsd: number;
}
export const CostRepriceRequest = new RequestType<Record<string, never>, RepriceResult, void>('aid/cost/reprice');

/** `aic prices update`: fetch the maintained price data now. */
export interface PricesUpdateResult {
  /** The data now in use, as recorded with each cost. */
  source: string;
  providers: number;
  models: number;
}
export const PricesUpdateRequest = new RequestType<{ url?: string }, PricesUpdateResult, void>('aid/prices/update');
