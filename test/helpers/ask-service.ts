import { classifyTask } from '../../daemon/advice/recommend';
import { AskService } from '../../daemon/chat/ask';
import { configSchema } from '../../daemon/config/schema';
import { ContextAttacher } from '../../daemon/chat/context-attach';
import { HostAttempts, type AskLimits } from '../../daemon/chat/host-attempts';
import { Budgets } from '../../daemon/budget/budgets';
import { SpendGuard } from '../../daemon/budget/spend-guard';
import type { HostRegistry } from '../../daemon/catalog/registry';
import { ContextEngine } from '../../daemon/context/engine';
import { Calendar } from '../../daemon/ledger/calendar';
import type { Ledger } from '../../daemon/ledger/ledger';
import type { Logger } from '../../daemon/log/logger';
import { CallCost } from '../../daemon/pricing/call-cost';
import { PriceBook } from '../../daemon/pricing/price-book';
import { Sessions } from '../../daemon/sessions/sessions';
import type { Store } from '../../daemon/store/store';
import { ProviderError } from '../../daemon/providers/types';
import { abortableSleep } from '../../daemon/timers/sleep';

const DEFAULT_LIMITS: AskLimits = { idleTimeoutMs: 120_000, firstTokenTimeoutMs: 300_000, maxRetryWaitMs: 20_000 };

export interface AskParts {
  registry: HostRegistry;
  store: Store;
  ledger: Ledger;
  logger: Logger;
  prices?: PriceBook;
  budgets?: Budgets;
  sessions?: Sessions;
  defaultModel?: () => string | undefined;
  limits?: () => AskLimits;
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  onBudgetRefusal?: () => 'refuse' | 'downgrade';
}

/**
 * An AskService wired as main.ts wires it, from real collaborators on the test's store: sessions,
 * the context engine, the price book, budgets, the spend guard and the host attempts. Tests choose
 * only the seams (clock, sleep, limits) and the registry's adapters.
 */
export function buildAskService(parts: AskParts): { ask: AskService; sessions: Sessions; budgets: Budgets; engine: ContextEngine } {
  const prices = parts.prices ?? new PriceBook({ overrides: () => ({}), datasetVersion: 'test' });
  const budgets = parts.budgets ?? new Budgets(parts.store, parts.ledger, new Calendar('UTC'));
  const sessions = parts.sessions ?? new Sessions(parts.store);
  const engine = new ContextEngine({ store: parts.store, log: () => undefined, idleUnwatchMs: 60_000 });
  const cost = new CallCost(prices);
  const registry = parts.registry;
  const guard = new SpendGuard({
    budgets,
    cost,
    alternatives: () => registry.catalog.alternatives(),
    onError: () => undefined,
  });
  const attempts = new HostAttempts({
    router: registry.router,
    catalog: registry.catalog,
    ledger: parts.ledger,
    logger: parts.logger,
    cost,
    guard,
    limits: parts.limits ?? (() => DEFAULT_LIMITS),
    now: parts.now ?? Date.now,
    sleep: parts.sleep ?? ((ms, signal) => abortableSleep(ms, signal, () => new ProviderError('cancelled', 'request cancelled'))),
    classify: (prompt) => classifyTask(prompt).taskClass,
    onBudgetRefusal: parts.onBudgetRefusal ?? (() => 'refuse'),
    onSpend: () => undefined,
  });
  // The config's own defaults, as a daemon without a config file has them.
  const context = new ContextAttacher(engine, () => ({ ...configSchema.parse({}).context, waitMs: 0 }));
  const ask = new AskService({
    router: registry.router,
    sessions,
    context,
    attempts,
    logger: parts.logger,
    defaultModel: parts.defaultModel ?? (() => undefined),
    ...(parts.now ? { now: parts.now } : {}),
  });
  return { ask, sessions, budgets, engine };
}
