import { RequestType } from 'vscode-jsonrpc';
import type { ProviderKind } from './hosts';

export interface Price {
  inputPerMTok: number;
  outputPerMTok: number;
  cacheReadPerMTok?: number;
  cacheWritePerMTok?: number;
  /** A fee per request on top of the tokens (some OpenRouter models). */
  perRequestUsd?: number;
}

/** What a model is for: answering (`chat`) or turning text into vectors (`embedding`). */
export type ModelKind = 'chat' | 'embedding';

/** One model on one host, as the contract's `aic models --json` row. */
export interface ModelInfo {
  ref: string;
  host: string;
  provider: ProviderKind;
  model: string;
  /** Routing, suggestions and pickers use chat models only; listings show both. */
  kind: ModelKind;
  contextWindow?: number;
  price: Price | 'free' | 'unpriced';
}

export interface ModelsParams {
  host?: string;
  refresh?: boolean;
}
export interface ModelsResult {
  models: ModelInfo[];
  /** Hosts that could not be listed, with why; their models are missing from `models`. */
  failures: { host: string; error: string }[];
  /**
   * Hosts whose models come from an older list: being refreshed in the background, or kept
   * because the host did not answer now (then `error` says why).
   */
  stale: { host: string; ageMs: number; error?: string }[];
}
export const ModelsRequest = new RequestType<ModelsParams, ModelsResult, void>('aid/models');
