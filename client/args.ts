import type { OptionSpec } from './command-specs';

/** A flag the command accepts: boolean, or taking a value (`--name VALUE` or `--name=VALUE`). */
export type FlagSpec = Pick<OptionSpec, 'name' | 'alias' | 'value'>;

export interface ParsedArgs {
  flags: Map<string, string | true>;
  positionals: string[];
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Small on purpose: the client must start fast, and our flags are simple. `command` names the
 * command for messages: an option it does not take is answered with a close one it takes, or the
 * commands that take it.
 */
export function parseArgs(argv: string[], specs: readonly FlagSpec[], command?: string): ParsedArgs {
  const flags = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const key = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = specs.find((s) => `--${s.name}` === key || (s.alias !== undefined && `-${s.alias}` === key));
    if (!spec) {
      const { unknownOption } = require('./help') as typeof import('./help');
      throw new UsageError(unknownOption(command, key, specs as OptionSpec[]));
    }
    if (!spec.value) {
      if (eq > 0) throw new UsageError(`option --${spec.name} takes no value`);
      flags.set(spec.name, true);
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`option --${spec.name} needs a value`);
    flags.set(spec.name, value);
  }
  return { flags, positionals };
}

export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const value = args.flags.get(name);
  return typeof value === 'string' ? value : undefined;
}

/** Parses a command's arguments with the options its spec (command-specs.ts) lists. */
export function parseCommand(command: string, argv: string[]): ParsedArgs {
  const { commandSpec } = require('./command-specs') as typeof import('./command-specs');
  return parseArgs(argv, commandSpec(command)?.options ?? [], command);
}
