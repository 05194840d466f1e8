import { BUDGET_PERIODS, BUDGET_SCOPE_KINDS, BudgetListRequest, BudgetRemoveRequest, BudgetSetRequest, type BudgetStatus } from '../../protocol/budget';
import { UsageError, parseArgs, stringFlag } from '../args';
import { connectDaemon } from '../connect';
import { printJson, table, usd } from '../output';
import { projectRoot } from './ask';

const USAGE = 'usage: aic budget set NAME --limit USD --period day|week|month [--scope host=H|provider=P|model=M|session=S|project=DIR] [--hard] [--alert 50,80,100] | aic budget list [--json] | aic budget rm NAME';

function rows(budgets: BudgetStatus[]): string {
  return table(
    ['BUDGET', 'LIMIT', 'PERIOD', 'SCOPE', 'SPENT', 'LEFT', 'USED', 'HARD', 'ALERTS'],
    budgets.map((b) => [
      b.name,
      usd(b.limitUsd),
      `${b.period} (since ${b.window.since})`,
      b.scope ? `${b.scope.kind}=${b.scope.value}` : 'all',
      usd(b.spentUsd) + (b.reservedUsd ? ` (+${usd(b.reservedUsd)} held)` : ''),
      usd(b.leftUsd),
      `${Math.round((b.spentUsd / b.limitUsd) * 100)}%`,
      b.hard ? 'hard' : 'soft',
      b.alerts.map((a) => `${a}%`).join(','),
    ]),
  );
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'set' && sub !== 'list' && sub !== 'rm') throw new UsageError(USAGE);
  const args = parseArgs(rest, [
    { name: 'json' },
    { name: 'limit', value: true },
    { name: 'period', value: true },
    { name: 'scope', value: true },
    { name: 'hard' },
    { name: 'alert', value: true },
  ]);
  const session = await connectDaemon();
  try {
    if (sub === 'list') {
      const budgets = await session.rpc.request(BudgetListRequest, {});
      if (args.flags.has('json')) printJson(budgets);
      else process.stdout.write(budgets.length ? rows(budgets) : 'no budgets; add one with `aic budget set NAME --limit USD --period month`\n');
      return 0;
    }
    const name = args.positionals[0];
    if (!name) throw new UsageError(USAGE);
    if (sub === 'rm') {
      await session.rpc.request(BudgetRemoveRequest, { name });
      process.stderr.write(`removed budget ${name}\n`);
      return 0;
    }
    const limit = Number(stringFlag(args, 'limit'));
    if (!(limit > 0)) throw new UsageError(`--limit needs a positive number of USD\n${USAGE}`);
    const period = BUDGET_PERIODS.find((p) => p === (stringFlag(args, 'period') ?? 'month'));
    if (!period) throw new UsageError(`--period: expected ${BUDGET_PERIODS.join(', ')}`);
    const scopeText = stringFlag(args, 'scope');
    let scope: { kind: (typeof BUDGET_SCOPE_KINDS)[number]; value: string } | undefined;
    if (scopeText !== undefined) {
      const eq = scopeText.indexOf('=');
      const kind = BUDGET_SCOPE_KINDS.find((k) => k === scopeText.slice(0, eq));
      if (eq < 1 || !kind || !scopeText.slice(eq + 1)) throw new UsageError(`--scope ${scopeText}: expected ${BUDGET_SCOPE_KINDS.map((k) => `${k}=VALUE`).join(', ')}`);
      // A project is its git root, as `aic ask` sends it: `project=.` means this checkout.
      const raw = scopeText.slice(eq + 1);
      scope = { kind, value: kind === 'project' ? projectRoot(raw) : raw };
    }
    const alertText = stringFlag(args, 'alert');
    const alerts = alertText?.split(',').map((a) => Number(a.trim().replace(/%$/, '')));
    if (alerts?.some((a) => !Number.isInteger(a) || a < 1 || a > 1000)) throw new UsageError(`--alert ${alertText}: expected percentages such as 50,80,100`);
    const status = await session.rpc.request(BudgetSetRequest, { name, limitUsd: limit, period, ...(scope ? { scope } : {}), hard: args.flags.has('hard'), ...(alerts ? { alerts } : {}) });
    if (args.flags.has('json')) printJson(status);
    else process.stdout.write(rows([status]));
    return 0;
  } finally {
    session.close();
  }
}
