import { ExitCodes } from '../protocol/errors';
import { clientVersion } from './version';

/**
 * `aic` entry. Only this module and package.json load before a command is chosen, so
 * `--version` never pays for the JSON-RPC stack; help reads the command table (command-specs.ts)
 * and each command loads its own module.
 */
type CommandModule = { run(argv: string[]): Promise<number> };

/** Lazy loaders: a command's dependencies are read only when it runs. */
const COMMANDS: Record<string, () => CommandModule> = {
  status: () => require('./commands/status') as CommandModule,
  show: () => require('./commands/show') as CommandModule,
  config: () => require('./commands/config') as CommandModule,
  completion: () => require('./commands/completion') as CommandModule,
  // Shell completion's own entry: candidates for the words typed so far (never starts the daemon).
  __complete: () => require('./commands/complete') as CommandModule,
  hosts: () => require('./commands/hosts') as CommandModule,
  models: () => require('./commands/models') as CommandModule,
  ask: () => require('./commands/ask') as CommandModule,
  chat: () => require('./commands/chat') as CommandModule,
  context: () => require('./commands/context') as CommandModule,
  pull: () => require('./commands/pull') as CommandModule,
  rm: () => require('./commands/rm') as CommandModule,
  ps: () => require('./commands/ps') as CommandModule,
  cost: () => require('./commands/cost') as CommandModule,
  budget: () => require('./commands/budget') as CommandModule,
  recommend: () => require('./commands/recommend') as CommandModule,
  prices: () => require('./commands/prices') as CommandModule,
  sessions: () => require('./commands/sessions') as CommandModule,
};

/** Commands of the contract that later releases implement; say so instead of "unknown". */
const PLANNED = new Set(['login', 'logout', 'auth']);

export async function main(argv: string[]): Promise<number> {
  // `aic models | head`: a closed pipe means the reader has what it wants, not a crash.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(ExitCodes.ok);
    throw error;
  });
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-v' || command === 'version') {
    process.stdout.write(`aic ${clientVersion()}\n`);
    return ExitCodes.ok;
  }
  if (command === undefined || command === '--help' || command === '-h' || (command === 'help' && rest.length === 0)) {
    const { globalHelp } = require('./help') as typeof import('./help');
    process.stdout.write(globalHelp() + '\n');
    return command === undefined ? ExitCodes.usage : ExitCodes.ok;
  }
  // `aic help ask` and `aic ask --help` (before any `--`, after which words are the prompt's).
  const helpFor = command === 'help' ? rest[0] : helpAsked(rest) ? command : undefined;
  if (helpFor !== undefined) return help(helpFor);
  const load = COMMANDS[command];
  if (!load) {
    if (PLANNED.has(command)) {
      process.stderr.write(`aic: '${command}' is not available in aic ${clientVersion()} yet; see \`aic --help\` for what is\n`);
      return ExitCodes.failure;
    }
    const { unknownCommand } = require('./help') as typeof import('./help');
    process.stderr.write(`aic: ${unknownCommand(command)}\n`);
    return ExitCodes.usage;
  }
  try {
    return await load().run(rest);
  } catch (error) {
    const { CliError } = require('./connect') as typeof import('./connect');
    const { UsageError } = require('./args') as typeof import('./args');
    if (error instanceof UsageError) {
      process.stderr.write(`aic ${command}: ${error.message}\n`);
      return ExitCodes.usage;
    }
    if (error instanceof CliError) {
      process.stderr.write(`aic: ${error.message}\n`);
      return error.exitCode;
    }
    const { RpcError } = require('./rpc') as typeof import('./rpc');
    const { exitCodeFor } = require('../protocol/errors') as typeof import('../protocol/errors');
    if (error instanceof RpcError) {
      const { explainDaemonEnv } = require('./daemon-env') as typeof import('./daemon-env');
      process.stderr.write(`aic: ${explainDaemonEnv(error.message, error.data)}\n`);
      return exitCodeFor(error.code);
    }
    process.stderr.write(`aic: ${(error as Error).stack ?? String(error)}\n`);
    return ExitCodes.failure;
  }
}

function helpAsked(args: string[]): boolean {
  const end = args.indexOf('--');
  const options = end === -1 ? args : args.slice(0, end);
  return options.includes('--help') || options.includes('-h');
}

/** One command's help on stdout; an unknown name is a usage error with the closest one. */
function help(name: string): number {
  const { commandHelp, unknownCommand } = require('./help') as typeof import('./help');
  const { commandSpec } = require('./command-specs') as typeof import('./command-specs');
  const spec = commandSpec(name);
  if (!spec) {
    process.stderr.write(`aic: ${unknownCommand(name)}\n`);
    return ExitCodes.usage;
  }
  process.stdout.write(commandHelp(spec) + '\n');
  return ExitCodes.ok;
}
