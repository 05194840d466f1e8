import * as os from 'node:os';
import * as path from 'node:path';
import { AlertNotification } from '../../protocol/budget';
import type { AskNoticeParams } from '../../protocol/chat';
import { ErrorCodes, type TurnData } from '../../protocol/errors';
import { stateDirFromEnv } from '../../protocol/paths';
import { UsageError, parseCommand, stringFlag } from '../args';
import { AskStreams } from '../ask-stream';
import { ModelCatalog, type ChatState } from '../chat/chat-state';
import { MessageReader } from '../chat/message-reader';
import { resumeSession, runSlash, type SlashContext } from '../chat/slash-commands';
import { sessionCostText, statusLine } from '../chat/status-line';
import { connectDaemon } from '../connect';
import { count } from '../output';
import { RpcError } from '../rpc';
import { explainDaemonEnv } from '../daemon-env';
import { projectRoot } from './ask';

/** Answer text goes straight out; everything else is written on a line of its own. */
class Screen {
  private atLineStart = true;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly colour: boolean,
  ) {}

  text(chunk: string): void {
    this.out.write(chunk);
    this.atLineStart = chunk.endsWith('\n');
  }

  line(text: string): void {
    this.out.write(`${this.atLineStart ? '' : '\n'}${text}\n`);
    this.atLineStart = true;
  }

  /** Errors go to stderr, where scripts piping a chat look for them; at a terminal both show alike. */
  error(text: string): void {
    if (!this.atLineStart) this.out.write('\n');
    process.stderr.write(`${text}\n`);
    this.atLineStart = true;
  }

  /** readline's prompt holds the line now; the next line of ours starts below it. */
  promptShown(): void {
    this.atLineStart = false;
  }

  /** Enter was pressed: the terminal moved to a fresh line. */
  inputTaken(): void {
    this.atLineStart = true;
  }

  /** Dimmed where colour is welcome, so the status line stands apart from the answer. */
  dim(text: string): void {
    this.line(this.colour ? `\x1b[2m${text}\x1b[22m` : text);
  }
}

function noticeText(notice: AskNoticeParams): string {
  return `aic: ${notice.kind === 'warning' ? 'warning: ' : ''}${notice.message}`;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand('chat', argv);
  const projectForce = args.flags.has('project-force');
  if (args.positionals.length > 0) throw new UsageError(`aic chat takes no prompt (got '${args.positionals.join(' ')}'): type it in the chat, or use aic ask`);
  const model = stringFlag(args, 'model');
  const state: ChatState = {
    ...(model ? { model } : {}),
    sessionCost: { usd: 0, unpricedTurns: 0 },
    turns: 0,
    project: projectRoot(stringFlag(args, 'project') ?? process.cwd()),
    noContext: args.flags.has('no-context'),
    ...(stringFlag(args, 'project') ? { projectExplicit: true } : {}),
    contextAdd: [],
    contextDrop: [],
  };
  const terminal = process.stdin.isTTY === true && process.stdout.isTTY === true;
  const screen = new Screen(process.stdout, terminal && !process.env.NO_COLOR);
  const session = await connectDaemon();
  // Alerts fire whenever they fire; in a chat they appear between lines, not inside one.
  session.rpc.onNotification(AlertNotification, (alert) => {
    screen.line(`aid: ${alert.kind === 'report' ? 'report' : 'alert'}: ${alert.message}`);
    // At the prompt, draw it again (with what was typed) below the alert.
    if (!busy && !ending) showPrompt();
  });
  const streams = new AskStreams(session.rpc);
  const ctx: SlashContext = { rpc: session.rpc, state, catalog: new ModelCatalog(session.rpc), print: (text) => screen.line(text), cwd: process.cwd() };

  const sessionArg = stringFlag(args, 'session');
  if (sessionArg) {
    try {
      await resumeSession(ctx, sessionArg);
    } catch (error) {
      session.close();
      throw error;
    }
  }
  screen.line(
    `aic chat · ${state.model ?? 'default model'} · ${state.sessionId ? `session ${state.sessionId.slice(0, 8)}` : 'new session'} · /help for ` +
      `commands, Ctrl-D to leave`,
  );

  const queue: { text: string; typedAhead: boolean }[] = [];
  let busy = false;
  let ending = false;
  let connectionLost = false;
  /** For scripts piping a chat: whether the last question failed. */
  let lastFailed = false;
  let current: AbortController | undefined;
  let finish: (code: number) => void = () => undefined;
  const finished = new Promise<number>((resolve) => (finish = resolve));
  const shortId = (): string => state.sessionId?.slice(0, 8) ?? '';

  const ask = async (prompt: string): Promise<void> => {
    const cancel = new AbortController();
    current = cancel;
    try {
      const result = await streams.ask(
        {
          prompt,
          project: state.project,
          cwd: process.cwd(),
          ...(state.model ? { model: state.model } : {}),
          ...(state.sessionId ? { sessionId: state.sessionId } : {}),
          ...(state.noContext ? { noContext: true } : {}),
          ...(state.projectExplicit ? { projectExplicit: true } : {}),
          ...(projectForce ? { projectForce: true } : {}),
          ...(state.contextAdd.length ? { contextAdd: state.contextAdd } : {}),
          ...(state.contextDrop.length ? { contextDrop: state.contextDrop } : {}),
        },
        { onDelta: (text) => screen.text(text), onNotice: (notice) => screen.line(noticeText(notice)) },
        cancel.signal,
      );
      lastFailed = false;
      state.sessionId = result.sessionId;
      state.turns++;
      state.lastResult = result;
      if (result.costUsd === null) state.sessionCost.unpricedTurns++;
      else state.sessionCost.usd += result.costUsd;
      screen.dim(statusLine(result, await ctx.catalog.contextWindow(result.ref), state.sessionCost));
    } catch (error) {
      lastFailed = true;
      const data = error instanceof RpcError ? (error.data as TurnData | undefined) : undefined;
      // The daemon keeps a cut turn; the conversation goes on in its session.
      if (typeof data?.sessionId === 'string') {
        state.sessionId = data.sessionId;
        state.turns++;
      }
      // A cut turn was charged what the provider took: the session's cost shows it, as the ledger does.
      if (data && 'costUsd' in data) {
        if (data.costUsd === null) state.sessionCost.unpricedTurns++;
        else if (typeof data.costUsd === 'number') state.sessionCost.usd += data.costUsd;
      }
      // A lost connection is said once, by the close handler.
      if (connectionLost) return;
      const code = error instanceof RpcError ? error.code : ErrorCodes.Internal;
      if (error instanceof RpcError && error.cancelled) screen.line('[cancelled: the partial answer is kept in the session]');
      else if (code === ErrorCodes.BudgetRefused) screen.error(`aic: refused: ${(error as Error).message}`);
      else screen.error(`aic: ${error instanceof RpcError ? explainDaemonEnv(error.message, error.data) : (error as Error).message}`);
    } finally {
      current = undefined;
    }
  };

  let left = false;
  const leave = (code = 0): void => {
    if (left) return;
    left = true;
    ending = true;
    reader.close();
    if (state.sessionId)
      screen.line(
        `session ${shortId()} · ${count(state.turns, 'turn')} · ${sessionCostText(state.sessionCost)} · continue with: aic chat --session ${shortId()}`,
      );
    finish(code || (!terminal && lastFailed ? 1 : 0));
  };

  const pump = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    reader.hold();
    while (queue.length > 0) {
      // Ctrl-D at a terminal leaves now: what was typed ahead is not sent.
      if (ending && terminal) break;
      const { text, typedAhead } = queue.shift() as { text: string; typedAhead: boolean };
      // Typed while the answer before was written, so not shown yet: show it as if typed now.
      if (typedAhead && terminal)
        screen.line(
          text
            .split('\n')
            .map((l, i) => `${i === 0 ? 'you> ' : '...> '}${l}`)
            .join('\n'),
        );
      if (isSlashCommand(text)) {
        const outcome = await runSlash(ctx, text.trim()).catch((error: unknown) => {
          screen.error(`aic: ${(error as Error).message}`);
          return 'continue' as const;
        });
        if (outcome === 'exit') {
          busy = false;
          return leave();
        }
      } else {
        await ask(text);
      }
    }
    busy = false;
    if (ending) leave();
    else showPrompt();
  };

  const showPrompt = (): void => {
    reader.prompt();
    if (terminal) screen.promptShown();
  };

  const interrupt = (): void => {
    if (current) current.abort();
    else if (!terminal) leave(130);
    else if (!busy) {
      screen.line('(Ctrl-D or /exit leaves the chat)');
      showPrompt();
    }
  };

  const reader: MessageReader = new MessageReader(
    { input: process.stdin, output: process.stdout, terminal, historyFile: path.join(stateDirFromEnv(process.env, os.homedir()), 'chat_history') },
    {
      onMessage: (text, typedAhead) => {
        if (!typedAhead) screen.inputTaken();
        // A command typed (or pasted) with more lines after it: the command, then the rest as a message.
        const [first, ...rest] = text.split('\n');
        if (isSlashCommand(first) && rest.join('').trim()) queue.push({ text: first, typedAhead }, { text: rest.join('\n'), typedAhead });
        else queue.push({ text, typedAhead });
        void pump();
      },
      onInterrupt: interrupt,
      onEnd: () => {
        if (ending) return;
        ending = true;
        // Ctrl-D at the terminal means leave now; the end of piped input means finish what was sent.
        if (terminal) {
          queue.length = 0;
          current?.abort();
        }
        if (!busy) leave();
      },
    },
  );
  // Ctrl-C reaches readline as a key at a terminal; as a signal it comes from `kill` or a pipe.
  process.on('SIGINT', interrupt);
  session.rpc.socket.on('close', () => {
    if (ending) return;
    connectionLost = true;
    ending = true;
    queue.length = 0;
    screen.error(
      `aic: the connection to aid closed (was the daemon ` +
        `stopped?); ${state.sessionId ? `\`aic chat --session ${shortId()}\` continues this session` : 'start the chat again'}`,
    );
    left = true;
    reader.close();
    finish(1);
  });
  showPrompt();
  try {
    return await finished;
  } finally {
    process.off('SIGINT', interrupt);
    session.close();
    // A terminal's stdin keeps the process alive even once readline let go of it.
    if (terminal) process.stdin.destroy();
  }
}

/** `/name args`: a slash command. `/etc/hosts why…` is a question that starts with a path. */
function isSlashCommand(text: string): boolean {
  return /^\/[a-z]+(\s|$)/.test(text.trimStart());
}
