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
