import { ExitCodes } from '../protocol/errors';
import { clientVersion } from './version';

/**
 * `aic` entry. Only this module and package.json load before a command is chosen, so
 * `--version` and `--help` never pay for the JSON-RPC stack; each command loads its own module.
 */
const HELP = `aic — the aid client: every model on every host, from one local daemon

Usage: aic <command> [options]

  status [--json]                        daemon version, pid, uptime, socket, hosts with health
  hosts [--json]                         each host: provider, URL, health, latency, version, last error
  models [--host H] [--refresh] [--json] every model on every host, with context window and price
  ask [-m REF] [--json] PROMPT           stream an answer (prompt may be piped on stdin)
      options: --session ID | --new, --no-context, --project DIR, --project-force, --max-cost USD
  chat [-m REF] [--session ID] [--project DIR] [--project-force] [--no-context]
                                         interactive chat: streaming, history, Ctrl-C stops an answer,
                                         /model /cost /context /clear /sessions /resume /export /help /exit
  context QUERY [--project DIR] [--project-force] [--limit N] [--json]
                                         the project files an ask would attach, ranked, with why
                                         (/, your home and above only with --project-force)
      also: --for FILE (files needed next), --explain (what was learnt), --reset (forget it)
  pull MODEL [--host H] [--json]         download an Ollama model, with a progress bar
  rm MODEL [--host H]                    delete an Ollama model
  ps [--host H] [--json]                 models loaded in memory on each Ollama host
  cost [--by provider|model|host|day|session|project] [--since D] [--until D] [--reprice] [--savings] [--json]
                                         spend and tokens, with a month-end projection
                                         (D: YYYY-MM-DD, today, yesterday, Nd; default this month)
  budget set NAME --limit USD --period day|week|month [--scope host=H|provider=P|model=M|session=S|project=DIR]
             [--hard] [--alert 50,80,100]   a spending limit; --hard refuses requests that could pass it
  budget list [--json] | budget rm NAME
  recommend TASK [--context-tokens N] [--all] [--json]
                                         the models that fit a task, local first, then cheapest, with cost
  prices update [--url URL]               fetch the maintained price data now (kept for later starts)
  sessions [list] | show ID | export ID [--format md|json] | search TEXT | stats [ID] | rm ID
                                         conversations: every ask is a turn; ask --session ID continues one

Model references: HOST/MODEL (ollama/llama3.2), or a bare MODEL routed to a healthy host.
The daemon (aid) is started on first use; set AID_NO_AUTOSTART=1 to get an error instead.
Exit codes: 0 ok, 1 failure, 2 usage, 3 no usable host/model, 4 refused by budget, 5 daemon unreachable.

  aic --version | --help | <command> --help`;

type CommandModule = { run(argv: string[]): Promise<number> };

/** Lazy loaders: a command's dependencies are read only when it runs. */
const COMMANDS: Record<string, () => CommandModule> = {
  status: () => require('./commands/status') as CommandModule,
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
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP + '\n');
    return command === undefined ? ExitCodes.usage : ExitCodes.ok;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(HELP + '\n');
    return ExitCodes.ok;
  }
  const load = COMMANDS[command];
  if (!load) {
    if (PLANNED.has(command)) {
      process.stderr.write(`aic: '${command}' is not available in aic ${clientVersion()} yet; see \`aic --help\` for what is\n`);
      return ExitCodes.failure;
    }
    process.stderr.write(`aic: unknown command '${command}'; see \`aic --help\`\n`);
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
