import { RecommendRequest, type Recommendation } from '../../protocol/recommend';
import { UsageError, parseCommand, stringFlag } from '../args';
import { withDaemon } from '../connect';
import { printJson, table, usd } from '../output';

const tokens = (n: number): string => (n >= 1000 ? `${Math.round(n / 100) / 10}k` : String(n));

function price(r: Recommendation): string {
  if (r.local) return 'free (local)';
  return r.estimatedUsd === null ? 'unpriced' : `~${usd(r.estimatedUsd)}`;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand('recommend', argv);
  const task = args.positionals.join(' ').trim();
  if (!task) throw new UsageError('describe the task: aic recommend "review this diff for race conditions"');
  const contextText = stringFlag(args, 'context-tokens');
  const contextTokens = contextText === undefined ? undefined : Number(contextText);
  if (contextTokens !== undefined && !(Number.isInteger(contextTokens) && contextTokens >= 0))
    throw new UsageError(`--context-tokens needs a whole number of tokens, got '${contextText}'`);
  return withDaemon(async (session) => {
    const result = await session.rpc.request(RecommendRequest, { task, ...(contextTokens !== undefined ? { contextTokens } : {}) });
    if (args.flags.has('json')) {
      printJson(result);
      return 0;
    }
    process.stdout.write(
      `task: ${result.taskClass} (${result.because}); about ` +
        `${tokens(result.expectedInputTokens)} tokens in, ${tokens(result.expectedOutputTokens)} out; needs a ${result.minimumTier} model or better\n\n`,
    );
    const shown = args.flags.has('all') ? result.models : result.models.slice(0, 10);
    if (shown.length) {
      process.stdout.write(
        table(
          ['MODEL', 'TIER', 'CONTEXT', 'PER REQUEST'],
          shown.map((r) => [r.ref, r.tier, r.contextWindow ? tokens(r.contextWindow) : '-', price(r)]),
        ),
      );
      if (shown.length < result.models.length) process.stdout.write(`(${result.models.length - shown.length} more with --all)\n`);
    } else {
      process.stdout.write('no model on your hosts fits this task (see `aic models`, or add a host)\n');
    }
    if (result.excluded.length) process.stdout.write(`\n${result.excluded.length} models left out (too weak or too small a window; --json lists why)\n`);
    return 0;
  });
}
