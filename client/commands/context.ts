import { randomUUID } from 'node:crypto';
import {
  ContextExplainRequest,
  ContextProgressNotification,
  ContextRequest,
  ContextResetRequest,
  ContextSuggestRequest,
  type RankedContextFile,
} from '../../protocol/context';
import { UsageError, parseCommand, stringFlag } from '../args';
import { compactTokens } from '../chat/status-line';
import { connectDaemon } from '../connect';
import { bar, printJson } from '../output';
import { projectRoot } from './ask';

const USAGE =
  'usage: aic context QUERY [--project DIR] [--project-force] [--limit N] [--open FILE] [-m REF] [--json] | aic context --for FILE [--limit N] | aic ' +
  'context --explain | aic context --reset';

/** A bar on stderr while the project's first index is built; nothing when stderr is not a terminal. */
function progressBar(): { update(done: number, total: number): void; clear(): void } {
  const tty = process.stderr.isTTY === true;
  let drawn = false;
  return {
    update(done, total) {
      if (!tty) return;
      process.stderr.write(`\r\x1b[2Kindexing ${bar(done, total)} ${done}/${total || '?'} files`);
      drawn = true;
    },
    clear() {
      if (drawn) process.stderr.write('\r\x1b[K');
    },
  };
}

function printRanking(files: RankedContextFile[]): void {
  files.forEach((f, i) => {
    process.stdout.write(`${String(i + 1).padStart(2)}. ${f.path}  ${f.score.toFixed(2)}  ${compactTokens(f.tokens)} tokens\n`);
    for (const reason of f.reasons) process.stdout.write(`      ${reason}\n`);
  });
}

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand('context', argv);
  const json = args.flags.has('json');
  const project = projectRoot(stringFlag(args, 'project') ?? process.cwd());
  const where = {
    project,
    ...(stringFlag(args, 'project') ? { projectExplicit: true } : {}),
    ...(args.flags.has('project-force') ? { projectForce: true } : {}),
  };
  const limitText = stringFlag(args, 'limit');
  const limit = limitText === undefined ? undefined : Number(limitText);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new UsageError(`--limit needs a positive whole number, got '${limitText}'`);
  const forFile = stringFlag(args, 'for');
  const query = args.positionals.join(' ').trim();
  const explain = args.flags.has('explain');
  const reset = args.flags.has('reset');
  if (!query && !forFile && !explain && !reset) throw new UsageError(USAGE);

  const session = await connectDaemon();
  const bar = progressBar();
  const progressToken = randomUUID();
  session.rpc.onNotification(ContextProgressNotification, (p) => {
    if (p.progressToken === progressToken) bar.update(p.filesDone, p.filesTotal);
  });
  try {
    if (reset) {
      const done = await session.rpc.request(ContextResetRequest, where);
      process.stderr.write(`forgot what was learnt for ${done.project}\n`);
      return 0;
    }
    if (explain) {
      const e = await session.rpc.request(ContextExplainRequest, where);
      if (json) return (printJson(e), 0);
      process.stdout.write(
        `what the learner ` +
          `knows of ${e.project}: ${e.questions} remembered questions, ${e.feedbackEvents} pieces of feedback\n\nsignal weights (start → now):\n`,
      );
      for (const [name, weight] of Object.entries(e.weights))
        process.stdout.write(`  ${name.padEnd(12)} ${(e.defaultWeights[name] ?? 0).toFixed(3)} → ${weight.toFixed(3)}\n`);
      if (e.topPriors.length) {
        process.stdout.write('\nfiles that helped most:\n');
        for (const p of e.topPriors)
          process.stdout.write(`  ${p.path}  prior ${p.prior.toFixed(2)} (helped ${p.helped}, attached ${p.attached}, removed ${p.removed})\n`);
      }
      process.stdout.write('\n`aic context --reset` forgets it\n');
      return 0;
    }
    if (forFile) {
      const s = await session.rpc.request(ContextSuggestRequest, { ...where, file: forFile, progressToken, ...(limit ? { limit } : {}) });
      bar.clear();
      if (json) return (printJson({ project: s.project, file: s.file, files: s.files }), 0);
      if (!s.files.length) process.stdout.write(`no files are known to go with ${s.file} yet (no co-changes in git history, no past answers)\n`);
      else process.stdout.write(`files likely needed next with ${s.file} (${s.project}):\n`);
      printRanking(s.files);
      return 0;
    }
    const model = stringFlag(args, 'model');
    const openFile = stringFlag(args, 'open');
    const r = await session.rpc.request(ContextRequest, {
      ...where,
      query,
      progressToken,
      ...(limit ? { limit } : {}),
      ...(model ? { model } : {}),
      ...(openFile ? { openFile } : {}),
    });
    bar.clear();
    // A partial index (stopped at a limit) answers from what it has, and says so.
    if (r.index.partial) process.stderr.write(`aic: warning: ${r.index.partial}\n`);
    if (json)
      return (
        printJson({
          project: r.project,
          files: r.files,
          tokenBudget: r.tokenBudget,
          tokensUsed: r.tokensUsed,
          ...(r.index.partial ? { partial: r.index.partial } : {}),
        }),
        0
      );
    if (!r.files.length) {
      process.stdout.write(`no file of ${r.project} matches this question\n`);
      return 0;
    }
    process.stdout.write(`files for this question in ${r.project}:\n`);
    printRanking(r.files);
    process.stdout.write(`\naic ask would attach ${compactTokens(r.tokensUsed)} tokens of context (budget ${compactTokens(r.tokenBudget)})\n`);
    return 0;
  } finally {
    bar.clear();
    session.close();
  }
}
