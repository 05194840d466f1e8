import { z } from 'zod';
import {
  BUDGET_PERIODS,
  BUDGET_SCOPE_KINDS,
  BudgetListRequest,
  BudgetRemoveRequest,
  BudgetSetRequest,
  type BudgetPeriod,
  type BudgetScopeKind,
  type BudgetSetParams,
} from '../../protocol/budget';
import { PROVIDER_KINDS } from '../../protocol/hosts';
import type { Budgets } from '../budget/budgets';
import type { HostHealth } from '../catalog/host-health';
import type { ModelCatalog } from '../catalog/model-catalog';
import { findModel } from '../catalog/model-match';
import { invalidParams } from '../errors/aid-error';
import { defineHandler, type Handler } from '../server/handlers';

const name = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a budget name uses letters, digits, . _ - (at most 64)');

/**
 * A scope that can never match is a mistake to say now, not a budget that silently counts
 * nothing: unknown hosts and providers are refused; a model no host lists today is only warned
 * about (it may be pulled or released later).
 */
async function checkScope(scope: BudgetSetParams['scope'], health: HostHealth, catalog: ModelCatalog): Promise<string[]> {
  if (!scope) return [];
  if (scope.kind === 'host' && !health.hostNames().includes(scope.value)) {
    throw invalidParams(`--scope host=${scope.value}: no host named '${scope.value}'; known hosts: ${health.hostNames().join(', ')}`, ['scope.value']);
  }
  if (scope.kind === 'provider' && !(PROVIDER_KINDS as readonly string[]).includes(scope.value)) {
    throw invalidParams(`--scope provider=${scope.value}: no provider named '${scope.value}'; providers: ${PROVIDER_KINDS.join(', ')}`, ['scope.value']);
  }
  if (scope.kind === 'model') {
    const { models } = await catalog.listModels();
    const listed = models.map((m) => ({ id: m.model }));
    if (!findModel(listed, scope.value))
      return [`no host lists a model named '${scope.value}' today; the budget counts it once one serves it (see \`aic models\`)`];
  }
  return [];
}

export function budgetHandlers(budgets: Budgets, health: HostHealth, catalog: ModelCatalog): Handler[] {
  return [
    defineHandler(
      BudgetSetRequest,
      z.object({
        name,
        limitUsd: z.number().positive('the limit must be more than $0').max(1e9, 'the limit must be at most $1,000,000,000').optional(),
        period: z.enum(BUDGET_PERIODS as [BudgetPeriod, ...BudgetPeriod[]]).optional(),
        scope: z
          .object({ kind: z.enum(BUDGET_SCOPE_KINDS as [BudgetScopeKind, ...BudgetScopeKind[]]), value: z.string().min(1).max(300) })
          .nullable()
          .optional(),
        hard: z.boolean().optional(),
        alerts: z.array(z.number().int().min(1).max(1000)).max(20).optional(),
      }),
      async (params) => {
        const warnings = await checkScope(params.scope, health, catalog);
        const { status, created } = await budgets.set(params);
        return { ...status, created, ...(warnings.length ? { warnings } : {}) };
      },
    ),
    defineHandler(BudgetListRequest, z.object({}), () => budgets.list()),
    defineHandler(BudgetRemoveRequest, z.object({ name }), async (params) => {
      await budgets.remove(params.name);
      return { name: params.name };
    }),
  ];
}
