import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AskParams, AskResult } from '../../protocol/chat';
import { ErrorCodes, exitCodeFor } from '../../protocol/errors';
import { UsageError, parseCommand, stringFlag } from '../args';
import { AskStreams } from '../ask-stream';
import { connectDaemon } from '../connect';
import { RpcError } from '../rpc';
import { explainDaemonEnv } from '../daemon-env';
import { formatDuration, usd } from '../output';

/** The git root above `dir`, else `dir` itself: the project a request belongs to. */
export function projectRoot(dir: string): string {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    if (fs.existsSync(path.join(current, '.git'))) return current;
    if (path.dirname(current) === current) return path.resolve(dir);
  }
}

/** Piped or redirected stdin (pipe, file, socket pair) is part of the prompt; a terminal or /dev/null is not. */
function readPipedStdin(): string | undefined {
  try {
    const stat = fs.fstatSync(0);
    if (!stat.isFIFO() && !stat.isFile() && !stat.isSocket()) return undefined;
    return fs.readFileSync(0, 'utf8');
  } catch {
    return undefined;
  }
}

function summary(result: AskResult): string {
  const u = result.usage;
  const cached = u.cacheReadTokens + u.cacheWriteTokens;
  const cacheNote = [u.cacheReadTokens ? `${u.cacheReadTokens} cached` : '', u.cacheWriteTokens ? `${u.cacheWriteTokens} cache-written` : '']
    .filter(Boolean)
    .join(', ');
  const out = u.reasoningTokens ? `${u.outputTokens} out + ${u.reasoningTokens} reasoning` : `${u.outputTokens} out`;
  const tokens = `${u.inputTokens + cached} in${cacheNote ? ` (${cacheNote})` : ''} / ${out} tokens`;
  const cost = result.costUsd === null ? 'unpriced' : result.costUsd === 0 ? 'free' : usd(result.costUsd);
  const ttft = result.ttftMs !== null ? `, first token ${formatDuration(result.ttftMs)}` : '';
  const speed = result.tokensPerSecond !== undefined ? `, ${result.tokensPerSecond.toFixed(1)} tok/s` : '';
  const files = result.context ? new Set(result.context.files.map((f) => f.path)).size : 0;
  const context = result.context ? ` · context: ${files} file${files === 1 ? '' : 's'}, ${result.context.tokensUsed} tokens` : '';
  return `${result.ref} · ${tokens} · ${cost} · ${formatDuration(result.latencyMs)}${ttft}${speed}${context}`;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand('ask', argv);
  const json = args.flags.has('json');
  const piped = readPipedStdin();
  const prompt = [args.positionals.join(' ').trim(), piped?.trim()].filter(Boolean).join('\n\n');
  if (!prompt) throw new UsageError('no prompt: give it as an argument (aic ask "why is this slow?") or pipe it on stdin');
  const maxCost = stringFlag(args, 'max-cost');
  if (maxCost !== undefined && !(Number(maxCost) > 0)) throw new UsageError(`--max-cost needs a positive number of USD, got '${maxCost}'`);
  const model = stringFlag(args, 'model');
  const sessionId = stringFlag(args, 'session');
  if (sessionId && args.flags.has('new')) throw new UsageError('--session and --new exclude each other');

  const params: Omit<AskParams, 'streamToken'> = {
    prompt,
    project: projectRoot(stringFlag(args, 'project') ?? process.cwd()),
    ...(stringFlag(args, 'project') ? { projectExplicit: true } : {}),
    ...(args.flags.has('project-force') ? { projectForce: true } : {}),
    cwd: process.cwd(),
    ...(model ? { model } : {}),
    ...(sessionId ? { sessionId } : {}),
    ...(args.flags.has('new') ? { newSession: true } : {}),
    ...(args.flags.has('no-context') ? { noContext: true } : {}),
    ...(maxCost !== undefined ? { maxCostUsd: Number(maxCost) } : {}),
  };

  const session = await connectDaemon();
  const cancel = new AbortController();
  let interrupted = false;
  const onSigint = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    cancel.abort();
  };
  process.on('SIGINT', onSigint);
  let lastChar = '\n';
  const streams = new AskStreams(session.rpc);
  try {
    const result = await streams.ask(
      params,
      {
        // Scripts and editors learn the session before the first text, so a cut answer can be continued.
        onStart: (start) => {
          if (json) process.stdout.write(JSON.stringify({ type: 'start', ref: start.ref, sessionId: start.sessionId }) + '\n');
        },
        onDelta: (text) => {
          if (json) process.stdout.write(JSON.stringify({ type: 'delta', text }) + '\n');
          else process.stdout.write(text);
          lastChar = text.slice(-1);
        },
        // Failovers, retries and warnings go to stderr as they happen, so the answer on stdout stays clean.
        onNotice: (notice) => {
          if (json) process.stdout.write(JSON.stringify({ type: 'notice', kind: notice.kind, message: notice.message }) + '\n');
          else process.stderr.write(`${lastChar !== '\n' ? '\n' : ''}aic: ${notice.kind === 'warning' ? 'warning: ' : ''}${notice.message}\n`);
        },
      },
      cancel.signal,
    );
    if (json) {
      const { ref, sessionId: sid, usage, costUsd, latencyMs, ttftMs, tokensPerSecond, context } = result;
      process.stdout.write(
        JSON.stringify({
          type: 'done',
          ref,
          sessionId: sid,
          usage,
          costUsd,
          latencyMs,
          ttftMs,
          ...(tokensPerSecond !== undefined ? { tokensPerSecond } : {}),
          ...(context ? { context } : {}),
        }) + '\n',
      );
    } else {
      if (lastChar !== '\n') process.stdout.write('\n');
      // A conversation the user means to continue names its session, so the next ask can say --session.
      const named = sessionId !== undefined || args.flags.has('new');
      process.stderr.write(summary(result) + (named ? ` · session ${result.sessionId.slice(0, 8)}` : '') + '\n');
    }
    return 0;
  } catch (error) {
    if (!json && lastChar !== '\n') process.stdout.write('\n');
    const code = error instanceof RpcError ? error.code : ErrorCodes.Internal;
    const message = error instanceof RpcError ? explainDaemonEnv(error.message, error.data) : error instanceof Error ? error.message : String(error);
    if (json) process.stdout.write(JSON.stringify({ type: 'error', code, message }) + '\n');
    else process.stderr.write(`aic: ${message}\n`);
    // Ctrl-C: the shell's code for an interrupted command, whether or not the daemon's answer came first.
    if (interrupted || (error instanceof RpcError && error.cancelled)) return 130;
    return exitCodeFor(code);
  } finally {
    process.off('SIGINT', onSigint);
    session.close();
  }
}
