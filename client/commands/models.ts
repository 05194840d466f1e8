import { ModelsRequest } from '../../protocol/models';
import { parseCommand, stringFlag } from '../args';
import { withDaemon } from '../connect';
import { contextWindowText, modelPrice, printJson, table } from '../output';

function age(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand('models', argv);
  const host = stringFlag(args, 'host');
  return withDaemon(async (session) => {
    const result = await session.rpc.request(ModelsRequest, { ...(host ? { host } : {}), refresh: args.flags.has('refresh') });
    if (args.flags.has('json')) {
      printJson(result.models);
    } else if (result.models.length) {
      // Every model is listed; where some are embedding models, a KIND column says which cannot answer.
      const kinds = result.models.some((m) => m.kind === 'embedding');
      const rows = result.models.map((m) => [m.ref, ...(kinds ? [m.kind] : []), contextWindowText(m.contextWindow), modelPrice(m)]);
      process.stdout.write(table(['MODEL', ...(kinds ? ['KIND'] : []), 'CONTEXT', 'PRICE PER MTOK'], rows));
    } else {
      process.stderr.write('no models found on any usable host (see `aic hosts`)\n');
    }
    for (const failure of result.failures) process.stderr.write(`aic: ${failure.host}: ${failure.error}\n`);
    // Older daemons (same protocol version) may not send `stale`.
    for (const stale of result.stale ?? []) {
      const why = stale.error ? `host did not answer (${stale.error})` : 'refreshing in the background';
      process.stderr.write(`aic: ${stale.host}: list is ${age(stale.ageMs)} old, ${why}; \`aic models --refresh\` asks it now\n`);
    }
    return 0;
  });
}
