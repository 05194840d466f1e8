import { z } from 'zod';
import { RecommendRequest, SavingsRequest } from '../../protocol/recommend';
import type { Ledger } from '../ledger/ledger';
import type { Recommender } from '../advice/recommend';
import { defineHandler, type Handler } from '../server/handlers';

export function recommendHandlers(recommender: Recommender, ledger: Ledger, now: () => number = Date.now): Handler[] {
  return [
    defineHandler(SavingsRequest, z.object({ days: z.number().int().min(1).max(366).optional() }), (params) => {
      const days = params.days ?? 30;
      return recommender.savings(ledger.since(now() - days * 86_400_000), days);
    }),
    defineHandler(
      RecommendRequest,
      z.object({
        task: z.string().min(1, 'describe the task, e.g. "review this diff"').max(100_000),
        contextTokens: z.number().int().min(0).max(10_000_000).optional(),
      }),
      (params) => recommender.recommend(params),
    ),
  ];
}
