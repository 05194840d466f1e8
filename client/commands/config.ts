import { ConfigShowRequest } from '../../protocol/daemon';
import { parseCommand } from '../args';
import { withDaemon } from '../connect';
import { printJson, table } from '../output';

/** `aic config`: the running daemon's effective config, each value with where it came from. */
export async function run(argv: string[]): Promise<number> {
  const args = parseCommand('config', argv);
  return withDaemon(async (session) => {
    const shown = await session.rpc.request(ConfigShowRequest);
    if (args.flags.has('json')) {
      printJson(shown);
      return 0;
    }
    const state = shown.error ? `rejected, the last good config is in use: ${shown.error}` : shown.loaded ? 'in use' : 'not present: every value is a default';
    process.stdout.write(
      `config file ${shown.file} (${state})\n\n` +
        table(
          ['KEY', 'VALUE', 'FROM'],
          shown.values.map((v) => [v.key, v.value === undefined ? '-' : JSON.stringify(v.value), v.source]),
        ) +
        `\nenvironment of the daemon: ${shown.environment.map((e) => `${e.name} ${e.set ? 'set' : 'unset'}`).join(', ')}\n`,
    );
    return 0;
  });
}
