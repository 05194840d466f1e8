import { spawn, type ChildProcess } from 'node:child_process';
import { AskRequest } from '../protocol/chat';
import { CostRequest } from '../protocol/cost';
import { BudgetListRequest, BudgetSetRequest } from '../protocol/budget';
import { CloudSimulator } from '../test/fakes/cloud-simulator';
import type { RequestRecord } from '../daemon/ledger/ledger';
import type { Turn } from '../protocol/sessions';
import { Store } from '../daemon/store/store';
import { AID_BIN, connect, makeSandbox, socketAnswers, teardown, waitFor, type Sandbox } from '../test/helpers/daemon';

/**
 * `npm run build && node dist/bench/reliability.js`: what a crash and concurrency do to money
 * (issue 11, items 7 and 8). A real daemon (`aid start --foreground`) streams from the OpenAI
 * simulator in this process, whose chat count is the provider's own record of calls it took.
 *
 * 1. Lost and doubled rows: ROUNDS rounds of CALLS asks at CONCURRENCY at once, the daemon killed
 *    with SIGKILL half-way through each round, then restarted: ledger rows against the calls the
 *    provider took (none lost means rows ≥ calls; none doubled means rows ≤ calls).
 * 2. Budget overshoot: 200 asks, 20 at a time, against a hard $0.50 budget with slow first
 *    tokens; then the same with a SIGKILL while calls are in flight and 200 more asks after the
 *    restart.
 *    What the ledger charges against the limit.
 * Prints markdown; asserts nothing.
 */

const KEY = 'sk-proj-bench-reliability-0000000001';
const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const ROUNDS = env('BENCH_ROUNDS', 5);
const CALLS = env('BENCH_CALLS', 200);
const CONCURRENCY = env('BENCH_CONCURRENCY', 50);

/** $1,000 per million input tokens, output free: a call costs its input tokens in thousandths of a dollar. */
const PRICES = { prices: { 'openai/gpt-4.1-mini': { inputPerMTok: 1000, outputPerMTok: 0 } } };

function startDaemon(s: Sandbox): Promise<ChildProcess> {
  const child = spawn(process.execPath, [AID_BIN, 'start', '--foreground'], { env: s.env, stdio: 'ignore' });
  return waitFor(
    () => socketAnswers(s.socket),
    20000,
    () => 'the daemon',
  ).then(() => child);
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function rowsAndSpend(s: Sandbox): Promise<{ rows: number; usd: number; estimated: number }> {
  const session = await connect(s);
  try {
    const report = await session.connection.sendRequest(CostRequest, { by: 'provider' });
    return { rows: report.rows.reduce((n, r) => n + r.requests, 0), usd: report.totalUsd, estimated: report.estimatedRequests };
  } finally {
    session.close();
  }
}

/** Sends `count` asks, `concurrency` at a time, on one connection each; failures are counted, not thrown. */
async function askMany(s: Sandbox, count: number, concurrency: number, prompt: string): Promise<{ ok: number; failed: number }> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    let session;
    try {
      session = await connect(s);
    } catch {
      return;
    }
    // A killed daemon closes the socket; disposing fails the requests still waiting for it.
    const open = session;
    open.connection.onClose(() => open.close());
    try {
      while (next < count) {
        const i = next++;
        try {
          await session.connection.sendRequest(AskRequest, { prompt: `${prompt} ${i}`, model: 'openai/gpt-4.1-mini', streamToken: `t${i}`, noContext: true });
          ok++;
        } catch {
          failed++;
        }
      }
    } finally {
      session.close();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  return { ok, failed };
}

/** The question of an OpenAI chat body: its last user message. */
function lastQuestion(body: unknown): string {
  const messages = (body as { messages?: { role: string; content: string }[] } | undefined)?.messages ?? [];
  return [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
}

async function crashRounds(): Promise<string[]> {
  const sim = new CloudSimulator({ kind: 'openai', apiKey: KEY, tokenDelayMs: 20 });
  await sim.start();
  const s = makeSandbox({ config: PRICES, env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: sim.url } });
  const lines: string[] = [];
  try {
    let daemon = await startDaemon(s);
    for (let round = 1; round <= ROUNDS; round++) {
      const before = sim.chatCount();
      const asking = askMany(s, CALLS, CONCURRENCY, `a question of a few words, round ${round}, number`);
      await waitFor(
        () => sim.chatCount() - before >= CALLS / 2,
        60000,
        () => 'half the calls',
      );
      await kill(daemon);
      await asking;
      daemon = await startDaemon(s);
      const { rows, estimated } = await rowsAndSpend(s);
      lines.push(`| ${round} | ${sim.chatCount()} | ${rows} | ${estimated} |`);
    }
    await kill(daemon);
    // Each ask is one call in a session of its own, its question unique: match the provider's
    // record of questions with the ledger's rows through the sessions, read from the store itself.
    const store = await Store.open(s.dataDir);
    const rowsBySession = new Map<string, number>();
    for (const { value } of store.db<RequestRecord>('requests').getRange()) rowsBySession.set(value.sessionId, (rowsBySession.get(value.sessionId) ?? 0) + 1);
    const questionOf = new Map<string, string>();
    for (const { key, value } of store.db<Turn>('turns').getRange()) questionOf.set(String(key).split('\u0000')[0] ?? '', value.user);
    await store.close();
    const asked = new Set(sim.requests.filter((r) => r.path.endsWith('/chat/completions')).map((r) => lastQuestion(r.body)));
    const recorded = new Set([...rowsBySession.keys()].map((id) => questionOf.get(id) ?? ''));
    const lost = [...asked].filter((q) => !recorded.has(q)).length;
    const doubled = [...rowsBySession.values()].filter((n) => n > 1).length;
    const notReached = [...recorded].filter((q) => !asked.has(q)).length;
    lines.push(
      '',
      `The provider took ${asked.size} calls; the ` +
        `ledger has ${[...rowsBySession.values()].reduce((a, b) => a + b, 0)} rows: ${lost} of the provider's calls have no row ` +
        `(lost), ${doubled} calls have two rows ` +
        `(doubled), and ${notReached} rows are calls a SIGKILL stopped between the ledger and the provider, charged their input estimate (the conservative ` +
        `side: they may have left).`,
    );
  } finally {
    await teardown(s);
    await sim.stop();
  }
  return lines;
}

async function budgetRun(crash: boolean): Promise<string> {
  // A slow first token: every call is in flight together, holding its worst case.
  const sim = new CloudSimulator({ kind: 'openai', apiKey: KEY, tokenDelayMs: 200 });
  await sim.start();
  const s = makeSandbox({ config: PRICES, env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: sim.url } });
  try {
    let daemon = await startDaemon(s);
    const session = await connect(s);
    await session.connection.sendRequest(BudgetSetRequest, { name: 'hard', limitUsd: 0.5, period: 'day', hard: true });
    session.close();
    // 100 short words: the provider counts about half the bytes the worst case assumes.
    const prompt = 'a '.repeat(100);
    if (crash) {
      const asking = askMany(s, 200, 20, prompt);
      await waitFor(
        () => sim.chatCount() > 0,
        20000,
        () => 'calls in flight',
      );
      await new Promise((r) => setTimeout(r, 300));
      await kill(daemon);
      await asking;
      daemon = await startDaemon(s);
    }
    const outcome = await askMany(s, 200, 20, prompt);
    const check = await connect(s);
    const [budget] = await check.connection.sendRequest(BudgetListRequest, {});
    check.close();
    const { rows, usd, estimated } = await rowsAndSpend(s);
    await kill(daemon);
    const overshoot = Math.max(0, usd - 0.5);
    return (
      `| ${crash ? 'SIGKILL with calls in flight, ' + 'restart, 200 more' : '200 asks, 20 ' + 'at a time'} | $0.50 | ${sim.chatCount()} | ${rows} (` +
      `${estimated} estimated) | ${outcome.ok} | $${usd.toFixed(4)} | $${(budget?.spentUsd ?? 0).toFixed(4)} | $${overshoot.toFixed(4)} |`
    );
  } finally {
    await teardown(s);
    await sim.stop();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  process.stdout.write(`### Rows after SIGKILL (${ROUNDS} rounds of ${CALLS} asks, ${CONCURRENCY} at once, killed half-way)\n\n`);
  process.stdout.write(
    '| round | calls the provider took (total) | ledger rows (total) | charged from an estimate after a SIGKILL (total) |\n|---|---|---|---|\n',
  );
  for (const line of await crashRounds()) process.stdout.write(`${line}\n`);
  process.stdout.write('\n### Hard budget under concurrency and across a crash\n\n');
  process.stdout.write(
    '| run | limit | calls the provider took | ledger rows | answered | ledger spend | budget spent | overshoot |\n|---|---|---|---|---|---|---|---|\n',
  );
  process.stdout.write(`${await budgetRun(false)}\n${await budgetRun(true)}\n`);
  process.stdout.write(`\n(${Math.round((Date.now() - started) / 1000)} s)\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
