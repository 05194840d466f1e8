import { closestNames } from '../protocol/suggest';
import { COMMAND_SPECS, type CommandSpec, type OptionSpec } from './command-specs';

/** `-m, --model REF` as help shows it. */
export function optionLabel(option: OptionSpec): string {
  return `${option.alias ? `-${option.alias}, ` : '    '}--${option.name}${option.value ? ` ${option.value}` : ''}`;
}

function columns(rows: [string, string][], indent = 2): string {
  const width = Math.min(34, Math.max(...rows.map(([left]) => left.length)) + 2);
  return rows.map(([left, right]) => `${' '.repeat(indent)}${left.padEnd(width)}${right}`).join('\n');
}

/** `aic --help`: every command once, with how models are named and what exit codes mean. */
export function globalHelp(): string {
  return [
    'aic — the aid client: every model on every host, from one local daemon',
    '',
    'Usage: aic COMMAND [options]        aic help COMMAND   or   aic COMMAND --help',
    '',
    'Commands:',
    columns(COMMAND_SPECS.map((c) => [c.name, c.summary])),
    '',
    'Model references: HOST/MODEL (ollama/llama3.2), a bare MODEL routed to a healthy host, or an alias from the config.',
    'The daemon (aid) is started on first use; AID_NO_AUTOSTART=1 makes aic fail instead. NO_COLOR=1 turns colour off.',
    'Exit codes: 0 ok, 1 failure, 2 usage, 3 no usable host/model, 4 refused by a budget, 5 daemon unreachable.',
    '',
    '  aic --version | --help',
  ].join('\n');
}

/** `aic COMMAND --help`: usage, options, notes and examples of one command. */
export function commandHelp(spec: CommandSpec): string {
  const lines = [
    `aic ${spec.name} — ${spec.summary}`,
    '',
    ...spec.usage.map((u, i) => `${i === 0 ? 'Usage: ' : '       '}${u.startsWith('COMMAND |') ? u : `aic ${u}`}`),
  ];
  if (spec.options.length) lines.push('', 'Options:', columns(spec.options.map((o) => [optionLabel(o), o.help])));
  if (spec.notes?.length) lines.push('', ...spec.notes);
  if (spec.examples.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

/** How many edits a typo of a word this long may hold: a short word must be close to be meant. */
const typoDistance = (word: string): number => (word.length <= 3 ? 1 : Math.max(2, Math.floor(word.length / 3)));

/** What to say about a command name aic does not know. */
export function unknownCommand(name: string): string {
  const close = closestNames(
    name,
    COMMAND_SPECS.map((c) => c.name),
    1,
    typoDistance(name),
  );
  return `unknown command '${name}'${close.length ? `; did you mean \`${close[0]}\`?` : ''} (see \`aic --help\`)`;
}

/** What to say about an option a command does not take: a close one it takes, or the commands that take it. */
export function unknownOption(command: string | undefined, key: string, accepted: readonly OptionSpec[]): string {
  const word = key.replace(/^-+/, '');
  const close = closestNames(
    word,
    accepted.map((o) => o.name),
    1,
    typoDistance(word),
  );
  const where = COMMAND_SPECS.filter((c) => c.name !== command && c.options.some((o) => o.name === word || o.alias === word)).map((c) => `aic ${c.name}`);
  const of = command ? ` for aic ${command}` : '';
  if (close.length) return `unknown option ${key}${of}; did you mean --${close[0]}?`;
  if (where.length)
    return `${key} is not an option of aic ${command ?? ''}; ${where.join(', ')} ${where.length === 1 ? 'takes' : 'take'} it`.replace('aic  ', 'aic ');
  return `unknown option ${key}${of} (see \`aic ${command ? `${command} ` : ''}--help\`)`;
}
