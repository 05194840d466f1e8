import { execFile } from 'node:child_process';
import type { AlertParams } from '../../protocol/budget';
import type { CostReporter } from '../ledger/report';
import type { Logger } from '../log/logger';
import { formatUsd as usd } from '../../protocol/money';
import type { Store } from '../store/store';
import type { Budgets } from './budgets';

/** Somewhere an alert goes: connected clients, the desktop, a webhook. */
export interface AlertSink {
  readonly name: string;
  send(alert: AlertParams): Promise<void>;
}

interface FiredState {
  /** `pending` until every sink was tried, so a crash in between resends rather than loses it. */
  state: 'pending' | 'sent';
  alert: AlertParams;
  at: number;
}

/**
 * Budget alerts: each threshold of each budget fires once per window, with the fact persisted in
 * lmdb before it is sent (a restart neither repeats nor misses one), plus spend reports. Checked
 * after every recorded call and by cron jobs (see main.ts).
 */
export class BudgetAlerts {
  constructor(
    private readonly options: {
      store: Store;
      budgets: Budgets;
      reporter: CostReporter;
      sinks: () => AlertSink[];
      logger: Logger;
      now?: () => number;
    },
  ) {}

  private db(): ReturnType<Store['db']> {
    return this.options.store.db<FiredState>('alerts');
  }

  /** Fires the thresholds crossed and not yet fired in their window; resends any left pending. */
  async check(): Promise<AlertParams[]> {
    const fired: AlertParams[] = [];
    for (const { key, value } of this.db().getRange()) {
      const state = value as FiredState;
      if (state.state === 'pending') fired.push(await this.deliver(String(key), state.alert));
    }
    for (const status of this.options.budgets.list()) {
      const percent = (status.spentUsd / status.limitUsd) * 100;
      // Only the highest threshold crossed is told; the lower ones are marked too, so they never fire late.
      const crossed = status.alerts.filter((t) => percent >= t);
      const top = crossed.at(-1);
      if (top === undefined) continue;
      // The limit is part of the key: raising a budget re-arms its thresholds in the same window.
      const window = `${status.window.since}@${status.limitUsd}`;
      const fresh = crossed.filter((t) => this.db().get(this.key(status.name, window, t)) === undefined);
      if (fresh.length === 0) continue;
      const scope = status.scope ? ` (${status.scope.kind}=${status.scope.value})` : '';
      const alert: AlertParams = {
        kind: 'threshold',
        title: `aid: budget ${status.name} at ${Math.floor(percent)}%`,
        message:
          `budget '${status.name}'` +
          `${scope} has used ${usd(status.spentUsd)} of ` +
          `${usd(status.limitUsd)} this ${status.period} (` +
          `${Math.floor(percent)}%, past the ${top}% alert)${status.hard && percent >= 100 ? '; it now refuses requests' : ''}`,
        budget: status.name,
        percent: Math.floor(percent),
      };
      const now = this.options.now?.() ?? Date.now();
      for (const t of fresh) {
        const state: FiredState = { state: t === top ? 'pending' : 'sent', alert, at: now };
        await this.db().put(this.key(status.name, window, t), state);
      }
      if (fresh.includes(top)) fired.push(await this.deliver(this.key(status.name, window, top), alert));
    }
    return fired;
  }

  /**
   * A spend report sent to every sink: for `day`, yesterday (a morning report covers a whole day);
   * for `week`, the seven days before today.
   */
  async report(period: 'day' | 'week'): Promise<AlertParams> {
    const spend = this.options.reporter.report({ by: 'provider', since: period === 'day' ? 'yesterday' : '7d', until: 'yesterday' });
    const budgets = this.options.budgets
      .list()
      .map((b) => `${b.name} ${Math.round((b.spentUsd / b.limitUsd) * 100)}% of ${usd(b.limitUsd)}/${b.period}`)
      .join(', ');
    const lines = spend.rows.map((r) => `${r.key} ${usd(r.usd)} (${r.requests} requests)`).join(', ');
    const alert: AlertParams = {
      kind: 'report',
      title: `aid: spend ${period === 'day' ? 'yesterday' : 'in the last 7 days'} ${usd(spend.totalUsd)}`,
      message:
        `${usd(spend.totalUsd)} ${period === 'day' ? `yesterday (${spend.since})` : `from ${spend.since} to ${spend.until}`}${lines ? `: ${lines}` : ''}` +
        `${spend.unpricedRequests ? ` (+${spend.unpricedRequests} unpriced requests)` : ''}; month to date ${usd(spend.projection.monthToDateUsd)}, ` +
        `projected ${usd(spend.projection.monthEndUsd)} by month end${budgets ? `; budgets: ${budgets}` : ''}`,
    };
    await this.sendAll(alert);
    return alert;
  }

  private key(budget: string, window: string, threshold: number): string {
    return `${budget}\u0000${window}\u0000${threshold}`;
  }

  private async deliver(key: string, alert: AlertParams): Promise<AlertParams> {
    await this.sendAll(alert);
    await this.db().put(key, { state: 'sent', alert, at: this.options.now?.() ?? Date.now() });
    return alert;
  }

  private async sendAll(alert: AlertParams): Promise<void> {
    await Promise.all(
      this.options
        .sinks()
        .map((sink) =>
          sink
            .send(alert)
            .catch((error: unknown) => this.options.logger.warn('an alert could not be delivered', { sink: sink.name, error: (error as Error).message })),
        ),
    );
  }
}

/** The desktop's notification daemon through notify-send, when it is installed. */
export class DesktopSink implements AlertSink {
  readonly name = 'desktop';
  constructor(private readonly command = 'notify-send') {}

  send(alert: AlertParams): Promise<void> {
    return new Promise((resolve, reject) => {
      execFile(this.command, ['--app-name=aid', alert.title, alert.message], { timeout: 5000 }, (error) => {
        // No notify-send (a server, CI): nothing to tell, and nothing wrong.
        if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') return resolve();
        if (error) return reject(new Error(`notify-send failed: ${error.message}`));
        resolve();
      });
    });
  }
}

/**
 * A Slack-compatible incoming webhook: `{"text": ...}` by POST, retried with backoff on network
 * errors, 429 and 5xx.
 */
export class WebhookSink implements AlertSink {
  readonly name = 'webhook';
  constructor(
    private readonly url: string,
    private readonly options: { attempts?: number; backoffMs?: number; fetch?: typeof fetch } = {},
  ) {}

  async send(alert: AlertParams): Promise<void> {
    const attempts = this.options.attempts ?? 4;
    const doFetch = this.options.fetch ?? fetch;
    let last = '';
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, (this.options.backoffMs ?? 1000) * 2 ** (attempt - 1)));
      try {
        const response = await doFetch(this.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ text: `*${alert.title}*\n${alert.message}`, aid: alert }),
          signal: AbortSignal.timeout(10_000),
        });
        await response.body?.cancel();
        if (response.ok) return;
        last = `HTTP ${response.status}`;
        if (response.status !== 429 && response.status < 500) break;
      } catch (error) {
        last = (error as Error).message;
      }
    }
    throw new Error(`webhook ${new URL(this.url).host} refused the alert: ${last}`);
  }
}
