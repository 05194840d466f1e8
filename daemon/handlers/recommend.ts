import { z } from 'zod';
import { RecommendRequest } from '../../protocol/recommend';
import type { Recommender } from '../advice/recommend';
import { defineHandler, type Handler } from '../server/handlers';

export function recommendHandlers(recommender: Recommender): Handler[] {
  return [
    defineHandler(RecommendRequest, z.object({ task: z.string().min(1, 'describe the task, e.g. "review this diff"').max(100_000), contextTokens: z.number().int().min(0).max(10_000_000).optional() }), (params) =>
      recommender.recommend(params),
    ),
  ];
}
