import { ExitCodes } from '../../protocol/errors';
import { HostsRequest } from '../../protocol/hosts';
import { ModelsRequest, type ModelInfo } from '../../protocol/models';
import { closestNames } from '../../protocol/suggest';
import { UsageError, parseCommand } from '../args';
import { CliError, withDaemon } from '../connect';
import { contextWindowText, modelPrice, printJson, table } from '../output';

/** The rows of one model: `HOST/MODEL` names one host, a bare name every host serving it (`:latest` implied). */
function matching(models: ModelInfo[], wanted: string): ModelInfo[] {
  const w = wanted.toLowerCase();
  const same = (m: ModelInfo, name: string): boolean => m.model.toLowerCase() === name || m.model.toLowerCase() === `${name}:latest`;
  const byRef = models.filter((m) => m.ref.toLowerCase() === w || m.ref.toLowerCase() === `${w}:latest`);
  return byRef.length ? byRef : models.filter((m) => same(m, w));
}

/** `aic show MODEL`: its window, kind and price on each host that serves it, with the host's health. */
export async function run(argv: string[]): Promise<number> {
  const args = parseCommand('show', argv);
  const [wanted, ...extra] = args.positionals;
  if (!wanted || extra.length) throw new UsageError('usage: aic show MODEL [--json]   (HOST/MODEL or a bare model name)');
  return withDaemon(async (session) => {
    const [{ models }, hosts] = await Promise.all([session.rpc.request(ModelsRequest, {}), session.rpc.request(HostsRequest, {})]);
    const rows = matching(models, wanted);
    if (rows.length === 0) {
      const close = closestNames(
        wanted,
        models.map((m) => m.ref),
      );
      throw new CliError(
        `no host serves a model named '${wanted}'${close.length ? `; closest: ${close.join(', ')}` : ''} (see \`aic models\`)`,
        ExitCodes.noUsableHost,
      );
    }
    const health = new Map(hosts.map((h) => [h.name, h.health]));
    const first = rows[0];
    if (args.flags.has('json')) {
      printJson({
        model: first.model,
        kind: first.kind,
        ...(first.contextWindow ? { contextWindow: first.contextWindow } : {}),
        hosts: rows.map((m) => ({
          ref: m.ref,
          host: m.host,
          provider: m.provider,
          health: health.get(m.host) ?? 'down',
          contextWindow: m.contextWindow,
          price: m.price,
        })),
      });
      return 0;
    }
    process.stdout.write(
      `${first.model}: ${first.kind === 'embedding' ? 'an embedding model (it cannot answer questions)' : 'a chat model'}, ` +
        `context window ${contextWindowText(first.contextWindow)} tokens\n\n` +
        table(
          ['REF', 'PROVIDER', 'HEALTH', 'CONTEXT', 'PRICE PER MTOK'],
          rows.map((m) => [m.ref, m.provider, health.get(m.host) ?? 'down', contextWindowText(m.contextWindow), modelPrice(m)]),
        ),
    );
    return 0;
  });
}
