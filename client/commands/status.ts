import { StatusRequest } from '../../protocol/daemon';
import type { HostStatus } from '../../protocol/hosts';
import { parseCommand } from '../args';
import { withDaemon } from '../connect';
import { formatDuration, printJson, table } from '../output';

export function hostRows(hosts: HostStatus[]): string[][] {
  return hosts.map((h) => [h.name, h.provider, h.health, h.latencyMs !== undefined ? `${h.latencyMs} ms` : '-', h.version ?? '-', h.baseUrl, h.error ?? '']);
}
export const HOST_HEADERS = ['HOST', 'PROVIDER', 'HEALTH', 'LATENCY', 'VERSION', 'URL', 'NOTE'];

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand('status', argv);
  return withDaemon(async (session) => {
    const status = await session.rpc.request(StatusRequest);
    if (args.flags.has('json')) {
      printJson(status);
      return 0;
    }
    process.stdout.write(
      `aid ${status.version} (protocol ${status.protocolVersion}), pid ${status.pid}, up ${formatDuration(status.uptimeMs)}\n` +
        `socket  ${status.socket}${status.activation === 'systemd' ? ' (systemd socket activation)' : ''}\n` +
        `config  ${status.config.file}${configState(status.config)}\n` +
        `data    ${status.store.path} (${status.store.requests} requests recorded)\n` +
        (status.store.incident ? `        ${status.store.incident.recovered ? 'written back' : 'NOT ON DISK'}: ${status.store.incident.message}\n` : '') +
        '\n',
    );
    process.stdout.write(table(HOST_HEADERS, hostRows(status.hosts)));
    return 0;
  });
}

/** A file that exists but was rejected is never called "not present": it says which config is in use instead. */
function configState(config: { loaded: boolean; error?: string }): string {
  if (config.error) return `\n        rejected, ${config.loaded ? 'the last good config' : 'the defaults'} kept in use: ${config.error}`;
  return config.loaded ? '' : ' (not present: defaults)';
}
