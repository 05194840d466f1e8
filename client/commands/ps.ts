import { PsRequest } from '../../protocol/ollama';
import { parseCommand, stringFlag } from '../args';
import { withDaemon } from '../connect';
import { printJson, table } from '../output';

const gb = (bytes: number): string => `${(bytes / 1e9).toFixed(1)} GB`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand('ps', argv);
  const host = stringFlag(args, 'host');
  return withDaemon(async (session) => {
    const result = await session.rpc.request(PsRequest, host ? { host } : {});
    if (args.flags.has('json')) printJson(result.models);
    else if (result.models.length === 0) process.stderr.write('no models loaded\n');
    else {
      const rows = result.models.map((m) => [
        `${m.host}/${m.model}`,
        gb(m.sizeBytes),
        m.sizeBytes ? `${Math.round((m.vramBytes / m.sizeBytes) * 100)}% GPU` : '-',
        m.contextLength ? String(m.contextLength) : '-',
        m.expiresAt,
      ]);
      process.stdout.write(table(['MODEL', 'SIZE', 'PROCESSOR', 'CONTEXT', 'UNTIL'], rows));
    }
    for (const failure of result.failures) process.stderr.write(`aic: ${failure.host}: ${failure.error}\n`);
    return 0;
  });
}
