/**
 * Every `aic` command as data: its options, usage, one-line summary and examples. One table serves
 * the parser (which options a command takes, and which command takes an option it refused), the
 * help (`aic --help`, `aic COMMAND --help`, `aic help COMMAND`), "did you mean", and shell
 * completion. Plain data, loaded before any command module: it must stay cheap to require.
 */

/** What a value is, so completion can offer the right candidates. */
export type ValueKind = 'model' | 'host' | 'session' | 'budget' | 'file' | 'dir' | 'text' | 'number' | readonly string[];

export interface OptionSpec {
  name: string;
  alias?: string;
  /** A placeholder when the option takes a value (`--model REF`). */
  value?: string;
  /** What completion offers for the value. */
  complete?: ValueKind;
  help: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** Usage lines, without the leading `aic `. */
  usage: string[];
  options: OptionSpec[];
  /** Sub-commands (`budget set|list|rm`), offered by completion after the command. */
  subcommands?: readonly string[];
  /** What completion offers for the first positional word (after any sub-command). */
  positional?: ValueKind;
  examples: string[];
  /** Said after the options (defaults, what the output means). */
  notes?: string[];
}

const json: OptionSpec = { name: 'json', help: 'machine-readable output (the contract shape)' };
const host: OptionSpec = { name: 'host', value: 'H', complete: 'host', help: 'only this host' };
const model: OptionSpec = {
  name: 'model',
  alias: 'm',
  value: 'REF',
  complete: 'model',
  help: 'HOST/MODEL, a bare MODEL routed to a healthy host, or a config alias',
};
const project: OptionSpec[] = [
  { name: 'project', value: 'DIR', complete: 'dir', help: 'the project to take context from (default: the git root of this directory)' },
  { name: 'project-force', help: 'let --project be /, your home directory or above it' },
];
const asking: OptionSpec[] = [
  model,
  { name: 'session', value: 'ID', complete: 'session', help: 'continue this session (an id or its unique start), with its model' },
  { name: 'continue', alias: 'c', help: "continue this project's last session, with its model" },
  { name: 'system', value: 'TEXT', complete: 'text', help: 'a system prompt (default: the config\'s "systemPrompt")' },
  { name: 'temperature', value: 'T', complete: 'number', help: 'sampling temperature, 0 to 2' },
  { name: 'max-tokens', value: 'N', complete: 'number', help: 'the most output tokens of the answer' },
  { name: 'no-context', help: 'attach no project context' },
  ...project,
];

export const COMMAND_SPECS: readonly CommandSpec[] = [
  {
    name: 'status',
    summary: 'daemon version, pid, uptime, socket, config, and every host with its health',
    usage: ['status [--json]'],
    options: [json],
    examples: ['aic status', 'aic status --json | jq .hosts'],
  },
  {
    name: 'hosts',
    summary: 'probe each host now: provider, URL, health, latency, version, last error',
    usage: ['hosts [--json]'],
    options: [json],
    examples: ['aic hosts'],
  },
  {
    name: 'models',
    summary: 'every model on every host, with its kind, context window and price',
    usage: ['models [--host H] [--refresh] [--json]'],
    options: [host, { name: 'refresh', help: 'ask every host now instead of answering from the cache' }, json],
    examples: ['aic models', 'aic models --host ollama', 'aic models --json | jq -r ".[].ref"'],
  },
  {
    name: 'show',
    summary: 'one model: its context window, kind, price and the hosts serving it',
    usage: ['show MODEL [--json]'],
    options: [json],
    positional: 'model',
    examples: ['aic show llama3.2', 'aic show anthropic/claude-sonnet-4-5 --json'],
  },
  {
    name: 'ask',
    summary: 'stream an answer to a question (the question may be piped on stdin)',
    usage: ['ask [options] PROMPT', 'ask [options] < FILE', 'COMMAND | aic ask [options] [PROMPT]'],
    options: [
      ...asking,
      { name: 'new', help: 'start a new session and name it on the summary line' },
      { name: 'max-cost', value: 'USD', complete: 'number', help: 'refuse the request when it could cost more' },
      { name: 'output', alias: 'o', value: 'FILE', complete: 'file', help: 'write the answer to FILE (the summary still goes to stderr)' },
      { name: 'no-stream', help: 'print the answer once it is complete' },
      json,
    ],
    examples: ['aic ask "what does ^a+$ match?"', 'git diff | aic ask -m ollama/llama3.2 "review this"', 'aic ask -c "and the other file?"'],
    notes: ['The answer goes to stdout as it arrives; a one-line summary (tokens, cost, time) goes to stderr.'],
  },
  {
    name: 'chat',
    summary: 'an interactive conversation: streaming, history, slash commands',
    usage: ['chat [options]'],
    options: asking,
    examples: ['aic chat', 'aic chat -m anthropic/claude-sonnet-4-5', 'aic chat -c'],
    notes: ['Inside: /model /cost /context /clear /sessions /resume /export /help /exit; Ctrl-C stops an answer, Ctrl-D leaves.'],
  },
  {
    name: 'context',
    summary: 'the project files an ask would attach, ranked, with why',
    usage: ['context QUERY [options]', 'context --for FILE [--limit N]', 'context --explain | --reset'],
    options: [
      ...project,
      { name: 'limit', value: 'N', complete: 'number', help: 'at most N files' },
      { name: 'for', value: 'FILE', complete: 'file', help: 'the files needed next after editing FILE' },
      { name: 'open', value: 'FILE', complete: 'file', help: 'the file open in your editor, which seeds the ranking' },
      model,
      { name: 'explain', help: 'what the engine has learnt in this project' },
      { name: 'reset', help: 'forget what it learnt in this project' },
      json,
    ],
    examples: ['aic context "where is the retry policy?"', 'aic context --for daemon/chat/ask.ts'],
  },
  {
    name: 'pull',
    summary: 'download an Ollama model, with a progress bar',
    usage: ['pull MODEL [--host H] [--json]'],
    options: [host, json],
    examples: ['aic pull llama3.2', 'aic pull qwen2.5-coder:7b --host gpu-box'],
  },
  {
    name: 'rm',
    summary: 'delete an Ollama model',
    usage: ['rm MODEL [--host H]'],
    options: [host],
    positional: 'model',
    examples: ['aic rm llama3.2'],
  },
  {
    name: 'ps',
    summary: 'the models loaded in memory on each Ollama host',
    usage: ['ps [--host H] [--json]'],
    options: [host, json],
    examples: ['aic ps'],
  },
  {
    name: 'cost',
    summary: 'spend and every token class, with a month-end projection',
    usage: ['cost [--by DIMENSION] [--source S] [--since D] [--until D] [--json]', 'cost --reprice | --savings'],
    options: [
      {
        name: 'by',
        value: 'DIMENSION',
        complete: ['provider', 'model', 'host', 'day', 'session', 'project', 'source'],
        help: 'group by provider (default), model, host, day, session, project or source',
      },
      { name: 'source', value: 'S', help: 'only calls of this source: aid, gateway (every gateway:<client>), an import source' },
      { name: 'since', value: 'D', help: 'first day: YYYY-MM-DD, today, yesterday or Nd (default: the 1st of this month)' },
      { name: 'until', value: 'D', help: 'last day, same forms (default: today)' },
      { name: 'reprice', help: 'price all history again with today’s rates first' },
      { name: 'savings', help: 'what the last 30 days would have cost on the models recommended now' },
      json,
    ],
    examples: ['aic cost', 'aic cost --by day --since 7d', 'aic cost --by model --source gateway'],
  },
  {
    name: 'budget',
    summary: 'spending limits per day, week or month, with alerts; hard ones refuse before sending',
    usage: [
      'budget set NAME [--limit USD] [--period day|week|month] [--scope KIND=VALUE|all] [--hard|--soft] [--alert 50,80,100]',
      'budget list [--json]',
      'budget rm NAME',
    ],
    options: [
      { name: 'limit', value: 'USD', complete: 'number', help: 'the limit (a new budget needs one)' },
      { name: 'period', value: 'PERIOD', complete: ['day', 'week', 'month'], help: 'day, week or month (default month)' },
      { name: 'scope', value: 'KIND=VALUE', help: 'host=H, provider=P, model=M, session=S, project=DIR, or all' },
      { name: 'hard', help: 'refuse any request that could push spend past the limit' },
      { name: 'soft', help: 'only alert (undoes --hard)' },
      { name: 'alert', value: 'PERCENTS', help: 'alert at these percentages of the limit (default 50,80,100)' },
      json,
    ],
    subcommands: ['set', 'list', 'rm'],
    positional: 'budget',
    examples: ['aic budget set daily --limit 2 --period day --hard', 'aic budget set daily --limit 1', 'aic budget list'],
    notes: ['On an existing budget only the options given change.'],
  },
  {
    name: 'recommend',
    summary: 'the models that fit a task, local first, then cheapest, with the cost of a request',
    usage: ['recommend TASK [--context-tokens N] [--all] [--json]'],
    options: [
      { name: 'context-tokens', value: 'N', complete: 'number', help: 'tokens of context the task comes with' },
      { name: 'all', help: 'also the models that do not fit, with why' },
      json,
    ],
    examples: ['aic recommend "review this diff"'],
  },
  {
    name: 'prices',
    summary: 'fetch the maintained price data now (kept for later starts)',
    usage: ['prices update [--url URL] [--json]'],
    options: [{ name: 'url', value: 'URL', help: "where to fetch it (default: the config's pricesUrl or genai-prices' published file)" }, json],
    subcommands: ['update'],
    examples: ['aic prices update'],
  },
  {
    name: 'sessions',
    summary: 'conversations: every ask is a turn of one',
    usage: [
      'sessions [list] [--limit N] [--json]',
      'sessions show ID [--json]',
      'sessions export ID [--format md|json]',
      'sessions search TEXT',
      'sessions stats [ID]',
      'sessions rm ID',
    ],
    options: [
      { name: 'limit', value: 'N', complete: 'number', help: 'at most N sessions (the table shows the 20 latest by default; --json all)' },
      { name: 'format', value: 'FORMAT', complete: ['md', 'json'], help: 'export as Markdown (default) or JSON' },
      json,
    ],
    subcommands: ['list', 'show', 'export', 'search', 'stats', 'rm'],
    positional: 'session',
    examples: ['aic sessions', 'aic sessions show 1a2b', 'aic sessions export 1a2b > talk.md'],
  },
  {
    name: 'config',
    summary: 'the effective config: each value, and where it came from',
    usage: ['config [--json]'],
    options: [json],
    examples: ['aic config', 'aic config --json | jq .values.defaultModel'],
  },
  {
    name: 'completion',
    summary: 'a shell completion script for bash, zsh or fish',
    usage: ['completion bash|zsh|fish'],
    options: [],
    subcommands: ['bash', 'zsh', 'fish'],
    examples: ['source <(aic completion bash)', 'aic completion fish > ~/.config/fish/completions/aic.fish'],
  },
  {
    name: 'help',
    summary: 'help on a command',
    usage: ['help [COMMAND]'],
    options: [],
    examples: ['aic help ask'],
  },
];

export function commandSpec(name: string): CommandSpec | undefined {
  return COMMAND_SPECS.find((c) => c.name === name);
}
