import { randomUUID } from 'node:crypto';
import { PullProgressNotification, PullRequest, type PullProgressParams } from '../../protocol/ollama';
import { UsageError, parseCommand, stringFlag } from '../args';
import { connectDaemon } from '../connect';
import { bar } from '../output';

const MB = 1024 * 1024;

/** One status line: a bar while bytes flow, the bare status otherwise. */
export function progressLine(p: PullProgressParams, width = 30): string {
  if (!p.total) return p.status;
  const done = Math.min(p.completed ?? 0, p.total);
  const percent = Math.floor((done / p.total) * 100);
  return `${p.status} ${bar(done, p.total, width)} ${String(percent).padStart(3)}% ${(done / MB).toFixed(1)}/${(p.total / MB).toFixed(1)} MB`;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand('pull', argv);
  const [model, ...extra] = args.positionals;
  if (!model || extra.length) throw new UsageError('usage: aic pull MODEL [--host H]');
  const host = stringFlag(args, 'host');
  const json = args.flags.has('json');
  const tty = process.stderr.isTTY === true;
  const streamToken = randomUUID();
  const session = await connectDaemon();
  const cancel = new AbortController();
  const onSigint = (): void => cancel.abort();
  process.on('SIGINT', onSigint);
  let lastStatus = '';
  session.rpc.onNotification(PullProgressNotification, (p) => {
    if (p.streamToken !== streamToken) return;
    if (json) {
      process.stdout.write(JSON.stringify({ type: 'progress', status: p.status, digest: p.digest, total: p.total, completed: p.completed }) + '\n');
    } else if (tty) {
      process.stderr.write(`\r\x1b[2K${progressLine(p)}`);
    } else if (p.status !== lastStatus) {
      // Piped: one line per stage, not one per chunk.
      process.stderr.write(`${p.status}\n`);
    }
    lastStatus = p.status;
  });
  try {
    const result = await session.rpc.request(PullRequest, { model, streamToken, ...(host ? { host } : {}) }, cancel.signal);
    if (tty && !json) process.stderr.write('\n');
    if (json) process.stdout.write(JSON.stringify({ type: 'done', ...result }) + '\n');
    else process.stderr.write(`pulled ${result.model} on ${result.host}\n`);
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
    session.close();
  }
}
