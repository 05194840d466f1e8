import { COST_BY, CostRepriceRequest, CostRequest, type CostBy, type CostResult } from '../../protocol/cost';
import { UsageError, parseCommand, stringFlag } from '../args';
import { withDaemon } from '../connect';
import { printJson, table, usd } from '../output';
import { SavingsRequest } from '../../protocol/recommend';

const count = (n: number): string => n.toLocaleString('en-US');

function human(result: CostResult, by: CostBy): string {
  // Subscription use shows beside spend only when there is some: what it would have cost at API prices.
  const plans = result.apiEquivalentUsd > 0;
  const rows = result.rows.map((r) => [
    r.key,
    usd(r.usd) + (r.unpricedRequests ? ` + ${r.unpricedRequests} unpriced` : ''),
    ...(plans ? [usd(r.apiEquivalentUsd ?? 0)] : []),
    count(r.requests),
    count(r.inputTokens),
    count(r.cacheReadTokens),
    count(r.cacheWriteTokens),
    count(r.outputTokens),
    count(r.reasoningTokens),
  ]);
  const body = rows.length
    ? table(
        [by.toUpperCase(), 'COST', ...(plans ? ['SUBSCRIPTION (AT API PRICES)'] : []), 'REQUESTS', 'INPUT', 'CACHE READ', 'CACHE WRITE', 'OUTPUT', 'REASONING'],
        rows,
      )
    : `no requests from ${result.since} to ${result.until}\n`;
  const p = result.projection;
  const unpriced = result.unpricedRequests ? ` (${result.unpricedRequests} requests unpriced, not counted)` : '';
  return (
    body +
    `\ntotal ${usd(result.totalUsd)}${unpriced}${plans ? `, plus subscription use worth ${usd(result.apiEquivalentUsd)} at API prices` : ''}, ` +
    `${result.since} to ${result.until} (${result.timeZone})\n` +
    `month-end projection ${usd(p.monthEndUsd)}: ${usd(p.monthToDateUsd)} so far over ${p.elapsedDays} of ${p.daysInMonth} days, continued at that rate\n`
  );
}

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand('cost', argv);
  const byText = stringFlag(args, 'by') ?? 'provider';
  const by = COST_BY.find((b) => b === byText);
  if (!by) throw new UsageError(`--by ${byText}: expected one of ${COST_BY.join(', ')}`);
  const since = stringFlag(args, 'since');
  const until = stringFlag(args, 'until');
  const source = stringFlag(args, 'source');
  return withDaemon(async (session) => {
    if (args.flags.has('savings')) {
      const r = await session.rpc.request(SavingsRequest, {});
      if (args.flags.has('json')) {
        printJson(r);
        return 0;
      }
      process.stdout.write(
        r.classes.length
          ? table(
              ['TASK', 'REQUESTS', 'SPENT', 'RECOMMENDED NOW', 'WOULD HAVE COST', 'SAVING'],
              r.classes.map((c) => [
                c.taskClass,
                String(c.requests),
                usd(c.actualUsd),
                c.recommendedRef ?? '-',
                c.recommendedUsd === null ? 'unpriced' : usd(c.recommendedUsd),
                c.savingsUsd === null ? '-' : usd(c.savingsUsd),
              ]),
            )
          : `no priced requests with a task kind in the last ${r.days} days\n`,
      );
      process.stdout.write(
        `\nlast ${r.days} days: spent ${usd(r.totalActualUsd)}, with the recommended models ${usd(r.totalRecommendedUsd)}; ` +
          `cache writes never read back cost ${usd(r.cachePremiumUsd)} over plain input` +
          (r.unclassifiedRequests ? `; ${r.unclassifiedRequests} older requests have no task kind` : '') +
          '\n',
      );
      return 0;
    }
    if (args.flags.has('reprice')) {
      const r = await session.rpc.request(CostRepriceRequest, {});
      process.stderr.write(`repriced ${r.rows} requests with today's rates: ${r.changed} changed, total ${usd(r.beforeUsd)} → ${usd(r.afterUsd)}\n`);
    }
    const result = await session.rpc.request(CostRequest, { by, ...(since ? { since } : {}), ...(until ? { until } : {}), ...(source ? { source } : {}) });
    if (args.flags.has('json')) printJson(result);
    else process.stdout.write(human(result, by));
    return 0;
  });
}
