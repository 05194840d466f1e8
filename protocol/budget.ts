import { NotificationType, RequestType } from 'vscode-jsonrpc';

export type BudgetPeriod = 'day' | 'week' | 'month';
export const BUDGET_PERIODS: readonly BudgetPeriod[] = ['day', 'week', 'month'];
export type BudgetScopeKind = 'host' | 'provider' | 'model' | 'session' | 'project';
export const BUDGET_SCOPE_KINDS: readonly BudgetScopeKind[] = ['host', 'provider', 'model', 'session', 'project'];

export interface Budget {
  name: string;
  limitUsd: number;
  /** Calendar window in the user's time zone: today, this week (Monday first), this month. */
  period: BudgetPeriod;
  /** What it counts; absent: all spend. */
  scope?: { kind: BudgetScopeKind; value: string };
  /** Hard: requests that could push spend past the limit are refused before they are sent. */
  hard: boolean;
  /** Percentages of the limit at which an alert fires, once per window. */
  alerts: number[];
}

export interface BudgetStatus extends Budget {
  spentUsd: number;
  /** Held for requests in flight (their worst case), released when they finish. */
  reservedUsd: number;
  leftUsd: number;
  window: { since: string; until: string };
}

/**
 * Creates a budget, or changes only the fields given of an existing one (a budget's limit can be
 * lowered without it silently turning soft or monthly). A new budget needs `limitUsd`; its period
 * defaults to month, hard to false, alerts to 50, 80, 100. `scope: null` removes a scope.
 */
export interface BudgetSetParams {
  name: string;
  limitUsd?: number;
  period?: BudgetPeriod;
  scope?: { kind: BudgetScopeKind; value: string } | null;
  hard?: boolean;
  alerts?: number[];
}

export interface BudgetSetResult extends BudgetStatus {
  /** True when the budget did not exist before. */
  created: boolean;
  /** Things worth knowing that did not stop the change (a model no host lists today). */
  warnings?: string[];
}

export const BudgetSetRequest = new RequestType<BudgetSetParams, BudgetSetResult, void>('aid/budget/set');
export const BudgetListRequest = new RequestType<Record<string, never>, BudgetStatus[], void>('aid/budget/list');
export const BudgetRemoveRequest = new RequestType<{ name: string }, { name: string }, void>('aid/budget/rm');

/** A budget threshold crossed, or a spend report: pushed to every connected client. */
export interface AlertParams {
  kind: 'threshold' | 'report';
  title: string;
  message: string;
  budget?: string;
  percent?: number;
}
/** To every handshaken connection: a budget crossed one of its thresholds (once per window), or a scheduled spend report. */
export const AlertNotification = new NotificationType<AlertParams>('aid/alert');
