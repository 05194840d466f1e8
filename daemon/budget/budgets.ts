import type { Budget, BudgetSetParams, BudgetStatus } from '../../protocol/budget';
import { invalidParams, notFound } from '../errors/aid-error';
import type { ProviderKind } from '../../protocol/hosts';
import type { Calendar } from '../ledger/calendar';
import type { Ledger } from '../ledger/ledger';
import { roundUsd } from '../pricing/money';
import type { Store } from '../store/store';

/** What a request would be counted under. */
export interface SpendTarget {
  provider: ProviderKind;
  host: string;
  model: string;
  sessionId: string;
  project?: string;
}

/** Money held for a request in flight; released once its real cost is in the ledger. */
export interface Reservation {
  release(): void;
}

export type ReserveOutcome = { ok: true; reservation: Reservation } | { ok: false; budget: BudgetStatus; worstUsd: number };

/** A cent's billionth: float sums must not refuse a request that fits exactly. */
const EPSILON = 1e-9;

/**
 * Budgets: stored in lmdb, spend per calendar window read from the ledger's daily aggregates.
 * Hard limits hold back each request's worst case before it is sent and release it once the real
 * cost is recorded. The daemon is the only writer and this check-and-hold is synchronous, so
 * concurrent requests can never push recorded spend past a hard limit.
 */
export class Budgets {
  private readonly reserved = new Map<string, number>();
  /** Budgets change only through set and rm: read from lmdb once, not before every request. */
  private cached: Budget[] | undefined;
  /** Spend per budget, valid while the ledger has no new row and the window is the same. */
  private readonly spentCache = new Map<string, { version: number; since: string; usd: number }>();

  constructor(
    private readonly store: Store,
    private readonly ledger: Ledger,
    private readonly calendar: Calendar,
    private readonly now: () => number = Date.now,
  ) {}

  private db(): ReturnType<Store['db']> {
    return this.store.db<Budget>('budgets');
  }

  /**
   * Creates a budget, or updates only what `params` gives of an existing one: lowering a hard
   * daily limit never turns it into a soft monthly one.
   */
  async set(params: BudgetSetParams): Promise<{ status: BudgetStatus; created: boolean }> {
    const existing = this.get(params.name);
    if (!existing && params.limitUsd === undefined) {
      throw invalidParams(`budget '${params.name}' does not exist yet: give it a limit (--limit USD)`, ['limitUsd']);
    }
    const scope = params.scope === undefined ? existing?.scope : (params.scope ?? undefined);
    const budget: Budget = {
      name: params.name,
      limitUsd: params.limitUsd ?? (existing as Budget).limitUsd,
      period: params.period ?? existing?.period ?? 'month',
      ...(scope ? { scope } : {}),
      hard: params.hard ?? existing?.hard ?? false,
      alerts: [...new Set(params.alerts ?? existing?.alerts ?? [50, 80, 100])].sort((a, b) => a - b),
    };
    await this.db().put(budget.name, budget);
    this.cached = undefined;
    this.spentCache.delete(budget.name);
    return { status: this.status(budget), created: !existing };
  }

  async remove(name: string): Promise<void> {
    if (!this.get(name)) throw notFound(`no budget named '${name}' (see \`aic budget list\`)`, 'budget', name);
    await this.db().remove(name);
    this.cached = undefined;
    // Holds of requests in flight stay until they finish: a budget set again under this name counts them.
    this.spentCache.delete(name);
  }

  get(name: string): Budget | undefined {
    return this.db().get(name) as Budget | undefined;
  }

  all(): Budget[] {
    if (!this.cached) {
      const out: Budget[] = [];
      for (const { value } of this.db().getRange()) out.push(value as Budget);
      this.cached = out;
    }
    return this.cached;
  }

  list(): BudgetStatus[] {
    return this.all().map((b) => this.status(b));
  }

  /** The window the budget counts now, as days. */
  window(budget: Budget): { since: string; until: string } {
    const now = this.now();
    return { since: this.calendar.windowStart(now, budget.period), until: this.calendar.day(now) };
  }

  spent(budget: Budget): number {
    const { since, until } = this.window(budget);
    const cached = this.spentCache.get(budget.name);
    if (cached && cached.version === this.ledger.version && cached.since === since) return cached.usd;
    const usd = this.sumSpent(budget, since, until);
    this.spentCache.set(budget.name, { version: this.ledger.version, since, usd });
    return usd;
  }

  private sumSpent(budget: Budget, since: string, until: string): number {
    if (!budget.scope) {
      let sum = 0;
      for (const totals of this.ledger.totalsBy('day', since, until).values()) sum += totals.usd;
      return sum;
    }
    const scope = budget.scope;
    let sum = 0;
    // The same matching as for requests (a model in any case, or its :latest tag).
    for (const [value, totals] of this.ledger.totalsBy(scope.kind, since, until)) {
      if (this.scopeMatches(scope.kind, scope.value, value)) sum += totals.usd;
    }
    return sum;
  }

  status(budget: Budget): BudgetStatus {
    const spentUsd = this.spent(budget);
    const reservedUsd = this.reserved.get(budget.name) ?? 0;
    return {
      ...budget,
      spentUsd: roundUsd(spentUsd),
      reservedUsd: roundUsd(reservedUsd),
      leftUsd: roundUsd(Math.max(0, budget.limitUsd - spentUsd - reservedUsd)),
      window: this.window(budget),
    };
  }

  matches(budget: Budget, target: SpendTarget): boolean {
    if (!budget.scope) return true;
    const { kind, value } = budget.scope;
    const actual = kind === 'session' ? target.sessionId : kind === 'project' ? target.project : target[kind];
    return actual !== undefined && this.scopeMatches(kind, value, actual);
  }

  private scopeMatches(kind: string, value: string, actual: string): boolean {
    // Models as routing names them: any case, and a tag-less name means :latest.
    if (kind === 'model') {
      const a = actual.toLowerCase();
      const v = value.toLowerCase();
      return a === v || a === `${v}:latest`;
    }
    return actual === value;
  }

  /** The hard budgets a request to `target` falls under. */
  hardFor(target: SpendTarget): Budget[] {
    return this.all().filter((b) => b.hard && this.matches(b, target));
  }

  /** Whether a request costing at most `worstUsd` fits every hard budget it falls under (nothing held). */
  refusal(target: SpendTarget, worstUsd: number): BudgetStatus | undefined {
    for (const budget of this.hardFor(target)) {
      const status = this.status(budget);
      if (status.spentUsd + status.reservedUsd + worstUsd > budget.limitUsd + EPSILON) return status;
    }
    return undefined;
  }

  /** Checks and holds in one synchronous step: nothing can slip in between. */
  reserve(target: SpendTarget, worstUsd: number): ReserveOutcome {
    const refused = this.refusal(target, worstUsd);
    if (refused) return { ok: false, budget: refused, worstUsd };
    const held = this.hardFor(target).map((b) => b.name);
    for (const name of held) this.reserved.set(name, (this.reserved.get(name) ?? 0) + worstUsd);
    let released = false;
    return {
      ok: true,
      reservation: {
        release: () => {
          if (released) return;
          released = true;
          for (const name of held) {
            const left = (this.reserved.get(name) ?? 0) - worstUsd;
            if (left > EPSILON) this.reserved.set(name, left);
            else this.reserved.delete(name);
          }
        },
      },
    };
  }
}
