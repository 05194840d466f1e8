import * as fs from 'node:fs';
import * as path from 'node:path';
import { CostRequest } from '../../protocol/cost';
import { SessionsExportRequest, SessionsListRequest, SessionsShowRequest, SessionsStatsRequest } from '../../protocol/sessions';
import { contextWindowText, count, modelPrice, table, usd, when } from '../output';
import type { RpcConnection } from '../rpc';
import { findModel, type ChatState, type ModelCatalog } from './chat-state';
import { compactTokens, sessionCostText } from './status-line';

export interface SlashContext {
  rpc: RpcConnection;
  state: ChatState;
  catalog: ModelCatalog;
  /** Writes whole lines to the chat, starting on a fresh line. */
  print(text: string): void;
  cwd: string;
}

export type SlashOutcome = 'continue' | 'exit';

interface SlashCommand {
  usage: string;
  help: string;
  run(ctx: SlashContext, args: string[]): Promise<SlashOutcome | void> | SlashOutcome | void;
}

const COMMANDS: Record<string, SlashCommand> = {
  model: {
    usage: '/model [REF]',
    help: 'list the models with their price, or switch to REF',
    async run(ctx, [ref]) {
      // Embedding models cannot answer: the picker offers chat models only.
      const models = (await ctx.catalog.list(true)).filter((m) => m.kind !== 'embedding');
      const current = ctx.state.model ?? ctx.state.lastResult?.ref;
      if (!ref) {
        if (!models.length) return ctx.print('no models on any usable host (see `aic hosts`)');
        const marked = current ? findModel(models, current) : undefined;
        const rows = models.map((m) => [m === marked ? '*' : ' ', m.ref, contextWindowText(m.contextWindow), modelPrice(m)]);
        return ctx.print(table(['', 'MODEL', 'CONTEXT', 'PRICE PER MTOK'], rows).trimEnd() + `\nnow: ${current ?? 'the default model'}; /model REF switches`);
      }
      const found = findModel(models, ref);
      ctx.state.model = ref;
      if (found) ctx.print(`model: ${found.ref} (context ${contextWindowText(found.contextWindow)}, ${modelPrice(found)})`);
      else ctx.print(`model: ${ref} — not in the model list now; the daemon routes it on the next question (\`/model\` lists what is there)`);
    },
  },
  cost: {
    usage: '/cost',
    help: "what this session and today's requests cost",
    async run(ctx) {
      const today = await ctx.rpc.request(CostRequest, { since: 'today', until: 'today' });
      const requests = today.rows.reduce((n, r) => n + r.requests, 0);
      const lines: string[] = [];
      if (ctx.state.sessionId) {
        const stats = await ctx.rpc.request(SessionsStatsRequest, { id: ctx.state.sessionId });
        const t = stats.tokens;
        lines.push(
          `this session: ${usd(stats.costUsd)}${
            stats.unpricedTurns ? ` + ` + `${count(stats.unpricedTurns, 'unpriced turn')}` : ''
          } over ${count(stats.turns, 'turn')} · ` + `${compactTokens(t.input + t.cacheRead + t.cacheWrite)} in, ${compactTokens(t.output + t.reasoning)} out`,
        );
      } else {
        lines.push('this session: nothing asked yet');
      }
      lines.push(
        `today: ${usd(today.totalUsd)}${
          today.unpricedRequests ? ` + ` + `${count(today.unpricedRequests, 'unpriced request')}` : ''
        } over ${count(requests, 'request')}` + ` · month-end projection ${usd(today.projection.monthEndUsd)}`,
      );
      ctx.print(lines.join('\n'));
    },
  },
  context: {
    usage: '/context [add|drop FILE | reset]',
    help: 'the files attached to the last question and their share of its tokens; add or drop files by hand',
    run(ctx, [verb, ...rest]) {
      const state = ctx.state;
      if (state.noContext) return ctx.print('context is off for this chat (--no-context)');
      if (!state.projectExplicit && !fs.existsSync(path.join(state.project, '.git'))) {
        return ctx.print(`no project context here: ${state.project} is not a git repository (start the chat with --project DIR to use a directory anyway)`);
      }
      if (verb === 'add' || verb === 'drop') {
        const files = rest.map((f) => projectPath(ctx, f)).filter((f): f is string => f !== undefined);
        if (!files.length) return ctx.print(`usage: /context ${verb} FILE… (paths inside ${state.project})`);
        const [into, from] = verb === 'add' ? [state.contextAdd, state.contextDrop] : [state.contextDrop, state.contextAdd];
        for (const f of files) {
          if (!into.includes(f)) into.push(f);
          const i = from.indexOf(f);
          if (i >= 0) from.splice(i, 1);
        }
        return ctx.print(`${verb === 'add' ? 'attached to' : 'kept out of'} the next questions: ${files.join(', ')}`);
      }
      if (verb === 'reset') {
        state.contextAdd = [];
        state.contextDrop = [];
        return ctx.print('the engine picks the context alone again');
      }
      if (verb) return ctx.print('usage: /context [add FILE… | drop FILE… | reset]');
      const byHand = [
        state.contextAdd.length ? `added by hand: ${state.contextAdd.join(', ')}` : '',
        state.contextDrop.length ? `dropped by hand: ${state.contextDrop.join(', ')}` : '',
      ].filter(Boolean);
      const context = state.lastResult?.context;
      if (!context || context.files.length === 0)
        return ctx.print([`no project files were attached to the last question (project ${state.project})`, ...byHand].join('\n'));
      const u = state.lastResult?.usage;
      const prompt = u ? u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens : 0;
      const share = (tokens: number): string => (prompt > 0 ? `${Math.min(100, Math.round((100 * tokens) / prompt))}%` : '-');
      const rows = context.files.map((f) => [f.path, f.whole ? 'whole' : `${f.startLine}-${f.endLine}`, compactTokens(f.tokens), share(f.tokens)]);
      ctx.print(
        [
          table(['FILE', 'LINES', 'TOKENS', 'OF PROMPT'], rows).trimEnd(),
          `${compactTokens(context.tokensUsed)} of a ${compactTokens(context.tokenBudget)}-token context ` +
            `budget (${share(context.tokensUsed)} of the prompt), from ${context.project}`,
          ...byHand,
        ].join('\n'),
      );
    },
  },
  clear: {
    usage: '/clear',
    help: 'start a new session (the current one stays in `aic sessions`)',
    run(ctx) {
      const previous = ctx.state.sessionId;
      // A new conversation: files added or dropped by hand were for the old one.
      Object.assign(ctx.state, {
        sessionId: undefined,
        sessionTitle: undefined,
        sessionCost: { usd: 0, unpricedTurns: 0 },
        turns: 0,
        lastResult: undefined,
        contextAdd: [],
        contextDrop: [],
      });
      ctx.print(previous ? `new session; session ${previous.slice(0, 8)} is kept (/resume ${previous.slice(0, 8)})` : 'new session');
    },
  },
  sessions: {
    usage: '/sessions',
    help: 'the latest sessions',
    async run(ctx) {
      const list = await ctx.rpc.request(SessionsListRequest, { limit: 10 });
      if (!list.length) return ctx.print('no sessions yet');
      const rows = list.map((s) => [
        s.id === ctx.state.sessionId ? '*' : ' ',
        s.id.slice(0, 8),
        when(s.updatedAt),
        String(s.turns),
        usd(s.costUsd ?? 0),
        s.title,
      ]);
      ctx.print(table(['', 'ID', 'UPDATED', 'TURNS', 'COST', 'TITLE'], rows).trimEnd() + '\n/resume ID continues one');
    },
  },
  resume: {
    usage: '/resume ID',
    help: 'continue a session (its history goes to the model)',
    async run(ctx, [id]) {
      if (!id) return ctx.print('usage: /resume ID (see /sessions)');
      await resumeSession(ctx, id);
    },
  },
  export: {
    usage: '/export [md|json] [FILE]',
    help: 'write this session to FILE (default ./session-ID.md)',
    async run(ctx, args) {
      if (!ctx.state.sessionId) return ctx.print('nothing to export yet: ask something first');
      const format = args[0] === 'json' || args[0] === 'md' ? (args.shift() as 'md' | 'json') : 'md';
      const file = path.resolve(ctx.cwd, args[0] ?? `session-${ctx.state.sessionId.slice(0, 8)}.${format}`);
      const exported = await ctx.rpc.request(SessionsExportRequest, { id: ctx.state.sessionId, format });
      const written = writePrivateFile(file, exported.content.endsWith('\n') ? exported.content : `${exported.content}\n`);
      ctx.print(written ?? `wrote ${file}`);
    },
  },
  help: {
    usage: '/help',
    help: 'this list',
    run(ctx) {
      const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length));
      ctx.print(
        Object.values(COMMANDS)
          .map((c) => `${c.usage.padEnd(width)}  ${c.help}`)
          .join('\n') +
          '\n\nEnter sends; end a line with \\ to continue it, or put a block between """ lines. Up/down recall earlier input.' +
          '\nCtrl-C stops the answer being written (it stays in the session); Ctrl-D or /exit leaves.',
      );
    },
  },
  exit: {
    usage: '/exit',
    help: 'leave the chat (also Ctrl-D)',
    run() {
      return 'exit';
    },
  },
};

/**
 * Writes a conversation where only its owner can read it: created 0600, an existing file closed
 * to others before the new content goes in, and never through a symlink. Returns why not, if not.
 */
function writePrivateFile(file: string, content: string): string | undefined {
  const { O_WRONLY, O_CREAT, O_TRUNC, O_NOFOLLOW } = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return `${file} is a symbolic link; /export writes only a file of its own: name another file`;
    return `cannot write ${file}: ${code ?? (error as Error).message}`;
  }
  try {
    fs.fchmodSync(fd, 0o600);
    fs.writeSync(fd, content);
    return undefined;
  } catch (error) {
    return `cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
  } finally {
    fs.closeSync(fd);
  }
}

/** Loads a session into the chat: its id, title, spend, and its last model unless one was chosen. */
export async function resumeSession(ctx: SlashContext, id: string): Promise<void> {
  const shown = await ctx.rpc.request(SessionsShowRequest, { id });
  const unpriced = shown.turns.filter((t) => t.complete && t.costUsd === null).length;
  Object.assign(ctx.state, {
    sessionId: shown.session.id,
    sessionTitle: shown.session.title,
    turns: shown.turns.length,
    sessionCost: { usd: shown.session.costUsd ?? 0, unpricedTurns: unpriced },
    lastResult: undefined,
  });
  if (!ctx.state.model && shown.session.lastRef) ctx.state.model = shown.session.lastRef;
  const cut = shown.turns.filter((t) => !t.complete).length;
  ctx.print(
    `resumed session ${shown.session.id.slice(0, 8)} "` +
      `${shown.session.title}": ${count(shown.turns.length, 'turn')}, ${sessionCostText(ctx.state.sessionCost)}` +
      `${cut ? `, ${cut} cut short` : ''}; model ${ctx.state.model ?? 'default'}`,
  );
}

/** Runs a `/command args` line. */
export async function runSlash(ctx: SlashContext, line: string): Promise<SlashOutcome> {
  const [name, ...args] = line.slice(1).trim().split(/\s+/);
  const command = name === 'quit' ? COMMANDS.exit : COMMANDS[name ?? ''];
  if (!command) {
    ctx.print(`unknown command /${name ?? ''}; /help lists them`);
    return 'continue';
  }
  return (await command.run(ctx, args)) ?? 'continue';
}

/** A file the user named, as a path relative to the project, or undefined (said) when it is outside. */
function projectPath(ctx: SlashContext, file: string): string | undefined {
  const abs = path.resolve(ctx.cwd, file);
  const rel = path.relative(ctx.state.project, abs);
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    ctx.print(`${file} is outside the project ${ctx.state.project}`);
    return undefined;
  }
  if (!fs.existsSync(abs)) {
    ctx.print(`no file ${file}`);
    return undefined;
  }
  return rel.split(path.sep).join('/');
}
