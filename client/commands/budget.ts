import {
  BUDGET_PERIODS,
  BUDGET_SCOPE_KINDS,
  BudgetListRequest,
  BudgetRemoveRequest,
  BudgetSetRequest,
  type BudgetSetParams,
  type BudgetStatus,
} from '../../protocol/budget';
import { UsageError, parseCommand, stringFlag, type ParsedArgs } from '../args';
import { withDaemon } from '../connect';
import { printJson, table, usd } from '../output';
import { projectRoot } from './ask';

const USAGE =
  'usage: aic budget set NAME [--limit USD] [--period day|week|month] [--scope host=H|provider=P|model=M|session=S|project=DIR|all] [--hard|--soft] ' +
  '[--alert 50,80,100]\n' +
  '         (a new budget needs --limit; on an existing one only the options given change)\n' +
  '       aic budget list [--json] | aic budget rm NAME';

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

/** Only what the user gave: an update must not reset the options left out. */
function setParams(name: string, args: ParsedArgs): BudgetSetParams {
  const params: BudgetSetParams = { name };
  const limitText = stringFlag(args, 'limit');
  if (limitText !== undefined) {
    const limit = Number(limitText);
    if (!Number.isFinite(limit) || limit <= 0) throw new UsageError(`--limit ${limitText}: expected a positive number of USD such as 5 or 0.50\n${USAGE}`);
    params.limitUsd = limit;
  }
  const periodText = stringFlag(args, 'period');
  if (periodText !== undefined) {
    const period = BUDGET_PERIODS.find((p) => p === periodText);
    if (!period) throw new UsageError(`--period ${periodText}: expected ${BUDGET_PERIODS.join(', ')}`);
    params.period = period;
  }
  const scopeText = stringFlag(args, 'scope');
  if (scopeText === 'all') params.scope = null;
  else if (scopeText !== undefined) {
    const eq = scopeText.indexOf('=');
    const kind = BUDGET_SCOPE_KINDS.find((k) => k === scopeText.slice(0, eq));
    if (eq < 1 || !kind || !scopeText.slice(eq + 1))
      throw new UsageError(`--scope ${scopeText}: expected ${BUDGET_SCOPE_KINDS.map((k) => `${k}=VALUE`).join(', ')} or all`);
    // A project is its git root, as `aic ask` sends it: `project=.` means this checkout.
    const raw = scopeText.slice(eq + 1);
    params.scope = { kind, value: kind === 'project' ? projectRoot(raw) : raw };
  }
  if (args.flags.has('hard') && args.flags.has('soft')) throw new UsageError('--hard and --soft contradict each other');
  if (args.flags.has('hard')) params.hard = true;
  if (args.flags.has('soft')) params.hard = false;
  const alertText = stringFlag(args, 'alert');
  if (alertText !== undefined) {
    const alerts = alertText.split(',').map((a) => Number(a.trim().replace(/%$/, '')));
    if (alerts.some((a) => !Number.isInteger(a) || a < 1 || a > 1000)) throw new UsageError(`--alert ${alertText}: expected percentages such as 50,80,100`);
    params.alerts = alerts;
  }
  return params;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'set' && sub !== 'list' && sub !== 'rm') throw new UsageError(USAGE);
  const args = parseCommand('budget', rest);
  const name = args.positionals[0];
  if (sub !== 'list' && !name) throw new UsageError(USAGE);
  // Usage errors are said before the daemon is touched (or started).
  const params = sub === 'set' ? setParams(name, args) : undefined;
  return withDaemon(async (session) => {
    if (sub === 'list') {
      const budgets = await session.rpc.request(BudgetListRequest, {});
      if (args.flags.has('json')) printJson(budgets);
      else process.stdout.write(budgets.length ? rows(budgets) : 'no budgets; add one with `aic budget set NAME --limit USD --period month`\n');
      return 0;
    }
    if (sub === 'rm') {
      await session.rpc.request(BudgetRemoveRequest, { name });
      process.stderr.write(`removed budget ${name}\n`);
      return 0;
    }
    const status = await session.rpc.request(BudgetSetRequest, params as BudgetSetParams);
    for (const warning of status.warnings ?? []) process.stderr.write(`aic: warning: ${warning}\n`);
    if (!args.flags.has('json')) process.stderr.write(`${status.created ? 'created' : 'updated'} budget ${name}\n`);
    if (args.flags.has('json')) printJson(status);
    else process.stdout.write(rows([status]));
    return 0;
  });
}
