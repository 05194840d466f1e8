import { PricesUpdateRequest } from '../../protocol/cost';
import { UsageError, parseCommand, stringFlag } from '../args';
import { withDaemon } from '../connect';
import { printJson } from '../output';

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'update') throw new UsageError('usage: aic prices update [--url URL] [--json]   (fetch the maintained price data now)');
  const args = parseCommand('prices', rest);
  const url = stringFlag(args, 'url');
  return withDaemon(async (session) => {
    const result = await session.rpc.request(PricesUpdateRequest, url ? { url } : {});
    if (args.flags.has('json')) printJson(result);
    else
      process.stdout.write(
        `prices updated: ${result.models} models of ${result.providers} providers, now ${result.source}; \`aic cost --reprice\` applies them to past ` +
          `requests\n`,
      );
    return 0;
  });
}
