import { RequestType } from 'vscode-jsonrpc';
import type { Price } from './models';

export type TaskClass = 'quick question' | 'commit message' | 'summary' | 'code review' | 'debugging' | 'refactoring' | 'generation' | 'architecture';
export type Tier = 'small' | 'medium' | 'strong';

export interface RecommendParams {
  task: string;
  /** Tokens of context the request will carry, when the caller knows (attached files). */
  contextTokens?: number;
}

export interface Recommendation {
  ref: string;
  tier: Tier;
  contextWindow?: number;
  local: boolean;
  price: Price | 'free' | 'unpriced';
  /** For one request of this task; null when the model has no known price. */
  estimatedUsd: number | null;
}

export interface RecommendResult {
  taskClass: TaskClass;
  /** Why the task was read this way (the words that decided it). */
  because: string;
  expectedInputTokens: number;
  expectedOutputTokens: number;
  minimumTier: Tier;
  /** Models that fit, local ones first, then cheapest first. */
  models: Recommendation[];
  /** Models left out, with why (too small a window, too weak a tier). */
  excluded: { ref: string; why: string }[];
}

export const RecommendRequest = new RequestType<RecommendParams, RecommendResult, void>('aid/recommend');

/** `aic cost --savings`: the last N days priced again with the recommended models. */
export interface SavingsResult {
  days: number;
  classes: {
    taskClass: string;
    requests: number;
    actualUsd: number;
    /** The model recommended for this kind of task now (local first), and what the same usage would have cost on it. */
    recommendedRef: string | null;
    recommendedUsd: number | null;
    savingsUsd: number | null;
  }[];
  totalActualUsd: number;
  totalRecommendedUsd: number;
  /** Paid for cache writes (above the plain input rate) in sessions that never read the cache back. */
  cachePremiumUsd: number;
  /** Priced requests recorded before task kinds were (no class to compare). */
  unclassifiedRequests: number;
}
export const SavingsRequest = new RequestType<{ days?: number }, SavingsResult, void>('aid/cost/savings');
