import { BudgetListRequest } from '../../protocol/budget';
import { HostsRequest } from '../../protocol/hosts';
import { ModelsRequest } from '../../protocol/models';
import { SessionsListRequest } from '../../protocol/sessions';
import { COMMAND_SPECS, commandSpec, type CommandSpec, type ValueKind } from '../command-specs';
import { socketPath } from '../connect';
import { openSession, type Session } from '../rpc';
import { clientVersion } from '../version';

/**
 * `aic __complete WORD...`: what may come next after the words typed so far, one per line; the
 * last word is the one being completed (may be empty). The shell scripts of `aic completion` call
 * it. Names known only to the daemon (models, hosts, sessions, budgets) are asked of a daemon that
 * is already running, within a short deadline; completion never starts one, and prints nothing of
 * them when none answers. Never fails: a completion that errors would break the user's shell.
 */

/** A daemon that does not answer this fast is not waited for: Tab must feel instant. */
const DAEMON_WAIT_MS = 300;

export async function run(argv: string[]): Promise<number> {
  try {
    for (const candidate of await candidates(argv)) process.stdout.write(`${candidate}\n`);
  } catch {
    // Nothing to offer is better than an error in the middle of the user's command line.
  }
  return 0;
}

async function candidates(words: string[]): Promise<string[]> {
  const current = words.at(-1) ?? '';
  const before = words.slice(0, -1);
  const starts = (list: readonly string[]): string[] => list.filter((c) => c.startsWith(current));
  if (before.length === 0) return starts(COMMAND_SPECS.map((c) => c.name).filter((n) => n !== 'help'));
  const spec = commandSpec(before[0] ?? '');
  if (!spec) return [];
  if (spec.name === 'help') return before.length === 1 ? starts(COMMAND_SPECS.map((c) => c.name)) : [];
  // The value of an option that takes one.
  const previous = before.at(-1) ?? '';
  const option = spec.options.find((o) => o.value && (previous === `--${o.name}` || (o.alias !== undefined && previous === `-${o.alias}`)));
  if (option) return valuesOf(option.complete, current);
  if (current.startsWith('-')) {
    return starts(spec.options.flatMap((o) => [`--${o.name}`]));
  }
  const positionals = positionalWords(spec, before.slice(1));
  if (spec.subcommands && positionals.length === 0) return starts(spec.subcommands);
  // After a sub-command that takes a name (budget rm NAME, sessions show ID), or a command's own first word.
  const takesName = spec.subcommands ? positionals.length === 1 && !['list', 'search', 'update'].includes(positionals[0] ?? '') : positionals.length === 0;
  return takesName ? valuesOf(spec.positional, current) : [];
}

/** The words after the command that are not options or their values. */
function positionalWords(spec: CommandSpec, words: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? '';
    if (word.startsWith('-')) {
      const option = spec.options.find((o) => word === `--${o.name}` || (o.alias !== undefined && word === `-${o.alias}`));
      if (option?.value) i++;
      continue;
    }
    out.push(word);
  }
  return out;
}

async function valuesOf(kind: ValueKind | undefined, current: string): Promise<string[]> {
  if (kind === undefined || kind === 'text' || kind === 'number' || kind === 'file' || kind === 'dir') return [];
  if (typeof kind !== 'string') return kind.filter((v) => v.startsWith(current));
  const names = await fromDaemon(kind);
  return names.filter((n) => n.startsWith(current));
}

async function fromDaemon(kind: 'model' | 'host' | 'session' | 'budget'): Promise<string[]> {
  let session: Session;
  try {
    session = await openSession(socketPath(), clientVersion(), DAEMON_WAIT_MS);
  } catch {
    return [];
  }
  const deadline = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('slow')), DAEMON_WAIT_MS).unref());
  try {
    switch (kind) {
      case 'model': {
        // The cached lists, as they are: completion never waits for a host.
        const { models } = await Promise.race([session.rpc.request(ModelsRequest, {}), deadline]);
        const chat = models.filter((m) => m.kind !== 'embedding');
        return [...new Set([...chat.map((m) => m.ref), ...chat.map((m) => m.model)])];
      }
      case 'host':
        return (await Promise.race([session.rpc.request(HostsRequest, {}), deadline])).map((h) => h.name);
      case 'session':
        return (await Promise.race([session.rpc.request(SessionsListRequest, { limit: 200 }), deadline])).map((s) => s.id.slice(0, 8));
      case 'budget':
        return (await Promise.race([session.rpc.request(BudgetListRequest, {}), deadline])).map((b) => b.name);
    }
  } catch {
    return [];
  } finally {
    session.close();
  }
}
