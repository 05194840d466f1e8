import { z } from 'zod';
import { BUDGET_PERIODS, BUDGET_SCOPE_KINDS, BudgetListRequest, BudgetRemoveRequest, BudgetSetRequest, type BudgetPeriod, type BudgetScopeKind } from '../../protocol/budget';
import type { Budgets } from '../budget/budgets';
import { defineHandler, type Handler } from '../server/handlers';

const name = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a budget name uses letters, digits, . _ - (at most 64)');

export function budgetHandlers(budgets: Budgets): Handler[] {
  return [
    defineHandler(
      BudgetSetRequest,
      z.object({
        name,
        limitUsd: z.number().positive('the limit must be more than $0').max(1e9),
        period: z.enum(BUDGET_PERIODS as [BudgetPeriod, ...BudgetPeriod[]]),
        scope: z.object({ kind: z.enum(BUDGET_SCOPE_KINDS as [BudgetScopeKind, ...BudgetScopeKind[]]), value: z.string().min(1).max(300) }).optional(),
        hard: z.boolean().optional(),
        alerts: z.array(z.number().int().min(1).max(1000)).max(20).optional(),
      }),
      (params) => budgets.set(params),
    ),
    defineHandler(BudgetListRequest, z.object({}), () => budgets.list()),
    defineHandler(BudgetRemoveRequest, z.object({ name }), async (params) => {
      await budgets.remove(params.name);
      return { name: params.name };
    }),
  ];
}
