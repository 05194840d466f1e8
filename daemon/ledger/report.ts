import { invalidParams } from '../errors/aid-error';
import type { CostBy, CostParams, CostResult, CostRow } from '../../protocol/cost';
import type { Calendar } from './calendar';
import { emptyTotals, sumTotals, type Ledger } from './ledger';
import { roundUsd } from '../pricing/money';

/**
 * `aic cost`: spend by a dimension over a range of days, from the ledger's daily aggregates, with
 * a month-end projection. Reading aggregates keeps it fast however many rows the ledger holds.
 */
export class CostReporter {
  constructor(
    private readonly ledger: Ledger,
    private readonly calendar: Calendar,
    private readonly now: () => number = Date.now,
  ) {}

  report(params: CostParams): CostResult {
    const now = this.now();
    const month = this.calendar.monthProgress(now);
    const since = params.since !== undefined ? this.parseDay(params.since, 'since') : month.firstDay;
    const until = params.until !== undefined ? this.parseDay(params.until, 'until') : month.today;
    if (since > until) {
      throw invalidParams(`--since ${since} is after --until ${until}`, ['since', 'until']);
    }
    const by: CostBy = params.by ?? 'provider';
    let total = emptyTotals();
    const rows: CostRow[] = [];
    for (const [key, totals] of this.ledger.totalsBy(by, since, until, params.source)) {
      total = sumTotals(total, totals);
      const { usd, apiEquivalentUsd, ...rest } = totals;
      rows.push({ key, usd: roundUsd(usd), apiEquivalentUsd: roundUsd(apiEquivalentUsd), ...rest });
    }
    // Days in date order; everything else by spend, most first.
    rows.sort((a, b) => (by === 'day' ? a.key.localeCompare(b.key) : b.usd - a.usd || a.key.localeCompare(b.key)));
    let monthToDate = 0;
    for (const totals of this.ledger.totalsBy('day', month.firstDay, month.today, params.source).values()) monthToDate += totals.usd;
    // Linear: the month so far, spread over the days elapsed, continued to the month's end.
    const monthEnd = month.elapsedDays > 0 ? (monthToDate / month.elapsedDays) * month.daysInMonth : monthToDate;
    return {
      totalUsd: roundUsd(total.usd),
      apiEquivalentUsd: roundUsd(total.apiEquivalentUsd),
      unpricedRequests: total.unpricedRequests,
      estimatedRequests: total.estimatedRequests,
      rows,
      projection: {
        monthEndUsd: roundUsd(monthEnd),
        monthToDateUsd: roundUsd(monthToDate),
        elapsedDays: Math.round(month.elapsedDays * 100) / 100,
        daysInMonth: month.daysInMonth,
        method: 'month-to-date spend ÷ days elapsed × days in the month (calendar month in your time zone)',
      },
      since,
      until,
      timeZone: this.calendar.timeZone,
    };
  }

  /** `YYYY-MM-DD`, `today`, `yesterday` or `Nd`, as a day in the user's zone. */
  private parseDay(text: string, name: string): string {
    const value = text.trim().toLowerCase();
    const now = this.now();
    if (value === 'today') return this.calendar.day(now);
    if (value === 'yesterday') return this.calendar.daysBefore(now, 1);
    const relative = /^(\d{1,4})d$/.exec(value);
    if (relative) return this.calendar.daysBefore(now, Number(relative[1]));
    const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
    if (date) {
      const [, y, m, d] = date.map(Number) as [number, number, number, number];
      const check = new Date(Date.UTC(y, m - 1, d));
      if (check.getUTCMonth() === m - 1 && check.getUTCDate() === d) return value;
    }
    throw invalidParams(`--${name} '${text}': expected YYYY-MM-DD, today, yesterday or Nd (N days ago)`, [name]);
  }
}
