import { RemoveRequest } from '../../protocol/ollama';
import { UsageError, parseCommand, stringFlag } from '../args';
import { withDaemon } from '../connect';

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand('rm', argv);
  const [model, ...extra] = args.positionals;
  if (!model || extra.length) throw new UsageError('usage: aic rm MODEL [--host H]');
  const host = stringFlag(args, 'host');
  return withDaemon(async (session) => {
    const result = await session.rpc.request(RemoveRequest, { model, ...(host ? { host } : {}) });
    process.stderr.write(`deleted ${result.model} from ${result.host}\n`);
    return 0;
  });
}
