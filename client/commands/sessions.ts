import {
  SessionsStatsRequest,
  SessionsExportRequest,
  SessionsListRequest,
  SessionsRemoveRequest,
  SessionsSearchRequest,
  SessionsShowRequest,
} from '../../protocol/sessions';
import { UsageError, parseCommand, stringFlag } from '../args';
import { withDaemon } from '../connect';
import { printJson, spendText, table, usd, when } from '../output';

const USAGE =
  'usage: aic sessions [list] [--json] | aic sessions show ID [--json] | aic sessions export ID [--format md|json] | aic sessions search TEXT ' +
  '[--json] | aic sessions stats [ID] [--json] | aic sessions rm ID   (ID: the id or a unique start of it)';

export async function run(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  const sub = first === undefined || first.startsWith('-') ? 'list' : first;
  const args = parseCommand('sessions', sub === first ? rest : argv);
  if (!['list', 'show', 'rm', 'export', 'search', 'stats'].includes(sub)) throw new UsageError(USAGE);
  return withDaemon(async (session) => {
    if (sub === 'list') {
      const list = await session.rpc.request(SessionsListRequest, {});
      if (args.flags.has('json')) printJson(list);
      else if (!list.length) process.stdout.write('no sessions yet; every `aic ask` starts one (`aic ask --session ID` continues it)\n');
      else
        process.stdout.write(
          table(
            ['ID', 'UPDATED', 'TURNS', 'COST', 'MODEL', 'TITLE'],
            list.map((s) => [s.id.slice(0, 8), when(s.updatedAt), String(s.turns), spendText(s.costUsd ?? 0, s.unpricedTurns ?? 0), s.lastRef ?? '-', s.title]),
          ),
        );
      return 0;
    }
    if (sub === 'stats') {
      const id = args.positionals[0];
      const st = await session.rpc.request(SessionsStatsRequest, id ? { id } : {});
      if (args.flags.has('json')) {
        printJson(st);
        return 0;
      }
      const t = st.tokens;
      process.stdout.write(
        `${st.sessions} session${st.sessions === 1 ? '' : 's'}, ` +
          `${st.turns} turns (${st.incompleteTurns} incomplete), ${spendText(st.costUsd, st.unpricedTurns)}\n` +
          `tokens: ${t.input} in, ${t.cacheRead} cache read, ${t.cacheWrite} cache write, ${t.output} out, ${t.reasoning} reasoning\n` +
          `average latency ${st.avgLatencyMs ?? '-'} ms, first token ${st.avgTtftMs ?? '-'} ms, ${st.tokensPerSecond ?? '-'} tokens/s\n\n` +
          (st.byModel.length
            ? table(
                ['MODEL', 'TURNS', 'COST', 'OUTPUT TOKENS', 'TOKENS/S'],
                st.byModel.map((m) => [
                  m.ref,
                  String(m.turns),
                  spendText(m.costUsd, m.unpricedTurns ?? 0),
                  String(m.outputTokens),
                  m.tokensPerSecond === null ? '-' : String(m.tokensPerSecond),
                ]),
              )
            : ''),
      );
      return 0;
    }
    if (sub === 'search') {
      const text = args.positionals.join(' ').trim();
      if (!text) throw new UsageError(USAGE);
      const hits = await session.rpc.request(SessionsSearchRequest, { text });
      if (args.flags.has('json')) printJson(hits);
      else if (!hits.length) process.stdout.write(`nothing found for '${text}'\n`);
      else
        process.stdout.write(
          table(
            ['ID', 'TURN', 'TITLE', 'MATCH'],
            hits.map((h) => [h.session.id.slice(0, 8), String(h.turn + 1), h.session.title, h.snippet]),
          ),
        );
      return 0;
    }
    const id = args.positionals[0];
    if (!id) throw new UsageError(USAGE);
    if (sub === 'export') {
      const format = stringFlag(args, 'format') ?? 'md';
      if (format !== 'md' && format !== 'json') throw new UsageError(`--format ${format}: expected md or json`);
      const exported = await session.rpc.request(SessionsExportRequest, { id, format });
      process.stdout.write(exported.content.endsWith('\n') ? exported.content : `${exported.content}\n`);
      return 0;
    }
    if (sub === 'rm') {
      const removed = await session.rpc.request(SessionsRemoveRequest, { id });
      process.stderr.write(`removed session ${removed.id}\n`);
      return 0;
    }
    const shown = await session.rpc.request(SessionsShowRequest, { id });
    if (args.flags.has('json')) {
      printJson(shown);
      return 0;
    }
    process.stdout.write(`session ${shown.session.id}: ${shown.session.title}\n`);
    for (const t of shown.turns) {
      const meta = [
        t.ref,
        t.costUsd === undefined ? undefined : t.costUsd === null ? 'unpriced' : usd(t.costUsd),
        t.complete ? undefined : `incomplete${t.error ? `: ${t.error}` : ''}`,
      ]
        .filter(Boolean)
        .join(' · ');
      process.stdout.write(`\n> ${t.user}\n\n${t.assistant || '(no answer)'}\n${meta ? `[${meta}]\n` : ''}`);
    }
    return 0;
  });
}
