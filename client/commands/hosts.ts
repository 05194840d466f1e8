import { HostsRequest } from '../../protocol/hosts';
import { parseCommand } from '../args';
import { withDaemon } from '../connect';
import { printJson, table } from '../output';
import { HOST_HEADERS, hostRows } from './status';

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand('hosts', argv);
  return withDaemon(async (session) => {
    const hosts = await session.rpc.request(HostsRequest, { refresh: true });
    if (args.flags.has('json')) printJson(hosts);
    else process.stdout.write(table(HOST_HEADERS, hostRows(hosts)));
    return 0;
  });
}
